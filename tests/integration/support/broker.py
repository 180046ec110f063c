"""broker - start a real MQTT broker for one test (or one test class).

    with Broker(["max_packet_size 1000"]) as b:
        c = RawClient(b.port)

Broker picks a free TCP port on 127.0.0.1, writes a Mosquitto-syntax config

    listener PORT 127.0.0.1
    allow_anonymous true
    <extra lines given by the test>

into a fresh temporary directory and starts the broker binary with
`-c CONFIG`, its stdout and stderr going to a log file there.  It waits until
the port accepts connections.

Which binary: the environment variable STARLING_BROKER, a path; the value
"mosquitto" means /usr/sbin/mosquitto.  Default: build/bin/starling of this
repository.

On exit it stops the process it started, by PID: SIGTERM, then SIGKILL after
a timeout.  It fails (AssertionError) if the broker crashed: it exited on its
own before we stopped it, it was killed by a signal other than our SIGTERM,
it did not exit after SIGTERM, it exited with a non-zero status, or its log
holds a sanitizer report (ASan, LSan, UBSan, TSan).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MOSQUITTO = "/usr/sbin/mosquitto"

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: ThreadSanitizer",
    "ERROR: ThreadSanitizer",
    "runtime error:",            # UBSan
    "ERROR: UndefinedBehaviorSanitizer",
)


def broker_binary():
    """The broker to test, from STARLING_BROKER."""
    value = os.environ.get("STARLING_BROKER", "")
    if value == "mosquitto":
        return MOSQUITTO
    if value:
        return os.path.abspath(value)
    return os.path.join(REPO, "build", "bin", "starling")


def is_mosquitto():
    """True when the broker under test is Mosquitto (for the few places
    where a test reports a known Mosquitto deviation more precisely)."""
    return os.path.basename(broker_binary()).startswith("mosquitto")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class BrokerError(AssertionError):
    pass


class Broker:
    """A broker process; use as a context manager, or call start()/stop()."""

    START_TIMEOUT = 10.0
    STOP_TIMEOUT = 10.0

    def __init__(self, config=None, binary=None):
        self.extra = list(config or [])
        self.binary = binary or broker_binary()
        self.proc = None
        self.port = None
        self.dir = None
        self.conf_path = None
        self.log_path = None
        self._log = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise BrokerError("broker binary %s is missing or not executable "
                              "(set STARLING_BROKER=mosquitto or a path)" % self.binary)
        self.dir = tempfile.mkdtemp(prefix="starling-itest.")
        self.conf_path = os.path.join(self.dir, "broker.conf")
        self.log_path = os.path.join(self.dir, "broker.log")
        # Another process may grab the port between free_port() and the
        # broker's bind; retry a few times with a new port then.
        for attempt in range(5):
            self.port = free_port()
            with open(self.conf_path, "w") as f:
                f.write("listener %d 127.0.0.1\n" % self.port)
                f.write("allow_anonymous true\n")
                for line in self.extra:
                    f.write(line + "\n")
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([self.binary, "-c", self.conf_path],
                                         stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=self.dir)
            if self._wait_listening():
                return self
            rc = self.proc.poll()
            if rc is None:
                self._kill()
                self._log.close()
                self.proc = None
                raise BrokerError("broker did not accept on port %d within %.0f s; log:\n%s"
                                  % (self.port, self.START_TIMEOUT, self.log_text()[-4000:]))
            self._log.close()
            self.proc = None
            log = self.log_text()
            if "in use" not in log.lower() or attempt == 4:
                raise BrokerError("broker exited with status %d at start; log:\n%s"
                                  % (rc, log[-4000:]))
        return self

    def _wait_listening(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def log_text(self):
        """Everything the broker wrote to stdout and stderr so far."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def rss_kb(self):
        """The broker's resident set size in KiB (VmRSS)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BrokerError("no VmRSS for pid %d" % self.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self):
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        """Stops the broker and raises BrokerError if it had crashed."""
        if self.proc is None:
            return
        problems = []
        rc = self.proc.poll()
        if rc is not None:
            problems.append("broker exited on its own with status %d before the "
                            "test stopped it" % rc)
        else:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                rc = self.proc.returncode
                problems.append("broker did not exit within %.0f s of SIGTERM; "
                                "killed" % self.STOP_TIMEOUT)
            else:
                if rc < 0:
                    problems.append("broker died of signal %d after SIGTERM" % -rc)
                elif rc != 0:
                    problems.append("broker exited with status %d after SIGTERM" % rc)
        if self._log:
            self._log.close()
        log = self.log_text()
        for marker in SANITIZER_MARKERS:
            if marker in log:
                problems.append("sanitizer report in the broker log (%r)" % marker)
                break
        self.proc = None
        if problems:
            raise BrokerError("; ".join(problems) + "\nconfig %s, log %s:\n%s"
                              % (self.conf_path, self.log_path, log[-6000:]))
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill9(self):
        """SIGKILL (a crash as far as the broker can tell); checks the log
        for sanitizer reports so far.  Call restart() next."""
        self._kill()
        self._log.close()
        log = self.log_text()
        for marker in SANITIZER_MARKERS:
            if marker in log:
                raise BrokerError("sanitizer report in the broker log (%r):\n%s"
                                  % (marker, log[-6000:]))

    def stop_clean(self):
        """SIGTERM and wait, like stop(), but keeps the directory for a
        restart()."""
        os.kill(self.proc.pid, signal.SIGTERM)
        rc = self.proc.wait(self.STOP_TIMEOUT)
        self._log.close()
        if rc != 0:
            raise BrokerError("broker exited with status %d after SIGTERM:\n%s"
                              % (rc, self.log_text()[-6000:]))

    def restart(self):
        """Starts the broker again after kill9() or stop_clean(): same
        directory (so the same store), config and port."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        if not self._wait_listening():
            raise BrokerError("broker did not come back on port %d; log:\n%s"
                              % (self.port, self.log_text()[-4000:]))
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False
