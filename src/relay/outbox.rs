//! A client's queue of outgoing frames, the back-pressure it puts on whoever fills it, and the
//! switch that ends its connection from outside its task.
//!
//! Routing never waits: it offers a frame to each recipient's [`Outbox`] under the registry
//! lock, so every recipient receives frames in the order the relay numbered them. The queue is
//! bounded by *congestion* rather than by refusal: once it holds more than its frames or bytes,
//! the offer still succeeds but says so, and the sender's connection stops reading its socket
//! until every outbox it congested has drained below its bounds ([`Outbox::uncongested`]).
//! TCP then slows the sending client down. A queue can exceed its bounds by at most one frame
//! per sender (plus the room's join and leave notices), and nobody who keeps reading ever loses
//! a frame; a recipient whose socket stops taking bytes is cut by its own connection's stall
//! check (see `connection`), which also releases everyone waiting for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::protocol::Close;

/// Ends one connection from outside its task, remembering why.
#[derive(Debug, Default)]
pub(super) struct KillSwitch {
    token: CancellationToken,
    reason: OnceLock<Close>,
}

impl KillSwitch {
    /// Asks the connection to close with `close`; the first call wins.
    pub(super) fn fire(&self, close: Close) {
        // A second reason for the same connection is irrelevant.
        self.reason.set(close).ok();
        self.token.cancel();
    }

    /// Resolves once [`fire`](Self::fire) was called.
    pub(super) async fn fired(&self) {
        self.token.cancelled().await;
    }

    /// Why it was fired, once it was.
    pub(super) fn reason(&self) -> Option<Close> {
        self.reason.get().copied()
    }
}

/// The close frame that tells a client why it was closed.
pub(super) fn close_frame(close: Close) -> CloseFrame {
    CloseFrame {
        code: CloseCode::from(close.code()),
        reason: Utf8Bytes::from_static(close.reason()),
    }
}

/// What became of an offered frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offered {
    /// Queued, within the bounds.
    Queued,
    /// Queued, and the queue is now over its bounds: the sender should wait for it.
    Congested,
    /// The connection is ending; the frame was dropped.
    Ending,
}

/// The queue's shared state: the channel, what it holds, and who waits for it to drain.
#[derive(Debug)]
struct Queue {
    frames: mpsc::UnboundedSender<Message>,
    queued_frames: AtomicUsize,
    queued_bytes: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
    /// Signalled when the queue drains below its bounds or its client goes.
    drained: Notify,
}

impl Queue {
    fn congested(&self) -> bool {
        self.queued_frames.load(Ordering::Acquire) > self.max_frames
            || self.queued_bytes.load(Ordering::Acquire) > self.max_bytes
    }
}

/// One client's queue of outgoing frames, with its kill switch. Cheap to clone: the registry
/// and every sender waiting for it hold one.
#[derive(Clone, Debug)]
pub(super) struct Outbox {
    queue: Arc<Queue>,
    kill: Arc<KillSwitch>,
}

/// The receiving end, owned by the client's connection task.
#[derive(Debug)]
pub(super) struct Inbox {
    frames: mpsc::UnboundedReceiver<Message>,
    queue: Arc<Queue>,
}

impl Outbox {
    /// A queue that pushes back beyond about `max_frames` frames or `max_bytes` bytes, and
    /// its receiving end for the connection task.
    pub(super) fn new(max_frames: usize, max_bytes: usize) -> (Self, Inbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Arc::new(Queue {
            frames: tx,
            queued_frames: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            max_frames: max_frames.max(1),
            max_bytes: max_bytes.max(1),
            drained: Notify::new(),
        });
        let inbox = Inbox {
            frames: rx,
            queue: Arc::clone(&queue),
        };
        let outbox = Self {
            queue,
            kill: Arc::new(KillSwitch::default()),
        };
        (outbox, inbox)
    }

