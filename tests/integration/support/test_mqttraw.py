"""Self-tests of mqttraw, the hand-written packet helper (no broker needed):
byte vectors from the specifications, builder/parser round trips, the
parser's strictness, and RawClient's timeouts against a scripted fake
server on 127.0.0.1.

    /usr/bin/python3 -m unittest -v tests/integration/support/test_mqttraw.py
"""

import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqttraw  # noqa: E402
from mqttraw import MalformedError, parse_packet  # noqa: E402


class VarintTest(unittest.TestCase):
    # MQTT 3.1.1 table 2.4 / 5.0 table 1-1 boundaries.
    VECTORS = [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16383, b"\xff\x7f"),
               (16384, b"\x80\x80\x01"), (2097151, b"\xff\xff\x7f"),
               (2097152, b"\x80\x80\x80\x01"), (268435455, b"\xff\xff\xff\x7f")]

    def test_encode_and_decode_boundaries(self):
        for value, raw in self.VECTORS:
            self.assertEqual(mqttraw.encode_varint(value), raw)
            self.assertEqual(mqttraw.decode_varint(raw + b"tail", 0), (value, len(raw)))

    def test_out_of_range(self):
        self.assertRaises(ValueError, mqttraw.encode_varint, 268435456)
        self.assertRaises(ValueError, mqttraw.encode_varint, -1)
        self.assertRaises(MalformedError, mqttraw.decode_varint, b"\xff\xff\xff\xff\x01", 0)


