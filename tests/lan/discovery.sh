#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Discovery scenarios over the simulated LAN, run once per back-end by
# t_discovery_daemon.sh (a real avahi-daemon + D-Bus on every host) and
# t_discovery_embedded.sh (no daemon anywhere: the in-process Avahi core).
# Each check is one user-visible behaviour of serve / list / resolve.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

MODE=$1                         # daemon | embedded
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require curl timeout avahi-daemon avahi-publish avahi-browse dbus-daemon /usr/bin/python3
lan_init
if [[ $MODE == daemon ]]; then
	lan_add_hosts --daemon a b c d
	BACKEND_NAME=avahi-daemon
else
	lan_add_hosts a b c d
	BACKEND_NAME=embedded
fi

# A unique name per run: a publisher killed without goodbye would linger
# in caches under a reused name.
tag=${LAN_PREFIX: -4}
log() { echo "$LAN_DIR/$1.log"; }
fp_of() { lan_run "$1" "$BIN" id | awk '/^id:/ { print $2 }'; }
json_get() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

start_serve() {   # HOST NAME [OPTIONS...] -> sets SERVE_PID
	local host=$1 name=$2
	shift 2
	lan_spawn "$host" "$(log "serve-$host")" "$BIN" serve --name "$name" "$@"
	SERVE_PID=$LAN_PID
	lan_wait_for 10 grep -q '^advertised:' "$(log "serve-$host")"
}

# --- serve on a and b; list on c sees both --------------------------------
fp_a=$(fp_of a)
fp_b=$(fp_of b)
lan_check "id prints a 64-digit fingerprint" grep -qE '^[0-9a-f]{64}$' <<<"$fp_a"
lan_check "each host has its own identity" test "$fp_a" != "$fp_b"

start_serve a "Alpha $tag" && pid_a=$SERVE_PID || lan_fail "serve on a advertised"
start_serve b "Beta $tag" && pid_b=$SERVE_PID || lan_fail "serve on b advertised"
lan_check "serve says which discovery back-end runs ($BACKEND_NAME)" \
	grep -q "^discovery: *$BACKEND_NAME\$" "$(log serve-a)"

list_c=$(lan_run c timeout 10 "$BIN" list)
lan_diag "list on c:"; sed 's/^/#   /' <<<"$list_c"
row_ok() {   # LIST NAME HOST ADDR PORT FP
	awk -v n="$2" -v h="$3" -v a="$4" -v p="$5" -v f="${6:0:4} ${6:4:4}" '
		index($0, n) && index($0, h) && index($0, a) && index($0, " " p " ") && index($0, f) { ok = 1 }
		END { exit !ok }' <<<"$1"
}
lan_check "list on c shows Alpha with a's host, address, port, fingerprint" \
	row_ok "$list_c" "Alpha $tag" a.local "$(lan_addr a)" 7757 "$fp_a"
lan_check "list on c shows Beta with b's host, address, port, fingerprint" \
	row_ok "$list_c" "Beta $tag" b.local "$(lan_addr b)" 7757 "$fp_b"

json_c=$(lan_run c timeout 10 "$BIN" list --json)
lan_check "list --json parses and holds a's full record" test "$(json_get "
[x for x in d if x['name'] == 'Alpha $tag'][0]['fingerprint'] == '$fp_a' and
[x for x in d if x['name'] == 'Alpha $tag'][0]['port'] == 7757 and
'$(lan_addr a)' in [x for x in d if x['name'] == 'Alpha $tag'][0]['addresses'] and
[x for x in d if x['name'] == 'Alpha $tag'][0]['host'] == 'a.local' and
not [x for x in d if x['name'] == 'Alpha $tag'][0]['this_device']" <<<"$json_c")" = True

lan_check "list on a marks a as this device" \
	grep -q "^\* Alpha $tag .*(this device)" <(lan_run a timeout 10 "$BIN" list)

info=$(lan_run c curl -sS --max-time 5 "http://$(lan_addr a):7757/api/info")
lan_check "GET /api/info on the advertised port names the device and its fingerprint" \
	test "$(json_get "d['name'] == 'Alpha $tag' and d['fingerprint'] == '$fp_a' and d['protocol'] == 1" <<<"$info")" = True
