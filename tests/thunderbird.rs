//! MailPay inside a real Thunderbird (Debian's, headless) on the test mail
//! stack, with the shipped add-on and the real host `mailpay-thunderbird`:
//! the wallet keeps no password, Thunderbird sends and receives, and the
//! `mailpay-bank` and `mailpay-merchant` daemons settle.
//!
//! Each test uses its own orderer mailbox, so they run side by side.
//! `cargo test --test thunderbird -- --nocapture` also prints how long the
//! Thunderbird route takes next to the direct one (README, "Paying from
//! inside Thunderbird").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::message::Confirm;
use mailpay::protocol::{Money, OrderId};
use mailpay::store::Store;
use support::mailstack::{self, MailStack};
use support::probe::{Probe, Recording};
use support::processes::{self, MAILPAY, World, count_in_mailbox, ok, order_args, order_id, run};
use support::protocol;
use support::thunderbird::{Options, Thunderbird};
use support::wire;

const HOST: &str = env!("CARGO_BIN_EXE_mailpay-thunderbird");
/// Thunderbird gives up on a mail server after `mailnews.tcptimeout` (20 s
/// here); the host sends what failed again within 15 s.
const SETTLE: Duration = Duration::from_secs(150);

fn thunderbird(stack: &MailStack, address: &str) -> Thunderbird {
    thunderbird_with(stack, address, Options::default())
}

/// [`thunderbird`] with more `options`.
fn thunderbird_with(stack: &MailStack, address: &str, mut options: Options) -> Thunderbird {
    options.native_host = Some(PathBuf::from(HOST));
    // Thunderbird waits 100 s on a mail server that stops answering (seen
    // on this loaded 2-core machine: a reused SMTP connection that never
    // takes a mail's data); the host sends such a mail again, so a shorter
    // wait only makes the test quicker.
    options.prefs.push(("mailnews.tcptimeout".into(), "20".into()));
    let tb = Thunderbird::start(stack, address, options);
    // No `mailpay account add`: a wallet without an account takes
    // Thunderbird's address when the add-on connects.
    connected(&tb);
    let list = ok(MAILPAY, &tb.mailpay_home, &["account", "list"]);
    assert_eq!(list.trim(), format!("{address}  through Thunderbird"));
    tb
}

/// Waits until the add-on has started the host and the host carries the
/// account (mails placed before that wait in the outbox, which another
/// test checks).
fn connected(tb: &Thunderbird) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let out = run(MAILPAY, &tb.mailpay_home, &["thunderbird", "status"], "");
        if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("carries the mail of") {
            return;
        }
        assert!(Instant::now() < deadline, "the add-on did not connect; console:\n{}", tb.console());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The payment's state in the wallet, read from its SQLite file.
fn state(home: &Path, order: &str) -> Option<String> {
    let order: OrderId = order.parse().ok()?;
    let store = Store::open(&mailpay::paths::Paths::under(home).database()).ok()?;
    store.load(&order).ok().map(|(_, state)| state.name().to_string())
}

fn wait_for_state(tb: &Thunderbird, order: &str, wanted: &str) -> Instant {
    wait_in(&tb.mailpay_home, order, wanted, || tb.console())
}

