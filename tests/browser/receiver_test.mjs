#!/usr/bin/env node
// tests/browser/receiver_test.mjs -- the page's Receiver (web/page/receiver.js),
// its strict JSON (web/page/json_strict.js) and pure helpers of the
// page (refusal(): the words for a refused offer; hostPort(): where a listed
// device is reached; sasCode(): the verification code) in Node, no browser: a
// scripted sender talks docs/PROTOCOL.md to the Receiver through a fake
// RTCDataChannel, honest and hostile (bad paths, oversize messages, a wrong
// hash, more or fewer bytes than announced, messages out of order, cancel
// from either side, the connection lost, a nonce that breaks its
// commitment). The page's Sender (web/page/idrop.js) meets a scripted
// receiver the same way for its part of the verification code.
//
//   node tests/browser/receiver_test.mjs [-v]
//
// Prints TAP ("ok N - ..." / "not ok N - ..."), then "N passed, N failed";
// exits 1 when any case failed. The hashes the scripted sender sends come
// from node:crypto, not from the page's sha256.js: an independent check; so
// do the verification codes the page's are compared with.
//
// Node 18 treats the page's .js files as CommonJS (no package.json says
// otherwise), so they are copied to a temporary folder that says "module".

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const verbose = process.argv.includes('-v');
// The page's modules use the global WebCrypto (getRandomValues): Node 18 has
// it only behind a flag.
if (!globalThis.crypto) globalThis.crypto = crypto.webcrypto;
const PAGE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../web/page');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'idrop-receiver-test-'));
for (const f of ['receiver.js', 'json_strict.js', 'common.js', 'sha256.js', 'targets.js', 'idrop.js', 'lanaddr.js']) fs.copyFileSync(path.join(PAGE, f), path.join(tmp, f));
fs.writeFileSync(path.join(tmp, 'package.json'), '{"type":"module"}\n');
const { Receiver, pathProblem } = await import(path.join(tmp, 'receiver.js'));
const { parseStrict } = await import(path.join(tmp, 'json_strict.js'));
const { HIDDEN_RE, cleanName, refusal, sasCode, sasCommit, sdpFingerprintCheck, sdpFingerprint, dtlsRemoteFingerprint, dtlsConnected } = await import(path.join(tmp, 'common.js'));
const { Sender } = await import(path.join(tmp, 'idrop.js'));
const { hostPort } = await import(path.join(tmp, 'targets.js'));
const { lanScope, isLanCandidateAddress, sdpLanCandidates } = await import(path.join(tmp, 'lanaddr.js'));
fs.rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------- harness

let n = 0, passed = 0, failed = 0;
function ok(cond, desc, detail) {
  n++;
  if (cond) { passed++; console.log(`ok ${n} - ${desc}`); return; }
  failed++;
  console.log(`not ok ${n} - ${desc}`);
  if (detail !== undefined) console.log(`  # ${String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 600)}`);
}
const tick = () => new Promise((r) => setTimeout(r, 0));
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const FP = 'ab'.repeat(32);

// An RTCDataChannel as the Receiver sees it: what it sends is kept in `out`.
class FakeChannel {
  constructor() {
    this.readyState = 'open';
    this.out = [];
    this.closedByReceiver = false;
  }
  send(data) {
    if (this.readyState !== 'open') throw new Error('channel not open');
    this.out.push(data);
  }
  close() {
    if (this.readyState === 'closed') return;
    this.closedByReceiver = true;
    this.readyState = 'closed';
    setTimeout(() => this.onclose && this.onclose(), 0);
  }
  // The sender's side.
  deliver(data) { if (this.readyState === 'open' && this.onmessage) this.onmessage({ data }); }
  json(msg) { this.deliver(typeof msg === 'string' ? msg : JSON.stringify(msg)); }
  remoteClose() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    if (this.onclose) this.onclose();
  }
  msgs() { return this.out.filter((d) => typeof d === 'string').map((d) => JSON.parse(d)); }
  types() { return this.msgs().map((m) => m.type); }
}

// One Receiver on a fake channel; answer is what the person says; local is
// the tab's own fingerprint (needed for a verification code).
function session({ answer = true, maxBytes, local = null } = {}) {
  const ch = new FakeChannel();
  const events = [];
  const downloads = [];
  const asked = [];
  const r = new Receiver({
    channel: ch, name: 'Test tab', remoteFingerprint: FP, localFingerprint: local, maxBytes,
    ask: async (offer, signal) => {
      asked.push({ offer, signal });
      return typeof answer === 'function' ? answer(offer, signal) : answer;
    },
    onEvent: (ev) => {
      events.push(ev);
      if (ev.type === 'download') downloads.push(ev);
      if (verbose && ev.type !== 'progress') console.log('  # event', JSON.stringify({ ...ev, blob: undefined }));
    },
  });
  const result = r.run();
  let settled = null;
  result.then((v) => { settled = v; });
  return { ch, r, events, downloads, asked, result, settled: () => settled };
}

const TRANSFER = '0123456789abcdef0123456789abcdef';
const hello = (over = {}) => ({ type: 'hello', version: 1, name: 'Sender', kind: 'device', ...over });
const offerOf = (files, over = {}) => ({
  type: 'offer', transfer: TRANSFER,
  files: files.map((f, id) => ({ id, path: f.path, size: f.data ? f.data.length : f.size, mtime: 1700000000 })), ...over,
});

// Sends one file's bytes in 64 KiB messages (the last one shorter).
function sendBytes(ch, data, chunk = 65536) {
  for (let o = 0; o < data.length; o += chunk) ch.deliver(ab(data.subarray(o, Math.min(data.length, o + chunk))));
}

// The honest sender: hello, offer, (accepted) each file, done.
async function honest(s, files) {
  s.ch.json(hello());
  s.ch.json(offerOf(files));
  await tick(); await tick();
  files.forEach((f, id) => {
    s.ch.json({ type: 'file', id, offset: 0 });
    sendBytes(s.ch, f.data);
    s.ch.json({ type: 'file-end', id, sha256: sha(f.data) });
  });
  s.ch.json({ type: 'done' });
}

// A Buffer's own bytes as an ArrayBuffer (a small Buffer shares a pooled one).
const ab = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
const blobBytes = async (b) => Buffer.from(await b.arrayBuffer());
// A hostile or broken offer/message: the Receiver cancels with "protocol error: ..." and closes.
const protocolErrored = (s) => {
  const last = s.ch.msgs().at(-1);
  return last && last.type === 'cancel' && /^protocol error: /.test(last.reason) && s.ch.closedByReceiver;
};

// ---------------------------------------------------------------- pure parts

const badPaths = [
  ['', 'empty'], ['/etc/passwd', 'absolute'], ['../x', '..'], ['a/../b', '.. inside'], ['./a', '. component'],
  ['a//b', 'doubled /'], ['a/', 'trailing /'], ['a\\b', 'backslash'], ['a\u0001b', 'control character'],
  ['a\u0085b', 'C1 control character'], ['a\u007fb', 'DEL'], ['x'.repeat(256), 'component over 255 bytes'],
  ['é'.repeat(128), 'component of 256 bytes in 128 characters'], [('d'.repeat(200) + '/').repeat(21) + 'f', 'path over 4096 bytes'],
  ['a\ud800b', 'lone surrogate'], [42, 'not a string'], [null, 'null'],
  // issue 11: hidden characters (shown as "aexe.txt"), nesting
  ['a\u202etxt.exe', 'right-to-left override'], ['Holiday/1\u200b.jpg', 'zero-width space'],
  ['a\u2067b/c', 'right-to-left isolate'], ['\ufeffa', 'BOM'], ['a\u00adb', 'soft hyphen'],
  ['a/'.repeat(32) + 'x', '33 levels'], ['d/'.repeat(2040) + 'a', '2,041 levels'],
];
for (const [p, why] of badPaths) ok(pathProblem(p) !== null, `pathProblem refuses a path: ${why}`, pathProblem(p));
const goodPaths = ['a', 'photos/2026/a.jpg', 'über/ünïcödé ✓.txt', 'x'.repeat(255), '.hidden', '..a', 'a..', 'a b/c',
  'a/'.repeat(31) + 'x', '.config/autostart/holiday.desktop'];
