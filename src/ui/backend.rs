//! What the desktop wallet does away from the UI thread: every call here
//! is `async` and runs disk work (SQLite, the keyring, files) on tokio's
//! blocking pool and network work (SMTP) on the runtime. Screens never
//! call these directly: the app turns them into `Task`s.
//!
//! The store sits behind a mutex that is only ever locked inside
//! `spawn_blocking`, never across the network: a dispatch reads the
//! outbox, unlocks, sends, and locks again to record what the server said.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::clock;
use crate::config::{Config, ConfigError};
use crate::mail::account::Account;
use crate::mail::expecting::{ANSWER_WINDOW, Expecting};
use crate::mail::smtp::{SendError, Smtp};
use crate::paths::{PathError, Paths};
use crate::protocol::board::BoardRecord;
use crate::protocol::cheque::Cheque;
use crate::protocol::compose;
use crate::protocol::message::WalletMail;
use crate::protocol::payment::{Event, State};
use crate::protocol::{EmailAddress, OrderId, OrderTerms, Timestamp};
use crate::secrets::{Keyring, SecretError};
use crate::store::book::{Bank, Merchant};
use crate::store::history::{Entry, Page, Query};
use crate::store::{Store, StoreError};
use crate::wallet::{self, Sent, WalletError};

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
    #[error("{0}")]
    Send(#[from] SendError),
    #[error("set up your mail account first (Settings → Account)")]
    NoAccount,
    #[error(
        "cannot send from {0}: it is not an account of this wallet now, or the keyring did not give its password; set it up again in Settings"
    )]
    NoAccountFor(EmailAddress),
    #[error("the wallet cheque cannot be made: {0}")]
    Cheque(String),
    #[error("the board record was not posted, so no mail was sent: {0}; Retry posts it again")]
    Board(String),
    #[error("an internal task stopped unexpectedly: {0}")]
    Join(String),
}

/// The wallet's files, shared by every task.
#[derive(Clone)]
pub struct Home {
    pub paths: Paths,
    store: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Home({})", self.paths.data_dir.display())
    }
}

impl Home {
    /// Opens the store under `paths` (blocking: call from a blocking task).
    pub fn open(paths: Paths) -> Result<Home, BackendError> {
        let store = Store::open(&paths.database())?;
        Ok(Home { paths, store: Arc::new(Mutex::new(store)) })
    }

    /// Runs `f` with the store right here, blocking: only for threads of
    /// their own (the inbox watcher), never on the UI's executor.
    pub fn with_blocking<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let mut guard = self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let store = self.store.clone();
        blocking(move || {
            // A panic elsewhere while holding the lock leaves the data as
            // SQLite committed it: carry on with it.
            let mut guard = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| BackendError::Join(e.to_string()))?
}

/// A mail account with its password from the keyring, or the demo's.
#[derive(Clone)]
pub struct Session {
    pub account: Account,
    password: Arc<str>,
    /// The demo's private mail loop, which replaces SMTP and IMAP.
    demo: Option<crate::demo::MailLoop>,
    /// Opened when a mail leaves: the inbox watcher then looks for the
    /// answer eagerly (see `mail::expecting`).
    pub expecting: Expecting,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({}, password <redacted>)", self.account.address)
    }
}

impl Session {
    pub fn new(account: Account, password: String) -> Session {
        Session { account, password: password.into(), demo: None, expecting: Expecting::new() }
    }

    /// The demo's orderer, sending and receiving through the demo loop.
    pub fn demo(mail: crate::demo::MailLoop) -> Session {
        Session {
            account: Account::guess(mail.orderer().clone()),
            password: "".into(),
            demo: Some(mail),
            expecting: Expecting::new(),
        }
    }

