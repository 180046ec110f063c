/*
 * test_track.c - unit tests for the sequence accounting in bench/track.c:
 * bench_track_init(), bench_track_fini(), bench_track_add(),
 * bench_track_sum() and bench_loss().
 *
 * Each test owns its trackers and finalises them, so LeakSanitizer checks
 * that the table is freed.  Allocation failure (BENCH_SEQ_ENOMEM) is not
 * exercised: the test registration links no allocator stub.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bench/bench.h"

/* Feeds seqs[0..n) from pub into t and checks each returned class. */
static void
feed(struct bench_track *t, uint32_t pub, const uint64_t *seqs,
    const int *classes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(bench_track_add(t, pub, seqs[i]), classes[i]);
	}
}

static void
fresh_tracker_is_empty(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	assert_null(t.slots);
	assert_int_equal(t.cap, 0);
	assert_int_equal(t.npubs, 0);
	assert_int_equal(t.unique, 0);
	assert_int_equal(t.dups, 0);
	assert_int_equal(t.gaps, 0);
	/* Finalising one that never allocated is fine. */
	bench_track_fini(&t);
	assert_null(t.slots);
}

static void
in_order_messages_are_all_new(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	for (uint64_t s = 0; s < 1000; s++) {
		assert_int_equal(bench_track_add(&t, 3, s), BENCH_SEQ_NEW);
	}
	assert_int_equal(t.npubs, 1);
	assert_int_equal(t.unique, 1000);
	assert_int_equal(t.dups, 0);
	assert_int_equal(t.gaps, 0);
	bench_track_fini(&t);
}

static void
first_message_above_zero_is_a_gap(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	assert_int_equal(bench_track_add(&t, 8, 5), BENCH_SEQ_GAP);
	assert_int_equal(t.gaps, 5);
	assert_int_equal(t.unique, 1);
	assert_int_equal(bench_track_add(&t, 8, 6), BENCH_SEQ_NEW);
	assert_int_equal(t.unique, 2);
	assert_int_equal(t.gaps, 5);
	bench_track_fini(&t);
}

static void
skipped_numbers_count_as_gaps(void **state)
{
	static const uint64_t seqs[] = { 0, 1, 4, 5, 10, 11 };
	static const int classes[] = { BENCH_SEQ_NEW, BENCH_SEQ_NEW,
		BENCH_SEQ_GAP, BENCH_SEQ_NEW, BENCH_SEQ_GAP, BENCH_SEQ_NEW };
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	feed(&t, 0, seqs, classes, 6);
	/* 2, 3 and 6..9 were skipped. */
	assert_int_equal(t.gaps, 6);
	assert_int_equal(t.unique, 6);
	assert_int_equal(t.dups, 0);
	bench_track_fini(&t);
}

static void
repeated_numbers_count_as_dups(void **state)
{
	static const uint64_t seqs[] = { 0, 1, 2, 1, 0, 2, 3, 3 };
	static const int classes[] = { BENCH_SEQ_NEW, BENCH_SEQ_NEW,
		BENCH_SEQ_NEW, BENCH_SEQ_DUP, BENCH_SEQ_DUP, BENCH_SEQ_DUP,
		BENCH_SEQ_NEW, BENCH_SEQ_DUP };
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	feed(&t, 1, seqs, classes, 8);
	assert_int_equal(t.unique, 4);
	assert_int_equal(t.dups, 4);
	assert_int_equal(t.gaps, 0);
	bench_track_fini(&t);
}

static void
number_behind_a_gap_counts_as_a_dup(void **state)
{
	static const uint64_t seqs[] = { 0, 2, 1, 3 };
	static const int classes[] = { BENCH_SEQ_NEW, BENCH_SEQ_GAP,
		BENCH_SEQ_DUP, BENCH_SEQ_NEW };
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	/* The tracker keeps one number per publisher, so a late 1 cannot
	 * fill the gap it left: MQTT ordering makes this a duplicate. */
	feed(&t, 1, seqs, classes, 4);
	assert_int_equal(t.unique, 3);
	assert_int_equal(t.gaps, 1);
	assert_int_equal(t.dups, 1);
	bench_track_fini(&t);
}

