//! Every sentence the window shows, in Japanese and English.
//!
//! [`Lang::from_env`] picks the language from `LC_ALL`, `LC_MESSAGES` or `LANG` (a value
//! starting with `ja` means Japanese); the user can switch in the window. Fixed strings live in
//! the [`Strings`] tables so a missing translation is a compile error; sentences with values
//! are methods on [`Lang`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::command::TlsFile;
use super::composer::{Forbidden, InputError};
use crate::bridge::{
    AddressError, Close, Disconnect, ErrorCode, HostError, HostNote, JournalRecord, RoomModes,
    SaveDialog, Stats, TlsError,
};

/// A language of the user interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    /// 日本語.
    Ja,
    /// English.
    #[default]
    En,
}

impl Lang {
    /// The language the operating system asks for: Japanese when the first set variable of
    /// `LC_ALL`, `LC_MESSAGES`, `LANG` starts with `ja`, else English.
    pub fn from_env() -> Self {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|key| std::env::var(key).ok())
            .find(|value| !value.is_empty());
        Self::from_locale(value.as_deref().unwrap_or(""))
    }

    /// Japanese for a locale such as `ja_JP.UTF-8`, English for anything else.
    pub fn from_locale(locale: &str) -> Self {
        if locale.to_ascii_lowercase().starts_with("ja") {
            Self::Ja
        } else {
            Self::En
        }
    }

    /// The fixed strings of this language.
    pub fn s(self) -> &'static Strings {
        match self {
            Self::Ja => &JA,
            Self::En => &EN,
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Ja => "日本語",
            Self::En => "English",
        }
    }

    /// "Your ID: client3".
    pub fn your_id(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("あなたのID: {peer_id}"),
            Self::En => format!("Your ID: {peer_id}"),
        }
    }

    /// A port that another program holds.
    pub fn port_in_use(self, port: u16) -> String {
        match self {
            Self::Ja => format!("ポート {port} はすでに使われています — 別の番号を選んでください"),
            Self::En => format!("Port {port} is already in use — pick another"),
        }
    }

    /// Any other failure to listen.
    pub fn cannot_listen(self, port: u16, why: &str) -> String {
        match self {
            Self::Ja => format!("ポート {port} で待ち受けできません: {why}"),
            Self::En => format!("Cannot listen on port {port}: {why}"),
        }
    }

    /// The firewall sentence for the host.
    pub fn firewall(self, port: u16) -> String {
        match self {
            Self::Ja => format!(
                "このコンピューターのファイアウォールで TCP ポート {port} を許可してください。"
            ),
            Self::En => format!("Allow TCP port {port} on this computer's firewall."),
        }
    }

    /// How many clients are connected.
    pub fn connected_count(self, count: usize) -> String {
        match self {
            Self::Ja => format!("接続中: {count} 人"),
            Self::En if count == 1 => "1 person connected".to_owned(),
            Self::En => format!("{count} people connected"),
        }
    }

    /// Connecting, with the attempt number after the first.
    pub fn connecting(self, attempt: u32) -> String {
        match (self, attempt) {
            (Self::Ja, 0 | 1) => "接続中…".to_owned(),
            (Self::Ja, n) => format!("接続中…(試行 {n} 回目)"),
            (Self::En, 0 | 1) => "Connecting…".to_owned(),
            (Self::En, n) => format!("Connecting… (attempt {n})"),
        }
    }

    /// Waiting before the next attempt.
    pub fn reconnecting_in(self, reason: &Disconnect, wait: Duration) -> String {
        let secs = wait.as_secs_f32().ceil();
        let reason = self.disconnect(reason);
        match self {
            Self::Ja => format!("切断されました: {reason}。{secs} 秒後に再接続します"),
            Self::En => format!("Disconnected: {reason}. Reconnecting in {secs} s"),
        }
    }

    /// Stopped for good.
    pub fn disconnected(self, reason: &Disconnect) -> String {
        let reason = self.disconnect(reason);
        match self {
            Self::Ja => format!("切断されました: {reason}"),
            Self::En => format!("Disconnected: {reason}"),
        }
    }

    /// Why a connection ended, as a sentence a student understands.
    pub fn disconnect(self, reason: &Disconnect) -> String {
        match (self, reason) {
            (Self::Ja, Disconnect::Closed) => "退出しました".to_owned(),
            (Self::En, Disconnect::Closed) => "you left the chat".to_owned(),
            (Self::Ja, Disconnect::Kicked) => "ホストによってチャットから外されました".to_owned(),
            (Self::En, Disconnect::Kicked) => "the host removed you from the chat".to_owned(),
            (Self::Ja, Disconnect::ClosedByRelay(why)) => {
                format!("サーバーが接続を閉じました ({})", self.relay_reason(why))
            }
            (Self::En, Disconnect::ClosedByRelay(why)) => {
                format!(
                    "the relay closed the connection ({})",
                    self.relay_reason(why)
                )
            }
            (Self::Ja, Disconnect::HostStopped) => "ホストがチャットを終了しました".to_owned(),
            (Self::En, Disconnect::HostStopped) => "the host stopped the chat".to_owned(),
            (Self::Ja, Disconnect::WrongJoinCode) => "参加コードが違います".to_owned(),
            (Self::En, Disconnect::WrongJoinCode) => "Wrong join code".to_owned(),
            (Self::Ja, Disconnect::OriginRefused) => {
                "ホストがこの接続元を受け付けていません".to_owned()
            }
            (Self::En, Disconnect::OriginRefused) => {
                "the host does not accept this client".to_owned()
            }
            (Self::Ja, Disconnect::Full) => "チャットが満員です".to_owned(),
            (Self::En, Disconnect::Full) => "the chat is full".to_owned(),
            (Self::Ja, Disconnect::Unreachable(addr)) => {
                format!("{addr} に classchat のホストが見つかりません")
            }
            (Self::En, Disconnect::Unreachable(addr)) => format!("No classchat host at {addr}"),
            (Self::Ja, Disconnect::NotAChat(addr)) => {
                format!("{addr} は classchat のホストではありません")
            }
            (Self::En, Disconnect::NotAChat(addr)) => format!("{addr} is not a classchat host"),
            (Self::Ja, Disconnect::Lost(why)) => format!("接続が切れました ({why})"),
            (Self::En, Disconnect::Lost(why)) => format!("the connection was lost ({why})"),
            (Self::Ja, Disconnect::BadAddress(why)) => format!("アドレスが使えません ({why})"),
            (Self::En, Disconnect::BadAddress(why)) => {
                format!("the address cannot be used ({why})")
            }
            (Self::Ja, Disconnect::UntrustedCertificate(why)) => {
                format!("ホストの証明書を信頼できません ({why})")
            }
            (Self::En, Disconnect::UntrustedCertificate(why)) => {
                format!("the host's certificate is not trusted ({why})")
            }
            (Self::Ja, Disconnect::BadCaCert(why)) => {
                format!("CA 証明書のファイルが使えません ({why})")
            }
            (Self::En, Disconnect::BadCaCert(why)) => {
                format!("the CA certificate file cannot be used ({why})")
            }
        }
    }

    /// A refusal by the relay, by its stable code; `message` is the relay's English sentence,
    /// shown only for a code this version does not know.
    pub fn refused(self, code: ErrorCode, message: &str) -> String {
        match (self, code) {
            (Self::Ja, ErrorCode::UnknownRecipient) => {
                "送信できませんでした: そのIDの人は接続していません".to_owned()
            }
            (Self::En, ErrorCode::UnknownRecipient) => {
                "Not sent: nobody with that ID is connected".to_owned()
            }
            (Self::Ja, ErrorCode::RateLimited) => {
                "送信が速すぎます。少し待ってからもう一度送ってください".to_owned()
            }
            (Self::En, ErrorCode::RateLimited) => {
                "Sending too fast: wait a moment and send it again".to_owned()
            }
            (Self::Ja, ErrorCode::Muted) => {
                "ホストがあなたをミュートしています。メッセージは届きませんでした".to_owned()
            }
            (Self::En, ErrorCode::Muted) => {
                "The host muted you: the message was not delivered".to_owned()
            }
            (Self::Ja, ErrorCode::NameTaken) => {
                "その名前は使われています。別のIDが割り当てられました".to_owned()
            }
            (Self::En, ErrorCode::NameTaken) => {
                "That name is taken: you were given another ID".to_owned()
            }
            (Self::Ja, ErrorCode::NameInvalid) => {
                "その名前は使えません。別のIDが割り当てられました".to_owned()
            }
            (Self::En, ErrorCode::NameInvalid) => {
                "That name cannot be used: you were given another ID".to_owned()
            }
            (Self::Ja, ErrorCode::BadFormat) => "「ID/メッセージ」の形で書いてください".to_owned(),
            (Self::En, ErrorCode::BadFormat) => "Write id/message".to_owned(),
            (Self::Ja, ErrorCode::EmptyText) => "メッセージが空です".to_owned(),
            (Self::En, ErrorCode::EmptyText) => "The message is empty".to_owned(),
            (Self::Ja, ErrorCode::BinaryUnsupported) => "送れるのは文字だけです".to_owned(),
            (Self::En, ErrorCode::BinaryUnsupported) => "Only text can be sent".to_owned(),
            (Self::Ja, ErrorCode::BadJson) => "サーバーが理解できない形式でした".to_owned(),
            (Self::En, ErrorCode::BadJson) => "The relay did not understand that".to_owned(),
            (Self::Ja, ErrorCode::BadText) => {
                "使えない制御文字が含まれているため届きませんでした".to_owned()
            }
            (Self::En, ErrorCode::BadText) => {
                "Not delivered: the text holds a control character".to_owned()
            }
            (Self::Ja, ErrorCode::NotHost) => "先生だけができる操作です".to_owned(),
            (Self::En, ErrorCode::NotHost) => "Only the teacher can do that".to_owned(),
            (Self::Ja, ErrorCode::NotAllowed) => {
                "届きませんでした: 先生が今は許可していません".to_owned()
            }
            (Self::En, ErrorCode::NotAllowed) => {
                "Not delivered: the teacher does not allow that just now".to_owned()
            }
            // A code this version does not know (or one added later): the relay's sentence.
            (Self::Ja, _) => format!("サーバーのエラー: {message}"),
            (Self::En, _) => format!("Error from the relay: {message}"),
        }
    }

    /// A reason the relay gave for closing or refusing, in this language when it is one the
    /// relay is known to send (its close reasons and the join-code lock-out); else as sent.
    pub fn relay_reason(self, why: &str) -> String {
        let known = [
            (
                Close::TooBig.reason(),
                "メッセージが大きすぎます",
                "message too big",
            ),
            (
                Close::TooSlow.reason(),
                "メッセージを受け取れていませんでした",
                "messages were not being read",
            ),
            (
                Close::Replaced.reason(),
                "この接続は別の接続に引き継がれました",
                "this session continued on another connection",
            ),
            ("code 1009", "メッセージが大きすぎます", "message too big"),
            (
                "code 1013",
                "メッセージを受け取れていませんでした",
                "messages were not being read",
            ),
        ];
        if let Some((_, ja, en)) = known.iter().find(|(sent, _, _)| *sent == why) {
            return match self {
                Self::Ja => (*ja).to_owned(),
                Self::En => (*en).to_owned(),
            };
        }
        if why.contains("wrong join code") {
            return match self {
                Self::Ja => {
                    "参加コードの間違いが多すぎます。1分待ってからやり直してください".to_owned()
                }
                Self::En => "too many wrong join codes; wait a minute and try again".to_owned(),
            };
        }
        why.to_owned()
    }

    /// A message that could not be sent while disconnected.
    pub fn not_sent(self, line: &str) -> String {
        match self {
            Self::Ja => format!("未接続のため送信できませんでした: {line}"),
            Self::En => format!("Not sent (not connected): {line}"),
        }
    }

    /// Context menu of a log row: copy one of its links.
    pub fn copy_this_link(self, url: &str) -> String {
        let shown: String = url.chars().take(60).collect();
        let more = if url.chars().count() > 60 { "…" } else { "" };
        match self {
            Self::Ja => format!("リンクをコピー: {shown}{more}"),
            Self::En => format!("Copy link: {shown}{more}"),
        }
    }

    /// The question before a kick.
    pub fn confirm_kick(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("{peer_id} さんをチャットから退出させますか?"),
            Self::En => format!("Remove {peer_id} from the chat?"),
        }
    }

    /// The host removed someone (a log line).
    pub fn kicked(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("{peer_id} さんを退出させました"),
            Self::En => format!("You removed {peer_id} from the chat"),
        }
    }

    /// The host muted or unmuted someone (a log line).
    pub fn muted_note(self, peer_id: &str, muted: bool) -> String {
        match (self, muted) {
            (Self::Ja, true) => format!("{peer_id} さんをミュートしました"),
            (Self::Ja, false) => format!("{peer_id} さんのミュートを解除しました"),
            (Self::En, true) => format!("You muted {peer_id}"),
            (Self::En, false) => format!("You unmuted {peer_id}"),
        }
    }

    /// Why the Send button is disabled.
    pub fn cannot_send(self, state: &str) -> String {
        match self {
            Self::Ja => format!("送信できません — {state}"),
            Self::En => format!("Cannot send — {state}"),
        }
    }

    /// Someone joined.
    pub fn joined(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("{peer_id} さんが参加しました"),
            Self::En => format!("{peer_id} joined"),
        }
    }

    /// Several people joined one after another (one log row); `shown` names at most.
    pub fn many_joined(self, ids: &[String], shown: usize) -> String {
        let names = name_list(ids, shown);
        match self {
            Self::Ja => format!("{} 人が参加しました: {names}", ids.len()),
            Self::En => format!("{} people joined: {names}", ids.len()),
        }
    }

    /// Several people left one after another (one log row); `shown` names at most.
    pub fn many_left(self, ids: &[String], shown: usize) -> String {
        let names = name_list(ids, shown);
        match self {
            Self::Ja => format!("{} 人が退出しました: {names}", ids.len()),
            Self::En => format!("{} people left: {names}", ids.len()),
        }
    }

    /// Someone left.
    pub fn left(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("{peer_id} さんが退出しました"),
            Self::En => format!("{peer_id} left"),
        }
    }

    /// The typed ID is not in the roster.
    pub fn unknown_id(self, peer_id: &str) -> String {
        match self {
            Self::Ja => format!("「{peer_id}」というIDの人は接続していません"),
            Self::En => format!("Nobody with the ID “{peer_id}” is connected"),
        }
    }

    /// The "N new messages ↓" button.
    pub fn new_messages(self, count: usize) -> String {
        match self {
            Self::Ja => format!("新着メッセージ {count} 件 ↓"),
            Self::En if count == 1 => "1 new message ↓".to_owned(),
            Self::En => format!("{count} new messages ↓"),
        }
    }

    /// Where a transcript was written.
    pub fn saved_to(self, path: &str) -> String {
        match self {
            Self::Ja => format!("会話記録を保存しました: {path}"),
            Self::En => format!("Transcript saved to {path}"),
        }
    }

    /// A transcript could not be written.
    pub fn save_failed(self, why: &str) -> String {
        match self {
            Self::Ja => format!("保存できませんでした: {why}(会話記録は消えていません)"),
            Self::En => format!("Could not save the transcript: {why} (nothing was lost)"),
        }
    }

    /// A quiet note on the host panel.
    pub fn host_note(self, note: &HostNote) -> String {
        match (self, note) {
            (Self::Ja, HostNote::NotAnnounced(why)) => format!(
                "ネットワーク内に公開できませんでした({why})。生徒はアドレスを入力すれば参加できます。"
            ),
            (Self::En, HostNote::NotAnnounced(why)) => format!(
                "Not announced on the local network ({why}). Students can still type the address."
            ),
            (Self::Ja, HostNote::NoJournal(why)) => {
                format!("セッション記録を作成できませんでした({why})。チャットは使えます。")
            }
            (Self::En, HostNote::NoJournal(why)) => {
                format!("No session journal ({why}). The chat works as usual.")
            }
            (Self::Ja, HostNote::JournalFailing(why)) => format!(
                "セッション記録を書き込めません({why})。チャットは使えますが、記録が欠けます。"
            ),
            (Self::En, HostNote::JournalFailing(why)) => format!(
                "The session journal cannot be written ({why}). The chat works, but the record has gaps."
            ),
            (Self::Ja, HostNote::JournalTrimmed) => {
                "セッション記録が上限に達したため、新しい部分だけを残しています。".to_owned()
            }
            (Self::En, HostNote::JournalTrimmed) => {
                "The session journal reached its size limit: only its newest part is kept."
                    .to_owned()
            }
        }
    }

    /// What a screen reader says for the QR code.
    pub fn qr_label(self, link: &str) -> String {
        match self {
            Self::Ja => format!("参加用リンクのQRコード: {link}"),
            Self::En => format!("QR code of the join link: {link}"),
        }
    }

    /// The relay's counters other than the clients, one line each.
    pub fn stats_lines(self, stats: &Stats) -> [String; 4] {
        match self {
            Self::Ja => [
                format!("中継したメッセージ: {}", stats.messages),
                format!("拒否した接続: {}", stats.refused),
                format!("遅延で切断: {}", stats.dropped_slow),
                format!("送信制限: {}", stats.rate_limited),
            ],
            Self::En => [
                format!("Messages relayed: {}", stats.messages),
                format!("Connections refused: {}", stats.refused),
                format!("Cut off for not reading: {}", stats.dropped_slow),
                format!("Rate limited: {}", stats.rate_limited),
            ],
        }
    }

    /// The previous session on the start screen: when it started and how many lines it has.
    pub fn previous_session(self, when: &str, lines: usize) -> String {
        match self {
            Self::Ja => format!("前回のセッション: {when} から、{lines} 行"),
            Self::En if lines == 1 => format!("Previous session: {when}, 1 line"),
            Self::En => format!("Previous session: {when}, {lines} lines"),
        }
    }

    /// The hint under the message box for a line that was not sent.
    pub fn input_hint(self, error: &InputError) -> String {
        let s = self.s();
        match error {
            InputError::MissingSlash => s.need_slash.to_owned(),
            InputError::EmptyRecipient => s.need_id.to_owned(),
            InputError::EmptyText => s.need_text.to_owned(),
            InputError::UnknownId(peer_id) => self.unknown_id(peer_id),
            InputError::Forbidden(forbidden) => self.forbidden_reason(*forbidden).to_owned(),
        }
    }

    /// Why hosting did not start.
    pub fn host_error(self, error: &HostError) -> String {
        match error {
            HostError::PortInUse(port) => self.port_in_use(*port),
            HostError::Listen { port, source } => self.cannot_listen(*port, &source.to_string()),
            HostError::Stopped => self.s().runtime_stopped.to_owned(),
            HostError::Config(e) => e.to_string(),
            HostError::Tls(e) => self.tls_error(e),
        }
    }

    /// Why the certificate or key for hosting with TLS cannot be used.
    pub fn tls_error(self, error: &TlsError) -> String {
        match (self, error) {
            (Self::Ja, TlsError::Read { path, source }) => {
                format!("{} を読めません ({source})", path.display())
            }
            (Self::En, TlsError::Read { path, source }) => {
                format!("Cannot read {} ({source})", path.display())
            }
            (Self::Ja, TlsError::NoCertificate { path }) => {
                format!("{} に PEM 形式の証明書がありません", path.display())
            }
            (Self::En, TlsError::NoCertificate { path }) => {
                format!("{} holds no PEM certificate", path.display())
            }
            (Self::Ja, TlsError::NoKey { path }) => {
                format!("{} に PEM 形式の秘密鍵がありません", path.display())
            }
            (Self::En, TlsError::NoKey { path }) => {
                format!("{} holds no PEM private key", path.display())
            }
            (Self::Ja, TlsError::BadPem { path, reason }) => {
                format!("{} は正しい PEM ではありません ({reason})", path.display())
            }
            (Self::En, TlsError::BadPem { path, reason }) => {
                format!("{} is not valid PEM ({reason})", path.display())
            }
            (Self::Ja, TlsError::KeyMismatch { cert, key }) => format!(
                "{} の秘密鍵は {} の証明書のものではありません",
                key.display(),
                cert.display()
            ),
            (Self::En, TlsError::KeyMismatch { cert, key }) => format!(
                "The private key in {} does not belong to the certificate in {}",
                key.display(),
                cert.display()
            ),
            (Self::Ja, other) => format!("証明書が使えません ({other})"),
            (Self::En, other) => format!("The certificate cannot be used ({other})"),
        }
    }

    /// Why the address typed on the start screen cannot be joined.
    pub fn address_error(self, error: &AddressError) -> String {
        match (self, error) {
            (Self::Ja, AddressError::Empty) => {
                "先生のアドレスを入力してください(例: 192.168.1.20 または 192.168.1.20:30005)"
                    .to_owned()
            }
            (Self::En, AddressError::Empty) => {
                "Type the host's address, for example 192.168.1.20 or 192.168.1.20:30005".to_owned()
            }
            (Self::Ja, AddressError::Invalid(address)) => {
                format!("「{address}」はアドレスではありません(例: 192.168.1.20:30005)")
            }
            (Self::En, AddressError::Invalid(address)) => {
                format!("“{address}” is not an address (try 192.168.1.20:30005)")
            }
            (Self::Ja, AddressError::UnsupportedScheme(scheme)) => {
                format!(
                    "ws://・wss://・http://・https:// のアドレスだけが使えます({scheme}:// は使えません)"
                )
            }
            (Self::En, AddressError::UnsupportedScheme(scheme)) => {
                format!(
                    "Only ws://, wss://, http:// and https:// addresses are supported, not {scheme}://"
                )
            }
        }
    }

    /// The save dialog for a transcript of a chat at `ts` (Unix ms).
    pub fn save_dialog(self, ts: u64) -> SaveDialog {
        let s = self.s();
        let stamp = super::log::local_time(ts, "%Y%m%d-%H%M");
        SaveDialog {
            title: s.save_transcript.trim_end_matches('…').to_owned(),
            file_name: format!("classchat-{stamp}.txt"),
            filters: vec![
                (s.filter_text.to_owned(), vec!["txt".to_owned()]),
                (s.filter_csv.to_owned(), vec!["csv".to_owned()]),
            ],
        }
    }

    /// The dialog choosing the certificate or key for hosting with TLS.
    pub fn tls_file_dialog(self, which: TlsFile) -> SaveDialog {
        let s = self.s();
        let title = match which {
            TlsFile::Cert => s.pick_cert_title,
            TlsFile::Key => s.pick_key_title,
            TlsFile::Ca => s.pick_ca_title,
        };
        SaveDialog {
            title: title.to_owned(),
            file_name: String::new(),
            filters: vec![(
                s.filter_pem.to_owned(),
                ["pem", "crt", "cer", "key"].map(str::to_owned).to_vec(),
            )],
        }
    }

    /// "Connected since 10:42".
    pub fn since(self, time: &str) -> String {
        match self {
            Self::Ja => format!("{time} から"),
            Self::En => format!("since {time}"),
        }
    }

    /// Why the room's modes (or a closed poll) keep a student from sending this.
    pub fn forbidden_reason(self, forbidden: Forbidden) -> &'static str {
        match (self, forbidden) {
            (Self::Ja, Forbidden::Everyone) => {
                "先生が全員へのメッセージを止めています。先生あてには送れます"
            }
            (Self::En, Forbidden::Everyone) => {
                "The teacher has turned off messages to everyone; you can still write to the teacher"
            }
            (Self::Ja, Forbidden::Private) => {
                "先生が生徒どうしの個別メッセージを止めています。先生あてには送れます"
            }
            (Self::En, Forbidden::Private) => {
                "The teacher has turned off private messages between students; you can still write to the teacher"
            }
            (Self::Ja, Forbidden::PollClosed) => "このアンケートはもう締め切られています",
            (Self::En, Forbidden::PollClosed) => "This poll is already closed",
        }
    }

    /// A refusal because of the room's modes or a closed poll, for the log.
    pub fn forbidden(self, forbidden: Forbidden) -> String {
        let reason = self.forbidden_reason(forbidden);
        match self {
            Self::Ja => format!("届きませんでした: {reason}"),
            Self::En => format!("Not delivered: {reason}"),
        }
    }

    /// Near a student's message box: what the room's modes do not allow now.
    pub fn modes_notice(self, modes: RoomModes) -> Option<&'static str> {
        match (self, modes.student_broadcast, modes.student_private) {
            (_, true, true) => None,
            (Self::Ja, false, true) => Some("全員へのメッセージは止められています(先生・個別は可)"),
            (Self::En, false, true) => {
                Some("Messages to everyone are turned off (to the teacher or privately: allowed)")
            }
            (Self::Ja, true, false) => Some("生徒どうしの個別メッセージは止められています"),
            (Self::En, true, false) => Some("Private messages between students are turned off"),
            (Self::Ja, false, false) => Some("先生あてにだけ書けます"),
            (Self::En, false, false) => Some("You can write only to the teacher"),
        }
    }

    /// What the host did to the room, as a log and transcript line.
    pub fn classroom(self, record: &JournalRecord) -> String {
        let numbered = |options: &[String], counts: Option<&[u32]>| {
            options
                .iter()
                .enumerate()
                .map(|(i, option)| match counts.and_then(|c| c.get(i)) {
                    Some(count) => format!("{}) {option}: {count}", i + 1),
                    None => format!("{}) {option}", i + 1),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        match (self, record) {
            (
                Self::Ja,
                JournalRecord::Poll {
                    poll,
                    question,
                    options,
                },
            ) => {
                format!(
                    "アンケート {poll} 開始: {question} {}",
                    numbered(options, None)
                )
            }
            (
                Self::En,
                JournalRecord::Poll {
                    poll,
                    question,
                    options,
                },
            ) => {
                format!("Poll {poll} opened: {question} {}", numbered(options, None))
            }
            (
                Self::Ja,
                JournalRecord::PollResult {
                    poll,
                    question,
                    options,
                    counts,
                },
            ) => {
                format!(
                    "アンケート {poll} 結果: {question} {}",
                    numbered(options, Some(counts))
                )
            }
            (
                Self::En,
                JournalRecord::PollResult {
                    poll,
                    question,
                    options,
                    counts,
                },
            ) => {
                format!(
                    "Poll {poll} results: {question} {}",
                    numbered(options, Some(counts))
                )
            }
            (Self::Ja, JournalRecord::Pinned { text }) if text.is_empty() => {
                "固定メッセージが外されました".to_owned()
            }
            (Self::En, JournalRecord::Pinned { text }) if text.is_empty() => {
                "The pinned message was removed".to_owned()
            }
            (Self::Ja, JournalRecord::Pinned { text }) => format!("固定メッセージ: {text}"),
            (Self::En, JournalRecord::Pinned { text }) => format!("Pinned: {text}"),
            (
                _,
                JournalRecord::Room {
                    student_broadcast,
                    student_private,
                },
            ) => {
                let on_off = |on: &bool| match (self, on) {
                    (Self::Ja, true) => "可",
                    (Self::Ja, false) => "不可",
                    (Self::En, true) => "on",
                    (Self::En, false) => "off",
                };
                let s = self.s();
                format!(
                    "{}: {} — {}; {} — {}",
                    s.modes_title,
                    s.mode_broadcast,
                    on_off(student_broadcast),
                    s.mode_private,
                    on_off(student_private)
                )
            }
        }
    }

    /// How many hands are up (the host's badge and title).
    pub fn hands_up(self, count: usize) -> String {
        match self {
            Self::Ja => format!("✋ 挙手 {count}"),
            Self::En if count == 1 => "✋ 1 hand up".to_owned(),
            Self::En => format!("✋ {count} hands up"),
        }
    }

    /// How long a hand has been up.
    pub fn waiting(self, secs: u64) -> String {
        match (self, secs) {
            (Self::Ja, 0..60) => format!("{secs} 秒"),
            (Self::Ja, _) => format!("{} 分", secs / 60),
            (Self::En, 0..60) => format!("{secs} s"),
            (Self::En, _) => format!("{} min", secs / 60),
        }
    }

    /// Label of the poll draft's answer field `n` (from 1).
    pub fn option_n(self, n: usize) -> String {
        match self {
            Self::Ja => format!("選択肢 {n}"),
            Self::En => format!("Option {n}"),
        }
    }

    /// One bar of the poll chart: the answer and its votes.
    pub fn tally_line(self, option: &str, count: u32) -> String {
        match (self, count) {
            (Self::Ja, _) => format!("{option}: {count} 票"),
            (Self::En, 1) => format!("{option}: 1 vote"),
            (Self::En, _) => format!("{option}: {count} votes"),
        }
    }

    /// How many people voted.
    pub fn voters(self, count: u32) -> String {
        match (self, count) {
            (Self::Ja, _) => format!("投票した人: {count} 人"),
            (Self::En, 1) => "1 person voted".to_owned(),
            (Self::En, _) => format!("{count} people voted"),
        }
    }

    /// The student's own choice on the poll card.
    pub fn you_voted(self, option: &str) -> String {
        match self {
            Self::Ja => format!("あなたの回答: {option}"),
            Self::En => format!("You voted: {option}"),
        }
    }
}

/// `a, b, c +N`: the first `shown` names and how many more.
fn name_list(ids: &[String], shown: usize) -> String {
    let mut names = ids
        .iter()
        .take(shown)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > shown {
        names.push_str(&format!(" +{}", ids.len() - shown));
    }
    names
}

/// The fixed strings of one language.
#[derive(Debug)]
pub struct Strings {
    /// App tagline on the start screen.
    pub tagline: &'static str,
    /// Host card heading.
    pub host_title: &'static str,
    /// Host card explanation.
    pub host_help: &'static str,
    /// Port field label.
    pub port: &'static str,
    /// Join code field label.
    pub join_code: &'static str,
    /// Join code hint.
    pub join_code_hint: &'static str,
    /// Generate button.
    pub generate: &'static str,
    /// Host name field label.
    pub host_name: &'static str,
    /// Start hosting button.
    pub start_hosting: &'static str,
    /// Join card heading.
    pub join_title: &'static str,
    /// Join card explanation.
    pub join_help: &'static str,
    /// Address field label.
    pub address: &'static str,
    /// Address hint.
    pub address_hint: &'static str,
    /// Name field label.
    pub your_name: &'static str,
    /// Name hint.
    pub name_hint: &'static str,
    /// Join button.
    pub join: &'static str,
    /// Cancel button.
    pub cancel: &'static str,
    /// A port that is not a number.
    pub bad_port: &'static str,
    /// Starting the relay.
    pub starting: &'static str,
    /// Language switcher label.
    pub language: &'static str,
    /// Host panel heading.
    pub students_type: &'static str,
    /// Join code heading on the host panel.
    pub join_code_title: &'static str,
    /// No join code set.
    pub no_join_code: &'static str,
    /// Copy button.
    pub copy: &'static str,
    /// Copied tooltip.
    pub copy_hint: &'static str,
    /// Stop hosting button.
    pub stop_hosting: &'static str,
    /// Leave button.
    pub leave: &'static str,
    /// Back to the start screen after a disconnect.
    pub back: &'static str,
    /// Save transcript button.
    pub save_transcript: &'static str,
    /// Roster heading.
    pub roster: &'static str,
    /// Own entry marker.
    pub you: &'static str,
    /// Muted marker.
    pub muted: &'static str,
    /// No roster on a legacy server.
    pub no_roster: &'static str,
    /// Write-to button.
    pub write_to: &'static str,
    /// Mute button.
    pub mute: &'static str,
    /// Unmute button.
    pub unmute: &'static str,
    /// Kick button.
    pub kick: &'static str,
    /// Message field label.
    pub message: &'static str,
    /// Message field hint.
    pub message_hint: &'static str,
    /// Send button.
    pub send: &'static str,
    /// Hint for text without a slash.
    pub need_slash: &'static str,
    /// Hint for an empty ID.
    pub need_id: &'static str,
    /// Hint for an empty message.
    pub need_text: &'static str,
    /// Suggestions label.
    pub suggestions: &'static str,
    /// Everyone, as a recipient.
    pub everyone: &'static str,
    /// Private message marker.
    pub private: &'static str,
    /// Connected state.
    pub connected: &'static str,
    /// Connected to a seed server.
    pub connected_legacy: &'static str,
    /// Waiting for an ID.
    pub no_id_yet: &'static str,
    /// Empty log.
    pub empty_log: &'static str,
    /// Save dialog filter: text.
    pub filter_text: &'static str,
    /// Save dialog filter: CSV.
    pub filter_csv: &'static str,
    /// Saving in progress.
    pub saving: &'static str,
    /// Host role label in the header.
    pub hosting: &'static str,
    /// Joined role label in the header.
    pub joined_role: &'static str,
    /// Room name field label.
    pub room_name: &'static str,
    /// Certificate file field label (hosting with TLS).
    pub tls_cert: &'static str,
    /// Private key file field label (hosting with TLS).
    pub tls_key: &'static str,
    /// Hint in the empty certificate field.
    pub tls_cert_hint: &'static str,
    /// Hint in the empty key field.
    pub tls_key_hint: &'static str,
    /// Button opening a file dialog.
    pub browse: &'static str,
    /// Title of the dialog choosing the certificate.
    pub pick_cert_title: &'static str,
    /// Title of the dialog choosing the key.
    pub pick_key_title: &'static str,
    /// Join card: field label of a certificate to trust.
    pub ca_cert: &'static str,
    /// Hint in the empty trusted-certificate field.
    pub ca_cert_hint: &'static str,
    /// Title of the dialog choosing a certificate to trust.
    pub pick_ca_title: &'static str,
    /// File-type filter name for PEM files.
    pub filter_pem: &'static str,
    /// Heading of the rooms found on the network.
    pub nearby_title: &'static str,
    /// No room found (yet).
    pub nearby_none: &'static str,
    /// Discovery could not start.
    pub nearby_unavailable: &'static str,
    /// A room that needs a join code.
    pub code_needed: &'static str,
    /// Tooltip of a room button.
    pub nearby_hint: &'static str,
    /// Heading of the browser join link.
    pub browser_link: &'static str,
    /// Copy link button.
    pub copy_link: &'static str,
    /// Show the QR code on the projector.
    pub show_qr: &'static str,
    /// Leave the projector view.
    pub close_projector: &'static str,
    /// The link does not fit in a QR code.
    pub qr_too_long: &'static str,
    /// Heading of the relay's counters.
    pub relay_counters: &'static str,
    /// View the previous session.
    pub view_previous: &'static str,
    /// Marker of the previous session's view.
    pub read_only: &'static str,
    /// The host's name in the chat on first run.
    pub default_host_name: &'static str,
    /// The room name announced on first run.
    pub default_room_name: &'static str,
    /// Hosting did not answer because the background runtime stopped.
    pub runtime_stopped: &'static str,
    /// Divider above messages replayed from the relay's history.
    pub earlier_messages: &'static str,
    /// Divider above the first live message after replayed ones.
    pub new_messages: &'static str,
    /// A reconnect that continued the session: nothing was missed.
    pub resumed: &'static str,
    /// A reconnect that could not continue the session.
    pub messages_may_be_missing: &'static str,
    /// Heading of the messages sent but not yet confirmed.
    pub sending: &'static str,
    /// Marks a chat found on the LAN whose address is not on this computer's own network.
    pub other_network: &'static str,
    /// Heading of the people the host removed.
    pub removed_title: &'static str,
    /// Button that lets a removed person back in.
    pub readmit: &'static str,
    /// A copy button just after it copied.
    pub copied: &'static str,
    /// The status line after something was copied.
    pub copied_status: &'static str,
    /// Context menu of a log row: copy its text.
    pub copy_message: &'static str,
    /// Under the message box: what Enter and Shift+Enter do.
    pub compose_keys: &'static str,
    /// The question before Stop hosting.
    pub confirm_stop: &'static str,
    /// Header of a hosted chat that was stopped (its log still shows).
    pub session_ended: &'static str,
    /// No save dialog could be shown.
    pub no_dialog: &'static str,
    /// The fallback when no save dialog can be shown.
    pub save_to_documents: &'static str,
    /// The roster's search field (its hint and accessible name).
    pub search_roster: &'static str,
    /// The roster's search matched nobody.
    pub nobody_found: &'static str,
    /// The header on a server that assigns no ID.
    pub no_id_server: &'static str,
    /// Over the message box of a muted student.
    pub muted_banner: &'static str,
    /// The relay refused the join code after the chat was joined.
    pub code_changed: &'static str,
    /// Button: join the same chat with the new code.
    pub join_again: &'static str,
    /// Marks a message written in the broadcast room (`/ws_multi_client`).
    pub broadcast_room: &'static str,
    /// Host key field label on the Join screen.
    pub host_key: &'static str,
    /// Host key field hint.
    pub host_key_hint: &'static str,
    /// A hand, vote or host control could not be sent.
    pub action_not_sent: &'static str,
    /// The teacher badge on host messages and roster rows.
    pub teacher: &'static str,
    /// Heading of the raised-hands queue.
    pub hands_title: &'static str,
    /// The queue is empty.
    pub no_hands: &'static str,
    /// Host: lower someone's hand.
    pub lower_hand: &'static str,
    /// Student: raise the own hand.
    pub raise_hand: &'static str,
    /// Student: lower the own hand.
    pub lower_my_hand: &'static str,
    /// Student: the own hand is up.
    pub hand_is_up: &'static str,
    /// Heading of the poll builder and poll card.
    pub poll_title: &'static str,
    /// The poll's question field.
    pub poll_question: &'static str,
    /// Adds an answer field to the poll draft.
    pub add_option: &'static str,
    /// Removes the last answer field.
    pub remove_option: &'static str,
    /// Opens the drafted poll.
    pub open_poll: &'static str,
    /// Closes the open poll.
    pub close_poll: &'static str,
    /// Why Open is disabled.
    pub poll_needs: &'static str,
    /// Heading over a closed poll's result.
    pub poll_result: &'static str,
    /// Marks the open poll.
    pub poll_open: &'static str,
    /// Under the poll card's buttons.
    pub vote_changeable: &'static str,
    /// Heading of the pin controls.
    pub pin_title: &'static str,
    /// The pin text field.
    pub pin_field: &'static str,
    /// Pins the text.
    pub pin: &'static str,
    /// Removes the pinned message.
    pub unpin: &'static str,
    /// Leads the pinned banner.
    pub pinned_label: &'static str,
    /// Heading of the room modes.
    pub modes_title: &'static str,
    /// Toggle: students may write to everyone.
    pub mode_broadcast: &'static str,
    /// Toggle: students may write privately to each other.
    pub mode_private: &'static str,
    /// Heading of a joined host's panel.
    pub host_controls: &'static str,
    /// The host panel's tab with the addresses, code and QR code.
    pub tab_join: &'static str,
    /// The host panel's tab with modes, poll and pin.
    pub tab_classroom: &'static str,
}

/// Japanese.
pub static JA: Strings = Strings {
    tagline: "教室のためのチャット — ネットワーク内だけで動きます",
    host_title: "チャットを開く(先生)",
    host_help: "このコンピューターでチャットを始めます。生徒は表示されるアドレスで参加します。",
    port: "ポート",
    join_code: "参加コード",
    join_code_hint: "なし(だれでも参加可)",
    generate: "生成",
    host_name: "あなたの名前",
    start_hosting: "チャットを開始",
    join_title: "チャットに参加(生徒)",
    join_help: "下の一覧からクラスのチャットを選ぶか、先生の画面に表示されているアドレスを入力してください。",
    address: "アドレス",
    address_hint: "例: 192.168.1.20 または 192.168.1.20:30005",
    your_name: "名前(任意)",
    name_hint: "例: 花子",
    join: "参加",
    cancel: "キャンセル",
    bad_port: "ポートは 1〜65535 の数字で入力してください",
    starting: "開始中…",
    language: "言語",
    students_type: "生徒が入力するアドレス",
    join_code_title: "参加コード",
    no_join_code: "(なし)",
    copy: "コピー",
    copy_hint: "クリップボードにコピー",
    stop_hosting: "チャットを終了",
    leave: "退出",
    back: "最初の画面へ",
    save_transcript: "会話記録を保存…",
    roster: "参加者",
    you: "あなた",
    muted: "ミュート中",
    no_roster: "このサーバーは参加者の一覧を送りません(旧形式のサーバー)",
    write_to: "宛先に",
    mute: "ミュート",
    unmute: "ミュート解除",
    kick: "退出させる",
    message: "メッセージ",
    message_hint: "ID/メッセージ (全員へは */メッセージ)",
    send: "送信",
    need_slash: "「ID/メッセージ」の形で入力してください(例: client1/こんにちは、全員へは */こんにちは)",
    need_id: "/ の前に相手のIDを入力してください",
    need_text: "/ の後にメッセージを入力してください",
    suggestions: "宛先の候補 (Tab):",
    everyone: "全員",
    private: "個別",
    connected: "接続済み",
    connected_legacy: "接続済み(旧形式のサーバー: 参加者一覧なし)",
    no_id_yet: "あなたのID: (未割り当て)",
    empty_log: "まだメッセージはありません。",
    filter_text: "テキスト",
    filter_csv: "CSV",
    saving: "保存中…",
    hosting: "ホスト",
    joined_role: "参加中",
    room_name: "部屋の名前",
    tls_cert: "証明書",
    tls_key: "秘密鍵",
    tls_cert_hint: "任意 (PEM, https 用)",
    tls_key_hint: "空欄: 同じファイル",
    browse: "選択…",
    pick_cert_title: "証明書を選択 (PEM)",
    pick_key_title: "秘密鍵を選択 (PEM)",
    ca_cert: "信頼する証明書",
    ca_cert_hint: "任意 (PEM, 自己署名の https 用)",
    pick_ca_title: "信頼する証明書を選択 (PEM)",
    filter_pem: "PEM ファイル",
    nearby_title: "このネットワークのチャット",
    nearby_none: "見つかっていません。アドレスを入力してください。",
    nearby_unavailable: "ネットワーク内の検索は使えません。アドレスを入力してください",
    code_needed: "参加コードが必要",
    nearby_hint: "クリックするとアドレスが入力されます",
    browser_link: "ブラウザで参加するリンク",
    copy_link: "リンクをコピー",
    show_qr: "QRコードを大きく表示",
    close_projector: "閉じる",
    qr_too_long: "リンクが長すぎてQRコードにできません",
    relay_counters: "サーバーの状態",
    view_previous: "表示",
    read_only: "(閲覧のみ)",
    default_host_name: "先生",
    default_room_name: "教室のチャット",
    runtime_stopped: "バックグラウンドの処理が止まりました",
    earlier_messages: "── 以前のメッセージ ──",
    new_messages: "── 新しいメッセージ ──",
    resumed: "再接続しました。見逃したメッセージはすべて表示されています。",
    messages_may_be_missing: "再接続しましたが、一部のメッセージが表示されていない可能性があります。",
    sending: "送信中…",
    other_network: "別のネットワーク",
    removed_title: "退出させた人",
    readmit: "参加を許可",
    copied: "コピーしました ✓",
    copied_status: "クリップボードにコピーしました",
    copy_message: "メッセージをコピー",
    compose_keys: "Enter で送信、Shift+Enter で改行",
    confirm_stop: "チャットを終了しますか?全員の接続が切れます。会話の記録はこの画面に残ります。",
    session_ended: "チャットは終了しました",
    no_dialog: "ファイルを選ぶ画面を開けませんでした。",
    save_to_documents: "書類フォルダーに保存",
    search_roster: "名前で検索",
    nobody_found: "見つかりません",
    no_id_server: "このサーバーはIDを割り当てません",
    broadcast_room: "全体ルーム",
    code_changed: "ホストが参加コードを変えました。新しいコードを入力してください(ログは残ります)",
    join_again: "もう一度参加",
    muted_banner: "ホストがあなたをミュートしています。送ったメッセージは届きません(入力した文は残してあります)",
    host_key: "ホストキー(先生のみ)",
    host_key_hint: "空欄で生徒として参加",
    action_not_sent: "未接続のため送信できませんでした(挙手・投票・操作)",
    teacher: "先生",
    hands_title: "挙手",
    no_hands: "挙手している人はいません",
    lower_hand: "下ろす",
    raise_hand: "✋ 手を挙げる",
    lower_my_hand: "手を下ろす",
    hand_is_up: "手を挙げています — 先生に見えています",
    poll_title: "アンケート",
    poll_question: "質問",
    add_option: "選択肢を追加",
    remove_option: "選択肢を減らす",
    open_poll: "アンケートを開始",
    close_poll: "締め切る",
    poll_needs: "質問と2つ以上の選択肢を入力してください",
    poll_result: "結果",
    poll_open: "受付中",
    vote_changeable: "締め切りまで何度でも選び直せます",
    pin_title: "固定メッセージ",
    pin_field: "固定する文",
    pin: "固定する",
    unpin: "固定を外す",
    pinned_label: "📌 固定:",
    modes_title: "教室のルール",
    mode_broadcast: "生徒が全員に書ける",
    mode_private: "生徒どうしで個別に書ける",
    host_controls: "先生の操作",
    tab_join: "参加のしかた",
    tab_classroom: "授業の操作",
};

/// English.
pub static EN: Strings = Strings {
    tagline: "Chat for the classroom — stays on your local network",
    host_title: "Host a chat (teacher)",
    host_help: "Start a chat on this computer. Students join with the address shown next.",
    port: "Port",
    join_code: "Join code",
    join_code_hint: "none (anyone may join)",
    generate: "Generate",
    host_name: "Your name",
    start_hosting: "Start hosting",
    join_title: "Join a chat (student)",
    join_help: "Pick your class's chat below, or type the address shown on the teacher's screen.",
    address: "Address",
    address_hint: "e.g. 192.168.1.20 or 192.168.1.20:30005",
    your_name: "Name (optional)",
    name_hint: "e.g. Hanako",
    join: "Join",
    cancel: "Cancel",
    bad_port: "The port must be a number from 1 to 65535",
    starting: "Starting…",
    language: "Language",
    students_type: "Students type one of these addresses",
    join_code_title: "Join code",
    no_join_code: "(none)",
    copy: "Copy",
    copy_hint: "Copy to the clipboard",
    stop_hosting: "Stop hosting",
    leave: "Leave",
    back: "Back to start",
    save_transcript: "Save transcript…",
    roster: "People",
    you: "you",
    muted: "muted",
    no_roster: "This server does not send the list of people (legacy server)",
    write_to: "Write to",
    mute: "Mute",
    unmute: "Unmute",
    kick: "Kick",
    message: "Message",
    message_hint: "id/message (*/message for everyone)",
    send: "Send",
    need_slash: "Write id/message (for example client1/hello), or */message for everyone",
    need_id: "Type the ID before the /",
    need_text: "Type a message after the /",
    suggestions: "Send to (Tab):",
    everyone: "everyone",
    private: "private",
    connected: "Connected",
    connected_legacy: "Connected to a legacy server (no list of others)",
    no_id_yet: "Your ID: (not yet assigned)",
    empty_log: "No messages yet.",
    filter_text: "Text",
    filter_csv: "CSV",
    saving: "Saving…",
    hosting: "Hosting",
    joined_role: "Joined",
    room_name: "Room name",
    tls_cert: "Certificate",
    tls_key: "Private key",
    tls_cert_hint: "optional (PEM, for https)",
    tls_key_hint: "empty: the same file",
    browse: "Browse…",
    pick_cert_title: "Choose the certificate (PEM)",
    pick_key_title: "Choose the private key (PEM)",
    ca_cert: "Trusted certificate",
    ca_cert_hint: "optional (PEM, for a self-signed https host)",
    pick_ca_title: "Choose the certificate to trust (PEM)",
    filter_pem: "PEM files",
    nearby_title: "Chats on this network",
    nearby_none: "None found yet. Type the address below.",
    nearby_unavailable: "Searching the network is not available. Type the address",
    code_needed: "join code needed",
    nearby_hint: "Click to fill in the address",
    browser_link: "Join from a browser",
    copy_link: "Copy link",
    show_qr: "Show QR code large",
    close_projector: "Close",
    qr_too_long: "The link is too long for a QR code",
    relay_counters: "Relay",
    view_previous: "View",
    read_only: "(read-only)",
    default_host_name: "Teacher",
    default_room_name: "Class chat",
    runtime_stopped: "the background runtime stopped",
    earlier_messages: "── earlier messages ──",
    new_messages: "── new messages ──",
    resumed: "Reconnected: every message you missed is shown.",
    messages_may_be_missing: "Reconnected, but some messages may be missing.",
    sending: "Sending…",
    other_network: "another network",
    removed_title: "Removed",
    readmit: "Let back in",
    copied: "Copied ✓",
    copied_status: "Copied to the clipboard",
    copy_message: "Copy message",
    compose_keys: "Enter sends, Shift+Enter starts a new line",
    confirm_stop: "Stop hosting? Every student is disconnected. The log stays on screen.",
    session_ended: "The chat has ended",
    no_dialog: "No file dialog could be opened.",
    save_to_documents: "Save to the Documents folder",
    search_roster: "Search names",
    nobody_found: "Nobody found",
    no_id_server: "This server assigns no IDs",
    broadcast_room: "broadcast room",
    code_changed: "The host changed the join code. Type the new code to join again (the log stays)",
    join_again: "Join again",
    muted_banner: "The host has muted you: your messages are not delivered (your text is kept)",
    host_key: "Host key (teachers only)",
    host_key_hint: "leave empty to join as a student",
    action_not_sent: "Not sent (not connected): the hand, vote or control",
    teacher: "Teacher",
    hands_title: "Raised hands",
    no_hands: "No hands up",
    lower_hand: "Lower",
    raise_hand: "✋ Raise hand",
    lower_my_hand: "Lower my hand",
    hand_is_up: "Your hand is up — the teacher sees it",
    poll_title: "Quick poll",
    poll_question: "Question",
    add_option: "Add option",
    remove_option: "Remove option",
    open_poll: "Open poll",
    close_poll: "Close poll",
    poll_needs: "Type a question and at least two options",
    poll_result: "Result",
    poll_open: "Open",
    vote_changeable: "You can change your vote until the poll closes",
    pin_title: "Pinned message",
    pin_field: "Text to pin",
    pin: "Pin",
    unpin: "Unpin",
    pinned_label: "📌 Pinned:",
    modes_title: "Room",
    mode_broadcast: "Students may write to everyone",
    mode_private: "Students may write privately to each other",
    host_controls: "Teacher's controls",
    tab_join: "How to join",
    tab_classroom: "Class controls",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_errors_in_english_are_the_client_sentences_capitalised() {
        let errors = [
            AddressError::Empty,
            AddressError::Invalid("x y".to_owned()),
            AddressError::UnsupportedScheme("http".to_owned()),
        ];
        for error in &errors {
            let text = error.to_string();
            let mut chars = text.chars();
            let capitalised: String = chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            assert_eq!(Lang::En.address_error(error), capitalised);
            assert_ne!(Lang::Ja.address_error(error), capitalised);
        }
    }

    #[test]
    fn locale_picks_japanese() {
        assert_eq!(Lang::from_locale("ja_JP.UTF-8"), Lang::Ja);
        assert_eq!(Lang::from_locale("ja"), Lang::Ja);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
    }

    #[test]
    fn the_issue_sentences() {
        assert_eq!(
            Lang::En.port_in_use(30005),
            "Port 30005 is already in use — pick another"
        );
        assert_eq!(
            Lang::En.disconnect(&Disconnect::Unreachable("10.0.0.5:30005".into())),
            "No classchat host at 10.0.0.5:30005"
        );
        assert_eq!(
            Lang::En.disconnect(&Disconnect::WrongJoinCode),
            "Wrong join code"
        );
    }
}
