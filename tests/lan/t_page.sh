#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# The device's web page on the simulated LAN: `serve` serves the embedded
# page (content types, a strict CSP, 404/405 for the rest), and a headless
# Chromium on another host (mDNS hiding of local IPs left ON) loads it and
# sends a 20 MiB random file and a small one to the device, which keeps
# both, verified byte for byte; a device that declines shows it in the page.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
DRIVER=$TOP/tests/browser/page_send.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
lan_require timeout curl cmp
lan_init
lan_add_hosts a c d
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }

SRC=$LAN_DIR/src DL=$LAN_DIR/dl
mkdir -p "$SRC"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$SRC/random20.bin"
printf 'a small file ✓\n' >"$SRC/note über.txt"

lan_spawn a "$(log serve)" "$BIN" serve --name "Page $tag" --accept=all --dir "$DL"
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"

lan_check "serve prints the page's address by mDNS name and by IP address" \
	test -n "$(grep -F 'page:        http://a.local:7757/' "$(log serve)")" -a -n "$(grep -F " http://$A:7757/" "$(log serve)")"
lan_check "... and no QR code when its output is not a terminal" test -z "$(grep -F '█' "$(log serve)")"

# --- the page over plain HTTP -------------------------------------------------
hdr=$(lan_run c curl -s -D - -o "$LAN_DIR/index.html" "http://$A:7757/")
lan_diag "$(head -n 12 <<<"$hdr" | tr -d '\r' | tr '\n' '|')"
lan_check "GET / serves the page as text/html with a Content-Security-Policy" \
	test -n "$(grep -i '^content-type: text/html' <<<"$hdr")" -a -n "$(grep -i "^content-security-policy: .*default-src 'none'" <<<"$hdr")" \
	-a -n "$(grep -i '<html' "$LAN_DIR/index.html")"
lan_check "the page's script is served as text/javascript" \
	test -n "$(lan_run c curl -s -I "http://$A:7757/app.js" | grep -i '^content-type: text/javascript')"
lan_check "an unknown path is 404, POST / is 405, no directory listing" \
	test "$(lan_run c curl -s -o /dev/null -w '%{http_code}' "http://$A:7757/nope")" = 404 \
	-a "$(lan_run c curl -s -o /dev/null -w '%{http_code}' -X POST "http://$A:7757/")" = 405 \
	-a "$(lan_run c curl -s -o /dev/null -w '%{http_code}' "http://$A:7757/web/")" = 404

# --- a flood of offers from one host --------------------------------------------
codes=$(lan_run d sh -c "for i in \$(seq 1 40); do curl -s -o /dev/null -w '%{http_code} ' \
	-H 'Content-Type: application/sdp' --data-binary 'v=0 bogus' http://$A:7757/api/offer; done")
lan_diag "40 bogus offers from d: $codes"
# 20 at once, then 2 a second: a slow loop earns a few more.
n400=$(grep -o 400 <<<"$codes" | wc -l) n429=$(grep -o 429 <<<"$codes" | wc -l)
lan_check "a flood of offers from one address is cut to its burst: ~20 answered (400), the rest 429" \
	test "$n400" -ge 20 -a "$n400" -le 28 -a "$((n400 + n429))" = 40
# A few more at once (the bucket refills 2 a second, and starting a command
# in the namespace may take longer than that on a busy machine): the 429s
# among them carry Retry-After.
lan_check "... with a Retry-After header" \
	test -n "$(lan_run d sh -c "for i in 1 2 3 4 5; do curl -s -D - -o /dev/null -H 'Content-Type: application/sdp' \
		--data-binary x http://$A:7757/api/offer; done" | tr -d '\r' | awk '/^HTTP\// { in429 = ($2 == 429) } in429 && tolower($0) ~ /^retry-after: [0-9]/')"

# --- nearby devices, as a's own discovery sees them ------------------------------
lan_spawn d "$(log serve-d)" "$BIN" serve --name "Other $tag" --accept=all --dir "$LAN_DIR/dl-d"
pid_d=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-d)" || lan_fail "serve on d advertised"
seen_other() { lan_run c curl -s "http://$A:7757/api/devices" | grep -q "\"Other $tag\""; }
lan_wait_for 10 seen_other || true
devs=$(lan_run c curl -s "http://$A:7757/api/devices")
lan_diag "/api/devices: $(cut -c1-300 <<<"$devs")"
lan_check "GET /api/devices lists the other device (with its fingerprint) and marks a itself" \
	test "$(lan_json "[x['fingerprint'][:8] for x in d['devices'] if x['name'] == 'Other $tag'] == ['$(lan_run d "$BIN" id | awk '/^id:/ { print $2 }' | cut -c1-8)'] and any(x['this_device'] for x in d['devices'])" <<<"$devs" 2>/dev/null)" = True
