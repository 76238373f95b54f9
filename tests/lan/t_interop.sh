#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Interoperability of our WebRTC stack with stacks we did not write, on the
# simulated LAN: headless Chromium (mDNS hiding of local IPs left ON; 8 MiB
# each way) and python3-aiortc (1 MiB) offer to `idrop-lan serve` and
# round-trip text and binary through its echo channel; our `ping` offers to an aiortc answerer (as
# DTLS server), also with --bytes to one announcing a=max-message-size:16384;
# 32 MiB files both ways with aiortc speaking our protocol (idrop_peer.py).
# Also: the signalling endpoint refuses bad requests cleanly.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
AIORTC=$TOP/tests/interop/aiortc_peer.py
PEER=$TOP/tests/interop/idrop_peer.py
BROWSER=$TOP/tests/browser/peer.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout curl cmp
lan_init
lan_add_hosts a b c d
A=$(lan_addr a) D=$(lan_addr d)
log() { echo "$LAN_DIR/$1.log"; }
last_json() { tail -n 1 "$1" | "$PY" -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$2" 2>/dev/null; }

lan_spawn a "$(log serve)" "$BIN" serve --name "Interop ${LAN_PREFIX: -4}" -v
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"
fp_a=$(lan_run a "$BIN" id | awk '/^id:/ { print $2 }')

# --- aiortc offers to serve (legacy DTLS/SCTP offer form) --------------------
rc=0; lan_run b timeout 60 "$PY" "$AIORTC" offer "http://$A:7757/api/offer" --text 10 \
	--binary-bytes 1048576 --expect-fingerprint "$fp_a" --timeout 30 >"$(log aiortc-offer)" 2>&1 || rc=$?
lan_diag "aiortc -> serve: $(tail -n 1 "$(log aiortc-offer)")"
lan_check "aiortc (offerer) round-trips 10 texts and 1 MiB binary through serve's echo channel" \
	test "$rc" = 0 -a "$(last_json "$(log aiortc-offer)" 'j["ok"]')" = True

# --- Chromium offers to serve, its host address hidden behind <uuid>.local ---
# 8 MiB each way (Chromium compares every byte; ~5,900 DATA packets, past
# the bulk-SACK switch at 2,048; 32 MiB stalled once in 5 runs on a loaded
# machine, cause not found, see the stop-13 note): its dcsctp sends short
# flights, so our receiver's bulk SACKs (after ~2.8 MB) must fall back to a
# SACK per 2 packets without stalling it; our echoes leave in GSO runs.
before=$(grep -c 'sctp: packets in' "$(log serve)" || true)
rc=0; lan_run c timeout 120 node "$BROWSER" "http://$A:7757" --text 10 --binary-bytes 8388608 \
	--timeout 90 >"$(log chromium)" 2>&1 || rc=$?
lan_diag "chromium -> serve: $(tail -n 1 "$(log chromium)")"
lan_check "headless Chromium round-trips 10 texts and 8 MiB binary through serve's echo channel" \
	test "$rc" = 0 -a "$(last_json "$(log chromium)" 'j["ok"]')" = True -a \
	"$(last_json "$(log chromium)" 'j["echoed_bytes"] >= 8388608')" = True
lan_wait_for 10 test "$(grep -c 'sctp: packets in' "$(log serve)" || true)" -gt "$before" || true
counts=$(grep 'sctp: packets in' "$(log serve)" | tail -n 1)
lan_diag "serve's association with Chromium: ${counts#*sctp: }"
data=$(sed -nE 's/.*packets in [0-9]+ \(([0-9]+) with DATA.*/\1/p' <<<"$counts")
lan_check "... serve received ${data:-?} DATA packets from Chromium: past the bulk-SACK switch (2,048), which took effect (a SACK per 8 at the end, or a fallback to 2)" \
	test "${data:-0}" -ge 2048 -a -n "$(grep -E 'SACK per 8 packets at the end|[1-9] fallbacks' <<<"$counts")"
lan_check "Chromium's offer hid its address behind an mDNS name (the case we must handle)" \
	grep -qE '[0-9a-f-]{36}\.local' "$(log chromium)"

# --- our ping offers to an aiortc answerer ------------------------------------
# aiortc answers a=setup:active, so our offerer is the DTLS server here (the
# role serve never takes with browsers). aiortc refuses offers that insist on
# a role (JSEP: an offer says actpass), so --dtls-client is for our own peers.
lan_spawn d "$(log aiortc-answer)" "$PY" "$AIORTC" answer --port 7757
pid_ans=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log aiortc-answer)" || lan_fail "aiortc answerer listening"
rc=0; out=$(lan_run b timeout 30 "$BIN" ping --count 5 --json --timeout 20 "$D:7757" 2>"$(log ping-aiortc.err)") || rc=$?
lan_diag "ping -> aiortc: $out $(tail -n 2 "$(log ping-aiortc.err)")"
lan_check "our ping (offerer, DTLS server) echoes 5 messages with aiortc" \
	test "$rc" = 0 -a -n "$(grep -F '"rtt_max_ms"' <<<"$out")"
