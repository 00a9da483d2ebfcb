//! The tool handlers. Each is thin: check who is calling, run one closure on the store pool,
//! map the result; errors become MCP errors through [`crate::errors`], nothing panics.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_teams_store::{
    AgentState, Artifact, ArtifactRef, Decision, DecisionRecord, Delivery, NewAgent, NewArtifact,
    NewCandidate, NewDecision, NewTask, NewTeam, Recipient, StoreError, Strategy, Task, TaskFilter,
    TaskStatus, TaskUpdate, TeamStatus,
};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

use crate::errors::{forbidden, invalid, not_your_tool};
use crate::handoff;
use crate::hub::{Caller, TeamHub};
use crate::logging::{MAX_LOGGED_BYTES, bounded};
use crate::redact::{preview, redact_json};
use crate::runtime::SpawnRequest;
use crate::tool_names::is_lead_only;
use crate::types::*;

/// Tracing target of bus, task and artifact events (one event per exchange).
pub const EVENT_TARGET: &str = "codex_teams::bus";

/// How big a body preview a log line carries (redacted first).
const PREVIEW_CHARS: usize = 80;

/// Where a session's caller identity comes from.
#[derive(Clone)]
enum Identity {
    /// Per request, from the `Caller` the HTTP auth layer put in the request's extensions.
    Http,
    /// The stdio session's lead, set by `team_start` or at startup.
    Stdio {
        lead: Arc<Mutex<Option<Caller>>>,
        start: Arc<tokio::sync::Mutex<()>>,
    },
}

/// One MCP session's server: the shared hub plus how this session learns its caller.
#[derive(Clone)]
pub struct TeamServer {
    hub: Arc<TeamHub>,
    identity: Identity,
    tool_router: ToolRouter<TeamServer>,
}

impl std::fmt::Debug for TeamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamServer").finish_non_exhaustive()
    }
}

fn task_state(t: &Task, ready: &HashSet<String>) -> TaskState {
    match t.status {
        TaskStatus::Open if ready.contains(&t.task_id) => TaskState::Ready,
        TaskStatus::Open => TaskState::Open,
        TaskStatus::Claimed if ready.contains(&t.task_id) => TaskState::Ready,
        TaskStatus::Claimed => TaskState::Claimed,
        TaskStatus::Done => TaskState::Done,
        TaskStatus::Failed => TaskState::Failed,
    }
}

fn task_out(t: Task, state: TaskState, with_description: bool) -> TaskOut {
    TaskOut {
        id: t.task_id,
        title: t.title,
        status: state,
        v: t.version,
        description: (with_description && !t.description.is_empty()).then_some(t.description),
        role: t.role,
        deps: t.deps,
        by: t.claimed_by,
        progress: t.progress,
        artifact: t.result_artifact,
        artifact_v: t.result_version,
    }
}

fn artifact_ref_out(r: ArtifactRef) -> ArtifactRefOut {
    ArtifactRefOut {
        id: r.artifact_id,
        name: r.name,
        v: r.version,
        sha256: r.sha256,
        size: r.size,
        summary: r.summary,
        author: r.author,
    }
}

fn message_out(d: Delivery) -> MessageOut {
    MessageOut {
        id: d.message_id,
        from: d.from_agent,
        body: d.body,
        n: d.attempts,
    }
}

fn strategy_of(s: StrategyArg) -> Strategy {
    match s {
        StrategyArg::Consensus => Strategy::Consensus,
        StrategyArg::Lead => Strategy::Lead,
        StrategyArg::StrictVote => Strategy::StrictVote,
    }
}

fn strategy_arg(s: Strategy) -> StrategyArg {
    match s {
        Strategy::Consensus => StrategyArg::Consensus,
        Strategy::Lead => StrategyArg::Lead,
        Strategy::StrictVote => StrategyArg::StrictVote,
    }
}

fn decision_out(d: Decision, candidates: Vec<CandidateOut>, votes: Vec<BallotOut>) -> DecisionOut {
    DecisionOut {
        id: d.decision_id,
        question: d.question,
        strategy: strategy_arg(d.strategy),
        status: d.status.as_str().to_string(),
        voters: d.voters,
        candidates,
        votes,
        winner: d.winner,
        reason: d.reason,
        rationale: d.rationale,
    }
}

fn record_out(r: DecisionRecord) -> DecisionOut {
    let candidates = r
        .candidates
        .into_iter()
        .map(|c| CandidateOut {
            votes: r
                .tally
                .iter()
                .find(|t| t.candidate_id == c.candidate_id)
                .map_or(0, |t| t.votes),
            id: c.candidate_id,
            by: c.proposer,
            summary: c.summary,
            artifact: c.artifact_id,
            artifact_v: c.artifact_version,
        })
        .collect();
    let votes = r
        .votes
        .into_iter()
        .map(|v| BallotOut {
            by: v.voter,
            choice: v.candidate_id,
            comment: v.comment,
        })
        .collect();
    decision_out(r.decision, candidates, votes)
}

