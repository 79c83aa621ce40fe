//! Several relays on one NATS server acting as one chat (`classchat serve --cluster nats://…`).
//!
//! Each accepted chat message is published to its room's JetStream stream; every relay, the
//! sender's included, reads the stream and delivers to its own clients, so the stream's
//! sequence is the room's `seq` everywhere and every recipient sees one order. A resent send
//! id is caught by the stream's duplicate window (`Nats-Msg-Id` = session and send id). Each
//! relay keeps the stream's tail as its room history, so late joiners and resuming clients
//! are served from memory as on a relay alone.
//!
//! IDs are claimed in a key-value bucket (create-if-absent), generated `clientN` numbers come
//! in blocks of [`ID_BLOCK`] that each relay takes from a counter, and sessions are kept in a
//! bucket so that a client resumes on any relay. Presence (who is on which relay) travels on
//! plain NATS: joins and leaves as they happen, and every relay's full list once a second;
//! a relay silent for [`ClusterConfig::dead_after`] is dropped with its clients (see
//! `tasks`). Classroom controls (modes, moderation, pin, hands, polls and votes) go to every
//! relay the same way, and a relay that starts asks the others for the classroom as it
//! stands. The wire between relays is in `wire`.
//!
//! Try it: `nats-server -js &`, then `classchat serve --port 30005 --cluster
//! nats://127.0.0.1:4222` and `classchat serve --port 30006 --cluster nats://127.0.0.1:4222`,
//! and join one each.

mod tasks;
mod wire;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use async_nats::{HeaderMap, header};
use futures_util::StreamExt as _;
use tokio::sync::watch;

use super::classroom::Classroom;
use super::peers::{Claimed, Resume, name_taken, random_hex};
use super::state::Shared;
use crate::protocol::{ChatMessage, ClientMessage, Dialect, Endpoint, ID_PREFIX, now_ms};
use wire::{
    EPOCH_KEY, NEXT_ID_KEY, NameClaim, Names, Presence, Published, Room, SessionRecord, name_key,
    valid_chat_name,
};

pub(super) use tasks::run;

/// Generated-ID numbers a relay takes from the cluster's counter at a time.
const ID_BLOCK: u64 = 100;
/// Longest wait for a publish's acknowledgement before the sender is told it failed.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for a key-value or stream request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the streams catch a resent send id: the relays' resume window. Messages stay in
/// the stream as long (or until [`STREAM_BYTES`]), far beyond what a room's history keeps, so
/// that a relay reading behind the others never finds its next message gone.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Most bytes a room's stream keeps (the oldest go first): at 50,000 messages a second, about
/// a minute and a half of traffic.
const STREAM_BYTES: i64 = 1 << 30;
/// How long the cluster remembers a session after it was last joined.
const SESSION_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest wait at start for this relay to read the rooms' history from the streams, and
/// when a client resumes, for this relay to have read everything that client saw.
const CATCH_UP: Duration = Duration::from_secs(10);

/// How a relay joins a cluster.
#[derive(Clone)]
pub struct ClusterConfig {
    /// The NATS server, `nats://HOST:PORT` (several separated by commas).
    pub url: String,
    /// Which chat on that NATS server this relay serves: relays of one chat share its
    /// rooms, roster and IDs; other chats on the same server are apart. 1 to 32 ASCII letters,
    /// digits, `-` or `_`.
    pub chat: String,
    /// This relay's name in logs and metrics (default: the machine's name); a random suffix
    /// keeps two relays of one name apart.
    pub relay_name: Option<String>,
    /// A NATS credentials file (`.creds`).
    pub credentials: Option<PathBuf>,
    /// A NATS user name, with [`password`](Self::password).
    pub user: Option<String>,
    /// The NATS user's password.
    pub password: Option<String>,
    /// Copies JetStream keeps of each stream and bucket (1 for one NATS server, 3 for a
    /// three-node NATS cluster).
    pub replicas: usize,
    /// How often this relay says it is alive, with its clients.
    pub heartbeat: Duration,
    /// A relay not heard from for this long is taken for dead: its clients leave the roster.
    pub dead_after: Duration,
}

