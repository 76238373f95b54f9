// idrop.js -- the sending side of the idrop-lan transfer protocol, version 1
// (docs/PROTOCOL.md), for a browser. No DOM: the page (app.js) drives it.
//
//   const info = await fetchInfo('');            // GET /api/info
//   const s = new Sender({ base: '', name, certificate, deviceFingerprint: info.fingerprint,
//                          files: [{ file, path }], onEvent });
//   // or to another peer: offerUrl 'http://10.0.0.5:7757/api/offer' (a device)
//   // or '/api/offer?to=TAB' (a browser tab attached to a device), with the
//   // fingerprint it was listed with and peerNoun 'browser' for the messages:
//   new Sender({ offerUrl, expectedFingerprint, peerNoun: 'browser', name, certificate, files, onEvent });
//   const result = await s.run();                // never throws
//   s.cancel('reason');                          // at any time
//
// result: { ok, reason, files: [{ name, size, status }] } with status one of
// verified, failed, skipped, cancelled, unsent.
// onEvent(ev) gets { type: 'phase', phase, text }, { type: 'file', index, status, reason },
// { type: 'progress', index, sent, size, hashing }, { type: 'log', text } and,
// when the receiver shows verification codes (PROTOCOL.md, "Verification
// code"), { type: 'code', code } with the six digits ("123 456") before the
// first offer; result.code holds them too. With a receiver that does not
// show one, { type: 'code', code: null, missing: why } and result.no_code
// (why, to be shown: the CLI says it too).

import { Sha256 } from './sha256.js';
import { sdpLanCandidates } from './lanaddr.js';
import {
  PROTOCOL_VERSION, CONTROL_RE, CONTROL_RE_G, utf8Length, truncateUtf8, cleanName, normalizeFingerprint,
  shortFingerprint, sdpFingerprint, sdpFingerprintCheck, canReadRemoteCertificate, dtlsConnected, dtlsRemoteFingerprint,
  sdpMaxMessageSize, cleanPath, uniquePaths, randomTransferId, IdropError, refusal, addFolders, OFFER_FOLDERS_MAX,
  toHex, fromHex, sasNonce, sasCommit, sasCode,
} from './common.js';

export * from './common.js';

const LABEL = 'idrop';
const SUBPROTOCOL = 'idrop/1';
const CONTROL_MAX = 64 * 1024;        // a control message, in bytes
// A binary message, at most: under 65,536, which closes a channel with a
// stock Pion reader (as sctp.h IDL_SCTP_BULK_MESSAGE for the C writers).
const CHUNK_MAX = 65535;
const READ_SIZE = 1024 * 1024;        // one File.slice() read
const HIGH_WATER = 4 * 1024 * 1024;   // wait when this much is queued
const LOW_WATER = 1024 * 1024;        // ... until it is down to this
const OFFER_FILES_MAX = 10000;
const GATHER_TIMEOUT_MS = 15000;
const CONNECT_TIMEOUT_MS = 30000;
const CANCEL_LINGER_MS = 3000;        // wait this long for the receiver to close after our cancel

const isInt = (v) => Number.isSafeInteger(v) && v >= 0;
const reasonOf = (m) => (typeof m.reason === 'string' && m.reason ? m.reason : 'no reason given');

export class Sender {
  constructor({
    base = '', offerUrl = null, name, certificate = null, deviceFingerprint = null, expectedFingerprint = null,
    peerNoun = 'device', files, onEvent = () => {},
  }) {
    this.offerUrl = offerUrl || `${base}/api/offer`;
    this.name = cleanName(name);
    this.certificate = certificate;
    this.deviceFingerprint = normalizeFingerprint(expectedFingerprint || deviceFingerprint);
    this.noun = peerNoun;
    const paths = uniquePaths(files.map((f) => cleanPath(f.path || f.file.name)));
    this.files = files.map((f, i) => ({
      file: f.file, path: paths[i], size: f.file.size,
      mtime: Math.max(0, Math.floor((f.file.lastModified || 0) / 1000)),
      status: 'unsent', reason: null,
    }));
    this.emit = (ev) => { try { onEvent(ev); } catch (e) { /* the page's problem */ } };
    this.pc = null;
    this.ch = null;
    this.phase = 'idle';
    this.failure = null;      // the first IdropError; stops everything
    this.inbox = [];          // control messages not yet taken
    this.waiters = new Set(); // wake-ups for anything that happens
    this.chunk = CHUNK_MAX;
    this.cancelSent = false;
    // The certificate fingerprints of this connection: ours from our offer,
    // the peer's from the certificate it presented in the DTLS handshake
    // (where the browser tells; else its answer's one unambiguous line).
    // Both are needed for a verification code.
    this.localFingerprint = null;
    this.remoteFingerprint = null;
    this.code = null;
    this.noCode = null;       // why there is no code, once hello is done without one
  }

