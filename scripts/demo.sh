#!/usr/bin/env bash
# Runs a team on the bundled example with no credentials: the real Codex CLI against the
# project's scripted model server. Copies fixtures/example (a tiny Python repo whose test
# fails) to a temporary directory, runs
#   codex-teams run --scenario fixtures/scenarios/example-fix.yaml --cwd <copy> "fix the failing test in textstats"
# and then runs the example's own tests, which now pass.
#
# Usage: scripts/demo.sh [--json]       (extra arguments go to `codex-teams run`)
# Env:   CODEX_TEAMS_HOME (default: a temporary directory, so your own store is untouched)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is needed to run the example's tests" >&2
    exit 1
fi

# The pinned Codex CLI (does nothing when it is already there).
codex_bin="${CODEX_BIN:-}"
if [ -z "$codex_bin" ]; then
    codex_bin="$(bash scripts/install-codex.sh | tail -n 1)"
fi
export CODEX_BIN="$codex_bin"

echo "== building codex-teams" >&2
cargo build --quiet --bin codex-teams
bin="$root/target/debug/codex-teams"

work="$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-demo.XXXXXX")"
cp -R fixtures/example "$work/repo"
export CODEX_TEAMS_HOME="${CODEX_TEAMS_HOME:-$work/home}"
# A throwaway Codex home: the demo never touches your Codex config or sessions.
export CODEX_HOME="$work/codex-home"
mkdir -p "$CODEX_HOME"

echo "== the example's tests before the team's work" >&2
(cd "$work/repo" && python3 -m unittest -q 2>&1 | tail -n 1) >&2 || true

echo "== codex-teams run (scripted model, no credentials)" >&2
"$bin" run --scenario fixtures/scenarios/example-fix.yaml --cwd "$work/repo" "$@" \
    "fix the failing test in textstats"

echo "== the example's tests after the team's work" >&2
cd "$work/repo"
python3 -m unittest -v 2>&1 | tail -n 4
echo "demo repo: $work/repo   store: $CODEX_TEAMS_HOME" >&2
