#!/usr/bin/python3
"""aiortc_peer.py -- an independent WebRTC data-channel peer for idrop-lan's
interoperability tests, built on Debian's aiortc 1.4.0 (python3-aiortc).

Run it with /usr/bin/python3 (Debian's interpreter, where python3-aiortc lives).

  aiortc_peer.py offer URL [--text N] [--binary-bytes B] [--chunk C]
                 [--expect-fingerprint HEX] [--timeout S] [-v]
      Offerer. Creates a data channel labelled "echo" (ordered, reliable),
      waits for ICE gathering to complete, POSTs the complete offer to URL
      (Content-Type: application/sdp; a bare http://HOST:PORT means
      http://HOST:PORT/api/offer), expects "201 Created" with the SDP
      answer, waits for the channel to open, sends N text messages and then B
      bytes of binary data in C-byte messages (default 16 KiB), and checks that
      every echo comes back intact, with its type, in order. Prints one JSON
      summary line on stdout; exit 0 on success, 1 on any failure or timeout
      (with "aiortc_peer: error: ..." on stderr and "ok": false in the JSON).

  aiortc_peer.py answer --port P [--bind ADDR] [--mangle K] [-v]
      Answerer, a stand-in for `idrop-lan serve`: a small HTTP server taking
      POST /api/offer (application/sdp, a complete non-trickle offer) and
      answering 201 Created with the SDP answer once gathering is complete
      (a=end-of-candidates). Echoes every message received on any data channel
      labelled "echo". Prints "listening on ADDR:PORT" once ready. Runs until
      SIGTERM/SIGINT, then exits 0. --mangle K (for self-tests of the checks
      in the offerers) corrupts the K-th echo of every session: one byte of a
      binary message flipped in the middle, or a text's last character -> "!".

Test payloads (shared with tests/browser/peer.mjs, so any side can check bytes):
  text message i (0-based) of n:  "idrop-echo text i/n ünïcödé ✓ " + "x" * (i*37 % 500)
  binary data: one byte stream, cut into messages of C bytes (last one shorter),
  made by xorshift32 (x ^= x<<13; x ^= x>>17; x ^= x<<5, 32-bit) from state
  0x9E3779B9; each step yields 4 bytes, little-endian. The stream starts
  19 46 0c 51 3e 55 2e e0; its first 200000 bytes have SHA-256
  a7ae6994247424d8e79b47f2362c606435e5dbe1ae3ba67613449da477c4fb05.
"""

import argparse
import asyncio
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
    sys.stderr.write(
        "aiortc_peer: error: cannot import aiortc (%s); install python3-aiortc "
        "and run with /usr/bin/python3\n" % e
    )
    sys.exit(1)

PROG = "aiortc_peer"
LABEL = "echo"
MAX_BODY = 256 * 1024
MAX_HEADER = 16 * 1024


# ---------------------------------------------------------------- payloads


def text_message(i, n):
    return "idrop-echo text %d/%d ünïcödé ✓ " % (i, n) + "x" * (i * 37 % 500)


def prng_stream(nbytes, state=0x9E3779B9):
    """The xorshift32 test byte stream, nbytes long."""
    out = bytearray((nbytes + 3) & ~3)
    x = state
    mask = 0xFFFFFFFF
    for off in range(0, len(out), 4):
        x ^= (x << 13) & mask
        x ^= x >> 17
        x ^= (x << 5) & mask
        out[off] = x & 0xFF
        out[off + 1] = (x >> 8) & 0xFF
        out[off + 2] = (x >> 16) & 0xFF
        out[off + 3] = x >> 24
    del out[nbytes:]
    return bytes(out)


# ---------------------------------------------------------------- helpers


class PeerError(Exception):
    pass


def now():
    return time.monotonic()


def ms(t0, t1):
    return round((t1 - t0) * 1000, 1)


def norm_fp(s):
    s = s.strip()
    if " " in s:  # "sha-256 AB:CD..." -> "AB:CD..."
        s = s.split()[-1]
    return s.replace(":", "").upper()


def sdp_fingerprints(sdp):
    return [m.group(1).strip() for m in re.finditer(r"^a=fingerprint:(.+?)\r?$", sdp, re.M)]


