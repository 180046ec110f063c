/*
 * test_props.c - unit tests for MQTT 5 properties (proto/props.c):
 * the property table (proto_prop_name, proto_prop_type, proto_prop_allowed
 * against MQTT 5.0 section 2.2.2.2, table 2-4), property blocks written by
 * proto_encode() and read back by proto_decode() and the property iterator,
 * the property checks the decoder makes (duplicates, placement, values),
 * and proto_props_filter().
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

/* A proto_str initialiser from a string literal (embedded NULs kept). */
#define STR(s) { (const uint8_t *)(s), sizeof(s) - 1 }
#define BIT(id) PROTO_PROP_BIT(id)

/* Context bits for table 2-4: packet types 1..15 and the will. */
#define C(t) (1u << (t))
#define CONNECT C(PROTO_CONNECT)
#define CONNACK C(PROTO_CONNACK)
#define PUBLISH C(PROTO_PUBLISH)
#define PUBACK C(PROTO_PUBACK)
#define PUBREC C(PROTO_PUBREC)
#define PUBREL C(PROTO_PUBREL)
#define PUBCOMP C(PROTO_PUBCOMP)
#define SUBSCRIBE C(PROTO_SUBSCRIBE)
#define SUBACK C(PROTO_SUBACK)
#define UNSUBSCRIBE C(PROTO_UNSUBSCRIBE)
#define UNSUBACK C(PROTO_UNSUBACK)
#define DISCONNECT C(PROTO_DISCONNECT)
#define AUTH C(PROTO_AUTH)
#define WILL C(PROTO_CTX_WILL)

struct prop_row {
	uint8_t id;
	const char *name;
	int type;
	unsigned ctx;
};

/* MQTT 5.0 table 2-4. */
static const struct prop_row table[] = {
	{ 0x01, "Payload Format Indicator", PROTO_PT_BYTE, PUBLISH | WILL },
	{ 0x02, "Message Expiry Interval", PROTO_PT_U32, PUBLISH | WILL },
	{ 0x03, "Content Type", PROTO_PT_UTF8, PUBLISH | WILL },
	{ 0x08, "Response Topic", PROTO_PT_UTF8, PUBLISH | WILL },
	{ 0x09, "Correlation Data", PROTO_PT_BINARY, PUBLISH | WILL },
	{ 0x0B, "Subscription Identifier", PROTO_PT_VARINT,
	    PUBLISH | SUBSCRIBE },
	{ 0x11, "Session Expiry Interval", PROTO_PT_U32,
	    CONNECT | CONNACK | DISCONNECT },
	{ 0x12, "Assigned Client Identifier", PROTO_PT_UTF8, CONNACK },
	{ 0x13, "Server Keep Alive", PROTO_PT_U16, CONNACK },
	{ 0x15, "Authentication Method", PROTO_PT_UTF8,
	    CONNECT | CONNACK | AUTH },
	{ 0x16, "Authentication Data", PROTO_PT_BINARY,
	    CONNECT | CONNACK | AUTH },
	{ 0x17, "Request Problem Information", PROTO_PT_BYTE, CONNECT },
	{ 0x18, "Will Delay Interval", PROTO_PT_U32, WILL },
	{ 0x19, "Request Response Information", PROTO_PT_BYTE, CONNECT },
	{ 0x1A, "Response Information", PROTO_PT_UTF8, CONNACK },
	{ 0x1C, "Server Reference", PROTO_PT_UTF8, CONNACK | DISCONNECT },
	{ 0x1F, "Reason String", PROTO_PT_UTF8,
	    CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK |
	        UNSUBACK | DISCONNECT | AUTH },
	{ 0x21, "Receive Maximum", PROTO_PT_U16, CONNECT | CONNACK },
	{ 0x22, "Topic Alias Maximum", PROTO_PT_U16, CONNECT | CONNACK },
	{ 0x23, "Topic Alias", PROTO_PT_U16, PUBLISH },
	{ 0x24, "Maximum QoS", PROTO_PT_BYTE, CONNACK },
	{ 0x25, "Retain Available", PROTO_PT_BYTE, CONNACK },
	{ 0x26, "User Property", PROTO_PT_PAIR,
	    CONNECT | CONNACK | PUBLISH | WILL | PUBACK | PUBREC | PUBREL |
	        PUBCOMP | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK |
	        DISCONNECT | AUTH },
	{ 0x27, "Maximum Packet Size", PROTO_PT_U32, CONNECT | CONNACK },
	{ 0x28, "Wildcard Subscription Available", PROTO_PT_BYTE, CONNACK },
	{ 0x29, "Subscription Identifier Available", PROTO_PT_BYTE,
	    CONNACK },
	{ 0x2A, "Shared Subscription Available", PROTO_PT_BYTE, CONNACK },
};

#define NROWS (sizeof(table) / sizeof(table[0]))

static const struct prop_row *
row_of(unsigned id)
{
	for (size_t i = 0; i < NROWS; i++) {
		if (table[i].id == id) {
			return &table[i];
		}
	}
	return NULL;
}

static struct proto_str
str_of(const char *s)
{
	struct proto_str v = { (const uint8_t *)s, (uint32_t)strlen(s) };
	return v;
}

/* Asserts that view v holds exactly the bytes p[0..n). */
static void
assert_view(struct proto_str v, const void *p, size_t n)
{
	assert_int_equal(v.len, n);
	if (n > 0) {
		assert_non_null(v.ptr);
		assert_memory_equal(v.ptr, p, n);
	}
}

static void
assert_view_eq(struct proto_str a, struct proto_str b)
{
	assert_view(a, b.ptr, b.len);
}

/* ---- the property table ------------------------------------------- */

static void
every_property_has_its_table_2_4_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const char *n = proto_prop_name(table[i].id);

		assert_non_null(n);
		assert_string_equal(n, table[i].name);
	}
}

static void
every_property_has_its_table_2_4_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		assert_int_equal(proto_prop_type(table[i].id), table[i].type);
	}
}

static void
every_property_is_allowed_exactly_where_table_2_4_says(void **state)
{
	(void)state;
	for (unsigned id = 0; id <= 0xFF; id++) {
		const struct prop_row *r = row_of(id);

		for (unsigned ctx = 0; ctx <= 20; ctx++) {
			bool want = r != NULL && ctx <= PROTO_CTX_WILL &&
			    (r->ctx & C(ctx)) != 0;

			if (proto_prop_allowed((uint8_t)id, (uint8_t)ctx) !=
			    want) {
				fail_msg("proto_prop_allowed(0x%02X, %u) "
				         "should be %s",
				    id, ctx, want ? "true" : "false");
			}
		}
	}
}

static void
will_context_differs_from_connect(void **state)
{
	(void)state;
	assert_true(proto_prop_allowed(PROTO_PROP_WILL_DELAY,
	    PROTO_CTX_WILL));
	assert_false(proto_prop_allowed(PROTO_PROP_WILL_DELAY,
	    PROTO_CONNECT));
	assert_true(proto_prop_allowed(PROTO_PROP_SESSION_EXPIRY,
	    PROTO_CONNECT));
	assert_false(proto_prop_allowed(PROTO_PROP_SESSION_EXPIRY,
	    PROTO_CTX_WILL));
	assert_true(proto_prop_allowed(PROTO_PROP_CONTENT_TYPE,
	    PROTO_CTX_WILL));
	assert_false(proto_prop_allowed(PROTO_PROP_CONTENT_TYPE,
	    PROTO_CONNECT));
	assert_true(proto_prop_allowed(PROTO_PROP_USER, PROTO_CTX_WILL));
	assert_false(proto_prop_allowed(PROTO_PROP_TOPIC_ALIAS,
	    PROTO_CTX_WILL));
	assert_false(proto_prop_allowed(PROTO_PROP_SUB_ID, PROTO_CTX_WILL));
}

