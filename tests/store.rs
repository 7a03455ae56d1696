//! The wallet's SQLite store: steps are all or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::accounts;

use mailpay::protocol::payment::State;
use mailpay::store::StoreError;

#[test]
fn a_failed_step_leaves_nothing_behind() {
    let (mut store, path) = accounts::temp_store("atomic");
    let terms = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 1200);
    mailpay::wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
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

/// The bank's confirmation for `terms`, as its mail would carry it.
fn confirm_for(terms: &mailpay::protocol::OrderTerms) -> mailpay::protocol::message::Confirm {
    use mailpay::protocol::confirmation::ConfirmationCode;
    mailpay::protocol::message::Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: ConfirmationCode::compute(
            b"test key",
            &terms.order,
            terms.amount,
            &terms.merchant,
            &terms.password,
            &[7; 16],
        ),
        expires: terms.expires,
        attempts_left: 5,
        proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
    }
}

/// Every form of A in `bytes`: as printed (groups of four) or as compared.
fn holds(bytes: &[u8], password: &mailpay::protocol::PasswordA) -> bool {
    let text = String::from_utf8_lossy(bytes).to_ascii_uppercase();
    text.contains(&password.display()) || text.contains(password.expose())
}

/// While a payment is open its mails carry A (they may have to be sent
/// again); once it has settled, A is in no byte of the wallet's files,
/// its history still reads, and the hash refuses the same A again.
#[test]
fn password_a_is_gone_once_the_payment_has_ended() {
    use mailpay::protocol::Money;
    use mailpay::protocol::item::LineItem;
    use mailpay::protocol::message::Settled;
    use mailpay::protocol::payment::{Event, Outbound};
    use mailpay::wallet;

    let (mut store, path) = accounts::temp_store("forget-a");
    let mut terms = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 2400);
    // Japanese text makes the mails' bodies travel in a transfer encoding,
    // where A is not visible as it is.
    let yen = terms.amount.currency();
    terms.items = vec![LineItem::new(2, "宇治の抹茶 缶入り", Some(Money::new(1200, yen).unwrap())).unwrap()];
    let password = terms.password.clone();
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    for mail in [Outbound::Order, Outbound::PaymentRequest] {
        wallet::act(&store, &terms.order, &Event::Accepted(mail), None, false).unwrap();
    }
    let bank = terms.bank.clone();
    wallet::act(
        &store,
        &terms.order,
        &Event::ConfirmReceived { from: bank.clone(), confirm: confirm_for(&terms) },
        None,
        false,
    )
    .unwrap();
    wallet::act(&store, &terms.order, &Event::UserApprove, None, false).unwrap();
    wallet::act(&store, &terms.order, &Event::Accepted(Outbound::Approve), None, false).unwrap();
    let stored: Vec<Vec<u8>> = store.outbox(&terms.order).unwrap().into_iter().map(|m| m.bytes).collect();
    assert_eq!(stored.len(), 3, "order, payment request, OK");
    assert_eq!(store.load(&terms.order).unwrap().0.password, password, "an open payment keeps A");

    let settled = Settled {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        settled: accounts::now(),
        reference: "MP-1".into(),
    };
    wallet::act(&store, &terms.order, &Event::SettledReceived { from: bank, settled }, None, false).unwrap();

    let (kept, state) = store.load(&terms.order).unwrap();
    assert_eq!(state.name(), "settled");
    assert_eq!((kept.amount, &kept.items), (terms.amount, &terms.items), "the terms still read");
    assert_ne!(kept.password, password, "the real A is not what comes back");
    let timeline = store.timeline(&terms.order).unwrap();
    assert_eq!(timeline.iter().filter(|e| !e.raw.is_empty()).count(), 3, "every mail still has its copy");
    for entry in &timeline {
        let text = String::from_utf8_lossy(&entry.raw);
        assert!(!holds(&entry.raw, &password));
        if entry.kind == "order" {
            assert!(text.contains("宇治の抹茶"), "the copy is readable: {text}");
            assert!(text.contains(mailpay::protocol::redact::REMOVED));
        }
    }
    assert_eq!(store.password_used(&password).unwrap().as_deref(), Some(terms.order.as_str()));
    let mut again = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 100);
    again.password = password.clone();
    let refused = wallet::place(&mut store, &again, None, accounts::now()).unwrap_err();
    assert!(refused.to_string().contains("already used"), "{refused}");
    drop(store);

    // Not in the database file, its journal, or freed pages.
    let dir = path.parent().unwrap();
    for file in std::fs::read_dir(dir).unwrap() {
        let file = file.unwrap().path();
        let bytes = std::fs::read(&file).unwrap();
        assert!(!holds(&bytes, &password), "A is still in {}", file.display());
    }
}

/// A payment recorded while another program writes to the same wallet and
/// commits during the wait (`mailpay order` beside `mailpay watch`): the
/// record waits for the other writer and is kept. It failed with
/// "database is locked" when its first INSERT asked for the write lock
/// only after reading the wallet, a read the other commit overtook.
#[test]
fn a_payment_is_recorded_while_another_program_writes() {
    let (mut store, path) = accounts::temp_store("two-writers");
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO setting (key, value) VALUES ('other', 'writes')")
        .unwrap();
    let committer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();
    });
    let terms = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 1200);
    let placed = mailpay::wallet::place(&mut store, &terms, None, accounts::now());
    committer.join().unwrap();
    placed.unwrap();
    assert_eq!(store.load(&terms.order).unwrap().1.name(), "sending");
}
