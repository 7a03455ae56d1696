//! The mail corpus (`tests/fixtures/corpus`, listed in its README.md): MailPay
//! mails as real mail clients shape them, and mails that must be refused.
//! Every fixture is parsed with `parse::parse` and its exact outcome checked;
//! a fixture nobody checks fails `every_fixture_is_in_a_table`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use mailpay::protocol::address::AddressError;
use mailpay::protocol::block::{BlockError, Origin};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::hand_answer::Unclear;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{
    Approve, Bill, Confirm, Decline, FieldError, Rejected, Settled, WalletMail,
};
use mailpay::protocol::parse::{self, MAX_MAIL_BYTES, ParseError};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{Body, EmailAddress, Kind, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp};

const ORDER: &str = "7KQ3-M9ZX-P2VD-H4TR";
const PASSWORD: &str = "R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6";
const CODE: &str = "4F7K-Q2MX";
const ORDERER: &str = "hanako@home.test";
const MERCHANT: &str = "shop@shop.test";
const BANK: &str = "bank@bank.test";
const ITEMS: &[&str] = &[
    "1 x 緑茶 100g @ 1200 JPY",
    "2 x Sencha tin @ 400 JPY",
    "1 x Handmade cast-iron kyusu teapot with bamboo handle and stainless steel strainer @ 6800 JPY",
];