for (const p of goodPaths) ok(pathProblem(p) === null, `pathProblem takes ${JSON.stringify(p.slice(0, 30))}`, pathProblem(p));

const badJson = [
  ['{"type":"a","type":"b"}', 'a member named twice'],
  ['{"a":{"x":1,"x":2}}', 'a member named twice in a nested object'],
  ['{"type":"hello","name":"a\\u0000b"}', '\\u0000 in a string'],
  ['{"id":1.0}', 'an integer with a fraction'], ['{"size":1e3}', 'an integer with an exponent'],
  ['{"offset":-0}', 'a negative zero'], ['{"type":"x",}', 'a trailing comma'], ["{'type':'x'}", 'single quotes'],
  ['{"type":"x"} {}', 'data after the value'], ['{"type":"x"/*c*/}', 'a comment'], ['{"a":01}', 'a leading zero'],
  ['['.repeat(17) + ']'.repeat(17), 'nesting deeper than 16'],
  [JSON.stringify({ type: 'x', pad: 'y'.repeat(65536) }), 'over 64 KiB'],
  [JSON.stringify({ type: 'x', pad: 'é'.repeat(33000) }), 'over 64 KiB of UTF-8 in fewer characters'],
];
for (const [t, why] of badJson) {
  let threw = false;
  try { parseStrict(t); } catch (e) { threw = true; }
  ok(threw, `parseStrict refuses ${why}`);
}
const goodJson = ['{"type":"file","id":0,"offset":0}', '{"x":1.5,"y":-2e3,"type":"t"}', '{"a":"\\"}\\\\","b":["a","a"]}',
  '{"k":{"a":1},"j":{"a":2}}', JSON.stringify({ type: 'x', pad: 'y'.repeat(65000) })];
for (const t of goodJson) {
  let v = null;
  try { v = parseStrict(t); } catch (e) { v = e.message; }
  ok(v && typeof v === 'object', `parseStrict takes ${t.slice(0, 40)}`, v);
}

// What the page says when POST /api/offer gives no answer (README, "Browser tabs").
const refusals = [
  [[404, '{"error":"no browser tab with this id"}', 'browser'], /^that browser tab is closed$/],
  [[502, '{"error":"the browser refused: busy"}', 'browser'], /^the browser tab refused the connection: the browser refused: busy$/],
  [[504, '', 'browser'], /^the browser did not answer$/],
  [[503, '{"error":"too many"}', 'device'], /^the device refused the connection \(HTTP 503: too many\)$/],
  [[400, 'plain\u0007text', 'device'], /^the device refused the connection \(HTTP 400: plain text\)$/],
  [[404, '{"error":"no such file"}', 'device'], /HTTP 404: no such file/],
];
for (const [args, re] of refusals) ok(re.test(refusal(...args)), `refusal(${args[0]}, ${args[2]}): ${re}`, refusal(...args));

// Where a listed device is reached: IPv4 first, IPv6 in brackets, never a scoped address.
const hosts = [
  [{ address: '10.0.0.5', port: 7757 }, '10.0.0.5:7757'],
  [{ address: 'fe80::1%eth0', addresses: ['fe80::1%eth0', '10.0.0.6'], port: 80 }, '10.0.0.6:80'],
  [{ address: '2001:db8::1', port: 7757 }, '[2001:db8::1]:7757'],
  [{ address: 'fe80::1%eth0', port: 7757 }, null],
  [{ address: '10.0.0.5', port: 0 }, null],
  [{ address: '10.0.0.5', port: '7757x' }, null],
  [{ address: '', port: 7757 }, null],
];
for (const [e, want] of hosts) ok(hostPort(e) === want, `hostPort(${JSON.stringify(e)}) is ${want}`, hostPort(e));

// ---------------------------------------------------------------- honest transfers

{
  const rnd = crypto.randomBytes(1024 * 1024 + 123);
  const files = [{ path: 'empty.txt', data: Buffer.alloc(0) }, { path: 'photos/2026/a.jpg', data: Buffer.from('hello ✓\n') },
    { path: 'photos/big.bin', data: rnd }];
  const s = session();
  await honest(s, files);
  await tick();
  const m = s.ch.msgs();
  ok(m[0] && m[0].type === 'hello' && m[0].version === 1 && m[0].kind === 'browser' && m[0].name === 'Test tab',
    'answers hello with its own (version 1, kind browser)', m[0]);
  ok(s.asked.length === 1 && s.asked[0].offer.count === 3 && s.asked[0].offer.total === files.reduce((a, f) => a + f.data.length, 0) &&
    s.asked[0].offer.peer === 'Sender' && s.asked[0].offer.short === 'abab abab' &&
    s.asked[0].offer.files[1].path === 'photos/2026/a.jpg', 'asks the page with name, short fingerprint, count, total, paths',
  s.asked[0] && s.asked[0].offer);
  ok(m[1] && m[1].type === 'accept' && m[1].transfer === TRANSFER && JSON.stringify(m[1].files) ===
    JSON.stringify([{ id: 0, offset: 0 }, { id: 1, offset: 0 }, { id: 2, offset: 0 }]), 'accepts every file at offset 0', m[1]);
  ok(JSON.stringify(s.ch.types()) === JSON.stringify(['hello', 'accept', 'file-ok', 'file-ok', 'file-ok', 'receipt']),
    'answers each file-end with file-ok, then done with the receipt', s.ch.types());
  const rc = m.at(-1);
  ok(rc.transfer === TRANSFER && rc.files.length === 3 && rc.files.every((f, i) => f.id === i && f.status === 'verified'),
    'the receipt lists every file as verified', rc);
  ok(s.downloads.length === 3 && s.downloads.map((d) => d.name).join('|') === 'empty.txt|a.jpg|big.bin',
    'hands each verified file over under the last component of its path', s.downloads.map((d) => d.name));
  const bytes = await Promise.all(s.downloads.map((d) => blobBytes(d.blob)));
  ok(bytes.every((b, i) => b.equals(files[i].data)) && s.downloads.every((d) => d.blob.type === 'application/octet-stream'),
    'the Blobs hold exactly the bytes sent, typed application/octet-stream');
  ok(s.events.some((e) => e.type === 'phase' && e.phase === 'done'), 'says done once the receipt is sent');
  ok(s.settled() === null, 'the run goes on after the receipt (the sender may offer more)');
  s.ch.remoteClose();
  const res = await s.result;
  ok(res.ok === true && res.state === 'done' && res.files.every((f) => f.status === 'verified') && res.peer === 'Sender',
    'the sender closing after the receipt ends the run: ok', res);
}

