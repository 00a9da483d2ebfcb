//! `codex-teams bench run` end to end, real codex, real processes: a broken task is reported
//! by name while the others run and are measured; `--live` runs on whatever provider
//! `$CODEX_HOME` configures (here the scripted model, standing in for a user's provider).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use codex_teams_mock_model::{MockModel, Options, Scenario};
use common::*;
use serde_json::Value;

fn copy_task(name: &str, to: &Path) {
    let from = root().join("benchmarks/tasks").join(name);
    let out = Command::new("cp")
        .arg("-r")
        .arg(&from)
        .arg(to.join(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn bench(eval: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "bench",
        "run",
        "--json",
        "--tasks",
        "s1,zz",
        "--timeout-secs",
        "120",
    ])
    .arg("--eval-dir")
    .arg(eval)
    .arg("--out")
    .arg(out)
    .args(extra)
    .env("CODEX_BIN", codex_teams_codex_exec::find_codex().unwrap())
    .env_remove("CODEX_TEAMS_SCENARIO_LOG")
    .env_remove("CODEX_TEAMS_SCENARIO_LATENCY");
    c
}

fn report(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_broken_task_is_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let eval = dir.path().join("tasks");
    std::fs::create_dir_all(&eval).unwrap();
    copy_task("s1-wordcount", &eval);
    copy_task("s2-slugify", &eval);
    let broken = eval.join("zz-broken");
    std::fs::rename(eval.join("s2-slugify"), &broken).unwrap();
    std::fs::write(
        broken.join("team.yaml"),
        "rules:\n  - when: {promt_contains: x}\n    reply: {message: hi}\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = output_within(bench(&eval, &out_dir, &[]), Duration::from_secs(400));
    assert!(!out.status.success(), "a broken task fails the verdict");
    let j: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(j["broken"][0]["task"], "zz-broken", "{j}");
    let why = j["broken"][0]["error"].as_str().unwrap();
    assert!(
        why.contains("team.yaml") && why.contains("promt_contains"),
        "{why}"
    );
    let r = report(&out_dir);
    let runs = r["runs"].as_array().unwrap();
    let arms: Vec<&str> = runs.iter().map(|x| x["arm"].as_str().unwrap()).collect();
    assert_eq!(arms, ["solo", "fixed-6", "adaptive"], "{r}");
    for x in runs {
        assert_eq!(x["task"], "s1-wordcount");
        assert!(x["error"].is_null() && x["quality"] == true, "{x}");
        assert!(x["input"].as_u64().unwrap() > 5_000, "{x}");
        assert!(x["requests"].as_u64().unwrap() >= 2, "{x}");
    }
    let fixed = &runs[1];
    assert_eq!(
        fixed["workers_spawned"], 6,
        "fixed-6 always runs six: {fixed}"
    );
    // What each agent spent, from the scripted model's request log: the lead plans and
    // spawns in one request (the spawn files its task inline) and ends its turn (the
    // supervisor finalizes the clean board); the worker spawned with the
    // task starts on it, completes it and ends (no claim round trips); the five spawned with
    // nothing ready end at once.
    let requests = |run: &Value, agent: &str| -> Vec<u64> {
        run["agents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["agent"].as_str().unwrap().starts_with(agent))
            .map(|a| a["requests"].as_u64().unwrap())
            .collect()
    };
    let adaptive = &runs[2];
    assert_eq!(requests(adaptive, "lead"), [2], "{adaptive}");
    assert_eq!(requests(adaptive, "implementer"), [3], "{adaptive}");
    let mut idle = requests(fixed, "implementer");
    idle.sort();
    assert_eq!(idle, [1, 1, 1, 1, 1, 3], "{fixed}");
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("zz-broken") && md.contains("scripted mode"),
        "{md}"
    );
    for svg in [
        "tokens-by-task.svg",
        "median-tokens.svg",
        "wall-by-task.svg",
    ] {
        assert!(
            std::fs::read_to_string(out_dir.join(svg))
                .unwrap()
                .starts_with("<svg")
        );
    }
}

/// `--live` uses no scenario and no request log: the provider comes from `$CODEX_HOME`, the
/// tokens from codex's own usage, quality from the hidden tests. The scripted model plays
/// the user's provider, serving the task's team and solo rules at once.
#[tokio::test(flavor = "multi_thread")]
async fn live_mode_runs_on_the_configured_provider() {
    let dir = tempfile::tempdir().unwrap();
    let eval = dir.path().join("tasks");
    std::fs::create_dir_all(&eval).unwrap();
    copy_task("s1-wordcount", &eval);
    let task = eval.join("s1-wordcount");
    let team = std::fs::read_to_string(task.join("team.yaml")).unwrap();
    let solo = std::fs::read_to_string(task.join("solo.yaml")).unwrap();
    // Team rules first (they need a role line the solo prompt lacks), then the solo ones.
    let solo_rules = solo.split_once("rules:\n").unwrap().1;
    let both = format!("{team}{solo_rules}");
    let server = MockModel::start(
        Scenario::from_yaml(&both, "both").unwrap(),
        Options::default(),
    )
    .await
    .unwrap();
    let home = dir.path().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model_provider = \"userprov\"\n[model_providers.userprov]\nname = \"userprov\"\nbase_url = {:?}\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
            server.base_url()
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let mut cmd = bench(
        &eval,
        &out_dir,
        &["--live", "--arms", "solo,fixed-6,adaptive"],
    );
    cmd.env("CODEX_HOME", &home);
    let out = tokio::task::spawn_blocking(move || output_within(cmd, Duration::from_secs(400)))
        .await
        .unwrap();
    let r = report(&out_dir);
    assert_eq!(r["mode"], "live", "{}", text(&out.stderr));
    assert!(r["title"].as_str().unwrap().contains("live mode"));
    for x in r["runs"].as_array().unwrap() {
        assert!(x["error"].is_null() && x["quality"] == true, "{x}");
        assert!(
            x["input"].as_u64().unwrap() > 5_000,
            "codex's own usage: {x}"
        );
    }
    let reqs = server.requests();
    assert_eq!(server.unmatched_count(), 0);
    assert!(
        reqs.iter()
            .any(|q| q.rule.as_deref() == Some("solo-step-1"))
    );
    assert!(reqs.iter().any(|q| q.rule.as_deref() == Some("lead-plans")));
    assert!(
        reqs.iter()
            .all(|q| q.body["model"] == reqs[0].body["model"]),
        "every request on the configured model"
    );
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
}
