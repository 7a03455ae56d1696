//! OAuth2 sign-in for mail accounts whose provider no longer takes a
//! password (Gmail, Outlook.com): the authorization code grant with PKCE
//! and a loopback redirect (RFC 8252), refresh tokens kept in the OS
//! keyring, and the SASL mechanisms that log in with the access token
//! (XOAUTH2, OAUTHBEARER).
//!
//! The protocol core does no I/O and is tested on its own:
//! - [`provider`]: Google, Microsoft or explicit endpoints, and the
//!   client registration (client id, secret) the build or the
//!   configuration brings;
//! - [`grant`]: the authorization URL, the redirect's check, the code
//!   exchange and the refresh (the HTTP call is handed in);
//! - [`tokens`]: what is kept of a grant and when to refresh it;
//! - [`sasl`]: the login strings and the server's error challenge.
//!
//! The edges, each small: [`listener`] (the loopback redirect),
//! [`browser`] (opening the system browser), [`transport`] (the HTTPS
//! client for the token endpoint), [`store`] (the keyring entry) and
//! [`session`] (a sign-in from start to end, and the token source the mail
//! logins ask for a bearer token).

pub mod browser;
pub mod grant;
pub mod listener;
pub mod provider;
pub mod sasl;
pub mod session;
pub mod store;
pub mod tokens;
pub mod transport;

pub use provider::{Provider, ProviderKind, Registration};
pub use sasl::Mechanism;
pub use session::{SignIn, SignInCanceller, TokenSource};
pub use tokens::{Grant, TokenState};

/// Why an OAuth2 step failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error(
        "this build of MailPay has no OAuth2 client id for {provider}; set client_id in the \
         account's [account.oauth2] table of config.toml (see README, \"Signing in with OAuth2\"), \
         or use an app password from your provider instead"
    )]
    NoClientId { provider: String },
    #[error("the account has no OAuth2 settings: add it again with `mailpay account add ADDRESS --oauth`")]
    NotConfigured,
    #[error("{what} {url:?} is not usable: {reason}")]
    Endpoint { what: &'static str, url: String, reason: String },
    #[error(
        "the sign-in for {account} was revoked or has expired: sign in again with `mailpay account add {account} --oauth`"
    )]
    SignInAgain { account: String },
    #[error("the sign-in was declined in the browser: {reason}")]
    Declined { reason: String },
    #[error("the redirect to MailPay is not the one this sign-in expects: {reason}")]
    Redirect { reason: String },
    #[error("no answer from the browser within {minutes} minutes: the sign-in was given up")]
    TimedOut { minutes: u64 },
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("cannot wait for the browser's redirect on 127.0.0.1: {reason}")]
    Listen { reason: String },
    #[error("the provider's token endpoint cannot be reached: {reason}")]
    Unreachable { reason: String },
    #[error("the provider refused the token request: {reason}")]
    Refused { reason: String },
    #[error("the provider's answer is not a usable token: {reason}")]
    Answer { reason: String },
    #[error(
        "the signed-in account has no refresh token stored: sign in again with `mailpay account add {account} --oauth`"
    )]
    NoRefreshToken { account: String },
    #[error("{0}")]
    Keyring(String),
    #[error("the token file {path} cannot be used: {reason}")]
    TokenFile { path: String, reason: String },
}

impl OAuthError {
    /// Only a new sign-in in the browser helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, OAuthError::SignInAgain { .. } | OAuthError::NoRefreshToken { .. })
    }
}
