//! The inbox watcher against a real Dovecot (tests/mailstack): mail comes
//! in through IDLE as it arrives (how quickly is measured in
//! benches/settlement.rs), the watcher lives through a server restart, and a restarted watcher neither
//! misses nor repeats a message. MailPay mails are moved to their own folder; other
//! mail is left exactly as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{accounts, mailstack};

use std::time::{Duration, Instant};

use mailpay::mail::imap::{self, ImapError, Received, Resume, WatchConfig, WatchEvent};
use mailpay::mail::smtp::Smtp;
use mailpay::protocol::compose::{self, Outgoing};
use mailpay::protocol::{Body, OrderTerms};
use tokio::sync::mpsc;

use mailstack::MailStack;

const ORDERER: &str = "orderer@buyer.test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A watcher running in the background, relaying its events.
struct Watcher {
    events: mpsc::UnboundedReceiver<(Instant, WatchEvent)>,
    task: tokio::task::JoinHandle<(ImapError, Resume)>,
}

/// A watch config that can only learn of new mail through IDLE: the
/// polling fallback would take an hour.
fn idle_only(stack: &MailStack, address: &str) -> WatchConfig {
    let mut config = WatchConfig::new(accounts::account(stack, address), accounts::password(stack, address));
    config.poll_interval = Duration::from_secs(3600);
    config.max_backoff = Duration::from_secs(1);
    config
}

fn start(runtime: &tokio::runtime::Runtime, config: WatchConfig, mut resume: Resume) -> Watcher {
    let (tx, events) = mpsc::unbounded_channel();
    let task = runtime.spawn(async move {
        let error = imap::watch(&config, &mut resume, |event| tx.send((Instant::now(), event)).is_ok()).await;
        (error, resume)
    });
    Watcher { events, task }
}

impl Watcher {
    /// The next event matching `want`, skipping others; panics after `timeout`.
    fn next(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        timeout: Duration,
        want: impl Fn(&WatchEvent) -> bool,
    ) -> (Instant, WatchEvent) {
        runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                match tokio::time::timeout_at(deadline, self.events.recv()).await {
                    Ok(Some((at, event))) if want(&event) => return (at, event),
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("the watcher stopped"),
                    Err(_) => panic!("no such watcher event within {timeout:?}"),
                }
            }
        })
    }

    fn idle(&mut self, runtime: &tokio::runtime::Runtime) -> Resume {
        match self.next(runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Idle { .. })) {
            (_, WatchEvent::Idle { resume }) => resume,
            _ => unreachable!(),
        }
    }

    /// Stops the watcher (as if its process ended) and returns where it got to.
    fn stop(self, runtime: &tokio::runtime::Runtime) {
        self.task.abort();
        let _ = runtime.block_on(self.task);
    }
}

/// The orderer's order mail to `merchant`, built and ready to send.
fn order_mail(merchant: &str) -> (OrderTerms, Outgoing) {
    let terms = accounts::terms(ORDERER, merchant, "bank@bank.test", 100);
    let [order, _request] = compose::order(&terms);
    let mail = order.build(accounts::now(), &mut rand::rng());
    (terms, mail)
}

fn send(runtime: &tokio::runtime::Runtime, stack: &MailStack, mail: &Outgoing) {
    let smtp = Smtp::new(&accounts::account(stack, ORDERER), &accounts::password(stack, ORDERER)).unwrap();
    runtime.block_on(smtp.send(mail)).unwrap();
}

/// The order id of a watcher's mail event.
fn order_of(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Mail { received: Received::MailPay(mail), .. } => mail.body.order().to_string(),
        other => panic!("not a MailPay mail event: {other:?}"),
    }
}

