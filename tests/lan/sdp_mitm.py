#!/usr/bin/python3
"""A man in the middle of the plain-HTTP signalling, for negative tests.

Listens on --listen HOST:PORT, forwards POST /api/offer to --upstream
http://HOST:PORT and returns the answer, after rewriting it as --mode says:
  fingerprint  replace the answer's a=fingerprint:sha-256 by a random one
               (an attacker swapping in its own certificate's fingerprint)
  blackhole    point every candidate, in the offer and in the answer, at
               --blackhole ADDR, where nobody listens (ICE cannot succeed)
  none         forward unchanged
Runs until SIGTERM; standard library only."""
import argparse
import http.server
import os
import re
import signal
import sys
import urllib.request


def rewrite_fingerprint(sdp):
    fake = ":".join("%02X" % b for b in os.urandom(32))
    return re.sub(r"(?im)^a=fingerprint:sha-256 [0-9A-F:]+", "a=fingerprint:sha-256 " + fake, sdp)


def rewrite_candidates(sdp, addr):
    # candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
    return re.sub(r"(?m)^(a=candidate:\S+ \d+ \S+ \d+ )\S+( \d+ typ)", r"\g<1>" + addr + r"\g<2>", sdp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", choices=["fingerprint", "blackhole", "none"], required=True)
    ap.add_argument("--blackhole", default="10.77.0.250")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            if n > 65536:
                self.send_error(413)
                return
            offer = self.rfile.read(n).decode()
            if args.mode == "blackhole":
                offer = rewrite_candidates(offer, args.blackhole)
            req = urllib.request.Request(args.upstream + self.path, data=offer.encode(),
                                         headers={"Content-Type": "application/sdp"}, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, answer = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                status, answer = e.code, e.read().decode()
            if status == 201 and args.mode == "fingerprint":
                answer = rewrite_fingerprint(answer)
            elif status == 201 and args.mode == "blackhole":
                answer = rewrite_candidates(answer, args.blackhole)
            body = answer.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/sdp")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("mitm: " + (fmt % a) + "\n")

    srv = http.server.HTTPServer((host, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("mitm: listening", flush=True)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