static void
pings_allow_no_property(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		assert_false(proto_prop_allowed(table[i].id, PROTO_PINGREQ));
		assert_false(proto_prop_allowed(table[i].id, PROTO_PINGRESP));
	}
}

static void
unknown_ids_have_no_name_type_or_place(void **state)
{
	(void)state;
	assert_null(proto_prop_name(0x00));
	assert_null(proto_prop_name(0x04));
	assert_null(proto_prop_name(0x2B));
	assert_int_equal(proto_prop_type(0x00), -1);
	assert_int_equal(proto_prop_type(0x04), -1);
	assert_int_equal(proto_prop_type(0x2B), -1);
	assert_false(proto_prop_allowed(0x00, PROTO_PUBLISH));
	assert_false(proto_prop_allowed(0x04, PROTO_PUBLISH));
	assert_false(proto_prop_allowed(0x2B, PROTO_CONNACK));
	for (unsigned id = 0; id <= 0xFF; id++) {
		if (row_of(id) != NULL) {
			continue;
		}
		if (proto_prop_name((uint8_t)id) != NULL ||
		    proto_prop_type((uint8_t)id) != -1) {
			fail_msg("id 0x%02X is not in table 2-4", id);
		}
	}
}

/* ---- encoding, decoding and walking blocks ------------------------- */

/* Encodes pkt into a new buffer, checking that proto_encode_size() and
 * proto_encode() agree.  The caller frees *out. */
static size_t
encode_new(const struct proto_packet *pkt, uint8_t **out)
{
	size_t need = proto_encode_size(pkt);
	size_t len = 0;
	uint8_t *buf;

	assert_true(need > 0);
	buf = malloc(need);
	assert_non_null(buf);
	assert_int_equal(proto_encode(pkt, buf, need, &len), PROTO_OK);
	assert_int_equal(len, need);
	*out = buf;
	return len;
}

/* A single-valued property expected in a block: an integer or a view. */
struct want_prop {
	uint8_t id;
	uint32_t num;
	struct proto_str str;
};

/*
 * Walks block and checks it holds exactly the single-valued properties
 * `single` (in any order, each once), then the user properties `users` in
 * order, then the subscription identifiers `subs` in order, and that every
 * property is allowed in context ctx.
 */
static void
check_block(struct proto_str block, uint8_t ctx,
    const struct want_prop *single, size_t nsingle,
    const struct proto_pair *users, size_t nusers, const uint32_t *subs,
    size_t nsubs)
{
	struct proto_prop_iter it;
	struct proto_prop p;
	bool seen[32] = { false };
	size_t ui = 0, si = 0;
	int phase = 0;

	assert_true(nsingle <= 32);
	proto_prop_iter_init(&it, block);
	while (proto_prop_next(&it, &p)) {
		if (!proto_prop_allowed(p.id, ctx)) {
			fail_msg("property 0x%02X in context %u", p.id, ctx);
		}
		if (p.id == PROTO_PROP_USER) {
			assert_true(phase <= 1);
			phase = 1;
			assert_true(ui < nusers);
			assert_view_eq(p.str, users[ui].key);
			assert_view_eq(p.val, users[ui].val);
			ui++;
		} else if (p.id == PROTO_PROP_SUB_ID && nsubs > 0) {
			phase = 2;
			assert_true(si < nsubs);
			assert_int_equal(p.num, subs[si]);
			si++;
		} else {
			size_t k;
			int type = proto_prop_type(p.id);

			if (phase != 0) {
				fail_msg("single-valued 0x%02X after user "
				         "properties or subscription ids",
				    p.id);
			}
			for (k = 0; k < nsingle; k++) {
				if (single[k].id == p.id) {
					break;
				}
			}
			if (k == nsingle) {
				fail_msg("unexpected property 0x%02X", p.id);
			}
			assert_false(seen[k]);
			seen[k] = true;
			if (type == PROTO_PT_UTF8 || type == PROTO_PT_BINARY) {
				assert_view_eq(p.str, single[k].str);
			} else {
				assert_int_equal(p.num, single[k].num);
			}
		}
	}
	for (size_t k = 0; k < nsingle; k++) {
		if (!seen[k]) {
			fail_msg("property 0x%02X missing", single[k].id);
		}
	}
	assert_int_equal(ui, nusers);
	assert_int_equal(si, nsubs);
}

static const struct proto_pair pub_users[3] = {
	{ STR("k1"), STR("v1") },
	{ STR("k2"), STR("") },
	{ STR("k1"), STR("v3") },
};
static const uint32_t pub_subs[2] = { 1, 268435455 };

/* A QoS 1 PUBLISH from server to client carrying every PUBLISH property,
 * three user properties (one key repeated) and two subscription
 * identifiers. */
static void
make_rich_publish(struct proto_packet *pkt)
{
	struct proto_publish *pub = &pkt->publish;
	struct proto_props *pr = &pub->props;

	memset(pkt, 0, sizeof(*pkt));
	pkt->type = PROTO_PUBLISH;
	pkt->version = PROTO_V5;
	pub->qos = 1;
	pub->packet_id = 0x1234;
	pub->topic = str_of("sensors/t1");
	pub->payload = str_of("21.5");
	pr->present = BIT(PROTO_PROP_PAYLOAD_FORMAT) |
	    BIT(PROTO_PROP_MESSAGE_EXPIRY) | BIT(PROTO_PROP_CONTENT_TYPE) |
	    BIT(PROTO_PROP_RESPONSE_TOPIC) |
	    BIT(PROTO_PROP_CORRELATION_DATA) | BIT(PROTO_PROP_TOPIC_ALIAS);
	pr->payload_format = 1;
	pr->message_expiry = 3600;
	pr->content_type = str_of("text/plain");
	pr->response_topic = str_of("reply/here");
	pr->correlation_data = (struct proto_str)STR("\x00\x01\xFF");
	pr->topic_alias = 9;
	pr->user = pub_users;
	pr->user_count = 3;
	pr->sub_ids = pub_subs;
	pr->sub_id_count = 2;
}

static void
publish_properties_round_trip_through_encode_and_decode(void **state)
{
	struct proto_packet pkt, out;
	uint8_t *buf = NULL;
	size_t len;
	const struct proto_props *pr = &out.publish.props;
	(void)state;

	make_rich_publish(&pkt);
	len = encode_new(&pkt, &buf);
	memset(&out, 0xA5, sizeof(out));
	assert_int_equal(proto_decode(buf, len, PROTO_V5, 0, &out), PROTO_OK);

	assert_int_equal(out.type, PROTO_PUBLISH);
	assert_int_equal(out.size, len);
	assert_int_equal(out.publish.qos, 1);
	assert_false(out.publish.dup);
	assert_false(out.publish.retain);
	assert_int_equal(out.publish.packet_id, 0x1234);
	assert_view(out.publish.topic, "sensors/t1", 10);
	assert_view(out.publish.payload, "21.5", 4);

	assert_int_equal(pr->present,
	    pkt.publish.props.present | BIT(PROTO_PROP_USER) |
	        BIT(PROTO_PROP_SUB_ID));
	assert_int_equal(pr->payload_format, 1);
	assert_int_equal(pr->message_expiry, 3600);
	assert_view(pr->content_type, "text/plain", 10);
	assert_view(pr->response_topic, "reply/here", 10);
	assert_view(pr->correlation_data, "\x00\x01\xFF", 3);
	assert_int_equal(pr->topic_alias, 9);
	assert_int_equal(pr->user_count, 3);
	assert_int_equal(pr->sub_id_count, 2);
	assert_int_equal(pr->sub_id, 1);
	assert_null(pr->user);
	assert_null(pr->sub_ids);
	assert_int_equal(pr->extra.len, 0);
	/* The block is a view into the decoded bytes. */
	assert_true(pr->block.len > 0);
	assert_true(pr->block.ptr > buf &&
	    pr->block.ptr + pr->block.len <= buf + len);
	free(buf);
}

