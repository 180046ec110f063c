/*
 * encode.c - encoding control packets into caller-owned memory, flat or
 * gathered (header in a buffer, PUBLISH payload and pre-encoded properties
 * referenced).  One body writer serves sizing and writing: a proto__wr
 * counts what it would write past its end, so the size pass is the write
 * pass with no buffer.  Pure functions, no state.
 */
#include "proto/internal.h"

#include <stdint.h>

/* Writes a property block: its length, the fields, and `extra` unless the
 * caller references it separately. */
static int
w_props(struct proto__wr *w, const struct proto_props *p, bool with_extra)
{
	size_t n = proto__props_size(p);

	if (n == SIZE_MAX) {
		return PROTO_EINVAL;
	}
	proto__w_varint(w, (uint32_t)n);
	proto__props_write(w, p);
	if (with_extra) {
		proto__w_bytes(w, p->extra.ptr, p->extra.len);
	}
	return 0;
}

static int
w_string(struct proto__wr *w, struct proto_str s)
{
	if (s.len > PROTO_MAX_STR) {
		return PROTO_EINVAL;
	}
	proto__w_str(w, s);
	return 0;
}

static int
body_connect(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_connect *k = &pkt->connect;
	static const struct proto_str mqtt = { (const uint8_t *)"MQTT", 4 };
	static const struct proto_str mqisdp = { (const uint8_t *)"MQIsdp", 6 };
	uint8_t flags = 0;
	int rc;

	if (k->will_flag && k->will.qos > 2) {
		return PROTO_EINVAL;
	}
	if (pkt->version != PROTO_V5 && k->has_password && !k->has_username) {
		return PROTO_EINVAL;
	}
	proto__w_str(w, pkt->version == PROTO_V31 ? mqisdp : mqtt);
	proto__w_u8(w, pkt->version);
	flags |= k->clean_start ? 0x02 : 0;
	if (k->will_flag) {
		flags |= 0x04 | (uint8_t)(k->will.qos << 3);
		flags |= k->will.retain ? 0x20 : 0;
	}
	flags |= k->has_password ? 0x40 : 0;
	flags |= k->has_username ? 0x80 : 0;
	proto__w_u8(w, flags);
	proto__w_u16(w, k->keepalive);
	if (pkt->version == PROTO_V5 && (rc = w_props(w, &k->props, true))) {
		return rc;
	}
	if ((rc = w_string(w, k->client_id)) != 0) {
		return rc;
	}
	if (k->will_flag) {
		if (pkt->version == PROTO_V5 &&
		    (rc = w_props(w, &k->will.props, true)) != 0) {
			return rc;
		}
		if ((rc = w_string(w, k->will.topic)) != 0 ||
		    (rc = w_string(w, k->will.payload)) != 0) {
			return rc;
		}
	}
	if (k->has_username && (rc = w_string(w, k->username)) != 0) {
		return rc;
	}
	if (k->has_password && (rc = w_string(w, k->password)) != 0) {
		return rc;
	}
	return 0;
}

static int
body_connack(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_connack *k = &pkt->connack;

	proto__w_u8(w,
	    k->session_present && pkt->version != PROTO_V31 ? 1 : 0);
	proto__w_u8(w, k->reason);
	return pkt->version == PROTO_V5 ? w_props(w, &k->props, true) : 0;
}

/* PUBLISH; with ref_tail the payload and props.extra are left to iovecs
 * but still counted. */
static int
body_publish(struct proto__wr *w, const struct proto_packet *pkt,
    bool ref_tail, size_t *tail)
{
	const struct proto_publish *k = &pkt->publish;
	int rc;

	if (k->qos > 2 || (k->qos > 0 && k->packet_id == 0)) {
		return PROTO_EINVAL;
	}
	if ((rc = w_string(w, k->topic)) != 0) {
		return rc;
	}
	if (k->qos > 0) {
		proto__w_u16(w, k->packet_id);
	}
	if (pkt->version == PROTO_V5 &&
	    (rc = w_props(w, &k->props, !ref_tail)) != 0) {
		return rc;
	}
	if (ref_tail) {
		*tail = k->payload.len +
		    (pkt->version == PROTO_V5 ? k->props.extra.len : 0);
	} else {
		proto__w_bytes(w, k->payload.ptr, k->payload.len);
	}
	return 0;
}

