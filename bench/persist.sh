#!/usr/bin/env bash
# bench/persist.sh - persistence benchmarks, Starling (persistence_sync
# always, batch, none) beside Mosquitto (persistence true), on this machine;
# writes the "persist" section of bench/RESULTS.md (between its markers;
# bench/compare.sh keeps that section when it rewrites the file).
#
#   bench/persist.sh                       # everything, REPS=3, DURATION=5
#   SCENARIOS="pairs fanin" bench/persist.sh
#   RETAINED=100000 SESSIONS=10000 bench/persist.sh   # smaller recovery runs
#
# Scenarios:
#   pairs     1000 QoS 1 pairs, 64 B, 20 in flight, persistent sessions
#             (-C false), flat out: delivered messages/s.
#   fanin     8 publishers, 100 in flight each, QoS 1, 64 B, into ONE
#             offline persistent session: messages/s acknowledged (each is
#             on disk first).
#   recovery  RETAINED retained messages (1000 clients x RETAINED/1000
#             random topics), then SESSIONS persistent sessions with 10
#             queued QoS 1 messages each: time to start again (Starling's
#             "Recovered ... in" log line; Mosquitto: until its port
#             accepts) and store size per record.
#   disk      bytes of LMDB per queued 64 B message: 200,000 messages into
#             one offline session (used pages, from --dump-storage).
#
# Brokers are pinned to BROKER_CPU (workers 1), the generator to BENCH_CPU.
# Loopback only; every run is bounded; only processes started here are
# stopped, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
DURATION=${DURATION:-5}
OUT=${OUT:-bench/RESULTS.md}
BROKER_CPU=${BROKER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
RETAINED=${RETAINED:-1000000}
SESSIONS=${SESSIONS:-100000}
SCENARIOS=${SCENARIOS:-"pairs fanin disk recovery"}
VARIANTS=${VARIANTS:-"always batch none mosquitto"}
RECOVERY_VARIANTS=${RECOVERY_VARIANTS:-"always mosquitto"}

BENCH=build/bin/starling-bench
STARLING=build/bin/starling
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if [ ! -x "$BENCH" ] || [ ! -x "$STARLING" ]; then make build; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /var/tmp/starling-persist.XXXXXX)
broker_pid=""
cleanup() {
	if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
		kill -TERM "$broker_pid" 2>/dev/null || true
		wait "$broker_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. bench/lib.sh

# variant port datadir: the config, the same for both brokers where they
# share directives.  Queues are unbounded so that nothing acknowledged is
# dropped by a queue cap (Mosquitto: 0 = no maximum).
write_conf() {
	local conf=$work/$1.conf
	cat >"$conf" <<EOF
listener $2 127.0.0.1
allow_anonymous true
persistence true
persistence_location $3/
set_tcp_nodelay true
max_queued_messages 0
max_inflight_messages 20
log_dest file $work/$1.log
EOF
	case $1 in
	mosquitto) echo "user root" >>"$conf" ;;
	*) printf 'workers 1\npersistence_sync %s\n' "$1" >>"$conf" ;;
	esac
	echo "$conf"
}

start_broker() { # variant port datadir
	local conf
	conf=$(write_conf "$1" "$2" "$3")
	: >"$work/$1.log"
	case $1 in
	mosquitto) taskset -c "$BROKER_CPU" "$MOSQUITTO" -c "$conf" >/dev/null 2>&1 & ;;
	*) taskset -c "$BROKER_CPU" "$STARLING" -c "$conf" >/dev/null 2>&1 & ;;
	esac
	broker_pid=$!
	started_ns=$(date +%s%N)
	if ! wait_port "$2" 600; then
		echo "persist: $1 did not start" >&2
		exit 1
	fi
	# Starling listens before it has recovered; it is ready when it logs
	# that it runs.
	if [ "$1" != mosquitto ]; then
		local i=0
		while ! grep -q " running" "$work/$1.log" && [ $i -lt 60000 ]; do
			sleep 0.01
			i=$((i + 1))
		done
	fi
	up_s=$(python3 -c "print(($(date +%s%N) - $started_ns) / 1e9)")
}

stop_broker() {
	kill -TERM "$broker_pid" 2>/dev/null || true
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=""
}

bench() { # port args...: JSON on stdout
	local port=$1
	shift
	# shellcheck disable=SC2068
	taskset -c "$BENCH_CPU" "$BENCH" $@ -p "$port" --json --quiet 2>>"$work/bench.err" || true
}

