/*
 * stamp.c - the payload stamp of starling-bench (bench_stamp_write(),
 * bench_stamp_read()) and its clock, bench_now_ns().
 *
 * Wire layout, BENCH_STAMP_LEN = 24 bytes at the start of a payload:
 *   offset  0  4 bytes  magic "SBN1" (ASCII, in that order)
 *   offset  4  u32      publisher number, little-endian
 *   offset  8  u64      sequence number, little-endian
 *   offset 16  u64      send time, CLOCK_MONOTONIC ns, little-endian
 * Compatibility: the digit in the magic is the layout version; a different
 * layout needs a new magic, and readers reject magics they do not know.
 * Fields are assembled byte by byte so the layout does not depend on the
 * host's byte order or on the buffer's alignment.
 *
 * Any thread may call these; they touch only the buffers they are given.
 */
#include "bench/bench.h"

#include <time.h>

static const uint8_t stamp_magic[4] = { 'S', 'B', 'N', '1' };

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

/* Writes the stamp into buf[0..BENCH_STAMP_LEN) when len allows; a shorter
 * buffer is left untouched.  buf is borrowed. */
void
bench_stamp_write(uint8_t *buf, size_t len, uint32_t pub, uint64_t seq,
    uint64_t ts_ns)
{
	if (len < BENCH_STAMP_LEN) {
		return;
	}
	for (size_t i = 0; i < sizeof(stamp_magic); i++) {
		buf[i] = stamp_magic[i];
	}
	put_le(buf + 4, pub, 4);
	put_le(buf + 8, seq, 8);
	put_le(buf + 16, ts_ns, 8);
}

/* Reads the stamp at the start of buf.  Returns false, leaving the outputs
 * untouched, if len < BENCH_STAMP_LEN or the magic is not "SBN1".  buf is
 * borrowed; pub, seq and ts_ns must not be NULL. */
bool
bench_stamp_read(const uint8_t *buf, size_t len, uint32_t *pub,
    uint64_t *seq, uint64_t *ts_ns)
{
	if (len < BENCH_STAMP_LEN) {
		return false;
	}
	for (size_t i = 0; i < sizeof(stamp_magic); i++) {
		if (buf[i] != stamp_magic[i]) {
			return false;
		}
	}
	*pub = (uint32_t)get_le(buf + 4, 4);
	*seq = get_le(buf + 8, 8);
	*ts_ns = get_le(buf + 16, 8);
	return true;
}

/* Returns CLOCK_MONOTONIC in nanoseconds.  CLOCK_MONOTONIC cannot fail on
 * Linux given a valid pointer, so a failure returns 0 rather than an
 * error the caller would have nowhere to send. */
uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
