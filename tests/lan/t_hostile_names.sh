#!/bin/bash
# shellcheck disable=SC2317,SC2016  # helpers run through lan_wait_for; checks expand inside eval
# Names a hostile peer chose, on the simulated LAN (issue 11, items 4, 5, 9):
# - DNS-SD instance names with escape sequences or hidden characters are
#   ignored by `list` and `send` (-v logs them escaped), never printed raw;
# - a channel label and a sender name with escape sequences, a sender name
#   and a path with a right-to-left override reach serve's output escaped;
# - a sender name with a '"' (or a '”') cannot close its quotes and forge
#   "[fingerprint ..., trusted, code ...]" on serve's line;
# - a sender that claims "living room" to a serve with --accept=all pins
#   nothing: the real "living room" still sends there, and that host's own
#   `send "living room"` still works;
# - look-alike names (U+200B inside, Cyrillic "о", a Cyrillic capital "М")
#   are flagged, not "new"; "living room " (a trailing space) is the same
#   name, declined as not the known one;
# - serve/send --name with a hidden character is a usage error;
# - a known_peers over the old 4,096-entry bound still loads and pins;
# - a key the user trusted (a colleague's) that claims another device's name
#   to serve --accept=trusted pins nothing: the real device is not refused,
#   and the user's own `send` to it works.
# Hosts: a (the user's device), l (the real "living room"), h (the hostile
# host: python3-aiortc speaking the protocol, avahi-publish advertising).
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
PEER=$TOP/tests/interop/idrop_peer.py
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout grep avahi-daemon avahi-publish dbus-daemon
lan_init
lan_add_hosts a l
lan_add_host h --daemon
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }
json() { "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)"; }
id_of() { lan_run "$1" "$BIN" id "${@:2}" | awk '/^id:/ { print $2 }'; }
ESC=$'\e' RLO=$'\u202e' ZWSP=$'\u200b' CYR_O=$'\u043e' CYR_EM=$'\u041c' RDQ=$'\u201d'
FAKE=$'\r\e[2KFAKE: Accept 1 file from Ann [trusted]'
FAKE_SHOWN='\x0d\x1b[2KFAKE: Accept 1 file from Ann [trusted]'
no_esc() { ! grep -q "$ESC" "$1"; }              # FILE holds no ESC byte
no_rlo() { ! grep -qF "$RLO" "$1"; }             # FILE holds no raw U+202E
serve() { lan_idrop_serve "$@"; pid=$LAN_PID; }   # HOST LOG ARGS...
send() { lan_idrop_send "$@"; rc=$LAN_RC; }       # HOST LOG ARGS...
peer() { # LOG ARGS...: the hostile sender on h, to a's serve; sets rc
	local name=$1
	shift
	rc=0
	lan_run h timeout 60 "$PY" "$PEER" send "http://$A:7757" --timeout 30 "$@" >"$(log "$name")" 2>&1 || rc=$?
	lan_diag "$name: rc=$rc $(tail -n 1 "$(log "$name")" | cut -c1-300)"
}
publish() { # LOG NAME FP: advertises NAME from h as an idrop-lan device; sets pub
	lan_spawn h "$(log "$1")" avahi-publish -s "$2" _idrop._tcp 4242 "v=1" "fp=$3" "c=info,webrtc"
	pub=$LAN_PID
	lan_wait_for 5 grep -q "Established" "$(log "$1")" || lan_fail "avahi-publish $1 established"
}

SRC=$LAN_DIR/src
mkdir -p "$SRC"
printf 'abc' >"$SRC/three"
LIVING="living room $tag"
# shellcheck disable=SC2034  # used inside eval
fp_l=$(id_of l)
fp_h=$(printf 'ab%.0s' {1..32})   # an advertised id nobody holds

# --- names with hidden characters are refused as --name ----------------------------------
rc=0; lan_run a timeout 10 "$BIN" serve --name "Ann${RLO}txt.exe" --state-dir "$LAN_DIR/rlo" >"$(log serve-rlo)" 2>&1 || rc=$?
lan_check "serve --name 'Ann<U+202E>txt.exe': usage error (exit 2) naming the hidden character, escaped" \
	eval '[ "$rc" = 2 ] && grep -qF "the name \"Ann\\u{202E}txt.exe\" is not usable" "$(log serve-rlo)" && no_rlo "$(log serve-rlo)"'
