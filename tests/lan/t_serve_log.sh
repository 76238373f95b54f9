#!/bin/bash
# What `serve -v` says when a connection ends the usual way: a peer that
# closes its DTLS session while its SCTP association is up (serve's own
# close then has nobody to send its ABORT to), and a tab's event stream
# whose client leaves. Neither is a failure, and neither may read as one
# ("sctp: sending a 20-byte packet failed: Broken pipe", "http: Closing
# connection (application error generating response)"); a real HTTP error
# (a malformed request) still logs.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
AIORTC=$TOP/tests/interop/aiortc_peer.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || lan_skip "$PY cannot import aiortc (make deps installs python3-aiortc)"
lan_require timeout curl
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
# The lines serve -v wrote after mark N (a line count).
since() { tail -n "+$(($1 + 1))" "$(log serve)"; }
mark() { wc -l <"$(log serve)"; }

lan_spawn a "$(log serve)" "$BIN" serve -v --name "Log ${LAN_PREFIX: -4}"
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve on a started"

# --- a peer closes DTLS first ---------------------------------------------------
m=$(mark)
rc=0; lan_run b timeout 60 "$PY" "$AIORTC" offer "http://$A:7757/api/offer" --text 2 --binary-bytes 65536 \
	--timeout 20 --close-dtls-first >"$(log aiortc)" 2>&1 || rc=$?
lan_wait_for 10 sh -c "tail -n +$((m + 1)) '$(log serve)' | grep -q 'peer closed'" || true
lan_diag "serve -v, peer closed DTLS first: $(since "$m" | grep -E '^idrop-lan: (sctp|dtls|peer)' | tr '\n' ';')"
lan_check "an aiortc peer echoes and then closes its DTLS session first" test "$rc" = 0
lan_check "serve -v reads that end as one (the peer closed), with no send failure" \
	test -n "$(since "$m" | grep 'peer closed')" -a -z "$(since "$m" | grep -E 'packet failed|Broken pipe')"

# --- a tab's event stream ends ---------------------------------------------------
m=$(mark)
fp=$(printf '%064d' 7)
rc=0; lan_run b curl -sN --max-time 2 -o "$LAN_DIR/events" \
	"http://$A:7757/api/events?name=LogTab&fp=$fp" || rc=$?
lan_wait_for 5 sh -c "tail -n +$((m + 1)) '$(log serve)' | grep -q 'LogTab'" || true
sleep 0.5
lan_diag "serve -v, a tab left: $(since "$m" | grep -E 'http:|LogTab|tab' | tr '\n' ';')"
lan_check "the tab's event stream opened (curl ended it at its time limit, 28)" \
	test "$rc" = 28 -a -s "$LAN_DIR/events"
lan_check "serve -v does not call a tab leaving an application error" \
	test -z "$(since "$m" | grep -E 'application error|Closing connection')"

# --- a real HTTP error still logs -------------------------------------------
m=$(mark)
lan_run b "$PY" - "$A" <<'EOF' || true
import socket, sys
s = socket.create_connection((sys.argv[1], 7757), timeout=5)
s.sendall(b"GET /api/info HTTP/1.1\r\nHost: " + sys.argv[1].encode() + b":7757\r\nno colon here\r\n\r\n")
try:
    s.recv(4096)
except OSError:
    pass
EOF
lan_wait_for 5 sh -c "tail -n +$((m + 1)) '$(log serve)' | grep -q 'http:'" || true
lan_diag "serve -v, a malformed request: $(since "$m" | grep 'http:' | tr '\n' ';')"
lan_check "a malformed HTTP request still logs (http: ...)" test -n "$(since "$m" | grep 'http:')"

rc=0; lan_stop "$pid_serve" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM afterwards" test "$rc" = 0
lan_done
