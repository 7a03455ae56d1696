//! Answers to the bank's confirmation written by hand in a mail client
//! (PROTOCOL.md 9), on the confirmation exactly as `compose::confirm`
//! writes it: what its text tells the person, and that the answer is read
//! wherever the person's own text stands, above, below or between the
//! quoted parts, in plain text (format=flowed) or HTML. The mail corpus
//! (`tests/corpus.rs`) holds the same shapes as stored mails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::confirmation::{ConfirmationCode, Proof};
use mailpay::protocol::hand_answer::Unclear;
use mailpay::protocol::message::{Approve, Confirm, Decline};
use mailpay::protocol::parse::{self, ParseError};
use mailpay::protocol::{Body, EmailAddress, OrderId, PasswordA, Timestamp};

const PASSWORD: &str = "R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6";
const CODE: &str = "4F7K-Q2MX";

fn address(text: &str) -> EmailAddress {
    text.parse().unwrap()
}

fn order() -> OrderId {
    "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap()
}

fn confirmation() -> Confirm {
    let password = PasswordA::parse(PASSWORD).unwrap();
    Confirm {
        order: order(),
        orderer: address("hanako@home.test"),
        merchant: address("shop@shop.test"),
        amount: "8800 JPY".parse().unwrap(),
        items: [
            "1 x 緑茶 100g @ 1200 JPY",
            "2 x Sencha tin @ 400 JPY",
            "1 x Handmade cast-iron kyusu teapot with bamboo handle and stainless steel strainer @ 6800 JPY",
        ]
        .iter()
        .map(|i| i.parse().unwrap())
        .collect(),
        code: CODE.parse().unwrap(),
        expires: "2026-11-26T09:09:18Z".parse().unwrap(),
        attempts_left: 5,
        proof: Some(Proof::compute(&password, &order())),
    }
}

const CONFIRM_ID: &str = "confirm.7KQ3M9ZXP2VDH4TR.Q1YD8FPA@bank.test";

/// The text of the bank's confirmation mail, as its reader sees it.
fn confirmation_text() -> String {
    let draft = compose::confirm(&confirmation(), &address("bank@bank.test"), &Thread::default());
    let mail = draft.build_with_id(Timestamp::from_unix(1_795_597_758), CONFIRM_ID.into());
    let parsed = mail_parser::MessageParser::default().parse(&mail.bytes).unwrap();
    parsed.body_text(0).unwrap().replace("\r\n", "\n")
}

/// The text quoted as Thunderbird quotes it in a format=flowed reply: `> `
/// before each line, `>` alone on empty ones, lines over 72 columns
/// wrapped at a space with a soft break (a trailing space).
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push(">".to_string());
            continue;
        }
        let mut rest = line.to_string();
        while rest.chars().count() + 2 > 72 {
            let Some(at) =
                rest.char_indices().take_while(|(i, _)| *i + 2 < 71).filter(|(_, c)| *c == ' ').last()
            else {
                break;
            };
            out.push(format!("> {}", &rest[..=at.0]));
            rest = rest[at.0 + 1..].to_string();
        }
        out.push(format!("> {rest}"));
    }
    out
}

/// A Thunderbird reply from the orderer to the bank with this body.
fn reply(body: &[String]) -> Vec<u8> {
    let mut mail = format!(
        "Message-ID: <5d0a7c3e-91b2-4f6e-8a1d-2c4b6e8f0a13@home.test>\r\n\
         Date: Wed, 25 Nov 2026 18:12:40 +0900\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n\
         Subject: Re: Confirm payment\r\nTo: bank@bank.test\r\nReferences: <{CONFIRM_ID}>\r\n\
         From: Hanako Yamada <hanako@home.test>\r\nIn-Reply-To: <{CONFIRM_ID}>\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    for line in body {
        mail.push_str(line);
        mail.push_str("\r\n");
    }
    mail.into_bytes()
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| l.to_string()).collect()
}

const ATTRIBUTION: &str = "On 11/25/26 6:09 PM, bank@bank.test wrote:";

fn answer_lines() -> Vec<String> {
    lines(&["OK", &format!("Password-A: {PASSWORD}"), &format!("Code: {CODE}")])
}

fn approval() -> Body {
    Body::Approve(Approve {
        order: order(),
        password: PasswordA::parse(PASSWORD).unwrap(),
        code: CODE.parse::<ConfirmationCode>().unwrap(),
    })
}

