#!/usr/bin/python3
"""exhaust_peer.py -- a hostile LAN host for t_exhaust.sh, built on Debian's
aiortc 1.4.0 (run it with /usr/bin/python3). Every mode is bounded in time.

  exhaust_peer.py channels URL N HOLD
      One connection that opens N "idrop" data channels and, on each, says
      hello and offers a 1 MB file it never sends; holds the connection HOLD
      seconds. Prints "open K closed C".

  exhaust_peer.py noread URL MIB HOLD
      One connection with an "echo" channel that sends MIB MiB and never
      reads the replies (a zero receive window: DATA from the device is
      kept, never delivered, so the window it advertises falls to 0).
      Prints "sent S closed yes|no" and holds HOLD seconds.

  exhaust_peer.py idle URL N HOLD
      Up to N connections made one after another, each with an "idrop"
      channel that never says hello; each is waited for (up to 10 s) before
      the next, so none is half-open when the next offer goes. Prints the
      HTTP status of every offer, then holds HOLD seconds.

  exhaust_peer.py tabs URL N HOLD
      N event streams (GET /api/events, as a tab attaches) named like a
      victim's phone, held open without reading further for HOLD seconds.
      Prints the HTTP status of each.
"""

import asyncio
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc import rtcsctptransport

STALL = False
_orig_receive = rtcsctptransport.RTCSctpTransport._receive_data_chunk


async def _stalled_receive(self, chunk):
    # A peer that stops reading: chunks are taken and acknowledged, but
    # never delivered, so the advertised window only shrinks.
    if not STALL:
        return await _orig_receive(self, chunk)
    self._sack_needed = True
    if self._mark_received(chunk.tsn):
        return
    self._get_inbound_stream(chunk.stream_id).add_chunk(chunk)
    self._advertised_rwnd -= len(chunk.user_data)


rtcsctptransport.RTCSctpTransport._receive_data_chunk = _stalled_receive


def post(url, sdp):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=sdp.encode(), method="POST",
                                 headers={"Content-Type": "application/sdp"})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


async def connect(url, labels):
    pc = RTCPeerConnection()
    chans = [pc.createDataChannel(label, ordered=True) for label in labels]
    await pc.setLocalDescription(await pc.createOffer())
    status, answer = await asyncio.get_running_loop().run_in_executor(
        None, post, url, pc.localDescription.sdp)
    if status != 201:
        await pc.close()
        return status, None, []
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return status, pc, chans


async def wait_open(chans, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(c.readyState == "connecting" for c in chans):
        await asyncio.sleep(0.05)


async def channels(url, n, hold):
    status, pc, chans = await connect(url, ["idrop"] * n)
    if not pc:
        print("offer %d" % status)
        return
    await wait_open(chans, 15)
    # Each one says hello and offers a file, as a sender would: a receiver
    # that took them all would plan (and, accepting, open) every one.
    for i, c in enumerate(chans):
        if c.readyState == "open":
            c.send(json.dumps({"type": "hello", "version": 1, "name": "many %d" % i, "kind": "device"}))
            c.send(json.dumps({"type": "offer", "transfer": os.urandom(16).hex(),
                               "files": [{"id": 0, "path": "many-%d.bin" % i, "size": 1000000,
                                          "mtime": 1700000000}]}))
    await asyncio.sleep(hold)
    print("open %d closed %d" % (sum(c.readyState == "open" for c in chans),
                                 sum(c.readyState == "closed" for c in chans)))
    await pc.close()


async def noread(url, mib, hold):
    global STALL
    status, pc, chans = await connect(url, ["echo"])
    if not pc:
        print("offer %d" % status)
        return
    ch = chans[0]
    await wait_open(chans, 15)
    if ch.readyState != "open":
        print("echo channel did not open")
        return
    STALL = True
    msg = bytes(16 * 1024)
    sent = 0
    end = time.monotonic() + 60
    while sent < mib * 1024 * 1024 and ch.readyState == "open" and time.monotonic() < end:
        if ch.bufferedAmount > 1024 * 1024:
            await asyncio.sleep(0.01)
            continue
        ch.send(msg)
        sent += len(msg)
    # What was queued still has to reach the device.
    while ch.readyState == "open" and ch.bufferedAmount > 0 and time.monotonic() < end:
        await asyncio.sleep(0.05)
    await asyncio.sleep(hold)
    print("sent %d closed %s" % (sent, "yes" if ch.readyState != "open" else "no"))
    await pc.close()


async def idle(url, n, hold):
    pcs = []
    codes = []
    for _ in range(n):
        status, pc, chans = await connect(url, ["idrop"])
        codes.append(str(status))
        if pc:
            pcs.append(pc)
            await wait_open(chans, 10)
    print(" ".join(codes), flush=True)
    await asyncio.sleep(hold)
    for pc in pcs:
        await pc.close()


async def tabs(url, n, hold):
    hostport = url.split("/")[2]
    host, port = hostport.rsplit(":", 1)
    socks, codes = [], []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(("GET /api/events?name=Ann%%27s%%20iPhone&fp=%s HTTP/1.1\r\nHost: %s\r\n\r\n"
                   % ("ab" * 32, hostport)).encode())
        head = s.recv(64).decode(errors="replace")
        codes.append(head.split(" ")[1] if head.startswith("HTTP/1.1 ") else "?")
        socks.append(s)
    print(" ".join(codes), flush=True)
    await asyncio.sleep(hold)
    for s in socks:
        s.close()


def main():
    mode, url = sys.argv[1], sys.argv[2]
    if not url.endswith("/api/offer"):
        url = url.rstrip("/") + "/api/offer"
    a, b = int(sys.argv[3]), float(sys.argv[4])
    fn = {"channels": channels, "noread": noread, "idle": idle, "tabs": tabs}[mode]
    asyncio.run(fn(url, a, b))


if __name__ == "__main__":
    main()
