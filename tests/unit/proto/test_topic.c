/*
 * test_topic.c - unit tests for proto/topic.c: proto_topic_check(),
 * proto_filter_check(), proto_topic_match() and proto_share_parse().
 *
 * The cases are the examples of MQTT 3.1.1 section 4.7 and MQTT 5.0
 * sections 4.7 (topic names and filters) and 4.8.2 (shared subscriptions),
 * plus the edges those rules imply (empty levels, trailing '/', '$' topics,
 * length limits).  Inputs are passed with explicit lengths and are never
 * NUL-terminated where it matters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

/* A string literal as (bytes, length). */
#define LIT(s) (const uint8_t *)(s), (sizeof(s) - 1)

static bool
match(const char *filter, const char *topic)
{
	return proto_topic_match((const uint8_t *)filter, strlen(filter),
	    (const uint8_t *)topic, strlen(topic));
}

static int
topic_check(const char *t)
{
	return proto_topic_check((const uint8_t *)t, strlen(t));
}

static int
filter_check(const char *f)
{
	return proto_filter_check((const uint8_t *)f, strlen(f));
}

static int
share_parse(const char *f, struct proto_str *name, struct proto_str *sub)
{
	return proto_share_parse((const uint8_t *)f, strlen(f), name, sub);
}

/* Asserts that view v holds exactly the text s. */
static void
assert_view(struct proto_str v, const char *s)
{
	assert_int_equal(v.len, strlen(s));
	if (v.len > 0) {
		assert_non_null(v.ptr);
		assert_memory_equal(v.ptr, s, v.len);
	}
}

/* ---- topic names ------------------------------------------------- */

static void
topic_names_from_the_spec_are_valid(void **state)
{
	(void)state;
	assert_int_equal(topic_check("sport/tennis/player1"), PROTO_OK);
	assert_int_equal(topic_check("sport/tennis/player1/ranking"),
	    PROTO_OK);
	assert_int_equal(topic_check("sport/tennis/player1/score/wimbledon"),
	    PROTO_OK);
	assert_int_equal(topic_check("sport"), PROTO_OK);
	assert_int_equal(topic_check("sport/"), PROTO_OK);
	assert_int_equal(topic_check("/finance"), PROTO_OK);
	assert_int_equal(topic_check("/"), PROTO_OK);
	assert_int_equal(topic_check("a//b"), PROTO_OK);
	assert_int_equal(topic_check("//"), PROTO_OK);
	assert_int_equal(topic_check("$SYS/monitor/Clients"), PROTO_OK);
	assert_int_equal(topic_check("ACCOUNTS"), PROTO_OK);
	assert_int_equal(topic_check("sport/ tennis"), PROTO_OK);
	assert_int_equal(topic_check("caf\xC3\xA9/\xE2\x82\xAC"), PROTO_OK);
}

static void
empty_topic_name_is_rejected(void **state)
{
	static const uint8_t none[1] = { 'a' };
	(void)state;
	assert_int_equal(proto_topic_check(none, 0), PROTO_ETOPIC);
}

static void
wildcards_in_topic_name_are_rejected(void **state)
{
	(void)state;
	assert_int_equal(topic_check("+"), PROTO_ETOPIC);
	assert_int_equal(topic_check("#"), PROTO_ETOPIC);
	assert_int_equal(topic_check("sport/+"), PROTO_ETOPIC);
	assert_int_equal(topic_check("sport/#"), PROTO_ETOPIC);
	assert_int_equal(topic_check("sport/tennis#"), PROTO_ETOPIC);
	assert_int_equal(topic_check("sport+"), PROTO_ETOPIC);
	assert_int_equal(topic_check("a+b/c"), PROTO_ETOPIC);
	assert_int_equal(topic_check("+/x"), PROTO_ETOPIC);
	assert_int_equal(topic_check("$SYS/#"), PROTO_ETOPIC);
}

static void
topic_name_length_limit_is_65535_bytes(void **state)
{
	uint8_t *buf = malloc(65536);
	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', 65536);
	buf[100] = '/';
	assert_int_equal(proto_topic_check(buf, 65535), PROTO_OK);
	assert_int_equal(proto_topic_check(buf, 65536), PROTO_ETOPIC);
	free(buf);
}

