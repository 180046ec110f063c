"""05 session: persistent sessions.

MQTT 3.1.1 3.1.2.4 and 4.4, MQTT 5.0 3.1.2.4 / 3.1.2.11.2 and 4.4: Clean
Session 0 keeps subscriptions and queues QoS 1 and 2 messages while the
client is offline, the Session Present flag, the MQTT 5 Session Expiry
Interval, re-sending unacknowledged PUBLISH (with DUP) and PUBREL on
reconnect, and QoS 2 exactly once across a reconnect.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import DISCONNECT, PUBCOMP, PUBREC, PUBREL  # noqa: E402

SEI = mqttraw.SESSION_EXPIRY_INTERVAL


class SessionTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def session(self, cid, version=4, clean=False, expiry=60):
        """Connects cid with a session that survives the connection (3.1.1
        Clean Session 0; 5.0 Clean Start 0 and Session Expiry `expiry`);
        returns (client, connack)."""
        c = self.client(version)
        props = {SEI: expiry} if version == 5 and expiry is not None else None
        ack = c.connect(cid, clean=clean, props=props)
        return c, ack

    def test_session_present_flag(self):
        for version in (4, 5):
            with self.subTest(version=version):
                cid = uniq("sp")
                c, ack = self.session(cid, version)
                self.assertFalse(ack.session_present)
                c.disconnect()
                c, ack = self.session(cid, version)
                self.assertTrue(ack.session_present)
                c.disconnect()
                # A clean connection discards the session and reports none.
                c, ack = self.session(cid, version, clean=True, expiry=0)
                self.assertFalse(ack.session_present)
                c.disconnect()
                c, ack = self.session(cid, version)
                self.assertFalse(ack.session_present)
                c.disconnect()

    def test_v311_session_present_raw_bytes(self):
        cid = uniq("spr")
        c = self.client(4)
        c.send(mqttraw.connect(cid, 4, clean=False))
        self.assertEqual(c.expect(mqttraw.CONNACK).raw, b"\x20\x02\x00\x00")
        c.disconnect()
        c = self.client(4)
        c.send(mqttraw.connect(cid, 4, clean=False))
        self.assertEqual(c.expect(mqttraw.CONNACK).raw, b"\x20\x02\x01\x00")
        c.disconnect()

    def test_offline_messages_queued_and_subscriptions_kept(self):
        for version in (4, 5):
            with self.subTest(version=version):
                cid, topic = uniq("q"), uniq("qt")
                c, _ = self.session(cid, version)
                c.subscribe(topic, 2)
                c.disconnect()
                pub = self.connected(version=version)
                # One at a time, each flow completed: a total order.
                for payload, qos in ((b"a", 1), (b"b", 2), (b"c", 0), (b"d", 1), (b"e", 2)):
                    pub.publish(topic, payload, qos)
                pub.ping()
                c, ack = self.session(cid, version)
                self.assertTrue(ack.session_present)
                got = [(m.payload, m.qos) for m in c.collect(0.5, limit=5)]
                # QoS 0 messages MAY be queued too; QoS 1 and 2 MUST, in order.
                self.assertEqual([g for g in got if g[1] > 0],
                                 [(b"a", 1), (b"b", 2), (b"d", 1), (b"e", 2)])
                self.assertIn(got, ([(b"a", 1), (b"b", 2), (b"d", 1), (b"e", 2)],
                                    [(b"a", 1), (b"b", 2), (b"c", 0), (b"d", 1), (b"e", 2)]))
                # The subscription is still there: live messages arrive.
                pub.publish(topic, b"live", 1)
                self.assertEqual(c.expect_publish().payload, b"live")
                c.disconnect()

    def test_offline_queue_keeps_order(self):
        cid, topic = uniq("qo"), uniq("qot")
        c, _ = self.session(cid, 4)
        c.subscribe(topic, 1)
        c.disconnect()
        pub = self.connected()
        n = 100
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(n)])
        c, ack = self.session(cid, 4)
        self.assertTrue(ack.session_present)
        got = [c.expect_publish().payload for _ in range(n)]
        self.assertEqual(got, [b"%d" % i for i in range(n)])

    def test_clean_session_discards_subscriptions(self):
        cid, base = uniq("cs"), uniq("cst")
        c, _ = self.session(cid, 4)
        c.subscribe(base + "/old", 1)
        c.disconnect()
        c, ack = self.session(cid, 4, clean=True)
        self.assertFalse(ack.session_present)
        c.disconnect()
        c, ack = self.session(cid, 4)
        self.assertFalse(ack.session_present)
        c.subscribe(base + "/marker", 1)
        pub = self.connected()
        pub.publish(base + "/old", b"old", 1)
        pub.publish(base + "/marker", b"marker", 1)
        self.assertEqual([m.payload for m in c.collect(0.4, limit=2)], [b"marker"])

    def test_clean_session_connection_leaves_no_session(self):
        # 3.1.1 [MQTT-3.1.2-6]: with Clean Session 1 the session lasts as
        # long as the connection.
        cid, topic = uniq("cl"), uniq("clt")
        c = self.connected(cid, 4, clean=True)
        c.subscribe(topic, 1)
        c.disconnect()
        pub = self.connected()
        pub.publish(topic, b"lost", 1)
        c, ack = self.session(cid, 4)
        self.assertFalse(ack.session_present)
        c.ping()
        c.assert_nothing(0.3)

    def test_takeover_keeps_the_session(self):
        cid, topic = uniq("tk"), uniq("tkt")
        first, _ = self.session(cid, 4)
        first.subscribe(topic, 1)
        second, ack = self.session(cid, 4)
        self.assertTrue(ack.session_present)
        first.expect_closed()
        pub = self.connected()
        pub.publish(topic, b"to-second", 1)
        self.assertEqual(second.expect_publish().payload, b"to-second")

    # -- MQTT 5 Session Expiry Interval -----------------------------------

    def test_v5_session_expiry_absent_means_session_ends_at_disconnect(self):
        cid, topic = uniq("se0"), uniq("se0t")
        c = self.client(5)
        c.connect(cid, clean=False)
        c.subscribe(topic, 1)
        c.disconnect()
        pub = self.connected(version=5)
        pub.publish(topic, b"x", 1)
        c = self.client(5)
        ack = c.connect(cid, clean=False)
        self.assertFalse(ack.session_present)
        c.ping()
        c.assert_nothing(0.3)

    def test_v5_session_expires_after_interval(self):
        cid, topic = uniq("se2"), uniq("se2t")
        c, _ = self.session(cid, 5, expiry=2)
        c.subscribe(topic, 1)
        c.disconnect()
        c, ack = self.session(cid, 5, expiry=2)
        self.assertTrue(ack.session_present)          # within 2 s: kept
        t0 = time.monotonic()
        c.disconnect()
        time.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))   # let it expire
        c, ack = self.session(cid, 5, expiry=2)
        self.assertFalse(ack.session_present)
        c.disconnect(0, {SEI: 0})

    def test_v5_session_expiry_counted_from_disconnect(self):
        cid = uniq("sel")
        c, _ = self.session(cid, 5, expiry=2)
        time.sleep(2.5)     # connected longer than the interval
        c.disconnect()
        c, ack = self.session(cid, 5, expiry=2)
        self.assertTrue(ack.session_present)
        c.disconnect(0, {SEI: 0})

    def test_v5_disconnect_can_shorten_session_expiry(self):
        cid = uniq("sed")
        c, _ = self.session(cid, 5, expiry=60)
        c.disconnect(0, {SEI: 0})
        c, ack = self.session(cid, 5, expiry=60)
        self.assertFalse(ack.session_present)
        c.disconnect(0, {SEI: 0})

    def test_v5_disconnect_setting_expiry_after_zero_is_protocol_error(self):
        # 3.14.2.2.2: CONNECT said 0, DISCONNECT says non-zero: Protocol
        # Error; not a normal DISCONNECT, so the will is published.
        topic = uniq("sepe")
        w = self.connected(version=5)
        w.subscribe(topic, 1)
        c = self.client(5)
        c.connect(uniq("sepe"), clean=True, props={SEI: 0},
                  will={"topic": topic, "payload": b"will", "qos": 1})
        c.send(mqttraw.disconnect(5, 0, {SEI: 30}))
        got = c.expect_closed()
        self.assertIn([(p.type, p.reason) for p in got],
                      ([], [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)]))
        self.assertEqual(w.expect_publish().payload, b"will")

    def test_v5_messages_queued_for_expiring_session(self):
        cid, topic = uniq("seq"), uniq("seqt")
        c, _ = self.session(cid, 5, expiry=30)
        c.subscribe(topic, 1)
        c.disconnect()
        pub = self.connected(version=5)
        pub.publish(topic, b"stored", 1)
        c, ack = self.session(cid, 5, expiry=30)
        self.assertTrue(ack.session_present)
        m = c.expect_publish()
        self.assertEqual((m.payload, m.qos), (b"stored", 1))
        c.disconnect(0, {SEI: 0})

    # -- re-sending in-flight messages -------------------------------------

    def test_unacked_qos1_resent_with_dup_and_same_id(self):
        for version in (4, 5):
            with self.subTest(version=version):
                cid, topic = uniq("dup"), uniq("dupt")
                c, _ = self.session(cid, version)
                c.subscribe(topic, 1)
                c.auto_ack = False
                pub = self.connected(version=version)
                pub.publish(topic, b"unacked", 1)
                first = c.expect_publish()
                self.assertFalse(first.dup)
                c.close()                             # no PUBACK
                c, ack = self.session(cid, version)
                self.assertTrue(ack.session_present)
                c.auto_ack = False
                again = c.expect_publish()
                self.assertEqual((again.payload, again.pid, again.dup, again.qos),
                                 (b"unacked", first.pid, True, 1))
                c.send(mqttraw.puback(again.pid, version))
                c.ping()
                c.assert_nothing(0.3)
                c.disconnect()

    def test_unacked_qos2_publish_resent_with_dup(self):
        cid, topic = uniq("d2"), uniq("d2t")
        c, _ = self.session(cid, 4)
        c.subscribe(topic, 2)
        c.auto_ack = False
        pub = self.connected()
        pub.publish(topic, b"two", 2)
        first = c.expect_publish()
        c.close()                                     # no PUBREC
        c, ack = self.session(cid, 4)
        self.assertTrue(ack.session_present)
        c.auto_ack = False
        again = c.expect_publish()
        self.assertEqual((again.payload, again.pid, again.dup, again.qos),
                         (b"two", first.pid, True, 2))
        c.send(mqttraw.pubrec(again.pid))
        rel = c.expect(PUBREL)
        self.assertEqual(rel.pid, again.pid)
        c.send(mqttraw.pubcomp(again.pid))
        c.ping()
        c.assert_nothing(0.3)

    def test_pubrel_resent_after_reconnect_and_message_not_redelivered(self):
        # The subscriber sent PUBREC, so the message counts as received:
        # after a reconnect the server re-sends PUBREL, never the PUBLISH.
        for version in (4, 5):
            with self.subTest(version=version):
                cid, topic = uniq("rel"), uniq("relt")
                c, _ = self.session(cid, version)
                c.subscribe(topic, 2)
                c.auto_ack = False
                pub = self.connected(version=version)
                pub.publish(topic, b"once", 2)
                m = c.expect_publish()
                c.send(mqttraw.pubrec(m.pid, version))
                self.assertEqual(c.expect(PUBREL).pid, m.pid)
                c.close()                             # no PUBCOMP
                c, ack = self.session(cid, version)
                self.assertTrue(ack.session_present)
                c.auto_ack = False
                rel = c.expect(PUBREL)
                self.assertEqual(rel.pid, m.pid)
                c.send(mqttraw.pubcomp(rel.pid, version))
                pub.publish(topic, b"marker", 1)
                got = [x.payload for x in c.collect(0.4, limit=2)]
                self.assertEqual(got, [b"marker"])
                c.disconnect()

    def test_incoming_qos2_exactly_once_when_pubrec_lost(self):
        # The publisher's PUBREC was "lost": it reconnects and re-sends the
        # PUBLISH with DUP and the same packet id.  The subscriber must get
        # the message exactly once.
        for version in (4, 5):
            with self.subTest(version=version):
                cid, topic = uniq("eo"), uniq("eot")
                sub = self.connected(version=version)
                sub.subscribe(topic, 2)
                pub, _ = self.session(cid, version)
                pub.send(mqttraw.publish(topic, b"exactly-once", 2, pid=321, version=version))
                self.assertEqual(pub.expect(PUBREC).pid, 321)
                pub.close()
                pub, ack = self.session(cid, version)
                self.assertTrue(ack.session_present)
                pub.send(mqttraw.publish(topic, b"exactly-once", 2, dup=True, pid=321,
                                         version=version))
                rec = pub.expect(PUBREC)
                self.assertEqual((rec.pid, rec.reason), (321, 0))
                pub.send(mqttraw.pubrel(321, version))
                comp = pub.expect(PUBCOMP)
                self.assertEqual((comp.pid, comp.reason), (321, 0))
                pub.publish(topic, b"marker", 2)
                got = [m.payload for m in sub.collect(0.5, limit=3)]
                self.assertEqual(got, [b"exactly-once", b"marker"])
                pub.disconnect()

    def test_incoming_qos2_pubrel_after_reconnect(self):
        # The publisher got PUBREC, reconnects and sends PUBREL: PUBCOMP, and
        # exactly one delivery.
        cid, topic = uniq("eor"), uniq("eort")
        sub = self.connected()
        sub.subscribe(topic, 2)
        pub, _ = self.session(cid, 4)
        pub.send(mqttraw.publish(topic, b"m", 2, pid=99))
        self.assertEqual(pub.expect(PUBREC).pid, 99)
        pub.close()
        pub, ack = self.session(cid, 4)
        self.assertTrue(ack.session_present)
        pub.send(mqttraw.pubrel(99))
        self.assertEqual(pub.expect(PUBCOMP).pid, 99)
        pub.publish(topic, b"marker", 2)
        got = [m.payload for m in sub.collect(0.5, limit=3)]
        self.assertEqual(got, [b"m", b"marker"])
        pub.disconnect()


if __name__ == "__main__":
    unittest.main()
