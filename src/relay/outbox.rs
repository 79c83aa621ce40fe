//! A client's outgoing queue and the switch that ends its connection from outside its task.
//!
//! Frames are offered with `try_send` and never awaited, so a client that stops reading cannot
//! slow anyone else down: when its bounded queue is full it is cut off with 1013. This is the
//! one place that decides the slow-reader cut-off.

use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
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

    fn fired_already(&self) -> bool {
        self.token.is_cancelled()
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
    /// Queued for the client.
    Queued,
    /// The queue was full: the client was cut off just now.
    CutOff,
    /// The connection is already ending; the frame was dropped.
    Ending,
}

/// One client's bounded queue of outgoing frames, with its kill switch.
#[derive(Clone, Debug)]
pub(super) struct Outbox {
    queue: mpsc::Sender<Message>,
    kill: Arc<KillSwitch>,
}

impl Outbox {
    /// A queue of `len` frames (at least one) and the receiving end for the connection task.
    pub(super) fn new(len: usize) -> (Self, mpsc::Receiver<Message>) {
        let (queue, frames) = mpsc::channel(len.max(1));
        let outbox = Self {
            queue,
            kill: Arc::new(KillSwitch::default()),
        };
        (outbox, frames)
    }

    /// Queues `frame` without waiting; a client whose queue is full is cut off.
    pub(super) fn offer(&self, frame: Message) -> Offered {
        match self.queue.try_send(frame) {
            Ok(()) => Offered::Queued,
            Err(mpsc::error::TrySendError::Full(_)) if !self.kill.fired_already() => {
                self.kill.fire(Close::TooSlow);
                Offered::CutOff
            }
            Err(_) => Offered::Ending,
        }
    }

    /// The switch that ends this connection.
    pub(super) fn kill(&self) -> &KillSwitch {
        &self.kill
    }
}
