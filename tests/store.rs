//! The wallet's SQLite store: steps are all or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mailstack.rs"]
mod mailstack;

#[path = "support/accounts.rs"]
mod accounts;

use mailpay::protocol::payment::State;
use mailpay::store::StoreError;

#[test]
fn a_failed_step_leaves_nothing_behind() {
    let (mut store, path) = accounts::temp_store("atomic");
    let terms = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 1200);
    mailpay::wallet::place(&mut store, &terms, Vec::new(), accounts::now()).unwrap();
    let now = accounts::now();

    let result: Result<(), StoreError> = store.atomically(|store| {
        assert!(store.record_received(
            "<m1@bank.test>",
            Some(terms.order.as_str()),
            Some("confirm"),
            b"raw",
            "seen",
            now
        )?);
        store.save_state(&terms.order, &State::Sent, now)?;
        Err(StoreError::NoPayment("a failure after two writes".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.load(&terms.order).unwrap().1.name(), "sending", "the state change was rolled back");
    assert!(
        store.record_received("<m1@bank.test>", None, None, b"raw", "seen", now).unwrap(),
        "the mail's record was rolled back"
    );

    let kept: Result<(), StoreError> =
        store.atomically(|store| store.save_state(&terms.order, &State::Sent, now));
    kept.unwrap();
    drop(store);
    let reopened = mailpay::store::Store::open(&path).unwrap();
    assert_eq!(reopened.load(&terms.order).unwrap().1, State::Sent, "a committed step survives reopening");
}
