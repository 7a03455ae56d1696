//! Watching an inbox with IMAP IDLE.
//!
//! [`watch`] logs in over TLS, selects the folder, hands every message
//! above the last seen UID to the caller, then waits in IDLE (renewed well
//! before the 29 minutes of RFC 2177) and fetches again when the server
//! says something changed. After any drop it reconnects with jittered
//! exponential backoff. The caller keeps the [`Resume`] point (UIDVALIDITY
//! and last UID) with what it did with each mail, so a restart neither
//! misses nor repeats a message.
//!
//! MailPay mails are moved to a folder of their own once the caller has
//! taken them, so the user's inbox is left to the user; other mail is never
//! touched (bodies are fetched with `BODY.PEEK`, so not even `\Seen`).
//!
//! No mail can stop the watch. At most [`MAX_MAIL_BYTES`] + 1 bytes of a
//! mail are fetched; the parser works within its limits; a panic while
//! reading or handling a mail is caught here. A mail that cannot be handled
//! (invalid MailPay, past a limit, failing inside MailPay, or one the
//! caller could not take: [`Flow::SetAside`]) is reported with its reason
//! and moved to the quarantine folder, and the resume point moves past it,
//! so it is never fetched again.

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::account::{Account, Security};
use super::expecting::{EAGER_POLL, Expecting};
use super::login::Login;
use super::tcp::QuickAck;
use super::tls;
use crate::oauth::OAuthError;
use crate::oauth::sasl::{Mechanism, Refusal};
use crate::oauth::session::TokenSource;
use crate::protocol::bounce::{self, Bounce};
use crate::protocol::parse::{self, MAX_MAIL_BYTES, ParseError};
use crate::secrets::Secret;

type Stream = TlsStream<QuickAck>;

/// Where to pick up: the folder's UIDVALIDITY and the last UID handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resume {
    pub uid_validity: u32,
    pub last_uid: u32,
}

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub account: Account,
    pub login: Login,
    pub folder: String,
    /// Where MailPay mails go once handled; `None` leaves them in place.
    pub mailpay_folder: Option<String>,
    /// Where mails go that cannot be handled; `None` leaves them in place
    /// (they are still never fetched again).
    pub quarantine_folder: Option<String>,
    /// Every mail in the folder is MailPay's business (an agent's mailbox):
    /// a mail past a limit is set aside even when nothing in it claims to be
    /// MailPay. In a person's inbox such mail is theirs and left alone.
    pub dedicated: bool,
    /// IDLE is ended and renewed after this long.
    pub idle_renewal: Duration,
    /// Used only when the server has no IDLE, or when `force_polling` is set.
    pub poll_interval: Duration,
    /// Poll every `poll_interval` (NOOP, then a fetch) even when the server
    /// offers IDLE: for servers whose IDLE is unreliable, and to compare the
    /// two ways of waiting (benches/settlement.rs). Off by default.
    pub force_polling: bool,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// While a window is open, the server is asked every `eager_poll`
    /// (a NOOP) instead of waiting for IDLE to announce new mail.
    pub expecting: Expecting,
    pub eager_poll: Duration,
}

impl WatchConfig {
    pub fn new(account: Account, password: String) -> Self {
        WatchConfig::with_login(account, Login::Password(Secret::new(password)))
    }

    /// A watch that logs in with `login` (a password or OAuth2).
    pub fn with_login(account: Account, login: Login) -> Self {
        WatchConfig {
            account,
            login,
            folder: "INBOX".to_string(),
            mailpay_folder: Some("MailPay".to_string()),
            quarantine_folder: Some(QUARANTINE_FOLDER.to_string()),
            dedicated: false,
            idle_renewal: Duration::from_secs(25 * 60),
            poll_interval: Duration::from_secs(60),
            force_polling: false,
            max_backoff: Duration::from_secs(60),
            expecting: Expecting::new(),
            eager_poll: EAGER_POLL,
        }
    }
}

/// What a mail turned out to be.
#[derive(Debug, Clone)]
pub enum Received {
    /// A valid MailPay mail.
    MailPay(Box<parse::Incoming>),
    /// It claims to be MailPay (a header or a block) but is not valid.
    Invalid(ParseError),
    /// A delivery status notification: a mail sent earlier came back.
    Bounce(Box<Bounce>),
}