rc=0; err=$(lan_run b timeout 30 "$BIN" ping --count 1 --dtls-client --timeout 20 "$D:7757" 2>&1 >/dev/null) || rc=$?
lan_check "a peer that refuses our offer is reported as a signalling failure with its reason" \
	test "$rc" = 1 -a -n "$(grep 'signalling failed: the device answered HTTP 400' <<<"$err")"
lan_stop "$pid_ans" TERM 5 || true

# --- a peer announcing a small a=max-message-size (16384) --------------------
# Every writer must cut its data to the peer's limit; this answerer closes a
# channel sent anything larger (as Pion does), and counts what its sink got.
lan_spawn d "$(log aiortc-mms)" "$PY" "$AIORTC" answer --port 7758 --max-message-size 16384
pid_ans=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log aiortc-mms)" || lan_fail "aiortc answerer (max-message-size 16384) listening"
rc=0; out=$(lan_run b timeout 40 "$BIN" ping --count 1 --bytes 8M --timeout 30 "$D:7758" 2>"$(log ping-mms.err)") || rc=$?
lan_diag "ping --bytes 8M -> aiortc (16384): $(tail -n 1 <<<"$out") $(tail -n 2 "$(log ping-mms.err)")"
lan_check "ping --bytes 8M succeeds against a peer announcing a=max-message-size:16384" \
	test "$rc" = 0 -a -n "$(grep -F 'throughput: 8388608 bytes' <<<"$out")"
lan_check "... in messages the peer takes (none over its limit, all 8 MiB counted)" \
	test -z "$(grep -F 'over max-message-size' "$(log aiortc-mms)")" -a \
	-n "$(grep -F 'sink received 8388608 bytes' "$(log aiortc-mms)")"
lan_stop "$pid_ans" TERM 5 || true

# --- 32 MiB files both ways with aiortc speaking our protocol ----------------
# tests/interop/idrop_peer.py (aiortc, docs/PROTOCOL.md): its send to a
# serve that accepts, our send to its receive; each receiver checks the
# SHA-256 the protocol carries, and we compare the bytes too. Far past the
# ~2.8 MB after which our receiver SACKs every 8 packets (aiortc's short
# flights send it back to 2: serve's -v line says which) and our sender's
# GSO runs against a foreign receiver. aiortc is DTLS server for the first
# (serve answers active), client for the second (it answers active).
head -c $((32 * 1024 * 1024)) /dev/urandom >"$LAN_DIR/big.bin"
lan_spawn a "$(log serve-files)" "$BIN" serve --name "Files ${LAN_PREFIX: -4}" --port 7758 --accept=all \
	--dir "$LAN_DIR/dl-a" --state-dir "$LAN_DIR/state-files" -v
pid_files=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-files)" || lan_fail "serve (files) on a advertised"
rc=0; lan_run b timeout 120 "$PY" "$PEER" send "http://$A:7758" --timeout 100 --name "aiortc big" "$LAN_DIR/big.bin" \
	>"$(log peer-send-big)" 2>&1 || rc=$?
