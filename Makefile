# fedflow - top-level commands (see README.md). The build itself is Meson.
PY      ?= /usr/bin/python3
BUILD   ?= build
ASAN    ?= build-asan
PYTEST  = $(PY) -m pytest -q -p no:cacheprovider
JOBS    ?= 2

.PHONY: all build build-asan deps test test-unit test-integration test-full demo bench help clean

all: build

help:
	@echo "make            build fedflowd, fedflow, fedflow-component (Meson, ./$(BUILD))"
	@echo "make deps       install the missing Debian packages (apt-get, idempotent)"
	@echo "make test       deps + build + unit tests (also under ASan+UBSan) + integration tests"
	@echo "make test-full  make test plus the long runs (big datasets, soak, faults, crypto)"
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

$(BUILD)/.srclist-$(SRCLIST): | $(BUILD)/build.ninja
	meson setup --reconfigure $(BUILD) >/dev/null
	rm -f $(BUILD)/.srclist-*
	touch $@

$(ASAN)/.srclist-$(SRCLIST): | $(ASAN)/build.ninja
	meson setup --reconfigure $(ASAN) >/dev/null
	rm -f $(ASAN)/.srclist-*
	touch $@

build: $(BUILD)/.srclist-$(SRCLIST)
	ninja -C $(BUILD)

build-asan: $(ASAN)/.srclist-$(SRCLIST)
	ninja -C $(ASAN)

test-unit: build build-asan
	meson test -C $(BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN) --suite unit --print-errorlogs

# Integration tests run against the sanitizer build: a leak, an overflow or
# undefined behaviour in the daemon fails the test that triggered it.
test-integration: build build-asan
	FEDFLOW_BUILD=$(CURDIR)/$(ASAN) $(PYTEST) tests/integration

test: deps
	$(MAKE) test-unit test-integration

test-full: deps
	$(MAKE) test-unit
	FEDFLOW_FULL=1 FEDFLOW_BUILD=$(CURDIR)/$(ASAN) $(PYTEST) tests/integration

demo: deps build
	@scripts/demo

bench: deps build
	@scripts/bench

clean:
	rm -rf $(BUILD) $(ASAN)
