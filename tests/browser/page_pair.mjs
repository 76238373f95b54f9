#!/usr/bin/env node
// tests/browser/page_pair.mjs -- two browser tabs on one device's page send
// a file to each other, as two people with browsers would: browser to
// browser, with the device relaying only the signalling.
//
//   node page_pair.mjs URL FILE --out DIR [--timeout S] [-v]
//
// One Chromium (CHROMIUM_ARGS: mDNS hiding of local IPs stays ON), two
// browser contexts, so two distinct identities (IndexedDB) and names ("Tab A
// <rand>", "Tab B <rand>"). Both open URL and attach (body
// data-attached="yes"). Tab A waits until tab B shows up in its list of
// targets (the device announces B by DNS-SD and lists it in /api/devices: a
// few seconds; A never lists itself), picks it, and sends FILE; tab B accepts in its consent
// dialog; B's download is saved to DIR under its suggested name. Ends when
// A's data-state is done, declined or error and B's download is saved.
// One JSON line on stdout:
//   {"ok", "a": {id, name}, "b": {id, name}, "file", "size", "saved": {name, size},
//    "sender": A's #result, "asked": B's dialog text, "ms": {attach, discover, send, total}, "MBps"}
// Exit 0 when A says every file was verified and B saved a file of FILE's
// size; 1 otherwise or on timeout (--timeout, default 90 s); 2 on usage errors.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DriverError, closeChromium, collectPageErrors, drive, launchChromium, loadPage, makeDeadline } from './chromium.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`page_pair.mjs: ${msg}\n`);
  process.stderr.write('usage: node page_pair.mjs URL FILE --out DIR [--timeout S] [-v]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, file: null, out: null, timeout: 90, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = argv[++i];
    else if (a === '--timeout') {
      const v = argv[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) usage('--timeout wants a number of seconds');
      o.timeout = Number(v);
    } else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.url === null) o.url = a;
    else if (o.file === null) o.file = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.url || !o.file) usage('URL and FILE are needed');
  if (!o.out) usage('--out DIR missing');
  if (o.timeout < 1 || o.timeout > 86400) usage('--timeout must be in 1..86400');
  let st;
  try { st = fs.statSync(o.file); } catch (e) { usage(`${o.file}: ${e.code || e.message}`); }
  if (!st.isFile()) usage(`${o.file}: not a regular file`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => console.error('page_pair.mjs:', ...a);
const t0 = performance.now();
const ms = (a, b) => Math.round(b - a);
const summary = { driver: 'page_pair', url: opts.url, ok: false, file: path.basename(opts.file), size: fs.statSync(opts.file).size };

const chrome = {};  // { browser, userDataDir }: launchChromium fills it in

async function run() {
  const left = makeDeadline(opts.timeout, t0);
  const { browser } = await launchChromium({ left, into: chrome });
  fs.mkdirSync(opts.out, { recursive: true });
  summary.chromium = browser.version();
  const rand = crypto.randomBytes(2).toString('hex');
  const errors = [];
  summary.page_errors = errors;

  // One tab per context: its own storage, so its own certificate.
  const open = async (label) => {
    const ctx = await browser.newContext({ acceptDownloads: true });
    const page = await ctx.newPage();
    const name = `Tab ${label} ${rand}`;
    collectPageErrors(page, errors, { label, log: opts.verbose ? log : null });
    await page.addInitScript((n) => { try { localStorage.setItem('idrop.name', n); } catch { /* */ } }, name);
    await loadPage(page, opts.url, left, label);
    return { page, name };
  };
  const attached = async (label, tab) => {
    await tab.page.waitForFunction(() => document.body.dataset.attached === 'yes', null, { timeout: left(), polling: 100 })
      .catch(async () => {
        const why = await tab.page.evaluate(() => document.getElementById('visible').textContent).catch(() => '?');
        throw new DriverError(`${label} never attached: ${why}`);
      });
    return tab.page.evaluate(() => ({ id: document.body.dataset.tabId, name: (document.getElementById('visible').textContent.match(/“(.*)”/) || [])[1] }));
  };
  const A = await open('A');
  const B = await open('B');
  const tLoaded = performance.now();
  summary.a = await attached('A', A);
  summary.b = await attached('B', B);
  const tAttached = performance.now();
  log(`A is "${summary.a.name}" (${summary.a.id}), B is "${summary.b.name}" (${summary.b.id})`);

  // -- A finds B among its targets (radio values are b:DEVICE:TAB)
  const radio = `#targets input[value$=":${summary.b.id}"]`;
  await A.page.waitForSelector(radio, { timeout: left() }).catch(async () => {
    const seen = await A.page.evaluate(() => Array.from(document.querySelectorAll('#targets label'), (l) => l.textContent)).catch(() => []);
    throw new DriverError(`B never appeared among A's targets (A sees: ${JSON.stringify(seen)})`);
  });
  const tFound = performance.now();
  log('A sees B among its targets');
  // A tab never offers to send to itself.
  summary.a_targets = await A.page.evaluate(() => Array.from(document.querySelectorAll('#targets input'), (i) => i.value));
  if (summary.a_targets.some((v) => v.endsWith(`:${summary.a.id}`))) throw new DriverError('A lists itself among its targets');
  await A.page.check(radio, { timeout: left() });
  await A.page.setInputFiles('#files', opts.file, { timeout: left() });
  await A.page.waitForFunction(() => !document.getElementById('send').disabled, null, { timeout: left() });

  // -- A sends, B accepts and saves
  const download = B.page.waitForEvent('download', { timeout: left() });
  download.catch(() => {});
  await A.page.click('#send', { timeout: left() });
  const tSend = performance.now();
  await B.page.waitForSelector('#consent[open]', { timeout: left() })
    .catch(() => { throw new DriverError("B's consent dialog never opened"); });
  summary.asked = await B.page.evaluate(() => document.getElementById('consent-text').textContent);
  log(`B asked: ${summary.asked}`);
  await B.page.click('#consent-accept', { timeout: left() });
  const d = await download.catch(() => { throw new DriverError('B never downloaded the file'); });
  const dest = path.join(opts.out, path.basename(d.suggestedFilename() || 'download'));
  await d.saveAs(dest);
  summary.saved = { name: path.basename(dest), size: fs.statSync(dest).size };
  await A.page.waitForFunction(() => ['done', 'declined', 'error'].includes(document.body.dataset.state),
    null, { timeout: left(), polling: 100 }).catch(() => { throw new DriverError("A's send never ended"); });
  const tEnd = performance.now();
  const res = await A.page.evaluate(() => document.getElementById('result').textContent);
  try { summary.sender = JSON.parse(res); } catch { summary.sender = res; }
  summary.receive_state = await B.page.evaluate(() => document.body.dataset.receive);
  summary.ms = { load: ms(t0, tLoaded), attach: ms(tLoaded, tAttached), discover: ms(tAttached, tFound), send: ms(tSend, tEnd), total: ms(t0, tEnd) };
  if (summary.ms.send > 0) summary.MBps = Math.round(summary.size / (summary.ms.send / 1000) / 1e4) / 100;
  if (!summary.sender || !summary.sender.ok) throw new DriverError(`A says: ${summary.sender && summary.sender.reason}`);
  if (summary.saved.size !== summary.size) throw new DriverError(`B saved ${summary.saved.size} bytes of ${summary.size}`);
}

drive({
  name: 'page_pair.mjs', summary, timeoutS: opts.timeout, slackMs: 10000, run,
  close: () => closeChromium(chrome.browser, chrome.userDataDir),
});
