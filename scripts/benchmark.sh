#!/usr/bin/env bash
# The token benchmark (SPEC §8, benchmarks/README.md): the fixed eval set in benchmarks/tasks
# run by one plain codex (solo), the baseline and the candidate team, on the real codex binary
# against the scripted model, with a report and a verdict in benchmarks/results/DATE-MODE/.
#
#   scripts/benchmark.sh --baseline fixed-6 --candidate adaptive \
#       [--arms solo,fixed-6,adaptive] [--repeat N] [--tasks PATTERN] [--latency MODEL] [--live]
#       [--out DIR] [--timeout-secs S] [--json]
#
# A thin wrapper over `codex-teams bench run` (see `--help` there for every option). Exits 0
# on verdict PASS, 1 on FAIL (a quality regression, the candidate not cheaper, a broken task).
# Uses $CODEX_TEAMS_BIN if set, else builds the debug binary; $CODEX_BIN, else the pinned
# codex under .tools/ (installed on demand).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    echo
    bin="${CODEX_TEAMS_BIN:-$root/target/debug/codex-teams}"
    if [ -x "$bin" ]; then exec "$bin" bench run --help; fi
    exit 0
  fi
done

if [ -z "${CODEX_BIN:-}" ]; then
  if [ -x "$root/.tools/codex/node_modules/.bin/codex" ]; then
    export CODEX_BIN="$root/.tools/codex/node_modules/.bin/codex"
  elif ! command -v codex >/dev/null 2>&1; then
    echo "benchmark: no codex binary; installing the pinned one (scripts/install-codex.sh)" >&2
    bash "$root/scripts/install-codex.sh" >&2
    export CODEX_BIN="$root/.tools/codex/node_modules/.bin/codex"
  fi
fi
bin="${CODEX_TEAMS_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --locked --bin codex-teams
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/codex-teams"
fi
exec "$bin" bench run "$@"
