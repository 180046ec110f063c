"""bench/benchlib.py - helpers for the report steps of the bench scripts
(imported by their embedded Python; the scripts run from the repository
root, so they add "bench" to sys.path)."""
import subprocess


def cpu_model():
    """The CPU's model name from /proc/cpuinfo."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def mosq_version(mosq):
    """The first line of `mosquitto -h` (its version)."""
    try:
        p = subprocess.run([mosq, "-h"], capture_output=True, text=True)
        return (p.stdout or p.stderr).splitlines()[0]
    except Exception:
        return "unknown"
