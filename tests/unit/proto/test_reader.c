/*
 * test_reader.c - the incremental decoder, struct proto_reader: streams
 * split at every byte, memory held for a large packet arriving in pieces,
 * in-place decoding of whole packets, the protocol level learnt from
 * CONNECT, sticky errors, empty feeds and freeing.
 *
 * Streams are built from the samples of packets.c, encoded with proto/
 * (the hand-written bytes live in test_malformed.c).  Every test frees what
 * it allocates and finishes every reader it starts.  One thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/proto.h"
#include "unit/proto/packets.h"

/* Encodes pkt into a new buffer (the caller frees) and stores its size. */
static uint8_t *
encode_alloc(const struct proto_packet *pkt, size_t *len)
{
	size_t need = proto_encode_size(pkt), got = 0;
	uint8_t *buf;

	assert_true(need > 0);
	buf = malloc(need);
	assert_non_null(buf);
	assert_int_equal(proto_encode(pkt, buf, need, &got), PROTO_OK);
	assert_int_equal(got, need);
	*len = need;
	return buf;
}

/* A stream of the samples of version v no bigger than `limit` bytes each,
 * in order; their indexes go to idx[] (caller frees both). */
struct stream {
	uint8_t *bytes;
	size_t len;
	size_t *idx;
	size_t *size;
	size_t count;
};

static void
stream_build(struct stream *s, uint8_t v, size_t limit)
{
	size_t n, i, total = 0, one;
	const struct proto_packet *p = test_pkt_samples(v, &n);

	memset(s, 0, sizeof(*s));
	s->idx = calloc(n, sizeof(*s->idx));
	s->size = calloc(n, sizeof(*s->size));
	assert_non_null(s->idx);
	assert_non_null(s->size);
	for (i = 0; i < n; i++) {
		size_t sz = proto_encode_size(&p[i]);

		assert_true(sz > 0);
		if (sz <= limit) {
			s->idx[s->count] = i;
			s->size[s->count++] = sz;
			total += sz;
		}
	}
	s->bytes = malloc(total);
	assert_non_null(s->bytes);
	for (i = 0; i < s->count; i++) {
		assert_int_equal(proto_encode(&p[s->idx[i]], s->bytes + s->len,
		    total - s->len, &one), PROTO_OK);
		s->len += one;
	}
	assert_int_equal(s->len, total);
}

static void
stream_free(struct stream *s)
{
	free(s->bytes);
	free(s->idx);
	free(s->size);
}

/* Feeds data[0..len) to r, checking every packet that comes out against
 * the next expected sample; *next counts the packets seen. */
static void
feed_and_check(struct proto_reader *r, const struct stream *s, uint8_t v,
    const uint8_t *data, size_t len, size_t *next)
{
	size_t n;
	const struct proto_packet *samples = test_pkt_samples(v, &n);

	while (len > 0) {
		struct proto_packet got;
		size_t used = 0;
		int rc;

		memset(&got, 0xA5, sizeof(got));
		rc = proto_reader_feed(r, data, len, &used, &got);
		assert_true(used <= len);
		if (rc == PROTO_MORE) {
			assert_int_equal(used, len);
			return;
		}
		assert_int_equal(rc, PROTO_OK);
		assert_true(used > 0);
		assert_true(*next < s->count);
		if (!test_pkt_equal(&samples[s->idx[*next]], &got)) {
			print_error("v%u sample %zu (%s)\n", v, s->idx[*next],
			    test_pkt_sample_name(v, s->idx[*next]));
			fail();
		}
		assert_int_equal(got.size, s->size[*next]);
		(*next)++;
		data += used;
		len -= used;
	}
}

