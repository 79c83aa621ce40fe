// End-to-end: two browser pages (headless Chromium) and one terminal client talk through
// `classchat serve`, and a message containing <script> shows as text. A page resumes its
// session after a reload and after being away, showing what it missed exactly once, and keeps
// what was typed while the relay restarted until it is confirmed.
// In a classroom (a teacher driving a host connection): the teacher badge, a raised hand, a
// vote the host sees in its tally, the pinned banner, room modes and refusals in the page's
// language; on a phone-sized screen every roster name shows; after the host restarts with a
// new join code the page asks for it, and chat works with the code typed.
//
// Usage: node browser.mjs PATH/TO/classchat [SCREENSHOT_DIR]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const binary = process.argv[2];
const shots = process.argv[3];
if (!binary) {
  console.error('usage: node browser.mjs PATH/TO/classchat [SCREENSHOT_DIR]');
  process.exit(2);
}
const CODE = '2468';
const NEW_CODE = '8642';
const HOST_KEY = 'e2e-host-key';
const children = [];
let browser;

function fail(message) {
  throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function serveArgs(port, code = CODE) {
  return ['serve', '--bind', '127.0.0.1', '--port', String(port), '--join-code', code,
    '--host-token', HOST_KEY, '--no-announce'];
}

function start(args, name) {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d.toString(); });
  child.stderr.on('data', (d) => { child.output += d.toString(); });
  child.name = name;
  children.push(child);
  return child;
}

// A fontconfig file that adds the app's own Japanese and emoji fonts to the system's, so the
// screenshots show Japanese on a machine without CJK fonts.
function fontConfig() {
  const fonts = fileURLToPath(new URL('../../assets/fonts', import.meta.url));
  const file = join(mkdtempSync(join(tmpdir(), 'classchat-e2e-')), 'fonts.conf');
  writeFileSync(file, `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${fonts}</dir>
</fontconfig>
`);
  return file;
}

async function until(what, check, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`timed out waiting for ${what}`);
}

async function openPage(base, query) {
  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.dialogs = dialogs;
  await page.goto(`${base}/${query}`);
  await page.click('#join');
  await page.waitForSelector('#chat', { state: 'visible', timeout: 15000 });
  await page.waitForSelector('#join-form', { state: 'hidden', timeout: 15000 });
  return page;
}

async function send(page, line) {
  await page.fill('#message', line);
  await page.press('#message', 'Enter');
}

