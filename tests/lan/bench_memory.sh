#!/bin/bash
# Memory benchmark on the simulated LAN: peak resident memory (VmHWM) of
# `serve` and `send` for one big file (4 GiB by default, sparse source: every
# byte is still read, hashed, sent and written) to a normal disk and to a
# slow one (tests/lan/slowfs.py writing 15 MB/s), beside baselines of the
# same run: each program idle (serve after start; send's baseline is `id`,
# the same binary doing nothing) and the transport alone (`ping --bytes` the
# same amount: no disk on either side). Target: <= 48 MiB for each, whatever
# the size of the file or the speed of the disk. Not pass/fail.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
SIZE_MB=${SIZE_MB:-4096}          # the file on the normal disk
SLOW_MB=${SLOW_MB:-$SIZE_MB}      # the file on the slow disk (4 GiB at 15 MB/s: ~5 min)
RATE=${RATE:-15000000}            # the slow disk's write rate, bytes/s
PY=/usr/bin/python3
lan_require /usr/bin/time "$PY" mountpoint
"$PY" -c 'import fusepy' 2>/dev/null || { echo "Bail out! $PY cannot import fusepy: make deps installs python3-fusepy"; exit 1; }
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
field() { "$PY" -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
hwm_mib() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
# /usr/bin/time -f %M's figure (KiB), in MiB: its last line (a command that
# failed gets a line of its own before it).
time_mib() { tail -n 1 "$1" | awk '{ printf "%d", $1 / 1024 }'; }

SRC=$LAN_DIR/src
mkdir -p "$SRC"
sparse() {   # sparse NAME MIB: a file of MIB MiB that takes no disk, with a tail
	truncate -s $(($2 * 1024 * 1024 - 4)) "$SRC/$1"
	printf 'tail' >>"$SRC/$1"
}

# serve_on DIR: a fresh serve (its own VmHWM) receiving into DIR; sets SERVE.
serve_on() {
	lan_spawn a "$(log "serve-$(basename "$1")")" "$BIN" serve --name bench --accept=all --dir "$1" \
		--state-dir "$LAN_DIR/state"
	SERVE=$LAN_PID
	lan_wait_for 10 grep -q '^http port:' "$(log "serve-$(basename "$1")")" || lan_fail "serve started"
}

# row LABEL DIR MIB: sends a sparse MIB MiB file to a serve writing into DIR.
row() {
	local label=$1 dir=$2 mib=$3 rc=0 t0 t1 json="" mbs same=no
	mkdir -p "$dir"
	sparse "f$mib.bin" "$mib"
	serve_on "$dir"
	t0=$(date +%s.%N)
	json=$(lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/send-rss" "$BIN" send --json "$A:7757" "$SRC/f$mib.bin" \
		2>>"$(log send)") || rc=$?
	t1=$(date +%s.%N)
	mbs=$(awk -v b="$((mib * 1024 * 1024))" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / 1e6 / (z - a) }')
	# Verified is the receiver's SHA-256 of what it wrote matching ours.
	[[ $rc == 0 && "$(field verified <<<"$json" 2>/dev/null)" == 1 ]] && same=yes
	printf '%-34s %8s %6s %9s %13s %12s\n' "$label" "${mib} MiB" "$rc" "$mbs" "$(hwm_mib "$SERVE")" \
		"$(time_mib "$LAN_DIR/send-rss")"
	[[ $same == yes ]] || echo "  (the send failed or did not verify: see $(log send))"
	lan_stop "$SERVE" TERM 10 || true
	rm -f "$dir/f$mib.bin" "$SRC/f$mib.bin"
}

echo "peak resident memory (VmHWM), MiB; release build; sparse source files; MB/s = 10^6 bytes/s"
printf '%-34s %8s %6s %9s %13s %12s\n' "case" "file" "exit" "MB/s" "serve peak" "send peak"

# Baselines: idle, then the transport alone.
serve_on "$LAN_DIR/dl-idle"
sleep 1
lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/id-rss" "$BIN" id >/dev/null
printf '%-34s %8s %6s %9s %13s %12s\n' "baseline: idle (serve; send = id)" "-" "-" "-" \
	"$(hwm_mib "$SERVE")" "$(time_mib "$LAN_DIR/id-rss")"
rc=0; json=$(lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/ping-rss" "$BIN" ping --count 0 --bytes "${SIZE_MB}M" \
	--json --timeout 600 "$A:7757" 2>>"$(log ping)") || rc=$?
printf '%-34s %8s %6s %9s %13s %12s\n' "baseline: ping --bytes (no disk)" "${SIZE_MB} MiB" "$rc" \
	"$(field mb_per_s <<<"$json" 2>/dev/null || echo -)" "$(hwm_mib "$SERVE")" "$(time_mib "$LAN_DIR/ping-rss")"
lan_stop "$SERVE" TERM 10 || true

row "send, normal disk" "$LAN_DIR/dl" "$SIZE_MB"

# The slow disk: mounted before serve starts (hosts get a copy of our mounts).
mkdir -p "$LAN_DIR/sroot" "$LAN_DIR/slow"
"$PY" "$TOP/tests/lan/slowfs.py" "$LAN_DIR/sroot" "$LAN_DIR/slow" --write-rate "$RATE" \
	--max-seconds $((SLOW_MB * 1024 * 1024 * 2 / RATE + 120)) >"$(log slowfs)" 2>&1 &
lan_on_cleanup "kill $! 2>/dev/null"
lan_on_cleanup "umount -l '$LAN_DIR/slow'"
lan_wait_for 10 mountpoint -q "$LAN_DIR/slow" || lan_fail "slowfs mounted"
row "send, disk writing $((RATE / 1000000)) MB/s" "$LAN_DIR/slow/dl" "$SLOW_MB"