lan_diag "aiortc send 32 MiB -> serve: rc=$rc $(tail -n 1 "$(log peer-send-big)" | cut -c1-200)"
lan_check "aiortc (idrop_peer.py) sends a 32 MiB file to serve: receipt verified, identical on disk" \
	test "$rc" = 0 -a "$(last_json "$(log peer-send-big)" 'j["receipt"]["0"]')" = verified -a \
	"$(cmp -s "$LAN_DIR/big.bin" "$LAN_DIR/dl-a/big.bin" && echo same)" = same
lan_wait_for 10 grep -q 'sctp: packets in' "$(log serve-files)" || true
counts=$(grep 'sctp: packets in' "$(log serve-files)" | tail -n 1)
lan_diag "serve's association with aiortc: ${counts#*sctp: }"
data=$(sed -nE 's/.*packets in [0-9]+ \(([0-9]+) with DATA.*/\1/p' <<<"$counts")
lan_check "... serve received ${data:-?} DATA packets: past the bulk-SACK switch (2,048), which took effect (a SACK per 8 at the end, or a fallback to 2)" \
	test "${data:-0}" -ge 2048 -a -n "$(grep -E 'SACK per 8 packets at the end|[1-9] fallbacks' <<<"$counts")"
rc=0; lan_stop "$pid_files" TERM 10 || rc=$?
lan_check "serve (files) exits 0 on SIGTERM (no leak, no sanitizer report)" test "$rc" = 0

mkdir -p "$LAN_DIR/dl-d"
lan_spawn d "$(log peer-receive-big)" "$PY" "$PEER" receive --port 7759 --dir "$LAN_DIR/dl-d" --once
pid_recv=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log peer-receive-big)" || lan_fail "aiortc receiver (idrop_peer.py) listening"
rc=0; out=$(lan_run b timeout 120 "$BIN" send -v --json --timeout 100 "$D:7759" "$LAN_DIR/big.bin" \
	2>"$(log send-big.err)") || rc=$?
rc_r=0; lan_stop "$pid_recv" TERM 20 || rc_r=$?
udp=$(grep -E 'udp: [0-9]+ datagrams sent' "$(log send-big.err)" | tail -n 1)
lan_diag "send 32 MiB -> aiortc: rc=$rc ${out:0:200}; ${udp#*udp: }"
lan_check "our send of a 32 MiB file to aiortc (idrop_peer.py receive): verified by both, identical on its disk" \
	test "$rc" = 0 -a "$rc_r" = 0 -a "$(lan_json "d['verified']" <<<"$out" 2>/dev/null)" = 1 -a \
	"$(cmp -s "$LAN_DIR/big.bin" "$LAN_DIR/dl-d/big.bin" && echo same)" = same
lan_check "... GSO messages carried some of them (how many depends on how fast aiortc acknowledges)" \
	test -n "$(sed -nE 's/.* datagrams in ([0-9]+) GSO messages.*/\1/p' <<<"${udp#*udp: }" | awk '$1 > 0')"

# --- the signalling endpoint refuses bad requests, and keeps serving --------
code() { lan_run b curl -s -o "$LAN_DIR/body" -w '%{http_code}' --max-time 5 "$@" "http://$A:7757/api/offer"; }
lan_check "malformed SDP -> 400 with the reason" \
	test "$(code -H 'Content-Type: application/sdp' --data-binary $'v=0\r\nnot an offer\r\n')" = 400 -a \
	-n "$(grep -i 'offer' "$LAN_DIR/body")"
lan_check "wrong Content-Type -> 415" \
	test "$(code -H 'Content-Type: text/plain' --data-binary 'v=0')" = 415
head -c 100000 /dev/zero | tr '\0' 'a' >"$LAN_DIR/big"
lan_check "an oversized body -> 413" \
	test "$(code -H 'Content-Type: application/sdp' --data-binary "@$LAN_DIR/big")" = 413
lan_check "GET on the offer endpoint -> 405" test "$(lan_run b curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$A:7757/api/offer")" = 405
rc=0; lan_run b timeout 30 "$BIN" ping --count 1 "$A:7757" >/dev/null 2>&1 || rc=$?
lan_check "serve still answers a real peer afterwards" test "$rc" = 0
rc=0; lan_stop "$pid_serve" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM after all of it (no leak, no sanitizer report)" test "$rc" = 0
lan_done
