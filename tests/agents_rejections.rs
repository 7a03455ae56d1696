//! Every refusal the bank makes, against the real mail stack and the running
//! bank agent, each with its reason code: in the bank's ledger and in the
//! `rejected` mail the orderer receives. Bills for shop2@shop2.test are
//! written by hand (that shop runs no agent), so they can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;

use std::sync::OnceLock;
use std::time::Duration;

use agents::{BANK, ORDERER, ORDERER2, Orderer, SHOP, SHOP2, World, addr, reason_of};
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::compose;
use mailpay::protocol::message::{Approve, Body};
use mailpay::protocol::{Kind, Method, OrderTerms, PasswordA};
use mailpay::{clock, wallet};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::start("rejections", Duration::from_secs(2)))
}

/// An order to shop2 (no agent there), paid with `method`.
fn shop2_terms(orderer: &Orderer, method: Method, amount: u64) -> OrderTerms {
    let mut terms = orderer.terms(world(), method, amount);
    terms.merchant = addr(SHOP2);
    terms
}

/// Waits for the orderer's `rejected` mail for `terms` and checks its
/// reason, and that the bank's ledger says the same.
fn expect_rejection(orderer: &Orderer, terms: &OrderTerms, reason: &str) {
    let (mail, _) = orderer.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == reason);
    assert_eq!(mail.from, addr(BANK));
    assert_eq!(world().wait_status(&terms.order, "rejected").as_deref(), Some(reason));
}

#[test]
fn wrong_password_a_in_the_bill() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    orderer.pay(world(), &terms);
    let mut forged = terms.clone();
    forged.password = PasswordA::generate(&mut rand::rng());
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &forged, 1000));
    expect_rejection(&orderer, &terms, "password-mismatch");
}

#[test]
fn amount_changed_by_the_merchant() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    orderer.pay(world(), &terms);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1100));
    expect_rejection(&orderer, &terms, "amount-mismatch");
}

#[test]
fn bill_from_an_unregistered_address() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    orderer.pay(world(), &terms);
    world().wait_status(&terms.order, "collecting");
    // A stranger bills the order: he is told why, the order goes on.
    let stranger = Orderer::new(world(), "bank2@bank2.test");
    world().send_as("bank2@bank2.test", &Orderer::bill("bank2@bank2.test", &terms, &terms, 1000));
    let (refused, _) =
        stranger.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == "unknown-payee");
    assert_eq!(refused.from, addr(BANK));
    world().wait_trail_reason(&terms.order, "bill", "unknown-payee");
    assert!(orderer.mails(world(), Kind::Rejected, &terms.order).is_empty(), "the orderer's order stands");
    // The real merchant's bill still settles into a confirmation.
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    orderer.wait_mail(world(), Kind::Confirm, &terms.order, |_| true);
    assert_eq!(world().wait_status(&terms.order, "awaiting-answer"), None);
}

#[test]
fn payment_request_from_someone_else_than_the_orderer() {
    let orderer2 = Orderer::new(world(), ORDERER2);
    let mut orderer = Orderer::new(world(), ORDERER);
    // orderer2 sends a payment request that names orderer@buyer.test as payer
    // (the orderer's own terms, id and nonce: as if read off the mails).
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    let [_, mut request] = compose::order(&terms);
    request.from = addr(ORDERER2);
    orderer2.send(world(), &request.build(mailpay::clock::now(), &mut rand::rng()));
    let (refused, _) =
        orderer2.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == "payer-mismatch");
    assert_eq!(refused.from, addr(BANK));
    world().wait_trail_reason(&terms.order, "payment-request", "payer-mismatch");
    assert!(world().ledger().payment(&terms.order).is_err(), "no payment is opened for the forger");
    // The real orderer's own request for that order is still taken.
    orderer.pay(world(), &terms);
    world().wait_status(&terms.order, "collecting");
}

#[test]
fn reused_password_a() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let first = shop2_terms(&orderer, Method::Confirm, 1000);
    orderer.pay(world(), &first);
    world().wait_status(&first.order, "collecting");
    let mut second = shop2_terms(&orderer, Method::Confirm, 1000);
    second.password = first.password.clone();
    // The wallet itself refuses a used A...
    let refused = wallet::place(&mut orderer.store, &second, None, clock::now()).unwrap_err();
    assert!(refused.to_string().contains("already used"), "{refused}");
    // ...and a wallet that never saw it (another device, a lost database)
    // meets the bank's refusal.
    let mut other_device = Orderer::new(world(), ORDERER);
    other_device.pay(world(), &second);
    expect_rejection(&other_device, &second, "password-reused");
}

