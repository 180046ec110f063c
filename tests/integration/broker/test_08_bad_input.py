"""08 bad input: malformed packets and protocol violations over a raw socket.

For each case a fresh connection sends one bad packet (after a good CONNECT
unless the case is about CONNECT itself).  The broker must close that
connection: over MQTT 3.1.1 without sending anything [MQTT-4.8.0-1]; over
MQTT 5 after at most a DISCONNECT (or, for CONNECT, a CONNACK) carrying the
reason code the specification names (4.13), e.g. 0x81 Malformed Packet,
0x82 Protocol Error, 0x95 Packet too large.  Where the specification leaves
the choice between two codes, both are accepted.

After EVERY case, two clients that connected before any bad input (the
witnesses) must still exchange a message, and a new connection must still
work: one client's bad input never harms another's.
"""

import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, RawClient, mqttraw, uniq  # noqa: E402
from mqttraw import CONNACK, DISCONNECT, SUBACK, packet  # noqa: E402

MALFORMED = {mqttraw.RC_MALFORMED}
PROTOCOL = {mqttraw.RC_PROTOCOL_ERROR}
EITHER = {mqttraw.RC_MALFORMED, mqttraw.RC_PROTOCOL_ERROR}
MAX_PACKET = 1000
# How long the broker may take to close a connection after bad input.
CLOSE_TIMEOUT = 2.0


