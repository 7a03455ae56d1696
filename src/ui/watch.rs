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
use crate::protocol::payment::{Effect, Outbound};
use crate::ui::backend::{Home, Session};
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
            Report::Received { order, receipt: Receipt::Stepped { to: "awaiting-confirmation", .. } } => {
                Some(order)
            }
            _ => None,
        }
    }

    /// The order with a mail queued by receiving (an automatic OK + A).
    pub fn to_send(&self) -> Option<&str> {
        match self {
            Report::Received { order, receipt: Receipt::Stepped { effects, .. } }
                if effects
                    .iter()
                    .any(|e| matches!(e, Effect::Send(Outbound::Approve | Outbound::Decline))) =>
            {
                Some(order)
            }
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
        self.home.paths.data_dir.hash(state);
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

/// Takes one mail into the wallet: the same path for IMAP and the demo.
fn take(
    store: &mut crate::store::Store,
    raw: &[u8],
    received: Received,
) -> Result<Report, crate::ui::backend::BackendError> {
    Ok(match received {
        Received::MailPay(mail) => {
            let order = mail.body.order().clone();
            let pre_approved = store.payment(&order)?.is_some() && store.pre_approved(&order)?;
            let receipt = wallet::receive(store, &mail, raw, pre_approved)?;
            Report::Received { order: order.to_string(), receipt }
        }
        Received::Invalid(e) => Report::Invalid(e.to_string()),
        Received::Bounce(bounce) => {
            let receipt = wallet::bounced(store, &bounce, raw)?;
            let order = match &receipt {
                Receipt::Stepped { order, .. } | Receipt::Refused { order, .. } => order.clone(),
                _ => String::new(),
            };
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
                let received = match crate::protocol::parse::parse(&raw) {
                    Ok(m) => Received::MailPay(Box::new(m)),
                    Err(e) => Received::Invalid(e),
                };
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
    let mut config = WatchConfig::new(session.account.clone(), session.password().to_string());
    config.expecting = session.expecting.clone();
    let address = session.account.address.to_string();
    let folder = config.folder.clone();
    runtime.block_on(async move {
        let (a, f) = (address.clone(), folder.clone());
        let mut resume = match home.with(move |s| Ok(s.resume(&a, &f)?)).await {
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
                    if let Err(e) = home.with_blocking(|s| Ok(s.save_resume(&address, &folder, at)?)) {
                        deliver(&mut output, Report::Stopped(e.to_string()));
                        return Flow::Stop;
                    }
                    return (!output.is_closed()).into();
                }
                WatchEvent::Mail { resume: at, raw, received } => {
                    let taken = home.with_blocking(|s| {
                        let report = take(s, &raw, received)?;
                        s.save_resume(&address, &folder, at)?;
                        Ok(report)
                    });
                    match taken {
                        Ok(report) => report,
                        Err(e) => {
                            // Told, and set aside: one mail the wallet cannot
                            // take must not stop the watch, nor be read again
                            // after every restart.
                            let _ = home.with_blocking(|s| Ok(s.save_resume(&address, &folder, at)?));
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
