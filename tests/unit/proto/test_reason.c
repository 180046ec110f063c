/*
 * test_reason.c - unit tests for proto/reason.c and proto/error.c: reason
 * code names and the packets that may carry them (MQTT 5.0 section 2.4,
 * table 2-6, and the per-packet lists in 3.2.2.2, 3.4.2.1, 3.5.2.1,
 * 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1 and 3.15.2.1), the mapping to
 * MQTT 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3), the reason to
 * send for each decoder error (as proto.h documents it), proto_strerror()
 * and proto_type_name().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "proto/proto.h"

/* Bits for the packet types, to write "carried by" sets compactly. */
#define P(t) (1u << (t))
#define CONNACK P(PROTO_CONNACK)
#define PUBACK P(PROTO_PUBACK)
#define PUBREC P(PROTO_PUBREC)
#define PUBREL P(PROTO_PUBREL)
#define PUBCOMP P(PROTO_PUBCOMP)
#define SUBACK P(PROTO_SUBACK)
#define UNSUBACK P(PROTO_UNSUBACK)
#define DISCONNECT P(PROTO_DISCONNECT)
#define AUTH P(PROTO_AUTH)

/* Table 2-6, one row per code; 0x00 has its per-packet names apart. */
struct reason_row {
	uint8_t code;
	const char *name;
	unsigned packets;
};

static const struct reason_row table[] = {
	{ 0x00, "Success",
	    CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | UNSUBACK | AUTH |
	        DISCONNECT | SUBACK },
	{ 0x01, "Granted QoS 1", SUBACK },
	{ 0x02, "Granted QoS 2", SUBACK },
	{ 0x04, "Disconnect with Will Message", DISCONNECT },
	{ 0x10, "No matching subscribers", PUBACK | PUBREC },
	{ 0x11, "No subscription existed", UNSUBACK },
	{ 0x18, "Continue authentication", AUTH },
	{ 0x19, "Re-authenticate", AUTH },
	{ 0x80, "Unspecified error",
	    CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT },
	{ 0x81, "Malformed Packet", CONNACK | DISCONNECT },
	{ 0x82, "Protocol Error", CONNACK | DISCONNECT },
	{ 0x83, "Implementation specific error",
	    CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT },
	{ 0x84, "Unsupported Protocol Version", CONNACK },
	{ 0x85, "Client Identifier not valid", CONNACK },
	{ 0x86, "Bad User Name or Password", CONNACK },
	{ 0x87, "Not authorized",
	    CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT },
	{ 0x88, "Server unavailable", CONNACK },
	{ 0x89, "Server busy", CONNACK | DISCONNECT },
	{ 0x8A, "Banned", CONNACK },
	{ 0x8B, "Server shutting down", DISCONNECT },
	{ 0x8C, "Bad authentication method", CONNACK | DISCONNECT },
	{ 0x8D, "Keep Alive timeout", DISCONNECT },
	{ 0x8E, "Session taken over", DISCONNECT },
	{ 0x8F, "Topic Filter invalid", SUBACK | UNSUBACK | DISCONNECT },
	{ 0x90, "Topic Name invalid",
	    CONNACK | PUBACK | PUBREC | DISCONNECT },
	{ 0x91, "Packet Identifier in use",
	    PUBACK | PUBREC | SUBACK | UNSUBACK },
	{ 0x92, "Packet Identifier not found", PUBREL | PUBCOMP },
	{ 0x93, "Receive Maximum exceeded", DISCONNECT },
	{ 0x94, "Topic Alias invalid", DISCONNECT },
	{ 0x95, "Packet too large", CONNACK | DISCONNECT },
	{ 0x96, "Message rate too high", DISCONNECT },
	{ 0x97, "Quota exceeded",
	    CONNACK | PUBACK | PUBREC | SUBACK | DISCONNECT },
	{ 0x98, "Administrative action", DISCONNECT },
	{ 0x99, "Payload format invalid",
	    CONNACK | PUBACK | PUBREC | DISCONNECT },
	{ 0x9A, "Retain not supported", CONNACK | DISCONNECT },
	{ 0x9B, "QoS not supported", CONNACK | DISCONNECT },
	{ 0x9C, "Use another server", CONNACK | DISCONNECT },
	{ 0x9D, "Server moved", CONNACK | DISCONNECT },
	{ 0x9E, "Shared Subscriptions not supported", SUBACK | DISCONNECT },
	{ 0x9F, "Connection rate exceeded", CONNACK | DISCONNECT },
	{ 0xA0, "Maximum connect time", DISCONNECT },
	{ 0xA1, "Subscription Identifiers not supported",
	    SUBACK | DISCONNECT },
	{ 0xA2, "Wildcard Subscriptions not supported", SUBACK | DISCONNECT },
};

