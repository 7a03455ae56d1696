//! Sending built mails over SMTP with lettre: TLS required, certificates
//! checked, and a connection pool so that the order and the payment
//! request go out at the same moment, each on its own connection.

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::account::{Account, Security};
use crate::protocol::compose::Outgoing;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the SMTP server refused the login for {user}: {reply}")]
    Login { user: String, reply: String },
    #[error("TLS with {host} failed (is the certificate trusted?): {reason}")]
    Tls { host: String, reason: String },
    #[error("the server refused the recipient {recipient}: {reply}")]
    RecipientRefused { recipient: String, reply: String },
    #[error("the server refused the mail for now, try again later: {reply}")]
    Temporary { reply: String },
    #[error("the server refused the mail: {reply}")]
    Refused { reply: String },
    #[error("the connection to {host} failed or broke before the server confirmed the mail: {reason}")]
    Connection { host: String, reason: String },
    #[error("the mail's addresses are not usable for SMTP: {0}")]
    Address(String),
    #[error("the CA file {path} cannot be used: {reason}")]
    CaFile { path: String, reason: String },
}

impl SendError {
    /// Worth retrying later with the same bytes and Message-ID.
    pub fn is_temporary(&self) -> bool {
        matches!(self, SendError::Temporary { .. } | SendError::Connection { .. })
    }
}

/// One mail's outcome, with when it was in flight.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub message_id: String,
    pub result: Result<(), SendError>,
    pub started: Instant,
    pub finished: Instant,
}

/// An SMTP client for one account.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    user: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Smtp({}@{})", self.user, self.host)
    }
}

impl Smtp {
    pub fn new(account: &Account, password: &str) -> Result<Self, SendError> {
        let server = &account.smtp;
        let mut tls = TlsParameters::builder(server.host.clone());
        if let Some(path) = &account.ca_file {
            let ca_error = |reason: String| SendError::CaFile { path: path.display().to_string(), reason };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| SendError::Tls { host: server.host.clone(), reason: e.to_string() })?;
        let tls = match server.security {
            Security::Tls => Tls::Wrapper(tls),
            Security::Starttls => Tls::Required(tls),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.as_str())
            .port(server.port)
            .tls(tls)
            .credentials(Credentials::new(account.username.clone(), password.to_string()))
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(4).idle_timeout(Duration::from_secs(60)))
            .build();
        Ok(Smtp { transport, host: server.host.clone(), user: account.username.clone() })
    }

    /// Sends one mail; `Ok` once the server has accepted it.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let from =
            mail.from.as_str().parse().map_err(|e| SendError::Address(format!("{}: {e}", mail.from)))?;
        let to = mail.to.as_str().parse().map_err(|e| SendError::Address(format!("{}: {e}", mail.to)))?;
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| SendError::Address(e.to_string()))?;
        self.transport.send_raw(&envelope, &mail.bytes).await.map(|_| ()).map_err(|e| self.classify(&e, mail))
    }

    /// Sends all mails at once, each on its own pooled connection, and
    /// reports each mail's outcome.
    pub async fn send_all(&self, mails: &[Outgoing]) -> Vec<Dispatch> {
        futures_util::future::join_all(mails.iter().map(|mail| async move {
            let started = Instant::now();
            let result = self.send(mail).await;
            Dispatch { message_id: mail.message_id.clone(), result, started, finished: Instant::now() }
        }))
        .await
    }

    /// Logs in and says goodbye, to check an account's settings.
    pub async fn test_connection(&self) -> Result<(), SendError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::Connection {
                host: self.host.clone(),
                reason: "the server did not answer NOOP".into(),
            }),
            Err(e) => Err(self.classify_plain(&e)),
        }
    }

    fn classify(&self, e: &lettre::transport::smtp::Error, mail: &Outgoing) -> SendError {
        let reply = e.to_string();
        if let Some(code) = e.status() {
            let code = code.to_string();
            let lower = reply.to_ascii_lowercase();
            if code.starts_with('5')
                && (lower.contains("recipient")
                    || lower.contains("5.1.1")
                    || lower.contains("user unknown")
                    || lower.contains("relay access denied"))
            {
                return SendError::RecipientRefused { recipient: mail.to.to_string(), reply };
            }
        }
        self.classify_plain(e)
    }

    fn classify_plain(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let reply = e.to_string();
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if code == "535" || code == "534" || code == "530" {
            SendError::Login { user: self.user.clone(), reply }
        } else if e.is_tls() {
            SendError::Tls { host: self.host.clone(), reason: reply }
        } else if e.is_transient() {
            SendError::Temporary { reply }
        } else if e.is_permanent() {
            SendError::Refused { reply }
        } else {
            SendError::Connection { host: self.host.clone(), reason: reply }
        }
    }
}