const JA_ORDER: &str = "9HPB-2W4R-X6TM-C3QJ";
const JA_PASSWORD: &str = "M3TD-Q8XF-4KHZ-R9WB-N2CJ-6PVG-A7";
const JA_ITEMS: &[&str] =
    &["2 x 宇治抹茶 薄茶用 30g 缶入り @ 1500 JPY", "1 x 有田焼 白磁の急須 350ml 茶こし付き @ 5800 JPY"];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn address(text: &str) -> EmailAddress {
    text.parse().unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn money(text: &str) -> Money {
    text.parse().unwrap()
}

fn order_id(text: &str) -> OrderId {
    text.parse().unwrap()
}

fn items(lines: &[&str]) -> Vec<LineItem> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

fn code() -> ConfirmationCode {
    CODE.parse().unwrap()
}

fn terms() -> OrderTerms {
    OrderTerms {
        order: order_id(ORDER),
        orderer: address(ORDERER),
        merchant: address(MERCHANT),
        bank: address(BANK),
        amount: money("8800 JPY"),
        items: items(ITEMS),
        password: PasswordA::parse(PASSWORD).unwrap(),
        created: at("2026-11-25T09:00:00Z"),
        expires: at("2026-12-02T09:00:00Z"),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
}

fn japanese_order() -> Body {
    Body::Order(OrderTerms {
        order: order_id(JA_ORDER),
        items: items(JA_ITEMS),
        password: PasswordA::parse(JA_PASSWORD).unwrap(),
        created: at("2026-11-26T01:30:00Z"),
        expires: at("2026-12-03T01:30:00Z"),
        ..terms()
    })
}

fn order() -> Body {
    Body::Order(terms())
}

fn payment_request() -> Body {
    Body::PaymentRequest(terms())
}

fn bill_billed_at(billed: &str) -> Body {
    Body::Bill(Bill {
        order: order_id(ORDER),
        merchant: address(MERCHANT),
        orderer: address(ORDERER),
        items: items(ITEMS),
        total: money("8800 JPY"),
        billed: at(billed),
        quoted_order: terms(),
    })
}

fn bill() -> Body {
    bill_billed_at("2026-11-25T09:05:00Z")
}

/// The merchant's hand-written bill says `Billed: 2026-11-25T18:07:00+09:00`.
fn hand_bill() -> Body {
    bill_billed_at("2026-11-25T09:07:00Z")
}

fn confirm() -> Body {
    Body::Confirm(Confirm {
        order: order_id(ORDER),
        orderer: address(ORDERER),
        merchant: address(MERCHANT),
        amount: money("8800 JPY"),
        items: items(ITEMS),
        code: code(),
        expires: at("2026-11-26T09:09:18Z"),
        attempts_left: 5,
        proof: None,
    })
}

fn approve() -> Body {
    Body::Approve(Approve {
        order: order_id(ORDER),
        password: PasswordA::parse(PASSWORD).unwrap(),
        code: code(),
    })
}

fn decline() -> Body {
    Body::Decline(Decline { order: order_id(ORDER), detail: Some("I did not order the teapot.".into()) })
}

fn hand_decline() -> Body {
    Body::Decline(Decline { order: order_id(ORDER), detail: None })
}

/// The wallet's decline whose Detail Thunderbird wrapped at 72 columns so
/// that `Reason:` starts a line.
fn decline_wrapped_detail() -> Body {
    Body::Decline(Decline {
        order: order_id(ORDER),
        detail: Some(
            "The confirmation adds a cast-iron teapot I have not ordered. Reason: my order was for tea only."
                .into(),
        ),
    })
}

/// The wallet's decline with a Japanese Detail that Thunderbird broke
/// between two characters (ISO-2022-JP, delsp=yes).
fn decline_japanese_detail() -> Body {
    Body::Decline(Decline {
        order: order_id(ORDER),
        detail: Some(
            "注文していない急須が請求に含まれています。お茶だけの注文でしたので、この支払いはお断りします。"
                .into(),
        ),
    })
}

fn settled() -> Body {
    Body::Settled(Settled {
        order: order_id(ORDER),
        orderer: address(ORDERER),
        merchant: address(MERCHANT),
        amount: money("8800 JPY"),
        settled: at("2026-11-25T09:12:55Z"),
        reference: "TX-20261125-000417".into(),
    })
}

fn rejected() -> Body {
    Body::Rejected(Rejected {
        order: order_id(ORDER),
        reason: RejectReason::InsufficientFunds,
        detail: "The balance of hanako@home.test is below 8800 JPY.".into(),
    })
}

/// The wallet mail's cheque, decoded from the fixture's base64 part
/// without mail-parser.
fn wallet() -> Body {
    let raw = String::from_utf8(read("accept/composed-wallet.eml")).unwrap();
    let part = raw.split("Content-Transfer-Encoding: base64\r\n\r\n").nth(1).unwrap();
    let encoded: String = part.split("\r\n\r\n").next().unwrap().split_whitespace().collect();
    let cheque = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    assert!(cheque.starts_with(b"age-encryption.org/v1\n-> X25519 "), "the cheque is not an age file");
    Body::Wallet(WalletMail { order: order_id(ORDER), orderer: address(ORDERER), cheque })
}

const OWN: Origin = Origin::Own;
const QUOTED: Origin = Origin::Quoted { depth: 1 };
const QUOTED_TWICE: Origin = Origin::Quoted { depth: 2 };
const FORWARDED: Origin = Origin::Forwarded;
const ATTACHED: Origin = Origin::Attached;

/// A mail that must parse to exactly `body`, sent by `from`, with these
/// blocks found where they stood.
struct Accept {
    file: &'static str,
    from: &'static str,
    body: fn() -> Body,
    blocks: &'static [(&'static str, Origin)],
}

