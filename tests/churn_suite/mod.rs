//! The churn suite: hundreds of clients join and leave at random while they chat, some in the
//! seed's plain text on both paths and some in `classchat.v1`, against one relay or several
//! relays of a cluster ([`Target`]); then every rule is checked (see tests/churn.rs for the
//! rule). Shared by tests/churn.rs and tests/cluster.rs.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use classchat::protocol::{ErrorCode, Recipient, ServerMessage};
use futures_util::{SinkExt as _, StreamExt as _};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::task::JoinSet;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

/// Where the clients connect.
pub struct Target {
    /// The relays; client `tag` connects to `addrs[tag % addrs.len()]`.
    pub addrs: Vec<SocketAddr>,
    /// How late a `joined` or `left` may come from another relay of a cluster: a roster
    /// event needs to have been heard only if it happened this long before the listener's
    /// barrier (presence travels apart from the messages, so the barrier does not order it).
    pub roster_slack: Duration,
}

impl Target {
    /// One relay alone: roster events are ordered with the messages.
    pub fn relay(addr: SocketAddr) -> Self {
        Self {
            addrs: vec![addr],
            roster_slack: Duration::ZERO,
        }
    }
}

/// Clients connected at once.
pub const LIVE: usize = 60;
/// Churn time unless `CLASSCHAT_CHURN_SECS` says otherwise.
const DEFAULT_SECS: u64 = 15;
/// How long one client stays, at most.
const MAX_LIFETIME: Duration = Duration::from_millis(4_000);
/// Longest pause between two messages of one client.
const MAX_PAUSE_MS: u64 = 400;
/// The seed's broadcast echo prefix.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Seed text on `/ws_multi_client`.
    LegacyList,
    /// Seed text on `/ws_multi_client_dict`.
    LegacyDict,
    /// `classchat.v1` on `/ws_multi_client`.
    ExtendedList,
    /// `classchat.v1` on `/ws_multi_client_dict`.
    ExtendedDict,
}

impl Kind {
    const ALL: [Self; 4] = [
        Self::LegacyList,
        Self::LegacyDict,
        Self::ExtendedList,
        Self::ExtendedDict,
    ];

    fn legacy(self) -> bool {
        matches!(self, Self::LegacyList | Self::LegacyDict)
    }

    fn direct(self) -> bool {
        matches!(self, Self::LegacyDict | Self::ExtendedDict)
    }

    fn path(self) -> &'static str {
        if self.direct() { DICT } else { LIST }
    }
}

/// How a client leaves once its barrier came back.
#[derive(Clone, Copy, Debug)]
enum Exit {
    /// A close frame and the relay's answer.
    Close,
    /// The TCP connection closed without a close frame.
    Drop,
    /// A TCP reset (SO_LINGER 0).
    Reset,
}

/// One message a client sent.
#[derive(Debug)]
struct Sent {
    seq: u64,
    /// `*` or a relay ID.
    to: String,
    start: Instant,
    /// When the sender saw the relay accept it.
    accepted: Option<Instant>,
    /// The relay said the recipient is not there (a seed sender's note still comes back).
    refused: bool,
}

/// Everything one client did and saw.
#[derive(Debug)]
struct Record {
    tag: usize,
    kind: Kind,
    /// Its relay ID, when it learned it (the seed's broadcast path never says).
    id: Option<String>,
    /// When it started to connect.
    connecting: Instant,
    joined: Option<Instant>,
    /// When it sent its barrier; `None` if it never got that far.
    leaving: Option<Instant>,
    /// When the relay answered its close frame, for clients that left that way.
    closed: Option<Instant>,
    /// Extended clients: who the room has now, as the welcome, `joined` and `left` told it.
    roster: HashSet<String>,
    /// Extended clients: everyone in its welcome or a `joined`.
    seen_joined: HashSet<String>,
    /// Extended clients: everyone in a `left`.
    seen_left: HashSet<String>,
    sent: Vec<Sent>,
    /// `(sender tag, seq)` of every chat message, in arrival order.
    received: Vec<(usize, u64)>,
    problems: Vec<String>,
}

