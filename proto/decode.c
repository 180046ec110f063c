/*
 * decode.c - decoding one complete control packet (MQTT 3.1, 3.1.1, 5.0
 * chapter 3), with every rule the specifications make of a single packet.
 * Rules that need session state (first packet is CONNECT, Topic Alias
 * above the agreed maximum, packet identifiers in use, topic filter syntax
 * per SUBSCRIBE entry, which SUBACK answers) belong to the broker.
 * Zero-copy: the result borrows the input.  Pure functions, no state.
 */
#include "proto/internal.h"

int
proto__check_first(uint8_t b, uint8_t version)
{
	uint8_t type = b >> 4, flags = b & 0x0F;

	switch (type) {
	case 0:
		return PROTO_ETYPE;
	case PROTO_AUTH:
		if (version != PROTO_V5) {
			return PROTO_ETYPE;
		}
		break;
	case PROTO_PUBLISH:
		if (((flags >> 1) & 3) == 3) {
			return PROTO_EQOS;
		}
		/* DUP must be 0 on QoS 0 [MQTT-3.3.1-2]. */
		if ((flags & 0x8) != 0 && (flags & 0x6) == 0) {
			return PROTO_EFLAGS;
		}
		return 0;
	case PROTO_PUBREL:
	case PROTO_SUBSCRIBE:
	case PROTO_UNSUBSCRIBE:
		/* MQTT 3.1 let these carry DUP on a resend. */
		if (flags == 0x2 || (version == PROTO_V31 && flags == 0xA)) {
			return 0;
		}
		return PROTO_EFLAGS;
	default:
		break;
	}
	return flags == 0 ? 0 : PROTO_EFLAGS;
}

static int
check_reason(uint8_t type, uint8_t code)
{
	return proto_reason_allowed(type, code) ? 0 : PROTO_EREASON;
}

/* A non-zero packet identifier [MQTT-2.2.1-3]. */
static int
read_packet_id(struct proto__cur *c, uint16_t *pid)
{
	int rc = proto__u16(c, pid);

	if (rc == 0 && *pid == 0) {
		rc = PROTO_EPACKETID;
	}
	return rc;
}

/* The packet identifier and, in MQTT 5, the properties that open the
 * variable header of SUBSCRIBE, UNSUBSCRIBE and their acks. */
static int
read_id_and_props(struct proto__cur *c, const struct proto_packet *out,
    uint16_t *pid, struct proto_props *props)
{
	int rc = read_packet_id(c, pid);

	if (rc == 0 && out->version == PROTO_V5) {
		rc = proto__props_decode(c, out->type, props);
	}
	return rc;
}

