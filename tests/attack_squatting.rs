//! Attack: order-id squatting, raced for real. Order ids are public: the
//! board shows one as soon as the orderer posts its record, before any of
//! the orderer's mails leave. The squatter is a process of its own (this
//! test binary again, in squatter mode) that polls the merchant's board
//! and, the moment a new record appears, mails under that order id from
//! its own account at the bank (orderer2): an order to the shop and a
//! payment request to the bank as itself, a payment request naming the
//! victim as orderer, a refusal in the merchant's place, and a board
//! record of its own. The victim's mails leave only once the squatter's
//! have been handled, so the squatter is first at the bank and the shop.
//!
//! Before order ids were bound to their orderer (PROTOCOL.md 2), the bank
//! took the squatter's payment request as the order's, answered the
//! victim's `duplicate`, and the shop billed the squatter's order and
//! ignored the victim's: the victim's payment never settled. Now the
//! squatter is answered alone and the victim's payment settles once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{agents, mailstack};

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use agents::{BANK, ORDERER, ORDERER2, Orderer, SHOP, World, addr, initials, reason_of, wallet_key};
use mailpay::board::client;
use mailpay::mail::smtp::Smtp;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::compose;
use mailpay::protocol::message::Rejected;
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{Kind, Method, OrderId, OrderNonce, OrderTerms, PasswordA};

const TEST: &str = "a_squatter_polling_the_board_cannot_take_or_end_the_order";

/// The squatter, killed when dropped.
struct Squatter(Child);

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every `"order"` value in the board's listing.
fn listed_orders(board: &str) -> HashSet<String> {
    let address = board.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return HashSet::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /records.json HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut response).is_err() {
        return HashSet::new();
    }
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let mut orders = HashSet::new();
    let mut todo: Vec<serde_json::Value> = serde_json::from_str(body).into_iter().collect();
    while let Some(value) = todo.pop() {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(s) if key == "order" => {
                            orders.insert(s);
                        }
                        other => todo.push(other),
                    }
                }
            }
            serde_json::Value::Array(values) => todo.extend(values),
            _ => {}
        }
    }
    orders
}

/// The squatter's own terms under `order`: its address, its own A, a
/// nonce of its own (no nonce binds another orderer's id to it).
fn squatting_terms(order: &OrderId, orderer: &str) -> OrderTerms {
    let mut rng = rand::rng();
    let created = mailpay::clock::now();
    OrderTerms {
        order: order.clone(),
        orderer: addr(orderer),
        merchant: addr(SHOP),
        bank: addr(BANK),
        amount: "1200 JPY".parse().unwrap(),
        items: vec![],
        password: PasswordA::generate(&mut rng),
        created,
        expires: created.plus_seconds(3600),
        method: Method::Confirm,
        board: None,
        nonce: Some(OrderNonce::generate(&mut rng)),
    }
}

