//! The history's text search (FTS5) and spending overview on a real wallet
//! file: what a search finds against a plain substring match, hostile
//! search text, the index kept in step with payments and the address book,
//! and the overview's sums against a brute-force count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use mailpay::protocol::{Currency, Method};
use mailpay::store::Store;
use mailpay::store::book::Merchant;
use mailpay::store::history::Query;
use mailpay::store::overview::OverviewQuery;
use proptest::prelude::*;
use rusqlite::{Connection, params};
use support::protocol::address;

fn wallet(name: &str) -> (Store, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-history-search-{name}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wallet.sqlite3");
    (Store::open(&path).unwrap(), path)
}

struct Payment<'a> {
    order: &'a str,
    merchant: &'a str,
    minor: i64,
    currency: &'a str,
    state: &'a str,
    created: i64,
}

/// Writes payments as the wallet stores them, beside the open store.
fn insert(path: &Path, payments: &[Payment<'_>]) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for p in payments {
        tx.execute(
            "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method, terms_block, state, state_data, created, updated)
             VALUES (?1, 'me@buyer.test', ?2, 'bank@bank.test', ?3, ?4, 'confirm', '', ?5, '{}', ?6, ?6)",
            params![p.order, p.merchant, p.minor, p.currency, p.state, p.created],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn merchant(store: &Store, address_text: &str, name: &str) {
    store
        .save_merchant(&Merchant {
            address: address(address_text),
            name: name.into(),
            bank: None,
            board: None,
            figures: vec![Method::Confirm],
        })
        .unwrap();
}

fn search(store: &Store, text: &str) -> (usize, Vec<String>) {
    let page = store.history(&Query { text: text.into(), state: None, limit: 1000 }).unwrap();
    assert!(page.rows.windows(2).all(|w| w[0].created >= w[1].created), "{text:?}: newest first");
    (page.total, page.rows.into_iter().map(|r| r.order).collect())
}

/// The wallet the search tests look into: three merchants, one with a
/// Japanese name, twelve payments.
fn shops(name: &str) -> (Store, PathBuf) {
    let (store, path) = wallet(name);
    merchant(&store, "yamada@tea.example", "山田茶園");
    merchant(&store, "orders@acme.example", "Acme OR \"Quoted\" NEAR(Shop)");
    let merchants = ["yamada@tea.example", "orders@acme.example", "kiosk@station.example"];
    let orders: Vec<String> = (0..12).map(|i| format!("K3M9Q2{i:02}ZZZZZZZZ")).collect();
    let payments: Vec<Payment<'_>> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| Payment {
            order,
            merchant: merchants[i % 3],
            minor: 100,
            currency: "JPY",
            state: if i % 2 == 0 { "settled" } else { "sent" },
            created: 1_750_000_000 + i as i64,
        })
        .collect();
    insert(&path, &payments);
    (store, path)
}

/// What the search should find: `text` as a substring, in any case, of
/// the order id, the merchant's address or its name, newest first.
fn brute_force(path: &Path, text: &str) -> Vec<String> {
    matching(path, text, str::to_lowercase)
}

/// The order ids, newest first, whose order id, merchant address or name
/// holds `text`, both folded by `fold`.
fn matching(path: &Path, text: &str, fold: impl Fn(&str) -> String) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT p.order_id, p.merchant, coalesce(m.name, '') FROM payment p
             LEFT JOIN merchant m ON m.address = p.merchant ORDER BY p.created DESC, p.order_id",
        )
        .unwrap();
    let needle = fold(text.trim());
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(o, m, n)| [o, m, n].iter().any(|f| fold(f).contains(&needle)))
        .map(|(o, _, _)| o)
        .collect()
}

