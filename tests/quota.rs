//! A full mailbox, for real: a private Postfix + Dovecot with a small
//! quota per user. The mail is accepted at submission, refused at final
//! delivery (`552 5.2.2`), and Postfix mails the sender a bounce. The
//! wallet reads the bounce from its inbox and fails the payment with a
//! reason the user can act on; the bank and the merchant agents send their
//! mails again later.
//! Once room is made, each mail arrives exactly once and the payment goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{accounts, agents, mailstack};

use std::time::{Duration, Instant};

use mailpay::mail::imap::{self, Received, WatchConfig, WatchEvent};
use mailpay::mail::smtp::Smtp;
use mailpay::protocol::compose::Outgoing;
use mailpay::protocol::payment::{Event, State};
use mailpay::protocol::{Kind, Method, OrderId};
use mailpay::store::Store;
use mailpay::wallet::{self, Receipt};

use agents::{BANK, OPENING, ORDERER, ORDERER2, Orderer, SHOP, SHOP2, World};
use mailstack::MailStack;

/// 100 KiB per user; Dovecot lets one mail take a user up to 10 % over
/// (quota_grace), after which every mail is refused.
const QUOTA: &str = "100k";
const FILLER_SUBJECT: &str = "Filler that takes the whole quota";

/// Fills `address`'s mailbox past its quota with one large mail from `from`.
fn fill(stack: &MailStack, from: &str, address: &str) {
    let body = "x".repeat(76) + "\r\n";
    let text = format!(
        "From: {from}\r\nTo: {address}\r\nSubject: {FILLER_SUBJECT}\r\nMessage-ID: <filler.{}@test>\r\n\r\n{}",
        rand::random::<u32>(),
        body.repeat(1350)
    );
    let mail = Outgoing {
        kind: Kind::Order,
        order: OrderId::generate(&mut rand::rng()),
        message_id: "filler@test".into(),
        from: from.parse().unwrap(),
        to: address.parse().unwrap(),
        bytes: text.into_bytes(),
    };
    let smtp = Smtp::new(&accounts::account(stack, from), &accounts::password(stack, from)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(smtp.send(&mail)).unwrap();
    assert!(
        stack.wait_for_message(address, FILLER_SUBJECT, Duration::from_secs(30)).is_some(),
        "the filler never reached {address}"
    );
}

/// Makes room as a person would: deletes the filler over IMAP.
fn make_room(stack: &MailStack, address: &str) {
    let account = accounts::account(stack, address);
    let password = accounts::password(stack, address);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut session = imap::connect(&account, &password).await.unwrap();
        session.select("INBOX").await.unwrap();
        let uids = session.uid_search(format!("SUBJECT \"{FILLER_SUBJECT}\"")).await.unwrap();
        assert_eq!(uids.len(), 1, "one filler in {address}");
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        {
            use futures_util::TryStreamExt;
            let stored = session.uid_store(&set, "+FLAGS (\\Deleted)").await.unwrap();
            let _: Vec<_> = stored.try_collect().await.unwrap();
            let expunged = session.expunge().await.unwrap();
            let _: Vec<_> = expunged.try_collect().await.unwrap();
        }
        session.logout().await.unwrap();
    });
}

/// Copies in `address`'s INBOX of the mail whose raw text contains `needle`.
fn copies(stack: &MailStack, address: &str, needle: &str) -> usize {
    stack
        .inbox_files(address)
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap_or_default().contains(needle))
        .count()
}

/// Watches the orderer's inbox as the wallet does and takes every bounce
/// into the store, until `done` holds (or a minute has passed).
fn watch_bounces(
    stack: &MailStack,
    store: &mut Store,
    done: impl Fn(&mut Store) -> bool + Send + Sync,
) -> Vec<Receipt> {
    let account = accounts::account(stack, ORDERER);
    let config = WatchConfig::new(account, accounts::password(stack, ORDERER));
    let mut resume = imap::Resume::default();
    let mut receipts = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let watching = imap::watch(&config, &mut resume, |event| {
        match event {
            WatchEvent::Mail { raw, received: Received::Bounce(bounce), .. } => {
                // `&mut`: the watcher's callback must be Send, which a
                // unique borrow of the store is and a shared one is not.
                #[allow(clippy::unnecessary_mut_passed)]
                receipts.push(wallet::bounced(&mut *store, &bounce, &raw).unwrap());
            }
            WatchEvent::Idle { .. } if done(&mut *store) => return false,
            _ => {}
        }
        true
    });
    let outcome = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(60), watching).await });
    assert!(outcome.is_ok(), "no bounce taken within a minute: {receipts:?}");
    receipts
}

