//! Sending built mails over SMTP with lettre: TLS required, certificates
//! checked. Each mail goes on a connection of its own, so that the order
//! and the payment request go out at the same moment.
//!
//! The connection is opened here rather than by lettre's transport, for
//! the sake of time: lettre leaves Nagle's algorithm on, and its small
//! writes then wait for the server's delayed ACK (40 ms each on Linux),
//! which made a mail take about 90 ms on loopback instead of about 5. Here
//! the socket is a [`QuickAck`] (no Nagle, and quick ACKs: without them a
//! server that writes its TLS handshake in pieces waited 40 ms for our ACK
//! in about one handshake in three). Implicit TLS uses the same TLS set-up
//! as IMAP ([`super::tls`]); STARTTLS, password AUTH and the transaction
//! are lettre's. OAuth2 logins (XOAUTH2, OAUTHBEARER) are sent here as
//! AUTH commands on lettre's connection: lettre's own XOAUTH2 stops at the
//! server's error challenge without reading it, so an expired token would
//! look like a broken connection instead of a refused token that a
//! refresh may cure.

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use super::account::{Account, Security, Server};
use super::login::Login;
use super::tcp::QuickAck;
use super::tls;
use crate::oauth::OAuthError;
use crate::oauth::sasl::Refusal;
use crate::oauth::session::TokenSource;
use crate::protocol::compose::Outgoing;

/// How long connecting, or any one exchange with the server, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The mail client that sends for the wallet (Thunderbird) did not.
    #[error("{client} did not send the mail: {reason}")]
    MailClient { client: String, reason: String, temporary: bool },
    /// No OAuth2 access token could be had (the token endpoint is down, or
    /// the user must sign in again): the mail waits for it.
    #[error("{0}")]
    OAuth(OAuthError),
}

impl SendError {
    /// Worth retrying later with the same bytes and Message-ID.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            SendError::Temporary { .. }
                | SendError::Connection { .. }
                | SendError::MailClient { temporary: true, .. }
                | SendError::OAuth(_)
        )
    }

    /// Only signing in again (in the browser) helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, SendError::OAuth(e) if e.needs_sign_in())
    }
}

/// One mail's outcome, with when it was in flight.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub message_id: String,
    /// The Message-ID the mail went out with, when the carrier chose its
    /// own instead of `message_id` (a mail client does).
    pub sent_as: Option<String>,
    pub result: Result<(), SendError>,
    pub started: Instant,
    pub finished: Instant,
}

impl Dispatch {
    /// `mail`'s outcome, in flight from `started` until now: sent (under
    /// the Message-ID the carrier chose, when it chose one) or why not.
    pub fn of(mail: &Outgoing, result: Result<Option<String>, SendError>, started: Instant) -> Dispatch {
        let (sent_as, result) = match result {
            Ok(sent_as) => (sent_as, Ok(())),
            Err(e) => (None, Err(e)),
        };
        Dispatch { message_id: mail.message_id.clone(), sent_as, result, started, finished: Instant::now() }
    }
}

