"""12 persistence: kill -9 loses nothing acknowledged (persistence true).

Publishers send sequenced QoS 1 and QoS 2 messages to persistent
subscribers, some online and some offline, and the broker is killed with
SIGKILL at random moments, then restarted on the same store.  At the end
every message whose PUBACK or PUBCOMP a publisher received must have
reached every subscriber (QoS 1 at least once, QoS 2 exactly once), and
retained messages must be there.  Also: sessions, subscriptions, QoS 2
state and expiry survive restarts.

The subscribers here are careful receivers: a QoS 2 PUBLISH whose packet id
awaits PUBREL is a duplicate (the broker resends with the same id after a
restart), as the specification's method A says.
"""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, RawClient, mqttraw, uniq, wait_until  # noqa: E402
from broker import Broker  # noqa: E402
from mqttraw import PUBLISH, PUBREL, ConnectionClosed  # noqa: E402

PERSIST = ["persistence true", "persistence_location data"]
SEI = mqttraw.SESSION_EXPIRY_INTERVAL


class Receiver:
    """A persistent subscriber that outlives its connections: it keeps the
    QoS 2 ids awaiting PUBREL and every message it accepted."""

    def __init__(self, cid, filt):
        self.cid = cid
        self.filt = filt
        self.got = {}             # (publisher, seq) -> times delivered
        self.awaiting_rel = set()
        self.client = None
        self.lock = threading.Lock()
        self.thread = None
        self.stop = False

    def connect(self, port, first=False):
        c = RawClient(port, 4, timeout=5.0)
        ack = c.connect(self.cid, clean=False)
        if first:
            c.subscribe(self.filt, 2)
        elif not ack.session_present:
            raise AssertionError("%s: session present 0 after a restart" % self.cid)
        self.client = c
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _accept(self, p):
        if p.type == PUBREL:
            self.awaiting_rel.discard(p.pid)
            return
        if p.type != PUBLISH:
            return
        if p.qos == 2:
            if p.pid in self.awaiting_rel:
                return  # a resend of one we have
            self.awaiting_rel.add(p.pid)
        key = p.payload.decode()
        with self.lock:
            self.got[key] = self.got.get(key, 0) + 1

    def _run(self):
        c = self.client
        while not self.stop:
            try:
                p = c.recv_packet(0.2)
            except TimeoutError:
                continue
            except (ConnectionClosed, OSError):
                return
            self._accept(p)

    def disconnect(self, clean=True):
        self.stop = True
        if self.thread:
            self.thread.join(5)
        if self.client:
            try:
                if clean:
                    self.client.disconnect()
            except OSError:
                pass
            self.client.close()
        self.client = None

    def count(self):
        with self.lock:
            return sum(self.got.values())


class Publisher(threading.Thread):
    """Publishes name:seq at qos until its connection breaks or it is told
    to stop; `acked` holds the sequence numbers fully acknowledged."""

    def __init__(self, port, name, qos, topic, next_seq):
        super().__init__(daemon=True)
        self.port = port
        self.name = name
        self.qos = qos
        self.topic = topic
        self.seq = next_seq
        self.acked = []
        self.halt = False

    def run(self):
        c = None
        try:
            c = RawClient(self.port, 4, timeout=3.0)
            c.connect(uniq("p"), clean=True)
            while not self.halt:
                payload = ("%s:%d" % (self.name, self.seq)).encode()
                r = c.publish(self.topic, payload, self.qos)
                if self.qos == 2 and r[1] is None:
                    raise AssertionError("PUBREC refused")
                self.acked.append(self.seq)
                self.seq += 1
                # Paced, so that the Python receivers keep up.
                time.sleep(0.02)
            c.disconnect()
            c.close()
        except (ConnectionClosed, OSError, TimeoutError):
            pass
        finally:
            if c is not None:
                c.close()
        self.seq += 1  # the one in flight may or may not have arrived


