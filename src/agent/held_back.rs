//! Mails that came back undelivered (a bounce: the recipient's mailbox is
//! full) wait before they go out again, twice as long each time they come
//! back, so that an agent neither floods a full mailbox nor gives up on it.
//! The time a mail waits until is kept with it in the agent's outbox
//! (see [`super::outbox`]), so a restart does not send it early.

use std::time::Duration;

use crate::protocol::bounce::Bounce;

/// The wait after a mail's first bounce.
pub const FIRST_WAIT: Duration = Duration::from_secs(10);
/// The longest wait, however often a mail came back.
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// How long a mail waits after its `bounces`-th bounce: 10 s, 20 s,
/// 40 s, ... up to 30 minutes.
pub fn wait_after(bounces: u32) -> Duration {
    let doublings = bounces.saturating_sub(1).min(31);
    FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

/// What an agent's store did with a bounce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The same report was taken before.
    Seen,
    /// The mail it returns goes out again after `wait`.
    PutBack { order: String, kind: String, recipient: String, wait: Duration },
    /// No mail sent from here has that Message-ID: only recorded.
    NotOurs,
}

/// An agent's answer to a bounce: `take` records it in the agent's store
/// (the Message-ID of the mail to put back, empty for a mere delay
/// notice, the outcome to record, the reason to keep with the mail).
/// Returns the log line, if there is something to say.
pub fn on_bounce<E: std::fmt::Display>(
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
        Ok(Taken::PutBack { order, kind, recipient, wait }) => Some(format!(
            "order {order}: {kind} to {recipient} bounced: {what}; sending it again in {wait:?}"
        )),
        Ok(Taken::NotOurs) if !bounce.permanent => {
            Some(format!("{outcome}; the mail server is still trying"))
        }
        Ok(Taken::NotOurs) => Some(format!("{outcome}; no mail sent from here waits on it")),
        Ok(Taken::Seen) => None,
        Err(e) => Some(format!("{outcome}; cannot record it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bounce_doubles_the_wait_up_to_the_limit() {
        assert_eq!(wait_after(1), Duration::from_secs(10));
        assert_eq!(wait_after(2), Duration::from_secs(20));
        assert_eq!(wait_after(3), Duration::from_secs(40));
        assert_eq!(wait_after(8), Duration::from_secs(1280));
        assert_eq!(wait_after(9), MAX_WAIT);
        assert_eq!(wait_after(u32::MAX), MAX_WAIT);
        assert_eq!(wait_after(0), FIRST_WAIT);
    }
}
