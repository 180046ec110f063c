/*
 * proto.h - the MQTT 3.1, 3.1.1 and 5.0 wire codec.
 *
 * This is the only header other modules include from proto/. It owns no
 * threads and no global state: every function is reentrant and may be called
 * from any thread, on objects that thread owns.
 *
 * Memory model.  Decoding never copies: every string, binary field, property
 * block and payload in a decoded packet is a (pointer, length) view into the
 * bytes that were decoded.  Those views are borrowed and stay valid only as
 * long as those bytes do (for proto_reader, until the next call on the
 * reader).  Lists whose length depends on the input (user properties,
 * subscription identifiers, SUBSCRIBE and UNSUBSCRIBE entries) are not
 * materialised: the decoder validates them completely and the caller walks
 * them with an iterator that cannot fail.  Encoding writes into buffers the
 * caller owns; proto_encode_iov() references the PUBLISH payload and any
 * pre-encoded property block instead of copying them.
 *
 * Errors.  Functions return 0 on success and a negative PROTO_E* code on
 * failure; PROTO_MORE (positive) means "need more bytes".  The MQTT reason
 * code to send for a decode error comes from proto_error_reason(): C errors
 * and MQTT reason codes are different things and are kept apart.
 */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Protocol levels as carried in CONNECT. */
enum proto_version {
	PROTO_V31 = 3,  /* MQTT 3.1, protocol name "MQIsdp" */
	PROTO_V311 = 4, /* MQTT 3.1.1 */
	PROTO_V5 = 5,   /* MQTT 5.0 */
};

/* Control packet types (high nibble of the first byte). */
enum proto_type {
	PROTO_CONNECT = 1,
	PROTO_CONNACK = 2,
	PROTO_PUBLISH = 3,
	PROTO_PUBACK = 4,
	PROTO_PUBREC = 5,
	PROTO_PUBREL = 6,
	PROTO_PUBCOMP = 7,
	PROTO_SUBSCRIBE = 8,
	PROTO_SUBACK = 9,
	PROTO_UNSUBSCRIBE = 10,
	PROTO_UNSUBACK = 11,
	PROTO_PINGREQ = 12,
	PROTO_PINGRESP = 13,
	PROTO_DISCONNECT = 14,
	PROTO_AUTH = 15, /* MQTT 5 only */
};

/* Wire limits from the specifications. */
#define PROTO_MAX_REMAINING 268435455u /* largest variable byte integer */
#define PROTO_MAX_PACKET (PROTO_MAX_REMAINING + 5u)
#define PROTO_MAX_STR 65535u
#define PROTO_MAX_SUB_ID 268435455u

/* Result codes.  Decoder errors map to an MQTT reason through
 * proto_error_reason(); the comment gives that reason. */