/// With polling once an hour, only IDLE can hand each mail over within
/// seconds of its sending. (How quickly is measured in
/// benches/settlement.rs: Dovecot holds IDLE notices back 500 ms.)
#[test]
fn idle_hands_over_each_mail_as_it_arrives() {
    let stack = mailstack::shared();
    let runtime = runtime();
    let merchant = "shop2@shop2.test";
    let mut watcher = start(&runtime, idle_only(stack, merchant), Resume::default());
    match watcher.next(&runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Connected { .. })) {
        (_, WatchEvent::Connected { idle, .. }) => assert!(idle, "Dovecot offers IDLE"),
        _ => unreachable!(),
    }
    watcher.idle(&runtime);

    for _ in 0..10 {
        let (terms, mail) = order_mail(merchant);
        let sent = Instant::now();
        send(&runtime, stack, &mail);
        let (handed_over, event) =
            watcher.next(&runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Mail { .. }));
        assert_eq!(order_of(&event), terms.order.to_string());
        let after = handed_over.saturating_duration_since(sent);
        assert!(after < Duration::from_secs(30), "handed over {after:?} after sending: not by IDLE");
        watcher.idle(&runtime);
    }
    watcher.stop(&runtime);
}

/// An eager window (mail::expecting) opened while the watcher sits in
/// IDLE ends the IDLE and has the server asked until the window closes;
/// then IDLE takes over again. The session lives through both changes.
#[test]
fn an_eager_window_interrupts_idle_and_idle_resumes_after_it() {
    let stack = mailstack::shared();
    let runtime = runtime();
    // A mailbox no other test here watches on the shared stack.
    let merchant = "orderer2@buyer.test";
    let config = idle_only(stack, merchant);
    let expecting = config.expecting.clone();
    let mut watcher = start(&runtime, config, Resume::default());
    watcher.idle(&runtime);

    // The window opens in the middle of an IDLE renewed only every 25 min.
    std::thread::sleep(Duration::from_millis(300));
    expecting.expect_within(Duration::from_secs(4));
    let (terms, mail) = order_mail(merchant);
    send(&runtime, stack, &mail);
    let (_, event) = watcher.next(&runtime, Duration::from_secs(20), |e| {
        matches!(e, WatchEvent::Mail { .. } | WatchEvent::Disconnected { .. } | WatchEvent::Connected { .. })
    });
    assert_eq!(order_of(&event), terms.order.to_string(), "{event:?}");
    watcher.idle(&runtime);

    // After the window, mail still comes in, through IDLE.
    std::thread::sleep(Duration::from_secs(5));
    assert!(!expecting.is_open());
    let (terms, mail) = order_mail(merchant);
    send(&runtime, stack, &mail);
    let (_, event) = watcher.next(&runtime, Duration::from_secs(20), |e| {
        matches!(e, WatchEvent::Mail { .. } | WatchEvent::Disconnected { .. } | WatchEvent::Connected { .. })
    });
    assert_eq!(order_of(&event), terms.order.to_string(), "{event:?}");
    watcher.stop(&runtime);
}

#[test]
fn the_watcher_lives_through_a_dovecot_restart_during_idle() {
    let stack = MailStack::start_private();
    let runtime = runtime();
    let merchant = "shop@shop.test";
    let mut watcher = start(&runtime, idle_only(&stack, merchant), Resume::default());
    watcher.idle(&runtime);

    stack.restart_dovecot();
    let (_, event) =
        watcher.next(&runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Disconnected { .. }));
    let WatchEvent::Disconnected { reason, .. } = event else { unreachable!() };
    assert!(!reason.is_empty());
    watcher.next(&runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Connected { .. }));
    watcher.idle(&runtime);

    let (terms, mail) = order_mail(merchant);
    send(&runtime, &stack, &mail);
    let (_, event) =
        watcher.next(&runtime, Duration::from_secs(20), |e| matches!(e, WatchEvent::Mail { .. }));
    assert_eq!(order_of(&event), terms.order.to_string());
    watcher.stop(&runtime);
}

