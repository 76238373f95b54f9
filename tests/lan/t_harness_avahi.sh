#!/bin/bash
# shellcheck disable=SC2317  # helper functions are called via lan_wait_for
# Smoke test of the LAN harness itself, with Avahi's own tools only:
# three hosts with their own dbus + avahi-daemon; a service published on a is
# browsed and resolved from c (right address, port, TXT), disappears from c
# after a clean stop, and lan_cleanup leaves no namespace or process behind.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "$0")/lan.sh"

lan_require avahi-daemon avahi-publish avahi-browse dbus-daemon timeout
lan_init
prefix=$LAN_PREFIX
svc="smoke-$prefix"

ms_since() { echo $(( ($(lan__now_us) - $1) / 1000 )); }

for h in a b c; do
	t=$(lan__now_us)
	lan_add_host "$h" --daemon
	lan_diag "lan_add_host $h --daemon: $(ms_since "$t") ms"
done

# --- hosts are distinct machines
lan_check "b's hostname is b" test "$(lan_run b hostname)" = b
lan_check "a's hostname is a" test "$(lan_run a hostname)" = a
lan_check "outer hostname unchanged" test "$(hostname)" != b
lan_check "a has 10.77.0.2" test "$(lan_addr a)" = 10.77.0.2
lan_check "c sees its own address on eth0" \
	grep -q "inet $(lan_addr c)/24" <(lan_run c ip -4 addr show dev eth0)
lan_check "per-host /run: a's avahi pid file holds a's daemon" \
	test "$(lan_run a cat /run/avahi-daemon/pid)" = "${LAN__DAEMON_PIDS[a.avahi]}"

# --- publish on a, browse + resolve on c
publog="$LAN_DIR/publish.log"
t_pub=$(lan__now_us)
lan_spawn a "$publog" avahi-publish -s "$svc" _idrop._tcp 4242 "v=1" "fp=abc"
pub=$LAN_PID

if lan_wait_for 5 grep -q "^Established under name '$svc'" "$publog"; then
	lan_ok "publisher on a established ($(ms_since "$t_pub") ms)"
else
	lan_fail "publisher on a established"
fi

# A resolved line from `avahi-browse -rpt` looks like
# =;eth0;IPv4;NAME;_idrop._tcp;local;a.local;10.77.0.2;4242;"fp=abc" "v=1"
browse_c() { lan_run c timeout --foreground 5 avahi-browse -rpt _idrop._tcp 2>/dev/null; }
resolved_ok() {
	browse_c | awk -F';' -v n="$svc" -v a="$(lan_addr a)" '
		$1 == "=" && $4 == n && $7 == "a.local" && $8 == a && $9 == "4242" &&
		index($10, "\"v=1\"") && index($10, "\"fp=abc\"") { found = 1 }
		END { exit !found }'
}
if lan_wait_for 8 resolved_ok; then
	lan_ok "c resolves $svc at $(lan_addr a):4242 with TXT v=1 fp=abc ($(ms_since "$t_pub") ms after publish)"
else
	lan_fail "c resolves $svc at a's address, port 4242, TXT"
	browse_c | sed 's/^/#   /' || true
fi

# A second browser on c keeps running, to see the removal event itself.
lan_spawn c "$LAN_DIR/watch.log" avahi-browse -p _idrop._tcp
watch=$LAN_PID
lan_wait_for 5 grep -q "^+;.*;$svc;" "$LAN_DIR/watch.log" || true

# --- clean stop: c must see it gone
t_stop=$(lan__now_us)
rc=0
lan_stop "$pub" TERM 5 || rc=$?
lan_check "publisher exits with status 0 on TERM (got $rc)" test "$rc" = 0

listed_c() {
	lan_run c timeout --foreground 5 avahi-browse -pt _idrop._tcp 2>/dev/null |
		grep -q "^+;[^;]*;IPv4;$svc;"
}
gone_c() { ! listed_c; }
if lan_wait_for 4 grep -q "^-;.*;$svc;" "$LAN_DIR/watch.log"; then
	lan_ok "c's browser got the removal ($(ms_since "$t_stop") ms after stop)"
else
	lan_fail "c's browser got the removal"
fi
if lan_wait_for 3 gone_c; then
	lan_ok "avahi-browse -pt on c no longer lists $svc ($(ms_since "$t_stop") ms after stop)"
else
	lan_fail "avahi-browse -pt on c no longer lists $svc"
fi
rc=0
lan_stop "$watch" || rc=$?

# --- cleanup leaves nothing behind
started=$(awk '{print $1 ":" $2}' "$LAN_DIR/pids")
workdir=$LAN_DIR
t=$(lan__now_us)
lan_cleanup
lan_diag "lan_cleanup: $(ms_since "$t") ms"
lan_check "no namespace left with prefix $prefix" \
	sh -c "! ip netns list | grep -q '^$prefix-'"
alive=""
for ps in $started; do
	if lan__alive "${ps%%:*}" "${ps#*:}"; then alive="$alive ${ps%%:*}"; fi
done
lan_check "no process we started is left (checked: $(echo "$started" | wc -w))" test -z "$alive"
# Builtins only, so that no checking process carries the path in its argv.
no_proc_mentions() {
	local f
	local -a argv
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' -t argv <"$f" 2>/dev/null || continue
		[[ "${argv[*]}" != *"$1"* ]] || { lan_diag "still running: ${argv[*]}"; return 1; }
	done
}
lan_check "no process refers to the work dir" no_proc_mentions "$workdir"
if [[ "${LAN_KEEP:-0}" != 1 ]]; then
	lan_check "work dir removed" test ! -e "$workdir"
fi
lan_cleanup   # idempotent
lan_ok "second lan_cleanup is a no-op"

lan_done
