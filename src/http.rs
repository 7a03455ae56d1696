//! A small HTTP/1.1 client: one request, one connection, its answer read
//! within limits. `https://` is TLS with the certificate checked against
//! the system's roots and, when given, an extra CA file (the same trust
//! as a mail account's, [`crate::mail::tls::client_config`]); plain
//! `http://` only for a client that allows it (a board on loopback).
//!
//! Every limit is checked while the answer comes in, not after: the whole
//! exchange (resolving, connecting, TLS, request and answer) is given
//! [`Limits::time`], and the body stops being read past
//! [`Limits::max_body`] bytes. Redirects are not followed: the caller
//! gets the 3xx answer and decides.
//!
//! The addresses to connect to come from a [`Resolve`] hook: the system's
//! resolver by default, or another one (the autoconfig lookup connects to
//! the addresses its own DNS resolver returns; the bank checks each
//! address against its board policy before it is connected to).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::mail::tls;

/// What one request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole exchange, from resolving the host to the answer's last byte.
    pub time: Duration,
    /// The answer's body; reading stops past it.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { time: Duration::from_secs(10), max_body: 1 << 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("{url:?} is not an address this client can ask: {reason}")]
    Url { url: String, reason: String },
    #[error("{url} is not asked: {reason}")]
    NotAllowed { url: String, reason: String },
    #[error("cannot find the address of {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("no secure connection to {url}: {reason}")]
    Tls { url: String, reason: String },
    #[error("{url} did not answer within {}", seconds(*.after))]
    Timeout { url: String, after: Duration },
    #[error("the answer of {url} is longer than {limit} bytes (not read further)")]
    TooLong { url: String, limit: usize },
    #[error("the answer of {url} is broken: {reason}")]
    Answer { url: String, reason: String },
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f32()) }
}

/// Why a host has no address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The name has no usable address (or the lookup failed).
    NotFound(String),
    /// It has, but the caller's rules forbid connecting to it.
    NotAllowed(String),
}

/// The future a [`Resolve`] hook returns.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = Result<Vec<SocketAddr>, ResolveError>> + Send + 'a>>;

/// Gives the addresses to connect to for `host` and `port`; the client
/// connects to these, tried in order, and looks nothing up itself.
pub trait Resolve: Send + Sync + std::fmt::Debug {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a>;
}

/// The system's resolver (`getaddrinfo`), with `/etc/hosts`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a> {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ResolveError::NotFound(e.to_string()))?;
            Ok(found.collect())
        })
    }
}

/// An HTTP client; cheap to clone (the TLS setup is shared).
#[derive(Debug, Clone)]
pub struct Client {
    ca_file: Option<PathBuf>,
    limits: Limits,
    allow_http: bool,
    resolver: Arc<dyn Resolve>,
    /// Made at the first `https://` request and kept (it reads the
    /// system's roots).
    tls: Arc<OnceLock<Result<Arc<ClientConfig>, String>>>,
}

impl Default for Client {
    fn default() -> Client {
        Client::trusting(None)
    }
}

impl Client {
    /// An `https://`-only client trusting the system's roots and, if
    /// given, the CA in `ca_file` (PEM), with the default [`Limits`] and
    /// the [`SystemResolver`].
    pub fn trusting(ca_file: Option<&Path>) -> Client {
        Client {
            ca_file: ca_file.map(Path::to_path_buf),
            limits: Limits::default(),
            allow_http: false,
            resolver: Arc::new(SystemResolver),
            tls: Arc::default(),
        }
    }

    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Client {
        self.limits = limits;
        self
    }

