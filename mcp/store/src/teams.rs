//! Teams, their agents, and the per-turn token usage ledger.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::codec::json_column;
use crate::events::log_event;
use crate::ids::{new_id, now_ms, prefix};
use crate::store::{ensure_member, ensure_team, require_text};
use crate::*;

const TEAM_COLS: &str = "team_id, goal, cwd, profile, config, status, created_at, updated_at";
const AGENT_COLS: &str = "agent_id, team_id, name, role, state, thread_id, pgid, model, brief, created_at, updated_at, \
     tools";

fn team_row(r: &Row<'_>) -> rusqlite::Result<Team> {
    Ok(Team {
        team_id: r.get(0)?,
        goal: r.get(1)?,
        cwd: r.get(2)?,
        profile: r.get(3)?,
        config: json_column(r.get(4)?)?,
        status: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn agent_row(r: &Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        agent_id: r.get(0)?,
        team_id: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        state: r.get(4)?,
        thread_id: r.get(5)?,
        pgid: r.get(6)?,
        model: r.get(7)?,
        brief: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        tools: tools_column(r.get(11)?)?,
    })
}

/// The `tools` column: a JSON array of tool names, or NULL for no per-agent restriction.
fn tools_column(text: Option<String>) -> rusqlite::Result<Option<Vec<String>>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

pub(crate) fn load_team(conn: &Connection, team_id: &str) -> StoreResult<Team> {
    conn.prepare_cached(&format!("SELECT {TEAM_COLS} FROM teams WHERE team_id = ?1"))?
        .query_row([team_id], team_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            kind: "team",
            id: team_id.to_string(),
        })
}

pub(crate) fn load_agent(conn: &Connection, team_id: &str, agent_id: &str) -> StoreResult<Agent> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {AGENT_COLS} FROM agents WHERE team_id = ?1 AND agent_id = ?2"
        ))?
        .query_row(params![team_id, agent_id], agent_row)
        .optional()?;
    match found {
        Some(agent) => Ok(agent),
        None => {
            ensure_team(conn, team_id)?;
            Err(StoreError::NotFound {
                kind: "agent",
                id: agent_id.to_string(),
            })
        }
    }
}

fn sum_usage(conn: &Connection, team_id: &str, agent_id: Option<&str>) -> StoreResult<Usage> {
    let usage = conn
        .prepare_cached(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0),
                    coalesce(sum(output_tokens), 0), coalesce(sum(reasoning_output_tokens), 0)
             FROM usage WHERE team_id = ?1 AND (?2 IS NULL OR agent_id = ?2)",
        )?
        .query_row(params![team_id, agent_id], |r| {
            Ok(Usage {
                input_tokens: r.get(0)?,
                cached_input_tokens: r.get(1)?,
                output_tokens: r.get(2)?,
                reasoning_output_tokens: r.get(3)?,
            })
        })?;
    Ok(usage)
}

fn team_config(new: &NewTeam) -> StoreResult<String> {
    require_text("team goal", &new.goal)?;
    serde_json::to_string(&new.config)
        .map_err(|e| StoreError::Invalid(format!("team config is not JSON: {e}")))
}

fn insert_team(
    c: &Connection,
    team_id: &str,
    new: &NewTeam,
    config: &str,
    now: Millis,
) -> StoreResult<Team> {
    c.prepare_cached(
        "INSERT INTO teams (team_id, goal, cwd, profile, config, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        team_id,
        // The goal is the user's task text: a password or key typed into it is not kept
        // (workers see the goal from here; the lead got the text as typed).
        crate::redact::redact_str(&new.goal),
        new.cwd,
        new.profile,
        config,
        TeamStatus::Running,
        now
    ])?;
    log_event(
        c,
        team_id,
        None,
        "team.started",
        &serde_json::json!({ "profile": new.profile, "goal_bytes": new.goal.len() }),
    )?;
    load_team(c, team_id)
}