const ACCEPT: &[Accept] = &[
    // As the library composes them.
    Accept { file: "accept/composed-order.eml", from: ORDERER, body: order, blocks: &[("ORDER", OWN)] },
    Accept {
        file: "accept/composed-payment-request.eml",
        from: ORDERER,
        body: payment_request,
        blocks: &[("PAYMENT-REQUEST", OWN)],
    },
    Accept {
        file: "accept/composed-bill.eml",
        from: MERCHANT,
        body: bill,
        blocks: &[("BILL", OWN), ("ORDER", OWN)],
    },
    Accept { file: "accept/composed-confirm.eml", from: BANK, body: confirm, blocks: &[("CONFIRM", OWN)] },
    Accept { file: "accept/composed-approve.eml", from: ORDERER, body: approve, blocks: &[("APPROVE", OWN)] },
    Accept { file: "accept/composed-decline.eml", from: ORDERER, body: decline, blocks: &[("DECLINE", OWN)] },
    Accept { file: "accept/composed-settled.eml", from: BANK, body: settled, blocks: &[("SETTLED", OWN)] },
    Accept { file: "accept/composed-rejected.eml", from: BANK, body: rejected, blocks: &[("REJECTED", OWN)] },
    Accept { file: "accept/composed-wallet.eml", from: ORDERER, body: wallet, blocks: &[("WALLET", OWN)] },
    Accept {
        file: "accept/composed-order-japanese-qp.eml",
        from: ORDERER,
        body: japanese_order,
        blocks: &[("ORDER", OWN)],
    },
    // Line endings.
    Accept {
        file: "accept/maildir-lf-payment-request.eml",
        from: ORDERER,
        body: payment_request,
        blocks: &[("PAYMENT-REQUEST", OWN)],
    },
    // Answers written by hand above a quotation.
    Accept {
        file: "accept/thunderbird-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/gmail-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/gmail-reply-no-by-hand-japanese-base64.eml",
        from: ORDERER,
        body: hand_decline,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/gmail-reply-nested-quote-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED_TWICE)],
    },
    Accept {
        file: "accept/outlook-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", FORWARDED)],
    },
    Accept {
        file: "accept/outlook-mobile-html-only-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", FORWARDED)],
    },
    Accept {
        file: "accept/thunderbird-html-only-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    // Forwards.
    Accept {
        file: "accept/apple-mail-forward-settled.eml",
        from: ORDERER,
        body: settled,
        blocks: &[("SETTLED", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-forward-bill.eml",
        from: MERCHANT,
        body: bill,
        blocks: &[("BILL", OWN), ("ORDER", FORWARDED)],
    },
    Accept {
        file: "accept/thunderbird-forward-as-attachment-bill.eml",
        from: MERCHANT,
        body: bill,
        blocks: &[("BILL", OWN), ("ORDER", ATTACHED)],
    },
    Accept {
        file: "accept/gmail-forward-hand-bill.eml",
        from: MERCHANT,
        body: hand_bill,
        blocks: &[("BILL", OWN), ("ORDER", FORWARDED)],
    },
    // Replies whose client re-wrapped the long quoted Item line at 72.
    Accept {
        file: "accept/claws-reply-bill-rewrapped-at-72.eml",
        from: MERCHANT,
        body: bill,
        blocks: &[("BILL", OWN), ("ORDER", QUOTED)],
    },
    Accept {
        file: "accept/outlook-express-reply-bill-ragged-wrap.eml",
        from: MERCHANT,
        body: bill,
        blocks: &[("BILL", OWN), ("ORDER", QUOTED)],
    },
    // Japanese Outlook still sends ISO-2022-JP.
    Accept {
        file: "accept/outlook-iso-2022-jp-reply-ok-by-hand.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", FORWARDED)],
    },
    // Answers written by hand in Thunderbird, which puts the cursor below
    // the quotation: wherever the own text stands.
    Accept {
        file: "accept/thunderbird-reply-ok-below-quote.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-reply-interleaved-ok.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-html-only-reply-ok-below-quote.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-alternative-reply-ok-below-quote.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-ja-reply-ok-below-quote-iso-2022-jp.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-ja-reply-no-below-quote-utf8-base64.eml",
        from: ORDERER,
        body: hand_decline,
        blocks: &[("CONFIRM", QUOTED)],
    },
    Accept {
        file: "accept/thunderbird-forward-inline-ok.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", FORWARDED)],
    },
    Accept {
        file: "accept/thunderbird-forward-as-attachment-ok.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("CONFIRM", ATTACHED)],
    },
    // The wallet's mails as Thunderbird sends them for its MailExtension:
    // X-Mailpay-* headers, Thunderbird's Message-ID, no Auto-Submitted,
    // format=flowed text re-wrapped at 72 columns.
    Accept {
        file: "accept/thunderbird-extension-approve-x-mailpay-headers.eml",
        from: ORDERER,
        body: approve,
        blocks: &[("APPROVE", OWN)],
    },
    Accept {
        file: "accept/thunderbird-extension-decline-flowed-wrapped-detail.eml",
        from: ORDERER,
        body: decline_wrapped_detail,
        blocks: &[("DECLINE", OWN)],
    },
    Accept {
        file: "accept/thunderbird-extension-decline-japanese-detail-delsp.eml",
        from: ORDERER,
        body: decline_japanese_detail,
        blocks: &[("DECLINE", OWN)],
    },
];