/// What the watcher reports.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    Connected {
        uid_validity: u32,
        /// New mail is awaited with IDLE; `false`: by polling.
        idle: bool,
    },
    /// The folder was recreated: UIDs start over, so every message is read
    /// again (receivers deduplicate by Message-ID).
    UidValidityChanged { old: u32, new: u32 },
    /// A MailPay mail, or one that tried to be. `raw` is the whole mail;
    /// `resume` is where to pick up once the caller has taken it.
    Mail { resume: Resume, raw: Vec<u8>, received: Received },
    /// Everything up to `resume` was handed over; waiting for new mail.
    Idle { resume: Resume },
    /// The connection broke; the next attempt is in `retry_in`.
    Disconnected {
        reason: String,
        retry_in: Duration,
        /// Only signing in again (in the browser) helps.
        needs_sign_in: bool,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ImapError {
    #[error("cannot reach {host}:{port}: {reason}")]
    Connect { host: String, port: u16, reason: String },
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("{0}")]
    TlsSetup(#[from] tls::TlsError),
    #[error("the IMAP server refused the login for {user}: {reason}")]
    Login { user: String, reason: String },
    #[error("IMAP error: {0}")]
    Protocol(String),
    #[error("the IMAP server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the caller stopped the watch")]
    Stopped,
    /// No OAuth2 access token could be had (see the error).
    #[error("{0}")]
    OAuth(OAuthError),
}

impl ImapError {
    /// Only signing in again (in the browser) helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, ImapError::OAuth(e) if e.needs_sign_in())
    }
}

impl From<async_imap::error::Error> for ImapError {
    fn from(e: async_imap::error::Error) -> Self {
        ImapError::Protocol(e.to_string())
    }
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The folder for mails that cannot be handled.
pub const QUARANTINE_FOLDER: &str = "MailPay-Quarantine";

/// What is kept of a mail past [`MAX_MAIL_BYTES`] to report it: its head.
const KEPT_OF_TOO_LARGE: usize = 64 << 10;

async fn timed<T, E: Into<ImapError>>(fut: impl Future<Output = Result<T, E>>) -> Result<T, ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(COMMAND_TIMEOUT)),
    }
}

/// Opens a logged-in session.
pub async fn connect(account: &Account, password: &str) -> Result<Session<Stream>, ImapError> {
    connect_with(account, &Login::Password(Secret::new(password))).await
}

/// Opens a session logged in with `login` (a password or OAuth2).
pub async fn connect_with(account: &Account, login: &Login) -> Result<Session<Stream>, ImapError> {
    let server = &account.imap;
    let config = tls::client_config(account.ca_file.as_deref())?;
    let connect_err = |e: std::io::Error| ImapError::Connect {
        host: server.host.clone(),
        port: server.port,
        reason: e.to_string(),
    };
    let tcp =
        timed(async { TcpStream::connect((server.host.as_str(), server.port)).await.map_err(connect_err) })
            .await?;
    let tcp = QuickAck::new(tcp).map_err(connect_err)?;
    let tcp = if server.security == Security::Starttls {
        let mut plain = Client::new(tcp);
        timed(async { plain.read_response().await.map_err(|e| ImapError::Protocol(e.to_string())) }).await?;
        timed(plain.run_command_and_check_ok("STARTTLS", None)).await?;
        plain.into_inner()
    } else {
        tcp
    };
    let name = ServerName::try_from(server.host.clone())
        .map_err(|e| ImapError::Tls { host: server.host.clone(), reason: e.to_string() })?;
    let tls_stream = timed(async {
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| ImapError::Tls { host: server.host.clone(), reason: e.to_string() })
    })
    .await?;
    let mut client = Client::new(tls_stream);
    if server.security == Security::Tls {
        timed(async { client.read_response().await.map_err(|e| ImapError::Protocol(e.to_string())) }).await?;
    }
    let password = match login {
        Login::Password(password) => password,
        Login::OAuth2(source) => return authenticate(client, account, source).await,
    };
    let login =
        tokio::time::timeout(COMMAND_TIMEOUT, client.login(&account.username, password.expose())).await;
    match login {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((e, _))) => Err(ImapError::Login { user: account.username.clone(), reason: e.to_string() }),
        Err(_) => Err(ImapError::Timeout(COMMAND_TIMEOUT)),
    }
}

