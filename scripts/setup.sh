#!/usr/bin/env bash
# Sets up a fresh checkout: the pinned Codex CLI into .tools/ and a release build of
# codex-teams. Needs cargo and node/npm; no credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-codex.sh
echo "== building codex-teams (release)"
cargo build --release --locked
echo "codex-teams: $PWD/target/release/codex-teams"