/// What the clients share while the run lasts.
#[derive(Default)]
struct Board {
    /// Kind of every tag, so a receiver can tell the sender's room.
    kinds: Mutex<Vec<Kind>>,
    /// Relay ID of every tag that knows its own.
    ids: Mutex<HashMap<usize, String>>,
    /// Clients on the addressed path that can be written to now.
    addressable: Mutex<Vec<String>>,
}

impl Board {
    fn kind(&self, tag: usize) -> Option<Kind> {
        self.kinds.lock().unwrap().get(tag).copied()
    }
}

/// A message body: `m <tag> <seq> <to>`.
fn body(tag: usize, seq: u64, to: &str) -> String {
    format!("m {tag} {seq} {to}")
}

fn parse_body(text: &str) -> Option<(usize, u64, &str)> {
    let mut parts = text.split(' ');
    if parts.next()? != "m" {
        return None;
    }
    let tag = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let to = parts.next()?;
    parts.next().is_none().then_some((tag, seq, to))
}

/// One client's whole life: join, chat at random, send the barrier, leave.
struct Client {
    record: Record,
    board: Arc<Board>,
    rng: StdRng,
    ws: Ws,
    next_seq: u64,
    /// Last seq seen from each sender.
    last_from: HashMap<usize, u64>,
    /// Seq of the barrier once sent.
    barrier: Option<u64>,
}