send a send-zwsp-name --name "living${ZWSP} room" "Nobody $tag" "$SRC/three"
lan_check "send --name 'living<U+200B> room': usage error (exit 2) saying zero-width characters are not allowed" \
	eval '[ "$rc" = 2 ] && grep -qF "hidden (zero-width, right-to-left) characters" "$(log send-zwsp-name)"'

# --- hostile DNS-SD instance names: ignored, and never printed raw --------------------
publish pub-fake "$FAKE" "$fp_h"
pid_fake=$pub
publish pub-rlo "Ann${RLO}txt.exe $tag" "$fp_h"
pid_rlo=$pub
publish pub-ok "Plain $tag" "$fp_h"
pid_ok=$pub
rc=0; lan_run a "$BIN" list -v --timeout 4 >"$(log list)" 2>"$(log list-err)" || rc=$?
lan_diag "list: $(tr '\n' '|' <"$(log list)" | cut -c1-300)"
lan_check "list on a shows the well-named service (exit $rc)" \
	test "$rc" = 0 -a -n "$(grep -F "Plain $tag" "$(log list)")"
lan_check "... but not the instances named with ESC or U+202E; its output holds no ESC and no raw U+202E" \
	eval 'no_esc "$(log list)" && no_rlo "$(log list)" && ! grep -q FAKE "$(log list)" && ! grep -qF "txt.exe $tag" "$(log list)"'
lan_check "... -v says which it ignored, escaped ($FAKE_SHOWN), with no ESC on stderr" \
	eval 'no_esc "$(log list-err)" && grep -qF "ignoring a service whose instance name is not a usable name: \"$FAKE_SHOWN\"" "$(log list-err)" && grep -qF "Ann\\u{202E}txt.exe" "$(log list-err)"'
rc=0; lan_run a "$BIN" list --json --timeout 3 >"$(log list-json)" 2>&1 || rc=$?
lan_check "list --json shows neither, and holds no ESC or raw U+202E" \
	eval '[ "$rc" = 0 ] && no_esc "$(log list-json)" && no_rlo "$(log list-json)" && ! grep -q FAKE "$(log list-json)"'
send a send-fake "$FAKE" "$SRC/three"
lan_check "send to the ESC-named instance: refused as a target (exit 2), no ESC in what it prints" \
	eval '[ "$rc" = 2 ] && no_esc "$(log send-fake)"'
lan_stop "$pid_fake" TERM 5 || true
lan_stop "$pid_rlo" TERM 5 || true
lan_stop "$pid_ok" TERM 5 || true

# --- a channel label, sender names and a path chosen to redraw serve's lines -----------
DL_A=$LAN_DIR/dl-a
serve a serve-a --name "Victim $tag" --accept=all --dir "$DL_A"
pid_a=$pid
peer peer-label --name "Label $tag" --extra-channel "$FAKE" "$SRC/three"
lan_check "a channel labelled '\\r\\e[2KFAKE: Accept ...': serve logs it escaped, and its output holds no ESC" \
	eval 'lan_wait_for 5 grep -qF "closing a channel with unknown label \"$FAKE_SHOWN\"" "$(log serve-a)" && no_esc "$(log serve-a)"'
peer peer-esc-name --name "$FAKE" "$SRC/three"
lan_check "a sender named with ESC: refused by the protocol, nothing raw on serve's output" \
	eval '[ "$rc" != 0 ] && no_esc "$(log serve-a)"'
peer peer-rlo --name "Ann${RLO}txt.exe" "$SRC/three"
lan_check "a sender named 'Ann<U+202E>txt.exe': serve shows Ann\\u{202E}txt.exe, and no raw U+202E anywhere" \
	eval 'lan_wait_for 5 grep -qF "claims to be \"Ann\\u{202E}txt.exe\"" "$(log serve-a)" && no_rlo "$(log serve-a)" && no_esc "$(log serve-a)"'
peer peer-rlo-path --name "Paths $tag" --as "report${RLO}fdp.exe" "$SRC/three"
lan_check "a path 'report<U+202E>fdp.exe' (refused or escaped): no raw U+202E on serve's output" \
	eval 'lan_wait_for 5 grep -qF "claims to be \"Paths $tag\"" "$(log serve-a)" && no_rlo "$(log serve-a)"'
