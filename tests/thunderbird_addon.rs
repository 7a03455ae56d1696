//! The MailPay add-on for Thunderbird on its own: its sources pass
//! `web-ext lint` and their unit tests, its .xpi builds reproducibly, and in
//! a real headless Thunderbird on the test mail stack it hands a native
//! host the MailPay mails (and only them) and sends the host's mails
//! through the user's account.
//!
//! The host here is a recording host (tests/thunderbird/recording-host.py),
//! so that the add-on is tested apart from the wallet; the wallet's own
//! host with this add-on is tested elsewhere with the same harness
//! (tests/support/thunderbird.rs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::mailstack::{self, MailStack};
use support::probe::{Probe, Recording};
use support::thunderbird::{self, Options, Thunderbird, wait_until};
use support::wire;

const ADDON_SOURCE: &str = "packaging/thunderbird/addon";
const WAIT: Duration = Duration::from_secs(60);

fn repo() -> &'static Path {
    thunderbird::repo()
}

// ------------------------------------------------------------ the sources ---

/// `npm ci` in tests/thunderbird once (kept while its lock file is
/// unchanged), then `web-ext lint` on the add-on: no errors. Warnings are
/// expected (web-ext knows Firefox's APIs, not Thunderbird's).
#[test]
fn web_ext_lint_finds_no_errors() {
    let tools = repo().join("tests/thunderbird");
    let web_ext = tools.join("node_modules/.bin/web-ext");
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let installed = modified(tools.join("node_modules/.package-lock.json"));
    if !web_ext.exists() || installed.is_none() || installed < modified(tools.join("package-lock.json")) {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&tools)
            .stdin(Stdio::null())
            .output()
            .expect("npm (Debian package npm) runs");
        assert!(out.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new(&web_ext)
        .args(["lint", "--output", "json", "--no-config-discovery", "--source-dir"])
        .arg(repo().join(ADDON_SOURCE))
        .current_dir(&tools)
        .stdin(Stdio::null())
        .output()
        .expect("web-ext runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "web-ext lint did not print JSON ({e}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(report["summary"]["errors"], 0, "web-ext lint errors:\n{:#}", Value::Array(errors));
    println!("web-ext lint: 0 errors, {} warnings", report["summary"]["warnings"]);
}

/// The add-on's frame checks and mail recognition, under Node's test runner.
#[test]
fn addon_unit_tests_pass() {
    let out = Command::new("node")
        .args(["--test", "tests/thunderbird/unit.js"])
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("node (Debian package nodejs) runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.contains("# fail 0"),
        "node --test tests/thunderbird/unit.js:\n{text}"
    );
}

/// Two builds give the same bytes; the .xpi holds the manifest and both
/// locales, and the Japanese one has every English message.
#[test]
fn xpi_builds_reproducibly_with_both_locales() {
    let dir = repo().join(format!("target/thunderbird/test-reproducible-{}", std::process::id()));
    let first = thunderbird::build_addon(&dir.join("first.xpi"));
    let second = thunderbird::build_addon(&dir.join("second.xpi"));
    let bytes = std::fs::read(&first).unwrap();
    assert_eq!(bytes, std::fs::read(&second).unwrap(), "two builds of the add-on differ");

    let list = Command::new("unzip").arg("-Z1").arg(&first).output().expect("unzip runs");
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout).lines().map(str::to_string).collect();
    assert_eq!(names.first().map(String::as_str), Some("manifest.json"), "manifest first: {names:?}");
    for needed in
        ["_locales/en/messages.json", "_locales/ja/messages.json", "background.js", "display/banner.js"]
    {
        assert!(names.iter().any(|n| n == needed), "{needed} missing from the .xpi: {names:?}");
    }
    let member = |name: &str| -> Value {
        let out = Command::new("unzip").arg("-p").arg(&first).arg(name).output().expect("unzip runs");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
    };
    let manifest = member("manifest.json");
    assert_eq!(manifest["browser_specific_settings"]["gecko"]["id"], thunderbird::ADDON_ID);
    assert_eq!(manifest["manifest_version"], 2);
    assert_eq!(manifest["default_locale"], "en");
    let en = member("_locales/en/messages.json");
    let ja = member("_locales/ja/messages.json");
    for key in en.as_object().unwrap().keys() {
        let text = ja[key]["message"].as_str().unwrap_or_else(|| panic!("ja has no {key}"));
        assert!(!text.is_empty(), "ja's {key} is empty");
    }
    assert_eq!(ja["payButton"]["message"], "MailPay で支払う");
    let _ = std::fs::remove_dir_all(&dir);
}

// ----------------------------------------------------- the recording host ---

// ------------------------------------------------------------------ mails ---

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn mail(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    extra_headers: &str,
    content: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{extra_headers}{content}"
    )
    .into_bytes()
}

const TEXT: &str = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";

/// The bodies of the mails in `address`'s INBOX that the IMAP search
/// `query` finds, as the server serves them.
fn imap_fetch(stack: &MailStack, address: &str, query: &str) -> Vec<Vec<u8>> {
    use futures_util::TryStreamExt;
    let account = support::accounts::account(stack, address);
    let password = stack.user(address).password.clone();
    runtime().block_on(async {
        let mut session = mailpay::mail::imap::connect(&account, &password).await.unwrap();
        session.select("INBOX").await.unwrap();
        let uids = session.uid_search(query).await.unwrap();
        let mut bodies = Vec::new();
        for uid in uids {
            let fetches: Vec<_> =
                session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await.unwrap().try_collect().await.unwrap();
            bodies.extend(fetches.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)));
        }
        let _ = session.logout().await;
        bodies
    })
}

