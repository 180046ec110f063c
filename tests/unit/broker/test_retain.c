/*
 * test_retain.c - unit tests for broker/retain.c, the retained-message
 * store: put, replace, clear with an empty payload, count, matching a
 * filter with exact levels, '+', '#' (including "a/#" matching "a"),
 * '$' topics that leading wildcards skip, pruning after a clear, and the
 * message references the store and its callback hand out.  A randomized
 * check (fixed seed) compares broker_retain_match() with
 * proto_topic_match() as the reference.  The last test measures the
 * stack a match on a 32768-level topic needs.
 *
 * Messages come from broker_msg_new(); every test drops the references
 * it holds and frees the store, so LeakSanitizer sees no leak and each
 * m->refs can be checked exactly.  In the sanitizer builds, the
 * allocator's byte count also checks that a clear frees the emptied
 * branch.  Single-threaded but for the thread whose stack is measured.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Heap accounting, to see that pruned nodes are freed.  Only the
 * sanitizers' allocators count exactly (glibc's per-thread cache keeps
 * freed chunks counted as in use), so these checks run in the ASan and
 * TSan builds and are skipped in a plain one. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_FROM_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_FROM_SANITIZER 1
#endif
#ifdef HEAP_FROM_SANITIZER
/* From <sanitizer/allocator_interface.h>, which gcc may not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
#define HEAP_EXACT true
#else
#define HEAP_EXACT false
#endif

#include "broker/internal.h"

#define U8(s) ((const uint8_t *)(s))

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

/* What broker_retain_match() handed to the callback: the messages, each
 * with the reference the callback must drop. */
struct got {
	struct broker_msg *v[4096];
	size_t n;
};

static void
collect(void *arg, struct broker_msg *m)
{
	struct got *g = arg;

	assert_true(g->n < sizeof(g->v) / sizeof(g->v[0]));
	g->v[g->n++] = m;
}

static void
got_release(struct got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		broker_msg_unref(g->v[i]);
	}
	g->n = 0;
}

static struct broker_msg *
msg(const char *topic, const char *payload)
{
	struct broker_msg *m = broker_msg_new(U8(topic), strlen(topic),
	    U8(payload), strlen(payload), 1, true, NULL, 0);

	assert_non_null(m);
	return m;
}

/* Puts a message with payload on topic and drops the caller's
 * reference: the store's is the only one left. */
