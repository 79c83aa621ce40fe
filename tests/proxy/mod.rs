//! A TCP proxy between a client and a relay, so that a test can drop the client's connection
//! abruptly (a TCP reset, as when Wi-Fi goes), keep it away for a while, and let it back.
//!
//! The relay sees what a real drop looks like: no close frame, the socket simply gone.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy's tasks share with the test.
struct State {
    /// New connections are passed on; when false they are reset at once.
    up: AtomicBool,
    /// The relay's bytes are dropped instead of passed to the client.
    holding: AtomicBool,
    /// Bumped to cut every open connection.
    cuts: watch::Sender<u64>,
}

/// A proxy on `127.0.0.1:0` in front of one relay. Dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts passing connections on to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            up: AtomicBool::new(true),
            holding: AtomicBool::new(false),
            cuts: watch::channel(0).0,
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                reset_on_close(&client);
                if !shared.up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(relay) = TcpStream::connect(target).await else {
                    continue;
                };
                reset_on_close(&relay);
                tokio::spawn(pipe(client, relay, Arc::clone(&shared)));
            }
        });
        Self { addr, state, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resets every open connection (both sides) and resets new ones until [`up`](Self::up).
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        self.state.cuts.send_modify(|n| *n += 1);
    }

    /// Passes new connections on again, with nothing held back.
    pub fn up(&self) {
        self.state.holding.store(false, Ordering::SeqCst);
        self.state.up.store(true, Ordering::SeqCst);
    }

    /// From now on drops what the relay sends on open connections, while the client's bytes
    /// still reach the relay: what the client sends arrives, its confirmations do not.
    pub fn hold_replies(&self) {
        self.state.holding.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
        self.task.abort();
    }
}

/// Closing the socket sends a TCP reset rather than a polite FIN.
fn reset_on_close(stream: &TcpStream) {
    stream.set_zero_linger().unwrap();
}

async fn pipe(client: TcpStream, relay: TcpStream, state: Arc<State>) {
    let mut cut = state.cuts.subscribe();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut relay_read, mut relay_write) = relay.into_split();
    let upstream = async {
        let mut buf = vec![0; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 || relay_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0; 16 * 1024];
        loop {
            let n = relay_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            if state.holding.load(Ordering::SeqCst) {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
        _ = cut.changed() => {}
    }
    // Dropping the halves closes both sockets, with a reset.
}