#[test]
fn a_restarted_watcher_neither_misses_nor_repeats_a_mail() {
    let stack = MailStack::start_private();
    let runtime = runtime();
    let merchant = "shop2@shop2.test";
    let (store, _) = accounts::temp_store("resume");
    let mut config = idle_only(&stack, merchant);
    // Left in the INBOX, so that only the resume point keeps them from
    // being handed over again.
    config.mailpay_folder = None;

    let mut watcher = start(&runtime, config.clone(), store.resume(merchant, "INBOX").unwrap());
    watcher.idle(&runtime);
    let mut first = Vec::new();
    for _ in 0..2 {
        let (terms, mail) = order_mail(merchant);
        send(&runtime, &stack, &mail);
        let (_, event) =
            watcher.next(&runtime, Duration::from_secs(20), |e| matches!(e, WatchEvent::Mail { .. }));
        assert_eq!(order_of(&event), terms.order.to_string());
        let WatchEvent::Mail { resume, .. } = event else { unreachable!() };
        store.save_resume(merchant, "INBOX", resume).unwrap();
        first.push(terms.order.to_string());
    }
    watcher.stop(&runtime);

    // Two more arrive while nobody watches.
    let mut later = Vec::new();
    for _ in 0..2 {
        let (terms, mail) = order_mail(merchant);
        send(&runtime, &stack, &mail);
        assert!(stack.wait_for_message(merchant, terms.order.as_str(), Duration::from_secs(20)).is_some());
        later.push(terms.order.to_string());
    }

    let resume = store.resume(merchant, "INBOX").unwrap();
    assert_ne!(resume, Resume::default(), "the resume point was kept");
    let mut watcher = start(&runtime, config, resume);
    let mut handed = Vec::new();
    runtime.block_on(async {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), watcher.events.recv()).await {
                Ok(Some((_, event @ WatchEvent::Mail { .. }))) => handed.push(order_of(&event)),
                Ok(Some((_, WatchEvent::Idle { .. }))) => break,
                Ok(Some(_)) => {}
                other => panic!("the watcher did not settle: {other:?}"),
            }
        }
    });
    assert_eq!(handed, later, "exactly the mails that came while it was down, in order");
    assert!(first.iter().all(|o| !handed.contains(o)));
    watcher.stop(&runtime);
}

/// The INBOX renumbered while the watcher was away (a new UIDVALIDITY, as
/// when a folder is recreated): the kept UID means nothing any more, so
/// the watcher says so and reads the folder from its start; what is still
/// in it is handed over, nothing is skipped.
#[test]
fn a_new_uidvalidity_is_reported_and_the_folder_read_again() {
    let stack = MailStack::start_private();
    let runtime = runtime();
    let merchant = "shop2@shop2.test";
    let mut config = idle_only(&stack, merchant);
    config.mailpay_folder = None;

    let mut watcher = start(&runtime, config.clone(), Resume::default());
    watcher.idle(&runtime);
    let (first, mail) = order_mail(merchant);
    send(&runtime, &stack, &mail);
    let (_, event) =
        watcher.next(&runtime, Duration::from_secs(20), |e| matches!(e, WatchEvent::Mail { .. }));
    assert_eq!(order_of(&event), first.order.to_string());
    let resume = watcher.idle(&runtime);
    watcher.stop(&runtime);

    let (second, mail) = order_mail(merchant);
    send(&runtime, &stack, &mail);
    assert!(stack.wait_for_message(merchant, second.order.as_str(), Duration::from_secs(20)).is_some());
    let renumbered = resume.uid_validity.wrapping_add(1000);
    stack.set_uid_validity(merchant, renumbered);

    let mut watcher = start(&runtime, config, resume);
    let mut changed = None;
    let mut handed = Vec::new();
    runtime.block_on(async {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), watcher.events.recv()).await {
                Ok(Some((_, WatchEvent::UidValidityChanged { old, new }))) => changed = Some((old, new)),
                Ok(Some((_, event @ WatchEvent::Mail { .. }))) => handed.push(order_of(&event)),
                Ok(Some((_, WatchEvent::Idle { resume: at }))) => {
                    assert_eq!(at.uid_validity, renumbered);
                    break;
                }
                Ok(Some(_)) => {}
                other => panic!("the watcher did not settle: {other:?}"),
            }
        }
    });
    assert_eq!(changed, Some((resume.uid_validity, renumbered)));
    // Both mails are still in the INBOX (they were not moved): both come
    // again, in order; receivers know them by Message-ID.
    assert_eq!(handed, vec![first.order.to_string(), second.order.to_string()]);
    watcher.stop(&runtime);
}