static void
put(struct broker_retain *r, const char *topic, const char *payload)
{
	struct broker_msg *m = msg(topic, payload);

	assert_int_equal(broker_retain_put(r, m), 0);
	broker_msg_unref(m);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Matches filter and returns the topics of the messages found, sorted
 * and joined by spaces, in out; releases the references. */
static const char *
match_topics(struct broker_retain *r, const char *filter, char *out,
    size_t cap)
{
	static struct got g;
	const char *names[4096];
	size_t len = 0;

	g.n = 0;
	broker_retain_match(r, U8(filter), strlen(filter), collect, &g);
	for (size_t i = 0; i < g.n; i++) {
		names[i] = (const char *)g.v[i]->topic;
	}
	qsort(names, g.n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < g.n; i++) {
		int k = snprintf(out + len, cap - len, "%s%s", i ? " " : "",
		    names[i]);
		assert_true(k >= 0 && (size_t)k < cap - len);
		len += (size_t)k;
	}
	got_release(&g);
	return out;
}

/* Bytes in use on the heap when HEAP_EXACT, else 0. */
static size_t
heap_in_use(void)
{
#ifdef HEAP_FROM_SANITIZER
	return __sanitizer_get_current_allocated_bytes();
#else
	return 0;
#endif
}

/* ------------------------------------------------------------------ */
/* Put, replace, clear, count                                           */

static void
retain_put_stores_a_reference_and_counts(void **state)
{
	struct broker_retain *r = broker_retain_new();
	struct broker_msg *m = msg("a/b", "x");
	struct got g = { .n = 0 };

	(void)state;
	assert_non_null(r);
	assert_int_equal(broker_retain_count(r), 0);
	assert_int_equal(broker_retain_put(r, m), 0);
	assert_int_equal(broker_retain_count(r), 1);
	assert_int_equal(m->refs, 2);

	broker_retain_match(r, U8("a/b"), 3, collect, &g);
	assert_int_equal(g.n, 1);
	assert_ptr_equal(g.v[0], m);
	assert_int_equal(m->refs, 3); /* the callback's reference */
	got_release(&g);
	assert_int_equal(m->refs, 2);

	broker_retain_free(r);
	assert_int_equal(m->refs, 1); /* the store dropped its own */
	broker_msg_unref(m);
}

static void
retain_put_same_topic_replaces_and_drops_old_reference(void **state)
{
	struct broker_retain *r = broker_retain_new();
	struct broker_msg *m1 = msg("a/b", "one"), *m2 = msg("a/b", "two");
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(broker_retain_put(r, m1), 0);
	assert_int_equal(broker_retain_put(r, m2), 0);
	assert_int_equal(broker_retain_count(r), 1);
	assert_int_equal(m1->refs, 1);
	assert_int_equal(m2->refs, 2);
	broker_retain_match(r, U8("a/b"), 3, collect, &g);
	assert_int_equal(g.n, 1);
	assert_ptr_equal(g.v[0], m2);
	got_release(&g);

	/* The same message again: still one reference held by the store. */
	assert_int_equal(broker_retain_put(r, m2), 0);
	assert_int_equal(m2->refs, 2);
	assert_int_equal(broker_retain_count(r), 1);

	broker_msg_unref(m1);
	broker_retain_free(r);
	assert_int_equal(m2->refs, 1);
	broker_msg_unref(m2);
}

static void
retain_put_empty_payload_clears_without_storing(void **state)
{
	struct broker_retain *r = broker_retain_new();
	struct broker_msg *m = msg("a/b", "x"), *clear = msg("a/b", "");
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(broker_retain_put(r, m), 0);
	assert_int_equal(broker_retain_put(r, clear), 0);
	assert_int_equal(broker_retain_count(r), 0);
	assert_int_equal(m->refs, 1);
	assert_int_equal(clear->refs, 1); /* an empty message is not kept */
	broker_retain_match(r, U8("a/b"), 3, collect, &g);
	broker_retain_match(r, U8("#"), 1, collect, &g);
	assert_int_equal(g.n, 0);

	/* Clearing again, or a topic never stored, changes nothing. */
	assert_int_equal(broker_retain_put(r, clear), 0);
	broker_msg_unref(clear);
	clear = msg("no/such/topic", "");
	assert_int_equal(broker_retain_put(r, clear), 0);
	assert_int_equal(broker_retain_count(r), 0);
	assert_int_equal(clear->refs, 1);

	broker_msg_unref(clear);
	broker_msg_unref(m);
	broker_retain_free(r);
}

static void
retain_clear_keeps_messages_above_and_below(void **state)
{
	struct broker_retain *r = broker_retain_new();
	struct broker_msg *clear = msg("a/b", "");
	char buf[256];

	(void)state;
	put(r, "a", "1");
	put(r, "a/b", "2");
	put(r, "a/b/c", "3");
	assert_int_equal(broker_retain_count(r), 3);
	assert_int_equal(broker_retain_put(r, clear), 0);
	assert_int_equal(broker_retain_count(r), 2);
	assert_string_equal(match_topics(r, "#", buf, sizeof(buf)),
	    "a a/b/c");
	assert_string_equal(match_topics(r, "a/b/c", buf, sizeof(buf)),
	    "a/b/c");
	assert_string_equal(match_topics(r, "a/b", buf, sizeof(buf)), "");
	broker_msg_unref(clear);
	broker_retain_free(r);
}

static void
retain_count_follows_puts_and_clears(void **state)
{
	struct broker_retain *r = broker_retain_new();
	char topic[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(topic, sizeof(topic), "c/%d/%d", i % 10, i);
		put(r, topic, "v");
	}
	assert_int_equal(broker_retain_count(r), 1000);
	for (int i = 0; i < 1000; i += 2) {
		snprintf(topic, sizeof(topic), "c/%d/%d", i % 10, i);
		put(r, topic, "w"); /* replaces */
	}
	assert_int_equal(broker_retain_count(r), 1000);
	for (int i = 0; i < 1000; i += 4) {
		snprintf(topic, sizeof(topic), "c/%d/%d", i % 10, i);
		put(r, topic, "");
	}
	assert_int_equal(broker_retain_count(r), 750);
	broker_retain_free(r);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

/* A store with a few topics, '$' ones and empty levels among them. */
static struct broker_retain *
sample_store(void)
{
	static const char *const topics[] = {
		"a", "a/b", "a/c", "a/b/c", "a/b/d", "b", "b/b", "a/",
		"/", "/a", "//", "$SYS", "$SYS/load", "$SYS/x/y", "$x/a",
		"x/$y",
	};
	struct broker_retain *r = broker_retain_new();

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		put(r, topics[i], "v");
	}
	assert_int_equal(broker_retain_count(r), 16);
	return r;
}

static void
retain_match_exact_finds_only_that_topic(void **state)
{
	struct broker_retain *r = sample_store();
	char buf[512];

	(void)state;
	assert_string_equal(match_topics(r, "a/b", buf, sizeof(buf)), "a/b");
	assert_string_equal(match_topics(r, "a", buf, sizeof(buf)), "a");
	assert_string_equal(match_topics(r, "a/", buf, sizeof(buf)), "a/");
	assert_string_equal(match_topics(r, "/", buf, sizeof(buf)), "/");
	assert_string_equal(match_topics(r, "$SYS/load", buf, sizeof(buf)),
	    "$SYS/load");
	assert_string_equal(match_topics(r, "a/b/c/d", buf, sizeof(buf)), "");
	assert_string_equal(match_topics(r, "c", buf, sizeof(buf)), "");
	broker_retain_free(r);
}

static void
retain_match_plus_matches_one_level(void **state)
{
	struct broker_retain *r = sample_store();
	char buf[512];

	(void)state;
	assert_string_equal(match_topics(r, "a/+", buf, sizeof(buf)),
	    "a/ a/b a/c");
	assert_string_equal(match_topics(r, "+/b", buf, sizeof(buf)),
	    "a/b b/b");
	assert_string_equal(match_topics(r, "a/+/c", buf, sizeof(buf)),
	    "a/b/c");
	assert_string_equal(match_topics(r, "+/+", buf, sizeof(buf)),
	    "/ /a a/ a/b a/c b/b x/$y");
	assert_string_equal(match_topics(r, "+/+/+", buf, sizeof(buf)),
	    "// a/b/c a/b/d");
	/* '+' is a whole level, which may be empty. */
	assert_string_equal(match_topics(r, "+", buf, sizeof(buf)), "a b");
	assert_string_equal(match_topics(r, "/+", buf, sizeof(buf)), "/ /a");
	broker_retain_free(r);
}

static void
retain_match_hash_matches_level_and_everything_below(void **state)
{
	struct broker_retain *r = sample_store();
	char buf[512];

	(void)state;
	assert_string_equal(match_topics(r, "#", buf, sizeof(buf)),
	    "/ // /a a a/ a/b a/b/c a/b/d a/c b b/b x/$y");
	assert_string_equal(match_topics(r, "a/b/#", buf, sizeof(buf)),
	    "a/b a/b/c a/b/d");
	assert_string_equal(match_topics(r, "+/#", buf, sizeof(buf)),
	    "/ // /a a a/ a/b a/b/c a/b/d a/c b b/b x/$y");
	assert_string_equal(match_topics(r, "/#", buf, sizeof(buf)),
	    "/ // /a");
	assert_string_equal(match_topics(r, "+/b/#", buf, sizeof(buf)),
	    "a/b a/b/c a/b/d b/b");
	assert_string_equal(match_topics(r, "c/#", buf, sizeof(buf)), "");
	broker_retain_free(r);
}

static void
retain_match_parent_hash_matches_the_parent_itself(void **state)
{
	struct broker_retain *r = sample_store();
	char buf[512];

	(void)state;
	/* "a/#" matches "a" as well as "a/", "a/b"... */
	assert_string_equal(match_topics(r, "a/#", buf, sizeof(buf)),
	    "a a/ a/b a/b/c a/b/d a/c");
	assert_string_equal(match_topics(r, "b/#", buf, sizeof(buf)),
	    "b b/b");
	assert_string_equal(match_topics(r, "$SYS/#", buf, sizeof(buf)),
	    "$SYS $SYS/load $SYS/x/y");
	broker_retain_free(r);
}

static void
retain_match_leading_wildcards_skip_dollar_topics(void **state)
{
	struct broker_retain *r = sample_store();
	char buf[512];

	(void)state;
	assert_string_equal(match_topics(r, "+/load", buf, sizeof(buf)), "");
	assert_string_equal(match_topics(r, "+/a", buf, sizeof(buf)), "/a");
	assert_string_equal(match_topics(r, "+/x/y", buf, sizeof(buf)), "");
	/* Explicit '$' levels are matched, and later wildcards work. */
	assert_string_equal(match_topics(r, "$SYS/+", buf, sizeof(buf)),
	    "$SYS/load");
	assert_string_equal(match_topics(r, "$SYS/+/y", buf, sizeof(buf)),
	    "$SYS/x/y");
	assert_string_equal(match_topics(r, "$x/#", buf, sizeof(buf)),
	    "$x/a");
	/* '$' below the first level is an ordinary character. */
	assert_string_equal(match_topics(r, "x/+", buf, sizeof(buf)), "x/$y");
	assert_string_equal(match_topics(r, "x/#", buf, sizeof(buf)), "x/$y");
	broker_retain_free(r);
}

/* splitmix64: a fixed, platform-independent pseudo-random sequence. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static const char *const words[] = { "a", "b", "ab", "", "$x", "c" };

/* A random topic name of 1..5 levels; '$' may start any level. */
static void
random_topic(uint64_t *s, char *out, size_t cap)
{
	size_t nlev = 1 + rnd(s) % 5, len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nlev; i++) {
		const char *w = (i == 0 && rnd(s) % 8 == 0)
		    ? "$SYS"
		    : words[rnd(s) % 6];
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    i ? "/" : "", w);
	}
	if (len == 0) { /* a topic name has at least one byte */
		snprintf(out, cap, "/");
	}
}