def sdp_summary(sdp):
    cands = re.findall(r"^a=candidate:(.+?)\r?$", sdp, re.M)
    return {
        "candidates": cands,
        "end_of_candidates": bool(re.search(r"^a=end-of-candidates\r?$", sdp, re.M)),
        "fingerprints": sdp_fingerprints(sdp),
        "setup": re.findall(r"^a=setup:(\S+)", sdp, re.M),
        "m": re.findall(r"^m=(.+?)\r?$", sdp, re.M),
    }


def selected_pair(pc):
    """'local -> remote' of the nominated ICE pair, best effort."""
    try:
        sctp = pc.sctp
        conn = sctp.transport.transport._connection
        for pair in conn._nominated.values():
            return "%s:%d -> %s:%d" % (pair.local_addr + pair.remote_addr)
    except Exception:  # aiortc internals; diagnostics only
        pass
    return None


def setup_logging(verbose):
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if verbose:
        # aioice logs candidate resolution ("... resolved to ...") and pair checks at INFO.
        logging.getLogger("aioice.ice").setLevel(logging.INFO)
        logging.getLogger(PROG).setLevel(logging.INFO)
        if verbose > 1:
            logging.getLogger().setLevel(logging.DEBUG)


log = logging.getLogger(PROG)


# ---------------------------------------------------------------- offer mode


