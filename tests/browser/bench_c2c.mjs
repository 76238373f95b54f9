#!/usr/bin/env node
// tests/browser/bench_c2c.mjs -- the speed of a browser-only tool: a
// Chromium-to-Chromium WebRTC data channel, as the baseline `make bench`
// (tests/lan/bench_browser.sh) puts beside idrop-lan's browser transfers.
//
//   node bench_c2c.mjs [--bytes N] [--timeout S] [--url URL]
//                      [--mode one|tabs|contexts|browsers] [--chunk C] [--high H] [--low L] [-v]
//
// Debian's /usr/bin/chromium, driven by playwright-core with exactly the flags
// in CHROMIUM_ARGS (mDNS hiding of local IPs ON, as users have it) plus a
// fresh --user-data-dir and Playwright's --remote-debugging-pipe. The page is
// about:blank, or URL when given (e.g. the page of `idrop-lan serve`, a plain
// http:// origin like the real page's). Two RTCPeerConnections, no STUN, no
// server: the offer and the answer are exchanged whole, after ICE gathering
// completed (no trickle), as idrop-lan's own signalling does.
//   --mode one       both peers in one page (default);
//   --mode tabs      two pages (tabs) of one browser context;
//   --mode contexts  two pages in two browser contexts of one Chromium
//                    (separate storage, like two profiles);
//   --mode browsers  two pages in two Chromium instances (each with its own
//                    mDNS responder for its hidden host candidates).
// With two pages the SDP goes from page to page through this driver.
// One ordered, reliable channel; the offerer sends N bytes (default 256 MiB)
// as C-byte messages (default 64 KiB) with bufferedAmountLowThreshold flow
// control: fill the queue up to H (default 8 MiB), wait for it to drain to
// L (default 4 MiB), as a good browser tool does. The time runs from the
// first send to the receiver having counted every byte (one page: its own
// clock; two pages: until the receiver's "done" reply reaches the sender,
// one extra one-way trip).
//
// One JSON line on stdout: {ok, mode, bytes, seconds, mbps (MB/s, 10^6 bytes/s),
// connect_ms, recv_seconds, pair: {offerer, answerer} (the selected ICE
// candidate pair from getStats: candidate types, addresses, protocol),
// candidates (the candidates each SDP carried), epoch_ms (first send and
// end, on the wall clock), chromium, error}. Exit 0 on
// success, 1 on failure or timeout, 2 on usage errors. Chromium is always
// closed and its profile removed, also on SIGINT/SIGTERM.