fn check_new_agent(new: &NewAgent) -> StoreResult<()> {
    require_text("agent name", &new.name)?;
    require_text("agent role", &new.role)
}

/// `<base>-<n>` with the lowest `n` past the members of `role` that no member of the team
/// is named; read inside the caller's write transaction.
fn next_free_name(c: &Connection, team_id: &str, base: &str, role: &str) -> StoreResult<String> {
    let same_role: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM agents WHERE team_id = ?1 AND role = ?2")?
        .query_row(params![team_id, role], |r| r.get(0))?;
    let mut taken = c.prepare_cached("SELECT 1 FROM agents WHERE team_id = ?1 AND name = ?2")?;
    let mut n = same_role + 1;
    loop {
        let name = format!("{base}-{n}");
        if !taken.exists(params![team_id, name])? {
            return Ok(name);
        }
        n += 1;
    }
}

/// Inserts an agent into an existing team, refusing a taken name or token hash.
fn insert_agent(
    c: &Connection,
    team_id: &str,
    agent_id: &str,
    new: &NewAgent,
    now: Millis,
) -> StoreResult<Agent> {
    let taken = c
        .prepare_cached("SELECT agent_id FROM agents WHERE team_id = ?1 AND name = ?2")?
        .query_row(params![team_id, new.name], |r| r.get::<_, String>(0))
        .optional()?;
    if let Some(other) = taken {
        return Err(StoreError::Conflict(format!(
            "team {team_id} already has an agent named '{}' ({other})",
            new.name
        )));
    }
    let tools = match &new.tools {
        Some(list) => Some(
            serde_json::to_string(list)
                .map_err(|e| StoreError::Invalid(format!("agent tools are not JSON: {e}")))?,
        ),
        None => None,
    };
    if let Some(hash) = &new.token_hash {
        let used = c
            .prepare_cached("SELECT 1 FROM agents WHERE token_hash = ?1")?
            .query_row([hash], |_| Ok(()))
            .optional()?;
        if used.is_some() {
            return Err(StoreError::Conflict(
                "that token hash already belongs to another agent".into(),
            ));
        }
    }
    c.prepare_cached(
        "INSERT INTO agents (agent_id, team_id, name, role, state, model, brief, token_hash,
                             created_at, updated_at, tools)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
    )?
    .execute(params![
        agent_id,
        team_id,
        new.name,
        new.role,
        AgentState::Pending,
        new.model,
        new.brief,
        new.token_hash,
        now,
        tools
    ])?;
    log_event(
        c,
        team_id,
        Some(agent_id),
        "agent.added",
        &serde_json::json!({ "name": new.name, "role": new.role, "model": new.model }),
    )?;
    load_agent(c, team_id, agent_id)
}

impl Store {
    /// Starts a team (status `running`); the goal is required because every later summary
    /// and replay is keyed on what the team was for.
    pub fn create_team(&self, new: NewTeam) -> StoreResult<Team> {
        let config = team_config(&new)?;
        let team_id = new_id(prefix::TEAM);
        let now = now_ms();
        self.write(|c| insert_team(c, &team_id, &new, &config, now))
    }

    /// Creates a team and its lead in one transaction, so no reader ever sees a team
    /// without its lead and a failure leaves neither behind.
    pub fn create_team_with_lead(
        &self,
        team: NewTeam,
        lead: NewAgent,
    ) -> StoreResult<(Team, Agent)> {
        let config = team_config(&team)?;
        check_new_agent(&lead)?;
        let team_id = new_id(prefix::TEAM);
        let agent_id = new_id(prefix::AGENT);
        let now = now_ms();
        self.write(|c| {
            let t = insert_team(c, &team_id, &team, &config, now)?;
            let a = insert_agent(c, &team_id, &agent_id, &lead, now)?;
            Ok((t, a))
        })
    }

    /// One team, for the supervisor and `resume`.
    pub fn team(&self, team_id: &str) -> StoreResult<Team> {
        self.read(|c| load_team(c, team_id))
    }

