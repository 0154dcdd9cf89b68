#!/usr/bin/env bash
# Browser tests of the agent console (console/tests): Playwright (npm playwright-core) driving Debian's
# Chromium against a real `smsdesk dev` on a free loopback port, with an axe-core scan (npm axe-core).
# Installs what is missing: Debian's chromium (apt-get, as root; skipped with a message otherwise) and the
# npm packages pinned by console/tests/package-lock.json into ${SMSDESK_CACHE}/node. Writes the README's
# screenshots into docs/. Called by scripts/test; runs alone too (it builds the smsdesk binary first, unless
# SMSDESK_BIN names a built one).
set -euo pipefail
cd "$(dirname "$0")/.."

export SMSDESK_CACHE="${SMSDESK_CACHE:-$HOME/.cache/smsdesk}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SMSDESK_CACHE/target}"
CHROMIUM="${SMSDESK_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "browser tests: installing Debian's chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "browser tests: SKIPPED: $CHROMIUM is missing and this is not root with apt-get (install chromium, or set SMSDESK_CHROMIUM)"
        exit 0
    fi
fi

NODE_DIR="$SMSDESK_CACHE/node"
mkdir -p "$NODE_DIR"
if ! cmp -s console/tests/package-lock.json "$NODE_DIR/package-lock.json" || [ ! -d "$NODE_DIR/node_modules" ]; then
    echo "browser tests: installing playwright-core and axe-core (pinned) into $NODE_DIR"
    cp console/tests/package.json console/tests/package-lock.json "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

if [ -z "${SMSDESK_BIN:-}" ]; then
    cargo build -q --locked -p smsdesk
fi
export SMSDESK_BIN="${SMSDESK_BIN:-$CARGO_TARGET_DIR/debug/smsdesk}"
export SMSDESK_CHROMIUM="$CHROMIUM"
export SMSDESK_SCREENSHOTS="${SMSDESK_SCREENSHOTS:-$PWD/docs}"
export NODE_PATH="$NODE_DIR/node_modules"
# Node's own test runner, one file per flow group; each starts its own smsdesk dev.
node --test --test-concurrency=1 console/tests/*.test.mjs
