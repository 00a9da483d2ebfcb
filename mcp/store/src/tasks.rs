//! The task board: dependencies, leased claims, optimistic versions.
//!
//! `ready` is derived, never stored: an open task whose dependencies are all done, or a
//! claimed task whose lease has run out (its claimant is presumed dead). Every write runs
//! in one `BEGIN IMMEDIATE` transaction, so of concurrent claimants exactly one sees the
//! task ready and wins; the others see it claimed.
//!
//! Creating, claiming and updating a task each append an event (`task.created`,
//! `task.claimed`, `task.updated`) in the same transaction, so a reader of the log (a
//! waiting agent's cursor, `replay`) sees every board change in commit order.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use crate::events::log_event;
use crate::ids::{lease_ms, new_id, now_ms, prefix};
use crate::store::{ensure_member, ensure_team, require_text, within_limit};
use crate::*;

const TASK_COLS: &str = "t.task_id, t.team_id, t.title, t.description, t.role, t.status, \
     t.claimed_by, t.lease_until, t.progress, t.result_artifact, t.result_version, t.version, \
     t.created_by, t.created_at, t.updated_at";

/// The readiness rule as SQL over alias `t`, with the clock in `:now`.
const READY: &str = "((t.status = 'open' AND NOT EXISTS (
        SELECT 1 FROM task_deps d JOIN tasks u ON u.task_id = d.dep_id
        WHERE d.task_id = t.task_id AND u.status != 'done'))
     OR (t.status = 'claimed' AND t.lease_until <= :now))";

fn task_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        task_id: r.get(0)?,
        team_id: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        role: r.get(4)?,
        deps: Vec::new(),
        status: r.get(5)?,
        claimed_by: r.get(6)?,
        lease_until: r.get(7)?,
        progress: r.get(8)?,
        result_artifact: r.get(9)?,
        result_version: r.get(10)?,
        version: r.get(11)?,
        created_by: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
    })
}

fn with_deps(c: &Connection, mut task: Task) -> StoreResult<Task> {
    let mut stmt =
        c.prepare_cached("SELECT dep_id FROM task_deps WHERE task_id = ?1 ORDER BY pos")?;
    task.deps = stmt
        .query_map([&task.task_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(task)
}

fn load_task(c: &Connection, team_id: &str, task_id: &str) -> StoreResult<Task> {
    let found = c
        .prepare_cached(&format!(
            "SELECT {TASK_COLS} FROM tasks t WHERE t.team_id = ?1 AND t.task_id = ?2"
        ))?
        .query_row(params![team_id, task_id], task_row)
        .optional()?;
    match found {
        Some(task) => with_deps(c, task),
        None => {
            ensure_team(c, team_id)?;
            Err(StoreError::NotFound {
                kind: "task",
                id: task_id.to_string(),
            })
        }
    }
}

/// Dependencies of `task_id` that are not done yet.
fn unfinished_deps(c: &Connection, task_id: &str) -> StoreResult<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT d.dep_id FROM task_deps d JOIN tasks u ON u.task_id = d.dep_id
         WHERE d.task_id = ?1 AND u.status != 'done' ORDER BY d.pos",
    )?;
    let ids = stmt
        .query_map([task_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// `Invalid` if making `task_id` depend on `dep_id` would close a cycle, i.e. `dep_id`
/// already reaches `task_id` through dependencies (or is it).
fn refuse_cycle(c: &Connection, task_id: &str, dep_id: &str) -> StoreResult<()> {
    let cycle = c
        .prepare_cached(
            "WITH RECURSIVE reach(id) AS (
                 SELECT ?1
                 UNION
                 SELECT d.dep_id FROM task_deps d JOIN reach r ON d.task_id = r.id
             )
             SELECT 1 FROM reach WHERE id = ?2 LIMIT 1",
        )?
        .query_row(params![dep_id, task_id], |_| Ok(()))
        .optional()?;
    if cycle.is_some() {
        return Err(StoreError::Invalid(format!(
            "dependency {task_id} -> {dep_id} would make a cycle ({dep_id} already depends on \
             {task_id}, directly or through other tasks)"
        )));
    }
    Ok(())
}

/// Checks and records one dependency edge; existing edges are left as they are.
fn add_dep(c: &Connection, team_id: &str, task_id: &str, dep_id: &str) -> StoreResult<bool> {
    let known = c
        .prepare_cached("SELECT 1 FROM tasks WHERE team_id = ?1 AND task_id = ?2")?
        .query_row(params![team_id, dep_id], |_| Ok(()))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound {
            kind: "dependency task",
            id: dep_id.to_string(),
        });
    }
    refuse_cycle(c, task_id, dep_id)?;
    let n = c
        .prepare_cached(
            "INSERT OR IGNORE INTO task_deps (task_id, dep_id, team_id, pos)
             VALUES (?1, ?2, ?3, (SELECT count(*) FROM task_deps WHERE task_id = ?1))",
        )?
        .execute(params![task_id, dep_id, team_id])?;
    Ok(n > 0)
}

