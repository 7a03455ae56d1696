//! Every `mailpay` command with its standard output a pipe nobody reads
//! any more (`mailpay inspect --json MAIL | head -1` once `head` has
//! gone): the command stops printing, finishes its work, and exits with
//! its usual code (0 on success), with no panic on stderr. Before, the
//! first `println!` after the reader left panicked (exit 101) and
//! abandoned the work half-done: `compose` wrote no file, `order` left its
//! mails unsent, `approve` sent no OK.
//!
//! The stdout of each run is the write end of a pipe whose read end is
//! closed before the program starts, so its first write fails with EPIPE.
//!
//! Commands covered: --help, --version, compose (order, bill, confirm,
//! approve, decline, settled, rejected), inspect (text, --json, an invalid
//! mail), wallet-key, bank-key (set, show), backup, restore; and against
//! the real mail stack: account (add, list, test, remove), order, watch
//! (--once, and without it), approve, decline, retry. And a standard
//! output that fails otherwise (`/dev/full`): reported, exit code 1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{mailstack, processes};

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use processes::{MAILPAY, World, order_id, watch_until};

/// What a run with a closed stdout left behind.
struct Run {
    status: ExitStatus,
    stderr: String,
}

/// Runs `command` with stdout a pipe whose reader is gone and `stdin` on
/// its standard input; fails the test if it runs longer than `limit`.
fn with_closed_stdout(mut command: Command, stdin: &str, limit: Duration) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child =
        command.stdin(Stdio::piped()).stdout(writer).stderr(Stdio::piped()).spawn().expect("mailpay runs");
    drop(command);
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reading = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?} with its stdout closed: {}", reading.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run { status, stderr: reading.join().unwrap() }
}

/// `mailpay ARGS` in `home` with a closed stdout, asserted to exit with
/// `code` and no panic.
fn closed(home: &Path, args: &[&str], stdin: &str, code: i32) -> String {
    let run = with_closed_stdout(processes::command(MAILPAY, home, args), stdin, Duration::from_secs(120));
    assert!(
        !run.stderr.contains("panicked"),
        "mailpay {args:?} panicked on the closed pipe:\n{}",
        run.stderr
    );
    assert_eq!(run.status.code(), Some(code), "mailpay {args:?}: {:?}\n{}", run.status, run.stderr);
    run.stderr
}

