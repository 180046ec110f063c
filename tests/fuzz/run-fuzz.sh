#!/usr/bin/env bash
# run-fuzz.sh - fuzz the proto/ decoder locally for a bounded time.
#
#   tests/fuzz/run-fuzz.sh [SECONDS]      (default 600)
#
# Configures build-fuzz/ (clang, ASan+UBSan, STARLING_FUZZ=ON) if it has no
# cache yet, builds fuzz_decode, and runs it for SECONDS.  New inputs go to
# build-fuzz/fuzz-corpus/decode (seeded from tests/fuzz/corpus/decode, which
# is only read), crash, leak, timeout and OOM reproducers to
# build-fuzz/fuzz-artifacts/.  Exits 1 if this run wrote a reproducer or the
# fuzzer failed, 0 otherwise.
#
# Environment:
#   FUZZ_JOBS       parallel fuzzer processes (default 1)
#   FUZZ_BUILD_DIR  build directory (default <repo>/build-fuzz)
#   CC              compiler for a fresh configure (default clang)
#
# To turn a reproducer into a regression seed, minimise it with
#   build-fuzz/tests/fuzz_decode -minimize_crash=1 -runs=10000 FILE
# and add a cmocka regression test for it (STYLE.md, section Tests).
set -euo pipefail

secs=${1:-600}
jobs=${FUZZ_JOBS:-1}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
	echo "usage: $0 [SECONDS]" >&2
	exit 2
fi
if ! [[ $jobs =~ ^[0-9]+$ ]] || ((jobs < 1)); then
	echo "$0: FUZZ_JOBS must be a positive integer" >&2
	exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seeds=$root/tests/fuzz/corpus/decode
work=$build/fuzz-corpus/decode
art=$build/fuzz-artifacts
logs=$build/fuzz-logs

if [[ ! -f $build/CMakeCache.txt ]]; then
	CC=${CC:-clang} cmake -S "$root" -B "$build" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSTARLING_SANITIZE=address -DSTARLING_FUZZ=ON
fi
# Bounded like the fuzz run itself, so a wedged build cannot hang CI.
timeout 1800 cmake --build "$build" --target fuzz_decode -j "$(nproc)"

mkdir -p "$work" "$art" "$logs"
cp -n "$seeds"/* "$work"/ 2>/dev/null || true

stamp=$(mktemp "$build/fuzz-stamp.XXXXXX")
trap 'rm -f "$stamp"' EXIT

args=(
	-max_total_time="$secs"
	-dict="$root/tests/fuzz/decode.dict"
	-max_len=4096
	-rss_limit_mb=2048
	-timeout=10
	-print_final_stats=1
	-artifact_prefix="$art/"
)
if ((jobs > 1)); then
	# Each job runs for max_total_time; with as many workers as jobs they
	# all run at once.  Their logs (fuzz-N.log) go to the cwd.
	args+=(-jobs="$jobs" -workers="$jobs")
fi

# Reproducers of fixed bugs are read as seeds too.
readonly_dirs=("$seeds")
if [[ -d $root/tests/fuzz/crashes ]]; then
	readonly_dirs+=("$root/tests/fuzz/crashes")
fi

echo "fuzzing for ${secs}s with $jobs process(es); corpus $work"
rc=0
(cd "$logs" && timeout --kill-after=30 $((secs + 120)) \
	"$build/tests/fuzz_decode" "${args[@]}" "$work" \
	"${readonly_dirs[@]}") || rc=$?

found=$(find "$art" -type f -newer "$stamp" \
	\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
	-o -name 'oom-*' \) | sort)
if [[ -n $found ]]; then
	echo "fuzz_decode wrote reproducers:" >&2
	echo "$found" >&2
	exit 1
fi
if ((rc != 0)); then
	echo "fuzz_decode exited with status $rc" >&2
	exit 1
fi
echo "no crash in ${secs}s"