#[test]
fn expired_order() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let mut terms = shop2_terms(&orderer, Method::Confirm, 1000);
    terms.created = terms.created.plus_seconds(-7200);
    terms.expires = terms.created.plus_seconds(3600);
    orderer.pay(world(), &terms);
    expect_rejection(&orderer, &terms, "expired");
}

#[test]
fn altered_cheque() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Cheque, 1000);
    let mut cheque = orderer.cheque_mail(&terms, &world().bank_recipient);
    let bytes = cheque.attachment.as_mut().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    orderer.pay_with(world(), &terms, vec![cheque]);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    expect_rejection(&orderer, &terms, "cheque-invalid");
}

#[test]
fn cheque_encrypted_to_another_key() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Cheque, 1000);
    let stranger = age::x25519::Identity::generate().to_public();
    let cheque = orderer.cheque_mail(&terms, &stranger);
    orderer.pay_with(world(), &terms, vec![cheque]);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    expect_rejection(&orderer, &terms, "cheque-invalid");
    let trail = world().ledger().payment(&terms.order).unwrap();
    assert!(trail.detail.unwrap_or_default().contains("cannot be opened"), "the detail says why");
}

#[test]
fn cheque_that_disagrees_with_the_order() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Cheque, 1000);
    let mut other = terms.clone();
    other.amount = mailpay::protocol::Money::new(9000, agents::jpy()).unwrap();
    let cheque = orderer.cheque_mail(&other, &world().bank_recipient);
    orderer.pay_with(world(), &terms, vec![cheque]);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    expect_rejection(&orderer, &terms, "cheque-mismatch");
}

/// The bank's check of the board, with a merchant that bills whatever it
/// gets (shop2, written by hand): the order's board is the shop's.
#[test]
fn board_record_missing() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Board, 1000);
    orderer.pay_posting(world(), &terms, vec![], None);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    expect_rejection(&orderer, &terms, "board-missing");
}

#[test]
fn board_record_contradicting_the_mails() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = orderer.terms(world(), Method::Board, 1000);
    let record = BoardRecord::for_order(&terms, "X.Y.", &agents::wallet_key(ORDERER));
    orderer.pay_posting(world(), &terms, vec![], Some(record));
    expect_rejection(&orderer, &terms, "board-mismatch");
}

#[test]
fn board_record_with_another_order_time() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = orderer.terms(world(), Method::Board, 1000);
    let mut earlier = terms.clone();
    earlier.created = terms.created.plus_seconds(-3600);
    let record = BoardRecord::for_order(&earlier, agents::initials(ORDERER), &agents::wallet_key(ORDERER));
    let terms = OrderTerms { merchant: addr(SHOP2), ..terms };
    orderer.pay_posting(world(), &terms, vec![], Some(record));
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    expect_rejection(&orderer, &terms, "board-mismatch");
}

/// The shop's own check of its board (claim 3): an order that asks for a
/// board record is not billed when the board has none for it, or only one
/// that contradicts it; the shop refuses it to the bank in the bill's
/// place, and the bank ends it and tells the orderer why.
#[test]
fn the_shop_bills_no_order_its_board_does_not_bear_out() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let unposted = orderer.terms(world(), Method::Board, 1000);
    orderer.pay_posting(world(), &unposted, vec![], None);
    let late = orderer.terms(world(), Method::All, 1000);
    let mut earlier = late.clone();
    earlier.created = late.created.plus_seconds(-3600);
    let record = BoardRecord::for_order(&earlier, agents::initials(ORDERER), &agents::wallet_key(ORDERER));
    let cheque = orderer.cheque_mail(&late, &world().bank_recipient);
    orderer.pay_posting(world(), &late, vec![cheque], Some(record));

    world().wait_shop_state(&unposted.order, "refused");
    let note = world().shop_note(&unposted.order).unwrap();
    assert!(note.contains("board has none for it"), "{note}");
    world().wait_shop_state(&late.order, "refused");
    let note = world().shop_note(&late.order).unwrap();
    assert!(note.contains("contradicts the order") && note.contains("placed at"), "{note}");
    for (terms, why) in [(&unposted, "board has none for it"), (&late, "contradicts the order")] {
        expect_rejection(&orderer, terms, "merchant-refused");
        let (mail, _) = orderer.wait_mail(world(), Kind::Rejected, &terms.order, |_| true);
        let Body::Rejected(rejected) = &mail.body else { unreachable!() };
        assert!(rejected.detail.contains(why), "{}", rejected.detail);
        let trail = world().ledger().trail(&terms.order).unwrap();
        assert!(trail.iter().all(|line| line.kind != "bill"), "nothing was billed: {trail:#?}");
    }
}

