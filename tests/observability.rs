//! One run of the 6-module smoke job (fixtures/scenarios/smoke-observed.yaml: workers
//! publish their fix and report it, the lead reads each report and acknowledges it), seen
//! every way a user can see it: the JSON log joins each message's send, delivery and ack and
//! each artifact's publish and read by id; `replay` (text, JSON, HTML) says what the store's
//! event log says; `watch` beside the run prints every event, and its screen, drawn into
//! ratatui's test backend mid-run and at the end, shows what the store holds.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::Duration;

use codex_teams::watch::snapshot::Snapshot;
use codex_teams::watch::view::{self, Ui};
use codex_teams_store::{Event, Store, TaskFilter, TaskStatus};
use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;

const JOB: &str = "smoke high: fix the failing test in each of these modules: m1 m2 m3 m4 m5 m6";

fn smoke_world() -> World {
    let w = World::new();
    for i in 1..=6 {
        for f in [format!("m{i}.py"), format!("test_m{i}.py")] {
            std::fs::copy(root().join("fixtures/smoke").join(&f), w.repo.join(&f)).unwrap();
        }
    }
    w
}

/// The screen of `snap` (with `ui`) as text lines.
fn screen(snap: &Snapshot, ui: &Ui) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| view::draw(f, snap, ui)).unwrap();
    let buf = term.backend().buffer().clone();
    let width = buf.area.width as usize;
    buf.content()
        .chunks(width)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect()
}