impl ClusterConfig {
    /// A cluster on the NATS server at `url`, with the documented defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            chat: "main".to_owned(),
            relay_name: None,
            credentials: None,
            user: None,
            password: None,
            replicas: 1,
            heartbeat: Duration::from_secs(1),
            dead_after: Duration::from_secs(3),
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password stays out of logs.
        f.debug_struct("ClusterConfig")
            .field("url", &self.url)
            .field("chat", &self.chat)
            .field("relay_name", &self.relay_name)
            .field("credentials", &self.credentials)
            .field("user", &self.user)
            .field("replicas", &self.replicas)
            .field("heartbeat", &self.heartbeat)
            .field("dead_after", &self.dead_after)
            .finish_non_exhaustive()
    }
}

/// Why a relay could not join its cluster, or a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS server could not be reached or refused the connection.
    #[error("could not connect to the cluster's NATS server at {url}: {reason}")]
    Connect {
        /// The address given.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The credentials file could not be read.
    #[error("could not read the NATS credentials file {}: {source}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// JetStream refused a stream or bucket.
    #[error(
        "the NATS server would not set up the {what} (does it run with JetStream, `-js`?): {reason}"
    )]
    Setup {
        /// What was being set up.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A chat name NATS cannot use.
    #[error("the chat name {0:?} cannot be used: give 1 to 32 ASCII letters, digits, `-` or `_`")]
    BadChatName(String),
    /// The NATS server cannot be reached just now.
    #[error("the cluster's NATS server cannot be reached just now")]
    Unavailable,
}

/// The cluster's figures for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Relays seen alive, this one included.
    pub relays: u64,
    /// Whether this relay is connected to NATS now.
    pub connected: bool,
    /// The last NATS round trip, in microseconds.
    pub nats_rtt_us: u64,
    /// Chat messages this relay published to the cluster.
    pub forwarded_out: u64,
    /// Chat messages other relays published that this relay delivered.
    pub forwarded_in: u64,
}

/// The counters behind [`ClusterStats`].
#[derive(Debug, Default)]
struct Counters {
    relays: AtomicU64,
    nats_rtt_us: AtomicU64,
    forwarded_out: AtomicU64,
    forwarded_in: AtomicU64,
}

