/*
 * props.c - MQTT 5 properties (MQTT 5.0 2.2.2): the table of identifiers
 * with their types and the packets each may appear in, decoding of a
 * property block with the once-only and value-range rules, encoding, and
 * walking or filtering an already validated block.  Static tables and pure
 * functions.
 */
#include "proto/internal.h"

#include <stdint.h>

#define C(t) (1u << (t))
#define WILL C(PROTO_CTX_WILL)
#define ACKS                                                                  \
	(C(PROTO_PUBACK) | C(PROTO_PUBREC) | C(PROTO_PUBREL) |              \
	    C(PROTO_PUBCOMP))
/* Every packet with properties, and the will: not PINGREQ/PINGRESP. */
#define ALL_CTX                                                               \
	(0x1FFFEu & ~(C(PROTO_PINGREQ) | C(PROTO_PINGRESP)))

struct prop_info {
	const char *name;
	uint8_t type;
	uint32_t ctx; /* C(packet type) | WILL where it may appear */
};

static const struct prop_info props[0x2B] = {
	[0x01] = { "Payload Format Indicator", PROTO_PT_BYTE,
	    C(PROTO_PUBLISH) | WILL },
	[0x02] = { "Message Expiry Interval", PROTO_PT_U32,
	    C(PROTO_PUBLISH) | WILL },
	[0x03] = { "Content Type", PROTO_PT_UTF8, C(PROTO_PUBLISH) | WILL },
	[0x08] = { "Response Topic", PROTO_PT_UTF8, C(PROTO_PUBLISH) | WILL },
	[0x09] = { "Correlation Data", PROTO_PT_BINARY,
	    C(PROTO_PUBLISH) | WILL },
	[0x0B] = { "Subscription Identifier", PROTO_PT_VARINT,
	    C(PROTO_PUBLISH) | C(PROTO_SUBSCRIBE) },
	[0x11] = { "Session Expiry Interval", PROTO_PT_U32,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) | C(PROTO_DISCONNECT) },
	[0x12] = { "Assigned Client Identifier", PROTO_PT_UTF8,
	    C(PROTO_CONNACK) },
	[0x13] = { "Server Keep Alive", PROTO_PT_U16, C(PROTO_CONNACK) },
	[0x15] = { "Authentication Method", PROTO_PT_UTF8,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) | C(PROTO_AUTH) },
	[0x16] = { "Authentication Data", PROTO_PT_BINARY,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) | C(PROTO_AUTH) },
	[0x17] = { "Request Problem Information", PROTO_PT_BYTE,
	    C(PROTO_CONNECT) },
	[0x18] = { "Will Delay Interval", PROTO_PT_U32, WILL },
	[0x19] = { "Request Response Information", PROTO_PT_BYTE,
	    C(PROTO_CONNECT) },
	[0x1A] = { "Response Information", PROTO_PT_UTF8, C(PROTO_CONNACK) },
	[0x1C] = { "Server Reference", PROTO_PT_UTF8,
	    C(PROTO_CONNACK) | C(PROTO_DISCONNECT) },
	[0x1F] = { "Reason String", PROTO_PT_UTF8,
	    C(PROTO_CONNACK) | ACKS | C(PROTO_SUBACK) | C(PROTO_UNSUBACK) |
	        C(PROTO_DISCONNECT) | C(PROTO_AUTH) },
	[0x21] = { "Receive Maximum", PROTO_PT_U16,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) },
	[0x22] = { "Topic Alias Maximum", PROTO_PT_U16,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) },
	[0x23] = { "Topic Alias", PROTO_PT_U16, C(PROTO_PUBLISH) },
	[0x24] = { "Maximum QoS", PROTO_PT_BYTE, C(PROTO_CONNACK) },
	[0x25] = { "Retain Available", PROTO_PT_BYTE, C(PROTO_CONNACK) },
	[0x26] = { "User Property", PROTO_PT_PAIR, ALL_CTX },
	[0x27] = { "Maximum Packet Size", PROTO_PT_U32,
	    C(PROTO_CONNECT) | C(PROTO_CONNACK) },
	[0x28] = { "Wildcard Subscription Available", PROTO_PT_BYTE,
	    C(PROTO_CONNACK) },
	[0x29] = { "Subscription Identifier Available", PROTO_PT_BYTE,
	    C(PROTO_CONNACK) },
	[0x2A] = { "Shared Subscription Available", PROTO_PT_BYTE,
	    C(PROTO_CONNACK) },
};

