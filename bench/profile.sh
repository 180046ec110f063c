#!/usr/bin/env bash
# bench/profile.sh - profiles of the broker's hot paths, as written up in
# docs/profiles.md.  Loopback only; every run is bounded; the script stops
# only the processes it started, by PID.
#
#   bench/profile.sh                       # every section (~20 min)
#   bench/profile.sh perf callgrind        # some sections
#   OUT=/tmp/prof PERF_S=10 REPS=5 bench/profile.sh connrate
#
# Sections:
#   perf      perf cpu-clock (DWARF call graphs) of the broker's CPU while
#             starling-bench runs fanin q0, fanout q0, pairs q1, and a
#             connection storm; top functions by inclusive and self cost
#   callgrind instructions (Ir) per delivered message / per connection:
#             each scenario runs twice under callgrind with different
#             lengths, and the difference is divided by the difference in
#             messages (or connections), so start-up, connect and shutdown
#             cancel out; mosquitto gets the same connection runs
#   connrate  starling vs mosquitto, `starling-bench conn -c CONNS`, REPS
#             alternating runs each; connects/s and the CPU% of broker and
#             generator over the connect phase (sampled from /proc)
#   genperf   perf of the generator's CPU during one conn run: where a
#             connect storm's time goes on the client side
#   strace    strace -c -f of both brokers over a conn run: syscalls per
#             connection
#   dhat      heap blocks allocated per connection, both brokers (two run
#             sizes, differenced)
#
# Needs: a RelWithDebInfo build with frame pointers in $BUILD (built here
# if missing), perf, valgrind, strace, mosquitto, python3.  Results (raw
# data and text reports) go to $OUT, which is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-prof}
OUT=${OUT:-$(mktemp -d /tmp/starling-profile.XXXXXX)}
PERF_S=${PERF_S:-10}
PERF_HZ=${PERF_HZ:-499}
REPS=${REPS:-5}
CONNS=${CONNS:-10000}
NOLOG_REPS=${NOLOG_REPS:-$REPS}
IFADDR_N=${IFADDR_N:-1} # connrate: source addresses per run
BROKER_CPU=${BROKER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
PY=/usr/bin/python3
SECTIONS=${*:-perf callgrind connrate genperf strace dhat}

STARLING=$BUILD/bin/starling
BENCH=$BUILD/bin/starling-bench
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

if [ ! -x "$STARLING" ] || [ ! -x "$BENCH" ]; then
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_C_FLAGS=-fno-omit-frame-pointer >/dev/null
	cmake --build "$BUILD" -j2 --target starling starling-bench >/dev/null
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$OUT"
# Mosquitto, started as root, runs as user mosquitto: valgrind's output
# goes to a directory it may write.  (Its log file in $OUT it may not
# open, so it logs nothing - as in bench/compare.sh, whose mktemp
# directory is private too.)
VG=$OUT/vg
mkdir -p "$VG"
chmod 1777 "$VG"
echo "profile: results in $OUT" >&2

# Every process we start is remembered here and stopped by PID.
started=()
cleanup() {
	for p in "${started[@]:-}"; do
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
		fi
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. bench/lib.sh

# The configuration of bench/compare.sh (both brokers alike), plus
# `log_type error` when QUIET_LOG=1 (the throughput profiles).
write_conf() { # broker port file
	cat >"$3" <<EOF
listener $2 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_queued_messages 1000000
max_inflight_messages 20
log_dest file $OUT/$1.log
EOF
	if [ "${QUIET_LOG:-0}" = 1 ]; then
		echo "log_type error" >>"$3"
	fi
	if [ "$1" = starling ]; then
		echo "workers 1" >>"$3"
	fi
	# Under valgrind, Mosquitto stays root so that the tool can write
	# its output file at exit.
	if [ "$1" = mosquitto ] && [ "${MOSQ_ROOT:-0}" = 1 ]; then
		echo "user root" >>"$3"
	fi
}

broker_pid=""
start_broker() { # broker port [wrapper...]
	local b=$1 port=$2
	shift 2
	write_conf "$b" "$port" "$OUT/$b.conf"
	local bin=$STARLING
	[ "$b" = mosquitto ] && bin=$MOSQUITTO
	taskset -c "$BROKER_CPU" "$@" "$bin" -c "$OUT/$b.conf" \
	    >>"$OUT/$b.stdout" 2>&1 &
	broker_pid=$!
	started+=("$broker_pid")
	if ! wait_port "$port" 30; then
		echo "profile: $b did not start" >&2
		exit 1
	fi
}

stop_broker() {
	kill -TERM "$broker_pid" 2>/dev/null || true
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=""
}

src=20 # 127.0.0.X source address, a new one per run (no TIME_WAIT clash)
bench() { # json-out args...
	local out=$1
	shift
	src=$((src % 250 + 1))
	taskset -c "$BENCH_CPU" "$BENCH" "$@" --ifaddr "127.0.0.$src" \
	    --json --quiet >"$out" 2>"${out%.json}.err" || true
}

# Top-N tables from a perf.data: inclusive (children) and self.
perf_tables() { # data comm out
	{
		echo "## inclusive (children), comm $2"
		perf report -i "$1" --comm "$2" --stdio --children \
		    --percentage relative \
		    --sort symbol -g none --percent-limit 0.7 2>/dev/null |
		    grep -v '^#' | grep -v '^$' | grep -v '\] 0x[0-9a-f]* ' |
		    head -40 || true
		echo
		echo "## self, comm $2"
		perf report -i "$1" --comm "$2" --stdio --no-children \
		    --percentage relative \
		    --sort dso,symbol -g none --percent-limit 0.5 2>/dev/null |
		    grep -v '^#' | grep -v '^$' | head -40 || true
	} >"$3"
}

# perf over PERF_S seconds of the broker's CPU while the generator runs.
# -C (the broker's CPU) rather than -p: attaching by PID records nothing
# on this kernel; the report keeps only the broker's comm.
perf_scenario() { # name warmup-s bench-args...
	local name=$1 warm=$2
	shift 2
	local port
	port=$(free_port)
	QUIET_LOG=1 start_broker starling "$port"
	bench "$OUT/perf-$name.json" "$@" -p "$port" &
	local bpid=$!
	started+=("$bpid")
	sleep "$warm"
	perf record -q -e cpu-clock -F "$PERF_HZ" --call-graph dwarf,16384 \
	    -C "$BROKER_CPU" -o "$OUT/perf-$name.data" -- sleep "$PERF_S" \
	    >/dev/null 2>&1
	wait "$bpid" || true
	stop_broker
	perf_tables "$OUT/perf-$name.data" starling "$OUT/perf-$name.txt"
	echo "profile: perf $name done" >&2
}

# A connection storm under perf: several conn runs inside the window.
perf_storm() {
	local port
	port=$(free_port)
	QUIET_LOG=1 start_broker starling "$port"
	perf record -q -e cpu-clock -F "$PERF_HZ" --call-graph dwarf,16384 \
	    -C "$BROKER_CPU" -o "$OUT/perf-conn.data" -- sleep "$PERF_S" \
	    >/dev/null 2>&1 &
	local ppid=$!
	started+=("$ppid")
	sleep 0.5
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt $((PERF_S - 3)) ]; do
		bench "$OUT/perf-conn.json" conn -c "$CONNS" -k 300 -d 0.5 \
		    -p "$port"
	done
	wait "$ppid" || true
	stop_broker
	perf_tables "$OUT/perf-conn.data" starling "$OUT/perf-conn.txt"
	echo "profile: perf conn done" >&2
}

PERF_SCENARIOS=${PERF_SCENARIOS:-"fanin_q0 fanout_q0 pairs_q1 conn"}
section_perf() {
	local s
	for s in $PERF_SCENARIOS; do
		"perf_$s"
	done
}

perf_fanin_q0() {
	perf_scenario fanin_q0 1 run fanin -P 8 -c 1 -q 0 -s 64 \
	    -d $((PERF_S + 2))
}

perf_fanout_q0() {
	perf_scenario fanout_q0 2 run fanout -P 1 -c 1000 -q 0 -s 64 \
	    -d $((PERF_S + 2))
}

perf_pairs_q1() {
	perf_scenario pairs_q1 3 run pairs -c 1000 -q 1 -w 20 -s 64 \
	    -d $((PERF_S + 2)) --drain 10
}

perf_conn() {
	perf_storm
}

# ------------------------------------------------------------------ #
# callgrind: Ir per delivered message, by differencing two run lengths

cg_run() { # broker tag bench-args...
	local b=$1 tag=$2
	shift 2
	local port
	port=$(free_port)
	MOSQ_ROOT=1 QUIET_LOG=${QUIET_LOG:-1} start_broker "$b" "$port" valgrind \
	    --tool=callgrind --callgrind-out-file="$VG/cg-$tag.out" \
	    --dump-instr=no
	bench "$OUT/cg-$tag.json" "$@" -p "$port" --connect-timeout 120
	stop_broker
	mv "$VG/cg-$tag.out" "$OUT/cg-$tag.out"
}

cg_total() { # callgrind out file -> total Ir
	awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

# Runs a scenario at lengths A and B, prints Ir per unit of difference.
cg_pair() { # broker name unit-field argsA -- argsB
	local b=$1 name=$2 field=$3
	shift 3
	local a=() bb=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	bb=("$@")
	cg_run "$b" "$name-a" "${a[@]}"
	cg_run "$b" "$name-b" "${bb[@]}"
	$PY - "$OUT" "$b" "$name" "$field" \
	    "$(cg_total "$OUT/cg-$name-a.out")" \
	    "$(cg_total "$OUT/cg-$name-b.out")" >>"$OUT/callgrind.jsonl" \
	    <<'PY' || echo "profile: callgrind $name failed" >&2
import json, sys
out, b, name, field, ira, irb = sys.argv[1:]
def units(tag):
    j = json.load(open("%s/cg-%s.json" % (out, tag)))
    if field == "received":
        return j["received"]
    return j["connect"]["ready"]
ua, ub = units(name + "-a"), units(name + "-b")
print(json.dumps({"broker": b, "scenario": name, "unit": field,
                  "ir_a": int(ira), "ir_b": int(irb), "units_a": ua,
                  "units_b": ub,
                  "ir_per_unit": (int(irb) - int(ira)) / max(1, ub - ua)}))
PY
	tail -1 "$OUT/callgrind.jsonl" >&2
	callgrind_annotate --inclusive=yes "$OUT/cg-$name-b.out" 2>/dev/null |
	    head -60 >"$OUT/cg-$name-inclusive.txt" || true
	callgrind_annotate "$OUT/cg-$name-b.out" 2>/dev/null |
	    head -60 >"$OUT/cg-$name-self.txt" || true
}

# Per-function Ir per unit: callgrind_annotate of both runs, differenced.
cg_per_unit() { # scenario
	$PY - "$OUT" "$1" <<'PY'
import json, re, subprocess, sys
# usage: cgdiff.py OUT name
out, name = sys.argv[1:3]
rows = {}
for l in open(out + "/callgrind.jsonl"):
    r = json.loads(l)
    rows[r["scenario"]] = r
r = rows[name]
du = r["units_b"] - r["units_a"]
def table(tag, inclusive):
    args = ["callgrind_annotate", "--threshold=100", "--auto=no"]
    if inclusive:
        args.append("--inclusive=yes")
    txt = subprocess.run(args + ["%s/cg-%s-%s.out" % (out, name, tag)],
                         capture_output=True, text=True).stdout
    d = {}
    lines = txt.splitlines()
    start = max(i for i, l in enumerate(lines) if l.strip().endswith("file:function")) + 2
    body = []
    for l in lines[start:]:
        if not l.strip() or l.startswith("---"):
            break
        body.append(l)
    for line in body:
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*?)(?:\s+\[.*\])?$", line)
        if not m or ":" not in m.group(2):
            continue
        fn = m.group(2).split(":", 1)[1]
        d[fn] = d.get(fn, 0) + int(m.group(1).replace(",", ""))
    return d
for inc in (True, False):
    a, b = table("a", inc), table("b", inc)
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / du for k in set(a) | set(b)}
    print("## %s Ir per %s (%s): total %.0f" % (
        "inclusive" if inc else "self", r["unit"], name, r["ir_per_unit"]))
    for k, v in sorted(diff.items(), key=lambda x: -x[1])[:22]:
        print("%10.0f  %5.1f%%  %s" % (v, 100 * v / r["ir_per_unit"], k))
    print()
PY
}