static void
split_at_every_byte_gives_the_same_packets(void **state)
{
	static const uint8_t versions[] = { 3, 4, 5 };
	size_t vi, cut;

	(void)state;
	for (vi = 0; vi < sizeof(versions); vi++) {
		struct stream s;

		stream_build(&s, versions[vi], 1024);
		assert_true(s.count > 10);
		for (cut = 0; cut <= s.len; cut++) {
			struct proto_reader r;
			size_t next = 0;

			proto_reader_init(&r, 0);
			r.version = versions[vi];
			feed_and_check(&r, &s, versions[vi], s.bytes, cut,
			    &next);
			feed_and_check(&r, &s, versions[vi], s.bytes + cut,
			    s.len - cut, &next);
			assert_int_equal(next, s.count);
			assert_int_equal(proto_reader_pending(&r), 0);
			proto_reader_fini(&r);
		}
		stream_free(&s);
	}
}

/* Three cuts: every pair of cut points over a stream of small packets. */
static void
split_at_every_pair_of_bytes_gives_the_same_packets(void **state)
{
	struct stream s;
	size_t a, b;

	(void)state;
	stream_build(&s, 5, 40);
	assert_true(s.count >= 5);
	for (a = 0; a <= s.len; a++) {
		for (b = a; b <= s.len; b++) {
			struct proto_reader r;
			size_t next = 0;

			proto_reader_init(&r, 0);
			r.version = 5;
			feed_and_check(&r, &s, 5, s.bytes, a, &next);
			feed_and_check(&r, &s, 5, s.bytes + a, b - a, &next);
			feed_and_check(&r, &s, 5, s.bytes + b, s.len - b,
			    &next);
			assert_int_equal(next, s.count);
			proto_reader_fini(&r);
		}
	}
	stream_free(&s);
}

#define BIG_PAYLOAD (1024u * 1024u)
#define CHUNK 1000u
#define SLACK 64u

/* A 1 MiB PUBLISH arriving 1000 bytes at a time: the reader never holds
 * more than twice what has arrived (plus a small constant), and the packet
 * comes out whole and intact. */
static void
big_publish_in_chunks_holds_at_most_twice_what_arrived(
    void **state)
{
	uint8_t *payload = malloc(BIG_PAYLOAD);
	struct proto_packet pkt = { .type = PROTO_PUBLISH, .version = 5,
		.publish = { .qos = 1, .packet_id = 9,
		    .topic = { (const uint8_t *)"big/one", 7 },
		    .payload = { NULL, BIG_PAYLOAD } } };
	struct proto_reader r;
	struct proto_packet got;
	size_t len, off = 0, i, max_pending = 0;
	uint8_t *buf;
	int rc = PROTO_MORE;

	(void)state;
	assert_non_null(payload);
	for (i = 0; i < BIG_PAYLOAD; i++) {
		payload[i] = (uint8_t)(i * 31 + (i >> 10));
	}
	pkt.publish.payload.ptr = payload;
	buf = encode_alloc(&pkt, &len);

	proto_reader_init(&r, 0);
	r.version = 5;
	while (off < len) {
		size_t n = len - off < CHUNK ? len - off : CHUNK, used = 0;
		size_t pending;

		rc = proto_reader_feed(&r, buf + off, n, &used, &got);
		assert_int_equal(used, n);
		off += n;
		if (rc != PROTO_MORE) {
			break;
		}
		pending = proto_reader_pending(&r);
		if (pending > 2 * off + SLACK) {
			print_error("after %zu bytes the reader holds %zu\n",
			    off, pending);
			fail();
		}
		if (pending > max_pending) {
			max_pending = pending;
		}
	}
	assert_int_equal(rc, PROTO_OK);
	assert_int_equal(off, len);
	assert_true(max_pending >= len / 2); /* it did keep the bytes */
	assert_int_equal(got.size, len);
	assert_int_equal(got.publish.payload.len, BIG_PAYLOAD);
	assert_memory_equal(got.publish.payload.ptr, payload, BIG_PAYLOAD);
	assert_true(test_pkt_equal(&pkt, &got));

	/* The next call releases the packet's buffer. */
	assert_int_equal(proto_reader_feed(&r, NULL, 0, &i, &got), PROTO_MORE);
	assert_int_equal(i, 0);
	assert_int_equal(proto_reader_pending(&r), 0);
	proto_reader_fini(&r);
	free(buf);
	free(payload);
}

static bool
points_into(const void *p, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	return a >= b && a < b + len;
}