/* Every single-valued identifier of the table (all but User Property and
 * Subscription Identifier), as PROTO_PROP_BIT()s. */
#define KNOWN_SINGLE                                                          \
	(PROTO_PROP_BIT(0x01) | PROTO_PROP_BIT(0x02) | PROTO_PROP_BIT(0x03) |   \
	    PROTO_PROP_BIT(0x08) | PROTO_PROP_BIT(0x09) |                     \
	    PROTO_PROP_BIT(0x11) | PROTO_PROP_BIT(0x12) |                     \
	    PROTO_PROP_BIT(0x13) | PROTO_PROP_BIT(0x15) |                     \
	    PROTO_PROP_BIT(0x16) | PROTO_PROP_BIT(0x17) |                     \
	    PROTO_PROP_BIT(0x18) | PROTO_PROP_BIT(0x19) |                     \
	    PROTO_PROP_BIT(0x1A) | PROTO_PROP_BIT(0x1C) |                     \
	    PROTO_PROP_BIT(0x1F) | PROTO_PROP_BIT(0x21) |                     \
	    PROTO_PROP_BIT(0x22) | PROTO_PROP_BIT(0x23) |                     \
	    PROTO_PROP_BIT(0x24) | PROTO_PROP_BIT(0x25) |                     \
	    PROTO_PROP_BIT(0x27) | PROTO_PROP_BIT(0x28) |                     \
	    PROTO_PROP_BIT(0x29) | PROTO_PROP_BIT(0x2A))

static const struct prop_info *
info(uint8_t id)
{
	if (id >= sizeof(props) / sizeof(props[0]) || props[id].name == NULL) {
		return NULL;
	}
	return &props[id];
}

const char *
proto_prop_name(uint8_t id)
{
	const struct prop_info *pi = info(id);
	return pi != NULL ? pi->name : NULL;
}

int
proto_prop_type(uint8_t id)
{
	const struct prop_info *pi = info(id);
	return pi != NULL ? pi->type : -1;
}

bool
proto_prop_allowed(uint8_t id, uint8_t ctx)
{
	const struct prop_info *pi = info(id);
	return pi != NULL && ctx <= PROTO_CTX_WILL && (pi->ctx & C(ctx)) != 0;
}

/* Reads one property value of the given type.  Strings are checked as
 * UTF-8; pairs put the key in str and the value in val. */
static int
read_value(struct proto__cur *c, uint8_t type, struct proto_prop *out)
{
	uint8_t b = 0;
	uint16_t h = 0;
	int rc;

	switch (type) {
	case PROTO_PT_BYTE:
		rc = proto__u8(c, &b);
		out->num = b;
		return rc;
	case PROTO_PT_U16:
		rc = proto__u16(c, &h);
		out->num = h;
		return rc;
	case PROTO_PT_U32:
		return proto__u32(c, &out->num);
	case PROTO_PT_VARINT:
		return proto__varint(c, &out->num);
	case PROTO_PT_UTF8:
		return proto__utf8(c, &out->str);
	case PROTO_PT_BINARY:
		return proto__bin(c, &out->str);
	case PROTO_PT_PAIR:
		rc = proto__utf8(c, &out->str);
		return rc != 0 ? rc : proto__utf8(c, &out->val);
	}
	return PROTO_EPROPID;
}

/* Value ranges the specification makes a Protocol Error (or, for the
 * Topic Alias, "Topic Alias invalid"). */