fn list(c: &Connection, team_id: &str, filter: &TaskFilter) -> StoreResult<Vec<Task>> {
    ensure_team(c, team_id)?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {TASK_COLS} FROM tasks t
         WHERE t.team_id = :team
           AND (:status IS NULL OR t.status = :status)
           AND (:claimed_by IS NULL OR t.claimed_by = :claimed_by)
           AND (NOT :ready_only OR {READY})
         ORDER BY t.rowid"
    ))?;
    let tasks = stmt
        .query_map(
            named_params! {
                ":team": team_id,
                ":status": filter.status,
                ":claimed_by": filter.claimed_by,
                ":ready_only": filter.ready_only,
                ":now": now_ms(),
            },
            task_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    tasks.into_iter().map(|t| with_deps(c, t)).collect()
}

/// The id of the team's oldest ready task, if any.
fn oldest_ready(c: &Connection, team_id: &str, now: Millis) -> StoreResult<Option<String>> {
    let id = c
        .prepare_cached(&format!(
            "SELECT t.task_id FROM tasks t WHERE t.team_id = :team AND {READY}
             ORDER BY t.rowid LIMIT 1"
        ))?
        .query_row(named_params! { ":team": team_id, ":now": now }, |r| {
            r.get(0)
        })
        .optional()?;
    Ok(id)
}

/// Why `agent_id` cannot claim `task` now, or `None` if it can.
fn claim_refusal(
    c: &Connection,
    task: &Task,
    agent_id: &str,
    now: Millis,
) -> StoreResult<Option<String>> {
    let id = &task.task_id;
    Ok(match task.status {
        TaskStatus::Done | TaskStatus::Failed => Some(format!(
            "task {id} is {} and cannot be claimed",
            task.status.as_str()
        )),
        TaskStatus::Claimed => {
            let holder = task.claimed_by.as_deref().unwrap_or("?");
            let live = task.lease_until.is_some_and(|until| until > now);
            (live && holder != agent_id).then(|| {
                format!(
                    "task {id} is claimed by {holder} until {} (lease not expired)",
                    task.lease_until.unwrap_or(0)
                )
            })
        }
        TaskStatus::Open => {
            let waiting = unfinished_deps(c, id)?;
            (!waiting.is_empty())
                .then(|| format!("task {id} is not ready: waiting on {}", waiting.join(", ")))
        }
    })
}

/// Inserts a checked [`NewTask`] with its dependencies and logs `task.created`.
fn insert_task(
    c: &Connection,
    team_id: &str,
    created_by: &str,
    new: &NewTask,
) -> StoreResult<Task> {
    let task_id = new_id(prefix::TASK);
    let now = now_ms();
    ensure_member(c, team_id, created_by)?;
    c.prepare_cached(
        "INSERT INTO tasks (task_id, team_id, title, description, role, status, version,
                            created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'open', 1, ?6, ?7, ?7)",
    )?
    .execute(params![
        task_id,
        team_id,
        new.title,
        new.description,
        new.role,
        created_by,
        now
    ])?;
    for dep in &new.deps {
        add_dep(c, team_id, &task_id, dep)?;
    }
    let t = load_task(c, team_id, &task_id)?;
    log_event(
        c,
        team_id,
        Some(created_by),
        "task.created",
        &serde_json::json!({ "task_id": task_id, "title": t.title, "deps": t.deps }),
    )?;
    Ok(t)
}

/// Claims `task_id` for `agent_id` (its refusal checks are the caller's, except that a task
/// still waiting on dependencies is refused here) and logs `task.claimed`.
fn claim_row(
    c: &Connection,
    team_id: &str,
    task_id: &str,
    agent_id: &str,
    lease_ms: i64,
) -> StoreResult<Task> {
    let now = now_ms();
    let waiting = unfinished_deps(c, task_id)?;
    if !waiting.is_empty() {
        return Err(StoreError::Conflict(format!(
            "task {task_id} is not ready: waiting on {}",
            waiting.join(", ")
        )));
    }
    c.prepare_cached(
        "UPDATE tasks SET status = 'claimed', claimed_by = ?2, lease_until = ?3,
                          version = version + 1, updated_at = ?4
         WHERE task_id = ?1",
    )?
    .execute(params![task_id, agent_id, now + lease_ms, now])?;
    let t = load_task(c, team_id, task_id)?;
    log_event(
        c,
        team_id,
        Some(agent_id),
        "task.claimed",
        &serde_json::json!({ "task_id": task_id, "version": t.version }),
    )?;
    Ok(t)
}

impl Store {
    /// Creates a task; an unknown dependency is `NotFound`, a cycle `Invalid`.
    pub fn create_task(&self, team_id: &str, created_by: &str, new: NewTask) -> StoreResult<Task> {
        self.check_new_task(&new)?;
        self.write(|c| insert_task(c, team_id, created_by, &new))
    }

