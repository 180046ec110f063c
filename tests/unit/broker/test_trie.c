/*
 * test_trie.c - unit tests for broker/trie.c and the level tables of
 * broker/levels.c: add, replace and remove; the session references held
 * by subscriptions and by match targets; matching, checked on fixed cases
 * and, on a randomized set (fixed seed), against proto_topic_match() as
 * the reference; shared subscription groups (one member per group per
 * match, round robin); 100000 siblings growing and emptying a level's
 * hash table; pruning of emptied nodes; matching from four threads
 * while a fifth adds and removes (this one is meant for the TSan build);
 * and the stack a match of a 32768-level topic needs.
 *
 * Sessions come from broker__session_new() with no broker: only their
 * reference count is used.  Each test releases every target and session
 * and frees its trie, so LeakSanitizer checks that nothing is left.  In
 * the sanitizer builds, the allocator's byte count also checks that
 * removing subscriptions frees their nodes (pruning), which no leak
 * check can see since broker_trie_free() would free them anyway.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

static const struct broker_subopts qos1 = { .qos = 1 };

static struct broker_session *
sess(const char *id)
{
	struct broker_session *s = broker__session_new(NULL, id, strlen(id),
	    0);

	assert_non_null(s);
	assert_int_equal(s->refs, 1);
	return s;
}

static int
add(struct broker_trie *t, const char *filter, struct broker_session *s,
    const struct broker_subopts *o)
{
	return broker_trie_add(t, U8(filter), strlen(filter), NULL, 0, s, o, NULL);
}

static int
add_g(struct broker_trie *t, const char *filter, const char *group,
    struct broker_session *s, const struct broker_subopts *o)
{
	return broker_trie_add(t, U8(filter), strlen(filter), U8(group),
	    strlen(group), s, o, NULL);
}

static int
rm(struct broker_trie *t, const char *filter, struct broker_session *s)
{
	return broker_trie_remove(t, U8(filter), strlen(filter), NULL, 0, s,
	    NULL);
}

static int
rm_g(struct broker_trie *t, const char *filter, const char *group,
    struct broker_session *s)
{
	return broker_trie_remove(t, U8(filter), strlen(filter), U8(group),
	    strlen(group), s, NULL);
}

/* Matches topic, appending to ts; returns how many targets it added. */
static size_t
match(struct broker_trie *t, const char *topic, struct broker_targets *ts)
{
	size_t before = ts->n;

	assert_int_equal(broker_trie_match(t, U8(topic), strlen(topic), ts),
	    0);
	return ts->n - before;
}

/* Drops the session reference of every target and frees the vector. */
static void
release(struct broker_targets *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		broker_session_unref(ts->v[i].s);
	}
	broker_targets_fini(ts);
}

/* How many targets of ts are session s. */
static size_t
count_of(const struct broker_targets *ts, const struct broker_session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < ts->n; i++) {
		n += ts->v[i].s == s;
	}
	return n;
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

/* splitmix64: a fixed, platform-independent pseudo-random sequence. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ */
/* Add, replace, remove and references                                  */

static void
trie_add_new_subscription_returns_0_and_takes_a_reference(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");

	(void)state;
	assert_non_null(t);
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(add(t, "a/b", s, &qos1), 0);
	assert_int_equal(s->refs, 2);
	assert_int_equal(broker_trie_count(t), 1);
	assert_int_equal(add(t, "a/+", s, &qos1), 0);
	assert_int_equal(add(t, "#", s, &qos1), 0);
	assert_int_equal(s->refs, 4);
	assert_int_equal(broker_trie_count(t), 3);
	broker_trie_free(t);
	assert_int_equal(s->refs, 1);
	broker_session_unref(s);
}

static void
trie_add_again_replaces_options_without_a_new_reference(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_subopts o = { .qos = 2, .no_local = true,
		.retain_as_published = true, .retain_handling = 2,
		.sub_id = 77 };
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "a/b", s, &qos1), 0);
	assert_int_equal(add(t, "a/b", s, &o), 1);
	assert_int_equal(s->refs, 2);
	assert_int_equal(broker_trie_count(t), 1);
	assert_int_equal(match(t, "a/b", &ts), 1);
	assert_ptr_equal(ts.v[0].s, s);
	assert_int_equal(ts.v[0].o.qos, 2);
	assert_true(ts.v[0].o.no_local);
	assert_true(ts.v[0].o.retain_as_published);
	assert_int_equal(ts.v[0].o.retain_handling, 2);
	assert_int_equal(ts.v[0].o.sub_id, 77);
	release(&ts);
	broker_trie_free(t);
	assert_int_equal(s->refs, 1);
	broker_session_unref(s);
}

static void
trie_two_sessions_on_one_filter_are_two_subscriptions(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s1 = sess("s1"), *s2 = sess("s2");
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "a/b", s1, &qos1), 0);
	assert_int_equal(add(t, "a/b", s2, &qos1), 0);
	assert_int_equal(broker_trie_count(t), 2);
	assert_int_equal(match(t, "a/b", &ts), 2);
	assert_int_equal(count_of(&ts, s1), 1);
	assert_int_equal(count_of(&ts, s2), 1);
	release(&ts);
	assert_int_equal(rm(t, "a/b", s1), 0);
	assert_int_equal(match(t, "a/b", &ts), 1);
	assert_ptr_equal(ts.v[0].s, s2);
	release(&ts);
	assert_int_equal(s1->refs, 1);
	assert_int_equal(s2->refs, 2);
	broker_trie_free(t);
	broker_session_unref(s1);
	broker_session_unref(s2);
}

