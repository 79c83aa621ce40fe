//! Delivery you can count on, against a real relay on port 0: late joiners see the room's
//! public history, a dropped client resumes and gets what it missed exactly once, a resent
//! send is not doubled, and overload slows senders instead of cutting readers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use classchat::protocol::{ChatMessage, ServerMessage};
use classchat::relay::RelayConfig;
use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// What a `welcome` told a `classchat.v1` client.
struct Welcome {
    id: String,
    seq: u64,
    epoch: String,
    resume: String,
    recovered: Option<bool>,
}

fn welcome(message: ServerMessage) -> Welcome {
    match message {
        ServerMessage::Welcome {
            id,
            seq: Some(seq),
            epoch: Some(epoch),
            resume: Some(resume),
            recovered,
            ..
        } => Welcome {
            id,
            seq,
            epoch,
            resume,
            recovered,
        },
        other => panic!("expected a welcome with delivery fields, got {other:?}"),
    }
}

/// Joins the addressed room with `classchat.v1` and `query`, and reads the welcome.
async fn join(addr: std::net::SocketAddr, query: &str) -> (Ws, Welcome) {
    let mut ws = extended(addr, &format!("{DICT}{query}")).await;
    let welcome = welcome(json(&mut ws).await);
    (ws, welcome)
}

/// The next chat message, skipping roster notices.
async fn message<S>(ws: &mut WebSocketStream<S>) -> ChatMessage
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match json(ws).await {
            ServerMessage::Message(m) => return m,
            ServerMessage::Joined { .. } | ServerMessage::Left { .. } => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Chat messages until (and without) the one whose text is `marker`.
async fn messages_until<S>(ws: &mut WebSocketStream<S>, marker: &str) -> Vec<ChatMessage>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut got = Vec::new();
    loop {
        let m = message(ws).await;
        if m.text == marker {
            return got;
        }
        got.push(m);
    }
}

#[tokio::test]
async fn a_late_joiner_sees_the_public_history_and_no_private_message() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    let (mut hanako, _) = join(addr, "?name=花子").await;
    // Each is relayed before the next is sent, and all before the late joiner arrives.
    send_json(&mut teacher, "*", "課題: https://example.com/a1").await;
    assert_eq!(
        message(&mut hanako).await.text,
        "課題: https://example.com/a1"
    );
    send_json(&mut teacher, "花子", "private note").await;
    assert_eq!(message(&mut hanako).await.text, "private note");
    send_json(&mut hanako, "*", "わかりました").await;
    assert_eq!(message(&mut hanako).await.text, "わかりました");

    let (mut late, w) = join(addr, "?name=taro").await;
    assert_eq!(w.seq, 3, "three messages were relayed in this room");
    assert_eq!(w.recovered, None, "it did not ask to resume");
    let first = message(&mut late).await;
    let second = message(&mut late).await;
    assert_eq!(
        (first.text.as_str(), second.text.as_str()),
        ("課題: https://example.com/a1", "わかりました")
    );
    assert!(first.replay && second.replay);
    assert_eq!((first.seq, second.seq), (Some(1), Some(3)));
    // Live traffic follows the replay, and the private message never came.
    send_json(&mut teacher, "*", "live").await;
    let live = message(&mut late).await;
    assert_eq!(live.text, "live");
    assert!(!live.replay);
    assert_eq!(live.seq, Some(4));
}

#[tokio::test]
async fn seed_clients_see_no_seq_and_no_replay() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    send_json(&mut teacher, "*", "before the seed client").await;
    let (mut seed, seed_id) = legacy_dict(addr).await;
    send_json(&mut teacher, &seed_id, "hello seed").await;
    assert_eq!(text(&mut seed).await, "hello seed", "no replay, no JSON");
}

