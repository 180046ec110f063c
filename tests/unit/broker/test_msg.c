/*
 * test_msg.c - unit tests for broker/msg.c: broker_msg_new() copies its
 * inputs into one allocation, reference counting, and
 * broker_msg_from_publish(), which keeps the forwardable properties of a
 * PUBLISH in the shared block, drops the per-delivery ones (Topic Alias,
 * Subscription Identifier, Message Expiry) and those asked for in `drop`,
 * and turns Message Expiry into an absolute deadline.
 *
 * PUBLISH packets are built with proto_encode() and read back with
 * proto_decode(), as the broker gets them.  Every message made here is
 * released, so LeakSanitizer also checks that the last unref frees it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "broker/internal.h"

#define STR(s) { (const uint8_t *)(s), sizeof(s) - 1 }
#define U8(s) ((const uint8_t *)(s))

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

/* Encodes pkt and decodes it back into *out, whose views borrow buf. */
static void
roundtrip(const struct proto_packet *pkt, uint8_t *buf, size_t cap,
    struct proto_packet *out)
{
	size_t len = 0;

	assert_int_equal(proto_encode(pkt, buf, cap, &len), 0);
	assert_int_equal(proto_decode(buf, len, pkt->version, 0, out), 0);
	assert_int_equal(out->type, PROTO_PUBLISH);
}

/* The properties every from_publish test starts with: all the PUBLISH
 * properties there are, two of them multi-valued. */
static const struct proto_pair user_props[] = {
	{ STR("k"), STR("v") },
	{ STR("k2"), STR("v2") },
};
static const uint32_t sub_ids[] = { 7, 300 };

static struct proto_packet
full_publish(void)
{
	struct proto_packet pkt = {
		.type = PROTO_PUBLISH,
		.version = PROTO_V5,
		.publish = {
			.qos = 1,
			.retain = true,
			.packet_id = 42,
			.topic = STR("wire/topic"),
			.payload = STR("payload!"),
		},
	};
	struct proto_props *p = &pkt.publish.props;

	p->present = PROTO_PROP_BIT(PROTO_PROP_PAYLOAD_FORMAT) |
	    PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY) |
	    PROTO_PROP_BIT(PROTO_PROP_CONTENT_TYPE) |
	    PROTO_PROP_BIT(PROTO_PROP_RESPONSE_TOPIC) |
	    PROTO_PROP_BIT(PROTO_PROP_CORRELATION_DATA) |
	    PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS) |
	    PROTO_PROP_BIT(PROTO_PROP_SUB_ID);
	p->payload_format = 1;
	p->message_expiry = 30;
	p->content_type = (struct proto_str)STR("text/plain");
	p->response_topic = (struct proto_str)STR("reply");
	p->correlation_data = (struct proto_str)STR("\x01\x02\x03");
	p->topic_alias = 5;
	p->user = user_props;
	p->user_count = 2;
	p->sub_ids = sub_ids;
	p->sub_id_count = 2;
	return pkt;
}

/* The wire form of the properties of full_publish() that are forwarded,
 * in the order the encoder writes them. */
static const uint8_t kept_format[] = { 0x01, 0x01 };
static const uint8_t kept_ctype[] = { 0x03, 0x00, 0x0A, 't', 'e', 'x', 't',
	'/', 'p', 'l', 'a', 'i', 'n' };
static const uint8_t kept_resp[] = { 0x08, 0x00, 0x05, 'r', 'e', 'p', 'l',
	'y' };
static const uint8_t kept_corr[] = { 0x09, 0x00, 0x03, 0x01, 0x02, 0x03 };
static const uint8_t kept_user[] = { 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
	0x26, 0x00, 0x02, 'k', '2', 0x00, 0x02, 'v', '2' };

/* Appends part to buf at *len. */
static void
append(uint8_t *buf, size_t *len, const uint8_t *part, size_t n)
{
	memcpy(buf + *len, part, n);
	*len += n;
}

/* The ids of the properties of block, in order, as a 0-terminated list. */
static void
prop_ids(const uint8_t *block, size_t len, uint8_t *ids, size_t cap)
{
	struct proto_str b = { block, (uint32_t)len };
	struct proto_prop_iter it;
	struct proto_prop pr;
	size_t n = 0;

	proto_prop_iter_init(&it, b);
	while (proto_prop_next(&it, &pr)) {
		assert_true(n + 1 < cap);
		ids[n++] = pr.id;
	}
	assert_ptr_equal(it.p, block + len); /* the whole block parsed */
	ids[n] = 0;
}

