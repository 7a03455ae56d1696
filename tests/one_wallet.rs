//! The desktop app and the command line are one wallet (`src/wallet`):
//!
//! - the app sends through the very dispatch the command line uses
//!   (`Wallet::dispatch`), crash points included: the app's own adapters
//!   (`ui::backend::place`, `dispatch`, `retry`), run in a process of their
//!   own, are killed with SIGKILL between the two mails of a payment and
//!   started again; each mail arrives once, and the payment goes on. The
//!   child is this test binary run again with `MAILPAY_APP_CHILD` set: it
//!   opens the wallet as the app does (`backend::load`: the config file,
//!   the password from the session keyring) and drives the adapters;
//! - `mailpay watch` answers a payment approved in advance on its own, as
//!   the app does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailpay::paths::Paths;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::{Method, Money, OrderId, OrderTerms, PasswordA};
use mailpay::ui::backend::{self, Order};
use support::mailstack;
use support::processes::{self, World, expect_in_mailbox, order_id, watch_until};

const CHILD: &str = "MAILPAY_APP_CHILD";
const TEST: &str = "the_apps_dispatch_killed_between_the_mails_sends_each_once";

/// The child's part: `place` records a new payment and sends it, printing
/// its order id first; `retry ORDER` retries it. Exits when done.
fn child(what: &str) {
    let home = std::env::var("MAILPAY_HOME").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let loaded = backend::load(Paths::under(Path::new(&home))).await.unwrap();
        let session = loaded.sessions.first().cloned().expect("the orderer's account and password");
        let order = match what.split_once(' ') {
            Some(("retry", order)) => {
                let order: OrderId = order.parse().unwrap();
                let sent = backend::retry(loaded.home, vec![session], order.clone()).await.unwrap();
                println!("retried {order}: {} sent", sent.iter().filter(|s| s.result.is_ok()).count());
                return;
            }
            _ => {
                let mut rng = rand::rng();
                let created = mailpay::clock::now();
                let (order, nonce) = OrderId::for_orderer(&session.account.address, &mut rng);
                let price = Money::new(100, "JPY".parse().unwrap()).unwrap();
                let terms = OrderTerms {
                    order,
                    orderer: session.account.address.clone(),
                    merchant: "shop@shop.test".parse().unwrap(),
                    bank: "bank@bank.test".parse().unwrap(),
                    amount: price,
                    items: vec![LineItem::new(1, "Tea", Some(price)).unwrap()],
                    password: PasswordA::generate(&mut rng),
                    created,
                    expires: created.plus_seconds(3600),
                    method: Method::Confirm,
                    board: None,
                    nonce: Some(nonce),
                };
                let order = Order { terms, cheque_for: None, pre_approved: false };
                backend::place(loaded.home.clone(), order.clone()).await.unwrap()
            }
        };
        // On a line of its own: the test harness has written "test NAME ... ".
        println!("\nplaced {order}");
        backend::dispatch(loaded.home, vec![session], order).await.unwrap();
    });
}

/// Runs the child, armed to halt at `step`; returns the order id it
/// printed once it halted there, after killing it with SIGKILL.
fn killed_at(home: &Path, step: &str) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD, "place")
        .env("MAILPAY_HOME", home)
        .env("MAILPAY_KEYRING", "keyutils")
        .env("MAILPAY_FAULT_HALT", step)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let marker = format!("MAILPAY_FAULT_HALT: halted at {step}");
    let (mut order, mut said) = (None, String::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(&marker) => break,
            Ok(line) => {
                if let Some(id) = line.strip_prefix("placed ") {
                    order = Some(id.trim().to_string());
                }
                said.push_str(&format!("{line}\n"));
            }
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("the app's dispatch ended ({status}) before halting at {step}:\n{said}");
                }
            }
        }
        assert!(Instant::now() < deadline, "the app's dispatch never halted at {step}:\n{said}");
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9), "killed with SIGKILL at {step}");
    order.unwrap_or_else(|| panic!("no order id printed:\n{said}"))
}

fn retried(home: &Path, order: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD, format!("retry {order}"))
        .env("MAILPAY_HOME", home)
        .env("MAILPAY_KEYRING", "keyutils")
        .env_remove("MAILPAY_FAULT_HALT")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the app's retry failed:\n{text}");
    text
}

#[test]
fn the_apps_dispatch_killed_between_the_mails_sends_each_once() {
    if let Ok(what) = std::env::var(CHILD) {
        child(&what);
        return;
    }
    if !processes::in_session_keyring(TEST) {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "crash-app", 10_000);
    let home = &world.home;

    let order = killed_at(home, "between-mails");
    let (request, sent_order) = (
        processes::message_id(home, &order, "payment-request"),
        processes::message_id(home, &order, "order"),
    );
    // The first mail left before the halt; the second did not.
    let first_arrived = [(&sent_order, "shop@shop.test"), (&request, "bank@bank.test")]
        .iter()
        .filter(|(id, to)| stack.wait_for_message(to, id, Duration::from_secs(10)).is_some())
        .count();
    assert_eq!(first_arrived, 1, "exactly one mail left before the app was killed");

    let said = retried(home, &order);
    assert!(said.contains(&format!("retried {order}: 1 sent")), "only the other mail: {said}");
    expect_in_mailbox(stack, "shop@shop.test", &sent_order, 1);
    expect_in_mailbox(stack, "bank@bank.test", &request, 1);
    let db = rusqlite::Connection::open(home.join("data/mailpay.sqlite3")).unwrap();
    let state: String = db
        .query_row(
            "SELECT state FROM payment WHERE replace(order_id, '-', '') = replace(?1, '-', '')",
            [&order],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "sent", "the payment goes on");
}

/// An order approved in advance is answered by `mailpay watch` on its own,
/// as the app answers it: the bank's confirmation states exactly the
/// order, the OK leaves without `mailpay approve`, and the payment settles.
#[test]
fn mailpay_watch_answers_an_order_approved_in_advance() {
    if !processes::in_session_keyring("mailpay_watch_answers_an_order_approved_in_advance") {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "advance", 10_000);
    let _bank = world.start_bank(&world.dir.join("bank.log"), None);
    let _shop = world.start_shop(&world.dir.join("shop.log"));
    let placed = world.mailpay(&[
        "order",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "300",
        "JPY",
        "--item",
        "Tea",
        "--approve-in-advance",
    ]);
    let order = order_id(&placed);
    let seen = watch_until(&world.home, &order, "-> settled");
    assert!(seen.contains("approve to bank@bank.test for order"), "the OK went out: {seen}");
    assert!(seen.contains("accepted (approved in advance)"), "{seen}");
    assert_eq!(world.bank(&["balance", "orderer@buyer.test", "JPY"]).trim(), "9700 JPY");
}
