//! Attack: read a used password A back out of the wallet's files after
//! the wallet was killed. Once a payment has ended its A is replaced by a
//! hash, but SQLite keeps the pages as they were in its write-ahead log
//! (`-wal`) until a checkpoint, and in the database file itself when an
//! earlier checkpoint copied them there. A wallet stopped with SIGKILL (or
//! a crash, or a power cut) does not close its database, so whatever the
//! log holds stays on disk.
//!
//! Each test runs a real wallet process (this test binary again, with an
//! environment variable naming the wallet folder) that ends a payment
//! through the store's API, says so, and is then killed with SIGKILL by
//! the test, which reads every byte of every file in the wallet's folder.
//! A second payment left open is the control: its A must be found (it is
//! still needed), which shows the search sees what is there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::accounts;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use mailpay::paths::Paths;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Confirm, Settled};
use mailpay::protocol::payment::{Event, Outbound};
use mailpay::protocol::{Money, OrderTerms, PasswordA};
use mailpay::store::Store;
use mailpay::wallet;

const CHILD_HOME: &str = "MAILPAY_ATTACK_WAL_HOME";
const CHILD_ENDED: &str = "MAILPAY_ATTACK_WAL_ENDED";
const CHILD_OPEN: &str = "MAILPAY_ATTACK_WAL_OPEN";
/// Which other reader the wallet process has ([`Reader`]).
const CHILD_READER: &str = "MAILPAY_ATTACK_WAL_READER";
/// What the wallet process prints once the payment has ended.
const READY: &str = "WALLET-PROCESS-READY";

/// Every way A may be written in a file: as shown (groups of four) and
/// as compared (no hyphens), in either case, and each of these in base64
/// at the three byte alignments (a mail body in a transfer encoding).
fn forms(password: &PasswordA) -> (Vec<String>, Vec<String>) {
    let texts = vec![password.display(), password.expose().to_string()];
    let mut encoded = Vec::new();
    for text in &texts {
        for skip in 0..3 {
            let bytes = &text.as_bytes()[skip..];
            let whole = bytes.len() / 3 * 3;
            encoded.push(base64::engine::general_purpose::STANDARD.encode(&bytes[..whole]));
        }
    }
    (texts, encoded)
}

/// Where in `bytes` A is written, in any of its forms; line breaks and
/// quoted-printable soft breaks are looked through.
fn find(bytes: &[u8], password: &PasswordA) -> Vec<String> {
    let mut joined = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"=\r\n") {
            i += 3;
        } else if bytes[i..].starts_with(b"=\n") {
            i += 2;
        } else if bytes[i] == b'\r' || bytes[i] == b'\n' {
            i += 1;
        } else {
            joined.push(bytes[i]);
            i += 1;
        }
    }
    let upper: Vec<u8> = joined.to_ascii_uppercase();
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let (texts, encoded) = forms(password);
    let mut found: Vec<String> = texts.into_iter().filter(|t| has(&upper, t.as_bytes())).collect();
    found.extend(encoded.into_iter().filter(|e| has(&joined, e.as_bytes())));
    found
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn confirm_for(terms: &OrderTerms) -> Confirm {
    use mailpay::protocol::confirmation::{ConfirmationCode, Proof};
    Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: ConfirmationCode::compute(
            b"bank key",
            &terms.order,
            terms.amount,
            &terms.merchant,
            &terms.password,
            &[7; 16],
        ),
        expires: terms.expires,
        attempts_left: 5,
        proof: Some(Proof::compute(&terms.password, &terms.order)),
    }
}

fn terms_with(password: &PasswordA, amount: u64) -> OrderTerms {
    let mut terms = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", amount);
    terms.password = password.clone();
    // Japanese text sends the bodies in a transfer encoding; many items
    // make mails longer than a database page, kept in overflow pages that
    // are freed when the mail is rewritten without A.
    let yen = terms.amount.currency();
    terms.items =
        vec![LineItem::new(1, "宇治の抹茶 缶入り", Some(Money::new(amount, yen).unwrap())).unwrap()];
    for n in 0..40 {
        terms.items.push(LineItem::new(1, &format!("おまけ {n}: 茶さじ・茶こし・説明書"), None).unwrap());
    }
    terms
}

