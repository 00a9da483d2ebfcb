#!/usr/bin/env bash
# The performance figures of docs/performance.md, measured on this machine and written into
# its table (between the BEGIN/END markers) with today's date:
#   scripts/bench.sh [--no-doc] [--bus-only]
# Builds the release binary (honours CARGO_TARGET_DIR), then runs
#   codex-teams bench bus --json        our bus and the raw-SQLite floor, same run; three
#                                       runs, the table shows the median and all three
#   codex-teams bench spawn --json      6 workers via the npm launcher vs the native binary
#   scripts/mcp-load.py --run --json    20 `codex-teams mcp` servers + a run on one home
#   a 6-worker run (the `high` smoke)   the supervisor's peak RSS, read from /proc
# The raw JSON of each lands in $BENCH_OUT (default: a temporary directory, printed).
# Needs the pinned codex (CODEX_BIN, else .tools/codex) for everything but the bus.
# --bus-only measures the bus alone and leaves the table's other rows as they were.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
write_doc=1
bus_only=0
for arg in "$@"; do
  case "$arg" in
    --no-doc) write_doc=0 ;;
    --bus-only) bus_only=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/bench.sh [--no-doc] [--bus-only]" >&2; exit 2 ;;
  esac
done

if [ -z "${CODEX_BIN:-}" ] && [ -x .tools/codex/node_modules/.bin/codex ]; then
  export CODEX_BIN="$PWD/.tools/codex/node_modules/.bin/codex"
fi
[ "$bus_only" = 1 ] || [ -n "${CODEX_BIN:-}" ] || { echo "bench: set CODEX_BIN or run scripts/install-codex.sh" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --quiet --release --locked --bin codex-teams
bin="$target/release/codex-teams"
out="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-bench.XXXXXX")}"
mkdir -p "$out"
echo "bench: results in $out" >&2

for run in 1 2 3; do
  echo "== bench bus ($run of 3)" >&2
  "$bin" bench bus --json >"$out/bus-$run.json"
done
if [ "$bus_only" = 0 ]; then
echo "== bench spawn" >&2
"$bin" bench spawn --json >"$out/spawn.json"
echo "== 20 mcp servers + a run" >&2
python3 scripts/mcp-load.py --bin "$bin" --servers 20 --rounds 25 --run --json >"$out/load.json"
echo "== supervisor peak RSS, 6-worker run" >&2
python3 - "$bin" "$root" >"$out/supervisor.json" <<'PY'
import json, os, shutil, subprocess, sys, tempfile, time
bin_path, root = sys.argv[1], sys.argv[2]
scratch = tempfile.mkdtemp(prefix="bench-supervisor-")
work, home, codex_home = (os.path.join(scratch, d) for d in ("work", "teams", "codex"))
for d in (work, home, codex_home):
    os.makedirs(d, mode=0o700)
names = []
for i in range(1, 7):
    for f in (f"m{i}.py", f"test_m{i}.py"):
        shutil.copy(os.path.join(root, "fixtures/smoke", f), work)
    names.append(f"m{i}")
