//! `mailpay order` and `mailpay retry`: record, then send at once.

use clap::Args;

use super::CliError;
use crate::bridge::ThroughThunderbird;
use crate::clock;
use crate::config::Config;
use crate::mail::account::Route;
use crate::mail::login::Login;
use crate::paths::Paths;
use crate::protocol::board::BoardRecord;
use crate::protocol::item::LineItem;
use crate::protocol::payment::State;
use crate::protocol::{Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA};
use crate::store::book::Setting;
use crate::wallet::{Backoff, MailServers, NewPayment, Progress, Sent, Transport, Wallet, WalletError};

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
    /// The merchant's board URL (methods board and all).
    #[arg(long)]
    board: Option<String>,
    /// Your initials as registered at the bank, for the board record (methods board and all).
    #[arg(long)]
    initials: Option<String>,
    /// The bank's age recipient: also send the wallet cheque (claim 2).
    /// Without it, methods cheque and all use the one `mailpay bank-key set` kept.
    #[arg(long)]
    wallet_key: Option<age::x25519::Recipient>,
    /// The sending account (the first configured when omitted).
    #[arg(long)]
    account: Option<String>,
    /// Also print password A (it is kept in the wallet; printed, it stays in
    /// the terminal's scroll-back and in any log of this command).
    #[arg(long)]
    show_password: bool,
    /// Approve in advance: `mailpay watch` (or the app) answers the bank's
    /// confirmation with OK on its own when it states exactly this order's
    /// amount, payee and items; any difference still waits for you.
    #[arg(long)]
    approve_in_advance: bool,
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

/// What carries the account's mails from the command line.
pub enum Carrier {
    /// The account's own servers, its password from the keyring.
    Servers(MailServers),
    /// Thunderbird, through its MailPay add-on and the wallet's host.
    Thunderbird { address: EmailAddress, through: ThroughThunderbird },
}

impl Carrier {
    pub fn address(&self) -> &EmailAddress {
        match self {
            Carrier::Servers(servers) => &servers.account().address,
            Carrier::Thunderbird { address, .. } => address,
        }
    }

    pub fn transport(&self) -> &dyn Transport {
        match self {
            Carrier::Servers(servers) => servers,
            Carrier::Thunderbird { through, .. } => through,
        }
    }
}

/// The account's carrier and the wallet.
pub fn open(account: Option<&str>) -> Result<(Carrier, Wallet), CliError> {
    let paths = Paths::from_env().map_err(fail)?;
    let config = Config::load(&paths.config_file()).map_err(fail)?;
    let account = config.account(account).map_err(fail)?.clone();
    let carrier = match account.route {
        Route::Thunderbird => Carrier::Thunderbird {
            address: account.address.clone(),
            through: ThroughThunderbird::new(&paths),
        },
        Route::Servers => {
            let login = Login::from_keyring(&account).map_err(fail)?;
            Carrier::Servers(MailServers::with_login(account, login))
        }
    };
    let wallet = Wallet::open(paths).map_err(fail)?;
    Ok((carrier, wallet))
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
    let (carrier, wallet) = open(args.account.as_deref())?;
    let orderer = carrier.address().clone();
    let mut rng = rand::rng();
    let created = clock::now();
    let (order, nonce) = OrderId::for_orderer(&orderer, &mut rng);
    let terms = OrderTerms {
        order,
        orderer,
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
        nonce: Some(nonce),
    };
    OrderTerms::from_block(&terms.to_block(crate::protocol::Kind::Order)).map_err(fail)?;
    let method = terms.method.as_str();
    let bank_key = match &args.wallet_key {
        Some(recipient) => Some(recipient.clone()),
        None if terms.method.needs_cheque() => super::keys::bank_recipient(&terms.bank)?,
        None => None,
    };
    if terms.method.needs_cheque() && bank_key.is_none() {
        return Err(CliError::Usage(format!(
            "method {method} sends a wallet cheque encrypted to the bank's age recipient (the bank publishes it; \
             `mailpay-bank recipient` prints it): keep it with `mailpay bank-key set {} age1...` or give --wallet-key",
            terms.bank
        )));
    }
    if terms.method.needs_board() {
        let (Some(_), Some(initials)) = (&terms.board, &args.initials) else {
            return Err(CliError::Usage(format!(
                "method {method} posts a record on the merchant's board: give --board URL and --initials"
            )));
        };
        BoardRecord::for_order(&terms, initials, &super::keys::load_wallet_key()?).check().map_err(fail)?;
        keep_initials(&wallet, initials)?;
    }
    let runtime = super::runtime()?;
    let payment = NewPayment { terms: terms.clone(), bank_key, pre_approved: args.approve_in_advance };
    runtime.block_on(wallet.place(payment)).map_err(fail)?;
    println!("order {}", terms.order);
    if args.show_password {
        println!("password A {}", terms.password.display());
    }
    send(&runtime, &carrier, &wallet, &terms.order)
}

