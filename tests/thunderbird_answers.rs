//! Answers and forwards written in a real Thunderbird (Debian's, headless,
//! in English and in Japanese), read by MailPay's parser.
//!
//! A person without the wallet answers the bank's confirmation by hand
//! (PROTOCOL.md 9), and a merchant without the agent bills by forwarding
//! the order. Here Thunderbird itself writes those mails: the test-only
//! display probe opens the reply or the forward in Thunderbird's plain-text
//! or HTML editor, with Thunderbird's own quotation, types the person's
//! lines above or below it, and Thunderbird sends the mail as plain text,
//! HTML only, or both. Each mail that arrives is parsed and must read as
//! exactly what the person meant, or be refused for the reason a person
//! can act on.
//!
//! The mails are kept in target/thunderbird-answers/<language>/ for a look.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::message::{Approve, Bill, Body, Confirm, Decline, OrderTerms};
use mailpay::protocol::parse::{self, ParseError};
use mailpay::protocol::{Method, OrderId, PasswordA, Timestamp};
use serde_json::json;
use support::mailstack::{self, MailStack};
use support::probe::{Probe, Recording};
use support::protocol;
use support::thunderbird::{Options, Thunderbird};
use support::wire;

const BANK: &str = "bank@bank.test";
const MERCHANT: &str = "shop@shop.test";
const WAIT: Duration = Duration::from_secs(90);

/// What the person means by a mail.
#[derive(Clone, Copy, Debug)]
enum Meant {
    Approve,
    Decline,
    Bill,
    /// `OK` without the password: refused as a bare answer.
    BareOk,
}

/// One mail a person writes in Thunderbird.
struct Variant {
    label: &'static str,
    /// `reply`, `forwardInline` or `forwardAsAttachment`.
    how: &'static str,
    /// Thunderbird's plain-text editor (else its HTML editor).
    plain_text: bool,
    /// `auto`, `plaintext`, `html` (HTML only) or `both`.
    format: &'static str,
    /// Above or below Thunderbird's quotation or forwarded message.
    above: bool,
    meant: Meant,
}

const fn variant(
    label: &'static str,
    how: &'static str,
    plain_text: bool,
    format: &'static str,
    above: bool,
    meant: Meant,
) -> Variant {
    Variant { label, how, plain_text, format, above, meant }
}

const VARIANTS: &[Variant] = &[
    // Replies to the confirmation, approving.
    variant("reply-plain-below", "reply", true, "plaintext", false, Meant::Approve),
    variant("reply-plain-above", "reply", true, "plaintext", true, Meant::Approve),
    variant("reply-html-both-below", "reply", false, "both", false, Meant::Approve),
    variant("reply-html-both-above", "reply", false, "both", true, Meant::Approve),
    variant("reply-html-only-below", "reply", false, "html", false, Meant::Approve),
    variant("reply-html-only-above", "reply", false, "html", true, Meant::Approve),
    variant("reply-html-as-plain-below", "reply", false, "plaintext", false, Meant::Approve),
    variant("reply-html-auto-below", "reply", false, "auto", false, Meant::Approve),
    // Declining.
    variant("reply-plain-no-below", "reply", true, "plaintext", false, Meant::Decline),
    variant("reply-html-both-no-above", "reply", false, "both", true, Meant::Decline),
    // The confirmation forwarded to the bank instead of answered.
    variant("forward-inline-plain", "forwardInline", true, "plaintext", true, Meant::Approve),
    variant("forward-inline-html-both", "forwardInline", false, "both", true, Meant::Approve),
    variant("forward-attached-plain", "forwardAsAttachment", true, "plaintext", true, Meant::Approve),
    variant("forward-attached-html-only", "forwardAsAttachment", false, "html", true, Meant::Approve),
    // A merchant's bill: the order forwarded to the bank with a BILL block.
    variant("bill-forward-inline-plain", "forwardInline", true, "plaintext", true, Meant::Bill),
    variant("bill-forward-inline-html-both", "forwardInline", false, "both", true, Meant::Bill),
    variant("bill-forward-attached-plain", "forwardAsAttachment", true, "plaintext", true, Meant::Bill),
    // Unclear: OK without the password, below the quotation.
    variant("reply-plain-bare-ok-below", "reply", true, "plaintext", false, Meant::BareOk),
];

