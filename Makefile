# fedflow - top-level commands (see README.md). The build itself is Meson.
PY      ?= /usr/bin/python3
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
# seconds each fuzz harness runs: make fuzz, make test, make test-full
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 10
FUZZ_FULL_SECONDS ?= 120
PYTEST  = $(PY) -m pytest -q -p no:cacheprovider
JOBS    ?= 2

# FATE's reference data and examples the tests read: ../shared beside the
# checkout, or, for a clone made elsewhere from such a checkout, the one
# beside its origin. Passed to the tests through the environment.
SHARED  ?= $(firstword $(wildcard $(CURDIR)/../shared) \
		$(wildcard $(shell git config --get remote.origin.url 2>/dev/null)/../shared))
ifneq ($(strip $(SHARED)),)
export FEDFLOW_SHARED := $(abspath $(SHARED))
export FF_SHARED_DIR := $(FEDFLOW_SHARED)
export FF_ML_DATA_DIR := $(FEDFLOW_SHARED)/data
endif

.PHONY: all build build-asan build-fuzz deps test test-unit test-integration test-fuzz test-full fuzz demo bench help clean

all: build

help:
	@echo "make            build fedflowd, fedflow, fedflow-component (Meson, ./$(BUILD))"
	@echo "make deps       install the missing Debian packages (apt-get, idempotent)"
	@echo "make test       deps + build + unit tests (also under ASan+UBSan) + integration tests + fuzz $(FUZZ_TEST_SECONDS) s each"
	@echo "make test-full  make test plus the long runs (big datasets, soak, faults, crypto, fuzz $(FUZZ_FULL_SECONDS) s each)"
	@echo "make fuzz       build the libFuzzer harnesses (clang, ./$(FUZZ)) and run each for FUZZ_SECONDS=$(FUZZ_SECONDS)"
	@echo "make demo       deps + build, start three sites and run FATE's quick-start job across them"
	@echo "make bench      run the benchmarks under bench/ and print their figures"
	@echo "make clean      remove the build folders"

deps:
	@scripts/deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN)/build.ninja:
	meson setup $(ASAN) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

# Optional sources are picked up at configure time (fs.exists in meson.build):
# reconfigure when the set of .c files changes.
SRCLIST := $(shell (git ls-files -co --exclude-standard -- '*.c' 2>/dev/null || true) | sort | md5sum | cut -c1-12)

# libFuzzer harnesses (fuzz/): clang, every target instrumented, sanitizers
# fatal, warnings errors as in the gcc builds.
$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false

$(BUILD)/.srclist-$(SRCLIST): | $(BUILD)/build.ninja
	meson setup --reconfigure $(BUILD) >/dev/null
	rm -f $(BUILD)/.srclist-*
	touch $@

$(ASAN)/.srclist-$(SRCLIST): | $(ASAN)/build.ninja
	meson setup --reconfigure $(ASAN) >/dev/null
	rm -f $(ASAN)/.srclist-*
	touch $@

$(FUZZ)/.srclist-$(SRCLIST): | $(FUZZ)/build.ninja
	meson setup --reconfigure $(FUZZ) >/dev/null
	rm -f $(FUZZ)/.srclist-*
	touch $@

FUZZ_TARGETS := $(patsubst %.c,%,$(wildcard fuzz/fuzz-*.c))

build: $(BUILD)/.srclist-$(SRCLIST)
	ninja -C $(BUILD)

build-asan: $(ASAN)/.srclist-$(SRCLIST)
	ninja -C $(ASAN)

build-fuzz: $(FUZZ)/.srclist-$(SRCLIST)
	ninja -C $(FUZZ) $(FUZZ_TARGETS)

test-unit: build build-asan
	meson test -C $(BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN) --suite unit --print-errorlogs

# Integration tests run against the sanitizer build: a leak, an overflow or
# undefined behaviour in the daemon fails the test that triggered it.
test-integration: build build-asan
	FEDFLOW_BUILD=$(CURDIR)/$(ASAN) $(PYTEST) tests/integration

# Every harness on a scratch copy of its seed corpus; a crash fails the
# target and prints the reproducer (scripts/fuzz).
test-fuzz: build-fuzz
	scripts/fuzz --build $(FUZZ) --seconds $(FUZZ_TEST_SECONDS)

fuzz: deps build-fuzz
	scripts/fuzz --build $(FUZZ) --seconds $(FUZZ_SECONDS)

test: deps
	$(MAKE) test-unit test-integration test-fuzz

test-full: deps
	$(MAKE) test-unit
	FEDFLOW_FULL=1 FEDFLOW_BUILD=$(CURDIR)/$(ASAN) $(PYTEST) tests/integration
	$(MAKE) test-fuzz FUZZ_TEST_SECONDS=$(FUZZ_FULL_SECONDS)

demo: deps build
	@scripts/demo

bench: deps build
	@scripts/bench

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
