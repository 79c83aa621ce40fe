//! What a relay of a cluster does in the background: it reads both rooms' streams and
//! delivers each message to its own clients, and it keeps the roster of the other relays'
//! clients from their presence messages, announcing its own once a second. It applies the
//! classroom controls given on other relays, and tells a relay that starts the classroom as
//! it stands.
//!
//! A relay not heard from for `dead_after` is taken for dead: its clients leave the roster
//! (a `left` to everyone here) and its ID claims are released. Only a relay connected to NATS
//! for at least that long judges the others, so an outage of its own does not make it drop
//! everyone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, push};
use futures_util::StreamExt as _;

use super::super::outbox::Outbox;
use super::super::state::Shared;
use super::wire::{Control, Member, Presence, Published, Room};
use super::{Cluster, ClusterError};
use crate::protocol::{ClientInfo, Close, Dialect, Endpoint, now_ms};

/// Runs the cluster's background work until the relay stops (it never returns).
pub(in crate::relay) async fn run(cluster: &Cluster, shared: &Shared) {
    let (sweeps, swept) = tokio::sync::mpsc::unbounded_channel();
    tokio::join!(
        consume(cluster, shared, Room::Broadcast),
        consume(cluster, shared, Room::Direct),
        presence(cluster, shared, sweeps),
        sweep(cluster, shared, swept),
    );
}

/// Relays found dead, to clean up after.
struct Sweep {
    /// The relays that just went silent.
    dead: Vec<String>,
    /// Every relay heard from lately: claims of any other are released.
    alive: HashSet<String>,
}

/// Releases the claims of relays that are not alive and then drops the dead ones' clients
/// from the roster, so that whoever hears of a leave can take the name. Apart from the
/// presence loop, which must keep heartbeating however long this takes.
async fn sweep(
    cluster: &Cluster,
    shared: &Shared,
    mut sweeps: tokio::sync::mpsc::UnboundedReceiver<Sweep>,
) {
    while let Some(Sweep { dead, alive }) = sweeps.recv().await {
        cluster.release_where(|relay| !alive.contains(relay)).await;
        for relay in &dead {
            tracing::info!(relay, "a relay went silent; its clients leave the roster");
            let delivery = shared.peers().remote_sync(relay, None);
            shared.counters.delivered(&delivery);
        }
    }
}

