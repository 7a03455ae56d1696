//! The loopback redirect (RFC 8252 7.3): a listener on 127.0.0.1 at a
//! port the system picks, waiting for the browser to come back from the
//! provider with `?code=...&state=...`.
//!
//! Anything on this machine can connect, so it is careful: only the
//! request head is read, at most [`Limits::request_bytes`] of it within
//! [`Limits::per_connection`]; a request with another `state` is refused
//! (and the wait goes on: a forged redirect cannot end the sign-in); a
//! stray request (`/favicon.ico`) gets a 404; at most
//! [`Limits::connections`] are read at once; the whole wait ends after
//! [`Limits::total`], or when it is cancelled.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::OAuthError;
use super::grant::{Authorization, Redirect};
use crate::secrets::Secret;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request_bytes: usize,
    pub per_connection: Duration,
    pub total: Duration,
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_bytes: 8 << 10,
            per_connection: Duration::from_secs(10),
            total: Duration::from_secs(5 * 60),
            connections: 16,
        }
    }
}

/// The page the browser shows once the code has arrived.
const DONE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MailPay</title></head>\
<body><h1>MailPay is signed in</h1><p>You can close this window.</p></body></html>";
const DECLINED: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MailPay</title></head>\
<body><h1>MailPay was not signed in</h1><p>You can close this window.</p></body></html>";

pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

impl Loopback {
    /// Listens on 127.0.0.1 at a free port.
    pub async fn bind() -> Result<Loopback, OAuthError> {
        let listen = |e: std::io::Error| OAuthError::Listen { reason: e.to_string() };
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(listen)?;
        let port = listener.local_addr().map_err(listen)?.port();
        Ok(Loopback { listener, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the redirect of `authorization`; returns its code.
    pub async fn wait(
        self,
        authorization: &Authorization,
        limits: Limits,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Secret, OAuthError> {
        let (heads, mut arrived) = mpsc::channel::<(String, TcpStream)>(limits.connections.max(1));
        let busy = Arc::new(AtomicUsize::new(0));
        let deadline = tokio::time::sleep(limits.total);
        tokio::pin!(deadline);
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                () = &mut deadline => return Err(OAuthError::TimedOut { minutes: limits.total.as_secs().div_ceil(60) }),
                () = &mut cancelled => return Err(OAuthError::Cancelled),
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    if busy.load(Ordering::SeqCst) >= limits.connections {
                        drop(stream);
                        continue;
                    }
                    busy.fetch_add(1, Ordering::SeqCst);
                    let busy = busy.clone();
                    let heads = heads.clone();
                    tokio::spawn(async move {
                        let read = tokio::time::timeout(limits.per_connection, read_head(stream, limits.request_bytes)).await;
                        busy.fetch_sub(1, Ordering::SeqCst);
                        if let Ok(Some(head)) = read {
                            let _ = heads.send(head).await;
                        }
                    });
                }
                Some((target, stream)) = arrived.recv() => {
                    match authorization.check_redirect(&target) {
                        Redirect::Code(code) => {
                            answer(stream, "200 OK", DONE).await;
                            return Ok(code);
                        }
                        Redirect::Declined(reason) => {
                            answer(stream, "200 OK", DECLINED).await;
                            return Err(OAuthError::Declined { reason });
                        }
                        Redirect::WrongState => {
                            tokio::spawn(answer(stream, "400 Bad Request", "this is not the sign-in MailPay is waiting for"));
                        }
                        Redirect::Other => {
                            tokio::spawn(answer(stream, "404 Not Found", "not found"));
                        }
                    }
                }
            }
        }
    }
}

/// The request target of a `GET`, once the head has been read whole;
/// `None` (the connection is dropped) for anything else.
async fn read_head(mut stream: TcpStream, limit: usize) -> Option<(String, TcpStream)> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(buffer.get(..n)?);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if head.len() > limit {
            answer(stream, "431 Request Header Fields Too Large", "too large").await;
            return None;
        }
    }
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("GET"), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Some((target.to_string(), stream))
        }
        _ => {
            answer(stream, "405 Method Not Allowed", "only GET").await;
            None
        }
    }
}

