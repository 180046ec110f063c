/*
 * codec_bench.c - starling-codec-bench, the micro-benchmark of proto/: how
 * many nanoseconds one PUBLISH decode or encode, one packet through a
 * proto_reader, one topic match and one UTF-8 check take on this machine.
 *
 * Each case is timed with CLOCK_MONOTONIC over a number of iterations
 * calibrated to take about 0.3 s, five times; the median is reported.  Every
 * case folds what the code under test returns into a checksum that ends in
 * a volatile, so the compiler cannot drop the work.  The inputs are built
 * with proto/ itself and checked once before timing starts.
 *
 * Owns its fixtures (all on the heap or the stack of main) and nothing
 * else; single-threaded.  The numbers are for comparing builds and commits
 * on one machine, not across machines: the first lines of the output name
 * the command and the CPU.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "proto/proto.h"

#define BENCH_TOPIC "sensors/building-12/floor-3/room-42/temperature"
#define BENCH_STREAM_PACKETS 1000u
#define BENCH_SEGMENT 1460u /* one TCP segment on a 1500-byte MTU */

/* One PUBLISH in every form the cases need: as a struct to encode, and as
 * wire bytes to decode. */
struct bench_pub {
	uint8_t version;
	struct proto_packet pkt;
	uint8_t *payload;
	uint8_t *wire; /* the encoded packet */
	size_t wire_len;
	uint8_t *out; /* scratch for the encoders */
	size_t out_cap;
};

/* 1000 back-to-back PUBLISH packets and a reader to cut them. */
struct bench_stream {
	uint8_t *buf;
	size_t len;
	struct proto_reader reader;
};

struct bench_match {
	const char *filter;
	const char *topic;
};

/* What a case runs on; only the member its function uses is set. */
struct bench_ctx {
	struct bench_pub *pub;
	struct bench_stream *stream;
	struct bench_match match;
	const uint8_t *str;
	size_t str_len;
};

typedef uint64_t (*bench_fn)(struct bench_ctx *ctx, uint64_t iters);

struct bench_case {
	const char *name;
	bench_fn fn;
	struct bench_ctx ctx;
	uint32_t per_iter; /* operations per iteration */
};

/* Appends a case to cases[*n]; name must outlive the run. */
static void
add_case(struct bench_case *cases, int *n, const char *name, bench_fn fn,
    struct bench_ctx ctx, uint32_t per_iter)
{
	cases[*n].name = name;
	cases[*n].fn = fn;
	cases[*n].ctx = ctx;
	cases[*n].per_iter = per_iter;
	(*n)++;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "starling-codec-bench: %s: %s\n", what,
	    proto_strerror(rc));
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "starling-codec-bench: out of memory\n");
		exit(1);
	}
	return p;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

/*
 * Builds a QoS 1 PUBLISH on BENCH_TOPIC with a payload of payload_len bytes
 * for the given level; for MQTT 5 it carries three properties (Payload
 * Format Indicator, Message Expiry Interval, Content Type), as a typical
 * application message does.  Encodes and decodes it once to check that the
 * codec agrees with itself before anything is timed.
 */
static void
pub_init(struct bench_pub *b, uint8_t version, size_t payload_len)
{
	static const char ctype[] = "application/json";
	struct proto_packet check;
	size_t i, n;
	int rc;

	memset(b, 0, sizeof(*b));
	b->version = version;
	b->payload = xmalloc(payload_len);
	for (i = 0; i < payload_len; i++) {
		b->payload[i] = (uint8_t)('a' + i % 26);
	}
	b->pkt.type = PROTO_PUBLISH;
	b->pkt.version = version;
	b->pkt.publish.qos = 1;
	b->pkt.publish.packet_id = 4242;
	b->pkt.publish.topic.ptr = (const uint8_t *)BENCH_TOPIC;
	b->pkt.publish.topic.len = (uint32_t)strlen(BENCH_TOPIC);
	b->pkt.publish.payload.ptr = b->payload;
	b->pkt.publish.payload.len = (uint32_t)payload_len;
	if (version == PROTO_V5) {
		struct proto_props *p = &b->pkt.publish.props;

		p->present = PROTO_PROP_BIT(PROTO_PROP_PAYLOAD_FORMAT) |
		    PROTO_PROP_BIT(PROTO_PROP_MESSAGE_EXPIRY) |
		    PROTO_PROP_BIT(PROTO_PROP_CONTENT_TYPE);
		p->payload_format = 1;
		p->message_expiry = 3600;
		p->content_type.ptr = (const uint8_t *)ctype;
		p->content_type.len = (uint32_t)strlen(ctype);
	}

	b->wire_len = proto_encode_size(&b->pkt);
	if (b->wire_len == 0) {
		die("proto_encode_size", PROTO_EINVAL);
	}
	b->wire = xmalloc(b->wire_len);
	if ((rc = proto_encode(&b->pkt, b->wire, b->wire_len, &n)) != 0) {
		die("proto_encode", rc);
	}
	b->out_cap = b->wire_len;
	b->out = xmalloc(b->out_cap);

	rc = proto_decode(b->wire, b->wire_len, version, 0, &check);
	if (rc != 0) {
		die("proto_decode", rc);
	}
	if (check.type != PROTO_PUBLISH ||
	    check.publish.payload.len != payload_len ||
	    memcmp(check.publish.payload.ptr, b->payload, payload_len) != 0) {
		die("proto_decode returned another packet", PROTO_EINVAL);
	}
}