# Creates count offline persistent sessions subscribed to topic at QoS 1,
# 10,000 connections at a time (the open-file cap), ids PREFIX-N.
make_sessions() { # port count topic prefix
	local left=$2 i=0
	while [ "$left" -gt 0 ]; do
		local n=$((left < 10000 ? left : 10000))
		bench "$1" sub -c "$n" -q 1 -C false -t "$3" --prefix "$4$i" -d 2 >/dev/null
		left=$((left - n))
		i=$((i + 1))
	done
}

results=$work/results.jsonl
: >"$results"
# Scenarios and brokers not run this time keep their last numbers.
if [ -f bench/RESULTS-persist.jsonl ]; then
	python3 - bench/RESULTS-persist.jsonl "$SCENARIOS" "$VARIANTS" \
		"$RECOVERY_VARIANTS" >>"$results" <<'PY'
import json, sys
scens, variants, rvariants = (set(a.split()) for a in sys.argv[2:5])
for line in open(sys.argv[1]):
    r = json.loads(line)
    ran = {"recovery": rvariants, "disk": {"always", "mosquitto"}}.get(
        r["scenario"], variants)
    if r["scenario"] not in scens or r["variant"] not in ran:
        print(line.rstrip())
PY
fi
emit() { python3 -c 'import json,sys; print(json.dumps(dict(a.split("=",1) for a in sys.argv[1:])))' "$@" >>"$results"; }

for scen in $SCENARIOS; do
	case $scen in
	pairs | fanin)
		for rep in $(seq 1 "$REPS"); do
			for v in $VARIANTS; do
				rm -rf "$work/data"
				mkdir -p "$work/data"
				port=$(free_port)
				start_broker "$v" "$port" "$work/data"
				if [ "$scen" = pairs ]; then
					out=$(bench "$port" run pairs -c 1000 -q 1 -w 20 -s 64 \
						-C false -d "$DURATION" --drain 30)
					rate=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["recv_per_s"])')
				else
					make_sessions "$port" 1 bench/persist/fanin offline
					out=$(bench "$port" pub -c 8 -q 1 -w 100 -s 64 \
						-t bench/persist/fanin -d "$DURATION")
					rate=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["acked"] / d["duration_s"])')
				fi
				stop_broker
				emit scenario="$scen" variant="$v" rep="$rep" rate="$rate"
				echo "persist: $scen $v rep $rep: $rate msg/s" >&2
			done
		done
		;;
	disk)
		for v in always mosquitto; do
			rm -rf "$work/data"
			mkdir -p "$work/data"
			port=$(free_port)
			start_broker "$v" "$port" "$work/data"
			make_sessions "$port" 1 bench/persist/disk disk
			bench "$port" pub -c 8 -q 1 -w 100 -s 64 -t bench/persist/disk -L 200000 -d 120 >/dev/null
			stop_broker
			if [ "$v" = mosquitto ]; then
				bytes=$(stat -c %s "$work/data/mosquitto.db")
			else
				"$STARLING" --dump-storage "$work/data" >"$work/dump.txt"
				bytes=$(sed -n '1s/.* \([0-9]*\) used$/\1/p' "$work/dump.txt")
			fi
			emit scenario=disk variant="$v" bytes="$bytes" messages=200000
			echo "persist: disk $v: $bytes bytes" >&2
		done
		;;
	recovery)
		for v in $RECOVERY_VARIANTS; do
			rm -rf "$work/data"
			mkdir -p "$work/data"
			port=$(free_port)
			start_broker "$v" "$port" "$work/data"
			bench "$port" pub -c 1000 -q 1 -w 20 -s 64 --retain \
				-t "bench/ret/%i/%rand_1000000" -L "$RETAINED" -d 600 >/dev/null
			make_sessions "$port" "$SESSIONS" bench/persist/q sess
			bench "$port" pub -c 1 -q 1 -s 64 -t bench/persist/q -L 10 -d 60 >/dev/null
			stop_broker
			start_broker "$v" "$port" "$work/data"
			line=$(grep -h "Recovered" "$work/$v.log" || true)
			stop_broker
			du_kb=$(du -sk "$work/data" | cut -f1)
			emit scenario=recovery variant="$v" up_s="$up_s" line="$line" du_kb="$du_kb" \
				retained="$RETAINED" sessions="$SESSIONS"
			echo "persist: recovery $v: up in $up_s s; $line" >&2
		done
		;;
	*) echo "persist: unknown scenario $scen" >&2; exit 1 ;;
	esac
