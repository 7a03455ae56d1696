//! The wallet's schema as a linear chain of migrations, applied by
//! [`crate::sqlite`]. Steps are never edited once released: add a new one.

/// What the history's short searches read (schema step 6): the order id,
/// the merchant's address and name, a line feed between them, folded as
/// the trigram index folds ASCII letters (see `store::history::fold`).
/// One SQL expression for the column and each of its triggers.
macro_rules! search_text {
    () => {
        "lower(replace(replace(order_id || char(10) || merchant || char(10)
            || coalesce((SELECT m.name FROM merchant m WHERE m.address = payment.merchant), ''), char(8490), 'k'), char(383), 's'))"
    };
}

pub const MIGRATIONS: &[&str] = &[
    // 1: payments, outbox, received mail, watcher position.
    "CREATE TABLE payment (
        order_id TEXT PRIMARY KEY,
        orderer TEXT NOT NULL,
        merchant TEXT NOT NULL,
        bank TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        method TEXT NOT NULL,
        terms_block TEXT NOT NULL,
        state TEXT NOT NULL,
        state_data TEXT NOT NULL,
        detail TEXT,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES payment (order_id),
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        bytes BLOB NOT NULL,
        queued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_unsent ON outbox (order_id) WHERE sent_at IS NULL;
    CREATE TABLE received (
        message_id TEXT PRIMARY KEY,
        order_id TEXT,
        kind TEXT,
        raw BLOB NOT NULL,
        outcome TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX received_order ON received (order_id);
    CREATE TABLE mailbox (
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uid_validity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        PRIMARY KEY (account, folder)
    );",
    // 2: the desktop wallet: address book, per-payment auto-approval,
    // settings, and indexes that keep the history fast at 100,000 rows.
    "CREATE TABLE bank (
        address TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        age_recipient TEXT,
        account_ref TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE merchant (
        address TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        bank TEXT,
        board TEXT,
        figures TEXT NOT NULL DEFAULT '1'
    );
    CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE payment ADD COLUMN pre_approved INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX payment_created ON payment (created DESC);
    CREATE INDEX payment_state ON payment (state, created DESC);
    CREATE INDEX outbox_order ON outbox (order_id);",
    // 3: password A kept only as a hash once a payment has ended (the hash
    // refuses a used A typed again); filled in for older payments at open.
    "ALTER TABLE payment ADD COLUMN password_hash TEXT;
    ALTER TABLE payment ADD COLUMN password_removed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX payment_password_hash ON payment (password_hash);",
    // 4: the Message-ID a mail went out with when a mail client chose it
    // (Thunderbird sets its own; bounces may name either), and whether the
    // last failure to send it was temporary (sent again on its own once
    // the carrier is back).
    "ALTER TABLE outbox ADD COLUMN sent_as TEXT;
    ALTER TABLE outbox ADD COLUMN failed_temporarily INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_sent_as ON outbox (sent_as) WHERE sent_as IS NOT NULL;",
    // 5: the history's text search and spending overview. `payment_search`
    // holds what the search matches (order id, merchant address and name)
    // under FTS5's trigram tokenizer, so that any part of three characters
    // or more is found through the index, whatever the case; its rowid is
    // the payment's. Triggers keep it in step with the payments and the
    // address book (a merchant's name is in every one of its payments'
    // rows); it is filled here for the payments already there. (Rowids
    // stay as they are: the wallet never runs VACUUM, which may renumber
    // them.) The tokenizer's options are those of SQLite 3.34, so that
    // the sqlite3 tool of a distribution can still write to the wallet.
    // `payment_spending` covers the overview's sums of settled payments.
    "CREATE VIRTUAL TABLE payment_search USING fts5 (
        order_id, merchant, name, tokenize = 'trigram case_sensitive 0'
    );
    INSERT INTO payment_search (rowid, order_id, merchant, name)
        SELECT p.rowid, p.order_id, p.merchant, m.name FROM payment p LEFT JOIN merchant m ON m.address = p.merchant;
    CREATE INDEX payment_merchant ON payment (merchant);
    CREATE INDEX payment_spending ON payment (currency, created, merchant, amount_minor) WHERE state = 'settled';
    CREATE TRIGGER payment_search_insert AFTER INSERT ON payment BEGIN
        INSERT INTO payment_search (rowid, order_id, merchant, name)
            VALUES (new.rowid, new.order_id, new.merchant, (SELECT name FROM merchant WHERE address = new.merchant));
    END;
    CREATE TRIGGER payment_search_update AFTER UPDATE OF order_id, merchant ON payment BEGIN
        UPDATE payment_search SET order_id = new.order_id, merchant = new.merchant,
            name = (SELECT name FROM merchant WHERE address = new.merchant)
            WHERE rowid = new.rowid;
    END;
    CREATE TRIGGER payment_search_delete AFTER DELETE ON payment BEGIN
        DELETE FROM payment_search WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER merchant_search_insert AFTER INSERT ON merchant BEGIN
        UPDATE payment_search SET name = new.name
            WHERE rowid IN (SELECT rowid FROM payment WHERE merchant = new.address);
    END;
    CREATE TRIGGER merchant_search_update AFTER UPDATE OF address, name ON merchant BEGIN
        UPDATE payment_search SET name = NULL
            WHERE rowid IN (SELECT rowid FROM payment WHERE merchant = old.address);
        UPDATE payment_search SET name = new.name
            WHERE rowid IN (SELECT rowid FROM payment WHERE merchant = new.address);
    END;
    CREATE TRIGGER merchant_search_delete AFTER DELETE ON merchant BEGIN
        UPDATE payment_search SET name = NULL
            WHERE rowid IN (SELECT rowid FROM payment WHERE merchant = old.address);
    END;",
    // 6: searches of one or two characters, fewer than a trigram, and
    // searches that match most payments: `search_text` holds what the
    // search matches (order id, merchant address and name, a line feed
    // between them, which no search of two characters holds) folded as
    // `payment_search` folds it for ASCII letters (lower(), and the Kelvin
    // sign and long s, the only other characters it folds to ASCII), and
    // `payment_text` covers it in the history's order, so that a scan
    // with instr() reads one narrow index, newest first. Triggers keep it
    // in step with the payments and the address book.
    concat!(
        "ALTER TABLE payment ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
    UPDATE payment SET search_text = ",
        search_text!(),
        ";
    CREATE INDEX payment_text ON payment (created DESC, order_id, state, search_text);
    CREATE TRIGGER payment_text_insert AFTER INSERT ON payment BEGIN
        UPDATE payment SET search_text = ",
        search_text!(),
        "
            WHERE rowid = new.rowid;
    END;
    CREATE TRIGGER payment_text_update AFTER UPDATE OF order_id, merchant ON payment BEGIN
        UPDATE payment SET search_text = ",
        search_text!(),
        "
            WHERE rowid = new.rowid;
    END;
    CREATE TRIGGER merchant_text_insert AFTER INSERT ON merchant BEGIN
        UPDATE payment SET search_text = ",
        search_text!(),
        "
            WHERE merchant = new.address;
    END;
    CREATE TRIGGER merchant_text_update AFTER UPDATE OF address, name ON merchant BEGIN
        UPDATE payment SET search_text = ",
        search_text!(),
        "
            WHERE merchant IN (old.address, new.address);
    END;
    CREATE TRIGGER merchant_text_delete AFTER DELETE ON merchant BEGIN
        UPDATE payment SET search_text = ",
        search_text!(),
        "
            WHERE merchant = old.address;
    END;"
    ),
];

/// The schema version this MailPay writes.
pub fn known() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A wallet written by schema 1 opens under schema 2 with its payments
    /// intact, not pre-approved, and the new tables empty.
    #[test]
    fn version_1_upgrades_in_place() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method, terms_block, state, state_data, created, updated)
             VALUES ('O1', 'a@b.c', 'm@b.c', 'k@b.c', 1200, 'JPY', 'confirm', '', 'sent', '{}', 1, 1)",
            [],
        )
        .unwrap();
        crate::sqlite::migrate(&mut conn, MIGRATIONS).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let (state, pre): (String, i64) = conn
            .query_row("SELECT state, pre_approved FROM payment WHERE order_id = 'O1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((state.as_str(), pre), ("sent", 0));
        let banks: i64 = conn.query_row("SELECT COUNT(*) FROM bank", [], |r| r.get(0)).unwrap();
        assert_eq!(banks, 0);
        // Running it again changes nothing.
        crate::sqlite::migrate(&mut conn, MIGRATIONS).unwrap();
    }
}
