/*
 * test_malformed.c - malformed and forbidden packets, written byte by byte
 * from the MQTT 3.1, 3.1.1 and 5.0 specifications, never with the proto/
 * encoder, so that a codec bug cannot hide itself.
 *
 * Each entry of `bad_cases` is one cmocka test named after the rule it
 * breaks.  It must fail proto_decode() with exactly the PROTO_E* code given,
 * proto_error_reason() must map that code to the MQTT reason code the header
 * documents, and a proto_reader fed the same bytes, whole or one byte at a
 * time, must stop with the same code.  Every packet is otherwise valid, so
 * that only the rule under test can be the cause; the test checks that the
 * hand-written remaining length agrees with the bytes (except where it lies
 * on purpose).  Valid hand-written packets, the positive controls, decode;
 * so do SUBSCRIBE and UNSUBSCRIBE with bad filter syntax, which the broker
 * answers per entry (proto_filter_check() rejects those filters).  The
 * incremental reader must also reject a bad fixed header before it holds
 * any byte of the body.
 *
 * Every buffer a test allocates it frees.  One thread.
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

/* The reason code proto_error_reason() must give for each decoder error,
 * from the comments of enum proto_err. */
static uint8_t
expected_reason(int err)
{
	switch (err) {
	case PROTO_ESHORT:
	case PROTO_EVARINT:
	case PROTO_ETYPE:
	case PROTO_EFLAGS:
	case PROTO_EQOS:
	case PROTO_EUTF8:
	case PROTO_EPROPID:
	case PROTO_EPROTONAME:
	case PROTO_ECONNFLAGS:
	case PROTO_EREASON:
	case PROTO_ETRAILING:
	case PROTO_ESUBOPTS:
		return 0x81; /* Malformed Packet */
	case PROTO_EPROPDUP:
	case PROTO_EPROPVAL:
	case PROTO_EPACKETID:
	case PROTO_EEMPTY:
	case PROTO_ERETAINHAND:
	case PROTO_ENOTOPIC:
		return 0x82; /* Protocol Error */
	case PROTO_ETOPIC:
		return 0x90; /* Topic Name invalid */
	case PROTO_EALIAS:
		return 0x94; /* Topic Alias invalid */
	case PROTO_EVERSION:
		return 0x84; /* Unsupported Protocol Version */
	case PROTO_ETOOLARGE:
		return 0x95; /* Packet too large */
	case PROTO_EFILTER:
		return 0x8F; /* Topic Filter invalid */
	default:
		return 0x80; /* Unspecified error */
	}
}

struct bad_case {
	const char *name;
	uint8_t version;   /* passed to proto_decode (CONNECT ignores it) */
	uint32_t max_size; /* 0: no limit */
	int err;
	bool lies;         /* remaining length disagrees with the data */
	size_t len;
	const uint8_t *bytes;
};

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define CASE(ver, max, lie, nm, e, ...)                                 \
	{ "v" #ver ": " nm, ver, max, e, lie,                           \
	    sizeof(BYTES(__VA_ARGS__)), BYTES(__VA_ARGS__) }
#define BAD(ver, nm, e, ...) CASE(ver, 0, false, nm, e, __VA_ARGS__)
#define BAD_LIES(ver, nm, e, ...) CASE(ver, 0, true, nm, e, __VA_ARGS__)
#define BAD_MAX(ver, max, nm, e, ...) CASE(ver, max, false, nm, e, __VA_ARGS__)

/* Variable headers of CONNECT: protocol name and level. */
#define MQTT4 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04
#define MQTT5 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05
#define MQISDP 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03

static struct bad_case bad_cases[] = {
	/* ---- Fixed header: packet type and remaining length ---- */
	BAD(3, "packet type 0 is reserved", PROTO_ETYPE, 0x00, 0x00),
	BAD(4, "packet type 0 is reserved", PROTO_ETYPE, 0x00, 0x00),
	BAD(5, "packet type 0 is reserved", PROTO_ETYPE, 0x00, 0x00),
	BAD(3, "packet type 15 (AUTH) is reserved before MQTT 5",
	    PROTO_ETYPE, 0xF0, 0x00),
	BAD(4, "packet type 15 (AUTH) is reserved before MQTT 5",
	    PROTO_ETYPE, 0xF0, 0x00),
	BAD(0, "version 0 decodes as 3.1.1, where AUTH is reserved",
	    PROTO_ETYPE, 0xF0, 0x00),
	BAD_LIES(4, "remaining length of five bytes", PROTO_EVARINT,
	    0xC0, 0x80, 0x80, 0x80, 0x80, 0x01),
	BAD_LIES(5, "remaining length of five bytes", PROTO_EVARINT,
	    0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, 'a'),
	BAD_LIES(5, "remaining length not in its shortest form (1.5.5-1)",
	    PROTO_EVARINT, 0xC0, 0x80, 0x00),
	BAD_LIES(4, "remaining length larger than the data", PROTO_ESHORT,
	    0x40, 0x02, 0x00),
	BAD_LIES(4, "PUBLISH remaining length larger than the data",
	    PROTO_ESHORT, 0x30, 0x0A, 0x00, 0x01, 'a'),
	BAD(4, "PUBACK without its packet identifier", PROTO_ESHORT,
	    0x40, 0x00),
	BAD(5, "PUBACK with half a packet identifier", PROTO_ESHORT,
	    0x40, 0x01, 0x00),

