#!/usr/bin/env bash
# bench/scaling.sh - Starling with `workers 1` and `workers 2` on this
# machine, with the generator's share of the cores made visible; writes its
# section of bench/RESULTS.md (between <!-- scaling:begin --> and
# <!-- scaling:end -->, via bench/section.py) and bench/RESULTS-scaling.jsonl
# (one line per run).
#
#   bench/scaling.sh                          # REPS=3, DURATION=5
#   SCENARIOS=fanout_q0 PLACEMENTS="a b" REPS=1 DURATION=2 \
#       OUT=/tmp/s.md bench/scaling.sh        # a smoke run
#   STARLING=/tmp/b/bin/starling BENCH=/tmp/b/bin/starling-bench bench/scaling.sh
#   REPORT_ONLY=1 bench/scaling.sh            # the report again from JSONL
#
# On a 2-core machine the generator (starling-bench) needs a core too, so
# "2 workers vs 1" cannot be measured with the generator out of the way.
# The placements (broker CPUs / generator CPUs, `taskset`):
#   a  Starling workers 1 on CPU 0, generator on CPU 1 (as compare.sh)
#   b  Starling workers 2 on CPUs 0-1, generator on CPUs 0-1
#   c  Starling workers 1 on CPUs 0-1, generator on CPUs 0-1
#      (b's sharing with one worker: b vs c is the worker count alone)
#   d  as b, but the generator with --threads 2
#   m  Mosquitto on CPUs 0-1, generator on CPUs 0-1 (c's placement)
# The generator runs GEN_THREADS threads (default 1) except in d.
# Scenarios are compare.sh's (`bench/compare.sh --args NAME`).  Each
# scenario runs REPS rounds, every placement once per round in turn, a
# fresh broker per run; the report gives medians.  CPU is sampled every
# 100 ms from /proc/PID/task/*/stat (broker per thread, generator) and
# /proc/stat (everything else on the machine, so that a run that shared
# the cores with other work shows it), and reported for the publishing
# window as cores busy.
#
# Traffic stays on loopback; every generator run is killed after
# DURATION + 90 s at the latest; only processes started here are stopped,
# by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
DURATION=${DURATION:-5}
OUT=${OUT:-bench/RESULTS.md}
JSONL=${JSONL:-${OUT%.md}-scaling.jsonl}
SCENARIOS=${SCENARIOS:-"fanin_q0 fanout_q0 pairs_q1"}
PLACEMENTS=${PLACEMENTS:-"a b c d m"}
GEN_THREADS=${GEN_THREADS:-1}
BENCH=${BENCH:-build/bin/starling-bench}
STARLING=${STARLING:-build/bin/starling}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
export DURATION

for f in "$BENCH" "$STARLING" "$MOSQUITTO"; do
	if [ ! -x "$f" ]; then
		echo "scaling: $f missing (make build; apt-get install mosquitto)" >&2
		exit 1
	fi
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Placement table: broker workers broker-CPUs generator-CPUs threads.
placement() {
	case $1 in
	a) echo "starling 1 0 1 $GEN_THREADS" ;;
	b) echo "starling 2 0-1 0-1 $GEN_THREADS" ;;
	c) echo "starling 1 0-1 0-1 $GEN_THREADS" ;;
	d) echo "starling 2 0-1 0-1 2" ;;
	m) echo "mosquitto - 0-1 0-1 $GEN_THREADS" ;;
	*) echo "scaling: unknown placement $1" >&2; exit 1 ;;
	esac
}
for p in $PLACEMENTS; do placement "$p" >/dev/null; done
# REPORT_ONLY=1: no runs; the report is written again from JSONL.
if [ "${REPORT_ONLY:-0}" = 1 ]; then
	SCENARIOS=""
fi
declare -A ARGS
for s in $SCENARIOS; do
	ARGS[$s]=$(bench/compare.sh --args "$s")
done

work=$(mktemp -d /tmp/starling-scaling.XXXXXX)
broker_pid=""
gen_pid=""
sampler_pid=""
cleanup() {
	for p in "$sampler_pid" "$gen_pid" "$broker_pid"; do
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. bench/lib.sh

# compare.sh's configuration, so that the numbers line up with its report.
write_conf() { # port workers file
	cat >"$3" <<EOF
listener $1 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_queued_messages 1000000
max_inflight_messages 20
log_dest file $work/broker.log
EOF
	if [ "$2" != - ]; then echo "workers $2" >>"$3"; fi
}

start_broker() { # name workers cpus port
	local conf=$work/broker.conf
	write_conf "$4" "$2" "$conf"
	case $1 in
	mosquitto) taskset -c "$3" "$MOSQUITTO" -c "$conf" >/dev/null 2>&1 & ;;
	starling) taskset -c "$3" "$STARLING" -c "$conf" >/dev/null 2>&1 & ;;
	esac
	broker_pid=$!
	if ! wait_port "$4"; then
		echo "scaling: $1 did not start" >&2
		exit 1
	fi
}

