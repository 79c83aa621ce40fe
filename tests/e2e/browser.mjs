// End-to-end: two browser pages (headless Chromium) and one terminal client talk through
// `classchat serve`, and a message containing <script> shows as text. A page resumes its
// session after a reload and after being away, showing what it missed exactly once, and keeps
// what was typed while the relay restarted until it is confirmed.
//
// Usage: node browser.mjs PATH/TO/classchat [SCREENSHOT_DIR]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const binary = process.argv[2];
const shots = process.argv[3];
if (!binary) {
  console.error('usage: node browser.mjs PATH/TO/classchat [SCREENSHOT_DIR]');
  process.exit(2);
}
const CODE = '2468';
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

function serveArgs(port) {
  return ['serve', '--bind', '127.0.0.1', '--port', String(port), '--join-code', CODE,
    '--no-announce'];
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
  }

  await resumesAfterReloadAndAway(base, aiko, ben, term);

  term.stdin.end();
  await until('the terminal client to leave', () => term.exitCode !== null);
  if (term.exitCode !== 0) fail(`terminal client exited with ${term.exitCode}`);

  server = await keepsWhatWasTypedAcrossARestart(port, server, aiko, ben);
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
  // The port may be briefly in use (for example by an outgoing connection): try a few times.
  let again;
  for (let attempt = 1; ; attempt += 1) {
    again = start(serveArgs(port), 'serve again');
    await until('the relay to listen or fail', () =>
      again.output.includes('Press Ctrl-C') || again.exitCode !== null);
    if (again.exitCode === null) break;
    if (attempt === 5) fail('the relay could not listen on its port again');
    await new Promise((r) => setTimeout(r, 1000));
  }
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
