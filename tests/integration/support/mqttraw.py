"""mqttraw - a small, hand-written MQTT 3.1 / 3.1.1 / 5.0 packet builder and
parser, and a blocking client over a plain socket, for the integration tests.

This module deliberately shares no code with Starling's proto/ codec (it is
written from the specifications, in Python), so that a codec bug in the
broker cannot hide itself by being present on both sides of the wire.

Builders return bytes and accept deliberately wrong values (bytes instead of
str for strings, so tests can inject invalid UTF-8; arbitrary flags, QoS 3,
packet identifier 0 ...).  Parsers are strict: they raise MalformedError for
anything the server must never send, so a test fails loudly when the broker
produces a bad packet.

Versions are the protocol level byte: 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1) and
5 (5.0).
"""

import select
import socket
import struct
import time

# Packet types (first nibble of the fixed header).
CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14
AUTH = 15

TYPE_NAMES = {
    0: "RESERVED", 1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK",
    5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK",
    10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
    14: "DISCONNECT", 15: "AUTH",
}

# MQTT 5 property identifiers.
PAYLOAD_FORMAT_INDICATOR = 0x01
MESSAGE_EXPIRY_INTERVAL = 0x02
CONTENT_TYPE = 0x03
RESPONSE_TOPIC = 0x08
CORRELATION_DATA = 0x09
SUBSCRIPTION_IDENTIFIER = 0x0B
SESSION_EXPIRY_INTERVAL = 0x11
ASSIGNED_CLIENT_IDENTIFIER = 0x12
SERVER_KEEP_ALIVE = 0x13
AUTHENTICATION_METHOD = 0x15
AUTHENTICATION_DATA = 0x16
REQUEST_PROBLEM_INFORMATION = 0x17
WILL_DELAY_INTERVAL = 0x18
REQUEST_RESPONSE_INFORMATION = 0x19
RESPONSE_INFORMATION = 0x1A
SERVER_REFERENCE = 0x1C
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
TOPIC_ALIAS_MAXIMUM = 0x22
TOPIC_ALIAS = 0x23
MAXIMUM_QOS = 0x24
RETAIN_AVAILABLE = 0x25
USER_PROPERTY = 0x26
MAXIMUM_PACKET_SIZE = 0x27
WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
SHARED_SUBSCRIPTION_AVAILABLE = 0x2A

# Property value types.
_BYTE, _TWO, _FOUR, _VARINT, _STRING, _BINARY, _PAIR = range(7)

PROPERTY_TYPES = {
    PAYLOAD_FORMAT_INDICATOR: _BYTE,
    MESSAGE_EXPIRY_INTERVAL: _FOUR,
    CONTENT_TYPE: _STRING,
    RESPONSE_TOPIC: _STRING,
    CORRELATION_DATA: _BINARY,
    SUBSCRIPTION_IDENTIFIER: _VARINT,
    SESSION_EXPIRY_INTERVAL: _FOUR,
    ASSIGNED_CLIENT_IDENTIFIER: _STRING,
    SERVER_KEEP_ALIVE: _TWO,
    AUTHENTICATION_METHOD: _STRING,
    AUTHENTICATION_DATA: _BINARY,
    REQUEST_PROBLEM_INFORMATION: _BYTE,
    WILL_DELAY_INTERVAL: _FOUR,
    REQUEST_RESPONSE_INFORMATION: _BYTE,
    RESPONSE_INFORMATION: _STRING,
    SERVER_REFERENCE: _STRING,
    REASON_STRING: _STRING,
    RECEIVE_MAXIMUM: _TWO,
    TOPIC_ALIAS_MAXIMUM: _TWO,
    TOPIC_ALIAS: _TWO,
    MAXIMUM_QOS: _BYTE,
    RETAIN_AVAILABLE: _BYTE,
    USER_PROPERTY: _PAIR,
    MAXIMUM_PACKET_SIZE: _FOUR,
    WILDCARD_SUBSCRIPTION_AVAILABLE: _BYTE,
    SUBSCRIPTION_IDENTIFIER_AVAILABLE: _BYTE,
    SHARED_SUBSCRIPTION_AVAILABLE: _BYTE,
}

