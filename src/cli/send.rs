//! `mailpay order` and `mailpay retry`: record, then send at once.

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::mail::account::Account;
use crate::mail::smtp::Smtp;
use crate::paths::Paths;
use crate::protocol::cheque::Cheque;
use crate::protocol::compose;
use crate::protocol::item::LineItem;
use crate::protocol::message::WalletMail;
use crate::protocol::payment::Event;
use crate::protocol::{Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA};
use crate::secrets::Keyring;
use crate::store::Store;
use crate::wallet::{self, Sent};

#[derive(Debug, Args)]
pub struct OrderArgs {
    #[arg(long)]
    merchant: EmailAddress,
    #[arg(long)]
    bank: EmailAddress,
    /// "1200 JPY", or the figure with --currency.
    #[arg(long, num_args = 1..=2, value_names = ["AMOUNT", "CURRENCY"])]
    amount: Vec<String>,
    #[arg(long)]
    currency: Option<Currency>,
    #[arg(long = "item")]
    items: Vec<String>,
    #[arg(long, default_value = "confirm", value_parser = |s: &str| s.parse::<Method>().map_err(|()| format!("{s:?}: expected confirm, cheque, board or all")))]
    method: Method,
    #[arg(long)]
    password: Option<String>,
    #[arg(long, default_value_t = 24)]
    expires_in_hours: u32,
    #[arg(long)]
    board: Option<String>,
    /// The bank's age recipient: also send the wallet cheque (claim 2).
    #[arg(long)]
    wallet_key: Option<age::x25519::Recipient>,
    /// The sending account (the only one when omitted).
    #[arg(long)]
    account: Option<String>,
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

/// The account, its password from the keyring, and the wallet database.
pub fn open(account: Option<&str>) -> Result<(Account, String, Store), CliError> {
    let paths = Paths::from_env().map_err(fail)?;
    let config = Config::load(&paths.config_file()).map_err(fail)?;
    let account = config.account(account).map_err(fail)?.clone();
    let password = Keyring::system().and_then(|k| k.password(account.address.as_str())).map_err(fail)?;
    let store = Store::open(&paths.database()).map_err(fail)?;
    Ok((account, password, store))
}

fn amount(args: &OrderArgs) -> Result<Money, CliError> {
    match (args.amount.as_slice(), args.currency) {
        ([figure, code], None) => Money::parse_major(figure, code.parse().map_err(fail)?).map_err(fail),
        ([text], None) => text.parse().map_err(fail),
        ([figure], Some(currency)) => Money::parse_major(figure, currency).map_err(fail),
        _ => Err(CliError::Usage(
            "give the amount as `--amount 1200 JPY` or `--amount 1200 --currency JPY`".into(),
        )),
    }
}

pub fn order(args: OrderArgs) -> Result<(), CliError> {
    let (account, password, mut store) = open(args.account.as_deref())?;
    let mut rng = rand::rng();
    let created = wallet::now();
    let terms = OrderTerms {
        order: OrderId::generate(&mut rng),
        orderer: account.address.clone(),
        merchant: args.merchant.clone(),
        bank: args.bank.clone(),
        amount: amount(&args)?,
        items: args.items.iter().map(|i| i.parse::<LineItem>()).collect::<Result<_, _>>().map_err(fail)?,
        password: match &args.password {
            Some(p) => PasswordA::parse(p).map_err(fail)?,
            None => PasswordA::generate(&mut rng),
        },
        created,
        expires: created.plus_seconds(i64::from(args.expires_in_hours) * 3600),
        method: args.method,
        board: args.board.clone(),
    };
    OrderTerms::from_block(&terms.to_block(crate::protocol::Kind::Order)).map_err(fail)?;
    let mut extra = Vec::new();
    if let Some(recipient) = &args.wallet_key {
        let key_path = Paths::from_env().map_err(fail)?.data_dir.join("cheque-signing.key");
        let key = super::compose::load_or_create_key(&key_path)?;
        let cheque = Cheque {
            order: terms.order.clone(),
            payer: terms.orderer.clone(),
            payee: terms.merchant.clone(),
            amount: terms.amount,
            password: terms.password.clone(),
            issued: created,
        };
        let sealed = cheque.seal(&key, recipient).map_err(fail)?;
        extra.push(compose::wallet(
            &WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed },
            &terms.bank,
        ));
    }
    wallet::place(&mut store, &terms, extra, created).map_err(fail)?;
    println!("order {}\npassword A {}", terms.order, terms.password.display());
    send(&account, &password, &store, &terms.order)
}

pub fn retry(order: &str, account: Option<&str>) -> Result<(), CliError> {
    let order: OrderId = order.parse().map_err(fail)?;
    let (account, password, mut store) = open(account)?;
    let (_, state) = store.load(&order).map_err(fail)?;
    if matches!(state, crate::protocol::payment::State::Failed { .. }) {
        wallet::act(&mut store, &order, &Event::Retry, None, false).map_err(fail)?;
    }
    send(&account, &password, &store, &order)
}

fn send(account: &Account, password: &str, store: &Store, order: &OrderId) -> Result<(), CliError> {
    let smtp = Smtp::new(account, password).map_err(fail)?;
    let runtime = super::runtime()?;
    let sent: Vec<Sent> = runtime.block_on(wallet::dispatch(store, &smtp, order)).map_err(fail)?;
    let mut failed = false;
    for mail in &sent {
        match &mail.result {
            Ok(()) => println!("{} to {}: accepted ({})", mail.kind, mail.recipient, mail.message_id),
            Err(e) => {
                failed = true;
                println!("{} to {}: NOT SENT: {e}", mail.kind, mail.recipient);
            }
        }
    }
    let (_, state) = store.load(order).map_err(fail)?;
    println!("payment {}: {}", order, state.name());
    if failed {
        return Err(CliError::Failed(format!(
            "some mails were not sent; `mailpay retry {order}` sends only those"
        )));
    }
    Ok(())
}
