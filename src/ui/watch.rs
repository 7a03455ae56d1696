//! The inbox watcher as a keyed subscription: one per account, restarted
//! only when the account changes.
//!
//! The IMAP IDLE loop (`mail::imap::watch`) runs on a thread of its own
//! with a small tokio runtime, so the UI never waits on it. Each MailPay
//! mail goes through `wallet::receive` there (the store is local and
//! quick) and the resume point is saved only after, so a crash neither
//! loses nor repeats a mail. The UI hears what happened as [`Report`]s.
//! When the subscription ends (the account changed, the window closed)
//! the stream is dropped, which drops the stop guard and ends the loop,
//! even in the middle of an IDLE wait.
//!
//! An account whose mails go through Thunderbird has no inbox to watch
//! here: Thunderbird's host takes its mails into the wallet's store. Every
//! [`THUNDERBIRD_POLL`] the watcher asks the host whether it runs (and
//! says so when that changes) and reads the mails the store received
//! since it last looked (one query on the table's own key), reporting
//! those of this account's payments as the IMAP route does.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use iced::Subscription;
use iced::futures::channel::mpsc;
use iced::futures::{SinkExt, Stream};

use crate::bridge::messages::Reply;
use crate::mail::account::Route;
use crate::mail::imap::{self, Flow, Received, WatchConfig, WatchEvent};
use crate::protocol::payment::State;
use crate::protocol::{EmailAddress, OrderId};
use crate::store::ReceivedRow;
use crate::ui::backend::{BackendError, Home, Session};
use crate::wallet::{self, Receipt};

/// How often the watcher of an account through Thunderbird asks the host
/// and looks for mails it took in.
pub const THUNDERBIRD_POLL: Duration = Duration::from_secs(2);
/// How long the host may take to say whether it runs.
const STATUS_TIME: Duration = Duration::from_secs(3);
/// The most received mails read back at one look.
const TAKEN_AT_ONCE: usize = 100;

/// What the watcher tells the app.
#[derive(Debug, Clone)]
pub enum Report {
    /// Watching the demo's mail loop instead of an IMAP inbox.
    Demo,
    Connected {
        idle: bool,
    },
    Disconnected {
        reason: String,
        retry_in_secs: u64,
    },
    /// A MailPay mail was taken in.
    Received {
        order: String,
        receipt: Receipt,
    },
    /// A mail that claimed to be MailPay but is not valid.
    Invalid(String),
    /// A MailPay mail the wallet could not take in (why): set aside in the
    /// quarantine folder, the watch goes on.
    SetAside(String),
    /// The watcher stopped for good.
    Stopped(String),
    /// The account's OAuth2 sign-in was revoked or has expired: the
    /// watcher stopped until the user signs in again (why).
    SignInAgain(String),
    /// Whether Thunderbird's host carries the account's mails now (said
    /// when it changes).
    Thunderbird(Link),
    /// A mail Thunderbird's host took into the wallet for a payment of
    /// this account, read back from the store.
    Took {
        order: String,
        what: Took,
    },
}

/// Thunderbird's host, as the watcher of an account through it finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// It runs and carries this account's mails.
    Connected,
    /// Nothing answers: Thunderbird is closed, or MailPay's add-on is not
    /// connected in it. The wallet's mails wait in the outbox.
    NotRunning,
    /// It runs, but for another address of Thunderbird's, or none.
    OtherAccount,
}

/// What a mail taken in by Thunderbird's host did to its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Took {
    /// The bank's confirmation, which now waits for the orderer.
    Awaiting,
    /// It moved the payment to this state (its name).
    Stepped(String),
    /// It moved nothing, and why (refused in the payment's state,
    /// suspicious, a bounce the bank or the merchant sent back).
    Refused(String),
}

impl Report {
    /// The order whose confirmation now waits for the orderer, if any.
    pub fn awaiting(&self) -> Option<&str> {
        match self {
            Report::Received { order, receipt: Receipt::Stepped { to, .. } }
                if matches!(**to, State::AwaitingConfirmation { .. }) =>
            {
                Some(order)
            }
            Report::Took { order, what: Took::Awaiting } => Some(order),
            _ => None,
        }
    }

    /// The order with a mail queued by receiving (an automatic OK + A).
    pub fn to_send(&self) -> Option<&str> {
        match self {
            Report::Received { order, receipt } if receipt.queued_answer() => Some(order),
            _ => None,
        }
    }
}

