#!/usr/bin/python3
"""mitm_relay.py -- a LAN attacker for idrop-lan's tests: a full WebRTC relay
in the middle of the plain-HTTP signalling. Run it with /usr/bin/python3
(Debian's interpreter, where python3-aiortc 1.4.0 lives).

  mitm_relay.py --listen HOST:PORT --upstream http://IP:PORT [--timeout S]
                [--upstream-timeout S] [-v]

For each POST /api/offer (from the victim sender, whose HTTP was redirected
here) it:
  - creates pc1, an aiortc RTCPeerConnection with its own certificate, and
    answers the sender's offer with it (pc1's fingerprint, pc1's candidates);
  - creates pc2, with another certificate of its own, with a data channel
    "idrop" (protocol "idrop/1", ordered, reliable: aiortc puts no SCTP
    m-line in an offer without a channel, so it is made before the offer and
    opens once pc2 connects), POSTs pc2's offer to --upstream (the real
    receiver) and applies the answer;
  - answers the sender 201 with pc1's answer (502 if the receiver did not
    answer 201), so two DTLS sessions come up: sender <-> relay (pc1),
    relay <-> receiver (pc2);
  - once the sender opens its channel on pc1, relays every message verbatim
    both ways, text as text and binary as binary, in order (messages that
    come before the other side's channel is open wait in a queue);
  - when either channel or connection closes or fails, or after --timeout
    seconds (default 60), flushes what it can (at most 2 s), closes both
    connections and reports.
Other paths get 404. It never writes files; it only counts.

stdout: one JSON line per event, flushed, each with "event" and, for a
session, "session" (1, 2, ...):
  listening {addr, upstream}
  offer {from, sender_fingerprint}           a sender POSTed its offer
  answered {status, sender_sees, receiver_fingerprint, receiver_sees}
      sender_sees = pc1's fingerprint (presented to the sender),
      receiver_sees = pc2's (presented to the receiver)
  state {pc: "pc1"|"pc2", state}             connectionState changes
  channel {side: "sender"|"receiver", label, protocol}   a channel opened
  text {dir: "s2r"|"r2s", bytes, type}       each text message relayed
                                             (type = its JSON "type", if any)
  codes {sender_shows, receiver_shows}       the verification codes each end
      derives (docs/PROTOCOL.md), computed from what crossed the relay: the
      sender's hello sas_commit, the receiver's hello sas_nonce, the sas nonce
  session-end {reason, from, text_s2r, text_r2s, binary_messages_s2r,
      binary_messages_r2s, binary_bytes_s2r, binary_bytes_r2s, sender_sees,
      receiver_sees, sender_fingerprint, receiver_fingerprint, codes}
  exit {sessions, text_s2r, text_r2s, binary_bytes_s2r, binary_bytes_r2s,
      fingerprints: [every fingerprint it presented]}
Fingerprints are 64 lowercase hex digits (as `idrop-lan id` prints them).
Runs until SIGTERM/SIGINT, then closes every connection and exits 0.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import re
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
except ImportError as e:  # pragma: no cover
    sys.stderr.write("mitm_relay: error: cannot import aiortc (%s); install python3-aiortc "
                     "and run with /usr/bin/python3\n" % e)
    sys.exit(1)

LABEL, SUBPROTOCOL = "idrop", "idrop/1"
MAX_BODY, MAX_HEADER = 256 * 1024, 16 * 1024
SAS_LABEL = b"idrop-lan sas 1"
log = logging.getLogger("mitm_relay")


def emit(event, **kw):
    d = {"event": event, "t": round(time.time(), 3)}
    d.update(kw)
    sys.stdout.write(json.dumps(d, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def sdp_fingerprint(sdp):
    """The sha-256 a=fingerprint of an SDP, as 64 lowercase hex digits."""
    m = re.search(r"^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)\r?$", sdp, re.M)
    return m.group(1).replace(":", "").lower() if m else None


def sas_code(fp_sender, fp_receiver, ns, nr):
    """docs/PROTOCOL.md, "Verification code"."""
    d = hashlib.sha256(SAS_LABEL + bytes.fromhex(fp_sender) + bytes.fromhex(fp_receiver)
                       + ns + nr).digest()
    v = int.from_bytes(d[:4], "big") % 1000000
    return "%03d %03d" % (v // 1000, v % 1000)


def http_post_sdp(url, sdp, timeout):
    """POST an offer; returns (status, body). No proxies, ever."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=sdp.encode("utf-8"), method="POST",
                                 headers={"Content-Type": "application/sdp"})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read(MAX_BODY + 1)
    except urllib.error.HTTPError as e:
        return e.code, (e.read(4096) if e.fp else b"")


