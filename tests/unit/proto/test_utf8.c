/*
 * test_utf8.c - unit tests for proto_utf8_check() (proto/utf8.c).
 *
 * The rules are those of MQTT 5.0 section 1.5.4 (3.1.1 section 1.5.3):
 * well-formed UTF-8 as RFC 3629 defines it (shortest form, no surrogates
 * U+D800..U+DFFF, nothing above U+10FFFF), no U+0000 [MQTT-1.5.4-1,2];
 * control characters U+0001..U+001F, U+007F..U+009F and non-characters are
 * merely discouraged, which the `discouraged` flag reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "proto/proto.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define LIT(s) (const uint8_t *)(s), (sizeof(s) - 1)

/* Runs the check and returns its result; *disc is reset first so that a
 * true result can only come from the call. */
static int
check(const uint8_t *s, size_t len, bool *disc)
{
	*disc = false;
	return proto_utf8_check(s, len, disc);
}

/* Asserts that s is accepted and not discouraged. */
static void
assert_clean(const uint8_t *s, size_t len)
{
	bool disc = false;

	assert_int_equal(check(s, len, &disc), PROTO_OK);
	assert_false(disc);
}

/* Asserts that s is accepted but discouraged. */
static void
assert_discouraged(const uint8_t *s, size_t len)
{
	bool disc = false;

	assert_int_equal(check(s, len, &disc), PROTO_OK);
	assert_true(disc);
}

/* Asserts that s is rejected, with and without a discouraged pointer. */
static void
assert_rejected(const uint8_t *s, size_t len)
{
	bool disc = false;

	assert_int_equal(check(s, len, &disc), PROTO_EUTF8);
	assert_int_equal(proto_utf8_check(s, len, NULL), PROTO_EUTF8);
}

static void
empty_string_is_valid(void **state)
{
	static const uint8_t none[1] = { 'x' };
	(void)state;
	assert_clean(none, 0);
}

static void
ascii_is_valid_and_not_discouraged(void **state)
{
	(void)state;
	assert_clean(LIT("sport/tennis/player1"));
	assert_clean(LIT(" !\"#$%&'()*+,-./0123456789:;<=>?@"));
	assert_clean(LIT("ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"));
	assert_clean(LIT("abcdefghijklmnopqrstuvwxyz{|}~"));
}

static void
two_byte_sequences_are_valid(void **state)
{
	(void)state;
	assert_clean(LIT("\xC2\xA0"));         /* U+00A0, first after C1 */
	assert_clean(LIT("caf\xC3\xA9"));      /* U+00E9 */
	assert_clean(LIT("\xD0\x96\xD0\xB4")); /* Cyrillic */
	assert_clean(LIT("\xDF\xBF"));         /* U+07FF, last 2-byte */
}

static void
three_byte_sequences_are_valid(void **state)
{
	(void)state;
	assert_clean(LIT("\xE0\xA0\x80"));     /* U+0800, first 3-byte */
	assert_clean(LIT("\xE2\x82\xAC"));     /* U+20AC euro sign */
	assert_clean(LIT("\xE6\x97\xA5\xE6\x9C\xAC")); /* CJK */
	assert_clean(LIT("\xED\x9F\xBF"));     /* U+D7FF, before surrogates */
	assert_clean(LIT("\xEE\x80\x80"));     /* U+E000, after surrogates */
	assert_clean(LIT("\xEF\xBB\xBF"));     /* U+FEFF, BOM: allowed */
	assert_clean(LIT("\xEF\xBF\xBD"));     /* U+FFFD */
	assert_clean(LIT("\xEF\xB7\x8F"));     /* U+FDCF, before FDD0 */
	assert_clean(LIT("\xEF\xB7\xB0"));     /* U+FDF0, after FDEF */
}

static void
four_byte_sequences_are_valid(void **state)
{
	(void)state;
	assert_clean(LIT("\xF0\x90\x80\x80")); /* U+10000, first 4-byte */
	assert_clean(LIT("\xF0\x9F\x98\x80")); /* U+1F600 emoji */
	assert_clean(LIT("\xF4\x8F\xBF\xBD")); /* U+10FFFD */
	assert_clean(LIT("a\xF0\xA4\xAD\xA2z")); /* U+24B62 between ASCII */
}