{
  // 40 MiB in one file: several 8 MiB Blob steps, unaligned chunks.
  const big = crypto.randomBytes(40 * 1024 * 1024 + 7);
  const s = session();
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'big', data: big }]));
  await tick(); await tick();
  s.ch.json({ type: 'file', id: 0, offset: 0 });
  sendBytes(s.ch, big, 60000);
  s.ch.json({ type: 'file-end', id: 0, sha256: sha(big).toUpperCase() });
  s.ch.json({ type: 'done' });
  const got = s.downloads[0] ? await blobBytes(s.downloads[0].blob) : Buffer.alloc(0);
  ok(got.length === big.length && got.equals(big), 'a 40 MiB file arrives whole through several Blob parts (hash in upper case taken)');
  const prog = s.events.filter((e) => e.type === 'progress');
  ok(prog.length > 10 && prog.at(-1).received === big.length, 'progress is reported while it arrives', prog.length);
}

{
  // Two transfers on one connection; the same base name twice.
  const s = session();
  s.ch.json(hello());
  const a = Buffer.from('first');
  const b = Buffer.from('second');
  for (const [i, data] of [[0, a], [1, b]]) {
    s.ch.json(offerOf([{ path: `dir${i}/same.txt`, data }], { transfer: String(i).repeat(32) }));
    await tick(); await tick();
    s.ch.json({ type: 'file', id: 0, offset: 0 });
    sendBytes(s.ch, data);
    s.ch.json({ type: 'file-end', id: 0, sha256: sha(data) });
    s.ch.json({ type: 'done' });
  }
  s.ch.remoteClose();
  const res = await s.result;
  ok(res.ok && s.downloads.map((d) => d.name).join('|') === 'same.txt|same (2).txt' && s.asked.length === 2,
    'a second offer on the same connection is asked and received; a repeated name is numbered',
    { names: s.downloads.map((d) => d.name), res });
}

// ---------------------------------------------------------------- consent

{
  const s = session({ answer: false });
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', data: Buffer.from('x') }]));
  await tick(); await tick();
  const m = s.ch.msgs().at(-1);
  ok(m.type === 'decline' && m.transfer === TRANSFER && m.reason === 'declined', 'a "no" is sent as decline', m);
  s.ch.remoteClose();
  const res = await s.result;
  ok(!res.ok && res.state === 'declined' && res.files[0].status === 'skipped' && s.downloads.length === 0,
    'a declined offer ends declined, its files skipped', res);
}
{
  const s = session({ answer: { accept: false, reason: 'not now\u0007' } });
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', data: Buffer.from('x') }]));
  await tick(); await tick();
  const m = s.ch.msgs().at(-1);
  ok(m.type === 'decline' && m.reason === 'not now', "the page's reason goes in the decline, control characters out", m);
  s.ch.remoteClose();
}
{
  const s = session({ maxBytes: 100 });
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', size: 60 }, { path: 'b', size: 41 }]));
  await tick(); await tick();
  const m = s.ch.msgs().at(-1);
  ok(m.type === 'decline' && s.asked.length === 0, 'an offer over the size limit is declined before anyone is asked', m);
  s.ch.remoteClose();
}
{
  let aborted = false;
  const s = session({ answer: (offer, signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve(true); })) });
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', size: 1 }]));
  await tick();
  s.ch.remoteClose();
  const res = await s.result;
  await tick();
  ok(aborted && res.state === 'error' && !s.ch.types().includes('accept'),
    'the sender leaving while the page asks aborts the question; nothing accepted', res);
}

// ---------------------------------------------------------------- hostile senders

// Runs msgs (objects, strings, or Buffers for binary) after hello/offer as given; expects a protocol error.
async function hostile(desc, steps, { accept = true, check, local = null } = {}) {
  const s = session({ answer: accept, local });
  for (const st of steps) {
    if (st === 'tick') { await tick(); await tick(); continue; }
    if (Buffer.isBuffer(st)) s.ch.deliver(ab(st));
    else s.ch.json(st);
  }
  await tick();
  const res = await Promise.race([s.result, new Promise((r) => setTimeout(() => r(null), 1000))]);
  const good = protocolErrored(s) && res && !res.ok && s.downloads.length === 0 && (!check || check(s, res));
  ok(good, `cancels with "protocol error" and closes: ${desc}`, { sent: s.ch.msgs(), res });
  return s;
}

for (const [p, why] of badPaths) {
  const s = await hostile(`offered path ${why}`, [hello(), { type: 'offer', transfer: TRANSFER, files: [{ id: 0, path: p, size: 1, mtime: 0 }] }]);
  if (s.asked.length) ok(false, `... and asks nobody (${why})`);
}
const file1 = { id: 0, path: 'a', size: 3, mtime: 0 };
await hostile('offer before hello', [offerOf([{ path: 'a', size: 1 }])]);
await hostile('a second hello', [hello(), hello()]);
await hostile('hello with an unknown kind', [hello({ kind: 'toaster' })]);
await hostile('hello with a name of 64 bytes', [hello({ name: 'n'.repeat(64) })]);
await hostile('hello with a version written 1.0', ['{"type":"hello","version":1.0,"name":"x","kind":"device"}']);
await hostile('the same path twice', [hello(), { type: 'offer', transfer: TRANSFER, files: [file1, { ...file1, id: 1 }] }]);
await hostile('an id that is not the index', [hello(), { type: 'offer', transfer: TRANSFER, files: [{ ...file1, id: 1 }] }]);
await hostile('a negative size', [hello(), { type: 'offer', transfer: TRANSFER, files: [{ ...file1, size: -1 }] }]);
await hostile('a size beyond 2^53-1', [hello(), { type: 'offer', transfer: TRANSFER, files: [{ ...file1, size: 2 ** 53 }] }]);
await hostile('a size as a string', [hello(), { type: 'offer', transfer: TRANSFER, files: [{ ...file1, size: '3' }] }]);
await hostile('no files', [hello(), { type: 'offer', transfer: TRANSFER, files: [] }]);
await hostile('a transfer id that is not 32 hex digits', [hello(), { type: 'offer', transfer: 'xyz', files: [file1] }]);
await hostile('10,001 files', [hello(), {
  type: 'offer', transfer: TRANSFER,
  files: Array.from({ length: 10001 }, (_, id) => ({ id, path: `${id}`, size: 0, mtime: 0 })),
}]);
await hostile('an offer over 64 KiB', [hello(), {
  type: 'offer', transfer: TRANSFER,
  files: Array.from({ length: 300 }, (_, id) => ({ id, path: `${id}`.padEnd(250, 'p'), size: 0, mtime: 0 })),
}]);
await hostile('a repeated member in the offer',
  [hello(), `{"type":"offer","transfer":"${TRANSFER}","files":[{"id":0,"path":"a","path":"../a","size":0,"mtime":0}]}`]);
await hostile('binary data before an accepted offer', [hello(), Buffer.from('x')]);
await hostile('messages while the page is asking', [hello(), offerOf([{ path: 'a', size: 1 }]), { type: 'file', id: 0, offset: 0 }],
  { accept: () => new Promise(() => {}) });
await hostile('binary data outside a file', [hello(), offerOf([{ path: 'a', size: 1 }]), 'tick', Buffer.from('x')]);
await hostile('a file at an offset that was not accepted', [hello(), offerOf([{ path: 'a', size: 3 }]), 'tick', { type: 'file', id: 0, offset: 1 }]);
await hostile('files out of order', [hello(), offerOf([{ path: 'a', size: 1 }, { path: 'b', size: 1 }]), 'tick', { type: 'file', id: 1, offset: 0 }]);
await hostile('a file id outside the offer', [hello(), offerOf([{ path: 'a', size: 1 }]), 'tick', { type: 'file', id: 5, offset: 0 }]);
await hostile('a second file before file-end', [hello(), offerOf([{ path: 'a', size: 1 }, { path: 'b', size: 1 }]), 'tick',
  { type: 'file', id: 0, offset: 0 }, { type: 'file', id: 1, offset: 0 }]);