/// The initials given for a board record, kept in the wallet (they are
/// what the wallet signs board records with, here and in the app).
fn keep_initials(wallet: &Wallet, initials: &str) -> Result<(), CliError> {
    wallet.with_blocking(|s| s.set_setting(Setting::Initials, initials.trim())).map_err(fail)
}

pub fn retry(order: &str, account: Option<&str>, initials: Option<&str>) -> Result<(), CliError> {
    let order: OrderId = order.parse().map_err(fail)?;
    let (carrier, wallet) = open(account)?;
    if let Some(initials) = initials {
        keep_initials(&wallet, initials)?;
    }
    let runtime = super::runtime()?;
    let o = order.clone();
    let state = wallet.with_blocking(|s| s.load(&o).map(|(_, state)| state)).map_err(fail)?;
    if matches!(state, State::Failed { .. }) {
        runtime.block_on(wallet.resume_failed(&order)).map_err(fail)?;
    }
    send(&runtime, &carrier, &wallet, &order)
}

/// Sends the payment's queued mails and reports each attempt: through the
/// account's servers retrying temporary failures (a server down, a 4xx
/// reply) with a growing wait; through Thunderbird once, since the
/// Thunderbird host sends what waited as soon as Thunderbird is back.
pub(super) fn send(
    runtime: &tokio::runtime::Runtime,
    carrier: &Carrier,
    wallet: &Wallet,
    order: &OrderId,
) -> Result<(), CliError> {
    let backoff = match carrier {
        Carrier::Servers(_) => Backoff::default(),
        Carrier::Thunderbird { .. } => Backoff { attempts: 1, ..Backoff::default() },
    };
    let sending =
        wallet.dispatch_until_sent(carrier.transport(), order, backoff, |progress| match progress {
            Progress::Attempted { sent, .. } => {
                for mail in &sent {
                    match &mail.result {
                        Ok(()) => {
                            println!("{} to {}: accepted ({})", mail.kind, mail.recipient, mail.message_id)
                        }
                        Err(e) => println!("{} to {}: NOT SENT: {e}", mail.kind, mail.recipient),
                    }
                }
            }
            Progress::Waiting { retry_in, reason } => {
                eprintln!("the mail server is not taking mail now ({reason}); trying again in {retry_in:.0?}")
            }
            Progress::BoardPosted { url } => println!("board record posted to {url}"),
        });
    let sent: Vec<Sent> = match runtime.block_on(sending) {
        Ok(sent) => sent,
        Err(WalletError::Board(reason)) => {
            return Err(CliError::Failed(format!(
                "the board record was not posted: {reason}; no mail was sent: `mailpay retry {order} --initials ...` tries again"
            )));
        }
        Err(e) => return Err(fail(e)),
    };
    let failed = sent.iter().any(|mail| mail.result.is_err());
    let o = order.clone();
    let state = wallet.with_blocking(|s| s.load(&o).map(|(_, state)| state)).map_err(fail)?;
    println!("payment {}: {}", order, state.name());
    if failed
        && matches!(carrier, Carrier::Thunderbird { .. })
        && sent.iter().all(|m| m.result.as_ref().err().is_none_or(|e| e.is_temporary()))
    {
        println!(
            "the mails wait in MailPay's outbox: they leave as soon as Thunderbird runs with MailPay's add-on"
        );
        return Ok(());
    }
    if let Some(e) = sent.iter().find_map(|m| m.result.as_ref().err().filter(|e| e.needs_sign_in())) {
        println!("the mails wait in MailPay's outbox: {e}; then `mailpay retry {order}` sends them");
        return Err(CliError::Failed(format!(
            "{e}; the mails wait: `mailpay retry {order}` sends them after that"
        )));
    }
    if failed {
        return Err(CliError::Failed(format!(
            "some mails were not sent; `mailpay retry {order}` sends only those"
        )));
    }
    Ok(())
}