enum proto_err {
	PROTO_OK = 0,
	PROTO_MORE = 1,             /* not an error: need more input */
	PROTO_ESHORT = -1000,       /* a field runs past the packet: 0x81 */
	PROTO_EVARINT = -1001,      /* variable byte integer over 4 bytes: 0x81 */
	PROTO_ETYPE = -1002,        /* reserved packet type: 0x81 */
	PROTO_EFLAGS = -1003,       /* reserved fixed-header flags: 0x81 */
	PROTO_EQOS = -1004,         /* QoS 3 (PUBLISH, will, option): 0x81 */
	PROTO_EUTF8 = -1005,        /* ill-formed UTF-8 string: 0x81 */
	PROTO_EPROPID = -1006,      /* unknown or misplaced property: 0x81 */
	PROTO_EPROPDUP = -1007,     /* once-only property repeated: 0x82 */
	PROTO_EPROPVAL = -1008,     /* property value out of range: 0x82 */
	PROTO_EPACKETID = -1009,    /* packet identifier 0: 0x82 */
	PROTO_EEMPTY = -1010,       /* (UN)SUBSCRIBE without entries: 0x82 */
	PROTO_ETOPIC = -1011,       /* bad topic name (wildcard, empty): 0x90 */
	PROTO_EALIAS = -1012,       /* Topic Alias 0: 0x94 */
	PROTO_EPROTONAME = -1013,   /* CONNECT protocol name unknown: 0x81 */
	PROTO_EVERSION = -1014,     /* CONNECT protocol level unknown: 0x84 */
	PROTO_ECONNFLAGS = -1015,   /* inconsistent CONNECT flags: 0x81 */
	PROTO_EREASON = -1016,      /* reason code not valid here: 0x81 */
	PROTO_ETOOLARGE = -1017,    /* over the maximum packet size: 0x95 */
	PROTO_ETRAILING = -1018,    /* bytes left after the last field: 0x81 */
	PROTO_ESUBOPTS = -1019,     /* reserved subscription option bits: 0x81 */
	PROTO_ERETAINHAND = -1020,  /* Retain Handling 3: 0x82 */
	PROTO_EFILTER = -1021,      /* bad topic filter / share name: 0x8F */
	PROTO_ENOTOPIC = -1022,     /* empty topic and no alias (v5): 0x82 */
	PROTO_ENOSPC = -1023,       /* encode: buffer too small */
	PROTO_EINVAL = -1024,       /* encode: field value cannot be sent */
	PROTO_ENOMEM = -1025,       /* allocation failed */
};

/* Returns a static, human-readable description of a PROTO_* code. */
const char *proto_strerror(int err);

/* Returns the MQTT 5 reason code a receiver sends (in CONNACK or DISCONNECT)
 * for a decoder error; 0x80 for codes that are not decoder errors. */
uint8_t proto_error_reason(int err);

/* ------------------------------------------------------------------ */
/* Reason codes                                                         */

/* MQTT 5 reason codes (the names are the specification's). */
enum proto_reason {
	PROTO_RC_SUCCESS = 0x00, /* also Normal disconnection, Granted QoS 0 */
	PROTO_RC_GRANTED_QOS1 = 0x01,
	PROTO_RC_GRANTED_QOS2 = 0x02,
	PROTO_RC_DISCONNECT_WITH_WILL = 0x04,
	PROTO_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
	PROTO_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
	PROTO_RC_CONTINUE_AUTH = 0x18,
	PROTO_RC_REAUTHENTICATE = 0x19,
	PROTO_RC_UNSPECIFIED = 0x80,
	PROTO_RC_MALFORMED = 0x81,
	PROTO_RC_PROTOCOL_ERROR = 0x82,
	PROTO_RC_IMPLEMENTATION_SPECIFIC = 0x83,
	PROTO_RC_UNSUPPORTED_VERSION = 0x84,
	PROTO_RC_CLIENT_ID_NOT_VALID = 0x85,
	PROTO_RC_BAD_USERNAME_PASSWORD = 0x86,
	PROTO_RC_NOT_AUTHORIZED = 0x87,
	PROTO_RC_SERVER_UNAVAILABLE = 0x88,
	PROTO_RC_SERVER_BUSY = 0x89,
	PROTO_RC_BANNED = 0x8A,
	PROTO_RC_SERVER_SHUTTING_DOWN = 0x8B,
	PROTO_RC_BAD_AUTH_METHOD = 0x8C,
	PROTO_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
	PROTO_RC_SESSION_TAKEN_OVER = 0x8E,
	PROTO_RC_TOPIC_FILTER_INVALID = 0x8F,
	PROTO_RC_TOPIC_NAME_INVALID = 0x90,
	PROTO_RC_PACKET_ID_IN_USE = 0x91,
	PROTO_RC_PACKET_ID_NOT_FOUND = 0x92,
	PROTO_RC_RECEIVE_MAX_EXCEEDED = 0x93,
	PROTO_RC_TOPIC_ALIAS_INVALID = 0x94,
	PROTO_RC_PACKET_TOO_LARGE = 0x95,
	PROTO_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
	PROTO_RC_QUOTA_EXCEEDED = 0x97,
	PROTO_RC_ADMINISTRATIVE_ACTION = 0x98,
	PROTO_RC_PAYLOAD_FORMAT_INVALID = 0x99,
	PROTO_RC_RETAIN_NOT_SUPPORTED = 0x9A,
	PROTO_RC_QOS_NOT_SUPPORTED = 0x9B,
	PROTO_RC_USE_ANOTHER_SERVER = 0x9C,
	PROTO_RC_SERVER_MOVED = 0x9D,
	PROTO_RC_SHARED_SUBS_NOT_SUPPORTED = 0x9E,
	PROTO_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
	PROTO_RC_MAXIMUM_CONNECT_TIME = 0xA0,
	PROTO_RC_SUB_IDS_NOT_SUPPORTED = 0xA1,
	PROTO_RC_WILDCARD_SUBS_NOT_SUPPORTED = 0xA2,
};