static void
ill_formed_utf8_topic_name_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(proto_topic_check(LIT("a/\xC0\x80")), PROTO_EUTF8);
	assert_int_equal(proto_topic_check(LIT("a/\xED\xA0\x80")),
	    PROTO_EUTF8);
	assert_int_equal(proto_topic_check(LIT("a\x00" "b")), PROTO_EUTF8);
	assert_int_equal(proto_topic_check(LIT("\xFF")), PROTO_EUTF8);
	assert_int_equal(proto_topic_check(LIT("abc\xE2\x82")), PROTO_EUTF8);
}

static void
topic_check_uses_len_not_nul(void **state)
{
	/* The wildcard lies past len and must not be seen. */
	static const char t[] = "a/b#";
	(void)state;
	assert_int_equal(proto_topic_check((const uint8_t *)t, 3), PROTO_OK);
	assert_int_equal(proto_topic_check((const uint8_t *)t, 4),
	    PROTO_ETOPIC);
}

/* ---- topic filters ------------------------------------------------ */

static void
filters_from_the_spec_are_valid(void **state)
{
	(void)state;
	assert_int_equal(filter_check("sport/tennis/player1/#"), PROTO_OK);
	assert_int_equal(filter_check("sport/#"), PROTO_OK);
	assert_int_equal(filter_check("#"), PROTO_OK);
	assert_int_equal(filter_check("sport/tennis/#"), PROTO_OK);
	assert_int_equal(filter_check("+"), PROTO_OK);
	assert_int_equal(filter_check("+/tennis/#"), PROTO_OK);
	assert_int_equal(filter_check("sport/+/player1"), PROTO_OK);
	assert_int_equal(filter_check("sport/tennis/+"), PROTO_OK);
	assert_int_equal(filter_check("sport/+"), PROTO_OK);
	assert_int_equal(filter_check("+/+"), PROTO_OK);
	assert_int_equal(filter_check("/+"), PROTO_OK);
	assert_int_equal(filter_check("+/"), PROTO_OK);
	assert_int_equal(filter_check("$SYS/#"), PROTO_OK);
	assert_int_equal(filter_check("$SYS/monitor/+"), PROTO_OK);
	assert_int_equal(filter_check("+/monitor/Clients"), PROTO_OK);
	assert_int_equal(filter_check("/finance"), PROTO_OK);
}

static void
filters_with_empty_levels_are_valid(void **state)
{
	(void)state;
	assert_int_equal(filter_check("a//b"), PROTO_OK);
	assert_int_equal(filter_check("/"), PROTO_OK);
	assert_int_equal(filter_check("//"), PROTO_OK);
	assert_int_equal(filter_check("a/"), PROTO_OK);
	assert_int_equal(filter_check("/#"), PROTO_OK);
	assert_int_equal(filter_check("a//#"), PROTO_OK);
	assert_int_equal(filter_check("+//+"), PROTO_OK);
}

static void
misplaced_wildcards_in_filter_are_rejected(void **state)
{
	(void)state;
	assert_int_equal(filter_check("sport/tennis#"), PROTO_EFILTER);
	assert_int_equal(filter_check("sport/tennis/#/ranking"),
	    PROTO_EFILTER);
	assert_int_equal(filter_check("sport+"), PROTO_EFILTER);
	assert_int_equal(filter_check("#/"), PROTO_EFILTER);
	assert_int_equal(filter_check("##"), PROTO_EFILTER);
	assert_int_equal(filter_check("#+"), PROTO_EFILTER);
	assert_int_equal(filter_check("++"), PROTO_EFILTER);
	assert_int_equal(filter_check("+a"), PROTO_EFILTER);
	assert_int_equal(filter_check("a/+b/c"), PROTO_EFILTER);
	assert_int_equal(filter_check("a/b+/c"), PROTO_EFILTER);
	assert_int_equal(filter_check("a#/b"), PROTO_EFILTER);
	assert_int_equal(filter_check("#/#"), PROTO_EFILTER);
	assert_int_equal(filter_check("sport/#/+"), PROTO_EFILTER);
}

static void
empty_filter_is_rejected(void **state)
{
	static const uint8_t none[1] = { '#' };
	(void)state;
	assert_int_equal(proto_filter_check(none, 0), PROTO_EFILTER);
}