/// Waits until the IMAP search finds exactly one mail; its bytes.
fn imap_wait_one(stack: &MailStack, address: &str, query: &str) -> Vec<u8> {
    let mut found = Vec::new();
    let ok = wait_until(WAIT, || {
        found = imap_fetch(stack, address, query);
        !found.is_empty()
    });
    assert!(ok, "no mail in {address}'s INBOX for {query}");
    assert_eq!(found.len(), 1, "{query} found {} mails in {address}'s INBOX", found.len());
    found.remove(0)
}

/// The unfolded value of the first header `name` (any case) of a mail.
fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n ", " ").replace("\r\n\t", " ");
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

fn decoded_raw(frame: &Value) -> Vec<u8> {
    STANDARD.decode(frame["raw"].as_str().expect("a mail frame has raw")).expect("raw is base64")
}

// --------------------------------------------------- the real Thunderbird ---

/// MailPay mail in, only MailPay mail; the host's mails out through the
/// account, as replies where asked; refusals answered; strange frames
/// ignored.
#[test]
fn thunderbird_hands_over_mailpay_mail_and_sends_for_the_host() {
    let stack = mailstack::shared();
    let user = "orderer@buyer.test";
    let recording = Recording::new("mail");
    let started = Instant::now();
    let (tb, probe) = with_probe(stack, user, &recording);
    let hello = recording
        .wait_for(WAIT, |f| f["type"] == "hello")
        .unwrap_or_else(|| panic!("the add-on said no hello:\n{}", tb.console_messages().join("\n")));
    println!("Thunderbird started, add-on said hello after {:?}", started.elapsed());
    assert_eq!(hello["frame"]["identities"], json!([{ "id": "id1", "email": user, "account": "account1" }]));
    assert_eq!(hello["frame"]["version"], "0.1.0");
    assert_eq!(hello["frame"]["bridge"], 1);
    assert!(hello["frame"]["locale"].as_str().is_some_and(|l| l.starts_with("en")), "{hello}");

    let runtime = runtime();
    let tag = format!("{:08x}", rand::random::<u32>());
    let order = "7HTJZ0S0KRTBKFME";
    // A MailPay mail, by its headers and its block (and non-ASCII text).
    let confirm_id = format!("confirm.{order}.{tag}@bank.test");
    let confirm = mail(
        "Bank <bank@bank.test>",
        user,
        &format!("Please confirm your payment {tag}"),
        &confirm_id,
        &format!("MailPay-Version: 1\r\nMailPay-Kind: confirm\r\nMailPay-Order: {order}\r\n{TEXT}"),
        "\r\n支払いを確認してください。\r\n-----BEGIN MAILPAY CONFIRM-----\r\nVersion: 1\r\nOrder: 7HTJZ0S0KRTBKFME\r\n\
         -----END MAILPAY CONFIRM-----\r\n",
    );
    // A MailPay mail only by a block inside an attached mail.
    let forwarded_id = format!("fwd.{tag}@shop.test");
    let forwarded = mail(
        "Shop <shop@shop.test>",
        user,
        &format!("Fwd: your order {tag}"),
        &forwarded_id,
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour order, attached.\r\n\
         --b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"order.eml\"\r\n\r\n\
         From: orderer@buyer.test\r\nTo: shop@shop.test\r\nSubject: order\r\nContent-Type: text/plain\r\n\r\n\
         -----BEGIN MAILPAY ORDER-----\r\nVersion: 1\r\n-----END MAILPAY ORDER-----\r\n--b1--\r\n",
    );
    // Ordinary mail, even when it talks about MailPay or attaches a mail.
    let news_id = format!("news.{tag}@shop.test");
    let news = mail(
        "Shop <shop@shop.test>",
        user,
        &format!("Newsletter {tag}"),
        &news_id,
        TEXT,
        "\r\nWe now take MailPay! BEGIN MAILPAY is how its blocks start.\r\n",
    );
    let attached_id = format!("attached.{tag}@shop.test");
    let attached = mail(
        "Shop <shop@shop.test>",
        user,
        &format!("Fwd: hello {tag}"),
        &attached_id,
        "Content-Type: multipart/mixed; boundary=\"b2\"\r\n",
        "\r\n--b2\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b2\r\nContent-Type: message/rfc822\r\n\r\n\
         From: a@shop.test\r\nSubject: hi\r\nX-Mailer: MailPayroll 2\r\n\r\nhello\r\n--b2--\r\n",
    );
    // A MailPay mail the user sent (to self): the wallet knows it already.
    let own_id = format!("order.{order}.{tag}@buyer.test");
    let own = mail(
        user,
        user,
        &format!("My own order {tag}"),
        &own_id,
        &format!("MailPay-Version: 1\r\nMailPay-Kind: order\r\n{TEXT}"),
        "\r\n-----BEGIN MAILPAY ORDER-----\r\nVersion: 1\r\n-----END MAILPAY ORDER-----\r\n",
    );
    for (login, bytes) in [
        ("shop@shop.test", news),
        ("shop@shop.test", attached),
        (user, own),
        ("shop@shop.test", forwarded),
        ("bank@bank.test", confirm),
    ] {
        wire::submit(&runtime, stack, login, login, user, bytes).unwrap();
    }
    let submitted = now_seconds();
    for id in [&confirm_id, &forwarded_id] {
        stack.wait_for_message(user, id, WAIT).unwrap_or_else(|| panic!("{id} was not delivered"));
    }

    let mail_frames = |recording: &Recording| -> Vec<Value> {
        recording.received().into_iter().filter(|e| e["frame"]["type"] == "mail").collect()
    };
    let two = wait_until(WAIT, || mail_frames(&recording).len() >= 2);
    assert!(
        two,
        "the add-on handed over {:?}:\n{}",
        mail_frames(&recording),
        tb.console_messages().join("\n")
    );
    let last = mail_frames(&recording).iter().filter_map(|e| e["at"].as_f64()).fold(0.0, f64::max);
    println!(
        "both MailPay mails handed over {:.2} s after the last of five mails was submitted",
        last - submitted
    );
    // Time for the others to be handed over, were the add-on to do so.
    std::thread::sleep(Duration::from_secs(5));
    let frames = mail_frames(&recording);
    let ids: Vec<String> =
        frames.iter().map(|e| header(&decoded_raw(&e["frame"]), "Message-ID").unwrap_or_default()).collect();
    let mut expected = vec![format!("<{confirm_id}>"), format!("<{forwarded_id}>")];
    let mut got = ids.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "the add-on handed over exactly the two MailPay mails from others");

    // The raw bytes are the server's, byte for byte (Thunderbird's own
    // X-Mozilla-* status lines left out), and the account is named.
    for event in &frames {
        let frame = &event["frame"];
        let raw = decoded_raw(frame);
        let id = header(&raw, "Message-ID").unwrap();
        let on_server = imap_fetch(stack, user, &format!("HEADER Message-ID \"{id}\""));
        assert_eq!(on_server.len(), 1);
        assert!(
            raw == on_server[0],
            "{id}: the add-on's bytes are not the server's:\n{}",
            String::from_utf8_lossy(&raw)
        );
        assert_eq!(frame["account"], "account1");
        assert!(frame["id"].as_str().unwrap().parse::<u32>().is_ok(), "a Thunderbird message id: {frame}");
        let file = stack.wait_for_message(user, &id, WAIT).unwrap();
        let stored = std::fs::metadata(&file).and_then(|m| m.modified()).unwrap();
        let stored = stored.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        println!(
            "{id}: stored by Dovecot, then in the host {:.2} s later",
            event["at"].as_f64().unwrap() - stored
        );
        let in_maildir = std::fs::read(&file).unwrap();
        assert_eq!(String::from_utf8_lossy(&raw).replace("\r\n", "\n"), String::from_utf8_lossy(&in_maildir));
    }
    // Each was answered `taken` by the host, and nothing went wrong.
    assert!(tb.console_messages().iter().all(|l| !l.contains("mailpay:") || !l.starts_with("console.error")));

    // The host's mails: a reply to the bank's mail, with the X-MailPay-*
    // headers; a new mail with an attachment of every byte value.
    let body = "支払いを承認します。\n-----BEGIN MAILPAY APPROVE-----\nVersion: 1\nOrder: 7HTJZ0S0KRTBKFME\nAnswer: OK\n\
                -----END MAILPAY APPROVE-----\n";
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let asked = now_seconds();
    recording.send(json!([
        {
            "type": "send", "request": format!("reply-{tag}"), "identity": "Orderer@Buyer.Test",
            "to": "bank@bank.test", "subject": format!("Re: Please confirm your payment {tag}"), "body": body,
            "reply_to": confirm_id,
            "headers": [["X-MailPay-Kind", "approve"], ["X-MailPay-Order", order], ["X-MailPay-Version", "1"]],
            "attachments": []
        },
        {
            "type": "send", "request": format!("new-{tag}"), "identity": user,
            "to": "bank@bank.test", "subject": format!("MailPay wallet {tag}"), "body": "The cheque is attached.\n",
            "reply_to": null, "headers": [["X-MailPay-Kind", "wallet"]],
            "attachments": [{ "name": "wallet.age", "type": "application/vnd.mailpay.wallet+age",
                              "base64": STANDARD.encode(&every_byte) }]
        },
        // Refused at once: no such identity; and frames the add-on does not know.
        {
            "type": "send", "request": format!("stranger-{tag}"), "identity": "stranger@buyer.test",
            "to": "bank@bank.test", "subject": "x", "body": "x", "reply_to": null, "headers": [], "attachments": []
        },
        { "type": "send", "request": format!("two-{tag}"), "identity": user, "to": "bank@bank.test, shop@shop.test",
          "subject": "x", "body": "x", "headers": [] },
        { "type": "frobnicate" },
        { "type": "send", "identity": user },
    ]));
    let answer = |request: String| {
        recording
            .wait_for(WAIT, |f| f["request"] == request.as_str())
            .unwrap_or_else(|| panic!("no answer to {request}:\n{}", tb.console_messages().join("\n")))
    };
    let reply = answer(format!("reply-{tag}"));
    let new = answer(format!("new-{tag}"));
    println!(
        "sent through Thunderbird: the reply {:.2} s and the new mail {:.2} s after the host asked",
        reply["at"].as_f64().unwrap() - asked,
        new["at"].as_f64().unwrap() - asked
    );
    assert_eq!(reply["frame"]["type"], "sent", "{reply}");
    assert_eq!(new["frame"]["type"], "sent", "{new}");
    let stranger = answer(format!("stranger-{tag}"));
    assert_eq!(stranger["frame"]["type"], "send-failed");
    assert_eq!(stranger["frame"]["temporary"], false);
    let two = answer(format!("two-{tag}"));
    assert_eq!(two["frame"]["type"], "send-failed");
    assert_eq!(two["frame"]["temporary"], false);
    assert!(two["frame"]["reason"].as_str().unwrap().contains("bad request"), "{two}");

    let reply_id = reply["frame"]["message_id"].as_str().unwrap().to_string();
    assert!(!reply_id.contains(['<', '>']), "{reply_id}");
    let sent = imap_wait_one(stack, "bank@bank.test", &format!("HEADER Message-ID \"<{reply_id}>\""));
    assert_eq!(header(&sent, "In-Reply-To"), Some(format!("<{confirm_id}>")));
    assert_eq!(header(&sent, "References"), Some(format!("<{confirm_id}>")));
    assert_eq!(header(&sent, "X-MailPay-Kind").as_deref(), Some("approve"));
    assert_eq!(header(&sent, "X-MailPay-Order").as_deref(), Some(order));
    assert_eq!(header(&sent, "X-MailPay-Version").as_deref(), Some("1"));
    assert!(header(&sent, "From").unwrap().contains(user));
    let parsed = mail_parser::MessageParser::default().parse(&sent).unwrap();
    assert_eq!(
        parsed.body_text(0).unwrap().replace("\r\n", "\n"),
        body,
        "the reply's text is the host's, with no quotation added"
    );

    let new_id = new["frame"]["message_id"].as_str().unwrap().to_string();
    let sent = imap_wait_one(stack, "bank@bank.test", &format!("HEADER Message-ID \"<{new_id}>\""));
    assert_eq!(header(&sent, "In-Reply-To"), None);
    assert_eq!(header(&sent, "X-MailPay-Kind").as_deref(), Some("wallet"));
    let parsed = mail_parser::MessageParser::default().parse(&sent).unwrap();
    // In a multipart mail the text's last line break is the boundary's.
    assert_eq!(parsed.body_text(0).unwrap().replace("\r\n", "\n").trim_end(), "The cheque is attached.");
    let attachment = parsed.attachments().next().expect("the wallet mail has its attachment");
    assert_eq!(attachment.contents(), every_byte.as_slice());
    use mail_parser::MimeHeaders;
    assert_eq!(attachment.attachment_name(), Some("wallet.age"));
    let content_type = attachment.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("application", Some("vnd.mailpay.wallet+age"))
    );

    // The same request again is not sent twice: the first answer comes back.
    recording.send(json!({
        "type": "send", "request": format!("new-{tag}"), "identity": user, "to": "bank@bank.test",
        "subject": format!("MailPay wallet {tag}"), "body": "The cheque is attached.\n", "reply_to": null,
        "headers": [], "attachments": []
    }));
    let again = wait_until(WAIT, || {
        recording.received().iter().filter(|e| e["frame"]["request"] == format!("new-{tag}").as_str()).count()
            == 2
    });
    assert!(again, "a repeated request is answered again");
    let answers: Vec<Value> = recording
        .received()
        .into_iter()
        .filter(|e| e["frame"]["request"] == format!("new-{tag}").as_str())
        .map(|e| e["frame"].clone())
        .collect();
    assert_eq!(answers[0], answers[1]);

    // A mail the server refuses: the error dialog Thunderbird shows is
    // closed, the host told it may work later, the compose window closed.
    recording.send(json!({
        "type": "send", "request": format!("relay-{tag}"), "identity": user, "to": "someone@elsewhere.example",
        "subject": format!("Refused {tag}"), "body": "x\n", "reply_to": null, "headers": [], "attachments": []
    }));
    let refused = answer(format!("relay-{tag}"));
    assert_eq!(refused["frame"]["type"], "send-failed", "{refused}");
    assert_eq!(refused["frame"]["temporary"], true);
    assert!(tb.dialogs().iter().any(|d| d.contains("Relay access denied")), "{:?}", tb.dialogs());
    assert!(tb.wait_for_console("not sent (send)", WAIT));
    let windows = probe.ask(json!({ "type": "windows" }))["windows"].clone();
    assert!(
        !windows.as_array().unwrap().contains(&json!("messageCompose")),
        "a compose window is left: {windows}"
    );

    // Frames it does not know were only logged; it still sends.
    let messages = tb.console_messages().join("\n");
    assert!(messages.contains("ignoring a frame of unknown type \\\"frobnicate\\\""), "{messages}");
    assert!(messages.contains("malformed send frame: \\\"to\\\" must be a string"), "{messages}");
    assert_eq!(imap_fetch(stack, "bank@bank.test", &format!("SUBJECT \"MailPay wallet {tag}\"")).len(), 1);
    assert_eq!(
        imap_fetch(stack, "bank@bank.test", &format!("HEADER Message-ID \"<{reply_id}>\"")).len(),
        1,
        "each request sent once"
    );
    drop(tb);
}

