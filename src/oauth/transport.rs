//! The HTTPS call to a provider's token endpoint: one request, one
//! connection, at most [`MAX_ANSWER`] bytes back within [`TIMEOUT`]. TLS
//! is checked against the system's roots, as for the board's client
//! (`crate::board::client`), with the same set-up (`crate::mail::tls`).
//! Plain `http://` only reaches a loopback address (a provider on this
//! machine: the test suite's).
//!
//! Its shape, `send(http::Request<Vec<u8>>) -> http::Response<Vec<u8>>`,
//! is that of the generic HTTPS client the rest of MailPay is to share;
//! this one is for the token endpoint alone until then.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::mail::tls;

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_ANSWER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct TransportError {
    pub url: String,
    pub reason: String,
}

/// Sends `request` (an absolute `https://` URI) and returns the answer.
pub async fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, TransportError> {
    let url = request.uri().to_string();
    let fail = |reason: String| TransportError { url: url.clone(), reason };
    super::provider::check_endpoint("the token endpoint", &url).map_err(|e| fail(e.to_string()))?;
    let uri = request.uri().clone();
    let tls = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or_else(|| fail("no host".into()))?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_else(|| host.clone());
    let path = uri.path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into());
    let (mut parts, body) = request.into_parts();
    parts.uri = path.parse().map_err(|e: hyper::http::uri::InvalidUri| fail(e.to_string()))?;
    parts.headers.insert(
        hyper::header::HOST,
        authority.parse().map_err(|e: hyper::header::InvalidHeaderValue| fail(e.to_string()))?,
    );
    let request = Request::from_parts(parts, Full::new(Bytes::from(body)));
    let name = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let work = async {
        let stream = TcpStream::connect((name.as_str(), port)).await.map_err(|e| e.to_string())?;
        if !tls {
            return exchange(stream, request).await;
        }
        let config: Arc<_> = tls::client_config(None).map_err(|e| e.to_string())?;
        let server = ServerName::try_from(name.clone()).map_err(|e| e.to_string())?;
        let stream =
            TlsConnector::from(config).connect(server, stream).await.map_err(|e| format!("TLS: {e}"))?;
        exchange(stream, request).await
    };
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(fail(format!("no answer within {TIMEOUT:?}"))),
    }
}

async fn exchange<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Response<Vec<u8>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| format!("the answer is cut short or too long: {e}"))?
        .to_bytes();
    Ok(Response::from_parts(parts, bytes.to_vec()))
}
