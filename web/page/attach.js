// attach.js -- this tab as a peer others can send to (README.md, "Browser
// tabs: attaching and the offer relay"). It keeps an event stream open to
// the device that served the page, which announces the tab by DNS-SD and
// relays SDP offers to it; each offer gets an RTCPeerConnection with the
// tab's own certificate, its answer goes back by POST /api/answer, and the
// `idrop` data channel the sender opens runs a Receiver (receiver.js).
// No DOM: app.js listens to the events.
//
//   const a = new Attachment({ identity, name, ask, onEvent, maxBytes });
//   a.start();  a.rename('new name');  a.stop();
//
// onEvent(ev):
//   { type: 'attached', id, name }        the device announces us (hello)
//   { type: 'name', name }                DNS-SD renamed us after a conflict
//   { type: 'detached', reason, retryIn } the stream dropped; retrying in retryIn ms
//   { type: 'incoming', conn, fingerprint }        a peer is connecting
//   { type: 'receiver', conn, ev }        a Receiver event (receiver.js)
//   { type: 'finished', conn, result }    that peer's Receiver ended
//   { type: 'log', text }
// ask(offer, signal) is handed to each Receiver as is; the page queues its
// consent dialogs, so a second offer waits its turn (the sender has no
// timer while it waits; the page declines after 60 s on screen).
//
// Limits: at most MAX_PEERS connections at once; an offer beyond that is
// refused at once with an error ("busy"), which the sender sees as 502.

import { Receiver } from './receiver.js';
import { sdpLanCandidates } from './lanaddr.js';
import {
  sdpFingerprint, sdpFingerprintCheck, canReadRemoteCertificate, dtlsConnected, dtlsRemoteFingerprint, normalizeFingerprint,
  shortFingerprint,
} from './common.js';

const MAX_PEERS = 3;
const GATHER_TIMEOUT_MS = 15000;       // the relay waits 20 s for our answer
const CONNECT_TIMEOUT_MS = 30000;      // answered, but no idrop channel by then: give up
const CLOSE_LINGER_MS = 3000;          // let our last message (cancel, receipt) leave
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const ID_RE = /^[0-9a-f]{16}$/i;

export class Attachment {
  constructor({ identity, name, ask, onEvent = () => {}, maxBytes = Infinity }) {
    this.identity = identity;
    this.fp = normalizeFingerprint(identity && identity.fingerprint);
    this.name = name;
    this.ask = ask;
    this.maxBytes = maxBytes;
    this.emit = (ev) => { try { onEvent(ev); } catch (e) { /* the page's problem */ } };
    this.es = null;
    this.session = null;        // { id, token, name } from the current stream's hello
    this.peers = new Map();     // conn -> { pc, receiver }
    this.nextConn = 1;
    this.failures = 0;          // streams in a row that dropped before hello
    this.retryTimer = null;
    this.stopped = true;
  }

  start() {
    if (!this.fp || typeof EventSource === 'undefined' || typeof RTCPeerConnection === 'undefined') {
      this.emit({ type: 'detached', reason: 'this browser cannot receive files (no WebRTC or no key)', retryIn: 0 });
      return;
    }
    this.stopped = false;
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this._closeStream();
  }

  // A new name is a new announcement: the device takes it with a new stream.
  rename(name) {
    if (name === this.name) return;
    this.name = name;
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this._closeStream();
    this.failures = 0;
    this._open();
  }

  // Stops one incoming transfer (the person pressed its Cancel).
  cancel(conn, reason) {
    const peer = this.peers.get(conn);
    if (peer && peer.receiver) peer.receiver.cancel(reason);
  }

  // ---------------------------------------------------------------- the event stream

  _open() {
    const url = `/api/events?name=${encodeURIComponent(this.name)}&fp=${this.fp}`;
    const es = new EventSource(url);
    this.es = es;
    const on = (type, fn) => es.addEventListener(type, (e) => {
      if (this.es !== es) return;
      let data;
      try { data = JSON.parse(e.data); } catch (err) { data = null; }
      if (!data || typeof data !== 'object') {
        this.emit({ type: 'log', text: `the device sent a ${type} event that is not JSON` });
        return;
      }
      fn(data);
    });
    on('hello', (d) => this._onHello(d));
    on('name', (d) => {
      if (typeof d.name !== 'string' || !this.session) return;
      this.session.name = d.name;
      this.emit({ type: 'name', name: d.name });
    });
    on('offer', (d) => this._onOffer(d));
    // EventSource would reconnect by itself, but every new stream is a new
    // tab id: we do it ourselves, with a bounded backoff.
    es.onerror = () => {
      if (this.es !== es) return;
      this._closeStream();
      if (this.stopped) return;
      const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
      this.failures++;
      this.emit({ type: 'detached', reason: 'the connection to the device dropped', retryIn: delay });
      this.retryTimer = setTimeout(() => { if (!this.stopped && !this.es) this._open(); }, delay);
    };
  }

  _closeStream() {
    if (this.es) this.es.close();
    this.es = null;
    this.session = null;
  }

  _onHello(d) {
    if (typeof d.id !== 'string' || !ID_RE.test(d.id) || typeof d.token !== 'string' || !d.token) {
      this.emit({ type: 'log', text: 'the device sent a hello without an id and token' });
      return;
    }
    this.session = { id: d.id.toLowerCase(), token: d.token, name: typeof d.name === 'string' ? d.name : this.name };
    this.failures = 0;
    this.emit({ type: 'attached', id: this.session.id, name: this.session.name });
  }

  // ---------------------------------------------------------------- offers