/* ------------------------------------------------------------------ */
/* broker_msg_new                                                       */

static void
msg_new_copies_topic_payload_and_props(void **state)
{
	uint8_t topic[] = "a/b/c";
	uint8_t payload[] = { 0x00, 0xFF, 0x10, 0x20 };
	uint8_t props[] = { 0x01, 0x01, 0x03, 0x00, 0x01, 'x' };
	struct broker_msg *m;

	(void)state;
	m = broker_msg_new(topic, 5, payload, sizeof(payload), 2, true, props,
	    sizeof(props));
	assert_non_null(m);
	/* The caller's buffers may change or go: the message has copies. */
	memset(topic, 'z', sizeof(topic) - 1);
	memset(payload, 0xAA, sizeof(payload));
	memset(props, 0xBB, sizeof(props));

	assert_int_equal(m->refs, 1);
	assert_int_equal(m->qos, 2);
	assert_true(m->retain);
	assert_false(m->has_expiry);
	assert_int_equal(m->expiry_at, 0);
	assert_null(m->origin);
	assert_int_equal(m->topic_len, 5);
	assert_memory_equal(m->topic, "a/b/c", 6); /* NUL-terminated */
	assert_int_equal(m->payload_len, 4);
	assert_memory_equal(m->payload, "\x00\xFF\x10\x20", 4);
	assert_int_equal(m->props_len, 6);
	assert_memory_equal(m->props, "\x01\x01\x03\x00\x01x", 6);
	broker_msg_unref(m);
}

static void
msg_new_without_props_has_empty_block(void **state)
{
	struct broker_msg *m;

	(void)state;
	m = broker_msg_new(U8("t"), 1, U8("p"), 1, 0, false, NULL, 17);
	assert_non_null(m);
	assert_int_equal(m->props_len, 0);
	assert_int_equal(m->payload_len, 1);
	assert_int_equal(m->payload[0], 'p');
	assert_int_equal(m->qos, 0);
	assert_false(m->retain);
	broker_msg_unref(m);
}

static void
msg_new_with_empty_payload_has_payload_len_0(void **state)
{
	struct broker_msg *m;

	(void)state;
	m = broker_msg_new(U8("will/topic"), 10, NULL, 0, 1, true, NULL, 0);
	assert_non_null(m);
	assert_int_equal(m->payload_len, 0);
	assert_int_equal(m->props_len, 0);
	assert_int_equal(m->topic_len, 10);
	assert_string_equal((const char *)m->topic, "will/topic");
	broker_msg_unref(m);
}

static void
msg_new_accepts_65535_byte_topic_and_refuses_65536(void **state)
{
	uint8_t *topic = malloc(65536);
	struct broker_msg *m;

	(void)state;
	assert_non_null(topic);
	memset(topic, 'x', 65536);
	m = broker_msg_new(topic, 65535, U8("p"), 1, 0, false, NULL, 0);
	assert_non_null(m);
	assert_int_equal(m->topic_len, 65535);
	assert_int_equal(m->topic[65534], 'x');
	assert_int_equal(m->topic[65535], '\0');
	broker_msg_unref(m);

	assert_null(broker_msg_new(topic, 65536, U8("p"), 1, 0, false, NULL,
	    0));
	free(topic);
}

/* ------------------------------------------------------------------ */
/* References                                                           */

static void
msg_ref_and_unref_count_and_unref_null_is_a_no_op(void **state)
{
	struct broker_msg *m;

	(void)state;
	m = broker_msg_new(U8("t"), 1, U8("p"), 1, 0, false, NULL, 0);
	assert_non_null(m);
	assert_ptr_equal(broker_msg_ref(m), m);
	assert_int_equal(m->refs, 2);
	assert_ptr_equal(broker_msg_ref(m), m);
	assert_int_equal(m->refs, 3);
	broker_msg_unref(m);
	assert_int_equal(m->refs, 2);
	broker_msg_unref(NULL); /* a no-op */
	assert_int_equal(m->refs, 2);
	broker_msg_unref(m);
	assert_int_equal(m->refs, 1);
	broker_msg_unref(m); /* the last one frees (LeakSanitizer checks) */
}

/* ------------------------------------------------------------------ */
/* broker_msg_from_publish                                              */

