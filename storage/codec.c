/*
 * codec.c - the byte layouts of storage/FORMAT.md: owner prefixes of keys,
 * and the encoders and decoders of every value.  Pure functions, any
 * thread.  Keys are big-endian so that LMDB's bytewise order is numeric
 * order; values are little-endian with fixed-width fields and start with a
 * value-version byte (after the reference count, for messages).
 *
 * Decoders never trust a length: every field is checked against the value
 * size, and bytes after the known fields are ignored (room for fields
 * appended at the end, see FORMAT.md).
 */
#include "storage/internal.h"

#include <string.h>

#define VV 1 /* the value version every encoder writes */

/* The shared message body: qos, flags, topic_len, props_len, payload_len,
 * expiry_at, then the three byte strings. */
#define BODY_FIXED 20u
#define MSG_RETAIN_FLAG 0x01u
#define SESSION_FIXED 20u
#define SESSION_WILL_FLAG 0x01u
#define SUB_NO_LOCAL 0x01u
#define SUB_RAP 0x02u
#define QENTRY_RETAIN 0x01u

static void
put_bytes(uint8_t *p, const void *src, size_t n)
{
	/* memcpy with a NULL source is undefined even for n == 0. */
	if (n != 0) {
		memcpy(p, src, n);
	}
}

uint8_t *
storage__cid_key(uint8_t *p, const char *cid, uint16_t cid_len)
{
	p[0] = (uint8_t)(cid_len >> 8);
	p[1] = (uint8_t)cid_len;
	put_bytes(p + 2, cid, cid_len);
	return p + 2 + cid_len;
}

size_t
storage__owner_len(const MDB_val *k)
{
	const uint8_t *p = k->mv_data;
	size_t n;

	if (k->mv_size < 2) {
		return 0;
	}
	n = 2 + ((size_t)p[0] << 8 | p[1]);
	return n <= k->mv_size ? n : 0;
}

static size_t
body_size(const struct storage_msg *m)
{
	return BODY_FIXED + (size_t)m->topic_len + m->props_len +
	    m->payload_len;
}

static void
body_encode(uint8_t *p, const struct storage_msg *m)
{
	p[0] = m->qos;
	p[1] = m->retain ? MSG_RETAIN_FLAG : 0;
	storage__le16(p + 2, m->topic_len);
	storage__le32(p + 4, m->props_len);
	storage__le32(p + 8, m->payload_len);
	storage__le64(p + 12, m->expiry_at);
	p += BODY_FIXED;
	put_bytes(p, m->topic, m->topic_len);
	p += m->topic_len;
	put_bytes(p, m->props, m->props_len);
	p += m->props_len;
	put_bytes(p, m->payload, m->payload_len);
}

/* Decodes a body from p[0..n); the views point into p. */
static int
body_decode(const uint8_t *p, size_t n, struct storage_msg *m)
{
	if (n < BODY_FIXED) {
		return -1;
	}
	m->qos = p[0];
	m->retain = (p[1] & MSG_RETAIN_FLAG) != 0;
	m->topic_len = storage__get_le16(p + 2);
	m->props_len = storage__get_le32(p + 4);
	m->payload_len = storage__get_le32(p + 8);
	m->expiry_at = storage__get_le64(p + 12);
	if (body_size(m) > n) {
		return -1;
	}
	m->topic = p + BODY_FIXED;
	m->props = m->topic + m->topic_len;
	m->payload = m->props + m->props_len;
	return 0;
}

size_t
storage__msg_size(const struct storage_msg *m)
{
	return 5 + body_size(m);
}

void
storage__msg_encode(uint8_t *p, const struct storage_msg *m)
{
	/* Stored with no references: queue_put operations add them. */
	storage__le32(p, 0);
	p[4] = VV;
	body_encode(p + 5, m);
}

int
storage__msg_decode(const MDB_val *k, const MDB_val *v, uint32_t *refs,
    struct storage_msg *m)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != 8 || v->mv_size < 5 || p[4] != VV) {
		return -1;
	}
	*refs = storage__get_le32(p);
	m->id = storage__get_be64(k->mv_data);
	return body_decode(p + 5, v->mv_size - 5, m);
}

size_t
storage__retain_size(const struct storage_msg *m)
{
	return 1 + body_size(m);
}

void
storage__retain_encode(uint8_t *p, const struct storage_msg *m)
{
	p[0] = VV;
	body_encode(p + 1, m);
}

