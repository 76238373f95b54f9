#!/bin/bash
# Browser benchmark on the simulated LAN: host a is the device
# (`idrop-lan serve`), host c runs headless Debian Chromium (mDNS hiding of
# local IPs ON, as users have it). In the same run, SIZE_MB (256) MiB of
# random data, medians of ROUNDS (3) interleaved rounds:
#   - Chromium <-> Chromium: two peers in one page (the device's page, a
#     plain http:// origin) on host c, tests/browser/bench_c2c.mjs: the
#     speed of a browser-only tool, the baseline;
#   - browser -> device: the device's page sends the file
#     (tests/browser/page_send.mjs); data phase = serve's "incoming:" to
#     "done:" (offer received to every byte verified and fsynced), and the
#     whole click-to-done time the page reports;
#   - device -> browser: `idrop-lan send --json "<tab>" FILE` on a to a tab
#     attached to a's page (tests/browser/page_receive.mjs accepts and saves);
#     data phase = send's own MB/s (channel open to the tab's receipt).
# Then, once each, PAGES_MB (64) MiB between two pages on host c: two tabs
# of one browser context, two browser contexts, two Chromium instances:
# whether ICE connects with mDNS hiding on, and the candidate pair chosen.
# Also: peak resident memory of serve and send, and the CPU each side used
# during the data phase (sampled from /proc every 0.25 s; 100% = one core).
# Figures, not pass/fail.
set -eu -o pipefail
# shellcheck source=lan.sh
. "$(dirname "${BASH_SOURCE[0]}")/lan.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${IDROP_BIN:?set IDROP_BIN to the idrop-lan binary}
SIZE_MB=${SIZE_MB:-256}           # the file, MiB
ROUNDS=${ROUNDS:-3}               # interleaved rounds of each direction
PAGES_MB=${PAGES_MB:-64}          # the two-page Chromium runs, MiB; 0 skips them
XFER_TIMEOUT=${XFER_TIMEOUT:-120} # one transfer, seconds
C2C=$TOP/tests/browser/bench_c2c.mjs
PAGE_SEND=$TOP/tests/browser/page_send.mjs
PAGE_RECV=$TOP/tests/browser/page_receive.mjs
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }
lan_require_browser
lan_require timeout cmp pgrep /usr/bin/python3 /usr/bin/time
T_START=$(date +%s)
lan_init
lan_add_hosts a c
tag=${LAN_PREFIX: -4}
A=$(lan_addr a)
URL="http://$A:7757/"
log() { echo "$LAN_DIR/$1.log"; }
# json EXPR: EXPR of d, the last JSON line on stdin; "" when there is none.
json() { /usr/bin/python3 -c "import json,sys
try:
    d = json.loads(sys.stdin.read().strip().splitlines()[-1])
    v = $1
    print('' if v is None else v)
except Exception:
    print('')"; }
median() { { grep -E '^[0-9.]+$' || true; } | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_s() { LC_ALL=C date +%s.%N; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", b / 1e6 / s; else print "fail" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }

SRC=$LAN_DIR/src DL=$LAN_DIR/dl RX=$LAN_DIR/rx
mkdir -p "$SRC" "$DL"
BYTES=$((SIZE_MB * 1024 * 1024))
head -c "$BYTES" /dev/urandom >"$SRC/file.bin"

# --- the device: serve on a, each stdout line stamped with the wall clock -----
# shellcheck disable=SC2016  # expanded by the inner bash
lan_spawn a "$(log serve)" bash -c '"$@" 2>&1 | while IFS= read -r l; do printf "%s %s\n" "${EPOCHREALTIME/,/.}" "$l"; done' \
	stamp "$BIN" serve --name "bench $tag" --accept=all --port 7757 --dir "$DL"
pid_wrap=$LAN_PID
lan_wait_for 10 grep -q ' advertised:' "$(log serve)" || { lan_fail "serve started on a"; exit 1; }
pid_serve=$(pgrep -P "$pid_wrap" -x idrop-lan | head -n 1) || true
[[ -n "$pid_serve" ]] || { lan_fail "serve's pid"; exit 1; }

# --- CPU use of both hosts, from /proc, until $LAN_DIR/cpu.stop appears ---------
# Lines "TIME PID LABEL TICKS" (utime+stime); LABEL says which program (and
# which Chromium process) it is. Bounded: at most 30 min of samples.
: >"$LAN_DIR/cpu.samples"
/usr/bin/python3 - "$LAN_DIR/cpu.samples" "$LAN_DIR/cpu.stop" "${LAN_PREFIX}-a" "${LAN_PREFIX}-c" <<'PY' &
import os, re, sys, time
out, stop, nses = sys.argv[1], sys.argv[2], sys.argv[3:]
inos = {}
for ns in nses:
    try: inos[os.stat('/run/netns/' + ns).st_ino] = ns[-1]
    except OSError: pass
def label(pid, host):
    try:
        comm = open(f'/proc/{pid}/comm').read().strip()
        # Chromium rewrites its argv into one string: split at spaces too.
        cmd = re.split(rb'[\0 ]', open(f'/proc/{pid}/cmdline', 'rb').read())
    except OSError:
        return None
    if comm.startswith('chrom') or comm == 'exe':
        t = next((a[7:].decode() for a in cmd if a.startswith(b'--type=')), 'browser')
        if t == 'utility':
            sub = next((a[19:].decode() for a in cmd if a.startswith(b'--utility-sub-type=')), '')
            t = 'network' if 'network' in sub.lower() else 'utility'
        return f'{host}:chromium-{t}'
    return f'{host}:{comm}'
with open(out, 'w') as f:
    for _ in range(7200):
        if os.path.exists(stop): break
        t = time.time()
        cpu = [int(x) for x in open('/proc/stat').readline().split()[1:9]]
        f.write(f'{t:.3f} 0 machine:busy {sum(cpu) - cpu[3] - cpu[4]}\n')   # all but idle, iowait
        for p in os.listdir('/proc'):
            if not p.isdigit(): continue
            try:
                host = inos.get(os.stat(f'/proc/{p}/ns/net').st_ino)
                if host is None: continue
                st = open(f'/proc/{p}/stat').read()
            except OSError:
                continue
            lab = label(p, host)   # each time: a forked Chromium process renames itself
            if lab is None: continue
            fl = st[st.rindex(')') + 2:].split()
            f.write(f'{t:.3f} {p} {lab} {int(fl[11]) + int(fl[12])}\n')
        f.flush()
        time.sleep(0.25)
PY
pid_cpu=$!
# cpu_in T0 T1: CPU use per program between the two wall-clock times, as % of one core.
cpu_in() {
	/usr/bin/python3 - "$LAN_DIR/cpu.samples" "$1" "$2" "$(getconf CLK_TCK)" <<-'PY'
	import sys, collections
	path, t0, t1, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
	first, last = {}, {}
	for line in open(path):
	    try: t, pid, lab, ticks = line.split(); t = float(t); ticks = int(ticks)
	    except ValueError: continue
	    if t < t0 or t > t1: continue
	    if pid not in first: first[pid] = (t, ticks)
	    last[pid] = (t, ticks, lab)
	use = collections.Counter()
	for pid in first:
	    (ta, a), (tb, b, lab) = first[pid], last[pid]
	    if tb > ta: use[lab] += (b - a) / hz / (tb - ta) * 100
	tot = collections.Counter()
	for lab, v in use.items(): tot[lab.split(':')[0]] += v
	machine = tot.pop('machine', None)
	parts = []
	for host in sorted(tot):
	    detail = ', '.join(f'{lab.split(":")[1]} {v:.0f}%' for lab, v in use.most_common() if lab.startswith(host + ':') and v >= 1)
	    parts.append(f'{host}: {tot[host]:.0f}%' + (f' ({detail})' if detail else ''))
	if machine is not None:
	    parts.append(f'whole machine busy {machine:.0f}%')
	print('; '.join(parts) if parts else 'no samples')
	PY
}
stop_cpu() {
	: >"$LAN_DIR/cpu.stop"
	local i
	for ((i = 0; i < 40; i++)); do kill -0 "$pid_cpu" 2>/dev/null || break; sleep 0.05; done
	kill "$pid_cpu" 2>/dev/null || true
	wait "$pid_cpu" 2>/dev/null || true
}
lan_on_cleanup stop_cpu

# --- one round of each; results appended to $LAN_DIR/r-* -------------------------
# Chromium <-> Chromium, both peers in one page of a's page.
c2c_round() {
	local out
	out=$(lan_run c timeout $((XFER_TIMEOUT + 30)) node "$C2C" --bytes "$BYTES" --url "$URL" \
		--timeout "$XFER_TIMEOUT" 2>>"$(log c2c)") || true
	echo "$out" >>"$LAN_DIR/c2c.jsonl"
	if [[ "$(json "d['ok']" <<<"$out")" == True ]]; then
		json "d['mbps']" <<<"$out" >>"$LAN_DIR/r-c2c"
		cpu_in "$(json "d['epoch_ms'][0] / 1000" <<<"$out")" "$(json "d['epoch_ms'][1] / 1000" <<<"$out")" >"$LAN_DIR/cpu-c2c"
	else
		echo fail >>"$LAN_DIR/r-c2c"
		echo "c2c: $(json "d.get('error')" <<<"$out")" >>"$LAN_DIR/why"
	fi
}

# browser -> device: a's page in Chromium sends the file to a.
b2d_round() {
	local out n0 t_in t_done
	rm -f "$DL/file.bin"
	n0=$(wc -l <"$(log serve)")
	out=$(lan_run c timeout $((XFER_TIMEOUT + 30)) node "$PAGE_SEND" "$URL" "$SRC/file.bin" \
		--timeout "$XFER_TIMEOUT" 2>>"$(log page_send)") || true
	echo "$out" >>"$LAN_DIR/page_send.jsonl"
	t_in=$(tail -n +"$((n0 + 1))" "$(log serve)" | awk '$2 == "incoming:" { print $1; exit }')
	t_done=$(tail -n +"$((n0 + 1))" "$(log serve)" | awk '$2 == "done:" { print $1; exit }')
	if [[ "$(json "d['ok']" <<<"$out")" == True && -n "$t_in" && -n "$t_done" ]] && cmp -s "$SRC/file.bin" "$DL/file.bin"; then
		mbs "$BYTES" "$(awk -v a="$t_in" -v b="$t_done" 'BEGIN { print b - a }')" >>"$LAN_DIR/r-b2d"; echo >>"$LAN_DIR/r-b2d"
		mbs "$BYTES" "$(json "d['ms']['send'] / 1000" <<<"$out")" >>"$LAN_DIR/r-b2dw"; echo >>"$LAN_DIR/r-b2dw"
		cpu_in "$t_in" "$t_done" >"$LAN_DIR/cpu-b2d"
	else
		echo fail >>"$LAN_DIR/r-b2d"
		echo fail >>"$LAN_DIR/r-b2dw"
		echo "browser -> device: $(json "d.get('error')" <<<"$out")" >>"$LAN_DIR/why"
	fi
	rm -f "$DL/file.bin"
}

gone() { ! lan__alive "$1" ""; }
# device -> browser: `send` on a to a tab (on c) attached to a's page.
# Runs in the main shell (lan_spawn); never inside $(...).
d2b_round() {
	local i=$1 ready=$LAN_DIR/ready-$1.json name out rc t1 got pid
	if [[ ! -f "$PAGE_RECV" ]]; then
		echo "n/a (tests/browser/page_receive.mjs is not there yet)" >"$LAN_DIR/d2b-na"
		return 0
	fi
	rm -rf "$RX"
	mkdir -p "$RX"
	lan_spawn c "$(log "page_receive-$i")" node "$PAGE_RECV" "$URL" --out "$RX" --name "tab $tag-$i" \
		--timeout "$XFER_TIMEOUT" --count 1 --ready-file "$ready"
	pid=$LAN_PID
	if ! lan_wait_for 30 test -s "$ready"; then
		echo "n/a (the tab never attached: see page_receive-$i.log)" | tee -a "$LAN_DIR/why" >"$LAN_DIR/d2b-na"
		lan_stop "$pid" TERM 15 || true
		return 0
	fi
	name=$(json "d['name']" <"$ready")
	rc=0
	out=$(lan_run a timeout $((XFER_TIMEOUT + 30)) /usr/bin/time -f '%M' -o "$LAN_DIR/send-rss.try" \
		"$BIN" send --json --timeout 30 "$name" "$SRC/file.bin" 2>>"$(log send)") || rc=$?
	t1=$(now_s)
	echo "$out" >>"$LAN_DIR/send.jsonl"
	# page_receive exits by itself once the file is saved (--count 1).
	[[ $rc != 0 ]] || lan_wait_for 30 gone "$pid" || true
	lan_stop "$pid" TERM 15 || true
	got=$(find "$RX" -type f -size "${BYTES}c" -print -quit)
	if [[ $rc == 0 && -n "$got" ]] && cmp -s "$SRC/file.bin" "$got"; then
		json "d['mb_per_s']" <<<"$out" >>"$LAN_DIR/r-d2b"
		tail -n 1 "$LAN_DIR/send-rss.try" >"$LAN_DIR/send-rss"
		cpu_in "$(awk -v a="$t1" -v s="$(json "d['seconds']" <<<"$out")" 'BEGIN { printf "%.3f", a - s }')" "$t1" >"$LAN_DIR/cpu-d2b"
	else
		echo fail >>"$LAN_DIR/r-d2b"
		if [[ $rc == 0 ]]; then
			echo "n/a (send exited 0, but the tab's download is missing or differs: see page_receive-$i.log)" |
				tee -a "$LAN_DIR/why" >"$LAN_DIR/d2b-na"
		else
			echo "n/a (send to \"$name\" exited $rc: $(tail -n 1 "$(log send)" | cut -c1-160))" |
				tee -a "$LAN_DIR/why" >"$LAN_DIR/d2b-na"
		fi
	fi
	rm -rf "$RX"
}

: >"$LAN_DIR/r-c2c"; : >"$LAN_DIR/r-b2d"; : >"$LAN_DIR/r-b2dw"; : >"$LAN_DIR/r-d2b"; : >"$LAN_DIR/why"
for ((i = 0; i < ROUNDS; i++)); do
	c2c_round
	b2d_round
	sync
	d2b_round "$i"
	sync
done

# --- two pages: two tabs of one context, two contexts ------------------------------
pages_row() {   # MODE
	local out
	out=$(lan_run c timeout $((XFER_TIMEOUT + 30)) node "$C2C" --mode "$1" --bytes $((PAGES_MB * 1024 * 1024)) \
		--url "$URL" --timeout "$XFER_TIMEOUT" 2>>"$(log c2c-"$1")") || true
	echo "$out" >>"$LAN_DIR/c2c.jsonl"
	if [[ "$(json "d['ok']" <<<"$out")" == True ]]; then
		cpu_in "$(json "d['epoch_ms'][0] / 1000" <<<"$out")" "$(json "d['epoch_ms'][1] / 1000" <<<"$out")" >"$LAN_DIR/cpu-$1"
	fi
	json "'connected, %s MB/s, pair %s/%s %s -> %s/%s %s, set-up %s ms' % (d['mbps'], d['pair']['offerer']['local']['type'], d['pair']['offerer']['local']['protocol'], d['candidates']['offerer'][0].split()[1], d['pair']['offerer']['remote']['type'], d['pair']['offerer']['remote']['protocol'], d['candidates']['answerer'][0].split()[1], d['connect_ms']) if d['ok'] else 'FAILED: %s (ICE %s)' % (d.get('error'), d.get('ice'))" <<<"$out"
}
if [[ "$PAGES_MB" -gt 0 ]]; then
	tabs=$(pages_row tabs)
	ctxs=$(pages_row contexts)
	brws=$(pages_row browsers)
fi

rss_serve=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid_serve/status" 2>/dev/null || echo 0)
kill -s TERM "$pid_serve" 2>/dev/null || true
lan_stop "$pid_wrap" TERM 10 || true
stop_cpu

# --- the table ------------------------------------------------------------------
c2c=$(median <"$LAN_DIR/r-c2c") b2d=$(median <"$LAN_DIR/r-b2d") b2dw=$(median <"$LAN_DIR/r-b2dw")
d2b=$(median <"$LAN_DIR/r-d2b")
# No round worked: say why (the last reason).
[[ "$d2b" != n/a || ! -s "$LAN_DIR/d2b-na" ]] || d2b=$(cat "$LAN_DIR/d2b-na")
rounds() { grep -v '^$' "$LAN_DIR/$1" | tr '\n' ' '; }
echo
echo "file: $SIZE_MB MiB of random data; MB/s = 10^6 bytes/s; medians of $ROUNDS interleaved rounds"
echo "Chromium $(json "d.get('chromium')" <"$LAN_DIR/c2c.jsonl"), headless, mDNS hiding on; device = idrop-lan serve on host a, browser on host c"
printf '%-38s %10s %8s   %s\n' "direction" "MB/s" "vs c2c" "rounds"
printf '%-38s %10s %8s   %s\n' "Chromium -> Chromium (one page)" "$c2c" "1.00" "$(rounds r-c2c)"
printf '%-38s %10s %8s   %s\n' "browser -> device (data phase)" "$b2d" "$(ratio "$b2d" "$c2c")" "$(rounds r-b2d)"
printf '%-38s %10s %8s   %s\n' "browser -> device (click to done)" "$b2dw" "$(ratio "$b2dw" "$c2c")" "$(rounds r-b2dw)"
if [[ "$d2b" == n/a* ]]; then
	printf '%-38s %s\n' "device -> browser (send's data phase)" "$d2b"
else
	printf '%-38s %10s %8s   %s\n' "device -> browser (send's data phase)" "$d2b" "$(ratio "$d2b" "$c2c")" "$(rounds r-d2b)"
fi
echo "data phase: browser -> device from serve's 'incoming:' to 'done:' (all verified, fsynced); device -> browser"
echo "is send --json's mb_per_s (channel open to the tab's receipt); c2c from the first send to the last byte counted"
if [[ "$PAGES_MB" -gt 0 ]]; then
	echo "two pages, $PAGES_MB MiB, SDP through the driver, mDNS hiding on:"
	echo "  two tabs, one context:  $tabs"
	echo "  two browser contexts:   $ctxs"
	echo "  two Chromium instances: $brws"
fi
echo "CPU during the data phase of the last round (% of one core; $(nproc) cores; a = device, c = browser):"
for k in c2c b2d d2b tabs contexts browsers; do
	if [[ -s "$LAN_DIR/cpu-$k" ]]; then printf '  %-8s %s\n' "$k" "$(cat "$LAN_DIR/cpu-$k")"; fi
done
if [[ -s "$LAN_DIR/send-rss" ]]; then
	printf 'peak resident memory: serve %d MiB, send %d MiB (%d MiB file)\n' \
		$((rss_serve / 1024)) $(($(cat "$LAN_DIR/send-rss") / 1024)) "$SIZE_MB"
else
	printf 'peak resident memory: serve %d MiB (%d MiB file)\n' $((rss_serve / 1024)) "$SIZE_MB"
fi
if [[ -s "$LAN_DIR/why" ]]; then
	echo "failed runs:"
	sort "$LAN_DIR/why" | uniq -c | sed -E 's/^ *1 /  /; s/^ *([0-9]+) /  (\1 times) /'
fi
echo "bench_browser.sh took $(($(date +%s) - T_START)) s"