/// What is wrong with an accepted mail's outcome, if anything.
fn check_accept(case: &Accept) -> Result<(), String> {
    let mail = parse::parse(&read(case.file)).map_err(|e| format!("refused: {e} ({e:?})"))?;
    let expected = (case.body)();
    if mail.body.kind() != expected.kind() {
        return Err(format!("kind {} instead of {}", mail.body.kind(), expected.kind()));
    }
    if mail.body.order() != expected.order() {
        return Err(format!("order {} instead of {}", mail.body.order(), expected.order()));
    }
    if mail.body != expected {
        return Err(format!("body\n  {:?}\ninstead of\n  {expected:?}", mail.body));
    }
    if mail.from != address(case.from) {
        return Err(format!("from {} instead of {}", mail.from, case.from));
    }
    let blocks: Vec<(&str, Origin)> = mail.blocks.iter().map(|f| (f.block.as_str(), f.origin)).collect();
    if blocks != case.blocks {
        return Err(format!("blocks {blocks:?} instead of {:?}", case.blocks));
    }
    for found in &mail.blocks {
        if found.order.as_deref().map(str::parse::<OrderId>) != Some(Ok(expected.order().clone())) {
            return Err(format!("the {} block names order {:?}", found.block, found.order));
        }
    }
    no_password_in(&format!("{mail:?}")).map_err(|e| format!("Debug of the parsed mail: {e}"))
}

/// A password A of the corpus, or any group of one, in `text`.
fn no_password_in(text: &str) -> Result<(), String> {
    for password in [PASSWORD, JA_PASSWORD] {
        let canonical = password.replace('-', "");
        if text.contains(&canonical) {
            return Err(format!("shows password A: {text}"));
        }
        if let Some(group) = password.split('-').filter(|g| g.len() == 4).find(|g| text.contains(g)) {
            return Err(format!("shows part {group} of password A: {text}"));
        }
    }
    Ok(())
}

#[test]
fn accepted_mails_parse_to_exactly_what_they_say() {
    let failures: Vec<String> = ACCEPT
        .iter()
        .filter_map(|case| check_accept(case).err().map(|e| format!("{}: {e}", case.file)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} accepted mails:\n{}",
        failures.len(),
        ACCEPT.len(),
        failures.join("\n")
    );
}

/// A mail that must be refused with the error `is` accepts, whose message
/// contains every one of `says`.
struct Refuse {
    file: &'static str,
    is: fn(&ParseError) -> bool,
    says: &'static [&'static str],
}

fn field(e: &ParseError, block: &str, name: &str) -> Option<(String, String)> {
    match e {
        ParseError::Field(FieldError::Invalid { block: b, field, value, why })
            if b == block && *field == name =>
        {
            Some((value.clone(), why.clone()))
        }
        _ => None,
    }
}

