#!/usr/bin/env bash
# Cross-build epocd for 64-bit ARM (a Raspberry Pi 3, 4 or 5 running a 64-bit OS) with Debian's
# cross linker, and its .deb for arm64; then run the arm64 binary under qemu-user: it must
# decode a capture exactly as this machine's build does, and serve a virtual headset.
#
# The aarch64 standard library comes from rustup when its target is installed
# (`rustup target add aarch64-unknown-linux-gnu`); otherwise from Debian: the compiler
# `rustc-web` with its arm64 standard library `libstd-rust-web-dev:arm64`, which needs the
# arm64 architecture added to dpkg (this script does it, as root). Output in target/arm64/:
# aarch64-unknown-linux-gnu/release/epocd and debian/epocd_*_arm64.deb.
#
#   scripts/build-arm64.sh               build, package and check
#   scripts/build-arm64.sh --deps-only   only install what the build needs (apt, as root)
#   scripts/build-arm64.sh --build-only  only the cross build (the test command runs it in
#                                        the background while its real-time tests run)
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
export CARGO_TARGET_DIR="$PWD/target/arm64"

fail() { echo "build-arm64: $*" >&2; exit 1; }
as_root_apt() { # as_root_apt PACKAGE...: install with apt, updating the lists once if needed
  [ "$(id -u)" = 0 ] || fail "needs the Debian packages $* (run as root, or install them)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; } ||
    fail "apt-get could not install $*"
}

mode=all
case "${1:-}" in
  --deps-only) mode=deps ;;
  --build-only) mode=build ;;
  "") ;;
  *) fail "unknown argument '$1' (use --deps-only, --build-only or nothing)" ;;
esac

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! test -d /usr/aarch64-linux-gnu/lib ||
   ! command -v qemu-aarch64 >/dev/null; then
  as_root_apt gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
fi

# The compiler whose standard library for aarch64 is at hand.
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  rustc_for_arm64=$(rustup which rustc)
else
  debian_std=/usr/lib/rustlib/$target/lib
  if ! ls "$debian_std"/libstd-*.rlib >/dev/null 2>&1 || ! test -x /usr/bin/rustc; then
    dpkg --print-foreign-architectures | grep -qx arm64 || {
      [ "$(id -u)" = 0 ] || fail "no aarch64 standard library: run 'rustup target add $target', or run this script as root to take Debian's (rustc-web, libstd-rust-web-dev:arm64)"
      dpkg --add-architecture arm64
      apt-get update -q >/dev/null 2>&1 || fail "apt-get update failed after adding the arm64 architecture"
    }
    as_root_apt rustc-web libstd-rust-web-dev:arm64
  fi
  rustc_for_arm64=/usr/bin/rustc
fi
export RUSTC="$rustc_for_arm64"
[ "$mode" = deps ] && { echo "build-arm64: ready to cross-compile with $("$RUSTC" -V)"; exit 0; }
echo "build-arm64: compiling with $("$RUSTC" -V)"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

cargo build --release --locked --target "$target" -p epocd
bin="$CARGO_TARGET_DIR/$target/release/epocd"
aarch64-linux-gnu-readelf -h "$bin" | grep -q "Machine:.*AArch64" ||
  fail "$bin is not an aarch64 executable"
[ "$mode" = build ] && { echo "build-arm64: built $bin"; exit 0; }

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0
deb=$(cargo deb -p epocd --locked --target "$target" --no-build 2>/dev/null | tail -n 1)
test -f "$deb" || fail "cargo deb made no package"
arch=$(dpkg-deb -f "$deb" Architecture)
[ "$arch" = arm64 ] || fail "$deb is for $arch, not arm64"
dpkg-deb -c "$deb" | grep -q "usr/bin/epocd" || fail "$deb has no usr/bin/epocd"

# The arm64 binary, emulated: the same decoded samples as the host build, byte for byte.
# Its C library: Debian's arm64 one when dpkg has it (it came with libstd-rust-web-dev:arm64),
# else the cross one. Never a mix: the cross loader finds an installed arm64 libc first, and a
# loader and libc from two builds hang at start.
libc_root=/usr/aarch64-linux-gnu
test -e /lib/ld-linux-aarch64.so.1 && libc_root=/
run_arm64() { qemu-aarch64 -L "$libc_root" "$bin" "$@"; }
host_bin="$PWD/target/debug/epocd"
(unset RUSTC CARGO_TARGET_DIR && cargo build -q --locked -p epocd)
capture=tests/data/hemokit/recording-1-truncated.dump
out="$CARGO_TARGET_DIR/check"
mkdir -p "$out"
"$host_bin" decode --serial SN201211154288GM "$capture" > "$out/decode-host.jsonl"
run_arm64 decode --serial SN201211154288GM "$capture" > "$out/decode-arm64.jsonl"
[ -s "$out/decode-host.jsonl" ] || fail "the host build decoded nothing"
cmp -s "$out/decode-host.jsonl" "$out/decode-arm64.jsonl" ||
  fail "the arm64 build decodes $capture differently from the host build"
echo "build-arm64: the arm64 build decodes $capture as the host build does ($(wc -l < "$out/decode-arm64.jsonl") reports)"

# And serves: a virtual headset, the listening line, a clean stop on SIGTERM.
dir=$(mktemp -d)
qemu-aarch64 -L "$libc_root" "$bin" serve --no-tls --config /dev/null --no-hotplug --ble-scan 0 --virtual 1 \
  --listen 127.0.0.1:0 --data-dir "$dir" > "$dir/out" 2> "$dir/err" &
pid=$!
for _ in $(seq 150); do grep -q "listening on" "$dir/out" && break; sleep 0.2; done
grep -q "listening on ws://127.0.0.1:" "$dir/out" || { cat "$dir/err" >&2; kill "$pid" 2>/dev/null; fail "the arm64 build did not serve"; }
kill -TERM "$pid"
wait "$pid" || fail "the arm64 build did not stop cleanly on SIGTERM"
rm -rf "$dir"
echo "build-arm64: the arm64 build serves a virtual headset and stops cleanly"
echo "build-arm64: $bin ($(du -h "$bin" | cut -f1)) and $deb"
