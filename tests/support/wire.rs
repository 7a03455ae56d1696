//! The wire as an attacker and as the orderer's wallet see it: raw mails
//! submitted to the test mail stack with any envelope sender and header
//! the stack lets through, and the real IMAP watcher on a mailbox whose
//! mails are kept until a test takes the one it is waiting for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use mailpay::mail::imap::{self, Received, Resume, WatchConfig, WatchEvent};
use mailpay::mail::smtp::{SendError, Smtp};
use mailpay::protocol::compose::Outgoing;
use mailpay::protocol::{Kind, OrderId};

use super::agents::account;
use super::mailstack::MailStack;

/// Submits `bytes` as they are on the submission port, logged in as
/// `login`, with `envelope` as MAIL FROM and `to` as the only recipient.
/// The headers (From included) are whatever `bytes` say.
pub fn submit(
    runtime: &tokio::runtime::Runtime,
    stack: &MailStack,
    login: &str,
    envelope: &str,
    to: &str,
    bytes: Vec<u8>,
) -> Result<(), SendError> {
    let smtp = Smtp::new(&account(stack, login), &stack.user(login).password).unwrap();
    let mail = Outgoing {
        kind: Kind::Confirm,
        order: OrderId::generate(&mut rand::rng()),
        message_id: String::new(),
        from: envelope.parse().unwrap(),
        to: to.parse().unwrap(),
        bytes,
    };
    runtime.block_on(smtp.send(&mail))
}

/// What the watcher handed over: the raw mail and what the parser made of it.
pub type Delivered = (Vec<u8>, Received);

/// The real watcher on one mailbox (MailPay mails are moved to the
/// `MailPay` folder once taken, as the wallet does).
pub struct Inbox {
    mails: mpsc::Receiver<Delivered>,
    kept: Vec<Delivered>,
}

impl Inbox {
    pub fn watch(runtime: &tokio::runtime::Runtime, stack: &MailStack, address: &str) -> Inbox {
        let mut config = WatchConfig::new(account(stack, address), stack.user(address).password.clone());
        config.max_backoff = Duration::from_secs(1);
        let (tx, mails) = mpsc::channel();
        runtime.spawn(async move {
            let mut resume = Resume::default();
            imap::watch(&config, &mut resume, |event| match event {
                WatchEvent::Mail { raw, received, .. } => tx.send((raw, received)).is_ok(),
                _ => true,
            })
            .await
        });
        Inbox { mails, kept: Vec::new() }
    }

    /// The first mail whose raw text contains `marker` (a Message-ID),
    /// waiting up to `timeout` for it; other mails are kept for later.
    pub fn take(&mut self, marker: &str, timeout: Duration) -> Delivered {
        self.take_where(timeout, |raw, _| String::from_utf8_lossy(raw).contains(marker))
            .unwrap_or_else(|| panic!("no mail with {marker} reached the watcher within {timeout:?}"))
    }

    /// The first mail `pick` accepts, or `None` after `timeout`.
    pub fn take_where(
        &mut self,
        timeout: Duration,
        pick: impl Fn(&[u8], &Received) -> bool,
    ) -> Option<Delivered> {
        if let Some(i) = self.kept.iter().position(|(raw, r)| pick(raw, r)) {
            return Some(self.kept.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.mails.recv_timeout(left) {
                Ok((raw, received)) if pick(&raw, &received) => return Some((raw, received)),
                Ok(other) => self.kept.push(other),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the watcher stopped"),
            }
        }
    }
}

/// A Message-ID no mail had before, without angle brackets.
pub fn fresh_id(what: &str, domain: &str) -> String {
    format!("{what}.{:016x}@{domain}", rand::random::<u64>())
}
