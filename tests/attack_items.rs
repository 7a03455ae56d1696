//! A shop that bills other goods than were ordered, at the ordered total.
//!
//! The order is for green tea; the bill asks for the same amount for "1 x
//! Annual premium subscription, auto-renewing". Amount, parties and the
//! quoted order all agree, so only the items tell. Through the real
//! Postfix + Dovecot and the running bank agent, the bank must refuse the
//! bill with `items-mismatch`, tell the orderer (whose wallet ends the
//! payment with that reason) and the shop, and move no money; a bill for
//! the ordered items, the control, is confirmed. And `mailpay approve`
//! shows the items beside the order's before it answers, marking any line
//! that differs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;
use support::protocol as protocol_support;

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use agents::{BANK, ORDERER, Orderer, SHOP2, World, addr, reason_of};
use mailpay::paths::Paths;
use mailpay::protocol::compose::{self, Outgoing, Thread};
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Bill, Confirm};
use mailpay::protocol::payment::{Event, Outbound, State};
use mailpay::protocol::{Kind, Method, OrderId, OrderTerms, Timestamp};
use mailpay::store::Store;
use mailpay::wallet;

const OTHER_GOODS: &str = "1 x Annual premium subscription, auto-renewing";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::start("attack-items", Duration::from_secs(2)))
}

/// shop2's bill for `terms` listing `items` (which add up to the order's
/// amount), carrying the orderer's ORDER block as it came.
fn bill_listing(terms: &OrderTerms, items: Vec<LineItem>) -> Outgoing {
    let bill = Bill {
        order: terms.order.clone(),
        merchant: addr(SHOP2),
        orderer: terms.orderer.clone(),
        items,
        total: terms.amount,
        billed: mailpay::clock::now(),
        quoted_order: terms.clone(),
    };
    let mut draft = compose::bill(&bill, &terms.to_block(Kind::Order), &Thread::default());
    draft.from = addr(SHOP2);
    draft.build(mailpay::clock::now(), &mut rand::rng())
}

/// An order of green tea to shop2 (which runs no agent: its bills are
/// written here), paid by Fig. 1.
fn tea_order(orderer: &Orderer) -> OrderTerms {
    let mut terms = orderer.terms(world(), Method::Confirm, 1200);
    terms.merchant = addr(SHOP2);
    terms.items = vec!["2 x Green tea 100g @ 600 JPY".parse().unwrap()];
    terms
}

#[test]
fn a_bill_for_other_goods_at_the_ordered_total_is_refused_and_the_orderer_told() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let shop2 = Orderer::new(world(), SHOP2);
    let terms = tea_order(&orderer);
    let before = world().balance(ORDERER);
    orderer.pay(world(), &terms);
    let other_goods = format!("{OTHER_GOODS} @ 1200 JPY").parse().unwrap();
    world().send_as(SHOP2, &bill_listing(&terms, vec![other_goods]));

    // The bank: rejected, with the reason of its own, and why.
    assert_eq!(world().wait_status(&terms.order, "rejected").as_deref(), Some("items-mismatch"));
    // The orderer is told, and the wallet ends the payment with that reason.
    let (rejected, raw) =
        orderer.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == "items-mismatch");
    assert_eq!(rejected.from, addr(BANK));
    let mailpay::protocol::Body::Rejected(notice) = &rejected.body else { unreachable!() };
    assert!(notice.detail.contains("Annual premium subscription"), "{}", notice.detail);
    orderer.receive(&rejected, &raw);
    let state = orderer.state(&terms.order);
    assert!(
        matches!(&state, State::Rejected { reason, .. } if reason.code() == "items-mismatch"),
        "{state:?}"
    );
    // So is the shop that sent the bill.
    shop2.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == "items-mismatch");
    // No confirmation was asked for, no money moved.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        orderer.mails(world(), Kind::Confirm, &terms.order).is_empty(),
        "no confirmation for other goods"
    );
    assert_eq!(world().balance(ORDERER), before);
    assert_eq!(world().balance(SHOP2), 0);
}

#[test]
fn a_bill_for_the_ordered_items_is_confirmed_with_them() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = tea_order(&orderer);
    orderer.pay(world(), &terms);
    world().send_as(SHOP2, &bill_listing(&terms, terms.items.clone()));
    let (confirm, raw) = orderer.wait_mail(world(), Kind::Confirm, &terms.order, |_| true);
    let mailpay::protocol::Body::Confirm(c) = &confirm.body else { unreachable!() };
    assert_eq!(c.items, terms.items, "the confirmation carries the ordered items");
    orderer.receive(&confirm, &raw);
    let State::AwaitingConfirmation { mismatches, .. } = orderer.state(&terms.order) else {
        panic!("{:?}", orderer.state(&terms.order))
    };
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

