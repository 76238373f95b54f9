#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# A lost first DTLS flight, as when the other side's DTLS is not yet
# listening when our first flight arrives: a rule in the answerer's (serve's)
# namespace drops the first UDP datagram it sends whose payload starts with a
# DTLS handshake record (content type 22, version 0xfe..). In the default
# roles that is serve's ClientHello (serve's timer recovers it); with
# --dtls-client it is serve's first ServerHello datagram (ping's timer
# recovers it, resending its ClientHello). Either way set-up must stay far
# under RFC 6347's 1 s initial timeout: the timer starts from the measured
# ICE round trip (50-100 ms). Also prints the unhindered set-up beside it.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
LIMIT_MS=${LIMIT_MS:-500}
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
IPTS=()
for c in iptables-legacy iptables-nft iptables; do
	command -v "$c" >/dev/null 2>&1 && IPTS+=("$c")
done
[[ ${#IPTS[@]} -gt 0 ]] || lan_skip "no iptables (Debian package iptables) to lose a datagram"
lan_require timeout /usr/bin/python3
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
json_get() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

lan_spawn a "$(log serve)" "$BIN" serve -v --name "Lost ${LAN_PREFIX: -4}"
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve on a started"

# The first UDP datagram whose payload starts 0x16 0xfe (a DTLS handshake
# record): u32 reads the 2 bytes after the UDP header; nth with --packet 0
# matches the first such datagram only (the next would be the 1,000,001st).
RULE=(OUTPUT -p udp -m u32 --u32 "0>>22&0x3C@8>>16=0x16fe"
	-m statistic --mode nth --every 1000000 --packet 0 -j DROP)
IPT=""
for c in "${IPTS[@]}"; do
	if lan_run a "$c" -A "${RULE[@]}" 2>>"$LAN_DIR/iptables.err"; then IPT=$c; break; fi
done
[[ -n "$IPT" ]] || { lan_fail "install the drop rule on a with any of ${IPTS[*]}: $(tail -n 2 "$LAN_DIR/iptables.err")"; lan_done; }
lan_run a "$IPT" -D "${RULE[@]}"
dropped() { lan_run a "$IPT" -L OUTPUT -v -x -n | awk '/DROP/ { print $1 }'; }

ping_json() {   # ping_json NAME ARGS...: one ping, --json line on stdout
	local name=$1 rc=0 out
	shift
	out=$(lan_run b timeout 30 "$BIN" ping --count 1 --json --timeout 20 "$@" "$A:7757" \
		2>"$(log "$name.err")") || rc=$?
	lan_diag "$name: $out $(tail -n 1 "$(log "$name.err")")"
	[[ $rc == 0 ]] && echo "$out"
}

for role in default --dtls-client; do
	args=()
	[[ $role == default ]] || args=("$role")
	out=$(ping_json "clear-$role" "${args[@]}") || true
	clear_ms=$(json_get "d['connect_ms']" <<<"$out" 2>/dev/null || echo "?")
	lan_run a "$IPT" -A "${RULE[@]}"
	out=$(ping_json "lost-$role" "${args[@]}") || true
	n=$(dropped)
	lan_run a "$IPT" -D "${RULE[@]}"
	lost_ms=$(json_get "d['connect_ms']" <<<"$out" 2>/dev/null || echo "?")
	dtls_ms=$(json_get "d['dtls_ms']" <<<"$out" 2>/dev/null || echo "?")
	lan_diag "set-up ($role): ${clear_ms} ms unhindered, ${lost_ms} ms (DTLS ${dtls_ms} ms) with serve's first DTLS datagram lost"
	echo "setup_ms $role clear $clear_ms lost $lost_ms" >>"$LAN_DIR/figures"
	lan_check "the rule lost exactly one DTLS datagram of serve's ($role role)" test "$n" = 1
	lan_check "set-up with the first DTLS flight lost is under $LIMIT_MS ms ($role role)" \
		test "$(json_get "d['connect_ms'] < $LIMIT_MS" <<<"$out" 2>/dev/null)" = True
done

[[ -z "${FIGURES:-}" ]] || cp "$LAN_DIR/figures" "$FIGURES"
rc=0; lan_stop "$pid_serve" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM afterwards" test "$rc" = 0
lan_done
