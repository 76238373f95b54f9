// ui.js -- what the send and the receive side of the page both show: sizes,
// durations, and a file row with a progress bar, speed and time left.
// Text only: names from the network go in with textContent, never as markup.

export function fmtBytes(n) {
  if (n < 1000) return `${n} B`;
  const u = ['kB', 'MB', 'GB', 'TB'];
  let i = -1;
  do { n /= 1000; i++; } while (n >= 1000 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${u[i]}`;
}

export function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

// Fills el with "before", the verification code in bold, and "after"; an
// empty code empties and hides el.
export function showCode(el, code, before, after) {
  if (!code) {
    el.replaceChildren();
    el.hidden = true;
    return;
  }
  const digits = document.createElement('strong');
  digits.className = 'sas-digits';
  digits.textContent = code;
  el.replaceChildren(before, digits, after);
  el.hidden = false;
}

export const STATUS_TEXT = {
  queued: 'queued', sending: 'sending', receiving: 'receiving', checking: 'checking…', verified: 'received ✓',
  failed: 'failed', skipped: 'skipped', cancelled: 'cancelled', unsent: 'not sent', offered: 'offered',
};

// One file in a list: <li data-status> with name, badge, progress bar, detail line.
export class FileRow {
  constructor(list, name, size) {
    this.size = size;
    this.samples = [];
    this.li = document.createElement('li');
    this.li.dataset.status = 'queued';
    const top = document.createElement('div');
    top.className = 'top';
    this.name = document.createElement('span');
    this.name.className = 'name';
    this.name.textContent = name;
    this.badge = document.createElement('span');
    this.badge.className = 'badge';
    this.badge.textContent = fmtBytes(size);
    top.append(this.name, this.badge);
    this.bar = document.createElement('progress');
    this.bar.max = Math.max(1, size);
    this.bar.value = 0;
    this.bar.setAttribute('aria-label', `Progress of ${name}`);
    this.detail = document.createElement('div');
    this.detail.className = 'detail';
    this.li.append(top, this.bar, this.detail);
    list.append(this.li);
  }

  get status() { return this.li.dataset.status; }

  setStatus(status, reason) {
    this.li.dataset.status = status;
    this.badge.textContent = STATUS_TEXT[status] || status;
    if (status === 'verified') { this.bar.value = this.bar.max; this.detail.textContent = `${fmtBytes(this.size)} · verified`; }
    if (reason) this.detail.textContent = reason;
  }

  // done bytes of size so far (offset: bytes held before this run, a resume).
  progress(done, offset = 0) {
    const now = performance.now();
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const speed = now - t0 > 200 ? (done - b0) / ((now - t0) / 1000) : 0;
    this.bar.value = done;
    const pct = this.size ? Math.floor((done / this.size) * 100) : 100;
    const parts = [`${fmtBytes(done)} of ${fmtBytes(this.size)}`, `${pct}%`];
    if (speed > 0) {
      parts.push(`${(speed / 1e6).toFixed(1)} MB/s`);
      if (done < this.size) parts.push(`${fmtDuration((this.size - done) / speed)} left`);
    }
    if (offset) parts.push(`resumed at ${fmtBytes(offset)}`);
    this.detail.textContent = parts.join(' · ');
  }

  // Bytes that count as done, for an overall line.
  get done() { return this.status === 'verified' ? this.size : Math.min(this.size, this.bar.value); }
}