static void
ill_formed_utf8_filter_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(proto_filter_check(LIT("a/\xFF")), PROTO_EUTF8);
	assert_int_equal(proto_filter_check(LIT("\xED\xA0\x80/#")),
	    PROTO_EUTF8);
	assert_int_equal(proto_filter_check(LIT("a/\x00/+")), PROTO_EUTF8);
	assert_int_equal(proto_filter_check(LIT("+/\xC1\x81")), PROTO_EUTF8);
}

static void
filter_check_uses_len_not_nul(void **state)
{
	/* "a/#" is valid; with one more byte it becomes "a/#/". */
	static const char f[] = "a/#/b";
	(void)state;
	assert_int_equal(proto_filter_check((const uint8_t *)f, 3),
	    PROTO_OK);
	assert_int_equal(proto_filter_check((const uint8_t *)f, 4),
	    PROTO_EFILTER);
}

static void
valid_shared_filter_passes_filter_check(void **state)
{
	(void)state;
	assert_int_equal(filter_check("$share/g/a/b"), PROTO_OK);
	assert_int_equal(filter_check("$share/consumer1/sport/tennis/+"),
	    PROTO_OK);
	assert_int_equal(filter_check("$share/g/#"), PROTO_OK);
}

/* ---- matching ----------------------------------------------------- */

static void
multi_level_wildcard_matches_parent_and_children(void **state)
{
	(void)state;
	/* MQTT 3.1.1 4.7.1.2, MQTT 5.0 4.7.1.2. */
	assert_true(match("sport/tennis/player1/#", "sport/tennis/player1"));
	assert_true(match("sport/tennis/player1/#",
	    "sport/tennis/player1/ranking"));
	assert_true(match("sport/tennis/player1/#",
	    "sport/tennis/player1/score/wimbledon"));
	assert_true(match("sport/#", "sport"));
	assert_true(match("sport/#", "sport/"));
	assert_true(match("#", "sport/tennis/player1"));
	assert_true(match("#", "/"));
	assert_true(match("#", "a"));
	assert_true(match("a/#", "a/"));
	assert_true(match("a/#", "a//"));
	assert_false(match("sport/tennis/player1/#", "sport/tennis"));
	assert_false(match("sport/tennis/player1/#",
	    "sport/tennis/player2"));
	assert_false(match("sport/#", "sports"));
	assert_false(match("sport/#", "spor"));
}

static void
single_level_wildcard_matches_exactly_one_level(void **state)
{
	(void)state;
	/* MQTT 3.1.1 4.7.1.3, MQTT 5.0 4.7.1.3. */
	assert_true(match("sport/tennis/+", "sport/tennis/player1"));
	assert_true(match("sport/tennis/+", "sport/tennis/player2"));
	assert_false(match("sport/tennis/+", "sport/tennis/player1/ranking"));
	assert_false(match("sport/+", "sport"));
	assert_true(match("sport/+", "sport/"));
	assert_true(match("+/+", "/finance"));
	assert_true(match("/+", "/finance"));
	assert_false(match("+", "/finance"));
	assert_true(match("+/tennis/#", "sport/tennis/player1"));
	assert_true(match("sport/+/player1", "sport/tennis/player1"));
	assert_false(match("sport/+/player1", "sport/tennis/player2"));
	assert_true(match("+", "a"));
	assert_false(match("+", "a/b"));
	assert_false(match("+", "a/"));
	assert_true(match("+/", "a/"));
	assert_true(match("+/+", "/"));
	assert_true(match("+/+/+", "//"));
}

static void
empty_levels_are_distinct_levels(void **state)
{
	(void)state;
	assert_true(match("a//b", "a//b"));
	assert_true(match("a/+/b", "a//b"));
	assert_false(match("a/b", "a//b"));
	assert_false(match("a//b", "a/b"));
	assert_true(match("/", "/"));
	assert_false(match("/", "//"));
	assert_true(match("/finance", "/finance"));
	assert_false(match("finance", "/finance"));
	assert_false(match("/finance", "finance"));
	assert_false(match("+", "/"));
}

static void
trailing_slash_is_an_extra_level(void **state)
{
	(void)state;
	assert_false(match("a", "a/"));
	assert_false(match("a/", "a"));
	assert_true(match("a/", "a/"));
	assert_true(match("a/+", "a/"));
	assert_false(match("a/+", "a"));
	assert_true(match("a/#", "a"));
}