impl Client {
    async fn run(tag: usize, kind: Kind, addr: SocketAddr, seed: u64, board: Arc<Board>) -> Record {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // A few ask for a nickname; names are unique over the run, so IDs never repeat.
        let query = if rng.random_bool(0.2) {
            format!("?name=n{tag}")
        } else {
            String::new()
        };
        let lifetime = Duration::from_millis(rng.random_range(0..MAX_LIFETIME.as_millis() as u64));
        let exit = match rng.random_range(0..10) {
            0 | 1 => Exit::Drop,
            2 | 3 => Exit::Reset,
            _ => Exit::Close,
        };
        let mut record = Record {
            tag,
            kind,
            id: None,
            connecting: Instant::now(),
            joined: None,
            leaving: None,
            closed: None,
            roster: HashSet::new(),
            seen_joined: HashSet::new(),
            seen_left: HashSet::new(),
            sent: Vec::new(),
            received: Vec::new(),
            problems: Vec::new(),
        };
        let connecting = tokio_tungstenite::connect_async(request(
            addr,
            &format!("{}{query}", kind.path()),
            !kind.legacy(),
        ));
        let ws = match tokio::time::timeout(PATIENCE, connecting).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                record.problems.push(format!("could not connect: {e}"));
                return record;
            }
            Err(_) => {
                record.problems.push("connecting timed out".to_owned());
                return record;
            }
        };
        let mut client = Self {
            record,
            board,
            rng,
            ws,
            next_seq: 0,
            last_from: HashMap::new(),
            barrier: None,
        };
        if let Err(problem) = client.live(lifetime).await {
            client.record.problems.push(problem);
            client.remove_from_board();
            return client.record;
        }
        client.leave(exit).await;
        client.record
    }

    /// Joins, chats until `lifetime` is over, then sends the barrier and waits for it.
    async fn live(&mut self, lifetime: Duration) -> Result<(), String> {
        let kind = self.record.kind;
        if kind == Kind::LegacyList {
            // The seed's broadcast path greets nobody: the first echo shows we are in.
            self.send_message("*".to_owned()).await?;
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.record.joined.is_none() {
            self.read_one(deadline).await?;
        }
        let leave_at = tokio::time::Instant::now() + lifetime;
        let mut next_send = tokio::time::Instant::now();
        loop {
            tokio::select! {
                frame = tokio::time::timeout_at(leave_at, self.ws.next()) => match frame {
                    Ok(frame) => self.on_frame(frame)?,
                    Err(_) => break,
                },
                () = tokio::time::sleep_until(next_send) => {
                    let to = self.pick_recipient();
                    self.send_message(to).await?;
                    next_send = tokio::time::Instant::now()
                        + Duration::from_millis(self.rng.random_range(0..MAX_PAUSE_MS));
                }
            }
        }
        // The barrier: a message to itself. Once it is back, everything queued earlier is too.
        let own = if kind.direct() {
            self.record
                .id
                .clone()
                .ok_or("no ID on the addressed path")?
        } else {
            "*".to_owned()
        };
        self.remove_from_board();
        self.record.leaving = Some(Instant::now());
        let seq = self.send_message(own).await?;
        self.barrier = Some(seq);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.accepted(seq) {
            self.read_one(deadline).await?;
        }
        Ok(())
    }

    fn accepted(&self, seq: u64) -> bool {
        self.record
            .sent
            .iter()
            .any(|s| s.seq == seq && s.accepted.is_some())
    }

    async fn read_one(&mut self, deadline: tokio::time::Instant) -> Result<(), String> {
        match tokio::time::timeout_at(deadline, self.ws.next()).await {
            Ok(frame) => self.on_frame(frame),
            Err(_) => Err(format!(
                "stalled: nothing arrived for {PATIENCE:?} (joined: {}, barrier: {:?})",
                self.record.joined.is_some(),
                self.barrier
            )),
        }
    }

    fn pick_recipient(&mut self) -> String {
        if !self.record.kind.direct() {
            return "*".to_owned();
        }
        let roll = self.rng.random_range(0..100);
        if roll < 15 {
            return "*".to_owned();
        }
        if roll < 25 {
            return self.record.id.clone().unwrap_or_else(|| "*".to_owned());
        }
        if roll < 28 {
            // Nobody has this ID: the sender is told, nobody receives it.
            return format!("nobody{}", self.record.tag);
        }
        let addressable = self.board.addressable.lock().unwrap();
        if addressable.is_empty() {
            return "*".to_owned();
        }
        let i = self.rng.random_range(0..addressable.len());
        addressable[i].clone()
    }

    /// Sends one message to `to` (`*` or an ID) and returns its seq.
    async fn send_message(&mut self, to: String) -> Result<u64, String> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let tag = self.record.tag;
        let text = body(tag, seq, &to);
        let own = self.record.id.as_deref() == Some(to.as_str());
        self.record.sent.push(Sent {
            seq,
            to: to.clone(),
            start: Instant::now(),
            accepted: None,
            refused: false,
        });
        let result = match self.record.kind {
            Kind::LegacyList => send_text(&mut self.ws, text).await,
            Kind::LegacyDict => {
                let result = send_text(&mut self.ws, format!("{to}/{text}")).await;
                // The seed confirms nothing: a note to itself, read back, shows the relay has
                // routed everything before it.
                match (result, own) {
                    (Ok(()), false) => {
                        let id = self.record.id.clone().ok_or("no ID")?;
                        send_text(&mut self.ws, format!("{id}/a {tag} {seq}")).await
                    }
                    (result, _) => result,
                }
            }
            Kind::ExtendedList | Kind::ExtendedDict => {
                let frame = classchat::protocol::ClientMessage::Send {
                    to: Recipient::from_wire(&to),
                    text,
                    id: None,
                }
                .encode();
                send_text(&mut self.ws, frame).await
            }
        };
        result.map_err(|e| format!("send failed: {e}"))?;
        Ok(seq)
    }

    fn on_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), String> {
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed by the relay: {frame:?}"));
            }
            Some(Ok(_)) => return Ok(()),
            Some(Err(e)) => return Err(format!("connection failed: {e}")),
            None => return Err("connection ended".to_owned()),
        };
        match self.record.kind {
            Kind::LegacyList => {
                let body = text
                    .strip_prefix(ECHO)
                    .ok_or_else(|| format!("not a broadcast echo: {text:?}"))?;
                self.on_chat(body, None, None)
            }
            Kind::LegacyDict => {
                if self.record.joined.is_none() {
                    let id = classchat::protocol::parse_legacy_welcome(&text)
                        .ok_or_else(|| format!("expected the greeting, got {text:?}"))?;
                    self.on_joined(id.to_owned());
                    return Ok(());
                }
                if let Some(error) = text.strip_prefix("Error: ") {
                    return if let Some(rest) = error.strip_prefix("no client with ID ") {
                        // In a cluster a client may be on the board before this relay has
                        // heard of it: that message is not owed to anyone.
                        let to = rest.split(' ').next().unwrap_or_default();
                        if let Some(sent) = self
                            .record
                            .sent
                            .iter_mut()
                            .rev()
                            .find(|s| s.to == to && s.accepted.is_none() && !s.refused)
                        {
                            sent.refused = true;
                        }
                        Ok(())
                    } else {
                        Err(format!("unexpected error: {error}"))
                    };
                }
                if let Some(ack) = text.strip_prefix("a ") {
                    let mut parts = ack.split(' ');
                    let tag: Option<usize> = parts.next().and_then(|t| t.parse().ok());
                    let seq: Option<u64> = parts.next().and_then(|t| t.parse().ok());
                    return match (tag, seq) {
                        (Some(tag), Some(seq)) if tag == self.record.tag => {
                            self.mark_accepted(seq);
                            Ok(())
                        }
                        _ => Err(format!("someone else's note: {text:?}")),
                    };
                }
                self.on_chat(&text, None, None)
            }
            Kind::ExtendedList | Kind::ExtendedDict => {
                let message = ServerMessage::parse(&text)
                    .map_err(|e| format!("not classchat.v1: {text:?}: {e}"))?;
                match message {
                    ServerMessage::Welcome { id, clients, .. } => {
                        if !clients.iter().any(|c| c.id == id) {
                            return Err(format!("welcome roster lacks {id}"));
                        }
                        for client in clients {
                            self.record.seen_joined.insert(client.id.clone());
                            self.record.roster.insert(client.id);
                        }
                        self.on_joined(id);
                        Ok(())
                    }
                    ServerMessage::Joined { client } => {
                        self.record.seen_joined.insert(client.id.clone());
                        if self.record.roster.insert(client.id.clone()) {
                            Ok(())
                        } else {
                            Err(format!("{} joined twice", client.id))
                        }
                    }
                    ServerMessage::Left { id } => {
                        if self.record.roster.remove(&id) {
                            self.record.seen_left.insert(id);
                            Ok(())
                        } else {
                            Err(format!("{id} left but had not joined"))
                        }
                    }
                    ServerMessage::Message(m) => {
                        let to = m.to.as_wire().to_owned();
                        self.on_chat(&m.text, Some(&m.from), Some(&to))
                    }
                    ServerMessage::Error {
                        code: ErrorCode::UnknownRecipient,
                        ..
                    } => Ok(()),
                    ServerMessage::Error { code, message, .. } => {
                        Err(format!("unexpected error {code:?}: {message}"))
                    }
                    // Every client is told the room's modes after its welcome.
                    ServerMessage::Room(_) => Ok(()),
                    other => Err(format!("unexpected classroom notice {other:?}")),
                }
            }
        }
    }

    fn on_joined(&mut self, id: String) {
        self.record.joined = Some(Instant::now());
        self.board
            .ids
            .lock()
            .unwrap()
            .insert(self.record.tag, id.clone());
        if self.record.kind.direct() {
            self.board.addressable.lock().unwrap().push(id.clone());
        }
        self.record.id = Some(id);
    }

    fn mark_accepted(&mut self, seq: u64) {
        if let Some(sent) = self.record.sent.iter_mut().find(|s| s.seq == seq) {
            sent.accepted.get_or_insert_with(Instant::now);
        }
    }

    /// A chat message arrived: check it was for this client and in order, then record it.
    fn on_chat(&mut self, text: &str, from: Option<&str>, to: Option<&str>) -> Result<(), String> {
        let (tag, seq, body_to) =
            parse_body(text).ok_or_else(|| format!("not a churn message: {text:?}"))?;
        let kind = self.record.kind;
        let sender_kind = self
            .board
            .kind(tag)
            .ok_or_else(|| format!("unknown sender tag in {text:?}"))?;
        if sender_kind.direct() != kind.direct() {
            return Err(format!("{text:?} crossed from the other room"));
        }
        let own_id = self.record.id.as_deref();
        let own = tag == self.record.tag;
        let for_me = match body_to {
            // A seed client on the addressed path does not get its own `*` back.
            "*" => !(own && kind == Kind::LegacyDict),
            // An extended sender gets a copy of what it sent to someone else.
            to => Some(to) == own_id || (own && !kind.legacy()),
        };
        if !for_me {
            return Err(format!("{text:?} reached {own_id:?}"));
        }
        if let Some(to) = to
            && kind.direct()
            && to != body_to
        {
            return Err(format!("{text:?} arrived marked for {to}"));
        }
        if let Some(from) = from
            && let Some(sender_id) = self.board.ids.lock().unwrap().get(&tag)
            && from != sender_id
        {
            return Err(format!(
                "{text:?} arrived marked from {from}, not {sender_id}"
            ));
        }
        if let Some(&last) = self.last_from.get(&tag)
            && seq <= last
        {
            return Err(format!(
                "from sender {tag}: seq {seq} after {last} (duplicate or out of order)"
            ));
        }
        self.last_from.insert(tag, seq);
        self.record.received.push((tag, seq));
        if own {
            self.mark_accepted(seq);
            if kind == Kind::LegacyList && self.record.joined.is_none() {
                self.record.joined = Some(Instant::now());
            }
        }
        Ok(())
    }

    fn remove_from_board(&self) {
        if let Some(id) = &self.record.id {
            self.board.addressable.lock().unwrap().retain(|a| a != id);
        }
    }

    async fn leave(&mut self, exit: Exit) {
        match exit {
            Exit::Close => {
                // The relay answers the close; whatever arrives first is not checked.
                let closing = async {
                    self.ws.close(None).await.ok();
                    while let Some(Ok(_)) = self.ws.next().await {}
                };
                if tokio::time::timeout(PATIENCE, closing).await.is_ok() {
                    self.record.closed = Some(Instant::now());
                } else {
                    self.record
                        .problems
                        .push("the relay never finished the close handshake".to_owned());
                }
            }
            Exit::Drop => {}
            Exit::Reset => {
                if let MaybeTlsStream::Plain(stream) = self.ws.get_ref() {
                    socket2::SockRef::from(stream)
                        .set_linger(Some(Duration::ZERO))
                        .ok();
                }
            }
        }
    }
}

