/*
 * test_hist.c - unit tests for the latency histogram in bench/hist.c:
 * bench_hist_init(), bench_hist_add(), bench_hist_merge(),
 * bench_hist_quantile() and bench_hist_mean().
 *
 * Expected quantiles come from the bucket layout described in hist.c:
 * exact below 128, then 64 buckets per power of two, and a quantile is the
 * upper edge of its bucket clamped to [min, max].  The property tests sort
 * the same values and check that every reported quantile is at or above
 * the true one and less than 1/64 above it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* struct bench_hist is about 18 KiB, too big to put on the stack in every
 * test comfortably; tests allocate it and free it at the end. */
static struct bench_hist *
hist_new(void)
{
	struct bench_hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	bench_hist_init(h);
	return h;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Checks, for q = 0.001, 0.002, ..., 0.999 and a few tail quantiles, that
 * the histogram of vals reports a value v with truth <= v < truth * (1 +
 * 1/64), where truth is the ceil(q * n)-th smallest of vals.  q is num/den
 * so the rank can be computed in integers, free of rounding. */
static void
check_quantiles_within_bound(uint64_t *vals, size_t n)
{
	static const uint64_t tails[] = { 99990, 99999, 50000, 25000, 1 };
	const uint64_t den = 100000;
	const size_t ntails = sizeof(tails) / sizeof(tails[0]);
	struct bench_hist *h = hist_new();

	for (size_t i = 0; i < n; i++) {
		bench_hist_add(h, vals[i]);
	}
	qsort(vals, n, sizeof(*vals), cmp_u64);
	for (size_t k = 1; k < 1000 + ntails; k++) {
		uint64_t num = k < 1000 ? k * 100 : tails[k - 1000];
		uint64_t rank = (num * n + den - 1) / den;
		uint64_t truth = vals[rank - 1];
		uint64_t got = bench_hist_quantile(h, (double)num / den);

		assert_true(got >= truth);
		assert_true((double)(got - truth) < (double)truth / 64.0);
	}
	assert_int_equal(bench_hist_quantile(h, 0), vals[0]);
	assert_int_equal(bench_hist_quantile(h, 1), vals[n - 1]);
	free(h);
}

static void
empty_histogram_reports_zero(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	assert_int_equal(h->count, 0);
	assert_int_equal(bench_hist_quantile(h, 0), 0);
	assert_int_equal(bench_hist_quantile(h, 0.5), 0);
	assert_int_equal(bench_hist_quantile(h, 1), 0);
	assert_true(bench_hist_mean(h) == 0.0);
	free(h);
}

static void
values_below_64_are_exact_at_every_rank(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	/* Added in reverse so order of arrival cannot matter. */
	for (int v = 63; v >= 0; v--) {
		bench_hist_add(h, (uint64_t)v);
	}
	assert_int_equal(h->count, 64);
	assert_int_equal(h->min, 0);
	assert_int_equal(h->max, 63);
	/* q = k/64 is exact in binary, so the rank is exactly k. */
	for (int k = 1; k <= 64; k++) {
		assert_int_equal(bench_hist_quantile(h, k / 64.0), k - 1);
	}
	for (int v = 0; v < 64; v++) {
		assert_int_equal(h->buckets[v], 1);
	}
	free(h);
}

static void
values_below_128_get_a_bucket_each(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	for (uint64_t v = 0; v < 128; v++) {
		bench_hist_add(h, v);
	}
	for (size_t i = 0; i < 128; i++) {
		assert_int_equal(h->buckets[i], 1);
	}
	for (int k = 1; k <= 128; k++) {
		assert_int_equal(bench_hist_quantile(h, k / 128.0), k - 1);
	}
	free(h);
}

static void
single_value_is_every_quantile(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	/* 100000 sits in a bucket 1024 wide; the clamp to [min, max] must
	 * still give the value itself at every q. */
	bench_hist_add(h, 100000);
	assert_int_equal(bench_hist_quantile(h, 0), 100000);
	assert_int_equal(bench_hist_quantile(h, 0.01), 100000);
	assert_int_equal(bench_hist_quantile(h, 0.5), 100000);
	assert_int_equal(bench_hist_quantile(h, 0.999), 100000);
	assert_int_equal(bench_hist_quantile(h, 1), 100000);
	assert_true(bench_hist_mean(h) == 100000.0);
	free(h);
}

static void
uniform_1_to_100000_quantiles_are_bucket_upper_edges(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	for (uint64_t v = 1; v <= 100000; v++) {
		bench_hist_add(h, v);
	}
	assert_int_equal(h->count, 100000);
	assert_int_equal(bench_hist_quantile(h, 0), 1);
	assert_int_equal(bench_hist_quantile(h, 1), 100000);
	/* 50000 is in [49664, 50176): width 2^9 in [2^15, 2^16). */
	assert_int_equal(bench_hist_quantile(h, 0.5), 50175);
	/* 99000 is in [98304, 99328): width 2^10 in [2^16, 2^17). */
	assert_int_equal(bench_hist_quantile(h, 0.99), 99327);
	/* 99900 is in [99328, 100352), whose edge is clamped to max. */
	assert_int_equal(bench_hist_quantile(h, 0.999), 100000);
	/* And all within 1/64 (1.6%) of the true value. */
	assert_true(bench_hist_quantile(h, 0.5) - 50000 < 50000 / 64);
	assert_true(bench_hist_quantile(h, 0.99) - 99000 < 99000 / 64);
	assert_true(bench_hist_quantile(h, 0.999) - 99900 < 99900 / 64);
	/* The sum 5000050000 is exact in a double. */
	assert_true(bench_hist_mean(h) == 50000.5);
	free(h);
}

static void
rank_ignores_rounding_of_q_times_count(void **state)
{
	struct bench_hist *h = hist_new();

	(void)state;
	for (uint64_t v = 1; v <= 100; v++) {
		bench_hist_add(h, v);
	}
	/* 0.07 * 100 computes as 7.000000000000001; the 7th value is 7. */
	assert_int_equal(bench_hist_quantile(h, 0.07), 7);
	/* 0.57 * 100 computes as 56.99999999999999; the 57th is 57. */
	assert_int_equal(bench_hist_quantile(h, 0.57), 57);
	/* A q between ranks rounds up: ceil(0.065 * 100) = 7. */
	assert_int_equal(bench_hist_quantile(h, 0.065), 7);
	free(h);
}

static void
uniform_quantiles_stay_within_one_sixty_fourth(void **state)
{
	size_t n = 100000;
	uint64_t *vals = malloc(n * sizeof(*vals));

	(void)state;
	assert_non_null(vals);
	for (size_t i = 0; i < n; i++) {
		vals[i] = i + 1;
	}
	check_quantiles_within_bound(vals, n);
	free(vals);
}

static void
squares_quantiles_stay_within_one_sixty_fourth(void **state)
{
	size_t n = 20000;
	uint64_t *vals = malloc(n * sizeof(*vals));

	(void)state;
	assert_non_null(vals);
	for (size_t i = 0; i < n; i++) {
		vals[i] = (uint64_t)(i + 1) * (i + 1);
	}
	check_quantiles_within_bound(vals, n);
	free(vals);
}

static void
log_spread_quantiles_stay_within_one_sixty_fourth(void **state)
{
	size_t n = 50000;
	uint64_t *vals = malloc(n * sizeof(*vals));
	uint64_t x = 88172645463325252u;

	(void)state;
	assert_non_null(vals);
	/* Mantissa and exponent drawn separately: spread over 1 ns to about
	 * 2^39 ns, like a latency distribution with a long tail. */
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		vals[i] = ((x >> 40) | 1) >> (x % 25);
		vals[i] <<= (x >> 8) % 16;
		if (vals[i] == 0) {
			vals[i] = 1;
		}
	}
	check_quantiles_within_bound(vals, n);
	free(vals);
}

