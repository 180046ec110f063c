/*
 * sys.c - $SYS/broker/... topics, published as retained messages every
 * sys_interval seconds from loop 0 with Mosquitto's names.  Counters are
 * per loop (relaxed atomics) and summed here; the numbers are therefore
 * a consistent-enough snapshot, not an atomic one.
 */
#include "broker/internal.h"

#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
publish(struct broker_loop *l, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
publish(struct broker_loop *l, const char *topic, const char *fmt, ...)
{
	char val[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	struct broker_msg *m = broker_msg_new((const uint8_t *)topic,
	    strlen(topic), (const uint8_t *)val, (size_t)n, 0, true, NULL, 0);
	if (m == NULL) {
		return;
	}
	broker_retain_put(l->b->retain, m);
	broker__route(l, m, NULL, NULL);
	broker_msg_unref(m);
}

/*
 * $SYS/broker/load/<name>/{1min,5min,15min}: how many per minute, as
 * moving averages that forget exponentially over 1, 5 and 15 minutes
 * (the shape of Unix load averages and of Mosquitto's topics).  Each
 * update folds in the rate seen since the previous one.
 */
static void
loads(struct broker_loop *l, uint32_t interval, const uint64_t *now)
{
	static const char *const names[BROKER_SYS_LOADS] = {
		"messages/received", "messages/sent", "bytes/received",
		"bytes/sent", "connections",
	};
	static const int minutes[3] = { 1, 5, 15 };
	struct broker *b = l->b;
	char topic[96];

	for (int i = 0; i < BROKER_SYS_LOADS; i++) {
		double rate = (double)(now[i] - b->sys_prev[i]) * 60.0 /
		    (double)interval;
		b->sys_prev[i] = now[i];
		for (int k = 0; k < 3; k++) {
			double keep = exp(-(double)interval / (60.0 * minutes[k]));
			double *v = &b->sys_load[i][k];
			*v = *v * keep + rate * (1.0 - keep);
			snprintf(topic, sizeof(topic), "$SYS/broker/load/%s/%dmin",
			    names[i], minutes[k]);
			publish(l, topic, "%.2f", *v);
		}
	}
}

void
broker__sys_tick(struct broker_loop *l)
{
	struct broker *b = l->b;
	uint32_t interval = b->cfg->sys_interval;
	uint64_t up_t = l->now_t - b->started_at;
	uint64_t up = up_t / BROKER_TICKS_PER_S;
	uint64_t in = 0, out = 0, bin = 0, bout = 0, clients = 0, dropped = 0;
	size_t nsessions;

	/* Called every tick: act on the first tick of each interval. */
	if (interval == 0 || up % interval != 0 || up == b->sys_last) {
		return;
	}
	b->sys_last = up;
	for (int i = 0; i < b->nloops; i++) {
		struct broker_loop *x = &b->loops[i];
		in += atomic_load_explicit(&x->msgs_in, memory_order_relaxed);
		out += atomic_load_explicit(&x->msgs_out, memory_order_relaxed);
		bin += atomic_load_explicit(&x->bytes_in, memory_order_relaxed);
		bout += atomic_load_explicit(&x->bytes_out, memory_order_relaxed);
		clients += atomic_load_explicit(&x->clients,
		    memory_order_relaxed);
		dropped += atomic_load_explicit(&x->dropped,
		    memory_order_relaxed);
	}
	uint64_t max = atomic_load(&b->clients_max);
	if (clients > max) {
		atomic_store(&b->clients_max, clients);
		max = clients;
	}
	pthread_mutex_lock(&b->sessions_mu);
	nsessions = b->nsessions;
	pthread_mutex_unlock(&b->sessions_mu);

	publish(l, "$SYS/broker/version", "starling version %s", BROKER_VERSION);
	publish(l, "$SYS/broker/uptime", "%llu seconds", (unsigned long long)up);
	publish(l, "$SYS/broker/clients/connected", "%llu",
	    (unsigned long long)clients);
	publish(l, "$SYS/broker/clients/active", "%llu",
	    (unsigned long long)clients);
	publish(l, "$SYS/broker/clients/total", "%zu", nsessions);
	publish(l, "$SYS/broker/clients/disconnected", "%llu",
	    (unsigned long long)(nsessions > clients ? nsessions - clients : 0));
	publish(l, "$SYS/broker/clients/maximum", "%llu",
	    (unsigned long long)max);
	publish(l, "$SYS/broker/messages/received", "%llu",
	    (unsigned long long)in);
	publish(l, "$SYS/broker/messages/sent", "%llu",
	    (unsigned long long)out);
	publish(l, "$SYS/broker/publish/messages/dropped", "%llu",
	    (unsigned long long)dropped);
	publish(l, "$SYS/broker/bytes/received", "%llu",
	    (unsigned long long)bin);
	publish(l, "$SYS/broker/bytes/sent", "%llu", (unsigned long long)bout);
	publish(l, "$SYS/broker/subscriptions/count", "%zu",
	    broker_trie_count(b->trie));
	publish(l, "$SYS/broker/retained messages/count", "%zu",
	    broker_retain_count(b->retain));

	/* Heap: bytes the allocator has handed out and not had back.  An
	 * allocator that does not keep glibc's statistics (the sanitizers'
	 * own) reports 0: then there is nothing true to publish. */
	struct mallinfo2 mi = mallinfo2();
	uint64_t heap = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
	if (heap > b->heap_max) {
		b->heap_max = heap;
	}
	if (heap != 0) {
		publish(l, "$SYS/broker/heap/current", "%llu",
		    (unsigned long long)heap);
		publish(l, "$SYS/broker/heap/maximum", "%llu",
		    (unsigned long long)b->heap_max);
	}

	uint64_t now[BROKER_SYS_LOADS] = {
		in, out, bin, bout, atomic_load(&b->clients_total),
	};
	loads(l, interval, now);
}