/// No host installed: one quiet line in the console, nothing else; once a
/// host is installed the add-on finds it by itself, and when the host
/// exits (the wallet quits) it connects again and says hello again.
#[test]
fn thunderbird_waits_for_the_host_and_reconnects() {
    let stack = mailstack::shared();
    let recording = Recording::new("reconnect");
    let mut tb = Thunderbird::start(
        stack,
        "orderer2@buyer.test",
        Options { native_host: None, env: vec![recording.env()], ..Options::default() },
    );
    assert!(tb.wait_for_console("the MailPay wallet is not reachable", WAIT), "{}", tb.console());
    // Attempts after 1, 2, 4 s ... say nothing more.
    std::thread::sleep(Duration::from_secs(4));
    let said = tb.console().matches("the MailPay wallet is not reachable").count();
    assert_eq!(said, 1, "{}", tb.console_messages().join("\n"));
    assert!(tb.dialogs().is_empty(), "{:?}", tb.dialogs());

    // A MailPay mail found meanwhile waits for the host, across a restart.
    let early = wire::fresh_id("confirm.7HTJZ0S0KRTBKFME", "bank.test");
    let confirm = mail(
        "bank@bank.test",
        "orderer2@buyer.test",
        "While the wallet was away",
        &early,
        &format!("MailPay-Version: 1\r\nMailPay-Kind: confirm\r\n{TEXT}"),
        "\r\n-----BEGIN MAILPAY CONFIRM-----\r\nVersion: 1\r\n-----END MAILPAY CONFIRM-----\r\n",
    );
    wire::submit(&runtime(), stack, "bank@bank.test", "bank@bank.test", "orderer2@buyer.test", confirm)
        .unwrap();
    let waits = format!("<{early}> waits for the wallet");
    assert!(tb.wait_for_console(&waits, WAIT), "{}", tb.console_messages().join("\n"));
    tb.restart();
    assert!(tb.wait_for_console("the MailPay wallet is not reachable", WAIT), "{}", tb.console());

    let installed = Instant::now();
    tb.set_native_host(Some(&Recording::script()));
    let hello = recording.wait_for(Duration::from_secs(45), |f| f["type"] == "hello");
    assert!(hello.is_some(), "the add-on never found the host:\n{}", tb.console_messages().join("\n"));
    println!("host installed: the add-on connected {:?} later", installed.elapsed());
    let handed = recording.wait_for(WAIT, |f| f["type"] == "mail");
    let raw = decoded_raw(&handed.expect("the mail that waited is handed over")["frame"]);
    assert_eq!(header(&raw, "Message-ID"), Some(format!("<{early}>")));

    let first = recording.starts();
    assert_eq!(first.len(), 1);
    std::fs::write(recording.dir.join("exit"), first[0].to_string()).unwrap();
    let quit = Instant::now();
    let again = wait_until(WAIT, || {
        recording.starts().len() == 2
            && recording.received().iter().filter(|e| e["frame"]["type"] == "hello").count() == 2
    });
    assert!(again, "no second hello after the host exited:\n{}", tb.console_messages().join("\n"));
    println!("host exited: the add-on said hello to a new one {:?} later", quit.elapsed());

    // A restarted Thunderbird keeps its account and add-on, and says
    // hello; told another Thunderbird holds the wallet, it stays quiet.
    std::fs::write(recording.dir.join("standby"), "").unwrap();
    tb.restart();
    let hellos = wait_until(WAIT, || {
        recording.received().iter().filter(|e| e["frame"]["type"] == "hello").count() == 3
    });
    let waited = recording.received().into_iter().filter(|e| e["frame"]["type"] == "mail").count();
    assert_eq!(waited, 1, "the mail taken is not handed over again");
    assert!(hellos, "no hello after a restart:\n{}", tb.console_messages().join("\n"));
    assert!(tb.console().contains("login-seeder: 0 login(s) added, 2 kept"));
    assert!(tb.wait_for_console("another Thunderbird holds the wallet", WAIT), "{}", tb.console());
    let id = wire::fresh_id("confirm.7HTJZ0S0KRTBKFME", "bank.test");
    let confirm = mail(
        "bank@bank.test",
        "orderer2@buyer.test",
        "Standing by",
        &id,
        &format!("MailPay-Version: 1\r\nMailPay-Kind: confirm\r\n{TEXT}"),
        "\r\n-----BEGIN MAILPAY CONFIRM-----\r\nVersion: 1\r\n-----END MAILPAY CONFIRM-----\r\n",
    );
    wire::submit(&runtime(), stack, "bank@bank.test", "bank@bank.test", "orderer2@buyer.test", confirm)
        .unwrap();
    assert!(stack.wait_for_message("orderer2@buyer.test", &id, WAIT).is_some());
    std::thread::sleep(Duration::from_secs(5));
    let handed = recording.received().into_iter().filter(|e| e["frame"]["type"] == "mail").count();
    assert_eq!(handed, 1, "a Thunderbird standing by handed mail over");
}

