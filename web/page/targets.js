// targets.js -- where the page can send: this device (the default), the
// other devices and the browser tabs this device sees by DNS-SD (GET
// /api/devices, polled; a browser cannot browse mDNS itself). Renders the
// radio list of targets and the "Nearby devices" links.
//
// A target is { key, label, noun: 'device' | 'browser', offerUrl, fingerprint }:
// Sender POSTs its offer to offerUrl and refuses an answer whose certificate
// is not `fingerprint` (the one the target is listed with).
//   device, this one:     /api/offer                        (same origin)
//   device, another:      http://ADDRESS:PORT/api/offer      (CORS)
//   browser on this one:  /api/offer?to=TAB
//   browser elsewhere:    http://ADDRESS:PORT/api/offer?to=TAB

import { normalizeFingerprint, shortFingerprint } from './common.js';

const POLL_MS = 5000;
const TAB_RE = /^[0-9a-f]{16}$/i;

// host:port for a URL, preferring IPv4; null when only a scoped IPv6
// address (fe80::1%eth0) is known, which no browser takes in a URL.
export function hostPort(entry) {
  const all = [...(Array.isArray(entry.addresses) ? entry.addresses : []), entry.address]
    .filter((a) => typeof a === 'string' && a);
  const v4 = all.find((a) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a));
  const v6 = all.find((a) => a.includes(':') && !a.includes('%'));
  const port = Number(entry.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (v4) return `${v4}:${port}`;
  if (v6) return `[${v6}]:${port}`;
  return null;
}

// The entries of /api/devices we can use, checked field by field (README.md
// "JSON of a device": display_name is the name to show; name is the DNS-SD
// instance, "laptop #2" after a rename).
function usable(list) {
  return list.filter((d) => d && typeof d.display_name === 'string' && d.display_name && normalizeFingerprint(d.fingerprint) &&
    (d.kind === 'device' || (d.kind === 'browser' && typeof d.tab === 'string' && TAB_RE.test(d.tab))));
}

export class Targets {
  // container: the radio group; nearby: the <ul> of links; onChange(target) on a pick.
  constructor({ container, nearby, onChange = () => {} }) {
    this.container = container;
    this.nearby = nearby;
    this.onChange = onChange;
    this.info = null;       // /api/info of this device
    this.myTab = null;      // this tab's id once attached
    this.list = [];         // targets, this device first
    this.selectedKey = 'self';
    this.shown = '';        // what is rendered, to re-render only on change
    this.disabled = false;
  }

  setInfo(info) { this.info = info; this._build(this.lastDevices || []); }
  setMyTab(id) { this.myTab = id; this._build(this.lastDevices || []); }

