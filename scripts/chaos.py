#!/usr/bin/env python3
"""Chaos test for codex-teams (issue 11): the six-module smoke job, SIGKILL of the supervisor
or of a worker at a chosen or random moment, `resume` until the team is finalized, then the
invariants, counted from outside (the scripted model's request log, /proc, the repo's tests):

  - the job finishes: team finalized, 6/6 tasks done, the repo's own tests pass;
  - 0 orphans: no process of the run is left once it ends;
  - 0 duplicate completions: the store's event log has no task going to done twice;
  - tokens served (the model's request log, every run and resume) <= 1.25x an
    uninterrupted run of the same job.

Used by tests/chaos.rs (--fixed: the supervisor at 5 points, a worker at 3) and by
scripts/chaos.sh (--iterations N: random kills). Prints one line per case and a final JSON
object with --json.
"""

import argparse
import glob
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "fixtures/scenarios/smoke.yaml")
MODULES = [f"m{i}" for i in range(1, 7)]
TASK = "smoke high: fix the failing test in each of these modules: " + " ".join(MODULES)
TOKEN_RATIO = 1.25
MAX_RATIO = [TOKEN_RATIO]  # --max-ratio

# Supervisor kill points: a rule of smoke.yaml and how many of its requests must be served.
SUPERVISOR_POINTS = [
    ("spawns-requested", "lead-spawns-high", 1),
    ("workers-started", "worker-starts-on-its-task", 2),
    ("mid-work", "worker-completes", 2),
    ("board-done", "worker-completes", 6),
    ("workers-ending", "worker-ends", 3),
]
# Worker kill points: kill one live implementer once this many requests of the rule were served.
WORKER_POINTS = [
    ("on-its-task", "worker-starts-on-its-task", 1),
    ("mid-work", "worker-starts-on-its-task", 4),
    ("after-complete", "worker-completes", 1),
]
# Most requests a rule gets in an uninterrupted run (for random kill points).
RULE_TOP = {"worker-starts-on-its-task": 6, "worker-completes": 6, "worker-ends": 6}


