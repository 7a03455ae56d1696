//! The command line against the real mail stack: an account set up with
//! its password in the kernel keyring (never in the config file), an order
//! sent with `mailpay order`, and the merchant's `mailpay watch` reading it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::mailstack;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mailstack::MailStack;

/// Whether to run the test's body here: the kernel keyutils store needs a
/// session keyring, which a process started outside a login session (CI,
/// a service) lacks. So the test first runs itself again under
/// `keyctl session -` (a fresh session keyring that every `mailpay` it
/// starts shares), checks that run passed, and skips the body out here.
fn in_session_keyring(test: &str) -> bool {
    const INSIDE: &str = "MAILPAY_TEST_IN_SESSION_KEYRING";
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("keyctl")
        .arg("session")
        .arg("-")
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .unwrap_or_else(|e| panic!("keyctl (Debian package keyutils) is needed to run this test: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{test} in a session keyring:\n{text}");
    false
}

/// `mailpay` with its own home folder, using the kernel keyring.
fn mailpay(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailpay"))
        .args(args)
        .env("MAILPAY_HOME", home)
        .env("MAILPAY_KEYRING", "keyutils")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailpay runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(home: &Path, args: &[&str], stdin: &str) -> String {
    let out = mailpay(home, args, stdin);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mailpay {args:?} failed:\n{text}");
    text
}

fn home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-cli-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn add_account(stack: &MailStack, home: &Path, address: &str) {
    let smtp = format!("localhost:{}", stack.submission_port);
    let imap = format!("localhost:{}", stack.imaps_port);
    let ca = stack.ca_file.to_str().unwrap();
    let password = &stack.user(address).password;
    let args = [
        "account",
        "add",
        address,
        "--smtp",
        &smtp,
        "--smtp-security",
        "starttls",
        "--imap",
        &imap,
        "--imap-security",
        "tls",
        "--ca-file",
        ca,
    ];
    let out = ok(home, &args, &format!("{password}\n"));
    assert!(out.contains("kernel keyutils"), "{out}");
    let config = std::fs::read_to_string(home.join("config/config.toml")).expect("config written");
    assert!(config.contains(address));
    assert!(!config.contains(password.as_str()), "the password must not be in the config file:\n{config}");
}

#[test]
fn order_from_the_command_line_reaches_merchant_and_bank_and_is_watched() {
    if !in_session_keyring("order_from_the_command_line_reaches_merchant_and_bank_and_is_watched") {
        return;
    }
    let stack = mailstack::shared();
    let orderer = home("orderer");
    let shop = home("shop");
    add_account(stack, &orderer, "orderer@buyer.test");
    add_account(stack, &shop, "shop@shop.test");
    let tested = ok(&orderer, &["account", "test"], "");
    assert_eq!(tested.matches("login OK").count(), 2, "{tested}");

    let out = ok(
        &orderer,
        &[
            "order",
            "--merchant",
            "shop@shop.test",
            "--bank",
            "bank@bank.test",
            "--amount",
            "1200",
            "JPY",
            "--item",
            "Green tea 100g",
        ],
        "",
    );
    let order =
        out.lines().find_map(|l| l.strip_prefix("order ")).expect("order id printed").trim().to_string();
    assert!(out.contains("order to shop@shop.test: accepted"), "{out}");
    assert!(out.contains("payment-request to bank@bank.test: accepted"), "{out}");
    assert!(out.contains(&format!("payment {order}: sent")), "{out}");
    assert!(stack.wait_for_message("bank@bank.test", &order, Duration::from_secs(20)).is_some());
    assert!(stack.wait_for_message("shop@shop.test", &order, Duration::from_secs(20)).is_some());

    let watched = ok(&shop, &["watch", "--once", "--json"], "");
    let line = watched
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["order_id"] == order.as_str())
        .unwrap_or_else(|| panic!("the watcher did not print the order:\n{watched}"));
    assert_eq!(line["kind"], "order");
    assert_eq!(line["from"], "orderer@buyer.test");
}

#[test]
fn a_wrong_password_in_the_keyring_is_reported_by_account_test() {
    if !in_session_keyring("a_wrong_password_in_the_keyring_is_reported_by_account_test") {
        return;
    }
    let stack = mailstack::shared();
    let home = home("wrong");
    let smtp = format!("localhost:{}", stack.submission_port);
    let imap = format!("localhost:{}", stack.imaps_port);
    let ca = stack.ca_file.to_str().unwrap();
    let args = [
        "account",
        "add",
        "orderer2@buyer.test",
        "--smtp",
        &smtp,
        "--smtp-security",
        "starttls",
        "--imap",
        &imap,
        "--imap-security",
        "tls",
        "--ca-file",
        ca,
    ];
    ok(&home, &args, "certainly-wrong\n");
    let out = mailpay(&home, &["account", "test"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("SMTP") && text.contains("refused the login for orderer2@buyer.test"), "{text}");
    assert!(text.contains("IMAP") && text.contains("refused the login"), "{text}");
    assert!(!out.status.success(), "a failed test is a failure exit");
}
