# idrop-lan: build, test, install.
#
#   make            build build/release/idrop-lan; installs nothing (it names
#                   the missing build packages and stops)
#   make run        install the build and run packages (make deps-run), build
#                   and start `idrop-lan serve` in the foreground
#   make test       install everything the tests need (make deps), build with
#                   ASan+UBSan and run every test (unit, LAN, man page)
#   make install    install binary and man page under DESTDIR/PREFIX (default
#                   /usr/local); no packages
#   make deps       install the Debian packages the build, a run and the tests
#                   need, and the browser tests' npm packages
#   make deps-build install the Debian packages the build needs
#   make deps-run   the same and what a run uses (avahi-daemon)
#
# V=1 shows the full commands.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

# Every library of the design, settled here even where a later layer is the
# first user: --as-needed keeps unused ones out of the binary.
# avahi-client and avahi-core are not linked: both export avahi_entry_group_free,
# so discovery/ loads each with dlopen(RTLD_LOCAL) (see discovery/backend.h).
LINK_PKGS := glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0 avahi-glib nice gnutls usrsctp libmicrohttpd libcurl libqrencode
DLOPEN_PKGS := avahi-client avahi-core
PKGS := $(LINK_PKGS) $(DLOPEN_PKGS)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wvla
VERSION := 0.1.0
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -DIDL_VERSION=\"$(VERSION)\" $(WARN) -I. -MMD -MP -g

ifeq ($(SAN),1)
BUILD   := build/asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN   := -fsanitize=address,undefined
else
BUILD   := build/release
OPT     := -O2
LDSAN   :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) -lavahi-common -ldl

