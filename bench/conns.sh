#!/usr/bin/env bash
# bench/conns.sh - the real-connection scale benchmark: one broker holding
# CONNS (19,000) concurrent MQTT connections from starling-bench, Starling
# and Mosquitto side by side; writes its section of bench/RESULTS.md
# (between <!-- conns:begin --> and <!-- conns:end -->, via
# bench/section.py) and appends every run to bench/RESULTS-conns.jsonl.
#
#   bench/conns.sh                       # REPS=3, CONNS=19000
#   CONNS=2000 REPS=1 bench/conns.sh     # a quick smoke run
#   STARLING=/tmp/b/bin/starling BENCH=/tmp/b/bin/starling-bench bench/conns.sh
#
# One run (a fresh broker each time, brokers alternating A B A B ...):
#   1. start the broker pinned to BROKER_CPU and note its RSS;
#   2. CONNS/2 idle connections (`starling-bench conn`, keepalive 300 s),
#      then CONNS/2 subscribers (`starling-bench sub`, one QoS 0
#      subscription each to the topic `bcast`, keepalive 300 s), each
#      generator a process of its own pinned to BENCH_CPU, both connecting
#      from four 127.0.0.X source addresses of their own (rotated per run,
#      so no run meets the TIME_WAIT sockets of another, and no
#      source/destination pair runs short of ephemeral ports);
#   3. once all are ready: broker RSS, then broker CPU over IDLE_WINDOW
#      seconds with every connection held (no traffic at all: a client
#      pings only after 150 s of silence, so this is the broker's own idle
#      cost with 19,000 keepalive timers armed);
#   4. a broadcast: one publisher sends BROADCASTS QoS 0 messages on
#      `bcast`, BCAST_INTERVAL_MS apart; the subscribers time each message
#      from its publish stamp to its last delivery;
#   5. the generators disconnect (SIGTERM makes them stop holding and print
#      their summary), the broker's peak RSS (VmHWM) is read and it stops.
#
# Everything is bounded: each wait has a deadline, and every process this
# script starts is stopped by its PID when it exits.  Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
CONNS=${CONNS:-19000}
BROADCASTS=${BROADCASTS:-5}
BCAST_INTERVAL_MS=${BCAST_INTERVAL_MS:-2000}
IDLE_WINDOW=${IDLE_WINDOW:-10}
SETTLE=${SETTLE:-2}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-60}
BROKER_CPU=${BROKER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
BROKERS=${BROKERS:-"starling mosquitto"}
OUT=${OUT:-bench/RESULTS.md}
JSONL=${JSONL:-${OUT%.md}-conns.jsonl}
STARLING=${STARLING:-build/bin/starling}
BENCH=${BENCH:-build/bin/starling-bench}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}

SUBS=$((CONNS / 2))
IDLE=$((CONNS - SUBS))
# The generators hold their connections until told to stop; this is only
# the bound for a script that died without stopping them.
HOLD=$((2 * CONNECT_TIMEOUT + IDLE_WINDOW + BROADCASTS * BCAST_INTERVAL_MS / 1000 + 120))

for tool in python3 taskset ss; do
	command -v "$tool" >/dev/null || { echo "conns: needs $tool" >&2; exit 1; }
done
for b in $BROKERS; do
	case $b in
	starling) [ -x "$STARLING" ] || { echo "conns: no $STARLING (make build)" >&2; exit 1; } ;;
	mosquitto) [ -x "$MOSQUITTO" ] || { echo "conns: no $MOSQUITTO" >&2; exit 1; } ;;
	*) echo "conns: unknown broker $b" >&2; exit 1 ;;
	esac
done
[ -x "$BENCH" ] || { echo "conns: no $BENCH (make build)" >&2; exit 1; }

# The broker needs CONNS descriptors plus a few, each generator half that:
# raise the soft limit as far as the hard one allows, which the children
# inherit, and say so if that is not enough.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 64)) ]; then
	echo "conns: warning: RLIMIT_NOFILE is $(ulimit -n), the broker needs" \
		"about $((CONNS + 64)) descriptors for CONNS=$CONNS" >&2
fi

