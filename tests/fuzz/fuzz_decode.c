/*
 * fuzz_decode.c - the libFuzzer target for proto/: the one-shot decoder,
 * the incremental reader, the encoder (by round trip) and the topic checks.
 *
 * Input format.  The first byte selects the protocol level (byte % 3 gives
 * 3.1, 3.1.1 or 5) and seeds the chunking; the rest is a byte stream that
 * is used four ways:
 *
 *   1. proto_decode() on the whole of it, as one packet;
 *   2. a proto_reader fed with it in chunks whose sizes come from a small
 *      PRNG seeded by the first byte (one in eight seeds feeds it whole, so
 *      the in-place path is covered too);
 *   3. the topic-name, topic-filter and shared-subscription checks on it;
 *   4. split at its first 0x00 into a filter and a topic, proto_topic_match()
 *      compared against a plain reference matcher written here.
 *
 * Every packet that either decoder accepts is checked for consistency: its
 * iterators are walked and compared with the decoded fields, it is encoded
 * again (proto_encode, proto_encode_iov and a too-small buffer), the
 * encoding is decoded again and must give the same packet, field by field,
 * and must encode to the same bytes.  A packet the reader returns is also
 * decoded with proto_decode() from its place in the stream and must agree.
 * Any disagreement, or a decoded packet that cannot be encoded, calls
 * __builtin_trap() after naming the failed check on stderr.
 *
 * The target owns only what it allocates for one input and frees all of it
 * (LeakSanitizer runs with it).  It keeps no state between inputs and is
 * single-threaded.  tests/fuzz/replay_main.c supplies a main() for builds
 * without libFuzzer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader's packet limit: far above -max_len, so PROTO_ETOOLARGE only
 * comes from remaining lengths that lie about the packet. */
#define FUZZ_MAX_PACKET (64u * 1024u)

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "fuzz_decode: %s:%d: check failed: " \
			    "%s\n", __FILE__, __LINE__, #cond);          \
			__builtin_trap();                                \
		}                                                        \
	} while (0)

/* Allocation failure is not what we are testing; stop loudly. */
static void *
xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL) {
		abort();
	}
	return p;
}

