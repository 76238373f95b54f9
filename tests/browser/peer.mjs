#!/usr/bin/env node
// tests/browser/peer.mjs -- headless Chromium as an independent WebRTC
// data-channel peer for idrop-lan's interoperability tests.
//
//   node peer.mjs URL [--text N] [--binary-bytes B] [--chunk C] [--timeout S] [-v]
//
// URL is a device's base URL (http://10.77.0.2:7757); the offer goes to
// URL + "/api/offer" (a URL already ending in /api/offer is used as is).
//
// Debian's /usr/bin/chromium is driven by playwright-core (npm), with exactly
// the flags in CHROMIUM_ARGS plus a fresh --user-data-dir and Playwright's
// --remote-debugging-pipe. Chromium's default mDNS hiding of local IPs stays
// ON: the offer carries one <uuid>.local host candidate, as users' browsers do.
//
// The page is about:blank; it never talks HTTP itself. The page makes the
// RTCPeerConnection and a data channel labelled "echo" (ordered, reliable),
// waits for ICE gathering to complete and hands the offer to Node; Node POSTs
// it (Content-Type: application/sdp), wants "201 Created" with an SDP answer
// and hands the answer back. No CORS is involved. The page then sends N text
// messages and B bytes of binary data in C-byte messages (default 64 KiB,
// respecting bufferedAmount, at most 512 KiB ahead of the echoes), and checks
// every echo in order against the same
// deterministic payloads that tests/interop/aiortc_peer.py uses:
//   text message i of n: "idrop-echo text i/n ünïcödé ✓ " + "x".repeat(i*37 % 500)
//   binary: xorshift32 stream (x^=x<<13; x^=x>>>17; x^=x<<5) from 0x9E3779B9,
//           4 bytes little-endian a step, cut into C-byte messages; it starts
//           19 46 0c 51 3e 55 2e e0 (first 200000 bytes: SHA-256 a7ae6994...c4fb05).
// One JSON summary line on stdout; exit 0 on success, 1 on failure or
// timeout (message on stderr, "ok": false in the JSON), 2 on usage errors.
// Chromium is always closed and its profile removed, also on SIGINT/SIGTERM.

import { DriverError, closeChromium, drive, launchChromium, makeDeadline, numberOption } from './chromium.mjs';


function usage(msg) {
  if (msg) process.stderr.write(`peer.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node peer.mjs URL [--text N] [--binary-bytes B] [--chunk C] [--timeout S] [-v]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, text: 10, binaryBytes: 0, chunk: 65536, timeout: 30, verbose: false };
  const num = numberOption(usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--text') o.text = Math.floor(num(a, argv[++i], 0, 1e7));
    else if (a === '--binary-bytes') o.binaryBytes = Math.floor(num(a, argv[++i], 0, 2 ** 40));
    else if (a === '--chunk') o.chunk = Math.floor(num(a, argv[++i], 1, 262144));
    else if (a === '--timeout') o.timeout = num(a, argv[++i], 0.1, 86400);
    else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.url === null) o.url = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.url) usage('URL missing');
  let u;
  try { u = new URL(o.url); } catch { usage(`bad URL ${o.url}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') usage('URL must be http:// or https://');
  o.offerUrl = /\/api\/offer\/?$/.test(u.pathname)
    ? u.href
    : u.origin + u.pathname.replace(/\/+$/, '') + '/api/offer';
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const vlog = (...a) => { if (opts.verbose) console.error('peer.mjs:', ...a); };
const t0 = performance.now();
const ms = (a, b) => Math.round((b - a) * 10) / 10;
const summary = { peer: 'chromium', mode: 'offer', url: opts.offerUrl, ok: false };

// ---------------------------------------------------------------- page side
// These functions run inside the page (about:blank); they must be self-contained.

async function pageMakeOffer({ gatherTimeoutMs }) {
  const pc = new RTCPeerConnection({ iceServers: [] });  // host candidates only
  const ch = pc.createDataChannel('echo', { ordered: true });
  ch.binaryType = 'arraybuffer';
  window.__idrop = { pc, ch, t0: performance.now(), states: [] };
  pc.addEventListener('connectionstatechange', () =>
    window.__idrop.states.push(`${Math.round(performance.now() - window.__idrop.t0)}ms ${pc.connectionState}`));
  await pc.setLocalDescription();
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `ICE gathering not complete after ${gatherTimeoutMs} ms`)), gatherTimeoutMs);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
      });
    });
  }
  return {
    sdp: pc.localDescription.sdp,
    secureContext: window.isSecureContext,
    origin: location.href,
    userAgent: navigator.userAgent,
  };
}