work=$(mktemp -d /tmp/starling-conns.XXXXXX)
pids=() # every process started here, stopped by PID on exit
# True if pid is still a child of this shell (not reaped, not reused).
ours() { [ "$(awk '{print $4}' "/proc/$1/stat" 2>/dev/null)" = "$$" ]; }
cleanup() {
	local p
	for p in "${pids[@]}"; do
		if ours "$p"; then
			kill -TERM "$p" 2>/dev/null || true
		fi
	done
	for p in "${pids[@]}"; do
		if ours "$p"; then
			wait_exit "$p" 10 || kill -KILL "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. bench/lib.sh

# ------------------------------------------------------------------
# Helpers

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# utime + stime of every thread, clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Time on a CPU of every thread, nanoseconds (schedstat: finer than ticks).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
nofile() { awk '/^Max open files/ {print $4 "/" $5}' "/proc/$1/limits" 2>/dev/null || echo "?"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
sysctl_val() { tr -s ' \t' ' ' <"/proc/sys/$1" 2>/dev/null || echo "?"; }
# A TcpExt counter (ListenOverflows, ListenDrops, ...) of this namespace.
tcpext() {
	awk -v k="$1" '$1 == "TcpExt:" {
		if (!h) { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1 }
		else if (k in idx) { print $(idx[k]); found = 1 } }
		END { if (!found) print 0 }' /proc/net/netstat
}
# The accept backlog of the broker's listening socket (ss: Send-Q).
listen_backlog() { ss -Hltn "sport = :$1" 2>/dev/null | awk '{print $3; exit}'; }
now() { echo "$EPOCHREALTIME"; }

# Waits up to `seconds` for pid to exit; 0 if it did.
wait_exit() { # pid seconds
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

# Waits until file exists (the generator's --ready-file), up to `seconds`,
# as long as pid lives.
wait_file() { # file pid seconds
	local end=$((SECONDS + $3))
	until [ -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# SIGTERM, then SIGKILL if it is still there after `seconds`; reaps it.
stop_pid() { # pid seconds
	kill -TERM "$1" 2>/dev/null || true
	wait_exit "$1" "$2" || kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# The same Mosquitto-syntax configuration for both brokers: loopback,
# anonymous, no persistence, Nagle off, default log types to a file.
# Mosquitto stays root (`user root`) so that it can write its log into the
# private work directory, as Starling does.
write_conf() { # broker port conf
	cat >"$3" <<EOF
listener $2 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
log_dest file $work/$1.log
EOF
	case $1 in
	starling) echo "workers 1" >>"$3" ;;
	mosquitto) echo "user root" >>"$3" ;;
	esac
}

# ------------------------------------------------------------------
# Limits this run meets

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
limits=$work/limits.json
python3 - "$limits" "$(ulimit -Sn)" "$(ulimit -Hn)" <<'PY'
import json, sys
out, soft, hard = sys.argv[1:]
def rd(p):
    try:
        return " ".join(open("/proc/sys/" + p).read().split())
    except OSError:
        return "?"
keys = ["fs/nr_open", "fs/file-max", "net/ipv4/ip_local_port_range",
        "net/core/somaxconn", "net/ipv4/tcp_max_syn_backlog",
        "net/ipv4/tcp_rmem", "net/ipv4/tcp_wmem", "net/ipv4/tcp_mem",
        "net/ipv4/tcp_tw_reuse", "net/ipv4/tcp_fin_timeout"]
json.dump({"script_nofile": "%s/%s" % (soft, hard),
           "sysctl": {k.replace("/", "."): rd(k) for k in keys}},
          open(out, "w"))
PY
echo "conns: limits met (RLIMIT_NOFILE soft/hard of this shell, inherited by broker and generators):"
python3 - "$limits" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))
print("  RLIMIT_NOFILE %s" % l["script_nofile"])
for k, v in l["sysctl"].items():
    print("  %-32s %s" % (k, v))
PY

# ------------------------------------------------------------------
# Runs

results=$work/results.jsonl
: >"$results"
hz=$(getconf CLK_TCK)
src=2 # first 127.0.0.X source address of the next run

start_bg() { # outfile errfile cmd... : starts cmd on BENCH_CPU, sets bg_pid
	local out=$1 err=$2
	shift 2
	taskset -c "$BENCH_CPU" "$@" >"$out" 2>"$err" &
	bg_pid=$!
	pids+=("$bg_pid")
}

addrs() { # first n: 127.0.0.first,...,127.0.0.(first+n-1)
	local i out=""
	for ((i = $1; i < $1 + $2; i++)); do out+="${out:+,}127.0.0.$i"; done
	echo "$out"
}

one_run() { # broker rep
	local b=$1 rep=$2 port conf broker_pid
	local r=$work/run-$b-$rep
	mkdir -p "$r"
	port=$(free_port)
	conf=$r/broker.conf
	write_conf "$b" "$port" "$conf"
	case $b in
	starling) taskset -c "$BROKER_CPU" "$STARLING" -c "$conf" >"$r/broker.out" 2>&1 & ;;
	mosquitto) taskset -c "$BROKER_CPU" "$MOSQUITTO" -c "$conf" >"$r/broker.out" 2>&1 & ;;
	esac
	broker_pid=$!
	pids+=("$broker_pid")
	if ! wait_port "$port" 10; then
		echo "conns: $b did not start:" >&2
		cat "$r/broker.out" >&2
		exit 1
	fi
	sleep 0.5
	local base lo0 ld0 c0 ct0
	base=$(rss_kb "$broker_pid")
	lo0=$(tcpext ListenOverflows)
	ld0=$(tcpext ListenDrops)

	# Source addresses: 4 for the idle connections, 4 for the
	# subscribers, 1 for the publisher; never reused by the next runs.
	[ $((src + 9)) -gt 250 ] && src=2
	local a_idle a_subs a_pub
	a_idle=$(addrs "$src" 4)
	a_subs=$(addrs $((src + 4)) 4)
	a_pub=$(addrs $((src + 8)) 1)
	src=$((src + 9))

	local common=(-p "$port" -k 300 -d "$HOLD" --connect-timeout "$CONNECT_TIMEOUT" --json --quiet)
	local idle_pid subs_pid pub_pid
	local t_conn0 t_conn1 gi0 gs0 gi1 gs1
	c0=$(cpu_ticks "$broker_pid")
	t_conn0=$(now)
	start_bg "$r/idle.json" "$r/idle.err" "$BENCH" conn -c "$IDLE" \
		--prefix "idle-$rep" --ifaddr "$a_idle" \
		--ready-file "$r/idle.ready" "${common[@]}"
	idle_pid=$bg_pid
	wait_file "$r/idle.ready" "$idle_pid" $((CONNECT_TIMEOUT + 15)) ||
		echo "conns: $b rep $rep: idle connections never reported ready" >&2
	gi0=$(cpu_ticks "$idle_pid")
	start_bg "$r/subs.json" "$r/subs.err" "$BENCH" sub -c "$SUBS" \
		-t bcast -q 0 --prefix "subs-$rep" --ifaddr "$a_subs" \
		--ready-file "$r/subs.ready" "${common[@]}"
	subs_pid=$bg_pid
	wait_file "$r/subs.ready" "$subs_pid" $((CONNECT_TIMEOUT + 15)) ||
		echo "conns: $b rep $rep: subscribers never reported ready" >&2
	gs0=$(cpu_ticks "$subs_pid")
	t_conn1=$(now)
	ct0=$(cpu_ticks "$broker_pid")

	# All connected: memory, then the idle window.
	sleep "$SETTLE"
	local rss_all fds broker_nofile idle_nofile subs_nofile backlog
	local w0 w1 n0 n1 i0 i1
	rss_all=$(rss_kb "$broker_pid")
	fds=$(nfds "$broker_pid")
	broker_nofile=$(nofile "$broker_pid")
	idle_nofile=$(nofile "$idle_pid")
	subs_nofile=$(nofile "$subs_pid")
	backlog=$(listen_backlog "$port")
	i0=$(cpu_ticks "$broker_pid")
	n0=$(cpu_ns "$broker_pid")
	w0=$(now)
	sleep "$IDLE_WINDOW"
	i1=$(cpu_ticks "$broker_pid")
	n1=$(cpu_ns "$broker_pid")
	w1=$(now)
	gi1=$(cpu_ticks "$idle_pid")
	gs1=$(cpu_ticks "$subs_pid")

	# The broadcast, with the CPU it costs the broker and the subscribers'
	# generator, and the broker's RSS once it is over.
	local b0 b1 bs0 bs1 rss_bcast
	b0=$(cpu_ns "$broker_pid")
	bs0=$(cpu_ticks "$subs_pid")
	local pub_s=$((BROADCASTS * BCAST_INTERVAL_MS / 1000 + 10))
	start_bg "$r/pub.json" "$r/pub.err" "$BENCH" pub -c 1 -t bcast -q 0 \
		-s 64 -L "$BROADCASTS" -I "$BCAST_INTERVAL_MS" \
		--prefix "pub-$rep" --ifaddr "$a_pub" -p "$port" -k 300 \
		-d "$pub_s" --connect-timeout 10 --json --quiet
	pub_pid=$bg_pid
	wait_exit "$pub_pid" $((pub_s + 20)) || echo "conns: $b rep $rep: publisher did not finish" >&2
	stop_pid "$pub_pid" 5
	sleep 2 # stragglers
	b1=$(cpu_ns "$broker_pid")
	bs1=$(cpu_ticks "$subs_pid")
	rss_bcast=$(rss_kb "$broker_pid")

	# Disconnect everyone, then the broker's peak and exit.
	local idle_rc=0 subs_rc=0
	kill -TERM "$subs_pid" "$idle_pid" 2>/dev/null || true
	wait_exit "$subs_pid" 60 || kill -KILL "$subs_pid" 2>/dev/null || true
	wait "$subs_pid" 2>/dev/null || subs_rc=$?
	wait_exit "$idle_pid" 60 || kill -KILL "$idle_pid" 2>/dev/null || true
	wait "$idle_pid" 2>/dev/null || idle_rc=$?
	sleep 0.5
	local hwm lo1 ld1
	hwm=$(hwm_kb "$broker_pid")
	lo1=$(tcpext ListenOverflows)
	ld1=$(tcpext ListenDrops)
	stop_pid "$broker_pid" 20

	python3 - "$r" "$b" "$rep" "$started" "$port" "$CONNS" "$IDLE" "$SUBS" \
		"$base" "$rss_all" "$hwm" "$fds" "$hz" "$c0" "$ct0" \
		"$i0" "$i1" "$n0" "$n1" "$w0" "$w1" "$t_conn0" "$t_conn1" \
		"$gi0" "$gs0" "$gi1" "$gs1" \
		"$broker_nofile" "$idle_nofile" "$subs_nofile" "${backlog:-?}" \
		$((lo1 - lo0)) $((ld1 - ld0)) "$idle_rc" "$subs_rc" \
		"$a_idle" "$a_subs" "$a_pub" "$limits" \
		"$BROADCASTS" "$BCAST_INTERVAL_MS" "$CONNECT_TIMEOUT" \
		"$b0" "$b1" "$bs0" "$bs1" "$rss_bcast" >>"$results" <<'PY'