const REFUSE: &[Refuse] = &[
    Refuse {
        file: "refuse/truncated-block.eml",
        is: |e| *e == ParseError::Block(BlockError::Truncated { name: "ORDER".into(), line: 14 }),
        says: &["no END line"],
    },
    Refuse {
        file: "refuse/two-order-blocks-disagree.eml",
        is: |e| *e == ParseError::Conflict("ORDER".into()),
        says: &["two MAILPAY ORDER blocks that disagree"],
    },
    Refuse {
        file: "refuse/forwarded-order-amount-altered.eml",
        is: |e| matches!(e, ParseError::Block(BlockError::CheckMismatch { name, .. }) if name == "ORDER"),
        says: &["ORDER block's Check line does not match", "it says 2W22-5266-6T5R, its contents give "],
    },
    Refuse {
        file: "refuse/order-without-amount.eml",
        is: |e| *e == ParseError::Field(FieldError::Missing { block: "ORDER".into(), field: "Amount" }),
        says: &["has no Amount field"],
    },
    Refuse {
        file: "refuse/order-amount-ten-to-the-twentieth-jpy.eml",
        is: |e| field(e, "ORDER", "Amount").is_some_and(|(value, _)| value == "100000000000000000000 JPY"),
        says: &["larger than any payment"],
    },
    Refuse {
        file: "refuse/order-amount-three-decimals-usd.eml",
        is: |e| field(e, "ORDER", "Amount").is_some_and(|(value, _)| value == "12.345 USD"),
        says: &["USD has 2 decimal places"],
    },
    Refuse {
        file: "refuse/mailpay-version-header-2.eml",
        is: |e| *e == ParseError::Version("2".into()),
        says: &["MailPay version 2"],
    },
    Refuse {
        file: "refuse/order-block-version-2.eml",
        is: |e| *e == ParseError::Field(FieldError::Version { block: "ORDER".into(), version: "2".into() }),
        says: &["version 2"],
    },
    Refuse {
        file: "refuse/kind-header-decline-on-approve.eml",
        is: |e| *e == ParseError::KindMismatch { header: "decline".into(), found: Kind::Approve },
        says: &["MailPay-Kind header says \"decline\""],
    },
    Refuse {
        file: "refuse/kind-header-unknown.eml",
        is: |e| *e == ParseError::UnknownKind("refund".into()),
        says: &["names no MailPay step"],
    },
    Refuse {
        file: "refuse/message-id-names-another-order.eml",
        is: |e| {
            *e == ParseError::OrderConflict {
                first: ORDER.into(),
                first_place: "the MailPay block",
                second: JA_ORDER.into(),
                second_place: "the Message-ID",
            }
        },
        says: &["in the Message-ID"],
    },
    Refuse {
        file: "refuse/bill-without-order-block.eml",
        is: |e| matches!(e, ParseError::Missing { kind: Kind::Bill, block: "ORDER", .. }),
        says: &["must carry a MAILPAY ORDER block"],
    },
    Refuse {
        file: "refuse/hand-ok-without-code.eml",
        is: |e| *e == ParseError::BareAnswer { answer: "OK", missing: "has no Code: line" },
        says: &["says OK but has no Code: line"],
    },
    Refuse {
        file: "refuse/ordinary-mail.eml",
        is: |e| *e == ParseError::NotMailPay,
        says: &["not a MailPay mail"],
    },
    Refuse {
        file: "refuse/ordinary-reply-saying-ok.eml",
        is: |e| *e == ParseError::NotMailPay,
        says: &["not a MailPay mail"],
    },
    Refuse {
        file: "refuse/garbage-jpeg-bytes.eml",
        is: |e| *e == ParseError::NotAMail,
        says: &["not an e-mail message"],
    },
    Refuse {
        file: "refuse/wallet-cheque-attachment-removed.eml",
        is: |e| *e == ParseError::NoCheque("cheque-7KQ3M9ZXP2VDH4TR.age".into()),
        says: &["no application/vnd.age attachment"],
    },
    Refuse {
        file: "refuse/cyrillic-look-alike-from.eml",
        is: |e| *e == ParseError::BadSender(AddressError::NotAscii("shop@sh\u{43e}p.test".into())),
        says: &["outside ASCII"],
    },
    Refuse {
        file: "refuse/order-password-a-with-u.eml",
        is: |e| {
            field(e, "ORDER", "Password-A")
                .is_some_and(|(value, why)| value == "<hidden>" && why.contains("'U'"))
        },
        says: &["Password-A", "except I, L, O and U"],
    },
    // Own text that tries to answer but says no one clear thing.
    Refuse {
        file: "refuse/thunderbird-reply-ok-above-no-below.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::BothOkAndNo),
        says: &["no clear answer", "both OK and NO"],
    },
    Refuse {
        file: "refuse/thunderbird-reply-ok-below-without-password.eml",
        is: |e| *e == ParseError::BareAnswer { answer: "OK", missing: "has no Password-A: line" },
        says: &["says OK but has no Password-A: line"],
    },
    Refuse {
        file: "refuse/thunderbird-reply-password-and-code-below-without-ok.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::NoAnswerWord),
        says: &["no clear answer", "no line OK"],
    },
    Refuse {
        file: "refuse/thunderbird-reply-interleaved-two-codes.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::Twice("Code")),
        says: &["two different Code: lines"],
    },
    Refuse {
        file: "refuse/thunderbird-forward-inline-ok-and-no.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::BothOkAndNo),
        says: &["both OK and NO"],
    },
    Refuse {
        file: "refuse/thunderbird-forward-as-attachment-password-without-ok.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::NoAnswerWord),
        says: &["no line OK"],
    },
    Refuse {
        file: "refuse/flowed-trailing-spaces-join-the-answer-lines.eml",
        is: |e| *e == ParseError::UnclearAnswer(Unclear::RunTogether("OK")),
        says: &["ran together", "no space at its end"],
    },
    // X-MailPay-* headers mean what MailPay-* headers mean.
    Refuse {
        file: "refuse/x-mailpay-version-2.eml",
        is: |e| *e == ParseError::Version("2".into()),
        says: &["MailPay version 2"],
    },
    Refuse {
        file: "refuse/x-mailpay-kind-decline-on-approve.eml",
        is: |e| *e == ParseError::KindMismatch { header: "decline".into(), found: Kind::Approve },
        says: &["says \"decline\""],
    },
    Refuse {
        file: "refuse/x-mailpay-order-names-another-order.eml",
        is: |e| {
            *e == ParseError::OrderConflict {
                first: ORDER.into(),
                first_place: "the MailPay block",
                second: JA_ORDER.into(),
                second_place: "the X-MailPay-Order header",
            }
        },
        says: &["in the X-MailPay-Order header"],
    },
    Refuse {
        file: "refuse/mailpay-kind-and-x-mailpay-kind-disagree.eml",
        is: |e| {
            *e == ParseError::HeaderConflict {
                first: "MailPay-Kind",
                first_value: "decline".into(),
                second: "X-MailPay-Kind",
                second_value: "approve".into(),
            }
        },
        says: &["MailPay-Kind header says \"decline\" but the X-MailPay-Kind header says \"approve\""],
    },
    Refuse {
        file: "refuse/hand-ok-password-a-too-short.eml",
        is: |e| {
            field(e, "reply", "Password-A")
                .is_some_and(|(value, why)| value == "<hidden>" && why.contains("too weak"))
        },
        says: &["Password-A", "too weak"],
    },
];

