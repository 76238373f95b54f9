// json_strict.js -- one control message parsed as docs/PROTOCOL.md wants its
// JSON: RFC 8259 (JSON.parse already refuses comments, single quotes, 01 and
// trailing data), plus what JSON.parse lets through and a peer could hide
// things in: a member named twice (JSON.parse keeps the last), \u0000 in a
// string, nesting deeper than our messages need, and the protocol's integers
// written with a fraction, an exponent or a sign (1.0, 1e3, -0). The same
// rules as base/json_strict.c. Pure: no DOM, runs in Node for the tests.

export const JSON_DEPTH_MAX = 16;
export const CONTROL_MAX = 64 * 1024;   // bytes of UTF-8 in one control message

// Members whose values are the protocol's integers (version, id, size,
// mtime, offset): digits only. Other numbers (in unknown members) may be
// anything JSON allows.
const INT_KEYS = new Set(['version', 'id', 'size', 'mtime', 'offset']);

const utf8 = new TextEncoder();

// Parses text; throws an Error saying what is wrong.
export function parseStrict(text) {
  // A UTF-16 code unit is at least one byte of UTF-8: a cheap upper bound first.
  if (text.length > CONTROL_MAX || utf8.encode(text).length > CONTROL_MAX)
    throw new Error(`a control message over ${CONTROL_MAX} bytes`);
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${e.message})`);
  }
  scan(text);
  return value;
}

// Walks text, already known to be valid JSON, token by token: only strings,
// brackets, commas and numbers matter.
function scan(t) {
  const stack = [];   // per open bracket: { keys: Set (object) | null (array), wantKey, key }
  let i = 0;
  while (i < t.length) {
    const c = t[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (t[j] !== '"') j += t[j] === '\\' ? 2 : 1;
      const s = JSON.parse(t.slice(i, j + 1));
      if (s.includes('\u0000')) throw new Error('a string holds \\u0000');
      if (top && top.keys && top.wantKey) {
        if (top.keys.has(s)) throw new Error(`member "${s.slice(0, 40)}" named twice in one object`);
        top.keys.add(s);
        top.key = s;
        top.wantKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      if (stack.length >= JSON_DEPTH_MAX) throw new Error(`nested deeper than ${JSON_DEPTH_MAX}`);
      stack.push({ keys: c === '{' ? new Set() : null, wantKey: c === '{', key: null });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      if (top && top.keys) top.wantKey = true;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < t.length && /[-+0-9.eE]/.test(t[j])) j++;
      const tok = t.slice(i, j);
      if (top && top.keys && INT_KEYS.has(top.key) && !/^(0|[1-9][0-9]*)$/.test(tok))
        throw new Error(`"${top.key}" is ${tok}: an integer is written with digits only`);
      i = j;
      continue;
    }
    i++;
  }
}