/// AUTHENTICATE XOAUTH2 or OAUTHBEARER with the source's access token; a
/// refused token is refreshed once and tried again.
async fn authenticate(
    mut client: Client<Stream>,
    account: &Account,
    source: &TokenSource,
) -> Result<Session<Stream>, ImapError> {
    let mechanism = source.mechanism();
    let mut token = source.bearer().await.map_err(ImapError::OAuth)?;
    let mut attempt = 1;
    loop {
        let refusal = Arc::new(std::sync::Mutex::new(None));
        let initial = mechanism.initial_response(
            &account.username,
            &account.imap.host,
            account.imap.port,
            token.expose(),
        );
        let sasl = Sasl { mechanism, initial: Some(initial), refusal: refusal.clone() };
        let (e, back) =
            match tokio::time::timeout(COMMAND_TIMEOUT, client.authenticate(mechanism.name(), sasl)).await {
                Ok(Ok(session)) => return Ok(session),
                Ok(Err(failed)) => failed,
                Err(_) => return Err(ImapError::Timeout(COMMAND_TIMEOUT)),
            };
        let refusal: Option<Refusal> = refusal.lock().ok().and_then(|mut r| r.take());
        let reason = match &refusal {
            Some(refusal) => format!("{refusal}; {e}"),
            None => e.to_string(),
        };
        let next = match e {
            async_imap::error::Error::No(_) => {
                source.after_rejection(&token, attempt, refusal.as_ref()).await.map_err(ImapError::OAuth)?
            }
            _ => None,
        };
        let Some(next) = next else {
            return Err(ImapError::Login { user: account.username.clone(), reason });
        };
        token = next;
        client = back;
        attempt += 1;
    }
}

/// The client's side of an OAuth2 SASL exchange: the initial response,
/// then, if the server refuses, its error challenge is kept and answered.
struct Sasl {
    mechanism: Mechanism,
    initial: Option<Vec<u8>>,
    refusal: Arc<std::sync::Mutex<Option<Refusal>>>,
}

impl async_imap::Authenticator for Sasl {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if let Some(initial) = self.initial.take() {
            return initial;
        }
        if let Ok(mut refusal) = self.refusal.lock() {
            *refusal = Refusal::parse(challenge).or(Some(Refusal { status: None, scope: None }));
        }
        self.mechanism.error_acknowledgement().to_vec()
    }
}

/// What the caller of [`watch`] wants after an event. A plain `bool` says
/// go on (`true`) or stop (`false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
    /// The mail of this event could not be taken (the caller reported why):
    /// it goes to the quarantine folder, and the watch goes on.
    SetAside,
}

impl From<bool> for Flow {
    fn from(go: bool) -> Flow {
        if go { Flow::Go } else { Flow::Stop }
    }
}

