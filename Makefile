# The front door. Everything here is a thin call into CMake, ctest or
# instar-harness; see README.md and docs/.

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
HARNESS = $(BUILD)/harness/instar-harness

.PHONY: all build test matrix baselines baselines-measure baselines-create profiles \
        nightly bench format clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Everything CI runs: see ci/test.
test:
	ci/test

matrix: build
	$(HARNESS) matrix

baselines-%: build
	$(HARNESS) generate --command $*

baselines: baselines-measure baselines-create

profiles: build
	$(HARNESS) profiles

# The main job on whatever matrix is present (the system qemu-img when
# qemu-img-binaries/ is absent): see ci/nightly.
nightly:
	ci/nightly

bench: build
	$(BUILD)/bench/instar-bench

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
