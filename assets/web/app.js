// classchat browser client: joins the addressed room with the classchat.v1 protocol.
// Received text is only ever inserted with textContent, never as HTML.
'use strict';

const TEXT = {
  ja: {
    joinTitle: 'チャットに参加', nameLabel: '名前(任意)', codeLabel: '参加コード(ある場合)',
    join: '参加', yourId: 'あなたのID:', leave: '退出', connected: '接続中', send: '送信',
    placeholder: 'ID/メッセージ(全員へは */メッセージ)', otherLang: 'English',
    connecting: '接続中…', online: '接続しました', reconnecting: (s) => `再接続まで ${s} 秒…`,
    disconnected: (r) => `切断されました: ${r}`, you: '(あなた)', everyone: '全員',
    toEveryone: '→ 全員', toPrivate: (id) => `→ ${id}`, joined: (id) => `${id} が参加しました`,
    left: (id) => `${id} が退出しました`, newMessages: (n) => `新着 ${n} 件 ↓`,
    hintSlash: '「ID/メッセージ」の形で書いてください(例: client1/こんにちは、全員へは */こんにちは)',
    hintEmpty: 'メッセージが空です', hintUnknown: (id) => `${id} という人は接続していません`,
    wrongCode: '参加コードが違います', full: 'チャットが満員です', kicked: 'ホストに退出させられました',
    stopped: 'ホストがチャットを終了しました', lost: '接続が切れました', left_: '退出しました',
    unreachable: 'ホストに接続できません',
    codeChanged: '参加コードが変わりました。先生に新しいコードを聞いて入力してください',
    tooLong: 'メッセージが長すぎたため接続が切れました', tooSlow: '通信が遅すぎたため接続が切れました',
  },
  en: {
    joinTitle: 'Join the chat', nameLabel: 'Name (optional)', codeLabel: 'Join code (if any)',
    join: 'Join', yourId: 'Your ID:', leave: 'Leave', connected: 'Connected', send: 'Send',
    placeholder: 'id/message (*/message for everyone)', otherLang: '日本語',
    connecting: 'Connecting…', online: 'Connected', reconnecting: (s) => `Reconnecting in ${s} s…`,
    disconnected: (r) => `Disconnected: ${r}`, you: '(you)', everyone: 'everyone',
    toEveryone: '→ everyone', toPrivate: (id) => `→ ${id}`, joined: (id) => `${id} joined`,
    left: (id) => `${id} left`, newMessages: (n) => `${n} new ↓`,
    hintSlash: 'Write id/message (for example client1/hello, or */hello for everyone)',
    hintEmpty: 'The message is empty', hintUnknown: (id) => `Nobody with ID ${id} is connected`,
    wrongCode: 'Wrong join code', full: 'The chat is full', kicked: 'The host removed you',
    stopped: 'The host stopped the chat', lost: 'Connection lost', left_: 'You left',
    unreachable: 'Cannot reach the host',
    codeChanged: 'The join code has changed. Ask the teacher for the new code and enter it',
    tooLong: 'A message was too long, so the connection was closed',
    tooSlow: 'The connection was too slow and was closed',
  },
};

const state = {
  lang: localStorage.getItem('classchat.lang') ||
        ((navigator.language || 'ja').toLowerCase().startsWith('ja') ? 'ja' : 'en'),
  socket: null, myId: null, roster: new Map(), unread: 0, retry: 1, wantOpen: false,
  everConnected: false, retryTimer: null,
  // The host key from the relay's "host join page" link (`?host=`), if the teacher used it.
  hostKey: '',
};

const $ = (id) => document.getElementById(id);
const t = (key, ...args) => {
  const v = TEXT[state.lang][key];
  return typeof v === 'function' ? v(...args) : v;
};

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  $('lang').textContent = t('otherLang');
  for (const li of document.querySelectorAll('#log li[data-key]')) {
    li.lastChild.textContent = t(li.dataset.key, ...JSON.parse(li.dataset.args));
  }
  renderRoster();
  renderPoll();
}

function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.state = kind;
}