stop_broker() {
	kill -TERM "$broker_pid" 2>/dev/null || true
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=""
}

# Samples, every 100 ms until the generator (the child of pid $2, which
# is `timeout`) exits or $4 seconds pass, the CPU ticks of every broker
# thread and of the generator: one JSON line per sample to $3, with
# CLOCK_REALTIME in ns, so that the publishing window can be cut out later.
sampler() { # broker-pid timeout-pid file limit-s
	exec python3 - "$@" <<'PY'
import json, os, sys, time
bpid, tpid, out, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

def ticks(pid):
    d = {}
    try:
        tids = os.listdir("/proc/%s/task" % pid)
    except OSError:
        return d
    for t in tids:
        try:
            s = open("/proc/%s/task/%s/stat" % (pid, t)).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        d[t] = int(f[11]) + int(f[12])
    return d

def busy():
    # The machine: every CPU's busy time (steal included), in ticks.
    f = open("/proc/stat").readline().split()
    return sum(int(f[i]) for i in (1, 2, 3, 6, 7, 8))

def child(pid):
    try:
        return open("/proc/%s/task/%s/children" % (pid, pid)).read().split()
    except OSError:
        return []

end = time.monotonic() + limit
gpid = None
with open(out, "w") as f:
    while time.monotonic() < end and os.path.exists("/proc/" + tpid):
        if gpid is None:
            kids = child(tpid)
            gpid = kids[0] if kids else None
        g = ticks(gpid) if gpid else {}
        f.write(json.dumps({"t": time.time_ns(), "broker": ticks(bpid),
                            "gen": sum(g.values()), "all": busy()}) + "\n")
        f.flush()
        time.sleep(0.1)
PY
}

results=$work/results.jsonl
: >"$results"
src=2 # 127.0.0.X source address, changed per run to dodge TIME_WAIT
limit=$((DURATION + 90))

for scen in $SCENARIOS; do
	args=${ARGS[$scen]}
	for rep in $(seq 1 "$REPS"); do
		for pl in $PLACEMENTS; do
			read -r broker workers bcpus gcpus threads <<<"$(placement "$pl")"
			port=$(free_port)
			start_broker "$broker" "$workers" "$bcpus" "$port"
			sleep 0.3
			src=$((src % 250 + 1))
			t0=$(date +%s%N)
			# shellcheck disable=SC2086
			timeout -k 5 "$limit" taskset -c "$gcpus" "$BENCH" $args \
				--threads "$threads" -p "$port" \
				--ifaddr "127.0.0.$src" --json --quiet \
				>"$work/out.json" 2>"$work/err.txt" &
			gen_pid=$!
			sampler "$broker_pid" "$gen_pid" "$work/samples" \
				$((limit + 10)) &
			sampler_pid=$!
			rc=0
			wait "$gen_pid" || rc=$?
			gen_pid=""
			wait "$sampler_pid" || true
			sampler_pid=""
			stop_broker
			python3 - "$scen" "$args" "$pl" "$broker" "$workers" "$bcpus" \
				"$gcpus" "$threads" "$rep" "$rc" "$t0" \
				"$(getconf CLK_TCK)" "$work/samples" \
				"$work/out.json" >>"$results" <<'PY'
import json, sys
(scen, args, pl, broker, workers, bcpus, gcpus, threads, rep, rc, t0,
 hz, samples, path) = sys.argv[1:]
hz = int(hz)
try:
    bench = json.load(open(path))
except Exception:
    bench = None
ss = [json.loads(l) for l in open(samples)]

def span(a, b):
    """CPU between samples a and b: broker total, per broker thread
    (sorted, busiest first), generator, everything else on the machine,
    and the seconds between them."""
    per = sorted(((b["broker"][t] - a["broker"].get(t, 0)) / hz
                  for t in b["broker"]), reverse=True)
    gen = (b["gen"] - a["gen"]) / hz
    other = max(0.0, (b["all"] - a["all"]) / hz - sum(per) - gen)
    return sum(per), per, gen, other, (b["t"] - a["t"]) / 1e9