/// Watches until `on_event` asks to stop (returns `false` or
/// [`Flow::Stop`]) or the future is dropped. `on_event` runs on the watcher's task and should be quick (a
/// database write, a message to the UI); a mail is moved out of the inbox
/// only after `on_event` has returned for it, so what it records first is
/// never lost. `resume` is updated as mails are handed over.
pub async fn watch<R: Into<Flow>>(
    config: &WatchConfig,
    resume: &mut Resume,
    mut on_event: impl FnMut(WatchEvent) -> R + Send,
) -> ImapError {
    let mut on_event = move |event| on_event(event).into();
    let mut backoff = Duration::from_millis(250);
    loop {
        let error = match run_session(config, resume, &mut on_event).await {
            Err(ImapError::Stopped) => return ImapError::Stopped,
            Err(e) => e,
            Ok(()) => return ImapError::Stopped,
        };
        // Login and certificate problems do not fix themselves quickly, but
        // are retried all the same (slowly): the server may be restarting.
        let retry_in = jitter(backoff);
        let needs_sign_in = error.needs_sign_in();
        if on_event(WatchEvent::Disconnected { reason: error.to_string(), retry_in, needs_sign_in })
            == Flow::Stop
        {
            return error;
        }
        tokio::time::sleep(retry_in).await;
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// `base` ± 25 %, from the OS-seeded generator.
fn jitter(base: Duration) -> Duration {
    let spread = base.as_millis() as u64 / 2 + 1;
    let offset = rand::random_range(0..spread);
    base - base / 4 + Duration::from_millis(offset)
}

async fn run_session(
    config: &WatchConfig,
    resume: &mut Resume,
    on_event: &mut (impl FnMut(WatchEvent) -> Flow + Send),
) -> Result<(), ImapError> {
    let mut session = connect_with(&config.account, &config.login).await?;
    let idle_supported = timed(session.capabilities()).await?.has_str("IDLE");
    let use_idle = idle_supported && !config.force_polling;
    let mailbox = timed(session.select(&config.folder)).await?;
    let uid_validity = mailbox.uid_validity.unwrap_or(0);
    if resume.uid_validity != uid_validity {
        if resume.uid_validity != 0
            && on_event(WatchEvent::UidValidityChanged { old: resume.uid_validity, new: uid_validity })
                == Flow::Stop
        {
            return Err(ImapError::Stopped);
        }
        *resume = Resume { uid_validity, last_uid: 0 };
    }
    if on_event(WatchEvent::Connected { uid_validity, idle: use_idle }) == Flow::Stop {
        return Err(ImapError::Stopped);
    }
    for folder in [&config.mailpay_folder, &config.quarantine_folder].into_iter().flatten() {
        // Exists already on every run but the first; that error is fine.
        let _ = timed(session.create(folder)).await;
    }
    let mut look = true;
    loop {
        if look {
            fetch_new(&mut session, config, resume, on_event).await?;
        }
        // Mail that arrived while the session was busy was announced in the
        // answer to a FETCH or MOVE (or to a NOOP), and the server will not
        // announce it again in IDLE: look for it now.
        if announced(&mut session) {
            look = true;
            continue;
        }
        if look && on_event(WatchEvent::Idle { resume: *resume }) == Flow::Stop {
            let _ = timed(session.logout()).await;
            return Err(ImapError::Stopped);
        }
        look = if let Some(pace) = config.expecting.pace(config.eager_poll) {
            // An answer is due: ask rather than wait for IDLE's announcement.
            tokio::time::sleep(pace).await;
            timed(session.noop()).await?;
            false
        } else if use_idle {
            session = idle(session, config).await?;
            true
        } else {
            tokio::time::sleep(config.poll_interval).await;
            timed(session.noop()).await?;
            true
        };
    }
}

/// Whether the server announced new mail since the last look.
fn announced(session: &mut Session<Stream>) -> bool {
    let mut announced = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        announced |= matches!(response, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
    }
    announced
}

/// One IDLE: until the server reports a change, the renewal time passes,
/// or a window of [`Expecting`] opens.
async fn idle(session: Session<Stream>, config: &WatchConfig) -> Result<Session<Stream>, ImapError> {
    let mut idle = session.idle();
    timed(idle.init()).await?;
    let (response, interrupted) = {
        let (wait, stop) = idle.wait_with_timeout(config.idle_renewal);
        let mut stop = Some(stop);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                response = &mut wait => break (response?, stop.is_none()),
                // Dropping the stop source ends the wait.
                () = config.expecting.opened(), if stop.is_some() => stop = None,
            }
        }
    };
    let session = timed(idle.done()).await?;
    if response == IdleResponse::ManualInterrupt && !interrupted {
        // Nobody interrupted: the server closed the stream.
        return Err(ImapError::Protocol("the server ended the IDLE connection".into()));
    }
    Ok(session)
}

