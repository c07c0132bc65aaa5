#!/usr/bin/env bash
# The browser test and the API fuzzing against a running local stack: starts `crm-local up`
# (reusing the emulators `make test` started), waits for the gateway, runs the Playwright
# flow (tests/browser/flow.py), checks the answers of the records it made against the
# OpenAPI document (tests/browser/contract.py), validates the document itself
# (openapi-spec-validator), runs schemathesis with a head's token,
# then stops the stack.
set -euo pipefail
cd "$(dirname "$0")/../.."
CRM_LOCAL=target/debug/crm-local
PY=tests/browser/.venv/bin
LOG=target/crm-local-up.log

$CRM_LOCAL up >"$LOG" 2>&1 &
UP=$!
trap 'kill -INT $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf http://127.0.0.1:3000/config.json >/dev/null && break
  kill -0 $UP 2>/dev/null || { cat "$LOG"; echo "crm-local up stopped"; exit 1; }
  sleep 1
done
curl -sf http://127.0.0.1:3000/config.json >/dev/null || { cat "$LOG"; exit 1; }

echo "browser test (Playwright, $(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
$PY/python tests/browser/flow.py

echo "the answers of real records against the contract"
$PY/python tests/browser/contract.py

TOKEN=$($CRM_LOCAL token --role head --user head-1)
echo "the OpenAPI document against the OpenAPI 3.1 specification"
curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/api/openapi.json >target/openapi.json
$PY/openapi-spec-validator target/openapi.json

echo "schemathesis against the local gateway, as a head"
$PY/schemathesis run http://127.0.0.1:3000/api/openapi.json \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples 20 --seed 1 --workers 2 \
  --report junit --report-dir target/schemathesis