  // ---------------------------------------------------------------- plumbing

  _setPhase(phase, text) {
    this.phase = phase;
    this.emit({ type: 'phase', phase, text });
  }

  _wake() {
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  _fail(err) {
    if (!this.failure) this.failure = err;
    this._wake();
  }

  // Waits until something happens (a message, a state change, buffer low):
  // true, or false when timeoutMs (0: no limit) passed first. Throws the
  // failure if there is one.
  async _waitEvent(timeoutMs = 0) {
    if (this.failure) throw this.failure;
    const woke = await new Promise((resolve) => {
      let timer = null;
      const done = () => { if (timer) clearTimeout(timer); resolve(true); };
      this.waiters.add(done);
      if (timeoutMs > 0) {
        timer = setTimeout(() => { this.waiters.delete(done); resolve(false); }, timeoutMs);
      }
    });
    if (this.failure) throw this.failure;
    return woke;
  }

  _send(msg) {
    const s = JSON.stringify(msg);
    if (utf8Length(s) > CONTROL_MAX) throw new IdropError(this.phase, `control message too large (${msg.type})`);
    this.ch.send(s);
  }

  // The next control message; a cancel from the receiver throws.
  async _recv(timeoutMs = 0, what = '') {
    const until = timeoutMs ? performance.now() + timeoutMs : 0;
    while (this.inbox.length === 0) {
      const left = until ? until - performance.now() : 0;
      if (until && left <= 0) throw new IdropError(this.phase, `timed out ${what}`);
      await this._waitEvent(until ? left : 0);
    }
    return this.inbox.shift();
  }

  _onMessage(ev) {
    if (this.failure) return;
    if (typeof ev.data !== 'string') {
      this._protocolError('binary data from the receiver');
      return;
    }
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { m = null; }
    if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.type !== 'string') {
      this._protocolError('a control message that is not a JSON object with a type');
      return;
    }
    const known = ['hello', 'accept', 'decline', 'file-ok', 'file-error', 'receipt', 'cancel',
      'offer', 'file', 'file-end', 'done', 'sas'];
    if (!known.includes(m.type)) {
      this._sendCancel('unsupported');
      this._fail(new IdropError(this.phase, `the ${this.noun} sent an unknown message type '${m.type}'`));
      return;
    }
    if (m.type === 'cancel') {
      this._fail(new IdropError(this.phase, `the ${this.noun} cancelled: ${reasonOf(m)}`, 'cancelled'));
      this.cancelReason = reasonOf(m);
      return;
    }
    this.inbox.push(m);
    this._wake();
  }

  _sendCancel(reason) {
    if (this.cancelSent || !this.ch || this.ch.readyState !== 'open') return;
    this.cancelSent = true;
    try { this.ch.send(JSON.stringify({ type: 'cancel', reason: truncateUtf8(reason.replace(CONTROL_RE_G, ' '), 1024) })); } catch (e) { /* closing */ }
  }

  // Cancels for a message that breaks the protocol; returns the failure to throw.
  _protocolError(what) {
    const reason = truncateUtf8(`protocol error: ${what}`, 1000);
    this._sendCancel(reason);
    this._fail(new IdropError(this.phase, `the ${this.noun} broke the protocol: ${what}`));
    return this.failure;
  }

  // Stops the transfer: sends cancel (reason for the receiver's user).
  cancel(reason = 'cancelled by the sender') {
    if (this.failure) return;
    this._sendCancel(reason);
    this._fail(new IdropError(this.phase, `cancelled: ${reason}`, 'aborted'));
  }

  // ---------------------------------------------------------------- connection

