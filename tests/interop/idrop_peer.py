#!/usr/bin/python3
"""idrop_peer.py -- an independent implementation of the idrop-lan transfer
protocol (docs/PROTOCOL.md, version 1), written from that text alone, on
Debian's aiortc 1.4.0 (python3-aiortc). Run it with /usr/bin/python3.

  idrop_peer.py send URL FILE... [--as PATH]... [--name NAME] [--chunk BYTES]
                [--expect-fingerprint HEX] [--timeout S] [--lie LIE]
                [--pause-after BYTES --pause-file PATH] [--stop-after BYTES]
                [--extra-channel LABEL]... [-v]
      Sender. Opens the data channel "idrop" (protocol "idrop/1", ordered,
      reliable), POSTs its complete offer to URL (a bare http://HOST:PORT means
      .../api/offer), expects 201 with the answer, then: hello -> offer (random
      transfer id; file i has id i, path = basename or the i-th --as, size and
      mtime from stat) -> accept | decline; for each accepted file in offer
      order: file {id, offset}, binary messages of at most min(--chunk (16384),
      65536, the answer's a=max-message-size) bytes from the offset, file-end
      {id, sha256 of the whole file}; file-ok / file-error are taken as they
      come; then done -> receipt. Files are read in chunks and hashed
      incrementally; bufferedAmount is kept under 1 MiB.
      --expect-fingerprint: refuse an answer whose sha-256 a=fingerprint differs
      (case and colons ignored). Test behaviours (--lie, first file only):
        path=STRING   announce STRING as the path
        size-more     announce N, send N+1000 bytes (filler 0xA5), hash of what was sent
        size-less     announce N, send max(N-1000, 0) bytes, hash of what was sent
        bad-hash      correct bytes, file-end sha256 with one bit flipped
        raw-json=TEXT send TEXT as a text message instead of the offer; report
                      what comes back (the first message, plus 0.5 s more)
      --pause-after B --pause-file P: after B bytes of file data (all files),
      wait until P exists (polled every 50 ms), then go on.
      --stop-after B: after exactly B bytes of file data, wait (at most 3 s)
      until they are acknowledged, then pc.close() without cancel or done.
      --extra-channel LABEL (repeatable): also open a data channel with this
      label (any text, e.g. escape sequences), before "idrop"; nothing is sent
      on it.
      Exit: 0 the receipt says "verified" for every offered file; 3 declined;
      4 stopped by --stop-after; 1 anything else (cancel, failure, timeout).
      stdout: one JSON line: ok, declined, reason (decline/cancel reason),
      stopped, error, url, transfer, chunk, hello (the receiver's), offered
      [{id,path,size,mtime}], accepted {"id": offset} (null without accept),
      bytes_sent (binary payload bytes sent), paused, results {"id": {ok,
      reason}} (file-ok / file-error), receipt {"id": status}, messages (every
      control message received, decoded; undecodable ones as {"_raw": text}),
      binary_received, fingerprint_ok, own_fingerprint (this peer's certificate,
      64 lowercase hex digits), ms. Errors: "idrop_peer: error: ..." on stderr.

  idrop_peer.py receive --port P [--bind ADDR] [--dir DIR] [--decline REASON]
                [--once] [--name NAME] [-v]
      A stand-in receiving device: POST /api/offer -> 201 answer (as
      aiortc_peer.py answer; with CORS headers as serve's, so a device's web
      page in a browser may send to it). Answers hello with hello, accepts every file at
      offset 0 (or declines with REASON), writes file ID into DIR as NAME.part
      (NAME = the path's last component; "ID-NAME" if taken in this transfer),
      renamed to NAME on file-ok; offers with invalid paths (spec rules) are
      cancelled ("invalid"), nothing is written outside DIR. Checks sizes and
      SHA-256 at file-end (file-error reasons: "sha256 mismatch" (the .part is
      deleted), "more bytes than announced", "fewer bytes than announced",
      "write failed: ..."), answers done with a receipt (verified / failed /
      skipped for every offered file). Malformed JSON or messages out of place
      -> cancel "invalid"; an unknown type -> cancel "unsupported"; hello.version
      < 1 -> cancel "version". stdout: "listening on ADDR:PORT", then one JSON
      line per finished transfer: ok, session, outcome (receipt | declined |
      cancelled | cancelled-by-us | closed), reason, transfer, sender (hello
      name), sender_hello, channel_protocol, files [{id, path, name, size,
      offset, received, sha256, status, reason}], messages. --once: exit after
      the first finished transfer: 0 if it was a receipt with every file
      verified (or the decline asked for), else 1. Otherwise runs until SIGTERM.

  Both modes: --ice-loopback (self-tests) gathers only a 127.0.0.1 candidate.
  --sdp-session-fingerprint HEX (attack tests, issue 11): the offer or answer
  sent also carries "a=fingerprint:sha-256 HEX" at session level, before the
  m= line; the media-level line stays this peer's own (the one a browser
  checks), so a reader of the first line sees HEX (someone else's key).
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import re
import signal
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

try:
    import aioice.ice
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
except ImportError as e:  # pragma: no cover
    sys.stderr.write("idrop_peer: error: cannot import aiortc (%s); install python3-aiortc "
                     "and run with /usr/bin/python3\n" % e)
    sys.exit(1)

PROG = "idrop_peer"
LABEL, SUBPROTOCOL, VERSION = "idrop", "idrop/1", 1
MAX_CONTROL = MAX_BINARY = 64 * 1024
MAX_UINT = 2 ** 53 - 1
LIE_K = 1000
HIGH_WATER, LOW_WATER = 1024 * 1024, 256 * 1024
MAX_BODY, MAX_HEADER = 256 * 1024, 16 * 1024
HEX32, HEX64 = re.compile(r"[0-9a-fA-F]{32}"), re.compile(r"[0-9a-fA-F]{64}")
log = logging.getLogger(PROG)
now = time.monotonic


class PeerError(Exception):
    pass


class Stopped(Exception):
    pass


class ProtoError(Exception):
    """A protocol violation: answered with cancel(code)."""

    def __init__(self, code, detail):
        super().__init__("%s: %s" % (code, detail))
        self.code, self.detail = code, detail


def sent_sdp(args, sdp):
    """The SDP this peer sends: its own, or with --sdp-session-fingerprint the added line."""
    return add_session_fingerprint(sdp, args.sdp_session_fingerprint) if args.sdp_session_fingerprint else sdp


def add_session_fingerprint(sdp, hexfp):
    """sdp with a session-level a=fingerprint:sha-256 line of hexfp (64 hex
    digits) put before its first m= line."""
    h = hexfp.replace(":", "").upper()
    line = "a=fingerprint:sha-256 " + ":".join(h[i:i + 2] for i in range(0, 64, 2)) + "\r\n"
    at = sdp.find("\r\nm=")
    return sdp if at < 0 else sdp[:at + 2] + line + sdp[at + 2:]


def norm_fp(s):
    s = s.strip()
    if " " in s:  # "sha-256 AB:CD..." -> "AB:CD..."
        s = s.split()[-1]
    return s.replace(":", "").upper()


def sdp_attr(sdp, name):
    return [m.group(1).strip() for m in re.finditer(r"^a=%s:(.+?)\r?$" % name, sdp, re.M)]


def has_cc(s):
    return any(unicodedata.category(c) == "Cc" for c in s)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_UINT


def path_problem(p):
    """Why path p breaks the spec's path rules, or None."""
    if not isinstance(p, str):
        return "not a string"
    if len(p.encode("utf-8", "surrogatepass")) > 4096:
        return "longer than 4096 bytes"
    if p.startswith("/"):
        return "absolute"
    for c in p.split("/"):
        if not 1 <= len(c.encode("utf-8", "surrogatepass")) <= 255:
            return "a component is empty or longer than 255 bytes"
        if c in (".", ".."):
            return "a component is . or .."
        if has_cc(c) or "\\" in c:
            return "control character or backslash"
    return None


