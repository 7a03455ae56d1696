//! The board over HTTP/1.1 (PROTOCOL.md section 7.1):
//!
//! * `GET /` — the board as a web page;
//! * `GET /records.json` — every record with the chain head;
//! * `GET /records/ORDER.json` — one order's records, or 404;
//! * `POST /records` — append a record (JSON, at most [`MAX_BODY`] bytes);
//!   the same record posted again is answered 200, not added twice.
//!
//! Every error is a 4xx with `{"error": "..."}` saying what to fix.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::input::{Route, read_record, route};
use super::log::{Appended, BoardLog, LogError};
use super::page;
use crate::protocol::{OrderId, Timestamp};

/// The largest accepted POST body: a record is about 100 bytes.
pub const MAX_BODY: usize = 1024;

/// Limits against floods from one address.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Posts accepted from one IP address per `window`.
    pub posts_per_window: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { posts_per_window: 30, window: Duration::from_secs(60) }
    }
}

/// The shared state of a running board.
pub struct Board {
    log: Mutex<BoardLog>,
    limits: Limits,
    recent: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    title: String,
}

impl Board {
    pub fn new(log: BoardLog, limits: Limits, title: String) -> Arc<Board> {
        Arc::new(Board { log: Mutex::new(log), limits, recent: Mutex::new(HashMap::new()), title })
    }
}

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    json(status, &serde_json::json!({ "error": message.into() }))
}

fn html(body: String) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn internal(e: &LogError) -> Reply {
    error(StatusCode::SERVICE_UNAVAILABLE, format!("the board cannot be read: {e}"))
}

/// Serves the board on `listener` until the task is dropped: over TLS
/// (HTTPS) with `tls`, else plain HTTP.
pub async fn serve(listener: TcpListener, board: Arc<Board>, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let board = board.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, board, peer).await,
                // A client that does not finish the handshake in time is dropped.
                Some(tls) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE, tls.accept(stream)).await {
                        serve_connection(stream, board, peer).await;
                    }
                }
            }
        });
    }
}

/// How long a client may take over the TLS handshake, or the request's headers.
const HANDSHAKE: Duration = Duration::from_secs(10);

async fn serve_connection<S>(stream: S, board: Arc<Board>, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let board = board.clone();
        async move { Ok::<_, Infallible>(handle(&board, peer, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HANDSHAKE)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(board: &Board, peer: SocketAddr, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_string();
    match route(request.method().as_str(), &path) {
        Route::Page => match board.log.lock().map_err(|_| ()).and_then(|log| {
            let head = log.head().map_err(|_| ())?;
            Ok((log.entries().map_err(|_| ())?, head))
        }) {
            Ok((entries, (head, _))) => html(page::render(&board.title, &entries, &head)),
            Err(()) => error(StatusCode::SERVICE_UNAVAILABLE, "the board cannot be read"),
        },
        Route::List => list(board),
        Route::One(order) => one(board, order),
        Route::Post => post(board, peer, request).await,
        Route::NotAllowed => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET to read the board and POST /records to add a record",
        ),
        Route::NotFound => error(
            StatusCode::NOT_FOUND,
            format!("no such page {path}: try /, /records.json or /records/ORDER.json"),
        ),
    }
}

fn list(board: &Board) -> Reply {
    let Ok(log) = board.log.lock() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the board is unavailable");
    };
    match (log.entries(), log.head()) {
        (Ok(entries), Ok((head, count))) => {
            json(StatusCode::OK, &serde_json::json!({ "head": head, "count": count, "records": entries }))
        }
        (Err(e), _) | (_, Err(e)) => internal(&e),
    }
}

fn one(board: &Board, order: &str) -> Reply {
    let order: OrderId = match order.parse() {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    let Ok(log) = board.log.lock() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the board is unavailable");
    };
    match log.find(&order) {
        Ok(entries) if entries.is_empty() => {
            error(StatusCode::NOT_FOUND, format!("order {order} is not on the board"))
        }
        Ok(entries) => {
            json(StatusCode::OK, &serde_json::json!({ "order": order.to_string(), "records": entries }))
        }
        Err(e) => internal(&e),
    }
}

/// Whether `peer` may post now; counts the post.
fn admit(board: &Board, peer: IpAddr) -> bool {
    let Ok(mut recent) = board.recent.lock() else { return false };
    let now = Instant::now();
    let window = board.limits.window;
    let times = recent.entry(peer).or_default();
    times.retain(|t| now.duration_since(*t) < window);
    if times.len() >= board.limits.posts_per_window {
        return false;
    }
    times.push(now);
    true
}

async fn post(board: &Board, peer: SocketAddr, request: Request<Incoming>) -> Reply {
    if !admit(board, peer.ip()) {
        let limits = board.limits;
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many posts from {}: at most {} per {:?}",
                peer.ip(),
                limits.posts_per_window,
                limits.window
            ),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a record is at most {MAX_BODY} bytes of JSON"),
            );
        }
    };
    let checked = match read_record(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Ok(mut log) = board.log.lock() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the board is unavailable");
    };
    match log.append(&checked, &peer.ip().to_string(), now()) {
        Ok(Appended::New(entry)) => json(StatusCode::CREATED, &serde_json::json!(entry)),
        Ok(Appended::Again(entry)) => json(StatusCode::OK, &serde_json::json!(entry)),
        Err(LogError::Duplicate(order)) => error(
            StatusCode::CONFLICT,
            format!(
                "order {order} already has another record with this key (or unsigned) on the board; records cannot be replaced"
            ),
        ),
        Err(e) => internal(&e),
    }
}

fn now() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}