import json, statistics, sys
(r, broker, rep, started, port, conns, nidle, nsubs, base, rss_all, hwm, fds,
 hz, c0, ct0, i0, i1, n0, n1, w0, w1, tc0, tc1, gi0, gs0, gi1, gs1,
 broker_nofile, idle_nofile, subs_nofile, backlog, lovf, ldrop, idle_rc,
 subs_rc, a_idle, a_subs, a_pub, limits, nbcast, bint, ctmo,
 b0, b1, bs0, bs1, rss_bcast) = sys.argv[1:]
hz = int(hz)

def load(name):
    try:
        with open("%s/%s" % (r, name)) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except Exception:
        return None

idle, subs, pub = load("idle.json"), load("subs.json"), load("pub.json")
ri, rs = load("idle.ready") or {}, load("subs.ready") or {}
ready = ri.get("ready", 0) + rs.get("ready", 0)
csecs = ri.get("seconds", 0) + rs.get("seconds", 0)

def nfail(j, rdy):
    # Every failure the generator saw over the whole run (including the
    # clients never ready); its ready file if it left no summary.
    if j is not None:
        return sum(j.get("failures", {}).values())
    return rdy.get("not_ready", 0) + rdy.get("failed", 0) if rdy else None

fi, fs = nfail(idle, ri), nfail(subs, rs)
failed = (fi if fi is not None else int(nidle)) + \
    (fs if fs is not None else int(nsubs))
