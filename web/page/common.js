// common.js -- what the sending and the receiving side of the page share:
// UTF-8 lengths, display names, certificate fingerprints (from SDP too),
// path rules, the device's /api/info, the browser's persistent identity,
// the error type with its phase, the words for a refused offer, and the
// verification code (PROTOCOL.md, "Verification code").
// idrop.js re-exports all of it, so older imports keep working.

import { Sha256 } from './sha256.js';

export const PROTOCOL_VERSION = 1;

const enc = new TextEncoder();
export const utf8Length = (s) => enc.encode(s).length;
// Unicode Cc: U+0000-001F and U+007F-009F.
export const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;  // eslint-disable-line no-control-regex
export const CONTROL_RE_G = /[\u0000-\u001f\u007f-\u009f]/g;  // eslint-disable-line no-control-regex
// Characters that draw nothing or reorder the text around them: format
// characters (Cf: bidi controls, zero-width characters), the line and
// paragraph separators, and every other Default_Ignorable_Code_Point
// (variation selectors, Hangul fillers, Khmer inherent vowels, Mongolian
// free variation selectors, tags, unassigned ignorables). Exactly the set of
// base/text.c idl_text_is_hidden_char: tests/unit/hidden_chars.h holds both
// to one table. A path holding one can pass for another: "a\u202Etxt.exe"
// shows as "aexe.txt" (PROTOCOL.md refuses them).
export const HIDDEN_RE = /[\p{Cf}\p{Zl}\p{Zp}\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/u;
export const HIDDEN_RE_G = new RegExp(HIDDEN_RE.source, 'gu');
export const PATH_DEPTH_MAX = 32;         // components of one path (PROTOCOL.md)
export const OFFER_FOLDERS_MAX = 1000;    // distinct folders named by one offer

// Adds the folders of path ("a", "a/b" for "a/b/c") to the Set folders;
// returns how many were new.
export function addFolders(folders, path) {
  let n = 0;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const f = path.slice(0, i);
    if (!folders.has(f)) { folders.add(f); n++; }
  }
  return n;
}

// Cuts s to at most max bytes of UTF-8 without splitting a character.
export function truncateUtf8(s, max) {
  let out = '', n = 0;
  for (const ch of s) {
    const l = utf8Length(ch);
    if (n + l > max) break;
    out += ch; n += l;
  }
  return out;
}

// A display name as the protocol wants it: 1 to 63 bytes, no control characters.
// Hidden characters (bidi controls, zero-width) go: the device refuses a
// name holding one (it could pass for another name).
export function cleanName(s, fallback = 'Browser') {
  const t = truncateUtf8(String(s || '').replace(CONTROL_RE_G, ' ').replace(HIDDEN_RE_G, '').trim(), 63).trim();
  return t || fallback;
}

// "AB:CD:..." or "abcd..." -> 64 lowercase hex digits, or null.
export function normalizeFingerprint(fp) {
  const h = String(fp || '').replace(/:/g, '').trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(h) ? h : null;
}

// "1a2b 3c4d": the first 8 hex digits, in two groups.
export const shortFingerprint = (fp) => {
  const h = normalizeFingerprint(fp);
  return h ? `${h.slice(0, 4)} ${h.slice(4, 8)}` : '????';
};

