//! The native-messaging host: the wallet's Thunderbird front end. Started
//! by Thunderbird for the MailPay add-on, it lives as long as the add-on's
//! port. It runs the one wallet ([`crate::wallet::Wallet`]) on the user's
//! wallet files, as the app and the command line do:
//!
//! - every MailPay mail the add-on hands over goes through
//!   [`wallet::take`], and the add-on hears what became of it (a
//!   confirmation to review gets its banner; one approved in advance is
//!   answered at once);
//! - the wallet's mails go out through the add-on ([`AddonLink`], a
//!   [`Transport`]): its own, and those the app and the command line
//!   hand over on the local socket ([`super::endpoint`]);
//! - when the add-on says hello, whatever waited in the outbox while
//!   Thunderbird was closed leaves.
//!
//! Only one host serves a wallet: a second one (a second Thunderbird, or
//! the add-on reconnecting before the old host has gone) stands by and
//! takes over when the first ends.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use super::endpoint::{self, Bound};
use super::frame::{self, FROM_PEER_MAX, FrameError, TO_ADDON_MAX};
use super::messages::{FromAddon, Identity, Outcome, Reply, Request, ToAddon, VERSION, WireMail, WireResult};
use super::outgoing;
use crate::i18n::{Lang, Tr};

use crate::mail::imap::Received;
use crate::mail::smtp::{Dispatch, SendError};
use crate::paths::Paths;
use crate::protocol::compose::Outgoing;
use crate::protocol::payment::State;
use crate::protocol::{EmailAddress, OrderId};
use crate::store::book::Setting;
use crate::tr;
use crate::wallet::{self, Receipt, Sending, Transport, Wallet, WalletError, accounts};

/// How long Thunderbird may take to send one mail.
pub const SEND_TIME: Duration = Duration::from_secs(120);
/// How often mails that failed for now are sent again.
const RESEND_EVERY: Duration = Duration::from_secs(15);
/// How often a standing-by host looks whether it can take over.
const STANDBY_POLL: Duration = Duration::from_secs(2);