pm = (subs or {}).get("per_message", {})
delivered = pm.get("delivered", [])[:int(nbcast)]
last_ms = [v / 1000 for v in pm.get("last_us", [])[:int(nbcast)]]
want = rs.get("ready", 0)
sent = (pub or {}).get("sent", 0)
complete = [m for d, m in zip(delivered, last_ms) if want and d >= want]
window = float(w1) - float(w0)
idle_cpu = (int(n1) - int(n0)) / 1e9
row = {
    "started": started, "broker": broker, "rep": int(rep), "port": int(port),
    "connections": int(conns), "idle": int(nidle), "subscribers": int(nsubs),
    "ifaddr": {"idle": a_idle, "subs": a_subs, "pub": a_pub},
    "connect": {
        "ready": ready, "seconds": csecs,
        "per_s": ready / csecs if csecs > 0 else 0,
        "timeout_s": float(ctmo),
        "idle": ri, "subs": rs,
        "wall_s": float(tc1) - float(tc0),
        "broker_cpu_s": (int(ct0) - int(c0)) / hz,
        "gen_cpu_s": (int(gi0) + int(gs0)) / hz,
    },
    "rss_base_kb": int(base), "rss_all_kb": int(rss_all),
    "rss_peak_kb": int(hwm),
    "rss_bcast_kb": int(rss_bcast),
    "rss_b_per_conn_bcast": (int(rss_bcast) - int(base)) * 1024 / ready
                            if ready else None,
    "rss_b_per_conn": (int(rss_all) - int(base)) * 1024 / ready if ready else None,
    "broker_fds": int(fds),
    "idle_window_s": window,
    "idle_cpu_s": idle_cpu,
    "idle_cpu_ticks_s": (int(i1) - int(i0)) / hz,
    "idle_cpu_s_per_10s": idle_cpu * 10 / window if window > 0 else None,
    "idle_gen_cpu_s": (int(gi1) - int(gi0) + int(gs1) - int(gs0)) / hz,
    "broadcast": {
        "messages": int(nbcast), "interval_ms": int(bint), "sent": sent,
        "subscribers_ready": want, "delivered": delivered,
        "last_ms": last_ms,
        "missed": sum(max(0, want - d) for d in delivered) +
                  want * max(0, sent - len(delivered)),
        "to_all_ms": statistics.median(complete) if complete else None,
        # CPU over the publisher's run plus 2 s, per message sent.
        "broker_cpu_ms_per_msg": (int(b1) - int(b0)) / 1e6 / sent
                                 if sent else None,
        "subs_gen_cpu_ms_per_msg": (int(bs1) - int(bs0)) * 1000 / hz / sent
                                   if sent else None,
    },
    "failed": failed,
    "limits": dict(json.load(open(limits)), broker_nofile=broker_nofile,
                   gen_nofile={"idle": idle_nofile, "subs": subs_nofile},
                   listen_backlog=backlog,
                   listen_overflows=int(lovf), listen_drops=int(ldrop)),
    "exit": {"idle": int(idle_rc), "subs": int(subs_rc)},
    "bench": {"idle": idle, "subs": subs, "pub": pub},
}
print(json.dumps(row))
PY
	tail -n 1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