    /// Every team, oldest first (what `resume` and `replay` offer).
    pub fn list_teams(&self) -> StoreResult<Vec<Team>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {TEAM_COLS} FROM teams ORDER BY rowid"))?;
            let teams = stmt.query_map([], team_row)?.collect::<Result<_, _>>()?;
            Ok(teams)
        })
    }

    /// Moves a team through its life (running → finalized/failed/stopped, or back to
    /// running on resume).
    pub fn set_team_status(&self, team_id: &str, status: TeamStatus) -> StoreResult<Team> {
        let now = now_ms();
        self.write(|c| {
            let n = c
                .prepare_cached("UPDATE teams SET status = ?2, updated_at = ?3 WHERE team_id = ?1")?
                .execute(params![team_id, status, now])?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    kind: "team",
                    id: team_id.to_string(),
                });
            }
            load_team(c, team_id)
        })
    }

    /// Moves a team from `expected` to `status` only if it is still at `expected`, checked
    /// and written in one transaction: of two concurrent finalizes exactly one succeeds and
    /// the other gets `Conflict` naming the status it found.
    pub fn set_team_status_if(
        &self,
        team_id: &str,
        expected: TeamStatus,
        status: TeamStatus,
    ) -> StoreResult<Team> {
        let now = now_ms();
        self.write(|c| {
            let team = load_team(c, team_id)?;
            if team.status != expected {
                return Err(StoreError::Conflict(format!(
                    "team {team_id} is {}, not {}",
                    team.status.as_str(),
                    expected.as_str()
                )));
            }
            c.prepare_cached("UPDATE teams SET status = ?2, updated_at = ?3 WHERE team_id = ?1")?
                .execute(params![team_id, status, now])?;
            load_team(c, team_id)
        })
    }

    /// Adds a member (state `pending`). Names are unique within a team so agents can be
    /// addressed by name; a second agent with the same name is a conflict.
    pub fn add_agent(&self, team_id: &str, new: NewAgent) -> StoreResult<Agent> {
        check_new_agent(&new)?;
        let agent_id = new_id(prefix::AGENT);
        let now = now_ms();
        self.write(|c| {
            ensure_team(c, team_id)?;
            insert_agent(c, team_id, &agent_id, &new, now)
        })
    }

    /// Adds a member named `<new.name>-<n>` (`implementer-3`): `n` counts from one past the
    /// members of its role and skips names already taken. The name is chosen in the same
    /// write transaction as the insert, so concurrent spawns of one role never get the same
    /// name and never meet the UNIQUE constraint.
    pub fn add_agent_numbered(&self, team_id: &str, new: NewAgent) -> StoreResult<Agent> {
        check_new_agent(&new)?;
        let agent_id = new_id(prefix::AGENT);
        let now = now_ms();
        self.write(|c| {
            ensure_team(c, team_id)?;
            let name = next_free_name(c, team_id, &new.name, &new.role)?;
            let named = NewAgent {
                name,
                ..new.clone()
            };
            insert_agent(c, team_id, &agent_id, &named, now)
        })
    }

    /// An agent of `team_id`; an agent of another team is `NotFound`.
    pub fn agent(&self, team_id: &str, agent_id: &str) -> StoreResult<Agent> {
        self.read(|c| load_agent(c, team_id, agent_id))
    }

    /// The agent whose bearer-token hash this is (how endpoints learn who is calling).
    /// The hash is not echoed in the error, so a probe learns nothing from it.
    pub fn agent_by_token_hash(&self, token_hash: &str) -> StoreResult<Agent> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {AGENT_COLS} FROM agents WHERE token_hash = ?1"
            ))?
            .query_row([token_hash], agent_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                kind: "agent with that token",
                id: "(token withheld)".into(),
            })
        })
    }

    /// Replaces an agent's bearer-token hash in one transaction, so the old token stops
    /// authenticating the moment this commits. `codex-teams resume` uses it to hand a
    /// resumed agent a fresh token instead of keeping plaintext tokens on disk. An agent of
    /// another team is `NotFound`; a hash that belongs to another agent is `Conflict`.
    pub fn rotate_agent_token(
        &self,
        team_id: &str,
        agent_id: &str,
        new_token_hash: &str,
    ) -> StoreResult<Agent> {
        require_text("token hash", new_token_hash)?;
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let owner = c
                .prepare_cached("SELECT agent_id FROM agents WHERE token_hash = ?1")?
                .query_row([new_token_hash], |r| r.get::<_, String>(0))
                .optional()?;
            if owner.is_some_and(|o| o != agent_id) {
                return Err(StoreError::Conflict(
                    "that token hash already belongs to another agent".into(),
                ));
            }
            c.prepare_cached(
                "UPDATE agents SET token_hash = ?3, updated_at = ?4
                 WHERE team_id = ?1 AND agent_id = ?2",
            )?
            .execute(params![team_id, agent_id, new_token_hash, now])?;
            load_agent(c, team_id, agent_id)
        })
    }

    /// The team's members in the order they were added.
    pub fn list_agents(&self, team_id: &str) -> StoreResult<Vec<Agent>> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {AGENT_COLS} FROM agents WHERE team_id = ?1 ORDER BY rowid"
            ))?;
            let agents = stmt
                .query_map([team_id], agent_row)?
                .collect::<Result<_, _>>()?;
            Ok(agents)
        })
    }

    /// Records where an agent's process is. `thread_id` is sticky: `None` keeps the known
    /// thread (it is what `resume` needs). `pgid` describes the current process, so `None`
    /// clears it (an idle or stopped agent has none).
    pub fn set_agent_state(
        &self,
        team_id: &str,
        agent_id: &str,
        state: AgentState,
        thread_id: Option<&str>,
        pgid: Option<i32>,
    ) -> StoreResult<Agent> {
        let now = now_ms();
        self.write(|c| {
            let before = load_agent(c, team_id, agent_id)?;
            c.prepare_cached(
                "UPDATE agents SET state = ?3, thread_id = coalesce(?4, thread_id), pgid = ?5,
                                   updated_at = ?6
                 WHERE team_id = ?1 AND agent_id = ?2",
            )?
            .execute(params![team_id, agent_id, state, thread_id, pgid, now])?;
            if before.state != state || before.pgid != pgid {
                log_event(
                    c,
                    team_id,
                    Some(agent_id),
                    "agent.state",
                    &serde_json::json!({
                        "from": before.state.as_str(),
                        "to": state.as_str(),
                        "pgid": pgid,
                    }),
                )?;
            }
            load_agent(c, team_id, agent_id)
        })
    }

    /// Adds one turn's usage (a difference, not a running total) to the agent's ledger.
    pub fn record_usage(&self, team_id: &str, agent_id: &str, usage: Usage) -> StoreResult<()> {
        let Usage {
            input_tokens,
            cached_input_tokens,
            output_tokens,
            reasoning_output_tokens,
        } = usage;
        for (name, v) in [
            ("input_tokens", input_tokens),
            ("cached_input_tokens", cached_input_tokens),
            ("output_tokens", output_tokens),
            ("reasoning_output_tokens", reasoning_output_tokens),
        ] {
            if v < 0 {
                return Err(StoreError::Invalid(format!(
                    "usage {name} is {v}; a turn's usage cannot be negative"
                )));
            }
        }
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            c.prepare_cached(
                "INSERT INTO usage (team_id, agent_id, input_tokens, cached_input_tokens,
                                    output_tokens, reasoning_output_tokens, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                team_id,
                agent_id,
                input_tokens,
                cached_input_tokens,
                output_tokens,
                reasoning_output_tokens,
                now
            ])?;
            log_event(
                c,
                team_id,
                Some(agent_id),
                "usage.recorded",
                &serde_json::json!({
                    "input_tokens": input_tokens,
                    "cached_input_tokens": cached_input_tokens,
                    "output_tokens": output_tokens,
                    "reasoning_output_tokens": reasoning_output_tokens,
                }),
            )?;
            Ok(())
        })
    }

    /// Sum of every recorded turn of the agent.
    pub fn agent_usage(&self, team_id: &str, agent_id: &str) -> StoreResult<Usage> {
        self.read(|c| {
            ensure_member(c, team_id, agent_id)?;
            sum_usage(c, team_id, Some(agent_id))
        })
    }

    /// Sum over every agent of the team: the run summary's total.
    pub fn team_usage(&self, team_id: &str) -> StoreResult<Usage> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            sum_usage(c, team_id, None)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{Fixture, TestDb, assert_not_found};
    use crate::*;

    #[test]
    fn team_life_cycle() {
        let db = TestDb::new();
        let s = Store::open(&db.path).unwrap();
        let new = NewTeam {
            goal: "ship it".into(),
            cwd: "/repo".into(),
            profile: "fast".into(),
            config: serde_json::json!({"model": "gpt-5"}),
        };
        let t = s.create_team(new).unwrap();
        assert!(t.team_id.starts_with("team-"));
        assert_eq!(t.status, TeamStatus::Running);
        assert_eq!(s.team(&t.team_id).unwrap(), t);
        let t2 = s
            .set_team_status(&t.team_id, TeamStatus::Finalized)
            .unwrap();
        assert_eq!(t2.status, TeamStatus::Finalized);
        assert_eq!(t2.config["model"], "gpt-5");
        let b = s
            .create_team(NewTeam {
                goal: "b".into(),
                ..Default::default()
            })
            .unwrap();
        let ids: Vec<_> = s
            .list_teams()
            .unwrap()
            .into_iter()
            .map(|t| t.team_id)
            .collect();
        assert_eq!(ids, vec![t.team_id, b.team_id]);
    }

    #[test]
    fn team_and_lead_are_created_together_or_not_at_all() {
        let db = TestDb::new();
        let s = Store::open(&db.path).unwrap();
        let lead = |hash: &str| NewAgent {
            name: "lead".into(),
            role: "lead".into(),
            token_hash: Some(hash.into()),
            ..Default::default()
        };
        let goal = |g: &str| NewTeam {
            goal: g.into(),
            ..Default::default()
        };
        let (t, a) = s.create_team_with_lead(goal("g"), lead("h1")).unwrap();
        assert_eq!(a.team_id, t.team_id);
        assert_eq!(s.list_agents(&t.team_id).unwrap(), vec![a.clone()]);
        assert_eq!(s.agent_by_token_hash("h1").unwrap(), a);
        // The lead cannot be added (its token hash is taken): no team is left behind.
        let err = s.create_team_with_lead(goal("g2"), lead("h1")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let err = s
            .create_team_with_lead(goal("g3"), NewAgent::default())
            .unwrap_err();
        assert!(err.to_string().contains("agent name"), "{err}");
        assert_eq!(s.list_teams().unwrap(), vec![t]);
    }

    #[test]
    fn conditional_status_change_lets_one_finalize_win() {
        let f = Fixture::new(0);
        let s = &f.store;
        let t = s
            .set_team_status_if(&f.team, TeamStatus::Running, TeamStatus::Finalized)
            .unwrap();
        assert_eq!(t.status, TeamStatus::Finalized);
        let err = s
            .set_team_status_if(&f.team, TeamStatus::Running, TeamStatus::Failed)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("is finalized, not running")),
            "{err}"
        );
        assert_eq!(s.team(&f.team).unwrap().status, TeamStatus::Finalized);
        assert_not_found(
            s.set_team_status_if("team-nope", TeamStatus::Running, TeamStatus::Stopped),
            "team",
        );
        // Concurrent: eight connections race, exactly one wins.
        let path = f.db.path.clone();
        let team = f.other_team.clone();
        let wins: usize = (0..8)
            .map(|_| {
                let (path, team) = (path.clone(), team.clone());
                std::thread::spawn(move || {
                    let s = Store::open(&path).unwrap();
                    s.set_team_status_if(&team, TeamStatus::Running, TeamStatus::Finalized)
                        .is_ok() as usize
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(wins, 1);
    }

    #[test]
    fn team_errors() {
        let db = TestDb::new();
        let s = Store::open(&db.path).unwrap();
        let err = s
            .create_team(NewTeam {
                goal: "  ".into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid input: team goal is empty");
        assert_not_found(s.team("team-nope"), "team");
        assert_not_found(s.set_team_status("team-nope", TeamStatus::Stopped), "team");
        assert_not_found(s.list_agents("team-nope"), "team");
        assert_not_found(s.team_usage("team-nope"), "team");
    }

    #[test]
    fn agents_are_added_found_and_updated() {
        let f = Fixture::new(0);
        let s = &f.store;
        let new = NewAgent {
            name: "impl-1".into(),
            role: "implementer".into(),
            model: Some("gpt-5".into()),
            brief: "do it".into(),
            token_hash: Some(sha256_hex(b"secret-token")),
            tools: Some(vec!["team_send".into(), "task_claim".into()]),
        };
        let a = s.add_agent(&f.team, new).unwrap();
        assert!(a.agent_id.starts_with("agt-"));
        assert_eq!(
            a.tools.as_deref(),
            Some(&["team_send".to_string(), "task_claim".to_string()][..]),
            "the recorded tool list round-trips"
        );
        assert_eq!(
            (a.state, a.thread_id.clone(), a.pgid),
            (AgentState::Pending, None, None)
        );
        assert_eq!(s.agent(&f.team, &a.agent_id).unwrap(), a);
        assert_eq!(
            s.agent_by_token_hash(&sha256_hex(b"secret-token")).unwrap(),
            a
        );
        assert_eq!(s.list_agents(&f.team).unwrap(), vec![a.clone()]);

        let r = s
            .set_agent_state(
                &f.team,
                &a.agent_id,
                AgentState::Running,
                Some("th-1"),
                Some(42),
            )
            .unwrap();
        assert_eq!(
            (r.state, r.thread_id.as_deref(), r.pgid),
            (AgentState::Running, Some("th-1"), Some(42))
        );
        // thread id is sticky, pgid follows the process
        let i = s
            .set_agent_state(&f.team, &a.agent_id, AgentState::Idle, None, None)
            .unwrap();
        assert_eq!(
            (i.state, i.thread_id.as_deref(), i.pgid),
            (AgentState::Idle, Some("th-1"), None)
        );
    }

    #[test]
    fn agent_errors() {
        let f = Fixture::new(1);
        let s = &f.store;
        let named = |name: &str, role: &str| NewAgent {
            name: name.into(),
            role: role.into(),
            ..Default::default()
        };
        assert!(
            matches!(s.add_agent(&f.team, named("", "lead")), Err(StoreError::Invalid(m)) if m.contains("agent name"))
        );
        assert!(
            matches!(s.add_agent(&f.team, named("b", "")), Err(StoreError::Invalid(m)) if m.contains("agent role"))
        );
        let dup = s.add_agent(&f.team, named("a0", "tester")).unwrap_err();
        assert!(
            matches!(&dup, StoreError::Conflict(m) if m.contains("'a0'")),
            "{dup}"
        );
        assert_not_found(s.add_agent("team-nope", named("b", "lead")), "team");
        // the same name in another team is fine
        s.add_agent(&f.other_team, named("a0", "tester")).unwrap();

        let hash = sha256_hex(b"t");
        let with_hash = |name: &str| NewAgent {
            token_hash: Some(hash.clone()),
            ..named(name, "lead")
        };
        s.add_agent(&f.team, with_hash("h1")).unwrap();
        assert!(matches!(
            s.add_agent(&f.team, with_hash("h2")),
            Err(StoreError::Conflict(_))
        ));

        let err = s.agent_by_token_hash("deadbeef").unwrap_err();
        assert!(!err.to_string().contains("deadbeef"), "{err}");
        assert_not_found(s.agent_by_token_hash("deadbeef"), "agent with that token");
        // team scoping: an agent of another team is not found
        assert_not_found(s.agent(&f.team, &f.outsider), "agent");
        assert_not_found(s.agent("team-nope", &f.agents[0]), "team");
        assert_not_found(
            s.set_agent_state(&f.team, &f.outsider, AgentState::Idle, None, None),
            "agent",
        );
    }

    #[test]
    fn rotating_a_token_retires_the_old_hash_at_once() {
        let f = Fixture::new(2);
        let s = &f.store;
        let (old, new) = (sha256_hex(b"old-token"), sha256_hex(b"new-token"));
        s.rotate_agent_token(&f.team, &f.agents[0], &old).unwrap();
        assert_eq!(s.agent_by_token_hash(&old).unwrap().agent_id, f.agents[0]);
        let a = s.rotate_agent_token(&f.team, &f.agents[0], &new).unwrap();
        assert_eq!(a.agent_id, f.agents[0]);
        assert_not_found(s.agent_by_token_hash(&old), "agent with that token");
        assert_eq!(s.agent_by_token_hash(&new).unwrap(), a);
        // Rotating to the hash it already has is harmless.
        s.rotate_agent_token(&f.team, &f.agents[0], &new).unwrap();
        // Another agent's hash is refused, and nothing changes.
        let err = s
            .rotate_agent_token(&f.team, &f.agents[1], &new)
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(s.agent_by_token_hash(&new).unwrap().agent_id, f.agents[0]);
        // Team scoping: an agent of another team, or an unknown team, is not found.
        assert_not_found(
            s.rotate_agent_token(&f.team, &f.outsider, &sha256_hex(b"x")),
            "agent",
        );
        assert_not_found(
            s.rotate_agent_token("team-nope", &f.agents[0], &sha256_hex(b"x")),
            "team",
        );
        let err = s
            .rotate_agent_token(&f.team, &f.agents[0], " ")
            .unwrap_err();
        assert!(err.to_string().contains("token hash is empty"), "{err}");
    }

    #[test]
    fn usage_adds_up_per_agent_and_team() {
        let f = Fixture::new(2);
        let s = &f.store;
        let turn = |i, c, o, r| Usage {
            input_tokens: i,
            cached_input_tokens: c,
            output_tokens: o,
            reasoning_output_tokens: r,
        };
        s.record_usage(&f.team, &f.agents[0], turn(100, 50, 10, 5))
            .unwrap();
        s.record_usage(&f.team, &f.agents[0], turn(200, 150, 20, 0))
            .unwrap();
        s.record_usage(&f.team, &f.agents[1], turn(1, 0, 1, 0))
            .unwrap();
        assert_eq!(
            s.agent_usage(&f.team, &f.agents[0]).unwrap(),
            turn(300, 200, 30, 5)
        );
        assert_eq!(
            s.agent_usage(&f.team, &f.agents[1]).unwrap(),
            turn(1, 0, 1, 0)
        );
        assert_eq!(s.team_usage(&f.team).unwrap(), turn(301, 200, 31, 5));
        assert_eq!(s.team_usage(&f.other_team).unwrap(), Usage::default());

        let err = s
            .record_usage(&f.team, &f.agents[0], turn(-1, 0, 0, 0))
            .unwrap_err();
        assert!(err.to_string().contains("input_tokens is -1"), "{err}");
        assert_not_found(
            s.record_usage(&f.team, &f.outsider, turn(1, 0, 0, 0)),
            "agent",
        );
        assert_not_found(s.agent_usage(&f.team, &f.outsider), "agent");
    }
}
