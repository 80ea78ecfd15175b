# hvsim top-level driver. `make` builds build/hvsim; `make run` and `make test` first install
# what is missing (scripts/install-deps.sh), then build and run.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     := $(if $(CI),ON,OFF)
SCENARIO   ?= scenarios/none/spinlock-x86_64.yaml

.PHONY: all deps build run test bench clean

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

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target hvsim-bench
	$(BUILD)/hvsim-bench $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
