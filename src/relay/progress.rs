//! Knowing whether a client's socket still takes bytes: the relay's stall check.
//!
//! A reader that drains slowly but steadily is healthy, however long a batch of frames takes;
//! one whose socket accepts no bytes at all for the stall timeout is not. [`Metered`] wraps the
//! connection's stream and stamps [`Progress`] whenever a write moves at least one byte, so
//! the connection can wait on a write and ask "when did this socket last take anything?".

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Duration, Instant};

/// When the socket last accepted bytes, shared between the stream and its connection task.
#[derive(Debug)]
pub(crate) struct Progress {
    start: Instant,
    /// Milliseconds after `start` of the last write that moved bytes (or of [`Progress::mark`]).
    last_ms: AtomicU64,
}

impl Progress {
    /// Progress counted from now.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    /// Counts now as progress: a wait starts here, whatever happened before.
    pub(crate) fn mark(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the socket last took bytes (or [`mark`](Self::mark) was called).
    pub(crate) fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream whose successful writes are stamped on a [`Progress`].
#[derive(Debug)]
pub(crate) struct Metered<S> {
    inner: S,
    progress: Arc<Progress>,
}

impl<S> Metered<S> {
    /// Wraps `inner`, stamping `progress`.
    pub(crate) fn new(inner: S, progress: Arc<Progress>) -> Self {
        Self { inner, progress }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.progress.mark();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.progress.mark();
        }
        result
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
    use tokio::io::AsyncWriteExt as _;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_moves_bytes_is_progress() {
        let progress = Progress::new();
        let (a, _b) = tokio::io::duplex(64);
        let mut stream = Metered::new(a, Arc::clone(&progress));
        tokio::time::advance(Duration::from_secs(3)).await;
        let before = progress.last();
        stream.write_all(b"hello").await.expect("write");
        assert!(progress.last() >= before + Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_the_peer_never_takes_is_no_progress() {
        let progress = Progress::new();
        let (a, _b) = tokio::io::duplex(4);
        let mut stream = Metered::new(a, Arc::clone(&progress));
        stream.write_all(b"1234").await.expect("fits");
        let filled = progress.last();
        let stuck = tokio::time::timeout(Duration::from_secs(10), stream.write_all(b"5")).await;
        assert!(stuck.is_err(), "the duplex is full");
        assert_eq!(progress.last(), filled, "nothing moved for ten seconds");
    }
}
