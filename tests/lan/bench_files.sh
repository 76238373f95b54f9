#!/bin/bash
# Many small files on the simulated LAN (two hosts over a veth pair, tbf
# 1 Gbit/s): N files of S bytes in folders, copied from b to a by
# `idrop-lan send`, by `scp -r` (OpenSSH, AES-128-GCM) and by
# `tar -c | ssh tar -x`, same link, same run; then the same bytes as one
# file by each, so the per-byte floor of each tool shows beside its per-file
# cost. Each copy is checked whole (sha256 of every file). Sets: 10k x 4 KiB
# in 100 folders (ROUNDS rounds) and 100k x 1 KiB in 1,000 folders (one
# round); SETS="N:SIZE:FOLDERS[:ROUNDS] ..." to change. BASE_BIN=another
# idrop-lan (e.g. a build of the previous commit) adds its `send`, served
# by its own `serve`, as rows measured in the same rounds.
#
# Fairness:
# - Disk: every copy lands on a fresh journaled ext4 (a 2 GiB sparse image
#   in the run's folder, mkfs.ext4 with its inode tables and journal written
#   up front so no lazy init runs during a copy, mounted with -o loop), made
#   just before the copy and unmounted (which flushes it, untimed) just
#   after: no copy sees another's files, deletions or write-back. Not the
#   root file system of this machine: it has no journal, and there ext4's
#   recently_deleted() scan makes creating inodes right after deleting
#   thousands very slow, which is no user's disk.
# - Order: the contenders run in a rotated order each round (round r starts
#   with contender r), so none always runs first.
# - Time: the whole command on b (connect, data, hashes, receipt; send also
#   fsyncs every file before its receipt, scp and tar do not).
# - CPU: user+sys seconds of each end, from cgroup v2 cpu.stat (usage_usec)
#   deltas over the copy: on a, serve's cgroup (all its threads) for send, or
#   sshd's (the listener, and the per-connection sshd, scp -t or tar it
#   forks) for scp and tar; on b, one cgroup holding the whole command (send;
#   scp and the ssh it runs; tar and ssh). Kernel threads (loop device, jbd2,
#   write-back) are counted nowhere. Without a writable cgroup2 the CPU
#   columns say n/a.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
SETS=${SETS:-"10000:4096:100 100000:1024:1000:1"}
ROUNDS=${ROUNDS:-3}
BASE_BIN=${BASE_BIN:-}
lan_require tc scp ssh-keygen /usr/sbin/sshd /usr/bin/python3 tar mkfs.ext4 mount umount mountpoint truncate
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
die() { echo "bench_files: $*" >&2; exit 1; }
median() { grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]; else if (NR) printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_s() { date +%s.%N; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# ---- The receiving disk. RX is a shared bind mount, so the file systems
# mounted under it later reach serve's and sshd's mount namespaces (`ip
# netns exec` gives each a slave copy of ours, taken when they start).
RX=$LAN_DIR/rx
FS=$RX/fs
IMG=$LAN_DIR/rx.img
mkdir -p "$RX"
mount --bind "$RX" "$RX"
lan_on_cleanup "umount -l '$RX'"
mount --make-shared "$RX"
mkdir -p "$FS"
lan_on_cleanup "! mountpoint -q '$FS' || umount -l '$FS'"   # newest first: before RX's
INODES=65536

# fresh_fs: FS is a new, empty ext4 holding dl/ (serve's folder) and out/
# (scp's and tar's). The old one is unmounted first (its write-back ends
# here, untimed); a receiver that just ended may hold it for a moment.
fresh_fs() {
	if mountpoint -q "$FS"; then
		lan_wait_for 10 umount "$FS" 2>/dev/null || die "cannot unmount $FS"
	fi
	rm -f "$IMG"
	truncate -s 2G "$IMG"
	mkfs.ext4 -q -F -N "$INODES" -E lazy_itable_init=0,lazy_journal_init=0 "$IMG" || die "mkfs.ext4 failed"
	mount -o loop "$IMG" "$FS" || die "cannot mount $IMG"
	mkdir -p "$FS/dl" "$FS/out"
}

# ---- CPU accounting: one cgroup v2 per end and contender (lan.sh).
lan_cg_init serve base sshd b || true

fresh_fs
lan_spawn a "$(log serve)" "$BIN" serve --name bench --accept=all --dir "$FS/dl" --state-dir "$LAN_DIR/state"
pid_serve=$LAN_PID
lan_cg_add serve "$pid_serve"
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve started"
if [[ -n "$BASE_BIN" ]]; then
	lan_spawn a "$(log serve-base)" "$BASE_BIN" serve --name base --accept=all --dir "$FS/dl" --port 7758 \
		--state-dir "$LAN_DIR/state-base"
	pid_base=$LAN_PID
	lan_cg_add base "$pid_base"
	lan_wait_for 10 grep -q '^http port:' "$(log serve-base)" || lan_fail "base serve started"
fi
lan_sshd a
pid_sshd=$LAN_PID
lan_cg_add sshd "$pid_sshd"
for h in a b; do lan_run "$h" tc qdisc replace dev eth0 root tbf rate 1gbit burst 96kb limit 1000kb; done

make_src() {   # dir n size folders: tree/ (random bytes, files spread over folders two levels deep), one/ (the same byte count, one file)
	/usr/bin/python3 - "$@" <<'EOP'
import os, sys
d, n, size, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for f in range(folders):
    os.makedirs(os.path.join(d, "tree", "d%03d" % (f // 10), "e%04d" % f), exist_ok=True)
for i in range(n):
    f = i % folders
    with open(os.path.join(d, "tree", "d%03d" % (f // 10), "e%04d" % f, "f%06d.bin" % i), "wb") as o:
        o.write(os.urandom(size))
os.makedirs(os.path.join(d, "one"))
with open(os.path.join(d, "one", "all.bin"), "wb") as o:
    for i in range(n):
        o.write(os.urandom(size))
EOP
}

# ---- Contenders. A name is TOOL-WHAT: TOOL send, base, scp or tar; WHAT
# tree (the N files) or one (the same bytes as one file).
SSHQ=$(printf '%q ' "${LAN_SSH[@]}")
cmd_of() {   # TOOL WHAT: the bash command on b ($out: scp's and tar's folder on a)
	case $1 in
	send) echo "$(printf '%q' "$BIN") send --quiet $A:7757 '$SRC/$2'" ;;
	base) echo "$(printf '%q' "$BASE_BIN") send --quiet $A:7758 '$SRC/$2'" ;;
	scp) echo "scp -q -r -P 2222 $SSHQ '$SRC/$2' root@$A:\$out/" ;;
	tar) echo "tar -C '$SRC' -cf - $2 | ssh -p 2222 $SSHQ root@$A \"tar -C \$out -xf -\"" ;;
	esac
}

# run_copy TOOL WHAT: on a fresh disk, times the copy, checks it, and
# appends "seconds cpu_a cpu_b" (or "fail") to r-TOOL-WHAT.
run_copy() {
	local tool=$1 what=$2 t0 t1 a0 a1 b0 b1 acg dest ok=1
	case $tool in
	send) acg=serve dest=$FS/dl/$what ;;
	base) acg=base dest=$FS/dl/$what ;;
	*) acg=sshd dest=$FS/out/$what ;;
	esac
	fresh_fs
	sync
	a0=$(lan_cg_usec "$acg") b0=$(lan_cg_usec b)
	t0=$(now_s)
	(lan_cg_add b "$BASHPID" && lan_run b timeout "$LIMIT" env out="$FS/out" bash -c "$(cmd_of "$tool" "$what")") \
		2>>"$(log "$tool")" || ok=0
	t1=$(now_s)
	a1=$(lan_cg_usec "$acg") b1=$(lan_cg_usec b)
	if [[ $ok == 1 && "$(sums "$dest")" != "$REF" ]]; then
		echo "$tool $what: copy differs" >&2
		ok=0
	fi
	if [[ $ok == 1 ]]; then
		awk -v a="$t0" -v z="$t1" -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v cg="$LAN_CG" \
			'BEGIN { if (cg == "") printf "%.2f n/a n/a\n", z - a; else printf "%.2f %.2f %.2f\n", z - a, (a1 - a0) / 1e6, (b1 - b0) / 1e6 }'
	else
		echo fail
	fi >>"$LAN_DIR/r-$tool-$what"
}

