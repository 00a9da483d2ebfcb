use super::*;

const DEFAULT: &str = include_str!("../../../profiles/default.team.yaml");

#[test]
fn bundled_profiles_load() {
    for name in bundled_names() {
        let p = Profile::load(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.name, name);
        assert!(p.cap() <= 6);
        assert_eq!(p.resolved_roles().len(), 6);
    }
    let d = Profile::load("default").unwrap();
    assert_eq!((d.mode, d.cap()), (Mode::Adaptive, 6));
    assert_eq!(Profile::load("fixed-6").unwrap().mode, Mode::Fixed);
    assert_eq!(Profile::load("fast").unwrap().cap(), 3);
}

#[test]
fn unknown_name_lists_the_bundled_ones() {
    let e = Profile::load("turbo").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown profile"), "{msg}");
    assert!(msg.contains("default, fast, deep"), "{msg}");
    let e = Profile::load("/nonexistent/x.team.yaml").unwrap_err();
    assert!(e.message.contains("cannot read the file"), "{e}");
}

#[test]
fn a_users_file_loads_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.team.yaml");
    std::fs::write(
        &path,
        DEFAULT
            .replace("name: default", "name: mine")
            .replace("max_threads: 6 ", "max_threads: 2 "),
    )
    .unwrap();
    let p = Profile::load(path.to_str().unwrap()).unwrap();
    assert_eq!((p.name.as_str(), p.cap()), ("mine", 2));
}

/// Replaces `from` (which must occur) in the default profile.
fn mutate(from: &str, to: &str) -> String {
    assert!(DEFAULT.contains(from), "default profile lacks {from:?}");
    DEFAULT.replacen(from, to, 1)
}

fn line_containing(text: &str, marker: &str) -> usize {
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line has {marker:?}"))
        + 1
}

#[test]
fn errors_name_the_field_and_line() {
    // (broken text, field, marker of the expected line, message fragment)
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (
            mutate("max_threads: 6 ", "max_threads: 7 "),
            "max_threads",
            "max_threads: 7",
            "the limit is 6",
        ),
        (
            mutate("max_threads: 6 ", "max_threads: 0 "),
            "max_threads",
            "max_threads: 0",
            "at least 1",
        ),
        (
            mutate(
                "min_workers: 5, max_workers: 6 }",
                "min_workers: 5, max_workers: 9 }",
            ),
            "fanout.high.max_workers",
            "max_workers: 9",
            "the limit is 6",
        ),
        (
            mutate(
                "small:  { min_workers: 1, max_workers: 2 }",
                "small:\n    min_workers: 1\n    max_workers: 8",
            ),
            "fanout.small.max_workers",
            "max_workers: 8",
            "the limit is 6",
        ),
        (
            mutate(
                "min_workers: 3, max_workers: 4 }",
                "min_workers: 2, max_workers: 4 }",
            ),
            "fanout.medium.min_workers",
            "medium: { min_ready",
            "overlaps the small band",
        ),
        (
            mutate(
                "  worker_turn_estimate: 60000",
                "  worker_turn_estimate: 60000\n  turbo: true",
            ),
            "budget.turbo",
            "turbo: true",
            "unknown field `turbo`",
        ),
        (
            mutate("name: default", "name: default\ncolour: blue"),
            "colour",
            "colour: blue",
            "unknown field `colour`",
        ),
        (
            mutate("total_tokens: 2000000", "total_tokens: lots"),
            "budget.total_tokens",
            "total_tokens: lots",
            "invalid type: string \"lots\"",
        ),
        (
            mutate("max_threads: 6 ", "max_threads: -1 "),
            "max_threads",
            "max_threads: -1",
            "expected u32",
        ),
        (
            mutate("mode: adaptive", "mode: turbo"),
            "mode",
            "mode: turbo",
            "unknown variant `turbo`",
        ),
        (
            mutate("idle_shutdown_secs: 300\n", ""),
            "idle_shutdown_secs",
            "name: default",
            "missing field `idle_shutdown_secs`",
        ),
        (
            mutate(
                "idle_shutdown_secs: 300",
                "idle_shutdown_secs: 300\nidle_shutdown_secs: 5",
            ),
            "idle_shutdown_secs",
            "idle_shutdown_secs: 5",
            "duplicate field `idle_shutdown_secs`",
        ),
        (
            mutate("  run_secs: 3600", "  run_secs: 3600\n  run_secs: 7200"),
            "timeouts.run_secs",
            "run_secs: 7200",
            "duplicate field `run_secs`",
        ),
        (
            mutate("  tool_wait_secs: 20", "  tool_wait_secs: 61"),
            "timeouts.tool_wait_secs",
            "tool_wait_secs: 61",
            "out of range 1..=60",
        ),
        (
            mutate("  message_bytes: 16384", "  message_bytes: 100000"),
            "limits.message_bytes",
            "message_bytes: 100000",
            "out of range",
        ),
        (
            mutate(
                "  lead_reserve_tokens: 150000 ",
                "  lead_reserve_tokens: 3000000 ",
            ),
            "budget.lead_reserve_tokens",
            "lead_reserve_tokens: 3000000",
            "leaves nothing",
        ),
        (
            mutate("  reviewer:\n    effort: high", "  chef:\n    effort: high"),
            "roles.chef",
            "chef:",
            "unknown field `chef`",
        ),
        (
            mutate("    effort: high", "    effort: extreme"),
            "roles.reviewer.effort",
            "effort: extreme",
            "unknown variant `extreme`",
        ),
        (
            mutate("    effort: high", "    sandbox: yolo"),
            "roles.reviewer.sandbox",
            "sandbox: yolo",
            "unknown variant `yolo`",
        ),
        (
            mutate(
                "    effort: high",
                "    tools:\n      - team_wait\n      - team_fly",
            ),
            "roles.reviewer.tools[1]",
            "- team_fly",
            "unknown tool `team_fly`",
        ),
        (
            mutate("    effort: high", "    tools: [team_wait, team_spawn]"),
            "roles.reviewer.tools[1]",
            "tools: [team_wait",
            "`team_spawn` is lead-only",
        ),
        (
            mutate("    effort: high", "    model: \"gpt 5\""),
            "roles.reviewer.model",
            "model: \"gpt 5\"",
            "not a model slug",
        ),
    ];
    for (text, field, marker, fragment) in &cases {
        let e = Profile::from_yaml(text, "test.yaml").expect_err(field);
        assert_eq!(e.field.as_deref(), Some(*field), "{e}");
        assert_eq!(e.line, Some(line_containing(text, marker)), "{e}");
        assert!(e.message.contains(fragment), "{e} !~ {fragment}");
        let shown = e.to_string();
        assert!(shown.starts_with("test.yaml, line "), "{shown}");
        assert!(shown.contains(&format!("field `{field}`")), "{shown}");
    }
}