/// What is wrong with a refused mail's outcome, if anything.
fn check_refuse(case: &Refuse, raw: &[u8]) -> Result<(), String> {
    let error = match parse::parse(raw) {
        Ok(mail) => {
            return Err(format!("accepted as a {} for order {}", mail.body.kind(), mail.body.order()));
        }
        Err(e) => e,
    };
    if !(case.is)(&error) {
        return Err(format!("refused with the wrong error: {error:?}"));
    }
    let text = error.to_string();
    if let Some(missing) = case.says.iter().find(|s| !text.contains(**s)) {
        return Err(format!("the message {text:?} does not say {missing:?}"));
    }
    no_password_in(&text).and_then(|()| no_password_in(&format!("{error:?}")))
}

#[test]
fn refused_mails_are_refused_for_the_right_reason() {
    let failures: Vec<String> = REFUSE
        .iter()
        .filter_map(|case| check_refuse(case, &read(case.file)).err().map(|e| format!("{}: {e}", case.file)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} refused mails:\n{}",
        failures.len(),
        REFUSE.len(),
        failures.join("\n")
    );
}

/// A mail of `size` bytes: the composed order padded with text lines.
fn padded_order(size: usize) -> Vec<u8> {
    let mut raw = read("accept/composed-order.eml");
    let line = b"Tea, tea and more tea: this line only makes the mail large.\r\n";
    while raw.len() + line.len() <= size {
        raw.extend_from_slice(line);
    }
    raw.resize(size, b'.');
    raw
}