env = dict(os.environ, CODEX_HOME=codex_home, CODEX_TEAMS_HOME=home)
proc = subprocess.Popen([bin_path, "run", "--json", "--scenario",
                         os.path.join(root, "fixtures/scenarios/smoke.yaml"), "--cwd", work,
                         "smoke high: fix the failing test in each of these modules: " + " ".join(names)],
                        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
peak = 0
while proc.poll() is None:
    try:
        for line in open(f"/proc/{proc.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.05)
summary = json.loads(proc.stdout.read() or "{}")
shutil.rmtree(scratch, ignore_errors=True)
print(json.dumps({"supervisor_peak_rss_mb": round(peak / 1024, 1), "workers": summary.get("agents_spawned"),
                  "status": summary.get("status"), "exit": proc.returncode}))
PY
fi

[ "$write_doc" = 1 ] || { cat "$out"/*.json; exit 0; }
python3 - "$out" docs/performance.md <<'PY'
import datetime, json, os, sys
out, doc = sys.argv[1], sys.argv[2]
j = lambda name: json.load(open(os.path.join(out, name)))
have = lambda name: os.path.exists(os.path.join(out, name))
runs = sorted((j(f"bus-{r}.json") for r in (1, 2, 3)), key=lambda b: b["msgs_per_sec"])
bus = runs[1]  # the median run by throughput; every row below is from that one run
all3 = lambda key, fmt: " / ".join(fmt.format(b[key]) for b in runs)
day = datetime.date.today().isoformat()
rows = [
    ("Bus throughput, 4 agents, batch 256", f"{bus['msgs_per_sec']:.0f} msg/s (median of 3 runs: {all3('msgs_per_sec', '{:.0f}')})", "`codex-teams bench bus`"),
    ("Raw-SQLite floor, one transaction per call (same run)", f"{bus['floor_msgs_per_sec']:.0f} msg/s; bus at {bus['floor_ratio']:.2f}x", "`codex-teams bench bus`"),
    ("Raw-SQLite floor, 256 sends per transaction (same run)", f"{bus['batched_floor_msgs_per_sec']:.0f} msg/s; bus at {bus['batched_floor_ratio']:.2f}x", "`codex-teams bench bus`"),
    ("Bus round trip (send to ack committed)", f"p50 {bus['p50_ms']:.2f} ms, p99 {bus['p99_ms']:.2f} ms (p99 of the 3 runs: {all3('p99_ms', '{:.2f}')}); lost {bus['lost']}, duplicated {bus['duplicates']}", "`codex-teams bench bus`"),
]
if have("spawn.json"):
    spawn, load, sup = j("spawn.json"), j("load.json"), j("supervisor.json")
    n, l = spawn["native"], spawn["launcher"]
    rows += [
    ("Worker memory, native codex (per worker, 6 at once)", f"RSS {n['rss_mb']:.1f} MB, PSS {n['pss_mb']:.1f} MB, {n['processes']} process(es)", "`codex-teams bench spawn`"),
    ("Worker memory, npm launcher (per worker, 6 at once)", f"RSS {l['rss_mb']:.1f} MB, PSS {l['pss_mb']:.1f} MB, {l['processes']} process(es)", "`codex-teams bench spawn`"),
    ("Spawn to first model request, native / launcher", f"p50 {n['first_request_p50_ms']:.0f} / {l['first_request_p50_ms']:.0f} ms", "`codex-teams bench spawn`"),
    ("Supervisor peak RSS, 6-worker run on the scripted model", f"{sup['supervisor_peak_rss_mb']:.1f} MB ({sup['workers']} workers, {sup['status']})", "`scripts/bench.sh` (VmHWM from /proc)"),
    ("20 `codex-teams mcp` servers + a run on one home", f"{load['calls']} calls, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms; BUSY {load['busy_errors']}, errors {load['errors']}, integrity {load['integrity']}, run {(load['run'] or {}).get('status')}", "`scripts/mcp-load.py --run`"),
    ]
text = open(doc).read()
begin, end = "<!-- BEGIN bench.sh -->", "<!-- END bench.sh -->"
head, rest = text.split(begin, 1)
old_table, tail = rest.split(end, 1)
# A figure not measured this time (--bus-only) keeps its row, date and all.
fresh = {a: f"| {a} | {b} | {c} | {day} |" for a, b, c in rows}
old_rows = [r for r in old_table.strip().splitlines()[2:] if r.startswith("| ")]
lines = [fresh.pop(r.split(" | ")[0][2:], r) for r in old_rows] + list(fresh.values())
table = ["| Figure | Value | How to reproduce | Date |", "|---|---|---|---|"] + lines
open(doc, "w").write(head + begin + "\n" + "\n".join(table) + "\n" + end + tail)
print(f"bench: wrote {len(rows)} figures to {doc}", file=sys.stderr)
PY