static void
pub_fini(struct bench_pub *b)
{
	free(b->payload);
	free(b->wire);
	free(b->out);
}

/* Concatenates BENCH_STREAM_PACKETS copies of p's wire bytes. */
static void
stream_init(struct bench_stream *s, const struct bench_pub *p)
{
	size_t i;

	s->len = p->wire_len * BENCH_STREAM_PACKETS;
	s->buf = xmalloc(s->len);
	for (i = 0; i < BENCH_STREAM_PACKETS; i++) {
		memcpy(s->buf + i * p->wire_len, p->wire, p->wire_len);
	}
	proto_reader_init(&s->reader, 0);
	s->reader.version = p->version;
}

static void
stream_fini(struct bench_stream *s)
{
	proto_reader_fini(&s->reader);
	free(s->buf);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

static uint64_t
run_decode(struct bench_ctx *ctx, uint64_t iters)
{
	struct bench_pub *b = ctx->pub;
	struct proto_packet pkt;
	uint64_t sum = 0, i;

	for (i = 0; i < iters; i++) {
		if (proto_decode(b->wire, b->wire_len, b->version, 0, &pkt) !=
		    0) {
			die("proto_decode", PROTO_EINVAL);
		}
		sum += pkt.publish.payload.len + pkt.publish.packet_id;
	}
	return sum;
}

static uint64_t
run_encode(struct bench_ctx *ctx, uint64_t iters)
{
	struct bench_pub *b = ctx->pub;
	uint64_t sum = 0, i;
	size_t len;

	for (i = 0; i < iters; i++) {
		if (proto_encode(&b->pkt, b->out, b->out_cap, &len) != 0) {
			die("proto_encode", PROTO_EINVAL);
		}
		sum += len + b->out[len - 1];
	}
	return sum;
}

static uint64_t
run_encode_iov(struct bench_ctx *ctx, uint64_t iters)
{
	struct bench_pub *b = ctx->pub;
	struct iovec iov[3];
	uint64_t sum = 0, i;
	size_t len;
	int cnt;

	for (i = 0; i < iters; i++) {
		if (proto_encode_iov(&b->pkt, b->out, b->out_cap, &len, iov,
			&cnt) != 0) {
			die("proto_encode_iov", PROTO_EINVAL);
		}
		sum += len + (uint64_t)cnt + iov[cnt - 1].iov_len;
	}
	return sum;
}

/* Feeds the stream to the reader in pieces of at most seg bytes and
 * returns a checksum of the packets; one iteration is the whole stream. */
static uint64_t
feed_stream(struct bench_stream *s, size_t seg, uint64_t iters)
{
	struct proto_packet pkt;
	uint64_t sum = 0, i;

	for (i = 0; i < iters; i++) {
		size_t pos = 0;
		uint32_t got = 0;

		while (pos < s->len) {
			size_t clen = s->len - pos < seg ? s->len - pos : seg;
			size_t off = 0;

			for (;;) {
				size_t used;
				int rc = proto_reader_feed(&s->reader,
				    s->buf + pos + off, clen - off, &used,
				    &pkt);

				off += used;
				if (rc == PROTO_MORE) {
					break;
				}
				if (rc != 0) {
					die("proto_reader_feed", rc);
				}
				sum += pkt.publish.payload.len;
				got++;
			}
			pos += clen;
		}
		if (got != BENCH_STREAM_PACKETS) {
			die("proto_reader_feed lost packets", PROTO_EINVAL);
		}
	}
	return sum;
}

static uint64_t
run_reader_whole(struct bench_ctx *ctx, uint64_t iters)
{
	return feed_stream(ctx->stream, ctx->stream->len, iters);
}

static uint64_t
run_reader_segments(struct bench_ctx *ctx, uint64_t iters)
{
	return feed_stream(ctx->stream, BENCH_SEGMENT, iters);
}

static uint64_t
run_match(struct bench_ctx *ctx, uint64_t iters)
{
	const uint8_t *f = (const uint8_t *)ctx->match.filter;
	const uint8_t *t = (const uint8_t *)ctx->match.topic;
	size_t flen = strlen(ctx->match.filter);
	size_t tlen = strlen(ctx->match.topic);
	uint64_t sum = 0, i;

	for (i = 0; i < iters; i++) {
		sum += proto_topic_match(f, flen, t, tlen);
	}
	if (sum != iters) {
		fprintf(stderr, "starling-codec-bench: %s does not match %s\n",
		    ctx->match.filter, ctx->match.topic);
		exit(1);
	}
	return sum;
}

static uint64_t
run_utf8(struct bench_ctx *ctx, uint64_t iters)
{
	uint64_t sum = 0, i;
	bool disc;

	for (i = 0; i < iters; i++) {
		sum += (uint64_t)(proto_utf8_check(ctx->str, ctx->str_len,
				      &disc) == 0) +
		    disc;
	}
	return sum;
}

/* ------------------------------------------------------------------ */
/* Timing                                                              */

/* Runs one case for iters iterations and returns the elapsed ns. */
static double
time_case(struct bench_case *c, uint64_t iters, volatile uint64_t *sink)
{
	double t0 = now_ns();

	*sink += c->fn(&c->ctx, iters);
	return now_ns() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Finds how many iterations take about target_ns (which also warms caches
 * and branch predictors), then times that many `repeats` times and returns
 * the median ns per operation.
 */
static double
measure(struct bench_case *c, double target_ns, int repeats,
    volatile uint64_t *sink)
{
	double ns[16], t;
	uint64_t iters = 1;
	int r;

	for (;;) {
		t = time_case(c, iters, sink);
		if (t >= target_ns / 10) {
			break;
		}
		iters *= t < target_ns / 1000 ? 10 : 2;
	}
	iters = (uint64_t)((double)iters * target_ns / t);
	if (iters == 0) {
		iters = 1;
	}
	for (r = 0; r < repeats; r++) {
		ns[r] = time_case(c, iters, sink) /
		    ((double)iters * c->per_iter);
	}
	qsort(ns, (size_t)repeats, sizeof(ns[0]), cmp_double);
	return ns[repeats / 2];
}

/* Prints the "model name" line of /proc/cpuinfo, or what stands in for it
 * on other architectures. */
static void
print_cpu(void)
{
	static const char *keys[] = { "model name", "Model", "Hardware",
		"cpu model" };
	char line[512];
	size_t k;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f == NULL) {
		printf("cpu: unknown\n");
		return;
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		rewind(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':');

			if (strncmp(line, keys[k], strlen(keys[k])) != 0 ||
			    colon == NULL) {
				continue;
			}
			colon++;
			while (*colon == ' ' || *colon == '\t') {
				colon++;
			}
			printf("cpu: %s", colon);
			fclose(f);
			return;
		}
	}
	fclose(f);
	printf("cpu: unknown\n");
}

