//! What the desktop wallet does away from the UI thread: thin adapters
//! from the app's messages to the wallet ([`crate::wallet::Wallet`]), which
//! every front end drives, plus what only the app needs (its accounts and
//! sessions, the address book, settings, the history export). Every call
//! is `async`: disk work (SQLite, the keyring, files) runs on tokio's
//! blocking pool and the network on the runtime. Screens never call these
//! directly: the app turns them into `Task`s.

use std::path::PathBuf;

use crate::bridge::ThroughThunderbird;
use crate::clock;
use crate::config::{Config, ConfigError};
use crate::demo::MailLoop;
use crate::mail::account::{Account, Auth, Route};
use crate::mail::login::{Login, LoginError};
use crate::mail::smtp::SendError;
use crate::oauth::{Grant, OAuthError, Provider, SignIn, SignInCanceller};
use crate::paths::{PathError, Paths};
use crate::protocol::payment::State;
use crate::protocol::{EmailAddress, Kind, OrderId, OrderTerms, Timestamp};
use crate::secrets::{Keyring, SecretError};
use crate::store::StoreError;
use crate::store::book::{Bank, Merchant, Setting};
use crate::store::history::{Entry, Page, Query};
use crate::store::overview::OverviewQuery;
use crate::ui::screen::overview;
use crate::wallet::{self, MailServers, NewPayment, Sent, Transport, WalletError};

/// The wallet's files and store, shared by every task.
pub use crate::wallet::Wallet as Home;

/// Why something the wallet tried did not work, said so the user can act.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Wallet(#[from] WalletError),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("set up your mail account first (Settings → Account)")]
    NoAccount,
    #[error(
        "cannot send from {0}: it is not an account of this wallet now, or the keyring did not give its password; set it up again in Settings"
    )]
    NoAccountFor(EmailAddress),
    #[error("the bank's age key: {0}")]
    BankKey(String),
    #[error("{0}")]
    Login(String),
    #[error("{0}")]
    Autostart(#[from] crate::ui::background::autostart::AutostartError),
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| WalletError::Join(e.to_string()))?
}

/// A mail account with what carries its mails: its own servers (the
/// password from the keyring), Thunderbird (through the wallet's host,
/// no password), or the demo's loop.
#[derive(Clone)]
pub struct Session {
    pub account: Account,
    carrier: Carrier,
    /// Which login this is: a new one (after signing in again) restarts
    /// the account's inbox watcher.
    login_id: u64,
}

fn next_login_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Clone)]
enum Carrier {
    Servers(MailServers),
    /// The demo's private mail loop, which replaces SMTP and IMAP.
    Demo(MailLoop),
    /// Thunderbird, which holds the account: its MailPay add-on hands the
    /// host the mails that arrive, and sends the wallet's.
    Thunderbird(ThroughThunderbird),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.carrier {
            Carrier::Thunderbird(_) => write!(f, "Session({}, through Thunderbird)", self.account.address),
            _ => write!(f, "Session({}, login <redacted>)", self.account.address),
        }
    }
}

impl Session {
    pub fn new(account: Account, password: String) -> Session {
        Session::with_login(account, Login::password(password))
    }

    /// The account's own servers, logged in to with `login` (its password
    /// or its OAuth2 sign-in).
    pub fn with_login(account: Account, login: Login) -> Session {
        Session {
            carrier: Carrier::Servers(MailServers::with_login(account.clone(), login)),
            account,
            login_id: next_login_id(),
        }
    }

    /// An account whose mails go through Thunderbird, for the wallet in
    /// `paths` (whose host Thunderbird starts).
    pub fn through_thunderbird(account: Account, paths: &Paths) -> Session {
        Session { account, carrier: Carrier::Thunderbird(ThroughThunderbird::new(paths)), login_id: 0 }
    }