f = lambda v, p="%.0f": "-" if v is None else p % v
print("conns: %s rep %d: %d ready, %s conn/s, %s B/conn, peak %.1f MiB, "
      "idle CPU %s s/10 s, broadcast %s ms, failed %d, missed %d" % (
      r["broker"], r["rep"], r["connect"]["ready"],
      f(r["connect"]["per_s"]), f(r["rss_b_per_conn"]),
      r["rss_peak_kb"] / 1024, f(r["idle_cpu_s_per_10s"], "%.3f"),
      f(r["broadcast"]["to_all_ms"], "%.1f"), r["failed"],
      r["broadcast"]["missed"]))' >&2
}

for rep in $(seq 1 "$REPS"); do
	for b in $BROKERS; do
		one_run "$b" "$rep"
	done
done

cat "$results" >>"$JSONL"

# ------------------------------------------------------------------
# Report

cmd=""
for v in REPS CONNS BROADCASTS BCAST_INTERVAL_MS IDLE_WINDOW; do
	case "$v=${!v}" in
	REPS=3 | CONNS=19000 | BROADCASTS=5 | BCAST_INTERVAL_MS=2000 | IDLE_WINDOW=10) ;;
	*) cmd+="$v=${!v} " ;;
	esac
done
cmd+="bench/conns.sh"