/// Hands over every message above `resume.last_uid`, oldest first.
async fn fetch_new(
    session: &mut Session<Stream>,
    config: &WatchConfig,
    resume: &mut Resume,
    on_event: &mut (impl FnMut(WatchEvent) -> Flow + Send),
) -> Result<(), ImapError> {
    let query = format!("UID {}:*", resume.last_uid.saturating_add(1));
    let mut uids: Vec<u32> =
        timed(session.uid_search(&query)).await?.into_iter().filter(|u| *u > resume.last_uid).collect();
    uids.sort_unstable();
    for uid in uids {
        // One byte past the limit tells a mail that is too large, and no
        // more of it is ever held.
        let raw = {
            let items = format!("(UID BODY.PEEK[]<0.{}>)", MAX_MAIL_BYTES + 1);
            let stream = timed(session.uid_fetch(uid.to_string(), &items)).await?;
            let fetches: Vec<_> = timed(stream.try_collect::<Vec<_>>()).await?;
            fetches.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body().map(<[u8]>::to_vec))
        };
        let Some(mut raw) = raw else {
            // Expunged between SEARCH and FETCH.
            resume.last_uid = uid;
            continue;
        };
        let received = if raw.len() > MAX_MAIL_BYTES {
            raw.truncate(KEPT_OF_TOO_LARGE);
            let why = ParseError::TooLarge(MAX_MAIL_BYTES + 1);
            (config.dedicated || claims_mailpay(&raw)).then_some(Received::Invalid(why))
        } else {
            Received::of(&raw, config.dedicated)
        };
        if let Some(received) = received {
            let at = Resume { uid_validity: resume.uid_validity, last_uid: uid };
            let folder = match &received {
                Received::MailPay(_) => config.mailpay_folder.as_ref(),
                Received::Invalid(_) => config.quarantine_folder.as_ref(),
                Received::Bounce(_) => None,
            };
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                on_event(WatchEvent::Mail { resume: at, raw: raw.clone(), received })
            }));
            let folder = match handled {
                Ok(Flow::Go) => folder,
                Ok(Flow::Stop) => return Err(ImapError::Stopped),
                Ok(Flow::SetAside) => config.quarantine_folder.as_ref(),
                Err(panic) => {
                    // Told once more, as a mail that cannot be handled; if
                    // that fails too, the mail is set aside all the same.
                    let why =
                        ParseError::Failed(format!("handling it failed: {}", panic_text(panic.as_ref())));
                    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        on_event(WatchEvent::Mail { resume: at, raw, received: Received::Invalid(why) })
                    }));
                    if let Ok(Flow::Stop) = told {
                        return Err(ImapError::Stopped);
                    }
                    config.quarantine_folder.as_ref()
                }
            };
            if let Some(folder) = folder {
                timed(session.uid_mv(uid.to_string(), folder)).await?;
            }
        }
        resume.last_uid = uid;
    }
    Ok(())
}

impl Received {
    /// What a mail is, with a panic inside the parsers caught: a mail is
    /// one of MailPay's when it is a bounce, valid MailPay, or claims to be
    /// MailPay (`None`: none of MailPay's business). One that cannot be
    /// read (past a limit, or failing inside the parser) is `Invalid` in a
    /// `dedicated` mailbox or when it claims to be MailPay, and left alone
    /// in a person's inbox otherwise.
    pub fn of(raw: &[u8], dedicated: bool) -> Option<Received> {
        // A bounce carries the mail it returns, MailPay blocks and all: it is
        // read as a bounce first, never as that mail.
        let read = std::panic::catch_unwind(|| match bounce::parse(raw) {
            Ok(bounce) => Ok(Received::Bounce(Box::new(bounce))),
            Err(_) => parse::parse(raw).map(|mail| Received::MailPay(Box::new(mail))),
        });
        let set_aside = |why| (dedicated || claims_mailpay(raw)).then_some(Received::Invalid(why));
        match read {
            Ok(Ok(received)) => Some(received),
            Ok(Err(ParseError::NotMailPay | ParseError::NotAMail)) => None,
            Ok(Err(e)) if e.is_limit() => set_aside(e),
            Ok(Err(e)) => Some(Received::Invalid(e)),
            Err(panic) => {
                set_aside(ParseError::Failed(format!("reading it failed: {}", panic_text(panic.as_ref()))))
            }
        }
    }
}

/// Whether the mail says it is MailPay: a MailPay header or a block edge
/// anywhere in its bytes (one pass, no parsing).
fn claims_mailpay(raw: &[u8]) -> bool {
    const MARKS: [&[u8]; 3] = [b"mailpay-version:", b"mailpay-kind:", b"-----begin mailpay "];
    MARKS.iter().any(|mark| raw.windows(mark.len()).any(|w| w.eq_ignore_ascii_case(mark)))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a defect in MailPay".to_string())
}