const CLIENT: &str = "Thunderbird";

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    Wallet(#[from] WalletError),
    #[error("the connection to Thunderbird broke: {0}")]
    Frame(#[from] FrameError),
}

/// Sends the wallet's mails through the add-on. Each mail is one `send`
/// request, named by the mail's outbox Message-ID; Thunderbird answers
/// `sent` (with the Message-ID it chose) or `send-failed`. A mail already
/// sent (the app asking again after the host sent it from the outbox, or a
/// host after a crash) is not sent twice: this host remembers, and the
/// add-on answers a request it has sent from its own memory.
pub struct AddonLink {
    to_addon: mpsc::UnboundedSender<ToAddon>,
    pending: Mutex<HashMap<String, oneshot::Sender<Result<String, SendError>>>>,
    /// One sending at a time; what was sent, by the outbox's Message-ID.
    sent: tokio::sync::Mutex<HashMap<String, String>>,
    ready: std::sync::atomic::AtomicBool,
}

impl AddonLink {
    fn new(to_addon: mpsc::UnboundedSender<ToAddon>) -> AddonLink {
        AddonLink {
            to_addon,
            pending: Mutex::default(),
            sent: tokio::sync::Mutex::default(),
            ready: false.into(),
        }
    }

    fn answered(&self, request: &str, result: Result<String, SendError>) -> bool {
        let waiting = self.pending.lock().map(|mut p| p.remove(request)).unwrap_or(None);
        match waiting {
            Some(tx) => tx.send(result).is_ok(),
            None => false,
        }
    }

    async fn send_one(&self, mail: &Outgoing) -> Result<String, SendError> {
        let fail =
            |reason: String, temporary| SendError::MailClient { client: CLIENT.into(), reason, temporary };
        if !self.ready.load(Ordering::SeqCst) {
            return Err(fail(
                "MailPay's add-on in Thunderbird is not connected; the mail waits in MailPay's outbox".into(),
                true,
            ));
        }
        // The request is named by the mail's own Message-ID: the add-on
        // remembers what it sent by request, so a mail handed over again
        // (by this host or one after it) is answered, not sent again.
        let request = mail.message_id.clone();
        let send = outgoing::send_request(mail, request.clone()).map_err(|e| fail(e, false))?;
        let message = ToAddon::Send(send);
        if let Err(e) = frame::encode(&message, TO_ADDON_MAX) {
            return Err(fail(format!("it is too large for Thunderbird's bridge ({e})"), false));
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(request.clone(), tx);
        }
        if self.to_addon.send(message).is_err() {
            self.answered(&request, Err(fail("the add-on went away".into(), true)));
        }
        match tokio::time::timeout(SEND_TIME, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(fail("the add-on went away before it answered".into(), true)),
            Err(_) => {
                if let Ok(mut pending) = self.pending.lock() {
                    pending.remove(&request);
                }
                Err(fail(format!("no answer within {SEND_TIME:?}"), true))
            }
        }
    }
}

impl Transport for AddonLink {
    fn send<'a>(&'a self, mails: &'a [Outgoing]) -> Sending<'a> {
        Box::pin(async move {
            let mut sent = self.sent.lock().await;
            let started = Instant::now();
            let results = futures_util::future::join_all(mails.iter().map(|mail| async {
                if let Some(id) = sent.get(&mail.message_id) {
                    return Ok(id.clone());
                }
                self.send_one(mail).await
            }))
            .await;
            mails
                .iter()
                .zip(results)
                .map(|(mail, result)| {
                    if let Ok(id) = &result {
                        sent.insert(mail.message_id.clone(), id.clone());
                    }
                    Dispatch::of(mail, result.map(Some), started)
                })
                .collect()
        })
    }
}

/// What the host knows of the add-on and the wallet's account.
#[derive(Debug, Default)]
struct Link {
    account: Option<EmailAddress>,
    addon: Option<String>,
    identities: Vec<Identity>,
    locale: Option<String>,
    standby: bool,
}

struct Host {
    wallet: Wallet,
    link: Arc<AddonLink>,
    state: Mutex<Link>,
    /// Whether [`Host::resend_every`] runs.
    resending: std::sync::atomic::AtomicBool,
    /// The messages in the language last asked for (made again only when
    /// the user chooses another).
    tr: Mutex<Option<Arc<Tr>>>,
}

/// Runs the host on the add-on's stream (`input`, `output`) until the
/// add-on closes it. A frame that is not understood is answered with an
/// error and the host reads on; a broken stream ends the host (the add-on
/// starts a new one).
pub async fn run<R, W>(mut input: R, output: W, paths: Paths) -> Result<(), HostError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_addon, mut outbox) = mpsc::unbounded_channel::<ToAddon>();
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(message) = outbox.recv().await {
            if let Err(e) = frame::write(&mut output, &message, TO_ADDON_MAX).await {
                // A message too long for Thunderbird (never a send: those
                // are checked before) is dropped with a word on stderr,
                // which Thunderbird shows in its error console.
                std::eprintln!("mailpay-thunderbird: a message to the add-on was not written: {e}");
                if !matches!(e, FrameError::TooLong { .. }) {
                    return;
                }
            }
        }
    });
    let wallet = match Wallet::open(paths.clone()) {
        Ok(wallet) => wallet,
        Err(e) => {
            let _ =
                to_addon.send(ToAddon::Error { text: format!("the MailPay wallet cannot be opened: {e}") });
            drop(to_addon);
            let _ = writer.await;
            return Err(e.into());
        }
    };
    let host = Arc::new(Host {
        wallet,
        link: Arc::new(AddonLink::new(to_addon.clone())),
        state: Mutex::new(Link { standby: true, ..Link::default() }),
        resending: false.into(),
        tr: Mutex::new(None),
    });
    // The socket is taken (or found taken) before the add-on's hello is
    // read, so that the first welcome already says whether this host serves.
    let path = endpoint::socket_path(&paths);
    let first = endpoint::bind(&path).await;
    if let Ok(Bound::Listening(_)) = &first
        && let Ok(mut state) = host.state.lock()
    {
        state.standby = false;
    }
    let serving = tokio::spawn(serve(host.clone(), path, first));
    let result = loop {
        let message = match frame::read::<FromAddon, _>(&mut input, FROM_PEER_MAX).await {
            Ok(message) => message,
            Err(FrameError::Closed) => break Ok(()),
            Err(e) if e.in_step() => {
                host.tell(ToAddon::Error { text: e.to_string() });
                continue;
            }
            Err(e) => {
                host.tell(ToAddon::Error { text: e.to_string() });
                break Err(e.into());
            }
        };
        host.clone().handle(message).await;
    };
    serving.abort();
    host.link.ready.store(false, Ordering::SeqCst);
    drop(host);
    drop(to_addon);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    result
}