#[test]
fn a_full_merchant_mailbox_fails_the_payment_and_retry_delivers_the_order_once() {
    let stack = MailStack::start_private_with_quota(QUOTA);
    fill(&stack, SHOP2, SHOP);
    let (mut store, db) = accounts::temp_store("quota");
    let terms = accounts::terms(ORDERER, SHOP, BANK, 4200);
    let order = terms.order.clone();
    wallet::place(&mut store, &terms, None, accounts::now()).unwrap();
    let (account, password) = (accounts::account(&stack, ORDERER), accounts::password(&stack, ORDERER));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sent = accounts::dispatch(&runtime, &db, &account, &password, &order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "both mails accepted at submission: {sent:?}");
    assert_eq!(store.load(&order).unwrap().1, State::Sent);
    let order_id = sent.iter().find(|s| s.kind == Kind::Order).unwrap().message_id.clone();

    // The bounce comes back to the orderer's inbox; the watcher hands it over.
    let receipts = watch_bounces(&stack, &mut store, |s| s.load(&order).unwrap().1.name() == "failed");
    assert!(
        matches!(receipts.as_slice(), [Receipt::Stepped { from, to, .. }] if from.name() == "sent" && to.name() == "failed"),
        "{receipts:?}"
    );
    let State::Failed { reason, resume } = store.load(&order).unwrap().1 else { panic!("not failed") };
    assert!(reason.starts_with("the merchant's mailbox is full (5.2.2): 552 5.2.2"), "{reason}");
    assert!(reason.ends_with("Retry when they have made room"), "{reason}");
    assert_eq!(
        *resume,
        State::Sending { pending: vec![mailpay::protocol::payment::Outbound::Order], board_pending: false }
    );
    let row = store.payment(&order).unwrap().unwrap();
    assert_eq!(row.detail.as_deref(), Some(reason.as_str()), "the UI shows the reason");
    // Nothing lost: the order waits in the outbox, same Message-ID, with why.
    let unsent = store.unsent(Some(&order)).unwrap();
    assert_eq!(unsent.len(), 1, "{unsent:?}");
    assert_eq!(unsent[0].message_id, order_id);
    assert_eq!(unsent[0].last_error.as_deref(), Some(reason.as_str()));
    assert_eq!(copies(&stack, SHOP, &order_id), 0);
    // The payment request goes its own way; it arrives, once.
    assert!(stack.wait_for_message(BANK, order.as_str(), Duration::from_secs(30)).is_some());
    assert_eq!(copies(&stack, BANK, order.as_str()), 1, "the payment request was delivered");

    // Room is made; Retry sends exactly the bounced order again.
    make_room(&stack, SHOP);
    let (state, _) = wallet::act(&store, &order, &Event::Retry, None, false).unwrap();
    assert_eq!(state.name(), "sending");
    let sent = accounts::dispatch(&runtime, &db, &account, &password, &order);
    assert_eq!(sent.len(), 1, "only the bounced mail: {sent:?}");
    assert_eq!(sent[0].message_id, order_id);
    assert!(sent[0].result.is_ok());
    assert_eq!(store.load(&order).unwrap().1, State::Sent, "the payment goes on");
    assert!(stack.wait_for_message(SHOP, &order_id, Duration::from_secs(30)).is_some(), "the order arrives");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(copies(&stack, SHOP, &order_id), 1, "delivered once");
    assert_eq!(copies(&stack, BANK, order.as_str()), 1, "the payment request was not sent again");

    // The same bounce read again (a restart of the watcher) changes nothing.
    let before = store.load(&order).unwrap().1;
    let receipts = watch_bounces(&stack, &mut store, |_| true);
    assert!(receipts.iter().all(|r| *r == Receipt::Duplicate), "{receipts:?}");
    assert_eq!(store.load(&order).unwrap().1, before);
}