static int
decode_connect(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_connect *k = &out->connect;
	struct proto_str name;
	uint8_t level, flags, wqos;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = proto__bin(c, &name)) != 0 || (rc = proto__u8(c, &level))) {
		return rc;
	}
	if (name.len == 4 && memcmp(name.ptr, "MQTT", 4) == 0) {
		out->version = level;
		if (level != PROTO_V311 && level != PROTO_V5) {
			return PROTO_EVERSION;
		}
	} else if (name.len == 6 && memcmp(name.ptr, "MQIsdp", 6) == 0) {
		out->version = level;
		if (level != PROTO_V31) {
			return PROTO_EVERSION;
		}
	} else {
		return PROTO_EPROTONAME;
	}
	if ((rc = proto__u8(c, &flags)) || (rc = proto__u16(c, &k->keepalive))) {
		return rc;
	}
	wqos = (flags >> 3) & 3;
	if ((flags & 0x01) != 0) {
		return PROTO_ECONNFLAGS; /* reserved [MQTT-3.1.2-3] */
	}
	k->clean_start = (flags & 0x02) != 0;
	k->will_flag = (flags & 0x04) != 0;
	k->will.qos = wqos;
	k->will.retain = (flags & 0x20) != 0;
	k->has_password = (flags & 0x40) != 0;
	k->has_username = (flags & 0x80) != 0;
	if (wqos == 3) {
		return PROTO_EQOS;
	}
	if (!k->will_flag && (wqos != 0 || k->will.retain)) {
		return PROTO_ECONNFLAGS;
	}
	/* Before MQTT 5 a password needs a user name [MQTT-3.1.2-22]. */
	if (out->version != PROTO_V5 && k->has_password && !k->has_username) {
		return PROTO_ECONNFLAGS;
	}
	if (out->version == PROTO_V5 &&
	    (rc = proto__props_decode(c, PROTO_CONNECT, &k->props)) != 0) {
		return rc;
	}
	if ((rc = proto__utf8(c, &k->client_id)) != 0) {
		return rc;
	}
	if (k->will_flag) {
		if (out->version == PROTO_V5 &&
		    (rc = proto__props_decode(c, PROTO_CTX_WILL,
			 &k->will.props)) != 0) {
			return rc;
		}
		if ((rc = proto__bin(c, &k->will.topic)) != 0 ||
		    (rc = proto_topic_check(k->will.topic.ptr,
			 k->will.topic.len)) != 0 ||
		    (rc = proto__bin(c, &k->will.payload)) != 0) {
			return rc;
		}
	}
	if (k->has_username && (rc = proto__utf8(c, &k->username)) != 0) {
		return rc;
	}
	if (k->has_password && (rc = proto__bin(c, &k->password)) != 0) {
		return rc;
	}
	return 0;
}

static int
decode_connack(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_connack *k = &out->connack;
	uint8_t flags;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = proto__u8(c, &flags)) || (rc = proto__u8(c, &k->reason))) {
		return rc;
	}
	/* In 3.1 the flags byte is wholly reserved and never checked. */
	if (out->version != PROTO_V31) {
		if ((flags & 0xFE) != 0) {
			return PROTO_ECONNFLAGS;
		}
		k->session_present = (flags & 1) != 0;
	}
	if (out->version == PROTO_V5) {
		if ((rc = check_reason(PROTO_CONNACK, k->reason)) != 0) {
			return rc;
		}
		rc = proto__props_decode(c, PROTO_CONNACK, &k->props);
		if (rc != 0) {
			return rc;
		}
	} else if (k->reason > PROTO_CONNACK_NOT_AUTHORIZED) {
		return PROTO_EREASON;
	}
	/* A refusal never claims a session [MQTT-3.2.2-4, 3.2.2-6]. */
	if (k->reason != 0 && k->session_present) {
		return PROTO_ECONNFLAGS;
	}
	return 0;
}