// The certificate fingerprint an SDP names, read the way transport/sdp.c
// reads it (issue 11): exactly one a=fingerprint:sha-256 line, and
// a=fingerprint lines at one level only (session, or one m-section). A
// browser checks the certificate against the media-level line, so an SDP
// with a second line could make a reader show one key while the browser
// accepts another: it is refused, not guessed at. With oneLine (a browser
// that cannot tell which certificate it verified, see dtlsRemoteFingerprint)
// a second line of any hash function is refused too, since such a browser
// may check that one.
// Returns { fp: 64 lowercase hex digits, error: null } or { fp: null, error:
// what is wrong, as words that follow "the offer " or "the answer " }.
export function sdpFingerprintCheck(sdp, { oneLine = false } = {}) {
  const levels = new Set();
  let level = 0, sections = 0, lines = 0, fp = null, sha = 0;   // level 0: session, n: the n-th m-section
  for (const raw of String(sdp || '').split('\n')) {
    const line = raw.replace(/[\r \t]+$/, '');
    if (line.startsWith('m=')) level = ++sections;
    // Every line that could be read as a fingerprint counts, whatever its
    // case or spacing: a browser might read it so.
    if (!/^a=fingerprint(:|$)/i.test(line)) continue;
    levels.add(level);
    lines++;
    const [algo = '', value = '', ...rest] = line.slice(14).trim().split(/[ \t]+/);
    if (algo.toLowerCase() !== 'sha-256') continue;
    sha++;
    fp = rest.length === 0 && /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$/.test(value) ? normalizeFingerprint(value) : null;
    if (!fp) return { fp: null, error: 'has an a=fingerprint:sha-256 line that is not 32 colon-separated hex bytes' };
  }
  const ambiguous = 'so which certificate the peer presents is ambiguous (a peer that writes this is broken, or someone in between added a line)';
  if (levels.size > 1) return { fp: null, error: `has a=fingerprint lines at two levels (session and media, or two sections), ${ambiguous}` };
  if (sha > 1) return { fp: null, error: `has ${sha} a=fingerprint:sha-256 lines, ${ambiguous}` };
  if (sha === 0) return { fp: null, error: 'carries no a=fingerprint:sha-256 line, so its certificate cannot be checked' };
  if (oneLine && lines > 1) return { fp: null, error: `has ${lines} a=fingerprint lines and this browser cannot tell which one it checked, ${ambiguous}` };
  return { fp, error: null };
}

// The one SHA-256 certificate fingerprint of an SDP, or null when it has
// none or is ambiguous (sdpFingerprintCheck says why).
export const sdpFingerprint = (sdp) => sdpFingerprintCheck(sdp).fp;

// Whether this browser can say which certificate its DTLS verified
// (RTCDtlsTransport.getRemoteCertificates(); Chromium can).
export const canReadRemoteCertificate = () => typeof RTCDtlsTransport !== 'undefined' &&
  typeof RTCDtlsTransport.prototype.getRemoteCertificates === 'function';

// The SHA-256 fingerprint of the certificate the peer presented in the DTLS
// handshake of pc, which the browser checked against the SDP: the key to
// show, compare and put into the verification code. Trusted only once that
// transport is connected (the check is done then). Hashed with sha256.js:
// crypto.subtle does not exist on a plain-http page.
// Returns { fp, error }: fp 64 lowercase hex digits, or null with error
// saying why (not connected, no certificate); { fp: null, error: null }
// when the browser cannot tell (canReadRemoteCertificate() is false).
// Resolves once pc's DTLS transport is connected, or after ms (then
// dtlsRemoteFingerprint says it is not). An open data channel means DTLS is
// up, but the transport's state may be told a task later.
export function dtlsConnected(pc, ms = 3000) {
  const t = pc && pc.sctp && pc.sctp.transport;
  if (!t || t.state === 'connected' || !canReadRemoteCertificate()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); t.removeEventListener('statechange', check); resolve(); };
    const check = () => { if (t.state !== 'connecting' && t.state !== 'new') done(); };
    const timer = setTimeout(done, ms);
    t.addEventListener('statechange', check);
  });
}

export function dtlsRemoteFingerprint(pc) {
  if (!canReadRemoteCertificate()) return { fp: null, error: null };
  const t = pc && pc.sctp && pc.sctp.transport;
  if (!t || t.state !== 'connected') return { fp: null, error: 'the secure (DTLS) connection is not established' };
  let certs;
  try { certs = t.getRemoteCertificates(); } catch (e) { certs = null; }
  if (!certs || !certs.length || !(certs[0] instanceof ArrayBuffer) || certs[0].byteLength === 0)
    return { fp: null, error: 'the browser has no certificate for the peer' };
  return { fp: new Sha256().update(new Uint8Array(certs[0])).hex(), error: null };
}

