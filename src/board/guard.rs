//! What keeps one client from holding the board: caps on the connections
//! open at once ([`Connections`], per client address and in all) and time
//! limits on each connection ([`Clock`], watched by [`Clock::expired`]
//! over the bytes its [`Timed`] stream moves).
//!
//! The caps: a connection from an address already at its cap is refused;
//! one that would pass the global cap takes the place of the oldest
//! connection of the address holding the most, if that address holds at
//! least two more than the newcomer's, else it is refused. So a client
//! with few connections always gets in, and no address keeps more than
//! its share once the board is full.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds as many connections as one may.
    Address,
    /// The board holds as many as it may, none of them from an address
    /// holding clearly more than this one.
    Full,
}

/// The client a connection counts against: its IPv4 address, or the /64
/// of its IPv6 address (one host's usual share), an IPv4-mapped IPv6
/// address counting as the IPv4 one.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

struct Open {
    id: u64,
    /// Told when the connection must give its place up.
    evict: Arc<Notify>,
}

#[derive(Default)]
struct Table {
    /// Per client, oldest first.
    by_client: HashMap<IpAddr, Vec<Open>>,
    total: usize,
    next_id: u64,
}

impl Table {
    fn remove(&mut self, client: IpAddr, id: Option<u64>) -> Option<Open> {
        let list = self.by_client.get_mut(&client)?;
        let position = match id {
            Some(id) => list.iter().position(|o| o.id == id)?,
            None => 0,
        };
        let open = (position < list.len()).then(|| list.remove(position));
        if list.is_empty() {
            self.by_client.remove(&client);
        }
        if open.is_some() {
            self.total = self.total.saturating_sub(1);
        }
        open
    }
}

/// The connections open now.
#[derive(Clone)]
pub struct Connections {
    table: Arc<Mutex<Table>>,
    max: usize,
    per_client: usize,
}

impl Connections {
    /// At most `max` connections in all, `per_client` from one client
    /// (each at least 1).
    pub fn new(max: usize, per_client: usize) -> Connections {
        Connections { table: Arc::default(), max: max.max(1), per_client: per_client.max(1) }
    }

    /// Takes a connection from `peer`, or says why not. It counts until
    /// the [`Slot`] is dropped.
    pub fn admit(&self, peer: IpAddr) -> Result<Slot, Refusal> {
        let client = client_of(peer);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let held = table.by_client.get(&client).map_or(0, Vec::len);
        if held >= self.per_client {
            return Err(Refusal::Address);
        }
        if table.total >= self.max {
            let most = table.by_client.iter().map(|(c, list)| (*c, list.len())).max_by_key(|(_, n)| *n);
            match most {
                Some((victim, n)) if n > held + 1 => {
                    if let Some(evicted) = table.remove(victim, None) {
                        evicted.evict.notify_one();
                    }
                }
                _ => return Err(Refusal::Full),
            }
        }
        table.next_id += 1;
        let id = table.next_id;
        let evict = Arc::new(Notify::new());
        table.by_client.entry(client).or_default().push(Open { id, evict: evict.clone() });
        table.total += 1;
        Ok(Slot { table: self.table.clone(), client, id, evict })
    }

    /// How many connections are open now, in all.
    pub fn open(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

/// One admitted connection's place; given back when dropped.
pub struct Slot {
    table: Arc<Mutex<Table>>,
    client: IpAddr,
    id: u64,
    evict: Arc<Notify>,
}

impl Slot {
    /// Completes when another client took this connection's place.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.remove(self.client, Some(self.id));
    }
}

/// The time limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// From a request's first byte until it has been read whole.
    pub request: Duration,
    /// From a request's first byte until its headers have been read.
    pub headers: Duration,
    /// Without a byte, between requests or before the first.
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Between requests, since the last answer or the last byte of it written.
    Idle(Instant),
    /// Reading a request's headers, since its first byte.
    Headers(Instant),
    /// Reading its body and working on it, since its first byte.
    Request(Instant),
}

/// Where one connection is, for its time limits.
pub struct Clock {
    phase: Mutex<Phase>,
    changed: Notify,
    times: Times,
}

