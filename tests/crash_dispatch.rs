//! Crash safety, with SIGKILL: the real `mailpay` command line and the
//! bank agent, each stopped at a precise step by the fault hook
//! (`MAILPAY_FAULT_HALT`, src/fault.rs) and killed there, then restarted
//! (`mailpay retry`, `watch`, the agent again). Every payment completes;
//! each mail is counted in the recipients' Maildirs; the bank settles each
//! order once and the balances move once.
//!
//! One window is inherent to SMTP: the server has taken a mail but the
//! wallet has not yet written that down (`mails-accepted`). The mail is
//! then sent again with the same Message-ID, so it arrives twice; the test
//! shows that the bank and the merchant take it once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{mailstack, processes};

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use processes::{MAILPAY, World, command, expect_in_mailbox, message_id, wait_for_text, watch_until_all};

/// Runs `mailpay ARGS` armed to halt at `step`, waits until it says it
/// halted there, and kills it with SIGKILL.
fn kill_at(home: &Path, args: &[&str], step: &str) {
    let mut child = command(MAILPAY, home, args)
        .env("MAILPAY_FAULT_HALT", step)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let marker = format!("MAILPAY_FAULT_HALT: halted at {step}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut said = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(&marker) => break,
            Ok(line) => said.push_str(&format!("{line}\n")),
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("mailpay {args:?} ended ({status}) before halting at {step}:\n{said}");
                }
            }
        }
        assert!(Instant::now() < deadline, "mailpay {args:?} never halted at {step}:\n{said}");
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed with SIGKILL at {step}");
}

/// The newest payment's order id, straight from the wallet's database.
fn newest_order(home: &Path) -> String {
    let db = rusqlite::Connection::open(home.join("data/mailpay.sqlite3")).unwrap();
    db.query_row("SELECT order_id FROM payment ORDER BY created DESC, rowid DESC LIMIT 1", [], |r| r.get(0))
        .unwrap()
}

const ORDER: [&str; 9] =
    ["order", "--merchant", "shop@shop.test", "--bank", "bank@bank.test", "--amount", "100", "JPY", "--item"];

fn order_args(item: &str) -> Vec<&str> {
    let mut args = ORDER.to_vec();
    args.push(item);
    args
}