# Properties that may legitimately appear more than once in one packet.
_REPEATABLE = {USER_PROPERTY, SUBSCRIPTION_IDENTIFIER}

# Selected MQTT 5 reason codes.
RC_SUCCESS = 0x00
RC_GRANTED_QOS1 = 0x01
RC_GRANTED_QOS2 = 0x02
RC_DISCONNECT_WITH_WILL = 0x04
RC_NO_MATCHING_SUBSCRIBERS = 0x10
RC_NO_SUBSCRIPTION_EXISTED = 0x11
RC_UNSPECIFIED = 0x80
RC_MALFORMED = 0x81
RC_PROTOCOL_ERROR = 0x82
RC_IMPLEMENTATION_SPECIFIC = 0x83
RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84
RC_CLIENT_ID_NOT_VALID = 0x85
RC_SESSION_TAKEN_OVER = 0x8E
RC_TOPIC_FILTER_INVALID = 0x8F
RC_TOPIC_NAME_INVALID = 0x90
RC_PACKET_ID_IN_USE = 0x91
RC_PACKET_ID_NOT_FOUND = 0x92
RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93
RC_TOPIC_ALIAS_INVALID = 0x94
RC_PACKET_TOO_LARGE = 0x95
RC_KEEP_ALIVE_TIMEOUT = 0x8D
RC_RETAIN_NOT_SUPPORTED = 0x9A
RC_PAYLOAD_FORMAT_INVALID = 0x99
RC_SHARED_SUB_NOT_SUPPORTED = 0x9E


class MalformedError(Exception):
    """The bytes received are not a valid MQTT packet."""


class ConnectionClosed(Exception):
    """The peer closed the connection (EOF or reset)."""


# ---------------------------------------------------------------------------
# Primitive encoders and decoders.

def encode_varint(n):
    """Variable Byte Integer (1..4 bytes) of 0 <= n <= 268,435,455."""
    if n < 0 or n > 268435455:
        raise ValueError("varint out of range: %d" % n)
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def decode_varint(buf, pos):
    """Returns (value, new_pos).  Raises MalformedError after 4 bytes with a
    continuation bit, and IndexError when buf ends first."""
    value = 0
    mult = 1
    for i in range(4):
        b = buf[pos + i]
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, pos + i + 1
        mult *= 128
    raise MalformedError("variable byte integer longer than 4 bytes")


def encode_binary(data):
    """Two-byte length prefix plus data (bytes)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return struct.pack("!H", len(data)) + bytes(data)


def encode_string(s):
    """UTF-8 string with length prefix.  Passing bytes writes them
    unchanged, which lets a test send invalid UTF-8."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    return encode_binary(s)


def _check_utf8(raw, what):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedError("%s is not valid UTF-8: %r (%s)" % (what, raw, e))
    if "\x00" in text:
        raise MalformedError("%s contains U+0000" % what)
    return text


