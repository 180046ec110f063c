"""01 connect: CONNECT / CONNACK for MQTT 3.1, 3.1.1 and 5.0.

MQTT 3.1.1 section 3.1/3.2 and MQTT 5.0 section 3.1/3.2: return codes,
client identifiers (empty, assigned, taken over), unsupported protocol
levels and a second CONNECT on one connection.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import CONNACK, DISCONNECT, SUBACK  # noqa: E402


class ConnectTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def test_v311_connack_is_exactly_success(self):
        c = self.client(4)
        c.send(mqttraw.connect(uniq(), 4))
        ack = c.expect(CONNACK)
        self.assertEqual(ack.raw, b"\x20\x02\x00\x00")

    def test_v31_mqisdp_is_accepted(self):
        c = self.client(3)
        c.send(mqttraw.connect(uniq(), 3))
        ack = c.expect(CONNACK)
        self.assertEqual(ack.raw, b"\x20\x02\x00\x00")

    def test_v5_connack_success_without_session(self):
        c = self.client(5)
        ack = c.connect(uniq(), clean=True)
        self.assertEqual(ack.rc, 0)
        self.assertFalse(ack.session_present)
        # A server that sends these must send legal values.
        if mqttraw.MAXIMUM_QOS in ack.props:
            self.assertIn(ack.props[mqttraw.MAXIMUM_QOS], (0, 1))
        if mqttraw.RECEIVE_MAXIMUM in ack.props:
            self.assertGreater(ack.props[mqttraw.RECEIVE_MAXIMUM], 0)
        self.assertNotIn(mqttraw.ASSIGNED_CLIENT_IDENTIFIER, ack.props)

    def test_username_and_password_accepted_when_anonymous_allowed(self):
        c = self.client(4)
        c.send(mqttraw.connect(uniq(), 4, username="user", password=b"secret"))
        self.assertEqual(c.expect(CONNACK).raw, b"\x20\x02\x00\x00")

    def test_long_client_id_accepted(self):
        # 3.1.1 [MQTT-3.1.3-5] only guarantees 23 characters, but servers
        # MAY accept more; every modern broker does, and so must we.
        c = self.client(4)
        c.connect("x" * 200 + uniq())
        c.ping()

    def test_utf8_client_id_accepted(self):
        c = self.client(5)
        c.connect("h\u00e9llo-\u4e16\u754c-" + uniq())
        c.ping()

    def test_v5_empty_client_id_gets_assigned_identifier(self):
        a = self.client(5)
        ack_a = a.connect("", clean=True)
        b = self.client(5)
        ack_b = b.connect("", clean=True)
        id_a = ack_a.props.get(mqttraw.ASSIGNED_CLIENT_IDENTIFIER)
        id_b = ack_b.props.get(mqttraw.ASSIGNED_CLIENT_IDENTIFIER)
        self.assertTrue(id_a, "no Assigned Client Identifier: %r" % ack_a)
        self.assertTrue(id_b, "no Assigned Client Identifier: %r" % ack_b)
        self.assertNotEqual(id_a, id_b)
        # Both connections stay usable: neither took the other over.
        a.ping()
        b.ping()

    def test_v311_empty_client_id_with_clean_session_accepted(self):
        a = self.client(4)
        a.send(mqttraw.connect("", 4, clean=True))
        self.assertEqual(a.expect(CONNACK).raw, b"\x20\x02\x00\x00")
        b = self.client(4)
        b.send(mqttraw.connect("", 4, clean=True))
        self.assertEqual(b.expect(CONNACK).raw, b"\x20\x02\x00\x00")
        a.ping()
        b.ping()

    def test_v311_empty_client_id_without_clean_session_rejected(self):
        # [MQTT-3.1.3-8]: CONNACK return code 0x02 (identifier rejected),
        # then close.
        c = self.client(4)
        c.send(mqttraw.connect("", 4, clean=False))
        got = c.expect_closed()
        self.assertEqual([p.raw for p in got], [b"\x20\x02\x00\x02"])

    def test_v311_takeover_closes_first_connection(self):
        cid = uniq("dup")
        first = self.client(4)
        first.connect(cid)
        second = self.client(4)
        ack = second.connect(cid)
        self.assertEqual(ack.raw, b"\x20\x02\x00\x00")
        # 3.1.1 servers never send DISCONNECT: the old connection is just
        # closed [MQTT-3.1.4-2].
        self.assertEqual(first.expect_closed(), [])
        # The new connection is fully working.
        topic = uniq("to")
        self.assertEqual(second.subscribe(topic, 1).codes, [1])
        second.publish(topic, b"mine", 1)
        m = second.expect_publish()
        self.assertEqual((m.topic, m.payload), (topic, b"mine"))

    def test_v5_takeover_sends_disconnect_session_taken_over(self):
        cid = uniq("dup5")
        first = self.client(5)
        first.connect(cid)
        second = self.client(5)
        ack = second.connect(cid)
        self.assertEqual(ack.rc, 0)
        got = first.expect_closed()
        self.assertEqual([(p.type, p.reason) for p in got],
                         [(DISCONNECT, mqttraw.RC_SESSION_TAKEN_OVER)])
        second.ping()

    def test_takeover_across_protocol_versions(self):
        cid = uniq("mixed")
        first = self.client(4)
        first.connect(cid)
        second = self.client(5)
        self.assertEqual(second.connect(cid).rc, 0)
        self.assertEqual(first.expect_closed(), [])
        second.ping()

    def test_unsupported_protocol_level_refused(self):
        # 3.1.1 [MQTT-3.1.2-2]: CONNACK 0x01 then close.  5.0 3.1.2.2: the
        # server MAY answer CONNACK 0x84 (Unsupported Protocol Version).
        # Either answer, in its own version's layout, then a close.
        allowed = (b"\x20\x02\x00\x01", b"\x20\x03\x00\x84\x00")
        for level in (0, 1, 2, 6, 7, 255):
            with self.subTest(level=level):
                c = self.client(4)
                c.send(mqttraw.connect(uniq(), version=level, protocol_name="MQTT"))
                got = c.expect_closed()
                self.assertEqual(len(got), 1, got)
                self.assertIn(got[0].raw, allowed)

    def test_unknown_protocol_name_closed(self):
        # 3.1.1 [MQTT-3.1.2-1]: the server MAY disconnect; it must not
        # accept.  5.0: MAY send CONNACK 0x84, MUST close.
        for name, level in (("MQTX", 4), ("mqtt", 4), ("MQTT", 3), ("MQIsdp", 4)):
            with self.subTest(name=name, level=level):
                c = self.client(4)
                c.send(mqttraw.connect(uniq(), version=level, protocol_name=name))
                got = c.expect_closed()
                self.assertLessEqual(len(got), 1, got)
                for p in got:
                    self.assertEqual(p.type, CONNACK)
                    self.assertNotEqual(p.raw[3], 0, got)

    def test_v311_second_connect_is_a_protocol_violation(self):
        # [MQTT-3.1.0-2]: a second CONNECT is a protocol violation; the
        # server disconnects (and a 3.1.1 server sends nothing).
        c = self.client(4)
        c.connect(uniq())
        c.send(mqttraw.connect(uniq(), 4))
        self.assertEqual(c.expect_closed(), [])

    def test_v5_second_connect_is_a_protocol_error(self):
        # 5.0 [MQTT-3.1.0-2]: Protocol Error; DISCONNECT 0x82 is optional.
        c = self.client(5)
        c.connect(uniq())
        c.send(mqttraw.connect(uniq(), 5))
        got = c.expect_closed()
        self.assertIn([(p.type, p.reason) for p in got],
                      ([], [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)]))

    def test_packets_pipelined_after_connect_are_processed(self):
        # A client may send packets before it sees the CONNACK.
        c = self.client(4)
        topic = uniq("pipe")
        c.send(mqttraw.connect(uniq(), 4)
               + mqttraw.subscribe(7, [(topic, 1)])
               + mqttraw.publish(topic, b"early", 0))
        self.assertEqual(c.expect(CONNACK).rc, 0)
        ack = c.expect(SUBACK)
        self.assertEqual((ack.pid, ack.codes), (7, [1]))
        m = c.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos), (topic, b"early", 0))

    def test_byte_at_a_time_connect(self):
        # The broker must reassemble packets split at any byte.
        c = self.client(5)
        data = mqttraw.connect(uniq(), 5, props={mqttraw.SESSION_EXPIRY_INTERVAL: 0})
        for i in range(len(data)):
            c.send(data[i:i + 1])
        self.assertEqual(c.expect(CONNACK).rc, 0)
        c.ping()

    def test_clean_disconnect_then_reconnect_same_id(self):
        cid = uniq()
        for version in (4, 5, 4):
            c = self.client(version)
            self.assertEqual(c.connect(cid).rc, 0)
            c.disconnect()


if __name__ == "__main__":
    unittest.main()
