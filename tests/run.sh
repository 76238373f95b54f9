#!/usr/bin/env bash
# Runs every test against one build (default build/asan): the GTest unit
# binaries, the fuzz corpus replays, the page's scripts in Node, the man
# page lint, the checks of the tree (tests/t_*.sh: what the make targets
# do, the include rules of docs/ARCHITECTURE.md) and the simulated-LAN
# scenarios. Each test
# speaks TAP; this script counts the results and ends with the line
# "N passed, N failed, N skipped", exiting non-zero on any failure.
set -u
BUILD=${1:-build/asan}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
export IDROP_BIN="$TOP/$BUILD/idrop-lan"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
export LSAN_OPTIONS="suppressions=$TOP/tests/lsan.supp:print_suppressions=0"

passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/idrop-tests.XXXXXX")

# Counts the TAP lines of one test program's output; a program that exits
# non-zero without a failing line (a crash, a sanitizer report) counts as
# one more failure.
tally() {
	local name=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
	p=$((p - s))
	if [ "$rc" = 77 ]; then
		echo "  skipped $name: $(grep -m1 -E '^SKIP' "$log" || echo 'no reason given')"
		skipped=$((skipped + 1))
		return
	fi
	grep -E '^(not ok|ok) [0-9]+.*# (SKIP|skip)' "$log" | sed 's/^/    /'
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "  $name exited with status $rc without a failing test: see $log"
		tail -n 30 "$log" | sed 's/^/    | /'
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" != 0 ]; then
		failures+=("$name")
		grep -E '^not ok|Bail out|ERROR|SUMMARY' "$log" | head -n 20 | sed 's/^/    /'
	fi
	echo "  $name: $p passed, $f failed$([ "$s" != 0 ] && echo ", $s skipped")"
}

echo "unit tests ($BUILD)"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=unit/$(basename "$t")
	log=$logdir/$(basename "$t").log
	timeout 300 "$t" --tap >"$log" 2>&1
	tally "$name" "$log" $?
done

echo "fuzz corpus replay"
for t in "$BUILD"/tests/replay_*; do
	[ -x "$t" ] || continue
	n=${t##*/replay_}
	log=$logdir/replay_$n.log
	timeout 300 "$t" "tests/fuzz/corpus/$n" >"$log" 2>&1
	tally "fuzz/$n" "$log" $?
done

echo "page scripts (node, no browser)"
for t in tests/browser/*_test.mjs; do
	[ -f "$t" ] || continue
	name=page/$(basename "$t" .mjs)
	log=$logdir/$(basename "$t").log
	if command -v node >/dev/null 2>&1; then
		timeout 120 node "$t" >"$log" 2>&1
		tally "$name" "$log" $?
	else
		echo "SKIP: no node (make deps installs nodejs)" >"$log"
		tally "$name" "$log" 77
	fi
done

echo "man page"
log=$logdir/man.log
{
	n=0
	check() { n=$((n + 1)); if "$@" >>"$logdir/man.out" 2>&1; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; cat "$logdir/man.out"; fi; }
	desc="mandoc -Tlint is clean"; check mandoc -Tlint -Wwarning man/idrop-lan.1
	desc="man -l renders it with no warning (groff -ww)"; check sh -c '
		out=$(MANPAGER=cat MANWIDTH=80 man -l man/idrop-lan.1 2>&1 >/dev/null) && [ -z "$out" ] &&
		[ -z "$(groff -mdoc -ww -z man/idrop-lan.1 2>&1)" ] &&
		MANPAGER=cat man -l man/idrop-lan.1 | grep -q "^DESCRIPTION"'
	# The command list comes from the binary, so a new command cannot go undocumented.
	cmds=$("$IDROP_BIN" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
	export cmds
	desc="renders and documents every command ($(echo $cmds))"; check sh -c 'out=$(mandoc -Tascii man/idrop-lan.1) && for c in $cmds; do echo "$out" | grep -q "idrop-lan $c" || { echo "man page lacks idrop-lan $c"; exit 1; }; done'
	desc="every command's options appear in the man page"; check sh -c '
		for c in $cmds; do
			for o in $("$IDROP_BIN" $c --help | grep -oE -- "--[a-z-]+" | sort -u); do
				[ "$o" = --help ] && continue
				grep -q -- "Fl ${o#--}" man/idrop-lan.1 || { echo "man page lacks $c $o"; exit 1; }
			done
		done'
} >"$log" 2>&1
tally man "$log" 0

# Checks of the tree itself (what the make targets do, the include rules),
# no namespaces.
echo "tree checks"
for t in tests/t_*.sh; do
	[ -f "$t" ] || continue
	name=tree/$(basename "$t" .sh)
	log=$logdir/$(basename "$t").log
	timeout 300 bash "$t" >"$log" 2>&1
	tally "$name" "$log" $?
done

echo "simulated LAN (network namespaces)"
for t in tests/lan/t_*.sh; do
	name=lan/$(basename "$t" .sh)
	log=$logdir/$(basename "$t").log
	timeout 600 bash "$t" >"$log" 2>&1
	tally "$name" "$log" $?
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $logdir)"
else
	rm -rf "$logdir"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