#define NROWS (sizeof(table) / sizeof(table[0]))

/* Returns the row for code, NULL if code is no reason code. */
static const struct reason_row *
row_of(unsigned code)
{
	for (size_t i = 0; i < NROWS; i++) {
		if (table[i].code == code) {
			return &table[i];
		}
	}
	return NULL;
}

/* The name table 2-6 gives code in packet type ptype. */
static const char *
expected_name(uint8_t code, uint8_t ptype)
{
	if (code == 0x00 && ptype == PROTO_DISCONNECT) {
		return "Normal disconnection";
	}
	if (code == 0x00 && ptype == PROTO_SUBACK) {
		return "Granted QoS 0";
	}
	return row_of(code)->name;
}

static const uint8_t carriers[] = { PROTO_CONNACK, PROTO_PUBACK,
	PROTO_PUBREC, PROTO_PUBREL, PROTO_PUBCOMP, PROTO_SUBACK,
	PROTO_UNSUBACK, PROTO_DISCONNECT, PROTO_AUTH };

/* ---- names -------------------------------------------------------- */

static void
generic_names_follow_table_2_6(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const char *n = proto_reason_name(table[i].code, 0);

		assert_non_null(n);
		assert_string_equal(n, table[i].name);
	}
}

static void
zero_is_named_after_the_packet_it_is_in(void **state)
{
	(void)state;
	assert_string_equal(proto_reason_name(0x00, 0), "Success");
	assert_string_equal(proto_reason_name(0x00, PROTO_DISCONNECT),
	    "Normal disconnection");
	assert_string_equal(proto_reason_name(0x00, PROTO_SUBACK),
	    "Granted QoS 0");
	assert_string_equal(proto_reason_name(0x00, PROTO_CONNACK),
	    "Success");
	assert_string_equal(proto_reason_name(0x00, PROTO_PUBACK), "Success");
	assert_string_equal(proto_reason_name(0x00, PROTO_PUBREL), "Success");
	assert_string_equal(proto_reason_name(0x00, PROTO_UNSUBACK),
	    "Success");
	assert_string_equal(proto_reason_name(0x00, PROTO_AUTH), "Success");
}

static void
names_in_each_carrying_packet_follow_table_2_6(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		for (size_t j = 0; j < sizeof(carriers); j++) {
			uint8_t t = carriers[j];
			const char *n;

			if ((table[i].packets & P(t)) == 0) {
				continue;
			}
			n = proto_reason_name(table[i].code, t);
			assert_non_null(n);
			assert_string_equal(n,
			    expected_name(table[i].code, t));
		}
	}
}

static void
session_taken_over_is_named(void **state)
{
	(void)state;
	assert_string_equal(proto_reason_name(0x8E, 0), "Session taken over");
	assert_string_equal(proto_reason_name(0x8E, PROTO_DISCONNECT),
	    "Session taken over");
}

static void
values_that_are_no_reason_code_have_no_name(void **state)
{
	(void)state;
	assert_null(proto_reason_name(0x03, 0));
	assert_null(proto_reason_name(0x05, 0));
	assert_null(proto_reason_name(0xFF, 0));
	assert_null(proto_reason_name(0x03, PROTO_DISCONNECT));
	assert_null(proto_reason_name(0x05, PROTO_SUBACK));
	assert_null(proto_reason_name(0xFF, PROTO_CONNACK));
	for (unsigned c = 0; c <= 0xFF; c++) {
		if (row_of(c) != NULL) {
			continue;
		}
		assert_null(proto_reason_name((uint8_t)c, 0));
		for (size_t j = 0; j < sizeof(carriers); j++) {
			assert_null(proto_reason_name((uint8_t)c,
			    carriers[j]));
		}
	}
}

/* ---- which packet may carry which code ---------------------------- */

/*
 * Chapter 3 and table 2-6 agree except for 0x8C (Bad authentication
 * method): table 2-6 lists it for CONNACK and DISCONNECT, but the
 * DISCONNECT list of section 3.14.2.1, which binds the sender ("MUST use
 * one of the DISCONNECT Reason Code values"), does not hold it.  The
 * per-packet sections win here.
 */