#[derive(Clone)]
struct Key {
    home: Home,
    session: Session,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let a = &self.session.account;
        (a.address.as_str(), &a.username, &a.imap.host, a.imap.port).hash(state);
        (a.route == Route::Thunderbird).hash(state);
        self.session.login_id().hash(state);
        self.home.paths().data_dir.hash(state);
    }
}

pub fn subscription(home: Home, session: Session) -> Subscription<Report> {
    if session.demo_loop().is_some() {
        Subscription::run_with(Key { home, session }, run_demo)
    } else if session.thunderbird().is_some() {
        Subscription::run_with(Key { home, session }, run_thunderbird)
    } else {
        Subscription::run_with(Key { home, session }, run)
    }
}

/// The same reports as a plain stream, for callers outside iced's runtime
/// (the end-to-end test drives the app with it).
pub fn stream(home: Home, session: Session) -> std::pin::Pin<Box<dyn Stream<Item = Report> + Send>> {
    let key = Key { home, session };
    if key.session.demo_loop().is_some() {
        Box::pin(run_demo(&key))
    } else if key.session.thunderbird().is_some() {
        Box::pin(run_thunderbird(&key))
    } else {
        Box::pin(run(&key))
    }
}

/// Takes one mail into the wallet ([`wallet::take`], the way in for
/// every front end), for IMAP and the demo alike.
fn take(store: &mut crate::store::Store, raw: &[u8], received: Received) -> Result<Report, BackendError> {
    let order = match &received {
        Received::MailPay(mail) => Some(mail.body.order().to_string()),
        _ => None,
    };
    Ok(match wallet::take(store, raw, received)? {
        Receipt::Invalid(why) => Report::Invalid(why),
        receipt => {
            let order = order.or_else(|| receipt.order().map(OrderId::to_string)).unwrap_or_default();
            Report::Received { order, receipt }
        }
    })
}