CG_SCENARIOS=${CG_SCENARIOS:-"fanin_q0 fanout_q0 pairs_q1 conn conn_logging conn_mosquitto"}
section_callgrind() {
	local s
	for s in $CG_SCENARIOS; do
		"cg_$s"
		cg_per_unit "$s" >"$OUT/cg-$s-per-unit.txt" || true
	done
}

cg_fanin_q0() {
	cg_pair starling fanin_q0 received \
	    run fanin -P 8 -c 1 -q 0 -s 64 -r 250 -d 2 -- \
	    run fanin -P 8 -c 1 -q 0 -s 64 -r 250 -d 7
}

cg_fanout_q0() {
	cg_pair starling fanout_q0 received \
	    run fanout -P 1 -c 1000 -q 0 -s 64 -r 2 -d 3 -- \
	    run fanout -P 1 -c 1000 -q 0 -s 64 -r 2 -d 8
}

cg_pairs_q1() {
	cg_pair starling pairs_q1 received \
	    run pairs -c 1000 -q 1 -w 20 -s 64 -r 1 -d 3 --drain 20 -- \
	    run pairs -c 1000 -q 1 -w 20 -s 64 -r 1 -d 8 --drain 20
}

# Connections: connect, CONNACK, hold, DISCONNECT, close - per connection.
cg_conn() {
	cg_pair starling conn ready \
	    conn -c 500 -k 300 -d 0.5 -- conn -c 2500 -k 300 -d 0.5
}