#[test]
fn mailpay_mails_are_moved_and_other_mail_is_left_untouched() {
    let stack = MailStack::start_private();
    let runtime = runtime();
    let merchant = "shop@shop.test";
    let smtp = Smtp::new(&accounts::account(&stack, ORDERER), &accounts::password(&stack, ORDERER)).unwrap();
    let plain = Outgoing {
        kind: mailpay::protocol::Kind::Order,
        order: accounts::terms(ORDERER, merchant, "bank@bank.test", 1).order,
        message_id: format!("plain-{}@buyer.test", rand::random::<u32>()),
        from: ORDERER.parse().unwrap(),
        to: merchant.parse().unwrap(),
        bytes: b"From: orderer@buyer.test\r\nTo: shop@shop.test\r\nSubject: lunch on friday?\r\nMessage-ID: <lunch@buyer.test>\r\n\r\nAre you free?\r\n".to_vec(),
    };
    runtime.block_on(smtp.send(&plain)).unwrap();
    let (terms, mail) = order_mail(merchant);
    runtime.block_on(smtp.send(&mail)).unwrap();
    assert!(stack.wait_for_message(merchant, terms.order.as_str(), Duration::from_secs(20)).is_some());
    assert!(stack.wait_for_message(merchant, "lunch on friday?", Duration::from_secs(20)).is_some());

    let mut watcher = start(&runtime, idle_only(&stack, merchant), Resume::default());
    let (_, event) =
        watcher.next(&runtime, Duration::from_secs(30), |e| matches!(e, WatchEvent::Mail { .. }));
    let WatchEvent::Mail { received: Received::MailPay(incoming), .. } = &event else { panic!("{event:?}") };
    assert!(matches!(incoming.body, Body::Order(_)));
    watcher.idle(&runtime);
    watcher.stop(&runtime);

    let inbox = stack.inbox_files(merchant);
    let texts: Vec<String> = inbox.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    assert_eq!(texts.len(), 1, "only the ordinary mail stays in the INBOX: {inbox:?}");
    assert!(texts[0].contains("lunch on friday?"));
    let name = inbox[0].file_name().unwrap().to_string_lossy().to_string();
    // Dovecot moves a mail from new/ to cur/ once a client has seen the
    // folder; its flags follow ":2,". None may have been set (no \\Seen).
    let flags = name.split_once(":2,").map_or("", |(_, f)| f);
    assert_eq!(flags, "", "the ordinary mail keeps no flags: {name}");
    let moved = stack.maildir(merchant).join(".MailPay");
    let moved_files: Vec<String> = ["new", "cur"]
        .iter()
        .flat_map(|d| std::fs::read_dir(moved.join(d)).into_iter().flatten())
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert_eq!(moved_files.len(), 1);
    assert!(moved_files[0].contains(terms.order.as_str()));
}

