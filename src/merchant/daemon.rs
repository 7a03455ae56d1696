//! The merchant agent: its decisions on the agent runtime
//! ([`crate::agent`]) — bill each order to the shop's bank, ship on
//! `settled` — and the bulletin board it serves.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::engine::{MerchantSide, Pricing};
use super::shop::{Shop, ShopError};
use crate::agent::runtime::{self, Agent, Decisions};
use crate::board::log::{BoardLog, LogError};
use crate::board::server::{self, Board, Limits};
use crate::mail::account::Account;
use crate::mail::imap::ImapError;
use crate::mail::login::Login;
use crate::mail::smtp::{SendError, Smtp};
use crate::protocol::board::CheckedRecord;
use crate::protocol::compose::Outgoing;
use crate::protocol::message::Body;
use crate::protocol::parse::Incoming;
use crate::protocol::{EmailAddress, Timestamp};
use crate::task::AbortOnDrop;

#[derive(Clone)]
pub struct DaemonConfig {
    pub account: Account,
    pub login: Login,
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
            .field("login", &self.login)
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

/// The merchant's decisions for the agent runtime: bill each order to the
/// shop's bank (checked against the shop's own board when it keeps one),
/// ship on `settled`.
pub struct Merchant {
    address: EmailAddress,
    bank: EmailAddress,
    pricing: Pricing,
    /// The shop's own board, read through a second connection to the log
    /// the board server appends to.
    own_board: Option<Mutex<BoardLog>>,
}

impl Decisions for Merchant {
    type Book = Shop;
    type Decided = Vec<Outgoing>;

    fn decide(
        &self,
        shop: &mut Shop,
        mail: &Incoming,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(String, Vec<Outgoing>), String> {
        let side = MerchantSide { address: &self.address, bank: &self.bank, pricing: &self.pricing };
        let (records, unread) = match self.board_records(mail) {
            Ok(records) => (records, String::new()),
            // The bank checks the board again before paying.
            Err(e) => {
                (None, format!("(the board cannot be read, the order is not checked against it: {e}) "))
            }
        };
        let done = shop.process(&side, mail, records.as_deref(), raw, now).map_err(|e| e.to_string())?;
        Ok((format!("{unread}{}", done.note), done.outgoing))
    }

    fn act(&self, agent: &Arc<Agent<Self>>, outgoing: Vec<Outgoing>) {
        agent.send(outgoing);
    }
}

impl Merchant {
    /// The order's records on the shop's own board, for an order mail when
    /// the shop keeps a board.
    fn board_records(&self, mail: &Incoming) -> Result<Option<Vec<CheckedRecord>>, LogError> {
        let (Body::Order(terms), Some(log)) = (&mail.body, &self.own_board) else { return Ok(None) };
        let log = log.lock().unwrap_or_else(PoisonError::into_inner);
        log.records(&terms.order).map(Some)
    }
}

/// Runs the agent; with a listener, also the board on it. Returns why it stopped.
pub async fn run(config: DaemonConfig, board: Option<TcpListener>) -> DaemonError {
    let shop = match Shop::open(&config.shop_db) {
        Ok(shop) => shop,
        Err(e) => return e.into(),
    };
    let smtp = match Smtp::with_login(&config.account, config.login.clone()) {
        Ok(smtp) => smtp,
        Err(e) => return e.into(),
    };
    let mut own_board = None;
    let mut board_task = None;
    if let Some(listener) = board {
        let (reader, log) = match BoardLog::open(&config.board_db).and_then(|log| Ok((log.reader()?, log))) {
            Ok(both) => both,
            Err(e) => return e.into(),
        };
        own_board = Some(Mutex::new(reader));
        let title = format!("Orders at {}", config.account.address);
        board_task = Some((
            listener.local_addr().ok(),
            AbortOnDrop(tokio::spawn(server::serve(
                listener,
                Board::new(log, config.board_limits, title),
                config.board_tls.clone(),
            ))),
        ));
    }
    let merchant = Merchant {
        address: config.account.address.clone(),
        bank: config.bank.clone(),
        pricing: config.pricing.clone(),
        own_board,
    };
    let agent = Agent::new("merchant", merchant, shop, smtp);
    if let Some((Some(addr), _)) = &board_task {
        let scheme = if config.board_tls.is_some() { "https" } else { "http" };
        agent.say(&format!("board at {scheme}://{addr}/"));
    }
    let why = runtime::run(agent, &config.account, &config.login, config.retry_every).await;
    drop(board_task);
    DaemonError::Imap(why)
}