python3 - "$results" "$work/conns.md" "$cmd" "$MOSQUITTO" "$BROKER_CPU" "$BENCH_CPU" \
	"$JSONL" <<'PY'
import json, os, platform, statistics, subprocess, sys, time
res, out, cmd, mosq, bcpu, gcpu, jsonl = sys.argv[1:]
rows = [json.loads(l) for l in open(res)]
brokers = []
for r in rows:
    if r["broker"] not in brokers:
        brokers.append(r["broker"])
r0 = rows[0]

sys.path.insert(0, "bench")
from benchlib import cpu_model, mosq_version as _mosq_version

def mosq_version():
    return _mosq_version(mosq)

COLS = [
    ("connects/s", lambda r: r["connect"]["per_s"]),
    ("RSS B/conn", lambda r: r["rss_b_per_conn"]),
    ("peak RSS MiB", lambda r: r["rss_peak_kb"] / 1024),
    ("idle CPU s per 10 s", lambda r: r["idle_cpu_s_per_10s"]),
    ("broadcast-to-all ms", lambda r: r["broadcast"]["to_all_ms"]),
    ("failed connections", lambda r: r["failed"]),
    ("missed deliveries", lambda r: r["broadcast"]["missed"]),
]
# Context: what the numbers above cost, and memory once traffic has been.
MORE = [
    ("RSS B/conn after the broadcast", lambda r: r.get("rss_b_per_conn_bcast")),
    ("broker CPU s, connect phases", lambda r: r["connect"]["broker_cpu_s"]),
    ("generator CPU s, connect phases", lambda r: r["connect"]["gen_cpu_s"]),
    ("broker CPU ms per broadcast",
     lambda r: r["broadcast"].get("broker_cpu_ms_per_msg")),
    ("subscribers' generator CPU ms per broadcast",
     lambda r: r["broadcast"].get("subs_gen_cpu_ms_per_msg")),
]

def fmt(k, v):
    if v is None:
        return "-"
    if k == "idle CPU s per 10 s":
        return "%.3f" % v
    if k in ("peak RSS MiB", "broadcast-to-all ms") or " ms per " in k:
        return "%.1f" % v
    if " CPU s, " in k:
        return "%.2f" % v
    return "%.0f" % v

n = r0["connections"]
lines = []
w = lines.append
w("<!-- conns:begin -->")
w("## Real connections: %s concurrent MQTT connections on one node" %
  format(n, ","))
w("")
w("Written by `bench/conns.sh` on %s. %s idle connections and %s "
  "subscribers (one QoS 0 subscription each to `bcast`), keepalive 300 s, "
  "from two `starling-bench` processes; then %d QoS 0 broadcasts on "
  "`bcast`, %d ms apart, from a third." % (
      time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
      format(r0["idle"], ","), format(r0["subscribers"], ","),
      r0["broadcast"]["messages"], r0["broadcast"]["interval_ms"]))
w("")
w("Command: `%s`" % cmd)
w("")
w("- Machine: %d cores, %s, Linux %s; Mosquitto: %s" % (
    os.cpu_count(), cpu_model(), platform.release(), mosq_version()))
w("- Broker on CPU %s (Starling `workers 1`), every generator on CPU %s "
  "(`taskset`); runs per broker: %d, brokers alternating, a fresh broker "
  "per run; medians, every sample in brackets." % (
      bcpu, gcpu, len([r for r in rows if r["broker"] == brokers[0]])))
w("- Config (both): loopback listener, anonymous, `persistence false`, "
  "`set_tcp_nodelay true`, default log types to a file (Mosquitto with "
  "`user root` so that it can write it).")
w("- Generators: `starling-bench conn -c %d -k 300` and `starling-bench sub "
  "-c %d -t bcast -q 0 -k 300`, each from 4 source addresses "
  "(`--ifaddr 127.0.0.A,...`, new ones every run), then `starling-bench pub "
  "-c 1 -t bcast -q 0 -s 64 -L %d -I %d`." % (
      r0["idle"], r0["subscribers"], r0["broadcast"]["messages"],
      r0["broadcast"]["interval_ms"]))
