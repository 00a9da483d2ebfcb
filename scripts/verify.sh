#!/usr/bin/env bash
# The project's test command: formatting, lints, then every unit and integration test of
# the workspace (the end-to-end ones drive the real pinned codex binary; see
# scripts/install-codex.sh). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CODEX_BIN:-}" ] && [ -x .tools/codex/node_modules/.bin/codex ]; then
  export CODEX_BIN="$PWD/.tools/codex/node_modules/.bin/codex"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== install (scripts/install.sh into a throwaway HOME), check-config"
inst="$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-verify.XXXXXX")"
trap 'rm -rf "$inst"' EXIT
HOME="$inst" bash scripts/install.sh --bin target/debug/codex-teams
HOME="$inst" PATH="$inst/.local/bin:$PATH" codex-teams check-config
export CODEX_TEAMS_BIN="$inst/.local/bin/codex-teams"
echo "== smoke with the installed binary (scripts/smoke.sh small|medium|high)"
passed=0
for level in small medium high; do
  bash scripts/smoke.sh "$level"
  passed=$((passed + 1))
done
echo "smoke: $passed passed, 0 failed"
echo "== 20 codex-teams mcp servers on one home (scripts/mcp-load.py, short)"
python3 scripts/mcp-load.py --bin "$CODEX_TEAMS_BIN" --servers 20 --rounds 3
echo "== quick benchmark: 3 tasks, 1 repeat (fails on a quality regression or adaptive not below fixed-6)"
bash scripts/benchmark.sh --baseline fixed-6 --candidate adaptive --repeat 1 \
  --tasks s1-wordcount,m1-inventory,c1-pipeline --out "$inst/bench"
echo "== security probes against a live run (scripts/security-check.sh)"
bash scripts/security-check.sh