lan_check "unknown path answers 404" \
	test "$(lan_run c curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$(lan_addr a):7757/nope")" = 404
lan_check "wrong method answers 405" \
	test "$(lan_run c curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 5 "http://$(lan_addr a):7757/api/info")" = 405

# --- resolve: by host, by display name, by address --------------------------
res=$(lan_run c timeout 10 "$BIN" resolve --json a.local || true)
lan_check "resolve a.local gives a's address, port and advertised fingerprint" \
	test "$(json_get "d['address'] == '$(lan_addr a)' and d['port'] == 7757 and d['fingerprint'] == '$fp_a'" <<<"$res")" = True
res=$(lan_run c timeout 10 "$BIN" resolve --json "Beta $tag" || true)
lan_check "resolve by display name finds b" \
	test "$(json_get "d['address'] == '$(lan_addr b)' and d['fingerprint'] == '$fp_b'" <<<"$res")" = True
res=$(lan_run c timeout 10 "$BIN" resolve --json "$(lan_addr b):9000" || true)
lan_check "resolve IP:PORT needs no discovery and leaves the fingerprint to the connection" \
	test "$(json_get "d['address'] == '$(lan_addr b)' and d['port'] == 9000 and d['fingerprint'] == ''" <<<"$res")" = True
rc=0; err=$(lan_run c timeout 10 "$BIN" resolve --timeout 1 "Nobody $tag" 2>&1 >/dev/null) || rc=$?
lan_check "resolve of an absent name fails (exit 1) and says what to check" \
	test "$rc" = 1 -a -n "$(grep 'idrop-lan list' <<<"$err")"

# --- a name taken on the LAN is renamed, never a crash ----------------------
start_serve d "Beta $tag" && pid_d=$SERVE_PID || lan_fail "serve on d advertised"
lan_check "the second \"Beta $tag\" is renamed as DNS-SD does" \
	grep -q "^advertised: *\"Beta $tag #2\"" "$(log serve-d)"
both() { lan_run c timeout 10 "$BIN" list --json | json_get "sorted(x['host'] for x in d if x['name'].startswith('Beta $tag')) == ['b.local', 'd.local']" | grep -q True; }
lan_check "both Betas appear in list, on their own hosts" lan_wait_for 5 both

# --- list ends when discovery settles -------------------------------------
# Three devices (Alpha, Beta, Beta #2): list ends once answers stop, well
# before --timeout 5, with all three. A list started right after another
# host's hears nothing from the browse's first query (a responder
# multicasts an answer at most once a second, RFC 6762 section 6): it must
# not end early and empty (its one-shot queries are answered by unicast,
# which is not held back; without them it waits for the next query round).
three() { # HOST -> "COUNT MS" of one list --timeout 5
	local t0 out
	t0=$(lan__now_us)
	out=$(lan_run "$1" timeout 10 "$BIN" list --timeout 5 --json)
	echo "$(json_get "len([x for x in d if x['name'] in ('Alpha $tag', 'Beta $tag', 'Beta $tag #2')])" <<<"$out")" \
		"$(( ($(lan__now_us) - t0) / 1000 ))"
}
sleep 1.5   # the answers to the lists above are out of the responders' hold-back
read -r n1 ms1 <<<"$(three c)"
read -r n2 ms2 <<<"$(three b)"
lan_diag "list --timeout 5: $n1 of 3 in $ms1 ms; right after it on another host: $n2 of 3 in $ms2 ms"
lan_check "list --timeout 5 with 3 devices lists all 3 and ends in < 2 s (it ends when answers stop)" \
	test "$n1" = 3 -a "$ms1" -lt 2000
lan_check "a list right after another host's still lists all 3 (never ends early and empty), in < 2.5 s" \
	test "$n2" = 3 -a "$ms2" -lt 2500

# Every device answers a one-shot query (list's, from an ephemeral port)
# at once by unicast, even one that has just multicast an answer to
# another host (RFC 6762 sections 5.1 and 6.7): lists run back to back
# each list all 3, quickly, with either back-end. A generous bound; the
# 0.5 s target is bench_discovery.sh's.
quick_n="" quick_ms=()
for _ in 1 2 3; do
	read -r n ms <<<"$(three c)"
	quick_n+=$n quick_ms+=("$ms")
