//! The merchant agent's loop: watch the shop's inbox, bill each order to
//! the shop's bank, ship on `settled`; and serve the bulletin board.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::engine::{MerchantSide, Pricing};
use super::shop::{Shop, ShopError};
use crate::board::log::{BoardLog, LogError};
use crate::board::server::{self, Board, Limits};
use crate::mail::account::Account;
use crate::mail::expecting::ANSWER_WINDOW;
use crate::mail::held_back;
use crate::mail::imap::{self, ImapError, Received, WatchConfig, WatchEvent};
use crate::mail::smtp::{SendError, Smtp};
use crate::protocol::EmailAddress;
use crate::protocol::board::CheckedRecord;
use crate::protocol::compose::Outgoing;
use crate::protocol::message::Body;
use crate::protocol::parse::Incoming;
use crate::task::AbortOnDrop;
use crate::wallet::now;

#[derive(Clone)]
pub struct DaemonConfig {
    pub account: Account,
    pub password: String,
    /// The bank the shop is paid through: bills go there.
    pub bank: EmailAddress,
    pub pricing: Pricing,
    pub shop_db: PathBuf,
    pub board_db: PathBuf,
    pub board_limits: Limits,
    /// Serves the board over HTTPS with this; plain HTTP without.
    pub board_tls: Option<TlsAcceptor>,
    /// How often bills whose sending failed (or that bounced) are tried again.
    pub retry_every: std::time::Duration,
}

