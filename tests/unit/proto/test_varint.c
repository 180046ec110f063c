/*
 * test_varint.c - unit tests for the variable byte integer codec in
 * proto/varint.c: proto_varint_decode(), proto_varint_encode() and
 * proto_varint_size().
 *
 * The expected encodings come from MQTT 5.0 section 1.5.5 (and 3.1.1
 * section 2.2.3): seven bits per byte, least significant group first, the
 * top bit set on every byte but the last, at most four bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/proto.h"

/* One boundary value and its only (shortest) encoding. */
struct varint_case {
	uint32_t value;
	size_t len;
	uint8_t bytes[4];
};

static const struct varint_case boundaries[] = {
	{ 0, 1, { 0x00 } },
	{ 1, 1, { 0x01 } },
	{ 127, 1, { 0x7F } },
	{ 128, 2, { 0x80, 0x01 } },
	{ 321, 2, { 0xC1, 0x02 } },
	{ 16383, 2, { 0xFF, 0x7F } },
	{ 16384, 3, { 0x80, 0x80, 0x01 } },
	{ 2097151, 3, { 0xFF, 0xFF, 0x7F } },
	{ 2097152, 4, { 0x80, 0x80, 0x80, 0x01 } },
	{ 268435455, 4, { 0xFF, 0xFF, 0xFF, 0x7F } },
};

#define NCASES (sizeof(boundaries) / sizeof(boundaries[0]))

static void
encode_writes_shortest_form_at_every_boundary(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		uint8_t out[4] = { 0xEE, 0xEE, 0xEE, 0xEE };
		size_t n = proto_varint_encode(boundaries[i].value, out);

		assert_int_equal(n, boundaries[i].len);
		assert_memory_equal(out, boundaries[i].bytes, n);
	}
}

static void
size_matches_encoding_at_every_boundary(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		assert_int_equal(proto_varint_size(boundaries[i].value),
		    boundaries[i].len);
	}
}

static void
decode_reads_every_boundary(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		uint32_t v = 0xDEADBEEF;
		size_t used = 99;
		int rc = proto_varint_decode(boundaries[i].bytes,
		    boundaries[i].len, &v, &used);

		assert_int_equal(rc, PROTO_OK);
		assert_int_equal(v, boundaries[i].value);
		assert_int_equal(used, boundaries[i].len);
	}
}

static void
decode_stops_at_last_byte_and_ignores_what_follows(void **state)
{
	uint8_t buf[8];
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		uint32_t v = 0;
		size_t used = 0;

		memset(buf, 0xFF, sizeof(buf));
		memcpy(buf, boundaries[i].bytes, boundaries[i].len);
		assert_int_equal(proto_varint_decode(buf, sizeof(buf), &v,
		                     &used),
		    PROTO_OK);
		assert_int_equal(v, boundaries[i].value);
		assert_int_equal(used, boundaries[i].len);
	}
}

static void
too_large_value_encodes_to_nothing(void **state)
{
	static const uint32_t big[] = { 268435456u, 268435457u, 0x7FFFFFFFu,
		0xFFFFFFFFu };
	(void)state;
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		uint8_t out[4];

		assert_int_equal(proto_varint_encode(big[i], out), 0);
		assert_int_equal(proto_varint_size(big[i]), 0);
	}
	assert_int_equal(proto_varint_size(PROTO_MAX_REMAINING), 4);
}

static void
encode_then_decode_round_trips_across_the_range(void **state)
{
	(void)state;
	/* Every value up to 3 bytes' worth near the edges, then a stride
	 * through the whole range. */
	for (uint32_t v = 0; v <= PROTO_MAX_REMAINING;) {
		uint8_t out[4];
		uint32_t back = 0;
		size_t used = 0;
		size_t n = proto_varint_encode(v, out);

		assert_true(n >= 1 && n <= 4);
		assert_int_equal(n, proto_varint_size(v));
		assert_int_equal(proto_varint_decode(out, n, &back, &used),
		    PROTO_OK);
		assert_int_equal(back, v);
		assert_int_equal(used, n);
		if (v < 20000) {
			v++;
		} else if (PROTO_MAX_REMAINING - v < 9973 &&
		    v != PROTO_MAX_REMAINING) {
			v = PROTO_MAX_REMAINING;
		} else {
			v += 9973;
		}
	}
}

static void
empty_input_needs_more(void **state)
{
	static const uint8_t buf[1] = { 0x00 };
	uint32_t v = 0;
	size_t used = 0;
	(void)state;
	assert_int_equal(proto_varint_decode(buf, 0, &v, &used), PROTO_MORE);
}

