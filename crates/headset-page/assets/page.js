// The live headset page: an ordinary local Cortex app. It opens a WebSocket to the daemon that
// served it, asks for access, opens a session on the chosen headset and subscribes to dev, eq,
// pow, met, fac and eeg, exactly as any app would. It changes nothing: no connect, no record.
'use strict';

const CLIENT_ID = 'org.epocd.headset-page';
// Bound to the clientId at its first grant; the page's code is public, so this only keeps
// other apps from using the page's name by mistake.
const CLIENT_SECRET = 'epocd-headset-page-read-only';
const STREAMS = ['dev', 'eq', 'pow', 'met', 'fac', 'eeg'];
const SENSORS = ['AF3', 'F7', 'F3', 'FC5', 'T7', 'P7', 'O1', 'O2', 'P8', 'T8', 'FC6', 'F4', 'F8', 'AF4'];
const LEVELS = ['No signal', 'Bad', 'Poor', 'Fair', 'Good'];
// Sensor positions on a 10-20 head seen from above, nose up (unit radius ~100).
const POSITIONS = {
  AF3: [-28, -80], AF4: [28, -80], F7: [-68, -52], F8: [68, -52], F3: [-36, -50], F4: [36, -50],
  FC5: [-62, -22], FC6: [62, -22], T7: [-92, 4], T8: [92, 4], P7: [-72, 56], P8: [72, 56],
  O1: [-28, 90], O2: [28, 90],
};
const REFERENCES = { CMS: [-40, 48], DRL: [40, 48] };
const METRICS = { attention: 'Attention', eng: 'Engagement', exc: 'Excitement', lex: 'Long-term excitement',
  str: 'Stress', rel: 'Relaxation', int: 'Interest' };
const BANDS = ['theta', 'alpha', 'betaL', 'betaH', 'gamma'];
const NO_DATA_MS = 1500;     // no frame for this long: the headset is off or out of range
const POLL_MS = 1000;        // queryHeadsets
const WINDOW_S = 5;          // seconds of trace on screen
const HIGH_PASS_HZ = 0.5;    // display-only high-pass
const ADC_TOP_UV = 8401.9;   // a sample within 80 µV of either end is railing

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- Cortex over WebSocket

class CortexError extends Error {
  constructor(error) { super(`${error.message} (${error.code})`); this.code = error.code; }
}