/// Squatter mode: polls the board and mails under every new order id.
fn squat(stack_dir: &Path, board: &str, log: &Path) {
    let stack = mailstack::MailStack::from_env_file(stack_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let smtp = Smtp::new(&agents::account(&stack, ORDERER2), &stack.user(ORDERER2).password).unwrap();
    let mut seen = listed_orders(board);
    std::fs::write(log, "ready\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        for id in listed_orders(board) {
            if !seen.insert(id.clone()) {
                continue;
            }
            let order: OrderId = id.parse().unwrap();
            let now = mailpay::clock::now();
            let mut rng = rand::rng();
            let own = squatting_terms(&order, ORDERER2);
            let [to_shop, to_bank] = compose::order(&own);
            let [_, mut as_victim] = compose::order(&squatting_terms(&order, ORDERER));
            // From the squatter's own address: the mail server lets no one
            // send as another.
            as_victim.from = addr(ORDERER2);
            let refusal = Rejected {
                order: order.clone(),
                reason: RejectReason::MerchantRefused,
                detail: "out of stock".into(),
            };
            let refusal = compose::rejected(&refusal, &addr(ORDERER2), &addr(BANK), &Default::default());
            for draft in [to_shop, to_bank, as_victim, refusal] {
                runtime.block_on(smtp.send(&draft.build(now, &mut rng))).unwrap();
            }
            let record = BoardRecord::signed(&id, "M.A.", &now.to_string(), &wallet_key(ORDERER2));
            let posted = runtime.block_on(client::Client::default().post(board, &record));
            let mut text = std::fs::read_to_string(log).unwrap_or_default();
            text.push_str(&format!("sent {id} (board: {posted:?})\n"));
            std::fs::write(log, text).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for(file: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in {}:\n{text}", file.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_squatter_polling_the_board_cannot_take_or_end_the_order() {
    if let (Ok(stack), Ok(board), Ok(log)) =
        (std::env::var("SQUATTER_STACK"), std::env::var("SQUATTER_BOARD"), std::env::var("SQUATTER_LOG"))
    {
        return squat(Path::new(&stack), &board, Path::new(&log));
    }
    let world = World::start("squatting", Duration::from_secs(2));
    let mut victim = Orderer::new(&world, ORDERER);
    let log: PathBuf = world.dir.join("squatter.log");
    let _squatter = Squatter(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
            .env("SQUATTER_STACK", &world.stack.dir)
            .env("SQUATTER_BOARD", &world.board_url)
            .env("SQUATTER_LOG", &log)
            .spawn()
            .unwrap(),
    );
    wait_for(&log, "ready");

    // Fig. 3: the victim's record goes on the board first, as the wallet
    // posts it; its mails wait until the squatter's were handled.
    let terms = victim.terms(&world, Method::Board, 1200);
    let record = BoardRecord::for_order(&terms, initials(ORDERER), &wallet_key(ORDERER));
    victim.place_posting(&world, &terms, Vec::new(), Some(&record));
    wait_for(&log, &format!("sent {}", terms.order));
    world.wait_trail_reason(&terms.order, "payment-request", "payer-mismatch");
    let squatted_order = format!("Subject: Order {}", terms.order);
    let deadline = Instant::now() + Duration::from_secs(30);
    // In the inbox, or already read and moved to the MailPay folder.
    let delivered =
        || [None, Some("MailPay")].iter().any(|f| world.stack.count_in_folder(SHOP, *f, &squatted_order) > 0);
    while !delivered() {
        assert!(Instant::now() < deadline, "the squatter's order never reached the shop");
        std::thread::sleep(Duration::from_millis(50));
    }
    victim.send_placed(&world, &terms.order);

    world.wait_status(&terms.order, "settled");
    world.wait_shop_state(&terms.order, "shipped");
    assert_eq!(world.ledger().transfers().unwrap(), 1);
    assert_eq!(world.balance(SHOP), 1200);
    // The victim's notice comes by its own route, maybe after the shop's.
    victim.wait_mail(&world, Kind::Settled, &terms.order, |_| true);
    assert_eq!(victim.mails(&world, Kind::Settled, &terms.order).len(), 1);
    assert!(
        victim.mails(&world, Kind::Rejected, &terms.order).is_empty(),
        "the victim is told nothing of the squatter"
    );

    // The squatter, and only the squatter, was answered: both payment
    // requests as payer-mismatch, the refusal as payee-mismatch.
    let squatter = Orderer::new(&world, ORDERER2);
    let deadline = Instant::now() + Duration::from_secs(30);
    let reasons = loop {
        let mut reasons: Vec<String> =
            squatter.mails(&world, Kind::Rejected, &terms.order).iter().map(reason_of).collect();
        reasons.sort();
        if reasons.len() >= 3 || Instant::now() > deadline {
            break reasons;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reasons, ["payee-mismatch", "payer-mismatch", "payer-mismatch"]);
    // The shop billed the victim's order, never the squatter's.
    let bills = world.ledger().trail(&terms.order).unwrap();
    let billed: Vec<_> = bills.iter().filter(|l| l.direction == "in" && l.kind == "bill").collect();
    assert_eq!(billed.len(), 1, "{bills:#?}");
    assert_eq!(billed[0].party, SHOP);
}