  async _onOffer(d) {
    const session = this.session;
    if (!session || typeof d.rid !== 'string' || !ID_RE.test(d.rid) || typeof d.sdp !== 'string') {
      this.emit({ type: 'log', text: 'ignored a malformed offer event' });
      return;
    }
    if (this.peers.size >= MAX_PEERS) {
      await this._answer(session, { rid: d.rid, error: `busy: this tab is receiving from ${MAX_PEERS} peers already` });
      return;
    }
    // An ambiguous offer is refused before anything is shown (transport/sdp.c
    // refuses the same ones): its first line could name a key the browser
    // does not check (issue 11).
    const { fp, error: fpError } = sdpFingerprintCheck(d.sdp, { oneLine: !canReadRemoteCertificate() });
    if (!fp) {
      this.emit({ type: 'log', text: `refused an offer that ${fpError}` });
      await this._answer(session, { rid: d.rid, error: `the offer ${fpError}` });
      return;
    }
    const conn = this.nextConn++;
    const peer = { pc: null, receiver: null, timer: null };
    this.peers.set(conn, peer);
    try {
      const pc = new RTCPeerConnection({ iceServers: [], certificates: [this.identity.certificate] });
      peer.pc = pc;
      this._watch(conn, peer, fp);
      // Checks go only to LAN addresses (lanaddr.js): the offer came from
      // any LAN host, and its candidates could name any host elsewhere.
      const lan = sdpLanCandidates(d.sdp);
      if (lan.dropped.length)
        this.emit({ type: 'log', text: `ignored offer candidates not on the LAN: ${lan.dropped.slice(0, 8).join(', ')}` });
      await pc.setRemoteDescription({ type: 'offer', sdp: lan.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc, GATHER_TIMEOUT_MS);
      if (!(await this._answer(session, { rid: d.rid, sdp: pc.localDescription.sdp }))) this._drop(conn);
    } catch (e) {
      this.emit({ type: 'log', text: `cannot answer an offer: ${e.message}` });
      this._drop(conn);
      await this._answer(session, { rid: d.rid, error: `the browser cannot take this offer: ${e.message}` });
    }
  }

  // POSTs our answer (or refusal) for one relayed offer; true when relayed.
  async _answer(session, body) {
    try {
      const r = await fetch('/api/answer', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: session.id, token: session.token, ...body }),
        cache: 'no-store',
      });
      if (r.status === 204) return true;
      this.emit({ type: 'log', text: `POST /api/answer: HTTP ${r.status}` });
    } catch (e) {
      this.emit({ type: 'log', text: `POST /api/answer: ${e.message}` });
    }
    return false;
  }

  // Wires one connection: its idrop channel runs a Receiver; anything else is closed.
  _watch(conn, peer, fingerprint) {
    const pc = peer.pc;
    this.emit({ type: 'incoming', conn, fingerprint });
    peer.timer = setTimeout(() => {
      if (!peer.receiver) {
        this.emit({ type: 'log', text: 'a peer answered but never opened its channel' });
        this._drop(conn);
      }
    }, CONNECT_TIMEOUT_MS);
    pc.ondatachannel = async (ev) => {
      const ch = ev.channel;
      if (ch.label !== 'idrop' || peer.receiver || peer.claimed) {
        ch.close();
        return;
      }
      peer.claimed = true;  // one idrop channel per connection, also while we wait
      clearTimeout(peer.timer);
      // What the sender says meanwhile waits for the Receiver, in order.
      const early = [];
      ch.binaryType = 'arraybuffer';
      ch.onmessage = (e) => early.push(e);
      await dtlsConnected(pc);
      if (this.peers.get(conn) !== peer) return;  // dropped meanwhile
      // The channel is open, so DTLS is connected: the sender's key is the
      // certificate the browser verified, not what its SDP said.
      const cert = dtlsRemoteFingerprint(pc);
      if (cert.error || (cert.fp && cert.fp !== fingerprint)) {
        this.emit({ type: 'log', text: cert.error ? `refused a peer: ${cert.error}`
          : `refused a peer whose certificate ${shortFingerprint(cert.fp)} is not the ${shortFingerprint(fingerprint)} its offer named` });
        ch.close();
        this._drop(conn);
        return;
      }
      const name = this.session ? this.session.name : this.name;
      // Ours as our answer gave it (the handshake checks it): the tab's identity.
      const local = (pc.localDescription && sdpFingerprint(pc.localDescription.sdp)) || this.fp;
      peer.receiver = new Receiver({
        channel: ch, name, remoteFingerprint: cert.fp || fingerprint, localFingerprint: local, ask: this.ask, maxBytes: this.maxBytes,
        onEvent: (rev) => this.emit({ type: 'receiver', conn, ev: rev }),
      });
      peer.receiver.run().then((result) => {
        this.emit({ type: 'finished', conn, result });
        this._drop(conn, CLOSE_LINGER_MS);
      });
      for (const e of early) ch.onmessage(e);
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s !== 'failed' && s !== 'closed') return;
      if (peer.receiver) peer.receiver.connectionLost(`the connection to the sender ${s === 'failed' ? 'failed' : 'closed'}`);
      else this._drop(conn);
    };
  }

  // Forgets a connection and closes it (after lingerMs, so that what we
  // sent last is not cut off).
  _drop(conn, lingerMs = 0) {
    const peer = this.peers.get(conn);
    if (!peer) return;
    this.peers.delete(conn);
    clearTimeout(peer.timer);
    const close = () => { try { if (peer.pc) peer.pc.close(); } catch (e) { /* closed */ } };
    if (lingerMs) setTimeout(close, lingerMs);
    else close();
    if (!peer.receiver) this.emit({ type: 'finished', conn, result: null });
  }
}

// Resolves once ICE gathering is complete (no trickle: the answer carries
// every candidate); rejects after ms.
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ICE: gathering local network addresses did not finish')), ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}