await hostile('done before file-end', [hello(), offerOf([{ path: 'a', size: 1 }]), 'tick', { type: 'file', id: 0, offset: 0 }, { type: 'done' }]);
await hostile('file-end for another file', [hello(), offerOf([{ path: 'a', size: 1 }]), 'tick', { type: 'file', id: 0, offset: 0 },
  Buffer.from('x'), { type: 'file-end', id: 1, sha256: sha(Buffer.from('x')) }]);
await hostile('file-end with a short hash', [hello(), offerOf([{ path: 'a', size: 1 }]), 'tick', { type: 'file', id: 0, offset: 0 },
  Buffer.from('x'), { type: 'file-end', id: 0, sha256: 'abc' }]);
await hostile('a binary message over 64 KiB', [hello(), offerOf([{ path: 'a', size: 70000 }]), 'tick', { type: 'file', id: 0, offset: 0 },
  Buffer.alloc(70000)]);
await hostile('an accept from the sender', [hello(), { type: 'accept', transfer: TRANSFER, files: [] }]);
await hostile('not JSON', [hello(), '{"type":']);
await hostile('a JSON array', [hello(), '[1,2]']);
await hostile('1,001 folders in one offer', [hello(), {
  type: 'offer', transfer: TRANSFER,
  files: Array.from({ length: 1001 }, (_, id) => ({ id, path: `${id.toString(16)}/f`, size: 0, mtime: 0 })),
}], { check: (s) => /1001 folders, over the limit of 1000/.test(s.ch.msgs().at(-1).reason) });
{
  const s = await hostile('a right-to-left override in a path, saying which character', [hello(),
    offerOf([{ path: 'a\u202etxt.exe', size: 1 }])], { check: (x) => /U\+202E/.test(x.ch.msgs().at(-1).reason) });
  if (s.asked.length) ok(false, '... and asks nobody (U+202E)');
}
{
  // issue 11: Holiday/1..5.jpg + .config/autostart/holiday.desktop + .bashrc:
  // the hidden names reach the consent question marked, and no download
  // is named with a leading '.'.
  const files = [1, 2, 3, 4, 5].map((i) => ({ path: `Holiday/${i}.jpg`, data: Buffer.from(`jpeg ${i}`) }));
  files.push({ path: '.config/autostart/holiday.desktop', data: Buffer.from('[Desktop Entry]\nExec=evil\n') });
  files.push({ path: '.bashrc', data: Buffer.from('evil') });
  const s = session();
  await honest(s, files);
  await tick(); await tick();
  s.ch.remoteClose();
  const res = await s.result;
  const asked = s.asked[0] && s.asked[0].offer.files;
  ok(asked && asked.length === 7 && asked.filter((f) => f.hidden).map((f) => f.path).join() ===
    '.config/autostart/holiday.desktop,.bashrc' && !asked[0].hidden,
    'the consent question gets every file, the hidden names marked hidden', asked);
  const names = s.downloads.map((d) => d.name);
  ok(res.ok && names.length === 7 && !names.some((n) => n.startsWith('.')) && names.includes('_bashrc') &&
    names.includes('holiday.desktop'), 'no download is named with a leading "." (.bashrc -> _bashrc)', names);
}
{
  const { cleanPath } = await import(path.join(tmp, 'common.js'));
  ok(cleanPath('a\u202etxt.exe') === 'a_txt.exe' && cleanPath('x\u200by/z') === 'x_y/z',
    'the page as sender replaces hidden characters in its paths with "_" (never sent for the receiver to refuse)');
  let threw = null;
  try { cleanPath('a/'.repeat(32) + 'x'); } catch (e) { threw = e.message; }
  ok(threw && /nested over 32 levels/.test(threw), 'the page as sender refuses a path nested over 32 levels', threw);
  const sender = new Sender({
    offerUrl: 'http://127.0.0.1:9/api/offer', name: 'Node sender',
    files: Array.from({ length: 1500 }, (_, i) => ({ file: new Blob(['']), path: `d${i}/f` })),
  });
  const batches = sender._batches();
  ok(batches.length === 2 && batches[0].length === 1000 && batches[1].length === 500,
    'the page as sender splits 1,500 folders into offers of at most 1,000 folders', batches.map((b) => b.length));
}
{
  const s = session();
  s.ch.json(hello());
  s.ch.json({ type: 'teleport' });
  const res = await s.result;
  const last = s.ch.msgs().at(-1);
  ok(last.type === 'cancel' && last.reason === 'unsupported' && s.ch.closedByReceiver && !res.ok,
    'an unknown message type is answered with cancel "unsupported"', last);
}
{
  const s = session();
  s.ch.json(hello({ version: 0 }));
  const res = await s.result;
  const last = s.ch.msgs().at(-1);
  ok(last.type === 'cancel' && last.reason === 'version' && !res.ok, 'a version below 1 is answered with cancel "version"', last);
}
{
  const s = session();
  s.ch.json(hello({ version: 7 }));
  ok(s.ch.msgs()[0].version === 1, 'a sender speaking version 7 is answered with version 1 (the lower)');
}

// Wrong data: answered with file-error at file-end (PROTOCOL.md), never handed over.
async function badFile(desc, data, size, hashOf, reasonRe) {
  const s = session();
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'bad', size }, { path: 'good', size: 2 }]));
  await tick(); await tick();
  s.ch.json({ type: 'file', id: 0, offset: 0 });
  sendBytes(s.ch, data);
  s.ch.json({ type: 'file-end', id: 0, sha256: sha(hashOf) });
  s.ch.json({ type: 'file', id: 1, offset: 0 });
  s.ch.deliver(ab(Buffer.from('ok')));
  s.ch.json({ type: 'file-end', id: 1, sha256: sha(Buffer.from('ok')) });
  s.ch.json({ type: 'done' });
  s.ch.remoteClose();
  const res = await s.result;
  const m = s.ch.msgs();
  const fe = m.find((x) => x.type === 'file-error');
  const rc = m.find((x) => x.type === 'receipt');
  ok(fe && fe.id === 0 && reasonRe.test(fe.reason) && m.some((x) => x.type === 'file-ok' && x.id === 1) &&
    rc && rc.files[0].status === 'failed' && rc.files[1].status === 'verified' &&
    s.downloads.length === 1 && s.downloads[0].name === 'good' && !res.ok && res.files[0].status === 'failed',
  `${desc}: file-error, not handed over; the next file still arrives; the receipt says failed`, { m, res });
}
{
  const data = crypto.randomBytes(5000);
  const other = Buffer.from(data);
  other[4999] ^= 1;
  await badFile('a wrong hash', data, 5000, other, /SHA-256/);
  await badFile('more bytes than announced', data, 4000, data.subarray(0, 4000), /more bytes/);
  await badFile('fewer bytes than announced', data, 6000, data, /fewer bytes/);
}
{
  const s = session();
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', size: 1 }, { path: 'b', size: 1 }]));
  await tick(); await tick();
  s.ch.json({ type: 'file', id: 0, offset: 0 });
  s.ch.deliver(ab(Buffer.from('a')));
  s.ch.json({ type: 'file-end', id: 0, sha256: sha(Buffer.from('a')) });
  s.ch.json({ type: 'done' });
  const rc = s.ch.msgs().at(-1);
  ok(rc.type === 'receipt' && rc.files[0].status === 'verified' && rc.files[1].status === 'failed',
    'done before every accepted file was sent: the receipt says failed for the missing one', rc);
}