#[test]
fn imap_login_and_certificate_failures_are_named() {
    let stack = mailstack::shared();
    let runtime = runtime();
    let address = "bank2@bank2.test";
    let account = accounts::account(stack, address);
    match runtime.block_on(imap::connect(&account, "certainly-wrong")) {
        Err(ImapError::Login { user, reason }) => {
            assert_eq!(user, address);
            assert!(!reason.is_empty());
        }
        Err(other) => panic!("expected a login error, got {other}"),
        Ok(_) => panic!("a wrong password logged in"),
    }
    let mut untrusted = account.clone();
    untrusted.ca_file = None;
    match runtime.block_on(imap::connect(&untrusted, &accounts::password(stack, address))) {
        Err(e @ ImapError::Tls { .. }) => {
            assert!(e.to_string().contains("UnknownIssuer") || e.to_string().contains("certificate"), "{e}")
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("an untrusted certificate was accepted"),
    }
    assert!(runtime.block_on(imap::connect(&account, &accounts::password(stack, address))).is_ok());
}

/// Attack (poison mail at the caller): a mail its caller panics on, and one
/// it cannot take (`Flow::SetAside`), are reported, moved to the quarantine
/// folder and never handed over again, and the mail after them is handed
/// over as usual. Before, the panic ended the watch and, the resume point
/// not saved, the same mail ended it again after every restart.
#[test]
fn a_mail_its_caller_panics_on_or_cannot_take_is_set_aside_and_the_watch_goes_on() {
    let stack = mailstack::shared();
    let runtime = runtime();
    let merchant = "shop2@shop2.test";
    let mails: Vec<(OrderTerms, Outgoing)> = (0..3).map(|_| order_mail(merchant)).collect();
    let orders: Vec<String> = mails.iter().map(|(t, _)| t.order.to_string()).collect();
    for (_, mail) in &mails {
        send(&runtime, stack, mail);
    }
    let (panics, refused) = (orders[0].clone(), orders[1].clone());
    let (tx, mut events) = mpsc::unbounded_channel();
    let config = idle_only(stack, merchant);
    let task = runtime.spawn(async move {
        let mut resume = Resume::default();
        imap::watch(&config, &mut resume, |event| {
            let order = match &event {
                WatchEvent::Mail { received: Received::MailPay(mail), .. } => mail.body.order().to_string(),
                _ => String::new(),
            };
            let _ = tx.send(event);
            if order == panics {
                panic!("a defect met in order {order}");
            }
            if order == refused { imap::Flow::SetAside } else { imap::Flow::Go }
        })
        .await
    });
    let mut invalid = Vec::new();
    let mut handed = Vec::new();
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        // Until the watcher is idle after the last mail: by then each was moved.
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(WatchEvent::Mail { received: Received::MailPay(mail), .. })) => {
                    handed.push(mail.body.order().to_string())
                }
                Ok(Some(WatchEvent::Mail { received: Received::Invalid(e), .. })) => {
                    invalid.push(e.to_string())
                }
                Ok(Some(WatchEvent::Idle { .. })) if orders.iter().all(|o| handed.contains(o)) => break,
                Ok(Some(_)) => {}
                other => panic!("the watch ended or stalled: {other:?}; handed {handed:?}"),
            }
        }
    });
    task.abort();
    let _ = runtime.block_on(task);
    // Delivery may reorder the three; each is handed over once.
    let (mut handed, mut sent) = (handed, orders.clone());
    handed.sort();
    sent.sort();
    assert_eq!(handed, sent, "each mail handed over once, whichever failed before it");
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(
        invalid[0].contains(&format!("handling it failed: a defect met in order {}", orders[0])),
        "{invalid:?}"
    );
    let subject = |order: &str| format!("Subject: Order {order}");
    for order in &orders[..2] {
        let set_aside = stack.count_in_folder(merchant, Some("MailPay-Quarantine"), &subject(order));
        assert_eq!(set_aside, 1, "{order} set aside");
        assert_eq!(stack.count_in_folder(merchant, None, &subject(order)), 0, "{order} left the inbox");
    }
    assert_eq!(stack.count_in_folder(merchant, Some("MailPay"), &subject(&orders[2])), 1);

    // A watcher that starts over from nothing does not meet them again.
    let mut again = start(&runtime, idle_only(stack, merchant), Resume::default());
    let (_, first) = again.next(&runtime, Duration::from_secs(30), |e| {
        matches!(e, WatchEvent::Idle { .. } | WatchEvent::Mail { .. })
    });
    assert!(matches!(first, WatchEvent::Idle { .. }), "read again: {first:?}");
    again.stop(&runtime);
}