impl Host {
    fn tell(&self, message: ToAddon) {
        let _ = self.link.to_addon.send(message);
    }

    /// The messages in the language the user chose in the wallet, else
    /// Thunderbird's, else the system's.
    fn tr(&self) -> Arc<Tr> {
        let chosen = self.wallet.with_blocking(|s| s.setting(Setting::Language)).ok().flatten();
        let from_addon = self.state.lock().ok().and_then(|s| s.locale.clone());
        let lang = chosen.or(from_addon).and_then(|code| Lang::from_code(&code)).unwrap_or_else(Lang::system);
        let Ok(mut cached) = self.tr.lock() else {
            return Arc::new(Tr::new(lang));
        };
        match &*cached {
            Some(tr) if tr.lang() == lang => tr.clone(),
            _ => cached.insert(Arc::new(Tr::new(lang))).clone(),
        }
    }

    async fn handle(self: Arc<Self>, message: FromAddon) {
        match message {
            FromAddon::Hello { version, identities, locale, .. } => {
                if let Ok(mut state) = self.state.lock() {
                    state.addon = Some(version);
                    state.identities = identities;
                    state.locale = locale;
                }
                self.welcome().await;
            }
            FromAddon::Mail { id, raw, .. } => {
                let taken = self.take(id, &raw).await;
                self.tell(taken);
            }
            FromAddon::Sent { request, message_id } => {
                let id = message_id.trim().trim_matches(['<', '>']).to_string();
                self.link.answered(&request, Ok(id));
            }
            FromAddon::SendFailed { request, reason, temporary } => {
                let e = SendError::MailClient { client: CLIENT.into(), reason, temporary };
                self.link.answered(&request, Err(e));
            }
            FromAddon::Review { order } => match order.parse::<OrderId>() {
                Ok(order) => open_wallet(&["review", order.as_str()]),
                Err(e) => self.tell(ToAddon::Error { text: format!("{order:?}: {e}") }),
            },
            FromAddon::Pay { link } => match crate::protocol::link::parse(&link) {
                Ok(_) => open_wallet(&[link.as_str()]),
                Err(e) => self.tell(ToAddon::Error { text: format!("not a MailPay link: {e}") }),
            },
        }
    }

    /// Chooses the wallet account Thunderbird carries, says so, and sends
    /// what waited.
    async fn welcome(self: &Arc<Self>) {
        let identities: Vec<EmailAddress> = self
            .state
            .lock()
            .map(|s| s.identities.iter().filter_map(|i| i.email.parse().ok()).collect())
            .unwrap_or_default();
        let paths = self.wallet.paths().clone();
        let chosen = self.wallet.with(move |_| accounts::carried_by_thunderbird(&paths, &identities)).await;
        let tr = self.tr();
        let (account, text) = match chosen {
            Ok(Some((account, added))) => {
                let text = if added {
                    tr!(tr, "bridge-account-added", address = account.to_string())
                } else {
                    tr!(tr, "bridge-connected", address = account.to_string())
                };
                (Some(account), text)
            }
            Ok(None) => (None, tr!(tr, "bridge-no-account")),
            Err(e) => (None, e.to_string()),
        };
        let standby = {
            let Ok(mut state) = self.state.lock() else { return };
            state.account = account.clone();
            state.standby
        };
        self.link.ready.store(account.is_some() && !standby, Ordering::SeqCst);
        self.tell(ToAddon::Welcome {
            version: env!("CARGO_PKG_VERSION").into(),
            bridge: VERSION,
            account: account.as_ref().map(ToString::to_string),
            standby,
            text: if standby { tr!(tr, "bridge-standby") } else { text },
        });
        if let (Some(account), false) = (account, standby) {
            // On its own task: the answers come through the reading loop.
            tokio::spawn(self.clone().send_waiting(account));
            if !self.resending.swap(true, Ordering::SeqCst) {
                tokio::spawn(resend_every(Arc::downgrade(self), RESEND_EVERY));
            }
        }
    }