/* MQTT 3.1 / 3.1.1 CONNACK return codes. */
enum proto_connack_v3 {
	PROTO_CONNACK_ACCEPTED = 0,
	PROTO_CONNACK_BAD_VERSION = 1,
	PROTO_CONNACK_ID_REJECTED = 2,
	PROTO_CONNACK_UNAVAILABLE = 3,
	PROTO_CONNACK_BAD_CREDENTIALS = 4,
	PROTO_CONNACK_NOT_AUTHORIZED = 5,
};

/* Returns the specification's name of an MQTT 5 reason code as used in a
 * packet of type ptype (0x00 is "Normal disconnection" in DISCONNECT and
 * "Granted QoS 0" in SUBACK); ptype 0 gives the generic name.  Returns NULL
 * for a value that is no reason code.  The string is static. */
const char *proto_reason_name(uint8_t code, uint8_t ptype);

/* Returns true if code is a reason code that an MQTT 5 packet of type ptype
 * may carry (CONNACK, PUBACK..PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH). */
bool proto_reason_allowed(uint8_t ptype, uint8_t code);

/* Maps an MQTT 5 CONNACK reason code to the closest 3.1.1 return code, for a
 * server answering an older client. */
uint8_t proto_connack_v3_code(uint8_t reason);

/* Returns the static name of a packet type ("CONNECT"...), "?" if unknown. */
const char *proto_type_name(uint8_t type);

/* ------------------------------------------------------------------ */
/* Primitive types                                                      */

/* A borrowed view of bytes: a UTF-8 string (not NUL-terminated) or binary
 * data.  ptr may be NULL when len is 0. */
struct proto_str {
	const uint8_t *ptr;
	uint32_t len;
};

/* A string pair (User Property). */
struct proto_pair {
	struct proto_str key;
	struct proto_str val;
};

/* Decodes a variable byte integer from p[0..len).  On success stores the
 * value and the number of bytes used and returns 0; returns PROTO_MORE if
 * the integer is not complete within len bytes (and len < 4), PROTO_EVARINT
 * if it would need more than 4 bytes or is not in its shortest form
 * (e.g. 0x80 0x00), which [MQTT-1.5.5-1] forbids. */
int proto_varint_decode(const uint8_t *p, size_t len, uint32_t *value,
    size_t *used);

/* Encodes v (at most PROTO_MAX_REMAINING) into out, returns bytes written
 * (1 to 4), or 0 if v is too large. */
size_t proto_varint_encode(uint32_t v, uint8_t out[4]);

/* Returns the number of bytes proto_varint_encode() writes for v (0 if v is
 * too large). */
size_t proto_varint_size(uint32_t v);

/* Checks s[0..len) against the MQTT UTF-8 string rules: well-formed UTF-8
 * (shortest form, no surrogates, nothing above U+10FFFF) and no U+0000.
 * Returns 0 or PROTO_EUTF8.  If discouraged is not NULL it is set to true
 * when the string holds code points the specification discourages (the
 * controls U+0001..U+001F and U+007F..U+009F, and non-characters), which a
 * receiver may still accept. */
int proto_utf8_check(const uint8_t *s, size_t len, bool *discouraged);

/* ------------------------------------------------------------------ */
/* Topics                                                               */

