//! `mailpay account ...`: accounts in the configuration file, passwords in
//! the OS keyring.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::autoconfig::{self, Discovery};
use crate::config::Config;
use crate::mail::account::{Account, Auth, Route, Security, Server};
use crate::mail::login::Login;
use crate::oauth::provider::{OAuth2Settings, Provider, ProviderKind};
use crate::oauth::{Grant, Mechanism, SignIn};
use crate::paths::Paths;
use crate::protocol::EmailAddress;
use crate::wallet;

// Parsed once per run: the size of `Add` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add or replace an account; the password is read from standard input,
    /// or, with --oauth, the account is signed in to in the browser.
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
        #[arg(long, conflicts_with_all = ["smtp", "smtp_security", "imap", "imap_security", "username", "ca_file", "oauth"])]
        through_thunderbird: bool,
        /// Sign in with OAuth2 in the browser instead of a password (Gmail,
        /// Outlook.com, or a provider named with --oauth-auth-url and
        /// --oauth-token-url): the refresh token goes to the OS keyring.
        #[arg(long)]
        oauth: bool,
        #[command(flatten)]
        oauth_options: OAuthOptions,
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

/// Where and as what to sign in, when the provider is not guessed from
/// the address (and the client registration is not the build's).
#[derive(Debug, Default, clap::Args)]
pub struct OAuthOptions {
    /// The provider: google, microsoft or custom (guessed from the address).
    #[arg(long, requires = "oauth", value_parser = parse_provider)]
    oauth_provider: Option<ProviderKind>,
    /// The provider's authorization endpoint (a custom provider).
    #[arg(long, requires = "oauth")]
    oauth_auth_url: Option<String>,
    /// The provider's token endpoint (a custom provider).
    #[arg(long, requires = "oauth")]
    oauth_token_url: Option<String>,
    /// Who issues the tokens (a custom provider).
    #[arg(long, requires = "oauth")]
    oauth_issuer: Option<String>,
    /// The scopes to ask for, instead of the provider's (repeatable).
    #[arg(long, requires = "oauth")]
    oauth_scope: Vec<String>,
    /// An OAuth2 client id of your own, instead of the build's.
    #[arg(long, requires = "oauth")]
    oauth_client_id: Option<String>,
    /// The client secret that goes with --oauth-client-id, if the provider gave one.
    #[arg(long, requires = "oauth_client_id")]
    oauth_client_secret: Option<String>,
    /// The SASL mechanism: xoauth2 (default) or oauthbearer.
    #[arg(long, requires = "oauth", value_parser = parse_mechanism)]
    oauth_mechanism: Option<Mechanism>,
}

impl OAuthOptions {
    /// The sign-in as the options give it, else as the provider publishes
    /// it (`found`: the lookup of the address's mail settings).
    fn settings(self, address: &EmailAddress, found: Option<&Discovery>) -> Result<OAuth2Settings, CliError> {
        let custom = self.oauth_auth_url.is_some() || self.oauth_token_url.is_some();
        let mut settings = match (self.oauth_provider, custom) {
            (Some(provider), _) => OAuth2Settings::of(provider),
            (None, true) => OAuth2Settings::of(ProviderKind::Custom),
            (None, false) => found.and_then(Discovery::oauth2_settings).ok_or_else(|| {
                CliError::Usage(format!(
                    "MailPay does not know who signs in {address}: give --oauth-provider google or microsoft, \
                     or the provider's --oauth-auth-url and --oauth-token-url"
                ))
            })?,
        };
        settings.mechanism = self.oauth_mechanism.unwrap_or_default();
        let given = |option: Option<String>, found: &mut Option<String>| {
            if option.is_some() {
                *found = option;
            }
        };
        given(self.oauth_issuer, &mut settings.issuer);
        given(self.oauth_auth_url, &mut settings.auth_url);
        given(self.oauth_token_url, &mut settings.token_url);
        if !self.oauth_scope.is_empty() {
            settings.scopes = Some(self.oauth_scope);
        }
        settings.client_id = self.oauth_client_id;
        settings.client_secret = self.oauth_client_secret;
        Ok(settings)
    }
}