fn has_line(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

fn all_events(store: &Store, team: &str) -> Vec<Event> {
    codex_teams::replay::all_events(store, team).unwrap()
}

/// Mid-run: the team is running, some task is claimed, not all are done. Draws the screen
/// and checks it against the store read just before.
fn check_mid_run(w: &World) -> Option<String> {
    let store = Store::open_read_only(&w.home.join("teams.db")).ok()?;
    let team = store.list_teams().ok()?.pop()?;
    let tasks = store
        .list_tasks(&team.team_id, &TaskFilter::default())
        .ok()?;
    let claimed = tasks.iter().any(|t| t.status == TaskStatus::Claimed);
    let done_before = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count();
    if tasks.len() < 6 || !claimed || done_before == 6 {
        return None;
    }
    let agents = store.list_agents(&team.team_id).ok()?;
    let snap = Snapshot::load(&store, &team.team_id, codex_teams::watch::now_ms()).unwrap();
    let lines = screen(&snap, &Ui::default());
    let text = lines.join("\n");
    if std::env::var_os("OBS_SHOW_SCREEN").is_some() {
        eprintln!("{text}");
    }
    assert!(has_line(&lines, &[&team.team_id, "(running)"]), "{text}");
    for t in &tasks {
        assert!(
            text.contains(&t.title),
            "task {} not on the board:\n{text}",
            t.title
        );
    }
    let done_shown = snap
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count();
    assert!(done_shown >= done_before, "{text}");
    assert!(
        has_line(&lines, &[&format!("tasks {done_shown}/6 done")]),
        "{text}"
    );
    for a in &agents {
        assert!(
            has_line(&lines, &[&a.name, &a.role]),
            "agent {} missing:\n{text}",
            a.name
        );
    }
    assert!(snap.workers_live <= 6);
    assert!(text.contains(&format!("{}/6", snap.workers_live)), "{text}");
    Some(team.team_id)
}

/// `codex-teams watch` (no terminal: one line per event) started beside the run.
fn start_watch(w: &World) -> Child {
    w.cmd(&["watch", "--interval-ms", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_smoke_run_seen_through_logs_replay_and_watch() {
    let w = smoke_world();
    let mut run = w
        .run_cmd("smoke-observed.yaml", JOB, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(run.id() as i32);
    let team_exists = wait_for(Duration::from_secs(60), || {
        let s = Store::open_read_only(&w.home.join("teams.db")).ok()?;
        s.list_teams().ok()?.pop().map(|t| t.team_id)
    });
    assert!(team_exists.is_some(), "no team was started");
    let watch = start_watch(&w);
    let _watch_guard = KillOnDrop(watch.id() as i32);
    let team = wait_for(Duration::from_secs(90), || check_mid_run(&w))
        .expect("never saw the run with a claimed task and work left");
    let mut out = String::new();
    run.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = run.wait().unwrap();
    let s: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(status.success(), "{s}");
    assert_eq!(s["team_id"], team.as_str());
    assert_eq!(
        (s["messages"].as_i64(), s["artifacts"].as_i64()),
        (Some(6), Some(6)),
        "{s}"
    );
    assert_eq!(s["unacked"], 0, "{s}");
    assert_eq!(s["scripted"]["unmatched"], 0, "{s}");

    let store = Store::open_read_only(&w.home.join("teams.db")).unwrap();
    let events = all_events(&store, &team);
    let watched = wait_within(watch, Duration::from_secs(30));
    check_watch_lines(&watched, &events);
    check_log(&w, &team, &events);
    let st = w.status(Some(&team));
    check_replay_json(&w, &team, &events, &st);
    check_replay_text(&w, &team, &events);
    check_html(&w, &team, &st);
    check_final_screen(&store, &team, &events, &st);
}

/// Every event, in order, as one line each; the command ended by itself with the team.
fn check_watch_lines(out: &std::process::Output, events: &[Event]) {
    assert!(out.status.success(), "watch: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), events.len(), "one line per event:\n{stdout}");
    for (line, e) in lines.iter().zip(events) {
        if let Some(id) = e.payload.get("message_id").and_then(Value::as_str) {
            assert!(line.contains(id), "{line} for {e:?}");
        }
    }
}

/// In the JSON log: for every message its send, delivery and ack, for every artifact its
/// publish and the lead's read, joined by id, with the team id; no message body.
fn check_log(w: &World, team: &str, events: &[Event]) {
    let mirrored = |file: &str| -> Vec<Value> {
        let log = std::fs::read_to_string(w.home.join("logs").join(file)).unwrap();
        assert!(
            !log.contains("fixed; report"),
            "a message body reached {file}"
        );
        let all: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if file.starts_with("teams/") {
            assert!(
                all.iter().all(|v| v["team_id"] == team),
                "{file} holds only its team"
            );
        }
        all.into_iter()
            .filter(|v| v["target"] == codex_teams_store::EVENTS_TARGET && v["team_id"] == team)
            .collect()
    };
    let lines = mirrored(&format!("teams/{team}.jsonl"));
    assert_eq!(
        lines.len(),
        events.len(),
        "every store event is in the team's log once"
    );
    assert_eq!(
        mirrored("run.jsonl").len(),
        events.len(),
        "and in the run's log"
    );
    let find = |kind: &str, key: &str, id: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|v| v["event"] == kind && v[key] == id)
            .collect()
    };
    let sent: Vec<&Event> = events.iter().filter(|e| e.kind == "message.sent").collect();
    assert_eq!(sent.len(), 6);
    for e in sent {
        let id = e.payload["message_id"].as_str().unwrap();
        let s = find("message.sent", "message_id", id);
        let d = find("message.delivered", "message_id", id);
        let a = find("message.acked", "message_id", id);
        assert_eq!((s.len(), a.len()), (1, 1), "{id}");
        assert!(!d.is_empty(), "{id} never delivered");
        assert_eq!(s[0]["agent_id"].as_str(), e.agent_id.as_deref());
        assert_eq!(d[0]["agent_id"], a[0]["agent_id"], "acked by its recipient");
        assert!(
            s[0]["seq"].as_i64() < d[0]["seq"].as_i64()
                && d[0]["seq"].as_i64() < a[0]["seq"].as_i64()
        );
    }
    let published: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == "artifact.published")
        .collect();
    assert_eq!(published.len(), 6);
    for e in published {
        let id = e.payload["artifact_id"].as_str().unwrap();
        assert_eq!(find("artifact.published", "artifact_id", id).len(), 1);
        let r = find("artifact.read", "artifact_id", id);
        assert_eq!(r.len(), 1, "{id} read once by the lead");
        assert_ne!(
            r[0]["agent_id"].as_str(),
            e.agent_id.as_deref(),
            "read by another agent"
        );
    }
    for kind in ["task.created", "task.claimed", "task.updated"] {
        assert!(
            lines
                .iter()
                .filter(|v| v["event"] == kind)
                .all(|v| v["task_id"].is_string()),
            "{kind}"
        );
    }
}

fn replay(w: &World, args: &[&str]) -> String {
    let out = output_within(w.cmd(args), Duration::from_secs(60));
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `replay --json` holds every store event once, in order, at its relative time, and the
/// same tokens per agent as `status --json`.
fn check_replay_json(w: &World, team: &str, events: &[Event], st: &Value) {
    let r: Value = serde_json::from_str(&replay(w, &["replay", team, "--json"])).unwrap();
    let entries = r["entries"].as_array().unwrap();
    assert_eq!(entries.len(), events.len());
    let created = r["started_at"].as_i64().unwrap();
    for (x, e) in entries.iter().zip(events) {
        assert_eq!(x["seq"], e.seq);
        assert_eq!(x["kind"], e.kind.as_str());
        assert_eq!(x["t_ms"], e.at - created);
        assert_eq!(x["agent_id"].as_str(), e.agent_id.as_deref());
    }
    assert_eq!(r["sessions"], 1);
    let lanes = r["lanes"].as_array().unwrap();
    let agents = st["agents"].as_array().unwrap();
    assert_eq!(lanes.len(), agents.len());
    for (lane, a) in lanes.iter().zip(agents) {
        assert_eq!(lane["name"], a["name"]);
        for k in ["input", "cached_input", "output"] {
            assert_eq!(lane["tokens"][k], a["tokens"][k], "{k} of {}", a["name"]);
        }
        let started = events
            .iter()
            .filter(|e| {
                e.kind == "codex.turn.started" && e.agent_id.as_deref() == a["agent_id"].as_str()
            })
            .count();
        assert_eq!(lane["turns"].as_array().unwrap().len(), started);
        assert!(
            lane["turns"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["outcome"] == "completed")
        );
    }
    let flows = r["messages"].as_array().unwrap();
    assert_eq!(flows.len(), 6);
    assert!(
        flows
            .iter()
            .all(|f| f["acked"].as_array().unwrap().len() == 1)
    );
    let by_agent: Value =
        serde_json::from_str(&replay(w, &["replay", team, "--json", "--agent", "lead"])).unwrap();
    assert_eq!(by_agent["lanes"].as_array().unwrap().len(), 1);
    assert_eq!(by_agent["totals"]["input"], agents[0]["tokens"]["input"]);
}

/// The text lists every message's send, delivery and ack and ends with the token table.
fn check_replay_text(w: &World, team: &str, events: &[Event]) {
    let out = replay(w, &["replay", team]);
    for e in events.iter().filter(|e| e.kind == "message.sent") {
        let id = e.payload["message_id"].as_str().unwrap();
        for what in ["sent", "got", "acked"] {
            assert!(
                has_line(
                    &out.lines().map(str::to_string).collect::<Vec<_>>(),
                    &[what, id]
                ),
                "{what} {id}:\n{out}"
            );
        }
    }
    assert!(out.contains("finalized: done"), "{out}");
    let total = out.lines().find(|l| l.starts_with("total")).expect(&out);
    let later = replay(w, &["replay", team, "--from", "1h"]);
    assert!(
        !later.contains("message "),
        "--from 1h keeps nothing: {later}"
    );
    assert!(later.contains(total), "{later}");
}

/// The page parses, has a lane per agent and the tokens of `status --json`.
fn check_html(w: &World, team: &str, st: &Value) {
    let file = w.dir.path().join("replay.html");
    replay(w, &["replay", team, "--html", file.to_str().unwrap()]);
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing loaded from anywhere"
    );
    assert!(!page.contains("<script"));
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc =
        roxmltree::Document::parse_with_options(&page, opts).expect("the page is well-formed");
    let lanes: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("lane"))
        .collect();
    let agents = st["agents"].as_array().unwrap();
    assert_eq!(lanes.len(), agents.len());
    let rows: BTreeMap<&str, roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr") && n.attribute("class") == Some("agent"))
        .map(|n| (n.attribute("data-agent").unwrap(), n))
        .collect();
    let cell = |row: &roxmltree::Node, class: &str| -> i64 {
        let td = row
            .children()
            .find(|c| c.attribute("class") == Some(class))
            .unwrap();
        td.text().unwrap().parse().unwrap()
    };
    for a in agents {
        let row = &rows[a["agent_id"].as_str().unwrap()];
        assert_eq!(cell(row, "input"), a["tokens"]["input"].as_i64().unwrap());
        assert_eq!(
            cell(row, "cached-input"),
            a["tokens"]["cached_input"].as_i64().unwrap()
        );
        assert_eq!(cell(row, "output"), a["tokens"]["output"].as_i64().unwrap());
        let lane = lanes
            .iter()
            .find(|l| l.attribute("data-agent") == a["agent_id"].as_str())
            .unwrap();
        assert!(
            lane.descendants().any(|n| n.has_tag_name("title")),
            "hover details"
        );
    }
    let msgs = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("msg"))
        .count();
    assert_eq!(msgs, 6, "a line per delivery");
}

/// The end of the run on screen: every agent with its state and tokens as the store has
/// them, the board done, no worker left; focusing a worker shows its last tool calls.
fn check_final_screen(store: &Store, team: &str, events: &[Event], st: &Value) {
    let snap = Snapshot::load(store, team, codex_teams::watch::now_ms()).unwrap();
    let lines = screen(&snap, &Ui::default());
    let text = lines.join("\n");
    assert!(has_line(&lines, &[team, "(finalized)"]), "{text}");
    assert!(has_line(&lines, &["tasks 6/6 done"]), "{text}");
    assert!(text.contains("0/6"), "{text}");
    let agents = st["agents"].as_array().unwrap();
    for a in agents {
        let parts = [
            a["name"].as_str().unwrap(),
            a["state"].as_str().unwrap(),
            &a["tokens"]["input"].to_string(),
            &a["tokens"]["cached_input"].to_string(),
        ];
        assert!(has_line(&lines, &parts), "{parts:?} not on screen:\n{text}");
    }
    let spent = st["tokens"]["input"].as_i64().unwrap() + st["tokens"]["output"].as_i64().unwrap();
    assert!(
        text.contains(&format!("{spent} / ")),
        "budget gauge shows {spent}:\n{text}"
    );
    let i = snap
        .agents
        .iter()
        .position(|a| a.role == "implementer")
        .unwrap();
    let worker = &snap.agents[i];
    let last_tool = events
        .iter()
        .rev()
        .find(|e| {
            e.agent_id.as_deref() == Some(worker.agent_id.as_str())
                && e.kind == "codex.item.completed"
                && e.payload["type"] == "mcp_tool_call"
        })
        .unwrap();
    let focused = screen(&snap, &Ui { focus: Some(i) });
    if std::env::var_os("OBS_SHOW_SCREEN").is_some() {
        eprintln!("{text}\n{}", focused.join("\n"));
    }
    let want = format!("team.{}", last_tool.payload["tool"].as_str().unwrap());
    assert!(has_line(
        &focused,
        &[&format!("last tool calls of {}", worker.name)]
    ));
    assert!(
        has_line(&focused, &[&want]),
        "{want}:\n{}",
        focused.join("\n")
    );
}
