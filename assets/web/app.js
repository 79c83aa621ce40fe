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
    case 'message': {
      const own = msg.from === state.myId;
      const everyone = msg.to === '*';
      const kind = own ? 'own' : everyone ? 'everyone' : 'private';
      const who = `${msg.from} ${everyone ? t('toEveryone') : t('toPrivate', msg.to)}`;
      addLine(kind, { who, text: msg.text }, msg.ts);
      break;
    }
    case 'error':
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
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
    hint.textContent = t('lost');
    return;
  }
  state.socket.send(JSON.stringify({ type: 'send', to, text }));
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
