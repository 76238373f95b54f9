// tests/browser/chromium.mjs -- how every browser driver here starts Debian's
// Chromium: the binary and the exact flags (headless, no sandbox as root, no
// background traffic off the test LAN). Chromium's mDNS hiding of local IPs
// is left ON on purpose: real users' browsers hide them too. Also what every
// driver shares: starting and closing it, its deadline, the page's errors,
// the run loop (timeouts, signals, one JSON line, exit codes).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.IDROP_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];


// What a driver throws for a failure it can explain (its message goes in
// the JSON as is; anything else is reported with its stack).
export class DriverError extends Error {}

// A numeric option's checker for a driver's parseArgs: num(name, v, min, max)
// is v as a number, or usage(message) (which exits 2) unless v is a plain
// decimal number in min..max.
export function numberOption(usage) {
  return (name, v, min, max) => {
    if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) usage(`${name} wants a number`);
    const n = Number(v);
    if (n < min || n > max) usage(`${name} must be in ${min}..${max}`);
    return n;
  };
}

// The deadline of a run of timeoutS seconds that began at t0
// (performance.now()): left() is the whole milliseconds left, or throws
// DriverError "timed out after S s" once there are none.
export function makeDeadline(timeoutS, t0) {
  const deadline = t0 + timeoutS * 1000;
  return () => {
    const l = deadline - performance.now();
    if (l <= 0) throw new DriverError(`timed out after ${timeoutS} s`);
    return Math.ceil(l);
  };
}

// Starts CHROMIUM with exactly CHROMIUM_ARGS, the profile's --user-data-dir
// and Playwright's --remote-debugging-pipe (Playwright's default flags and its
// signal handlers are off: drive() handles signals), allowing it left() ms,
// at least 1 s. The profile is a fresh temporary directory; with profile: DIR
// it is DIR (made if need be, and kept), and the browser is Playwright's
// persistent context (a BrowserContext; `context` holds its options, e.g.
// acceptDownloads). Fills in and returns `into`: { browser, userDataDir (the
// temporary profile; null with profile) }; userDataDir is set before
// Chromium starts, so closeChromium(into.browser, into.userDataDir) also
// cleans up after a launch that failed or was interrupted.
export async function launchChromium({ left, profile = null, context = {}, into = {} }) {
  if (!fs.existsSync(CHROMIUM)) throw new DriverError(`${CHROMIUM} not found (apt-get install chromium)`);
  into.browser = null;
  into.userDataDir = null;
  const options = {
    executablePath: CHROMIUM,
    // Our flags only: Playwright's defaults are switched off, but it needs its pipe.
    ignoreDefaultArgs: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: Math.max(1000, left()),
  };
  const args = (dir) => [...CHROMIUM_ARGS, `--user-data-dir=${dir}`, '--remote-debugging-pipe', 'about:blank'];
  if (profile) {
    fs.mkdirSync(profile, { recursive: true });
    into.browser = await chromium.launchPersistentContext(profile, { ...options, ...context, args: args(profile) });
  } else {
    into.userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idrop-chromium-'));
    into.browser = await chromium.launch({ ...options, args: args(into.userDataDir) });
  }
  return into;
}

// Collects what goes wrong in a page into `errors`: its uncaught exceptions
// ("MESSAGE"), its console errors ("console: TEXT") and, with requests: true,
// its failed requests ("request failed: METHOD URL WHY"). Every console
// message also goes to log(`page TYPE:`, TEXT) when log is given. With a
// label (one of several pages) the label stands for "page" and before the
// rest: "A: MESSAGE", "A console: TEXT", log(`A TYPE:`, TEXT).
export function collectPageErrors(page, errors, { label = null, log = null, requests = false } = {}) {
  page.on('pageerror', (e) => errors.push(label ? `${label}: ${e.message}` : `${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${label ? `${label} console` : 'console'}: ${m.text()}`);
    if (log) log(`${label || 'page'} ${m.type()}:`, m.text());
  });
  if (requests)
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText || ''}`));
}

// Loads url in page (until "load", allowing left() ms) and returns the
// response. A DriverError ("cannot load URL: WHY", "GET URL: HTTP STATUS";
// "LABEL: " before it with a label) unless it loaded with an HTTP 2xx.
export async function loadPage(page, url, left, label = null) {
  const pre = label ? `${label}: ` : '';
  let resp;
  try {
    resp = await page.goto(url, { waitUntil: 'load', timeout: left() });
  } catch (e) {
    throw new DriverError(`${pre}cannot load ${url}: ${e.message.split('\n')[0]}`);
  }
  if (!resp || !resp.ok()) throw new DriverError(`${pre}GET ${url}: HTTP ${resp ? resp.status() : 'no response'}`);
  return resp;
}

// Closes Chromium (bounded: close() kills it if it does not exit) and
// removes a temporary profile.
export async function closeChromium(browser, userDataDir) {
  if (browser)
    await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  if (userDataDir) {
    try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
}

// Runs a driver the way every one here runs: run() bounded by a backstop of
// timeoutS + slackMs, SIGINT/SIGTERM/SIGHUP end it (130/143/129), close() is
// always awaited, then one JSON line (summary, with ok and error; an empty
// page_errors list left out) on stdout, the error on stderr as
// "NAME: error: ...", and the exit code.
export async function drive({ name, summary, timeoutS, slackMs, run, close }) {
  let rc = 1;
  let timer;
  let stop = null;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { if (stop) stop(sig); });
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new DriverError(`timed out after ${timeoutS} s`)), timeoutS * 1000 + slackMs);
      }),
      new Promise((_, reject) => {
        stop = (sig) => {
          rc = sig === 'SIGINT' ? 130 : sig === 'SIGHUP' ? 129 : 143;
          reject(new DriverError(`interrupted by ${sig}`));
        };
      }),
    ]);
    summary.ok = true;
    rc = 0;
  } catch (e) {
    summary.error = e instanceof DriverError ? e.message : `${e.stack || e}`;
    if (rc === 0) rc = 1;
  } finally {
    clearTimeout(timer);
    await close();
  }
  if (Array.isArray(summary.page_errors) && summary.page_errors.length === 0) delete summary.page_errors;
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (rc !== 0) process.stderr.write(`${name}: error: ${summary.error}\n`);
  process.exitCode = rc;
  // Nothing should keep us alive now; make sure nothing does.
  setTimeout(() => process.exit(rc), 1000).unref();
}