  // The phases of transport/peer.c, in its order: signalling (our offer with
  // every local candidate, the answer checked and applied), ICE, DTLS, the
  // data channel, then the fingerprint check on the certificate DTLS
  // verified. A failure names the phase it happened in.
  async _connect() {
    this._setPhase('signalling', 'Preparing the connection…');
    this._createConnection();
    await this._gatherOffer();
    this._setPhase('signalling', `Contacting the ${this.noun}…`);
    const answer = await this._postOffer();
    this._checkAnswer(answer);
    await this._applyAnswer(answer);
    await this._openChannel();
    await this._checkCertificate();
  }

  // The connection (our certificate, no STUN or TURN: LAN only) and our data
  // channel, made before the offer so that the offer carries it.
  _createConnection() {
    const config = { iceServers: [] };
    if (this.certificate) config.certificates = [this.certificate];
    let pc;
    try {
      pc = new RTCPeerConnection(config);
    } catch (e) {
      throw new IdropError('signalling', `cannot create a WebRTC connection: ${e.message}`);
    }
    this.pc = pc;
    const ch = pc.createDataChannel(LABEL, { ordered: true, protocol: SUBPROTOCOL });
    ch.binaryType = 'arraybuffer';
    ch.bufferedAmountLowThreshold = LOW_WATER;
    this.ch = ch;
    this.iceConnected = false;
    this.dtlsConnected = false;
    this._watchChannel(ch);
    this._watchConnection(pc);
  }

  // The channel's events wake whatever waits; its close or error before the
  // end is the failure, told apart from a close before it ever opened.
  _watchChannel(ch) {
    ch.onmessage = (ev) => this._onMessage(ev);
    ch.onopen = () => this._wake();
    ch.onbufferedamountlow = () => this._wake();
    ch.onerror = (ev) => {
      const msg = ev && ev.error ? ev.error.message : 'unknown error';
      this._fail(new IdropError(this.phase === 'transfer' ? 'transfer' : 'data channel', `data channel error: ${msg}`));
    };
    ch.onclose = () => {
      this.channelClosed = true;
      if (this.finished) return;
      this._fail(new IdropError(this.phase, this.phase === 'data channel' || this.phase === 'ICE' || this.phase === 'DTLS'
        ? `data channel: the ${this.noun} closed the channel before it opened`
        : `the connection to the ${this.noun} was closed`));
    };
  }