static void
trie_remove_drops_the_reference_and_the_count(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "a/b", s, &qos1), 0);
	assert_int_equal(add(t, "a/b/c", s, &qos1), 0);
	assert_int_equal(s->refs, 3);
	assert_int_equal(rm(t, "a/b", s), 0);
	assert_int_equal(s->refs, 2);
	assert_int_equal(broker_trie_count(t), 1);
	assert_int_equal(match(t, "a/b", &ts), 0);
	/* The subscription below the removed one is intact. */
	assert_int_equal(match(t, "a/b/c", &ts), 1);
	release(&ts);
	assert_int_equal(rm(t, "a/b/c", s), 0);
	assert_int_equal(s->refs, 1);
	assert_int_equal(broker_trie_count(t), 0);
	broker_trie_free(t);
	assert_int_equal(s->refs, 1);
	broker_session_unref(s);
}

static void
trie_remove_of_missing_subscription_returns_minus_1(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id"), *other = sess("other");
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "a/b", s, &qos1), 0);
	assert_int_equal(add_g(t, "g/x", "grp", s, &qos1), 0);
	assert_int_equal(rm(t, "a/b", other), -1);      /* other session */
	assert_int_equal(rm(t, "a", s), -1);            /* inner node */
	assert_int_equal(rm(t, "a/b/c", s), -1);        /* below the leaf */
	assert_int_equal(rm(t, "z/b", s), -1);          /* nothing there */
	assert_int_equal(rm(t, "+", s), -1);            /* wildcard shard */
	assert_int_equal(rm(t, "g/x", s), -1);          /* plain vs group */
	assert_int_equal(rm_g(t, "a/b", "grp", s), -1); /* group vs plain */
	assert_int_equal(rm_g(t, "g/x", "other", s), -1);
	assert_int_equal(rm_g(t, "g/x", "grp", other), -1);
	assert_int_equal(s->refs, 3);
	assert_int_equal(other->refs, 1);
	assert_int_equal(broker_trie_count(t), 2);
	/* Failed removals left the subscriptions working. */
	assert_int_equal(match(t, "a/b", &ts), 1);
	assert_int_equal(match(t, "g/x", &ts), 1);
	release(&ts);
	assert_int_equal(rm(t, "a/b", s), 0);
	assert_int_equal(rm(t, "a/b", s), -1); /* twice */
	assert_int_equal(rm_g(t, "g/x", "grp", s), 0);
	assert_int_equal(rm_g(t, "g/x", "grp", s), -1);
	assert_int_equal(s->refs, 1);
	assert_int_equal(broker_trie_count(t), 0);
	broker_trie_free(t);
	broker_session_unref(s);
	broker_session_unref(other);
}

static void
trie_each_target_holds_a_reference_until_released(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "a/b", s, &qos1), 0);
	assert_int_equal(s->refs, 2);
	assert_int_equal(match(t, "a/b", &ts), 1);
	assert_int_equal(s->refs, 3);
	assert_int_equal(match(t, "a/b", &ts), 1); /* appends */
	assert_int_equal(ts.n, 2);
	assert_int_equal(s->refs, 4);
	/* The subscription goes; the targets still hold the session. */
	assert_int_equal(rm(t, "a/b", s), 0);
	assert_int_equal(s->refs, 3);
	release(&ts);
	assert_int_equal(s->refs, 1);
	assert_null(ts.v);
	assert_int_equal(ts.n, 0);
	assert_int_equal(ts.cap, 0);
	broker_trie_free(t);
	broker_session_unref(s);
}

static void
trie_targets_outlive_the_trie(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add(t, "x", s, &qos1), 0);
	assert_int_equal(match(t, "x", &ts), 1);
	broker_session_unref(s); /* only the trie and the target hold it */
	broker_trie_free(t);
	assert_int_equal(ts.v[0].s->refs, 1);
	assert_string_equal(ts.v[0].s->id, "id");
	release(&ts); /* frees the session */
}

static void
trie_session_gets_one_target_per_matching_filter(void **state)
{
	static const char *const filters[] = { "a/b/c", "a/+/c", "a/#", "#",
		"+/+/+", "a/b/+", "+/b/#", "a/b" };
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_targets ts = { 0 };

	(void)state;
	for (size_t i = 0; i < 8; i++) {
		struct broker_subopts o = { .qos = 1,
			.sub_id = (uint32_t)i + 1 };

		assert_int_equal(add(t, filters[i], s, &o), 0);
	}
	assert_int_equal(s->refs, 9);
	/* Every filter but "a/b" matches: 7 targets, 7 more references. */
	assert_int_equal(match(t, "a/b/c", &ts), 7);
	assert_int_equal(s->refs, 16);
	uint32_t ids = 0;
	for (size_t i = 0; i < ts.n; i++) {
		assert_ptr_equal(ts.v[i].s, s);
		ids |= UINT32_C(1) << ts.v[i].o.sub_id;
	}
	assert_int_equal(ids, 0xFE); /* sub_id 1..7, each once */
	release(&ts);
	assert_int_equal(s->refs, 9);
	broker_trie_free(t);
	assert_int_equal(s->refs, 1);
	broker_session_unref(s);
}