function time(ts) {
  const d = new Date(ts);
  return d.toLocaleTimeString(state.lang === 'ja' ? 'ja-JP' : 'en-GB',
    { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function atBottom() {
  const log = $('log');
  return log.scrollHeight - log.scrollTop - log.clientHeight < 30;
}

function addLine(kind, parts, ts) {
  const log = $('log');
  const stick = atBottom();
  const li = document.createElement('li');
  li.className = kind;
  const when = document.createElement('span');
  when.className = 'time';
  when.textContent = time(ts || Date.now());
  li.append(when);
  if (parts.badge) li.append(badge());
  if (parts.who) {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = parts.who;
    li.append(who);
  }
  li.append(document.createTextNode(parts.text));
  log.append(li);
  trimLog();
  if (stick) {
    log.scrollTop = log.scrollHeight;
  } else if (kind !== 'notice') {
    state.unread += 1;
    $('new-messages').textContent = t('newMessages', state.unread);
    $('new-messages').hidden = false;
  }
  document.title = state.unread > 0 ? `(${state.unread}) classchat` : 'classchat';
  return li;
}

// A row in the page's own words: shown again in the other language when it is switched.
function ownLine(kind, key, ...args) {
  const li = addLine(kind, { text: t(key, ...args) });
  li.dataset.key = key;
  li.dataset.args = JSON.stringify(args);
  return li;
}

function renderRoster() {
  const ul = $('roster');
  ul.replaceChildren();
  const ids = $('ids');
  ids.replaceChildren();
  for (const [id, client] of state.roster) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    if (classroom.hands.has(id)) b.append(handMark());
    if (client.role === 'host') b.append(badge());
    b.append(id === state.myId ? `${id} ${t('you')}` : id);
    if (id === state.myId) li.className = 'me-entry';
    b.addEventListener('click', () => {
      const box = $('message');
      const slash = box.value.indexOf('/');
      box.value = `${id}/` + (slash >= 0 ? box.value.slice(slash + 1) : '');
      box.focus();
    });
    li.append(b);
    ul.append(li);
    const opt = document.createElement('option');
    opt.value = `${id}/`;
    ids.append(opt);
  }
  const all = document.createElement('option');
  all.value = '*/';
  ids.append(all);
  $('count').textContent = String(state.roster.size);
}

function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  const name = $('name').value.trim();
  const code = $('code').value.trim();
  if (name) q.set('name', name);
  if (code) q.set('code', code);
  if (state.hostKey) q.set('host', state.hostKey);
  resumeQuery(q);
  const query = q.toString();
  return `${scheme}//${location.host}/ws_multi_client_dict${query ? '?' + query : ''}`;
}

function connect() {
  clearTimeout(state.retryTimer);
  state.wantOpen = true;
  setStatus(t('connecting'), 'connecting');
  let opened = false;
  const ws = new WebSocket(socketUrl(), 'classchat.v1');
  state.socket = ws;
  ws.onopen = () => { opened = true; };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onMessage(msg);
  };
  ws.onclose = (ev) => {
    state.socket = null;
    if (onDeliveryClose(ev)) return;
    if (!opened) {
      handshakeFailed();
      return;
    }
    // By the close code, in the page's language (the relay's reason is English).
    const reason = ev.code === 1008 ? t('kicked') : ev.code === 1001 ? t('stopped')
      : ev.code === 1009 ? t('tooLong') : ev.code === 1013 ? t('tooSlow')
        : ev.code === 1000 && !state.wantOpen ? t('left_') : t('lost');
    addLine('notice', { text: t('disconnected', reason) });
    if (state.wantOpen && ev.code !== 1008) {
      retryLater();
    } else {
      setStatus(t('disconnected', reason), 'disconnected');
    }
  };
}

function retryLater() {
  const delay = state.retry;
  state.retry = Math.min(state.retry * 2, 30);
  setStatus(t('reconnecting', delay), 'reconnecting');
  state.retryTimer = setTimeout(connect, delay * 1000);
}

function showJoinForm(error) {
  $('join-error').textContent = error;
  $('chat').hidden = true;
  $('join-form').hidden = false;
}

