#!/bin/bash
# Transport benchmark on the simulated LAN: `idrop-lan ping --bytes` between
# two hosts over a veth pair, unshaped and shaped to 1 Gbit/s, printed beside
# iperf3 TCP on the same link in the same run; connection set-up time (offer
# to channel open, median of N) and the peak resident memory of both sides.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
BYTES=${BYTES:-1G}
RUNS=${RUNS:-10}
lan_require iperf3 tc /usr/bin/python3
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

lan_spawn a "$(log serve)" "$BIN" serve --name bench
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve)"
lan_spawn a "$(log iperf)" iperf3 -s
pid_iperf=$LAN_PID
sleep 0.5

iperf_mbs() {   # MB/s, TCP, 5 s
	lan_run b iperf3 -c "$A" -t 5 -J | /usr/bin/python3 -c \
		"import json,sys; print('%.0f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second'] / 8e6))"
}
ping_mbs() {
	lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/ping-rss" "$BIN" ping --count 0 --bytes "$BYTES" --json \
		--timeout 300 "$A:7757" | field mb_per_s
}
shape() {   # rate-limit both directions like a Gigabit link
	local h
	for h in a b; do lan_run "$h" tc qdisc replace dev eth0 root tbf rate 1gbit burst 96kb limit 1000kb; done
}

printf '%-28s %14s %14s\n' "link" "iperf3 TCP" "idrop-lan ping --bytes $BYTES"
printf '%-28s %11s MB/s %11s MB/s\n' "veth, unshaped" "$(iperf_mbs)" "$(ping_mbs)"
rss_ping=$(cat "$LAN_DIR/ping-rss")
shape
printf '%-28s %11s MB/s %11s MB/s\n' "veth, tbf 1 Gbit/s" "$(iperf_mbs)" "$(ping_mbs)"

for ((i = 0; i < RUNS; i++)); do
	lan_run b "$BIN" ping --count 1 --json "$A:7757" | field connect_ms
done >"$LAN_DIR/connect"
rss_serve=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid_serve/status")
printf 'connection set-up (HTTP offer to channel open), median of %d: %s ms\n' "$RUNS" "$(median <"$LAN_DIR/connect")"
printf 'peak resident memory: serve %d MiB, ping %d MiB\n' $((rss_serve / 1024)) $((rss_ping / 1024))
lan_stop "$pid_iperf" TERM 5 || true
lan_stop "$pid_serve" TERM 10 || true