int
storage__retain_decode(const MDB_val *v, struct storage_msg *m)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < 1 || p[0] != VV) {
		return -1;
	}
	m->id = 0;
	return body_decode(p + 1, v->mv_size - 1, m);
}

size_t
storage__session_size(const struct storage_session *s)
{
	return SESSION_FIXED + (s->has_will ? body_size(&s->will) : 0);
}

void
storage__session_encode(uint8_t *p, const struct storage_session *s)
{
	p[0] = VV;
	p[1] = s->version;
	p[2] = s->has_will ? SESSION_WILL_FLAG : 0;
	p[3] = 0;
	storage__le32(p + 4, s->expiry);
	storage__le64(p + 8, s->disconnected_at);
	storage__le32(p + 16, s->will_delay);
	if (s->has_will) {
		body_encode(p + SESSION_FIXED, &s->will);
	}
}

int
storage__session_decode(const MDB_val *k, const MDB_val *v,
    struct storage_session *s)
{
	const uint8_t *p = v->mv_data;

	memset(s, 0, sizeof(*s));
	if (storage__owner_len(k) != k->mv_size ||
	    v->mv_size < SESSION_FIXED || p[0] != VV) {
		return -1;
	}
	s->id = (const char *)k->mv_data + 2;
	s->id_len = (uint16_t)(k->mv_size - 2);
	s->version = p[1];
	s->has_will = (p[2] & SESSION_WILL_FLAG) != 0;
	s->expiry = storage__get_le32(p + 4);
	s->disconnected_at = storage__get_le64(p + 8);
	s->will_delay = storage__get_le32(p + 16);
	if (s->has_will) {
		return body_decode(p + SESSION_FIXED,
		    v->mv_size - SESSION_FIXED, &s->will);
	}
	return 0;
}

void
storage__sub_encode(uint8_t *p, const struct storage_sub *sub)
{
	p[0] = VV;
	p[1] = sub->qos;
	p[2] = (uint8_t)((sub->no_local ? SUB_NO_LOCAL : 0) |
	    (sub->retain_as_published ? SUB_RAP : 0));
	p[3] = sub->retain_handling;
	storage__le32(p + 4, sub->sub_id);
}

int
storage__sub_decode(const MDB_val *k, const MDB_val *v,
    struct storage_sub *sub)
{
	size_t plen = storage__owner_len(k);
	const uint8_t *p = v->mv_data;

	if (plen == 0 || v->mv_size < STORAGE_SUB_SIZE || p[0] != VV) {
		return -1;
	}
	sub->filter = (const uint8_t *)k->mv_data + plen;
	sub->flen = (uint16_t)(k->mv_size - plen);
	sub->qos = p[1];
	sub->no_local = (p[2] & SUB_NO_LOCAL) != 0;
	sub->retain_as_published = (p[2] & SUB_RAP) != 0;
	sub->retain_handling = p[3];
	sub->sub_id = storage__get_le32(p + 4);
	return 0;
}

void
storage__qentry_encode(uint8_t *p, const struct storage_qentry *q)
{
	p[0] = VV;
	storage__le16(p + 1, q->pid);
	p[3] = q->qos;
	p[4] = q->state;
	p[5] = q->retain ? QENTRY_RETAIN : 0;
	storage__le32(p + 6, q->sub_id);
}

int
storage__qentry_decode(const MDB_val *k, const MDB_val *v,
    struct storage_qentry *q)
{
	size_t plen = storage__owner_len(k);
	const uint8_t *p = v->mv_data;

	if (plen == 0 || k->mv_size != plen + 8 ||
	    v->mv_size < STORAGE_QENTRY_SIZE || p[0] != VV) {
		return -1;
	}
	q->msg_id = storage__get_be64((const uint8_t *)k->mv_data + plen);
	q->pid = storage__get_le16(p + 1);
	q->qos = p[3];
	q->state = p[4];
	q->retain = (p[5] & QENTRY_RETAIN) != 0;
	q->sub_id = storage__get_le32(p + 6);
	return 0;
}

void
storage__qos2_encode(uint8_t *p)
{
	p[0] = VV;
}

int
storage__qos2_decode(const MDB_val *k, uint16_t *pid)
{
	size_t plen = storage__owner_len(k);
	const uint8_t *p = (const uint8_t *)k->mv_data + plen;

	if (plen == 0 || k->mv_size != plen + 2) {
		return -1;
	}
	*pid = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}