done

cp "$results" bench/RESULTS-persist.jsonl
python3 - "$results" "$OUT" "$REPS" "$DURATION" "$BROKER_CPU" "$BENCH_CPU" <<'PY'
import json, os, re, statistics, sys
res, out, reps, dur, bcpu, gcpu = sys.argv[1:]
rows = [json.loads(l) for l in open(res)]
L = []
w = L.append
w("<!-- persist:begin -->")
w("## Persistence (`bench/persist.sh`)")
w("")
w("`REPS=%s DURATION=%s bench/persist.sh`: broker on CPU %s (Starling "
  "`workers 1`), generator on CPU %s; Starling with `persistence true` "
  "and the `persistence_sync` shown, Mosquitto 2.0.11 with `persistence "
  "true` (it saves on an interval and at exit, so it acknowledges before "
  "anything is on disk). Unbounded queues for both. Medians." % (reps, dur, bcpu, gcpu))
def med(scen, v):
    xs = [float(r["rate"]) for r in rows if r["scenario"] == scen and r["variant"] == v]
    return statistics.median(xs) if xs else None
for scen, title in (("pairs", "1000 QoS 1 pairs, 64 B, 20 in flight, persistent sessions: delivered msg/s"),
                    ("fanin", "8 publishers x 100 in flight, QoS 1, 64 B, into one offline persistent session: acknowledged msg/s")):
    if not any(r["scenario"] == scen for r in rows):
        continue
    w("")
    w("**%s**" % title)
    w("")
    w("| variant | msg/s | vs `none` | vs Mosquitto |")
    w("| --- | ---: | ---: | ---: |")
    none, mosq = med(scen, "none"), med(scen, "mosquitto")
    for v in ("always", "batch", "none", "mosquitto"):
        m = med(scen, v)
        if m is None:
            continue
        name = "Mosquitto" if v == "mosquitto" else "Starling `%s`" % v
        w("| %s | %.0f | %s | %s |" % (name, m,
          "%.2f" % (m / none) if none and v != "mosquitto" else "",
          "%.2fx" % (m / mosq) if mosq and v != "mosquitto" else ""))
disk = [r for r in rows if r["scenario"] == "disk"]
if disk:
    w("")
    w("**Disk per queued 64 B message** (200,000 QoS 1 messages into one "
      "offline persistent session, after a clean stop):")
    w("")
    for r in disk:
        b = int(r["bytes"] or 0)
        w("- %s: %d bytes, %.0f bytes per message" % (
          "Mosquitto (mosquitto.db)" if r["variant"] == "mosquitto"
          else "Starling (LMDB pages in use)", b, b / int(r["messages"])))
rec = [r for r in rows if r["scenario"] == "recovery"]
if rec:
    w("")
    w("**Recovery**: %s retained messages and %s persistent sessions with "
      "10 queued QoS 1 messages each; start-up time after a clean stop:" %
      (rec[0]["retained"], rec[0]["sessions"]))
    w("")
    for r in rec:
        m = re.search(r"in ([0-9.]+) s", r["line"])
        w("- %s: ready %.2f s after start%s; store %d MiB" % (
          "Mosquitto" if r["variant"] == "mosquitto" else "Starling",
          float(r["up_s"]),
          (", recovery %s s (`%s`)" % (m.group(1), r["line"].split(": ", 1)[-1].strip()))
          if m else "", int(r["du_kb"]) // 1024))
    w("")
    w("(Ready: Mosquitto's port accepts; Starling logged that it runs, "
      "which is after recovery. Starling's listening socket is open "
      "earlier, so clients wait in the backlog rather than being "
      "refused.)")
w("")
w("Raw numbers: `bench/RESULTS-persist.jsonl`.")
w("<!-- persist:end -->")
block = "\n".join(L)
old = open(out).read() if os.path.exists(out) else ""
b, e = "<!-- persist:begin -->", "<!-- persist:end -->"
if b in old and e in old:
    new = old[:old.index(b)] + block + old[old.index(e) + len(e):]
else:
    new = old.rstrip("\n") + "\n\n" + block + "\n"
open(out, "w").write(new)
print("persist: wrote " + out, file=sys.stderr)
PY
