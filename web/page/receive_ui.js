// receive_ui.js -- the "Receive" half of the page: the consent dialog, one
// block per incoming transfer with a row per file, and the downloads.
// Attachment (attach.js) feeds it events; Receiver asks it for consent.
//
// Consent: one dialog on screen at a time; other offers wait their turn in
// a queue (their senders have no timer). A dialog declines by itself after
// 60 s on screen; Escape declines. A sender that leaves meanwhile takes its
// question away.
// Downloads: once a file is verified, a hidden <a download> is clicked for
// it (the browser's download starts; tests wait for that event) and a
// visible link stays in its row. Object URLs are revoked when the person
// clears the list or when old transfers drop off it (KEEP_TRANSFERS).
// For tests: document.body.dataset.receive is idle | asking | receiving |
// done | declined | error; the dialog's data-code is the verification code
// of the question on screen ("123 456"), empty when the sender shows none.

import { fmtBytes, FileRow, showCode } from './ui.js';

const ASK_TIMEOUT_S = 60;
const DIALOG_FILES = 5;          // files listed in the dialog; the rest are counted
const KEEP_TRANSFERS = 20;

export class ReceiveUI {
  constructor({ el, onCancel }) {
    this.el = el;                // { dialog, text, files, timer, accept, decline, status, list, clear }
    this.onCancel = onCancel;    // (conn) => void
    this.queue = [];             // questions waiting: { offer, signal, resolve }
    this.current = null;         // the question on screen
    this.conns = new Map();      // conn -> { state, block }
    this.blocks = [];            // transfer blocks shown, oldest first
    this.final = 'idle';
    el.accept.addEventListener('click', () => this._answer(true));
    el.decline.addEventListener('click', () => this._answer(false, 'declined by the person'));
    // Escape (the dialog's cancel event) declines.
    el.dialog.addEventListener('cancel', (e) => { e.preventDefault(); this._answer(false, 'declined by the person'); });
    // Closed some other way (a browser may force it on a second Escape): that is a no too.
    // (Our own close() also fires it, a task later: that one is skipped.)
    el.dialog.addEventListener('close', () => {
      if (this.closing) this.closing = false;
      else if (this.current) this._answer(false, 'declined by the person');
    });
    el.clear.addEventListener('click', () => this._clear());
    this._setBody();
  }

  setStatus(text) { this.el.status.textContent = text; }

  // ---------------------------------------------------------------- consent

  // Receiver's ask(): resolves to { accept, reason }.
  ask(offer, signal) {
    return new Promise((resolve) => {
      const q = { offer, signal, resolve };
      signal.addEventListener('abort', () => this._withdraw(q));
      this.queue.push(q);
      this._next();
    });
  }

