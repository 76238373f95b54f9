#!/bin/bash
# What each make target may install. A plain `make` and `make install`
# build and copy the program and nothing else: no recipe of theirs calls
# apt-get, dpkg, npm or go (dry runs, `make -n -B`, so every recipe line
# shows). `make run` reaches the build and run packages, `make test` and
# `make bench` everything the tests need, `make fuzz` no browser. With a
# build package missing, `make` stops with one line that names it, and
# calls no installer (for real, under a PATH where every installer is a
# trap). Speaks TAP; needs no root and no network.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t_make.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# Run from `make test`, make's own flags (-n, -k, the jobserver) must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
command -v make >/dev/null || { echo "SKIP: no make"; exit 77; }

n=0 failed=0
check() { # check DESC CMD...: one TAP line
	local desc=$1; shift
	n=$((n + 1))
	if "$@" >"$TMP/why" 2>&1; then echo "ok $n - $desc"; else
		echo "not ok $n - $desc"; sed 's/^/# /' "$TMP/why"; failed=$((failed + 1)); fi
}
# The recipe lines of a dry run that call an installer: as a command word
# (line start, after ; & | ( or `), with or without a path.
INSTALLERS='(^|[;&|(`]|then|do|else)[[:space:]]*([^[:space:]]*/)?(apt-get|apt|dpkg|dpkg-query|npm|go|sudo)([[:space:]]|$)'
no_installer() { ! grep -E "$INSTALLERS" "$1"; }
has() { grep -qE -- "$2" "$1" || { echo "no line matching '$2' in:"; head -n 20 "$1"; false; }; }
lacks() { ! grep -E -- "$2" "$1"; }
dry() { # dry OUT ARGS...: make -n, status checked
	local out=$1; shift
	make -C "$TOP" --no-print-directory -n "$@" >"$TMP/$out" 2>&1 || { echo "make -n $* failed:"; cat "$TMP/$out"; return 1; }
}

D=$TMP/dest
check "make -n -B all runs" dry all -B all BUILD="$TMP/build"
check "make -n -B all compiles and links idrop-lan" has "$TMP/all" "-o $TMP/build/idrop-lan "
check "make -n -B all calls no apt-get, dpkg, npm or go" no_installer "$TMP/all"
check "make -n -B install DESTDIR=... runs" dry install -B install BUILD="$TMP/build" DESTDIR="$D" PREFIX=/usr
check "make install copies the binary and the man page under DESTDIR/PREFIX" sh -c \
	"grep -q -- ' $D/usr/bin/idrop-lan\$' '$TMP/install' && grep -q -- ' $D/usr/share/man/man1/idrop-lan.1\$' '$TMP/install'"
check "make install installs nothing outside DESTDIR" lacks "$TMP/install" "^install .* /(usr|etc|var)/"
check "make -n -B install calls no apt-get, dpkg, npm or go" no_installer "$TMP/install"

# The installing targets: their dry runs show the installer's recipe
# (deps-deb, deps-run, deps-build) with the package list it checks; -W
# makes npm ci show even where it has run already.
check "make -n test reaches the deps target (apt-get, npm ci)" sh -c \
	"make -C '$TOP' --no-print-directory -n -W tests/browser/package-lock.json test >'$TMP/test' 2>&1; grep -q 'apt-get install' '$TMP/test' && grep -q 'chromium' '$TMP/test' && grep -q 'npm ci' '$TMP/test' || { tail -n 20 '$TMP/test'; exit 1; }"
check "make -n test builds and runs the suite after the deps" has "$TMP/test" "tests/run.sh build/asan"
check "make -n bench reaches the deps target" sh -c \
	"make -C '$TOP' --no-print-directory -n bench >'$TMP/bench' 2>&1; grep -q 'apt-get install' '$TMP/bench' && grep -q 'iperf3' '$TMP/bench'"
check "make -n run reaches deps-run: build and run packages, no test tool" sh -c \
	"make -C '$TOP' --no-print-directory -n run >'$TMP/run' 2>&1; grep -q 'apt-get install' '$TMP/run' && grep -q 'avahi-daemon' '$TMP/run' && grep -q 'libnice-dev' '$TMP/run' && ! grep -E 'chromium|iperf3|openssh|iptables|golang' '$TMP/run'"
check "make -n fuzz reaches deps-build and needs no chromium" sh -c \
	"make -C '$TOP' --no-print-directory -n fuzz BUILD='$TMP/build' >'$TMP/fuzz' 2>&1; grep -q 'apt-get install' '$TMP/fuzz' && grep -q 'libnice-dev' '$TMP/fuzz' && ! grep -E 'chromium|avahi-daemon' '$TMP/fuzz'"

# A build package missing (no pkg-config module found), for real: make stops
# before compiling, with one line, and no installer runs.
mkdir -p "$TMP/trap"
for t in apt-get apt dpkg dpkg-query npm go sudo; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 1\n' "$t" "$TMP/called" >"$TMP/trap/$t"
	chmod +x "$TMP/trap/$t"
done
PKG_CONFIG_LIBDIR=$TMP/none PATH=$TMP/trap:$PATH make -C "$TOP" --no-print-directory \
	BUILD="$TMP/build" all >"$TMP/missing.out" 2>"$TMP/missing.err"
rc=$?
check "make with a build package missing fails" test "$rc" != 0
check "... with one line naming the package and 'make deps-build'" sh -c \
	"[ \$(wc -l <'$TMP/missing.err') = 1 ] && grep -q 'missing build packages:.*libnice-dev.*make deps-build' '$TMP/missing.err' || { cat '$TMP/missing.err'; exit 1; }"
check "... compiling nothing" test ! -e "$TMP/build"
check "... and calling no installer" test ! -e "$TMP/called"

# The real `make install` of the test build, when it is up to date (never
# rebuilt here), under the same traps: exactly the two files land.
if [ -n "${IDROP_BIN:-}" ] && [ "$IDROP_BIN" = "$TOP/build/asan/idrop-lan" ] &&
	[ -z "$(make -C "$TOP" --no-print-directory -s -n SAN=1 build/asan/idrop-lan 2>&1)" ]; then
	PATH=$TMP/trap:$PATH make -C "$TOP" --no-print-directory SAN=1 install DESTDIR="$D" PREFIX=/usr >"$TMP/real" 2>&1
	check "make install (for real) succeeds" test $? = 0
	check "... installing bin/idrop-lan and man1/idrop-lan.1, nothing else" sh -c \
		"[ \"\$(cd '$D' && find . -type f | sort | tr '\n' ' ')\" = './usr/bin/idrop-lan ./usr/share/man/man1/idrop-lan.1 ' ] || { cd '$D' && find .; exit 1; }"
	check "... calling no installer" test ! -e "$TMP/called"
else
	n=$((n + 1)); echo "ok $n - make install for real # SKIP no up-to-date build/asan/idrop-lan"
fi

echo "1..$n"
[ "$failed" = 0 ]