static void
literal_levels_match_exactly_and_case_sensitively(void **state)
{
	(void)state;
	assert_true(match("sport/tennis", "sport/tennis"));
	assert_false(match("ACCOUNTS", "Accounts"));
	assert_false(match("Accounts", "ACCOUNTS"));
	assert_false(match("sport/tennis", "sport/tennis "));
	assert_false(match("sport/tennis", "sport/ten"));
	assert_false(match("sport/ten", "sport/tennis"));
	assert_false(match("a/b", "a/b/c"));
	assert_false(match("a/b/c", "a/b"));
	assert_true(match("caf\xC3\xA9", "caf\xC3\xA9"));
	assert_false(match("caf\xC3\xA9", "cafe"));
}

static void
dollar_topics_are_not_matched_by_leading_wildcards(void **state)
{
	(void)state;
	/* MQTT 3.1.1 4.7.2, MQTT 5.0 4.7.2 [MQTT-4.7.2-1]. */
	assert_false(match("#", "$SYS/monitor/Clients"));
	assert_false(match("#", "$SYS"));
	assert_false(match("#", "$SYS/x"));
	assert_false(match("+", "$SYS"));
	assert_false(match("+/monitor/Clients", "$SYS/monitor/Clients"));
	assert_false(match("+/#", "$SYS/monitor"));
	assert_true(match("$SYS/#", "$SYS/monitor/Clients"));
	assert_true(match("$SYS/#", "$SYS"));
	assert_true(match("$SYS/monitor/+", "$SYS/monitor/Clients"));
	assert_true(match("$SYS/monitor/Clients", "$SYS/monitor/Clients"));
	assert_true(match("$foo/+", "$foo/bar"));
}

static void
dollar_in_later_levels_is_ordinary(void **state)
{
	(void)state;
	assert_true(match("a/+", "a/$b"));
	assert_true(match("a/#", "a/$SYS"));
	assert_true(match("#", "a/$SYS"));
	assert_true(match("+/$x", "a/$x"));
}

static void
match_uses_lengths_not_nul(void **state)
{
	/* Neither buffer is cut at a NUL. */
	static const char filter[] = "a/+XYZ";
	static const char topic[] = "a/bc/d";
	(void)state;
	assert_true(proto_topic_match((const uint8_t *)filter, 3,
	    (const uint8_t *)topic, 4));
	assert_false(proto_topic_match((const uint8_t *)filter, 3,
	    (const uint8_t *)topic, 6));
	assert_true(proto_topic_match((const uint8_t *)filter, 2,
	    (const uint8_t *)topic, 2));
	assert_true(proto_topic_match((const uint8_t *)"sport/#", 7,
	    (const uint8_t *)"sportXYZ", 5));
}

/* ---- shared subscriptions ---------------------------------------- */

static void
shared_filter_splits_into_name_and_filter(void **state)
{
	static const char f[] = "$share/g/a/b";
	struct proto_str name = { 0 }, sub = { 0 };
	(void)state;
	assert_int_equal(share_parse(f, &name, &sub), 1);
	assert_view(name, "g");
	assert_view(sub, "a/b");
	/* Views into the input, not copies. */
	assert_ptr_equal(name.ptr, (const uint8_t *)f + 7);
	assert_ptr_equal(sub.ptr, (const uint8_t *)f + 9);
}

static void
shared_filter_with_wildcards_is_parsed(void **state)
{
	struct proto_str name = { 0 }, sub = { 0 };
	(void)state;
	assert_int_equal(share_parse("$share/g/#", &name, &sub), 1);
	assert_view(name, "g");
	assert_view(sub, "#");

	assert_int_equal(share_parse("$share/consumer1/sport/tennis/+",
	                     &name, &sub),
	    1);
	assert_view(name, "consumer1");
	assert_view(sub, "sport/tennis/+");

	assert_int_equal(share_parse("$share/group-1/+/x/#", &name, &sub),
	    1);
	assert_view(name, "group-1");
	assert_view(sub, "+/x/#");

	assert_int_equal(share_parse("$share/g//", &name, &sub), 1);
	assert_view(name, "g");
	assert_view(sub, "/");

	assert_int_equal(share_parse("$share/g/$SYS/#", &name, &sub), 1);
	assert_view(sub, "$SYS/#");
}

