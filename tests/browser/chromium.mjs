// tests/browser/chromium.mjs -- how every browser driver here starts Debian's
// Chromium: the binary and the exact flags (headless, no sandbox as root, no
// background traffic off the test LAN). Chromium's mDNS hiding of local IPs
// is left ON on purpose: real users' browsers hide them too.
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
