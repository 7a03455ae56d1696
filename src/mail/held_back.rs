//! Mails that came back undelivered (a bounce: the recipient's mailbox is
//! full) wait before they go out again, twice as long each time they come
//! back, so that an agent neither floods a full mailbox nor gives up on it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::protocol::bounce::Bounce;

/// What an agent's store did with a bounce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The same report was taken before.
    Seen,
    /// The mail it returns is to go out again.
    PutBack { order: String, kind: String, recipient: String },
    /// No mail sent from here has that Message-ID: only recorded.
    NotOurs,
}

#[derive(Debug)]
pub struct HeldBack {
    first: Duration,
    max: Duration,
    /// Message-ID → (not before, the last wait).
    mails: Mutex<HashMap<String, (Instant, Duration)>>,
}

impl Default for HeldBack {
    /// 10 s after the first bounce, then 20 s, 40 s, ... up to 30 minutes.
    fn default() -> Self {
        HeldBack::new(Duration::from_secs(10), Duration::from_secs(30 * 60))
    }
}

impl HeldBack {
    pub fn new(first: Duration, max: Duration) -> Self {
        HeldBack { first, max, mails: Mutex::new(HashMap::new()) }
    }

    /// Holds the mail back after a bounce; returns for how long.
    pub fn hold(&self, message_id: &str) -> Duration {
        let Ok(mut mails) = self.mails.lock() else { return self.first };
        let wait = mails.get(message_id).map_or(self.first, |(_, last)| (*last * 2).min(self.max));
        mails.insert(message_id.to_string(), (Instant::now() + wait, wait));
        wait
    }

    /// Whether the mail may be sent now.
    pub fn ready(&self, message_id: &str) -> bool {
        let Ok(mails) = self.mails.lock() else { return true };
        mails.get(message_id).is_none_or(|(until, _)| Instant::now() >= *until)
    }
}

impl HeldBack {
    /// An agent's answer to a bounce: `take` records it in the agent's
    /// store (the Message-ID of the mail to put back, empty for a mere
    /// delay notice, the outcome to record, the reason to keep with the
    /// mail); a mail put back is held for a while. Returns the log line,
    /// if there is something to say.
    pub fn on_bounce<E: std::fmt::Display>(
        &self,
        bounce: &Bounce,
        take: impl FnOnce(&str, &str, &str) -> Result<Taken, E>,
    ) -> Option<String> {
        let id = &bounce.original_message_id;
        let what = format!("{} for {}: {}", bounce.summary(), bounce.recipient, bounce.diagnostic);
        let (outcome, put_back, reason) = if bounce.permanent {
            (format!("bounce of {id}: {what}"), id.as_str(), what.clone())
        } else {
            (format!("delay notice for {id}: {what}"), "", String::new())
        };
        match take(put_back, &outcome, &reason) {
            Ok(Taken::PutBack { order, kind, recipient }) => {
                let wait = self.hold(id);
                Some(format!(
                    "order {order}: {kind} to {recipient} bounced: {what}; sending it again in {wait:?}"
                ))
            }
            Ok(Taken::NotOurs) if !bounce.permanent => {
                Some(format!("{outcome}; the mail server is still trying"))
            }
            Ok(Taken::NotOurs) => Some(format!("{outcome}; no mail sent from here waits on it")),
            Ok(Taken::Seen) => None,
            Err(e) => Some(format!("{outcome}; cannot record it: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bounce_doubles_the_wait_up_to_the_limit() {
        let held = HeldBack::new(Duration::from_secs(10), Duration::from_secs(30));
        assert!(held.ready("a@x"));
        assert_eq!(held.hold("a@x"), Duration::from_secs(10));
        assert!(!held.ready("a@x"));
        assert!(held.ready("b@x"), "other mails are not held");
        assert_eq!(held.hold("a@x"), Duration::from_secs(20));
        assert_eq!(held.hold("a@x"), Duration::from_secs(30));
        assert_eq!(held.hold("a@x"), Duration::from_secs(30));
        let quick = HeldBack::new(Duration::ZERO, Duration::ZERO);
        quick.hold("a@x");
        assert!(quick.ready("a@x"));
    }
}
