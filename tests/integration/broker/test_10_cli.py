"""10 cli: third-party clients against the broker.

mosquitto_pub and mosquitto_sub (from mosquitto-clients) over MQTT 3.1,
3.1.1 and 5.0: plain and QoS 1/2 messages, MQTT 5 properties, retained
messages, persistent sessions, wills, wildcards and stdin input.  A
subscriber is known to be subscribed when its debug output (-d) shows the
SUBACK.

Then the Eclipse Paho Python client (Debian's python3-paho-mqtt 1.6, run
with /usr/bin/python3) over 3.1.1 and 5.0.
"""

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, uniq  # noqa: E402

try:
    import paho.mqtt.client as paho
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError:          # not Debian's /usr/bin/python3
    paho = None

PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
# mosquitto_sub's stdout is a pipe here: make it line buffered, or its
# debug lines (used to see the SUBACK) would wait in its buffer.
STDBUF = shutil.which("stdbuf")
TIMEOUT = 10.0
FMT = "MSG|%t|%p|%q|%r"


class Sub:
    """A running mosquitto_sub whose stdout lines are read by a thread."""

    def __init__(self, test, args):
        self.test = test
        prefix = [STDBUF, "-oL"] if STDBUF else []
        self.proc = subprocess.Popen(prefix + [SUB, "-h", "127.0.0.1", "-p", str(test.port), "-d"]
                                     + args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        self.all = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.all.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_line(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.test.fail("mosquitto_sub: no %s within %.0f s; output:\n%s"
                               % (what, timeout, "\n".join(self.all)))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.test.fail("mosquitto_sub exited (%s) before %s; output:\n%s"
                               % (self.proc.wait(), what, "\n".join(self.all)))
            if pred(line):
                return line

    def wait_subscribed(self):
        return self.wait_line(lambda l: "received SUBACK" in l, "SUBACK")

    def messages(self, n, prefix="MSG|"):
        return [self.wait_line(lambda l: l.startswith(prefix), "message %d" % (i + 1))
                for i in range(n)]

    def wait_exit(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.test.fail("mosquitto_sub did not exit; output:\n%s" % "\n".join(self.all))

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc.stdout.close()
        self.thread.join(5)


class CliTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    @classmethod
    def setUpClass(cls):
        for tool in (PUB, SUB):
            if not os.access(tool, os.X_OK):
                raise unittest.SkipTest("%s not installed (package mosquitto-clients)" % tool)
        super().setUpClass()

    def pub(self, args, stdin=None, expect_rc=0):
        p = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.port)] + args,
                           input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=TIMEOUT)
        self.assertEqual(p.returncode, expect_rc, p.stdout.decode("utf-8", "replace"))
        return p

    def sub(self, args):
        return Sub(self, args)

    def test_pub_sub_each_protocol_version(self):
        for version in ("mqttv31", "mqttv311", "mqttv5"):
            with self.subTest(version=version):
                topic = uniq("cli")
                s = self.sub(["-V", version, "-t", topic, "-C", "1", "-F", FMT])
                s.wait_subscribed()
                self.pub(["-V", version, "-t", topic, "-m", "hello " + version])
                self.assertEqual(s.messages(1), ["MSG|%s|hello %s|0|0" % (topic, version)])
                self.assertEqual(s.wait_exit(), 0)

    def test_qos_levels(self):
        for version in ("mqttv311", "mqttv5"):
            for qos in ("1", "2"):
                with self.subTest(version=version, qos=qos):
                    topic = uniq("cliq")
                    s = self.sub(["-V", version, "-q", qos, "-t", topic, "-C", "1", "-F", FMT])
                    s.wait_subscribed()
                    self.pub(["-V", version, "-q", qos, "-t", topic, "-m", "q" + qos])
                    self.assertEqual(s.messages(1), ["MSG|%s|q%s|%s|0" % (topic, qos, qos)])
                    self.assertEqual(s.wait_exit(), 0)

    def test_mixed_versions(self):
        topic = uniq("climix")
        s = self.sub(["-V", "mqttv5", "-q", "1", "-t", topic, "-C", "2", "-F", FMT])
        s.wait_subscribed()
        self.pub(["-V", "mqttv311", "-q", "1", "-t", topic, "-m", "from311"])
        self.pub(["-V", "mqttv31", "-q", "2", "-t", topic, "-m", "from31"])
        self.assertEqual(s.messages(2), ["MSG|%s|from311|1|0" % topic,
                                         "MSG|%s|from31|1|0" % topic])

    def test_v5_properties(self):
        topic = uniq("cliprop")
        s = self.sub(["-V", "mqttv5", "-q", "1", "-t", topic, "-C", "1",
                      "-F", "PROPS|%p|%C|%R|%D|%F|%P"])
        s.wait_subscribed()
        self.pub(["-V", "mqttv5", "-q", "1", "-t", topic, "-m", "with props",
                  "-D", "publish", "content-type", "text/plain",
                  "-D", "publish", "response-topic", topic + "/reply",
                  "-D", "publish", "correlation-data", "corr-42",
                  "-D", "publish", "payload-format-indicator", "1",
                  "-D", "publish", "user-property", "colour", "blue"])
        self.assertEqual(s.messages(1, "PROPS|"),
                         ["PROPS|with props|text/plain|%s/reply|corr-42|1|colour:blue" % topic])

    def test_v5_message_expiry_property(self):
        topic = uniq("cliexp")
        s = self.sub(["-V", "mqttv5", "-t", topic, "-C", "1", "-F", "EXP|%E"])
        s.wait_subscribed()
        self.pub(["-V", "mqttv5", "-t", topic, "-m", "e",
                  "-D", "publish", "message-expiry-interval", "120"])
        line = s.messages(1, "EXP|")[0]
        self.assertIn(int(line.split("|")[1]), (119, 120))

    def test_retained_message(self):
        for version in ("mqttv311", "mqttv5"):
            with self.subTest(version=version):
                topic = uniq("cliret")
                self.pub(["-V", version, "-q", "1", "-r", "-t", topic, "-m", "kept"])
                s = self.sub(["-V", version, "-q", "1", "-t", topic, "-C", "1", "-F", FMT])
                self.assertEqual(s.messages(1), ["MSG|%s|kept|1|1" % topic])
                self.assertEqual(s.wait_exit(), 0)
                # Cleared with a zero-length retained message.
                self.pub(["-V", version, "-r", "-t", topic, "-n"])
                self.pub(["-V", version, "-r", "-t", topic + "/m", "-m", "marker"])
                s = self.sub(["-V", version, "-t", topic, "-t", topic + "/m", "-C", "1",
                              "-F", FMT])
                self.assertEqual(s.messages(1), ["MSG|%s/m|marker|0|1" % topic])

    def test_wildcards_and_verbose_output(self):
        base = uniq("cliw")
        s = self.sub(["-t", base + "/a/#", "-t", base + "/+/c", "-v", "-C", "3"])
        s.wait_subscribed()
        for t in ("/a", "/a/b/c", "/x/c", "/x/d"):
            self.pub(["-t", base + t, "-m", "m" + t])
        got = s.messages(3, base)
        self.assertEqual(sorted(got), sorted(["%s/a m/a" % base, "%s/a/b/c m/a/b/c" % base,
                                              "%s/x/c m/x/c" % base]))
        self.assertEqual(s.wait_exit(), 0)

    def test_lines_from_stdin(self):
        topic = uniq("clil")
        s = self.sub(["-q", "1", "-t", topic, "-C", "3", "-F", FMT])
        s.wait_subscribed()
        self.pub(["-q", "1", "-t", topic, "-l"], stdin=b"one\ntwo\nthree\n")
        self.assertEqual(s.messages(3), ["MSG|%s|one|1|0" % topic, "MSG|%s|two|1|0" % topic,
                                         "MSG|%s|three|1|0" % topic])

    def test_large_message_from_stdin(self):
        topic = uniq("clibig")
        s = self.sub(["-V", "mqttv5", "-t", topic, "-C", "1", "-F", "LEN|%l"])
        s.wait_subscribed()
        self.pub(["-V", "mqttv5", "-q", "1", "-t", topic, "-s"], stdin=b"z" * 500000)
        self.assertEqual(s.messages(1, "LEN|"), ["LEN|500000"])

    def test_persistent_session_receives_offline_messages(self):
        for version, extra in (("mqttv311", []), ("mqttv5", ["-x", "60"])):
            with self.subTest(version=version):
                topic, cid = uniq("clis"), uniq("clisid")
                first = self.sub(["-V", version, "-c", "-i", cid, "-q", "1", "-t", topic, "-E"]
                                 + extra)
                self.assertEqual(first.wait_exit(), 0)   # -E: exit once subscribed
                self.pub(["-V", version, "-q", "1", "-t", topic, "-m", "offline-1"])
                self.pub(["-V", version, "-q", "2", "-t", topic, "-m", "offline-2"])
                again = self.sub(["-V", version, "-c", "-i", cid, "-q", "1", "-t", topic,
                                  "-C", "2", "-F", FMT] + extra)
                self.assertEqual(again.messages(2), ["MSG|%s|offline-1|1|0" % topic,
                                                     "MSG|%s|offline-2|1|0" % topic])
                self.assertEqual(again.wait_exit(), 0)

    def test_will_of_killed_client(self):
        topic = uniq("cliwill")
        watcher = self.sub(["-q", "1", "-t", topic, "-C", "1", "-F", FMT])
        watcher.wait_subscribed()
        victim = self.sub(["-V", "mqttv5", "-t", uniq("x"), "--will-topic", topic,
                           "--will-payload", "it died", "--will-qos", "1"])
        victim.wait_subscribed()
        victim.kill()                 # SIGKILL: no DISCONNECT
        self.assertEqual(watcher.messages(1), ["MSG|%s|it died|1|0" % topic])

    def test_pub_to_invalid_topic_fails_locally_or_at_broker(self):
        # mosquitto_pub refuses a wildcard topic itself (exit code 1); this
        # checks the broker stays fine after the attempt.
        self.pub(["-t", "bad/#", "-m", "x"], expect_rc=1)
        self.roundtrip(4)


