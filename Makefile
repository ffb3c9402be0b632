# eventloop-core: every command an auditor or a contributor needs. Each target installs what it
# needs when it is missing (rustup components, cargo-fuzz, SPIN), so a fresh machine with
# the stable and nightly toolchains can run any of them.
#
#   make verify    loom + shuttle models + proof checks and SPIN models, ending in the claims table
#   make test      unit, integration, proptest and corpus tests; model bodies on real threads
#   make loom | shuttle | miri | orderings | tsan | coverage | mutants | fuzz | defects | bench | proofs | spin | lint | nostd | ci

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Preemption bound override for every loom model (default: each model's own bound).
LOOM_MAX_PREEMPTIONS ?=
FUZZ_SECONDS ?= 30
VERIFY_FUZZ_SECONDS ?= 20
MIRI_SEEDS ?= 0..8
MIRI_CORE_SEEDS ?= 0..4
MODEL_LOG := target/verify/models.log

export SHUTTLE_SILENCE_WARNINGS := 1
export CARGO_TERM_COLOR := never

.PHONY: help test verify-deep loom shuttle miri orderings tsan coverage mutants fuzz bench proofs spin verify defects lint nostd ci clean-verify

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'

## test: everything that runs on stable without a checker (the README's test command).
test:
	$(CARGO) test --workspace
	$(CARGO) test -p eventloop-core --no-default-features --features alloc --lib
	@if command -v node >/dev/null; then tests/conformance/record.sh --check; \
	 else echo "node not found: the JS recordings of tests/conformance were not re-checked"; fi

## loom: every loom model; each prints its bound and the number of interleavings it explored.
loom:
	@mkdir -p target/verify
	RUSTFLAGS="--cfg loom" $(if $(LOOM_MAX_PREEMPTIONS),LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS)) \
	  EVENTLOOP_MODEL_LOG=$(CURDIR)/$(MODEL_LOG) \
	  $(CARGO) test --profile models -p eventloop-models -- --nocapture --test-threads 1

## shuttle: the same model bodies, larger, under check_random and check_pct.
shuttle:
	@mkdir -p target/verify
	EVENTLOOP_MODEL_LOG=$(CURDIR)/$(MODEL_LOG) \
	  $(CARGO) test --profile models -p eventloop-models --features shuttle -- --nocapture --test-threads 1

## miri: all of core's tests over MIRI_CORE_SEEDS, the ring's over MIRI_SEEDS, and the threaded
## model bodies over MIRI_SEEDS (each seed is a different thread schedule and weak-memory choice;
## Miri runs the seeds in parallel and fails if any seed fails). Strict provenance: an
## integer-to-pointer cast is an error, not a warning (the promise cell tags pointers with
## `map_addr`).
MIRI_FLAGS = -Zmiri-strict-provenance
miri:
	@rustup component list --toolchain nightly --installed | grep -q '^miri' || rustup component add miri rust-src --toolchain nightly
	$(CARGO) +nightly miri setup
	MIRIFLAGS="$(MIRI_FLAGS) -Zmiri-many-seeds=$(MIRI_CORE_SEEDS)" $(CARGO) +nightly miri test -p eventloop-core
	MIRIFLAGS="$(MIRI_FLAGS) -Zmiri-many-seeds=$(MIRI_SEEDS)" $(CARGO) +nightly miri test -p eventloop-core --lib ring::
	MIRIFLAGS="$(MIRI_FLAGS) -Zmiri-many-seeds=$(MIRI_SEEDS)" $(CARGO) +nightly miri test -p eventloop-models

## orderings: weaken each atomic ordering of core/src in turn and run its component's loom models
## (long: about an hour on 2 cores; FILTER=regex over FILE:LINE narrows it). Table: target/verify/orderings.md.
orderings:
	python3 scripts/orderings.py $(if $(FILTER),--filter $(FILTER))

## tsan: ThreadSanitizer over the threaded tests (nightly, std rebuilt); fails on any report.
tsan:
	scripts/tsan.sh

## coverage: cargo-llvm-cov over the test suite and the shuttle models; writes proofs/COVERAGE.md.
coverage:
	scripts/coverage.sh

## mutants: cargo-mutants over core's code with core's tests, then the survivors again with the
## whole workspace's tests (long: hours on 2 cores; FILES="core/src/ring.rs ..." narrows it).
## Results: target/mutants/; the explanations of survivors are in proofs/mutants.md.
mutants:
	scripts/mutants.sh $(FILES)

## fuzz: a short run of every fuzz target (nightly with ASan, or stable with -s none).
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## bench: benchmarks with peer crates in the same run; writes bench/RESULTS.md.
bench:
	scripts/bench.sh

## proofs: the claims index is consistent with the code (every named evidence exists), then every
## SPIN model, LTL claim and seeded defect (scripts/spin.sh; fails on any pan error count or trail).
proofs:
	@status=0; \
	python3 scripts/check_proofs.py || status=1; \
	scripts/spin.sh || status=1; \
	exit $$status

## spin: the SPIN runs alone (scripts/spin.sh MODEL... for a subset); installs SPIN if missing.
spin:
	scripts/spin.sh

## defects: apply each seeded defect to a scratch copy and show that its named evidence fails.
defects:
	scripts/defects.sh

clean-verify:
	@rm -f $(MODEL_LOG) target/verify/spin.log target/verify/fuzz.log

## verify: loom + shuttle + proofs (SPIN included) + a short fuzz run of every target
## (VERIFY_FUZZ_SECONDS each), then the claims table (also written to proofs/REPORT.md).
verify: clean-verify
	@status=0; \
	$(MAKE) --no-print-directory loom || status=1; \
	$(MAKE) --no-print-directory shuttle || status=1; \
	$(MAKE) --no-print-directory proofs || status=1; \
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(VERIFY_FUZZ_SECONDS) || status=1; \
	python3 scripts/report.py --claims proofs/README.md --log $(MODEL_LOG) --out proofs/REPORT.md || status=1; \
	exit $$status

## verify-deep: the nightly-style run: `make verify` with every loom model one preemption deeper
## (or its own deep bound) and ten times the shuttle schedules. Hours on 2 cores; not in CI.
verify-deep:
	EVENTLOOP_DEEP=1 $(MAKE) --no-print-directory verify

## lint: formatting, clippy (all targets, every backend), the no_std build, the facade rule.
lint:
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p eventloop-core -p eventloop-models --all-targets --features eventloop-models/shuttle -- -D warnings
	scripts/check_facade.sh
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p eventloop-core --no-deps
	# The bench crate is outside the workspace (its peers break under --cfg loom): check it here,
	# or a change to a public type (a new LoopStats counter) breaks `make bench` unnoticed.
	$(CARGO) clippy --manifest-path bench/Cargo.toml --all-targets -- -D warnings
	RUSTFLAGS="--cfg loom" $(CARGO) clippy --profile models -p eventloop-core -p eventloop-models --all-targets -- -D warnings
	$(CARGO) build -p eventloop-core --no-default-features --features alloc
	$(CARGO) build -p eventloop-core --no-default-features
	$(MAKE) --no-print-directory nostd

## nostd: core builds for a bare-metal target (no std, no OS; 32-bit, no 64-bit atomics).
nostd:
	@rustup target list --installed | grep -q '^thumbv7em-none-eabihf' || rustup target add thumbv7em-none-eabihf
	$(CARGO) build -p eventloop-core --no-default-features --features alloc --target thumbv7em-none-eabihf
	$(CARGO) build -p eventloop-core --no-default-features --target thumbv7em-none-eabihf

## ci: what .ci/run runs on a clean clone.
ci:
	.ci/run
