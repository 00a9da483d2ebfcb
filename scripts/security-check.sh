#!/usr/bin/env bash
# Probes a live run the way an unfriendly local user would, and prints each probe with its
# result: secrets in `ps` and in worker shells, the bus's answers to missing, wrong and
# upper-case tokens, foreign Origin and Host, a flood of idle connections, the metering proxy's
# answer to a route nobody was given, loopback-only listeners, and the modes and
# contents of the files we write. Exits non-zero when any probe fails. Part of CI
# (scripts/verify.sh). Runs the real codex against the scripted model; no credentials.
#
# Usage: scripts/security-check.sh          (CODEX_TEAMS_BIN / CODEX_BIN pick the binaries)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
bin="${CODEX_TEAMS_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --quiet --locked --bin codex-teams)
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/codex-teams"
fi
if [ -z "${CODEX_BIN:-}" ]; then
    export CODEX_BIN="$(bash "$root/scripts/install-codex.sh" | tail -n 1)"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/codex-teams-seccheck.XXXXXX")"
run_pid=""
cleanup() {
    [ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export CODEX_TEAMS_HOME="$work/home" CODEX_HOME="$work/codex-home" CODEX_TEAMS_SCENARIO_LOG="$work/requests.jsonl"
mkdir -p "$CODEX_HOME" "$work/repo"
cp -R "$root/fixtures/example/." "$work/repo/"
export OPENAI_API_KEY="sk-test-seccheck0123456789abcdefABCDEF"
password="hunter2-seccheck-$$"
printf 'do the slow task; the database password=%s\n' "$password" >"$work/task.txt"

echo "== a live run (scripted model): the worker sits in a 30 s command while we probe" >&2
"$bin" run --scenario "$root/fixtures/scenarios/crash-resume.yaml" --cwd "$work/repo" \
    --json --task-file "$work/task.txt" >"$work/run.out" 2>"$work/run.err" &
run_pid=$!

export SECCHECK_HOME="$CODEX_TEAMS_HOME" SECCHECK_CODEX_HOME="$CODEX_HOME" SECCHECK_PASSWORD="$password"
python3 - <<'PY'
import os, re, socket, stat, subprocess, sys, time, glob, http.client

home, chome, pw, key = (os.environ[k] for k in ("SECCHECK_HOME", "SECCHECK_CODEX_HOME", "SECCHECK_PASSWORD", "OPENAI_API_KEY"))
results = []
def probe(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)

def environ(pid):
    try:
        raw = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        return {}
    out = {}
    for kv in raw.split(b"\0"):
        if b"=" in kv:
            k, v = kv.split(b"=", 1)
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out

def ours():
    for d in os.listdir("/proc"):
        if d.isdigit():
            e = environ(int(d))
            if e.get("CODEX_HOME") == chome and "CODEX_TEAMS_AGENT_ID" in e:
                yield int(d), e

deadline = time.time() + 90
worker = None
while time.time() < deadline and worker is None:
    for pid, e in ours():
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        if e.get("CODEX_TEAMS_ROLE") == "implementer" and cmd.startswith("sleep"):
            worker = pid
    time.sleep(0.2)
if worker is None:
    probe("a worker is running", False, "none within 90 s")
    sys.exit(1)
probe("a worker is running", True, f"its shell command is pid {worker}")

# 1. ps: no secret in any process's command line.
ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
probe("ps shows no password", pw not in ps)
probe("ps shows no API key", key not in ps)

# 2. A worker's shell command sees neither the bearer token nor the API key.
e = environ(worker)
probe("worker shell env has no bearer token", "CODEX_TEAMS_TOKEN" not in e, ",".join(k for k in e if "TOKEN" in k))
probe("worker shell env has no API key", "OPENAI_API_KEY" not in e and key not in "".join(e.values()))

# 3. The bus.
url = None
for pid, _ in ours():
    cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    m = re.search(r'url="(http://127\.0\.0\.1:(\d+)(/agents/[^"]+/mcp))"', cmd)
    if m:
        url, port, path = m.group(1), int(m.group(2)), m.group(3)
        break
if url is None:
    probe("bus endpoint found", False)
    sys.exit(1)
probe("bus endpoint found", True, url)
body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"probe","version":"0"}}}'
def post(headers, target=path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    h.update(headers)
    c.request("POST", target, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
refusals = {
    "no token": post({}),
    "wrong token": post({"Authorization": "Bearer ctk_" + "0" * 64}),
    "upper-case scheme, wrong token": post({"Authorization": "BEARER ctk_" + "1" * 64}),
    "basic auth": post({"Authorization": "Basic YTpi"}),
}
for name, (st, data) in refusals.items():
    probe(f"bus refuses {name} with 401", st == 401, f"got {st}")
probe("every auth refusal looks the same", len({d for _, d in refusals.values()}) == 1)
st, _ = post({"Origin": "http://evil.example", "Authorization": "Bearer x"})
probe("bus refuses a foreign Origin with 403", st == 403, f"got {st}")
st, _ = post({"Host": "evil.example", "Authorization": "Bearer x"})
probe("bus refuses a foreign Host with 403", st == 403, f"got {st}")

# 4. A flood of silent connections does not starve a legitimate request.
socks = []
try:
    for _ in range(2000):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        socks.append(s)
except OSError as e:
    pass
t0 = time.time()
try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/healthz")
    ok = c.getresponse().status == 200
except OSError:
    ok = False
dt = time.time() - t0
probe(f"/healthz answered under {len(socks)} idle connections within 1 s", ok and dt < 1.0, f"{dt*1000:.0f} ms")
for s in socks:
    s.close()

# 4b. The metering proxy in front of the model: a route nobody was given is refused without
# reaching the model, and the proxy and the bus listen on loopback only.
proxy = None
for pid, _ in ours():
    cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    m = re.search(r'base_url="http://127\.0\.0\.1:(\d+)/m/[0-9a-f]+(/[^"]*)?"', cmd)
    if m:
        proxy = int(m.group(1))
        break
probe("metering proxy found", proxy is not None)
if proxy is not None:
    log = os.environ.get("CODEX_TEAMS_SCENARIO_LOG")
    def served():
        try:
            return sum(1 for l in open(log) if l.strip()) if log else 0
        except OSError:
            return 0
    before = served()
    c = http.client.HTTPConnection("127.0.0.1", proxy, timeout=5)
    c.request("POST", "/m/" + "0" * 32 + "/v1/responses", body='{"model":"x","input":[]}',
              headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); c.close()
    probe("proxy refuses an unknown route with 404", r.status == 404, f"got {r.status}")
    c = http.client.HTTPConnection("127.0.0.1", proxy, timeout=5)
    c.request("GET", "/v1/responses")
    r = c.getresponse(); r.read(); c.close()
    probe("proxy refuses a request without a route", r.status == 404, f"got {r.status}")
    time.sleep(0.3)
    probe("nothing refused reached the model", served() == before, f"{served() - before} more")
def listeners():
    out = {}
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A":  # LISTEN
                addr, port = cols[1].rsplit(":", 1)
                out.setdefault(int(port, 16), set()).add(addr)
    return out
ls = listeners()
for name, p in (("bus", port), ("proxy", proxy)):
    if p is None:
        continue
    addrs = ls.get(p, set())
    loop = {"0100007F", "00000000000000000000000001000000"}
    probe(f"{name} listens on loopback only", bool(addrs) and addrs <= loop, ",".join(sorted(addrs)))

# 5. Files we write are private, and hold no secret.
def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)
probe("team home is 0700", mode(home) == 0o700, oct(mode(home)))
for p in [os.path.join(home, "teams.db")] + glob.glob(os.path.join(home, "teams.db-*")) + glob.glob(os.path.join(home, "logs", "*")):
    if os.path.isfile(p):
        probe(f"{os.path.relpath(p, home)} is 0600", mode(p) == 0o600, oct(mode(p)))
leaks = []
for dirpath, _, files in os.walk(home):
    for f in files:
        p = os.path.join(dirpath, f)
        try:
            data = open(p, "rb").read()
        except OSError:
            continue
        for name, secret in (("password", pw), ("API key", key)):
            if secret.encode() in data:
                leaks.append(f"{name} in {os.path.relpath(p, home)}")
probe("no secret in any file under the team home", not leaks, "; ".join(leaks))
print(f"security-check: {sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
PY