static int
decode_publish(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_publish *k = &out->publish;
	int rc;

	k->qos = (out->flags >> 1) & 3;
	k->dup = (out->flags & 0x8) != 0;
	k->retain = (out->flags & 0x1) != 0;
	k->packet_id = 0;
	if ((rc = proto__bin(c, &k->topic)) != 0) {
		return rc;
	}
	if (k->qos > 0 && (rc = read_packet_id(c, &k->packet_id)) != 0) {
		return rc;
	}
	if (out->version == PROTO_V5) {
		rc = proto__props_decode(c, PROTO_PUBLISH, &k->props);
		if (rc != 0) {
			return rc;
		}
	} else {
		memset(&k->props, 0, sizeof(k->props));
	}
	if (k->topic.len == 0) {
		/* MQTT 5 may replace the topic by an alias. */
		if (out->version != PROTO_V5) {
			return PROTO_ETOPIC;
		}
		if (!proto_props_has(&k->props, PROTO_PROP_TOPIC_ALIAS)) {
			return PROTO_ENOTOPIC;
		}
	} else if ((rc = proto_topic_check(k->topic.ptr, k->topic.len)) != 0) {
		return rc;
	}
	k->payload.ptr = c->p;
	k->payload.len = (uint32_t)proto__left(c);
	c->p = c->end;
	return 0;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
static int
decode_ack(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_ack *k = &out->ack;
	int rc;

	k->reason = 0;
	memset(&k->props, 0, sizeof(k->props));
	if ((rc = read_packet_id(c, &k->packet_id)) != 0) {
		return rc;
	}
	/* MQTT 5 may leave out the reason code (0) and the properties. */
	if (out->version == PROTO_V5 && proto__left(c) > 0) {
		if ((rc = proto__u8(c, &k->reason)) != 0 ||
		    (rc = check_reason(out->type, k->reason)) != 0) {
			return rc;
		}
		if (proto__left(c) > 0) {
			return proto__props_decode(c, out->type, &k->props);
		}
	}
	return 0;
}

static int
decode_subscribe(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_subscribe *k = &out->subscribe;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = read_id_and_props(c, out, &k->packet_id, &k->props)) != 0) {
		return rc;
	}
	k->list.ptr = c->p;
	k->list.len = (uint32_t)proto__left(c);
	while (proto__left(c) > 0) {
		struct proto_str f;
		uint8_t o;

		if ((rc = proto__utf8(c, &f)) != 0 || (rc = proto__u8(c, &o))) {
			return rc;
		}
		if ((o & 3) == 3) {
			return PROTO_EQOS;
		}
		if (out->version == PROTO_V5) {
			if ((o & 0xC0) != 0) {
				return PROTO_ESUBOPTS;
			}
			if (((o >> 4) & 3) == 3) {
				return PROTO_ERETAINHAND;
			}
		} else if ((o & 0xFC) != 0) {
			return PROTO_ESUBOPTS;
		}
		k->count++;
	}
	return k->count == 0 ? PROTO_EEMPTY : 0;
}

static int
decode_unsubscribe(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_unsubscribe *k = &out->unsubscribe;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = read_id_and_props(c, out, &k->packet_id, &k->props)) != 0) {
		return rc;
	}
	k->list.ptr = c->p;
	k->list.len = (uint32_t)proto__left(c);
	while (proto__left(c) > 0) {
		struct proto_str f;

		if ((rc = proto__utf8(c, &f)) != 0) {
			return rc;
		}
		k->count++;
	}
	return k->count == 0 ? PROTO_EEMPTY : 0;
}

/* SUBACK and UNSUBACK. */
static int
decode_suback(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_suback *k = &out->suback;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = read_id_and_props(c, out, &k->packet_id, &k->props)) != 0) {
		return rc;
	}
	/* Before MQTT 5 an UNSUBACK is the packet identifier alone. */
	if (out->type == PROTO_UNSUBACK && out->version != PROTO_V5) {
		return 0;
	}
	k->reasons = c->p;
	k->count = (uint32_t)proto__left(c);
	for (uint32_t i = 0; i < k->count; i++) {
		uint8_t r = k->reasons[i];
		bool ok;

		if (out->version == PROTO_V5) {
			ok = proto_reason_allowed(out->type, r);
		} else {
			/* 3.1 knew only the granted QoS; 3.1.1 added 0x80. */
			ok = r <= 2 || (r == 0x80 && out->version == PROTO_V311);
		}
		if (!ok) {
			return PROTO_EREASON;
		}
	}
	c->p = c->end;
	return k->count == 0 ? PROTO_EEMPTY : 0;
}

/* DISCONNECT and AUTH (MQTT 5); before 5, DISCONNECT has no body. */
static int
decode_disconnect(struct proto__cur *c, struct proto_packet *out)
{
	struct proto_disconnect *k = &out->disconnect;
	int rc;

	memset(k, 0, sizeof(*k));
	if (out->version != PROTO_V5 || proto__left(c) == 0) {
		return 0;
	}
	if ((rc = proto__u8(c, &k->reason)) != 0 ||
	    (rc = check_reason(out->type, k->reason)) != 0) {
		return rc;
	}
	if (proto__left(c) > 0) {
		return proto__props_decode(c, out->type, &k->props);
	}
	return 0;
}