    /// Files several tasks in one transaction (all or none), so a planner states a whole
    /// plan in one call instead of one model request per task: a dependency may be a task id
    /// or `#N`, the N-th task (from 1) of this same call, which must come before it.
    pub fn create_tasks(
        &self,
        team_id: &str,
        created_by: &str,
        new: Vec<NewTask>,
    ) -> StoreResult<Vec<Task>> {
        if new.is_empty() {
            return Err(StoreError::Invalid("a plan needs at least one task".into()));
        }
        for t in &new {
            self.check_new_task(t)?;
        }
        self.write(|c| {
            let mut made: Vec<Task> = Vec::with_capacity(new.len());
            for (i, t) in new.iter().enumerate() {
                let mut t = t.clone();
                for dep in &mut t.deps {
                    if let Some(n) = dep.strip_prefix('#') {
                        let earlier = n
                            .parse::<usize>()
                            .ok()
                            .filter(|&n| n >= 1 && n <= i)
                            .and_then(|n| made.get(n - 1));
                        let Some(earlier) = earlier else {
                            return Err(StoreError::Invalid(format!(
                                "task {} of the plan: dependency `{dep}` must name an earlier task of the same plan (#1..#{i})",
                                i + 1
                            )));
                        };
                        *dep = earlier.task_id.clone();
                    }
                }
                made.push(insert_task(c, team_id, created_by, &t)?);
            }
            Ok(made)
        })
    }

    /// Creates a task and claims it for `claimant` in one transaction, so a lead can file a
    /// task and staff it in one call (`team_spawn` with an inline task). The task must be
    /// ready at once: one waiting on an unfinished dependency is `Conflict` and nothing is
    /// created.
    pub fn create_task_claimed(
        &self,
        team_id: &str,
        created_by: &str,
        claimant: &str,
        new: NewTask,
        lease: Duration,
    ) -> StoreResult<Task> {
        self.check_new_task(&new)?;
        let lease = checked_lease_ms(lease)?;
        self.write(|c| {
            let t = insert_task(c, team_id, created_by, &new)?;
            ensure_member(c, team_id, claimant)?;
            claim_row(c, team_id, &t.task_id, claimant, lease)
        })
    }

    fn check_new_task(&self, new: &NewTask) -> StoreResult<()> {
        require_text("task title", &new.title)?;
        within_limit(
            "task description",
            &new.description,
            self.opts.max_artifact_bytes,
        )
    }

    /// Makes an open task wait on one more task, e.g. when a planner splits work after
    /// creating it. Refuses a cycle (`Invalid`), an unknown task (`NotFound`) and a task
    /// already claimed or ended (`Conflict`). Bumps the version when the edge is new.
    pub fn add_task_dependency(
        &self,
        team_id: &str,
        task_id: &str,
        dep_id: &str,
    ) -> StoreResult<Task> {
        let now = now_ms();
        self.write(|c| {
            let task = load_task(c, team_id, task_id)?;
            if task.status != TaskStatus::Open {
                return Err(StoreError::Conflict(format!(
                    "task {task_id} is {}; only an open task can get new dependencies",
                    task.status.as_str()
                )));
            }
            if add_dep(c, team_id, task_id, dep_id)? {
                c.prepare_cached(
                    "UPDATE tasks SET version = version + 1, updated_at = ?2 WHERE task_id = ?1",
                )?
                .execute(params![task_id, now])?;
            }
            load_task(c, team_id, task_id)
        })
    }

    /// One task of the team, with its dependencies.
    pub fn task(&self, team_id: &str, task_id: &str) -> StoreResult<Task> {
        self.read(|c| load_task(c, team_id, task_id))
    }