  _next() {
    if (this.current || this.queue.length === 0) return;
    const q = this.queue.shift();
    this.current = q;
    const o = q.offer;
    const n = o.count === 1 ? '1 file' : `${o.count} files`;
    // What the browser verified (the key) comes first, in its own element;
    // the sender's claimed name last, in its own styled element: no
    // characters in a name (quotes, "[key ...]") can pass for the key.
    const key = document.createElement('strong');
    key.className = 'peer-key';
    key.id = 'consent-key';
    key.textContent = o.short;
    const name = document.createElement('span');
    name.className = 'peer-name';
    name.id = 'consent-name';
    name.textContent = o.peer;
    const claim = document.createElement('span');
    claim.className = 'peer-claim';
    claim.append(' It claims to be ', name, '.');
    this.el.text.replaceChildren(`${o.kind === 'browser' ? 'A browser' : 'A device'} with key `, key,
      ` wants to send you ${n} (${fmtBytes(o.total)}).`, claim);
    // The verification code (PROTOCOL.md): in the same paragraph, so that
    // whoever reads the question reads it too.
    this.el.dialog.dataset.code = o.code || '';
    if (o.code) {
      const sas = document.createElement('span');
      sas.className = 'sas';
      showCode(sas, o.code, ' Verification code ', ' — the sender\'s screen shows the same code, or someone is in between.');
      this.el.text.append(sas);
    } else {
      // Said, not silent: someone in between could have stripped it.
      this.el.text.append(' No verification code: the sender does not show one (an older version, or someone in between removed it).');
    }
    // The first few, and every hidden name (".config/autostart/x.desktop")
    // wherever it is: those are never summed up in "and N more".
    const shown = o.files.filter((f, i) => i < DIALOG_FILES || f.hidden);
    this.el.files.replaceChildren(...shown.map((f) => {
      const li = document.createElement('li');
      li.textContent = `${f.path} (${fmtBytes(f.size)})` +
        (f.hidden ? ': a hidden name (starts with “.”), saved with “_” instead' : '');
      return li;
    }));
    if (o.count > shown.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = `and ${o.count - shown.length} more`;
      this.el.files.append(li);
    }
    let left = ASK_TIMEOUT_S;
    const tick = () => { this.el.timer.textContent = `Declining by itself in ${left} s.`; };
    tick();
    q.interval = setInterval(() => {
      left--;
      if (left <= 0) this._answer(false, `nobody answered within ${ASK_TIMEOUT_S} s`);
      else tick();
    }, 1000);
    this._setBody();
    if (!this.el.dialog.open) this.el.dialog.showModal();
    // The safe button has the focus: an Enter meant for something else declines.
    this.el.decline.focus();
  }

  _answer(accept, reason) {
    const q = this.current;
    if (!q) return;
    this._close(q);
    q.resolve(accept ? { accept: true } : { accept: false, reason });
    this._next();
  }

  // The sender left: its question goes, on screen or in the queue.
  _withdraw(q) {
    if (this.current === q) {
      this._close(q);
      q.resolve({ accept: false, reason: 'the sender left' });
      this._next();
      return;
    }
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    q.resolve({ accept: false, reason: 'the sender left' });
  }

  _close(q) {
    clearInterval(q.interval);
    this.current = null;
    if (this.queue.length === 0 && this.el.dialog.open) {
      this.closing = true;
      this.el.dialog.close();
    }
    this._setBody();
  }

  // ---------------------------------------------------------------- transfers

  // An Attachment event.
  onEvent(ev) {
    if (ev.type === 'incoming') this.conns.set(ev.conn, { state: 'connecting', block: null, rows: [], fp: ev.fingerprint });
    else if (ev.type === 'receiver') this._onReceiver(ev.conn, ev.ev);
    else if (ev.type === 'finished') this._onFinished(ev.conn, ev.result);
    this._setBody();
  }

  _onReceiver(conn, ev) {
    const c = this.conns.get(conn);
    if (!c) return;
    if (ev.type === 'phase') {
      if (ev.phase === 'asking') c.state = 'asking';
      else if (ev.phase === 'transfer') c.state = 'receiving';
      else if (ev.phase === 'done') { c.state = 'idle'; this.final = ev.ok ? 'done' : 'error'; this._summary(c, ev.text); }
      else if (ev.phase === 'declined') { c.state = 'idle'; this.final = 'declined'; }
      if (ev.phase === 'transfer' && c.block) c.block.status.textContent = ev.text;
    } else if (ev.type === 'peer') {
      c.peer = ev.name;
    } else if (ev.type === 'code') {
      c.code = ev.code;
    } else if (ev.type === 'transfer') {
      this._newBlock(conn, c, ev.files);
      c.first = ev.first;
    } else if (ev.type === 'file') {
      const row = c.rows[ev.index - c.first];
      if (row) row.setStatus(ev.status, ev.reason);
    } else if (ev.type === 'progress') {
      const row = c.rows[ev.index - c.first];
      if (row) { row.progress(ev.received); this._overall(c); }
    } else if (ev.type === 'download') {
      this._download(c, ev);
    }
  }

