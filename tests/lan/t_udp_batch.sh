#!/bin/bash
# Batched datagram output (issue 15): the DTLS records of one round of SCTP
# output leave together, as UDP GSO messages on the selected pair's socket
# (IDROP_UDP_BATCH=gso, the default), or as one libnice sendmmsg call
# (mmsg, the fallback), or one send each (off, the old path). A 24 MiB
# `ping --bytes` runs in each mode between two hosts, both ends in that
# mode; -v prints each end's counters when its connection is freed, which
# tells the paths apart. The base build printed no counters (and sent one
# datagram per system call).
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require timeout "$PY"
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }

# "udp: N datagrams sent, S system calls ..., G datagrams in M GSO messages,
# L libnice calls, F times ..., X lost" -> "N S G M L X" of the last line.
counters() {
	grep -E 'udp: [0-9]+ datagrams sent' "$1" | tail -n 1 |
		sed -E 's/.*udp: ([0-9]+) datagrams sent, ([0-9]+) system calls.*, ([0-9]+) datagrams in ([0-9]+) GSO messages, ([0-9]+) libnice calls, [0-9]+ times.*, ([0-9]+) lost.*/\1 \2 \3 \4 \5 \6/'
}

for mode in gso mmsg off; do
	lan_spawn a "$(log "serve-$mode")" env IDROP_UDP_BATCH=$mode "$BIN" serve --name "batch $mode $$" \
		--accept=none --port 0 --dir "$LAN_DIR/dl" -v
	pid=$LAN_PID
	lan_wait_for 10 grep -q '^http port:' "$(log "serve-$mode")" || lan_fail "serve ($mode) started"
	port=$(awk '/^http port:/ { print $3; exit }' "$(log "serve-$mode")")
	rc=0
	json=$(lan_run b timeout 120 env IDROP_UDP_BATCH=$mode "$BIN" ping -v --count 0 --bytes 24M --json \
		--timeout 60 "$A:$port" 2>"$(log "ping-$mode")" | tail -n 1) || rc=$?
	mbs=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['mb_per_s'])" "$json" 2>/dev/null || echo "?")
	lan_check "$mode: ping --bytes 24M completes (rc=$rc, $mbs MB/s)" test "$rc" = 0 -a "$mbs" != "?"
	lan_wait_for 10 grep -qE 'udp: [0-9]+ datagrams sent' "$(log "serve-$mode")" || true
	read -r n s g m l x <<<"$(counters "$(log "ping-$mode")") " || true
	read -r sn ss sg sm sl sx <<<"$(counters "$(log "serve-$mode")") " || true
	lan_diag "$mode: ping sent ${n:-?} datagrams: ${s:-?} syscalls, ${g:-?} in ${m:-?} GSO messages, ${l:-?} libnice calls, ${x:-?} lost"
	lan_diag "$mode: serve sent ${sn:-?} datagrams: ${ss:-?} syscalls, ${sg:-?} in ${sm:-?} GSO messages, ${sl:-?} libnice calls, ${sx:-?} lost"
	case $mode in
	gso)
		# 24 MiB is over 17000 full packets: most must leave in GSO
		# messages, at well under a system call per 4 datagrams.
		lan_check "gso: most datagrams left in GSO messages" \
			test -n "${g:-}" -a "${g:-0}" -gt $((${n:-0} / 2)) -a "${m:-0}" -gt 0
		lan_check "gso: under one system call per 4 datagrams (${s:-?} for ${n:-?})" \
			test -n "${s:-}" -a "${s:-0}" -gt 0 -a $((${s:-0} * 4)) -lt "${n:-0}"
		lan_check "gso: serve's SACKs and echoes took the direct socket too" \
			test -n "${ss:-}" -a "${ss:-0}" -gt 0 -a "${sl:-1}" = 0
		;;
	mmsg)
		lan_check "mmsg: no GSO, no direct send; libnice calls carry several datagrams (${l:-?} for ${n:-?})" \
			test -n "${l:-}" -a "${s:-1}" = 0 -a "${g:-1}" = 0 -a "${l:-0}" -gt 0 -a $((${l:-0} * 4)) -lt "${n:-0}"
		;;
	off)
		lan_check "off: no batch (no counters printed)" test -z "${n:-}" -a -z "${sn:-}"
		;;
	esac
	rc=0; lan_stop "$pid" TERM 10 || rc=$?
	lan_check "$mode: serve exits 0 on SIGTERM (no leak, no sanitizer report)" test "$rc" = 0
done
lan_done