    /// The demo's orderer, sending and receiving through the demo loop.
    pub fn demo(mail: MailLoop) -> Session {
        Session { account: Account::guess(mail.orderer().clone()), carrier: Carrier::Demo(mail), login_id: 0 }
    }

    /// Which login this is (see the field).
    pub fn login_id(&self) -> u64 {
        self.login_id
    }

    pub fn demo_loop(&self) -> Option<&MailLoop> {
        match &self.carrier {
            Carrier::Demo(mail) => Some(mail),
            _ => None,
        }
    }

    /// The account's servers (`None` in the demo and through Thunderbird).
    pub fn servers(&self) -> Option<&MailServers> {
        match &self.carrier {
            Carrier::Servers(servers) => Some(servers),
            _ => None,
        }
    }

    /// The way to Thunderbird's host, when the account goes through it.
    pub fn thunderbird(&self) -> Option<&ThroughThunderbird> {
        match &self.carrier {
            Carrier::Thunderbird(through) => Some(through),
            _ => None,
        }
    }

    pub fn transport(&self) -> &dyn Transport {
        match &self.carrier {
            Carrier::Servers(servers) => servers,
            Carrier::Demo(mail) => mail,
            Carrier::Thunderbird(through) => through,
        }
    }
}

/// Everything the wallet needs at start.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub home: Home,
    pub config: Config,
    /// The accounts whose passwords are in the keyring, and those that go
    /// through Thunderbird, in the config's order.
    pub sessions: Vec<Session>,
    /// Why an account's password could not be read, if it could not (an
    /// account through Thunderbird has none to read).
    pub keyring_problem: Option<String>,
    pub book: Book,
    pub language: Option<String>,
    /// The orderer's initials for board records, once set in Settings.
    pub initials: Option<String>,
    /// The public half of the wallet's key (`ed25519:…`), which signs its
    /// cheques and board records, for the user to register at the bank;
    /// or why it could not be read.
    pub wallet_key: Result<String, String>,
    pub background: Background,
}

/// Background mode as the user set it in Settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Background {
    /// Closing the window quits the wallet (else it keeps watching).
    pub quit_on_close: bool,
    /// The wallet starts, without its window, when the user logs in.
    pub start_at_login: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    pub banks: Vec<Bank>,
    pub merchants: Vec<Merchant>,
}

/// Opens the wallet in `paths` (the platform's folders, or `MAILPAY_HOME`).
pub async fn load(paths: Paths) -> Result<Loaded, BackendError> {
    blocking(move || {
        let config = Config::load(&paths.config_file())?;
        let home = Home::open(paths)?;
        let (book, language, initials, quit_on_close) = home.with_blocking(|store| {
            let book = Book { banks: store.banks()?, merchants: store.merchants()? };
            Ok::<_, BackendError>((
                book,
                store.setting(Setting::Language)?,
                store.setting(Setting::Initials)?,
                store.setting(Setting::QuitOnClose)?,
            ))
        })?;
        let background = Background {
            quit_on_close: quit_on_close.as_deref() == Some("yes"),
            start_at_login: crate::ui::background::autostart::enabled(),
        };
        let mut sessions = Vec::new();
        let mut problems = Vec::new();
        // The keyring is opened once (the Secret Service is a D-Bus
        // session), and only for accounts that keep a secret in it: a
        // password, or an OAuth2 sign-in.
        let mut keyring = None;
        for account in &config.accounts {
            if account.route == Route::Thunderbird {
                sessions.push(Session::through_thunderbird(account.clone(), home.paths()));
                continue;
            }
            let keyring = keyring.get_or_insert_with(Keyring::system);
            let login = match keyring {
                Ok(keyring) => Login::kept_in(keyring, account),
                Err(e) => Err(LoginError::from(e.clone())),
            };
            match login {
                Ok(login) => sessions.push(Session::with_login(account.clone(), login)),
                Err(e) => problems.push(e.to_string()),
            }
        }
        let keyring_problem = (!problems.is_empty()).then(|| problems.join("; "));
        let wallet_key = crate::keys::load_or_create_key(&crate::keys::wallet_key_path(home.paths()))
            .map(|k| k.public().to_string())
            .map_err(|e| e.to_string());
        Ok(Loaded {
            home,
            config,
            sessions,
            keyring_problem,
            book,
            language,
            initials,
            wallet_key,
            background,
        })
    })
    .await
}

