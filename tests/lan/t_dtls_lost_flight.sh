#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# A lost first ClientHello, as when the other side's DTLS is not yet
# listening when it arrives: a rule in the DTLS server's namespace drops the
# first UDP datagram arriving there whose payload starts with a DTLS
# handshake record (content type 22, version 0xfe..), a loss on the wire
# as the client sees it. In the default roles the client is serve (the
# answerer, a=setup:active) and the rule sits in ping's host; with
# --dtls-client the client is ping and the rule sits in serve's. Either way
# the client's timer must recover it far under RFC 6347's 1 s initial
# timeout: it starts from the measured ICE round trip (50-100 ms). Also
# prints the unhindered set-up beside it.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
LIMIT_MS=${LIMIT_MS:-500}
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_iptables "to lose a datagram"
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
# record): u32 reads the 2 bytes after the UDP header (after IPv4's header
# of IHL words, or IPv6's 40 bytes: ICE may pick a link-local IPv6 pair);
# nth with --packet 0 matches the first such datagram only (the next would
# be the 1,000,001st).
NTH=(-m statistic --mode nth --every 1000000 --packet 0 -j DROP)
RULE4=(INPUT -p udp -m u32 --u32 "0>>22&0x3C@8>>16=0x16fe" "${NTH[@]}")
RULE6=(INPUT -p udp -m u32 --u32 "48>>16=0x16fe" "${NTH[@]}")
lan_iptables a "the drop rule" -A "${RULE4[@]}"
IPT=$LAN_IPT
IPT6=${IPT/iptables/ip6tables}
lan_run a "$IPT" -D "${RULE4[@]}"
lan_run a "$IPT6" -A "${RULE6[@]}" 2>>"$LAN_DIR/iptables.err" ||
	{ lan_fail "install the IPv6 drop rule on a with $IPT6: $(tail -n 2 "$LAN_DIR/iptables.err")"; lan_done; }
lan_run a "$IPT6" -D "${RULE6[@]}"
rules() {   # rules HOST -A|-D
	lan_run "$1" "$IPT" "$2" "${RULE4[@]}"
	lan_run "$1" "$IPT6" "$2" "${RULE6[@]}"
}
dropped() {   # dropped HOST: datagrams both rules dropped
	{ lan_run "$1" "$IPT" -L INPUT -v -x -n; lan_run "$1" "$IPT6" -L INPUT -v -x -n; } |
		awk '/DROP/ { n += $1 } END { print n + 0 }'
}

ping_json() {   # ping_json NAME ARGS...: one ping, --json line on stdout
	local name=$1 rc=0 out
	shift
	out=$(lan_run b timeout 30 "$BIN" ping --count 1 --json --timeout 20 "$@" "$A:7757" \
		2>"$(log "$name.err")") || rc=$?
	lan_diag "$name: $out $(tail -n 1 "$(log "$name.err")")"
	[[ $rc == 0 ]] && echo "$out"
}

for role in default --dtls-client; do
	args=() server=b who=serve
	[[ $role == default ]] || args=("$role") server=a who=ping
	out=$(ping_json "clear-$role" "${args[@]}") || true
	clear_ms=$(json_get "d['connect_ms']" <<<"$out" 2>/dev/null || echo "?")
	rules "$server" -A
	out=$(ping_json "lost-$role" "${args[@]}") || true
	n=$(dropped "$server")
	rules "$server" -D
	lost_ms=$(json_get "d['connect_ms']" <<<"$out" 2>/dev/null || echo "?")
	dtls_ms=$(json_get "d['dtls_ms']" <<<"$out" 2>/dev/null || echo "?")
	lan_diag "set-up ($role): ${clear_ms} ms unhindered, ${lost_ms} ms (DTLS ${dtls_ms} ms) with $who's ClientHello lost"
	echo "setup_ms $role clear $clear_ms lost $lost_ms" >>"$LAN_DIR/figures"
	lan_check "the rules lost exactly one datagram: $who's ClientHello ($role role; lost $n)" test "$n" = 1
	lan_check "set-up with $who's first ClientHello lost is under $LIMIT_MS ms ($role role)" \
		test "$(json_get "d['connect_ms'] < $LIMIT_MS" <<<"$out" 2>/dev/null)" = True
done

[[ -z "${FIGURES:-}" ]] || cp "$LAN_DIR/figures" "$FIGURES"
rc=0; lan_stop "$pid_serve" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM afterwards" test "$rc" = 0
lan_done