class KillTest(unittest.TestCase):
    PUBLISHERS = 20
    ITERATIONS = 20

    def test_sigkill_loses_nothing_acknowledged(self):
        rnd = random.Random(int(os.environ.get("STARLING_TEST_SEED", "12")))
        # No queue limit: every message here is acknowledged and must
        # arrive (max_queued_messages would drop, by design and counted).
        broker = Broker(PERSIST + ["max_queued_messages 0"]).start()
        self.addCleanup(broker.stop)
        base = uniq("kill")
        receivers = [Receiver(uniq("r"), base + "/#") for _ in range(4)]
        for r in receivers:
            r.connect(broker.port, first=True)
        acked = {}      # "pN:seq" -> qos
        next_seq = [0] * self.PUBLISHERS
        retained = {}   # topic -> last acknowledged payload
        for it in range(self.ITERATIONS):
            # Half of the receivers are offline during this round.
            offline = set(rnd.sample(range(len(receivers)), 2))
            for i in offline:
                receivers[i].disconnect()
            pubs = [Publisher(broker.port, "p%d" % k, 1 + k % 2,
                              "%s/%d" % (base, k), next_seq[k])
                    for k in range(self.PUBLISHERS)]
            for p in pubs:
                p.start()
            rc = RawClient(broker.port, 4, timeout=3.0)
            rc.connect(uniq("ret"))
            rtopic = "%s-ret/%d" % (base, it % 5)
            rc.publish(rtopic, b"r%d" % it, 1, retain=True)
            retained[rtopic] = b"r%d" % it
            rc.close()
            time.sleep(rnd.uniform(0.05, 0.6))
            if it == self.ITERATIONS - 1:
                for p in pubs:
                    p.halt = True
                for p in pubs:
                    p.join(10)
                broker.stop_clean()   # the last stop is a clean one
            else:
                broker.kill9()
            for p in pubs:
                p.join(10)
                self.assertFalse(p.is_alive(), "publisher %s hung" % p.name)
                for s in p.acked:
                    acked["%s:%d" % (p.name, s)] = p.qos
                next_seq[int(p.name[1:])] = p.seq
            for i, r in enumerate(receivers):
                if i not in offline:
                    r.disconnect(clean=False)
            broker.restart()
            for r in receivers:
                r.connect(broker.port)
        self.assertGreater(len(acked), 100, "too few messages went through")
        # Drain: everything acknowledged must arrive.
        want = len(acked)

        def complete():
            return all(all(k in r.got for k in acked) for r in receivers)
        try:
            wait_until(complete, timeout=30, what="every acknowledged message")
        except AssertionError:
            pass  # the checks below say what is missing
        for r in receivers:
            r.disconnect()
        for r in receivers:
            missing = [k for k in acked if k not in r.got]
            self.assertEqual(sorted(missing)[:10], [],
                             "%s lost %d of %d acknowledged messages"
                             % (r.cid, len(missing), want))
            dups = [k for k, n in r.got.items() if n > 1 and acked.get(k, 2) == 2
                    and int(k.split(":")[0][1:]) % 2 == 1]
            self.assertEqual(dups[:10], [], "%s got QoS 2 messages twice" % r.cid)
        # Retained messages: the last acknowledged value of each topic.
        c = RawClient(broker.port, 4)
        c.connect(uniq("rc"))
        c.subscribe(base + "-ret/#", 1)
        got = {m.topic: m.payload for m in c.collect(0.5)}
        c.close()
        self.assertEqual(got, retained)


