# Thin wrapper over CMake: the two set-up commands of README.md, plus the
# sanitizer and fuzz builds CI runs.  Everything real lives in CMakeLists.txt.
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifneq ($(CI),)
CMAKE_FLAGS += -DSTARLING_WERROR=ON
endif

.PHONY: all deps build run test test-asan test-tsan fuzz bench clean

all: build

deps:
	@sh deploy/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

# Starts the broker in the foreground with deploy/starling.conf (port 1883,
# anonymous clients); ARGS adds options, e.g. make run ARGS=-v.
run: build
	exec build/bin/starling -c deploy/starling.conf $(ARGS)

test: build
	cd build && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan with clang, which also builds and briefly runs the fuzzers.
test-asan: deps
	CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
		-DSTARLING_SANITIZE=address -DSTARLING_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

test-tsan: deps
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug \
		-DSTARLING_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -LE fuzz

# Longer fuzzing session: make fuzz SECONDS=600
SECONDS ?= 600
fuzz: deps
	tests/fuzz/run-fuzz.sh $(SECONDS)

bench: build
	build/bin/starling-codec-bench

clean:
	rm -rf build build-asan build-tsan build-fuzz
