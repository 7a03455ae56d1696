//! The ledger's schema as numbered migrations: step N moves the database
//! from version N-1 to N (`PRAGMA user_version`), each in one transaction.
//! Released steps are never edited; changes are new steps.

pub const MIGRATIONS: &[&str] = &[
    // 1: accounts, balances, payments, the mail trail, used passwords, transfers.
    "CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE account (
        address TEXT PRIMARY KEY,
        initials TEXT,
        wallet_key TEXT,
        board TEXT,
        opened_at INTEGER NOT NULL
    );
    CREATE TABLE balance (
        address TEXT NOT NULL REFERENCES account (address),
        currency TEXT NOT NULL,
        minor INTEGER NOT NULL CHECK (minor >= 0),
        PRIMARY KEY (address, currency)
    );
    CREATE TABLE payment (
        order_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        method TEXT,
        payer TEXT,
        payee TEXT,
        amount TEXT,
        reason TEXT,
        detail TEXT,
        board TEXT NOT NULL DEFAULT 'not-looked',
        board_record TEXT,
        nonce BLOB,
        wrong_attempts INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE received (
        message_id TEXT PRIMARY KEY,
        order_id TEXT,
        kind TEXT,
        sender TEXT,
        role TEXT,
        raw BLOB NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX received_order ON received (order_id);
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        bytes BLOB NOT NULL,
        queued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_order ON outbox (order_id);
    CREATE TABLE used_password (hash TEXT PRIMARY KEY, order_id TEXT NOT NULL, used_at INTEGER NOT NULL);
    CREATE TABLE transfer (
        reference TEXT PRIMARY KEY,
        order_id TEXT NOT NULL UNIQUE,
        payer TEXT NOT NULL REFERENCES account (address),
        payee TEXT NOT NULL REFERENCES account (address),
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE TABLE mailbox (
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uid_validity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        PRIMARY KEY (account, folder)
    );",
    // 2: a bounced mail's count of bounces and the time it waits until,
    // kept so that a restart does not send it early.
    "ALTER TABLE outbox ADD COLUMN bounces INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN not_before INTEGER;",
];
