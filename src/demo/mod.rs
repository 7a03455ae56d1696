//! "Try the demo": a throw-away wallet with a bank and a merchant running
//! inside the process, joined to the wallet by a private mail loop, so that
//! every step of Fig. 1 can be clicked through on a fresh machine with no
//! mail account.
//!
//! Everything on the wire is the real thing: the wallet composes and
//! records its mails as always; the loop hands each built mail, as bytes,
//! to its recipient, which parses it with the protocol core. The bank
//! ([`bank`]) decides with the protocol's own matching rule
//! (`matching::decide`, `matching::check_answer`); the merchant
//! ([`merchant`]) bills what it is ordered. These two are deliberately
//! minimal (Fig. 1 only, no ledger, no persistence) and are to be replaced
//! by the reference agents; the loop ([`mail_loop`]) is what stays.

pub mod bank;
pub mod mail_loop;
pub mod merchant;

use std::path::PathBuf;

use crate::paths::Paths;
use crate::protocol::{EmailAddress, Method};
use crate::store::Store;
use crate::store::book::{Bank, Merchant};

pub use mail_loop::MailLoop;

/// Why the demo cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error("the demo wallet cannot be created in {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("the demo's addresses are invalid: {0}")]
    Address(String),
}

/// A running demo.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The throw-away wallet's folders.
    pub paths: Paths,
    pub orderer: EmailAddress,
    pub mail: MailLoop,
}

pub const ORDERER: &str = "you@wallet.demo";
pub const BANK: &str = "settle@bank.demo";
pub const MERCHANT: &str = "shop@tea.demo";

/// Creates a fresh demo wallet (in the system's temporary folder) with the
/// demo bank and merchant in its address book, and starts the loop.
pub async fn start() -> Result<Demo, DemoError> {
    let address = |a: &str| a.parse::<EmailAddress>().map_err(|e| DemoError::Address(e.to_string()));
    let (orderer, bank, merchant) = (address(ORDERER)?, address(BANK)?, address(MERCHANT)?);
    let suffix: u32 = rand::random();
    let root = std::env::temp_dir().join(format!("mailpay-demo-{}-{suffix:08x}", std::process::id()));
    let paths = Paths::under(&root);
    let folder = |reason: String| DemoError::Folder { path: root.clone(), reason };
    let (b, m, p) = (bank.clone(), merchant.clone(), paths.clone());
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&p.database()).map_err(|e| e.to_string())?;
        store
            .save_bank(&Bank {
                address: b.clone(),
                name: "Demo Bank".into(),
                age_recipient: None,
                account_ref: "DEMO-0001".into(),
            })
            .map_err(|e| e.to_string())?;
        store
            .save_merchant(&Merchant {
                address: m,
                name: "Demo Tea Shop".into(),
                bank: Some(b),
                board: None,
                figures: vec![Method::Confirm],
            })
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| folder(e.to_string()))?
    .map_err(folder)?;
    let mail =
        MailLoop::new(orderer.clone(), bank::DemoBank::new(bank), merchant::DemoMerchant::new(merchant));
    Ok(Demo { paths, orderer, mail })
}
