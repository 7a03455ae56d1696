//! The bank's mail server unreachable when it must answer: the answer is
//! kept in the ledger's outbox, marked failed, and sent once the server is
//! back, exactly once, and the payment completes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{agents, mailstack, relay};

use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agents::{ORDERER, Orderer, SHOP, World};
use mailpay::protocol::Method;
use relay::Relay;

#[test]
fn a_confirmation_that_could_not_be_sent_goes_out_once_the_server_is_back() {
    let relay: OnceLock<Relay> = OnceLock::new();
    let world = World::start_with("faults", Duration::from_secs(2), |runtime, bank| {
        let r = relay.get_or_init(|| Relay::start(runtime, mailstack::shared().submission_port));
        bank.smtp.port = r.port;
    });
    let relay = relay.get().unwrap();
    let mut orderer = Orderer::new(&world, ORDERER);
    let terms = orderer.terms(&world, Method::Confirm, 900);
    orderer.pay(&world, &terms);

    // The bank matches the order but cannot reach its mail server.
    let deadline = Instant::now() + agents::WAIT;
    loop {
        let trail = world.ledger().trail(&terms.order).unwrap();
        if trail
            .iter()
            .any(|l| l.direction == "out" && l.kind == "confirm" && l.outcome.starts_with("failed"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the confirmation never failed: {trail:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(relay.refused.load(Ordering::SeqCst) >= 1);
    assert_eq!(world.ledger().payment(&terms.order).unwrap().status, "awaiting-answer");

    // The server is back: the queued confirmation goes out on the bank's clock.
    relay.open();
    orderer.approve_and_settle_once(&world, &terms.order);
    assert_eq!(world.balance(SHOP), 900);
}
