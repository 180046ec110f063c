"""09 load: many concurrent connections.

10,000 subscribers, spread over several worker processes (each process may
hold at most 20,000 open files; the broker needs 10,000 plus its own), all
connected at once and all receiving one broadcast QoS 1 message; then a
fan-in with per-publisher ordering.  The whole file is bounded in time
(about 60 s at most).

Environment: STARLING_LOAD_CLIENTS overrides the 10,000.
"""

import multiprocessing
import os
import selectors
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import BrokerTestCase, mqttraw, uniq  # noqa: E402

CLIENTS = int(os.environ.get("STARLING_LOAD_CLIENTS", "10000"))
WORKERS = 4
CONNECT_WINDOW = 64         # connections per worker still waiting for SUBACK
CONNECT_TIMEOUT = 40.0      # all clients connected and subscribed within this
DELIVERY_TIMEOUT = 15.0     # the broadcast reaches everyone within this


class _Conn:
    __slots__ = ("sock", "buf", "state", "version", "got", "ident")

    def __init__(self, sock, version, ident):
        self.sock = sock
        self.buf = bytearray()
        self.state = "connecting"
        self.version = version
        self.got = []
        self.ident = ident


def load_worker(port, first, count, topic, pipe):
    """Runs in a child process: opens `count` connections (client ids
    first..first+count-1; every fifth uses MQTT 5), each sending CONNECT and
    SUBSCRIBE(topic, QoS 1) back to back; reports ("ready", n, errors) once
    all are subscribed, then ("done", received, errors) once each received
    the broadcast (acknowledging it) or at the deadline.  All sockets are
    reset at the end."""
    sel = selectors.DefaultSelector()
    conns = []
    errors = []
    pending = list(range(count))
    waiting = 0
    ready = 0
    received = 0
    phase = "connect"
    deadline = time.monotonic() + CONNECT_TIMEOUT

    def start_one(i):
        version = 5 if i % 5 == 0 else 4
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect_ex(("127.0.0.1", port))
        c = _Conn(s, version, first + i)
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)

    try:
        while True:
            if phase == "connect":
                while pending and waiting < CONNECT_WINDOW:
                    start_one(pending.pop(0))
                    waiting += 1
                if not pending and waiting == 0:
                    pipe.send(("ready", ready, errors[:5]))
                    phase = "deliver"
                    pipe.recv()                 # "go": the broadcast is coming
                    deadline = time.monotonic() + DELIVERY_TIMEOUT
            if phase == "deliver" and received + len(errors) >= count:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                errors.append("%s phase timed out" % phase)
                if phase == "connect":
                    pipe.send(("ready", ready, errors[:5]))
                    pipe.recv()
                break
            for key, ev in sel.select(min(left, 1.0)):
                c = key.data
                s = c.sock
                if c.state == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        errors.append("connect: %s" % os.strerror(err))
                        sel.unregister(s)
                        c.state = "dead"
                        waiting -= 1
                        continue
                    props = {mqttraw.RECEIVE_MAXIMUM: 10} if c.version == 5 else None
                    s.send(mqttraw.connect("load-%d" % c.ident, c.version, props=props)
                           + mqttraw.subscribe(1, [(topic, 1)], c.version))
                    c.state = "connack"
                    sel.modify(s, selectors.EVENT_READ, c)
                    continue
                try:
                    data = s.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:
                    errors.append("client %d closed by broker in state %s" % (c.ident, c.state))
                    sel.unregister(s)
                    if c.state in ("connack", "suback"):
                        waiting -= 1
                    c.state = "dead"
                    continue
                c.buf += data
                while True:
                    n = mqttraw.split_packet(c.buf)
                    if n is None:
                        break
                    p = mqttraw.parse_packet(bytes(c.buf[:n]), c.version)
                    del c.buf[:n]
                    if c.state == "connack":
                        if p.type != mqttraw.CONNACK or p.rc != 0:
                            errors.append("client %d: %r" % (c.ident, p))
                        c.state = "suback"
                    elif c.state == "suback":
                        if p.type != mqttraw.SUBACK or p.codes != [1]:
                            errors.append("client %d: %r" % (c.ident, p))
                        c.state = "subscribed"
                        waiting -= 1
                        ready += 1
                    elif p.type == mqttraw.PUBLISH:
                        if p.qos:
                            s.send(mqttraw.puback(p.pid, c.version))
                        c.got.append((p.topic, p.payload, p.qos))
                        if len(c.got) == 1:
                            received += 1
                    else:
                        errors.append("client %d: unexpected %r" % (c.ident, p))
        bad = [c.got for c in conns if c.state != "dead" and len(c.got) != 1]
        if bad:
            errors.append("%d clients got %r (first)" % (len(bad), bad[0]))
        payloads = {g for c in conns for g in c.got}
        pipe.send(("done", received, errors[:5], sorted(payloads)))
    finally:
        for c in conns:
            try:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.sock.close()
            except OSError:
                pass