class Session:
    def __init__(self, relay, sid):
        self.relay, self.sid = relay, sid
        self.pc1 = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # faces the sender
        self.pc2 = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # faces the receiver
        self.ch1 = None
        self.ch2 = self.pc2.createDataChannel(LABEL, ordered=True, protocol=SUBPROTOCOL)
        self.q1, self.q2 = [], []  # messages waiting for ch1 / ch2 to open
        self.ended = False
        self.done = asyncio.Event()
        self.c = {"text_s2r": 0, "text_r2s": 0, "binary_messages_s2r": 0, "binary_messages_r2s": 0,
                  "binary_bytes_s2r": 0, "binary_bytes_r2s": 0}
        self.fp = {"sender_fingerprint": None, "receiver_fingerprint": None,
                   "sender_sees": None, "receiver_sees": None}
        self.sas = {"commit": None, "nr": None, "ns": None}
        self.codes = None
        self.peer = None  # the sender's address, "IP:PORT"

        for name, pc in (("pc1", self.pc1), ("pc2", self.pc2)):
            self._watch(name, pc)

        @self.pc1.on("datachannel")
        def _on_dc(ch):
            emit("channel", session=self.sid, side="sender", label=ch.label, protocol=ch.protocol)
            if self.ch1 is not None or ch.label != LABEL:
                return  # one idrop channel per connection; others are ignored
            self.ch1 = ch
            ch.on("message", lambda m: self._relay(m, "s2r"))
            ch.on("close", lambda: self.end("sender closed the channel"))
            self._flush(ch, self.q1)

        @self.ch2.on("open")
        def _on_open2():
            emit("channel", session=self.sid, side="receiver", label=self.ch2.label,
                 protocol=self.ch2.protocol)
            self._flush(self.ch2, self.q2)

        self.ch2.on("message", lambda m: self._relay(m, "r2s"))
        self.ch2.on("close", lambda: self.end("receiver closed the channel"))

    def _watch(self, name, pc):
        @pc.on("connectionstatechange")
        def _on_state():
            emit("state", session=self.sid, pc=name, state=pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                self.end("%s %s" % (name, pc.connectionState))

    @staticmethod
    def _flush(ch, q):
        while q:
            ch.send(q.pop(0))

    def _relay(self, m, d):
        if self.ended:
            return
        if isinstance(m, str):
            self.c["text_" + d] += 1
            typ = self._inspect(m, d)
            emit("text", session=self.sid, dir=d, bytes=len(m.encode("utf-8")), type=typ)
        else:
            self.c["binary_messages_" + d] += 1
            self.c["binary_bytes_" + d] += len(m)
        ch, q = (self.ch2, self.q2) if d == "s2r" else (self.ch1, self.q1)
        if ch is not None and ch.readyState == "open" and not q:
            ch.send(m)
        else:
            q.append(m)

    def _inspect(self, text, d):
        """The message's type; picks up the verification code's inputs."""
        try:
            o = json.loads(text)
        except ValueError:
            return None
        if not isinstance(o, dict):
            return None
        t = o.get("type")
        try:
            if t == "hello" and d == "s2r" and "sas_commit" in o:
                self.sas["commit"] = bytes.fromhex(o["sas_commit"])
            elif t == "hello" and d == "r2s" and "sas_nonce" in o:
                self.sas["nr"] = bytes.fromhex(o["sas_nonce"])
            elif t == "sas" and d == "s2r":
                self.sas["ns"] = bytes.fromhex(o["nonce"])
                self._codes()
        except (TypeError, ValueError):
            pass
        return t if isinstance(t, str) else None

    def _codes(self):
        f, s = self.fp, self.sas
        if not (s["ns"] and s["nr"] and all(f.values())):
            return
        self.codes = {
            "sender_shows": sas_code(f["sender_fingerprint"], f["sender_sees"], s["ns"], s["nr"]),
            "receiver_shows": sas_code(f["receiver_sees"], f["receiver_fingerprint"], s["ns"], s["nr"]),
            "commit_ok": s["commit"] == hashlib.sha256(s["ns"]).digest(),
        }
        emit("codes", session=self.sid, **self.codes)

    async def answer(self, offer_sdp, peer):
        """Both legs up to the answers; returns (status, body) for the sender."""
        self.fp["sender_fingerprint"] = sdp_fingerprint(offer_sdp)
        self.peer = "%s:%s" % peer[:2] if peer else None
        emit("offer", session=self.sid, **{"from": self.peer},
             sender_fingerprint=self.fp["sender_fingerprint"])
        await self.pc1.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc1.setLocalDescription(await self.pc1.createAnswer())  # gathers
        answer1 = self.pc1.localDescription.sdp
        self.fp["sender_sees"] = sdp_fingerprint(answer1)

        await self.pc2.setLocalDescription(await self.pc2.createOffer())  # gathers
        offer2 = self.pc2.localDescription.sdp
        self.fp["receiver_sees"] = sdp_fingerprint(offer2)
        url = self.relay.args.upstream.rstrip("/") + "/api/offer"
        t = self.relay.args.upstream_timeout
        try:
            status, body = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(None, http_post_sdp, url, offer2, t), t + 1)
        except (OSError, asyncio.TimeoutError, urllib.error.URLError) as e:
            status, body = 0, repr(e).encode()
        if status != 201:
            emit("answered", session=self.sid, status=502, upstream_status=status,
                 upstream_body=body[:300].decode("utf-8", "replace"))
            self.end("upstream answered %d" % status)
            return 502, b"bad gateway\n"
        answer2 = body.decode("utf-8")
        self.fp["receiver_fingerprint"] = sdp_fingerprint(answer2)
        await self.pc2.setRemoteDescription(RTCSessionDescription(sdp=answer2, type="answer"))
        emit("answered", session=self.sid, status=201, sender_sees=self.fp["sender_sees"],
             receiver_fingerprint=self.fp["receiver_fingerprint"], receiver_sees=self.fp["receiver_sees"])
        return 201, answer1.encode("utf-8")

    def end(self, reason):
        if self.ended:
            return
        self.ended = True
        asyncio.ensure_future(self._close(reason))

    async def _close(self, reason):
        # Let what was already relayed leave (bounded), then close both legs.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2:
            busy = [ch for ch in (self.ch1, self.ch2)
                    if ch is not None and ch.readyState == "open" and ch.bufferedAmount > 0]
            if not busy:
                break
            await asyncio.sleep(0.05)
        for pc in (self.pc1, self.pc2):
            try:
                await asyncio.wait_for(pc.close(), 3)
            except Exception as e:  # closing is best effort
                log.info("session %d: close: %s", self.sid, e)
        emit("session-end", session=self.sid, reason=reason, codes=self.codes,
             **{"from": self.peer}, **self.c, **self.fp)
        self.relay.finished(self)
        self.done.set()

    async def run_bounded(self):
        try:
            await asyncio.wait_for(self.done.wait(), self.relay.args.timeout)
        except asyncio.TimeoutError:
            self.end("timeout after %.0f s" % self.relay.args.timeout)