static bool
str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len &&
	    (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool
has_byte(struct proto_str s, uint8_t c)
{
	return s.len > 0 && memchr(s.ptr, c, s.len) != NULL;
}

/* True if the view s lies inside buf[0..len). */
static bool
str_inside(struct proto_str s, const uint8_t *buf, size_t len)
{
	if (s.len == 0) {
		return true;
	}
	return s.ptr >= buf && s.len <= len &&
	    (size_t)(s.ptr - buf) <= len - s.len;
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */

/* Every property that may appear at most once. */
static const uint8_t single_ids[] = {
	PROTO_PROP_PAYLOAD_FORMAT,
	PROTO_PROP_MESSAGE_EXPIRY,
	PROTO_PROP_CONTENT_TYPE,
	PROTO_PROP_RESPONSE_TOPIC,
	PROTO_PROP_CORRELATION_DATA,
	PROTO_PROP_SESSION_EXPIRY,
	PROTO_PROP_ASSIGNED_CLIENT_ID,
	PROTO_PROP_SERVER_KEEP_ALIVE,
	PROTO_PROP_AUTH_METHOD,
	PROTO_PROP_AUTH_DATA,
	PROTO_PROP_REQUEST_PROBLEM_INFO,
	PROTO_PROP_WILL_DELAY,
	PROTO_PROP_REQUEST_RESPONSE_INFO,
	PROTO_PROP_RESPONSE_INFO,
	PROTO_PROP_SERVER_REFERENCE,
	PROTO_PROP_REASON_STRING,
	PROTO_PROP_RECEIVE_MAX,
	PROTO_PROP_TOPIC_ALIAS_MAX,
	PROTO_PROP_TOPIC_ALIAS,
	PROTO_PROP_MAX_QOS,
	PROTO_PROP_RETAIN_AVAILABLE,
	PROTO_PROP_MAX_PACKET_SIZE,
	PROTO_PROP_WILDCARD_SUB_AVAILABLE,
	PROTO_PROP_SUB_ID_AVAILABLE,
	PROTO_PROP_SHARED_SUB_AVAILABLE,
};

/* Stores the decoded value of single-valued property id of p: integers in
 * *num, strings and binary data in *str.  Returns false for the
 * multi-valued properties (User Property, Subscription Identifier) and for
 * unknown ids. */
static bool
prop_value(const struct proto_props *p, uint8_t id, uint32_t *num,
    struct proto_str *str)
{
	*num = 0;
	str->ptr = NULL;
	str->len = 0;
	switch (id) {
	case PROTO_PROP_PAYLOAD_FORMAT:
		*num = p->payload_format;
		return true;
	case PROTO_PROP_MESSAGE_EXPIRY:
		*num = p->message_expiry;
		return true;
	case PROTO_PROP_CONTENT_TYPE:
		*str = p->content_type;
		return true;
	case PROTO_PROP_RESPONSE_TOPIC:
		*str = p->response_topic;
		return true;
	case PROTO_PROP_CORRELATION_DATA:
		*str = p->correlation_data;
		return true;
	case PROTO_PROP_SESSION_EXPIRY:
		*num = p->session_expiry;
		return true;
	case PROTO_PROP_ASSIGNED_CLIENT_ID:
		*str = p->assigned_client_id;
		return true;
	case PROTO_PROP_SERVER_KEEP_ALIVE:
		*num = p->server_keep_alive;
		return true;
	case PROTO_PROP_AUTH_METHOD:
		*str = p->auth_method;
		return true;
	case PROTO_PROP_AUTH_DATA:
		*str = p->auth_data;
		return true;
	case PROTO_PROP_REQUEST_PROBLEM_INFO:
		*num = p->request_problem_info;
		return true;
	case PROTO_PROP_WILL_DELAY:
		*num = p->will_delay;
		return true;
	case PROTO_PROP_REQUEST_RESPONSE_INFO:
		*num = p->request_response_info;
		return true;
	case PROTO_PROP_RESPONSE_INFO:
		*str = p->response_info;
		return true;
	case PROTO_PROP_SERVER_REFERENCE:
		*str = p->server_reference;
		return true;
	case PROTO_PROP_REASON_STRING:
		*str = p->reason_string;
		return true;
	case PROTO_PROP_RECEIVE_MAX:
		*num = p->receive_max;
		return true;
	case PROTO_PROP_TOPIC_ALIAS_MAX:
		*num = p->topic_alias_max;
		return true;
	case PROTO_PROP_TOPIC_ALIAS:
		*num = p->topic_alias;
		return true;
	case PROTO_PROP_MAX_QOS:
		*num = p->max_qos;
		return true;
	case PROTO_PROP_RETAIN_AVAILABLE:
		*num = p->retain_available;
		return true;
	case PROTO_PROP_MAX_PACKET_SIZE:
		*num = p->max_packet_size;
		return true;
	case PROTO_PROP_WILDCARD_SUB_AVAILABLE:
		*num = p->wildcard_sub_available;
		return true;
	case PROTO_PROP_SUB_ID_AVAILABLE:
		*num = p->sub_id_available;
		return true;
	case PROTO_PROP_SHARED_SUB_AVAILABLE:
		*num = p->shared_sub_available;
		return true;
	default:
		return false;
	}
}

/*
 * Walks the block of decoded properties p (of context ctx: a packet type or
 * PROTO_CTX_WILL) with proto_prop_next() and checks it against the decoded
 * fields: every property is known and allowed in ctx, its bit is set, a
 * single-valued one appears once with the value the struct holds, and the
 * counts of user properties and subscription identifiers agree.  Before
 * MQTT 5 there must be no properties at all.
 */
static void
walk_props(const struct proto_props *p, uint8_t ctx, uint8_t version)
{
	struct proto_prop_iter it;
	struct proto_prop prop;
	uint64_t seen = 0;
	uint32_t users = 0, sub_ids = 0;

	if (version != PROTO_V5) {
		CHECK(p->present == 0);
		CHECK(p->block.len == 0);
		return;
	}
	proto_prop_iter_init(&it, p->block);
	while (proto_prop_next(&it, &prop)) {
		uint32_t num;
		struct proto_str str;
		int type = proto_prop_type(prop.id);

		CHECK(type >= PROTO_PT_BYTE && type <= PROTO_PT_PAIR);
		CHECK(proto_prop_name(prop.id) != NULL);
		CHECK(proto_prop_allowed(prop.id, ctx));
		CHECK(proto_props_has(p, prop.id));
		if (prop.id == PROTO_PROP_USER) {
			users++;
		} else if (prop.id == PROTO_PROP_SUB_ID) {
			CHECK(prop.num >= 1 && prop.num <= PROTO_MAX_SUB_ID);
			if (sub_ids == 0) {
				CHECK(prop.num == p->sub_id);
			}
			sub_ids++;
		} else {
			CHECK((seen & PROTO_PROP_BIT(prop.id)) == 0);
			CHECK(prop_value(p, prop.id, &num, &str));
			if (type == PROTO_PT_UTF8 || type == PROTO_PT_BINARY) {
				CHECK(str_eq(str, prop.str));
			} else {
				CHECK(num == prop.num);
			}
		}
		seen |= PROTO_PROP_BIT(prop.id);
	}
	CHECK(it.p == it.end);
	CHECK(seen == p->present);
	CHECK(users == p->user_count);
	CHECK(sub_ids == p->sub_id_count);
}

/* Advances it to the next property with the given id. */
static bool
next_of(struct proto_prop_iter *it, uint8_t id, struct proto_prop *out)
{
	while (proto_prop_next(it, out)) {
		if (out->id == id) {
			return true;
		}
	}
	return false;
}

/* Checks that the blocks of a and b hold the same values of multi-valued
 * property id in the same order. */
static void
compare_multi(const struct proto_props *a, const struct proto_props *b,
    uint8_t id)
{
	struct proto_prop_iter ia, ib;
	struct proto_prop pa, pb;

	proto_prop_iter_init(&ia, a->block);
	proto_prop_iter_init(&ib, b->block);
	for (;;) {
		bool ga = next_of(&ia, id, &pa);
		bool gb = next_of(&ib, id, &pb);

		CHECK(ga == gb);
		if (!ga) {
			break;
		}
		CHECK(pa.num == pb.num);
		CHECK(str_eq(pa.str, pb.str));
		CHECK(str_eq(pa.val, pb.val));
	}
}

/* Checks that two decoded property sets hold the same properties: the same
 * single values, the same user properties in the same order and the same
 * subscription identifiers in the same order.  The encoder writes
 * single-valued properties first, then user properties, then
 * subscription identifiers, so neither the order of single-valued
 * properties nor how the two lists interleave survive a round trip. */
static void
compare_props(const struct proto_props *a, const struct proto_props *b,
    uint8_t version)
{
	size_t i;

	if (version != PROTO_V5) {
		return;
	}
	CHECK(a->present == b->present);
	for (i = 0; i < sizeof(single_ids); i++) {
		uint32_t na, nb;
		struct proto_str sa, sb;

		if (!proto_props_has(a, single_ids[i])) {
			continue;
		}
		(void)prop_value(a, single_ids[i], &na, &sa);
		(void)prop_value(b, single_ids[i], &nb, &sb);
		CHECK(na == nb);
		CHECK(str_eq(sa, sb));
	}
	CHECK(a->user_count == b->user_count);
	CHECK(a->sub_id_count == b->sub_id_count);
	if (proto_props_has(a, PROTO_PROP_SUB_ID)) {
		CHECK(a->sub_id == b->sub_id);
	}
	compare_multi(a, b, PROTO_PROP_USER);
	compare_multi(a, b, PROTO_PROP_SUB_ID);
}

/* Returns the properties of pkt, NULL for types that carry none. */
static const struct proto_props *
packet_props(const struct proto_packet *pkt)
{
	switch (pkt->type) {
	case PROTO_CONNECT:
		return &pkt->connect.props;
	case PROTO_CONNACK:
		return &pkt->connack.props;
	case PROTO_PUBLISH:
		return &pkt->publish.props;
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		return &pkt->ack.props;
	case PROTO_SUBSCRIBE:
		return &pkt->subscribe.props;
	case PROTO_UNSUBSCRIBE:
		return &pkt->unsubscribe.props;
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		return &pkt->suback.props;
	case PROTO_DISCONNECT:
	case PROTO_AUTH:
		return &pkt->disconnect.props;
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */

/*
 * Walks every iterator of a decoded packet and checks what it yields
 * against the rules the decoder promises to have enforced: topic names and
 * filters pass the topic checks, options are in range, counts agree.
 */
static void
walk_packet(const struct proto_packet *pkt)
{
	const struct proto_props *props = packet_props(pkt);
	uint8_t v = pkt->version;
	uint32_t pos, n;

	CHECK(pkt->type >= PROTO_CONNECT && pkt->type <= PROTO_AUTH);
	CHECK(pkt->flags <= 0x0F);
	CHECK(v == PROTO_V31 || v == PROTO_V311 || v == PROTO_V5);
	CHECK(strcmp(proto_type_name(pkt->type), "?") != 0);
	if (props != NULL) {
		walk_props(props, pkt->type, v);
	}
	switch (pkt->type) {
	case PROTO_CONNECT:
		if (pkt->connect.will_flag) {
			CHECK(pkt->connect.will.qos <= 2);
			CHECK(proto_topic_check(pkt->connect.will.topic.ptr,
				  pkt->connect.will.topic.len) == 0);
			walk_props(&pkt->connect.will.props, PROTO_CTX_WILL,
			    v);
		}
		break;
	case PROTO_PUBLISH:
		CHECK(pkt->publish.qos <= 2);
		if (pkt->publish.qos > 0) {
			CHECK(pkt->publish.packet_id != 0);
		}
		/* A Response Topic holds no wildcards [MQTT-3.3.2-14]. */
		if (proto_props_has(&pkt->publish.props,
			PROTO_PROP_RESPONSE_TOPIC)) {
			CHECK(!has_byte(pkt->publish.props.response_topic,
			    '+'));
			CHECK(!has_byte(pkt->publish.props.response_topic,
			    '#'));
		}
		if (pkt->publish.topic.len > 0 || v != PROTO_V5) {
			CHECK(proto_topic_check(pkt->publish.topic.ptr,
				  pkt->publish.topic.len) == 0);
		} else {
			CHECK(proto_props_has(&pkt->publish.props,
			    PROTO_PROP_TOPIC_ALIAS));
		}
		break;
	case PROTO_SUBSCRIBE: {
		struct proto_sub_entry e;

		CHECK(pkt->subscribe.packet_id != 0);
		CHECK(pkt->subscribe.count > 0);
		pos = 0;
		n = 0;
		/* Filter syntax is checked per entry by the broker, which
		 * answers a bad one in SUBACK; the decoder promises only
		 * UTF-8 and the options. */
		while (proto_sub_next(&pkt->subscribe, v, &pos, &e)) {
			CHECK(e.qos <= 2);
			CHECK(e.retain_handling <= 2);
			if (v != PROTO_V5) {
				CHECK(!e.no_local && !e.retain_as_published &&
				    e.retain_handling == 0);
			}
			CHECK(proto_utf8_check(e.filter.ptr, e.filter.len,
				  NULL) == 0);
			n++;
		}
		CHECK(n == pkt->subscribe.count);
		break;
	}
	case PROTO_UNSUBSCRIBE: {
		struct proto_str f;

		CHECK(pkt->unsubscribe.packet_id != 0);
		CHECK(pkt->unsubscribe.count > 0);
		pos = 0;
		n = 0;
		/* As for SUBSCRIBE: UTF-8 only, the syntax is the
		 * broker's business. */
		while (proto_unsub_next(&pkt->unsubscribe, &pos, &f)) {
			CHECK(proto_utf8_check(f.ptr, f.len, NULL) == 0);
			n++;
		}
		CHECK(n == pkt->unsubscribe.count);
		break;
	}
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		CHECK(pkt->suback.count == 0 || pkt->suback.reasons != NULL);
		break;
	default:
		break;
	}
}

/* Checks that two decoded packets are the same: type, level, flags, every
 * scalar field and the bytes of every string, binary field and list. */
static void
compare_packets(const struct proto_packet *a, const struct proto_packet *b)
{
	uint8_t v = a->version;

	CHECK(a->type == b->type);
	CHECK(a->version == b->version);
	/* flags is decode-only; it is an encoder input only through the
	 * PUBLISH fields (MQTT 3.1 lets PUBREL and (UN)SUBSCRIBE carry DUP,
	 * which is not re-sent). */
	if (a->type == PROTO_PUBLISH) {
		CHECK(a->flags == b->flags);
	}
	switch (a->type) {
	case PROTO_CONNECT: {
		const struct proto_connect *ca = &a->connect;
		const struct proto_connect *cb = &b->connect;

		CHECK(ca->clean_start == cb->clean_start);
		CHECK(ca->will_flag == cb->will_flag);
		CHECK(ca->has_username == cb->has_username);
		CHECK(ca->has_password == cb->has_password);
		CHECK(ca->keepalive == cb->keepalive);
		compare_props(&ca->props, &cb->props, v);
		CHECK(str_eq(ca->client_id, cb->client_id));
		if (ca->will_flag) {
			CHECK(ca->will.qos == cb->will.qos);
			CHECK(ca->will.retain == cb->will.retain);
			compare_props(&ca->will.props, &cb->will.props, v);
			CHECK(str_eq(ca->will.topic, cb->will.topic));
			CHECK(str_eq(ca->will.payload, cb->will.payload));
		}
		if (ca->has_username) {
			CHECK(str_eq(ca->username, cb->username));
		}
		if (ca->has_password) {
			CHECK(str_eq(ca->password, cb->password));
		}
		break;
	}
	case PROTO_CONNACK:
		CHECK(a->connack.session_present ==
		    b->connack.session_present);
		CHECK(a->connack.reason == b->connack.reason);
		compare_props(&a->connack.props, &b->connack.props, v);
		break;
	case PROTO_PUBLISH:
		CHECK(a->publish.qos == b->publish.qos);
		CHECK(a->publish.dup == b->publish.dup);
		CHECK(a->publish.retain == b->publish.retain);
		if (a->publish.qos > 0) {
			CHECK(a->publish.packet_id == b->publish.packet_id);
		}
		CHECK(str_eq(a->publish.topic, b->publish.topic));
		compare_props(&a->publish.props, &b->publish.props, v);
		CHECK(str_eq(a->publish.payload, b->publish.payload));
		break;
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		CHECK(a->ack.packet_id == b->ack.packet_id);
		CHECK(a->ack.reason == b->ack.reason);
		compare_props(&a->ack.props, &b->ack.props, v);
		break;
	case PROTO_SUBSCRIBE: {
		struct proto_sub_entry ea, eb;
		uint32_t pa = 0, pb = 0;

		CHECK(a->subscribe.packet_id == b->subscribe.packet_id);
		compare_props(&a->subscribe.props, &b->subscribe.props, v);
		CHECK(a->subscribe.count == b->subscribe.count);
		for (;;) {
			bool ga = proto_sub_next(&a->subscribe, v, &pa, &ea);
			bool gb = proto_sub_next(&b->subscribe, v, &pb, &eb);

			CHECK(ga == gb);
			if (!ga) {
				break;
			}
			CHECK(str_eq(ea.filter, eb.filter));
			CHECK(ea.qos == eb.qos);
			CHECK(ea.no_local == eb.no_local);
			CHECK(ea.retain_as_published ==
			    eb.retain_as_published);
			CHECK(ea.retain_handling == eb.retain_handling);
		}
		break;
	}
	case PROTO_UNSUBSCRIBE: {
		struct proto_str fa, fb;
		uint32_t pa = 0, pb = 0;

		CHECK(a->unsubscribe.packet_id == b->unsubscribe.packet_id);
		compare_props(&a->unsubscribe.props, &b->unsubscribe.props, v);
		CHECK(a->unsubscribe.count == b->unsubscribe.count);
		for (;;) {
			bool ga = proto_unsub_next(&a->unsubscribe, &pa, &fa);
			bool gb = proto_unsub_next(&b->unsubscribe, &pb, &fb);

			CHECK(ga == gb);
			if (!ga) {
				break;
			}
			CHECK(str_eq(fa, fb));
		}
		break;
	}
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		CHECK(a->suback.packet_id == b->suback.packet_id);
		compare_props(&a->suback.props, &b->suback.props, v);
		CHECK(a->suback.count == b->suback.count);
		CHECK(a->suback.count == 0 ||
		    memcmp(a->suback.reasons, b->suback.reasons,
			a->suback.count) == 0);
		break;
	case PROTO_DISCONNECT:
	case PROTO_AUTH:
		CHECK(a->disconnect.reason == b->disconnect.reason);
		compare_props(&a->disconnect.props, &b->disconnect.props, v);
		break;
	default:
		break;
	}
}

/*
 * Encodes a decoded packet and returns the bytes (malloc'd, the caller
 * frees them) with their length in *len.  A decoded SUBSCRIBE or
 * UNSUBSCRIBE carries its entries as a list to walk; the encoder takes an
 * array, so this builds one.  Also checks that proto_encode_size() agrees,
 * that one byte less gives PROTO_ENOSPC with the right length, and that
 * proto_encode_iov() produces the same bytes.  Traps if pkt cannot be
 * encoded: whatever the decoder accepts must be sendable.
 */
static uint8_t *
encode_packet(const struct proto_packet *pkt, size_t *len)
{
	struct proto_packet copy = *pkt;
	struct proto_sub_entry *entries = NULL;
	struct proto_str *filters = NULL;
	struct iovec iov[3];
	uint8_t *buf, *small, *hdr;
	size_t size, n, hlen, off;
	uint32_t pos, i;
	int rc, iovcnt, k;

	if (pkt->type == PROTO_SUBSCRIBE) {
		entries = xmalloc(pkt->subscribe.count * sizeof(*entries));
		pos = 0;
		i = 0;
		while (i < pkt->subscribe.count &&
		    proto_sub_next(&pkt->subscribe, pkt->version, &pos,
			&entries[i])) {
			i++;
		}
		CHECK(i == pkt->subscribe.count);
		copy.subscribe.entries = entries;
		copy.subscribe.list.ptr = NULL;
		copy.subscribe.list.len = 0;
	} else if (pkt->type == PROTO_UNSUBSCRIBE) {
		filters = xmalloc(pkt->unsubscribe.count * sizeof(*filters));
		pos = 0;
		i = 0;
		while (i < pkt->unsubscribe.count &&
		    proto_unsub_next(&pkt->unsubscribe, &pos, &filters[i])) {
			i++;
		}
		CHECK(i == pkt->unsubscribe.count);
		copy.unsubscribe.filters = filters;
		copy.unsubscribe.list.ptr = NULL;
		copy.unsubscribe.list.len = 0;
	}

	size = proto_encode_size(&copy);
	CHECK(size >= 2);
	buf = xmalloc(size);
	rc = proto_encode(&copy, buf, size, &n);
	CHECK(rc == 0);
	CHECK(n == size);

	/* A buffer one byte short, allocated to size so ASan sees any
	 * write past it. */
	small = xmalloc(size - 1);
	n = 0;
	rc = proto_encode(&copy, small, size - 1, &n);
	CHECK(rc == PROTO_ENOSPC);
	CHECK(n == size);
	free(small);

	hdr = xmalloc(size);
	iovcnt = -1;
	rc = proto_encode_iov(&copy, hdr, size, &hlen, iov, &iovcnt);
	CHECK(rc == 0);
	CHECK(iovcnt >= 1 && iovcnt <= 3);
	CHECK(hlen <= size);
	off = 0;
	for (k = 0; k < iovcnt; k++) {
		CHECK(iov[k].iov_len <= size - off);
		CHECK(iov[k].iov_len == 0 ||
		    memcmp(buf + off, iov[k].iov_base, iov[k].iov_len) == 0);
		off += iov[k].iov_len;
	}
	CHECK(off == size);
	free(hdr);

	free(entries);
	free(filters);
	*len = size;
	return buf;
}

/*
 * The round trip: encode pkt, decode the result, compare, encode the
 * second packet and compare bytes.  pkt is borrowed.
 */
static void
roundtrip(const struct proto_packet *pkt)
{
	struct proto_packet again;
	uint8_t *enc, *enc2;
	size_t len, len2;
	int rc;

	enc = encode_packet(pkt, &len);
	memset(&again, 0, sizeof(again));
	rc = proto_decode(enc, len, pkt->version, 0, &again);
	if (rc != 0) {
		fprintf(stderr, "fuzz_decode: re-encoded %s does not decode: "
		    "%s\n", proto_type_name(pkt->type), proto_strerror(rc));
	}
	CHECK(rc == 0);
	CHECK(again.size == len);
	walk_packet(&again);
	compare_packets(pkt, &again);

	enc2 = encode_packet(&again, &len2);
	CHECK(len2 == len);
	CHECK(memcmp(enc, enc2, len) == 0);
	free(enc2);
	free(enc);
}

/* Everything we check of a packet either decoder returned. */
static void
check_packet(const struct proto_packet *pkt)
{
	walk_packet(pkt);
	roundtrip(pkt);
}

/* ------------------------------------------------------------------ */
/* The one-shot decoder and the reader                                 */

static void
fuzz_decode_one(const uint8_t *p, size_t n, uint8_t version)
{
	struct proto_packet pkt;
	int rc;

	memset(&pkt, 0, sizeof(pkt));
	rc = proto_decode(p, n, version, 0, &pkt);
	CHECK(proto_strerror(rc) != NULL);
	(void)proto_error_reason(rc);
	if (rc != 0) {
		return;
	}
	CHECK(pkt.size >= 2 && pkt.size <= n);
	if (pkt.type == PROTO_PUBLISH) {
		CHECK(str_inside(pkt.publish.topic, p, n));
		CHECK(str_inside(pkt.publish.payload, p, n));
		CHECK(str_inside(pkt.publish.props.block, p, n));
	}
	check_packet(&pkt);

	/* The size limit is inclusive. */
	memset(&pkt, 0, sizeof(pkt));
	CHECK(proto_decode(p, n, version, (uint32_t)n, &pkt) == 0);
	CHECK(proto_decode(p, n, version, pkt.size - 1, &pkt) ==
	    PROTO_ETOOLARGE);
}

static uint32_t
prng_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Chunk sizes: many single bytes (every split point of small headers),
 * some short runs, some long ones. */
static size_t
next_chunk(uint32_t *s)
{
	uint32_t x = prng_next(s);

	switch (x & 3) {
	case 0:
		return 1;
	case 1:
		return 1 + (x >> 2) % 8;
	case 2:
		return 1 + (x >> 2) % 64;
	default:
		return 1 + (x >> 2) % 1024;
	}
}

/*
 * Feeds p[0..n) to a reader in chunks and checks every packet it returns,
 * including against proto_decode() of the same bytes of the stream.  Stops
 * at the first error.  The reader is always finalised.
 */
static void
fuzz_reader(const uint8_t *p, size_t n, uint8_t version, uint8_t seed)
{
	struct proto_reader r;
	struct proto_packet pkt, direct;
	uint32_t state = 0x9E3779B9u ^ ((uint32_t)seed * 0x01000193u);
	bool whole = (seed / 3) % 8 == 0;
	size_t pos = 0, last_end = 0;

	proto_reader_init(&r, FUZZ_MAX_PACKET);
	r.version = version;
	while (pos < n) {
		size_t clen = whole ? n : next_chunk(&state);
		size_t off = 0;

		if (clen > n - pos) {
			clen = n - pos;
		}
		for (;;) {
			size_t used = (size_t)-1;
			size_t start;
			int rc;

			memset(&pkt, 0, sizeof(pkt));
			rc = proto_reader_feed(&r, p + pos + off, clen - off,
			    &used, &pkt);
			if (rc < 0) {
				CHECK(proto_strerror(rc) != NULL);
				(void)proto_error_reason(rc);
				goto out;
			}
			CHECK(used <= clen - off);
			off += used;
			if (rc == PROTO_MORE) {
				CHECK(off == clen);
				break;
			}
			CHECK(rc == 0);
			CHECK(used > 0);
			CHECK(r.version == version);
			CHECK(pkt.size >= 2 && pkt.size <= FUZZ_MAX_PACKET);

			/* The packet ends where this call stopped reading and
			 * starts where the previous one ended. */
			CHECK(pkt.size <= pos + off);
			start = pos + off - pkt.size;
			CHECK(start == last_end);
			last_end = pos + off;

			check_packet(&pkt);

			memset(&direct, 0, sizeof(direct));
			CHECK(proto_decode(p + start, pkt.size, version,
				  FUZZ_MAX_PACKET, &direct) == 0);
			CHECK(direct.size == pkt.size);
			compare_packets(&pkt, &direct);
		}
		pos += clen;
		(void)proto_reader_pending(&r);
	}
out:
	proto_reader_fini(&r);
}

/* ------------------------------------------------------------------ */
/* Topics                                                              */

static size_t
level_end(const uint8_t *s, size_t len, size_t i)
{
	while (i < len && s[i] != '/') {
		i++;
	}
	return i;
}

/*
 * The reference matcher: compares level by level, for clarity rather than
 * speed.  f is a valid non-shared filter, t a valid topic name.  '+'
 * matches exactly one level (possibly empty), '#' the rest of the levels
 * including none ("a/#" matches "a"), and a topic starting with '$' is not
 * matched by a filter starting with a wildcard.
 */
static bool
ref_match(const uint8_t *f, size_t flen, const uint8_t *t, size_t tlen)
{
	size_t fi = 0, ti = 0;
	bool topic_done = false;

	if (t[0] == '$' && (f[0] == '+' || f[0] == '#')) {
		return false;
	}
	for (;;) {
		size_t fe = level_end(f, flen, fi);
		size_t te;
		bool plus = fe - fi == 1 && f[fi] == '+';

		if (fe - fi == 1 && f[fi] == '#') {
			return true;
		}
		if (topic_done) {
			return false;
		}
		te = level_end(t, tlen, ti);
		if (!plus && (fe - fi != te - ti ||
				 memcmp(f + fi, t + ti, fe - fi) != 0)) {
			return false;
		}
		if (fe == flen) {
			return te == tlen;
		}
		fi = fe + 1;
		if (te == tlen) {
			topic_done = true;
		} else {
			ti = te + 1;
		}
	}
}

/*
 * Runs the topic checks on p[0..n) and checks how they relate: a valid
 * topic name is valid UTF-8 and, unless it looks shared, a valid filter;
 * a shared filter splits into a proper name and a valid filter.
 */
static void
fuzz_topic_checks(const uint8_t *p, size_t n)
{
	struct proto_str name, sub;
	bool discouraged = false;
	int trc, frc, src, urc;

	urc = proto_utf8_check(p, n, &discouraged);
	trc = proto_topic_check(p, n);
	frc = proto_filter_check(p, n);
	src = proto_share_parse(p, n, &name, &sub);
	CHECK(urc == 0 || urc == PROTO_EUTF8);
	CHECK(trc == 0 || trc == PROTO_ETOPIC || trc == PROTO_EUTF8);
	CHECK(frc == 0 || frc == PROTO_EFILTER || frc == PROTO_EUTF8);
	CHECK(src == 0 || src == 1 || src == PROTO_EFILTER ||
	    src == PROTO_EUTF8);
	if (trc == 0) {
		CHECK(urc == 0);
		CHECK(n >= 1 && n <= PROTO_MAX_STR);
		if (src == 0) {
			CHECK(frc == 0);
		}
	}
	if (frc == 0) {
		CHECK(urc == 0);
	}
	if (src == 1) {
		CHECK(name.len > 0);
		CHECK(!has_byte(name, '/') && !has_byte(name, '+') &&
		    !has_byte(name, '#'));
		CHECK(str_inside(name, p, n) && str_inside(sub, p, n));
		CHECK(sub.len > 0);
		if (frc == 0) {
			CHECK(proto_filter_check(sub.ptr, sub.len) == 0);
		}
	}
}

/*
 * Splits p[0..n) at its first 0x00 into filter and topic and, when both are
 * valid, checks proto_topic_match() against ref_match(), that "#" matches
 * every topic not starting with '$' and that a topic used as a filter
 * matches itself.
 */
static void
fuzz_topic_match(const uint8_t *p, size_t n)
{
	const uint8_t *zero = memchr(p, 0, n);
	const uint8_t *f, *t;
	struct proto_str name, sub;
	size_t flen, tlen;
	int src;

	if (zero == NULL) {
		return;
	}
	f = p;
	flen = (size_t)(zero - p);
	t = zero + 1;
	tlen = n - flen - 1;
	if (proto_topic_check(t, tlen) != 0) {
		return;
	}
	CHECK(proto_topic_match((const uint8_t *)"#", 1, t, tlen) ==
	    (t[0] != '$'));
	if (proto_filter_check(t, tlen) == 0 &&
	    proto_share_parse(t, tlen, &name, &sub) == 0) {
		CHECK(proto_topic_match(t, tlen, t, tlen));
	}
	if (proto_filter_check(f, flen) != 0) {
		return;
	}
	src = proto_share_parse(f, flen, &name, &sub);
	if (src < 0) {
		return;
	}
	if (src == 1) {
		f = sub.ptr;
		flen = sub.len;
	}
	CHECK(proto_topic_match(f, flen, t, tlen) ==
	    ref_match(f, flen, t, tlen));
}

/* Round-trips a variable byte integer decoded from the front of p. */
static void
fuzz_varint(const uint8_t *p, size_t n)
{
	uint8_t out[4];
	uint32_t v = 0, v2 = 0;
	size_t used = 0, used2 = 0, w;

	if (proto_varint_decode(p, n, &v, &used) != 0) {
		return;
	}
	CHECK(used >= 1 && used <= 4 && used <= n);
	CHECK(v <= PROTO_MAX_REMAINING);
	w = proto_varint_encode(v, out);
	CHECK(w >= 1 && w <= used);
	CHECK(w == proto_varint_size(v));
	CHECK(proto_varint_decode(out, w, &v2, &used2) == 0);
	CHECK(v2 == v && used2 == w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t versions[3] = { PROTO_V31, PROTO_V311, PROTO_V5 };
	const uint8_t *rest;
	size_t n;
	uint8_t version;

	if (size < 1) {
		return 0;
	}
	version = versions[data[0] % 3];
	rest = data + 1;
	n = size - 1;

	fuzz_decode_one(rest, n, version);
	fuzz_reader(rest, n, version, data[0]);
	fuzz_topic_checks(rest, n);
	fuzz_topic_match(rest, n);
	fuzz_varint(rest, n);
	return 0;
}