col() { awk -v c="$1" '$1 == "fail" { next } { print $c }' "$LAN_DIR/r-$2"; }   # COLUMN NAME
row() {   # LABEL NAME UNITS REF_NAME: one line of the table, medians
	local s fails note=""
	s=$(col 1 "$2" | median)
	fails=$(grep -c fail "$LAN_DIR/r-$2" || true)
	[[ $fails == 0 ]] || note="  ($fails failed: see $(log "${2%-*}"))"
	printf '%-16s %9s %10s %10s %9s %9s%s\n' "$1" "${s:-fail}" \
		"$(awk -v u="$3" -v t="$s" 'BEGIN { if (t > 0) printf(u / t < 100 ? "%.1f" : "%.0f", u / t); else printf "n/a" }')" \
		"$(awk -v a="$s" -v b="$(col 1 "$4" | median)" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }')" \
		"$(col 2 "$2" | median)" "$(col 3 "$2" | median)" "$note"
}

tools=(send)
[[ -z "$BASE_BIN" ]] || tools+=(base)
tools+=(scp tar)
names=()
declare -A REFS=()
for w in tree one; do for t in "${tools[@]}"; do names+=("$t-$w"); done; done
label() { case $1 in send) echo send ;; base) echo "send (base)" ;; scp) echo "scp -r" ;; tar) echo "tar|ssh" ;; esac; }