// A browser never sees why a handshake failed, so the page asks the relay (POST /api/check,
// where the same wrong code again is not counted as another guess).
async function handshakeFailed() {
  const { status, reason } = await checkJoin();
  if (!state.wantOpen) return; // the student left meanwhile
  if (!state.everConnected) {
    state.wantOpen = false;
    setStatus('', 'idle');
    showJoinForm(status === 200 ? t('unreachable') : refusalText(reason));
    return;
  }
  if (reason === 'wrong_code') {
    // The host changed the join code: retrying the old one cannot work.
    state.wantOpen = false;
    setStatus(t('codeChanged'), 'disconnected');
    $('code').value = '';
    showJoinForm(t('codeChanged'));
    $('code').focus();
    return;
  }
  retryLater();
}

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      state.everConnected = true;
      state.retry = 1;
      state.myId = msg.id;
      state.roster = new Map((msg.clients || []).map((c) => [c.id, c]));
      $('my-id').textContent = msg.id;
      dropCodeFromAddress();
      $('join-form').hidden = true;
      $('join-error').textContent = '';
      $('chat').hidden = false;
      // Whatever said the connection was lost is over.
      $('hint').textContent = '';
      setStatus(t('online'), 'connected');
      onClassroomWelcome(msg);
      renderRoster();
      onDeliveryWelcome(msg);
      break;
    case 'joined':
      state.roster.set(msg.client.id, msg.client);
      renderRoster();
      addLine('notice', { text: t('joined', msg.client.id) });
      break;
    case 'left':
      state.roster.delete(msg.id);
      renderRoster();
      addLine('notice', { text: t('left', msg.id) });
      break;
    case 'message':
      onChatMessage(msg);
      break;
    case 'error':
      refusePending(msg);
      onClassroomError(msg);
      ownLine('error', 'refused', msg.code, msg.about || '', state.myId).title = msg.message || '';
      break;
    case 'room':
      onRoom(msg);
      break;
    case 'pinned':
      onPinned(msg.text || '');
      break;
    case 'poll':
      onPoll(msg);
      break;
    case 'tally':
    case 'poll_result':
      onPollCounts(msg);
      break;
    case 'hands':
      classroom.hands = new Set((msg.queue || []).map((h) => h.id));
      renderRoster();
      break;
    case 'hand':
      // The own hand, as the relay has it: the teacher may have lowered it.
      setHand(msg.up === true);
      break;
    default:
      break;
  }
}

function send(event) {
  event.preventDefault();
  const box = $('message');
  const line = box.value;
  const hint = $('hint');
  const slash = line.indexOf('/');
  if (slash <= 0) { hint.textContent = t('hintSlash'); return; }
  const to = line.slice(0, slash);
  const text = line.slice(slash + 1);
  if (text.trim() === '') { hint.textContent = t('hintEmpty'); return; }
  if (to !== '*' && !state.roster.has(to)) { hint.textContent = t('hintUnknown', to); return; }
  const closed = roomForbids(to);
  if (closed) { hint.textContent = t(closed); return; }
  if (!sendChat(to, text)) {
    hint.textContent = t('lost');
    return;
  }
  hint.textContent = '';
  box.value = `${to}/`;
}

window.addEventListener('DOMContentLoaded', () => {
  const params = new URLSearchParams(location.search);
  $('name').value = params.get('name') || localStorage.getItem('classchat.name') || '';
  $('code').value = params.get('code') || '';
  state.hostKey = params.get('host') || '';
  applyLanguage();
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'ja' ? 'en' : 'ja';
    localStorage.setItem('classchat.lang', state.lang);
    applyLanguage();
  });
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    $('join-error').textContent = '';
    localStorage.setItem('classchat.name', $('name').value.trim());
    state.everConnected = false;
    joinAfterCheck();
  });
  $('leave').addEventListener('click', () => {
    state.wantOpen = false;
    clearTimeout(state.retryTimer);
    if (state.socket) state.socket.close(1000, 'bye');
    $('chat').hidden = true;
    $('join-form').hidden = false;
    setStatus('', 'idle');
  });
  $('send-form').addEventListener('submit', send);
  $('message').addEventListener('input', () => { $('hint').textContent = ''; });
  $('log').addEventListener('scroll', () => {
    if (atBottom()) {
      state.unread = 0;
      $('new-messages').hidden = true;
      document.title = 'classchat';
    }
  });
  $('new-messages').addEventListener('click', () => {
    $('log').scrollTop = $('log').scrollHeight;
  });
});

// --- Issue 12: refusals a person can tell apart, a bounded log, no code in the address bar ---

const REFUSAL = {
  ja: {
    tooMany: '参加コードの間違いが多すぎます。しばらく待ってからもう一度試してください',
    notAllowed: 'このページからは参加できません', crowded: 'この端末からの接続が多すぎます',
  },
  en: {
    tooMany: 'Too many wrong join codes. Wait a moment and try again',
    notAllowed: 'This page may not join the chat', crowded: 'Too many connections from this device',
  },
};

// The page keeps at most this many rows; older ones are removed.
const LOG_LIMIT = 2000;

function trimLog() {
  const log = $('log');
  while (log.childElementCount > LOG_LIMIT) log.firstElementChild.remove();
}

