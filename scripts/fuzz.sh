#!/usr/bin/env bash
# Coverage-guided fuzzing of smsdesk's fuzz targets (fuzz/src/lib.rs) with libFuzzer, on the stable toolchain.
#
#   scripts/fuzz.sh [TARGET...]        every target (or those named), SMSDESK_FUZZ_SECS in all (96 by default)
#
# How: libfuzzer-sys builds libFuzzer from source with the machine's C++ compiler; our code and its
# dependencies are instrumented with LLVM's SanitizerCoverage through stable rustc flags (`-Cpasses=
# sancov-module -Cllvm-args=-sanitizer-coverage-...`, as cargo-fuzz does with `--sanitizer none`), built for
# the explicit host triple so build scripts and proc-macros stay uninstrumented. No nightly, no sanitizer.
# Each target runs in its own process (SMSDESK_FUZZ_TARGET) from its seeds plus the corpus kept from earlier
# runs on this machine, for its share of the time; a panic or a hang (over 10 s on one input) fails the run
# and leaves the input in the artifacts directory:
#   ${CARGO_TARGET_DIR:-target}/fuzz-corpus/<target>/        what libFuzzer kept (grows run after run)
#   ${CARGO_TARGET_DIR:-target}/fuzz-artifacts/<target>-...    crashing or hanging inputs
# Replay one: SMSDESK_FUZZ_TARGET=<target> <binary printed below> <file>.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
total="${SMSDESK_FUZZ_SECS:-96}"
host="$(rustc -vV | sed -n 's/^host: //p')"

# SanitizerCoverage as libFuzzer expects it (8-bit counters, PC table, comparison tracing): stable codegen flags.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"
cargo build --locked -q --profile fuzz -p smsdesk-fuzz --features libfuzzer --bin smsdesk-libfuzzer --target "$host"
unset RUSTFLAGS
fuzzer="$target_dir/$host/fuzz/smsdesk-libfuzzer"

seeds="$(mktemp -d "${TMPDIR:-/tmp}/smsdesk-fuzz-seeds.XXXXXX")"
trap 'rm -rf "$seeds"' EXIT
mapfile -t known < <(SMSDESK_FUZZ_LIST=1 "$fuzzer")
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=("${known[@]}")
fi
each=$(( total / ${#targets[@]} ))
[ "$each" -ge 1 ] || each=1
echo "libFuzzer ($fuzzer): ${#targets[@]} targets, ${each}s each"

status=0
for t in "${targets[@]}"; do
    # A loop, not `printf | grep -q`: grep -q quits at its match, and under pipefail the printf still writing
    # into the closed pipe (SIGPIPE) failed the check now and then for a known target.
    is_known=0
    for k in "${known[@]}"; do [ "$k" = "$t" ] && is_known=1; done
    [ "$is_known" = 1 ] || { echo "unknown target $t; known: ${known[*]}" >&2; exit 2; }
    corpus="$target_dir/fuzz-corpus/$t"
    mkdir -p "$corpus" "$target_dir/fuzz-artifacts"
    log="$(mktemp "${TMPDIR:-/tmp}/smsdesk-fuzz-$t.XXXXXX")"
    # The first corpus directory takes what libFuzzer finds; the seeds (written by the binary) are read only.
    if SMSDESK_FUZZ_TARGET="$t" SMSDESK_FUZZ_SEEDS="$seeds/$t" "$fuzzer" "$corpus" "$seeds/$t" -max_total_time="$each" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$target_dir/fuzz-artifacts/$t-" >"$log" 2>&1; then
        # e.g. "#123456 DONE cov: 812 ft: 2301 corp: 140/9Kb lim: 4096 exec/s: 13000 rss: 80Mb"
        printf 'fuzz %-20s %s\n' "$t" "$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /')"
        rm -f "$log"
    else
        status=1
        echo "fuzz $t FAILED: libFuzzer's output follows (the input is in $target_dir/fuzz-artifacts/)"
        tail -60 "$log"
    fi
done
exit "$status"