class World:
    """One case's throwaway homes, repo and request log."""

    def __init__(self, binary, codex):
        self.dir = tempfile.mkdtemp(prefix="codex-teams-chaos.")
        self.home = os.path.join(self.dir, "teams-home")
        self.codex_home = os.path.join(self.dir, "codex-home")
        self.repo = os.path.join(self.dir, "repo")
        self.log = os.path.join(self.dir, "requests.jsonl")
        for d in (self.home, self.codex_home, self.repo):
            os.makedirs(d)
        for m in MODULES:
            for f in (f"{m}.py", f"test_{m}.py"):
                shutil.copy(os.path.join(ROOT, "fixtures/smoke", f), os.path.join(self.repo, f))
        self.binary = binary
        self.env = dict(os.environ)
        self.env.update(
            CODEX_TEAMS_HOME=self.home,
            CODEX_HOME=self.codex_home,
            CODEX_BIN=codex,
            CODEX_TEAMS_SCENARIO_LOG=self.log,
            CODEX_TEAMS_GRACE_MS="2000",
        )
        for k in ("CODEX_TEAMS_DB", "CODEX_TEAMS_LOG"):
            self.env.pop(k, None)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args):
        return subprocess.Popen(
            [self.binary, *args],
            env=self.env,
            cwd=self.dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_args(self):
        return ["run", "--json", "--scenario", SCENARIO, "--cwd", self.repo, TASK]

    def resume_args(self, team):
        return ["resume", team, "--json", "--scenario", SCENARIO]

    def requests(self):
        try:
            with open(self.log) as f:
                return [r for r in map(parse_record, f) if r is not None]
        except FileNotFoundError:
            return []

    def served(self, rule):
        return sum(1 for r in self.requests() if r.get("rule") == rule)

    def status(self, team=None):
        args = [self.binary, "status", "--json"] + ([team] if team else [])
        if team:
            args = [self.binary, "status", team, "--json"]
        out = subprocess.run(args, env=self.env, cwd=self.dir, capture_output=True, text=True)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else {}

    def team_id(self):
        teams = self.status().get("teams") or []
        return teams[0]["team_id"] if teams else None

    def live(self):
        """Live processes of this world: pid -> (agent id, role)."""
        found = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(
                        kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv
                    )
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
            except (OSError, IndexError, ValueError):
                continue
            if env.get(b"CODEX_HOME", b"").decode() != self.codex_home:
                continue
            found[int(pid)] = (
                env.get(b"CODEX_TEAMS_AGENT_ID", b"").decode(),
                env.get(b"CODEX_TEAMS_ROLE", b"").decode(),
            )
        return found

    def tests_pass(self):
        out = subprocess.run(
            [sys.executable, "-m", "unittest", "-q"], cwd=self.repo, capture_output=True
        )
        return out.returncode == 0


def parse_record(line):
    """One request-log line. The log is read while the scripted model appends to it (a
    last line may be half written) and the model lives in the supervisor we SIGKILL (a line
    may be cut, the next run's record then follows it on the same line): a line that does
    not parse is retried from its last record start, else skipped."""
    line = line.strip()
    if not line:
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        i = line.rfind('{"seq":')
        if i > 0:
            return parse_record(line[i:])
        return None


def served_tokens(reqs):
    return sum(r.get("input_tokens", 0) + r.get("output_tokens", 0) for r in reqs)


def done_counts(world):
    """How many times the store recorded each task going to `done` (its own event log)."""
    counts = {}
    for db in glob.glob(os.path.join(world.home, "*.db")):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for (payload,) in con.execute("SELECT payload FROM events WHERE kind = 'task.updated'"):
                p = json.loads(payload)
                if p.get("status") == "done":
                    counts[p["task_id"]] = counts.get(p["task_id"], 0) + 1
        finally:
            con.close()
    return counts


def wait_until(pred, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def finish(world, proc, limit=150):
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, f"timed out after {limit} s; stderr: {err[-400:]}"
    line = next((l for l in reversed(out.splitlines()) if l.startswith("{")), None)
    return (json.loads(line) if line else None), err


def drive_to_end(world, team, resumes=4):
    """Resumes the team until it is finalized; returns the last summary and an error."""
    for _ in range(resumes):
        st = world.status(team)
        if st.get("status") == "finalized":
            return st, None
        summary, err = finish(world, world.start(*world.resume_args(team)))
        if summary and summary.get("status") == "finalized":
            return summary, None
    st = world.status(team)
    if st.get("status") == "finalized":
        return st, None
    return None, f"not finalized after {resumes} resumes: {st.get('status')}"


def check(world, baseline, case, team):
    problems = []
    st = world.status(team) if team else {}
    if st.get("status") != "finalized":
        problems.append(f"team {st.get('status')}")
    tasks = st.get("tasks") or []
    done = sum(1 for t in tasks if t.get("status") == "done")
    if done != len(MODULES):
        problems.append(f"{done}/{len(MODULES)} tasks done")
    if not world.tests_pass():
        problems.append("the repo's tests fail")
    if not wait_until(lambda: not world.live(), 15):
        problems.append(f"orphans: {sorted(world.live().items())}")
    reqs = world.requests()
    dups = sum(n - 1 for n in done_counts(world).values())
    if dups:
        problems.append(f"{dups} duplicate completions")
    tokens = served_tokens(reqs)
    ratio = tokens / baseline if baseline else 0.0
    if baseline and ratio > MAX_RATIO[0]:
        problems.append(f"tokens {tokens} = {ratio:.2f}x the uninterrupted run")
    return {
        "case": case,
        "ok": not problems,
        "problems": problems,
        "tokens": tokens,
        "ratio": round(ratio, 3),
        "duplicates": dups,
        "requests": len(reqs),
    }


def kill_supervisor(world, proc, rule, count, limit=90):
    if not wait_until(lambda: world.served(rule) >= count or proc.poll() is not None, limit):
        return f"never reached {rule} x{count}"
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the run ended first: the case still checks the outcome
    proc.wait()
    return None


def kill_worker(world, proc, rule, count, limit=90):
    def ready():
        return world.served(rule) >= count or proc.poll() is not None

    if not wait_until(ready, limit):
        return f"never reached {rule} x{count}"
    victims = [(pid, a) for pid, (a, role) in world.live().items() if role == "implementer"]
    if not victims:
        return None  # every worker already ended its turn: nothing to kill
    agent = random.choice(victims)[1]
    for pid, (a, _) in world.live().items():
        if a == agent:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return None


def one_case(args, baseline, name, target, rule, count):
    world = World(args.bin, args.codex)
    try:
        proc = world.start(*world.run_args())
        if target == "supervisor":
            err = kill_supervisor(world, proc, rule, count)
        else:
            err = kill_worker(world, proc, rule, count)
        if target == "worker" or proc.poll() is None:
            finish(world, proc)
        team = world.team_id()
        if err is None and team:
            _, err = drive_to_end(world, team)
        result = check(world, baseline, name, team)
        if err:
            result["ok"] = False
            result["problems"].insert(0, err)
        if not result["ok"] and args.keep:
            result["dir"] = world.dir
            world = None
        return result
    finally:
        if world:
            world.cleanup()


def random_case(args, baseline, i):
    target = random.choice(["supervisor"] * 5 + ["worker"] * 3)
    rules = SUPERVISOR_POINTS if target == "supervisor" else WORKER_POINTS
    _, rule, _ = random.choice(rules)
    top = RULE_TOP.get(rule, 1)
    count = random.randint(1, top)
    return one_case(args, baseline, f"random-{i}:{target}@{rule}x{count}", target, rule, count)


def main():
    p = argparse.ArgumentParser(
        description="Kill the supervisor or a worker of the six-module smoke job and resume; check the invariants."
    )
    p.add_argument("--iterations", type=int, default=20, help="random cases to run (default 20)")
    p.add_argument("--fixed", action="store_true", help="the 8 fixed points instead of random ones")
    p.add_argument("--seed", type=int, default=None, help="random seed (printed when not given)")
    p.add_argument("--bin", default=os.environ.get("CODEX_TEAMS_BIN", os.path.join(ROOT, "target/debug/codex-teams")))
    p.add_argument("--codex", default=os.environ.get("CODEX_BIN", os.path.join(ROOT, ".tools/codex/node_modules/.bin/codex")))
    p.add_argument("--keep", action="store_true", help="keep the directories of failed cases")
    p.add_argument("--max-ratio", type=float, default=TOKEN_RATIO,
                   help="most tokens a case may spend, as a multiple of the uninterrupted run (default 1.25)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.add_argument("--only", action="append", default=[], metavar="CASE",
                   help="with --fixed: run only this case (e.g. supervisor@mid-work); repeatable")
    p.add_argument("--repeat", type=int, default=1, help="with --fixed: run each case this many times")
    args = p.parse_args()
    MAX_RATIO[0] = args.max_ratio
    for what, path in (("codex-teams", args.bin), ("codex", args.codex)):
        if not os.access(path, os.X_OK):
            sys.exit(f"chaos: {what} binary not found or not executable: {path}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    base = World(args.bin, args.codex)
    try:
        summary, err = finish(base, base.start(*base.run_args()))
        if not summary or summary.get("status") != "finalized":
            sys.exit(f"chaos: the uninterrupted run did not finalize: {err[-400:] if err else summary}")
        baseline = served_tokens(base.requests())
    finally:
        base.cleanup()
    log(f"chaos: seed {seed}; uninterrupted run served {baseline} tokens")

    if args.fixed:
        cases = [("supervisor@" + n, "supervisor", r, c) for n, r, c in SUPERVISOR_POINTS]
        cases += [("worker@" + n, "worker", r, c) for n, r, c in WORKER_POINTS]
        unknown = [o for o in args.only if o not in [c[0] for c in cases]]
        if unknown:
            sys.exit(f"chaos: no fixed case {unknown[0]!r}; the cases: {', '.join(c[0] for c in cases)}")
        cases = [c for c in cases if not args.only or c[0] in args.only] * max(args.repeat, 1)
        run = [lambda c=c: one_case(args, baseline, *c) for c in cases]
    else:
        run = [lambda i=i: random_case(args, baseline, i) for i in range(1, args.iterations + 1)]
    results = []
    for i, case in enumerate(run, 1):
        r = case()
        results.append(r)
        mark = "ok  " if r["ok"] else "FAIL"
        log(f"[{i}/{len(run)}] {mark} {r['case']}: {r['tokens']} tokens ({r['ratio']}x), "
            f"{r['duplicates']} duplicates" + ("" if r["ok"] else f"; {'; '.join(r['problems'])}"))
    passed = sum(r["ok"] for r in results)
    log(f"chaos: {passed}/{len(results)} passed")
    if args.json:
        print(json.dumps({"seed": seed, "baseline_tokens": baseline, "passed": passed,
                          "total": len(results), "cases": results}))
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