#[test]
fn the_confirmation_says_what_to_write_and_that_it_may_stand_above_or_below() {
    let text = confirmation_text();
    for says in [
        "\n  OK\n  Password-A: <your password A for this order>\n  Code: 4F7K-Q2MX\n",
        "the word NO on a line of its\nown.",
        "may stand above or below the quoted text",
        "Do not write both OK\nand NO",
    ] {
        assert!(text.contains(says), "the confirmation does not say {says:?}:\n{text}");
    }
    // What the bank writes (not the merchant's items) stays short enough
    // for a client that quotes it twice (`> > `) and re-wraps at 72
    // columns to leave no word of it outside the quotation.
    let instructions = text.split("To pay,").nth(1).and_then(|t| t.split("-----BEGIN").next()).unwrap();
    for line in instructions.lines() {
        assert!(line.chars().count() <= 62, "{line:?} is {} characters", line.chars().count());
    }
}

#[test]
fn the_confirmation_itself_is_no_answer() {
    let draft = compose::confirm(&confirmation(), &address("bank@bank.test"), &Thread::default());
    let mail = draft.build_with_id(Timestamp::from_unix(1_795_597_758), CONFIRM_ID.into());
    assert_eq!(parse::parse(&mail.bytes).unwrap().body, Body::Confirm(confirmation()));
}

#[test]
fn an_answer_is_read_above_below_or_between_the_quoted_parts() {
    let quote = quoted(&confirmation_text());
    let mut above = answer_lines();
    above.extend(lines(&["", ATTRIBUTION]));
    above.extend(quote.clone());

    let mut below = lines(&[ATTRIBUTION]);
    below.extend(quote.clone());
    below.push(String::new());
    below.extend(answer_lines());
    below.extend(lines(&["", "-- ", "Hanako Yamada"]));

    let split = quote.iter().position(|l| l.starts_with("> To refuse")).unwrap();
    let mut between = lines(&[ATTRIBUTION]);
    between.extend(quote[..split].iter().cloned());
    between.push(String::new());
    between.extend(answer_lines());
    between.push(String::new());
    between.extend(quote[split..].iter().cloned());

    for (place, body) in [("above", above), ("below", below), ("between", between)] {
        let mail = parse::parse(&reply(&body)).unwrap_or_else(|e| panic!("{place}: {e}"));
        assert_eq!(mail.body, approval(), "{place}");
    }
}

#[test]
fn a_decline_below_the_quotation_is_read() {
    let mut body = lines(&[ATTRIBUTION]);
    body.extend(quoted(&confirmation_text()));
    body.extend(lines(&["", "No.", "I did not order the teapot."]));
    let mail = parse::parse(&reply(&body)).unwrap();
    assert_eq!(mail.body, Body::Decline(Decline { order: order(), detail: None }));
}

#[test]
fn an_unclear_answer_anywhere_is_refused_with_what_to_write() {
    let quote = quoted(&confirmation_text());
    let with = |above: &[&str], below: &[&str]| {
        let mut body = lines(above);
        body.push(ATTRIBUTION.to_string());
        body.extend(quote.clone());
        body.extend(lines(below));
        parse::parse(&reply(&body)).map(|m| m.body.kind())
    };
    let password = format!("Password-A: {PASSWORD}");
    let code = format!("Code: {CODE}");
    let cases: [(&[&str], &[&str], ParseError); 5] = [
        (&["OK", &password, &code], &["", "NO"], ParseError::UnclearAnswer(Unclear::BothOkAndNo)),
        (&[], &["", &password, &code], ParseError::UnclearAnswer(Unclear::NoAnswerWord)),
        (&[], &["", "OK"], ParseError::BareAnswer { answer: "OK", missing: "has no Password-A: line" }),
        (&[], &["", "OK", &password], ParseError::BareAnswer { answer: "OK", missing: "has no Code: line" }),
        (
            &["OK", &password, &code],
            &["", "Code: 4F7K-Q2MW"],
            ParseError::UnclearAnswer(Unclear::Twice("Code")),
        ),
    ];
    for (above, below, error) in cases {
        assert_eq!(with(above, below), Err(error.clone()), "{above:?} / {below:?}");
        let text = error.to_string();
        assert!(!text.contains("R4NX") && !text.contains("8QJV"), "{text}");
    }
    // Own text that does not try to answer leaves the mail what it was.
    assert_eq!(with(&[], &["", "Thanks, I will look at it tonight."]), Ok(mailpay::protocol::Kind::Confirm));
}

#[test]
fn an_html_reply_with_the_answer_after_the_blockquote_is_read() {
    let text = confirmation_text().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let html = format!(
        "<html><body><div class=\"moz-cite-prefix\">{ATTRIBUTION}<br></div>\
         <blockquote type=\"cite\"><pre class=\"moz-quote-pre\" wrap=\"\">{text}</pre>\
         <hr>Sent from another client</blockquote>\
         <p>OK<br>Password-A: {PASSWORD}<br>Code: {CODE}</p></body></html>"
    );
    let mail = String::from_utf8(reply(&[html]))
        .unwrap()
        .replace("text/plain; charset=UTF-8; format=flowed", "text/html; charset=UTF-8");
    assert_eq!(parse::parse(mail.as_bytes()).unwrap().body, approval());
}
