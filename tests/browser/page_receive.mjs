#!/usr/bin/env node
// tests/browser/page_receive.mjs -- headless Chromium opens a device's web
// page and receives files through it, as a person with a browser would: the
// tab attaches to the device (README.md, "Browser tabs"), something else
// sends to it (`idrop-lan send NAME`, another tab), the driver answers the
// consent dialog and saves the downloads.
//
//   node page_receive.mjs URL --out DIR [--decline] [--name NAME] [--timeout S]
//                         [--count N] [--ready-file F] [--profile DIR] [-v]
//
// The driver opens URL, optionally renames the tab (--name), waits until
// the device announces it (body data-attached="yes"), then writes
// {"id": TAB_ID, "name": ANNOUNCED_NAME} to --ready-file F (written to
// F.tmp and renamed: a shell loop may poll for F) so a test can start the
// sender. It waits for the consent dialog, clicks Accept (Decline with
// --decline), saves every download into DIR under its suggested name, and
// ends when N downloads (--count, default 1) arrived, or the page's
// data-receive says done, declined or error and no download is pending;
// then, bounded, until the page says the transfer ended (its receipt sent)
// and 1.5 s more for that last message to leave before Chromium closes.
// Progress goes to stderr; one JSON line to stdout:
//   {"ok", "id", "name", "state", "files": [{name, size}], "asked": "dialog text",
//    "asked_key": the key element of the dialog ("1a2b 3c4d"), "asked_name": its
//    claimed-name element (null when the page has none),
//    "code": "123 456" (the verification code in the dialog; null when none),
//    "dtls_certificates": true when the browser has RTCDtlsTransport.getRemoteCertificates(),
//    "status", "page_errors", "ms": {...}, "error"}
// Exit 0 when N files were saved (with --decline: when the page says
// declined and nothing was saved); 1 otherwise or on timeout (--timeout,
// default 60 s, for the whole run); 2 on usage errors; 130/143 on signals.
// Chromium runs with CHROMIUM_ARGS (mDNS hiding of local IPs stays ON) and
// a fresh profile, removed at the end (--profile DIR: kept).

import fs from 'node:fs';
import path from 'node:path';
import { DriverError, closeChromium, collectPageErrors, drive, launchChromium, loadPage, makeDeadline } from './chromium.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`page_receive.mjs: ${msg}\n`);
  process.stderr.write('usage: node page_receive.mjs URL --out DIR [--decline] [--name NAME] [--timeout S] ' +
    '[--count N] [--ready-file F] [--profile DIR] [-v]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, out: null, decline: false, name: null, timeout: 60, count: 1, ready: null, profile: null, verbose: false };
  const want = (a, v) => { if (v === undefined || v === '') usage(`${a} wants a value`); return v; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = want(a, argv[++i]);
    else if (a === '--decline') o.decline = true;
    else if (a === '--name') o.name = want(a, argv[++i]);
    else if (a === '--ready-file') o.ready = want(a, argv[++i]);
    else if (a === '--profile') o.profile = want(a, argv[++i]);
    else if (a === '--timeout' || a === '--count') {
      const v = want(a, argv[++i]);
      if (!/^\d+(\.\d+)?$/.test(v)) usage(`${a} wants a number`);
      o[a.slice(2)] = Number(v);
    } else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.url === null) o.url = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.url) usage('URL missing');
  if (!o.out) usage('--out DIR missing');
  if (o.timeout < 1 || o.timeout > 86400) usage('--timeout must be in 1..86400');
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 10000) usage('--count must be an integer in 1..10000');
  try {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') usage('URL must be http:// or https://');
  } catch { usage(`bad URL ${o.url}`); }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => console.error('page_receive.mjs:', ...a);
const vlog = (...a) => { if (opts.verbose) log(...a); };
const t0 = performance.now();
const ms = (a, b) => Math.round(b - a);
const summary = { driver: 'page_receive', url: opts.url, ok: false, files: [] };

const chrome = {};  // { browser, userDataDir }: launchChromium fills it in

// Launches Chromium and returns a page whose downloads are accepted.
async function launch(left) {
  const { browser } = await launchChromium({ left, profile: opts.profile, context: { acceptDownloads: true }, into: chrome });
  if (opts.profile) return browser.pages()[0] || browser.newPage();
  const context = await browser.newContext({ acceptDownloads: true });
  return context.newPage();
}

// A name for a download inside DIR: the suggested one, never a path, never replacing.
function saveName(suggested, taken) {
  let base = path.basename(String(suggested || 'download')).replace(/^\.+/, '') || 'download';
  let name = base;
  for (let n = 2; taken.has(name) || fs.existsSync(path.join(opts.out, name)); n++) name = `${base} (${n})`;
  taken.add(name);
  return name;
}