/* Checks a topic name for PUBLISH or a will: at least one byte, at most
 * 65535, valid MQTT UTF-8, no '+' or '#'.  Returns 0, PROTO_ETOPIC or
 * PROTO_EUTF8. */
int proto_topic_check(const uint8_t *topic, size_t len);

/* Checks a topic filter for SUBSCRIBE or UNSUBSCRIBE: at least one byte,
 * valid UTF-8, '+' only as a whole level, '#' only as the whole last level.
 * A shared subscription "$share/{name}/{filter}" is also checked by
 * proto_share_parse().  Returns 0, PROTO_EFILTER or PROTO_EUTF8. */
int proto_filter_check(const uint8_t *filter, size_t len);

/* Returns true if topic (a valid topic name) matches filter (a valid,
 * non-shared topic filter).  Topics starting with '$' are not matched by a
 * filter whose first level is '+' or '#'.  Neither input is NUL-terminated;
 * both are borrowed. */
bool proto_topic_match(const uint8_t *filter, size_t flen,
    const uint8_t *topic, size_t tlen);

/* Splits a shared subscription filter "$share/{name}/{filter}".  Returns 1
 * and sets *name and *sub (views into filter) if it is one; returns 0 if
 * filter is not a shared subscription; returns PROTO_EFILTER if it starts
 * with "$share/" but the name is empty or holds '/', '+' or '#', or the
 * filter part is missing or invalid. */
int proto_share_parse(const uint8_t *filter, size_t len,
    struct proto_str *name, struct proto_str *sub);

/* ------------------------------------------------------------------ */
/* Properties (MQTT 5)                                                  */

