//! A small HTTP/1.1 client for the board: the orderer posts its record,
//! the bank reads an order's records. Plain HTTP only (the board runs on
//! loopback or behind the merchant's own TLS proxy); one connection per
//! request.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::protocol::OrderId;
use crate::protocol::board::{BoardRecord, CheckedRecord};

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ANSWER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?} is not a board address like http://127.0.0.1:8025/ (only plain http is supported)")]
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

/// `http://host:port/prefix` split into the address to connect to, the
/// Host header and the path prefix (without a trailing slash).
fn split(url: &str) -> Result<(String, String, String), ClientError> {
    let bad = || ClientError::Url(url.to_string());
    let rest = url.trim().strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).ok_or_else(bad)?, rest.get(i..).ok_or_else(bad)?),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let connect = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((connect, authority.to_string(), path.trim_end_matches('/').to_string()))
}

async fn request(
    url: &str,
    method: hyper::Method,
    path: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, Bytes), ClientError> {
    let (connect, host, prefix) = split(url)?;
    let work = async {
        let connect_err = |e: String| ClientError::Connect { url: url.to_string(), reason: e };
        let stream = TcpStream::connect(&connect).await.map_err(|e| connect_err(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect_err(e.to_string()))?;
        tokio::spawn(connection);
        let request = Request::builder()
            .method(method)
            .uri(format!("{prefix}{path}"))
            .header(hyper::header::HOST, host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| connect_err(e.to_string()))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| ClientError::Answer(e.to_string()))?
            .to_bytes();
        Ok((status, bytes))
    };
    tokio::time::timeout(TIMEOUT, work).await.map_err(|_| ClientError::Timeout { url: url.to_string() })?
}

fn refused(status: StatusCode, body: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    ClientError::Refused { status: status.as_u16(), message }
}

/// Posts the orderer's record to the board at `url`.
pub async fn post(url: &str, record: &BoardRecord) -> Result<(), ClientError> {
    let body = serde_json::to_vec(record).map_err(|e| ClientError::Answer(e.to_string()))?;
    let (status, answer) = request(url, hyper::Method::POST, "/records", body).await?;
    // 200: posted before (a retry after a lost answer).
    if matches!(status, StatusCode::CREATED | StatusCode::OK) {
        Ok(())
    } else {
        Err(refused(status, &answer))
    }
}

/// The board's records of `order`, oldest first; none when it has none.
/// A record that fails its checks (a bad signature) is left out.
pub async fn fetch(url: &str, order: &OrderId) -> Result<Vec<CheckedRecord>, ClientError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        order: String,
        records: Vec<BoardRecord>,
    }
    let (status, answer) =
        request(url, hyper::Method::GET, &format!("/records/{order}.json"), Vec::new()).await?;
    match status {
        StatusCode::OK => {
            let answer: Answer =
                serde_json::from_slice(&answer).map_err(|e| ClientError::Answer(e.to_string()))?;
            if answer.order != order.to_string() {
                return Err(ClientError::Answer(format!("it is about order {}, not {order}", answer.order)));
            }
            Ok(answer.records.iter().filter_map(|r| r.check().ok()).filter(|r| r.order == *order).collect())
        }
        StatusCode::NOT_FOUND => Ok(Vec::new()),
        other => Err(refused(other, &answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_board_urls() {
        assert_eq!(
            split("http://127.0.0.1:8025/").ok(),
            Some(("127.0.0.1:8025".into(), "127.0.0.1:8025".into(), String::new()))
        );
        assert_eq!(
            split("http://shop.test/board").ok(),
            Some(("shop.test:80".into(), "shop.test".into(), "/board".into()))
        );
        assert!(split("https://shop.test/").is_err());
        assert!(split("http://user@shop.test/").is_err());
    }
}
