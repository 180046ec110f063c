/*
 * test_roundtrip.c - encodes every sample packet of packets.c with proto/,
 * decodes it again in every way proto/ offers (proto_decode, proto_reader
 * one byte at a time, proto_reader over a stream in random chunks) and
 * checks that nothing changed; checks proto_encode_iov against
 * proto_encode and the PROTO_ENOSPC contract; checks a few encodings
 * against bytes written by hand from the specifications.
 *
 * With STARLING_CORPUS_DIR set in the environment it also writes every
 * encoded sample there as a fuzz seed ("v<version>-<index>-<TYPE>.bin",
 * first byte the protocol level, then the packet).
 *
 * Everything a test allocates it frees before returning.  One thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/proto.h"
#include "unit/proto/packets.h"

static const uint8_t versions[] = { PROTO_V31, PROTO_V311, PROTO_V5 };
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

/* Which sample a failing check was looking at. */
static char where[256];

static void
set_where(uint8_t v, size_t i)
{
	snprintf(where, sizeof(where), "v%u sample %zu (%s)", v, i,
	    test_pkt_sample_name(v, i));
}

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			print_error("[%s] check failed: %s\n", where,   \
			    #cond);                                     \
			fail();                                         \
		}                                                       \
	} while (0)

#define CHECK_INT(a, b)                                                 \
	do {                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);     \
		if (a_ != b_) {                                         \
			print_error("[%s] %s == %s: %lld != %lld\n",    \
			    where, #a, #b, a_, b_);                     \
			fail();                                         \
		}                                                       \
	} while (0)

/* Encodes pkt into a new buffer of exactly proto_encode_size() bytes,
 * checking that proto_encode() writes that many.  The caller frees. */
static uint8_t *
encode_alloc(const struct proto_packet *pkt, size_t *len)
{
	size_t need = proto_encode_size(pkt);
	size_t got = 0;
	uint8_t *buf;

	CHECK(need > 0);
	buf = malloc(need);
	assert_non_null(buf);
	CHECK_INT(proto_encode(pkt, buf, need, &got), PROTO_OK);
	CHECK_INT(got, need);
	*len = need;
	return buf;
}

/* Decodes buf into *out after filling *out with a pattern, so that a field
 * the decoder forgets to set shows up as a difference. */
static int
decode_poisoned(const uint8_t *buf, size_t len, uint8_t version,
    uint32_t max, struct proto_packet *out)
{
	memset(out, 0xA5, sizeof(*out));
	return proto_decode(buf, len, version, max, out);
}

static void
samples_cover_every_packet_type_of_each_version(void **state)
{
	size_t v, i, n;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);
		uint32_t seen = 0, want;

		for (i = 0; i < n; i++) {
			set_where(versions[v], i);
			CHECK_INT(s[i].version, versions[v]);
			seen |= 1u << s[i].type;
		}
		/* Types 1..14, plus AUTH (15) in MQTT 5. */
		want = versions[v] == PROTO_V5 ? 0xFFFEu : 0x7FFEu;
		assert_int_equal(seen, want);
	}
	assert_null(test_pkt_samples(6, &n));
	assert_int_equal(n, 0);
}

static void
encode_size_equals_length_written_by_encode(void **state)
{
	size_t v, i, n, len;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			/* Fixed header: type and the wire flags. */
			CHECK_INT(buf[0] >> 4, s[i].type);
			CHECK_INT(buf[0] & 0x0F, test_pkt_wire_flags(&s[i]));
			free(buf);
		}
	}
}

static void
decode_of_encoded_sample_gives_equal_packet_and_size(void **state)
{
	size_t v, i, n, len;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			struct proto_packet got;
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			CHECK_INT(decode_poisoned(buf, len, versions[v], 0,
			    &got), PROTO_OK);
			CHECK_INT(got.size, len);
			CHECK(test_pkt_equal(&s[i], &got));
			free(buf);
		}
	}
}

/* A decoded CONNECT carries its own level; decoding it with any version
 * argument gives the same packet. */
