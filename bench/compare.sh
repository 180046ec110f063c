#!/usr/bin/env bash
# bench/compare.sh - Starling and Mosquitto side by side, in one run, on this
# machine, with starling-bench; writes bench/RESULTS.md.
#
# Each scenario runs REPS times per broker, alternating brokers (A B A B ...)
# so that drift in a shared, noisy machine hits both alike.  Every run gets a
# fresh broker process (so RSS and queues start clean), the broker pinned to
# BROKER_CPU and the generator to BENCH_CPU.  The report gives medians and
# the Starling/Mosquitto ratio; until build/bin/starling exists it measures
# Mosquitto alone and says so.
#
#   bench/compare.sh                 # all scenarios, REPS=3, DURATION=5
#   REPS=5 DURATION=10 bench/compare.sh
#   SCENARIOS="fanin_q0 latency" bench/compare.sh
#   DURATION=2 bench/compare.sh --args fanout_q0   # print a scenario's args
#   STARLING=/tmp/b/bin/starling BENCH=/tmp/b/bin/starling-bench \
#       OUT=/tmp/r.md bench/compare.sh   # another build, another report
#
# Traffic stays on loopback; every run is bounded by DURATION plus the
# generator's own connect and drain deadlines.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
DURATION=${DURATION:-5}
OUT=${OUT:-bench/RESULTS.md}
BROKER_CPU=${BROKER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
IDLE_CONNS=${IDLE_CONNS:-15000}
SCENARIOS=${SCENARIOS:-"ceiling fanin_q0 fanin_q1 fanout_q0 pairs_q1 idle latency latency_load"}

BENCH=${BENCH:-build/bin/starling-bench}
STARLING=${STARLING:-build/bin/starling}
CODEC_BENCH=${CODEC_BENCH:-$(dirname "$BENCH")/starling-codec-bench}

# Scenario table: name, then starling-bench arguments (port added later).
scenario_args() {
	case $1 in
	ceiling) echo "pub -c 8 -q 0 -s 64 -t bench/ceiling -d $DURATION" ;;
	fanin_q0) echo "run fanin -P 8 -c 1 -q 0 -s 64 -d $DURATION" ;;
	fanin_q1) echo "run fanin -P 8 -c 1 -q 1 -w 20 -s 64 -d $DURATION --drain 30" ;;
	fanout_q0) echo "run fanout -P 1 -c 1000 -q 0 -s 64 -d $DURATION" ;;
	pairs_q1) echo "run pairs -c 1000 -q 1 -w 20 -s 64 -d $DURATION --drain 30" ;;
	idle) echo "conn -c $IDLE_CONNS -k 300 -d $DURATION" ;;
	latency) echo "run fanin -P 8 -c 1 -q 1 -r 2000 -s 64 -d $DURATION" ;;
	# A fixed load that keeps Mosquitto busy: 100 publishes/s, each to
	# 1000 subscribers, 100,000 deliveries/s.
	latency_load) echo "run fanout -P 1 -c 1000 -q 0 -r 100 -s 64 -d $DURATION" ;;
	*) echo "compare: unknown scenario $1" >&2; exit 1 ;;
	esac
}

# `bench/compare.sh --args SCENARIO` prints the scenario's generator
# arguments (with DURATION, IDLE_CONNS) and exits: bench/scaling.sh runs
# the same scenarios.
if [ "${1:-}" = --args ]; then
	scenario_args "${2:?scenario}"
	exit 0
fi

if ! command -v mosquitto >/dev/null 2>&1 || ! command -v python3 >/dev/null; then
	sh deploy/install-deps.sh
fi
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
if [ ! -x "$BENCH" ]; then
	make build
fi