async function logTexts(page) {
  return page.$$eval('#log li', (items) => items.map((li) => li.textContent));
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server = start(serveArgs(port), 'serve');
  await until('the relay to listen', () => server.output.includes('Press Ctrl-C'));

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    env: shots ? { ...process.env, FONTCONFIG_FILE: fontConfig() } : process.env,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  // A wrong join code is refused with a readable error on the page.
  const refused = await browser.newPage();
  await refused.goto(`${base}/?name=Eve&code=0000`);
  await refused.click('#join');
  await until('the wrong-code error', async () =>
    (await refused.textContent('#join-error')).length > 0);
  const refusal = await refused.textContent('#join-error');
  if (!/参加コードが違います|Wrong join code/.test(refusal)) fail(`unexpected refusal: ${refusal}`);
  await refused.close();

  // The page says so when the chat is full, rather than "wrong code".
  const fullPort = await freePort();
  const fullServer = start(['serve', '--bind', '127.0.0.1', '--port', String(fullPort),
    '--join-code', CODE, '--no-announce', '--max-clients', '0'], 'serve (full)');
  await until('the full relay to listen', () => fullServer.output.includes('Press Ctrl-C'));
  const crowded = await browser.newPage();
  await crowded.goto(`http://127.0.0.1:${fullPort}/?code=${CODE}`);
  await crowded.click('#join');
  await until('the chat-full error', async () =>
    (await crowded.textContent('#join-error')).length > 0);
  const fullText = await crowded.textContent('#join-error');
  if (!/満員|full/.test(fullText)) fail(`unexpected refusal for a full chat: ${fullText}`);
  await crowded.close();
  fullServer.kill('SIGINT');

  // Every answer, the short error bodies included, carries the security headers, and the
  // policy lets the page talk to its own host only.
  for (const [path, status] of [['/', 200], ['/no-such-page', 404], ['/ws_multi_client_dict', 426]]) {
    const res = await fetch(`${base}${path}`);
    if (res.status !== status) fail(`${path}: status ${res.status}`);
    const csp = res.headers.get('content-security-policy') || '';
    if (!csp.includes("default-src 'self'")) fail(`${path}: CSP ${csp}`);
    if (!csp.includes(`connect-src 'self' ws://127.0.0.1:${port} wss://127.0.0.1:${port}`)) {
      fail(`${path}: connect-src ${csp}`);
    }
    if (res.headers.get('x-content-type-options') !== 'nosniff') fail(`${path}: no nosniff`);
    if (res.headers.get('referrer-policy') !== 'no-referrer') fail(`${path}: referrer policy`);
  }

  // A page on another site cannot open a WebSocket to the relay.
  const foreign = await browser.newPage();
  await foreign.route('http://evil.test/', (route) => route.fulfill({
    status: 200, contentType: 'text/html', body: '<!doctype html><title>evil</title>',
  }));
  await foreign.goto('http://evil.test/');
  const hijack = await foreign.evaluate((url) => new Promise((resolve) => {
    const ws = new WebSocket(url, 'classchat.v1');
    ws.onopen = () => resolve('open');
    ws.onerror = () => resolve('refused');
  }), `ws://127.0.0.1:${port}/ws_multi_client_dict?code=${CODE}`);
  if (hijack !== 'refused') fail(`a foreign page's WebSocket was ${hijack}`);
  await foreign.close();

  const aiko = await openPage(base, `?name=Aiko&code=${CODE}`);
  // After joining, the code is gone from the address bar (the name stays).
  const address = new URL(aiko.url());
  if (address.searchParams.has('code')) fail(`the code is still in the address bar: ${aiko.url()}`);
  if (address.searchParams.get('name') !== 'Aiko') fail(`the name was lost: ${aiko.url()}`);
  const ben = await openPage(base, `?name=%E3%83%99%E3%83%B3&code=${CODE}`); // ベン
  if ((await aiko.textContent('#my-id')) !== 'Aiko') fail('Aiko did not get her name');
  if ((await ben.textContent('#my-id')) !== 'ベン') fail('ベン did not get his name');

  const term = start(['join', `127.0.0.1:${port}`, '--name', 'Term', '--code', CODE,
    '--no-reconnect'], 'join');
  await until('the terminal client to connect', () => term.output.includes('Your ID is: Term'));
  await until('the roster to show three clients', async () =>
    (await aiko.textContent('#count')) === '3');

  // Browser to browser, with markup that must stay text.
  const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>こんにちは';
  await send(aiko, `ベン/${hostile}`);
  await until('ベン to receive the message', async () =>
    (await logTexts(ben)).some((t) => t.includes(hostile)));
  const injected = await ben.$$eval('#log script, #log img', (els) => els.length);
  if (injected !== 0) fail('received markup became elements');
  if (ben.dialogs.length || aiko.dialogs.length) fail('a dialog was opened');

  // Terminal to browser.
  term.stdin.write('Aiko/hello from the terminal\n');
  await until('Aiko to receive the terminal message', async () =>
    (await logTexts(aiko)).some((t) => t.includes('hello from the terminal') && t.includes('Term')));

  // Browser to everyone, the terminal included.
  await send(ben, '*/みなさん、こんにちは');
  await until('the terminal to receive the broadcast', () =>
    term.output.includes('ベン → everyone: みなさん、こんにちは'));
  await until('Aiko to receive the broadcast', async () =>
    (await logTexts(aiko)).some((t) => t.includes('みなさん、こんにちは')));

  // Invalid input gets the inline hint and nothing is sent.
  await send(aiko, 'no slash here');
  const hint = await aiko.textContent('#hint');
  if (!hint) fail('no hint for input without a slash');
  if ((await aiko.inputValue('#message')) !== 'no slash here') fail('typed text was lost');
  await send(aiko, 'nobody/hi');
  if (!(await aiko.textContent('#hint')).includes('nobody')) fail('no hint for an unknown ID');

  // Clicking a roster entry prefills the recipient.
  await aiko.fill('#message', '');
  await aiko.click('#roster li button:has-text("Term")');
  if ((await aiko.inputValue('#message')) !== 'Term/') fail('roster click did not prefill');

  // The page's log is capped: the oldest rows go.
  const rows = await aiko.evaluate(() => {
    for (let i = 0; i < 2100; i += 1) {
      const li = document.createElement('li');
      li.textContent = `filler ${i}`;
      document.getElementById('log').append(li);
    }
    return document.getElementById('log').childElementCount;
  });
  if (rows < 2100) fail('filler rows were not added');
  await send(ben, '*/after the filler');
  await until('Aiko to receive the message after the filler', async () =>
    (await logTexts(aiko)).some((t) => t.includes('after the filler')));
  const kept = await aiko.evaluate(() => document.getElementById('log').childElementCount);
  if (kept > 2000) fail(`the log kept ${kept} rows`);

  if (shots) {
    await aiko.setViewportSize({ width: 1000, height: 700 });
    await aiko.screenshot({ path: join(shots, 'browser-aiko.png') });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${base}/?name=Phone&code=${CODE}`);
    await phone.click('#join');
    await phone.waitForSelector('#chat', { state: 'visible' });
    await send(phone, '*/スマホから参加しました');
    await until('the phone to see its own message', async () =>
      (await logTexts(phone)).some((t) => t.includes('スマホから参加しました')));
    await phone.screenshot({ path: join(shots, 'browser-phone.png') });
    await phone.close();
  }

  await resumesAfterReloadAndAway(base, aiko, ben, term);
  await classroom(base, aiko, ben);
  await phoneLayout(base);

  term.stdin.end();
  await until('the terminal client to leave', () => term.exitCode !== null);
  if (term.exitCode !== 0) fail(`terminal client exited with ${term.exitCode}`);

  server = await keepsWhatWasTypedAcrossARestart(port, server, aiko, ben);
  server = await asksForAChangedCode(port, server, aiko, ben);
  console.log('browser end-to-end: all checks passed');
}

const connectedState = '#status[data-state="connected"]';

function count(texts, needle) {
  return texts.filter((t) => t.includes(needle)).length;
}

// Messages are confirmed when their row is no longer pending.
async function confirmedRows(page, needle) {
  return page.$$eval('#log li.own:not(.pending)', (items, n) =>
    items.filter((li) => li.textContent.includes(n)).length, needle);
}

async function resumesAfterReloadAndAway(base, aiko, ben, term) {
  // A reload keeps the session: same ID, the rows seen so far shown once.
  await send(ben, '*/before the reload');
  await until('Aiko to see it', async () => count(await logTexts(aiko), 'before the reload') === 1);
  await aiko.reload();
  await aiko.waitForSelector(connectedState, { timeout: 15000 });
  if ((await aiko.textContent('#my-id')) !== 'Aiko') fail('Aiko lost her ID over a reload');
  if (count(await logTexts(aiko), 'before the reload') !== 1) {
    fail(`after the reload: ${JSON.stringify(await logTexts(aiko))}`);
  }

  // Away (another page in the tab): what is said meanwhile arrives once, under a divider.
  await aiko.goto('about:blank');
  await until('the relay to see Aiko go', async () => (await ben.textContent('#count')) === '2');
  await send(ben, '*/while away 1');
  await until('ben’s first to be confirmed', async () => (await confirmedRows(ben, 'while away 1')) === 1);
  term.stdin.write('*/while away 2\n');
  await until('the terminal’s to be confirmed', () => term.output.includes('you → everyone: while away 2'));
  await send(ben, '*/while away 3');
  await until('ben’s second to be confirmed', async () => (await confirmedRows(ben, 'while away 3')) === 1);

  await aiko.goto(`${base}/`);
  await aiko.waitForSelector(connectedState, { timeout: 15000 });
  if ((await aiko.textContent('#my-id')) !== 'Aiko') fail('Aiko did not resume her ID');
  await send(ben, '*/after the return');
  await until('Aiko to see live traffic', async () => count(await logTexts(aiko), 'after the return') === 1);
  const texts = await logTexts(aiko);
  for (const n of ['before the reload', 'while away 1', 'while away 2', 'while away 3']) {
    if (count(texts, n) !== 1) fail(`“${n}” shown ${count(texts, n)} times: ${JSON.stringify(texts)}`);
  }
  const at = (n) => texts.findIndex((t) => t.includes(n));
  const earlier = texts.findIndex((t) => /以前のメッセージ|earlier messages/.test(t));
  const live = texts.findIndex((t, i) => i > earlier && /新しいメッセージ|new messages/.test(t));
  const order = [at('before the reload'), earlier, at('while away 1'), at('while away 2'),
    at('while away 3'), live, at('after the return')];
  if (order.some((i, k) => i < 0 || (k > 0 && i <= order[k - 1]))) {
    fail(`rows out of order (${order}): ${JSON.stringify(texts)}`);
  }
  if (texts.some((t) => /可能性があります|may be missing/.test(t))) fail('a recovered resume warned');
}

async function keepsWhatWasTypedAcrossARestart(port, server, aiko, ben) {
  server.kill('SIGINT');
  await until('the relay to stop', () => server.exitCode !== null);
  await until('Aiko to wait for the relay', async () =>
    (await aiko.getAttribute('#status', 'data-state')) === 'reconnecting');
  await send(aiko, '*/typed while the relay restarts');
  const pending = await aiko.$$eval('#log li.own.pending', (items) =>
    items.map((li) => li.textContent));
  if (!pending.some((t) => t.includes('typed while the relay restarts') && /送信中…|sending…/.test(t))) {
    fail(`no pending row: ${JSON.stringify(pending)}`);
  }
  const again = await restart(port, CODE);
  await until('Aiko’s message to be confirmed', async () =>
    (await confirmedRows(aiko, 'typed while the relay restarts')) === 1, 40000);
  const texts = await logTexts(aiko);
  if (!texts.some((t) => /一部のメッセージが表示されていない可能性があります|Some messages may be missing/.test(t))) {
    fail(`a restart was not reported: ${JSON.stringify(texts)}`);
  }
  await until('ベン to get it', async () =>
    count(await logTexts(ben), 'typed while the relay restarts') === 1, 40000);
  await send(aiko, '*/marker');
  await until('ベン to get the marker', async () => count(await logTexts(ben), 'marker') === 1, 20000);
  if (count(await logTexts(ben), 'typed while the relay restarts') !== 1) fail('sent twice');
  return again;
}

// Starts the relay again on `port`. The port may be briefly in use (for example by an
// outgoing connection): try a few times.
async function restart(port, code) {
  for (let attempt = 1; ; attempt += 1) {
    const again = start(serveArgs(port, code), `serve again (code ${code})`);
    await until('the relay to listen or fail', () =>
      again.output.includes('Press Ctrl-C') || again.exitCode !== null);
    if (again.exitCode === null) return again;
    if (attempt === 5) fail('the relay could not listen on its port again');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// A teacher's connection: a plain WebSocket with the host key, opened from a page of the
// relay's own origin. `frames` holds what it received; `send` writes one frame.
async function openHost(base) {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.evaluate((query) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws_multi_client_dict?${query}`, 'classchat.v1');
    window.hostFrames = [];
    window.hostSocket = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      window.hostFrames.push(msg);
      if (msg.type === 'welcome') resolve();
    };
    ws.onclose = () => reject(new Error('the host connection closed'));
  }), `name=Sensei&code=${CODE}&host=${HOST_KEY}`);
  return {
    page,
    send: (frame) => page.evaluate((f) => window.hostSocket.send(JSON.stringify(f)), frame),
    frames: () => page.evaluate(() => window.hostFrames),
  };
}