/// The live model slug Codex puts in every tool call's `_meta` (codex-facts §4). Accepts the
/// metadata as an object or as a JSON string.
fn model_from_meta(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let md = ctx.meta.get("x-codex-turn-metadata")?;
    let md = match md {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    md.get("model")?
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_string)
}

fn log_deliveries(caller: &Caller, deliveries: &[Delivery], via: &str) {
    for d in deliveries {
        tracing::info!(
            target: EVENT_TARGET,
            event = "message.delivered",
            via,
            team_id = %caller.team_id,
            agent_id = %caller.agent_id,
            message_id = %d.message_id,
            from_agent = %d.from_agent,
            attempts = d.attempts,
        );
    }
}

#[tool_router]
impl TeamServer {
    /// A server whose callers are authenticated per request by [`crate::http`].
    pub fn http(hub: Arc<TeamHub>) -> TeamServer {
        TeamServer {
            hub,
            identity: Identity::Http,
            tool_router: Self::compact_router(),
        }
    }

    /// A stdio session's server: its caller is `lead` (an existing team's lead), or nobody
    /// until `team_start`.
    pub fn stdio(hub: Arc<TeamHub>, lead: Option<Caller>) -> TeamServer {
        TeamServer {
            hub,
            identity: Identity::Stdio {
                lead: Arc::new(Mutex::new(lead)),
                start: Arc::new(tokio::sync::Mutex::new(())),
            },
            tool_router: Self::compact_router(),
        }
    }

    /// Every tool with its schemas, as the router lists them (for `mcp/schemas/`).
    pub fn tools() -> Vec<rmcp::model::Tool> {
        Self::compact_router().list_all()
    }

    /// The macro-built router with input schemas compacted (they are sent to the model with
    /// every request).
    fn compact_router() -> ToolRouter<TeamServer> {
        let mut router = Self::tool_router();
        for route in router.map.values_mut() {
            let mut schema = (*route.attr.input_schema).clone();
            crate::schema_compact::compact_input_schema(&mut schema);
            route.attr.input_schema = Arc::new(schema);
            if let Some(out) = &route.attr.output_schema {
                let mut out = (**out).clone();
                out.remove("$schema");
                route.attr.output_schema = Some(Arc::new(out));
            }
        }
        router
    }

    fn session_caller(&self, ctx: &RequestContext<RoleServer>) -> Option<Caller> {
        match &self.identity {
            Identity::Http => ctx
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<Caller>())
                .cloned(),
            Identity::Stdio { lead, .. } => lead.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
        self.session_caller(ctx).ok_or_else(|| match self.identity {
            Identity::Http => forbidden("no caller identity: this endpoint needs a bearer token"),
            Identity::Stdio { .. } => forbidden("no team yet: call team_start first"),
        })
    }

    fn lead(&self, ctx: &RequestContext<RoleServer>, tool: &str) -> Result<Caller, ErrorData> {
        let c = self.caller(ctx)?;
        if !c.is_lead() {
            return Err(forbidden(format!(
                "{tool} is lead-only; you are agent {} with role {}",
                c.agent_id, c.role
            )));
        }
        Ok(c)
    }

    // ------------------------------------------------------------ team

    #[tool(description = "Start a team with you as lead. Stdio sessions only.")]
    async fn team_start(
        &self,
        Parameters(a): Parameters<TeamStartArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TeamStartOut>, ErrorData> {
        let Identity::Stdio { lead, start } = &self.identity else {
            let who = self
                .session_caller(&ctx)
                .map(|c| format!("; you are agent {} of team {}", c.agent_id, c.team_id))
                .unwrap_or_default();
            return Err(forbidden(format!(
                "team_start is only for a stdio session without a team{who}"
            )));
        };
        let _one_at_a_time = start.lock().await;
        if a.goal.trim().is_empty() {
            return Err(invalid("goal is empty"));
        }
        let current = lead.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(c) = current {
            let team_id = c.team_id.clone();
            let team = self.hub.with_store(move |s| s.team(&team_id)).await?;
            if team.status == TeamStatus::Running {
                return Err(forbidden(format!(
                    "this session already leads running team {}; call team_finalize first",
                    c.team_id
                )));
            }
        }
        let cwd = match a.cwd {
            Some(c) if !c.trim().is_empty() => c,
            _ => std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| ".".into()),
        };
        let model = model_from_meta(&ctx);
        let new = NewTeam {
            goal: a.goal,
            cwd,
            profile: a.profile.unwrap_or_else(|| "default".into()),
            config: match &model {
                Some(m) => json!({ "lead_model": m }),
                None => json!({}),
            },
        };
        let (team, minted) = self.hub.start_team(new, LEAD_ROLE).await?;
        let me = Caller::of(&minted.agent);
        *lead.lock().unwrap_or_else(|p| p.into_inner()) = Some(me.clone());
        self.hub
            .runtime
            .team_started(&team.team_id, &me.agent_id)
            .await;
        tracing::info!(
            target: EVENT_TARGET,
            event = "team.started",
            team_id = %team.team_id,
            agent_id = %me.agent_id,
            model = model.as_deref().unwrap_or(""),
        );
        Ok(Json(TeamStartOut {
            team_id: team.team_id,
            agent_id: me.agent_id,
        }))
    }

