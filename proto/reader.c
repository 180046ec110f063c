/*
 * reader.c - cutting a byte stream into packets (struct proto_reader).
 *
 * Design notes.  The common case is a read that holds one or more whole
 * packets: those are decoded in place from the caller's buffer and nothing
 * is copied or allocated.  Only a packet cut by the end of a read is kept,
 * in a buffer owned by the reader: first its fixed header (at most 5 bytes,
 * in hdr[]), which is checked at once - type, flags, and size against
 * max_packet - so a peer cannot make us allocate for a packet we will
 * refuse; then the body, in a buffer that grows to at most twice the bytes
 * that have arrived (and never past the announced size).  Once a buffered
 * packet has been handed out, its buffer is freed on the next call, so an
 * idle connection holds no packet memory.  One owner thread.
 */
#include "proto/internal.h"

#include <stdlib.h>

#define MIN_ALLOC 64u

void
proto_reader_init(struct proto_reader *r, uint32_t max_packet)
{
	memset(r, 0, sizeof(*r));
	r->max_packet = max_packet != 0 ? max_packet : PROTO_MAX_PACKET;
}

static void
reset(struct proto_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	r->have = 0;
	r->total = 0;
	r->hdr_len = 0;
	r->done = false;
}

void
proto_reader_fini(struct proto_reader *r)
{
	reset(r);
}

size_t
proto_reader_pending(const struct proto_reader *r)
{
	return r->done ? 0 : (size_t)r->cap + r->hdr_len;
}

static int
check_first(const struct proto_reader *r, uint8_t b)
{
	return proto__check_first(b,
	    (b >> 4) == PROTO_CONNECT ? PROTO_V5 : r->version);
}

/* Decodes a complete packet and learns the protocol level from CONNECT. */
static int
finish(struct proto_reader *r, const uint8_t *p, size_t n,
    struct proto_packet *out)
{
	int rc = proto_decode(p, n, r->version, 0, out);

	if (rc == 0 && r->version == 0 && out->type == PROTO_CONNECT) {
		r->version = out->version;
	}
	return rc;
}

static int
fail(struct proto_reader *r, int rc)
{
	r->err = rc;
	return rc;
}

/* Makes room for `want` bytes in buf: at least doubling, never beyond the
 * packet's announced total. */
static int
grow(struct proto_reader *r, uint32_t want)
{
	uint32_t ncap;
	uint8_t *nb;

	if (want <= r->cap) {
		return 0;
	}
	ncap = r->cap * 2 > want ? r->cap * 2 : want;
	if (ncap < MIN_ALLOC) {
		ncap = MIN_ALLOC;
	}
	if (ncap > r->total) {
		ncap = r->total;
	}
	nb = realloc(r->buf, ncap);
	if (nb == NULL) {
		return PROTO_ENOMEM;
	}
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

int
proto_reader_feed(struct proto_reader *r, const uint8_t *data, size_t len,
    size_t *used, struct proto_packet *out)
{
	size_t i = 0;
	int rc;

	*used = 0;
	if (r->err != 0) {
		return r->err;
	}
	if (r->done) {
		reset(r);
	}
	if (len == 0) {
		return PROTO_MORE;
	}

	/* Fast path: a whole packet at the start of data. */
	if (r->hdr_len == 0) {
		uint32_t rem;
		size_t vu;

		if ((rc = check_first(r, data[0])) != 0) {
			return fail(r, rc);
		}
		rc = proto_varint_decode(data + 1, len - 1, &rem, &vu);
		if (rc == PROTO_EVARINT) {
			return fail(r, rc);
		}
		if (rc == 0) {
			size_t total = 1 + vu + (size_t)rem;

			if (total > r->max_packet) {
				return fail(r, PROTO_ETOOLARGE);
			}
			if (total <= len) {
				rc = finish(r, data, total, out);
				if (rc != 0) {
					return fail(r, rc);
				}
				*used = total;
				return 0;
			}
		}
	}

	/* Slow path: the fixed header, byte by byte. */
	while (r->total == 0) {
		uint32_t rem;
		size_t vu;

		if (i == len) {
			*used = len;
			return PROTO_MORE;
		}
		r->hdr[r->hdr_len++] = data[i++];
		if (r->hdr_len == 1) {
			if ((rc = check_first(r, r->hdr[0])) != 0) {
				return fail(r, rc);
			}
			continue;
		}
		rc = proto_varint_decode(r->hdr + 1, r->hdr_len - 1u, &rem,
		    &vu);
		if (rc == PROTO_MORE) {
			continue;
		}
		if (rc != 0) {
			return fail(r, rc);
		}
		if (1 + vu + (size_t)rem > r->max_packet) {
			return fail(r, PROTO_ETOOLARGE);
		}
		r->total = (uint32_t)(1 + vu + rem);
	}

	/* A packet with no body (PINGREQ, DISCONNECT...) is all header. */
	if (r->total == r->hdr_len) {
		rc = finish(r, r->hdr, r->hdr_len, out);
		r->done = true;
		*used = i;
		return rc != 0 ? fail(r, rc) : 0;
	}
	if (r->have == 0) {
		uint32_t arrived = r->hdr_len + (uint32_t)(len - i);

		if ((rc = grow(r, arrived < r->total ? arrived : r->total))) {
			return fail(r, rc);
		}
		memcpy(r->buf, r->hdr, r->hdr_len);
		r->have = r->hdr_len;
	}
	size_t take = len - i;
	if (take > r->total - r->have) {
		take = r->total - r->have;
	}
	if ((rc = grow(r, r->have + (uint32_t)take)) != 0) {
		return fail(r, rc);
	}
	memcpy(r->buf + r->have, data + i, take);
	r->have += (uint32_t)take;
	*used = i + take;
	if (r->have < r->total) {
		return PROTO_MORE;
	}
	r->done = true;
	rc = finish(r, r->buf, r->total, out);
	return rc != 0 ? fail(r, rc) : 0;
}