enum proto_prop_id {
	PROTO_PROP_PAYLOAD_FORMAT = 0x01,
	PROTO_PROP_MESSAGE_EXPIRY = 0x02,
	PROTO_PROP_CONTENT_TYPE = 0x03,
	PROTO_PROP_RESPONSE_TOPIC = 0x08,
	PROTO_PROP_CORRELATION_DATA = 0x09,
	PROTO_PROP_SUB_ID = 0x0B,
	PROTO_PROP_SESSION_EXPIRY = 0x11,
	PROTO_PROP_ASSIGNED_CLIENT_ID = 0x12,
	PROTO_PROP_SERVER_KEEP_ALIVE = 0x13,
	PROTO_PROP_AUTH_METHOD = 0x15,
	PROTO_PROP_AUTH_DATA = 0x16,
	PROTO_PROP_REQUEST_PROBLEM_INFO = 0x17,
	PROTO_PROP_WILL_DELAY = 0x18,
	PROTO_PROP_REQUEST_RESPONSE_INFO = 0x19,
	PROTO_PROP_RESPONSE_INFO = 0x1A,
	PROTO_PROP_SERVER_REFERENCE = 0x1C,
	PROTO_PROP_REASON_STRING = 0x1F,
	PROTO_PROP_RECEIVE_MAX = 0x21,
	PROTO_PROP_TOPIC_ALIAS_MAX = 0x22,
	PROTO_PROP_TOPIC_ALIAS = 0x23,
	PROTO_PROP_MAX_QOS = 0x24,
	PROTO_PROP_RETAIN_AVAILABLE = 0x25,
	PROTO_PROP_USER = 0x26,
	PROTO_PROP_MAX_PACKET_SIZE = 0x27,
	PROTO_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
	PROTO_PROP_SUB_ID_AVAILABLE = 0x29,
	PROTO_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/* The data type of each property. */
enum proto_prop_type {
	PROTO_PT_BYTE = 1,
	PROTO_PT_U16,
	PROTO_PT_U32,
	PROTO_PT_VARINT,
	PROTO_PT_UTF8,
	PROTO_PT_BINARY,
	PROTO_PT_PAIR,
};

/* The will properties of CONNECT are their own context, numbered after the
 * packet types so that they fit the same tables. */
#define PROTO_CTX_WILL 16

/* Bit for property id in proto_props.present. */
#define PROTO_PROP_BIT(id) (UINT64_C(1) << (id))

/* Returns the static specification name of a property, NULL if unknown. */
const char *proto_prop_name(uint8_t id);

/* Returns the enum proto_prop_type of a property, or -1 if unknown. */
int proto_prop_type(uint8_t id);

/* Returns true if property id may appear in context ctx (a packet type, or
 * PROTO_CTX_WILL). */
bool proto_prop_allowed(uint8_t id, uint8_t ctx);

/*
 * The properties of one packet, decoded or to encode.
 *
 * Decoding sets a bit in `present` for each property found and fills its
 * field; `block` is the whole property block as received (without its
 * length), and multi-valued properties are counted (user_count,
 * sub_id_count; sub_id holds the first) and walked with proto_prop_next().
 * `user`, `sub_ids` and `extra` are left empty.
 *
 * Encoding writes every single-valued property whose bit is set in
 * `present`, then the user properties (user_count of them, from `user`, or
 * from `block` when `user` is NULL), then the subscription identifiers
 * (sub_id_count of them from `sub_ids`; when `sub_ids` is NULL, those in
 * `block`, or else `sub_id` alone if its bit is set), then `extra`
 * verbatim: pre-encoded properties the caller vouches for, referenced by
 * proto_encode_iov() rather than copied.  A decoded struct therefore
 * re-encodes to the same properties.
 */
struct proto_props {
	uint64_t present;
	uint32_t message_expiry;
	uint32_t session_expiry;
	uint32_t will_delay;
	uint32_t max_packet_size;
	uint32_t sub_id;
	uint16_t server_keep_alive;
	uint16_t receive_max;
	uint16_t topic_alias_max;
	uint16_t topic_alias;
	uint8_t payload_format;
	uint8_t request_problem_info;
	uint8_t request_response_info;
	uint8_t max_qos;
	uint8_t retain_available;
	uint8_t wildcard_sub_available;
	uint8_t sub_id_available;
	uint8_t shared_sub_available;
	struct proto_str content_type;
	struct proto_str response_topic;
	struct proto_str correlation_data;
	struct proto_str assigned_client_id;
	struct proto_str auth_method;
	struct proto_str auth_data;
	struct proto_str response_info;
	struct proto_str server_reference;
	struct proto_str reason_string;
	uint32_t user_count;
	uint32_t sub_id_count;
	const struct proto_pair *user;
	const uint32_t *sub_ids;
	struct proto_str block;
	struct proto_str extra;
};

/* True if property id is present. */
static inline bool
proto_props_has(const struct proto_props *p, uint8_t id)
{
	return (p->present & PROTO_PROP_BIT(id)) != 0;
}

/* One property as walked by proto_prop_next(): `num` holds integer values,
 * `str` strings and binary data (and a pair's key), `val` a pair's value. */
struct proto_prop {
	uint8_t id;
	uint32_t num;
	struct proto_str str;
	struct proto_str val;
};

struct proto_prop_iter {
	const uint8_t *p;
	const uint8_t *end;
};

/* Starts a walk over a property block (props->block for decoded packets,
 * or any block this module validated).  The block is borrowed. */
void proto_prop_iter_init(struct proto_prop_iter *it, struct proto_str block);

/* Stores the next property in *out and returns true; false at the end or
 * if the block turns out to be malformed (blocks from the decoder never
 * are). */
bool proto_prop_next(struct proto_prop_iter *it, struct proto_prop *out);

/* Copies the properties of a validated block to out[0..cap), leaving out
 * every property whose bit is set in drop (e.g. Topic Alias and Message
 * Expiry when forwarding a PUBLISH).  Returns the bytes the copy needs; it
 * wrote them only if that is at most cap. */
size_t proto_props_filter(struct proto_str block, uint64_t drop, uint8_t *out,
    size_t cap);

/* ------------------------------------------------------------------ */
/* Packets                                                              */

struct proto_will {
	uint8_t qos;
	bool retain;
	struct proto_props props; /* MQTT 5 will properties */
	struct proto_str topic;
	struct proto_str payload;
};

struct proto_connect {
	bool clean_start; /* Clean Session in 3.1.1 */
	bool will_flag;
	bool has_username;
	bool has_password;
	uint16_t keepalive;
	struct proto_props props;
	struct proto_str client_id;
	struct proto_will will; /* meaningful only if will_flag */
	struct proto_str username;
	struct proto_str password;
};

struct proto_connack {
	bool session_present;
	uint8_t reason; /* MQTT 5 reason code, or 3.1.1 return code */
	struct proto_props props;
};

struct proto_publish {
	uint8_t qos;
	bool dup;
	bool retain;
	uint16_t packet_id; /* only when qos > 0 */
	struct proto_str topic;
	struct proto_props props;
	struct proto_str payload;
};

/* PUBACK, PUBREC, PUBREL and PUBCOMP. */
struct proto_ack {
	uint16_t packet_id;
	uint8_t reason; /* MQTT 5 only; 0 otherwise */
	struct proto_props props;
};

struct proto_sub_entry {
	struct proto_str filter;
	uint8_t qos;
	bool no_local;            /* MQTT 5 */
	bool retain_as_published; /* MQTT 5 */
	uint8_t retain_handling;  /* MQTT 5: 0, 1 or 2 */
};

/* SUBSCRIBE.  Encoding takes `entries`; decoding sets `list` (the payload)
 * and `count`, walked with proto_sub_next(). */
struct proto_subscribe {
	uint16_t packet_id;
	struct proto_props props;
	uint32_t count;
	const struct proto_sub_entry *entries;
	struct proto_str list;
};

/* UNSUBSCRIBE.  Encoding takes `filters`; decoding sets `list` and `count`,
 * walked with proto_unsub_next(). */
struct proto_unsubscribe {
	uint16_t packet_id;
	struct proto_props props;
	uint32_t count;
	const struct proto_str *filters;
	struct proto_str list;
};

/* SUBACK and UNSUBACK: one reason code per entry of the request (an
 * UNSUBACK before MQTT 5 has none). */
struct proto_suback {
	uint16_t packet_id;
	struct proto_props props;
	uint32_t count;
	const uint8_t *reasons;
};

/* DISCONNECT and AUTH: a reason code and properties (MQTT 5). */
struct proto_disconnect {
	uint8_t reason;
	struct proto_props props;
};

/*
 * One control packet.  `version` selects the wire format: for CONNECT it is
 * the protocol level inside the packet (set by the decoder, used by the
 * encoder); for every other packet, the level agreed at connect time.
 */
struct proto_packet {
	uint8_t type;
	uint8_t flags;    /* low nibble of byte 1 as received (decode only) */
	uint8_t version;
	uint32_t size;    /* bytes on the wire (decode only) */
	union {
		struct proto_connect connect;
		struct proto_connack connack;
		struct proto_publish publish;
		struct proto_ack ack;
		struct proto_subscribe subscribe;
		struct proto_unsubscribe unsubscribe;
		struct proto_suback suback;
		struct proto_disconnect disconnect;
	};
};

/* Decodes exactly one complete packet buf[0..len) (fixed header included)
 * as protocol level `version` (ignored for CONNECT, which carries its own;
 * 0 is taken as 3.1.1 for any other packet).  Every rule the specification
 * makes of a single packet is checked, except the syntax of each SUBSCRIBE
 * and UNSUBSCRIBE topic filter: a bad filter is answered per entry (SUBACK
 * 0x8F / 0x80), not by closing, so the broker checks it with
 * proto_filter_check() and proto_share_parse().  On success fills *out,
 * whose views borrow buf, and returns 0; otherwise returns a PROTO_E*
 * code and *out is unspecified (but for PROTO_EVERSION, out->version holds
 * the level the CONNECT asked for).  Packets larger than max_size bytes
 * (0: no limit) fail with PROTO_ETOOLARGE. */
int proto_decode(const uint8_t *buf, size_t len, uint8_t version,
    uint32_t max_size, struct proto_packet *out);

/* Walks the entries of a decoded SUBSCRIBE.  *pos starts at 0.  Returns
 * true and fills *e (views into the packet) while entries remain. */
bool proto_sub_next(const struct proto_subscribe *s, uint8_t version,
    uint32_t *pos, struct proto_sub_entry *e);

/* Walks the topic filters of a decoded UNSUBSCRIBE.  *pos starts at 0. */
bool proto_unsub_next(const struct proto_unsubscribe *u, uint32_t *pos,
    struct proto_str *filter);

/* Returns the number of bytes pkt takes on the wire, or 0 if it cannot be
 * encoded (a field over its limit, a packet over PROTO_MAX_PACKET, a type
 * the version lacks). */
size_t proto_encode_size(const struct proto_packet *pkt);

/* Encodes pkt into buf[0..cap).  Returns 0 and stores the length in *len;
 * PROTO_ENOSPC (with the needed length in *len) if cap is too small;
 * PROTO_EINVAL if pkt cannot be encoded.  pkt is borrowed. */
int proto_encode(const struct proto_packet *pkt, uint8_t *buf, size_t cap,
    size_t *len);

/* Gathered encoding: writes everything except the PUBLISH payload and the
 * properties' `extra` block into hdr[0..cap), and fills iov[0..*iovcnt)
 * (at most 3 entries) with the header, `extra` and the payload, each
 * referenced, not copied.  Returns as proto_encode(), *len being the
 * header bytes written or needed. */
int proto_encode_iov(const struct proto_packet *pkt, uint8_t *hdr, size_t cap,
    size_t *len, struct iovec iov[3], int *iovcnt);

/* ------------------------------------------------------------------ */
/* Incremental decoding                                                 */

/*
 * A proto_reader cuts a byte stream into packets.  Input may be split at
 * any byte.  It checks the packet type, flags and length as soon as the
 * fixed header has arrived, rejects a packet over max_packet before
 * allocating anything, and when a packet spans several reads keeps only
 * that packet's bytes, growing its buffer to at most twice what has
 * arrived.  A packet that lies whole in the caller's data is decoded in
 * place, without copying.  Not thread-safe: one owner.
 */
struct proto_reader {
	uint32_t max_packet; /* largest total packet accepted */
	uint8_t version;     /* 0 until a CONNECT is decoded */
	/* private */
	uint8_t hdr_len;     /* fixed-header bytes seen of the partial packet */
	uint8_t hdr[5];
	uint32_t total;      /* size of the partial packet once known, else 0 */
	uint32_t have;       /* bytes of it in buf */
	uint32_t cap;
	bool done;           /* buf holds a packet handed out last call */
	int err;             /* sticky stream error, 0 if none */
	uint8_t *buf;
};

/* Prepares r; max_packet 0 means the protocol maximum. */
void proto_reader_init(struct proto_reader *r, uint32_t max_packet);

/* Frees what r holds.  r may be reused after proto_reader_init(). */
void proto_reader_fini(struct proto_reader *r);

/* Feeds data[0..len) (borrowed) to r and stores in *used how many bytes it
 * consumed.  Returns 0 when a packet is ready in *out: its views borrow
 * either data or r's own buffer and are valid until the next call on r;
 * call again with the rest of data.  Returns PROTO_MORE when all of data was
 * consumed without finishing a packet (a call with len 0 releases the buffer
 * of the packet handed out last).  Returns a PROTO_E* code when the stream
 * is broken: the connection must be closed, proto_error_reason() says what
 * to tell the peer.  While r->version is 0, a decoded CONNECT sets it to the
 * packet's protocol level; other packets are then decoded as 3.1.1 (it is
 * the caller's job to insist that CONNECT comes first). */
int proto_reader_feed(struct proto_reader *r, const uint8_t *data, size_t len,
    size_t *used, struct proto_packet *out);

/* Bytes r currently holds for an unfinished packet (for memory limits). */
size_t proto_reader_pending(const struct proto_reader *r);

#endif /* PROTO_PROTO_H */