async function run() {
  const left = makeDeadline(opts.timeout, t0);
  fs.mkdirSync(opts.out, { recursive: true });
  const page = await launch(left);
  summary.chromium = chrome.browser.version ? chrome.browser.version() : null;
  const pageErrors = [];
  collectPageErrors(page, pageErrors, { log: vlog });
  summary.page_errors = pageErrors;

  // Every download is saved as it comes; `saving` holds the pending saves.
  const taken = new Set();
  const saving = [];
  page.on('download', (d) => {
    const name = saveName(d.suggestedFilename(), taken);
    const dest = path.join(opts.out, name);
    saving.push(d.saveAs(dest).then(() => {
      const size = fs.statSync(dest).size;
      summary.files.push({ name, size });
      log(`saved ${name} (${size} bytes)`);
    }).catch((e) => { pageErrors.push(`download ${name}: ${e.message}`); }));
  });

  // The name is in place before the page starts, so the tab is never
  // announced under the default one first (the page keeps it in localStorage).
  if (opts.name !== null) await page.addInitScript((n) => { try { localStorage.setItem('idrop.name', n); } catch { /* */ } }, opts.name);
  const tLaunch = performance.now();
  await loadPage(page, opts.url, left);
  // Whether the page can show the key of the certificate the browser verified
  // (web/page/common.js, dtlsRemoteFingerprint) rather than one read from SDP.
  summary.dtls_certificates = await page.evaluate(() => typeof RTCDtlsTransport !== 'undefined' &&
    typeof RTCDtlsTransport.prototype.getRemoteCertificates === 'function');
  try {
    await page.waitForFunction(() => document.body.dataset.attached === 'yes', null, { timeout: left(), polling: 100 });
  } catch (e) {
    const why = await page.evaluate(() => document.getElementById('visible').textContent).catch(() => '?');
    throw new DriverError(`the tab never attached to the device: ${why}`);
  }
  const me = await page.evaluate(() => ({
    id: document.body.dataset.tabId,
    name: (document.getElementById('visible').textContent.match(/“(.*)”/) || [])[1] || null,
  }));
  Object.assign(summary, me);
  const tAttached = performance.now();
  log(`attached as "${me.name}" (tab ${me.id})`);
  if (opts.ready) {
    fs.writeFileSync(`${opts.ready}.tmp`, JSON.stringify({ id: me.id, name: me.name }) + '\n');
    fs.renameSync(`${opts.ready}.tmp`, opts.ready);
  }

  // -- the consent dialog
  try {
    await page.waitForSelector('#consent[open]', { timeout: left() });
  } catch (e) {
    throw new DriverError('no offer came (the consent dialog never opened)');
  }
  Object.assign(summary, await page.evaluate(() => ({
    asked: document.getElementById('consent-text').textContent,
    asked_key: (document.getElementById('consent-key') || {}).textContent ?? null,
    asked_name: (document.getElementById('consent-name') || {}).textContent ?? null,
    code: document.getElementById('consent').dataset.code || null,
  })));
  log(`asked: ${summary.asked}`);
  const tAsked = performance.now();
  await page.click(opts.decline ? '#consent-decline' : '#consent-accept', { timeout: left() });

  // -- until N downloads or a final state
  const end = await page.waitForFunction(
    ({ n }) => {
      const s = document.body.dataset.receive;
      const saved = document.querySelectorAll('#incoming a.save').length;
      return (saved >= n || ['done', 'declined', 'error'].includes(s)) ? { s, saved } : null;
    },
    { n: opts.count }, { timeout: left(), polling: 100 },
  ).then((h) => h.jsonValue()).catch(() => null);
  // The download events may trail the page's state a little.
  const grace = performance.now() + 5000;
  while (end && saving.length < end.saved && performance.now() < grace) await new Promise((r) => setTimeout(r, 100));
  await Promise.all(saving);
  const tEnd = performance.now();
  // The last download can come before the page has sent its receipt (the
  // sender's proof that every file was verified): let the transfer end in
  // the page, and the receipt leave, before Chromium is closed.
  if (end && !['done', 'declined', 'error'].includes(end.s)) {
    await page.waitForFunction(() => ['done', 'declined', 'error'].includes(document.body.dataset.receive),
      null, { timeout: Math.min(left(), 15000), polling: 100 }).catch(() => {});
  }
  await new Promise((r) => setTimeout(r, Math.min(1500, left())));
  const out = await page.evaluate(() => ({
    state: document.body.dataset.receive,
    status: Array.from(document.querySelectorAll('#incoming .status'), (p) => p.textContent).join(' | '),
  }));
  summary.state = out.state;
  summary.status = out.status;
  summary.ms = { load: ms(tLaunch, tAttached), ask: ms(tAttached, tAsked), receive: ms(tAsked, tEnd), total: ms(t0, tEnd) };
  const bytes = summary.files.reduce((a, f) => a + f.size, 0);
  if (bytes && summary.ms.receive > 0) summary.MBps = Math.round(bytes / (summary.ms.receive / 1000) / 1e4) / 100;
  if (!end) throw new DriverError(`timed out after ${opts.timeout} s in state '${out.state}': ${out.status}`);
  if (opts.decline) {
    if (out.state !== 'declined') throw new DriverError(`declined, but the page says ${out.state}: ${out.status}`);
    if (summary.files.length) throw new DriverError(`declined, yet ${summary.files.length} file(s) were downloaded`);
    return;
  }
  if (summary.files.length < opts.count)
    throw new DriverError(`${summary.files.length} of ${opts.count} file(s) saved; the page says ${out.state}: ${out.status}`);
}

drive({
  name: 'page_receive.mjs', summary, timeoutS: opts.timeout, slackMs: 10000, run,
  close: () => closeChromium(chrome.browser, chrome.userDataDir),
});