#[test]
fn the_search_finds_parts_of_order_ids_addresses_and_names_in_any_case() {
    let (store, path) = shops("parts");
    let yamada = brute_force(&path, "yamada@");
    assert_eq!(yamada.len(), 4);
    for typed in ["yam", "YAMADA", "Yamada@Tea", "tea.exam", "山田茶", "茶園", "山", "ya"] {
        assert_eq!(search(&store, typed), (4, yamada.clone()), "{typed:?}");
    }
    // A part of an order id, from its start or its middle.
    assert_eq!(search(&store, "k3m9q205").1, vec!["K3M9Q205ZZZZZZZZ".to_string()]);
    assert_eq!(search(&store, "Q207ZZ").1, vec!["K3M9Q207ZZZZZZZZ".to_string()]);
    assert_eq!(search(&store, "example").0, 12);
    assert_eq!(search(&store, "nobody").0, 0);
    // The count covers every match, beyond the page.
    let page = store.history(&Query { text: "station".into(), state: None, limit: 2 }).unwrap();
    assert_eq!((page.total, page.rows.len()), (4, 2));
    let page =
        store.history(&Query { text: "station".into(), state: Some("settled".into()), limit: 10 }).unwrap();
    assert_eq!(page.total, 2);
    assert!(page.rows.iter().all(|r| r.state == "settled" && r.merchant == "kiosk@station.example"));
}

/// One or two characters, fewer than a trigram (found over the folded
/// text `search_text` rather than the index): what a substring match
/// finds, in any case of ASCII letters, Japanese names too; the count
/// exact whether or not the page holds every match.
#[test]
fn one_and_two_characters_find_what_a_substring_match_finds() {
    let (store, path) = shops("short");
    merchant(&store, "kiosk@station.example", "\u{212A}iosk Ka\u{17F}a");
    for text in [
        "y", "Y", "a", "A", "7", "0", "z", "Z", "@", ".", "q2", "Q2", "k3", "K3", "05", "e.", "ks", "KS",
        "山", "山田", "茶園", "田茶", "園", "x", "田x", "\u{212A}", "\u{17F}", " k ", "i",
    ] {
        let expected = brute_force_folded(&path, text);
        for limit in [1, 2, 4, 5, 1000] {
            let page = store.history(&Query { text: text.into(), state: None, limit }).unwrap();
            let orders: Vec<String> = page.rows.iter().map(|r| r.order.clone()).collect();
            let want: Vec<String> = expected.iter().take(limit).cloned().collect();
            assert_eq!((page.total, orders), (expected.len(), want), "{text:?}, at most {limit}");
        }
        for state in ["settled", "sent"] {
            let page =
                store.history(&Query { text: text.into(), state: Some(state.into()), limit: 2 }).unwrap();
            let all = store.history(&Query { text: text.into(), state: None, limit: 1000 }).unwrap();
            let want: Vec<_> = all.rows.into_iter().filter(|r| r.state == state).collect();
            assert_eq!(page.total, want.len(), "{text:?} {state}");
            assert_eq!(page.rows, want[..want.len().min(2)], "{text:?} {state}");
        }
    }
    assert_eq!(search(&store, "山田").0, 4);
    // The Kelvin sign and long s are folded as the trigram index folds
    // them: two characters find what three find.
    assert_eq!(search(&store, "ki").1, search(&store, "kio").1);
    assert_eq!(search(&store, "as").1, search(&store, "asa").1);
    assert_eq!(search(&store, "as").0, 4);
}

/// [`brute_force`], with the Kelvin sign and long s folded as the trigram
/// tokenizer folds them (Rust's lower case keeps long s as it is).
fn brute_force_folded(path: &Path, text: &str) -> Vec<String> {
    matching(path, text, |s| s.to_lowercase().replace('\u{17F}', "s"))
}

#[test]
fn hostile_search_text_is_only_characters_to_find() {
    let (store, path) = shops("hostile");
    let hostile = [
        "\"",
        "\"\"",
        "yam\"",
        "\"yam",
        "yam OR kiosk",
        "OR",
        "AND",
        "NOT yam",
        "yam*",
        "*",
        "* *",
        "NEAR(yam kiosk)",
        "NEAR(",
        "order_id:K3M9",
        "merchant:yam",
        "name:Acme",
        "{order_id}:k3",
        "-yam",
        "^yam",
        "(",
        ")",
        "(yam)",
        "yam + kiosk",
        "'; DROP TABLE payment; --",
        "%",
        "_",
        "\\",
        "\0",
        "OR \"Quoted\"",
        "NEAR(Shop)",
        "\"Quoted\" NEAR",
        "   ",
        "a\"b\"c\"",
    ];
    for text in hostile {
        let (total, orders) = search(&store, text);
        let expected = brute_force(&path, text);
        assert_eq!(orders, expected, "{text:?} found other payments than its characters");
        assert_eq!(total, expected.len(), "{text:?}");
    }
    // What is typed as an operator matches only where those characters are.
    assert_eq!(search(&store, "OR \"Quoted\" NEAR(Shop)").0, 4);
    assert_eq!(search(&store, "yam OR kiosk").0, 0);
    assert_eq!(store.payment_count().unwrap(), 12, "nothing was dropped");
}

