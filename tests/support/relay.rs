//! A TCP relay in front of the real Postfix, for fault injection: while it
//! is closed it hangs up on every connection at once (the agent sees its
//! mail server unreachable); open, it passes the bytes through untouched
//! (TLS stays end to end between the agent and Postfix).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

pub struct Relay {
    pub port: u16,
    open: Arc<AtomicBool>,
    /// Connections hung up on while closed.
    pub refused: Arc<AtomicUsize>,
}

impl Relay {
    /// Starts a closed relay to `127.0.0.1:target` on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, target: u16) -> Relay {
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (open.clone(), refused.clone());
        runtime.spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                if !flag.load(Ordering::SeqCst) {
                    count.fetch_add(1, Ordering::SeqCst);
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay { port, open, refused }
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