static void
nul_character_is_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\x00"));
	assert_rejected(LIT("a\x00"));
	assert_rejected(LIT("a\x00z"));
	assert_rejected(LIT("\x00z"));
}

static void
surrogates_are_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\xED\xA0\x80")); /* U+D800 */
	assert_rejected(LIT("\xED\xAD\xBF")); /* U+DB7F */
	assert_rejected(LIT("\xED\xB0\x80")); /* U+DC00 */
	assert_rejected(LIT("\xED\xBF\xBF")); /* U+DFFF */
	assert_rejected(LIT("\xED\xA0\xBD\xED\xB8\x80")); /* CESU pair */
	assert_rejected(LIT("ok\xED\xA0\x80ok"));
}

static void
overlong_forms_are_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\xC0\x80"));         /* U+0000 in 2 bytes */
	assert_rejected(LIT("\xC0\xAF"));         /* '/' in 2 bytes */
	assert_rejected(LIT("\xC1\xBF"));         /* U+007F in 2 bytes */
	assert_rejected(LIT("\xE0\x80\x80"));     /* U+0000 in 3 bytes */
	assert_rejected(LIT("\xE0\x80\xAF"));     /* '/' in 3 bytes */
	assert_rejected(LIT("\xE0\x9F\xBF"));     /* U+07FF in 3 bytes */
	assert_rejected(LIT("\xF0\x80\x80\x80")); /* U+0000 in 4 bytes */
	assert_rejected(LIT("\xF0\x80\x80\xAF")); /* '/' in 4 bytes */
	assert_rejected(LIT("\xF0\x8F\xBF\xBF")); /* U+FFFF in 4 bytes */
}

static void
code_points_above_10ffff_are_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\xF4\x90\x80\x80")); /* U+110000 */
	assert_rejected(LIT("\xF4\xBF\xBF\xBF"));
	assert_rejected(LIT("\xF5\x80\x80\x80"));
	assert_rejected(LIT("\xF7\xBF\xBF\xBF")); /* U+1FFFFF */
	assert_rejected(LIT("\xF8\x88\x80\x80\x80")); /* old 5-byte form */
	assert_rejected(LIT("\xFC\x84\x80\x80\x80\x80")); /* old 6-byte */
}

static void
lead_bytes_f5_to_ff_are_rejected(void **state)
{
	(void)state;
	for (unsigned b = 0xF5; b <= 0xFF; b++) {
		uint8_t s[4] = { (uint8_t)b, 0x80, 0x80, 0x80 };

		assert_rejected(s, 1);
		assert_rejected(s, sizeof(s));
	}
}

static void
truncated_sequences_are_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\xC3"));
	assert_rejected(LIT("abc\xC3"));
	assert_rejected(LIT("\xE2\x82"));
	assert_rejected(LIT("\xE2"));
	assert_rejected(LIT("\xF0\x9F\x98"));
	assert_rejected(LIT("\xF0\x9F"));
	assert_rejected(LIT("\xF0"));
	/* A lead byte followed by a non-continuation byte. */
	assert_rejected(LIT("\xC3\x41"));
	assert_rejected(LIT("\xE2\x82\x41"));
	assert_rejected(LIT("\xF0\x9F\x98\x41"));
	assert_rejected(LIT("\xE2\xC3\xA9"));
}

static void
truncation_is_judged_by_len_not_by_memory(void **state)
{
	/* The whole euro sign is in memory, but len stops inside it. */
	static const uint8_t euro[] = { 0xE2, 0x82, 0xAC };
	bool disc = false;
	(void)state;
	assert_int_equal(check(euro, 2, &disc), PROTO_EUTF8);
	assert_int_equal(check(euro, 3, &disc), PROTO_OK);
}

static void
stray_continuation_bytes_are_rejected(void **state)
{
	(void)state;
	assert_rejected(LIT("\x80"));
	assert_rejected(LIT("\xBF"));
	assert_rejected(LIT("a\x80z"));
	assert_rejected(LIT("\xC3\xA9\xA9")); /* one too many */
	assert_rejected(LIT("\xE2\x82\xAC\x80"));
	for (unsigned b = 0x80; b <= 0xBF; b++) {
		uint8_t s[1] = { (uint8_t)b };

		assert_rejected(s, 1);
	}
}

