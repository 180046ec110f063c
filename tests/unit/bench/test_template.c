/*
 * test_template.c - unit tests for the topic and client id templates in
 * bench/template.c (bench_template_expand(), bench_template_is_static()).
 *
 * Random draws are checked against values worked out by hand from
 * xorshift64 (shifts 13, 7, 17) with seed 1: the first three states are
 * 1082269761, 1152992998833853505 and 11177516664432764457.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define GUARD ((char)0x5A)

/* ------------------------------------------------------------------ */
/* Templates                                                            */

static void
plain_text_is_copied(void **state)
{
	char out[32];
	uint64_t rng = 1;

	(void)state;
	assert_int_equal(bench_template_expand("bench/a/b", 7, NULL, &rng,
	    out, sizeof(out)), 9);
	assert_string_equal(out, "bench/a/b");
	assert_int_equal(bench_template_expand("", 7, NULL, &rng, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	/* No draw was made. */
	assert_int_equal(rng, 1);
}

static void
percent_i_is_the_sequence_number(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(bench_template_expand("t/%i", 42, NULL, NULL, out,
	    sizeof(out)), 4);
	assert_string_equal(out, "t/42");
	assert_int_equal(bench_template_expand("%i", 1, NULL, NULL, out,
	    sizeof(out)), 1);
	assert_string_equal(out, "1");
	assert_int_equal(bench_template_expand("%i-%i", 4294967295u, NULL,
	    NULL, out, sizeof(out)), 21);
	assert_string_equal(out, "4294967295-4294967295");
}

static void
percent_c_is_the_client_id(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(bench_template_expand("%c/status", 3, "pub-3",
	    NULL, out, sizeof(out)), 12);
	assert_string_equal(out, "pub-3/status");
	assert_int_equal(bench_template_expand("x%cy", 3, "", NULL, out,
	    sizeof(out)), 2);
	assert_string_equal(out, "xy");
}

static void
percent_c_without_client_id_fails(void **state)
{
	char out[32];

	(void)state;
	memset(out, 'z', sizeof(out));
	assert_int_equal(bench_template_expand("a/%c", 1, NULL, NULL, out,
	    sizeof(out)), -1);
	assert_string_equal(out, "");
}

static void
percent_rand_without_rng_fails(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(bench_template_expand("a/%rand", 1, NULL, NULL, out,
	    sizeof(out)), -1);
	assert_int_equal(bench_template_expand("a/%rand_5", 1, NULL, NULL,
	    out, sizeof(out)), -1);
}

static void
double_percent_is_one_percent(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(bench_template_expand("100%%", 1, NULL, NULL, out,
	    sizeof(out)), 4);
	assert_string_equal(out, "100%");
	/* "%%i" is a percent sign then 'i', not a sequence number. */
	assert_int_equal(bench_template_expand("%%i%%c%%rand", 1, NULL, NULL,
	    out, sizeof(out)), 9);
	assert_string_equal(out, "%i%c%rand");
}

static void
other_percent_is_copied(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(bench_template_expand("a%xb%", 9, NULL, NULL, out,
	    sizeof(out)), 5);
	assert_string_equal(out, "a%xb%");
	assert_int_equal(bench_template_expand("%ra%r", 9, NULL, NULL, out,
	    sizeof(out)), 5);
	assert_string_equal(out, "%ra%r");
	/* A lone '%' before a real sequence: "%" then "%i". */
	assert_int_equal(bench_template_expand("%%%i", 9, NULL, NULL, out,
	    sizeof(out)), 2);
	assert_string_equal(out, "%9");
}

static void
several_substitutions_in_one_template(void **state)
{
	char out[64];
	uint64_t rng = 1;

	(void)state;
	assert_int_equal(bench_template_expand(
	    "bench/%c/%i/%%/%rand_1000/%rand", 12, "sub-12", &rng, out,
	    sizeof(out)), 31);
	assert_string_equal(out, "bench/sub-12/12/%/762/134226051");
	assert_true(rng == 1152992998833853505u);
}

static void
percent_rand_n_matches_xorshift_from_seed_1(void **state)
{
	char out[32];
	uint64_t rng = 1;

	(void)state;
	assert_int_equal(bench_template_expand("%rand_1000-%rand_1000-"
	    "%rand_1000", 1, NULL, &rng, out, sizeof(out)), 11);
	assert_string_equal(out, "762-506-458");
	assert_true(rng == 11177516664432764457u);
}

static void
percent_rand_is_deterministic_for_a_seed(void **state)
{
	char a[64], b[64];
	uint64_t r1 = 1, r2 = 1, r3 = 2;

	(void)state;
	assert_int_equal(bench_template_expand("%rand/%rand/%rand", 1, NULL,
	    &r1, a, sizeof(a)), 22);
	assert_string_equal(a, "0/134226051/1301234199");
	assert_int_equal(bench_template_expand("%rand/%rand/%rand", 1, NULL,
	    &r2, b, sizeof(b)), 22);
	assert_string_equal(a, b);
	assert_true(r1 == r2);
	assert_true(bench_template_expand("%rand/%rand/%rand", 1, NULL, &r3,
	    b, sizeof(b)) > 0);
	assert_string_not_equal(a, b);
}

static void
percent_rand_stays_below_2_pow_31(void **state)
{
	char out[32];
	uint64_t rng = 12345;
	unsigned long long hi = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		char *end;
		unsigned long long v;

		assert_true(bench_template_expand("%rand", 1, NULL, &rng, out,
		    sizeof(out)) > 0);
		v = strtoull(out, &end, 10);
		assert_int_equal(*end, '\0');
		assert_true(v < 2147483648ull);
		if (v > hi) {
			hi = v;
		}
	}
	/* The top of the range is reached: 31 bits are used, not fewer. */
	assert_true(hi >= 2147483648ull - 2147483648ull / 1000);
}

static void
percent_rand_n_stays_in_1_to_n_and_hits_every_value(void **state)
{
	char out[32];
	uint64_t rng = 777;
	unsigned seen[7] = { 0 };

	(void)state;
	for (int i = 0; i < 60000; i++) {
		char *end;
		unsigned long v;

		assert_true(bench_template_expand("%rand_6", 1, NULL, &rng,
		    out, sizeof(out)) > 0);
		v = strtoul(out, &end, 10);
		assert_int_equal(*end, '\0');
		assert_in_range(v, 1, 6);
		seen[v]++;
	}
	assert_int_equal(seen[0], 0);
	/* Each face near 10000: a broken modulo would skew this badly. */
	for (int v = 1; v <= 6; v++) {
		assert_in_range(seen[v], 9000, 11000);
	}
}

static void
percent_rand_1_is_always_1(void **state)
{
	char out[32];
	uint64_t rng = 99;

	(void)state;
	for (int i = 0; i < 100; i++) {
		assert_int_equal(bench_template_expand("%rand_1", 1, NULL,
		    &rng, out, sizeof(out)), 1);
		assert_string_equal(out, "1");
	}
}

static void
percent_rand_with_bad_n_is_plain_rand(void **state)
{
	char out[64];
	uint64_t rng = 1;

	(void)state;
	/* Seed 1 draws 0 first for "%rand", so the rest is visible. */
	assert_int_equal(bench_template_expand("%rand_0", 1, NULL, &rng, out,
	    sizeof(out)), 3);
	assert_string_equal(out, "0_0");
	rng = 1;
	assert_int_equal(bench_template_expand("%rand_x", 1, NULL, &rng, out,
	    sizeof(out)), 3);
	assert_string_equal(out, "0_x");
	rng = 1;
	assert_int_equal(bench_template_expand("%rand_", 1, NULL, &rng, out,
	    sizeof(out)), 2);
	assert_string_equal(out, "0_");
	/* 2^64 does not fit, so it is not an N. */
	rng = 1;
	assert_int_equal(bench_template_expand("%rand_18446744073709551616",
	    1, NULL, &rng, out, sizeof(out)), 22);
	assert_string_equal(out, "0_18446744073709551616");
	/* 2^64 - 1 does. */
	rng = 1;
	assert_int_equal(bench_template_expand("%rand_18446744073709551615",
	    1, NULL, &rng, out, sizeof(out)), 10);
	assert_string_equal(out, "1082269762");
}

static void
zero_seed_still_draws(void **state)
{
	char out[32];
	uint64_t rng = 0;

	(void)state;
	assert_true(bench_template_expand("%rand", 1, NULL, &rng, out,
	    sizeof(out)) > 0);
	assert_true(rng != 0);
}

/* Expands tmpl with every cap from 0 up to one past its length and checks
 * that only caps > length succeed and nothing past out[cap) is touched. */
static void
check_every_cap(const char *tmpl, const char *id, const char *expect)
{
	size_t len = strlen(expect);
	char buf[128];

	assert_true(len + 2 <= sizeof(buf));
	for (size_t cap = 0; cap <= len + 1; cap++) {
		uint64_t rng = 1;
		int rc;

		memset(buf, GUARD, sizeof(buf));
		rc = bench_template_expand(tmpl, 5, id, &rng, buf, cap);
		for (size_t i = cap; i < sizeof(buf); i++) {
			assert_int_equal(buf[i], GUARD);
		}
		if (cap <= len) {
			assert_int_equal(rc, -1);
			if (cap > 0) {
				assert_int_equal(buf[0], '\0');
			}
		} else {
			assert_int_equal(rc, (int)len);
			assert_string_equal(buf, expect);
		}
	}
}

static void
overflow_fails_and_never_writes_past_cap(void **state)
{
	(void)state;
	check_every_cap("plain/topic", NULL, "plain/topic");
	check_every_cap("t/%i", NULL, "t/5");
	check_every_cap("%c/x", "client-with-a-long-id",
	    "client-with-a-long-id/x");
	check_every_cap("%rand_1000/%%", NULL, "762/%");
	check_every_cap("r%rand", NULL, "r0");
	check_every_cap("a%", NULL, "a%");
}

static void
static_templates_are_recognised(void **state)
{
	(void)state;
	assert_true(bench_template_is_static(""));
	assert_true(bench_template_is_static("bench/topic"));
	assert_true(bench_template_is_static("100%%"));
	assert_true(bench_template_is_static("%%i/%%c/%%rand"));
	assert_true(bench_template_is_static("a%xb%"));
	assert_true(bench_template_is_static("%ran"));
	assert_false(bench_template_is_static("%i"));
	assert_false(bench_template_is_static("t/%c"));
	assert_false(bench_template_is_static("t/%rand"));
	assert_false(bench_template_is_static("t/%rand_10"));
	assert_false(bench_template_is_static("t/%rand_0"));
	assert_false(bench_template_is_static("%%%i"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text_is_copied),
		cmocka_unit_test(percent_i_is_the_sequence_number),
		cmocka_unit_test(percent_c_is_the_client_id),
		cmocka_unit_test(percent_c_without_client_id_fails),
		cmocka_unit_test(percent_rand_without_rng_fails),
		cmocka_unit_test(double_percent_is_one_percent),
		cmocka_unit_test(other_percent_is_copied),
		cmocka_unit_test(several_substitutions_in_one_template),
		cmocka_unit_test(percent_rand_n_matches_xorshift_from_seed_1),
		cmocka_unit_test(percent_rand_is_deterministic_for_a_seed),
		cmocka_unit_test(percent_rand_stays_below_2_pow_31),
		cmocka_unit_test(
		    percent_rand_n_stays_in_1_to_n_and_hits_every_value),
		cmocka_unit_test(percent_rand_1_is_always_1),
		cmocka_unit_test(percent_rand_with_bad_n_is_plain_rand),
		cmocka_unit_test(zero_seed_still_draws),
		cmocka_unit_test(overflow_fails_and_never_writes_past_cap),
		cmocka_unit_test(static_templates_are_recognised),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