static void
allowed_codes_per_packet_follow_chapter_3(void **state)
{
	(void)state;
	for (size_t j = 0; j < sizeof(carriers); j++) {
		uint8_t t = carriers[j];

		for (unsigned c = 0; c <= 0xFF; c++) {
			const struct reason_row *r = row_of(c);
			bool want = r != NULL && (r->packets & P(t)) != 0 &&
			    !(t == PROTO_DISCONNECT && c == 0x8C);

			if (proto_reason_allowed(t, (uint8_t)c) != want) {
				fail_msg("proto_reason_allowed(%s, 0x%02X) "
				         "should be %s",
				    proto_type_name(t), c,
				    want ? "true" : "false");
			}
		}
	}
}

static void
connack_codes_are_those_of_3_2_2_2(void **state)
{
	static const uint8_t ok[] = { 0x00, 0x80, 0x81, 0x82, 0x83, 0x84,
		0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
		0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F };
	(void)state;
	for (size_t i = 0; i < sizeof(ok); i++) {
		assert_true(proto_reason_allowed(PROTO_CONNACK, ok[i]));
	}
	assert_false(proto_reason_allowed(PROTO_CONNACK, 0x01));
	assert_false(proto_reason_allowed(PROTO_CONNACK, 0x8B));
	assert_false(proto_reason_allowed(PROTO_CONNACK, 0x8E));
	assert_false(proto_reason_allowed(PROTO_CONNACK, 0x8F));
}

static void
puback_and_pubrec_codes_are_those_of_3_4_2_1(void **state)
{
	static const uint8_t ok[] = { 0x00, 0x10, 0x80, 0x83, 0x87, 0x90,
		0x91, 0x97, 0x99 };
	(void)state;
	for (size_t i = 0; i < sizeof(ok); i++) {
		assert_true(proto_reason_allowed(PROTO_PUBACK, ok[i]));
		assert_true(proto_reason_allowed(PROTO_PUBREC, ok[i]));
	}
	assert_false(proto_reason_allowed(PROTO_PUBACK, 0x92));
	assert_false(proto_reason_allowed(PROTO_PUBREC, 0x81));
}

static void
pubrel_and_pubcomp_codes_are_those_of_3_6_2_1(void **state)
{
	(void)state;
	assert_true(proto_reason_allowed(PROTO_PUBREL, 0x00));
	assert_true(proto_reason_allowed(PROTO_PUBREL, 0x92));
	assert_true(proto_reason_allowed(PROTO_PUBCOMP, 0x00));
	assert_true(proto_reason_allowed(PROTO_PUBCOMP, 0x92));
	assert_false(proto_reason_allowed(PROTO_PUBREL, 0x80));
	assert_false(proto_reason_allowed(PROTO_PUBCOMP, 0x10));
}

static void
suback_codes_are_those_of_3_9_3(void **state)
{
	static const uint8_t ok[] = { 0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
		0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2 };
	(void)state;
	for (size_t i = 0; i < sizeof(ok); i++) {
		assert_true(proto_reason_allowed(PROTO_SUBACK, ok[i]));
	}
	assert_false(proto_reason_allowed(PROTO_SUBACK, 0x03));
	assert_false(proto_reason_allowed(PROTO_SUBACK, 0x11));
}

static void
unsuback_codes_are_those_of_3_11_3(void **state)
{
	static const uint8_t ok[] = { 0x00, 0x11, 0x80, 0x83, 0x87, 0x8F,
		0x91 };
	(void)state;
	for (size_t i = 0; i < sizeof(ok); i++) {
		assert_true(proto_reason_allowed(PROTO_UNSUBACK, ok[i]));
	}
	assert_false(proto_reason_allowed(PROTO_UNSUBACK, 0x01));
	assert_false(proto_reason_allowed(PROTO_UNSUBACK, 0x97));
}

static void
disconnect_codes_are_those_of_3_14_2_1(void **state)
{
	static const uint8_t ok[] = { 0x00, 0x04, 0x80, 0x81, 0x82, 0x83,
		0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
		0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E,
		0x9F, 0xA0, 0xA1, 0xA2 };
	(void)state;
	for (size_t i = 0; i < sizeof(ok); i++) {
		assert_true(proto_reason_allowed(PROTO_DISCONNECT, ok[i]));
	}
	/* Not in the 3.14.2.1 list, although table 2-6 names it. */
	assert_false(proto_reason_allowed(PROTO_DISCONNECT, 0x8C));
	assert_false(proto_reason_allowed(PROTO_DISCONNECT, 0x84));
	assert_false(proto_reason_allowed(PROTO_DISCONNECT, 0x88));
	assert_false(proto_reason_allowed(PROTO_DISCONNECT, 0x01));
}

