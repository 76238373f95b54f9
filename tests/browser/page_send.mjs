#!/usr/bin/env node
// tests/browser/page_send.mjs -- headless Chromium uses a device's own web
// page (web/page/*, served by `idrop-lan serve`) to send files, as a person
// with a browser would.
//
//   node page_send.mjs URL FILE... [--timeout S] [--name NAME] [--profile DIR]
//                      [--screenshots DIR] [--target NAME] [-v]
// --target NAME: send to the device or browser listed under NAME in the
// page's targets (it may take a few seconds to appear: discovery), instead
// of the device that serves the page.
// --screenshots DIR: page-desktop.png (1280 wide) and page-phone.png (390
// wide) of the page with the files chosen, before sending.
//
// URL is the device's page (http://10.77.0.2:7757/). Debian's /usr/bin/chromium
// is driven by playwright-core (npm) with exactly the flags in CHROMIUM_ARGS
// plus a fresh --user-data-dir and Playwright's --remote-debugging-pipe, as
// in peer.mjs. Chromium's default mDNS hiding of local IPs stays ON.
//
// The driver opens URL, waits until the page shows the device (body
// data-device="ready"), puts FILE... on the page's file input, clicks Send,
// and waits (bounded by --timeout, default 60 s) for body data-state to be
// done, declined or error. It prints one JSON line: the page's #result
// ({"ok", "files": [{name, size, status}], "reason", ...}) plus what the
// driver saw (state, status text, "code": the verification code the page
// showed (body data-code; null when the receiver shows none), page errors,
// CSP violations, timings).
// Exit 0 only when the page says ok; 1 otherwise or on timeout; 2 on usage
// errors. Chromium is always closed and its profile removed, also on
// SIGINT/SIGTERM. --profile DIR uses (and keeps) DIR as Chromium's profile
// instead: the page's identity (IndexedDB) survives, so a second run resumes
// what a cancelled first run left.

import fs from 'node:fs';
import path from 'node:path';
import { DriverError, closeChromium, collectPageErrors, drive, launchChromium, loadPage, makeDeadline } from './chromium.mjs';