async function hostGot(host, what, match) {
  await until(what, async () => (await host.frames()).some(match));
}

async function classroom(base, aiko, ben) {
  const host = await openHost(base);
  const welcome = (await host.frames()).find((f) => f.type === 'welcome');
  if (welcome.role !== 'host') fail(`the teacher is not a host: ${JSON.stringify(welcome)}`);

  // The teacher shows with a badge in the roster and on messages.
  await aiko.waitForSelector('#roster li:has-text("Sensei") .badge', { timeout: 15000 });
  await host.send({ type: 'send', to: '*', text: '今日はアンケートをします' });
  await until('Aiko to see the teacher’s message with a badge', async () =>
    (await aiko.$$eval('#log li', (items) => items.filter((li) =>
      li.textContent.includes('今日はアンケートをします') && li.querySelector('.badge')).length)) === 1);

  // A raised hand reaches the teacher's queue.
  await aiko.click('#hand');
  await hostGot(host, 'the hands queue with Aiko', (f) => f.type === 'hands' &&
    f.queue.some((h) => h.id === 'Aiko'));
  if ((await aiko.getAttribute('#hand', 'aria-pressed')) !== 'true') fail('the hand button is not pressed');

  // A poll: the card shows, a vote reaches the tally, and it can be changed.
  await host.send({ type: 'poll', question: '次の授業は?', options: ['月曜', '火曜', '水曜'] });
  await aiko.waitForSelector('#poll:not([hidden]) #poll-options li:nth-child(3)', { timeout: 15000 });
  if ((await aiko.textContent('#poll-question')) !== '次の授業は?') fail('the poll question');
  await aiko.click('#poll-options li:nth-child(2) button');
  await hostGot(host, 'a tally with Aiko’s vote', (f) => f.type === 'tally' &&
    f.counts.join() === '0,1,0' && f.voters === 1);
  await ben.click('#poll-options li:nth-child(2) button');
  await ben.click('#poll-options li:nth-child(3) button');
  await hostGot(host, 'a tally with ベン’s changed vote', (f) => f.type === 'tally' &&
    f.counts.join() === '0,1,1' && f.voters === 2);
  const pressed = await aiko.$$eval('#poll-options button', (bs) =>
    bs.map((b) => b.getAttribute('aria-pressed')));
  if (pressed.join() !== 'false,true,false') fail(`Aiko’s choice is not marked: ${pressed}`);

  // The pinned banner.
  await host.send({ type: 'pin', text: '課題: p.12 を読んでください' });
  await until('the pinned banner', async () => (await aiko.isVisible('#pinned')) &&
    (await aiko.textContent('#pinned-text')) === '課題: p.12 を読んでください');

  if (shots) {
    await aiko.setViewportSize({ width: 1000, height: 760 });
    await aiko.screenshot({ path: join(shots, 'screenshot-page-desktop.png') });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'ja-JP' });
    await phone.goto(`${base}/?name=%E3%81%BF%E3%81%8B&code=${CODE}`); // みか
    await phone.click('#join');
    await phone.waitForSelector('#pinned:not([hidden])', { timeout: 15000 });
    await phone.waitForSelector('#poll:not([hidden])', { timeout: 15000 });
    await phone.click('#poll-options li:nth-child(1) button');
    await send(phone, 'Sensei/質問があります');
    await until('the phone’s question to be confirmed', async () =>
      (await confirmedRows(phone, '質問があります')) === 1);
    await phone.screenshot({ path: join(shots, 'screenshot-page-phone.png'), fullPage: true });
    await phone.close();
  }

  // Closing the poll shows the result as bars, and the card takes no more votes.
  const { poll } = (await host.frames()).find((f) => f.type === 'poll');
  await host.send({ type: 'poll_close', poll });
  await hostGot(host, 'the poll result', (f) => f.type === 'poll_result');
  const { counts } = (await host.frames()).find((f) => f.type === 'poll_result');
  await until('the result bars', async () => (await aiko.$$('#poll .fill')).length === 3);
  if (!(await aiko.isDisabled('#poll-options li:nth-child(1) button'))) fail('a closed poll takes votes');
  const shown = await aiko.$$eval('#poll .count', (cs) => cs.map((c) => Number(c.textContent)));
  const widths = await aiko.$$eval('#poll .fill', (fills) => fills.map((f) => f.style.width));
  const most = Math.max(...counts);
  if (shown.join() !== counts.join() || widths.join() !== counts.map((n) => `${(100 * n) / most}%`).join()) {
    fail(`the bars do not match the counts ${counts}: ${shown} ${widths}`);
  }

  // Room modes: a hint, and a message to everyone is held back on the page with the reason.
  await host.send({ type: 'room', student_broadcast: false });
  await until('the room hint', async () => /全員へのメッセージを止めています|turned off messages to everyone/
    .test((await aiko.isVisible('#room-hint')) ? await aiko.textContent('#room-hint') : ''));
  await send(aiko, '*/can everyone hear me?');
  if (!/全員へのメッセージを止めています|turned off messages to everyone/.test(await aiko.textContent('#hint'))) {
    fail('no hint for a message the room does not allow');
  }
  if ((await aiko.inputValue('#message')) !== '*/can everyone hear me?') fail('the held-back text was lost');

  // A refusal from the relay shows in the page's language, not as the relay's sentence.
  // The host's frames are handled in order: once Aiko sees the pin sent after the mute, the
  // mute holds.
  await host.send({ type: 'mute', id: 'Aiko', muted: true });
  await host.send({ type: 'pin', text: 'ミュートしました' });
  await until('the pin after the mute', async () =>
    (await aiko.textContent('#pinned-text')) === 'ミュートしました');
  await send(aiko, 'Sensei/muted?');
  await until('the refusal in the page’s language', async () =>
    (await logTexts(aiko)).some((t) => /先生にミュートされています|The teacher has muted you/.test(t)));
  if ((await logTexts(aiko)).some((t) => t.includes('the host has muted you'))) {
    fail('the relay’s English sentence shows');
  }
  if ((await aiko.$$eval('#log li.not-sent', (items) =>
    items.filter((li) => li.textContent.includes('muted?')).length)) !== 1) {
    fail('the refused message is not marked as not sent');
  }
  await host.send({ type: 'mute', id: 'Aiko', muted: false });
  await host.send({ type: 'room', student_broadcast: true });
  await host.send({ type: 'pin', text: '' });
  await until('the banner to go', async () => !(await aiko.isVisible('#pinned')));
  await until('the room hint to go', async () => !(await aiko.isVisible('#room-hint')));
  await host.page.close();

  // The relay's "host join page" link: the page joins as a host (badge, no hand to raise)
  // and drops the key from the address bar.
  const helper = await openPage(base, `?name=Helper&code=${CODE}&host=${HOST_KEY}`);
  await helper.waitForSelector('#my-badge', { state: 'visible', timeout: 15000 });
  if (await helper.isVisible('#hand')) fail('a host is offered a hand to raise');
  if (new URL(helper.url()).searchParams.has('host')) fail('the host key stays in the address bar');
  await helper.close();
}

