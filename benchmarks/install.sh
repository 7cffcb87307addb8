#!/usr/bin/env bash
# The README's first command, timed side by side in one run: a fresh clone of REF (default: the
# commit before AKS, which added the 155 MB Azure SDK) and of HEAD, each installed with pip (the
# old quick start) and with uv (the current one), then previewed offline. Each row runs ROUNDS
# times in turn, so a change in the machine's load hits all of them alike. COLD=1 bypasses the
# package caches (each install downloads every wheel).
#   bash benchmarks/install.sh [REF] [ROUNDS]
set -euo pipefail
ref="${1:-a7b3b1c}"
rounds="${2:-2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone -q "$root" "$work/before" && git -C "$work/before" checkout -q "$ref"
git clone -q "$root" "$work/after"

install() {
  local tool="$1" clone="$2"
  rm -rf "$clone/.venv" "$clone/preview-out"
  python3 -m venv "$clone/.venv"
  if [[ "$tool" == pip ]]; then
    if [[ "${COLD:-0}" == 1 ]]; then export PIP_NO_CACHE_DIR=1; fi
    "$clone/.venv/bin/pip" install -q -e "$clone"
  else
    "$clone/.venv/bin/pip" install -q uv
    if [[ "${COLD:-0}" == 1 ]]; then export UV_CACHE_DIR="$work/uv-cache-$RANDOM"; fi
    "$clone/.venv/bin/uv" pip install -q --python "$clone/.venv/bin/python" -e "$clone"
  fi
  (cd "$clone" && .venv/bin/keyless preview --stack dev --quiet)
}

for round in $(seq "$rounds"); do
  for tool in pip uv; do
    for clone in before after; do
      start=$(date +%s.%N)
      install "$tool" "$work/$clone" >/dev/null 2>&1
      end=$(date +%s.%N)
      printf 'round %s  %-3s  %-6s  %6.1fs\n' "$round" "$tool" "$clone" "$(echo "$end - $start" | bc)"
    done
  done
done