static void
from_publish_drops_per_delivery_props_keeps_rest(void **state)
{
	struct proto_packet pkt = full_publish(), dec;
	uint8_t buf[512], want[128], ids[16];
	size_t wlen = 0;
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	/* The decoded PUBLISH does carry the per-delivery properties. */
	assert_true(proto_props_has(&dec.publish.props,
	    PROTO_PROP_TOPIC_ALIAS));
	assert_true(proto_props_has(&dec.publish.props, PROTO_PROP_SUB_ID));
	assert_true(proto_props_has(&dec.publish.props,
	    PROTO_PROP_MESSAGE_EXPIRY));

	m = broker_msg_from_publish(&dec.publish, U8("wire/topic"), 10, 1000,
	    0);
	assert_non_null(m);
	append(want, &wlen, kept_format, sizeof(kept_format));
	append(want, &wlen, kept_ctype, sizeof(kept_ctype));
	append(want, &wlen, kept_resp, sizeof(kept_resp));
	append(want, &wlen, kept_corr, sizeof(kept_corr));
	append(want, &wlen, kept_user, sizeof(kept_user));
	assert_int_equal(m->props_len, wlen);
	assert_memory_equal(m->props, want, wlen);
	prop_ids(m->props, m->props_len, ids, sizeof(ids));
	assert_string_equal((const char *)ids, "\x01\x03\x08\x09\x26\x26");

	assert_int_equal(m->refs, 1);
	assert_int_equal(m->qos, 1);
	assert_true(m->retain);
	assert_null(m->origin);
	assert_int_equal(m->topic_len, 10);
	assert_string_equal((const char *)m->topic, "wire/topic");
	assert_int_equal(m->payload_len, 8);
	assert_memory_equal(m->payload, "payload!", 8);
	broker_msg_unref(m);
}

static void
from_publish_also_drops_the_props_in_drop(void **state)
{
	struct proto_packet pkt = full_publish(), dec;
	uint8_t buf[512], want[128], ids[16];
	size_t wlen = 0;
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, U8("wire/topic"), 10, 0,
	    PROTO_PROP_BIT(PROTO_PROP_USER) |
		PROTO_PROP_BIT(PROTO_PROP_CONTENT_TYPE));
	assert_non_null(m);
	append(want, &wlen, kept_format, sizeof(kept_format));
	append(want, &wlen, kept_resp, sizeof(kept_resp));
	append(want, &wlen, kept_corr, sizeof(kept_corr));
	assert_int_equal(m->props_len, wlen);
	assert_memory_equal(m->props, want, wlen);
	prop_ids(m->props, m->props_len, ids, sizeof(ids));
	assert_string_equal((const char *)ids, "\x01\x08\x09");
	/* Payload still follows the (shorter) block intact. */
	assert_int_equal(m->payload_len, 8);
	assert_memory_equal(m->payload, "payload!", 8);
	broker_msg_unref(m);
}

static void
from_publish_with_only_per_delivery_props_has_empty_block(void **state)
{
	struct proto_packet pkt = {
		.type = PROTO_PUBLISH,
		.version = PROTO_V5,
		.publish = {
			.qos = 0,
			.topic = STR("t"),
			.payload = STR("x"),
			.props = {
				.present =
				    PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS) |
				    PROTO_PROP_BIT(PROTO_PROP_SUB_ID) |
				    PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY),
				.topic_alias = 1,
				.sub_id = 9,
				.message_expiry = 0,
			},
		},
	}, dec;
	uint8_t buf[128];
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	assert_true(dec.publish.props.block.len > 0);
	m = broker_msg_from_publish(&dec.publish, U8("t"), 1, 5000, 0);
	assert_non_null(m);
	assert_int_equal(m->props_len, 0);
	assert_int_equal(m->payload_len, 1);
	assert_int_equal(m->payload[0], 'x');
	/* Message Expiry 0 is still an expiry: due at once. */
	assert_true(m->has_expiry);
	assert_int_equal(m->expiry_at, 5000);
	broker_msg_unref(m);
}

static void
from_publish_sets_expiry_at_from_message_expiry(void **state)
{
	struct proto_packet pkt = full_publish(), dec;
	uint8_t buf[512];
	struct broker_msg *m;

	(void)state;
	pkt.publish.props.message_expiry = 30;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, U8("wire/topic"), 10,
	    123456, 0);
	assert_non_null(m);
	assert_true(m->has_expiry);
	assert_int_equal(m->expiry_at, 153456);
	broker_msg_unref(m);

	/* The largest interval does not overflow 32 bits. */
	pkt.publish.props.message_expiry = UINT32_MAX;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, U8("wire/topic"), 10, 7, 0);
	assert_non_null(m);
	assert_true(m->has_expiry);
	assert_int_equal(m->expiry_at, UINT64_C(4294967295000) + 7);
	broker_msg_unref(m);
}

