#!/usr/bin/env bash
# Builds a release tarball: dist/codex-teams-VERSION-linux-ARCH.tar.gz with the binary, the
# skill, the profiles, the install scripts, README/CHANGELOG and SHA256SUMS. Install it on a
# machine without cargo or this repo: `tar xzf ...; codex-teams-*/install.sh` or
# `scripts/install.sh --from TARBALL`.
#
# Usage: scripts/release.sh [--bin PATH] [--out DIR]   (--bin: package an already built binary)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="" out="$root/dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ]; then
    echo "== building codex-teams (release)" >&2
    cargo build --release --locked --bin codex-teams
    bin="$root/target/release/codex-teams"
fi
version="$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)"
name="codex-teams-$version-linux-$(uname -m)"
stage="$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-release.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/bin" "$dir/scripts"
cp "$bin" "$dir/bin/codex-teams"
cp -R skills profiles "$dir/"
cp scripts/install.sh scripts/uninstall.sh scripts/check-config.sh "$dir/scripts/"
cp README.md CHANGELOG.md "$dir/"
# From inside the unpacked folder: ./install.sh installs this folder's binary.
cat >"$dir/install.sh" <<'SH'
#!/usr/bin/env bash
# Installs this release: the binary, the MCP entry in $CODEX_HOME/config.toml and the skill.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
(cd "$here" && sha256sum --quiet -c SHA256SUMS) || { echo "error: checksum mismatch in $here" >&2; exit 1; }
exec "$here/scripts/install.sh" --bin "$here/bin/codex-teams" "$@"
SH
chmod 755 "$dir/install.sh"
(cd "$dir" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
mkdir -p "$out"
tar -czf "$out/$name.tar.gz" -C "$stage" "$name"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