  // ICE and DTLS progress, as peer.c's ice_connected and dtls_connected
  // record it: a failure then names the layer that broke.
  _watchConnection(pc) {
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') this.iceConnected = true;
      if (s === 'failed') {
        this._fail(new IdropError('ICE', this.iceConnected
          ? `ICE: the network path to the ${this.noun} was lost`
          : `ICE failed: no network path to the ${this.noun} (is it on the same network, not blocked by a firewall or client isolation?)`));
      }
      this._wake();
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === 'connected') this.dtlsConnected = true;
      if (s === 'failed') {
        if (!this.iceConnected)
          this._fail(new IdropError('ICE', `ICE failed: no network path to the ${this.noun}`));
        else if (!this.dtlsConnected)
          this._fail(new IdropError('DTLS', `DTLS failed: the secure handshake with the ${this.noun} did not complete`));
        else
          this._fail(new IdropError(this.phase, `the connection to the ${this.noun} failed`));
      }
      this._wake();
    };
    pc.onicegatheringstatechange = () => this._wake();
  }

  // ICE gathering: the offer goes out once, with every local candidate in it
  // (POST /api/offer takes one SDP, no trickle). Notes our fingerprint.
  async _gatherOffer() {
    const pc = this.pc;
    try {
      await pc.setLocalDescription();
    } catch (e) {
      throw new IdropError('signalling', `cannot make an offer: ${e.message}`);
    }
    const gatherUntil = performance.now() + GATHER_TIMEOUT_MS;
    while (pc.iceGatheringState !== 'complete') {
      const left = gatherUntil - performance.now();
      if (left <= 0) throw new IdropError('ICE', 'ICE: gathering local network addresses did not finish');
      await this._waitEvent(left);
    }
    this.localFingerprint = sdpFingerprint(pc.localDescription.sdp);
  }

  // Signalling: POSTs the offer and returns the answer's SDP (201 and
  // SDP-shaped, else refused); a cancel meanwhile aborts the request.
  async _postOffer() {
    let resp, body;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 20000);
    // Every wake-up calls the waiters (and forgets them): abort only on a
    // failure (a cancel), else keep listening. A relayed offer takes
    // seconds, and ICE events come meanwhile.
    const onFail = () => { if (this.failure) ctl.abort(); else this.waiters.add(onFail); };
    this.waiters.add(onFail);
    try {
      resp = await fetch(this.offerUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: this.pc.localDescription.sdp,
        cache: 'no-store',
        signal: ctl.signal,
      });
      body = await resp.text();
    } catch (e) {
      if (this.failure) throw this.failure;
      throw new IdropError('signalling', e.name === 'AbortError'
        ? `signalling: the ${this.noun} did not answer the offer`
        : `signalling: cannot reach the ${this.noun} (${e.message})`);
    } finally {
      clearTimeout(timer);
      this.waiters.delete(onFail);
    }
    if (this.failure) throw this.failure;
    if (resp.status !== 201) throw new IdropError('signalling', `signalling: ${refusal(resp.status, body, this.noun)}`);
    if (!/^v=0/.test(body)) throw new IdropError('signalling', `signalling: the ${this.noun} answered with something that is not SDP`);
    return body;
  }

  // The answer's certificate fingerprint, before the browser acts on it:
  // ambiguous answers are refused (transport/sdp.c refuses the same ones),
  // and one not the expected key is someone in the middle. Also takes the
  // peer's message size limit.
  _checkAnswer(body) {
    const { fp, error: fpError } = sdpFingerprintCheck(body, { oneLine: !canReadRemoteCertificate() });
    if (!fp) throw new IdropError('signalling', `signalling: the ${this.noun}'s answer ${fpError}; refusing to connect`);
    if (this.deviceFingerprint && fp !== this.deviceFingerprint)
      throw new IdropError('signalling',
        `signalling: the answer's certificate fingerprint ${shortFingerprint(fp)} is not the ${this.noun}'s ` +
        `${shortFingerprint(this.deviceFingerprint)}: someone may be in the middle; refusing to connect`);
    this.remoteFingerprint = fp;
    const mms = sdpMaxMessageSize(body);
    this.chunk = mms > 0 ? Math.min(CHUNK_MAX, mms) : CHUNK_MAX;
  }

  // Hands the answer to the browser, which starts ICE. Checks go only to LAN
  // addresses (lanaddr.js), whatever the answer lists.
  async _applyAnswer(body) {
    try {
      const lan = sdpLanCandidates(body);
      if (lan.dropped.length)
        this.emit({ type: 'log', text: `ignored answer candidates not on the LAN: ${lan.dropped.slice(0, 8).join(', ')}` });
      await this.pc.setRemoteDescription({ type: 'answer', sdp: lan.sdp });
    } catch (e) {
      throw new IdropError('signalling', `signalling: the ${this.noun}'s answer was refused by the browser: ${e.message}`);
    }
  }

  // ICE -> DTLS -> SCTP/DCEP until the channel opens, the phase moving on as
  // each layer connects; one deadline for all, each with its own message
  // on failure or timeout.
  async _openChannel() {
    const connectUntil = performance.now() + CONNECT_TIMEOUT_MS;
    this._setPhase('ICE', 'Finding a network path…');
    while (this.ch.readyState !== 'open') {
      if (this.iceConnected && this.phase === 'ICE') this._setPhase('DTLS', 'Securing the connection…');
      if (this.dtlsConnected && this.phase !== 'data channel') this._setPhase('data channel', 'Opening the data channel…');
      const left = connectUntil - performance.now();
      if (left <= 0) {
        const what = { ICE: `ICE: no network path to the ${this.noun} was found`,
          DTLS: `DTLS: the secure handshake with the ${this.noun} did not finish`,
          'data channel': 'data channel: the channel did not open' }[this.phase];
        throw new IdropError(this.phase, `${what} within ${CONNECT_TIMEOUT_MS / 1000} s`);
      }
      await this._waitEvent(Math.min(left, 1000));
    }
    if (this.failure) throw this.failure;
  }

  // The channel is open, so DTLS is connected: the certificate the browser
  // verified is the peer's key, whatever the SDP said. Refuses before a
  // single message goes out when it is not the one expected.
  async _checkCertificate() {
    await dtlsConnected(this.pc);
    if (this.failure) throw this.failure;
    const { fp, error } = dtlsRemoteFingerprint(this.pc);
    if (!fp && !error) return;  // this browser cannot tell: the unambiguous answer stands
    if (!fp) throw new IdropError('DTLS', `DTLS: cannot read the ${this.noun}'s certificate (${error}); refusing to send`);
    const want = this.deviceFingerprint || this.remoteFingerprint;
    if (fp !== want)
      throw new IdropError('DTLS',
        `DTLS: the ${this.noun} presented the key ${shortFingerprint(fp)}, not ` +
        `${this.deviceFingerprint ? `the ${this.noun}'s` : 'the one its answer named,'} ${shortFingerprint(want)}: ` +
        'someone may be in the middle; refusing to send');
    this.remoteFingerprint = fp;
  }

  // ---------------------------------------------------------------- protocol

  // hello both ways; with a receiver that answers our commitment with its
  // nonce, the verification code: we reveal our nonce (sas) before any offer.
  async _hello() {
    this._setPhase('hello', `Greeting the ${this.noun}…`);
    const hello = { type: 'hello', version: PROTOCOL_VERSION, name: this.name, kind: 'browser' };
    let nonce = null;
    if (this.localFingerprint && this.remoteFingerprint) {
      nonce = sasNonce();  // fresh for every connection: one Sender runs one
      hello.sas_commit = await sasCommit(nonce);
    }
    this._send(hello);
    const m = await this._recv(30000, `waiting for the ${this.noun} to say hello`);
    if (m.type !== 'hello') throw this._protocolError(`expected hello, got ${m.type}`);
    if (!isInt(m.version) || m.version < 1) throw this._protocolError('hello without a valid version');
    if (typeof m.name !== 'string' || !m.name || utf8Length(m.name) > 63 || CONTROL_RE.test(m.name))
      throw this._protocolError('hello without a valid name');
    if (m.kind !== 'device' && m.kind !== 'browser') throw this._protocolError('hello with an unknown kind');
    const peerNonce = m.sas_nonce === undefined ? null : fromHex(m.sas_nonce);
    if (m.sas_nonce !== undefined && !peerNonce) throw this._protocolError('hello sas_nonce is not 64 hex digits');
    this.peerName = m.name;
    if (nonce && peerNonce) {
      this._send({ type: 'sas', nonce: toHex(nonce) });
      this.code = await sasCode(this.localFingerprint, this.remoteFingerprint, nonce, peerNonce);
      this.emit({ type: 'code', code: this.code });
    } else {
      // Said, never silent (PROTOCOL.md, "Verification code"; the CLI says
      // the same): someone in between could have stripped the nonce.
      this.noCode = nonce
        ? `the ${this.noun} does not show one (an older version, or someone in between removed it)`
        : 'this browser could not read the keys of the connection';
      this.emit({ type: 'code', code: null, missing: this.noCode });
    }
    if (this.failure) throw this.failure;
    return m;
  }

  // Offers may hold 10,000 files, 1,000 folders and 64 KiB of JSON: more
  // become several transfers.
  _batches() {
    const out = [];
    let cur = [], size = 200, folders = new Set();
    this.files.forEach((f, i) => {
      const entry = { id: 0, path: f.path, size: f.size, mtime: f.mtime };
      const len = utf8Length(JSON.stringify(entry)) + 16;
      const dirs = f.path.split('/').slice(0, -1);
      const fresh = dirs.filter((_, k) => !folders.has(dirs.slice(0, k + 1).join('/'))).length;
      if (cur.length && (cur.length >= OFFER_FILES_MAX || size + len > CONTROL_MAX - 512 ||
          folders.size + fresh > OFFER_FOLDERS_MAX)) {
        out.push(cur); cur = []; size = 200; folders = new Set();
      }
      addFolders(folders, f.path);
      cur.push(i); size += len;
    });
    if (cur.length) out.push(cur);
    return out;
  }

  async _transfer(indices) {
    const transfer = randomTransferId();
    const files = indices.map((fi, id) => {
      const f = this.files[fi];
      return { id, path: f.path, size: f.size, mtime: f.mtime };
    });
    this._setPhase('offer', `Waiting for the ${this.noun} to accept…`);
    this._send({ type: 'offer', transfer, files });
    const m = await this._recv(0);  // a person may be asked: no timer (the device bounds it)
    if (m.type === 'decline') {
      if (String(m.transfer).toLowerCase() !== transfer) throw this._protocolError('decline for another transfer');
      for (const fi of indices) this._fileStatus(fi, 'skipped');
      throw new IdropError('offer', `the ${this.noun} declined: ${reasonOf(m)}`, 'declined');
    }
    if (m.type !== 'accept') throw this._protocolError(`expected accept or decline, got ${m.type}`);
    if (String(m.transfer).toLowerCase() !== transfer) throw this._protocolError('accept for another transfer');
    if (!Array.isArray(m.files)) throw this._protocolError('accept without files');
    const offsets = new Map();
    for (const a of m.files) {
      if (!a || !isInt(a.id) || a.id >= files.length || offsets.has(a.id) || !isInt(a.offset) || a.offset > files[a.id].size)
        throw this._protocolError('accept with an invalid file entry');
      offsets.set(a.id, a.offset);
    }
    const accepted = files.filter((f) => offsets.has(f.id)).map((f) => f.id);
    for (const f of files) if (!offsets.has(f.id)) this._fileStatus(indices[f.id], 'skipped');

    // The answers come while we send: a reader takes them in order.
    const answered = new Map();
    let receipt = null;
    const reader = (async () => {
      for (const id of accepted) {
        const r = await this._recv(0);
        if (r.type !== 'file-ok' && r.type !== 'file-error')
          throw this._protocolError(`expected file-ok or file-error, got ${r.type}`);
        if (r.id !== id) throw this._protocolError(`${r.type} for file ${r.id}, expected ${id}`);
        answered.set(id, r);
        if (r.type === 'file-ok') this._fileStatus(indices[id], 'verified');
        else this._fileStatus(indices[id], 'failed', reasonOf(r));
      }
      const rc = await this._recv(0);
      if (rc.type !== 'receipt') throw this._protocolError(`expected receipt, got ${rc.type}`);
      if (String(rc.transfer).toLowerCase() !== transfer) throw this._protocolError('receipt for another transfer');
      if (!Array.isArray(rc.files)) throw this._protocolError('receipt without files');
      receipt = rc;
      return rc;
    })();
    reader.catch((e) => this._fail(e));

    this._setPhase('transfer', 'Sending…');
    for (const id of accepted) {
      await this._sendFile(indices[id], id, offsets.get(id));
    }
    this._send({ type: 'done' });
    this._setPhase('receipt', `Waiting for the ${this.noun} to confirm…`);
    await reader;
    if (this.failure) throw this.failure;
    // The receipt is the last word on each file.
    for (const e of receipt.files) {
      if (!e || !isInt(e.id) || e.id >= files.length) continue;
      const fi = indices[e.id];
      const st = ['verified', 'failed', 'skipped'].includes(e.status) ? e.status : 'failed';
      if (this.files[fi].status !== st) this._fileStatus(fi, st, this.files[fi].reason);
    }
    for (const f of files) {
      const fi = indices[f.id];
      if (!receipt.files.some((e) => e && e.id === f.id) && this.files[fi].status !== 'failed')
        this._fileStatus(fi, 'failed', 'not in the receipt');
    }
    return indices.every((fi) => this.files[fi].status === 'verified');
  }

  _fileStatus(fi, status, reason = null) {
    const f = this.files[fi];
    f.status = status;
    f.reason = reason;
    this.emit({ type: 'file', index: fi, status, reason });
  }

  // Reads [pos, end) of a file; a shorter read means the file shrank.
  async _read(f, pos, end) {
    let buf;
    try {
      buf = await f.file.slice(pos, end).arrayBuffer();
    } catch (e) {
      throw this._readFailure(f, e.message || e.name);
    }
    if (buf.byteLength !== end - pos) throw this._readFailure(f, 'it changed while being sent');
    return new Uint8Array(buf);
  }

  _readFailure(f, why) {
    const reason = truncateUtf8(`cannot read ${f.path}: ${why}`, 1000);
    this._sendCancel(reason);
    const err = new IdropError('transfer', reason);
    this._fail(err);
    return this.failure;
  }

  async _sendFile(fi, id, offset) {
    const f = this.files[fi];
    const ch = this.ch;
    const hash = new Sha256();
    this._fileStatus(fi, 'sending');
    // Bytes the receiver already holds count in the hash: read them first.
    for (let pos = 0; pos < offset;) {
      const end = Math.min(offset, pos + READ_SIZE);
      hash.update(await this._read(f, pos, end));
      pos = end;
      if (this.failure) throw this.failure;
      this.emit({ type: 'progress', index: fi, sent: 0, size: f.size, offset, hashed: pos, hashing: true });
    }
    this._send({ type: 'file', id, offset });
    this.emit({ type: 'progress', index: fi, sent: offset, size: f.size, offset });
    let pos = offset;
    let next = pos < f.size ? this._read(f, pos, Math.min(f.size, pos + READ_SIZE)) : null;
    while (next) {
      let data;
      try {
        data = await next;
      } catch (e) {
        throw this.failure || e;
      }
      const end = pos + data.length;
      // Read ahead while this piece goes out: at most two pieces in memory.
      next = end < f.size ? this._read(f, end, Math.min(f.size, end + READ_SIZE)) : null;
      if (next) next.catch(() => {});  // reported when awaited
      hash.update(data);
      for (let o = 0; o < data.length; o += this.chunk) {
        while (ch.bufferedAmount > HIGH_WATER) await this._waitEvent(1000);
        if (this.failure) throw this.failure;
        ch.send(data.subarray(o, Math.min(data.length, o + this.chunk)));
      }
      pos = end;
      this.emit({ type: 'progress', index: fi, sent: pos, size: f.size, offset, queued: ch.bufferedAmount });
    }
    this._send({ type: 'file-end', id, sha256: hash.hex() });
    this._fileStatus(fi, 'checking');
  }

  // ---------------------------------------------------------------- the whole run

  async run() {
    const t0 = performance.now();
    let ok = false;
    try {
      if (this.files.length === 0) throw new IdropError('idle', 'no files to send');
      await this._connect();
      await this._hello();
      ok = true;
      for (const batch of this._batches()) {
        if (!(await this._transfer(batch))) ok = false;
        if (this.failure) throw this.failure;
      }
      this.finished = true;
      this._setPhase('done', ok ? 'All files arrived and were verified.' : 'Some files did not arrive.');
    } catch (e) {
      ok = false;
      const err = e instanceof IdropError ? e : new IdropError(this.phase, e && e.message ? e.message : String(e));
      if (!this.failure) this.failure = err;
      // Our own problem while the channel is up: tell the receiver.
      if (err.kind === 'error' && !this.cancelSent && this.ch && this.ch.readyState === 'open' && this.phase !== 'done')
        this._sendCancel(truncateUtf8(`sender: ${err.message}`, 1000));
      for (const f of this.files) {
        if (['sending', 'checking', 'unsent'].includes(f.status))
          this._fileStatus(this.files.indexOf(f), err.kind === 'declined' ? 'skipped' : 'cancelled', f.reason);
      }
    }
    await this._close();
    const failure = this.failure;
    const failedFile = this.files.find((f) => f.status === 'failed');
    return {
      ok,
      state: ok ? 'done' : failure && failure.kind === 'declined' ? 'declined' : failure ? 'error' : 'error',
      kind: failure ? failure.kind : null,
      phase: failure ? failure.phase : null,
      reason: ok ? null : failure ? failure.message
        : failedFile ? `${failedFile.path}: ${failedFile.reason || 'failed'}` : 'not every file was verified',
      device: this.peerName || null,
      code: this.code,
      ...(this.noCode ? { no_code: this.noCode } : {}),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      files: this.files.map((f) => ({ name: f.path, size: f.size, status: f.status, ...(f.reason ? { reason: f.reason } : {}) })),
    };
  }

  async _close() {
    const ch = this.ch, pc = this.pc;
    if (!pc) return;
    // After our cancel the receiver closes the channel; wait a little for that
    // so the cancel is not lost behind queued data.
    if (this.cancelSent && ch && ch.readyState === 'open') {
      const until = performance.now() + CANCEL_LINGER_MS;
      while (ch.readyState === 'open' && performance.now() < until)
        await new Promise((r) => setTimeout(r, 50));
    } else if (ch && ch.readyState === 'open') {
      // Let whatever is queued go out before closing (done was sent after the data).
      const until = performance.now() + CANCEL_LINGER_MS;
      while (ch.bufferedAmount > 0 && performance.now() < until)
        await new Promise((r) => setTimeout(r, 20));
    }
    this.finished = true;
    if (ch) ch.onclose = ch.onerror = ch.onmessage = null;
    pc.oniceconnectionstatechange = pc.onconnectionstatechange = null;
    try { if (ch) ch.close(); } catch (e) { /* ignore */ }
    try { pc.close(); } catch (e) { /* ignore */ }
  }
}