/* A packet that lies whole in the caller's data is decoded from there:
 * its payload view points into the fed buffer. */
static void
whole_packet_is_decoded_in_place(void **state)
{
	struct proto_packet pkt = { .type = PROTO_PUBLISH, .version = 4,
		.publish = { .qos = 0, .topic = { (const uint8_t *)"t", 1 },
		    .payload = { (const uint8_t *)"in place", 8 } } };
	struct proto_reader r;
	struct proto_packet got;
	size_t len, used = 0;
	uint8_t *buf = encode_alloc(&pkt, &len);

	(void)state;
	proto_reader_init(&r, 0);
	r.version = 4;
	assert_int_equal(proto_reader_feed(&r, buf, len, &used, &got),
	    PROTO_OK);
	assert_int_equal(used, len);
	assert_true(points_into(got.publish.payload.ptr, buf, len));
	assert_true(points_into(got.publish.topic.ptr, buf, len));
	assert_true(test_pkt_equal(&pkt, &got));
	assert_int_equal(proto_reader_pending(&r), 0);
	proto_reader_fini(&r);
	free(buf);
}

/* After a packet split over two feeds, the next packet, whole inside the
 * second feed, is decoded in place, while the split one was copied. */
static void
packet_after_a_split_one_is_decoded_in_place(void **state)
{
	struct proto_packet a = { .type = PROTO_PUBLISH, .version = 5,
		.publish = { .qos = 1, .packet_id = 1,
		    .topic = { (const uint8_t *)"a", 1 },
		    .payload = { (const uint8_t *)"first packet", 12 } } };
	struct proto_packet b = { .type = PROTO_PUBLISH, .version = 5,
		.publish = { .qos = 2, .packet_id = 2,
		    .topic = { (const uint8_t *)"b", 1 },
		    .payload = { (const uint8_t *)"second packet", 13 } } };
	struct proto_reader r;
	struct proto_packet got;
	size_t la, lb, used = 0, half;
	uint8_t *ea = encode_alloc(&a, &la);
	uint8_t *eb = encode_alloc(&b, &lb);
	uint8_t *first, *second;

	(void)state;
	half = la / 2;
	first = malloc(half);
	second = malloc(la - half + lb);
	assert_non_null(first);
	assert_non_null(second);
	memcpy(first, ea, half);
	memcpy(second, ea + half, la - half);
	memcpy(second + la - half, eb, lb);

	proto_reader_init(&r, 0);
	r.version = 5;
	assert_int_equal(proto_reader_feed(&r, first, half, &used, &got),
	    PROTO_MORE);
	assert_int_equal(used, half);
	assert_true(proto_reader_pending(&r) > 0);
	/* The reader may not keep pointers into data it has consumed. */
	memset(first, 0xEE, half);
	assert_int_equal(proto_reader_feed(&r, second, la - half + lb, &used,
	    &got), PROTO_OK);
	assert_int_equal(used, la - half);
	assert_true(test_pkt_equal(&a, &got));
	assert_false(points_into(got.publish.payload.ptr, first, half));
	assert_false(points_into(got.publish.payload.ptr, second,
	    la - half + lb));

	assert_int_equal(proto_reader_feed(&r, second + used,
	    la - half + lb - used, &used, &got), PROTO_OK);
	assert_int_equal(used, lb);
	assert_true(test_pkt_equal(&b, &got));
	assert_true(points_into(got.publish.payload.ptr, second + la - half,
	    lb));
	assert_int_equal(proto_reader_pending(&r), 0);

	proto_reader_fini(&r);
	free(second);
	free(first);
	free(eb);
	free(ea);
}

/* Several whole packets in one feed come out one per call, each consuming
 * exactly its own bytes. */
static void
packets_in_one_feed_come_out_one_per_call(void **state)
{
	struct stream s;
	struct proto_reader r;
	size_t i, off = 0;

	(void)state;
	stream_build(&s, 4, 1024);
	proto_reader_init(&r, 0);
	r.version = 4;
	for (i = 0; i < s.count; i++) {
		struct proto_packet got;
		size_t used = 0;

		assert_int_equal(proto_reader_feed(&r, s.bytes + off,
		    s.len - off, &used, &got), PROTO_OK);
		assert_int_equal(used, s.size[i]);
		assert_int_equal(got.size, s.size[i]);
		off += used;
	}
	assert_int_equal(off, s.len);
	proto_reader_fini(&r);
	stream_free(&s);
}