static void
merge_equals_adding_everything_to_one(void **state)
{
	struct bench_hist *a = hist_new(), *b = hist_new();
	struct bench_hist *all = hist_new();

	(void)state;
	for (uint64_t v = 0; v < 30000; v++) {
		uint64_t x = v * v * 7 + 3;

		bench_hist_add(v % 3 == 0 ? a : b, x);
		bench_hist_add(all, x);
	}
	bench_hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	assert_true(a->sum == all->sum);
	assert_memory_equal(a->buckets, all->buckets, sizeof(a->buckets));
	assert_int_equal(bench_hist_quantile(a, 0.5),
	    bench_hist_quantile(all, 0.5));
	assert_int_equal(bench_hist_quantile(a, 0.99),
	    bench_hist_quantile(all, 0.99));
	/* src is only read. */
	assert_int_equal(b->count, 20000);
	free(a);
	free(b);
	free(all);
}

static void
merge_with_an_empty_side_keeps_min_and_max(void **state)
{
	struct bench_hist *h = hist_new(), *empty = hist_new();
	struct bench_hist *dst = hist_new();

	(void)state;
	bench_hist_add(h, 500);
	bench_hist_add(h, 900);
	/* Empty into full: no change, min stays 500 (not 0). */
	bench_hist_merge(h, empty);
	assert_int_equal(h->count, 2);
	assert_int_equal(h->min, 500);
	assert_int_equal(h->max, 900);
	/* Full into empty: dst takes src's min and max. */
	bench_hist_merge(dst, h);
	assert_int_equal(dst->count, 2);
	assert_int_equal(dst->min, 500);
	assert_int_equal(dst->max, 900);
	assert_int_equal(bench_hist_quantile(dst, 0), 500);
	assert_true(bench_hist_mean(dst) == 700.0);
	free(h);
	free(empty);
	free(dst);
}