/// Places `terms` and takes it to the bank's confirmation, approved and
/// the OK sent: its mails (order, payment request, OK) all carry A.
fn up_to_approved(store: &mut Store, terms: &OrderTerms) {
    wallet::place(store, terms, None, accounts::now()).unwrap();
    for mail in [Outbound::Order, Outbound::PaymentRequest] {
        wallet::act(store, &terms.order, &Event::Accepted(mail), None, false).unwrap();
    }
    let confirm = Event::ConfirmReceived { from: terms.bank.clone(), confirm: confirm_for(terms) };
    wallet::act(store, &terms.order, &confirm, None, false).unwrap();
    wallet::act(store, &terms.order, &Event::UserApprove, None, false).unwrap();
    wallet::act(store, &terms.order, &Event::Accepted(Outbound::Approve), None, false).unwrap();
}

/// Another connection to the wallet (the desktop wallet while `mailpay
/// watch` works) holding a read of the wallet from before the payment's
/// end, which keeps the journal in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    None,
    /// Lets go 500 ms into the end of the payment: the wipe waits for it.
    Brief,
    /// Holds on past the store's busy timeout (10 s): the wipe cannot be
    /// done then, and is done by the wallet's next step.
    PastTheTimeoutThenNextStep,
    /// Holds on until the process is killed: the wipe is done when the
    /// wallet is opened again.
    UntilKilled,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::None => "none",
            Reader::Brief => "brief",
            Reader::PastTheTimeoutThenNextStep => "past-timeout",
            Reader::UntilKilled => "until-killed",
        }
    }

    fn from_env() -> Reader {
        let name = std::env::var(CHILD_READER).unwrap_or_default();
        [Reader::None, Reader::Brief, Reader::PastTheTimeoutThenNextStep, Reader::UntilKilled]
            .into_iter()
            .find(|r| r.name() == name)
            .unwrap_or(Reader::None)
    }
}

/// The wallet process: one payment left open, one taken to its end; the
/// pages holding the second one's A are first copied into the database
/// file by a checkpoint, as SQLite does on its own every 1000 pages.
/// Then it says so and waits to be killed.
fn wallet_process(home: &Path) {
    let ended = PasswordA::parse(&std::env::var(CHILD_ENDED).unwrap()).unwrap();
    let open = PasswordA::parse(&std::env::var(CHILD_OPEN).unwrap()).unwrap();
    let reader = Reader::from_env();
    let database = Paths::under(home).database();
    let mut store = Store::open(&database).unwrap();
    let still_open = terms_with(&open, 1200);
    up_to_approved(&mut store, &still_open);
    let ending = terms_with(&ended, 2400);
    up_to_approved(&mut store, &ending);
    {
        let other = rusqlite::Connection::open(&database).unwrap();
        let row: (i64, i64, i64) = other
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        assert_eq!(row.0, 0, "the checkpoint before the end ran: {row:?}");
    }
    let holding = (reader != Reader::None).then(|| {
        let other = rusqlite::Connection::open(&database).unwrap();
        other.execute_batch("BEGIN").unwrap();
        let count: i64 = other.query_row("SELECT COUNT(*) FROM payment", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2);
        let hold = match reader {
            Reader::Brief => Duration::from_millis(500),
            Reader::PastTheTimeoutThenNextStep => Duration::from_secs(12),
            _ => Duration::from_secs(3600),
        };
        std::thread::spawn(move || {
            std::thread::sleep(hold);
            other.execute_batch("COMMIT").unwrap();
            other
        })
    });
    let settled = Settled {
        order: ending.order.clone(),
        orderer: ending.orderer.clone(),
        merchant: ending.merchant.clone(),
        amount: ending.amount,
        settled: accounts::now(),
        reference: "MP-1".into(),
    };
    let event = Event::SettledReceived { from: ending.bank.clone(), settled };
    wallet::act(&store, &ending.order, &event, None, false).unwrap();
    assert_eq!(store.load(&ending.order).unwrap().1.name(), "settled");
    assert_eq!(store.load(&still_open.order).unwrap().1.name(), "approved");
    if matches!(reader, Reader::PastTheTimeoutThenNextStep | Reader::UntilKilled) {
        assert!(store.journal_unwiped(), "the reader held the wipe up (what this case is about)");
    }
    if reader == Reader::PastTheTimeoutThenNextStep {
        // The reader lets go and stays open, as the desktop wallet would;
        // the wallet's next step (any commit) does the wipe.
        let _reader = holding.map(|r| r.join().unwrap());
        let next = accounts::terms("orderer@buyer.test", "shop@shop.test", "bank@bank.test", 300);
        wallet::place(&mut store, &next, None, accounts::now()).unwrap();
        say_ready_and_wait(_reader);
    } else if reader == Reader::Brief {
        say_ready_and_wait(holding.map(|r| r.join().unwrap()));
    } else {
        say_ready_and_wait(holding);
    }
}