// After joining, the join code and host key are no longer shown in the address bar (or kept
// in history).
function dropCodeFromAddress() {
  const url = new URL(location.href);
  if (!url.searchParams.has('code') && !url.searchParams.has('host')) return;
  url.searchParams.delete('code');
  url.searchParams.delete('host');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

// A browser only sees a failed WebSocket, never its HTTP status, so before connecting the
// page asks the relay what a handshake with this join code would get (POST /api/check).
// It counts as a guess exactly like the handshake would.
async function checkJoin() {
  const q = new URLSearchParams();
  const code = $('code').value.trim();
  if (code) q.set('code', code);
  try {
    const res = await fetch(`/api/check?${q}`, { method: 'POST', cache: 'no-store' });
    let reason = '';
    try { reason = (await res.json()).reason || ''; } catch { /* an older relay */ }
    return { status: res.status, reason };
  } catch {
    return { status: 0, reason: '' };
  }
}

function refusalText(reason) {
  const r = REFUSAL[state.lang];
  switch (reason) {
    case 'wrong_code': return t('wrongCode');
    case 'cooling_down': return r.tooMany;
    case 'origin': return r.notAllowed;
    case 'per_address': return r.crowded;
    case 'full': return t('full');
    default: return t('unreachable');
  }
}

async function joinAfterCheck() {
  const { status, reason } = await checkJoin();
  // 404/405: a relay without the check; let the handshake decide.
  if (status === 200 || status === 404 || status === 405) {
    connect();
    return;
  }
  $('join-error').textContent = refusalText(reason);
}

// --- Issue 11: delivery you can count on. The page resumes its session after a drop and after
// a reload (sessionStorage keeps the token, the highest seq seen, the recent rows and what was
// not confirmed yet), shows what the relay sends again under an "earlier messages" divider,
// and shows its own messages as pending until the relay's echo confirms them. ---

const DELIVERY_TEXT = {
  ja: {
    earlier: '以前のメッセージ', live: '新しいメッセージ', sending: '送信中…',
    missing: '一部のメッセージが表示されていない可能性があります',
    replaced: 'このチャットは別のタブかウィンドウで続いています', notSent: '送信されませんでした',
  },
  en: {
    earlier: 'earlier messages', live: 'new messages', sending: 'sending…',
    missing: 'Some messages may be missing',
    replaced: 'This chat continued in another tab or window', notSent: 'not sent',
  },
};
Object.assign(TEXT.ja, DELIVERY_TEXT.ja);
Object.assign(TEXT.en, DELIVERY_TEXT.en);

const SESSION_KEY = 'classchat.session';
// Rows shown again after a reload.
const KEPT_ROWS = 200;
// The close code of a session that was resumed on another connection: reconnecting would
// take it back.
const CONTINUED_ELSEWHERE = 4000;
// Errors that answer a send. The relay answers every send, in order, with its echo or one of
// these, so such an error is for the oldest send written and not yet answered.
const SEND_ERRORS = new Set(['bad_format', 'empty_text', 'unknown_recipient', 'bad_json',
  'bad_text', 'rate_limited', 'muted']);

const delivery = {
  resume: null, epoch: null, lastSeq: null, welcomeSeq: null, nextId: 1,
  pending: [], // { id, to, text, written, li }, oldest first
  kept: [], // the last KEPT_ROWS messages, for a reload
  welcomed: false, resuming: false, replaying: false,
};

function saveSession() {
  if (!delivery.resume) return;
  const data = {
    resume: delivery.resume, epoch: delivery.epoch, lastSeq: delivery.lastSeq,
    welcomeSeq: delivery.welcomeSeq, nextId: delivery.nextId, myId: state.myId,
    name: $('name').value.trim(), code: $('code').value.trim(), kept: delivery.kept,
    pending: delivery.pending.map(({ id, to, text }) => ({ id, to, text })),
    vote: classroom.vote, hostKey: state.hostKey,
  };
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(data));
  } catch {
    // Storage full (long messages): keep at least the session and what was not confirmed.
    try {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...data, kept: [] }));
    } catch {
      // Storage disabled: the session still resumes while the page stays open.
    }
  }
}

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  } catch {
    return null;
  }
}

function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  Object.assign(delivery, {
    resume: null, epoch: null, lastSeq: null, welcomeSeq: null, pending: [], kept: [],
    welcomed: false, resuming: false, replaying: false,
  });
}

