//! "An answer is due": a window during which the inbox watcher asks the
//! server for new mail every few tens of milliseconds instead of waiting
//! for IDLE to announce it.
//!
//! IDLE alone is slower than it looks: Dovecot holds its change
//! notifications back for half a second (to batch them), and every hop of
//! a settlement pays that delay. While MailPay waits for a reply it has
//! just caused (the bank's confirmation after "Pay", the settled notice
//! after the OK), a NOOP finds the mail as soon as it is stored. Outside
//! such windows the watcher is back in IDLE and costs nothing.
//!
//! One handle is shared (it is an `Arc`) between whoever sends and the
//! watcher; opening a window while the watcher sits in IDLE ends the IDLE
//! at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long after a mail goes out an answer is looked for eagerly.
pub const ANSWER_WINDOW: Duration = Duration::from_secs(120);

/// How often the watcher asks while a window is open.
pub const EAGER_POLL: Duration = Duration::from_millis(40);

#[derive(Debug, Clone, Default)]
pub struct Expecting(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    until: Mutex<Option<Instant>>,
    opened: Notify,
}

impl Expecting {
    pub fn new() -> Expecting {
        Expecting::default()
    }

    /// Mail is expected within `window` from now. Extends an open window,
    /// never shortens it.
    pub fn expect_within(&self, window: Duration) {
        let until = Instant::now() + window;
        {
            let mut current = self.0.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.is_some_and(|c| c >= until) {
                return;
            }
            *current = Some(until);
        }
        self.0.opened.notify_waiters();
    }

    /// Whether a window is open now.
    pub fn is_open(&self) -> bool {
        let until = *self.0.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        until.is_some_and(|u| Instant::now() < u)
    }

    /// Resolves once a window is open (at once if one is).
    pub async fn opened(&self) {
        loop {
            // Registered before the check, so an opening in between is
            // not missed.
            let notified = self.0.opened.notified();
            if self.is_open() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_opens_and_closes() {
        let e = Expecting::new();
        assert!(!e.is_open());
        e.expect_within(Duration::from_millis(50));
        assert!(e.is_open());
        std::thread::sleep(Duration::from_millis(80));
        assert!(!e.is_open());
    }

    #[test]
    fn a_shorter_window_does_not_shorten_an_open_one() {
        let e = Expecting::new();
        e.expect_within(Duration::from_secs(60));
        e.expect_within(Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        assert!(e.is_open());
    }

    #[tokio::test]
    async fn opening_wakes_a_waiter_and_clones_share_the_window() {
        let e = Expecting::new();
        let waiter = e.clone();
        let waiting = tokio::spawn(async move { waiter.opened().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        e.expect_within(Duration::from_secs(5));
        tokio::time::timeout(Duration::from_secs(2), waiting).await.unwrap().unwrap();
    }
}
