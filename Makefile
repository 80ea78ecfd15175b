# hvsim top-level driver. `make` builds build/hvsim; `make run` and `make test` first install
# what is missing (scripts/install-deps.sh), then build and run.
BUILD      ?= build
TEST_BUILD ?= build-test
FUZZ_BUILD ?= build-fuzz
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 600
FUZZ       ?= scenario trace steps hypercall
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     := $(if $(CI),ON,OFF)
SCENARIO   ?= scenarios/none/spinlock-x86_64.yaml

.PHONY: all deps build run test fuzz fuzz-build bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVSIM_WERROR=$(WERROR)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps
	$(MAKE) build
	$(BUILD)/hvsim run $(SCENARIO) -o $(BUILD)/default.db
	$(BUILD)/hvsim replay $(BUILD)/default.db

$(TEST_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHVSIM_SANITIZE=ON -DHVSIM_WERROR=$(WERROR)

test: deps
	@$(MAKE) --no-print-directory $(TEST_BUILD)/CMakeCache.txt
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS) -LE long
	@$(MAKE) --no-print-directory fuzz-build
	cd $(FUZZ_BUILD) && ctest -L fuzz --output-on-failure

# The libFuzzer harnesses (docs/testing.md) need clang: their own sanitized build, with -O1
# for speed and asserts on (warnings of this second compiler are not errors). Without a
# compiler that links -fsanitize=fuzzer it has no harness and `ctest -L fuzz` finds no test.
$(FUZZ_BUILD)/CMakeCache.txt:
	CC=$(FUZZ_CC) cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DHVSIM_SANITIZE=ON

fuzz-build:
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target hvsim-fuzz

# Each harness of FUZZ in turn for FUZZ_TIME seconds, its corpus kept in $(FUZZ_BUILD)/corpus.
fuzz: deps fuzz-build
	@for h in $(FUZZ); do \
	  tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz/fuzz-$$h $$h $(FUZZ_BUILD)/corpus time=$(FUZZ_TIME) \
	    $(FUZZ_BUILD)/hvsim || exit 1; \
	done

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target hvsim-bench
	$(BUILD)/hvsim-bench $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)