/* Finds the first sample of version v of the given type. */
static const struct proto_packet *
sample_of(uint8_t v, uint8_t type)
{
	size_t n, i;
	const struct proto_packet *p = test_pkt_samples(v, &n);

	for (i = 0; i < n; i++) {
		if (p[i].type == type) {
			return &p[i];
		}
	}
	fail();
	return NULL;
}

/* While r->version is 0 a CONNECT sets it to its own level; packets before
 * that decode as 3.1.1. */
static void
connect_sets_the_reader_version_to_its_level(void **state)
{
	/* MQTT 5 PUBACK with reason 0x10 and empty properties. */
	static const uint8_t puback5[] = { 0x40, 0x04, 0x00, 0x07, 0x10,
		0x00 };
	static const uint8_t levels[] = { 3, 4, 5 };
	size_t li;

	(void)state;
	for (li = 0; li < sizeof(levels); li++) {
		struct proto_reader r;
		struct proto_packet got;
		size_t len, used = 0;
		uint8_t *buf =
		    encode_alloc(sample_of(levels[li], PROTO_CONNECT), &len);

		proto_reader_init(&r, 0);
		assert_int_equal(r.version, 0);
		assert_int_equal(proto_reader_feed(&r, buf, len, &used, &got),
		    PROTO_OK);
		assert_int_equal(got.type, PROTO_CONNECT);
		assert_int_equal(got.version, levels[li]);
		assert_int_equal(r.version, levels[li]);
		used = 0;
		assert_int_equal(proto_reader_feed(&r, puback5,
		    sizeof(puback5), &used, &got),
		    levels[li] == 5 ? PROTO_OK : PROTO_ETRAILING);
		if (levels[li] == 5) {
			assert_int_equal(got.ack.reason, 0x10);
			assert_int_equal(got.version, 5);
		}
		proto_reader_fini(&r);
		free(buf);
	}
}

/* The same, with the CONNECT arriving one byte at a time. */
static void
connect_fed_byte_by_byte_sets_the_reader_version(void **state)
{
	struct proto_reader r;
	struct proto_packet got;
	size_t len, i, used;
	uint8_t *buf = encode_alloc(sample_of(5, PROTO_CONNECT), &len);

	(void)state;
	proto_reader_init(&r, 0);
	for (i = 0; i + 1 < len; i++) {
		assert_int_equal(proto_reader_feed(&r, buf + i, 1, &used,
		    &got), PROTO_MORE);
		assert_int_equal(r.version, 0);
	}
	assert_int_equal(proto_reader_feed(&r, buf + i, 1, &used, &got),
	    PROTO_OK);
	assert_int_equal(r.version, 5);
	proto_reader_fini(&r);
	free(buf);
}

/* Before any CONNECT, other packets decode as 3.1.1, and the level stays
 * unknown. */
static void
packets_before_connect_decode_as_311(void **state)
{
	static const uint8_t puback311[] = { 0x40, 0x02, 0x00, 0x07 };
	static const uint8_t puback5[] = { 0x40, 0x03, 0x00, 0x07, 0x10 };
	static const uint8_t auth[] = { 0xF0, 0x00 };
	struct proto_reader r;
	struct proto_packet got;
	size_t used = 0;

	(void)state;
	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_feed(&r, puback311, sizeof(puback311),
	    &used, &got), PROTO_OK);
	assert_int_equal(got.version, 4);
	assert_int_equal(r.version, 0);
	assert_int_equal(proto_reader_feed(&r, puback5, sizeof(puback5), &used,
	    &got), PROTO_ETRAILING);
	proto_reader_fini(&r);

	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_feed(&r, auth, sizeof(auth), &used,
	    &got), PROTO_ETYPE);
	proto_reader_fini(&r);
}