/// The demo: mails from the in-process loop instead of IMAP.
fn run_demo(key: &Key) -> impl Stream<Item = Report> + use<> {
    let key = key.clone();
    iced::stream::channel(16, async move |mut output: mpsc::Sender<Report>| {
        let Some(mail) = key.session.demo_loop().cloned() else { return };
        if output.send(Report::Demo).await.is_err() {
            return;
        }
        loop {
            for raw in mail.receive().await {
                // The loop is the demo wallet's alone, like an agent's mailbox.
                let Some(received) = Received::of(&raw, true) else { continue };
                let report = key
                    .home
                    .with(move |s| take(s, &raw, received))
                    .await
                    .unwrap_or_else(|e| Report::Stopped(e.to_string()));
                if output.send(report).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// An account through Thunderbird: the host's state, and the mails it
/// took in, every [`THUNDERBIRD_POLL`]. Only mails received from now on
/// are reported (the history shows what came before).
fn run_thunderbird(key: &Key) -> impl Stream<Item = Report> + use<> {
    let key = key.clone();
    iced::stream::channel(16, async move |mut output: mpsc::Sender<Report>| {
        let Key { home, session } = key;
        let Some(through) = session.thunderbird().cloned() else { return };
        let address = session.account.address.clone();
        let mut seen = match home.with(|s| Ok::<_, BackendError>(s.last_received()?)).await {
            Ok(row) => row,
            Err(e) => {
                let _ = output.send(Report::Stopped(e.to_string())).await;
                return;
            }
        };
        let mut link = None;
        let mut ticks = tokio::time::interval(THUNDERBIRD_POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = match tokio::time::timeout(STATUS_TIME, through.status()).await {
                Ok(reply) => link_of(reply, &address),
                Err(_) => Link::NotRunning,
            };
            if link != Some(now) {
                link = Some(now);
                if output.send(Report::Thunderbird(now)).await.is_err() {
                    return;
                }
            }
            let after = seen;
            let rows =
                home.with(move |s| Ok::<_, BackendError>(s.received_after(after, TAKEN_AT_ONCE)?)).await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = output.send(Report::Stopped(e.to_string())).await;
                    return;
                }
            };
            for row in rows {
                seen = seen.max(row.row);
                if let Some(report) = took(&row, &address)
                    && output.send(report).await.is_err()
                {
                    return;
                }
            }
        }
    })
}

/// What the host's answer to `status` means for `address`.
fn link_of(reply: Result<Reply, String>, address: &EmailAddress) -> Link {
    match reply {
        Ok(Reply::Status { account: Some(account), standby: false, .. })
            if account.parse::<EmailAddress>().is_ok_and(|a| a == *address) =>
        {
            Link::Connected
        }
        Ok(Reply::Status { .. }) => Link::OtherAccount,
        Ok(_) | Err(_) => Link::NotRunning,
    }
}

/// The report of a mail the store received, if it is about a payment of
/// `address` and worth telling: what taking it did, as the wallet wrote
/// it (`wallet::receive`: the state it left the payment in, or why not).
fn took(row: &ReceivedRow, address: &EmailAddress) -> Option<Report> {
    let order = row.order.as_deref()?.parse::<OrderId>().ok()?.to_string();
    let orderer: EmailAddress = row.orderer.as_deref()?.parse().ok()?;
    if orderer != *address {
        return None;
    }
    let what =
        if row.outcome == "awaiting-confirmation" && row.state.as_deref() == Some("awaiting-confirmation") {
            Took::Awaiting
        } else if State::NAMES.contains(&row.outcome.as_str()) {
            Took::Stepped(row.outcome.clone())
        } else if row.outcome == crate::wallet::steps::NOT_FOR_THE_ORDERER {
            // An order or a bill copied to the orderer: nothing to tell.
            return None;
        } else {
            Took::Refused(row.outcome.clone())
        };
    Some(Report::Took { order, what })
}

fn run(key: &Key) -> impl Stream<Item = Report> + use<> {
    let key = key.clone();
    iced::stream::channel(64, async move |output: mpsc::Sender<Report>| {
        let (stop_guard, stop) = tokio::sync::oneshot::channel::<()>();
        let mut failed = output.clone();
        let thread = std::thread::Builder::new()
            .name("mailpay-imap".into())
            .spawn(move || watch_thread(key, output, stop));
        if let Err(e) = thread {
            let _ = failed.send(Report::Stopped(format!("cannot start the inbox watcher: {e}"))).await;
        }
        // Lives as long as the subscription; dropping it stops the thread.
        let _stop_guard = stop_guard;
        std::future::pending::<()>().await;
    })
}

fn watch_thread(key: Key, mut output: mpsc::Sender<Report>, stop: tokio::sync::oneshot::Receiver<()>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let _ = output.try_send(Report::Stopped(format!("cannot start the inbox watcher: {e}")));
            return;
        }
    };
    let Key { home, session } = key;
    let Some(servers) = session.servers() else { return };
    let mut config = WatchConfig::with_login(session.account.clone(), servers.login().clone());
    config.expecting = servers.expecting().clone();
    let address = session.account.address.to_string();
    let folder = config.folder.clone();
    runtime.block_on(async move {
        let (a, f) = (address.clone(), folder.clone());
        let mut resume = match home.with(move |s| Ok::<_, BackendError>(s.resume(&a, &f)?)).await {
            Ok(r) => r,
            Err(e) => {
                let _ = output.send(Report::Stopped(e.to_string())).await;
                return;
            }
        };
        let mut last_word = output.clone();
        // The watcher's callback is synchronous (it runs on this thread of
        // its own, which may block): the store is used in place, and reports
        // wait for room in the channel.
        let watching = imap::watch(&config, &mut resume, |event| {
            let report = match event {
                WatchEvent::Connected { idle, .. } => Report::Connected { idle },
                WatchEvent::UidValidityChanged { .. } => return Flow::Go,
                WatchEvent::Disconnected { needs_sign_in: true, .. } => return Flow::Stop,
                WatchEvent::Disconnected { reason, retry_in, .. } => {
                    Report::Disconnected { reason, retry_in_secs: retry_in.as_secs() }
                }
                WatchEvent::Idle { resume: at } => {
                    if let Err(e) = home.with_blocking(|s| s.save_resume(&address, &folder, at)) {
                        deliver(&mut output, Report::Stopped(e.to_string()));
                        return Flow::Stop;
                    }
                    return (!output.is_closed()).into();
                }
                WatchEvent::Mail { resume: at, raw, received } => {
                    let taken = home.with_blocking(|s| {
                        let report = take(s, &raw, received)?;
                        s.save_resume(&address, &folder, at)?;
                        Ok::<_, BackendError>(report)
                    });
                    match taken {
                        Ok(report) => report,
                        Err(e) => {
                            // Told, and set aside: one mail the wallet cannot
                            // take must not stop the watch, nor be read again
                            // after every restart.
                            let _ = home.with_blocking(|s| s.save_resume(&address, &folder, at));
                            return if deliver(&mut output, Report::SetAside(e.to_string())) {
                                Flow::SetAside
                            } else {
                                Flow::Stop
                            };
                        }
                    }
                }
            };
            deliver(&mut output, report).into()
        });
        tokio::select! {
            error = watching => {
                if error.needs_sign_in() {
                    let _ = last_word.try_send(Report::SignInAgain(error.to_string()));
                } else if !matches!(error, imap::ImapError::Stopped) {
                    let _ = last_word.try_send(Report::Stopped(error.to_string()));
                }
            }
            _ = stop => {}
        }
    });
}

/// Hands a report to the UI, waiting while the channel is full; `false`
/// once the UI has gone.
fn deliver(output: &mut mpsc::Sender<Report>, mut report: Report) -> bool {
    loop {
        match output.try_send(report) {
            Ok(()) => return true,
            Err(e) if e.is_full() => {
                report = e.into_inner();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(orderer: &str, outcome: &str, state: &str) -> ReceivedRow {
        ReceivedRow {
            row: 7,
            order: Some("7KQ3M9ZXP2VDH4TR".into()),
            outcome: outcome.into(),
            orderer: Some(orderer.into()),
            state: Some(state.into()),
        }
    }

    #[test]
    fn a_mail_thunderbird_took_in_is_told_as_the_imap_route_tells_it() {
        let me: EmailAddress = "taro@example.jp".parse().unwrap();
        let waiting = took(&row("taro@example.jp", "awaiting-confirmation", "awaiting-confirmation"), &me);
        let Some(report @ Report::Took { what: Took::Awaiting, .. }) = waiting else { panic!("{waiting:?}") };
        assert_eq!(report.awaiting(), Some("7KQ3-M9ZX-P2VD-H4TR"));
        assert_eq!(report.to_send(), None, "the host answers what was approved in advance, not the app");
        // Answered since: no review is offered for it.
        let moved_on = took(&row("taro@example.jp", "awaiting-confirmation", "approved"), &me);
        assert!(
            matches!(moved_on, Some(Report::Took { what: Took::Stepped(ref s), .. }) if s == "awaiting-confirmation")
        );
        let settled = took(&row("taro@example.jp", "settled", "settled"), &me);
        assert!(matches!(settled, Some(Report::Took { what: Took::Stepped(ref s), .. }) if s == "settled"));
        let refused =
            took(&row("taro@example.jp", "suspicious: it came through a mailing list", "sent"), &me);
        assert!(
            matches!(refused, Some(Report::Took { what: Took::Refused(ref r), .. }) if r.starts_with("suspicious"))
        );
        assert!(took(&row("taro@example.jp", "not for the orderer", "sent"), &me).is_none());
        assert!(
            took(&row("hanako@example.jp", "awaiting-confirmation", "awaiting-confirmation"), &me).is_none()
        );
        let no_payment = ReceivedRow { orderer: None, state: None, ..row("", "unknown order", "") };
        assert!(took(&no_payment, &me).is_none());
    }

    #[test]
    fn the_hosts_status_says_whether_it_carries_this_address() {
        let me: EmailAddress = "taro@example.jp".parse().unwrap();
        let status = |account: Option<&str>, standby| {
            Ok(Reply::Status { account: account.map(str::to_string), addon: Some("1.0".into()), standby })
        };
        assert_eq!(link_of(status(Some("Taro@Example.jp"), false), &me), Link::Connected);
        assert_eq!(link_of(status(Some("hanako@example.jp"), false), &me), Link::OtherAccount);
        assert_eq!(link_of(status(None, false), &me), Link::OtherAccount);
        assert_eq!(link_of(status(Some("taro@example.jp"), true), &me), Link::OtherAccount);
        assert_eq!(link_of(Err("no socket".into()), &me), Link::NotRunning);
        assert_eq!(link_of(Ok(Reply::Error { text: "x".into() }), &me), Link::NotRunning);
    }
}