static void
usage(FILE *out, const char *argv0)
{
	fprintf(out,
	    "usage: %s [--quick]\n"
	    "  Times the proto/ codec: PUBLISH decode and encode, the\n"
	    "  reader, topic matching and UTF-8 checks; prints the median\n"
	    "  ns/op of 5 runs of ~0.3 s per case.\n"
	    "  --quick  3 runs of ~0.03 s per case (a smoke run, noisy)\n",
	    argv0);
}

int
main(int argc, char **argv)
{
	/* 64 bytes: two-, three- and four-byte sequences mixed with ASCII. */
	static const char mixed[] =
	    "m\xc3\xa9tro/\xe2\x82\xac/\xf0\x9d\x84\x9e"
	    "/caf\xc3\xa9/na\xc3\xafve/\xe6\x9d\xb1\xe4"
	    "\xba\xac/stra\xc3\x9f" "e/x\xc3\xa9y0123"
	    "/\xc3\xa5\xe2\x80\x94\xf0\x9f\x98\x80ok";
	static const char ascii[] =
	    "sensors/building-12/floor-3/room-42/temperature/celsius/raw-abcd";
	struct bench_pub pub[4];
	struct bench_stream stream;
	struct bench_case cases[32];
	volatile uint64_t sink = 0;
	double target_ns = 0.3e9;
	int repeats = 5, ncase = 0, i, k;
	static const struct {
		uint8_t version;
		size_t payload;
		const char *tag;
	} pubs[4] = {
		{ PROTO_V311, 64, "v3.1.1 64B" },
		{ PROTO_V311, 4096, "v3.1.1 4KiB" },
		{ PROTO_V5, 64, "v5 64B" },
		{ PROTO_V5, 4096, "v5 4KiB" },
	};
	static const struct bench_match matches[3] = {
		{ BENCH_TOPIC, BENCH_TOPIC },
		{ "sensors/+/floor-3/+/temperature", BENCH_TOPIC },
		{ "sensors/building-12/#", BENCH_TOPIC },
	};
	static const char *match_names[3] = {
		"topic_match exact, 5 levels",
		"topic_match '+' x2, 5 levels",
		"topic_match '#', 5 levels",
	};
	static const struct {
		const char *name;
		bench_fn fn;
	} ops[3] = {
		{ "decode", run_decode },
		{ "encode", run_encode },
		{ "encode_iov", run_encode_iov },
	};
	struct bench_ctx sctx = { 0 }, uctx = { 0 };
	char names[3][4][48];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			target_ns = 0.03e9;
			repeats = 3;
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (sizeof(ascii) - 1 != 64 || sizeof(mixed) - 1 != 64) {
		fprintf(stderr, "starling-codec-bench: test strings are not "
				"64 bytes\n");
		return 1;
	}

	for (i = 0; i < 4; i++) {
		pub_init(&pub[i], pubs[i].version, pubs[i].payload);
	}
	stream_init(&stream, &pub[0]);

	for (k = 0; k < 3; k++) {
		for (i = 0; i < 4; i++) {
			struct bench_ctx ctx = { .pub = &pub[i] };

			snprintf(names[k][i], sizeof(names[k][i]),
			    "publish %s %s", ops[k].name, pubs[i].tag);
			add_case(cases, &ncase, names[k][i], ops[k].fn, ctx,
			    1);
		}
	}
	sctx.stream = &stream;
	add_case(cases, &ncase, "reader 1000 pub 64B v3.1.1, one feed",
	    run_reader_whole, sctx, BENCH_STREAM_PACKETS);
	add_case(cases, &ncase, "reader 1000 pub 64B v3.1.1, 1460B",
	    run_reader_segments, sctx, BENCH_STREAM_PACKETS);
	for (i = 0; i < 3; i++) {
		struct bench_ctx ctx = { .match = matches[i] };

		add_case(cases, &ncase, match_names[i], run_match, ctx, 1);
	}
	uctx.str = (const uint8_t *)ascii;
	uctx.str_len = 64;
	add_case(cases, &ncase, "utf8_check 64B ascii", run_utf8, uctx, 1);
	uctx.str = (const uint8_t *)mixed;
	add_case(cases, &ncase, "utf8_check 64B mixed", run_utf8, uctx, 1);

	printf("command:");
	for (i = 0; i < argc; i++) {
		printf(" %s", argv[i]);
	}
	printf("\n");
	print_cpu();
	printf("method: median of %d runs of ~%.2f s per case, CLOCK_MONOTONIC"
	       "\n\n",
	    repeats, target_ns / 1e9);
	printf("%-38s %10s %10s\n", "case", "ns/op", "Mops/s");
	for (i = 0; i < ncase; i++) {
		double ns = measure(&cases[i], target_ns, repeats, &sink);

		printf("%-38s %10.1f %10.2f\n", cases[i].name, ns, 1e3 / ns);
		fflush(stdout);
	}
	printf("\nchecksum: %llu\n", (unsigned long long)sink);

	stream_fini(&stream);
	for (i = 0; i < 4; i++) {
		pub_fini(&pub[i]);
	}
	return 0;
}
