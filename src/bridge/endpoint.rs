//! The wallet's local socket, where the Thunderbird host listens for the
//! app and the command line (`thunderbird.sock` in the wallet's data
//! folder, which only its owner can enter: a Unix socket, or on Windows
//! the name of a named pipe; see [`crate::local_socket`]), and
//! [`ThroughThunderbird`], the [`Transport`] they send with when an
//! account's mails go through Thunderbird.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::frame::{self, FROM_PEER_MAX};
use super::host::SEND_TIME;
use super::messages::{Reply, Request, WireMail};
use crate::mail::smtp::{Dispatch, SendError};
use crate::paths::Paths;
use crate::protocol::compose::Outgoing;
use crate::wallet::{Sending, Transport};

/// How long a connection may wait between requests.
pub const IDLE: Duration = Duration::from_secs(300);
/// How long connecting may take.
const CONNECT_TIME: Duration = crate::local_socket::CONNECT_TIME;

pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.data_dir.join("thunderbird.sock")
}

pub use crate::local_socket::{Bound, Listener, bind};

/// Removes the socket file when the host stops serving.
pub struct Unlink(pub PathBuf);

impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Sends through the Thunderbird host of this wallet. When no host is
/// there (Thunderbird closed), every mail fails for now and waits in the
/// outbox: the host sends it when Thunderbird is back.
#[derive(Debug, Clone)]
pub struct ThroughThunderbird {
    socket: PathBuf,
}

impl ThroughThunderbird {
    pub fn new(paths: &Paths) -> ThroughThunderbird {
        ThroughThunderbird { socket: socket_path(paths) }
    }

    async fn ask(&self, request: &Request) -> Result<Reply, String> {
        let Ok(mut stream) = crate::local_socket::connect(&self.socket).await else {
            return Err(NOT_RUNNING.into());
        };
        frame::write(&mut stream, request, FROM_PEER_MAX).await.map_err(|e| e.to_string())?;
        // Thunderbird sends the mails at once: one send's time for all.
        match tokio::time::timeout(SEND_TIME + CONNECT_TIME, frame::read(&mut stream, FROM_PEER_MAX)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("Thunderbird did not answer within {SEND_TIME:?}")),
        }
    }

    /// Who the host serves, if one is running.
    pub async fn status(&self) -> Result<Reply, String> {
        self.ask(&Request::Status).await
    }
}

const NOT_RUNNING: &str = "Thunderbird is not running, or MailPay's add-on is not connected in it; the mail waits in MailPay's outbox and leaves when Thunderbird is back";

impl Transport for ThroughThunderbird {
    fn send<'a>(&'a self, mails: &'a [Outgoing]) -> Sending<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let wire = mails
                .iter()
                .map(|m| WireMail {
                    kind: m.kind.as_str().to_string(),
                    order: m.order.to_string(),
                    message_id: m.message_id.clone(),
                    from: m.from.to_string(),
                    to: m.to.to_string(),
                    bytes: STANDARD.encode(&m.bytes),
                })
                .collect();
            let reply = self.ask(&Request::Send { mails: wire }).await;
            let failed = |reason: String| SendError::MailClient {
                client: "Thunderbird".into(),
                reason,
                temporary: true,
            };
            mails
                .iter()
                .enumerate()
                .map(|(i, mail)| {
                    let result = match &reply {
                        Ok(Reply::Sent { results }) => match results.get(i) {
                            Some(r) if r.message_id == mail.message_id => match &r.error {
                                None => Ok(r.sent_as.clone()),
                                Some(reason) => Err(SendError::MailClient {
                                    client: "Thunderbird".into(),
                                    reason: reason.clone(),
                                    temporary: r.temporary,
                                }),
                            },
                            _ => Err(failed("the host's answer does not match the mails sent".into())),
                        },
                        Ok(Reply::Error { text }) => Err(failed(text.clone())),
                        Ok(Reply::Status { .. }) => Err(failed("the host answered something else".into())),
                        Err(reason) => Err(failed(reason.clone())),
                    };
                    Dispatch::of(mail, result, started)
                })
                .collect()
        })
    }
}