class BuilderTest(unittest.TestCase):
    def test_strings(self):
        self.assertEqual(mqttraw.encode_string("A\U0002A6D4"), b"\x00\x05A\xf0\xaa\x9b\x94")
        self.assertEqual(mqttraw.encode_string(b"\xff"), b"\x00\x01\xff")

    def test_v311_connect_bytes(self):
        raw = mqttraw.connect("cid", 4, clean=True, keepalive=10)
        self.assertEqual(raw, b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x0a\x00\x03cid")

    def test_v31_connect_bytes(self):
        raw = mqttraw.connect("c", 3, clean=True, keepalive=60)
        self.assertEqual(raw, b"\x10\x0f\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x01c")

    def test_fixed_bytes(self):
        self.assertEqual(mqttraw.pingreq(), b"\xc0\x00")
        self.assertEqual(mqttraw.disconnect(4), b"\xe0\x00")
        self.assertEqual(mqttraw.disconnect(5, 4), b"\xe0\x01\x04")
        self.assertEqual(mqttraw.pubrel(0x1234), b"\x62\x02\x12\x34")
        self.assertEqual(mqttraw.puback(1, 5, 0x10), b"\x40\x03\x00\x01\x10")
        self.assertEqual(mqttraw.subscribe(10, [("a/b", 1)]), b"\x82\x08\x00\x0a\x00\x03a/b\x01")
        self.assertEqual(mqttraw.publish("t", b"p", 1, pid=2, retain=True),
                         b"\x33\x06\x00\x01t\x00\x02p")
        self.assertEqual(mqttraw.publish("t", b"", 0, version=5), b"\x30\x04\x00\x01t\x00")

    def test_sub_options(self):
        self.assertEqual(mqttraw.sub_options(2, True, True, 2), 0x2E)

    def test_connect_round_trip_with_will_and_properties(self):
        will = {"topic": "w/t", "payload": b"\x00bye", "qos": 2, "retain": True,
                "props": {mqttraw.WILL_DELAY_INTERVAL: 5,
                          mqttraw.USER_PROPERTY: [("a", "1"), ("a", "2")]}}
        raw = mqttraw.connect("id-\u00e9", 5, clean=False, keepalive=300,
                              props={mqttraw.SESSION_EXPIRY_INTERVAL: 0xFFFFFFFF,
                                     mqttraw.RECEIVE_MAXIMUM: 7},
                              will=will, username="u", password=b"\x01\x02")
        p = parse_packet(raw, 5, from_client=True)
        self.assertEqual((p.protocol_name, p.version, p.clean, p.keepalive, p.client_id),
                         ("MQTT", 5, False, 300, "id-\u00e9"))
        self.assertEqual(p.props, {mqttraw.SESSION_EXPIRY_INTERVAL: 0xFFFFFFFF,
                                   mqttraw.RECEIVE_MAXIMUM: 7})
        self.assertEqual((p.will["topic"], p.will["payload"], p.will["qos"], p.will["retain"]),
                         ("w/t", b"\x00bye", 2, True))
        self.assertEqual(p.will["props"][mqttraw.WILL_DELAY_INTERVAL], 5)
        self.assertEqual(p.will["props"].user(), [("a", "1"), ("a", "2")])
        self.assertEqual((p.username, p.password), ("u", b"\x01\x02"))

    def test_publish_round_trip_every_publish_property(self):
        props = [(mqttraw.PAYLOAD_FORMAT_INDICATOR, 1), (mqttraw.MESSAGE_EXPIRY_INTERVAL, 9),
                 (mqttraw.TOPIC_ALIAS, 3), (mqttraw.RESPONSE_TOPIC, "r"),
                 (mqttraw.CORRELATION_DATA, b"\x00"), (mqttraw.USER_PROPERTY, ("k", "v")),
                 (mqttraw.SUBSCRIPTION_IDENTIFIER, 268435455),
                 (mqttraw.SUBSCRIPTION_IDENTIFIER, 1), (mqttraw.CONTENT_TYPE, "c")]
        raw = mqttraw.publish("a/b", b"payload", 2, dup=True, pid=65535, props=props, version=5)
        p = parse_packet(raw, 5)
        self.assertEqual((p.topic, p.payload, p.qos, p.dup, p.retain, p.pid),
                         ("a/b", b"payload", 2, True, False, 65535))
        self.assertEqual(p.props.order, props)
        self.assertEqual(p.props[mqttraw.SUBSCRIPTION_IDENTIFIER], [268435455, 1])

    def test_subscribe_and_unsubscribe_round_trip(self):
        raw = mqttraw.subscribe(5, [("a/+", 0x2E), ("#", 0)], 5,
                                props={mqttraw.SUBSCRIPTION_IDENTIFIER: 12})
        p = parse_packet(raw, 5, from_client=True)
        self.assertEqual((p.pid, p.filters, p.props[mqttraw.SUBSCRIPTION_IDENTIFIER]),
                         (5, [("a/+", 0x2E), ("#", 0)], [12]))
        p = parse_packet(mqttraw.unsubscribe(6, ["x", "y/#"], 4), 4, from_client=True)
        self.assertEqual((p.pid, p.filters), (6, ["x", "y/#"]))

    def test_acks_and_auth_round_trip(self):
        for build, ptype in ((mqttraw.puback, mqttraw.PUBACK), (mqttraw.pubrec, mqttraw.PUBREC),
                             (mqttraw.pubrel, mqttraw.PUBREL), (mqttraw.pubcomp, mqttraw.PUBCOMP)):
            p = parse_packet(build(300, 5, 0x92, {mqttraw.REASON_STRING: "why"}), 5)
            self.assertEqual((p.type, p.pid, p.reason, p.props[mqttraw.REASON_STRING]),
                             (ptype, 300, 0x92, "why"))
            p = parse_packet(build(300, 4), 4)
            self.assertEqual((p.type, p.pid, p.reason), (ptype, 300, 0))
        p = parse_packet(mqttraw.auth(0x18, {mqttraw.AUTHENTICATION_METHOD: "m",
                                             mqttraw.AUTHENTICATION_DATA: b"d"}), 5)
        self.assertEqual((p.reason, p.props[mqttraw.AUTHENTICATION_DATA]), (0x18, b"d"))


class ParserTest(unittest.TestCase):
    def test_server_packets(self):
        p = parse_packet(b"\x20\x02\x01\x00", 4)
        self.assertEqual((p.session_present, p.rc), (True, 0))
        p = parse_packet(b"\x20\x09\x00\x00\x06\x22\x00\x0a\x21\x00\x14", 5)
        self.assertEqual(p.props, {mqttraw.TOPIC_ALIAS_MAXIMUM: 10, mqttraw.RECEIVE_MAXIMUM: 20})
        p = parse_packet(b"\x90\x05\x00\x07\x00\x01\x80", 4)
        self.assertEqual((p.pid, p.codes), (7, [0, 1, 0x80]))
        p = parse_packet(b"\xb0\x05\x00\x07\x00\x00\x11", 5)
        self.assertEqual((p.pid, p.codes), (7, [0, 0x11]))
        self.assertEqual(parse_packet(b"\xb0\x02\x00\x07", 4).codes, [])
        self.assertEqual(parse_packet(b"\xe0\x00", 5).reason, 0)
        self.assertEqual(parse_packet(b"\xe0\x01\x8e", 5).reason, 0x8E)
        self.assertEqual(parse_packet(b"\xd0\x00", 4).type, mqttraw.PINGRESP)

    def test_rejects_bad_server_packets(self):
        bad = [
            (b"\x20\x02\x02\x00", 4),                    # CONNACK reserved flag
            (b"\x36\x05\x00\x01t\x00\x01", 4),           # QoS 3
            (b"\x38\x03\x00\x01t", 4),                   # DUP on QoS 0
            (b"\x32\x05\x00\x01t\x00\x00", 4),           # packet id 0
            (b"\x30\x04\x00\x02\xc3\x28", 4),            # invalid UTF-8 topic
            (b"\x30\x03\x00\x01\x00", 4),                # U+0000 in topic
            (b"\x60\x02\x00\x01", 4),                    # PUBREL flags 0
            (b"\x90\x02\x00\x01", 4),                    # SUBACK without codes
            (b"\x10\x00", 4),                            # CONNECT from the server
            (b"\x40\x03\x00\x01", 4),                    # length mismatch
            (b"\xe0\x01\x00", 4),                        # 3.1.1 DISCONNECT with body
            (b"\x30\x07\x00\x01t\x04\x01\x01\x01\x01", 5),   # PFI twice
            (b"\x30\x06\x00\x01t\x02\x7f\x00", 5),       # unknown property
            (b"\x30\x05\x00\x01t\x05\x01", 5),           # property length overrun
        ]
        for raw, version in bad:
            with self.subTest(raw=raw):
                self.assertRaises(MalformedError, parse_packet, raw, version)

    def test_split_packet(self):
        whole = mqttraw.publish("t", b"x" * 200, 0)
        for cut in (0, 1, 2, 3, len(whole) - 1):
            self.assertIsNone(mqttraw.split_packet(bytearray(whole[:cut])))
        self.assertEqual(mqttraw.split_packet(bytearray(whole + b"\xc0")), len(whole))


class FakeServer:
    """Accepts one connection on 127.0.0.1 and runs script(conn)."""

    def __init__(self, script):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script):
        conn, _ = self.listener.accept()
        with conn:
            script(conn)
        self.listener.close()


