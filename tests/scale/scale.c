/*
 * scale.c - starling-scale: the cost of a million sessions, measured
 * in-process through the broker's own code, without sockets.
 *
 * This machine caps a process at 20,000 open files, so a million real
 * connections cannot be opened here.  Everything a connection costs the
 * broker besides its socket is still real: each simulated client is a
 * struct broker_conn made by broker__conn_new()/broker__conn_open() on a
 * real worker loop whose sink() stands in for the socket (see
 * broker/loop.c).  Its CONNECT, SUBSCRIBE, PINGREQ and DISCONNECT are
 * encoded by proto/ and fed to broker__conn_feed(), exactly as bytes read
 * from a socket would be; what the broker writes back is decoded here and
 * checked (CONNACK accepted, SUBACK granted, PUBLISH and PINGRESP counted).
 *
 * Sessions run (default): N clients connect (keepalive 300 s) and each
 * subscribes to one filter, dev/<i>/cmd, or site/<i>/+/temp for every
 * tenth client; it reports heap and RSS per session and per subscription,
 * the cost of a trie match at growing sizes (exact and wildcard topics),
 * of a routed QoS 0 publish, of a PINGREQ, of the keepalive checks of
 * every connection (the timer wheel driven through one keepalive period)
 * and of an idle second; then every client disconnects and the teardown
 * is timed.  Retained run (--retained): N retained messages, bytes per
 * message, lookup cost, clearing.
 *
 * Exit status 0 when every invariant held (all clients accepted, every
 * lookup found exactly its subscriber, every publish delivered, nothing
 * left after teardown), 1 otherwise: the test suite runs it small.
 */
#define _GNU_SOURCE
#include "broker/internal.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCALE_SANITIZED 1 /* their allocators keep no mallinfo */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SCALE_SANITIZED 1
#endif
#endif
#ifndef SCALE_SANITIZED
#define SCALE_SANITIZED 0
#endif

#define KEEPALIVE 300
#define LOOKUPS 200000

/* What the broker wrote to the simulated sockets. */
static struct {
	uint64_t bytes, connack, connack_bad, suback, suback_bad, publish,
	    pingresp, other;
} out;

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "starling-scale: FAILED: " __VA_ARGS__); \
			fputc('\n', stderr);                                 \
			failures++;                                          \
		}                                                            \
	} while (0)

/* The socket stand-in: whole packets arrive here (the broker only splits
 * output at storage holds, and persistence is off). */
