#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# One LAN host, or a web page, cannot take the device down (issue 11, items
# 3 and 8). Hostile hosts (aiortc, curl, raw sockets; tests/lan/exhaust_peer.py)
# try each exhaustion, and a real sender and a real tab still get through:
# - c opens 100 "idrop" channels on one connection, each offering a file:
#   serve keeps one (no thread or folder for the others), and /api/info still answers;
# - c floods an "echo" channel while never reading the replies: serve's
#   memory stays bounded and the channel is closed;
# - d holds connections that never say hello: it gets 4, a real send from b
#   completes, and serve closes the idle ones after 30 s;
# - e and f each open 16 tab event streams: each gets 4, a real tab from g
#   still attaches;
# - requests with a foreign Host (DNS rebinding) get 421, a foreign Origin
#   403, a LAN page's origin its own origin back (never "*").
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
PEER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/exhaust_peer.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout curl cmp
lan_init
lan_add_hosts a b c d e f g
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
URL=http://$A:7757
log() { echo "$LAN_DIR/$1.log"; }
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
lines() { grep -c -- "$2" "$1" || true; }

mkdir -p "$LAN_DIR/src"
head -c $((1024 * 1024)) /dev/urandom >"$LAN_DIR/src/real.bin"

# A small ASan quarantine, so that serve's RSS shows what it holds, not what
# it freed lately (no effect on a build without ASan).
lan_spawn a "$(log serve)" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" \
	IDROP_STATE_DIR="$LAN_DIR/state-a" "$BIN" serve -v --name "Device $tag" --accept=all --dir "$LAN_DIR/dl"
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"

