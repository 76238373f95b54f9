# shellcheck shell=bash
# tests/lan/lan.sh -- simulated-LAN harness for idrop-lan integration tests.
#
# Source it from a bash test script that runs with `set -eu -o pipefail`:
#
#   . "$(dirname "$0")/lan.sh"
#   lan_init                       # bridge namespace, work dir, cleanup trap
#   lan_add_host a --daemon        # host "a": own netns, 10.77.0.2, dbus + avahi
#   lan_add_host b                 # host "b": 10.77.0.3, no daemons
#   lan_spawn a "$LAN_DIR/pub.log" avahi-publish -s x _idrop._tcp 4242
#   pub=$LAN_PID                   # (never call lan_spawn inside $(...))
#   if lan_wait_for 5 lan_run b some-check; then lan_ok "seen"; else lan_fail "seen"; fi
#   lan_stop "$pub" || true
#   lan_done                       # prints the TAP plan, exits 0/1
#
# Every host is a network namespace "${LAN_PREFIX}-NAME" with one veth (eth0)
# on a private bridge that lives in its own namespace "${LAN_PREFIX}-br".
# Nothing is connected to the outside: traffic stays on 10.77.0.0/24 or lo.
#
# Inside a host (lan_run / lan_spawn): hostname is NAME (own UTS namespace),
# /run is $LAN_DIR/NAME/run (so /run/dbus/system_bus_socket is the host's own
# bus), /etc/resolv.conf points at 127.0.0.1, HOME is $LAN_DIR/NAME/home and
# XDG_RUNTIME_DIR is /run/user/<uid> (XDG_*_HOME unset), so hosts share no
# state by accident. DBUS_SYSTEM_BUS_ADDRESS names the host's bus; the session
# bus address is unset. Processes started with lan_spawn (and the daemons) are
# killed at cleanup; so is anything else still running inside our namespaces.
#
# Do not install your own EXIT/INT/TERM/HUP traps after lan_init (they would
# replace the cleanup trap); call lan_cleanup yourself if you need to.
#
# Environment knobs:
#   LAN_KEEP=1             keep $LAN_DIR (logs, configs) after the run
#   LAN_DAEMON_TIMEOUT=S   how long to wait for dbus/avahi to come up (10)
#   LAN_AVAHI_READY=bus    lan_add_host --daemon returns once avahi-daemon owns
#                          org.freedesktop.Avahi (~0.1 s) instead of once it is
#                          RUNNING with its host name probed (default, ~1 s)
#   LAN_KILL_TIMEOUT=S     grace period between TERM and KILL at cleanup (3)
#   LAN_LOG_TAIL=N         on failure, show the last N lines of each log (15)
#   LAN_SHARED_HOME=1      keep the caller's HOME/XDG_*_HOME inside hosts
#
# Exit statuses: 0 pass, 1 failure, 77 skip (not root / no netns support).

# ---------------------------------------------------------------- state

LAN_PREFIX=""
LAN_DIR=""
LAN_PID=""
LAN__STATE=""           # "" never initialised, "up", "clean"
LAN__NEXT_IP=2
LAN__TAP_N=0
LAN__TAP_FAILED=0
LAN__NSES=()            # namespaces we created, in order
LAN__CMD=()
declare -gA LAN__ADDR=() LAN__DAEMON_PIDS=()

LAN_SUBNET=10.77.0

# ---------------------------------------------------------------- small helpers

lan_diag() { printf '# %s\n' "$*"; }
# Our messages go to the test's stderr as saved at source time (fd LAN__ERRFD),
# so that blocks which silence bash's own "Killed" job reports keep them.
exec {LAN__ERRFD}>&2
lan__err() { printf 'lan.sh: %s\n' "$*" >&"$LAN__ERRFD"; }
lan__die() { lan__err "$*"; exit 1; }

# Skip the whole test (the runner counts 77 as skipped).
lan_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# lan_idrop_serve HOST NAME ARGS...: starts `$IDROP_BIN serve ARGS` on HOST,
# logging to $LAN_DIR/NAME.log, and waits until it is advertised (a failed
# check otherwise); its PID is in LAN_PID.
lan_idrop_serve() {
	local host=$1 name=$2
	shift 2
	lan_spawn "$host" "$LAN_DIR/$name.log" "$IDROP_BIN" serve "$@"
	lan_wait_for 10 grep -q '^advertised:' "$LAN_DIR/$name.log" || lan_fail "serve $name on $host advertised"
}