#[test]
fn killed_at_every_step_the_payments_complete_once() {
    if !processes::in_session_keyring("killed_at_every_step_the_payments_complete_once") {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "crash", 10_000);
    let home = &world.home;
    let mut bank = world.start_bank(&world.dir.join("bank.log"), None);
    let _shop = world.start_shop(&world.dir.join("shop.log"));
    let mut faults = 0;
    let delivered = |order: &str, kind: &str, to: &str, copies: usize| {
        expect_in_mailbox(stack, to, &message_id(home, order, kind), copies);
    };

    // 1. Killed once the payment and both mails are written, before any
    // leaves: nothing arrives; `retry` sends each once.
    kill_at(home, &order_args("Tea 1"), "payment-recorded");
    faults += 1;
    let recorded = newest_order(home);
    std::thread::sleep(Duration::from_secs(1));
    delivered(&recorded, "order", "shop@shop.test", 0);
    delivered(&recorded, "payment-request", "bank@bank.test", 0);
    let retried = world.mailpay(&["retry", &recorded]);
    assert_eq!(retried.matches(": accepted").count(), 2, "{retried}");
    delivered(&recorded, "order", "shop@shop.test", 1);
    delivered(&recorded, "payment-request", "bank@bank.test", 1);

    // 2. Killed between the two mails: the first arrived, `retry` sends
    // only the second.
    kill_at(home, &order_args("Tea 2"), "between-mails");
    faults += 1;
    let between = newest_order(home);
    let retried = world.mailpay(&["retry", &between]);
    assert_eq!(retried.matches(": accepted").count(), 1, "only the other mail: {retried}");
    delivered(&between, "order", "shop@shop.test", 1);
    delivered(&between, "payment-request", "bank@bank.test", 1);

    // 3. Killed after the server took both, before the wallet wrote it
    // down: `retry` cannot know and sends both again, same Message-IDs.
    kill_at(home, &order_args("Tea 3"), "mails-accepted");
    faults += 1;
    let accepted = newest_order(home);
    delivered(&accepted, "order", "shop@shop.test", 1);
    delivered(&accepted, "payment-request", "bank@bank.test", 1);
    world.mailpay(&["retry", &accepted]);
    delivered(&accepted, "order", "shop@shop.test", 2);
    delivered(&accepted, "payment-request", "bank@bank.test", 2);

    // 4. Killed after both were sent and written down: `retry` sends
    // nothing.
    kill_at(home, &order_args("Tea 4"), "mails-recorded");
    faults += 1;
    let after_both = newest_order(home);
    let retried = world.mailpay(&["retry", &after_both]);
    assert!(!retried.contains("accepted"), "nothing left to send: {retried}");
    delivered(&after_both, "order", "shop@shop.test", 1);
    delivered(&after_both, "payment-request", "bank@bank.test", 1);

    // The merchant billed each order once, the duplicated one included.
    let shown: Vec<String> = [&recorded, &between, &accepted, &after_both].map(|o| display(o)).to_vec();
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    for order in &shown {
        expect_in_mailbox(stack, "bank@bank.test", &format!("Subject: Bill for order {order}"), 1);
    }
    watch_until_all(home, &shown, "awaiting-confirmation");

    // 5. Approvals: killed with the OK written and not sent; killed after
    // the server took it; killed after it was written down as sent.
    for (order, step) in
        [(&recorded, "approve-queued"), (&between, "mails-accepted"), (&accepted, "mails-recorded")]
    {
        kill_at(home, &["approve", &display(order)], step);
        faults += 1;
        world.mailpay(&["retry", &display(order)]);
    }
    delivered(&recorded, "approve", "bank@bank.test", 1);
    delivered(&between, "approve", "bank@bank.test", 2);
    delivered(&accepted, "approve", "bank@bank.test", 1);
    let again = processes::run(MAILPAY, home, &["approve", &display(&recorded)], "");
    assert!(!again.status.success(), "an order answered once cannot be approved again");

    // 6. The bank killed after it settled an order in its ledger, before
    // its notices left; restarted, it sends them, once.
    drop(bank);
    let halted_log = world.dir.join("bank-halted.log");
    let halted = world.start_bank(&halted_log, Some("bank-processed-approve"));
    world.mailpay(&["approve", &display(&after_both)]);
    wait_for_text(&halted_log, "halted at bank-processed-approve", Duration::from_secs(60));
    let mut halted = halted;
    halted.0.kill().unwrap();
    assert_eq!(halted.0.wait().unwrap().signal(), Some(9));
    faults += 1;
    bank = world.start_bank(&world.dir.join("bank-again.log"), None);

    watch_until_all(home, &shown, "-> settled");
    for order in &shown {
        let paid = format!("Subject: Paid: order {order}");
        expect_in_mailbox(stack, "orderer@buyer.test", &paid, 1);
        expect_in_mailbox(stack, "shop@shop.test", &paid, 1);
    }
    let payments = world.bank(&["payments"]);
    for order in [&recorded, &between, &accepted, &after_both] {
        let line = payments.lines().find(|l| l.starts_with(&order.replace('-', ""))).unwrap();
        assert!(line.contains("settled"), "{line}");
    }
    assert_eq!(world.bank(&["balance", "orderer@buyer.test", "JPY"]).trim(), "9600 JPY");
    assert_eq!(world.bank(&["balance", "shop@shop.test", "JPY"]).trim(), "400 JPY");
    // The shop ships when it has read the bank's notice, which may come
    // after the orderer's.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let orders = world.shop(&["orders"]);
        let shipped = orders.lines().filter(|l| l.contains("shipped")).count();
        assert!(shipped <= 4, "{orders}");
        if shipped == 4 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not all four shipped: {orders}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(bank);
    println!("faults injected and survived: {faults} SIGKILLs");
    assert_eq!(faults, 8);
}

/// An order id as the command line shows it (groups of four).
fn display(order: &str) -> String {
    order.parse::<mailpay::protocol::OrderId>().unwrap().to_string()
}