static void
publish_properties_are_walked_in_order(void **state)
{
	struct proto_packet pkt, out;
	uint8_t *buf = NULL;
	size_t len;
	const struct want_prop single[] = {
		{ PROTO_PROP_PAYLOAD_FORMAT, 1, { NULL, 0 } },
		{ PROTO_PROP_MESSAGE_EXPIRY, 3600, { NULL, 0 } },
		{ PROTO_PROP_CONTENT_TYPE, 0, STR("text/plain") },
		{ PROTO_PROP_RESPONSE_TOPIC, 0, STR("reply/here") },
		{ PROTO_PROP_CORRELATION_DATA, 0, STR("\x00\x01\xFF") },
		{ PROTO_PROP_TOPIC_ALIAS, 9, { NULL, 0 } },
	};
	(void)state;

	make_rich_publish(&pkt);
	len = encode_new(&pkt, &buf);
	assert_int_equal(proto_decode(buf, len, PROTO_V5, 0, &out), PROTO_OK);
	check_block(out.publish.props.block, PROTO_PUBLISH, single,
	    sizeof(single) / sizeof(single[0]), pub_users, 3, pub_subs, 2);
	free(buf);
}

static void
decoded_publish_re_encodes_to_the_same_bytes(void **state)
{
	struct proto_packet pkt, out;
	uint8_t *buf = NULL, *again = NULL;
	size_t len, len2;
	(void)state;

	make_rich_publish(&pkt);
	len = encode_new(&pkt, &buf);
	assert_int_equal(proto_decode(buf, len, PROTO_V5, 0, &out), PROTO_OK);
	out.version = PROTO_V5;
	len2 = encode_new(&out, &again);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	free(again);
	free(buf);
}

static void
encode_reports_needed_size_when_properties_do_not_fit(void **state)
{
	struct proto_packet pkt;
	uint8_t small[16];
	size_t need, len = 0;
	(void)state;

	make_rich_publish(&pkt);
	need = proto_encode_size(&pkt);
	assert_true(need > sizeof(small));
	assert_int_equal(proto_encode(&pkt, small, sizeof(small), &len),
	    PROTO_ENOSPC);
	assert_int_equal(len, need);
}

static const struct proto_pair conn_users[2] = {
	{ STR("region"), STR("eu-west") },
	{ STR("app"), STR("thermo") },
};
static const struct proto_pair will_users[1] = {
	{ STR("why"), STR("lost") },
};

static void
connect_and_will_properties_round_trip(void **state)
{
	struct proto_packet pkt, out;
	struct proto_connect *c = &pkt.connect;
	const struct proto_connect *d = &out.connect;
	uint8_t *buf = NULL;
	size_t len;
	const struct want_prop conn_single[] = {
		{ PROTO_PROP_SESSION_EXPIRY, 0xFFFFFFFFu, { NULL, 0 } },
		{ PROTO_PROP_RECEIVE_MAX, 20, { NULL, 0 } },
		{ PROTO_PROP_MAX_PACKET_SIZE, 65536, { NULL, 0 } },
		{ PROTO_PROP_TOPIC_ALIAS_MAX, 10, { NULL, 0 } },
		{ PROTO_PROP_REQUEST_RESPONSE_INFO, 1, { NULL, 0 } },
		{ PROTO_PROP_REQUEST_PROBLEM_INFO, 0, { NULL, 0 } },
		{ PROTO_PROP_AUTH_METHOD, 0, STR("SCRAM-SHA-1") },
		{ PROTO_PROP_AUTH_DATA, 0, STR("\x00n,,n=user") },
	};
	const struct want_prop will_single[] = {
		{ PROTO_PROP_WILL_DELAY, 30, { NULL, 0 } },
		{ PROTO_PROP_PAYLOAD_FORMAT, 1, { NULL, 0 } },
		{ PROTO_PROP_MESSAGE_EXPIRY, 60, { NULL, 0 } },
		{ PROTO_PROP_CONTENT_TYPE, 0, STR("application/json") },
		{ PROTO_PROP_RESPONSE_TOPIC, 0, STR("resp/1") },
		{ PROTO_PROP_CORRELATION_DATA, 0, STR("\x00\x01\xFF") },
	};
	uint64_t conn_bits = 0, will_bits = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(conn_single) / sizeof(conn_single[0]);
	     i++) {
		conn_bits |= BIT(conn_single[i].id);
	}
	for (size_t i = 0; i < sizeof(will_single) / sizeof(will_single[0]);
	     i++) {
		will_bits |= BIT(will_single[i].id);
	}

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_CONNECT;
	pkt.version = PROTO_V5;
	c->clean_start = true;
	c->will_flag = true;
	c->has_username = true;
	c->has_password = true;
	c->keepalive = 60;
	c->client_id = str_of("client-1");
	c->username = str_of("user");
	c->password = (struct proto_str)STR("p\x00ss");
	c->props.present = conn_bits;
	c->props.session_expiry = 0xFFFFFFFFu;
	c->props.receive_max = 20;
	c->props.max_packet_size = 65536;
	c->props.topic_alias_max = 10;
	c->props.request_response_info = 1;
	c->props.request_problem_info = 0;
	c->props.auth_method = str_of("SCRAM-SHA-1");
	c->props.auth_data = (struct proto_str)STR("\x00n,,n=user");
	c->props.user = conn_users;
	c->props.user_count = 2;
	c->will.qos = 1;
	c->will.retain = true;
	c->will.topic = str_of("clients/c1/status");
	c->will.payload = str_of("offline");
	c->will.props.present = will_bits;
	c->will.props.will_delay = 30;
	c->will.props.payload_format = 1;
	c->will.props.message_expiry = 60;
	c->will.props.content_type = str_of("application/json");
	c->will.props.response_topic = str_of("resp/1");
	c->will.props.correlation_data = (struct proto_str)STR("\x00\x01\xFF");
	c->will.props.user = will_users;
	c->will.props.user_count = 1;

	len = encode_new(&pkt, &buf);
	assert_int_equal(proto_decode(buf, len, 0, 0, &out), PROTO_OK);
	assert_int_equal(out.type, PROTO_CONNECT);
	assert_int_equal(out.version, PROTO_V5);
	assert_true(d->clean_start);
	assert_true(d->will_flag);
	assert_true(d->has_username);
	assert_true(d->has_password);
	assert_int_equal(d->keepalive, 60);
	assert_view(d->client_id, "client-1", 8);
	assert_view(d->username, "user", 4);
	assert_view(d->password, "p\x00ss", 4);

	assert_int_equal(d->props.present, conn_bits | BIT(PROTO_PROP_USER));
	assert_int_equal(d->props.session_expiry, 0xFFFFFFFFu);
	assert_int_equal(d->props.receive_max, 20);
	assert_int_equal(d->props.max_packet_size, 65536);
	assert_int_equal(d->props.topic_alias_max, 10);
	assert_int_equal(d->props.request_response_info, 1);
	assert_int_equal(d->props.request_problem_info, 0);
	assert_view(d->props.auth_method, "SCRAM-SHA-1", 11);
	assert_view(d->props.auth_data, "\x00n,,n=user", 10);
	assert_int_equal(d->props.user_count, 2);
	check_block(d->props.block, PROTO_CONNECT, conn_single,
	    sizeof(conn_single) / sizeof(conn_single[0]), conn_users, 2,
	    NULL, 0);

	assert_int_equal(d->will.qos, 1);
	assert_true(d->will.retain);
	assert_view(d->will.topic, "clients/c1/status", 17);
	assert_view(d->will.payload, "offline", 7);
	assert_int_equal(d->will.props.present,
	    will_bits | BIT(PROTO_PROP_USER));
	assert_int_equal(d->will.props.will_delay, 30);
	assert_int_equal(d->will.props.payload_format, 1);
	assert_int_equal(d->will.props.message_expiry, 60);
	assert_view(d->will.props.content_type, "application/json", 16);
	assert_view(d->will.props.response_topic, "resp/1", 6);
	assert_view(d->will.props.correlation_data, "\x00\x01\xFF", 3);
	assert_int_equal(d->will.props.user_count, 1);
	check_block(d->will.props.block, PROTO_CTX_WILL, will_single,
	    sizeof(will_single) / sizeof(will_single[0]), will_users, 1,
	    NULL, 0);
	free(buf);
}