static void
shared_filter_with_bad_share_name_is_rejected(void **state)
{
	struct proto_str name, sub;
	(void)state;
	assert_int_equal(share_parse("$share//a", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/g+/a", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/g#/a", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/+/a", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/#/a", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/#", &name, &sub),
	    PROTO_EFILTER);
}

static void
shared_filter_without_filter_part_is_rejected(void **state)
{
	struct proto_str name, sub;
	(void)state;
	assert_int_equal(share_parse("$share/g", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/g/", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share//", &name, &sub),
	    PROTO_EFILTER);
}

static void
shared_filter_with_invalid_filter_part_is_rejected(void **state)
{
	struct proto_str name, sub;
	(void)state;
	assert_int_equal(share_parse("$share/g/a#", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/g/a/#/b", &name, &sub),
	    PROTO_EFILTER);
	assert_int_equal(share_parse("$share/g/sport+", &name, &sub),
	    PROTO_EFILTER);
}

static void
non_shared_filters_are_not_split(void **state)
{
	struct proto_str name, sub;
	(void)state;
	assert_int_equal(share_parse("$sharex/a", &name, &sub), 0);
	assert_int_equal(share_parse("a/$share/g/b", &name, &sub), 0);
	assert_int_equal(share_parse("$SHARE/g/a", &name, &sub), 0);
	assert_int_equal(share_parse("$share", &name, &sub), 0);
	assert_int_equal(share_parse("$shar", &name, &sub), 0);
	assert_int_equal(share_parse("sport/tennis/#", &name, &sub), 0);
	assert_int_equal(share_parse("#", &name, &sub), 0);
	assert_int_equal(share_parse("/$share/g/a", &name, &sub), 0);
}

static void
share_parse_uses_len_not_nul(void **state)
{
	static const char f[] = "$share/g/a/b";
	struct proto_str name = { 0 }, sub = { 0 };
	(void)state;
	assert_int_equal(proto_share_parse((const uint8_t *)f, 10, &name,
	                     &sub),
	    1);
	assert_view(name, "g");
	assert_view(sub, "a");
	/* Cut right after "$share/g/": the filter part is missing. */
	assert_int_equal(proto_share_parse((const uint8_t *)f, 9, &name,
	                     &sub),
	    PROTO_EFILTER);
	/* Cut inside "$share": not a shared subscription at all. */
	assert_int_equal(proto_share_parse((const uint8_t *)f, 6, &name,
	                     &sub),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(topic_names_from_the_spec_are_valid),
		cmocka_unit_test(empty_topic_name_is_rejected),
		cmocka_unit_test(wildcards_in_topic_name_are_rejected),
		cmocka_unit_test(topic_name_length_limit_is_65535_bytes),
		cmocka_unit_test(ill_formed_utf8_topic_name_is_rejected),
		cmocka_unit_test(topic_check_uses_len_not_nul),
		cmocka_unit_test(filters_from_the_spec_are_valid),
		cmocka_unit_test(filters_with_empty_levels_are_valid),
		cmocka_unit_test(misplaced_wildcards_in_filter_are_rejected),
		cmocka_unit_test(empty_filter_is_rejected),
		cmocka_unit_test(ill_formed_utf8_filter_is_rejected),
		cmocka_unit_test(filter_check_uses_len_not_nul),
		cmocka_unit_test(valid_shared_filter_passes_filter_check),
		cmocka_unit_test(
		    multi_level_wildcard_matches_parent_and_children),
		cmocka_unit_test(
		    single_level_wildcard_matches_exactly_one_level),
		cmocka_unit_test(empty_levels_are_distinct_levels),
		cmocka_unit_test(trailing_slash_is_an_extra_level),
		cmocka_unit_test(
		    literal_levels_match_exactly_and_case_sensitively),
		cmocka_unit_test(
		    dollar_topics_are_not_matched_by_leading_wildcards),
		cmocka_unit_test(dollar_in_later_levels_is_ordinary),
		cmocka_unit_test(match_uses_lengths_not_nul),
		cmocka_unit_test(shared_filter_splits_into_name_and_filter),
		cmocka_unit_test(shared_filter_with_wildcards_is_parsed),
		cmocka_unit_test(
		    shared_filter_with_bad_share_name_is_rejected),
		cmocka_unit_test(
		    shared_filter_without_filter_part_is_rejected),
		cmocka_unit_test(
		    shared_filter_with_invalid_filter_part_is_rejected),
		cmocka_unit_test(non_shared_filters_are_not_split),
		cmocka_unit_test(share_parse_uses_len_not_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
