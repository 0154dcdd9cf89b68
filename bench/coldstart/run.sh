#!/usr/bin/env bash
# Cold-start benchmark: builds the yardstick (hello), the two SDK probes and every function under
# functions/ (release, native: this machine's arch, not Lambda's arm64), then measures each bootstrap's init
# against a fake Runtime API and writes a markdown table to bench/coldstart/results.md.
#
#   bench/coldstart/run.sh                      # 21 runs each
#   RUNS=51 bench/coldstart/run.sh
#   EMULATORS=1 bench/coldstart/run.sh          # also the first invocation against DynamoDB Local and moto,
#       started by scripts/emulators.sh on free loopback ports and stopped after (or give running ones:
#       SMSDESK_DYNAMODB_ENDPOINT=http://127.0.0.1:N SMSDESK_SQS_ENDPOINT=http://...). `smsdesk aws-local`
#       creates the table and queues there; each function gets its own event (events/functions/<name>.json:
#       an SQS batch of its queue's job, an API Gateway request, a schedule), whose handling reads DynamoDB;
#       the probes get one SQS event (ListTables + ListQueues).
#   COLDSTART_FUNCTIONS=0 bench/coldstart/run.sh   # probes only
#   COLDSTART_PROBES=0 COLDSTART_ONLY="router agent-api" bench/coldstart/run.sh
#       # no SDK probes (hello and the functions only); only the functions named
#
# Each package is built alone (-p) so no binary carries another one's crate features, and every bootstrap
# (hello-lambda-flags and the functions) with the rustflags .cargo/config.toml gives the Lambda target
# (non-PIE), passed to the final binary only (`cargo rustc --bin NAME -- FLAGS`): dependencies, build scripts
# and proc-macros build as usual. Under the release profile's fat LTO every crate's Rust code is compiled
# once more in the final binary's session, with its flags; so the bootstrap is what RUSTFLAGS for every crate
# would give, without making each dependency's other crate types non-PIC (on x86_64, a dependency that also
# declares a cdylib, such as crc-fast through the S3 client, cannot link one from non-PIC code). The yardstick
# `hello` is built as cargo builds it by default (PIE; in these runs the faster of the two);
# `hello-lambda-flags` is it with the functions' flags.
#
#   SMSDESK_BIN=path/to/smsdesk   with EMULATORS=1: the smsdesk binary that creates the table and queues
#       (default: `cargo run --bin smsdesk`, a debug build in the product's target directory)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${RUNS:-21}"
out="${OUT:-$here/results.md}"

log() { printf 'coldstart: %s\n' "$*" >&2; }

# The rustflags of [target.aarch64-unknown-linux-gnu] in .cargo/config.toml, applied to this machine's target.
lambda_rustflags="$(sed -n '/^\[target.aarch64-unknown-linux-gnu\]/,/^\[/p' "$repo/.cargo/config.toml" 2>/dev/null |
  sed -n 's/^rustflags *= *\[\(.*\)\]/\1/p' | tr -d '",')"
log "bootstrap rustflags: ${lambda_rustflags:-(none)}"
# The functions build in the product's target directory ($CARGO_TARGET_DIR if set), the probes in this one's.
product_target="${CARGO_TARGET_DIR:-$repo/target}"
unset CARGO_TARGET_DIR
build() { # build DIR PACKAGE [TARGET_DIR]: release, native, as a Lambda bootstrap (DIR/release/PACKAGE)
  # shellcheck disable=SC2086 # the flags are words
  (cd "$1" && CARGO_TARGET_DIR="${3:-$1/target}" \
    cargo rustc --quiet --release -p "$2" --bin "$2" -- $lambda_rustflags)
}

cd "$here"
log "building the runner"
cargo build --quiet --release -p coldstart
probes=(sdk-naive sdk-tuned)
[[ "${COLDSTART_PROBES:-1}" == 0 ]] && probes=()
for p in hello "${probes[@]}"; do
  log "building $p (release, native)"
  build "$here" "$p"
done
bin="$here/target/release"
# The yardstick: hello as cargo builds it by default (PIE), in a target directory of its own (the build
# above wrote $bin/hello).
log "building hello (release, native, default rustflags)"
(cd "$here" && CARGO_TARGET_DIR="$here/target/default-flags" cargo build --quiet --release -p hello)
runner="$here/target/release/coldstart"