    #[tool(description = "Your team: agents, task counts, artifacts, your unread messages.")]
    async fn team_status(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TeamStatusOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let (team, agents, tasks, ready, artifacts, inbox) = self
            .hub
            .with_store(move |s| {
                let t = &cc.team_id;
                Ok((
                    s.team(t)?,
                    s.list_agents(t)?,
                    s.list_tasks(t, &TaskFilter::default())?,
                    s.ready_tasks(t)?,
                    s.list_artifacts(t)?,
                    s.pending_count(t, &cc.agent_id)?,
                ))
            })
            .await?;
        let ready: HashSet<String> = ready.into_iter().map(|t| t.task_id).collect();
        let mut counts = TaskCounts::default();
        for t in &tasks {
            match task_state(t, &ready) {
                TaskState::Open => counts.open += 1,
                TaskState::Ready => counts.ready += 1,
                TaskState::Claimed => counts.claimed += 1,
                TaskState::Done => counts.done += 1,
                TaskState::Failed => counts.failed += 1,
            }
        }
        Ok(Json(TeamStatusOut {
            team_id: team.team_id,
            goal: team.goal,
            status: team.status.as_str().to_string(),
            me: c.agent_id,
            agents: agents
                .into_iter()
                .map(|a| AgentOut {
                    id: a.agent_id,
                    name: a.name,
                    role: a.role,
                    state: a.state.as_str().to_string(),
                })
                .collect(),
            tasks: counts,
            artifacts: artifacts.len(),
            inbox,
        }))
    }

