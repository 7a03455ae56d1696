//! Figs. 1 to 4 end to end over the real mail stack: the orderer's wallet,
//! the merchant agent (with its board) and the bank agent, each settling
//! one order; balances move exactly once and both notices arrive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;

use std::time::{Duration, Instant};

use agents::{ORDERER, Orderer, SHOP, World};
use mailpay::protocol::message::Body;
use mailpay::protocol::{Kind, Method};

/// Runs one order of `method` to settlement; returns how long it took.
fn settle(world: &World, orderer: &mut Orderer, method: Method, amount: u64) -> Duration {
    let (payer_before, shop_before) = (world.balance(ORDERER), world.balance(SHOP));
    let started = Instant::now();
    let terms = orderer.terms(world, method, amount);
    orderer.pay(world, &terms);
    if method.needs_confirmation() {
        let (confirm, raw) = orderer.wait_mail(world, Kind::Confirm, &terms.order, |_| true);
        let Body::Confirm(c) = &confirm.body else { unreachable!() };
        assert_eq!((c.amount, &c.merchant, c.attempts_left), (terms.amount, &terms.merchant, 5));
        orderer.receive(&confirm, &raw);
        assert_eq!(orderer.state(&terms.order).name(), "awaiting-confirmation");
        orderer.approve(world, &confirm);
    }
    let (settled, raw) = orderer.wait_mail(world, Kind::Settled, &terms.order, |_| true);
    let elapsed = started.elapsed();
    orderer.receive(&settled, &raw);
    assert_eq!(orderer.state(&terms.order).name(), "settled", "Fig. {}", method.figure());
    world.wait_status(&terms.order, "settled");
    world.wait_shop_state(&terms.order, "shipped");
    // Nothing moves twice: wait a moment for any stray second settlement.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(world.balance(ORDERER), payer_before - amount, "Fig. {}: payer debited once", method.figure());
    assert_eq!(world.balance(SHOP), shop_before + amount, "Fig. {}: merchant credited once", method.figure());
    assert_eq!(
        orderer.mails(world, Kind::Settled, &terms.order).len(),
        1,
        "one settled notice to the orderer"
    );
    let notices = world.wait_sent(&terms.order, "settled");
    assert_eq!(notices.len(), 2, "settled to orderer and merchant: {notices:#?}");
    assert!(notices.iter().any(|l| l.party == SHOP) && notices.iter().any(|l| l.party == ORDERER));
    if method.needs_board() {
        let board = world
            .runtime
            .block_on(mailpay::board::client::Client::default().fetch(&world.board_url, &terms.order))
            .unwrap();
        let posted: Vec<_> =
            board.iter().map(|r| (r.initials.as_str(), r.signed.as_ref().map(|(k, _)| *k))).collect();
        assert_eq!(
            posted,
            [("O.B.", Some(agents::wallet_key(ORDERER).public()))],
            "one record, signed by the orderer"
        );
    }
    elapsed
}

#[test]
fn figures_1_to_4_settle_once_with_both_notices() {
    let world = World::start("figures", Duration::from_secs(2));
    let mut orderer = Orderer::new(&world, ORDERER);
    let total_before = world.ledger().total(agents::jpy()).unwrap();
    let mut times = Vec::new();
    for (method, amount) in
        [(Method::Confirm, 1200), (Method::Cheque, 2400), (Method::Board, 3600), (Method::All, 4800)]
    {
        let took = settle(&world, &mut orderer, method, amount);
        eprintln!("Fig. {} ({}): settled in {took:.2?}", method.figure(), method.as_str());
        times.push(took);
    }
    assert_eq!(world.ledger().total(agents::jpy()).unwrap(), total_before, "money is moved, never made");
    assert_eq!(world.ledger().transfers().unwrap(), 4);
}
