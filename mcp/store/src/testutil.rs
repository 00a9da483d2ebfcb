//! Fixtures for the unit tests: a fresh database file and a team with members.

use std::path::PathBuf;

use crate::*;

/// A database file in its own temporary directory, removed on drop.
pub(crate) struct TestDb {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teams.db");
        TestDb { _dir: dir, path }
    }
}

/// An open store with one team of `n` agents (`a0`, `a1`, …) and a second, foreign team
/// with one agent, for the cross-team checks.
pub(crate) struct Fixture {
    pub db: TestDb,
    pub store: Store,
    pub team: String,
    pub agents: Vec<String>,
    pub other_team: String,
    pub outsider: String,
}

impl Fixture {
    pub fn new(n: usize) -> Fixture {
        Self::with_options(n, StoreOptions::default())
    }

    pub fn with_options(n: usize, opts: StoreOptions) -> Fixture {
        let db = TestDb::new();
        let store = Store::open_with(&db.path, opts).unwrap();
        let team = store
            .create_team(NewTeam {
                goal: "test".into(),
                ..Default::default()
            })
            .unwrap();
        let agents = (0..n)
            .map(|i| {
                let new = NewAgent {
                    name: format!("a{i}"),
                    role: "implementer".into(),
                    ..Default::default()
                };
                store.add_agent(&team.team_id, new).unwrap().agent_id
            })
            .collect();
        let other = store
            .create_team(NewTeam {
                goal: "other".into(),
                ..Default::default()
            })
            .unwrap();
        let outsider = store
            .add_agent(
                &other.team_id,
                NewAgent {
                    name: "x".into(),
                    role: "lead".into(),
                    ..Default::default()
                },
            )
            .unwrap()
            .agent_id;
        Fixture {
            db,
            store,
            team: team.team_id,
            agents,
            other_team: other.team_id,
            outsider,
        }
    }
}

/// Asserts `result` is `NotFound` of `kind`.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: StoreResult<T>, kind: &str) {
    match result {
        Err(StoreError::NotFound { kind: k, .. }) if k == kind => {}
        other => panic!("expected NotFound {{ kind: {kind:?} }}, got {other:?}"),
    }
}