impl std::fmt::Debug for DaemonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonConfig")
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("bank", &self.bank)
            .field("pricing", &self.pricing)
            .field("shop_db", &self.shop_db)
            .field("board_db", &self.board_db)
            .field("board_tls", &self.board_tls.is_some())
            .finish()
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Shop(#[from] ShopError),
    #[error("{0}")]
    Board(#[from] LogError),
    #[error("{0}")]
    Smtp(#[from] SendError),
    #[error("{0}")]
    Imap(#[from] ImapError),
}

fn say(line: &str) {
    eprintln!("mailpay-merchant: {line}");
}

struct Shared {
    shop: Mutex<Shop>,
    smtp: Smtp,
}

impl Shared {
    /// The shop book, also after a panic while it was held: the watcher
    /// caught that panic and set the mail aside, and the book's open
    /// transaction was rolled back when the panic dropped it.
    fn shop(&self) -> std::sync::MutexGuard<'_, Shop> {
        self.shop.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs the agent; with a listener, also the board on it. Returns why it stopped.
pub async fn run(config: DaemonConfig, board: Option<TcpListener>) -> DaemonError {
    let shared = match start(&config) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut board_task = None;
    // The shop reads its own board (a second connection to the log the
    // server appends to) to check orders against it.
    let mut own_board = None;
    if let Some(listener) = board {
        let (reader, log) = match BoardLog::open(&config.board_db).and_then(|log| Ok((log.reader()?, log))) {
            Ok(both) => both,
            Err(e) => return e.into(),
        };
        own_board = Some(Mutex::new(reader));
        if let Ok(addr) = listener.local_addr() {
            let scheme = if config.board_tls.is_some() { "https" } else { "http" };
            say(&format!("board at {scheme}://{addr}/"));
        }
        let title = format!("Orders at {}", config.account.address);
        board_task = Some(AbortOnDrop(tokio::spawn(server::serve(
            listener,
            Board::new(log, config.board_limits, title),
            config.board_tls.clone(),
        ))));
    }
    let address = config.account.address.to_string();
    let mut watch = WatchConfig::new(config.account.clone(), config.password.clone());
    // The agent's mailbox is MailPay's alone: whatever cannot be read is set aside.
    watch.dedicated = true;
    // Business comes in bursts: after each mail, answers are looked for
    // eagerly for a while (see mail::expecting).
    let expecting = watch.expecting.clone();
    let folder = watch.folder.clone();
    let mut resume = shared.shop().resume(&address, &folder).unwrap_or_default();
    if let Ok(unsent) = shared.shop().unsent(false, now()) {
        send(&shared, unsent);
    }
    let _retry = AbortOnDrop(tokio::spawn(retry_failed(shared.clone(), config.retry_every)));
    let _board = board_task;
    let side_address = config.account.address.clone();
    let error = imap::watch(&watch, &mut resume, |event| {
        match event {
            WatchEvent::Connected { uid_validity, idle } => {
                say(&format!(
                    "watching {address} (UIDVALIDITY {uid_validity}, {})",
                    if idle { "IDLE" } else { "polling" }
                ));
            }
            WatchEvent::UidValidityChanged { old, new } => {
                say(&format!("{folder} was recreated ({old} -> {new})"))
            }
            WatchEvent::Disconnected { reason, retry_in } => {
                say(&format!("disconnected: {reason}; retrying in {retry_in:.1?}"))
            }
            WatchEvent::Idle { resume: at } => {
                let _ = shared.shop().save_resume(&address, &folder, at);
            }
            WatchEvent::Mail { resume: at, raw, received } => {
                expecting.expect_within(ANSWER_WINDOW);
                let side =
                    MerchantSide { address: &side_address, bank: &config.bank, pricing: &config.pricing };
                handle(&shared, &side, own_board.as_ref(), &raw, received);
                let _ = shared.shop().save_resume(&address, &folder, at);
            }
        }
        true
    })
    .await;
    DaemonError::Imap(error)
}

/// Sends again, every `every`, the bills whose sending failed or that
/// bounced and have waited long enough.
async fn retry_failed(shared: Arc<Shared>, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Ok(failed) = shared.shop().unsent(true, now()) {
            send(&shared, failed);
        }
    }
}

fn start(config: &DaemonConfig) -> Result<Arc<Shared>, DaemonError> {
    let shop = Shop::open(&config.shop_db)?;
    let smtp = Smtp::new(&config.account, &config.password)?;
    Ok(Arc::new(Shared { shop: Mutex::new(shop), smtp }))
}

/// The order's records on the shop's own board, for an order mail when
/// the shop keeps a board; `None` if it keeps none or cannot read it (the
/// bank checks the board again before paying).
fn board_records(own_board: Option<&Mutex<BoardLog>>, mail: &Incoming) -> Option<Vec<CheckedRecord>> {
    let (Body::Order(terms), Some(log)) = (&mail.body, own_board) else { return None };
    let log = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match log.records(&terms.order) {
        Ok(records) => Some(records),
        Err(e) => {
            say(&format!(
                "order {}: the board cannot be read, the order is not checked against it: {e}",
                terms.order
            ));
            None
        }
    }
}

fn handle(
    shared: &Arc<Shared>,
    side: &MerchantSide<'_>,
    own_board: Option<&Mutex<BoardLog>>,
    raw: &[u8],
    received: Received,
) {
    let mut shop = shared.shop();
    match received {
        Received::Bounce(bounce) => {
            let take =
                |id: &str, outcome: &str, reason: &str| shop.take_bounce(raw, id, outcome, reason, now());
            if let Some(line) = held_back::on_bounce(&bounce, take) {
                say(&line);
            }
        }
        Received::Invalid(e) => {
            if let Ok(true) = shop.record_invalid(raw, &e.to_string(), now()) {
                say(&format!("not a valid MailPay mail, not answered: {e}"));
            }
        }
        Received::MailPay(mail) => {
            match shop.process(side, &mail, board_records(own_board, &mail).as_deref(), raw, now()) {
                Ok(done) => {
                    say(&format!(
                        "order {}: {} from {}: {}",
                        mail.body.order(),
                        mail.body.kind(),
                        mail.from,
                        done.note
                    ));
                    drop(shop);
                    send(shared, done.outgoing);
                }
                Err(e) => say(&format!(
                    "order {}: {} could not be handled: {e}",
                    mail.body.order(),
                    mail.body.kind()
                )),
            }
        }
    }
}

fn send(shared: &Arc<Shared>, mails: Vec<Outgoing>) {
    if mails.is_empty() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let results = shared.smtp.send_all(&mails).await;
        let shop = shared.shop();
        for (mail, dispatch) in mails.iter().zip(results) {
            let marked = match &dispatch.result {
                Ok(()) => shop.mark_sent(&mail.message_id, now()),
                Err(e) => {
                    say(&format!("order {}: {} to {} not sent: {e}", mail.order, mail.kind, mail.to));
                    shop.mark_failed(&mail.message_id, &e.to_string())
                }
            };
            if let Err(e) = marked {
                say(&format!("cannot record the sending of {}: {e}", mail.message_id));
            }
        }
    });
}