    #[tool(description = "Lead only: end the team and stop its workers.")]
    async fn team_finalize(
        &self,
        Parameters(a): Parameters<TeamFinalizeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TeamFinalizeOut>, ErrorData> {
        let c = self.lead(&ctx, "team_finalize")?;
        let outcome = a.outcome.unwrap_or(Outcome::Done);
        let status = match outcome {
            Outcome::Done => TeamStatus::Finalized,
            Outcome::Failed => TeamStatus::Failed,
        };
        let cc = c.clone();
        let summary = a.summary.unwrap_or_default();
        let team = self
            .hub
            .with_store(move |s| {
                // One transaction checks and moves the status: of two finalizes, one wins.
                let team = s
                    .set_team_status_if(&cc.team_id, TeamStatus::Running, status)
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => match s.team(&cc.team_id) {
                            Ok(t) => StoreError::Conflict(format!(
                                "team {} is already {}",
                                t.team_id,
                                t.status.as_str()
                            )),
                            Err(e) => e,
                        },
                        other => other,
                    })?;
                s.append_event(
                    &cc.team_id,
                    Some(&cc.agent_id),
                    "team.finalized",
                    &json!({ "outcome": outcome, "summary": summary }),
                )?;
                Ok(team)
            })
            .await?;
        self.hub.runtime.finalized(&c.team_id);
        tracing::info!(
            target: EVENT_TARGET,
            event = "team.finalized",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            status = team.status.as_str(),
        );
        Ok(Json(TeamFinalizeOut {
            team_id: team.team_id,
            status: team.status.as_str().to_string(),
        }))
    }

    #[tool(
        description = "Lead only: start a worker on a brief. Returns at once; the worker starts when a slot is free."
    )]
    async fn team_spawn(
        &self,
        Parameters(a): Parameters<TeamSpawnArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TeamSpawnOut>, ErrorData> {
        let c = self.lead(&ctx, "team_spawn")?;
        if a.brief.trim().is_empty() {
            return Err(invalid("brief is empty"));
        }
        if a.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(invalid("name is empty"));
        }
        let spawn_task =
            handoff::spawn_task(&c.agent_id, a.role, a.task_id.clone(), a.task).map_err(invalid)?;
        let files_task = matches!(spawn_task, handoff::SpawnTask::New { .. });
        let model = model_from_meta(&ctx);
        let role = a.role.as_str();
        // The policy decides the role's tools once, here; the agent row keeps them and every
        // later call of that agent is checked against them. Lead-only tools never reach a
        // worker, whatever the policy says.
        let tools = self.hub.runtime.role_tools(role).map(|mut list| {
            list.retain(|t| !is_lead_only(t));
            list
        });
        let cc = c.clone();
        let (brief, name, m) = (a.brief.clone(), a.name.clone(), model.clone());
        let lease = self.hub.opts.task_lease;
        let (minted, handoff) = self
            .hub
            .with_store(move |s| {
                let team = s.team(&cc.team_id)?;
                if team.status != TeamStatus::Running {
                    return Err(StoreError::Conflict(format!(
                        "team {} is {}; no new workers",
                        team.team_id,
                        team.status.as_str()
                    )));
                }
                // Without a name, the store numbers it (`implementer-2`) in the insert's
                // own transaction: concurrent spawns of one role never share a name.
                let register = match name {
                    Some(_) => crate::hub::register_agent,
                    None => crate::hub::register_numbered_agent,
                };
                let new = NewAgent {
                    name: name.unwrap_or_else(|| role.to_string()),
                    role: role.to_string(),
                    model: m,
                    brief,
                    token_hash: None,
                    tools,
                };
                let minted = register(s, &cc.team_id, new)?;
                let id = minted.agent.agent_id.clone();
                match handoff::at_spawn(s, &cc.team_id, &id, role, spawn_task, lease) {
                    Ok(h) => Ok((minted, h)),
                    Err(e) => {
                        s.set_agent_state(&cc.team_id, &id, AgentState::Failed, None, None)?;
                        Err(e)
                    }
                }
            })
            .await?;
        let agent = minted.agent.clone();
        if files_task {
            self.hub.board_changed(&agent.team_id);
        }
        let req = SpawnRequest {
            team_id: agent.team_id.clone(),
            agent_id: agent.agent_id.clone(),
            role: agent.role.clone(),
            name: agent.name.clone(),
            brief: handoff::brief_with(&agent.brief, &handoff),
            token: minted.token,
            model,
        };
        if let Err(err) = self.hub.runtime.spawn(req).await {
            let why = crate::errors::with_causes(&err);
            let (t, id) = (agent.team_id.clone(), agent.agent_id.clone());
            let _ = self
                .hub
                .with_store(move |s| {
                    // A task claimed for it goes back to the board.
                    s.release_claims(&t, &id, "its spawn was refused")?;
                    s.set_agent_state(&t, &id, AgentState::Failed, None, None)
                })
                .await;
            tracing::warn!(
                target: EVENT_TARGET,
                event = "agent.spawn_refused",
                team_id = %agent.team_id,
                agent_id = %agent.agent_id,
                reason = %crate::redact::redact_str(&why),
            );
            return Err(ErrorData::new(
                crate::errors::codes::CONFLICT,
                format!("spawn of {} refused: {why}", agent.agent_id),
                Some(json!({ "error": "spawn_refused" })),
            ));
        }
        tracing::info!(
            target: EVENT_TARGET,
            event = "agent.spawned",
            team_id = %agent.team_id,
            agent_id = %c.agent_id,
            spawned_agent_id = %agent.agent_id,
            role = %agent.role,
            model = agent.model.as_deref().unwrap_or(""),
        );
        Ok(Json(TeamSpawnOut {
            agent_id: agent.agent_id,
            name: agent.name,
            state: agent.state.as_str().to_string(),
            task_id: handoff.task.map(|t| t.task_id),
        }))
    }

    // ------------------------------------------------------------ bus

    #[tool(description = "Send a message to one agent (id or \"lead\").")]
    async fn team_send(
        &self,
        Parameters(a): Parameters<SendArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let key = a.key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let cc = c.clone();
        let (to, body) = (a.to, a.body);
        let bytes = body.len();
        let body_preview = crate::logging::log_bodies().then(|| preview(&body, PREVIEW_CHARS));
        let (to, out) = self
            .hub
            .with_store(move |s| {
                let to = if to == LEAD_ROLE {
                    s.list_agents(&cc.team_id)?
                        .into_iter()
                        .find(|a| a.role == LEAD_ROLE)
                        .map(|a| a.agent_id)
                        .ok_or_else(|| StoreError::NotFound {
                            kind: "agent",
                            id: LEAD_ROLE.into(),
                        })?
                } else {
                    to
                };
                let out = s.send(
                    &cc.team_id,
                    &cc.agent_id,
                    Recipient::Agent(to.clone()),
                    &body,
                    &key,
                )?;
                Ok((to, out))
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "message.sent",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            to_agent = %to,
            message_id = %out.message_id,
            created = out.created,
            bytes,
            preview = body_preview.as_deref(),
        );
        if out.created {
            self.hub.message_arrived(&c.team_id, &to);
        }
        Ok(Json(SendOut {
            message_id: out.message_id,
            created: out.created,
            recipients: out.recipients,
        }))
    }

    #[tool(description = "Send a message to every other agent of the team.")]
    async fn team_broadcast(
        &self,
        Parameters(a): Parameters<BroadcastArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let key = a.key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let cc = c.clone();
        let body = a.body;
        let bytes = body.len();
        let body_preview = crate::logging::log_bodies().then(|| preview(&body, PREVIEW_CHARS));
        let (out, others) = self
            .hub
            .with_store(move |s| {
                let out = s.send(&cc.team_id, &cc.agent_id, Recipient::Broadcast, &body, &key)?;
                let others: Vec<String> = s
                    .list_agents(&cc.team_id)?
                    .into_iter()
                    .map(|a| a.agent_id)
                    .filter(|id| *id != cc.agent_id)
                    .collect();
                Ok((out, others))
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "message.broadcast",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            message_id = %out.message_id,
            created = out.created,
            recipients = out.recipients,
            bytes,
            preview = body_preview.as_deref(),
        );
        if out.created {
            for id in &others {
                self.hub.message_arrived(&c.team_id, id);
            }
        }
        Ok(Json(SendOut {
            message_id: out.message_id,
            created: out.created,
            recipients: out.recipients,
        }))
    }

    #[tool(
        description = "Take your waiting messages (oldest first). Ack each once handled, or it comes back."
    )]
    async fn team_pull_inbox(
        &self,
        Parameters(a): Parameters<PullArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<InboxOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let max = match a.max {
            None => 20,
            Some(0) => return Err(invalid("max must be at least 1")),
            Some(n) => n.min(100) as usize,
        };
        let cc = c.clone();
        let lease = self.hub.opts.pull_lease;
        let deliveries = self
            .hub
            .with_store(move |s| s.pull_inbox(&cc.team_id, &cc.agent_id, max, lease))
            .await?;
        log_deliveries(&c, &deliveries, "pull");
        Ok(Json(InboxOut {
            messages: deliveries.into_iter().map(message_out).collect(),
        }))
    }

    #[tool(description = "Acknowledge handled messages so they are not redelivered.")]
    async fn team_ack(
        &self,
        Parameters(a): Parameters<AckArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<AckOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        if a.ids.is_empty() {
            return Err(invalid("ids is empty"));
        }
        let cc = c.clone();
        let ids = a.ids.clone();
        let acked = self
            .hub
            .with_store(move |s| s.ack(&cc.team_id, &cc.agent_id, &ids))
            .await?;
        for id in &a.ids {
            tracing::info!(
                target: EVENT_TARGET,
                event = "message.acked",
                team_id = %c.team_id,
                agent_id = %c.agent_id,
                message_id = %id,
            );
        }
        Ok(Json(AckOut { acked }))
    }

    #[tool(
        description = "Block until a message or a task-board change arrives for you, or timeout. Returns messages like team_pull_inbox."
    )]
    async fn team_wait(
        &self,
        Parameters(a): Parameters<WaitArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<WaitOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let timeout = a
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.hub.opts.wait_default)
            .min(self.hub.opts.wait_max);
        let found = tokio::select! {
            r = self.hub.wait(&c, timeout, 20) => r?,
            _ = ctx.ct.cancelled() => return Err(invalid("team_wait cancelled by the client")),
        };
        log_deliveries(&c, &found.messages, "wait");
        let timed_out = found.messages.is_empty() && found.tasks.is_empty();
        Ok(Json(WaitOut {
            messages: found.messages.into_iter().map(message_out).collect(),
            tasks: found.tasks,
            timed_out,
        }))
    }

    // ------------------------------------------------------------ tasks

    #[tool(
        description = "File several tasks at once (all or none), in order; a dep may be `#N`, the N-th task of this call. Returns them in order."
    )]
    async fn task_plan(
        &self,
        Parameters(a): Parameters<TaskPlanArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TaskListOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        if a.tasks.len() > MAX_PLAN_TASKS {
            return Err(invalid(format!(
                "tasks: {} tasks in one plan; at most {MAX_PLAN_TASKS}",
                a.tasks.len()
            )));
        }
        let new: Vec<NewTask> = a
            .tasks
            .into_iter()
            .map(|t| NewTask {
                title: t.title,
                description: t.description.unwrap_or_default(),
                role: t.role.map(|r| r.as_str().to_string()),
                deps: t.deps,
            })
            .collect();
        let cc = c.clone();
        let (made, ready) = self
            .hub
            .with_store(move |s| {
                let made = s.create_tasks(&cc.team_id, &cc.agent_id, new)?;
                let ready: HashSet<String> = s
                    .ready_tasks(&cc.team_id)?
                    .into_iter()
                    .map(|r| r.task_id)
                    .collect();
                Ok((made, ready))
            })
            .await?;
        for t in &made {
            tracing::info!(
                target: EVENT_TARGET,
                event = "task.created",
                team_id = %c.team_id,
                agent_id = %c.agent_id,
                task_id = %t.task_id,
                deps = t.deps.len(),
            );
        }
        self.hub.board_changed(&c.team_id);
        let tasks = made
            .into_iter()
            .map(|t| {
                let state = task_state(&t, &ready);
                task_out(t, state, false)
            })
            .collect();
        Ok(Json(TaskListOut { tasks }))
    }

    #[tool(description = "Add a task to the board; it is ready when all deps are done.")]
    async fn task_create(
        &self,
        Parameters(a): Parameters<TaskCreateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TaskOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let new = NewTask {
            title: a.title,
            description: a.description.unwrap_or_default(),
            role: a.role.map(|r| r.as_str().to_string()),
            deps: a.deps,
        };
        let (task, ready) = self
            .hub
            .with_store(move |s| {
                let t = s.create_task(&cc.team_id, &cc.agent_id, new)?;
                let ready = s
                    .ready_tasks(&cc.team_id)?
                    .into_iter()
                    .any(|r| r.task_id == t.task_id);
                Ok((t, ready))
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "task.created",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            task_id = %task.task_id,
            deps = task.deps.len(),
        );
        self.hub.board_changed(&c.team_id);
        let state = if ready {
            TaskState::Ready
        } else {
            TaskState::Open
        };
        Ok(Json(task_out(task, state, false)))
    }

    #[tool(
        description = "Claim a ready task (default: oldest ready). You hold it while you update it."
    )]
    async fn task_claim(
        &self,
        Parameters(a): Parameters<TaskClaimArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TaskOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let lease = self.hub.opts.task_lease;
        let task = self
            .hub
            .with_store(move |s| {
                s.claim_task(&cc.team_id, a.task_id.as_deref(), &cc.agent_id, lease)
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "task.claimed",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            task_id = %task.task_id,
        );
        Ok(Json(task_out(task, TaskState::Claimed, true)))
    }

    #[tool(
        description = "Update a task you hold: progress, result artifact, status done/failed/open. next=true with done/failed claims your next ready task."
    )]
    async fn task_update(
        &self,
        Parameters(a): Parameters<TaskUpdateArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TaskUpdateOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        if a.artifact_v.is_some() && a.artifact.is_none() {
            return Err(invalid("artifact_v given without artifact"));
        }
        let cc = c.clone();
        let lease = self.hub.opts.task_lease;
        let set = a.status;
        let update = TaskUpdate {
            progress: a.progress,
            status: set.map(|s| match s {
                SetStatus::Open => TaskStatus::Open,
                SetStatus::Done => TaskStatus::Done,
                SetStatus::Failed => TaskStatus::Failed,
            }),
            result_artifact: a.artifact,
            result_version: a.artifact_v,
        };
        let task_id = a.task_id;
        let expected = a.v;
        let want_next = a.next
            && !c.is_lead()
            && matches!(set, Some(SetStatus::Done) | Some(SetStatus::Failed));
        let role = c.role.clone();
        let (task, ready, next) = self
            .hub
            .with_store(move |s| {
                let v = match expected {
                    Some(v) => v,
                    None => s.task(&cc.team_id, &task_id)?.version,
                };
                let mut t = s.update_task(&cc.team_id, &task_id, &cc.agent_id, v, update)?;
                if t.status == TaskStatus::Claimed {
                    t = s.heartbeat_task(&cc.team_id, &task_id, &cc.agent_id, lease)?;
                }
                let next = match want_next {
                    true => handoff::claim_next(s, &cc.team_id, &cc.agent_id, &role, lease)?,
                    false => None,
                };
                let ready: HashSet<String> = s
                    .ready_tasks(&cc.team_id)?
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect();
                Ok((t, ready, next))
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "task.updated",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            task_id = %task.task_id,
            version = task.version,
            artifact_id = task.result_artifact.as_deref().unwrap_or(""),
        );
        if set.is_some() {
            self.hub.board_changed(&c.team_id);
        }
        if let Some(n) = &next {
            tracing::info!(target: EVENT_TARGET, event = "task.claimed", team_id = %c.team_id, agent_id = %c.agent_id, task_id = %n.task_id, via = "task_update");
        }
        let state = task_state(&task, &ready);
        Ok(Json(TaskUpdateOut {
            task: task_out(task, state, false),
            note: (want_next && next.is_none()).then(|| handoff::END_TURN.to_string()),
            next: next.map(|n| task_out(n, TaskState::Claimed, true)),
        }))
    }

    #[tool(description = "List the task board (without descriptions).")]
    async fn task_list(
        &self,
        Parameters(a): Parameters<TaskListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TaskListOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let filter = TaskFilter {
            status: match a.status {
                None | Some(TaskState::Ready) => None,
                Some(TaskState::Open) => Some(TaskStatus::Open),
                Some(TaskState::Claimed) => Some(TaskStatus::Claimed),
                Some(TaskState::Done) => Some(TaskStatus::Done),
                Some(TaskState::Failed) => Some(TaskStatus::Failed),
            },
            claimed_by: a.mine.then(|| c.agent_id.clone()),
            ready_only: a.status == Some(TaskState::Ready),
        };
        let (tasks, ready) = self
            .hub
            .with_store(move |s| {
                let tasks = s.list_tasks(&cc.team_id, &filter)?;
                let ready: HashSet<String> = s
                    .ready_tasks(&cc.team_id)?
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect();
                Ok((tasks, ready))
            })
            .await?;
        let tasks = tasks
            .into_iter()
            .map(|t| {
                let st = task_state(&t, &ready);
                task_out(t, st, false)
            })
            .filter(|t| a.status.is_none_or(|want| want == t.status))
            .collect();
        Ok(Json(TaskListOut { tasks }))
    }

    // ------------------------------------------------------------ artifacts

    #[tool(
        description = "Publish a new version of a named artifact. Returns its reference; share that, not the content."
    )]
    async fn artifact_publish(
        &self,
        Parameters(a): Parameters<ArtifactPublishArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ArtifactRefOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let new = NewArtifact {
            name: a.name,
            content: a.content,
            summary: a.summary,
            parent_version: a.parent,
        };
        let r = self
            .hub
            .with_store(move |s| s.publish_artifact(&cc.team_id, &cc.agent_id, new))
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "artifact.published",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            artifact_id = %r.artifact_id,
            version = r.version,
            sha256 = %r.sha256,
            size = r.size,
        );
        Ok(Json(artifact_ref_out(r)))
    }

    #[tool(description = "Read one artifact version with its content.")]
    async fn artifact_read(
        &self,
        Parameters(a): Parameters<ArtifactReadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ArtifactOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let Artifact { meta, content } = self
            .hub
            .with_store(move |s| {
                let art = if a.artifact_id.starts_with("art-") {
                    s.read_artifact(&cc.team_id, &a.artifact_id, a.v)?
                } else {
                    s.read_artifact_by_name(&cc.team_id, &a.artifact_id, a.v)?
                };
                s.record_artifact_read(&cc.team_id, &cc.agent_id, &art.meta)?;
                Ok(art)
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "artifact.read",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            artifact_id = %meta.artifact_id,
            version = meta.version,
            author = %meta.author,
        );
        Ok(Json(ArtifactOut {
            meta: artifact_ref_out(meta),
            content,
        }))
    }

    #[tool(description = "List the team's artifacts (newest version of each, no content).")]
    async fn artifact_list(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ArtifactListOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let refs = self
            .hub
            .with_store(move |s| s.list_artifacts(&cc.team_id))
            .await?;
        Ok(Json(ArtifactListOut {
            artifacts: refs.into_iter().map(artifact_ref_out).collect(),
        }))
    }

    // ------------------------------------------------------------ decisions

    #[tool(
        description = "Lead only: open a decision between competing results. Members propose candidates and vote; you close it."
    )]
    async fn decision_open(
        &self,
        Parameters(a): Parameters<DecisionOpenArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DecisionOut>, ErrorData> {
        let c = self.lead(&ctx, "decision_open")?;
        let cc = c.clone();
        let new = NewDecision {
            question: a.question,
            strategy: strategy_of(a.strategy),
            voters: a.voters,
        };
        let d = self
            .hub
            .with_store(move |s| s.open_decision(&cc.team_id, &cc.agent_id, new))
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "decision.opened",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            decision_id = %d.decision_id,
            strategy = d.strategy.as_str(),
            voters = d.voters.as_ref().map_or(0, Vec::len),
        );
        Ok(Json(decision_out(d, Vec::new(), Vec::new())))
    }

    #[tool(description = "Propose a candidate for an open decision: an artifact and/or a summary.")]
    async fn decision_propose(
        &self,
        Parameters(a): Parameters<DecisionProposeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ProposeOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        if a.artifact_v.is_some() && a.artifact.is_none() {
            return Err(invalid("artifact_v given without artifact"));
        }
        let cc = c.clone();
        let cand = self
            .hub
            .with_store(move |s| {
                let artifact_id = match a.artifact {
                    Some(name) if !name.starts_with("art-") => Some(
                        s.list_artifacts(&cc.team_id)?
                            .into_iter()
                            .find(|r| r.name == name)
                            .map(|r| r.artifact_id)
                            .ok_or(StoreError::NotFound {
                                kind: "artifact",
                                id: name,
                            })?,
                    ),
                    other => other,
                };
                let new = NewCandidate {
                    summary: a.summary.unwrap_or_default(),
                    artifact_id,
                    artifact_version: a.artifact_v,
                };
                s.propose_candidate(&cc.team_id, &a.decision_id, &cc.agent_id, new)
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "decision.proposed",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            decision_id = %cand.decision_id,
            candidate_id = %cand.candidate_id,
            artifact_id = cand.artifact_id.as_deref().unwrap_or(""),
            version = cand.artifact_version.unwrap_or(0),
        );
        Ok(Json(ProposeOut {
            id: cand.candidate_id,
            decision_id: cand.decision_id,
            artifact: cand.artifact_id,
            artifact_v: cand.artifact_version,
        }))
    }

    #[tool(
        description = "Vote for a candidate of an open decision. Voting again replaces your vote."
    )]
    async fn decision_vote(
        &self,
        Parameters(a): Parameters<DecisionVoteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<VoteOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let (vote, replaced) = self
            .hub
            .with_store(move |s| {
                s.cast_vote(
                    &cc.team_id,
                    &a.decision_id,
                    &cc.agent_id,
                    &a.candidate_id,
                    a.comment.as_deref(),
                )
            })
            .await?;
        tracing::info!(
            target: EVENT_TARGET,
            event = "decision.voted",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            decision_id = %vote.decision_id,
            candidate_id = %vote.candidate_id,
            replaced = replaced.as_deref().unwrap_or(""),
        );
        Ok(Json(VoteOut {
            decision_id: vote.decision_id,
            candidate_id: vote.candidate_id,
            replaced,
        }))
    }

    #[tool(
        description = "Lead only: close a decision by its strategy and record the outcome. Strategy lead: give your pick."
    )]
    async fn decision_close(
        &self,
        Parameters(a): Parameters<DecisionCloseArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DecisionOut>, ErrorData> {
        let c = self.lead(&ctx, "decision_close")?;
        let cc = c.clone();
        let rec = self
            .hub
            .with_store(move |s| {
                s.close_decision(
                    &cc.team_id,
                    &a.decision_id,
                    &cc.agent_id,
                    a.pick.as_deref(),
                    a.note.as_deref(),
                )
            })
            .await?;
        let d = &rec.decision;
        tracing::info!(
            target: EVENT_TARGET,
            event = "decision.closed",
            team_id = %c.team_id,
            agent_id = %c.agent_id,
            decision_id = %d.decision_id,
            strategy = d.strategy.as_str(),
            status = d.status.as_str(),
            winner = d.winner.as_deref().unwrap_or(""),
            reason = d.reason.as_deref().unwrap_or(""),
            candidates = rec.candidates.len(),
            votes = rec.votes.len(),
        );
        Ok(Json(record_out(rec)))
    }

    #[tool(description = "Read a decision: candidates, votes, tally and outcome.")]
    async fn decision_get(
        &self,
        Parameters(a): Parameters<DecisionGetArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DecisionOut>, ErrorData> {
        let c = self.caller(&ctx)?;
        let cc = c.clone();
        let rec = self
            .hub
            .with_store(move |s| s.decision(&cc.team_id, &a.decision_id))
            .await?;
        Ok(Json(record_out(rec)))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TeamServer {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
        .with_server_info(rmcp::model::Implementation::new(
            "codex-teams",
            env!("CARGO_PKG_VERSION"),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = self.session_caller(&context);
        // Redacted, then cut to a small bound: arguments can be megabytes.
        let args = request
            .arguments
            .as_ref()
            .map(|a| redact_json(&Value::Object(a.clone())).to_string())
            .unwrap_or_default();
        let args_bytes = args.len();
        let args = bounded(&args, MAX_LOGGED_BYTES).into_owned();
        let tool = request.name.to_string();
        let started = std::time::Instant::now();
        // `team_start` refuses every caller that already has a team itself, with a message
        // that says where it works; everything else is checked here.
        let refuse = caller
            .as_ref()
            .filter(|c| tool != "team_start" && !c.may_call(&tool));
        let mut result = match refuse {
            // Refused before any handler runs, so nothing is stored.
            Some(c) => Err(not_your_tool(&tool, c)),
            None => {
                let tcc = ToolCallContext::new(self, request, context);
                self.tool_router.call(tcc).await
            }
        };
        if let (Some(c), Ok(CallToolResponse::Complete(r))) = (&caller, &mut result)
            && !crate::unread::skips(&tool)
        {
            let (t, a) = (c.team_id.clone(), c.agent_id.clone());
            if let Ok(n) = self.hub.with_store(move |s| s.pending_count(&t, &a)).await {
                crate::unread::annotate(r, n);
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        let (team_id, agent_id) = caller.map(|c| (c.team_id, c.agent_id)).unwrap_or_default();
        let failed = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => Some(
                r.content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Ok(_) => None,
            Err(e) => Some(e.message.to_string()),
        };
        match failed {
            None => tracing::debug!(
                target: "codex_teams::mcp",
                event = "tool.call",
                tool = %tool,
                team_id = %team_id,
                agent_id = %agent_id,
                args = %args,
                args_bytes,
                ms,
                ok = true,
            ),
            Some(error) => tracing::info!(
                target: "codex_teams::mcp",
                event = "tool.error",
                tool = %tool,
                team_id = %team_id,
                agent_id = %agent_id,
                args = %args,
                args_bytes,
                ms,
                error = %bounded(&crate::redact::redact_str(&error), MAX_LOGGED_BYTES),
            ),
        }
        result
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Every listed tool's schema is sent to the model on every request: list only what
        // this caller may call.
        let caller = self.session_caller(&context);
        let is_http = matches!(self.identity, Identity::Http);
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| !(is_http && t.name == "team_start"))
            .filter(|t| match &caller {
                Some(c) => c.may_call(&t.name),
                None => true,
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }
}