/// Starts the demo and opens its throw-away wallet as the orderer's.
pub async fn start_demo() -> Result<Loaded, String> {
    let demo = crate::demo::start().await.map_err(|e| e.to_string())?;
    let mut loaded = load(demo.paths.clone()).await.map_err(|e| e.to_string())?;
    let session = Session::demo(demo.mail);
    loaded.config.accounts = vec![session.account.clone()];
    loaded.sessions = vec![session];
    loaded.keyring_problem = None;
    Ok(loaded)
}

/// Stores the password in the keyring and the account in the config file.
pub async fn save_account(
    home: Home,
    account: Account,
    password: String,
) -> Result<(Config, Session), BackendError> {
    blocking(move || {
        let added = wallet::accounts::add(home.paths(), account.clone(), &password)?;
        Ok((added.config, Session::new(account, password)))
    })
    .await
}

/// Keeps an account whose mails go through Thunderbird: the config file
/// only, no password. An account of that address that went through its
/// own servers before no longer needs its password, which leaves the
/// keyring (if the keyring cannot be reached, it stays there, unused).
pub async fn save_account_through_thunderbird(
    home: Home,
    mut account: Account,
) -> Result<(Config, Session), BackendError> {
    account.route = Route::Thunderbird;
    blocking(move || {
        let before = Config::load(&home.paths().config_file())?;
        let had_password =
            before.accounts.iter().any(|a| a.address == account.address && a.route == Route::Servers);
        let config = wallet::accounts::add_through_thunderbird(home.paths(), account.clone())?;
        if had_password && let Ok(keyring) = Keyring::system() {
            let _ = keyring.delete(account.address.as_str());
        }
        Ok((config, Session::through_thunderbird(account, home.paths())))
    })
    .await
}

/// Takes an account out of the config file and its password out of the
/// keyring; its payments stay in the wallet.
pub async fn remove_account(home: Home, address: EmailAddress) -> Result<Config, BackendError> {
    blocking(move || Ok(wallet::accounts::remove(home.paths(), &address)?)).await
}

/// The session of the account that placed `order` (its orderer).
async fn session_for(home: &Home, sessions: &[Session], order: &OrderId) -> Result<Session, BackendError> {
    let o = order.clone();
    let (terms, _) = home.with(move |s| Ok::<_, BackendError>(s.load(&o)?)).await?;
    sessions
        .iter()
        .find(|s| s.account.address == terms.orderer)
        .cloned()
        .ok_or(BackendError::NoAccountFor(terms.orderer))
}

pub use crate::wallet::accounts::ConnectionReport;

pub async fn test_connection(account: Account, password: String) -> ConnectionReport {
    wallet::accounts::test(&account, &password).await
}

/// Tests an account with what the keyring keeps for it (its password or
/// its OAuth2 sign-in).
pub async fn test_saved(account: Account) -> ConnectionReport {
    let for_keyring = account.clone();
    match blocking(move || Login::from_keyring(&for_keyring).map_err(|e| BackendError::Login(e.to_string())))
        .await
    {
        Ok(login) => wallet::accounts::test_login(&account, &login).await,
        Err(e) => ConnectionReport { smtp: Err(e.to_string()), imap: Err(e.to_string()) },
    }
}

