#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# The WebRTC data-channel stack between our own processes on the simulated
# LAN: `idrop-lan ping` (offerer) against `idrop-lan serve` (answerer) in
# both DTLS roles, and the refusals that keep a LAN attacker out: a swapped
# fingerprint (caught in the handshake, in both roles; `send` exits 5), an
# answer that is not the discovered device, a path ICE cannot cross, a peer that vanishes.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
MITM=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sdp_mitm.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require timeout /usr/bin/python3 avahi-publish avahi-daemon dbus-daemon
lan_init
lan_add_hosts a b m
tag=${LAN_PREFIX: -4}
log() { echo "$LAN_DIR/$1.log"; }
json_get() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

lan_spawn a "$(log serve-a)" "$BIN" serve --name "Alpha $tag"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-a)" || lan_fail "serve on a advertised"
fp_a=$(lan_run a "$BIN" id | awk '/^id:/ { print $2 }')
addr_a=$(lan_addr a)

# --- our two ends, both DTLS roles ----------------------------------------
for role in default --dtls-client; do
	args=(--count 5 --bytes 4M --json --timeout 20)
	[[ $role == default ]] || args+=("$role")
	rc=0; out=$(lan_run b timeout 30 "$BIN" ping "${args[@]}" a.local 2>"$(log "ping-$role.err")") || rc=$?
	lan_diag "ping ($role): $out"
	lan_check "ping a.local ($role DTLS role) connects, echoes 5 messages and moves 4 MiB" \
		test "$rc" = 0 -a "$(json_get "d['fingerprint'] == '$fp_a' and d['bytes'] == 4194304 and d['mb_per_s'] > 0 and d['rtt_max_ms'] > 0" <<<"$out" 2>/dev/null)" = True
done
rc=0; out=$(lan_run b timeout 30 "$BIN" ping --count 2 "$addr_a:7757" 2>&1) || rc=$?
lan_diag "$(sed 's/^/  /' <<<"$out")"
lan_check "ping IP:PORT prints each phase (signalling, ICE, DTLS, SCTP) and round trips" \
	test "$rc" = 0 -a -n "$(grep -E '^signalling ' <<<"$out")" -a -n "$(grep -E '^ICE ' <<<"$out")" \
	-a -n "$(grep -E '^DTLS ' <<<"$out")" -a -n "$(grep -E '^SCTP\+channel ' <<<"$out")" \
	-a -n "$(grep -E 'round trips: min/avg/max' <<<"$out")"

# --- a man in the middle of the HTTP signalling ----------------------------
lan_spawn m "$(log mitm-fp)" /usr/bin/python3 "$MITM" --listen "0.0.0.0:8000" \
	--upstream "http://$addr_a:7757" --mode fingerprint
pid_mitm=$LAN_PID
lan_wait_for 5 grep -q listening "$(log mitm-fp)" || lan_fail "mitm proxy up"
for role in default --dtls-client; do
	args=(--count 1 --timeout 15)
	[[ $role == default ]] || args+=("$role")
	rc=0; err=$(lan_run b timeout 30 "$BIN" ping "${args[@]}" "$(lan_addr m):8000" 2>&1 >/dev/null) || rc=$?
	lan_diag "swapped fingerprint ($role): $err"
	lan_check "a swapped fingerprint is refused in the DTLS handshake ($role role), with a clear message" \
		test "$rc" = 1 -a -n "$(grep -E 'fingerprint' <<<"$err")"
done
echo "secret" >"$LAN_DIR/secret.txt"
rc=0; err=$(lan_run b timeout 30 "$BIN" send --timeout 15 "$(lan_addr m):8000" "$LAN_DIR/secret.txt" 2>&1) || rc=$?
lan_diag "send, swapped fingerprint: $err"
lan_check "send through the same man in the middle: exit 5 (fingerprint), nothing sent" \
	test "$rc" = 5 -a -n "$(grep -E 'fingerprint' <<<"$err")"
lan_stop "$pid_mitm" TERM 5 || true

# The discovered device's advertised fingerprint must match the answer. An
# attacker on m2 advertises a record claiming a's fingerprint, pointing at its
# own proxy, which relays to a but swaps the answer's fingerprint: refused
# before any packet is sent.
lan_add_host m2 --daemon
lan_spawn m2 "$(log mitm-fp2)" /usr/bin/python3 "$MITM" --listen "0.0.0.0:8000" \
	--upstream "http://$addr_a:7757" --mode fingerprint
