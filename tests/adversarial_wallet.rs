//! Adversarial mail at the orderer's wallet: confirmations and notices
//! that must never make it send an OK. Every case runs with the payment
//! pre-approved, the setting under which a genuine confirmation is answered
//! at once, so that only the wallet's checks stand between the mail and an
//! OK. Each is refused and shown as suspicious (or not taken as MailPay at
//! all); a genuine confirmation, the control, is answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::tamper;

use std::path::PathBuf;

use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::message::Confirm;
use mailpay::protocol::parse::parse;
use mailpay::protocol::payment::{Effect, Event, Notice, Outbound};
use mailpay::protocol::{Method, OrderTerms};
use mailpay::store::Store;
use mailpay::wallet::{self, Receipt};
use support::protocol::*;
use tamper::{add_header, set_header};

struct Wallet {
    store: Store,
    db: PathBuf,
}

/// A wallet whose order (`terms`) has left: both mails accepted.
fn wallet_with(orders: &[&OrderTerms]) -> Wallet {
    let dir =
        std::env::temp_dir().join(format!("mailpay-adv-{}-{}", std::process::id(), rand::random::<u64>()));
    let db = dir.join("wallet.sqlite3");
    let mut store = Store::open(&db).unwrap();
    for terms in orders {
        wallet::place(&mut store, terms, None, CREATED).unwrap();
        for mail in [Outbound::Order, Outbound::PaymentRequest] {
            wallet::act(&store, &terms.order, &Event::Accepted(mail), None, false).unwrap();
        }
    }
    Wallet { store, db }
}

impl Wallet {
    /// Every OK ever queued, sent or not.
    fn approvals(&self) -> i64 {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        db.query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'approve'", [], |r| r.get(0)).unwrap()
    }

    /// Takes a raw mail as the watcher would, pre-approved.
    fn deliver(&self, raw: &[u8]) -> Verdict {
        match parse(raw) {
            Err(e) => Verdict::NotMailPay(e.to_string()),
            Ok(mail) => Verdict::Receipt(wallet::receive(&self.store, &mail, raw, true).unwrap()),
        }
    }
}

#[derive(Debug)]
enum Verdict {
    NotMailPay(String),
    Receipt(Receipt),
}

impl Verdict {
    /// Refused, and the user is told so: nothing moved the payment on
    /// without a warning.
    fn is_refused(&self) -> bool {
        match self {
            Verdict::NotMailPay(why) => !why.is_empty(),
            Verdict::Receipt(Receipt::Refused { .. } | Receipt::UnknownOrder(_) | Receipt::Duplicate) => true,
            Verdict::Receipt(Receipt::Stepped { effects, .. }) => {
                effects.iter().any(|e| matches!(e, Effect::Notify(Notice::Suspicious(_))))
            }
            Verdict::Receipt(Receipt::Invalid(why)) => !why.is_empty(),
            Verdict::Receipt(Receipt::NotForOrderer(_) | Receipt::Bounced { .. }) => false,
        }
    }
}

fn confirm_mail(confirm: &Confirm) -> Vec<u8> {
    compose::confirm(confirm, &bank(), &Thread::default()).build(CREATED, &mut rand::rng()).bytes
}

/// A confirmation as multipart/alternative: `plain` and `html` bodies.
fn html_mail(id: &str, plain: &str, html: &str) -> Vec<u8> {
    format!(
        "From: {bank}\r\nTo: {orderer}\r\nSubject: Confirm payment\r\nMessage-ID: <{id}@bank.test>\r\n\
         Date: Wed, 25 Nov 2026 18:20:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b0undary\"\r\n\r\n\
         --b0undary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n\
         --b0undary\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b0undary--\r\n",
        bank = bank(),
        orderer = orderer(),
    )
    .replace('\n', "\r\n")
    .replace("\r\r\n", "\r\n")
    .into_bytes()
}

fn html_only_mail(id: &str, html: &str) -> Vec<u8> {
    format!(
        "From: {bank}\r\nTo: {orderer}\r\nSubject: Confirm payment\r\nMessage-ID: <{id}@bank.test>\r\n\
         Date: Wed, 25 Nov 2026 18:20:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n",
        bank = bank(),
        orderer = orderer(),
    )
    .into_bytes()
}

fn block_of(confirm: &Confirm) -> String {
    confirm.to_block().render()
}

#[test]
fn a_genuine_confirmation_is_answered_when_pre_approved() {
    let terms = terms(Method::Confirm);
    let wallet = wallet_with(&[&terms]);
    let verdict = wallet.deliver(&confirm_mail(&confirm_for(&terms)));
    assert!(!verdict.is_refused(), "{verdict:?}");
    assert_eq!(wallet.approvals(), 1, "the control case sends its OK");
}