static void
connect_decodes_the_same_whatever_version_is_passed(void **state)
{
	size_t v, i, n, len, w;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			uint8_t *buf;

			if (s[i].type != PROTO_CONNECT) {
				continue;
			}
			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			for (w = 0; w <= 5; w++) {
				struct proto_packet got;

				CHECK_INT(decode_poisoned(buf, len, (uint8_t)w,
				    0, &got), PROTO_OK);
				CHECK_INT(got.version, versions[v]);
				CHECK(test_pkt_equal(&s[i], &got));
			}
			free(buf);
		}
	}
}

static void
decoded_packet_encodes_to_the_same_bytes(void **state)
{
	size_t v, i, n, len, len2;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			struct proto_sub_entry entries[64];
			struct proto_str filters[64];
			struct proto_packet got;
			uint32_t pos = 0, k = 0;
			uint8_t *buf, *buf2;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			CHECK_INT(decode_poisoned(buf, len, versions[v], 0,
			    &got), PROTO_OK);
			/* The encoder takes arrays where the decoder gives
			 * lists; fill them from the iterators. */
			if (got.type == PROTO_SUBSCRIBE) {
				while (k < 64 && proto_sub_next(&got.subscribe,
				    got.version, &pos, &entries[k])) {
					k++;
				}
				CHECK_INT(k, got.subscribe.count);
				got.subscribe.entries = entries;
			} else if (got.type == PROTO_UNSUBSCRIBE) {
				while (k < 64 && proto_unsub_next(
				    &got.unsubscribe, &pos, &filters[k])) {
					k++;
				}
				CHECK_INT(k, got.unsubscribe.count);
				got.unsubscribe.filters = filters;
			}
			buf2 = encode_alloc(&got, &len2);
			CHECK_INT(len2, len);
			CHECK(memcmp(buf, buf2, len) == 0);
			free(buf2);
			free(buf);
		}
	}
}

static void
decode_max_size_admits_packet_size_and_rejects_one_less(
    void **state)
{
	size_t v, i, n, len;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			struct proto_packet got;
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			CHECK_INT(decode_poisoned(buf, len, versions[v],
			    (uint32_t)len, &got), PROTO_OK);
			CHECK_INT(decode_poisoned(buf, len, versions[v],
			    (uint32_t)len - 1, &got), PROTO_ETOOLARGE);
			free(buf);
		}
	}
}

/* A packet cut short anywhere after its fixed header is a remaining
 * length larger than the data. */
static void
decode_of_a_truncated_packet_fails_with_eshort(void **state)
{
	size_t v, i, n, len, cut;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			size_t fixed;
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			fixed = 2;
			while (buf[fixed - 1] & 0x80) {
				fixed++;
			}
			for (cut = fixed; cut < len; cut++) {
				struct proto_packet got;
				uint8_t *copy = malloc(cut);

				/* A copy of exactly cut bytes, so that ASan
				 * sees any read past the end. */
				assert_non_null(copy);
				memcpy(copy, buf, cut);
				CHECK_INT(decode_poisoned(copy, cut,
				    versions[v], 0, &got), PROTO_ESHORT);
				free(copy);
			}
			free(buf);
		}
	}
}

static void
encode_iov_concatenated_equals_encode(void **state)
{
	size_t v, i, n, len;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			struct iovec iov[3];
			size_t hlen = 0, total = 0;
			int cnt = -1, k;
			uint8_t *buf, *hdr, *cat;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			hdr = malloc(len);
			cat = malloc(len);
			assert_non_null(hdr);
			assert_non_null(cat);
			CHECK_INT(proto_encode_iov(&s[i], hdr, len, &hlen,
			    iov, &cnt), PROTO_OK);
			CHECK(cnt >= 1 && cnt <= 3);
			CHECK(hlen > 0 && hlen <= len);
			for (k = 0; k < cnt; k++) {
				CHECK(total + iov[k].iov_len <= len);
				if (iov[k].iov_len > 0) {
					memcpy(cat + total, iov[k].iov_base,
					    iov[k].iov_len);
				}
				total += iov[k].iov_len;
			}
			CHECK_INT(total, len);
			CHECK(memcmp(cat, buf, len) == 0);
			free(cat);
			free(hdr);
			free(buf);
		}
	}
}