static int
check_value(const struct proto_prop *pr)
{
	switch (pr->id) {
	case PROTO_PROP_PAYLOAD_FORMAT:
	case PROTO_PROP_REQUEST_PROBLEM_INFO:
	case PROTO_PROP_REQUEST_RESPONSE_INFO:
	case PROTO_PROP_MAX_QOS:
	case PROTO_PROP_RETAIN_AVAILABLE:
	case PROTO_PROP_WILDCARD_SUB_AVAILABLE:
	case PROTO_PROP_SUB_ID_AVAILABLE:
	case PROTO_PROP_SHARED_SUB_AVAILABLE:
		return pr->num > 1 ? PROTO_EPROPVAL : 0;
	case PROTO_PROP_RECEIVE_MAX:
	case PROTO_PROP_MAX_PACKET_SIZE:
	case PROTO_PROP_SUB_ID:
		return pr->num == 0 ? PROTO_EPROPVAL : 0;
	case PROTO_PROP_TOPIC_ALIAS:
		return pr->num == 0 ? PROTO_EALIAS : 0;
	case PROTO_PROP_RESPONSE_TOPIC:
		/* A topic name: no wildcards, not empty [MQTT-3.3.2-14]. */
		return proto_topic_check(pr->str.ptr, pr->str.len) != 0
		    ? PROTO_ETOPIC
		    : 0;
	}
	return 0;
}

/* Stores a validated single-valued property in its field. */
static void
store(struct proto_props *p, const struct proto_prop *pr)
{
	switch (pr->id) {
	case PROTO_PROP_PAYLOAD_FORMAT:
		p->payload_format = (uint8_t)pr->num;
		break;
	case PROTO_PROP_MESSAGE_EXPIRY:
		p->message_expiry = pr->num;
		break;
	case PROTO_PROP_CONTENT_TYPE:
		p->content_type = pr->str;
		break;
	case PROTO_PROP_RESPONSE_TOPIC:
		p->response_topic = pr->str;
		break;
	case PROTO_PROP_CORRELATION_DATA:
		p->correlation_data = pr->str;
		break;
	case PROTO_PROP_SUB_ID:
		if (p->sub_id_count++ == 0) {
			p->sub_id = pr->num;
		}
		break;
	case PROTO_PROP_SESSION_EXPIRY:
		p->session_expiry = pr->num;
		break;
	case PROTO_PROP_ASSIGNED_CLIENT_ID:
		p->assigned_client_id = pr->str;
		break;
	case PROTO_PROP_SERVER_KEEP_ALIVE:
		p->server_keep_alive = (uint16_t)pr->num;
		break;
	case PROTO_PROP_AUTH_METHOD:
		p->auth_method = pr->str;
		break;
	case PROTO_PROP_AUTH_DATA:
		p->auth_data = pr->str;
		break;
	case PROTO_PROP_REQUEST_PROBLEM_INFO:
		p->request_problem_info = (uint8_t)pr->num;
		break;
	case PROTO_PROP_WILL_DELAY:
		p->will_delay = pr->num;
		break;
	case PROTO_PROP_REQUEST_RESPONSE_INFO:
		p->request_response_info = (uint8_t)pr->num;
		break;
	case PROTO_PROP_RESPONSE_INFO:
		p->response_info = pr->str;
		break;
	case PROTO_PROP_SERVER_REFERENCE:
		p->server_reference = pr->str;
		break;
	case PROTO_PROP_REASON_STRING:
		p->reason_string = pr->str;
		break;
	case PROTO_PROP_RECEIVE_MAX:
		p->receive_max = (uint16_t)pr->num;
		break;
	case PROTO_PROP_TOPIC_ALIAS_MAX:
		p->topic_alias_max = (uint16_t)pr->num;
		break;
	case PROTO_PROP_TOPIC_ALIAS:
		p->topic_alias = (uint16_t)pr->num;
		break;
	case PROTO_PROP_MAX_QOS:
		p->max_qos = (uint8_t)pr->num;
		break;
	case PROTO_PROP_RETAIN_AVAILABLE:
		p->retain_available = (uint8_t)pr->num;
		break;
	case PROTO_PROP_USER:
		p->user_count++;
		break;
	case PROTO_PROP_MAX_PACKET_SIZE:
		p->max_packet_size = pr->num;
		break;
	case PROTO_PROP_WILDCARD_SUB_AVAILABLE:
		p->wildcard_sub_available = (uint8_t)pr->num;
		break;
	case PROTO_PROP_SUB_ID_AVAILABLE:
		p->sub_id_available = (uint8_t)pr->num;
		break;
	case PROTO_PROP_SHARED_SUB_AVAILABLE:
		p->shared_sub_available = (uint8_t)pr->num;
		break;
	}
	p->present |= PROTO_PROP_BIT(pr->id);
}

