//! Adversarial mail over the real wire: Postfix and Dovecot (the test mail
//! stack), the real IMAP watcher feeding the real wallet, and the bank and
//! merchant agents running on their own watchers. Forged, look-alike,
//! unauthenticated, wrong, crossed and replayed confirmations never make
//! the wallet queue an OK, and forged or wrong bills and OKs never move
//! money at the bank; each is refused with a reason. Genuine mails, the
//! controls, are taken over the same paths.
//!
//! The wallet answers every confirmation of these orders at once
//! (pre-approved), the setting under which only its own checks stand
//! between a mail and an OK.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{agents, tamper, wire};

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use agents::{BANK, ORDERER, ORDERER2, Orderer, SHOP, SHOP2, WAIT, World, addr, jpy};
use mailpay::bank::ledger::TrailLine;
use mailpay::clock;
use mailpay::mail::imap::Received;
use mailpay::paths::Paths;
use mailpay::protocol::compose::{self, Outgoing, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Approve, Confirm};
use mailpay::protocol::payment::{Effect, Event, Notice, Outbound};
use mailpay::protocol::{Body, Kind, Method, Money, OrderId, OrderTerms, PasswordA};
use mailpay::store::Store;
use mailpay::wallet::{self, MailServers, Receipt, Sent};
use tamper::{add_header, set_header};
use wire::{Inbox, fresh_id, submit};

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::start("wire", Duration::from_secs(2)))
}

/// Held by each test for its whole run: they share the orderers' and the
/// shops' accounts, whose balances they compare.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The one watcher on orderer@buyer.test's mailbox, shared by the tests
/// (two watchers would take each other's mails).
fn inbox() -> MutexGuard<'static, Inbox> {
    static INBOX: OnceLock<Mutex<Inbox>> = OnceLock::new();
    let inbox = INBOX.get_or_init(|| Mutex::new(Inbox::watch(&world().runtime, world().stack, ORDERER)));
    inbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn money(amount: u64) -> Money {
    Money::new(amount, jpy()).unwrap()
}

/// Terms of a new Fig. 1 order from `orderer` to `merchant`.
fn terms(orderer: &str, merchant: &str, amount: u64) -> OrderTerms {
    let mut rng = rand::rng();
    let created = clock::now();
    OrderTerms {
        order: OrderId::generate(&mut rng),
        orderer: addr(orderer),
        merchant: addr(merchant),
        bank: addr(BANK),
        amount: money(amount),
        items: vec![LineItem::new(1, "Green tea 100g", Some(money(amount))).unwrap()],
        password: PasswordA::generate(&mut rng),
        created,
        expires: created.plus_seconds(24 * 3600),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
    .bound(&mut rand::rng())
}

/// The confirmation the bank would send for `terms`, with a code the
/// sender made up.
fn confirm_for(terms: &OrderTerms) -> Confirm {
    Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: "4F7K-Q2MX".parse::<ConfirmationCode>().unwrap(),
        expires: terms.expires,
        attempts_left: 5,
        proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
    }
}

fn confirm_mail(confirm: &Confirm) -> Outgoing {
    compose::confirm(confirm, &addr(BANK), &Thread::default()).build(clock::now(), &mut rand::rng())
}

/// The orderer's wallet (orderer@buyer.test): its own store, fed by the
/// real watcher on its mailbox, sending with its own SMTP login.
struct Wallet {
    store: Store,
    db: PathBuf,
    /// The same wallet as every front end drives it.
    service: mailpay::wallet::Wallet,
    servers: MailServers,
}

impl Wallet {
    fn new() -> Wallet {
        let world = world();
        let dir = agents::temp_dir("wire-wallet");
        let paths = Paths::under(&dir);
        let db = paths.database();
        let store = Store::open(&db).unwrap();
        let service = mailpay::wallet::Wallet::open(paths).unwrap();
        let servers =
            MailServers::new(agents::account(world.stack, ORDERER), &world.stack.user(ORDERER).password);
        Wallet { store, db, service, servers }
    }

