//! The bank agent stopped and started again, against the real mail stack:
//! mails that arrived while it was down are handled when it comes back,
//! and nothing it already handled is handled twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;

use std::time::Duration;

use agents::{ORDERER, Orderer, SHOP, World};
use mailpay::protocol::{Kind, Method};

#[test]
fn mails_that_came_while_the_bank_was_down_are_handled_once_on_restart() {
    let world = World::start("restart", Duration::from_secs(2));
    let mut orderer = Orderer::new(&world, ORDERER);
    // Let the bank log in once, so it has a position in its mailbox.
    std::thread::sleep(Duration::from_secs(2));
    world.stop_bank();
    let terms = orderer.terms(&world, Method::Confirm, 1500);
    orderer.pay(&world, &terms);
    world.wait_shop_state(&terms.order, "billed");
    std::thread::sleep(Duration::from_secs(1));
    assert!(world.ledger().payment(&terms.order).is_err(), "the bank is down: nothing handled yet");

    world.start_bank();
    let (confirm, raw) = orderer.wait_mail(&world, Kind::Confirm, &terms.order, |_| true);
    orderer.receive(&confirm, &raw);
    orderer.approve(&world, &confirm);
    orderer.wait_mail(&world, Kind::Settled, &terms.order, |_| true);
    world.wait_shop_state(&terms.order, "shipped");
    let trail_before = world.ledger().trail(&terms.order).unwrap();

    // Down and up again: the handled mails are not handled a second time.
    world.stop_bank();
    world.start_bank();
    // A later order, handled by the restarted bank: by then it has gone
    // past everything that came before.
    let marker = orderer.terms(&world, Method::Confirm, 100);
    orderer.pay(&world, &marker);
    world.wait_status(&marker.order, "awaiting-answer");
    let trail_after = world.ledger().trail(&terms.order).unwrap();
    assert_eq!(trail_after.len(), trail_before.len(), "{trail_after:#?}");
    assert_eq!(world.ledger().transfers().unwrap(), 1);
    assert_eq!(world.balance(SHOP), 1500);
    assert_eq!(orderer.mails(&world, Kind::Settled, &terms.order).len(), 1);
    assert_eq!(orderer.mails(&world, Kind::Confirm, &terms.order).len(), 1);
}