/* True if some iovec is exactly the view s. */
static bool
iov_references(const struct iovec *iov, int cnt, struct proto_str s)
{
	int k;

	for (k = 0; k < cnt; k++) {
		if (iov[k].iov_base == (const void *)s.ptr &&
		    iov[k].iov_len == s.len) {
			return true;
		}
	}
	return false;
}

static void
encode_iov_references_payload_and_extra_instead_of_copying(void **state)
{
	size_t v, i, n, checked_payload = 0, checked_extra = 0;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			size_t need = proto_encode_size(&s[i]);
			struct iovec iov[3];
			size_t hlen = 0, k;
			int cnt = 0;
			uint8_t *hdr;
			bool in_hdr;

			set_where(versions[v], i);
			CHECK(need > 0);
			hdr = malloc(need);
			assert_non_null(hdr);
			CHECK_INT(proto_encode_iov(&s[i], hdr, need, &hlen,
			    iov, &cnt), PROTO_OK);
			if (s[i].type == PROTO_PUBLISH &&
			    s[i].publish.payload.len > 0) {
				CHECK(iov_references(iov, cnt,
				    s[i].publish.payload));
				/* The header holds no copy of it. */
				CHECK(hlen + s[i].publish.payload.len <= need);
				CHECK(hlen <= need - s[i].publish.payload.len);
				checked_payload++;
			}
			if (s[i].type == PROTO_PUBLISH &&
			    s[i].publish.props.extra.len > 0) {
				CHECK(iov_references(iov, cnt,
				    s[i].publish.props.extra));
				checked_extra++;
			}
			/* Everything else comes from hdr[0..hlen). */
			for (k = 0; k < (size_t)cnt; k++) {
				const uint8_t *b = iov[k].iov_base;

				if (s[i].type == PROTO_PUBLISH &&
				    (b == s[i].publish.payload.ptr ||
					b == s[i].publish.props.extra.ptr)) {
					continue;
				}
				in_hdr = (uintptr_t)b >= (uintptr_t)hdr &&
				    (uintptr_t)b + iov[k].iov_len <=
					(uintptr_t)hdr + hlen;
				CHECK(iov[k].iov_len == 0 || in_hdr);
			}
			free(hdr);
		}
	}
	assert_true(checked_payload > 10);
	assert_int_equal(checked_extra, 1);
}

static void
encode_one_byte_short_gives_enospc_and_needed_length(void **state)
{
	size_t v, i, n, len;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			size_t got = 0;
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			CHECK_INT(proto_encode(&s[i], buf, len - 1, &got),
			    PROTO_ENOSPC);
			CHECK_INT(got, len);
			free(buf);
		}
	}
}

static void
encode_iov_one_byte_short_gives_enospc_and_needed_length(
    void **state)
{
	size_t v, i, n;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			size_t need = proto_encode_size(&s[i]);
			struct iovec iov[3];
			size_t hlen = 0, got = 0;
			int cnt = 0;
			uint8_t *hdr;

			set_where(versions[v], i);
			hdr = malloc(need);
			assert_non_null(hdr);
			CHECK_INT(proto_encode_iov(&s[i], hdr, need, &hlen,
			    iov, &cnt), PROTO_OK);
			CHECK_INT(proto_encode_iov(&s[i], hdr, hlen - 1, &got,
			    iov, &cnt), PROTO_ENOSPC);
			CHECK_INT(got, hlen);
			free(hdr);
		}
	}
}

/* Feeds len bytes to r in one call and expects one packet equal to want,
 * consuming exactly want_size bytes. */
static void
reader_expect(struct proto_reader *r, const uint8_t *data, size_t len,
    const struct proto_packet *want, size_t want_size)
{
	struct proto_packet got;
	size_t used = 0;

	memset(&got, 0xA5, sizeof(got));
	CHECK_INT(proto_reader_feed(r, data, len, &used, &got), PROTO_OK);
	CHECK_INT(used, len);
	CHECK_INT(got.size, want_size);
	CHECK(test_pkt_equal(want, &got));
}

