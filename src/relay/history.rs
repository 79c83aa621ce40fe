//! A room's recent messages, numbered: what late joiners and resuming clients are sent.
//!
//! Every chat message of a room gets the next `seq` (1, 2, …, for the relay's lifetime) and
//! is kept while it fits the room's bounds in messages and bytes; the oldest go first. The
//! history answers two questions: "what was said to everyone lately" (late joiners) and
//! "is everything after `seq` still here, and what is it" (resume). Pure: no I/O, no clock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::protocol::{ChatMessage, Recipient};

/// Bytes a record costs beyond its text and IDs: the record, its `Arc` and the queue slot.
const RECORD_OVERHEAD: usize = 96;

/// One relayed message as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// Its number in the room.
    pub seq: u64,
    /// The message as relayed.
    pub message: ChatMessage,
}

impl Record {
    /// Whether `peer_id` received this message: it was to everyone, to them, or from them
    /// (a `classchat.v1` sender gets its own messages back as confirmation).
    pub(crate) fn concerns(&self, peer_id: &str) -> bool {
        match &self.message.to {
            Recipient::Everyone => true,
            Recipient::Client(to) => to == peer_id || self.message.from == peer_id,
        }
    }

    fn cost(&self) -> usize {
        let message = &self.message;
        RECORD_OVERHEAD + message.text.len() + message.from.len() + message.to.as_wire().len()
    }
}

/// The bounded, numbered history of one room.
#[derive(Debug)]
pub(crate) struct History {
    records: VecDeque<Arc<Record>>,
    bytes: usize,
    max_records: usize,
    max_bytes: usize,
    latest: u64,
}

impl History {
    /// An empty history keeping at most `max_records` messages and about `max_bytes` bytes.
    pub(crate) fn new(max_records: usize, max_bytes: usize) -> Self {
        Self {
            records: VecDeque::new(),
            bytes: 0,
            max_records,
            max_bytes,
            latest: 0,
        }
    }

    /// The `seq` of the newest message, 0 before the first.
    pub(crate) fn latest(&self) -> u64 {
        self.latest
    }

    /// Numbers `message`, keeps it, and drops the oldest messages over the bounds.
    pub(crate) fn push(&mut self, message: ChatMessage) -> Arc<Record> {
        self.latest += 1;
        let record = Arc::new(Record {
            seq: self.latest,
            message,
        });
        if self.max_records > 0 {
            self.bytes += record.cost();
            self.records.push_back(Arc::clone(&record));
            while self.records.len() > self.max_records
                || (self.bytes > self.max_bytes && self.records.len() > 1)
            {
                if let Some(old) = self.records.pop_front() {
                    self.bytes -= old.cost();
                }
            }
        }
        record
    }

    /// Keeps `message` as number `seq`, which the cluster gave it (more than [`latest`]).
    /// After a gap, what came before is forgotten: the history never has holes.
    ///
    /// [`latest`]: Self::latest
    pub(crate) fn push_at(&mut self, seq: u64, message: ChatMessage) -> Arc<Record> {
        if seq != self.latest + 1 {
            self.records.clear();
            self.bytes = 0;
        }
        self.latest = seq.saturating_sub(1);
        self.push(message)
    }

    /// Every kept message after `since`, oldest first, or `None` when some of them are no
    /// longer kept (the gap fell out of the history) or `since` is from the future.
    pub(crate) fn after(&self, since: u64) -> Option<impl Iterator<Item = &Arc<Record>>> {
        if since > self.latest {
            return None;
        }
        let first_kept = self.records.front().map_or(self.latest + 1, |r| r.seq);
        if first_kept > since + 1 {
            return None;
        }
        // Records are numbered without holes, so the first wanted one is at a known index.
        let skip = usize::try_from(since + 1 - first_kept).unwrap_or(usize::MAX);
        Some(self.records.iter().skip(skip))
    }

    /// The kept messages to everyone, oldest first: what a late joiner is shown.
    pub(crate) fn public(&self) -> impl Iterator<Item = &Arc<Record>> {
        self.records
            .iter()
            .filter(|r| r.message.to == Recipient::Everyone)
    }