/// What a sign-in with the provider tells the app as it goes.
#[derive(Debug, Clone)]
pub enum SignInEvent {
    /// The browser is (or should be) on the provider's page; `browser`
    /// says why none could be started, and the URL is to be opened by hand.
    Waiting { url: String, browser: Option<String>, canceller: SignInCanceller },
    /// It did not work (declined, timed out, cancelled…).
    Failed(OAuthError),
    /// Signed in: the grant is in the keyring and the account in the
    /// configuration, or why it could not be kept.
    Saved(Box<Result<(Config, Session), BackendError>>),
}

/// Signs `account` (whose `oauth2` settings name the provider) in with
/// `provider` in the browser, and keeps the grant in the keyring and the
/// account (auth OAuth2) in the configuration file.
pub fn sign_in(
    home: Home,
    mut account: Account,
    provider: Provider,
) -> impl iced::futures::Stream<Item = SignInEvent> + Send + use<> {
    use iced::futures::SinkExt;
    account.auth = Auth::OAuth2;
    iced::stream::channel(4, async move |mut output: iced::futures::channel::mpsc::Sender<SignInEvent>| {
        let sign_in = match SignIn::start(provider, account.address.as_str()).await {
            Ok(sign_in) => sign_in,
            Err(e) => {
                let _ = output.send(SignInEvent::Failed(e)).await;
                return;
            }
        };
        let browser = sign_in.open_browser();
        let waiting = SignInEvent::Waiting {
            url: sign_in.url().to_string(),
            browser: browser.err(),
            canceller: sign_in.canceller(),
        };
        if output.send(waiting).await.is_err() {
            return;
        }
        let event = match sign_in.finish().await {
            Ok(grant) => SignInEvent::Saved(Box::new(save_oauth_account(home, account, grant).await)),
            Err(e) => SignInEvent::Failed(e),
        };
        let _ = output.send(event).await;
    })
}

async fn save_oauth_account(
    home: Home,
    account: Account,
    grant: Grant,
) -> Result<(Config, Session), BackendError> {
    blocking(move || {
        let added = wallet::accounts::add_oauth(home.paths(), account.clone(), &grant)?;
        let login = Login::from_keyring(&account).map_err(|e| BackendError::Login(e.to_string()))?;
        Ok((added.config, Session::with_login(account, login)))
    })
    .await
}

/// Opens `url` in the system browser (a help page).
pub async fn open_link(url: String) -> Result<(), String> {
    tokio::task::spawn_blocking(move || crate::oauth::browser::open(&url)).await.map_err(|e| e.to_string())?
}

/// Finds `address`'s mail servers (at most about 20 s; never fails).
/// `MAILPAY_NAME_SERVER` (`IP:PORT`) names the DNS server to ask instead
/// of the system's, and `MAILPAY_AUTOCONFIG_CA` a CA (PEM) trusted for the
/// autoconfig servers besides the system's roots, as `mailpay account
/// discover --name-server --ca-file` do (a private network's servers).
pub async fn discover(address: EmailAddress) -> crate::autoconfig::Discovery {
    let options = crate::autoconfig::Options {
        name_server: std::env::var("MAILPAY_NAME_SERVER").ok().and_then(|s| s.trim().parse().ok()),
        ca_file: std::env::var_os("MAILPAY_AUTOCONFIG_CA").map(PathBuf::from),
        ..crate::autoconfig::Options::default()
    };
    crate::autoconfig::discover(&address, &options).await
}

/// The address whose sign-in a send error says is needed, if it does.
pub fn sign_in_needed(e: &SendError) -> Option<String> {
    match e {
        SendError::OAuth(OAuthError::SignInAgain { account } | OAuthError::NoRefreshToken { account })
            if e.needs_sign_in() =>
        {
            Some(account.clone())
        }
        _ if e.needs_sign_in() => Some(String::new()),
        _ => None,
    }
}

pub async fn book(home: Home) -> Result<Book, BackendError> {
    home.with(|s| Ok(Book { banks: s.banks()?, merchants: s.merchants()? })).await
}

