#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# File transfer end to end on the simulated LAN: `idrop-lan send` to `serve`
# and `receive` on other hosts, byte for byte (empty, 1 byte, 100 MiB random,
# a tree with spaces and UTF-8, 500 small files), consent (declined -> exit
# 4, nothing written), resume after the receiver is killed mid-transfer (only
# the remainder crosses the second time), a hostile sender (python3-aiortc
# following docs/PROTOCOL.md) and a disk that fills up mid-file.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
PEER=$TOP/tests/interop/idrop_peer.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout cmp sha256sum mount umount
lan_init
lan_add_hosts a b c
tag=${LAN_PREFIX: -4}
A=$(lan_addr a) C=$(lan_addr c)
log() { echo "$LAN_DIR/$1.log"; }
peer_json() { tail -n 1 "$1" | lan_json "$2" 2>/dev/null; }

# --- what b sends ---------------------------------------------------------
SRC=$LAN_DIR/src
mkdir -p "$SRC/tree/sub dir/ünïcödé ✓" "$SRC/many"
: >"$SRC/empty"
printf 'x' >"$SRC/one"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$SRC/random100"
echo "deep" >"$SRC/tree/sub dir/ünïcödé ✓/file with spaces.txt"
head -c 70000 /dev/urandom >"$SRC/tree/sub dir/b.bin"
echo "top" >"$SRC/tree/a.txt"
for i in $(seq 1 500); do echo "small $i" >"$SRC/many/f$i.txt"; done

# --- serve on a, accepting everything ---------------------------------------
DL_A=$LAN_DIR/dl-a
lan_spawn a "$(log serve-a)" "$BIN" serve --name "Recv $tag" --accept=all --dir "$DL_A"
pid_a=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-a)" || lan_fail "serve on a advertised"
fp_a=$(lan_run a "$BIN" id | awk '/^id:/ { print $2 }')

rc=0; out=$(lan_run b timeout 120 "$BIN" send --json a.local "$SRC/empty" "$SRC/one" "$SRC/random100" \
	2>"$(log send-files.err)") || rc=$?
lan_diag "send files: $out"
lan_check "send a.local: empty, 1-byte and 100 MiB files arrive verified (exit 0)" \
	test "$rc" = 0 -a "$(lan_json "d['verified']" <<<"$out" 2>/dev/null)" = 3
lan_check "... byte for byte (empty)" cmp "$SRC/empty" "$DL_A/empty"
lan_check "... 1 byte" cmp "$SRC/one" "$DL_A/one"
lan_check "... 100 MiB" cmp "$SRC/random100" "$DL_A/random100"
lan_check "serve reports each saved file" grep -q '^saved: random100$' "$(log serve-a)"

rc=0; out=$(lan_run b timeout 60 "$BIN" send --json "Recv $tag" "$SRC/tree" "$SRC/many" 2>"$(log send-tree.err)") || rc=$?
lan_diag "send tree: $out"
lan_check "send by display name: a tree (spaces, UTF-8, nesting) and 500 small files in one send" \
	test "$rc" = 0 -a "$(lan_json "d['verified']" <<<"$out" 2>/dev/null)" = 503
lan_check "... the tree is identical" diff -r "$SRC/tree" "$DL_A/tree"
lan_check "... the 500 files are identical" diff -r "$SRC/many" "$DL_A/many"

rc=0; lan_run b timeout 60 "$BIN" send --quiet "$A:7757" "$SRC/one" 2>"$(log send-ip.err)" || rc=$?
lan_check "send IP:PORT again: exit 0, the copy lands as 'one (1)', the first is untouched" \
	test "$rc" = 0 -a -f "$DL_A/one (1)" -a "$(cat "$DL_A/one")" = x
lan_check "no .part left behind" test -z "$(find "$DL_A" -name '*.part')"

# --- consent ------------------------------------------------------------------
DL_C=$LAN_DIR/dl-c
lan_spawn c "$(log serve-c-none)" "$BIN" serve --name "Nope $tag" --accept=none --dir "$DL_C"
pid_c=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-c-none)" || lan_fail "serve on c advertised"
rc=0; lan_run b timeout 60 "$BIN" send c.local "$SRC/one" 2>"$(log send-declined.err)" || rc=$?
lan_diag "declined: rc=$rc $(tail -n 1 "$(log send-declined.err)")"
lan_check "a declined send exits 4 and says why; nothing is written" \
	test "$rc" = 4 -a -z "$(ls -A "$DL_C")" -a -n "$(grep -i 'declined' "$(log send-declined.err)")"
