// receiver.js -- the receiving side of the idrop-lan transfer protocol,
// version 1 (docs/PROTOCOL.md), for a browser tab. No DOM: attach.js hands
// it the `idrop` data channel a peer opened, app.js asks the person.
//
//   const r = new Receiver({ channel, name, remoteFingerprint, localFingerprint, ask, onEvent });
//   const result = await r.run();      // never throws; ends when the channel does
//   r.cancel('reason');                // at any time
//
// remoteFingerprint is the sender's certificate fingerprint (its SDP offer),
// localFingerprint ours (our answer): with both, a sender that commits to a
// nonce in its hello gets ours, must reveal its own (sas) before any offer,
// and the six-digit verification code goes with the question
// (PROTOCOL.md, "Verification code").
//
// ask(offer, signal) is the page's consent: offer = { peer, kind,
// fingerprint, short, code ("123 456", or null when the sender does not
// show codes), transfer, files: [{ path, size, hidden }], count, total };
// hidden is true for a path with a component starting with '.': the page
// lists every such path, and downloads it under '_' (visiblePath).
// it resolves to true / false or { accept, reason }; signal aborts when the
// sender goes away meanwhile. Every accepted file is asked from offset 0: a
// browser cannot resume into its downloads.
//
// onEvent(ev) gets, like Sender's:
//   { type: 'phase', phase, text }          hello, offer, asking, transfer, done (with ok), declined
//   { type: 'peer', name, kind }            the sender's hello
//   { type: 'transfer', first, files }      accepted: files [{ path, size }] get indexes first..
//   { type: 'file', index, status, reason } receiving, checking, verified, failed, cancelled
//   { type: 'progress', index, received, size }
//   { type: 'download', index, name, path, size, blob }   a verified file, for the page to save
//   { type: 'log', text }
// A file is handed over only once its SHA-256 matched, as a Blob of type
// application/octet-stream named after the last component of its path
// ("photos/2026/a.jpg" -> "a.jpg"; a second "a.jpg" on the same connection
// becomes "a (2).jpg"): a download cannot create folders.
//
// result: { ok, state: done | declined | cancelled | error, kind, phase,
// reason, peer, fingerprint, code, seconds, files: [{ name, size, status, reason }] }
// with status verified, failed, skipped, cancelled or unsent.

import { Sha256 } from './sha256.js';
import { parseStrict } from './json_strict.js';
import {
  PROTOCOL_VERSION, CONTROL_RE, CONTROL_RE_G, HIDDEN_RE, PATH_DEPTH_MAX, OFFER_FOLDERS_MAX, addFolders,
  IdropError, utf8Length, truncateUtf8, normalizeFingerprint,
  shortFingerprint, toHex, fromHex, sasNonce, sasCommit, sasCode,
} from './common.js';

const CHUNK_MAX = 64 * 1024;          // a binary message, at most (PROTOCOL.md)
const OFFER_FILES_MAX = 10000;
const PATH_MAX = 4096, COMPONENT_MAX = 255, NAME_MAX = 63, REASON_MAX = 1024;
const BLOB_STEP = 8 * 1024 * 1024;    // fold arrived data into a Blob every 8 MiB
const DECLINE_LINGER_MS = 5000;       // the sender closes after our decline; else we do
const PROGRESS_EVERY = 256 * 1024;

const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isInt = (v) => Number.isSafeInteger(v) && v >= 0;
const isHex = (v, n) => typeof v === 'string' && v.length === n && /^[0-9a-fA-F]+$/.test(v);
// Text that can be written as UTF-8 (a lone surrogate cannot).
const isText = (s) => typeof s === 'string' && !LONE_SURROGATE_RE.test(s);