class Cortex {
  constructor(url, onEvent, onClose) {
    this.nextId = 1;
    this.pending = new Map();
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error('cannot reach epocd'));
    });
    this.ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (m.id !== undefined && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new CortexError(m.error)); else p.resolve(m.result);
      } else {
        onEvent(m);
      }
    };
    this.ws.onclose = () => {
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('epocd closed the connection')); }
      this.pending.clear();
      onClose();
    };
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in 10 s`));
      }, 10000);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params || {} }));
    });
  }

  close() { try { this.ws.close(); } catch (_) { /* already closed */ } }
}

// ---------------------------------------------------------------- state

const page = {
  cortex: null,
  token: null,
  headsets: [],
  chosen: null,         // headset id the user looks at
  session: null,        // {id, headset, cols: {stream: cols}}
  opening: false,
  lastFrameAt: 0,
  ended: null,          // why the last session ended (warning text), shown as disconnected
  cannotConnect: new Map(), // headsetId → behavior (warning 101)
  markers: { count: 0, last: null },
  facEvents: [],
  lastFac: { eye: 'neutral', upper: 'neutral', lower: 'neutral' },
  traces: null,
  latest: { cq: null },
};

// ---------------------------------------------------------------- the static parts

function buildHeadMap() {
  const ns = 'http://www.w3.org/2000/svg';
  const g = $('sensors');
  const make = (tag, attrs, parent) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    parent.appendChild(el);
    return el;
  };
  for (const [name, [x, y]] of Object.entries(REFERENCES)) {
    const r = make('g', { class: 'reference', id: `ref-${name}` }, g);
    make('title', {}, r).textContent = `${name} (reference)`;
    make('rect', { x: x - 12, y: y - 8, width: 24, height: 16, rx: 3 }, r);
    make('text', { x, y }, r).textContent = name;
  }
  for (const name of SENSORS) {
    const [x, y] = POSITIONS[name];
    const s = make('g', { class: 'sensor', id: `sensor-${name}`, 'data-cq': '', 'data-eq': '' }, g);
    make('title', {}, s).textContent = name;
    make('circle', { cx: x, cy: y, r: 13, class: 'q0' }, s);
    make('text', { x, y, class: 'q0' }, s).textContent = name;
    make('rect', { x: x + 9, y: y - 17, width: 9, height: 9, class: 'q0' }, s);
  }
  const tbody = $('sensor-table').tBodies[0];
  const bands = $('pow-table').tBodies[0];
  for (const name of SENSORS) {
    const tr = rowWithHeader(tbody, name);
    tr.id = `row-${name}`;
    tr.insertCell().className = 'level cq';
    tr.insertCell().className = 'level eq';
    const br = rowWithHeader(bands, name);
    for (const band of BANDS) {
      const td = br.insertCell();
      td.className = 'num';
      td.id = `pow-${name}-${band}`;
      td.textContent = '—';
    }
  }
  const legend = $('legend');
  LEVELS.forEach((label, level) => {
    const li = document.createElement('li');
    li.className = `q${level}`;
    li.textContent = `${level} ${label}`;
    legend.appendChild(li);
  });
  const metBody = $('met-table').tBodies[0];
  for (const [key, label] of Object.entries(METRICS)) {
    const tr = rowWithHeader(metBody, label);
    tr.id = `met-${key}`;
    const v = tr.insertCell();
    v.className = 'num value';
    v.textContent = '—';
    tr.insertCell().className = 'state';
  }
}

/// A new table row whose first cell is a row header saying `text`.
function rowWithHeader(tbody, text) {
  const tr = tbody.insertRow();
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = text;
  tr.appendChild(th);
  return tr;
}

function levelText(level) {
  return Number.isInteger(level) && level >= 0 && level <= 4 ? `${LEVELS[level]} (${level})` : '—';
}

function setLevelClass(el, level) {
  const cls = (el.getAttribute('class') || '').split(/\s+/).filter((c) => !/^q[0-4]$/.test(c));
  if (Number.isInteger(level)) cls.push(`q${level}`);
  el.setAttribute('class', cls.join(' ').trim());
}

// ---------------------------------------------------------------- status and problems

function setStatus(kind, text) {
  const el = $('status');
  el.className = kind;
  el.dataset.state = kind;
  if (el.textContent !== text) el.textContent = text;
}

function setProblem(title, detail) {
  const el = $('problem');
  if (!title) {
    if (!el.hidden) { el.hidden = true; el.textContent = ''; }
    return;
  }
  const key = `${title}\n${detail}`;
  if (el.dataset.key === key && !el.hidden) return;
  el.dataset.key = key;
  el.textContent = '';
  const strong = document.createElement('strong');
  strong.textContent = title;
  el.appendChild(strong);
  el.appendChild(document.createTextNode(detail));
  el.hidden = false;
}

/// What is wrong now and what to do, most important first.
function diagnose() {
  const h = page.headsets.find((x) => x.id === page.chosen);
  if (!page.cortex || !page.token) return; // connect() tells
  if (page.headsets.length === 0) {
    const why = [...page.cannotConnect.values()];
    if (why.length > 0) {
      setProblem('A headset is there but epocd cannot use it.', why.join(' '));
    } else {
      setProblem('No headset found.',
        'Turn the headset on (its light shows) and plug the USB receiver in, or pair it by Bluetooth. ' +
        'If the receiver is plugged in, run `epocd devices` in a terminal: it names any permission problem and the udev fix.');
    }
    return;
  }
  if (!h && page.chosen) {
    setProblem(`Headset ${page.chosen} is gone.`,
      'Its receiver was unplugged or it was removed. Plug it in again, or choose another headset above.');
    return;
  }
  if (h && h.status !== 'connected') {
    setProblem(`Headset ${h.id} is disconnected.`,
      'It was switched off, unplugged or went out of range. Turn it on and bring it within a few metres of the receiver; the page picks it up again by itself.');
    return;
  }
  if (page.session && performance.now() - page.lastFrameAt > NO_DATA_MS) {
    const s = Math.round((performance.now() - page.lastFrameAt) / 1000);
    setProblem(`No data from the headset for ${s} s.`,
      'It is off, out of range or its battery is flat. Turn it on and bring it closer to the receiver.');
    return;
  }
  const cq = page.latest.cq;
  if (cq && cq.every((l) => l === 0)) {
    setProblem('No sensor has contact.',
      'Wet the two reference sensors (CMS and DRL, behind the ears) with saline and press them to the skin first; the other sensors cannot show contact without them.');
    return;
  }
  if (cq) {
    const poor = SENSORS.filter((_, i) => cq[i] <= 2);
    if (poor.length > 0) {
      setProblem(`Poor contact: ${poor.join(', ')}.`,
        'Wet these sensors with saline, part the hair under them and press them gently to the scalp.');
      return;
    }
  }
  setProblem(null);
}

// ---------------------------------------------------------------- headsets and the session

function renderHeadsets() {
  const select = $('headset');
  const want = `${page.chosen}:` + page.headsets.map((h) => `${h.id}|${h.status}|${h.connectedBy}`).join(',');
  if (select.dataset.list === want) return;
  select.dataset.list = want;
  select.textContent = '';
  if (page.headsets.length === 0) {
    const o = document.createElement('option');
    o.value = '';
    o.textContent = '(no headset)';
    select.appendChild(o);
    return;
  }
  for (const h of page.headsets) {
    const o = document.createElement('option');
    o.value = h.id;
    o.textContent = `${h.id} — ${h.connectedBy}, ${h.status}`;
    select.appendChild(o);
  }
  if (page.chosen && !page.headsets.some((h) => h.id === page.chosen)) {
    const o = document.createElement('option');
    o.value = page.chosen;
    o.textContent = `${page.chosen} — gone`;
    select.appendChild(o);
  }
  select.value = page.chosen || '';
}

function renderDevice() {
  const h = page.headsets.find((x) => x.id === page.chosen);
  $('model').textContent = h ? (h.settings && h.settings.mode) || h.id.split('-')[0] : '—';
  $('serial').textContent = h ? h.id.split('-').slice(1).join('-') : '—';
  $('connection').textContent = h ? `${h.connectedBy}${h.isVirtual ? ' (not a real headset)' : ''}` : '—';
  if (!h && page.chosen) {
    setStatus('disconnected', `Disconnected: ${page.chosen} is gone (receiver unplugged?)`);
  } else if (!h) {
    setStatus('disconnected', page.headsets.length ? 'Choose a headset.' : 'No headset.');
  } else if (h.status !== 'connected') {
    setStatus('disconnected', `Disconnected${page.ended ? `: ${page.ended}` : ''}`);
  } else if (page.session && performance.now() - page.lastFrameAt > NO_DATA_MS) {
    setStatus('stale', 'Connected, but no data: headset off or out of range');
  } else if (page.session) {
    setStatus('connected', `Connected, streaming (${h.settings ? h.settings.eegRate : '?'} Hz)`);
  } else {
    setStatus('connecting', 'Opening a session…');
  }
}

async function pollHeadsets() {
  const list = await page.cortex.call('queryHeadsets', {});
  page.headsets = Array.isArray(list) ? list : [];
  // A headset that goes away stays chosen (shown as gone) until the user picks another.
  if (!page.chosen) {
    const first = page.headsets.find((h) => h.status === 'connected') || page.headsets[0];
    page.chosen = first ? first.id : null;
  }
  renderHeadsets();
  const h = page.headsets.find((x) => x.id === page.chosen);
  if (page.session && (!h || h.status !== 'connected' || page.session.headset !== page.chosen)) {
    await closeSession();
  }
  if (h && h.status === 'connected' && !page.session && !page.opening) {
    await openSession(h);
  }
  if (h && page.token) {
    try {
      renderActivity(await page.cortex.call('epocd.headsetActivity', { cortexToken: page.token, headset: h.id }));
    } catch (_) { /* an older epocd: leave it blank */ }
  }
  if (page.headsets.length === 0 && Date.now() - (page.lastRefresh || 0) > 15000) {
    // Let epocd look for dongles (and tell why one cannot be used: warning 101).
    page.lastRefresh = Date.now();
    page.cortex.call('controlDevice', { command: 'refresh' }).catch(() => {});
  }
  renderDevice();
  diagnose();
}

function duration(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/// Records being written from the headset (no owner: records are private), and LSL.
function renderActivity(a) {
  const records = Array.isArray(a.records) ? a.records : [];
  const rec = $('record-status');
  rec.dataset.records = String(records.length);
  if (records.length === 0) {
    rec.textContent = 'Not recording';
  } else {
    const longest = Math.max(...records.map((r) => r.seconds));
    const samples = records.reduce((n, r) => n + r.samples, 0);
    const durable = records.reduce((n, r) => n + r.durableSamples, 0);
    const safe = samples > 0 ? Math.floor((durable / samples) * 100) : 100;
    rec.textContent = `Recording: ${records.length} record${records.length > 1 ? 's' : ''}, ` +
      `${duration(longest)} so far, ${safe} % safely on disk`;
  }
  const lsl = $('lsl-status');
  const outlets = a.lsl && Array.isArray(a.lsl.outlets) ? a.lsl.outlets : [];
  lsl.dataset.outlets = String(outlets.length);
  lsl.textContent = a.lsl && a.lsl.enabled
    ? (outlets.length ? outlets.join(', ') : 'on, no outlet for this headset yet')
    : 'off (start epocd with --lsl to publish this headset to LSL)';
}

async function openSession(h) {
  page.opening = true;
  try {
    const s = await page.cortex.call('createSession', { cortexToken: page.token, headset: h.id, status: 'active' });
    const session = { id: s.id, headset: h.id, cols: {} };
    page.session = session;
    page.ended = null;
    page.lastFrameAt = performance.now();
    resetView(h);
    const sub = await page.cortex.call('subscribe', { cortexToken: page.token, session: s.id, streams: STREAMS });
    for (const ok of sub.success || []) session.cols[ok.streamName] = ok.cols;
  } catch (e) {
    page.ended = e.message;
  } finally {
    page.opening = false;
  }
}

async function closeSession() {
  const s = page.session;
  page.session = null;
  if (!s) return;
  try {
    await page.cortex.call('updateSession', { cortexToken: page.token, session: s.id, status: 'close' });
  } catch (_) { /* already closed by epocd */ }
}

function resetView(h) {
  const rate = (h.settings && h.settings.eegRate) || 256;
  page.traces = new Traces(rate);
  page.latest = { cq: null };
  page.markers = { count: 0, last: null };
  page.facEvents = [];
  $('fac-events').textContent = '';
  $('marker-status').textContent = 'No marker seen yet.';
  for (const id of ['battery', 'signal', 'loss', 'cq-overall', 'eq-overall']) {
    $(id).textContent = '—';
    delete $(id).dataset.time;
  }
}

// ---------------------------------------------------------------- stream frames

function onEvent(m) {
  if (m.warning) { onWarning(m.warning); return; }
  const s = page.session;
  if (!s || m.sid !== s.id) return;
  page.lastFrameAt = performance.now();
  if (m.dev) onDev(m.dev, m.time);
  if (m.eq) onEq(m.eq, s.cols.eq, m.time);
  if (m.pow) onPow(m.pow, s.cols.pow);
  if (m.met) onMet(m.met, s.cols.met);
  if (m.fac) onFac(m.fac, m.time);
  if (m.eeg) onEeg(m.eeg, s.cols.eeg);
}

function onWarning(w) {
  const msg = w.message || {};
  const text = typeof msg === 'string' ? msg : (msg.behavior || msg.message || '');
  if ((w.code === 0 || w.code === 1) && page.session && (!msg.sessionId || msg.sessionId === page.session.id)) {
    page.session = null;
    page.ended = text || 'the session was closed';
    // Ask at once rather than at the next poll: the headset list tells what happened.
    schedulePoll(0);
  } else if (w.code === 101 && msg.headsetId) {
    page.cannotConnect.set(msg.headsetId, `${msg.headsetId}: ${msg.behavior}`);
    diagnose();
  } else if (w.code === 103 || w.code === 104) {
    schedulePoll(0);
  }
}

function show(id, text, time) {
  const el = $(id);
  el.textContent = text;
  if (time !== undefined) el.dataset.time = String(time);
}

function onDev(v, time) {
  // Battery (0–4), Signal, [14 contact levels, OVERALL], BatteryPercent
  const levels = Array.isArray(v[2]) ? v[2] : [];
  const cq = levels.slice(0, SENSORS.length);
  page.latest.cq = cq;
  show('battery', `${v[3]} %`, time);
  show('signal', `${Math.round(Number(v[1]) * 100)} %`, time);
  show('cq-overall', String(levels[SENSORS.length]), time);
  SENSORS.forEach((name, i) => {
    const g = $(`sensor-${name}`);
    g.dataset.cq = String(cq[i]);
    g.querySelector('title').textContent = `${name}: contact ${levelText(cq[i])}, EEG quality ${levelText(Number(g.dataset.eq))}`;
    setLevelClass(g.querySelector('circle'), cq[i]);
    setLevelClass(g.querySelector('text'), cq[i]);
    const cell = $(`row-${name}`).cells[1];
    cell.textContent = levelText(cq[i]);
    setLevelClass(cell, cq[i]);
  });
  renderDevice();
  diagnose();
}

function onEq(v, cols, time) {
  // batteryPercent, overall, sampleRateQuality, AF3 … AF4
  const at = (name) => (cols ? cols.indexOf(name) : -1);
  show('eq-overall', String(v[at('overall')]), time);
  const srq = Number(v[at('sampleRateQuality')]);
  show('loss', `${((1 - srq) * 100).toFixed(1)} %`, time);
  for (const name of SENSORS) {
    const level = v[at(name)];
    const g = $(`sensor-${name}`);
    g.dataset.eq = String(level);
    setLevelClass(g.querySelector('rect'), level);
    const cell = $(`row-${name}`).cells[2];
    cell.textContent = levelText(level);
    setLevelClass(cell, level);
  }
}

function onPow(v, cols) {
  if (!cols) return;
  cols.forEach((col, i) => {
    const [name, band] = col.split('/');
    const td = $(`pow-${name}-${band}`);
    if (td) td.textContent = Number(v[i]).toPrecision(3);
  });
}

function onMet(v, cols) {
  if (!cols) return;
  for (const key of Object.keys(METRICS)) {
    const i = cols.indexOf(key);
    if (i < 0) continue;
    const a = cols.indexOf(`${key}.isActive`);
    const active = a < 0 ? v[i] !== null : v[a] === true;
    const row = $(`met-${key}`);
    row.cells[1].textContent = v[i] === null || v[i] === undefined ? '—' : Number(v[i]).toFixed(2);
    row.cells[2].textContent = active ? 'active' : 'not active (warming up, artefact or poor contact)';
    row.className = active ? '' : 'inactive';
  }
}

function onFac(v, time) {
  const [eye, upper, upperPow, lower, lowerPow] = v;
  $('fac-eye').textContent = eye;
  $('fac-upper').textContent = upper === 'neutral' ? 'neutral' : `${upper} (${Number(upperPow).toFixed(2)})`;
  $('fac-lower').textContent = lower === 'neutral' ? 'neutral' : `${lower} (${Number(lowerPow).toFixed(2)})`;
  const events = [];
  if (eye !== 'neutral' && eye !== page.lastFac.eye) events.push(eye);
  if (upper !== 'neutral' && upper !== page.lastFac.upper) events.push(upper);
  if (lower !== 'neutral' && lower !== page.lastFac.lower) events.push(lower);
  page.lastFac = { eye, upper, lower };
  for (const e of events) {
    const li = document.createElement('li');
    li.textContent = `${new Date(time * 1000).toLocaleTimeString()} ${e}`;
    const list = $('fac-events');
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 8) list.removeChild(list.lastChild);
  }
}

function onEeg(v, cols) {
  if (!cols) return;
  if (!page.eegIndex || page.eegIndex.cols !== cols) {
    page.eegIndex = { cols, sensors: SENSORS.map((n) => cols.indexOf(n)), markers: cols.indexOf('MARKERS') };
  }
  const idx = page.eegIndex;
  if (page.traces) page.traces.push(idx.sensors.map((i) => Number(v[i])));
  const markers = idx.markers >= 0 ? v[idx.markers] : null;
  if (Array.isArray(markers) && markers.length > 0) {
    page.markers.count += markers.length;
    page.markers.last = markers[markers.length - 1];
    const m = page.markers.last;
    $('marker-status').textContent =
      `${page.markers.count} marker(s) seen; the last: ${m.label || m.value || m.markerId || '?'} in record ${m.recordId || '?'}.`;
  }
}

// ---------------------------------------------------------------- traces

class Traces {
  constructor(rate) {
    this.rate = rate;
    this.n = Math.round(rate * WINDOW_S);
    this.data = SENSORS.map(() => new Float32Array(this.n));
    this.raw = SENSORS.map(() => new Float32Array(this.n));
    this.write = 0;
    this.count = 0;
    this.prevIn = null;
    this.prevOut = SENSORS.map(() => 0);
    const rc = 1 / (2 * Math.PI * HIGH_PASS_HZ);
    this.alpha = rc / (rc + 1 / rate);
  }

  push(uv) {
    if (this.prevIn === null) this.prevIn = uv.slice();
    for (let c = 0; c < uv.length; c++) {
      const y = this.alpha * (this.prevOut[c] + uv[c] - this.prevIn[c]);
      this.prevOut[c] = y;
      this.prevIn[c] = uv[c];
      this.data[c][this.write] = y;
      this.raw[c][this.write] = uv[c];
    }
    this.write = (this.write + 1) % this.n;
    this.count++;
  }

  draw(canvas, range) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width;
    const h = canvas.height;
    const left = 44;
    const right = 64;
    const plotW = w - left - right;
    const rowH = h / SENSORS.length;
    const scale = rowH / 2 / range;
    ctx.clearRect(0, 0, w, h);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const shown = Math.min(this.count, this.n);
    const step = Math.max(1, Math.floor(this.n / plotW / 2));
    for (let c = 0; c < SENSORS.length; c++) {
      const mid = rowH * (c + 0.5);
      ctx.fillStyle = '#1b1b1b';
      ctx.fillText(SENSORS[c], 4, mid);
      ctx.strokeStyle = '#e4e4e4';
      ctx.beginPath();
      ctx.moveTo(left, mid);
      ctx.lineTo(left + plotW, mid);
      ctx.stroke();
      ctx.strokeStyle = '#1f3b57';
      ctx.beginPath();
      const clipped = [];
      for (let k = this.n - shown; k < this.n; k += step) {
        const i = (this.write + k) % this.n;
        const x = left + (k / this.n) * plotW;
        let y = this.data[c][i];
        const raw = this.raw[c][i];
        const railing = raw < 80 || raw > ADC_TOP_UV - 80;
        if (y > range || y < -range || railing) {
          clipped.push(x);
          y = Math.max(-range, Math.min(range, y));
        }
        const py = mid - y * scale;
        if (k === this.n - shown) ctx.moveTo(x, py); else ctx.lineTo(x, py);
      }
      ctx.stroke();
      if (clipped.length > 0) {
        ctx.fillStyle = '#c62828';
        for (const x of clipped) {
          ctx.fillRect(x - 1, mid - rowH / 2 + 1, 2, 3);
          ctx.fillRect(x - 1, mid + rowH / 2 - 4, 2, 3);
        }
      }
    }
    // Scale bar: one row's half-height is `range` µV.
    const bx = w - right + 16;
    const top = rowH * 0.5 - rowH / 2;
    ctx.strokeStyle = '#1b1b1b';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(bx, top + 2);
    ctx.lineTo(bx, top + rowH / 2 + 2);
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = '#1b1b1b';
    ctx.fillText(`${range} µV`, bx + 5, top + rowH / 4 + 2);
    canvas.dataset.samples = String(this.count);
  }
}

function drawLoop() {
  const canvas = $('traces');
  let last = 0;
  const frame = (t) => {
    // ~20 frames a second is smooth for 5 s of trace and light on a small machine.
    if (t - last > 50 && page.traces) {
      last = t;
      page.traces.draw(canvas, Number($('scale').value));
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------- connection life

let pollTimer = null;
function schedulePoll(ms) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    if (!page.cortex) return;
    try { await pollHeadsets(); } catch (_) { /* the close handler tells */ }
    if (page.cortex) schedulePoll(POLL_MS);
  }, ms);
}

async function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  setStatus('connecting', 'Connecting to epocd…');
  const cortex = new Cortex(url, onEvent, () => {
    if (page.cortex !== cortex) return;
    page.cortex = null;
    page.token = null;
    page.session = null;
    setStatus('disconnected', 'epocd is not answering');
    setProblem('epocd is not answering.',
      'Is `epocd serve` running? Check with `systemctl --user status epocd`. The page reconnects by itself.');
    setTimeout(connect, 2000);
  });
  page.cortex = cortex;
  try {
    await cortex.opened;
    const access = await cortex.call('requestAccess', { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    if (!access.accessGranted) {
      setProblem('The page is waiting for access.', access.message || '');
    }
    const auth = await cortex.call('authorize', { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, debit: 1 });
    page.token = auth.cortexToken;
    setProblem(null);
    schedulePoll(0);
  } catch (e) {
    if (e instanceof CortexError) setProblem('epocd refused the page.', e.message);
    cortex.close();
  }
}

function start() {
  buildHeadMap();
  const safe = $('safe-colours');
  safe.checked = localStorage.getItem('epocd.safeColours') === '1';
  document.body.classList.toggle('safe', safe.checked);
  safe.addEventListener('change', () => {
    document.body.classList.toggle('safe', safe.checked);
    localStorage.setItem('epocd.safeColours', safe.checked ? '1' : '0');
  });
  $('headset').addEventListener('change', (e) => {
    page.chosen = e.target.value || null;
    page.ended = null;
    schedulePoll(0);
  });
  setInterval(() => { renderDevice(); diagnose(); }, 250);
  drawLoop();
  connect();
}

start();
