#!/bin/sh
# Installs the Debian 12 packages Starling needs to build and test, and
# nothing else.  Idempotent: when everything is present it only says so.
# Run as root (or with sudo available); CI and `make` call it.
set -eu

# Build: compiler, CMake, and the libraries of the design card.
BUILD="gcc make cmake pkg-config libuv1-dev libnng-dev liblmdb-dev libssl-dev"
# Tests: cmocka, clang + libFuzzer/sanitizer runtimes for the fuzz build,
# and the real peers the integration tests and benchmarks drive: Mosquitto
# (broker and clients), Python 3 with paho-mqtt.
TEST="libcmocka-dev clang libclang-rt-14-dev mosquitto mosquitto-clients
python3 python3-paho-mqtt"

missing=""
for p in $BUILD $TEST; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all dependencies present"
	exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: not root and no sudo; as root run:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