static const struct proto_pair ack_users[1] = {
	{ STR("node"), STR("starling-1") },
};

static void
connack_properties_round_trip(void **state)
{
	struct proto_packet pkt, out;
	struct proto_props *pr = &pkt.connack.props;
	const struct proto_props *dr = &out.connack.props;
	uint8_t *buf = NULL;
	size_t len;
	const struct want_prop single[] = {
		{ PROTO_PROP_SESSION_EXPIRY, 300, { NULL, 0 } },
		{ PROTO_PROP_RECEIVE_MAX, 100, { NULL, 0 } },
		{ PROTO_PROP_MAX_QOS, 1, { NULL, 0 } },
		{ PROTO_PROP_RETAIN_AVAILABLE, 0, { NULL, 0 } },
		{ PROTO_PROP_MAX_PACKET_SIZE, 1048576, { NULL, 0 } },
		{ PROTO_PROP_ASSIGNED_CLIENT_ID, 0, STR("auto-XYZ") },
		{ PROTO_PROP_TOPIC_ALIAS_MAX, 16, { NULL, 0 } },
		{ PROTO_PROP_REASON_STRING, 0, STR("welcome") },
		{ PROTO_PROP_WILDCARD_SUB_AVAILABLE, 0, { NULL, 0 } },
		{ PROTO_PROP_SUB_ID_AVAILABLE, 1, { NULL, 0 } },
		{ PROTO_PROP_SHARED_SUB_AVAILABLE, 0, { NULL, 0 } },
		{ PROTO_PROP_SERVER_KEEP_ALIVE, 120, { NULL, 0 } },
		{ PROTO_PROP_RESPONSE_INFO, 0, STR("resp-base") },
		{ PROTO_PROP_SERVER_REFERENCE, 0, STR("other:1883") },
		{ PROTO_PROP_AUTH_METHOD, 0, STR("M") },
		{ PROTO_PROP_AUTH_DATA, 0, STR("D\x00") },
	};
	uint64_t bits = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		bits |= BIT(single[i].id);
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_CONNACK;
	pkt.version = PROTO_V5;
	pkt.connack.session_present = true;
	pkt.connack.reason = PROTO_RC_SUCCESS;
	pr->present = bits;
	pr->session_expiry = 300;
	pr->receive_max = 100;
	pr->max_qos = 1;
	pr->retain_available = 0;
	pr->max_packet_size = 1048576;
	pr->assigned_client_id = str_of("auto-XYZ");
	pr->topic_alias_max = 16;
	pr->reason_string = str_of("welcome");
	pr->wildcard_sub_available = 0;
	pr->sub_id_available = 1;
	pr->shared_sub_available = 0;
	pr->server_keep_alive = 120;
	pr->response_info = str_of("resp-base");
	pr->server_reference = str_of("other:1883");
	pr->auth_method = str_of("M");
	pr->auth_data = (struct proto_str)STR("D\x00");
	pr->user = ack_users;
	pr->user_count = 1;

	len = encode_new(&pkt, &buf);
	assert_int_equal(proto_decode(buf, len, PROTO_V5, 0, &out), PROTO_OK);
	assert_int_equal(out.type, PROTO_CONNACK);
	assert_true(out.connack.session_present);
	assert_int_equal(out.connack.reason, 0);
	assert_int_equal(dr->present, bits | BIT(PROTO_PROP_USER));
	assert_int_equal(dr->session_expiry, 300);
	assert_int_equal(dr->receive_max, 100);
	assert_int_equal(dr->max_qos, 1);
	assert_int_equal(dr->retain_available, 0);
	assert_int_equal(dr->max_packet_size, 1048576);
	assert_view(dr->assigned_client_id, "auto-XYZ", 8);
	assert_int_equal(dr->topic_alias_max, 16);
	assert_view(dr->reason_string, "welcome", 7);
	assert_int_equal(dr->wildcard_sub_available, 0);
	assert_int_equal(dr->sub_id_available, 1);
	assert_int_equal(dr->shared_sub_available, 0);
	assert_int_equal(dr->server_keep_alive, 120);
	assert_view(dr->response_info, "resp-base", 9);
	assert_view(dr->server_reference, "other:1883", 10);
	assert_view(dr->auth_method, "M", 1);
	assert_view(dr->auth_data, "D\x00", 2);
	assert_int_equal(dr->user_count, 1);
	check_block(dr->block, PROTO_CONNACK, single,
	    sizeof(single) / sizeof(single[0]), ack_users, 1, NULL, 0);
	free(buf);
}

/* Encodes pkt into a new buffer *buf and decodes it back as v5 into *out,
 * whose views borrow *buf; the caller frees *buf. */
static void
round_trip(const struct proto_packet *pkt, struct proto_packet *out,
    uint8_t **buf)
{
	size_t len = encode_new(pkt, buf);

	assert_int_equal(proto_decode(*buf, len, PROTO_V5, 0, out), PROTO_OK);
	assert_int_equal(out->type, pkt->type);
}