/* A random valid filter of 1..4 levels: '+' levels, '#' last. */
static void
random_filter(uint64_t *s, char *out, size_t cap)
{
	size_t nlev = 1 + rnd(s) % 4, len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nlev; i++) {
		uint64_t k = rnd(s) % 10;
		const char *w;

		if (i + 1 == nlev && k < 2) {
			w = "#";
		} else if (k < 5) {
			w = "+";
		} else if (i == 0 && k == 5) {
			w = "$SYS";
		} else {
			w = words[rnd(s) % 6];
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    i ? "/" : "", w);
	}
	if (len == 0) {
		snprintf(out, cap, "/");
	}
}

static void
retain_match_agrees_with_proto_topic_match(void **state)
{
	enum { NTOPICS = 1500, NFILTERS = 400 };
	static char topics[NTOPICS][64];
	static struct got g;
	struct broker_retain *r = broker_retain_new();
	uint64_t seed = 20240611;
	size_t nt = 0, checked = 0, hits = 0;
	char filter[64];
	bool seen[NTOPICS];

	(void)state;
	/* Distinct topics, each retained with its index as payload. */
	for (size_t tries = 0; nt < NTOPICS && tries < 100 * NTOPICS;
	    tries++) {
		bool dup = false;

		random_topic(&seed, topics[nt], sizeof(topics[nt]));
		for (size_t j = 0; j < nt && !dup; j++) {
			dup = strcmp(topics[j], topics[nt]) == 0;
		}
		if (!dup) {
			char idx[16];

			snprintf(idx, sizeof(idx), "%zu", nt);
			put(r, topics[nt], idx);
			nt++;
		}
	}
	assert_int_equal(nt, NTOPICS);
	assert_int_equal(broker_retain_count(r), nt);

	for (size_t f = 0; f < NFILTERS; f++) {
		random_filter(&seed, filter, sizeof(filter));
		memset(seen, 0, sizeof(seen));
		g.n = 0;
		broker_retain_match(r, U8(filter), strlen(filter), collect,
		    &g);
		for (size_t i = 0; i < g.n; i++) {
			char idx[16];
			size_t k;

			assert_true(g.v[i]->payload_len < sizeof(idx));
			memcpy(idx, g.v[i]->payload, g.v[i]->payload_len);
			idx[g.v[i]->payload_len] = '\0';
			k = strtoul(idx, NULL, 10);
			assert_true(k < nt);
			if (seen[k]) {
				fail_msg("filter \"%s\" found \"%s\" twice",
				    filter, topics[k]);
			}
			seen[k] = true;
		}
		got_release(&g);
		for (size_t k = 0; k < nt; k++) {
			bool want = proto_topic_match(U8(filter),
			    strlen(filter), U8(topics[k]), strlen(topics[k]));
			if (want != seen[k]) {
				fail_msg("filter \"%s\" topic \"%s\": "
					 "expected %d, got %d",
				    filter, topics[k], want, seen[k]);
			}
			hits += want;
			checked++;
		}
	}
	assert_int_equal(checked, (size_t)NFILTERS * nt);
	assert_true(hits > 1000); /* the sample exercises matches */
	broker_retain_free(r);
}

