// The live headset page in a real browser: Debian's headless Chromium, driven by Playwright,
// against `epocd serve --virtual 2` where headset 2 has a flat (off-the-scalp) O1 sensor.
// An independent Cortex client (the `ws` library, epocd's CA) subscribes to the same streams,
// so what the page shows is compared with what the API says at the same frame.
//
// Usage: node page_test.mjs PATH/TO/epocd ARTEFACT_DIR
// Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const [epocd, artefacts = 'target/browser'] = process.argv.slice(2);
if (!epocd) {
  console.error('usage: node page_test.mjs PATH/TO/epocd [ARTEFACT_DIR]');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const results = { passed: 0, failed: 0 };
function check(name, ok, detail = '') {
  results[ok ? 'passed' : 'failed'] += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? `  (${detail})` : ''}`);
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the daemon

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'epocd-page-'));
const script = path.join(work, 'faults.script');
fs.writeFileSync(script, '# headset 2: O1 off the scalp (flat signal, no contact)\n0 flat:O1@2\n');
const port = 20000 + Math.floor(Math.random() * 20000);
// LSL on (the page lists the outlets), with the loopback-only LSL configuration: nothing of
// this test may leave the machine.
const lslConfig = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'conformance', 'lsl_api.cfg');
if (!fs.existsSync(lslConfig)) throw new Error(`the loopback-only LSL configuration is missing: ${lslConfig}`);
const daemon = spawn(epocd, ['serve', '--virtual', '2', '--virtual-script', script, '--data-dir', path.join(work, 'data'),
  '--listen', `127.0.0.1:${port}`, '--no-hotplug', '--ble-scan', '0', '--lsl'],
{ stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LSLAPICFG: lslConfig } });
let daemonLog = '';
daemon.stderr.on('data', (d) => { daemonLog += d; });
const pageUrl = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`epocd did not print the page address in 20 s:\n${out}\n${daemonLog}`)), 20000);
  daemon.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/headset page at (\S+)/);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  daemon.on('exit', (code) => reject(new Error(`epocd exited (${code}):\n${daemonLog}`)));
});
check('epocd prints the page address at start', pageUrl === `https://localhost:${port}/`, pageUrl);
const ca = fs.readFileSync(path.join(work, 'data', 'tls', 'epocd-ca.pem'));
const wsUrl = `wss://localhost:${port}/`;

// ------------------------------------------------------------------ an independent Cortex client

class Client {
  constructor(origin) {
    this.frames = [];
    this.next = 1;
    this.pending = new Map();
    this.ws = new WebSocket(wsUrl, { ca, headers: origin ? { Origin: origin } : {} });
    this.ready = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.on('error', reject);
    });
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.id !== undefined && this.pending.has(m.id)) {
        this.pending.get(m.id)(m);
        this.pending.delete(m.id);
      } else {
        this.frames.push(m);
      }
    });
  }

  call(method, params = {}) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${method}: no answer`)), 10000);
      this.pending.set(id, (m) => { clearTimeout(t); resolve(m); });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }
}

const probe = new Client();
await probe.ready;
await probe.call('requestAccess', { clientId: 'browser-test', clientSecret: 'browser-test-secret' });
const token = (await probe.call('authorize', { clientId: 'browser-test', clientSecret: 'browser-test-secret' })).result.cortexToken;
let headsets = [];
for (let i = 0; i < 50; i++) {
  headsets = (await probe.call('queryHeadsets')).result;
  if (headsets.length === 2 && headsets.every((h) => h.status === 'connected')) break;
  await sleep(200);
}
const [h1, h2] = headsets.map((h) => h.id).sort();
check('two virtual headsets are connected', headsets.length === 2 && h1 && h2, JSON.stringify(headsets));
const session = (await probe.call('createSession', { cortexToken: token, headset: h2, status: 'active' })).result.id;
const sub = (await probe.call('subscribe', { cortexToken: token, session, streams: ['dev', 'eq'] })).result;
const cols = Object.fromEntries(sub.success.map((s) => [s.streamName, s.cols]));

// ------------------------------------------------------------------ the browser

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const errors = [];
const elsewhere = [];
let failedEarly = null;
try {
  // epocd's CA is not in this throwaway profile: accept its certificate for this test only.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1500 } });
  const local = (u) => u.startsWith(`https://localhost:${port}/`) || u.startsWith(`wss://localhost:${port}/`);
  context.on('request', (r) => { if (!local(r.url())) elsewhere.push(r.url()); });
  await context.route('**/*', (route) => (local(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  const sockets = [];
  page.on('websocket', (w) => { sockets.push(w.url()); if (!local(w.url())) elsewhere.push(w.url()); });

  const response = await page.goto(pageUrl);
  check('GET / over https returns the page', response.status() === 200 && (await page.title()).includes('epocd'),
    `${response.status()}`);
  const csp = response.headers()['content-security-policy'] || '';
  check('the page is served with a strict Content-Security-Policy', csp.includes("default-src 'none'") &&
    csp.includes(`connect-src wss://localhost:${port}`), csp);

  const streaming = async (id) => page.waitForFunction((want) => {
    const s = document.getElementById('status');
    return s.dataset.state === 'connected' && document.getElementById('headset').value === want;
  }, id, { timeout: 15000 });
  await streaming(h1);
  check('the page talks to epocd over the Cortex API (its own WebSocket)', sockets.some((u) => u === wsUrl), sockets.join(' '));
  const options = await page.$$eval('#headset option', (os) => os.map((o) => o.value));
  check('the selector shows both headsets', options.length === 2 && options.includes(h1) && options.includes(h2),
    options.join(', '));

  // Headset 1: every sensor good.
  await page.waitForFunction(() => [...document.querySelectorAll('#sensor-table tbody tr')]
    .every((r) => r.cells[1].textContent === 'Good (4)' && /^(Good \(4\)|Fair \(3\))$/.test(r.cells[2].textContent)),
  null, { timeout: 15000 }).then(() => check('headset 1: all 14 sensors good in contact and EEG quality', true))
    .catch(async () => check('headset 1: all 14 sensors good in contact and EEG quality', false,
      await page.$eval('#sensor-table', (t) => t.innerText)));

  // Headset 2: O1 is off the scalp.
  await page.selectOption('#headset', h2);
  await streaming(h2);
  const o1Bad = await page.waitForFunction(() => {
    const r = document.getElementById('row-O1');
    return r.cells[1].textContent === 'No signal (0)' && r.cells[2].textContent === 'No signal (0)';
  }, null, { timeout: 15000 }).then(() => true).catch(() => false);
  check('headset 2: O1 is labelled "No signal (0)" for contact and EEG quality', o1Bad,
    await page.$eval('#row-O1', (r) => r.innerText));
  const fills = await page.evaluate(() => Object.fromEntries(['O1', 'AF3', 'T8', 'O2'].map((n) => {
    const g = document.getElementById(`sensor-${n}`);
    return [n, { circle: getComputedStyle(g.querySelector('circle')).fill, square: getComputedStyle(g.querySelector('rect')).fill }];
  })));
  check('O1 is drawn in the no-contact colour (black), circle and EEG-quality square',
    fills.O1.circle === 'rgb(0, 0, 0)' && fills.O1.square === 'rgb(0, 0, 0)', JSON.stringify(fills.O1));
  check('the other sensors are drawn in the good colour (green)', ['AF3', 'T8', 'O2'].every((n) => fills[n].circle === 'rgb(46, 125, 50)'),
    JSON.stringify(fills));
  const others = await page.$$eval('#sensor-table tbody tr', (rows) => rows.filter((r) => r.id !== 'row-O1')
    .map((r) => [r.cells[1].textContent, r.cells[2].textContent]));
  check('the other 13 sensors are labelled good', others.length === 13 &&
    others.every(([c, e]) => c === 'Good (4)' && /^(Good \(4\)|Fair \(3\))$/.test(e)), JSON.stringify(others));
  const problem = await page.$eval('#problem', (p) => (p.hidden ? '' : p.textContent));
  check('the page names the poor sensor and what to do', problem.includes('O1') && /saline/.test(problem), problem);

  await page.check('#safe-colours');
  const safe = await page.evaluate(() => ['O1', 'AF3'].map((n) =>
    getComputedStyle(document.querySelector(`#sensor-${n} circle`)).fill));
  check('the colour-blind-safe palette recolours the map (labels unchanged)',
    safe[0] === 'rgb(0, 0, 0)' && safe[1] === 'rgb(0, 114, 178)', safe.join(' '));
  await page.uncheck('#safe-colours');

  // Traces move.
  const before = await page.$eval('#traces', (c) => ({ n: Number(c.dataset.samples), img: c.toDataURL() }));
  await sleep(1000);
  const after = await page.$eval('#traces', (c) => ({ n: Number(c.dataset.samples), img: c.toDataURL() }));
  const gained = after.n - before.n;
  check('the traces move (about 256 new samples a second, redrawn)', gained > 150 && gained < 400 && after.img !== before.img,
    `${gained} samples`);

  // Battery and overall numbers equal those of the dev/eq streams at the same frame.
  let compared = null;
  for (let attempt = 0; attempt < 20 && !compared; attempt++) {
    const shown = await page.evaluate(() => Object.fromEntries(['battery', 'cq-overall', 'eq-overall', 'loss'].map((id) => {
      const el = document.getElementById(id);
      return [id, { text: el.textContent, time: el.dataset.time }];
    })));
    await sleep(300);
    const dev = probe.frames.find((f) => f.dev && String(f.time) === shown.battery.time);
    const eq = probe.frames.find((f) => f.eq && String(f.time) === shown['eq-overall'].time);
    if (dev && eq && shown['cq-overall'].time === shown.battery.time) compared = { shown, dev, eq };
  }
  if (check('the page and an independent client see the same dev and eq frames', compared !== null)) {
    const { shown, dev, eq } = compared;
    const at = (stream, name) => cols[stream].indexOf(name);
    const battery = dev.dev[at('dev', 'BatteryPercent')];
    const cqOverall = dev.dev[2][14];
    const eqOverall = eq.eq[at('eq', 'overall')];
    const loss = ((1 - eq.eq[at('eq', 'sampleRateQuality')]) * 100).toFixed(1);
    check('battery equals the dev stream', shown.battery.text === `${battery} %`, `${shown.battery.text} vs ${battery}`);
    check('overall contact quality equals the dev stream', shown['cq-overall'].text === String(cqOverall),
      `${shown['cq-overall'].text} vs ${cqOverall}`);
    check('overall EEG quality equals the eq stream', shown['eq-overall'].text === String(eqOverall),
      `${shown['eq-overall'].text} vs ${eqOverall}`);
    check('packet loss equals the eq stream', shown.loss.text === `${loss} %`, `${shown.loss.text} vs ${loss}`);
    check('the bad sensor lowers both overall numbers', cqOverall < 100 && eqOverall < 100, `${cqOverall} ${eqOverall}`);
  }

  // Records, markers and LSL as the page tells them.
  const textOf = (id) => page.$eval(`#${id}`, (e) => e.textContent);
  const waitText = (id, re, ms = 3000) => page.waitForFunction(([i, src]) =>
    new RegExp(src).test(document.getElementById(i).textContent), [id, re.source], { timeout: ms })
    .then(() => true).catch(() => false);
  check('the page says nothing is recording', await waitText('record-status', /^Not recording$/), await textOf('record-status'));
  check("the page lists the headset's LSL outlets", await waitText('lsl-status', new RegExp(`${h2} EEG.*${h2} Markers`)),
    await textOf('lsl-status'));
  const rec = await probe.call('createRecord', { cortexToken: token, session, title: 'browser test' });
  check('the page shows a record in progress within 3 s', !rec.error && await waitText('record-status', /^Recording: 1 record, \d+:\d\d so far/),
    await textOf('record-status'));
  await probe.call('injectMarker', { cortexToken: token, session, label: 'page-marker', value: 7, port: 'test', time: Date.now() });
  check('the page shows an injected marker within 3 s', await waitText('marker-status', /page-marker/), await textOf('marker-status'));
  await probe.call('stopRecord', { cortexToken: token, session });
  check('the page shows the record stopped within 3 s', await waitText('record-status', /^Not recording$/), await textOf('record-status'));

  // Accessibility of the markup (axe-core: labels, names, contrast, structure).
  await page.evaluate(AXE_SOURCE);
  const axe = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const report = axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  check(`axe-core finds no accessibility violation (${axe.passes.length} rules pass)`, axe.violations.length === 0,
    report.join('; '));

  fs.mkdirSync(artefacts, { recursive: true });
  const shot = path.join(artefacts, 'headset-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  check(`screenshot kept: ${shot}`, fs.statSync(shot).size > 10000);

  // Origins: the page's own is local; another site's is refused.
  const own = new Client(`https://localhost:${port}`);
  check("a WebSocket from the page's own origin is accepted", await own.ready.then(() => true).catch(() => false));
  own.ws.close();
  const foreign = new Client('https://evil.example');
  const refused = await foreign.ready.then(() => 'accepted').catch((e) => e.message);
  check('a WebSocket from another site is refused (403)', refused === 'HTTP 403', refused);
  const rebind = await fetchStatus(port, 'evil.example');
  check('the page is not given to another host name (DNS rebinding: 421)', rebind === 421, String(rebind));

  // Frames stop while the headset is still listed as connected (here epocd itself is frozen
  // with SIGSTOP, its socket open): the page must say within 3 s that no data comes, and drop
  // the banner once frames flow again.
  const stateOf = () => page.$eval('#status', (e) => `${e.dataset.state}: ${e.textContent}`);
  daemon.kill('SIGSTOP');
  const stopAt = Date.now();
  const stale = await page.waitForFunction(() => document.getElementById('status').dataset.state === 'stale' &&
    /^No data from the headset for \d+ s\./.test(document.getElementById('problem').textContent), null, { timeout: 3000 })
    .then(() => true).catch(() => false);
  const staleAfter = Date.now() - stopAt;
  const staleShown = `${await stateOf()} | ${await textOf('problem')}`;
  daemon.kill('SIGCONT');
  check('frames stop, headset still listed: "No data from the headset" within 3 s', stale, staleShown);
  console.log(`     (shown after ${staleAfter} ms)`);
  const resumed = await page.waitForFunction(() => document.getElementById('status').dataset.state === 'connected' &&
    !/No data/.test(document.getElementById('problem').textContent), null, { timeout: 5000 })
    .then(() => true).catch(() => false);
  check('frames again: the page says streaming and the banner is gone', resumed, `${await stateOf()} | ${await textOf('problem')}`);

  // Unplugging: disconnect headset 2 through the API; the page must say so within 2 s.
  check('no console error or warning while streaming', errors.length === 0, errors.join(' | '));
  const t0 = Date.now();
  const off = await probe.call('controlDevice', { cortexToken: token, command: 'disconnect', headset: h2 });
  const shown = await page.waitForFunction(() => document.getElementById('status').dataset.state === 'disconnected' &&
    /disconnected/i.test(document.getElementById('status').textContent), null, { timeout: 2000 })
    .then(() => true).catch(() => false);
  const took = Date.now() - t0;
  check('a disconnected headset shows "Disconnected" within 2 s', !off.error && shown, `${took} ms`);
  console.log(`     (shown after ${took} ms)`);

  // epocd stops: the page says so (the browser then logs failed reconnects, which is expected).
  daemon.kill('SIGTERM');
  const gone = await page.waitForFunction(() => /epocd is not answering/.test(document.getElementById('problem').textContent),
    null, { timeout: 5000 }).then(() => true).catch(() => false);
  check('when epocd stops, the page says it is not answering', gone);
} catch (e) {
  failedEarly = e;
} finally {
  await browser.close();
  daemon.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
if (failedEarly) check('the browser test ran to the end', false, failedEarly.stack);
check('no request left localhost', elsewhere.length === 0, elsewhere.join(' '));
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed === 0 ? 0 : 1);

/// The HTTP status of GET / with another Host header (TLS to 127.0.0.1).
async function fetchStatus(p, host) {
  const https = await import('node:https');
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port: p, path: '/', headers: { Host: host }, ca, servername: 'localhost' },
      (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}
