#!/bin/bash
# What `serve -v` says when a connection ends the usual way: a peer that
# closes its DTLS session while its SCTP association is up (serve's own
# close then has nobody to send its ABORT to), `send` and `ping` ending
# with an SCTP SHUTDOWN (not an ABORT), and a tab's event stream whose
# client leaves. None is a failure, and none may read as one ("sctp:
# sending a 20-byte packet failed: Broken pipe", "the peer is gone or
# aborted (error 12)", "http: Closing connection (application error
# generating response)"); a sender killed mid-transfer and a real HTTP
# error (a malformed request) still log as errors.
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

DL=$LAN_DIR/dl SRC=$LAN_DIR/src
mkdir -p "$DL" "$SRC"
head -c 100000 /dev/urandom >"$SRC/small"
head -c $((96 << 20)) /dev/urandom >"$SRC/big"
lan_spawn a "$(log serve)" "$BIN" serve -v --accept=all --dir "$DL" --name "Log ${LAN_PREFIX: -4}"
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

# --- send and ping end with an SCTP SHUTDOWN ---------------------------------------
# Serve's own debug lines say which chunk ended the association: the peer's
# SHUTDOWN ("the peer sent SHUTDOWN", then "shutdown complete"), or an
# ABORT ("the peer is gone or aborted (error 12)").
normal_end() { # WHAT M: serve's lines since M tell a graceful end, once
	local lines
	lan_wait_for 10 sh -c "tail -n +$(($2 + 1)) '$(log serve)' | grep -q 'peer closed'" || true
	lines=$(since "$2")
	lan_diag "serve -v after $1: $(grep -E 'sctp:|peer closed' <<<"$lines" | tr '\n' ';')"
	lan_check "$1 ends the association with SHUTDOWN (serve: 'the peer sent SHUTDOWN', 'shutdown complete')" \
		test -n "$(grep 'the peer sent SHUTDOWN' <<<"$lines")" -a -n "$(grep 'shutdown complete' <<<"$lines")"
	lan_check "serve logs $1's end as one calm line ('peer closed normally'), no abort, no error" \
		test "$(grep -c 'peer closed' <<<"$lines")" = 1 -a -n "$(grep 'peer closed normally' <<<"$lines")" \
		-a -z "$(grep -E 'aborted|error 12|packet failed|Broken pipe' <<<"$lines")"
}
m=$(mark)
rc=0; lan_run b timeout 60 "$BIN" send --quiet "$A:7757" "$SRC/small" 2>"$(log send.err)" || rc=$?
lan_check "send a small file to serve: exit 0" test "$rc" = 0
normal_end send "$m"
m=$(mark)
rc=0; lan_run b timeout 60 "$BIN" ping -v --count 2 "$A:7757" >"$(log ping)" 2>&1 || rc=$?
lan_check "ping serve: exit 0" test "$rc" = 0
normal_end ping "$m"

# --- receive waits for the sender's SHUTDOWN, then exits by itself -----------------
lan_spawn b "$(log receive)" "$BIN" receive -v --accept=all --dir "$LAN_DIR/dl-b" --name "Rcv ${LAN_PREFIX: -4}"
pid_recv=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log receive)" || lan_fail "receive on b started"
rc=0; lan_run a timeout 60 "$BIN" send -v --quiet "$(lan_addr b):7757" "$SRC/small" 2>"$(log send-recv.err)" || rc=$?
gone=0; lan_wait_for 10 sh -c "! kill -0 $pid_recv 2>/dev/null" && gone=1
rc_recv=0; lan_stop "$pid_recv" TERM 5 || rc_recv=$?
lan_diag "receive -v: $(grep -E 'sctp:|peer closed' "$(log receive)" | tr '\n' ';') send -v: $(grep -E 'sctp: shutdown|SCTP shutdown' "$(log send-recv.err)" | tr '\n' ';')"
lan_check "send to receive: exit 0, and its SHUTDOWN completed (receive did not leave first)" \
	test "$rc" = 0 -a -n "$(grep 'sctp: shutdown complete (ours)' "$(log send-recv.err)")"
lan_check "receive logs the sender's end as 'peer closed normally', then exits 0 by itself" \
	test "$gone" = 1 -a "$rc_recv" = 0 -a -n "$(grep 'peer closed normally' "$(log receive)")" \
	-a -z "$(grep -E 'aborted|error 12' "$(log receive)")"

# --- a sender killed mid-transfer is still an error ----------------------------------
m=$(mark)
lan_spawn b "$(log send-killed)" "$BIN" send --quiet "$A:7757" "$SRC/big"
pid_send=$LAN_PID
lan_wait_for 30 sh -c "find '$DL' -name '*.part' -size +1M | grep -q ." || true
lan_diag "killing the sender after $(du -sk "$DL" | cut -f1) KiB arrived"
rc=0; lan_stop "$pid_send" KILL 5 || rc=$?
lan_wait_for 45 sh -c "tail -n +$((m + 1)) '$(log serve)' | grep -q 'peer closed'" || true
lines=$(since "$m")
lan_diag "serve -v after the sender was killed: $(grep -E 'sctp:|peer closed|receiv' <<<"$lines" | tr '\n' ';')"
lan_check "a sender killed mid-transfer: serve logs the end as an error (peer closed (PHASE): ...), not as normal" \
	test -n "$(grep -E 'peer closed \(' <<<"$lines")" -a -z "$(grep 'peer closed normally' <<<"$lines")"

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
