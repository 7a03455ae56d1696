//! "An answer is due": a window during which the inbox watcher asks the
//! server for new mail every few tens of milliseconds instead of waiting
//! for IDLE to announce it, less often as the wait grows.
//!
//! IDLE alone is slower than it looks: Dovecot holds its change
//! notifications back for half a second (to batch them), and every hop of
//! a settlement pays that delay. While MailPay waits for a reply it has
//! just caused (the bank's confirmation after "Pay", the settled notice
//! after the OK), a NOOP finds the mail as soon as it is stored. Outside
//! such windows the watcher is back in IDLE and costs nothing.
//!
//! An answer that has not come in `t` is looked for every `t / 8` (never
//! more often than [`EAGER_POLL`]): an answer due in 200 ms is found within
//! 40 ms of being stored, while a slow one costs a few dozen NOOPs, not a
//! server hammered for minutes. Once the pace would pass [`SLOWEST_POLL`],
//! IDLE is as quick, and the watcher goes back to it.
//!
//! One handle is shared (it is an `Arc`) between whoever sends and the
//! watcher; opening a window while the watcher sits in IDLE ends the IDLE
//! at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The longest an answer is looked for eagerly after a mail goes out;
/// the slowing pace ends the looks sooner (after about 4 s).
pub const ANSWER_WINDOW: Duration = Duration::from_secs(120);

/// How often the watcher asks at most while a window is open.
pub const EAGER_POLL: Duration = Duration::from_millis(40);

/// The wait so far divided by this is the pace of the looks.
const SLOWDOWN: u32 = 8;

/// The slowest pace worth a NOOP: Dovecot announces new mail in IDLE
/// after half a second.
pub const SLOWEST_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default)]
pub struct Expecting(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    window: Mutex<Option<Window>>,
    opened: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the latest mail went out: the pace starts fast again.
    since: Instant,
    until: Instant,
}

impl Expecting {
    pub fn new() -> Expecting {
        Expecting::default()
    }

    /// Mail is expected within `window` from now: the looks start at
    /// their fastest pace again. Extends an open window, never shortens it.
    pub fn expect_within(&self, window: Duration) {
        let now = Instant::now();
        {
            let mut current = self.0.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let until = current.map_or(now, |c| c.until).max(now + window);
            *current = Some(Window { since: now, until });
        }
        self.0.opened.notify_waiters();
    }

    /// Whether a window is open now.
    pub fn is_open(&self) -> bool {
        self.pace_at(Instant::now(), Duration::ZERO).is_some()
    }

    /// How long to wait before the next look, at most as often as
    /// `fastest`; `None` when no window is open (IDLE is as good).
    pub fn pace(&self, fastest: Duration) -> Option<Duration> {
        self.pace_at(Instant::now(), fastest)
    }

    fn pace_at(&self, now: Instant, fastest: Duration) -> Option<Duration> {
        let window = (*self.0.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner))?;
        let slowed = now.saturating_duration_since(window.since) / SLOWDOWN;
        (now < window.until && slowed <= SLOWEST_POLL).then(|| slowed.max(fastest))
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
    fn the_looks_slow_down_as_the_wait_grows_then_give_way_to_idle() {
        let e = Expecting::new();
        e.expect_within(ANSWER_WINDOW);
        let since = e.0.window.lock().unwrap().unwrap().since;
        let at = |ms: u64| e.pace_at(since + Duration::from_millis(ms), EAGER_POLL);
        assert_eq!(at(0), Some(EAGER_POLL));
        assert_eq!(at(200), Some(EAGER_POLL));
        assert_eq!(at(800), Some(Duration::from_millis(100)));
        assert_eq!(at(4_000), Some(SLOWEST_POLL));
        assert_eq!(at(4_008), None, "IDLE is as quick by now");
        // A new mail out starts the fast pace again.
        e.expect_within(ANSWER_WINDOW);
        assert_eq!(e.pace(EAGER_POLL), Some(EAGER_POLL));
        // Looks over the first two minutes: a few dozen, not thousands.
        let since = e.0.window.lock().unwrap().unwrap().since;
        let mut t = Duration::ZERO;
        let mut looks = 0;
        while let Some(pace) = e.pace_at(since + t, EAGER_POLL) {
            t += pace;
            looks += 1;
        }
        assert!((20..=40).contains(&looks), "{looks} looks");
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