    /// Sends the order's queued mails.
    fn dispatch(&self, order: &OrderId) -> Vec<Sent> {
        world().runtime.block_on(self.service.dispatch(&self.servers, order)).unwrap()
    }

    /// Records `terms` as sent (both mails accepted by the server) without
    /// sending them: the bank never hears of this order.
    fn placed(&mut self, terms: &OrderTerms) {
        wallet::place(&mut self.store, terms, None, clock::now()).unwrap();
        for mail in [Outbound::Order, Outbound::PaymentRequest] {
            wallet::act(&self.store, &terms.order, &Event::Accepted(mail), None, false).unwrap();
        }
        self.store.set_pre_approved(&terms.order, true).unwrap();
    }

    /// OKs queued for `order` (sent or not); every OK ever queued with `None`.
    fn approvals(&self, order: Option<&OrderId>) -> i64 {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        let order = order.map(|o| o.as_str().to_string());
        db.query_row(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'approve' AND (?1 IS NULL OR order_id = ?1)",
            [order],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn state(&self, order: &OrderId) -> String {
        self.store.load(order).unwrap().1.name().to_string()
    }

    /// What the wallet recorded for the mail with `message_id`.
    fn recorded(&self, message_id: &str) -> Option<String> {
        let db = rusqlite::Connection::open(&self.db).unwrap();
        db.query_row("SELECT outcome FROM received WHERE message_id = ?1", [message_id], |r| r.get(0)).ok()
    }

    /// Takes the mail the watcher hands over, as the wallet's watcher does:
    /// pre-approval as the payment records it.
    fn take(&self, (raw, received): &wire::Delivered) -> Verdict {
        // Anything but a valid MailPay mail never reaches the payment.
        let Received::MailPay(mail) = received else {
            return Verdict::NotMailPay(format!("{received:?}"));
        };
        let order = mail.body.order();
        let pre_approved =
            self.store.payment(order).unwrap().is_some() && self.store.pre_approved(order).unwrap();
        Verdict::Receipt(wallet::receive(&self.store, mail, raw, pre_approved).unwrap())
    }

    /// Waits for the mail with `message_id` and takes it.
    fn deliver(&self, message_id: &str) -> Verdict {
        let delivered = inbox().take(message_id, WAIT);
        self.take(&delivered)
    }
}

#[derive(Debug)]
enum Verdict {
    NotMailPay(String),
    Receipt(Receipt),
}

impl Verdict {
    /// The reason it was refused, or `None` if it was taken.
    fn refusal(&self) -> Option<String> {
        match self {
            Verdict::NotMailPay(why) => Some(format!("not MailPay: {why}")),
            Verdict::Receipt(Receipt::Refused { reason, .. }) => Some(reason.clone()),
            Verdict::Receipt(Receipt::UnknownOrder(order)) => Some(format!("unknown order {order}")),
            Verdict::Receipt(Receipt::Duplicate) => Some("seen before".into()),
            Verdict::Receipt(Receipt::Stepped { effects, .. }) => effects.iter().find_map(|e| match e {
                Effect::Notify(Notice::Suspicious(why)) => Some(why.clone()),
                _ => None,
            }),
            // Not for the orderer, or not about the payment at all.
            Verdict::Receipt(other) => Some(format!("not taken: {other:?}")),
        }
    }
}

/// A confirmation that must be refused: the wallet queued no OK for its
/// order, the payment did not move on (a confirmation whose figures differ
/// is shown for review, and approving it stays impossible), and the
/// refusal has a reason.
fn assert_refused(wallet: &Wallet, name: &str, order: Option<&OrderId>, verdict: &Verdict) {
    let why = verdict.refusal().unwrap_or_else(|| panic!("{name}: taken: {verdict:?}"));
    assert!(!why.trim().is_empty(), "{name}: refused without a reason");
    let Some(order) = order else { return };
    assert_eq!(wallet.approvals(Some(order)), 0, "{name}: an OK was queued");
    match wallet.state(order).as_str() {
        "sent" => {}
        "awaiting-confirmation" => {
            let approve = wallet::act(&wallet.store, order, &Event::UserApprove, None, false);
            assert!(approve.is_err(), "{name}: the differing confirmation can be approved");
            assert_eq!(wallet.approvals(Some(order)), 0, "{name}: an OK was queued");
            assert_eq!(wallet.state(order), "awaiting-confirmation", "{name}");
        }
        other => panic!("{name}: the payment moved to {other}"),
    }
}

/// The confirmation for `terms` at another price, its items adding up.
fn dearer(terms: &OrderTerms, amount: u64) -> Confirm {
    let items = vec![LineItem::new(1, "Green tea 100g", Some(money(amount))).unwrap()];
    Confirm { amount: money(amount), items, ..confirm_for(terms) }
}

/// An adversarial mail: its name, the login and envelope sender it is
/// submitted with, the order it attacks, the raw mail and its Message-ID.
type Case = (&'static str, &'static str, &'static str, Option<OrderId>, Vec<u8>, String);

/// A new order of 1200 JPY to shop2, placed in `wallet` as sent.
fn victim(wallet: &mut Wallet) -> OrderTerms {
    let terms = terms(ORDERER, SHOP2, 1200);
    wallet.placed(&terms);
    terms
}

/// An HTML-only mail from the bank: `html` is all it says.
fn html_only(message_id: &str, html: &str) -> Vec<u8> {
    format!(
        "From: {BANK}\r\nTo: {ORDERER}\r\nSubject: Confirm payment\r\nMessage-ID: <{message_id}>\r\n\
         Date: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n",
        chrono_like_date(),
    )
    .into_bytes()
}

/// An RFC 5322 date; its value does not matter to MailPay.
fn chrono_like_date() -> &'static str {
    "Fri, 27 Nov 2026 09:00:00 +0000"
}

#[test]
fn the_submission_port_refuses_an_envelope_sender_the_login_does_not_own() {
    let _serial = one_at_a_time();
    let world = world();
    let genuine = confirm_mail(&confirm_for(&terms(ORDERER, SHOP, 1200)));
    // orderer2 logs in and claims to be the bank in the envelope too.
    let refused = submit(&world.runtime, world.stack, ORDERER2, BANK, ORDERER, genuine.bytes.clone());
    let error = refused.expect_err("Postfix took MAIL FROM:<bank@bank.test> from orderer2's login");
    assert!(error.to_string().contains("not owned by user"), "{error}");
    // Its own envelope goes through: the header From is not checked by this
    // stack, and what the receiver can see of the real sender is the
    // Return-Path and the authenticated sender in the Received line.
    let id = fresh_id("confirm.header-forged", "bank.test");
    let forged = set_header(&genuine.bytes, "Message-ID", &format!("<{id}>"));
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, ORDERER, forged).unwrap();
    let (raw, _) = inbox().take(&id, WAIT);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Return-Path: <orderer2@buyer.test>"), "{text}");
    assert!(text.contains("Authenticated sender: orderer2@buyer.test"), "{text}");
    assert!(text.contains("\nFrom: <bank@bank.test>"), "{text}");
}

/// The same header forgery against an order in flight, with no
/// Authentication-Results to go on: the forger, who does not know A,
/// cannot make the proof the bank's confirmation carries.
#[test]
fn a_header_forged_confirmation_sends_no_ok() {
    let _serial = one_at_a_time();
    let world = world();
    let mut wallet = Wallet::new();
    let victim = terms(ORDERER, SHOP2, 1200);
    wallet.placed(&victim);
    let forged = Confirm { proof: None, ..confirm_for(&victim) };
    let mail = confirm_mail(&forged);
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, ORDERER, mail.bytes).unwrap();
    let verdict = wallet.deliver(&mail.message_id);
    assert_refused(&wallet, "header From forged, envelope orderer2", Some(&victim.order), &verdict);
}

