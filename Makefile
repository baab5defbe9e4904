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

.PHONY: help deps postgres java venv neo4j-server fmt-check clippy release test demo clean

help:
	@echo "make test   install what is missing, then fmt check, clippy and every test"
	@echo "make demo   one real rotation against a throwaway PostgreSQL and moto"

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

# The release binaries, as Lambda runs them: tests/lambda drives them through the Runtime API.
release:
	cargo build $(CARGO_FLAGS) --release --bins

# cargo prints one result line per test binary, the last often a doc-test run with nothing in
# it; the totals line at the end says what the whole run did.
test: deps fmt-check clippy release
	@set -o pipefail; cargo test $(CARGO_FLAGS) --workspace 2>&1 | tee /dev/stderr | \
		awk '/^test result:/ { passed += $$4; failed += $$6 } \
		     END { printf "tests: %d passed, %d failed\n", passed, failed }'

demo: deps
	cargo run $(CARGO_FLAGS) --quiet -p integration-tests --example demo

clean:
	cargo clean
	rm -rf $(VENV)
