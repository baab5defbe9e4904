//! A TCP proxy in front of a database server that can make it go away: drop every
//! connection, or hold them open and pass nothing (a server or network that hangs).
//!
//! It runs on a thread of its own, so a test's runtime, and whatever the test blocks on,
//! never stops it from forwarding.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Passes bytes both ways.
    None = 0,
    /// Closes every connection, open ones included, the moment it sees them: a server that
    /// went down.
    Drop = 1,
    /// Accepts connections and holds every byte, in both directions: a server or network
    /// that hangs, mid-statement included.
    Stall = 2,
}

impl Fault {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Drop,
            2 => Self::Stall,
            _ => Self::None,
        }
    }
}

pub struct FaultProxy {
    pub port: u16,
    fault: Arc<AtomicU8>,
    /// Bumped on every change, so idle connections notice a Drop at once.
    generation: Arc<AtomicU64>,
}

/// How often a connection holding bytes looks at the fault again.
const POLL: Duration = Duration::from_millis(20);

impl FaultProxy {
    /// A proxy on 127.0.0.1 passing connections to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let fault = Arc::new(AtomicU8::new(Fault::None as u8));
        let generation = Arc::new(AtomicU64::new(0));
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (f, g) = (fault.clone(), generation.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(forward(client, upstream, f.clone(), g.clone()));
                }
            });
        });
        Self {
            port,
            fault,
            generation,
        }
    }

    pub fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

async fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    fault: Arc<AtomicU8>,
    generation: Arc<AtomicU64>,
) {
    let current = || Fault::from_u8(fault.load(Ordering::SeqCst));
    if current() == Fault::Drop {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let watch = |r, w| pump(r, w, fault.clone(), generation.clone());
    tokio::select! {
        _ = watch(client_read, server_write) => {}
        _ = watch(server_read, client_write) => {}
    }
}

/// Copies one direction until either side closes or the fault says Drop; holds the bytes
/// it has while the fault says Stall.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    fault: Arc<AtomicU8>,
    generation: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let seen = generation.load(Ordering::SeqCst);
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = changed(&generation, seen) => {
                if Fault::from_u8(fault.load(Ordering::SeqCst)) == Fault::Drop {
                    return;
                }
                continue;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            match Fault::from_u8(fault.load(Ordering::SeqCst)) {
                Fault::Drop => return,
                Fault::Stall => tokio::time::sleep(POLL).await,
                Fault::None => break,
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Resolves once the fault has been set again since generation `seen`.
async fn changed(generation: &AtomicU64, seen: u64) {
    while generation.load(Ordering::SeqCst) == seen {
        tokio::time::sleep(POLL).await;
    }
}