static void
huge_values_go_in_the_last_bucket(void **state)
{
	struct bench_hist *h = hist_new();
	const uint64_t top = (uint64_t)1 << BENCH_HIST_MAX_BITS;

	(void)state;
	bench_hist_add(h, top);
	bench_hist_add(h, (uint64_t)1 << 63);
	bench_hist_add(h, UINT64_MAX);
	assert_int_equal(h->buckets[BENCH_HIST_BUCKETS - 1], 3);
	assert_int_equal(h->count, 3);
	assert_int_equal(h->min, top);
	assert_int_equal(h->max, UINT64_MAX);
	assert_int_equal(bench_hist_quantile(h, 1), UINT64_MAX);
	assert_int_equal(bench_hist_quantile(h, 0), top);
	/* The last bucket is open above, so its edge is the max. */
	assert_int_equal(bench_hist_quantile(h, 0.5), UINT64_MAX);
	assert_true(bench_hist_mean(h) > 6.0e18);
	free(h);
}

static void
top_of_the_range_splits_at_the_last_bucket_edge(void **state)
{
	struct bench_hist *h = hist_new();
	/* The last bucket below 2^40 starts at 2^40 - 2^33. */
	const uint64_t edge = ((uint64_t)1 << 40) - ((uint64_t)1 << 33);

	(void)state;
	bench_hist_add(h, edge - 1);
	bench_hist_add(h, edge);
	assert_int_equal(h->buckets[BENCH_HIST_BUCKETS - 2], 1);
	assert_int_equal(h->buckets[BENCH_HIST_BUCKETS - 1], 1);
	/* The 1st value's bucket edge is edge - 1 itself. */
	assert_int_equal(bench_hist_quantile(h, 0.5), edge - 1);
	free(h);
}

static void
init_empties_a_used_histogram(void **state)
{
	struct bench_hist *h = hist_new();
	struct bench_hist *fresh = hist_new();

	(void)state;
	bench_hist_add(h, 12345);
	bench_hist_init(h);
	assert_int_equal(h->count, 0);
	assert_memory_equal(h, fresh, sizeof(*h));
	free(h);
	free(fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_histogram_reports_zero),
		cmocka_unit_test(values_below_64_are_exact_at_every_rank),
		cmocka_unit_test(values_below_128_get_a_bucket_each),
		cmocka_unit_test(single_value_is_every_quantile),
		cmocka_unit_test(
		    uniform_1_to_100000_quantiles_are_bucket_upper_edges),
		cmocka_unit_test(rank_ignores_rounding_of_q_times_count),
		cmocka_unit_test(
		    uniform_quantiles_stay_within_one_sixty_fourth),
		cmocka_unit_test(
		    squares_quantiles_stay_within_one_sixty_fourth),
		cmocka_unit_test(
		    log_spread_quantiles_stay_within_one_sixty_fourth),
		cmocka_unit_test(merge_equals_adding_everything_to_one),
		cmocka_unit_test(merge_with_an_empty_side_keeps_min_and_max),
		cmocka_unit_test(huge_values_go_in_the_last_bucket),
		cmocka_unit_test(
		    top_of_the_range_splits_at_the_last_bucket_edge),
		cmocka_unit_test(init_empties_a_used_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