/* Only User Property may repeat anywhere; Subscription Identifier may
 * repeat in PUBLISH (one per matching subscription). */
static bool
may_repeat(uint8_t id, uint8_t ctx)
{
	return id == PROTO_PROP_USER ||
	    (id == PROTO_PROP_SUB_ID && ctx == PROTO_PUBLISH);
}

int
proto__props_decode(struct proto__cur *c, uint8_t ctx, struct proto_props *out)
{
	uint32_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = proto__varint(c, &len)) != 0) {
		return rc;
	}
	if (proto__left(c) < len) {
		return PROTO_ESHORT;
	}
	struct proto__cur pc = { c->p, c->p + len };
	out->block.ptr = c->p;
	out->block.len = len;
	c->p += len;

	while (pc.p < pc.end) {
		struct proto_prop pr;
		uint32_t id;

		memset(&pr, 0, sizeof(pr));
		/* Identifiers are variable byte integers, though all known
		 * ones fit in one byte. */
		if ((rc = proto__varint(&pc, &id)) != 0) {
			return rc;
		}
		if (id > 0xFF || !proto_prop_allowed((uint8_t)id, ctx)) {
			return PROTO_EPROPID;
		}
		pr.id = (uint8_t)id;
		if ((out->present & PROTO_PROP_BIT(pr.id)) != 0 &&
		    !may_repeat(pr.id, ctx)) {
			return PROTO_EPROPDUP;
		}
		if ((rc = read_value(&pc, props[pr.id].type, &pr)) != 0) {
			return rc;
		}
		if ((rc = check_value(&pr)) != 0) {
			return rc;
		}
		store(out, &pr);
	}
	return 0;
}

void
proto_prop_iter_init(struct proto_prop_iter *it, struct proto_str block)
{
	/* An empty block may have no pointer; NULL + 0 is still undefined
	 * behaviour in C, so do not compute it. */
	it->p = block.ptr;
	it->end = block.ptr != NULL ? block.ptr + block.len : NULL;
}

bool
proto_prop_next(struct proto_prop_iter *it, struct proto_prop *out)
{
	struct proto__cur c = { it->p, it->end };
	const struct prop_info *pi;
	uint32_t id;

	if (it->p == NULL || it->p >= it->end) {
		return false;
	}
	memset(out, 0, sizeof(*out));
	if (proto__varint(&c, &id) != 0 || id > 0xFF ||
	    (pi = info((uint8_t)id)) == NULL) {
		it->p = it->end;
		return false;
	}
	out->id = (uint8_t)id;
	if (read_value(&c, pi->type, out) != 0) {
		it->p = it->end;
		return false;
	}
	it->p = c.p;
	return true;
}

size_t
proto_props_filter(struct proto_str block, uint64_t drop, uint8_t *out,
    size_t cap)
{
	struct proto_prop_iter it;
	struct proto_prop pr;
	const uint8_t *start;
	size_t need = 0;

	proto_prop_iter_init(&it, block);
	for (start = it.p; proto_prop_next(&it, &pr); start = it.p) {
		size_t n = (size_t)(it.p - start);

		if (pr.id < 64 && (drop & PROTO_PROP_BIT(pr.id)) != 0) {
			continue;
		}
		if (need + n <= cap) {
			memcpy(out + need, start, n);
		}
		need += n;
	}
	return need;
}