# ---- many "idrop" channels on one connection (c) ----
thr0=$(status "$pid" Threads) fd0=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
lan_spawn c "$(log channels)" timeout 60 "$PY" "$PEER" channels "$URL" 100 10
chan=$LAN_PID
closed_99() { [[ "$(lines "$(log serve)" 'closing a second "idrop" channel')" -ge 99 ]]; }
# Measured while the peer holds them: each channel was either taken (its
# offer shown) or closed.
all_seen() { [[ $(($(lines "$(log serve)" '^incoming:') + $(lines "$(log serve)" 'closing a second "idrop"'))) -ge 100 ]]; }
lan_wait_for 20 all_seen || true
sleep 1
thr1=$(status "$pid" Threads) fd1=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
t0=$(date +%s%N)
info=$(lan_run b curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/api/info")
ms=$((($(date +%s%N) - t0) / 1000000))
lan_diag "100 idrop channels on one connection: threads $thr0 -> $thr1, open files $fd0 -> $fd1; /api/info $info in $ms ms"
lan_check "serve keeps one transfer channel per connection and says why it closes the others" closed_99
lan_check "... so threads ($thr0 -> $thr1) and open files ($fd0 -> $fd1) stay bounded" \
	test $((thr1 - thr0)) -le 8 -a $((fd1 - fd0)) -le 40
lan_check "... and /api/info answers at once (200 in $ms ms)" test "$info" = 200 -a "$ms" -lt 2000
lan_wait_for 20 grep -q '^open' "$(log channels)" || true
lan_stop "$chan" TERM 5 || true
lan_check "the peer connected and opened its channels (its view: $(tail -n 1 "$(log channels)"))" \
	grep -q '^open' "$(log channels)"

# ---- an echo peer that never reads (c) ----
rss0=$(status "$pid" VmRSS)
rc=0
lan_run c timeout 100 "$PY" "$PEER" noread "$URL" 48 1 >"$(log noread)" 2>&1 || rc=$?
rss1=$(status "$pid" VmRSS)
lan_diag "48 MiB to an echo channel whose peer never reads: serve RSS $rss0 -> $rss1 kB; peer: $(tail -n 1 "$(log noread)")"
lan_check "the peer connected and sent" grep -q '^sent [1-9]' "$(log noread)"
lan_check "serve's memory stays bounded (grew $(((rss1 - rss0) / 1024)) MB, at most 24)" \
	test $((rss1 - rss0)) -le $((24 * 1024))
lan_check "... and it closes the echo channel of a peer that never drains, saying why" \
	grep -q 'closing an "echo" channel: its peer does not read' "$(log serve)"

# ---- Host and Origin: a web page on the internet, DNS rebinding ----
hdr() { lan_run c curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
code() { lan_run c curl -s -o /dev/null -w '%{http_code}' "$@" || true; }   # a stream ends by --max-time
lan_aiortc_offer d >"$LAN_DIR/offer.sdp"
evil=(-H 'Host: evil.example' -H 'Origin: https://evil.example')
pre=$(hdr -X OPTIONS "${evil[@]}" -H 'Access-Control-Request-Method: POST' "$URL/api/offer")
lan_diag "preflight with Host: evil.example: $(head -n 1 <<<"$pre")"
lan_check "a preflight for evil.example gets 421, no Access-Control-Allow-Origin" \
	test -n "$(grep '^HTTP/1.1 421' <<<"$pre")" -a -z "$(grep -i '^access-control-allow-origin' <<<"$pre")"
c1=$(code "${evil[@]}" -H 'Content-Type: application/sdp' --data-binary @"$LAN_DIR/offer.sdp" "$URL/api/offer")
c2=$(code "${evil[@]}" "$URL/api/events?name=x&fp=$(printf 'ef%.0s' {1..32})" --max-time 2)
c3=$(code -H 'Host: evil.example:7757' "$URL/api/info")
c4=$(code -H 'Host: evil.example:7757' "$URL/")
lan_check "Host: evil.example gets 421 on /api/offer ($c1), /api/events ($c2), /api/info ($c3), the page ($c4)" \
	test "$c1$c2$c3$c4" = 421421421421
c5=$(code -H 'Origin: https://evil.example' "$URL/api/events?name=x&fp=$(printf 'ef%.0s' {1..32})" --max-time 2)
c6=$(code -H 'Origin: https://evil.example' -H 'Content-Type: application/sdp' \
	--data-binary @"$LAN_DIR/offer.sdp" "$URL/api/offer")
c7=$(code -H 'Origin: http://10.77.0.200:7757' "$URL/api/events?name=x&fp=$(printf 'ef%.0s' {1..32})" --max-time 2)
lan_check "a foreign Origin gets 403 on /api/events ($c5) and /api/offer ($c6); a LAN page's too on /api/events ($c7)" \
	test "$c5$c6$c7" = 403403403
pre=$(hdr -X OPTIONS -H "Origin: http://10.77.0.200:7757" -H 'Access-Control-Request-Method: POST' "$URL/api/offer")
lan_check "a LAN page's preflight for /api/offer gets 204 with its own origin back, not *" \
	test -n "$(grep '^HTTP/1.1 204' <<<"$pre")" \
	-a -n "$(grep -ix 'access-control-allow-origin: http://10.77.0.200:7757' <<<"$pre")"
name=$(sed -n 's|^page: *http://\([^:/]*\):.*|\1|p' "$(log serve)" | head -n 1)
if [[ "$name" == *.local ]]; then
	c8=$(code -H "Host: $name:7757" "$URL/api/info")
	lan_check "the device's own name ($name) is answered (200, got $c8)" test "$c8" = 200
fi
c9=$(code "$URL/api/info")
lan_check "its IP address is answered (200, got $c9)" test "$c9" = 200

# ---- connections that never say hello, from one address (d) ----
lan_spawn d "$(log idle)" timeout 90 "$PY" "$PEER" idle "$URL" 16 45
idle=$LAN_PID
lan_wait_for 60 grep -q '^[0-9]' "$(log idle)" || true
codes=$(head -n 1 "$(log idle)")
lan_diag "d: 16 connections one after another that never say hello: $codes"
lan_check "one address holds at most 4 connections, then 503" \
	test "$(grep -o 201 <<<"$codes" | wc -l)" -le 4 -a "$(grep -o 503 <<<"$codes" | wc -l)" -ge 12
t_idle=$SECONDS
rc=0
lan_run b timeout 40 "$BIN" send --name "Real $tag" --timeout 20 "$A" "$LAN_DIR/src/real.bin" \
	>"$(log send)" 2>&1 || rc=$?
lan_diag "send from b: $(tail -n 1 "$(log send)")"
lan_check "meanwhile a real send from b completes (exit 0, got $rc)" test "$rc" = 0
lan_check "... and the file is there, identical" cmp -s "$LAN_DIR/src/real.bin" "$LAN_DIR/dl/real.bin"

# ---- tab event streams from two addresses (e, f) ----
lan_spawn e "$(log tabs-e)" timeout 60 "$PY" "$PEER" tabs "$URL" 16 30
tabs_e=$LAN_PID
lan_spawn f "$(log tabs-f)" timeout 60 "$PY" "$PEER" tabs "$URL" 16 30
tabs_f=$LAN_PID
lan_wait_for 20 grep -q '^[0-9]' "$(log tabs-e)" || true
lan_wait_for 20 grep -q '^[0-9]' "$(log tabs-f)" || true
lan_diag "e: 16 event streams: $(head -n 1 "$(log tabs-e)")"
lan_diag "f: 16 event streams: $(head -n 1 "$(log tabs-f)")"
lan_check "one address attaches at most 4 tabs, then 503" \
	test "$(grep -o 200 "$(log tabs-e)" | wc -l)" -le 4 -a "$(grep -o 503 "$(log tabs-e)" | wc -l)" -ge 12 \
	-a "$(grep -o 200 "$(log tabs-f)" | wc -l)" -le 4
lan_run g timeout 5 curl -s -N --max-time 2 "$URL/api/events?name=Real%20tab&fp=$(printf 'cd%.0s' {1..32})" \
	>"$LAN_DIR/tab-g.out" 2>&1 || true
lan_check "a real tab from g still attaches (its hello event arrives)" grep -q '^event: hello' "$LAN_DIR/tab-g.out"

# ---- d's idle connections are closed after 30 s ----
idle_closed() { [[ "$(lines "$(log serve)" 'said no hello within 30 s')" -ge 1 ]]; }
lan_wait_for $((45 - (SECONDS - t_idle))) idle_closed || true
lan_check "serve closes connections that say no hello within 30 s" idle_closed
lan_stop "$idle" TERM 10 || true
lan_stop "$tabs_e" TERM 5 || true
lan_stop "$tabs_f" TERM 5 || true

rc=0; lan_stop "$pid" TERM 10 || rc=$?
lan_check "serve exits 0 afterwards: no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_done