/// Thunderbird for `user` with the add-on talking to the recording host,
/// and the test-only display probe beside it.
fn with_probe(stack: &MailStack, user: &str, recording: &Recording) -> (Thunderbird, Probe) {
    let mut options =
        Options { native_host: Some(Recording::script()), env: vec![recording.env()], ..Options::default() };
    Probe::install(&mut options, recording);
    let tb = Thunderbird::start(stack, user, options);
    let probe = Probe::attach(&tb, recording);
    (tb, probe)
}

/// A mail the wallet asks the user to review gets a banner; its button
/// hands the order to the host. A mail with a `mailpay:` link gets one to
/// pay it; an ordinary mail gets none.
#[test]
fn thunderbird_shows_the_banner_and_hands_clicks_to_the_host() {
    let stack = mailstack::shared();
    let user = "shop2@shop2.test";
    let recording = Recording::new("banner");
    // This test answers the mails itself (with a review).
    std::fs::write(recording.dir.join("no-auto-taken"), "").unwrap();
    let (tb, probe) = with_probe(stack, user, &recording);
    assert!(
        recording.wait_for(WAIT, |f| f["type"] == "hello").is_some(),
        "{}",
        tb.console_messages().join("\n")
    );

    let runtime = runtime();
    let tag = format!("{:08x}", rand::random::<u32>());
    let order = "7HTJZ0S0KRTBKFME";
    let confirm_id = format!("confirm.{order}.{tag}@bank2.test");
    let confirm = mail(
        "Bank <bank2@bank2.test>",
        user,
        &format!("Please confirm {tag}"),
        &confirm_id,
        &format!("MailPay-Version: 1\r\nMailPay-Kind: confirm\r\n{TEXT}"),
        "\r\n-----BEGIN MAILPAY CONFIRM-----\r\nVersion: 1\r\n-----END MAILPAY CONFIRM-----\r\n",
    );
    let link = "mailpay:shop@shop.test?amount=1200&currency=JPY&ref=INV-42";
    let invoice_id = format!("invoice.{tag}@shop.test");
    let invoice = mail(
        "Shop <shop@shop.test>",
        user,
        &format!("Your invoice {tag}"),
        &invoice_id,
        "Content-Type: text/html; charset=utf-8\r\n",
        &format!("\r\n<p>Thank you. <a href=\"{}\">Pay 1,200 JPY</a></p>\r\n", link.replace('&', "&amp;")),
    );
    let plain_id = format!("plain.{tag}@shop.test");
    let plain =
        mail("Shop <shop@shop.test>", user, &format!("Hello {tag}"), &plain_id, TEXT, "\r\nJust hello.\r\n");
    for (login, bytes) in
        [("bank2@bank2.test", confirm), ("shop@shop.test", invoice), ("shop@shop.test", plain)]
    {
        wire::submit(&runtime, stack, login, login, user, bytes).unwrap();
    }
    let handed = recording.wait_for(WAIT, |f| f["type"] == "mail").expect("the confirmation is handed over");
    let text = "1,200 JPY to shop@shop.test (order 7HTJ-Z0S0-KRTB-KFME)";
    recording.send(json!({
        "type": "taken", "id": handed["frame"]["id"], "outcome": "confirm-received", "order": order,
        "review": true, "text": text
    }));

    let tab = probe.open(&confirm_id);
    let banner = probe.banner(tab, text);
    assert!(
        banner.as_deref().is_some_and(|b| b.contains("MailPay: the bank asks you to confirm a payment")
            && b.contains(text)
            && b.contains("Review in MailPay")),
        "the review banner: {banner:?}\n{}",
        tb.console_messages().join("\n")
    );
    println!("review banner: {}", banner.unwrap_or_default());
    probe.click(tab);
    let review = recording.wait_for(WAIT, |f| f["type"] == "review");
    assert_eq!(review.map(|e| e["frame"].clone()), Some(json!({ "type": "review", "order": order })));

    let tab = probe.open(&invoice_id);
    let banner = probe.banner(tab, "Pay with MailPay");
    assert!(
        banner.as_deref().is_some_and(|b| b.contains("payment link") && b.contains(link)),
        "the pay banner: {banner:?}"
    );
    probe.click(tab);
    let pay = recording.wait_for(WAIT, |f| f["type"] == "pay");
    assert_eq!(pay.map(|e| e["frame"].clone()), Some(json!({ "type": "pay", "link": link })));

    let tab = probe.open(&plain_id);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        probe.ask(json!({ "type": "banner", "tab": tab }))["text"],
        Value::Null,
        "no banner on plain mail"
    );
    assert_eq!(recording.received().iter().filter(|e| e["frame"]["type"] == "mail").count(), 1);
}