/// Whatever the wallet makes of a header-forged confirmation, the bank it
/// answers moves no money on it: the code is the bank's, and the order
/// still settles once, on the bank's own confirmation and the orderer's OK.
#[test]
fn a_header_forged_confirmation_moves_no_money_and_the_order_still_settles() {
    let _serial = one_at_a_time();
    let world = world();
    let mut wallet = Wallet::new();
    let terms = terms(ORDERER, SHOP2, 1_400);
    wallet::place(&mut wallet.store, &terms, None, clock::now()).unwrap();
    wallet.store.set_pre_approved(&terms.order, true).unwrap();
    let sent = wallet.dispatch(&terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    world.wait_status(&terms.order, "collecting");
    let before = balances(world);

    // orderer2 forges the bank's confirmation, with the right figures but,
    // not knowing A, no proof.
    let forged = confirm_mail(&Confirm { proof: None, ..confirm_for(&terms) });
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, ORDERER, forged.bytes).unwrap();
    let taken = wallet.deliver(&forged.message_id);
    println!("the header-forged confirmation: {taken:?}");
    assert_eq!(wallet.approvals(Some(&terms.order)), 0, "the forgery was answered: {taken:?}");
    assert_eq!(wallet.state(&terms.order), "sent", "the forgery moved the payment: {taken:?}");
    assert_eq!(balances(world), before, "money moved on a forged confirmation");
    assert_eq!(world.ledger().payment(&terms.order).unwrap().status, "collecting");

    // shop2 bills; the bank's own confirmation arrives and, the forgery
    // having taken nothing, is answered at once (pre-approved) and settles.
    world.send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1_400));
    let is_confirm = |_: &[u8], r: &Received| matches!(r, Received::MailPay(m) if m.body.kind() == Kind::Confirm && *m.body.order() == terms.order && m.from == addr(BANK) && m.message_id.as_deref() != Some(forged.message_id.as_str()));
    let (raw, received) = inbox().take_where(WAIT, is_confirm).expect("the bank's confirmation");
    let verdict = wallet.take(&(raw, received.clone()));
    assert_eq!(wallet.state(&terms.order), "approved", "{verdict:?}");
    let sent = wallet.dispatch(&terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    world.wait_status(&terms.order, "settled");
    let [o1, o2, s1, s2] = before;
    assert_eq!(balances(world), [o1 - 1_400, o2, s1, s2 + 1_400], "settled once");
}

