/*
 * packets.c - the sample packets of packets.h and the comparison that
 * checks a decoded packet against one.
 *
 * Owns only static, immutable data: one array of samples per protocol
 * level, with a parallel array of names, plus the arrays the samples point
 * at (subscription entries, filters, reason codes, user properties).  The
 * samples are written from the MQTT 3.1, 3.1.1 and 5.0 specifications, one
 * field at a time, and are meant to be encoded by proto/ and decoded again;
 * the hand-written byte tests live in test_malformed.c.  Test code, one
 * thread.
 */
#include "packets.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* A string or binary view of a literal; sizeof keeps embedded NULs. */
#define STR(s) { (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1) }
#define BIT(name) PROTO_PROP_BIT(PROTO_PROP_##name)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Payloads long enough to need two- and three-byte remaining lengths. */
static const uint8_t payload_200[200] = { 'x', 'y', 'z' };
static const uint8_t payload_16400[16400] = { 1, 2, 3, 4 };

/* ------------------------------------------------------------------ */
/* MQTT 3.1                                                             */

static const struct proto_sub_entry v3_sub_entries[] = {
	{ .filter = STR("sensors/+/temp"), .qos = 0 },
	{ .filter = STR("alarms/#"), .qos = 1 },
	{ .filter = STR("cmd/device-7"), .qos = 2 },
};
static const uint8_t v3_suback_codes[] = { 0, 1, 2 };
static const struct proto_str v3_unsub_filters[] = {
	STR("sensors/+/temp"),
	STR("alarms/#"),
};

static const struct proto_packet v3_samples[] = {
	{ .type = PROTO_CONNECT, .version = 3,
	    .connect = { .clean_start = true, .keepalive = 60,
		.client_id = STR("starling-v31") } },
	{ .type = PROTO_CONNECT, .version = 3,
	    .connect = { .clean_start = false, .will_flag = true,
		.has_username = true, .has_password = true,
		.keepalive = 0,
		.client_id = STR("dev-0042"),
		.will = { .qos = 1, .retain = true,
		    .topic = STR("devices/0042/status"),
		    .payload = STR("gone\x00\xff") },
		.username = STR("alice"),
		.password = STR("pa\x00ss") } },
	{ .type = PROTO_CONNECT, .version = 3,
	    .connect = { .clean_start = true, .will_flag = true,
		.has_username = true, .keepalive = 300,
		.client_id = STR("c"),
		.will = { .qos = 0, .topic = STR("w"),
		    .payload = STR("") },
		.username = STR("bob") } },
	{ .type = PROTO_CONNACK, .version = 3,
	    .connack = { .reason = PROTO_CONNACK_ACCEPTED } },
	{ .type = PROTO_CONNACK, .version = 3,
	    .connack = { .reason = PROTO_CONNACK_NOT_AUTHORIZED } },
	{ .type = PROTO_PUBLISH, .version = 3,
	    .publish = { .qos = 0, .topic = STR("a/b"),
		.payload = STR("hello") } },
	{ .type = PROTO_PUBLISH, .version = 3,
	    .publish = { .qos = 1, .retain = true, .packet_id = 1,
		.topic = STR("sensors/room1/temp"),
		.payload = STR("21.5") } },
	{ .type = PROTO_PUBLISH, .version = 3,
	    .publish = { .qos = 2, .dup = true, .packet_id = 65535,
		.topic = STR("x"), .payload = STR("\x00\x01\x02") } },
	{ .type = PROTO_PUBLISH, .version = 3,
	    .publish = { .qos = 1, .packet_id = 7, .topic = STR("empty"),
		.payload = { NULL, 0 } } },
	{ .type = PROTO_PUBACK, .version = 3, .ack = { .packet_id = 1 } },
	{ .type = PROTO_PUBREC, .version = 3, .ack = { .packet_id = 2 } },
	{ .type = PROTO_PUBREL, .version = 3, .ack = { .packet_id = 3 } },
	{ .type = PROTO_PUBCOMP, .version = 3,
	    .ack = { .packet_id = 65535 } },
	{ .type = PROTO_SUBSCRIBE, .version = 3,
	    .subscribe = { .packet_id = 10,
		.count = NELEM(v3_sub_entries),
		.entries = v3_sub_entries } },
	{ .type = PROTO_SUBACK, .version = 3,
	    .suback = { .packet_id = 10, .count = NELEM(v3_suback_codes),
		.reasons = v3_suback_codes } },
	{ .type = PROTO_UNSUBSCRIBE, .version = 3,
	    .unsubscribe = { .packet_id = 11,
		.count = NELEM(v3_unsub_filters),
		.filters = v3_unsub_filters } },
	{ .type = PROTO_UNSUBACK, .version = 3,
	    .suback = { .packet_id = 11 } },
	{ .type = PROTO_PINGREQ, .version = 3 },
	{ .type = PROTO_PINGRESP, .version = 3 },
	{ .type = PROTO_DISCONNECT, .version = 3 },
};

static const char *const v3_names[] = {
	"CONNECT clean, no will, no credentials",
	"CONNECT will QoS 1 retain, username, password, not clean",
	"CONNECT will QoS 0 empty message, username only",
	"CONNACK accepted",
	"CONNACK refused: not authorized",
	"PUBLISH QoS 0",
	"PUBLISH QoS 1 retain",
	"PUBLISH QoS 2 dup, binary payload",
	"PUBLISH QoS 1 empty payload",
	"PUBACK",
	"PUBREC",
	"PUBREL",
	"PUBCOMP packet id 65535",
	"SUBSCRIBE three filters, QoS 0..2",
	"SUBACK three granted QoS",
	"UNSUBSCRIBE two filters",
	"UNSUBACK",
	"PINGREQ",
	"PINGRESP",
	"DISCONNECT",
};
_Static_assert(NELEM(v3_names) == NELEM(v3_samples), "v3 names");

/* ------------------------------------------------------------------ */
/* MQTT 3.1.1                                                           */

