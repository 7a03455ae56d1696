//! The native-messaging host (`mailpay-thunderbird`) as Thunderbird starts
//! it, with this test speaking the add-on's side of the frames on its
//! standard input and output: what the host does with garbage, a second
//! host, Thunderbird closed while a payment is placed, and the app's and
//! the command line's mails relayed through it. The real add-on in a real
//! Thunderbird is tests/thunderbird.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::native_host::{HOST, NativeHost as Host, WAIT};
use support::processes::{MAILPAY, ok, order_args, run, temp_dir};

fn wallet(name: &str) -> PathBuf {
    let home = temp_dir(name).join("wallet");
    ok(MAILPAY, &home, &["account", "add", "orderer@buyer.test", "--through-thunderbird"]);
    home
}

fn order(home: &Path) -> (String, String) {
    let out = run(MAILPAY, home, &order_args("shop@shop.test", "bank@bank.test", "1200 JPY", &[]), "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mailpay order:\n{text}");
    let id = text.lines().find_map(|l| l.strip_prefix("order ")).expect("the order's id is printed");
    // The canonical form, as the wallet keeps it.
    let id = id.replace('-', "");
    (id, text)
}

/// Places an order in the wallet at `home` (on a thread: `mailpay order`
/// waits for the host) while the host hands its two mails to the test's
/// add-on side, which answers the first "failed for now" with `reason`
/// and the second "sent". The order's id, what `mailpay order` printed,
/// and the request name of the mail that failed.
fn order_with_one_failing_now(home: &Path, host: &mut Host, reason: &str) -> (String, String, Value) {
    let placing = {
        let home = home.to_path_buf();
        std::thread::spawn(move || order(&home))
    };
    let (failed, _) = host.expect("send");
    host.send(
        json!({"type": "send-failed", "request": failed["request"], "reason": reason, "temporary": true}),
    );
    let (sent, _) = host.expect("send");
    host.send(json!({"type": "sent", "request": sent["request"], "message_id": "x@buyer.test"}));
    let (order, text) = placing.join().unwrap();
    (order, text, failed["request"].clone())
}

/// Waits until the wallet counts the payment's mails as sent.
fn wait_until_sent(home: &Path, order: &str) {
    let db = database(home);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let state: String =
            db.query_row("SELECT state FROM payment WHERE order_id = ?1", [order], |r| r.get(0)).unwrap();
        if state == "sent" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the payment is {state}, not sent");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn database(home: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(mailpay::paths::Paths::under(home).database()).unwrap()
}

#[test]
fn garbage_on_the_pipe_gets_a_clear_error_and_the_host_reads_on() {
    let home = wallet("tb-garbage");
    let mut host = Host::start(&home);
    // A whole frame that is not JSON, then one of a type nobody knows.
    host.send_raw(b"\x05\x00\x00\x00{{{{{");
    let (error, _) = host.expect("error");
    assert!(error["text"].as_str().unwrap().contains("not a message this end understands"), "{error}");
    host.send(json!({"type": "format-disk"}));
    let (error, _) = host.expect("error");
    assert!(error["text"].as_str().unwrap().contains("format-disk"), "{error}");
    // Still in step: a hello is answered.
    host.hello("orderer@buyer.test");
    let (welcome, _) = host.expect("welcome");
    assert_eq!(welcome["account"], "orderer@buyer.test");
    assert_eq!(welcome["standby"], false);
    // A length no frame may have ends the host with an error, at once.
    host.send_raw(&u32::MAX.to_le_bytes());
    let (error, _) = host.expect("error");
    assert!(error["text"].as_str().unwrap().contains("longer than"), "{error}");
    assert!(!host.close().success(), "a broken stream is a failure");
}

#[test]
fn a_mail_that_is_not_mailpay_is_said_so_and_not_recorded() {
    let home = wallet("tb-not-mailpay");
    let mut host = Host::start(&home);
    host.hello("orderer@buyer.test");
    host.expect("welcome");
    let raw = "X-Mozilla-Status: 0001\nFrom: friend@else.test\nTo: orderer@buyer.test\nSubject: lunch?\n\nTomorrow at noon?\n";
    host.send(json!({"type": "mail", "id": "17", "raw": base64(raw.as_bytes())}));
    let (taken, _) = host.expect("taken");
    assert_eq!(taken["id"], "17");
    assert_eq!(taken["outcome"], "not-mailpay");
    let received: i64 = database(&home).query_row("SELECT count(*) FROM received", [], |r| r.get(0)).unwrap();
    assert_eq!(received, 0);
    // Not base64 at all.
    host.send(json!({"type": "mail", "id": "18", "raw": "***"}));
    let (taken, _) = host.expect("taken");
    assert_eq!(taken["outcome"], "invalid");
    assert!(taken["text"].as_str().unwrap().contains("base64"), "{taken}");
    assert!(host.close().success());
}