fn say_ready_and_wait<T>(_keep: T) {
    let mut out = std::io::stdout().lock();
    // On a line of its own: the test harness may have left its own line open.
    writeln!(out, "\n{READY}").unwrap();
    out.flush().unwrap();
    drop(out);
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// What is left of `password` in the files under `home`, and the files
/// holding `control`.
fn scan(home: &Path, password: &PasswordA, control: &PasswordA) -> (Vec<String>, Vec<String>) {
    let mut all = Vec::new();
    files(home, &mut all);
    let mut leaks = Vec::new();
    let mut found = Vec::new();
    for file in &all {
        let bytes = std::fs::read(file).unwrap();
        for form in find(&bytes, password) {
            leaks.push(format!("{} holds {form}", file.display()));
        }
        if !find(&bytes, control).is_empty() {
            found.push(file.display().to_string());
        }
    }
    (leaks, found)
}

/// Runs the wallet process for `test`, kills it with SIGKILL once the
/// payment has ended, and checks every file of its folder.
fn attack(test: &str, reader: Reader) {
    if let Some(home) = std::env::var_os(CHILD_HOME) {
        wallet_process(Path::new(&home));
        return;
    }
    let home = std::env::temp_dir().join(format!(
        "mailpay-attack-wal-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let ended = PasswordA::generate(&mut rand::rng());
    let open = PasswordA::generate(&mut rand::rng());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD_HOME, &home)
        .env(CHILD_ENDED, ended.display())
        .env(CHILD_OPEN, open.display())
        .env(CHILD_READER, reader.name())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ready = BufReader::new(stdout).lines().any(|l| l.is_ok_and(|l| l.trim() == READY));
        let _ = tell.send(ready);
    });
    let ready = told.recv_timeout(Duration::from_secs(120)).unwrap_or(false);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(ready, "the wallet process ended the payment ({status:?})");

    let database = Paths::under(&home).database();
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    assert!(
        database.is_file() && wal.is_file(),
        "the killed wallet left its journal behind, as a crash does"
    );
    let (leaks, control) = scan(&home, &ended, &open);
    assert!(!control.is_empty(), "the open payment's A is kept, and found: the search works");
    let reopened = if reader == Reader::UntilKilled {
        // Killed while the wipe was due: the A is still in the journal
        // (the window this test is about), until the wallet opens again.
        assert!(!leaks.is_empty(), "the wipe was due when the wallet was killed");
        let store = Store::open(&database).unwrap();
        // (Kept open while the files are read: the last connection to
        // close would delete the journal anyway.)
        let (leaks, _) = scan(&home, &ended, &open);
        assert!(
            leaks.is_empty(),
            "the ended payment's A is still on disk after opening:\n{}",
            leaks.join("\n")
        );
        assert!(!store.journal_unwiped(), "opening the wallet wiped the journal");
        Some(store)
    } else {
        assert!(leaks.is_empty(), "the ended payment's A is still on disk:\n{}", leaks.join("\n"));
        None
    };
    drop(reopened);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_killed_wallet_leaves_no_used_password_a_in_any_file() {
    attack("a_killed_wallet_leaves_no_used_password_a_in_any_file", Reader::None);
}

/// A reader that lets go soon: the wipe waits for it instead of leaving
/// A behind.
#[test]
fn a_brief_reader_does_not_keep_password_a_on_disk() {
    attack("a_brief_reader_does_not_keep_password_a_on_disk", Reader::Brief);
}

/// A reader holding on past the busy timeout: the step is kept, the wipe
/// stays due and the wallet's next step does it.
#[test]
fn a_wipe_a_reader_held_up_is_done_by_the_next_step() {
    attack("a_wipe_a_reader_held_up_is_done_by_the_next_step", Reader::PastTheTimeoutThenNextStep);
}

/// Killed while the wipe was due: opening the wallet again does it first.
#[test]
fn a_wipe_left_due_by_a_killed_wallet_is_done_when_it_opens_again() {
    attack("a_wipe_left_due_by_a_killed_wallet_is_done_when_it_opens_again", Reader::UntilKilled);
}
