// tests/browser/chromium.mjs -- how every browser driver here starts Debian's
// Chromium: the binary and the exact flags (headless, no sandbox as root, no
// background traffic off the test LAN). Chromium's mDNS hiding of local IPs
// is left ON on purpose: real users' browsers hide them too. Also the run
// loop every driver shares (timeouts, signals, one JSON line, exit codes).
import fs from 'node:fs';

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
// always awaited, then one JSON line (summary, with ok and error) on stdout,
// the error on stderr as "NAME: error: ...", and the exit code.
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
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (rc !== 0) process.stderr.write(`${name}: error: ${summary.error}\n`);
  process.exitCode = rc;
  // Nothing should keep us alive now; make sure nothing does.
  setTimeout(() => process.exit(rc), 1000).unref();
}