/* ------------------------------------------------------------------ */
/* Pruning                                                              */

static void
retain_clear_prunes_the_emptied_branch(void **state)
{
	struct broker_retain *r = broker_retain_new();
	char topic[64];
	size_t before;

	(void)state;
	/* A first put and clear sizes the root's child table, which is
	 * kept; everything below must go when cleared. */
	put(r, "p/warm", "v");
	put(r, "p/warm", "");
	before = heap_in_use();
	for (int i = 0; i < 1000; i++) {
		snprintf(topic, sizeof(topic), "p/%d/deep/er/%d", i % 37, i);
		put(r, topic, "v");
	}
	put(r, "p", "v");
	assert_int_equal(broker_retain_count(r), 1001);
	if (HEAP_EXACT) {
		assert_true(heap_in_use() > before);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(topic, sizeof(topic), "p/%d/deep/er/%d", i % 37, i);
		put(r, topic, "");
	}
	put(r, "p", "");
	assert_int_equal(broker_retain_count(r), 0);
	if (HEAP_EXACT) {
		assert_int_equal(heap_in_use(), before);
	}
	broker_retain_free(r);
}

static void
retain_clear_of_a_leaf_keeps_its_retained_parent(void **state)
{
	struct broker_retain *r = broker_retain_new();
	char buf[256];

	(void)state;
	put(r, "a", "1");
	put(r, "a/b/c", "2");
	put(r, "a/b/c", "");
	assert_int_equal(broker_retain_count(r), 1);
	assert_string_equal(match_topics(r, "#", buf, sizeof(buf)), "a");
	assert_string_equal(match_topics(r, "a/#", buf, sizeof(buf)), "a");
	/* The branch can grow back. */
	put(r, "a/b/c", "3");
	assert_string_equal(match_topics(r, "a/+/c", buf, sizeof(buf)),
	    "a/b/c");
	assert_int_equal(broker_retain_count(r), 2);
	broker_retain_free(r);
}