ALL_CFLAGS  = $(CFLAGS_BASE) $(OPT) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -Wl,--as-needed $(LDSAN) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Library sources: everything but the CLI, so unit tests link the same objects.
LIB_SRCS := $(wildcard base/*.c trust/*.c discovery/*.c transport/*.c sctp/*.c web/*.c transfer/*.c)
CLI_SRCS := $(wildcard cli/*.c)
TEST_SRCS := $(wildcard tests/unit/test_*.c)

# The web page (web/page/*) is compiled into the binary as a GResource
# (glib-compile-resources, from libglib2.0-dev-bin), served by web/page.c.
PAGE_FILES := $(sort $(wildcard web/page/*.html web/page/*.css web/page/*.js web/page/*.svg))
PAGE_OBJ := $(BUILD)/gen/page_resources.o
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(PAGE_OBJ)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer target; `make fuzz` runs it with
# clang, and `make test` replays its committed corpus (tests/fuzz/corpus/NAME)
# through a plain driver built like the unit tests.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/replay_%)
BIN := $(BUILD)/idrop-lan

.PHONY: all run test unit bench fuzz install deps deps-build deps-run deps-deb build-check clean
.SECONDARY:
all: $(BIN)

$(BUILD)/%.o: %.c | build-check
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/page.gresource.xml: $(PAGE_FILES) Makefile
	@mkdir -p $(dir $@)
	$(Q){ echo '<?xml version="1.0" encoding="UTF-8"?>'; \
	  echo '<gresources><gresource prefix="/org/idrop/page">'; \
	  for f in $(notdir $(PAGE_FILES)); do echo "<file>$$f</file>"; done; \
	  echo '</gresource></gresources>'; } >$@

$(BUILD)/gen/page_resources.c: $(BUILD)/gen/page.gresource.xml | build-check
	@[ "$(V)" = 1 ] || echo "  GEN     $@"
	$(Q)glib-compile-resources --sourcedir=web/page --generate-source --c-name idl_page_res --target=$@ $<

# Generated code: our warning set, less the prototypes it does not declare.
$(PAGE_OBJ): $(BUILD)/gen/page_resources.c
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Wno-strict-prototypes -c -o $@ $<

$(BIN): $(CLI_OBJS) $(LIB_OBJS)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/fuzz/fuzz_%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# cli/options.c is pure (no output, nothing else of the CLI): its test links it.
$(BUILD)/tests/test_options: $(BUILD)/cli/options.o

unit: $(TEST_BINS) $(REPLAY_BINS)

# The Pion peer of the interop test (tests/lan/t_pion.sh): Go, built offline
# in GOPATH mode from Debian's packages (golang-go,
# golang-github-pion-webrtc.v3-dev; no module proxy is reachable). Debian
# installs some Pion modules without the /vN folder their import path names
# (github.com/pion/webrtc/v3 is in .../pion/webrtc): build/gopath links each
# such path to its folder, found by the module line of its go.mod.
GOCODE := /usr/share/gocode
PION_DIR := $(GOCODE)/src/github.com/pion
build/pion_peer: tests/interop/pion_peer/main.go
	@command -v go >/dev/null && [ -d $(PION_DIR)/webrtc ] || \
	    { echo "$@: needs golang-go and golang-github-pion-webrtc.v3-dev (make deps)" >&2; exit 1; }
	@mkdir -p build/gopath/src/github.com/pion build/gocache
	$(Q)for mod in $(PION_DIR)/*/go.mod; do \
	    path=$$(awk '$$1 == "module" { print $$2; exit }' $$mod); dir=$${mod%/go.mod}; \
	    case $$path in github.com/pion/*/v[0-9]*) ;; *) continue ;; esac; \
	    [ -d $(GOCODE)/src/$$path ] && continue; \
	    mkdir -p build/gopath/src/$${path%/*}; ln -sfn $$dir build/gopath/src/$$path; \
	done
	@[ "$(V)" = 1 ] || echo "  GO      $@"
	$(Q)cd tests/interop/pion_peer && GO111MODULE=off GOFLAGS= GOENV=off \
	    GOPATH=$(CURDIR)/build/gopath:$(GOCODE) GOCACHE=$(CURDIR)/build/gocache \
	    go build -o $(CURDIR)/$@ .

# libFuzzer needs clang; FUZZ_SECONDS per target. New inputs land in
# build/fuzz/corpus-NAME; copy the ones worth keeping (and every crash, as a
# regression input) into tests/fuzz/corpus/NAME.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DIDL_VERSION=\"$(VERSION)\" -I. -g -O1 \
              -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
fuzz: deps-build
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
	@mkdir -p build/fuzz
	@for n in $(FUZZ_NAMES); do \
	    clang $(FUZZ_CFLAGS) -o build/fuzz/fuzz_$$n tests/fuzz/fuzz_$$n.c $(LIB_SRCS) $(PKG_LIBS) || exit 1; \
	    mkdir -p build/fuzz/corpus-$$n; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	    build/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=build/fuzz/$$n- build/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 \
	        | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Test unit written' || true; \
	    ls build/fuzz/$$n-* >/dev/null 2>&1 && { echo "fuzz: $$n found a crash: build/fuzz/$$n-*" >&2; exit 1; }; \
	done; true

# The binary is built by a second make so that its build check runs after
# deps-run has installed what was missing (also under -j).
run: deps-run
	$(MAKE) $(BIN)
	./$(BIN) serve

# The sanitizer build is what the tests run; tests/run.sh prints the
# closing "N passed, N failed" line and exits non-zero on any failure.
test: deps
	$(MAKE) SAN=1 build/asan/idrop-lan unit build/pion_peer
	$(MAKE) build/release/idrop-lan
	tests/run.sh build/asan

# Benchmarks print figures beside a baseline measured in the same run; they
# are not pass/fail tests.
bench: deps
	$(MAKE) $(BIN)
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_transfer.sh
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_files.sh
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_discovery.sh
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_memory.sh
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_browser.sh
	IDROP_BIN=$(CURDIR)/$(BIN) bash tests/lan/bench_soak.sh

# The program only: no package, no test tool. As root (sudo make install)
# with no build yet, this builds it.
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/idrop-lan
	install -m 0644 man/idrop-lan.1 $(DESTDIR)$(PREFIX)/share/man/man1/idrop-lan.1

# Debian 12 packages, in three lists by who needs them. A plain `make`
# installs none of them: it checks for the build list's programs and
# pkg-config modules (build-check) and names what is missing.
#
# Build: the compiler, pkg-config, glib-compile-resources (the page's
# GResource) and the -dev package of every library in PKGS, each found by
# its pkg-config module (DEV_PKG_<module>); libavahi-common-dev for
# -lavahi-common, which no .pc file names.
DEV_PKG_glib-2.0       := libglib2.0-dev
DEV_PKG_gio-2.0        := libglib2.0-dev
DEV_PKG_gio-unix-2.0   := libglib2.0-dev
DEV_PKG_json-glib-1.0  := libjson-glib-dev
DEV_PKG_avahi-glib     := libavahi-glib-dev
DEV_PKG_avahi-client   := libavahi-client-dev
DEV_PKG_avahi-core     := libavahi-core-dev
DEV_PKG_nice           := libnice-dev
DEV_PKG_gnutls         := libgnutls28-dev
DEV_PKG_usrsctp        := libusrsctp-dev
DEV_PKG_libmicrohttpd  := libmicrohttpd-dev
DEV_PKG_libcurl        := libcurl4-gnutls-dev
DEV_PKG_libqrencode    := libqrencode-dev
DEB_BUILD := gcc make pkg-config libc6-dev libglib2.0-dev-bin libavahi-common-dev \
             $(sort $(foreach p,$(PKGS),$(DEV_PKG_$(p))))
# Run (`make run`): avahi-daemon, which `serve --mdns auto` publishes through
# when it runs (else the embedded responder answers alone). The libraries
# themselves come with their -dev packages.
DEB_RUN := avahi-daemon
# Test (`make test`, `make bench`): what the tests run for real:
# avahi-daemon with its own D-Bus per simulated host (dbus-daemon),
# avahi-utils as the independent DNS-SD peer, iproute2 and util-linux
# (unshare) for the namespaces; mandoc, man-db and groff-base to lint and
# render the man page; openssl, curl and python3 in the scenarios;
# chromium (driven by playwright-core) and python3-aiortc as independent
# WebRTC peers; iptables plays the on-path attacker of t_attacker; iperf3
# and OpenSSH (scp) are the baselines `make bench` measures us against;
# golang-go and Pion's Go sources build the Pion peer of t_pion, offline
# (see build/pion_peer); fuse3 and python3-fusepy run tests/lan/slowfs.py,
# the slow disk (a throttled FUSE passthrough) of t_slow_disk and the
# memory bench; e2fsprogs (mkfs.ext4) makes the fresh journaled disk each
# copy of tests/lan/bench_files.sh lands on.
DEB_TEST := avahi-utils dbus-daemon iproute2 util-linux mandoc man-db groff-base openssl curl python3 \
            chromium python3-aiortc iperf3 openssh-client openssh-server iptables \
            golang-go golang-github-pion-webrtc.v3-dev fuse3 python3-fusepy e2fsprogs

# What of the build list is missing, as Debian packages; expanded only when
# something is to be compiled (build-check), so other targets do not pay.
build_missing = $(strip \
  $(if $(shell command -v $(firstword $(CC)) 2>/dev/null),,gcc) \
  $(if $(shell command -v pkg-config 2>/dev/null),,pkg-config) \
  $(if $(shell command -v glib-compile-resources 2>/dev/null),,libglib2.0-dev-bin) \
  $(if $(shell printf '\043include <stdio.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo y),,libc6-dev) \
  $(sort $(foreach p,$(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done),$(DEV_PKG_$(p)))))

# Stops make with one line: what is missing and how to get it. Never
# installs: that is deps-build's job, asked for by name.
build-check:
	$(if $(build_missing),$(error missing build packages: $(build_missing); as root run 'make deps-build' or 'apt-get install --no-install-recommends $(build_missing)'))

# Node.js may come from elsewhere (this machine kind ships NodeSource's);
# Debian's nodejs and npm are installed only when there is no node at all.
NODE_PKGS = $(if $(shell command -v node 2>/dev/null),,nodejs npm)

deps: tests/browser/node_modules/.installed

deps-build:
	$(call apt_install,$(DEB_BUILD))

deps-run:
	$(call apt_install,$(DEB_BUILD) $(DEB_RUN))

# The browser tests' npm packages (playwright-core drives Debian's chromium;
# it downloads no browser), pinned by package-lock.json.
tests/browser/node_modules/.installed: tests/browser/package-lock.json | deps-deb
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps-deb:
	$(call apt_install,$(DEB_BUILD) $(DEB_RUN) $(DEB_TEST) $(NODE_PKGS))

# Installs the Debian packages $(1) that are not installed yet: as root with
# apt-get (output in build-deps.log), else prints the line to run as root
# and stops.
apt_install = @missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    line="apt-get install -y --no-install-recommends $$(echo $$missing)"; \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "deps: installing $$(echo $$missing)"; \
	        (apt-get update -q && DEBIAN_FRONTEND=noninteractive $$line) >build-deps.log 2>&1 \
	            || { echo "deps: apt-get failed, see build-deps.log" >&2; exit 1; }; \
	    else \
	        echo "deps: missing packages; as root run:" >&2; echo "  $$line" >&2; exit 1; \
	    fi; \
	fi

clean:
	rm -rf build

-include $(wildcard build/*/*/*.d build/*/*/*/*.d)