def _members(pairs):
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("repeated member names")
    return dict(pairs)


def _no_constant(c):
    raise ValueError("%s is not JSON" % c)


def decode_control(text):
    """Strict decoding of a control message (RFC 8259 + the spec); ValueError if it is not one."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONTROL:
        raise ValueError("control message larger than 64 KiB")
    obj = json.loads(text, object_pairs_hook=_members, parse_constant=_no_constant)
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ValueError("not a JSON object with a string \"type\"")
    if re.search(r"(?<!\\)(\\\\)*\\u0000", text):  # an unescaped backslash, then u0000
        raise ValueError("\\u0000 in a string")
    for k in ("reason", "name"):
        if k in obj and (not isinstance(obj[k], str) or has_cc(obj[k])):
            raise ValueError("%s is not a string without control characters" % k)
    return obj


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def restrict_ice_to_loopback():
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


async def drain(pc, ch, limit):
    """Wait until everything sent on ch is acknowledged (bounded by limit seconds)."""
    t_end = now() + limit
    while now() < t_end:
        sctp = pc.sctp
        if ch.bufferedAmount == 0 and (sctp is None or not (sctp._outbound_queue or sctp._sent_queue)):
            return True
        await asyncio.sleep(0.02)
    return False


def http_post_sdp(url, sdp, timeout):
    """POST the offer; returns (status, headers, body). No proxies, ever."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=sdp.encode("utf-8"), method="POST", headers={
        "Content-Type": "application/sdp", "Accept": "application/sdp"})
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read(MAX_BODY + 1)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers or {}), e.read(4096) if e.fp else b""


