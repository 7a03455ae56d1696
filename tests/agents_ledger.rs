//! The bank's ledger on its own (real SQLite, real age, mails built and
//! parsed by the protocol core, no mail server): a Fig. 2 order settles
//! once, every mail handled again does nothing, mails are queued before
//! they are sent, and the ledger survives being reopened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mailpay::agent::Book;
use mailpay::agent::held_back::Taken;
use mailpay::bank::ledger::Ledger;
use mailpay::protocol::cheque::{Cheque, WalletKey};
use mailpay::protocol::compose::{self, Outgoing};
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Bill, WalletMail};
use mailpay::protocol::parse::{Incoming, parse};
use mailpay::protocol::{
    Currency, EmailAddress, Kind, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp,
};

fn addr(a: &str) -> EmailAddress {
    a.parse().unwrap()
}

fn jpy() -> Currency {
    "JPY".parse().unwrap()
}

fn incoming(mail: Outgoing) -> (Incoming, Vec<u8>) {
    (parse(&mail.bytes).unwrap(), mail.bytes)
}

/// A Fig. 2 order at a fresh ledger: the orderer (5000 JPY, with a
/// registered wallet key) and the shop have accounts; its mails are built
/// and not yet taken.
struct ChequeOrder {
    path: std::path::PathBuf,
    ledger: Ledger,
    recipient: age::x25519::Recipient,
    now: Timestamp,
    terms: OrderTerms,
    cheque: Cheque,
    bill: Bill,
    order: Incoming,
    request: compose::Draft,
}