rec = {"scenario": scen, "args": args, "placement": pl, "broker": broker,
       "workers": None if workers == "-" else int(workers),
       "broker_cpus": bcpus, "gen_cpus": gcpus, "gen_threads": int(threads),
       "rep": int(rep), "exit": int(rc), "start_ns": int(t0),
       "loadavg_1m": float(open("/proc/loadavg").read().split()[0])}
if len(ss) >= 2:
    cpu, per, gen, other, wall = span(ss[0], ss[-1])
    rec.update(wall_s=wall, broker_cpu_s=cpu, broker_thread_cpu_s=per)
    # The publishing window: after the connect phase, for duration_s,
    # 0.2 s trimmed at both ends.
    if bench:
        w0 = int(t0) + int((bench["connect"]["seconds"] + 0.2) * 1e9)
        w1 = w0 + int((bench["duration_s"] - 0.4) * 1e9)
        inside = [s for s in ss if w0 <= s["t"] <= w1]
        if len(inside) >= 2:
            cpu, per, gen, other, wall = span(inside[0], inside[-1])
            rec.update(window_s=wall, broker_cores=cpu / wall,
                       broker_thread_cores=[p / wall for p in per],
                       gen_cores=gen / wall, other_cores=other / wall)
rec["bench"] = bench
print(json.dumps(rec))
PY
			echo "scaling: $scen rep $rep placement $pl ($broker) exit $rc" >&2
		done
	done
done

