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
  },
};

const state = {
  lang: localStorage.getItem('classchat.lang') ||
        ((navigator.language || 'ja').toLowerCase().startsWith('ja') ? 'ja' : 'en'),
  socket: null, myId: null, roster: new Map(), unread: 0, retry: 1, wantOpen: false,
  everConnected: false, retryTimer: null,
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
  renderRoster();
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

function renderRoster() {
  const ul = $('roster');
  ul.replaceChildren();
  const ids = $('ids');
  ids.replaceChildren();
  for (const id of state.roster.keys()) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = id === state.myId ? `${id} ${t('you')}` : id;
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
    if (!opened && !state.everConnected) {
      // The handshake failed before any session: most likely the join code (HTTP 401).
      $('join-error').textContent = $('code').value ? t('wrongCode') : t('unreachable');
      $('chat').hidden = true;
      $('join-form').hidden = false;
      setStatus('', 'idle');
      state.wantOpen = false;
      return;
    }
    const reason = ev.code === 1008 ? t('kicked') : ev.code === 1001 ? t('stopped')
      : ev.code === 1000 && !state.wantOpen ? t('left_') : (ev.reason || t('lost'));
    addLine('notice', { text: t('disconnected', reason) });
    if (state.wantOpen && ev.code !== 1008) {
      const delay = state.retry;
      state.retry = Math.min(state.retry * 2, 30);
      setStatus(t('reconnecting', delay), 'reconnecting');
      state.retryTimer = setTimeout(connect, delay * 1000);
    } else {
      setStatus(t('disconnected', reason), 'disconnected');
    }
  };
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
      $('chat').hidden = false;
      setStatus(t('online'), 'connected');
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
      refusePending(msg.code);
      addLine('error', { text: `Error: ${msg.message}` });
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

// After joining, the join code is no longer shown in the address bar (or kept in history).
function dropCodeFromAddress() {
  const url = new URL(location.href);
  if (!url.searchParams.has('code')) return;
  url.searchParams.delete('code');
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

function refusePending(code) {
  if (!SEND_ERRORS.has(code)) return;
  const p = takePending((q) => q.written);
  if (p) markNotSent(p);
  saveSession();
}

function showChat(msg) {
  const own = msg.from === state.myId;
  const everyone = msg.to === '*';
  const kind = own ? 'own' : everyone ? 'everyone' : 'private';
  const who = `${msg.from} ${everyone ? t('toEveryone') : t('toPrivate', msg.to)}`;
  return addLine(kind, { who, text: msg.text }, msg.ts);
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
  delivery.kept.push({ from: msg.from, to: msg.to, text: msg.text, ts: msg.ts });
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