static void
publishers_are_tracked_separately(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	assert_int_equal(bench_track_add(&t, 0, 0), BENCH_SEQ_NEW);
	assert_int_equal(bench_track_add(&t, UINT32_MAX, 0), BENCH_SEQ_NEW);
	assert_int_equal(bench_track_add(&t, 0, 1), BENCH_SEQ_NEW);
	assert_int_equal(bench_track_add(&t, UINT32_MAX, 1), BENCH_SEQ_NEW);
	assert_int_equal(bench_track_add(&t, 1, 1), BENCH_SEQ_GAP);
	assert_int_equal(bench_track_add(&t, 0, 1), BENCH_SEQ_DUP);
	assert_int_equal(bench_track_add(&t, UINT32_MAX, 2), BENCH_SEQ_NEW);
	assert_int_equal(t.npubs, 3);
	assert_int_equal(t.unique, 6);
	assert_int_equal(t.gaps, 1);
	assert_int_equal(t.dups, 1);
	bench_track_fini(&t);
}

static void
table_grows_to_keep_load_at_most_half(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	assert_int_equal(bench_track_add(&t, 100, 0), BENCH_SEQ_NEW);
	assert_int_equal(t.cap, 16);
	for (uint32_t p = 101; p < 108; p++) {
		assert_int_equal(bench_track_add(&t, p, 0), BENCH_SEQ_NEW);
	}
	/* 8 publishers in 16 slots is exactly half. */
	assert_int_equal(t.npubs, 8);
	assert_int_equal(t.cap, 16);
	assert_int_equal(bench_track_add(&t, 108, 0), BENCH_SEQ_NEW);
	assert_int_equal(t.npubs, 9);
	assert_int_equal(t.cap, 32);
	/* A known publisher never grows the table. */
	assert_int_equal(bench_track_add(&t, 100, 1), BENCH_SEQ_NEW);
	assert_int_equal(t.cap, 32);
	bench_track_fini(&t);
}

static void
ten_thousand_publishers_survive_growth(void **state)
{
	const uint32_t n = 10000;
	struct bench_track t;
	uint32_t used = 0;

	(void)state;
	bench_track_init(&t);
	/* Interleaved, so every publisher's state must survive each rehash;
	 * publisher numbers are spread over the whole 32-bit range. */
	for (uint64_t s = 0; s < 3; s++) {
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(bench_track_add(&t, i * 429497u, s),
			    BENCH_SEQ_NEW);
		}
	}
	assert_int_equal(t.npubs, n);
	assert_int_equal(t.cap, 32768);
	assert_int_equal(t.unique, 3 * n);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.dups, 0);
	for (uint32_t i = 0; i < t.cap; i++) {
		if (t.slots[i].used) {
			used++;
			assert_int_equal(t.slots[i].next, 3);
		}
	}
	assert_int_equal(used, n);
	/* Every publisher now sees a duplicate, then a gap of 2. */
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(bench_track_add(&t, i * 429497u, 1),
		    BENCH_SEQ_DUP);
		assert_int_equal(bench_track_add(&t, i * 429497u, 5),
		    BENCH_SEQ_GAP);
	}
	assert_int_equal(t.npubs, n);
	assert_int_equal(t.dups, n);
	assert_int_equal(t.gaps, 2 * n);
	assert_int_equal(t.unique, 4 * n);
	bench_track_fini(&t);
}

static void
consecutive_publishers_survive_growth(void **state)
{
	const uint32_t n = 10000;
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	for (uint32_t p = 0; p < n; p++) {
		assert_int_equal(bench_track_add(&t, p, p), p == 0 ?
		    BENCH_SEQ_NEW : BENCH_SEQ_GAP);
	}
	for (uint32_t p = 0; p < n; p++) {
		assert_int_equal(bench_track_add(&t, p, p + 1), BENCH_SEQ_NEW);
		assert_int_equal(bench_track_add(&t, p, p), BENCH_SEQ_DUP);
	}
	assert_int_equal(t.npubs, n);
	/* Publisher p skipped 0..p-1: the sum of 0..n-1. */
	assert_int_equal(t.gaps, (uint64_t)n * (n - 1) / 2);
	assert_int_equal(t.unique, 2 * n);
	assert_int_equal(t.dups, n);
	bench_track_fini(&t);
}