// On a phone-sized screen every name in the roster is visible, the message box's placeholder
// fits, and nothing the page asks for (the favicon included) is missing.
async function phoneLayout(base) {
  for (const path of ['/favicon.ico', '/favicon.svg']) {
    const res = await fetch(`${base}${path}`);
    if (res.status !== 200) fail(`${path}: ${res.status}`);
    if (!(res.headers.get('content-type') || '').startsWith('image/svg+xml')) fail(`${path}: type`);
  }
  const extra = [];
  for (const name of ['Chika', 'Daichi', 'Emi']) extra.push(await openPage(base, `?name=${name}&code=${CODE}`));
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const missing = [];
  phone.on('response', (r) => { if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`); });
  await phone.goto(`${base}/?name=Phone&code=${CODE}`);
  await phone.click('#join');
  await phone.waitForSelector(connectedState, { timeout: 15000 });
  await until('the phone roster to list everyone', async () =>
    Number(await phone.textContent('#count')) >= 6);
  const layout = await phone.evaluate(() => {
    const aside = document.querySelector('aside');
    aside.scrollTop = 0;
    const box = aside.getBoundingClientRect();
    const names = [...document.querySelectorAll('#roster li button')].map((b) => {
      const r = b.getBoundingClientRect();
      return { name: b.textContent, visible: r.top >= box.top && r.bottom <= box.bottom && r.width > 0 };
    });
    const input = document.getElementById('message');
    const style = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${style.fontSize} ${style.fontFamily}`;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return { names, placeholder: ctx.measureText(input.placeholder).width, room };
  });
  const hidden = layout.names.filter((n) => !n.visible).map((n) => n.name);
  if (layout.names.length < 6 || hidden.length) {
    fail(`roster names not visible on a phone: ${hidden.join(', ')} of ${layout.names.length}`);
  }
  if (layout.placeholder > layout.room) {
    fail(`the placeholder is cut: ${layout.placeholder} px in ${layout.room} px`);
  }
  await phone.click('#lang');
  const en = await phone.evaluate(() => {
    const input = document.getElementById('message');
    const ctx = document.createElement('canvas').getContext('2d');
    const style = getComputedStyle(input);
    ctx.font = `${style.fontSize} ${style.fontFamily}`;
    return ctx.measureText(input.placeholder).width <=
      input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  });
  if (!en) fail('the other language’s placeholder is cut');
  await phone.click('#lang');
  if (missing.length) fail(`the page asked for what is not there: ${missing.join(', ')}`);
  await phone.close();
  for (const p of extra) await p.close();
}

