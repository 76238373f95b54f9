#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# A LAN attacker in the middle, on first contact (issue 6): host m intercepts
# the plain-HTTP signalling from the sender s to the receiver r (a DNAT rule
# in s's namespace stands for ARP spoofing: TCP to r port 7757 goes to m) and
# runs a full WebRTC relay (tests/interop/mitm_relay.py, aiortc): s completes
# its DTLS handshake with m, m another one with r, and m passes every message
# on. Shown here:
#   - no attacker: `send` and `serve` show the same verification code;
#   - attacker, r refuses (--accept=none): both ends still show a code, the
#     codes differ, `send` exits 4, `send` reports connecting to the
#     attacker's id, not r's, and not one byte of the file reached m;
#   - attacker, r accepts: the codes differ (what people comparing codes
#     catch); the bytes m then saw are reported.
# Every send uses its own fresh state directory and sender name, so each is
# a first contact whatever known-peer pinning remembers.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
RELAY=$TOP/tests/interop/mitm_relay.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || lan_skip "$PY cannot import aiortc (make deps installs python3-aiortc)"
lan_require_iptables "for the interception"
lan_require timeout cmp
lan_init
lan_add_hosts s r m
S=$(lan_addr s) R=$(lan_addr r) M=$(lan_addr m)
tag=${LAN_PREFIX: -4}
log() { echo "$LAN_DIR/$1.log"; }
# relay_get SESSION EXPR: EXPR (python, on dict d) of the relay's
# session-end line for SESSION; "" when there is none.
relay_get() {
	"$PY" - "$(log relay)" "$1" "$2" <<-'EOF' 2>/dev/null || true
	import json, sys
	for line in open(sys.argv[1]):
	    try:
	        d = json.loads(line)
	    except ValueError:
	        continue
	    if d.get("event") == "session-end" and d.get("session") == int(sys.argv[2]):
	        print(eval(sys.argv[3]))
	EOF
}
relay_ended() { grep -q "\"event\": \"session-end\", [^}]*\"session\": $1," "$(log relay)"; }
# Codes: `send` on stderr, serve in its incoming: line.
send_code() { grep -oE 'verification code [0-9]{3} [0-9]{3}' "$1" | head -n 1 | cut -d' ' -f3-; }
serve_code() { grep -E '^incoming: ' "$1" | grep -oE 'code [0-9]{3} [0-9]{3}\]' | head -n 1 | tr -d ']' | cut -d' ' -f2-; }
serve_fp() { grep -E '^incoming: ' "$1" | grep -oE '\[fingerprint [0-9a-f]{4} [0-9a-f]{4}' | head -n 1 | cut -d' ' -f2-; }
connected_id() { sed -nE 's/^idrop-lan: send: connected to id ([0-9a-fA-F:]+).*/\1/p' "$1" | head -n 1 | tr -d : | tr A-F a-f; }
short() { echo "${1:0:4} ${1:4:4}"; }
full_id() { lan_run "$1" "$BIN" id "${@:2}" | awk '/^id:/ { print $2 }'; }

SRC=$LAN_DIR/src
mkdir -p "$SRC"
head -c 300000 /dev/urandom >"$SRC/secret.bin"
fp_r=$(full_id r)

# start_serve NAME POLICY: serve on r into $LAN_DIR/dl-NAME; sets pid_r.
start_serve() {
	mkdir -p "$LAN_DIR/dl-$1"
	lan_spawn r "$(log "serve-$1")" "$BIN" serve --name "R $tag" --accept="$2" --dir "$LAN_DIR/dl-$1"
	pid_r=$LAN_PID
	lan_wait_for 10 grep -q '^advertised:' "$(log "serve-$1")" || lan_fail "serve ($1) on r up"
}
# do_send NAME: a first-contact send from s to r's address; sets rc_send, fp_s.
do_send() {
	local st=$LAN_DIR/state-s-$1
	mkdir -p "$st"
	fp_s=$(full_id s --state-dir "$st")
	rc_send=0
	lan_run s timeout 40 "$BIN" send --timeout 20 --name "S-$1 $tag" --state-dir "$st" \
		"$R" "$SRC/secret.bin" >"$(log "send-$1")" 2>&1 || rc_send=$?
	lan_diag "send ($1): exit $rc_send: $(tr '\n' ' ' <"$(log "send-$1")")"
	lan_diag "serve ($1): $(grep -E '^(incoming|declined|done)' "$(log "serve-$1")" | tr '\n' ' ')"
}
stop_serve() {
	local rc=0
	lan_stop "$pid_r" TERM 10 || rc=$?
	lan_check "serve ($1) exits 0 on SIGTERM (no leak, no sanitizer report)" test "$rc" = 0
}

# --- no attacker: the codes match -------------------------------------------
start_serve honest all
do_send honest
c_s=$(send_code "$(log send-honest)") c_r=$(serve_code "$(log serve-honest)")
lan_diag "honest: send shows '$c_s', serve shows '$c_r'"
arrived() { cmp -s "$SRC/secret.bin" "$LAN_DIR/dl-$1/secret.bin"; }
lan_check "no attacker: send exits 0 and the file arrives intact" \
	test "$rc_send" = 0 -a "$(arrived honest && echo yes)" = yes
