#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Many small files end to end on the simulated LAN: `idrop-lan send` of a
# tree of several thousand small files (0 to 9 KiB, nested folders, UTF-8
# names) and of one folder of FLAT (default 20,000) tiny files, to `serve`:
# every file arrives byte for byte (sha256 of each, sorted), the sender
# reports each one verified, and nothing is left behind (no .part, no resume
# record: small files get one only when interrupted). Then a send cut short
# (serve stopped mid-way), and one cut by a crash (serve killed: SIGKILL),
# leave only whole files (no stray .part: a small file is unnamed until
# kept) and are sent again to completion.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
TREE=${TREE:-5000}       # files in the nested tree
FLAT=${FLAT:-20000}      # tiny files in one folder (several offers)
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require timeout sha256sum find sort xargs
lan_init
lan_add_hosts a b
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
sums() { (cd "$1" && find . -type f ! -name '*.part' -print0 | sort -z | xargs -0 -r sha256sum); }

SRC=$LAN_DIR/src
mkdir -p "$SRC"
"$PY" - "$SRC" "$TREE" "$FLAT" <<'EOP'
import os, random, sys
src, tree, flat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(14)
for i in range(tree):
    # up to 4 levels, 40 folders at the top, a UTF-8 name now and then
    parts = ["t", "top%02d" % (i % 40)]
    if i % 3:
        parts.append("mid%d" % (i % 7))
    if i % 5 == 0:
        parts.append("déep ✓")
    d = os.path.join(src, *parts)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d%s" % (i, ".txt" if i % 2 else " ü.bin")), "wb") as o:
        o.write(rnd.randbytes(rnd.choice([0, 1, 100, 4096, 9000, rnd.randrange(9216)])))
os.makedirs(os.path.join(src, "flat"))
for i in range(flat):
    with open(os.path.join(src, "flat", "x%06d" % i), "wb") as o:
        o.write(b"%d\n" % i)
EOP
DL=$LAN_DIR/dl STATE=$LAN_DIR/state-a
mkdir -p "$DL"
lan_spawn a "$(log serve)" "$BIN" serve --state-dir "$STATE" --name "many" --accept=all --dir "$DL"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve)" || lan_fail "serve on a started"

# send_all DIR COUNT WHAT: sends $SRC/DIR, checks every file verified and identical.
send_all() {
	local t0 rc=0 out
	t0=$(date +%s)
	out=$(lan_run b timeout 240 "$BIN" send --json "$A:7757" "$SRC/$1" 2>"$(log "send-$1.err")") || rc=$?
	lan_diag "$1: $2 files in $(($(date +%s) - t0)) s, $out"
	lan_check "send: $3, every one verified (exit 0)" \
		test "$rc" = 0 -a "$(lan_json "d['verified']" <<<"$out" 2>/dev/null)" = "$2"
	lan_check "... every file byte for byte (sha256 of each)" test "$(sums "$SRC/$1")" = "$(sums "$DL/$1")"
}
# check_whole LABEL: every file under $DL/t but a .part is its source's copy.
check_whole() {
	local bad
	bad=$( (cd "$DL" && find t -type f ! -name '*.part' -print0 | xargs -0 -r sha256sum) |
		(cd "$SRC" && sha256sum --quiet -c - 2>&1) | head -n 3) || true
	lan_check "$1" test -z "$bad"
}
send_all t "$TREE" "a tree of $TREE small files in nested folders"
send_all flat "$FLAT" "$FLAT tiny files in one folder (several offers)"
lan_check "nothing left behind: no .part in the download folder" \
	test -z "$(find "$DL" -name '*.part' -print -quit)"
lan_check "... and no resume record" test -z "$(find "$STATE/partial" -type f -print -quit 2>/dev/null)"

# Cut short: serve stops while the tree goes (every file committed so far is
# whole), then the same send again completes into a fresh serve.
rm -rf "$DL/t"
lan_spawn b "$(log send-cut)" timeout 240 "$BIN" send --json "$A:7757" "$SRC/t"
pid_cut=$LAN_PID
kept_some() { [[ $(find "$DL/t" -type f ! -name '*.part' 2>/dev/null | head -n 300 | wc -l) -ge 300 ]]; }
lan_wait_for 60 kept_some || lan_diag "not 300 files kept before the cut"
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve exits 0 when stopped mid-transfer (after $(find "$DL/t" -type f ! -name '*.part' | wc -l) files): no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_stop "$pid_cut" TERM 20 || true
kept=$(find "$DL/t" -type f ! -name '*.part' | wc -l)
lan_diag "kept before the cut: $kept of $TREE, as .part: $(find "$DL/t" -name '*.part' | wc -l), records: $(find "$STATE/partial" -type f | wc -l)"
check_whole "... every file kept before the cut is whole (its sha256 matches)"
lan_spawn a "$(log serve2)" "$BIN" serve --state-dir "$STATE" --name "many" --accept=all --dir "$DL"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve2)" || lan_fail "serve on a started again"

# A crash: serve killed mid-way. What it leaves is whole files, and .part
# files each named by a resume record; a small file's .part would have no
# record (it gets one only when interrupted cleanly), so nothing would ever
# expire it.
find "$DL/t" -type f ! -name '*.part' -delete
lan_spawn b "$(log send-kill)" timeout 240 "$BIN" send --json "$A:7757" "$SRC/t"
pid_cut=$LAN_PID
lan_wait_for 60 kept_some || lan_diag "not 300 files kept before the kill"
lan_stop "$pid_a" KILL 10 || true
lan_stop "$pid_cut" TERM 20 || true
lan_diag "kept before the kill: $(find "$DL/t" -type f ! -name '*.part' | wc -l) of $TREE, as .part: $(find "$DL" -name '*.part' | wc -l)"
# A .part is explained only by its resume record (part=PATH, relative to
# the download folder): those the stop above left, resumed and cut again.
stray=$(comm -23 <(cd "$DL" && find . -name '*.part' | sed 's|^\./||' | sort) \
	<(sed -n 's/^part=//p' "$STATE"/partial/* 2>/dev/null | sort) | head -n 3) || true
lan_check "serve killed mid-transfer: no .part without a resume record${stray:+ (got: $stray)}" test -z "$stray"
check_whole "... and every other file there is whole, under its own name (its sha256 matches)"
lan_spawn a "$(log serve3)" "$BIN" serve --state-dir "$STATE" --name "many" --accept=all --dir "$DL"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^http port:' "$(log serve3)" || lan_fail "serve on a started after the kill"
find "$DL/t" -type f ! -name '*.part' -delete
send_all t "$TREE" "the tree again after the cuts (what was cut short resumes)"
lan_diag "left as .part: $(find "$DL" -name '*.part' | wc -l)"
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve exits 0 after every transfer (got $rc)" test "$rc" = 0
lan_done
