#!/usr/bin/env bash
# Integration test of starling-bench against a real Mosquitto on loopback:
#  1. `run pairs` at QoS 0, 1 and 2 (MQTT 3.1.1), QoS 1 over MQTT 5.0 and
#     QoS 2 over MQTT 3.1, at a rate Mosquitto keeps up with:
#     every count in the JSON summary must add up (sent = expected =
#     received = unique, nothing lost, no duplicates, QoS 1/2 all acked) and
#     the exit code must be 0;
#  2. the loss accounting must see real loss: a Mosquitto whose per-client
#     queue holds 10 messages, flooded by 8 QoS 1 publishers into one
#     subscriber, drops messages; starling-bench must count them as lost
#     (lost = expected - unique > 0) and exit with status 2.
# Usage: bench_pairs.sh PATH/TO/starling-bench
set -euo pipefail
BENCH=$1
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
work=$(mktemp -d /tmp/starling-itest.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

start_mosquitto() { # extra config lines...
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	{
		echo "listener $port 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		for l in "$@"; do echo "$l"; done
	} >"$work/m.conf"
	"$MOSQUITTO" -c "$work/m.conf" >"$work/m.log" 2>&1 &
	pid=$!
	python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("mosquitto did not start")
PY
}

stop_mosquitto() {
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

# check.py JSON EXIT QOS MODE: asserts on the summary, prints what it saw.
cat >"$work/check.py" <<'PY'
import json, sys
path, rc, qos, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
j = json.load(open(path))
def need(cond, what):
    if not cond:
        sys.exit("FAIL (%s, qos %d): %s: %s" % (mode, qos, what, json.dumps(j)))
need(j["connect"]["ready"] == j["connections"], "all clients ready")
need(j["sent"] > 0, "something was sent")
if mode == "clean":
    need(rc == 0, "exit code 0, got %d" % rc)
    need(j["expected"] == j["sent"], "pairs: expected = sent")
    need(j["unique"] == j["expected"], "unique = expected")
    need(j["received"] == j["unique"] + j["duplicates"], "received = unique + dups")
    need(j["lost"] == 0 and j["extra"] == 0, "nothing lost or extra")
    need(j["duplicates"] == 0, "no duplicates")
    need(j["latency_us"]["count"] == j["unique"], "one latency sample per message")
    if qos > 0:
        need(j["acked"] == j["sent"] and j["unacked"] == 0, "all acked")
else:
    need(rc == 2, "exit code 2 on loss, got %d" % rc)
    need(j["lost"] > 0, "loss detected")
    need(j["lost"] == j["expected"] - j["unique"], "lost = expected - unique")
    need(j["expected"] == j["sent"], "fan-in to one subscriber: expected = sent")
print("ok %s qos %d v%d: sent %d received %d lost %d" % (mode, qos, j["version"], j["sent"], j["received"], j["lost"]))
PY

start_mosquitto
# QoS 0, 1, 2 over MQTT 3.1.1, then QoS 1 over 5.0 and QoS 2 over 3.1.
for run in "0 4" "1 4" "2 4" "1 5" "2 3"; do
	set -- $run
	rc=0
	"$BENCH" run pairs -p "$port" -c 20 -r 200 -d 2 -q "$1" -V "$2" \
		--json --quiet >"$work/out.json" 2>"$work/err.txt" || rc=$?
	python3 "$work/check.py" "$work/out.json" "$rc" "$1" clean
done
stop_mosquitto

start_mosquitto "max_queued_messages 10" "max_inflight_messages 1"
rc=0
"$BENCH" run fanin -p "$port" -P 8 -c 1 -q 1 -w 100 -d 2 --drain 2 --json --quiet \
	>"$work/out.json" 2>"$work/err.txt" || rc=$?
python3 "$work/check.py" "$work/out.json" "$rc" 1 lossy
stop_mosquitto
echo "6 passed, 0 failed"
