// app.js -- the page of an idrop-lan device: pick files, send them to the
// device that served this page. The protocol is in idrop.js.
//
// For tests: document.body.dataset.state is idle | connecting | sending |
// done | declined | error; document.body.dataset.device is "ready" once the
// device's info is shown ("error" if it could not be fetched); when a send
// ends, #result holds {"ok", "files": [{name, size, status}], "reason", ...}.

import {
  Sender, fetchInfo, loadIdentity, shortFingerprint, cleanName, truncateUtf8, utf8Length,
} from './idrop.js';

const $ = (id) => document.getElementById(id);
const el = {
  deviceName: $('device-name'), deviceFp: $('device-fp'), myFp: $('my-fp'), myName: $('my-name'),
  drop: $('drop'), files: $('files'), folder: $('folder'), selection: $('selection'),
  send: $('send'), cancel: $('cancel'), clear: $('clear'),
  status: $('status'), overall: $('overall'), list: $('list'), result: $('result'), version: $('version'),
};

let info = null;
let identity = null;
let chosen = [];       // [{ file, path }]
let sender = null;     // the running Sender
let rows = [];         // per file: { li, bar, badge, detail, samples, started }

const setState = (s) => { document.body.dataset.state = s; };
const setStatus = (t) => { el.status.textContent = t; };

// ---------------------------------------------------------------- formatting