static void
auth_codes_are_those_of_3_15_2_1(void **state)
{
	(void)state;
	assert_true(proto_reason_allowed(PROTO_AUTH, 0x00));
	assert_true(proto_reason_allowed(PROTO_AUTH, 0x18));
	assert_true(proto_reason_allowed(PROTO_AUTH, 0x19));
	assert_false(proto_reason_allowed(PROTO_AUTH, 0x80));
	assert_false(proto_reason_allowed(PROTO_AUTH, 0x8C));
}

static void
packets_without_reason_codes_allow_none(void **state)
{
	static const uint8_t none[] = { 0, PROTO_CONNECT, PROTO_PUBLISH,
		PROTO_SUBSCRIBE, PROTO_UNSUBSCRIBE, PROTO_PINGREQ,
		PROTO_PINGRESP };
	(void)state;
	for (size_t j = 0; j < sizeof(none); j++) {
		for (unsigned c = 0; c <= 0xFF; c++) {
			if (proto_reason_allowed(none[j], (uint8_t)c)) {
				fail_msg("packet type %u allows 0x%02X",
				    none[j], c);
			}
		}
	}
}

/* ---- MQTT 3.1.1 CONNACK return codes ------------------------------ */

static void
connack_v3_code_maps_the_direct_equivalents(void **state)
{
	(void)state;
	assert_int_equal(proto_connack_v3_code(0x00), PROTO_CONNACK_ACCEPTED);
	assert_int_equal(proto_connack_v3_code(0x84),
	    PROTO_CONNACK_BAD_VERSION);
	assert_int_equal(proto_connack_v3_code(0x85),
	    PROTO_CONNACK_ID_REJECTED);
	assert_int_equal(proto_connack_v3_code(0x88),
	    PROTO_CONNACK_UNAVAILABLE);
	assert_int_equal(proto_connack_v3_code(0x89),
	    PROTO_CONNACK_UNAVAILABLE);
	assert_int_equal(proto_connack_v3_code(0x86),
	    PROTO_CONNACK_BAD_CREDENTIALS);
	assert_int_equal(proto_connack_v3_code(0x87),
	    PROTO_CONNACK_NOT_AUTHORIZED);
}

static void
connack_v3_code_refuses_for_every_other_failure(void **state)
{
	(void)state;
	/* Any failure reason must stay a refusal: one of the five 3.1.1
	 * refusal codes, never "accepted" nor a reserved value. */
	for (unsigned c = 0x80; c <= 0xFF; c++) {
		uint8_t v3 = proto_connack_v3_code((uint8_t)c);

		if (v3 < PROTO_CONNACK_BAD_VERSION ||
		    v3 > PROTO_CONNACK_NOT_AUTHORIZED) {
			fail_msg("reason 0x%02X maps to 3.1.1 code %u", c,
			    v3);
		}
	}
}

/* ---- decoder errors ----------------------------------------------- */