/// A relay's membership in its cluster: the NATS connection, the streams and buckets.
pub(super) struct Cluster {
    /// This relay's ID in the cluster (its name and a random suffix).
    relay: String,
    config: ClusterConfig,
    /// The chat's subjects, streams and buckets.
    names_of: Names,
    client: async_nats::Client,
    js: jetstream::Context,
    names: kv::Store,
    sessions: kv::Store,
    state: kv::Store,
    /// The cluster's epoch: every relay's `welcome` carries it.
    epoch: String,
    /// Generated-ID numbers this relay may still give out.
    ids: tokio::sync::Mutex<Range<u64>>,
    /// Per room, the highest `seq` this relay has read from the stream.
    latest: [watch::Sender<u64>; 2],
    /// Per room, the stream's last `seq` when this relay started.
    start_seq: [u64; 2],
    /// Messages each room's history keeps.
    history: usize,
    /// Set once this relay's roster outgrew a heartbeat (said once in the log).
    roster_too_big: AtomicBool,
    /// The classroom the other relays had when this one started (`None`: none answered).
    learned: Option<Classroom>,
    /// The classroom controls, listened to since before `learned` was asked for, so that
    /// none given meanwhile is missed; taken by the background work.
    controls: std::sync::Mutex<Option<async_nats::Subscriber>>,
    counters: Counters,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("relay", &self.relay)
            .field("config", &self.config)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// What a joining client is given before [`super::peers::Peers::join`]: the ID the cluster
/// claimed for it (none when it resumes its session), and the token its name claim carries.
#[derive(Debug)]
pub(super) struct Admission {
    /// The claimed ID, for a new session.
    pub claimed: Option<Claimed>,
    /// Its session's token (empty for a seed client).
    pub token: String,
}

fn unavailable<E>(_: E) -> ClusterError {
    ClusterError::Unavailable
}

impl Cluster {
    /// Connects to NATS and sets up (or finds) the streams and buckets. Rooms keep `history`
    /// messages, as on a relay alone: that many are read from the streams at start.
    pub(super) async fn connect(
        config: ClusterConfig,
        history: usize,
    ) -> Result<Self, ClusterError> {
        if !valid_chat_name(&config.chat) {
            return Err(ClusterError::BadChatName(config.chat.clone()));
        }
        let names_of = Names::new(&config.chat);
        let name = config
            .relay_name
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
        let relay = format!("{name}-{}", random_hex(6));
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("classchat relay {relay}"))
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(REQUEST_TIMEOUT))
            .max_reconnects(None)
            // Back to a restarted server within a second, without hammering a dead one.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(u64::try_from(attempts).unwrap_or(10).min(10) * 100)
            });
        if let Some(path) = &config.credentials {
            options = options.credentials_file(path).await.map_err(|source| {
                ClusterError::Credentials {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        if let (Some(user), Some(password)) = (&config.user, &config.password) {
            options = options.user_and_password(user.clone(), password.clone());
        }
        let client =
            options
                .connect(config.url.as_str())
                .await
                .map_err(|e| ClusterError::Connect {
                    url: config.url.clone(),
                    reason: e.to_string(),
                })?;
        let js = jetstream::new(client.clone());
        let setup = |what: &'static str| {
            move |e: &dyn std::fmt::Display| ClusterError::Setup {
                what,
                reason: e.to_string(),
            }
        };
        let mut start_seq = [0; 2];
        for room in Room::ALL {
            let stream = js
                .get_or_create_stream(stream::Config {
                    name: names_of.stream(room),
                    subjects: vec![names_of.subject(room)],
                    max_age: DUPLICATE_WINDOW,
                    max_bytes: STREAM_BYTES,
                    duplicate_window: DUPLICATE_WINDOW,
                    storage: stream::StorageType::File,
                    num_replicas: config.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| setup("message stream")(&e))?;
            start_seq[room.index()] = stream.cached_info().state.last_sequence;
        }
        let bucket = |what: &str| names_of.bucket(what);
        let names = store(&js, &bucket("names"), Duration::ZERO, config.replicas).await?;
        let sessions = store(&js, &bucket("sessions"), SESSION_AGE, config.replicas).await?;
        let state = store(&js, &bucket("state"), Duration::ZERO, config.replicas).await?;
        let epoch = match state.create(EPOCH_KEY, random_hex(16).into()).await {
            Ok(_) => None,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => None,
            Err(e) => Some(setup("state bucket")(&e)),
        };
        if let Some(error) = epoch {
            return Err(error);
        }
        let epoch = state
            .get(EPOCH_KEY)
            .await
            .map_err(|e| setup("state bucket")(&e))?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let controls = client
            .subscribe(names_of.control())
            .await
            .map_err(|e| setup("control subject")(&e))?;
        let learned = learn_classroom(&client, &names_of).await;
        tracing::info!(relay, url = %config.url, chat = %config.chat, %epoch, "joined the cluster");
        Ok(Self {
            relay,
            config,
            names_of,
            client,
            js,
            names,
            sessions,
            state,
            epoch,
            ids: tokio::sync::Mutex::new(0..0),
            latest: [watch::Sender::new(0), watch::Sender::new(0)],
            start_seq,
            history,
            roster_too_big: AtomicBool::new(false),
            learned,
            controls: std::sync::Mutex::new(Some(controls)),
            counters: Counters::default(),
        })
    }

    /// The cluster's epoch.
    pub(super) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The classroom the other relays had when this one started, if any answered (once).
    pub(super) fn take_learned(&mut self) -> Option<Classroom> {
        self.learned.take()
    }

    /// Waits (a bounded time) until this relay has read the history the streams held when
    /// it started.
    pub(super) async fn catch_up(&self) {
        for room in Room::ALL {
            let target = self.start_seq[room.index()];
            let mut latest = self.latest[room.index()].subscribe();
            if tokio::time::timeout(CATCH_UP, latest.wait_for(|seq| *seq >= target))
                .await
                .is_err()
            {
                tracing::warn!(?room, target, "the room's history is still being read");
            }
        }
    }

    /// The figures for `/metrics`.
    pub(super) fn stats(&self) -> ClusterStats {
        let c = &self.counters;
        ClusterStats {
            relays: c.relays.load(Ordering::Relaxed),
            connected: self.connected(),
            nats_rtt_us: c.nats_rtt_us.load(Ordering::Relaxed),
            forwarded_out: c.forwarded_out.load(Ordering::Relaxed),
            forwarded_in: c.forwarded_in.load(Ordering::Relaxed),
        }
    }

    fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Claims an ID for a client about to join, or the ID of the session it resumes. Fails
    /// only when NATS cannot be reached.
    pub(super) async fn admit(
        &self,
        shared: &Shared,
        endpoint: Endpoint,
        dialect: Dialect,
        name: Option<&str>,
        host: bool,
        resume: Option<&Resume>,
    ) -> Result<Admission, ClusterError> {
        if !self.connected() {
            return Err(ClusterError::Unavailable);
        }
        if dialect == Dialect::V1
            && let Some(resume) = resume
            && self.take_session(shared, endpoint, resume).await?
        {
            return Ok(Admission {
                claimed: None,
                token: resume.token.clone(),
            });
        }
        let token = random_hex(32);
        // A seed client has no session: its claim names none.
        let claim_token = if dialect == Dialect::V1 { &token } else { "" }.to_owned();
        let requested = name.map(|name| shared.peers().check_name(name, host));
        let (peer_id, name_refused) = match requested {
            Some(Ok(name)) if self.claim(&name, &claim_token).await? => (name, None),
            Some(Ok(name)) => (self.generated(&claim_token).await?, Some(name_taken(&name))),
            Some(Err(refusal)) => (self.generated(&claim_token).await?, Some(refusal)),
            None => (self.generated(&claim_token).await?, None),
        };
        Ok(Admission {
            claimed: Some(Claimed {
                peer_id,
                name_refused,
                token,
            }),
            token: claim_token,
        })
    }

    /// Makes the session `resume` names resumable here if the cluster knows it and its ID is
    /// free or its own; waits until this relay has read what the client saw. Returns whether
    /// the session will resume.
    async fn take_session(
        &self,
        shared: &Shared,
        endpoint: Endpoint,
        resume: &Resume,
    ) -> Result<bool, ClusterError> {
        let token = resume.token.as_str();
        // Tokens are hexadecimal; anything else is no token of ours (nor a valid bucket key).
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let local = shared.peers().session(token);
        let record = match local {
            Some((id, endpoint)) => Some(SessionRecord {
                id,
                room: endpoint.into(),
            }),
            None => self
                .sessions
                .get(token)
                .await
                .map_err(unavailable)?
                .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        };
        let Some(record) = record else {
            return Ok(false);
        };
        if Endpoint::from(record.room) != endpoint {
            return Ok(false);
        }
        if !self.claim(&record.id, token).await? {
            shared.peers().forget_session(token);
            return Ok(false);
        }
        let mut latest = self.latest[record.room.index()].subscribe();
        let since = resume.since;
        tokio::time::timeout(CATCH_UP, latest.wait_for(|seq| *seq >= since))
            .await
            .ok();
        let resumable = {
            let mut peers = shared.peers();
            peers.adopt_session(token, &record.id, endpoint, now_ms());
            let connected_here = peers.member_info(endpoint, &record.id).is_some();
            (peers.can_resume(resume, endpoint), connected_here)
        };
        match resumable {
            (true, _) => Ok(true),
            (false, connected_here) => {
                if !connected_here {
                    self.release(&record.id, token).await;
                }
                Ok(false)
            }
        }
    }

    /// Claims `peer_id` for the session `token` (empty for a seed client): true if it was
    /// free, or already that session's.
    async fn claim(&self, peer_id: &str, token: &str) -> Result<bool, ClusterError> {
        let key = name_key(peer_id);
        let value: bytes::Bytes = serde_json::to_vec(&NameClaim {
            relay: self.relay.clone(),
            token: token.to_owned(),
        })
        .map_err(unavailable)?
        .into();
        match self.names.create(&key, value.clone()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                if token.is_empty() {
                    return Ok(false);
                }
                let Some(entry) = self.names.entry(&key).await.map_err(unavailable)? else {
                    return Ok(false);
                };
                let held: Option<NameClaim> = serde_json::from_slice(&entry.value).ok();
                if entry.operation == kv::Operation::Put
                    && held.is_some_and(|held| held.token == token)
                {
                    // The session moves here: the claim follows it.
                    Ok(self.names.update(&key, value, entry.revision).await.is_ok())
                } else {
                    Ok(false)
                }
            }
            Err(_) => Err(ClusterError::Unavailable),
        }
    }

    /// Gives up this relay's claim on `peer_id` for the session `token`, if it still holds it.
    async fn release(&self, peer_id: &str, token: &str) {
        let key = name_key(peer_id);
        let Ok(Some(entry)) = self.names.entry(&key).await else {
            return;
        };
        let held: Option<NameClaim> = serde_json::from_slice(&entry.value).ok();
        if held.is_some_and(|held| held.relay == self.relay && held.token == token) {
            // Lost only if someone else claimed it meanwhile, which is what should happen.
            self.names
                .delete_expect_revision(&key, Some(entry.revision))
                .await
                .ok();
        }
    }

    /// Removes every claim held by a relay `gone` says is gone. Sessions that already moved
    /// to another relay hold their claims under that relay and keep them.
    async fn release_where(&self, gone: impl Fn(&str) -> bool) {
        let Ok(mut keys) = self.names.keys().await else {
            return;
        };
        let mut released = 0_u64;
        while let Some(Ok(key)) = keys.next().await {
            let Ok(Some(entry)) = self.names.entry(&key).await else {
                continue;
            };
            let held: Option<NameClaim> = serde_json::from_slice(&entry.value).ok();
            if held.is_some_and(|held| held.relay != self.relay && gone(&held.relay))
                && self
                    .names
                    .delete_expect_revision(&key, Some(entry.revision))
                    .await
                    .is_ok()
            {
                released += 1;
            }
        }
        if released > 0 {
            tracing::info!(released, "released the IDs that gone relays held");
        }
    }

    /// The next free generated ID (`clientN`), claimed for the session `token`.
    async fn generated(&self, token: &str) -> Result<String, ClusterError> {
        loop {
            let number = self.next_number().await?;
            let peer_id = format!("{ID_PREFIX}{number}");
            // Someone may have chosen this name themselves.
            if self.claim(&peer_id, token).await? {
                return Ok(peer_id);
            }
        }
    }

    async fn next_number(&self) -> Result<u64, ClusterError> {
        let mut ids = self.ids.lock().await;
        if ids.is_empty() {
            *ids = self.take_block().await?;
        }
        let number = ids.start;
        ids.start += 1;
        Ok(number)
    }

    /// Takes the next [`ID_BLOCK`] numbers from the cluster's counter (compare-and-set, so two
    /// relays never get the same block).
    async fn take_block(&self) -> Result<Range<u64>, ClusterError> {
        for _ in 0..20 {
            let entry = self.state.entry(NEXT_ID_KEY).await.map_err(unavailable)?;
            let taken = match entry.filter(|e| e.operation == kv::Operation::Put) {
                None => self
                    .state
                    .create(NEXT_ID_KEY, ID_BLOCK.to_string().into())
                    .await
                    .map(|_| 0)
                    .ok(),
                Some(entry) => {
                    let first: u64 = String::from_utf8_lossy(&entry.value).parse().unwrap_or(0);
                    let next = first.saturating_add(ID_BLOCK);
                    self.state
                        .update(NEXT_ID_KEY, next.to_string().into(), entry.revision)
                        .await
                        .map(|_| first)
                        .ok()
                }
            };
            if let Some(first) = taken {
                return Ok(first..first + ID_BLOCK);
            }
        }
        Err(ClusterError::Unavailable)
    }

    /// Publishes an accepted message to its room's stream. The stream numbers it; every relay,
    /// this one included, delivers it when it reads it back. `send_key` (session and send id)
    /// lets the stream recognise a resend: its acknowledgement then says `duplicate` and
    /// gives the first copy's `seq`.
    pub(super) async fn publish(
        &self,
        endpoint: Endpoint,
        message: ChatMessage,
        sender: Option<Dialect>,
        send_key: Option<String>,
    ) -> Result<jetstream::publish::PublishAck, ClusterError> {
        if !self.connected() {
            return Err(ClusterError::Unavailable);
        }
        let published = Published {
            message,
            sender_legacy: sender.map(Dialect::is_legacy),
            relay: self.relay.clone(),
        };
        let payload = serde_json::to_vec(&published).map_err(unavailable)?;
        let mut headers = HeaderMap::new();
        if let Some(key) = send_key {
            headers.insert(header::NATS_MESSAGE_ID, key.as_str());
        }
        let subject = self.names_of.subject(Room::from(endpoint));
        let acked = tokio::time::timeout(PUBLISH_TIMEOUT, async {
            self.js
                .publish_with_headers(subject, headers, payload.into())
                .await?
                .await
        })
        .await;
        match acked {
            Ok(Ok(ack)) => {
                if !ack.duplicate {
                    self.counters.forwarded_out.fetch_add(1, Ordering::Relaxed);
                }
                Ok(ack)
            }
            _ => Err(ClusterError::Unavailable),
        }
    }

    /// A client joined this relay: the other relays are told, and its session is recorded so
    /// that it can resume anywhere.
    pub(super) async fn joined(
        &self,
        endpoint: Endpoint,
        client: crate::protocol::ClientInfo,
        token: &str,
        version: u64,
    ) {
        let record = SessionRecord {
            id: client.id.clone(),
            room: endpoint.into(),
        };
        self.announce(&Presence::Joined {
            relay: self.relay.clone(),
            version,
            member: wire::Member {
                room: endpoint.into(),
                client,
            },
        })
        .await;
        if !token.is_empty()
            && let Ok(value) = serde_json::to_vec(&record)
            && let Err(e) = self.sessions.put(token, value.into()).await
        {
            tracing::warn!("could not record a session in the cluster: {e}");
        }
    }

    /// A client left this relay: its ID is free again and the other relays are told.
    pub(super) async fn left(&self, endpoint: Endpoint, peer_id: &str, token: &str, version: u64) {
        // Released first, so that whoever hears of the leave can take the name.
        self.release(peer_id, token).await;
        self.announce(&Presence::Left {
            relay: self.relay.clone(),
            version,
            room: endpoint.into(),
            id: peer_id.to_owned(),
        })
        .await;
    }

    /// This relay is stopping: the others drop its clients now rather than after
    /// [`ClusterConfig::dead_after`].
    pub(super) async fn bye(&self) {
        self.announce(&Presence::Bye {
            relay: self.relay.clone(),
        })
        .await;
        tokio::time::timeout(REQUEST_TIMEOUT, self.client.flush())
            .await
            .ok();
    }

    /// Says this relay is alive, with its roster at `version`: all of it when that fits in one
    /// NATS message.
    async fn alive(&self, version: u64, members: Vec<wire::Member>) {
        let full = Presence::Alive {
            relay: self.relay.clone(),
            version,
            members: Some(members),
        };
        let Ok(payload) = serde_json::to_vec(&full) else {
            return;
        };
        // Room for the subject and headers.
        let limit = self.client.server_info().max_payload.saturating_sub(4096);
        if payload.len() <= limit {
            self.client
                .publish(self.names_of.presence(), payload.into())
                .await
                .ok();
            return;
        }
        if !self.roster_too_big.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                bytes = payload.len(),
                limit,
                "this relay's roster no longer fits in one NATS message: heartbeats go without it"
            );
        }
        self.announce(&Presence::Alive {
            relay: self.relay.clone(),
            version,
            members: None,
        })
        .await;
    }

    /// A client of this relay (`from`) gave a classroom control that applied here: the other
    /// relays are told, with the hand's time (`since`) and the poll's number (`poll`) as this
    /// relay gave them. Lost while NATS is away.
    pub(super) async fn control(
        &self,
        message: ClientMessage,
        from: &str,
        since: Option<u64>,
        poll: Option<u64>,
    ) {
        if !wire::Control::carried(&message) {
            return;
        }
        let (message, voter) = match message {
            ClientMessage::Hand { up, id } => {
                let id = Some(id.unwrap_or_else(|| from.to_owned()));
                (ClientMessage::Hand { up, id }, None)
            }
            vote @ ClientMessage::Vote { .. } => (vote, Some(from.to_owned())),
            other => (other, None),
        };
        let control = wire::Control {
            relay: self.relay.clone(),
            message,
            voter,
            since,
            poll,
        };
        if let Ok(payload) = serde_json::to_vec(&control) {
            self.client
                .publish(self.names_of.control(), payload.into())
                .await
                .ok();
        }
    }

    async fn announce(&self, presence: &Presence) {
        let Ok(payload) = serde_json::to_vec(presence) else {
            return;
        };
        // Lost while NATS is away; the next heartbeat repairs the other relays' rosters.
        self.client
            .publish(self.names_of.presence(), payload.into())
            .await
            .ok();
    }
}

