//! The fixed eval set (`benchmarks/tasks/NAME/`): a task's job in plain words, its category,
//! the fixture repo the team works on, the hidden acceptance tests the team never sees, and
//! the scripted-model scenarios. A task that cannot be used is reported by name, not fatal.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The categories the issue asks for, in report order.
pub const CATEGORIES: [&str; 6] = [
    "small",
    "medium",
    "high-parallel",
    "chain",
    "conflict",
    "review",
];

/// `task.yaml`: what the harness needs (the scenario generator reads `steps` too).
#[derive(Debug, Deserialize)]
struct TaskFile {
    category: String,
    job: String,
    #[serde(default)]
    steps: Vec<serde_norway::Value>,
}

/// One eval task, checked usable.
#[derive(Debug, Clone)]
pub struct EvalTask {
    pub name: String,
    pub category: String,
    /// The job, exactly as every arm gets it.
    pub job: String,
    /// Work steps in the script (one task per step for the team).
    pub steps: usize,
    pub dir: PathBuf,
}

impl EvalTask {
    /// The fixture repo, copied fresh for every run.
    pub fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }
    /// The hidden acceptance tests, copied in only after the run.
    pub fn hidden(&self) -> PathBuf {
        self.dir.join("hidden")
    }
    /// The team arms' scenario (same file for baseline and candidate).
    pub fn team_scenario(&self) -> PathBuf {
        self.dir.join("team.yaml")
    }
    /// The solo arm's scenario.
    pub fn solo_scenario(&self) -> PathBuf {
        self.dir.join("solo.yaml")
    }
}

/// A task left out, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Broken {
    pub task: String,
    pub error: String,
}

/// Whether `name` is selected by `pattern`: comma-separated globs (`*` any run of
/// characters) or plain substrings.
pub fn selected(name: &str, pattern: Option<&str>) -> bool {
    let Some(p) = pattern else { return true };
    p.split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .any(|g| {
            if g.contains('*') {
                glob(g.as_bytes(), name.as_bytes())
            } else {
                name.contains(g)
            }
        })
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Loads every selected task under `dir`; unusable ones come back in the second list.
pub fn load(
    dir: &Path,
    pattern: Option<&str>,
    scripted: bool,
) -> anyhow::Result<(Vec<EvalTask>, Vec<Broken>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the eval set {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| selected(n, pattern))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!(
            "no eval task under {} matches --tasks {}",
            dir.display(),
            pattern.unwrap_or("*")
        );
    }
    let (mut ok, mut broken) = (Vec::new(), Vec::new());
    for name in names {
        match load_one(&dir.join(&name), &name, scripted) {
            Ok(t) => ok.push(t),
            Err(e) => broken.push(Broken {
                task: name,
                error: format!("{e:#}"),
            }),
        }
    }
    Ok((ok, broken))
}

fn load_one(dir: &Path, name: &str, scripted: bool) -> anyhow::Result<EvalTask> {
    let path = dir.join("task.yaml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let file: TaskFile = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not valid", path.display()))?;
    if !CATEGORIES.contains(&file.category.as_str()) {
        bail!(
            "{}: category `{}` is not one of {}",
            path.display(),
            file.category,
            CATEGORIES.join(", ")
        );
    }
    if file.job.trim().is_empty() {
        bail!("{}: `job` is empty", path.display());
    }
    let task = EvalTask {
        name: name.to_string(),
        category: file.category,
        job: file.job,
        steps: file.steps.len(),
        dir: dir.to_path_buf(),
    };
    for (what, p) in [
        ("fixture repo", task.repo()),
        ("hidden tests", task.hidden()),
    ] {
        if !p.is_dir() {
            bail!("{what} {} is missing", p.display());
        }
    }
    if scripted {
        for p in [task.team_scenario(), task.solo_scenario()] {
            codex_teams_mock_model::Scenario::load(&p)?;
        }
    }
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_select_by_glob_or_substring() {
        assert!(selected("s1-wordcount", None));
        assert!(selected("s1-wordcount", Some("s1")));
        assert!(selected("s1-wordcount", Some("x*,s*-word*")));
        assert!(!selected("s1-wordcount", Some("m*")));
        assert!(!selected("s1-wordcount", Some("*count-")));
    }

    #[test]
    fn a_broken_task_is_named_and_the_others_load() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a-good");
        std::fs::create_dir_all(good.join("repo")).unwrap();
        std::fs::create_dir_all(good.join("hidden")).unwrap();
        std::fs::write(good.join("task.yaml"), "category: small\njob: fix it\n").unwrap();
        let bad = dir.path().join("b-bad");
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("task.yaml"), "category: huge\njob: x\n").unwrap();
        let (ok, broken) = load(dir.path(), None, false).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].name, "a-good");
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].task, "b-bad");
        assert!(
            broken[0].error.contains("category `huge`"),
            "{}",
            broken[0].error
        );
    }
}