    /// Sends every payment's mails that waited for Thunderbird.
    async fn send_waiting(self: Arc<Self>, account: EmailAddress) {
        let sender = account.to_string();
        let Ok(orders) = self.wallet.with(move |s| s.waiting(&sender).map_err(WalletError::from)).await
        else {
            return;
        };
        for order in orders {
            if self.wallet.resume_failed(&order).await.is_ok() {
                let _ = self.wallet.dispatch(self.link.as_ref(), &order).await;
            }
        }
    }

    async fn take(self: &Arc<Self>, id: String, raw: &str) -> ToAddon {
        let tr = self.tr();
        let taken = |outcome, order: Option<&OrderId>, review, text: String| ToAddon::Taken {
            id: id.clone(),
            outcome,
            order: order.map(ToString::to_string),
            review,
            text,
        };
        let raw = match STANDARD.decode(raw.trim()) {
            Ok(raw) => raw,
            Err(e) => {
                return taken(Outcome::Invalid, None, false, format!("the mail's source is not base64: {e}"));
            }
        };
        let raw = without_envelope_line(raw);
        let Some(received) = Received::of(&raw, false) else {
            return taken(Outcome::NotMailPay, None, false, tr!(tr, "bridge-not-mailpay"));
        };
        let receipt = {
            let raw = raw.clone();
            self.wallet.with(move |s| wallet::take(s, &raw, received)).await
        };
        let receipt = match receipt {
            Ok(receipt) => receipt,
            Err(e) => return taken(Outcome::Invalid, None, false, e.to_string()),
        };
        let order = receipt.order().cloned();
        match &receipt {
            Receipt::Stepped { order, .. } if receipt.queued_answer() => {
                let (host, o) = (self.clone(), order.clone());
                tokio::spawn(async move {
                    let _ = host.wallet.dispatch(host.link.as_ref(), &o).await;
                });
                taken(
                    Outcome::Answered,
                    Some(order),
                    false,
                    tr!(tr, "bridge-answered", order = order.to_string()),
                )
            }
            Receipt::Stepped { order, to, .. } => match to.as_ref() {
                State::AwaitingConfirmation { confirm, .. } => taken(
                    Outcome::NeedsReview,
                    Some(order),
                    true,
                    tr!(
                        tr,
                        "bridge-review",
                        amount = tr.money(&confirm.amount),
                        merchant = confirm.merchant.to_string(),
                        order = order.to_string()
                    ),
                ),
                state => taken(
                    Outcome::Stepped,
                    Some(order),
                    false,
                    tr!(
                        tr,
                        "bridge-stepped",
                        order = order.to_string(),
                        state = tr.dynamic(&format!("state-{}", state.name()))
                    ),
                ),
            },
            Receipt::Duplicate => taken(Outcome::Duplicate, None, false, tr!(tr, "bridge-duplicate")),
            Receipt::UnknownOrder(_) | Receipt::NotForOrderer(_) => {
                taken(Outcome::NotOurs, order.as_ref(), false, tr!(tr, "bridge-not-ours"))
            }
            Receipt::Refused { reason, .. } => taken(Outcome::Refused, order.as_ref(), false, reason.clone()),
            Receipt::Bounced { reason, .. } => taken(Outcome::Bounce, None, false, reason.clone()),
            Receipt::Invalid(reason) => taken(Outcome::Invalid, None, false, reason.clone()),
        }
    }

    /// Answers the app's and the command line's requests.
    async fn request(&self, request: Request) -> Reply {
        match request {
            Request::Status => {
                let Ok(state) = self.state.lock() else {
                    return Reply::Error { text: "the host failed".into() };
                };
                Reply::Status {
                    account: state.account.as_ref().map(ToString::to_string),
                    addon: state.addon.clone(),
                    standby: state.standby,
                }
            }
            Request::Send { mails } => {
                let mails = match mails.iter().map(from_wire).collect::<Result<Vec<_>, _>>() {
                    Ok(mails) => mails,
                    Err(text) => return Reply::Error { text },
                };
                let results = self.link.send(&mails).await;
                Reply::Sent {
                    results: results
                        .into_iter()
                        .map(|d| WireResult {
                            message_id: d.message_id,
                            sent_as: d.sent_as,
                            temporary: d.result.as_ref().err().is_some_and(SendError::is_temporary),
                            error: d.result.err().map(|e| e.to_string()),
                        })
                        .collect(),
                }
            }
        }
    }
}

