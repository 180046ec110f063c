"""02 pubsub: PUBLISH / SUBSCRIBE / UNSUBSCRIBE and QoS 0, 1, 2 flows.

MQTT 3.1.1 sections 3.3-3.11, 4.3 (QoS flows), 4.6 (ordering), 4.7 (topic
names and filters) and the MQTT 5.0 equivalents.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import PUBCOMP, PUBREC, PUBREL  # noqa: E402


class PubSubTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def pair(self, version=4, sub_qos=0, topic=None, flt=None):
        """(subscriber, publisher, topic): the subscriber holds one
        subscription on flt (default: topic)."""
        topic = topic or uniq("ps")
        sub = self.connected(version=version)
        self.assertEqual(sub.subscribe(flt or topic, sub_qos).codes, [sub_qos])
        pub = self.connected(version=version)
        return sub, pub, topic

    # -- QoS flows ---------------------------------------------------------

    def test_qos0_delivery(self):
        for version in (3, 4, 5):
            with self.subTest(version=version):
                sub, pub, topic = self.pair(version, 0)
                pub.publish(topic, b"hello", 0)
                m = sub.expect_publish()
                self.assertEqual((m.topic, m.payload, m.qos, m.retain, m.dup, m.pid),
                                 (topic, b"hello", 0, False, False, None))

    def test_qos1_flow_both_directions(self):
        for version in (4, 5):
            with self.subTest(version=version):
                sub, pub, topic = self.pair(version, 1)
                sub.auto_ack = False
                ack = pub.publish(topic, b"one", 1, pid=4242)
                self.assertEqual(ack.pid, 4242)
                self.assertIn(ack.reason, (0x00,))
                m = sub.expect_publish()
                self.assertEqual((m.topic, m.payload, m.qos, m.dup), (topic, b"one", 1, False))
                self.assertNotEqual(m.pid, 0)
                sub.send(mqttraw.puback(m.pid, version))
                sub.ping()
                sub.assert_nothing(0.3)

    def test_qos2_flow_both_directions(self):
        for version in (4, 5):
            with self.subTest(version=version):
                sub, pub, topic = self.pair(version, 2)
                sub.auto_ack = False
                pub.send(mqttraw.publish(topic, b"two", 2, pid=77, version=version))
                rec = pub.expect(PUBREC)
                self.assertEqual((rec.pid, rec.reason), (77, 0))
                pub.send(mqttraw.pubrel(77, version))
                comp = pub.expect(PUBCOMP)
                self.assertEqual((comp.pid, comp.reason), (77, 0))
                m = sub.expect_publish()
                self.assertEqual((m.topic, m.payload, m.qos, m.dup), (topic, b"two", 2, False))
                sub.send(mqttraw.pubrec(m.pid, version))
                rel = sub.expect(PUBREL)
                self.assertEqual(rel.pid, m.pid)
                self.assertEqual(rel.raw[0], 0x62)
                sub.send(mqttraw.pubcomp(m.pid, version))
                sub.ping()
                sub.assert_nothing(0.3)

    def test_qos2_duplicate_publish_delivered_once(self):
        # Method B of 4.3.3: the same packet id re-sent with DUP before
        # PUBREL must not produce a second delivery.
        sub, pub, topic = self.pair(4, 2)
        pub.send(mqttraw.publish(topic, b"once", 2, pid=9))
        self.assertEqual(pub.expect(PUBREC).pid, 9)
        pub.send(mqttraw.publish(topic, b"once", 2, dup=True, pid=9))
        self.assertEqual(pub.expect(PUBREC).pid, 9)
        pub.send(mqttraw.pubrel(9))
        self.assertEqual(pub.expect(PUBCOMP).pid, 9)
        # A marker published afterwards bounds the wait for a duplicate.
        pub.publish(topic, b"marker", 2)
        got = [m.payload for m in sub.collect(0.3, limit=3)]
        self.assertEqual(got, [b"once", b"marker"])

    def test_qos2_pubrel_for_unknown_id_gets_pubcomp(self):
        # 4.3.3: a PUBREL for an id the server no longer holds is still
        # answered with PUBCOMP (v5: reason 0x92 Packet Identifier not
        # found is allowed).
        for version in (4, 5):
            with self.subTest(version=version):
                c = self.connected(version=version)
                c.send(mqttraw.pubrel(555, version))
                comp = c.expect(PUBCOMP)
                self.assertEqual(comp.pid, 555)
                self.assertIn(comp.reason, (0x00, 0x92))

    def test_delivered_qos_is_min_of_publish_and_subscription(self):
        for version in (4, 5):
            for sub_qos in (0, 1, 2):
                for pub_qos in (0, 1, 2):
                    with self.subTest(version=version, sub_qos=sub_qos, pub_qos=pub_qos):
                        sub, pub, topic = self.pair(version, sub_qos)
                        pub.publish(topic, b"q", pub_qos)
                        m = sub.expect_publish()
                        self.assertEqual(m.qos, min(sub_qos, pub_qos))
                        sub.disconnect()
                        pub.disconnect()

    def test_suback_lists_one_code_per_filter(self):
        c = self.connected(version=4)
        base = uniq("multi")
        ack = c.subscribe([(base + "/a", 0), (base + "/b", 1), (base + "/c", 2),
                           (base + "/+/d", 1), (base + "/#", 2)])
        self.assertEqual(ack.codes, [0, 1, 2, 1, 2])
        c5 = self.connected(version=5)
        ack = c5.subscribe([(base + "/a", mqttraw.sub_options(2)),
                            (base + "/b", mqttraw.sub_options(0))])
        self.assertEqual(ack.codes, [2, 0])

    def test_own_messages_are_delivered_in_v311(self):
        c = self.connected(version=4)
        topic = uniq("self")
        c.subscribe(topic, 1)
        c.publish(topic, b"me", 1)
        m = c.expect_publish()
        self.assertEqual((m.topic, m.payload), (topic, b"me"))

    def test_empty_and_large_payloads(self):
        sub, pub, topic = self.pair(5, 1)
        big = bytes(range(256)) * 1024   # 256 KiB
        pub.publish(topic, b"", 1)
        pub.publish(topic, big, 1)
        self.assertEqual(sub.expect_publish().payload, b"")
        self.assertEqual(sub.expect_publish(timeout=10).payload, big)

    def test_binary_payload_passes_unchanged(self):
        sub, pub, topic = self.pair(4, 0)
        payload = bytes([0, 0xFF, 0xC0, 0x80, 0x0A, 0x0D, 0x00])
        pub.publish(topic, payload, 0)
        self.assertEqual(sub.expect_publish().payload, payload)

    # -- ordering ----------------------------------------------------------

    def test_order_preserved_per_qos(self):
        # 4.6: messages of one publisher on one topic arrive in order.
        for qos in (0, 1, 2):
            with self.subTest(qos=qos):
                sub, pub, topic = self.pair(4, qos)
                n = 100
                pub.publish_many([(topic, b"%d" % i, qos) for i in range(n)])
                got = [sub.expect_publish().payload for _ in range(n)]
                self.assertEqual(got, [b"%d" % i for i in range(n)])

    def test_order_preserved_across_topics_of_one_publisher(self):
        base = uniq("ord")
        sub = self.connected(version=4)
        sub.subscribe(base + "/#", 1)
        pub = self.connected(version=4)
        pub.publish_many([("%s/%d" % (base, i % 3), b"%d" % i, 1) for i in range(60)])
        got = [sub.expect_publish().payload for _ in range(60)]
        self.assertEqual(got, [b"%d" % i for i in range(60)])

    # -- subscriptions -----------------------------------------------------

    def test_resubscribe_replaces_qos(self):
        # [MQTT-3.8.4-3]: the new subscription replaces the old one.
        sub, pub, topic = self.pair(4, 0)
        self.assertEqual(sub.subscribe(topic, 2).codes, [2])
        pub.publish(topic, b"x", 2)
        m = sub.expect_publish()
        self.assertEqual((m.payload, m.qos), (b"x", 2))
        pub.publish(topic, b"marker", 1)
        got = [(m.payload, m.qos) for m in sub.collect(0.3, limit=2)]
        self.assertEqual(got, [(b"marker", 1)])

    def test_overlapping_subscriptions_respect_maximum_qos(self):
        # 3.1.1 [MQTT-3.3.5-1]: at least one copy at the maximum QoS of the
        # matching subscriptions; further copies (one per subscription) are
        # allowed.  MQTT 5 has the same rule (4.8... 3.3.4).
        for version in (4, 5):
            with self.subTest(version=version):
                base = uniq("ovl")
                sub = self.connected(version=version)
                ack = sub.subscribe([(base + "/+", 1), (base + "/#", 2), (base + "/x", 0)])
                self.assertEqual(ack.codes, [1, 2, 0])
                pub = self.connected(version=version)
                pub.publish(base + "/x", b"o", 2)
                got = sub.collect(0.5, limit=3)
                self.assertGreaterEqual(len(got), 1)
                self.assertLessEqual(len(got), 3)
                self.assertEqual(max(m.qos for m in got), 2)
                for m in got:
                    self.assertEqual((m.topic, m.payload), (base + "/x", b"o"))

    def test_unsubscribe_stops_delivery(self):
        for version in (4, 5):
            with self.subTest(version=version):
                base = uniq("uns")
                sub = self.connected(version=version)
                sub.subscribe([(base + "/a", 1), (base + "/b", 1)])
                ack = sub.unsubscribe(base + "/a")
                if version == 5:
                    self.assertEqual(ack.codes, [0x00])
                else:
                    self.assertEqual(ack.raw[0:2], b"\xb0\x02")
                pub = self.connected(version=version)
                pub.publish(base + "/a", b"gone", 1)
                pub.publish(base + "/b", b"kept", 1)
                got = [m.payload for m in sub.collect(0.3, limit=2)]
                self.assertEqual(got, [b"kept"])

    def test_v5_unsuback_reason_codes(self):
        c = self.connected(version=5)
        base = uniq("unsr")
        c.subscribe(base + "/a", 0)
        ack = c.unsubscribe([base + "/a", base + "/never"])
        self.assertEqual(ack.codes, [0x00, mqttraw.RC_NO_SUBSCRIPTION_EXISTED])

    def test_unsubscribe_unknown_filter_v311_still_acked(self):
        c = self.connected(version=4)
        ack = c.unsubscribe(uniq("nope") + "/#")
        self.assertEqual(ack.raw[0:2], b"\xb0\x02")

    # -- wildcards ---------------------------------------------------------

    def check_matches(self, flt, topics_match, topics_no_match, version=4):
        sub = self.connected(version=version)
        self.assertEqual(sub.subscribe(flt, 0).codes, [0])
        pub = self.connected(version=version)
        for t in topics_no_match + topics_match:
            pub.publish(t, t.encode(), 1)
        got = sorted(m.topic for m in sub.collect(0.4, limit=len(topics_match) + 1))
        self.assertEqual(got, sorted(topics_match), "filter %r" % flt)

    def test_single_level_wildcard(self):
        b = uniq("sl")
        self.check_matches(b + "/tennis/+",
                           [b + "/tennis/player1", b + "/tennis/player2", b + "/tennis/"],
                           [b + "/tennis/player1/ranking", b + "/tennis", b + "/tennisx/p",
                            b + "/other/player1"])

    def test_single_level_wildcard_in_middle(self):
        b = uniq("slm")
        self.check_matches(b + "/+/score",
                           [b + "/a/score", b + "//score"],
                           [b + "/a/b/score", b + "/score", b + "/a/score/x"])

    def test_multi_level_wildcard_matches_parent(self):
        b = uniq("ml")
        self.check_matches(b + "/sport/#",
                           [b + "/sport", b + "/sport/tennis", b + "/sport/tennis/player1",
                            b + "/sport/"],
                           [b + "/sports", b + "/spor", b])

    def test_plus_plus_and_leading_slash(self):
        b = uniq("pp")
        # "+/+" matches "/x" (two levels, the first empty); "/+" too; "+"
        # does not.
        sub_pp = self.connected()
        sub_pp.subscribe("+/+", 0)
        sub_p = self.connected()
        sub_p.subscribe("+", 0)
        pub = self.connected()
        pub.publish("/" + b, b"1", 1)
        m = sub_pp.expect_publish()
        self.assertEqual(m.topic, "/" + b)
        pub.publish(b, b"2", 1)
        m = sub_p.expect_publish()
        self.assertEqual(m.topic, b)       # and not "/b" before it

    def test_hash_alone_matches_everything_but_dollar_topics(self):
        b = uniq("all")
        sub = self.connected()
        sub.subscribe("#", 0)
        pub = self.connected()
        pub.publish("$" + b + "/hidden", b"no", 1)
        pub.publish(b + "/shown", b"yes", 1)
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload), (b + "/shown", b"yes"))

    def test_dollar_topics_not_matched_by_leading_wildcards(self):
        # 4.7.2 [MQTT-4.7.2-1]: "#" and "+/..." do not match topics
        # starting with "$"; "$x/#" and "$x/+" do.
        b = uniq("dl")
        d = "$" + b
        wild = self.connected()
        wild.subscribe([("#", 0), ("+/foo", 0), ("+/+", 0)])
        exact = self.connected()
        exact.subscribe([(d + "/#", 0)])
        plus = self.connected()
        plus.subscribe([(d + "/+", 0)])
        pub = self.connected()
        pub.publish(d + "/foo", b"dollar", 1)
        for c in (exact, plus):
            m = c.expect_publish()
            self.assertEqual((m.topic, m.payload), (d + "/foo", b"dollar"))
        pub.publish(b + "/foo", b"plain", 1)
        got = wild.collect(0.4, limit=4)
        self.assertTrue(got)
        self.assertEqual({m.topic for m in got}, {b + "/foo"})

    def test_topics_are_case_sensitive_and_keep_spaces(self):
        b = uniq("cs")
        self.check_matches(b + "/A b/#", [b + "/A b/c"], [b + "/a b/c", b + "/Ab/c"])

    def test_utf8_topics(self):
        b = uniq("u8")
        t = b + "/\u00fcber/\u6e2c\u8a66/\U0001F600"
        sub, pub, _ = self.pair(5, 1, t)
        pub.publish(t, b"u", 1)
        self.assertEqual(sub.expect_publish().topic, t)

    def test_many_subscribers_each_get_one_copy(self):
        topic = uniq("fan")
        subs = []
        for i in range(50):
            s = self.connected(version=4 if i % 2 else 5)
            s.subscribe(topic, i % 3)
            subs.append(s)
        pub = self.connected()
        pub.publish(topic, b"fan", 2)
        for i, s in enumerate(subs):
            got = s.collect(0.05 if i else 0.3, limit=1)
            if not got:
                got = [s.expect_publish()]
            self.assertEqual([(m.payload, m.qos) for m in got], [(b"fan", i % 3)])
        pub.publish(topic, b"end", 0)
        for s in subs:
            self.assertEqual(s.expect_publish().payload, b"end")


if __name__ == "__main__":
    unittest.main()
