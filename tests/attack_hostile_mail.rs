//! Attack: one ordinary mail, from anyone, that costs the parser much
//! memory or time (tests/support/hostile.rs). Each must be refused with its
//! own reason. `mailpay inspect` reads each under a hard limit on its
//! address space (`ulimit -v`), so a parser that builds what the mail
//! expands to dies instead of passing; the times are measured in
//! `cargo bench --bench hostile`, not here.
//!
//! Before the limits: the blockquote bomb built an 800 MB string, 100,000
//! parts took 24 s, 4 MiB of `&` ran for minutes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::hostile;

use std::process::Command;

use mailpay::protocol::block::BlockError;
use mailpay::protocol::parse::{
    self, MAX_DEPTH, MAX_HEADERS, MAX_MAIL_BYTES, MAX_PARTS, MAX_QUOTE_DEPTH, ParseError,
};

const FROM: &str = "mallory@attacker.test";
const TO: &str = "bank@bank.test";

/// The address space `mailpay inspect` may take: its own code and
/// libraries, a 4 MiB mail, and what reading it may cost.
const ADDRESS_SPACE_KB: usize = 512 * 1024;

#[test]
fn hostile_mails_are_refused_with_their_reason_in_bounded_memory() {
    let cases: Vec<(&str, Vec<u8>, ParseError)> = vec![
        // The inputs the attacks used.
        ("bomb 340 KB", hostile::blockquote_bomb(FROM, TO, 20_000, 20_000), ParseError::QuotesTooDeep),
        ("bomb 780 KB", hostile::blockquote_bomb(FROM, TO, 40_000, 50_000), ParseError::QuotesTooDeep),
        ("100,000 parts", hostile::many_parts(FROM, TO, 100_000), ParseError::TooManyParts),
        // Just past each limit.
        ("quotes", hostile::blockquote_bomb(FROM, TO, MAX_QUOTE_DEPTH + 1, 2), ParseError::QuotesTooDeep),
        ("parts", hostile::many_parts(FROM, TO, MAX_PARTS), ParseError::TooManyParts),
        ("depth", hostile::nested_multiparts(FROM, TO, MAX_DEPTH), ParseError::TooDeep),
        ("headers", hostile::many_headers(FROM, TO, MAX_HEADERS), ParseError::TooManyHeaders),
    ];
    let expected = |name: &str, mail: &[u8]| match name {
        "blockquote-bomb" => ParseError::QuotesTooDeep,
        "many-parts" => ParseError::TooManyParts,
        // Read into text, one character each and a space for each line
        // break between them, then too long to scan.
        "ampersands" => {
            let text = String::from_utf8_lossy(mail);
            let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body).trim_end();
            ParseError::Block(BlockError::TooLarge(body.matches('&').count() + body.matches('\n').count()))
        }
        // Each `<hr>` a 33-byte rule: past the budget while being written.
        "rules" => ParseError::TooMuchText,
        "nested-multiparts" => ParseError::TooDeep,
        "many-headers" => ParseError::TooManyHeaders,
        other => panic!("no expectation for {other}"),
    };
    // The largest mail MailPay reads, filled with each kind.
    let worst: Vec<_> = hostile::all(FROM, TO, MAX_MAIL_BYTES)
        .into_iter()
        .map(|(name, mail)| {
            let error = expected(name, &mail);
            (name, mail, error)
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("mailpay-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, mail, error) in cases.into_iter().chain(worst) {
        assert!(mail.len() <= MAX_MAIL_BYTES, "{name}: {} bytes", mail.len());
        assert_eq!(parse::parse(&mail).map(|_| ()), Err(error.clone()), "{name}");
        let file = dir.join("hostile.eml");
        std::fs::write(&file, &mail).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {ADDRESS_SPACE_KB}; exec \"$0\" inspect \"$1\" --json"))
            .arg(env!("CARGO_BIN_EXE_mailpay"))
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(report["error"], error.to_string(), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mails_within_the_limits_are_still_read() {
    // At each limit, not past it: read, and not MailPay (no block).
    let within = [
        hostile::blockquote_bomb(FROM, TO, MAX_QUOTE_DEPTH, 2),
        hostile::many_parts(FROM, TO, MAX_PARTS - 1),
        hostile::nested_multiparts(FROM, TO, MAX_DEPTH - 2),
        hostile::many_headers(FROM, TO, MAX_HEADERS - 20),
    ];
    for mail in within {
        assert_eq!(parse::parse(&mail).map(|_| ()), Err(ParseError::NotMailPay));
    }
}