static void
ack_disconnect_and_auth_properties_round_trip(void **state)
{
	static const uint8_t ack_types[] = { PROTO_PUBACK, PROTO_PUBREC,
		PROTO_PUBREL, PROTO_PUBCOMP };
	const struct want_prop rs[] = {
		{ PROTO_PROP_REASON_STRING, 0, STR("why not") },
	};
	const struct want_prop disc[] = {
		{ PROTO_PROP_SESSION_EXPIRY, 0, { NULL, 0 } },
		{ PROTO_PROP_REASON_STRING, 0, STR("moving") },
		{ PROTO_PROP_SERVER_REFERENCE, 0, STR("b.example:1883") },
	};
	const struct want_prop auth[] = {
		{ PROTO_PROP_AUTH_METHOD, 0, STR("SCRAM-SHA-256") },
		{ PROTO_PROP_AUTH_DATA, 0, STR("r=\x00" "abc") },
		{ PROTO_PROP_REASON_STRING, 0, STR("step 2") },
	};
	struct proto_packet pkt, out;
	uint8_t *buf = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(ack_types); i++) {
		memset(&pkt, 0, sizeof(pkt));
		pkt.type = ack_types[i];
		pkt.version = PROTO_V5;
		pkt.ack.packet_id = 77;
		pkt.ack.reason = ack_types[i] == PROTO_PUBREL ||
		        ack_types[i] == PROTO_PUBCOMP
		    ? PROTO_RC_PACKET_ID_NOT_FOUND
		    : PROTO_RC_QUOTA_EXCEEDED;
		pkt.ack.props.present = BIT(PROTO_PROP_REASON_STRING);
		pkt.ack.props.reason_string = str_of("why not");
		pkt.ack.props.user = ack_users;
		pkt.ack.props.user_count = 1;
		round_trip(&pkt, &out, &buf);
		assert_int_equal(out.ack.packet_id, 77);
		assert_int_equal(out.ack.reason, pkt.ack.reason);
		assert_int_equal(out.ack.props.present,
		    BIT(PROTO_PROP_REASON_STRING) | BIT(PROTO_PROP_USER));
		assert_view(out.ack.props.reason_string, "why not", 7);
		check_block(out.ack.props.block, ack_types[i], rs, 1,
		    ack_users, 1, NULL, 0);
		free(buf);
		buf = NULL;
	}

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_DISCONNECT;
	pkt.version = PROTO_V5;
	pkt.disconnect.reason = PROTO_RC_SERVER_MOVED;
	pkt.disconnect.props.present = BIT(PROTO_PROP_SESSION_EXPIRY) |
	    BIT(PROTO_PROP_REASON_STRING) | BIT(PROTO_PROP_SERVER_REFERENCE);
	pkt.disconnect.props.session_expiry = 0;
	pkt.disconnect.props.reason_string = str_of("moving");
	pkt.disconnect.props.server_reference = str_of("b.example:1883");
	round_trip(&pkt, &out, &buf);
	assert_int_equal(out.disconnect.reason, PROTO_RC_SERVER_MOVED);
	assert_int_equal(out.disconnect.props.present,
	    pkt.disconnect.props.present);
	assert_int_equal(out.disconnect.props.session_expiry, 0);
	check_block(out.disconnect.props.block, PROTO_DISCONNECT, disc, 3,
	    NULL, 0, NULL, 0);
	free(buf);
	buf = NULL;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = PROTO_AUTH;
	pkt.version = PROTO_V5;
	pkt.disconnect.reason = PROTO_RC_CONTINUE_AUTH;
	pkt.disconnect.props.present = BIT(PROTO_PROP_AUTH_METHOD) |
	    BIT(PROTO_PROP_AUTH_DATA) | BIT(PROTO_PROP_REASON_STRING);
	pkt.disconnect.props.auth_method = str_of("SCRAM-SHA-256");
	pkt.disconnect.props.auth_data = (struct proto_str)STR("r=\x00" "abc");
	pkt.disconnect.props.reason_string = str_of("step 2");
	round_trip(&pkt, &out, &buf);
	assert_int_equal(out.disconnect.reason, PROTO_RC_CONTINUE_AUTH);
	assert_int_equal(out.disconnect.props.present,
	    pkt.disconnect.props.present);
	check_block(out.disconnect.props.block, PROTO_AUTH, auth, 3, NULL, 0,
	    NULL, 0);
	free(buf);
}

static void
iterator_stops_on_empty_and_truncated_blocks(void **state)
{
	static const uint8_t u32_cut[] = { 0x02, 0x00, 0x00 };
	static const uint8_t pair_cut[] = { 0x26, 0x00, 0x05, 'a' };
	static const uint8_t varint_cut[] = { 0x0B, 0x80 };
	static const uint8_t str_cut[] = { 0x03, 0x00 };
	const struct proto_str blocks[] = {
		{ NULL, 0 },
		{ u32_cut, sizeof(u32_cut) },
		{ pair_cut, sizeof(pair_cut) },
		{ varint_cut, sizeof(varint_cut) },
		{ str_cut, sizeof(str_cut) },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		struct proto_prop_iter it;
		struct proto_prop p;

		proto_prop_iter_init(&it, blocks[i]);
		assert_false(proto_prop_next(&it, &p));
	}
}

static void
iterator_reads_hand_written_block(void **state)
{
	/* Block bytes written out by hand from section 2.2.2.2. */
	static const uint8_t blk[] = {
		0x01, 0x01,                   /* Payload Format 1 */
		0x02, 0x00, 0x01, 0x51, 0x80, /* Message Expiry 86400 */
		0x0B, 0x80, 0x01,             /* Subscription Id 128 */
		0x26, 0x00, 0x01, 'k', 0x00, 0x00, /* User k="" */
	};
	struct proto_str b = { blk, sizeof(blk) };
	struct proto_prop_iter it;
	struct proto_prop p;
	(void)state;

	proto_prop_iter_init(&it, b);
	assert_true(proto_prop_next(&it, &p));
	assert_int_equal(p.id, PROTO_PROP_PAYLOAD_FORMAT);
	assert_int_equal(p.num, 1);
	assert_true(proto_prop_next(&it, &p));
	assert_int_equal(p.id, PROTO_PROP_MESSAGE_EXPIRY);
	assert_int_equal(p.num, 86400);
	assert_true(proto_prop_next(&it, &p));
	assert_int_equal(p.id, PROTO_PROP_SUB_ID);
	assert_int_equal(p.num, 128);
	assert_true(proto_prop_next(&it, &p));
	assert_int_equal(p.id, PROTO_PROP_USER);
	assert_view(p.str, "k", 1);
	assert_int_equal(p.val.len, 0);
	assert_false(proto_prop_next(&it, &p));
}

/* ---- property checks in the decoder -------------------------------- */

/* Writes a v5 QoS 0 PUBLISH to topic "a" with property block
 * props[0..plen) and payload "hi"; returns its length (under 128). */
static size_t
build_publish(const uint8_t *props, size_t plen, uint8_t *out)
{
	size_t rl = 3 + 1 + plen + 2;
	size_t n = 0;

	assert_true(plen < 128 && rl < 128);
	out[n++] = 0x30;
	out[n++] = (uint8_t)rl;
	out[n++] = 0x00;
	out[n++] = 0x01;
	out[n++] = 'a';
	out[n++] = (uint8_t)plen;
	memcpy(out + n, props, plen);
	n += plen;
	out[n++] = 'h';
	out[n++] = 'i';
	return n;
}

static int
decode_publish_props(const uint8_t *props, size_t plen)
{
	uint8_t buf[160];
	struct proto_packet out;
	size_t n = build_publish(props, plen, buf);

	return proto_decode(buf, n, PROTO_V5, 0, &out);
}

/* Writes a v5 CONNACK (accepted) with property block props[0..plen). */
static size_t
build_connack(const uint8_t *props, size_t plen, uint8_t *out)
{
	size_t n = 0;

	assert_true(plen < 120);
	out[n++] = 0x20;
	out[n++] = (uint8_t)(3 + plen);
	out[n++] = 0x00;
	out[n++] = 0x00;
	out[n++] = (uint8_t)plen;
	memcpy(out + n, props, plen);
	return n + plen;
}