static void
reader_fed_one_byte_at_a_time_gives_each_sample(void **state)
{
	size_t v, i, n, len, k;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			struct proto_reader r;
			struct proto_packet got;
			size_t used;
			uint8_t *buf;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			proto_reader_init(&r, 0);
			r.version = versions[v];
			for (k = 0; k + 1 < len; k++) {
				used = 99;
				CHECK_INT(proto_reader_feed(&r, buf + k, 1,
				    &used, &got), PROTO_MORE);
				CHECK_INT(used, 1);
			}
			reader_expect(&r, buf + len - 1, 1, &s[i], len);
			used = 99;
			CHECK_INT(proto_reader_feed(&r, NULL, 0, &used, &got),
			    PROTO_MORE);
			CHECK_INT(used, 0);
			CHECK_INT(proto_reader_pending(&r), 0);
			CHECK_INT(r.version, versions[v]);
			proto_reader_fini(&r);
			free(buf);
		}
	}
}

/* A small deterministic generator (xorshift32), so that chunk sizes are
 * the same on every run and every platform. */
static uint32_t
next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Concatenates the encodings of all samples of version v; stores each
 * packet's size in sizes[] (allocated, caller frees). */
static uint8_t *
encode_stream(uint8_t v, size_t *len, size_t **sizes)
{
	size_t n, i, total = 0, one;
	const struct proto_packet *s = test_pkt_samples(v, &n);
	uint8_t *out;

	*sizes = calloc(n, sizeof(**sizes));
	assert_non_null(*sizes);
	for (i = 0; i < n; i++) {
		(*sizes)[i] = proto_encode_size(&s[i]);
		CHECK((*sizes)[i] > 0);
		total += (*sizes)[i];
	}
	out = malloc(total);
	assert_non_null(out);
	*len = 0;
	for (i = 0; i < n; i++) {
		set_where(v, i);
		CHECK_INT(proto_encode(&s[i], out + *len, total - *len, &one),
		    PROTO_OK);
		CHECK_INT(one, (*sizes)[i]);
		*len += one;
	}
	return out;
}

static void
reader_fed_all_samples_in_random_chunks_gives_them_in_order(void **state)
{
	size_t v, round;

	(void)state;
	for (v = 0; v < NVERSIONS; v++) {
		for (round = 0; round < 8; round++) {
			uint32_t seed =
			    0x5EED0000u + (uint32_t)(v * 16 + round);
			size_t n, len, off = 0, next = 0, *sizes;
			const struct proto_packet *s =
			    test_pkt_samples(versions[v], &n);
			uint8_t *stream = encode_stream(versions[v], &len,
			    &sizes);
			struct proto_reader r;

			proto_reader_init(&r, 0);
			r.version = versions[v];
			while (off < len) {
				uint32_t x = next_rand(&seed);
				size_t chunk = (x & 3) == 0 ? 1 + x % 4096
							    : 1 + x % 48;
				const uint8_t *p = stream + off;
				int rc;

				if (chunk > len - off) {
					chunk = len - off;
				}
				off += chunk;
				for (;;) {
					struct proto_packet got;
					size_t used = 0;

					memset(&got, 0xA5, sizeof(got));
					rc = proto_reader_feed(&r, p, chunk,
					    &used, &got);
					CHECK(used <= chunk);
					if (rc == PROTO_MORE) {
						CHECK_INT(used, chunk);
						break;
					}
					set_where(versions[v], next);
					CHECK_INT(rc, PROTO_OK);
					CHECK(next < n);
					CHECK(used > 0);
					CHECK_INT(got.size, sizes[next]);
					CHECK(test_pkt_equal(&s[next], &got));
					next++;
					p += used;
					chunk -= used;
					if (chunk == 0) {
						break;
					}
				}
			}
			assert_int_equal(next, n);
			assert_int_equal(proto_reader_pending(&r), 0);
			proto_reader_fini(&r);
			free(sizes);
			free(stream);
		}
	}
}

/* Writes the fuzz seeds, one file per sample with the protocol level
 * first, and reads each back to check it decodes to its sample.  With
 * STARLING_CORPUS_DIR set the seeds go there and stay (that is how
 * tests/fuzz/corpus/decode is made); otherwise they go to a temporary
 * directory that is removed again, so the seed format is tested on
 * every run. */
