#!/usr/bin/env bash
# Cross-build epocd for 64-bit ARM (a Raspberry Pi 3, 4 or 5 running a 64-bit OS) with Debian's
# cross linker, and its .deb for arm64; then run the arm64 binary under qemu-user: it must
# decode a capture exactly as this machine's build does, and serve a virtual headset.
# Needs root for the apt packages, and rustup for the aarch64 standard library. Output:
# target/aarch64-unknown-linux-gnu/release/epocd and target/debian/epocd_*_arm64.deb.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu

fail() { echo "build-arm64: $*" >&2; exit 1; }

packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! test -d /usr/aarch64-linux-gnu/lib ||
   ! command -v qemu-aarch64 >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "needs $packages (apt, as root)"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null; }
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target" ||
  fail "rustup cannot add $target: it downloads the target's standard library, which needs the network"
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

cargo build --release --locked --target "$target" -p epocd
bin="target/$target/release/epocd"
file "$bin" | grep -q "ARM aarch64" || fail "$bin is not an aarch64 executable: $(file "$bin")"

deb=$(cargo deb -p epocd --locked --target "$target" --no-build 2>/dev/null | tail -n 1)
test -f "$deb" || fail "cargo deb made no package"
arch=$(dpkg-deb -f "$deb" Architecture)
[ "$arch" = arm64 ] || fail "$deb is for $arch, not arm64"
dpkg-deb -c "$deb" | grep -q "usr/bin/epocd" || fail "$deb has no usr/bin/epocd"

# The arm64 binary, emulated: the same decoded samples as the host build, byte for byte.
run_arm64() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" "$@"; }
cargo build -q --locked -p epocd
capture=tests/data/hemokit/recording-1-truncated.dump
target/debug/epocd decode --serial SN201211154288GM "$capture" > target/decode-host.jsonl
run_arm64 decode --serial SN201211154288GM "$capture" > target/decode-arm64.jsonl
[ -s target/decode-host.jsonl ] || fail "the host build decoded nothing"
cmp -s target/decode-host.jsonl target/decode-arm64.jsonl ||
  fail "the arm64 build decodes $capture differently from the host build"
echo "build-arm64: the arm64 build decodes $capture as the host build does ($(wc -l < target/decode-arm64.jsonl) reports)"

# And serves: a virtual headset, the listening line, a clean stop on SIGTERM.
dir=$(mktemp -d)
qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" serve --no-tls --config /dev/null --no-hotplug --ble-scan 0 --virtual 1 \
  --listen 127.0.0.1:0 --data-dir "$dir" > "$dir/out" 2> "$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/out" && break; sleep 0.2; done
grep -q "listening on ws://127.0.0.1:" "$dir/out" || { cat "$dir/err" >&2; fail "the arm64 build did not serve"; }
kill -TERM "$pid"
wait "$pid" || fail "the arm64 build did not stop cleanly on SIGTERM"
rm -rf "$dir"
echo "build-arm64: the arm64 build serves a virtual headset and stops cleanly"
echo "build-arm64: $bin ($(du -h "$bin" | cut -f1)) and $deb"
