//! A small HTTP/1.1 client for the board: the orderer posts its record,
//! the bank reads an order's records. `http://` for a board on loopback or
//! a private network, `https://` for one published on the Internet (TLS
//! with the certificate checked against the system's roots and, when
//! given, an extra CA file); one connection per request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::mail::tls;
use crate::protocol::OrderId;
use crate::protocol::board::{BoardRecord, CheckedRecord};

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ANSWER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?} is not a board address like https://shop.example/board or http://127.0.0.1:8025/")]
    Url(String),
    #[error("cannot reach the board at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the board at {url} did not answer within {TIMEOUT:?}")]
    Timeout { url: String },
    #[error("the board refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the board's answer is not a valid record: {0}")]
    Answer(String),
}

/// Where a board URL leads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// `host:port` to connect to.
    connect: String,
    /// The Host header: the URL's authority.
    host: String,
    /// The host alone, the name the certificate must carry.
    name: String,
    /// The path prefix, without a trailing slash.
    prefix: String,
}

fn split(url: &str) -> Result<Target, ClientError> {
    let bad = || ClientError::Url(url.to_string());
    let url = url.trim();
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(bad()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).ok_or_else(bad)?, rest.get(i..).ok_or_else(bad)?),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let (name, connect) = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => (host, authority.to_string()),
        _ => (authority, format!("{authority}:{}", if tls { 443 } else { 80 })),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Target {
        tls,
        connect,
        host: authority.to_string(),
        name,
        prefix: path.trim_end_matches('/').to_string(),
    })
}

/// Talks to boards; `https://` ones are trusted as [`Client::trusting`] says.
#[derive(Debug, Clone, Default)]
pub struct Client {
    ca_file: Option<PathBuf>,
    /// The TLS configuration, made at the first `https://` request and
    /// kept (it reads the system's roots).
    tls: Arc<OnceLock<Result<Arc<ClientConfig>, String>>>,
}

impl Client {
    /// A client that trusts the system's roots and, if given, the CA in
    /// `ca_file` (PEM) as well: the same trust as the mail account's.
    pub fn trusting(ca_file: Option<&Path>) -> Client {
        Client { ca_file: ca_file.map(Path::to_path_buf), tls: Arc::default() }
    }

    fn tls(&self) -> Result<Arc<ClientConfig>, String> {
        let made =
            self.tls.get_or_init(|| tls::client_config(self.ca_file.as_deref()).map_err(|e| e.to_string()));
        made.clone()
    }

    /// Posts the orderer's record to the board at `url`.
    pub async fn post(&self, url: &str, record: &BoardRecord) -> Result<(), ClientError> {
        let body = serde_json::to_vec(record).map_err(|e| ClientError::Answer(e.to_string()))?;
        let (status, answer) = self.request(url, hyper::Method::POST, "/records", body).await?;
        // 200: posted before (a retry after a lost answer).
        if matches!(status, StatusCode::CREATED | StatusCode::OK) {
            Ok(())
        } else {
            Err(refused(status, &answer))
        }
    }

    /// The board's records of `order`, oldest first; none when it has none.
    /// A record that fails its checks (a bad signature) is left out.
    pub async fn fetch(&self, url: &str, order: &OrderId) -> Result<Vec<CheckedRecord>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            order: String,
            records: Vec<BoardRecord>,
        }
        let (status, answer) =
            self.request(url, hyper::Method::GET, &format!("/records/{order}.json"), Vec::new()).await?;
        match status {
            StatusCode::OK => {
                let answer: Answer =
                    serde_json::from_slice(&answer).map_err(|e| ClientError::Answer(e.to_string()))?;
                if answer.order != order.to_string() {
                    let why = format!("it is about order {}, not {order}", answer.order);
                    return Err(ClientError::Answer(why));
                }
                let records = answer.records.iter().filter_map(|r| r.check().ok());
                Ok(records.filter(|r| r.order == *order).collect())
            }
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            other => Err(refused(other, &answer)),
        }
    }

    async fn request(
        &self,
        url: &str,
        method: hyper::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let target = split(url)?;
        let connect_err = |e: String| ClientError::Connect { url: url.to_string(), reason: e };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", target.prefix))
            .header(hyper::header::HOST, &target.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let work = async {
            let stream = TcpStream::connect(&target.connect).await.map_err(|e| connect_err(e.to_string()))?;
            if !target.tls {
                return exchange(stream, request).await.map_err(connect_err);
            }
            let config = self.tls().map_err(connect_err)?;
            let name = ServerName::try_from(target.name.clone()).map_err(|e| connect_err(e.to_string()))?;
            let stream = TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(|e| connect_err(format!("TLS: {e}")))?;
            exchange(stream, request).await.map_err(connect_err)
        };
        tokio::time::timeout(TIMEOUT, work)
            .await
            .map_err(|_| ClientError::Timeout { url: url.to_string() })?
    }
}

/// One request and its answer (at most [`MAX_ANSWER`] bytes) on `stream`.
async fn exchange<S>(stream: S, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| format!("the answer is cut short or too long: {e}"))?
        .to_bytes();
    Ok((status, bytes))
}

fn refused(status: StatusCode, body: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    ClientError::Refused { status: status.as_u16(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_board_urls() {
        let target = |url: &str| split(url).map(|t| (t.tls, t.connect, t.host, t.name, t.prefix)).ok();
        let owned =
            |tls, c: &str, h: &str, n: &str, p: &str| Some((tls, c.into(), h.into(), n.into(), p.into()));
        assert_eq!(
            target("http://127.0.0.1:8025/"),
            owned(false, "127.0.0.1:8025", "127.0.0.1:8025", "127.0.0.1", "")
        );
        assert_eq!(
            target("http://shop.test/board"),
            owned(false, "shop.test:80", "shop.test", "shop.test", "/board")
        );
        assert_eq!(
            target("https://shop.test/board/"),
            owned(true, "shop.test:443", "shop.test", "shop.test", "/board")
        );
        assert_eq!(target("https://[::1]:8443"), owned(true, "[::1]:8443", "[::1]:8443", "::1", ""));
        assert!(split("ftp://shop.test/").is_err());
        assert!(split("http://user@shop.test/").is_err());
        assert!(split("https:///records").is_err());
    }
}
