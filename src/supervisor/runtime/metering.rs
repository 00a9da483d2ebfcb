//! The supervisor's side of the metering proxy ([`super::super::meter`]): every child's
//! model requests pass it, it records usage as responses arrive, and when a request runs
//! into a budget limit the turns the policy names are stopped ([`plan::stops_for_limit`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use super::super::command::ExecCommand;
use super::super::events::Usage;
use super::super::meter::{Meter, MeterSink, MeterTurn, SinkFuture, Upstream};
use super::super::process::{self, Pgid};
use super::super::{model, prompts, worker};
use super::Supervisor;
use super::control::BoardRead;
use super::state::AgentRt;
use crate::policy::plan::{self, Action};
use crate::policy::spend::{self, Limit};

impl Supervisor {
    /// The metering proxy, started on first use.
    async fn meter(&self) -> anyhow::Result<&Meter> {
        let sink: Arc<dyn MeterSink> = Arc::new(SpendSink {
            sup: self.me.clone(),
        });
        let profile = self.opts.profile.clone();
        let (cancel, tasks) = (self.cancel.child_token(), self.tasks.clone());
        self.meter
            .get_or_try_init(|| async move { Meter::start(profile, sink, cancel, tasks).await })
            .await
    }

    /// The metering proxy and what the store holds as the agent's team's spend, for a turn
    /// about to start.
    pub(super) async fn metering_for(
        &self,
        agent_id: &str,
    ) -> anyhow::Result<Option<(&Meter, u64)>> {
        let Some(team_id) = self.lock().agents.get(agent_id).map(|a| a.team_id.clone()) else {
            return Ok(None);
        };
        let meter = self.meter().await?;
        let usage = self
            .hub()?
            .with_store(move |s| s.team_usage(&team_id))
            .await?;
        Ok(Some((
            meter,
            (usage.input_tokens + usage.output_tokens).max(0) as u64,
        )))
    }

    /// Routes `cmd`'s model requests through the proxy when its provider can be metered
    /// there (the scripted model, or a provider with a base URL; not OpenAI's own).
    pub(super) fn route_through_meter(
        &self,
        a: &AgentRt,
        cmd: &mut ExecCommand,
        metering: Option<(&Meter, u64)>,
    ) -> Option<MeterTurn> {
        let (m, spent) = metering?;
        let (up, scripted) = match (&cmd.scripted_base_url, &cmd.model.provider) {
            (Some(url), _) => (url.clone(), true),
            (None, Some(p)) if p != "openai" => (
                model::provider_base_url(self.opts.codex_home.as_deref(), p)?,
                false,
            ),
            _ => return None,
        };
        let upstream = Upstream { base_url: up };
        let turn = m.open_turn(&a.team_id, &a.agent_id, a.is_lead(), upstream, spent);
        let url = Some(turn.base_url().to_string());
        if scripted {
            cmd.scripted_base_url = url;
        } else {
            cmd.provider_base_url = url;
        }
        Some(turn)
    }

    /// For a turn metered from the rollout (not the proxy): after each response, the same
    /// limits the proxy applies, checked against the store's count; the first one crossed
    /// stops the turn (or the workers, or the run).
    pub(super) fn rollout_budget_hook(
        &self,
        team_id: &str,
        agent_id: &str,
        is_lead: bool,
    ) -> worker::ResponseHook {
        let (sup, team, agent) = (self.me.clone(), team_id.to_string(), agent_id.to_string());
        let fired = Arc::new(AtomicBool::new(false));
        worker::ResponseHook(Arc::new(move |turn_spent| {
            let Some(me) = sup.upgrade() else { return };
            let (team, agent, fired) = (team.clone(), agent.clone(), fired.clone());
            let owner = me.clone();
            owner.spawn_owned(async move {
                let Ok(hub) = me.hub() else { return };
                let t = team.clone();
                let Ok(usage) = hub.with_store(move |s| s.team_usage(&t)).await else {
                    return;
                };
                let ledger = spend::Ledger {
                    spent: (usage.input_tokens + usage.output_tokens).max(0) as u64,
                    in_flight: 0,
                };
                let turn = spend::Turn {
                    is_lead,
                    spent: turn_spent,
                };
                if let Some(limit) = spend::crossed(&me.opts.profile, ledger, turn)
                    && !fired.swap(true, Ordering::SeqCst)
                {
                    me.spend_limit(&team, &agent, limit);
                }
            });
        }))
    }