lan_check "no attacker: both ends show a code, the same one ($c_s)" \
	test -n "$c_s" -a "$c_s" = "$c_r"
lan_check "no attacker: send connected to r's own id, serve saw s's" \
	test "$(connected_id "$(log send-honest)")" = "$fp_r" -a "$(serve_fp "$(log serve-honest)")" = "$(short "$fp_s")"
stop_serve honest

# --- the attacker: HTTP to r port 7757 from s goes to m's relay ---------------
lan_spawn m "$(log relay)" "$PY" "$RELAY" --listen "0.0.0.0:7757" --upstream "http://$R:7757" --timeout 30
pid_relay=$LAN_PID
lan_wait_for 10 grep -q '"event": "listening"' "$(log relay)" || lan_fail "relay on m listening"
lan_iptables s "the DNAT rule" -t nat -A OUTPUT -p tcp -d "$R" --dport 7757 -j DNAT --to-destination "$M:7757"
IPT=$LAN_IPT
lan_diag "interception on s ($IPT): $(lan_run s "$IPT" -t nat -S OUTPUT | grep DNAT)"

# r's user refuses: nothing may reach the attacker.
start_serve refused none
do_send refused
lan_wait_for 10 relay_ended 1 || lan_fail "relay session 1 ended"
c_s=$(send_code "$(log send-refused)") c_r=$(serve_code "$(log serve-refused)")
lan_diag "attacked, refused: send shows '$c_s', serve shows '$c_r'"
lan_diag "relay session 1: $(grep '"event": "session-end"' "$(log relay)" | head -n 1)"
lan_check "attacked: s's offer reached m's relay, which answered in r's place" \
	test "$(relay_get 1 'd["from"].split(":")[0]')" = "$S" -a \
	"$(relay_get 1 'd["sender_fingerprint"]')" = "$fp_s" -a \
	"$(relay_get 1 'd["receiver_fingerprint"]')" = "$fp_r"
lan_check "attacked: both ends still show a code, and the codes differ" \
	test -n "$c_s" -a -n "$c_r" -a "$c_s" != "$c_r"
lan_check "attacked: the codes are the ones the relay's two sessions give (${c_s} / ${c_r})" \
	test "$(relay_get 1 'd["codes"]["sender_shows"]')" = "$c_s" -a \
	"$(relay_get 1 'd["codes"]["receiver_shows"]')" = "$c_r"
id=$(connected_id "$(log send-refused)")
lan_check "attacked: send says it connected to the attacker's id (${id:0:8}...), not r's (${fp_r:0:8}...)" \
	test -n "$id" -a "$id" != "$fp_r" -a "$id" = "$(relay_get 1 'd["sender_sees"]')"
lan_check "attacked: serve saw the attacker's fingerprint, not s's" \
	test "$(serve_fp "$(log serve-refused)")" = "$(short "$(relay_get 1 'd["receiver_sees"]')")" -a \
	"$(serve_fp "$(log serve-refused)")" != "$(short "$fp_s")"
lan_check "attacked and refused: send exits 4 (declined)" test "$rc_send" = 4
lan_check "attacked and refused: not one byte of the file reached the attacker (relay: 0 binary bytes)" \
	test "$(relay_get 1 'd["binary_bytes_s2r"] + d["binary_bytes_r2s"]')" = 0
lan_check "attacked and refused: nothing written on r" test -z "$(ls -A "$LAN_DIR/dl-refused")"
stop_serve refused

# r's user accepts: the codes differ, which is what comparing them catches.
start_serve accepted all
do_send accepted
lan_wait_for 15 relay_ended 2 || lan_fail "relay session 2 ended"
c_s=$(send_code "$(log send-accepted)") c_r=$(serve_code "$(log serve-accepted)")
lan_diag "attacked, accepted: send shows '$c_s', serve shows '$c_r'"
lan_diag "relay session 2: $(grep '"event": "session-end"' "$(log relay)" | sed -n 2p)"
lan_check "attacked, accepted: both ends show a code, and the codes differ" \
	test -n "$c_s" -a -n "$c_r" -a "$c_s" != "$c_r"
lan_diag "attacked, accepted: send exit $rc_send; the relay saw $(relay_get 2 'd["binary_bytes_s2r"]') of" \
	"$(stat -c %s "$SRC/secret.bin") file bytes (the file $(arrived accepted && echo arrived intact ||
	echo did not arrive))"
stop_serve accepted

rc=0; lan_stop "$pid_relay" TERM 15 || rc=$?
lan_diag "relay: $(grep '"event": "exit"' "$(log relay)")"
lan_check "the relay exits 0 on SIGTERM, having handled exactly the two attacked sends" \
	test "$rc" = 0 -a -n "$(grep -E '"event": "exit", [^}]*"sessions": 2,' "$(log relay)")"
lan_done