# The tuned probe is one binary; PROBE_* variables switch its steps off, to measure each step alone.
t1="tuned-1:features-off"; t2="tuned-2:+env-credentials"; t3="tuned-3:+compiled-in-roots"; t4="tuned-4:+lazy-sdk-tls"
targets=("hello=$here/target/default-flags/release/hello" "hello-lambda-flags=$bin/hello")
[[ ${#probes[@]} -gt 0 ]] && targets+=("sdk-naive=$bin/sdk-naive" "sdk-naive+SSL_CERT_FILE=$bin/sdk-naive"
  "$t1=$bin/sdk-tuned" "$t2=$bin/sdk-tuned" "$t3=$bin/sdk-tuned" "$t4=$bin/sdk-tuned")
bundle=""
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  [[ -f "$f" ]] && { bundle="$f"; break; }
done
args=(--runs "$runs" --markdown "$out"
  --env-for "$t1" PROBE_CREDENTIALS=chain --env-for "$t1" PROBE_TLS=platform --env-for "$t1" PROBE_SDK_TLS=eager
  --env-for "$t2" PROBE_TLS=platform --env-for "$t2" PROBE_SDK_TLS=eager
  --env-for "$t3" PROBE_SDK_TLS=eager)
[[ -n "$bundle" && ${#probes[@]} -gt 0 ]] && args+=(--env-for "sdk-naive+SSL_CERT_FILE" "SSL_CERT_FILE=$bundle")

# The functions, when they exist; each built alone in the product's workspace.
if [[ "${COLDSTART_FUNCTIONS:-1}" != 0 ]]; then
  for dir in "$repo"/functions/*/; do
    [[ -f "$dir/Cargo.toml" ]] || continue
    f="$(basename "$dir")"
    [[ -z "${COLDSTART_ONLY:-}" || " $COLDSTART_ONLY " == *" $f "* ]] || continue
    log "building $f (release, native)"
    build "$repo" "$f" "$product_target"
    targets+=("$f=$product_target/release/$f")
    # As infra/template.yaml sets it for every function: the SDK's connector reads one CA bundle on the
    # first AWS call, not every file of /etc/ssl/certs.
    if [[ -n "$bundle" ]]; then args+=(--env-for "$f" "SSL_CERT_FILE=$bundle"); fi
  done
fi

if [[ "${EMULATORS:-0}" == 1 ]]; then
  export SMSDESK_EMULATORS_STATE="${SMSDESK_EMULATORS_STATE:-$(mktemp -d)}"
  eval "$("$repo/scripts/emulators.sh" start)"
  trap '"$repo/scripts/emulators.sh" stop >/dev/null 2>&1 || true' EXIT
fi
DYNAMODB_ENDPOINT="${SMSDESK_DYNAMODB_ENDPOINT:-}"
SQS_ENDPOINT="${SMSDESK_SQS_ENDPOINT:-}"

# What the functions read at start (shared/aws/src/config.rs); dummy values unless emulators are given.
queue_base="${SQS_ENDPOINT:-http://127.0.0.1:9}/000000000000"
args+=(--env SMSDESK_TABLE=smsdesk-bench --env SMSDESK_SECRET_PREFIX=smsdesk/channels/
  --env "SMSDESK_INBOUND_QUEUE_URL=$queue_base/inbound.fifo" --env "SMSDESK_INBOUND_DLQ_URL=$queue_base/inbound-dlq.fifo"
  --env "SMSDESK_OUTBOUND_QUEUE_URL=$queue_base/outbound.fifo" --env "SMSDESK_OUTBOUND_DLQ_URL=$queue_base/outbound-dlq.fifo"
  --env "SMSDESK_CRM_QUEUE_URL=$queue_base/crm" --env "SMSDESK_CRM_DLQ_URL=$queue_base/crm-dlq"
  --env SMSDESK_PUBLIC_URL=https://bench.invalid)
if [[ -n "${DYNAMODB_ENDPOINT:-}" && -n "${SQS_ENDPOINT:-}" ]]; then
  args+=(--invoke sqs
    --env "SMSDESK_DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT" --env "AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_ENDPOINT"
    --env "SMSDESK_SQS_ENDPOINT=$SQS_ENDPOINT" --env "AWS_ENDPOINT_URL_SQS=$SQS_ENDPOINT")
  if [[ "${COLDSTART_FUNCTIONS:-1}" != 0 ]]; then
    # The table and queues the functions use, as `smsdesk aws-local` makes them (its variables replace the
    # dummy ones above; its admin token is left out: the events carry JWT authorizer claims).
    env_file="$(mktemp)"
    log "creating the table and queues on the emulators (smsdesk aws-local)"
    smsdesk=(cargo run --quiet --bin smsdesk --)
    [[ -n "${SMSDESK_BIN:-}" ]] && smsdesk=("$SMSDESK_BIN")
    (cd "$repo" && CARGO_TARGET_DIR="$product_target" SMSDESK_DYNAMODB_ENDPOINT="$DYNAMODB_ENDPOINT" \
      SMSDESK_SQS_ENDPOINT="$SQS_ENDPOINT" "${smsdesk[@]}" aws-local \
      --prefix "bench-$$" --env-file "$env_file" >/dev/null)
    while IFS= read -r line; do
      [[ "$line" == SMSDESK_* && "$line" != SMSDESK_ADMIN_TOKEN=* ]] && args+=(--env "$line")
    done <"$env_file"
    rm -f "$env_file"
    for target in "${targets[@]}"; do
      name="${target%%=*}"
      [[ -f "$here/events/functions/$name.json" ]] && args+=(--invoke-for "$name" "$here/events/functions/$name.json")
    done
  fi
fi

log "measuring ${#targets[@]} bootstraps, $runs runs each"
"$runner" "${args[@]}" "${targets[@]}"
log "table written to $out"