/* ------------------------------------------------------------------ */
/* Deep topics                                                          */

/*
 * A topic or filter may have up to 32768 levels (65535 bytes of "/"
 * separated one-byte levels).  broker_retain_match() runs on a loop
 * thread, whose stack libuv sizes from RLIMIT_STACK, or 2 MB when that
 * limit is unlimited: matching must fit that.  The stack used is
 * measured by painting a large stack before running on it and finding
 * how much of the paint was overwritten, so that going over the budget
 * fails the test instead of crashing the process.
 */
#define LOOP_STACK ((size_t)2 << 20)
#define PAINT_STACK ((size_t)64 << 20)
#define PAINT 0xA5

struct deep_match {
	struct broker_retain *r;
	const uint8_t *filter;
	size_t flen;
	struct got *g;
};

static void *
run_deep_match(void *arg)
{
	struct deep_match *d = arg;

	broker_retain_match(d->r, d->filter, d->flen, collect, d->g);
	return NULL;
}

/* Runs fn(arg) on a thread with a painted PAINT_STACK-byte stack and
 * returns how many bytes of that stack it touched. */
static size_t
stack_used(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t th;
	void *mem = NULL;
	const uint8_t *stk;
	size_t low = 0;

	assert_int_equal(posix_memalign(&mem, 4096, PAINT_STACK), 0);
	memset(mem, PAINT, PAINT_STACK);
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstack(&attr, mem, PAINT_STACK), 0);
	assert_int_equal(pthread_create(&th, &attr, fn, arg), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	pthread_attr_destroy(&attr);
	/* The stack grows down from the top: find its deepest write. */
	stk = mem;
	while (low < PAINT_STACK && stk[low] == PAINT) {
		low++;
	}
	free(mem);
	return PAINT_STACK - low;
}