/* Once known, the level is not changed by a later CONNECT. */
static void
second_connect_does_not_change_the_reader_version(void **state)
{
	struct proto_reader r;
	struct proto_packet got;
	size_t l5, l4, used = 0;
	uint8_t *c5 = encode_alloc(sample_of(5, PROTO_CONNECT), &l5);
	uint8_t *c4 = encode_alloc(sample_of(4, PROTO_CONNECT), &l4);

	(void)state;
	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_feed(&r, c5, l5, &used, &got), PROTO_OK);
	assert_int_equal(r.version, 5);
	assert_int_equal(proto_reader_feed(&r, c4, l4, &used, &got), PROTO_OK);
	assert_int_equal(got.version, 4);
	assert_int_equal(r.version, 5);
	proto_reader_fini(&r);
	free(c4);
	free(c5);
}

/* Once the stream is broken, every later call reports the same error and
 * consumes nothing, whatever it is given. */
static void
errors_are_sticky(void **state)
{
	static const uint8_t bad[] = { 0x00, 0x00 };
	static const uint8_t ping[] = { 0xC0, 0x00 };
	struct proto_reader r;
	struct proto_packet got;
	size_t used = 0;

	(void)state;
	proto_reader_init(&r, 0);
	r.version = 4;
	assert_int_equal(proto_reader_feed(&r, bad, sizeof(bad), &used, &got),
	    PROTO_ETYPE);
	used = 99;
	assert_int_equal(proto_reader_feed(&r, ping, sizeof(ping), &used,
	    &got),
	    PROTO_ETYPE);
	assert_int_equal(used, 0);
	assert_int_equal(proto_reader_feed(&r, NULL, 0, &used, &got),
	    PROTO_ETYPE);
	proto_reader_fini(&r);
}

/* A broken packet that was buffered (split over feeds) is reported when it
 * completes, and stays reported. */
static void
error_in_a_split_packet_is_reported_when_it_completes(void **state)
{
	/* PUBLISH with a wildcard topic, cut after 3 bytes. */
	static const uint8_t bad[] = { 0x30, 0x05, 0x00, 0x03, 'a', '/', '#' };
	static const uint8_t ping[] = { 0xC0, 0x00 };
	struct proto_reader r;
	struct proto_packet got;
	size_t used = 0;

	(void)state;
	proto_reader_init(&r, 0);
	r.version = 4;
	assert_int_equal(proto_reader_feed(&r, bad, 3, &used, &got),
	    PROTO_MORE);
	assert_int_equal(proto_reader_feed(&r, bad + 3, sizeof(bad) - 3, &used,
	    &got), PROTO_ETOPIC);
	assert_int_equal(proto_reader_feed(&r, ping, sizeof(ping), &used,
	    &got),
	    PROTO_ETOPIC);
	proto_reader_fini(&r);
}

static void
feeding_nothing_after_a_packet_returns_more(void **state)
{
	static const uint8_t ping[] = { 0xC0, 0x00 };
	struct proto_reader r;
	struct proto_packet got;
	size_t used = 99;

	(void)state;
	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_feed(&r, NULL, 0, &used, &got),
	    PROTO_MORE);
	assert_int_equal(used, 0);
	/* After a packet decoded in place. */
	assert_int_equal(proto_reader_feed(&r, ping, sizeof(ping), &used,
	    &got),
	    PROTO_OK);
	used = 99;
	assert_int_equal(proto_reader_feed(&r, ping, 0, &used, &got),
	    PROTO_MORE);
	assert_int_equal(used, 0);
	/* After a packet assembled from two feeds. */
	assert_int_equal(proto_reader_feed(&r, ping, 1, &used, &got),
	    PROTO_MORE);
	assert_int_equal(proto_reader_feed(&r, ping + 1, 1, &used, &got),
	    PROTO_OK);
	assert_int_equal(got.type, PROTO_PINGREQ);
	used = 99;
	assert_int_equal(proto_reader_feed(&r, NULL, 0, &used, &got),
	    PROTO_MORE);
	assert_int_equal(used, 0);
	assert_int_equal(proto_reader_pending(&r), 0);
	/* And again: nothing is pending, nothing comes out. */
	assert_int_equal(proto_reader_feed(&r, NULL, 0, &used, &got),
	    PROTO_MORE);
	proto_reader_fini(&r);
}