# No control character needed: a quote in the name closed serve's quotes.
SPOOF='Ann" [fingerprint 1111 2222, trusted, code 123 456]'
peer peer-quote --name "$SPOOF" "$SRC/three"
line=$(grep '^incoming: ' "$(log serve-a)" | grep -F 'Ann' | grep -F '1111 2222' | tail -n 1 || true)
lan_diag "quote: $line"
lan_check "a sender named '$SPOOF': serve prints the quote escaped and never '\"Ann\" [fingerprint 1111 2222, trusted'" \
	eval '[ -n "$line" ] && ! grep -qF "\"Ann\" [fingerprint 1111 2222, trusted" <<<"$line" && grep -qF "claims to be \"Ann\\\" [fingerprint 1111 2222, trusted, code 123 456]\" [fingerprint " <<<"$line"'
peer peer-rdq --name "Bob${RDQ} [fingerprint 3333 4444, trusted]" "$SRC/three"
line=$(grep '^incoming: ' "$(log serve-a)" | grep -F '3333 4444' | tail -n 1 || true)
lan_diag "curly quote: $line"
lan_check "... and a right double quotation mark (U+201D, draws as a closing quote) is written \\u{201D}, raw nowhere" \
	eval '[ -n "$line" ] && grep -qF "claims to be \"Bob\\u{201D} [fingerprint 3333 4444, trusted]\" [fingerprint " <<<"$line" && ! grep -qF "$RDQ" "$(log serve-a)"'

# --- a sender's claim pins nothing (--accept=all records nothing) ------------------------
peer peer-poison --name "$LIVING" "$SRC/three"
lan_check "the hostile host sends a 3-byte file to a claiming \"$LIVING\": taken (--accept=all)" test "$rc" = 0
lan_check "... serve says the sender claims to be \"$LIVING\"; a's known_peers records nothing" \
	eval 'grep -qF "claims to be \"$LIVING\"" "$(log serve-a)" && [ "$(lan_run a "$BIN" peers --json)" = "[]" ]'
send l send-real --name "$LIVING" "Victim $tag" "$SRC/three"
lan_check "the real \"$LIVING\" then sends to a: accepted and verified (exit 0)" test "$rc" = 0
DL_L=$LAN_DIR/dl-l
serve l serve-l --name "$LIVING" --accept=all --dir "$DL_L"
pid_l=$pid
send a send-living "$LIVING" "$SRC/three"
lan_check "a's own send \"$LIVING\" works (exit 0) and pins the real device, verified" \
	eval '[ "$rc" = 0 ] && [ "$(lan_run a "$BIN" peers --json | json "[(p[\"fingerprint\"], p[\"source\"]) for p in d] == [(\"$fp_l\", \"verified\")]")" = True ]'

# --- look-alike names are flagged, not "new" ----------------------------------------------
incoming_of() { grep '^incoming: ' "$(log serve-a)" | grep -F "\"$1\"" | tail -n 1 || true; }
peer peer-zwsp --name "living${ZWSP} room $tag" "$SRC/three"
line=$(incoming_of "living\\u{200B} room $tag")
lan_diag "zero-width: $line"
lan_check "a sender claiming 'living<U+200B> room': shown escaped, not new, declined as NOT the known one" \
	eval '[ -n "$line" ] && ! grep -qF ", new" <<<"$line" && grep -qF "NOT the one known by this name" <<<"$line" && [ "$rc" != 0 ]'
peer peer-cyr --name "living r${CYR_O}${CYR_O}m $tag" "$SRC/three"
line=$(incoming_of "living r${CYR_O}${CYR_O}m $tag")
lan_diag "cyrillic: $line"
lan_check "a sender claiming 'living rооm' (Cyrillic о): flagged as looking like the known \"$LIVING\", not new" \
	eval '[ -n "$line" ] && ! grep -qF ", new" <<<"$line" && grep -qF "looks like the known \"$LIVING\"" <<<"$line"'
peer peer-cyr-capital --name "LIVING ROO${CYR_EM} $tag" "$SRC/three"
line=$(incoming_of "LIVING ROO${CYR_EM} $tag")
lan_diag "cyrillic capital: $line"
lan_check "a sender claiming 'LIVING ROOМ' (Cyrillic capital М): flagged as looking like the known \"$LIVING\", not new" \
	eval '[ -n "$line" ] && ! grep -qF ", new" <<<"$line" && grep -qF "looks like the known \"$LIVING\"" <<<"$line"'
peer peer-space --name "$LIVING " "$SRC/three"
line=$(incoming_of "$LIVING ")
lan_diag "trailing space: $line"
lan_check "a sender claiming '$LIVING ' (a trailing space): the same name, declined as NOT the known one" \
	eval '[ -n "$line" ] && grep -qF "NOT the one known by this name" <<<"$line" && [ "$rc" != 0 ]'