/// Sends again, now and then, what failed for now (Thunderbird could not
/// reach the mail server, or gave up on it): a person would press Retry;
/// the wallet does. Ends with the host.
async fn resend_every(host: std::sync::Weak<Host>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(host) = host.upgrade() else { return };
        let account = host.state.lock().ok().and_then(|s| s.account.clone());
        if let (Some(account), true) = (account, host.link.ready.load(Ordering::SeqCst)) {
            host.send_waiting(account).await;
        }
    }
}

/// Serves the local socket; stands by while another host holds it.
async fn serve(host: Arc<Host>, path: std::path::PathBuf, first: std::io::Result<Bound>) {
    let mut attempt = Some(first);
    let listener = loop {
        let bound = match attempt.take() {
            Some(first) => first,
            None => endpoint::bind(&path).await,
        };
        match bound {
            Ok(Bound::Listening(listener)) => break listener,
            Ok(Bound::Taken) => tokio::time::sleep(STANDBY_POLL).await,
            Err(e) => {
                host.tell(ToAddon::Error { text: format!("the wallet's socket {}: {e}", path.display()) });
                return;
            }
        }
    };
    let was_standing_by =
        host.state.lock().map(|mut s| std::mem::replace(&mut s.standby, false)).unwrap_or(false);
    let knows_addon = host.state.lock().map(|s| s.addon.is_some()).unwrap_or(false);
    if was_standing_by && knows_addon {
        host.welcome().await;
    }
    accept(host, listener, path).await;
}

async fn accept(host: Arc<Host>, mut listener: endpoint::Listener, path: std::path::PathBuf) {
    let _cleanup = endpoint::Unlink(path);
    loop {
        let Ok(stream) = listener.accept().await else { continue };
        let host = host.clone();
        tokio::spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(stream);
            loop {
                let request = match tokio::time::timeout(
                    endpoint::IDLE,
                    frame::read::<Request, _>(&mut reader, FROM_PEER_MAX),
                )
                .await
                {
                    Ok(Ok(request)) => request,
                    Ok(Err(e)) if e.in_step() => {
                        let _ =
                            frame::write(&mut writer, &Reply::Error { text: e.to_string() }, FROM_PEER_MAX)
                                .await;
                        continue;
                    }
                    Ok(Err(_)) | Err(_) => return,
                };
                let reply = host.request(request).await;
                if frame::write(&mut writer, &reply, FROM_PEER_MAX).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn from_wire(mail: &WireMail) -> Result<Outgoing, String> {
    Ok(Outgoing {
        kind: mail.kind.parse().map_err(|_| format!("{:?} is not a kind of MailPay mail", mail.kind))?,
        order: mail.order.parse().map_err(|e| format!("{:?}: {e}", mail.order))?,
        message_id: mail.message_id.clone(),
        from: mail.from.parse().map_err(|e| format!("{:?}: {e}", mail.from))?,
        to: mail.to.parse().map_err(|e| format!("{:?}: {e}", mail.to))?,
        bytes: STANDARD.decode(&mail.bytes).map_err(|e| format!("the mail is not base64: {e}"))?,
    })
}

/// The raw source without an mbox `From ` line, if it starts with one.
fn without_envelope_line(raw: Vec<u8>) -> Vec<u8> {
    if raw.starts_with(b"From ")
        && let Some(end) = raw.iter().position(|&b| b == b'\n')
    {
        return raw[end + 1..].to_vec();
    }
    raw
}

/// Opens the desktop wallet with `args` (a `mailpay:` link, or `review
/// ORDER`): the `mailpay` beside this program, else the one on PATH (on
/// Windows `mailpay-wallet.exe`, which opens no console window).
fn open_wallet(args: &[&str]) {
    let name = if cfg!(windows) { "mailpay-wallet.exe" } else { "mailpay" };
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(name)));
    let program = beside.filter(|p| p.exists()).unwrap_or_else(|| name.into());
    match std::process::Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        // Reaped when it ends, so that no zombie stays behind.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => std::eprintln!("mailpay-thunderbird: cannot start {}: {e}", program.display()),
    }
}
