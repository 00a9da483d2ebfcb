#!/usr/bin/env bash
# Checks that your Codex can run teams: each item ok or FAIL with the fix (binary on PATH,
# codex version, the MCP entry, approval and env settings, the skill, server-name clashes,
# the store's permissions, the model and provider workers inherit). Exits non-zero on any
# FAIL. A thin wrapper over `codex-teams check-config`.
#
# Usage: scripts/check-config.sh [--codex-home DIR] [--json]
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
bin="${CODEX_TEAMS_BIN:-$(command -v codex-teams || true)}"
[ -n "$bin" ] || bin="$HOME/.local/bin/codex-teams"
[ -x "$bin" ] || { echo "FAIL binary   codex-teams is not on PATH" >&2; echo "              fix: run scripts/install.sh, then add ~/.local/bin to PATH" >&2; exit 1; }
exec "$bin" check-config "$@"