/// When the payment in the wallet at `home` is `wanted`; `context` says
/// more when it does not get there.
fn wait_in(home: &Path, order: &str, wanted: &str, context: impl Fn() -> String) -> Instant {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = state(home, order);
        if now.as_deref() == Some(wanted) {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "order {order} is {now:?}, not {wanted}, after {SETTLE:?}:\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What only the bank's confirmation of `order` carries in the orderer's
/// mailbox (its own subject line; the orderer's other mails of the order
/// come later), whichever folder a wallet or Thunderbird moved it to: a
/// count of all confirmations moves when one of an earlier order is
/// moved at the same moment.
fn confirmation_of(order: &str) -> String {
    let printed: Vec<String> =
        order.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    format!("Subject: Confirm payment {}", printed.join("-"))
}

/// When a mail containing `needle` first shows in `address`'s mailbox.
fn delivered(stack: &MailStack, address: &str, needle: &str, already: usize) -> Instant {
    let deadline = Instant::now() + SETTLE;
    while count_in_mailbox(stack, address, needle) <= already {
        assert!(Instant::now() < deadline, "no new mail with {needle:?} for {address}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Instant::now()
}

fn place(home: &Path, extra: &[&str]) -> String {
    let mut args =
        order_args("shop@shop.test", "bank@bank.test", "1200 JPY", &["--item", "2 x Green tea @ 600 JPY"]);
    args.extend_from_slice(extra);
    let placed = ok(MAILPAY, home, &args);
    assert!(placed.contains("accepted"), "{placed}");
    order_id(&placed).replace('-', "")
}

#[test]
fn a_wallet_without_a_password_pays_through_thunderbird_fig_1_and_fig_2() {
    // The bank's and the merchant's passwords live in a session keyring.
    if !processes::in_session_keyring("a_wallet_without_a_password_pays_through_thunderbird_fig_1_and_fig_2")
    {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "tb-figures", 100_000);
    let tb = thunderbird(stack, "orderer@buyer.test");
    let home = tb.mailpay_home.clone();
    let wallet_key = ok(MAILPAY, &home, &["wallet-key"]).trim().to_string();
    world.bank(&["open-account", "orderer@buyer.test", "--wallet-key", &wallet_key]);
    let recipient = world.bank(&["recipient"]).trim().to_string();
    ok(MAILPAY, &home, &["bank-key", "set", "bank@bank.test", &recipient]);
    let _bank = world.start_bank(&world.dir.join("bank.log"), None);
    let _shop = world.start_shop(&world.dir.join("shop.log"));
    assert!(!std::fs::read_to_string(home.join("config/config.toml")).unwrap().contains("password"));

    // Ordinary mail in the same inbox, before and during the payments.
    let ordinary = "Subject: lunch\r\nFrom: shop@shop.test\r\nTo: orderer@buyer.test\r\nMessage-ID: <lunch.1@shop.test>\r\n\r\nNoon?\r\n";
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    wire::submit(&runtime, stack, "shop@shop.test", "shop@shop.test", "orderer@buyer.test", ordinary.into())
        .unwrap();

    // Fig. 1: the order and the payment request leave from Thunderbird.
    let fig1 = place(&home, &[]);
    let status = ok(MAILPAY, &home, &["thunderbird", "status"]);
    assert!(status.contains("carries the mail of orderer@buyer.test"), "{status}");
    let arrived = delivered(stack, "orderer@buyer.test", &confirmation_of(&fig1), 0);
    let taken = wait_for_state(&tb, &fig1, "awaiting-confirmation");
    let approving = Instant::now();
    let approved = ok(MAILPAY, &home, &["approve", &fig1]);
    let approve_took = approving.elapsed();
    assert!(approved.contains("approve to bank@bank.test: accepted"), "{approved}");
    wait_for_state(&tb, &fig1, "settled");
    eprintln!(
        "measured: through Thunderbird:        confirmation delivered -> taken by the wallet {:?}; `mailpay approve` (OK accepted by the server) {:?}",
        taken - arrived,
        approve_took
    );
    // The OK went out as a reply to the confirmation, from Thunderbird.
    let trail = world.bank(&["trail", &fig1]);
    assert!(trail.contains("approve"), "{trail}");

    // Thunderbird restarts: the add-on and the host find each other again.
    let mut tb = tb;
    tb.restart();
    connected(&tb);
    // Fig. 2: the cheque as an attachment, no confirmation.
    let fig2 = place(&home, &["--method", "cheque"]);
    wait_for_state(&tb, &fig2, "settled");
    assert_eq!(world.bank(&["balance", "shop@shop.test", "JPY"]).trim(), "2400 JPY");

    // Nothing but MailPay mail was handed over, and the ordinary mail is
    // still where it was.
    let db = rusqlite::Connection::open(mailpay::paths::Paths::under(&home).database()).unwrap();
    let strangers: i64 = db
        .query_row("SELECT count(*) FROM received WHERE kind IS NULL OR raw LIKE '%Noon?%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(strangers, 0, "only MailPay mails reach the wallet");
    assert_eq!(count_in_mailbox(stack, "orderer@buyer.test", "<lunch.1@shop.test>"), 1);
    // The direct route in the same run, for comparison: the same address's
    // wallet with its own IMAP and SMTP connections (`mailpay watch`).
    let direct = &world.home;
    let log = std::fs::File::create(world.dir.join("watch.log")).unwrap();
    let mut watch = processes::command(MAILPAY, direct, &["watch"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let watch_log = || std::fs::read_to_string(world.dir.join("watch.log")).unwrap_or_default();
    let deadline = Instant::now() + SETTLE;
    while !watch_log().contains("watching orderer@buyer.test") {
        assert!(Instant::now() < deadline, "mailpay watch did not start:\n{}", watch_log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let order = place(direct, &[]);
    let arrived_direct = delivered(stack, "orderer@buyer.test", &confirmation_of(&order), 0);
    let taken_direct = wait_in(direct, &order, "awaiting-confirmation", watch_log);
    let approving = Instant::now();
    ok(MAILPAY, direct, &["approve", &order]);
    let approve_direct = approving.elapsed();
    wait_in(direct, &order, "settled", watch_log);
    let _ = watch.kill();
    let _ = watch.wait();
    eprintln!(
        "measured: direct (IMAP IDLE + SMTP):  confirmation delivered -> taken by the wallet {:?}; `mailpay approve` (OK accepted by the server) {:?}",
        taken_direct - arrived_direct,
        approve_direct
    );

    // What Thunderbird asked on the way, for the record: its attachment
    // reminder comes up when a random code holds "CV" between digits (a
    // person answers "No, Send Now", as the test's dialog closer does), and
    // on a loaded machine it may fail to reach a server for a while (the
    // host sends again what failed).
    for dialog in tb.dialogs() {
        eprintln!("Thunderbird asked: {dialog}");
    }
}

/// bank2 runs no agent in these tests: the test writes its confirmation of
/// `order` in the wallet at `home` (for `amount`, when it differs from the
/// order's) and mails it; its Message-ID.
fn confirm_from_bank2(stack: &MailStack, home: &Path, order: &str, amount: Option<Money>) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = Store::open(&mailpay::paths::Paths::under(home).database()).unwrap();
    let (terms, _) = store.load(&order.parse().unwrap()).unwrap();
    let confirm = Confirm { amount: amount.unwrap_or(terms.amount), ..protocol::confirm_for(&terms) };
    let mail = compose::confirm(&confirm, &"bank2@bank2.test".parse().unwrap(), &Thread::default())
        .build(mailpay::clock::now(), &mut rand::rng());
    wire::submit(&runtime, stack, "bank2@bank2.test", "bank2@bank2.test", terms.orderer.as_str(), mail.bytes)
        .unwrap();
    mail.message_id
}

/// A confirmation that does not match the order is not answered, even for
/// a payment approved in advance; one that matches is, at once.
#[test]
fn a_confirmation_that_does_not_match_is_not_answered() {
    let stack = mailstack::shared();
    let tb = thunderbird(stack, "orderer2@buyer.test");
    let home = tb.mailpay_home.clone();
    // bank2 runs no agent here: the test writes the bank's confirmations.
    let order = |amount: &str| {
        let amount = format!("{amount} JPY");
        let placed = ok(
            MAILPAY,
            &home,
            &order_args("shop2@shop2.test", "bank2@bank2.test", &amount, &["--approve-in-advance"]),
        );
        order_id(&placed).replace('-', "")
    };
    let differs = order("500");
    let matches = order("700");
    let confirm = |order: &str, amount: Option<Money>| confirm_from_bank2(stack, &home, order, amount);
    confirm(&differs, Some("5000 JPY".parse().unwrap()));
    wait_for_state(&tb, &differs, "awaiting-confirmation");
    confirm(&matches, None);
    wait_for_state(&tb, &matches, "approved");
    let deadline = Instant::now() + SETTLE;
    while count_in_mailbox(stack, "bank2@bank2.test", "Kind: approve") < 1 {
        assert!(Instant::now() < deadline, "the matching confirmation was not answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count_in_mailbox(stack, "bank2@bank2.test", "Kind: approve"), 1, "only the matching one");
    assert_eq!(state(&home, &differs).as_deref(), Some("awaiting-confirmation"));
    let out = run(MAILPAY, &home, &["approve", &differs], "");
    assert!(!out.status.success(), "a confirmation that differs cannot be approved");
}

/// Not a test: packaging/screenshots.sh runs it to take README's picture of
/// the banner on a bank's confirmation in Thunderbird, with Xvfb's display
/// in MAILPAY_SCREENSHOT_DISPLAY and the PNG to write in MAILPAY_SCREENSHOT.
#[test]
#[ignore = "takes README's screenshot; run by packaging/screenshots.sh"]
fn screenshot_of_the_banner_in_thunderbird() {
    let (Ok(display), Ok(png)) =
        (std::env::var("MAILPAY_SCREENSHOT_DISPLAY"), std::env::var("MAILPAY_SCREENSHOT"))
    else {
        panic!("set MAILPAY_SCREENSHOT_DISPLAY (an X display) and MAILPAY_SCREENSHOT (a .png)");
    };
    let stack = mailstack::shared();
    let recording = Recording::new("screenshot");
    let mut options = Options { display: Some(display.clone()), ..Options::default() };
    Probe::install(&mut options, &recording);
    let tb = thunderbird_with(stack, "orderer2@buyer.test", options);
    let probe = Probe::attach(&tb, &recording);
    let home = tb.mailpay_home.clone();
    let placed = ok(
        MAILPAY,
        &home,
        &order_args(
            "shop2@shop2.test",
            "bank2@bank2.test",
            "3240 JPY",
            &["--item", "2 x Sencha 100g @ 1620 JPY"],
        ),
    );
    let order = order_id(&placed).replace('-', "");
    let confirmation = confirm_from_bank2(stack, &home, &order, None);
    wait_for_state(&tb, &order, "awaiting-confirmation");
    let tab = probe.open(&confirmation);
    let banner = probe.banner(tab, "Review in MailPay");
    assert!(banner.as_deref().is_some_and(|b| b.contains("Review in MailPay")), "banner: {banner:?}");
    std::thread::sleep(Duration::from_secs(2));
    let xwd = tb.dir.join("shot.xwd");
    let shot = std::process::Command::new("xwd")
        .args(["-root", "-silent", "-display", &display, "-out"])
        .arg(&xwd)
        .status()
        .expect("xwd (Debian package x11-apps) runs");
    assert!(shot.success());
    let converted = std::process::Command::new("python3")
        .arg(support::thunderbird::repo().join("packaging/xwd2png.py"))
        .arg(&xwd)
        .arg(&png)
        .arg("--trim")
        .status()
        .expect("python3 runs");
    assert!(converted.success());
    println!("{png}");
}