impl ChequeOrder {
    fn new(name: &str, key: &WalletKey) -> ChequeOrder {
        let dir = std::env::temp_dir().join(format!(
            "mailpay-ledger-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let path = dir.join("ledger.sqlite");
        let now = Timestamp(1_795_630_158);
        let ledger = Ledger::open(&path).unwrap();
        ledger
            .open_account(&addr("t@buyer.test"), Some("T.S."), Some(&key.public().to_string()), None, now)
            .unwrap();
        ledger.open_account(&addr("shop@shop.test"), None, None, None, now).unwrap();
        ledger.set_balance(&addr("t@buyer.test"), jpy(), 5000).unwrap();
        let recipient: age::x25519::Recipient = ledger.recipient().unwrap().parse().unwrap();
        let amount = Money::new(1200, jpy()).unwrap();
        let terms = OrderTerms {
            order: OrderId::generate(&mut rand::rng()),
            orderer: addr("t@buyer.test"),
            merchant: addr("shop@shop.test"),
            bank: addr("bank@bank.test"),
            amount,
            items: vec![LineItem::new(2, "Green tea", Some(Money::new(600, jpy()).unwrap())).unwrap()],
            password: PasswordA::generate(&mut rand::rng()),
            created: now,
            expires: now.plus_seconds(3600),
            method: Method::Cheque,
            board: None,
            nonce: None,
        }
        .bound(&mut rand::rng());
        let [order, request] = compose::order(&terms);
        let (order, _) = incoming(order.build(now, &mut rand::rng()));
        let cheque = Cheque {
            order: terms.order.clone(),
            payer: terms.orderer.clone(),
            payee: terms.merchant.clone(),
            amount,
            password: terms.password.clone(),
            issued: now,
        };
        let bill = Bill {
            order: terms.order.clone(),
            merchant: terms.merchant.clone(),
            orderer: terms.orderer.clone(),
            items: terms.items.clone(),
            total: amount,
            billed: now,
            quoted_order: terms.clone(),
        };
        ChequeOrder { path, ledger, recipient, now, terms, cheque, bill, order, request }
    }

    /// The wallet mail with the cheque signed by `key`.
    fn wallet(&self, key: &WalletKey) -> compose::Draft {
        let mail = WalletMail {
            order: self.terms.order.clone(),
            orderer: self.terms.orderer.clone(),
            cheque: self.cheque.seal(key, &self.recipient).unwrap(),
        };
        compose::wallet(&mail, &self.terms.bank)
    }

    /// The bill as `merchant` would send it.
    fn bill_from(&self, merchant: &str) -> compose::Draft {
        let bill = Bill { merchant: addr(merchant), ..self.bill.clone() };
        compose::bill(&bill, self.order.order_block.as_ref().unwrap(), &self.order.thread())
    }

    fn take(&mut self, draft: compose::Draft) -> mailpay::bank::ledger::Processed {
        let (mail, raw) = incoming(draft.build(self.now, &mut rand::rng()));
        self.ledger.process(&addr("bank@bank.test"), &mail, &raw, self.now).unwrap()
    }
}

#[test]
fn a_cheque_order_settles_once_and_replays_do_nothing() {
    let key = WalletKey::generate(&mut rand::rng());
    let order = ChequeOrder::new("cheque", &key);
    let mut rng = rand::rng();
    let (wallet, bill) = (order.wallet(&key), order.bill_from("shop@shop.test"));
    let now = order.now;
    let mails =
        [order.request.clone().build(now, &mut rng), wallet.build(now, &mut rng), bill.build(now, &mut rng)]
            .map(incoming);
    let ChequeOrder { path, mut ledger, recipient, terms, .. } = order;

    let bank = addr("bank@bank.test");
    let mut outcomes = Vec::new();
    for (mail, raw) in &mails {
        outcomes.push(ledger.process(&bank, mail, raw, now).unwrap());
    }
    let last = outcomes.last().unwrap();
    assert!(last.note.starts_with("settled"), "{:?}", outcomes.iter().map(|o| &o.note).collect::<Vec<_>>());
    let kinds: Vec<Kind> = last.outgoing.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [Kind::Settled, Kind::Settled]);
    // Queued before sending: both notices wait in the outbox until marked.
    assert_eq!(ledger.unsent(false, now).unwrap().len(), 2);
    ledger.mark_sent(&last.outgoing[0].message_id, now).unwrap();
    assert_eq!(ledger.unsent(false, now).unwrap().len(), 1);

    // That notice bounces (the orderer's mailbox is full): it waits 10 s
    // before it goes out again, after a restart too; the same report again
    // changes nothing; a second bounce doubles the wait.
    let notice = &last.outgoing[0].message_id;
    let report = |n: u8| format!("Subject: Undelivered Mail Returned to Sender {n}\r\n\r\n").into_bytes();
    let wait_of = |taken: Taken| match taken {
        Taken::PutBack { wait, .. } => wait,
        other => panic!("not put back: {other:?}"),
    };
    let taken = ledger.take_bounce(&report(1), notice, "bounce", "mailbox full", now).unwrap();
    assert_eq!(wait_of(taken), Duration::from_secs(10));
    assert_eq!(ledger.take_bounce(&report(1), notice, "bounce", "mailbox full", now).unwrap(), Taken::Seen);
    drop(ledger);
    let ledger = Ledger::open(&path).unwrap();
    let waiting = |ledger: &Ledger, at: Timestamp| {
        ledger.unsent(false, at).unwrap().iter().all(|m| &m.message_id != notice)
    };
    assert!(waiting(&ledger, now.plus_seconds(9)), "held back across a restart");
    assert!(!waiting(&ledger, now.plus_seconds(10)));
    ledger.mark_sent(notice, now.plus_seconds(10)).unwrap();
    let taken =
        ledger.take_bounce(&report(2), notice, "bounce", "mailbox full", now.plus_seconds(11)).unwrap();
    assert_eq!(wait_of(taken), Duration::from_secs(20));
    assert!(waiting(&ledger, now.plus_seconds(30)));
    assert!(!waiting(&ledger, now.plus_seconds(31)));
    ledger.mark_sent(notice, now.plus_seconds(31)).unwrap();
    let attempts: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT attempts FROM outbox WHERE message_id = ?1", [notice], |r| r.get(0))
        .unwrap();
    assert_eq!(attempts, 3, "each try to send is counted");

    // The same mails again (a restart that re-reads the mailbox): nothing.
    drop(ledger);
    let mut ledger = Ledger::open(&path).unwrap();
    for (mail, raw) in &mails {
        let again = ledger.process(&bank, mail, raw, now).unwrap();
        assert!(again.duplicate && again.outgoing.is_empty(), "{}", again.note);
    }
    // The same request sent again (new Message-ID, same content): nothing.
    let [_, resent] = compose::order(&terms);
    let (mail, raw) = incoming(resent.build(now, &mut rng));
    let again = ledger.process(&bank, &mail, &raw, now).unwrap();
    assert!(!again.duplicate && again.outgoing.is_empty() && again.reason.is_none(), "{}", again.note);
    assert_eq!(ledger.transfers().unwrap(), 1);
    assert_eq!(ledger.balance(&addr("t@buyer.test"), jpy()).unwrap(), 3800);
    assert_eq!(ledger.balance(&addr("shop@shop.test"), jpy()).unwrap(), 1200);
    assert_eq!(ledger.total(jpy()).unwrap(), 5000);
    assert_eq!(ledger.recipient().unwrap(), recipient.to_string(), "the bank keeps its key");
    let trail = ledger.trail(&terms.order).unwrap();
    assert_eq!(trail.iter().filter(|l| l.direction == "in").count(), 4);
    assert_eq!(trail.iter().filter(|l| l.direction == "out").count(), 2);

    // A new order with the same A is refused even though the first settled.
    let reuse = terms.clone().bound(&mut rng);
    let [_, request] = compose::order(&reuse);
    let (mail, raw) = incoming(request.build(now, &mut rng));
    let refused = ledger.process(&bank, &mail, &raw, now).unwrap();
    assert_eq!(refused.reason.map(|r| r.code()), Some("password-reused"));
    assert_eq!(refused.outgoing.len(), 1);
    assert_eq!(refused.outgoing[0].kind, Kind::Rejected);
}

#[test]
fn balances_need_an_account_and_the_schema_is_versioned() {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-ledger-v-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let path = dir.join("ledger.sqlite");
    let ledger = Ledger::open(&path).unwrap();
    let err = ledger.set_balance(&addr("nobody@x.test"), jpy(), 1).unwrap_err();
    assert!(err.to_string().contains("open-account"), "{err}");
    drop(ledger);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, 2);
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Ledger::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer mailpay-bank"), "{err}");
}

