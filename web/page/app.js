// app.js -- the page of an idrop-lan device: send files to the device that
// served it, to another device or to a browser tab (targets.js), and
// receive files while the tab is open (attach.js, receive_ui.js). The
// protocol is in idrop.js (sending) and receiver.js (receiving).
//
// For tests, on <body>: data-state is idle | connecting | sending | done |
// declined | error (the send side); data-device is "ready" once the
// device's info is shown ("error" if it could not be fetched);
// data-attached is "yes" while the device announces this tab, with
// data-tab-id its id; data-receive is idle | asking | receiving | done |
// declined | error (receive_ui.js); data-code is the verification code of
// the current send ("123 456") once the receiver answered with its nonce.
// When a send ends, #result holds {"ok", "files": [{name, size, status}],
// "reason", "device", "target", "code", ...}.

import {
  Sender, fetchInfo, loadIdentity, shortFingerprint, cleanName, truncateUtf8, utf8Length,
} from './idrop.js';
import { fmtBytes, FileRow, showCode } from './ui.js';
import { Targets } from './targets.js';
import { Attachment } from './attach.js';
import { ReceiveUI } from './receive_ui.js';

// The most a tab takes in one offer: the files are held as Blobs (the
// browser's memory, or its blob storage on disk) until the downloads end.
const RECEIVE_MAX_BYTES = 4 * 1024 * 1024 * 1024;

const $ = (id) => document.getElementById(id);
const el = {
  deviceName: $('device-name'), deviceFp: $('device-fp'), myFp: $('my-fp'), myName: $('my-name'),
  drop: $('drop'), files: $('files'), folder: $('folder'), selection: $('selection'),
  send: $('send'), cancel: $('cancel'), clear: $('clear'),
  status: $('status'), overall: $('overall'), list: $('list'), result: $('result'), version: $('version'),
  visible: $('visible'), code: $('code'),
};

let info = null;
let identity = null;
let chosen = [];       // [{ file, path }]
let sender = null;     // the running Sender
let rows = [];         // per file: a FileRow
let target = null;     // where the running send goes (targets.js)
let attachment = null; // this tab, announced by the device (attach.js)

const setState = (s) => { document.body.dataset.state = s; };
const setStatus = (...parts) => { el.status.replaceChildren(...parts); };
// A peer's claimed name, in its own element next to what the page verified
// (the key): no characters in it can pass for the key (receive_ui.js too).
function peerName(label) {
  const s = document.createElement('span');
  s.className = 'peer-name';
  s.textContent = label;
  return s;
}
const peerKey = () => (target && target.fingerprint ? `key ${shortFingerprint(target.fingerprint)}, which claims to be ` : 'the name ');
// The send's verification code (PROTOCOL.md, "Verification code"), or null.
// With no code, missing says why (idrop.js): shown, not left out, since
// someone in between could have removed the code.
function setCode(code, missing = null) {
  if (code) document.body.dataset.code = code;
  else delete document.body.dataset.code;
  showCode(el.code, code, 'Verification code ', target ? ': the receiver (' : ': the receiver shows the same code, or someone is in between.');
  if (code && target) el.code.append(`${peerKey()}`, peerName(target.label), ') shows the same code, or someone is in between.');
  if (!code && missing) {
    el.code.textContent = `No verification code: ${missing}.`;
    el.code.hidden = false;
  }
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
  // The start of this browser's key keeps two "Chrome on Android" apart:
  // devices pin names to keys (README, Trust), and bare defaults collide.
  const tag = identity && identity.fingerprint ? ` ${identity.fingerprint.slice(0, 4)}` : '';
  return (os ? `${browser} on ${os}` : browser) + tag;
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
  if (attachment) attachment.rename(currentName());
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
  rows = chosen.map((c) => new FileRow(el.list, c.path, c.file.size));
}

function rowStatus(i, status, reason) {
  if (rows[i]) rows[i].setStatus(status, reason);
}

function rowProgress(ev) {
  const r = rows[ev.index];
  if (!r) return;
  if (ev.hashing) {
    r.bar.value = ev.hashed;
    r.detail.textContent = `checking the ${fmtBytes(ev.offset)} the ${target.noun} already has… ${fmtBytes(ev.hashed)}`;
    return;
  }
  // What left the browser: read minus what is still queued in the channel.
  r.progress(Math.max(ev.offset, ev.sent - (ev.queued || 0)), ev.offset);
  overall();
}

