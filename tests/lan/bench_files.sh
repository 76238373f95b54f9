#!/bin/bash
# Many small files on the simulated LAN (two hosts over a veth pair, tbf
# 1 Gbit/s): N files of S bytes in folders, sent by `idrop-lan send`, by
# `scp -r` (OpenSSH, AES-128-GCM) and by `tar -c | ssh tar -x`, same link,
# same run, interleaved rounds; each copy is checked whole (sha256 of every
# file). Sets: 10k x 4 KiB in 100 folders and 100k x 1 KiB in 1,000 folders
# (SETS="N:SIZE:FOLDERS ..." to change). Disk: the run's temporary folder
# (a real file system: fsync costs what it costs there). BASE_BIN=another
# idrop-lan (e.g. a build of the previous commit) adds its `send`, served
# by its own `serve`, as a column measured in the same rounds.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
SETS=${SETS:-"10000:4096:100 100000:1024:1000"}
ROUNDS=${ROUNDS:-3}
lan_require tc scp ssh-keygen /usr/sbin/sshd /usr/bin/python3 tar
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
median() { grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_s() { date +%s.%N; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

DL=$LAN_DIR/dl
mkdir -p "$DL"
lan_spawn a "$(log serve)" "$BIN" serve --name bench --accept=all --dir "$DL" --state-dir "$LAN_DIR/state"
pid_serve=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve started"
BASE_BIN=${BASE_BIN:-}
if [[ -n "$BASE_BIN" ]]; then
	lan_spawn a "$(log serve-base)" "$BASE_BIN" serve --name base --accept=all --dir "$DL" --port 7758 \
		--state-dir "$LAN_DIR/state-base"
	pid_base=$LAN_PID
	lan_wait_for 10 grep -q '^http port:' "$(log serve-base)" || lan_fail "base serve started"
fi
lan_sshd a
pid_sshd=$LAN_PID
for h in a b; do lan_run "$h" tc qdisc replace dev eth0 root tbf rate 1gbit burst 96kb limit 1000kb; done

make_tree() {   # dir n size folders: random bytes, files spread over folders two levels deep
	/usr/bin/python3 - "$@" <<'EOP'
import os, sys
d, n, size, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for f in range(folders):
    os.makedirs(os.path.join(d, "d%03d" % (f // 10), "e%04d" % f), exist_ok=True)
for i in range(n):
    f = i % folders
    with open(os.path.join(d, "d%03d" % (f // 10), "e%04d" % f, "f%06d.bin" % i), "wb") as o:
        o.write(os.urandom(size))
EOP
}
# Each runner copies $SRC/tree to a fresh folder on a and prints its seconds.
run_send() {   # [binary port]
	local t0 t1 bin=${1:-$BIN} port=${2:-7757}
	rm -rf "$DL/tree" "$DL"/tree*
	sync
	t0=$(now_s)
	lan_run b "$bin" send --quiet "$A:$port" "$SRC/tree" 2>>"$(log send)" || { echo fail; return; }
	t1=$(now_s)
	[[ "$(sums "$DL/tree")" == "$REF" ]] || { echo "send: copy differs" >&2; echo fail; return; }
	awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.2f\n", z - a }'
}
# copy_with NAME CMD: runs CMD (bash, on b; $out: a fresh folder on a),
# checks the copy and prints its seconds.
copy_with() {
	local t0 t1 out=$LAN_DIR/$1
	rm -rf "$out"; mkdir -p "$out"
	sync
	t0=$(now_s)
	lan_run b env out="$out" bash -c "$2" 2>>"$(log "$1")" || { echo fail; return; }
	t1=$(now_s)
	[[ "$(sums "$out/tree")" == "$REF" ]] || { echo "$1: copy differs" >&2; echo fail; return; }
	awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.2f\n", z - a }'
}
SSHQ=$(printf '%q ' "${LAN_SSH[@]}")
run_scp() { copy_with scp "scp -q -r -P 2222 $SSHQ '$SRC/tree' root@$A:\$out/"; }
run_tar() { copy_with tar "tar -C '$SRC' -cf - tree | ssh -p 2222 $SSHQ root@$A \"tar -C \$out -xf -\""; }

echo "many small files, veth + tbf 1 Gbit/s, whole commands timed (connect, data, hashes, fsync, receipt)"
echo "seconds: medians of $ROUNDS interleaved rounds; files/s from the median"
printf '%-22s %9s %9s %9s %10s %9s %11s\n' "set" "send" "scp -r" "tar|ssh" "send f/s" "send/tar" \
	"${BASE_BIN:+send (base)}"
for set in $SETS; do
	IFS=: read -r n size folders <<<"$set"
	SRC=$LAN_DIR/src
	rm -rf "$SRC"; mkdir -p "$SRC/tree"
	make_tree "$SRC/tree" "$n" "$size" "$folders"
	REF=$(sums "$SRC/tree")
	: >"$LAN_DIR/r-send"; : >"$LAN_DIR/r-scp"; : >"$LAN_DIR/r-tar"; : >"$LAN_DIR/r-base"
	for ((i = 0; i < ROUNDS; i++)); do
		[[ -z "$BASE_BIN" ]] || run_send "$BASE_BIN" 7758 >>"$LAN_DIR/r-base"
		run_send >>"$LAN_DIR/r-send"
		run_scp >>"$LAN_DIR/r-scp"
		run_tar >>"$LAN_DIR/r-tar"
	done
	sd=$(median <"$LAN_DIR/r-send") sc=$(median <"$LAN_DIR/r-scp") tr=$(median <"$LAN_DIR/r-tar")
	fails=$(grep -c fail "$LAN_DIR/r-send" || true)
	[[ $fails == 0 ]] || echo "($fails of $ROUNDS send runs failed; see send.log)"
	bs=$([[ -z "$BASE_BIN" ]] || median <"$LAN_DIR/r-base")
	printf '%-22s %9s %9s %9s %10s %9s %11s\n' "${n} x ${size} B" "$sd" "$sc" "$tr" \
		"$(awk -v n="$n" -v t="$sd" 'BEGIN { if (t > 0) printf "%.0f", n / t; else printf "n/a" }')" \
		"$(awk -v a="$sd" -v b="$tr" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }')" "$bs"
	rm -rf "$SRC" "$DL/tree" "$LAN_DIR/scp" "$LAN_DIR/tar"
done
lan_stop "$pid_serve" TERM 10 || true
[[ -z "$BASE_BIN" ]] || lan_stop "$pid_base" TERM 10 || true
lan_stop "$pid_sshd" TERM 5 || true