cg_conn_logging() { # with the connect/disconnect log lines (default)
	QUIET_LOG=0 cg_pair starling conn_logging ready \
	    conn -c 500 -k 300 -d 0.5 -- conn -c 2500 -k 300 -d 0.5
}

cg_conn_mosquitto() {
	cg_pair mosquitto conn_mosquitto ready \
	    conn -c 500 -k 300 -d 0.5 -- conn -c 2500 -k 300 -d 0.5
}

# ------------------------------------------------------------------ #
# Connect rate: both brokers, alternating, CPU% of each side sampled

# Runs the generator and samples utime+stime of it and of the broker
# every 20 ms; prints the run's JSON plus the CPU% of both processes over
# the connect phase (the first busy stretch, connect.seconds long).
sampled_conn() { # broker out-json args...
	local b=$1 out=$2 addrs="" _
	shift 2
	for _ in $(seq 1 "$IFADDR_N"); do
		src=$((src % 250 + 1))
		addrs="$addrs${addrs:+,}127.0.0.$src"
	done
	$PY - "$broker_pid" "$b" "$out" taskset -c "$BENCH_CPU" "$BENCH" \
	    "$@" --ifaddr "$addrs" --json --quiet <<'PY'
import json, os, subprocess, sys, time
bpid, broker, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
hz = os.sysconf("SC_CLK_TCK")
def ticks(pid):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError):
        return None
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
t0 = time.monotonic()
samples = []
while p.poll() is None:
    g, b = ticks(p.pid), ticks(bpid)
    if g is not None and b is not None:
        samples.append((time.monotonic() - t0, b, g))
    time.sleep(0.02)