publish pub-cyr "living r${CYR_O}${CYR_O}m $tag" "$fp_h"
pid_cyr=$pub
send a send-cyr --timeout 3 "living r${CYR_O}${CYR_O}m $tag" "$SRC/three"
lan_check "send to a device advertised as 'living rооm': warned that it looks like the known \"$LIVING\"" \
	grep -qF "looks like the known peer \"$LIVING\"" "$(log send-cyr)"
lan_stop "$pid_cyr" TERM 5 || true
publish pub-zw "living${ZWSP} room $tag" "$fp_h"
pid_zw=$pub
send a send-zw --timeout 3 "living${ZWSP} room $tag" "$SRC/three"
lan_check "send to a device advertised as 'living<U+200B> room': not found (ignored by discovery, exit 3)" \
	test "$rc" = 3
lan_stop "$pid_zw" TERM 5 || true
rc=0; lan_stop "$pid_a" TERM 10 || rc=$?
lan_check "serve on a exits 0 (got $rc)" test "$rc" = 0

# --- a known_peers over the old 4,096 bound still pins -------------------------------------
KP=$LAN_DIR/a/home/.local/state/idrop-lan/known_peers
"$PY" - "$KP" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "a") as f:
    for i in range(5000):
        fp = hashlib.sha256(b"peer %d" % i).hexdigest()
        f.write("%s seen verified 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z peer %d\n" % (fp, i))
EOF
rc=0; n=$(lan_run a "$BIN" peers --json | json "len(d)") || rc=$?
lan_check "peers on a reads a known_peers of $n entries (over 4,096)" test "$rc" = 0 -a "${n:-0}" -gt 4096
lan_stop "$pid_l" TERM 10 || true
KITCHEN="Kitchen $tag"
serve l serve-k --name "$KITCHEN" --accept=all --dir "$DL_L"
pid_k=$pid
send a send-kitchen "$KITCHEN" "$SRC/three"
lan_check "with that list, a new device is still pinned: send \"$KITCHEN\" exit 0, remembered" \
	eval '[ "$rc" = 0 ] && grep -qF "remembered \"$KITCHEN\"" "$(log send-kitchen)"'
lan_stop "$pid_k" TERM 10 || true
publish pub-imp "$KITCHEN" "$fp_h"
pid_imp=$pub
send a send-imp "$KITCHEN" "$SRC/three"
lan_check "... and an impostor advertising \"$KITCHEN\" with another id is refused (exit 5)" test "$rc" = 5
lan_stop "$pid_imp" TERM 5 || true

# --- a trusted key's claims pin nothing -----------------------------------------------------
# h's idrop-lan identity is a colleague's laptop the user trusted under its
# own name; it then claims the name of another device, "Den", to a's serve
# --accept=trusted, which takes the file unasked and records the claim.
DEN="Den $tag"
fp_hid=$(id_of h)
rc=0; lan_run a "$BIN" trust --name "Colleague $tag" "$fp_hid" >"$(log trust-colleague)" 2>&1 || rc=$?
lan_check "a trusts h's key as \"Colleague $tag\" (exit $rc)" test "$rc" = 0
serve a serve-t --name "Victim $tag" --accept=trusted --dir "$DL_A"
pid_t=$pid
den_claimed() { # serve records the claim after the sender has its receipt
	[ "$(lan_run a "$BIN" peers --json | json "[p[\"source\"] for p in d if p[\"name\"] == \"$DEN\"] == [\"claimed\"]")" = True ]
}
send h send-claim --name "$DEN" "Victim $tag" "$SRC/three"
lan_check "the trusted key sends to a claiming \"$DEN\": taken unasked (exit 0), recorded as a claim" \
	eval '[ "$rc" = 0 ] && lan_wait_for 5 den_claimed'
serve l serve-den --name "$DEN" --accept=all --dir "$DL_L"
pid_den=$pid
send l send-den-real --name "$DEN" "Victim $tag" "$SRC/three"
lan_check "the real \"$DEN\" sending to a is declined only as untrusted, not as an impostor" \
	eval 'grep -qF "not a trusted peer" "$(log serve-t)" && ! grep -qF "known with another fingerprint" "$(log serve-t)" && ! grep -qF "another fingerprint" "$(log send-den-real)"'
send a send-den "$DEN" "$SRC/three"
lan_check "a's own send \"$DEN\" to the real device works (exit 0, got $rc): the claim pinned nothing" \
	test "$rc" = 0
lan_stop "$pid_den" TERM 10 || true
lan_stop "$pid_t" TERM 10 || true
lan_done
