//! A TCP proxy between a client and a relay, so that a test can drop the client's connection
//! abruptly, keep it away for a while, and let it back.
//!
//! Both ends see what a Wi-Fi drop looks like: the client's socket is reset (no close frame),
//! while the relay's side stays open and silent, so the relay has not noticed yet and still
//! takes messages for the client, until the client resumes elsewhere.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Where new connections go; a lock because the test may point it elsewhere.
    target: Mutex<SocketAddr>,
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
            target: Mutex::new(target),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !shared.up.load(Ordering::SeqCst) {
                    // Refused like a host that is not there.
                    client.set_zero_linger().unwrap();
                    drop(client);
                    continue;
                }
                let target = *shared.target.lock().unwrap();
                let Ok(relay) = TcpStream::connect(target).await else {
                    client.set_zero_linger().unwrap();
                    continue;
                };
                tokio::spawn(pipe(client, relay, Arc::clone(&shared)));
            }
        });
        Self { addr, state, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resets the client's side of every open connection, leaves the relay's side open and
    /// silent, and resets new connections until [`up`](Self::up).
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        self.state.cuts.send_modify(|n| *n += 1);
    }

    /// Passes new connections on again, with nothing held back.
    pub fn up(&self) {
        self.state.holding.store(false, Ordering::SeqCst);
        self.state.up.store(true, Ordering::SeqCst);
    }

    /// Sends new connections to `target` from now on: a relay restarted elsewhere looks, to
    /// the client, like one restarted on the same address, without the test needing that
    /// port to be free again.
    pub fn retarget(&self, target: SocketAddr) {
        *self.state.target.lock().unwrap() = target;
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

async fn pipe(mut client: TcpStream, mut relay: TcpStream, state: Arc<State>) {
    let mut cut = state.cuts.subscribe();
    let was_cut = {
        let (mut client_read, mut client_write) = client.split();
        let (mut relay_read, mut relay_write) = relay.split();
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
            () = upstream => false,
            () = downstream => false,
            _ = cut.changed() => true,
        }
    };
    if !was_cut {
        // One side closed: the other end closes too, politely, after what was in flight.
        return;
    }
    // Cut: the client's side goes with a reset, as when the network drops.
    client.set_zero_linger().unwrap();
    drop(client);
    // The relay's side stays open, swallowing what the relay sends, until the relay closes it
    // (when the session resumes on another connection).
    let mut buf = vec![0; 16 * 1024];
    while relay.read(&mut buf).await.is_ok_and(|n| n > 0) {}
}
