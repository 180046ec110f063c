/*
 * template.c - topic and client id templates of starling-bench:
 * bench_template_expand() and bench_template_is_static().
 *
 * A template is expanded once per client (for a publisher whose topic
 * draws random numbers, once per message: bench/client.c), by whichever
 * worker thread owns that client; the only
 * state is the caller's random generator *rng, so nothing here is shared.
 *
 * Recognised sequences, matched at each '%' in this order:
 *   "%%"      a single '%';
 *   "%i"      the client's sequence number, in decimal;
 *   "%c"      the client id;
 *   "%rand_N" a number in [1, N], where N is decimal, 1 <= N < 2^64;
 *   "%rand"   a number in [0, 2^31).
 * "%rand_" not followed by a valid N (no digits, zero, or too large) is a
 * plain "%rand" and the '_' and what follows are copied.  Any other '%',
 * including one at the end, is copied as it is.
 */
#include "bench/bench.h"

#include <limits.h>
#include <string.h>

/* Seed used when the caller passes a zero state, which xorshift would keep
 * at zero forever. */
#define RNG_ZERO_SEED 0x9E3779B97F4A7C15u

/* Output cursor: writes stop (and fail is set) before reaching out[cap-1],
 * which is kept for the terminating NUL. */
struct sink {
	char *out;
	size_t cap;
	size_t len;
	bool fail;
};

/* Advances the xorshift64 state (Marsaglia's 13, 7, 17 triple) and returns
 * the new value. */
static uint64_t
rng_next(uint64_t *rng)
{
	uint64_t x = *rng;

	if (x == 0) {
		x = RNG_ZERO_SEED;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	return x;
}

static void
sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->fail || n >= s->cap - s->len) {
		s->fail = true;
		return;
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

/* Writes v in decimal. */
static void
sink_u64(struct sink *s, uint64_t v)
{
	char buf[20];
	size_t n = sizeof(buf);

	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sink_put(s, buf + n, sizeof(buf) - n);
}

/*
 * Parses the N of "%rand_N" from the digits at p.  Returns the number of
 * digits and stores N in *n, or returns 0 if there are no digits, N is zero
 * or N does not fit in 64 bits.
 */
static size_t
parse_rand_n(const char *p, uint64_t *n)
{
	uint64_t v = 0;
	size_t len = 0;

	while (p[len] >= '0' && p[len] <= '9') {
		unsigned d = (unsigned)(p[len] - '0');

		if (v > (UINT64_MAX - d) / 10) {
			return 0;
		}
		v = v * 10 + d;
		len++;
	}
	if (len == 0 || v == 0) {
		return 0;
	}
	*n = v;
	return len;
}

/*
 * Expands tmpl into out[0..cap) as described in the file comment and
 * returns the length written (without the NUL), or -1 if the result and
 * its NUL do not fit in cap bytes, if tmpl has "%c" and client_id is NULL,
 * or if it has "%rand" and rng is NULL.  On -1, out holds an empty string
 * when cap > 0, and nothing at or after out[cap] is ever written.  tmpl,
 * client_id and out are borrowed; *rng advances once per random draw.
 */
int
bench_template_expand(const char *tmpl, uint32_t seq,
    const char *client_id, uint64_t *rng, char *out, size_t cap)
{
	struct sink s = { out, cap, 0, cap == 0 };
	const char *p = tmpl;

	while (*p != '\0' && !s.fail) {
		const char *pct = strchr(p, '%');
		uint64_t n;
		size_t nd;

		if (pct == NULL) {
			sink_put(&s, p, strlen(p));
			break;
		}
		sink_put(&s, p, (size_t)(pct - p));
		p = pct + 1;
		if (*p == '%') {
			sink_put(&s, "%", 1);
			p++;
		} else if (*p == 'i') {
			sink_u64(&s, seq);
			p++;
		} else if (*p == 'c') {
			if (client_id == NULL) {
				s.fail = true;
				break;
			}
			sink_put(&s, client_id, strlen(client_id));
			p++;
		} else if (strncmp(p, "rand", 4) == 0) {
			if (rng == NULL) {
				s.fail = true;
				break;
			}
			p += 4;
			if (*p == '_' && (nd = parse_rand_n(p + 1, &n)) != 0) {
				sink_u64(&s, rng_next(rng) % n + 1);
				p += 1 + nd;
			} else {
				/* The top 31 bits: xorshift's best. */
				sink_u64(&s, rng_next(rng) >> 33);
			}
		} else {
			sink_put(&s, "%", 1);
		}
	}
	if (s.fail || s.len > INT_MAX) {
		if (cap > 0) {
			out[0] = '\0';
		}
		return -1;
	}
	out[s.len] = '\0';
	return (int)s.len;
}

/*
 * Returns true if tmpl has no "%i", "%c" or "%rand" (counting "%rand" even
 * when it is followed by an invalid "_N"), so every expansion gives the same
 * string.  "%%" does not count, so "%%i" is static.  tmpl is borrowed.
 */
bool
bench_template_is_static(const char *tmpl)
{
	const char *p = tmpl;

	while ((p = strchr(p, '%')) != NULL) {
		p++;
		if (*p == '%') {
			p++;
		} else if (*p == 'i' || *p == 'c' ||
		    strncmp(p, "rand", 4) == 0) {
			return false;
		}
	}
	return true;
}