static const struct proto_sub_entry v4_sub_entries[] = {
	{ .filter = STR("#"), .qos = 0 },
	{ .filter = STR("+/+/status"), .qos = 1 },
	{ .filter = STR("$SYS/broker/#"), .qos = 2 },
	{ .filter = STR("caf\xc3\xa9/\xf0\x9f\x90\xa6"), .qos = 1 },
};
static const struct proto_sub_entry v4_sub_one[] = {
	{ .filter = STR("only/one"), .qos = 2 },
};
static const uint8_t v4_suback_codes[] = { 0, 1, 2, 0x80 };
static const uint8_t v4_suback_fail[] = { 0x80 };
static const struct proto_str v4_unsub_filters[] = {
	STR("#"),
	STR("+/+/status"),
	STR("$SYS/broker/#"),
};
static const struct proto_str v4_unsub_one[] = { STR("only/one") };

static const struct proto_packet v4_samples[] = {
	{ .type = PROTO_CONNECT, .version = 4,
	    .connect = { .clean_start = true, .keepalive = 60,
		.client_id = STR("starling-v311") } },
	{ .type = PROTO_CONNECT, .version = 4,
	    .connect = { .clean_start = true, .keepalive = 10,
		.client_id = { NULL, 0 } } },
	{ .type = PROTO_CONNECT, .version = 4,
	    .connect = { .clean_start = false, .will_flag = true,
		.has_username = true, .has_password = true,
		.keepalive = 65535,
		.client_id = STR("a-much-longer-client-identifier-than-23"),
		.will = { .qos = 2, .retain = true,
		    .topic = STR("devices/\xc3\xa9t\xc3\xa9/last-will"),
		    .payload = STR("\x00\x00\xff\xfe") },
		.username = STR("user@example"),
		.password = STR("") } },
	{ .type = PROTO_CONNECT, .version = 4,
	    .connect = { .clean_start = false, .will_flag = true,
		.keepalive = 1, .client_id = STR("w1"),
		.will = { .qos = 1, .topic = STR("w/1"),
		    .payload = STR("bye") } } },
	{ .type = PROTO_CONNECT, .version = 4,
	    .connect = { .clean_start = true, .has_username = true,
		.keepalive = 30, .client_id = STR("u"),
		.username = STR("") } },
	{ .type = PROTO_CONNACK, .version = 4,
	    .connack = { .reason = PROTO_CONNACK_ACCEPTED } },
	{ .type = PROTO_CONNACK, .version = 4,
	    .connack = { .session_present = true,
		.reason = PROTO_CONNACK_ACCEPTED } },
	{ .type = PROTO_CONNACK, .version = 4,
	    .connack = { .reason = PROTO_CONNACK_BAD_CREDENTIALS } },
	{ .type = PROTO_PUBLISH, .version = 4,
	    .publish = { .qos = 0, .topic = STR("a"),
		.payload = STR("0") } },
	{ .type = PROTO_PUBLISH, .version = 4,
	    .publish = { .qos = 0, .retain = true, .topic = STR("r/clear"),
		.payload = { NULL, 0 } } },
	{ .type = PROTO_PUBLISH, .version = 4,
	    .publish = { .qos = 1, .packet_id = 300,
		.topic = STR("/leading/slash/"),
		.payload = { payload_200, sizeof(payload_200) } } },
	{ .type = PROTO_PUBLISH, .version = 4,
	    .publish = { .qos = 2, .dup = true, .retain = true,
		.packet_id = 65535,
		.topic = STR("caf\xc3\xa9/\xf0\x9f\x90\xa6"),
		.payload = STR("\x00") } },
	{ .type = PROTO_PUBLISH, .version = 4,
	    .publish = { .qos = 1, .dup = true, .packet_id = 2,
		.topic = STR("big"),
		.payload = { payload_16400, sizeof(payload_16400) } } },
	{ .type = PROTO_PUBACK, .version = 4, .ack = { .packet_id = 300 } },
	{ .type = PROTO_PUBREC, .version = 4,
	    .ack = { .packet_id = 65535 } },
	{ .type = PROTO_PUBREL, .version = 4,
	    .ack = { .packet_id = 65535 } },
	{ .type = PROTO_PUBCOMP, .version = 4,
	    .ack = { .packet_id = 65535 } },
	{ .type = PROTO_SUBSCRIBE, .version = 4,
	    .subscribe = { .packet_id = 20,
		.count = NELEM(v4_sub_entries),
		.entries = v4_sub_entries } },
	{ .type = PROTO_SUBSCRIBE, .version = 4,
	    .subscribe = { .packet_id = 21, .count = 1,
		.entries = v4_sub_one } },
	{ .type = PROTO_SUBACK, .version = 4,
	    .suback = { .packet_id = 20, .count = NELEM(v4_suback_codes),
		.reasons = v4_suback_codes } },
	{ .type = PROTO_SUBACK, .version = 4,
	    .suback = { .packet_id = 21, .count = 1,
		.reasons = v4_suback_fail } },
	{ .type = PROTO_UNSUBSCRIBE, .version = 4,
	    .unsubscribe = { .packet_id = 22,
		.count = NELEM(v4_unsub_filters),
		.filters = v4_unsub_filters } },
	{ .type = PROTO_UNSUBSCRIBE, .version = 4,
	    .unsubscribe = { .packet_id = 23, .count = 1,
		.filters = v4_unsub_one } },
	{ .type = PROTO_UNSUBACK, .version = 4,
	    .suback = { .packet_id = 22 } },
	{ .type = PROTO_PINGREQ, .version = 4 },
	{ .type = PROTO_PINGRESP, .version = 4 },
	{ .type = PROTO_DISCONNECT, .version = 4 },
};

static const char *const v4_names[] = {
	"CONNECT clean, no will, no credentials",
	"CONNECT empty client id, clean",
	"CONNECT will QoS 2 retain, username, empty password, not clean",
	"CONNECT will QoS 1 no retain, no credentials",
	"CONNECT empty username, no password",
	"CONNACK accepted, no session",
	"CONNACK accepted, session present",
	"CONNACK refused: bad user name or password",
	"PUBLISH QoS 0",
	"PUBLISH QoS 0 retain, empty payload",
	"PUBLISH QoS 1, 200-byte payload",
	"PUBLISH QoS 2 dup retain, non-ASCII topic",
	"PUBLISH QoS 1 dup, 16400-byte payload",
	"PUBACK",
	"PUBREC",
	"PUBREL",
	"PUBCOMP",
	"SUBSCRIBE four filters",
	"SUBSCRIBE one filter",
	"SUBACK with failure 0x80",
	"SUBACK one failure",
	"UNSUBSCRIBE three filters",
	"UNSUBSCRIBE one filter",
	"UNSUBACK",
	"PINGREQ",
	"PINGRESP",
	"DISCONNECT",
};
_Static_assert(NELEM(v4_names) == NELEM(v4_samples), "v4 names");