// ---------------------------------------------------------------- cancel and loss

async function midFile(stop) {
  const s = session();
  s.ch.json(hello());
  s.ch.json(offerOf([{ path: 'a', size: 100000 }]));
  await tick(); await tick();
  s.ch.json({ type: 'file', id: 0, offset: 0 });
  s.ch.deliver(new ArrayBuffer(50000));
  stop(s);
  return { s, res: await s.result };
}
{
  const { s, res } = await midFile((x) => x.ch.json({ type: 'cancel', reason: 'changed my mind' }));
  ok(res.state === 'cancelled' && /changed my mind/.test(res.reason) && res.files[0].status === 'cancelled' &&
    s.ch.closedByReceiver && s.downloads.length === 0, "the sender's cancel stops it; the receiver closes the channel", res);
}
{
  const { s, res } = await midFile((x) => x.r.cancel('stop it'));
  const last = s.ch.msgs().at(-1);
  ok(last.type === 'cancel' && last.reason === 'stop it' && s.ch.closedByReceiver && res.kind === 'aborted' &&
    res.files[0].status === 'cancelled', "the page's cancel is sent and the channel closed", { last, res });
}
{
  const { res } = await midFile((x) => x.ch.remoteClose());
  ok(res.state === 'error' && res.files[0].status === 'cancelled' && /closed/.test(res.reason),
    'the channel closing mid-file is an error', res);
}
{
  const { res } = await midFile((x) => x.r.connectionLost('ICE: gone'));
  ok(res.state === 'error' && /ICE: gone/.test(res.reason), 'a lost connection mid-file is an error naming why', res);
}
{
  const s = session();
  s.ch.json(hello());
  s.ch.remoteClose();
  const res = await s.result;
  ok(!res.ok && res.state === 'error', 'a sender that closes before offering anything is not ok', res);
}

// ---------------------------------------------------------------- verification code

// PROTOCOL.md, "Verification code", computed with node:crypto.
const FP_S = FP;                       // the sender's fingerprint, as the Receiver is told
const FP_R = 'cd'.repeat(32);          // the tab's own
function sasRef(fs, fr, ns, nr) {
  const hex = (f) => Buffer.from(f.replace(/:/g, ''), 'hex');
  const d = crypto.createHash('sha256').update(Buffer.from('idrop-lan sas 1', 'ascii'))
    .update(hex(fs)).update(hex(fr)).update(ns).update(nr).digest();
  const v = d.readUInt32BE(0) % 1000000;
  return `${String(Math.floor(v / 1000)).padStart(3, '0')} ${String(v % 1000).padStart(3, '0')}`;
}
const u8 = (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const colons = (h) => h.toUpperCase().match(/../g).join(':');
{
  let same = 0;
  const bad = [];
  for (let i = 0; i < 25; i++) {
    const fs = crypto.randomBytes(32).toString('hex'), fr = crypto.randomBytes(32).toString('hex');
    const ns = crypto.randomBytes(32), nr = crypto.randomBytes(32);
    const want = sasRef(fs, fr, ns, nr);
    // Fingerprints as SDP writes them (upper case, colons) give the same code.
    const got = await sasCode(i % 2 ? colons(fs) : fs, i % 3 ? fr : colons(fr), u8(ns), u8(nr));
    if (got === want && /^\d{3} \d{3}$/.test(got)) same++;
    else bad.push({ fs, fr, want, got });
  }
  ok(same === 25, 'sasCode gives the code node:crypto computes, for 25 random fingerprints and nonces', bad[0]);
}
{
  // Known answers from the C side: transfer/sas.c's idl_sas_code on these inputs.
  const fps = [['aa' + '0'.repeat(62), 'bb' + '0'.repeat(62)],
    ['0123456789abcdef'.repeat(4), colons('fedcba9876543210'.repeat(4))]];
  const want = [['518 438', '721 254', '170 898'], ['757 111', '099 334', '027 310']];
  const got = [];
  for (let c = 0; c < 2; c++) {
    got.push([]);
    for (let k = 0; k < 3; k++) {
      const ns = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + k * 31 + c) & 255);
      const nr = Uint8Array.from({ length: 32 }, (_, i) => (255 - i * 3 - k * 17 - c) & 255);
      got[c].push(await sasCode(fps[c][0], fps[c][1], ns, nr));
    }
  }
  ok(JSON.stringify(got) === JSON.stringify(want), "sasCode gives the C side's digits (leading zeros kept)", got);
  const refs = got.map((row, c) => row.map((_, k) => sasRef(fps[c][0], fps[c][1],
    Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + k * 31 + c) & 255)),
    Buffer.from(Array.from({ length: 32 }, (_, i) => (255 - i * 3 - k * 17 - c) & 255)))));
  ok(JSON.stringify(refs) === JSON.stringify(want), '... and so does the node:crypto computation', refs);
}
{
  const n1 = crypto.randomBytes(32);
  ok((await sasCommit(u8(n1))) === sha(n1), 'sasCommit is the SHA-256 of the nonce, in hex');
  const ns = new Uint8Array(32).fill(1), nr = new Uint8Array(32).fill(2);
  const codes = [await sasCode(FP_S, FP_R, ns, nr), await sasCode('ee'.repeat(32), FP_R, ns, nr),
    await sasCode(FP_S, 'ee'.repeat(32), ns, nr), await sasCode(FP_S, FP_R, nr, ns)];
  ok(new Set(codes).size === 4, 'another fingerprint on either side (someone in between), or the nonces swapped: another code', codes);
  const throws = async (f) => { try { await f(); return false; } catch (e) { return true; } };
  ok(await throws(() => sasCode('ab'.repeat(31), FP_R, ns, nr)) && await throws(() => sasCode(FP_S, null, ns, nr)) &&
    await throws(() => sasCode(FP_S, FP_R, ns.subarray(1), nr)) && await throws(() => sasCode(FP_S, FP_R, ns, [1, 2])),
  'sasCode refuses a fingerprint that is not 64 hex digits, or a nonce that is not 32 bytes');
}

// The Receiver: a sender that commits in hello and reveals in sas.
function committedHello(nonce) { return hello({ sas_commit: sha(nonce) }); }
{
  const ns = crypto.randomBytes(32);
  const data = Buffer.from('verified with a code');
  const s = session({ local: FP_R });
  s.ch.json(committedHello(ns));
  const h = s.ch.msgs()[0];
  ok(h && h.type === 'hello' && /^[0-9a-f]{64}$/.test(h.sas_nonce), 'a sender that commits gets a hello with sas_nonce (64 hex digits)', h);
  const nr = Buffer.from(h.sas_nonce, 'hex');
  s.ch.json({ type: 'sas', nonce: ns.toString('hex').toUpperCase() });
  s.ch.json(offerOf([{ path: 'a.txt', data }]));  // at once: held until the nonce is checked
  for (let i = 0; i < 5; i++) await tick();
  const want = sasRef(FP_S, FP_R, ns, nr);
  ok(s.asked.length === 1 && s.asked[0].offer.code === want,
    'the offer after a sas that keeps the commitment is asked with the code node:crypto computes', { asked: s.asked[0] && s.asked[0].offer.code, want });
  ok(s.events.some((e) => e.type === 'code' && e.code === want), 'the code is also an event');
  s.ch.json({ type: 'file', id: 0, offset: 0 });
  sendBytes(s.ch, data);
  s.ch.json({ type: 'file-end', id: 0, sha256: sha(data) });
  s.ch.json({ type: 'done' });
  s.ch.remoteClose();
  const res = await s.result;
  ok(res.ok && res.code === want && JSON.stringify(s.ch.types()) === JSON.stringify(['hello', 'accept', 'file-ok', 'receipt']),
    'the transfer then goes as usual; the result names the code', { res, types: s.ch.types() });
}
{
  // Two connections: a fresh nonce each time.
  const a = session({ local: FP_R }), b = session({ local: FP_R });
  a.ch.json(committedHello(crypto.randomBytes(32)));
  b.ch.json(committedHello(crypto.randomBytes(32)));
  ok(a.ch.msgs()[0].sas_nonce !== b.ch.msgs()[0].sas_nonce, 'every connection gets a fresh receiver nonce');
  a.ch.remoteClose(); b.ch.remoteClose();
}
await hostile('a sas nonce that breaks the commitment', [committedHello(crypto.randomBytes(32)),
  { type: 'sas', nonce: crypto.randomBytes(32).toString('hex') }, offerOf([{ path: 'a', size: 1 }])],
{ local: FP_R, check: (s) => s.asked.length === 0 && /commitment/.test(s.ch.msgs().at(-1).reason) });
await hostile('an offer before sas', [committedHello(crypto.randomBytes(32)), offerOf([{ path: 'a', size: 1 }])],
  { local: FP_R, check: (s) => s.asked.length === 0 && /before sas/.test(s.ch.msgs().at(-1).reason) });