static void
sink(struct broker_conn *c, const uint8_t *p, size_t n)
{
	size_t off = 0;

	(void)c;
	out.bytes += n;
	while (off < n) {
		uint8_t type = p[off] >> 4;
		size_t i = off + 1, rl = 0, mul = 1;

		do {
			rl += (size_t)(p[i] & 127) * mul;
			mul *= 128;
		} while (p[i++] & 128);
		switch (type) {
		case PROTO_CONNACK:
			out.connack++;
			out.connack_bad += p[i + 1] != 0;
			break;
		case PROTO_SUBACK:
			out.suback++;
			out.suback_bad += p[i + rl - 1] >= 0x80;
			break;
		case PROTO_PUBLISH:
			out.publish++;
			break;
		case PROTO_PINGRESP:
			out.pingresp++;
			break;
		default:
			out.other++;
		}
		off = i + rl;
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Bytes the allocator has handed out (and not had back). */
static double
heap_b(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (double)mi.uordblks + (double)mi.hblkhd;
}

static double
rss_b(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
			rss = 0;
		}
		fclose(f);
	}
	return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ------------------------------------------------------------------ */
/* The simulated clients                                               */

struct scale {
	struct broker_config cfg;
	struct broker b;
	struct broker_loop *l;
	struct broker_conn **conns;
	size_t n;
	bool json;
};

/* Encodes pkt and feeds it to c as if read from its socket. */
static void
feed(struct broker_conn *c, const struct proto_packet *pkt)
{
	uint8_t buf[256];
	size_t len;

	if (proto_encode(pkt, buf, sizeof(buf), &len) != 0) {
		fprintf(stderr, "starling-scale: cannot encode\n");
		exit(2);
	}
	broker__conn_feed(c, buf, len);
}

/* One loop turn: flushes output (to sink) and runs due timers. */
static void
turn(struct scale *sc)
{
	uv_run(&sc->l->loop, UV_RUN_NOWAIT);
}

static int
topic_of(char *buf, size_t cap, size_t i, bool publish)
{
	if (i % 10 == 0) {
		return snprintf(buf, cap, publish ? "site/%zu/room/temp"
						  : "site/%zu/+/temp", i);
	}
	return snprintf(buf, cap, "dev/%zu/cmd", i);
}

static void
connect_all(struct scale *sc)
{
	struct proto_packet p;
	char id[32];

	for (size_t i = 0; i < sc->n; i++) {
		struct broker_conn *c = broker__conn_new(sc->l, 0);

		if (c == NULL || broker__conn_open(c) != 0) {
			fprintf(stderr, "starling-scale: conn %zu refused\n", i);
			exit(2);
		}
		sc->conns[i] = c;
		memset(&p, 0, sizeof(p));
		p.type = PROTO_CONNECT;
		p.version = PROTO_V311;
		p.connect.clean_start = true;
		p.connect.keepalive = KEEPALIVE;
		p.connect.client_id.len = (uint32_t)snprintf(id, sizeof(id),
		    "dev%07zu", i);
		p.connect.client_id.ptr = (const uint8_t *)id;
		feed(c, &p);
		if ((i & 1023) == 1023) {
			turn(sc);
		}
	}
	turn(sc);
}

static void
subscribe_one(struct scale *sc, size_t i)
{
	struct proto_packet p;
	struct proto_sub_entry e;
	char f[64];

	memset(&e, 0, sizeof(e));
	e.filter.len = (uint32_t)topic_of(f, sizeof(f), i, false);
	e.filter.ptr = (const uint8_t *)f;
	e.qos = 1;
	memset(&p, 0, sizeof(p));
	p.type = PROTO_SUBSCRIBE;
	p.version = PROTO_V311;
	p.subscribe.packet_id = 1;
	p.subscribe.count = 1;
	p.subscribe.entries = &e;
	feed(sc->conns[i], &p);
}

/* Mean ns of a trie match for topics of the first k clients, of one
 * kind (wildcard: the site/<i>/room/temp topics that only a '+' filter
 * matches).  Each match must find exactly its one subscriber. */
static double
match_ns(struct scale *sc, size_t k, bool wildcard)
{
	struct broker_targets ts = { 0 };
	char t[64];
	size_t wrong = 0, nw = (k + 9) / 10;
	double t0 = now_s();

	for (size_t j = 0; j < LOOKUPS; j++) {
		size_t i;
		if (wildcard) {
			i = (rnd() % nw) * 10;
		} else {
			do {
				i = rnd() % k;
			} while (i % 10 == 0);
		}
		int len = topic_of(t, sizeof(t), i, true);
		ts.n = 0;
		broker_trie_match(sc->b.trie, (const uint8_t *)t, (size_t)len,
		    &ts);
		wrong += ts.n != 1 || ts.v[0].s != sc->conns[i]->s;
		for (size_t x = 0; x < ts.n; x++) {
			broker_session_unref(ts.v[x].s);
		}
	}
	double dt = now_s() - t0;
	broker_targets_fini(&ts);
	CHECK(wrong == 0, "%zu of %d matches at %zu subscriptions wrong",
	    wrong, LOOKUPS, k);
	return dt * 1e9 / LOOKUPS;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */

static void
report(struct scale *sc, const char *key, const char *label, double v,
    const char *unit)
{
	if (sc->json) {
		printf("%s\"%s\": %.6g", key[0] == '{' ? "" : ", ",
		    key[0] == '{' ? key + 1 : key, v);
	} else {
		printf("  %-52s %14.3f %s\n", label, v, unit);
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */

/* The wheel's fire callback, counted. */
static uint64_t fired;

static void
count_fire(struct broker_wheel_entry *e, void *arg)
{
	fired++;
	broker__wheel_fire(e, arg);
}

static void
run_sessions(struct scale *sc)
{
	struct broker_loop *l = sc->l;
	double h0, r0, h1, r1, t0, c0;
	char key[48], label[96];
	struct proto_packet p;

	h0 = heap_b();
	r0 = rss_b();
	t0 = now_s();
	connect_all(sc);
	double t_conn = now_s() - t0;
	h1 = heap_b();
	r1 = rss_b();
	CHECK(out.connack == sc->n && out.connack_bad == 0,
	    "%" PRIu64 " CONNACKs (%" PRIu64 " refusals) for %zu clients",
	    out.connack, out.connack_bad, sc->n);
	CHECK(sc->b.nsessions == sc->n, "%zu sessions registered",
	    sc->b.nsessions);
	report(sc, "{sessions", "sessions (connected, keepalive 300 s)",
	    (double)sc->n, "");
	report(sc, "connect_s", "time to connect all", t_conn, "s");
	report(sc, "connect_per_s", "connects per second (one core)",
	    (double)sc->n / t_conn, "/s");
	report(sc, "heap_per_session_b",
	    "heap per connected session (no socket)", (h1 - h0) / sc->n, "B");
	report(sc, "rss_per_session_b", "RSS per connected session",
	    (r1 - r0) / sc->n, "B");

	/* Subscriptions, with match costs as the trie grows. */
	double hs0 = heap_b(), rs0 = rss_b();
	double t_sub = 0;
	size_t next_cp = 1000;
	for (size_t i = 0; i < sc->n; i++) {
		double ts0 = now_s();
		subscribe_one(sc, i);
		if ((i & 1023) == 1023) {
			turn(sc);
		}
		t_sub += now_s() - ts0;
		if (i + 1 == next_cp || i + 1 == sc->n) {
			turn(sc);
			size_t k = i + 1;
			double exact = match_ns(sc, k, false);
			double wild = match_ns(sc, k, true);
			snprintf(key, sizeof(key), "match_ns_%zu", k);
			snprintf(label, sizeof(label),
			    "trie match, %zu subscriptions: exact topic", k);
			report(sc, key, label, exact, "ns");
			snprintf(key, sizeof(key), "match_wild_ns_%zu", k);
			snprintf(label, sizeof(label),
			    "trie match, %zu subscriptions: via '+'", k);
			report(sc, key, label, wild, "ns");
			next_cp *= 10;
		}
	}
	turn(sc);
	double hs1 = heap_b(), rs1 = rss_b();
	CHECK(out.suback == sc->n && out.suback_bad == 0,
	    "%" PRIu64 " SUBACKs (%" PRIu64 " refused) for %zu", out.suback,
	    out.suback_bad, sc->n);
	CHECK(broker_trie_count(sc->b.trie) == sc->n, "%zu subscriptions",
	    broker_trie_count(sc->b.trie));
	report(sc, "subscribe_per_s", "subscribes per second (one core)",
	    (double)sc->n / t_sub, "/s");
	report(sc, "heap_per_sub_b", "heap per subscription",
	    (hs1 - hs0) / sc->n, "B");
	report(sc, "rss_per_sub_b", "RSS per subscription",
	    (rs1 - rs0) / sc->n, "B");

	/* Routed QoS 0 publishes: match, deliver, encode, write (sink). */
	size_t k = sc->n < LOOKUPS ? sc->n : LOOKUPS;
	uint8_t payload[64];
	char t[64];
	uint64_t pub0 = out.publish;
	memset(payload, 'x', sizeof(payload));
	t0 = now_s();
	for (size_t j = 0; j < k; j++) {
		size_t i = rnd() % sc->n;
		int len = topic_of(t, sizeof(t), i, true);
		struct broker_msg *m = broker_msg_new((const uint8_t *)t,
		    (size_t)len, payload, sizeof(payload), 0, false, NULL, 0);
		if (m == NULL) {
			exit(2);
		}
		broker__route(l, m, NULL, NULL);
		broker_msg_unref(m);
		if ((j & 255) == 255) {
			turn(sc);
		}
	}
	turn(sc);
	double t_pub = now_s() - t0;
	CHECK(out.publish - pub0 == k, "%" PRIu64 " of %zu publishes delivered",
	    out.publish - pub0, k);
	report(sc, "publish_ns", "routed QoS 0 publish, 1 subscriber (end to end)",
	    t_pub * 1e9 / (double)k, "ns");

	/* An idle second: the tick runs with every keepalive armed. */
	c0 = cpu_s();
	t0 = now_s();
	while (now_s() - t0 < 2.0) {
		uv_run(&l->loop, UV_RUN_ONCE);
	}
	report(sc, "idle_cpu_ms_per_s", "CPU while idle (every keepalive armed)",
	    (cpu_s() - c0) * 1000 / (now_s() - t0), "ms/s");

	/* Every client pings: last_rx moves, nothing else does. */
	uint64_t ping0 = out.pingresp;
	broker__now_t(l);
	uint64_t ping_at = l->now_t;
	memset(&p, 0, sizeof(p));
	p.type = PROTO_PINGREQ;
	p.version = PROTO_V311;
	t0 = now_s();
	for (size_t i = 0; i < sc->n; i++) {
		feed(sc->conns[i], &p);
		if ((i & 1023) == 1023) {
			turn(sc);
		}
	}
	turn(sc);
	double t_ping = now_s() - t0;
	CHECK(out.pingresp - ping0 == sc->n, "%" PRIu64 " PINGRESPs",
	    out.pingresp - ping0);
	report(sc, "pingreq_ns", "PINGREQ handled (PINGRESP written)",
	    t_ping * 1e9 / (double)sc->n, "ns");

	/* One keepalive period on the wheel: the clock is moved to just
	 * before the earliest pinged deadline, one tick at a time, so every
	 * connection's first deadline (set at CONNECT) fires, finds the
	 * ping and re-arms; nobody times out. */
	uint64_t period = (uint64_t)KEEPALIVE * BROKER_TICKS_PER_S * 3 / 2;
	uint64_t end = ping_at + period;
	double tick_max = 0, t_wheel = 0;
	uint64_t ticks = 0;
	fired = 0;
	for (uint64_t now = l->wheel.now + 1; now <= end; now++) {
		double tt = now_s();
		l->now_t = now;
		broker_wheel_advance(&l->wheel, now, count_fire, l);
		tt = now_s() - tt;
		t_wheel += tt;
		tick_max = tt > tick_max ? tt : tick_max;
		ticks++;
	}
	size_t active = 0;
	for (size_t i = 0; i < sc->n; i++) {
		active += sc->conns[i]->state == CONN_ACTIVE;
	}
	CHECK(active == sc->n, "%zu of %zu connections survived keepalive",
	    active, sc->n);
	report(sc, "ka_ticks", "keepalive period simulated: ticks of 100 ms",
	    (double)ticks, "");
	report(sc, "ka_fired", "keepalive deadlines checked and re-armed",
	    (double)fired, "");
	report(sc, "ka_total_ms", "time for all of them (whole period)",
	    t_wheel * 1000, "ms");
	report(sc, "ka_ns_per_conn", "per connection per keepalive period",
	    fired ? t_wheel * 1e9 / (double)fired : 0, "ns");
	report(sc, "ka_tick_mean_us", "mean tick", t_wheel * 1e6 / (double)ticks,
	    "us");
	report(sc, "ka_tick_max_us", "slowest tick (deadlines due together)",
	    tick_max * 1e6, "us");

	/* Teardown: every client sends DISCONNECT; clean sessions end,
	 * subscriptions leave the trie, connections close. */
	memset(&p, 0, sizeof(p));
	p.type = PROTO_DISCONNECT;
	p.version = PROTO_V311;
	t0 = now_s();
	for (size_t i = 0; i < sc->n; i++) {
		feed(sc->conns[i], &p);
		sc->conns[i] = NULL; /* freed by the broker when closed */
		if ((i & 1023) == 1023) {
			turn(sc);
		}
	}
	while (l->conns != NULL) {
		turn(sc);
	}
	double t_down = now_s() - t0;
	CHECK(sc->b.nsessions == 0 && broker_trie_count(sc->b.trie) == 0,
	    "%zu sessions, %zu subscriptions left after teardown",
	    sc->b.nsessions, broker_trie_count(sc->b.trie));
	report(sc, "teardown_s", "teardown: all disconnect, sessions end",
	    t_down, "s");
	report(sc, "heap_left_b", "heap left above the start after teardown",
	    heap_b() - h0, "B");
}

static void
count_retained(void *arg, struct broker_msg *m)
{
	(*(size_t *)arg)++;
	broker_msg_unref(m);
}

static void
run_retained(struct scale *sc)
{
	uint8_t payload[64];
	char t[64], f[64];
	double h0 = heap_b(), r0 = rss_b(), t0;

	memset(payload, 'r', sizeof(payload));
	t0 = now_s();
	for (size_t i = 0; i < sc->n; i++) {
		int len = snprintf(t, sizeof(t), "dev/%zu/state", i);
		struct broker_msg *m = broker_msg_new((const uint8_t *)t,
		    (size_t)len, payload, sizeof(payload), 1, true, NULL, 0);
		if (m == NULL || broker_retain_put(sc->b.retain, m) != 0) {
			exit(2);
		}
		broker_msg_unref(m);
	}
	double t_build = now_s() - t0;
	double h1 = heap_b(), r1 = rss_b();
	CHECK(broker_retain_count(sc->b.retain) == sc->n, "%zu retained",
	    broker_retain_count(sc->b.retain));
	report(sc, "{retained", "retained messages (64 B payload)",
	    (double)sc->n, "");
	report(sc, "retain_build_s", "time to store them", t_build, "s");
	report(sc, "heap_per_retained_b", "heap per retained message",
	    (h1 - h0) / sc->n, "B");
	report(sc, "rss_per_retained_b", "RSS per retained message",
	    (r1 - r0) / sc->n, "B");

	/* Lookups: an exact filter and a one-level wildcard below a
	 * device, each matching one message among n. */
	for (int wild = 0; wild < 2; wild++) {
		size_t found = 0;
		t0 = now_s();
		for (size_t j = 0; j < LOOKUPS; j++) {
			size_t i = rnd() % sc->n;
			int len = snprintf(f, sizeof(f),
			    wild ? "dev/%zu/+" : "dev/%zu/state", i);
			broker_retain_match(sc->b.retain, (const uint8_t *)f,
			    (size_t)len, count_retained, &found);
		}
		double dt = now_s() - t0;
		CHECK(found == LOOKUPS, "%zu retained found by %d lookups",
		    found, LOOKUPS);
		report(sc, wild ? "retain_match_wild_ns" : "retain_match_ns",
		    wild ? "retained lookup dev/<i>/+ (1 of n)"
			 : "retained lookup dev/<i>/state (1 of n)",
		    dt * 1e9 / LOOKUPS, "ns");
	}

	/* Clearing: an empty retained message removes each. */
	t0 = now_s();
	for (size_t i = 0; i < sc->n; i++) {
		int len = snprintf(t, sizeof(t), "dev/%zu/state", i);
		struct broker_msg *m = broker_msg_new((const uint8_t *)t,
		    (size_t)len, NULL, 0, 1, true, NULL, 0);
		if (m == NULL) {
			exit(2);
		}
		broker_retain_put(sc->b.retain, m);
		broker_msg_unref(m);
	}
	double t_clear = now_s() - t0;
	CHECK(broker_retain_count(sc->b.retain) == 0, "%zu retained left",
	    broker_retain_count(sc->b.retain));
	report(sc, "retain_clear_s", "time to clear them all", t_clear, "s");
	report(sc, "heap_left_b", "heap left above the start after clearing",
	    heap_b() - h0, "B");
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: starling-scale [-n N] [--retained] [--json]\n"
	    "  -n N        sessions (or retained messages), default 1000000\n"
	    "  --retained  the retained-message run instead of sessions\n"
	    "  --json      one JSON object instead of the table\n");
}

int
main(int argc, char **argv)
{
	struct scale sc;
	char err[256];
	bool retained = false;

	memset(&sc, 0, sizeof(sc));
	sc.n = 1000000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			sc.n = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--retained") == 0) {
			retained = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			sc.json = true;
		} else {
			usage();
			return 2;
		}
	}
	if (sc.n < 10) {
		usage();
		return 2;
	}

	/* One worker, errors only in the log, no $SYS, and one listener on
	 * a loopback port nobody uses (connections come from the stub). */
	broker_config_default(&sc.cfg);
	if (broker_config_finish(&sc.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "starling-scale: %s\n", err);
		return 2;
	}
	sc.cfg.workers = 1;
	sc.cfg.sys_interval = 0;
	sc.cfg.log_type = BROKER_LOG_ERR | BROKER_LOG_WARNING;
	sc.cfg.connection_messages = false;
	sc.cfg.listeners[0].port = 0;
	free(sc.cfg.listeners[0].bind_address);
	sc.cfg.listeners[0].bind_address = strdup("127.0.0.1");
	broker_log_open(&sc.cfg);
	sc.conns = calloc(sc.n, sizeof(*sc.conns));
	if (sc.conns == NULL || broker__node_init(&sc.b, &sc.cfg) != 0) {
		fprintf(stderr, "starling-scale: out of memory\n");
		return 2;
	}
	sc.b.nloops_inited = 1;
	if (broker__loop_init(&sc.b.loops[0], &sc.b, 0) != 0) {
		return 2;
	}
	sc.l = &sc.b.loops[0];
	sc.l->sink = sink;
	sc.b.started_at = sc.l->now_t;

	if (sc.json) {
		printf("{");
	} else {
		printf("starling-scale: %s, %zu, in-process (no sockets), "
		       "one worker\n",
		    retained ? "retained messages" : "sessions", sc.n);
	}
	if (retained) {
		run_retained(&sc);
	} else {
		run_sessions(&sc);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	report(&sc, "rss_peak_mib", "peak RSS of the process",
	    (double)ru.ru_maxrss / 1024, "MiB");
	if (sc.json) {
		printf(", \"sanitized\": %d, \"failures\": %d}\n",
		    SCALE_SANITIZED, failures);
	}

	broker__loop_stop_here(sc.l);
	uv_run(&sc.l->loop, UV_RUN_DEFAULT);
	uv_loop_close(&sc.l->loop);
	free(sc.l->listeners);
	broker_targets_fini(&sc.l->targets);
	broker__node_free(&sc.b);
	broker_config_fini(&sc.cfg);
	free(sc.conns);
	broker_log_close();
	if (failures != 0) {
		fprintf(stderr, "starling-scale: %d check(s) failed\n",
		    failures);
		return 1;
	}
	return 0;
}
