#!/usr/bin/env bash
# Installs codex-teams into your own Codex: the binary on PATH (PREFIX/bin, default
# ~/.local/bin), the MCP server in $CODEX_HOME/config.toml (default ~/.codex) as
# [mcp_servers.codex-teams], and the skill in $CODEX_HOME/skills/agent-teams. A thin wrapper:
# the logic is `codex-teams install` (Rust, tested). Idempotent: a second run changes no byte.
#
# Usage: scripts/install.sh [--prefix DIR] [--codex-home DIR] [--json]
#        scripts/install.sh --from codex-teams-VERSION-linux-x86_64.tar.gz [...]   # a release
#        scripts/install.sh --bin PATH [...]   # an already built binary (skips cargo)
# Without --from/--bin it builds the release binary from this checkout (cargo build --release).
# Refuses clearly when codex is missing or older than the supported version (CODEX_BIN
# names a codex that is not on PATH).
set -euo pipefail

from="" bin="" pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --from) from="${2:?--from needs a tarball}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) pass+=("$1"); shift ;;
    esac
done

if [ -n "$from" ]; then
    [ -f "$from" ] || { echo "error: --from $from: no such file" >&2; exit 1; }
    work="$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-install.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    tar -xzf "$from" -C "$work"
    top="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
    [ -n "$top" ] && [ -f "$top/SHA256SUMS" ] || { echo "error: $from is not a codex-teams release (no SHA256SUMS)" >&2; exit 1; }
    (cd "$top" && sha256sum --quiet -c SHA256SUMS) || { echo "error: $from: checksum mismatch, refusing to install" >&2; exit 1; }
    bin="$top/bin/codex-teams"
elif [ -z "$bin" ]; then
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found; install Rust, or use --from a release tarball" >&2; exit 1; }
    echo "== building codex-teams (release)" >&2
    (cd "$root" && cargo build --release --locked --bin codex-teams)
    bin="$root/target/release/codex-teams"
fi
[ -x "$bin" ] || { echo "error: $bin is not an executable codex-teams binary" >&2; exit 1; }
exec "$bin" install ${pass[@]+"${pass[@]}"}