def http_post_sdp(url, sdp, timeout):
    """POST the offer; returns (status, headers, body). No proxies, ever."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(
        url,
        data=sdp.encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/sdp", "Accept": "application/sdp"},
    )
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read(MAX_BODY + 1)
    except urllib.error.HTTPError as e:
        body = e.read(4096) if e.fp else b""
        return e.code, dict(e.headers or {}), body


async def run_offer(args, summary):
    t0 = now()
    phase = "setup"
    deadline = t0 + args.timeout

    def left():
        r = deadline - now()
        if r <= 0:
            raise asyncio.TimeoutError()
        return r

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates only
    try:
        ch = pc.createDataChannel(LABEL, ordered=True)
        opened = asyncio.get_running_loop().create_future()
        rxq = asyncio.Queue()
        closed = {"v": False}

        @ch.on("open")
        def _on_open():
            if not opened.done():
                opened.set_result(True)

        @ch.on("message")
        def _on_message(m):
            rxq.put_nowait(m)

        @ch.on("close")
        def _on_close():
            closed["v"] = True
            rxq.put_nowait(None)

        @pc.on("connectionstatechange")
        def _on_state():
            log.info("connection state %s", pc.connectionState)
            if pc.connectionState == "failed":
                if not opened.done():
                    opened.set_exception(PeerError("peer connection failed (ICE/DTLS)"))
                rxq.put_nowait(None)

        try:
            # -- gather: aiortc's setLocalDescription returns once gathering is complete.
            phase = "gather"
            offer = await asyncio.wait_for(pc.createOffer(), left())
            await asyncio.wait_for(pc.setLocalDescription(offer), left())
            if pc.iceGatheringState != "complete":
                raise PeerError("ICE gathering not complete after setLocalDescription")
            offer_sdp = pc.localDescription.sdp
            t_gather = now()
            summary["offer"] = sdp_summary(offer_sdp)
            log.info("offer:\n%s", offer_sdp)

            # -- signal
            phase = "post"
            status, headers, body = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(
                    None, http_post_sdp, args.url, offer_sdp, max(1.0, left())
                ),
                left(),
            )
            t_post = now()
            hdrs = {k.lower(): v for k, v in headers.items()}
            summary["http_status"] = status
            if "location" in hdrs:
                summary["location"] = hdrs["location"]
            if status != 201:
                raise PeerError(
                    "POST %s: expected 201 Created, got %d: %s"
                    % (args.url, status, body[:300].decode("utf-8", "replace").strip())
                )
            ctype = hdrs.get("content-type", "")
            if ctype.split(";")[0].strip().lower() != "application/sdp":
                raise PeerError("answer Content-Type is %r, want application/sdp" % ctype)
            if len(body) > MAX_BODY:
                raise PeerError("answer larger than %d bytes" % MAX_BODY)
            try:
                answer_sdp = body.decode("utf-8")
            except UnicodeDecodeError:
                raise PeerError("answer is not UTF-8")
            if not answer_sdp.startswith("v=0"):
                raise PeerError("answer does not look like SDP: %r" % answer_sdp[:80])
            summary["answer"] = sdp_summary(answer_sdp)
            log.info("answer:\n%s", answer_sdp)

            if args.expect_fingerprint:
                fps = summary["answer"]["fingerprints"]
                want = norm_fp(args.expect_fingerprint)
                if not fps:
                    raise PeerError("answer has no a=fingerprint")
                bad = [f for f in fps if norm_fp(f) != want]
                if bad:
                    raise PeerError(
                        "answer fingerprint %s != expected %s" % (bad[0], args.expect_fingerprint)
                    )
                summary["fingerprint_ok"] = True

            # -- connect
            phase = "connect"
            try:
                await asyncio.wait_for(
                    pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer")),
                    left(),
                )
            except (ValueError, KeyError, IndexError) as e:
                raise PeerError("answer rejected by aiortc: %s" % e)
            await asyncio.wait_for(asyncio.shield(opened), left())
            t_open = now()
            summary["selected_pair"] = selected_pair(pc)

            # -- transfer
            phase = "transfer"
            expected = []  # (kind, payload)
            for i in range(args.text):
                expected.append(("text", text_message(i, args.text)))
            stream = prng_stream(args.binary_bytes)
            for off in range(0, len(stream), args.chunk):
                expected.append(("binary", stream[off : off + args.chunk]))

            low = asyncio.Event()
            ch.bufferedAmountLowThreshold = 256 * 1024

            @ch.on("bufferedamountlow")
            def _on_low():
                low.set()

            async def sender():
                for _kind, payload in expected:
                    while ch.bufferedAmount > 1024 * 1024:
                        low.clear()
                        await low.wait()
                    if ch.readyState != "open":
                        raise PeerError("channel closed while sending")
                    ch.send(payload)

            async def receiver():
                got_bytes = 0
                for idx, (kind, payload) in enumerate(expected):
                    m = await rxq.get()
                    if m is None:
                        raise PeerError(
                            "channel closed/failed after %d of %d echoes" % (idx, len(expected))
                        )
                    mk = "text" if isinstance(m, str) else "binary"
                    if mk != kind:
                        raise PeerError(
                            "echo %d: got a %s message, sent %s" % (idx, mk, kind)
                        )
                    if m != payload:
                        if kind == "binary" and len(m) == len(payload):
                            first = next(j for j in range(len(m)) if m[j] != payload[j])
                            detail = "first difference at byte %d" % first
                        else:
                            detail = "%d bytes back, %d sent" % (
                                len(m if kind == "binary" else m.encode()),
                                len(payload if kind == "binary" else payload.encode()),
                            )
                        raise PeerError("echo %d (%s) differs: %s" % (idx, kind, detail))
                    got_bytes += len(m) if kind == "binary" else len(m.encode("utf-8"))
                summary["echoed_bytes"] = got_bytes

            await asyncio.wait_for(asyncio.gather(sender(), receiver()), left())
            t_done = now()
            # No extra message may follow.
            await asyncio.sleep(0.05)
            if not rxq.empty() and rxq.get_nowait() is not None:
                raise PeerError("unexpected extra message after the last echo")

            summary.update(
                {
                    "text_messages": args.text,
                    "text_bytes": sum(len(p.encode("utf-8")) for k, p in expected if k == "text"),
                    "binary_messages": sum(1 for k, _ in expected if k == "binary"),
                    "binary_bytes": len(stream),
                    "ms": {
                        "gather": ms(t0, t_gather),
                        "post": ms(t_gather, t_post),
                        "connect": ms(t_post, t_open),
                        "transfer": ms(t_open, t_done),
                        "total": ms(t0, t_done),
                    },
                }
            )
            secs = t_done - t_open
            if stream and secs > 0:
                summary["binary_MBps"] = round(2 * len(stream) / secs / 1e6, 2)  # both ways
            phase = "close"
            ch.close()
        except asyncio.TimeoutError:
            raise PeerError(
                "timed out after %.1f s in phase '%s'%s"
                % (
                    args.timeout,
                    phase,
                    " (ICE/DTLS/SCTP never opened the channel; connection state %s)"
                    % pc.connectionState
                    if phase == "connect"
                    else "",
                )
            )
        except (urllib.error.URLError, OSError) as e:
            raise PeerError("phase '%s': %s" % (phase, getattr(e, "reason", e)))
    finally:
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception:
            pass


# ---------------------------------------------------------------- answer mode


class EchoServer:
    def __init__(self, args):
        self.args = args
        self.pcs = set()
        self.n = 0

    async def make_answer(self, offer_sdp):
        self.n += 1
        sid = self.n
        t_req = now()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates only
        self.pcs.add(pc)
        stats = {"msgs": 0, "bytes": 0}

        @pc.on("datachannel")
        def _on_dc(ch):
            log.info("session %d: data channel %r id=%s opened", sid, ch.label, ch.id)
            if ch.label != LABEL:
                return

            @ch.on("message")
            def _on_message(m):
                stats["msgs"] += 1
                stats["bytes"] += len(m) if isinstance(m, bytes) else len(m.encode("utf-8"))
                if stats["msgs"] == self.args.mangle:  # self-test of the offerers' checks
                    if isinstance(m, bytes) and m:
                        j = len(m) // 2
                        m = m[:j] + bytes([m[j] ^ 0xFF]) + m[j + 1 :]
                    else:
                        m = m[:-1] + "!"
                    print("session %d: mangled echo %d" % (sid, stats["msgs"]), flush=True)
                if ch.readyState == "open":
                    ch.send(m)

            @ch.on("close")
            def _on_close():
                print(
                    "session %d: echo channel closed after %d messages, %d bytes"
                    % (sid, stats["msgs"], stats["bytes"]),
                    flush=True,
                )

        @pc.on("connectionstatechange")
        async def _on_state():
            st = pc.connectionState
            print("session %d: connection %s" % (sid, st), flush=True)
            if st == "connected":
                pair = selected_pair(pc)
                if pair:
                    print("session %d: selected pair %s" % (sid, pair), flush=True)
            if st in ("failed", "closed"):
                self.pcs.discard(pc)
                await pc.close()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)  # returns once gathering is complete
        except Exception:
            self.pcs.discard(pc)
            await pc.close()
            raise
        cands = re.findall(r"^a=candidate:(.+?)\r?$", offer_sdp, re.M)
        print(
            "session %d: offer with %d candidate(s): %s; answered in %.1f ms"
            % (sid, len(cands), "; ".join(cands) or "-", ms(t_req, now())),
            flush=True,
        )
        return sid, pc.localDescription.sdp

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        try:
            status, ctype, body, extra = await asyncio.wait_for(self.serve_one(reader), 30)
        except asyncio.TimeoutError:
            status, ctype, body, extra = 408, "text/plain", b"request timeout\n", {}
        except Exception as e:
            log.warning("request from %s failed: %s", peer, e)
            status, ctype, body, extra = 500, "text/plain", b"internal error\n", {}
        reasons = {201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                   408: "Request Timeout", 413: "Payload Too Large", 415: "Unsupported Media Type",
                   500: "Internal Server Error"}
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n" % (
            status, reasons.get(status, "Error"), ctype, len(body))
        for k, v in extra.items():
            head += "%s: %s\r\n" % (k, v)
        try:
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def serve_one(self, reader):
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return 400, "text/plain", b"header too large\n", {}
        except asyncio.IncompleteReadError:
            return 400, "text/plain", b"incomplete request\n", {}
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return 400, "text/plain", b"bad request line\n", {}
        method, target = parts[0], parts[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        path = urllib.parse.urlsplit(target).path
        if path != "/api/offer":
            return 404, "text/plain", b"not found\n", {}
        if method != "POST":
            return 405, "text/plain", b"use POST\n", {"Allow": "POST"}
        if headers.get("transfer-encoding"):
            return 400, "text/plain", b"chunked bodies not supported\n", {}
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            return 400, "text/plain", b"Content-Length required\n", {}
        if length < 0 or length > MAX_BODY:
            return 413, "text/plain", b"offer too large\n", {}
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/sdp":
            return 415, "text/plain", b"want Content-Type: application/sdp\n", {}
        body = await reader.readexactly(length)
        try:
            offer = body.decode("utf-8")
            sid, answer = await self.make_answer(offer)
        except Exception as e:
            return 400, "text/plain", ("bad offer: %s\n" % e).encode(), {}
        return 201, "application/sdp", answer.encode("utf-8"), {"Location": "/api/session/%d" % sid}

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await asyncio.start_server(
            self.handle, self.args.bind, self.args.port, limit=MAX_HEADER, reuse_address=True
        )
        addr = server.sockets[0].getsockname()
        print("listening on %s:%d" % (addr[0], addr[1]), flush=True)
        await stop.wait()
        print("stopping", flush=True)
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), 2)
        except asyncio.TimeoutError:
            pass
        pcs = list(self.pcs)
        if pcs:
            await asyncio.wait(
                [asyncio.ensure_future(pc.close()) for pc in pcs], timeout=3
            )
        return 0


# ---------------------------------------------------------------- main


def main(argv):
    ap = argparse.ArgumentParser(prog="aiortc_peer.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    po = sub.add_parser("offer", help="offer to URL and round-trip echo messages")
    po.add_argument("url", metavar="URL",
                    help="e.g. http://10.77.0.2:7757/api/offer (a bare http://HOST:PORT gets /api/offer)")
    po.add_argument("--text", type=int, default=10, metavar="N")
    po.add_argument("--binary-bytes", type=int, default=0, metavar="B")
    po.add_argument("--chunk", type=int, default=16 * 1024, metavar="C",
                    help="binary message size (default 16384; aiortc allows up to 65536)")
    po.add_argument("--expect-fingerprint", metavar="HEX")
    po.add_argument("--timeout", type=float, default=30.0, metavar="S")
    po.add_argument("-v", "--verbose", action="count", default=0)
    pa = sub.add_parser("answer", help="serve POST /api/offer and echo")
    pa.add_argument("--port", type=int, required=True, metavar="P")
    pa.add_argument("--bind", default="0.0.0.0", metavar="ADDR")
    pa.add_argument("--mangle", type=int, default=0, metavar="K",
                    help="self-test only: corrupt the K-th echo (1-based) of every session")
    pa.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    setup_logging(args.verbose)

    if args.mode == "answer":
        return asyncio.run(EchoServer(args).run())

    if args.text < 0 or args.binary_bytes < 0 or not (1 <= args.chunk <= 65536) or args.timeout <= 0:
        ap.error("--text/--binary-bytes must be >= 0, --chunk 1..65536, --timeout > 0")
    u = urllib.parse.urlsplit(args.url)
    if u.scheme not in ("http", "https") or not u.netloc:
        ap.error("URL must be http://HOST:PORT[/api/offer]")
    if u.path in ("", "/"):  # a device's base URL
        args.url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/api/offer", u.query, ""))
    summary = {"peer": "aiortc", "mode": "offer", "url": args.url, "ok": False}
    try:
        asyncio.run(asyncio.wait_for(run_offer(args, summary), args.timeout + 10))
        summary["ok"] = True
        rc = 0
    except PeerError as e:
        summary["error"] = str(e)
        rc = 1
    except asyncio.TimeoutError:
        summary["error"] = "timed out (closing took too long)"
        rc = 1
    except KeyboardInterrupt:
        summary["error"] = "interrupted"
        rc = 130
    for k in ("offer", "answer"):  # keep the summary line readable
        if k in summary:
            summary[k] = {
                "candidates": summary[k]["candidates"],
                "end_of_candidates": summary[k]["end_of_candidates"],
                "fingerprint": (summary[k]["fingerprints"] or [None])[0],
                "setup": summary[k]["setup"],
                "m": summary[k]["m"],
            }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    if rc:
        sys.stderr.write("%s: error: %s\n" % (PROG, summary["error"]))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
