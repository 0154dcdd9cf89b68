#!/usr/bin/env bash
# Builds every Lambda function's bootstrap for arm64 (provided.al2023) with cargo-lambda:
#   target/lambda/<function>/bootstrap
#
# Usage: scripts/build-lambdas.sh [PACKAGE...]      (default: every function under functions/)
#   SMSDESK_CACHE     where tools live (default ~/.cache/smsdesk); the venv is $SMSDESK_CACHE/venv
#   LAMBDA_MANIFEST   Cargo.toml of the workspace to build (default: the repository's)
#   LAMBDA_TARGET     --arm64 (default) or --x86-64
#
# Installs what it needs on first use: the PyPI packages cargo-lambda (its wheel ships the binary) and
# ziglang (the cross linker cargo-lambda drives), and the rustup target aarch64-unknown-linux-gnu.
# Each function is built alone (`-p`), so Cargo does not unify one function's crate features into
# another's binary (see bench/coldstart/README.md).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SMSDESK_CACHE:-$HOME/.cache/smsdesk}"
venv="$cache/venv"
manifest="${LAMBDA_MANIFEST:-$repo/Cargo.toml}"
target_flag="${LAMBDA_TARGET:---arm64}"
functions=(inbound-webhook router outbound-send validate-credentials crm-upsert agent-api timers live)

log() { printf 'build-lambdas: %s\n' "$*" >&2; }

ensure_venv() {
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
  fi
  local missing=()
  [[ -x "$venv/bin/cargo-lambda" ]] || missing+=(cargo-lambda)
  "$venv/bin/python" -c 'import ziglang' 2>/dev/null || missing+=(ziglang)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
  fi
  # cargo-lambda runs `zig` from PATH (falling back to `python3 -m ziglang`): put both the venv and the
  # zig binary that the ziglang wheel ships on PATH.
  local zig_dir
  zig_dir="$("$venv/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')"
  export PATH="$venv/bin:$zig_dir:$PATH"
  command -v zig >/dev/null || { log "zig not found in $zig_dir"; exit 1; }
}

ensure_target() {
  local triple=aarch64-unknown-linux-gnu
  [[ "$target_flag" == "--x86-64" ]] && triple=x86_64-unknown-linux-gnu
  # Not `rustup ... | grep -q`: under pipefail, grep quitting at its match can fail the pipeline (SIGPIPE).
  if ! grep -qx "$triple" <<<"$(rustup target list --installed)"; then
    log "adding rustup target $triple"
    rustup target add "$triple"
  fi
}

main() {
  local packages=("$@")
  if ((${#packages[@]} == 0)); then
    for f in "${functions[@]}"; do
      [[ -f "$repo/functions/$f/Cargo.toml" ]] && packages+=("$f")
    done
    if ((${#packages[@]} == 0)); then
      log "no functions/*/Cargo.toml yet; name packages to build"
      exit 1
    fi
  fi
  ensure_venv
  ensure_target
  log "cargo-lambda $(cargo lambda --version 2>/dev/null | head -n1), zig $(zig version)"
  for p in "${packages[@]}"; do
    log "building $p ($target_flag, release)"
    cargo lambda build --release "$target_flag" --manifest-path "$manifest" -p "$p"
  done
  local dir
  dir="$(dirname "$manifest")/target/lambda"
  for p in "${packages[@]}"; do
    for bin in "$dir"/*/bootstrap; do
      [[ "$(basename "$(dirname "$bin")")" == "$p" ]] || continue
      printf '%s\t%s bytes\n' "$bin" "$(stat -c %s "$bin")"
    done
  done
}

main "$@"
