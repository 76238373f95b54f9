#!/bin/bash
# Interoperability with Pion (Go; Debian's golang-github-pion-webrtc.v3-dev
# 3.1.56, tests/interop/pion_peer built by `make build/pion_peer`) on the
# simulated LAN, in both roles and both DTLS roles:
#  - Pion offers to `serve` (the echo and sink channels), as DTLS server
#    (its actpass offer) and as DTLS client (an offer saying active), with
#    32 MiB each way on the echo channel (byte for byte, past the bulk-SACK
#    switch of our receiver, our echoes in GSO runs);
#  - our `ping` offers to a Pion answerer: as DTLS server (`ping`, Pion
#    answers active) with `--count 5 --bytes 64M` (Pion's own OnMessage reader, which closes a channel on a 65,536-byte message), and as DTLS client
#    (`ping --dtls-client`) to a Pion told to answer passive; stock Pion
#    answers active to that offer (its own bug), which ping refuses at once.
# Pion acknowledges a channel with a 4-byte DATA_CHANNEL_ACK (so does
# webrtc-rs); an aiortc answerer that sends the same ACK, and one that
# sends none (`ping` and `send` must say the device never confirmed the
# data channel), carry the rest of issue 12's first fault.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
AIORTC_ACK=$TOP/tests/interop/aiortc_ack.py
PION=$TOP/build/pion_peer
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
# `make test` builds it first; this covers a scenario run by hand.
make -s -C "$TOP" build/pion_peer >&2 || { echo "Bail out! cannot build $PION: make deps installs golang-go and golang-github-pion-webrtc.v3-dev"; exit 1; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout
lan_init
lan_add_hosts a b c d e
A=$(lan_addr a) C=$(lan_addr c) D=$(lan_addr d) E=$(lan_addr e)
log() { echo "$LAN_DIR/$1.log"; }
field() { "$PY" -c 'import json,sys; j=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(j.get(sys.argv[1]))' "$1" 2>/dev/null; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }

lan_spawn a "$(log serve)" "$BIN" serve --name "Pion ${LAN_PREFIX: -4}" -v
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"
fp_a=$(lan_run a "$BIN" id | awk '/^id:/ { print $2 }')

# --- Pion offers to serve ---------------------------------------------------
# 32 MiB each way on the echo channel (Pion compares every byte that comes
# back): far past the ~2.8 MB after which our receiver SACKs every 8
# packets (sctp/sctp.c, BULK_AFTER), and our echoes leave in GSO runs.
# serve's -v line for the association says which SACK rate it ended at.
sctp_lines() { grep -c 'sctp: packets in' "$(log serve)" || true; }
for setup in actpass active; do
	before=$(sctp_lines)
	rc=0; out=$(lan_run b timeout 90 "$PION" offer "http://$A:7757" --text 10 --binary-bytes 33554432 \
		--chunk 65536 --sink-bytes 8388608 --setup "$setup" --expect-fingerprint "$fp_a" --timeout 80 \
		2>"$(log "pion-offer-$setup.err")") || rc=$?
	lan_diag "pion -> serve ($setup): $out"
	role=$([[ $setup == active ]] && echo client || echo server)
	lan_check "Pion (offerer, a=setup:$setup, DTLS $role) echoes 10 texts and 32 MiB in 64 KiB messages and sinks 8 MiB through serve" \
		test "$rc" = 0 -a "$(field ok <<<"$out")" = True -a "$(field pion_dtls <<<"$out")" = "$role" \
		-a "$(field sink_bytes <<<"$out")" = 8388608 -a "$(field echoed_bytes <<<"$out")" -ge 33554432
	lan_wait_for 10 test "$(sctp_lines)" -gt "$before" || true
	counts=$(grep 'sctp: packets in' "$(log serve)" | tail -n 1)
	lan_diag "serve's association with Pion ($setup): ${counts#*sctp: }"
	data=$(sed -nE 's/.*packets in [0-9]+ \(([0-9]+) with DATA.*/\1/p' <<<"$counts")
	lan_check "... serve received ${data:-?} DATA packets from Pion: past the bulk-SACK switch (2,048), which took effect (a SACK per 8 at the end, or a fallback to 2)" \
		test "${data:-0}" -ge 2048 -a -n "$(grep -E 'SACK per 8 packets at the end|[1-9] fallbacks' <<<"$counts")"
done

# --- our ping offers to a stock Pion answerer ----------------------------------
lan_spawn c "$(log pion-answer)" "$PION" answer --port 7757 --reader stock   # its default OnMessage reader (65,535 bytes)
pid_pion=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log pion-answer)" || lan_fail "Pion answerer listening"
rc=0; out=$(lan_run b timeout 90 "$BIN" ping --count 5 --bytes 64M --timeout 80 "$C:7757" 2>"$(log ping-pion.err)") || rc=$?
lan_diag "ping -> pion: $(tr '\n' ' ' <<<"$out") $(tail -n 2 "$(log ping-pion.err)")"
lan_check "ping --count 5 --bytes 64M (offerer, DTLS server) against a stock Pion answerer (4-byte ACK)" \
	test "$rc" = 0 -a -n "$(grep -F '5 round trips' <<<"$out")" -a -n "$(grep -F 'throughput: 67108864 bytes' <<<"$out")"
