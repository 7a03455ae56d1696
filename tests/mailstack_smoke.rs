//! Smoke test of the real mail stack (Postfix + Dovecot on loopback, see
//! `tests/mailstack/mailstack.sh`): the plaintext parts are probed over
//! `std::net`, the TLS parts with Python's smtplib/imaplib, verifying the
//! server certificate against the stack's CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::mailstack;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailstack::MailStack;

/// Runs Python code with `vars` in its environment; returns (success, stdout, stderr).
fn python(code: &str, vars: &[(&str, String)]) -> (bool, String, String) {
    let interpreter = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let mut command = Command::new(interpreter);
    command.arg("-c").arg(code).stdin(Stdio::null());
    for (key, value) in vars {
        command.env(key, value);
    }
    let out = command.output().unwrap_or_else(|e| panic!("cannot run {interpreter}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stack_vars(stack: &MailStack) -> Vec<(&'static str, String)> {
    vec![
        ("HOST", stack.host.clone()),
        ("SUBMISSION_PORT", stack.submission_port.to_string()),
        ("SMTPS_PORT", stack.smtps_port.to_string()),
        ("IMAP_PORT", stack.imap_port.to_string()),
        ("IMAPS_PORT", stack.imaps_port.to_string()),
        ("CA_FILE", stack.ca_file.display().to_string()),
    ]
}

fn unique_subject(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("mailstack-{tag}-{}-{nanos}", std::process::id())
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn context(stack: &MailStack, stdout: &str, stderr: &str) -> String {
    format!(
        "stdout:\n{stdout}\nstderr:\n{stderr}\n--- postfix.log ---\n{}\n--- dovecot.log ---\n{}",
        log_tail(&stack.postfix_log()),
        log_tail(&stack.dovecot_log())
    )
}

const SEND_STARTTLS: &str = r#"
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
with smtplib.SMTP(os.environ["HOST"], int(os.environ["SUBMISSION_PORT"]), timeout=30) as s:
    s.ehlo("client.test")
    print("auth-before-tls", s.has_extn("auth"))
    s.starttls(context=ctx)
    s.ehlo("client.test")
    print("auth-after-tls", s.has_extn("auth"))
    s.login(os.environ["FROM"], os.environ["PASSWORD"])
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nsmoke test body\r\n"
           % (os.environ["FROM"], os.environ["TO"], os.environ["SUBJECT"]))
    refused = s.sendmail(os.environ["FROM"], [os.environ["TO"]], msg.encode())
    print("refused", refused)
print("sent")
"#;

const FIND_IMAPS: &str = r#"
import os, imaplib, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
m = imaplib.IMAP4_SSL(os.environ["HOST"], int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
print("idle", "IDLE" in m.capabilities)
m.login(os.environ["USER"], os.environ["PASSWORD"])
deadline = time.time() + 30
while True:
    typ, _ = m.select("INBOX", readonly=True)
    assert typ == "OK", typ
    typ, data = m.search(None, "SUBJECT", '"%s"' % os.environ["SUBJECT"])
    assert typ == "OK", typ
    ids = data[0].split()
    if ids:
        break
    if time.time() > deadline:
        print("not-found")
        sys.exit(1)
    time.sleep(0.2)
typ, data = m.fetch(ids[0], "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
headers = data[0][1].decode()
print("found", len(ids))
print(headers.strip().replace("\r\n", " | "))
m.logout()
"#;

#[test]
fn starttls_submission_is_delivered_to_imaps_inbox() {
    let stack = mailstack::shared();
    let orderer = stack.user("orderer@buyer.test");
    let shop = stack.user("shop@shop.test");
    let subject = unique_subject("starttls");

    let (ok, out, err) = send_starttls(stack, &orderer.address, &shop.address, &subject);
    assert!(ok, "sending failed\n{}", context(stack, &out, &err));
    assert!(out.contains("auth-before-tls False"), "AUTH offered before STARTTLS\n{out}");
    assert!(out.contains("auth-after-tls True"), "AUTH not offered after STARTTLS\n{out}");
    assert!(out.contains("refused {}") && out.contains("sent"), "{out}");

    let mut vars = stack_vars(stack);
    vars.push(("USER", shop.address.clone()));
    vars.push(("PASSWORD", shop.password.clone()));
    vars.push(("SUBJECT", subject.clone()));
    let (ok, out, err) = python(FIND_IMAPS, &vars);
    assert!(ok, "message not found over IMAPS\n{}", context(stack, &out, &err));
    assert!(out.contains("idle True"), "IMAP server lacks IDLE\n{out}");
    assert!(out.contains("found 1"), "{out}");
    assert!(out.contains(&format!("Subject: {subject}")), "{out}");
    assert!(out.contains("From: <orderer@buyer.test>"), "{out}");

    // The same message is a file in shop's Maildir.
    let file = stack.wait_for_message("shop@shop.test", &subject, Duration::from_secs(5));
    assert!(file.is_some(), "no file with {subject} in {}", stack.maildir("shop@shop.test").display());
}

#[test]
fn implicit_tls_submission_is_delivered() {
    let stack = mailstack::shared();
    let bank = stack.user("bank@bank.test");
    let subject = unique_subject("smtps");
    let code = r#"
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
with smtplib.SMTP_SSL(os.environ["HOST"], int(os.environ["SMTPS_PORT"]), context=ctx, timeout=30) as s:
    s.login(os.environ["FROM"], os.environ["PASSWORD"])
    s.sendmail(os.environ["FROM"], ["shop2@shop2.test"],
               ("Subject: %s\r\n\r\nbody\r\n" % os.environ["SUBJECT"]).encode())
print("sent")
"#;
    let mut vars = stack_vars(stack);
    vars.push(("FROM", bank.address.clone()));
    vars.push(("PASSWORD", bank.password.clone()));
    vars.push(("SUBJECT", subject.clone()));
    let (ok, out, err) = python(code, &vars);
    assert!(ok && out.contains("sent"), "SMTPS submission failed\n{}", context(stack, &out, &err));
    let file = stack.wait_for_message("shop2@shop2.test", &subject, Duration::from_secs(30));
    assert!(file.is_some(), "not delivered to shop2\n{}", context(stack, &out, &err));
    let misdelivered = stack
        .inbox_files("shop@shop.test")
        .into_iter()
        .filter(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).contains(&subject))
        .count();
    assert_eq!(misdelivered, 0, "message for shop2 also reached shop");
}

#[test]
fn wrong_password_is_refused() {
    let stack = mailstack::shared();
    let code = r#"
import os, smtplib, ssl, imaplib
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
with smtplib.SMTP(os.environ["HOST"], int(os.environ["SUBMISSION_PORT"]), timeout=30) as s:
    s.starttls(context=ctx)
    try:
        s.login("orderer@buyer.test", os.environ["PASSWORD"] + "-wrong")
        print("smtp-login-accepted")
    except smtplib.SMTPAuthenticationError as e:
        print("smtp-login-refused", e.smtp_code)
m = imaplib.IMAP4_SSL(os.environ["HOST"], int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
try:
    m.login("shop@shop.test", "not-the-password")
    print("imap-login-accepted")
except imaplib.IMAP4.error as e:
    print("imap-login-refused", e)
m.logout()
"#;
    let mut vars = stack_vars(stack);
    vars.push(("PASSWORD", stack.user("orderer@buyer.test").password.clone()));
    let (ok, out, err) = python(code, &vars);
    assert!(ok, "{}", context(stack, &out, &err));
    assert!(out.contains("smtp-login-refused 535"), "{out}");
    assert!(out.contains("imap-login-refused"), "{out}");
    assert!(!out.contains("accepted"), "{out}");
}

#[test]
fn unknown_recipient_relay_and_foreign_sender_are_refused() {
    let stack = mailstack::shared();
    let code = r#"
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
with smtplib.SMTP(os.environ["HOST"], int(os.environ["SUBMISSION_PORT"]), timeout=30) as s:
    s.starttls(context=ctx)
    s.login("orderer@buyer.test", os.environ["PASSWORD"])
    print("mail", s.mail("orderer@buyer.test")[0])
    code, text = s.rcpt("nobody@shop.test")
    print("rcpt-unknown", code, text.decode())
    code, text = s.rcpt("someone@example.com")
    print("rcpt-relay", code, text.decode())
    print("rcpt-known", s.rcpt("shop@shop.test")[0])
    s.rset()
    s.mail("shop@shop.test")
    code, text = s.rcpt("bank@bank.test")
    print("foreign-sender", code, text.decode())
"#;
    let mut vars = stack_vars(stack);
    vars.push(("PASSWORD", stack.user("orderer@buyer.test").password.clone()));
    let (ok, out, err) = python(code, &vars);
    assert!(ok, "{}", context(stack, &out, &err));
    assert!(out.contains("mail 250"), "{out}");
    assert!(out.contains("rcpt-unknown 550"), "{out}");
    assert!(out.contains("rcpt-relay 554"), "{out}");
    assert!(out.contains("rcpt-known 250"), "{out}");
    assert!(out.contains("foreign-sender 553"), "{out}");
}

#[test]
fn certificate_is_only_trusted_through_the_stack_ca() {
    let stack = mailstack::shared();
    let code = r#"
import os, smtplib, ssl, imaplib
host, port = os.environ["HOST"], int(os.environ["IMAPS_PORT"])
try:
    imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=30)
    print("system-ca-accepted")
except ssl.SSLCertVerificationError:
    print("system-ca-refused")
ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
for name in ["localhost", "mail.test", "127.0.0.1"]:
    with smtplib.SMTP(host, int(os.environ["SUBMISSION_PORT"]), timeout=30) as s:
        s.ehlo()
        s._host = name
        s.starttls(context=ctx)
        print("name-ok", name)
s = smtplib.SMTP(host, int(os.environ["SUBMISSION_PORT"]), timeout=30)
s._host = "other.example"
try:
    s.starttls(context=ctx)
    print("wrong-name-accepted")
except ssl.SSLCertVerificationError:
    print("wrong-name-refused")
finally:
    s.close()
"#;
    let (ok, out, err) = python(code, &stack_vars(stack));
    assert!(ok, "{}", context(stack, &out, &err));
    assert!(out.contains("system-ca-refused"), "{out}");
    for name in ["localhost", "mail.test", "127.0.0.1"] {
        assert!(out.contains(&format!("name-ok {name}")), "{out}");
    }
    assert!(out.contains("wrong-name-refused"), "{out}");
}

fn read_reply(reader: &mut BufReader<TcpStream>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap_or_else(|e| panic!("reading SMTP reply: {e}"));
        assert!(n > 0, "connection closed after {lines:?}");
        let line = line.trim_end().to_owned();
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line);
        if last {
            return lines;
        }
    }
}

#[test]
fn plaintext_greetings_offer_starttls_only() {
    let stack = mailstack::shared();
    let timeout = Some(Duration::from_secs(30));

    let smtp = TcpStream::connect((stack.host.as_str(), stack.submission_port))
        .unwrap_or_else(|e| panic!("connecting to submission: {e}"));
    smtp.set_read_timeout(timeout).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = smtp.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let mut reader = BufReader::new(smtp);
    let greeting = read_reply(&mut reader);
    assert!(greeting[0].starts_with("220 mail.test ESMTP"), "{greeting:?}");
    writer.write_all(b"EHLO client.test\r\n").unwrap_or_else(|e| panic!("{e}"));
    let ehlo = read_reply(&mut reader);
    assert!(ehlo.iter().all(|l| l.starts_with("250")), "{ehlo:?}");
    assert!(ehlo.iter().any(|l| l[4..].eq_ignore_ascii_case("STARTTLS")), "{ehlo:?}");
    assert!(!ehlo.iter().any(|l| l[4..].to_ascii_uppercase().starts_with("AUTH")), "{ehlo:?}");
    // Mail without TLS and AUTH is refused.
    writer.write_all(b"MAIL FROM:<orderer@buyer.test>\r\n").unwrap_or_else(|e| panic!("{e}"));
    let mail = read_reply(&mut reader);
    assert!(mail[0].starts_with('5'), "{mail:?}");
    writer.write_all(b"QUIT\r\n").unwrap_or_else(|e| panic!("{e}"));

    let imap = TcpStream::connect((stack.host.as_str(), stack.imap_port))
        .unwrap_or_else(|e| panic!("connecting to IMAP: {e}"));
    imap.set_read_timeout(timeout).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = BufReader::new(imap);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap_or_else(|e| panic!("reading IMAP greeting: {e}"));
    assert!(greeting.starts_with("* OK"), "{greeting:?}");
    assert!(greeting.contains("STARTTLS"), "{greeting:?}");
    assert!(greeting.contains("IMAP4rev1"), "{greeting:?}");
}

fn send_starttls(stack: &MailStack, from: &str, to: &str, subject: &str) -> (bool, String, String) {
    let mut vars = stack_vars(stack);
    vars.push(("FROM", from.to_owned()));
    vars.push(("PASSWORD", stack.user(from).password.clone()));
    vars.push(("TO", to.to_owned()));
    vars.push(("SUBJECT", subject.to_owned()));
    python(SEND_STARTTLS, &vars)
}

#[test]
fn private_stack_keeps_mail_across_server_restarts() {
    let stack = MailStack::start_private();
    assert!(stack.is_up());
    let (from, to) = ("orderer2@buyer.test", "bank2@bank2.test");

    // IMAP and LMTP down: submission still works, the mail waits in the queue.
    stack.stop_dovecot();
    assert!(TcpStream::connect((stack.host.as_str(), stack.imaps_port)).is_err(), "IMAPS still answers");
    let queued = unique_subject("queued");
    let (ok, out, err) = send_starttls(&stack, from, to, &queued);
    assert!(ok, "submission with Dovecot down failed\n{}", context(&stack, &out, &err));
    assert!(
        stack.wait_for_message(to, &queued, Duration::from_secs(2)).is_none(),
        "delivered without Dovecot"
    );
    stack.start_dovecot();
    stack.flush_queue();
    let delivered = stack.wait_for_message(to, &queued, Duration::from_secs(30));
    assert!(delivered.is_some(), "queued mail not delivered after restart\n{}", context(&stack, "", ""));

    // Postfix down: connections refused; back up, submission works again.
    stack.stop_postfix();
    assert!(TcpStream::connect((stack.host.as_str(), stack.submission_port)).is_err(), "SMTP still answers");
    stack.start_postfix();
    let after = unique_subject("after-restart");
    let (ok, out, err) = send_starttls(&stack, from, to, &after);
    assert!(ok, "submission after restart failed\n{}", context(&stack, &out, &err));
    assert!(stack.wait_for_message(to, &after, Duration::from_secs(30)).is_some());
    // Both messages are still there.
    assert!(stack.wait_for_message(to, &queued, Duration::ZERO).is_some());

    let (dir, port) = (stack.dir.clone(), stack.submission_port);
    drop(stack);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "SMTP answers after drop");
    if std::env::var_os("MAILSTACK_KEEP").is_none_or(|v| v.is_empty() || v == "0") {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
