#!/usr/bin/env bash
# bench/scale.sh - a million sessions (and a million retained messages)
# without sockets: runs tests/scale's starling-scale REPS times per mode,
# pinned to one CPU, and writes the medians as the `scale` section of
# bench/RESULTS.md (bench/section.py).
#
#   bench/scale.sh                  # N=1000000, REPS=3
#   N=200000 REPS=1 bench/scale.sh  # quicker
#
# Everything is in-process (no network); each run is bounded by N.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
REPS=${REPS:-3}
CPU=${CPU:-0}
SCALE=${SCALE:-build/bin/starling-scale}
OUT=${OUT:-bench/RESULTS.md}

if [ ! -x "$SCALE" ]; then
	make build
fi

work=$(mktemp -d /tmp/starling-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT

for mode in sessions retained; do
	for rep in $(seq 1 "$REPS"); do
		flag=""
		[ "$mode" = retained ] && flag="--retained"
		# shellcheck disable=SC2086
		taskset -c "$CPU" "$SCALE" -n "$N" $flag --json \
			>>"$work/$mode.jsonl"
		echo "scale: $mode rep $rep done" >&2
	done
done
cat "$work"/*.jsonl >"${OUT%.md}-scale.jsonl"

python3 - "$work" "$N" "$REPS" "$CPU" >"$work/section.md" <<'PY'
import json, statistics, sys
work, n, reps, cpu = sys.argv[1:]
n = int(n)

def load(mode):
    return [json.loads(l) for l in open("%s/%s.jsonl" % (work, mode))]

def row(rows, key, label, unit, fmt="%.0f"):
    vals = [r[key] for r in rows if key in r]
    if not vals:
        return
    med = statistics.median(vals)
    print("| %s | %s %s | %s |" % (label, fmt % med, unit,
                                   ", ".join(fmt % v for v in vals)))

print("## A million sessions without sockets (in-process)")
print()
print("`bench/scale.sh` (N=%d, REPS=%s): `taskset -c %s "
      "build/bin/starling-scale -n %d [--retained] --json`, medians "
      "[every run]." % (n, reps, cpu, n))
print()
print("Each simulated client is a real `struct broker_conn` on a real "
      "worker loop, driven through the broker's own code (CONNECT, "
      "SUBSCRIBE, PINGREQ and DISCONNECT bytes fed to "
      "`broker__conn_feed`); only the socket is replaced by a stub "
      "that decodes what the broker writes. Kernel socket memory (about "
      "4 KiB per idle TCP connection, see docs/operations.md) is not "
      "included. One worker, one CPU. Heap is what malloc handed out "
      "(mallinfo2), RSS what the process held.")
print()
for mode, title in (("sessions", "Sessions, one subscription each"),
                    ("retained", "Retained messages (64 B payload)")):
    rows = load(mode)
    if any(r.get("failures") for r in rows):
        print("**%s: a run reported failed checks; see the jsonl.**" % mode)
        print()
    print("### %s" % title)
    print()
    print("| measure | median | runs |")
    print("| --- | --- | --- |")
    if mode == "sessions":
        row(rows, "heap_per_session_b", "heap per connected session", "B")
        row(rows, "rss_per_session_b", "RSS per connected session", "B")
        row(rows, "heap_per_sub_b", "heap per subscription", "B")
        row(rows, "rss_per_sub_b", "RSS per subscription", "B")
        row(rows, "connect_s", "time to connect %d clients" % n, "s", "%.2f")
        row(rows, "subscribe_per_s", "subscribes per second", "/s")
        k = 1000
        while k <= n:
            row(rows, "match_ns_%d" % k,
                "trie match at %d subscriptions, exact topic" % k, "ns")
            row(rows, "match_wild_ns_%d" % k,
                "trie match at %d subscriptions, via '+'" % k, "ns")
            k *= 10
        row(rows, "publish_ns", "routed QoS 0 publish to 1 of %d "
            "subscribers, end to end" % n, "ns")
        row(rows, "pingreq_ns", "PINGREQ handled", "ns")
        row(rows, "idle_cpu_ms_per_s", "CPU while idle, every keepalive "
            "armed", "ms/s", "%.2f")
        row(rows, "ka_total_ms", "keepalive checks of all %d over one "
            "period (450 s simulated)" % n, "ms", "%.1f")
        row(rows, "ka_ns_per_conn", "... per connection", "ns")
        row(rows, "ka_tick_mean_us", "... mean 100 ms tick", "us", "%.1f")
        row(rows, "ka_tick_max_us", "... slowest tick (deadlines of a "
            "connect burst)", "us")
        row(rows, "teardown_s", "teardown: %d disconnects, sessions end"
            % n, "s", "%.2f")
        row(rows, "heap_left_b", "heap left after teardown", "B")
    else:
        row(rows, "heap_per_retained_b", "heap per retained message", "B")
        row(rows, "rss_per_retained_b", "RSS per retained message", "B")
        row(rows, "retain_build_s", "time to store %d" % n, "s", "%.2f")
        row(rows, "retain_match_ns", "lookup dev/<i>/state (1 of n)", "ns")
        row(rows, "retain_match_wild_ns", "lookup dev/<i>/+ (1 of n)", "ns")
        row(rows, "retain_clear_s", "time to clear all", "s", "%.2f")
        row(rows, "heap_left_b", "heap left after clearing", "B")
    row(rows, "rss_peak_mib", "peak RSS of the process", "MiB", "%.0f")
    print()
PY
python3 bench/section.py scale "$work/section.md" "$OUT"
