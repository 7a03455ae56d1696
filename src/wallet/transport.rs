//! How a wallet's mails leave: the one thing the wallet asks of whatever
//! carries them. The account's own SMTP server ([`MailServers`]) is one;
//! the demo's in-process mail loop is another; a mail client that sends on
//! the wallet's behalf would be a third. What arrives comes back to the
//! wallet as raw mails through [`super::steps::take`], whatever brought
//! them.
//!
//! A transport may rebuild the MIME around a mail (a mail client does):
//! only the MailPay block in the text and the headers of PROTOCOL.md 4
//! matter to the other side. It must say, for each mail, whether the next
//! hop took it: the wallet records exactly that, and sends again only what
//! was not taken.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use crate::mail::account::Account;
use crate::mail::expecting::{ANSWER_WINDOW, Expecting};
use crate::mail::login::Login;
use crate::mail::smtp::{Dispatch, SendError, Smtp};
use crate::protocol::compose::Outgoing;

/// A boxed future, so that transports can be chosen at run time.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Vec<Dispatch>> + Send + 'a>>;

pub trait Transport: Send + Sync {
    /// Sends every mail, concurrently where it can: one [`Dispatch`] per
    /// mail, in the order given, saying whether the next hop took it.
    fn send<'a>(&'a self, mails: &'a [Outgoing]) -> Sending<'a>;

    /// An extra CA (PEM) the account trusts besides the system's, which
    /// also serves for the merchant's `https://` board.
    fn extra_ca(&self) -> Option<&Path> {
        None
    }
}

/// The account's own mail servers: SMTP out; the inbox watcher of the same
/// account looks for the answer eagerly once a mail has left.
#[derive(Clone)]
pub struct MailServers {
    account: Account,
    login: Login,
    expecting: Expecting,
    /// Made at the first send and kept (its TLS setup is not free).
    smtp: Arc<OnceLock<Result<Smtp, SendError>>>,
}

impl std::fmt::Debug for MailServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailServers({}, password <redacted>)", self.account.address)
    }
}

impl MailServers {
    pub fn new(account: Account, password: &str) -> MailServers {
        MailServers::with_login(account, Login::password(password))
    }

    /// Servers logged in to with `login` (a password or OAuth2).
    pub fn with_login(account: Account, login: Login) -> MailServers {
        MailServers { account, login, expecting: Expecting::new(), smtp: Arc::default() }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn login(&self) -> &Login {
        &self.login
    }

    /// Shared with the account's inbox watcher.
    pub fn expecting(&self) -> &Expecting {
        &self.expecting
    }
}

impl Transport for MailServers {
    fn send<'a>(&'a self, mails: &'a [Outgoing]) -> Sending<'a> {
        Box::pin(async move {
            self.expecting.expect_within(ANSWER_WINDOW);
            match self.smtp.get_or_init(|| Smtp::with_login(&self.account, self.login.clone())) {
                Ok(smtp) => smtp.send_all(mails).await,
                // No connection can be made at all (a CA file that cannot
                // be read): every mail says why.
                Err(e) => mails
                    .iter()
                    .map(|mail| Dispatch::of(mail, Err(e.clone()), std::time::Instant::now()))
                    .collect(),
            }
        })
    }

    fn extra_ca(&self) -> Option<&Path> {
        self.account.ca_file.as_deref()
    }
}
