#!/bin/bash
# shellcheck disable=SC2317  # helpers are called through lan_wait_for
# Floods do not stop a real transfer: host d sends serve on a a burst of
# real-looking offers (an aiortc offer that will never connect: half-open
# connections) and of bogus ones, and host b's `send` still completes while
# they are pending. One address may hold only a few half-open connections;
# the rest get 429 with Retry-After, and serve drops the half-open ones on
# its own. Four hosts together fill the device's 16 slots: then 503. The
# key is never served or logged; received files follow the umask.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
PY=/usr/bin/python3
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
"$PY" -c 'import aiortc' 2>/dev/null || { echo "Bail out! $PY cannot import aiortc: make deps installs python3-aiortc"; exit 1; }
lan_require timeout curl cmp
lan_init
lan_add_hosts a b d e f g h
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
log() { echo "$LAN_DIR/$1.log"; }

mkdir -p "$LAN_DIR/src"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$LAN_DIR/src/real.bin"

# umask 077: a user who wants private files gets them (received files follow
# the umask, never executable).
lan_spawn a "$(log serve)" sh -c 'umask 077 && exec env IDROP_STATE_DIR="$1" "$2" serve -v --name "$3" --accept=all --dir "$4"' \
	sh "$LAN_DIR/state-a" "$BIN" "Flooded $tag" "$LAN_DIR/dl"
pid=$LAN_PID
lan_wait_for 10 grep -q '^advertised:' "$(log serve)" || lan_fail "serve on a advertised"

# A genuine SDP offer from aiortc on d; d never answers ICE for it (the
# process is gone), so every connection serve makes from it stays half-open.
lan_aiortc_offer d >"$LAN_DIR/offer.sdp"
lan_check "aiortc made an offer to flood with" grep -q '^a=fingerprint:sha-256' "$LAN_DIR/offer.sdp"

codes=$(lan_run d sh -c "for i in \$(seq 1 12); do curl -s -o /dev/null -w '%{http_code} ' \
	-H 'Content-Type: application/sdp' --data-binary @$LAN_DIR/offer.sdp http://$A:7757/api/offer; done")
lan_diag "12 offers that never connect, from d: $codes"
n201=$(grep -o 201 <<<"$codes" | wc -l) n429=$(grep -o 429 <<<"$codes" | wc -l)
lan_check "one address gets 4 half-open connections (201), then 429" test "$n201" = 4 -a "$n429" = 8
lan_check "... with Retry-After" \
	test -n "$(lan_run d curl -s -D - -o /dev/null -H 'Content-Type: application/sdp' \
		--data-binary @"$LAN_DIR/offer.sdp" "http://$A:7757/api/offer" | grep -i '^retry-after: [0-9]')"
# And bogus offers on top, in the background, while the real send runs.
lan_spawn d "$(log bogus)" sh -c "for i in \$(seq 1 30); do curl -s -o /dev/null -w '%{http_code} ' \
	-H 'Content-Type: application/sdp' --data-binary 'v=0 bogus' http://$A:7757/api/offer; sleep 0.1; done"
bogus=$LAN_PID

rc=0
lan_run b timeout 60 "$BIN" send --name "Real $tag" --timeout 30 "$A" "$LAN_DIR/src/real.bin" \
	>"$(log send)" 2>&1 || rc=$?
lan_diag "send: $(tail -n 1 "$(log send)")"
lan_check "meanwhile a real send from b completes (exit 0)" test "$rc" = 0
lan_check "... and the file is there, identical" cmp -s "$LAN_DIR/src/real.bin" "$LAN_DIR/dl/real.bin"
lan_stop "$bogus" TERM 5 || true
lan_diag "bogus offers: $(cat "$(log bogus)")"

# The half-open connections go on their own (20 s after the answer), and d
# may then try again.
gone() { [[ "$(grep -c 'peer closed' "$(log serve)")" -ge 5 ]]; }   # 4 half-open + the real send
lan_wait_for 40 gone || true
lan_check "serve drops the half-open connections by itself" gone
code=$(lan_run d curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/sdp' \
	--data-binary @"$LAN_DIR/offer.sdp" "http://$A:7757/api/offer")
lan_check "... after which d is answered again (201, got $code)" test "$code" = 201

# The device-wide cap: d's new half-open connection and four hosts with four
# each would make 17: the 16th slot is the last, then 503 with Retry-After.
for host in e f g h; do
	lan_run "$host" sh -c "for i in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code} ' \
		-H 'Content-Type: application/sdp' --data-binary @$LAN_DIR/offer.sdp http://$A:7757/api/offer; done" \
		>>"$LAN_DIR/cap.codes"
done
hdr=$(lan_run d curl -s -D - -o /dev/null -H 'Content-Type: application/sdp' --data-binary @"$LAN_DIR/offer.sdp" \
	"http://$A:7757/api/offer" | tr -d '\r')
lan_diag "4 hosts x 4 offers: $(cat "$LAN_DIR/cap.codes"); then d: $(head -n 1 <<<"$hdr")"
lan_check "d's connection and 15 from four hosts fill the device (16); then 503 with Retry-After" \
	test "$(grep -o 201 "$LAN_DIR/cap.codes" | wc -l)" = 15 -a "$(grep -o 503 "$LAN_DIR/cap.codes" | wc -l)" = 1 \
	-a -n "$(grep '^HTTP/1.1 503' <<<"$hdr")" \
	-a -n "$(grep -i '^retry-after: [0-9]' <<<"$hdr")"

# The identity key is never served nor logged (serve ran with -v).
served=""
for path in /key.pem /cert.pem /state/key.pem /..%2fkey.pem /%2e%2e/%2e%2e/key.pem /api/info /api/devices; do
	served+=$(lan_run d curl -s --path-as-is "http://$A:7757$path")
done
key_line=$(sed -n '2p' "$LAN_DIR/state-a/key.pem")
lan_check "the private key is not served at any path tried, nor in serve's verbose log" \
	test -n "$key_line" -a -z "$(grep -F -- "$key_line" <<<"$served")" -a -z "$(grep -F 'PRIVATE KEY' <<<"$served")" \
	-a -z "$(grep -F -- "$key_line" "$(log serve)")" -a -z "$(grep -F 'PRIVATE KEY' "$(log serve)")"
lan_check "the state directory is private (0700) and the key 0600" \
	test "$(stat -c %a "$LAN_DIR/state-a")" = 700 -a "$(stat -c %a "$LAN_DIR/state-a/key.pem")" = 600
lan_check "a received file follows serve's umask 077 (0600, never executable; got $(stat -c %a "$LAN_DIR/dl/real.bin"))" \
	test "$(stat -c %a "$LAN_DIR/dl/real.bin")" = 600

rc=0; lan_stop "$pid" TERM 10 || rc=$?
lan_check "serve exits 0 afterwards: no leak, no sanitizer report (got $rc)" test "$rc" = 0
lan_done