class RawClientTest(unittest.TestCase):
    def test_connect_publish_and_close(self):
        def script(conn):
            conn.recv(1024)                                  # CONNECT
            conn.sendall(b"\x20\x02\x00\x00")
            conn.sendall(b"\x32\x06\x00\x01t\x00\x09p")      # QoS 1 PUBLISH, id 9
            data = b""
            while len(data) < 4:
                data += conn.recv(1024)
            assert data == b"\x40\x02\x00\x09", data        # auto PUBACK
            conn.sendall(b"\xe0")                            # half a packet, then close
        srv = FakeServer(script)
        c = mqttraw.RawClient(srv.port, 4, timeout=2)
        self.assertEqual(c.connect("x").rc, 0)
        m = c.expect_publish()
        self.assertEqual((m.topic, m.payload, m.pid), ("t", b"p", 9))
        self.assertEqual(c.expect_closed(), [])
        srv.thread.join(2)
        c.close()

    def test_timeouts(self):
        done = threading.Event()

        def script(conn):
            done.wait(5)
        srv = FakeServer(script)
        c = mqttraw.RawClient(srv.port, 4, timeout=2)
        t0 = time.monotonic()
        self.assertRaises(TimeoutError, c.recv_packet, 0.3)
        self.assertRaises(AssertionError, c.expect_closed, 0.3)
        c.assert_nothing(0.2)
        self.assertLess(time.monotonic() - t0, 2)
        done.set()
        srv.thread.join(2)
        c.close()


if __name__ == "__main__":
    unittest.main()