static void
writes_fuzz_seeds_that_decode_to_their_samples(void **state)
{
	const char *dir = getenv("STARLING_CORPUS_DIR");
	char tmp[] = "/tmp/starling-seeds.XXXXXX";
	bool keep = dir != NULL && dir[0] != '\0';
	size_t v, i, n, len, written = 0;

	(void)state;
	if (!keep) {
		dir = mkdtemp(tmp);
		assert_non_null(dir);
	}
	for (v = 0; v < NVERSIONS; v++) {
		const struct proto_packet *s =
		    test_pkt_samples(versions[v], &n);

		for (i = 0; i < n; i++) {
			char path[4096];
			uint8_t *buf, back[70000];
			struct proto_packet got;
			size_t got_len;
			FILE *f;

			set_where(versions[v], i);
			buf = encode_alloc(&s[i], &len);
			snprintf(path, sizeof(path), "%s/v%u-%zu-%s.bin", dir,
			    versions[v], i, proto_type_name(s[i].type));
			f = fopen(path, "wb");
			CHECK(f != NULL);
			CHECK_INT(fwrite(&versions[v], 1, 1, f), 1);
			CHECK_INT(fwrite(buf, 1, len, f), len);
			CHECK_INT(fclose(f), 0);
			f = fopen(path, "rb");
			CHECK(f != NULL);
			got_len = fread(back, 1, sizeof(back), f);
			CHECK_INT(fclose(f), 0);
			CHECK_INT(got_len, len + 1);
			CHECK_INT(back[0], versions[v]);
			CHECK_INT(proto_decode(back + 1, got_len - 1, back[0], 0,
				      &got),
			    PROTO_OK);
			CHECK(test_pkt_equal(&s[i], &got));
			if (!keep) {
				CHECK_INT(remove(path), 0);
			}
			free(buf);
			written++;
		}
	}
	if (!keep) {
		assert_int_equal(rmdir(dir), 0);
	}
	assert_true(written > 0);
}

/* ------------------------------------------------------------------ */
/* Hand-written encodings from the specifications                       */

#define STRV(s) { (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1) }

/* Encodes pkt and compares with the expected bytes, then decodes those
 * bytes and compares with pkt. */
static void
expect_wire(const char *name, const struct proto_packet *pkt,
    const uint8_t *want, size_t want_len)
{
	uint8_t buf[256];
	size_t len = 0;
	struct proto_packet got;

	snprintf(where, sizeof(where), "%s", name);
	CHECK_INT(proto_encode_size(pkt), want_len);
	CHECK_INT(proto_encode(pkt, buf, sizeof(buf), &len), PROTO_OK);
	CHECK_INT(len, want_len);
	CHECK(memcmp(buf, want, want_len) == 0);
	CHECK_INT(decode_poisoned(want, want_len, pkt->version, 0, &got),
	    PROTO_OK);
	CHECK_INT(got.size, want_len);
	CHECK(test_pkt_equal(pkt, &got));
}

