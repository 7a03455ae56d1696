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

use std::hash::{Hash, Hasher};

use iced::Subscription;
use iced::futures::channel::mpsc;
use iced::futures::{SinkExt, Stream};

use crate::mail::imap::{self, Flow, Received, WatchConfig, WatchEvent};
use crate::protocol::OrderId;
use crate::protocol::payment::State;
use crate::ui::backend::{BackendError, Home, Session};
use crate::wallet::{self, Receipt};

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
        self.home.paths().data_dir.hash(state);
    }
}

pub fn subscription(home: Home, session: Session) -> Subscription<Report> {
    if session.demo_loop().is_some() {
        Subscription::run_with(Key { home, session }, run_demo)
    } else {
        Subscription::run_with(Key { home, session }, run)
    }
}

/// The same reports as a plain stream, for callers outside iced's runtime
/// (the end-to-end test drives the app with it).
pub fn stream(home: Home, session: Session) -> std::pin::Pin<Box<dyn Stream<Item = Report> + Send>> {
    let key = Key { home, session };
    if key.session.demo_loop().is_some() { Box::pin(run_demo(&key)) } else { Box::pin(run(&key)) }
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
    let mut config = WatchConfig::new(session.account.clone(), servers.password().to_string());
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
                WatchEvent::Disconnected { reason, retry_in } => {
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
                if !matches!(error, imap::ImapError::Stopped) {
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