# ---------------------------------------------------------------- send mode


async def run_send(args, summary):
    t0 = now()
    deadline = t0 + args.timeout
    phase = "setup"

    def left():
        r = deadline - now()
        if r <= 0:
            raise asyncio.TimeoutError()
        return r

    files = []
    for i, fname in enumerate(args.files):
        try:
            st = os.stat(fname)
        except OSError as e:
            raise PeerError("%s: %s" % (fname, e.strerror))
        if not os.path.isfile(fname):
            raise PeerError("%s: not a regular file" % fname)
        path = args.as_paths[i] if i < len(args.as_paths) else os.path.basename(fname)
        files.append({"id": i, "path": path, "size": st.st_size, "mtime": int(st.st_mtime)})
    lie, lie_arg = (args.lie or "").partition("=")[::2]
    if lie == "path" and files:
        files[0]["path"] = lie_arg
    summary["offered"] = files

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates only
    for label in args.extra_channels:  # opened first, then left alone
        pc.createDataChannel(label, ordered=True)
    ch = pc.createDataChannel(LABEL, ordered=True, protocol=SUBPROTOCOL)
    opened = asyncio.get_running_loop().create_future()
    opened.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if unused
    rxq = asyncio.Queue()
    low = asyncio.Event()
    ch.bufferedAmountLowThreshold = LOW_WATER
    ch.on("bufferedamountlow", low.set)
    ch.on("message", rxq.put_nowait)
    ch.on("close", lambda: rxq.put_nowait(None))

    @ch.on("open")
    def _on_open():
        if not opened.done():
            opened.set_result(True)

    @pc.on("connectionstatechange")
    def _on_state():
        log.info("connection state %s", pc.connectionState)
        if pc.connectionState in ("failed", "closed"):
            if not opened.done() and pc.connectionState == "failed":
                opened.set_exception(PeerError("peer connection failed (ICE/DTLS)"))
            rxq.put_nowait(None)

    def send(obj):
        if ch.readyState != "open":
            raise PeerError("channel closed")
        ch.send(obj if isinstance(obj, (str, bytes)) else encode(obj))

    async def recv():
        """The next control message from the receiver; cancel ends everything."""
        m = await asyncio.wait_for(rxq.get(), left())
        if m is None:
            raise PeerError("the channel closed (receiver gone?)")
        if isinstance(m, bytes):
            summary["binary_received"] += 1
            raise ProtoError("invalid", "the receiver sent a binary message")
        try:
            obj = decode_control(m)
        except ValueError as e:
            summary["messages"].append({"_raw": m})
            raise ProtoError("invalid", "bad control message from the receiver: %s" % e)
        summary["messages"].append(obj)
        if obj["type"] == "cancel":
            summary["reason"] = obj.get("reason")
            raise PeerError("the receiver cancelled: %r" % obj.get("reason"))
        return obj

    try:
        try:
            # -- connect (aiortc's setLocalDescription returns once gathering is complete)
            phase = "gather"
            await asyncio.wait_for(pc.setLocalDescription(await pc.createOffer()), left())
            phase = "post"
            own = [f for f in sdp_attr(pc.localDescription.sdp, "fingerprint") if f.lower().startswith("sha-256 ")]
            summary["own_fingerprint"] = norm_fp(own[0]).lower() if own else None
            status, headers, body = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(
                    None, http_post_sdp, args.url, sent_sdp(args, pc.localDescription.sdp), max(1.0, left())),
                left())
            hdrs = {k.lower(): v for k, v in headers.items()}
            summary["http_status"] = status
            if status != 201:
                raise PeerError("POST %s: expected 201 Created, got %d: %s" % (
                    args.url, status, body[:300].decode("utf-8", "replace").strip()))
            if hdrs.get("content-type", "").split(";")[0].strip().lower() != "application/sdp":
                raise PeerError("answer Content-Type is %r" % hdrs.get("content-type"))
            if len(body) > MAX_BODY:
                raise PeerError("answer larger than %d bytes" % MAX_BODY)
            answer = body.decode("utf-8", "replace")
            fps = sdp_attr(answer, "fingerprint")
            summary["answer_fingerprint"] = fps[0] if fps else None
            if args.expect_fingerprint:
                sha = [f for f in fps if f.lower().startswith("sha-256 ")]
                if not sha or any(norm_fp(f) != norm_fp(args.expect_fingerprint) for f in sha):
                    raise PeerError("answer fingerprint %s != expected %s" % (
                        fps[0] if fps else "(none)", args.expect_fingerprint))
                summary["fingerprint_ok"] = True
            mms = [int(v) for v in sdp_attr(answer, "max-message-size") if v.isdigit()]
            summary["max_message_size"] = mms[0] if mms else None
            chunk = min(args.chunk, MAX_BINARY, mms[0] if mms and mms[0] > 0 else MAX_BINARY)
            summary["chunk"] = chunk
            phase = "connect"
            try:
                await asyncio.wait_for(pc.setRemoteDescription(
                    RTCSessionDescription(sdp=answer, type="answer")), left())
            except (ValueError, KeyError, IndexError) as e:
                raise PeerError("answer rejected by aiortc: %s" % e)
            await asyncio.wait_for(asyncio.shield(opened), left())
            t_open = now()
            summary["ms"] = {"connect": round((t_open - t0) * 1000, 1)}

            # -- hello
            phase = "hello"
            send({"type": "hello", "version": VERSION, "name": args.name, "kind": "device"})
            hello = await recv()
            if hello["type"] != "hello":
                raise ProtoError("invalid", "expected hello, got %r" % hello["type"])
            summary["hello"] = hello
            if not is_uint(hello.get("version")) or hello["version"] < 1:
                raise ProtoError("version", "receiver's hello.version is %r" % hello.get("version"))

            if lie == "raw-json":
                phase = "raw-json"
                send(lie_arg)
                try:
                    reply = await recv()
                    if reply["type"] == "decline":
                        summary["declined"], summary["reason"] = True, reply.get("reason")
                    await asyncio.sleep(0.5)
                    while not rxq.empty():
                        await recv()
                except PeerError:  # cancel or close: that is what came back
                    pass
                raise PeerError("raw-json sent; see messages for what came back")

            # -- offer
            phase = "offer"
            tid = os.urandom(16).hex()
            summary["transfer"] = tid
            send({"type": "offer", "transfer": tid, "files": files})
            reply = await recv()
            if reply["type"] == "decline":
                summary["declined"], summary["reason"] = True, reply.get("reason")
                if reply.get("transfer") != tid:
                    raise ProtoError("invalid", "decline for transfer %r" % reply.get("transfer"))
                return
            if reply["type"] != "accept":
                raise ProtoError("invalid", "expected accept or decline, got %r" % reply["type"])
            acc = reply.get("files")
            if reply.get("transfer") != tid or not isinstance(acc, list):
                raise ProtoError("invalid", "accept with a wrong transfer or no files array")
            offsets = {}
            for a in acc:
                if not (isinstance(a, dict) and is_uint(a.get("id")) and a["id"] < len(files)
                        and is_uint(a.get("offset")) and a["offset"] <= files[a["id"]]["size"]
                        and a["id"] not in offsets):
                    raise ProtoError("invalid", "bad accept entry %r" % (a,))
                offsets[a["id"]] = a["offset"]
            summary["accepted"] = {str(k): v for k, v in sorted(offsets.items())}

            # -- files; the receiver's answers are taken as they come
            phase = "transfer"
            ended = []  # ids whose file-end was sent, in order

            async def consume():
                while True:
                    m = await recv()
                    t = m["type"]
                    if t in ("file-ok", "file-error"):
                        if not ended or m.get("id") != ended[0]:
                            raise ProtoError("invalid", "%s for id %r out of order" % (t, m.get("id")))
                        ended.pop(0)
                        summary["results"][str(m["id"])] = (
                            {"ok": True} if t == "file-ok" else {"ok": False, "reason": m.get("reason")})
                    elif t == "receipt":
                        return m
                    elif t in ("hello", "offer", "accept", "decline", "file", "file-end", "done"):
                        raise ProtoError("invalid", "unexpected %s" % t)
                    else:
                        raise ProtoError("unsupported", "unknown type %r" % t)

            consumer = asyncio.ensure_future(consume())

            def check():
                if consumer.done():
                    consumer.result()  # raises the receiver's cancel / a violation
                    raise ProtoError("invalid", "receipt before done")
                if ch.readyState != "open":
                    raise PeerError("the channel closed while sending")

            for f in files:
                if f["id"] not in offsets:
                    continue
                fid, size, offset = f["id"], f["size"], offsets[f["id"]]
                fl = lie if fid == 0 else ""
                end = size + LIE_K if fl == "size-more" else max(size - LIE_K, 0) if fl == "size-less" else size
                send({"type": "file", "id": fid, "offset": offset})
                h = hashlib.sha256()
                with open(args.files[fid], "rb") as fp:
                    pos = 0
                    while pos < offset:  # the hash covers the bytes the receiver already holds
                        b = fp.read(min(1 << 20, offset - pos))
                        if not b:
                            raise PeerError("%s shrank below the accepted offset" % args.files[fid])
                        h.update(b)
                        pos += len(b)
                    while pos < end:
                        n = min(chunk, end - pos)
                        if args.stop_after is not None:
                            if summary["bytes_sent"] >= args.stop_after:
                                raise Stopped()
                            n = min(n, args.stop_after - summary["bytes_sent"])
                        if args.pause_after is not None and not summary["paused"]:
                            if summary["bytes_sent"] >= args.pause_after:
                                summary["paused"] = True
                                log.info("paused after %d bytes; waiting for %s",
                                         summary["bytes_sent"], args.pause_file)
                                while not os.path.exists(args.pause_file):
                                    left()
                                    check()
                                    await asyncio.sleep(0.05)
                            else:
                                n = min(n, args.pause_after - summary["bytes_sent"])
                        data = fp.read(n) if pos < size else b""
                        if len(data) < n and pos + len(data) >= size:  # size-more filler
                            data += b"\xa5" * (n - len(data))
                        if not data:
                            raise PeerError("%s shrank while sending" % args.files[fid])
                        while ch.bufferedAmount > HIGH_WATER:
                            low.clear()
                            try:
                                await asyncio.wait_for(low.wait(), min(0.2, left()))
                            except asyncio.TimeoutError:
                                pass
                            check()
                        check()
                        ch.send(data)
                        h.update(data)
                        pos += len(data)
                        summary["bytes_sent"] += len(data)
                if args.stop_after is not None and summary["bytes_sent"] >= args.stop_after:
                    raise Stopped()
                digest = h.hexdigest()
                if fl == "bad-hash":
                    digest = "%x" % (int(digest[0], 16) ^ 1) + digest[1:]
                check()
                send({"type": "file-end", "id": fid, "sha256": digest})
                ended.append(fid)
            check()
            send({"type": "done"})
            phase = "receipt"
            receipt = await asyncio.wait_for(consumer, left())
            t_done = now()
            if receipt.get("transfer") != tid or not isinstance(receipt.get("files"), list):
                raise ProtoError("invalid", "receipt with a wrong transfer or no files array")
            summary["receipt"] = {str(r.get("id")): r.get("status") for r in receipt["files"]
                                  if isinstance(r, dict)}
            summary["ms"]["transfer"] = round((t_done - t_open) * 1000, 1)
            if summary["bytes_sent"] and t_done > t_open:
                summary["MBps"] = round(summary["bytes_sent"] / (t_done - t_open) / 1e6, 2)
            bad = [str(f["id"]) for f in files if summary["receipt"].get(str(f["id"])) != "verified"]
            if bad:
                raise PeerError("receipt: not verified: %s" % ", ".join(
                    "%s=%s" % (i, summary["receipt"].get(i)) for i in bad))
            summary["ok"] = True
            await drain(pc, ch, 1)
        except ProtoError as e:
            try:
                send({"type": "cancel", "reason": e.code})
                await drain(pc, ch, 1)
            except Exception:
                pass
            raise PeerError("protocol violation (sent cancel %r): %s" % (e.code, e.detail))
        except Stopped:
            summary["stopped"] = True
            await drain(pc, ch, 3)
            raise
        except asyncio.TimeoutError:
            raise PeerError("timed out after %.1f s in phase '%s' (connection state %s)" % (
                args.timeout, phase, pc.connectionState))
        except (urllib.error.URLError, OSError) as e:
            raise PeerError("phase '%s': %s" % (phase, getattr(e, "reason", e)))
    finally:
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception:
            pass