lan_stop "$pid_c" || true
# With no terminal and no policy, serve refuses rather than accepting blindly.
lan_spawn c "$(log serve-c-ask)" "$BIN" serve --name "Ask $tag" --dir "$DL_C"
pid_c=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-c-ask)" || lan_fail "serve on c advertised"
rc=0; lan_run b timeout 60 "$BIN" send c.local "$SRC/one" 2>"$(log send-noterm.err)" || rc=$?
lan_check "no terminal and no --accept: refused (exit 4), nothing written" test "$rc" = 4 -a -z "$(ls -A "$DL_C")"
lan_stop "$pid_c" || true

rc=0; lan_run b timeout 30 "$BIN" send --timeout 3 "nosuch-$tag.local" "$SRC/one" 2>"$(log send-notfound.err)" || rc=$?
lan_check "an unknown device: exit 3" test "$rc" = 3

# --- resume: the receiver is killed mid-transfer ------------------------------
DL_R=$LAN_DIR/dl-r
lan_spawn c "$(log receive-1)" "$BIN" receive --name "Res $tag" --accept=all --dir "$DL_R"
pid_r=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log receive-1)" || lan_fail "receive on c advertised"
lan_spawn b "$(log send-cut)" timeout 60 "$BIN" send --json c.local "$SRC/random100"
pid_s=$LAN_PID
part_big() { [[ -f "$DL_R/random100.part" ]] && (($(stat -c %s "$DL_R/random100.part") >= 20 * 1024 * 1024)); }
lan_wait_for 60 part_big || lan_fail "the .part grew to 20 MiB"
lan_stop "$pid_r" KILL 5 || true
held=$(stat -c %s "$DL_R/random100.part")
# The sender notices on its own (ICE consent, SCTP) and exits; it is a child
# of this shell, bounded by its timeout.
rc=0; wait "$pid_s" || rc=$?
lan_diag "cut after $held bytes; first send exit $rc: $(tail -n 2 "$(log send-cut)" | tr '\n' ' ')"
lan_check "the sender reports the lost connection (exit 6, got $rc), the .part is kept" \
	test "$rc" = 6 -a "$held" -gt 0
lan_spawn c "$(log receive-2)" "$BIN" receive --name "Res $tag" --accept=all --dir "$DL_R"
pid_r=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log receive-2)" || lan_fail "receive on c advertised again"
rc=0; out=$(lan_run b timeout 120 "$BIN" send --json c.local "$SRC/random100" 2>"$(log send-resume.err)") || rc=$?
lan_diag "resume: $out"
size=$(stat -c %s "$SRC/random100")
resumed=$(lan_json "d['resumed']" <<<"$out" 2>/dev/null || echo -1)
sent=$(lan_json "d['sent']" <<<"$out" 2>/dev/null || echo -1)
lan_check "run again: it resumes from what the receiver held and completes verified" \
	test "$rc" = 0 -a "$resumed" -gt 0
lan_check "... only the remainder crossed the second time (sent = size - resumed)" \
	test "$sent" = $((size - resumed))
lan_check "... and the whole file is identical" cmp "$SRC/random100" "$DL_R/random100"
rc=0; lan_stop "$pid_r" TERM 10 || rc=$?
lan_check "receive exited 0 by itself after the transfer" test "$rc" = 0

# --- resume: the sender is interrupted (Ctrl-C) mid-transfer ------------------
DL_I=$LAN_DIR/dl-i
lan_spawn c "$(log receive-3)" "$BIN" receive --name "Int $tag" --accept=all --dir "$DL_I"
pid_r=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log receive-3)" || lan_fail "receive on c advertised (interrupt)"
lan_spawn b "$(log send-int)" "$BIN" send --json "Int $tag" "$SRC/random100"
pid_s=$LAN_PID
part_int() { [[ -f "$DL_I/random100.part" ]] && (($(stat -c %s "$DL_I/random100.part") >= 20 * 1024 * 1024)); }
lan_wait_for 60 part_int || lan_fail "the .part grew to 20 MiB (interrupt)"
rc=0; lan_stop "$pid_s" INT 10 || rc=$?
rc_r=0; lan_stop "$pid_r" TERM 10 || rc_r=$?
lan_diag "interrupted sender: rc=$rc; receive rc=$rc_r: $(grep -m1 'stopped:' "$(log receive-3)")"
lan_check "Ctrl-C on the sender: exit 130, the receiver is told and keeps the .part" \
	test "$rc" = 130 -a -n "$(grep 'the sender was interrupted' "$(log receive-3)")" -a -f "$DL_I/random100.part"