#[test]
fn adversarial_confirmations_over_the_wire_never_send_an_ok() {
    let _serial = one_at_a_time();
    let world = world();
    let mut wallet = Wallet::new();
    let other = terms(ORDERER, SHOP2, 50_000);
    wallet.placed(&other);

    let mut cases: Vec<Case> = Vec::new();

    // The control through the same path: the bank's own login, the right figures.
    let control = victim(&mut wallet);
    let mail = confirm_mail(&confirm_for(&control));
    let control_id = mail.message_id.clone();
    submit(&world.runtime, world.stack, BANK, BANK, ORDERER, mail.bytes).unwrap();

    let t = victim(&mut wallet);
    let raw = set_header(&confirm_mail(&confirm_for(&t)).bytes, "From", "b\u{430}nk@bank.test");
    let id = fresh_id("confirm.lookalike", "bank.test");
    let raw = set_header(&raw, "Message-ID", &format!("<{id}>"));
    cases.push(("look-alike sender (Cyrillic a)", ORDERER2, ORDERER2, Some(t.order.clone()), raw, id));

    let t = victim(&mut wallet);
    let raw = set_header(&confirm_mail(&confirm_for(&t)).bytes, "From", "bank@bank.test.buyer.test");
    let id = fresh_id("confirm.suffix", "bank.test");
    let raw = set_header(&raw, "Message-ID", &format!("<{id}>"));
    cases.push(("look-alike sender (domain suffix)", ORDERER2, ORDERER2, Some(t.order.clone()), raw, id));

    let t = victim(&mut wallet);
    let raw = set_header(&confirm_mail(&confirm_for(&t)).bytes, "From", &format!("\"{BANK}\" <{ORDERER2}>"));
    let id = fresh_id("confirm.display", "bank.test");
    let raw = set_header(&raw, "Message-ID", &format!("<{id}>"));
    cases.push(("the bank's address as display name", ORDERER2, ORDERER2, Some(t.order.clone()), raw, id));

    let unknown = confirm_mail(&confirm_for(&terms(ORDERER, SHOP2, 1200)));
    cases.push(("right bank, unknown order", BANK, BANK, None, unknown.bytes, unknown.message_id));

    let t = victim(&mut wallet);
    let mail = confirm_mail(&dearer(&t, 12_000));
    cases.push(("right bank, wrong amount", BANK, BANK, Some(t.order.clone()), mail.bytes, mail.message_id));

    let t = victim(&mut wallet);
    let mail = confirm_mail(&Confirm { amount: money(12_000), ..confirm_for(&t) });
    cases.push((
        "right bank, amount raised, items left as ordered",
        BANK,
        BANK,
        Some(t.order.clone()),
        mail.bytes,
        mail.message_id,
    ));

    let t = victim(&mut wallet);
    let mail = confirm_mail(&Confirm { merchant: addr(SHOP), ..confirm_for(&t) });
    cases.push(("right bank, wrong payee", BANK, BANK, Some(t.order.clone()), mail.bytes, mail.message_id));

    // The other order's confirmation (its amount, its thread) under this
    // order's id: the figures of another order.
    let t = victim(&mut wallet);
    let crossed = Confirm { order: t.order.clone(), ..confirm_for(&other) };
    let mail = confirm_mail(&crossed);
    cases.push((
        "another order's confirmation",
        BANK,
        BANK,
        Some(t.order.clone()),
        mail.bytes,
        mail.message_id,
    ));

    // This order's confirmation threaded under the other order's request.
    let t = victim(&mut wallet);
    let thread = Thread {
        in_reply_to: Some(format!("payment-request.{}.AAAAAAAA@buyer.test", other.order.as_str())),
        references: vec![],
        subject: None,
    };
    let mail = compose::confirm(&confirm_for(&t), &addr(BANK), &thread).build(clock::now(), &mut rand::rng());
    cases.push((
        "threaded under another order",
        BANK,
        BANK,
        Some(t.order.clone()),
        mail.bytes,
        mail.message_id,
    ));

    let t = victim(&mut wallet);
    let dearer = dearer(&t, 120_000);
    let id = fresh_id("confirm.html", "bank.test");
    let html = format!(
        "<p>Please confirm <b>1200 JPY</b> to {SHOP2}.</p><div style=\"display:none\"><pre>{}</pre></div>",
        dearer.to_block().render()
    );
    cases.push((
        "HTML only, the visible figure not the block's",
        BANK,
        BANK,
        Some(t.order.clone()),
        html_only(&id, &html),
        id,
    ));

    for verdict in ["dkim=fail", "spf=fail", "dmarc=fail"] {
        let t = victim(&mut wallet);
        let mail = confirm_mail(&confirm_for(&t));
        let header = format!("Authentication-Results: mx.buyer.test; {verdict} header.from=bank.test");
        let name = match verdict {
            "dkim=fail" => "right figures, dkim=fail",
            "spf=fail" => "right figures, spf=fail",
            _ => "right figures, dmarc=fail",
        };
        cases.push((
            name,
            BANK,
            BANK,
            Some(t.order.clone()),
            add_header(&mail.bytes, &header),
            mail.message_id,
        ));
    }

    let t = victim(&mut wallet);
    let mail = confirm_mail(&confirm_for(&t));
    let raw = add_header(&mail.bytes, "List-Id: <payments.lists.bank.test>");
    cases.push((
        "right figures, through a mailing list",
        BANK,
        BANK,
        Some(t.order.clone()),
        raw,
        mail.message_id,
    ));

    for (name, login, envelope, _, raw, _) in &cases {
        submit(&world.runtime, world.stack, login, envelope, ORDERER, raw.clone())
            .unwrap_or_else(|e| panic!("{name}: not submitted: {e}"));
    }

    let verdict = wallet.deliver(&control_id);
    assert!(verdict.refusal().is_none(), "the control is refused: {verdict:?}");
    assert_eq!(wallet.approvals(Some(&control.order)), 1, "the control's OK");
    assert_eq!(wallet.state(&control.order), "approved");

    for (name, _, _, order, _, id) in &cases {
        let verdict = wallet.deliver(id);
        assert_refused(&wallet, name, order.as_ref(), &verdict);
        assert_eq!(wallet.approvals(None), 1, "{name}: an OK was queued");
        if let Verdict::Receipt(_) = verdict {
            let outcome = wallet.recorded(id);
            assert!(outcome.is_some(), "{name}: the mail is not in the wallet's record");
        }
        println!("refused over the wire: {name}: {}", verdict.refusal().unwrap());
    }
    assert_eq!(wallet.approvals(None), 1, "only the control's OK");
    assert_eq!(wallet.approvals(Some(&other.order)), 0);
}