static void
error_reason_follows_proto_h(void **state)
{
	static const struct {
		int err;
		uint8_t reason;
	} map[] = {
		{ PROTO_ESHORT, 0x81 },
		{ PROTO_EVARINT, 0x81 },
		{ PROTO_ETYPE, 0x81 },
		{ PROTO_EFLAGS, 0x81 },
		{ PROTO_EQOS, 0x81 },
		{ PROTO_EUTF8, 0x81 },
		{ PROTO_EPROPID, 0x81 },
		{ PROTO_EPROPDUP, 0x82 },
		{ PROTO_EPROPVAL, 0x82 },
		{ PROTO_EPACKETID, 0x82 },
		{ PROTO_EEMPTY, 0x82 },
		{ PROTO_ETOPIC, 0x90 },
		{ PROTO_EALIAS, 0x94 },
		{ PROTO_EPROTONAME, 0x81 },
		{ PROTO_EVERSION, 0x84 },
		{ PROTO_ECONNFLAGS, 0x81 },
		{ PROTO_EREASON, 0x81 },
		{ PROTO_ETOOLARGE, 0x95 },
		{ PROTO_ETRAILING, 0x81 },
		{ PROTO_ESUBOPTS, 0x81 },
		{ PROTO_ERETAINHAND, 0x82 },
		{ PROTO_EFILTER, 0x8F },
		{ PROTO_ENOTOPIC, 0x82 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint8_t got = proto_error_reason(map[i].err);

		if (got != map[i].reason) {
			fail_msg("proto_error_reason(%d) = 0x%02X, want "
			         "0x%02X",
			    map[i].err, got, map[i].reason);
		}
	}
}

static void
error_reason_of_non_decoder_codes_is_unspecified_error(void **state)
{
	(void)state;
	assert_int_equal(proto_error_reason(PROTO_ENOSPC), 0x80);
	assert_int_equal(proto_error_reason(PROTO_EINVAL), 0x80);
	assert_int_equal(proto_error_reason(PROTO_ENOMEM), 0x80);
	assert_int_equal(proto_error_reason(PROTO_OK), 0x80);
	assert_int_equal(proto_error_reason(PROTO_MORE), 0x80);
	assert_int_equal(proto_error_reason(-1), 0x80);
	assert_int_equal(proto_error_reason(-999), 0x80);
	assert_int_equal(proto_error_reason(-1026), 0x80);
	assert_int_equal(proto_error_reason(-2000), 0x80);
}

static void
strerror_is_distinct_for_every_code(void **state)
{
	int codes[PROTO_ESHORT - PROTO_ENOMEM + 3];
	const char *msg[sizeof(codes) / sizeof(codes[0])];
	size_t n = 0;
	(void)state;
	codes[n++] = PROTO_OK;
	codes[n++] = PROTO_MORE;
	for (int e = PROTO_ESHORT; e >= PROTO_ENOMEM; e--) {
		codes[n++] = e;
	}
	assert_int_equal(n, sizeof(codes) / sizeof(codes[0]));
	for (size_t i = 0; i < n; i++) {
		msg[i] = proto_strerror(codes[i]);
		assert_non_null(msg[i]);
		assert_true(strlen(msg[i]) > 0);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(msg[i], msg[j]) == 0) {
				fail_msg("codes %d and %d share \"%s\"",
				    codes[i], codes[j], msg[i]);
			}
		}
	}
}

/* ---- packet type names -------------------------------------------- */

static void
type_names_are_the_packet_names(void **state)
{
	static const char *const names[] = { NULL, "CONNECT", "CONNACK",
		"PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
		"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ",
		"PINGRESP", "DISCONNECT", "AUTH" };
	(void)state;
	for (uint8_t t = PROTO_CONNECT; t <= PROTO_AUTH; t++) {
		assert_string_equal(proto_type_name(t), names[t]);
	}
}

static void
unknown_type_name_is_question_mark(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(0), "?");
	assert_string_equal(proto_type_name(16), "?");
	assert_string_equal(proto_type_name(0x30), "?");
	assert_string_equal(proto_type_name(255), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generic_names_follow_table_2_6),
		cmocka_unit_test(zero_is_named_after_the_packet_it_is_in),
		cmocka_unit_test(
		    names_in_each_carrying_packet_follow_table_2_6),
		cmocka_unit_test(session_taken_over_is_named),
		cmocka_unit_test(values_that_are_no_reason_code_have_no_name),
		cmocka_unit_test(allowed_codes_per_packet_follow_chapter_3),
		cmocka_unit_test(connack_codes_are_those_of_3_2_2_2),
		cmocka_unit_test(puback_and_pubrec_codes_are_those_of_3_4_2_1),
		cmocka_unit_test(
		    pubrel_and_pubcomp_codes_are_those_of_3_6_2_1),
		cmocka_unit_test(suback_codes_are_those_of_3_9_3),
		cmocka_unit_test(unsuback_codes_are_those_of_3_11_3),
		cmocka_unit_test(disconnect_codes_are_those_of_3_14_2_1),
		cmocka_unit_test(auth_codes_are_those_of_3_15_2_1),
		cmocka_unit_test(packets_without_reason_codes_allow_none),
		cmocka_unit_test(connack_v3_code_maps_the_direct_equivalents),
		cmocka_unit_test(
		    connack_v3_code_refuses_for_every_other_failure),
		cmocka_unit_test(error_reason_follows_proto_h),
		cmocka_unit_test(
		    error_reason_of_non_decoder_codes_is_unspecified_error),
		cmocka_unit_test(strerror_is_distinct_for_every_code),
		cmocka_unit_test(type_names_are_the_packet_names),
		cmocka_unit_test(unknown_type_name_is_question_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
