//! The wallet's local sockets: a listener one program of the user holds
//! (the running wallet on `wallet.sock`, the Thunderbird host on
//! `thunderbird.sock`, both in the data folder, which is the user's own),
//! and the connections other programs of the same user make to it.
//!
//! [`bind`] listens at a path unless a live owner already does
//! ([`Bound::Taken`]); what a listener that died left at the path is stale
//! and replaced. [`connect`] reaches the listener, within [`CONNECT_TIME`].
//!
//! - Unix: a Unix-domain socket at the path; the folder keeps other users
//!   out.
//! - Windows: a named pipe, `\\.\pipe\mailpay-<128 random bits>`, made
//!   with `first_pipe_instance` (the name cannot be anyone's before it is
//!   ours) and `reject_remote_clients`. The file at the path, which only
//!   the user can read, holds the pipe's name and a second random value,
//!   the token. On every connection the client sends a random challenge
//!   and the listener answers with its HMAC-SHA256 under the token, which
//!   [`connect`] checks before a byte of a request is sent: a pipe that
//!   cannot answer so is not this user's listener. A name file whose pipe
//!   nobody serves (or one that does not know the token) is stale and is
//!   replaced by a new name on [`bind`].
//!
//! What a pipe made without security attributes gets on Windows, and what
//! that leaves: its default DACL gives full control to the user who made
//! it, to SYSTEM and to administrators, and read access to Everyone and
//! anonymous. So another user cannot write to it, nor add an instance of
//! it (that is write access): no request and no challenge comes from
//! anyone but this user's programs (and SYSTEM and administrators, who can
//! read the user's files anyway). The name is not secret from other users
//! while the pipe exists, as Windows lists every pipe's name to anyone; it
//! cannot be guessed before, and once the listener ends another user could
//! make a pipe of that name. That is what the token is for: such a pipe
//! cannot answer a challenge, so nothing is handed to it; and another user
//! who opens the live pipe for reading gets no answer, as it cannot send a
//! challenge, and learns nothing of the token. What such a user can do is
//! hold instances of the pipe open for a while ([`CONNECT_TIME`] each),
//! which delays this user's programs: a denial of service, nothing more.
//! Clients connect with the default SECURITY_IDENTIFICATION level, so a
//! listener can tell who its client is but cannot act as them.

use std::io;
use std::path::Path;
use std::time::Duration;

/// How long connecting may take (a busy Windows pipe is tried again
/// within it).
pub const CONNECT_TIME: Duration = Duration::from_secs(3);

/// What [`bind`] finds.
pub enum Bound {
    Listening(Listener),
    /// A live listener holds the path.
    Taken,
}

#[cfg(unix)]
pub use unix::{Accepted, Connected, Listener, bind, connect};
#[cfg(windows)]
pub use windows::{Accepted, Connected, Listener, bind, connect};

fn create_folder(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => crate::paths::create_private_dir(dir).map_err(io::Error::other),
        None => Ok(()),
    }
}

#[cfg(unix)]
mod unix {
    use super::{Bound, create_folder};
    use std::io;
    use std::path::Path;
    use tokio::net::{UnixListener, UnixStream};

    pub type Accepted = UnixStream;
    pub type Connected = UnixStream;

    pub struct Listener(UnixListener);

    impl Listener {
        pub async fn accept(&mut self) -> io::Result<Accepted> {
            self.0.accept().await.map(|(stream, _)| stream)
        }

        /// For another runtime ([`Listener::from_std`] there).
        pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
            self.0.into_std()
        }

        pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<Listener> {
            UnixListener::from_std(listener).map(Listener)
        }
    }

    /// Listens on `path`, unless a live listener already does; a socket
    /// file left by one that died is replaced.
    pub async fn bind(path: &Path) -> io::Result<Bound> {
        create_folder(path)?;
        match UnixListener::bind(path) {
            Ok(listener) => Ok(Bound::Listening(Listener(listener))),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(path).await.is_ok() {
                    return Ok(Bound::Taken);
                }
                std::fs::remove_file(path)?;
                UnixListener::bind(path).map(|l| Bound::Listening(Listener(l)))
            }
            Err(e) => Err(e),
        }
    }

    /// Connects to the listener at `path`, within [`super::CONNECT_TIME`].
    pub async fn connect(path: &Path) -> io::Result<Connected> {
        match tokio::time::timeout(super::CONNECT_TIME, UnixStream::connect(path)).await {
            Ok(connected) => connected,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

#[cfg(windows)]
mod windows {
    use super::name::Name;
    use super::{Bound, CONNECT_TIME, create_folder};
    use hmac::Mac;
    use std::io;
    use std::path::Path;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions};
    use tokio::sync::mpsc;

    pub type Accepted = NamedPipeServer;
    pub type Connected = NamedPipeClient;

    const CHALLENGE: usize = 16;
    const ANSWER: usize = 32;
    /// All instances of the pipe are busy (winerror.h).
    const ERROR_PIPE_BUSY: i32 = 231;

    pub struct Listener {
        name: Name,
        /// The instance the next client connects to.
        next: NamedPipeServer,
        /// Clients that sent their challenge and were answered.
        answered: (mpsc::Sender<NamedPipeServer>, mpsc::Receiver<NamedPipeServer>),
    }

    impl Listener {
        /// The next client that sent a challenge, answered. A client is
        /// answered on a task of its own, so that one that sends nothing
        /// holds up no other.
        pub async fn accept(&mut self) -> io::Result<Accepted> {
            loop {
                tokio::select! {
                    Some(pipe) = self.answered.1.recv() => return Ok(pipe),
                    connected = self.next.connect() => {
                        // The next client's instance is made before this
                        // one is handed on: the name is never free while
                        // the listener lives.
                        let fresh = match options().create(&self.name.pipe) {
                            Ok(fresh) => fresh,
                            Err(e) => {
                                let _ = self.next.disconnect();
                                return Err(e);
                            }
                        };
                        let mut pipe = std::mem::replace(&mut self.next, fresh);
                        connected?;
                        let (name, answered) = (self.name.clone(), self.answered.0.clone());
                        tokio::spawn(async move {
                            let answering = answer(&mut pipe, &name);
                            if let Ok(Ok(())) = tokio::time::timeout(CONNECT_TIME, answering).await {
                                let _ = answered.send(pipe).await;
                            }
                        });
                    }
                }
            }
        }
    }

    async fn answer(pipe: &mut NamedPipeServer, name: &Name) -> io::Result<()> {
        let mut challenge = [0u8; CHALLENGE];
        pipe.read_exact(&mut challenge).await?;
        pipe.write_all(&name.mac(&challenge).finalize().into_bytes()).await
    }

    fn options() -> ServerOptions {
        let mut options = ServerOptions::new();
        options.reject_remote_clients(true);
        options
    }

    /// Listens under a new random name written to `path`, unless the pipe
    /// `path` names is a live listener's; a name file left by one that
    /// died is replaced.
    pub async fn bind(path: &Path) -> io::Result<Bound> {
        create_folder(path)?;
        match Name::read(path) {
            Ok(name) => match reach(&name, Instant::now()).await {
                // Busy, or slow to answer: alive.
                Ok(_) => return Ok(Bound::Taken),
                Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) => return Ok(Bound::Taken),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(Bound::Taken),
                Err(_) => remove(path)?,
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Not a name: replaced.
            Err(_) => remove(path)?,
        }
        let name = Name::random();
        let next = options().first_pipe_instance(true).create(&name.pipe)?;
        match publish(path, &name) {
            Ok(()) => Ok(Bound::Listening(Listener { name, next, answered: mpsc::channel(4) })),
            // Another listener wrote its name in the meantime.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Bound::Taken),
            Err(e) => Err(e),
        }
    }

    fn remove(path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Writes the name file whole, and only if there is none: written to
    /// a file of its own, then linked at `path` (which fails if `path`
    /// exists), so that no reader sees half of it.
    fn publish(path: &Path, name: &Name) -> io::Result<()> {
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let temp = std::path::PathBuf::from(temp);
        std::fs::write(&temp, name.text())?;
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        linked
    }

    /// Connects to the listener whose name is at `path`, within
    /// [`CONNECT_TIME`] (a busy pipe is tried again), and checks that it
    /// knows the token.
    pub async fn connect(path: &Path) -> io::Result<Connected> {
        reach(&Name::read(path)?, Instant::now() + CONNECT_TIME).await
    }

    /// Opens the pipe, trying a busy one again until `until`, and checks
    /// its answer to a challenge, within [`CONNECT_TIME`].
    async fn reach(name: &Name, until: Instant) -> io::Result<NamedPipeClient> {
        let mut pipe = loop {
            match ClientOptions::new().open(&name.pipe) {
                Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                opened => break opened?,
            }
        };
        let challenge: [u8; CHALLENGE] = rand::random();
        let mut answer = [0u8; ANSWER];
        let talk = async {
            pipe.write_all(&challenge).await?;
            pipe.read_exact(&mut answer).await
        };
        match tokio::time::timeout(CONNECT_TIME, talk).await {
            Ok(Ok(_)) => match name.mac(&challenge).verify_slice(&answer) {
                Ok(()) => Ok(pipe),
                Err(_) => Err(io::Error::new(io::ErrorKind::PermissionDenied, "not this user's listener")),
            },
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

/// The name file's contents on Windows (kept apart so that its tests run
/// everywhere).
#[cfg(any(windows, test))]
mod name {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    const PREFIX: &str = r"\\.\pipe\mailpay-";
    /// Hex digits of a name's random part and of a token.
    const DIGITS: usize = 32;

    /// What the name file says.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Name {
        pub(super) pipe: String,
        pub(super) token: String,
    }

    impl Name {
        pub(super) fn random() -> Name {
            let hex = || format!("{:032x}", rand::random::<u128>());
            Name { pipe: format!("{PREFIX}{}", hex()), token: hex() }
        }

        pub(super) fn text(&self) -> String {
            format!("{}\n{}\n", self.pipe, self.token)
        }

        /// `None` for anything but a local MailPay pipe's name and a token.
        pub(super) fn parse(text: &str) -> Option<Name> {
            let mut lines = text.lines();
            let (pipe, token) = (lines.next()?, lines.next()?);
            let hex = |s: &str| s.len() == DIGITS && s.bytes().all(|b| b.is_ascii_hexdigit());
            (lines.next().is_none() && pipe.strip_prefix(PREFIX).is_some_and(hex) && hex(token))
                .then(|| Name { pipe: pipe.into(), token: token.into() })
        }

        #[cfg(windows)]
        pub(super) fn read(path: &std::path::Path) -> std::io::Result<Name> {
            let text = std::fs::read_to_string(path)?;
            let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a pipe's name");
            Name::parse(&text).ok_or_else(invalid)
        }

        pub(super) fn mac(&self, challenge: &[u8]) -> Hmac<Sha256> {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.token.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
            mac.update(challenge);
            mac
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        #[test]
        fn a_name_file_is_a_local_pipe_and_a_token() {
            let name = Name::random();
            assert_eq!(Name::parse(&name.text()), Some(name.clone()));
            assert_ne!(Name::random(), name);
            for bad in [
                "",
                r"\\server\pipe\mailpay-00000000000000000000000000000000",
                &name.text().replace(PREFIX, r"\\.\pipe\other-"),
                &format!("{}\n{}\nmore\n", name.pipe, name.token),
                &format!("{}\n{}x\n", name.pipe, name.token),
            ] {
                assert_eq!(Name::parse(bad), None, "{bad:?}");
            }
        }

        #[test]
        fn only_the_token_answers_a_challenge() {
            let (name, other) = (Name::random(), Name::random());
            let answer = name.mac(b"challenge").finalize().into_bytes();
            assert!(name.mac(b"challenge").verify_slice(&answer).is_ok());
            assert!(name.mac(b"another").verify_slice(&answer).is_err());
            assert!(other.mac(b"challenge").verify_slice(&answer).is_err());
        }
    }
}
