//! MailPay accounts and orders for the users of the test mail stack.

use std::path::{Path, PathBuf};

use mailpay::mail::account::{Account, Security, Server};
use mailpay::paths::Paths;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::{Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp};
use mailpay::store::Store;
use mailpay::wallet::{MailServers, Sent, Wallet};

use super::mailstack::MailStack;

/// `address`'s account on `stack`: submission with STARTTLS, IMAP over
/// implicit TLS, trusting the stack's CA.
pub fn account(stack: &MailStack, address: &str) -> Account {
    Account {
        address: address.parse().expect("a stack user's address is valid"),
        username: address.to_string(),
        smtp: Server { host: "localhost".into(), port: stack.submission_port, security: Security::Starttls },
        imap: Server { host: "localhost".into(), port: stack.imaps_port, security: Security::Tls },
        ca_file: Some(stack.ca_file.clone()),
        route: Default::default(),
        auth: Default::default(),
        oauth2: None,
    }
}

/// The same account over implicit TLS for SMTP too.
pub fn account_smtps(stack: &MailStack, address: &str) -> Account {
    let mut account = account(stack, address);
    account.smtp = Server { host: "localhost".into(), port: stack.smtps_port, security: Security::Tls };
    account
}

pub fn password(stack: &MailStack, address: &str) -> String {
    stack.user(address).password.clone()
}

pub fn now() -> Timestamp {
    mailpay::clock::now()
}

/// An order of `amount` JPY from `orderer` to `merchant`, paid at `bank`.
pub fn terms(orderer: &str, merchant: &str, bank: &str, amount: u64) -> OrderTerms {
    let mut rng = rand::rng();
    let created = now();
    let parse = |a: &str| a.parse::<EmailAddress>().expect("valid address");
    let currency: Currency = "JPY".parse().expect("JPY is known");
    OrderTerms {
        order: OrderId::generate(&mut rng),
        orderer: parse(orderer),
        merchant: parse(merchant),
        bank: parse(bank),
        amount: Money::new(amount, currency).expect("amount in range"),
        items: vec![
            LineItem::new(1, "Green tea 100g", Some(Money::new(amount, currency).expect("in range")))
                .expect("item"),
        ],
        password: PasswordA::generate(&mut rng),
        created,
        expires: created.plus_seconds(24 * 3600),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
    .bound(&mut rand::rng())
}

/// A fresh wallet database in its own temporary folder, where the wallet
/// keeps it ([`Paths::under`] that folder).
pub fn temp_store(name: &str) -> (Store, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("mailpay-{name}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = Paths::under(&dir).database();
    (Store::open(&path).expect("store opens"), path)
}

/// The wallet every front end drives, over the database at `path` (made
/// by [`temp_store`]): a second connection to it, as the app and the
/// command line each open their own.
pub fn wallet_over(path: &Path) -> Wallet {
    let root = path.parent().and_then(Path::parent).expect("a wallet's folder");
    let paths = Paths::under(root);
    assert_eq!(paths.database(), path, "a database made by temp_store");
    Wallet::open(paths).expect("the wallet opens")
}

/// Sends `order`'s queued mails from the wallet at `path` through
/// `account`'s SMTP server, as every front end does (Wallet::dispatch).
pub fn dispatch(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    account: &Account,
    password: &str,
    order: &OrderId,
) -> Vec<Sent> {
    let servers = MailServers::new(account.clone(), password);
    runtime.block_on(wallet_over(path).dispatch(&servers, order)).expect("dispatch")
}