    pub fn demo_loop(&self) -> Option<&crate::demo::MailLoop> {
        self.demo.as_ref()
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

/// Everything the wallet needs at start.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub home: Home,
    pub config: Config,
    /// The accounts whose passwords are in the keyring, in the config's
    /// order.
    pub sessions: Vec<Session>,
    /// Why an account's password could not be read, if it could not.
    pub keyring_problem: Option<String>,
    pub book: Book,
    pub language: Option<String>,
    /// The orderer's initials for board records, once set in Settings.
    pub initials: Option<String>,
    /// The public half of the wallet's key (`ed25519:…`), which signs its
    /// cheques and board records, for the user to register at the bank;
    /// or why it could not be read.
    pub wallet_key: Result<String, String>,
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
        let (book, language, initials) = {
            let store = home.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let book = Book { banks: store.banks()?, merchants: store.merchants()? };
            (book, store.setting("language")?, store.setting(INITIALS_SETTING)?)
        };
        let mut sessions = Vec::new();
        let mut problems = Vec::new();
        if !config.accounts.is_empty() {
            // The store is opened once (the Secret Service is a D-Bus session).
            let keyring = Keyring::system();
            for account in &config.accounts {
                match keyring.clone().and_then(|k| k.password(account.address.as_str())) {
                    Ok(password) => sessions.push(Session::new(account.clone(), password)),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        let keyring_problem = (!problems.is_empty()).then(|| problems.join("; "));
        let wallet_key = crate::keys::load_or_create_key(&crate::keys::wallet_key_path(&home.paths))
            .map(|k| k.public().to_string())
            .map_err(|e| e.to_string());
        Ok(Loaded { home, config, sessions, keyring_problem, book, language, initials, wallet_key })
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
        Keyring::system()?.set_password(account.address.as_str(), &password)?;
        let path = home.paths.config_file();
        let mut config = Config::load(&path)?;
        config.upsert(account.clone());
        config.save(&path)?;
        Ok((config, Session::new(account, password)))
    })
    .await
}

/// Takes an account out of the config file and its password out of the
/// keyring; its payments stay in the wallet.
pub async fn remove_account(home: Home, address: EmailAddress) -> Result<Config, BackendError> {
    blocking(move || {
        let path = home.paths.config_file();
        let mut config = Config::load(&path)?;
        config.remove(&address);
        config.save(&path)?;
        Keyring::system()?.delete(address.as_str())?;
        Ok(config)
    })
    .await
}

/// The session of the account that placed `order` (its orderer).
async fn session_for(home: &Home, sessions: &[Session], order: &OrderId) -> Result<Session, BackendError> {
    let o = order.clone();
    let (terms, _) = home.with(move |s| Ok(s.load(&o)?)).await?;
    sessions
        .iter()
        .find(|s| s.account.address == terms.orderer)
        .cloned()
        .ok_or(BackendError::NoAccountFor(terms.orderer))
}

/// The outcome of "Test connection", per server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    pub smtp: Result<(), String>,
    pub imap: Result<(), String>,
}

pub async fn test_connection(account: Account, password: String) -> ConnectionReport {
    let smtp = async {
        let smtp = Smtp::new(&account, &password).map_err(|e| e.to_string())?;
        smtp.test_connection().await.map_err(|e| e.to_string())
    };
    let imap = async {
        let mut session = crate::mail::imap::connect(&account, &password).await.map_err(|e| e.to_string())?;
        let _ = session.logout().await;
        Ok(())
    };
    let (smtp, imap) = tokio::join!(smtp, imap);
    ConnectionReport { smtp, imap }
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
    home.with(move |s| Ok(s.set_setting("language", code)?)).await
}

/// Keeps the initials put on board records (checked by the caller).
pub async fn set_initials(home: Home, initials: String) -> Result<(), BackendError> {
    home.with(move |s| Ok(s.set_setting(INITIALS_SETTING, &initials)?)).await
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
    let key_path = crate::keys::wallet_key_path(&home.paths);
    home.with(move |store| {
        let terms = &order.terms;
        let mut extra = Vec::new();
        if let Some(recipient) = &order.cheque_for {
            let recipient: age::x25519::Recipient = recipient
                .parse()
                .map_err(|e: &str| BackendError::Cheque(format!("the bank's age key: {e}")))?;
            let key = crate::keys::load_or_create_key(&key_path)
                .map_err(|e| BackendError::Cheque(e.to_string()))?;
            let cheque = Cheque {
                order: terms.order.clone(),
                payer: terms.orderer.clone(),
                payee: terms.merchant.clone(),
                amount: terms.amount,
                password: terms.password.clone(),
                issued: terms.created,
            };
            let sealed = cheque.seal(&key, &recipient).map_err(|e| BackendError::Cheque(e.to_string()))?;
            extra.push(compose::wallet(
                &WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed },
                &terms.bank,
            ));
        }
        wallet::place(store, terms, extra, terms.created)?;
        store.set_pre_approved(&terms.order, order.pre_approved)?;
        Ok(terms.order.clone())
    })
    .await
}

/// The mails of a payment waiting to go, as (kind, recipient).
pub async fn pending(home: Home, order: OrderId) -> Result<Vec<(String, String)>, BackendError> {
    home.with(move |s| {
        Ok(wallet::queued(s, &order)?.into_iter().map(|(m, _)| (m.kind, m.recipient)).collect())
    })
    .await
}

/// The wallet setting holding the orderer's initials, put on board records.
pub const INITIALS_SETTING: &str = "initials";

