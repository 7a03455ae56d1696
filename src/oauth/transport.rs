//! The HTTPS call to a provider's token endpoint, through MailPay's HTTP
//! client (`crate::http`): one request, at most 1 MiB back within 10 s,
//! TLS checked against the system's roots. Plain `http://` only reaches a
//! loopback address (a provider on this machine: the test suite's).

use std::sync::OnceLock;

use crate::http::Client;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct TransportError {
    pub url: String,
    pub reason: String,
}

/// Sends `request` (an absolute `https://` URI, or `http://` to a
/// loopback address) and returns the answer, whatever its status.
pub async fn send(request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError> {
    static HTTPS: OnceLock<Client> = OnceLock::new();
    static LOOPBACK: OnceLock<Client> = OnceLock::new();
    let url = request.uri().to_string();
    let fail = |reason: String| TransportError { url: url.clone(), reason };
    super::provider::check_endpoint("the token endpoint", &url).map_err(|e| fail(e.to_string()))?;
    // check_endpoint lets `http://` through to loopback addresses only.
    let client = if request.uri().scheme_str() == Some("http") {
        LOOPBACK.get_or_init(|| Client::trusting(None).allowing_http())
    } else {
        HTTPS.get_or_init(|| Client::trusting(None))
    };
    client.send(request).await.map_err(|e| fail(e.to_string()))
}