int
proto_decode(const uint8_t *buf, size_t len, uint8_t version,
    uint32_t max_size, struct proto_packet *out)
{
	uint32_t rem;
	size_t used, total;
	int rc;

	if (len < 2) {
		return PROTO_ESHORT;
	}
	if (version == 0) {
		version = PROTO_V311;
	}
	rc = proto_varint_decode(buf + 1, len - 1, &rem, &used);
	if (rc != 0) {
		return rc == PROTO_MORE ? PROTO_ESHORT : rc;
	}
	total = 1 + used + rem;
	if (max_size != 0 && total > max_size) {
		return PROTO_ETOOLARGE;
	}
	/* CONNECT brings its own version; check it with the loosest rules. */
	rc = proto__check_first(buf[0],
	    (buf[0] >> 4) == PROTO_CONNECT ? PROTO_V5 : version);
	if (rc != 0) {
		return rc;
	}
	if (total > len) {
		return PROTO_ESHORT;
	}
	if (total < len) {
		return PROTO_ETRAILING;
	}

	struct proto__cur c = { buf + 1 + used, buf + total };
	out->type = buf[0] >> 4;
	out->flags = buf[0] & 0x0F;
	out->version = version;
	out->size = (uint32_t)total;

	switch (out->type) {
	case PROTO_CONNECT:
		rc = decode_connect(&c, out);
		break;
	case PROTO_CONNACK:
		rc = decode_connack(&c, out);
		break;
	case PROTO_PUBLISH:
		rc = decode_publish(&c, out);
		break;
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		rc = decode_ack(&c, out);
		break;
	case PROTO_SUBSCRIBE:
		rc = decode_subscribe(&c, out);
		break;
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		rc = decode_suback(&c, out);
		break;
	case PROTO_UNSUBSCRIBE:
		rc = decode_unsubscribe(&c, out);
		break;
	case PROTO_PINGREQ:
	case PROTO_PINGRESP:
		rc = 0;
		break;
	case PROTO_DISCONNECT:
	case PROTO_AUTH:
		rc = decode_disconnect(&c, out);
		break;
	default:
		rc = PROTO_ETYPE;
		break;
	}
	if (rc == 0 && c.p != c.end) {
		rc = PROTO_ETRAILING;
	}
	return rc;
}

bool
proto_sub_next(const struct proto_subscribe *s, uint8_t version,
    uint32_t *pos, struct proto_sub_entry *e)
{
	struct proto__cur c;
	uint8_t o;

	if (s->list.ptr == NULL || *pos >= s->list.len) {
		return false;
	}
	c.p = s->list.ptr + *pos;
	c.end = s->list.ptr + s->list.len;
	if (proto__bin(&c, &e->filter) != 0 || proto__u8(&c, &o) != 0) {
		*pos = s->list.len;
		return false;
	}
	e->qos = o & 3;
	if (version == PROTO_V5) {
		e->no_local = (o & 0x04) != 0;
		e->retain_as_published = (o & 0x08) != 0;
		e->retain_handling = (o >> 4) & 3;
	} else {
		e->no_local = false;
		e->retain_as_published = false;
		e->retain_handling = 0;
	}
	*pos = (uint32_t)(c.p - s->list.ptr);
	return true;
}

bool
proto_unsub_next(const struct proto_unsubscribe *u, uint32_t *pos,
    struct proto_str *filter)
{
	struct proto__cur c;

	if (u->list.ptr == NULL || *pos >= u->list.len) {
		return false;
	}
	c.p = u->list.ptr + *pos;
	c.end = u->list.ptr + u->list.len;
	if (proto__bin(&c, filter) != 0) {
		*pos = u->list.len;
		return false;
	}
	*pos = (uint32_t)(c.p - u->list.ptr);
	return true;
}