// ------------------------------------------------------ mailpay approve

/// A wallet in `home` holding one order of green tea (the protocol tests'
/// order: 2 x Green tea 100g @ 600 JPY to shop@shop.test, Fig. 1), sent,
/// and the bank's confirmation of it listing `confirmed` (same total).
fn wallet_awaiting(home: &std::path::Path, confirmed: &[&str]) -> OrderId {
    let paths = Paths::under(home);
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    let mut store = Store::open(&paths.database()).unwrap();
    let created = Timestamp::from_unix(mailpay::clock::now().unix() - 60);
    let terms = OrderTerms {
        created,
        expires: created.plus_seconds(24 * 3600),
        ..protocol_support::terms(Method::Confirm)
    };
    wallet::place(&mut store, &terms, None, created).unwrap();
    for mail in [Outbound::Order, Outbound::PaymentRequest] {
        wallet::act(&store, &terms.order, &Event::Accepted(mail), None, false).unwrap();
    }
    let confirm = Confirm {
        items: confirmed.iter().map(|i| i.parse().unwrap()).collect(),
        ..protocol_support::confirm_for(&terms)
    };
    let raw =
        compose::confirm(&confirm, &terms.bank, &Thread::default()).build(created, &mut rand::rng()).bytes;
    let mail = mailpay::protocol::parse::parse(&raw).unwrap();
    wallet::receive(&store, &mail, &raw, false).unwrap();
    assert_eq!(store.load(&terms.order).unwrap().1.name(), "awaiting-confirmation");
    terms.order
}

fn approve(home: &std::path::Path, order: &OrderId) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailpay"))
        .args(["approve", order.as_str()])
        .env("MAILPAY_HOME", home)
        .env("MAILPAY_KEYRING", "keyutils")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn temp_home(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mailpay-approve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn approve_on_the_command_line_shows_other_items_marked_and_refuses() {
    let home = temp_home("other");
    let billed = format!("{OTHER_GOODS} @ 1200 JPY");
    let order = wallet_awaiting(&home, &[&billed]);
    let (ok, stdout, stderr) = approve(&home, &order);
    assert!(!ok, "other items cannot be approved: {stdout}");
    let line = |needle: &str| stdout.lines().find(|l| l.contains(needle)).map(str::to_string);
    let billed_line = line("Annual premium subscription")
        .unwrap_or_else(|| panic!("the billed items are shown:\n{stdout}"));
    let ordered_line =
        line("2 x Green tea 100g @ 600 JPY").unwrap_or_else(|| panic!("the ordered ones too:\n{stdout}"));
    assert!(
        billed_line.trim_start().starts_with('!'),
        "a differing line is marked: {billed_line:?}\n{stdout}"
    );
    assert!(ordered_line.trim_start().starts_with('!'), "{ordered_line:?}\n{stdout}");
    assert!(stderr.contains("cannot be approved") && stderr.contains("mailpay decline"), "{stderr}");
    // Nothing was queued: the payment still waits for an answer.
    let store = Store::open(&Paths::under(&home).database()).unwrap();
    assert_eq!(store.load(&order).unwrap().1.name(), "awaiting-confirmation");
}

#[test]
fn approve_on_the_command_line_shows_the_items_before_it_answers() {
    let home = temp_home("same");
    let order = wallet_awaiting(&home, &["2 x Green tea 100g @ 600 JPY"]);
    // No mail account in this wallet: the answer cannot leave, but what it
    // would answer is printed first.
    let (ok, stdout, stderr) = approve(&home, &order);
    assert!(!ok, "no account to send from: {stdout}");
    assert!(stdout.contains("1200 JPY to shop@shop.test"), "{stdout}");
    let item = stdout.lines().find(|l| l.contains("2 x Green tea 100g @ 600 JPY"));
    let item = item.unwrap_or_else(|| panic!("the items are shown:\n{stdout}"));
    assert!(!item.trim_start().starts_with('!'), "an agreeing line is not marked: {item:?}");
    assert!(stderr.contains("account"), "{stderr}");
}