done
quick_med=$(printf '%s\n' "${quick_ms[@]}" | sort -n | sed -n 2p)
lan_diag "3 lists back to back: ${quick_ms[*]} ms, devices listed: $quick_n"
lan_check "3 lists back to back each list all 3 devices, median < 1 s ($quick_med ms)" \
	test "$quick_n" = 333 -a "$quick_med" -lt 1000

# --- a hostile responder answers the one-shot queries ------------------------
# It answers with names and TXT values holding escapes, malformed packets
# (pointer loops, lying counts, over-long names, truncated records), answers
# from the wrong port or with the wrong id, and two honest devices, one of
# them answered in pieces (PTR first, then SRV and TXT, then its address,
# each only to the follow-up query asking for it). list must hear both,
# and nothing else of it, and never crash.
lan_add_host h
lan_spawn h "$(log hostile)" /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/hostile_mdns.py" \
	"$(lan_addr h)" "$tag" "$fp_b"
pid_h=$LAN_PID
lan_wait_for 5 grep -q '^ready' "$(log hostile)" || lan_fail "the hostile responder is ready"
rc=0
out=$(lan_run c timeout 10 "$BIN" list --timeout 3 2>"$(log hostile-list)") || rc=$?
json=$(lan_run c timeout 10 "$BIN" list --timeout 3 --json 2>>"$(log hostile-list)") || rc=$?
lan_diag "list on c beside the hostile responder:"; sed 's/^/#   /' <<<"$out" | LC_ALL=C tr -d '\000-\010\013-\037'
lan_check "list beside a hostile responder exits 0 (no crash or sanitizer report)" test "$rc" = 0
lan_check "list hears the hostile responder's honest device by one-shot query" \
	grep -q "Good $tag .*good-${tag,,}.local .*$(lan_addr h) .*7757" <<<"$out"
lan_check "no control byte (escape sequence) of the hostile records reaches list's output" \
	test "$(printf '%s\n%s' "$out" "$(cat "$(log hostile-list)")" | LC_ALL=C grep -c '[[:cntrl:]]')" = 0
lan_check "list asks for what a one-shot answer lacked (SRV, TXT, then the address) and lists that device" \
	grep -q "Split $tag .*split-${tag,,}.local .*$(lan_addr h) .*7757" <<<"$out"
lan_check "list --json holds the honest devices and no other of the hostile responder's" \
	test "$(json_get "sorted(x['name'] for x in d if '$(lan_addr h)' in x['addresses']) == ['Good $tag', 'Split $tag']" <<<"$json")" = True
lan_stop "$pid_h" TERM 5 || true

