#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Trust on first use on the simulated LAN (known_peers, like SSH's
# known_hosts): the first verified send pins the device's advertised name on
# the sender; the device records nothing of a sender under --accept=all, and
# says the sender only "claims to be" its name; a second device advertising
# the same name with another identity is refused by `send` (exit 5, both
# fingerprints named, nothing offered to it) until `forget`; a sender that
# takes a trusted name with another key is declined by the receiver;
# `serve --accept=trusted` takes files from a trusted sender with no
# terminal and refuses the others.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require timeout grep
lan_init
lan_add_hosts a b c d
tag=${LAN_PREFIX: -4}
DEV="Dev $tag"
log() { echo "$LAN_DIR/$1.log"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)"; }
id_of() { lan_run "$1" "$BIN" id "${@:2}" | awk '/^id:/ { print $2 }'; }
serve() { lan_idrop_serve "$@"; pid=$LAN_PID; }   # HOST LOG ARGS...
send() { lan_idrop_send "$@"; rc=$LAN_RC; }       # HOST LOG ARGS...

SRC=$LAN_DIR/src
mkdir -p "$SRC"
echo "hello" >"$SRC/note.txt"
fp_b=$(id_of b)
fp_d=$(id_of d)

# --- first contact: the sender pins the device; under --accept=all the device records nothing
DL_A=$LAN_DIR/dl-a
serve a serve-a --name "$DEV" --accept=all --dir "$DL_A"
pid_a=$pid
fp_a=$(id_of a)
send b send-first "$DEV" "$SRC/note.txt"
lan_check "first send to \"$DEV\" is verified (exit 0) and says it remembered the device" \
	test "$rc" = 0 -a -n "$(grep -F "remembered \"$DEV\"" "$(log send-first)")"
peers=$(lan_run b "$BIN" peers --json)
lan_diag "peers on b: $peers"
lan_check "peers on b lists \"$DEV\" with a's full fingerprint, status seen" \
	test "$(json "[(p['fingerprint'], p['status']) for p in d if p['name'] == '$DEV'] == [('$fp_a', 'seen')]" <<<"$peers")" = True
lan_check "... and the table shows its short id" \
	test -n "$(lan_run b "$BIN" peers | grep -F "$DEV" | grep -F "${fp_a:0:4} ${fp_a:4:4}")"
lan_check "serve on a says the sender claims to be \"b\", new, and (--accept=all) remembers nothing" \
	test -n "$(grep -E '^incoming: .* from a sender that claims to be "b" \[fingerprint [0-9a-f ]{9}, new' "$(log serve-a)")" \
	-a -z "$(grep -F 'remembered' "$(log serve-a)")" -a "$(lan_run a "$BIN" peers --json)" = "[]"
lan_check "... and peers on b says \"$DEV\" is verified (pinned), not merely claimed" \
	test "$(json "[p['source'] for p in d if p['name'] == '$DEV'] == ['verified']" <<<"$peers")" = True
send b send-second "$DEV" "$SRC/note.txt"
lan_check "a second send: still new on a (nothing recorded under --accept=all)" \
	test "$rc" = 0 -a -n "$(grep -E '^incoming: .* claims to be "b" \[fingerprint [0-9a-f ]{9}, new' "$(log serve-a)")"
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve on a exits 0 (no leak, no sanitizer report; got $rc)" test "$rc" = 0

# --- serve --accept=trusted, no terminal ------------------------------------------------
DL_T=$LAN_DIR/dl-t
serve a serve-trusted --name "Trusting $tag" --accept=trusted --dir "$DL_T"
pid_t=$pid
send b send-untrusted "Trusting $tag" "$SRC/note.txt"
lan_check "--accept=trusted: b, not trusted, is refused with no terminal (exit 4)" \
	test "$rc" = 4 -a ! -e "$DL_T/note.txt" -a -n "$(grep -F 'trusted peers only' "$(log send-untrusted)")"
rc=0; lan_run a "$BIN" trust nobody >/dev/null 2>&1 || rc=$?
lan_check "trust an unknown name: exit 3" test "$rc" = 3
rc=0; out=$(lan_run a "$BIN" trust --name b "$fp_b") || rc=$?
lan_check "trust --name b FINGERPRINT on a (ids compared): exit 0, says so" \
	test "$rc" = 0 -a -n "$(grep -F 'added and trusted: "b"' <<<"$out")"
lan_check "... peers on a shows b trusted" \
	test "$(lan_run a "$BIN" peers --json | json "[p['status'] for p in d if p['name'] == 'b'] == ['trusted']")" = True
send b send-trusted "Trusting $tag" "$SRC/note.txt"
lan_check "--accept=trusted: the trusted sender's file is taken with no terminal (exit 0)" \
	test "$rc" = 0 -a -f "$DL_T/note.txt" \
	-a -n "$(grep -E '^incoming: .* claims to be "b" \[fingerprint [0-9a-f ]{9}, trusted' "$(log serve-trusted)")"