class PersistenceTest(BrokerTestCase):
    BROKER_CONFIG = PERSIST

    def restart(self, kill=True):
        if kill:
            self.broker.kill9()
        else:
            self.broker.stop_clean()
        self.broker.restart()

    def test_session_and_subscriptions_survive_restart(self):
        for kill in (True, False):
            with self.subTest(kill=kill):
                cid = uniq("ss")
                topic = uniq("sst")
                c = self.connected(cid, version=5, clean=True,
                                   props={SEI: 3600})
                c.subscribe([(topic + "/a", 1), (topic + "/b", 2)])
                c.disconnect()
                self.restart(kill)
                c = self.client(5)
                ack = c.connect(cid, clean=False, props={SEI: 3600})
                self.assertTrue(ack.session_present)
                pub = self.connected(version=5)
                pub.publish(topic + "/a", b"A", 1)
                pub.publish(topic + "/b", b"B", 2)
                got = sorted((m.topic, m.payload, m.qos) for m in c.collect(0.5, limit=2))
                self.assertEqual(got, [(topic + "/a", b"A", 1), (topic + "/b", b"B", 2)])

    def test_queued_messages_survive_kill_in_order(self):
        cid = uniq("q")
        topic = uniq("qt")
        c = self.connected(cid, clean=False)
        c.subscribe(topic, 1)
        c.disconnect()
        pub = self.connected()
        pub.publish_many([(topic, b"%d" % i, 1) for i in range(50)])
        self.restart()
        c = self.client(4)
        self.assertTrue(c.connect(cid, clean=False).session_present)
        self.assertEqual([m.payload for m in c.collect(0.5, limit=50)],
                         [b"%d" % i for i in range(50)])
        # Acknowledged by the subscriber: gone for good after a clean
        # stop.  (A kill -9 right after a PUBACK may resend that message:
        # the deletion is not waited for, which QoS 1 allows.)
        c.ping()   # the broker has read the PUBACKs before this
        c.disconnect()
        self.restart(kill=False)
        c = self.client(4)
        c.connect(cid, clean=False)
        c.assert_nothing(0.4)

    def test_session_expiry_holds_across_restart(self):
        cid = uniq("e")
        c = self.connected(cid, version=5, props={SEI: 1})
        c.subscribe(uniq("et"), 1)
        c.disconnect()
        self.restart()
        time.sleep(1.5)
        c = self.client(5)
        self.assertFalse(c.connect(cid, clean=False, props={SEI: 1}).session_present)

    def test_clean_session_is_not_kept(self):
        cid = uniq("cl")
        c = self.connected(cid, clean=True)
        c.subscribe(uniq("clt"), 1)
        c.disconnect()
        self.restart()
        c = self.client(4)
        self.assertFalse(c.connect(cid, clean=False).session_present)

    def test_qos2_in_flight_to_subscriber_resumes_with_same_id(self):
        cid = uniq("q2")
        topic = uniq("q2t")
        sub = self.connected(cid, clean=False)
        sub.subscribe(topic, 2)
        sub.auto_ack = False
        pub = self.connected()
        pub.publish(topic, b"once", 2)
        m = sub.expect_publish()
        self.assertEqual(m.qos, 2)
        self.restart()   # no PUBREC was sent
        sub = self.client(4)
        sub.auto_ack = False
        self.assertTrue(sub.connect(cid, clean=False).session_present)
        again = sub.expect_publish()
        self.assertEqual((again.payload, again.pid, again.dup), (b"once", m.pid, True))
        sub.send(mqttraw.pubrec(m.pid))
        rel = sub.expect(PUBREL)
        self.assertEqual(rel.pid, m.pid)
        self.restart()   # PUBREL seen, no PUBCOMP: PUBREL again
        sub = self.client(4)
        sub.auto_ack = False
        sub.connect(cid, clean=False)
        rel = sub.expect(PUBREL)
        self.assertEqual(rel.pid, m.pid)
        sub.send(mqttraw.pubcomp(m.pid))
        sub.assert_nothing(0.4)

    def test_incoming_qos2_id_survives_restart(self):
        # PUBREC received: the message is ours; a resend of the PUBLISH
        # after a restart must not deliver it twice.
        cid = uniq("q2in")
        topic = uniq("q2in")
        sid = uniq("q2s")
        sub = self.connected(sid, clean=False)
        sub.subscribe(topic, 2)
        pub = self.connected(cid, clean=False)
        pub.send(mqttraw.publish(topic, b"x", 2, pid=7))
        self.assertEqual(pub.expect(mqttraw.PUBREC).pid, 7)
        self.assertEqual(sub.expect_publish().payload, b"x")
        sub.expect(PUBREL)   # the subscriber's side is done (PUBCOMP sent)
        self.restart()
        pub = self.client(4)
        self.assertTrue(pub.connect(cid, clean=False).session_present)
        pub.send(mqttraw.publish(topic, b"x", 2, dup=True, pid=7))
        self.assertEqual(pub.expect(mqttraw.PUBREC).pid, 7)
        pub.send(mqttraw.pubrel(7))
        self.assertEqual(pub.expect(mqttraw.PUBCOMP).pid, 7)
        sub = self.client(4)
        self.assertTrue(sub.connect(sid, clean=False).session_present)
        sub.assert_nothing(0.5)   # it had "x" once, before the restart

    def test_retained_survive_kill_and_clear(self):
        topic = uniq("rt")
        pub = self.connected()
        pub.publish(topic + "/1", b"one", 1, retain=True)
        pub.publish(topic + "/2", b"two", 0, retain=True)
        pub.publish(topic + "/3", b"three", 1, retain=True)
        pub.publish(topic + "/3", b"", 1, retain=True)   # cleared
        # (The QoS 0 one is committed by now: commits are in order and
        # the later PUBACKs waited for theirs.)
        self.restart()
        c = self.connected()
        c.subscribe(topic + "/#", 1)
        got = sorted((m.topic, m.payload) for m in c.collect(0.5))
        self.assertEqual(got, [(topic + "/1", b"one"), (topic + "/2", b"two")])

    def test_will_of_a_connection_lost_in_a_crash_is_published(self):
        topic = uniq("wt")
        w = self.client(4)
        w.connect(uniq("w"), clean=False, will={"topic": topic, "payload": b"gone", "qos": 1,
                                                 "retain": True})
        # The SUBACK waits for a commit that follows the session's (with
        # its will): after it, the will is on disk.
        w.subscribe(uniq("wsync"), 1)
        self.restart()
        c = self.connected()
        c.subscribe(topic, 1)
        m = c.expect_publish()
        self.assertEqual(m.payload, b"gone")

    def test_dump_storage_lists_what_is_kept(self):
        import subprocess
        cid = uniq("dump")
        c = self.connected(cid, clean=False)
        c.subscribe("dump/topic", 1)
        c.disconnect()
        self.connected().publish("dump/topic", b"hello", 1)
        self.broker.stop_clean()
        out = subprocess.run([self.broker.binary, "--dump-storage",
                              os.path.join(self.broker.dir, "data")],
                             capture_output=True, text=True, timeout=30)
        self.broker.restart()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1 sessions", out.stdout)
        self.assertIn(cid, out.stdout)
        self.assertIn("dump/topic", out.stdout)
        self.assertIn("1 queued entries", out.stdout)