/* PUBACK..PUBCOMP: MQTT 5 drops what it can of reason and properties. */
static int
body_ack(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_ack *k = &pkt->ack;

	if (k->packet_id == 0) {
		return PROTO_EINVAL;
	}
	proto__w_u16(w, k->packet_id);
	if (pkt->version != PROTO_V5) {
		return 0;
	}
	size_t plen = proto__props_size(&k->props);
	if (plen == 0 && k->reason == 0) {
		return 0;
	}
	proto__w_u8(w, k->reason);
	return plen == 0 ? 0 : w_props(w, &k->props, true);
}

static int
body_subscribe(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_subscribe *k = &pkt->subscribe;
	int rc;

	if (k->packet_id == 0 || k->count == 0 || k->entries == NULL) {
		return PROTO_EINVAL;
	}
	proto__w_u16(w, k->packet_id);
	if (pkt->version == PROTO_V5 && (rc = w_props(w, &k->props, true))) {
		return rc;
	}
	for (uint32_t i = 0; i < k->count; i++) {
		const struct proto_sub_entry *e = &k->entries[i];
		uint8_t o = e->qos;

		if (e->qos > 2 || e->retain_handling > 2) {
			return PROTO_EINVAL;
		}
		if (pkt->version == PROTO_V5) {
			o |= e->no_local ? 0x04 : 0;
			o |= e->retain_as_published ? 0x08 : 0;
			o |= (uint8_t)(e->retain_handling << 4);
		}
		if ((rc = w_string(w, e->filter)) != 0) {
			return rc;
		}
		proto__w_u8(w, o);
	}
	return 0;
}

static int
body_unsubscribe(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_unsubscribe *k = &pkt->unsubscribe;
	int rc;

	if (k->packet_id == 0 || k->count == 0 || k->filters == NULL) {
		return PROTO_EINVAL;
	}
	proto__w_u16(w, k->packet_id);
	if (pkt->version == PROTO_V5 && (rc = w_props(w, &k->props, true))) {
		return rc;
	}
	for (uint32_t i = 0; i < k->count; i++) {
		if ((rc = w_string(w, k->filters[i])) != 0) {
			return rc;
		}
	}
	return 0;
}

static int
body_suback(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_suback *k = &pkt->suback;
	int rc;

	if (k->packet_id == 0) {
		return PROTO_EINVAL;
	}
	proto__w_u16(w, k->packet_id);
	if (pkt->type == PROTO_UNSUBACK && pkt->version != PROTO_V5) {
		return 0;
	}
	if (k->count == 0 || k->reasons == NULL) {
		return PROTO_EINVAL;
	}
	if (pkt->version == PROTO_V5 && (rc = w_props(w, &k->props, true))) {
		return rc;
	}
	proto__w_bytes(w, k->reasons, k->count);
	return 0;
}

static int
body_disconnect(struct proto__wr *w, const struct proto_packet *pkt)
{
	const struct proto_disconnect *k = &pkt->disconnect;

	if (pkt->version != PROTO_V5) {
		return 0;
	}
	size_t plen = proto__props_size(&k->props);
	if (plen == 0 && k->reason == 0) {
		return 0;
	}
	proto__w_u8(w, k->reason);
	return plen == 0 ? 0 : w_props(w, &k->props, true);
}