await hostile('a sas nonce that is not 64 hex digits', [committedHello(crypto.randomBytes(32)), { type: 'sas', nonce: 'abc' }],
  { local: FP_R });
await hostile('a hello sas_commit that is not 64 hex digits', [hello({ sas_commit: 'x'.repeat(64) })],
  { local: FP_R, check: (s) => !('sas_nonce' in (s.ch.msgs()[0] || {})) });
await hostile('a sas after hello without a commitment', [hello(), { type: 'sas', nonce: crypto.randomBytes(32).toString('hex') }],
  { local: FP_R });
{
  const ns = crypto.randomBytes(32);
  await hostile('a second sas', [committedHello(ns), { type: 'sas', nonce: ns.toString('hex') }, 'tick',
    { type: 'sas', nonce: ns.toString('hex') }], { local: FP_R });
}
{
  // An older sender (no sas_commit): no nonce, no code, works as before.
  const data = Buffer.from('old sender');
  const s = session({ local: FP_R });
  await honest(s, [{ path: 'old.txt', data }]);
  s.ch.remoteClose();
  const res = await s.result;
  ok(!('sas_nonce' in s.ch.msgs()[0]) && s.asked.length === 1 && s.asked[0].offer.code === null && res.ok && res.code === null,
    'a hello without sas_commit: no sas_nonce, the question has no code, the transfer works', { hello: s.ch.msgs()[0], res });
}
{
  // A tab that does not know its own fingerprint cannot show a code: it
  // leaves sas_nonce out, and the committed sender's offer is taken.
  const data = Buffer.from('no local fingerprint');
  const s = session();
  s.ch.json(committedHello(crypto.randomBytes(32)));
  s.ch.json(offerOf([{ path: 'n.txt', data }]));
  await tick(); await tick();
  ok(!('sas_nonce' in s.ch.msgs()[0]) && s.asked.length === 1 && s.asked[0].offer.code === null,
    'without its own fingerprint the tab sends no sas_nonce and expects no sas', s.ch.msgs());
  s.ch.remoteClose();
}

// The Sender (idrop.js) against a scripted receiver. Its _connect (WebRTC,
// signalling) is replaced by a fake channel with the fingerprints set.
class ScriptChannel {
  constructor(script) {
    this.readyState = 'open';
    this.bufferedAmount = 0;
    this.out = [];
    this.script = script;
  }
  send(data) {
    if (this.readyState !== 'open') throw new Error('channel not open');
    const copy = typeof data === 'string' ? data : Buffer.from(data);
    this.out.push(copy);
    if (typeof data === 'string') setTimeout(() => this.script(JSON.parse(data), this), 0);
  }
  close() { this.readyState = 'closed'; }
  reply(msg) { setTimeout(() => this.onmessage && this.onmessage({ data: JSON.stringify(msg) }), 0); }
  msgs() { return this.out.filter((d) => typeof d === 'string').map((d) => JSON.parse(d)); }
  types() { return this.msgs().map((m) => m.type); }
}
// A receiver that accepts everything; with nonce (a Buffer), it shows codes.
function scriptedReceiver({ nonce = null, helloOver = {} } = {}) {
  return (m, ch) => {
    if (m.type === 'hello') ch.reply({ type: 'hello', version: 1, name: 'Scripted', kind: 'device', ...(nonce ? { sas_nonce: nonce.toString('hex') } : {}), ...helloOver });
    else if (m.type === 'offer') ch.reply({ type: 'accept', transfer: m.transfer, files: m.files.map((f) => ({ id: f.id, offset: 0 })) });
    else if (m.type === 'file-end') ch.reply({ type: 'file-ok', id: m.id });
    else if (m.type === 'done') ch.reply({ type: 'receipt', transfer: ch.msgs().find((x) => x.type === 'offer').transfer, files: [{ id: 0, status: 'verified' }] });
  };
}
async function runSender(script, { local = FP_S, remote = FP_R } = {}) {
  const ch = new ScriptChannel(script);
  const events = [];
  const s = new Sender({
    offerUrl: 'http://127.0.0.1:9/api/offer', name: 'Node sender',
    files: [{ file: new Blob([Buffer.from('sent with a code')]), path: 'code.txt' }], onEvent: (e) => events.push(e),
  });
  s._connect = async function connect() {
    this.ch = ch;
    ch.onmessage = (ev) => this._onMessage(ev);
    this.localFingerprint = local;
    this.remoteFingerprint = remote;
  };
  const res = await Promise.race([s.run(), new Promise((r) => setTimeout(() => r(null), 5000))]);
  return { ch, events, res };
}
{
  const nr = crypto.randomBytes(32);
  const { ch, events, res } = await runSender(scriptedReceiver({ nonce: nr }));
  const m = ch.msgs();
  const h = m[0], sas = m.find((x) => x.type === 'sas');
  ok(h && /^[0-9a-f]{64}$/.test(h.sas_commit), "the Sender's hello carries sas_commit (64 hex digits)", h);
  ok(sas && /^[0-9a-f]{64}$/.test(sas.nonce) && sha(Buffer.from(sas.nonce, 'hex')) === h.sas_commit,
    'to a receiver that sent sas_nonce it reveals a nonce whose SHA-256 is its commitment', { h, sas });
  ok(JSON.stringify(ch.types()) === JSON.stringify(['hello', 'sas', 'offer', 'file', 'file-end', 'done']),
    'sas goes right after hello, before the offer', ch.types());
  const want = sas ? sasRef(FP_S, FP_R, Buffer.from(sas.nonce, 'hex'), nr) : null;
  const codes = events.filter((e) => e.type === 'code');
  ok(codes.length === 1 && codes[0].code === want, 'it emits the code node:crypto computes from both fingerprints and nonces',
    { codes, want });
  ok(res && res.ok && res.code === want, 'the transfer goes through; the result names the code', res);
}
{
  const a = await runSender(scriptedReceiver({ nonce: crypto.randomBytes(32) }));
  const b = await runSender(scriptedReceiver({ nonce: crypto.randomBytes(32) }));
  ok(a.ch.msgs()[0].sas_commit !== b.ch.msgs()[0].sas_commit, 'every connection commits to a fresh nonce');
}
{
  const { ch, events, res } = await runSender(scriptedReceiver());
  const codes = events.filter((e) => e.type === 'code');
  ok(!ch.types().includes('sas') && res && res.ok && res.code === null,
    'a receiver hello without sas_nonce (an older peer): no sas, no code, the transfer works', { types: ch.types(), res });
  // Issue 11, item 2: the Sender committed and got no nonce back; it says so
  // (as the CLI does), it is not silent: someone in between may have removed it.
  ok(codes.length === 1 && codes[0].code === null &&
    /does not show one \(an older version, or someone in between removed it\)/.test(codes[0].missing || '') &&
    res && res.no_code === codes[0].missing,
    'committed, no sas_nonce back: one code event with code null saying why, and result.no_code says it too', { codes, res });
}
{
  const { ch, res } = await runSender(scriptedReceiver({ helloOver: { sas_nonce: 'abc' } }));
  const last = ch.msgs().at(-1);
  ok(res && !res.ok && last.type === 'cancel' && /^protocol error: /.test(last.reason) && !ch.types().includes('offer') &&
    !ch.types().includes('sas'), 'a receiver sas_nonce that is not 64 hex digits is a protocol error; nothing offered', { types: ch.types(), res });
}
{
  // Without its own fingerprint the Sender cannot show a code: it does not commit.
  const { ch, events, res } = await runSender(scriptedReceiver({ nonce: crypto.randomBytes(32) }), { local: null });
  ok(!('sas_commit' in ch.msgs()[0]) && !ch.types().includes('sas') && !events.some((e) => e.type === 'code' && e.code) && res && res.ok,
    'a Sender that does not know its fingerprint commits to nothing and sends no sas', ch.types());
  ok(events.some((e) => e.type === 'code' && e.code === null && /could not read the keys/.test(e.missing || '')),
    '... and says there is no verification code, and why', events.filter((e) => e.type === 'code'));
}
{
  const { ch, res } = await runSender((m, c) => {
    if (m.type === 'hello') c.reply({ type: 'hello', version: 1, name: 'Scripted', kind: 'device' });
    else if (m.type === 'offer') c.reply({ type: 'sas', nonce: '00'.repeat(32) });
  });
  const last = ch.msgs().at(-1);
  ok(res && !res.ok && last.type === 'cancel' && /^protocol error: /.test(last.reason),
    'a sas from the receiver is a protocol error (not "unsupported")', { last, res });
}