pub async fn save_bank(home: Home, bank: Bank) -> Result<Book, BackendError> {
    home.with(move |s| {
        s.save_bank(&bank)?;
        Ok(Book { banks: s.banks()?, merchants: s.merchants()? })
    })
    .await
}

pub async fn save_merchant(home: Home, merchant: Merchant) -> Result<Book, BackendError> {
    home.with(move |s| {
        s.save_merchant(&merchant)?;
        Ok(Book { banks: s.banks()?, merchants: s.merchants()? })
    })
    .await
}

pub async fn set_language(home: Home, code: &'static str) -> Result<(), BackendError> {
    home.with(move |s| Ok(s.set_setting(Setting::Language, code)?)).await
}

/// Keeps the initials put on board records (checked by the caller).
pub async fn set_initials(home: Home, initials: String) -> Result<(), BackendError> {
    home.with(move |s| Ok(s.set_setting(Setting::Initials, &initials)?)).await
}

/// Keeps whether closing the window quits the wallet.
pub async fn set_quit_on_close(home: Home, on: bool) -> Result<(), BackendError> {
    home.with(move |s| Ok(s.set_setting(Setting::QuitOnClose, if on { "yes" } else { "no" })?)).await
}

/// Writes or removes the autostart entry; `Ok(on)` once done.
pub async fn set_start_at_login(on: bool) -> Result<bool, BackendError> {
    blocking(move || Ok(crate::ui::background::autostart::set(on).map(|()| on)?)).await
}

/// What to pay, as the New payment form produced it.
#[derive(Debug, Clone)]
pub struct Order {
    pub terms: OrderTerms,
    /// The bank's age recipient when the claim-2 cheque goes along.
    pub cheque_for: Option<String>,
    pub pre_approved: bool,
}

/// Records the payment and its mails (nothing is sent yet). After this,
/// quitting loses nothing: the mails wait in the outbox.
pub async fn place(home: Home, order: Order) -> Result<OrderId, BackendError> {
    let bank_key = match &order.cheque_for {
        Some(recipient) => Some(recipient.parse().map_err(|e: &str| BackendError::BankKey(e.to_string()))?),
        None => None,
    };
    let id = order.terms.order.clone();
    home.place(NewPayment { terms: order.terms, bank_key, pre_approved: order.pre_approved }).await?;
    Ok(id)
}

/// The mails of a payment waiting to go, as (kind, recipient).
pub async fn pending(home: Home, order: OrderId) -> Result<Vec<(Kind, EmailAddress)>, BackendError> {
    home.with(move |s| Ok(wallet::queued(s, &order)?.into_iter().map(|(_, o)| (o.kind, o.to)).collect()))
        .await
}

/// Sends every queued mail of `order` at once, from the account that
/// placed it (posting its board record first when due), and records the
/// outcome.
pub async fn dispatch(home: Home, sessions: Vec<Session>, order: OrderId) -> Result<Vec<Sent>, BackendError> {
    let session = session_for(&home, &sessions, &order).await?;
    Ok(home.dispatch(session.transport(), &order).await?)
}

/// A retry after a failure: moves the payment back to where it stopped
/// (only mails not accepted stay queued), then dispatches.
pub async fn retry(home: Home, sessions: Vec<Session>, order: OrderId) -> Result<Vec<Sent>, BackendError> {
    let session = session_for(&home, &sessions, &order).await?;
    Ok(home.retry(session.transport(), &order).await?)
}

/// The orderer's answer to a confirmation: OK + A, or a decline; queued,
/// then sent.
pub async fn answer(
    home: Home,
    sessions: Vec<Session>,
    order: OrderId,
    approve: bool,
) -> Result<Vec<Sent>, BackendError> {
    let session = session_for(&home, &sessions, &order).await?;
    Ok(home.answer(session.transport(), &order, approve).await?)
}

