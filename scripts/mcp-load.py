#!/usr/bin/env python3
"""Many processes on one team store: N `codex-teams mcp` servers (as N interactive leads
would run) plus, optionally, a headless `codex-teams run` (the small smoke on the scripted
model) the servers keep loading until it ends, all on one CODEX_TEAMS_HOME.

Each server is driven over stdio by one thread: initialize, team_start, then a bounded
mix of board, bus and artifact calls. Passes when no call failed (in particular none with
the store's BUSY code, -32012), the run (if any) succeeded, and `PRAGMA integrity_check`
says ok afterwards. Prints per-call latency p50/p99/max; `--json` prints one object.

    scripts/mcp-load.py --bin target/release/codex-teams [--servers 20] [--rounds 25] [--run]
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BUSY = -32012
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    """One `codex-teams mcp` child spoken to in newline-delimited JSON-RPC."""

    def __init__(self, bin_path, env):
        self.proc = subprocess.Popen(
            [bin_path, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        self.next_id = 0

    def request(self, method, params):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited during {method}")
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                return reply

    def notify(self, method):
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}) + "\n")
        self.proc.stdin.flush()

    def call(self, tool, args):
        """(ok, structured result or error text, JSON-RPC error code or None, seconds)."""
        start = time.perf_counter()
        reply = self.request("tools/call", {"name": tool, "arguments": args})
        took = time.perf_counter() - start
        if "error" in reply:
            return False, reply["error"].get("message", ""), reply["error"].get("code"), took
        result = reply["result"]
        if result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            return False, text, None, took
        return True, result.get("structuredContent") or {}, None, took

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def drive(server, index, rounds, keep_going, out):
    """team_start, then at least `rounds` x (task create/claim/update, broadcast, publish,
    status, pull), more while `keep_going()` (the run is still going)."""
    lat, errors = [], []

    def call(tool, args):
        ok, value, code, took = server.call(tool, args)
        lat.append(took)
        if not ok:
            errors.append({"server": index, "tool": tool, "code": code, "error": value[:300]})
        return value if ok else None

    try:
        server.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "mcp-load", "version": "1"}})
        server.notify("notifications/initialized")
        call("team_start", {"goal": f"load {index}"})
        r = 0
        while r < rounds or keep_going():
            r += 1
            task = call("task_create", {"title": f"s{index} task {r}"})
            if task and "id" in task:
                claimed = call("task_claim", {"task_id": task["id"]})
                v = (claimed or {}).get("v")
                update = {"task_id": task["id"], "status": "done", "progress": "done"}
                if v is not None:
                    update["v"] = v
                call("task_update", update)
            call("team_broadcast", {"body": f"round {r} from {index}", "key": f"b{r}"})
            call("artifact_publish", {"name": f"notes-{r}.md", "content": f"# {index}/{r}\n",
                                      "summary": "load"})
            call("team_status", {})
            call("team_pull_inbox", {"max": 16})
    except Exception as e:  # a dead server is a failure, reported like a call error
        errors.append({"server": index, "tool": "-", "code": None, "error": str(e)})
    out[index] = (lat, errors)


def start_run(bin_path, env, scratch):
    """`codex-teams run` of the small smoke (one module to fix, a worker or two) on the
    scripted model, in the same team home."""
    codex_home = os.path.join(scratch, "codex-home")
    work = os.path.join(scratch, "work")
    os.makedirs(codex_home, mode=0o700, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    for name in ("m1.py", "test_m1.py"):
        shutil.copy(os.path.join(ROOT, "fixtures/smoke", name), work)
    run_env = dict(env, CODEX_HOME=codex_home)
    return subprocess.Popen(
        [bin_path, "run", "--json", "--scenario", os.path.join(ROOT, "fixtures/scenarios/smoke.yaml"),
         "--cwd", work, "smoke small: fix the failing test in each of these modules: m1"],
        env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the codex-teams binary")
    ap.add_argument("--servers", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=25, help="call rounds per server (7 calls each)")
    ap.add_argument("--run", action="store_true", help="also run a headless team (needs CODEX_BIN)")
    ap.add_argument("--max-seconds", type=float, default=120,
                    help="with --run: the servers keep calling while it runs, at most this long")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="mcp-load-")
    home = os.path.join(scratch, "teams-home")
    os.makedirs(home, mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != "CODEX_TEAMS_MARKER"}
    env["CODEX_TEAMS_HOME"] = home

    run = start_run(args.bin, env, scratch) if args.run else None
    deadline = time.monotonic() + args.max_seconds
    keep_going = lambda: run is not None and run.poll() is None and time.monotonic() < deadline
    servers = [Server(args.bin, env) for _ in range(args.servers)]
    out = {}
    threads = [threading.Thread(target=drive, args=(s, i, args.rounds, keep_going, out))
               for i, s in enumerate(servers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for s in servers:
        s.close()
    run_ok, run_status = None, None
    if run is not None:
        try:
            stdout, stderr = run.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            run.kill()
            stdout, stderr = run.communicate()
        run_ok = run.returncode == 0
        try:
            run_status = json.loads(stdout).get("status")
        except ValueError:
            run_status = (stderr or "")[-300:]

    db = os.path.join(home, "teams.db")
    integrity = sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]
    lat = sorted(x for lats, _ in out.values() for x in lats)
    errors = [e for _, errs in out.values() for e in errs]
    ms = lambda s: round(s * 1000, 2)
    report = {
        "servers": args.servers, "calls": len(lat), "wall_ms": ms(wall),
        "calls_per_sec": round(len(lat) / wall, 1) if wall else 0,
        "p50_ms": ms(percentile(lat, 50)), "p99_ms": ms(percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else 0),
        "errors": len(errors), "busy_errors": sum(1 for e in errors if e["code"] == BUSY),
        "run": None if run is None else {"ok": run_ok, "status": run_status},
        "integrity": integrity, "first_errors": errors[:5],
    }
    ok = not errors and integrity == "ok" and (run is None or run_ok)
    report["ok"] = ok
    if args.json:
        print(json.dumps(report))
    else:
        print(f"mcp load: {args.servers} servers{' + a run' if run else ''}, {len(lat)} calls in {ms(wall)} ms")
        print(f"  per call p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, max {report['max_ms']} ms")
        print(f"  errors {len(errors)} (BUSY {report['busy_errors']}), integrity {integrity}"
              + (f", run {run_status}" if run else ""))
        for e in errors[:5]:
            print(f"  error: {e}")
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