class Relay:
    def __init__(self, args):
        self.args = args
        self.sessions = set()
        self.n = 0
        self.totals = {"text_s2r": 0, "text_r2s": 0, "binary_bytes_s2r": 0, "binary_bytes_r2s": 0}
        self.fingerprints = []

    def finished(self, s):
        self.sessions.discard(s)
        for k in self.totals:
            self.totals[k] += s.c[k]
        for k in ("sender_sees", "receiver_sees"):
            if s.fp[k]:
                self.fingerprints.append(s.fp[k])

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        try:
            status, ctype, body = await asyncio.wait_for(self.serve_one(reader, peer), 30)
        except asyncio.TimeoutError:
            status, ctype, body = 408, "text/plain", b"request timeout\n"
        except Exception as e:
            log.warning("request from %s failed: %r", peer, e)
            status, ctype, body = 500, "text/plain", b"internal error\n"
        reasons = {201: "Created", 400: "Bad Request", 404: "Not Found", 408: "Request Timeout",
                   413: "Payload Too Large", 500: "Internal Server Error", 502: "Bad Gateway"}
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
            status, reasons.get(status, "Error"), ctype, len(body))
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def serve_one(self, reader, peer):
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            return 400, "text/plain", b"bad request\n"
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400, "text/plain", b"bad request line\n"
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if parts[0] != "POST" or urllib.parse.urlsplit(parts[1]).path != "/api/offer":
            return 404, "text/plain", b"not found\n"
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            return 400, "text/plain", b"Content-Length required\n"
        if not 0 <= length <= MAX_BODY:
            return 413, "text/plain", b"offer too large\n"
        offer = (await reader.readexactly(length)).decode("utf-8", "replace")
        self.n += 1
        s = Session(self, self.n)
        self.sessions.add(s)
        try:
            status, body = await s.answer(offer, peer)
        except Exception as e:
            emit("answered", session=s.sid, status=400, error=repr(e))
            s.end("failed: %r" % e)
            return 400, "text/plain", ("bad offer: %s\n" % e).encode()
        asyncio.ensure_future(s.run_bounded())
        return status, "application/sdp" if status == 201 else "text/plain", body

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        host, port = self.args.listen.rsplit(":", 1)
        server = await asyncio.start_server(self.handle, host, int(port), limit=MAX_HEADER,
                                            reuse_address=True)
        emit("listening", addr=self.args.listen, upstream=self.args.upstream)
        await stop.wait()
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), 2)
        except asyncio.TimeoutError:
            pass
        live = list(self.sessions)
        for s in live:
            s.end("relay stopping")
        if live:
            await asyncio.wait([asyncio.ensure_future(s.done.wait()) for s in live], timeout=8)
        emit("exit", sessions=self.n, fingerprints=self.fingerprints, **self.totals)
        return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="mitm_relay.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", required=True, metavar="HOST:PORT")
    ap.add_argument("--upstream", required=True, metavar="http://IP:PORT")
    ap.add_argument("--timeout", type=float, default=60.0, metavar="S",
                    help="give up on a session after S seconds (default 60)")
    ap.add_argument("--upstream-timeout", type=float, default=10.0, metavar="S")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.verbose:
        log.setLevel(logging.INFO)
        if args.verbose > 1:
            logging.getLogger().setLevel(logging.DEBUG)
    return asyncio.run(Relay(args).run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