  _onFinished(conn, result) {
    const c = this.conns.get(conn);
    this.conns.delete(conn);
    if (!c || !result) return;   // never got as far as a channel
    if (c.state === 'idle' && result.state === 'done') return;  // closed after its receipt
    if (result.ok) this.final = 'done';
    else if (result.state === 'declined') this.final = 'declined';
    else this.final = 'error';
    if (c.block && !result.ok && result.state !== 'declined') {
      c.block.status.textContent = `Receiving failed${result.phase ? ` (${result.phase})` : ''}: ${result.reason}`;
      c.block.div.dataset.state = 'error';
    }
    if (c.block) c.block.cancel.hidden = true;
  }

  _newBlock(conn, c, files) {
    const div = document.createElement('div');
    div.className = 'incoming-transfer';
    const from = document.createElement('p');
    from.className = 'from';
    const total = files.reduce((a, f) => a + f.size, 0);
    // The verified facts first; the claimed name in its own element, last.
    from.textContent = `${files.length === 1 ? '1 file' : `${files.length} files`}, ${fmtBytes(total)}` +
      (c.code ? ` · code ${c.code}` : '') + ' · from a peer that claims to be ';
    const name = document.createElement('span');
    name.className = 'peer-name';
    name.textContent = c.peer || '(no name)';
    from.append(name);
    const status = document.createElement('p');
    status.className = 'status';
    status.setAttribute('role', 'status');
    const overall = document.createElement('p');
    overall.className = 'overall';
    const ul = document.createElement('ul');
    ul.className = 'files';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.textContent = 'Cancel';
    cancel.addEventListener('click', () => { cancel.disabled = true; this.onCancel(conn); });
    div.append(from, status, overall, ul, cancel);
    this.el.list.prepend(div);
    c.block = { div, status, overall, cancel, urls: [], started: performance.now() };
    c.rows = files.map((f) => new FileRow(ul, f.path, f.size));
    this.blocks.push(c.block);
    this.el.clear.hidden = false;
    while (this.blocks.length > KEEP_TRANSFERS) this._removeBlock(this.blocks[0]);
  }

  _overall(c) {
    const total = c.rows.reduce((a, r) => a + r.size, 0);
    const done = c.rows.reduce((a, r) => a + r.done, 0);
    const secs = (performance.now() - c.block.started) / 1000;
    c.block.overall.textContent = `${fmtBytes(done)} of ${fmtBytes(total)} · ${total ? Math.floor((done / total) * 100) : 100}%` +
      (secs > 0.5 ? ` · ${(done / secs / 1e6).toFixed(1)} MB/s average` : '');
  }

  _summary(c, text) {
    if (!c.block) return;
    c.block.status.textContent = text;
    c.block.cancel.hidden = true;
    this._overall(c);
  }

  // A verified file: start its download, and keep a link to it in its row.
  _download(c, ev) {
    const url = URL.createObjectURL(ev.blob);
    if (c.block) c.block.urls.push(url);
    const auto = document.createElement('a');
    auto.href = url;
    auto.download = ev.name;
    auto.hidden = true;
    document.body.append(auto);
    auto.click();
    auto.remove();
    const row = c.rows[ev.index - c.first];
    if (!row) return;
    const link = document.createElement('a');
    link.href = url;
    link.download = ev.name;
    link.className = 'save';
    link.textContent = `Save ${ev.name} again`;
    row.li.append(link);
  }

  _removeBlock(b) {
    for (const u of b.urls) URL.revokeObjectURL(u);
    b.div.remove();
    this.blocks.splice(this.blocks.indexOf(b), 1);
  }

  // Removes finished transfers from the list (and frees their files).
  _clear() {
    const live = new Set([...this.conns.values()].filter((c) => c.state === 'receiving').map((c) => c.block));
    for (const b of [...this.blocks]) if (!live.has(b)) this._removeBlock(b);
    this.el.clear.hidden = this.blocks.length === 0;
  }

  // ---------------------------------------------------------------- state for tests

  _setBody() {
    const states = [...this.conns.values()].map((c) => c.state);
    let s = this.final;
    if (this.current || this.queue.length || states.includes('asking')) s = 'asking';
    else if (states.includes('receiving')) s = 'receiving';
    document.body.dataset.receive = s;
  }
}
