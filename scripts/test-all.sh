#!/usr/bin/env bash
# Every check and test of the project, from a fresh clone on a fresh Debian machine that has
# only the Rust toolchain (cargo, rustfmt, clippy). This is the README's test command and
# the only thing .ci/run runs. It installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s  [%s]\n' "$*" "$(date +%T)"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "S3 test server: s3s-fs from crates.io (a debug build, installed once per machine; the tests run it on loopback)"
# 0.14.1: later versions need a newer rustc than this toolchain's.
if ! s3s-fs --version 2>/dev/null | grep -q '0\.14\.1'; then
  cargo install s3s-fs --version 0.14.1 --features binary --locked --debug --quiet
fi

step "cargo test (all crates; the large third-party captures from \$EPOCD_SHARED_CAPTURES or beside the checkout)"
log=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$log"

step "Python conformance (venv: websocket-client, pyedflib, mne, numpy, scipy, pyriemann): websocket-client (the official Cortex example's library) against epocd serve over wss"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/conformance/requirements.txt
cargo build -p epocd --locked
# The arm64 release build (issue 19) compiles at the lowest priority while the conformance
# scripts below mostly wait on real time; it is packaged and checked at the end.
bash scripts/build-arm64.sh --deps-only
arm64_log=target/arm64-build.log
nice -n 19 bash scripts/build-arm64.sh --build-only > "$arm64_log" 2>&1 &
arm64_build=$!
.venv/bin/python scripts/conformance/cortex_flow.py target/debug/epocd 2>&1 | tee -a "$log"

step "EDF conformance: pyedflib and MNE read epocd's EDF, EDF+ and BDF+ files"
.venv/bin/python scripts/conformance/edf_check.py target/debug/epocd . 2>&1 | tee -a "$log"

step "Record conformance: record through epocd serve with websocket-client, export CSV/EDF/EDF+/BDF+, read back with csv, pyedflib and MNE"
.venv/bin/python scripts/conformance/record_flow.py target/debug/epocd 2>&1 | tee -a "$log"

step "Detections conformance: a scripted virtual session over wss; met and fac against its truth; every PM value recomputed with numpy/scipy (about 3.5 minutes, real time)"
.venv/bin/python scripts/conformance/detections.py target/debug/epocd 2>&1 | tee -a "$log"

step "Mental-command conformance: the official training flow over wss on a thinking virtual headset; com on held-out time; the classifier against pyriemann (about 2.5 minutes, real time)"
.venv/bin/python scripts/conformance/mental.py target/debug/epocd 2>&1 | tee -a "$log"

step "Headset page in a real browser: Debian's headless Chromium (Playwright) against epocd serve --virtual 2 with a bad sensor; contents equal the dev/eq streams, no console error, nothing leaves localhost, axe-core accessibility, the no-data banner within 3 s when frames stop, disconnect shown within 2 s; screenshot in target/browser/"
bash scripts/test-browser.sh target/debug/epocd target/browser 2>&1 | tee -a "$log"

step "LSL conformance: pylsl (the reference liblsl) reads epocd --lsl outlets, loopback-only (LSLAPICFG)"
LSLAPICFG="$PWD/scripts/conformance/lsl_api.cfg" .venv/bin/python scripts/conformance/lsl_flow.py target/debug/epocd 2>&1 | tee -a "$log"

step "loom model checks of the sample ring (separate target dir: --cfg loom rebuilds everything)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p sample-ring --release --locked --test loom 2>&1 | tee -a "$log"

step "benchmarks compile (run them with: cargo bench)"
cargo bench --workspace --locked --no-run

step "packaging: udev rule (udevadm), systemd units (systemd-analyze verify), the .deb (cargo-deb, dpkg-deb), install and remove"
bash scripts/test-packaging.sh 2>&1 | tee -a "$log"

step "arm64 (Raspberry Pi): the cross-compiled release build (Debian's cross linker), its .deb from cargo deb --target, the binary under qemu-user decoding a capture as the host build does and serving"
if ! wait "$arm64_build"; then
  cat "$arm64_log"
  echo "the arm64 build failed (log above)" >&2
  exit 1
fi
bash scripts/build-arm64.sh 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every test binary above.
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
skipped=$(grep -Eo '[0-9]+ ignored' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo
echo "all checks passed ($(date +%T))"
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