async function pageRun({ answer, text, binaryBytes, chunk, timeoutMs }) {
  const { pc, ch } = window.__idrop;
  const tStart = performance.now();
  const deadline = tStart + timeoutMs;
  let phase = 'setRemoteDescription';

  // Deterministic payloads (see the header of peer.mjs / aiortc_peer.py).
  const textMessage = (i, n) => `idrop-echo text ${i}/${n} ünïcödé ✓ ` + 'x'.repeat(i * 37 % 500);
  class Stream {  // xorshift32, 4 bytes little-endian per step, any cut points
    constructor() { this.x = 0x9E3779B9 >>> 0; this.left = new Uint8Array(0); }
    next(n) {
      const out = new Uint8Array(n);
      let o = Math.min(n, this.left.length);
      out.set(this.left.subarray(0, o));
      this.left = this.left.subarray(o);
      let x = this.x;
      while (o < n) {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        const b = [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
        const k = Math.min(4, n - o);
        for (let j = 0; j < k; j++) out[o + j] = b[j];
        if (k < 4) this.left = Uint8Array.from(b.slice(k));
        o += k;
      }
      this.x = x;
      return out;
    }
  }

  const nBin = binaryBytes === 0 ? 0 : Math.ceil(binaryBytes / chunk);
  const total = text + nBin;
  const binLen = (k) => Math.min(chunk, binaryBytes - k * chunk);
  const enc = new TextEncoder();

  let failed = null;
  let wake = null;  // resolves waiters on any event
  const poke = () => { if (wake) { const w = wake; wake = null; w(); } };
  const waitEvent = () => new Promise((resolve, reject) => {
    const left = deadline - performance.now();
    if (left <= 0) return reject(new Error(`timed out in phase '${phase}'`));
    const timer = setTimeout(() => reject(new Error(`timed out in phase '${phase}'`)), left);
    wake = () => { clearTimeout(timer); resolve(); };
  });
  const fail = (msg) => { if (!failed) failed = new Error(msg); poke(); };

  // receive side: check each echo as it arrives
  let rx = 0, rxBytes = 0;
  const rxStream = new Stream();
  ch.onmessage = (ev) => {
    if (failed) return;
    const idx = rx;
    if (idx >= total) return fail(`unexpected extra message after ${total} echoes`);
    if (idx < text) {
      if (typeof ev.data !== 'string') return fail(`echo ${idx}: got binary, sent text`);
      const want = textMessage(idx, text);
      if (ev.data !== want)
        return fail(`echo ${idx} (text) differs: ${enc.encode(ev.data).length} bytes back, ` +
          `${enc.encode(want).length} sent`);
      rxBytes += enc.encode(ev.data).length;
    } else {
      if (typeof ev.data === 'string') return fail(`echo ${idx}: got text, sent binary`);
      const got = new Uint8Array(ev.data);
      const want = rxStream.next(binLen(idx - text));
      if (got.length !== want.length)
        return fail(`echo ${idx} (binary) differs: ${got.length} bytes back, ${want.length} sent`);
      for (let j = 0; j < got.length; j++)
        if (got[j] !== want[j]) return fail(`echo ${idx} (binary) differs at byte ${j}`);
      rxBytes += got.length;
    }
    rx++;
    poke();
  };
  ch.onclose = () => fail(`channel closed after ${rx} of ${total} echoes`);
  ch.onerror = (ev) => fail(`channel error: ${ev.error ? ev.error.message : 'unknown'}`);
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed') fail('peer connection failed (ICE/DTLS)');
    poke();
  });
  ch.addEventListener('open', poke);
  ch.bufferedAmountLowThreshold = 1 << 20;
  ch.addEventListener('bufferedamountlow', poke);

  const HIGH = 4 << 20;
  const ECHO_WINDOW = 512 << 10;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    phase = 'connect';
    while (ch.readyState !== 'open') {
      if (failed) throw failed;
      if (ch.readyState === 'closed') throw new Error('channel closed before it opened');
      await waitEvent();
    }
    if (failed) throw failed;
    const tOpen = performance.now();
    phase = 'transfer';
    const txStream = new Stream();
    for (let i = 0; i < text; i++) ch.send(textMessage(i, text));
    let txBytes = 0;
    for (let k = 0; k < nBin; k++) {
      // At most ECHO_WINDOW ahead of the echoes: a device closes an echo
      // channel whose replies pile up past 1 MiB (web/device.c).
      while (ch.bufferedAmount > HIGH || txBytes - rxBytes > ECHO_WINDOW) {
        if (failed) throw failed;
        await waitEvent();
      }
      if (failed) throw failed;
      ch.send(txStream.next(binLen(k)));
      txBytes += binLen(k);
    }
    while (rx < total) {
      if (failed) throw failed;
      await waitEvent();
    }
    if (failed) throw failed;
    const tDone = performance.now();
    await new Promise((r) => setTimeout(r, 50));  // an extra echo would show up here
    if (failed) throw failed;

    // what ICE picked
    let pair = null;
    try {
      const stats = await pc.getStats();
      let sel = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) sel = stats.get(s.selectedCandidatePairId);
      });
      if (!sel) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') sel = s; });
      if (sel) {
        const l = stats.get(sel.localCandidateId), r = stats.get(sel.remoteCandidateId);
        pair = {
          local: l && `${l.candidateType} ${l.address || l.ip || '(hidden)'}:${l.port}`,
          remote: r && `${r.candidateType} ${r.address || r.ip || '(hidden)'}:${r.port}`,
        };
      }
    } catch (e) { /* diagnostics only */ }

    const sctp = pc.sctp;
    const res = {
      ok: true,
      ms: { setRemote_connect: Math.round((tOpen - tStart) * 10) / 10,
            transfer: Math.round((tDone - tOpen) * 10) / 10 },
      echoes: rx, echoedBytes: rxBytes,
      textBytes: Array.from({ length: text }, (_, i) => enc.encode(textMessage(i, text)).length)
        .reduce((a, b) => a + b, 0),
      binaryMessages: nBin,
      channelId: ch.id,
      sctpMaxMessageSize: sctp ? sctp.maxMessageSize : null,
      selectedPair: pair,
      states: window.__idrop.states,
    };
    ch.close();
    pc.close();
    return res;
  } catch (e) {
    try { pc.close(); } catch { /* ignore */ }
    return { ok: false, error: `${e.message || e}`, phase, echoes: rx, states: window.__idrop.states };
  }
}

