#!/usr/bin/env bash
# The API contract, checked from outside: schemathesis (PyPI, pinned) runs every check in every
# phase (examples, coverage, fuzzing, stateful) against a real `baton serve` on 127.0.0.1 with a
# fresh data folder, and must find nothing. The rules a schema cannot state are listed, with
# reasons, in schemathesis.toml. Needs target/debug/baton (built by `cargo test`).
#
# What is left out, and why:
# - GET /ws, GET /api/sessions/{id}/terminal: WebSocket upgrades, which schemathesis does not speak
#   (tests/api covers them: events.rs, terminals.rs, authorization.rs);
# - GET /api/messages/stream: an SSE stream that never ends (tests/api/streams.rs);
# - POST /api/token/regenerate: it replaces the token the run uses, and every later request would
#   be a 401 (tests/api/security.rs covers it);
# - the admin token's rate limit is off for the run (--rate-limit 0): thousands of requests in
#   seconds would otherwise test 429 alone (tests/api/limits.rs covers it).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
fi
data=$(mktemp -d)
out="$data/stdout"
./target/debug/baton serve --port 0 --data-dir "$data/baton" --rate-limit 0 >"$out" 2>"$data/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out")
[ -n "$url" ] || { echo "schemathesis: the server did not start" >&2; cat "$data/server.log" >&2; exit 1; }
"$venv/bin/schemathesis" --no-color run "$url/api/openapi.json" \
  --header "Authorization: Bearer $(cat "$data/baton/token")" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" \
  --seed "${SCHEMATHESIS_SEED:-20261201}" \
  --generation-database none \
  --exclude-path /ws \
  --exclude-path '/api/sessions/{id}/terminal' \
  --exclude-path /api/messages/stream \
  --exclude-path /api/token/regenerate
