#!/usr/bin/env bash
# Builds Baton and runs the headless server in the foreground, with the web UI at /.
# Extra arguments go to `baton serve` (e.g. --port 0, --data-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --run
cargo build --release --locked
exec ./target/release/baton serve --ui-dir ui/dist "$@"
