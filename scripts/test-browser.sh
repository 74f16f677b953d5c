#!/usr/bin/env bash
# The live headset page in a real browser: Debian's Chromium (installed here when missing),
# driven headless by Playwright (npm, pinned in scripts/browser/package-lock.json; it uses the
# system Chromium, never downloads one) against `epocd serve --virtual 2`. A missing browser
# fails the run: it is never skipped.
#
# Usage: scripts/test-browser.sh PATH/TO/epocd [ARTEFACT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
epocd=$1
artefacts=${2:-target/browser}

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    echo "FAIL Debian's chromium is needed: sudo apt-get install chromium"
    exit 1
  fi
fi
(cd scripts/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node scripts/browser/page_test.mjs "$epocd" "$artefacts"
