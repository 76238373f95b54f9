#!/bin/bash
# Transfer benchmark on the simulated LAN, two hosts over a veth pair,
# unshaped and shaped to 1 Gbit/s. In the same run and on the same link:
# iperf3 TCP (the link), scp with AES-128-GCM (OpenSSH, the tool to beat),
# `idrop-lan ping --bytes` (our transport without files) and `idrop-lan send`
# of a real file (transport + disk + SHA-256 on both sides), side by side
# with ratios; connection set-up time (also with the first ClientHello
# lost); peak resident memory of both sides;
# and a file over 4 GiB (sparse source) sent and verified.
#
# CPU per byte: user+sys CPU seconds of BOTH ends per GiB moved, beside each
# contender's MB/s in the same rounds. Counted from cgroup v2 cpu.stat
# (usage_usec) deltas over each transfer (lan.sh's lan_cg_*): on a (the
# receiver) the cgroup of the long-running server, with every thread and
# child it has (iperf3 -s; sshd with the per-connection sshd and scp -t it
# forks; idrop-lan serve for ping and send); on b (the sender) a cgroup
# holding the whole client command (iperf3 -c; scp and its ssh; idrop-lan
# ping or send). Bytes: what iperf3 says it received, the file size for scp
# and send, ping's --bytes. Softirq work (the veth delivering a packet to
# the other namespace) is counted to whichever process the CPU was running,
# as on a real host; kernel threads (write-back) nowhere. Without a
# writable cgroup2 the CPU rows say n/a.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
SIZE_MB=${SIZE_MB:-1024}          # the file sent by scp and send, MiB
RUNS=${RUNS:-10}                  # connection set-ups timed
ROUNDS=${ROUNDS:-3}               # rounds of scp, ping and send per link
BIG=${BIG:-1}                     # 0 skips the file over 4 GiB
lan_require iperf3 tc scp ssh-keygen /usr/sbin/sshd /usr/bin/python3 /usr/bin/time
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
median() { grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_s() { date +%s.%N; }

SRC=$LAN_DIR/src DL=$LAN_DIR/dl SCPDIR=$LAN_DIR/scp
mkdir -p "$SRC" "$DL" "$SCPDIR"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$SRC/file.bin"
BYTES=$((SIZE_MB * 1024 * 1024))

# --- the receivers on a: idrop-lan serve, iperf3, sshd, each in its cgroup --
lan_cg_init serve iperf sshd b || true
lan_spawn a "$(log serve)" "$BIN" serve --name bench --accept=all --dir "$DL"
pid_serve=$LAN_PID
lan_cg_add serve "$pid_serve"
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve started"
lan_spawn a "$(log iperf)" iperf3 -s
pid_iperf=$LAN_PID
lan_cg_add iperf "$pid_iperf"
lan_sshd a
pid_sshd=$LAN_PID
lan_cg_add sshd "$pid_sshd"

# Each contender prints "MB/s BYTES" (or "fail") on stdout; measure() runs
# one on b inside cgroup b and appends "MB/s CPU_S_PER_GIB" (both ends) to
# a result file, or "fail".
iperf_mbs() {   # TCP, 3 s
	lan_run b iperf3 -c "$A" -t 3 -J | /usr/bin/python3 -c \
		"import json,sys; e = json.load(sys.stdin)['end']['sum_received']; print('%.0f %d' % (e['bits_per_second'] / 8e6, e['bytes']))"
}
scp_mbs() {     # scp -c aes128-gcm, the whole command timed
	local t0 t1
	rm -f "$SCPDIR/file.bin"
	t0=$(now_s)
	lan_run b scp -q "${LAN_SSH[@]}" -P 2222 "$SRC/file.bin" "root@$A:$SCPDIR/file.bin"
	t1=$(now_s)
	cmp -s "$SRC/file.bin" "$SCPDIR/file.bin" || lan_fail "scp copy differs"
	awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f %d\n", b / 1e6 / (z - a), b }'
}
# A run that fails prints "fail" (counted below) instead of ending the bench.
ping_mbs() {
	local json
	json=$(lan_run b "$BIN" ping --count 0 --bytes "${SIZE_MB}M" --json --timeout 300 "$A:7757" 2>>"$(log ping)") &&
		echo "$(field mb_per_s <<<"$json") $(field bytes <<<"$json")" 2>/dev/null || echo fail
}
send_mbs() {    # "WHOLE BYTES DATA": MB/s of `send` timed as a whole command (process start,
	#                connect, data, hashes, fsync, receipt: like scp), and as its data
	#                phase (channel open to receipt: like ping --bytes)
	local t0 t1 json
	rm -f "$DL/file.bin"
	t0=$(now_s)
	if ! json=$(lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/send-rss" "$BIN" send --json "$A:7757" \
		"$SRC/file.bin" 2>>"$(log send)"); then
		echo "fail"
		return
	fi
	t1=$(now_s)
	cmp -s "$SRC/file.bin" "$DL/file.bin" || lan_fail "sent file differs"
	echo "$(awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / 1e6 / (z - a) }') $BYTES $(field mb_per_s <<<"$json")"
}
# measure CGROUP_A NAME FUNCTION: runs FUNCTION (b's side in cgroup b),
# appends "MB/s CPU/GiB [MORE...]" to r-NAME; CGROUP_A is the receiver's.
measure() {
	local cga=$1 name=$2 fn=$3 a0 a1 b0 b1 out
	a0=$(lan_cg_usec "$cga") b0=$(lan_cg_usec b)
	out=$(lan_cg_add b "$BASHPID" && "$fn") || out=fail
	a1=$(lan_cg_usec "$cga") b1=$(lan_cg_usec b)
	awk -v o="$out" -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v cg="$LAN_CG" 'BEGIN {
		n = split(o, f, " ")
		if (f[1] == "fail" || n < 2 || f[2] <= 0) { print "fail"; exit }
		printf "%s %s", f[1], cg == "" ? "n/a" : sprintf("%.2f", (a + b) / 1e6 / (f[2] / 2^30))
		for (i = 3; i <= n; i++) printf " %s", f[i]
		printf "\n" }' >>"$LAN_DIR/r-$name"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
shape() {   # rate-limit both directions like a Gigabit link
	local h
	for h in a b; do lan_run "$h" tc qdisc replace dev eth0 root tbf rate 1gbit burst 96kb limit 1000kb; done
}
# One row: each tool ROUNDS times, interleaved (so a noisy moment hits all
# alike), medians. send/scp compares whole commands; send/ping compares the
# data phases (channel open to the receipt, resp. to the sink's count). The
# CPU row under it: both ends' CPU seconds per GiB, send's for the whole
# command.
col() { awk -v c="$1" '$1 != "fail" { print $c }' "$LAN_DIR/r-$2" | median; }
row() {
	local link=$1 ip sc pg sd sw i fails
	for i in iperf scp ping send; do : >"$LAN_DIR/r-$i"; done
	# sync after each: the kernel's writeback of one tool's file must not
	# run into the next tool's measurement.
	for ((i = 0; i < ROUNDS; i++)); do
		measure iperf iperf iperf_mbs
		measure sshd scp scp_mbs; sync
		measure serve ping ping_mbs
		measure serve send send_mbs; sync
	done
	ip=$(col 1 iperf) sc=$(col 1 scp) pg=$(col 1 ping) sw=$(col 1 send) sd=$(col 3 send)
	fails=$(cat "$LAN_DIR/r-ping" "$LAN_DIR/r-send" | grep -c fail || true)
	[[ $fails == 0 ]] || echo "($fails of $((2 * ROUNDS)) ping/send runs failed on this link; see ping.log, send.log)"
	printf '%-20s %8s %8s %8s %10s %10s %9s %10s\n' "$link" "$ip" "$sc" "$pg" "$sw" "$sd" "$(ratio "$sw" "$sc")" \
		"$(ratio "$sd" "$pg")"
	printf '%-20s %8s %8s %8s %10s %10s %9s\n' "  cpu s/GiB, a+b" "$(col 2 iperf)" "$(col 2 scp)" "$(col 2 ping)" \
		"$(col 2 send)" "" "$(ratio "$(col 2 send)" "$(col 2 scp)")"
}

echo "file: $SIZE_MB MiB of random data; MB/s = 10^6 bytes/s; medians of $ROUNDS interleaved rounds"
echo "send (whole) = the command timed like scp; send (data) = channel open to receipt, like ping --bytes"
echo "cpu s/GiB, a+b = user+sys CPU seconds of both ends (cgroup v2) per GiB moved; iperf3 3 s per round"
printf '%-20s %8s %8s %8s %10s %10s %9s %10s\n' "link" "iperf3" "scp" "ping" "send whole" "send data" \
	"send/scp" "send/ping"
row "veth, unshaped"
shape
row "veth, tbf 1 Gbit/s"

for ((i = 0; i < RUNS; i++)); do
	lan_run b "$BIN" ping --count 1 --json "$A:7757" | field connect_ms
done >"$LAN_DIR/connect"
printf 'connection set-up (HTTP offer to channel open), median of %d: %s ms\n' "$RUNS" "$(median <"$LAN_DIR/connect")"
# One set-up per DTLS role with the first ClientHello lost (as when
# the peer's DTLS is not listening yet), beside an unhindered one: the
# scenario t_dtls_lost_flight.sh checks, run for its figures.
rm -f "$LAN_DIR/lost-figures"
FIGURES=$LAN_DIR/lost-figures bash "$(dirname "${BASH_SOURCE[0]}")/t_dtls_lost_flight.sh" \
	>"$(log lost-flight)" 2>&1 || true
if [[ -s "$LAN_DIR/lost-figures" ]]; then
	while read -r _ role _ clear _ lost; do
		printf 'connection set-up (%s DTLS roles): %s ms; with the first ClientHello lost: %s ms\n' \
			"$role" "$clear" "$lost"
	done <"$LAN_DIR/lost-figures"
else
	printf 'connection set-up with the first ClientHello lost: not measured (%s)\n' \
		"$(grep -m1 -E '^(SKIP|Bail|not ok)' "$(log lost-flight)" || echo 'see its log')"
fi

if [[ "$BIG" == 1 ]]; then
	# Sparse: the disk holds almost nothing, yet every byte is read, sent,
	# hashed and written; sizes and offsets must be 64-bit all the way.
	truncate -s $((4 * 1024 * 1024 * 1024 + 1234567)) "$SRC/big.bin"
	printf 'tail' >>"$SRC/big.bin"
	t0=$(now_s)
	rc=0; lan_run b /usr/bin/time -f '%M' -o "$LAN_DIR/send-big-rss" "$BIN" send --json "$A:7757" "$SRC/big.bin" \
		>"$LAN_DIR/big.json" 2>"$(log send-big)" || rc=$?
	t1=$(now_s)
	same=no
	[[ $rc == 0 ]] && cmp -s "$SRC/big.bin" "$DL/big.bin" && same=yes
	printf 'file over 4 GiB (%s bytes): exit %s, identical: %s, %.1f MB/s, send peak RSS %d MiB\n' \
		"$(stat -c %s "$SRC/big.bin")" "$rc" "$same" \
		"$(awk -v b="$(stat -c %s "$SRC/big.bin")" -v a="$t0" -v z="$t1" 'BEGIN { print b / 1e6 / (z - a) }')" \
		$(($(cat "$LAN_DIR/send-big-rss") / 1024))
	rm -f "$DL/big.bin" "$SRC/big.bin"
fi

rss_serve=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid_serve/status")
printf 'peak resident memory: serve %d MiB, send %d MiB (%d MiB file)\n' \
	$((rss_serve / 1024)) $(($(cat "$LAN_DIR/send-rss") / 1024)) "$SIZE_MB"
lan_stop "$pid_serve" TERM 10 || true
lan_stop "$pid_iperf" TERM 5 || true
lan_stop "$pid_sshd" TERM 5 || true
