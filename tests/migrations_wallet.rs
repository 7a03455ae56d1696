//! The wallet's data over time: a database of every earlier schema version
//! opens under this one with its payments intact (built here from the old
//! schema, with rows a real wallet wrote); a newer one is refused; every
//! database is in WAL mode; and `mailpay backup` / `mailpay restore` (SQLite's
//! online backup) round-trip a wallet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mailpay::protocol::Method;
use mailpay::protocol::payment::{Event, Outbound};
use mailpay::store::history::Query;
use mailpay::store::{Store, StoreError};
use mailpay::wallet;
use rusqlite::Connection;
use support::protocol::*;

/// Schema 1 as released (src/store/schema.rs, step 1; released steps are
/// never edited).
const SCHEMA_1: &str = "CREATE TABLE payment (
        order_id TEXT PRIMARY KEY, orderer TEXT NOT NULL, merchant TEXT NOT NULL, bank TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0), currency TEXT NOT NULL, method TEXT NOT NULL,
        terms_block TEXT NOT NULL, state TEXT NOT NULL, state_data TEXT NOT NULL, detail TEXT,
        created INTEGER NOT NULL, updated INTEGER NOT NULL);
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES payment (order_id), kind TEXT NOT NULL,
        sender TEXT NOT NULL, recipient TEXT NOT NULL, bytes BLOB NOT NULL, queued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, sent_at INTEGER, last_error TEXT);
    CREATE INDEX outbox_unsent ON outbox (order_id) WHERE sent_at IS NULL;
    CREATE TABLE received (
        message_id TEXT PRIMARY KEY, order_id TEXT, kind TEXT, raw BLOB NOT NULL, outcome TEXT NOT NULL,
        received_at INTEGER NOT NULL);
    CREATE INDEX received_order ON received (order_id);
    CREATE TABLE mailbox (
        account TEXT NOT NULL, folder TEXT NOT NULL, uid_validity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
        PRIMARY KEY (account, folder));";

/// Schema 2 as released (step 2).
const SCHEMA_2: &str = "CREATE TABLE bank (
        address TEXT PRIMARY KEY, name TEXT NOT NULL, age_recipient TEXT, account_ref TEXT NOT NULL DEFAULT '');
    CREATE TABLE merchant (
        address TEXT PRIMARY KEY, name TEXT NOT NULL, bank TEXT, board TEXT, figures TEXT NOT NULL DEFAULT '1');
    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ALTER TABLE payment ADD COLUMN pre_approved INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX payment_created ON payment (created DESC);
    CREATE INDEX payment_state ON payment (state, created DESC);
    CREATE INDEX outbox_order ON outbox (order_id);";

/// Schema 3 as released (step 3).
const SCHEMA_3: &str = "ALTER TABLE payment ADD COLUMN password_hash TEXT;
    ALTER TABLE payment ADD COLUMN password_removed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX payment_password_hash ON payment (password_hash);";

/// Schema 4 as released (step 4).
const SCHEMA_4: &str = "ALTER TABLE outbox ADD COLUMN sent_as TEXT;
    ALTER TABLE outbox ADD COLUMN failed_temporarily INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_sent_as ON outbox (sent_as) WHERE sent_as IS NOT NULL;";

/// Schema 5 as released (step 5).
const SCHEMA_5: &str = "CREATE VIRTUAL TABLE payment_search USING fts5 (
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
    END;";

const CURRENT: i64 = 6;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-mig-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A wallet of the current schema with one payment sent.
fn current_wallet(path: &Path) -> Store {
    let mut store = Store::open(path).unwrap();
    let terms = terms(Method::Confirm);
    wallet::place(&mut store, &terms, None, CREATED).unwrap();
    wallet::act(&store, &terms.order, &Event::Accepted(Outbound::Order), None, false).unwrap();
    store
}

fn version(path: &Path) -> i64 {
    Connection::open(path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path).unwrap().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap()
}