    /// The metering proxy ran into a limit for one agent's turn: stop that turn, or every
    /// worker of the team (their share is spent), or the run (the whole budget is). The
    /// stopped turns end `stopped`, not `failed`, so no replacement is spawned for them.
    fn spend_limit(&self, team_id: &str, agent_id: &str, limit: Limit) {
        let (groups, lead, name) = {
            let mut st = self.lock();
            let lead = st.teams.get(team_id).and_then(|t| t.lead_id.clone());
            if limit.ends_workers()
                && let Some(t) = st.teams.get_mut(team_id)
            {
                if t.spend_limit
                    .is_some_and(|l| matches!(l, Limit::RunBudget { .. }))
                {
                    return;
                }
                t.spend_limit = Some(limit);
            }
            let name = st.agents.get(agent_id).map(|a| a.name.clone());
            let stops = plan::stops_for_limit(
                &self.snapshot(&st, team_id, &BoardRead::default()),
                agent_id,
                limit,
            );
            let mut groups: Vec<Pgid> = Vec::new();
            for action in &stops {
                if let Action::StopTurn { agent_id, .. } = action
                    && let Some(a) = st.agents.get_mut(agent_id)
                {
                    a.stop_requested = true;
                    groups.extend(a.pgid);
                }
            }
            (groups, lead, name.unwrap_or_else(|| agent_id.to_string()))
        };
        tracing::warn!(target: "codex_teams::supervisor", event = "budget.limit", team_id = %team_id, agent_id = %agent_id, limit = %limit, stopping = groups.len());
        let me = self.arc();
        let (team, agent) = (team_id.to_string(), agent_id.to_string());
        self.spawn_owned(async move {
            me.after_spend_limit(groups, team, agent, name, lead, limit)
                .await
        });
        self.kick();
    }

    /// The effects of a spend limit: the turns stopped, the event recorded, a stopped
    /// worker's claims back on the board, the lead told.
    async fn after_spend_limit(
        self: Arc<Self>,
        groups: Vec<Pgid>,
        team: String,
        agent: String,
        name: String,
        lead: Option<String>,
        limit: Limit,
    ) {
        for g in groups {
            let _ = process::terminate(g, self.opts.grace).await;
        }
        let Ok(hub) = self.hub() else { return };
        let (t, a, why) = (team.clone(), agent.clone(), limit.to_string());
        let _ = hub
            .with_store(move |s| {
                s.append_event(
                    &t,
                    Some(&a),
                    "budget.limit",
                    &serde_json::json!({ "limit": why }),
                )
            })
            .await;
        if matches!(limit, Limit::RunBudget { .. }) {
            return;
        }
        if !limit.ends_workers() {
            let (t, a, why) = (team.clone(), agent.clone(), limit.to_string());
            if let Ok(ids) = hub
                .with_store(move |s| s.release_claims(&t, &a, &why))
                .await
                && !ids.is_empty()
            {
                hub.board_changed(&team);
            }
        }
        if let Some(lead) = lead {
            let body = prompts::spend_limit_message(
                &name,
                &agent,
                &limit.to_string(),
                limit.ends_workers(),
            );
            self.tell_lead(&hub, &team, &lead, &agent, body, "budget", true)
                .await;
        }
    }
}

/// The supervisor as the metering proxy's sink: usage to the store, limits to
/// [`Supervisor::spend_limit`]. Holds the supervisor weakly (the supervisor owns the proxy).
struct SpendSink {
    sup: Weak<Supervisor>,
}

impl MeterSink for SpendSink {
    fn record(&self, team_id: String, agent_id: String, usage: Usage) -> SinkFuture {
        let sup = self.sup.clone();
        Box::pin(async move {
            let Some(hub) = sup.upgrade().and_then(|s| s.hub().ok()) else {
                return;
            };
            worker::record(&hub, &team_id, &agent_id, usage, "meter").await;
        })
    }

    fn limit(&self, team_id: &str, agent_id: &str, limit: Limit) {
        if let Some(s) = self.sup.upgrade() {
            s.spend_limit(team_id, agent_id, limit);
        }
    }
}