send d send-unknown --name "Stranger $tag" "Trusting $tag" "$SRC/note.txt"
lan_check "--accept=trusted: an unknown sender is refused (exit 4), nothing more written" \
	test "$rc" = 4 -a "$(find "$DL_T" -type f | wc -l)" = 1
rc=0; lan_stop "$pid_t" TERM 10 || rc=$?
lan_check "serve --accept=trusted exits 0 (got $rc)" test "$rc" = 0

# --- a sender that takes a trusted name with another key is declined -------------------
DL_A=$LAN_DIR/dl-a2
serve a serve-a2 --name "$DEV" --accept=all --dir "$DL_A"
pid_a=$pid
send d send-as-b --name b "$DEV" "$SRC/note.txt"
lan_check "d sending as \"b\" (b's trusted name, d's key) to a: declined (exit 4), told why" \
	test "$rc" = 4 -a -n "$(grep -F 'knows "b" with another fingerprint' "$(log send-as-b)")"
lan_check "... serve on a warned, naming both fingerprints in full and the forget command" \
	test -n "$(grep -F 'WARNING: "b" is known with another fingerprint' "$(log serve-a2)")" \
	-a -n "$(grep -F "$fp_b" "$(log serve-a2)")" -a -n "$(grep -F "$fp_d" "$(log serve-a2)")" \
	-a -n "$(grep -F "idrop-lan forget 'b'" "$(log serve-a2)")"
lan_check "... even with --accept=all, nothing was written" test -z "$(ls -A "$DL_A" 2>/dev/null)"
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve on a exits 0 (no leak, no sanitizer report; got $rc)" test "$rc" = 0

# --- an impostor advertises the same name with another identity ------------------------
DL_C=$LAN_DIR/dl-c
serve c serve-imp --name "$DEV" --accept=all --dir "$DL_C" --state-dir "$LAN_DIR/imp"
pid_c=$pid
fp_c=$(id_of c --state-dir "$LAN_DIR/imp")
lan_check "the impostor on c advertises exactly \"$DEV\"" grep -qxF "advertised:  \"$DEV\"" "$(log serve-imp)"
send b send-imp "$DEV" "$SRC/note.txt"
lan_check "send \"$DEV\" to the impostor: refused before sending (exit 5)" test "$rc" = 5
lan_check "... with a warning naming the known and the new fingerprint in full" \
	test -n "$(grep -F "WARNING: \"$DEV\" is known with another fingerprint" "$(log send-imp)")" \
	-a -n "$(grep -F "$fp_a" "$(log send-imp)")" -a -n "$(grep -F "$fp_c" "$(log send-imp)")"
lan_check "... and how to accept the change: idrop-lan forget '$DEV', then send again" \
	test -n "$(grep -F "idrop-lan forget '$DEV'" "$(log send-imp)")"
send b send-imp-host c.local "$SRC/note.txt"
lan_check "send c.local (the impostor's host, advertising \"$DEV\"): refused too (exit 5)" test "$rc" = 5
lan_check "nothing reached the impostor: no connection, no offer, no file" \
	test -z "$(grep -E 'peer connected|incoming:' "$(log serve-imp)")" -a -z "$(ls -A "$DL_C" 2>/dev/null)"
lan_check "the pin is unchanged on b" \
	test "$(lan_run b "$BIN" peers --json | json "[p['fingerprint'] for p in d if p['name'] == '$DEV'] == ['$fp_a']")" = True

# --- forget, then the new identity is accepted (and pinned) ------------------------------
rc=0; out=$(lan_run b "$BIN" forget "$DEV") || rc=$?
lan_check "forget \"$DEV\" on b: exit 0, says what it removed" test "$rc" = 0 -a -n "$(grep -F "forgotten: \"$DEV\"" <<<"$out")"
rc=0; lan_run b "$BIN" forget "$DEV" >/dev/null 2>&1 || rc=$?
lan_check "forget an unknown name: exit 3" test "$rc" = 3
send b send-after-forget "$DEV" "$SRC/note.txt"
lan_check "send again after forget: exit 0, the file arrives" test "$rc" = 0 -a -f "$DL_C/note.txt"
lan_check "... and the new fingerprint is the one pinned now" \
	test "$(lan_run b "$BIN" peers --json | json "[p['fingerprint'] for p in d if p['name'] == '$DEV'] == ['$fp_c']")" = True
rc=0; lan_stop "$pid_c" TERM 10 || rc=$?
lan_check "the serve on c exits 0 (got $rc)" test "$rc" = 0

# --- a known_peers others can write is refused --------------------------------------------
chmod 0666 "$LAN_DIR/b/home/.local/state/idrop-lan/known_peers"
rc=0; err=$(lan_run b "$BIN" peers 2>&1 >/dev/null) || rc=$?
lan_check "a group/other-writable known_peers is refused, saying to chmod 600 (exit 1)" \
	test "$rc" = 1 -a -n "$(grep -F 'chmod 600' <<<"$err")"
send b send-badperm "$DEV" "$SRC/note.txt"
lan_check "... send refuses to go on without its pins (exit 1)" test "$rc" = 1
lan_done