/// The order this Thunderbird's user placed with the merchant and bank
/// of the mail stack (a fresh id and password A each time).
fn terms(orderer: &str) -> OrderTerms {
    let created = mailpay::clock::now();
    OrderTerms {
        order: OrderId::generate(&mut rand::rng()),
        orderer: orderer.parse().unwrap(),
        merchant: MERCHANT.parse().unwrap(),
        bank: BANK.parse().unwrap(),
        amount: "8800 JPY".parse().unwrap(),
        items: [
            "1 x 緑茶 100g @ 1200 JPY",
            "2 x Sencha tin @ 400 JPY",
            "1 x Cast-iron kyusu teapot @ 6800 JPY",
        ]
        .iter()
        .map(|i| i.parse().unwrap())
        .collect(),
        password: PasswordA::generate(&mut rand::rng()),
        created,
        expires: created.plus_seconds(7 * 24 * 3600),
        ..protocol::terms(Method::Confirm)
    }
}

fn bill(terms: &OrderTerms, billed: Timestamp) -> Bill {
    Bill {
        order: terms.order.clone(),
        merchant: terms.merchant.clone(),
        orderer: terms.orderer.clone(),
        items: terms.items.clone(),
        total: terms.amount,
        billed,
        quoted_order: terms.clone(),
    }
}

/// What the person types for `meant`, in `language`.
fn typed(meant: Meant, terms: &OrderTerms, confirm: &Confirm, billed: Timestamp, japanese: bool) -> String {
    let thanks = if japanese { "よろしくお願いします。" } else { "Thanks!" };
    let password = terms.password.display();
    let code = confirm.code.to_string();
    match meant {
        Meant::Approve => format!("OK\nPassword-A: {password}\nCode: {code}\n\n{thanks}"),
        Meant::Decline => format!("NO\n\n{thanks}"),
        Meant::BareOk => format!("OK\n\n{thanks}"),
        Meant::Bill => {
            let items: String = terms.items.iter().map(|item| format!("Item: {item}\n")).collect();
            format!(
                "-----BEGIN MAILPAY BILL-----\nVersion: 1\nOrder: {}\nMerchant: {}\nOrderer: {}\n{items}Total: {}\nBilled: {billed}\n-----END MAILPAY BILL-----",
                terms.order, terms.merchant, terms.orderer, terms.amount
            )
        }
    }
}

/// Whether `mail` reads as `meant`; what was wrong otherwise.
fn check(
    mail: &[u8],
    meant: Meant,
    terms: &OrderTerms,
    confirm: &Confirm,
    billed: Timestamp,
) -> Result<(), String> {
    let parsed = parse::parse(mail);
    match meant {
        Meant::BareOk => match parsed {
            Err(ParseError::BareAnswer { answer: "OK", missing }) if missing.contains("Password-A") => Ok(()),
            other => {
                Err(format!("read as {:?}, not refused as OK without a password", other.map(|m| m.body)))
            }
        },
        _ => {
            let wanted = match meant {
                Meant::Approve => Body::Approve(Approve {
                    order: terms.order.clone(),
                    password: terms.password.clone(),
                    code: confirm.code.clone(),
                }),
                Meant::Decline => Body::Decline(Decline { order: terms.order.clone(), detail: None }),
                _ => Body::Bill(bill(terms, billed)),
            };
            match parsed {
                Ok(mail) if mail.body == wanted => Ok(()),
                Ok(mail) => Err(format!("read as {:?}", mail.body)),
                Err(e) => Err(format!("refused: {e}")),
            }
        }
    }
}

fn folder(language: &str) -> PathBuf {
    support::thunderbird::repo().join("target/thunderbird-answers").join(language)
}