static void
c0_controls_are_discouraged(void **state)
{
	(void)state;
	for (unsigned c = 0x01; c <= 0x1F; c++) {
		uint8_t s[3] = { 'a', (uint8_t)c, 'z' };

		assert_discouraged(s, sizeof(s));
	}
	assert_clean(LIT("\x20"));
}

static void
delete_and_c1_controls_are_discouraged(void **state)
{
	(void)state;
	assert_discouraged(LIT("\x7F"));
	assert_discouraged(LIT("x\x7Fy"));
	for (unsigned c = 0x80; c <= 0x9F; c++) {
		/* U+0080..U+009F are C2 80 .. C2 9F. */
		uint8_t s[2] = { 0xC2, (uint8_t)c };

		assert_discouraged(s, sizeof(s));
	}
	assert_clean(LIT("\x7E"));
	assert_clean(LIT("\xC2\xA0"));
}

static void
non_characters_are_discouraged(void **state)
{
	(void)state;
	assert_discouraged(LIT("\xEF\xBF\xBE"));     /* U+FFFE */
	assert_discouraged(LIT("\xEF\xBF\xBF"));     /* U+FFFF */
	assert_discouraged(LIT("\xEF\xB7\x90"));     /* U+FDD0 */
	assert_discouraged(LIT("\xEF\xB7\xAF"));     /* U+FDEF */
	assert_discouraged(LIT("\xF0\x9F\xBF\xBE")); /* U+1FFFE */
	assert_discouraged(LIT("\xF0\x9F\xBF\xBF")); /* U+1FFFF */
	assert_discouraged(LIT("\xF4\x8F\xBF\xBE")); /* U+10FFFE */
	assert_discouraged(LIT("\xF4\x8F\xBF\xBF")); /* U+10FFFF */
	assert_discouraged(LIT("topic/\xEF\xBF\xBF/x"));
}

static void
normal_text_is_not_discouraged(void **state)
{
	(void)state;
	assert_clean(LIT("sensors/k\xC3\xBC" "che/temp\xC3\xA9rature"));
	assert_clean(LIT("\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD"));
	/* U+FFFD and U+1FFFD sit next to non-characters but are not. */
	assert_clean(LIT("\xEF\xBF\xBD"));
	assert_clean(LIT("\xF0\x9F\xBF\xBD"));
}

static void
discouraged_may_be_null(void **state)
{
	(void)state;
	assert_int_equal(proto_utf8_check(LIT("plain"), NULL), PROTO_OK);
	assert_int_equal(proto_utf8_check(LIT("ctl\x01"), NULL), PROTO_OK);
	assert_int_equal(proto_utf8_check(LIT("\xEF\xBF\xBF"), NULL),
	    PROTO_OK);
	assert_int_equal(proto_utf8_check(LIT("\xC0\x80"), NULL),
	    PROTO_EUTF8);
}

static void
invalid_bytes_after_discouraged_ones_still_reject(void **state)
{
	(void)state;
	assert_rejected(LIT("\x01\xED\xA0\x80"));
	assert_rejected(LIT("\xEF\xBF\xBF\x00"));
	assert_rejected(LIT("\x7F\xC3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_string_is_valid),
		cmocka_unit_test(ascii_is_valid_and_not_discouraged),
		cmocka_unit_test(two_byte_sequences_are_valid),
		cmocka_unit_test(three_byte_sequences_are_valid),
		cmocka_unit_test(four_byte_sequences_are_valid),
		cmocka_unit_test(nul_character_is_rejected),
		cmocka_unit_test(surrogates_are_rejected),
		cmocka_unit_test(overlong_forms_are_rejected),
		cmocka_unit_test(code_points_above_10ffff_are_rejected),
		cmocka_unit_test(lead_bytes_f5_to_ff_are_rejected),
		cmocka_unit_test(truncated_sequences_are_rejected),
		cmocka_unit_test(truncation_is_judged_by_len_not_by_memory),
		cmocka_unit_test(stray_continuation_bytes_are_rejected),
		cmocka_unit_test(c0_controls_are_discouraged),
		cmocka_unit_test(delete_and_c1_controls_are_discouraged),
		cmocka_unit_test(non_characters_are_discouraged),
		cmocka_unit_test(normal_text_is_not_discouraged),
		cmocka_unit_test(discouraged_may_be_null),
		cmocka_unit_test(
		    invalid_bytes_after_discouraged_ones_still_reject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
