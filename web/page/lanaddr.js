// lanaddr.js -- which addresses count as "the LAN" (base/lanaddr.h, the
// same rule serve and send apply), and a remote SDP stripped of the ICE
// candidates that point elsewhere (issue 11, item 9).
//
// A tab takes relayed offers from any LAN host, and its browser sends
// connectivity checks to every a=candidate an offer lists, before anyone is
// asked: an offer could aim them at any host on the Internet. So the page
// keeps only candidates whose address is loopback, RFC 1918, link-local
// (169.254/16, fe80::/10) or unique local (fc00::/7); an IPv4-mapped IPv6
// address counts as its IPv4 address; 100.64/10 (carrier-grade NAT), public,
// multicast, unspecified and malformed addresses go. Names ending in
// ".local" stay: browsers hide their own addresses behind such mDNS names
// and resolve them only by multicast on the link (README, "Browser tabs",
// says what that leaves open). A peer whose candidates all went is still
// reached: its checks arrive from its address, and the browser answers them
// (a peer-reflexive candidate).
// Pure functions, tested in Node (tests/browser/receiver_test.mjs).

// "a.b.c.d" -> 4 bytes, or null. Decimal, no leading zeros (as inet_pton).
function parse4(s) {
  const p = s.split('.');
  if (p.length !== 4) return null;
  const b = p.map((x) => (/^(0|[1-9][0-9]{0,2})$/.test(x) ? Number(x) : 256));
  return b.every((x) => x <= 255) ? b : null;
}

// An IPv6 literal (no zone) -> 16 bytes, or null.
function parse6(s) {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.length > 45) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h) => {
    if (h === '') return [];
    const out = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const x = parts[i];
      if (i === parts.length - 1 && x.includes('.')) {
        const v4 = parse4(x);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(x)) out.push(parseInt(x, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 address ends the address, never the head of "::".
  if (halves.length === 2 && halves[0].includes('.')) return null;
  const n = head.length + tail.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return null;
  const g = [...head, ...new Array(8 - n).fill(0), ...tail];
  return g.flatMap((x) => [x >> 8, x & 255]);
}

function scope4(b) {
  if (b[0] === 127) return 'loopback';
  if (b[0] === 10 || (b[0] === 172 && (b[1] & 0xf0) === 16) || (b[0] === 192 && b[1] === 168)) return 'private';
  if (b[0] === 169 && b[1] === 254) return 'link-local';
  if (b[0] === 100 && (b[1] & 0xc0) === 64) return 'shared';
  return 'other';
}

// The scope of an address literal, as idl_lanaddr_scope_text() says it:
// 'loopback', 'private', 'link-local', 'ula', 'shared' (100.64/10),
// 'other', or 'invalid' (not an IPv4 or IPv6 literal: names, zones, ...).
export function lanScope(text) {
  const s = String(text);
  const b4 = parse4(s);
  if (b4) return scope4(b4);
  const b = parse6(s);
  if (!b) return 'invalid';
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 255 && b[11] === 255) return scope4(b.slice(12));
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local';
  if ((b[0] & 0xfe) === 0xfc) return 'ula';
  return 'other';
}

export const isLanScope = (scope) => ['loopback', 'private', 'link-local', 'ula'].includes(scope);

// True for an address ICE checks may go to: a LAN address literal, or an
// mDNS name ("<uuid>.local") the browser resolves on the link only.
export function isLanCandidateAddress(addr) {
  const a = String(addr);
  if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.local\.?$/i.test(a)) return true;
  return isLanScope(lanScope(a));
}

// The SDP with every a=candidate line whose connection address is not
// isLanCandidateAddress() removed (malformed ones too), line endings kept.
// Returns { sdp, dropped: the addresses removed, for a log line }.
export function sdpLanCandidates(sdp) {
  const dropped = [];
  const lines = String(sdp).split('\n').filter((raw) => {
    if (!/^a=candidate:/i.test(raw)) return true;
    // a=candidate:foundation component transport priority address port typ ...
    const addr = raw.replace(/\r$/, '').slice(12).trim().split(/[ \t]+/)[4];
    if (addr !== undefined && isLanCandidateAddress(addr)) return true;
    dropped.push(addr === undefined ? '(none)' : addr);
    return false;
  });
  return { sdp: lines.join('\n'), dropped };
}