// ---------------------------------------------------------------- which key an SDP names (issue 11, item 1)
{
  const A = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const B = Array.from({ length: 32 }, (_, i) => (255 - i).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const hexOf = (f) => f.replace(/:/g, '').toLowerCase();
  const sdp = (session, media, extra = '') => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...session,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:0', ...media, extra].join('\r\n');
  const cases = [
    // [what, sdp, oneLine, fp wanted (null: refused), words of the error]
    ['media level only (Chromium, Safari)', sdp([], [`a=fingerprint:sha-256 ${A}`]), false, hexOf(A)],
    ['session level only (Firefox)', sdp([`a=fingerprint:sha-256 ${A}`], []), false, hexOf(A)],
    ['lower-case hex, LF line ends', sdp([], [`a=fingerprint:SHA-256 ${A.toLowerCase()}`]).replace(/\r/g, ''), false, hexOf(A)],
    ['session line B (the expected key) and media line A (the one checked)', sdp([`a=fingerprint:sha-256 ${B}`], [`a=fingerprint:sha-256 ${A}`]), false, null, 'two levels'],
    ['session sha-512 and media sha-256', sdp(['a=fingerprint:sha-512 00:11'], [`a=fingerprint:sha-256 ${A}`]), false, null, 'two levels'],
    ['two sha-256 lines in the media section', sdp([], [`a=fingerprint:sha-256 ${B}`, `a=fingerprint:sha-256 ${A}`]), false, null, '2 a=fingerprint:sha-256 lines'],
    ['a line in a second m-section', sdp([], [`a=fingerprint:sha-256 ${A}`], `m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 ${B}`), false, null, 'two levels'],
    ['no sha-256 line', sdp([], ['a=fingerprint:sha-512 00:11']), false, null, 'no a=fingerprint:sha-256'],
    ['a second line in another case at media level', sdp([`a=fingerprint:sha-256 ${B}`], [`A=FINGERPRINT:SHA-256 ${A}`]), false, null, 'two levels'],
    ['a second line with a space after the colon', sdp([], [`a=fingerprint:sha-256 ${B}`, `a=fingerprint: sha-256 ${A}`]), false, null, '2 a=fingerprint:sha-256 lines'],
    ['a value with something after it', sdp([], [`a=fingerprint:sha-256 ${A} ${B}`]), false, null, 'not 32 colon-separated'],
    ['a malformed sha-256 line', sdp([], ['a=fingerprint:sha-256 AB:CD']), false, null, 'not 32 colon-separated'],
    ['sha-384 beside sha-256 at one level (aiortc may): taken', sdp([], ['a=fingerprint:sha-384 00:11', `a=fingerprint:sha-256 ${A}`]), false, hexOf(A)],
    ['... refused by a browser that cannot tell which one it checked', sdp([], ['a=fingerprint:sha-384 00:11', `a=fingerprint:sha-256 ${A}`]), true, null, 'cannot tell which one'],
  ];
  for (const [what, text, oneLine, want, words] of cases) {
    const r = sdpFingerprintCheck(text, { oneLine });
    ok(r.fp === want && (want ? r.error === null : r.error.includes(words)) && sdpFingerprint(text) === (oneLine ? sdpFingerprint(text) : want),
      `SDP fingerprint: ${what} -> ${want ? 'taken' : 'refused'}`, r);
  }
}

// ICE checks only to the LAN (issue 11, item 9): the page keeps the remote
// candidates base/lanaddr.h calls LAN, with the address table of
// tests/unit/test_lanaddr.c, and the mDNS names browsers hide behind.
{
  const table = [
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'], ['10.255.255.255', 'private'], ['172.16.0.1', 'private'], ['172.31.255.254', 'private'],
    ['192.168.1.2', 'private'], ['::ffff:192.168.1.2', 'private'],
    ['169.254.10.20', 'link-local'], ['fe80::1', 'link-local'], ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'ula'], ['fd12:3456:789a::1', 'ula'],
    ['100.64.0.1', 'shared'], ['100.127.255.254', 'shared'],
    ['172.15.255.255', 'other'], ['172.32.0.0', 'other'], ['192.169.0.1', 'other'], ['169.253.255.255', 'other'],
    ['100.63.255.255', 'other'], ['100.128.0.0', 'other'], ['11.0.0.1', 'other'], ['fec0::1', 'other'],
    ['fe00::1', 'other'], ['fbff::1', 'other'], ['fe7f::1', 'other'],
    ['198.51.100.7', 'other'], ['203.0.113.20', 'other'], ['8.8.8.8', 'other'], ['2001:db8::1', 'other'],
    ['::ffff:8.8.8.8', 'other'], ['0.0.0.0', 'other'], ['::', 'other'], ['224.0.0.251', 'other'],
    ['ff02::fb', 'other'], ['255.255.255.255', 'other'],
    ['', 'invalid'], ['c0ffee00-1234.local', 'invalid'], ['192.168.1', 'invalid'], ['192.168.1.2 ', 'invalid'],
    ['fe80::1%eth0', 'invalid'], ['localhost', 'invalid'],
    // Spellings a lax parser would take for a LAN address.
    ['010.0.0.1', 'invalid'], ['192.168.1.256', 'invalid'], ['1::2::3', 'invalid'], ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['1:2:3:4:5:6:7:8::', 'invalid'], ['10.0.0.1::', 'invalid'], ['0:0:0:0:0:ffff:10.1.2.3', 'private'],
    ['::ffff:0a01:0203', 'private'], ['::127.0.0.1', 'other'],
  ];
  const bad = table.filter(([a, want]) => lanScope(a) !== want).map(([a, want]) => `${a}: ${lanScope(a)}, want ${want}`);
  ok(bad.length === 0, `lanScope agrees with base/lanaddr.c on ${table.length} addresses`, bad.join('; '));
  const lan = ['loopback', 'private', 'link-local', 'ula'];
  const bad2 = table.filter(([a, want]) => isLanCandidateAddress(a) !== (lan.includes(want) || a.endsWith('.local')))
    .map(([a]) => a);
  ok(bad2.length === 0, '... and candidates may name LAN addresses and .local names only (100.64/10 is not the LAN)', bad2.join('; '));
  ok(isLanCandidateAddress('0B4F2A8C-1234-4d2e-9f00-abcdef012345.local') && !isLanCandidateAddress('evil.example')
    && !isLanCandidateAddress('.local') && !isLanCandidateAddress('x.local y'), '... a .local name, not another name');

  const cand = (addr, n = 1) => `a=candidate:${n} 1 udp 2122260223 ${addr} 4000${n} typ host`;
  const offer = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', cand('198.51.100.7', 1), cand('192.168.7.2', 2), cand('8.8.8.8', 3),
    cand('c0ffee00-1234.local', 4), cand('100.64.0.9', 5), cand('fe80::2', 6), cand('::ffff:203.0.113.20', 7),
    'a=candidate:8 1 tcp 1518280447 10.0.0.9 9 typ host tcptype active', 'A=CANDIDATE:9 1 udp 1 203.0.113.9 1 typ host',
    'a=candidate:10 1 udp 1', 'a=end-of-candidates', ''].join('\r\n');
  const r = sdpLanCandidates(offer);
  const kept = r.sdp.split('\r\n').filter((l) => /^a=candidate:/i.test(l)).map((l) => l.split(' ')[4]);
  ok(JSON.stringify(kept) === JSON.stringify(['192.168.7.2', 'c0ffee00-1234.local', 'fe80::2', '10.0.0.9']),
    'sdpLanCandidates keeps the LAN and .local candidates of an offer', kept);
  ok(JSON.stringify(r.dropped) === JSON.stringify(['198.51.100.7', '8.8.8.8', '100.64.0.9', '::ffff:203.0.113.20', '203.0.113.9', '(none)']),
    '... drops the others (public, carrier-grade NAT, mapped public, any case, malformed) and says which', r.dropped);
  const rest = (t) => t.split('\r\n').filter((l) => !/^a=candidate:/i.test(l)).join('\r\n');
  ok(rest(r.sdp) === rest(offer) && r.sdp.endsWith('a=end-of-candidates\r\n'), '... and leaves every other line as it was, CRLF kept');
  const none = sdpLanCandidates(offer.replace(/^a=candidate:(2|4|6|8) .*\r\n/gm, ''));
  ok(!/a=candidate/i.test(none.sdp) && /a=ice-ufrag:abcd/.test(none.sdp),
    'an SDP with no LAN candidate stays usable (the peer is found by its own checks: peer-reflexive)', none.sdp);
}
{
  // The key is the certificate the browser verified: the SHA-256 of its DER.
  const der = crypto.randomBytes(300);
  const buf = der.buffer.slice(der.byteOffset, der.byteOffset + der.length);
  const had = globalThis.RTCDtlsTransport;
  const FakeDtls = class extends EventTarget { getRemoteCertificates() { return this.certs; } };
  globalThis.RTCDtlsTransport = FakeDtls;
  const transport = (state, certs) => Object.assign(new FakeDtls(), { state, certs });
  const pc = (t) => ({ sctp: { transport: t } });
  const r1 = dtlsRemoteFingerprint(pc(transport('connected', [buf])));
  ok(r1.fp === sha(der) && r1.error === null, 'dtlsRemoteFingerprint hashes the DER of the first remote certificate', r1);
  const r2 = dtlsRemoteFingerprint(pc(transport('connecting', [buf])));
  ok(r2.fp === null && /not established/.test(r2.error), '... and trusts nothing before DTLS is connected', r2);
  const r3 = dtlsRemoteFingerprint(pc(transport('connected', [])));
  ok(r3.fp === null && /no certificate/.test(r3.error), '... nor a connection without a certificate', r3);
  {
    // DTLS up a moment later: the check waits for it (bounded), then reads the certificate.
    const t = transport('connecting', [buf]);
    setTimeout(() => { t.state = 'connected'; t.dispatchEvent(new Event('statechange')); }, 20);
    const t0 = performance.now();
    await dtlsConnected(pc(t), 3000);
    const r = dtlsRemoteFingerprint(pc(t));
    ok(r.fp === sha(der) && performance.now() - t0 < 1000, 'dtlsConnected waits for the transport to say connected', r);
    const t1 = performance.now();
    await dtlsConnected(pc(transport('connecting', [buf])), 50);
    ok(performance.now() - t1 < 1000, '... and no longer than it was told (then nothing is trusted)');
  }
  delete globalThis.RTCDtlsTransport;
  const r4 = dtlsRemoteFingerprint(pc(transport('connected', [buf])));
  ok(r4.fp === null && r4.error === null, '... and says nothing in a browser without getRemoteCertificates', r4);
  if (had) globalThis.RTCDtlsTransport = had;
}