fn integrity(path: &Path) {
    Connection::open(path)
        .unwrap()
        .execute("INSERT INTO payment_search (payment_search) VALUES ('integrity-check')", [])
        .unwrap();
}

#[test]
fn the_index_follows_payments_and_the_address_book() {
    let (store, path) = wallet("in-step");
    let at = |order| Payment {
        order,
        merchant: "shop@store.example",
        minor: 500,
        currency: "EUR",
        state: "sent",
        created: 1_750_000_000,
    };
    insert(&path, &[at("AAAA1111BBBB2222")]);
    assert_eq!(search(&store, "store.ex").0, 1, "a new payment is found");
    assert_eq!(search(&store, "Corner").0, 0);
    merchant(&store, "shop@store.example", "Corner Bakery");
    assert_eq!(search(&store, "corner bak").0, 1, "a merchant saved after its payment: found by name");
    insert(&path, &[at("CCCC3333DDDD4444")]);
    assert_eq!(search(&store, "bakery").0, 2, "a payment to a known merchant: found by name");
    merchant(&store, "shop@store.example", "パン屋さん");
    assert_eq!(search(&store, "bakery").0, 0, "the old name is gone");
    assert_eq!(search(&store, "パン屋").0, 2, "the new name is found");
    assert_eq!(search(&store, "パン").0, 2, "two characters of the new name too");
    assert_eq!(search(&store, "ba").0, 0, "and not two of the old one");
    store.delete_merchant(&address("shop@store.example")).unwrap();
    assert_eq!(search(&store, "パン屋").0, 0, "a deleted merchant's name is gone");
    assert_eq!(search(&store, "パン").0, 0);
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE payment SET merchant = 'other@market.example' WHERE order_id = 'AAAA1111BBBB2222'",
        [],
    )
    .unwrap();
    assert_eq!(search(&store, "market").1, vec!["AAAA1111BBBB2222".to_string()]);
    assert_eq!(
        search(&store, "mA").1,
        vec!["AAAA1111BBBB2222".to_string()],
        "two characters of the new address"
    );
    assert_eq!(search(&store, "store.ex").0, 1);
    conn.execute("UPDATE payment SET state = 'settled' WHERE order_id = 'CCCC3333DDDD4444'", []).unwrap();
    assert_eq!(search(&store, "store.ex").0, 1, "a change of state leaves the index as it was");
    conn.execute("DELETE FROM payment WHERE order_id = 'CCCC3333DDDD4444'", []).unwrap();
    assert_eq!(search(&store, "store.ex").0, 0, "a deleted payment is gone");
    assert_eq!(search(&store, "C3").0, 0);
    integrity(&path);
}