    /// Queues `frame`. Never waits and never drops a frame for a client still connected.
    pub(super) fn offer(&self, frame: Message) -> Offered {
        let queue = &self.queue;
        let len = frame.len();
        // Counted before it is sent, so the receiver never subtracts what was not added.
        let frames = queue.queued_frames.fetch_add(1, Ordering::AcqRel) + 1;
        let bytes = queue.queued_bytes.fetch_add(len, Ordering::AcqRel) + len;
        if queue.frames.send(frame).is_err() {
            queue.queued_frames.fetch_sub(1, Ordering::AcqRel);
            queue.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Offered::Ending;
        }
        if frames > queue.max_frames || bytes > queue.max_bytes {
            Offered::Congested
        } else {
            Offered::Queued
        }
    }

    /// Resolves once the queue is within its bounds again, or its client is gone.
    pub(super) async fn uncongested(&self) {
        let queue = &self.queue;
        loop {
            let notified = queue.drained.notified();
            tokio::pin!(notified);
            // Registered before the check, so a drain in between is not missed.
            notified.as_mut().enable();
            if !queue.congested() || queue.frames.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Whether the queue is over its bounds while its client is still connected.
    pub(super) fn is_congested(&self) -> bool {
        self.queue.congested() && !self.queue.frames.is_closed()
    }

    /// Whether `other` is this same client's outbox.
    pub(super) fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.queue, &other.queue)
    }

    /// Frames waiting now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.queue.queued_frames.load(Ordering::Acquire)
    }

    /// The switch that ends this connection.
    pub(super) fn kill(&self) -> &KillSwitch {
        &self.kill
    }
}

impl Inbox {
    /// The next frame, waiting for one.
    pub(super) async fn recv(&mut self) -> Option<Message> {
        let frame = self.frames.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is waiting.
    pub(super) fn try_recv(&mut self) -> Option<Message> {
        let frame = self.frames.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    /// Releases the senders waiting for this queue if it is back within its bounds. Called
    /// once per written batch, not per frame.
    pub(super) fn wake_senders(&self) {
        if !self.queue.congested() {
            self.queue.drained.notify_waiters();
        }
    }

    fn taken(&self, frame: &Message) {
        self.queue.queued_frames.fetch_sub(1, Ordering::AcqRel);
        self.queue
            .queued_bytes
            .fetch_sub(frame.len(), Ordering::AcqRel);
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Nobody will drain this queue again: release everyone waiting for it.
        self.frames.close();
        self.queue.drained.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn frame(text: &str) -> Message {
        Message::text(text.to_owned())
    }

    fn channel(frames: usize, bytes: usize) -> (Outbox, Inbox) {
        Outbox::new(frames, bytes)
    }

    #[test]
    fn pushes_succeed_past_the_bound_but_say_congested() {
        let (outbox, _inbox) = channel(2, 1 << 20);
        assert_eq!(outbox.offer(frame("1")), Offered::Queued);
        assert_eq!(outbox.offer(frame("2")), Offered::Queued);
        assert_eq!(outbox.offer(frame("3")), Offered::Congested);
        assert_eq!(outbox.len(), 3, "nothing is dropped");
    }

    #[test]
    fn the_byte_bound_counts_too() {
        let (outbox, _inbox) = channel(100, 10);
        assert_eq!(outbox.offer(frame("12345")), Offered::Queued);
        assert_eq!(outbox.offer(frame("123456")), Offered::Congested);
    }

    #[tokio::test]
    async fn frames_arrive_in_push_order() {
        let (outbox, mut inbox) = channel(2, 1 << 20);
        for i in 0..10 {
            outbox.offer(frame(&i.to_string()));
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
            outbox.offer(frame(&i.to_string()));
        }
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
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
        outbox.offer(frame("1"));
        outbox.offer(frame("2"));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.uncongested().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(inbox);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("task");
        assert_eq!(outbox.offer(frame("3")), Offered::Ending);
    }
}
