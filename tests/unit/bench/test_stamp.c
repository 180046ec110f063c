/*
 * test_stamp.c - unit tests for the payload stamp and clock in
 * bench/stamp.c: bench_stamp_write(), bench_stamp_read(), bench_now_ns().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* ------------------------------------------------------------------ */
/* Payload stamp                                                        */

static void
stamp_has_the_documented_byte_layout(void **state)
{
	static const uint8_t expect[BENCH_STAMP_LEN] = {
		'S', 'B', 'N', '1',
		0x04, 0x03, 0x02, 0x01,
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
		0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,
	};
	uint8_t buf[BENCH_STAMP_LEN + 4];

	(void)state;
	memset(buf, 0xEE, sizeof(buf));
	bench_stamp_write(buf, sizeof(buf), 0x01020304u,
	    0x1112131415161718u, 0x2122232425262728u);
	assert_memory_equal(buf, expect, BENCH_STAMP_LEN);
	/* The rest of the payload is not the stamp's. */
	for (size_t i = BENCH_STAMP_LEN; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0xEE);
	}
}

static void
stamp_round_trips(void **state)
{
	static const struct {
		uint32_t pub;
		uint64_t seq, ts;
	} cases[] = {
		{ 0, 0, 0 },
		{ 1, 2, 3 },
		{ 0x80000001u, 0x8000000000000001u, 0xFEDCBA9876543210u },
		{ UINT32_MAX, UINT64_MAX, UINT64_MAX },
	};
	uint8_t buf[BENCH_STAMP_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t pub = 7;
		uint64_t seq = 7, ts = 7;

		bench_stamp_write(buf, sizeof(buf), cases[i].pub,
		    cases[i].seq, cases[i].ts);
		assert_true(bench_stamp_read(buf, sizeof(buf), &pub, &seq,
		    &ts));
		assert_int_equal(pub, cases[i].pub);
		assert_true(seq == cases[i].seq);
		assert_true(ts == cases[i].ts);
	}
}

static void
stamp_is_not_written_into_a_short_buffer(void **state)
{
	uint8_t buf[BENCH_STAMP_LEN];

	(void)state;
	memset(buf, 0xAA, sizeof(buf));
	bench_stamp_write(buf, BENCH_STAMP_LEN - 1, 1, 2, 3);
	for (size_t i = 0; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0xAA);
	}
	bench_stamp_write(buf, 0, 1, 2, 3);
	assert_int_equal(buf[0], 0xAA);
}

static void
stamp_read_rejects_a_short_buffer(void **state)
{
	uint8_t buf[BENCH_STAMP_LEN];
	uint32_t pub = 9;
	uint64_t seq = 9, ts = 9;

	(void)state;
	bench_stamp_write(buf, sizeof(buf), 1, 2, 3);
	assert_false(bench_stamp_read(buf, BENCH_STAMP_LEN - 1, &pub, &seq,
	    &ts));
	assert_false(bench_stamp_read(buf, 0, &pub, &seq, &ts));
	assert_int_equal(pub, 9);
	assert_int_equal(seq, 9);
	assert_int_equal(ts, 9);
}

static void
stamp_read_rejects_a_wrong_magic(void **state)
{
	uint8_t buf[BENCH_STAMP_LEN];
	uint32_t pub = 9;
	uint64_t seq = 9, ts = 9;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		bench_stamp_write(buf, sizeof(buf), 1, 2, 3);
		buf[i] ^= 0x20;
		assert_false(bench_stamp_read(buf, sizeof(buf), &pub, &seq,
		    &ts));
	}
	/* An older or newer layout version is not ours either. */
	bench_stamp_write(buf, sizeof(buf), 1, 2, 3);
	buf[3] = '2';
	assert_false(bench_stamp_read(buf, sizeof(buf), &pub, &seq, &ts));
	assert_int_equal(pub, 9);
	assert_int_equal(seq, 9);
	assert_int_equal(ts, 9);
}

static void
stamp_reads_from_a_longer_payload(void **state)
{
	uint8_t buf[1000];
	uint32_t pub = 0;
	uint64_t seq = 0, ts = 0;

	(void)state;
	memset(buf, 'p', sizeof(buf));
	bench_stamp_write(buf, sizeof(buf), 77, 88, 99);
	assert_true(bench_stamp_read(buf, sizeof(buf), &pub, &seq, &ts));
	assert_int_equal(pub, 77);
	assert_int_equal(seq, 88);
	assert_int_equal(ts, 99);
}

static void
now_ns_does_not_go_backwards(void **state)
{
	uint64_t prev = bench_now_ns();

	(void)state;
	assert_true(prev > 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t now = bench_now_ns();

		assert_true(now >= prev);
		prev = now;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stamp_has_the_documented_byte_layout),
		cmocka_unit_test(stamp_round_trips),
		cmocka_unit_test(stamp_is_not_written_into_a_short_buffer),
		cmocka_unit_test(stamp_read_rejects_a_short_buffer),
		cmocka_unit_test(stamp_read_rejects_a_wrong_magic),
		cmocka_unit_test(stamp_reads_from_a_longer_payload),
		cmocka_unit_test(now_ns_does_not_go_backwards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
