"""11 sys: the $SYS/broker/... topics.

Published every sys_interval seconds as retained messages with Mosquitto's
names: version, uptime, clients, messages and bytes, subscriptions and
retained counts, load averages and heap.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, uniq, wait_until  # noqa: E402
from broker import broker_binary  # noqa: E402

# Sanitizer runtimes replace malloc and keep no glibc heap statistics, so
# the broker publishes no heap topics there.
SANITIZED = any(d in broker_binary() for d in ("build-asan", "build-tsan"))
HEAP = [] if SANITIZED else ["heap/current", "heap/maximum"]

NAMES = [
    "version", "uptime", "clients/connected", "clients/total",
    "clients/disconnected", "clients/maximum", "messages/received",
    "messages/sent", "bytes/received", "bytes/sent", "subscriptions/count",
    "retained messages/count",
] + ["load/%s/%s" % (k, m)
     for k in ("messages/received", "messages/sent", "bytes/received",
               "bytes/sent", "connections")
     for m in ("1min", "5min", "15min")]


class SysTest(BrokerTestCase):
    BROKER_CONFIG = ["sys_interval 1"]

    def snapshot(self, c, want=NAMES, quiet=1.5):
        """Reads $SYS messages until every name in want was seen; returns
        the latest value of each."""
        seen = {}

        def more():
            for m in c.collect(0.2):
                self.assertTrue(m.topic.startswith("$SYS/broker/"), m.topic)
                seen[m.topic[len("$SYS/broker/"):]] = m.payload.decode()
            return all(n in seen for n in want)
        wait_until(more, timeout=5, what="$SYS topics %s" % want)
        return seen

    def test_every_topic_is_published_and_retained(self):
        c = self.connected()
        c.subscribe("$SYS/broker/#", 0)
        first = self.snapshot(c, NAMES + HEAP)
        self.assertTrue(first["version"].startswith("starling version "))
        self.assertRegex(first["uptime"], r"^\d+ seconds$")
        for n in NAMES[2:] + HEAP:
            self.assertRegex(first[n], r"^\d+(\.\d+)?$", n)
        # Retained: a new subscriber gets them at once, with retain set.
        late = self.connected()
        late.subscribe("$SYS/broker/version", 0)
        m = late.expect_publish(timeout=1.0)
        self.assertTrue(m.retain)
        self.assertEqual(m.payload.decode(), first["version"])

    def test_counters_follow_traffic(self):
        watcher = self.connected()
        watcher.subscribe("$SYS/broker/#", 0)
        before = self.snapshot(watcher)
        topic = uniq("sysc")
        sub = self.connected()
        sub.subscribe(topic, 1)
        pub = self.connected()
        n = 50
        pub.publish_many([(topic, b"x" * 100, 1) for _ in range(n)])
        self.assertEqual(len(sub.collect(0.3, limit=n)), n)

        def grown():
            now = self.snapshot(watcher, NAMES + HEAP, quiet=0.3)
            ok = (int(now["messages/received"]) >= int(before["messages/received"]) + n
                  and int(now["bytes/received"]) >= int(before["bytes/received"]) + n * 100
                  and int(now["clients/connected"]) >= 3
                  and int(now["subscriptions/count"]) >= 2
                  and float(now["load/messages/received/1min"]) > 0
                  and float(now["load/connections/1min"]) > 0)
            return now if ok else None
        now = wait_until(grown, timeout=6, what="$SYS counters to count the traffic")
        if HEAP:
            self.assertGreaterEqual(int(now["heap/maximum"]), int(now["heap/current"]))
            self.assertGreater(int(now["heap/current"]), 0)
        # Averages over longer windows move more slowly.
        self.assertGreaterEqual(float(now["load/messages/received/1min"]),
                                float(now["load/messages/received/15min"]))
        sub.disconnect()
        pub.disconnect()
        self.roundtrip()


if __name__ == "__main__":
    unittest.main()
