//! The wallet's mail accounts, kept one way for the app and the command
//! line: each in the configuration file (servers and login name, never a
//! secret), its password only in the OS keyring.

use crate::config::Config;
use crate::mail::account::{Account, Auth, Route};
use crate::mail::login::Login;
use crate::mail::smtp::Smtp;
use crate::oauth::{Grant, store as oauth_store};
use crate::paths::Paths;
use crate::protocol::EmailAddress;
use crate::secrets::Keyring;

use super::steps::WalletError;

/// What adding an account did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The configuration as it is now.
    pub config: Config,
    /// Which keyring holds the password (for the user to know).
    pub keyring: &'static str,
}

/// Stores `password` in the keyring and the account in the configuration
/// file (replacing one of the same address); blocking.
pub fn add(paths: &Paths, account: Account, password: &str) -> Result<Added, WalletError> {
    let keyring = Keyring::system()?;
    keyring.set_password(account.address.as_str(), password)?;
    // An OAuth2 sign-in of the same address is no longer used.
    let _ = oauth_store::delete(&keyring, account.address.as_str());
    let path = paths.config_file();
    let mut config = Config::load(&path)?;
    config.upsert(account);
    config.save(&path)?;
    Ok(Added { config, keyring: keyring.name() })
}

/// Stores an OAuth2 sign-in's `grant` in the keyring (entry
/// `oauth:ADDRESS`, not the password's) and the account, whose `auth` is
/// OAuth2, in the configuration file; blocking.
pub fn add_oauth(paths: &Paths, account: Account, grant: &Grant) -> Result<Added, WalletError> {
    let keyring = Keyring::system()?;
    oauth_store::save(&keyring, account.address.as_str(), grant).map_err(|e| {
        WalletError::Secret(crate::secrets::SecretError::Store {
            store: keyring.name(),
            reason: e.to_string(),
        })
    })?;
    // A password of the same address is no longer used.
    let _ = keyring.delete(account.address.as_str());
    let path = paths.config_file();
    let mut config = Config::load(&path)?;
    config.upsert(account);
    config.save(&path)?;
    Ok(Added { config, keyring: keyring.name() })
}

/// Keeps an account whose mails go through a mail client that holds it
/// (Thunderbird): the configuration file only, no secret; blocking.
pub fn add_through_thunderbird(paths: &Paths, account: Account) -> Result<Config, WalletError> {
    let path = paths.config_file();
    let mut config = Config::load(&path)?;
    config.upsert(account);
    config.save(&path)?;
    Ok(config)
}

/// The account Thunderbird carries for this wallet: the one set to go
/// through Thunderbird among `identities` (Thunderbird's addresses), else,
/// in a wallet with no account at all, Thunderbird's first address, added
/// then (`true`). `None`: none of the wallet's accounts is Thunderbird's.
/// Blocking.
pub fn carried_by_thunderbird(
    paths: &Paths,
    identities: &[EmailAddress],
) -> Result<Option<(EmailAddress, bool)>, WalletError> {
    let config = Config::load(&paths.config_file())?;
    let carried = |a: &&Account| a.route == Route::Thunderbird && identities.contains(&a.address);
    if let Some(account) = config.accounts.iter().find(carried) {
        return Ok(Some((account.address.clone(), false)));
    }
    match identities.first() {
        Some(first) if config.accounts.is_empty() => {
            let mut account = Account::guess(first.clone());
            account.route = Route::Thunderbird;
            add_through_thunderbird(paths, account)?;
            Ok(Some((first.clone(), true)))
        }
        _ => Ok(None),
    }
}

/// Takes the account out of the configuration file, then its password out
/// of the keyring; its payments stay in the wallet. Blocking.
pub fn remove(paths: &Paths, address: &EmailAddress) -> Result<Config, WalletError> {
    let path = paths.config_file();
    let mut config = Config::load(&path)?;
    let address = config.account(Some(address.as_str()))?.address.clone();
    let through_client = config.account(Some(address.as_str()))?.route == Route::Thunderbird;
    let oauth = config.account(Some(address.as_str()))?.auth == Auth::OAuth2;
    config.remove(&address);
    config.save(&path)?;
    if !through_client {
        let keyring = Keyring::system()?;
        keyring.delete(address.as_str())?;
        if oauth {
            oauth_store::delete(&keyring, address.as_str()).map_err(|e| {
                WalletError::Secret(crate::secrets::SecretError::Store {
                    store: keyring.name(),
                    reason: e.to_string(),
                })
            })?;
        }
    }
    Ok(config)
}

/// The outcome of logging in to each server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    pub smtp: Result<(), String>,
    pub imap: Result<(), String>,
}

/// Logs in to the account's SMTP and IMAP servers at once, and out again.
pub async fn test(account: &Account, password: &str) -> ConnectionReport {
    test_login(account, &Login::password(password)).await
}

/// [`test`] with `login` (a password or OAuth2).
pub async fn test_login(account: &Account, login: &Login) -> ConnectionReport {
    let smtp = async {
        let smtp = Smtp::with_login(account, login.clone()).map_err(|e| e.to_string())?;
        smtp.test_connection().await.map_err(|e| e.to_string())
    };
    let imap = async {
        let mut session = crate::mail::imap::connect_with(account, login).await.map_err(|e| e.to_string())?;
        let _ = session.logout().await;
        Ok(())
    };
    let (smtp, imap) = tokio::join!(smtp, imap);
    ConnectionReport { smtp, imap }
}