// A tab's name: the device refuses hidden characters in names, so the page
// drops them (and control characters) before it attaches.
{
  ok(cleanName('Ann\u202Etxt.exe') === 'Anntxt.exe', 'cleanName drops a right-to-left override');
  ok(cleanName('living\u200B room') === 'living room', '... and a zero-width space');
  ok(cleanName('tab\there') === 'tab here', '... and turns a control character into a space');
  ok(cleanName('\u200B\u200D') === 'Browser', '... and falls back when nothing visible is left');
  ok(cleanName('Zo\u00eb\u2019s \u{1F4F1}') === 'Zo\u00eb\u2019s \u{1F4F1}', '... and keeps letters, quotes and emoji');
}

// Hidden characters: the page's HIDDEN_RE is held to the same fixed table as
// C's idl_text_is_hidden_char (tests/unit/test_text.c reads it too), so a
// name the device refuses as hidden is one the page drops, and no
// default-ignorable character (U+17B4, U+180B, U+2065, tags...) gets
// through either side.
{
  const table = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../unit/hidden_chars.h'), 'utf8');
  const rows = [...table.matchAll(/\{ 0x([0-9a-fA-F]+), ([01]) \}/g)].map((m) => [parseInt(m[1], 16), m[2] === '1']);
  const wrong = rows.filter(([cp, hidden]) => HIDDEN_RE.test(String.fromCodePoint(cp)) !== hidden)
    .map(([cp, hidden]) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')} should${hidden ? '' : ' not'} be hidden`);
  ok(rows.length > 80 && wrong.length === 0, `HIDDEN_RE matches the table of hidden characters C is held to (${rows.length} code points)`, wrong.join(', '));
  ok(cleanName('living\u17B4 room') === 'living room' && cleanName('a\u180Bb\u{E0041}') === 'ab', '... so cleanName drops a Khmer inherent vowel, a Mongolian variation selector and a tag');
}

console.log(`1..${n}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
