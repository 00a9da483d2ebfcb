#!/usr/bin/env bash
# scripts/chaos.sh [--iterations N] [--fixed] [--seed S] [--keep] [--json]
# Kills the supervisor or a worker of the six-module smoke job at random moments (or at the
# 8 fixed points with --fixed), resumes until the team is finalized, and checks from outside:
# the job finished with the repo's tests green, 0 orphans, 0 duplicate completions, tokens
# served <= 1.25x an uninterrupted run. See scripts/chaos.py --help.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${CODEX_BIN:-}" ] && [ -x "$root/.tools/codex/node_modules/.bin/codex" ]; then
  export CODEX_BIN="$root/.tools/codex/node_modules/.bin/codex"
fi
if [ -z "${CODEX_TEAMS_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet --locked --bin codex-teams)
  export CODEX_TEAMS_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/codex-teams"
fi
exec python3 "$root/scripts/chaos.py" "$@"