  start() {
    this.poll();
    setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    let list;
    try {
      const r = await fetch('/api/devices', { cache: 'no-store' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const body = await r.json();
      list = Array.isArray(body.devices) ? body.devices : [];
    } catch (e) {
      return;  // keep what is shown; the next poll may work
    }
    this.lastDevices = usable(list);
    this._build(this.lastDevices);
    this._renderNearby(this.lastDevices);
  }

  selected() {
    return this.list.find((t) => t.key === this.selectedKey) || this.list[0] || null;
  }

  setDisabled(on) {
    this.disabled = on;
    for (const i of this.container.querySelectorAll('input')) i.disabled = on;
  }

  // ---------------------------------------------------------------- building

  // Is a browser entry attached to this device? /api/devices says which
  // device by name; the address and port say it too.
  _onThisDevice(b, self) {
    const info = this.info || {};
    if (b.device && (b.device === info.name || (self && b.device === self.display_name))) return true;
    // location.hostname keeps an IPv6 address's brackets, as hostPort() writes it.
    const here = `${location.hostname}:${location.port || 80}`;
    const hp = hostPort(b);
    return !!hp && (hp === here || (!!self && hp === hostPort(self)));
  }

  _build(devices) {
    const info = this.info;
    const self = devices.find((d) => d.kind === 'device' && d.this_device);
    const out = [];
    if (info) {
      out.push({ key: 'self', label: info.name, sub: 'this device', noun: 'device', offerUrl: '/api/offer',
        fingerprint: normalizeFingerprint(info.fingerprint) });
    }
    const byName = (a, b) => a.display_name.localeCompare(b.display_name);
    for (const d of devices.filter((x) => x.kind === 'device' && !x.this_device).sort(byName)) {
      const hp = hostPort(d);
      if (!hp) continue;
      out.push({ key: `d:${normalizeFingerprint(d.fingerprint)}`, label: d.display_name, sub: 'device', noun: 'device',
        offerUrl: `http://${hp}/api/offer`, fingerprint: normalizeFingerprint(d.fingerprint) });
    }
    for (const b of devices.filter((x) => x.kind === 'browser').sort(byName)) {
      const local = this._onThisDevice(b, self);
      const tab = b.tab.toLowerCase();
      if (local && tab === this.myTab) continue;  // ourselves
      const hp = hostPort(b);
      if (!local && !hp) continue;
      out.push({ key: `b:${b.device || hp}:${tab}`, label: b.display_name,
        sub: b.device ? `browser on ${b.device}` : 'browser', noun: 'browser',
        offerUrl: `${local ? '' : `http://${hp}`}/api/offer?to=${tab}`, fingerprint: normalizeFingerprint(b.fingerprint) });
    }
    this.list = out;
    this._render();
  }

  // ---------------------------------------------------------------- rendering

  _render() {
    const sig = JSON.stringify(this.list.map((t) => [t.key, t.label, t.sub, t.offerUrl]));
    if (!this.list.some((t) => t.key === this.selectedKey)) {
      // The chosen target left: back to this device, and say so.
      if (this.selectedKey !== 'self') {
        this.selectedKey = 'self';
        this.onChange(this.selected(), 'gone');
      }
    }
    if (sig === this.shown) return;
    this.shown = sig;
    const focused = document.activeElement && this.container.contains(document.activeElement)
      ? document.activeElement.value : null;
    this.container.replaceChildren();
    this.list.forEach((t, i) => {
      const label = document.createElement('label');
      label.className = 'target';
      label.dataset.kind = t.noun;
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'target';
      input.value = t.key;
      input.id = `target-${i}`;
      input.checked = t.key === this.selectedKey;
      input.disabled = this.disabled;
      input.addEventListener('change', () => {
        if (!input.checked) return;
        this.selectedKey = t.key;
        this.onChange(t, 'picked');
      });
      const name = document.createElement('span');
      name.className = 'target-name';
      name.textContent = t.label;
      const sub = document.createElement('span');
      sub.className = 'target-sub';
      sub.textContent = `${t.sub} · key ${shortFingerprint(t.fingerprint)}`;
      label.append(input, name, sub);
      this.container.append(label);
      if (focused === t.key) input.focus();
    });
  }

  // Other devices, each linking to its own page.
  _renderNearby(devices) {
    const ul = this.nearby;
    ul.replaceChildren();
    const others = devices.filter((d) => !d.this_device && d.kind === 'device').sort((a, b) => a.display_name.localeCompare(b.display_name));
    if (others.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'No other device seen yet.';
      ul.append(li);
      return;
    }
    for (const d of others) {
      const li = document.createElement('li');
      const hp = hostPort(d);
      const a = document.createElement(hp ? 'a' : 'span');
      if (hp) a.href = `http://${hp}/`;
      a.textContent = d.display_name;
      const fp = document.createElement('code');
      fp.textContent = ` ${shortFingerprint(d.fingerprint)}`;
      fp.title = `SHA-256 ${normalizeFingerprint(d.fingerprint)}`;
      li.append(a, fp);
      ul.append(li);
    }
  }
}