// Adds what resuming needs to the handshake's query, and notes that this connection asks.
function resumeQuery(q) {
  delivery.welcomed = false;
  delivery.resuming = Boolean(delivery.resume);
  if (!delivery.resume) return;
  q.set('resume', delivery.resume);
  q.set('since', String(delivery.lastSeq ?? delivery.welcomeSeq ?? 0));
  if (delivery.epoch) q.set('epoch', delivery.epoch);
}

function onDeliveryWelcome(msg) {
  // A restarted relay numbers its messages from the start again.
  if ((msg.epoch ?? null) !== delivery.epoch) delivery.lastSeq = null;
  delivery.epoch = msg.epoch ?? null;
  delivery.resume = msg.resume ?? null;
  delivery.welcomeSeq = typeof msg.seq === 'number' ? msg.seq : null;
  delivery.replaying = false;
  if (delivery.resuming && msg.recovered !== true) {
    addLine('notice warning', { text: t('missing') });
  }
  delivery.welcomed = true;
  writePending();
  saveSession();
}

// Bookkeeping when a connection ends; true when the page must not reconnect.
function onDeliveryClose(ev) {
  delivery.welcomed = false;
  delivery.replaying = false;
  for (const p of delivery.pending) p.written = false;
  // Without a session to resume, what was not confirmed will not be.
  if (!delivery.resume) {
    for (const p of delivery.pending.splice(0)) markNotSent(p);
  }
  if (ev.code === 1008) clearSession();
  if (ev.code !== CONTINUED_ELSEWHERE) return false;
  state.wantOpen = false;
  addLine('notice', { text: t('replaced') });
  setStatus(t('replaced'), 'disconnected');
  return true;
}

// Sends every pending message not yet written on this connection, oldest first.
function writePending() {
  const ws = state.socket;
  if (!delivery.welcomed || !ws || ws.readyState !== WebSocket.OPEN) return;
  for (const p of delivery.pending) {
    if (p.written) continue;
    ws.send(JSON.stringify({ type: 'send', to: p.to, text: p.text, id: p.id }));
    p.written = true;
  }
}

// Sends a message, or keeps it for when the session is back; false when it cannot be sent.
function sendChat(to, text) {
  const open = state.socket && state.socket.readyState === WebSocket.OPEN && delivery.welcomed;
  if (!open && !delivery.resume) return false;
  const p = { id: `m${delivery.nextId}`, to, text, written: false };
  delivery.nextId += 1;
  p.li = pendingLine(p);
  delivery.pending.push(p);
  writePending();
  saveSession();
  return true;
}

function pendingLine(p) {
  const everyone = p.to === '*';
  const who = `${state.myId} ${everyone ? t('toEveryone') : t('toPrivate', p.to)}`;
  const li = addLine('own pending', { who, text: p.text });
  const mark = document.createElement('span');
  mark.className = 'mark';
  mark.dataset.i18n = 'sending';
  mark.textContent = t('sending');
  li.append(mark);
  return li;
}

function takePending(match) {
  const at = delivery.pending.findIndex(match);
  return at < 0 ? null : delivery.pending.splice(at, 1)[0];
}

function markNotSent(p) {
  if (!p.li) return;
  p.li.classList.remove('pending');
  p.li.classList.add('not-sent');
  const mark = p.li.querySelector('.mark');
  if (mark) {
    mark.dataset.i18n = 'notSent';
    mark.textContent = t('notSent');
  }
}

// A refused send: the relay names it by its id; an older relay answers sends in order.
function refusePending(msg) {
  let p = null;
  if (msg.client_id != null) {
    p = takePending((q) => q.id === msg.client_id);
  } else if (msg.about == null && SEND_ERRORS.has(msg.code)) {
    p = takePending((q) => q.written);
  }
  if (p) markNotSent(p);
  saveSession();
}

function showChat(msg) {
  const own = msg.from === state.myId;
  const everyone = msg.to === '*';
  const kind = own ? 'own' : everyone ? 'everyone' : 'private';
  const who = `${msg.from} ${everyone ? t('toEveryone') : t('toPrivate', msg.to)}`;
  return addLine(kind, { who, text: msg.text, badge: msg.role === 'host' }, msg.ts);
}

function divider(key) {
  const log = $('log');
  const stick = atBottom();
  const li = document.createElement('li');
  li.className = 'divider';
  li.dataset.i18n = key;
  li.textContent = t(key);
  log.append(li);
  if (stick) log.scrollTop = log.scrollHeight;
}

// Replayed messages go under an "earlier messages" divider; live ones after them under a
// "new messages" divider.
function markSection(replay) {
  if (replay === delivery.replaying) return;
  delivery.replaying = replay;
  divider(replay ? 'earlier' : 'live');
}