/// An SMTP client for one account.
#[derive(Clone)]
pub struct Smtp {
    server: Server,
    /// For STARTTLS (lettre upgrades the connection).
    starttls: TlsParameters,
    /// For implicit TLS (the connection is TLS from the first byte).
    implicit: std::sync::Arc<ClientConfig>,
    login: Login,
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
        Smtp::with_login(account, Login::password(password))
    }

    /// A client that logs in with `login` (a password or OAuth2).
    pub fn with_login(account: &Account, login: Login) -> Result<Self, SendError> {
        let server = &account.smtp;
        let tls_error = |reason: String| SendError::Tls { host: server.host.clone(), reason };
        let mut starttls = TlsParameters::builder(server.host.clone());
        if let Some(path) = &account.ca_file {
            let ca_error = |reason: String| SendError::CaFile { path: path.display().to_string(), reason };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            starttls = starttls
                .add_root_certificate(Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?);
        }
        let starttls = starttls.build_rustls().map_err(|e| tls_error(e.to_string()))?;
        let implicit = tls::client_config(account.ca_file.as_deref()).map_err(|e| match e {
            tls::TlsError::CaFile { path, reason } => {
                SendError::CaFile { path: path.display().to_string(), reason }
            }
            other => tls_error(other.to_string()),
        })?;
        Ok(Smtp {
            server: server.clone(),
            starttls,
            implicit,
            login,
            host: server.host.clone(),
            user: account.username.clone(),
        })
    }

    /// Sends one mail; `Ok` once the server has accepted it.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let from =
            mail.from.as_str().parse().map_err(|e| SendError::Address(format!("{}: {e}", mail.from)))?;
        let to = mail.to.as_str().parse().map_err(|e| SendError::Address(format!("{}: {e}", mail.to)))?;
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| SendError::Address(e.to_string()))?;
        let mut connection = self.session().await?;
        self.timed(connection.send(&envelope, &mail.bytes)).await.map_err(|e| match e {
            Failure::Smtp(e) => self.classify(&e, mail),
            Failure::Other(e) => e,
        })?;
        // The mail is accepted; a failed goodbye changes nothing.
        let _ = tokio::time::timeout(TIMEOUT, connection.quit()).await;
        Ok(())
    }

    /// Sends all mails at once, each on its own connection, and
    /// reports each mail's outcome.
    pub async fn send_all(&self, mails: &[Outgoing]) -> Vec<Dispatch> {
        futures_util::future::join_all(mails.iter().map(|mail| async move {
            let started = Instant::now();
            let result = self.send(mail).await;
            Dispatch::of(mail, result.map(|()| None), started)
        }))
        .await
    }

    /// Logs in and says goodbye, to check an account's settings.
    pub async fn test_connection(&self) -> Result<(), SendError> {
        let mut connection = self.session().await?;
        let _ = tokio::time::timeout(TIMEOUT, connection.quit()).await;
        Ok(())
    }

    /// A connection that is encrypted and logged in.
    async fn session(&self) -> Result<AsyncSmtpConnection, SendError> {
        let broken = |reason: String| SendError::Connection { host: self.host.clone(), reason };
        let address = (self.server.host.as_str(), self.server.port);
        let tcp = match tokio::time::timeout(TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(broken(e.to_string())),
            Err(_) => return Err(broken(format!("no answer within {TIMEOUT:?}"))),
        };
        let tcp = QuickAck::new(tcp).map_err(|e| broken(e.to_string()))?;
        let hello = ClientId::default();
        let plain = |e: Failure| match e {
            Failure::Smtp(e) => self.classify_plain(&e),
            Failure::Other(e) => e,
        };
        let mut connection = match self.server.security {
            Security::Tls => {
                let name = ServerName::try_from(self.server.host.clone())
                    .map_err(|e| SendError::Tls { host: self.host.clone(), reason: e.to_string() })?;
                let handshake = TlsConnector::from(self.implicit.clone()).connect(name, tcp);
                let stream = match tokio::time::timeout(TIMEOUT, handshake).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        return Err(SendError::Tls { host: self.host.clone(), reason: e.to_string() });
                    }
                    Err(_) => return Err(broken(format!("no TLS handshake within {TIMEOUT:?}"))),
                };
                let stream: Box<dyn AsyncTokioStream> = Box::new(TlsTcp(stream));
                self.timed(AsyncSmtpConnection::connect_with_transport(stream, &hello))
                    .await
                    .map_err(plain)?
            }
            Security::Starttls => {
                let stream: Box<dyn AsyncTokioStream> = Box::new(tcp);
                let mut connection = self
                    .timed(AsyncSmtpConnection::connect_with_transport(stream, &hello))
                    .await
                    .map_err(plain)?;
                if !connection.can_starttls() {
                    return Err(SendError::Tls {
                        host: self.host.clone(),
                        reason: "the server does not offer STARTTLS, and MailPay never sends in the clear"
                            .into(),
                    });
                }
                self.timed(connection.starttls(self.starttls.clone(), &hello)).await.map_err(plain)?;
                connection
            }
        };
        match &self.login {
            Login::Password(password) => {
                let credentials = Credentials::new(self.user.clone(), password.expose().to_string());
                self.timed(connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials))
                    .await
                    .map_err(plain)?;
            }
            Login::OAuth2(source) => self.oauth_login(&mut connection, source).await?,
        }
        Ok(connection)
    }

    /// AUTH XOAUTH2 or OAUTHBEARER with the source's access token; a
    /// refused token is refreshed once and tried again.
    async fn oauth_login(
        &self,
        connection: &mut AsyncSmtpConnection,
        source: &TokenSource,
    ) -> Result<(), SendError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mechanism = source.mechanism();
        let mut token = source.bearer().await.map_err(SendError::OAuth)?;
        let mut attempt = 1;
        loop {
            let initial =
                mechanism.initial_response(&self.user, &self.server.host, self.server.port, token.expose());
            let command = AuthLine(format!("AUTH {} {}", mechanism.name(), b64.encode(initial)));
            let refused = match self.timed(connection.command(command)).await {
                Ok(reply) if reply.has_code(334) => {
                    let refusal = challenge(&reply).and_then(|c| Refusal::parse(&c));
                    let ack = AuthLine(b64.encode(mechanism.error_acknowledgement()));
                    let last = self.timed(connection.command(ack)).await;
                    let reply = match last {
                        Ok(reply) => reply.first_line().unwrap_or_default().to_string(),
                        Err(Failure::Smtp(e)) => e.to_string(),
                        Err(Failure::Other(e)) => return Err(e),
                    };
                    (refusal, reply)
                }
                Ok(_) => return Ok(()),
                Err(Failure::Smtp(e)) if e.status().is_some_and(|c| c.to_string() == "535") => {
                    (None, e.to_string())
                }
                Err(Failure::Smtp(e)) => return Err(self.classify_plain(&e)),
                Err(Failure::Other(e)) => return Err(e),
            };
            let (refusal, reply) = refused;
            let reason = match &refusal {
                Some(refusal) => format!("{refusal}; {reply}"),
                None => reply,
            };
            let next =
                source.after_rejection(&token, attempt, refusal.as_ref()).await.map_err(SendError::OAuth)?;
            let Some(next) = next else {
                return Err(SendError::Login { user: self.user.clone(), reply: reason });
            };
            token = next;
            attempt += 1;
        }
    }

    async fn timed<T>(
        &self,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(TIMEOUT, step).await {
            Ok(result) => result.map_err(Failure::Smtp),
            Err(_) => Err(Failure::Other(SendError::Connection {
                host: self.host.clone(),
                reason: format!("the server did not answer within {TIMEOUT:?}"),
            })),
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
        } else if e.is_tls() || tls_failure(e) {
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

/// Whether the error comes from the TLS handshake (e.g. an untrusted
/// certificate) even where lettre files it under the connection: with
/// implicit TLS the handshake fails inside the connect.
fn tls_failure(e: &lettre::transport::smtp::Error) -> bool {
    use tokio_rustls::rustls;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// One line of a SASL exchange, sent as it is.
struct AuthLine(String);

impl std::fmt::Display for AuthLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\r\n", self.0)
    }
}

/// A 334 reply's challenge, base64-decoded.
fn challenge(reply: &Response) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = reply.first_line()?.trim();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A step's failure: the server's (or lettre's) error, or one of ours.
enum Failure {
    Smtp(lettre::transport::smtp::Error),
    Other(SendError),
}

impl AsyncTokioStream for QuickAck {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.get_ref().peer_addr()
    }
}

/// An implicit-TLS connection, handed to lettre as its stream.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<QuickAck>);

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.get_ref().peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