/// Fig. 1 end to end with the real agents, then the bank's own confirmation
/// replayed under new Message-IDs: after the OK went out, and after the
/// order settled.
#[test]
fn a_replayed_confirmation_is_not_answered_twice() {
    let _serial = one_at_a_time();
    let world = world();
    let mut wallet = Wallet::new();
    let terms = terms(ORDERER, SHOP, 1_300);
    let orderer_before = world.balance(ORDERER);
    let shop_before = world.balance(SHOP);
    wallet::place(&mut wallet.store, &terms, None, clock::now()).unwrap();
    wallet.store.set_pre_approved(&terms.order, true).unwrap();
    let sent = wallet.dispatch(&terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert_eq!(wallet.state(&terms.order), "sent");

    // The bank's confirmation, through the watcher: answered at once.
    let is_confirm = |_: &[u8], r: &Received| matches!(r, Received::MailPay(m) if m.body.kind() == Kind::Confirm && *m.body.order() == terms.order);
    let genuine = inbox().take_where(WAIT, is_confirm).expect("the bank's confirmation");
    let verdict = wallet.take(&genuine);
    assert!(verdict.refusal().is_none(), "the bank's confirmation: {verdict:?}");
    assert_eq!(wallet.state(&terms.order), "approved");
    assert_eq!(wallet.approvals(Some(&terms.order)), 1);
    let sent = wallet.dispatch(&terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");

    // Replayed by someone who captured it, under a new Message-ID.
    let id = fresh_id("confirm.replay", "bank.test");
    let replay = set_header(&genuine.0, "Message-ID", &format!("<{id}>"));
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, ORDERER, replay.clone()).unwrap();
    // Take it before the settled notice, whenever that arrives.
    let verdict = wallet.deliver(&id);
    let why = verdict.refusal().unwrap_or_else(|| panic!("the replay is taken: {verdict:?}"));
    assert!(!why.is_empty());
    assert_eq!(wallet.state(&terms.order), "approved", "the replay moved the payment");
    assert_eq!(wallet.approvals(Some(&terms.order)), 1, "a second OK for a replay");
    assert!(wallet.recorded(&id).is_some(), "the replay is not in the wallet's record");

    // The bank settles on the one OK.
    let is_settled = |_: &[u8], r: &Received| matches!(r, Received::MailPay(m) if m.body.kind() == Kind::Settled && *m.body.order() == terms.order);
    let settled = inbox().take_where(WAIT, is_settled).expect("the settled notice");
    let verdict = wallet.take(&settled);
    assert!(verdict.refusal().is_none(), "the settled notice: {verdict:?}");
    assert_eq!(wallet.state(&terms.order), "settled");
    assert_eq!(world.balance(ORDERER), orderer_before - 1_300);
    assert_eq!(world.balance(SHOP), shop_before + 1_300);

    // Replayed again once the order is settled.
    let id = fresh_id("confirm.late", "bank.test");
    let late = set_header(&genuine.0, "Message-ID", &format!("<{id}>"));
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, ORDERER, late).unwrap();
    let verdict = wallet.deliver(&id);
    assert!(verdict.refusal().is_some(), "a confirmation for a settled order is taken: {verdict:?}");
    assert_eq!(wallet.state(&terms.order), "settled");
    assert_eq!(wallet.approvals(Some(&terms.order)), 1);
    assert_eq!(world.balance(ORDERER), orderer_before - 1_300, "money moved again");
}

