#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test Baton: a C compiler (for the bundled
# SQLite), rustfmt and clippy, Node.js for the web UI, and Debian's Chromium (with a font) for the
# browser tests. Does nothing for what is already there.
#   scripts/setup.sh          everything the tests need
#   scripts/setup.sh --run    only what running Baton needs
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ "${1:-}" != "--run" ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need_apt+=(fonts-dejavu-core)
fi

if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed; install it with rustup (https://rustup.rs) and run this again" >&2
  exit 1
fi
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

# The web UI (served by `baton serve` at /).
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
