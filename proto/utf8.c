/*
 * utf8.c - the MQTT rules for UTF-8 Encoded Strings (MQTT 5.0 1.5.4,
 * 3.1.1 1.5.3): well-formed UTF-8 per RFC 3629, no U+0000, no surrogate
 * halves; control characters and non-characters are flagged as
 * "discouraged" for the caller to decide.  Pure function, no state.
 */
#include "proto/proto.h"

#include <string.h>

/* Non-characters: U+FDD0..U+FDEF and the last two code points of every
 * plane (U+xFFFE, U+xFFFF). */
static bool
is_nonchar(uint32_t cp)
{
	return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

int
proto_utf8_check(const uint8_t *s, size_t len, bool *discouraged)
{
	bool disc = false;
	size_t i = 0;

	while (i < len) {
		uint8_t b = s[i];
		uint32_t cp;
		size_t n;

		/* Eight ASCII bytes at a time, none of them below 0x20 or
		 * DEL: the common case for topics, ids and payloads. */
		while (len - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			const uint64_t hi = 0x8080808080808080ull;
			const uint64_t ones = 0x0101010101010101ull;
			/* A byte >= 0x80, < 0x20 or == 0x7F stops the run. */
			uint64_t ctl = (w - ones * 0x20) & ~w & hi;
			uint64_t del = ((w ^ (ones * 0x7F)) - ones) &
			    ~(w ^ (ones * 0x7F)) & hi;
			if (((w & hi) | ctl | del) != 0) {
				break;
			}
			i += 8;
		}
		if (i >= len) {
			break;
		}
		b = s[i];
		if (b < 0x80) {
			/* ASCII fast path: the common case for topics. */
			if (b == 0) {
				return PROTO_EUTF8;
			}
			if (b < 0x20 || b == 0x7F) {
				disc = true;
			}
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF) {
			n = 1;
			cp = b & 0x1F;
		} else if (b >= 0xE0 && b <= 0xEF) {
			n = 2;
			cp = b & 0x0F;
		} else if (b >= 0xF0 && b <= 0xF4) {
			n = 3;
			cp = b & 0x07;
		} else {
			/* Continuation byte as lead, C0/C1 overlong leads,
			 * F5..FF beyond U+10FFFF. */
			return PROTO_EUTF8;
		}
		if (len - i - 1 < n) {
			return PROTO_EUTF8;
		}
		for (size_t k = 1; k <= n; k++) {
			uint8_t c = s[i + k];
			if ((c & 0xC0) != 0x80) {
				return PROTO_EUTF8;
			}
			cp = (cp << 6) | (c & 0x3F);
		}
		/* Shortest form, no surrogates, not past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
			return PROTO_EUTF8;
		}
		if (cp <= 0x9F || is_nonchar(cp)) {
			disc = true;
		}
		i += n + 1;
	}
	if (discouraged != NULL) {
		*discouraged = disc;
	}
	return 0;
}