echo "many small files, veth + tbf 1 Gbit/s, a fresh journaled ext4 (loop) per copy, whole commands timed"
echo "medians of the rounds, contenders in a rotated order each round; cpu: user+sys s of each end (cgroup v2)"
for set in $SETS; do
	IFS=: read -r n size folders rounds <<<"$set"
	rounds=${rounds:-$ROUNDS}
	INODES=$((n + n / 4 + 16384))
	LIMIT=$((120 + n / 100))   # seconds a copy may take before it counts as failed
	SRC=$LAN_DIR/src
	rm -rf "$SRC"; mkdir -p "$SRC"
	make_src "$SRC" "$n" "$size" "$folders"
	REFS=([tree]="$(sums "$SRC/tree")" [one]="$(sums "$SRC/one")")
	for c in "${names[@]}"; do : >"$LAN_DIR/r-$c"; done
	for ((r = 0; r < rounds; r++)); do
		for ((k = 0; k < ${#names[@]}; k++)); do
			c=${names[(k + r) % ${#names[@]}]}
			REF=${REFS[${c#*-}]}
			run_copy "${c%-*}" "${c#*-}"
		done
	done
	mb=$(awk -v b="$((n * size))" 'BEGIN { printf "%.1f", b / 1e6 }')
	echo
	printf '%s files of %s B in %s folders (%s MB), %s round(s)\n' "$n" "$size" "$folders" "$mb" "$rounds"
	printf '%-16s %9s %10s %10s %9s %9s\n' "" "seconds" "files/s" "/ tar|ssh" "cpu a" "cpu b"
	for t in "${tools[@]}"; do row "$(label "$t")" "$t-tree" "$n" tar-tree; done
	printf '%-16s %9s %10s %10s %9s %9s\n' "as one file" "seconds" "MB/s" "/ tar|ssh" "cpu a" "cpu b"
	for t in "${tools[@]}"; do row "$(label "$t")" "$t-one" "$mb" tar-one; done
	rm -rf "$SRC"
done
lan_stop "$pid_serve" TERM 10 || true
[[ -z "$BASE_BIN" ]] || lan_stop "$pid_base" TERM 10 || true
lan_stop "$pid_sshd" TERM 5 || true