res = json.loads(p.stdout.read() or b"{}")
conn = res.get("connect", {})
secs = conn.get("seconds", 0)
# The connect phase begins when the broker starts working.
start = next((s for s in samples if s[1] > samples[0][1]), samples[0])
# take the window [start - 1 sample, start + secs]
i0 = max(0, samples.index(start) - 1)
w = [s for s in samples[i0:] if s[0] <= start[0] + secs + 0.02]
if len(w) < 2:
    w = samples[i0:i0 + 2]
span = w[-1][0] - w[0][0] or 1
row = {"broker": broker, "per_s": conn.get("per_s"), "ready":
       conn.get("ready"), "connect_s": secs,
       "broker_cpu_pct": 100.0 * (w[-1][1] - w[0][1]) / hz / span,
       "gen_cpu_pct": 100.0 * (w[-1][2] - w[0][2]) / hz / span,
       "window_s": span,
       "gen_cpu_total_s": res.get("cpu_user_s", 0) + res.get("cpu_sys_s", 0)}
open(out, "a").write(json.dumps(row) + "\n")
print(json.dumps(row), file=sys.stderr)
PY
}

# TIME_WAIT sockets left by earlier runs make the generator's connect()
# slow (the kernel's ephemeral port search, __inet_hash_connect); with
# TW_DRAIN=1 each run first waits (at most 70 s) until fewer than 500
# remain, so that the runs measure the brokers.
tw_count() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "tw") print $(i + 1)}' /proc/net/sockstat; }
tw_drain() {
	local t0=$SECONDS
	while [ "${TW_DRAIN:-0}" = 1 ] && [ "$(tw_count)" -gt 500 ] &&
	    [ $((SECONDS - t0)) -lt 70 ]; do
		sleep 2
	done
	tw_count
}

