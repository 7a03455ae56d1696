//! The published test vectors (`tests/vectors/`, described in its
//! README.md): computed values, the currency table, mails with what they
//! parse to, and the bank's matching rule as scenarios. This test checks
//! that the implementation reproduces every one of them, and checks a few
//! against independent computations so that the code is not only compared
//! with itself.
//!
//! `MAILPAY_WRITE_VECTORS=1 cargo test --test vectors` writes what the code
//! computes into the files instead of comparing (and writes the mails under
//! `tests/vectors/mails/`); review the diff before committing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "vectors/generate.rs"]
mod generate;
#[path = "vectors/json.rs"]
mod json;
#[path = "vectors/mails.rs"]
mod mails;
#[path = "vectors/values.rs"]
mod values;

use std::path::{Path, PathBuf};

use json::J;
use serde_json::Value;

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn writing() -> bool {
    std::env::var("MAILPAY_WRITE_VECTORS").is_ok_and(|v| v == "1")
}

/// Reads a vector file; in write mode a missing file reads as `{}`.
pub fn load(name: &str) -> Value {
    match std::fs::read_to_string(dir().join(name)) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}")),
        Err(_) if writing() => Value::Object(serde_json::Map::new()),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Compares the stored file with what the code computes, entry by entry,
/// or writes the computed file in write mode.
pub fn settle(name: &str, stored: &Value, computed: &J) {
    if writing() {
        std::fs::write(dir().join(name), computed.pretty()).unwrap();
        return;
    }
    let computed = computed.value();
    let mut failures = Vec::new();
    diff(name, stored, &computed, &mut failures);
    assert!(failures.is_empty(), "{} vector(s) differ:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Collects the places where `stored` and `computed` differ, down to the
/// array entry (so a failure names the vector) or object key.
fn diff(path: &str, stored: &Value, computed: &Value, out: &mut Vec<String>) {
    match (stored, computed) {
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() && a.keys().eq(b.keys()) => {
            for (key, x) in a {
                diff(&format!("{path}.{key}"), x, &b[key], out);
            }
        }
        _ if stored == computed => {}
        _ => out.push(format!("{path}\n  in the file:   {stored}\n  the code says: {computed}")),
    }
}

/// Write mode writes every file once, in order: values first, then the
/// mails, which the mail and matching vectors read.
fn write_all() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        values::check();
        currencies();
        generate::write_mails();
        mails::check_mails();
        mails::check_matching();
    });
}

/// Runs `check` against the stored files, or (write mode) writes them all.
fn run(check: fn()) {
    if writing() { write_all() } else { check() }
}

#[test]
fn values_json_reproduces() {
    run(values::check);
}

#[test]
fn currencies_json_is_the_currency_table() {
    run(currencies);
}

#[test]
fn mails_json_gives_what_each_mail_parses_to() {
    run(mails::check_mails);
}

#[test]
fn matching_json_gives_the_banks_decisions() {
    run(mails::check_matching);
}

#[test]
fn every_vector_mail_is_used() {
    run(mails::no_orphan_mails);
}

/// `currencies.json`: every code `Currency::all()` accepts, with its
/// decimals, sorted by code; and nothing else.
fn currencies() {
    use mailpay::protocol::money::Currency;
    let mut all: Vec<Currency> = Currency::all().collect();
    all.sort_by_key(|c| c.code());
    let computed =
        J::arr(all.iter().map(|c| J::obj([("code", J::s(c.code())), ("decimals", J::v(c.exponent()))])));
    let stored = load("currencies.json");
    settle("currencies.json", &stored, &J::obj([("currencies", computed)]));
    for entry in stored["currencies"].as_array().into_iter().flatten() {
        let code = entry["code"].as_str().unwrap();
        let currency: Currency = code.parse().unwrap_or_else(|e| panic!("currencies.json: {code}: {e}"));
        assert_eq!(entry["decimals"], currency.exponent(), "currencies.json: {code}");
    }
    // PROTOCOL.md 2 lists the same codes, by number of decimals.
    let protocol =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("PROTOCOL.md")).unwrap();
    let table = protocol.split_once("| Decimals | Codes |").expect("PROTOCOL.md 2 lists the currencies").1;
    let mut listed: Vec<(String, u8)> = table
        .lines()
        .skip(2)
        .map_while(|l| l.strip_prefix("| "))
        .flat_map(|row| {
            let (decimals, codes) = row.trim_end_matches(" |").split_once(" | ").unwrap();
            let decimals: u8 = decimals.parse().unwrap();
            codes.split(' ').map(move |c| (c.to_string(), decimals)).collect::<Vec<_>>()
        })
        .collect();
    listed.sort();
    let code: Vec<(String, u8)> = all.iter().map(|c| (c.code().to_string(), c.exponent())).collect();
    assert_eq!(listed, code, "PROTOCOL.md's currency table differs from the code's");
    // Spot checks against ISO 4217 itself.
    for (code, decimals) in
        [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4), ("KRW", 0)]
    {
        assert_eq!(code.parse::<Currency>().map(Currency::exponent), Ok(decimals), "{code}");
    }
}