// The answer's a=max-message-size, or 0 when absent.
export function sdpMaxMessageSize(sdp) {
  const m = /^a=max-message-size:(\d+)[ \t]*\r?$/m.exec(sdp);
  return m ? Number(m[1]) : 0;
}

// A file's path as the protocol allows: components of 1..255 bytes, not . or
// .., at most 32 of them, no control or hidden characters or backslashes,
// 4096 bytes at most. Control and hidden characters and backslashes become
// "_"; what cannot be fixed throws.
export function cleanPath(p) {
  const parts = String(p).split('/').filter((c) => c !== '' && c !== '.');
  if (parts.length === 0) throw new Error(`file name ${JSON.stringify(p)} is empty`);
  if (parts.length > PATH_DEPTH_MAX) throw new Error(`file path ${JSON.stringify(p.slice(0, 40))}... is nested over ${PATH_DEPTH_MAX} levels deep`);
  const out = parts.map((c) => {
    if (c === '..') throw new Error(`file path ${JSON.stringify(p)} contains ".."`);
    c = c.replace(CONTROL_RE_G, '_').replace(HIDDEN_RE_G, '_').replace(/\\/g, '_');
    if (utf8Length(c) > 255) throw new Error(`file name ${JSON.stringify(c.slice(0, 40))}... is longer than 255 bytes`);
    return c;
  }).join('/');
  if (utf8Length(out) > 4096) throw new Error(`file path ${JSON.stringify(out.slice(0, 40))}... is longer than 4096 bytes`);
  return out;
}

// Distinct paths: a second "a.txt" becomes "a (2).txt".
export function uniquePaths(paths) {
  const seen = new Set();
  return paths.map((p) => {
    let q = p;
    for (let n = 2; seen.has(q); n++) {
      const slash = p.lastIndexOf('/');
      const dot = p.lastIndexOf('.');
      q = dot > slash + 1 ? `${p.slice(0, dot)} (${n})${p.slice(dot)}` : `${p} (${n})`;
    }
    seen.add(q);
    return q;
  });
}

export const toHex = (bytes) => Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');

// n hex digits (any case) -> n/2 bytes, or null.
export function fromHex(h, n = 64) {
  if (typeof h !== 'string' || h.length !== n || !/^[0-9a-fA-F]*$/.test(h)) return null;
  const out = new Uint8Array(n / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function randomTransferId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return toHex(b);
}

// ---------------------------------------------------------------- verification code
//
// PROTOCOL.md, "Verification code": the sender commits to a nonce Ns in its
// hello (sas_commit = SHA-256(Ns)), the receiver answers with its nonce Nr
// (sas_nonce), the sender reveals Ns (message sas), and both show
// SHA-256("idrop-lan sas 1" || FPs || FPr || Ns || Nr), its first 4 bytes
// big-endian modulo 10^6, as "ddd ddd".
// The hashing is sha256.js, not WebCrypto: crypto.subtle exists only in a
// secure context, and the page is served over plain http:// on the LAN.

export const SAS_NONCE_SIZE = 32;
const SAS_LABEL = new TextEncoder().encode('idrop-lan sas 1');

const asBytes = (b, what) => {
  if (!(b instanceof Uint8Array) || b.length !== SAS_NONCE_SIZE) throw new Error(`${what} is not ${SAS_NONCE_SIZE} bytes`);
  return b;
};

// 32 fresh random bytes.
export function sasNonce() {
  const b = new Uint8Array(SAS_NONCE_SIZE);
  crypto.getRandomValues(b);
  return b;
}

// The commitment: SHA-256 of the nonce, as 64 lowercase hex digits.
export async function sasCommit(nonce) {
  return new Sha256().update(asBytes(nonce, 'the nonce')).hex();
}

// The code "ddd ddd" from the sender's and the receiver's certificate
// fingerprints (64 hex digits, any case, colons allowed) and their nonces.
// Throws on a malformed fingerprint or nonce.
export async function sasCode(senderFp, receiverFp, senderNonce, receiverNonce) {
  const fs = fromHex(normalizeFingerprint(senderFp)), fr = fromHex(normalizeFingerprint(receiverFp));
  if (!fs || !fr) throw new Error('a certificate fingerprint is not 64 hex digits');
  const d = new Sha256().update(SAS_LABEL).update(fs).update(fr)
    .update(asBytes(senderNonce, "the sender's nonce")).update(asBytes(receiverNonce, "the receiver's nonce")).digest();
  const v = (((d[0] << 24) >>> 0) + (d[1] << 16) + (d[2] << 8) + d[3]) % 1000000;
  const s = String(v).padStart(6, '0');
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}

export async function fetchInfo(base = '', timeoutMs = 10000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const r = await fetch(`${base}/api/info`, { cache: 'no-store', signal: ctl.signal });
    if (!r.ok) throw new Error(`GET /api/info: HTTP ${r.status}`);
    const info = await r.json();
    if (!info || typeof info.name !== 'string' || !normalizeFingerprint(info.fingerprint))
      throw new Error('GET /api/info: not a device description');
    return info;
  } catch (e) {
    if (e.name === 'AbortError') throw new Error('GET /api/info: no answer from the device');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// The browser's identity: a persistent ECDSA P-256 certificate in IndexedDB.
const DB_NAME = 'idrop', DB_STORE = 'identity', DB_KEY = 'certificate';
const CERT_LIFETIME_MS = 365 * 24 * 3600 * 1000;

function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('no IndexedDB'));
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(DB_STORE);
    open.onerror = () => reject(open.error || new Error('IndexedDB open failed'));
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(DB_STORE, mode);
      let out;
      tx.oncomplete = () => { db.close(); resolve(out); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error || new Error('IndexedDB failed')); };
      const req = fn(tx.objectStore(DB_STORE));
      req.onsuccess = () => { out = req.result; };
    };
  });
}

