//! The board over HTTP/1.1 (PROTOCOL.md section 7.1):
//!
//! * `GET /` — the board as a web page;
//! * `GET /records.json` — every record with the chain head;
//! * `GET /records/ORDER.json` — one order's records, or 404;
//! * `POST /records` — append a record (JSON, at most [`MAX_BODY`] bytes);
//!   the same record posted again is answered 200, not added twice.
//!
//! Every error is a 4xx with `{"error": "..."}` saying what to fix.
//!
//! No client holds the board: connections over the caps of [`Limits`]
//! are refused at once (answered 429 or 503 over plain HTTP, closed over
//! TLS), and a connection is closed when a request takes longer than its
//! limits or it stays idle too long (see [`super::guard`]).

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

use super::guard::{Clock, Connections, Refusal, Slot, Timed, Times};
use super::input::{Route, read_record, route};
use super::log::{Appended, BoardLog, LogError};
use super::page;
use crate::protocol::{OrderId, Timestamp};

/// The largest accepted POST body: a record is about 100 bytes.
pub const MAX_BODY: usize = 1024;

/// Limits against floods and against clients that hold connections open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Posts accepted from one IP address per `window`.
    pub posts_per_window: usize,
    pub window: Duration,
    /// The longest a client may take to send one whole request, its
    /// headers and its body, from its first byte.
    pub request_time: Duration,
    /// The longest a client may take to send a request's headers, from
    /// their first byte (and to finish the TLS handshake).
    pub header_time: Duration,
    /// How long a connection may stay open between requests (or before
    /// its first one) without sending anything.
    pub idle_time: Duration,
    /// Connections open at once, from all clients.
    pub max_connections: usize,
    /// Connections open at once from one IP address (IPv6: one /64).
    pub max_connections_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            posts_per_window: 30,
            window: Duration::from_secs(60),
            request_time: Duration::from_secs(10),
            header_time: Duration::from_secs(5),
            idle_time: Duration::from_secs(5),
            max_connections: 256,
            max_connections_per_address: 16,
        }
    }
}

impl Limits {
    fn times(&self) -> Times {
        Times { request: self.request_time, headers: self.header_time, idle: self.idle_time }
    }
}

/// The shared state of a running board.
pub struct Board {
    log: Mutex<BoardLog>,
    limits: Limits,
    recent: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    connections: Connections,
    title: String,
}

impl Board {
    pub fn new(log: BoardLog, limits: Limits, title: String) -> Arc<Board> {
        let connections = Connections::new(limits.max_connections, limits.max_connections_per_address);
        Arc::new(Board {
            log: Mutex::new(log),
            limits,
            recent: Mutex::new(HashMap::new()),
            connections,
            title,
        })
    }

    /// How many connections the board holds open now.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
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
        let slot = match board.connections.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                // Over plain HTTP the client is told why; over TLS that
                // would take a handshake, so the connection is just closed.
                if tls.is_none() {
                    let _ = stream.try_write(&refusal_answer(&board.limits, refusal, peer.ip()));
                }
                continue;
            }
        };
        let board = board.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, board, peer, slot).await,
                // A client that does not finish the handshake within the
                // header time limit is dropped.
                Some(tls) => {
                    let handshake = tls.accept(stream);
                    let handshake = tokio::time::timeout(board.limits.header_time, handshake);
                    let handshake = tokio::select! {
                        done = handshake => done,
                        () = slot.evicted() => return,
                    };
                    if let Ok(Ok(stream)) = handshake {
                        serve_connection(stream, board, peer, slot).await;
                    }
                }
            }
        });
    }
}

/// The whole HTTP answer to a connection refused by the caps: 429 when
/// its address holds too many, 503 when the board does.
fn refusal_answer(limits: &Limits, refusal: Refusal, peer: IpAddr) -> Vec<u8> {
    let (status, message) = match refusal {
        Refusal::Address => (
            "429 Too Many Requests",
            format!(
                "too many connections from {peer}: at most {} at once; close some and try again",
                limits.max_connections_per_address
            ),
        ),
        Refusal::Full => (
            "503 Service Unavailable",
            format!(
                "the board is busy: {} connections are open; try again in a few seconds",
                limits.max_connections
            ),
        ),
    };
    let body = serde_json::json!({ "error": message }).to_string();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves HTTP/1.1 on one admitted connection until the client closes
/// it, it passes a time limit, or another client takes its place.
async fn serve_connection<S>(stream: S, board: Arc<Board>, peer: SocketAddr, slot: Slot)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let clock = Clock::new(board.limits.times());
    let stream = Timed::new(stream, clock.clone());
    let timed = clock.clone();
    let service = hyper::service::service_fn(move |request| {
        let board = board.clone();
        let clock = timed.clone();
        async move {
            clock.headers_read();
            let reply = handle(&board, peer, request).await;
            clock.answered();
            Ok::<_, Infallible>(reply)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // The clock keeps the time limits, headers' included.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service);
    // Dropping the connection closes it, wherever the request was.
    tokio::select! {
        _ = connection => {}
        () = clock.expired() => {}
        () = slot.evicted() => {}
    }
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

/// Clients whose posts are counted before those that have not posted
/// within the window are forgotten.
const TRACKED_CLIENTS: usize = 4096;

/// Whether `peer` may post now; counts the post against its client (an
/// IPv4 address, an IPv6 /64), and forgets clients that have not posted
/// within the window once many are counted, so the count stays bounded.
fn admit(board: &Board, peer: IpAddr) -> bool {
    let Ok(mut recent) = board.recent.lock() else { return false };
    let now = Instant::now();
    let window = board.limits.window;
    if recent.len() >= TRACKED_CLIENTS {
        recent.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < window));
    }
    let times = recent.entry(super::guard::client_of(peer)).or_default();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_post_count_forgets_quiet_clients_and_counts_an_ipv6_slash_64_as_one() {
        let dir = std::env::temp_dir().join(format!("mailpay-board-admit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = BoardLog::open(&dir.join("board.sqlite")).unwrap();
        let limits = Limits { posts_per_window: 2, window: Duration::from_millis(50), ..Limits::default() };
        let board = Board::new(log, limits, "test".into());
        for i in 0..TRACKED_CLIENTS as u32 {
            assert!(admit(&board, IpAddr::V4(i.into())));
        }
        std::thread::sleep(Duration::from_millis(60));
        assert!(admit(&board, "10.0.0.1".parse().unwrap()));
        assert_eq!(board.recent.lock().unwrap().len(), 1, "the quiet clients are forgotten");
        // Two addresses of one /64 share its count.
        assert!(admit(&board, "2001:db8::1".parse().unwrap()));
        assert!(admit(&board, "2001:db8::2".parse().unwrap()));
        assert!(!admit(&board, "2001:db8::3".parse().unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
