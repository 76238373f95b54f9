#!/usr/bin/python3
"""aiortc_ack.py -- tests/interop/aiortc_peer.py with another
DATA_CHANNEL_ACK, for idrop-lan's interop tests (run it with /usr/bin/python3).

  aiortc_ack.py KIND aiortc_peer.py-ARGUMENTS...

KIND is how aiortc acknowledges a channel the other side opens (DCEP,
RFC 8832, PPID 50):
  pion   four bytes, the type and three zeros, as Pion and webrtc-rs send it
  none   never sent: a stack that takes the connection and never confirms a
         channel (the other side's OPEN stays unanswered)
Everything else is aiortc_peer.py's, e.g. `aiortc_ack.py none answer --port 7757`.
"""

import os
import runpy
import sys
from collections import deque

try:
    from aiortc import rtcsctptransport
except ImportError as e:  # pragma: no cover
    sys.stderr.write("aiortc_ack: error: cannot import aiortc (%s); install python3-aiortc "
                     "and run with /usr/bin/python3\n" % e)
    sys.exit(1)

if len(sys.argv) < 2 or sys.argv[1] not in ("pion", "none"):
    sys.stderr.write("usage: aiortc_ack.py pion|none aiortc_peer.py-ARGUMENTS...\n")
    sys.exit(2)
KIND = sys.argv[1]
_orig_flush = rtcsctptransport.RTCSctpTransport._data_channel_flush


async def _flush_with_other_ack(self):
    # aiortc 1.4 queues its one-byte ACK (type 2 on PPID 50) and flushes at
    # once: rewrite or drop it here, before it reaches SCTP.
    kept = deque()
    for channel, ppid, data in self._data_channel_queue:
        if ppid == rtcsctptransport.WEBRTC_DCEP and data == b"\x02":
            if KIND == "none":
                continue
            data = b"\x02\x00\x00\x00"
        kept.append((channel, ppid, data))
    self._data_channel_queue = kept
    return await _orig_flush(self)


rtcsctptransport.RTCSctpTransport._data_channel_flush = _flush_with_other_ack
peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiortc_peer.py")
sys.argv = [peer] + sys.argv[2:]
runpy.run_path(peer, run_name="__main__")