static int
decode_connack_props(const uint8_t *props, size_t plen)
{
	uint8_t buf[160];
	struct proto_packet out;
	size_t n = build_connack(props, plen, buf);

	return proto_decode(buf, n, PROTO_V5, 0, &out);
}

/* Writes a v5 CONNECT, client id "c", with property block props; if wprops
 * is not NULL, also a will (QoS 0, topic "t", payload "x") with will
 * property block wprops[0..wlen). */
static size_t
build_connect(const uint8_t *props, size_t plen, const uint8_t *wprops,
    size_t wlen, uint8_t *out)
{
	static const uint8_t head[] = { 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05 };
	size_t n = 2;

	assert_true(plen < 64 && wlen < 64);
	memcpy(out + n, head, sizeof(head));
	n += sizeof(head);
	out[n++] = wprops != NULL ? 0x06 : 0x02;
	out[n++] = 0x00;
	out[n++] = 0x3C;
	out[n++] = (uint8_t)plen;
	if (plen > 0) {
		memcpy(out + n, props, plen);
	}
	n += plen;
	out[n++] = 0x00;
	out[n++] = 0x01;
	out[n++] = 'c';
	if (wprops != NULL) {
		out[n++] = (uint8_t)wlen;
		if (wlen > 0) {
			memcpy(out + n, wprops, wlen);
		}
		n += wlen;
		out[n++] = 0x00;
		out[n++] = 0x01;
		out[n++] = 't';
		out[n++] = 0x00;
		out[n++] = 0x01;
		out[n++] = 'x';
	}
	out[0] = 0x10;
	out[1] = (uint8_t)(n - 2);
	return n;
}

static void
hand_built_publish_properties_decode(void **state)
{
	static const uint8_t p[] = {
		0x01, 0x00,                         /* Payload Format 0 */
		0x23, 0x00, 0x05,                   /* Topic Alias 5 */
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* User */
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'w', /* User again */
		0x0B, 0x02, 0x0B, 0x03,             /* two Sub Ids */
	};
	uint8_t buf[160];
	struct proto_packet out;
	size_t n = build_publish(p, sizeof(p), buf);
	(void)state;

	assert_int_equal(proto_decode(buf, n, PROTO_V5, 0, &out), PROTO_OK);
	assert_int_equal(out.publish.props.present,
	    BIT(PROTO_PROP_PAYLOAD_FORMAT) | BIT(PROTO_PROP_TOPIC_ALIAS) |
	        BIT(PROTO_PROP_USER) | BIT(PROTO_PROP_SUB_ID));
	assert_int_equal(out.publish.props.payload_format, 0);
	assert_int_equal(out.publish.props.topic_alias, 5);
	assert_int_equal(out.publish.props.user_count, 2);
	assert_int_equal(out.publish.props.sub_id_count, 2);
	assert_int_equal(out.publish.props.sub_id, 2);
	assert_view(out.publish.props.block, p, sizeof(p));
	assert_view(out.publish.payload, "hi", 2);
}

static void
repeated_once_only_property_is_rejected(void **state)
{
	static const uint8_t pf[] = { 0x01, 0x01, 0x01, 0x01 };
	static const uint8_t me[] = { 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2 };
	static const uint8_t ta[] = { 0x23, 0, 1, 0x23, 0, 2 };
	static const uint8_t ct[] = { 0x03, 0, 1, 'a', 0x26, 0, 0, 0, 0,
		0x03, 0, 1, 'b' };
	static const uint8_t mq[] = { 0x24, 0x01, 0x24, 0x01 };
	(void)state;
	assert_int_equal(decode_publish_props(pf, sizeof(pf)), PROTO_EPROPDUP);
	assert_int_equal(decode_publish_props(me, sizeof(me)), PROTO_EPROPDUP);
	assert_int_equal(decode_publish_props(ta, sizeof(ta)), PROTO_EPROPDUP);
	assert_int_equal(decode_publish_props(ct, sizeof(ct)), PROTO_EPROPDUP);
	assert_int_equal(decode_connack_props(mq, sizeof(mq)), PROTO_EPROPDUP);
}

static void
property_in_the_wrong_packet_is_rejected(void **state)
{
	static const uint8_t se[] = { 0x11, 0, 0, 0, 5 };
	static const uint8_t wd[] = { 0x18, 0, 0, 0, 5 };
	static const uint8_t rs[] = { 0x1F, 0, 1, 'x' };
	static const uint8_t ta[] = { 0x23, 0, 1 };
	static const uint8_t si[] = { 0x0B, 0x01 };
	(void)state;
	assert_int_equal(decode_publish_props(se, sizeof(se)), PROTO_EPROPID);
	assert_int_equal(decode_publish_props(wd, sizeof(wd)), PROTO_EPROPID);
	assert_int_equal(decode_publish_props(rs, sizeof(rs)), PROTO_EPROPID);
	assert_int_equal(decode_connack_props(ta, sizeof(ta)), PROTO_EPROPID);
	assert_int_equal(decode_connack_props(si, sizeof(si)), PROTO_EPROPID);
}

static void
unknown_property_id_is_rejected(void **state)
{
	static const uint8_t z[] = { 0x00, 0x01 };
	static const uint8_t four[] = { 0x04, 0x01 };
	static const uint8_t x2b[] = { 0x2B, 0x01 };
	(void)state;
	assert_int_equal(decode_publish_props(z, sizeof(z)), PROTO_EPROPID);
	assert_int_equal(decode_publish_props(four, sizeof(four)),
	    PROTO_EPROPID);
	assert_int_equal(decode_connack_props(x2b, sizeof(x2b)),
	    PROTO_EPROPID);
}

static void
will_properties_are_checked_in_their_own_context(void **state)
{
	static const uint8_t wd[] = { 0x18, 0, 0, 0, 5 };
	static const uint8_t se[] = { 0x11, 0, 0, 0, 5 };
	uint8_t buf[160];
	struct proto_packet out;
	size_t n;
	(void)state;

	/* Will Delay Interval belongs in the will, not in CONNECT. */
	n = build_connect(wd, sizeof(wd), NULL, 0, buf);
	assert_int_equal(proto_decode(buf, n, 0, 0, &out), PROTO_EPROPID);
	n = build_connect(NULL, 0, wd, sizeof(wd), buf);
	assert_int_equal(proto_decode(buf, n, 0, 0, &out), PROTO_OK);
	assert_true(out.connect.will_flag);
	assert_int_equal(out.connect.will.props.present,
	    BIT(PROTO_PROP_WILL_DELAY));
	assert_int_equal(out.connect.will.props.will_delay, 5);
	assert_int_equal(out.connect.props.present, 0);

	/* Session Expiry belongs in CONNECT, not in the will. */
	n = build_connect(se, sizeof(se), NULL, 0, buf);
	assert_int_equal(proto_decode(buf, n, 0, 0, &out), PROTO_OK);
	assert_int_equal(out.connect.props.session_expiry, 5);
	n = build_connect(NULL, 0, se, sizeof(se), buf);
	assert_int_equal(proto_decode(buf, n, 0, 0, &out), PROTO_EPROPID);
}

static void
topic_alias_zero_is_rejected(void **state)
{
	/* MQTT 5.0 3.3.2.3.4: a Topic Alias of 0 is not permitted. */
	static const uint8_t ta0[] = { 0x23, 0x00, 0x00 };
	(void)state;
	assert_int_equal(decode_publish_props(ta0, sizeof(ta0)), PROTO_EALIAS);
}

