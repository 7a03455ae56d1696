//! The agents' data over time: the bank's ledger, the merchant's shop book
//! and the board's log, each opened by the product's own `open` (the one
//! the daemons use) after being written at an earlier schema version.
//!
//! Each released migration step is kept verbatim under
//! `tests/fixtures/migrations/NAME-N.sql` (released steps are never
//! edited). A database at version k is built from the first k steps and
//! filled with the rows a real agent of the current version wrote
//! (accounts, balances, payments with their trail, outbox rows, hashes of
//! A; orders and bills; board records with their chain), copied column by
//! column. Opening it must bring it to the latest version with every row
//! and balance intact, new columns at their declared defaults, the board's
//! chain verifying, and a second open changing nothing. A database from a
//! newer version is refused untouched; every file is owner-only and in WAL
//! mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mailpay::agent::Book;
use mailpay::bank::ledger::{Ledger, LedgerError};
use mailpay::board::log::{BoardLog, LogError};
use mailpay::mail::imap::Resume;
use mailpay::merchant::engine::{MerchantSide, Pricing};
use mailpay::merchant::shop::{Shop, ShopError};
use mailpay::protocol::board::CheckedRecord;
use mailpay::protocol::compose::{self, Outgoing, Thread};
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Approve, Bill, Body};
use mailpay::protocol::parse::parse;
use mailpay::protocol::{
    Currency, EmailAddress, Kind, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp,
};
use rusqlite::Connection;
use rusqlite::types::Value;

/// 2026-11-25T18:09:18Z.
const NOW: Timestamp = Timestamp(1_795_630_158);

/// The released steps of each database, oldest first.
const LEDGER_STEPS: &[&str] =
    &[include_str!("fixtures/migrations/ledger-1.sql"), include_str!("fixtures/migrations/ledger-2.sql")];
const SHOP_STEPS: &[&str] =
    &[include_str!("fixtures/migrations/shop-1.sql"), include_str!("fixtures/migrations/shop-2.sql")];
const BOARD_STEPS: &[&str] =
    &[include_str!("fixtures/migrations/board-1.sql"), include_str!("fixtures/migrations/board-2.sql")];

fn addr(a: &str) -> EmailAddress {
    a.parse().unwrap()
}