async fn answer(mut stream: TcpStream, status: &str, body: &str) {
    let kind = if body.starts_with('<') { "text/html; charset=utf-8" } else { "text/plain; charset=utf-8" };
    let text = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::provider::{Provider, Registration};
    use tokio::io::AsyncWriteExt;

    fn authorization(port: u16) -> Authorization {
        let registration = Registration { client_id: "c".into(), client_secret: None };
        let provider =
            Provider::generic("t", vec![], "https://a.example/auth", "https://a.example/token", registration)
                .unwrap();
        Authorization::new(&provider, port, "u@x.test").unwrap()
    }

    fn state_of(auth: &Authorization) -> String {
        let url = oauth2::url::Url::parse(&auth.url).unwrap();
        url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned()
    }

    async fn get(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    }

    fn quick() -> Limits {
        Limits {
            per_connection: Duration::from_millis(500),
            total: Duration::from_secs(10),
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn forged_stray_and_oversized_requests_do_not_end_the_wait() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let auth = authorization(port);
        let state = state_of(&auth);
        let client = tokio::spawn(async move {
            let forged = get(port, "/?code=evil&state=forged").await;
            assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
            let stray = get(port, "/favicon.ico").await;
            assert!(stray.starts_with("HTTP/1.1 404"), "{stray}");
            let huge = format!("/?x={}", "a".repeat(20_000));
            let oversized = get(port, &huge).await;
            assert!(oversized.is_empty() || oversized.starts_with("HTTP/1.1 431"), "{oversized}");
            let mut post = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            post.write_all(b"POST /?code=c&state=s HTTP/1.1\r\n\r\n").await.unwrap();
            let done = get(port, &format!("/?code=good&state={state}")).await;
            assert!(done.starts_with("HTTP/1.1 200") && done.contains("You can close this window"), "{done}");
        });
        let code = loopback.wait(&auth, quick(), std::future::pending()).await.unwrap();
        assert_eq!(code, Secret::new("good"));
        client.await.unwrap();
    }

    #[tokio::test]
    async fn slow_connections_are_cut_and_do_not_block_the_redirect() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let auth = authorization(port);
        let state = state_of(&auth);
        let client = tokio::spawn(async move {
            // Slowloris: connections that send a byte now and then, never a whole head.
            let mut slow = Vec::new();
            for _ in 0..20 {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                stream.write_all(b"GET /?code=").await.unwrap();
                slow.push(stream);
            }
            let started = std::time::Instant::now();
            // Past the per-connection limit, the slots are free again.
            tokio::time::sleep(Duration::from_millis(700)).await;
            let done = get(port, &format!("/?code=good&state={state}")).await;
            assert!(done.starts_with("HTTP/1.1 200"), "{done}");
            assert!(started.elapsed() < Duration::from_secs(5));
            drop(slow);
        });
        let code = loopback.wait(&auth, quick(), std::future::pending()).await.unwrap();
        assert_eq!(code, Secret::new("good"));
        client.await.unwrap();
    }

    #[tokio::test]
    async fn the_whole_wait_is_bounded_and_can_be_cancelled() {
        let loopback = Loopback::bind().await.unwrap();
        let auth = authorization(loopback.port());
        let limits = Limits { total: Duration::from_millis(300), ..quick() };
        let started = std::time::Instant::now();
        let err = loopback.wait(&auth, limits, std::future::pending()).await.unwrap_err();
        assert!(matches!(err, OAuthError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));

        let loopback = Loopback::bind().await.unwrap();
        let auth = authorization(loopback.port());
        let err = loopback.wait(&auth, quick(), std::future::ready(())).await.unwrap_err();
        assert_eq!(err, OAuthError::Cancelled);
    }

    #[tokio::test]
    async fn a_declined_sign_in_ends_the_wait_with_its_reason() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port();
        let auth = authorization(port);
        let state = state_of(&auth);
        let client =
            tokio::spawn(async move { get(port, &format!("/?error=access_denied&state={state}")).await });
        let err = loopback.wait(&auth, quick(), std::future::pending()).await.unwrap_err();
        assert_eq!(err, OAuthError::Declined { reason: "access_denied".into() });
        assert!(client.await.unwrap().contains("not signed in"));
    }
}
