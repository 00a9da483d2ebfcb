#!/usr/bin/env bash
# Installs the pinned Codex CLI (@openai/codex, npm) into <repo>/.tools/codex, where the
# test harness looks for it (after $CODEX_BIN and `codex` on PATH). Idempotent: does
# nothing when the pinned version is already there. Needs only node + npm.
#
# Usage: scripts/install-codex.sh            # prints the binary's path on the last line
#        CODEX_VERSION=x.y.z scripts/install-codex.sh   # another version (re-check codex-facts)
set -euo pipefail

version="${CODEX_VERSION:-0.169.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/codex"
bin="$dest/node_modules/.bin/codex"

installed_version() {
    # `codex --version` prints `codex-cli X.Y.Z`.
    [ -x "$bin" ] && "$bin" --version 2>/dev/null | awk '{print $NF}' || true
}

if [ "$(installed_version)" = "$version" ]; then
    echo "codex $version already installed"
    echo "$bin"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm not found; install Node.js 18+ with npm (e.g. apt-get install -y nodejs npm), then rerun $0" >&2
    exit 1
fi

mkdir -p "$dest"
if [ ! -f "$dest/package.json" ]; then
    printf '{\n  "name": "codex-teams-tools",\n  "private": true\n}\n' >"$dest/package.json"
fi
echo "installing @openai/codex@$version into $dest ..."
# The platform binary is an optional dependency (@openai/codex-linux-x64 etc.): keep it.
npm install --prefix "$dest" --save-exact --include=optional --no-audit --no-fund \
    --loglevel=error "@openai/codex@$version"

got="$(installed_version)"
if [ "$got" != "$version" ]; then
    echo "error: after npm install, $bin reports version '${got:-none}', expected $version" >&2
    exit 1
fi
echo "codex $version installed"
echo "$bin"