/* Size of one value of a type; strings must fit a two-byte length. */
static size_t
value_size(uint8_t type, uint32_t num, struct proto_str a, struct proto_str b)
{
	switch (type) {
	case PROTO_PT_BYTE:
		return 1;
	case PROTO_PT_U16:
		return 2;
	case PROTO_PT_U32:
		return 4;
	case PROTO_PT_VARINT:
		return proto_varint_size(num) != 0 ? proto_varint_size(num)
						   : SIZE_MAX;
	case PROTO_PT_UTF8:
	case PROTO_PT_BINARY:
		return a.len <= PROTO_MAX_STR ? 2 + (size_t)a.len : SIZE_MAX;
	case PROTO_PT_PAIR:
		return a.len <= PROTO_MAX_STR && b.len <= PROTO_MAX_STR
		    ? 4 + (size_t)a.len + b.len
		    : SIZE_MAX;
	}
	return SIZE_MAX;
}

static void
write_value(struct proto__wr *w, uint8_t type, uint32_t num,
    struct proto_str a, struct proto_str b)
{
	switch (type) {
	case PROTO_PT_BYTE:
		proto__w_u8(w, (uint8_t)num);
		break;
	case PROTO_PT_U16:
		proto__w_u16(w, (uint16_t)num);
		break;
	case PROTO_PT_U32:
		proto__w_u32(w, num);
		break;
	case PROTO_PT_VARINT:
		proto__w_varint(w, num);
		break;
	case PROTO_PT_UTF8:
	case PROTO_PT_BINARY:
		proto__w_str(w, a);
		break;
	case PROTO_PT_PAIR:
		proto__w_str(w, a);
		proto__w_str(w, b);
		break;
	}
}

/* The value of a single-valued property, from its field. */
static void
field_value(const struct proto_props *p, uint8_t id, uint32_t *num,
    struct proto_str *s)
{
	static const struct proto_str none = { NULL, 0 };

	*num = 0;
	*s = none;
	switch (id) {
	case PROTO_PROP_PAYLOAD_FORMAT:
		*num = p->payload_format;
		break;
	case PROTO_PROP_MESSAGE_EXPIRY:
		*num = p->message_expiry;
		break;
	case PROTO_PROP_CONTENT_TYPE:
		*s = p->content_type;
		break;
	case PROTO_PROP_RESPONSE_TOPIC:
		*s = p->response_topic;
		break;
	case PROTO_PROP_CORRELATION_DATA:
		*s = p->correlation_data;
		break;
	case PROTO_PROP_SUB_ID:
		*num = p->sub_id;
		break;
	case PROTO_PROP_SESSION_EXPIRY:
		*num = p->session_expiry;
		break;
	case PROTO_PROP_ASSIGNED_CLIENT_ID:
		*s = p->assigned_client_id;
		break;
	case PROTO_PROP_SERVER_KEEP_ALIVE:
		*num = p->server_keep_alive;
		break;
	case PROTO_PROP_AUTH_METHOD:
		*s = p->auth_method;
		break;
	case PROTO_PROP_AUTH_DATA:
		*s = p->auth_data;
		break;
	case PROTO_PROP_REQUEST_PROBLEM_INFO:
		*num = p->request_problem_info;
		break;
	case PROTO_PROP_WILL_DELAY:
		*num = p->will_delay;
		break;
	case PROTO_PROP_REQUEST_RESPONSE_INFO:
		*num = p->request_response_info;
		break;
	case PROTO_PROP_RESPONSE_INFO:
		*s = p->response_info;
		break;
	case PROTO_PROP_SERVER_REFERENCE:
		*s = p->server_reference;
		break;
	case PROTO_PROP_REASON_STRING:
		*s = p->reason_string;
		break;
	case PROTO_PROP_RECEIVE_MAX:
		*num = p->receive_max;
		break;
	case PROTO_PROP_TOPIC_ALIAS_MAX:
		*num = p->topic_alias_max;
		break;
	case PROTO_PROP_TOPIC_ALIAS:
		*num = p->topic_alias;
		break;
	case PROTO_PROP_MAX_QOS:
		*num = p->max_qos;
		break;
	case PROTO_PROP_RETAIN_AVAILABLE:
		*num = p->retain_available;
		break;
	case PROTO_PROP_MAX_PACKET_SIZE:
		*num = p->max_packet_size;
		break;
	case PROTO_PROP_WILDCARD_SUB_AVAILABLE:
		*num = p->wildcard_sub_available;
		break;
	case PROTO_PROP_SUB_ID_AVAILABLE:
		*num = p->sub_id_available;
		break;
	case PROTO_PROP_SHARED_SUB_AVAILABLE:
		*num = p->shared_sub_available;
		break;
	}
}

