//! Sending an order through a real Postfix + Dovecot (tests/mailstack):
//! both mails leave at once, arrive intact, and every failure is reported
//! per mail with the server's reply while the payment record stays
//! consistent, so that a retry sends only what did not leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{accounts, dropping_smtp, mailstack};

use std::path::Path;
use std::time::Duration;

use mailpay::mail::account::{Account, Security, Server};
use mailpay::mail::smtp::SendError;
use mailpay::protocol::parse;
use mailpay::protocol::payment::{Event, State};
use mailpay::protocol::{Body, OrderTerms};
use mailpay::wallet::{self, Sent};

use mailstack::MailStack;

const ORDERER: &str = "orderer@buyer.test";
const SHOP: &str = "shop@shop.test";
const BANK: &str = "bank@bank.test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn dispatch(db: &Path, account: &Account, password: &str, terms: &OrderTerms) -> Vec<Sent> {
    accounts::dispatch(&runtime(), db, account, password, &terms.order)
}

fn result_for<'a>(sent: &'a [Sent], kind: &str) -> &'a Result<(), SendError> {
    &sent
        .iter()
        .find(|s| s.kind.as_str() == kind)
        .unwrap_or_else(|| panic!("no {kind} mail in {sent:?}"))
        .result
}

/// The messages in `address`'s INBOX that mention `order`, read after
/// Postfix has had time to deliver any duplicate.
fn delivered(stack: &MailStack, address: &str, order: &str) -> Vec<Vec<u8>> {
    assert!(
        stack.wait_for_message(address, order, Duration::from_secs(20)).is_some(),
        "nothing about {order} reached {address}; postfix log:\n{}",
        std::fs::read_to_string(stack.postfix_log()).unwrap_or_default()
    );
    std::thread::sleep(Duration::from_millis(700));
    stack
        .inbox_files(address)
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|bytes| String::from_utf8_lossy(bytes).contains(order))
        .collect()
}

/// The lines (by index) where the Postfix connection that took the mail
/// with this Message-ID opened and, if it has, closed.
fn connection_of(log: &[&str], message_id: &str) -> (usize, Option<usize>) {
    let queue_id = log
        .iter()
        .find(|l| l.contains("cleanup[") && l.contains(&format!("message-id=<{message_id}>")))
        .and_then(|l| l.split(": ").nth(1))
        .unwrap_or_else(|| panic!("no cleanup line for {message_id} in\n{}", log.join("\n")));
    let client = log
        .iter()
        .position(|l| l.contains("smtpd[") && l.contains(&format!("{queue_id}: client=")))
        .unwrap_or_else(|| panic!("no smtpd line for queue id {queue_id}"));
    let pid = log[client].split("smtpd[").nth(1).and_then(|r| r.split(']').next()).unwrap();
    let tag = format!("smtpd[{pid}]: ");
    // Postfix reuses a process for later connections: take the connect
    // just before the mail and the disconnect just after it.
    let opened = (0..client)
        .rev()
        .find(|&i| log[i].contains(&tag) && log[i].contains(": connect from"))
        .unwrap_or_else(|| panic!("no connect line before {}", log[client]));
    let closed = (client..log.len()).find(|&i| log[i].contains(&tag) && log[i].contains(": disconnect from"));
    (opened, closed)
}

#[test]
fn both_mails_of_an_order_arrive_intact_and_were_submitted_at_once() {
    let stack = mailstack::shared();
    let (mut store, db) = accounts::temp_store("concurrent");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 1200);
    assert_eq!(wallet::place(&mut store, &terms, None, accounts::now()).unwrap().name(), "sending");
    let queued = store.unsent(Some(&terms.order)).unwrap();
    assert_eq!(queued.len(), 2, "the order and the payment request are recorded before anything is sent");

    let sent = dispatch(&db, &accounts::account(stack, ORDERER), &accounts::password(stack, ORDERER), &terms);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert!(store.unsent(Some(&terms.order)).unwrap().is_empty());
    assert_eq!(store.load(&terms.order).unwrap().1, State::Sent);

    for (address, kind) in [(SHOP, "order"), (BANK, "payment-request")] {
        let mails = delivered(stack, address, terms.order.as_str());
        assert_eq!(mails.len(), 1, "exactly one mail about the order in {address}");
        let incoming = parse::parse(&mails[0]).unwrap();
        assert_eq!(incoming.body.kind().as_str(), kind);
        let (Body::Order(got) | Body::PaymentRequest(got)) = &incoming.body else {
            panic!("{address} got {:?}", incoming.body)
        };
        assert_eq!(got, &terms, "{address} reads back what was sent");
        assert_eq!(incoming.from.as_str(), ORDERER);
    }

    // Server-side evidence of concurrency: the two mails came in on two
    // connections that were open at the same time. Sent one after the
    // other, the second connection would open after the first closed.
    // Postfix writes its log through its own logging daemon: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let log = loop {
        let log = std::fs::read_to_string(stack.postfix_log()).unwrap();
        let logged = |m: &str| log.contains(&format!("message-id=<{m}>"));
        if queued.iter().all(|q| logged(&q.message_id)) || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = log.lines().collect();
    let a = connection_of(&lines, &queued[0].message_id);
    let b = connection_of(&lines, &queued[1].message_id);
    assert_ne!(a.0, b.0, "both mails came in on one connection:\n{log}");
    for ((opened, _), (_, closed)) in [(a, b), (b, a)] {
        assert!(
            closed.is_none_or(|closed| opened < closed),
            "one connection opened only after the other closed:\n{log}"
        );
    }
}