static void
incomplete_integer_needs_more(void **state)
{
	/* Continuation bit set on every byte available, fewer than 4. */
	static const uint8_t one[] = { 0x80 };
	static const uint8_t two[] = { 0xFF, 0xFF };
	static const uint8_t three[] = { 0x80, 0x80, 0x80 };
	uint32_t v = 0;
	size_t used = 0;
	(void)state;
	assert_int_equal(proto_varint_decode(one, 1, &v, &used), PROTO_MORE);
	assert_int_equal(proto_varint_decode(two, 2, &v, &used), PROTO_MORE);
	assert_int_equal(proto_varint_decode(three, 3, &v, &used),
	    PROTO_MORE);
}

static void
decode_respects_len_and_does_not_read_beyond_it(void **state)
{
	/* The terminating byte is in memory but outside len. */
	static const uint8_t buf[] = { 0x80, 0x80, 0x01 };
	uint32_t v = 0;
	size_t used = 0;
	(void)state;
	assert_int_equal(proto_varint_decode(buf, 1, &v, &used), PROTO_MORE);
	assert_int_equal(proto_varint_decode(buf, 2, &v, &used), PROTO_MORE);
	assert_int_equal(proto_varint_decode(buf, 3, &v, &used), PROTO_OK);
	assert_int_equal(v, 16384);
	assert_int_equal(used, 3);
}

static void
fifth_byte_is_an_error(void **state)
{
	/* Four bytes all with the continuation bit: a fifth would be
	 * needed, which the format forbids, whether or not it is there. */
	static const uint8_t four[] = { 0x80, 0x80, 0x80, 0x80 };
	static const uint8_t five[] = { 0xFF, 0xFF, 0xFF, 0xFF, 0x7F };
	static const uint8_t five0[] = { 0x80, 0x80, 0x80, 0x80, 0x00 };
	uint32_t v = 0;
	size_t used = 0;
	(void)state;
	assert_int_equal(proto_varint_decode(four, sizeof(four), &v, &used),
	    PROTO_EVARINT);
	assert_int_equal(proto_varint_decode(five, sizeof(five), &v, &used),
	    PROTO_EVARINT);
	assert_int_equal(proto_varint_decode(five0, sizeof(five0), &v,
	                     &used),
	    PROTO_EVARINT);
}

static void
non_minimal_encoding_is_rejected(void **state)
{
	/* MQTT 5.0 1.5.5 [MQTT-1.5.5-1]: the shortest form only.  A padded
	 * integer (a last group of zero after the first byte) is refused as
	 * PROTO_EVARINT, and nothing is stored. */
	static const uint8_t zero2[] = { 0x80, 0x00 };
	static const uint8_t v127x3[] = { 0xFF, 0x80, 0x00 };
	static const uint8_t one4[] = { 0x81, 0x80, 0x80, 0x00 };
	static const uint8_t zero1[] = { 0x00 };
	uint32_t v = 99;
	size_t used = 7;
	(void)state;
	assert_int_equal(proto_varint_decode(zero2, sizeof(zero2), &v, &used),
	    PROTO_EVARINT);
	assert_int_equal(proto_varint_decode(v127x3, sizeof(v127x3), &v,
	                     &used),
	    PROTO_EVARINT);
	assert_int_equal(proto_varint_decode(one4, sizeof(one4), &v, &used),
	    PROTO_EVARINT);
	assert_int_equal(v, 99);
	assert_int_equal(used, 7);
	/* A single zero byte is the shortest form of 0. */
	assert_int_equal(proto_varint_decode(zero1, sizeof(zero1), &v, &used),
	    PROTO_OK);
	assert_int_equal(v, 0);
	assert_int_equal(used, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    encode_writes_shortest_form_at_every_boundary),
		cmocka_unit_test(size_matches_encoding_at_every_boundary),
		cmocka_unit_test(decode_reads_every_boundary),
		cmocka_unit_test(
		    decode_stops_at_last_byte_and_ignores_what_follows),
		cmocka_unit_test(too_large_value_encodes_to_nothing),
		cmocka_unit_test(
		    encode_then_decode_round_trips_across_the_range),
		cmocka_unit_test(empty_input_needs_more),
		cmocka_unit_test(incomplete_integer_needs_more),
		cmocka_unit_test(
		    decode_respects_len_and_does_not_read_beyond_it),
		cmocka_unit_test(fifth_byte_is_an_error),
		cmocka_unit_test(non_minimal_encoding_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