w("")
w("### Limits met")
w("")
lim = r0["limits"]
w("| limit | value |")
w("| --- | --- |")
bn = {r["broker"]: r["limits"]["broker_nofile"] for r in rows}
for b in brokers:
    w("| RLIMIT_NOFILE soft/hard, %s | %s |" % (b, bn[b]))
gn = sorted({v for r in rows for v in r["limits"]["gen_nofile"].values()})
w("| RLIMIT_NOFILE soft/hard, starling-bench (raised to its need) | %s |" %
  ", ".join(gn))
for k, v in lim["sysctl"].items():
    w("| `%s` | %s |" % (k, v))
bl = {r["broker"]: r["limits"]["listen_backlog"] for r in rows}
w("| listen backlog (`ss` Send-Q) | %s |" %
  ", ".join("%s %s" % (b, bl[b]) for b in brokers))
w("| broker descriptors open with all connected | %s |" %
  ", ".join("%s %s" % (b, max(r["broker_fds"] for r in rows
                               if r["broker"] == b)) for b in brokers))
w("| TcpExt ListenOverflows / ListenDrops during a run (max) | %d / %d |" % (
    max(r["limits"]["listen_overflows"] for r in rows),
    max(r["limits"]["listen_drops"] for r in rows)))
w("")
def table(cols):
    w("| broker | " + " | ".join(k for k, _ in cols) + " |")
    w("|" + " --- |" * (len(cols) + 1))
    med = {}
    for b in brokers:
        cells = []
        for k, f in cols:
            vals = [f(r) for r in rows if r["broker"] == b]
            ok = [v for v in vals if v is not None]
            med[(b, k)] = statistics.median(ok) if ok else None
            cells.append("%s [%s]" % (fmt(k, med[(b, k)]),
                                      ", ".join(fmt(k, v) for v in vals)))
        w("| %s | %s |" % (b, " | ".join(cells)))
    if "starling" in brokers and "mosquitto" in brokers:
        cells = []
        for k, _ in cols:
            s, m = med[("starling", k)], med[("mosquitto", k)]
            cells.append("%.2f" % (s / m) if s is not None and m else "-")
        w("| **Starling / Mosquitto** | %s |" % " | ".join(cells))
    w("")

w("### Results")
w("")
table(COLS)
w("- connects/s: connections made ready (CONNACK, and SUBACK for "
  "subscribers) per second over the two connect phases, as the generators "
  "report them (idle connections first, then subscribers).")
w("- RSS B/conn: (broker RSS with every connection held - RSS before the "
  "first) / connections ready. **Kernel socket memory is not counted**: "
  "it is not in the broker's RSS.")
w("- peak RSS MiB: the broker's VmHWM over the whole run, disconnects "
  "included.")
w("- idle CPU: the broker's CPU time (all threads, from "
  "`/proc/PID/task/*/schedstat`) over a %.0f s window with every "
  "connection held and no traffic, scaled to 10 s. Clients ping after "
  "150 s of silence, so no PINGREQ falls in the window: this is the cost "
  "of holding the connections and their keepalive timers." %
  r0["idle_window_s"])
w("- broadcast-to-all ms: per broadcast, the time from its publish stamp "
  "to the last of the subscribers receiving it (starling-bench "
  "`per_message.last_us`); median over the broadcasts that reached every "
  "subscriber, then median over runs.")
w("- failed connections: connects, CONNACKs or SUBACKs that failed, "
  "clients not ready within %.0f s, and connections the broker closed, as "
  "the generators count them; missed deliveries: broadcast copies that "
  "never arrived." % r0["connect"]["timeout_s"])
w("")
w("Context (same runs):")
w("")
table(MORE)
w("- RSS B/conn after the broadcast: as RSS B/conn, measured 2 s after the "
  "last broadcast, every connection still held.")
w("- CPU per broadcast: CPU time over the publisher's run and the 2 s "
  "after it, divided by the broadcasts; the subscribers' generator reads "
  "all the copies on one thread (CPU %s), so broadcast-to-all is bounded "
  "below by its time as well as by the broker's." % gcpu)
w("- Raw per-run numbers: `%s` (appended per run)." % os.path.basename(jsonl))
w("<!-- conns:end -->")
open(out, "w").write("\n".join(lines) + "\n")
PY
python3 bench/section.py conns "$work/conns.md" "$OUT"
