//! The TCP connections MailPay opens to mail servers: Nagle's algorithm
//! off (TCP_NODELAY), and on Linux every read preceded by TCP_QUICKACK, so
//! that what the server sends is acknowledged at once. Without it, a
//! server that writes a reply or a TLS flight in pieces with Nagle on
//! waits for our delayed ACK, 40 ms each time on Linux (measured: one SMTP
//! STARTTLS handshake in three, `cargo bench --bench dispatch`). The
//! option is not sticky (the kernel leaves quick-ACK mode on its own),
//! hence before every read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection that sends at once and acknowledges at once.
#[derive(Debug)]
pub struct QuickAck(TcpStream);

impl QuickAck {
    pub fn new(tcp: TcpStream) -> io::Result<QuickAck> {
        tcp.set_nodelay(true)?;
        Ok(QuickAck(tcp))
    }

    pub fn get_ref(&self) -> &TcpStream {
        &self.0
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
