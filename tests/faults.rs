//! Server faults caused for real on a private Postfix + Dovecot: the
//! wallet keeps trying with a growing wait while the failures are
//! temporary, says why it waits, and ends with each mail delivered once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{accounts, mailstack};

use std::sync::mpsc;
use std::time::Duration;

use mailpay::protocol::payment::State;
use mailpay::wallet::{self, Backoff, MailServers, Progress};

use mailstack::MailStack;

const ORDERER: &str = "orderer@buyer.test";
const SHOP: &str = "shop@shop.test";
const BANK: &str = "bank@bank.test";

/// Places an order and dispatches it on a thread of its own with quick
/// retries; returns the progress reports as they come and the final state.
fn dispatch_in_background(
    stack: &MailStack,
) -> (mailpay::protocol::OrderTerms, mpsc::Receiver<Progress>, std::thread::JoinHandle<State>) {
    let (mut store, db) = accounts::temp_store("faults");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 4200);
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    let account = accounts::account(stack, ORDERER);
    let password = accounts::password(stack, ORDERER);
    let order = terms.order.clone();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let servers = MailServers::new(account, &password);
        let backoff =
            Backoff { first: Duration::from_millis(300), max: Duration::from_secs(2), attempts: 60 };
        let sent = runtime
            .block_on(accounts::wallet_over(&db).dispatch_until_sent(&servers, &order, backoff, |p| {
                let _ = tx.send(p);
            }))
            .unwrap();
        assert!(sent.iter().all(|s| s.result.is_ok()), "the last attempt failed: {sent:?}");
        store.load(&order).unwrap().1
    });
    (terms, rx, worker)
}

/// The first `Waiting` report, skipping attempts.
fn first_wait(progress: &mpsc::Receiver<Progress>) -> String {
    loop {
        match progress.recv_timeout(Duration::from_secs(60)).expect("a progress report") {
            Progress::Waiting { reason, retry_in } => {
                assert!(retry_in <= Duration::from_secs(3), "waits are bounded: {retry_in:?}");
                return reason;
            }
            Progress::Attempted { sent, .. } => assert!(sent.iter().all(|s| s.result.is_err()), "{sent:?}"),
            Progress::BoardPosted { url } => {
                panic!("these orders post no board record, yet {url} was posted")
            }
        }
    }
}

fn delivered_once(stack: &MailStack, address: &str, order: &str) {
    assert!(
        stack.wait_for_message(address, order, Duration::from_secs(30)).is_some(),
        "{order} never reached {address}"
    );
    std::thread::sleep(Duration::from_millis(700));
    let copies = stack
        .inbox_files(address)
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap_or_default().contains(order))
        .count();
    assert_eq!(copies, 1, "{address} got {copies} copies of the mail about {order}");
}

#[test]
fn postfix_down_during_dispatch_is_waited_out() {
    let stack = MailStack::start_private();
    stack.stop_postfix();
    let (terms, progress, worker) = dispatch_in_background(&stack);
    let reason = first_wait(&progress);
    assert!(reason.contains("connection") || reason.contains("Connection"), "the user is told why: {reason}");
    // Still down for another round or two, then back.
    first_wait(&progress);
    stack.start_postfix();
    assert_eq!(worker.join().unwrap(), State::Sent);
    delivered_once(&stack, SHOP, terms.order.as_str());
    delivered_once(&stack, BANK, terms.order.as_str());
}

#[test]
fn a_temporary_4xx_reply_is_retried_until_the_server_takes_the_mail() {
    let stack = MailStack::start_private();
    stack.defer_recipient(SHOP);
    stack.defer_recipient(BANK);
    let (terms, progress, worker) = dispatch_in_background(&stack);
    let reason = first_wait(&progress);
    assert!(reason.contains("451"), "the server's reply is passed on: {reason}");
    stack.accept_recipient(SHOP);
    stack.accept_recipient(BANK);
    assert_eq!(worker.join().unwrap(), State::Sent);
    delivered_once(&stack, SHOP, terms.order.as_str());
    delivered_once(&stack, BANK, terms.order.as_str());
}
