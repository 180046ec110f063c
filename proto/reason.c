/*
 * reason.c - MQTT 5 reason codes: their names, which packet may carry
 * which, and the mapping to 3.1.1 CONNACK return codes.  Static tables.
 */
#include "proto/proto.h"

/* Packet-type bits for the "who may carry it" column. */
#define B(t) (1u << (t))
#define ACKS (B(PROTO_PUBACK) | B(PROTO_PUBREC))

struct reason_info {
	uint8_t code;
	uint16_t packets; /* B(type) for every packet that may carry it */
	const char *name;
};

static const struct reason_info reasons[] = {
	{ 0x00,
	    B(PROTO_CONNACK) | ACKS | B(PROTO_PUBREL) | B(PROTO_PUBCOMP) |
	        B(PROTO_UNSUBACK) | B(PROTO_AUTH),
	    "Success" },
	{ 0x01, B(PROTO_SUBACK), "Granted QoS 1" },
	{ 0x02, B(PROTO_SUBACK), "Granted QoS 2" },
	{ 0x04, B(PROTO_DISCONNECT), "Disconnect with Will Message" },
	{ 0x10, ACKS, "No matching subscribers" },
	{ 0x11, B(PROTO_UNSUBACK), "No subscription existed" },
	{ 0x18, B(PROTO_AUTH), "Continue authentication" },
	{ 0x19, B(PROTO_AUTH), "Re-authenticate" },
	{ 0x80,
	    B(PROTO_CONNACK) | ACKS | B(PROTO_SUBACK) | B(PROTO_UNSUBACK) |
	        B(PROTO_DISCONNECT),
	    "Unspecified error" },
	{ 0x81, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Malformed Packet" },
	{ 0x82, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Protocol Error" },
	{ 0x83,
	    B(PROTO_CONNACK) | ACKS | B(PROTO_SUBACK) | B(PROTO_UNSUBACK) |
	        B(PROTO_DISCONNECT),
	    "Implementation specific error" },
	{ 0x84, B(PROTO_CONNACK), "Unsupported Protocol Version" },
	{ 0x85, B(PROTO_CONNACK), "Client Identifier not valid" },
	{ 0x86, B(PROTO_CONNACK), "Bad User Name or Password" },
	{ 0x87,
	    B(PROTO_CONNACK) | ACKS | B(PROTO_SUBACK) | B(PROTO_UNSUBACK) |
	        B(PROTO_DISCONNECT),
	    "Not authorized" },
	{ 0x88, B(PROTO_CONNACK), "Server unavailable" },
	{ 0x89, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Server busy" },
	{ 0x8A, B(PROTO_CONNACK), "Banned" },
	{ 0x8B, B(PROTO_DISCONNECT), "Server shutting down" },
	{ 0x8C, B(PROTO_CONNACK), "Bad authentication method" },
	{ 0x8D, B(PROTO_DISCONNECT), "Keep Alive timeout" },
	{ 0x8E, B(PROTO_DISCONNECT), "Session taken over" },
	{ 0x8F, B(PROTO_SUBACK) | B(PROTO_UNSUBACK) | B(PROTO_DISCONNECT),
	    "Topic Filter invalid" },
	{ 0x90, B(PROTO_CONNACK) | ACKS | B(PROTO_DISCONNECT),
	    "Topic Name invalid" },
	{ 0x91, ACKS | B(PROTO_SUBACK) | B(PROTO_UNSUBACK),
	    "Packet Identifier in use" },
	{ 0x92, B(PROTO_PUBREL) | B(PROTO_PUBCOMP),
	    "Packet Identifier not found" },
	{ 0x93, B(PROTO_DISCONNECT), "Receive Maximum exceeded" },
	{ 0x94, B(PROTO_DISCONNECT), "Topic Alias invalid" },
	{ 0x95, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Packet too large" },
	{ 0x96, B(PROTO_DISCONNECT), "Message rate too high" },
	{ 0x97,
	    B(PROTO_CONNACK) | ACKS | B(PROTO_SUBACK) | B(PROTO_DISCONNECT),
	    "Quota exceeded" },
	{ 0x98, B(PROTO_DISCONNECT), "Administrative action" },
	{ 0x99, B(PROTO_CONNACK) | ACKS | B(PROTO_DISCONNECT),
	    "Payload format invalid" },
	{ 0x9A, B(PROTO_CONNACK) | B(PROTO_DISCONNECT),
	    "Retain not supported" },
	{ 0x9B, B(PROTO_CONNACK) | B(PROTO_DISCONNECT),
	    "QoS not supported" },
	{ 0x9C, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Use another server" },
	{ 0x9D, B(PROTO_CONNACK) | B(PROTO_DISCONNECT), "Server moved" },
	{ 0x9E, B(PROTO_SUBACK) | B(PROTO_DISCONNECT),
	    "Shared Subscriptions not supported" },
	{ 0x9F, B(PROTO_CONNACK) | B(PROTO_DISCONNECT),
	    "Connection rate exceeded" },
	{ 0xA0, B(PROTO_DISCONNECT), "Maximum connect time" },
	{ 0xA1, B(PROTO_SUBACK) | B(PROTO_DISCONNECT),
	    "Subscription Identifiers not supported" },
	{ 0xA2, B(PROTO_SUBACK) | B(PROTO_DISCONNECT),
	    "Wildcard Subscriptions not supported" },
};

static const struct reason_info *
find(uint8_t code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].code == code) {
			return &reasons[i];
		}
	}
	return NULL;
}

const char *
proto_reason_name(uint8_t code, uint8_t ptype)
{
	const struct reason_info *r = find(code);

	if (r == NULL) {
		return NULL;
	}
	if (code == 0x00 && ptype == PROTO_DISCONNECT) {
		return "Normal disconnection";
	}
	if (code == 0x00 && ptype == PROTO_SUBACK) {
		return "Granted QoS 0";
	}
	return r->name;
}

bool
proto_reason_allowed(uint8_t ptype, uint8_t code)
{
	const struct reason_info *r = find(code);

	if (r == NULL || ptype > PROTO_AUTH) {
		return false;
	}
	/* 0x00 is "Normal disconnection" and "Granted QoS 0" as well. */
	if (code == 0x00 &&
	    (ptype == PROTO_DISCONNECT || ptype == PROTO_SUBACK)) {
		return true;
	}
	return (r->packets & B(ptype)) != 0;
}

uint8_t
proto_connack_v3_code(uint8_t reason)
{
	switch (reason) {
	case PROTO_RC_SUCCESS:
		return PROTO_CONNACK_ACCEPTED;
	case PROTO_RC_UNSUPPORTED_VERSION:
		return PROTO_CONNACK_BAD_VERSION;
	case PROTO_RC_CLIENT_ID_NOT_VALID:
		return PROTO_CONNACK_ID_REJECTED;
	case PROTO_RC_BAD_USERNAME_PASSWORD:
	case PROTO_RC_BAD_AUTH_METHOD:
		return PROTO_CONNACK_BAD_CREDENTIALS;
	case PROTO_RC_NOT_AUTHORIZED:
	case PROTO_RC_BANNED:
		return PROTO_CONNACK_NOT_AUTHORIZED;
	default:
		/* Busy, unavailable, quota, and everything else: the 3.1.1
		 * client can only be told to try again later. */
		return PROTO_CONNACK_UNAVAILABLE;
	}
}

const char *
proto_type_name(uint8_t type)
{
	static const char *const names[] = { "RESERVED", "CONNECT", "CONNACK",
		"PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
		"SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
		"DISCONNECT", "AUTH" };

	if (type >= 1 && type <= 15) {
		return names[type];
	}
	return "?";
}