function keep(msg) {
  delivery.kept.push({ from: msg.from, to: msg.to, text: msg.text, ts: msg.ts, role: msg.role });
  if (delivery.kept.length > KEPT_ROWS) delivery.kept.splice(0, delivery.kept.length - KEPT_ROWS);
}

// Shows each message once: a seq already seen is a replay overlapping what arrived, or a
// resent send confirmed again.
function onChatMessage(msg) {
  let confirmed = null;
  if (msg.client_id != null) {
    confirmed = takePending((p) => p.id === msg.client_id);
  } else if (msg.seq == null && msg.from === state.myId) {
    // A relay without delivery echoes without the id, in the order it received the sends.
    confirmed = takePending((p) => p.written && p.text === msg.text);
  }
  if (typeof msg.seq === 'number') {
    if (delivery.lastSeq !== null && msg.seq <= delivery.lastSeq) {
      // Already shown: the pending row goes.
      if (confirmed && confirmed.li) confirmed.li.remove();
      saveSession();
      return;
    }
    delivery.lastSeq = msg.seq;
  }
  markSection(Boolean(msg.replay));
  if (confirmed && confirmed.li && !msg.replay) {
    // Confirmed where it was typed.
    confirmed.li.classList.remove('pending');
    const mark = confirmed.li.querySelector('.mark');
    if (mark) mark.remove();
    confirmed.li.querySelector('.time').textContent = time(msg.ts);
  } else {
    if (confirmed && confirmed.li) confirmed.li.remove();
    showChat(msg);
  }
  keep(msg);
  saveSession();
}

// After a reload: the session's rows come back and the page resumes by itself.
function restoreSession() {
  $('leave').addEventListener('click', clearSession);
  const saved = loadSession();
  if (!saved || !saved.resume) return;
  Object.assign(delivery, {
    resume: saved.resume, epoch: saved.epoch ?? null, lastSeq: saved.lastSeq ?? null,
    welcomeSeq: saved.welcomeSeq ?? null, nextId: saved.nextId || 1,
    kept: Array.isArray(saved.kept) ? saved.kept : [],
  });
  state.myId = saved.myId || null;
  classroom.vote = saved.vote || null;
  state.hostKey = saved.hostKey || state.hostKey;
  $('my-id').textContent = state.myId || '';
  $('name').value = saved.name || '';
  $('code').value = saved.code || '';
  $('join-form').hidden = true;
  $('chat').hidden = false;
  for (const m of delivery.kept) showChat(m);
  for (const p of Array.isArray(saved.pending) ? saved.pending : []) {
    const q = { id: p.id, to: p.to, text: p.text, written: false };
    q.li = pendingLine(q);
    delivery.pending.push(q);
  }
  // The session existed: a failed attempt means "try again", not "wrong code".
  state.everConnected = true;
  connect();
}

window.addEventListener('DOMContentLoaded', restoreSession);

// --- Issue 13: the classroom. The teacher (a host) pins a message, runs polls and decides
// who students may write to; a student raises a hand and votes. Refusals are shown in the
// page's language by their code; the relay's English sentence is only the row's tooltip. ---

const ERRORS = {
  ja: {
    bad_format: '宛先の形式が正しくありません', bad_request: 'この操作はできませんでした',
    empty_text: 'メッセージが空です', unknown_recipient: 'その相手は接続していません',
    binary_unsupported: 'テキストだけを送れます', bad_json: 'チャットがページの送信を理解できませんでした',
    rate_limited: '送信が速すぎます。少し待ってからもう一度送ってください',
    bad_text: '送れない制御文字が含まれています',
    muted: '先生にミュートされています。メッセージは送られませんでした',
    name_taken: (id) => `その名前は使われているため、ID は ${id} になりました`,
    name_invalid: (id) => `その名前は使えないため、ID は ${id} になりました`,
    not_host: '先生だけができる操作です', not_allowed: '先生の設定により、このメッセージは送れません',
    poll_closed: 'このアンケートは締め切られています', other: (code) => `送れませんでした (${code})`,
  },
  en: {
    bad_format: 'The message has no valid recipient', bad_request: 'That could not be done',
    empty_text: 'The message is empty', unknown_recipient: 'Nobody with that ID is connected',
    binary_unsupported: 'Only text can be sent', bad_json: 'The chat did not understand the page',
    rate_limited: 'Too many messages too fast; wait a moment and send it again',
    bad_text: 'The message contains control characters that cannot be sent',
    muted: 'The teacher has muted you; your message was not sent',
    name_taken: (id) => `That name is in use, so your ID is ${id}`,
    name_invalid: (id) => `That name cannot be used, so your ID is ${id}`,
    not_host: 'Only the teacher can do that', not_allowed: "The teacher's settings do not allow this message",
    poll_closed: 'This poll is closed', other: (code) => `Not sent (${code})`,
  },
};