# lan_idrop_send HOST NAME ARGS...: one `$IDROP_BIN send --timeout 20 ARGS`
# on HOST, bounded, output in $LAN_DIR/NAME.log; its exit status in LAN_RC,
# and the end of its output as a diagnostic.
lan_idrop_send() {
	local host=$1 name=$2
	shift 2
	LAN_RC=0
	lan_run "$host" timeout 60 "$IDROP_BIN" send --timeout 20 "$@" >"$LAN_DIR/$name.log" 2>&1 || LAN_RC=$?
	lan_diag "$name: rc=$LAN_RC $(tail -n 3 "$LAN_DIR/$name.log" | tr '\n' '|' | cut -c1-300)"
}

# lan_require_iptables WHAT: skips the test unless some iptables command is
# installed; LAN_IPTS lists them in the order lan_iptables tries them.
lan_require_iptables() {
	local c
	LAN_IPTS=()
	for c in iptables-legacy iptables-nft iptables; do
		command -v "$c" >/dev/null 2>&1 && LAN_IPTS+=("$c")
	done
	[[ ${#LAN_IPTS[@]} -gt 0 ]] || lan_skip "no iptables (Debian package iptables) $1"
}

# lan_iptables HOST WHAT ARGS...: runs `iptables ARGS` on HOST with the first
# variant the kernel takes (legacy needs the ip_tables/iptable_nat modules,
# nft its nf_tables one) and names it in LAN_IPT; when none does, fails the
# test saying it could not install WHAT, and ends it.
lan_iptables() {
	local host=$1 what=$2 c
	shift 2
	LAN_IPT=""
	for c in "${LAN_IPTS[@]}"; do
		if lan_run "$host" "$c" "$@" 2>>"$LAN_DIR/iptables.err"; then LAN_IPT=$c; return 0; fi
	done
	lan_fail "install $what on $host with any of ${LAN_IPTS[*]}: $(tail -n 2 "$LAN_DIR/iptables.err")"
	lan_done
}

# lan_aiortc_offer HOST: prints a genuine SDP offer from aiortc on HOST (an
# "idrop" channel, real candidates) whose process is gone at once: nothing
# ever answers ICE for it, so a device that takes it holds a half-open
# connection. Needs python3-aiortc.
lan_aiortc_offer() {
	lan_run "$1" timeout 20 /usr/bin/python3 -c '
import asyncio
from aiortc import RTCPeerConnection
async def main():
    pc = RTCPeerConnection()
    pc.createDataChannel("idrop", protocol="idrop/1")
    await pc.setLocalDescription(await pc.createOffer())
    print(pc.localDescription.sdp, end="")
    await pc.close()
asyncio.run(main())'
}

# lan_fake_offer FILE ADDR:PORT...: writes to FILE a minimal browser-shaped
# SDP offer (a random fingerprint, one host candidate per ADDR:PORT, in
# order of falling priority). Nothing answers ICE or DTLS for it: it is for
# watching where a device sends its checks.
lan_fake_offer() {
	local out=$1 fp i=1 cand=()
	shift
	fp=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/../&:/g; s/:$//' | tr a-f A-F)
	for c in "$@"; do
		cand+=("a=candidate:$i 1 udp $((2122260224 - i)) ${c%:*} ${c##*:} typ host")
		i=$((i + 1))
	done
	printf '%s\r\n' "v=0" "o=- 1 2 IN IP4 127.0.0.1" "s=-" "t=0 0" "a=group:BUNDLE 0" \
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel" "c=IN IP4 0.0.0.0" "a=mid:0" \
		"a=ice-ufrag:abcd" "a=ice-pwd:abcdefghijklmnopqrstuv" "a=fingerprint:sha-256 $fp" \
		"a=setup:actpass" "a=sctp-port:5000" "a=max-message-size:262144" \
		"${cand[@]}" "a=end-of-candidates" >"$out"
}

# lan_require CMD...: skip unless every command exists.
lan_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || lan_skip "missing command: $c"
	done
}

# lan_require_browser: skip unless the headless-browser tests can run:
# Debian's Chromium, node, and tests/browser/node_modules (make deps
# installs all three).
lan_require_browser() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	[[ -x /usr/bin/chromium ]] || lan_skip "no /usr/bin/chromium (make deps installs it)"
	command -v node >/dev/null 2>&1 || lan_skip "no node (make deps installs nodejs)"
	[[ -f "$top/tests/browser/node_modules/playwright-core/package.json" ]] ||
		lan_skip "no tests/browser/node_modules (make deps runs npm ci)"
}

# Microseconds since the epoch (locale-proof).
lan__now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "$((10#$t))"; }

lan__in_main_shell() {
	[[ "$BASHPID" == "$$" ]] ||
		lan__die "$1 must run in the test's main shell, not in a subshell or \$(...)"
}

lan__need_init() {
	[[ "$LAN__STATE" == up ]] || lan__die "$1: call lan_init first"
}