async fn send_text(ws: &mut Ws, text: String) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::text(text)).await
}

/// What the clients found, checked against the rule in the module comment.
pub struct Outcome {
    records: Vec<Record>,
    /// How long the run took.
    pub secs: f64,
    roster_slack: Duration,
}

impl Outcome {
    /// Checks every rule and returns the figures; panics with the first problems found.
    pub fn check(&self, seed: u64) -> Figures {
        let mut problems: Vec<String> = Vec::new();
        for r in &self.records {
            for p in &r.problems {
                problems.push(format!("client {} ({:?}, {:?}): {p}", r.tag, r.kind, r.id));
            }
        }
        let by_id: HashMap<&str, &Record> = self
            .records
            .iter()
            .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
            .collect();
        let got: Vec<HashSet<(usize, u64)>> = self
            .records
            .iter()
            .map(|r| r.received.iter().copied().collect())
            .collect();
        // Clients that were in for a while, by join time, to find who was present at a send.
        let mut present: Vec<usize> = (0..self.records.len())
            .filter(|&i| self.records[i].joined.is_some() && self.records[i].leaving.is_some())
            .collect();
        present.sort_by_key(|&i| self.records[i].joined);
        let longest = present
            .iter()
            .map(|&i| {
                let r = &self.records[i];
                r.leaving.unwrap().duration_since(r.joined.unwrap())
            })
            .max()
            .unwrap_or_default();
        let index_of: HashMap<usize, usize> = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.tag, i))
            .collect();

        let mut figures = Figures::default();
        for sender in &self.records {
            for m in &sender.sent {
                figures.sent += 1;
                let Some(accepted) = m.accepted.filter(|_| !m.refused) else {
                    continue;
                };
                figures.accepted += 1;
                let within = |c: &Record| {
                    c.joined.is_some_and(|j| j <= m.start)
                        && c.leaving.is_some_and(|l| l >= accepted)
                };
                let mut expect = |c: &Record| {
                    figures.owed += 1;
                    let i = index_of[&c.tag];
                    if !got[i].contains(&(sender.tag, m.seq)) {
                        problems.push(format!(
                            "message {} of client {} ({:?}) to {} never reached client {} ({:?}, {:?})",
                            m.seq, sender.tag, sender.kind, m.to, c.tag, c.kind, c.id
                        ));
                    }
                };
                if m.to == "*" {
                    // Who was in the room during the whole send.
                    let first = present
                        .partition_point(|&i| self.records[i].joined.unwrap() + longest < m.start);
                    for &i in &present[first..] {
                        let c = &self.records[i];
                        if c.joined.unwrap() > m.start {
                            break;
                        }
                        let for_c = c.kind.direct() == sender.kind.direct()
                            && !(sender.kind == Kind::LegacyDict && c.tag == sender.tag);
                        if for_c && within(c) {
                            expect(c);
                        }
                    }
                } else {
                    if let Some(c) = by_id.get(m.to.as_str())
                        && within(c)
                    {
                        expect(c);
                    }
                    if !sender.kind.legacy() && sender.id.as_deref() != Some(m.to.as_str()) {
                        // An extended sender gets its own copy back.
                        expect(sender);
                    }
                }
            }
        }
        self.check_rosters(&present, &mut problems, &mut figures);
        figures.clients = self.records.len();
        figures.received = self.records.iter().map(|r| r.received.len()).sum();
        if !problems.is_empty() {
            let shown = problems.len().min(20);
            panic!(
                "seed {seed}: {} problems; the first {shown}:\n{}",
                problems.len(),
                problems[..shown].join("\n")
            );
        }
        figures
    }
}

