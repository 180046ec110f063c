"""06 keepalive: Keep Alive, PINGREQ / PINGRESP.

MQTT 3.1.1 3.1.2.10 [MQTT-3.1.2-24] and MQTT 5.0 3.1.2.10: the server
disconnects a client that sends nothing for one and a half times its Keep
Alive; any packet (PINGREQ or other) resets the timer; 0 turns it off; the
MQTT 5 Server Keep Alive overrides the client's value.

Timing: a disconnect is accepted between 1.5 x Keep Alive (minus 0.1 s of
clock slack) and 1.5 x Keep Alive + SLACK_LATE (2.5 s; environment variable
STARLING_KEEPALIVE_SLACK overrides it).  The specification sets no deadline
after the 1.5 x, but Starling times each connection and must be prompt.
Mosquitto 2.0.11 checks keep alives on a coarse cycle and is up to ~10 s
late: it passes these tests only with STARLING_KEEPALIVE_SLACK=12.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import DISCONNECT, PINGRESP  # noqa: E402

SLACK_EARLY = 0.1
SLACK_LATE = float(os.environ.get("STARLING_KEEPALIVE_SLACK", "2.5"))


class KeepAliveTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def assert_closed_between(self, c, t0, low, high):
        got = c.expect_closed(timeout=high - (time.monotonic() - t0) + 0.5)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, low - SLACK_EARLY,
                                "closed after %.2f s, expected >= %.2f s" % (elapsed, low))
        self.assertLessEqual(elapsed, high, "closed after %.2f s, expected <= %.2f s"
                             % (elapsed, high))
        return got

    def test_pingreq_gets_pingresp(self):
        for version in (3, 4, 5):
            with self.subTest(version=version):
                c = self.connected(version=version)
                c.send(mqttraw.pingreq())
                self.assertEqual(c.expect(PINGRESP).raw, b"\xd0\x00")

    def test_silent_client_disconnected_after_one_and_a_half_keepalive(self):
        # Both versions at once, to keep the test short.
        clients = {}
        for version in (4, 5):
            c = self.client(version)
            c.connect(uniq("ka"), keepalive=2)
            clients[version] = (c, time.monotonic())
        for version, (c, t0) in clients.items():
            with self.subTest(version=version):
                got = self.assert_closed_between(c, t0, 3.0, 3.0 + SLACK_LATE)
                if version == 4:
                    self.assertEqual(got, [])
                else:
                    # 4.13: DISCONNECT 0x8D (Keep Alive timeout) is optional.
                    self.assertIn([(p.type, p.reason) for p in got],
                                  ([], [(DISCONNECT, mqttraw.RC_KEEP_ALIVE_TIMEOUT)]))

    def test_pingreq_keeps_connection_alive(self):
        c = self.client(4)
        c.connect(uniq("kp"), keepalive=1)
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            c.ping(timeout=2)
            time.sleep(0.5)
        c.ping()

    def test_any_packet_resets_the_timer(self):
        c = self.client(4)
        c.connect(uniq("kany"), keepalive=1)
        topic = uniq("kat")
        c.subscribe(topic, 0)
        end = time.monotonic() + 3.0
        n = 0
        while time.monotonic() < end:
            c.publish(topic, b"%d" % n, 0)
            self.assertEqual(c.expect_publish().payload, b"%d" % n)
            n += 1
            time.sleep(0.5)
        c.ping()

    def test_keepalive_zero_means_no_timeout(self):
        c = self.client(4)
        c.connect(uniq("k0"), keepalive=0)
        # A 1 s keepalive client would be gone by now; this one must not.
        other = self.client(4)
        other.connect(uniq("k1"), keepalive=1)
        other.expect_closed(timeout=1.5 + SLACK_LATE + 0.5)
        c.ping()

    def test_will_published_on_keepalive_timeout(self):
        topic = uniq("kw")
        w = self.connected()
        w.subscribe(topic, 1)
        c = self.client(4)
        c.connect(uniq("kw"), keepalive=1,
                  will={"topic": topic, "payload": b"timeout", "qos": 1})
        t0 = time.monotonic()
        m = w.expect_publish(timeout=1.5 + SLACK_LATE + 1)
        self.assertEqual(m.payload, b"timeout")
        self.assertGreaterEqual(time.monotonic() - t0, 1.5 - SLACK_EARLY)
        c.expect_closed(timeout=1)

    def test_partial_packet_does_not_count_as_activity(self):
        # Keep alive is about control packets; trickling bytes of one
        # unfinished packet must not hold the connection open forever.
        c = self.client(4)
        c.connect(uniq("kpart"), keepalive=1)
        data = mqttraw.publish(uniq("kpt"), b"x" * 100, 0)
        t0 = time.monotonic()
        closed = False
        for i in range(len(data) - 1):
            try:
                c.send(data[i:i + 1])
            except OSError:
                closed = True
                break
            try:
                c.expect_closed(timeout=0.15)
                closed = True
                break
            except AssertionError:
                pass
            if time.monotonic() - t0 > 1.5 + SLACK_LATE:
                break
        if not closed:
            c.expect_closed(timeout=0.5)
        self.assertLessEqual(time.monotonic() - t0, 1.5 + SLACK_LATE + 0.6)


class ServerKeepAliveTest(BrokerTestCase):
    # Mosquitto refuses max_keepalive values under 10.
    BROKER_CONFIG = ["max_keepalive 10"]
    BROKER_SCOPE = "class"

    def test_v5_server_keep_alive_sent_and_enforced(self):
        # 3.2.2.3.14: when the server uses a value other than the client's,
        # it sends Server Keep Alive, and that value is the one in force.
        c = self.client(5)
        ack = c.connect(uniq("ska"), keepalive=60)
        self.assertEqual(ack.props.get(mqttraw.SERVER_KEEP_ALIVE), 10)
        t0 = time.monotonic()
        got = c.expect_closed(timeout=15.0 + SLACK_LATE + 0.5)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 15.0 - SLACK_EARLY)
        self.assertLessEqual(elapsed, 15.0 + SLACK_LATE)
        self.assertIn([(p.type, p.reason) for p in got],
                      ([], [(DISCONNECT, mqttraw.RC_KEEP_ALIVE_TIMEOUT)]))

    def test_v5_keepalive_within_limit_is_not_overridden(self):
        c = self.client(5)
        ack = c.connect(uniq("skb"), keepalive=5)
        self.assertIn(ack.props.get(mqttraw.SERVER_KEEP_ALIVE), (None, 5))
        c.ping()


if __name__ == "__main__":
    unittest.main()
