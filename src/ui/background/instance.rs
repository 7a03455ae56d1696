//! One wallet per user. The running wallet listens on a local socket in
//! its data folder (`wallet.sock`, beside the Thunderbird host's, which
//! only the owner can enter); a second start connects, hands over what it
//! was started for ([`Start`]: Home, a `mailpay:` link, an order to
//! review) in one frame of the bridge's framing ([`crate::bridge::frame`]),
//! waits for the acknowledgement and exits. A socket file left by a wallet
//! that died is replaced ([`crate::bridge::endpoint::bind`]). Frames are
//! small ([`MAX`]) and a connection that says nothing within [`TIME`] is
//! dropped. Unix only for now: elsewhere every start is its own wallet.

use std::path::PathBuf;
use std::time::Duration;

#[cfg(any(unix, test))]
use serde::{Deserialize, Serialize};

use crate::paths::Paths;
use crate::ui::app::Start;

/// The longest start request taken (a `mailpay:` link is far shorter).
pub const MAX: usize = 16 * 1024;
/// How long connecting, handing over or answering may take.
pub const TIME: Duration = Duration::from_secs(3);

/// A start request as it travels on the socket.
#[cfg(any(unix, test))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "open", rename_all = "kebab-case")]
enum Wire {
    Home,
    Link { link: String },
    Review { order: String },
    Background,
}

#[cfg(unix)]
#[derive(Debug, Serialize, Deserialize)]
struct Ack {
    ok: bool,
}

#[cfg(any(unix, test))]
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

#[cfg(any(unix, test))]
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

#[cfg(unix)]
pub type Listener = std::os::unix::net::UnixListener;
#[cfg(not(unix))]
pub enum Listener {}

/// What a start finds.
pub enum Claim {
    /// This process is the wallet: it listens here.
    First(Listener),
    /// A running wallet took the start request: this process is done.
    HandedOver,
    /// This process runs on its own (why: no local socket on this system,
    /// or it could not be made).
    Alone(String),
}

/// Hands `start` to a running wallet, or becomes the one that listens.
/// Blocking (its own short-lived runtime): called before the window opens.
#[cfg(unix)]
pub fn claim(paths: &Paths, start: &Start) -> Claim {
    use crate::bridge::endpoint::{Bound, bind};
    let path = socket_path(paths);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return Claim::Alone(e.to_string()),
    };
    runtime.block_on(async {
        if hand_over(&path, start).await.is_ok() {
            return Claim::HandedOver;
        }
        match bind(&path).await {
            Ok(Bound::Listening(listener)) => match listener.into_std() {
                Ok(listener) => Claim::First(listener),
                Err(e) => Claim::Alone(e.to_string()),
            },
            // Another wallet started at the same moment.
            Ok(Bound::Taken) => match hand_over(&path, start).await {
                Ok(()) => Claim::HandedOver,
                Err(e) => Claim::Alone(e),
            },
            Ok(Bound::Unsupported) => Claim::Alone("no local socket on this system".into()),
            Err(e) => Claim::Alone(format!("{}: {e}", path.display())),
        }
    })
}

#[cfg(not(unix))]
pub fn claim(_paths: &Paths, _start: &Start) -> Claim {
    Claim::Alone("only one wallet per user is not kept on this system yet".into())
}

#[cfg(unix)]
async fn hand_over(path: &std::path::Path, start: &Start) -> Result<(), String> {
    use crate::bridge::frame;
    let talk = async {
        let mut stream = tokio::net::UnixStream::connect(path).await.map_err(|e| e.to_string())?;
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
    use iced::futures::SinkExt;
    iced::stream::channel(4, async move |mut out| {
        let Ok(listener) = tokio::net::UnixListener::from_std(listener) else { return };
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
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
    })
}

#[cfg(unix)]
async fn answer(stream: &mut tokio::net::UnixStream) -> Option<Start> {
    use crate::bridge::frame;
    let wire: Wire = frame::read(stream, MAX).await.ok()?;
    let start = wire.start();
    let _ = frame::write(stream, &Ack { ok: start.is_some() }, MAX).await;
    start
}

#[cfg(not(unix))]
pub fn requests(listener: Listener) -> iced::futures::stream::Empty<Start> {
    match listener {}
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