#[test]
fn adversarial_confirmations_never_send_an_ok() {
    let terms = terms(Method::Confirm);
    let genuine = confirm_for(&terms);
    let genuine_mail = confirm_mail(&genuine);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();

    cases.push(("forged From", set_header(&genuine_mail, "From", &stranger().to_string())));
    cases.push((
        "display name of the bank, address of a stranger",
        set_header(&genuine_mail, "From", &format!("\"{}\" <{}>", bank(), stranger())),
    ));
    cases.push((
        "look-alike local part (Cyrillic a)",
        set_header(&genuine_mail, "From", "p\u{430}y@bank.test"),
    ));
    cases.push(("look-alike domain (Cyrillic a)", set_header(&genuine_mail, "From", "pay@b\u{430}nk.test")));
    cases.push(("look-alike full-width letters", set_header(&genuine_mail, "From", "\u{ff50}ay@bank.test")));
    cases.push(("look-alike domain suffix", set_header(&genuine_mail, "From", "pay@bank.test.evil.test")));
    cases.push(("look-alike digit for letter", set_header(&genuine_mail, "From", "pay@bank.te5t")));
    // The bank's From with every figure right, but no proof that the
    // sender knows A: a forger's mail.
    let unproven = Confirm { proof: None, ..genuine.clone() };
    cases.push(("right From and figures, no proof of A", confirm_mail(&unproven)));
    let wrong_proof = Confirm {
        proof: Some(mailpay::protocol::confirmation::Proof::compute(
            &mailpay::protocol::PasswordA::generate(&mut rand::rng()),
            &genuine.order,
        )),
        ..genuine.clone()
    };
    cases.push(("right From and figures, proof made without A", confirm_mail(&wrong_proof)));
    let unknown = Confirm { order: other_order_id(), ..genuine.clone() };
    cases.push(("right From, unknown order", confirm_mail(&unknown)));
    let dearer = Confirm { amount: money("12000 JPY"), ..genuine.clone() };
    cases.push(("wrong amount", confirm_mail(&dearer)));
    let other_currency = Confirm { amount: money("1200 USD"), ..genuine.clone() };
    cases.push(("wrong currency", confirm_mail(&other_currency)));
    let payee = Confirm { merchant: other_merchant(), ..genuine.clone() };
    cases.push(("wrong payee", confirm_mail(&payee)));
    let payer = Confirm { orderer: stranger(), ..genuine.clone() };
    cases.push(("wrong payer", confirm_mail(&payer)));
    let items = Confirm { items: vec![item("20 x Green tea 100g @ 600 JPY")], ..genuine.clone() };
    cases.push(("wrong items", confirm_mail(&items)));
    // Every figure right and adding up, only the goods are not those ordered.
    let other_goods = Confirm {
        items: vec![item("1 x Annual premium subscription, auto-renewing @ 1200 JPY")],
        ..genuine.clone()
    };
    cases.push(("other items, same total", confirm_mail(&other_goods)));
    let fewer = Confirm { items: vec![item("1 x Green tea 100g @ 1200 JPY")], ..genuine.clone() };
    cases.push(("another quantity, same total", confirm_mail(&fewer)));
    let no_items = Confirm { items: vec![], ..genuine.clone() };
    cases.push(("the ordered items left out", confirm_mail(&no_items)));
    for verdict in ["dkim=fail", "spf=fail", "dmarc=fail"] {
        let header = format!("Authentication-Results: mx.buyer.test; {verdict} header.from=bank.test");
        cases.push((verdict, add_header(&genuine_mail, &header)));
    }
    cases.push(("through a mailing list", add_header(&genuine_mail, "List-Id: <payments.lists.bank.test>")));
    cases.push((
        "HTML shows the ordered figure, the block asks for more",
        html_mail("html-1", &block_of(&dearer), "<p>Please confirm <b>1200 JPY</b> to shop@shop.test</p>"),
    ));
    cases.push((
        "HTML only, the dearer block hidden by CSS",
        html_only_mail(
            "html-2",
            &format!(
                "<p>Please confirm <b>1200 JPY</b></p><div style=\"display:none\"><pre>{}</pre></div>",
                block_of(&dearer)
            ),
        ),
    ));
    cases.push((
        "plain block genuine, HTML carries a block with other figures",
        html_mail("html-3", &block_of(&genuine), &format!("<pre>{}</pre>", block_of(&payee))),
    ));
    let mut refused = 0;
    for (name, raw) in &cases {
        let wallet = wallet_with(&[&terms]);
        let verdict = wallet.deliver(raw);
        assert!(verdict.is_refused(), "{name}: {verdict:?}");
        assert_eq!(wallet.approvals(), 0, "{name}: an OK was queued");
        let again = wallet.store.load(&terms.order).unwrap().1;
        assert!(!matches!(again.name(), "approved" | "settled"), "{name}: {}", again.name());
        refused += 1;
    }
    println!("adversarial confirmations refused: {refused} of {}", cases.len());
    assert_eq!(refused, cases.len());
}

