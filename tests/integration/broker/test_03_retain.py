"""03 retain: retained messages.

MQTT 3.1.1 3.3.1.3 and MQTT 5.0 3.3.1.3 / 3.8.3.1: store, replace, clear
with an empty payload, delivery on subscribe with the RETAIN flag, RETAIN 0
on live delivery, Retain Handling 0/1/2, Retain As Published, and
retain_available false.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import DISCONNECT  # noqa: E402


class RetainTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def retain(self, topic, payload, qos=1, version=4, props=None):
        """Publishes one retained message from a short-lived client."""
        pub = self.connected(version=version)
        pub.publish(topic, payload, qos, retain=True, props=props)
        pub.disconnect()

    def test_retained_message_delivered_on_subscribe_with_retain_flag(self):
        for version in (3, 4, 5):
            with self.subTest(version=version):
                topic = uniq("ret")
                self.retain(topic, b"kept", 1, version)
                sub = self.connected(version=version)
                ack = sub.subscribe(topic, 1)
                self.assertEqual(ack.codes, [1])
                m = sub.expect_publish()
                self.assertEqual((m.topic, m.payload, m.retain, m.qos), (topic, b"kept", True, 1))

    def test_live_delivery_of_retained_publish_has_retain_0(self):
        # [MQTT-3.3.1-9] (3.1.1) and Retain As Published = 0 (5.0).
        for version in (4, 5):
            with self.subTest(version=version):
                topic = uniq("live")
                sub = self.connected(version=version)
                sub.subscribe(topic, 1)
                pub = self.connected(version=version)
                pub.publish(topic, b"now", 1, retain=True)
                m = sub.expect_publish()
                self.assertEqual((m.payload, m.retain), (b"now", False))
                # ... and it was stored: a new subscriber gets it, flagged.
                late = self.connected(version=version)
                late.subscribe(topic, 1)
                m = late.expect_publish()
                self.assertEqual((m.payload, m.retain), (b"now", True))

    def test_new_retained_message_replaces_old(self):
        topic = uniq("rep")
        self.retain(topic, b"first")
        self.retain(topic, b"second")
        sub = self.connected()
        sub.subscribe(topic, 1)
        got = [(m.payload, m.retain) for m in sub.collect(0.4, limit=2)]
        self.assertEqual(got, [(b"second", True)])

    def test_empty_payload_clears_retained_message(self):
        # [MQTT-3.3.1-10/11]: a zero-byte retained message removes the
        # stored one and is itself not stored; it is still forwarded to
        # current subscribers like any message.
        base = uniq("clr")
        topic = base + "/t"
        self.retain(topic, b"doomed")
        current = self.connected()
        current.subscribe(topic, 1)
        self.assertEqual(current.expect_publish().payload, b"doomed")
        self.retain(topic, b"")
        m = current.expect_publish()
        self.assertEqual((m.payload, m.retain), (b"", False))
        # A marker retained next to it bounds the wait: a fresh
        # subscriber to base/# sees only the marker.
        self.retain(base + "/marker", b"m")
        sub = self.connected()
        sub.subscribe(base + "/#", 1)
        got = [(m.topic, m.payload) for m in sub.collect(0.5, limit=2)]
        self.assertEqual(got, [(base + "/marker", b"m")])

    def test_qos0_retained_message_is_stored(self):
        topic = uniq("r0")
        self.retain(topic, b"zero", 0)
        sub = self.connected()
        sub.subscribe(topic, 2)
        m = sub.expect_publish()
        self.assertEqual((m.payload, m.retain, m.qos), (b"zero", True, 0))

    def test_retained_qos_is_min_of_stored_and_subscription(self):
        for stored in (0, 1, 2):
            for granted in (0, 1, 2):
                with self.subTest(stored=stored, granted=granted):
                    topic = uniq("rq")
                    self.retain(topic, b"q", stored)
                    sub = self.connected()
                    sub.subscribe(topic, granted)
                    m = sub.expect_publish()
                    self.assertEqual((m.qos, m.retain), (min(stored, granted), True))
                    sub.disconnect()

    def test_wildcard_subscription_gets_every_matching_retained_message(self):
        base = uniq("rw")
        topics = [base + "/a", base + "/b/c", base + "/b/d", base]
        for t in topics:
            self.retain(t, t.encode())
        self.retain(uniq("other"), b"no")
        sub = self.connected()
        sub.subscribe(base + "/#", 1)
        got = sub.collect(0.5, limit=len(topics) + 1)
        self.assertEqual(sorted((m.topic, m.payload) for m in got),
                         sorted((t, t.encode()) for t in topics))
        self.assertTrue(all(m.retain for m in got))
        plus = self.connected()
        plus.subscribe(base + "/b/+", 0)
        got = plus.collect(0.5, limit=3)
        self.assertEqual(sorted(m.topic for m in got), [base + "/b/c", base + "/b/d"])

    def test_retained_dollar_topic_not_sent_to_hash(self):
        b = uniq("rd")
        self.retain("$" + b + "/x", b"dollar")
        self.retain(b + "/x", b"plain")
        sub = self.connected()
        sub.subscribe([("#", 0)])
        # Other tests of this class retain messages too; only look at ours.
        got = [m for m in sub.collect(0.5, limit=1000) if b in m.topic]
        self.assertEqual([(m.topic, m.payload) for m in got], [(b + "/x", b"plain")])
        dsub = self.connected()
        dsub.subscribe("$" + b + "/#", 0)
        self.assertEqual(dsub.expect_publish().payload, b"dollar")

    def test_resubscribe_sends_retained_again_v311(self):
        # 3.1.1 [MQTT-3.8.4-3]: a repeated SUBSCRIBE re-sends retained
        # messages.
        topic = uniq("rs")
        self.retain(topic, b"again")
        sub = self.connected()
        sub.subscribe(topic, 1)
        self.assertEqual(sub.expect_publish().payload, b"again")
        sub.subscribe(topic, 1)
        m = sub.expect_publish()
        self.assertEqual((m.payload, m.retain), (b"again", True))

    def test_retained_message_survives_publisher_disconnect_and_is_per_topic(self):
        a, b = uniq("pa"), uniq("pb")
        self.retain(a, b"A")
        self.retain(b, b"B")
        sub = self.connected()
        sub.subscribe(b, 1)
        self.assertEqual([m.payload for m in sub.collect(0.4, limit=2)], [b"B"])

    # -- MQTT 5 ------------------------------------------------------------

    def test_v5_retain_handling_0_sends_on_every_subscribe(self):
        topic = uniq("rh0")
        self.retain(topic, b"rh0", version=5)
        sub = self.connected(version=5)
        for _ in range(2):
            sub.subscribe(topic, 1, retain_handling=0)
            m = sub.expect_publish()
            self.assertEqual((m.payload, m.retain), (b"rh0", True))

    def test_v5_retain_handling_1_sends_only_for_new_subscription(self):
        base = uniq("rh1")
        topic = base + "/t"
        self.retain(topic, b"rh1", version=5)
        self.retain(base + "/marker", b"marker", version=5)
        sub = self.connected(version=5)
        sub.subscribe(topic, 1, retain_handling=1)
        self.assertEqual(sub.expect_publish().payload, b"rh1")
        sub.subscribe(topic, 1, retain_handling=1)      # exists: nothing
        sub.subscribe(base + "/marker", 1, retain_handling=1)
        got = [m.payload for m in sub.collect(0.4, limit=2)]
        self.assertEqual(got, [b"marker"])

    def test_v5_retain_handling_2_never_sends(self):
        base = uniq("rh2")
        self.retain(base + "/t", b"rh2", version=5)
        self.retain(base + "/marker", b"marker", version=5)
        sub = self.connected(version=5)
        sub.subscribe(base + "/t", 1, retain_handling=2)
        sub.subscribe(base + "/marker", 1)
        got = [m.payload for m in sub.collect(0.4, limit=2)]
        self.assertEqual(got, [b"marker"])
        # The subscription itself works.
        pub = self.connected(version=5)
        pub.publish(base + "/t", b"live", 1)
        self.assertEqual(sub.expect_publish().payload, b"live")

    def test_v5_retain_as_published(self):
        topic = uniq("rap")
        rap = self.connected(version=5)
        rap.subscribe(topic, 1, retain_as_published=True)
        plain = self.connected(version=5)
        plain.subscribe(topic, 1, retain_as_published=False)
        pub = self.connected(version=5)
        pub.publish(topic, b"r", 1, retain=True)
        pub.publish(topic, b"n", 1, retain=False)
        self.assertEqual([(m.payload, m.retain) for m in (rap.expect_publish(), rap.expect_publish())],
                         [(b"r", True), (b"n", False)])
        self.assertEqual([(m.payload, m.retain) for m in (plain.expect_publish(), plain.expect_publish())],
                         [(b"r", False), (b"n", False)])

    def test_v5_retained_message_keeps_properties(self):
        topic = uniq("rprop")
        props = {mqttraw.CONTENT_TYPE: "text/plain",
                 mqttraw.USER_PROPERTY: [("k", "v"), ("k", "w")],
                 mqttraw.PAYLOAD_FORMAT_INDICATOR: 1}
        self.retain(topic, b"props", 1, 5, props)
        sub = self.connected(version=5)
        sub.subscribe(topic, 1)
        m = sub.expect_publish()
        self.assertEqual(m.props.get(mqttraw.CONTENT_TYPE), "text/plain")
        self.assertEqual(m.props.user(), [("k", "v"), ("k", "w")])
        self.assertEqual(m.props.get(mqttraw.PAYLOAD_FORMAT_INDICATOR), 1)


class RetainUnavailableTest(BrokerTestCase):
    BROKER_CONFIG = ["retain_available false"]
    BROKER_SCOPE = "class"

    def test_v5_connack_says_retain_not_available(self):
        c = self.client(5)
        ack = c.connect(uniq())
        self.assertEqual(ack.props.get(mqttraw.RETAIN_AVAILABLE), 0)

    def test_v5_retained_publish_refused_with_0x9a(self):
        # 5.0 [MQTT-3.3.1-8]... 3.2.2.3.5: a PUBLISH with RETAIN 1 when
        # Retain Available is 0 is a Protocol Error; the server uses
        # DISCONNECT 0x9A (Retain not supported).
        c = self.connected(version=5)
        c.send(mqttraw.publish(uniq("rna"), b"x", 1, retain=True, pid=1, version=5))
        got = c.expect_closed()
        self.assertEqual([(p.type, p.reason) for p in got],
                         [(DISCONNECT, mqttraw.RC_RETAIN_NOT_SUPPORTED)])
        self.roundtrip(5)


if __name__ == "__main__":
    unittest.main()