	/* ---- PUBLISH ---- */
	BAD(4, "PUBLISH QoS 3", PROTO_EQOS,
	    0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01),
	BAD(5, "PUBLISH QoS 3", PROTO_EQOS,
	    0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 0x00),
	BAD(3, "PUBLISH QoS 3 with retain and dup", PROTO_EQOS,
	    0x3F, 0x05, 0x00, 0x01, 'a', 0x00, 0x01),
	BAD(4, "PUBLISH DUP set on QoS 0", PROTO_EFLAGS,
	    0x38, 0x03, 0x00, 0x01, 'a'),
	BAD(5, "PUBLISH DUP set on QoS 0", PROTO_EFLAGS,
	    0x38, 0x04, 0x00, 0x01, 'a', 0x00),
	BAD(4, "PUBLISH QoS 1 packet identifier 0", PROTO_EPACKETID,
	    0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00),
	BAD(4, "PUBLISH QoS 2 packet identifier 0", PROTO_EPACKETID,
	    0x34, 0x05, 0x00, 0x01, 'a', 0x00, 0x00),
	BAD(5, "PUBLISH QoS 1 packet identifier 0", PROTO_EPACKETID,
	    0x32, 0x06, 0x00, 0x01, 'a', 0x00, 0x00, 0x00),
	BAD(4, "PUBLISH QoS 1 without packet identifier", PROTO_ESHORT,
	    0x32, 0x03, 0x00, 0x01, 'a'),
	BAD(4, "PUBLISH topic length past the packet", PROTO_ESHORT,
	    0x30, 0x03, 0x00, 0x05, 'a'),
	BAD(3, "PUBLISH topic not UTF-8 (0xFF)", PROTO_EUTF8,
	    0x30, 0x03, 0x00, 0x01, 0xFF),
	BAD(4, "PUBLISH topic not UTF-8 (0xFF)", PROTO_EUTF8,
	    0x30, 0x03, 0x00, 0x01, 0xFF),
	BAD(5, "PUBLISH topic not UTF-8 (0xFF)", PROTO_EUTF8,
	    0x30, 0x04, 0x00, 0x01, 0xFF, 0x00),
	BAD(4, "PUBLISH topic with an overlong '/' (C0 AF)", PROTO_EUTF8,
	    0x30, 0x04, 0x00, 0x02, 0xC0, 0xAF),
	BAD(4, "PUBLISH topic with a surrogate U+D800", PROTO_EUTF8,
	    0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80),
	BAD(4, "PUBLISH topic with a code point above U+10FFFF",
	    PROTO_EUTF8, 0x30, 0x06, 0x00, 0x04, 0xF4, 0x90, 0x80, 0x80),
	BAD(4, "PUBLISH topic ending inside a UTF-8 sequence", PROTO_EUTF8,
	    0x30, 0x04, 0x00, 0x02, 'a', 0xC3),
	BAD(4, "PUBLISH topic holding U+0000", PROTO_EUTF8,
	    0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'),
	BAD(5, "PUBLISH topic holding U+0000", PROTO_EUTF8,
	    0x30, 0x06, 0x00, 0x03, 'a', 0x00, 'b', 0x00),
	BAD(4, "PUBLISH topic with wildcard '+'", PROTO_ETOPIC,
	    0x30, 0x05, 0x00, 0x03, 'a', '/', '+'),
	BAD(4, "PUBLISH topic with wildcard '#'", PROTO_ETOPIC,
	    0x30, 0x03, 0x00, 0x01, '#'),
	BAD(3, "PUBLISH topic with wildcard '#'", PROTO_ETOPIC,
	    0x30, 0x05, 0x00, 0x03, 'a', '/', '#'),
	BAD(5, "PUBLISH topic with wildcard '#'", PROTO_ETOPIC,
	    0x30, 0x06, 0x00, 0x03, 'a', '/', '#', 0x00),
	BAD(5, "PUBLISH topic with wildcard '+' and a topic alias",
	    PROTO_ETOPIC, 0x30, 0x07, 0x00, 0x01, '+', 0x03, 0x23, 0x00,
	    0x01),
	BAD(4, "PUBLISH empty topic", PROTO_ETOPIC, 0x30, 0x02, 0x00, 0x00),
	BAD(3, "PUBLISH empty topic", PROTO_ETOPIC, 0x30, 0x02, 0x00, 0x00),
	BAD(5, "PUBLISH empty topic without topic alias", PROTO_ENOTOPIC,
	    0x30, 0x03, 0x00, 0x00, 0x00),
	BAD(5, "PUBLISH empty topic, properties but no topic alias",
	    PROTO_ENOTOPIC, 0x30, 0x05, 0x00, 0x00, 0x02, 0x01, 0x01),
	BAD(5, "PUBLISH topic alias 0", PROTO_EALIAS,
	    0x30, 0x07, 0x00, 0x01, 'a', 0x03, 0x23, 0x00, 0x00),
	BAD(5, "PUBLISH empty topic with topic alias 0", PROTO_EALIAS,
	    0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x00),
	BAD(5, "PUBLISH Message Expiry twice", PROTO_EPROPDUP,
	    0x30, 0x0E, 0x00, 0x01, 'a', 0x0A, 0x02, 0x00, 0x00, 0x00, 0x01,
	    0x02, 0x00, 0x00, 0x00, 0x02),
	BAD(5, "PUBLISH Topic Alias twice", PROTO_EPROPDUP,
	    0x30, 0x0A, 0x00, 0x01, 'a', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00,
	    0x02),
	BAD(5, "PUBLISH Content Type twice", PROTO_EPROPDUP,
	    0x30, 0x0C, 0x00, 0x01, 'a', 0x08, 0x03, 0x00, 0x01, 'x', 0x03,
	    0x00, 0x01, 'y'),
	BAD(5, "PUBLISH Payload Format Indicator twice", PROTO_EPROPDUP,
	    0x30, 0x08, 0x00, 0x01, 'a', 0x04, 0x01, 0x00, 0x01, 0x01),
	BAD(5, "PUBLISH with Session Expiry Interval", PROTO_EPROPID,
	    0x30, 0x09, 0x00, 0x01, 'a', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01),
	BAD(5, "PUBLISH with Reason String", PROTO_EPROPID,
	    0x30, 0x08, 0x00, 0x01, 'a', 0x04, 0x1F, 0x00, 0x01, 'r'),
	BAD(5, "PUBLISH with Will Delay Interval", PROTO_EPROPID,
	    0x30, 0x09, 0x00, 0x01, 'a', 0x05, 0x18, 0x00, 0x00, 0x00, 0x01),
	BAD(5, "PUBLISH with unknown property 0x04", PROTO_EPROPID,
	    0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x04, 0x00),
	BAD(5, "PUBLISH with unknown property 0x7F", PROTO_EPROPID,
	    0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x7F, 0x00),
	BAD(5, "PUBLISH with unknown property 0x00", PROTO_EPROPID,
	    0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x00, 0x00),
	BAD(5, "PUBLISH Payload Format Indicator 2", PROTO_EPROPVAL,
	    0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x01, 0x02),
	BAD(5, "PUBLISH Subscription Identifier 0", PROTO_EPROPVAL,
	    0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0x0B, 0x00),
	BAD(5, "PUBLISH Subscription Identifier of five bytes", PROTO_EVARINT,
	    0x30, 0x0A, 0x00, 0x01, 'a', 0x06, 0x0B, 0x80, 0x80, 0x80, 0x80,
	    0x01),
	BAD(5, "PUBLISH property length of five bytes", PROTO_EVARINT,
	    0x30, 0x08, 0x00, 0x01, 'a', 0x80, 0x80, 0x80, 0x80, 0x01),
	BAD(5, "PUBLISH property length past the packet", PROTO_ESHORT,
	    0x30, 0x05, 0x00, 0x01, 'a', 0x05, 0x01),
	BAD(5, "PUBLISH property value past the property block",
	    PROTO_ESHORT, 0x30, 0x0A, 0x00, 0x01, 'a', 0x02, 0x02, 0x00, 0x00,
	    0x00, 0x01, 'p'),
	BAD(5, "PUBLISH without property length", PROTO_ESHORT,
	    0x30, 0x03, 0x00, 0x01, 'a'),
	BAD(5, "PUBLISH User Property value not UTF-8", PROTO_EUTF8,
	    0x30, 0x0B, 0x00, 0x01, 'a', 0x07, 0x26, 0x00, 0x01, 'k', 0x00,
	    0x01, 0xFF),
	BAD(5, "PUBLISH User Property key holding U+0000", PROTO_EUTF8,
	    0x30, 0x0B, 0x00, 0x01, 'a', 0x07, 0x26, 0x00, 0x01, 0x00, 0x00,
	    0x01, 'v'),
	BAD(5, "PUBLISH Content Type not UTF-8", PROTO_EUTF8,
	    0x30, 0x08, 0x00, 0x01, 'a', 0x04, 0x03, 0x00, 0x01, 0xFF),
	BAD(5, "PUBLISH Response Topic not UTF-8", PROTO_EUTF8,
	    0x30, 0x08, 0x00, 0x01, 'a', 0x04, 0x08, 0x00, 0x01, 0xFF),
	BAD(5, "PUBLISH Response Topic with wildcard (3.3.2-14)",
	    PROTO_ETOPIC, 0x30, 0x08, 0x00, 0x01, 'a', 0x04, 0x08, 0x00,
	    0x01, '#'),

	/* ---- PUBACK, PUBREC, PUBREL, PUBCOMP ---- */
	BAD(4, "PUBACK packet identifier 0", PROTO_EPACKETID,
	    0x40, 0x02, 0x00, 0x00),
	BAD(4, "PUBREC packet identifier 0", PROTO_EPACKETID,
	    0x50, 0x02, 0x00, 0x00),
	BAD(4, "PUBREL packet identifier 0", PROTO_EPACKETID,
	    0x62, 0x02, 0x00, 0x00),
	BAD(4, "PUBCOMP packet identifier 0", PROTO_EPACKETID,
	    0x70, 0x02, 0x00, 0x00),
	BAD(3, "PUBACK packet identifier 0", PROTO_EPACKETID,
	    0x40, 0x02, 0x00, 0x00),
	BAD(5, "PUBACK packet identifier 0", PROTO_EPACKETID,
	    0x40, 0x02, 0x00, 0x00),
	BAD(5, "PUBREL packet identifier 0 with reason", PROTO_EPACKETID,
	    0x62, 0x03, 0x00, 0x00, 0x92),
	BAD(3, "PUBACK with a third byte", PROTO_ETRAILING,
	    0x40, 0x03, 0x00, 0x01, 0x00),
	BAD(4, "PUBACK with a third byte", PROTO_ETRAILING,
	    0x40, 0x03, 0x00, 0x01, 0x00),
	BAD(0, "version 0 decodes as 3.1.1: PUBACK with a reason",
	    PROTO_ETRAILING, 0x40, 0x03, 0x00, 0x01, 0x10),
	BAD(4, "PUBREL with a third byte", PROTO_ETRAILING,
	    0x62, 0x03, 0x00, 0x01, 0x00),
	BAD(4, "PUBCOMP with a third byte", PROTO_ETRAILING,
	    0x70, 0x03, 0x00, 0x01, 0x00),
	BAD(5, "PUBACK byte after the properties", PROTO_ETRAILING,
	    0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00),
	BAD(5, "PUBACK reason 0x04 (DISCONNECT only)", PROTO_EREASON,
	    0x40, 0x03, 0x00, 0x01, 0x04),
	BAD(5, "PUBACK reason 0x92 (PUBREL/PUBCOMP only)", PROTO_EREASON,
	    0x40, 0x03, 0x00, 0x01, 0x92),
	BAD(5, "PUBACK reason 0x01 (SUBACK only)", PROTO_EREASON,
	    0x40, 0x04, 0x00, 0x01, 0x01, 0x00),
	BAD(5, "PUBREC reason 0x92 (PUBREL/PUBCOMP only)", PROTO_EREASON,
	    0x50, 0x03, 0x00, 0x01, 0x92),
	BAD(5, "PUBREL reason 0x10 (PUBACK/PUBREC only)", PROTO_EREASON,
	    0x62, 0x03, 0x00, 0x01, 0x10),
	BAD(5, "PUBCOMP reason 0x80 (not in PUBCOMP)", PROTO_EREASON,
	    0x70, 0x03, 0x00, 0x01, 0x80),
	BAD(5, "PUBACK with Topic Alias", PROTO_EPROPID,
	    0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01),
	BAD(5, "PUBREL with Subscription Identifier", PROTO_EPROPID,
	    0x62, 0x06, 0x00, 0x01, 0x00, 0x02, 0x0B, 0x01),
	BAD(5, "PUBACK Reason String twice", PROTO_EPROPDUP,
	    0x40, 0x0C, 0x00, 0x01, 0x00, 0x08, 0x1F, 0x00, 0x01, 'a', 0x1F,
	    0x00, 0x01, 'b'),
	BAD(5, "PUBACK Reason String not UTF-8", PROTO_EUTF8,
	    0x40, 0x08, 0x00, 0x01, 0x00, 0x04, 0x1F, 0x00, 0x01, 0xFF),
	BAD(5, "PUBACK property length past the packet", PROTO_ESHORT,
	    0x40, 0x04, 0x00, 0x01, 0x00, 0x05),

	/* ---- CONNACK ---- */
	BAD(4, "CONNACK return code 6 (reserved)", PROTO_EREASON,
	    0x20, 0x02, 0x00, 0x06),
	BAD(4, "CONNACK with a third byte", PROTO_ETRAILING,
	    0x20, 0x03, 0x00, 0x00, 0x00),
	BAD(4, "CONNACK of one byte", PROTO_ESHORT, 0x20, 0x01, 0x00),
	BAD(4, "CONNACK reserved acknowledge flag bit 1", PROTO_ECONNFLAGS,
	    0x20, 0x02, 0x02, 0x00),
	BAD(5, "CONNACK reserved acknowledge flag bit 7", PROTO_ECONNFLAGS,
	    0x20, 0x03, 0x80, 0x00, 0x00),
	BAD(4, "CONNACK session present with a refusal (3.2.2-4)",
	    PROTO_ECONNFLAGS, 0x20, 0x02, 0x01, 0x05),
	BAD(5, "CONNACK session present with a refusal (3.2.2-6)",
	    PROTO_ECONNFLAGS, 0x20, 0x03, 0x01, 0x87, 0x00),
	BAD(5, "CONNACK without property length", PROTO_ESHORT,
	    0x20, 0x02, 0x00, 0x00),
	BAD(5, "CONNACK byte after the properties", PROTO_ETRAILING,
	    0x20, 0x04, 0x00, 0x00, 0x00, 0x00),
	BAD(5, "CONNACK reason 0x01 (no CONNACK reason)", PROTO_EREASON,
	    0x20, 0x03, 0x00, 0x01, 0x00),
	BAD(5, "CONNACK reason 0x04 (DISCONNECT only)", PROTO_EREASON,
	    0x20, 0x03, 0x00, 0x04, 0x00),
	BAD(5, "CONNACK Maximum QoS 2", PROTO_EPROPVAL,
	    0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02),
	BAD(5, "CONNACK Retain Available 2", PROTO_EPROPVAL,
	    0x20, 0x05, 0x00, 0x00, 0x02, 0x25, 0x02),
	BAD(5, "CONNACK Wildcard Subscription Available 2", PROTO_EPROPVAL,
	    0x20, 0x05, 0x00, 0x00, 0x02, 0x28, 0x02),
	BAD(5, "CONNACK Subscription Identifiers Available 2",
	    PROTO_EPROPVAL, 0x20, 0x05, 0x00, 0x00, 0x02, 0x29, 0x02),
	BAD(5, "CONNACK Shared Subscription Available 2", PROTO_EPROPVAL,
	    0x20, 0x05, 0x00, 0x00, 0x02, 0x2A, 0x02),
	BAD(5, "CONNACK Receive Maximum 0", PROTO_EPROPVAL,
	    0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00),
	BAD(5, "CONNACK Maximum Packet Size 0", PROTO_EPROPVAL,
	    0x20, 0x08, 0x00, 0x00, 0x05, 0x27, 0x00, 0x00, 0x00, 0x00),
	BAD(5, "CONNACK with Topic Alias", PROTO_EPROPID,
	    0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01),
	BAD(5, "CONNACK with Will Delay Interval", PROTO_EPROPID,
	    0x20, 0x08, 0x00, 0x00, 0x05, 0x18, 0x00, 0x00, 0x00, 0x01),
	BAD(5, "CONNACK Assigned Client Identifier twice", PROTO_EPROPDUP,
	    0x20, 0x0B, 0x00, 0x00, 0x08, 0x12, 0x00, 0x01, 'a', 0x12, 0x00,
	    0x01, 'b'),

	/* ---- SUBSCRIBE ---- */
	BAD(4, "SUBSCRIBE packet identifier 0", PROTO_EPACKETID,
	    0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00),
	BAD(5, "SUBSCRIBE packet identifier 0", PROTO_EPACKETID,
	    0x82, 0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 'a', 0x00),
	BAD(3, "SUBSCRIBE without entries", PROTO_EEMPTY,
	    0x82, 0x02, 0x00, 0x01),
	BAD(4, "SUBSCRIBE without entries", PROTO_EEMPTY,
	    0x82, 0x02, 0x00, 0x01),
	BAD(5, "SUBSCRIBE without entries", PROTO_EEMPTY,
	    0x82, 0x03, 0x00, 0x01, 0x00),
	BAD(5, "SUBSCRIBE with properties but without entries",
	    PROTO_EEMPTY, 0x82, 0x05, 0x00, 0x01, 0x02, 0x0B, 0x01),
	BAD(3, "SUBSCRIBE option reserved bit 6", PROTO_ESUBOPTS,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x40),
	BAD(4, "SUBSCRIBE option reserved bit 2", PROTO_ESUBOPTS,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x04),
	BAD(4, "SUBSCRIBE option reserved bit 7", PROTO_ESUBOPTS,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x80),
	BAD(4, "SUBSCRIBE second entry option reserved bit 4",
	    PROTO_ESUBOPTS, 0x82, 0x0A, 0x00, 0x01, 0x00, 0x01, 'a', 0x01,
	    0x00, 0x01, 'b', 0x11),
	BAD(5, "SUBSCRIBE option reserved bit 6", PROTO_ESUBOPTS,
	    0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x40),
	BAD(5, "SUBSCRIBE option reserved bit 7", PROTO_ESUBOPTS,
	    0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x80),
	BAD(3, "SUBSCRIBE QoS 3", PROTO_EQOS,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03),
	BAD(4, "SUBSCRIBE QoS 3", PROTO_EQOS,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03),
	BAD(5, "SUBSCRIBE QoS 3", PROTO_EQOS,
	    0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x03),
	BAD(5, "SUBSCRIBE Retain Handling 3", PROTO_ERETAINHAND,
	    0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30),
	BAD(4, "SUBSCRIBE filter not UTF-8", PROTO_EUTF8,
	    0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0xFF, 0x00),
	BAD(5, "SUBSCRIBE filter not UTF-8", PROTO_EUTF8,
	    0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0xFF, 0x00),
	BAD(4, "SUBSCRIBE filter holding U+0000", PROTO_EUTF8,
	    0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', 0x00, 'b', 0x00),
	BAD(5, "SUBSCRIBE Subscription Identifier 0", PROTO_EPROPVAL,
	    0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x00, 0x00, 0x01, 'a', 0x00),
	BAD(5, "SUBSCRIBE Subscription Identifier twice", PROTO_EPROPDUP,
	    0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01,
	    'a', 0x00),
	BAD(5, "SUBSCRIBE with Message Expiry Interval", PROTO_EPROPID,
	    0x82, 0x0C, 0x00, 0x01, 0x05, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
	    0x01, 'a', 0x00),
	BAD(4, "SUBSCRIBE entry without its options byte", PROTO_ESHORT,
	    0x82, 0x09, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x00, 0x01, 'b'),
	BAD(4, "SUBSCRIBE filter length past the packet", PROTO_ESHORT,
	    0x82, 0x05, 0x00, 0x01, 0x00, 0x05, 'a'),

	/* ---- SUBACK ---- */
	BAD(4, "SUBACK packet identifier 0", PROTO_EPACKETID,
	    0x90, 0x03, 0x00, 0x00, 0x00),
	BAD(4, "SUBACK without return codes", PROTO_EEMPTY,
	    0x90, 0x02, 0x00, 0x01),
	BAD(5, "SUBACK without reason codes", PROTO_EEMPTY,
	    0x90, 0x03, 0x00, 0x01, 0x00),
	BAD(3, "SUBACK return code 0x80 (added in 3.1.1)", PROTO_EREASON,
	    0x90, 0x03, 0x00, 0x01, 0x80),
	BAD(4, "SUBACK return code 0x03", PROTO_EREASON,
	    0x90, 0x03, 0x00, 0x01, 0x03),
	BAD(5, "SUBACK reason 0x03", PROTO_EREASON,
	    0x90, 0x04, 0x00, 0x01, 0x00, 0x03),
	BAD(5, "SUBACK reason 0x11 (UNSUBACK only)", PROTO_EREASON,
	    0x90, 0x05, 0x00, 0x01, 0x00, 0x00, 0x11),
	BAD(5, "SUBACK with Session Expiry Interval", PROTO_EPROPID,
	    0x90, 0x09, 0x00, 0x01, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00),

	/* ---- UNSUBSCRIBE and UNSUBACK ---- */
	BAD(4, "UNSUBSCRIBE packet identifier 0", PROTO_EPACKETID,
	    0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 'a'),
	BAD(5, "UNSUBSCRIBE packet identifier 0", PROTO_EPACKETID,
	    0xA2, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 'a'),
	BAD(3, "UNSUBSCRIBE without filters", PROTO_EEMPTY,
	    0xA2, 0x02, 0x00, 0x01),
	BAD(4, "UNSUBSCRIBE without filters", PROTO_EEMPTY,
	    0xA2, 0x02, 0x00, 0x01),
	BAD(5, "UNSUBSCRIBE without filters", PROTO_EEMPTY,
	    0xA2, 0x03, 0x00, 0x01, 0x00),
	BAD(4, "UNSUBSCRIBE filter not UTF-8", PROTO_EUTF8,
	    0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, 0xFF),
	BAD(5, "UNSUBSCRIBE with Subscription Identifier", PROTO_EPROPID,
	    0xA2, 0x08, 0x00, 0x01, 0x02, 0x0B, 0x01, 0x00, 0x01, 'a'),
	BAD(5, "UNSUBSCRIBE User Property key not UTF-8", PROTO_EUTF8,
	    0xA2, 0x0D, 0x00, 0x01, 0x07, 0x26, 0x00, 0x01, 0xFF, 0x00, 0x01,
	    'v', 0x00, 0x01, 'a'),
	BAD(4, "UNSUBACK packet identifier 0", PROTO_EPACKETID,
	    0xB0, 0x02, 0x00, 0x00),
	BAD(4, "UNSUBACK with a third byte", PROTO_ETRAILING,
	    0xB0, 0x03, 0x00, 0x01, 0x00),
	BAD(5, "UNSUBACK reason 0x01 (SUBACK only)", PROTO_EREASON,
	    0xB0, 0x04, 0x00, 0x01, 0x00, 0x01),
	BAD(5, "UNSUBACK reason 0x92", PROTO_EREASON,
	    0xB0, 0x04, 0x00, 0x01, 0x00, 0x92),

	/* ---- PINGREQ, PINGRESP, DISCONNECT, AUTH ---- */
	BAD(4, "PINGREQ with remaining length 1", PROTO_ETRAILING,
	    0xC0, 0x01, 0x00),
	BAD(5, "PINGREQ with remaining length 1", PROTO_ETRAILING,
	    0xC0, 0x01, 0x00),
	BAD(3, "PINGRESP with remaining length 1", PROTO_ETRAILING,
	    0xD0, 0x01, 0x00),
	BAD(4, "DISCONNECT with remaining length 1", PROTO_ETRAILING,
	    0xE0, 0x01, 0x00),
	BAD(3, "DISCONNECT with remaining length 1", PROTO_ETRAILING,
	    0xE0, 0x01, 0x00),
	BAD(5, "DISCONNECT reason 0x84 (CONNACK only)", PROTO_EREASON,
	    0xE0, 0x01, 0x84),
	BAD(5, "DISCONNECT reason 0x01", PROTO_EREASON, 0xE0, 0x01, 0x01),
	BAD(5, "DISCONNECT reason 0x91 (not in DISCONNECT)", PROTO_EREASON,
	    0xE0, 0x02, 0x91, 0x00),
	BAD(5, "DISCONNECT with Topic Alias Maximum", PROTO_EPROPID,
	    0xE0, 0x05, 0x00, 0x03, 0x22, 0x00, 0x01),
	BAD(5, "DISCONNECT with Assigned Client Identifier", PROTO_EPROPID,
	    0xE0, 0x06, 0x00, 0x04, 0x12, 0x00, 0x01, 'a'),
	BAD(5, "DISCONNECT Session Expiry Interval twice", PROTO_EPROPDUP,
	    0xE0, 0x0C, 0x00, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00,
	    0x00, 0x00, 0x02),
	BAD(5, "DISCONNECT Server Reference not UTF-8", PROTO_EUTF8,
	    0xE0, 0x06, 0x9C, 0x04, 0x1C, 0x00, 0x01, 0xFF),
	BAD(5, "DISCONNECT byte after the properties", PROTO_ETRAILING,
	    0xE0, 0x03, 0x00, 0x00, 0x00),
	BAD(5, "AUTH reason 0x01", PROTO_EREASON, 0xF0, 0x01, 0x01),
	BAD(5, "AUTH reason 0x87", PROTO_EREASON, 0xF0, 0x02, 0x87, 0x00),
	BAD(5, "AUTH with Session Expiry Interval", PROTO_EPROPID,
	    0xF0, 0x07, 0x18, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01),
	BAD(5, "AUTH Authentication Method twice", PROTO_EPROPDUP,
	    0xF0, 0x0C, 0x18, 0x0A, 0x15, 0x00, 0x03, 'a', 'b', 'c', 0x15,
	    0x00, 0x01, 'x'),
	BAD(5, "AUTH Authentication Method not UTF-8", PROTO_EUTF8,
	    0xF0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, 0xFF),

	/* ---- CONNECT (3.1.1 and 3.1) ---- */
	BAD(4, "CONNECT protocol name MQTX", PROTO_EPROTONAME,
	    0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	BAD(4, "CONNECT protocol name in lower case", PROTO_EPROTONAME,
	    0x10, 0x0D, 0x00, 0x04, 'm', 'q', 't', 't', 0x04, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	BAD(3, "CONNECT protocol name MQIsdx", PROTO_EPROTONAME,
	    0x10, 0x0F, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'x', 0x03, 0x02,
	    0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT protocol level 6", PROTO_EVERSION,
	    0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x06, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	BAD(4, "CONNECT protocol level 2", PROTO_EVERSION,
	    0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x02, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	BAD(4, "CONNECT reserved flag bit 0 set", PROTO_ECONNFLAGS,
	    0x10, 0x0D, MQTT4, 0x03, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(3, "CONNECT reserved flag bit 0 set", PROTO_ECONNFLAGS,
	    0x10, 0x0F, MQISDP, 0x03, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT will QoS 3", PROTO_EQOS,
	    0x10, 0x13, MQTT4, 0x1E, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    't', 0x00, 0x01, 'm'),
	BAD(4, "CONNECT will QoS 1 without will flag", PROTO_ECONNFLAGS,
	    0x10, 0x0D, MQTT4, 0x0A, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT will QoS 2 without will flag", PROTO_ECONNFLAGS,
	    0x10, 0x0D, MQTT4, 0x12, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT will retain without will flag", PROTO_ECONNFLAGS,
	    0x10, 0x0D, MQTT4, 0x22, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT password without user name", PROTO_ECONNFLAGS,
	    0x10, 0x10, MQTT4, 0x42, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    'p'),
	BAD(4, "CONNECT with a byte after the payload", PROTO_ETRAILING,
	    0x10, 0x0E, MQTT4, 0x02, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00),
	BAD(3, "CONNECT with a byte after the payload", PROTO_ETRAILING,
	    0x10, 0x10, MQISDP, 0x02, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00),
	BAD(4, "CONNECT client id not UTF-8 (overlong U+0000)", PROTO_EUTF8,
	    0x10, 0x0E, MQTT4, 0x02, 0x00, 0x3C, 0x00, 0x02, 0xC0, 0x80),
	BAD(4, "CONNECT client id holding U+0000", PROTO_EUTF8,
	    0x10, 0x0D, MQTT4, 0x02, 0x00, 0x3C, 0x00, 0x01, 0x00),
	BAD(4, "CONNECT user name not UTF-8", PROTO_EUTF8,
	    0x10, 0x10, MQTT4, 0x82, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    0xFF),
	BAD(4, "CONNECT will topic not UTF-8", PROTO_EUTF8,
	    0x10, 0x13, MQTT4, 0x06, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    0xFE, 0x00, 0x01, 'm'),
	BAD(4, "CONNECT will topic with wildcard", PROTO_ETOPIC,
	    0x10, 0x13, MQTT4, 0x06, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    '#', 0x00, 0x01, 'm'),
	BAD(4, "CONNECT empty will topic", PROTO_ETOPIC,
	    0x10, 0x12, MQTT4, 0x06, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x00,
	    0x00, 0x01, 'm'),
	BAD(4, "CONNECT user name flag without user name", PROTO_ESHORT,
	    0x10, 0x0D, MQTT4, 0x82, 0x00, 0x3C, 0x00, 0x01, 'c'),
	BAD(4, "CONNECT will flag without will message", PROTO_ESHORT,
	    0x10, 0x10, MQTT4, 0x06, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    't'),
	BAD(4, "CONNECT without client id", PROTO_ESHORT,
	    0x10, 0x0A, MQTT4, 0x02, 0x00, 0x3C),

	/* ---- CONNECT (5.0) ---- */
	BAD(5, "CONNECT reserved flag bit 0 set", PROTO_ECONNFLAGS,
	    0x10, 0x0E, MQTT5, 0x03, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT will QoS 3", PROTO_EQOS,
	    0x10, 0x15, MQTT5, 0x1E, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x00,
	    0x00, 0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will retain without will flag", PROTO_ECONNFLAGS,
	    0x10, 0x0E, MQTT5, 0x22, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT Receive Maximum 0", PROTO_EPROPVAL,
	    0x10, 0x11, MQTT5, 0x02, 0x00, 0x3C, 0x03, 0x21, 0x00, 0x00, 0x00,
	    0x01, 'c'),
	BAD(5, "CONNECT Maximum Packet Size 0", PROTO_EPROPVAL,
	    0x10, 0x13, MQTT5, 0x02, 0x00, 0x3C, 0x05, 0x27, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT Request Problem Information 2", PROTO_EPROPVAL,
	    0x10, 0x10, MQTT5, 0x02, 0x00, 0x3C, 0x02, 0x17, 0x02, 0x00, 0x01,
	    'c'),
	BAD(5, "CONNECT Request Response Information 2", PROTO_EPROPVAL,
	    0x10, 0x10, MQTT5, 0x02, 0x00, 0x3C, 0x02, 0x19, 0x02, 0x00, 0x01,
	    'c'),
	BAD(5, "CONNECT Session Expiry Interval twice", PROTO_EPROPDUP,
	    0x10, 0x18, MQTT5, 0x02, 0x00, 0x3C, 0x0A, 0x11, 0x00, 0x00, 0x00,
	    0x0A, 0x11, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT Receive Maximum twice", PROTO_EPROPDUP,
	    0x10, 0x14, MQTT5, 0x02, 0x00, 0x3C, 0x06, 0x21, 0x00, 0x01, 0x21,
	    0x00, 0x02, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT with Topic Alias", PROTO_EPROPID,
	    0x10, 0x11, MQTT5, 0x02, 0x00, 0x3C, 0x03, 0x23, 0x00, 0x01, 0x00,
	    0x01, 'c'),
	BAD(5, "CONNECT with Reason String", PROTO_EPROPID,
	    0x10, 0x12, MQTT5, 0x02, 0x00, 0x3C, 0x04, 0x1F, 0x00, 0x01, 'r',
	    0x00, 0x01, 'c'),
	BAD(5, "CONNECT with Will Delay Interval outside the will",
	    PROTO_EPROPID, 0x10, 0x13, MQTT5, 0x02, 0x00, 0x3C, 0x05, 0x18,
	    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT User Property key not UTF-8", PROTO_EUTF8,
	    0x10, 0x15, MQTT5, 0x02, 0x00, 0x3C, 0x07, 0x26, 0x00, 0x01, 0xFF,
	    0x00, 0x01, 'v', 0x00, 0x01, 'c'),
	BAD(5, "CONNECT Authentication Method not UTF-8", PROTO_EUTF8,
	    0x10, 0x12, MQTT5, 0x02, 0x00, 0x3C, 0x04, 0x15, 0x00, 0x01, 0xFF,
	    0x00, 0x01, 'c'),
	BAD(5, "CONNECT property length past the packet", PROTO_ESHORT,
	    0x10, 0x0E, MQTT5, 0x02, 0x00, 0x3C, 0x10, 0x00, 0x01, 'c'),
	BAD(5, "CONNECT client id not UTF-8", PROTO_EUTF8,
	    0x10, 0x0E, MQTT5, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01, 0xFF),
	BAD(5, "CONNECT will properties with Topic Alias", PROTO_EPROPID,
	    0x10, 0x18, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x03,
	    0x23, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will properties with Session Expiry Interval",
	    PROTO_EPROPID, 0x10, 0x1A, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00,
	    0x01, 'c', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
	    0x00, 0x01, 'm'),
	BAD(5, "CONNECT will properties with Subscription Identifier",
	    PROTO_EPROPID, 0x10, 0x17, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00,
	    0x01, 'c', 0x02, 0x0B, 0x01, 0x00, 0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will Payload Format Indicator 2", PROTO_EPROPVAL,
	    0x10, 0x17, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x02,
	    0x01, 0x02, 0x00, 0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will Will Delay Interval twice", PROTO_EPROPDUP,
	    0x10, 0x1F, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x0A,
	    0x18, 0x00, 0x00, 0x00, 0x01, 0x18, 0x00, 0x00, 0x00, 0x02, 0x00,
	    0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will Response Topic with wildcard", PROTO_ETOPIC,
	    0x10, 0x19, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x04,
	    0x08, 0x00, 0x01, '+', 0x00, 0x01, 't', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT will topic with wildcard", PROTO_ETOPIC,
	    0x10, 0x15, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x00,
	    0x00, 0x01, '+', 0x00, 0x01, 'm'),
	BAD(5, "CONNECT empty will topic", PROTO_ETOPIC,
	    0x10, 0x14, MQTT5, 0x06, 0x00, 0x3C, 0x00, 0x00, 0x01, 'c', 0x00,
	    0x00, 0x00, 0x00, 0x01, 'm'),

	/* ---- Maximum packet size ---- */
	BAD_MAX(4, 1, "PINGREQ over a 1-byte maximum", PROTO_ETOOLARGE,
	    0xC0, 0x00),
	BAD_MAX(4, 6, "7-byte PUBLISH over a 6-byte maximum", PROTO_ETOOLARGE,
	    0x30, 0x05, 0x00, 0x01, 'a', 'b', 'c'),
	BAD_MAX(5, 15, "16-byte CONNECT over a 15-byte maximum",
	    PROTO_ETOOLARGE, 0x10, 0x0E, MQTT5, 0x02, 0x00, 0x3C, 0x00, 0x00,
	    0x01, 'c'),
	CASE(5, 1000, true, "remaining length 268435455 over a 1000-byte "
	    "maximum", PROTO_ETOOLARGE, 0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00,
	    0x01, 'a'),
};

#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

/* Checks that the hand-written remaining length of c matches its bytes, so
 * that a typo in this file cannot pass for a codec bug. */
static void
check_remaining_length(const struct bad_case *c)
{
	uint32_t value = 0, mult = 1;
	size_t i = 1;

	for (;;) {
		assert_true(i < c->len && i <= 4);
		value += (uint32_t)(c->bytes[i] & 0x7F) * mult;
		mult *= 128;
		if ((c->bytes[i++] & 0x80) == 0) {
			break;
		}
	}
	if (value + i != c->len) {
		print_error("hand-written remaining length %u, but %zu bytes "
		    "follow the fixed header\n", (unsigned)value, c->len - i);
		fail();
	}
}

/* Feeds bytes[0..len) to a fresh reader in chunks of `step` bytes (0: all
 * at once) and returns the first result that is not PROTO_MORE. */
static int
reader_result(const struct bad_case *c, size_t step)
{
	struct proto_reader r;
	struct proto_packet pkt;
	size_t off = 0;
	int rc = PROTO_MORE;

	proto_reader_init(&r, c->max_size);
	r.version = c->version;
	while (off < c->len) {
		size_t n = step == 0 || step > c->len - off ? c->len - off
							    : step;
		size_t used = 0;

		rc = proto_reader_feed(&r, c->bytes + off, n, &used, &pkt);
		if (rc != PROTO_MORE) {
			break;
		}
		assert_int_equal(used, n);
		off += n;
	}
	proto_reader_fini(&r);
	return rc;
}

static void
run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct proto_packet pkt;
	uint8_t *copy;
	int rc;

	if (!c->lies) {
		check_remaining_length(c);
	}
	/* An exact-size copy, so that ASan sees any read past the end. */
	copy = malloc(c->len);
	assert_non_null(copy);
	memcpy(copy, c->bytes, c->len);
	memset(&pkt, 0, sizeof(pkt));
	rc = proto_decode(copy, c->len, c->version, c->max_size, &pkt);
	free(copy);
	if (rc != c->err) {
		print_error("proto_decode: want %d (%s), got %d (%s)\n",
		    c->err, proto_strerror(c->err), rc, proto_strerror(rc));
	}
	assert_int_equal(rc, c->err);
	assert_int_equal(proto_error_reason(rc), expected_reason(c->err));

	/* The incremental reader agrees, unless the data is short on
	 * purpose (it would then wait for the rest). */
	if (!(c->lies && c->err == PROTO_ESHORT)) {
		rc = reader_result(c, 0);
		if (rc != c->err) {
			print_error("proto_reader whole: want %d (%s), got %d "
			    "(%s)\n", c->err, proto_strerror(c->err), rc,
			    proto_strerror(rc));
		}
		assert_int_equal(rc, c->err);
		rc = reader_result(c, 1);
		if (rc != c->err) {
			print_error("proto_reader byte by byte: want %d (%s), "
			    "got %d (%s)\n", c->err, proto_strerror(c->err),
			    rc, proto_strerror(rc));
		}
		assert_int_equal(rc, c->err);
	}
}

/* ------------------------------------------------------------------ */
/* Positive controls and rules checked over every packet type           */

struct good_case {
	const char *name;
	uint8_t version;
	uint8_t type;
	size_t len;
	const uint8_t *bytes;
};

#define GOOD(ver, nm, t, ...)                                           \
	{ "v" #ver ": " nm, ver, t, sizeof(BYTES(__VA_ARGS__)),         \
	    BYTES(__VA_ARGS__) }

/* One small valid packet of each type (PUBLISH aside, whose flags carry
 * fields) for each version; the wrong-flags test alters their first
 * byte. */
static const struct good_case minimal[] = {
	GOOD(3, "CONNECT", PROTO_CONNECT, 0x10, 0x0F, MQISDP, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	GOOD(4, "CONNECT", PROTO_CONNECT, 0x10, 0x0D, MQTT4, 0x02, 0x00, 0x3C,
	    0x00, 0x01, 'c'),
	GOOD(5, "CONNECT", PROTO_CONNECT, 0x10, 0x0E, MQTT5, 0x02, 0x00, 0x3C,
	    0x00, 0x00, 0x01, 'c'),
	GOOD(4, "CONNACK", PROTO_CONNACK, 0x20, 0x02, 0x00, 0x00),
	GOOD(5, "CONNACK", PROTO_CONNACK, 0x20, 0x03, 0x00, 0x00, 0x00),
	GOOD(4, "PUBACK", PROTO_PUBACK, 0x40, 0x02, 0x00, 0x01),
	GOOD(5, "PUBACK", PROTO_PUBACK, 0x40, 0x03, 0x00, 0x01, 0x10),
	GOOD(4, "PUBREC", PROTO_PUBREC, 0x50, 0x02, 0x00, 0x01),
	GOOD(5, "PUBREC", PROTO_PUBREC, 0x50, 0x04, 0x00, 0x01, 0x80, 0x00),
	GOOD(4, "PUBREL", PROTO_PUBREL, 0x62, 0x02, 0x00, 0x01),
	GOOD(5, "PUBREL", PROTO_PUBREL, 0x62, 0x02, 0x00, 0x01),
	GOOD(4, "PUBCOMP", PROTO_PUBCOMP, 0x70, 0x02, 0x00, 0x01),
	GOOD(5, "PUBCOMP", PROTO_PUBCOMP, 0x70, 0x03, 0x00, 0x01, 0x92),
	GOOD(3, "SUBSCRIBE", PROTO_SUBSCRIBE, 0x82, 0x06, 0x00, 0x01, 0x00,
	    0x01, 'a', 0x01),
	GOOD(4, "SUBSCRIBE", PROTO_SUBSCRIBE, 0x82, 0x06, 0x00, 0x01, 0x00,
	    0x01, 'a', 0x01),
	GOOD(5, "SUBSCRIBE", PROTO_SUBSCRIBE, 0x82, 0x07, 0x00, 0x01, 0x00,
	    0x00, 0x01, 'a', 0x2E),
	GOOD(4, "SUBACK", PROTO_SUBACK, 0x90, 0x03, 0x00, 0x01, 0x80),
	GOOD(5, "SUBACK", PROTO_SUBACK, 0x90, 0x04, 0x00, 0x01, 0x00, 0xA2),
	GOOD(3, "UNSUBSCRIBE", PROTO_UNSUBSCRIBE, 0xA2, 0x05, 0x00, 0x01, 0x00,
	    0x01, 'a'),
	GOOD(4, "UNSUBSCRIBE", PROTO_UNSUBSCRIBE, 0xA2, 0x05, 0x00, 0x01, 0x00,
	    0x01, 'a'),
	GOOD(5, "UNSUBSCRIBE", PROTO_UNSUBSCRIBE, 0xA2, 0x06, 0x00, 0x01, 0x00,
	    0x00, 0x01, 'a'),
	GOOD(4, "UNSUBACK", PROTO_UNSUBACK, 0xB0, 0x02, 0x00, 0x01),
	GOOD(5, "UNSUBACK", PROTO_UNSUBACK, 0xB0, 0x04, 0x00, 0x01, 0x00,
	    0x11),
	GOOD(4, "PINGREQ", PROTO_PINGREQ, 0xC0, 0x00),
	GOOD(5, "PINGREQ", PROTO_PINGREQ, 0xC0, 0x00),
	GOOD(4, "PINGRESP", PROTO_PINGRESP, 0xD0, 0x00),
	GOOD(4, "DISCONNECT", PROTO_DISCONNECT, 0xE0, 0x00),
	GOOD(5, "DISCONNECT", PROTO_DISCONNECT, 0xE0, 0x01, 0x04),
	GOOD(5, "AUTH", PROTO_AUTH, 0xF0, 0x00),
};

/* Other valid packets next to the rules above: what the rule allows. */
static const struct good_case allowed[] = {
	GOOD(5, "CONNECT password without user name (allowed in 5.0)",
	    PROTO_CONNECT, 0x10, 0x11, MQTT5, 0x42, 0x00, 0x3C, 0x00, 0x00,
	    0x01, 'c', 0x00, 0x01, 'p'),
	GOOD(4, "CONNECT will QoS 2 retain with will flag", PROTO_CONNECT,
	    0x10, 0x13, MQTT4, 0x36, 0x00, 0x3C, 0x00, 0x01, 'c', 0x00, 0x01,
	    't', 0x00, 0x01, 'm'),
	GOOD(5, "PUBLISH empty topic with topic alias", PROTO_PUBLISH,
	    0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01),
	GOOD(5, "PUBLISH several Subscription Identifiers", PROTO_PUBLISH,
	    0x30, 0x0A, 0x00, 0x01, 'a', 0x06, 0x0B, 0x01, 0x0B, 0x02, 0x0B,
	    0x7F),
	GOOD(5, "PUBLISH several User Properties with the same key",
	    PROTO_PUBLISH, 0x30, 0x12, 0x00, 0x01, 'a', 0x0E, 0x26, 0x00,
	    0x01, 'k', 0x00, 0x01, '1', 0x26, 0x00, 0x01, 'k', 0x00, 0x01,
	    '2'),
	GOOD(4, "PUBLISH QoS 1 DUP", PROTO_PUBLISH, 0x3A, 0x05, 0x00, 0x01,
	    'a', 0x00, 0x01),
	GOOD(4, "PUBLISH topic with U+FEFF and a 4-byte character",
	    PROTO_PUBLISH, 0x30, 0x09, 0x00, 0x07, 0xEF, 0xBB, 0xBF, 0xF0,
	    0x9F, 0x98, 0x80),
	GOOD(4, "PUBLISH topic '/' only", PROTO_PUBLISH, 0x30, 0x03, 0x00,
	    0x01, '/'),
	GOOD(4, "SUBSCRIBE filters '#', '+', '+/+/#'", PROTO_SUBSCRIBE,
	    0x82, 0x12, 0x00, 0x01, 0x00, 0x01, '#', 0x00, 0x00, 0x01, '+',
	    0x01, 0x00, 0x05, '+', '/', '+', '/', '#', 0x02),
	GOOD(3, "SUBSCRIBE resent with DUP (3.1 only)", PROTO_SUBSCRIBE,
	    0x8A, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x01),
	GOOD(3, "PUBREL resent with DUP (3.1 only)", PROTO_PUBREL,
	    0x6A, 0x02, 0x00, 0x01),
	GOOD(3, "CONNACK acknowledge flags unused in 3.1", PROTO_CONNACK,
	    0x20, 0x02, 0x01, 0x00),
	GOOD(4, "SUBSCRIBE '$share//a' is a plain filter before 5.0",
	    PROTO_SUBSCRIBE, 0x82, 0x0E, 0x00, 0x01, 0x00, 0x09, '$', 's',
	    'h', 'a', 'r', 'e', '/', '/', 'a', 0x00),
	GOOD(5, "SUBSCRIBE Retain Handling 2 with every option",
	    PROTO_SUBSCRIBE, 0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a',
	    0x2E),
	GOOD(5, "DISCONNECT reason 0x8E (Session taken over)",
	    PROTO_DISCONNECT, 0xE0, 0x01, 0x8E),
	GOOD(5, "AUTH reason 0x19 with Authentication Method", PROTO_AUTH,
	    0xF0, 0x06, 0x19, 0x04, 0x15, 0x00, 0x01, 'X'),
	GOOD(5, "CONNACK reason 0x9F (Connection rate exceeded)",
	    PROTO_CONNACK, 0x20, 0x03, 0x00, 0x9F, 0x00),
};

/* Topic filter syntax is checked per entry by the broker, which answers
 * a bad one with SUBACK/UNSUBACK 0x8F (5.0) or 0x80 (3.1.1) instead of
 * closing the connection (see proto/decode.c): the decoder accepts these,
 * and proto_filter_check() or proto_share_parse() rejects the filter. */
static const struct good_case bad_filters[] = {
	GOOD(4, "SUBSCRIBE filter with '#' not alone in its level",
	    PROTO_SUBSCRIBE, 0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 'a', '#',
	    0x00),
	GOOD(4, "SUBSCRIBE filter with '#' not last", PROTO_SUBSCRIBE,
	    0x82, 0x0A, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x01),
	GOOD(4, "SUBSCRIBE filter with '+' not alone in its level",
	    PROTO_SUBSCRIBE, 0x82, 0x07, 0x00, 0x01, 0x00, 0x02, '+', 'a',
	    0x00),
	GOOD(4, "SUBSCRIBE empty filter", PROTO_SUBSCRIBE,
	    0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00),
	GOOD(5, "SUBSCRIBE shared subscription with empty share name",
	    PROTO_SUBSCRIBE, 0x82, 0x0F, 0x00, 0x01, 0x00, 0x00, 0x09, '$',
	    's', 'h', 'a', 'r', 'e', '/', '/', 'a', 0x00),
	GOOD(5, "SUBSCRIBE shared subscription without filter",
	    PROTO_SUBSCRIBE, 0x82, 0x0E, 0x00, 0x01, 0x00, 0x00, 0x08, '$',
	    's', 'h', 'a', 'r', 'e', '/', 'g', 0x00),
	GOOD(5, "SUBSCRIBE share name holding '+'", PROTO_SUBSCRIBE,
	    0x82, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0A, '$', 's', 'h', 'a', 'r',
	    'e', '/', '+', '/', 'a', 0x00),
	GOOD(4, "UNSUBSCRIBE filter with '#' not last", PROTO_UNSUBSCRIBE,
	    0xA2, 0x09, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b'),
	GOOD(4, "UNSUBSCRIBE empty filter", PROTO_UNSUBSCRIBE,
	    0xA2, 0x04, 0x00, 0x01, 0x00, 0x00),
	GOOD(5, "UNSUBSCRIBE filter with '+' not alone in its level",
	    PROTO_UNSUBSCRIBE, 0xA2, 0x07, 0x00, 0x01, 0x00, 0x00, 0x02, 'a',
	    '+'),
};

static void
decode_good(const struct good_case *g)
{
	struct proto_packet pkt;
	uint8_t *copy = malloc(g->len);
	int rc;

	assert_non_null(copy);
	memcpy(copy, g->bytes, g->len);
	rc = proto_decode(copy, g->len, g->version, 0, &pkt);
	if (rc != PROTO_OK) {
		print_error("%s: got %d (%s)\n", g->name, rc,
		    proto_strerror(rc));
	}
	assert_int_equal(rc, PROTO_OK);
	assert_int_equal(pkt.type, g->type);
	assert_int_equal(pkt.size, g->len);
	free(copy);
}

static void
hand_written_valid_packets_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(minimal) / sizeof(minimal[0]); i++) {
		decode_good(&minimal[i]);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		decode_good(&allowed[i]);
	}
}

static int
filter_verdict(uint8_t version, struct proto_str f)
{
	struct proto_str name, sub;

	if (version == PROTO_V5 && f.len >= 7 &&
	    memcmp(f.ptr, "$share/", 7) == 0) {
		return proto_share_parse(f.ptr, f.len, &name, &sub);
	}
	return proto_filter_check(f.ptr, f.len);
}

static void
decode_leaves_filter_syntax_to_the_broker(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_filters) / sizeof(bad_filters[0]); i++) {
		const struct good_case *g = &bad_filters[i];
		struct proto_packet pkt;
		struct proto_sub_entry e;
		struct proto_str f;
		uint32_t pos = 0;

		decode_good(g);
		assert_int_equal(proto_decode(g->bytes, g->len, g->version, 0,
		    &pkt), PROTO_OK);
		if (g->type == PROTO_SUBSCRIBE) {
			assert_true(proto_sub_next(&pkt.subscribe, g->version,
			    &pos, &e));
			f = e.filter;
		} else {
			assert_true(proto_unsub_next(&pkt.unsubscribe, &pos,
			    &f));
		}
		if (filter_verdict(g->version, f) != PROTO_EFILTER) {
			print_error("%s: filter accepted\n", g->name);
		}
		assert_int_equal(filter_verdict(g->version, f), PROTO_EFILTER);
		assert_int_equal(proto_error_reason(PROTO_EFILTER), 0x8F);
	}
}

/* [MQTT-1.5.4-3]: 0xEF 0xBB 0xBF is U+FEFF wherever it appears and is not
 * skipped or stripped by the receiver. */
static void
byte_order_mark_in_a_topic_is_kept(void **state)
{
	static const uint8_t pub[] = { 0x30, 0x08, 0x00, 0x04, 0xEF, 0xBB,
		0xBF, 'a', 'x', 'y' };
	struct proto_packet pkt;

	(void)state;
	assert_int_equal(proto_decode(pub, sizeof(pub), 4, 0, &pkt),
	    PROTO_OK);
	assert_int_equal(pkt.publish.topic.len, 4);
	assert_memory_equal(pkt.publish.topic.ptr, pub + 4, 4);
	assert_int_equal(pkt.publish.payload.len, 2);
	assert_memory_equal(pkt.publish.payload.ptr, "xy", 2);
}

static void
v5_connect_accepts_password_without_user_name(void **state)
{
	const struct good_case *g = &allowed[0];
	struct proto_packet pkt;

	(void)state;
	assert_int_equal(proto_decode(g->bytes, g->len, 5, 0, &pkt), PROTO_OK);
	assert_int_equal(pkt.version, 5);
	assert_false(pkt.connect.has_username);
	assert_true(pkt.connect.has_password);
	assert_int_equal(pkt.connect.password.len, 1);
	assert_memory_equal(pkt.connect.password.ptr, "p", 1);
}

/* 3.1.1 section 2.2.2 and 5.0 section 2.1.3: PUBREL, SUBSCRIBE and
 * UNSUBSCRIBE carry flags 0010, every other type but PUBLISH 0000;
 * anything else is malformed. */
static void
wrong_fixed_header_flags_are_rejected_for_every_type(void **state)
{
	size_t i;
	unsigned nib;

	(void)state;
	for (i = 0; i < sizeof(minimal) / sizeof(minimal[0]); i++) {
		const struct good_case *g = &minimal[i];
		uint8_t right = g->bytes[0] & 0x0F;
		uint8_t *copy = malloc(g->len);

		assert_non_null(copy);
		memcpy(copy, g->bytes, g->len);
		for (nib = 0; nib < 16; nib++) {
			struct proto_packet pkt;
			int rc;

			/* MQTT 3.1 sent PUBREL, SUBSCRIBE and UNSUBSCRIBE
			 * again with DUP set (3.1 section 3.6, 3.8, 3.10). */
			if (nib == right || (g->version == PROTO_V31 &&
			    right == 0x2 && nib == 0xA)) {
				continue;
			}
			copy[0] = (uint8_t)((g->type << 4) | nib);
			rc = proto_decode(copy, g->len, g->version, 0, &pkt);
			if (rc != PROTO_EFLAGS) {
				print_error("%s with flags 0x%x: got %d "
				    "(%s)\n", g->name, nib, rc,
				    proto_strerror(rc));
			}
			assert_int_equal(rc, PROTO_EFLAGS);
			assert_int_equal(proto_error_reason(rc), 0x81);
		}
		free(copy);
	}
}

/* proto_error_reason() of the codes that are not decoder errors. */
static void
error_reason_of_non_decoder_codes_is_unspecified_error(void **state)
{
	(void)state;
	assert_int_equal(proto_error_reason(PROTO_ENOSPC), 0x80);
	assert_int_equal(proto_error_reason(PROTO_EINVAL), 0x80);
	assert_int_equal(proto_error_reason(-1), 0x80);
	assert_int_equal(proto_error_reason(-999999), 0x80);
}

/* ------------------------------------------------------------------ */
/* The incremental reader rejects early                                  */

/* A fixed header announcing 100 MiB (0x80 0x80 0x80 0x32 = 104857600)
 * with a 1 MiB limit fails as soon as the length is known, before the
 * reader holds any byte of the packet's body: what it holds never exceeds
 * the five bytes a fixed header can take (kept in the struct). */
#define FIXED_HEADER_MAX 5
static void
reader_rejects_oversized_packet_after_fixed_header_only(void **state)
{
	static const uint8_t hdr[] = { 0x30, 0x80, 0x80, 0x80, 0x32 };
	struct proto_reader r;
	struct proto_packet pkt;
	size_t i, used;

	(void)state;
	proto_reader_init(&r, 1024 * 1024);
	r.version = 4;
	for (i = 0; i + 1 < sizeof(hdr); i++) {
		used = 0;
		assert_int_equal(proto_reader_feed(&r, hdr + i, 1, &used,
		    &pkt), PROTO_MORE);
		assert_int_equal(used, 1);
		assert_true(proto_reader_pending(&r) <= i + 1);
	}
	assert_int_equal(proto_reader_feed(&r, hdr + i, 1, &used, &pkt),
	    PROTO_ETOOLARGE);
	assert_int_equal(proto_error_reason(PROTO_ETOOLARGE), 0x95);
	assert_true(proto_reader_pending(&r) <= FIXED_HEADER_MAX);
	proto_reader_fini(&r);
}

/* The same header followed by the start of a body in one feed. */
static void
reader_rejects_oversized_packet_fed_with_its_body(void **state)
{
	uint8_t data[64] = { 0x30, 0x80, 0x80, 0x80, 0x32, 0x00, 0x01, 'a' };
	struct proto_reader r;
	struct proto_packet pkt;
	size_t used = 0;

	(void)state;
	proto_reader_init(&r, 1024 * 1024);
	r.version = 5;
	assert_int_equal(proto_reader_feed(&r, data, sizeof(data), &used,
	    &pkt), PROTO_ETOOLARGE);
	assert_true(proto_reader_pending(&r) <= FIXED_HEADER_MAX);
	proto_reader_fini(&r);
}

static void
reader_rejects_type_0_on_the_first_byte(void **state)
{
	static const uint8_t b[] = { 0x00 };
	struct proto_reader r;
	struct proto_packet pkt;
	size_t used = 0;

	(void)state;
	proto_reader_init(&r, 0);
	assert_int_equal(proto_reader_feed(&r, b, 1, &used, &pkt),
	    PROTO_ETYPE);
	assert_true(proto_reader_pending(&r) <= 1);
	proto_reader_fini(&r);
}

/* Feeds hdr one byte at a time and expects err no later than its last
 * byte, with nothing held. */
static void
expect_reader_error_within(const uint8_t *hdr, size_t n, uint8_t version,
    int err)
{
	struct proto_reader r;
	struct proto_packet pkt;
	size_t i, used;
	int rc = PROTO_MORE;

	proto_reader_init(&r, 0);
	r.version = version;
	for (i = 0; i < n && rc == PROTO_MORE; i++) {
		used = 0;
		rc = proto_reader_feed(&r, hdr + i, 1, &used, &pkt);
		assert_true(rc == PROTO_MORE || rc == err);
		assert_true(proto_reader_pending(&r) <= i + 1);
	}
	assert_int_equal(rc, err);
	proto_reader_fini(&r);
}

static void
reader_rejects_bad_type_flags_length_within_fixed_header(
    void **state)
{
	(void)state;
	/* AUTH before MQTT 5 (the reader is at 3.1.1 until a CONNECT). */
	expect_reader_error_within(BYTES(0xF0, 0x00), 2, 0, PROTO_ETYPE);
	/* PUBREL with flags 0000. */
	expect_reader_error_within(BYTES(0x60, 0x02), 2, 4, PROTO_EFLAGS);
	/* SUBSCRIBE with flags 0000. */
	expect_reader_error_within(BYTES(0x80, 0x06), 2, 5, PROTO_EFLAGS);
	/* PINGREQ with flags 0001. */
	expect_reader_error_within(BYTES(0xC1, 0x00), 2, 4, PROTO_EFLAGS);
	/* PUBLISH QoS 3. */
	expect_reader_error_within(BYTES(0x36, 0x05), 2, 4, PROTO_EQOS);
	/* A five-byte remaining length. */
	expect_reader_error_within(BYTES(0x30, 0x80, 0x80, 0x80, 0x80, 0x01),
	    6, 4, PROTO_EVARINT);
}

/* Test names are long sentences; this keeps the list readable. */
#define T(f) cmocka_unit_test(f)

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		T(hand_written_valid_packets_decode),
		T(v5_connect_accepts_password_without_user_name),
		T(byte_order_mark_in_a_topic_is_kept),
		T(decode_leaves_filter_syntax_to_the_broker),
		T(wrong_fixed_header_flags_are_rejected_for_every_type),
		T(error_reason_of_non_decoder_codes_is_unspecified_error),
		T(reader_rejects_oversized_packet_after_fixed_header_only),
		T(reader_rejects_oversized_packet_fed_with_its_body),
		T(reader_rejects_type_0_on_the_first_byte),
		T(reader_rejects_bad_type_flags_length_within_fixed_header),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nfixed + NBAD, sizeof(*tests));
	size_t i;
	int failed;

	if (tests == NULL) {
		return 1;
	}
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < NBAD; i++) {
		tests[nfixed + i].name = bad_cases[i].name;
		tests[nfixed + i].test_func = run_bad_case;
		tests[nfixed + i].initial_state = &bad_cases[i];
	}
	failed = _cmocka_run_group_tests("malformed", tests, nfixed + NBAD,
	    NULL, NULL);
	free(tests);
	return failed;
}