/// Mails that are fine on their own but come at the wrong time or about
/// the wrong order.
#[test]
fn replays_and_crossed_confirmations_send_no_second_ok() {
    let first = terms(Method::Confirm);
    let second = OrderTerms {
        order: other_order_id(),
        amount: money("50000 JPY"),
        merchant: other_merchant(),
        items: vec![item("1 x Teapot @ 50000 JPY")],
        password: other_password_a(),
        ..terms(Method::Confirm)
    };
    let wallet = wallet_with(&[&first, &second]);
    let genuine = confirm_mail(&confirm_for(&first));
    let Verdict::Receipt(Receipt::Stepped { .. }) = wallet.deliver(&genuine) else { panic!("genuine") };
    assert_eq!(wallet.approvals(), 1);
    let mut refused = 0;

    // The same mail again, and the same confirmation under a new Message-ID.
    assert!(wallet.deliver(&genuine).is_refused(), "replayed as is");
    refused += 1;
    // Under a new Message-ID: the very confirmation already answered (same
    // code, as many attempts left). It changes nothing and is shown as
    // suspicious; no second OK, and the payment still waits for the bank.
    let replay = set_header(&genuine, "Message-ID", "<replay-1@bank.test>");
    let verdict = wallet.deliver(&replay);
    assert!(verdict.is_refused(), "replayed under a new Message-ID: {verdict:?}");
    assert_eq!(wallet.approvals(), 1, "no second OK for a replay");
    assert_eq!(wallet.store.load(&first.order).unwrap().1.name(), "approved");
    refused += 1;

    // A confirmation naming the first order with the second order's figures.
    let crossed = Confirm { amount: second.amount, merchant: second.merchant.clone(), ..confirm_for(&first) };
    let fresh = wallet_with(&[&first, &second]);
    let verdict = fresh.deliver(&confirm_mail(&crossed));
    assert!(verdict.is_refused(), "another order's figures: {verdict:?}");
    assert_eq!(fresh.approvals(), 0);
    refused += 1;

    // Settled: any confirmation afterwards is refused.
    let settled = compose::settled(&settled_for(&first), &bank(), &orderer(), &Thread::default())
        .build(CREATED, &mut rand::rng())
        .bytes;
    let done = wallet_with(&[&first]);
    done.deliver(&genuine);
    let verdict = done.deliver(&settled);
    let Verdict::Receipt(Receipt::Stepped { to, .. }) = &verdict else {
        panic!("the settled notice moves the payment: {verdict:?}")
    };
    assert_eq!(to.name(), "settled", "{verdict:?}");
    let late = set_header(&genuine, "Message-ID", "<late-1@bank.test>");
    assert!(done.deliver(&late).is_refused(), "a confirmation for a settled order");
    refused += 1;
    assert_eq!(done.approvals(), 1);

    // Notices: a forged settled notice does not settle the order.
    let open = wallet_with(&[&first]);
    let forged = set_header(&settled, "From", &stranger().to_string());
    assert!(open.deliver(&forged).is_refused(), "a forged settled notice");
    assert_eq!(open.store.load(&first.order).unwrap().1.name(), "sent");
    refused += 1;
    println!("replayed, crossed and late mails refused: {refused}");
    assert_eq!(refused, 5);
}

/// A `duplicate` is the bank's answer to a second, different mail for a
/// step, sent to that mail's sender only; the order stays as it was
/// (PROTOCOL.md 6.4). Whoever gets the bank to send one to the orderer
/// (a second payment request under the orderer's address) must not end
/// the payment in the wallet: the bank's real confirmation still comes
/// and is still answered.
#[test]
fn a_duplicate_rejection_does_not_end_the_payment() {
    let terms = terms(Method::Confirm);
    let wallet = wallet_with(&[&terms]);
    let duplicate = mailpay::protocol::message::Rejected {
        order: terms.order.clone(),
        reason: mailpay::protocol::reason::RejectReason::Duplicate,
        detail: "a second, different payment request for this order".into(),
    };
    let raw = compose::rejected(&duplicate, &bank(), &orderer(), &Thread::default())
        .build(CREATED, &mut rand::rng())
        .bytes;
    let verdict = wallet.deliver(&raw);
    assert!(
        matches!(&verdict, Verdict::Receipt(Receipt::Stepped { from, to, .. }) if from.name() == "sent" && to.name() == "sent"),
        "{verdict:?}"
    );
    assert_eq!(wallet.store.load(&terms.order).unwrap().1.name(), "sent");
    let timeline = wallet.store.timeline(&terms.order).unwrap();
    let noted = timeline.iter().find(|e| e.kind == "rejected").expect("the rejection is in the timeline");
    assert!(noted.status.contains("duplicate"), "{noted:?}");
    assert!(noted.status.contains("sent"), "the timeline says the payment stays as it was: {noted:?}");
    // The real confirmation is still answered.
    let verdict = wallet.deliver(&confirm_mail(&confirm_for(&terms)));
    assert!(!verdict.is_refused(), "{verdict:?}");
    assert_eq!(wallet.approvals(), 1);
}
