#!/usr/bin/env bash
# Every check and test of the project, from a fresh clone on a fresh Debian machine that has
# only the Rust toolchain (cargo, rustfmt, clippy). This is the README's test command and
# the only thing .ci/run runs. It installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (all crates; large captures from ../shared/captures when present)"
cargo test --workspace --locked

step "benchmarks compile (run them with: cargo bench)"
cargo bench --workspace --locked --no-run

echo
echo "all checks passed"