# ---------------------------------------------------------------- receive mode


class Session:
    """The receiver's side of one data channel."""

    def __init__(self, server, sid, pc, ch):
        self.server, self.sid, self.pc, self.ch = server, sid, pc, ch
        self.args = server.args
        self.state = "hello"  # hello -> offer -> transfer <-> data; closed
        self.sender_hello = None
        self.reset()

    def reset(self):
        self.transfer, self.files, self.messages, self.cur, self.last_id = None, [], [], None, -1

    def send(self, obj):
        if self.ch.readyState == "open":
            self.ch.send(encode(obj))

    def on_message(self, m):
        if self.state == "closed":
            return
        try:
            self.handle(m)
        except ProtoError as e:
            log.warning("session %d: %s", self.sid, e)
            self.send({"type": "cancel", "reason": e.code})
            self.finish("cancelled-by-us", "%s: %s" % (e.code, e.detail))

    def on_close(self):
        if self.state in ("transfer", "data"):
            self.finish("closed", "the channel closed mid-transfer")
        self.state = "closed"

    def handle(self, m):
        if isinstance(m, bytes):
            if self.state != "data":
                raise ProtoError("invalid", "binary message outside a file")
            if len(m) > MAX_BINARY:
                raise ProtoError("invalid", "binary message of %d bytes" % len(m))
            f = self.cur
            room = f["size"] - f["offset"] - f["received"]  # never write more than announced
            f["received"] += len(m)
            f["hash"].update(m)
            if f["fd"] is not None and room > 0:
                try:
                    os.write(f["fd"], m[:room])
                except OSError as e:
                    f["write_error"] = e.strerror
                    os.close(f["fd"])
                    f["fd"] = None
            return
        try:
            obj = decode_control(m)
        except ValueError as e:
            self.messages.append({"_raw": m})
            raise ProtoError("invalid", str(e))
        self.messages.append(obj)
        t = obj["type"]
        if t == "cancel":
            return self.finish("cancelled", obj.get("reason"))
        if t == "hello" and self.state == "hello":
            self.sender_hello = obj
            if not is_uint(obj.get("version")) or obj["version"] < 1:
                raise ProtoError("version", "hello.version %r" % obj.get("version"))
            self.send({"type": "hello", "version": VERSION, "name": self.args.name, "kind": "device"})
            self.state = "offer"
        elif t == "offer" and self.state == "offer":
            self.on_offer(obj)
        elif t == "file" and self.state == "transfer":
            self.on_file(obj)
        elif t == "file-end" and self.state == "data":
            self.on_file_end(obj)
        elif t == "done" and self.state == "transfer":
            statuses = [{"id": f["id"], "status": f["status"] or "skipped"} for f in self.files]
            self.send({"type": "receipt", "transfer": self.transfer, "files": statuses})
            self.finish("receipt", None)
        elif t in ("hello", "offer", "accept", "decline", "file", "file-end", "file-ok",
                   "file-error", "done", "receipt"):
            raise ProtoError("invalid", "%s is out of place (state %s)" % (t, self.state))
        else:
            raise ProtoError("unsupported", "unknown type %r" % t)

    def on_offer(self, obj):
        tid, files = obj.get("transfer"), obj.get("files")
        if not (isinstance(tid, str) and HEX32.fullmatch(tid) and isinstance(files, list)):
            raise ProtoError("invalid", "offer without a 32-hex transfer or a files array")
        used = set()
        self.transfer = tid
        for i, f in enumerate(files):
            if not (isinstance(f, dict) and f.get("id") == i and is_uint(f.get("id"))):
                raise ProtoError("invalid", "offer: file %d has id %r" % (i, f.get("id") if isinstance(f, dict) else f))
            why = path_problem(f.get("path"))
            if why:
                raise ProtoError("invalid", "offer: file %d: path %r: %s" % (i, f.get("path"), why))
            mt = f.get("mtime")
            if not is_uint(f.get("size")) or not isinstance(mt, (int, float)) or isinstance(mt, bool):
                raise ProtoError("invalid", "offer: file %d: bad size or mtime" % i)
            name = f["path"].rsplit("/", 1)[-1]
            if name in used or name.endswith(".part"):
                name = "%d-%s" % (i, name)
            used.add(name)
            self.files.append({"id": i, "path": f["path"], "name": name, "size": f["size"],
                               "offset": 0, "received": 0, "sha256": None, "status": None,
                               "reason": None, "fd": None, "hash": None, "write_error": None})
        if self.args.decline is not None:
            self.send({"type": "decline", "transfer": tid, "reason": self.args.decline})
            return self.finish("declined", self.args.decline)
        self.send({"type": "accept", "transfer": tid,
                   "files": [{"id": f["id"], "offset": 0} for f in self.files]})
        self.state = "transfer"

    def on_file(self, obj):
        fid = obj.get("id")
        if not (is_uint(fid) and self.last_id < fid < len(self.files)):
            raise ProtoError("invalid", "file id %r not accepted or out of order" % (fid,))
        f = self.files[fid]
        if obj.get("offset") != f["offset"]:
            raise ProtoError("invalid", "file %d: offset %r, accepted %d" % (fid, obj.get("offset"), f["offset"]))
        self.last_id, self.cur, self.state = fid, f, "data"
        f["hash"] = hashlib.sha256()
        try:
            f["fd"] = os.open(os.path.join(self.args.dir, f["name"] + ".part"),
                              os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            f["write_error"] = e.strerror

    def on_file_end(self, obj):
        f = self.cur
        if obj.get("id") != f["id"]:
            raise ProtoError("invalid", "file-end for id %r inside file %d" % (obj.get("id"), f["id"]))
        sha = obj.get("sha256")
        if not (isinstance(sha, str) and HEX64.fullmatch(sha)):
            raise ProtoError("invalid", "file-end: sha256 is not 64 hex digits")
        if f["fd"] is not None:
            os.close(f["fd"])
            f["fd"] = None
        part = os.path.join(self.args.dir, f["name"] + ".part")
        got, want = f["offset"] + f["received"], f["size"]
        f["sha256"] = f["hash"].hexdigest()
        f["hash"] = None
        if f["write_error"]:
            reason = "write failed: %s" % f["write_error"]
        elif got > want:
            reason = "more bytes than announced"
        elif got < want:
            reason = "fewer bytes than announced"
        elif sha.lower() != f["sha256"]:
            reason = "sha256 mismatch"
            try:
                os.unlink(part)
            except OSError:
                pass
        else:
            reason = None
            try:
                os.replace(part, os.path.join(self.args.dir, f["name"]))
            except OSError as e:
                reason = "write failed: %s" % e.strerror
        f["status"], f["reason"] = ("failed", reason) if reason else ("verified", None)
        self.send({"type": "file-error", "id": f["id"], "reason": reason} if reason
                  else {"type": "file-ok", "id": f["id"]})
        self.cur, self.state = None, "transfer"

    def finish(self, outcome, reason):
        if self.cur and self.cur["fd"] is not None:
            os.close(self.cur["fd"])
        files = [{k: f[k] for k in ("id", "path", "name", "size", "offset", "received",
                                    "sha256", "status", "reason")} for f in self.files]
        ok = outcome == "receipt" and all(f["status"] == "verified" for f in files)
        report = {"peer": "aiortc-idrop", "mode": "receive", "session": self.sid, "ok": ok,
                  "outcome": outcome, "reason": reason, "transfer": self.transfer,
                  "sender": (self.sender_hello or {}).get("name"), "sender_hello": self.sender_hello,
                  "channel_protocol": self.ch.protocol, "files": files, "messages": self.messages}
        print(encode(report), flush=True)
        self.state = "offer" if outcome in ("receipt", "declined") else "closed"
        self.reset()
        self.server.finished(self, ok or (outcome == "declined" and self.args.decline is not None))


class Receiver:
    def __init__(self, args):
        self.args, self.pcs, self.n = args, set(), 0
        self.stop, self.rc = None, 0

    def finished(self, session, good):
        if self.args.once and not self.stop.is_set():
            self.rc = 0 if good else 1

            async def later():  # let the last answer reach the sender first
                await drain(session.pc, session.ch, 3)
                await asyncio.sleep(0.2)
                self.stop.set()
            asyncio.ensure_future(later())

    async def make_answer(self, offer_sdp):
        self.n += 1
        sid = self.n
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.add(pc)

        @pc.on("datachannel")
        def _on_dc(ch):
            log.info("session %d: channel %r protocol %r", sid, ch.label, ch.protocol)
            if ch.label != LABEL:
                return
            s = Session(self, sid, pc, ch)
            ch.on("message", s.on_message)
            ch.on("close", s.on_close)

        @pc.on("connectionstatechange")
        async def _on_state():
            log.info("session %d: connection %s", sid, pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                self.pcs.discard(pc)
                await pc.close()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            self.pcs.discard(pc)
            await pc.close()
            raise
        return sid, sent_sdp(self.args, pc.localDescription.sdp)

    async def handle(self, reader, writer):
        try:
            status, body = await asyncio.wait_for(self.serve_one(reader), 30)
        except Exception as e:  # timeout, bad request, bad offer
            log.warning("request failed: %r", e)
            status, body = 400, ("%s\n" % (e or "bad request")).encode()
        ctype = "application/sdp" if status == 201 else "text/plain"
        # As serve does (web/http.c): a page served by another device may POST here.
        cors = "Access-Control-Allow-Origin: *\r\n"
        if status == 204:
            cors += ("Access-Control-Allow-Methods: POST, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type\r\n"
                     "Access-Control-Max-Age: 600\r\n")
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n" % (
            status, {201: "Created", 204: "No Content"}.get(status, "Error"), ctype, len(body), cors)
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            writer.close()
        except (ConnectionError, OSError):
            pass

    async def serve_one(self, reader):
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if urllib.parse.urlsplit(target).path != "/api/offer":
            return 404, b"not found\n"
        if method == "OPTIONS":  # a browser's CORS preflight
            return 204, b""
        if method != "POST":
            return 405, b"use POST\n"
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/sdp":
            return 415, b"want Content-Type: application/sdp\n"
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_BODY:
            return 413, b"offer too large\n"
        sid, answer = await self.make_answer((await reader.readexactly(length)).decode("utf-8"))
        return 201, answer.encode("utf-8")

    async def run(self):
        self.stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        server = await asyncio.start_server(self.handle, self.args.bind, self.args.port,
                                            limit=MAX_HEADER, reuse_address=True)
        addr = server.sockets[0].getsockname()
        print("listening on %s:%d" % (addr[0], addr[1]), flush=True)
        await self.stop.wait()
        server.close()
        pcs = list(self.pcs)
        if pcs:
            await asyncio.wait([asyncio.ensure_future(pc.close()) for pc in pcs], timeout=3)
        return self.rc


# ---------------------------------------------------------------- main


def main(argv):
    ap = argparse.ArgumentParser(prog="idrop_peer.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    ps = sub.add_parser("send", help="send files to URL")
    ps.add_argument("url", metavar="URL")
    ps.add_argument("files", nargs="+", metavar="FILE")
    ps.add_argument("--as", dest="as_paths", action="append", default=[], metavar="PATH",
                    help="announced path of the next FILE (repeatable, in order)")
    ps.add_argument("--name", default="aiortc peer")
    ps.add_argument("--chunk", type=int, default=16 * 1024, metavar="BYTES")
    ps.add_argument("--expect-fingerprint", metavar="HEX")
    ps.add_argument("--timeout", type=float, default=60.0, metavar="S")
    ps.add_argument("--lie", metavar="LIE",
                    help="path=STRING, size-more, size-less, bad-hash or raw-json=TEXT")
    ps.add_argument("--pause-after", type=int, metavar="BYTES")
    ps.add_argument("--pause-file", metavar="PATH")
    ps.add_argument("--stop-after", type=int, metavar="BYTES")
    ps.add_argument("--extra-channel", dest="extra_channels", action="append", default=[], metavar="LABEL")
    pr = sub.add_parser("receive", help="serve POST /api/offer and receive files")
    pr.add_argument("--port", type=int, required=True, metavar="P")
    pr.add_argument("--bind", default="0.0.0.0", metavar="ADDR")
    pr.add_argument("--dir", default=".", metavar="DIR")
    pr.add_argument("--decline", metavar="REASON")
    pr.add_argument("--once", action="store_true")
    pr.add_argument("--name", default="aiortc receiver")
    for p in (ps, pr):
        p.add_argument("--ice-loopback", action="store_true",
                       help="self-tests: gather only a 127.0.0.1 host candidate")
        p.add_argument("--sdp-session-fingerprint", metavar="HEX",
                       help="attack tests: add a session-level a=fingerprint:sha-256 HEX to the SDP sent")
        p.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    if args.sdp_session_fingerprint and not re.fullmatch(r"[0-9a-fA-F]{64}", args.sdp_session_fingerprint.replace(":", "")):
        ap.error("--sdp-session-fingerprint wants 64 hex digits")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.verbose:
        log.setLevel(logging.INFO)
        if args.verbose > 1:
            logging.getLogger().setLevel(logging.DEBUG)
    if args.ice_loopback:
        restrict_ice_to_loopback()

    if args.mode == "receive":
        if not os.path.isdir(args.dir):
            ap.error("--dir %s is not a directory" % args.dir)
        if args.decline is not None and has_cc(args.decline):
            ap.error("--decline REASON must not hold control characters")
        return asyncio.run(Receiver(args).run())

    if (args.chunk < 1 or args.timeout <= 0 or len(args.as_paths) > len(args.files)
            or min(args.pause_after or 0, args.stop_after or 0) < 0):
        ap.error("--chunk must be >= 1, --timeout > 0, byte counts >= 0, at most one --as per FILE")
    if (args.pause_after is None) != (args.pause_file is None):
        ap.error("--pause-after and --pause-file go together")
    if args.lie and not re.fullmatch(r"path=.*|size-more|size-less|bad-hash|raw-json=.*", args.lie, re.S):
        ap.error("--lie: path=STRING, size-more, size-less, bad-hash or raw-json=TEXT")
    u = urllib.parse.urlsplit(args.url)
    if u.scheme != "http" or not u.netloc:
        ap.error("URL must be http://HOST:PORT[/api/offer]")
    if u.path in ("", "/"):
        args.url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/api/offer", u.query, ""))
    summary = {"peer": "aiortc-idrop", "mode": "send", "url": args.url, "ok": False,
               "declined": False, "reason": None, "stopped": False, "error": None,
               "transfer": None, "hello": None, "offered": [], "accepted": None,
               "bytes_sent": 0, "paused": False, "results": {}, "receipt": None,
               "messages": [], "binary_received": 0}
    rc = 1
    try:
        asyncio.run(asyncio.wait_for(run_send(args, summary), args.timeout + 10))
        rc = 0 if summary["ok"] else 3 if summary["declined"] else 1
        if rc == 3:
            summary["error"] = "declined: %r" % summary["reason"]
    except Stopped:
        summary["error"], rc = "stopped after %d bytes (--stop-after)" % summary["bytes_sent"], 4
    except PeerError as e:
        summary["error"] = str(e)
        rc = 3 if summary["declined"] else 1
    except asyncio.TimeoutError:
        summary["error"] = "timed out (closing took too long)"
    except KeyboardInterrupt:
        summary["error"], rc = "interrupted", 130
    print(encode(summary), flush=True)
    if rc:
        sys.stderr.write("%s: error: %s\n" % (PROG, summary["error"]))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