@unittest.skipIf(paho is None, "paho-mqtt not importable (use /usr/bin/python3 with "
                 "python3-paho-mqtt)")
class PahoTest(BrokerTestCase):
    BROKER_SCOPE = "class"

    def paho_client(self, version, client_id=None, clean=True, props=None):
        """A connected Paho client running its network loop in a thread;
        received messages go to c.inbox."""
        if version == paho.MQTTv5:
            c = paho.Client(client_id=client_id or uniq("paho"), protocol=version)
        else:
            c = paho.Client(client_id=client_id or uniq("paho"), clean_session=clean,
                            protocol=version)
        c.inbox = queue.Queue()
        c.acks = queue.Queue()
        connected = threading.Event()
        c.connack = []

        def on_connect(client, userdata, flags, rc, properties=None):
            c.connack.append((flags, rc))
            connected.set()
        c.on_connect = on_connect
        c.on_message = lambda client, userdata, msg: c.inbox.put(msg)
        c.gone = threading.Event()
        c.on_disconnect = lambda client, userdata, rc, *rest: c.gone.set()
        c.on_subscribe = lambda client, userdata, mid, granted, *rest: c.acks.put((mid, granted))
        if version == paho.MQTTv5:
            c.connect("127.0.0.1", self.port, keepalive=30, clean_start=clean, properties=props)
        else:
            c.connect("127.0.0.1", self.port, keepalive=30)
        c.loop_start()

        def cleanup():
            c.disconnect()
            c.loop_stop()
        self.addCleanup(cleanup)
        self.assertTrue(connected.wait(TIMEOUT), "no CONNACK")
        rc = c.connack[0][1]
        self.assertEqual(getattr(rc, "value", rc), 0)
        return c

    def subscribe(self, c, topic, qos, props=None):
        result, mid = c.subscribe(topic, qos, properties=props)
        self.assertEqual(result, paho.MQTT_ERR_SUCCESS)
        got_mid, granted = c.acks.get(timeout=TIMEOUT)
        self.assertEqual(got_mid, mid)
        return [getattr(g, "value", g) for g in granted]

    def message(self, c):
        try:
            return c.inbox.get(timeout=TIMEOUT)
        except queue.Empty:
            self.fail("Paho client received no message")

    def test_paho_qos_levels(self):
        for version in (paho.MQTTv311, paho.MQTTv5):
            for qos in (0, 1, 2):
                with self.subTest(version=version, qos=qos):
                    topic = uniq("paho")
                    sub = self.paho_client(version)
                    self.assertEqual(self.subscribe(sub, topic, qos), [qos])
                    pub = self.paho_client(version)
                    info = pub.publish(topic, b"paho %d" % qos, qos)
                    info.wait_for_publish(TIMEOUT)
                    self.assertTrue(info.is_published())
                    m = self.message(sub)
                    self.assertEqual((m.topic, m.payload, m.qos, m.retain),
                                     (topic, b"paho %d" % qos, qos, False))

    def test_paho_v5_properties_and_subscription_identifier(self):
        topic = uniq("pahop")
        sub = self.paho_client(paho.MQTTv5)
        sprops = Properties(PacketTypes.SUBSCRIBE)
        sprops.SubscriptionIdentifier = 77
        self.assertEqual(self.subscribe(sub, topic, 1, sprops), [1])
        pub = self.paho_client(paho.MQTTv5)
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "text/plain"
        props.ResponseTopic = topic + "/reply"
        props.CorrelationData = b"\x01\x02"
        props.UserProperty = ("k1", "v1")
        props.UserProperty = ("k2", "v2")
        pub.publish(topic, "with properties", 1, properties=props).wait_for_publish(TIMEOUT)
        m = self.message(sub)
        self.assertEqual(m.payload, b"with properties")
        self.assertEqual(m.properties.ContentType, "text/plain")
        self.assertEqual(m.properties.ResponseTopic, topic + "/reply")
        self.assertEqual(m.properties.CorrelationData, b"\x01\x02")
        self.assertEqual(m.properties.UserProperty, [("k1", "v1"), ("k2", "v2")])
        self.assertEqual(m.properties.SubscriptionIdentifier, [77])

    def test_paho_retained_and_persistent_session(self):
        topic, cid = uniq("pahor"), uniq("pahos")
        pub = self.paho_client(paho.MQTTv311)
        pub.publish(topic + "/r", b"retained", 1, retain=True).wait_for_publish(TIMEOUT)
        sub = self.paho_client(paho.MQTTv311, cid, clean=False)
        self.subscribe(sub, topic + "/#", 1)
        m = self.message(sub)
        self.assertEqual((m.topic, m.payload, m.retain), (topic + "/r", b"retained", True))
        sub.disconnect()
        self.assertTrue(sub.gone.wait(TIMEOUT))
        sub.loop_stop()
        pub.publish(topic + "/q", b"queued", 1).wait_for_publish(TIMEOUT)
        again = self.paho_client(paho.MQTTv311, cid, clean=False)
        self.assertEqual(again.connack[0][0].get("session present"), 1)
        m = self.message(again)
        self.assertEqual((m.topic, m.payload, m.retain), (topic + "/q", b"queued", False))


if __name__ == "__main__":
    unittest.main()