# Both processes of a run need IDLE_CONNS descriptors; raise the soft limit
# as far as the hard one allows (the generator checks and says if short).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/starling-compare.XXXXXX)
broker_pid=""
cleanup() {
	if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
		kill -TERM "$broker_pid" 2>/dev/null || true
		wait "$broker_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

brokers="mosquitto"
if [ -x "$STARLING" ]; then
	brokers="starling mosquitto"
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh

# The same Mosquitto-syntax configuration for both brokers: loopback only,
# anonymous, no persistence, Nagle off, and queues deep enough that a
# flat-out QoS 1 run measures delivery, not Mosquitto's default 1000-message
# queue cap dropping messages.
write_conf() {
	cat >"$2" <<EOF
listener $1 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_queued_messages 1000000
max_inflight_messages 20
log_dest file $work/broker.log
EOF
}

# Starling runs one worker per CPU it is pinned to (Mosquitto has one
# thread whatever it is given).
broker_cpus=$(python3 -c 'import sys
n = 0
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    n += int(b or a) - int(a) + 1
print(n)' "$BROKER_CPU")

start_broker() { # name port
	local conf=$work/$1.conf
	write_conf "$2" "$conf"
	if [ "$1" = starling ]; then
		echo "workers $broker_cpus" >>"$conf"
	fi
	case $1 in
	mosquitto) taskset -c "$BROKER_CPU" "$MOSQUITTO" -c "$conf" >/dev/null 2>&1 & ;;
	starling) taskset -c "$BROKER_CPU" "$STARLING" -c "$conf" >/dev/null 2>&1 & ;;
	esac
	broker_pid=$!
	if ! wait_port "$2"; then
		echo "compare: $1 did not start" >&2
		exit 1
	fi
}

