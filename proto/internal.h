/*
 * internal.h - helpers shared by the files of proto/, not exported.
 *
 * A `struct proto__cur` is a bounds-checked read cursor over one packet; a
 * `struct proto__wr` is a write cursor that counts what it would write even
 * past the end of its buffer, so one pass both sizes and fills.
 */
#ifndef PROTO_INTERNAL_H
#define PROTO_INTERNAL_H

#include "proto/proto.h"

#include <string.h>

struct proto__cur {
	const uint8_t *p;
	const uint8_t *end;
};

static inline size_t
proto__left(const struct proto__cur *c)
{
	return (size_t)(c->end - c->p);
}

static inline int
proto__u8(struct proto__cur *c, uint8_t *v)
{
	if (c->p >= c->end) {
		return PROTO_ESHORT;
	}
	*v = *c->p++;
	return 0;
}

static inline int
proto__u16(struct proto__cur *c, uint16_t *v)
{
	if (proto__left(c) < 2) {
		return PROTO_ESHORT;
	}
	*v = (uint16_t)((c->p[0] << 8) | c->p[1]);
	c->p += 2;
	return 0;
}

static inline int
proto__u32(struct proto__cur *c, uint32_t *v)
{
	if (proto__left(c) < 4) {
		return PROTO_ESHORT;
	}
	*v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
	    ((uint32_t)c->p[2] << 8) | c->p[3];
	c->p += 4;
	return 0;
}

/* A variable byte integer inside a packet: running out of bytes is a
 * malformed packet here, not "need more". */
static inline int
proto__varint(struct proto__cur *c, uint32_t *v)
{
	size_t used;
	int rc = proto_varint_decode(c->p, proto__left(c), v, &used);

	if (rc == PROTO_MORE) {
		return PROTO_ESHORT;
	}
	if (rc == 0) {
		c->p += used;
	}
	return rc;
}

/* Two-byte length followed by that many bytes. */
static inline int
proto__bin(struct proto__cur *c, struct proto_str *s)
{
	uint16_t n;
	int rc = proto__u16(c, &n);

	if (rc != 0) {
		return rc;
	}
	if (proto__left(c) < n) {
		return PROTO_ESHORT;
	}
	s->ptr = c->p;
	s->len = n;
	c->p += n;
	return 0;
}

/* A UTF-8 Encoded String: binary data that must pass proto_utf8_check. */
static inline int
proto__utf8(struct proto__cur *c, struct proto_str *s)
{
	int rc = proto__bin(c, s);

	if (rc != 0) {
		return rc;
	}
	return proto_utf8_check(s->ptr, s->len, NULL);
}

struct proto__wr {
	uint8_t *p;
	uint8_t *end;
	size_t n; /* bytes written or that would have been */
};

static inline void
proto__w_bytes(struct proto__wr *w, const void *b, size_t len)
{
	if (len != 0 && (size_t)(w->end - w->p) >= len) {
		memcpy(w->p, b, len);
		w->p += len;
	} else if (len != 0) {
		w->p = w->end; /* overflowed: stop writing, keep counting */
	}
	w->n += len;
}

static inline void
proto__w_u8(struct proto__wr *w, uint8_t v)
{
	proto__w_bytes(w, &v, 1);
}

static inline void
proto__w_u16(struct proto__wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	proto__w_bytes(w, b, 2);
}

static inline void
proto__w_u32(struct proto__wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };
	proto__w_bytes(w, b, 4);
}

static inline void
proto__w_varint(struct proto__wr *w, uint32_t v)
{
	uint8_t b[4];
	proto__w_bytes(w, b, proto_varint_encode(v, b));
}

static inline void
proto__w_str(struct proto__wr *w, struct proto_str s)
{
	proto__w_u16(w, (uint16_t)s.len);
	proto__w_bytes(w, s.ptr, s.len);
}

/* props.c: decode a property block (length prefix included) in context ctx
 * (packet type or PROTO_CTX_WILL) into *out. */
int proto__props_decode(struct proto__cur *c, uint8_t ctx,
    struct proto_props *out);

/* props.c: size of the property block without its length prefix, or
 * SIZE_MAX if a value cannot be encoded. */
size_t proto__props_size(const struct proto_props *p);

/* props.c: write the block without its length prefix and without `extra`. */
void proto__props_write(struct proto__wr *w, const struct proto_props *p);

/* decode.c: checks the first byte of a packet (type and reserved flags)
 * for protocol level version (0: not yet known).  Returns 0, PROTO_ETYPE,
 * PROTO_EFLAGS or PROTO_EQOS. */
int proto__check_first(uint8_t b, uint8_t version);

#endif /* PROTO_INTERNAL_H */
