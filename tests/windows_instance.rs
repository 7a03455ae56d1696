//! The wallet's local sockets on Windows (named pipes, src/local_socket.rs),
//! with the MSI's programs under Wine (tests/support/wine.rs):
//!
//! - one wallet per user: a second `mailpay.exe` with a `mailpay:` link
//!   hands it to the running wallet and exits 0 at once; the one window
//!   shows New payment (the window on Xvfb, tests/support/xvfb.rs);
//! - the Thunderbird host `mailpay-thunderbird.exe`, the test speaking the
//!   add-on's side of its frames (tests/support/native_host.rs), is
//!   reached by `mailpay.exe thunderbird status`; a second host stands by
//!   and takes over when the first ends;
//! - a name file left behind, naming a pipe nobody serves, is replaced by
//!   a new name that the command line reaches.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::native_host::NativeHost;
use support::processes::{Agent, temp_dir};
use support::wine::{Prefix, windows_path};
use support::xvfb;

/// The first window of a new prefix waits for Wine to list the host's
/// fonts once.
const FIRST_WINDOW: Duration = Duration::from_secs(120);
/// How long a second start may take to hand over and end (Wine starting a
/// program is most of it).
const HAND_OVER: Duration = Duration::from_secs(30);

/// What a name file holds: a pipe's name and a token.
fn name_file(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let (pipe, token) = (lines.next().unwrap().to_string(), lines.next().unwrap().to_string());
    let random = pipe.strip_prefix(r"\\.\pipe\mailpay-").unwrap_or_else(|| panic!("{text:?}"));
    assert!(random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()), "{text:?}");
    assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{text:?}");
    (pipe, token)
}

fn host(prefix: &Prefix, home: &Path) -> NativeHost {
    let mut command = prefix.command(prefix.exe("mailpay-thunderbird"));
    command.env("MAILPAY_HOME", windows_path(home));
    NativeHost::spawned(command)
}

fn status(prefix: &Prefix, home: &Path) -> String {
    prefix.ok("mailpay", home, &["thunderbird", "status"])
}

#[test]
fn a_second_start_hands_its_link_to_the_running_wallet_and_exits() {
    let prefix = Prefix::installed("instance");
    let (_x_server, display) = xvfb::start();
    let home = temp_dir("wine-instance");
    let mailpay = |args: &[&str]| {
        let mut command = prefix.command(prefix.exe("mailpay"));
        command
            .args(args)
            .env("MAILPAY_HOME", windows_path(&home))
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    let _wallet = Agent(mailpay(&[]).spawn().unwrap());
    xvfb::window_titled(&display, "Welcome — MailPay", FIRST_WINDOW);
    let listening = std::fs::read_to_string(home.join("data/wallet.sock")).ok();

    let link = "mailpay:shop@shop.test?bank=bank@bank.test&amount=1200&currency=JPY&ref=W-1";
    let started = Instant::now();
    let mut second = Agent(mailpay(&[link]).spawn().unwrap());
    let status = xvfb::poll("the second start to end", HAND_OVER, || second.0.try_wait().unwrap());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "the second start failed: {stderr}");
    assert!(!stderr.contains("cannot reach"), "{stderr}");
    eprintln!("measured: the second start ended after {} ms", started.elapsed().as_millis());

    xvfb::window_titled(&display, "New payment — MailPay", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let windows = xvfb::windows(&display);
    assert_eq!(windows.len(), 1, "one wallet, one window: {windows:?}");
    // The wallet listens under the name it wrote when it started.
    let (pipe, token) = name_file(&home.join("data/wallet.sock"));
    assert_eq!(listening, Some(format!("{pipe}\n{token}\n")));
}

#[test]
fn the_command_line_reaches_the_thunderbird_host_and_a_second_host_takes_over() {
    let prefix = Prefix::installed("tb-pipe");
    let home = temp_dir("wine-tb");
    let mut first = host(&prefix, &home);
    first.hello("orderer@buyer.test");
    let (welcome, _) = first.expect("welcome");
    assert_eq!(welcome["standby"], false, "{welcome}");
    assert_eq!(welcome["account"], "orderer@buyer.test", "{welcome}");
    let said = status(&prefix, &home);
    assert!(said.contains("Thunderbird carries the mail of orderer@buyer.test (add-on test)"), "{said}");
    let (pipe, _) = name_file(&home.join("data/thunderbird.sock"));

    // A second Thunderbird's host stands by while the first serves...
    let mut second = host(&prefix, &home);
    second.hello("orderer@buyer.test");
    let (welcome, _) = second.expect("welcome");
    assert_eq!(welcome["standby"], true, "{welcome}");
    assert_eq!(name_file(&home.join("data/thunderbird.sock")).0, pipe);
    // ...and serves when the first ends.
    assert!(first.close().success());
    let (welcome, _) = second.expect("welcome");
    assert_eq!(welcome["standby"], false, "the second took over: {welcome}");
    let said = status(&prefix, &home);
    assert!(said.contains("carries the mail of orderer@buyer.test"), "{said}");
    assert_ne!(name_file(&home.join("data/thunderbird.sock")).0, pipe, "a new name");
    assert!(second.close().success());

    // No host: the command line says so.
    let out = prefix.run("mailpay", &home, &["thunderbird", "status"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Thunderbird is not running"));
}

#[test]
fn a_name_file_naming_a_pipe_nobody_serves_is_replaced() {
    let prefix = Prefix::installed("stale");
    let home = temp_dir("wine-stale");
    let file = home.join("data/thunderbird.sock");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let stale =
        format!("\\\\.\\pipe\\mailpay-{:032x}\n{:032x}\n", rand::random::<u128>(), rand::random::<u128>());
    std::fs::write(&file, &stale).unwrap();
    // Nobody serves it: the command line finds no host.
    let out = prefix.run("mailpay", &home, &["thunderbird", "status"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Thunderbird is not running"));

    let mut host = host(&prefix, &home);
    host.hello("orderer@buyer.test");
    let (welcome, _) = host.expect("welcome");
    assert_eq!(welcome["standby"], false, "the stale name does not hold the host back: {welcome}");
    let (pipe, _) = name_file(&file);
    assert!(!stale.starts_with(&pipe), "the name was replaced");
    let said = status(&prefix, &home);
    assert!(said.contains("carries the mail of orderer@buyer.test"), "{said}");
    assert!(host.close().success());
}
