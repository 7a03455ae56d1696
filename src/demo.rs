//! "Try the demo": the welcome screen's way to click through a payment
//! with no mail account.
//!
//! The demo is meant to start, inside the wallet's process, a bank and a
//! merchant that talk to the wallet over a private mail loop, so that every
//! step of Fig. 1 can be seen on a fresh machine. Those agents are built
//! separately (the reference bank and merchant); until they are linked
//! into the wallet, [`start`] says so plainly instead of imitating a bank.

/// Why the demo cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the demo bank and merchant are not part of this build yet; set up a mail account to pay a real merchant, or run the reference agents (mailpay-bank, mailpay-merchant) against a test mail server"
    )]
    AgentsMissing,
}

/// A running demo: the folder of its throw-away wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demo {
    pub home: std::path::PathBuf,
}

/// Starts the in-process demo agents and mail loop.
pub async fn start() -> Result<Demo, DemoError> {
    Err(DemoError::AgentsMissing)
}