static void
out_of_range_property_values_are_rejected(void **state)
{
	/* MQTT 5.0 3.3.2.3.8: Subscription Identifier 0 is a Protocol
	 * Error; 3.2.2.3.3 Receive Maximum 0; 3.2.2.3.4 Maximum QoS other
	 * than 0 or 1; 3.2.2.3.5 Retain Available other than 0 or 1;
	 * 3.2.2.3.6 Maximum Packet Size 0; 3.2.2.3.11 Wildcard
	 * Subscription Available other than 0 or 1; 3.1.2.11.7 Request
	 * Problem Information other than 0 or 1. */
	static const uint8_t sid0[] = { 0x0B, 0x00 };
	static const uint8_t rm0[] = { 0x21, 0x00, 0x00 };
	static const uint8_t mq2[] = { 0x24, 0x02 };
	static const uint8_t ra2[] = { 0x25, 0x02 };
	static const uint8_t mps0[] = { 0x27, 0, 0, 0, 0 };
	static const uint8_t wsa2[] = { 0x28, 0x02 };
	static const uint8_t rpi2[] = { 0x17, 0x02 };
	uint8_t buf[160];
	struct proto_packet out;
	size_t n;
	(void)state;

	assert_int_equal(decode_publish_props(sid0, sizeof(sid0)),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_connack_props(rm0, sizeof(rm0)),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_connack_props(mq2, sizeof(mq2)),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_connack_props(ra2, sizeof(ra2)),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_connack_props(mps0, sizeof(mps0)),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_connack_props(wsa2, sizeof(wsa2)),
	    PROTO_EPROPVAL);
	n = build_connect(rpi2, sizeof(rpi2), NULL, 0, buf);
	assert_int_equal(proto_decode(buf, n, 0, 0, &out), PROTO_EPROPVAL);
}

static void
property_block_longer_than_packet_is_rejected(void **state)
{
	/* Property Length 16 with one byte left in the packet. */
	static const uint8_t pkt[] = { 0x30, 0x05, 0x00, 0x01, 'a', 0x10,
		0x01 };
	struct proto_packet out;
	(void)state;
	assert_int_equal(proto_decode(pkt, sizeof(pkt), PROTO_V5, 0, &out),
	    PROTO_ESHORT);
}

/* Writes a v5 SUBSCRIBE (packet id 10, one filter "a" at QoS 0) with
 * property block props[0..plen). */
static size_t
build_subscribe(const uint8_t *props, size_t plen, uint8_t *out)
{
	size_t n = 0;

	assert_true(plen < 100);
	out[n++] = 0x82;
	out[n++] = (uint8_t)(2 + 1 + plen + 4);
	out[n++] = 0x00;
	out[n++] = 0x0A;
	out[n++] = (uint8_t)plen;
	memcpy(out + n, props, plen);
	n += plen;
	out[n++] = 0x00;
	out[n++] = 0x01;
	out[n++] = 'a';
	out[n++] = 0x00;
	return n;
}

static void
subscription_identifier_is_once_only_in_subscribe(void **state)
{
	/* MQTT 5.0 3.8.2.1.2: more than one Subscription Identifier in
	 * SUBSCRIBE is a Protocol Error; PUBLISH may carry several
	 * (3.3.2.3.8). */
	static const uint8_t one[] = { 0x0B, 0xFF, 0xFF, 0xFF, 0x7F };
	static const uint8_t two[] = { 0x0B, 0x05, 0x0B, 0x06 };
	static const uint8_t zero[] = { 0x0B, 0x00 };
	uint8_t buf[128];
	struct proto_packet out;
	size_t n;
	(void)state;

	n = build_subscribe(one, sizeof(one), buf);
	assert_int_equal(proto_decode(buf, n, PROTO_V5, 0, &out), PROTO_OK);
	assert_int_equal(out.subscribe.props.present, BIT(PROTO_PROP_SUB_ID));
	assert_int_equal(out.subscribe.props.sub_id, PROTO_MAX_SUB_ID);
	assert_int_equal(out.subscribe.props.sub_id_count, 1);

	n = build_subscribe(two, sizeof(two), buf);
	assert_int_equal(proto_decode(buf, n, PROTO_V5, 0, &out),
	    PROTO_EPROPDUP);
	n = build_subscribe(zero, sizeof(zero), buf);
	assert_int_equal(proto_decode(buf, n, PROTO_V5, 0, &out),
	    PROTO_EPROPVAL);
	assert_int_equal(decode_publish_props(two, sizeof(two)), PROTO_OK);
}

/* ---- proto_props_filter ------------------------------------------- */

static const uint8_t filter_in[] = {
	0x01, 0x01,                               /* Payload Format 1 */
	0x02, 0x00, 0x00, 0x0E, 0x10,             /* Message Expiry 3600 */
	0x23, 0x00, 0x07,                         /* Topic Alias 7 */
	0x03, 0x00, 0x02, 't', 'p',               /* Content Type "tp" */
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',   /* User k=v */
	0x08, 0x00, 0x01, 'r',                    /* Response Topic "r" */
	0x0B, 0x80, 0x01,                         /* Subscription Id 128 */
	0x09, 0x00, 0x02, 0x00, 0xFF,             /* Correlation Data */
};

/* filter_in without Message Expiry and Topic Alias. */
static const uint8_t filter_out[] = {
	0x01, 0x01,
	0x03, 0x00, 0x02, 't', 'p',
	0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
	0x08, 0x00, 0x01, 'r',
	0x0B, 0x80, 0x01,
	0x09, 0x00, 0x02, 0x00, 0xFF,
};

#define DROP_FWD (BIT(PROTO_PROP_TOPIC_ALIAS) | BIT(PROTO_PROP_MESSAGE_EXPIRY))

/* Decodes a PUBLISH carrying filter_in and returns its (validated) block,
 * a view into buf. */
static struct proto_str
validated_block(uint8_t *buf)
{
	struct proto_packet out;
	size_t n = build_publish(filter_in, sizeof(filter_in), buf);

	assert_int_equal(proto_decode(buf, n, PROTO_V5, 0, &out), PROTO_OK);
	assert_view(out.publish.props.block, filter_in, sizeof(filter_in));
	return out.publish.props.block;
}

static void
filter_drops_alias_and_expiry_keeps_the_rest(void **state)
{
	uint8_t buf[160];
	uint8_t out[64];
	struct proto_str blk = validated_block(buf);
	size_t n;
	(void)state;

	memset(out, 0xEE, sizeof(out));
	n = proto_props_filter(blk, DROP_FWD, out, sizeof(out));
	assert_int_equal(n, sizeof(filter_out));
	assert_memory_equal(out, filter_out, sizeof(filter_out));
	for (size_t i = n; i < sizeof(out); i++) {
		assert_int_equal(out[i], 0xEE);
	}
}

static void
filter_output_is_a_walkable_block(void **state)
{
	uint8_t buf[160];
	uint8_t out[64];
	struct proto_str blk = validated_block(buf);
	struct proto_prop_iter it;
	struct proto_prop p;
	static const uint8_t ids[] = { PROTO_PROP_PAYLOAD_FORMAT,
		PROTO_PROP_CONTENT_TYPE, PROTO_PROP_USER,
		PROTO_PROP_RESPONSE_TOPIC, PROTO_PROP_SUB_ID,
		PROTO_PROP_CORRELATION_DATA };
	size_t n, k = 0;
	(void)state;

	n = proto_props_filter(blk, DROP_FWD, out, sizeof(out));
	assert_int_equal(n, sizeof(filter_out));
	proto_prop_iter_init(&it, (struct proto_str){ out, (uint32_t)n });
	while (proto_prop_next(&it, &p)) {
		assert_true(k < sizeof(ids));
		assert_int_equal(p.id, ids[k]);
		k++;
	}
	assert_int_equal(k, sizeof(ids));
}