let sendStarted = 0;
function overall() {
  const total = rows.reduce((a, r) => a + r.size, 0);
  const sent = rows.reduce((a, r) => a + r.done, 0);
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
  target = targets.selected();
  if (!target) return;
  saveName();
  renderRows();
  el.result.hidden = true;
  el.result.textContent = '';
  setCode(null);
  setState('connecting');
  setStatus(`Connecting to ${target.label}…`);
  el.send.disabled = true;
  targets.setDisabled(true);
  el.clear.hidden = true;
  el.cancel.hidden = false;
  el.cancel.disabled = false;
  el.files.disabled = el.folder.disabled = true;
  sendStarted = performance.now();
  let result;
  try {
    sender = new Sender({
      offerUrl: target.offerUrl, expectedFingerprint: target.fingerprint, peerNoun: target.noun,
      name: currentName(), certificate: identity && identity.certificate, files: chosen,
      onEvent: (ev) => {
        if (ev.type === 'phase') {
          if (PHASE_STATE[ev.phase]) setState(PHASE_STATE[ev.phase]);
          if (ev.phase === 'offer') setStatus(`Waiting for ${target.label} to accept…`);
          else if (ev.phase === 'transfer') setStatus(`Sending to ${target.label}…`);
          else if (ev.text && ev.phase !== 'done') setStatus(ev.text);
        } else if (ev.type === 'file') rowStatus(ev.index, ev.status, ev.reason);
        else if (ev.type === 'progress') rowProgress(ev);
        else if (ev.type === 'code') setCode(ev.code, ev.missing);
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
  targets.setDisabled(false);
  el.files.disabled = el.folder.disabled = false;
  el.send.disabled = !chosen.length;
  el.clear.hidden = !chosen.length;
  result.files.forEach((f, i) => rowStatus(i, f.status, f.reason));
  if (rows.length) overall();
  const n = result.files.length;
  if (result.ok) {
    setStatus(`${n === 1 ? 'The file' : `All ${n} files`} arrived and ${n === 1 ? 'was' : 'were'} verified by the ${target.noun} with ${peerKey()}`,
      peerName(target.label), '.');
  } else if (result.state === 'declined') {
    setStatus(`The ${target.noun} with ${peerKey()}`, peerName(target.label),
      `, declined: ${result.reason.replace(/^the (device|browser) declined: /, '')}`);
  } else {
    setStatus(`Not sent: ${result.reason}`);
  }
  el.result.textContent = JSON.stringify({
    ok: result.ok,
    files: result.files,
    reason: result.reason,
    ...(result.phase ? { phase: result.phase } : {}),
    ...(result.seconds !== undefined ? { seconds: result.seconds } : {}),
    device: target.label,
    target: target.noun,
    code: result.code || null,
    ...(result.no_code ? { no_code: result.no_code } : {}),
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
  el.clear.addEventListener('click', () => {
    setChosen([]); setState('idle'); setCode(null); el.result.hidden = true; setStatus('Choose files to send.');
  });
  // Escape cancels a send, unless it is meant for the consent dialog.
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && sender && !$('consent').open) cancel(); });

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
    // The default name carries the key's start, known only now.
    el.myName.placeholder = defaultName();
    if (!storedName()) el.myName.value = defaultName();
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
    document.title = `${info.name} · idrop-lan`;
    targets.setInfo(info);
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
  await ident;  // attach() needs the key, even when the device did not answer
  setChosen(chosen);
  if (typeof RTCPeerConnection === 'undefined') {
    setStatus('This browser cannot make WebRTC connections, which sending and receiving need.');
    el.send.disabled = true;
  }
}

// ---------------------------------------------------------------- receiving

const receiveUI = new ReceiveUI({
  el: {
    dialog: $('consent'), text: $('consent-text'), files: $('consent-files'), timer: $('consent-timer'),
    accept: $('consent-accept'), decline: $('consent-decline'),
    status: $('receive-status'), list: $('incoming'), clear: $('receive-clear'),
  },
  onCancel: (conn) => attachment && attachment.cancel(conn, `${currentName()} cancelled the transfer`),
});

function setVisible(text, attached, id = null) {
  el.visible.textContent = text;
  document.body.dataset.attached = attached ? 'yes' : 'no';
  if (id) document.body.dataset.tabId = id;
  else delete document.body.dataset.tabId;
  targets.setMyTab(id);
}

// Announces this tab through the device, once its key is known.
function attach() {
  if (!identity || !identity.fingerprint) {
    setVisible('Not visible to other devices: this browser has no key.', false);
    return;
  }
  attachment = new Attachment({
    identity, name: currentName(), maxBytes: RECEIVE_MAX_BYTES,
    ask: (offer, signal) => receiveUI.ask(offer, signal),
    onEvent: (ev) => {
      if (ev.type === 'attached') setVisible(`Visible to other devices as “${ev.name}”.`, true, ev.id);
      else if (ev.type === 'name') el.visible.textContent = `Visible to other devices as “${ev.name}” (the name was taken).`;
      else if (ev.type === 'detached') {
        setVisible(ev.retryIn ? `Not visible to other devices: ${ev.reason}; trying again in ${Math.round(ev.retryIn / 1000)} s.`
          : `Not visible to other devices: ${ev.reason}.`, false);
      } else if (ev.type === 'log') console.warn(`idrop: ${ev.text}`);
      else receiveUI.onEvent(ev);
    },
  });
  attachment.start();
}

// ---------------------------------------------------------------- targets

const targets = new Targets({
  container: $('targets'), nearby: $('nearby'),
  onChange: (t, why) => {
    if (sender) return;
    if (why === 'gone') setStatus(`The target you picked left; sending to ${t ? t.label : 'this device'} instead.`);
    else if (chosen.length && t) setStatus(`Ready to send to ${t.label}.`);
  },
});

start().then(attach);
targets.start();