/* A packet of exactly max_packet bytes passes, one byte more fails, fed
 * whole or byte by byte. */
static void
max_packet_is_inclusive(void **state)
{
	struct proto_packet pkt = { .type = PROTO_PUBLISH, .version = 4,
		.publish = { .qos = 0, .topic = { (const uint8_t *)"m", 1 },
		    .payload = { (const uint8_t *)"0123456789", 10 } } };
	size_t len, used, i;
	uint8_t *buf = encode_alloc(&pkt, &len);
	struct proto_reader r;
	struct proto_packet got;
	int rc;

	(void)state;
	proto_reader_init(&r, (uint32_t)len);
	assert_int_equal(proto_reader_feed(&r, buf, len, &used, &got),
	    PROTO_OK);
	proto_reader_fini(&r);

	proto_reader_init(&r, (uint32_t)len - 1);
	assert_int_equal(proto_reader_feed(&r, buf, len, &used, &got),
	    PROTO_ETOOLARGE);
	proto_reader_fini(&r);

	proto_reader_init(&r, (uint32_t)len - 1);
	rc = PROTO_MORE;
	for (i = 0; i < len && rc == PROTO_MORE; i++) {
		rc = proto_reader_feed(&r, buf + i, 1, &used, &got);
	}
	assert_int_equal(rc, PROTO_ETOOLARGE);
	assert_int_equal(i, 2); /* known after the fixed header */
	proto_reader_fini(&r);
	free(buf);
}

/* fini frees a partly received packet (LeakSanitizer checks), and the
 * reader can be started again afterwards. */
static void
fini_frees_a_partial_packet_and_the_reader_can_be_reused(void **state)
{
	static uint8_t payload[5000];
	struct proto_packet pkt = { .type = PROTO_PUBLISH, .version = 4,
		.publish = { .qos = 1, .packet_id = 3,
		    .topic = { (const uint8_t *)"p", 1 },
		    .payload = { payload, sizeof(payload) } } };
	size_t len, used = 0;
	uint8_t *buf = encode_alloc(&pkt, &len);
	struct proto_reader r;
	struct proto_packet got;

	(void)state;
	proto_reader_init(&r, 0);
	r.version = 4;
	assert_int_equal(proto_reader_feed(&r, buf, len / 2, &used, &got),
	    PROTO_MORE);
	assert_true(proto_reader_pending(&r) >= len / 2);
	proto_reader_fini(&r);

	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_pending(&r), 0);
	r.version = 4;
	assert_int_equal(proto_reader_feed(&r, buf, 7, &used, &got),
	    PROTO_MORE);
	assert_int_equal(proto_reader_feed(&r, buf + 7, len - 7, &used, &got),
	    PROTO_OK);
	assert_true(test_pkt_equal(&pkt, &got));
	proto_reader_fini(&r);
	/* fini of a reader that never held anything. */
	proto_reader_init(&r, 0);
	proto_reader_fini(&r);
	free(buf);
}

/* Test names are long sentences; this keeps the list readable. */
#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(split_at_every_byte_gives_the_same_packets),
		T(split_at_every_pair_of_bytes_gives_the_same_packets),
		T(big_publish_in_chunks_holds_at_most_twice_what_arrived),
		T(whole_packet_is_decoded_in_place),
		T(packet_after_a_split_one_is_decoded_in_place),
		T(packets_in_one_feed_come_out_one_per_call),
		T(connect_sets_the_reader_version_to_its_level),
		T(connect_fed_byte_by_byte_sets_the_reader_version),
		T(packets_before_connect_decode_as_311),
		T(second_connect_does_not_change_the_reader_version),
		T(errors_are_sticky),
		T(error_in_a_split_packet_is_reported_when_it_completes),
		T(feeding_nothing_after_a_packet_returns_more),
		T(max_packet_is_inclusive),
		T(fini_frees_a_partial_packet_and_the_reader_can_be_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