class LoadTest(BrokerTestCase):
    # The fan-in sends 2,000 QoS 1 messages to one subscriber in a burst:
    # more than the default queue of 1,000 would hold.
    BROKER_CONFIG = ["max_queued_messages 10000"]

    def test_10000_subscribers_receive_one_broadcast(self):
        topic = uniq("bcast")
        ctx = multiprocessing.get_context("fork")
        per = [CLIENTS // WORKERS + (1 if i < CLIENTS % WORKERS else 0) for i in range(WORKERS)]
        procs, pipes = [], []
        t0 = time.monotonic()
        first = 0
        for n in per:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=load_worker, args=(self.port, first, n, topic, child))
            p.start()
            procs.append(p)
            pipes.append(parent)
            first += n
        try:
            ready = 0
            for pipe in pipes:
                if not pipe.poll(CONNECT_TIMEOUT + 10):
                    self.fail("a worker did not report")
                msg = pipe.recv()
                self.assertEqual(msg[0], "ready")
                self.assertEqual(msg[2], [], "worker errors while connecting")
                ready += msg[1]
            t_connected = time.monotonic() - t0
            self.assertEqual(ready, CLIENTS)
            rss = self.broker.rss_kb()
            for pipe in pipes:
                pipe.send("go")
            pub = self.connected(version=4)
            t1 = time.monotonic()
            pub.publish(topic, b"to-everyone", 1)
            received = 0
            for pipe in pipes:
                if not pipe.poll(DELIVERY_TIMEOUT + 10):
                    self.fail("a worker did not report delivery")
                msg = pipe.recv()
                self.assertEqual(msg[0], "done")
                self.assertEqual(msg[2], [], "worker errors in delivery")
                self.assertEqual(msg[3], [(topic, b"to-everyone", 1)])
                received += msg[1]
            t_delivered = time.monotonic() - t1
            self.assertEqual(received, CLIENTS)
            sys.stderr.write("\n  %d clients: connected+subscribed in %.1f s, broadcast "
                             "delivered in %.2f s, broker RSS %d MiB\n"
                             % (CLIENTS, t_connected, t_delivered, rss // 1024))
        finally:
            for p in procs:
                p.join(15)
                if p.is_alive():
                    p.kill()
                    p.join()
        # The broker is still serving after 10,000 resets.
        self.roundtrip(5)

    def test_fan_in_keeps_per_publisher_order(self):
        topic = uniq("fanin")
        sub = self.connected(version=5)
        sub.subscribe(topic + "/#", 1)
        pubs = [self.connected(version=4 if i % 2 else 5) for i in range(50)]
        n = 40
        for i, p in enumerate(pubs):
            p.send(b"".join(mqttraw.publish("%s/%d" % (topic, i), b"%d" % k, 1, pid=k + 1,
                                            version=p.version) for k in range(n)))
        seen = {}
        for _ in range(len(pubs) * n):
            m = sub.expect_publish(timeout=20)
            seen.setdefault(m.topic, []).append(int(m.payload))
        self.assertEqual(len(seen), len(pubs))
        for t, got in seen.items():
            self.assertEqual(got, list(range(n)), t)
        for p in pubs:
            acks = [p.expect(mqttraw.PUBACK).pid for _ in range(n)]
            self.assertEqual(sorted(acks), list(range(1, n + 1)))


if __name__ == "__main__":
    unittest.main()
