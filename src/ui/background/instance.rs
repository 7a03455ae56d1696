//! One wallet per user. The running wallet listens on a local socket in
//! its data folder (`wallet.sock`, beside the Thunderbird host's, which
//! only the owner can enter: a Unix socket, or on Windows the name of a
//! named pipe; see [`crate::local_socket`]); a second start connects,
//! hands over what it was started for ([`Start`]: Home, a `mailpay:`
//! link, an order to review) in one frame of the bridge's framing
//! ([`crate::bridge::frame`]), waits for the acknowledgement and exits. A
//! socket left by a wallet that died is replaced
//! ([`crate::local_socket::bind`]). Frames are small ([`MAX`]) and a
//! connection that says nothing within [`TIME`] is dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use iced::futures::{Sink, SinkExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::bridge::frame;
use crate::local_socket::{self, Bound};
use crate::paths::Paths;
use crate::ui::app::Start;

/// The longest start request taken (a `mailpay:` link is far shorter).
pub const MAX: usize = 16 * 1024;
/// How long connecting, handing over or answering may take.
pub const TIME: Duration = Duration::from_secs(3);

/// A start request as it travels on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "open", rename_all = "kebab-case")]
enum Wire {
    Home,
    Link { link: String },
    Review { order: String },
    Background,
}

#[derive(Debug, Serialize, Deserialize)]
struct Ack {
    ok: bool,
}

impl From<&Start> for Wire {
    fn from(start: &Start) -> Wire {
        match start {
            Start::Home => Wire::Home,
            Start::Link(link) => Wire::Link { link: link.clone() },
            Start::Review(order) => Wire::Review { order: order.to_string() },
            Start::Background => Wire::Background,
        }
    }
}

impl Wire {
    fn start(self) -> Option<Start> {
        Some(match self {
            Wire::Home => Start::Home,
            Wire::Link { link } => Start::Link(link),
            Wire::Review { order } => Start::Review(order.parse().ok()?),
            Wire::Background => Start::Background,
        })
    }
}

pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.data_dir.join("wallet.sock")
}

/// The listening socket, made before the window opens, for the app's
/// runtime: a Unix socket moves from one runtime to another.
#[cfg(unix)]
pub struct Listener(std::os::unix::net::UnixListener);

/// The start requests that came: a named pipe cannot move from one
/// runtime to another, so it is served on a thread of its own, which ends
/// when this is dropped.
#[cfg(windows)]
pub struct Listener(iced::futures::channel::mpsc::Receiver<Start>);

/// What a start finds.
pub enum Claim {
    /// This process is the wallet: it listens here.
    First(Listener),
    /// A running wallet took the start request: this process is done.
    HandedOver,
    /// This process runs on its own (why: the socket could not be made).
    Alone(String),
}