/// Reads `room`'s stream from where this relay stopped, for ever, starting again after an
/// error.
async fn consume(cluster: &Cluster, shared: &Shared, room: Room) {
    let mut watched = Vec::new();
    loop {
        if let Err(e) = consume_once(cluster, shared, room, &mut watched).await {
            tracing::warn!(
                ?room,
                "reading the room's stream failed ({e}); starting again"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn consume_once(
    cluster: &Cluster,
    shared: &Shared,
    room: Room,
    watched: &mut Vec<Outbox>,
) -> Result<(), ClusterError> {
    let latest = *cluster.latest[room.index()].borrow();
    // A fresh relay reads as much as its history keeps; later it goes on from where it was.
    let first = if latest == 0 {
        let history = u64::try_from(cluster.history).unwrap_or(u64::MAX);
        cluster.start_seq[room.index()]
            .saturating_sub(history)
            .saturating_add(1)
    } else {
        latest + 1
    };
    let stream = cluster
        .js
        .get_stream(cluster.names_of.stream(room))
        .await
        .map_err(super::unavailable)?;
    let deliver_policy = DeliverPolicy::ByStartSequence {
        start_sequence: first,
    };
    let consumer = stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: cluster.client.new_inbox(),
            filter_subject: cluster.names_of.subject(room),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(super::unavailable)?;
    let mut messages = consumer.messages().await.map_err(super::unavailable)?;
    let endpoint = Endpoint::from(room);
    while let Some(message) = messages.next().await {
        let message = message.map_err(super::unavailable)?;
        let Ok(seq) = message.info().map(|info| info.stream_sequence) else {
            continue;
        };
        let published: Published = match serde_json::from_slice(&message.payload) {
            Ok(published) => published,
            Err(e) => {
                tracing::warn!(
                    ?room,
                    seq,
                    "skipped a message the cluster could not read: {e}"
                );
                continue;
            }
        };
        let latest = *cluster.latest[room.index()].borrow();
        if latest > 0 && seq > latest + 1 {
            // Only a relay that fell further behind than the stream keeps gets here.
            tracing::warn!(
                ?room,
                missed = seq - latest - 1,
                "messages left the stream before this relay read them; its clients miss them"
            );
        }
        let from_here = published.relay == cluster.relay;
        let delivery = shared.peers().deliver_numbered(
            endpoint,
            Some(seq),
            published.message,
            published.sender_legacy.map(Dialect::from_legacy),
        );
        if from_here {
            shared.counters.routed(&delivery);
        } else {
            shared.counters.delivered(&delivery);
            cluster
                .counters
                .forwarded_in
                .fetch_add(1, Ordering::Relaxed);
        }
        cluster.latest[room.index()].send_replace(seq);
        watch_congested(shared, delivery.congested, watched);
    }
    Ok(())
}

/// A recipient left over its queue's bounds cannot pause a sender on another relay; it gets
/// the stall timeout twice over to catch up, and is cut off (1013) if it does not.
fn watch_congested(shared: &Shared, congested: Vec<Outbox>, watched: &mut Vec<Outbox>) {
    watched.retain(|outbox| outbox.is_congested());
    let stall = shared.config.stall;
    for outbox in congested {
        if watched.iter().any(|w| w.same(&outbox)) {
            continue;
        }
        watched.push(outbox.clone());
        shared.tasks.spawn(async move {
            if tokio::time::timeout(stall * 2, outbox.uncongested())
                .await
                .is_err()
            {
                outbox.kill().fire(Close::TooSlow);
            }
        });
    }
}

/// What this relay knows of another relay.
struct Seen {
    /// When it was last heard from.
    last: Instant,
    /// The newest roster version applied.
    version: u64,
}

/// Announces this relay's clients every heartbeat, applies the other relays' presence
/// messages, and drops relays that went silent.
async fn presence(
    cluster: &Cluster,
    shared: &Shared,
    sweeps: tokio::sync::mpsc::UnboundedSender<Sweep>,
) {
    let mut subscription = subscribe(cluster, cluster.names_of.presence()).await;
    let listening = cluster
        .controls
        .lock()
        .ok()
        .and_then(|mut controls| controls.take());
    let mut controls = match listening {
        Some(controls) => controls,
        None => subscribe(cluster, cluster.names_of.control()).await,
    };
    let mut asked = subscribe(cluster, cluster.names_of.classroom()).await;
    let heartbeat = cluster.config.heartbeat;
    let dead_after = cluster.config.dead_after;
    let mut tick = tokio::time::interval(heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut relays: HashMap<String, Seen> = HashMap::new();
    // Relays that said goodbye or were dropped: whatever comes late from them is ignored.
    let mut gone: HashSet<String> = HashSet::new();
    let mut connected_since: Option<Instant> = None;
    let mut swept = false;
    loop {
        tokio::select! {
            Some(message) = subscription.next() => {
                let Ok(presence) = serde_json::from_slice::<Presence>(&message.payload) else {
                    continue;
                };
                if presence.relay() != cluster.relay && !gone.contains(presence.relay()) {
                    apply(shared, &mut relays, &mut gone, presence);
                }
            }
            Some(message) = controls.next() => {
                let Ok(control) = serde_json::from_slice::<Control>(&message.payload) else {
                    continue;
                };
                if control.relay != cluster.relay && Control::carried(&control.message) {
                    let delivery = shared.peers().control_from_cluster(
                        control.message,
                        control.voter.as_deref(),
                        control.since,
                        control.poll,
                        now_ms(),
                    );
                    shared.counters.delivered(&delivery);
                }
            }
            Some(question) = asked.next() => {
                // A relay that starts asks for the classroom as it stands.
                let Some(reply) = question.reply else {
                    continue;
                };
                let Ok(payload) = serde_json::to_vec(shared.peers().classroom()) else {
                    continue;
                };
                cluster.client.publish(reply, payload.into()).await.ok();
            }
            _ = tick.tick() => {
                let (version, members) = {
                    let peers = shared.peers();
                    (peers.presence(), peers.local_members())
                };
                let members = members
                    .into_iter()
                    .map(|(endpoint, client)| Member { room: endpoint.into(), client })
                    .collect();
                cluster.alive(version, members).await;
                let sent = Instant::now();
                if let Ok(Ok(())) = tokio::time::timeout(heartbeat, cluster.client.flush()).await {
                    let rtt = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    cluster.counters.nats_rtt_us.store(rtt, Ordering::Relaxed);
                }

                let now = Instant::now();
                if !cluster.connected() {
                    connected_since = None;
                } else if connected_since.is_none() {
                    // Back (or new): everyone gets a fresh chance to be heard.
                    connected_since = Some(now);
                    for seen in relays.values_mut() {
                        seen.last = now;
                    }
                }
                let judging = connected_since.is_some_and(|since| now - since >= dead_after);
                if judging {
                    let dead: Vec<String> = relays
                        .iter()
                        .filter(|(_, seen)| now - seen.last >= dead_after)
                        .map(|(relay, _)| relay.clone())
                        .collect();
                    for relay in &dead {
                        relays.remove(relay);
                        gone.insert(relay.clone());
                    }
                    // Claims of relays that are not alive: the dead ones, and at the first
                    // look those of a cluster that stopped altogether before this relay came.
                    if !dead.is_empty() || !swept {
                        swept = true;
                        let alive = relays.keys().cloned().collect();
                        sweeps.send(Sweep { dead, alive }).ok();
                    }
                }
                let count = u64::try_from(relays.len()).unwrap_or(u64::MAX).saturating_add(1);
                cluster.counters.relays.store(count, Ordering::Relaxed);
            }
        }
    }
}

/// Listens to `subject`, trying again until NATS answers.
async fn subscribe(cluster: &Cluster, subject: String) -> async_nats::Subscriber {
    loop {
        match cluster.client.subscribe(subject.clone()).await {
            Ok(subscription) => return subscription,
            Err(e) => {
                tracing::warn!(
                    subject,
                    "could not listen to the cluster ({e}); trying again"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Applies another relay's presence message to the roster, unless it is older than what was
/// applied already.
fn apply(
    shared: &Shared,
    relays: &mut HashMap<String, Seen>,
    gone: &mut HashSet<String>,
    presence: Presence,
) {
    let now = Instant::now();
    let relay: Arc<str> = Arc::from(presence.relay());
    let seen = relays.entry(relay.to_string()).or_insert(Seen {
        last: now,
        version: 0,
    });
    seen.last = now;
    let delivery = match presence {
        Presence::Alive {
            version,
            members: Some(members),
            ..
        } if version >= seen.version => {
            seen.version = version;
            let members: Vec<(Endpoint, ClientInfo)> = members
                .into_iter()
                .map(|m| (m.room.into(), m.client))
                .collect();
            shared.peers().remote_sync(&relay, Some(members))
        }
        Presence::Joined {
            version, member, ..
        } if version > seen.version => {
            seen.version = version;
            shared
                .peers()
                .remote_joined(&relay, member.room.into(), member.client)
        }
        Presence::Left {
            version, room, id, ..
        } if version > seen.version => {
            seen.version = version;
            shared.peers().remote_left(&relay, room.into(), &id)
        }
        Presence::Bye { .. } => {
            tracing::info!(relay = %relay, "a relay stopped; its clients leave the roster");
            relays.remove(relay.as_ref());
            gone.insert(relay.to_string());
            shared.peers().remote_sync(&relay, None)
        }
        _ => return,
    };
    shared.counters.delivered(&delivery);
}