/* ------------------------------------------------------------------ */
/* MQTT 5.0                                                             */

static const struct proto_pair v5_connect_users[] = {
	{ STR("region"), STR("eu-west-1") },
	{ STR("empty-value"), STR("") },
	{ STR("region"), STR("same key twice is allowed") },
};
static const struct proto_pair v5_will_users[] = {
	{ STR("caf\xc3\xa9"), STR("\xf0\x9f\x90\xa6") },
};
static const struct proto_pair v5_one_user[] = {
	{ STR("k"), STR("v") },
};
static const struct proto_pair v5_two_users[] = {
	{ STR("trace-id"), STR("4bf92f3577b34da6") },
	{ STR(""), STR("empty key") },
};
static const uint32_t v5_pub_sub_ids[] = { 1, PROTO_MAX_SUB_ID, 128 };
static const uint32_t v5_pub_sub_id_7[] = { 7 };
/* Pre-encoded properties for `extra`: a User Property ("xyz", "1") and a
 * Subscription Identifier 5. */
static const uint8_t v5_extra_props[] = {
	0x26, 0x00, 0x03, 'x', 'y', 'z', 0x00, 0x01, '1',
	0x0B, 0x05,
};

static const struct proto_sub_entry v5_sub_entries[] = {
	{ .filter = STR("a/+/c"), .qos = 0 },
	{ .filter = STR("nl/#"), .qos = 1, .no_local = true },
	{ .filter = STR("rap"), .qos = 2, .retain_as_published = true },
	{ .filter = STR("rh/1"), .qos = 1, .retain_handling = 1 },
	{ .filter = STR("rh/2"), .qos = 0, .retain_handling = 2,
	    .no_local = true, .retain_as_published = true },
	{ .filter = STR("$share/group/jobs/+"), .qos = 1 },
};
static const struct proto_sub_entry v5_sub_one[] = {
	{ .filter = STR("#"), .qos = 2, .retain_handling = 2,
	    .retain_as_published = true },
};
static const uint8_t v5_suback_codes[] = {
	0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1,
	0xA2,
};
static const uint8_t v5_suback_granted[] = { 0x02 };
static const struct proto_str v5_unsub_filters[] = {
	STR("a/+/c"),
	STR("nl/#"),
	STR("$share/group/jobs/+"),
};
static const uint8_t v5_unsuback_codes[] = { 0x00, 0x11, 0x80, 0x83, 0x87,
	0x8F, 0x91 };
static const uint8_t v5_unsuback_one[] = { 0x00 };