pid_mitm=$LAN_PID
lan_wait_for 5 grep -q listening "$(log mitm-fp2)" || lan_fail "mitm proxy up"
lan_spawn m2 "$(log fake-advert)" avahi-publish -s "Fake $tag" _idrop._tcp 8000 v=1 "fp=$fp_a" k=d
pid_fake=$LAN_PID
lan_wait_for 5 grep -q Established "$(log fake-advert)" || lan_fail "fake record established"
seen=$(grep -c 'peer connected' "$(log serve-a)" || true)
rc=0; err=$(lan_run b timeout 30 "$BIN" ping --count 1 --timeout 15 "Fake $tag" 2>&1 >/dev/null) || rc=$?
lan_diag "impostor answer: $err"
lan_check "an answer whose fingerprint is not the advertised one is refused before any data moves" \
	test "$rc" = 1 -a -n "$(grep -E 'not the device that was discovered' <<<"$err")"
rc=0; err=$(lan_run b timeout 30 "$BIN" send --timeout 15 "Fake $tag" "$LAN_DIR/secret.txt" 2>&1) || rc=$?
lan_diag "send to the impostor: $err"
lan_check "send to the impostor record: exit 5 before any data moves" \
	test "$rc" = 5 -a -n "$(grep -E 'not the device that was discovered' <<<"$err")"
lan_check "and the device itself never saw a connection" \
	test "$(grep -c 'peer connected' "$(log serve-a)" || true)" = "$seen"
lan_stop "$pid_mitm" TERM 5 || true
lan_stop "$pid_fake" TERM 5 || true

# --- ICE cannot cross: a clear ICE failure ------------------------------------
lan_spawn m "$(log mitm-bh)" /usr/bin/python3 "$MITM" --listen "0.0.0.0:8001" \
	--upstream "http://$addr_a:7757" --mode blackhole --blackhole 10.77.0.250
pid_mitm=$LAN_PID
lan_wait_for 5 grep -q listening "$(log mitm-bh)" || lan_fail "mitm proxy up"
rc=0; err=$(lan_run b timeout 60 "$BIN" ping --count 1 --timeout 40 "$(lan_addr m):8001" 2>&1 >/dev/null) || rc=$?
lan_diag "unreachable: $err"
lan_check "an unreachable peer fails in the ICE phase with a clear message" \
	test "$rc" = 1 -a -n "$(grep -E 'ICE' <<<"$err")"
lan_stop "$pid_mitm" TERM 5 || true

# --- a peer that vanishes mid-session is noticed ---------------------------
lan_spawn b "$(log ping-long)" "$BIN" ping --count 0 --bytes 100G --timeout 120 a.local
pid_ping=$LAN_PID
sleep 2
t0=$(lan__now_us)
lan_stop "$pid_a" KILL 5 || true
if lan_wait_for 35 sh -c "! kill -0 $pid_ping 2>/dev/null"; then
	lan_ok "ping notices the device vanished after $(( ($(lan__now_us) - t0) / 1000000 )) s (limit 30 s)"
else
	lan_fail "ping notices the device vanished within 30 s"
fi
rc=0; lan_stop "$pid_ping" TERM 5 || rc=$?
lan_check "and exits 1 naming the phase" test "$rc" = 1 -a -n "$(grep -E 'ICE|SCTP|DTLS|channel' "$(log ping-long)")"
lan_diag "$(tail -n 2 "$(log ping-long)")"

# The device side notices a vanished client too.
lan_spawn a "$(log serve-a2)" "$BIN" serve --name "Alpha2 $tag"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-a2)" || lan_fail "serve on a advertised again"
lan_spawn b "$(log ping-long2)" "$BIN" ping --count 0 --bytes 100G --timeout 120 "$addr_a:7757"
pid_ping=$LAN_PID
lan_wait_for 10 grep -q 'peer connected' "$(log serve-a2)" || lan_fail "serve saw the peer connect"
t0=$(lan__now_us)
lan_stop "$pid_ping" KILL 5 || true
if lan_wait_for 35 grep -q 'peer closed' "$(log serve-a2)"; then
	lan_ok "serve notices a vanished client after $(( ($(lan__now_us) - t0) / 1000000 )) s (limit 30 s)"
else
	lan_fail "serve notices a vanished client within 30 s"
fi
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve exits 0 after its peers came and went (no leak)" test "$rc" = 0
lan_done