class _Reader:
    """Cursor over one packet body; every read is bounds-checked."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.remaining():
            raise MalformedError("packet too short: need %d bytes at %d of %d"
                                 % (n, self.pos, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def u32(self):
        return struct.unpack("!I", self.take(4))[0]

    def varint(self):
        try:
            v, self.pos = decode_varint(self.data, self.pos)
        except IndexError:
            raise MalformedError("truncated variable byte integer")
        return v

    def binary(self):
        return self.take(self.u16())

    def string(self, what="string"):
        return _check_utf8(self.binary(), what)

    def rest(self):
        return self.take(self.remaining())


# ---------------------------------------------------------------------------
# Properties.

class Props(dict):
    """Parsed MQTT 5 properties: identifier -> value, except USER_PROPERTY
    (a list of (name, value) pairs, in wire order) and
    SUBSCRIPTION_IDENTIFIER (a list of ints, in wire order).  `order` keeps
    every (identifier, value) in wire order."""

    def __init__(self):
        super().__init__()
        self.order = []

    def user(self):
        return self.get(USER_PROPERTY, [])


def encode_props(props):
    """Encodes properties with their length prefix.  `props` is None, a
    dict {id: value} (USER_PROPERTY takes a list of pairs,
    SUBSCRIPTION_IDENTIFIER an int or a list), or a list of (id, value)
    written in the given order, duplicates included (for malformed tests).
    Unknown identifiers take a value of raw bytes, written as is."""
    items = []
    if props:
        if isinstance(props, dict):
            for pid, value in props.items():
                if pid == USER_PROPERTY:
                    items.extend((pid, pair) for pair in value)
                elif pid == SUBSCRIPTION_IDENTIFIER and isinstance(value, (list, tuple)):
                    items.extend((pid, v) for v in value)
                else:
                    items.append((pid, value))
        else:
            items = list(props)
    body = bytearray()
    for pid, value in items:
        body += encode_varint(pid)
        t = PROPERTY_TYPES.get(pid)
        if t is None:
            body += bytes(value)
        elif t == _BYTE:
            body.append(value)
        elif t == _TWO:
            body += struct.pack("!H", value)
        elif t == _FOUR:
            body += struct.pack("!I", value)
        elif t == _VARINT:
            body += encode_varint(value)
        elif t == _STRING:
            body += encode_string(value)
        elif t == _BINARY:
            body += encode_binary(value)
        elif t == _PAIR:
            body += encode_string(value[0]) + encode_string(value[1])
    return encode_varint(len(body)) + bytes(body)


def _parse_props(r):
    length = r.varint()
    sub = _Reader(r.take(length))
    props = Props()
    while sub.remaining():
        pid = sub.varint()
        t = PROPERTY_TYPES.get(pid)
        if t is None:
            raise MalformedError("unknown property identifier 0x%02x" % pid)
        if t == _BYTE:
            v = sub.byte()
        elif t == _TWO:
            v = sub.u16()
        elif t == _FOUR:
            v = sub.u32()
        elif t == _VARINT:
            v = sub.varint()
        elif t == _STRING:
            v = sub.string("property 0x%02x" % pid)
        elif t == _BINARY:
            v = sub.binary()
        else:
            v = (sub.string("user property name"),
                 sub.string("user property value"))
        props.order.append((pid, v))
        if pid in _REPEATABLE:
            props.setdefault(pid, []).append(v)
        elif pid in props:
            raise MalformedError("property 0x%02x appears twice" % pid)
        else:
            props[pid] = v
    return props


# ---------------------------------------------------------------------------
# Builders.  Each returns the whole packet as bytes.

def packet(ptype, flags, body):
    """Any packet from its type, the four flag bits and its body."""
    return bytes([(ptype << 4) | (flags & 0x0F)]) + encode_varint(len(body)) + bytes(body)


def connect(client_id="", version=4, clean=True, keepalive=60, props=None,
            will=None, username=None, password=None, protocol_name=None,
            reserved=False, flags=None):
    """CONNECT.  `will` is a dict with topic, payload, and optional qos,
    retain and props (v5).  `flags` overrides the computed connect flags
    byte; `reserved` sets its reserved bit 0."""
    if protocol_name is None:
        protocol_name = "MQIsdp" if version == 3 else "MQTT"
    cflags = 0
    if clean:
        cflags |= 0x02
    if will is not None:
        cflags |= 0x04 | ((will.get("qos", 0) & 3) << 3)
        if will.get("retain"):
            cflags |= 0x20
    if password is not None:
        cflags |= 0x40
    if username is not None:
        cflags |= 0x80
    if reserved:
        cflags |= 0x01
    if flags is not None:
        cflags = flags
    body = bytearray()
    body += encode_string(protocol_name)
    body.append(version & 0xFF)
    body.append(cflags)
    body += struct.pack("!H", keepalive)
    if version == 5:
        body += encode_props(props)
    body += encode_string(client_id)
    if will is not None:
        if version == 5:
            body += encode_props(will.get("props"))
        body += encode_string(will["topic"])
        body += encode_binary(will.get("payload", b""))
    if username is not None:
        body += encode_string(username)
    if password is not None:
        body += encode_binary(password)
    return packet(CONNECT, 0, body)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=None,
            props=None, version=4, flags=None):
    """PUBLISH.  A packet identifier is written when qos > 0 (pid must then
    be given; 0 is allowed, to test its rejection).  `flags` overrides the
    four flag bits."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    f = (0x08 if dup else 0) | ((qos & 3) << 1) | (0x01 if retain else 0)
    if flags is not None:
        f = flags
    body = bytearray(encode_string(topic))
    if qos > 0:
        body += struct.pack("!H", pid)
    if version == 5:
        body += encode_props(props)
    body += payload
    return packet(PUBLISH, f, body)