static void
retain_match_of_32768_levels_fits_a_2mb_loop_stack(void **state)
{
	enum { LEN = 65535 }; /* 32768 one-byte levels */
	static const char *const filters[] = { NULL, "#", "a/#" };
	static struct got g;
	struct broker_retain *r = broker_retain_new();
	uint8_t *filter = malloc(LEN), *topic = malloc(LEN);
	struct broker_msg *m, *clear;
	size_t used[4];

	(void)state;
	assert_non_null(filter);
	assert_non_null(topic);
	for (size_t i = 0; i < LEN; i++) {
		filter[i] = i % 2 ? '/' : '+';
		topic[i] = i % 2 ? '/' : 'a';
	}
	m = broker_msg_new(topic, LEN, U8("v"), 1, 0, true, NULL, 0);
	assert_non_null(m);
	assert_int_equal(broker_retain_put(r, m), 0);
	/* The exact topic, "+/+/.../+", "#" and "a/#". */
	for (size_t k = 0; k < 4; k++) {
		struct deep_match d = { r, topic, LEN, &g };

		if (k == 1) {
			d.filter = filter;
		} else if (k > 1) {
			d.filter = U8(filters[k - 1]);
			d.flen = strlen(filters[k - 1]);
		}
		g.n = 0;
		used[k] = stack_used(run_deep_match, &d);
		assert_int_equal(g.n, 1);
		assert_ptr_equal(g.v[0], m);
		got_release(&g);
	}
	clear = broker_msg_new(topic, LEN, NULL, 0, 0, true, NULL, 0);
	assert_non_null(clear);
	assert_int_equal(broker_retain_put(r, clear), 0);
	assert_int_equal(broker_retain_count(r), 0);
	assert_int_equal(m->refs, 1);
	broker_msg_unref(clear);
	broker_msg_unref(m);
	broker_retain_free(r);
	free(filter);
	free(topic);
	if (used[0] > LOOP_STACK || used[1] > LOOP_STACK ||
	    used[2] > LOOP_STACK || used[3] > LOOP_STACK) {
		fail_msg("matching a 32768-level retained topic used %zu "
			 "(exact), %zu (+/+/...), %zu (#), %zu (a/#) bytes "
			 "of stack; a loop thread may have only %zu",
		    used[0], used[1], used[2], used[3], LOOP_STACK);
	}
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(retain_put_stores_a_reference_and_counts),
		T(retain_put_same_topic_replaces_and_drops_old_reference),
		T(retain_put_empty_payload_clears_without_storing),
		T(retain_clear_keeps_messages_above_and_below),
		T(retain_count_follows_puts_and_clears),
		T(retain_match_exact_finds_only_that_topic),
		T(retain_match_plus_matches_one_level),
		T(retain_match_hash_matches_level_and_everything_below),
		T(retain_match_parent_hash_matches_the_parent_itself),
		T(retain_match_leading_wildcards_skip_dollar_topics),
		T(retain_match_agrees_with_proto_topic_match),
		T(retain_clear_prunes_the_emptied_branch),
		T(retain_clear_of_a_leaf_keeps_its_retained_parent),
		T(retain_match_of_32768_levels_fits_a_2mb_loop_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
