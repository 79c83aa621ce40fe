//! A client's queue of outgoing frames, and the back-pressure it puts on whoever fills it.
//!
//! Routing never waits: it pushes a frame into each recipient's [`Outbox`] under the registry
//! lock, so every recipient receives frames in the order the relay numbered them. The queue is
//! bounded by *congestion* rather than by refusal: once it holds more than its frames or bytes,
//! the push still succeeds but says so, and the sender's connection stops reading its socket
//! until every outbox it congested has drained below its bounds ([`Outbox::uncongested`]).
//! TCP then slows the sending client down. A queue can therefore exceed its bounds by at most
//! one frame per sender, and nobody who keeps reading ever loses a frame; a recipient that
//! stops reading altogether is cut by its own connection's stall check.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// The sending side, shared by the registry and everyone routing to this client.
#[derive(Debug)]
pub(crate) struct Outbox {
    frames: mpsc::UnboundedSender<Message>,
    queued_frames: AtomicUsize,
    queued_bytes: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
    /// Signalled when the queue drains below its bounds or the client goes.
    drained: Notify,
}

/// The receiving side, owned by the client's connection task.
#[derive(Debug)]
pub(crate) struct Inbox {
    frames: mpsc::UnboundedReceiver<Message>,
    outbox: Arc<Outbox>,
}

/// What a push did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued, within the bounds.
    Queued,
    /// Queued, and the queue is now over its bounds: the sender should wait.
    Congested,
    /// The client is gone; the frame was dropped.
    Closed,
}

/// A new queue holding about `max_frames` frames and `max_bytes` bytes before it pushes back.
pub(crate) fn channel(max_frames: usize, max_bytes: usize) -> (Arc<Outbox>, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let outbox = Arc::new(Outbox {
        frames: tx,
        queued_frames: AtomicUsize::new(0),
        queued_bytes: AtomicUsize::new(0),
        max_frames: max_frames.max(1),
        max_bytes: max_bytes.max(1),
        drained: Notify::new(),
    });
    let inbox = Inbox {
        frames: rx,
        outbox: Arc::clone(&outbox),
    };
    (outbox, inbox)
}

impl Outbox {
    /// Queues `frame`. Never waits.
    pub(crate) fn push(&self, frame: Message) -> Pushed {
        let len = frame.len();
        // Count first, so the receiver never subtracts what was not added.
        let frames = self.queued_frames.fetch_add(1, Ordering::AcqRel) + 1;
        let bytes = self.queued_bytes.fetch_add(len, Ordering::AcqRel) + len;
        if self.frames.send(frame).is_err() {
            self.queued_frames.fetch_sub(1, Ordering::AcqRel);
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Pushed::Closed;
        }
        if frames > self.max_frames || bytes > self.max_bytes {
            Pushed::Congested
        } else {
            Pushed::Queued
        }
    }

    /// Whether the queue holds more than its bounds.
    pub(crate) fn congested(&self) -> bool {
        self.queued_frames.load(Ordering::Acquire) > self.max_frames
            || self.queued_bytes.load(Ordering::Acquire) > self.max_bytes
    }

    /// Whether the client's connection has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.frames.is_closed()
    }

    /// Frames waiting now.
    pub(crate) fn len(&self) -> usize {
        self.queued_frames.load(Ordering::Acquire)
    }

    /// Resolves once the queue is within its bounds again, or the client is gone.
    pub(crate) async fn uncongested(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            // Register before checking, so a drain between the check and the wait is seen.
            notified.as_mut().enable();
            if !self.congested() || self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl Inbox {
    /// The next frame, waiting for one; `None` once every sender is gone.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let frame = self.frames.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        let frame = self.frames.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    /// Wakes waiting senders if the queue is back within its bounds. Called after a batch, not
    /// per frame, so a busy queue costs one check per write.
    pub(crate) fn wake_senders(&self) {
        if !self.outbox.congested() {
            self.outbox.drained.notify_waiters();
        }
    }

    fn taken(&self, frame: &Message) {
        self.outbox.queued_frames.fetch_sub(1, Ordering::AcqRel);
        self.outbox
            .queued_bytes
            .fetch_sub(frame.len(), Ordering::AcqRel);
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Nobody will drain this queue again: release everyone waiting on it.
        self.frames.close();
        self.outbox.drained.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn frame(text: &str) -> Message {
        Message::text(text.to_owned())
    }

    #[test]
    fn pushes_succeed_past_the_bound_but_say_congested() {
        let (outbox, _inbox) = channel(2, 1 << 20);
        assert_eq!(outbox.push(frame("1")), Pushed::Queued);
        assert_eq!(outbox.push(frame("2")), Pushed::Queued);
        assert_eq!(outbox.push(frame("3")), Pushed::Congested);
        assert_eq!(outbox.len(), 3, "nothing is dropped");
    }

    #[test]
    fn the_byte_bound_counts_too() {
        let (outbox, _inbox) = channel(100, 10);
        assert_eq!(outbox.push(frame("12345")), Pushed::Queued);
        assert_eq!(outbox.push(frame("123456")), Pushed::Congested);
    }

    #[tokio::test]
    async fn frames_arrive_in_push_order() {
        let (outbox, mut inbox) = channel(2, 1 << 20);
        for i in 0..10 {
            outbox.push(frame(&i.to_string()));
        }
        for i in 0..10 {
            let got = inbox.recv().await.expect("frame");
            assert_eq!(got.to_text().expect("text"), i.to_string());
        }
        assert_eq!(outbox.len(), 0);
    }

    #[tokio::test]
    async fn a_waiting_sender_is_released_when_the_reader_drains() {
        let (outbox, mut inbox) = channel(2, 1 << 20);
        for i in 0..4 {
            outbox.push(frame(&i.to_string()));
        }
        assert!(outbox.congested());
        let waiter = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.uncongested().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "still over the bound");
        inbox.recv().await;
        inbox.recv().await;
        inbox.wake_senders();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("task");
    }

    #[tokio::test]
    async fn a_waiting_sender_is_released_when_the_reader_goes() {
        let (outbox, inbox) = channel(1, 1 << 20);
        outbox.push(frame("1"));
        outbox.push(frame("2"));
        let waiter = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.uncongested().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(inbox);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("task");
        assert_eq!(outbox.push(frame("3")), Pushed::Closed);
    }
}