// Why an offered path breaks PROTOCOL.md's rules, or null when it does not.
// Strict: the sender must have fixed names itself; nothing is repaired here.
export function pathProblem(p) {
  if (!isText(p) || p === '') return 'path is empty or not text';
  if (utf8Length(p) > PATH_MAX) return `path is over ${PATH_MAX} bytes`;
  if (p.startsWith('/')) return 'path is absolute';
  if (CONTROL_RE.test(p)) return 'path contains a control character';
  const hidden = HIDDEN_RE.exec(p);
  if (hidden) {
    const u = hidden[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `path contains the hidden character U+${u} (a bidi control or a zero-width character): ` +
      'it would make the name look like another';
  }
  if (p.includes('\\')) return 'path contains a backslash';
  if (p.split('/').length > PATH_DEPTH_MAX) return `path has more than ${PATH_DEPTH_MAX} components (folders in folders)`;
  for (const c of p.split('/')) {
    if (c === '') return 'path has an empty component (a doubled or trailing /)';
    if (c === '.' || c === '..') return `path has a "${c}" component`;
    if (utf8Length(c) > COMPONENT_MAX) return `path has a component over ${COMPONENT_MAX} bytes`;
  }
  return null;
}

// A hello.name or a reason: 1..max bytes, no control characters.
const textProblem = (s, max) => (!isText(s) || s === '' || utf8Length(s) > max || CONTROL_RE.test(s));

// PROTOCOL.md: a component starting with '.' names a hidden file (and the
// place of configuration, .config/autostart): it is shown with the offer
// whatever its place in it, and saved with '_' instead of the '.'.
export const isHiddenPath = (p) => p.split('/').some((c) => c.startsWith('.'));
export const visiblePath = (p) => p.split('/').map((c) => (c.startsWith('.') ? `_${c.slice(1)}` : c)).join('/');

// The download name of a path: its last component, never starting with
// '.', numbered when taken.
function downloadName(path, taken) {
  const base = visiblePath(path.slice(path.lastIndexOf('/') + 1));
  let name = base;
  for (let n = 2; taken.has(name); n++) {
    const dot = base.lastIndexOf('.');
    name = dot > 0 ? `${base.slice(0, dot)} (${n})${base.slice(dot)}` : `${base} (${n})`;
  }
  taken.add(name);
  return name;
}

export class Receiver {
  constructor({
    channel, name, remoteFingerprint = null, localFingerprint = null, ask, onEvent = () => {}, maxBytes = Infinity,
  }) {
    this.ch = channel;
    this.name = name;
    this.peerFingerprint = normalizeFingerprint(remoteFingerprint);
    this.fingerprint = normalizeFingerprint(localFingerprint);
    this.sas = null;          // { commit, nonce } from hello until the sender's sas
    this.held = null;         // messages that came while its nonce was being checked
    this.code = null;         // the verification code, once derived
    this.ask = ask;
    this.maxBytes = maxBytes;
    this.emit = (ev) => { try { onEvent(ev); } catch (e) { /* the page's problem */ } };
    this.phase = 'hello';
    this.state = 'hello';     // hello, idle, asking, receiving, finished
    this.peer = null;         // { name, kind } from the sender's hello
    this.files = [];          // every file offered on this connection
    this.offer = null;        // the transfer in progress
    this.cur = null;          // the file whose bytes are arriving
    this.names = new Set();   // download names given out
    this.transfers = 0;       // receipts sent
    this.failure = null;
    this.started = performance.now();
    this.result = new Promise((resolve) => { this._resolve = resolve; });
  }

  // ---------------------------------------------------------------- plumbing

  _setPhase(phase, text) {
    this.phase = phase;
    this.emit({ type: 'phase', phase, text });
  }

  _send(msg) {
    if (this.ch.readyState !== 'open') return;
    try { this.ch.send(JSON.stringify(msg)); } catch (e) { this._lost(`cannot send: ${e.message}`); }
  }

  _fileStatus(index, status, reason = null) {
    const f = this.files[index];
    f.status = status;
    f.reason = reason;
    this.emit({ type: 'file', index, status, reason });
  }

  // Ends the run once: err null is a normal end (the sender closed after a receipt).
  _finish(err) {
    if (this.state === 'finished') return;
    this.state = 'finished';
    this.failure = err;
    if (this.asking) this.asking.abort();
    clearTimeout(this.lingerTimer);
    for (let i = 0; i < this.files.length; i++) {
      const st = this.files[i].status;
      if (st === 'receiving' || st === 'checking' || st === 'queued')
        this._fileStatus(i, 'cancelled', err ? err.message : null);
      else if (st === 'offered') this._fileStatus(i, 'unsent');
    }
    this.cur = null;
    this.ch.onmessage = null;
    this._resolve(this._result());
  }

  // We stop: tell the sender why and close the channel (PROTOCOL.md: a
  // receiver that stops closes the channel).
  _stop(err, reason) {
    if (this.state === 'finished') return;
    const why = truncateUtf8(String(reason).replace(CONTROL_RE_G, ' '), REASON_MAX);
    this._send({ type: 'cancel', reason: why });
    this._finish(err);
    try { this.ch.close(); } catch (e) { /* closing anyway */ }
  }

  _protocolError(what) {
    this._stop(new IdropError(this.phase, `the sender broke the protocol: ${what}`), `protocol error: ${what}`);
  }

  _lost(why) {
    if (this.state === 'finished') return;
    // A close after the receipt, or after our decline, is how a sender ends.
    if (this.state === 'idle' && this.transfers > 0) this._finish(null);
    else if (this.state === 'declined') this._finish(this.declined);
    else this._finish(new IdropError(this.phase, why));
  }

  // Stops the transfer on the person's request.
  cancel(reason = 'cancelled by the receiver') {
    this._stop(new IdropError(this.phase, `cancelled: ${reason}`, 'aborted'), reason);
  }

  // The connection under the channel failed (attach.js watches it).
  connectionLost(why = 'the connection to the sender was lost') {
    this._lost(why);
  }

  // ---------------------------------------------------------------- the run

  run() {
    const ch = this.ch;
    ch.binaryType = 'arraybuffer';
    ch.onmessage = (ev) => this._onMessage(ev.data);
    ch.onclose = () => this._lost('the sender closed the connection');
    ch.onerror = (ev) => this._lost(`data channel error: ${ev && ev.error ? ev.error.message : 'unknown'}`);
    if (ch.readyState === 'closed' || ch.readyState === 'closing') this._lost('the channel closed before it opened');
    else this._setPhase('hello', 'Waiting for the sender to say hello…');
    return this.result;
  }

  _onMessage(data) {
    if (this.state === 'finished') return;
    if (this.held) {  // in order, after the sas check
      this.held.push(data);
      return;
    }
    if (typeof data !== 'string') {
      this._onData(data);
      return;
    }
    let m;
    try {
      m = parseStrict(data);
    } catch (e) {
      this._protocolError(e.message);
      return;
    }
    if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.type !== 'string') {
      this._protocolError('a control message that is not a JSON object with a type');
      return;
    }
    const handler = {
      hello: this._onHello, sas: this._onSas, offer: this._onOffer, file: this._onFile, 'file-end': this._onFileEnd,
      done: this._onDone, cancel: this._onCancel,
    }[m.type];
    const known = ['accept', 'decline', 'file-ok', 'file-error', 'receipt'];
    if (handler) handler.call(this, m);
    else if (known.includes(m.type)) this._protocolError(`${m.type} comes from a receiver, not a sender`);
    else this._stop(new IdropError(this.phase, `the sender sent an unknown message type '${truncateUtf8(m.type, 40)}'`),
      'unsupported');
  }

  _onCancel(m) {
    const reason = typeof m.reason === 'string' && m.reason ? truncateUtf8(m.reason, REASON_MAX) : 'no reason given';
    this._finish(new IdropError(this.phase, `the sender cancelled: ${reason}`, 'cancelled'));
    try { this.ch.close(); } catch (e) { /* closing anyway */ }
  }

  _onHello(m) {
    if (this.state !== 'hello') return this._protocolError('a second hello');
    if (!isInt(m.version)) return this._protocolError('hello without a valid version');
    if (m.version < 1) return this._stop(new IdropError('hello', `the sender speaks version ${m.version}`), 'version');
    if (textProblem(m.name, NAME_MAX)) return this._protocolError('hello without a valid name');
    if (m.kind !== 'device' && m.kind !== 'browser') return this._protocolError('hello with an unknown kind');
    const commit = m.sas_commit === undefined ? null : fromHex(m.sas_commit);
    if (m.sas_commit !== undefined && !commit) return this._protocolError('hello sas_commit is not 64 hex digits');
    this.peer = { name: m.name, kind: m.kind };
    const hello = { type: 'hello', version: Math.min(PROTOCOL_VERSION, m.version), name: this.name, kind: 'browser' };
    // A code needs both fingerprints; without ours the sender sends no sas.
    if (commit && this.fingerprint && this.peerFingerprint) {
      this.sas = { commit: toHex(commit), nonce: sasNonce() };
      hello.sas_nonce = toHex(this.sas.nonce);
    }
    this._send(hello);
    this.state = 'idle';
    this.emit({ type: 'peer', name: m.name, kind: m.kind });
    this._setPhase('offer', `Connected to ${m.name}; waiting for its files…`);
  }

  // The sender reveals the nonce its hello committed to. Hashing is async:
  // what comes meanwhile is held and handled after, in order.
  _onSas(m) {
    if (this.state !== 'idle' || !this.sas) return this._protocolError('unexpected sas');
    const nonce = fromHex(m.nonce);
    if (!nonce) return this._protocolError('sas nonce is not 64 hex digits');
    const { commit, nonce: ours } = this.sas;
    this.sas = null;
    this.held = [];
    (async () => {
      if ((await sasCommit(nonce)) !== commit) throw new Error('sas nonce does not match the commitment in hello');
      return sasCode(this.peerFingerprint, this.fingerprint, nonce, ours);
    })().then((code) => {
      this.code = code;
      this.emit({ type: 'code', code });
    }, (e) => this._protocolError(e.message)).then(() => {
      const held = this.held;
      this.held = null;
      for (const d of held || []) this._onMessage(d);
    });
  }

  // ---------------------------------------------------------------- offer and consent

  _offerProblem(m) {
    if (!isHex(m.transfer, 32)) return 'offer transfer is not 32 hex digits';
    if (!Array.isArray(m.files) || m.files.length === 0) return 'offer without files';
    if (m.files.length > OFFER_FILES_MAX) return `offer of over ${OFFER_FILES_MAX} files`;
    const paths = new Set(), folders = new Set();
    for (let i = 0; i < m.files.length; i++) {
      const f = m.files[i];
      if (!f || typeof f !== 'object' || Array.isArray(f)) return `offer files[${i}] is not an object`;
      if (f.id !== i) return `offer files[${i}].id is not ${i}: an id is the file's index`;
      if (!isInt(f.size) || !isInt(f.mtime)) return `offer files[${i}] size or mtime is not an integer 0..2^53-1`;
      const p = pathProblem(f.path);
      if (p) return `offer files[${i}]: ${p}`;
      if (paths.has(f.path)) return 'the offer names a path twice';
      paths.add(f.path);
      addFolders(folders, f.path);
    }
    if (folders.size > OFFER_FOLDERS_MAX) {
      return `offer names ${folders.size} folders, over the limit of ${OFFER_FOLDERS_MAX}: a sender splits more into several offers`;
    }
    return null;
  }

  async _onOffer(m) {
    if (this.state !== 'idle') return this._protocolError(this.state === 'hello' ? 'offer before hello' : 'unexpected offer');
    if (this.sas) return this._protocolError('offer before sas (the sender committed to a nonce in its hello)');
    const problem = this._offerProblem(m);
    if (problem) return this._protocolError(problem);
    const transfer = m.transfer.toLowerCase();
    const first = this.files.length;
    const files = m.files.map((f) => ({ path: f.path, size: f.size, ...(isHiddenPath(f.path) ? { hidden: true } : {}) }));
    for (const f of files) this.files.push({ ...f, status: 'offered', reason: null, received: 0 });
    const total = files.reduce((a, f) => a + f.size, 0);
    this.offer = { transfer, first, count: files.length, next: 0 };
    if (total > this.maxBytes) {
      this._decline(`too much for a browser tab: ${total} bytes, this one takes at most ${this.maxBytes}`);
      return;
    }
    this.state = 'asking';
    this._setPhase('asking', `${this.peer.name} wants to send ${files.length} file(s)`);
    this.asking = new AbortController();
    let answer;
    try {
      answer = await this.ask({
        peer: this.peer.name, kind: this.peer.kind, fingerprint: this.peerFingerprint,
        short: shortFingerprint(this.peerFingerprint), code: this.code, transfer, files, count: files.length, total,
      }, this.asking.signal);
    } catch (e) {
      answer = { accept: false, reason: `could not ask: ${e.message}` };
    }
    this.asking = null;
    if (this.state !== 'asking') return;  // the sender went away meanwhile
    const accept = typeof answer === 'object' && answer ? !!answer.accept : !!answer;
    if (!accept) {
      this._decline(typeof answer === 'object' && answer && answer.reason ? answer.reason : 'declined');
      return;
    }
    this._send({ type: 'accept', transfer, files: files.map((f, id) => ({ id, offset: 0 })) });
    for (let i = first; i < this.files.length; i++) this._fileStatus(i, 'queued');
    this.state = 'receiving';
    this.emit({ type: 'transfer', first, files });
    this._setPhase('transfer', `Receiving from ${this.peer.name}…`);
  }

  // Declines the transfer; the sender then closes the connection.
  _decline(reason) {
    reason = truncateUtf8(String(reason).replace(CONTROL_RE_G, ' ').trim(), REASON_MAX) || 'declined';
    this._send({ type: 'decline', transfer: this.offer.transfer, reason });
    for (let i = this.offer.first; i < this.files.length; i++) this._fileStatus(i, 'skipped');
    this.state = 'declined';
    this.declined = new IdropError('offer', `declined: ${reason}`, 'declined');
    this._setPhase('declined', `Declined: ${reason}`);
    this.lingerTimer = setTimeout(() => {
      this._finish(this.declined);
      try { this.ch.close(); } catch (e) { /* closing anyway */ }
    }, DECLINE_LINGER_MS);
  }

  // ---------------------------------------------------------------- files

  _onFile(m) {
    const o = this.offer;
    if (this.state !== 'receiving' || this.cur) return this._protocolError(`unexpected file${this.cur ? ' before file-end' : ''}`);
    if (m.id !== o.next || !isInt(m.id) || m.id >= o.count)
      return this._protocolError(`file ${m.id} was not expected (next is ${o.next})`);
    if (m.offset !== 0) return this._protocolError(`file ${m.id} at offset ${m.offset}, accepted at 0`);
    const index = o.first + m.id;
    this.cur = {
      index, id: m.id, size: this.files[index].size, received: 0, overflow: false,
      hash: new Sha256(), blobs: [], pending: [], pendingBytes: 0, lastProgress: 0,
    };
    this._fileStatus(index, 'receiving');
    this.emit({ type: 'progress', index, received: 0, size: this.cur.size });
  }

  _onData(buf) {
    const c = this.cur;
    if (!c) return this._protocolError('file data outside a file');
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (bytes.length > CHUNK_MAX) return this._protocolError(`a binary message of ${bytes.length} bytes (at most ${CHUNK_MAX})`);
    c.received += bytes.length;
    // A size that lies: nothing of this file is kept (answered at file-end,
    // as PROTOCOL.md says), and memory stays bounded by the announced size.
    if (c.overflow || c.received > c.size) {
      if (!c.overflow) { c.overflow = true; c.blobs = []; c.pending = []; c.hash = null; }
      return;
    }
    c.hash.update(bytes);
    c.pending.push(bytes);
    c.pendingBytes += bytes.length;
    if (c.pendingBytes >= BLOB_STEP) {
      // A Blob lets the browser move the data out of the JS heap (to disk if large).
      c.blobs.push(new Blob(c.pending));
      c.pending = [];
      c.pendingBytes = 0;
    }
    if (c.received - c.lastProgress >= PROGRESS_EVERY || c.received === c.size) {
      c.lastProgress = c.received;
      this.emit({ type: 'progress', index: c.index, received: c.received, size: c.size });
    }
  }

  _onFileEnd(m) {
    const c = this.cur;
    if (this.state !== 'receiving' || !c || m.id !== c.id) return this._protocolError('file-end for a file not being sent');
    if (!isHex(m.sha256, 64)) return this._protocolError('file-end sha256 is not 64 hex digits');
    this.cur = null;
    this.offer.next = c.id + 1;
    this._fileStatus(c.index, 'checking');
    let why = null;
    if (c.overflow) why = `more bytes than announced (${c.size}): not kept`;
    else if (c.received < c.size) why = `fewer bytes than announced (${c.received} of ${c.size}): not kept`;
    else if (c.hash.hex() !== m.sha256.toLowerCase()) why = 'the SHA-256 does not match: not kept';
    if (why) {
      this._send({ type: 'file-error', id: c.id, reason: why });
      this._fileStatus(c.index, 'failed', why);
      return;
    }
    const f = this.files[c.index];
    const blob = new Blob([...c.blobs, ...c.pending], { type: 'application/octet-stream' });
    f.name = downloadName(f.path, this.names);
    this._fileStatus(c.index, 'verified');
    this.emit({ type: 'download', index: c.index, name: f.name, path: f.path, size: f.size, blob });
    this._send({ type: 'file-ok', id: c.id });
  }

  _onDone() {
    if (this.state !== 'receiving' || this.cur) return this._protocolError(this.cur ? 'done before file-end' : 'unexpected done');
    const o = this.offer;
    const files = [];
    for (let id = 0; id < o.count; id++) {
      const f = this.files[o.first + id];
      // An accepted file the sender never sent counts as failed, as in the C receiver.
      if (f.status === 'queued') this._fileStatus(o.first + id, 'failed', 'not sent');
      files.push({ id, status: f.status === 'verified' ? 'verified' : 'failed' });
    }
    this._send({ type: 'receipt', transfer: o.transfer, files });
    this.transfers++;
    this.offer = null;
    this.state = 'idle';
    const ok = files.every((f) => f.status === 'verified');
    this.phase = 'done';
    this.emit({ type: 'phase', phase: 'done', ok, text: ok ? 'Every file arrived and was verified.' : 'Some files did not arrive.' });
  }

  // ---------------------------------------------------------------- result

  _result() {
    const err = this.failure;
    const all = this.files.length > 0 && this.files.every((f) => f.status === 'verified');
    const ok = !err && this.transfers > 0 && all;
    let state = 'done';
    if (err) state = err.kind === 'declined' ? 'declined' : err.kind === 'cancelled' ? 'cancelled' : 'error';
    else if (!ok) state = 'error';
    const failed = this.files.find((f) => f.status === 'failed');
    return {
      ok,
      state,
      kind: err ? err.kind : null,
      phase: err ? err.phase : null,
      reason: ok ? null : err ? err.message
        : failed ? `${failed.path}: ${failed.reason || 'failed'}` : 'the sender closed before sending anything',
      peer: this.peer ? this.peer.name : null,
      fingerprint: this.peerFingerprint,
      code: this.code,
      seconds: Math.round((performance.now() - this.started) / 100) / 10,
      files: this.files.map((f) => ({
        name: f.name || f.path, path: f.path, size: f.size, status: f.status, ...(f.reason ? { reason: f.reason } : {}),
      })),
    };
  }
}