/// Mails for an order from others than its orderer and merchant that reach
/// the bank before the payment request (a stranger's cheque, a bill from
/// another shop with an account, by someone who learnt the order id): kept
/// aside until the request says who is who, then answered and counted for
/// nothing. The real cheque and bill, coming after them, settle the order.
#[test]
fn what_others_send_before_the_payment_request_counts_for_nothing() {
    let key = WalletKey::generate(&mut rand::rng());
    let mut order = ChequeOrder::new("strays", &key);
    order.ledger.open_account(&addr("shop@shop2.test"), None, None, None, order.now).unwrap();
    let mut forged = order.wallet(&WalletKey::generate(&mut rand::rng()));
    forged.from = addr("mallory@evil.test");
    let (squatted, wallet, bill) =
        (order.bill_from("shop@shop2.test"), order.wallet(&key), order.bill_from("shop@shop.test"));
    for draft in [forged, squatted, wallet, bill] {
        let done = order.take(draft);
        assert!(done.outgoing.is_empty() && done.reason.is_none(), "kept, nothing said yet: {}", done.note);
    }
    let done = order.take(order.request.clone());
    assert!(done.note.starts_with("settled"), "{}", done.note);
    let mut answered: Vec<(String, String)> = done
        .outgoing
        .iter()
        .map(|m| {
            let what = match parse(&m.bytes).unwrap().body {
                mailpay::protocol::message::Body::Rejected(r) => r.reason.code().to_string(),
                other => other.kind().as_str().to_string(),
            };
            (m.to.to_string(), what)
        })
        .collect();
    answered.sort();
    let expected = [
        ("mallory@evil.test", "payer-mismatch"),
        ("shop@shop.test", "settled"),
        ("shop@shop2.test", "payee-mismatch"),
        ("t@buyer.test", "settled"),
    ]
    .map(|(to, what)| (to.to_string(), what.to_string()));
    assert_eq!(answered, expected);
    assert_eq!(order.ledger.balance(&addr("t@buyer.test"), jpy()).unwrap(), 3800);
    assert_eq!(order.ledger.balance(&addr("shop@shop.test"), jpy()).unwrap(), 1200);
    assert_eq!(order.ledger.transfers().unwrap(), 1);
}