stop_broker() {
	kill -TERM "$broker_pid" 2>/dev/null || true
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=""
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

results=$work/results.jsonl
: >"$results"
src=2 # 127.0.0.X source address, changed per run to dodge TIME_WAIT

for scen in $SCENARIOS; do
	args=$(scenario_args "$scen")
	for rep in $(seq 1 "$REPS"); do
		for b in $brokers; do
			port=$(free_port)
			start_broker "$b" "$port"
			sleep 0.3
			base=$(rss_kb "$broker_pid")
			cpu0=$(cpu_ticks "$broker_pid")
			src=$((src % 250 + 1))
			# shellcheck disable=SC2086
			taskset -c "$BENCH_CPU" "$BENCH" $args -p "$port" \
				--ifaddr "127.0.0.$src" --json --quiet \
				>"$work/out.json" 2>"$work/err.txt" &
			bpid=$!
			peak=$base
			while kill -0 "$bpid" 2>/dev/null; do
				r=$(rss_kb "$broker_pid")
				[ "${r:-0}" -gt "$peak" ] && peak=$r
				sleep 0.2
			done
			rc=0
			wait "$bpid" || rc=$?
			cpu1=$(cpu_ticks "$broker_pid")
			stop_broker
			python3 - "$scen" "$b" "$rep" "$rc" "$base" "$peak" \
				"$cpu0" "$cpu1" "$(getconf CLK_TCK)" \
				"$work/out.json" "$args" >>"$results" <<'PY'
import json, sys
scen, broker, rep, rc, base, peak, c0, c1, hz, path, args = sys.argv[1:]
try:
    bench = json.load(open(path))
except Exception:
    bench = None
print(json.dumps({"scenario": scen, "args": args, "broker": broker,
                  "rep": int(rep),
                  "exit": int(rc), "rss_base_kb": int(base),
                  "rss_peak_kb": int(peak),
                  "broker_cpu_s": (int(c1) - int(c0)) / int(hz),
                  "bench": bench}))
PY
			echo "compare: $scen rep $rep $b exit $rc" >&2
		done
	done
done

# Every run's raw numbers stay beside the report.
cp "$results" "${OUT%.md}.jsonl"

# The codec micro-benchmark rides along, pinned like the broker would be.
codec=$work/codec.txt
if [ -x "$CODEC_BENCH" ]; then
	taskset -c "$BROKER_CPU" "$CODEC_BENCH" >"$codec" 2>&1 || true
fi

python3 - "$results" "$OUT" "$REPS" "$DURATION" "$BROKER_CPU" "$BENCH_CPU" \
	"$MOSQUITTO" "$brokers" "$IDLE_CONNS" "$codec" "$CODEC_BENCH" <<'PY'
import json, os, platform, re, statistics, subprocess, sys, time
(res_path, out, reps, dur, bcpu, gcpu, mosq, brokers, idle, codec,
 codec_bin) = sys.argv[1:]
rows = [json.loads(l) for l in open(res_path)]
brokers = brokers.split()

sys.path.insert(0, "bench")
from benchlib import cpu_model, mosq_version as _mosq_version

def mosq_version():
    return _mosq_version(mosq)

TITLE = {
    "ceiling": "Generator ceiling: 8 publishers flat out, QoS 0, no subscribers",
    "fanin_q0": "Fan-in 8 -> 1, QoS 0, 64 B, flat out",
    "fanin_q1": "Fan-in 8 -> 1, QoS 1, 64 B, 20 in flight per publisher",
    "fanout_q0": "Fan-out 1 -> 1000, QoS 0, 64 B, flat out",
    "pairs_q1": "1000 pairs, QoS 1, 64 B, 20 in flight per publisher",
    "idle": "Idle connections (%s), keepalive 300 s" % idle,
    "latency": "Latency at a fixed rate: 8 publishers x 2000 msg/s, QoS 1",
    "latency_load": "Latency under load: fan-out 1 -> 1000, 100 publishes/s "
                    "(100,000 deliveries/s), QoS 0, 64 B",
}

def metrics(scen, r):
    b = r["bench"] or {}
    dur_s = b.get("duration_s") or 1
    gen_cpu = (b.get("cpu_user_s", 0) + b.get("cpu_sys_s", 0))
    m = {}
    if scen == "ceiling":
        m["sent/s"] = b.get("sent_per_s", 0)
    elif scen == "idle":
        m["connects/s"] = b.get("connect", {}).get("per_s", 0)
        n = b.get("connect", {}).get("ready", 0) or 1
        m["RSS B/conn"] = (r["rss_peak_kb"] - r["rss_base_kb"]) * 1024 / n
    elif scen == "latency":
        lat = b.get("latency_us", {})
        m["p50 us"] = lat.get("p50", 0)
        m["p99 us"] = lat.get("p99", 0)
        m["recv/s"] = b.get("recv_per_s", 0)
    elif scen == "latency_load":
        lat = b.get("latency_us", {})
        m["p50 us"] = lat.get("p50", 0)
        m["p99 us"] = lat.get("p99", 0)
        m["p99.9 us"] = lat.get("p999", 0)
        m["max us"] = lat.get("max", 0)
        m["recv/s"] = b.get("recv_per_s", 0)
        m["lost"] = b.get("lost", 0)
    else:
        m["recv/s"] = b.get("recv_per_s", 0)
        m["lost"] = b.get("lost", 0)
    m["broker CPU s"] = r["broker_cpu_s"]
    m["gen CPU s"] = gen_cpu
    m["peak RSS MiB"] = r["rss_peak_kb"] / 1024
    return m

LOWER_BETTER = {"p50 us", "p99 us", "p99.9 us", "max us", "RSS B/conn",
                "broker CPU s", "gen CPU s", "peak RSS MiB", "lost"}

def fmt(v):
    if isinstance(v, float) and abs(v) < 100:
        return "%.2f" % v
    return "%.0f" % v

lines = []
w = lines.append
w("# Benchmark results")
w("")
w("Written by `bench/compare.sh` on %s. Re-run it to refresh this file." %
  time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
w("")
w("- Machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu_model(),
                                          platform.release()))
w("- Brokers: %s" % ", ".join(brokers))
w("- Mosquitto: %s" % mosq_version())
w("- Pinning: broker on CPU %s, starling-bench on CPU %s (`taskset`)" %
  (bcpu, gcpu))
w("- Each scenario: %s runs per broker, %s s each, brokers alternating, a "
  "fresh broker process per run; medians below, every sample in "
  "brackets." % (reps, dur))
w("- Broker config (both): loopback listener, anonymous, no persistence, "
  "`set_tcp_nodelay true`, `max_queued_messages 1000000`, "
  "`max_inflight_messages 20`; Starling also `workers N`, one per CPU "
  "in BROKER_CPU.")
if brokers == ["mosquitto"]:
    w("- **Starling's broker is not built yet (build/bin/starling is "
      "missing): these numbers are Mosquitto alone, the baseline the "
      "broker will be compared against.**")
w("")
w("Command: `REPS=%s DURATION=%s bench/compare.sh`" % (reps, dur))
w("")
for scen in TITLE:
    rs = [r for r in rows if r["scenario"] == scen]
    if not rs:
        continue
    w("## " + TITLE[scen])
    w("")
    w("`starling-bench %s -p PORT --ifaddr 127.0.0.X --json --quiet`" %
      rs[0]["args"])
    w("")
    keys = list(metrics(scen, rs[0]).keys())
    hdr = "| broker | " + " | ".join(keys) + " | exit codes |"
    w(hdr)
    w("|" + " --- |" * (len(keys) + 2))
    med = {}
    for b in brokers:
        br = [r for r in rs if r["broker"] == b]
        if not br:
            continue
        ms = [metrics(scen, r) for r in br]
        cells = []
        for k in keys:
            vals = [m[k] for m in ms]
            med[(b, k)] = statistics.median(vals)
            cells.append("%s [%s]" % (fmt(med[(b, k)]),
                                      ", ".join(fmt(v) for v in vals)))
        w("| %s | %s | %s |" % (b, " | ".join(cells),
                                 ",".join(str(r["exit"]) for r in br)))
    if len(brokers) == 2:
        cells = []
        for k in keys:
            s, m = med.get(("starling", k)), med.get(("mosquitto", k))
            cells.append("%.2f" % (s / m) if s is not None and m else "-")
        w("| **Starling / Mosquitto** | %s | |" % " | ".join(cells))
        w("")
        w("Ratios above 1 are better for throughput and connects/s; below 1 "
          "is better for latency, RSS and CPU.")
        s, m = med.get(("starling", "p99 us")), med.get(("mosquitto", "p99 us"))
        if scen == "latency_load" and s is not None and m:
            w("")
            w("Target (issue 6): Starling's p99 at most 0.5 x Mosquitto's: "
              "%s (%.2f x, medians)." % ("met" if s <= 0.5 * m else
                                         "**not met**", s / m))
    w("")
w("## Reading these numbers")
w("")
w("- recv/s counts messages delivered to subscribers per second over the "
  "publishing window; with flat-out publishers the broker's delivery rate "
  "is the limit, and its CPU column shows whether it was saturated "
  "(broker CPU s close to the duration means one core busy).")
w("- The generator ceiling row is starling-bench alone pushing QoS 0 "
  "messages that the broker drops (no subscribers): a broker scenario "
  "whose rate approaches it, with the generator's CPU near the duration, "
  "is measuring the generator, not the broker.")
w("- Exit code 2 means QoS 1/2 messages were lost or never acknowledged; "
  "3 means clients failed to connect.")
w("- QoS 1 runs drain for up to 30 s after publishing stops, so that a "
  "broker that acknowledges faster than it delivers shows its backlog as "
  "lower recv/s, not as loss.")
w("- Raw per-run numbers: `%s`." % os.path.basename(out[:-3] + ".jsonl"))
if any(r["scenario"] == "latency_load" for r in rows):
    w("- Latency under load is measured from the publish to each of the "
      "1000 deliveries, so it includes the time the broker takes to write "
      "one message to 1000 sockets and the time the generator takes to "
      "read them (one thread for all 1001 connections). Its CPU column is "
      "no saturation signal here: at a fixed rate starling-bench may spin "
      "on its core between messages. A broker that delivers "
      "less than the offered 100,000/s, or whose CPU is close to the run's "
      "length, is over capacity: its queue, and so its latency, grows for "
      "as long as the run lasts, and its percentiles depend on DURATION.")
if os.path.exists(codec) and os.path.getsize(codec) > 0:
    w("")
    w("## Codec micro-benchmark (proto/)")
    w("")
    w("`taskset -c %s %s` (nanoseconds per "
      "operation, median of 5 runs; one core):" % (bcpu, codec_bin))
    w("")
    w("```")
    w(open(codec).read().rstrip())
    w("```")
# Sections other scripts own (bench/persist.sh and the like) stay as they
# were: every <!-- NAME:begin --> ... <!-- NAME:end --> block of the old
# file, in the order found.
if os.path.exists(out):
    old = open(out).read()
    for blk in re.finditer(r"<!-- ([A-Za-z0-9_.-]+):begin -->.*?"
                           r"<!-- \1:end -->", old, re.S):
        w("")
        w(blk.group(0))
open(out, "w").write("\n".join(lines) + "\n")
print("compare: wrote " + out, file=sys.stderr)
PY
