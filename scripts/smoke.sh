#!/usr/bin/env bash
# Smoke test of a whole team on the scripted model, no credentials:
#   scripts/smoke.sh small|medium|high
# Copies 1, 4 or 6 modules of fixtures/smoke into a scratch repo, runs
# `codex-teams run --json` on it with fixtures/scenarios/smoke.yaml, and fails unless the
# number of workers spawned is in the level's band (1-2, 3-4, 5-6), peak_threads <= 6,
# the team finalized, and the scratch repo's own tests pass.
# Uses $CODEX_TEAMS_BIN if set, else builds target/debug/codex-teams.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

level="${1:-}"
case "$level" in
  small) modules=1 lo=1 hi=2 ;;
  medium) modules=4 lo=3 hi=4 ;;
  high) modules=6 lo=5 hi=6 ;;
  *) echo "usage: scripts/smoke.sh small|medium|high" >&2; exit 2 ;;
esac

if [ -z "${CODEX_BIN:-}" ]; then
  if [ -x "$root/.tools/codex/node_modules/.bin/codex" ]; then
    export CODEX_BIN="$root/.tools/codex/node_modules/.bin/codex"
  elif ! command -v codex >/dev/null 2>&1; then
    echo "smoke: no codex binary; installing the pinned one (scripts/install-codex.sh)" >&2
    bash "$root/scripts/install-codex.sh" >&2
    export CODEX_BIN="$root/.tools/codex/node_modules/.bin/codex"
  fi
fi
bin="${CODEX_TEAMS_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --quiet --locked --bin codex-teams)
  bin="$root/target/debug/codex-teams"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
work="$scratch/repo"
mkdir -p "$work" "$scratch/codex-home" "$scratch/teams-home"
names=""
for i in $(seq 1 "$modules"); do
  cp "$root/fixtures/smoke/m$i.py" "$root/fixtures/smoke/test_m$i.py" "$work/"
  names="$names m$i"
done
if (cd "$work" && python3 -m unittest -q >/dev/null 2>&1); then
  echo "smoke $level: the fixture's tests pass before the run; the fixture is broken" >&2
  exit 1
fi

echo "== smoke $level: $modules module(s):$names" >&2
summary="$scratch/summary.json"
CODEX_HOME="$scratch/codex-home" CODEX_TEAMS_HOME="$scratch/teams-home" \
  "$bin" run --json --scenario "$root/fixtures/scenarios/smoke.yaml" \
  --scenario-log "$scratch/requests.jsonl" --cwd "$work" \
  "smoke $level: fix the failing test in each of these modules:$names" >"$summary"

tests_ok=0
if (cd "$work" && python3 -m unittest -q >"$scratch/tests.log" 2>&1); then tests_ok=1; fi

python3 - "$summary" "$level" "$lo" "$hi" "$tests_ok" "$scratch/requests.jsonl" <<'PY'
import json, sys
path, level, lo, hi, tests_ok, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
s = json.load(open(path))
reqs = [json.loads(line) for line in open(log) if line.strip()]
unmatched = sum(1 for r in reqs if r.get("outcome") != "matched")
served = sum(r.get("input_tokens", 0) + r.get("output_tokens", 0) for r in reqs)
counted = s["tokens"]["input"] + s["tokens"]["output"]
agents, peak = s["agents_spawned"], s["peak_threads"]
checks = [
    (lo <= agents <= hi, f"workers spawned {agents} in band {lo}-{hi}"),
    (peak <= 6, f"peak_threads {peak} <= 6"),
    (s["status"] in ("finalized", "done"), f"status {s['status']}"),
    (s["tasks"]["failed"] == 0 and s["tasks"]["done"] == s["tasks"]["total"], f"tasks {s['tasks']}"),
    (tests_ok, "the repo's own tests pass after the run"),
    (unmatched == 0, f"{unmatched} scripted-model requests matched no rule"),
    (abs(counted - served) * 50 <= max(served, 1),
     f"summary tokens {counted} = served {served} (the model's request log) within 2%"),
]
for ok, what in checks:
    print(("ok    " if ok else "FAIL  ") + what, file=sys.stderr)
t = s["tokens"]
print(json.dumps({"level": level, "agents_spawned": agents, "spawns_refused": s.get("spawns_refused"), "peak_threads": peak,
                  "tokens_input": t["input"], "tokens_cached": t["cached_input"],
                  "tokens_output": t["output"], "wall_ms": s["wall_ms"],
                  "ok": all(ok for ok, _ in checks)}))
sys.exit(0 if all(ok for ok, _ in checks) else 1)
PY
