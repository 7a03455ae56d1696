//! `mailpay order` and `mailpay retry`: record, then send at once.

use clap::Args;

use super::CliError;
use crate::board;
use crate::clock;
use crate::config::Config;
use crate::mail::account::Account;
use crate::mail::smtp::Smtp;
use crate::paths::Paths;
use crate::protocol::board::BoardRecord;
use crate::protocol::cheque::Cheque;
use crate::protocol::compose;
use crate::protocol::item::LineItem;
use crate::protocol::message::WalletMail;
use crate::protocol::payment::{Event, State};
use crate::protocol::{Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA};
use crate::secrets::Keyring;
use crate::store::Store;
use crate::wallet::{self, Backoff, Progress, Sent};

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
    let created = clock::now();
    let (order, nonce) = OrderId::for_orderer(&account.address, &mut rng);
    let terms = OrderTerms {
        order,
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
        nonce: Some(nonce),
    };
    OrderTerms::from_block(&terms.to_block(crate::protocol::Kind::Order)).map_err(fail)?;
    let method = terms.method.as_str();
    let recipient = match &args.wallet_key {
        Some(recipient) => Some(recipient.clone()),
        None if terms.method.needs_cheque() => super::keys::bank_recipient(&terms.bank)?,
        None => None,
    };
    if terms.method.needs_cheque() && recipient.is_none() {
        return Err(CliError::Usage(format!(
            "method {method} sends a wallet cheque encrypted to the bank's age recipient (the bank publishes it; \
             `mailpay-bank recipient` prints it): keep it with `mailpay bank-key set {} age1...` or give --wallet-key",
            terms.bank
        )));
    }
    let record = match (terms.method.needs_board(), &terms.board, &args.initials) {
        (false, _, _) => None,
        (true, Some(_), Some(initials)) => {
            let record = BoardRecord::for_order(&terms, initials, &super::keys::load_wallet_key()?);
            record.check().map_err(fail)?;
            Some(record)
        }
        (true, _, _) => {
            return Err(CliError::Usage(format!(
                "method {method} posts a record on the merchant's board: give --board URL and --initials"
            )));
        }
    };
    let mut extra = Vec::new();
    if let Some(recipient) = &recipient {
        let key = super::keys::load_wallet_key()?;
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
    println!("order {}", terms.order);
    if args.show_password {
        println!("password A {}", terms.password.display());
    }
    if let Some(record) = &record {
        post_board(&account, &store, &terms, record)?;
    }
    send(&account, &password, &store, &terms.order)
}

pub fn retry(order: &str, account: Option<&str>, initials: Option<&str>) -> Result<(), CliError> {
    let order: OrderId = order.parse().map_err(fail)?;
    let (account, password, store) = open(account)?;
    let (_, state) = store.load(&order).map_err(fail)?;
    if matches!(state, crate::protocol::payment::State::Failed { .. }) {
        wallet::act(&store, &order, &Event::Retry, None, false).map_err(fail)?;
    }
    let (terms, state) = store.load(&order).map_err(fail)?;
    if let State::Sending { board_pending: true, .. } = state {
        let initials = initials.ok_or_else(|| {
            CliError::Usage("the board record was not posted yet: give --initials to post it".into())
        })?;
        post_board(
            &account,
            &store,
            &terms,
            &BoardRecord::for_order(&terms, initials, &super::keys::load_wallet_key()?),
        )?;
    }
    send(&account, &password, &store, &order)
}

/// Posts the order's record on the merchant's board (claim 3) and records
/// the outcome; a refusal stops the order before any mail leaves. An
/// `https://` board is trusted as the mail account's servers are.
fn post_board(
    account: &Account,
    store: &Store,
    terms: &OrderTerms,
    record: &BoardRecord,
) -> Result<(), CliError> {
    let url = terms.board.as_deref().unwrap_or_default();
    let runtime = super::runtime()?;
    let client = board::client::Client::trusting(account.ca_file.as_deref());
    match runtime.block_on(client.post(url, record)) {
        Ok(()) => {
            wallet::act(store, &terms.order, &Event::BoardPosted, None, false).map_err(fail)?;
            println!("board record posted to {url}");
            Ok(())
        }
        Err(e) => {
            let reason = e.to_string();
            wallet::act(store, &terms.order, &Event::BoardFailed { reason: reason.clone() }, None, false)
                .map_err(fail)?;
            Err(CliError::Failed(format!(
                "{reason}; no mail was sent: `mailpay retry {} --initials ...` tries again",
                terms.order
            )))
        }
    }
}

pub(super) fn send(
    account: &Account,
    password: &str,
    store: &Store,
    order: &OrderId,
) -> Result<(), CliError> {
    let smtp = Smtp::new(account, password).map_err(fail)?;
    let runtime = super::runtime()?;
    // Temporary failures (a server down, a 4xx reply) are retried with a
    // growing wait; each attempt and each wait is reported.
    let sent: Vec<Sent> = runtime
        .block_on(wallet::dispatch_until_sent(store, &smtp, order, Backoff::default(), |progress| {
            match progress {
                Progress::Attempted { sent, .. } => {
                    for mail in &sent {
                        match &mail.result {
                            Ok(()) => println!(
                                "{} to {}: accepted ({})",
                                mail.kind, mail.recipient, mail.message_id
                            ),
                            Err(e) => println!("{} to {}: NOT SENT: {e}", mail.kind, mail.recipient),
                        }
                    }
                }
                Progress::Waiting { retry_in, reason } => {
                    eprintln!(
                        "the mail server is not taking mail now ({reason}); trying again in {retry_in:.0?}"
                    )
                }
            }
        }))
        .map_err(fail)?;
    let failed = sent.iter().any(|mail| mail.result.is_err());
    let (_, state) = store.load(order).map_err(fail)?;
    println!("payment {}: {}", order, state.name());
    if failed {
        return Err(CliError::Failed(format!(
            "some mails were not sent; `mailpay retry {order}` sends only those"
        )));
    }
    Ok(())
}
