#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit and integration tests (the desktop
# window too, under Xvfb through WebDriver), the API integration suite a second time on
# PostgreSQL, then the web UI in Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --locked
echo "== the API suite again, on PostgreSQL (a throw-away cluster: scripts/postgres.sh)" >&2
eval "$(bash scripts/postgres.sh start)"
trap 'bash scripts/postgres.sh stop "$BATON_PG_DIR"' EXIT
cargo test --locked -p baton --test api
bash scripts/postgres.sh stop "$BATON_PG_DIR"
trap - EXIT
unset BATON_TEST_DATABASE_URL BATON_PG_DIR
echo "== the API contract from outside: schemathesis, every check and phase" >&2
bash scripts/schemathesis.sh
echo "== the UI's generated types match the contract (ui/openapi.json -> ui/src/generated/api.ts)" >&2
(cd ui && npm run --silent contract:check)
echo "== browser end-to-end tests (tests/e2e, Chromium)" >&2
(cd ui && npm run --silent test:e2e)