impl Clock {
    pub fn new(times: Times) -> Arc<Clock> {
        Arc::new(Clock { phase: Mutex::new(Phase::Idle(Instant::now())), changed: Notify::new(), times })
    }

    fn update(&self, next: impl FnOnce(Phase, Instant) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        *phase = next(*phase, Instant::now());
        drop(phase);
        self.changed.notify_one();
    }

    /// Bytes came in: a request starts, if none was under way.
    fn read(&self) {
        let idle = matches!(*self.phase.lock().unwrap_or_else(PoisonError::into_inner), Phase::Idle(_));
        if idle {
            self.update(|_, now| Phase::Headers(now));
        }
    }

    /// Bytes went out: an answer is still being taken.
    fn wrote(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Idle(Instant::now());
        }
    }

    /// A request's headers were read (it may have come whole with the last one).
    pub fn headers_read(&self) {
        self.update(|phase, now| match phase {
            Phase::Idle(_) => Phase::Request(now),
            Phase::Headers(since) | Phase::Request(since) => Phase::Request(since),
        });
    }

    /// A request was read and answered.
    pub fn answered(&self) {
        self.update(|_, now| Phase::Idle(now));
    }

    fn deadline(&self) -> Instant {
        let phase = *self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        match phase {
            Phase::Idle(since) => since + self.times.idle,
            Phase::Headers(since) => since + self.times.headers.min(self.times.request),
            Phase::Request(since) => since + self.times.request,
        }
    }

    /// Completes when the connection has passed one of its time limits.
    pub async fn expired(&self) {
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline.into()) => {}
                () = self.changed.notified() => {}
            }
        }
    }
}

/// A stream that tells its [`Clock`] when bytes move.
pub struct Timed<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S> Timed<S> {
    pub fn new(inner: S, clock: Arc<Clock>) -> Timed<S> {
        Timed { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        assert_eq!(client_of(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
        assert_eq!(client_of(ip("2001:db8:1:2::1")), client_of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(client_of(ip("2001:db8:1:2::1")), client_of(ip("2001:db8:1:3::1")));
        assert_eq!(client_of(ip("::ffff:198.51.100.1")), ip("198.51.100.1"));
    }

    #[test]
    fn caps_per_client_and_in_all_with_the_greediest_client_making_room() {
        let now_or_never = futures_util::FutureExt::now_or_never;
        let connections = Connections::new(4, 3);
        let a: Vec<Slot> = (0..3).map(|_| connections.admit(ip("10.0.0.1")).unwrap()).collect();
        assert_eq!(connections.admit(ip("10.0.0.1")).err(), Some(Refusal::Address));
        let b = connections.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(connections.open(), 4);
        // Newcomers take the oldest places of the client holding the most.
        let c = connections.admit(ip("10.0.0.3")).unwrap();
        assert_eq!(now_or_never(a[0].evicted()), Some(()), "the oldest of 10.0.0.1 was told to go");
        assert_eq!(now_or_never(a[1].evicted()), None);
        let d = connections.admit(ip("10.0.0.4")).unwrap();
        assert_eq!(now_or_never(a[1].evicted()), Some(()));
        assert_eq!(connections.open(), 4);
        // One each: nobody holds two more than a newcomer.
        assert_eq!(connections.admit(ip("10.0.0.5")).err(), Some(Refusal::Full));
        assert_eq!(now_or_never(a[2].evicted()), None);
        drop(a);
        assert_eq!(connections.open(), 3, "an evicted place is not given back twice");
        drop((b, c, d));
        assert_eq!(connections.open(), 0);
    }

    #[test]
    fn one_ipv6_slash_64_is_one_client() {
        let connections = Connections::new(10, 2);
        let _held =
            [connections.admit(ip("2001:db8::1")).unwrap(), connections.admit(ip("2001:db8::2")).unwrap()];
        assert_eq!(connections.admit(ip("2001:db8::ffff:1")).err(), Some(Refusal::Address));
        assert!(connections.admit(ip("2001:db8:0:1::1")).is_ok(), "another /64");
    }
}
