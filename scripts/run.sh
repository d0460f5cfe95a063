#!/usr/bin/env bash
# Builds the web UI and the desktop app and opens Baton's window.
#   scripts/run.sh                 the desktop app
#   scripts/run.sh --headless ...  `baton serve` instead (extra arguments go to it), UI at /
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --run
if [ "${1:-}" = "--headless" ]; then
  shift
  cargo build --release --locked -p baton
  exec ./target/release/baton serve --ui-dir ui/dist "$@"
fi
cargo build --release --locked -p baton-desktop --features custom-protocol
exec ./target/release/baton-desktop
