#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test Baton: a C compiler (for the bundled
# SQLite) and the rustfmt and clippy components. Does nothing when all is present.
set -euo pipefail

if ! command -v cc >/dev/null 2>&1; then
  echo "setup: installing build-essential (a C compiler)" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends build-essential
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed; install it with rustup (https://rustup.rs) and run this again" >&2
  exit 1
fi

cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