#[test]
fn broken_yaml_has_a_line() {
    let text = mutate("  tool_wait_secs: 20", "  tool_wait_secs: [20");
    let e = Profile::from_yaml(&text, "broken.yaml").unwrap_err();
    assert!(e.line.is_some(), "{e}");
    let text = "name: x\n  bad indent: 1\n";
    let e = Profile::from_yaml(text, "broken.yaml").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let e = Profile::from_yaml("", "empty.yaml").unwrap_err();
    assert!(!e.message.is_empty(), "{e}");
}

#[test]
fn roles_resolve_overrides_over_the_pack() {
    let text = mutate(
        "  reviewer:\n    effort: high",
        "  workers:\n    model: small-model\n    effort: low\n  reviewer:\n    effort: high\n    sandbox: workspace-write\n    tools: [team_wait, artifact_read]\n  lead:\n    model: big-model",
    );
    let p = Profile::from_yaml(&text, "t.yaml").unwrap();
    let r = p.role("reviewer").unwrap();
    assert_eq!(r.model.as_deref(), Some("small-model"));
    assert_eq!(r.effort, Some(Effort::High));
    assert_eq!(r.sandbox, Sandbox::WorkspaceWrite);
    assert_eq!(r.tools, ["team_wait", "artifact_read"]);
    let t = p.role("tester").unwrap();
    assert_eq!(
        (t.model.as_deref(), t.effort),
        (Some("small-model"), Some(Effort::Low))
    );
    assert_eq!(t.sandbox, Sandbox::WorkspaceWrite);
    assert_eq!(t.tools, RolePack::v1().get("tester").unwrap().tools);
    let l = p.role("lead").unwrap();
    assert_eq!(
        (l.model.as_deref(), l.effort),
        (Some("big-model"), None),
        "workers does not apply to the lead"
    );
    assert!(p.role("chef").is_err());
    // Default profile: nothing set means inherit the lead's session.
    let d = Profile::load("default").unwrap();
    assert_eq!(d.role("implementer").unwrap().model, None);
}

fn leaf_paths(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = v {
        for (k, child) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if child.is_object() {
                leaf_paths(child, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn every_field_is_documented_in_policies_md() {
    let doc = include_str!("../../../skills/agent-teams/references/policies.md");
    let mut paths = Vec::new();
    for name in bundled_names() {
        leaf_paths(
            &serde_json::to_value(Profile::load(name).unwrap()).unwrap(),
            "",
            &mut paths,
        );
    }
    for path in paths {
        let top = path.split('.').next().unwrap();
        let leaf = path.rsplit('.').next().unwrap();
        assert!(doc.contains(&format!("`{top}")), "policies.md lacks {top}");
        assert!(
            doc.contains(&format!("`{path}`"))
                || doc.contains(&format!("`.{leaf}`"))
                || doc.contains(&format!("| `{leaf}` |")),
            "policies.md does not document {path}"
        );
    }
}