#[test]
fn a_ten_megabyte_mail_is_too_large() {
    let raw = padded_order(10 << 20);
    assert_eq!(parse::parse(&raw).map(|m| m.body.kind()), Err(ParseError::TooLarge(10 << 20)));
    let just_over = padded_order(MAX_MAIL_BYTES + 1);
    assert_eq!(
        parse::parse(&just_over).map(|m| m.body.kind()),
        Err(ParseError::TooLarge(MAX_MAIL_BYTES + 1))
    );
}

#[test]
fn a_body_past_the_scan_limit_is_refused_not_read() {
    let raw = padded_order(2 << 20);
    match parse::parse(&raw) {
        Err(ParseError::Block(BlockError::TooLarge(n))) => assert!(n > 1 << 20, "{n}"),
        other => panic!("{:?}", other.map(|m| m.body.kind())),
    }
}

#[test]
fn bytes_that_are_no_mail_are_not_a_mail() {
    // A fixed pseudo-random sequence (xorshift), the same on every run.
    let mut state: u32 = 0x9E37_79B9;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    for (what, raw) in [("nothing", &b""[..]), ("a line of text", &b"OK\n"[..]), ("noise", &noise[..])] {
        assert_eq!(parse::parse(raw).map(|m| m.body.kind()), Err(ParseError::NotAMail), "{what}");
    }
}

#[test]
fn refusals_survive_line_ending_changes() {
    // The same refused mails stored with LF line ends (a Maildir) refuse the same way.
    let failures: Vec<String> = REFUSE
        .iter()
        .filter(|case| !case.file.contains("garbage"))
        .filter_map(|case| {
            let lf: Vec<u8> = String::from_utf8_lossy(&read(case.file)).replace("\r\n", "\n").into_bytes();
            check_refuse(case, &lf).err().map(|e| format!("{} (LF): {e}", case.file))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn files_under(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            out.insert(path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_fixture_is_in_a_table() {
    let dir = corpus_dir();
    let mut on_disk = BTreeSet::new();
    files_under(&dir, &dir, &mut on_disk);
    on_disk.remove("README.md");
    let mut listed = BTreeSet::new();
    let names = ACCEPT.iter().map(|c| c.file).chain(REFUSE.iter().map(|c| c.file));
    for name in names {
        assert!(listed.insert(name.to_string()), "{name} is listed twice");
    }
    let untested: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(untested.is_empty(), "fixtures no test checks: {untested:?}");
    assert!(missing.is_empty(), "listed fixtures that do not exist: {missing:?}");
}

#[test]
fn the_readme_lists_every_fixture() {
    let readme = String::from_utf8(read("README.md")).unwrap();
    let dir = corpus_dir();
    let mut on_disk = BTreeSet::new();
    files_under(&dir, &dir, &mut on_disk);
    on_disk.remove("README.md");
    let unlisted: Vec<_> = on_disk.iter().filter(|f| !readme.contains(&format!("`{f}`"))).collect();
    assert!(unlisted.is_empty(), "README.md does not describe {unlisted:?}");
}