#[tokio::test]
async fn a_dropped_client_resumes_with_its_id_and_gets_what_it_missed_once_in_order() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    let (mut hanako, w) = join(addr, "?name=花子").await;
    send_json(&mut teacher, "*", "before").await;
    let before = message(&mut hanako).await;
    let since = before.seq.expect("seq");

    // An abrupt drop: the TCP connection goes without a closing handshake.
    drop(hanako);
    eventually("the relay notices the drop", || !listed(&relay, "花子")).await;
    send_json(&mut teacher, "*", "gap: to everyone").await;
    send_json(&mut teacher, "tanaka", "gap: teacher to self").await;
    let (mut taro, _) = join(addr, "?name=taro").await;
    send_json(&mut taro, "*", "gap: taro to everyone").await;

    let query = format!(
        "?name=花子&resume={}&since={since}&epoch={}",
        w.resume, w.epoch
    );
    let (mut back, again) = join(addr, &query).await;
    assert_eq!(again.id, "花子", "the same ID");
    assert_eq!(again.recovered, Some(true));
    assert_eq!(again.resume, w.resume, "the same session");
    send_json(&mut teacher, "花子", "live").await;
    let missed = messages_until(&mut back, "live").await;
    let texts: Vec<&str> = missed.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["gap: to everyone", "gap: taro to everyone"]);
    assert!(missed.iter().all(|m| m.replay));
    let seqs: Vec<u64> = missed.iter().filter_map(|m| m.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
}

#[tokio::test]
async fn private_messages_missed_during_a_drop_are_replayed_to_their_recipient() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    let (hanako, w) = join(addr, "?name=花子").await;
    // The old connection stays open but is never read again: the relay has not noticed yet.
    let (mut back, again) = {
        send_json(&mut teacher, "花子", "while you were away").await;
        // Wait until the relay numbered it, so the resume below asks for it.
        eventually("the message is relayed", || relay.stats().messages == 1).await;
        let query = format!("?resume={}&since={}&epoch={}", w.resume, w.seq, w.epoch);
        join(addr, &query).await
    };
    assert_eq!(again.id, "花子");
    assert_eq!(again.recovered, Some(true));
    let missed = message(&mut back).await;
    assert_eq!(missed.text, "while you were away");
    assert!(missed.replay);
    assert_eq!(relay.clients().len(), 2, "one 花子, not two");

    // The old connection is closed with 4000 and must not come back.
    let mut old = hanako;
    let close = loop {
        match frame(&mut old).await {
            Some(Ok(Message::Close(close))) => break close,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4000));
}