// ---------------------------------------------------------------- node side

function sdpInfo(sdp) {
  const all = (re) => [...sdp.matchAll(re)].map((m) => m[1]);
  return {
    candidates: all(/^a=candidate:(.+?)\r?$/gm),
    end_of_candidates: /^a=end-of-candidates\r?$/m.test(sdp),
    fingerprint: all(/^a=fingerprint:(.+?)\r?$/gm)[0] || null,
    setup: all(/^a=setup:(\S+)/gm),
    m: all(/^m=(.+?)\r?$/gm),
  };
}

const chrome = {};  // { browser, userDataDir }: launchChromium fills it in

async function run() {
  const left = makeDeadline(opts.timeout, t0);
  const { browser } = await launchChromium({ left, into: chrome });
  summary.chromium = browser.version();
  const page = await browser.newPage();
  if (opts.verbose) page.on('console', (m) => vlog('page:', m.text()));
  await page.goto('about:blank');
  const tLaunch = performance.now();

  // -- gather (in the page)
  const offer = await page.evaluate(pageMakeOffer, { gatherTimeoutMs: Math.max(100, left()) });
  const tGather = performance.now();
  summary.secure_context = offer.secureContext;
  summary.offer = sdpInfo(offer.sdp);
  vlog('offer:\n' + offer.sdp);

  // -- signal (from Node: no CORS)
  let resp, body;
  try {
    resp = await fetch(opts.offerUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp' },
      body: offer.sdp,
      signal: AbortSignal.timeout(Math.max(100, left())),
    });
    body = await resp.text();
  } catch (e) {
    throw new DriverError(`POST ${opts.offerUrl}: ${e.cause ? e.cause.message || e.cause.code : e.message}`);
  }
  const tPost = performance.now();
  summary.http_status = resp.status;
  if (resp.headers.get('location')) summary.location = resp.headers.get('location');
  if (resp.status !== 201)
    throw new DriverError(`POST ${opts.offerUrl}: expected 201 Created, got ${resp.status}: ${body.slice(0, 300).trim()}`);
  const ctype = (resp.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  if (ctype !== 'application/sdp')
    throw new DriverError(`answer Content-Type is '${resp.headers.get('content-type')}', want application/sdp`);
  if (!body.startsWith('v=0')) throw new DriverError(`answer does not look like SDP: ${JSON.stringify(body.slice(0, 80))}`);
  summary.answer = sdpInfo(body);
  vlog('answer:\n' + body);

  // -- connect + transfer (in the page)
  const res = await page.evaluate(pageRun, {
    answer: body, text: opts.text, binaryBytes: opts.binaryBytes, chunk: opts.chunk,
    timeoutMs: Math.max(100, left()),
  });
  const tDone = performance.now();
  summary.connection_states = res.states;
  if (!res.ok) throw new DriverError(`${res.error} (phase ${res.phase}, ${res.echoes} echoes)`);
  Object.assign(summary, {
    selected_pair: res.selectedPair,
    channel_id: res.channelId,
    sctp_max_message_size: res.sctpMaxMessageSize,
    echoed_bytes: res.echoedBytes,
    text_messages: opts.text,
    text_bytes: res.textBytes,
    binary_messages: res.binaryMessages,
    binary_bytes: opts.binaryBytes,
    ms: {
      launch: ms(t0, tLaunch),
      gather: ms(tLaunch, tGather),
      post: ms(tGather, tPost),
      connect: res.ms.setRemote_connect,
      transfer: res.ms.transfer,
      total: ms(t0, tDone),
    },
  });
  if (opts.binaryBytes && res.ms.transfer > 0)
    summary.binary_MBps = Math.round((2 * opts.binaryBytes) / (res.ms.transfer / 1000) / 1e4) / 100;
}

drive({
  name: 'peer.mjs', summary, timeoutS: opts.timeout, slackMs: 2000, run,
  close: () => closeChromium(chrome.browser, chrome.userDataDir),
});