static void
fini_leaves_a_reusable_tracker(void **state)
{
	struct bench_track t;

	(void)state;
	bench_track_init(&t);
	for (uint32_t p = 0; p < 100; p++) {
		assert_int_equal(bench_track_add(&t, p, 0), BENCH_SEQ_NEW);
	}
	bench_track_fini(&t);
	assert_null(t.slots);
	assert_int_equal(t.cap, 0);
	assert_int_equal(t.npubs, 0);
	assert_int_equal(t.unique, 0);
	/* Publisher 5 is forgotten: 0 is new again. */
	assert_int_equal(bench_track_add(&t, 5, 0), BENCH_SEQ_NEW);
	assert_int_equal(t.npubs, 1);
	bench_track_fini(&t);
	bench_track_fini(&t);
	assert_null(t.slots);
}

static void
sum_adds_counters_but_not_tables(void **state)
{
	struct bench_track a, b, total;

	(void)state;
	bench_track_init(&a);
	bench_track_init(&b);
	bench_track_init(&total);
	/* a: 0, 3 (gap 2), 3 (dup).  b: 0, 1, 1, 1, 9 (gap 7). */
	bench_track_add(&a, 1, 0);
	bench_track_add(&a, 1, 3);
	bench_track_add(&a, 1, 3);
	bench_track_add(&b, 2, 0);
	bench_track_add(&b, 2, 1);
	bench_track_add(&b, 2, 1);
	bench_track_add(&b, 2, 1);
	bench_track_add(&b, 2, 9);
	bench_track_sum(&total, &a);
	bench_track_sum(&total, &b);
	assert_int_equal(total.unique, 2 + 3);
	assert_int_equal(total.dups, 1 + 2);
	assert_int_equal(total.gaps, 2 + 7);
	assert_null(total.slots);
	assert_int_equal(total.cap, 0);
	assert_int_equal(total.npubs, 0);
	/* Sources are unchanged. */
	assert_int_equal(a.unique, 2);
	assert_int_equal(b.gaps, 7);
	/* Summing into a tracker with its own table leaves the table be. */
	bench_track_sum(&a, &b);
	assert_int_equal(a.unique, 5);
	assert_int_equal(a.npubs, 1);
	assert_int_equal(bench_track_add(&a, 1, 4), BENCH_SEQ_NEW);
	bench_track_fini(&a);
	bench_track_fini(&b);
	bench_track_fini(&total);
}

static void
loss_is_expected_minus_unique(void **state)
{
	uint64_t extra = 999;

	(void)state;
	assert_int_equal(bench_loss(100, 90, &extra), 10);
	assert_int_equal(extra, 0);
	assert_int_equal(bench_loss(100, 0, NULL), 100);
	assert_int_equal(bench_loss(UINT64_MAX, 0, NULL), UINT64_MAX);
}

static void
loss_is_zero_when_all_arrived(void **state)
{
	uint64_t extra = 999;

	(void)state;
	assert_int_equal(bench_loss(100, 100, &extra), 0);
	assert_int_equal(extra, 0);
	assert_int_equal(bench_loss(0, 0, &extra), 0);
	assert_int_equal(extra, 0);
}

static void
loss_reports_extra_when_more_arrived(void **state)
{
	uint64_t extra = 0;

	(void)state;
	assert_int_equal(bench_loss(100, 110, &extra), 0);
	assert_int_equal(extra, 10);
	assert_int_equal(bench_loss(0, UINT64_MAX, &extra), 0);
	assert_int_equal(extra, UINT64_MAX);
	/* Without somewhere to report it, the excess is just not loss. */
	assert_int_equal(bench_loss(100, 110, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fresh_tracker_is_empty),
		cmocka_unit_test(in_order_messages_are_all_new),
		cmocka_unit_test(first_message_above_zero_is_a_gap),
		cmocka_unit_test(skipped_numbers_count_as_gaps),
		cmocka_unit_test(repeated_numbers_count_as_dups),
		cmocka_unit_test(number_behind_a_gap_counts_as_a_dup),
		cmocka_unit_test(publishers_are_tracked_separately),
		cmocka_unit_test(table_grows_to_keep_load_at_most_half),
		cmocka_unit_test(ten_thousand_publishers_survive_growth),
		cmocka_unit_test(consecutive_publishers_survive_growth),
		cmocka_unit_test(fini_leaves_a_reusable_tracker),
		cmocka_unit_test(sum_adds_counters_but_not_tables),
		cmocka_unit_test(loss_is_expected_minus_unique),
		cmocka_unit_test(loss_is_zero_when_all_arrived),
		cmocka_unit_test(loss_reports_extra_when_more_arrived),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