if [ "${REPORT_ONLY:-0}" = 1 ]; then
	cp "$JSONL" "$results"
	REPS=$(python3 -c 'import json, sys
print(max([json.loads(l)["rep"] for l in open(sys.argv[1])] or [0]))' "$results")
	DURATION=$(python3 -c 'import json, sys
print(next((json.loads(l)["args"].split("-d ")[1].split()[0]
            for l in open(sys.argv[1])), "?"))' "$results")
else
	cp "$results" "$JSONL"
fi

python3 - "$results" "$work/scaling.md" "$JSONL" "$REPS" "$DURATION" \
	"$GEN_THREADS" "$MOSQUITTO" <<'PY'
import json, os, platform, statistics, subprocess, sys, time
res, out, jsonl, reps, dur, gthreads, mosq = sys.argv[1:]
rows = [json.loads(l) for l in open(res)]

sys.path.insert(0, "bench")
from benchlib import cpu_model, mosq_version as _mosq_version

def mosq_version():
    return _mosq_version(mosq)

TITLE = {
    "fanin_q0": "Fan-in 8 -> 1, QoS 0, 64 B, flat out",
    "fanin_q1": "Fan-in 8 -> 1, QoS 1, 64 B, 20 in flight per publisher",
    "fanout_q0": "Fan-out 1 -> 1000, QoS 0, 64 B, flat out",
    "pairs_q1": "1000 pairs, QoS 1, 64 B, 20 in flight per publisher",
    "latency_load": "Fan-out 1 -> 1000 at 100 publishes/s, QoS 0",
}
PL = {
    "a": "Starling workers 1 on CPU 0, generator on CPU 1",
    "b": "Starling workers 2 on CPUs 0-1, generator on CPUs 0-1",
    "c": "Starling workers 1 on CPUs 0-1, generator on CPUs 0-1",
    "d": "Starling workers 2 on CPUs 0-1, generator (2 threads) on CPUs 0-1",
    "m": "Mosquitto on CPUs 0-1, generator on CPUs 0-1",
}
order = [p for p in "abcdm" if any(r["placement"] == p for r in rows)]

def gen_cpu(r):
    b = r["bench"] or {}
    return b.get("cpu_user_s", 0) + b.get("cpu_sys_s", 0)

def recv(r):
    return (r["bench"] or {}).get("recv_per_s", 0)

def lost(r):
    return (r["bench"] or {}).get("lost", 0)

def fmt(v):
    if isinstance(v, float) and abs(v) < 100:
        return "%.2f" % v
    return "%.0f" % v

def cell(vals):
    return "%s [%s]" % (fmt(statistics.median(vals)),
                        ", ".join(fmt(v) for v in vals))

lines = []
w = lines.append
w("<!-- scaling:begin -->")
w("## Workers scaling (`bench/scaling.sh`)")
w("")
w("Written by `bench/scaling.sh` on %s: `REPS=%s DURATION=%s "
  "bench/scaling.sh`. Machine: %d cores, %s, Linux %s; %s." % (
      time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), reps, dur,
      os.cpu_count(), cpu_model(), platform.release(), mosq_version()))
w("")
w("Starling with `workers 1` and `workers 2`. The generator "
  "(`starling-bench`, %s thread(s) unless said) needs CPU too, and this "
  "machine has two cores, so every placement is a compromise; they are "
  "chosen so that pairs of them isolate one thing:" % gthreads)
w("")
for p in order:
    w("- **%s**: %s" % (p, PL[p]))
w("")
w("b vs c changes only the worker count (same sharing of both cores with "
  "the generator); a vs c changes only the pinning of a one-worker broker; "
  "d vs b gives the generator a second thread. Broker configuration as in "
  "`bench/compare.sh`. Each scenario: %s rounds, every placement once per "
  "round in turn, a fresh broker per run, %s s of publishing; medians, "
  "every sample in brackets. CPU is utime + stime from "
  "`/proc/PID/task/*/stat`, sampled every 100 ms: *broker cores* and *gen "
  "cores* are CPU seconds per second over the publishing window (after "
  "the connect phase, 0.2 s trimmed at each end; 1.00 = one core busy, "
  "above 1 = more than one core); *broker threads* lists the busiest "
  "broker threads of the median run over that window (a second worker "
  "that works shows as a second large number); *other cores* is the CPU "
  "that everything else on the machine (other processes, hypervisor "
  "steal) took in the window: on 2 cores, anything above ~0.1 means the "
  "run shared the machine and its numbers are low. The whole-run columns "
  "cover connect, publish and drain, like `bench/compare.sh`'s CPU "
  "columns." % (reps, dur))
w("")
for scen in TITLE:
    rs = [r for r in rows if r["scenario"] == scen]
    if not rs:
        continue
    w("### " + TITLE[scen])
    w("")
    w("`starling-bench %s --threads N -p PORT --ifaddr 127.0.0.X --json "
      "--quiet`" % rs[0]["args"])
    w("")
    w("| placement | recv/s | broker cores | broker threads, busiest "
      "(cores) | gen cores | other cores | broker CPU s, whole run | gen CPU "
      "s, whole run | lost | exit codes |")
    w("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    med = {}
    for p in order:
        br = [r for r in rs if r["placement"] == p]
        if not br:
            continue
        rv = [recv(r) for r in br]
        med[p] = statistics.median(rv)
        bc = [r.get("broker_cpu_s", 0) for r in br]
        cores = [r.get("broker_cores", 0) for r in br]
        gcores = [r.get("gen_cores", 0) for r in br]
        ocores = [r["other_cores"] for r in br if "other_cores" in r]
        # the median run's busiest threads
        mid = sorted(br, key=recv)[len(br) // 2]
        top = [t for t in mid.get("broker_thread_cores", []) if t >= 0.01][:3]
        w("| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            p, PL[p], cell(rv), cell(cores),
            " + ".join("%.2f" % t for t in top) or "0", cell(gcores),
            cell(ocores) if ocores else "-",
            cell(bc), cell([gen_cpu(r) for r in br]),
            fmt(statistics.median([lost(r) for r in br])),
            ",".join(str(r["exit"]) for r in br)))
    w("")
    ratios = []
    for num, den, what in (("b", "c", "2 workers / 1 worker, same sharing"),
                           ("b", "a", "2 workers shared / 1 worker pinned"),
                           ("c", "a", "1 worker shared / 1 worker pinned"),
                           ("d", "b", "generator 2 threads / 1 thread"),
                           ("b", "m", "Starling b / Mosquitto m"),
                           ("a", "m", "Starling a / Mosquitto m")):
        if med.get(num) is not None and med.get(den):
            ratios.append("%s (%s/%s) %.2f" % (what, num, den,
                                                med[num] / med[den]))
    if ratios:
        w("recv/s ratios of medians: " + "; ".join(ratios) + ".")
        w("")
    # A run that delivered (almost) nothing while publishing, and the rest
    # in the drain phase: the broker spent the window in one long turn.
    for r in rs:
        b = r["bench"] or {}
        mr = med.get(r["placement"]) or 0
        if mr and recv(r) < 0.05 * mr and b.get("received", 0) > 0:
            w("Note: %s run %d (placement %s) delivered %s/s in the "
              "publishing window but %d messages in all, p50 latency %.1f "
              "s: the deliveries came after the window, in the drain phase "
              "(it counts in the median as it is)." % (
                  r["broker"], r["rep"], r["placement"], fmt(recv(r)),
                  b["received"], b.get("latency_us", {}).get("p50", 0) / 1e6))
            w("")
w("Raw per-run numbers: `%s`." % os.path.basename(jsonl))
w("<!-- scaling:end -->")
open(out, "w").write("\n".join(lines) + "\n")
PY
python3 bench/section.py scaling "$work/scaling.md" "$OUT"