static const struct proto_packet v5_samples[] = {
	{ .type = PROTO_CONNECT, .version = 5,
	    .connect = { .clean_start = true, .keepalive = 60,
		.client_id = STR("starling-v5") } },
	{ .type = PROTO_CONNECT, .version = 5,
	    .connect = {
		.clean_start = false, .will_flag = true,
		.has_username = true, .has_password = true,
		.keepalive = 65535,
		.props = {
		    .present = BIT(SESSION_EXPIRY) | BIT(RECEIVE_MAX) |
			BIT(MAX_PACKET_SIZE) | BIT(TOPIC_ALIAS_MAX) |
			BIT(REQUEST_RESPONSE_INFO) |
			BIT(REQUEST_PROBLEM_INFO) | BIT(AUTH_METHOD) |
			BIT(AUTH_DATA),
		    .session_expiry = 0xFFFFFFFFu,
		    .receive_max = 20,
		    .max_packet_size = 1048576,
		    .topic_alias_max = 10,
		    .request_response_info = 1,
		    .request_problem_info = 0,
		    .auth_method = STR("SCRAM-SHA-256"),
		    .auth_data = STR("\x00\x01\x02\xff"),
		    .user_count = NELEM(v5_connect_users),
		    .user = v5_connect_users },
		.client_id = STR("starling-client-with-a-long-name"),
		.will = {
		    .qos = 2, .retain = true,
		    .props = {
			.present = BIT(WILL_DELAY) |
			    BIT(PAYLOAD_FORMAT) | BIT(MESSAGE_EXPIRY) |
			    BIT(CONTENT_TYPE) | BIT(RESPONSE_TOPIC) |
			    BIT(CORRELATION_DATA),
			.will_delay = 30,
			.payload_format = 1,
			.message_expiry = 3600,
			.content_type = STR("text/plain; charset=utf-8"),
			.response_topic = STR("replies/client"),
			.correlation_data = STR("\x00\xde\xad\xbe\xef"),
			.user_count = NELEM(v5_will_users),
			.user = v5_will_users },
		    .topic = STR("clients/5/status"),
		    .payload = STR("offline") },
		.username = STR("alice"),
		.password = STR("s3cr\x00t") } },
	{ .type = PROTO_CONNECT, .version = 5,
	    .connect = { .clean_start = false, .has_password = true,
		.keepalive = 0, .client_id = { NULL, 0 },
		.password = STR("token-without-username") } },
	{ .type = PROTO_CONNECT, .version = 5,
	    .connect = { .clean_start = true, .will_flag = true,
		.keepalive = 5, .client_id = STR("w"),
		.props = { .present = BIT(SESSION_EXPIRY),
		    .session_expiry = 0 },
		.will = { .qos = 0, .topic = STR("w/t"),
		    .payload = { NULL, 0 } } } },
	{ .type = PROTO_CONNACK, .version = 5,
	    .connack = { .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_CONNACK, .version = 5,
	    .connack = {
		.session_present = true, .reason = PROTO_RC_SUCCESS,
		.props = {
		    .present = BIT(SESSION_EXPIRY) | BIT(RECEIVE_MAX) |
			BIT(MAX_QOS) | BIT(RETAIN_AVAILABLE) |
			BIT(MAX_PACKET_SIZE) | BIT(ASSIGNED_CLIENT_ID) |
			BIT(TOPIC_ALIAS_MAX) | BIT(REASON_STRING) |
			BIT(WILDCARD_SUB_AVAILABLE) |
			BIT(SUB_ID_AVAILABLE) |
			BIT(SHARED_SUB_AVAILABLE) |
			BIT(SERVER_KEEP_ALIVE) | BIT(RESPONSE_INFO) |
			BIT(SERVER_REFERENCE) | BIT(AUTH_METHOD) |
			BIT(AUTH_DATA),
		    .session_expiry = 120,
		    .receive_max = 65535,
		    .max_qos = 1,
		    .retain_available = 0,
		    .max_packet_size = PROTO_MAX_PACKET,
		    .assigned_client_id = STR("auto-7f3a"),
		    .topic_alias_max = 65535,
		    .reason_string = STR("welcome"),
		    .wildcard_sub_available = 0,
		    .sub_id_available = 1,
		    .shared_sub_available = 0,
		    .server_keep_alive = 30,
		    .response_info = STR("resp/base"),
		    .server_reference = STR("other.example:1883"),
		    .auth_method = STR("SCRAM-SHA-256"),
		    .auth_data = STR("v=final"),
		    .user_count = NELEM(v5_two_users),
		    .user = v5_two_users } } },
	{ .type = PROTO_CONNACK, .version = 5,
	    .connack = { .reason = PROTO_RC_NOT_AUTHORIZED,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("no such tenant") } } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 0, .topic = STR("plain"),
		.payload = STR("no properties") } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = {
		.qos = 1, .packet_id = 4242, .topic = STR("req/calc"),
		.props = {
		    .present = BIT(PAYLOAD_FORMAT) |
			BIT(MESSAGE_EXPIRY) | BIT(CONTENT_TYPE) |
			BIT(RESPONSE_TOPIC) | BIT(CORRELATION_DATA) |
			BIT(TOPIC_ALIAS),
		    .payload_format = 1,
		    .message_expiry = 0xFFFFFFFFu,
		    .content_type = STR("application/json"),
		    .response_topic = STR("resp/calc/42"),
		    .correlation_data = STR("\x01\x00\x02"),
		    .topic_alias = 1,
		    .user_count = NELEM(v5_two_users),
		    .user = v5_two_users,
		    .sub_id_count = NELEM(v5_pub_sub_ids),
		    .sub_ids = v5_pub_sub_ids },
		.payload = STR("{\"op\":\"add\",\"a\":1,\"b\":2}") } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 1, .packet_id = 4243, .topic = { NULL, 0 },
		.props = { .present = BIT(TOPIC_ALIAS),
		    .topic_alias = 1 },
		.payload = STR("topic from alias 1") } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 0, .topic = STR("alias/set"),
		.props = { .present = BIT(TOPIC_ALIAS),
		    .topic_alias = 65535 },
		.payload = STR("sets alias 65535") } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 2, .dup = true, .retain = true,
		.packet_id = 1, .topic = STR("r"),
		.props = { .present = BIT(SUB_ID),
		    .sub_id = 7, .sub_id_count = 1,
		    .sub_ids = v5_pub_sub_id_7 },
		.payload = { NULL, 0 } } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 1, .packet_id = 9, .topic = STR("extra"),
		.props = { .present = BIT(PAYLOAD_FORMAT),
		    .payload_format = 0,
		    .user_count = NELEM(v5_one_user),
		    .user = v5_one_user,
		    .extra = { v5_extra_props, sizeof(v5_extra_props) } },
		.payload = STR("properties partly pre-encoded") } },
	{ .type = PROTO_PUBLISH, .version = 5,
	    .publish = { .qos = 2, .packet_id = 77, .topic = STR("big/5"),
		.props = { .present = BIT(MESSAGE_EXPIRY),
		    .message_expiry = 0 },
		.payload = { payload_16400, sizeof(payload_16400) } } },
	{ .type = PROTO_PUBACK, .version = 5,
	    .ack = { .packet_id = 4242, .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_PUBACK, .version = 5,
	    .ack = { .packet_id = 4243,
		.reason = PROTO_RC_NO_MATCHING_SUBSCRIBERS } },
	{ .type = PROTO_PUBACK, .version = 5,
	    .ack = { .packet_id = 1, .reason = PROTO_RC_NOT_AUTHORIZED,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("topic denied by ACL"),
		    .user_count = NELEM(v5_one_user),
		    .user = v5_one_user } } },
	{ .type = PROTO_PUBREC, .version = 5,
	    .ack = { .packet_id = 77, .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_PUBREC, .version = 5,
	    .ack = { .packet_id = 78,
		.reason = PROTO_RC_QUOTA_EXCEEDED } },
	{ .type = PROTO_PUBREC, .version = 5,
	    .ack = { .packet_id = 79,
		.reason = PROTO_RC_PAYLOAD_FORMAT_INVALID,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("not UTF-8") } } },
	{ .type = PROTO_PUBREL, .version = 5,
	    .ack = { .packet_id = 77, .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_PUBREL, .version = 5,
	    .ack = { .packet_id = 80,
		.reason = PROTO_RC_PACKET_ID_NOT_FOUND } },
	{ .type = PROTO_PUBREL, .version = 5,
	    .ack = { .packet_id = 81, .reason = PROTO_RC_SUCCESS,
		.props = { .user_count = NELEM(v5_one_user),
		    .user = v5_one_user } } },
	{ .type = PROTO_PUBCOMP, .version = 5,
	    .ack = { .packet_id = 77, .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_PUBCOMP, .version = 5,
	    .ack = { .packet_id = 82,
		.reason = PROTO_RC_PACKET_ID_NOT_FOUND,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("lost") } } },
	{ .type = PROTO_SUBSCRIBE, .version = 5,
	    .subscribe = { .packet_id = 30,
		.props = { .present = BIT(SUB_ID), .sub_id = 42,
		    .sub_id_count = 1,
		    .user_count = NELEM(v5_connect_users),
		    .user = v5_connect_users },
		.count = NELEM(v5_sub_entries),
		.entries = v5_sub_entries } },
	{ .type = PROTO_SUBSCRIBE, .version = 5,
	    .subscribe = { .packet_id = 31,
		.props = { .present = BIT(SUB_ID),
		    .sub_id = PROTO_MAX_SUB_ID, .sub_id_count = 1 },
		.count = NELEM(v5_sub_one), .entries = v5_sub_one } },
	{ .type = PROTO_SUBSCRIBE, .version = 5,
	    .subscribe = { .packet_id = 32, .count = NELEM(v5_sub_one),
		.entries = v5_sub_one } },
	{ .type = PROTO_SUBACK, .version = 5,
	    .suback = { .packet_id = 30,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("mixed results"),
		    .user_count = NELEM(v5_one_user),
		    .user = v5_one_user },
		.count = NELEM(v5_suback_codes),
		.reasons = v5_suback_codes } },
	{ .type = PROTO_SUBACK, .version = 5,
	    .suback = { .packet_id = 31, .count = 1,
		.reasons = v5_suback_granted } },
	{ .type = PROTO_UNSUBSCRIBE, .version = 5,
	    .unsubscribe = { .packet_id = 33,
		.props = { .user_count = NELEM(v5_one_user),
		    .user = v5_one_user },
		.count = NELEM(v5_unsub_filters),
		.filters = v5_unsub_filters } },
	{ .type = PROTO_UNSUBSCRIBE, .version = 5,
	    .unsubscribe = { .packet_id = 34, .count = 1,
		.filters = v4_unsub_one } },
	{ .type = PROTO_UNSUBACK, .version = 5,
	    .suback = { .packet_id = 33,
		.props = { .present = BIT(REASON_STRING),
		    .reason_string = STR("partly") },
		.count = NELEM(v5_unsuback_codes),
		.reasons = v5_unsuback_codes } },
	{ .type = PROTO_UNSUBACK, .version = 5,
	    .suback = { .packet_id = 34, .count = 1,
		.reasons = v5_unsuback_one } },
	{ .type = PROTO_PINGREQ, .version = 5 },
	{ .type = PROTO_PINGRESP, .version = 5 },
	{ .type = PROTO_AUTH, .version = 5,
	    .disconnect = { .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_AUTH, .version = 5,
	    .disconnect = { .reason = PROTO_RC_CONTINUE_AUTH,
		.props = { .present = BIT(AUTH_METHOD) | BIT(AUTH_DATA),
		    .auth_method = STR("SCRAM-SHA-256"),
		    .auth_data = STR("r=abc,s=\x00\x01,i=4096") } } },
	{ .type = PROTO_AUTH, .version = 5,
	    .disconnect = { .reason = PROTO_RC_REAUTHENTICATE,
		.props = { .present = BIT(AUTH_METHOD) |
			BIT(REASON_STRING),
		    .auth_method = STR("TOKEN"),
		    .reason_string = STR("token about to expire"),
		    .user_count = NELEM(v5_one_user),
		    .user = v5_one_user } } },
	{ .type = PROTO_DISCONNECT, .version = 5,
	    .disconnect = { .reason = PROTO_RC_SUCCESS } },
	{ .type = PROTO_DISCONNECT, .version = 5,
	    .disconnect = { .reason = PROTO_RC_DISCONNECT_WITH_WILL } },
	{ .type = PROTO_DISCONNECT, .version = 5,
	    .disconnect = { .reason = PROTO_RC_USE_ANOTHER_SERVER,
		.props = { .present = BIT(SESSION_EXPIRY) |
			BIT(REASON_STRING) | BIT(SERVER_REFERENCE),
		    .session_expiry = 0,
		    .reason_string = STR("rebalancing"),
		    .server_reference = STR("node2.example:1883"),
		    .user_count = NELEM(v5_two_users),
		    .user = v5_two_users } } },
	{ .type = PROTO_DISCONNECT, .version = 5,
	    .disconnect = { .reason = PROTO_RC_SUCCESS,
		.props = { .present = BIT(SESSION_EXPIRY),
		    .session_expiry = 86400 } } },
};