static void
encode_writes_the_bytes_the_specification_gives(void **state)
{
	(void)state;
	{
		/* 3.1.1 section 3.1: protocol name, level 4, Clean Session,
		 * keep alive 60, client id "c". */
		static const uint8_t w[] = { 0x10, 0x0D, 0x00, 0x04, 'M', 'Q',
			'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 'c' };
		struct proto_packet p = { .type = PROTO_CONNECT,
			.version = 4,
			.connect = { .clean_start = true, .keepalive = 60,
			    .client_id = STRV("c") } };
		expect_wire("3.1.1 CONNECT", &p, w, sizeof(w));
	}
	{
		/* MQTT 3.1: protocol name "MQIsdp", level 3. */
		static const uint8_t w[] = { 0x10, 0x0F, 0x00, 0x06, 'M', 'Q',
			'I', 's', 'd', 'p', 0x03, 0x02, 0x00, 0x3C, 0x00, 0x01,
			'c' };
		struct proto_packet p = { .type = PROTO_CONNECT,
			.version = 3,
			.connect = { .clean_start = true, .keepalive = 60,
			    .client_id = STRV("c") } };
		expect_wire("3.1 CONNECT", &p, w, sizeof(w));
	}
	{
		/* Connect flags: user 0x80, password 0x40, will retain 0x20,
		 * will QoS 1 0x08, will 0x04, clean 0x02; payload in the
		 * order client id, will topic, will message, user name,
		 * password. */
		static const uint8_t w[] = { 0x10, 0x19, 0x00, 0x04, 'M',
			'Q', 'T', 'T', 0x04, 0xEE, 0x00, 0x0A, 0x00, 0x01, 'c',
			0x00, 0x01, 't', 0x00, 0x01, 'm', 0x00, 0x01, 'u',
			0x00, 0x01, 'p' };
		struct proto_packet p = { .type = PROTO_CONNECT,
			.version = 4,
			.connect = { .clean_start = true, .will_flag = true,
			    .has_username = true, .has_password = true,
			    .keepalive = 10, .client_id = STRV("c"),
			    .will = { .qos = 1, .retain = true,
				.topic = STRV("t"), .payload = STRV("m") },
			    .username = STRV("u"),
			    .password = STRV("p") } };
		expect_wire("3.1.1 CONNECT with will and credentials", &p, w,
		    sizeof(w));
	}
	{
		/* 3.1.1 PUBLISH QoS 1 retain: topic, packet id, payload. */
		static const uint8_t w[] = { 0x33, 0x09, 0x00, 0x03, 'a', '/',
			'b', 0x00, 0x0A, 'h', 'i' };
		struct proto_packet p = { .type = PROTO_PUBLISH,
			.version = 4,
			.publish = { .qos = 1, .retain = true,
			    .packet_id = 10, .topic = STRV("a/b"),
			    .payload = STRV("hi") } };
		expect_wire("3.1.1 PUBLISH QoS 1 retain", &p, w, sizeof(w));
	}
	{
		/* 3.1.1 SUBSCRIBE: fixed header 0x82, two entries. */
		static const struct proto_sub_entry e[] = {
			{ .filter = STRV("a"), .qos = 1 },
			{ .filter = STRV("b"), .qos = 2 },
		};
		static const uint8_t w[] = { 0x82, 0x0A, 0x00, 0x01, 0x00,
			0x01, 'a', 0x01, 0x00, 0x01, 'b', 0x02 };
		struct proto_packet p = { .type = PROTO_SUBSCRIBE,
			.version = 4,
			.subscribe = { .packet_id = 1, .count = 2,
			    .entries = e } };
		expect_wire("3.1.1 SUBSCRIBE", &p, w, sizeof(w));
	}
	{
		/* MQTT 5 subscription options: QoS 1, No Local 0x04,
		 * Retain As Published 0x08, Retain Handling 2 (0x20). */
		static const struct proto_sub_entry e[] = {
			{ .filter = STRV("a/b"), .qos = 1, .no_local = true,
			    .retain_as_published = true,
			    .retain_handling = 2 },
		};
		static const uint8_t w[] = { 0x82, 0x09, 0x00, 0x01, 0x00,
			0x00, 0x03, 'a', '/', 'b', 0x2D };
		struct proto_packet p = { .type = PROTO_SUBSCRIBE,
			.version = 5,
			.subscribe = { .packet_id = 1, .count = 1,
			    .entries = e } };
		expect_wire("5.0 SUBSCRIBE options", &p, w, sizeof(w));
	}
	{
		/* MQTT 5 PUBLISH QoS 0 with Message Expiry Interval 60. */
		static const uint8_t w[] = { 0x30, 0x0C, 0x00, 0x01, 'a', 0x05,
			0x02, 0x00, 0x00, 0x00, 0x3C, 'p', 'a', 'y' };
		struct proto_packet p = { .type = PROTO_PUBLISH,
			.version = 5,
			.publish = { .qos = 0, .topic = STRV("a"),
			    .props = { .present = PROTO_PROP_BIT(
					   PROTO_PROP_MESSAGE_EXPIRY),
				.message_expiry = 60 },
			    .payload = STRV("pay") } };
		expect_wire("5.0 PUBLISH with message expiry", &p, w,
		    sizeof(w));
	}
	{
		/* MQTT 5 SUBACK: packet id, property length 0, reasons. */
		static const uint8_t codes[] = { 0x01, 0x87 };
		static const uint8_t w[] = { 0x90, 0x05, 0x00, 0x07, 0x00,
			0x01, 0x87 };
		struct proto_packet p = { .type = PROTO_SUBACK, .version = 5,
			.suback = { .packet_id = 7, .count = 2,
			    .reasons = codes } };
		expect_wire("5.0 SUBACK", &p, w, sizeof(w));
	}
	{
		static const uint8_t w[] = { 0xC0, 0x00 };
		struct proto_packet p = { .type = PROTO_PINGREQ,
			.version = 4 };
		expect_wire("PINGREQ", &p, w, sizeof(w));
	}
	{
		static const uint8_t w[] = { 0x62, 0x02, 0xBE, 0xEF };
		struct proto_packet p = { .type = PROTO_PUBREL, .version = 4,
			.ack = { .packet_id = 0xBEEF } };
		expect_wire("3.1.1 PUBREL", &p, w, sizeof(w));
	}
}

/* Remaining length 127 takes one byte, 128 two (0x80 0x01), 16383 two
 * (0xFF 0x7F) and 16384 three (0x80 0x80 0x01): 3.1.1 table 2.4. */
static void
encode_writes_remaining_length_at_the_varint_boundaries(void **state)
{
	static const struct {
		uint32_t remaining;
		uint8_t bytes[4];
		size_t n;
	} cases[] = {
		{ 127, { 0x7F }, 1 },
		{ 128, { 0x80, 0x01 }, 2 },
		{ 16383, { 0xFF, 0x7F }, 2 },
		{ 16384, { 0x80, 0x80, 0x01 }, 3 },
	};
	static uint8_t payload[16384];
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		/* Topic "t" takes 3 bytes of the remaining length. */
		struct proto_packet p = { .type = PROTO_PUBLISH, .version = 4,
			.publish = { .qos = 0, .topic = STRV("t"),
			    .payload = { payload, cases[c].remaining - 3 } } };
		size_t len = 0, total = 1 + cases[c].n + cases[c].remaining;
		uint8_t *buf = malloc(total);
		struct proto_packet got;

		snprintf(where, sizeof(where), "remaining length %u",
		    (unsigned)cases[c].remaining);
		assert_non_null(buf);
		CHECK_INT(proto_encode_size(&p), total);
		CHECK_INT(proto_encode(&p, buf, total, &len), PROTO_OK);
		CHECK_INT(len, total);
		CHECK_INT(buf[0], 0x30);
		CHECK(memcmp(buf + 1, cases[c].bytes, cases[c].n) == 0);
		CHECK_INT(decode_poisoned(buf, len, 4, 0, &got), PROTO_OK);
		CHECK(test_pkt_equal(&p, &got));
		free(buf);
	}
}