lan_check "the Pion answerer counted all 64 MiB on its sink" \
	grep -q 'sink channel closed after .* 67108864 bytes' "$(log pion-answer)"

t0=$(now_ms)
rc=0; err=$(lan_run b timeout 30 "$BIN" ping --count 1 --dtls-client --timeout 20 "$C:7757" 2>&1 >/dev/null) || rc=$?
t1=$(now_ms)
lan_diag "ping --dtls-client -> stock pion ($((t1 - t0)) ms): $err"
lan_check "stock Pion's a=setup:active answer to our active offer is refused at once, by name, with what to do" \
	test "$rc" = 1 -a $((t1 - t0)) -lt 5000 -a -n "$(grep -F 'a=setup:active' <<<"$err" | grep -F 'without --dtls-client')"
lan_stop "$pid_pion" TERM 5 || true

lan_spawn c "$(log pion-answer-passive)" "$PION" answer --port 7757 --setup passive
pid_pion=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log pion-answer-passive)" || lan_fail "Pion answerer (passive) listening"
rc=0; out=$(lan_run b timeout 60 "$BIN" ping --count 5 --bytes 16M --dtls-client --timeout 50 "$C:7757" 2>"$(log ping-pion-client.err)") || rc=$?
lan_diag "ping --dtls-client -> pion (passive): $(tr '\n' ' ' <<<"$out") $(tail -n 2 "$(log ping-pion-client.err)")"
lan_check "ping --dtls-client --count 5 --bytes 16M (offerer, DTLS client) against a Pion answering passive" \
	test "$rc" = 0 -a -n "$(grep -F '5 round trips' <<<"$out")" -a -n "$(grep -F 'throughput: 16777216 bytes' <<<"$out")"
lan_stop "$pid_pion" TERM 5 || true

# --- the same 4-byte ACK from another stack, and no ACK at all -----------------
lan_spawn d "$(log aiortc-ack4)" "$PY" "$AIORTC_ACK" pion answer --port 7757
pid_ack4=$LAN_PID
lan_spawn e "$(log aiortc-noack)" "$PY" "$AIORTC_ACK" none answer --port 7757
pid_noack=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log aiortc-ack4)" || lan_fail "aiortc answerer (4-byte ACK) listening"
lan_wait_for 10 grep -q '^listening' "$(log aiortc-noack)" || lan_fail "aiortc answerer (no ACK) listening"
rc=0; out=$(lan_run b timeout 30 "$BIN" ping --count 3 --timeout 20 "$D:7757" 2>"$(log ping-ack4.err)") || rc=$?
lan_check "ping opens its channel with an aiortc answerer that sends a 4-byte ACK" \
	test "$rc" = 0 -a -n "$(grep -F '3 round trips' <<<"$out")"

rc=0; err=$(lan_run b timeout 20 "$BIN" ping --count 1 --timeout 5 "$E:7757" 2>&1 >/dev/null) || rc=$?
lan_diag "ping -> no-ACK peer: $err"
lan_check "ping to a device that never confirms the channel says so by name (not a generic time-out)" \
	test "$rc" = 1 -a -n "$(grep -F 'the device accepted the connection but never confirmed the data channel "echo"' <<<"$err")"
printf 'hello\n' >"$LAN_DIR/note.txt"
rc=0; err=$(lan_run b timeout 20 "$BIN" send --timeout 5 "$E:7757" "$LAN_DIR/note.txt" 2>&1 >/dev/null) || rc=$?
lan_diag "send -> no-ACK peer (exit $rc): $(tail -n 1 <<<"$err")"
lan_check "send to a device that never confirms the channel says so by name, exit 6, within its --timeout" \
	test "$rc" = 6 -a -n "$(grep -F 'the device accepted the connection but never confirmed the data channel "idrop"' <<<"$err")"
lan_stop "$pid_ack4" TERM 5 || true
lan_stop "$pid_noack" TERM 5 || true

rc=0; lan_stop "$pid_serve" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM after all of it (no leak, no sanitizer report)" test "$rc" = 0
lan_done
