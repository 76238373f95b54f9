#!/bin/bash
# shellcheck disable=SC2317  # helper functions are called via lan_wait_for / lan_check
# Self-test of the independent interop peers, before any idrop-lan code is
# involved: they are proven against each other on the simulated LAN.
#   a: tests/interop/aiortc_peer.py answer --port 7757 (stands in for `idrop-lan serve`)
#   b: tests/interop/aiortc_peer.py offer  -> 10 text messages + 1 MiB binary echoed
#   c: tests/browser/peer.mjs (headless Chromium, mDNS hiding of local IPs ON)
#      -> 10 text messages + 1 MiB binary echoed; a resolves c's <uuid>.local candidate
# plus the failure paths the real tests rely on: a wrong --expect-fingerprint,
# a 404, a server that never answers (bounded by --timeout), a corrupted echo
# (answer --mangle), and that Chromium never outlives peer.mjs.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "$0")/lan.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
AIORTC_PEER=$TOP/tests/interop/aiortc_peer.py
BROWSER_DIR=$TOP/tests/browser
BROWSER_PEER=$BROWSER_DIR/peer.mjs
PORT=7757

[[ -x /usr/bin/chromium ]] || lan_skip "no /usr/bin/chromium (apt-get install chromium)"
command -v node >/dev/null 2>&1 || lan_skip "no node (nodejs) for tests/browser"
[[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]] ||
	lan_skip "no tests/browser/node_modules (run: cd tests/browser && npm ci)"
lan_require timeout
if ! "$PY" -c 'import aiortc' 2>/dev/null; then
	# Not a skip: python3-aiortc is a declared test dependency (make deps).
	echo "Bail out! $PY cannot import aiortc: apt-get install python3-aiortc"
	exit 1
fi

lan_init
lan_add_hosts a b c
A=$(lan_addr a)
C=$(lan_addr c)

ms_since() { echo $(( ($(lan__now_us) - $1) / 1000 )); }
# json_ok FILE: the last line of FILE is a JSON summary with "ok": true.
json_ok() { tail -n 1 "$1" | "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.stdin.read()).get("ok") is True else 1)'; }
# json_get FILE EXPR: evaluate a Python expression on the summary `j`.
json_get() { tail -n 1 "$1" | "$PY" -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$2"; }
# no_processes_in HOST: nothing is left running in the host's namespace.
no_processes_in() {
	local p
	for p in $(ip netns pids "${LAN_PREFIX}-$1" 2>/dev/null); do
		lan__starttime "$p" >/dev/null && return 1
	done
	return 0
}
show() { sed 's/^/#   /' "$1"; }

# ---------------------------------------------------------------- answerer on a
anslog=$LAN_DIR/a-answer.log
lan_spawn a "$anslog" "$PY" "$AIORTC_PEER" answer --port "$PORT" -v
ans=$LAN_PID
if lan_wait_for 10 grep -q "^listening on 0.0.0.0:$PORT" "$anslog"; then
	lan_ok "aiortc answerer listening on $A:$PORT"
else
	lan_fail "aiortc answerer listening on $A:$PORT"
	show "$anslog"
	lan_done
fi

# ---------------------------------------------------------------- aiortc -> aiortc
out=$LAN_DIR/b-offer.out
t=$(lan__now_us)
rc=0
lan_run b timeout -k 5 30 "$PY" "$AIORTC_PEER" offer "http://$A:$PORT/api/offer" \
	--text 10 --binary-bytes 1048576 --timeout 20 >"$out" 2>&1 || rc=$?
if [[ $rc == 0 ]] && json_ok "$out"; then
	lan_ok "aiortc offerer (b) -> aiortc answerer (a): 10 texts + 1 MiB echoed ($(ms_since "$t") ms; $(json_get "$out" 'j["ms"]'))"
else
	lan_fail "aiortc offerer (b) -> aiortc answerer (a) (exit $rc)"
	show "$out"
fi
lan_check "answer carries a=end-of-candidates and a host candidate on $A" \
	test "$(json_get "$out" 'j["answer"]["end_of_candidates"] and any(" '"$A"' " in c for c in j["answer"]["candidates"])' 2>/dev/null)" = True

# --expect-fingerprint must fail closed on a mismatch.
out=$LAN_DIR/b-badfp.out
rc=0
lan_run b timeout -k 5 30 "$PY" "$AIORTC_PEER" offer "http://$A:$PORT/api/offer" --text 1 \
	--expect-fingerprint "sha-256 $(printf '00:%.0s' {1..31})00" --timeout 10 >"$out" 2>&1 || rc=$?
if [[ $rc == 1 ]] && grep -q 'error: answer fingerprint .* != expected' "$out"; then
	lan_ok "aiortc offerer rejects an answer whose fingerprint is not --expect-fingerprint"
else
	lan_fail "aiortc offerer rejects a wrong fingerprint (exit $rc)"
	show "$out"
fi

# A 404 is a clear failure, not a hang.
out=$LAN_DIR/b-404.out
rc=0
lan_run b timeout -k 5 30 "$PY" "$AIORTC_PEER" offer "http://$A:$PORT/nope" --timeout 10 >"$out" 2>&1 || rc=$?
if [[ $rc == 1 ]] && grep -q 'expected 201 Created, got 404' "$out"; then
	lan_ok "aiortc offerer reports a 404 as a failure"
else
	lan_fail "aiortc offerer reports a 404 (exit $rc)"
	show "$out"
fi

# ---------------------------------------------------------------- Chromium -> aiortc
out=$LAN_DIR/c-browser.out
t=$(lan__now_us)
rc=0
lan_run c timeout -k 5 40 node "$BROWSER_PEER" "http://$A:$PORT" \
	--text 10 --binary-bytes 1048576 --timeout 30 >"$out" 2>&1 || rc=$?
if [[ $rc == 0 ]] && json_ok "$out"; then
	lan_ok "Chromium (c) -> aiortc answerer (a): 10 texts + 1 MiB echoed ($(ms_since "$t") ms; $(json_get "$out" 'j["ms"]'))"
else
	lan_fail "Chromium (c) -> aiortc answerer (a) (exit $rc)"
	show "$out"
fi
lan_check "Chromium hid its address: its offer has only <uuid>.local host candidates" \
	test "$(json_get "$out" 'len(j["offer"]["candidates"]) > 0 and all(".local " in c for c in j["offer"]["candidates"])' 2>/dev/null)" = True
if grep -qE "Remote candidate \"[0-9a-f-]+\.local\" resolved to $C\$" "$anslog"; then
	lan_ok "aiortc resolved Chromium's .local candidate to $C over mDNS"
else
	lan_fail "aiortc resolved Chromium's .local candidate to $C over mDNS"
	show "$anslog"
fi
lan_check "no Chromium process outlives peer.mjs on c" lan_wait_for 5 no_processes_in c

# A server that accepts the connection and never answers: bounded by --timeout.
lan_spawn a "$LAN_DIR/a-mute.log" "$PY" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7758)); s.listen(8); print("mute", flush=True)
conns = []
for _ in range(600):
    s.settimeout(0.1)
    try: conns.append(s.accept()[0])
    except OSError: pass'