/* MQTT 5 lets PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH leave
 * out the reason code and property length (5.0 sections 3.4.2.1, 3.14.2.1,
 * 3.15.2.1); the decoder reads the omitted fields as 0x00 and no
 * properties. */
static void
decode_reads_mqtt5_short_forms_of_acks_disconnect_auth(void **state)
{
	static const struct {
		const char *name;
		uint8_t bytes[8];
		size_t len;
		uint8_t type;
		uint8_t reason;
	} cases[] = {
		{ "PUBACK id only", { 0x40, 0x02, 0x00, 0x05 }, 4, 4, 0x00 },
		{ "PUBACK reason only", { 0x40, 0x03, 0x00, 0x05, 0x10 }, 5, 4,
		    0x10 },
		{ "PUBACK reason, empty properties",
		    { 0x40, 0x04, 0x00, 0x05, 0x87, 0x00 }, 6, 4, 0x87 },
		{ "PUBREC id only", { 0x50, 0x02, 0x00, 0x05 }, 4, 5, 0x00 },
		{ "PUBREL reason only", { 0x62, 0x03, 0x00, 0x05, 0x92 }, 5, 6,
		    0x92 },
		{ "PUBCOMP id only", { 0x70, 0x02, 0x00, 0x05 }, 4, 7, 0x00 },
		{ "DISCONNECT empty", { 0xE0, 0x00 }, 2, 14, 0x00 },
		{ "DISCONNECT reason only", { 0xE0, 0x01, 0x04 }, 3, 14,
		    0x04 },
		{ "DISCONNECT reason, empty properties",
		    { 0xE0, 0x02, 0x8E, 0x00 }, 4, 14, 0x8E },
		{ "AUTH empty", { 0xF0, 0x00 }, 2, 15, 0x00 },
		{ "AUTH reason, empty properties", { 0xF0, 0x02, 0x18, 0x00 },
		    4, 15, 0x18 },
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct proto_packet got;
		const struct proto_props *pp;
		uint8_t reason;

		snprintf(where, sizeof(where), "%s", cases[c].name);
		CHECK_INT(decode_poisoned(cases[c].bytes, cases[c].len, 5, 0,
		    &got), PROTO_OK);
		CHECK_INT(got.type, cases[c].type);
		CHECK_INT(got.size, cases[c].len);
		if (cases[c].type >= PROTO_DISCONNECT) {
			reason = got.disconnect.reason;
			pp = &got.disconnect.props;
		} else {
			CHECK_INT(got.ack.packet_id, 5);
			reason = got.ack.reason;
			pp = &got.ack.props;
		}
		CHECK_INT(reason, cases[c].reason);
		CHECK_INT(pp->present, 0);
		CHECK_INT(pp->user_count, 0);
		CHECK_INT(pp->sub_id_count, 0);
		CHECK_INT(pp->block.len, 0);
	}
}

