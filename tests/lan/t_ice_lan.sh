#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# ICE checks go only to the LAN (issue 11, item 9): an offer may list any
# address as a candidate, and `serve` used to send its connectivity checks
# to every one. Host m holds a "public" address too, 198.51.100.7/32 (a
# documentation range, on m's own interface inside this test's namespaces:
# nothing leaves them), and posts an offer to serve on a listing one
# candidate there and one at its LAN address; UDP listeners on m count what
# arrives. Now: the LAN candidate gets checks, the public one nothing (and
# serve -v says why); the base build sent to both.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require timeout curl "$PY"
lan_init
lan_add_hosts a m
A=$(lan_addr a) M=$(lan_addr m)
PUB=198.51.100.7
log() { echo "$LAN_DIR/$1.log"; }
lan_run m ip addr add "$PUB/32" dev eth0

lan_spawn a "$(log serve)" "$BIN" serve --name "ICE $$" --accept=none --dir "$LAN_DIR/dl" -v
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"

lan_spawn m "$(log count)" timeout 30 "$PY" "$(dirname "${BASH_SOURCE[0]}")/../interop/udp_count.py" 8 "$PUB:40000" "$M:40001"
pid_count=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log count)" || lan_fail "the listeners on m are up"

# A minimal browser-shaped offer; no DTLS will ever happen, only ICE checks.
lan_fake_offer "$LAN_DIR/offer.sdp" "$PUB:40000" "$M:40001"
code=$(lan_run m curl -s -o "$LAN_DIR/answer.sdp" -w '%{http_code}' -H 'Content-Type: application/sdp' \
	--data-binary "@$LAN_DIR/offer.sdp" "http://$A:7757/api/offer")
lan_check "serve answers the offer (201)" test "$code" = 201

# The listeners end by themselves after 8 s and print their counts.
lan_wait_for 20 grep -q '^{' "$(log count)" || true
lan_stop "$pid_count" TERM 5 >/dev/null 2>&1 || true
counts=$(grep '^{' "$(log count)" | tail -n 1 || true)
lan_diag "datagrams received on m: ${counts:-none (listener: $(tr '\n' ' ' <"$(log count)"))}"
n_pub=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['$PUB:40000'])" "$counts" 2>/dev/null || echo "?")
n_lan=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['$M:40001'])" "$counts" 2>/dev/null || echo "?")
lan_check "serve sends ICE checks to the candidate at m's LAN address ($n_lan datagrams)" \
	test "$n_lan" != "?" -a "$n_lan" != 0
lan_check "... and none to the candidate at the public address $PUB ($n_pub datagrams)" test "$n_pub" = 0
lan_check "serve -v says it does not send to $PUB, not on this LAN" \
	test -n "$(grep -F "not sending to remote candidate $PUB port 40000 (not a LAN address)" "$(log serve)")"

rc=0; lan_stop "$pid" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM (no leak, no sanitizer report)" test "$rc" = 0
lan_done
