//! `mailpay-bank`: the bank's reference agent and its admin commands.
//!
//! The configuration file (TOML, `--config`) names the bank's mail account
//! and where the ledger lives; the mail password is never in it: it comes
//! from the OS keyring (as `mailpay account add` stores it) or, for tests
//! and containers, from `--password-file`; an account with
//! `auth = "oauth2"` logs in with the OAuth2 grant `mailpay account add
//! --oauth` stored, or a token from `--token-file`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mailpay::agent::cli::{self, Common, Failure, RunArgs, fail};
use mailpay::bank::daemon::{self, DaemonConfig};
use mailpay::bank::ledger::Ledger;
use mailpay::board::client::BoardPolicy;
use mailpay::mail::account::Account;
use mailpay::protocol::cheque::PublicKey;
use mailpay::protocol::{Currency, EmailAddress, Money, OrderId};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(name = "mailpay-bank", version, about = "The MailPay bank agent: settles orders received by mail")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch the bank's mailbox and settle orders until stopped.
    Run(RunArgs),
    /// Open an account for an address, or update its details.
    OpenAccount {
        address: EmailAddress,
        /// The holder's initials, checked against board records (claim 3).
        #[arg(long)]
        initials: Option<String>,
        /// The holder's wallet key, `ed25519:...`: it signs cheques (claim 2) and board records (claim 3).
        #[arg(long, value_parser = wallet_key)]
        wallet_key: Option<String>,
        /// A merchant's board URL, the only board the bank reads for its orders
        /// (https:// at a public address unless the configuration allows more).
        #[arg(long)]
        board: Option<String>,
    },
    /// Set an account's balance: `set-balance shop@shop.test 1200 JPY`.
    SetBalance { address: EmailAddress, amount: String, currency: Currency },
    /// Show an account's balance.
    Balance { address: EmailAddress, currency: Currency },
    /// List every payment with its state.
    Payments {
        #[arg(long)]
        json: bool,
    },
    /// Show every mail in and out for one order.
    Trail {
        order: OrderId,
        #[arg(long)]
        json: bool,
    },
    /// Print the bank's age recipient: wallets encrypt cheques to it.
    Recipient {
        /// Also write it to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankFile {
    account: Option<Account>,
    data_dir: Option<PathBuf>,
    board_grace_seconds: Option<u64>,
    /// Read registered `http://` boards too (default: `https://` only).
    allow_http_boards: Option<bool>,
    /// Read registered boards at loopback or private addresses (default: public only).
    allow_private_boards: Option<bool>,
}

impl BankFile {
    fn board_policy(&self) -> BoardPolicy {
        BoardPolicy {
            allow_http: self.allow_http_boards.unwrap_or(false),
            allow_private: self.allow_private_boards.unwrap_or(false),
        }
    }
}

/// A cheque-signing key as `ed25519:BASE64`, checked.
fn wallet_key(text: &str) -> Result<String, String> {
    text.parse::<PublicKey>().map(|k| k.to_string()).map_err(|e| e.to_string())
}

/// `1200` or `12.50` in the currency's major units; 0 is allowed here.
fn minor_units(amount: &str, currency: Currency) -> Result<u64, Failure> {
    if amount.trim().chars().all(|c| c == '0' || c == '.') && amount.contains('0') {
        return Ok(0);
    }
    Money::parse_major(amount, currency)
        .map(Money::minor)
        .map_err(|e| Failure::Usage(format!("{amount:?}: {e}")))
}

fn run(cli: Cli) -> Result<(), Failure> {
    let file: BankFile = cli::load(cli.common.config.as_deref(), "bank")?;
    let path =
        cli::data_dir(cli.common.data_dir.clone(), file.data_dir.clone(), "bank")?.join("ledger.sqlite");
    let now = mailpay::clock::now();
    match &cli.command {
        Command::Run(args) => {
            let (account, login) = args.account(file.account.clone(), "the bank's")?;
            let config = DaemonConfig {
                account,
                login,
                ledger: path,
                board_grace: Duration::from_secs(file.board_grace_seconds.unwrap_or(60)),
                expiry_check: Duration::from_secs(60),
                boards: file.board_policy(),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(fail)?;
            let why = runtime.block_on(daemon::run(config));
            Err(fail(why))
        }
        Command::OpenAccount { address, initials, wallet_key, board } => {
            if let Some(board) = board {
                file.board_policy().check_url(board).map_err(|e| Failure::Usage(e.to_string()))?;
            }
            let ledger = Ledger::open(&path).map_err(fail)?;
            ledger
                .open_account(address, initials.as_deref(), wallet_key.as_deref(), board.as_deref(), now)
                .map_err(fail)?;
            println!("account {address} is open");
            Ok(())
        }
        Command::SetBalance { address, amount, currency } => {
            let ledger = Ledger::open(&path).map_err(fail)?;
            let minor = minor_units(amount, *currency)?;
            ledger.set_balance(address, *currency, minor).map_err(fail)?;
            println!("{address}: {amount} {currency}");
            Ok(())
        }
        Command::Balance { address, currency } => {
            let ledger = Ledger::open(&path).map_err(fail)?;
            let minor = ledger.balance(address, *currency).map_err(fail)?;
            match Money::new(minor, *currency) {
                Ok(m) => println!("{m}"),
                Err(_) => println!("0 {currency}"),
            }
            Ok(())
        }
        Command::Payments { json } => {
            let ledger = Ledger::open(&path).map_err(fail)?;
            let payments = ledger.payments().map_err(fail)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&payments).map_err(fail)?);
            }
            for p in payments.iter().filter(|_| !json) {
                let dash = || "-".to_string();
                println!(
                    "{}  {:<15}  {:<7}  {} -> {}  {}  {}",
                    p.order,
                    p.status,
                    p.method.clone().unwrap_or_else(dash),
                    p.payer.clone().unwrap_or_else(dash),
                    p.payee.clone().unwrap_or_else(dash),
                    p.amount.clone().unwrap_or_else(dash),
                    p.reason.clone().unwrap_or_default(),
                );
            }
            Ok(())
        }
        Command::Trail { order, json } => {
            let ledger = Ledger::open(&path).map_err(fail)?;
            let trail = ledger.trail(order).map_err(fail)?;
            if trail.is_empty() {
                return Err(Failure::Failed(format!("no mail about order {order} in the ledger")));
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&trail).map_err(fail)?);
            }
            for line in trail.iter().filter(|_| !json) {
                let at = mailpay::protocol::Timestamp::from_unix(line.at);
                let reason = line.reason.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
                let arrow = if line.direction == "in" { "<-" } else { "->" };
                println!("{at}  {arrow} {:<15} {:<24} {}{reason}", line.kind, line.party, line.outcome);
            }
            Ok(())
        }
        Command::Recipient { out } => {
            let ledger = Ledger::open(&path).map_err(fail)?;
            let recipient = ledger.recipient().map_err(fail)?;
            println!("{recipient}");
            if let Some(out) = out {
                std::fs::write(out, format!("{recipient}\n"))
                    .map_err(|e| fail(format!("cannot write {}: {e}", out.display())))?;
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    cli::main(run)
}
