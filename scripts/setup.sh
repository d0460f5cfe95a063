#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build, run and test Baton, and builds the
# web UI. Does nothing for what is already there.
#   scripts/setup.sh          everything the tests need (adds Chromium, Xvfb, WebKitWebDriver, tauri-driver)
#   scripts/setup.sh --run    only what building and running Baton needs
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: git (task worktrees, diffs, merges), a C toolchain and pkg-config, the system SQLite, Node.js for the UI, and
# WebKitGTK with what Tauri links (see PLATFORM-NOTES).
packages=(git build-essential pkg-config libssl-dev libsqlite3-dev libwebkit2gtk-4.1-dev libgtk-3-dev
  librsvg2-dev libayatana-appindicator3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev file)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "${1:-}" != "--run" ]; then
  packages+=(chromium fonts-dejavu-core xvfb xauth webkit2gtk-driver)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed; install it with rustup (https://rustup.rs) and run this again" >&2
  exit 1
fi
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
if [ "${1:-}" != "--run" ] && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver (WebDriver for the desktop window)" >&2
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# The web UI: served by `baton serve` at /, and bundled into the desktop app at build time.
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)

# The real Claude Code CLI the signal tests run against a scripted model server
# (tests/api/claude.rs), installed outside the source tree (its binary is ~245 MB).
mkdir -p target/agents
cp tests/agents/package.json target/agents/package.json
(cd target/agents && npm install --no-audit --no-fund --loglevel=error)
