//! The `mailpay` command line, run as a program: a whole Fig. 1 exchange
//! composed step by step from the files of the step before, and `inspect`
//! on good and bad mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mailpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailpay")).args(args).output().expect("mailpay runs")
}

fn ok(args: &[&str]) -> String {
    let out = mailpay(args);
    assert!(out.status.success(), "mailpay {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn inspect(path: &Path) -> serde_json::Value {
    let text = ok(&["inspect", "--json", path.to_str().expect("UTF-8 path")]);
    serde_json::from_str(&text).expect("inspect prints JSON")
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one {prefix} file in {}", dir.display());
    found.remove(0)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailpay-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_whole_exchange_composed_by_hand() {
    let dir = temp_dir("exchange");
    let out = dir.to_str().expect("UTF-8 path");
    let printed = ok(&[
        "compose",
        "order",
        "--from",
        "orderer@buyer.test",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "12.50",
        "--currency",
        "USD",
        "--item",
        "2 x Green tea @ 6.25 USD",
        "--password",
        "7KQ3-M9ZX-P2VD-H4TR-B8NC",
        "--out",
        out,
    ]);
    assert!(printed.contains("password A 7KQ3-M9ZX-P2VD-H4TR-B8NC"), "{printed}");

    let order = inspect(&only_file(&dir, "order-"));
    assert_eq!(order["kind"], "order");
    assert_eq!(order["from"], "orderer@buyer.test");
    assert_eq!(order["to"][0], "shop@shop.test");
    assert_eq!(order["amount_minor"], 1250);
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["password_a"], "7KQ3M9ZXP2VDH4TRB8NC");
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(order["items"][0]["unit_price_minor"], 625);
    let request = inspect(&only_file(&dir, "payment-request-"));
    assert_eq!(request["kind"], "payment-request");
    assert_eq!(request["to"][0], "bank@bank.test");
    assert_eq!(request["order_id"], order["order_id"]);

    let order_file = only_file(&dir, "order-");
    ok(&["compose", "bill", "--reply-to", order_file.to_str().expect("path"), "--out", out]);
    let bill_file = only_file(&dir, "bill-");
    let bill = inspect(&bill_file);
    assert_eq!(bill["kind"], "bill");
    assert_eq!(bill["from"], "shop@shop.test");
    assert_eq!(bill["amount_minor"], 1250);
    assert_eq!(bill["password_a"], order["password_a"], "the merchant keeps A as it is");
    assert!(bill["in_reply_to"][0].as_str().is_some_and(|id| id.starts_with("order.")));

    let secret = dir.join("bank.key");
    let printed = ok(&[
        "compose",
        "confirm",
        "--reply-to",
        bill_file.to_str().expect("path"),
        "--secret",
        secret.to_str().expect("path"),
        "--out",
        out,
    ]);
    let confirm_file = only_file(&dir, "confirm-");
    let confirm = inspect(&confirm_file);
    assert_eq!(confirm["kind"], "confirm");
    assert_eq!(confirm["to"][0], "orderer@buyer.test");
    let code = confirm["code"].as_str().expect("code").to_string();
    assert!(printed.contains(&code));

    ok(&[
        "compose",
        "approve",
        "--reply-to",
        confirm_file.to_str().expect("path"),
        "--password",
        "7kq3 m9zx p2vd h4tr b8nc",
        "--out",
        out,
    ]);
    let approve = inspect(&only_file(&dir, "approve-"));
    assert_eq!(approve["kind"], "approve");
    assert_eq!(approve["code"], code.as_str());
    assert_eq!(approve["password_a"], order["password_a"]);
    assert_eq!(approve["to"][0], "bank@bank.test");
}

#[test]
fn inspect_reports_the_exact_reason_and_fails() {
    let dir = temp_dir("bad");
    let out = dir.to_str().expect("UTF-8 path");
    ok(&[
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
        out,
    ]);
    let good = std::fs::read_to_string(only_file(&dir, "order-")).expect("mail");
    let bad = dir.join("altered.eml");
    std::fs::write(&bad, good.replace("Amount: 1200 JPY", "Amount: 9200 JPY")).expect("write");
    let result = mailpay(&["inspect", "--json", bad.to_str().expect("path")]);
    assert_eq!(result.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).expect("JSON");
    assert_eq!(report["valid"], false);
    assert!(report["error"].as_str().is_some_and(|e| e.contains("Check line does not match")), "{report}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("altered.eml is not a valid MailPay mail"), "{stderr}");
}

#[test]
fn quoted_blocks_are_reported_with_where_they_were_found() {
    let dir = temp_dir("quoted");
    let out = dir.to_str().expect("UTF-8 path");
    ok(&[
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
        out,
    ]);
    let original = std::fs::read_to_string(only_file(&dir, "order-")).expect("mail");
    let (headers, body) = original.split_once("\r\n\r\n").expect("headers and body");
    let quoted: String = body.lines().map(|l| format!("> {l}\r\n")).collect();
    let reply = dir.join("reply.eml");
    std::fs::write(&reply, format!("{headers}\r\n\r\nSee below.\r\n\r\nOn Wed, someone wrote:\r\n{quoted}"))
        .expect("write");
    let report = inspect(&reply);
    assert_eq!(report["kind"], "order");
    assert_eq!(report["blocks"][0]["origin"], "quoted, depth 1");
}

#[test]
fn usage_errors_are_clear() {
    let weak = mailpay(&[
        "compose",
        "order",
        "--from",
        "orderer@buyer.test",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "12.345",
        "--currency",
        "USD",
    ]);
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("USD has 2 decimal places"));
    let missing = mailpay(&["inspect", "/nonexistent/mail.eml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/mail.eml"));
}

/// With no command (or a `mailpay:` link) the wallet window opens; with no
/// graphical session that is refused with a clear message, not a crash.
#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn no_command_wants_a_display_and_says_so() {
    for args in [&[][..], &["mailpay:shop@example.com?amount=1&currency=JPY"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_mailpay"))
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .env("MAILPAY_HOME", std::env::temp_dir().join("mailpay-cli-no-display"))
            .output()
            .expect("mailpay runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("needs a graphical session"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
