//! `mailpay-merchant`: the merchant's reference agent (bills orders to the
//! shop's bank, ships on payment) and its bulletin board.
//!
//! The configuration file (TOML, `--config`) names the shop's mail
//! account, its bank, the catalogue and the board's address; the mail
//! password comes from the OS keyring or, for tests and containers, from
//! `--password-file` (an OAuth2 account's token: the keyring's grant or
//! `--token-file`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mailpay::agent::cli::{self, Common, Failure, RunArgs, fail, usage};
use mailpay::board::log::BoardLog;
use mailpay::board::server::Limits;
use mailpay::mail::account::Account;
use mailpay::mail::tls;
use mailpay::merchant::daemon::{self, DaemonConfig};
use mailpay::merchant::engine::{Catalogue, Pricing};
use mailpay::merchant::shop::Shop;
use mailpay::protocol::EmailAddress;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "mailpay-merchant",
    version,
    about = "The MailPay merchant agent: bills orders, ships on payment, runs the board"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch the shop's mailbox and serve the board until stopped.
    Run(RunArgs),
    /// List the orders and their state.
    Orders {
        #[arg(long)]
        json: bool,
    },
    /// Check the board's hash chain and print its head.
    VerifyBoard,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopFile {
    account: Option<Account>,
    bank: Option<EmailAddress>,
    data_dir: Option<PathBuf>,
    /// A TOML file of [[article]] description/price; without it orders are billed as ordered.
    catalogue: Option<PathBuf>,
    /// `127.0.0.1:8025` by default; `off` runs no board.
    board_listen: Option<String>,
    board_posts_per_minute: Option<usize>,
    /// Seconds a client may take to send a whole request (10), its headers (5).
    board_request_seconds: Option<u64>,
    board_header_seconds: Option<u64>,
    /// Seconds a board connection may stay open without a request (5).
    board_idle_seconds: Option<u64>,
    /// Board connections open at once, in all (256) and from one IP address (16).
    board_max_connections: Option<usize>,
    board_max_connections_per_address: Option<usize>,
    /// With both, the board is served over HTTPS: the certificate chain
    /// (PEM, the board's own certificate first) and its private key (PEM).
    board_certificate: Option<PathBuf>,
    board_private_key: Option<PathBuf>,
    /// Seconds between tries of a bill that failed or bounced (60).
    retry_seconds: Option<u64>,
}

/// The board's limits: the defaults of [`Limits`], changed by the file.
fn board_limits(file: &ShopFile) -> Limits {
    let default = Limits::default();
    let seconds =
        |value: Option<u64>, default: Duration| value.map_or(default, |s| Duration::from_secs(s.max(1)));
    Limits {
        posts_per_window: file.board_posts_per_minute.unwrap_or(default.posts_per_window),
        request_time: seconds(file.board_request_seconds, default.request_time),
        header_time: seconds(file.board_header_seconds, default.header_time),
        idle_time: seconds(file.board_idle_seconds, default.idle_time),
        max_connections: file.board_max_connections.unwrap_or(default.max_connections).max(1),
        max_connections_per_address: file
            .board_max_connections_per_address
            .unwrap_or(default.max_connections_per_address)
            .max(1),
        ..default
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let file: ShopFile = cli::load(cli.common.config.as_deref(), "merchant")?;
    let dir = cli::data_dir(cli.common.data_dir.clone(), file.data_dir.clone(), "merchant")?;
    let (shop_db, board_db) = (dir.join("shop.sqlite"), dir.join("board.sqlite"));
    match cli.command {
        Command::Run(args) => {
            let limits = board_limits(&file);
            let (account, login) = args.account(file.account.clone(), "the shop's")?;
            let bank = file.bank.ok_or_else(|| {
                usage("the --config file must name the shop's bank: bank = \"bank@example.com\"")
            })?;
            let pricing = match &file.catalogue {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
                    Pricing::Catalogue(
                        Catalogue::from_toml(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?,
                    )
                }
                None => Pricing::AsOrdered,
            };
            let listen = file.board_listen.unwrap_or_else(|| "127.0.0.1:8025".into());
            let retry_every = Duration::from_secs(file.retry_seconds.unwrap_or(60).max(1));
            let board_tls = match (&file.board_certificate, &file.board_private_key) {
                (Some(cert), Some(key)) => Some(tls::server_config(cert, key).map_err(usage)?.into()),
                (None, None) => None,
                _ => {
                    return Err(usage(
                        "give both board_certificate and board_private_key to serve the board over HTTPS, or neither",
                    ));
                }
            };
            let config = DaemonConfig {
                account,
                login,
                bank,
                pricing,
                shop_db,
                board_db,
                board_limits: limits,
                board_tls,
                retry_every,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(fail)?;
            let why = runtime.block_on(async {
                let listener = if listen == "off" {
                    None
                } else {
                    Some(
                        tokio::net::TcpListener::bind(&listen)
                            .await
                            .map_err(|e| fail(format!("cannot serve the board on {listen}: {e}")))?,
                    )
                };
                Ok::<_, Failure>(daemon::run(config, listener).await)
            })?;
            Err(fail(why))
        }
        Command::Orders { json } => {
            let orders = Shop::open(&shop_db).map_err(fail)?.orders().map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&orders).map_err(fail)?);
            } else {
                for o in orders {
                    println!("{}  {:<9}  {}  {}  {}", o.order, o.state, o.orderer, o.amount, o.note);
                }
            }
            Ok(())
        }
        Command::VerifyBoard => {
            let log = BoardLog::open(&board_db).map_err(fail)?;
            let (head, count) = log.head().map_err(fail)?;
            println!("{count} records, chain intact, head {head}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    cli::main(run)
}
