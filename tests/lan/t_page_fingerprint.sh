#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Which key the page trusts (issue 11, item 1): an SDP may carry an
# a=fingerprint line at session level and another in its m-section; a
# browser checks the certificate against the media-level one. Host m is the
# attacker, an independent idrop peer (tests/interop/idrop_peer.py, aiortc)
# whose SDP adds a session-level line with someone else's key, its own real
# key staying at media level:
#   (a) m sends to a tab attached to device a (POST /api/offer?to=TAB, the
#       tab id is public) with a's key at session level: the tab's consent
#       dialog must never say a's key (the offer is refused as ambiguous);
#   (b) the page on c sends to device d, listed with d's key; HTTP to d is
#       redirected to m (a DNAT rule in c's namespace stands for ARP
#       spoofing), whose answer carries d's key at session level: the page
#       must refuse, and nothing may reach m.
# An honest aiortc sender to a tab still works, and its dialog shows the key
# of the certificate it presented.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
PEER=$TOP/tests/interop/idrop_peer.py
RECV=$TOP/tests/browser/page_receive.mjs
SEND=$TOP/tests/browser/page_send.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
"$PY" -c 'import aiortc' 2>/dev/null || lan_skip "$PY cannot import aiortc (make deps installs python3-aiortc)"
lan_require_iptables "for the interception"
lan_require timeout
lan_init
lan_add_hosts a c d m
tag=${LAN_PREFIX: -4}
A=$(lan_addr a) D=$(lan_addr d) M=$(lan_addr m)
log() { echo "$LAN_DIR/$1.log"; }
result() { grep '^{' "$(log "$1")" | tail -n 1; }
full_id() { lan_run "$1" "$BIN" id | awk '/^id:/ { print $2 }'; }
short() { echo "${1:0:4} ${1:4:4}"; }

SRC=$LAN_DIR/src
mkdir -p "$SRC" "$LAN_DIR/dl-m"
printf 'for the real device only\n' >"$SRC/secret.txt"
fp_a=$(full_id a) fp_d=$(full_id d)

lan_spawn a "$(log serve-a)" "$BIN" serve --name "Dev $tag" --accept=all --dir "$LAN_DIR/dl-a"
pid_a=$LAN_PID
lan_spawn d "$(log serve-d)" "$BIN" serve --name "Other $tag" --accept=all --dir "$LAN_DIR/dl-d"
pid_d=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-a)" || lan_fail "serve on a advertised"
lan_wait_for 10 grep -q '^advertised:' "$(log serve-d)" || lan_fail "serve on d advertised"

# tab_offer NAME [PEER OPTIONS...]: a tab on c attaches to a; m's idrop peer
# sends secret.txt to it through a's relay. Sets rc_peer; the tab's JSON is
# result "tab-NAME", the peer's result "peer-NAME".
tab_offer() {
	local name=$1 ready=$LAN_DIR/ready-$1.json pid
	shift
	lan_spawn c "$(log "tab-$name")" timeout 60 node "$RECV" "http://$A:7757/" --out "$LAN_DIR/got-$name" \
		--name "Tab $name $tag" --timeout 40 --ready-file "$ready"
	pid=$LAN_PID
	lan_wait_for 30 test -s "$ready" || lan_fail "the tab ($name) attached to a"
	rc_peer=0
	lan_run m timeout 40 "$PY" "$PEER" send "http://$A:7757/api/offer?to=$(lan_json "d['id']" <"$ready")" \
		"$SRC/secret.txt" --name vm --timeout 25 "$@" >"$(log "peer-$name")" 2>&1 || rc_peer=$?
	# A refused offer never opens the dialog: the tab's driver would wait for it.
	lan_stop "$pid" TERM 15 || true
	lan_diag "peer ($name): exit $rc_peer: $(result "peer-$name" | cut -c1-400)"
	lan_diag "tab ($name): $(result "tab-$name" | cut -c1-400)"
}

# --- an honest aiortc sender: the dialog shows the key it presented -------------
tab_offer honest
own=$(result peer-honest | lan_json "d['own_fingerprint']" 2>/dev/null || true)
asked=$(result tab-honest | lan_json "d.get('asked') or ''" 2>/dev/null || true)
lan_check "honest aiortc sender to a tab (relayed by a): the file arrives" \
	test "$rc_peer" = 0 -a "$(result tab-honest | lan_json "len(d['files'])" 2>/dev/null)" = 1
lan_check "... and the consent dialog's key element shows the sender's own key $(short "$own")" \
	test -n "$own" -a "$(result tab-honest | lan_json "d.get('asked_key')" 2>/dev/null)" = "$(short "$own")" \
	-a -n "$(grep -F "$(short "$own")" <<<"$asked")"
lan_check "... which is the certificate Chromium verified (it has getRemoteCertificates, and the tab hashed it)" \
	test "$(result tab-honest | lan_json "d.get('dtls_certificates')" 2>/dev/null)" = True

