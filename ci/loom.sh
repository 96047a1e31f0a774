#!/usr/bin/env bash
# Run the loom model checks of the interpreter (sim/tests/loom_protocol.rs), of the litmus
# catalogue (sim/tests/loom_litmus.rs) and of the
# schedules' synchronisation (unit tests named loom_tests) in release mode with a
# preemption bound. LOOM_MAX_PREEMPTIONS (default 2) and a test-name filter (first argument)
# can be set for deeper or narrower local runs:
#   LOOM_MAX_PREEMPTIONS=3 ci/loom.sh exactly_once
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}"
# A separate target directory: the loom cfg rebuilds every crate.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
filter="${1:-}"
time cargo test -p megaloop-sim --release --locked --test loom_protocol -- --nocapture --test-threads=1 $filter
# The litmus catalogue against the relaxed memory model (sim/tests/loom_litmus.rs).
time cargo test -p megaloop-sim --release --locked --test loom_litmus -- --nocapture --test-threads=1 $filter
# The schedules' own synchronisation (the parallel schedule's round gate), through the
# same shim (sim/src/sync.rs).
time cargo test -p megaloop-sim --release --locked --lib -- --nocapture --test-threads=1 loom_tests $filter
