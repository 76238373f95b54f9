#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# A browser tab as a peer of the whole LAN: a headless Chromium on host c
# opens device a's page and attaches; a announces the tab by DNS-SD, so
# `idrop-lan list` on host b shows it and `idrop-lan send "TAB NAME"` on b
# reaches it (the offer relayed by a, the data straight from b to the
# browser): the download fires with the right bytes, a decline in the page is
# the sender's exit 4, and the tab leaves the list when it closes. Two
# browser contexts on a exchange a file the same way. Chromium's mDNS hiding
# of local IPs stays ON.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
RECV=$TOP/tests/browser/page_receive.mjs
PAIR=$TOP/tests/browser/page_pair.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
lan_require timeout cmp
lan_init
lan_add_hosts a b c
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
URL=http://$A:7757/
log() { echo "$LAN_DIR/$1.log"; }
# The drivers' one JSON line (their stderr shares the log).
result() { grep '^{' "$(log "$1")" | tail -n 1; }

SRC=$LAN_DIR/src
mkdir -p "$SRC" "$LAN_DIR/dl-b" "$LAN_DIR/got" "$LAN_DIR/got-declined" "$LAN_DIR/got-pair"
head -c $((8 * 1024 * 1024 + 17)) /dev/urandom >"$SRC/photo.bin"
printf 'from the command line ✓\n' >"$SRC/note über.txt"

lan_spawn a "$(log serve)" "$BIN" serve --name "Dev $tag" --accept=all --dir "$LAN_DIR/dl-a" -v
serve=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"

# --- a tab attaches; list on b shows it --------------------------------------------
TAB="Phone $tag"
ready=$LAN_DIR/ready.json
lan_spawn c "$(log recv)" timeout 120 node "$RECV" "$URL" --out "$LAN_DIR/got" --name "$TAB" --count 2 \
	--timeout 100 --ready-file "$ready"
recv=$LAN_PID
lan_wait_for 30 test -s "$ready" || lan_fail "the tab attached to a (page_receive wrote $ready)"
tab_id=$(lan_json "d['id']" <"$ready")
lan_diag "tab attached: $(cat "$ready")"
tab_listed() { lan_run b timeout 10 "$BIN" list --timeout 1.5 --json | grep -q "\"$TAB\""; }
lan_wait_for 15 tab_listed || true
listed=$(lan_run b timeout 10 "$BIN" list --timeout 1.5 --json)
lan_diag "list on b: $(cut -c1-400 <<<"$listed")"
lan_check "list on b shows the tab as a browser attached to a, with its id" \
	test "$(lan_json "[(x['kind'], x['device'], x['tab']) for x in d if x['name'] == '$TAB'] == [('browser', 'Dev $tag', '$tab_id')]" <<<"$listed" 2>/dev/null)" = True
table=$(lan_run b timeout 10 "$BIN" list --timeout 1.5)
lan_check "... and the table says so: \"(browser on Dev $tag)\"" \
	test -n "$(grep -F "$TAB" <<<"$table" | grep -F "(browser on Dev $tag)")"

# --- send from b to the tab by its name ---------------------------------------------
rc=0
lan_run b timeout 90 "$BIN" send --name "Laptop $tag" --timeout 60 "$TAB" "$SRC/photo.bin" "$SRC/note über.txt" \
	>"$(log send)" 2>&1 || rc=$?
lan_diag "send: $(tail -n 3 "$(log send)" | tr '\n' '|' | cut -c1-300)"
lan_check "idrop-lan send \"$TAB\" on b exits 0 (offer relayed by a, data straight to the browser)" test "$rc" = 0
# The driver ends by itself once both downloads are saved (bounded by its
# own --timeout and `timeout`).
rrc=0; wait "$recv" || rrc=$?
lan_diag "page_receive: $(result recv | cut -c1-400)"
lan_check "the browser's download events fired for both files (driver exit 0, got $rrc)" \
	test "$rrc" = 0 -a "$(result recv | lan_json "sorted(f['name'] for f in d['files'])" 2>/dev/null)" = "['note über.txt', 'photo.bin']"
lan_check "... and the downloaded bytes match what b sent" \
	cmp -s "$SRC/photo.bin" "$LAN_DIR/got/photo.bin"