mute=$LAN_PID
lan_wait_for 5 grep -q mute "$LAN_DIR/a-mute.log" || true

out=$LAN_DIR/b-mute.out
t=$(lan__now_us)
rc=0
lan_run b timeout -k 5 20 "$PY" "$AIORTC_PEER" offer "http://$A:7758/api/offer" --timeout 2 >"$out" 2>&1 || rc=$?
el=$(ms_since "$t")
if [[ $rc == 1 ]] && ((el < 6000)) && grep -q 'error: timed out' "$out"; then
	lan_ok "aiortc offerer gives up after --timeout 2 on a mute server (${el} ms)"
else
	lan_fail "aiortc offerer gives up after --timeout 2 on a mute server (exit $rc, ${el} ms)"
	show "$out"
fi

out=$LAN_DIR/c-mute.out
t=$(lan__now_us)
rc=0
lan_run c timeout -k 5 20 node "$BROWSER_PEER" "http://$A:7758" --timeout 3 >"$out" 2>&1 || rc=$?
el=$(ms_since "$t")
if [[ $rc == 1 ]] && ((el < 8000)) && grep -q 'error: .*\(timed out\|aborted\)' "$out"; then
	lan_ok "peer.mjs gives up after --timeout 3 on a mute server (${el} ms)"
else
	lan_fail "peer.mjs gives up after --timeout 3 on a mute server (exit $rc, ${el} ms)"
	show "$out"
fi
lan_check "no Chromium process outlives a failed peer.mjs on c" lan_wait_for 5 no_processes_in c
lan_stop "$mute" || true

# A corrupted echo is caught by both checkers (a second answerer on a, port
# 7759, flips one byte in the middle of the 12th echo = 2nd binary message).
lan_spawn a "$LAN_DIR/a-mangle.log" "$PY" "$AIORTC_PEER" answer --port 7759 --mangle 12
mangler=$LAN_PID
lan_wait_for 10 grep -q '^listening on' "$LAN_DIR/a-mangle.log" || true
out=$LAN_DIR/b-mangle.out
rc=0
lan_run b timeout -k 5 30 "$PY" "$AIORTC_PEER" offer "http://$A:7759/api/offer" \
	--text 10 --binary-bytes 262144 --timeout 15 >"$out" 2>&1 || rc=$?
if [[ $rc == 1 ]] && grep -q 'error: echo 11 (binary) differs: first difference at byte 8192' "$out"; then
	lan_ok "aiortc offerer catches a corrupted echo"
else
	lan_fail "aiortc offerer catches a corrupted echo (exit $rc)"
	show "$out"
fi
out=$LAN_DIR/c-mangle.out
rc=0
lan_run c timeout -k 5 40 node "$BROWSER_PEER" "http://$A:7759" \
	--text 10 --binary-bytes 262144 --timeout 30 >"$out" 2>&1 || rc=$?
if [[ $rc == 1 ]] && grep -q 'error: echo 11 (binary) differs at byte 32768' "$out"; then
	lan_ok "peer.mjs catches a corrupted echo"
else
	lan_fail "peer.mjs catches a corrupted echo (exit $rc)"
	show "$out"
fi
lan_stop "$mangler" || true

# ---------------------------------------------------------------- shutdown
rc=0
lan_stop "$ans" TERM 5 || rc=$?
lan_check "aiortc answerer exits 0 on SIGTERM (got $rc)" test "$rc" = 0
# 10 texts (2035 bytes) + 1 MiB: the aiortc and the Chromium session.
lan_check "answerer echoed 1050611 bytes in each of the two good sessions" \
	test "$(grep -cE '^session [0-9]+: echo channel closed after [0-9]+ messages, 1050611 bytes$' "$anslog")" = 2

lan_done