/// Posts the order's record on the merchant's board first when the method
/// needs one (claim 3) and it is not posted yet; a refusal stops the order
/// before any mail leaves (the payment shows why; Retry posts again). An
/// `https://` board is trusted as the account's mail servers are.
async fn post_board_if_due(home: &Home, session: &Session, order: &OrderId) -> Result<(), BackendError> {
    let o = order.clone();
    let due = home
        .with(move |s| {
            let (terms, state) = s.load(&o)?;
            let pending = matches!(state, State::Sending { board_pending: true, .. });
            Ok(pending.then_some((terms, s.setting(INITIALS_SETTING)?)))
        })
        .await?;
    let Some((terms, initials)) = due else { return Ok(()) };
    let posted = match (terms.board.as_deref(), initials) {
        (Some(url), Some(initials)) => {
            match crate::keys::load_or_create_key(&crate::keys::wallet_key_path(&home.paths)) {
                Ok(key) => crate::board::client::Client::trusting(session.account.ca_file.as_deref())
                    .post(url, &BoardRecord::for_order(&terms, &initials, &key))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        (None, _) => Err("the order names no board to post its record on".to_string()),
        (_, None) => Err("your initials for the board record are not set (Settings → Initials)".to_string()),
    };
    let event = match &posted {
        Ok(()) => Event::BoardPosted,
        Err(reason) => Event::BoardFailed { reason: reason.clone() },
    };
    let o = order.clone();
    home.with(move |s| Ok(wallet::act(s, &o, &event, None, false).map(|_| ())?)).await?;
    posted.map_err(BackendError::Board)
}

/// Sends every queued mail of `order` at once, from the account that
/// placed it, and records the outcome.
pub async fn dispatch(home: Home, sessions: Vec<Session>, order: OrderId) -> Result<Vec<Sent>, BackendError> {
    let session = session_for(&home, &sessions, &order).await?;
    post_board_if_due(&home, &session, &order).await?;
    let queued = {
        let order = order.clone();
        home.with(move |s| Ok(wallet::queued(s, &order)?)).await?
    };
    if queued.is_empty() {
        return Ok(Vec::new());
    }
    let outgoing: Vec<_> = queued.iter().map(|(_, o)| o.clone()).collect();
    session.expecting.expect_within(ANSWER_WINDOW);
    let results = match &session.demo {
        Some(mail) => mail.send_all(&outgoing).await,
        None => Smtp::new(&session.account, session.password())?.send_all(&outgoing).await,
    };
    home.with(move |s| Ok(wallet::record_dispatch(s, &order, &queued, &results)?)).await
}

/// A retry after a failure: moves the payment back to where it stopped
/// (only mails not accepted stay queued), then dispatches.
pub async fn retry(home: Home, sessions: Vec<Session>, order: OrderId) -> Result<Vec<Sent>, BackendError> {
    let o = order.clone();
    home.with(move |s| {
        let (_, state) = s.load(&o)?;
        if matches!(state, State::Failed { .. }) {
            wallet::act(s, &o, &Event::Retry, None, false)?;
        }
        Ok(())
    })
    .await?;
    dispatch(home, sessions, order).await
}

/// The orderer's answer to a confirmation: OK + A, or a decline; queued,
/// then sent.
pub async fn answer(
    home: Home,
    sessions: Vec<Session>,
    order: OrderId,
    approve: bool,
) -> Result<Vec<Sent>, BackendError> {
    let o = order.clone();
    home.with(move |s| {
        let event = if approve { Event::UserApprove } else { Event::UserDecline };
        wallet::act(s, &o, &event, None, false)?;
        Ok(())
    })
    .await?;
    dispatch(home, sessions, order).await
}

/// The clock: every open payment past its expiry becomes `expired`
/// (the state machine decides); returns the orders that did.
pub async fn expire_overdue(home: Home, now: Timestamp) -> Result<Vec<OrderId>, BackendError> {
    home.with(move |s| {
        let mut expired = Vec::new();
        for order in s.open_orders()? {
            let (state, _) = wallet::act(s, &order, &Event::Tick(now), None, false)?;
            if state == State::Expired {
                expired.push(order);
            }
        }
        Ok(expired)
    })
    .await
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

/// The user's downloads folder, if there is one.
pub fn downloads() -> Option<PathBuf> {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(std::path::Path::to_path_buf))
        .filter(|d| d.is_dir())
}

/// The name suggested for an export of the history made now.
pub fn export_name() -> String {
    let day = clock::now().to_string();
    format!("mailpay-history-{}.csv", day.get(..10).unwrap_or(&day))
}

/// Exports the history matching `query` to `to` (the file the user chose),
/// or else into the user's downloads folder (or the wallet's data folder),
/// and says where and how many payments.
pub async fn export(home: Home, query: Query, to: Option<PathBuf>) -> Result<(PathBuf, usize), BackendError> {
    let path = to.unwrap_or_else(|| {
        let dir = downloads().unwrap_or_else(|| home.paths.data_dir.clone());
        dir.join(format!("mailpay-history-{}.csv", clock::now().unix()))
    });
    home.with(move |s| {
        let n = s.export_csv(&query, &path)?;
        Ok((path, n))
    })
    .await
}
