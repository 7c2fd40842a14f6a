# RaftEngine top-level entry points.
#   make          release build of libraftengine.so (Swift runtime linked in statically)
#   make test     install what is missing, build, run every test suite (Swift, C, Python)
#   make install  library, header and raftengine.pc under $(PREFIX)
#   make bench    release build, then the benchmarks (figures, never assertions)
SWIFT ?= swift
PREFIX ?= /usr/local
CC ?= cc
# Release products skip the runtime exclusivity checks (the compile-time ones stay; debug
# builds, which every test runs, keep both): ~14% more commits/s at 1024 in flight.
OPT_FLAGS = -c release -Xswiftc -enforce-exclusivity=unchecked
RELEASE_FLAGS = $(OPT_FLAGS) -Xswiftc -static-stdlib
LIBDIR = .build/release
BUILD_C = .build/c

.PHONY: all build lib node test test-swift test-c test-python test-install test-wheel test-node test-demo wheel deps demo bench install clean

all: lib

build: lib

# The shared library: SONAME libraftengine.so.0 and only the header's functions exported.
SONAME = libraftengine.so.0
LIB_LINK_FLAGS = -Xlinker --version-script=$(abspath scripts/raftengine.map) -Xlinker -soname=$(SONAME)

lib:
	$(SWIFT) build $(RELEASE_FLAGS) $(LIB_LINK_FLAGS) --product raftengine
	@ln -sf libraftengine.so $(LIBDIR)/$(SONAME)

# raftengine-node with the Swift runtime inside: it runs on a machine without the toolchain.
node:
	$(SWIFT) build $(OPT_FLAGS) --static-swift-stdlib --product raftengine-node

# A local 3-node raftengine-node cluster driven with redis-cli (data under ./.demo).
demo:
	@./scripts/ensure-deps.sh libuv1-dev libssl-dev pkg-config redis-tools
	$(SWIFT) build $(OPT_FLAGS) --static-swift-stdlib --product raftengine-node
	./scripts/demo.sh

# Debian packages the build and tests need; installed only when missing (iproute2 and
# nftables: the partition tests' namespaces, bridge and fault rules).
deps:
	@./scripts/ensure-deps.sh libuv1-dev libssl-dev pkg-config valgrind python3 redis-tools iproute2 nftables

test: deps test-swift test-c test-python test-install test-wheel test-node test-demo

test-swift:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

$(BUILD_C):
	mkdir -p $(BUILD_C)

# Every bindings/c/test_*.c is a C test program; each runs under valgrind (no errors, no
# definite leaks).
C_TESTS = $(patsubst bindings/c/%.c,$(BUILD_C)/%,$(wildcard bindings/c/test_*.c))
VALGRIND = valgrind --error-exitcode=3 --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite

$(BUILD_C)/%: bindings/c/%.c bindings/c/*.h include/raftengine.h | $(BUILD_C)
	$(CC) -std=c11 -Wall -Wextra -Werror -g -Iinclude $< -L$(LIBDIR) -lraftengine -Wl,-rpath,$(abspath $(LIBDIR)) -lpthread -o $@

# valgrind 3.19 gives up on the DWARF 5 debug info of the Swift runtime inside the library
# ("possibly corrupted debuginfo file"), so the C tests run against a copy without debug
# sections; its symbol table stays, so reports still name functions.
VALGRIND_LIB = $(BUILD_C)/valgrind-lib

test-c: lib $(C_TESTS) $(BUILD_C)/example_cluster
	@cmp -s include/raftengine.h Sources/CRaftEngineABI/include/raftengine.h && echo "header copies equal" || { echo "include/raftengine.h and Sources/CRaftEngineABI/include/raftengine.h differ: the library is built from one, hosts compile against the other"; exit 1; }
	python3 scripts/check_exports.py $(LIBDIR)/libraftengine.so
	@readelf -d $(LIBDIR)/libraftengine.so | grep -q 'SONAME.*\[$(SONAME)\]' && echo "SONAME $(SONAME)" || { echo "libraftengine.so has no SONAME $(SONAME)"; exit 1; }
	@mkdir -p $(VALGRIND_LIB) && strip --strip-debug -o $(VALGRIND_LIB)/$(SONAME) $(LIBDIR)/libraftengine.so
	@for t in $(C_TESTS); do echo "== $$t"; LD_LIBRARY_PATH=$(abspath $(VALGRIND_LIB)) $(VALGRIND) $$t || exit 1; done

test-python: lib
	@python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
	RAFTENGINE_LIBRARY=$(abspath $(LIBDIR))/libraftengine.so PYTHONPATH=bindings/python python3 -m pytest -q bindings/python/tests

# `make install` into a scratch prefix, then build and run the C example through pkg-config,
# as a user of the installed library would.
# `make install` into a scratch prefix, then build the C example through pkg-config, as a user
# of the installed library would; scripts/check_install.sh then proves the installed library
# and raftengine-node need no Swift toolchain (readelf, and runs with it hidden).
test-install: lib node
	rm -rf .build/install-check && $(MAKE) --no-print-directory install PREFIX=$(abspath .build/install-check) >/dev/null
	PKG_CONFIG_PATH=$(abspath .build/install-check)/lib/pkgconfig sh -c '$(CC) bindings/c/example_cluster.c $$(pkg-config --cflags --libs raftengine) -lpthread -Wl,-rpath,$(abspath .build/install-check)/lib -o .build/install-check/example'
	./scripts/check_install.sh $(abspath .build/install-check)

# The Python package as users get it: a platform wheel carrying the library, installed into
# a fresh venv and run with the toolchain out of sight.
wheel: lib
	python3 -m pip wheel -q bindings/python -w .build/wheels
	@ls .build/wheels/raftengine-*.whl

test-wheel: lib
	./tests/packaging/check_wheel.sh

# raftengine-node end to end: real processes on loopback, Redis-protocol clients; the
# partition tests put each node in a network namespace (they skip, saying why, without root).
# `make demo`'s script, run as a test so the README's main command cannot break unseen
# (it did once: INFO gained Redis's replication `role` line before the Raft one).
test-demo: node
	@mkdir -p $(BUILD_C)
	./scripts/demo.sh > $(BUILD_C)/demo.log 2>&1 || { tail -n 30 $(BUILD_C)/demo.log; exit 1; }
	@echo "make demo's script: ok"

test-node:
	$(SWIFT) build --product raftengine-node
	@python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
	@# redis-py: the client tests drive the node as Python users do (they skip without it).
	@python3 -c "import redis" 2>/dev/null || python3 -m pip install -q redis
	python3 -m pytest -q -p no:cacheprovider tests/e2e

bench:
	@python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install -q matplotlib || echo "no matplotlib: bench/plot.py writes an SVG"
	$(SWIFT) build $(OPT_FLAGS) --product raftengine-bench
	./.build/release/raftengine-bench all
	@$(MAKE) --no-print-directory bench-raft

# RaftEngine next to canonical/raft: the same 3-server in-process cluster, 64-byte commands at
# 1 / 64 / 1024 in flight, snapshots off and every 100,000 entries, trials alternating between
# the two (bench/canonical/run.py; medians, ratios, the load average per trial). Their side is
# bench/canonical/raft_bench.c against Debian's libraft-dev, a benchmark-only dependency
# installed here (never by `make test`); when it cannot be installed or the harness does not
# build, a note says so and RaftEngine's figures are printed alone. ~4 minutes after the build.
# BENCH_RAFT_ARGS passes options, e.g. "--rounds 5 --inflight 1 --snapshots 0".
CANONICAL_BENCH = .build/canonical/raft-bench
BENCH_RAFT_ARGS ?=
.PHONY: bench-raft canonical-harness
canonical-harness:
	@mkdir -p $(dir $(CANONICAL_BENCH))
	@$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror bench/canonical/disk_floor.c -lpthread -o $(dir $(CANONICAL_BENCH))disk-floor
	@{ ./scripts/ensure-deps.sh libraft-dev libuv1-dev pkg-config && \
	   $(CC) -std=gnu11 -O2 -Wall -Wextra -Werror bench/canonical/raft_bench.c $$(pkg-config --cflags --libs raft libuv) -lpthread -o $(CANONICAL_BENCH); } \
	 || { rm -f $(CANONICAL_BENCH); echo "NOTE: libraft-dev could not be installed or bench/canonical/raft_bench.c did not build: no canonical/raft figures in this run"; }

bench-raft: canonical-harness
	$(SWIFT) build $(OPT_FLAGS) --product raftengine-bench
	python3 bench/canonical/run.py $(BENCH_RAFT_ARGS)

# Python: raftengine's bindings next to pysyncobj (3 processes each, loopback, a Python counter,
# 64-byte commands; bench/python/run.py). pysyncobj is a benchmark-only dependency, installed
# from PyPI into the scratch venv .build/bench-python-venv (never by `make test`). ~4 minutes.
# BENCH_PYTHON_ARGS passes options, e.g. "--bindings HEAD" or "--profile 1000".
BENCH_PYTHON_ARGS ?=
.PHONY: bench-python
bench-python: lib
	python3 bench/python/run.py $(BENCH_PYTHON_ARGS)

# raftengine-node against redis-server with appendfsync always: a 3-node cluster and one redis,
# both on loopback, redis-benchmark alternating between them (bench/node/run.py; medians and
# ratios). redis-server is a benchmark-only dependency, installed here (never by `make test`).
# ~2 minutes after the build. BENCH_NODE_ARGS passes options, e.g. "--rounds 1" or "--tests 'SET -P16'".
BENCH_NODE_ARGS ?=
.PHONY: bench-node
bench-node: node
	@./scripts/ensure-deps.sh redis-server redis-tools
	python3 bench/node/run.py $(BENCH_NODE_ARGS)

# The version comes from the header's macro: one place.
VERSION := $(shell sed -n 's/^\#define RAFTENGINE_VERSION_STRING "\(.*\)"/\1/p' include/raftengine.h)

# The stripped library (with its SONAME links), the header, raftengine.pc and raftengine-node.
install: lib node
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	strip --strip-unneeded -o $(DESTDIR)$(PREFIX)/lib/libraftengine.so.$(VERSION) $(LIBDIR)/libraftengine.so
	chmod 0755 $(DESTDIR)$(PREFIX)/lib/libraftengine.so.$(VERSION)
	strip -o $(DESTDIR)$(PREFIX)/bin/raftengine-node $(LIBDIR)/raftengine-node
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/raftengine-node
	ln -sf libraftengine.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libraftengine.so
	install -m 0644 include/raftengine.h $(DESTDIR)$(PREFIX)/include/raftengine.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' raftengine.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/raftengine.pc
	-ldconfig 2>/dev/null

clean:
	rm -rf .build