def _ack(ptype, flags, pid, version, reason, props):
    body = bytearray(struct.pack("!H", pid))
    if version == 5 and (reason is not None or props):
        body.append(reason or 0)
        if props:
            body += encode_props(props)
    return packet(ptype, flags, body)


def puback(pid, version=4, reason=None, props=None):
    return _ack(PUBACK, 0, pid, version, reason, props)


def pubrec(pid, version=4, reason=None, props=None):
    return _ack(PUBREC, 0, pid, version, reason, props)


def pubrel(pid, version=4, reason=None, props=None, flags=2):
    return _ack(PUBREL, flags, pid, version, reason, props)


def pubcomp(pid, version=4, reason=None, props=None):
    return _ack(PUBCOMP, 0, pid, version, reason, props)


def sub_options(qos=0, no_local=False, retain_as_published=False,
                retain_handling=0):
    """The MQTT 5 subscription options byte (3.1.1 uses only the QoS)."""
    return (qos & 3) | (0x04 if no_local else 0) | \
        (0x08 if retain_as_published else 0) | ((retain_handling & 3) << 4)


def subscribe(pid, filters, version=4, props=None, flags=2):
    """SUBSCRIBE.  `filters` is a list of (filter, options byte)."""
    body = bytearray(struct.pack("!H", pid))
    if version == 5:
        body += encode_props(props)
    for flt, opts in filters:
        body += encode_string(flt)
        body.append(opts)
    return packet(SUBSCRIBE, flags, body)


def unsubscribe(pid, filters, version=4, props=None, flags=2):
    body = bytearray(struct.pack("!H", pid))
    if version == 5:
        body += encode_props(props)
    for flt in filters:
        body += encode_string(flt)
    return packet(UNSUBSCRIBE, flags, body)


def pingreq():
    return packet(PINGREQ, 0, b"")


def disconnect(version=4, reason=None, props=None):
    body = bytearray()
    if version == 5 and (reason is not None or props):
        body.append(reason or 0)
        if props:
            body += encode_props(props)
    return packet(DISCONNECT, 0, body)


def auth(reason=0, props=None):
    body = bytearray([reason])
    if props:
        body += encode_props(props)
    return packet(AUTH, 0, body)


# ---------------------------------------------------------------------------
# Parser.

class Packet:
    """One parsed packet.  Always has: type, flags, raw (the whole packet's
    bytes).  The other attributes depend on the type:
      CONNACK:   session_present, rc (3.1.1 return code or v5 reason), props
      PUBLISH:   dup, qos, retain, topic (str), pid (None at QoS 0), props,
                 payload (bytes)
      PUBACK/PUBREC/PUBREL/PUBCOMP: pid, reason, props
      SUBACK/UNSUBACK: pid, props, codes (list; 3.1.1 UNSUBACK: [])
      DISCONNECT/AUTH: reason, props
    `props` is an empty Props for 3.1.1."""

    def __init__(self, ptype, flags, raw):
        self.type = ptype
        self.flags = flags
        self.raw = raw
        self.props = Props()

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    def __repr__(self):
        fields = {k: v for k, v in self.__dict__.items()
                  if k not in ("type", "raw") and v is not None}
        if "payload" in fields and len(fields["payload"]) > 64:
            fields["payload"] = fields["payload"][:64] + b"..."
        return "<%s %s>" % (self.name, fields)


