"""harness - the unittest base class shared by tests/integration/broker.

BrokerTestCase starts one broker per test (BROKER_SCOPE = "test", the
default) or one per class ("class"), with the config lines in BROKER_CONFIG,
and closes every client a test made through self.client().  A broker that
crashed fails the test (or the class) in which it is stopped.
"""

import itertools
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from broker import Broker, is_mosquitto  # noqa: E402
import mqttraw  # noqa: E402
from mqttraw import RawClient  # noqa: E402

_counter = itertools.count(1)


def uniq(prefix="t"):
    """A name unique within this process run (client ids, topic roots)."""
    return "%s-%d-%d" % (prefix, os.getpid(), next(_counter))


def wait_until(cond, timeout=5.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a true value, which is returned;
    raises AssertionError at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class BrokerTestCase(unittest.TestCase):
    BROKER_CONFIG = []
    BROKER_SCOPE = "test"

    @classmethod
    def setUpClass(cls):
        cls._class_broker = None
        if cls.BROKER_SCOPE == "class":
            cls._class_broker = Broker(cls.BROKER_CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        if cls._class_broker is not None:
            b, cls._class_broker = cls._class_broker, None
            b.stop()

    def setUp(self):
        self._clients = []
        if self._class_broker is not None:
            self.broker = self._class_broker
            if not self.broker.alive():
                self.fail("the class's broker is no longer running:\n%s"
                          % self.broker.log_text()[-3000:])
        else:
            self.broker = Broker(self.BROKER_CONFIG).start()
            self.addCleanup(self.broker.stop)
        self.addCleanup(self._close_clients)

    def _close_clients(self):
        for c in self._clients:
            c.close()

    @property
    def port(self):
        return self.broker.port

    def client(self, version=4, timeout=5.0):
        """A RawClient connected at TCP level only (no CONNECT yet)."""
        c = RawClient(self.port, version, timeout)
        self._clients.append(c)
        return c

    def connected(self, client_id=None, version=4, clean=True, keepalive=60,
                  props=None, will=None, timeout=5.0):
        """A RawClient that has sent CONNECT and received CONNACK 0."""
        c = self.client(version, timeout)
        c.connect(uniq("c") if client_id is None else client_id, clean,
                  keepalive, props, will)
        return c

    def roundtrip(self, version=4, qos=1):
        """Publishes one message from a new client to another new client and
        checks it arrives: the broker still serves new connections."""
        topic = uniq("rt")
        sub = self.connected(version=version)
        self.assertEqual(sub.subscribe(topic, qos).codes, [qos])
        pub = self.connected(version=version)
        pub.publish(topic, b"ping", qos)
        m = sub.expect_publish()
        self.assertEqual((m.topic, m.payload, m.qos), (topic, b"ping", qos))
        pub.disconnect()
        sub.disconnect()


__all__ = ["Broker", "BrokerTestCase", "RawClient", "mqttraw", "uniq",
           "wait_until", "is_mosquitto"]