# --- a claimed name that writes its own key (issue 11 review) -----------------------
# The dialog once said '“NAME” [key XXXX XXXX] wants ...': a name holding '”'
# closed the quotes and put a key of its choosing first. The verified key
# now has its own element, first; the name its own, last.
SPOOF=$'vm\u201d [key 1111 2222]'
tab_offer quote --name "$SPOOF"
own=$(result peer-quote | lan_json "d['own_fingerprint']" 2>/dev/null || true)
asked=$(result tab-quote | lan_json "d.get('asked') or ''" 2>/dev/null || true)
lan_diag "the dialog said: $asked"
lan_check "a sender named '$SPOOF': the dialog opened and the file arrives" \
	test -n "$asked" -a "$rc_peer" = 0
lan_check "... the text never shows the attacker's '“vm” [key 1111 2222]'" \
	test -z "$(grep -F $'\u201cvm\u201d [key 1111 2222]' <<<"$asked")"
lan_check "... the dialog's key element holds the verified key $(short "$own")" \
	test -n "$own" -a "$(result tab-quote | lan_json "d.get('asked_key')" 2>/dev/null)" = "$(short "$own")"
lan_check "... its name element holds the whole claimed name" \
	test "$(result tab-quote | lan_json "d.get('asked_name')" 2>/dev/null)" = "$SPOOF"
lan_check "... and the verified key comes before anything of the name" \
	"$PY" -c 'import sys; t, k = sys.argv[1], sys.argv[2]; sys.exit(not (k in t and t.index(k) < t.index("vm")))' \
	"$asked" "$(short "$own")"

# --- (a) a relayed offer with a's key at session level, m's at media level -------
tab_offer a-key --sdp-session-fingerprint "$fp_a"
asked=$(result tab-a-key | lan_json "d.get('asked') or ''" 2>/dev/null || true)
own=$(result peer-a-key | lan_json "d['own_fingerprint']" 2>/dev/null || true)
lan_check "(a) the tab's consent dialog never names device a's key [key $(short "$fp_a")] for m's offer" \
	test -z "$(grep -F "$(short "$fp_a")" <<<"$asked")"
lan_check "(a) the tab refuses the offer as ambiguous: m gets 502 naming the two levels, no file goes" \
	test "$rc_peer" != 0 -a "$(result peer-a-key | lan_json "d.get('http_status')" 2>/dev/null)" = 502 \
	-a -n "$(result peer-a-key | grep -F 'fingerprint lines at two levels')" \
	-a "$(result tab-a-key | lan_json "len(d['files'])" 2>/dev/null)" = 0
lan_check "(a) so no dialog opened at all (and none with m's real key $(short "$own") either)" test -z "$asked"

# --- (b) the page sends to d; m answers in d's place with d's key at session level ---
lan_spawn m "$(log impostor)" "$PY" "$PEER" receive --port 7757 --dir "$LAN_DIR/dl-m" --name "Other $tag" \
	--sdp-session-fingerprint "$fp_d"
pid_m=$LAN_PID
lan_wait_for 10 grep -q '^listening on' "$(log impostor)" || lan_fail "the impostor on m listening"
lan_iptables c "the DNAT rule" -t nat -A OUTPUT -p tcp -d "$D" --dport 7757 -j DNAT --to-destination "$M:7757"
IPT=$LAN_IPT
rc=0; lan_run c timeout 90 node "$SEND" "http://$A:7757/" "$SRC/secret.txt" --target "Other $tag" \
	--timeout 60 >"$(log page-send)" 2>&1 || rc=$?
lan_diag "page -> d (intercepted by m): exit $rc: $(result page-send | cut -c1-500)"
lan_diag "impostor: $(grep -v '^listening' "$(log impostor)" | tr '\n' ' ' | cut -c1-400)"
lan_check "(b) the page picked d, listed with d's key (the offer went to m instead)" \
	test "$(result page-send | lan_json "d['target']" 2>/dev/null)" = "d:$fp_d"
lan_check "(b) the page refuses the answer as ambiguous: not ok, its reason says so" \
	test "$rc" != 0 -a "$(result page-send | lan_json "d['ok']" 2>/dev/null)" = False \
	-a -n "$(result page-send | grep -F 'fingerprint lines at two levels')"
lan_check "(b) nothing reached m: no file there, no transfer finished" \
	test -z "$(ls -A "$LAN_DIR/dl-m")" -a -z "$(grep '^{' "$(log impostor)")"
lan_stop "$pid_m" TERM 10 || true

for p in "$pid_a" "$pid_d"; do
	rc=0; lan_stop "$p" TERM 10 || rc=$?
	lan_check "serve exits 0 on SIGTERM (no leak, no sanitizer report)" test "$rc" = 0
done
lan_done
