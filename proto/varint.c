/*
 * varint.c - MQTT Variable Byte Integers (MQTT 5.0 1.5.5): seven bits per
 * byte, least significant group first, at most four bytes.  Pure functions.
 */
#include "proto/proto.h"

int
proto_varint_decode(const uint8_t *p, size_t len, uint32_t *value,
    size_t *used)
{
	uint32_t v = 0;

	for (size_t i = 0; i < 4; i++) {
		if (i >= len) {
			return PROTO_MORE;
		}
		v |= (uint32_t)(p[i] & 0x7F) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			/* A trailing zero group is a longer form than needed,
			 * which [MQTT-1.5.5-1] forbids. */
			if (i > 0 && p[i] == 0) {
				return PROTO_EVARINT;
			}
			*value = v;
			*used = i + 1;
			return 0;
		}
	}
	return PROTO_EVARINT;
}

size_t
proto_varint_encode(uint32_t v, uint8_t out[4])
{
	size_t n = 0;

	if (v > PROTO_MAX_REMAINING) {
		return 0;
	}
	do {
		uint8_t b = v & 0x7F;
		v >>= 7;
		out[n++] = v != 0 ? (uint8_t)(b | 0x80) : b;
	} while (v != 0);
	return n;
}

size_t
proto_varint_size(uint32_t v)
{
	if (v < 128u) {
		return 1;
	}
	if (v < 16384u) {
		return 2;
	}
	if (v < 2097152u) {
		return 3;
	}
	return v <= PROTO_MAX_REMAINING ? 4 : 0;
}