class WitnessMixin:
    """Two witness clients connected before any bad input, checked after
    every case."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        port = cls._class_broker.port
        cls.w_topic = uniq("witness")
        cls.w_sub = RawClient(port, 4)
        cls.w_sub.connect(uniq("wsub"), keepalive=0)
        cls.w_sub.subscribe(cls.w_topic, 1)
        cls.w_pub = RawClient(port, 5)
        cls.w_pub.connect(uniq("wpub"), keepalive=0)
        cls.w_count = 0

    @classmethod
    def tearDownClass(cls):
        cls.w_sub.close()
        cls.w_pub.close()
        super().tearDownClass()

    def assert_others_unharmed(self):
        cls = type(self)
        cls.w_count += 1
        payload = b"w%d" % cls.w_count
        self.w_pub.publish(self.w_topic, payload, 1)
        m = self.w_sub.expect_publish()
        self.assertEqual((m.topic, m.payload), (self.w_topic, payload))
        self.roundtrip(4)
        self.roundtrip(5)

    def send_bad(self, version, data, reasons, connect_first=True, connack=None):
        """Sends `data` on a new connection and checks that the broker
        closes it: 3.1.1 sends nothing; MQTT 5 at most a DISCONNECT whose
        reason is in `reasons`.  For bad CONNECT packets (connect_first
        False) `connack` lists CONNACK codes also accepted before the
        close (3.1.1 layout for version 3/4, 5.0 layout for 5)."""
        c = self.client(version)
        if connect_first:
            c.connect(uniq("bad"))
        try:
            c.send(data)
        except OSError:
            pass
        try:
            got = c.expect_closed(timeout=CLOSE_TIMEOUT)
        except mqttraw.MalformedError as e:
            self.fail("broker answered with a malformed packet: %s" % e)
        codes = [(p.type, getattr(p, "reason", getattr(p, "rc", None))) for p in got]
        if connect_first and version == 5:
            allowed = [[]] + [[(DISCONNECT, r)] for r in sorted(reasons)]
        elif connect_first:
            allowed = [[]]
        else:
            allowed = [[]] + [[(CONNACK, r)] for r in sorted(connack or ())]
        self.assertIn(codes, allowed)
        self.assert_others_unharmed()
        return got


def bad_test(version, make, reasons=(), connect_first=True, connack=None, doc=None):
    def test(self):
        self.send_bad(version, make(), set(reasons), connect_first, connack)
    test.__doc__ = doc
    return test


def v5only(version, reasons):
    return reasons if version == 5 else ()


class BadInputTest(WitnessMixin, BrokerTestCase):
    BROKER_CONFIG = ["max_packet_size %d" % MAX_PACKET]
    BROKER_SCOPE = "class"

    # The cases are generated below, one test method per case and version.

    def test_connack_announces_maximum_packet_size(self):
        c = self.client(5)
        ack = c.connect(uniq())
        self.assertEqual(ack.props.get(mqttraw.MAXIMUM_PACKET_SIZE), MAX_PACKET)
        self.assert_others_unharmed()

    def test_packet_of_exactly_maximum_size_accepted(self):
        topic = uniq("max")
        sub = self.connected(version=4)
        sub.subscribe(topic, 0)
        pub = self.connected(version=4)
        overhead = len(mqttraw.publish(topic, b"", 0)) + 1   # 2-byte length
        data = mqttraw.publish(topic, b"x" * (MAX_PACKET - overhead), 0)
        self.assertEqual(len(data), MAX_PACKET)
        pub.send(data)
        self.assertEqual(len(sub.expect_publish().raw), MAX_PACKET)

    def test_packet_one_byte_over_maximum_refused(self):
        for version in (4, 5):
            with self.subTest(version=version):
                topic = uniq("over")
                overhead = len(mqttraw.publish(topic, b"", 0, version=version)) + 1
                data = mqttraw.publish(topic, b"x" * (MAX_PACKET + 1 - overhead), 0,
                                       version=version)
                self.assertEqual(len(data), MAX_PACKET + 1)
                self.send_bad(version, data, {mqttraw.RC_PACKET_TOO_LARGE})

    def test_huge_remaining_length_refused_from_fixed_header(self):
        # Only the fixed header is sent: the broker must decide from the
        # remaining length alone, not wait for 200 MB.
        for version in (4, 5):
            with self.subTest(version=version):
                self.send_bad(version, b"\x30" + mqttraw.encode_varint(200 * 1024 * 1024),
                              {mqttraw.RC_PACKET_TOO_LARGE})

    def test_connect_bigger_than_maximum_refused(self):
        for version in (4, 5):
            with self.subTest(version=version):
                data = mqttraw.connect(uniq(), version, username="u" * 2000)
                self.send_bad(version, data, (), connect_first=False,
                              connack=[mqttraw.RC_PACKET_TOO_LARGE] if version == 5 else [])

    def test_invalid_topic_filter_in_subscribe(self):
        # 4.7.1: "#" only last and alone in its level, "+" alone in its
        # level, no empty filter.  3.1.1: close (or SUBACK 0x80); 5.0:
        # SUBACK 0x8F, or DISCONNECT 0x81/0x82/0x8F.
        for version in (4, 5):
            for flt in ("a/#/b", "a#", "a/b+", "+a/b", "#/", ""):
                with self.subTest(version=version, filter=flt):
                    c = self.client(version)
                    c.connect(uniq("flt"))
                    c.send(mqttraw.subscribe(3, [(flt, 0)], version))
                    try:
                        first = c.recv_packet()
                    except mqttraw.ConnectionClosed:
                        first = None
                    if first is not None and first.type == SUBACK:
                        self.assertEqual(first.pid, 3)
                        self.assertEqual(first.codes, [0x80 if version == 4 else
                                                       mqttraw.RC_TOPIC_FILTER_INVALID])
                    elif first is not None:
                        self.assertEqual(version, 5, first)
                        self.assertEqual(first.type, DISCONNECT, first)
                        self.assertIn(first.reason, (0x81, 0x82, 0x8F))
                        self.assertEqual(c.expect_closed(CLOSE_TIMEOUT), [])
                    c.close()
                    self.assert_others_unharmed()

    def test_truncated_packet_then_close(self):
        # The client dies in the middle of a packet: nothing to answer,
        # nothing to leak, others unharmed.
        for version in (4, 5):
            with self.subTest(version=version):
                c = self.client(version)
                c.connect(uniq("trunc"))
                data = mqttraw.publish(uniq("t"), b"x" * 500, 1, pid=1, version=version)
                c.send(data[:100])
                c.close()
                self.assert_others_unharmed()

    def test_truncated_connect_then_close(self):
        c = self.client(4)
        c.send(mqttraw.connect(uniq(), 4)[:7])
        c.abort()
        self.assert_others_unharmed()

    def test_garbage_instead_of_connect(self):
        self.send_bad(4, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", (), connect_first=False)

    def test_many_bad_connections_at_once(self):
        # 40 connections with complete bad packets (each must be closed)
        # and 10 with an unfinished CONNECT (left open, then reset by us),
        # all at the same time.
        bad = [b"\x00\x00", mqttraw.connect("", 9), b"\x20\x02\x00\x00",
               mqttraw.publish("t", b"x", 0)]
        socks = []
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(bad[i % 4])
            socks.append(s)
        idle = []
        for i in range(10):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"\x10\x20\x00\x04MQ")
            idle.append(s)
        deadline = time.monotonic() + 10
        for s in socks:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            except socket.timeout:
                self.fail("a connection with a bad packet was not closed")
            finally:
                s.close()
        self.assert_others_unharmed()
        for s in idle:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        self.assert_others_unharmed()


def _pub(version, topic=None, payload=b"x", qos=1, pid=1, props=None, flags=None):
    return lambda: mqttraw.publish(topic if topic is not None else uniq("b"), payload, qos,
                                   pid=pid, props=props, version=version, flags=flags)


def _add_cases():
    cases = []
    for v in (4, 5):
        cases += [
            ("reserved_type_0", v, lambda v=v: packet(0, 0, b""), EITHER),
            ("reserved_type_0_with_body", v, lambda: packet(0, 0, b"\x00\x01"), EITHER),
            ("subscribe_flags_0", v,
             lambda v=v: mqttraw.subscribe(1, [(uniq("f"), 0)], v, flags=0), MALFORMED),
            ("unsubscribe_flags_0", v,
             lambda v=v: mqttraw.unsubscribe(1, [uniq("f")], v, flags=0), MALFORMED),
            ("pubrel_flags_0", v, lambda v=v: mqttraw.pubrel(1, v, flags=0), MALFORMED),
            ("pingreq_flags_1", v, lambda: packet(mqttraw.PINGREQ, 1, b""), MALFORMED),
            ("puback_flags_2", v, lambda: packet(mqttraw.PUBACK, 2, b"\x00\x01"), MALFORMED),
            ("remaining_length_5_bytes", v, lambda: b"\x30\xff\xff\xff\xff\x7f", MALFORMED),
            ("publish_qos_3", v, _pub(v, flags=0x06), MALFORMED),
            ("publish_qos_3_retain_dup", v, _pub(v, flags=0x0F), MALFORMED),
            ("publish_topic_plus", v, _pub(v, topic="a/+/c"),
             EITHER | {mqttraw.RC_TOPIC_NAME_INVALID}),
            ("publish_topic_hash", v, _pub(v, topic="a/#"),
             EITHER | {mqttraw.RC_TOPIC_NAME_INVALID}),
            ("publish_topic_only_hash", v, _pub(v, topic="#", qos=0),
             EITHER | {mqttraw.RC_TOPIC_NAME_INVALID}),
            ("publish_packet_id_0", v, _pub(v, qos=1, pid=0), EITHER),
            ("publish_qos2_packet_id_0", v, _pub(v, qos=2, pid=0), EITHER),
            ("subscribe_packet_id_0", v,
             lambda v=v: mqttraw.subscribe(0, [(uniq("f"), 0)], v), EITHER),
            ("unsubscribe_packet_id_0", v,
             lambda v=v: mqttraw.unsubscribe(0, [uniq("f")], v), EITHER),
            ("publish_topic_invalid_utf8", v, _pub(v, topic=b"a/\xff/b"), MALFORMED),
            ("publish_topic_overlong_utf8", v, _pub(v, topic=b"a/\xc0\xaf"), MALFORMED),
            ("publish_topic_utf16_surrogate", v, _pub(v, topic=b"a/\xed\xa0\x80"), MALFORMED),
            ("publish_topic_null_char", v, _pub(v, topic=b"a\x00b"), MALFORMED),
            ("publish_topic_truncated_utf8", v, _pub(v, topic=b"abc\xe6\xb8"), MALFORMED),
            ("subscribe_filter_invalid_utf8", v,
             lambda v=v: mqttraw.subscribe(1, [(b"a/\xfe", 0)], v), MALFORMED),
            ("unsubscribe_filter_invalid_utf8", v,
             lambda v=v: mqttraw.unsubscribe(1, [b"\xc3\x28"], v), MALFORMED),
            ("subscribe_qos_3", v,
             lambda v=v: mqttraw.subscribe(1, [(uniq("f"), 3)], v), MALFORMED),
            ("subscribe_reserved_option_bits", v,
             lambda v=v: mqttraw.subscribe(1, [(uniq("f"), 0xC1)], v), MALFORMED),
            ("subscribe_without_filters", v,
             lambda v=v: mqttraw.subscribe(1, [], v), EITHER),
            ("unsubscribe_without_filters", v,
             lambda v=v: mqttraw.unsubscribe(1, [], v), EITHER),
            ("publish_topic_length_beyond_packet", v,
             lambda: packet(mqttraw.PUBLISH, 0, b"\x00\x40abc"), MALFORMED),
            ("subscribe_missing_options_byte", v,
             lambda v=v: packet(mqttraw.SUBSCRIBE, 2, b"\x00\x01" + (b"\x00" if v == 5 else b"")
                                + mqttraw.encode_string("a")), MALFORMED),
            ("puback_too_short", v, lambda: packet(mqttraw.PUBACK, 0, b"\x01"), MALFORMED),
            ("pingreq_with_body", v, lambda: packet(mqttraw.PINGREQ, 0, b"\x00"), MALFORMED),
            ("server_packet_connack", v, lambda: packet(CONNACK, 0, b"\x00\x00"), EITHER),
            ("server_packet_suback", v, lambda: packet(SUBACK, 0, b"\x00\x01\x00"), EITHER),
            ("server_packet_pingresp", v, lambda: packet(mqttraw.PINGRESP, 0, b""), EITHER),
            ("publish_dup_with_qos0", v, _pub(v, qos=0, pid=None, flags=0x08), EITHER),
        ]
        # CONNECT not first: the broker knows no protocol version yet and
        # simply closes.
        cases += [
            ("publish_before_connect", v, _pub(v, qos=0), (), False, ()),
            ("subscribe_before_connect", v,
             lambda v=v: mqttraw.subscribe(1, [("a", 0)], v), (), False, ()),
            ("pingreq_before_connect", v, lambda: mqttraw.pingreq(), (), False, ()),
            ("disconnect_before_connect", v, lambda: packet(DISCONNECT, 0, b""), (), False, ()),
            ("connect_reserved_flag", v,
             lambda v=v: mqttraw.connect(uniq(), v, reserved=True), (), False,
             MALFORMED if v == 5 else ()),
            ("connect_will_qos_3", v,
             lambda v=v: mqttraw.connect(uniq(), v, will={"topic": "w", "qos": 3}), (), False,
             MALFORMED if v == 5 else ()),
            ("connect_will_qos_without_will_flag", v,
             lambda v=v: mqttraw.connect(uniq(), v, flags=0x02 | 0x08), (), False,
             MALFORMED if v == 5 else ()),
            ("connect_will_retain_without_will_flag", v,
             lambda v=v: mqttraw.connect(uniq(), v, flags=0x02 | 0x20), (), False,
             MALFORMED if v == 5 else ()),
            ("connect_client_id_invalid_utf8", v,
             lambda v=v: mqttraw.connect(b"id\xff", v), (), False,
             MALFORMED | {mqttraw.RC_CLIENT_ID_NOT_VALID} if v == 5 else {0x02}),
            ("connect_will_topic_wildcard", v,
             lambda v=v: mqttraw.connect(uniq(), v, will={"topic": "w/#", "payload": b"x"}),
             (), False,
             EITHER | {mqttraw.RC_TOPIC_NAME_INVALID} if v == 5 else ()),
            ("connect_truncated_body", v,
             lambda v=v: packet(mqttraw.CONNECT, 0, mqttraw.connect(uniq(), v)[2:-3]), (),
             False, MALFORMED if v == 5 else ()),
            ("connect_flags_nonzero_nibble", v,
             lambda v=v: bytes([0x11]) + mqttraw.connect(uniq(), v)[1:], (), False,
             MALFORMED if v == 5 else ()),
            ("connect_remaining_length_5_bytes", v,
             lambda: b"\x10\x80\x80\x80\x80\x01", (), False, MALFORMED if v == 5 else ()),
        ]
    cases += [
        ("publish_empty_topic", 4, _pub(4, topic=""), ()),
        ("publish_empty_topic_without_alias", 5, _pub(5, topic=""), PROTOCOL),
        ("auth_type_15", 4, lambda: packet(mqttraw.AUTH, 0, b""), ()),
        ("connect_password_without_username", 4,
         lambda: mqttraw.connect(uniq(), 4, password=b"pw"), (), False, ()),
        # MQTT 5 properties.
        ("auth_without_authentication_method", 5,
         lambda: mqttraw.auth(0x18, {mqttraw.AUTHENTICATION_METHOD: "x"}), EITHER),
        ("publish_duplicate_property", 5,
         _pub(5, props=[(mqttraw.PAYLOAD_FORMAT_INDICATOR, 0),
                        (mqttraw.PAYLOAD_FORMAT_INDICATOR, 0)]), EITHER),
        ("publish_unknown_property", 5, _pub(5, props=[(0x7F, b"\x01")]), MALFORMED),
        ("publish_property_not_for_publish", 5,
         _pub(5, props={mqttraw.SESSION_EXPIRY_INTERVAL: 5}), EITHER),
        ("publish_subscription_identifier_from_client", 5,
         _pub(5, props={mqttraw.SUBSCRIPTION_IDENTIFIER: 3}), EITHER),
        ("publish_property_length_beyond_packet", 5,
         lambda: packet(mqttraw.PUBLISH, 0, mqttraw.encode_string("t") + b"\x20\x01\x00"),
         MALFORMED),
        ("publish_payload_format_indicator_2", 5,
         _pub(5, props={mqttraw.PAYLOAD_FORMAT_INDICATOR: 2}), EITHER),
        ("subscribe_retain_handling_3", 5,
         lambda: mqttraw.subscribe(1, [(uniq("f"), 0x30)], 5), EITHER),
        ("subscribe_subscription_identifier_0", 5,
         lambda: mqttraw.subscribe(1, [(uniq("f"), 0)], 5,
                                   props={mqttraw.SUBSCRIPTION_IDENTIFIER: 0}), EITHER),
        ("subscribe_two_subscription_identifiers", 5,
         lambda: mqttraw.subscribe(1, [(uniq("f"), 0)], 5,
                                   props=[(mqttraw.SUBSCRIPTION_IDENTIFIER, 1),
                                          (mqttraw.SUBSCRIPTION_IDENTIFIER, 2)]), EITHER),
        ("user_property_invalid_utf8", 5,
         _pub(5, props=[(mqttraw.USER_PROPERTY, (b"k\xff", b"v"))]), MALFORMED),
        ("disconnect_invalid_reason_code", 5,
         lambda: packet(DISCONNECT, 0, b"\x03\x00"), EITHER),
        ("connect_receive_maximum_0", 5,
         lambda: mqttraw.connect(uniq(), 5, props={mqttraw.RECEIVE_MAXIMUM: 0}), (), False,
         EITHER),
        ("connect_maximum_packet_size_0", 5,
         lambda: mqttraw.connect(uniq(), 5, props={mqttraw.MAXIMUM_PACKET_SIZE: 0}), (), False,
         EITHER),
        ("connect_duplicate_property", 5,
         lambda: mqttraw.connect(uniq(), 5, props=[(mqttraw.SESSION_EXPIRY_INTERVAL, 1),
                                                   (mqttraw.SESSION_EXPIRY_INTERVAL, 1)]),
         (), False, EITHER),
        ("connect_request_problem_information_2", 5,
         lambda: mqttraw.connect(uniq(), 5, props={mqttraw.REQUEST_PROBLEM_INFORMATION: 2}),
         (), False, EITHER),
        ("connect_topic_alias_property", 5,
         lambda: mqttraw.connect(uniq(), 5, props={mqttraw.TOPIC_ALIAS: 1}), (), False,
         EITHER),
    ]
    for case in cases:
        name, version, make, reasons = case[:4]
        connect_first = case[4] if len(case) > 4 else True
        connack = case[5] if len(case) > 5 else None
        if not connect_first and connack is None:
            connack = ()
        mname = "test_%s_v%d" % (name, {3: 31, 4: 311, 5: 5}[version])
        assert not hasattr(BadInputTest, mname), mname
        setattr(BadInputTest, mname,
                bad_test(version, make, v5only(version, reasons) if connect_first else (),
                         connect_first, connack))


_add_cases()


class HugePacketTest(WitnessMixin, BrokerTestCase):
    """No max_packet_size: the protocol maximum (256 MB) applies.  A client
    that announces a huge packet and never sends it must not make the
    broker allocate the whole announced size."""
    BROKER_SCOPE = "class"

    def test_announced_huge_packet_does_not_allocate_it(self):
        rss0 = self.broker.rss_kb()
        clients = []
        for _ in range(4):
            c = self.client(4)
            c.connect(uniq("huge"))
            # 256 MB - 1 announced, 64 KB sent.
            c.send(b"\x30" + mqttraw.encode_varint(268435455) + mqttraw.encode_string("t")
                   + b"\x00" * 65536)
            clients.append(c)
        self.assert_others_unharmed()
        grown = self.broker.rss_kb() - rss0
        self.assertLess(grown, 64 * 1024, "RSS grew by %d KiB" % grown)
        for c in clients:
            c.abort()
        self.assert_others_unharmed()

    def test_large_valid_publish_reassembled(self):
        topic = uniq("big")
        sub = self.connected(version=5)
        sub.subscribe(topic, 1)
        pub = self.connected(version=5)
        payload = os.urandom(4 * 1024 * 1024)
        data = mqttraw.publish(topic, payload, 1, pid=9, version=5)
        for i in range(0, len(data), 65536):
            pub.send(data[i:i + 65536])
        ack = pub.expect(mqttraw.PUBACK, timeout=20)
        self.assertEqual(ack.pid, 9)
        self.assertEqual(sub.expect_publish(timeout=20).payload, payload)
        self.assert_others_unharmed()

    def test_slow_sender_does_not_block_others(self):
        slow = self.client(4)
        slow.connect(uniq("slow"))
        data = mqttraw.publish(uniq("s"), b"z" * 100, 0)
        for i in range(10):
            slow.send(data[i:i + 1])
            self.assert_others_unharmed() if i % 5 == 0 else None
        slow.send(data[10:])
        slow.ping()
        self.assert_others_unharmed()


if __name__ == "__main__":
    unittest.main()