lan_check "... the UTF-8 named one too" cmp -s "$SRC/note über.txt" "$LAN_DIR/got/note über.txt"
lan_check "the page's consent dialog named the sender and the files" \
	test "$(result recv | lan_json "d['asked_name']" 2>/dev/null)" = "Laptop $tag" \
	-a -n "$(result recv | lan_json "d['asked']" 2>/dev/null | grep -F '2 files')"
scode=$(sed -n 's/.*verification code \([0-9]\{3\} [0-9]\{3\}\).*/\1/p' "$(log send)" | head -n 1)
pcode=$(result recv | lan_json "d['code']" 2>/dev/null)
lan_diag "verification code: send says '$scode', the page says '$pcode'"
lan_check "send (C) and the page (JavaScript) derive the same verification code" \
	test -n "$scode" -a "$scode" = "$pcode"
lan_check "a relayed, a did not carry the data: its log shows the relay and no saved file" \
	test -n "$(grep -F 'relaying an offer' "$(log serve)")" -a -z "$(grep '^saved: ' "$(log serve)")"

# --- the tab closed: it leaves the list within a few seconds ------------------------
gone() { ! lan_run b timeout 10 "$BIN" list --timeout 1 --json | grep -q "\"$TAB\""; }
t0=$(date +%s%N)
lan_wait_for 10 gone && left=yes || left=no
lan_diag "tab gone from list after $((($(date +%s%N) - t0) / 1000000)) ms of polling"
lan_check "after the tab closed, list on b no longer shows it (within 10 s)" test "$left" = yes
lan_check "... a logged that the tab left" test -n "$(grep -F "browser tab \"$TAB\"" "$(log serve)" | grep -F left)"
rc=0; lan_run b timeout 30 "$BIN" send --timeout 10 "$TAB" "$SRC/note über.txt" >"$(log send-gone)" 2>&1 || rc=$?
lan_check "sending to the closed tab: exit 3 (not found), with a message" \
	test "$rc" = 3 -a -n "$(grep -i 'no idrop-lan device or browser' "$(log send-gone)")"

# --- a tab that declines ----------------------------------------------------------
TAB2="Nope $tag"
ready2=$LAN_DIR/ready2.json
lan_spawn c "$(log recv-declined)" timeout 120 node "$RECV" "$URL" --out "$LAN_DIR/got-declined" --name "$TAB2" \
	--decline --timeout 100 --ready-file "$ready2"
recv=$LAN_PID
lan_wait_for 30 test -s "$ready2" || lan_fail "the second tab attached"
rc=0
lan_run b timeout 90 "$BIN" send --timeout 60 "$TAB2" "$SRC/note über.txt" >"$(log send-declined)" 2>&1 || rc=$?
lan_diag "send (declined): $(tail -n 2 "$(log send-declined)" | tr '\n' '|' | cut -c1-300)"
lan_check "declining in the page makes the sender exit 4 (declined)" test "$rc" = 4
rrc=0; wait "$recv" || rrc=$?
lan_check "... the page showed it declined and saved nothing" \
	test "$rrc" = 0 -a "$(result recv-declined | lan_json "d['state']" 2>/dev/null)" = declined -a -z "$(ls -A "$LAN_DIR/got-declined")"

# --- two browser contexts on a exchange a file --------------------------------------
rc=0
lan_run c timeout 150 node "$PAIR" "$URL" "$SRC/photo.bin" --out "$LAN_DIR/got-pair" --timeout 120 \
	>"$(log pair)" 2>&1 || rc=$?
lan_diag "pair: $(result pair | cut -c1-400)"
lan_check "two browser contexts attached to a exchange a file (a relays the signalling)" \
	test "$rc" = 0 -a "$(result pair | lan_json "d['ok']" 2>/dev/null)" = True
lan_check "... the received bytes match" cmp -s "$SRC/photo.bin" "$LAN_DIR/got-pair/photo.bin"
lan_check "... both tabs showed the same verification code" \
	test -n "$(result pair | lan_json "d['sender']['code']" 2>/dev/null)" \
	-a -n "$(result pair | lan_json "d['sender']['code'] in d['asked']" 2>/dev/null | grep -x True)"

rc=0; lan_stop "$serve" TERM 10 || rc=$?
lan_check "serve exits 0 afterwards: no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_done