import {
  DriverError, closeChromium, collectPageErrors, drive, launchChromium, loadPage, makeDeadline, numberOption,
} from './chromium.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`bench_c2c.mjs: ${msg}\n`);
  process.stderr.write('usage: node bench_c2c.mjs [--bytes N] [--timeout S] [--url URL] ' +
    '[--mode one|tabs|contexts|browsers] [--chunk C] [--high H] [--low L] [-v]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    bytes: 256 * 1024 * 1024, timeout: 120, url: null, mode: 'one',
    chunk: 64 * 1024, high: 8 * 1024 * 1024, low: 4 * 1024 * 1024, verbose: false,
  };
  const num = numberOption(usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bytes') o.bytes = Math.floor(num(a, argv[++i], 1, 2 ** 40));
    else if (a === '--timeout') o.timeout = num(a, argv[++i], 1, 86400);
    else if (a === '--chunk') o.chunk = Math.floor(num(a, argv[++i], 1, 262144));
    else if (a === '--high') o.high = Math.floor(num(a, argv[++i], 1, 15 * 1024 * 1024));
    else if (a === '--low') o.low = Math.floor(num(a, argv[++i], 0, 15 * 1024 * 1024));
    else if (a === '--url') {
      o.url = argv[++i];
      if (!o.url) usage('--url wants a URL');
    } else if (a === '--mode') {
      o.mode = argv[++i];
      if (!['one', 'tabs', 'contexts', 'browsers'].includes(o.mode)) usage('--mode is one, tabs, contexts or browsers');
    } else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unexpected argument ${a}`);
  }
  if (o.url !== null) {
    let u;
    try { u = new URL(o.url); } catch { usage(`bad URL ${o.url}`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') usage('URL must be http:// or https://');
  }
  if (o.low >= o.high) usage('--low must be below --high');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const vlog = (...a) => { if (opts.verbose) console.error('bench_c2c.mjs:', ...a); };
const t0 = performance.now();
const summary = {
  driver: 'bench_c2c', ok: false, mode: opts.mode, url: opts.url || 'about:blank',
  bytes: opts.bytes, chunk: opts.chunk, high: opts.high, low: opts.low,
};

// ---------------------------------------------------------------- in the page
// Installed in every page as window.__c2c[WHO] (WHO is A, the offerer and
// sender, or B); only plain data crosses to Node. No eval: the real page's
// CSP forbids it.
function install(who) {
  const wait = (what, ms, fn) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
    fn((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
  const gathered = (pc, ms) => wait('ICE gathering', ms, (ok) => {
    if (pc.iceGatheringState === 'complete') return ok();
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') ok(); });
  });
  const opened = (ch, ms) => wait('data channel open', ms, (ok, fail) => {
    if (ch.readyState === 'open') return ok();
    ch.addEventListener('open', () => ok());
    ch.addEventListener('close', () => fail(new Error('data channel closed before it opened')));
  });
  const candidates = (sdp) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'))
    .map((l) => { const f = l.split(' '); return `${f[2].toLowerCase()} ${f[4]}:${f[5]} ${f[7]}`; });
  const st = {};
  window.__c2c = window.__c2c || {};
  window.__c2c[who] = {
    // Offerer: the pc, the channel, the offer once gathered.
    async offer(ms) {
      const pc = st.pc = new RTCPeerConnection();
      st.ch = pc.createDataChannel('bench', { ordered: true });
      st.ch.binaryType = 'arraybuffer';
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, ms);
      return { sdp: pc.localDescription.sdp, candidates: candidates(pc.localDescription.sdp) };
    },
    // Answerer: the answer once gathered; the channel arrives later.
    async answer(sdp, ms) {
      const pc = st.pc = new RTCPeerConnection();
      st.chP = new Promise((resolve) => { pc.ondatachannel = (e) => { e.channel.binaryType = 'arraybuffer'; resolve(e.channel); }; });
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc, ms);
      return { sdp: pc.localDescription.sdp, candidates: candidates(pc.localDescription.sdp) };
    },
    async accept(sdp) { await st.pc.setRemoteDescription({ type: 'answer', sdp }); },
    async open(ms) {
      if (!st.ch) st.ch = await wait('data channel from the offerer', ms, (ok) => st.chP.then(ok));
      await opened(st.ch, ms);
      return { ice: st.pc.iceConnectionState, state: st.pc.connectionState };
    },
    // Receiver: counts until `total`, replies "done N" (for a sender in another page).
    count(total, ms) {
      const ch = st.ch;
      let got = 0, first = 0;
      st.counted = wait('receiving', ms, (ok, fail) => {
        ch.onmessage = (e) => {
          if (typeof e.data === 'string') return;
          if (!first) first = performance.now();
          got += e.data.byteLength;
          if (got >= total) {
            const last = performance.now();
            try { ch.send(`done ${got}`); } catch (err) { /* the sender times out */ }
            ok({ got, t_first: first, t_last: last, recv_seconds: (last - first) / 1000 });
          }
        };
        ch.onclose = () => fail(new Error(`channel closed after ${got} of ${total} bytes`));
      });
      st.counted.catch(() => {});
      return true;
    },
    async counted() { return await st.counted; },
    // Sender: `total` bytes in `chunk`-byte messages, queue kept between low and high.
    async send(total, chunk, high, low, ms) {
      const ch = st.ch;
      const buf = new Uint8Array(chunk);
      for (let o = 0; o < chunk; o += 65536) crypto.getRandomValues(buf.subarray(o, Math.min(chunk, o + 65536)));
      ch.bufferedAmountLowThreshold = low;
      const reply = wait('the receiver\'s count', ms, (ok, fail) => {
        ch.onmessage = (e) => { if (typeof e.data === 'string' && e.data.startsWith('done ')) ok(performance.now()); };
        ch.onclose = () => fail(new Error('channel closed while sending'));
      });
      reply.catch(() => {});
      let sent = 0, waits = 0, maxQueued = 0;
      const t0 = performance.now();
      while (sent < total) {
        while (sent < total && ch.bufferedAmount < high) {
          const n = Math.min(chunk, total - sent);
          ch.send(n === chunk ? buf : buf.subarray(0, n));
          sent += n;
        }
        if (ch.bufferedAmount > maxQueued) maxQueued = ch.bufferedAmount;
        if (sent < total) {
          waits++;
          await wait('bufferedamountlow', 30000, (ok, fail) => {
            ch.onbufferedamountlow = () => ok();
            if (ch.readyState !== 'open') fail(new Error(`channel ${ch.readyState} after ${sent} bytes`));
          });
        }
      }
      const tSent = performance.now();
      st.reply = reply;
      return { t_first: t0, t_queued: tSent, sent, waits, max_queued: maxQueued };
    },
    async replied() { return await st.reply; },
    // The selected candidate pair, from getStats.
    async pair() {
      const r = await st.pc.getStats();
      let id = null;
      r.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) id = s.selectedCandidatePairId; });
      let p = id ? r.get(id) : null;
      if (!p) r.forEach((s) => { if (!p && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') p = s; });
      if (!p) return null;
      const c = (x) => x && { type: x.candidateType, address: x.address, port: x.port, protocol: x.protocol };
      return {
        local: c(r.get(p.localCandidateId)), remote: c(r.get(p.remoteCandidateId)), state: p.state,
        rtt_ms: p.currentRoundTripTime !== undefined ? p.currentRoundTripTime * 1000 : null,
        bytes_sent: p.bytesSent, bytes_received: p.bytesReceived,
      };
    },
    state() { return { ice: st.pc && st.pc.iceConnectionState, state: st.pc && st.pc.connectionState }; },
    close() { try { st.ch && st.ch.close(); } catch (e) { /* */ } try { st.pc && st.pc.close(); } catch (e) { /* */ } },
  };
}

// ---------------------------------------------------------------- the driver

// One Chromium, or two with --mode browsers: { browser, userDataDir } each.
const launched = [];

async function launch(left) {
  const into = {};
  launched.push(into);
  return (await launchChromium({ left, into })).browser;
}

async function run() {
  const left = makeDeadline(opts.timeout, t0);
  const browser = await launch(left);
  summary.chromium = browser.version();

  const pageErrors = [];
  const newPage = async (ctx) => {
    const page = await ctx.newPage();
    collectPageErrors(page, pageErrors, { log: vlog });
    if (opts.url) await loadPage(page, opts.url, left);
    summary.secure_context = await page.evaluate(() => window.isSecureContext);
    return page;
  };
  const ctxA = await browser.newContext();
  const pa = await newPage(ctxA);
  const pb = opts.mode === 'one' ? pa
    : opts.mode === 'tabs' ? await newPage(ctxA)
      : opts.mode === 'contexts' ? await newPage(await browser.newContext())
        : await newPage(await (await launch(left)).newContext());
  summary.page_errors = pageErrors;
  await pa.evaluate(install, 'A');
  await pb.evaluate(install, 'B');
  // Calls a method of the offerer's (A) or the answerer's (B) helpers in its page.
  const call = (page, who) => (method, args) => page.evaluate(
    ([w, m, a]) => window.__c2c[w][m](...a), [who, method, args || []]);
  const A = call(pa, 'A');
  const B = call(pb, 'B');

  // -- connect: offer, answer, channel open on both sides
  const tc0 = performance.now();
  const gatherMs = Math.min(15000, left());
  const offer = await A('offer', [gatherMs]);
  const answer = await B('answer', [offer.sdp, gatherMs]);
  summary.candidates = { offerer: offer.candidates, answerer: answer.candidates };
  vlog('candidates', summary.candidates);
  await A('accept', [answer.sdp]);
  const openMs = Math.min(30000, left());
  let states;
  try {
    states = await Promise.all([A('open', [openMs]), B('open', [openMs])]);
  } catch (e) {
    summary.connected = false;
    summary.ice = [await A('state').catch(() => null), await B('state').catch(() => null)];
    throw new DriverError(`the two peers did not connect (--mode ${opts.mode}): ${e.message.split('\n')[0]}`);
  }
  summary.connected = true;
  summary.connect_ms = Math.round(performance.now() - tc0);
  summary.ice = states;
  summary.pair = { offerer: await A('pair'), answerer: await B('pair') };
  vlog('pair', JSON.stringify(summary.pair));

  // -- the transfer
  const xferMs = Math.max(1000, left());
  await B('count', [opts.bytes, xferMs]);
  const s = await A('send', [opts.bytes, opts.chunk, opts.high, opts.low, xferMs]);
  const r = await B('counted');
  const tReply = await A('replied');
  // One page: one clock, the receiver's last byte ends it. Two pages: the reply's arrival.
  const end = opts.mode === 'one' ? r.t_last : tReply;
  summary.seconds = Math.round(end - s.t_first) / 1000;
  // The same moments on the wall clock (ms since the epoch), for CPU samplers outside.
  const origin = await pa.evaluate(() => performance.timeOrigin);
  summary.epoch_ms = [Math.round(origin + s.t_first), Math.round(origin + end)];
  summary.mbps = Math.round(opts.bytes / ((end - s.t_first) / 1000) / 1e4) / 100;
  summary.recv_seconds = Math.round(r.recv_seconds * 1000) / 1000;
  summary.queued_seconds = Math.round(s.t_queued - s.t_first) / 1000;
  summary.waits = s.waits;
  summary.max_queued = s.max_queued;
  if (r.got !== opts.bytes) throw new DriverError(`received ${r.got} bytes, sent ${opts.bytes}`);
  await A('close');
  await B('close');
}

async function closeBrowser() {
  for (const c of launched.splice(0)) await closeChromium(c.browser, c.userDataDir);
  summary.ms_total = Math.round(performance.now() - t0);
}

drive({ name: 'bench_c2c.mjs', summary, timeoutS: opts.timeout, slackMs: 10000, run, close: closeBrowser });