/// Hands `start` to a running wallet (`Ok(None)`), or becomes the one that
/// listens.
async fn first_or_hand_over(path: &Path, start: &Start) -> Result<Option<local_socket::Listener>, String> {
    if hand_over(path, start).await.is_ok() {
        return Ok(None);
    }
    match local_socket::bind(path).await {
        Ok(Bound::Listening(listener)) => Ok(Some(listener)),
        // Another wallet started at the same moment.
        Ok(Bound::Taken) => hand_over(path, start).await.map(|()| None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Hands `start` to a running wallet, or becomes the one that listens.
/// Blocking (its own short-lived runtime): called before the window opens.
#[cfg(unix)]
pub fn claim(paths: &Paths, start: &Start) -> Claim {
    let path = socket_path(paths);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return Claim::Alone(e),
    };
    match runtime.block_on(first_or_hand_over(&path, start)) {
        Ok(None) => Claim::HandedOver,
        Ok(Some(listener)) => match listener.into_std() {
            Ok(listener) => Claim::First(Listener(listener)),
            Err(e) => Claim::Alone(e.to_string()),
        },
        Err(e) => Claim::Alone(e),
    }
}

/// Hands `start` to a running wallet, or becomes the one that listens.
/// Blocking: called before the window opens. The pipe is made and served
/// on a thread with a runtime of its own.
#[cfg(windows)]
pub fn claim(paths: &Paths, start: &Start) -> Claim {
    let path = socket_path(paths);
    let start = start.clone();
    let (claimed, claim) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name("mailpay-instance".into()).spawn(move || {
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(e) => return drop(claimed.send(Claim::Alone(e))),
        };
        runtime.block_on(async {
            match first_or_hand_over(&path, &start).await {
                Ok(None) => drop(claimed.send(Claim::HandedOver)),
                Ok(Some(listener)) => {
                    let (out, requests) = iced::futures::channel::mpsc::channel(4);
                    if claimed.send(Claim::First(Listener(requests))).is_ok() {
                        serve(listener, out).await;
                    }
                }
                Err(e) => drop(claimed.send(Claim::Alone(e))),
            }
        });
    });
    match thread {
        Ok(_) => claim.recv().unwrap_or_else(|_| Claim::Alone("the socket's thread failed".into())),
        Err(e) => Claim::Alone(e.to_string()),
    }
}

async fn hand_over(path: &Path, start: &Start) -> Result<(), String> {
    let talk = async {
        let mut stream = local_socket::connect(path).await.map_err(|e| e.to_string())?;
        frame::write(&mut stream, &Wire::from(start), MAX).await.map_err(|e| e.to_string())?;
        let ack: Ack = frame::read(&mut stream, MAX).await.map_err(|e| e.to_string())?;
        if ack.ok { Ok(()) } else { Err("the running wallet refused the request".to_string()) }
    };
    tokio::time::timeout(TIME, talk).await.map_err(|_| format!("no answer within {TIME:?}"))?
}

/// The start requests of later starts, as they come (one connection at a
/// time, each within [`TIME`]). Runs on the app's runtime.
#[cfg(unix)]
pub fn requests(listener: Listener) -> impl iced::futures::Stream<Item = Start> + Send + 'static {
    iced::stream::channel(4, async move |out| {
        let Ok(listener) = local_socket::Listener::from_std(listener.0) else { return };
        serve(listener, out).await;
    })
}

/// The start requests of later starts, as they come (one connection at a
/// time, each within [`TIME`]), from the pipe's thread.
#[cfg(windows)]
pub fn requests(listener: Listener) -> impl iced::futures::Stream<Item = Start> + Send + 'static {
    listener.0
}

/// Answers start requests one connection at a time and passes them to
/// `out`, until it is closed.
async fn serve(mut listener: local_socket::Listener, mut out: impl Sink<Start> + Unpin) {
    loop {
        let Ok(mut stream) = listener.accept().await else {
            // Out of file descriptors, say: not a busy loop.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if let Ok(Some(start)) = tokio::time::timeout(TIME, answer(&mut stream)).await
            && out.send(start).await.is_err()
        {
            return;
        }
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Option<Start> {
    let wire: Wire = frame::read(stream, MAX).await.ok()?;
    let start = wire.start();
    let _ = frame::write(stream, &Ack { ok: start.is_some() }, MAX).await;
    start
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_start_request_goes_over_the_wire_and_back() {
        for start in [
            Start::Home,
            Start::Background,
            Start::Link("mailpay:shop@example.com?amount=1200%20JPY".into()),
            Start::Review(crate::protocol::OrderId::generate(&mut rand::rng())),
        ] {
            let json = serde_json::to_string(&Wire::from(&start)).unwrap();
            let back: Wire = serde_json::from_str(&json).unwrap();
            assert_eq!(back.start(), Some(start));
        }
        let bad: Wire = serde_json::from_str(r#"{"open":"review","order":"../x"}"#).unwrap();
        assert_eq!(bad.start(), None);
    }
}