// The sentence for a refusal: by its code, and for a control message by what it was about.
function refusedText(table, code, about, id) {
  let key = code in table ? code : 'other';
  if (code === 'not_allowed' && (about === 'vote' || about === 'poll_close')) key = 'poll_closed';
  if (code === 'bad_format' && about) key = 'bad_request';
  const v = table[key];
  return typeof v === 'function' ? v(key === 'other' ? code : id) : v;
}

const CLASSROOM_TEXT = {
  ja: {
    teacher: '先生', raiseHand: '✋ 手を挙げる', lowerHand: '✋ 手を下ろす', pinnedLabel: '📌 お知らせ',
    pollLabel: 'アンケート', pollOpen: '— 選んでください(締め切りまで変更できます)',
    pollLive: '— 投票中', pollClosed: '— 締め切りました', voters: (n) => `${n} 人が投票`,
    pollResult: (q, r) => `アンケート結果: ${q} — ${r}`,
    roomNoBroadcast: '先生が全員へのメッセージを止めています(先生には送れます)',
    roomNoPrivate: '先生が生徒どうしの個人メッセージを止めています(先生には送れます)',
    roomTeacherOnly: '先生が全員へのメッセージと生徒どうしのメッセージを止めています。先生にだけ送れます',
    roomOpen: '全員へのメッセージと生徒どうしのメッセージがまた送れます',
    refused: (code, about, id) => refusedText(ERRORS.ja, code, about, id),
  },
  en: {
    teacher: 'Teacher', raiseHand: '✋ Raise hand', lowerHand: '✋ Lower hand', pinnedLabel: '📌 Pinned',
    pollLabel: 'Poll', pollOpen: '— choose one (you can change it until it closes)',
    pollLive: '— open', pollClosed: '— closed', voters: (n) => `${n} voted`,
    pollResult: (q, r) => `Poll result: ${q} — ${r}`,
    roomNoBroadcast: 'The teacher has turned off messages to everyone (you can still write to the teacher)',
    roomNoPrivate: 'The teacher has turned off private messages between students (you can still write to the teacher)',
    roomTeacherOnly: 'The teacher has turned off messages to everyone and between students: you can write to the teacher only',
    roomOpen: 'Messages to everyone and between students are allowed again',
    refused: (code, about, id) => refusedText(ERRORS.en, code, about, id),
  },
};
Object.assign(TEXT.ja, CLASSROOM_TEXT.ja);
Object.assign(TEXT.en, CLASSROOM_TEXT.en);

const classroom = {
  role: 'student', hand: false, hands: new Set(),
  room: { student_broadcast: true, student_private: true },
  // The open or last closed poll: { poll, question, options, counts, voters, closed }.
  poll: null,
  // This person's vote: { poll, option }; kept over a reload.
  vote: null,
};

function badge() {
  const b = document.createElement('span');
  b.className = 'badge';
  b.dataset.i18n = 'teacher';
  b.textContent = t('teacher');
  return b;
}

function handMark() {
  const m = document.createElement('span');
  m.className = 'hand-mark';
  m.textContent = '✋';
  return m;
}

// Sends a control frame on the open connection; false (with the hint) when there is none.
function sendControl(frame) {
  const ws = state.socket;
  if (!ws || ws.readyState !== WebSocket.OPEN || !delivery.welcomed) {
    $('hint').textContent = t('lost');
    return false;
  }
  ws.send(JSON.stringify(frame));
  return true;
}

function setHand(up) {
  classroom.hand = up;
  const b = $('hand');
  b.dataset.i18n = up ? 'lowerHand' : 'raiseHand';
  b.textContent = t(b.dataset.i18n);
  b.setAttribute('aria-pressed', String(up));
  b.classList.toggle('up', up);
}

