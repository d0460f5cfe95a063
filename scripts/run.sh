#!/usr/bin/env bash
# Builds Baton and runs the headless server in the foreground. Extra arguments go to
# `baton serve` (e.g. --port 0, --data-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
exec ./target/release/baton serve "$@"