/// `mailpay ARGS` printing normally: what it prints (so that the run with
/// a closed stdout is known to have had something to print).
fn printed(home: &Path, args: &[&str]) -> String {
    let out = processes::run(MAILPAY, home, args, "");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one {prefix} file in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

#[test]
fn commands_without_a_mail_server_end_quietly_on_a_closed_pipe() {
    let dir = processes::temp_dir("pipe-offline");
    let home = dir.join("home");
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();

    for args in [&["--help"][..], &["--version"], &["compose", "--help"]] {
        assert!(!printed(&home, args).is_empty(), "{args:?} prints");
        closed(&home, args, "", 0);
    }

    // compose order: the files are written although nobody reads what it says.
    let order_args = [
        "compose",
        "order",
        "--from",
        "orderer@buyer.test",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "1200",
        "--currency",
        "JPY",
        "--item",
        "Green tea",
        "--out",
        out,
    ];
    closed(&home, &order_args, "", 0);
    let order = only_file(&out_dir, "order-");
    only_file(&out_dir, "payment-request-");
    let order = order.to_str().unwrap();

    closed(&home, &["compose", "bill", "--reply-to", order, "--out", out], "", 0);
    let bill = only_file(&out_dir, "bill-");
    let bill = bill.to_str().unwrap();
    let secret = dir.join("bank.key");
    closed(
        &home,
        &["compose", "confirm", "--reply-to", bill, "--secret", secret.to_str().unwrap(), "--out", out],
        "",
        0,
    );
    let confirm = only_file(&out_dir, "confirm-");
    let confirm = confirm.to_str().unwrap();
    let password = std::fs::read_to_string(order)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Password-A: ").map(str::to_string))
        .expect("the order carries A");
    closed(
        &home,
        &["compose", "approve", "--reply-to", confirm, "--password", &password, "--out", out],
        "",
        0,
    );
    only_file(&out_dir, "approve-");
    closed(&home, &["compose", "decline", "--reply-to", confirm, "--out", out], "", 0);
    only_file(&out_dir, "decline-");
    closed(&home, &["compose", "settled", "--reply-to", bill, "--reference", "MP-1", "--out", out], "", 0);
    only_file(&out_dir, "settled-");
    closed(
        &home,
        &["compose", "rejected", "--reply-to", bill, "--reason", "amount-mismatch", "--out", out],
        "",
        0,
    );
    only_file(&out_dir, "rejected-");

    for args in [&["inspect", bill][..], &["inspect", "--json", bill]] {
        assert!(printed(&home, args).lines().count() > 5, "{args:?} prints lines");
        closed(&home, args, "", 0);
    }
    let broken = dir.join("broken.eml");
    std::fs::write(&broken, "From: a@b.test\r\n\r\nnothing\r\n").unwrap();
    let stderr = closed(&home, &["inspect", "--json", broken.to_str().unwrap()], "", 1);
    assert!(stderr.contains("is not a valid MailPay mail"), "the error is still reported: {stderr}");

    closed(&home, &["wallet-key"], "", 0);
    assert!(!printed(&home, &["wallet-key"]).is_empty());
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    closed(&home, &["bank-key", "set", "bank@bank.test", &recipient], "", 0);
    assert_eq!(printed(&home, &["bank-key", "show", "bank@bank.test"]).trim(), recipient, "it was kept");
    closed(&home, &["bank-key", "show", "bank@bank.test"], "", 0);

    let backup = dir.join("wallet.backup");
    closed(&home, &["backup", backup.to_str().unwrap()], "", 0);
    assert!(backup.is_file(), "the backup was written");
    closed(&home, &["restore", backup.to_str().unwrap(), "--replace"], "", 0);
    assert!(printed(&home, &["backup", backup.to_str().unwrap()]).contains("backed up"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard output that cannot be written for another reason (a full
/// disk): the command still does its work, and says on stderr, with exit
/// code 1, that what it printed is incomplete.
#[test]
fn a_stdout_that_fails_otherwise_is_reported_not_a_panic() {
    let dir = processes::temp_dir("pipe-full");
    let home = dir.join("home");
    let out_dir = dir.join("out");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let out = processes::command(
        MAILPAY,
        &home,
        &[
            "compose",
            "order",
            "--from",
            "orderer@buyer.test",
            "--merchant",
            "shop@shop.test",
            "--bank",
            "bank@bank.test",
            "--amount",
            "1200",
            "--currency",
            "JPY",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    )
    .stdout(full)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to standard output"), "{stderr}");
    only_file(&out_dir, "order-");
    only_file(&out_dir, "payment-request-");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The order's state in the wallet's database.
fn state(home: &Path, order: &str) -> String {
    let db = rusqlite::Connection::open(home.join("data").join("mailpay.sqlite3")).unwrap();
    db.query_row("SELECT state FROM payment WHERE order_id = ?1", [order.replace('-', "")], |r| r.get(0))
        .unwrap_or_else(|e| panic!("order {order}: {e}"))
}

fn orders(home: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(home.join("data").join("mailpay.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT order_id FROM payment ORDER BY created, rowid").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Runs `mailpay watch --once` with a closed stdout until `order` is in `wanted`.
fn watch_closed_until(home: &Path, order: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while state(home, order) != wanted {
        assert!(Instant::now() < deadline, "order {order} never reached {wanted}: {}", state(home, order));
        closed(home, &["watch", "--once"], "", 0);
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn commands_against_the_mail_server_finish_their_work_on_a_closed_pipe() {
    if !processes::in_session_keyring("commands_against_the_mail_server_finish_their_work_on_a_closed_pipe") {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "pipe-mail", 10_000);
    let home = &world.home;
    let _bank = world.start_bank(&world.dir.join("bank.log"), None);
    let _shop = world.start_shop(&world.dir.join("shop.log"));
    let orderer_password = format!("{}\n", stack.user("orderer@buyer.test").password);
    let add = processes::account_add_args(stack, "orderer@buyer.test");
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    closed(home, &add, &orderer_password, 0);
    closed(home, &["account", "list"], "", 0);
    assert!(printed(home, &["account", "list"]).contains("orderer@buyer.test"));
    closed(home, &["account", "test"], "", 0);

    // order: both mails leave although its first line found nobody.
    let order_args = [
        "order",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "700",
        "JPY",
        "--item",
        "Green tea",
    ];
    closed(home, &order_args, "", 0);
    let first = orders(home).pop().expect("the order was recorded");
    assert_eq!(state(home, &first), "sent", "the order's mails were sent");

    watch_closed_until(home, &first, "awaiting-confirmation");
    closed(home, &["approve", &first], "", 0);
    assert_eq!(state(home, &first), "approved", "the OK was sent");
    // watch without --once has nobody to tell: it stops at its first line.
    closed(home, &["watch"], "", 0);
    watch_closed_until(home, &first, "settled");

    let second = order_id(&world.mailpay(&order_args));
    watch_until(home, &second, "awaiting-confirmation");
    closed(home, &["decline", &second], "", 0);
    assert_eq!(state(home, &second), "declined", "the NO was sent");
    assert!(!printed(home, &["retry", &second]).is_empty(), "retry prints the state");
    closed(home, &["retry", &second], "", 0);

    closed(home, &["account", "remove", "orderer@buyer.test"], "", 0);
    assert!(!printed(home, &["account", "list"]).contains("orderer@buyer.test"), "the account was removed");
}
