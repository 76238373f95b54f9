#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Issue 11, item 9 (review finding 4): ICE checks go only to the
# LAN -- but only `serve` filters the candidates of an offer. A tab that
# opened a device's page takes relayed offers from any LAN host (POST
# /api/offer?to=TAB; tab ids are public in TXT t=), and its browser sends
# connectivity checks to every candidate the offer lists, before anyone is
# asked anything. Host m holds a "public" address 198.51.100.7/32 on its own
# interface (inside this test's namespaces) and posts to the tab on c an
# offer listing a candidate there and one at m's LAN address; UDP listeners
# on m count what arrives. The public candidate must get nothing (the page
# drops it, web/page/lanaddr.js); the LAN one still gets checks.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
RECV=$TOP/tests/browser/page_receive.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
lan_require timeout curl "$PY"
lan_init
lan_add_hosts a c m
tag=${LAN_PREFIX: -4}
A=$(lan_addr a) M=$(lan_addr m)
PUB=198.51.100.7
log() { echo "$LAN_DIR/$1.log"; }
lan_run m ip addr add "$PUB/32" dev eth0

lan_spawn a "$(log serve)" "$BIN" serve --name "Dev $tag" --accept=none --dir "$LAN_DIR/dl"
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"
ready=$LAN_DIR/ready.json
lan_spawn c "$(log tab)" timeout 60 node "$RECV" "http://$A:7757/" --out "$LAN_DIR/got" \
	--name "Tab $tag" --timeout 40 --ready-file "$ready"
pid_tab=$LAN_PID
lan_wait_for 30 test -s "$ready" || lan_fail "the tab attached to a"
tab=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$ready")

lan_spawn m "$(log count)" timeout 30 "$PY" "$TOP/tests/interop/udp_count.py" 8 "$PUB:40000" "$M:40001"
pid_count=$LAN_PID
lan_wait_for 10 grep -q '^listening' "$(log count)" || lan_fail "the listeners on m are up"
lan_fake_offer "$LAN_DIR/offer.sdp" "$PUB:40000" "$M:40001"
code=$(lan_run m curl -s -m 20 -o "$LAN_DIR/answer.sdp" -w '%{http_code}' -H 'Content-Type: application/sdp' \
	--data-binary "@$LAN_DIR/offer.sdp" "http://$A:7757/api/offer?to=$tab" || true)
lan_diag "relayed offer to tab $tab: HTTP $code"
lan_wait_for 20 grep -q '^{' "$(log count)" || true
lan_stop "$pid_count" TERM 5 >/dev/null 2>&1 || true
counts=$(grep '^{' "$(log count)" | tail -n 1 || true)
lan_diag "datagrams received on m: ${counts:-none}"
n_pub=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['$PUB:40000'])" "$counts" 2>/dev/null || echo "?")
n_lan=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['$M:40001'])" "$counts" 2>/dev/null || echo "?")
lan_diag "to m's LAN candidate: $n_lan datagrams (the tab did run ICE when this is > 0)"
lan_check "the tab's browser sends no ICE check to the candidate at the public address $PUB ($n_pub datagrams)" \
	test "$n_pub" = 0
lan_check "... while the LAN candidate at $M still gets checks ($n_lan datagrams): the tab runs ICE" \
	test "$n_lan" != "?" -a "$n_lan" != 0
lan_stop "$pid_tab" TERM 10 || true
lan_stop "$pid" TERM 10 || true
lan_done
