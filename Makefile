# RaftEngine top-level entry points.
#   make        release build
#   make test   install what is missing, build, run every test suite
SWIFT ?= swift
PREFIX ?= /usr/local

.PHONY: all build test test-swift deps bench clean

all: build

build:
	$(SWIFT) build -c release

# Debian packages the later layers need (libuv for the runtime); installed only when missing.
deps:
	@./scripts/ensure-deps.sh libuv1-dev pkg-config

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench:
	$(SWIFT) build -c release --product raftengine-bench
	./.build/release/raftengine-bench all

clean:
	rm -rf .build