/* AUTH exists only in MQTT 5; the encoder refuses it for older levels. */
static void
encode_refuses_auth_before_mqtt5(void **state)
{
	struct proto_packet p = { .type = PROTO_AUTH, .version = 4 };
	uint8_t buf[16];
	struct iovec iov[3];
	size_t len = 0;
	int cnt = 0;

	(void)state;
	assert_int_equal(proto_encode_size(&p), 0);
	assert_int_equal(proto_encode(&p, buf, sizeof(buf), &len),
	    PROTO_EINVAL);
	assert_int_equal(proto_encode_iov(&p, buf, sizeof(buf), &len, iov,
	    &cnt), PROTO_EINVAL);
	p.version = 3;
	assert_int_equal(proto_encode_size(&p), 0);
	assert_int_equal(proto_encode(&p, buf, sizeof(buf), &len),
	    PROTO_EINVAL);
}

/* A topic, or any string, longer than 65535 bytes cannot be sent. */
static void
encode_refuses_a_topic_over_65535_bytes(void **state)
{
	static uint8_t topic[65536];
	struct proto_packet p = { .type = PROTO_PUBLISH, .version = 4,
		.publish = { .qos = 0, .topic = { topic, sizeof(topic) } } };
	uint8_t buf[16];
	size_t len = 0;

	(void)state;
	memset(topic, 'a', sizeof(topic));
	assert_int_equal(proto_encode_size(&p), 0);
	assert_int_equal(proto_encode(&p, buf, sizeof(buf), &len),
	    PROTO_EINVAL);
	p.publish.topic.len = 65535;
	assert_int_equal(proto_encode_size(&p), 1 + 3 + 2 + 65535);
}

/* Test names are long sentences; this keeps the list readable. */
#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(samples_cover_every_packet_type_of_each_version),
		T(encode_size_equals_length_written_by_encode),
		T(decode_of_encoded_sample_gives_equal_packet_and_size),
		T(connect_decodes_the_same_whatever_version_is_passed),
		T(decoded_packet_encodes_to_the_same_bytes),
		T(decode_max_size_admits_packet_size_and_rejects_one_less),
		T(decode_of_a_truncated_packet_fails_with_eshort),
		T(encode_iov_concatenated_equals_encode),
		T(encode_iov_references_payload_and_extra_instead_of_copying),
		T(encode_one_byte_short_gives_enospc_and_needed_length),
		T(encode_iov_one_byte_short_gives_enospc_and_needed_length),
		T(reader_fed_one_byte_at_a_time_gives_each_sample),
		T(reader_fed_all_samples_in_random_chunks_gives_them_in_order),
		T(encode_writes_the_bytes_the_specification_gives),
		T(encode_writes_remaining_length_at_the_varint_boundaries),
		T(decode_reads_mqtt5_short_forms_of_acks_disconnect_auth),
		T(encode_refuses_auth_before_mqtt5),
		T(encode_refuses_a_topic_over_65535_bytes),
		T(writes_fuzz_seeds_that_decode_to_their_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
