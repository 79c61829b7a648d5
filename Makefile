# The front door. Everything here is a thin call into CMake, ctest or
# instar-harness; see README.md and docs/.

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
HARNESS = $(BUILD)/harness/instar-harness

.PHONY: all build harness test matrix baselines profiles conform nightly bench bench-harness \
        bench-instar bench-create bench-dd bench-zstd bench-convert format clean

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
# default sandbox; each command's JSON report in $(BUILD)/conform/<command>.json,
# and the run's page, JUnit XML and JSON in $(BUILD)/conform/index.html,
# junit.xml and results.json, compared with the run before (whose
# results.json becomes previous-results.json). See docs/harness.md,
# "Conformance" and "One report for the run".
conform: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-harness instar
	@commands=$$($(HARNESS) commands --conform) || exit 1; \
	out=$(BUILD)/conform; previous=; reports=; status=0; mkdir -p $$out; \
	if [ -f $$out/results.json ]; then \
	  mv $$out/results.json $$out/previous-results.json; \
	  previous="--previous $$out/previous-results.json"; \
	fi; \
	for command in $$commands; do \
	  rm -f $$out/$$command.json; \
	  $(HARNESS) conform --command $$command --jobs $(JOBS) --json $$out/$$command.json \
	    || status=1; \
	  if [ -f $$out/$$command.json ]; then reports="$$reports $$out/$$command.json"; fi; \
	done; \
	if [ -n "$$reports" ]; then $(HARNESS) report --out $$out $$previous $$reports || status=1; fi; \
	exit $$status

# The main job on whatever matrix is present (the system qemu-img when
# qemu-img-binaries/ is absent): see ci/nightly.
nightly:
	ci/nightly

bench: bench-harness bench-instar bench-create bench-dd bench-zstd bench-convert

# instar measure/info against qemu-img, per sandbox backend, same inputs.
bench-instar: build
	bench/instar_bench.sh $(BUILD)

# instar create against qemu-img create, per sandbox backend, same cases.
bench-create: build
	bench/create_bench.sh $(BUILD)

# instar dd against qemu-img dd, 1 GiB raw to qcow2 (docs/instar.md).
bench-dd: build
	bench/dd_bench.sh $(BUILD)

# instar convert against qemu-img convert (issue 14's conversions, with and
# without -c), per sandbox backend, in the same run.
bench-convert: build
	bench/convert_bench.sh $(BUILD)

# Full measure + create generation over the matrix into a scratch directory;
# prints wall time, children's CPU and the harness's overhead.
bench-harness: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-bench-harness
	$(BUILD)/bench/instar-bench-harness

# The zstd encoder on 64 KiB clusters beside libzstd (docs/formats/qcow2.md).
bench-zstd: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target instar-bench-zstd
	$(BUILD)/bench/instar-bench-zstd

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