lan_check "... each in the layout of list --json (README \"JSON of a device\"): name, display_name, address, protocol" \
	test "$(lan_json "[(x['display_name'], x['address'], x['protocol'], x['kind']) for x in d['devices'] if x['name'] == 'Other $tag'] == [('Other $tag', '$(lan_addr d)', 1, 'device')]" <<<"$devs" 2>/dev/null)" = True

# --- a browser sends files through the page (while d is still throttled) -----------
rc=0; lan_run c timeout 120 node "$DRIVER" "http://$A:7757/" "$SRC/random20.bin" "$SRC/note über.txt" \
	--timeout 90 --screenshots "$LAN_DIR/shots" >"$(log chromium)" 2>&1 || rc=$?
lan_diag "chromium: $(tail -n 1 "$(log chromium)" | cut -c1-300)"
lan_check "Chromium loads the page from a and sends a 20 MiB file and a small one: the page says ok" \
	test "$rc" = 0 -a "$(tail -n 1 "$(log chromium)" | lan_json "d['ok']" 2>/dev/null)" = True
lan_check "the page lists the other device nearby (from a's discovery)" \
	test "$(tail -n 1 "$(log chromium)" | lan_json "'Other $tag' in d['nearby']" 2>/dev/null)" = True
lan_check "... both land in a's folder, identical" \
	cmp -s "$SRC/random20.bin" "$DL/random20.bin"
lan_check "... the small one with its UTF-8 name" cmp -s "$SRC/note über.txt" "$DL/note über.txt"
png() { [[ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a && $(stat -c %s "$1") -gt 10000 ]]; }
lan_check "screenshots of the page at desktop and phone width (docs/ keeps a copy for the README)" \
	png "$LAN_DIR/shots/page-desktop.png" && png "$LAN_DIR/shots/page-phone.png"
pcode=$(tail -n 1 "$(log chromium)" | lan_json "d['code']" 2>/dev/null)
lan_check "the page (JavaScript) and serve (C) show the same verification code ($pcode)" \
	test -n "$pcode" -a -n "$(grep -F "code $pcode]" "$(log serve)")"
lan_check "serve saw a browser and saved both" \
	test "$(grep -c '^saved: ' "$(log serve)")" = 2

# --- the page of a sends to another device (d), straight from the browser ---------
rc=0; lan_run c timeout 120 node "$DRIVER" "http://$A:7757/" "$SRC/note über.txt" --target "Other $tag" \
	--timeout 90 >"$(log chromium-other)" 2>&1 || rc=$?
lan_diag "chromium (to d): $(tail -n 1 "$(log chromium-other)" | cut -c1-300)"
lan_check "the page served by a sends to device d, picked among its targets (CORS + fingerprint check)" \
	test "$rc" = 0 -a "$(tail -n 1 "$(log chromium-other)" | lan_json "d['target'].startswith('d:')" 2>/dev/null)" = True
lan_check "... the file lands in d's folder, not a's" \
	cmp -s "$SRC/note über.txt" "$LAN_DIR/dl-d/note über.txt"
lan_stop "$pid_d" TERM 10 || true
rc=0; lan_stop "$pid" TERM 10 || rc=$?
lan_check "serve exits 0 afterwards: no leak, no sanitizer report (got $rc)" test "$rc" = 0

# --- a device that declines -------------------------------------------------------
lan_spawn a "$(log serve-none)" "$BIN" serve --name "Nope $tag" --accept=none --dir "$DL-none"
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-none)" || lan_fail "serve --accept=none on a advertised"
rc=0; lan_run c timeout 120 node "$DRIVER" "http://$A:7757/" "$SRC/note über.txt" --timeout 60 \
	>"$(log chromium-declined)" 2>&1 || rc=$?
lan_diag "chromium (declined): $(tail -n 1 "$(log chromium-declined)" | cut -c1-300)"
lan_check "a declined offer shows in the page (not ok, the reason given), nothing written" \
	test "$rc" != 0 -a -n "$(grep -o 'accepts no files' "$(log chromium-declined)" | head -n 1)" -a ! -e "$DL-none/note über.txt"
lan_stop "$pid" TERM 10 || true
lan_done