lan_spawn c "$(log receive-4)" "$BIN" receive --name "Int $tag" --accept=all --dir "$DL_I"
pid_r=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log receive-4)" || lan_fail "receive on c advertised (interrupt, again)"
rc=0; out=$(lan_run b timeout 120 "$BIN" send --json "Int $tag" "$SRC/random100" 2>"$(log send-int2.err)") || rc=$?
resumed=$(lan_json "d['resumed']" <<<"$out" 2>/dev/null || echo -1)
lan_check "... run again: resumed ($resumed bytes held) and verified, identical" \
	test "$rc" = 0 -a "$resumed" -gt 0 && cmp -s "$SRC/random100" "$DL_I/random100"
lan_stop "$pid_r" TERM 10 || true

# --- consent on a terminal: the question, answered y, then n ---------------------
DL_T=$LAN_DIR/dl-t
FIFO=$LAN_DIR/tty-in
mkfifo "$FIFO"
exec {tty_w}<>"$FIFO"   # keeps the pipe open, so the terminal never sees end of file
export TTY_CMD="$BIN serve --name 'Tty $tag' --dir '$DL_T'" FIFO
lan_spawn c "$(log serve-tty)" sh -c 'exec script -qfec "$TTY_CMD" /dev/null <"$FIFO"'
pid_t=$LAN_PID
lan_wait_for 10 grep -q 'advertised:' "$(log serve-tty)" || lan_fail "serve on a terminal advertised"
lan_wait_for 5 grep -q '█' "$(log serve-tty)" || true
lan_check "serve on a terminal shows a QR code of its page's address (for phones)" \
	test "$(grep -c '█' "$(log serve-tty)")" -ge 10
ask() { # ANSWER: sends one file to the terminal serve, answers the question; sets rc
	local n=$1
	lan_spawn b "$(log "send-tty-$n")" timeout 40 "$BIN" send --quiet "Tty $tag" "$SRC/tree/a.txt"
	local pid=$LAN_PID
	if lan_wait_for 20 grep -q 'Accept 1 file (4 B) from a sender that claims to be "b" \[fingerprint [0-9a-f]\{4\} [0-9a-f]\{4\}[^]]*\]? \[y/N\]' \
		"$(log serve-tty)"; then
		echo "$n" >&"$tty_w"
	fi
	# A child of this shell, bounded by its timeout: wait for its own exit.
	rc=0; wait "$pid" || rc=$?
}
ask y
lan_check "serve on a terminal asks 'Accept 1 file (4 B) from a sender that claims to be \"b\" [fingerprint ....]? [y/N]'; y: received" \
	test "$rc" = 0 -a -f "$DL_T/a.txt"
: >"$(log serve-tty)"
ask n
lan_check "... answered n: the sender exits 4 (declined), nothing more is written" \
	test "$rc" = 4 -a ! -e "$DL_T/a (1).txt"
lan_stop "$pid_t" TERM 10 || true
exec {tty_w}>&-

# --- a hostile sender speaking the protocol (python3-aiortc) -------------------
DL_H=$LAN_DIR/dl-h
lan_spawn c "$(log serve-h)" "$BIN" serve --name "Hostile $tag" --accept=all --dir "$DL_H"
pid_h=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-h)" || lan_fail "serve on c advertised (hostile)"
peer() { # NAME ARGS...: the python peer on b sending to c; sets rc
	local name=$1
	shift
	# Each run is a new key: under one name, the second would be declined
	# as an impostor of the first (known_peers).
	rc=0; lan_run b timeout 60 "$PY" "$PEER" send "http://$C:7757" --timeout 40 --name "aiortc $name" "$@" \
		>"$(log "peer-$name")" 2>&1 || rc=$?
	lan_diag "peer $name: rc=$rc $(tail -n 1 "$(log "peer-$name")" | cut -c1-300)"
}
peer ok --expect-fingerprint "$(lan_run c "$BIN" id | awk '/^id:/ { print $2 }')" "$SRC/tree/a.txt" "$SRC/one"
lan_check "aiortc peer following docs/PROTOCOL.md sends two files to serve, both verified" \
	test "$rc" = 0 -a -f "$DL_H/a.txt" -a -f "$DL_H/one"
cmp -s "$SRC/tree/a.txt" "$DL_H/a.txt" || lan_fail "aiortc-sent file differs"
for lie in "path=../escape.txt" "path=/tmp/evil-$tag" "path=a/../../b"; do
	peer "${lie//[^a-z]/}" --lie "$lie" "$SRC/one"
	lan_check "hostile path '${lie#path=}' is refused (exit != 0), nothing written outside the folder" \
		test "$rc" != 0 -a ! -e "$LAN_DIR/escape.txt" -a ! -e "/tmp/evil-$tag" -a ! -f "$LAN_DIR/b" \
		-a -n "$(grep -o 'the receiver cancelled' "$(log "peer-${lie//[^a-z]/}")" | head -n 1)"
