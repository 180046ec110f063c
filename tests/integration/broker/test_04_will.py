"""04 will: Will Messages.

MQTT 3.1.1 3.1.2.5 and MQTT 5.0 3.1.2.5 / 3.1.3.2: the will is published
when the network connection closes without DISCONNECT, and not after a
normal DISCONNECT; MQTT 5 DISCONNECT 0x04 publishes it; Will Delay
Interval; will QoS, retain and properties.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402


class WillTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def watcher(self, topic, qos=2, version=4):
        w = self.connected(version=version)
        w.subscribe(topic, qos)
        return w

    def will_client(self, topic, version=4, qos=0, retain=False, payload=b"gone",
                    props=None, will_props=None, client_id=None, clean=True,
                    keepalive=60):
        c = self.client(version)
        will = {"topic": topic, "payload": payload, "qos": qos, "retain": retain,
                "props": will_props}
        c.connect(client_id or uniq("w"), clean, keepalive, props, will)
        return c

    def assert_no_will(self, watcher, topic, version=4):
        """The will did not come: a marker published afterwards on the same
        topic arrives first, and nothing else for a short while."""
        pub = self.connected(version=version)
        pub.publish(topic, b"marker", 1)
        got = [m.payload for m in watcher.collect(0.5, limit=2)]
        self.assertEqual(got, [b"marker"])

    def test_will_sent_on_abrupt_close(self):
        for version in (3, 4, 5):
            with self.subTest(version=version):
                topic = uniq("will")
                w = self.watcher(topic, 2, version)
                c = self.will_client(topic, version, qos=1, payload=b"bye")
                c.close()
                m = w.expect_publish()
                self.assertEqual((m.topic, m.payload, m.qos, m.retain), (topic, b"bye", 1, False))

    def test_will_sent_on_tcp_reset(self):
        topic = uniq("rst")
        w = self.watcher(topic)
        c = self.will_client(topic, 4, qos=2)
        c.abort()
        m = w.expect_publish()
        self.assertEqual((m.payload, m.qos), (b"gone", 2))

    def test_will_qos_levels(self):
        for qos in (0, 1, 2):
            with self.subTest(qos=qos):
                topic = uniq("wq")
                w = self.watcher(topic, 2)
                self.will_client(topic, 4, qos=qos).close()
                self.assertEqual(w.expect_publish().qos, qos)

    def test_no_will_after_disconnect(self):
        for version in (4, 5):
            with self.subTest(version=version):
                topic = uniq("nowill")
                w = self.watcher(topic, 1, version)
                c = self.will_client(topic, version, qos=1)
                c.disconnect()
                self.assert_no_will(w, topic, version)

    def test_no_will_after_v5_disconnect_normal_with_reason_byte(self):
        topic = uniq("nowill0")
        w = self.watcher(topic, 1, 5)
        c = self.will_client(topic, 5, qos=1)
        c.send(mqttraw.disconnect(5, 0x00, {mqttraw.REASON_STRING: "done"}))
        self.assertEqual(c.expect_closed(), [])
        self.assert_no_will(w, topic, 5)

    def test_v5_disconnect_with_will_message_sends_will(self):
        topic = uniq("w04")
        w = self.watcher(topic, 1, 5)
        c = self.will_client(topic, 5, qos=1, payload=b"asked")
        c.send(mqttraw.disconnect(5, mqttraw.RC_DISCONNECT_WITH_WILL))
        self.assertEqual(c.expect_closed(), [])
        m = w.expect_publish()
        self.assertEqual((m.topic, m.payload), (topic, b"asked"))

    def test_will_sent_when_broker_closes_for_malformed_packet(self):
        # 3.1.2.5: "the Server closes the Network Connection because of a
        # protocol error" publishes the will.  Here: PUBLISH with QoS 3.
        for version in (4, 5):
            with self.subTest(version=version):
                topic = uniq("wmp")
                w = self.watcher(topic, 1, version)
                c = self.will_client(topic, version, qos=1)
                c.send(mqttraw.publish(uniq("x"), b"", 0, flags=0x06, version=version))
                c.expect_closed()
                self.assertEqual(w.expect_publish().payload, b"gone")

    def test_will_sent_when_broker_closes_for_second_connect(self):
        # The same rule for another protocol violation: a second CONNECT.
        topic = uniq("wpe")
        w = self.watcher(topic)
        c = self.will_client(topic, 4, qos=1)
        c.send(mqttraw.connect(uniq(), 4))
        c.expect_closed()
        self.assertEqual(w.expect_publish().payload, b"gone")

    def test_will_sent_on_takeover(self):
        # The old connection ends without DISCONNECT, so its will goes out.
        topic = uniq("wto")
        w = self.watcher(topic)
        cid = uniq("cid")
        self.will_client(topic, 4, qos=1, client_id=cid, payload=b"old")
        new = self.client(4)
        new.connect(cid)
        m = w.expect_publish()
        self.assertEqual(m.payload, b"old")

    def test_will_retain(self):
        for version in (4, 5):
            with self.subTest(version=version):
                topic = uniq("wr")
                self.will_client(topic, version, qos=1, retain=True, payload=b"last").close()
                # Published as retained: a later subscriber receives it
                # (polling, since we cannot observe the broker's store).
                deadline = time.monotonic() + 5
                while True:
                    sub = self.connected(version=version)
                    sub.subscribe(topic, 1)
                    got = sub.collect(0.2, limit=1)
                    sub.disconnect()
                    if got or time.monotonic() > deadline:
                        break
                self.assertEqual([(m.payload, m.retain) for m in got], [(b"last", True)])

    def test_v5_will_properties_passed_through(self):
        topic = uniq("wp")
        w = self.watcher(topic, 1, 5)
        wp = {mqttraw.CONTENT_TYPE: "application/json",
              mqttraw.RESPONSE_TOPIC: topic + "/resp",
              mqttraw.CORRELATION_DATA: b"\x00\x01corr",
              mqttraw.PAYLOAD_FORMAT_INDICATOR: 1,
              mqttraw.USER_PROPERTY: [("a", "1"), ("b", "2"), ("a", "3")]}
        self.will_client(topic, 5, qos=1, payload=b"{}", will_props=wp).close()
        m = w.expect_publish()
        self.assertEqual(m.payload, b"{}")
        for key in (mqttraw.CONTENT_TYPE, mqttraw.RESPONSE_TOPIC, mqttraw.CORRELATION_DATA,
                    mqttraw.PAYLOAD_FORMAT_INDICATOR):
            self.assertEqual(m.props.get(key), wp[key], hex(key))
        self.assertEqual(m.props.user(), [("a", "1"), ("b", "2"), ("a", "3")])

    def test_v5_will_delay_interval(self):
        # 3.1.3.2.2: with a session that outlives the connection, the will
        # goes out only after the Will Delay Interval.
        topic = uniq("wd")
        w = self.watcher(topic, 1, 5)
        c = self.will_client(topic, 5, qos=1, payload=b"late",
                             props={mqttraw.SESSION_EXPIRY_INTERVAL: 60},
                             will_props={mqttraw.WILL_DELAY_INTERVAL: 2})
        t0 = time.monotonic()
        c.close()
        m = w.expect_publish(timeout=6)
        elapsed = time.monotonic() - t0
        self.assertEqual(m.payload, b"late")
        self.assertGreaterEqual(elapsed, 1.5, "will sent after %.2f s, delay is 2 s" % elapsed)
        self.assertLess(elapsed, 4.5)

    def test_v5_reconnect_within_will_delay_cancels_will(self):
        topic = uniq("wdc")
        w = self.watcher(topic, 1, 5)
        cid = uniq("wdc")
        c = self.will_client(topic, 5, qos=1, client_id=cid, clean=False,
                             props={mqttraw.SESSION_EXPIRY_INTERVAL: 60},
                             will_props={mqttraw.WILL_DELAY_INTERVAL: 2})
        c.close()
        again = self.client(5)
        ack = again.connect(cid, clean=False, props={mqttraw.SESSION_EXPIRY_INTERVAL: 60})
        self.assertTrue(ack.session_present)
        # Past the delay: still nothing but the marker.
        w.assert_nothing(2.5)
        self.assert_no_will(w, topic, 5)
        again.disconnect(0, {mqttraw.SESSION_EXPIRY_INTERVAL: 0})

    def test_v5_will_delay_longer_than_session_expiry_sends_at_session_end(self):
        # The will goes out when the session ends, if that comes first:
        # Session Expiry 0 ends the session at once.
        topic = uniq("wds")
        w = self.watcher(topic, 1, 5)
        c = self.will_client(topic, 5, qos=1, payload=b"now",
                             will_props={mqttraw.WILL_DELAY_INTERVAL: 30})
        t0 = time.monotonic()
        c.close()
        m = w.expect_publish(timeout=5)
        self.assertEqual(m.payload, b"now")
        self.assertLess(time.monotonic() - t0, 3.0)

    def test_v5_will_message_expiry_passed_through(self):
        topic = uniq("wme")
        w = self.watcher(topic, 1, 5)
        self.will_client(topic, 5, qos=1,
                         will_props={mqttraw.MESSAGE_EXPIRY_INTERVAL: 100}).close()
        m = w.expect_publish()
        self.assertIn(mqttraw.MESSAGE_EXPIRY_INTERVAL, m.props)
        self.assertLessEqual(m.props[mqttraw.MESSAGE_EXPIRY_INTERVAL], 100)
        self.assertGreaterEqual(m.props[mqttraw.MESSAGE_EXPIRY_INTERVAL], 95)

    def test_will_to_wildcard_subscribers(self):
        base = uniq("ww")
        w = self.watcher(base + "/+/status", 1)
        self.will_client(base + "/dev1/status", 4, qos=1, payload=b"offline").close()
        m = w.expect_publish()
        self.assertEqual((m.topic, m.payload), (base + "/dev1/status", b"offline"))


if __name__ == "__main__":
    unittest.main()