class DiskFullTest(unittest.TestCase):
    """Item 6: a full disk refuses what needs the store (MQTT 5: 0x80 for
    the batch that failed, then 0x97; 3.1.1: close), QoS 0 keeps flowing,
    and everything works again when space returns."""

    def setUp(self):
        import subprocess
        import tempfile
        self.mnt = tempfile.mkdtemp(prefix="starling-full.")
        self.addCleanup(os.rmdir, self.mnt)
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" % r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", self.mnt])
        self.broker = Broker(["persistence true",
                              "persistence_location %s/data" % self.mnt]).start()
        self.addCleanup(self.broker.stop)
        self.clients = []
        self.addCleanup(lambda: [c.close() for c in self.clients])

    def client(self, version, cid=None, clean=True):
        c = RawClient(self.broker.port, version, timeout=5.0)
        self.clients.append(c)
        c.connect(cid or uniq("df"), clean=clean)
        return c

    def fill(self):
        path = os.path.join(self.mnt, "filler")
        with open(path, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        return path

    def test_full_disk_refuses_then_recovers(self):
        topic = uniq("full")
        dur_cid = uniq("dur")
        durable = self.client(4, dur_cid, clean=False)
        durable.subscribe(topic, 1)
        durable.disconnect()
        live = self.client(4)
        live.subscribe(topic, 1)
        # Everything written so far is committed once this PUBACK (held
        # for its own commit; commits are in order) arrives.
        self.client(4).publish(uniq("sync"), b"s", 1, retain=True)
        filler = self.fill()

        # The batch that fails: its publisher is disconnected (0x80).
        p5 = self.client(5)
        p5.send(mqttraw.publish(topic, b"lost-1", 1, pid=1, version=5))
        got = p5.expect_closed()
        self.assertEqual([(p.type, p.reason) for p in got],
                         [(mqttraw.DISCONNECT, mqttraw.RC_UNSPECIFIED)])
        # Degraded now: refused at once with 0x97.
        p5 = self.client(5)
        ack = p5.publish(topic, b"lost-2", 1)
        self.assertEqual(ack.reason, 0x97)
        # 3.1.1 cannot say so: closed.
        p4 = self.client(4)
        p4.send(mqttraw.publish(topic, b"lost-3", 1, pid=1))
        self.assertEqual(p4.expect_closed(), [])
        # QoS 0 flows, to everyone online.
        self.client(4).publish(topic, b"q0", 0)
        # (The online, non-durable subscriber may also have "lost-1": it
        # was routed to it at once; its publisher got no PUBACK and would
        # send it again, which QoS 1 allows.)
        got = [m.payload for m in live.collect(0.5)]
        self.assertIn(b"q0", got)
        self.assertNotIn(b"lost-2", got)
        self.assertNotIn(b"lost-3", got)
        self.assertIn("storage commit failed", self.broker.log_text())

        # Space returns: within a few probes QoS 1 is accepted again.
        os.unlink(filler)
        deadline = time.monotonic() + 10
        while True:
            ack = self.client(5).publish(topic, b"back", 1)
            if ack.reason == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(ack.reason, 0)
        self.assertIn("succeed again", self.broker.log_text())
        # The durable subscriber gets what was acknowledged, nothing refused.
        d = RawClient(self.broker.port, 4)
        self.clients.append(d)
        self.assertTrue(d.connect(dur_cid, clean=False).session_present)
        payloads = [m.payload for m in d.collect(0.5)]
        self.assertIn(b"back", payloads)
        for lost in (b"lost-1", b"lost-2", b"lost-3"):
            self.assertNotIn(lost, payloads)


if __name__ == "__main__":
    unittest.main()