#[test]
fn mails_placed_while_thunderbird_is_closed_leave_when_it_is_back_once() {
    let home = wallet("tb-closed");
    // No host: the order is recorded and its two mails wait.
    let (order, text) = order(&home);
    assert!(text.contains("leave as soon as Thunderbird runs"), "{text}");
    let unsent: i64 = database(&home)
        .query_row("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_temporarily = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unsent, 2, "both mails wait, marked as failed for now");

    // Thunderbird starts: the host says hello and sends them.
    let mut host = Host::start(&home);
    host.hello("orderer@buyer.test");
    host.expect("welcome");
    let mut sent = Vec::new();
    for n in 0..2 {
        let (send, _) = host.expect("send");
        assert_eq!(send["identity"], "orderer@buyer.test");
        let kind =
            send["headers"].as_array().unwrap().iter().find(|h| h[0] == "X-MailPay-Kind").unwrap()[1].clone();
        let said = send["headers"].as_array().unwrap().iter().find(|h| h[0] == "X-MailPay-Order").unwrap()[1]
            .clone();
        assert_eq!(said, order.as_str());
        assert!(send["body"].as_str().unwrap().contains("-----BEGIN MAILPAY "), "{send}");
        let id = format!("tb-{n}@buyer.test");
        host.send(json!({"type": "sent", "request": send["request"], "message_id": format!("<{id}>")}));
        sent.push((kind.as_str().unwrap().to_string(), send["to"].as_str().unwrap().to_string(), id));
    }
    sent.sort();
    assert_eq!(sent[0].0, "order");
    assert_eq!(sent[0].1, "shop@shop.test");
    assert_eq!(sent[1].0, "payment-request");
    assert_eq!(sent[1].1, "bank@bank.test");

    // Recorded with the Message-ID Thunderbird gave each, the payment sent.
    wait_until_sent(&home, &order);
    let db = database(&home);
    let mut ids: Vec<String> = db
        .prepare("SELECT sent_as FROM outbox WHERE order_id = ?1")
        .unwrap()
        .query_map([&order], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids.sort();
    assert_eq!(ids, ["tb-0@buyer.test", "tb-1@buyer.test"]);

    // Asked again (the command line's retry), the host sends nothing twice.
    let out = ok(MAILPAY, &home, &["retry", &order]);
    assert!(out.contains("payment"), "{out}");
    assert!(host.frames.recv_timeout(Duration::from_millis(500)).is_err(), "nothing is sent again");
    assert!(host.close().success());
}

#[test]
fn the_command_line_sends_through_the_running_host() {
    let home = wallet("tb-relay");
    let mut host = Host::start(&home);
    host.hello("orderer@buyer.test");
    host.expect("welcome");
    let (_, text, _) = order_with_one_failing_now(&home, &mut host, "SMTP server down");
    assert!(text.contains("accepted (x@buyer.test)") || text.contains(": accepted"), "{text}");
    assert!(text.contains("SMTP server down"), "the failure is told: {text}");
    assert!(host.close().success());
}

#[test]
fn a_mail_thunderbird_could_not_send_now_is_handed_over_again_on_its_own() {
    let home = wallet("tb-resend");
    let mut host = Host::start(&home);
    host.hello("orderer@buyer.test");
    host.expect("welcome");
    // Thunderbird's server did not answer in time.
    let (order, text, failed) = order_with_one_failing_now(&home, &mut host, "timed out");
    assert!(text.contains("timed out"), "{text}");
    // Nobody presses Retry: the host hands the same mail over again.
    let (again, _) = host.expect("send");
    assert_eq!(again["request"], failed, "the mail that failed, under the same request name");
    host.send(json!({"type": "sent", "request": again["request"], "message_id": "a@buyer.test"}));
    wait_until_sent(&home, &order);
    assert!(host.close().success());
}

#[test]
fn a_second_host_stands_by_and_takes_over_when_the_first_ends() {
    let home = wallet("tb-twice");
    let mut first = Host::start(&home);
    first.hello("orderer@buyer.test");
    assert_eq!(first.expect("welcome").0["standby"], false);
    let mut second = Host::start(&home);
    second.hello("orderer@buyer.test");
    let (welcome, _) = second.expect("welcome");
    assert_eq!(welcome["standby"], true, "{welcome}");
    assert!(first.close().success());
    let (welcome, _) = second.expect("welcome");
    assert_eq!(welcome["standby"], false, "the second took over: {welcome}");
    let status = ok(MAILPAY, &home, &["thunderbird", "status"]);
    assert!(status.contains("carries the mail of orderer@buyer.test"), "{status}");
    assert!(second.close().success());
}

#[test]
fn installing_the_add_on_is_all_a_wallet_without_an_account_needs() {
    let home = temp_dir("tb-fresh").join("wallet");
    let mut host = Host::start(&home);
    host.hello("someone@buyer.test");
    let (welcome, _) = host.expect("welcome");
    assert_eq!(welcome["account"], "someone@buyer.test");
    assert!(welcome["text"].as_str().unwrap().contains("no password"), "{welcome}");
    let list = ok(MAILPAY, &home, &["account", "list"]);
    assert!(list.contains("someone@buyer.test  through Thunderbird"), "{list}");
    assert!(host.close().success());
}

#[test]
fn the_host_started_by_hand_says_what_it_is() {
    let out = Command::new(HOST).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("started by Thunderbird"));
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
