#!/usr/bin/env bash
# The Lambda functions on this machine, run as in AWS, in one command; Ctrl-C stops all of it:
#   1. DynamoDB Local and moto on free loopback ports (scripts/emulators.sh),
#   2. the table and the queues on them, and .smsdesk/lambda.env for the functions (`smsdesk aws-local`),
#   3. `cargo lambda watch`, serving the HTTP functions on http://127.0.0.1:9000/lambda-url/<name>/ (each
#      function compiles on its first request; .cargolambdaignore keeps git and local state from
#      restarting them),
#   4. the SQS event source mappings, invoking router, outbound-send and crm-upsert
#      (`smsdesk aws-local --map-queues`).
#
#   scripts/lambda-local.sh
#
# Environment:
#   SMSDESK_ADMIN_TOKEN       the admin bearer token the functions accept (default: demo)
#   SMSDESK_LAMBDA_PORT       where `cargo lambda watch` serves (default: 9000)
#   SMSDESK_CACHE             where tools live (default ~/.cache/smsdesk); cargo-lambda is installed from
#                             PyPI into $SMSDESK_CACHE/venv on first use, as scripts/build-lambdas.sh does
#   SMSDESK_EMULATORS_STATE   the emulators' pid files and logs (default $SMSDESK_CACHE/lambda-local)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${SMSDESK_CACHE:-$HOME/.cache/smsdesk}"
export SMSDESK_CACHE="$cache"
export SMSDESK_EMULATORS_STATE="${SMSDESK_EMULATORS_STATE:-$cache/lambda-local}"
export SMSDESK_ADMIN_TOKEN="${SMSDESK_ADMIN_TOKEN:-demo}"
port="${SMSDESK_LAMBDA_PORT:-9000}"
env_file=.smsdesk/lambda.env

log() { echo "lambda-local: $*" >&2; }

venv="$cache/venv"
if [[ ! -x "$venv/bin/cargo-lambda" ]]; then
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  log "installing cargo-lambda (PyPI) into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
fi
export PATH="$venv/bin:$PATH"

pids=()
stop() {
  trap - INT TERM EXIT
  # Each child leads its own process group (setsid), so the functions cargo lambda watch started go too.
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  scripts/emulators.sh stop >/dev/null 2>&1 || true
  log "stopped the functions, the queue mapping and the emulators"
}
trap stop INT TERM EXIT

eval "$(scripts/emulators.sh start)"
log "building the smsdesk command"
cargo build --quiet -p smsdesk
smsdesk="${CARGO_TARGET_DIR:-target}/debug/smsdesk"
"$smsdesk" aws-local --env-file "$env_file" --public-url "http://127.0.0.1:$port/lambda-url/inbound-webhook" >/dev/null

setsid cargo lambda watch --invoke-port "$port" --env-file "$env_file" &
pids+=("$!")
setsid "$smsdesk" aws-local --map-queues "http://127.0.0.1:$port" --env-file "$env_file" &
pids+=("$!")
log "functions on http://127.0.0.1:$port/lambda-url/<name>/ (admin token: $SMSDESK_ADMIN_TOKEN); Ctrl-C stops"
# Whichever ends first (an error, or Ctrl-C) ends everything.
wait -n "${pids[@]}" || true