/// Someone who learnt the order id posts first, signed with another key
/// and unsigned: the board keeps the orderer's own record too, and the
/// bank, which knows the orderer's wallet key, goes by that one.
#[test]
fn board_records_posted_first_by_someone_else_count_for_nothing() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = orderer.terms(world(), Method::Board, 1000);
    let url = terms.board.clone().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stranger = mailpay::protocol::cheque::WalletKey::from_seed(&[7; 32]);
    let squatted = BoardRecord::for_order(&terms, "X.Y.", &stranger);
    runtime.block_on(mailpay::board::client::Client::default().post(&url, &squatted)).unwrap();
    let mut unsigned = squatted.clone();
    (unsigned.key, unsigned.signature) = (None, None);
    runtime.block_on(mailpay::board::client::Client::default().post(&url, &unsigned)).unwrap();
    orderer.pay(world(), &terms);
    let records =
        runtime.block_on(mailpay::board::client::Client::default().fetch(&url, &terms.order)).unwrap();
    assert_eq!(records.len(), 3, "{records:?}");
    orderer.wait_mail(world(), Kind::Settled, &terms.order, |_| true);
    assert_eq!(world().wait_status(&terms.order, "settled").as_deref(), None, "settled, with no reason");
}

/// Only someone else's records are on the board: no record the orderer
/// signed, so none at all for the bank.
#[test]
fn board_records_of_someone_else_alone_are_missing() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = orderer.terms(world(), Method::Board, 1000);
    let stranger = mailpay::protocol::cheque::WalletKey::from_seed(&[8; 32]);
    let record = BoardRecord::for_order(&terms, agents::initials(ORDERER), &stranger);
    orderer.pay_posting(world(), &terms, vec![], Some(record));
    expect_rejection(&orderer, &terms, "board-missing");
}

/// Places a Fig. 1 order at the shop's agent and waits for the confirmation.
fn confirmed(orderer: &mut Orderer) -> (OrderTerms, mailpay::protocol::parse::Incoming) {
    let mut terms = orderer.terms(world(), Method::Confirm, 1000);
    terms.merchant = addr(SHOP);
    orderer.pay(world(), &terms);
    let (confirm, raw) = orderer.wait_mail(world(), Kind::Confirm, &terms.order, |_| true);
    orderer.receive(&confirm, &raw);
    (terms, confirm)
}

#[test]
fn ok_with_the_wrong_password_a() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let (terms, confirm) = confirmed(&mut orderer);
    let Body::Confirm(c) = &confirm.body else { unreachable!() };
    let wrong = Approve {
        order: terms.order.clone(),
        password: PasswordA::generate(&mut rand::rng()),
        code: c.code.clone(),
    };
    let mail = compose::approve(&wrong, &terms.orderer, &terms.bank, &confirm.thread());
    orderer.send(world(), &mail.build(mailpay::clock::now(), &mut rand::rng()));
    world().wait_trail_reason(&terms.order, "approve", "code-mismatch");
    // The bank asks again, one attempt fewer; no money moved.
    let (again, _) = orderer.wait_mail(
        world(),
        Kind::Confirm,
        &terms.order,
        |m| matches!(&m.body, Body::Confirm(c) if c.attempts_left == 4),
    );
    assert_eq!(world().ledger().payment(&terms.order).unwrap().status, "awaiting-answer");
    assert!(again.in_reply_to.iter().any(|id| !id.is_empty()));
}

#[test]
fn a_second_ok() {
    let mut orderer = Orderer::new(world(), ORDERER2);
    let before = world().balance(ORDERER2);
    let (terms, confirm) = confirmed(&mut orderer);
    orderer.approve(world(), &confirm);
    orderer.wait_mail(world(), Kind::Settled, &terms.order, |_| true);
    let Body::Confirm(c) = &confirm.body else { unreachable!() };
    let again =
        Approve { order: terms.order.clone(), password: terms.password.clone(), code: c.code.clone() };
    let mail = compose::approve(&again, &terms.orderer, &terms.bank, &confirm.thread());
    orderer.send(world(), &mail.build(mailpay::clock::now(), &mut rand::rng()));
    let (rejected, _) =
        orderer.wait_mail(world(), Kind::Rejected, &terms.order, |m| reason_of(m) == "already-answered");
    assert_eq!(rejected.from, addr(BANK));
    assert_eq!(world().ledger().payment(&terms.order).unwrap().status, "settled", "the payment stands");
    assert_eq!(world().balance(ORDERER2), before - 1000, "paid exactly once");
    assert_eq!(orderer.mails(world(), Kind::Settled, &terms.order).len(), 1);
}