impl Outcome {
    /// Extended clients must hear of everyone who came or went (with an ID it could know)
    /// while they were there: a join that started after they joined and finished before their
    /// barrier, and a leave whose close was answered before their barrier.
    fn check_rosters(&self, present: &[usize], problems: &mut Vec<String>, figures: &mut Figures) {
        let longest = present
            .iter()
            .map(|&i| {
                let r = &self.records[i];
                r.closed.unwrap_or(r.leaving.unwrap()) - r.joined.unwrap()
            })
            .max()
            .unwrap_or_default();
        for &ci in present {
            let c = &self.records[ci];
            if c.kind.legacy() {
                continue;
            }
            let (c_joined, c_leaving) = (c.joined.unwrap(), c.leaving.unwrap());
            let first =
                present.partition_point(|&i| self.records[i].joined.unwrap() + longest < c_joined);
            for &di in &present[first..] {
                let d = &self.records[di];
                if d.joined.unwrap() > c_leaving {
                    break;
                }
                let Some(d_id) = d.id.as_deref() else {
                    continue;
                };
                if di == ci || d.kind.direct() != c.kind.direct() {
                    continue;
                }
                let heard_in_time = |t: Instant| t + self.roster_slack <= c_leaving;
                if d.connecting >= c_joined && heard_in_time(d.joined.unwrap()) {
                    figures.roster_events += 1;
                    if !c.seen_joined.contains(d_id) {
                        problems.push(format!(
                            "client {} ({:?}) never heard that {d_id} joined",
                            c.tag, c.id
                        ));
                    }
                }
                if d.closed.is_some_and(heard_in_time) && c.seen_joined.contains(d_id) {
                    figures.roster_events += 1;
                    if !c.seen_left.contains(d_id) {
                        problems.push(format!(
                            "client {} ({:?}) never heard that {d_id} left",
                            c.tag, c.id
                        ));
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct Figures {
    /// `joined` and `left` frames the rule required.
    roster_events: usize,
    /// Clients in the run.
    pub clients: usize,
    sent: usize,
    accepted: usize,
    /// Deliveries the rule required.
    pub owed: usize,
    received: usize,
}

/// Churn settings from the environment.
pub struct Settings {
    /// The random seed.
    pub seed: u64,
    /// How long clients keep coming.
    pub duration: Duration,
}

impl Settings {
    pub fn from_env() -> Self {
        let seed = std::env::var("CLASSCHAT_CHURN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        let secs = std::env::var("CLASSCHAT_CHURN_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SECS);
        Self {
            seed,
            duration: Duration::from_secs(secs),
        }
    }
}

/// Live and total client counts, for progress lines.
#[derive(Default)]
pub struct Progress {
    /// Clients connected now.
    pub live: std::sync::atomic::AtomicUsize,
    /// Clients started so far.
    pub started: std::sync::atomic::AtomicUsize,
}

/// Runs clients against `target` for `settings.duration`, keeping [`LIVE`] of them connected,
/// then waits for the last to leave.
pub async fn churn(target: &Target, settings: &Settings, progress: Arc<Progress>) -> Outcome {
    use std::sync::atomic::Ordering::Relaxed;
    let board = Arc::new(Board::default());
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let mut clients = JoinSet::new();
    let mut records = Vec::new();
    let started = Instant::now();
    let mut tag = 0;
    while started.elapsed() < settings.duration {
        while clients.len() < LIVE {
            let kind = Kind::ALL[rng.random_range(0..Kind::ALL.len())];
            board.kinds.lock().unwrap().push(kind);
            clients.spawn(Client::run(
                tag,
                kind,
                target.addrs[tag % target.addrs.len()],
                settings.seed,
                Arc::clone(&board),
            ));
            tag += 1;
        }
        progress.live.store(clients.len(), Relaxed);
        progress.started.store(tag, Relaxed);
        // Wait for someone to leave, but look at the clock now and then.
        if let Ok(Some(done)) =
            tokio::time::timeout(Duration::from_millis(200), clients.join_next()).await
        {
            records.push(done.expect("a client task panicked"));
        }
    }
    while let Some(done) = clients.join_next().await {
        records.push(done.expect("a client task panicked"));
        progress.live.store(clients.len(), Relaxed);
    }
    Outcome {
        records,
        secs: started.elapsed().as_secs_f64(),
        roster_slack: target.roster_slack,
    }
}

pub fn print_figures(label: &str, seed: u64, outcome: &Outcome, figures: &Figures) {
    println!(
        "{label}: seed {seed}: {} clients in {:.1} s ({LIVE} at once); {} messages sent, {} \
         accepted, {} deliveries owed and made, {} received in all; {} joins and leaves owed \
         and heard",
        figures.clients,
        outcome.secs,
        figures.sent,
        figures.accepted,
        figures.owed,
        figures.received,
        figures.roster_events
    );
}
