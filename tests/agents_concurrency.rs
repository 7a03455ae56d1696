//! 50 orders from two orderers (each on several wallets) placed at once,
//! all four figures mixed: every one settles exactly once at the bank and
//! the ledger's total is unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;

use std::time::{Duration, Instant};

use agents::{ORDERER, ORDERER2, Orderer, SHOP, World};
use mailpay::protocol::{Kind, Method};

const ORDERS: usize = 50;
const WALLETS: usize = 10;

#[test]
fn fifty_concurrent_orders_settle_once_and_keep_the_total() {
    let world = World::start("concurrency", Duration::from_secs(2));
    let total_before = world.ledger().total(agents::jpy()).unwrap();
    let (before1, before2, shop_before) =
        (world.balance(ORDERER), world.balance(ORDERER2), world.balance(SHOP));
    let started = Instant::now();
    let spent: Vec<(String, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WALLETS)
            .map(|w| {
                let world = &world;
                scope.spawn(move || {
                    let address = if w % 2 == 0 { ORDERER } else { ORDERER2 };
                    let mut orderer = Orderer::new(world, address);
                    let mut spent = 0;
                    let mut placed = Vec::new();
                    for i in 0..ORDERS / WALLETS {
                        let method =
                            [Method::Confirm, Method::Cheque, Method::Board, Method::All][(w + i) % 4];
                        let amount = 100 + (w * 10 + i) as u64;
                        let terms = orderer.terms(world, method, amount);
                        orderer.pay(world, &terms);
                        placed.push(terms);
                        spent += amount;
                    }
                    for terms in &placed {
                        if terms.method.needs_confirmation() {
                            let (confirm, raw) =
                                orderer.wait_mail(world, Kind::Confirm, &terms.order, |_| true);
                            orderer.receive(&confirm, &raw);
                            orderer.approve(world, &confirm);
                        }
                    }
                    for terms in &placed {
                        let (settled, raw) = orderer.wait_mail(world, Kind::Settled, &terms.order, |_| true);
                        orderer.receive(&settled, &raw);
                        assert_eq!(orderer.state(&terms.order).name(), "settled");
                    }
                    (address.to_string(), spent)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    eprintln!("{ORDERS} concurrent orders from {WALLETS} wallets settled in {elapsed:.2?}");
    let spent_by = |who: &str| spent.iter().filter(|(a, _)| a == who).map(|(_, s)| s).sum::<u64>();
    std::thread::sleep(Duration::from_millis(500));
    let ledger = world.ledger();
    assert_eq!(ledger.transfers().unwrap(), ORDERS, "one transfer per order");
    assert_eq!(ledger.payments().unwrap().iter().filter(|p| p.status == "settled").count(), ORDERS);
    assert_eq!(ledger.total(agents::jpy()).unwrap(), total_before, "the ledger's total is unchanged");
    assert_eq!(world.balance(ORDERER), before1 - spent_by(ORDERER));
    assert_eq!(world.balance(ORDERER2), before2 - spent_by(ORDERER2));
    assert_eq!(world.balance(SHOP), shop_before + spent_by(ORDERER) + spent_by(ORDERER2));
}
