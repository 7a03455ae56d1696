//! Code shared by the integration tests (and the benches), as one module.
//! A test file declares `mod support;` and imports what it needs, e.g.
//! `use support::{agents, mailstack};`; support modules reach each other by
//! ordinary paths (`super::mailstack::MailStack`).
//!
//! - `accounts`: MailPay accounts and order terms for the mail stack's users.
//! - `agents`: a whole MailPay world in-process: the bank and merchant
//!   agents and orderers on the wallet library, over the mail stack.
//! - `app_driver`: runs the wallet's `App` and its `Task`s outside a window.
//! - `dropping_smtp`: a fake SMTP server that hangs up in the middle of DATA.
//! - `hostile`: mails that cost a careless parser much memory or time.
//!   `benches/hostile.rs` and the fuzz seeds (`fuzz/src/write_seeds.rs`)
//!   include this file on its own, so it must not use anything outside
//!   itself and must use all it defines.
//! - `mailstack`: the real Postfix + Dovecot stack the tests mail through.
//! - `oauth`: the stack's OAuth2 authorization server as a process, access
//!   tokens minted with the stack's key, and the browser (Chromium over
//!   WebDriver).
//! - `native_host`: the real `mailpay-thunderbird`, the test speaking the
//!   add-on's side of its frames.
//! - `probe`: the recording host (a stand-in for the wallet's host when the
//!   add-on is tested alone) and the display probe, a test-only add-on that
//!   opens, reads and answers mails in Thunderbird on a test's orders.
//! - `processes`: the `mailpay`, `mailpay-bank` and `mailpay-merchant`
//!   programs run as processes against the mail stack.
//! - `protocol`: builders for the protocol tests: the parties, an order's
//!   terms for each figure, and the bank's and merchant's mails about it.
//! - `relay`: a TCP relay in front of Postfix that can be closed, for faults.
//! - `tamper`: mails altered the way a forger alters them.
//! - `thunderbird`: a real, headless Thunderbird on the mail stack with the
//!   MailPay add-on.
//! - `wine`: MailPay for Windows, its MSI built and installed in Wine
//!   prefixes of the test's own, and its programs run there.
//! - `wire`: raw mails submitted to the stack and the real IMAP watcher.
//! - `xvfb`: an X server of the test's own and the wallet's windows on it.

// Each test binary uses only part of the support.
#![allow(dead_code)]

pub mod accounts;
pub mod agents;
pub mod app_driver;
pub mod dropping_smtp;
pub mod hostile;
pub mod mailstack;
pub mod native_host;
pub mod oauth;
pub mod probe;
pub mod processes;
pub mod protocol;
pub mod relay;
pub mod tamper;
pub mod thunderbird;
pub mod wine;
pub mod wire;
#[cfg(target_os = "linux")]
pub mod xvfb;
