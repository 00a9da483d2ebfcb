//! `codex-teams bench bus`: throughput and latency of the message bus through a file database.
//!
//! Several agents run as threads, each with its own [`Store`] connection on one temporary
//! database file, as agents' endpoints do in the supervisor. Each agent sends its share of
//! the messages round-robin to the others, and between bursts of sends pulls its inbox in
//! batches and acknowledges what it got. A message's latency is send call → ack committed,
//! measured by the receiver from the send time the sender wrote into the body.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use codex_teams_store::{NewAgent, NewTeam, Recipient, Store};
use serde::Serialize;

/// Options of `codex-teams bench bus`.
#[derive(Debug, clap::Args)]
pub struct BenchBusArgs {
    /// How many messages to send, pull and acknowledge in all.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// How many agents (threads, one connection each) send and receive at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(2..=64))]
    pub agents: u16,
    /// Most deliveries one inbox pull hands out.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the benchmark measured; `--json` prints exactly this object.
#[derive(Debug, Clone, Serialize)]
pub struct BusReport {
    pub messages: usize,
    pub agents: usize,
    pub batch: usize,
    pub elapsed_ms: f64,
    /// Messages sent, delivered and acknowledged per second of wall time.
    pub msgs_per_sec: f64,
    /// Send call → ack committed, median and 99th percentile.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Messages sent but never acknowledged by their recipient.
    pub lost: usize,
    /// Deliveries of a message its recipient had already received.
    pub duplicates: usize,
    /// The same work as bare SQLite statements, one transaction per call as the bus
    /// commits them (see [`crate::bench_floor`]), measured in this run on this file system.
    pub floor_msgs_per_sec: f64,
    /// `msgs_per_sec / floor_msgs_per_sec`.
    pub floor_ratio: f64,
    /// The same statements with `batch` sends per transaction: the engine's own speed.
    pub batched_floor_msgs_per_sec: f64,
    /// `msgs_per_sec / batched_floor_msgs_per_sec`.
    pub batched_floor_ratio: f64,
}

/// How many sends an agent makes between two inbox pulls.
const SEND_BURST: usize = 16;
/// Long enough that no delivery is redelivered during a run: a redelivery would be a bug.
const LEASE: Duration = Duration::from_secs(300);
/// How long a receiver keeps polling for missing messages after every send has returned.
const STRAGGLER_WAIT: Duration = Duration::from_secs(2);

/// Runs the benchmark and prints the report; fails if a message was lost or duplicated.
pub fn run(args: BenchBusArgs) -> anyhow::Result<()> {
    if args.messages == 0 {
        bail!("--messages must be at least 1");
    }
    let report = measure(args.messages, args.agents as usize, args.batch as usize)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    if report.lost > 0 || report.duplicates > 0 {
        bail!(
            "the bus lost {} and duplicated {} messages",
            report.lost,
            report.duplicates
        );
    }
    Ok(())
}

fn print_text(r: &BusReport) {
    println!(
        "bus: {} messages, {} agents, pull batch {}",
        r.messages, r.agents, r.batch
    );
    println!("  elapsed      {:>10.1} ms", r.elapsed_ms);
    println!("  throughput   {:>10.0} msg/s", r.msgs_per_sec);
    println!(
        "  round trip   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.p50_ms, r.p99_ms, r.max_ms
    );
    println!("  lost {}, duplicates {}", r.lost, r.duplicates);
    println!(
        "  raw SQLite   {:>10.0} msg/s one transaction per call (bus at {:.2}x), {:.0} msg/s batched (bus at {:.2}x)",
        r.floor_msgs_per_sec, r.floor_ratio, r.batched_floor_msgs_per_sec, r.batched_floor_ratio
    );
}

/// Everything the agent threads share.
struct Shared {
    path: std::path::PathBuf,
    team_id: String,
    agents: Vec<String>,
    start: Barrier,
    clock: Instant,
    sent: AtomicUsize,
    acked: AtomicUsize,
    total: usize,
}

/// What one agent saw.
#[derive(Default)]
struct AgentStats {
    latencies_us: Vec<u64>,
    received: usize,
    duplicates: usize,
}

impl Shared {
    /// How many messages agent `me` sends.
    fn quota(&self, me: usize) -> usize {
        let n = self.agents.len();
        self.total / n + usize::from(me < self.total % n)
    }

