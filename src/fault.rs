//! Fault injection, for the crash tests (`tests/crash_dispatch.rs`,
//! `tests/one_wallet.rs`) only.
//!
//! With `MAILPAY_FAULT_HALT=<step>` in its environment, a MailPay process
//! that reaches `<step>` says so on stderr and then blocks forever, so that
//! a test can kill it with SIGKILL at exactly that point and restart it.
//! Without the variable (normal use) every hook does nothing.
//!
//! The steps: `payment-recorded` (the payment and its mails are written,
//! nothing sent), `between-mails` (the first queued mail sent and recorded,
//! the others not sent), `mails-accepted` (the server took every mail, none
//! recorded as sent yet), `mails-recorded` (all sent and recorded),
//! `approve-queued` (the OK is written, not sent), all on the wallet's one
//! send path (`wallet::Wallet`); and in an agent `bank-processed-<kind>` or
//! `merchant-processed-<kind>` (a mail of that kind applied to the ledger
//! or the shop book, its answers not sent).

use std::time::Duration;

/// The environment variable naming the step to halt at.
pub const HALT_VAR: &str = "MAILPAY_FAULT_HALT";

/// Whether this process was asked to halt at `step`.
pub fn armed(step: &str) -> bool {
    std::env::var(HALT_VAR).is_ok_and(|s| s == step)
}

/// Blocks forever if this process was asked to halt at `step`.
pub fn halt(step: &str) {
    if armed(step) {
        eprintln!("{HALT_VAR}: halted at {step}");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