fn currency(code: &str) -> Currency {
    code.parse().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-migagents-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn built(draft: compose::Draft) -> Outgoing {
    draft.build(NOW, &mut rand::rng())
}

fn terms(amount: u64) -> OrderTerms {
    let money = Money::new(amount, currency("JPY")).unwrap();
    OrderTerms {
        order: OrderId::generate(&mut rand::rng()),
        orderer: addr("orderer@buyer.test"),
        merchant: addr("shop@shop.test"),
        bank: addr("bank@bank.test"),
        amount: money,
        items: vec![LineItem::new(1, "Green tea 100g", Some(money)).unwrap()],
        password: PasswordA::generate(&mut rand::rng()),
        created: NOW,
        expires: NOW.plus_seconds(24 * 3600),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
    .bound(&mut rand::rng())
}

// ---------------------------------------------------------------------------
// Generic views of a database file.

type Dump = BTreeMap<String, (Vec<String>, Vec<Vec<Value>>)>;

fn version(path: &Path) -> i64 {
    Connection::open(path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Each column of `table` with its declared default (SQL text).
fn columns(conn: &Connection, table: &str) -> Vec<(String, Option<String>)> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")).unwrap();
    stmt.query_map([], |r| Ok((r.get(1)?, r.get(4)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn rows(conn: &Connection, table: &str, cols: &[String]) -> Vec<Vec<Value>> {
    let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let mut stmt = conn.prepare(&format!("SELECT {list} FROM \"{table}\" ORDER BY rowid")).unwrap();
    stmt.query_map([], |r| (0..cols.len()).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every table with its columns and rows.
fn dump(path: &Path) -> Dump {
    let conn = Connection::open(path).unwrap();
    tables(&conn)
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = columns(&conn, &t).into_iter().map(|(c, _)| c).collect();
            let rows = rows(&conn, &t, &cols);
            (t, (cols, rows))
        })
        .collect()
}

/// Tables, indexes and triggers with their SQL.
fn schema(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The database file and its -wal and -shm companions that exist.
fn files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .filter(|p| p.exists())
        .collect()
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path).unwrap().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap()
}

/// A database at version `k`: the first `k` released steps, then every row
/// of `source` (written by the current version) in the columns version `k`
/// has.
fn at_version(path: &Path, steps: &[&str], k: usize, source: &Path) {
    let conn = Connection::open(path).unwrap();
    for sql in &steps[..k] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", i64::try_from(k).unwrap()).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS cur", [source.to_str().unwrap()]).unwrap();
    for table in tables(&conn) {
        let list = columns(&conn, &table)
            .into_iter()
            .map(|(c, _)| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        conn.execute_batch(&format!(
            "INSERT INTO main.\"{table}\" ({list}) SELECT {list} FROM cur.\"{table}\" ORDER BY rowid"
        ))
        .unwrap();
    }
    conn.execute_batch("DETACH DATABASE cur").unwrap();
}

/// The value a column's declared default gives (NULL without one).
fn default_value(conn: &Connection, default: Option<&str>) -> Value {
    match default {
        None => Value::Null,
        Some(sql) => conn.query_row(&format!("SELECT {sql}"), [], |r| r.get(0)).unwrap(),
    }
}

/// What must hold once the product opened a database built at version `k`
/// from `before` (its dump): the latest version, every old column of every
/// row unchanged, new tables and columns at their defaults, WAL, owner-only.
fn check_upgraded(name: &str, path: &Path, k: usize, latest: i64, before: &Dump) {
    assert_eq!(version(path), latest, "{name} from version {k}: the version");
    assert_eq!(journal_mode(path), "wal", "{name} from version {k}");
    for file in files(path) {
        assert_eq!(mode(&file), 0o600, "{name} from version {k}: {} is not owner-only", file.display());
    }
    let after = dump(path);
    let conn = Connection::open(path).unwrap();
    for (table, (cols, old_rows)) in before {
        let Some((new_cols, _)) = after.get(table) else {
            panic!("{name} from version {k}: the table {table} is gone")
        };
        assert_eq!(&rows(&conn, table, cols), old_rows, "{name} from version {k}: the rows of {table}");
        for (col, default) in columns(&conn, table) {
            if cols.contains(&col) {
                continue;
            }
            assert!(new_cols.contains(&col));
            let expected = default_value(&conn, default.as_deref());
            for row in rows(&conn, table, std::slice::from_ref(&col)) {
                assert_eq!(row[0], expected, "{name} from version {k}: new column {table}.{col}");
            }
        }
    }
}

/// The latest version: what the product makes of an empty file.
fn latest_version(name: &str, open: impl Fn(&Path)) -> i64 {
    let fresh = temp(&format!("{name}-fresh")).join(format!("{name}.sqlite"));
    open(&fresh);
    version(&fresh)
}

/// The released steps, replayed, give exactly the schema the product makes
/// today: a step edited after its release (or a new step without its
/// fixture) shows here.
fn check_fixtures(name: &str, steps: &[&str], open: impl Fn(&Path)) -> i64 {
    let latest = latest_version(name, &open);
    assert_eq!(
        usize::try_from(latest).unwrap(),
        steps.len(),
        "{name}: the product is at schema {latest}; keep each released step as tests/fixtures/migrations/{name}-N.sql"
    );
    let dir = temp(&format!("{name}-steps"));
    let replayed = dir.join("replayed.sqlite");
    let conn = Connection::open(&replayed).unwrap();
    for sql in steps {
        conn.execute_batch(sql).unwrap();
    }
    drop(conn);
    let fresh = dir.join("fresh.sqlite");
    open(&fresh);
    assert_eq!(schema(&replayed), schema(&fresh), "{name}: a released step was edited");
    latest
}

/// For every version k from 1 to the latest (k = latest: reopening a
/// database of this version), builds it from `source`, opens it with the
/// product's `open` and checks it; `check` looks at it through the
/// product's own reading functions.
fn upgrade_each_version(
    name: &str,
    steps: &[&str],
    source: &Path,
    open: impl Fn(&Path),
    check: impl Fn(&Path),
) {
    let latest = check_fixtures(name, steps, &open);
    let dir = temp(&format!("{name}-upgrade"));
    for k in 1..=steps.len() {
        let path = dir.join(format!("{name}-v{k}.sqlite"));
        at_version(&path, steps, k, source);
        assert_eq!(version(&path), i64::try_from(k).unwrap());
        let before = dump(&path);
        assert!(before.values().any(|(_, rows)| !rows.is_empty()), "{name}: no rows to carry over");
        open(&path);
        check_upgraded(name, &path, k, latest, &before);
        check(&path);
        // A second open changes nothing.
        let (once, schema_once) = (dump(&path), schema(&path));
        open(&path);
        assert_eq!(version(&path), latest, "{name} from version {k}: reopened");
        assert_eq!(dump(&path), once, "{name} from version {k}: the second open changed rows");
        assert_eq!(schema(&path), schema_once, "{name} from version {k}: the second open changed the schema");
    }
}

// ---------------------------------------------------------------------------
// What a real bank, shop and board wrote.

const ORDERER: &str = "orderer@buyer.test";
const SHOP: &str = "shop@shop.test";

/// Balances after the bank's work, as (address, currency, minor units).
const BALANCES: &[(&str, &str, u64)] =
    &[(ORDERER, "JPY", 1_000_000 - 1_200), (ORDERER, "USD", 12_550), (SHOP, "JPY", 1_200), (SHOP, "USD", 0)];

/// A ledger that settled one order (Fig. 1: request, bill, confirmation,
/// OK, settled notices), holds one confirmed and unanswered, and one
/// refused for a reused A.
fn bank_source(path: &Path) -> Vec<OrderId> {
    let bank = addr("bank@bank.test");
    let mut ledger = Ledger::open(path).unwrap();
    ledger.open_account(&addr(ORDERER), Some("O.B."), Some("ed25519:AAAA"), None, NOW).unwrap();
    ledger.open_account(&addr(SHOP), None, None, Some("https://shop.test/board"), NOW).unwrap();
    ledger.set_balance(&addr(ORDERER), currency("JPY"), 1_000_000).unwrap();
    ledger.set_balance(&addr(ORDERER), currency("USD"), 12_550).unwrap();
    ledger.set_balance(&addr(SHOP), currency("JPY"), 0).unwrap();
    ledger.set_balance(&addr(SHOP), currency("USD"), 0).unwrap();
    let mut take = |raw: &[u8]| ledger.process(&bank, &parse(raw).unwrap(), raw, NOW).unwrap();
    let mut orders = Vec::new();
    let mut paid = None;
    for settle in [true, false] {
        let terms = terms(1_200);
        let [order, request] = compose::order(&terms);
        let request = built(request);
        let order_mail = parse(&built(order).bytes).unwrap();
        take(&request.bytes);
        let bill = Bill {
            order: terms.order.clone(),
            merchant: terms.merchant.clone(),
            orderer: terms.orderer.clone(),
            items: terms.items.clone(),
            total: terms.amount,
            billed: NOW,
            quoted_order: terms.clone(),
        };
        let bill =
            built(compose::bill(&bill, order_mail.order_block.as_ref().unwrap(), &order_mail.thread()));
        let done = take(&bill.bytes);
        let confirm = done.outgoing.iter().find(|m| m.kind == Kind::Confirm).expect("a confirmation");
        let Body::Confirm(c) = parse(&confirm.bytes).unwrap().body else { panic!("not a confirmation") };
        if settle {
            let ok = Approve { order: terms.order.clone(), password: terms.password.clone(), code: c.code };
            let ok = built(compose::approve(&ok, &terms.orderer, &bank, &Thread::default()));
            let done = take(&ok.bytes);
            assert!(done.outgoing.iter().any(|m| m.kind == Kind::Settled), "{}", done.note);
            paid = Some(terms.clone());
        }
        orders.push(terms.order.clone());
    }
    // A third order reusing the settled order's A.
    let reuse = paid.unwrap().bound(&mut rand::rng());
    let [_, request] = compose::order(&reuse);
    take(&built(request).bytes);
    orders.push(reuse.order.clone());
    for mail in ledger.unsent(false, mailpay::clock::now()).unwrap().iter().take(2) {
        ledger.mark_sent(&mail.message_id, NOW.plus_seconds(5)).unwrap();
    }
    ledger
        .save_resume("bank@bank.test", "INBOX", Resume { uid_validity: 1_764_000_000, last_uid: 42 })
        .unwrap();
    for &(who, code, minor) in BALANCES {
        assert_eq!(ledger.balance(&addr(who), currency(code)).unwrap(), minor, "{who} {code}");
    }
    orders
}

/// A shop book that took two orders (bills queued, one sent) and refused
/// one mail as not MailPay.
fn shop_source(path: &Path) -> Vec<OrderId> {
    let mut shop = Shop::open(path).unwrap();
    let side =
        MerchantSide { address: &addr(SHOP), bank: &addr("bank@bank.test"), pricing: &Pricing::AsOrdered };
    let mut orders = Vec::new();
    for amount in [1_200, 50_000] {
        let terms = terms(amount);
        let [order, _] = compose::order(&terms);
        let order = built(order);
        let done = shop.process(&side, &parse(&order.bytes).unwrap(), None, &order.bytes, NOW).unwrap();
        assert!(done.outgoing.iter().any(|m| m.kind == Kind::Bill), "{}", done.note);
        orders.push(terms.order.clone());
    }
    let first = shop.unsent(false, mailpay::clock::now()).unwrap().remove(0);
    shop.mark_sent(&first.message_id, NOW.plus_seconds(3)).unwrap();
    shop.record_unhandled(
        b"From: x@y.test\r\n\r\n-----BEGIN MAILPAY ORDER-----\r\n",
        "not valid MailPay: truncated",
        NOW,
    )
    .unwrap();
    shop.save_resume(SHOP, "INBOX", Resume { uid_validity: 99, last_uid: 7 }).unwrap();
    orders
}

/// A board with three records on its chain; returns the head.
fn board_source(path: &Path) -> String {
    let mut log = BoardLog::open(path).unwrap();
    for (i, initials) in ["O.B.", "T.S.", "山田"].iter().enumerate() {
        let record = CheckedRecord {
            order: OrderId::generate(&mut rand::rng()),
            initials: (*initials).to_string(),
            ordered_at: NOW.plus_seconds(i64::try_from(i).unwrap() * 60),
            // Schema 1 kept unsigned records only.
            signed: None,
        };
        log.append(&record, "127.0.0.1", NOW.plus_seconds(i64::try_from(i).unwrap() * 60 + 1)).unwrap();
    }
    log.verify().unwrap()
}

#[test]
fn every_earlier_ledger_opens_with_its_money_and_trail() {
    let source = temp("ledger-src").join("ledger.sqlite");
    let orders = bank_source(&source);
    let expected = Ledger::open(&source).unwrap();
    let (payments, recipient) = (expected.payments().unwrap(), expected.recipient().unwrap());
    let trails: Vec<_> = orders.iter().map(|o| expected.trail(o).unwrap()).collect();
    let unsent: Vec<String> =
        expected.unsent(false, mailpay::clock::now()).unwrap().into_iter().map(|m| m.message_id).collect();
    assert_eq!(payments.len(), 3);
    assert!(!unsent.is_empty());
    drop(expected);
    let hashes: i64 = Connection::open(&source)
        .unwrap()
        .query_row("SELECT count(*) FROM used_password", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hashes, 2, "the hashes of both A");

    upgrade_each_version(
        "ledger",
        LEDGER_STEPS,
        &source,
        |p| drop(Ledger::open(p).unwrap()),
        |p| {
            let ledger = Ledger::open(p).unwrap();
            for &(who, code, minor) in BALANCES {
                assert_eq!(ledger.balance(&addr(who), currency(code)).unwrap(), minor, "{who} {code}");
            }
            assert_eq!(ledger.total(currency("JPY")).unwrap(), 1_000_000, "money is neither made nor lost");
            assert_eq!(ledger.payments().unwrap(), payments);
            assert_eq!(ledger.transfers().unwrap(), 1);
            assert_eq!(ledger.recipient().unwrap(), recipient, "the bank's age identity is kept");
            for (order, trail) in orders.iter().zip(&trails) {
                assert_eq!(&ledger.trail(order).unwrap(), trail, "the trail of {order}");
            }
            let still: Vec<String> = ledger
                .unsent(false, mailpay::clock::now())
                .unwrap()
                .into_iter()
                .map(|m| m.message_id)
                .collect();
            assert_eq!(still, unsent, "the mails still to send");
            let resume = ledger.resume("bank@bank.test", "INBOX").unwrap();
            assert_eq!(resume, Resume { uid_validity: 1_764_000_000, last_uid: 42 });
        },
    );
}

#[test]
fn every_earlier_shop_book_opens_with_its_orders() {
    let source = temp("shop-src").join("shop.sqlite");
    let orders = shop_source(&source);
    let expected = Shop::open(&source).unwrap();
    let (rows, unsent) = (expected.orders().unwrap(), expected.unsent(false, mailpay::clock::now()).unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(unsent.len(), 1);
    drop(expected);
    upgrade_each_version(
        "shop",
        SHOP_STEPS,
        &source,
        |p| drop(Shop::open(p).unwrap()),
        |p| {
            let shop = Shop::open(p).unwrap();
            assert_eq!(shop.orders().unwrap(), rows);
            for order in &orders {
                assert!(shop.state(order).unwrap().is_some(), "{order}");
            }
            let still = shop.unsent(false, mailpay::clock::now()).unwrap();
            assert_eq!(still.len(), 1);
            assert_eq!((&still[0].message_id, &still[0].bytes), (&unsent[0].message_id, &unsent[0].bytes));
            assert_eq!(shop.resume(SHOP, "INBOX").unwrap(), Resume { uid_validity: 99, last_uid: 7 });
        },
    );
}

#[test]
fn every_earlier_board_opens_with_its_chain() {
    let source = temp("board-src").join("board.sqlite");
    let head = board_source(&source);
    let entries = BoardLog::open(&source).unwrap().entries().unwrap();
    assert_eq!(entries.len(), 3);
    upgrade_each_version(
        "board",
        BOARD_STEPS,
        &source,
        |p| drop(BoardLog::open(p).unwrap()),
        |p| {
            let log = BoardLog::open(p).unwrap();
            assert_eq!(log.entries().unwrap(), entries);
            assert_eq!(log.verify().unwrap(), head, "the chain verifies to the same head");
            assert_eq!(log.head().unwrap(), (head.clone(), 3));
        },
    );
    // The append-only triggers came through the upgrade too.
    let path = temp("board-triggers").join("board.sqlite");
    at_version(&path, BOARD_STEPS, BOARD_STEPS.len(), &source);
    drop(BoardLog::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let edit = conn.execute("UPDATE record SET initials = 'X.' WHERE seq = 1", []);
    assert!(edit.unwrap_err().to_string().contains("append-only"));
}

/// The product's refusal of a database from a newer version, as text.
fn refusal(name: &str, path: &Path) -> String {
    match name {
        "ledger" => match Ledger::open(path) {
            Err(e @ LedgerError::TooNew { .. }) => e.to_string(),
            other => panic!("ledger: {other:?}"),
        },
        "shop" => match Shop::open(path) {
            Err(e @ ShopError::TooNew { .. }) => e.to_string(),
            other => panic!("shop: {other:?}"),
        },
        "board" => match BoardLog::open(path) {
            Err(e @ LogError::TooNew { .. }) => e.to_string(),
            other => panic!("board: {other:?}"),
        },
        _ => unreachable!(),
    }
}

fn open_by_name(name: &str, path: &Path) {
    match name {
        "ledger" => drop(Ledger::open(path).unwrap()),
        "shop" => drop(Shop::open(path).unwrap()),
        "board" => drop(BoardLog::open(path).unwrap()),
        _ => unreachable!(),
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let dir = temp("newer");
    let sources = [
        ("ledger", dir.join("ledger-src.sqlite")),
        ("shop", dir.join("shop-src.sqlite")),
        ("board", dir.join("board-src.sqlite")),
    ];
    bank_source(&sources[0].1);
    shop_source(&sources[1].1);
    board_source(&sources[2].1);
    for (name, source) in &sources {
        let latest = version(source);
        let path = dir.join(format!("{name}.sqlite"));
        std::fs::copy(source, &path).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", latest + 1).unwrap();
        drop(conn);
        assert!(files(&path).len() == 1, "{name}: checkpointed into one file");
        let (bytes, rows) = (std::fs::read(&path).unwrap(), dump(&path));
        let why = refusal(name, &path);
        assert!(why.contains("newer"), "{name}: {why}");
        assert!(why.contains(&format!("schema {}", latest + 1)), "{name}: {why}");
        assert!(why.contains(&format!("knows {latest}")), "{name}: {why}");
        assert!(why.contains(&path.display().to_string()), "{name}: {why}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: the refused file was modified");
        assert_eq!(version(&path), latest + 1, "{name}");
        assert_eq!(dump(&path), rows, "{name}");
        // Refused every time, not only the first.
        refusal(name, &path);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: modified by the second attempt");
    }
}

#[test]
fn new_databases_are_owner_only_and_in_wal_mode() {
    let dir = temp("fresh");
    for name in ["ledger", "shop", "board"] {
        // In a folder that does not exist yet, as on a first start.
        let path = dir.join(name).join("data").join(format!("{name}.sqlite"));
        open_by_name(name, &path);
        assert_eq!(journal_mode(&path), "wal", "{name}");
        assert_eq!(mode(path.parent().unwrap()) & 0o077, 0, "{name}: the folder is private");
        // While the product holds it open, its -wal and -shm exist too.
        let held: Box<dyn std::any::Any> = match name {
            "ledger" => Box::new(Ledger::open(&path).unwrap()),
            "shop" => Box::new(Shop::open(&path).unwrap()),
            _ => Box::new(BoardLog::open(&path).unwrap()),
        };
        let present = files(&path);
        assert!(present.len() >= 2, "{name}: {present:?}");
        for file in present {
            assert_eq!(mode(&file), 0o600, "{name}: {} is not owner-only", file.display());
        }
        drop(held);
        let steps = match name {
            "ledger" => LEDGER_STEPS.len(),
            "shop" => SHOP_STEPS.len(),
            _ => BOARD_STEPS.len(),
        };
        assert_eq!(version(&path), i64::try_from(steps).unwrap(), "{name}: at its latest schema");
    }
}

/// A newer database that a newer version left in rollback-journal mode
/// (it may have chosen to): refused without being switched to WAL either.
#[test]
fn a_newer_database_in_rollback_journal_mode_is_refused_untouched() {
    let dir = temp("newer-delete");
    for (name, steps) in [("ledger", LEDGER_STEPS), ("shop", SHOP_STEPS), ("board", BOARD_STEPS)] {
        let path = dir.join(format!("{name}.sqlite"));
        let conn = Connection::open(&path).unwrap();
        for sql in steps {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", i64::try_from(steps.len()).unwrap() + 1).unwrap();
        drop(conn);
        assert_eq!(journal_mode(&path), "delete");
        let bytes = std::fs::read(&path).unwrap();
        let why = refusal(name, &path);
        assert!(why.contains("newer"), "{name}: {why}");
        assert_eq!(journal_mode(&path), "delete", "{name}: switched to WAL before it was refused");
        assert!(std::fs::read(&path).unwrap() == bytes, "{name}: the refused file was modified");
    }
}