def parse_packet(raw, version, from_client=False):
    """Parses one complete packet (raw = fixed header + body) sent on a
    connection of the given protocol version: by default a server-to-client
    packet (what a client may receive); with from_client, a
    client-to-server one (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and the
    types both sides send), used by the helper's own tests.  A CONNECT
    carries its own version, which overrides `version`."""
    first = raw[0]
    ptype, flags = first >> 4, first & 0x0F
    length, pos = decode_varint(raw, 1)
    body = raw[pos:]
    if len(body) != length:
        raise MalformedError("remaining length %d but %d bytes" % (length, len(body)))
    p = Packet(ptype, flags, bytes(raw))
    r = _Reader(body)
    v5 = version == 5
    expected_flags = {PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2}
    if ptype != PUBLISH and flags != expected_flags.get(ptype, 0):
        raise MalformedError("%s with flags 0x%x" % (p.name, flags))
    if ptype == CONNACK:
        ack_flags = r.byte()
        if ack_flags & 0xFE:
            raise MalformedError("CONNACK reserved flags set: 0x%02x" % ack_flags)
        p.session_present = bool(ack_flags & 1)
        p.rc = r.byte()
        if v5:
            p.props = _parse_props(r)
    elif ptype == PUBLISH:
        p.dup = bool(flags & 0x08)
        p.qos = (flags >> 1) & 3
        p.retain = bool(flags & 0x01)
        if p.qos == 3:
            raise MalformedError("PUBLISH with QoS 3")
        if p.qos == 0 and p.dup:
            raise MalformedError("PUBLISH QoS 0 with DUP set")
        p.topic = r.string("topic name")
        p.pid = None
        if p.qos:
            p.pid = r.u16()
            if p.pid == 0:
                raise MalformedError("PUBLISH with packet identifier 0")
        if v5:
            p.props = _parse_props(r)
        p.payload = r.rest()
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.pid = r.u16()
        p.reason = 0
        if v5 and r.remaining():
            p.reason = r.byte()
            if r.remaining():
                p.props = _parse_props(r)
    elif ptype in (SUBACK, UNSUBACK):
        p.pid = r.u16()
        if v5:
            p.props = _parse_props(r)
        p.codes = list(r.rest())
        if ptype == SUBACK and not p.codes:
            raise MalformedError("SUBACK without return codes")
    elif ptype == PINGRESP and not from_client:
        pass
    elif ptype == CONNECT and from_client:
        _parse_connect(p, r)
        v5 = p.version == 5
    elif ptype in (SUBSCRIBE, UNSUBSCRIBE) and from_client:
        p.pid = r.u16()
        if v5:
            p.props = _parse_props(r)
        p.filters = []
        while r.remaining():
            flt = r.string("topic filter")
            p.filters.append((flt, r.byte()) if ptype == SUBSCRIBE else flt)
        if not p.filters:
            raise MalformedError("%s without topic filters" % p.name)
    elif ptype == PINGREQ and from_client:
        pass
    elif ptype == DISCONNECT:
        p.reason = 0
        if v5 and r.remaining():
            p.reason = r.byte()
            if r.remaining():
                p.props = _parse_props(r)
    elif ptype == AUTH:
        p.reason = 0
        if r.remaining():
            p.reason = r.byte()
            if r.remaining():
                p.props = _parse_props(r)
    else:
        raise MalformedError("%s sent packet type %d"
                             % ("client" if from_client else "server", ptype))
    if ptype in (CONNACK, SUBACK, UNSUBACK, PINGRESP) and from_client:
        raise MalformedError("client sent %s" % p.name)
    if r.remaining():
        raise MalformedError("%d trailing bytes in %s" % (r.remaining(), p.name))
    if ptype == DISCONNECT and not v5 and length:
        raise MalformedError("3.1.1 DISCONNECT with a body")
    return p


