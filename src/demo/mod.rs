//! "Try the demo": a throw-away wallet with the reference bank and
//! merchant running inside the process, joined to the wallet by a private
//! mail loop, so that every figure (1 to 4) can be clicked through on a
//! fresh machine with no mail account.
//!
//! Nothing here decides anything: the bank is [`crate::bank`]'s ledger and
//! engine, the merchant [`crate::merchant`]'s shop book and engine, the
//! board [`crate::board`]'s server on a loopback port, all in one
//! throw-away folder. The loop ([`mail_loop`]) carries the mails, as bytes,
//! between them and the wallet. [`start`] does what the orderer would do
//! once by hand: open the accounts, register the wallet's cheque key at
//! the bank, and put the bank's age key and the merchant's board in the
//! wallet's address book.

pub mod mail_loop;

use std::path::{Path, PathBuf};

use tokio::net::TcpListener;

use crate::bank::ledger::Ledger;
use crate::board::log::BoardLog;
use crate::board::server::{self, Board, Limits};
use crate::merchant::engine::Pricing;
use crate::merchant::shop::Shop;
use crate::paths::Paths;
use crate::protocol::{Currency, EmailAddress, Method};
use crate::store::Store;
use crate::store::book::{Bank, Merchant};
use crate::task::AbortOnDrop;

pub use mail_loop::{MailLoop, Party};

/// Why the demo cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error("the demo cannot be set up in {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("the demo's board cannot listen on a loopback port: {0}")]
    Board(String),
    #[error("the demo's addresses are invalid: {0}")]
    Address(String),
}

/// A running demo.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The throw-away wallet's folders.
    pub paths: Paths,
    pub mail: MailLoop,
}

pub const ORDERER: &str = "you@wallet.demo";
pub const BANK: &str = "settle@bank.demo";
pub const MERCHANT: &str = "shop@tea.demo";
/// The orderer's initials, registered at the bank and put on board records.
pub const INITIALS: &str = "Y.O.";
/// What the orderer holds at the demo bank in each currency, in major units.
pub const BALANCE: u64 = 1_000_000;

/// Sets up a fresh demo in the system's temporary folder and starts its
/// board; the mail loop carries everything else.
pub async fn start() -> Result<Demo, DemoError> {
    let suffix: u32 = rand::random();
    let root = std::env::temp_dir().join(format!("mailpay-demo-{}-{suffix:08x}", std::process::id()));
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| DemoError::Board(e.to_string()))?;
    let board_url =
        format!("http://{}/", listener.local_addr().map_err(|e| DemoError::Board(e.to_string()))?);
    let folder = root.clone();
    let parts = tokio::task::spawn_blocking(move || set_up(&folder, &board_url).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|reason| DemoError::Folder { path: root.clone(), reason })?;
    let title = format!("Orders at {MERCHANT}");
    let board = AbortOnDrop(tokio::spawn(server::serve(
        listener,
        Board::new(parts.board, Limits::default(), title),
        None,
    )));
    let (orderer, bank_address, merchant) = addresses()?;
    let mail = MailLoop::new(
        orderer,
        Party::Bank { address: bank_address.clone(), ledger: parts.ledger },
        Party::Merchant {
            address: merchant,
            bank: bank_address,
            shop: parts.shop,
            pricing: Pricing::AsOrdered,
            own_board: parts.shop_board,
        },
        board,
    );
    Ok(Demo { paths: parts.paths, mail })
}

fn addresses() -> Result<(EmailAddress, EmailAddress, EmailAddress), DemoError> {
    let parse = |a: &str| a.parse::<EmailAddress>().map_err(|e| DemoError::Address(e.to_string()));
    Ok((parse(ORDERER)?, parse(BANK)?, parse(MERCHANT)?))
}

/// The demo's folders and databases, set up.
struct Parts {
    paths: Paths,
    ledger: Ledger,
    shop: Shop,
    /// The board's log, for its server.
    board: BoardLog,
    /// The same log, for the shop to check orders against.
    shop_board: BoardLog,
}

/// Everything the orderer, the bank and the merchant would set up by hand.
fn set_up(root: &Path, board_url: &str) -> Result<Parts, Box<dyn std::error::Error>> {
    let (orderer, bank, merchant) = addresses()?;
    let paths = Paths::under(&root.join("wallet"));
    let now = crate::clock::now();
    let ledger = Ledger::open(&root.join("bank").join("ledger.sqlite"))?;
    let wallet_key = crate::keys::load_or_create_key(&crate::keys::wallet_key_path(&paths))?;
    let key = wallet_key.public().to_string();
    ledger.open_account(&orderer, Some(INITIALS), Some(&key), None, now)?;
    ledger.open_account(&merchant, None, None, Some(board_url), now)?;
    for currency in Currency::all() {
        let minor = BALANCE.saturating_mul(10u64.pow(u32::from(currency.exponent())));
        ledger.set_balance(&orderer, currency, minor)?;
    }
    let shop = Shop::open(&root.join("merchant").join("shop.sqlite"))?;
    let board = BoardLog::open(&root.join("merchant").join("board.sqlite"))?;
    let shop_board = board.reader()?;
    let store = Store::open(&paths.database())?;
    store.save_bank(&Bank {
        address: bank.clone(),
        name: "Demo Bank".into(),
        age_recipient: Some(ledger.recipient()?),
        account_ref: "DEMO-0001".into(),
    })?;
    store.save_merchant(&Merchant {
        address: merchant,
        name: "Demo Tea Shop".into(),
        bank: Some(bank),
        board: Some(board_url.to_string()),
        figures: vec![Method::Confirm, Method::Cheque, Method::Board, Method::All],
    })?;
    store.set_setting(crate::store::book::Setting::Initials, INITIALS)?;
    Ok(Parts { paths, ledger, shop, board, shop_board })
}