static void
filter_with_exact_capacity_writes_everything(void **state)
{
	uint8_t buf[160];
	uint8_t out[sizeof(filter_out) + 4];
	struct proto_str blk = validated_block(buf);
	(void)state;

	memset(out, 0xEE, sizeof(out));
	assert_int_equal(proto_props_filter(blk, DROP_FWD, out,
	                     sizeof(filter_out)),
	    sizeof(filter_out));
	assert_memory_equal(out, filter_out, sizeof(filter_out));
	for (size_t i = sizeof(filter_out); i < sizeof(out); i++) {
		assert_int_equal(out[i], 0xEE);
	}
}

static void
filter_reports_size_and_stays_within_small_cap(void **state)
{
	uint8_t buf[160];
	uint8_t out[64];
	struct proto_str blk = validated_block(buf);
	static const size_t caps[] = { 0, 1, 2, 5, 10,
		sizeof(filter_out) - 1 };
	(void)state;

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		memset(out, 0xEE, sizeof(out));
		assert_int_equal(proto_props_filter(blk, DROP_FWD, out,
		                     caps[c]),
		    sizeof(filter_out));
		for (size_t i = caps[c]; i < sizeof(out); i++) {
			if (out[i] != 0xEE) {
				fail_msg("cap %zu: byte %zu written", caps[c],
				    i);
			}
		}
	}
}

static void
filter_without_drops_copies_the_block(void **state)
{
	uint8_t buf[160];
	uint8_t out[64];
	struct proto_str blk = validated_block(buf);
	(void)state;

	assert_int_equal(proto_props_filter(blk, 0, out, sizeof(out)),
	    sizeof(filter_in));
	assert_memory_equal(out, filter_in, sizeof(filter_in));
	/* Dropping ids that are not in the block changes nothing. */
	assert_int_equal(proto_props_filter(blk,
	                     BIT(PROTO_PROP_SESSION_EXPIRY) |
	                         BIT(PROTO_PROP_REASON_STRING),
	                     out, sizeof(out)),
	    sizeof(filter_in));
	assert_memory_equal(out, filter_in, sizeof(filter_in));
}

static void
filter_drops_multi_valued_properties(void **state)
{
	static const uint8_t want[] = {
		0x01, 0x01,
		0x02, 0x00, 0x00, 0x0E, 0x10,
		0x23, 0x00, 0x07,
		0x03, 0x00, 0x02, 't', 'p',
		0x08, 0x00, 0x01, 'r',
		0x09, 0x00, 0x02, 0x00, 0xFF,
	};
	uint8_t buf[160];
	uint8_t out[64];
	struct proto_str blk = validated_block(buf);
	(void)state;

	assert_int_equal(proto_props_filter(blk,
	                     BIT(PROTO_PROP_USER) | BIT(PROTO_PROP_SUB_ID),
	                     out, sizeof(out)),
	    sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
filter_dropping_everything_needs_nothing(void **state)
{
	uint8_t buf[160];
	uint8_t out[8];
	struct proto_str blk = validated_block(buf);
	struct proto_str empty = { NULL, 0 };
	struct proto_prop_iter it;
	struct proto_prop p;
	uint64_t all = 0;
	(void)state;

	/* Collect the ids by walking, so this stays right if the block
	 * above changes. */
	proto_prop_iter_init(&it, blk);
	while (proto_prop_next(&it, &p)) {
		all |= BIT(p.id);
	}
	assert_true(all != 0);
	memset(out, 0xEE, sizeof(out));
	assert_int_equal(proto_props_filter(blk, all, out, sizeof(out)), 0);
	assert_int_equal(out[0], 0xEE);
	assert_int_equal(proto_props_filter(empty, 0, out, sizeof(out)), 0);
}

/* Regression (tests/fuzz/crashes/ubsan-prop-iter-init-null-block): a
 * decoded MQTT 5 PUBREC without properties has block {NULL, 0}; walking
 * it must yield nothing, without pointer arithmetic on NULL (UBSan). */
static void
iterating_a_block_without_pointer_yields_nothing(void **state)
{
	static const uint8_t pubrec[] = { 0x50, 0x02, 0x00, 0x07 };
	struct proto_packet pkt;
	struct proto_prop_iter it;
	struct proto_prop pr;

	(void)state;
	assert_int_equal(proto_decode(pubrec, sizeof(pubrec), PROTO_V5, 0,
			     &pkt),
	    PROTO_OK);
	assert_null(pkt.ack.props.block.ptr);
	assert_int_equal(pkt.ack.props.block.len, 0);
	proto_prop_iter_init(&it, pkt.ack.props.block);
	assert_false(proto_prop_next(&it, &pr));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_property_has_its_table_2_4_name),
		cmocka_unit_test(every_property_has_its_table_2_4_type),
		cmocka_unit_test(
		    every_property_is_allowed_exactly_where_table_2_4_says),
		cmocka_unit_test(will_context_differs_from_connect),
		cmocka_unit_test(pings_allow_no_property),
		cmocka_unit_test(unknown_ids_have_no_name_type_or_place),
		cmocka_unit_test(
		    publish_properties_round_trip_through_encode_and_decode),
		cmocka_unit_test(publish_properties_are_walked_in_order),
		cmocka_unit_test(decoded_publish_re_encodes_to_the_same_bytes),
		cmocka_unit_test(
		    encode_reports_needed_size_when_properties_do_not_fit),
		cmocka_unit_test(connect_and_will_properties_round_trip),
		cmocka_unit_test(connack_properties_round_trip),
		cmocka_unit_test(
		    ack_disconnect_and_auth_properties_round_trip),
		cmocka_unit_test(
		    subscription_identifier_is_once_only_in_subscribe),
		cmocka_unit_test(iterator_stops_on_empty_and_truncated_blocks),
		cmocka_unit_test(iterator_reads_hand_written_block),
		cmocka_unit_test(hand_built_publish_properties_decode),
		cmocka_unit_test(repeated_once_only_property_is_rejected),
		cmocka_unit_test(property_in_the_wrong_packet_is_rejected),
		cmocka_unit_test(unknown_property_id_is_rejected),
		cmocka_unit_test(
		    will_properties_are_checked_in_their_own_context),
		cmocka_unit_test(topic_alias_zero_is_rejected),
		cmocka_unit_test(out_of_range_property_values_are_rejected),
		cmocka_unit_test(
		    property_block_longer_than_packet_is_rejected),
		cmocka_unit_test(
		    filter_drops_alias_and_expiry_keeps_the_rest),
		cmocka_unit_test(filter_output_is_a_walkable_block),
		cmocka_unit_test(filter_with_exact_capacity_writes_everything),
		cmocka_unit_test(
		    filter_reports_size_and_stays_within_small_cap),
		cmocka_unit_test(filter_without_drops_copies_the_block),
		cmocka_unit_test(filter_drops_multi_valued_properties),
		cmocka_unit_test(filter_dropping_everything_needs_nothing),
		cmocka_unit_test(
		    iterating_a_block_without_pointer_yields_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