    /// Claims the given task, or with `None` the oldest ready one (`NotFound` when none is).
    /// Only a ready task (open, all dependencies done, or claimed with an expired lease) can
    /// be claimed; exactly one of concurrent claimants wins, the others get `Conflict`.
    /// The holder claiming again just renews its lease.
    pub fn claim_task(
        &self,
        team_id: &str,
        task_id: Option<&str>,
        agent_id: &str,
        lease: Duration,
    ) -> StoreResult<Task> {
        let lease = checked_lease_ms(lease)?;
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let now = now_ms();
            let task_id = match task_id {
                Some(id) => {
                    let task = load_task(c, team_id, id)?;
                    if let Some(why) = claim_refusal(c, &task, agent_id, now)? {
                        return Err(StoreError::Conflict(why));
                    }
                    task.task_id
                }
                None => {
                    ensure_team(c, team_id)?;
                    oldest_ready(c, team_id, now)?.ok_or_else(|| StoreError::NotFound {
                        kind: "ready task in team",
                        id: team_id.to_string(),
                    })?
                }
            };
            claim_row(c, team_id, &task_id, agent_id, lease)
        })
    }

    /// Extends the claimant's lease. Allowed to the recorded claimant even after its lease
    /// ran out, as long as nobody has claimed the task since. Does not change the version.
    pub fn heartbeat_task(
        &self,
        team_id: &str,
        task_id: &str,
        agent_id: &str,
        lease: Duration,
    ) -> StoreResult<Task> {
        let lease = checked_lease_ms(lease)?;
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let task = load_task(c, team_id, task_id)?;
            refuse_unless_holder(&task, agent_id)?;
            let now = now_ms();
            c.prepare_cached(
                "UPDATE tasks SET lease_until = ?2, updated_at = ?3 WHERE task_id = ?1",
            )?
            .execute(params![task_id, now + lease, now])?;
            load_task(c, team_id, task_id)
        })
    }

    /// Changes a task the caller holds, if `expected_version` is current. `Done`/`Failed`
    /// end it (the claimant stays recorded), `Open` hands it back to the board. A result
    /// artifact named without a version records its newest version.
    pub fn update_task(
        &self,
        team_id: &str,
        task_id: &str,
        agent_id: &str,
        expected_version: u32,
        update: TaskUpdate,
    ) -> StoreResult<Task> {
        if update.status == Some(TaskStatus::Claimed) {
            return Err(StoreError::Invalid(
                "status 'claimed' is set by claiming the task, not by an update".into(),
            ));
        }
        if update.result_version.is_some() && update.result_artifact.is_none() {
            return Err(StoreError::Invalid(
                "result_version was given without result_artifact".into(),
            ));
        }
        if let Some(p) = &update.progress {
            within_limit("task progress", p, self.opts.max_body_bytes)?;
        }
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let task = load_task(c, team_id, task_id)?;
            refuse_unless_holder(&task, agent_id)?;
            if task.version != expected_version {
                return Err(StoreError::Conflict(format!(
                    "task {task_id} is at version {}, not {expected_version}; read it again",
                    task.version
                )));
            }
            let result_version = match &update.result_artifact {
                Some(art) => Some(crate::artifacts::existing_version(
                    c,
                    team_id,
                    art,
                    update.result_version,
                )?),
                None => None,
            };
            let (status, claimed_by, lease_until) = match update.status {
                None | Some(TaskStatus::Claimed) => {
                    (task.status, task.claimed_by, task.lease_until)
                }
                Some(TaskStatus::Open) => (TaskStatus::Open, None, None),
                Some(end) => (end, task.claimed_by, None),
            };
            c.prepare_cached(
                "UPDATE tasks SET status = ?2, claimed_by = ?3, lease_until = ?4,
                                  progress = coalesce(?5, progress),
                                  result_artifact = coalesce(?6, result_artifact),
                                  result_version = coalesce(?7, result_version),
                                  version = version + 1, updated_at = ?8
                 WHERE task_id = ?1",
            )?
            .execute(params![
                task_id,
                status,
                claimed_by,
                lease_until,
                update.progress,
                update.result_artifact,
                result_version,
                now
            ])?;
            let t = load_task(c, team_id, task_id)?;
            log_event(
                c,
                team_id,
                Some(agent_id),
                "task.updated",
                &serde_json::json!({
                    "task_id": task_id,
                    "status": t.status,
                    "version": t.version,
                    "artifact_id": t.result_artifact,
                }),
            )?;
            Ok(t)
        })
    }

    /// The team's tasks matching `filter`, oldest first.
    pub fn list_tasks(&self, team_id: &str, filter: &TaskFilter) -> StoreResult<Vec<Task>> {
        self.read(|c| list(c, team_id, filter))
    }

    /// Open tasks whose dependencies are all done, plus claimed ones whose lease expired.
    pub fn ready_tasks(&self, team_id: &str) -> StoreResult<Vec<Task>> {
        self.list_tasks(
            team_id,
            &TaskFilter {
                ready_only: true,
                ..Default::default()
            },
        )
    }

    /// Hands every task `agent_id` holds back to the board (open, no claimant), with a
    /// `task.released` event naming `reason`: a worker that died or was stopped cannot
    /// finish them, and waiting out its lease would stall the run. Returns the task ids.
    pub fn release_claims(
        &self,
        team_id: &str,
        agent_id: &str,
        reason: &str,
    ) -> StoreResult<Vec<String>> {
        self.write(|c| {
            ensure_member(c, team_id, agent_id)?;
            let ids: Vec<String> = c
                .prepare_cached(
                    "SELECT task_id FROM tasks
                     WHERE team_id = ?1 AND claimed_by = ?2 AND status = 'claimed'
                     ORDER BY created_at, task_id",
                )?
                .query_map(params![team_id, agent_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let now = now_ms();
            for id in &ids {
                c.prepare_cached(
                    "UPDATE tasks SET status = 'open', claimed_by = NULL, lease_until = NULL,
                                      version = version + 1, updated_at = ?2
                     WHERE task_id = ?1",
                )?
                .execute(params![id, now])?;
                log_event(
                    c,
                    team_id,
                    Some(agent_id),
                    "task.released",
                    &serde_json::json!({ "task_id": id, "reason": reason }),
                )?;
            }
            Ok(ids)
        })
    }
}

/// `Conflict` unless `agent_id` holds `task` (claimed and not taken over by anyone since).
fn refuse_unless_holder(task: &Task, agent_id: &str) -> StoreResult<()> {
    if task.status == TaskStatus::Claimed && task.claimed_by.as_deref() == Some(agent_id) {
        return Ok(());
    }
    let state = match (&task.status, &task.claimed_by) {
        (TaskStatus::Claimed, Some(other)) => format!("claimed by {other}"),
        (status, _) => status.as_str().to_string(),
    };
    Err(StoreError::Conflict(format!(
        "task {} is not held by {agent_id} (it is {state})",
        task.task_id
    )))
}

/// A lease in milliseconds; a zero lease is refused (it would free the task at once).
fn checked_lease_ms(lease: Duration) -> StoreResult<i64> {
    if lease.is_zero() {
        return Err(StoreError::Invalid("lease must be longer than zero".into()));
    }
    Ok(lease_ms(lease))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testutil::{Fixture, assert_not_found};
    use crate::*;

    const LONG: Duration = Duration::from_secs(60);

    fn task(title: &str, deps: &[&str]) -> NewTask {
        NewTask {
            title: title.into(),
            description: format!("do {title}"),
            role: Some("implementer".into()),
            deps: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn ids(tasks: &[Task]) -> Vec<String> {
        tasks.iter().map(|t| t.task_id.clone()).collect()
    }

    fn done(s: &Store, team: &str, id: &str, agent: &str) -> Task {
        let t = s.claim_task(team, Some(id), agent, LONG).unwrap();
        let up = TaskUpdate {
            status: Some(TaskStatus::Done),
            ..Default::default()
        };
        s.update_task(team, id, agent, t.version, up).unwrap()
    }

    #[test]
    fn create_read_and_readiness_follow_dependencies() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        let t1 = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let t2 = s.create_task(&f.team, a, task("two", &[])).unwrap();
        let t3 = s
            .create_task(
                &f.team,
                a,
                task("three", &[&t1.task_id, &t2.task_id, &t1.task_id]),
            )
            .unwrap();
        assert!(t1.task_id.starts_with("tsk-"));
        assert_eq!(
            (t1.status, t1.version, t1.created_by.as_str()),
            (TaskStatus::Open, 1, a.as_str())
        );
        assert_eq!(
            t3.deps,
            vec![t1.task_id.clone(), t2.task_id.clone()],
            "deduplicated, in order"
        );
        assert_eq!(s.task(&f.team, &t3.task_id).unwrap(), t3);
        assert_eq!(
            ids(&s.ready_tasks(&f.team).unwrap()),
            ids(&[t1.clone(), t2.clone()])
        );

        done(s, &f.team, &t1.task_id, a);
        assert_eq!(
            ids(&s.ready_tasks(&f.team).unwrap()),
            ids(std::slice::from_ref(&t2))
        );
        let err = s
            .claim_task(&f.team, Some(&t3.task_id), a, LONG)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("not ready") && m.contains(&t2.task_id)),
            "{err}"
        );
        done(s, &f.team, &t2.task_id, a);
        assert_eq!(ids(&s.ready_tasks(&f.team).unwrap()), ids(&[t3]));
    }

    #[test]
    fn a_plan_is_filed_in_one_call_with_deps_on_its_own_earlier_tasks() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        let before = s.create_task(&f.team, a, task("before", &[])).unwrap();
        let plan = vec![
            task("parse", &[]),
            task("transform", &["#1", &before.task_id]),
            task("render", &["#2"]),
        ];
        let made = s.create_tasks(&f.team, a, plan).unwrap();
        assert_eq!(made.len(), 3);
        assert_eq!(
            made[1].deps,
            vec![made[0].task_id.clone(), before.task_id.clone()]
        );
        assert_eq!(made[2].deps, vec![made[1].task_id.clone()]);
        assert_eq!(
            ids(&s.ready_tasks(&f.team).unwrap()),
            ids(&[before.clone(), made[0].clone()])
        );
        // A bad reference anywhere refuses the whole plan, naming the task and the dep.
        let all = |s: &Store| s.list_tasks(&f.team, &TaskFilter::default()).unwrap().len();
        let n = all(s);
        for (deps, want) in [("#2", "task 2 of the plan"), ("#0", "`#0`"), ("#x", "`#x`")] {
            let bad = vec![task("ok", &[]), task("bad", &[deps])];
            let err = s.create_tasks(&f.team, a, bad).unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid(m) if m.contains(want) && m.contains("earlier task")),
                "{deps}: {err}"
            );
        }
        let unknown = vec![task("ok", &[]), task("bad", &["tsk-nope"])];
        assert_not_found(s.create_tasks(&f.team, a, unknown), "dependency task");
        assert!(matches!(
            s.create_tasks(&f.team, a, vec![]),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(all(s), n, "a refused plan left nothing behind");
    }

    #[test]
    fn create_errors() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        assert!(
            matches!(s.create_task(&f.team, a, task(" ", &[])), Err(StoreError::Invalid(m)) if m.contains("task title"))
        );
        assert_not_found(
            s.create_task(&f.team, a, task("x", &["tsk-nope"])),
            "dependency task",
        );
        assert!(
            s.list_tasks(&f.team, &TaskFilter::default())
                .unwrap()
                .is_empty(),
            "refused create left nothing"
        );
        assert_not_found(s.create_task(&f.team, &f.outsider, task("x", &[])), "agent");
        assert_not_found(s.create_task("team-nope", a, task("x", &[])), "team");
        // a task of another team is not a valid dependency
        let foreign = s
            .create_task(&f.other_team, &f.outsider, task("f", &[]))
            .unwrap();
        assert_not_found(
            s.create_task(&f.team, a, task("x", &[&foreign.task_id])),
            "dependency task",
        );
        assert_not_found(s.task(&f.team, &foreign.task_id), "task");
        let opts = StoreOptions {
            max_artifact_bytes: 4,
            ..Default::default()
        };
        let small = Fixture::with_options(1, opts);
        let err = small
            .store
            .create_task(&small.team, &small.agents[0], task("long", &[]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooLarge {
                    what: "task description",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn dependency_cycles_are_refused() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        let t1 = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let t2 = s
            .create_task(&f.team, a, task("two", &[&t1.task_id]))
            .unwrap();
        let t3 = s
            .create_task(&f.team, a, task("three", &[&t2.task_id]))
            .unwrap();
        let err = s
            .add_task_dependency(&f.team, &t1.task_id, &t3.task_id)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains("cycle")),
            "{err}"
        );
        let err = s
            .add_task_dependency(&f.team, &t1.task_id, &t1.task_id)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains("cycle")),
            "{err}"
        );
        assert!(s.task(&f.team, &t1.task_id).unwrap().deps.is_empty());

        let t4 = s.create_task(&f.team, a, task("four", &[])).unwrap();
        let t3b = s
            .add_task_dependency(&f.team, &t3.task_id, &t4.task_id)
            .unwrap();
        assert_eq!(t3b.deps, vec![t2.task_id.clone(), t4.task_id.clone()]);
        assert_eq!(t3b.version, 2);
        let same = s
            .add_task_dependency(&f.team, &t3.task_id, &t4.task_id)
            .unwrap();
        assert_eq!(same.version, 2, "an existing edge changes nothing");
        assert_not_found(
            s.add_task_dependency(&f.team, &t3.task_id, "tsk-nope"),
            "dependency task",
        );
        assert_not_found(
            s.add_task_dependency(&f.team, "tsk-nope", &t3.task_id),
            "task",
        );
        s.claim_task(&f.team, Some(&t4.task_id), a, LONG).unwrap();
        let err = s
            .add_task_dependency(&f.team, &t4.task_id, &t1.task_id)
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    }

    #[test]
    fn claim_has_one_holder_and_expired_leases_free_the_task() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let t = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let held = s
            .claim_task(&f.team, Some(&t.task_id), a, Duration::from_millis(250))
            .unwrap();
        assert_eq!(
            (held.status, held.claimed_by.as_deref(), held.version),
            (TaskStatus::Claimed, Some(a.as_str()), 2)
        );
        assert!(held.lease_until.unwrap() > held.updated_at);
        let err = s
            .claim_task(&f.team, Some(&t.task_id), b, LONG)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("claimed by") && m.contains(a.as_str())),
            "{err}"
        );
        assert_not_found(s.claim_task(&f.team, None, b, LONG), "ready task in team");
        assert!(s.ready_tasks(&f.team).unwrap().is_empty());

        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            ids(&s.ready_tasks(&f.team).unwrap()),
            vec![t.task_id.clone()],
            "expired lease is ready"
        );
        let taken = s.claim_task(&f.team, None, b, LONG).unwrap();
        assert_eq!(
            (taken.claimed_by.as_deref(), taken.version),
            (Some(b.as_str()), 3)
        );
        // the old holder lost it: no heartbeat, no update
        assert!(matches!(
            s.heartbeat_task(&f.team, &t.task_id, a, LONG),
            Err(StoreError::Conflict(_))
        ));
        let up = TaskUpdate {
            progress: Some("mine".into()),
            ..Default::default()
        };
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, a, 3, up),
            Err(StoreError::Conflict(_))
        ));
        // the holder claiming again renews its lease
        let again = s.claim_task(&f.team, Some(&t.task_id), b, LONG).unwrap();
        assert_eq!(again.claimed_by.as_deref(), Some(b.as_str()));
    }

    #[test]
    fn heartbeat_extends_the_lease() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let t = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let held = s
            .claim_task(&f.team, Some(&t.task_id), a, Duration::from_millis(30))
            .unwrap();
        let beat = s.heartbeat_task(&f.team, &t.task_id, a, LONG).unwrap();
        assert!(beat.lease_until.unwrap() >= held.lease_until.unwrap() + 50_000);
        assert_eq!(
            beat.version, held.version,
            "a heartbeat is not a content change"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(matches!(
            s.claim_task(&f.team, Some(&t.task_id), b, LONG),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.heartbeat_task(&f.team, &t.task_id, b, LONG),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.heartbeat_task(&f.team, &t.task_id, a, Duration::ZERO),
            Err(StoreError::Invalid(_))
        ));
        assert_not_found(s.heartbeat_task(&f.team, "tsk-nope", a, LONG), "task");
        assert_not_found(
            s.heartbeat_task(&f.team, &t.task_id, &f.outsider, LONG),
            "agent",
        );
    }

    #[test]
    fn update_checks_holder_and_version_then_ends_or_returns_the_task() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let t = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let up = |p: &str| TaskUpdate {
            progress: Some(p.into()),
            ..Default::default()
        };
        assert!(
            matches!(s.update_task(&f.team, &t.task_id, a, 1, up("x")), Err(StoreError::Conflict(m)) if m.contains("open"))
        );
        let held = s.claim_task(&f.team, Some(&t.task_id), a, LONG).unwrap();
        let p = s
            .update_task(&f.team, &t.task_id, a, held.version, up("half"))
            .unwrap();
        assert_eq!(
            (p.progress.as_deref(), p.version, p.status),
            (Some("half"), held.version + 1, TaskStatus::Claimed)
        );
        let err = s
            .update_task(&f.team, &t.task_id, a, held.version, up("stale"))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains(&format!("at version {}", p.version))),
            "{err}"
        );
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, b, p.version, up("not mine")),
            Err(StoreError::Conflict(_))
        ));

        // give it back: open, unclaimed, claimable by someone else
        let back = TaskUpdate {
            status: Some(TaskStatus::Open),
            ..Default::default()
        };
        let o = s
            .update_task(&f.team, &t.task_id, a, p.version, back)
            .unwrap();
        assert_eq!(
            (
                o.status,
                o.claimed_by.clone(),
                o.lease_until,
                o.progress.as_deref()
            ),
            (TaskStatus::Open, None, None, Some("half"))
        );
        let hb = s.claim_task(&f.team, Some(&t.task_id), b, LONG).unwrap();

        // finish with a result artifact: newest version recorded when none is named
        let art = s
            .publish_artifact(
                &f.team,
                b,
                NewArtifact {
                    name: "patch".into(),
                    content: "diff".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let fin = TaskUpdate {
            status: Some(TaskStatus::Failed),
            result_artifact: Some(art.artifact_id.clone()),
            ..Default::default()
        };
        let end = s
            .update_task(&f.team, &t.task_id, b, hb.version, fin)
            .unwrap();
        assert_eq!(
            (end.status, end.claimed_by.as_deref(), end.lease_until),
            (TaskStatus::Failed, Some(b.as_str()), None)
        );
        assert_eq!(
            (end.result_artifact.as_deref(), end.result_version),
            (Some(art.artifact_id.as_str()), Some(1))
        );
        assert!(
            matches!(s.claim_task(&f.team, Some(&t.task_id), a, LONG), Err(StoreError::Conflict(m)) if m.contains("failed"))
        );
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, b, end.version, up("late")),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn update_errors() {
        let f = Fixture::with_options(
            1,
            StoreOptions {
                max_body_bytes: 10,
                ..Default::default()
            },
        );
        let (s, a) = (&f.store, &f.agents[0]);
        let t = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let held = s.claim_task(&f.team, Some(&t.task_id), a, LONG).unwrap();
        let v = held.version;
        let claimed = TaskUpdate {
            status: Some(TaskStatus::Claimed),
            ..Default::default()
        };
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, a, v, claimed),
            Err(StoreError::Invalid(_))
        ));
        let orphan_version = TaskUpdate {
            result_version: Some(1),
            ..Default::default()
        };
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, a, v, orphan_version),
            Err(StoreError::Invalid(_))
        ));
        let long = TaskUpdate {
            progress: Some("x".repeat(11)),
            ..Default::default()
        };
        assert!(matches!(
            s.update_task(&f.team, &t.task_id, a, v, long),
            Err(StoreError::TooLarge {
                what: "task progress",
                ..
            })
        ));
        let ghost = TaskUpdate {
            result_artifact: Some("art-nope".into()),
            ..Default::default()
        };
        assert_not_found(s.update_task(&f.team, &t.task_id, a, v, ghost), "artifact");
        let foreign = s
            .publish_artifact(
                &f.other_team,
                &f.outsider,
                NewArtifact {
                    name: "theirs".into(),
                    content: "c".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let foreign_result = TaskUpdate {
            result_artifact: Some(foreign.artifact_id),
            ..Default::default()
        };
        assert_not_found(
            s.update_task(&f.team, &t.task_id, a, v, foreign_result),
            "artifact",
        );
        let art = s
            .publish_artifact(
                &f.team,
                a,
                NewArtifact {
                    name: "r".into(),
                    content: "c".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let bad_v = TaskUpdate {
            result_artifact: Some(art.artifact_id.clone()),
            result_version: Some(2),
            ..Default::default()
        };
        assert_not_found(
            s.update_task(&f.team, &t.task_id, a, v, bad_v),
            "artifact version",
        );
        assert_not_found(
            s.update_task(&f.team, "tsk-nope", a, v, TaskUpdate::default()),
            "task",
        );
        assert_not_found(
            s.update_task(&f.team, &t.task_id, &f.outsider, v, TaskUpdate::default()),
            "agent",
        );
        assert_eq!(
            s.task(&f.team, &t.task_id).unwrap().version,
            v,
            "nothing changed"
        );
    }

    #[test]
    fn claim_errors() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        let t = s.create_task(&f.team, a, task("one", &[])).unwrap();
        assert!(matches!(
            s.claim_task(&f.team, Some(&t.task_id), a, Duration::ZERO),
            Err(StoreError::Invalid(_))
        ));
        assert_not_found(s.claim_task(&f.team, Some("tsk-nope"), a, LONG), "task");
        assert_not_found(
            s.claim_task(&f.team, Some(&t.task_id), &f.outsider, LONG),
            "agent",
        );
        // another team's claimant cannot reach this task through its own team either
        assert_not_found(
            s.claim_task(&f.other_team, Some(&t.task_id), &f.outsider, LONG),
            "task",
        );
        assert_not_found(s.claim_task("team-nope", None, a, LONG), "team");
    }

    #[test]
    fn list_filters() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let t1 = s.create_task(&f.team, a, task("one", &[])).unwrap();
        let t2 = s.create_task(&f.team, a, task("two", &[])).unwrap();
        let t3 = s
            .create_task(&f.team, a, task("three", &[&t1.task_id]))
            .unwrap();
        s.create_task(&f.other_team, &f.outsider, task("foreign", &[]))
            .unwrap();
        s.claim_task(&f.team, Some(&t2.task_id), b, LONG).unwrap();
        let all = s.list_tasks(&f.team, &TaskFilter::default()).unwrap();
        assert_eq!(ids(&all), ids(&[t1.clone(), t2.clone(), t3.clone()]));
        assert_eq!(all[2].deps, vec![t1.task_id.clone()]);
        let open = TaskFilter {
            status: Some(TaskStatus::Open),
            ..Default::default()
        };
        assert_eq!(
            ids(&s.list_tasks(&f.team, &open).unwrap()),
            ids(&[t1.clone(), t3.clone()])
        );
        let by_b = TaskFilter {
            claimed_by: Some(b.clone()),
            ..Default::default()
        };
        assert_eq!(
            ids(&s.list_tasks(&f.team, &by_b).unwrap()),
            ids(std::slice::from_ref(&t2))
        );
        let ready_open = TaskFilter {
            status: Some(TaskStatus::Open),
            ready_only: true,
            ..Default::default()
        };
        assert_eq!(
            ids(&s.list_tasks(&f.team, &ready_open).unwrap()),
            ids(&[t1])
        );
        assert_not_found(s.list_tasks("team-nope", &TaskFilter::default()), "team");
        assert_not_found(s.ready_tasks("team-nope"), "team");
    }
}