if [[ $MODE == embedded ]]; then
	# Host names are ours to defend only with the embedded responder (a daemon
	# defends its own): a second host calling itself "b" must become "b-2".
	lan_add_host f
	lan_spawn f "$(log serve-f)" sh -c "hostname b && exec \"\$0\" serve --name 'Phi $tag'" "$BIN"
	pid_f=$LAN_PID
	lan_wait_for 10 grep -q '^advertised:' "$(log serve-f)" || lan_fail "serve on f advertised"
	host_taken() { lan_run c timeout 10 "$BIN" list --json | json_get "
[x['host'] for x in d if x['name'] == 'Phi $tag'] == ['b-2.local'] and
'$(lan_addr f)' in [x for x in d if x['name'] == 'Phi $tag'][0]['addresses'] and
[x['host'] for x in d if x['name'] == 'Beta $tag'] == ['b.local']" | grep -q True; }
	lan_check "a host name taken on the LAN is renamed (b -> b-2) and its service follows" lan_wait_for 8 host_taken
	rc=0; lan_stop "$pid_f" TERM 10 || rc=$?
	lan_check "serve on the renamed host exits 0 on SIGTERM" test "$rc" = 0
fi

# --- stop: peers see the device leave at once --------------------------------
lan_spawn c "$(log watch)" "$BIN" list --watch
pid_watch=$LAN_PID
lan_check "list --watch reports a appearing" \
	lan_wait_for 5 grep -q "^+ Alpha $tag " "$(log watch)"
t0=$(lan__now_us)
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve exits 0 on SIGTERM (no leak or sanitizer report)" test "$rc" = 0
if lan_wait_for 2 grep -q "^- Alpha $tag\$" "$(log watch)"; then
	lan_ok "list --watch reports a gone $(( ($(lan__now_us) - t0) / 1000 )) ms after SIGTERM (limit 2 s)"
else
	lan_fail "list --watch reports a gone within 2 s"
fi
rc=0; lan_stop "$pid_watch" INT 5 || rc=$?
lan_check "list --watch exits 0 on SIGINT" test "$rc" = 0
lan_check "a's goodbye was announced" grep -q "withdrawing \"Alpha $tag\"" "$(log serve-a)"

# --- Avahi's own tools and ours understand each other -----------------------
# A daemon for Avahi's tools on a fresh host e (its own responder), and in
# embedded mode our serve/list run on hosts without one.
lan_add_host e --daemon
lan_spawn e "$(log publish)" avahi-publish -s "Foreign $tag" _idrop._tcp 4242 "v=1" "fp=$fp_b" "n=Foreign $tag"
lan_wait_for 5 grep -q "Established" "$(log publish)" || lan_fail "avahi-publish established"
foreign() { lan_run c timeout 10 "$BIN" list --timeout 2 | grep -q "Foreign $tag .*e.local .*$(lan_addr e) .*4242"; }
lan_check "list finds a service published by avahi-publish" lan_wait_for 8 foreign
# avahi-browse -p escapes a space in a name as \032.
ours() { lan_run e timeout --foreground 5 avahi-browse -rpt _idrop._tcp 2>/dev/null |
	awk -F';' -v n="Beta\\\\032$tag" -v a="$(lan_addr b)" -v f="fp=$fp_b" \
	'$1 == "=" && $4 == n && $7 == "b.local" && $8 == a && $9 == "7757" && index($10, f) { ok = 1 } END { exit !ok }'; }
lan_check "avahi-browse resolves our service with its address, port and TXT fp" lan_wait_for 8 ours

# --- discovery impossible: a clear error, non-zero -------------------------
lan_add_host lonely
lan_run lonely ip link set eth0 down
rc=0; err=$(lan_run lonely timeout 10 "$BIN" list --mdns embedded 2>&1 >/dev/null) || rc=$?
lan_check "list with no network exits non-zero and says why" \
	test "$rc" = 1 -a -n "$(grep -i 'no network' <<<"$err")"
rc=0; err=$(lan_run c timeout 10 "$BIN" list --interface nosuch0 2>&1 >/dev/null) || rc=$?
lan_check "list on a missing interface exits non-zero naming it" \
	test "$rc" = 1 -a -n "$(grep 'nosuch0' <<<"$err")"
if [[ $MODE == embedded ]]; then
	rc=0; err=$(lan_run c timeout 10 "$BIN" list --mdns daemon 2>&1 >/dev/null) || rc=$?
	lan_check "--mdns daemon with no daemon fails and suggests --mdns=embedded" \
		test "$rc" = 1 -a -n "$(grep 'mdns=embedded' <<<"$err")"
fi

# --- port handling ------------------------------------------------------------
start_serve c "Gamma $tag" --port 7757 && pid_c=$SERVE_PID || lan_fail "serve on c advertised"
rc=0; err=$(lan_run c timeout 10 "$BIN" serve --name "Other $tag" --port 7757 2>&1 >/dev/null) || rc=$?
lan_check "an explicit --port already in use is an error that says what to do" \
	test "$rc" = 1 -a -n "$(grep -- '--port' <<<"$err")"
start_serve c "Delta $tag" && pid_c2=$SERVE_PID || lan_fail "second serve on c advertised"
port=$(awk '/^http port:/ { print $3 }' "$(log serve-c)")
lan_check "the default port, when taken, falls back to a free one" test -n "$port" -a "$port" != 7757
for p in "$pid_b" "$pid_c" "$pid_c2" "$pid_d"; do
	rc=0; lan_stop "$p" TERM 10 || rc=$?
	lan_check "serve $p exits 0 on SIGTERM" test "$rc" = 0
done
lan_done