def _parse_connect(p, r):
    """CONNECT fields: protocol_name, version, clean, keepalive, props,
    client_id, will (None or dict: topic, payload, qos, retain, props),
    username, password."""
    p.protocol_name = r.string("protocol name")
    p.version = r.byte()
    cflags = r.byte()
    if cflags & 0x01:
        raise MalformedError("CONNECT reserved flag set")
    p.clean = bool(cflags & 0x02)
    p.keepalive = r.u16()
    p.props = _parse_props(r) if p.version == 5 else Props()
    p.client_id = r.string("client identifier")
    p.will = None
    if cflags & 0x04:
        will = {"qos": (cflags >> 3) & 3, "retain": bool(cflags & 0x20)}
        if will["qos"] == 3:
            raise MalformedError("will QoS 3")
        will["props"] = _parse_props(r) if p.version == 5 else Props()
        will["topic"] = r.string("will topic")
        will["payload"] = r.binary()
        p.will = will
    elif cflags & 0x38:
        raise MalformedError("will QoS or retain without will flag")
    p.username = r.string("user name") if cflags & 0x80 else None
    p.password = r.binary() if cflags & 0x40 else None


def split_packet(buf):
    """If buf (bytearray) starts with a complete packet, returns its length;
    None when more bytes are needed."""
    if len(buf) < 2:
        return None
    try:
        length, pos = decode_varint(buf, 1)
    except IndexError:
        return None
    if len(buf) < pos + length:
        return None
    return pos + length


# ---------------------------------------------------------------------------
# Client.