#[test]
fn wrong_password_fails_both_mails_and_a_retry_sends_each_once() {
    let stack = mailstack::shared();
    let (mut store, db) = accounts::temp_store("wrong-password");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 300);
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    let account = accounts::account(stack, ORDERER);

    let sent = dispatch(&db, &account, "not-the-password", &terms);
    for kind in ["order", "payment-request"] {
        match result_for(&sent, kind) {
            Err(SendError::Login { user, reply }) => {
                assert_eq!(user, ORDERER);
                assert!(reply.contains("535"), "the server's reply is kept: {reply}");
            }
            other => panic!("{kind}: expected a login error, got {other:?}"),
        }
    }
    let unsent = store.unsent(Some(&terms.order)).unwrap();
    assert_eq!(unsent.len(), 2);
    assert!(
        unsent.iter().all(|m| m.last_error.as_deref().is_some_and(|e| e.contains("refused the login"))),
        "{unsent:?}"
    );
    assert!(matches!(store.load(&terms.order).unwrap().1, State::Failed { .. }));

    wallet::act(&store, &terms.order, &Event::Retry, None, false).unwrap();
    let sent = dispatch(&db, &account, &accounts::password(stack, ORDERER), &terms);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert_eq!(store.load(&terms.order).unwrap().1, State::Sent);
    assert_eq!(delivered(stack, SHOP, terms.order.as_str()).len(), 1);
    assert_eq!(delivered(stack, BANK, terms.order.as_str()).len(), 1);
}

#[test]
fn a_certificate_not_signed_by_a_trusted_ca_is_refused() {
    let stack = mailstack::shared();
    let (mut store, db) = accounts::temp_store("untrusted");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 500);
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    for mut account in [accounts::account(stack, ORDERER), accounts::account_smtps(stack, ORDERER)] {
        account.ca_file = None;
        let sent = dispatch(&db, &account, &accounts::password(stack, ORDERER), &terms);
        for s in &sent {
            match &s.result {
                Err(e @ SendError::Tls { host, .. }) => {
                    assert_eq!(host, "localhost");
                    assert!(e.to_string().contains("certificate"), "{e}");
                }
                other => panic!("{}: expected a TLS error, got {other:?}", s.kind),
            }
        }
    }
    assert_eq!(store.unsent(Some(&terms.order)).unwrap().len(), 2, "nothing is marked sent");
    assert!(
        stack
            .inbox_files(SHOP)
            .iter()
            .all(|f| !std::fs::read_to_string(f).unwrap_or_default().contains(terms.order.as_str()))
    );
}

#[test]
fn a_refused_recipient_fails_only_its_own_mail() {
    let stack = mailstack::shared();
    let (mut store, db) = accounts::temp_store("refused");
    let terms = accounts::terms(ORDERER, "nobody@shop.test", BANK, 800);
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    let sent = dispatch(&db, &accounts::account(stack, ORDERER), &accounts::password(stack, ORDERER), &terms);

    match result_for(&sent, "order") {
        Err(SendError::RecipientRefused { recipient, reply }) => {
            assert_eq!(recipient, "nobody@shop.test");
            assert!(reply.contains("550"), "the server's reply is kept: {reply}");
        }
        other => panic!("expected the recipient to be refused, got {other:?}"),
    }
    assert!(result_for(&sent, "payment-request").is_ok());
    let unsent = store.unsent(Some(&terms.order)).unwrap();
    assert_eq!(
        unsent.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
        ["order"],
        "the request is recorded as sent"
    );
    match store.load(&terms.order).unwrap().1 {
        State::Failed { reason, .. } => assert!(reason.contains("nobody@shop.test"), "{reason}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(delivered(stack, BANK, terms.order.as_str()).len(), 1);
}

#[test]
fn a_connection_dropped_during_data_is_a_temporary_failure_and_the_retry_delivers_once() {
    let stack = mailstack::shared();
    let runtime = runtime();
    let fake =
        runtime.block_on(dropping_smtp::start(&stack.dir.join("server.pem"), &stack.dir.join("server.key")));
    let (mut store, db) = accounts::temp_store("dropped");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 2500);
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    let password = accounts::password(stack, ORDERER);

    let mut to_fake = accounts::account(stack, ORDERER);
    to_fake.smtp = Server { host: "localhost".into(), port: fake.port, security: Security::Tls };
    let sent = accounts::dispatch(&runtime, &db, &to_fake, &password, &terms.order);
    for s in &sent {
        match &s.result {
            Err(e @ SendError::Connection { host, .. }) => {
                assert_eq!(host, "localhost");
                assert!(e.is_temporary(), "a broken connection is worth a retry");
            }
            other => panic!("{}: expected a broken connection, got {other:?}", s.kind),
        }
    }
    assert_eq!(fake.dropped.load(std::sync::atomic::Ordering::SeqCst), 2, "both mails reached DATA");
    assert_eq!(store.unsent(Some(&terms.order)).unwrap().len(), 2);
    assert!(matches!(store.load(&terms.order).unwrap().1, State::Failed { .. }));

    wallet::act(&store, &terms.order, &Event::Retry, None, false).unwrap();
    let sent = accounts::dispatch(&runtime, &db, &accounts::account(stack, ORDERER), &password, &terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert_eq!(delivered(stack, SHOP, terms.order.as_str()).len(), 1);
    assert_eq!(delivered(stack, BANK, terms.order.as_str()).len(), 1);
    let (_, state) = store.load(&terms.order).unwrap();
    assert_eq!(state, State::Sent);
}
