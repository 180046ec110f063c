"""07 mqtt5: MQTT 5.0 features.

Topic aliases (client to server), Message Expiry Interval, properties the
server forwards unchanged, Payload Format Indicator checking, flow control
(Receive Maximum) and Maximum Packet Size in both directions, Subscription
Identifiers, No Local, and shared subscriptions.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402
from mqttraw import DISCONNECT, PUBACK, PUBREC, SUBACK  # noqa: E402

SEI = mqttraw.SESSION_EXPIRY_INTERVAL
MEI = mqttraw.MESSAGE_EXPIRY_INTERVAL
ALIAS = mqttraw.TOPIC_ALIAS
SUBID = mqttraw.SUBSCRIPTION_IDENTIFIER


def disconnect_codes(packets):
    return [(p.type, p.reason) for p in packets]


class Mqtt5Test(BrokerTestCase):
    BROKER_SCOPE = "class"

    def v5(self, client_id=None, props=None, clean=True):
        return self.connected(client_id, 5, clean, props=props)

    # -- topic aliases, client to server -----------------------------------

    def test_connack_topic_alias_maximum_allows_aliases(self):
        c = self.client(5)
        ack = c.connect(uniq())
        self.assertGreaterEqual(ack.props.get(mqttraw.TOPIC_ALIAS_MAXIMUM, 0), 1, ack)

    def test_topic_alias_set_then_used(self):
        topic = uniq("ta")
        sub = self.v5()
        sub.subscribe(topic + "/#", 1)
        pub = self.v5()
        pub.publish(topic + "/a", b"1", 1, props={ALIAS: 1})
        pub.publish("", b"2", 1, props={ALIAS: 1})
        pub.publish(topic + "/b", b"3", 1, props={ALIAS: 1})    # remap
        pub.publish("", b"4", 1, props={ALIAS: 1})
        got = [sub.expect_publish() for _ in range(4)]
        self.assertEqual([(m.topic, m.payload) for m in got],
                         [(topic + "/a", b"1"), (topic + "/a", b"2"),
                          (topic + "/b", b"3"), (topic + "/b", b"4")])
        # The subscriber announced no Topic Alias Maximum: the server MUST
        # NOT send it aliases [MQTT-3.3.2-8]... (3.1.2.11.5).
        for m in got:
            self.assertNotIn(ALIAS, m.props)

    def test_topic_alias_with_qos0_and_qos2(self):
        topic = uniq("ta02")
        sub = self.v5()
        sub.subscribe(topic, 2)
        pub = self.v5()
        pub.publish(topic, b"a", 0, props={ALIAS: 1})
        pub.publish("", b"b", 2, props={ALIAS: 1})
        got = [(m.topic, m.payload) for m in (sub.expect_publish(), sub.expect_publish())]
        self.assertEqual(got, [(topic, b"a"), (topic, b"b")])

    def test_topic_alias_zero_is_an_error(self):
        # 3.3.2.3.4 [MQTT-3.3.2-8]: alias 0 is not permitted.  The
        # specification names no reason code for it: 0x94 (Topic Alias
        # invalid), 0x82 (Protocol Error) or 0x81 (Malformed Packet).
        c = self.v5()
        c.send(mqttraw.publish(uniq("ta0"), b"x", 0, props={ALIAS: 0}, version=5))
        got = disconnect_codes(c.expect_closed())
        self.assertIn(got, ([], [(DISCONNECT, mqttraw.RC_TOPIC_ALIAS_INVALID)],
                            [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)],
                            [(DISCONNECT, mqttraw.RC_MALFORMED)]))
        self.roundtrip(5)

    def test_topic_alias_above_maximum_is_an_error(self):
        c = self.client(5)
        ack = c.connect(uniq())
        tam = ack.props.get(mqttraw.TOPIC_ALIAS_MAXIMUM, 0)
        c.send(mqttraw.publish(uniq("tabig"), b"x", 0, props={ALIAS: tam + 1}, version=5))
        self.assertIn(disconnect_codes(c.expect_closed()),
                      ([], [(DISCONNECT, mqttraw.RC_TOPIC_ALIAS_INVALID)]))
        self.roundtrip(5)

    def test_unknown_topic_alias_with_empty_topic_is_protocol_error(self):
        # 3.3.4: an empty Topic Name with an alias the receiver has no
        # mapping for is a Protocol Error.
        c = self.v5()
        c.send(mqttraw.publish("", b"x", 1, pid=1, props={ALIAS: 1}, version=5))
        self.assertIn(disconnect_codes(c.expect_closed()),
                      ([], [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)]))
        self.roundtrip(5)

    def test_topic_aliases_are_per_connection(self):
        topic = uniq("tapc")
        a = self.v5()
        a.publish(topic, b"x", 1, props={ALIAS: 1})
        b = self.v5()
        b.send(mqttraw.publish("", b"y", 1, pid=1, props={ALIAS: 1}, version=5))
        self.assertIn(disconnect_codes(b.expect_closed()),
                      ([], [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)]))
        a.ping()

    def test_server_to_client_aliases_resolve_correctly(self):
        # The server MAY use aliases towards a client that allows them;
        # whether it does or not, every message must resolve to its topic.
        base = uniq("tas")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.TOPIC_ALIAS_MAXIMUM: 2})
        sub.subscribe(base + "/#", 1)
        pub = self.v5()
        topics = [base + "/%d" % (i % 3) for i in range(12)]
        pub.publish_many([(t, b"%d" % i, 1) for i, t in enumerate(topics)])
        aliases = {}
        resolved = []
        for _ in topics:
            m = sub.expect_publish()
            a = m.props.get(ALIAS)
            if a is not None:
                self.assertTrue(1 <= a <= 2, "alias %d beyond our maximum of 2" % a)
                if m.topic:
                    aliases[a] = m.topic
                else:
                    self.assertIn(a, aliases, "alias used before it was set")
            resolved.append(m.topic if m.topic else aliases[a])
        self.assertEqual(resolved, topics)

    def test_server_assigns_aliases_to_first_topics(self):
        # Starling gives aliases to the first distinct topics, up to the
        # client's Topic Alias Maximum: the topic travels once with the
        # alias, then the alias alone; later topics travel in full.
        base = uniq("tasn")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.TOPIC_ALIAS_MAXIMUM: 2})
        sub.subscribe(base + "/#", 1)
        pub = self.v5()
        order = [0, 1, 2, 0, 1, 2, 0]
        pub.publish_many([("%s/%d" % (base, i), b"%d" % k, 1) for k, i in enumerate(order)])
        got = [sub.expect_publish() for _ in order]
        self.assertEqual([m.payload for m in got], [b"%d" % k for k in range(len(order))])
        self.assertEqual([(m.topic, m.props.get(ALIAS)) for m in got],
                         [(base + "/0", 1), (base + "/1", 2), (base + "/2", None),
                          ("", 1), ("", 2), (base + "/2", None), ("", 1)])

    def test_no_server_aliases_without_client_maximum(self):
        topic = uniq("tasz")
        sub = self.v5()
        sub.subscribe(topic, 0)
        pub = self.v5()
        pub.publish_many([(topic, b"a", 1), (topic, b"b", 1)])
        for m in (sub.expect_publish(), sub.expect_publish()):
            self.assertEqual(m.topic, topic)
            self.assertNotIn(ALIAS, m.props)

    def test_alias_of_a_dropped_message_is_not_used(self):
        # A message too large for the client is dropped for it; the alias
        # it would have set must not be used by the next message, which
        # the client could not resolve.
        topic = uniq("tasd")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.TOPIC_ALIAS_MAXIMUM: 4,
                                   mqttraw.MAXIMUM_PACKET_SIZE: 200})
        sub.subscribe(topic, 1)
        pub = self.v5()
        pub.publish_many([(topic, b"x" * 400, 1), (topic, b"small", 1)])
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.props.get(ALIAS)), (topic, b"small", 1))
        pub.publish(topic, b"again", 1)
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.props.get(ALIAS)), ("", b"again", 1))

    def test_server_aliases_reset_on_reconnect(self):
        cid = uniq("tasr")
        topic = uniq("tasr")
        for _ in range(2):
            sub = self.client(5)
            sub.connect(cid, props={mqttraw.TOPIC_ALIAS_MAXIMUM: 1})
            sub.subscribe(topic, 0)
            pub = self.v5()
            pub.publish(topic, b"p", 1)
            m = sub.expect_publish()
            self.assertEqual((m.topic, m.props.get(ALIAS)), (topic, 1))
            sub.disconnect()

    # -- Message Expiry Interval -------------------------------------------

    def test_message_expiry_forwarded_on_live_delivery(self):
        topic = uniq("me")
        sub = self.v5()
        sub.subscribe(topic, 1)
        pub = self.v5()
        pub.publish(topic, b"x", 1, props={MEI: 100})
        m = sub.expect_publish()
        self.assertIn(m.props.get(MEI), (99, 100))

    def test_message_expiry_decremented_while_queued(self):
        # 3.3.2.3.3: the value sent is the received value minus the time the
        # message waited in the server.
        cid, topic = uniq("med"), uniq("medt")
        sub = self.v5(cid, {SEI: 60}, clean=False)
        sub.subscribe(topic, 1)
        sub.disconnect()
        pub = self.v5()
        pub.publish(topic, b"aging", 1, props={MEI: 10})
        t0 = time.monotonic()
        time.sleep(2.2)
        sub = self.client(5)
        self.assertTrue(sub.connect(cid, clean=False, props={SEI: 60}).session_present)
        m = sub.expect_publish()
        waited = time.monotonic() - t0
        self.assertEqual(m.payload, b"aging")
        mei = m.props.get(MEI)
        self.assertIsNotNone(mei)
        self.assertLessEqual(mei, 10 - int(waited) + 1)
        self.assertGreaterEqual(mei, 10 - int(waited) - 1)
        self.assertLess(mei, 10)
        sub.disconnect(0, {SEI: 0})

    def test_expired_message_not_delivered(self):
        cid, topic = uniq("mex"), uniq("mext")
        sub = self.v5(cid, {SEI: 60}, clean=False)
        sub.subscribe(topic, 1)
        sub.disconnect()
        pub = self.v5()
        pub.publish(topic, b"expires", 1, props={MEI: 1})
        pub.publish(topic, b"stays", 1)
        time.sleep(2.5)
        sub = self.client(5)
        self.assertTrue(sub.connect(cid, clean=False, props={SEI: 60}).session_present)
        got = [m.payload for m in sub.collect(0.5, limit=2)]
        self.assertEqual(got, [b"stays"])
        sub.disconnect(0, {SEI: 0})

    def test_expired_retained_message_not_delivered(self):
        base = uniq("mer")
        pub = self.v5()
        pub.publish(base + "/short", b"short", 1, retain=True, props={MEI: 1})
        pub.publish(base + "/long", b"long", 1, retain=True, props={MEI: 100})
        pub.publish(base + "/none", b"none", 1, retain=True)
        time.sleep(2.5)
        sub = self.v5()
        sub.subscribe(base + "/#", 1)
        got = {m.topic: m for m in sub.collect(0.5, limit=3)}
        self.assertEqual(sorted(got), [base + "/long", base + "/none"])
        self.assertLessEqual(got[base + "/long"].props.get(MEI), 98)
        self.assertGreaterEqual(got[base + "/long"].props.get(MEI), 96)
        self.assertNotIn(MEI, got[base + "/none"].props)

    # -- properties forwarded unchanged ------------------------------------

    def test_properties_forwarded_unchanged(self):
        topic = uniq("fw")
        sub = self.v5()
        sub.subscribe(topic, 2)
        props = [
            (mqttraw.PAYLOAD_FORMAT_INDICATOR, 1),
            (mqttraw.CONTENT_TYPE, "application/json; charset=utf-8"),
            (mqttraw.RESPONSE_TOPIC, topic + "/reply"),
            (mqttraw.CORRELATION_DATA, b"\x00\xffcorr\x01"),
            (mqttraw.USER_PROPERTY, ("z", "last")),
            (mqttraw.USER_PROPERTY, ("a", "first")),
            (mqttraw.USER_PROPERTY, ("z", "again")),
            (mqttraw.USER_PROPERTY, ("\u00fc", "\u6e2c")),
        ]
        pub = self.v5()
        for qos in (0, 1, 2):
            pub.publish(topic, '{"q": %d}' % qos, qos, props=props)
            m = sub.expect_publish()
            self.assertEqual(m.payload, b'{"q": %d}' % qos)
            self.assertEqual(m.props.get(mqttraw.PAYLOAD_FORMAT_INDICATOR), 1)
            self.assertEqual(m.props.get(mqttraw.CONTENT_TYPE), "application/json; charset=utf-8")
            self.assertEqual(m.props.get(mqttraw.RESPONSE_TOPIC), topic + "/reply")
            self.assertEqual(m.props.get(mqttraw.CORRELATION_DATA), b"\x00\xffcorr\x01")
            # [MQTT-3.3.2-18]: user properties in the same order.
            self.assertEqual(m.props.user(), [("z", "last"), ("a", "first"), ("z", "again"),
                                              ("\u00fc", "\u6e2c")])

    def test_v5_message_reaches_v311_subscriber_without_properties(self):
        topic = uniq("x4")
        sub = self.connected(version=4)
        sub.subscribe(topic, 1)
        pub = self.v5()
        pub.publish(topic, b"to-311", 1, props={mqttraw.USER_PROPERTY: [("k", "v")],
                                                 mqttraw.CONTENT_TYPE: "t"})
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos), (topic, b"to-311", 1))

    def test_v311_message_reaches_v5_subscriber_without_properties(self):
        topic = uniq("x5")
        sub = self.v5()
        sub.subscribe(topic, 1)
        pub = self.connected(version=4)
        pub.publish(topic, b"to-5", 1)
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos), (topic, b"to-5", 1))
        for key in (MEI, mqttraw.CONTENT_TYPE, mqttraw.USER_PROPERTY, ALIAS,
                    mqttraw.PAYLOAD_FORMAT_INDICATOR):
            self.assertNotIn(key, m.props)

    def test_puback_reason_success_or_no_matching_subscribers(self):
        c = self.v5()
        ack = c.publish(uniq("nobody"), b"x", 1)
        self.assertIn(ack.reason, (0x00, mqttraw.RC_NO_MATCHING_SUBSCRIBERS))
        topic = uniq("somebody")
        sub = self.v5()
        sub.subscribe(topic, 0)
        self.assertEqual(c.publish(topic, b"x", 1).reason, 0x00)

    # -- Payload Format Indicator ------------------------------------------

    def test_invalid_utf8_payload_with_format_indicator_refused(self):
        # 3.3.2.3.2: the server MAY check; Starling does: PUBACK/PUBREC
        # 0x99 (Payload format invalid), or DISCONNECT 0x99.  The message
        # is not delivered.
        for qos in (1, 2):
            with self.subTest(qos=qos):
                topic = uniq("pfi")
                sub = self.v5()
                sub.subscribe(topic, 1)
                pub = self.v5()
                pub.send(mqttraw.publish(topic, b"ok\xff\xfe", qos, pid=5, version=5,
                                         props={mqttraw.PAYLOAD_FORMAT_INDICATOR: 1}))
                try:
                    p = pub.recv_packet()
                except mqttraw.ConnectionClosed:
                    self.fail("closed without a reason code")
                self.assertIn(p.type, (PUBACK if qos == 1 else PUBREC, DISCONNECT), p)
                self.assertEqual(p.reason, mqttraw.RC_PAYLOAD_FORMAT_INVALID, p)
                if p.type != DISCONNECT:
                    self.assertEqual(p.pid, 5)
                marker = self.v5()
                marker.publish(topic, b"marker", 1)
                self.assertEqual([m.payload for m in sub.collect(0.4, limit=2)], [b"marker"])

    def test_valid_utf8_payload_with_format_indicator_accepted(self):
        topic = uniq("pfok")
        sub = self.v5()
        sub.subscribe(topic, 1)
        pub = self.v5()
        ack = pub.publish(topic, "\u00e9t\u00e9 \U0001F600", 1,
                          props={mqttraw.PAYLOAD_FORMAT_INDICATOR: 1})
        self.assertLess(ack.reason, 0x80)
        self.assertEqual(sub.expect_publish().payload, "\u00e9t\u00e9 \U0001F600".encode())

    # -- flow control ------------------------------------------------------

    def test_server_respects_client_receive_maximum(self):
        # 3.3.4: no more than Receive Maximum unacknowledged QoS 1/2
        # PUBLISH packets towards the client.
        topic = uniq("rm")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.RECEIVE_MAXIMUM: 2})
        sub.subscribe(topic, 1)
        sub.auto_ack = False
        pub = self.v5()
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(6)])
        first = sub.collect(0.5, limit=3)
        self.assertEqual([m.payload for m in first], [b"0", b"1"])
        sub.send(mqttraw.puback(first[0].pid, 5))
        nxt = sub.collect(0.5, limit=2)
        self.assertEqual([m.payload for m in nxt], [b"2"])
        for m in [first[1]] + nxt:
            sub.send(mqttraw.puback(m.pid, 5))
        rest = sub.collect(0.5, limit=4)
        self.assertEqual([m.payload for m in rest], [b"3", b"4"])
        for m in rest:
            sub.send(mqttraw.puback(m.pid, 5))
        self.assertEqual(sub.expect_publish().payload, b"5")

    def test_receive_maximum_counts_qos2_until_pubcomp(self):
        topic = uniq("rm2")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.RECEIVE_MAXIMUM: 1})
        sub.subscribe(topic, 2)
        sub.auto_ack = False
        pub = self.v5()
        pub.publish_many([(topic, b"a", 2), (topic, b"b", 2)])
        m = sub.expect_publish()
        self.assertEqual(m.payload, b"a")
        sub.send(mqttraw.pubrec(m.pid, 5))
        rel = sub.expect(mqttraw.PUBREL)
        self.assertEqual(rel.pid, m.pid)
        sub.assert_nothing(0.4)             # "b" waits for the PUBCOMP
        sub.send(mqttraw.pubcomp(m.pid, 5))
        self.assertEqual(sub.expect_publish().payload, b"b")

    def test_client_exceeding_server_receive_maximum(self):
        # 3.3.4: more unacknowledged QoS 2 PUBLISH than the server's
        # Receive Maximum is a DISCONNECT 0x93.
        c = self.client(5)
        ack = c.connect(uniq())
        rm = ack.props.get(mqttraw.RECEIVE_MAXIMUM, 65535)
        if rm > 1000:
            self.skipTest("server Receive Maximum %d too large to exceed here" % rm)
        topic = uniq("rmx")
        c.send(b"".join(mqttraw.publish(topic, b"x", 2, pid=i + 1, version=5)
                        for i in range(rm + 1)))
        recs = []
        while True:
            try:
                p = c.recv_packet()
            except mqttraw.ConnectionClosed:
                self.fail("closed without DISCONNECT 0x93 after %d PUBREC" % len(recs))
            except TimeoutError:
                self.fail("%d PUBREC for %d PUBLISH, then no DISCONNECT 0x93"
                          % (len(recs), rm + 1))
            if p.type == PUBREC:
                recs.append(p)
                continue
            self.assertEqual((p.type, p.reason), (DISCONNECT, mqttraw.RC_RECEIVE_MAXIMUM_EXCEEDED))
            break
        self.assertLessEqual(len(recs), rm)
        self.roundtrip(5)

    def test_server_drops_messages_larger_than_client_maximum_packet_size(self):
        # 3.1.2.11.4 [MQTT-3.1.2-25]: the server must not send a packet
        # larger than the client's Maximum Packet Size; it discards it.
        topic = uniq("mps")
        sub = self.client(5)
        sub.connect(uniq(), props={mqttraw.MAXIMUM_PACKET_SIZE: 256})
        sub.subscribe(topic, 1)
        pub = self.v5()
        pub.publish(topic, b"B" * 1000, 1)
        pub.publish(topic, b"small", 1)
        pub.publish(topic, b"b" * 300, 0)
        pub.publish(topic, b"end", 0)
        got = [m.payload for m in sub.collect(0.5, limit=3)]
        self.assertEqual(got, [b"small", b"end"])
        for m in sub.collect(0.1):
            self.assertLessEqual(len(m.raw), 256)

    def test_connack_maximum_packet_size_and_other_capabilities(self):
        c = self.client(5)
        ack = c.connect(uniq())
        self.assertNotEqual(ack.props.get(mqttraw.MAXIMUM_PACKET_SIZE), 0)
        self.assertNotEqual(ack.props.get(mqttraw.WILDCARD_SUBSCRIPTION_AVAILABLE), 0)
        self.assertNotEqual(ack.props.get(mqttraw.SUBSCRIPTION_IDENTIFIER_AVAILABLE), 0)
        self.assertNotEqual(ack.props.get(mqttraw.SHARED_SUBSCRIPTION_AVAILABLE), 0)
        self.assertNotEqual(ack.props.get(mqttraw.RETAIN_AVAILABLE), 0)
        self.assertIn(ack.props.get(mqttraw.MAXIMUM_QOS), (None,))

    # -- Subscription Identifiers ------------------------------------------

    def test_subscription_identifier_sent_with_matching_messages(self):
        base = uniq("sid")
        sub = self.v5()
        sub.subscribe(base + "/a", 1, props={SUBID: 5})
        sub.subscribe(base + "/b", 1, props={SUBID: 268435455})
        sub.subscribe(base + "/c", 1)
        pub = self.v5()
        for t in ("a", "b", "c"):
            pub.publish(base + "/" + t, t, 1)
        got = [(m.topic, m.props.get(SUBID)) for m in
               (sub.expect_publish(), sub.expect_publish(), sub.expect_publish())]
        self.assertEqual(got, [(base + "/a", [5]), (base + "/b", [268435455]),
                               (base + "/c", None)])

    def test_overlapping_subscriptions_carry_all_identifiers(self):
        # 3.3.4: one copy with every identifier, or one copy per
        # subscription with its own identifier.
        base = uniq("sido")
        sub = self.v5()
        sub.subscribe(base + "/+", 1, props={SUBID: 7})
        sub.subscribe(base + "/#", 1, props={SUBID: 9})
        pub = self.v5()
        pub.publish(base + "/x", b"x", 1)
        got = sub.collect(0.5, limit=2)
        ids = sorted(i for m in got for i in m.props.get(SUBID, []))
        self.assertEqual(ids, [7, 9])
        self.assertIn(len(got), (1, 2))
        for m in got:
            self.assertTrue(m.props.get(SUBID))

    def test_subscription_identifier_replaced_on_resubscribe(self):
        topic = uniq("sidr")
        sub = self.v5()
        sub.subscribe(topic, 1, props={SUBID: 1})
        sub.subscribe(topic, 1, props={SUBID: 2})
        pub = self.v5()
        pub.publish(topic, b"1", 1)
        self.assertEqual(sub.expect_publish().props.get(SUBID), [2])
        sub.subscribe(topic, 1)
        pub.publish(topic, b"2", 1)
        self.assertIsNone(sub.expect_publish().props.get(SUBID))

    def test_subscription_identifier_on_retained_delivery(self):
        topic = uniq("sidret")
        pub = self.v5()
        pub.publish(topic, b"r", 1, retain=True)
        sub = self.v5()
        sub.subscribe(topic, 1, props={SUBID: 42})
        m = sub.expect_publish()
        self.assertEqual((m.payload, m.retain, m.props.get(SUBID)), (b"r", True, [42]))

    # -- No Local ----------------------------------------------------------

    def test_no_local(self):
        topic = uniq("nl")
        me = self.v5()
        me.subscribe(topic, 1, no_local=True)
        other = self.v5()
        me.publish(topic, b"mine", 1)
        other.publish(topic, b"theirs", 1)
        self.assertEqual([m.payload for m in me.collect(0.4, limit=2)], [b"theirs"])

    def test_without_no_local_own_messages_arrive(self):
        topic = uniq("nl0")
        me = self.v5()
        me.subscribe(topic, 1, no_local=False)
        me.publish(topic, b"mine", 1)
        self.assertEqual(me.expect_publish().payload, b"mine")

    # -- shared subscriptions ----------------------------------------------

    def test_shared_subscription_round_robin(self):
        topic = uniq("sh")
        group = uniq("g")
        members = []
        for _ in range(2):
            m = self.v5()
            self.assertEqual(m.subscribe("$share/%s/%s" % (group, topic), 1).codes, [1])
            members.append(m)
        plain = self.v5()
        plain.subscribe(topic, 1)
        pub = self.v5()
        n = 10
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(n)])
        # The ordinary subscriber gets everything.
        self.assertEqual([plain.expect_publish().payload for _ in range(n)],
                         [b"%d" % i for i in range(n)])
        got = [[x.payload for x in m.collect(0.5, limit=n)] for m in members]
        # Each message to exactly one member, and shared out evenly.
        self.assertEqual(sorted(got[0] + got[1], key=int), [b"%d" % i for i in range(n)])
        self.assertEqual((len(got[0]), len(got[1])), (n // 2, n // 2))
        for g in got:
            self.assertEqual(g, sorted(g, key=int))
        for m in members:
            for x in m.collect(0.05):
                self.fail("extra %r" % x)

    def test_two_share_groups_each_get_every_message(self):
        topic = uniq("sh2")
        a = self.v5()
        a.subscribe("$share/ga/" + topic, 1)
        b = self.v5()
        b.subscribe("$share/gb/" + topic, 1)
        pub = self.v5()
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(4)])
        for c in (a, b):
            self.assertEqual([c.expect_publish().payload for _ in range(4)],
                             [b"0", b"1", b"2", b"3"])

    def test_shared_subscription_with_wildcard_and_delivered_topic(self):
        base = uniq("shw")
        m = self.v5()
        m.subscribe("$share/g/%s/+/x" % base, 1)
        pub = self.v5()
        pub.publish(base + "/dev/x", b"w", 1)
        got = m.expect_publish()
        self.assertEqual((got.topic, got.payload), (base + "/dev/x", b"w"))

    def test_shared_subscription_survives_member_leaving(self):
        topic = uniq("shl")
        group = uniq("g")
        a = self.v5()
        a.subscribe("$share/%s/%s" % (group, topic), 1)
        b = self.v5()
        b.subscribe("$share/%s/%s" % (group, topic), 1)
        a.disconnect()
        pub = self.v5()
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(4)])
        self.assertEqual([b.expect_publish().payload for _ in range(4)],
                         [b"0", b"1", b"2", b"3"])

    def test_member_leaving_hands_unacknowledged_messages_to_another(self):
        # 4.8.2: if a member's session ends before it acknowledged a
        # message, the message goes to another member of the group.
        topic = uniq("sho")
        group = uniq("g")
        a = self.v5()
        a.subscribe("$share/%s/%s" % (group, topic), 1)
        a.auto_ack = False
        b = self.v5()
        b.subscribe("$share/%s/%s" % (group, topic), 1)
        pub = self.v5()
        n = 6
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(n)])
        held = a.collect(0.5, limit=n)
        self.assertEqual(len(held), n // 2)
        got = [m.payload for m in b.collect(0.5, limit=n)]
        self.assertEqual(len(got), n // 2)
        a.close()  # no PUBACK: a's session (expiry 0) ends
        got += [m.payload for m in b.collect(1.0, limit=n // 2)]
        self.assertEqual(sorted(got, key=int), [b"%d" % i for i in range(n)])
        b.assert_nothing(0.3)

    def test_member_acknowledged_messages_are_not_handed_off(self):
        topic = uniq("sha")
        group = uniq("g")
        a = self.v5()
        a.subscribe("$share/%s/%s" % (group, topic), 1)
        b = self.v5()
        b.subscribe("$share/%s/%s" % (group, topic), 1)
        pub = self.v5()
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(4)])
        self.assertEqual(len(a.collect(0.5, limit=4)), 2)  # acknowledged
        self.assertEqual(len(b.collect(0.5, limit=4)), 2)
        a.disconnect()
        b.assert_nothing(0.5)

    def test_unsubscribe_from_shared_subscription(self):
        topic = uniq("shu")
        a = self.v5()
        flt = "$share/g/" + topic
        a.subscribe(flt, 1)
        self.assertEqual(a.unsubscribe(flt).codes, [0])
        a.subscribe(topic + "/marker", 1)
        pub = self.v5()
        pub.publish(topic, b"gone", 1)
        pub.publish(topic + "/marker", b"marker", 1)
        self.assertEqual([m.payload for m in a.collect(0.4, limit=2)], [b"marker"])

    def test_retained_messages_not_sent_to_new_shared_subscription(self):
        # 3.3.1.3 / 4.8.2: retained messages go to new non-shared
        # subscriptions only.
        base = uniq("shr")
        pub = self.v5()
        pub.publish(base + "/t", b"retained", 1, retain=True)
        pub.publish(base + "/marker", b"marker", 1, retain=True)
        m = self.v5()
        m.subscribe("$share/g/%s/t" % base, 1)
        m.subscribe(base + "/marker", 1)
        self.assertEqual([x.payload for x in m.collect(0.4, limit=2)], [b"marker"])

    def test_shared_subscription_with_no_local_is_protocol_error(self):
        # [MQTT-3.8.3-4].
        c = self.v5()
        c.send(mqttraw.subscribe(1, [("$share/g/" + uniq("nl"),
                                      mqttraw.sub_options(1, no_local=True))], 5))
        self.assertIn(disconnect_codes(c.expect_closed()),
                      ([], [(DISCONNECT, mqttraw.RC_PROTOCOL_ERROR)]))
        self.roundtrip(5)

    def test_invalid_shared_subscription_filters_refused(self):
        # 4.8.2: ShareName is at least one character, without "/", "+" or
        # "#", and is followed by "/" and a filter.  SUBACK 0x8F, or a
        # DISCONNECT (0x81 / 0x82 / 0x8F) and close.
        for flt in ("$share/g", "$share//t", "$share/+/t", "$share/#/t", "$share/g+/t"):
            with self.subTest(filter=flt):
                c = self.v5()
                c.send(mqttraw.subscribe(1, [(flt, 1)], 5))
                try:
                    p = c.recv_packet()
                except mqttraw.ConnectionClosed:
                    continue
                if p.type == SUBACK:
                    self.assertEqual(p.codes, [mqttraw.RC_TOPIC_FILTER_INVALID])
                else:
                    self.assertEqual(p.type, DISCONNECT, p)
                    self.assertIn(p.reason, (0x81, 0x82, 0x8F))
                    c.expect_closed()
        self.roundtrip(5)


class InflightBytesTest(BrokerTestCase):
    BROKER_CONFIG = ["max_inflight_bytes 100"]
    BROKER_SCOPE = "class"

    def test_max_inflight_bytes_limits_unacknowledged_payload(self):
        # Outgoing QoS 1/2 messages wait while the payload bytes in flight
        # would pass max_inflight_bytes (one message always may go).
        topic = uniq("mib")
        sub = self.connected(version=4)
        sub.subscribe(topic, 1)
        sub.auto_ack = False
        pub = self.connected(version=4)
        pub.publish_many([(topic, bytes([65 + i]) * 60, 1) for i in range(3)]
                         + [(topic, b"big" * 100, 1), (topic, b"t", 1)])
        first = sub.collect(0.5, limit=5)
        self.assertEqual([len(m.payload) for m in first], [60])
        sub.send(mqttraw.puback(first[0].pid))
        second = sub.collect(0.5, limit=5)
        self.assertEqual([len(m.payload) for m in second], [60])
        sub.send(mqttraw.puback(second[0].pid))
        third = sub.collect(0.5, limit=5)
        self.assertEqual([len(m.payload) for m in third], [60])
        sub.send(mqttraw.puback(third[0].pid))
        # 300 bytes alone: allowed, as nothing else is in flight.
        big = sub.collect(0.5, limit=5)
        self.assertEqual([len(m.payload) for m in big], [300])
        sub.send(mqttraw.puback(big[0].pid))
        self.assertEqual(sub.expect_publish().payload, b"t")

    def test_qos0_is_not_limited(self):
        topic = uniq("mib0")
        sub = self.connected(version=4)
        sub.subscribe(topic, 0)
        pub = self.connected(version=4)
        pub.publish_many([(topic, b"y" * 80, 1) for _ in range(5)])
        self.assertEqual(len(sub.collect(0.5, limit=5)), 5)


if __name__ == "__main__":
    unittest.main()
