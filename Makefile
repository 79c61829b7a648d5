# The front door. Everything here is a thin call into CMake, ctest or
# instar-harness; see README.md and docs/.

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
HARNESS = $(BUILD)/harness/instar-harness

.PHONY: all build harness test matrix baselines profiles conform nightly bench bench-harness \
        bench-instar format clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Only the harness, so that a broken target elsewhere does not stop baselines.
harness: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-harness

# Everything CI runs: see ci/test.
test:
	ci/test

# The qemu-img matrix and the baselines/profiles it gives; see docs/harness.md.
matrix: harness
	$(HARNESS) matrix

# The commands come from the command table: `instar-harness commands`
# (docs/commands.md). baselines-<command> is not .PHONY (a pattern rule is
# never used for a phony target); depending on the phony harness runs it
# every time all the same.
baselines-%: harness
	$(HARNESS) generate --command $*

baselines: harness
	@commands=$$($(HARNESS) commands --names) || exit 1; \
	  $(MAKE) --no-print-directory $$(printf 'baselines-%s ' $$commands)

profiles: harness
	$(HARNESS) profiles

# instar against every profile of each command it implements, with instar's
# default sandbox; reports in $(BUILD)/conform/. See docs/harness.md,
# "Conformance".
conform: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-harness instar
	@commands=$$($(HARNESS) commands --conform) || exit 1; \
	status=0; for command in $$commands; do \
	  $(HARNESS) conform --command $$command --jobs $(JOBS) \
	    --junit $(BUILD)/conform/$$command.junit.xml --json $(BUILD)/conform/$$command.json \
	    --html $(BUILD)/conform/$$command.html || status=1; \
	done; exit $$status

# The main job on whatever matrix is present (the system qemu-img when
# qemu-img-binaries/ is absent): see ci/nightly.
nightly:
	ci/nightly

bench: bench-harness bench-instar

# instar measure/info against qemu-img, per sandbox backend, same inputs.
bench-instar: build
	bench/instar_bench.sh $(BUILD)

# Full measure + create generation over the matrix into a scratch directory;
# prints wall time, children's CPU and the harness's overhead.
bench-harness: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-bench-harness
	$(BUILD)/bench/instar-bench-harness

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
