//! A mail account: address, servers, user name and how it logs in. The
//! password, or the OAuth2 grant, is not here: it lives in the OS keyring
//! (`crate::secrets`, `crate::oauth::store`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::oauth::provider::OAuth2Settings;
use crate::protocol::EmailAddress;

/// How a connection is secured. There is no plaintext mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTPS 465, IMAPS 993).
    Tls,
    /// Plain connection upgraded with STARTTLS before anything else (587, 143).
    Starttls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

/// What carries the account's mails for the wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// The wallet's own connections to the account's SMTP and IMAP servers,
    /// with the password (or token) from the OS keyring.
    #[default]
    Servers,
    /// Thunderbird, which holds the account: its MailPay add-on hands the
    /// wallet the MailPay mails that arrive and sends the wallet's mails
    /// from the user's own account (`crate::bridge`). MailPay needs no
    /// password; the servers below are not used.
    Thunderbird,
}

impl Route {
    pub fn is_servers(&self) -> bool {
        *self == Route::Servers
    }
}

/// How the account logs in to its servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// A password (or an app password) from the OS keyring.
    #[default]
    Password,
    /// An OAuth2 access token (XOAUTH2 or OAUTHBEARER), from the grant the
    /// keyring keeps; the provider is in the account's `oauth2` table.
    OAuth2,
}

impl Auth {
    pub fn is_password(&self) -> bool {
        *self == Auth::Password
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub address: EmailAddress,
    /// The login name; usually the address.
    pub username: String,
    pub smtp: Server,
    pub imap: Server,
    /// An extra CA to trust besides the system's (a private mail server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Route::is_servers")]
    pub route: Route,
    #[serde(default, skip_serializing_if = "Auth::is_password")]
    pub auth: Auth,
    /// The OAuth2 provider, with `auth = "oauth2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<Box<OAuth2Settings>>,
}

impl Account {
    /// The servers of the address's provider when MailPay's provider list
    /// has it, else the usual `imap.`/`smtp.` names of its domain; no
    /// network. [`crate::autoconfig::discover`] also asks the domain.
    pub fn guess(address: EmailAddress) -> Account {
        match crate::autoconfig::bundled(&address) {
            Some(found) => found.account,
            None => crate::autoconfig::generic_guess(&address),
        }
    }
}