static int
body(struct proto__wr *w, const struct proto_packet *pkt, bool ref_tail,
    size_t *tail)
{
	*tail = 0;
	switch (pkt->type) {
	case PROTO_CONNECT:
		if (pkt->version < PROTO_V31 || pkt->version > PROTO_V5) {
			return PROTO_EINVAL;
		}
		return body_connect(w, pkt);
	case PROTO_CONNACK:
		return body_connack(w, pkt);
	case PROTO_PUBLISH:
		return body_publish(w, pkt, ref_tail, tail);
	case PROTO_PUBACK:
	case PROTO_PUBREC:
	case PROTO_PUBREL:
	case PROTO_PUBCOMP:
		return body_ack(w, pkt);
	case PROTO_SUBSCRIBE:
		return body_subscribe(w, pkt);
	case PROTO_SUBACK:
	case PROTO_UNSUBACK:
		return body_suback(w, pkt);
	case PROTO_UNSUBSCRIBE:
		return body_unsubscribe(w, pkt);
	case PROTO_PINGREQ:
	case PROTO_PINGRESP:
		return 0;
	case PROTO_AUTH:
		if (pkt->version != PROTO_V5) {
			return PROTO_EINVAL;
		}
		return body_disconnect(w, pkt);
	case PROTO_DISCONNECT:
		return body_disconnect(w, pkt);
	}
	return PROTO_EINVAL;
}

static uint8_t
first_byte(const struct proto_packet *pkt)
{
	uint8_t b = (uint8_t)(pkt->type << 4);

	switch (pkt->type) {
	case PROTO_PUBLISH:
		b |= (uint8_t)(pkt->publish.qos << 1);
		b |= pkt->publish.dup && pkt->publish.qos > 0 ? 0x8 : 0;
		b |= pkt->publish.retain ? 0x1 : 0;
		break;
	case PROTO_PUBREL:
	case PROTO_SUBSCRIBE:
	case PROTO_UNSUBSCRIBE:
		b |= 0x2;
		break;
	}
	return b;
}

/* Sizes the body, then writes fixed header and body into buf[0..cap).
 * *len gets the bytes written into buf (or needed); *tail the referenced
 * bytes left out with ref_tail. */
static int
encode(const struct proto_packet *pkt, uint8_t *buf, size_t cap,
    bool ref_tail, size_t *len, size_t *tail)
{
	struct proto__wr w = { NULL, NULL, 0 };
	size_t t;
	int rc;

	if ((rc = body(&w, pkt, false, &t)) != 0) {
		return rc;
	}
	if (w.n > PROTO_MAX_REMAINING) {
		return PROTO_EINVAL;
	}
	uint32_t rem = (uint32_t)w.n;

	w.p = buf;
	w.end = buf != NULL ? buf + cap : NULL;
	w.n = 0;
	proto__w_u8(&w, first_byte(pkt));
	proto__w_varint(&w, rem);
	rc = body(&w, pkt, ref_tail, tail);
	if (rc != 0) {
		return rc;
	}
	*len = w.n;
	return w.n > cap ? PROTO_ENOSPC : 0;
}

size_t
proto_encode_size(const struct proto_packet *pkt)
{
	size_t len = 0, tail;

	if (encode(pkt, NULL, 0, false, &len, &tail) == PROTO_EINVAL) {
		return 0;
	}
	return len;
}

int
proto_encode(const struct proto_packet *pkt, uint8_t *buf, size_t cap,
    size_t *len)
{
	size_t tail;

	return encode(pkt, buf, cap, false, len, &tail);
}

int
proto_encode_iov(const struct proto_packet *pkt, uint8_t *hdr, size_t cap,
    size_t *len, struct iovec iov[3], int *iovcnt)
{
	bool ref = pkt->type == PROTO_PUBLISH;
	size_t tail;
	int rc;

	rc = encode(pkt, hdr, cap, ref, len, &tail);
	if (rc != 0) {
		return rc;
	}
	*iovcnt = 0;
	iov[(*iovcnt)++] = (struct iovec) { hdr, *len };
	if (ref && pkt->version == PROTO_V5 && pkt->publish.props.extra.len) {
		iov[(*iovcnt)++] = (struct iovec) {
			(void *)pkt->publish.props.extra.ptr,
			pkt->publish.props.extra.len
		};
	}
	if (ref && pkt->publish.payload.len != 0) {
		iov[(*iovcnt)++] = (struct iovec) {
			(void *)pkt->publish.payload.ptr,
			pkt->publish.payload.len
		};
	}
	return 0;
}
