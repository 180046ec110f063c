/*
 * bench.h - the pieces of starling-bench that need no event loop: latency
 * histogram, topic templates, the payload stamp, and sequence accounting.
 * They live in the static library `bench` so unit tests can reach them; the
 * libuv client and the command line (client.c, main.c) sit on top.
 *
 * Nothing here is shared between threads: each worker thread owns its
 * histograms and trackers, and the main thread merges them after the
 * workers have stopped.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Latency histogram                                                    */

/*
 * Log-linear buckets: values below 2^BENCH_HIST_SUB_BITS are exact; above,
 * every power of two is split into 2^BENCH_HIST_SUB_BITS equal buckets, so
 * the relative error of a quantile is under 1/2^BENCH_HIST_SUB_BITS (1.6%).
 * Values are nanoseconds; anything at or above 2^BENCH_HIST_MAX_BITS (about
 * 18 minutes) lands in the last bucket.  Memory is fixed: no allocation.
 */
#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_MAX_BITS 40
#define BENCH_HIST_BUCKETS                                                    \
	((BENCH_HIST_MAX_BITS - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS)

struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t buckets[BENCH_HIST_BUCKETS];
};

/* Empties h. */
void bench_hist_init(struct bench_hist *h);

/* Records one value. */
void bench_hist_add(struct bench_hist *h, uint64_t v);

/* Adds every value of src to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);

/* Returns the value at quantile q (0 <= q <= 1): the upper edge of the
 * bucket holding the ceil(q * count)-th smallest value, clamped to
 * [min, max]; q = 1 returns max exactly, q = 0 returns min.  0 if empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* Returns the mean, 0 if empty. */
double bench_hist_mean(const struct bench_hist *h);

/* ------------------------------------------------------------------ */
/* Topic and client id templates                                        */

/*
 * Expands a template, emqtt-bench style: "%i" is the client's sequence
 * number (1-based), "%c" its client id, "%rand" a random number in
 * [0, 2^31) and "%rand_N" one in [1, N], drawn from *rng (any non-zero
 * seed; xorshift, advanced per draw), "%%" a percent sign.  Any other '%'
 * is copied as is.  Writes a NUL-terminated string to out[0..cap) and
 * returns its length, or -1 if it does not fit.  client_id may be NULL if
 * the template has no "%c".
 */
int bench_template_expand(const char *tmpl, uint32_t seq,
    const char *client_id, uint64_t *rng, char *out, size_t cap);

/* True if the template expands the same way for every client and draw
 * (no "%i", "%c" or "%rand"), so it can be expanded once. */
bool bench_template_is_static(const char *tmpl);

/* ------------------------------------------------------------------ */
/* Payload stamp                                                        */

/*
 * The first BENCH_STAMP_LEN bytes of every payload starling-bench sends:
 * magic "SBN1", publisher number (u32), sequence number (u64) and send
 * time (u64, CLOCK_MONOTONIC ns, comparable across processes on one
 * machine), all little-endian.  Payloads shorter than the stamp carry none
 * and are counted but not checked.
 */
#define BENCH_STAMP_LEN 24

/* Writes the stamp into buf if len >= BENCH_STAMP_LEN (else nothing). */
void bench_stamp_write(uint8_t *buf, size_t len, uint32_t pub, uint64_t seq,
    uint64_t ts_ns);

/* Reads a stamp; false if buf is shorter or the magic is wrong. */
bool bench_stamp_read(const uint8_t *buf, size_t len, uint32_t *pub,
    uint64_t *seq, uint64_t *ts_ns);

/* ------------------------------------------------------------------ */
/* Sequence accounting                                                  */

/*
 * One receiver's view of the publishers it hears from: for each publisher
 * number, the next sequence number expected.  MQTT keeps the order of one
 * publisher's messages on one topic, so a number above the expected one
 * means the ones between were lost (so far) and a number below it is a
 * duplicate.  An open-addressing table that grows as publishers appear.
 */
struct bench_track_slot {
	uint32_t pub;
	uint32_t used;
	uint64_t next; /* next sequence number expected */
};

struct bench_track {
	struct bench_track_slot *slots;
	uint32_t cap;   /* power of two, or 0 */
	uint32_t npubs;
	uint64_t unique; /* messages seen for the first time */
	uint64_t dups;   /* sequence numbers seen before */
	uint64_t gaps;   /* sequence numbers skipped over */
};

enum bench_seq {
	BENCH_SEQ_NEW = 0, /* the expected number */
	BENCH_SEQ_GAP = 1, /* new, but some before it were skipped */
	BENCH_SEQ_DUP = 2, /* below the expected number */
	BENCH_SEQ_ENOMEM = -1,
};

void bench_track_init(struct bench_track *t);
void bench_track_fini(struct bench_track *t);

/* Records sequence number seq from publisher pub (numbers start at 0) and
 * returns its enum bench_seq class, updating the counters. */
int bench_track_add(struct bench_track *t, uint32_t pub, uint64_t seq);

/* Adds src's counters into dst (for totals; tables are not merged). */
void bench_track_sum(struct bench_track *dst, const struct bench_track *src);

/*
 * End-of-run loss accounting.  `expected` is what should have arrived
 * (messages published times the subscribers each reaches), `unique` what
 * did arrive at least once.  Returns expected - unique, or 0 when more
 * arrived than expected (which *extra then reports; extra may be NULL).
 */
uint64_t bench_loss(uint64_t expected, uint64_t unique, uint64_t *extra);

/* ------------------------------------------------------------------ */
/* Misc                                                                 */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

#endif /* BENCH_BENCH_H */