function usage(msg) {
  if (msg) process.stderr.write(`page_send.mjs: ${msg}\n`);
  process.stderr.write('usage: node page_send.mjs URL FILE... [--timeout S] [--name NAME] [--profile DIR] [--screenshots DIR] [--target NAME] [-v]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, files: [], timeout: 60, name: null, profile: null, shots: null, target: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--timeout') {
      const v = argv[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) usage('--timeout wants a number of seconds');
      o.timeout = Number(v);
      if (o.timeout < 1 || o.timeout > 86400) usage('--timeout must be in 1..86400');
    } else if (a === '--name') {
      o.name = argv[++i];
      if (!o.name) usage('--name wants a name');
    } else if (a === '--screenshots') {
      o.shots = argv[++i];
      if (!o.shots) usage('--screenshots wants a directory');
    } else if (a === '--target') {
      o.target = argv[++i];
      if (!o.target) usage('--target wants a name as the page lists it');
    } else if (a === '--profile') {
      o.profile = argv[++i];
      if (!o.profile) usage('--profile wants a directory');
    } else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a === '--') { o.files.push(...argv.slice(i + 1)); break; }
    else if (a.startsWith('-') && a.length > 1) usage(`unknown option ${a}`);
    else if (o.url === null) o.url = a;
    else o.files.push(a);
  }
  if (!o.url) usage('URL missing');
  if (o.files.length === 0) usage('no FILE given');
  let u;
  try { u = new URL(o.url); } catch { usage(`bad URL ${o.url}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') usage('URL must be http:// or https://');
  for (const f of o.files) {
    let st;
    try { st = fs.statSync(f); } catch (e) { usage(`${f}: ${e.code || e.message}`); }
    if (!st.isFile()) usage(`${f}: not a regular file`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const vlog = (...a) => { if (opts.verbose) console.error('page_send.mjs:', ...a); };
const t0 = performance.now();
const ms = (a, b) => Math.round(b - a);
const summary = { driver: 'page_send', url: opts.url, ok: false };


const chrome = {};  // { browser, userDataDir }: launchChromium fills it in

async function run() {
  const left = makeDeadline(opts.timeout, t0);
  // With --profile, the browser's default context: its storage (the page's identity) is kept in DIR.
  const { browser } = await launchChromium({ left, profile: opts.profile, into: chrome });
  let page;
  if (opts.profile) {
    summary.chromium = browser.browser() ? browser.browser().version() : null;
    page = browser.pages()[0] || await browser.newPage();
  } else {
    summary.chromium = browser.version();
    page = await browser.newPage();
  }
  const pageErrors = [];
  collectPageErrors(page, pageErrors, { log: vlog, requests: true });
  summary.page_errors = pageErrors;
  const tLaunch = performance.now();

  // -- load the page and wait for the device's info
  const resp = await loadPage(page, opts.url, left);
  summary.csp = resp.headers()['content-security-policy'] || null;
  try {
    await page.waitForFunction(() => document.body && document.body.dataset.device, null, { timeout: left() });
  } catch (e) {
    throw new DriverError(`the page never showed the device (${pageErrors.join('; ') || 'no page errors'})`);
  }
  const device = await page.evaluate(() => ({
    ready: document.body.dataset.device,
    name: document.getElementById('device-name').textContent,
    fingerprint: document.getElementById('device-fp').textContent,
    me: document.getElementById('my-fp').textContent,
    status: document.getElementById('status').textContent,
  }));
  Object.assign(summary, { device: device.name, device_fp: device.fingerprint, browser_fp: device.me });
  if (device.ready !== 'ready') throw new DriverError(`the page could not reach the device: ${device.status}`);
  const tReady = performance.now();
  vlog('device', device);

  // -- choose the files and send
  if (opts.name !== null) await page.fill('#my-name', opts.name);
  await page.setInputFiles('#files', opts.files, { timeout: left() });
  if (opts.shots) {
    // The page as people see it, files chosen: desktop and phone width.
    fs.mkdirSync(opts.shots, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: path.join(opts.shots, 'page-desktop.png'), fullPage: true });
    // A phone's width, and tall enough for the whole page: with a vertical
    // scrollbar the capture came out 15 px narrower than the layout,
    // cutting the right edge off.
    await page.setViewportSize({ width: 390, height: 844 });
    const tall = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 390, height: Math.max(844, tall) });
    await page.screenshot({ path: path.join(opts.shots, 'page-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    summary.screenshots = opts.shots;
  }
  if (opts.target !== null) {
    // The target list is rebuilt from /api/devices every few seconds.
    const pick = () => page.evaluate((name) => {
      for (const l of document.querySelectorAll('#targets label')) {
        const n = l.querySelector('.target-name');
        const i = l.querySelector('input');
        if (n && i && n.textContent === name) { i.click(); return i.checked ? i.value : null; }
      }
      return null;
    }, opts.target);
    try {
      await page.waitForFunction((name) => Array.from(document.querySelectorAll('#targets .target-name'))
        .some((n) => n.textContent === name), opts.target, { timeout: left(), polling: 200 });
    } catch (e) {
      throw new DriverError(`the page never listed the target ${JSON.stringify(opts.target)}`);
    }
    summary.target = await pick();
    if (!summary.target) throw new DriverError(`cannot pick the target ${JSON.stringify(opts.target)}`);
    vlog('target', summary.target);
  }
  await page.waitForFunction(() => !document.getElementById('send').disabled, null, { timeout: left() });
  await page.click('#send', { timeout: left() });
  const tClick = performance.now();

  let timedOut = false;
  try {
    await page.waitForFunction(
      () => ['done', 'declined', 'error'].includes(document.body.dataset.state),
      null, { timeout: left(), polling: 100 });
  } catch (e) {
    timedOut = true;
  }
  const tEnd = performance.now();
  const out = await page.evaluate(() => {
    const r = document.getElementById('result').textContent;
    return {
      state: document.body.dataset.state,
      status: document.getElementById('status').textContent,
      code: document.body.dataset.code || null,
      result: r,
      rows: Array.from(document.querySelectorAll('#list li'), (li) => `${li.dataset.status}: ${li.querySelector('.detail').textContent}`),
    };
  });
  summary.state = out.state;
  summary.status = out.status;
  summary.code = out.code;
  // The page's list of nearby devices (refreshed every 5 s from /api/devices).
  summary.nearby = await page.evaluate(
    () => [...document.querySelectorAll('#nearby a')].map((a) => a.textContent)).catch(() => []);
  if (opts.verbose) summary.rows = out.rows;
  summary.ms = { launch: ms(t0, tLaunch), load: ms(tLaunch, tReady), send: ms(tClick, tEnd), total: ms(t0, tEnd) };
  if (timedOut) {
    // Press the page's Cancel so the device hears about it, then give up.
    await page.click('#cancel', { timeout: 1000 }).catch(() => {});
    await page.waitForFunction(() => ['done', 'declined', 'error'].includes(document.body.dataset.state),
      null, { timeout: 5000 }).catch(() => {});
    throw new DriverError(`timed out after ${opts.timeout} s in state '${out.state}': ${out.status}`);
  }
  let result;
  try { result = JSON.parse(out.result); } catch (e) {
    throw new DriverError(`state '${out.state}' but no JSON in #result: ${out.status}`);
  }
  summary.result = result;
  summary.reason = result.reason;
  summary.files = result.files;
  const total = opts.files.reduce((a, f) => a + fs.statSync(f).size, 0);
  if (result.ok && summary.ms.send > 0) summary.MBps = Math.round(total / (summary.ms.send / 1000) / 1e4) / 100;
  if (!result.ok) throw new DriverError(`page says ${out.state}: ${result.reason}`);
  if (out.state !== 'done') throw new DriverError(`page says ok but its state is ${out.state}`);
  const shown = result.files.map((f) => f.name).join('\n');
  const want = opts.files.map((f) => path.basename(f)).join('\n');
  if (shown !== want) throw new DriverError(`page sent ${JSON.stringify(shown)}, wanted ${JSON.stringify(want)}`);
  if (!result.files.every((f) => f.status === 'verified')) throw new DriverError('page says ok but not every file is verified');
}

// The backstop is generous: run() bounds each step itself.
drive({
  name: 'page_send.mjs', summary, timeoutS: opts.timeout, slackMs: 10000, run,
  close: () => closeChromium(chrome.browser, chrome.userDataDir),
});
