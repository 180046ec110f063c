/*
 * track.c - sequence accounting of starling-bench: bench_track_init(),
 * bench_track_fini(), bench_track_add(), bench_track_sum() and
 * bench_loss().
 *
 * A tracker belongs to one receiving client, so only the worker thread
 * owning that client touches it; the main thread sums trackers with
 * bench_track_sum() after the workers have stopped.
 *
 * Design notes.  The table is open addressing with linear probing over
 * t->slots[0..cap), cap a power of two (or 0 before the first publisher).
 * Invariants: exactly npubs slots have used != 0, each publisher number
 * appears in at most one used slot, and npubs * 2 <= cap, so a probe always
 * meets a free slot.  Slots are never removed, so probe chains never break.
 * The home slot of a publisher is a Fibonacci (multiplicative) hash, which
 * spreads the consecutive publisher numbers starling-bench hands out.
 */
#include "bench/bench.h"

#include <stdlib.h>

#define TRACK_MIN_CAP 16u
#define TRACK_MAX_CAP ((uint32_t)1 << 31)

/* Returns the home slot of pub: the top log2(cap) bits of pub times
 * 2^32 / golden ratio. */
static uint32_t
home_of(uint32_t pub, uint32_t cap)
{
	uint32_t h = pub * 0x9E3779B9u;

	return (uint32_t)(((uint64_t)h * cap) >> 32);
}

/* Returns the slot holding pub, or the free slot where it would go.  The
 * table must have cap > 0 and at least one free slot. */
static struct bench_track_slot *
find_slot(struct bench_track_slot *slots, uint32_t cap, uint32_t pub)
{
	uint32_t i = home_of(pub, cap);

	while (slots[i].used && slots[i].pub != pub) {
		i = (i + 1) & (cap - 1);
	}
	return &slots[i];
}

/* Doubles the table (or makes the first one) and rehashes every used slot
 * into it.  Returns 0, or BENCH_SEQ_ENOMEM with t unchanged if the
 * allocation fails or the table is already at its largest size. */
static int
grow(struct bench_track *t)
{
	uint32_t ncap = t->cap == 0 ? TRACK_MIN_CAP : t->cap * 2;
	struct bench_track_slot *nslots;

	if (t->cap >= TRACK_MAX_CAP) {
		return BENCH_SEQ_ENOMEM;
	}
	/* calloc checks ncap * size for overflow itself. */
	nslots = calloc(ncap, sizeof(*nslots));
	if (nslots == NULL) {
		return BENCH_SEQ_ENOMEM;
	}
	for (uint32_t i = 0; i < t->cap; i++) {
		if (t->slots[i].used) {
			*find_slot(nslots, ncap, t->slots[i].pub) =
			    t->slots[i];
		}
	}
	free(t->slots);
	t->slots = nslots;
	t->cap = ncap;
	return 0;
}

void
bench_track_init(struct bench_track *t)
{
	*t = (struct bench_track) { 0 };
}

/* Frees the table and leaves t empty, as after bench_track_init(), so it
 * may be reused or finalised again. */
void
bench_track_fini(struct bench_track *t)
{
	free(t->slots);
	bench_track_init(t);
}

/*
 * Records sequence number seq from publisher pub.  A publisher seen for the
 * first time expects 0.  Returns BENCH_SEQ_NEW if seq is the expected
 * number, BENCH_SEQ_GAP if it is above (gaps grows by the numbers skipped),
 * BENCH_SEQ_DUP if it is below, and BENCH_SEQ_ENOMEM, counting nothing,
 * if a new publisher needs a bigger table that cannot be allocated.
 */
int
bench_track_add(struct bench_track *t, uint32_t pub, uint64_t seq)
{
	struct bench_track_slot *s = NULL;

	if (t->cap > 0) {
		s = find_slot(t->slots, t->cap, pub);
	}
	if (s == NULL || !s->used) {
		/* A new publisher: keep the load at or under one half. */
		if (((uint64_t)t->npubs + 1) * 2 > t->cap) {
			if (grow(t) != 0) {
				return BENCH_SEQ_ENOMEM;
			}
			s = find_slot(t->slots, t->cap, pub);
		}
		s->pub = pub;
		s->used = 1;
		s->next = 0;
		t->npubs++;
	}
	if (seq < s->next) {
		t->dups++;
		return BENCH_SEQ_DUP;
	}
	t->unique++;
	if (seq == s->next) {
		s->next = seq + 1;
		return BENCH_SEQ_NEW;
	}
	t->gaps += seq - s->next;
	s->next = seq + 1;
	return BENCH_SEQ_GAP;
}

/* Adds src's unique, dups and gaps into dst.  npubs and the tables are left
 * alone: npubs describes dst's own table, and a publisher heard by two
 * receivers is not two publishers. */
void
bench_track_sum(struct bench_track *dst, const struct bench_track *src)
{
	dst->unique += src->unique;
	dst->dups += src->dups;
	dst->gaps += src->gaps;
}

/* Returns expected - unique when some are missing, else 0; *extra (when
 * extra is not NULL) gets unique - expected when more arrived than
 * expected, else 0. */
uint64_t
bench_loss(uint64_t expected, uint64_t unique, uint64_t *extra)
{
	if (extra != NULL) {
		*extra = unique > expected ? unique - expected : 0;
	}
	return unique < expected ? expected - unique : 0;
}