class RawClient:
    """A blocking MQTT client over one TCP socket, for tests.

    It does nothing behind the test's back except, when auto_ack is true
    (the default), acknowledge what it receives: PUBACK for a QoS 1
    PUBLISH, PUBREC for a QoS 2 PUBLISH and PUBCOMP for a PUBREL.  Every
    wait has a timeout; on timeout a TimeoutError (an AssertionError
    subclass would hide the cause, so it is the builtin) is raised."""

    def __init__(self, port, version=4, timeout=5.0, host="127.0.0.1"):
        self.version = version
        self.timeout = timeout
        self.auto_ack = True
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pending = []        # packets read but not yet returned
        self.closed = False      # EOF seen
        self._pid = 0
        self.connack = None

    # -- plumbing ----------------------------------------------------------

    def next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more bytes into buf; raises ConnectionClosed on EOF and
        TimeoutError at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data within the timeout")
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            raise TimeoutError("no data within the timeout")
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            raise ConnectionClosed("connection closed by the broker")
        self.buf += data

    def _read_one(self, deadline):
        while True:
            n = split_packet(self.buf)
            if n is not None:
                raw = bytes(self.buf[:n])
                del self.buf[:n]
                return parse_packet(raw, self.version)
            if len(self.buf) >= 5 and all(b & 0x80 for b in self.buf[1:5]):
                raise MalformedError("remaining length longer than 4 bytes")
            self._fill(deadline)

    def _auto(self, p):
        """Sends the acknowledgement auto_ack calls for, if any."""
        if not self.auto_ack:
            return
        if p.type == PUBLISH and p.qos == 1:
            self.send(puback(p.pid, self.version))
        elif p.type == PUBLISH and p.qos == 2:
            self.send(pubrec(p.pid, self.version))
        elif p.type == PUBREL:
            self.send(pubcomp(p.pid, self.version))

    def recv_packet(self, timeout=None):
        """Returns the next packet (after acknowledging it if auto_ack)."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        p = self._read_one(deadline)
        self._auto(p)
        return p

    def expect(self, ptype, timeout=None, skip_pubrel=True):
        """Returns the next packet, which must be of type ptype.  With
        auto_ack, a PUBREL in between (the tail of an earlier QoS 2 delivery)
        is acknowledged and skipped."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            p = self.recv_packet(max(0.0, deadline - time.monotonic()))
            if skip_pubrel and self.auto_ack and p.type == PUBREL and ptype != PUBREL:
                continue
            if p.type != ptype:
                raise AssertionError("expected %s, got %r" % (TYPE_NAMES[ptype], p))
            return p

    def wait_for(self, pred, timeout=None):
        """Reads packets until pred(packet) is true and returns that packet;
        others are kept in `pending` in order for later calls."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        kept = []
        try:
            while True:
                p = self.recv_packet(max(0.0, deadline - time.monotonic()))
                if pred(p):
                    return p
                kept.append(p)
        finally:
            self.pending[:0] = kept

    def expect_publish(self, timeout=None):
        return self.expect(PUBLISH, timeout)

    def collect(self, quiet, limit=None, ptype=PUBLISH, max_time=30.0):
        """Reads packets until none arrives for `quiet` seconds (or `limit`
        packets of type ptype were read) and returns those of type ptype.
        Acknowledgement-only PUBRELs are dropped; any other type raises."""
        out = []
        end = time.monotonic() + max_time
        while limit is None or len(out) < limit:
            try:
                p = self.recv_packet(quiet)
            except TimeoutError:
                break
            if p.type == PUBREL and self.auto_ack and ptype != PUBREL:
                continue
            if p.type != ptype:
                raise AssertionError("expected only %s, got %r" % (TYPE_NAMES[ptype], p))
            out.append(p)
            if time.monotonic() > end:
                break
        return out

    def assert_nothing(self, quiet=0.5):
        """Asserts that no packet (other than an acknowledgement-only
        PUBREL) arrives within `quiet` seconds."""
        deadline = time.monotonic() + quiet
        while True:
            try:
                p = self.recv_packet(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return
            if p.type == PUBREL and self.auto_ack:
                continue
            raise AssertionError("expected no packet, got %r" % (p,))

    def expect_closed(self, timeout=None):
        """Waits until the broker closes the connection and returns the
        packets it sent before closing (possibly []).  Raises
        AssertionError if the connection is still open at the timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = list(self.pending)
        self.pending = []
        while True:
            try:
                got.append(self._read_one(deadline))
            except ConnectionClosed:
                return got
            except TimeoutError:
                raise AssertionError("connection still open after %.1f s (received %r)"
                                     % (timeout if timeout is not None else self.timeout, got))

    def close(self):
        """Closes the socket without sending DISCONNECT (an abrupt close as
        far as MQTT is concerned)."""
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Closes with a TCP reset."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    # -- MQTT operations ---------------------------------------------------

    def connect(self, client_id="", clean=True, keepalive=60, props=None,
                will=None, username=None, password=None, expect_rc=0,
                timeout=None):
        """Sends CONNECT and returns the CONNACK, whose return code must be
        expect_rc (None: any)."""
        self.send(connect(client_id, self.version, clean, keepalive, props,
                          will, username, password))
        ack = self.expect(CONNACK, timeout)
        if expect_rc is not None and ack.rc != expect_rc:
            raise AssertionError("CONNACK code 0x%02x, expected 0x%02x (%r)"
                                 % (ack.rc, expect_rc, ack))
        self.connack = ack
        return ack

    def expect_ack(self, ptype, pid, timeout=None):
        """Waits for the acknowledgement of type ptype for packet id pid.
        PUBLISH packets arriving meanwhile (a subscriber may receive
        messages before or between acknowledgements) are kept for later
        expect_publish() calls; any other packet raises AssertionError."""
        def match(p):
            if p.type == ptype:
                if p.pid != pid:
                    raise AssertionError("%s for packet id %d, expected %d: %r"
                                         % (TYPE_NAMES[ptype], p.pid, pid, p))
                return True
            if p.type == PUBLISH or (p.type == PUBREL and self.auto_ack):
                return False
            raise AssertionError("expected %s, got %r" % (TYPE_NAMES[ptype], p))
        p = self.wait_for(match, timeout)
        # Drop acknowledgement-only PUBRELs kept while waiting.
        if self.auto_ack:
            self.pending = [q for q in self.pending if q.type != PUBREL]
        return p

    def subscribe(self, filters, qos=0, props=None, pid=None, **opts):
        """SUBSCRIBE to one filter (str, with qos and v5 options as keyword
        arguments) or a list of (filter, options byte); returns the SUBACK,
        after checking its packet identifier."""
        if isinstance(filters, str):
            filters = [(filters, sub_options(qos, **opts))]
        pid = pid or self.next_pid()
        self.send(subscribe(pid, filters, self.version, props))
        return self.expect_ack(SUBACK, pid)

    def unsubscribe(self, filters, props=None):
        if isinstance(filters, str):
            filters = [filters]
        pid = self.next_pid()
        self.send(unsubscribe(pid, filters, self.version, props))
        return self.expect_ack(UNSUBACK, pid)

    def publish(self, topic, payload=b"", qos=0, retain=False, props=None,
                pid=None):
        """PUBLISH and complete its flow: returns None at QoS 0, the PUBACK
        at QoS 1, and (PUBREC, PUBCOMP) at QoS 2.  A v5 PUBREC with a
        reason code >= 0x80 ends the flow (no PUBREL).  Messages received
        meanwhile are kept for expect_publish()."""
        if qos and pid is None:
            pid = self.next_pid()
        self.send(publish(topic, payload, qos, retain, False, pid, props, self.version))
        if qos == 0:
            return None
        if qos == 1:
            return self.expect_ack(PUBACK, pid)
        rec = self.expect_ack(PUBREC, pid)
        if rec.reason >= 0x80:
            return rec, None
        self.send(pubrel(pid, self.version))
        comp = self.expect_ack(PUBCOMP, pid)
        return rec, comp

    def publish_many(self, items, timeout=None):
        """Sends many PUBLISH packets back to back (items: (topic, payload,
        qos) tuples, or (topic, payload, qos, retain, props)) and then
        completes every QoS 1 and 2 flow: PUBREL for each PUBREC, waiting
        for every PUBACK and PUBCOMP.  Messages received meanwhile are kept
        for expect_publish().  Returns the list of acknowledgements (PUBACK,
        or PUBCOMP/failed PUBREC) in arrival order."""
        out = bytearray()
        waiting = {}
        for item in items:
            topic, payload, qos = item[:3]
            retain = item[3] if len(item) > 3 else False
            props = item[4] if len(item) > 4 else None
            pid = self.next_pid() if qos else None
            if qos:
                waiting[pid] = qos
            out += publish(topic, payload, qos, retain, False, pid, props, self.version)
        self.send(bytes(out))
        acks = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout) \
            + 0.01 * len(waiting)
        kept = []
        try:
            while waiting:
                p = self.recv_packet(max(0.0, deadline - time.monotonic()))
                if p.type in (PUBACK, PUBREC, PUBCOMP) and p.pid in waiting:
                    if p.type == PUBREC and p.reason < 0x80:
                        self.send(pubrel(p.pid, self.version))
                        continue
                    del waiting[p.pid]
                    acks.append(p)
                elif p.type == PUBLISH:
                    kept.append(p)
                elif p.type == PUBREL and self.auto_ack:
                    continue
                else:
                    raise AssertionError("unexpected %r while publishing" % (p,))
        finally:
            self.pending.extend(kept)
        return acks

    def ping(self, timeout=None):
        self.send(pingreq())
        return self.expect(PINGRESP, timeout)

    def disconnect(self, reason=None, props=None):
        """Sends DISCONNECT and closes the socket."""
        try:
            self.send(disconnect(self.version, reason, props))
        except OSError:
            pass
        self.close()