#[test]
fn every_earlier_schema_upgrades_in_place() {
    let dir = temp("upgrade");
    let source = dir.join("current.sqlite3");
    let written = current_wallet(&source);
    let expected = written.load(&order_id()).unwrap();
    let outbox = written.outbox(&order_id()).unwrap();
    drop(written);

    for from in 0..CURRENT {
        let old = dir.join(format!("schema-{from}.sqlite3"));
        let conn = Connection::open(&old).unwrap();
        if from >= 1 {
            conn.execute_batch(SCHEMA_1).unwrap();
            if from >= 2 {
                conn.execute_batch(SCHEMA_2).unwrap();
            }
            if from >= 3 {
                conn.execute_batch(SCHEMA_3).unwrap();
            }
            if from >= 4 {
                conn.execute_batch(SCHEMA_4).unwrap();
            }
            if from >= 5 {
                conn.execute_batch(SCHEMA_5).unwrap();
            }
            if from >= 2 {
                conn.execute(
                    "INSERT INTO merchant (address, name) VALUES (?1, '宇治の茶舗')",
                    [merchant().as_str()],
                )
                .unwrap();
            }
            conn.execute("ATTACH DATABASE ?1 AS cur", [source.to_str().unwrap()]).unwrap();
            conn.execute_batch(
                "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method,
                     terms_block, state, state_data, detail, created, updated)
                 SELECT order_id, orderer, merchant, bank, amount_minor, currency, method,
                     terms_block, state, state_data, detail, created, updated FROM cur.payment;
                 INSERT INTO outbox (message_id, order_id, kind, sender, recipient, bytes, queued_at,
                     attempts, sent_at, last_error)
                 SELECT message_id, order_id, kind, sender, recipient, bytes, queued_at,
                     attempts, sent_at, last_error FROM cur.outbox;
                 DETACH DATABASE cur;",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", from).unwrap();
        }
        drop(conn);
        assert_eq!(version(&old), from);

        let store = Store::open(&old).unwrap_or_else(|e| panic!("schema {from}: {e}"));
        assert_eq!(version(&old), CURRENT, "schema {from}");
        assert_eq!(journal_mode(&old), "wal", "schema {from}");
        if from >= 1 {
            assert_eq!(store.load(&order_id()).unwrap(), expected, "schema {from}: the payment");
            assert_eq!(store.outbox(&order_id()).unwrap(), outbox, "schema {from}: its mails");
            // Schema 3 keeps A's hash: filled in at open for older payments.
            let used = store.password_used(&password_a()).unwrap();
            assert_eq!(used.as_deref(), Some(order_id().as_str()), "schema {from}: the hash of A");
        } else {
            assert!(store.payment(&order_id()).unwrap().is_none());
        }
        // Schema 5: the payments already there are in the search index,
        // with their merchant's name, and new ones follow.
        let found =
            |text: &str| store.history(&Query { text: text.into(), state: None, limit: 10 }).unwrap().total;
        let order = order_id();
        let part = &order.as_str()[3..9];
        assert_eq!(found(part), usize::from(from >= 1), "schema {from}: {part}");
        assert_eq!(found(&merchant().as_str()[1..]), usize::from(from >= 1), "schema {from}");
        assert_eq!(found("宇治の茶"), usize::from(from >= 2), "schema {from}: the merchant's name");
        // Schema 6: one or two characters are found in the payments
        // already there, their merchant's name too.
        assert_eq!(found(&order.as_str()[4..6]), usize::from(from >= 1), "schema {from}: two characters");
        assert_eq!(found(&order.as_str()[5..6].to_lowercase()), usize::from(from >= 1), "schema {from}");
        assert_eq!(found("宇治"), usize::from(from >= 2), "schema {from}: two characters of the name");
        // What schema 2 added works on the upgraded wallet.
        store.set_setting(mailpay::store::book::Setting::Language, "ja").unwrap();
        // Schema 4: a mail is found by the Message-ID a mail client sent it
        // with.
        if let (true, Some(mail)) = (from >= 1, outbox.iter().find(|m| m.sent_at.is_none())) {
            store.mark_sent(&mail.message_id, Some("client-chosen@buyer.test"), CREATED).unwrap();
            let found = store.outbox_mail("client-chosen@buyer.test").unwrap();
            assert_eq!(found.map(|m| m.message_id), Some(mail.message_id.clone()), "schema {from}");
        }
        drop(store);
        // Opening again changes nothing.
        Store::open(&old).unwrap();
        assert_eq!(version(&old), CURRENT);
    }
}

#[test]
fn a_wallet_from_a_newer_mailpay_is_refused_untouched() {
    let path = temp("newer").join("wallet.sqlite3");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(SCHEMA_1).unwrap();
    conn.pragma_update(None, "user_version", CURRENT + 1).unwrap();
    drop(conn);
    let Err(StoreError::TooNew { found, known }) = Store::open(&path) else {
        panic!("a newer wallet opened")
    };
    assert_eq!((found, known), (CURRENT + 1, CURRENT));
    assert_eq!(version(&path), CURRENT + 1);
}

#[test]
fn backup_and_restore_round_trip() {
    let dir = temp("backup");
    let store = current_wallet(&dir.join("wallet.sqlite3"));
    store.set_setting(mailpay::store::book::Setting::Language, "ja").unwrap();
    let copy = dir.join("copy.sqlite3");
    store.backup_to(&copy).unwrap();
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);

    let restored = Store::restore(&dir.join("elsewhere/wallet.sqlite3"), &copy).unwrap();
    assert_eq!(restored.load(&order_id()).unwrap(), store.load(&order_id()).unwrap());
    assert_eq!(restored.outbox(&order_id()).unwrap(), store.outbox(&order_id()).unwrap());
    assert_eq!(restored.setting(mailpay::store::book::Setting::Language).unwrap().as_deref(), Some("ja"));
    assert_eq!(restored.payment_count().unwrap(), 1);

    let junk = dir.join("junk.sqlite3");
    Connection::open(&junk).unwrap().execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;").unwrap();
    let Err(StoreError::NotAWallet(_)) = Store::restore(&dir.join("other.sqlite3"), &junk) else {
        panic!("a database that is no wallet was restored")
    };
}

#[test]
fn the_command_line_backs_up_and_restores() {
    let mailpay = env!("CARGO_BIN_EXE_mailpay");
    let run = |home: &Path, args: &[&str]| {
        Command::new(mailpay).args(args).env("MAILPAY_HOME", home).output().unwrap()
    };
    let dir = temp("cli");
    let (first, second) = (dir.join("first"), dir.join("second"));
    let expected = current_wallet(&first.join("data/mailpay.sqlite3")).load(&order_id()).unwrap();
    let file = dir.join("wallet.backup");
    let out = run(&first, &["backup", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 payments backed up"));

    let out = run(&second, &["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = Store::open(&second.join("data/mailpay.sqlite3")).unwrap();
    assert_eq!(restored.load(&order_id()).unwrap(), expected);

    // A wallet that holds payments is replaced only when asked to.
    let out = run(&second, &["restore", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--replace"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&second, &["restore", file.to_str().unwrap(), "--replace"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
