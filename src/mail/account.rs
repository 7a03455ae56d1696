//! A mail account: address, servers and user name. The password is not
//! here: it lives in the OS keyring (`crate::secrets`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
}

impl Account {
    /// Well-known providers' servers for an address, or the usual
    /// `smtp.`/`imap.` names of its domain.
    pub fn guess(address: EmailAddress) -> Account {
        let domain = address.domain().to_string();
        let (smtp, imap) = match domain.as_str() {
            "gmail.com" | "googlemail.com" => ("smtp.gmail.com".to_string(), "imap.gmail.com".to_string()),
            "outlook.com" | "hotmail.com" | "live.com" => {
                ("smtp-mail.outlook.com".to_string(), "outlook.office365.com".to_string())
            }
            "yahoo.com" | "yahoo.co.jp" => {
                ("smtp.mail.yahoo.com".to_string(), "imap.mail.yahoo.com".to_string())
            }
            "icloud.com" | "me.com" => ("smtp.mail.me.com".to_string(), "imap.mail.me.com".to_string()),
            "fastmail.com" => ("smtp.fastmail.com".to_string(), "imap.fastmail.com".to_string()),
            _ => (format!("smtp.{domain}"), format!("imap.{domain}")),
        };
        let starttls_smtp =
            matches!(domain.as_str(), "outlook.com" | "hotmail.com" | "live.com" | "icloud.com" | "me.com");
        Account {
            username: address.as_str().to_string(),
            address,
            smtp: if starttls_smtp {
                Server { host: smtp, port: 587, security: Security::Starttls }
            } else {
                Server { host: smtp, port: 465, security: Security::Tls }
            },
            imap: Server { host: imap, port: 993, security: Security::Tls },
            ca_file: None,
            route: Route::Servers,
        }
    }
}