function onClassroomWelcome(msg) {
  // A relay that restarted numbers its polls from 1 again.
  if ((msg.epoch ?? null) !== delivery.epoch) classroom.vote = null;
  classroom.role = msg.role === 'host' ? 'host' : 'student';
  $('my-badge').hidden = classroom.role !== 'host';
  $('hand').hidden = classroom.role === 'host';
  // A resumed session finds its hand where it was; a new one starts with it down.
  if (msg.recovered !== true) setHand(false);
  classroom.hands = new Set();
  // What still holds is sent again right after the welcome.
  onPinned('');
  if (classroom.poll && !classroom.poll.closed) {
    classroom.poll = null;
    renderPoll();
  }
}

function onClassroomError(msg) {
  if (msg.about === 'hand') setHand(false);
}

function roomKey(room) {
  if (!room.student_broadcast && !room.student_private) return 'roomTeacherOnly';
  if (!room.student_broadcast) return 'roomNoBroadcast';
  if (!room.student_private) return 'roomNoPrivate';
  return null;
}

function onRoom(msg) {
  const room = {
    student_broadcast: msg.student_broadcast !== false,
    student_private: msg.student_private !== false,
  };
  const before = roomKey(classroom.room);
  classroom.room = room;
  const key = roomKey(room);
  const hint = $('room-hint');
  hint.hidden = !key || classroom.role === 'host';
  if (key) {
    hint.dataset.i18n = key;
    hint.textContent = t(key);
  }
  if (key !== before) ownLine('notice', key || 'roomOpen');
}

// Which room mode refuses a message to `to`, if one does (hosts may write to anyone).
function roomForbids(to) {
  if (classroom.role === 'host') return null;
  const { room } = classroom;
  const recipient = state.roster.get(to);
  if (recipient && recipient.role === 'host') return null;
  if (to === '*' && !room.student_broadcast) return roomKey(room);
  if (to !== '*' && !room.student_private) return roomKey(room);
  return null;
}

function onPinned(text) {
  $('pinned').hidden = text === '';
  $('pinned-text').textContent = text;
}

function onPoll(msg) {
  if (!Array.isArray(msg.options)) return;
  classroom.poll = {
    poll: msg.poll, question: msg.question || '', options: msg.options, counts: null,
    voters: null, closed: false,
  };
  renderPoll();
}

// `tally` (to hosts, live) and `poll_result` (to everyone, when it closes).
function onPollCounts(msg) {
  const old = classroom.poll && classroom.poll.poll === msg.poll ? classroom.poll : null;
  const options = msg.options || (old && old.options);
  if (!Array.isArray(options) || !Array.isArray(msg.counts)) return;
  const closed = msg.type === 'poll_result';
  classroom.poll = {
    poll: msg.poll, question: msg.question || (old && old.question) || '', options,
    counts: msg.counts, voters: msg.voters ?? (old && old.voters), closed,
  };
  renderPoll();
  if (closed) {
    const result = options.map((o, i) => `${o}: ${msg.counts[i] ?? 0}`).join(', ');
    ownLine('notice', 'pollResult', classroom.poll.question, result);
  }
}

function vote(option) {
  const p = classroom.poll;
  if (!p || p.closed) return;
  if (!sendControl({ type: 'vote', poll: p.poll, option })) return;
  classroom.vote = { poll: p.poll, option };
  saveSession();
  renderPoll();
}

function renderPoll() {
  const p = classroom.poll;
  $('poll').hidden = !p;
  if (!p) return;
  $('poll-question').textContent = p.question;
  const status = $('poll-state');
  status.dataset.i18n = p.closed ? 'pollClosed' : p.counts ? 'pollLive' : 'pollOpen';
  status.textContent = t(status.dataset.i18n) + (p.voters != null ? ` · ${t('voters', p.voters)}` : '');
  const chosen = classroom.vote && classroom.vote.poll === p.poll ? classroom.vote.option : null;
  const most = p.counts ? Math.max(1, ...p.counts) : 1;
  const list = $('poll-options');
  list.replaceChildren();
  p.options.forEach((text, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'option';
    b.disabled = p.closed;
    b.setAttribute('aria-pressed', String(chosen === i));
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = text;
    b.append(label);
    if (p.counts) {
      const n = p.counts[i] ?? 0;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(n);
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.className = 'fill';
      // The style object, not a style attribute: the page's policy allows no inline styles.
      fill.style.width = `${(100 * n) / most}%`;
      bar.append(fill);
      b.append(count, bar);
    }
    b.addEventListener('click', () => vote(i));
    li.append(b);
    list.append(li);
  });
}

window.addEventListener('DOMContentLoaded', () => {
  $('hand').addEventListener('click', () => {
    const up = !classroom.hand;
    if (sendControl({ type: 'hand', up })) setHand(up);
  });
});