    /// Bytes the kept messages are counted as.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_the_cluster_are_kept_and_a_gap_forgets_what_came_before() {
        let mut history = History::new(10, 1 << 20);
        history.push_at(3, ChatMessage::new("a", Recipient::Everyone, "three", 1));
        history.push_at(4, ChatMessage::new("a", Recipient::Everyone, "four", 1));
        assert_eq!(history.latest(), 4);
        assert_eq!(history.after(2).map(Iterator::count), Some(2));
        // Before 3 is unknown here: a resume from 1 cannot be served.
        assert!(history.after(1).is_none());
        history.push_at(9, ChatMessage::new("a", Recipient::Everyone, "nine", 1));
        assert!(history.after(4).is_none(), "5 to 8 were never seen");
        assert_eq!(history.after(8).map(Iterator::count), Some(1));
    }

    fn message(from: &str, to: Recipient, text: &str) -> ChatMessage {
        ChatMessage::new(from, to, text, 0)
    }

    fn public(text: &str) -> ChatMessage {
        message("a", Recipient::Everyone, text)
    }

    fn seqs<'a>(records: impl Iterator<Item = &'a Arc<Record>>) -> Vec<u64> {
        records.map(|r| r.seq).collect()
    }

    #[test]
    fn numbers_messages_from_one_without_holes() {
        let mut history = History::new(10, 1 << 20);
        assert_eq!(history.latest(), 0);
        let seqs: Vec<u64> = (0..5)
            .map(|i| history.push(public(&i.to_string())).seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(history.latest(), 5);
    }

    #[test]
    fn keeps_only_the_newest_within_the_message_bound() {
        let mut history = History::new(3, 1 << 20);
        for i in 0..10 {
            history.push(public(&i.to_string()));
        }
        assert_eq!(seqs(history.public()), [8, 9, 10]);
        let texts: Vec<&str> = history.public().map(|r| r.message.text.as_str()).collect();
        assert_eq!(texts, ["7", "8", "9"], "oldest first");
    }

    #[test]
    fn keeps_only_what_fits_the_byte_bound() {
        let big = "x".repeat(1000);
        let mut history = History::new(1000, 3 * (1000 + RECORD_OVERHEAD + 8));
        for _ in 0..10 {
            history.push(public(&big));
        }
        assert_eq!(seqs(history.public()), [8, 9, 10]);
        assert!(history.bytes() <= 3 * (1000 + RECORD_OVERHEAD + 8));
    }

    #[test]
    fn a_message_larger_than_the_byte_bound_is_still_numbered_and_kept_alone() {
        let mut history = History::new(10, 10);
        history.push(public("first"));
        history.push(public("a message far over ten bytes"));
        assert_eq!(seqs(history.public()), [2]);
    }

    #[test]
    fn a_history_of_size_zero_numbers_but_keeps_nothing() {
        let mut history = History::new(0, 1 << 20);
        history.push(public("a"));
        history.push(public("b"));
        assert_eq!(history.latest(), 2);
        assert_eq!(history.public().count(), 0);
        assert!(history.after(2).is_some(), "nothing missed");
        assert!(history.after(1).is_none(), "seq 2 is not kept");
    }

    #[test]
    fn after_gives_every_later_message_in_order() {
        let mut history = History::new(100, 1 << 20);
        for i in 0..6 {
            history.push(public(&i.to_string()));
        }
        assert_eq!(seqs(history.after(3).expect("kept")), [4, 5, 6]);
        assert_eq!(seqs(history.after(0).expect("kept")), [1, 2, 3, 4, 5, 6]);
        assert_eq!(seqs(history.after(6).expect("kept")), Vec::<u64>::new());
    }

    #[test]
    fn after_says_so_when_the_gap_fell_out() {
        let mut history = History::new(3, 1 << 20);
        for i in 0..10 {
            history.push(public(&i.to_string()));
        }
        // 8, 9 and 10 are kept: resuming after 7 works, after 6 would miss 7.
        assert_eq!(seqs(history.after(7).expect("kept")), [8, 9, 10]);
        assert!(history.after(6).is_none());
        assert!(history.after(11).is_none(), "a seq from the future");
    }

    #[test]
    fn public_history_leaves_out_private_messages() {
        let mut history = History::new(100, 1 << 20);
        history.push(public("hello all"));
        history.push(message("a", Recipient::Client("b".into()), "secret"));
        history.push(public("bye all"));
        let texts: Vec<&str> = history.public().map(|r| r.message.text.as_str()).collect();
        assert_eq!(texts, ["hello all", "bye all"]);
    }

    #[test]
    fn a_record_concerns_its_sender_its_recipient_and_everyone_for_public_ones() {
        let mut history = History::new(100, 1 << 20);
        let private = history.push(message("a", Recipient::Client("b".into()), "x"));
        assert!(private.concerns("a"));
        assert!(private.concerns("b"));
        assert!(!private.concerns("c"));
        let public = history.push(public("y"));
        assert!(public.concerns("c"));
    }
}