    /// The recipient of agent `me`'s `k`-th message: the others, round-robin.
    fn recipient(&self, me: usize, k: usize) -> usize {
        let n = self.agents.len();
        (me + 1 + k % (n - 1)) % n
    }

    /// How many messages agent `me` will receive.
    fn expected(&self, me: usize) -> usize {
        (0..self.agents.len())
            .filter(|&s| s != me)
            .map(|s| {
                (0..self.quota(s))
                    .filter(|&k| self.recipient(s, k) == me)
                    .count()
            })
            .sum()
    }

    fn micros(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }
}

/// A fresh store at `path` with one team of `agents` members: its id and theirs.
fn seed(path: &std::path::Path, agents: usize) -> anyhow::Result<(String, Vec<String>)> {
    let store = Store::open(path)?;
    let team = store.create_team(NewTeam {
        goal: "bench bus".into(),
        ..Default::default()
    })?;
    let ids = (0..agents)
        .map(|i| {
            let new = NewAgent {
                name: format!("agent-{i}"),
                role: crate::policy::roles::WorkerRole::Implementer.to_string(),
                ..Default::default()
            };
            Ok(store.add_agent(&team.team_id, new)?.agent_id)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((team.team_id, ids))
}

fn measure(messages: usize, agents: usize, batch: usize) -> anyhow::Result<BusReport> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let floor_db = dir.path().join("floor.db");
    let (floor_team, floor_agents) = seed(&floor_db, agents)?;
    let floor =
        crate::bench_floor::measure(&floor_db, &floor_team, &floor_agents, messages, batch)?;
    let path = dir.path().join("bench-bus.db");
    let (team_id, ids) = seed(&path, agents)?;

    let shared = Arc::new(Shared {
        path,
        team_id,
        agents: ids,
        start: Barrier::new(agents + 1),
        clock: Instant::now(),
        sent: AtomicUsize::new(0),
        acked: AtomicUsize::new(0),
        total: messages,
    });
    let threads: Vec<_> = (0..agents)
        .map(|me| {
            let shared = shared.clone();
            std::thread::spawn(move || agent_loop(&shared, me, batch))
        })
        .collect();
    let finished = Arc::new(AtomicBool::new(false));
    let progress = spawn_progress(shared.clone(), finished.clone());
    shared.start.wait();
    let started = shared.micros();
    let mut stats = Vec::with_capacity(agents);
    for t in threads {
        stats.push(
            t.join()
                .map_err(|_| anyhow::anyhow!("an agent thread panicked"))??,
        );
    }
    let elapsed_us = shared.micros().saturating_sub(started).max(1);
    finished.store(true, Ordering::Relaxed);
    let _ = progress.join();

    let mut latencies: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let received: usize = stats.iter().map(|s| s.received).sum();
    let ms = |us: u64| us as f64 / 1000.0;
    let msgs_per_sec = messages as f64 / (elapsed_us as f64 / 1e6);
    Ok(BusReport {
        messages,
        agents,
        batch,
        elapsed_ms: ms(elapsed_us),
        msgs_per_sec,
        p50_ms: ms(percentile(&latencies, 50.0)),
        p99_ms: ms(percentile(&latencies, 99.0)),
        max_ms: ms(latencies.last().copied().unwrap_or(0)),
        lost: messages.saturating_sub(received),
        duplicates: stats.iter().map(|s| s.duplicates).sum(),
        floor_msgs_per_sec: floor.per_call_msgs_per_sec,
        floor_ratio: msgs_per_sec / floor.per_call_msgs_per_sec,
        batched_floor_msgs_per_sec: floor.batched_msgs_per_sec,
        batched_floor_ratio: msgs_per_sec / floor.batched_msgs_per_sec,
    })
}

/// One agent: sends its quota in bursts, pulling and acknowledging its inbox in between,
/// until it has sent everything and received everything addressed to it (or, if something
/// is missing, until the stragglers had time to arrive).
fn agent_loop(sh: &Shared, me: usize, batch: usize) -> anyhow::Result<AgentStats> {
    let store = Store::open(&sh.path)?;
    let my_id = &sh.agents[me];
    let (quota, expected) = (sh.quota(me), sh.expected(me));
    let mut seen = HashSet::with_capacity(expected);
    let mut stats = AgentStats {
        latencies_us: Vec::with_capacity(expected),
        ..Default::default()
    };
    let mut next = 0;
    let mut idle_since: Option<Instant> = None;
    sh.start.wait();
    loop {
        for _ in 0..SEND_BURST.min(quota - next) {
            let to = sh.agents[sh.recipient(me, next)].clone();
            let body = format!("{} {me}/{next}", sh.micros());
            store
                .send(
                    &sh.team_id,
                    my_id,
                    Recipient::Agent(to),
                    &body,
                    &next.to_string(),
                )
                .with_context(|| format!("agent {me} sending message {next}"))?;
            next += 1;
            sh.sent.fetch_add(1, Ordering::Relaxed);
        }
        let got = store.pull_inbox(&sh.team_id, my_id, batch, LEASE)?;
        let got_nothing = got.is_empty();
        if !got_nothing {
            let ids: Vec<String> = got.iter().map(|d| d.message_id.clone()).collect();
            store.ack(&sh.team_id, my_id, &ids)?;
            let now = sh.micros();
            for d in got {
                if !seen.insert(d.message_id) {
                    stats.duplicates += 1;
                    continue;
                }
                let sent_at: u64 = d
                    .body
                    .split(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .context("a message body lost its timestamp")?;
                stats.latencies_us.push(now.saturating_sub(sent_at));
            }
            sh.acked.fetch_add(ids.len(), Ordering::Relaxed);
            idle_since = None;
        }
        if next == quota && seen.len() >= expected {
            break;
        }
        if next == quota && got_nothing {
            // Nothing new: wait a little, and give up on missing messages only once every
            // send of every agent has returned and a grace period has passed.
            let since = *idle_since.get_or_insert_with(Instant::now);
            if sh.sent.load(Ordering::Relaxed) == sh.total && since.elapsed() > STRAGGLER_WAIT {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    stats.received = seen.len();
    Ok(stats)
}

/// Prints a progress line on stderr every second until `finished`, so a long run shows
/// it is alive without disturbing the report on stdout.
fn spawn_progress(sh: Arc<Shared>, finished: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last = Instant::now();
        while !finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() >= Duration::from_secs(1) {
                last = Instant::now();
                eprintln!(
                    "bench bus: sent {}/{}, acknowledged {}/{}",
                    sh.sent.load(Ordering::Relaxed),
                    sh.total,
                    sh.acked.load(Ordering::Relaxed),
                    sh.total
                );
            }
        }
    })
}

/// The `p`-th percentile (nearest rank) of sorted values; 0 for none.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn a_small_run_loses_and_duplicates_nothing() {
        let r = measure(300, 3, 16).unwrap();
        assert_eq!((r.lost, r.duplicates), (0, 0));
        assert!(r.msgs_per_sec > 0.0 && r.p50_ms <= r.p99_ms && r.p99_ms <= r.max_ms);
        assert!(r.floor_msgs_per_sec > 0.0 && r.batched_floor_msgs_per_sec > 0.0);
        let json = serde_json::to_value(&r).unwrap();
        for key in [
            "msgs_per_sec",
            "p50_ms",
            "p99_ms",
            "lost",
            "duplicates",
            "floor_ratio",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
    }

    #[test]
    fn quotas_and_recipients_cover_every_message_once() {
        let sh = Shared {
            path: Default::default(),
            team_id: String::new(),
            agents: (0..4).map(|i| i.to_string()).collect(),
            start: Barrier::new(1),
            clock: Instant::now(),
            sent: AtomicUsize::new(0),
            acked: AtomicUsize::new(0),
            total: 1001,
        };
        assert_eq!((0..4).map(|a| sh.quota(a)).sum::<usize>(), 1001);
        assert_eq!((0..4).map(|a| sh.expected(a)).sum::<usize>(), 1001);
        assert!((0..4).all(|a| (0..sh.quota(a)).all(|k| sh.recipient(a, k) != a)));
    }
}
