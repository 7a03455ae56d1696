//! FAKE SMTP SERVER, named as such: the one fault the real Postfix cannot
//! be made to show on demand is a connection that breaks in the middle of
//! DATA. This server speaks just enough SMTP over implicit TLS (with the
//! test stack's certificate) to take a mail up to DATA, reads part of the
//! content, and then drops the connection without an answer.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub struct DroppingSmtp {
    pub port: u16,
    /// Connections that reached DATA and were dropped.
    pub dropped: Arc<AtomicUsize>,
}

/// Starts the fake on a free loopback port, serving `cert`/`key` (PEM).
pub async fn start(cert: &Path, key: &Path) -> DroppingSmtp {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("certificate file")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(key).expect("key file");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let mut conn = BufReader::new(tls);
                if serve_until_data(&mut conn).await.is_some() {
                    // Read a little of the content, then vanish mid-DATA.
                    let mut some = [0u8; 64];
                    let _ = conn.read(&mut some).await;
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    DroppingSmtp { port, dropped }
}

/// Answers the dialogue up to `354`; `None` if the client went away first.
async fn serve_until_data<S>(conn: &mut BufReader<S>) -> Option<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.get_mut().write_all(b"220 fake.test ESMTP fake that drops during DATA\r\n").await.ok()?;
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n",
            "HELO" => b"250 fake.test\r\n",
            "AUTH" => b"235 2.7.0 Authentication successful\r\n",
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 Ok\r\n",
            "DATA" => {
                conn.get_mut().write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.ok()?;
                return Some(());
            }
            "QUIT" => return None,
            _ => b"502 5.5.2 Error: command not recognized\r\n",
        };
        conn.get_mut().write_all(reply).await.ok()?;
    }
}