#[cfg(test)]
mod release_tests {
    use crate::testutil::*;
    use crate::{NewTask, TaskStatus, TaskUpdate};
    use std::time::Duration;

    /// A dead worker's claims go back to the board at once; a new claimant gets them;
    /// other agents' claims and finished tasks are untouched.
    #[test]
    fn release_claims_hands_back_only_that_agents_open_claims() {
        let f = Fixture::new(2);
        let (store, team) = (&f.store, &f.team);
        let (worker, other) = (&f.agents[0], &f.agents[1]);
        let mk = |t: &str| {
            store
                .create_task(
                    team,
                    worker,
                    NewTask {
                        title: t.into(),
                        ..Default::default()
                    },
                )
                .unwrap()
                .task_id
        };
        let (a, b, c) = (mk("a"), mk("b"), mk("c"));
        let lease = Duration::from_secs(900);
        store.claim_task(team, Some(&a), worker, lease).unwrap();
        let tb = store.claim_task(team, Some(&b), worker, lease).unwrap();
        store.claim_task(team, Some(&c), other, lease).unwrap();
        store
            .update_task(
                team,
                &b,
                worker,
                tb.version,
                TaskUpdate {
                    status: Some(TaskStatus::Done),
                    ..Default::default()
                },
            )
            .unwrap();
        let released = store.release_claims(team, worker, "worker died").unwrap();
        assert_eq!(released, vec![a.clone()]);
        let ta = store.task(team, &a).unwrap();
        assert_eq!(ta.status, TaskStatus::Open);
        assert_eq!(ta.claimed_by, None);
        assert_eq!(store.task(team, &b).unwrap().status, TaskStatus::Done);
        assert_eq!(
            store.task(team, &c).unwrap().claimed_by.as_deref(),
            Some(other.as_str())
        );
        let again = store.claim_task(team, Some(&a), other, lease).unwrap();
        assert_eq!(again.claimed_by.as_deref(), Some(other.as_str()));
        assert!(store.release_claims(team, &f.outsider, "x").is_err());
    }
}
