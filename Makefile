# `make test` and `make demo` work on a fresh Debian machine with Rust and Python: they install
# what they need (PostgreSQL from Debian, moto into a project-local venv) first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO_FLAGS := --locked

NEO4J_SERVER := tests/neo4j-server
NEO4J_CLASSPATH := $(NEO4J_SERVER)/target/classpath.txt

.PHONY: help deps postgres java venv neo4j-server fmt-check clippy lint release test demo \
	lambda-target package bench reliability soak watch event invoke clean

help:
	@echo "make test     install what is missing, then fmt check, clippy, lint and every test"
	@echo "make demo     real rotations (PostgreSQL, Neo4j, a JWT key) against throwaway servers and moto,"
	@echo "              then rotate import/check/run/status/repair on a sample .env"
	@echo "make lint     check template.yaml offline with cfn-lint and checkov"
	@echo "make package  Lambda zips of the three functions (cargo-lambda), sizes printed;"
	@echo "              arm64, or ARCH=x86_64 where the arm64 target cannot be installed"
	@echo "make bench    time, count and size real rotations; writes bench/RESULTS.md"
	@echo "make reliability  run the fault suites and rewrite the README's reliability table"
	@echo "make soak     rotate 200 PostgreSQL and 50 Neo4j secrets at once; prints the figures"
	@echo "make watch    run the functions under cargo lambda watch (then make invoke in another shell)"
	@echo "make invoke FN=postgres|neo4j|jwt STEP=createSecret|... SECRET=<ARN> TOKEN=<AWSPENDING version> (or EVENT=<file>)"

deps: postgres venv neo4j-server

# Debian's PostgreSQL server (the tests start throwaway clusters from its binaries) and the
# openssl CLI (the TLS tests make their CA and certificates with it).
postgres:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian's packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi; \
	echo "PostgreSQL server: $$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"

# Java 17 and Maven build the Neo4j test server from Maven Central artifacts.
java:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian's packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

neo4j-server: java $(NEO4J_CLASSPATH)

$(NEO4J_CLASSPATH): $(NEO4J_SERVER)/pom.xml $(NEO4J_SERVER)/src/main/java/rotation/neo4j/Main.java
	mvn -q -B -f $(NEO4J_SERVER)/pom.xml package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt

venv: $(VENV)/.installed

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

fmt-check:
	cargo fmt --all --check

clippy:
	cargo clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

# cfn-lint checks the SAM template against the CloudFormation specification bundled with it;
# checkov scans it for security findings (those left open are justified in the template).
# Both run offline: checkov's --skip-download stops it from asking a web service for guidance.
lint: venv
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

# The release binaries, as Lambda runs them: tests/lambda drives them through the Runtime API.
release:
	cargo build $(CARGO_FLAGS) --release --bins

# The fault and hostile-input tests record what they survived; the README's reliability table
# must be what they recorded.
RELIABILITY_ROWS := $(CURDIR)/target/reliability/rows.jsonl
export ROTATION_RELIABILITY_ROWS := $(RELIABILITY_ROWS)

# cargo prints one result line per test binary, the last often a doc-test run with nothing in
# it; the totals line at the end says what the whole run did.
test: deps fmt-check clippy lint release
	@rm -f $(RELIABILITY_ROWS)
	@set -o pipefail; cargo test $(CARGO_FLAGS) --workspace 2>&1 | tee /dev/stderr | \
		awk '/^test result:/ { passed += $$4; failed += $$6 } \
		     END { printf "tests: %d passed, %d failed\n", passed, failed }'
	cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example reliability -- --check

# Runs the suites that record reliability rows and rewrites the README's reliability section.
reliability: deps release
	@rm -f $(RELIABILITY_ROWS)
	cargo test $(CARGO_FLAGS) -p integration-tests --test faults --test postgres --test neo4j
	cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example reliability -- --write

# The demo runs the operator's tool as a user would; a debug build shares the example's
# dependencies, so it costs little more than the example itself.
demo: deps
	cargo build $(CARGO_FLAGS) --quiet --bin rotate
	ROTATE_BIN=$(CURDIR)/target/debug/rotate cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example demo

# Lambda runs the functions on arm64 unless template.yaml's Architecture says x86_64; ARCH
# picks the same for the zips. cargo-lambda cross-links with zig (from the venv); the Rust
# standard library for the target comes from rustup.
ARCH ?= arm64
ifeq ($(ARCH),arm64)
LAMBDA_TARGET := aarch64-unknown-linux-gnu
LAMBDA_ARCH_FLAG := --arm64
else ifeq ($(ARCH),x86_64)
LAMBDA_TARGET := x86_64-unknown-linux-gnu
LAMBDA_ARCH_FLAG := --x86-64
else
$(error ARCH is arm64 or x86_64, not "$(ARCH)")
endif
LAMBDA := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda
FUNCTIONS := rotate-postgres rotate-neo4j rotate-jwt
BINS := $(addprefix --bin ,$(FUNCTIONS))

lambda-target:
	@rustup target list --installed 2>/dev/null | grep -qx $(LAMBDA_TARGET) || \
	rustup target add $(LAMBDA_TARGET) || { \
		echo "make package: the Rust target $(LAMBDA_TARGET) is not installed and rustup could" >&2; \
		echo "not install it on this machine. Install it where rustup can reach its server" >&2; \
		echo "(rustup target add $(LAMBDA_TARGET)), or build x86_64 zips with" >&2; \
		echo "'make package ARCH=x86_64' and deploy with Architecture=x86_64." >&2; \
		exit 1; }

package: venv lambda-target
	$(LAMBDA) build $(CARGO_FLAGS) --release $(LAMBDA_ARCH_FLAG) --output-format zip $(BINS)
	@for fn in $(FUNCTIONS); do \
		zip=target/lambda/$$fn/bootstrap.zip; \
		printf '%-42s %8s KiB (%s)\n' "$$zip" "$$(( $$(stat -c %s $$zip) / 1024 ))" "$(ARCH)"; \
	done

# Rotations through the Runtime API against local servers, timed and counted; writes
# bench/RESULTS.md. The zips it reports are those of `make package` for ARCH.
bench: deps release package
	BENCH_ZIP_ARCH=$(ARCH) cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example bench

# 200 PostgreSQL and 50 Neo4j secrets rotated at once through moto; prints the figures.
soak: deps release
	cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example soak

# Serves the three functions locally (Lambda Runtime API emulation) until interrupted. They
# talk to the Secrets Manager of the current AWS credentials, or to
# AWS_ENDPOINT_URL_SECRETS_MANAGER when that is set.
watch: venv
	$(LAMBDA) watch

# make invoke FN=postgres STEP=setSecret SECRET=<secret ARN> TOKEN=<AWSPENDING version id>
# sends events/$(FN)/$(STEP).json with the secret and version filled in (or EVENT=<file>,
# with SECRET/TOKEN overriding its own) to the function under make watch. make event only
# writes the filled-in copy, under target/events/, and prints its path.
FN ?= postgres
STEP ?= createSecret
EVENT_FOR = python3 events/event.py "$(FN)" "$(STEP)" "$(SECRET)" "$(TOKEN)" "$(EVENT)"
event:
	@$(EVENT_FOR)

invoke: venv
	@if [ -n "$(EVENT)" ] && [ "$(origin FN)" = file ]; then \
		echo "make invoke: with EVENT=, name the function too: FN=postgres, neo4j or jwt" >&2; \
		exit 2; fi
	@event=$$($(EVENT_FOR)) && $(LAMBDA) invoke rotate-$(FN) --data-file "$$event"

clean:
	cargo clean
	rm -rf $(VENV)