// The host restarts with a new join code: the page stops retrying the old one, asks for the
// new one, and chat works once it is typed.
async function asksForAChangedCode(port, server, aiko, ben) {
  server.kill('SIGINT');
  await until('the relay to stop', () => server.exitCode !== null);
  await until('Aiko to wait for the relay', async () =>
    (await aiko.getAttribute('#status', 'data-state')) === 'reconnecting');
  // While the connection is down, the page says so.
  await aiko.click('#hand');
  if (!/接続が切れました|Connection lost/.test(await aiko.textContent('#hint'))) {
    fail('no hint while disconnected');
  }
  const again = await restart(port, NEW_CODE);
  for (const page of [aiko, ben]) {
    await page.waitForSelector('#code', { state: 'visible', timeout: 40000 });
    if (!/参加コードが変わりました|join code has changed/.test(await page.textContent('#join-error'))) {
      fail(`no changed-code message: ${await page.textContent('#join-error')}`);
    }
    if (!(await page.evaluate(() => document.activeElement && document.activeElement.id === 'code'))) {
      fail('the code field is not focused');
    }
    if ((await page.getAttribute('#status', 'data-state')) === 'reconnecting') fail('still retrying');
    await page.fill('#code', NEW_CODE);
    await page.click('#join');
    await page.waitForSelector(connectedState, { timeout: 15000 });
  }
  // “Connection lost” is gone once the page is back.
  if (await aiko.textContent('#hint')) fail(`a stale hint: ${await aiko.textContent('#hint')}`);
  await send(aiko, '*/新しいコードで参加しました');
  await until('ベン to get it', async () =>
    count(await logTexts(ben), '新しいコードで参加しました') === 1, 20000);
  return again;
}

try {
  await main();
} catch (e) {
  console.error(`browser end-to-end FAILED: ${e.message}`);
  for (const c of children) console.error(`--- ${c.name} output ---\n${c.output}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
}