static void
trie_match_on_empty_trie_finds_nothing(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(match(t, "a", &ts), 0);
	assert_int_equal(match(t, "$SYS/x", &ts), 0);
	assert_int_equal(match(t, "/", &ts), 0);
	assert_int_equal(ts.n, 0);
	broker_targets_fini(&ts);
	broker_trie_free(t);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

static void
trie_match_follows_mqtt_topic_rules(void **state)
{
	static const struct {
		const char *filter, *topic;
		size_t want;
	} cases[] = {
		{ "a/b", "a/b", 1 },
		{ "a/b", "a/b/c", 0 },
		{ "a/b", "a", 0 },
		{ "a/b", "a/bc", 0 },
		{ "a/+", "a/b", 1 },
		{ "a/+", "a/", 1 },
		{ "a/+", "a", 0 },
		{ "a/+", "a/b/c", 0 },
		{ "+", "a", 1 },
		{ "+", "/", 0 },
		{ "+/+", "/", 1 },
		{ "/+", "/a", 1 },
		{ "+/a", "/a", 1 },
		{ "+/+/#", "a", 0 },
		{ "+/+/#", "a/b", 1 },
		{ "#", "a/b/c", 1 },
		{ "#", "/", 1 },
		{ "a/#", "a", 1 },
		{ "a/#", "a/", 1 },
		{ "a/#", "a/b/c", 1 },
		{ "a/#", "ab", 0 },
		{ "a/b/#", "a", 0 },
		{ "+/#", "a", 1 },
		{ "+/#", "/", 1 },
		{ "/#", "/", 1 },
		{ "/#", "a", 0 },
		{ "//", "//", 1 },
		{ "a//b", "a//b", 1 },
		{ "a/+/b", "a//b", 1 },
		{ "a/b/+", "a/b", 0 },
		{ "#", "$SYS/x", 0 },
		{ "#", "$", 0 },
		{ "+/x", "$SYS/x", 0 },
		{ "+", "$SYS", 0 },
		{ "+/#", "$SYS", 0 },
		{ "$SYS/#", "$SYS", 1 },
		{ "$SYS/#", "$SYS/a/b", 1 },
		{ "$SYS/+", "$SYS/a", 1 },
		{ "$SYS/+", "$SYS/a/b", 0 },
		{ "$SYS", "$SYS", 1 },
		{ "a/+", "a/$b", 1 },
		{ "a/#", "a/$b", 1 },
		{ "+/$b", "a/$b", 1 },
	};
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("id");
	struct broker_targets ts = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		assert_int_equal(add(t, cases[i].filter, s, &qos1), 0);
		n = match(t, cases[i].topic, &ts);
		if (n != cases[i].want) {
			fail_msg("filter \"%s\" topic \"%s\": want %zu, got "
				 "%zu",
			    cases[i].filter, cases[i].topic, cases[i].want,
			    n);
		}
		release(&ts);
		assert_int_equal(rm(t, cases[i].filter, s), 0);
	}
	assert_int_equal(s->refs, 1);
	broker_trie_free(t);
	broker_session_unref(s);
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
trie_match_agrees_with_proto_topic_match(void **state)
{
	enum { NF = 300, NT = 3000 };
	static char filters[NF][48];
	static struct broker_session *ss[NF];
	struct broker_trie *t = broker_trie_new();
	struct broker_targets ts = { 0 };
	uint64_t seed = 0x5EED2024;
	size_t order[NF], hits = 0;
	char topic[64];
	bool seen[NF];

	(void)state;
	for (size_t i = 0; i < NF; i++) {
		char id[16];
		struct broker_subopts o = { .qos = 0,
			.sub_id = (uint32_t)i + 1 };

		random_filter(&seed, filters[i], sizeof(filters[i]));
		assert_int_equal(proto_filter_check(U8(filters[i]),
				     strlen(filters[i])),
		    0);
		snprintf(id, sizeof(id), "f%zu", i);
		ss[i] = sess(id);
		assert_int_equal(add(t, filters[i], ss[i], &o), 0);
	}
	assert_int_equal(broker_trie_count(t), NF);

	for (size_t k = 0; k < NT; k++) {
		random_topic(&seed, topic, sizeof(topic));
		memset(seen, 0, sizeof(seen));
		match(t, topic, &ts);
		for (size_t j = 0; j < ts.n; j++) {
			uint32_t i = ts.v[j].o.sub_id - 1;

			assert_true(i < NF);
			assert_ptr_equal(ts.v[j].s, ss[i]);
			if (seen[i]) {
				fail_msg("topic \"%s\" matched filter \"%s\" "
					 "twice",
				    topic, filters[i]);
			}
			seen[i] = true;
		}
		for (size_t i = 0; i < NF; i++) {
			bool want = proto_topic_match(U8(filters[i]),
			    strlen(filters[i]), U8(topic), strlen(topic));
			if (want != seen[i]) {
				fail_msg("filter \"%s\" topic \"%s\": "
					 "expected %d, got %d",
				    filters[i], topic, want, seen[i]);
			}
			hits += want;
		}
		release(&ts);
	}
	assert_true(hits > 10000); /* the sample exercises matches */

	/* Everything comes out again, in a shuffled order. */
	for (size_t i = 0; i < NF; i++) {
		order[i] = i;
	}
	for (size_t i = NF - 1; i > 0; i--) {
		size_t j = rnd(&seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < NF; i++) {
		size_t f = order[i];

		assert_int_equal(rm(t, filters[f], ss[f]), 0);
		assert_int_equal(ss[f]->refs, 1);
	}
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(match(t, "a", &ts), 0);
	assert_int_equal(match(t, "/", &ts), 0);
	broker_targets_fini(&ts);
	broker_trie_free(t);
	for (size_t i = 0; i < NF; i++) {
		broker_session_unref(ss[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Shared subscriptions                                                 */

static void
trie_shared_group_gives_one_member_per_match(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *m[3] = { sess("m0"), sess("m1"), sess("m2") };
	struct broker_session *plain = sess("plain");
	struct broker_targets ts = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(add_g(t, "x/+", "g", m[i], &qos1), 0);
		assert_int_equal(m[i]->refs, 2);
	}
	assert_int_equal(add(t, "x/+", plain, &qos1), 0);
	assert_int_equal(broker_trie_count(t), 4);
	/* The plain subscriber and one member of the group. */
	assert_int_equal(match(t, "x/1", &ts), 2);
	assert_int_equal(count_of(&ts, plain), 1);
	assert_int_equal(count_of(&ts, m[0]) + count_of(&ts, m[1]) +
		count_of(&ts, m[2]),
	    1);
	assert_int_equal(plain->refs, 3);
	assert_int_equal(m[0]->refs + m[1]->refs + m[2]->refs, 7);
	release(&ts);
	assert_int_equal(match(t, "y/1", &ts), 0);
	broker_targets_fini(&ts);
	broker_trie_free(t);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(m[i]->refs, 1);
		broker_session_unref(m[i]);
	}
	assert_int_equal(plain->refs, 1);
	broker_session_unref(plain);
}

static void
trie_shared_group_round_robins_across_members(void **state)
{
	enum { ROUNDS = 10 };
	struct broker_trie *t = broker_trie_new();
	struct broker_session *m[3] = { sess("m0"), sess("m1"), sess("m2") };
	struct broker_targets ts = { 0 };
	size_t picks[3] = { 0, 0, 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct broker_subopts o = { .qos = 1,
			.sub_id = (uint32_t)i + 1 };

		assert_int_equal(add_g(t, "x/#", "g", m[i], &o), 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		/* Every window of three matches serves each member once. */
		assert_int_equal(match(t, "x/a", &ts), 1);
		assert_int_equal(match(t, "x", &ts), 1);
		assert_int_equal(match(t, "x/b/c", &ts), 1);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(count_of(&ts, m[i]), 1);
		}
		for (size_t j = 0; j < 3; j++) {
			/* A member's own options come with it. */
			uint32_t k = ts.v[j].o.sub_id - 1;

			assert_true(k < 3);
			assert_ptr_equal(ts.v[j].s, m[k]);
			picks[k]++;
		}
		release(&ts);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(picks[i], ROUNDS);
		assert_int_equal(m[i]->refs, 2);
	}
	broker_trie_free(t);
	for (int i = 0; i < 3; i++) {
		broker_session_unref(m[i]);
	}
}

static void
trie_groups_are_independent_of_each_other_and_plain(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *a = sess("a"), *b = sess("b"), *c = sess("c");
	struct broker_targets ts = { 0 };

	(void)state;
	/* a is in groups g and h and subscribes plainly, all on "t/x"; b is
	 * in g; c is in g on another filter, "t/+". */
	assert_int_equal(add_g(t, "t/x", "g", a, &qos1), 0);
	assert_int_equal(add_g(t, "t/x", "h", a, &qos1), 0);
	assert_int_equal(add(t, "t/x", a, &qos1), 0);
	assert_int_equal(add_g(t, "t/x", "g", b, &qos1), 0);
	assert_int_equal(add_g(t, "t/+", "g", c, &qos1), 0);
	assert_int_equal(broker_trie_count(t), 5);
	assert_int_equal(a->refs, 4);
	for (int r = 0; r < 4; r++) {
		/* plain a, h -> a, g on t/x -> a or b, g on t/+ -> c */
		assert_int_equal(match(t, "t/x", &ts), 4);
		assert_int_equal(count_of(&ts, c), 1);
		assert_int_equal(count_of(&ts, a) + count_of(&ts, b), 3);
		assert_true(count_of(&ts, a) >= 2);
		release(&ts);
	}
	/* g on "t/+" alone for another topic. */
	assert_int_equal(match(t, "t/y", &ts), 1);
	assert_ptr_equal(ts.v[0].s, c);
	release(&ts);
	/* Over 4 matches, g on t/x served a twice and b twice. */
	for (int r = 0; r < 4; r++) {
		assert_int_equal(match(t, "t/x", &ts), 4);
	}
	assert_int_equal(count_of(&ts, a), 8 + 2);
	assert_int_equal(count_of(&ts, b), 2);
	assert_int_equal(count_of(&ts, c), 4);
	release(&ts);
	/* Leaving one group leaves the others. */
	assert_int_equal(rm_g(t, "t/x", "h", a), 0);
	assert_int_equal(a->refs, 3);
	assert_int_equal(match(t, "t/x", &ts), 3);
	release(&ts);
	broker_trie_free(t);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	assert_int_equal(c->refs, 1);
	broker_session_unref(a);
	broker_session_unref(b);
	broker_session_unref(c);
}

static void
trie_shared_add_again_replaces_without_a_new_reference(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *a = sess("a");
	struct broker_subopts o2 = { .qos = 2, .sub_id = 9 };
	struct broker_targets ts = { 0 };

	(void)state;
	assert_int_equal(add_g(t, "q", "g", a, &qos1), 0);
	assert_int_equal(add_g(t, "q", "g", a, &o2), 1);
	assert_int_equal(a->refs, 2);
	assert_int_equal(broker_trie_count(t), 1);
	assert_int_equal(match(t, "q", &ts), 1);
	assert_int_equal(ts.v[0].o.qos, 2);
	assert_int_equal(ts.v[0].o.sub_id, 9);
	release(&ts);
	broker_trie_free(t);
	assert_int_equal(a->refs, 1);
	broker_session_unref(a);
}

static void
trie_shared_removal_keeps_others_and_last_ends_group(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *m[3] = { sess("m0"), sess("m1"), sess("m2") };
	struct broker_targets ts = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(add_g(t, "r/s", "g", m[i], &qos1), 0);
	}
	assert_int_equal(match(t, "r/s", &ts), 1); /* move the cursor */
	release(&ts);
	assert_int_equal(rm_g(t, "r/s", "g", m[1]), 0);
	assert_int_equal(m[1]->refs, 1);
	assert_int_equal(broker_trie_count(t), 2);
	for (int r = 0; r < 6; r++) {
		assert_int_equal(match(t, "r/s", &ts), 1);
	}
	assert_int_equal(count_of(&ts, m[0]), 3);
	assert_int_equal(count_of(&ts, m[1]), 0);
	assert_int_equal(count_of(&ts, m[2]), 3);
	release(&ts);
	assert_int_equal(rm_g(t, "r/s", "g", m[0]), 0);
	for (int r = 0; r < 3; r++) {
		assert_int_equal(match(t, "r/s", &ts), 1);
		assert_ptr_equal(ts.v[r].s, m[2]);
	}
	release(&ts);
	assert_int_equal(rm_g(t, "r/s", "g", m[2]), 0);
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(match(t, "r/s", &ts), 0);
	/* The group is gone: a new member starts a new group. */
	assert_int_equal(rm_g(t, "r/s", "g", m[2]), -1);
	assert_int_equal(add_g(t, "r/s", "g", m[1], &qos1), 0);
	assert_int_equal(match(t, "r/s", &ts), 1);
	assert_ptr_equal(ts.v[0].s, m[1]);
	release(&ts);
	assert_int_equal(rm_g(t, "r/s", "g", m[1]), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(m[i]->refs, 1);
		broker_session_unref(m[i]);
	}
	broker_trie_free(t);
}

static void
trie_shared_group_on_wildcard_filter_skips_dollar_topics(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *a = sess("a"), *b = sess("b");
	struct broker_targets ts = { 0 };

	(void)state;
	/* $share/g/+/x and $share/g/# */
	assert_int_equal(add_g(t, "+/x", "g", a, &qos1), 0);
	assert_int_equal(add_g(t, "+/x", "g", b, &qos1), 0);
	assert_int_equal(add_g(t, "#", "g", a, &qos1), 0);
	assert_int_equal(match(t, "k/x", &ts), 2);
	release(&ts);
	assert_int_equal(match(t, "$SYS/x", &ts), 0);
	assert_int_equal(match(t, "k/y", &ts), 1);
	assert_ptr_equal(ts.v[0].s, a);
	release(&ts);
	broker_trie_free(t);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	broker_session_unref(a);
	broker_session_unref(b);
}

/* ------------------------------------------------------------------ */
/* Many siblings and pruning                                            */

/* add_new skips the duplicate scan: 5,000 sessions on one filter (plain
 * and in a shared group) are all matched once, and removed cleanly. */
static void
trie_add_new_many_sessions_on_one_filter(void **state)
{
	enum { N = 5000 };
	struct broker_trie *t = broker_trie_new();
	struct broker_session **ss = calloc(N, sizeof(*ss));
	struct broker_targets ts = { 0 };
	char id[32];

	(void)state;
	assert_non_null(t);
	assert_non_null(ss);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		ss[i] = sess(id);
		assert_int_equal(broker_trie_add_new(t, U8("a/+"), 3, NULL, 0,
				     ss[i], &qos1, NULL), 0);
		assert_int_equal(broker_trie_add_new(t, U8("a/b"), 3, U8("g"),
				     1, ss[i], &qos1, NULL), 0);
	}
	assert_int_equal(broker_trie_count(t), 2 * N);
	/* Every plain subscriber once, plus one member of the group. */
	assert_int_equal(match(t, "a/b", &ts), N + 1);
	release(&ts);
	/* A repeated add through the checking path still replaces. */
	assert_int_equal(add(t, "a/+", ss[7], &qos1), 1);
	for (int i = 0; i < N; i++) {
		assert_int_equal(rm(t, "a/+", ss[i]), 0);
		assert_int_equal(rm_g(t, "a/b", "g", ss[i]), 0);
		assert_int_equal(ss[i]->refs, 1);
		broker_session_unref(ss[i]);
	}
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(match(t, "a/b", &ts), 0);
	broker_targets_fini(&ts);
	free(ss);
	broker_trie_free(t);
}

static void
trie_100000_siblings_grow_and_empty_the_level_table(void **state)
{
	enum { N = 100000 };
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("s"), *w = sess("w");
	struct broker_targets ts = { 0 };
	char f[32];
	size_t before;

	(void)state;
	/* Size the shard root's table first: it is never shrunk. */
	assert_int_equal(add(t, "s/warm", s, &qos1), 0);
	assert_int_equal(rm(t, "s/warm", s), 0);
	before = heap_in_use();

	for (int i = 0; i < N; i++) {
		struct broker_subopts o = { .qos = 1, .sub_id = (uint32_t)i };

		snprintf(f, sizeof(f), "s/%d", i);
		assert_int_equal(add(t, f, s, &o), 0);
	}
	assert_int_equal(add(t, "s/+", w, &qos1), 0);
	assert_int_equal(add(t, "s/#", w, &qos1), 0);
	assert_int_equal(broker_trie_count(t), N + 2);
	assert_int_equal(s->refs, N + 1);
	if (HEAP_EXACT) {
		assert_true(heap_in_use() > before);
	}

	for (int i = 0; i < N; i += 997) {
		snprintf(f, sizeof(f), "s/%d", i);
		assert_int_equal(match(t, f, &ts), 3);
		assert_int_equal(count_of(&ts, s), 1);
		assert_int_equal(count_of(&ts, w), 2);
		for (size_t j = 0; j < ts.n; j++) {
			if (ts.v[j].s == s) {
				assert_int_equal(ts.v[j].o.sub_id, i);
			}
		}
		release(&ts);
	}
	assert_int_equal(match(t, "s/100000", &ts), 2);
	assert_int_equal(count_of(&ts, s), 0);
	release(&ts);
	assert_int_equal(match(t, "s/1/2", &ts), 1); /* "s/#" only */
	release(&ts);
	assert_int_equal(match(t, "s", &ts), 1); /* "s/#" matches "s" */
	release(&ts);

	/* Remove in an order unlike the insertion order, so that deletion
	 * from the open-addressing table meets runs of every shape. */
	for (int i = 0; i < N; i++) {
		int k = (int)(((long)i * 7919) % N);

		snprintf(f, sizeof(f), "s/%d", k);
		assert_int_equal(rm(t, f, s), 0);
		if (i % 10007 == 0) {
			/* Those left are still found. */
			snprintf(f, sizeof(f), "s/%d",
			    (int)(((long)(i + 1) * 7919) % N));
			assert_int_equal(match(t, f, &ts), 3);
			release(&ts);
		}
	}
	assert_int_equal(broker_trie_count(t), 2);
	assert_int_equal(s->refs, 1);
	assert_int_equal(match(t, "s/5", &ts), 2);
	assert_int_equal(count_of(&ts, s), 0);
	release(&ts);
	assert_int_equal(rm(t, "s/+", w), 0);
	assert_int_equal(rm(t, "s/#", w), 0);
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(w->refs, 1);
	if (HEAP_EXACT) {
		assert_int_equal(heap_in_use(), before);
	}
	broker_trie_free(t);
	broker_session_unref(s);
	broker_session_unref(w);
}

static void
trie_removing_everything_prunes_every_node(void **state)
{
	struct broker_trie *t = broker_trie_new();
	struct broker_session *a = sess("a"), *b = sess("b");
	struct broker_targets ts = { 0 };
	size_t before;

	(void)state;
	assert_int_equal(add(t, "p/warm", a, &qos1), 0);
	assert_int_equal(add(t, "+/warm", a, &qos1), 0);
	assert_int_equal(rm(t, "p/warm", a), 0);
	assert_int_equal(rm(t, "+/warm", a), 0);
	before = heap_in_use();

	assert_int_equal(add(t, "p/a/b/c", a, &qos1), 0);
	assert_int_equal(add(t, "p/a/b/d", a, &qos1), 0);
	assert_int_equal(add(t, "p/a", b, &qos1), 0);
	assert_int_equal(add(t, "p/+/#", b, &qos1), 0);
	assert_int_equal(add(t, "p//", b, &qos1), 0);
	assert_int_equal(add_g(t, "p/a", "g", a, &qos1), 0);
	assert_int_equal(add_g(t, "p/a", "g", b, &qos1), 0);
	assert_int_equal(add_g(t, "p/a/b/c", "h", b, &qos1), 0);
	assert_int_equal(add(t, "+/a/#", a, &qos1), 0);
	assert_int_equal(broker_trie_count(t), 9);
	if (HEAP_EXACT) {
		assert_true(heap_in_use() > before);
	}

	/* Inner nodes go first: their children keep them until last. */
	assert_int_equal(rm(t, "p/a", b), 0);
	assert_int_equal(rm_g(t, "p/a", "g", a), 0);
	assert_int_equal(match(t, "p/a/b/c", &ts), 4);
	release(&ts);
	assert_int_equal(rm_g(t, "p/a", "g", b), 0);
	assert_int_equal(rm(t, "p/a/b/c", a), 0);
	assert_int_equal(match(t, "p/a/b/c", &ts), 3);
	release(&ts);
	assert_int_equal(rm(t, "p/+/#", b), 0);
	assert_int_equal(rm(t, "p//", b), 0);
	assert_int_equal(rm_g(t, "p/a/b/c", "h", b), 0);
	assert_int_equal(rm(t, "+/a/#", a), 0);
	assert_int_equal(match(t, "p/a/b/d", &ts), 1);
	release(&ts);
	assert_int_equal(rm(t, "p/a/b/d", a), 0);

	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	if (HEAP_EXACT) {
		assert_int_equal(heap_in_use(), before);
	}
	assert_int_equal(match(t, "p/a/b/c", &ts), 0);
	broker_targets_fini(&ts);
	broker_trie_free(t);
	broker_session_unref(a);
	broker_session_unref(b);
}

/* ------------------------------------------------------------------ */
/* Concurrency                                                          */

/*
 * Four threads match while a fifth adds and removes "churn"
 * subscriptions in the same shards (and in the wildcard shard).  A
 * stable set of subscriptions must be found by every match: "c/1/x"
 * always yields st[0] ("c/+/x"), st[1] ("#"), st[2] ("c/1/x") and one
 * member of group g on "c/#"; "c/2/x" the same but st[2].  All five
 * threads start together and each does a fixed amount of work, so the
 * run time is bounded even though glibc's rwlocks let busy readers hold
 * off the writer.  Threads do not call cmocka: they count what went
 * wrong and the main thread asserts after joining.
 */
enum { NMATCHERS = 4, NCHURN = 8, MATCHES = 20000, WRITER_OPS = 20000,
	LAG = 16 };

static const char *const churn_filters[] = { "c/1/x", "c/+/x", "+/1/#",
	"c/#", "d/1", "#", "c/1", "+", "c/1/x/y", "+/+/x" };
#define NCF (sizeof(churn_filters) / sizeof(churn_filters[0]))

struct conc {
	struct broker_trie *t;
	struct broker_session *st[4];
	struct broker_session *ch[NCHURN];
	atomic_bool go;
	atomic_uint errors;
	atomic_ulong group_picks[4];
	int writer_errors;
};

static void
wait_for_go(struct conc *c)
{
	while (!atomic_load(&c->go)) {
		sched_yield();
	}
}

static void *
matcher(void *arg)
{
	struct conc *c = arg;
	struct broker_targets ts = { 0 };

	wait_for_go(c);
	for (unsigned n = 0; n < MATCHES; n++) {
		const char *topic = (n % 3 == 2) ? "c/2/x" : "c/1/x";
		size_t stable = 0, grp = 0;

		if (broker_trie_match(c->t, U8(topic), strlen(topic),
			&ts) != 0) {
			atomic_fetch_add(&c->errors, 1);
		}
		for (size_t i = 0; i < ts.n; i++) {
			for (int k = 0; k < 4; k++) {
				if (ts.v[i].s != c->st[k]) {
					continue;
				}
				if (ts.v[i].o.sub_id == 100) {
					grp++;
					atomic_fetch_add(&c->group_picks[k],
					    1);
				} else {
					stable++;
				}
			}
		}
		if (grp != 1 || stable != (topic[2] == '1' ? 3u : 2u)) {
			atomic_fetch_add(&c->errors, 1);
		}
		for (size_t i = 0; i < ts.n; i++) {
			broker_session_unref(ts.v[i].s);
		}
		ts.n = 0;
	}
	broker_targets_fini(&ts);
	return NULL;
}

/* Adds churn subscription i and removes the one added LAG steps
 * before; the (filter, session, group or not) of step i repeats only
 * every NCF * NCHURN steps, so every add and remove must succeed. */
static void *
writer(void *arg)
{
	struct conc *c = arg;

	wait_for_go(c);
	for (int i = 0; i < WRITER_OPS + LAG; i++) {
		if (i < WRITER_OPS) {
			const char *f = churn_filters[(size_t)i % NCF];
			struct broker_session *s =
			    c->ch[((size_t)i / NCF) % NCHURN];
			int rc = i % 5 == 0
			    ? add_g(c->t, f, "h", s, &qos1)
			    : add(c->t, f, s, &qos1);

			c->writer_errors += rc != 0;
		}
		if (i >= LAG) {
			int j = i - LAG;
			const char *f = churn_filters[(size_t)j % NCF];
			struct broker_session *s =
			    c->ch[((size_t)j / NCF) % NCHURN];
			int rc = j % 5 == 0 ? rm_g(c->t, f, "h", s)
					    : rm(c->t, f, s);

			c->writer_errors += rc != 0;
		}
	}
	return NULL;
}

static void
trie_concurrent_matching_while_adding_and_removing(void **state)
{
	static struct conc c;
	pthread_t m[NMATCHERS], w;
	struct broker_subopts g = { .qos = 1, .sub_id = 100 };
	unsigned long picks_min = ULONG_MAX, picks_max = 0, picks_sum = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.t = broker_trie_new();
	assert_non_null(c.t);
	for (int i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "st%d", i);
		c.st[i] = sess(id);
		assert_int_equal(add_g(c.t, "c/#", "g", c.st[i], &g), 0);
	}
	for (int i = 0; i < NCHURN; i++) {
		char id[8];

		snprintf(id, sizeof(id), "ch%d", i);
		c.ch[i] = sess(id);
	}
	assert_int_equal(add(c.t, "c/+/x", c.st[0], &qos1), 0);
	assert_int_equal(add(c.t, "#", c.st[1], &qos1), 0);
	assert_int_equal(add(c.t, "c/1/x", c.st[2], &qos1), 0);
	atomic_init(&c.go, false);
	atomic_init(&c.errors, 0);
	for (int k = 0; k < 4; k++) {
		atomic_init(&c.group_picks[k], 0);
	}

	for (int i = 0; i < NMATCHERS; i++) {
		assert_int_equal(pthread_create(&m[i], NULL, matcher, &c), 0);
	}
	assert_int_equal(pthread_create(&w, NULL, writer, &c), 0);
	atomic_store(&c.go, true);
	assert_int_equal(pthread_join(w, NULL), 0);
	for (int i = 0; i < NMATCHERS; i++) {
		assert_int_equal(pthread_join(m[i], NULL), 0);
	}

	assert_int_equal(c.writer_errors, 0);
	assert_int_equal(atomic_load(&c.errors), 0);
	/* Round robin under contention: every match took the next member. */
	for (int k = 0; k < 4; k++) {
		unsigned long p = atomic_load(&c.group_picks[k]);

		picks_sum += p;
		picks_min = p < picks_min ? p : picks_min;
		picks_max = p > picks_max ? p : picks_max;
	}
	assert_int_equal(picks_sum, NMATCHERS * MATCHES);
	assert_true(picks_max - picks_min <= 1);

	assert_int_equal(broker_trie_count(c.t), 7);
	for (int i = 0; i < NCHURN; i++) {
		assert_int_equal(c.ch[i]->refs, 1);
	}
	assert_int_equal(c.st[0]->refs, 3);
	assert_int_equal(c.st[1]->refs, 3);
	assert_int_equal(c.st[2]->refs, 3);
	assert_int_equal(c.st[3]->refs, 2);
	broker_trie_free(c.t);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(c.st[i]->refs, 1);
		broker_session_unref(c.st[i]);
	}
	for (int i = 0; i < NCHURN; i++) {
		broker_session_unref(c.ch[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Deep topics                                                          */

/*
 * A topic or filter may have up to 32768 levels (65535 bytes of "/"
 * separated one-byte levels), and one client can both subscribe to such
 * a filter and publish such a topic.  broker_trie_match() runs on a loop
 * thread, whose stack libuv sizes from RLIMIT_STACK, or 2 MB when that
 * limit is unlimited: the match must fit that.  The stack a match uses
 * is measured by painting a large stack before running it on a thread
 * and finding how much of the paint was overwritten, so that going over
 * the budget fails the test instead of crashing the process.
 */
#define LOOP_STACK ((size_t)2 << 20)
#define PAINT_STACK ((size_t)64 << 20)
#define PAINT 0xA5

struct deep_match {
	struct broker_trie *t;
	const uint8_t *topic;
	size_t tlen;
	struct broker_targets ts;
	int rc;
};

static void *
run_deep_match(void *arg)
{
	struct deep_match *d = arg;

	d->rc = broker_trie_match(d->t, d->topic, d->tlen, &d->ts);
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
trie_match_of_32768_levels_fits_a_2mb_loop_stack(void **state)
{
	enum { LEN = 65535 }; /* 32768 one-byte levels */
	struct broker_trie *t = broker_trie_new();
	struct broker_session *s = sess("deep");
	uint8_t *filter = malloc(LEN), *topic = malloc(LEN);
	struct deep_match d;
	size_t used;

	(void)state;
	assert_non_null(filter);
	assert_non_null(topic);
	for (size_t i = 0; i < LEN; i++) {
		filter[i] = i % 2 ? '/' : '+';
		topic[i] = i % 2 ? '/' : 'a';
	}
	assert_int_equal(proto_filter_check(filter, LEN), 0);
	assert_int_equal(proto_topic_check(topic, LEN), 0);
	assert_int_equal(broker_trie_add(t, filter, LEN, NULL, 0, s, &qos1,
			     NULL), 0);

	memset(&d, 0, sizeof(d));
	d.t = t;
	d.topic = topic;
	d.tlen = LEN;
	used = stack_used(run_deep_match, &d);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.ts.n, 1);
	assert_ptr_equal(d.ts.v[0].s, s);
	release(&d.ts);
	assert_int_equal(broker_trie_remove(t, filter, LEN, NULL, 0, s, NULL),
	    0);
	assert_int_equal(broker_trie_count(t), 0);
	assert_int_equal(s->refs, 1);
	broker_trie_free(t);
	broker_session_unref(s);
	free(filter);
	free(topic);
	if (used > LOOP_STACK) {
		fail_msg("matching a 32768-level topic used %zu bytes of "
			 "stack; a loop thread may have only %zu",
		    used, LOOP_STACK);
	}
}

static void
trie_remove_by_entry_in_any_order_keeps_the_rest(void **state)
{
	/* 3000 sessions on one plain filter and in one shared group,
	 * removed through the addresses the adds gave, in a scattered
	 * order: after each batch the remaining subscribers all match
	 * once, each remaining group member is picked exactly once in
	 * `remaining` consecutive picks (round robin survives removal of
	 * the member it pointed at), and references come back. */
	enum { N = 3000 };
	struct broker_trie *t = broker_trie_new();
	struct broker_session **ss = calloc(N, sizeof(*ss));
	void **ep = calloc(N, sizeof(*ep)), **eg = calloc(N, sizeof(*eg));
	bool *gone = calloc(N, sizeof(*gone));
	struct broker_targets ts = { 0 };
	struct broker_target pick;
	size_t left = N;
	char id[32];

	(void)state;
	assert_non_null(t);
	assert_non_null(ss);
	assert_non_null(ep);
	assert_non_null(eg);
	assert_non_null(gone);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		ss[i] = sess(id);
		assert_int_equal(broker_trie_add_new(t, U8("x/y"), 3, NULL, 0,
				     ss[i], &qos1, &ep[i]), 0);
		assert_int_equal(broker_trie_add_new(t, U8("x/y"), 3, U8("g"),
				     1, ss[i], &qos1, &eg[i]), 0);
		assert_non_null(ep[i]);
		assert_non_null(eg[i]);
	}
	/* Replacing through the checking path gives the same address. */
	void *again = NULL;
	assert_int_equal(broker_trie_add(t, U8("x/y"), 3, NULL, 0, ss[5],
			     &qos1, &again), 1);
	assert_ptr_equal(again, ep[5]);
	for (int round = 0; round < 6; round++) {
		/* Remove 400 scattered sessions (7919 is prime to N). */
		for (int k = 0; k < 400; k++) {
			size_t i = ((size_t)(round * 400 + k) * 7919) % N;
			assert_false(gone[i]);
			assert_int_equal(broker_trie_remove(t, U8("x/y"), 3,
					     NULL, 0, ss[i], ep[i]), 0);
			assert_int_equal(broker_trie_remove(t, U8("x/y"), 3,
					     U8("g"), 1, ss[i], eg[i]), 0);
			assert_int_equal(ss[i]->refs, 1);
			gone[i] = true;
			left--;
		}
		assert_int_equal(broker_trie_count(t), 2 * left);
		assert_int_equal(match(t, "x/y", &ts), left + 1);
		size_t seen = 0;
		for (size_t j = 0; j < ts.n; j++) {
			size_t i = (size_t)atoi(ts.v[j].s->id + 1);
			assert_false(gone[i]);
			seen++;
		}
		assert_int_equal(seen, left + 1);
		release(&ts);
		unsigned *hits = calloc(N, sizeof(*hits));
		assert_non_null(hits);
		for (size_t k = 0; k < left; k++) {
			assert_int_equal(broker_trie_pick(t, U8("x/y"), 3,
					     U8("g"), 1, &pick), 0);
			size_t i = (size_t)atoi(pick.s->id + 1);
			assert_false(gone[i]);
			hits[i]++;
			broker_session_unref(pick.s);
		}
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(hits[i], gone[i] ? 0 : 1);
		}
		free(hits);
	}
	for (int i = 0; i < N; i++) {
		if (!gone[i]) {
			assert_int_equal(broker_trie_remove(t, U8("x/y"), 3,
					     NULL, 0, ss[i], ep[i]), 0);
			assert_int_equal(broker_trie_remove(t, U8("x/y"), 3,
					     U8("g"), 1, ss[i], eg[i]), 0);
		}
		assert_int_equal(ss[i]->refs, 1);
		broker_session_unref(ss[i]);
	}
	assert_int_equal(broker_trie_count(t), 0);
	broker_trie_free(t);
	free(ss);
	free(ep);
	free(eg);
	free(gone);
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(trie_remove_by_entry_in_any_order_keeps_the_rest),
		T(trie_add_new_subscription_returns_0_and_takes_a_reference),
		T(trie_add_again_replaces_options_without_a_new_reference),
		T(trie_two_sessions_on_one_filter_are_two_subscriptions),
		T(trie_remove_drops_the_reference_and_the_count),
		T(trie_remove_of_missing_subscription_returns_minus_1),
		T(trie_each_target_holds_a_reference_until_released),
		T(trie_targets_outlive_the_trie),
		T(trie_session_gets_one_target_per_matching_filter),
		T(trie_match_on_empty_trie_finds_nothing),
		T(trie_match_follows_mqtt_topic_rules),
		T(trie_match_agrees_with_proto_topic_match),
		T(trie_shared_group_gives_one_member_per_match),
		T(trie_shared_group_round_robins_across_members),
		T(trie_groups_are_independent_of_each_other_and_plain),
		T(trie_shared_add_again_replaces_without_a_new_reference),
		T(trie_shared_removal_keeps_others_and_last_ends_group),
		T(trie_shared_group_on_wildcard_filter_skips_dollar_topics),
		T(trie_add_new_many_sessions_on_one_filter),
		T(trie_100000_siblings_grow_and_empty_the_level_table),
		T(trie_removing_everything_prunes_every_node),
		T(trie_concurrent_matching_while_adding_and_removing),
		T(trie_match_of_32768_levels_fits_a_2mb_loop_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
