#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Discovery latency on the simulated LAN, median of N runs per back-end:
# from `serve` start to a watching `list` on another host showing it, and
# from SIGTERM to that `list` reporting it gone. Baseline measured in the
# same run: Avahi's own avahi-publish seen by avahi-browse. Then, with 3
# devices serving: how long a one-shot `list` takes to print the complete
# list (it ends when answers stop), median and worst, against
# `avahi-browse -t -r` on the same host in the same runs (target: median
# <= 0.5 s).
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
RUNS=${RUNS:-10}
lan_require avahi-daemon avahi-publish avahi-browse dbus-daemon
lan_init
lan_add_hosts --daemon da dc     # hosts with avahi-daemon
lan_add_hosts ea ec              # hosts without

now_ms() { echo $(( $(lan__now_us) / 1000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# measure KIND PUBHOST WATCHHOST: prints "appear_ms leave_ms" per run
measure() {
	local kind=$1 pub=$2 watch=$3 i name t0 up down pid wpid wlog pattern_up pattern_down
	wlog="$LAN_DIR/watch-$kind.log"
	if [[ $kind == baseline ]]; then
		lan_spawn "$watch" "$wlog" avahi-browse -p _idrop._tcp
	else
		lan_spawn "$watch" "$wlog" "$BIN" list --watch
	fi
	wpid=$LAN_PID
	sleep 1
	for ((i = 1; i <= RUNS; i++)); do
		name="bench-$kind-$i-${LAN_PREFIX: -4}"
		if [[ $kind == baseline ]]; then
			pattern_up="^\+;eth0;IPv4;${name};"
			pattern_down="^-;eth0;IPv4;${name};"
		else
			pattern_up="^\+ ${name} "
			pattern_down="^- ${name}\$"
		fi
		t0=$(now_ms)
		if [[ $kind == baseline ]]; then
			lan_spawn "$pub" "$LAN_DIR/pub-$kind-$i.log" avahi-publish -s "$name" _idrop._tcp 4242 v=1
		else
			lan_spawn "$pub" "$LAN_DIR/pub-$kind-$i.log" "$BIN" serve --name "$name" --port 0
		fi
		pid=$LAN_PID
		lan_wait_for 10 grep -qE "$pattern_up" "$wlog" || { echo "# $kind run $i: never appeared" >&2; lan_stop "$pid" || true; continue; }
		up=$(( $(now_ms) - t0 ))
		sleep 0.5
		t0=$(now_ms)
		lan_stop "$pid" TERM 10 || true
		lan_wait_for 10 grep -qE "$pattern_down" "$wlog" || { echo "# $kind run $i: never left" >&2; continue; }
		down=$(( $(now_ms) - t0 ))
		echo "$up $down"
	done
	lan_stop "$wpid" INT || true
}

report() {
	local label=$1 data=$2
	printf '%-34s %8s ms %10s ms   (%d runs)\n' "$label" \
		"$(awk '{ print $1 }' <<<"$data" | median)" "$(awk '{ print $2 }' <<<"$data" | median)" \
		"$(grep -c . <<<"$data")"
}

# Output goes to files: lan_spawn must run in this shell, not in $(...).
measure baseline da dc >"$LAN_DIR/base.txt"
measure daemon da dc >"$LAN_DIR/daemon.txt"
measure embedded ea ec >"$LAN_DIR/embedded.txt"
base=$(<"$LAN_DIR/base.txt") daemon=$(<"$LAN_DIR/daemon.txt") embedded=$(<"$LAN_DIR/embedded.txt")
printf '%-34s %11s %13s\n' "discovery latency (median)" "start->seen" "stop->gone"
report "avahi-publish -> avahi-browse" "$base"
report "idrop-lan, avahi-daemon back-end" "$daemon"
report "idrop-lan, embedded back-end" "$embedded"

# --- list with 3 devices: time to the complete list -----------------------------
# The same 3 devices (serve on da, db, dd) for every lister: avahi-browse
# and list on dc (avahi-daemon), list on ec (embedded). A responder
# multicasts an answer at most once a second (RFC 6762 section 6): runs are
# 1.5 s apart, so each hears the first query's answers.
lan_add_hosts --daemon db dd
for h in da db dd; do lan_spawn "$h" "$LAN_DIR/serve-$h.log" "$BIN" serve --name "three-$h-${LAN_PREFIX: -4}" --port 0; done
for h in da db dd; do
	lan_wait_for 10 grep -q '^advertised:' "$LAN_DIR/serve-$h.log" || lan_fail "serve on $h advertised"
done
sleep 1.5
# time_list KIND HOST: prints "ms count" of one run
time_list() {
	local t0 out n
	t0=$(now_ms)
	if [[ $1 == baseline ]]; then
		out=$(lan_run "$2" timeout 10 avahi-browse -t -r -p _idrop._tcp 2>/dev/null || true)
		n=$(awk -F';' -v t="three-" '$1 == "=" && index($4, t) { print $4 }' <<<"$out" | sort -u | grep -c . || true)
	else
		out=$(lan_run "$2" timeout 10 "$BIN" list --timeout 5 || true)
		n=$(grep -c ' three-' <<<"$out" || true)
	fi
	echo "$(( $(now_ms) - t0 )) $n"
}
: >"$LAN_DIR/list3.txt"
for ((i = 1; i <= RUNS; i++)); do
	for k in "baseline dc" "daemon dc" "embedded ec"; do
		read -r kind host <<<"$k"
		echo "$kind $(time_list "$kind" "$host")" >>"$LAN_DIR/list3.txt"
		sleep 1.5
	done
done
worst() { sort -n | tail -1; }
report3() {
	local label=$1 kind=$2 rows
	rows=$(awk -v k="$kind" '$1 == k' "$LAN_DIR/list3.txt")
	printf '%-34s %8s ms %8s ms   (%d runs, %d with all 3 listed)\n' "$label" \
		"$(awk '{ print $2 }' <<<"$rows" | median)" "$(awk '{ print $2 }' <<<"$rows" | worst)" \
		"$(grep -c . <<<"$rows")" "$(awk '$3 == 3' <<<"$rows" | grep -c . || true)"
}
printf '\n%-34s %11s %11s\n' "list with 3 devices" "median" "worst"
report3 "avahi-browse -t -r (daemon host)" baseline
report3 "idrop-lan list, avahi-daemon" daemon
report3 "idrop-lan list, embedded" embedded
