/*
 * error.c - descriptions of PROTO_* result codes and the MQTT reason code
 * a receiver sends for each decoder error.  Static tables only.
 */
#include "proto/proto.h"

struct err_info {
	int code;
	uint8_t reason;
	const char *text;
};

static const struct err_info errs[] = {
	{ PROTO_OK, PROTO_RC_SUCCESS, "success" },
	{ PROTO_MORE, PROTO_RC_SUCCESS, "need more input" },
	{ PROTO_ESHORT, PROTO_RC_MALFORMED, "field runs past end of packet" },
	{ PROTO_EVARINT, PROTO_RC_MALFORMED,
	    "variable byte integer longer than 4 bytes" },
	{ PROTO_ETYPE, PROTO_RC_MALFORMED, "reserved packet type" },
	{ PROTO_EFLAGS, PROTO_RC_MALFORMED, "invalid fixed header flags" },
	{ PROTO_EQOS, PROTO_RC_MALFORMED, "invalid QoS 3" },
	{ PROTO_EUTF8, PROTO_RC_MALFORMED, "invalid UTF-8 string" },
	{ PROTO_EPROPID, PROTO_RC_MALFORMED,
	    "unknown property or property not allowed in this packet" },
	{ PROTO_EPROPDUP, PROTO_RC_PROTOCOL_ERROR,
	    "property included more than once" },
	{ PROTO_EPROPVAL, PROTO_RC_PROTOCOL_ERROR,
	    "property value out of range" },
	{ PROTO_EPACKETID, PROTO_RC_PROTOCOL_ERROR, "packet identifier is 0" },
	{ PROTO_EEMPTY, PROTO_RC_PROTOCOL_ERROR,
	    "no topic filters in (UN)SUBSCRIBE" },
	{ PROTO_ETOPIC, PROTO_RC_TOPIC_NAME_INVALID, "invalid topic name" },
	{ PROTO_EALIAS, PROTO_RC_TOPIC_ALIAS_INVALID, "topic alias is 0" },
	{ PROTO_EPROTONAME, PROTO_RC_MALFORMED, "unknown protocol name" },
	{ PROTO_EVERSION, PROTO_RC_UNSUPPORTED_VERSION,
	    "unsupported protocol version" },
	{ PROTO_ECONNFLAGS, PROTO_RC_MALFORMED, "invalid CONNECT flags" },
	{ PROTO_EREASON, PROTO_RC_MALFORMED,
	    "reason code not allowed in this packet" },
	{ PROTO_ETOOLARGE, PROTO_RC_PACKET_TOO_LARGE,
	    "packet larger than the maximum packet size" },
	{ PROTO_ETRAILING, PROTO_RC_MALFORMED,
	    "unexpected bytes after the last field" },
	{ PROTO_ESUBOPTS, PROTO_RC_MALFORMED,
	    "reserved subscription option bits set" },
	{ PROTO_ERETAINHAND, PROTO_RC_PROTOCOL_ERROR,
	    "retain handling value 3" },
	{ PROTO_EFILTER, PROTO_RC_TOPIC_FILTER_INVALID,
	    "invalid topic filter" },
	{ PROTO_ENOTOPIC, PROTO_RC_PROTOCOL_ERROR,
	    "empty topic name without topic alias" },
	{ PROTO_ENOSPC, PROTO_RC_UNSPECIFIED, "buffer too small" },
	{ PROTO_EINVAL, PROTO_RC_UNSPECIFIED, "value cannot be encoded" },
	{ PROTO_ENOMEM, PROTO_RC_UNSPECIFIED, "out of memory" },
};

static const struct err_info *
find(int code)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		if (errs[i].code == code) {
			return &errs[i];
		}
	}
	return NULL;
}

const char *
proto_strerror(int err)
{
	const struct err_info *e = find(err);
	return e != NULL ? e->text : "unknown proto error";
}

uint8_t
proto_error_reason(int err)
{
	const struct err_info *e = find(err);
	return e != NULL && err < 0 ? e->reason : PROTO_RC_UNSPECIFIED;
}