/*
 * Walks every property the encoder emits (see struct proto_props in
 * proto.h), calling emit() for each.  Sizing and writing share this walk
 * so they cannot disagree.
 */
typedef void (*emit_cb)(void *arg, uint8_t id, uint32_t num,
    struct proto_str a, struct proto_str b);

static void
walk(const struct proto_props *p, emit_cb emit, void *arg)
{
	static const struct proto_str none = { NULL, 0 };
	struct proto_prop_iter it;
	struct proto_prop pr;

	/* Only the bits that are set: cost follows the properties present,
	 * not the size of the table. */
	uint64_t m = p->present & KNOWN_SINGLE;
	for (; m != 0; m &= m - 1) {
		uint8_t id = (uint8_t)__builtin_ctzll(m);
		uint32_t num;
		struct proto_str s;

		field_value(p, id, &num, &s);
		emit(arg, id, num, s, none);
	}
	if (p->user_count != 0 && p->user != NULL) {
		for (uint32_t i = 0; i < p->user_count; i++) {
			emit(arg, PROTO_PROP_USER, 0, p->user[i].key,
			    p->user[i].val);
		}
	} else if (p->user_count != 0) {
		proto_prop_iter_init(&it, p->block);
		while (proto_prop_next(&it, &pr)) {
			if (pr.id == PROTO_PROP_USER) {
				emit(arg, pr.id, 0, pr.str, pr.val);
			}
		}
	}
	if (p->sub_ids != NULL) {
		for (uint32_t i = 0; i < p->sub_id_count; i++) {
			emit(arg, PROTO_PROP_SUB_ID, p->sub_ids[i], none,
			    none);
		}
	} else if (p->sub_id_count > 1 && p->block.len != 0) {
		proto_prop_iter_init(&it, p->block);
		while (proto_prop_next(&it, &pr)) {
			if (pr.id == PROTO_PROP_SUB_ID) {
				emit(arg, pr.id, pr.num, none, none);
			}
		}
	} else if (proto_props_has(p, PROTO_PROP_SUB_ID)) {
		emit(arg, PROTO_PROP_SUB_ID, p->sub_id, none, none);
	}
}

static void
emit_size(void *arg, uint8_t id, uint32_t num, struct proto_str a,
    struct proto_str b)
{
	size_t *total = arg;
	size_t n = value_size(props[id].type, num, a, b);

	if (n == SIZE_MAX || *total == SIZE_MAX) {
		*total = SIZE_MAX;
	} else {
		*total += 1 + n;
	}
}

static void
emit_write(void *arg, uint8_t id, uint32_t num, struct proto_str a,
    struct proto_str b)
{
	struct proto__wr *w = arg;

	proto__w_u8(w, id);
	write_value(w, props[id].type, num, a, b);
}

size_t
proto__props_size(const struct proto_props *p)
{
	size_t total = 0;

	walk(p, emit_size, &total);
	if (total == SIZE_MAX || total + p->extra.len > PROTO_MAX_REMAINING) {
		return SIZE_MAX;
	}
	return total + p->extra.len;
}

void
proto__props_write(struct proto__wr *w, const struct proto_props *p)
{
	walk(p, emit_write, w);
}
