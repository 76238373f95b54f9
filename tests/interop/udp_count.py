#!/usr/bin/env python3
"""Counts the UDP datagrams that reach each ADDR:PORT for SECONDS, then
prints {"ADDR:PORT": n, ...}; prints "listening" once every socket is bound.
The LAN tests use it to prove where ICE checks go (and where they do not).

usage: udp_count.py SECONDS ADDR:PORT...  (IPv4 addresses)
"""
import json
import select
import socket
import sys
import time

secs, socks = float(sys.argv[1]), {}
for ap in sys.argv[2:]:
    host, port = ap.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    socks[s] = [ap, 0]
print("listening", flush=True)
end = time.monotonic() + secs
while (left := end - time.monotonic()) > 0:
    for s in select.select(list(socks), [], [], left)[0]:
        s.recvfrom(2048)
        socks[s][1] += 1
print(json.dumps({ap: n for ap, n in socks.values()}), flush=True)
