#!/usr/bin/env bash
# Schemathesis (PyPI) against a real `smsdesk dev` on a free loopback port, with the admin token: every
# operation of /openapi.json is called with generated input (examples, coverage and fuzzing phases), and a
# 5xx, an undocumented status, or an answer that breaks the document's schema fails the run.
# Installs schemathesis (pinned) into ${SMSDESK_CACHE}/venv-schemathesis (its own environment: its
# dependencies must not move moto's or cfn-lint's). Called by scripts/test; runs alone too.
#
# Environment: SMSDESK_SCHEMATHESIS_SECONDS (default 90) bounds the run; SMSDESK_BIN: a built smsdesk to use.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
export SMSDESK_CACHE="${SMSDESK_CACHE:-$HOME/.cache/smsdesk}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SMSDESK_CACHE/target}"
VENV="$SMSDESK_CACHE/venv-schemathesis"
SECONDS_BUDGET="${SMSDESK_SCHEMATHESIS_SECONDS:-90}"

# The version is read whole before grep looks at it (a pipe into grep -q can fail under pipefail: SIGPIPE).
if [ ! -x "$VENV/bin/schemathesis" ] || ! grep -q "$SCHEMATHESIS_VERSION" <<<"$("$VENV/bin/schemathesis" --version)"; then
    echo "schemathesis: installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${SMSDESK_BIN:-}" ]; then
    cargo build -q --locked -p smsdesk
fi
BIN="${SMSDESK_BIN:-$CARGO_TARGET_DIR/debug/smsdesk}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smsdesk-schemathesis.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
TOKEN="st_$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
BASE="http://127.0.0.1:$PORT"

SMSDESK_ADMIN_TOKEN="$TOKEN" "$BIN" dev --addr "127.0.0.1:$PORT" --data "$WORK/smsdesk.db" \
    --sweep-secs 1 >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
cleanup() {
    kill "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$BASE/healthz', timeout=1)" 2>/dev/null; then
        break
    fi
    kill -0 "$DEV_PID" 2>/dev/null || { cat "$WORK/dev.log"; echo "schemathesis: smsdesk dev exited"; exit 1; }
    sleep 0.1
done

# Something to find: a queue, a sandbox channel, an agent, a menu and a customer's text (a conversation).
api() {
    python3 - "$BASE" "$TOKEN" "$@" <<'PY'
import json, sys, urllib.request
base, token, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(base + path, data=body, method=method,
                             headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(req, timeout=10))))
PY
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
QUEUE="$(api POST /v1/queues '{"name": "Support"}' | field id)"
CHANNEL="$(api POST /v1/channels "{\"name\": \"Sandbox\", \"provider\": \"sandbox\", \"credentials\": {}, \"numbers\": [{\"number\": \"15557654321\", \"type\": \"geo\", \"queue\": \"$QUEUE\"}]}" | field id)"
AGENT="$(api POST /v1/agents "{\"name\": \"Ada\", \"queues\": [\"$QUEUE\"], \"capacity\": 3}" | field id)"
MENU="$(api POST /v1/menus "{\"name\": \"main\", \"text\": {\"en\": \"Reply SUPPORT.\"}, \"options\": [{\"keyword\": \"SUPPORT\", \"target\": {\"queue\": \"$QUEUE\"}}]}" | field id)"
CONTACT="$(api POST /v1/contacts '{"name": "Grace", "phone": "+15551234567"}' | field id)"
api POST /v1/sandbox/inbound "{\"channel_id\": \"$CHANNEL\", \"from\": \"+15551234567\", \"to\": \"+15557654321\", \"text\": \"hello\"}" >/dev/null
CONVERSATION=""
for _ in $(seq 1 100); do
    CONVERSATION="$(api GET /v1/work-items | python3 -c 'import json, sys; i = json.load(sys.stdin)["items"]; print(i[0]["conversation_id"] if i else "")')"
    [ -n "$CONVERSATION" ] && break
    sleep 0.1
done
[ -n "$CONVERSATION" ] || { echo "schemathesis: the sandbox text made no conversation"; exit 1; }

# The path ids schemathesis uses: the ones made above (random ids would only ever find 404s).
cat >"$WORK/schemathesis.toml" <<TOML
[[operations]]
include-path-regex = "^/v1/conversations/"
parameters = { "path.id" = "$CONVERSATION" }

[[operations]]
include-path-regex = "^/v1/channels/"
parameters = { "path.id" = "$CHANNEL" }

[[operations]]
include-path-regex = "^/v1/agents/"
parameters = { "path.id" = "$AGENT" }

[[operations]]
include-path-regex = "^/v1/queues/"
parameters = { "path.id" = "$QUEUE" }

[[operations]]
include-path-regex = "^/v1/menus/"
parameters = { "path.id" = "$MENU" }

[[operations]]
include-path-regex = "^/v1/contacts/"
parameters = { "path.id" = "$CONTACT" }
TOML

# One worker: with two, hypothesis describes its filters with `ast.parse` from both threads at once, and
# CPython 3.11.7's parser is not safe for that ("SystemError: AST constructor recursion depth mismatch", a
# runtime error of the tool that fails the run whatever the API answers).
echo "schemathesis: $BASE/openapi.json, at most ${SECONDS_BUDGET}s"
"$VENV/bin/schemathesis" --no-color --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-time "$SECONDS_BUDGET" \
    --workers 1 \
    --request-timeout 10 \
    --seed 1 || { echo "schemathesis: FAILED (smsdesk dev's log: kept below)"; tail -50 "$WORK/dev.log"; exit 1; }