#[test]
fn a_full_orderer_mailbox_delays_the_confirmation_until_there_is_room() {
    let stack: &'static MailStack = Box::leak(Box::new(MailStack::start_private_with_quota(QUOTA)));
    let world = World::start_on(stack, "quota", Duration::from_secs(2), |_, _| {});
    fill(stack, ORDERER2, ORDERER);
    let mut orderer = Orderer::new(&world, ORDERER);
    let terms = orderer.terms(&world, Method::Confirm, 1500);
    orderer.pay(&world, &terms);

    // The bank's confirmation bounces: the bank records why and keeps it.
    let deadline = Instant::now() + agents::WAIT;
    loop {
        let trail = world.ledger().trail(&terms.order).unwrap();
        if trail.iter().any(|l| l.direction == "out" && l.kind == "confirm" && l.outcome.contains("5.2.2")) {
            break;
        }
        assert!(Instant::now() < deadline, "the confirmation never bounced: {trail:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let recorded = world.ledger().unhandled().unwrap();
    assert!(
        recorded
            .iter()
            .any(|o| o.starts_with("bounce of confirm.") && o.contains("the mailbox is full (5.2.2)")),
        "{recorded:?}"
    );
    assert_eq!(world.ledger().payment(&terms.order).unwrap().status, "awaiting-answer");
    assert!(orderer.mails(&world, Kind::Confirm, &terms.order).is_empty());

    // Room is made: the bank's next attempt gets through, and the payment settles once.
    make_room(stack, ORDERER);
    orderer.approve_and_settle_once(&world, &terms.order);
    assert_eq!(world.balance(SHOP), 1500, "moved once");
    assert_eq!(world.balance(ORDERER), OPENING - 1500);
}

/// What the shop's database recorded of mail it received, and its outbox.
fn shop_records(world: &World) -> (Vec<String>, Vec<(String, Option<i64>)>) {
    let db = rusqlite::Connection::open(&world.shop_db).unwrap();
    let received = db
        .prepare("SELECT outcome FROM received ORDER BY received_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let outbox = db
        .prepare("SELECT kind, sent_at FROM outbox ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (received, outbox)
}

#[test]
fn a_full_bank_mailbox_holds_the_mails_back_until_there_is_room() {
    let stack: &'static MailStack = Box::leak(Box::new(MailStack::start_private_with_quota(QUOTA)));
    let world = World::start_on(stack, "quota-bank", Duration::from_secs(2), |_, _| {});
    fill(stack, ORDERER2, BANK);
    let mut orderer = Orderer::new(&world, ORDERER);
    let terms = orderer.terms(&world, Method::Confirm, 1700);
    orderer.pay(&world, &terms);

    // Both mails to the bank bounce: the merchant's bill at the merchant,
    // which keeps it to send again; the payment request at the wallet,
    // which fails the payment and says why.
    let receipts = watch_bounces(stack, &mut orderer.store, |store| {
        matches!(store.load(&terms.order).map(|(_, s)| s), Ok(State::Failed { .. }))
    });
    assert!(
        receipts.iter().any(|r| matches!(r, Receipt::Stepped { to, .. } if to.name() == "failed")),
        "{receipts:?}"
    );
    let deadline = Instant::now() + agents::WAIT;
    loop {
        let (received, outbox) = shop_records(&world);
        let bounced = received.iter().any(|o| o.starts_with("bounce of bill.") && o.contains("5.2.2"));
        if bounced && outbox.iter().any(|(kind, sent)| kind == "bill" && sent.is_none()) {
            break;
        }
        assert!(Instant::now() < deadline, "the bill never bounced: {received:?} {outbox:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(world.ledger().payment(&terms.order).ok().map(|p| p.status), None, "nothing reached the bank");

    // Room is made: the merchant's next try and the wallet's Retry get
    // through, each mail once, and the payment settles once.
    make_room(stack, BANK);
    wallet::act(&orderer.store, &terms.order, &Event::Retry, None, false).unwrap();
    let sent = orderer.dispatch(&world, &terms.order);
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert_eq!(sent.len(), 1, "only the payment request goes again: {sent:?}");
    let (confirm, raw) = orderer.wait_mail(&world, Kind::Confirm, &terms.order, |_| true);
    orderer.receive(&confirm, &raw);
    orderer.approve(&world, &confirm);
    orderer.wait_mail(&world, Kind::Settled, &terms.order, |_| true);
    world.wait_shop_state(&terms.order, "shipped");
    let trail = world.ledger().trail(&terms.order).unwrap();
    for kind in ["bill", "payment-request"] {
        let arrived = trail.iter().filter(|l| l.direction == "in" && l.kind == kind).count();
        assert_eq!(arrived, 1, "the bank took the {kind} once: {trail:#?}");
    }
    assert_eq!(world.balance(SHOP), 1700, "moved once");
    assert_eq!(world.balance(ORDERER), OPENING - 1700);
}
