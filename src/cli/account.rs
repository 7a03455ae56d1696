//! `mailpay account ...`: accounts in the configuration file, passwords in
//! the OS keyring.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::autoconfig;
use crate::config::Config;
use crate::mail::account::{Account, Route, Security, Server};
use crate::paths::Paths;
use crate::protocol::EmailAddress;
use crate::secrets::Keyring;
use crate::wallet;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add or replace an account; the password is read from standard input.
    Add {
        address: EmailAddress,
        /// SMTP server as HOST:PORT (guessed from the address when omitted).
        #[arg(long)]
        smtp: Option<String>,
        #[arg(long, value_parser = parse_security)]
        smtp_security: Option<Security>,
        /// IMAP server as HOST:PORT (guessed from the address when omitted).
        #[arg(long)]
        imap: Option<String>,
        #[arg(long, value_parser = parse_security)]
        imap_security: Option<Security>,
        /// Login name, when it is not the address.
        #[arg(long)]
        username: Option<String>,
        /// An extra CA certificate (PEM) to trust for this account's servers.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Send and watch through Thunderbird, which holds the account
        /// (MailPay's add-on in it): no password is asked or stored.
        #[arg(long, conflicts_with_all = ["smtp", "smtp_security", "imap", "imap_security", "username", "ca_file"])]
        through_thunderbird: bool,
    },
    /// Find an address's mail servers: MailPay's provider list, the
    /// domain's published settings (autoconfig), its DNS (SRV, MX), or a
    /// guess; prints the servers, where they came from, how to sign in,
    /// what to do once, and what failed on the way. Nothing is saved.
    Discover {
        address: EmailAddress,
        /// An extra CA certificate (PEM) to trust for the domain's HTTPS.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Ask this DNS server (IP:PORT) instead of the system's.
        #[arg(long)]
        name_server: Option<std::net::SocketAddr>,
        /// Only MailPay's provider list, no network.
        #[arg(long)]
        offline: bool,
    },
    /// List the configured accounts.
    List,
    /// Log in to the account's SMTP and IMAP servers and report.
    Test { address: Option<String> },
    /// Remove an account and its stored password.
    Remove { address: String },
}

fn parse_security(s: &str) -> Result<Security, String> {
    match s {
        "tls" => Ok(Security::Tls),
        "starttls" => Ok(Security::Starttls),
        other => Err(format!("{other:?}: expected tls or starttls")),
    }
}

fn server(spec: Option<String>, security: Option<Security>, guessed: Server) -> Result<Server, CliError> {
    let mut server = guessed;
    if let Some(spec) = spec {
        let (host, port) =
            spec.rsplit_once(':').ok_or_else(|| CliError::Usage(format!("{spec:?}: expected HOST:PORT")))?;
        server.host = host.to_string();
        server.port = port.parse().map_err(|_| CliError::Usage(format!("{port:?} is not a port number")))?;
        server.security = if matches!(server.port, 465 | 993) { Security::Tls } else { Security::Starttls };
    }
    if let Some(security) = security {
        server.security = security;
    }
    Ok(server)
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn run(command: AccountCommand) -> Result<(), CliError> {
    // Needs no configuration: a broken one does not stop it.
    if let AccountCommand::Discover { address, ca_file, name_server, offline } = command {
        return discover(&address, ca_file, name_server, offline);
    }
    let paths = Paths::from_env().map_err(fail)?;
    let config_path = paths.config_file();
    let config = Config::load(&config_path).map_err(fail)?;
    match command {
        AccountCommand::Add { address, through_thunderbird: true, .. } => {
            let mut account = Account::guess(address);
            account.route = Route::Thunderbird;
            let address = account.address.clone();
            wallet::accounts::add_through_thunderbird(&paths, account).map_err(fail)?;
            println!("{address}: sends and watches through Thunderbird (no password kept by MailPay)");
            println!("configuration written to {}", config_path.display());
            if !super::thunderbird::host_installed() {
                println!("set up Thunderbird's side once with `mailpay thunderbird install`");
            }
            Ok(())
        }
        AccountCommand::Add {
            address, smtp, smtp_security, imap, imap_security, username, ca_file, ..
        } => {
            let guessed = Account::guess(address.clone());
            let account = Account {
                username: username.unwrap_or_else(|| address.to_string()),
                smtp: server(smtp, smtp_security, guessed.smtp)?,
                imap: server(imap, imap_security, guessed.imap)?,
                ca_file,
                address,
                route: Route::Servers,
            };
            let password = read_password(&account.address)?;
            let address = account.address.clone();
            let added = wallet::accounts::add(&paths, account, &password).map_err(fail)?;
            println!("{address}: password stored in the {}", added.keyring);
            println!("configuration written to {}", config_path.display());
            Ok(())
        }
        AccountCommand::Discover { address, ca_file, name_server, offline } => {
            discover(&address, ca_file, name_server, offline)
        }
        AccountCommand::List => {
            for a in &config.accounts {
                if a.route == Route::Thunderbird {
                    println!("{}  through Thunderbird", a.address);
                    continue;
                }
                println!(
                    "{}  smtp {}:{} ({:?})  imap {}:{} ({:?})",
                    a.address,
                    a.smtp.host,
                    a.smtp.port,
                    a.smtp.security,
                    a.imap.host,
                    a.imap.port,
                    a.imap.security
                );
            }
            Ok(())
        }
        AccountCommand::Test { address } => {
            let account = config.account(address.as_deref()).map_err(fail)?.clone();
            if account.route == Route::Thunderbird {
                return super::thunderbird::status();
            }
            let password =
                Keyring::system().and_then(|k| k.password(account.address.as_str())).map_err(fail)?;
            let report = super::runtime()?.block_on(wallet::accounts::test(&account, &password));
            let mut failed = Vec::new();
            for (name, server, result) in
                [("SMTP", &account.smtp, &report.smtp), ("IMAP", &account.imap, &report.imap)]
            {
                match result {
                    Ok(()) => println!("{name} {}:{}: login OK", server.host, server.port),
                    Err(e) => {
                        println!("{name} {}:{}: {e}", server.host, server.port);
                        failed.push(name);
                    }
                }
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(CliError::Failed(format!(
                    "{} of {} failed (see above)",
                    failed.join(" and "),
                    account.address
                )))
            }
        }
        AccountCommand::Remove { address } => {
            let account = config.account(Some(&address)).map_err(fail)?.clone();
            wallet::accounts::remove(&paths, &account.address).map_err(fail)?;
            println!("{} removed", account.address);
            Ok(())
        }
    }
}

/// Prints what [`autoconfig::discover`] finds for `address`.
fn discover(
    address: &EmailAddress,
    ca_file: Option<PathBuf>,
    name_server: Option<std::net::SocketAddr>,
    offline: bool,
) -> Result<(), CliError> {
    let options = autoconfig::Options { ca_file, name_server, offline, ..autoconfig::Options::default() };
    let found = super::runtime()?.block_on(autoconfig::discover(address, &options));
    println!("{found}");
    Ok(())
}

/// One line from standard input, with a prompt when it is a terminal.
fn read_password(address: &EmailAddress) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for {address}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage("the password is empty".into()));
    }
    Ok(password)
}