section_connrate() {
	: >"$OUT/connrate.jsonl"
	for rep in $(seq 1 "$REPS"); do
		for b in starling mosquitto; do
			local port tw
			tw=$(tw_drain)
			echo "profile: connrate $b rep $rep, TIME_WAIT $tw" >&2
			port=$(free_port)
			start_broker "$b" "$port"
			sleep 0.3
			sampled_conn "$b" "$OUT/connrate.jsonl" conn \
			    -c "$CONNS" -k 300 -d 2 -p "$port"
			stop_broker
		done
	done
	# Starling again with connection logging off, to price the log line.
	for rep in $(seq 1 "$NOLOG_REPS"); do
		local port tw
		tw=$(tw_drain)
		echo "profile: connrate starling-nolog rep $rep, TIME_WAIT $tw" >&2
		port=$(free_port)
		QUIET_LOG=1 start_broker starling "$port"
		sleep 0.3
		sampled_conn starling-nolog "$OUT/connrate.jsonl" conn \
		    -c "$CONNS" -k 300 -d 2 -p "$port"
		stop_broker
	done
	$PY - "$OUT/connrate.jsonl" <<'PY' | tee "$OUT/connrate.txt"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| broker | connects/s median [all] | broker CPU% | generator CPU% |")
print("| --- | --- | --- | --- |")
for b in ("starling", "mosquitto", "starling-nolog"):
    r = [x for x in rows if x["broker"] == b]
    if not r:
        continue
    f = lambda k: statistics.median(x[k] for x in r)
    print("| %s | %.0f [%s] | %.0f | %.0f |" % (b, f("per_s"),
          ", ".join("%.0f" % x["per_s"] for x in r), f("broker_cpu_pct"),
          f("gen_cpu_pct")))
PY
}

# The generator's side of a connect storm: perf of BENCH_CPU while one
# conn run of CONNS connections from one source address goes on.
section_genperf() {
	local port tw
	tw=$(TW_DRAIN=${TW_DRAIN:-1} tw_drain)
	echo "profile: genperf, TIME_WAIT $tw" >&2
	port=$(free_port)
	QUIET_LOG=1 start_broker starling "$port"
	perf record -q -e cpu-clock -F "$PERF_HZ" -g -C "$BENCH_CPU" \
	    -o "$OUT/perf-gen.data" -- sleep 5 >/dev/null 2>&1 &
	local ppid=$!
	started+=("$ppid")
	sleep 0.3
	bench "$OUT/perf-gen.json" conn -c "$CONNS" -k 300 -d 1 -p "$port"
	wait "$ppid" || true
	stop_broker
	perf_tables "$OUT/perf-gen.data" starling-bench "$OUT/perf-gen.txt"
	grep -h "connect:" "$OUT/perf-gen.err" >>"$OUT/perf-gen.txt" || true
}

# ------------------------------------------------------------------ #
# strace -c: syscalls per connection, both brokers

section_strace() {
	for b in starling mosquitto; do
		local port
		port=$(free_port)
		QUIET_LOG=0 start_broker "$b" "$port" strace -c -f -o \
		    "$OUT/strace-$b.txt"
		bench "$OUT/strace-$b.json" conn -c 2000 -k 300 -d 0.5 \
		    -p "$port" --connect-timeout 60
		# Stop the traced broker (strace's child, ours); strace then
		# writes its summary and exits.
		local child
		child=$(cat "/proc/$broker_pid/task/$broker_pid/children")
		for c in $child; do
			kill -TERM "$c" 2>/dev/null || true
		done
		stop_broker
	done
}

# ------------------------------------------------------------------ #
# DHAT: heap blocks per connection, both brokers

dhat_blocks() { # file -> total blocks
	sed -n 's/^.*Total: *[0-9,]* bytes in \([0-9,]*\) blocks.*$/\1/p' \
	    "$1" | head -1 | tr -d ,
}

section_dhat() {
	: >"$OUT/dhat.txt"
	for b in starling mosquitto; do
		for n in 500 2500; do
			local port
			port=$(free_port)
			MOSQ_ROOT=1 QUIET_LOG=1 start_broker "$b" "$port" \
			    valgrind --tool=dhat --dhat-out-file="$VG/dhat-$b-$n.json" \
			    --log-file="$VG/dhat-$b-$n.log"
			bench "$OUT/dhat-$b-$n.json.bench" conn -c "$n" -k 300 \
			    -d 0.5 -p "$port" --connect-timeout 120
			stop_broker
		done
		local a z
		a=$(dhat_blocks "$VG/dhat-$b-500.log")
		z=$(dhat_blocks "$VG/dhat-$b-2500.log")
		echo "$b: $(((z - a) / 2000)) heap blocks per connection" \
		    "(500 conns: $a, 2500 conns: $z)" | tee -a "$OUT/dhat.txt"
	done
}

for s in $SECTIONS; do
	"section_$s"
done
echo "profile: done; results in $OUT" >&2
