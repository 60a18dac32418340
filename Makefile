# The README's two commands. Each does its own set-up on a fresh Debian 12 machine.
#   make test   build with ASan+UBSan and the fuzz targets, run the whole suite (ctest)
#   make soak   the main job: mmbot soaked against a chaotic bybit-sim (scripts/soak-mmbot),
#               DURATION=10m by default, DURATION=24h for the runbook's soak
# Other targets: build (release), bench, format, clean.

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
TEST_DIR  ?= build/test
REL_DIR   ?= build/release
DURATION  ?= 10m
SOAK_ARGS ?=

.PHONY: all deps build test soak bench format clean

all: build

deps:
	@scripts/install-deps

$(REL_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(REL_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(REL_DIR)/CMakeCache.txt
	cmake --build $(REL_DIR) -j $(JOBS)

$(TEST_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(TEST_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	      -DSANITIZE=ON -DFUZZ=ON >/dev/null

test: deps $(TEST_DIR)/CMakeCache.txt
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

soak: build
	SOAK_ARGS="$(SOAK_ARGS)" SOAK_BIN_DIR=$(REL_DIR) scripts/soak-mmbot $(DURATION)

bench: build
	bench/run-all

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