#[test]
fn decline_ends_the_order_and_cancels_at_the_shop() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let (terms, confirm) = confirmed(&mut orderer);
    mailpay::wallet::act(
        &orderer.store,
        &terms.order,
        &mailpay::protocol::payment::Event::UserDecline,
        Some(&confirm),
        false,
    )
    .unwrap();
    let sent = orderer.dispatch(world(), &terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()));
    assert_eq!(world().wait_status(&terms.order, "declined").as_deref(), Some("declined"));
    world().wait_shop_state(&terms.order, "cancelled");
}

#[test]
fn insufficient_funds() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, agents::OPENING * 2);
    orderer.pay(world(), &terms);
    world().send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, agents::OPENING * 2));
    expect_rejection(&orderer, &terms, "insufficient-funds");
}

#[test]
fn five_wrong_answers_block_the_order() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let (terms, confirm) = confirmed(&mut orderer);
    let Body::Confirm(c) = &confirm.body else { unreachable!() };
    for _ in 0..5 {
        let wrong = Approve {
            order: terms.order.clone(),
            password: PasswordA::generate(&mut rand::rng()),
            code: c.code.clone(),
        };
        let mail = compose::approve(&wrong, &terms.orderer, &terms.bank, &confirm.thread());
        orderer.send(world(), &mail.build(mailpay::clock::now(), &mut rand::rng()));
    }
    expect_rejection(&orderer, &terms, "too-many-attempts");
    world().wait_shop_state(&terms.order, "cancelled");
    // The right answer now comes too late.
    let right =
        Approve { order: terms.order.clone(), password: terms.password.clone(), code: c.code.clone() };
    let mail = compose::approve(&right, &terms.orderer, &terms.bank, &confirm.thread());
    orderer.send(world(), &mail.build(mailpay::clock::now(), &mut rand::rng()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(world().ledger().payment(&terms.order).unwrap().status, "rejected");
    assert!(orderer.mails(world(), Kind::Settled, &terms.order).is_empty());
}

#[test]
fn mailing_list_mail_is_recorded_and_never_answered() {
    let orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    let [_, request] = compose::order(&terms);
    let mut mail = request.build(mailpay::clock::now(), &mut rand::rng());
    mail.bytes = [b"List-Id: <buyers.lists.buyer.test>\r\n".as_slice(), &mail.bytes].concat();
    orderer.send(world(), &mail);
    let deadline = std::time::Instant::now() + agents::WAIT;
    loop {
        let trail = world().ledger().trail(&terms.order).unwrap();
        if let Some(line) = trail.first() {
            assert_eq!(trail.len(), 1, "nothing sent in answer: {trail:#?}");
            assert!(line.outcome.contains("mailing list"), "{line:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the list mail never reached the bank");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(world().ledger().trail(&terms.order).unwrap().len(), 1);
    assert!(world().ledger().payment(&terms.order).is_err(), "no payment is opened");
    assert!(orderer.mails(world(), Kind::Rejected, &terms.order).is_empty());
}

#[test]
fn order_expiring_while_the_bank_waits_for_the_answer() {
    let mut orderer = Orderer::new(world(), ORDERER);
    let mut terms = orderer.terms(world(), Method::Confirm, 1000);
    // Long enough for order, bill and confirmation on a busy machine.
    terms.expires = terms.created.plus_seconds(30);
    orderer.pay(world(), &terms);
    let (confirm, _) = orderer.wait_mail(world(), Kind::Confirm, &terms.order, |_| true);
    assert_eq!(confirm.from, addr(BANK));
    // Nobody answers: the bank's clock ends the order and tells both sides.
    expect_rejection(&orderer, &terms, "expired");
    world().wait_shop_state(&terms.order, "cancelled");
}

#[test]
fn an_altered_block_is_recorded_with_the_reason_and_not_answered() {
    let orderer = Orderer::new(world(), ORDERER);
    let terms = shop2_terms(&orderer, Method::Confirm, 1000);
    let [_, request] = compose::order(&terms);
    let mut mail = request.build(mailpay::clock::now(), &mut rand::rng());
    let text = String::from_utf8(mail.bytes.clone()).unwrap();
    assert!(text.contains("Amount: 1000 JPY"), "{text}");
    mail.bytes = text.replace("Amount: 1000 JPY", "Amount: 10 JPY").into_bytes();
    orderer.send(world(), &mail);
    let deadline = std::time::Instant::now() + agents::WAIT;
    while !world()
        .ledger()
        .unhandled()
        .unwrap()
        .iter()
        .any(|o| o.starts_with("not valid MailPay") && o.contains("Check"))
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", world().ledger().unhandled());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(world().ledger().payment(&terms.order).is_err(), "no payment is opened");
    assert!(orderer.mails(world(), Kind::Rejected, &terms.order).is_empty(), "nothing is answered");
}
