#!/usr/bin/env bash
# Token cost of the smoke job (issue 13's closing figures): the team (scripts/smoke.sh's run,
# request log kept) and one plain `codex exec` doing the same steps (fixtures/scenarios/
# smoke-solo.yaml), both on the scripted model; prints per-agent requests and input tokens
# and the team/solo ratio.
#   scripts/smoke-cost.sh small|medium|high [OUT_DIR]
# Needs $CODEX_TEAMS_BIN (a built codex-teams) and $CODEX_BIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
level="${1:?usage: scripts/smoke-cost.sh small|medium|high [OUT_DIR]}"
case "$level" in small) modules=1 ;; medium) modules=4 ;; high) modules=6 ;;
  *) echo "usage: scripts/smoke-cost.sh small|medium|high [OUT_DIR]" >&2; exit 2 ;; esac
out="${2:-$(mktemp -d)}"
bin="${CODEX_TEAMS_BIN:?set CODEX_TEAMS_BIN to a built codex-teams}"
rm -rf "$out/team" "$out/solo"
names=""
for arm in team solo; do
  mkdir -p "$out/$arm/repo" "$out/$arm/codex-home" "$out/$arm/teams-home"
  chmod 700 "$out/$arm/codex-home" "$out/$arm/teams-home"
  for i in $(seq 1 "$modules"); do
    cp "$root/fixtures/smoke/m$i.py" "$root/fixtures/smoke/test_m$i.py" "$out/$arm/repo/"
  done
done
for i in $(seq 1 "$modules"); do names="$names m$i"; done
job="smoke $level: fix the failing test in each of these modules:$names"

CODEX_HOME="$out/team/codex-home" CODEX_TEAMS_HOME="$out/team/teams-home" \
  "$bin" run --json --scenario "$root/fixtures/scenarios/smoke.yaml" \
  --scenario-log "$out/team/requests.jsonl" --cwd "$out/team/repo" "$job" >"$out/team/summary.json"

"$bin" mock-model --scenario "$root/fixtures/scenarios/smoke-solo.yaml" \
  --log "$out/solo/requests.jsonl" >"$out/solo/mock.out" 2>"$out/solo/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -qs listening "$out/solo/mock.out" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$out/solo/mock.out")"
cat >"$out/solo/codex-home/config.toml" <<TOML
model_provider = "mock"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = "$url"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
TOML
(cd "$out/solo/repo" && env -u OPENAI_API_KEY -u CODEX_API_KEY CODEX_HOME="$out/solo/codex-home" \
  "${CODEX_BIN:-codex}" exec --json --skip-git-repo-check -s workspace-write -- "$job" >"$out/solo/exec.jsonl" 2>"$out/solo/exec.err" </dev/null)
kill $mock; wait $mock 2>/dev/null || true

python3 - "$out" <<'PY'
import json, sys, collections
out = sys.argv[1]
def load(arm):
    return [json.loads(l) for l in open(f"{out}/{arm}/requests.jsonl") if l.strip()]
team, solo = load("team"), load("solo")
per = collections.OrderedDict()
for r in team:
    a = per.setdefault(r.get("prompt_cache_key") or "?", [])  # one per codex thread
    a.append(r)
for a, rs in per.items():
    role = "lead" if "role: lead" in rs[0].get("prompt", "") else "worker"
    print(f"  {role} {a[:13]}: {len(rs)} requests, input {sum(r.get('input_tokens',0) for r in rs)}: " +
          ", ".join(f"{r.get('rule')}={r.get('input_tokens')}" for r in rs))
ti = sum(r.get("input_tokens", 0) for r in team)
si = sum(r.get("input_tokens", 0) for r in solo)
print(f"team: {len(team)} requests, input {ti}; solo: {len(solo)} requests, input {si}; team/solo {ti/max(si,1):.2f}x")
PY
