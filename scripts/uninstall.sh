#!/usr/bin/env bash
# Removes exactly what scripts/install.sh added: the [mcp_servers.codex-teams] entry (a
# config.toml with your comments and servers is left byte-identical to before install), the
# skill, and the binary install copied. The team store (~/.codex-teams) stays unless --purge.
# A thin wrapper over `codex-teams uninstall`.
#
# Usage: scripts/uninstall.sh [--codex-home DIR] [--purge] [--json]
#        CODEX_TEAMS_BIN=PATH scripts/uninstall.sh   # which codex-teams to run
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
bin="${CODEX_TEAMS_BIN:-}"
if [ -z "$bin" ]; then
    bin="$(command -v codex-teams || true)"
    [ -n "$bin" ] || bin="$HOME/.local/bin/codex-teams"
fi
[ -x "$bin" ] || { echo "error: codex-teams not found (not on PATH, not in ~/.local/bin); set CODEX_TEAMS_BIN" >&2; exit 1; }
# Run a copy: uninstall removes the installed binary itself.
tmp="$(mktemp "${TMPDIR:-/tmp}/codex-teams-uninstall.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
cp "$bin" "$tmp" && chmod 700 "$tmp"
"$tmp" uninstall "$@"