#[tokio::test]
async fn resume_after_the_history_overflowed_says_recovered_false() {
    let relay = start_relay(RelayConfig {
        history: 3,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    let (hanako, w) = join(addr, "?name=花子").await;
    drop(hanako);
    eventually("the relay notices the drop", || !listed(&relay, "花子")).await;
    for n in 0..5 {
        send_json(&mut teacher, "*", &format!("m{n}")).await;
    }
    eventually("all relayed", || relay.stats().messages == 5).await;
    let query = format!("?name=花子&resume={}&since={}", w.resume, w.seq);
    let (mut back, again) = join(addr, &query).await;
    assert_eq!(again.recovered, Some(false));
    assert_eq!(again.id, "花子", "joins as new, with its name");
    assert_ne!(again.resume, w.resume, "a new session");
    // It still gets what the history kept, like any late joiner.
    let kept: Vec<String> = [
        message(&mut back).await,
        message(&mut back).await,
        message(&mut back).await,
    ]
    .into_iter()
    .map(|m| m.text)
    .collect();
    assert_eq!(kept, ["m2", "m3", "m4"]);
}

#[tokio::test]
async fn resume_after_a_relay_restart_says_recovered_false() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (hanako, w) = join(addr, "?name=花子").await;
    relay.shutdown().await;
    drop(hanako);
    let restarted = start_relay_at(addr, config()).await;
    let query = format!(
        "?name=花子&resume={}&since={}&epoch={}",
        w.resume, w.seq, w.epoch
    );
    let (_back, again) = join(restarted.local_addr(), &query).await;
    assert_eq!(again.recovered, Some(false));
    assert_ne!(again.epoch, w.epoch, "a new epoch");
}

#[tokio::test]
async fn a_resent_send_is_confirmed_again_and_delivered_once() {
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let (mut teacher, _) = join(addr, "?name=tanaka").await;
    let (mut hanako, w) = join(addr, "?name=花子").await;
    send_with_id(&mut hanako, "*", "質問です", "m1").await;
    let confirmed = message(&mut hanako).await;
    assert_eq!(confirmed.client_id.as_deref(), Some("m1"));
    let delivered = message(&mut teacher).await;
    assert_eq!(delivered.text, "質問です");
    assert_eq!(delivered.client_id, None, "others never see the send id");

    // The confirmation was lost with the connection: resume and send it again.
    drop(hanako);
    eventually("the relay notices the drop", || !listed(&relay, "花子")).await;
    let query = format!(
        "?resume={}&since={}&epoch={}",
        w.resume,
        confirmed.seq.unwrap_or(0),
        w.epoch
    );
    let (mut back, again) = join(addr, &query).await;
    assert_eq!(again.recovered, Some(true));
    send_with_id(&mut back, "*", "質問です", "m1").await;
    let reconfirmed = message(&mut back).await;
    assert_eq!(reconfirmed.client_id.as_deref(), Some("m1"));
    assert_eq!(reconfirmed.seq, confirmed.seq, "the same message");
    assert!(!reconfirmed.replay);

    send_json(&mut back, "*", "marker").await;
    assert_eq!(
        messages_until(&mut teacher, "marker").await,
        Vec::<ChatMessage>::new(),
        "the teacher got the question once"
    );
    assert_eq!(relay.stats().messages, 2, "the question and the marker");
}

/// Reads every frame as fast as possible and counts the seed echoes.
async fn count_echoes(mut ws: Ws, expected: usize) -> usize {
    let mut got = 0;
    while got < expected {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => got += 1,
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_to_fifty_readers_with_small_queues_loses_nothing() {
    const READERS: usize = 50;
    const MESSAGES: usize = 2_000;
    let relay = start_relay(RelayConfig {
        outbox_len: 4,
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let mut readers = Vec::new();
    for _ in 0..READERS {
        readers.push(legacy(addr, LIST).await);
    }
    let (mut sink, echoes) = legacy(addr, LIST).await.split();
    eventually("everyone is connected", || {
        relay.clients().len() == READERS + 1
    })
    .await;
    let counting: Vec<_> = readers
        .into_iter()
        .map(|ws| tokio::spawn(count_echoes(ws, MESSAGES)))
        .collect();
    let own = tokio::spawn(async move {
        let mut echoes = echoes;
        let mut got = 0;
        while got < MESSAGES {
            match tokio::time::timeout(PATIENCE, echoes.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => got += 1,
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        got
    });
    // Open loop: no window, as fast as the relay takes them.
    for n in 0..MESSAGES {
        sink.feed(Message::text(format!("flood {n}")))
            .await
            .unwrap();
    }
    sink.flush().await.unwrap();
    for reader in counting {
        assert_eq!(reader.await.unwrap(), MESSAGES, "a reader lost messages");
    }
    assert_eq!(own.await.unwrap(), MESSAGES);
    let stats = relay.stats();
    assert_eq!(stats.dropped_slow, 0, "nobody who reads was cut");
    assert_eq!(stats.messages, MESSAGES as u64);
}

/// A client on the broadcast path with a tiny receive buffer, whose frames are read by the
/// caller (or never).
async fn small_buffer_client(addr: std::net::SocketAddr) -> WebSocketStream<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(request(addr, LIST, false), stream)
        .await
        .unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_never_cut_while_a_stopped_one_is() {
    const MESSAGES: usize = 300;
    let relay = start_relay(RelayConfig {
        outbox_len: 4,
        stall: Duration::from_millis(1500),
        ..config()
    })
    .await;
    let addr = relay.local_addr();
    let stopped = small_buffer_client(addr).await;
    let slow = small_buffer_client(addr).await;
    let (mut sink, mut echoes) = legacy(addr, LIST).await.split();
    eventually("everyone is connected", || relay.clients().len() == 3).await;
    // The slow reader takes a frame every 20 ms: 300 frames of 4 KiB take about six seconds,
    // several stall timeouts, with its socket's buffers long full.
    let slow_reader = tokio::spawn(async move {
        let mut slow = slow;
        let mut got = 0;
        while got < MESSAGES {
            match tokio::time::timeout(PATIENCE, slow.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => got += 1,
                Ok(Some(Ok(_))) => continue,
                _ => break,
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The connection is handed back, still open, for the count below.
        (got, slow)
    });
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    let filler = "x".repeat(4096);
    for n in 0..MESSAGES {
        sink.send(Message::text(format!("{n}:{filler}")))
            .await
            .unwrap();
    }
    let (got, _still_open) = slow_reader.await.unwrap();
    assert_eq!(got, MESSAGES, "the slow reader lost nothing");
    let stats = relay.stats();
    assert_eq!(stats.dropped_slow, 1, "only the stopped reader was cut");
    assert_eq!(
        relay.clients().len(),
        2,
        "the sender and the slow reader remain"
    );
    drop(stopped);
    drain.abort();
}