// Returns { certificate, fingerprint (64 hex), stored (false when it could not be kept) }.
export async function loadIdentity() {
  let cert = null, stored = true;
  try {
    cert = await idb('readonly', (s) => s.get(DB_KEY));
  } catch (e) {
    stored = false;
  }
  const fresh = (c) => c && typeof c.getFingerprints === 'function' && c.expires > Date.now() + 3600 * 1000;
  if (!fresh(cert)) {
    const algo = { name: 'ECDSA', namedCurve: 'P-256' };
    try {
      cert = await RTCPeerConnection.generateCertificate({ ...algo, expires: CERT_LIFETIME_MS });
    } catch (e) {
      cert = await RTCPeerConnection.generateCertificate(algo);
    }
    if (stored) {
      try { await idb('readwrite', (s) => s.put(cert, DB_KEY)); } catch (e) { stored = false; }
    }
  }
  const fps = cert.getFingerprints ? cert.getFingerprints() : [];
  const fp = fps.find((f) => String(f.algorithm).toLowerCase() === 'sha-256');
  return { certificate: cert, fingerprint: fp ? normalizeFingerprint(fp.value) : null, stored };
}

// An error with the phase it happened in, for the page to show.
export class IdropError extends Error {
  constructor(phase, message, kind = 'error') {
    super(message);
    this.phase = phase;
    this.kind = kind;  // 'error', 'declined', 'cancelled' (by the receiver), 'aborted' (by us)
  }
}

// Why POST /api/offer did not give an answer, for people. A relay to a
// browser tab (README "Browser tabs") has statuses of its own.
export function refusal(status, body, noun = 'device') {
  let why = String(body || '').trim();
  try {
    const j = JSON.parse(why);
    if (j && typeof j.error === 'string') why = j.error;
  } catch (e) { /* not JSON: show the text */ }
  why = why.replace(CONTROL_RE_G, ' ').slice(0, 300);
  if (noun === 'browser') {
    if (status === 404) return 'that browser tab is closed';
    if (status === 502) return `the browser tab refused the connection${why ? `: ${why}` : ''}`;
    if (status === 504) return 'the browser did not answer';
  }
  if (status === 429) return `the ${noun} is busy (too many offers); try again in a few seconds`;
  return `the ${noun} refused the connection (HTTP ${status}${why ? `: ${why}` : ''})`;
}
