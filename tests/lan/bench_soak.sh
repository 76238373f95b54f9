#!/bin/bash
# Soak benchmark on the simulated LAN (issue 15: "20 x 1 GiB without a
# consent loss"): SOAK rounds (20) of SIZE (1G) from b to one long-running
# `serve` on a, each round a new connection, on the link LINK: tbf (the
# default: a 1 Gbit/s tbf shaper, where a release sender is faster than the
# link and its socket fills), veth (unshaped) or both. MODE=ping (default:
# `ping --bytes`, the transport alone) or send (a real file, written and
# SHA-256 verified by serve; removed after each round). BASE_BIN=another
# binary runs the same rounds, alternating with IDROP_BIN, on its own serve.
# Both ends log libnice's consent checks (NICE_DEBUG=nice, -v); each round
# prints its MB/s, consent checks sent and answered by both ends, the longest
# time without consent at a check (10 s is a loss), losses (libnice's
# "timed out" / "lost consent", ICE failed) and how often the sender's
# socket refused a send (full). Ends with one summary line per binary. Not
# pass/fail.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
BASE_BIN=${BASE_BIN:-}
SOAK=${SOAK:-20}
SIZE=${SIZE:-1G}
LINK=${LINK:-tbf}
MODE=${MODE:-ping}
RATE=${RATE:-1gbit}
PY=/usr/bin/python3
lan_require tc numfmt "$PY"
[[ "$MODE" == ping || "$MODE" == send ]] || { echo "MODE is ping or send" >&2; exit 2; }
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
BYTES=$(numfmt --from=iec "$SIZE")
if [[ "$MODE" == send ]]; then
	mkdir -p "$LAN_DIR/src"
	head -c "$BYTES" /dev/urandom >"$LAN_DIR/src/soak.bin"
fi

# "requests answered max_age losses" of a log's lines from FROM on.
evidence() {
	tail -n +"$2" "$1" | awk '/Keepalive STUN-CC REQ/ { req++ }
	/Keepalive for selected pair .* received/ { resp++ }
	/rechecking consent in [0-9.]+s$/ { s = $NF; sub(/s$/, "", s); if (10 - s > age) age = 10 - s }
	/consent for stream\/component .* timed out|lost consent for|^idrop-lan: ice: failed$/ { lost++ }
	END { printf "%d %d %.1f %d\n", req, resp, age, lost }'
}
# Sends the socket refused (EAGAIN: full, no room for libnice's STUN): the
# counters line's "of them refusing a send", or in builds before it, its
# "times the socket was full" (which counted only those).
full_count() {
	tail -n +"$2" "$1" | sed -nE 's/.* ([0-9]+) of them refusing a send.*/\1/p; t; s/.* ([0-9]+) times the socket was full, .*/\1/p' |
		tail -n 1
}

declare -A PORT=() PID=() DL=()
tools=(new)
[[ -z "$BASE_BIN" ]] || tools+=(base)
bin_of() { if [[ $1 == base ]]; then echo "$BASE_BIN"; else echo "$BIN"; fi; }
start_serve() {   # start_serve TOOL PORT
	DL[$1]=$LAN_DIR/dl-$1
	mkdir -p "${DL[$1]}"
	lan_spawn a "$(log "serve-$1")" env NICE_DEBUG=nice "$(bin_of "$1")" serve --name "soak $1" --accept=all \
		--port "$2" --dir "${DL[$1]}" --state-dir "$LAN_DIR/state-$1" -v
	PID[$1]=$LAN_PID
	PORT[$1]=$2
	lan_wait_for 10 grep -q '^http port:' "$(log "serve-$1")" || lan_fail "serve ($1) started"
}
start_serve new 7757
[[ -z "$BASE_BIN" ]] || start_serve base 7758

declare -A OK=() FAILS=() LOSSES=() RATES=()
round() {   # round TOOL LINK N
	local t=$1 link=$2 n=$3 from_s from_c rc=0 mbs=fail t0 t1 req resp age lost sreq sresp sage slost full
	from_s=$(($(wc -l <"$(log "serve-$t")") + 1))
	: >"$(log client)"
	t0=$(date +%s.%N)
	if [[ "$MODE" == ping ]]; then
		lan_run b timeout 600 env NICE_DEBUG=nice "$(bin_of "$t")" ping -v --count 0 --bytes "$SIZE" \
			--timeout 500 "$A:${PORT[$t]}" >"$(log client)" 2>&1 || rc=$?
	else
		lan_run b timeout 600 env NICE_DEBUG=nice "$(bin_of "$t")" send -v --timeout 30 \
			"$A:${PORT[$t]}" "$LAN_DIR/src/soak.bin" >"$(log client)" 2>&1 || rc=$?
		rm -f "${DL[$t]}"/soak*
	fi
	t1=$(date +%s.%N)
	from_c=1
	[[ $rc != 0 ]] || mbs=$(awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / 1e6 / (z - a) }')
	sleep 0.3   # serve's counters line comes as the connection is freed
	read -r req resp age lost <<<"$(evidence "$(log client)" "$from_c")"
	read -r sreq sresp sage slost <<<"$(evidence "$(log "serve-$t")" "$from_s")"
	full=$(full_count "$(log client)" "$from_c")
	printf '%-5s %-5s %5s %5s %8s %6s %6s %8s %7s %6s\n' "$t" "$link" "$n" "$rc" "$mbs" \
		"$req/$resp" "$sreq/$sresp" "$age/$sage" "$((lost + slost))" "${full:-?}"
	cp "$(log client)" "$LAN_DIR/client-$t-$link-$n.log"
	if [[ $rc == 0 ]]; then OK[$t]=$((${OK[$t]:-0} + 1)); RATES[$t]="${RATES[$t]:-} $mbs"; else FAILS[$t]=$((${FAILS[$t]:-0} + 1)); fi
	[[ $((lost + slost)) == 0 ]] || LOSSES[$t]=$((${LOSSES[$t]:-0} + 1))
}

echo "soak: $SOAK x $SIZE per binary, MODE=$MODE, LINK=$LINK (tbf at $RATE)"
printf '%-5s %-5s %5s %5s %8s %6s %6s %8s %7s %6s\n' bin link round exit MB/s "b:chk" "a:chk" "max-age" losses full
links=("$LINK")
[[ "$LINK" != both ]] || links=(veth tbf)
for link in "${links[@]}"; do
	if [[ "$link" == tbf ]]; then
		for h in a b; do lan_run "$h" tc qdisc replace dev eth0 root tbf rate "$RATE" burst 96kb limit 1000kb; done
	else
		for h in a b; do lan_run "$h" tc qdisc del dev eth0 root 2>/dev/null || true; done
	fi
	for ((i = 1; i <= SOAK; i++)); do
		for t in "${tools[@]}"; do round "$t" "$link" "$i"; done
	done
done
median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "(chk = consent checks sent/answered by that end; max-age = longest time without consent at a check, s, b/a; 10 is a loss)"
for t in "${tools[@]}"; do
	echo "summary $t ($(bin_of "$t")): ${OK[$t]:-0} rounds ok, ${FAILS[$t]:-0} failed, ${LOSSES[$t]:-0} with a consent loss, median $(median <<<"${RATES[$t]:-}") MB/s"
done
for t in "${tools[@]}"; do lan_stop "${PID[$t]}" TERM 10 || true; done