static void
from_publish_without_message_expiry_has_no_expiry(void **state)
{
	struct proto_packet pkt = full_publish(), dec;
	uint8_t buf[512];
	struct broker_msg *m;

	(void)state;
	pkt.publish.props.present &=
	    ~PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY);
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, U8("wire/topic"), 10,
	    123456, 0);
	assert_non_null(m);
	assert_false(m->has_expiry);
	assert_int_equal(m->expiry_at, 0);
	broker_msg_unref(m);
}

static void
from_publish_takes_topic_argument_not_packet_topic(void **state)
{
	/* With a Topic Alias the packet's topic may be empty: the caller
	 * passes the topic the alias stands for. */
	struct proto_packet pkt = {
		.type = PROTO_PUBLISH,
		.version = PROTO_V5,
		.publish = {
			.qos = 2,
			.packet_id = 9,
			.topic = { NULL, 0 },
			.payload = STR("data"),
			.props = {
				.present =
				    PROTO_PROP_BIT(PROTO_PROP_TOPIC_ALIAS),
				.topic_alias = 3,
			},
		},
	}, dec;
	uint8_t buf[128];
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	assert_int_equal(dec.publish.topic.len, 0);
	m = broker_msg_from_publish(&dec.publish, U8("aliased/topic"), 13, 0,
	    0);
	assert_non_null(m);
	assert_int_equal(m->topic_len, 13);
	assert_string_equal((const char *)m->topic, "aliased/topic");
	assert_int_equal(m->qos, 2);
	assert_false(m->retain);
	assert_int_equal(m->props_len, 0);
	assert_false(m->has_expiry);
	broker_msg_unref(m);
}

static void
from_publish_v311_copies_payload_and_has_no_props(void **state)
{
	struct proto_packet pkt = {
		.type = PROTO_PUBLISH,
		.version = PROTO_V311,
		.publish = {
			.qos = 1,
			.retain = true,
			.packet_id = 300,
			.topic = STR("/leading/slash/"),
			.payload = STR("21.5"),
		},
	}, dec;
	uint8_t buf[128];
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, dec.publish.topic.ptr,
	    dec.publish.topic.len, 99, 0);
	assert_non_null(m);
	memset(buf, 0, sizeof(buf)); /* the message owns copies */
	assert_int_equal(m->props_len, 0);
	assert_false(m->has_expiry);
	assert_int_equal(m->qos, 1);
	assert_true(m->retain);
	assert_string_equal((const char *)m->topic, "/leading/slash/");
	assert_int_equal(m->payload_len, 4);
	assert_memory_equal(m->payload, "21.5", 4);
	assert_int_equal(m->refs, 1);
	broker_msg_unref(m);
}

static void
from_publish_with_empty_payload_has_payload_len_0(void **state)
{
	struct proto_packet pkt = {
		.type = PROTO_PUBLISH,
		.version = PROTO_V5,
		.publish = {
			.qos = 0,
			.retain = true,
			.topic = STR("r/clear"),
			.payload = { NULL, 0 },
			.props = {
				.present =
				    PROTO_PROP_BIT(PROTO_PROP_PAYLOAD_FORMAT),
				.payload_format = 0,
			},
		},
	}, dec;
	uint8_t buf[128];
	struct broker_msg *m;

	(void)state;
	roundtrip(&pkt, buf, sizeof(buf), &dec);
	m = broker_msg_from_publish(&dec.publish, U8("r/clear"), 7, 0, 0);
	assert_non_null(m);
	assert_int_equal(m->payload_len, 0);
	assert_int_equal(m->props_len, 2);
	assert_memory_equal(m->props, "\x01\x00", 2);
	assert_true(m->retain);
	broker_msg_unref(m);
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(msg_new_copies_topic_payload_and_props),
		T(msg_new_without_props_has_empty_block),
		T(msg_new_with_empty_payload_has_payload_len_0),
		T(msg_new_accepts_65535_byte_topic_and_refuses_65536),
		T(msg_ref_and_unref_count_and_unref_null_is_a_no_op),
		T(from_publish_drops_per_delivery_props_keeps_rest),
		T(from_publish_also_drops_the_props_in_drop),
		T(from_publish_with_only_per_delivery_props_has_empty_block),
		T(from_publish_sets_expiry_at_from_message_expiry),
		T(from_publish_without_message_expiry_has_no_expiry),
		T(from_publish_takes_topic_argument_not_packet_topic),
		T(from_publish_v311_copies_payload_and_has_no_props),
		T(from_publish_with_empty_payload_has_payload_len_0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