function fmtBytes(n) {
  if (n < 1000) return `${n} B`;
  const u = ['kB', 'MB', 'GB', 'TB'];
  let i = -1;
  do { n /= 1000; i++; } while (n >= 1000 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${u[i]}`;
}

function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

// ---------------------------------------------------------------- the browser's name

function defaultName() {
  const ua = navigator.userAgent || '';
  let browser = 'Browser';
  if (/Edg(A|iOS)?\//.test(ua)) browser = 'Edge';
  else if (/OPR\/|Opera/.test(ua)) browser = 'Opera';
  else if (/SamsungBrowser\//.test(ua)) browser = 'Samsung Internet';
  else if (/Firefox\/|FxiOS\//.test(ua)) browser = 'Firefox';
  else if (/Chrom(e|ium)\/|CriOS\//.test(ua)) browser = 'Chrome';
  else if (/Safari\//.test(ua)) browser = 'Safari';
  let os = '';
  if (/iPhone/.test(ua)) os = 'iPhone';
  else if (/iPad/.test(ua)) os = 'iPad';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Windows/.test(ua)) os = 'Windows';
  else if (/Macintosh|Mac OS X/.test(ua)) os = navigator.maxTouchPoints > 1 ? 'iPad' : 'Mac';
  else if (/Linux|X11/.test(ua)) os = 'Linux';
  return os ? `${browser} on ${os}` : browser;
}

function storedName() {
  try { return localStorage.getItem('idrop.name'); } catch (e) { return null; }
}

function saveName() {
  const raw = el.myName.value;
  const clean = raw.trim() ? cleanName(raw) : '';
  try {
    if (clean) localStorage.setItem('idrop.name', clean);
    else localStorage.removeItem('idrop.name');
  } catch (e) { /* private mode: the name lives for this visit */ }
}

function currentName() {
  return cleanName(el.myName.value, defaultName());
}

// ---------------------------------------------------------------- choosing files

function setChosen(list) {
  chosen = list;
  if (sender) return;
  const total = chosen.reduce((a, f) => a + f.file.size, 0);
  el.selection.textContent = chosen.length === 0 ? 'No files chosen.'
    : chosen.length === 1 ? `${chosen[0].path} (${fmtBytes(total)})`
      : `${chosen.length} files, ${fmtBytes(total)}`;
  el.send.disabled = chosen.length === 0 || !info;
  el.clear.hidden = chosen.length === 0;
  if (['done', 'declined', 'error'].includes(document.body.dataset.state) && chosen.length) {
    // A new choice after a finished send starts over.
    setState('idle');
    el.result.hidden = true;
  }
  renderRows();
}

function fromInput(input) {
  return Array.from(input.files || [], (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

// Walks dropped folders (FileSystemEntry API) into files with relative paths.
async function fromDrop(dt) {
  const out = [];
  const items = Array.from(dt.items || []).filter((i) => i.kind === 'file');
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (!entries.some((e) => e && e.isDirectory)) {
    return Array.from(dt.files || [], (file) => ({ file, path: file.name }));
  }
  const fileOf = (entry) => new Promise((res, rej) => entry.file(res, rej));
  const readAll = async (dir) => {
    const reader = dir.createReader();
    const all = [];
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) return all;
      all.push(...batch);
    }
  };
  const walk = async (entry, prefix) => {
    if (entry.isFile) out.push({ file: await fileOf(entry), path: prefix + entry.name });
    else if (entry.isDirectory) for (const e of await readAll(entry)) await walk(e, `${prefix}${entry.name}/`);
  };
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]) await walk(entries[i], '');
    else if (items[i].getAsFile()) out.push({ file: items[i].getAsFile(), path: items[i].getAsFile().name });
  }
  return out;
}

// ---------------------------------------------------------------- rows

function renderRows() {
  el.list.textContent = '';
  rows = chosen.map((c) => {
    const li = document.createElement('li');
    li.dataset.status = 'queued';
    const top = document.createElement('div');
    top.className = 'top';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = c.path;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = fmtBytes(c.file.size);
    top.append(name, badge);
    const bar = document.createElement('progress');
    bar.max = Math.max(1, c.file.size);
    bar.value = 0;
    bar.setAttribute('aria-label', `Progress of ${c.path}`);
    const detail = document.createElement('div');
    detail.className = 'detail';
    li.append(top, bar, detail);
    el.list.append(li);
    return { li, bar, badge, detail, size: c.file.size, samples: [], sent: 0 };
  });
}

const STATUS_TEXT = {
  queued: 'queued', sending: 'sending', checking: 'checking…', verified: 'received ✓',
  failed: 'failed', skipped: 'skipped', cancelled: 'cancelled', unsent: 'not sent',
};

function rowStatus(i, status, reason) {
  const r = rows[i];
  if (!r) return;
  r.li.dataset.status = status;
  r.badge.textContent = STATUS_TEXT[status] || status;
  if (status === 'verified') { r.bar.value = r.bar.max; r.detail.textContent = `${fmtBytes(r.size)} · verified`; }
  if (reason) r.detail.textContent = reason;
}

function rowProgress(ev) {
  const r = rows[ev.index];
  if (!r) return;
  const now = performance.now();
  if (ev.hashing) {
    r.bar.value = ev.hashed;
    r.detail.textContent = `checking the ${fmtBytes(ev.offset)} the device already has… ${fmtBytes(ev.hashed)}`;
    return;
  }
  r.sent = ev.sent;
  // What left the browser: read minus what is still queued in the channel.
  const out = Math.max(ev.offset, ev.sent - (ev.queued || 0));
  r.samples.push([now, out]);
  while (r.samples.length > 2 && now - r.samples[0][0] > 3000) r.samples.shift();
  const [t0, b0] = r.samples[0];
  const speed = now - t0 > 200 ? (out - b0) / ((now - t0) / 1000) : 0;
  r.bar.value = out;
  const pct = r.size ? Math.floor((out / r.size) * 100) : 100;
  const parts = [`${fmtBytes(out)} of ${fmtBytes(r.size)}`, `${pct}%`];
  if (speed > 0) {
    parts.push(`${(speed / 1e6).toFixed(1)} MB/s`);
    if (out < r.size) parts.push(`${fmtDuration((r.size - out) / speed)} left`);
  }
  if (ev.offset) parts.push(`resumed at ${fmtBytes(ev.offset)}`);
  r.detail.textContent = parts.join(' · ');
  overall();
}

let sendStarted = 0;
function overall() {
  const total = rows.reduce((a, r) => a + r.size, 0);
  const sent = rows.reduce((a, r) => a + (r.li.dataset.status === 'verified' ? r.size : Math.min(r.size, r.bar.value)), 0);
  const secs = (performance.now() - sendStarted) / 1000;
  el.overall.hidden = false;
  el.overall.textContent = `${fmtBytes(sent)} of ${fmtBytes(total)} · ${total ? Math.floor((sent / total) * 100) : 100}%` +
    (secs > 0.5 ? ` · ${(sent / secs / 1e6).toFixed(1)} MB/s average` : '');
}

// ---------------------------------------------------------------- sending

const PHASE_STATE = {
  signalling: 'connecting', ICE: 'connecting', DTLS: 'connecting', 'data channel': 'connecting',
  hello: 'connecting', offer: 'connecting', transfer: 'sending', receipt: 'sending',
};

async function send() {
  if (sender || !chosen.length || !info) return;
  saveName();
  renderRows();
  el.result.hidden = true;
  el.result.textContent = '';
  setState('connecting');
  setStatus(`Connecting to ${info.name}…`);
  el.send.disabled = true;
  el.clear.hidden = true;
  el.cancel.hidden = false;
  el.cancel.disabled = false;
  el.files.disabled = el.folder.disabled = true;
  sendStarted = performance.now();
  let result;
  try {
    sender = new Sender({
      base: '', name: currentName(), certificate: identity && identity.certificate,
      deviceFingerprint: info.fingerprint, files: chosen,
      onEvent: (ev) => {
        if (ev.type === 'phase') {
          if (PHASE_STATE[ev.phase]) setState(PHASE_STATE[ev.phase]);
          if (ev.phase === 'offer') setStatus(`Waiting for ${info.name} to accept…`);
          else if (ev.phase === 'transfer') setStatus(`Sending to ${info.name}…`);
          else if (ev.text && ev.phase !== 'done') setStatus(ev.text);
        } else if (ev.type === 'file') rowStatus(ev.index, ev.status, ev.reason);
        else if (ev.type === 'progress') rowProgress(ev);
      },
    });
    result = await sender.run();
  } catch (e) {  // a bad file name, found before anything was sent
    result = {
      ok: false, state: 'error', reason: e.message,
      files: chosen.map((c) => ({ name: c.path, size: c.file.size, status: 'unsent' })),
    };
  }
  sender = null;
  finish(result);
}

function finish(result) {
  el.cancel.hidden = true;
  el.files.disabled = el.folder.disabled = false;
  el.send.disabled = !chosen.length;
  el.clear.hidden = !chosen.length;
  result.files.forEach((f, i) => rowStatus(i, f.status, f.reason));
  if (rows.length) overall();
  const n = result.files.length;
  if (result.ok) {
    setStatus(`${n === 1 ? 'The file' : `All ${n} files`} arrived on ${info.name} and ${n === 1 ? 'was' : 'were'} verified.`);
  } else if (result.state === 'declined') {
    setStatus(`${info.name} declined: ${result.reason.replace(/^the device declined: /, '')}`);
  } else {
    setStatus(`Not sent: ${result.reason}`);
  }
  el.result.textContent = JSON.stringify({
    ok: result.ok,
    files: result.files,
    reason: result.reason,
    ...(result.phase ? { phase: result.phase } : {}),
    ...(result.seconds !== undefined ? { seconds: result.seconds } : {}),
    device: info.name,
  });
  setState(result.ok ? 'done' : result.state === 'declined' ? 'declined' : 'error');
}

function cancel() {
  if (!sender) return;
  el.cancel.disabled = true;
  setStatus('Cancelling…');
  sender.cancel(`${currentName()} cancelled the transfer`);
}

// ---------------------------------------------------------------- start

function wire() {
  el.myName.placeholder = defaultName();
  el.myName.value = storedName() || defaultName();
  el.myName.addEventListener('change', () => {
    if (utf8Length(el.myName.value) > 63) el.myName.value = truncateUtf8(el.myName.value, 63);
    saveName();
  });
  el.myName.addEventListener('input', () => {
    if (utf8Length(el.myName.value) > 63) el.myName.value = truncateUtf8(el.myName.value, 63);
  });

  el.files.addEventListener('change', () => { setChosen(fromInput(el.files)); el.files.value = ''; });
  el.folder.addEventListener('change', () => { setChosen(fromInput(el.folder)); el.folder.value = ''; });
  el.send.addEventListener('click', send);
  el.cancel.addEventListener('click', cancel);
  el.clear.addEventListener('click', () => { setChosen([]); setState('idle'); el.result.hidden = true; setStatus('Choose files to send.'); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && sender) cancel(); });

  // Drag and drop: the zone highlights, a drop anywhere on the page counts.
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    el.drop.classList.add('over');
  });
  document.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; el.drop.classList.remove('over'); } });
  document.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = sender ? 'none' : 'copy'; } });
  document.addEventListener('drop', async (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    el.drop.classList.remove('over');
    if (sender) return;
    try {
      setChosen(await fromDrop(e.dataTransfer));
    } catch (err) {
      setStatus(`Could not read the dropped files: ${err.message}`);
    }
  });
  window.addEventListener('beforeunload', (e) => { if (sender) { e.preventDefault(); e.returnValue = ''; } });
}

async function start() {
  setState('idle');
  wire();
  const ident = loadIdentity().then((id) => {
    identity = id;
    el.myFp.textContent = id.fingerprint ? shortFingerprint(id.fingerprint) : '?';
    if (!id.stored) el.myFp.title = 'This browser could not store its key: the device will not recognise it next time.';
  }).catch((e) => {
    el.myFp.textContent = 'none';
    el.myFp.title = `No key: ${e.message}`;
  });
  try {
    info = await fetchInfo('');
    el.deviceName.textContent = info.name;
    el.deviceFp.textContent = shortFingerprint(info.fingerprint);
    el.deviceFp.title = `SHA-256 ${info.fingerprint}`;
    document.title = `Send to ${info.name} · idrop-lan`;
    el.version.textContent = `idrop-lan ${info.version || ''}`.trim();
    if (info.protocol !== undefined && info.protocol !== 1)
      setStatus(`This device speaks protocol ${info.protocol}; this page speaks 1.`);
    else setStatus('Choose files to send.');
    await ident;
    document.body.dataset.device = 'ready';
  } catch (e) {
    el.deviceName.textContent = 'this device';
    setStatus(`Cannot reach the device: ${e.message}`);
    document.body.dataset.device = 'error';
    setState('error');
  }
  setChosen(chosen);
  if (typeof RTCPeerConnection === 'undefined') {
    setStatus('This browser cannot make WebRTC connections, which sending needs.');
    el.send.disabled = true;
  }
}

// The devices this device sees on the LAN (a browser cannot browse mDNS):
// each links to its own page. Text only, never markup from the network.
async function showNearby() {
  let list;
  try {
    const r = await fetch('/api/devices', { cache: 'no-store' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    list = (await r.json()).devices || [];
  } catch (e) {
    return;
  }
  const ul = $('nearby');
  ul.replaceChildren();
  const others = list.filter((d) => !d.this_device && d.kind === 'device');
  if (others.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No other device seen yet.';
    ul.append(li);
    return;
  }
  for (const d of others.sort((a, b) => a.name.localeCompare(b.name))) {
    const li = document.createElement('li');
    const host = d.address.includes(':') ? `[${d.address}]` : d.address;
    const a = document.createElement('a');
    a.href = `http://${host}:${d.port}/`;
    a.textContent = d.name;
    const fp = document.createElement('code');
    fp.textContent = ` ${shortFingerprint(d.fingerprint)}`;
    fp.title = `SHA-256 ${d.fingerprint}`;
    li.append(a, fp);
    ul.append(li);
  }
}

start();
showNearby();
setInterval(showNearby, 5000);