/// The first second of each month from January 2024 to December 2026.
fn month_starts() -> Vec<(String, i64)> {
    let mut at = 1_704_067_200; // 2024-01-01T00:00:00Z
    let mut starts = Vec::new();
    for year in 2024..=2026 {
        for month in 1..=12 {
            starts.push((format!("{year}-{month:02}"), at));
            let days = match month {
                2 if year % 4 == 0 => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            at += days * 86_400;
        }
    }
    starts
}

const MERCHANTS: [&str; 4] = ["a@one.example", "b@two.example", "c@three.example", "d@four.example"];
const STATES: [&str; 4] = ["settled", "sent", "rejected", "settled"];
const CURRENCIES: [&str; 2] = ["JPY", "EUR"];

/// A payment as the test draws it: month, second in the month, merchant,
/// amount, currency, state (indexes into the tables above).
type Drawn = (usize, i64, usize, i64, usize, usize);

fn drawn() -> impl Strategy<Value = Vec<Drawn>> {
    prop::collection::vec(
        (0..36usize, 0..(28 * 86_400i64), 0..4usize, 1..1_000_000_000_000i64, 0..2usize, 0..4usize),
        0..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The overview's months and merchants against sums made here, for a
    /// period and a currency drawn at random.
    #[test]
    fn the_overview_sums_what_a_brute_force_count_sums(
        payments in drawn(),
        first in 0..36usize,
        length in 0..40usize,
        open_start in any::<bool>(),
        currency in 0..2usize,
    ) {
        let (store, path) = wallet("overview");
        merchant(&store, MERCHANTS[1], "Two & Co");
        let starts = month_starts();
        let orders: Vec<String> = (0..payments.len()).map(|i| format!("ORDER{i:011}")).collect();
        let rows: Vec<Payment<'_>> = payments
            .iter()
            .zip(&orders)
            .map(|(&(month, second, m, minor, c, s), order)| Payment {
                order,
                merchant: MERCHANTS[m],
                minor,
                currency: CURRENCIES[c],
                state: STATES[s],
                created: starts[month].1 + second,
            })
            .collect();
        insert(&path, &rows);
        let from = if open_start { None } else { Some(starts[first].1) };
        let until = starts.get(first + length).map(|s| s.1);
        let query = OverviewQuery { currency: CURRENCIES[currency].parse().unwrap(), from, until };
        let overview = store.overview(&query, &TimeZone::UTC).unwrap();

        let mut months: BTreeMap<String, (u128, u64)> = BTreeMap::new();
        let mut merchants: BTreeMap<&str, (u128, u64)> = BTreeMap::new();
        for p in rows.iter().filter(|p| {
            p.state == "settled"
                && p.currency == CURRENCIES[currency]
                && from.is_none_or(|f| p.created >= f)
                && until.is_none_or(|u| p.created < u)
        }) {
            let month = starts.iter().rev().find(|s| s.1 <= p.created).unwrap().0.clone();
            let m = months.entry(month).or_default();
            m.0 += p.minor as u128;
            m.1 += 1;
            let m = merchants.entry(p.merchant).or_default();
            m.0 += p.minor as u128;
            m.1 += 1;
        }
        let got: BTreeMap<String, (u128, u64)> = overview
            .months
            .iter()
            .filter(|m| m.payments > 0)
            .map(|m| (m.month.clone(), (m.total.minor, m.payments)))
            .collect();
        prop_assert_eq!(&got, &months);
        // Months run without a gap from the first to the last.
        let labels: Vec<&str> = overview.months.iter().map(|m| m.month.as_str()).collect();
        let all: Vec<&str> = starts.iter().map(|s| s.0.as_str()).collect();
        if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
            let at = all.iter().position(|m| m == first).unwrap();
            let to = all.iter().position(|m| m == last).unwrap();
            prop_assert_eq!(&labels[..], &all[at..=to]);
        }
        let got: BTreeMap<&str, (u128, u64)> = overview
            .merchants
            .iter()
            .map(|m| (m.merchant.as_str(), (m.total.minor, m.payments)))
            .collect();
        prop_assert_eq!(got, merchants.clone());
        prop_assert!(overview.merchants.windows(2).all(|w| w[0].total >= w[1].total), "largest first");
        for m in &overview.merchants {
            prop_assert_eq!(m.name.as_deref(), (m.merchant == MERCHANTS[1]).then_some("Two & Co"));
        }
        prop_assert_eq!(overview.total.minor, months.values().map(|m| m.0).sum::<u128>());
        prop_assert_eq!(overview.payments, months.values().map(|m| m.1).sum::<u64>());
        prop_assert_eq!(overview.total.currency, query.currency);
    }
}

#[test]
fn sums_past_64_bits_are_exact() {
    let (store, path) = wallet("overflow");
    let orders = ["BIG1", "BIG2", "BIG3"];
    let rows: Vec<Payment<'_>> = orders
        .iter()
        .map(|order| Payment {
            order,
            merchant: "dear@shop.example",
            minor: i64::MAX,
            currency: "USD",
            state: "settled",
            created: 1_750_000_000,
        })
        .collect();
    insert(&path, &rows);
    let usd: Currency = "USD".parse().unwrap();
    let all = OverviewQuery { currency: usd, from: None, until: None };
    let overview = store.overview(&all, &TimeZone::UTC).unwrap();
    let expected = 3 * i64::MAX as u128;
    assert_eq!(overview.total.minor, expected);
    assert_eq!(overview.months.len(), 1);
    assert_eq!(overview.months[0].total.minor, expected);
    assert_eq!(overview.merchants[0].total.minor, expected);
    assert_eq!(overview.total.major_string(), "276701161105643274.21");
}

#[test]
fn the_overview_exports_as_one_csv_table() {
    let (store, path) = wallet("csv");
    merchant(&store, "yamada@tea.example", "山田, \"茶園\"");
    let april = 1_743_465_600; // 2025-04-01T00:00:00Z
    let june = april + 61 * 86_400;
    insert(
        &path,
        &[
            Payment {
                order: "O1",
                merchant: "yamada@tea.example",
                minor: 1250,
                currency: "EUR",
                state: "settled",
                created: april,
            },
            Payment {
                order: "O2",
                merchant: "=cmd@evil.example",
                minor: 5,
                currency: "EUR",
                state: "settled",
                created: june,
            },
            Payment {
                order: "O3",
                merchant: "yamada@tea.example",
                minor: 999,
                currency: "EUR",
                state: "rejected",
                created: june,
            },
            Payment {
                order: "O4",
                merchant: "yamada@tea.example",
                minor: 999,
                currency: "JPY",
                state: "settled",
                created: june,
            },
        ],
    );
    let eur: Currency = "EUR".parse().unwrap();
    assert_eq!(store.spending_currencies().unwrap(), vec![eur, "JPY".parse().unwrap()]);
    let out = path.with_file_name("overview.csv");
    let all = OverviewQuery { currency: eur, from: None, until: None };
    let rows = store.export_overview_csv(&all, &TimeZone::UTC, &out).unwrap();
    assert_eq!(rows, 5);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "group,key,name,currency,payments,total",
            "month,2025-04,,EUR,1,12.50",
            "month,2025-05,,EUR,0,0.00",
            "month,2025-06,,EUR,1,0.05",
            "merchant,yamada@tea.example,\"山田, \"\"茶園\"\"\",EUR,1,12.50",
            "merchant,\"'=cmd@evil.example\",,EUR,1,0.05",
        ]
    );
}

