#!/usr/bin/env bash
# Long fuzz runs (issue 12): every tool's argument decoding over real HTTP, and every store
# operation on a real database, with N generated inputs each (default 10000). CI runs the
# same tests briefly as part of `cargo test` (200 calls per tool, 3000 store operations).
#
#   scripts/fuzz.sh --cases 1000000            # a million of each
#   scripts/fuzz.sh --cases 1000000 --release  # faster, after a release build
#   scripts/fuzz.sh --cases 50000 --only store # just one target (store | tools)
#
# Prints how many inputs each target ran and how many were refused; exits non-zero if any
# refused input lacked a named error or changed the store (proptest prints the shrunk case).
set -euo pipefail
cd "$(dirname "$0")/.."

cases=10000
profile=()
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    --cases=*) cases="${1#*=}"; shift ;;
    --release) profile=(--release); shift ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$cases" in ''|*[!0-9]*) echo "fuzz.sh: --cases needs a number" >&2; exit 2 ;; esac

export CODEX_TEAMS_FUZZ_CASES="$cases"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
  echo "== fuzz $1: $cases inputs"
  local one rc
  one=$(mktemp)
  set +e
  cargo test "${profile[@]}" --locked -p "$2" --test "$3" -- --nocapture >"$one" 2>&1
  rc=$?
  set -e
  grep -E '^fuzz:|test result|panicked|minimal failing|^error' "$one" || true
  [ "$rc" -eq 0 ] || tail -n 40 "$one"
  cat "$one" >>"$log"
  rm -f "$one"
  return $rc
}
status=0
if [ -z "$only" ] || [ "$only" = store ]; then
  run store codex-teams-store fuzz_ops || status=1
fi
if [ -z "$only" ] || [ "$only" = tools ]; then
  run tools codex-teams-mcp fuzz_tools || status=1
fi
total=$(grep -E '^fuzz:' "$log" | awk '{s += $4} END {print s + 0}')
echo "fuzz: $total inputs run in all"
exit $status
