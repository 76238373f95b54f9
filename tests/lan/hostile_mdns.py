#!/usr/bin/python3
"""A hostile mDNS responder for tests/lan/discovery.sh: on its own test host
(no other responder there), it answers every one-shot query (a query from a
port other than 5353, RFC 6762 section 5.1) for _idrop._tcp with packets
that are malformed, lie, or carry escape sequences, and with two honest
devices, which prove it is heard at all: "Good TAG", answered whole, and
"Split TAG", whose first answer holds only its PTR record, so that its
SRV, TXT and address come only to the follow-up queries that ask for them.
It never answers multicast queries from port 5353, so only the one-shot
path sees it.

    hostile_mdns.py ADDRESS TAG FINGERPRINT   (stops on SIGTERM)

Every answer goes only to the address and port the query came from, which
on the test LAN is one of its hosts."""
import socket
import struct
import sys

ADDR, TAG, FP = sys.argv[1], sys.argv[2], sys.argv[3]
TYPE = b"_idrop._tcp.local"


def name(text):
    out = b""
    for label in text.split(b".") if isinstance(text, bytes) else text:
        out += bytes([len(label)]) + label
    return out + b"\0"


def labels(instance, rest=TYPE):
    return name([instance] + rest.split(b"."))


def rr(owner, rtype, rdata, ttl=120, rclass=0x8001):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def txt(*items):
    return b"".join(bytes([len(i)]) + i for i in items)


def srv(port, target):
    return struct.pack(">HHH", 0, 0, port) + target


def device(instance, host=None, fp=FP.encode(), n=None, port=7757, addr=ADDR):
    """The four records of one device, all uncompressed."""
    host = host if host is not None else name([b"hostile", b"local"])
    owner = labels(instance)
    items = [b"v=1", b"fp=" + fp] + ([b"n=" + n] if n is not None else [])
    return [rr(name(TYPE), 12, owner, rclass=1), rr(owner, 16, txt(*items)),
            rr(owner, 33, srv(port, host)), rr(host, 1, socket.inet_aton(addr))]


def packet(qid, records, ancount=None, flags=0x8400):
    n = len(records) if ancount is None else ancount
    return struct.pack(">HHHHHH", qid, flags, 0, n, 0, 0) + b"".join(records)


def answers(qid):
    tag = TAG.encode()
    good = device(b"Good " + tag, host=name([b"good-" + tag.lower(), b"local"]))
    yield packet(qid, good)
    # Names and TXT values that would redraw a terminal.
    yield packet(qid, device(b"Esc\x1b[31m " + tag))
    yield packet(qid, device(b"Bidi\xe2\x80\xae " + tag))
    yield packet(qid, device(b"Host " + tag, host=name([b"ev\x1b]0;pwn\x07il", b"local"])))
    yield packet(qid, device(b"Dot " + tag, host=name([b"a.b", b"local"])))
    yield packet(qid, device(b"Txt " + tag, n=b"\x1b[2J" + tag))
    # Not an idrop-lan record: no fingerprint.
    yield packet(qid, device(b"Nofp " + tag, fp=b"xyz"))
    # The whole packet dropped: a count that lies (a valid device in it).
    yield packet(qid, device(b"Lies " + tag), ancount=9)
    # A compression pointer to itself in the PTR rdata.
    bad = device(b"Loop " + tag)
    hdr = 12
    owner_off = hdr + len(name(TYPE)) + 10
    bad[0] = rr(name(TYPE), 12, b"\x04Loop" + struct.pack(">H", 0xC000 | (owner_off + 5)), rclass=1)
    yield packet(qid, bad)
    # A forward pointer, and one out of the packet.
    yield packet(qid, [rr(b"\xc0\xff", 12, b"\0")] + device(b"Fwd " + tag))
    yield packet(qid, [rr(b"\xff\xff", 12, b"\0")] + device(b"Out " + tag))
    # A label over 63 bytes, and a name over 255.
    yield packet(qid, device(b"L" * 64))
    yield packet(qid, device(b"Long " + tag, host=name([b"x" * 60] * 5)))
    # An A record of 3 bytes; an SRV cut short.
    d = device(b"Short " + tag)
    d[3] = rr(name([b"hostile", b"local"]), 1, b"\x0a\x4d\x00")
    yield packet(qid, d)
    d = device(b"Srv " + tag)
    d[2] = rr(labels(b"Srv " + tag), 33, b"\0\0\x1e")
    yield packet(qid, d)
    # A truncated packet.
    yield packet(qid, device(b"Cut " + tag))[:-3]
    # Not an answer to this query: another id, or a query.
    yield packet(qid ^ 0x5555, device(b"Wrongid " + tag))
    yield packet(qid, device(b"Query " + tag), flags=0)


def flood(qid):
    """Instances without records, each asking for follow-ups: what a
    responder gets kept is bounded, so it crowds out only its own."""
    return packet(qid, [rr(name(TYPE), 12, labels(b"F%d" % i), rclass=1) for i in range(150)])


def split_records():
    tag = TAG.encode()
    return device(b"Split " + tag, host=name([b"split-" + tag.lower(), b"local"]))


def question(data):
    """The first question's (lowercased name, type): ours are uncompressed."""
    off, labels_ = 12, []
    while off < len(data) and data[off] and len(labels_) < 128:
        n = data[off]
        labels_.append(data[off + 1:off + 1 + n].lower())
        off += 1 + n
    qtype = struct.unpack(">H", data[off + 1:off + 3])[0] if off + 3 <= len(data) else 0
    return b".".join(labels_), qtype


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 5353))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    mreq = socket.inet_aton("224.0.0.251") + socket.inet_aton(ADDR)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    # Answers from another port are no answers (RFC 6762 section 6.7).
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind((ADDR, 0))
    print("ready", flush=True)
    while True:
        data, src = s.recvfrom(9000)
        if len(data) < 12 or src[1] == 5353:
            continue
        qid = struct.unpack(">H", data[:2])[0]
        qname, qtype = question(data)
        split = split_records()
        if qname == TYPE.lower() and qtype == 12:
            for p in answers(qid):
                s.sendto(p, src)
            s.sendto(packet(qid, split[:1]), src)
            other.sendto(packet(qid, device(b"Port " + TAG.encode())), src)
        elif qname == b"split " + TAG.lower().encode() + b"." + TYPE.lower():
            s.sendto(packet(qid, split[1:3]), src)
        elif qname == b"split-" + TAG.lower().encode() + b".local" and qtype == 1:
            s.sendto(packet(qid, split[3:]), src)
            s.sendto(flood(qid), src)
        else:
            continue
        print("answered %s:%d %s %d" % (src + (qname.decode("ascii", "replace"), qtype)), flush=True)


main()