/// Thunderbird in `language` for `orderer`: receives the bank's
/// confirmation and the order, and every variant is written and sent;
/// each mail the bank gets is parsed. Panics listing every mail read wrong.
fn write_and_read(stack: &MailStack, orderer: &str, language: &str) {
    let recording = Recording::new(&format!("answers-{language}"));
    let mut options = Options {
        prefs: vec![
            ("intl.locale.requested".into(), format!("\"{language}\"")),
            // The reminder's words and buttons are translated; a person who
            // typed no attachment word would not see it.
            ("mail.compose.attachment_reminder".into(), "false".into()),
        ],
        ..Options::default()
    };
    Probe::install(&mut options, &recording);
    let tb = Thunderbird::start(stack, orderer, options);
    let probe = Probe::attach(&tb, &recording);
    // Thunderbird speaks the language (Debian's language pack for ja).
    let ui = probe.ask(json!({ "type": "language" }))["ui"].as_str().unwrap_or_default().to_string();
    assert_eq!(ui, language, "Thunderbird's language");

    let terms = terms(orderer);
    let confirm = protocol::confirm_for(&terms);
    let billed = terms.created.plus_seconds(300);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = mailpay::clock::now();
    let confirm_mail =
        compose::confirm(&confirm, &BANK.parse().unwrap(), &Thread::default()).build(now, &mut rand::rng());
    wire::submit(&runtime, stack, BANK, BANK, orderer, confirm_mail.bytes.clone()).unwrap();
    // The order, as the merchant received it (here in the same inbox).
    let [order_mail, _request] = compose::order(&terms);
    let order_mail = order_mail.build(now, &mut rand::rng());
    wire::submit(&runtime, stack, orderer, orderer, orderer, order_mail.bytes.clone()).unwrap();
    for id in [&confirm_mail.message_id, &order_mail.message_id] {
        assert!(stack.wait_for_message(orderer, id, WAIT).is_some(), "{id} not delivered");
    }

    let out = folder(language);
    std::fs::create_dir_all(&out).unwrap();
    let tag = format!("{:08x}", rand::random::<u32>());
    let mut wrong = Vec::new();
    for v in VARIANTS {
        let original = match v.meant {
            Meant::Bill => &order_mail.message_id,
            _ => &confirm_mail.message_id,
        };
        let label = format!("{}-{tag}", v.label);
        let japanese = language == "ja";
        probe.ask_within(
            json!({
                "type": "answer",
                "headerMessageId": original,
                "how": v.how,
                "to": BANK,
                "plainText": v.plain_text,
                "deliveryFormat": v.format,
                "text": typed(v.meant, &terms, &confirm, billed, japanese),
                "where": if v.above { "above" } else { "below" },
                "label": label,
            }),
            WAIT,
        );
        let Some(file) = stack.wait_for_message(BANK, &label, WAIT) else {
            wrong.push(format!("{}: never reached the bank", v.label));
            continue;
        };
        let mail = std::fs::read(&file).unwrap();
        std::fs::write(out.join(format!("{}.eml", v.label)), &mail).unwrap();
        if let Err(why) = check(&mail, v.meant, &terms, &confirm, billed) {
            wrong.push(format!("{} ({language}): {why}", v.label));
        }
    }
    assert!(
        wrong.is_empty(),
        "Thunderbird's mails read wrong (kept in {}):\n{}\nconsole:\n{}",
        out.display(),
        wrong.join("\n"),
        tb.console_messages().join("\n")
    );
    eprintln!("{} mails written by Thunderbird in {language} read as meant", VARIANTS.len());
}

#[test]
fn answers_and_forwards_written_in_an_english_thunderbird_read_as_meant() {
    write_and_read(mailstack::shared(), "orderer@buyer.test", "en-US");
}

#[test]
fn answers_and_forwards_written_in_a_japanese_thunderbird_read_as_meant() {
    write_and_read(mailstack::shared(), "orderer2@buyer.test", "ja");
}