static const char *const v5_names[] = {
	"CONNECT clean, no properties",
	"CONNECT every property, will with every will property",
	"CONNECT password without username, empty id, not clean",
	"CONNECT will QoS 0 empty message, session expiry 0",
	"CONNACK success, no properties",
	"CONNACK session present, every CONNACK property",
	"CONNACK not authorized with reason string",
	"PUBLISH QoS 0 no properties",
	"PUBLISH QoS 1 every PUBLISH property, 3 subscription ids",
	"PUBLISH QoS 1 empty topic with topic alias",
	"PUBLISH QoS 0 topic and topic alias 65535",
	"PUBLISH QoS 2 dup retain, empty payload, one subscription id",
	"PUBLISH QoS 1 with pre-encoded extra properties",
	"PUBLISH QoS 2 16400-byte payload, message expiry 0",
	"PUBACK success (short form)",
	"PUBACK reason only",
	"PUBACK reason, reason string and user property",
	"PUBREC success (short form)",
	"PUBREC reason only",
	"PUBREC reason and reason string",
	"PUBREL success (short form)",
	"PUBREL packet identifier not found",
	"PUBREL success with a user property",
	"PUBCOMP success (short form)",
	"PUBCOMP reason and reason string",
	"SUBSCRIBE six entries, every option, subscription id",
	"SUBSCRIBE largest subscription id",
	"SUBSCRIBE no properties",
	"SUBACK every SUBACK reason code, properties",
	"SUBACK one granted QoS 2",
	"UNSUBSCRIBE three filters, user property",
	"UNSUBSCRIBE one filter",
	"UNSUBACK every UNSUBACK reason code, reason string",
	"UNSUBACK one success",
	"PINGREQ",
	"PINGRESP",
	"AUTH success (short form)",
	"AUTH continue with method and data",
	"AUTH re-authenticate with reason string",
	"DISCONNECT normal (short form)",
	"DISCONNECT with will message (reason only)",
	"DISCONNECT use another server with properties",
	"DISCONNECT normal with session expiry",
};
_Static_assert(NELEM(v5_names) == NELEM(v5_samples), "v5 names");

