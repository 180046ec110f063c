/*
 * hist.c - the latency histogram of starling-bench: bench_hist_init(),
 * bench_hist_add(), bench_hist_merge(), bench_hist_quantile() and
 * bench_hist_mean().
 *
 * A histogram is a fixed array of counters inside struct bench_hist, so it
 * never allocates.  Each worker thread owns its own histograms; the main
 * thread merges them once the workers have stopped, so nothing here locks.
 *
 * Bucket layout (log-linear, SUB = 2^BENCH_HIST_SUB_BITS = 64):
 *   - values 0..SUB-1 get one bucket each, index = value;
 *   - a value v with highest set bit e (SUB_BITS <= e < MAX_BITS) goes to
 *     index (e - SUB_BITS + 1) * SUB + (v >> (e - SUB_BITS)) - SUB, i.e. the
 *     power of two [2^e, 2^(e+1)) is cut into SUB equal buckets of width
 *     2^(e - SUB_BITS);
 *   - values >= 2^MAX_BITS all land in the last bucket.
 * For e == SUB_BITS the width is 1, so every value below 2*SUB is exact; any
 * other bucket spans less than 1/SUB of its lower edge, which bounds the
 * relative error of a quantile.
 */
#include "bench/bench.h"

#include <float.h>
#include <string.h>

#define SUB ((uint64_t)1 << BENCH_HIST_SUB_BITS)
#define LAST_BUCKET (BENCH_HIST_BUCKETS - 1)

/* Returns the index of the highest set bit of v, which must be non-zero. */
static unsigned
highest_bit(uint64_t v)
{
	unsigned e = 0;

	while (v >>= 1) {
		e++;
	}
	return e;
}

/* Maps a value to its bucket index, as laid out in the file comment. */
static size_t
bucket_of(uint64_t v)
{
	unsigned e;

	if (v < SUB) {
		return (size_t)v;
	}
	if (v >> BENCH_HIST_MAX_BITS) {
		return LAST_BUCKET;
	}
	e = highest_bit(v);
	return (size_t)(e - BENCH_HIST_SUB_BITS + 1) * SUB +
	    (size_t)(v >> (e - BENCH_HIST_SUB_BITS)) - SUB;
}

/*
 * Returns the largest value that maps to bucket i.  The last bucket has no
 * upper bound (it also holds everything >= 2^MAX_BITS), so its edge is
 * UINT64_MAX and the caller's clamp to max turns it into the true maximum.
 */
static uint64_t
bucket_upper(size_t i)
{
	unsigned shift;
	uint64_t lower;

	if (i == LAST_BUCKET) {
		return UINT64_MAX;
	}
	if (i < SUB) {
		return (uint64_t)i;
	}
	shift = (unsigned)(i / SUB) - 1;
	lower = (SUB + i % SUB) << shift;
	return lower + ((uint64_t)1 << shift) - 1;
}

void
bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
bench_hist_add(struct bench_hist *h, uint64_t v)
{
	if (h->count == 0 || v < h->min) {
		h->min = v;
	}
	if (h->count == 0 || v > h->max) {
		h->max = v;
	}
	h->count++;
	h->sum += (double)v;
	h->buckets[bucket_of(v)]++;
}

/*
 * Adds every value of src to dst, as if each had been passed to
 * bench_hist_add(dst, ...).  Both are borrowed; src is not changed.  An
 * empty src leaves dst untouched, and an empty dst takes src's min and max.
 */
void
bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	if (src->count == 0) {
		return;
	}
	if (dst->count == 0 || src->min < dst->min) {
		dst->min = src->min;
	}
	if (dst->count == 0 || src->max > dst->max) {
		dst->max = src->max;
	}
	dst->count += src->count;
	dst->sum += src->sum;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		dst->buckets[i] += src->buckets[i];
	}
}

/*
 * Returns the rank (1-based) of the value at quantile q, ceil(q * count)
 * clamped to [1, count].  A product that is an integer but for rounding
 * (0.999 * 100000 computes as 99900.00000000001) is taken as that integer,
 * so q = 0.999 of 100000 values is the 99900th, not the 99901st.
 */
static uint64_t
rank_of(double q, uint64_t count)
{
	double x = q * (double)count;
	double tol = x * 4 * DBL_EPSILON;
	uint64_t rank;

	if (x >= (double)count) {
		return count;
	}
	rank = (uint64_t)x;
	if (x - (double)rank > tol) {
		rank++;
	}
	return rank < 1 ? 1 : rank;
}

/*
 * Returns the value at quantile q: the upper edge of the bucket holding the
 * ceil(q * count)-th smallest value, clamped to [min, max].  q <= 0 (or NaN)
 * returns min and q >= 1 returns max, both exact; an empty histogram
 * returns 0.  h is borrowed.
 */
uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t rank, seen = 0, v;
	size_t i;

	if (h->count == 0) {
		return 0;
	}
	if (!(q > 0)) {
		return h->min;
	}
	if (q >= 1) {
		return h->max;
	}
	rank = rank_of(q, h->count);
	for (i = 0; i < LAST_BUCKET; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			break;
		}
	}
	/* i is the bucket holding the rank-th value (or the last bucket). */
	v = bucket_upper(i);
	if (v > h->max) {
		v = h->max;
	}
	if (v < h->min) {
		v = h->min;
	}
	return v;
}

double
bench_hist_mean(const struct bench_hist *h)
{
	if (h->count == 0) {
		return 0;
	}
	return h->sum / (double)h->count;
}