/// Asks the relays already running for the classroom as it stands; `None` when none answers
/// (the first relay of the cluster, or all stopped), and this relay starts with a fresh one.
async fn learn_classroom(client: &async_nats::Client, names_of: &Names) -> Option<Classroom> {
    let answer = client
        .request(names_of.classroom(), bytes::Bytes::new())
        .await
        .ok()?;
    match serde_json::from_slice(&answer.payload) {
        Ok(classroom) => Some(classroom),
        Err(e) => {
            tracing::warn!("could not read the classroom another relay sent: {e}");
            None
        }
    }
}

/// Finds the key-value bucket, or creates it. The stream behind it is made here rather than
/// by `create_key_value`, which first asks for the account's details in a form older NATS
/// servers (Debian's 2.9) do not answer.
async fn store(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store, ClusterError> {
    let setup = |e: &dyn std::fmt::Display| ClusterError::Setup {
        what: "key-value bucket",
        reason: e.to_string(),
    };
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| setup(&e))?;
    js.get_key_value(bucket).await.map_err(|e| setup(&e))
}

/// The stream's duplicate key for a send: its session and a digest of its send id (which the
/// client chose, so it may hold anything a header must not).
pub(super) fn send_key(token: &str, client_id: &str) -> String {
    // FNV-1a, 64 bits: the same on every relay, and collisions within one session's window
    // are negligible.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in client_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{token}:{hash:016x}:{}", client_id.len())
}