// ---------------------------------------------------------------------------
// The bank.

/// The four accounts' balances.
fn balances(world: &World) -> [u64; 4] {
    [ORDERER, ORDERER2, SHOP, SHOP2].map(|a| world.balance(a))
}

/// Waits until the bank recorded the mail `message_id` about `order`.
fn recorded_at_bank(world: &World, order: &OrderId, message_id: &str) -> TrailLine {
    let deadline = Instant::now() + WAIT;
    loop {
        let trail = world.ledger().trail(order).unwrap_or_default();
        if let Some(line) = trail.iter().find(|l| l.direction == "in" && l.message_id.contains(message_id)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "the bank never recorded {message_id}: {trail:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ok_mail(terms: &OrderTerms, from: &str, password: &PasswordA, code: &ConfirmationCode) -> Outgoing {
    let approve = Approve { order: terms.order.clone(), password: password.clone(), code: code.clone() };
    compose::approve(&approve, &addr(from), &addr(BANK), &Thread::default())
        .build(clock::now(), &mut rand::rng())
}

/// The code of the latest confirmation orderer2 received for `order`, with
/// `attempts` wrong answers left.
fn code_of(world: &World, orderer: &Orderer, order: &OrderId, attempts: u8) -> ConfirmationCode {
    let (mail, _) = orderer.wait_mail(
        world,
        Kind::Confirm,
        order,
        |m| matches!(&m.body, Body::Confirm(c) if c.attempts_left == attempts),
    );
    let Body::Confirm(confirm) = mail.body else { unreachable!() };
    assert_eq!(mail.from, addr(BANK));
    confirm.code
}

#[test]
fn forged_bills_and_oks_over_the_wire_never_move_money() {
    let _serial = one_at_a_time();
    let world = world();
    // orderer2 pays shop2, whose bills are written here, so that forged
    // ones can come first.
    let mut orderer = Orderer::new(world, ORDERER2);
    let order = terms(ORDERER2, SHOP2, 1_000);
    let second = terms(ORDERER2, SHOP2, 2_000);
    orderer.pay(world, &order);
    orderer.pay(world, &second);
    world.wait_status(&order.order, "collecting");
    world.wait_status(&second.order, "collecting");
    let before = balances(world);
    let transfers = world.ledger().transfers().unwrap();
    let unmoved = |name: &str| {
        assert_eq!(balances(world), before, "{name}: money moved");
        assert_eq!(world.ledger().transfers().unwrap(), transfers, "{name}: a transfer");
    };

    // Bills from a customer who is not the order's merchant, and from an
    // address without an account: refused, the order stands.
    let bill = Orderer::bill(ORDERER, &order, &order, 1_000);
    world.send_as(ORDERER, &bill);
    let line = recorded_at_bank(world, &order.order, &bill.message_id);
    assert_eq!(line.reason.as_deref(), Some("payee-mismatch"), "{line:?}");
    let bill = Orderer::bill("bank2@bank2.test", &order, &order, 1_000);
    world.send_as("bank2@bank2.test", &bill);
    let line = recorded_at_bank(world, &order.order, &bill.message_id);
    assert_eq!(line.reason.as_deref(), Some("unknown-payee"), "{line:?}");
    assert_eq!(world.ledger().payment(&order.order).unwrap().status, "collecting");
    unmoved("forged bills");

    // The merchant's own bills: the bank asks orderer2.
    world.send_as(SHOP2, &Orderer::bill(SHOP2, &order, &order, 1_000));
    world.send_as(SHOP2, &Orderer::bill(SHOP2, &second, &second, 2_000));
    let code = code_of(world, &orderer, &order.order, 5);
    let second_code = code_of(world, &orderer, &second.order, 5);
    assert_eq!(world.wait_status(&order.order, "awaiting-answer"), None);

    // The right A and code, but from another customer of the bank.
    let forged = ok_mail(&order, ORDERER, &order.password, &code);
    world.send_as(ORDERER, &forged);
    let line = recorded_at_bank(world, &order.order, &forged.message_id);
    println!("forged OK: {line:?}");
    assert!(line.reason.is_some() || line.outcome.contains("not answered"), "{line:?}");
    unmoved("an OK from another customer");

    // The right A and code from orderer2, but its authentication failed.
    let mail = ok_mail(&order, ORDERER2, &order.password, &code);
    let failed =
        add_header(&mail.bytes, "Authentication-Results: mx.bank.test; dmarc=fail header.from=buyer.test");
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, BANK, failed).unwrap();
    let line = recorded_at_bank(world, &order.order, &mail.message_id);
    assert!(line.outcome.contains("authentication"), "{line:?}");
    unmoved("an OK that failed DMARC");

    // A wrong A, then the A of orderer2's other order: each counted and
    // answered with the confirmation again, one attempt fewer.
    let wrong = ok_mail(&order, ORDERER2, &PasswordA::generate(&mut rand::rng()), &code);
    orderer.send(world, &wrong);
    let line = recorded_at_bank(world, &order.order, &wrong.message_id);
    assert_eq!(line.reason.as_deref(), Some("code-mismatch"), "{line:?}");
    let code = code_of(world, &orderer, &order.order, 4);
    unmoved("an OK with a wrong A");
    let crossed = ok_mail(&order, ORDERER2, &second.password, &code);
    orderer.send(world, &crossed);
    let line = recorded_at_bank(world, &order.order, &crossed.message_id);
    assert_eq!(line.reason.as_deref(), Some("code-mismatch"), "{line:?}");
    code_of(world, &orderer, &order.order, 3);
    unmoved("an OK with another order's A");
    // The other order's code with this order's A.
    let crossed = ok_mail(&order, ORDERER2, &order.password, &second_code);
    orderer.send(world, &crossed);
    let line = recorded_at_bank(world, &order.order, &crossed.message_id);
    assert_eq!(line.reason.as_deref(), Some("code-mismatch"), "{line:?}");
    let code = code_of(world, &orderer, &order.order, 2);
    unmoved("an OK with another order's code");
    assert_eq!(world.ledger().payment(&order.order).unwrap().status, "awaiting-answer");

    // The control: orderer2's genuine OK settles, once.
    let ok = ok_mail(&order, ORDERER2, &order.password, &code);
    orderer.send(world, &ok);
    world.wait_status(&order.order, "settled");
    let [o1, o2, s1, s2] = before;
    assert_eq!(balances(world), [o1, o2 - 1_000, s1, s2 + 1_000], "the control moves 1000 JPY once");
    let paid = balances(world);

    // The OK again as it was, then under a new Message-ID.
    orderer.send(world, &ok);
    let id = fresh_id("approve.replay", "buyer.test");
    let replay = set_header(&ok.bytes, "Message-ID", &format!("<{id}>"));
    submit(&world.runtime, world.stack, ORDERER2, ORDERER2, BANK, replay).unwrap();
    let line = recorded_at_bank(world, &order.order, &id);
    assert_eq!(line.reason.as_deref(), Some("already-answered"), "{line:?}");
    let trail = world.ledger().trail(&order.order).unwrap();
    let taken = trail.iter().filter(|l| l.direction == "in" && l.message_id.contains(&ok.message_id)).count();
    assert_eq!(taken, 1, "the same OK recorded twice: {trail:#?}");
    assert_eq!(balances(world), paid, "a replayed OK moved money");
    assert_eq!(world.ledger().transfers().unwrap(), transfers + 1);
}
