#!/usr/bin/env bash
# One build: `sam build` and scripts/build-lambdas.sh must produce the same bootstrap for every function.
#
# SAM runs `cargo lambda build --release --arm64 --bin <f>` in the function's CodeUri (functions/<f>);
# scripts/build-lambdas.sh runs `cargo lambda build --release --arm64 -p <f>` at the workspace root. Both
# build the same package, so Cargo resolves the same dependency graph with the same features, and the
# bootstraps are the same bytes. This checks that without AWS and without building: for each function it
# compares the full feature-resolved dependency tree (`cargo tree -e features`) of both invocations, and
# checks that the AWS SDK crates the function links are exactly those its smsdesk-lambda features name
# (DynamoDB always; SQS with `queue`; Secrets Manager with `secrets`; End User Messaging SMS with `aws-sms`; S3 with `media`; the WebSocket management API with `live`). Before each function had its own
# CodeUri, SAM built from the root, where Cargo unifies every member's features: this check then fails.
#
# Usage: scripts/check-lambda-builds.sh        (prints one line per check and `N passed, N failed`)
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
functions=(inbound-webhook router outbound-send validate-credentials crm-upsert agent-api timers live)
passed=0
failed=0

ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

for f in "${functions[@]}"; do
    code_uri=$(grep -A12 "Binary: $f\$" infra/template.yaml | sed -n 's/^ *CodeUri: *//p' | head -n1)
    if [ "$code_uri" != "../functions/$f" ]; then
        fail "$f: infra/template.yaml gives CodeUri '$code_uri', not ../functions/$f"
        continue
    fi
    script_tree=$(cargo tree --locked --offline -e features --target "$target" -p "$f" 2>/dev/null) ||
        script_tree=$(cargo tree --locked -e features --target "$target" -p "$f")
    sam_tree=$(cd "functions/$f" && { cargo tree --locked --offline -e features --target "$target" 2>/dev/null ||
        cargo tree --locked -e features --target "$target"; })
    if [ "$script_tree" == "$sam_tree" ]; then
        ok "$f: sam build (in functions/$f) and build-lambdas.sh (-p $f) resolve the same features"
    else
        fail "$f: sam build and build-lambdas.sh resolve different features:"
        diff <(echo "$script_tree") <(echo "$sam_tree") | head -n 20 || true
    fi

    features=$(sed -n 's/.*smsdesk-lambda *=.*features *= *\[\([^]]*\)\].*/\1/p' "functions/$f/Cargo.toml" | tr -d '" ')
    want="aws-sdk-dynamodb"
    [[ ",$features," == *",queue,"* ]] && want="$want aws-sdk-sqs"
    [[ ",$features," == *",secrets,"* ]] && want="$want aws-sdk-secretsmanager"
    [[ ",$features," == *",aws-sms,"* ]] && want="$want aws-sdk-pinpointsmsvoicev2"
    [[ ",$features," == *",media,"* ]] && want="$want aws-sdk-s3"
    [[ ",$features," == *",live,"* ]] && want="$want aws-sdk-apigatewaymanagement"
    want=$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')
    got=$(grep -oE '^[│├└─ ]*aws-sdk-[a-z0-9]+' <<<"$sam_tree" | grep -oE 'aws-sdk-[a-z0-9]+' | sort -u | tr '\n' ' ')
    if [ "$got" == "$want" ]; then
        ok "$f: links exactly the SDK clients of its features [$features]: $got"
    else
        fail "$f: links [$got], its features [$features] need [$want]"
    fi
done

echo "lambda builds: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