fn parse_provider(s: &str) -> Result<ProviderKind, String> {
    match s {
        "google" => Ok(ProviderKind::Google),
        "microsoft" => Ok(ProviderKind::Microsoft),
        "custom" => Ok(ProviderKind::Custom),
        other => Err(format!("{other:?}: expected google, microsoft or custom")),
    }
}

fn parse_mechanism(s: &str) -> Result<Mechanism, String> {
    match s.to_ascii_lowercase().as_str() {
        "xoauth2" => Ok(Mechanism::Xoauth2),
        "oauthbearer" => Ok(Mechanism::Oauthbearer),
        other => Err(format!("{other:?}: expected xoauth2 or oauthbearer")),
    }
}

/// Signs in in the browser (or prints the URL to open), and waits for it.
fn sign_in(provider: Provider, address: &EmailAddress) -> Result<Grant, CliError> {
    super::runtime()?.block_on(async {
        let sign_in = SignIn::start(provider, address.as_str()).await.map_err(fail)?;
        match sign_in.open_browser() {
            Ok(()) => eprintln!(
                "Sign in to {address} in your browser. If no page opened, open this address:\n{}",
                sign_in.url()
            ),
            Err(why) => eprintln!(
                "No browser could be started ({why}). Open this address to sign in to {address}:\n{}",
                sign_in.url()
            ),
        }
        eprintln!("Waiting for the sign-in (up to 5 minutes)...");
        sign_in.finish().await.map_err(fail)
    })
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
            address,
            smtp,
            smtp_security,
            imap,
            imap_security,
            username,
            ca_file,
            oauth,
            oauth_options,
            ..
        } => {
            // Servers not given are looked up (the provider list, the
            // domain's published settings, its DNS), within 20 s.
            let found = (smtp.is_none() || imap.is_none()).then(|| {
                let found = super::runtime()
                    .map(|r| r.block_on(autoconfig::discover(&address, &autoconfig::Options::default())));
                if let Ok(found) = &found {
                    eprintln!("{address}: servers from {}", found.source);
                    for quirk in &found.quirks {
                        eprintln!("  {quirk}");
                    }
                }
                found
            });
            let found = found.transpose()?;
            let guessed =
                found.as_ref().map_or_else(|| Account::guess(address.clone()), |f| f.account.clone());
            let mut account = Account {
                username: username.unwrap_or(guessed.username),
                smtp: server(smtp, smtp_security, guessed.smtp)?,
                imap: server(imap, imap_security, guessed.imap)?,
                ca_file,
                address,
                route: Route::Servers,
                auth: Auth::Password,
                oauth2: None,
            };
            if oauth {
                let settings = oauth_options.settings(&account.address, found.as_ref())?;
                let provider = Provider::from_settings(&settings).map_err(fail)?;
                let grant = sign_in(provider, &account.address)?;
                account.auth = Auth::OAuth2;
                account.oauth2 = Some(Box::new(settings));
                let address = account.address.clone();
                let added = wallet::accounts::add_oauth(&paths, account, &grant).map_err(fail)?;
                println!("{address}: signed in; the sign-in is kept in the {}", added.keyring);
                println!("configuration written to {}", config_path.display());
                return Ok(());
            }
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
                let login = match (&a.auth, &a.oauth2) {
                    (Auth::OAuth2, Some(settings)) => format!("  OAuth2 ({})", settings.describe()),
                    (Auth::OAuth2, None) => "  OAuth2".to_string(),
                    (Auth::Password, _) => String::new(),
                };
                println!(
                    "{}  smtp {}:{} ({:?})  imap {}:{} ({:?}){login}",
                    a.address,
                    a.smtp.host,
                    a.smtp.port,
                    a.smtp.security,
                    a.imap.host,
                    a.imap.port,
                    a.imap.security,
                );
            }
            Ok(())
        }
        AccountCommand::Test { address } => {
            let account = config.account(address.as_deref()).map_err(fail)?.clone();
            if account.route == Route::Thunderbird {
                return super::thunderbird::status();
            }
            let login = Login::from_keyring(&account).map_err(fail)?;
            let report = super::runtime()?.block_on(wallet::accounts::test_login(&account, &login));
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