/// The months are the user's: two payments on either side of midnight UTC
/// at the turn of November are one in each month in UTC, both in December
/// in Tokyo (already 1 December there) and both in November in New York
/// (still 30 November there).
#[test]
fn the_overview_counts_months_in_the_users_time_zone() {
    let (store, path) = wallet("overview-zones");
    let at = |t: &str| t.parse::<mailpay::protocol::Timestamp>().unwrap().unix();
    let orders = ["ZONE00000001", "ZONE00000002"];
    let rows: Vec<Payment<'_>> = [("2026-11-30T23:00:00Z", 0), ("2026-12-01T01:00:00Z", 1)]
        .iter()
        .map(|&(created, i)| Payment {
            order: orders[i],
            merchant: "shop@one.example",
            minor: 1000,
            currency: "JPY",
            state: "settled",
            created: at(created),
        })
        .collect();
    insert(&path, &rows);
    let all = OverviewQuery { currency: "JPY".parse().unwrap(), from: None, until: None };
    let months = |zone: &str| -> Vec<(String, u64)> {
        let zone = TimeZone::get(zone).unwrap();
        let overview = store.overview(&all, &zone).unwrap();
        assert_eq!(overview.payments, 2);
        overview.months.iter().map(|m| (m.month.clone(), m.payments)).collect()
    };
    assert_eq!(months("UTC"), [("2026-11".to_string(), 1), ("2026-12".to_string(), 1)]);
    assert_eq!(months("Asia/Tokyo"), [("2026-12".to_string(), 2)]);
    assert_eq!(months("America/New_York"), [("2026-11".to_string(), 2)]);
}