lan__valid_name() {
	[[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,30}$ && "$1" != br ]] ||
		lan__die "bad host name '$1' (want [a-z0-9-], 1-31 chars, not 'br')"
}

# Start time (clock ticks since boot) of a live, non-zombie PID, else fails.
# A PID plus its start time names one process even if the PID is reused.
lan__starttime() {
	local stat rest
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	rest=${stat##*) }             # fields after "(comm) ", comm may hold spaces
	local -a f
	read -r -a f <<<"$rest"
	[[ "${f[0]}" != Z && "${f[0]}" != X ]] || return 1
	echo "${f[19]}"               # field 22 of stat = index 19 after comm
}

# lan__alive PID STARTTIME: the very process we started is still running.
lan__alive() {
	local st
	st=$(lan__starttime "$1") || return 1
	[[ -z "$2" || "$st" == "$2" ]]
}

# ---------------------------------------------------------------- traps

lan__on_exit() {
	local rc=$?
	trap - EXIT
	if [[ "$LAN__STATE" == up && $rc -ne 0 && $rc -ne 77 ]]; then
		lan_diag "exit status $rc; work dir $LAN_DIR"
		lan__show_logs
	fi
	lan_cleanup
	exit "$rc"
}

lan__on_signal() {
	local sig=$1 rc=$2
	trap '' INT TERM
	lan_diag "caught SIG$sig, cleaning up"
	lan_cleanup
	trap - EXIT INT TERM HUP
	# Die by the same signal so a calling shell/runner sees it.
	kill -s "$sig" "$$" 2>/dev/null
	exit "$rc"
}

lan__install_traps() {
	trap lan__on_exit EXIT
	trap 'lan__on_signal INT 130' INT
	trap 'lan__on_signal TERM 143' TERM
	trap 'lan__on_signal HUP 129' HUP
}

lan__show_logs() {
	local n=${LAN_LOG_TAIL:-15} f
	[[ -n "$LAN_DIR" && -d "$LAN_DIR" && "$n" -gt 0 ]] || return 0
	for f in "$LAN_DIR"/*.log "$LAN_DIR"/*/*.log; do
		[[ -s "$f" ]] || continue
		lan_diag "--- tail of ${f#"$LAN_DIR"/}"
		tail -n "$n" "$f" | sed 's/^/#   /'
	done
}

# ---------------------------------------------------------------- lan_init

lan_init() {
	lan__in_main_shell lan_init
	[[ -z "$LAN__STATE" ]] || lan__die "lan_init called twice"

	[[ "$(id -u)" == 0 ]] || lan_skip "needs root (network namespaces)"
	local c
	for c in ip unshare mount hostname; do
		command -v "$c" >/dev/null 2>&1 || lan_skip "missing command: $c"
	done

	# Unique per-run prefix; names stay short ("il1a2b3c-br" = 11 chars).
	local i existing
	existing=$(ip netns list 2>/dev/null | awk '{print $1}') || existing=""
	for i in 1 2 3 4 5 6 7 8; do
		LAN_PREFIX=$(printf 'il%06x' $((SRANDOM & 0xffffff)))
		grep -q "^${LAN_PREFIX}-" <<<"$existing" || break
	done

	local tmp=${TMPDIR:-/tmp}
	case "$(readlink -f "$tmp")" in
	/run | /run/*) tmp=/tmp ;; # /run is replaced inside every host
	esac
	LAN_DIR=$(mktemp -d "$tmp/idrop-lan.$LAN_PREFIX.XXXXXX") ||
		lan__die "cannot create work dir under $tmp"
	: >"$LAN_DIR/pids"
	LAN__STATE=up
	lan__install_traps

	local br="${LAN_PREFIX}-br"
	if ! ip netns add "$br" 2>"$LAN_DIR/netns.err"; then
		lan_skip "ip netns does not work here: $(head -n1 "$LAN_DIR/netns.err")"
	fi
	LAN__NSES+=("$br")
	if ! ip netns exec "$br" true 2>"$LAN_DIR/netns.err"; then
		lan_skip "ip netns exec does not work here: $(head -n1 "$LAN_DIR/netns.err")"
	fi
	if ! ip netns exec "$br" unshare --uts -- hostname lan-probe 2>"$LAN_DIR/netns.err"; then
		lan_skip "cannot make a UTS namespace here: $(head -n1 "$LAN_DIR/netns.err")"
	fi
	if ! ip -n "$br" link add br0 type bridge \
		stp_state 0 forward_delay 0 mcast_snooping 0 2>"$LAN_DIR/netns.err"; then
		lan_skip "cannot create a bridge: $(head -n1 "$LAN_DIR/netns.err")"
	fi
	ip -n "$br" link set lo up
	ip -n "$br" link set br0 up
	# A LAN switch does not run frames through iptables; with br_netfilter
	# loaded on the host, this bridge would (per packet, for every test).
	local k
	for k in iptables ip6tables arptables; do
		ip netns exec "$br" sysctl -qw "net.bridge.bridge-nf-call-$k=0" 2>/dev/null || true
	done
	rm -f "$LAN_DIR/netns.err"
}

# ---------------------------------------------------------------- hosts

# lan_add_host NAME [--daemon]
lan_add_host() {
	lan__in_main_shell lan_add_host
	lan__need_init lan_add_host
	local name=${1:-} daemon=0
	[[ $# -ge 1 ]] || lan__die "usage: lan_add_host NAME [--daemon]"
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--daemon) daemon=1 ;;
		*) lan__die "lan_add_host: unknown option $1" ;;
		esac
		shift
	done
	lan__valid_name "$name"
	[[ -z "${LAN__ADDR[$name]:-}" ]] || lan__die "host $name exists already"
	[[ $LAN__NEXT_IP -le 254 ]] || lan__die "out of addresses"

	local n=$LAN__NEXT_IP ns="${LAN_PREFIX}-$name" br="${LAN_PREFIX}-br"
	local hd="$LAN_DIR/$name" port="p$n" addr="$LAN_SUBNET.$n"
	LAN__NEXT_IP=$((n + 1))

	mkdir -p "$hd/run/dbus" "$hd/run/avahi-daemon" "$hd/run/user/$(id -u)" \
		"$hd/home" "$hd/etc-avahi-services"
	chmod 0700 "$hd/run/user/$(id -u)"
	echo "nameserver 127.0.0.1" >"$hd/resolv.conf"
	: >"$hd/etc-avahi-hosts"

	ip netns add "$ns" || lan__die "ip netns add $ns failed"
	LAN__NSES+=("$ns")
	ip link add eth0 netns "$ns" type veth peer name "$port" netns "$br" ||
		lan__die "cannot create veth pair for $name"
	ip -n "$br" link set "$port" master br0
	ip -n "$br" link set "$port" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default dev eth0
	LAN__ADDR[$name]=$addr

	if [[ $daemon == 1 ]]; then
		lan__start_bus "$name"
		lan__wait_bus "$name"
		lan__start_avahi "$name"
		lan__wait_avahi "$name"
	fi
}

# lan_add_hosts [--daemon] NAME...: like lan_add_host for each NAME, but the
# daemons of all hosts start and come up in parallel (faster).
lan_add_hosts() {
	local daemon=0 name
	if [[ "${1:-}" == --daemon ]]; then daemon=1; shift; fi
	for name in "$@"; do lan_add_host "$name"; done
	[[ $daemon == 1 ]] || return 0
	for name in "$@"; do lan__start_bus "$name"; done
	for name in "$@"; do lan__wait_bus "$name"; done
	for name in "$@"; do lan__start_avahi "$name"; done
	for name in "$@"; do lan__wait_avahi "$name"; done
}

lan__start_bus() {
	local name=$1 hd="$LAN_DIR/$1"
	cat >"$hd/dbus.conf" <<-'EOF'
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>unix:path=/run/dbus/system_bus_socket</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow user="*"/>
	    <allow own="*"/>
	    <allow send_type="method_call"/>
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	  </policy>
	</busconfig>
	EOF
	lan_spawn "$name" "$hd/dbus.log" \
		dbus-daemon --config-file="$hd/dbus.conf" --nofork --nopidfile
	LAN__DAEMON_PIDS[$name.dbus]=$LAN_PID
}

lan__start_avahi() {
	local name=$1 hd="$LAN_DIR/$1"
	cat >"$hd/avahi-daemon.conf" <<-EOF
	[server]
	host-name=$name
	use-ipv4=yes
	use-ipv6=no
	allow-interfaces=eth0
	enable-dbus=yes
	disallow-other-stacks=no
	ratelimit-interval-usec=1000000
	ratelimit-burst=10000

	[wide-area]
	enable-wide-area=no

	[publish]
	publish-workstation=no
	publish-hinfo=no
	publish-aaaa-on-ipv4=no
	publish-a-on-ipv6=no

	[reflector]
	enable-reflector=no

	[rlimits]
	EOF
	# Empty static services/hosts, so nothing from /etc/avahi leaks in.
	LAN__EXTRA_BINDS="$hd/etc-avahi-services:/etc/avahi/services $hd/etc-avahi-hosts:/etc/avahi/hosts" \
		lan_spawn "$name" "$hd/avahi.log" \
		avahi-daemon -f "$hd/avahi-daemon.conf" \
		--no-drop-root --no-chroot --no-rlimits --no-proc-title
	LAN__DAEMON_PIDS[$name.avahi]=$LAN_PID
}

# lan__wait_daemon NAME KIND DESC CHECK...: poll CHECK every 50 ms while the
# daemon lives; bounded by LAN_DAEMON_TIMEOUT. Fails loudly with the log.
lan__wait_daemon() {
	local name=$1 kind=$2 desc=$3
	shift 3
	local pid=${LAN__DAEMON_PIDS[$name.$kind]} log="$LAN_DIR/$name/$kind.log"
	local limit=$(( ${LAN_DAEMON_TIMEOUT:-10} * 1000000 ))
	local t0 i
	t0=$(lan__now_us)
	for ((i = 0; i < 100000; i++)); do
		if "$@"; then return 0; fi
		if ! lan__alive "$pid" ""; then
			lan__err "host $name: $kind daemon exited before $desc; log $log:"
			tail -n 30 "$log" | sed 's/^/    /' >&2
			exit 1
		fi
		if (($(lan__now_us) - t0 > limit)); then
			lan__err "host $name: no $desc after ${LAN_DAEMON_TIMEOUT:-10}s; log $log:"
			tail -n 30 "$log" | sed 's/^/    /' >&2
			exit 1
		fi
		sleep 0.05
	done
	lan__die "host $name: wait loop exhausted"
}

lan__wait_bus() {
	lan__wait_daemon "$1" dbus "bus socket" \
		test -S "$LAN_DIR/$1/run/dbus/system_bus_socket"
}

# Ready = "Server startup complete. Host name is NAME.local": the daemon owns
# org.freedesktop.Avahi on the bus (so avahi_client_new() succeeds) and has
# finished probing its host name (so it is in state RUNNING).
lan__avahi_up() {
	local log="$LAN_DIR/$1/avahi.log"
	if grep -q 'Host name conflict' "$log" 2>/dev/null; then
		lan__err "host $1: avahi host name conflict (another responder named $1?)"
		tail -n 30 "$log" | sed 's/^/    /' >&2
		exit 1
	fi
	grep -q "^Server startup complete\. Host name is $1\.local\." "$log" 2>/dev/null
}

# With LAN_AVAHI_READY=bus, only wait until the daemon owns its bus name
# (~0.1 s instead of ~1 s): clients then see it in state REGISTERING first.
lan__avahi_on_bus() {
	lan__avahi_up "$1" && return 0
	lan_run "$1" dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		string:org.freedesktop.Avahi 2>/dev/null | grep -q 'boolean true'
}

lan__wait_avahi() {
	if [[ "${LAN_AVAHI_READY:-running}" == bus ]] && command -v dbus-send >/dev/null; then
		lan__wait_daemon "$1" avahi "avahi on the bus" lan__avahi_on_bus "$1"
	else
		lan__wait_daemon "$1" avahi "server startup" lan__avahi_up "$1"
	fi
}

# lan_addr NAME: the host's IPv4 address.
lan_addr() {
	local a=${LAN__ADDR[${1:-}]:-}
	[[ -n "$a" ]] || lan__die "lan_addr: no host '${1:-}'"
	echo "$a"
}

# lan_hosts: names of all hosts, one a line.
lan_hosts() {
	local n
	for n in "${!LAN__ADDR[@]}"; do echo "$n"; done | sort
}

# ---------------------------------------------------------------- running things

# lan__enter NAME CMD...: set LAN__CMD to the command line that runs CMD in
# host NAME (see lan_run). LAN__EXTRA_BINDS may hold "SRC:DST ..." pairs to
# bind in addition (used for the daemons).
# shellcheck disable=SC2016  # expanded by the inner sh
LAN__ENTER_SCRIPT='
hd=$1 name=$2 uid=$3 extra=$4 ownhome=$5
shift 5
mount --bind "$hd/run" /run &&
mount --bind "$hd/resolv.conf" /etc/resolv.conf &&
hostname "$name" || { echo "lan.sh: cannot enter host $name" >&2; exit 125; }
for b in $extra; do
	mount --bind "${b%%:*}" "${b#*:}" || { echo "lan.sh: cannot bind $b" >&2; exit 125; }
done
if [ "$ownhome" = 1 ]; then
	HOME=$hd/home
	export HOME
	unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_STATE_HOME
fi
XDG_RUNTIME_DIR=/run/user/$uid
DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
export XDG_RUNTIME_DIR DBUS_SYSTEM_BUS_ADDRESS
unset DBUS_SESSION_BUS_ADDRESS
exec "$@"'

lan__enter() {
	local name=$1
	shift
	lan__need_init lan_run
	[[ -n "${LAN__ADDR[$name]:-}" ]] || lan__die "no host '$name'"
	[[ $# -ge 1 ]] || lan__die "lan_run/lan_spawn: no command given"
	LAN__CMD=(ip netns exec "${LAN_PREFIX}-$name" unshare --uts --
		sh -c "$LAN__ENTER_SCRIPT" sh
		"$LAN_DIR/$name" "$name" "$(id -u)" "${LAN__EXTRA_BINDS:-}"
		"$([[ "${LAN_SHARED_HOME:-0}" == 1 ]] && echo 0 || echo 1)" "$@")
}

# lan_run NAME CMD...: run CMD in host NAME in the foreground; returns its
# status. A long-running CMD delays signal handling (bash runs traps after a
# foreground child ends): bound it, e.g. `lan_run a timeout 20 cmd`.
lan_run() {
	local name=${1:-}
	shift || true
	lan__enter "$name" "$@"
	"${LAN__CMD[@]}" {LAN__ERRFD}>&-
}

# lan_spawn NAME LOGFILE CMD...: start CMD in host NAME in the background,
# stdout+stderr to LOGFILE, stdin from /dev/null. Sets LAN_PID (the PID stays
# the command's own PID through the execs). Call it directly, never inside
# $(...) or a pipeline: the process must be a child of the test's shell for
# lan_stop to get its exit status.
lan_spawn() {
	lan__in_main_shell lan_spawn
	lan__need_init lan_spawn
	[[ $# -ge 3 ]] || lan__die "usage: lan_spawn NAME LOGFILE CMD..."
	local name=$1 log=$2 st
	shift 2
	[[ -n "${LAN__ADDR[$name]:-}" ]] || lan__die "lan_spawn: no host '$name'"
	lan__enter "$name" "$@"
	(exec {LAN__ERRFD}>&- && exec "${LAN__CMD[@]}") >"$log" 2>&1 </dev/null &
	LAN_PID=$!
	st=$(lan__starttime "$LAN_PID") || st=""
	printf '%s %s %s %s\n' "$LAN_PID" "${st:--}" "$name" "$*" >>"$LAN_DIR/pids"
}

# lan_sshd NAME: start OpenSSH's sshd on host NAME, port 2222, root by key
# only, AES-128-GCM only (the baseline the benchmarks compare with). Sets
# LAN_PID, and LAN_SSH (the options an ssh or scp client needs).
lan_sshd() {
	local name=${1:-} addr
	[[ -n "${LAN__ADDR[$name]:-}" ]] || lan__die "lan_sshd: no host '$name'"
	addr=${LAN__ADDR[$name]}
	ssh-keygen -q -t ed25519 -N '' -f "$LAN_DIR/sshd-$name-hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$LAN_DIR/sshd-$name-userkey"
	cp "$LAN_DIR/sshd-$name-userkey.pub" "$LAN_DIR/sshd-$name-authorized_keys"
	printf '%s\n' "Port 2222" "ListenAddress $addr" "HostKey $LAN_DIR/sshd-$name-hostkey" \
		"AuthorizedKeysFile $LAN_DIR/sshd-$name-authorized_keys" "PermitRootLogin prohibit-password" \
		"StrictModes no" "PasswordAuthentication no" "UsePAM no" "PidFile none" \
		"Ciphers aes128-gcm@openssh.com" "Subsystem sftp internal-sftp" \
		"SetEnv HOME=$LAN_DIR/sshd-$name-home" >"$LAN_DIR/sshd-$name-config"
	# The remote command runs through root's shell, and Debian's bash reads
	# ~/.bashrc when started by sshd: a heavy one (a version manager's
	# init, 0.7 s and 170 processes per connection here) would be timed as
	# the baseline's. An empty HOME gives scp and tar a plain shell.
	mkdir -p "$LAN_DIR/sshd-$name-home"
	mkdir -p "$LAN_DIR/$name/run/sshd"   # the host's /run: sshd's privilege-separation dir
	chmod 0755 "$LAN_DIR/$name/run/sshd"
	lan_spawn "$name" "$LAN_DIR/sshd-$name.log" /usr/sbin/sshd -D -e -f "$LAN_DIR/sshd-$name-config"
	LAN_SSH=(-i "$LAN_DIR/sshd-$name-userkey" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-c aes128-gcm@openssh.com)
	sleep 0.5
}

# CPU accounting for benchmarks: one cgroup v2 per NAME under a folder of
# this run, whose cpu.stat usage_usec counts user+sys time of every process
# and thread ever in it (children stay in their parent's cgroup), also of
# those that have ended. Kernel threads (write-back, loop devices) are
# counted nowhere; softirq work (the veth's receive path) is counted to
# whichever process the CPU was running.
# lan_cg_init NAME...: makes them; returns 1 (and lan_cg_usec says 0) where
# no writable cgroup2 is mounted. Removed at cleanup (they must be empty:
# stop the processes put there first; lan_stop does).
LAN_CG=""
lan_cg_init() {
	local root n
	lan__need_init lan_cg_init
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [[ -z "$root" ]] || ! mkdir "$root/idrop-lan-$LAN_PREFIX" 2>/dev/null; then
		LAN_CG=""
		return 1
	fi
	LAN_CG=$root/idrop-lan-$LAN_PREFIX
	lan_on_cleanup "rmdir '$LAN_CG'"
	for n in "$@"; do
		lan__valid_name "$n"
		mkdir "$LAN_CG/$n"
		lan_on_cleanup "rmdir '$LAN_CG/$n'"
	done
}
# lan_cg_add NAME PID: moves PID (all its threads) into cgroup NAME; its
# later children start there. `(lan_cg_add b "$BASHPID" && lan_run b CMD)`
# counts a whole command.
lan_cg_add() { [[ -z "$LAN_CG" ]] || echo "$2" >"$LAN_CG/$1/cgroup.procs"; }
# lan_cg_usec NAME: user+sys microseconds of cgroup NAME so far (0 without
# cgroups).
lan_cg_usec() {
	if [[ -n "$LAN_CG" ]]; then awk '$1 == "usage_usec" { print $2 }' "$LAN_CG/$1/cpu.stat"; else echo 0; fi
}

# lan_stop PID [SIGNAL] [TIMEOUT_S]: signal a spawned process (default TERM),
# wait up to TIMEOUT_S (default 5) for it to end, then SIGKILL it. Returns its
# exit status (128+n if killed by signal n). Under set -e use
# `lan_stop "$pid" || rc=$?` when a non-zero status is expected.
lan_stop() {
	local pid=${1:-} sig=${2:-TERM} timeout=${3:-5} st rc=0 i
	[[ "$pid" =~ ^[0-9]+$ ]] || lan__die "usage: lan_stop PID [SIGNAL] [TIMEOUT_S]"
	st=$(lan__recorded_starttime "$pid")
	if lan__alive "$pid" "$st"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
	fi
	local t0 limit=$((timeout * 1000000))
	t0=$(lan__now_us)
	{
		for ((i = 0; i < 100000; i++)); do
			lan__alive "$pid" "$st" || break
			if (($(lan__now_us) - t0 > limit)); then
				lan__err "lan_stop: $pid still running after ${timeout}s, sending KILL"
				kill -s KILL "$pid" || true
				break
			fi
			sleep 0.05
		done
		wait "$pid" || rc=$?
	} 2>/dev/null
	return "$rc"
}

lan__recorded_starttime() {
	local p s _
	[[ -f "$LAN_DIR/pids" ]] || return 0
	while read -r p s _; do
		if [[ "$p" == "$1" ]]; then
			[[ "$s" == - ]] || echo "$s"
			return 0
		fi
	done <"$LAN_DIR/pids"
}

# lan_json EXPR: the last line of stdin as JSON, bound to d, and EXPR of it
# printed (Python): what `send --json` and the page drivers end with.
lan_json() {
	/usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"
}

# lan_wait_for TIMEOUT_S CMD...: re-run CMD every 100 ms until it succeeds
# (returns 0) or TIMEOUT_S seconds have passed (returns 1).
lan_wait_for() {
	local timeout=${1:-}
	shift || true
	[[ "$timeout" =~ ^[0-9]+(\.[0-9]+)?$ && $# -ge 1 ]] ||
		lan__die "usage: lan_wait_for TIMEOUT_S CMD..."
	local limit t0 i max
	limit=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000000 }')
	max=$((limit / 100000 + 2))  # bound in count too (CMD may be instant)
	t0=$(lan__now_us)
	for ((i = 0; i < max; i++)); do
		if "$@"; then return 0; fi
		(($(lan__now_us) - t0 < limit)) || return 1
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- cleanup

# lan_cleanup: end every process we started (by PID), then any process left
# inside our namespaces, delete the namespaces and the work dir (kept with
# LAN_KEEP=1). Idempotent; signals are held off while it runs.
# lan_on_cleanup CMD: run CMD (a shell string) at cleanup, after every
# process ended and before the work dir goes: undo what the test set up
# outside the namespaces (e.g. umount a tmpfs it mounted in $LAN_DIR).
LAN__UNDO=()
lan_on_cleanup() {
	LAN__UNDO+=("$1")
}

lan_cleanup() {
	[[ "$LAN__STATE" == up ]] || return 0
	trap '' INT TERM HUP
	local -a pids=() sts=()
	local p s _ i ns
	if [[ -f "$LAN_DIR/pids" ]]; then
		while read -r p s _; do
			[[ "$s" == - ]] && s=""
			pids=("$p" "${pids[@]}")   # newest first
			sts=("$s" "${sts[@]}")
		done <"$LAN_DIR/pids"
	fi
	for i in "${!pids[@]}"; do
		if lan__alive "${pids[$i]}" "${sts[$i]}"; then
			kill -s TERM "${pids[$i]}" 2>/dev/null || true
		fi
	done
	{
		lan__reap_all pids sts
		for i in "${!pids[@]}"; do
			wait "${pids[$i]}" || true
		done
	} 2>/dev/null

	# Whatever still lives in our namespaces (children a test program forked
	# and left behind) was started by this run too: end it by PID.
	local -a stray=() stray_st=()
	for ns in "${LAN__NSES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			s=$(lan__starttime "$p") || continue
			stray+=("$p")
			stray_st+=("$s")
		done
	done
	if [[ ${#stray[@]} -gt 0 ]]; then
		lan__err "cleanup: ${#stray[@]} leftover process(es) in our namespaces: ${stray[*]}"
		for i in "${!stray[@]}"; do
			kill -s TERM "${stray[$i]}" 2>/dev/null || true
		done
		lan__reap_all stray stray_st 2>/dev/null
	fi

	# The test's own undo steps (umount of a tmpfs it mounted), newest first.
	for ((i = ${#LAN__UNDO[@]} - 1; i >= 0; i--)); do
		eval "${LAN__UNDO[$i]}" 2>/dev/null || lan__err "cleanup: '${LAN__UNDO[$i]}' failed"
	done
	LAN__UNDO=()

	# Hosts first, the bridge namespace last (it is first in the list).
	for ((i = ${#LAN__NSES[@]} - 1; i >= 0; i--)); do
		ip netns del "${LAN__NSES[$i]}" 2>/dev/null || true
	done
	# Anything with our prefix that a half-finished step left behind.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		if [[ "$ns" == "${LAN_PREFIX}-"* ]]; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done

	if [[ "${LAN_KEEP:-0}" == 1 ]]; then
		lan_diag "LAN_KEEP=1: kept $LAN_DIR"
	elif [[ -n "$LAN_DIR" && "$LAN_DIR" == */idrop-lan."$LAN_PREFIX".* && -d "$LAN_DIR" ]]; then
		rm -rf -- "$LAN_DIR"
	fi
	LAN__STATE=clean
	lan__install_traps
}