const struct proto_packet *
test_pkt_samples(uint8_t version, size_t *count)
{
	switch (version) {
	case PROTO_V31:
		*count = NELEM(v3_samples);
		return v3_samples;
	case PROTO_V311:
		*count = NELEM(v4_samples);
		return v4_samples;
	case PROTO_V5:
		*count = NELEM(v5_samples);
		return v5_samples;
	default:
		*count = 0;
		return NULL;
	}
}

const char *
test_pkt_sample_name(uint8_t version, size_t i)
{
	switch (version) {
	case PROTO_V31:
		return i < NELEM(v3_names) ? v3_names[i] : "?";
	case PROTO_V311:
		return i < NELEM(v4_names) ? v4_names[i] : "?";
	case PROTO_V5:
		return i < NELEM(v5_names) ? v5_names[i] : "?";
	default:
		return "?";
	}
}

uint8_t
test_pkt_wire_flags(const struct proto_packet *pkt)
{
	switch (pkt->type) {
	case PROTO_PUBLISH:
		return (uint8_t)((pkt->publish.dup ? 0x8 : 0) |
		    (pkt->publish.qos << 1) | (pkt->publish.retain ? 1 : 0));
	case PROTO_PUBREL:
	case PROTO_SUBSCRIBE:
	case PROTO_UNSUBSCRIBE:
		return 0x2;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Comparison                                                           */

/* Enough for every sample; a decoded list longer than this is a bug. */
#define LIST_MAX 64

static bool
str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len &&
	    (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

#define FAIL_IF(cond, ...)                                              \
	do {                                                            \
		if (cond) {                                             \
			print_error(__VA_ARGS__);                       \
			print_error("\n");                              \
			return false;                                   \
		}                                                       \
	} while (0)

#define CMP_NUM(what, a, b)                                             \
	FAIL_IF((uint64_t)(a) != (uint64_t)(b),                         \
	    "%s: want %" PRIu64 ", got %" PRIu64, what, (uint64_t)(a),  \
	    (uint64_t)(b))

#define CMP_STR(what, a, b)                                             \
	FAIL_IF(!str_eq(a, b), "%s: want \"%.*s\" (%u bytes), got "      \
	    "\"%.*s\" (%u bytes)", what, (int)(a).len,                  \
	    (a).len ? (const char *)(a).ptr : "", (unsigned)(a).len,    \
	    (int)(b).len, (b).len ? (const char *)(b).ptr : "",         \
	    (unsigned)(b).len)

/* Reads the field of a single-valued property: returns 1 and sets *num
 * for integers, 2 and sets *str for strings and binary data, 0 for
 * multi-valued or unknown ids. */
static int
prop_field(const struct proto_props *p, uint8_t id, uint32_t *num,
    struct proto_str *str)
{
	switch (id) {
	case PROTO_PROP_PAYLOAD_FORMAT:
		*num = p->payload_format;
		return 1;
	case PROTO_PROP_MESSAGE_EXPIRY:
		*num = p->message_expiry;
		return 1;
	case PROTO_PROP_CONTENT_TYPE:
		*str = p->content_type;
		return 2;
	case PROTO_PROP_RESPONSE_TOPIC:
		*str = p->response_topic;
		return 2;
	case PROTO_PROP_CORRELATION_DATA:
		*str = p->correlation_data;
		return 2;
	case PROTO_PROP_SESSION_EXPIRY:
		*num = p->session_expiry;
		return 1;
	case PROTO_PROP_ASSIGNED_CLIENT_ID:
		*str = p->assigned_client_id;
		return 2;
	case PROTO_PROP_SERVER_KEEP_ALIVE:
		*num = p->server_keep_alive;
		return 1;
	case PROTO_PROP_AUTH_METHOD:
		*str = p->auth_method;
		return 2;
	case PROTO_PROP_AUTH_DATA:
		*str = p->auth_data;
		return 2;
	case PROTO_PROP_REQUEST_PROBLEM_INFO:
		*num = p->request_problem_info;
		return 1;
	case PROTO_PROP_WILL_DELAY:
		*num = p->will_delay;
		return 1;
	case PROTO_PROP_REQUEST_RESPONSE_INFO:
		*num = p->request_response_info;
		return 1;
	case PROTO_PROP_RESPONSE_INFO:
		*str = p->response_info;
		return 2;
	case PROTO_PROP_SERVER_REFERENCE:
		*str = p->server_reference;
		return 2;
	case PROTO_PROP_REASON_STRING:
		*str = p->reason_string;
		return 2;
	case PROTO_PROP_RECEIVE_MAX:
		*num = p->receive_max;
		return 1;
	case PROTO_PROP_TOPIC_ALIAS_MAX:
		*num = p->topic_alias_max;
		return 1;
	case PROTO_PROP_TOPIC_ALIAS:
		*num = p->topic_alias;
		return 1;
	case PROTO_PROP_MAX_QOS:
		*num = p->max_qos;
		return 1;
	case PROTO_PROP_RETAIN_AVAILABLE:
		*num = p->retain_available;
		return 1;
	case PROTO_PROP_MAX_PACKET_SIZE:
		*num = p->max_packet_size;
		return 1;
	case PROTO_PROP_WILDCARD_SUB_AVAILABLE:
		*num = p->wildcard_sub_available;
		return 1;
	case PROTO_PROP_SUB_ID_AVAILABLE:
		*num = p->sub_id_available;
		return 1;
	case PROTO_PROP_SHARED_SUB_AVAILABLE:
		*num = p->shared_sub_available;
		return 1;
	default:
		return 0;
	}
}

/* The multi-valued properties of one packet, in wire order. */
struct multi {
	struct proto_pair user[LIST_MAX];
	uint32_t nuser;
	uint32_t sub[LIST_MAX];
	uint32_t nsub;
	bool overflow;
};

static void
multi_walk(struct multi *m, struct proto_str block, bool users, bool subs)
{
	struct proto_prop_iter it;
	struct proto_prop p;

	if (block.len == 0) {
		return;
	}
	proto_prop_iter_init(&it, block);
	while (proto_prop_next(&it, &p)) {
		if (p.id == PROTO_PROP_USER && users) {
			if (m->nuser == LIST_MAX) {
				m->overflow = true;
				return;
			}
			m->user[m->nuser].key = p.str;
			m->user[m->nuser].val = p.val;
			m->nuser++;
		} else if (p.id == PROTO_PROP_SUB_ID && subs) {
			if (m->nsub == LIST_MAX) {
				m->overflow = true;
				return;
			}
			m->sub[m->nsub++] = p.num;
		}
	}
}

/* Collects what the encoder would write for props, following the rules of
 * struct proto_props: arrays first, else the block, then `extra`. */
static void
multi_of_want(struct multi *m, const struct proto_props *p)
{
	uint32_t i;

	memset(m, 0, sizeof(*m));
	if (p->user != NULL) {
		for (i = 0; i < p->user_count && i < LIST_MAX; i++) {
			m->user[m->nuser++] = p->user[i];
		}
	} else {
		multi_walk(m, p->block, true, false);
	}
	if (p->sub_ids != NULL) {
		for (i = 0; i < p->sub_id_count && i < LIST_MAX; i++) {
			m->sub[m->nsub++] = p->sub_ids[i];
		}
	} else {
		multi_walk(m, p->block, false, true);
		if (m->nsub == 0 && proto_props_has(p, PROTO_PROP_SUB_ID)) {
			m->sub[m->nsub++] = p->sub_id;
		}
	}
	multi_walk(m, p->extra, true, true);
}

/* Compares the properties of want and got (a decoded packet), see
 * test_pkt_equal(). */
static bool
props_equal(const char *where, const struct proto_props *want,
    const struct proto_props *got)
{
	struct multi mw, mg;
	struct proto_prop_iter it;
	struct proto_prop p;
	uint64_t want_present = want->present;
	uint64_t single = 0;
	uint32_t i;

	multi_of_want(&mw, want);
	memset(&mg, 0, sizeof(mg));
	multi_walk(&mg, got->block, true, true);
	FAIL_IF(mw.overflow || mg.overflow, "%s: too many properties", where);

	if (mw.nuser > 0) {
		want_present |= PROTO_PROP_BIT(PROTO_PROP_USER);
	}
	if (mw.nsub > 0) {
		want_present |= PROTO_PROP_BIT(PROTO_PROP_SUB_ID);
	}
	FAIL_IF(want_present != got->present,
	    "%s: present bits: want 0x%016" PRIx64 ", got 0x%016" PRIx64,
	    where, want_present, got->present);

	for (i = 1; i < 64; i++) {
		uint32_t wn = 0, gn = 0;
		struct proto_str ws = { NULL, 0 }, gs = { NULL, 0 };
		int kind;

		if ((want_present & PROTO_PROP_BIT(i)) == 0) {
			continue;
		}
		kind = prop_field(want, (uint8_t)i, &wn, &ws);
		(void)prop_field(got, (uint8_t)i, &gn, &gs);
		if (kind == 1) {
			FAIL_IF(wn != gn, "%s: property %s: want %" PRIu32
			    ", got %" PRIu32, where,
			    proto_prop_name((uint8_t)i), wn, gn);
		} else if (kind == 2) {
			FAIL_IF(!str_eq(ws, gs), "%s: property %s differs "
			    "(want %u bytes, got %u bytes)", where,
			    proto_prop_name((uint8_t)i), (unsigned)ws.len,
			    (unsigned)gs.len);
		}
	}

	CMP_NUM("user_count", mw.nuser, got->user_count);
	CMP_NUM("user properties walked in block", mw.nuser, mg.nuser);
	for (i = 0; i < mw.nuser; i++) {
		CMP_STR("user property key", mw.user[i].key, mg.user[i].key);
		CMP_STR("user property value", mw.user[i].val,
		    mg.user[i].val);
	}
	CMP_NUM("sub_id_count", mw.nsub, got->sub_id_count);
	CMP_NUM("subscription ids walked in block", mw.nsub, mg.nsub);
	for (i = 0; i < mw.nsub; i++) {
		CMP_NUM("subscription identifier", mw.sub[i], mg.sub[i]);
	}
	if (mw.nsub > 0) {
		CMP_NUM("sub_id (first)", mw.sub[0], got->sub_id);
	}

	/* Every single-valued property in the decoded block appears once and
	 * agrees with its struct field. */
	if (got->block.len > 0) {
		proto_prop_iter_init(&it, got->block);
		while (proto_prop_next(&it, &p)) {
			uint32_t n = 0;
			struct proto_str s = { NULL, 0 };
			int kind = prop_field(got, p.id, &n, &s);

			if (kind == 0) {
				continue;
			}
			FAIL_IF(single & PROTO_PROP_BIT(p.id),
			    "%s: property 0x%02x twice in block", where, p.id);
			single |= PROTO_PROP_BIT(p.id);
			FAIL_IF(kind == 1 && n != p.num,
			    "%s: field of property 0x%02x disagrees with "
			    "block", where, p.id);
			FAIL_IF(kind == 2 && !str_eq(s, p.str),
			    "%s: field of property 0x%02x disagrees with "
			    "block", where, p.id);
		}
	}
	FAIL_IF(single != (got->present & ~(PROTO_PROP_BIT(PROTO_PROP_USER) |
	    PROTO_PROP_BIT(PROTO_PROP_SUB_ID))),
	    "%s: present bits do not match the block", where);
	return true;
}

static uint32_t
sub_entries(const struct proto_packet *pkt, struct proto_sub_entry *out)
{
	const struct proto_subscribe *s = &pkt->subscribe;
	uint32_t n = 0, pos = 0;

	if (s->entries != NULL) {
		for (n = 0; n < s->count && n < LIST_MAX; n++) {
			out[n] = s->entries[n];
		}
		return n;
	}
	while (n < LIST_MAX &&
	    proto_sub_next(s, pkt->version, &pos, &out[n])) {
		n++;
	}
	return n;
}

static uint32_t
unsub_filters(const struct proto_packet *pkt, struct proto_str *out)
{
	const struct proto_unsubscribe *u = &pkt->unsubscribe;
	uint32_t n = 0, pos = 0;

	if (u->filters != NULL) {
		for (n = 0; n < u->count && n < LIST_MAX; n++) {
			out[n] = u->filters[n];
		}
		return n;
	}
	while (n < LIST_MAX && proto_unsub_next(u, &pos, &out[n])) {
		n++;
	}
	return n;
}

static bool
connect_equal(const struct proto_packet *want, const struct proto_packet *got)
{
	const struct proto_connect *w = &want->connect, *g = &got->connect;

	CMP_NUM("clean_start", w->clean_start, g->clean_start);
	CMP_NUM("will_flag", w->will_flag, g->will_flag);
	CMP_NUM("has_username", w->has_username, g->has_username);
	CMP_NUM("has_password", w->has_password, g->has_password);
	CMP_NUM("keepalive", w->keepalive, g->keepalive);
	CMP_STR("client_id", w->client_id, g->client_id);
	if (want->version == PROTO_V5 &&
	    !props_equal("CONNECT", &w->props, &g->props)) {
		return false;
	}
	if (w->will_flag) {
		CMP_NUM("will qos", w->will.qos, g->will.qos);
		CMP_NUM("will retain", w->will.retain, g->will.retain);
		CMP_STR("will topic", w->will.topic, g->will.topic);
		CMP_STR("will payload", w->will.payload, g->will.payload);
		if (want->version == PROTO_V5 &&
		    !props_equal("will", &w->will.props, &g->will.props)) {
			return false;
		}
	}
	if (w->has_username) {
		CMP_STR("username", w->username, g->username);
	}
	if (w->has_password) {
		CMP_STR("password", w->password, g->password);
	}
	return true;
}

static bool
body_equal(const struct proto_packet *want, const struct proto_packet *got)
{
	bool v5 = want->version == PROTO_V5;
	uint32_t i;

	switch (want->type) {
	case PROTO_CONNECT:
		return connect_equal(want, got);
	case PROTO_CONNACK:
		CMP_NUM("session_present", want->connack.session_present,
		    got->connack.session_present);
		CMP_NUM("connack reason", want->connack.reason,
		    got->connack.reason);
		return !v5 ||
		    props_equal("CONNACK", &want->connack.props,
			&got->connack.props);
	case PROTO_PUBLISH:
		CMP_NUM("qos", want->publish.qos, got->publish.qos);
		CMP_NUM("dup", want->publish.dup, got->publish.dup);
		CMP_NUM("retain", want->publish.retain, got->publish.retain);
		if (want->publish.qos > 0) {
			CMP_NUM("packet_id", want->publish.packet_id,
			    got->publish.packet_id);
		}
		CMP_STR("topic", want->publish.topic, got->publish.topic);
		CMP_STR("payload", want->publish.payload,
		    got->publish.payload);
		return !v5 ||
		    props_equal("PUBLISH", &want->publish.props,
			&got->publish.props);
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		CMP_NUM("packet_id", want->ack.packet_id, got->ack.packet_id);
		CMP_NUM("ack reason", want->ack.reason, got->ack.reason);
		return !v5 ||
		    props_equal(proto_type_name(want->type), &want->ack.props,
			&got->ack.props);
	case PROTO_SUBSCRIBE: {
		struct proto_sub_entry we[LIST_MAX], ge[LIST_MAX];
		uint32_t wn = sub_entries(want, we);
		uint32_t gn = sub_entries(got, ge);

		CMP_NUM("packet_id", want->subscribe.packet_id,
		    got->subscribe.packet_id);
		CMP_NUM("entries walked", wn, gn);
		CMP_NUM("count", want->subscribe.count, got->subscribe.count);
		CMP_NUM("count vs walked", gn, got->subscribe.count);
		for (i = 0; i < wn; i++) {
			CMP_STR("filter", we[i].filter, ge[i].filter);
			CMP_NUM("option qos", we[i].qos, ge[i].qos);
			if (v5) {
				CMP_NUM("no_local", we[i].no_local,
				    ge[i].no_local);
				CMP_NUM("retain_as_published",
				    we[i].retain_as_published,
				    ge[i].retain_as_published);
				CMP_NUM("retain_handling",
				    we[i].retain_handling,
				    ge[i].retain_handling);
			}
		}
		return !v5 ||
		    props_equal("SUBSCRIBE", &want->subscribe.props,
			&got->subscribe.props);
	}
	case PROTO_UNSUBSCRIBE: {
		struct proto_str wf[LIST_MAX], gf[LIST_MAX];
		uint32_t wn = unsub_filters(want, wf);
		uint32_t gn = unsub_filters(got, gf);

		CMP_NUM("packet_id", want->unsubscribe.packet_id,
		    got->unsubscribe.packet_id);
		CMP_NUM("filters walked", wn, gn);
		CMP_NUM("count", want->unsubscribe.count,
		    got->unsubscribe.count);
		CMP_NUM("count vs walked", gn, got->unsubscribe.count);
		for (i = 0; i < wn; i++) {
			CMP_STR("filter", wf[i], gf[i]);
		}
		return !v5 ||
		    props_equal("UNSUBSCRIBE", &want->unsubscribe.props,
			&got->unsubscribe.props);
	}
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		CMP_NUM("packet_id", want->suback.packet_id,
		    got->suback.packet_id);
		CMP_NUM("reason count", want->suback.count,
		    got->suback.count);
		for (i = 0; i < want->suback.count; i++) {
			CMP_NUM("reason code", want->suback.reasons[i],
			    got->suback.reasons[i]);
		}
		return !v5 ||
		    props_equal(proto_type_name(want->type),
			&want->suback.props, &got->suback.props);
	case PROTO_DISCONNECT:
	case PROTO_AUTH:
		if (!v5) {
			return true;
		}
		CMP_NUM("reason", want->disconnect.reason,
		    got->disconnect.reason);
		return props_equal(proto_type_name(want->type),
		    &want->disconnect.props, &got->disconnect.props);
	case PROTO_PINGREQ:
	case PROTO_PINGRESP:
		return true;
	default:
		print_error("unknown packet type %u\n", want->type);
		return false;
	}
}

bool
test_pkt_equal(const struct proto_packet *want,
    const struct proto_packet *got)
{
	CMP_NUM("type", want->type, got->type);
	CMP_NUM("version", want->version, got->version);
	CMP_NUM("flags", test_pkt_wire_flags(want), got->flags);
	if (!body_equal(want, got)) {
		print_error("in %s (version %u)\n",
		    proto_type_name(want->type), want->version);
		return false;
	}
	return true;
}