done
for lie in size-more size-less bad-hash; do
	before=$(find "$DL_H" -type f ! -name '*.part' | wc -l)
	peer "$lie" --lie "$lie" --as "lie-$lie.bin" "$SRC/tree/sub dir/b.bin"
	lan_check "a sender that lies ($lie) gets file-error; no file is kept under its name" \
		test "$rc" != 0 -a ! -e "$DL_H/lie-$lie.bin" -a "$(find "$DL_H" -type f ! -name '*.part' | wc -l)" = "$before" \
		-a -n "$(grep -o 'file-error' "$(log "peer-$lie")" | head -n 1)"
done
lan_check "... only the short one keeps a .part (for a resume); the wrong ones are deleted" \
	test -f "$DL_H/lie-size-less.bin.part" -a ! -e "$DL_H/lie-size-more.bin.part" -a ! -e "$DL_H/lie-bad-hash.bin.part"
peer junk --lie 'raw-json={"type":"offer","files":"nope"}' "$SRC/one"
lan_check "a malformed offer gets a cancel naming the problem; serve keeps running" \
	test "$rc" != 0 -a -n "$(grep -o 'protocol error' "$(log peer-junk)" | head -n 1)"
lan_check "serve survived every hostile sender" kill -0 "$pid_h"
rc=0; lan_stop "$pid_h" TERM 10 || rc=$?
lan_check "... and exits 0 on SIGTERM: no leak, no sanitizer report (got $rc)" test "$rc" = 0

# --- the disk fills up mid-file -------------------------------------------------
DL_F=$LAN_DIR/dl-full
mkdir -p "$DL_F"
mount -t tmpfs -o size=12m "idrop-test-$tag" "$DL_F" || lan_fail "mount a tmpfs for the full-disk test"
lan_on_cleanup "umount '$DL_F'"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$SRC/six"
# Mounted before the receiver starts: its mount namespace is a copy.
lan_spawn c "$(log serve-full)" "$BIN" serve --name "Full $tag" --accept=all --dir "$DL_F" --state-dir "$LAN_DIR/state-full"
pid_f=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-full)" || lan_fail "serve on c advertised (full)"
truncate -s 16M "$SRC/sixteen"
rc=0; lan_run b timeout 60 "$BIN" send "$C:7757" "$SRC/sixteen" 2>"$(log send-nospace.err)" || rc=$?
lan_check "a file bigger than the free space is declined before any byte (exit 4, says why)" \
	test "$rc" = 4 -a ! -e "$DL_F/sixteen.part" -a -n "$(grep 'not enough free space' "$(log send-nospace.err)")"
lan_spawn b "$(log peer-full)" timeout 60 "$PY" "$PEER" send "http://$C:7757" --timeout 40 \
	--pause-after 1048576 --pause-file "$LAN_DIR/go" "$SRC/six"
pid_p=$LAN_PID
part_grew() { [[ -f "$DL_F/six.part" ]] && (($(stat -c %s "$DL_F/six.part") >= 512 * 1024)); }
lan_wait_for 20 part_grew || lan_diag "the .part did not reach 512 KiB: $(ls -l "$DL_F" | tr '\n' ' ')"
# Fill the rest of the disk behind the receiver's back, then let the sender go on.
dd if=/dev/zero of="$DL_F/filler" bs=64k 2>/dev/null || true
touch "$LAN_DIR/go"
rc=0; wait "$pid_p" || rc=$?   # bounded by its timeout
lan_diag "full disk: rc=$rc $(tail -n 1 "$(log peer-full)" | cut -c1-300)"
lan_check "a full disk cancels the transfer with a clear reason (the sender is told)" \
	test "$rc" != 0 -a -n "$(grep -oi 'disk is full\|no space' "$(log peer-full)" | head -n 1)"
lan_diag "after the full disk: $(ls -l "$DL_F" | tr '\n' ' ')"
lan_check "... the partial data is kept for a resume" \
	test -f "$DL_F/six.part" -a "$(stat -c %s "$DL_F/six.part" 2>/dev/null || echo 0)" -gt 0 -a ! -e "$DL_F/six"
lan_check "... and serve still runs" kill -0 "$pid_f"
rm -f "$DL_F/filler"
rc=0; out=$(lan_run b timeout 60 "$BIN" send --json "$C:7757" "$SRC/six" 2>"$(log send-after-full.err)") || rc=$?
lan_check "once there is space again, the same file from another sender starts afresh and completes" \
	test "$rc" = 0 && cmp -s "$SRC/six" "$DL_F/six"
lan_stop "$pid_f" || true

rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve on a exits 0 after every transfer: no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_done