/// The clock: every open payment past its expiry becomes `expired`
/// (the state machine decides); returns the orders that did.
pub async fn expire_overdue(home: Home, now: Timestamp) -> Result<Vec<OrderId>, BackendError> {
    Ok(home.expire_overdue(now).await?)
}

pub async fn payment(home: Home, order: OrderId) -> Result<(OrderTerms, State), BackendError> {
    home.with(move |s| Ok(s.load(&order)?)).await
}

pub async fn history(home: Home, query: Query) -> Result<Page, BackendError> {
    home.with(move |s| Ok(s.history(&query)?)).await
}

pub async fn timeline(home: Home, order: OrderId) -> Result<Vec<Entry>, BackendError> {
    home.with(move |s| Ok(s.timeline(&order)?)).await
}

/// The spending overview `request` asks for, seen now in `zone`: in its
/// currency if it was ever spent in, else in the first one that was.
pub async fn overview(
    home: Home,
    request: overview::Request,
    zone: jiff::tz::TimeZone,
) -> Result<overview::Loaded, BackendError> {
    let now = clock::now();
    home.with(move |s| {
        let currencies = s.spending_currencies()?;
        let currency =
            request.currency.filter(|c| currencies.contains(c)).or_else(|| currencies.first().copied());
        let overview =
            currency.map(|c| s.overview(&request.period.query(c, now, &zone), &zone)).transpose()?;
        Ok(overview::Loaded { currencies, overview })
    })
    .await
}

/// Whether a mail that did not leave waits in the outbox for the mail
/// client that sends for the wallet (Thunderbird closed, or unable to send
/// for now): it leaves on its own once the client is back, so this is
/// news, not a failure.
pub fn waits_in_outbox(e: &SendError) -> bool {
    matches!(e, SendError::MailClient { temporary: true, .. })
}

/// The user's downloads folder, if there is one.
pub fn downloads() -> Option<PathBuf> {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(std::path::Path::to_path_buf))
        .filter(|d| d.is_dir())
}

/// The name suggested for an export of the history made now.
/// The file name the save dialog suggests for an export of the payments
/// (`spending` false) or of the spending overview: `mailpay-history-DAY.csv`,
/// `mailpay-spending-DAY.csv`.
pub fn export_name(spending: bool) -> String {
    let day = clock::now().to_string();
    format!("mailpay-{}-{}.csv", export_kind(spending), day.get(..10).unwrap_or(&day))
}

fn export_kind(spending: bool) -> &'static str {
    if spending { "spending" } else { "history" }
}

/// Where an export goes: the file the user chose, or else a new file in
/// the user's downloads folder (or the wallet's data folder).
fn export_path(home: &Home, to: Option<PathBuf>, spending: bool) -> PathBuf {
    to.unwrap_or_else(|| {
        let dir = downloads().unwrap_or_else(|| home.paths().data_dir.clone());
        dir.join(format!("mailpay-{}-{}.csv", export_kind(spending), clock::now().unix()))
    })
}

/// Exports the history matching `query` to `to` (the file the user chose),
/// or else into the user's downloads folder (or the wallet's data folder),
/// and says where and how many payments.
pub async fn export(home: Home, query: Query, to: Option<PathBuf>) -> Result<(PathBuf, usize), BackendError> {
    let path = export_path(&home, to, false);
    home.with(move |s| {
        let n = s.export_csv(&query, &path)?;
        Ok((path, n))
    })
    .await
}

/// Exports the spending overview of `query` like [`export`] exports the
/// history: to `to`, or else into the downloads folder; says where and
/// how many rows.
pub async fn export_overview(
    home: Home,
    query: OverviewQuery,
    zone: jiff::tz::TimeZone,
    to: Option<PathBuf>,
) -> Result<(PathBuf, usize), BackendError> {
    let path = export_path(&home, to, true);
    home.with(move |s| {
        let n = s.export_overview_csv(&query, &zone, &path)?;
        Ok((path, n))
    })
    .await
}