    /// This client, connecting to the addresses `resolver` gives.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Client {
        self.resolver = resolver;
        self
    }

    /// This client, sending plain `http://` requests too.
    #[must_use]
    pub fn allowing_http(mut self) -> Client {
        self.allow_http = true;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn tls(&self) -> Result<Arc<ClientConfig>, String> {
        let made =
            self.tls.get_or_init(|| tls::client_config(self.ca_file.as_deref()).map_err(|e| e.to_string()));
        made.clone()
    }

    /// Sends `request` (its URI absolute: `https://host[:port]/path?query`)
    /// and returns the answer, whatever its status, its body read whole
    /// within the client's [`Limits`].
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        let url = request.uri().to_string();
        let limits = self.limits;
        tokio::time::timeout(limits.time, self.exchange(&url, request))
            .await
            .map_err(|_| HttpError::Timeout { url: url.clone(), after: limits.time })?
    }

    async fn exchange(
        &self,
        url: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let bad = |reason: &str| HttpError::Url { url: url.to_string(), reason: reason.to_string() };
        let (mut parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if self.allow_http => false,
            Some("http") => {
                return Err(HttpError::NotAllowed {
                    url: url.to_string(),
                    reason: "it is plain http://, and only https:// is used here".into(),
                });
            }
            _ => return Err(bad("it does not start with https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("it names no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(bad("it carries a user name"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        parts.uri = path.parse().map_err(|_| bad("its path is not valid"))?;
        if !parts.headers.contains_key(http::header::HOST) {
            let value = http::HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad host"))?;
            parts.headers.insert(http::header::HOST, value);
        }
        let request = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));

        let addresses = self.resolver.resolve(&host, port).await.map_err(|e| match e {
            ResolveError::NotFound(reason) => HttpError::Resolve { host: host.clone(), reason },
            ResolveError::NotAllowed(reason) => HttpError::NotAllowed { url: url.to_string(), reason },
        })?;
        if addresses.is_empty() {
            return Err(HttpError::Resolve { host, reason: "it has no address".into() });
        }
        let stream = TcpStream::connect(&addresses[..])
            .await
            .map_err(|e| HttpError::Connect { url: url.to_string(), reason: e.to_string() })?;
        if !tls {
            return exchange(url, stream, request, self.limits.max_body).await;
        }
        let tls_err = |reason: String| HttpError::Tls { url: url.to_string(), reason };
        let config = self.tls().map_err(tls_err)?;
        let name = ServerName::try_from(host.clone()).map_err(|e| tls_err(e.to_string()))?;
        let stream =
            TlsConnector::from(config).connect(name, stream).await.map_err(|e| tls_err(e.to_string()))?;
        exchange(url, stream, request, self.limits.max_body).await
    }
}

/// One request and its answer, at most `max_body` bytes of it read, on `stream`.
async fn exchange<S>(
    url: &str,
    stream: S,
    request: hyper::Request<Full<Bytes>>,
    max_body: usize,
) -> Result<http::Response<Vec<u8>>, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let broken = |reason: String| HttpError::Answer { url: url.to_string(), reason };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| broken(e.to_string()))?;
    // Ends with the exchange: dropped with the sender, or at the time limit.
    let connection = tokio::spawn(connection);
    let answered = async {
        let response = sender.send_request(request).await.map_err(|e| broken(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, max_body).collect().await.map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                HttpError::TooLong { url: url.to_string(), limit: max_body }
            } else {
                broken(format!("it is cut short: {e}"))
            }
        })?;
        Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
    };
    let result = answered.await;
    connection.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_the_time_limit_in_seconds() {
        let err = HttpError::Timeout { url: "https://a.test/".into(), after: Duration::from_secs(5) };
        assert_eq!(err.to_string(), "https://a.test/ did not answer within 5 s");
    }

    #[tokio::test]
    async fn refuses_plain_http_unless_allowed_and_odd_urls() {
        let client = Client::default();
        let get = |url: &str| http::Request::get(url).body(Vec::new()).unwrap();
        let err = client.send(get("http://127.0.0.1:9/")).await.unwrap_err();
        assert!(matches!(err, HttpError::NotAllowed { .. }), "{err}");
        let err = client.send(get("/relative")).await.unwrap_err();
        assert!(matches!(err, HttpError::Url { .. }), "{err}");
        let err = client.send(get("https://user@a.test/")).await.unwrap_err();
        assert!(matches!(err, HttpError::Url { .. }), "{err}");
    }

    /// The body stops being read at the limit, while it comes in: an
    /// endless answer ends as too long, well within the time limit.
    #[tokio::test]
    async fn stops_reading_an_endless_answer_at_the_limit() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut head).await;
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await;
            let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let client = Client::default()
            .allowing_http()
            .with_limits(Limits { time: Duration::from_secs(20), max_body: 64 * 1024 });
        let started = std::time::Instant::now();
        let request = http::Request::get(format!("http://127.0.0.1:{port}/")).body(Vec::new()).unwrap();
        let err = client.send(request).await.unwrap_err();
        assert!(matches!(err, HttpError::TooLong { limit: 65536, .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