# lan__reap_all PIDS_ARRAY STARTTIMES_ARRAY: wait (bounded by
# LAN_KILL_TIMEOUT) for them to end after TERM, then KILL the rest.
lan__reap_all() {
	local -n _p=$1 _s=$2
	local t0 i j left limit=$(( ${LAN_KILL_TIMEOUT:-3} * 1000000 ))
	t0=$(lan__now_us)
	for ((j = 0; j < 100000; j++)); do
		left=0
		for i in "${!_p[@]}"; do
			if lan__alive "${_p[$i]}" "${_s[$i]}"; then left=$((left + 1)); fi
		done
		[[ $left -gt 0 ]] || return 0
		(($(lan__now_us) - t0 < limit)) || break
		sleep 0.05
	done
	for i in "${!_p[@]}"; do
		if lan__alive "${_p[$i]}" "${_s[$i]}"; then
			lan__err "cleanup: pid ${_p[$i]} ignored TERM, sending KILL"
			kill -s KILL "${_p[$i]}" 2>/dev/null || true
		fi
	done
	for ((j = 0; j < 40; j++)); do   # KILL is prompt; bound the wait anyway
		left=0
		for i in "${!_p[@]}"; do
			if lan__alive "${_p[$i]}" "${_s[$i]}"; then left=$((left + 1)); fi
		done
		[[ $left -gt 0 ]] || return 0
		sleep 0.05
	done
}

# ---------------------------------------------------------------- TAP helpers

lan_ok() {
	LAN__TAP_N=$((LAN__TAP_N + 1))
	printf 'ok %d - %s\n' "$LAN__TAP_N" "$*"
}

lan_fail() {
	LAN__TAP_N=$((LAN__TAP_N + 1))
	LAN__TAP_FAILED=$((LAN__TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$LAN__TAP_N" "$*"
}

# lan_check "description" CMD...: ok if CMD succeeds, not ok otherwise.
lan_check() {
	local desc=$1
	shift
	if "$@"; then lan_ok "$desc"; else lan_fail "$desc"; fi
}

# lan_done: print the plan; exit 1 if any check failed (or none ran), else 0.
lan_done() {
	printf '1..%d\n' "$LAN__TAP_N"
	if [[ $LAN__TAP_FAILED -gt 0 ]]; then
		lan_diag "failed $LAN__TAP_FAILED of $LAN__TAP_N"
		exit 1
	fi
	[[ $LAN__TAP_N -gt 0 ]] || { lan_diag "no checks ran"; exit 1; }
	exit 0
}
