//! Test fixtures: a real database file, a real HTTP server on loopback, rmcp's real client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use codex_teams_mcp::{
    HttpServer, HubOptions, MintedAgent, Runtime, RuntimeFuture, SpawnRequest, TeamHub, serve_http,
};
use codex_teams_store::{NewAgent, NewTeam, Store, TaskFilter, Team};
use rmcp::model::{CallToolRequestParams, ClientConfig, ErrorData, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

/// Records what the MCP layer asked of the process owner.
#[derive(Default)]
pub struct RecordingRuntime {
    pub spawns: Mutex<Vec<SpawnRequest>>,
    pub wakes: Mutex<Vec<(String, String)>>,
    pub finalized: Mutex<Vec<String>>,
    pub refuse: AtomicBool,
    /// The role policy `role_tools` answers from (empty: no per-role lists).
    pub role_tools: Mutex<std::collections::HashMap<String, Vec<String>>>,
}

impl Runtime for RecordingRuntime {
    fn spawn(
        &self,
        req: SpawnRequest,
    ) -> RuntimeFuture<'_, Result<(), codex_teams_mcp::SpawnError>> {
        let r = if self.refuse.load(Ordering::SeqCst) {
            Err(codex_teams_mcp::SpawnError::Refused(
                "all 6 worker slots are taken".into(),
            ))
        } else {
            self.spawns.lock().unwrap().push(req);
            Ok(())
        };
        Box::pin(std::future::ready(r))
    }
    fn wake(&self, team_id: &str, agent_id: &str) {
        self.wakes
            .lock()
            .unwrap()
            .push((team_id.into(), agent_id.into()));
    }
    fn finalized(&self, team_id: &str) {
        self.finalized.lock().unwrap().push(team_id.into());
    }
    fn role_tools(&self, role: &str) -> Option<Vec<String>> {
        self.role_tools.lock().unwrap().get(role).cloned()
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub hub: Arc<TeamHub>,
    pub rt: Arc<RecordingRuntime>,
    pub http: HttpServer,
}

impl Env {
    pub async fn new() -> Env {
        Self::with_options(HubOptions::default()).await
    }

    pub async fn with_options(opts: HubOptions) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("teams.db");
        Self::on(dir, db, opts).await
    }

    pub async fn on(dir: tempfile::TempDir, db: PathBuf, opts: HubOptions) -> Env {
        let rt = Arc::new(RecordingRuntime::default());
        let hub = TeamHub::open(&db, rt.clone(), opts).unwrap();
        let http = serve_http(hub.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Env {
            dir,
            db,
            hub,
            rt,
            http,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    /// A team and its lead, made the way the supervisor makes a `run`'s lead, and served
    /// by this env's hub (as the supervisor serves the teams it runs).
    pub fn team(&self, goal: &str) -> (Team, MintedAgent) {
        let (team, lead) = self.unserved_team(goal);
        self.hub.serve_team(&team.team_id);
        (team, lead)
    }

    /// A team in the same database that this env's hub does not serve (another
    /// supervisor's).
    pub fn unserved_team(&self, goal: &str) -> (Team, MintedAgent) {
        codex_teams_mcp::start_team(
            &self.store(),
            NewTeam {
                goal: goal.into(),
                cwd: "/tmp".into(),
                profile: "default".into(),
                config: json!({}),
            },
            "lead",
        )
        .unwrap()
    }

    pub fn worker(&self, team_id: &str, name: &str, role: &str) -> MintedAgent {
        register(&self.db, team_id, name, role)
    }

    pub async fn client(&self, agent: &MintedAgent) -> RunningService<RoleClient, ClientConfig> {
        http_client(
            &self.http.agent_url(&agent.agent.agent_id),
            Some(&agent.token),
        )
        .await
        .expect("connect")
    }

    /// Everything a tool could change, for "the store is unchanged" checks.
    pub fn snapshot(&self) -> Value {
        snapshot(&self.db)
    }
}

pub fn register(db: &std::path::Path, team_id: &str, name: &str, role: &str) -> MintedAgent {
    codex_teams_mcp::register_agent(
        &Store::open(db).unwrap(),
        team_id,
        NewAgent {
            name: name.into(),
            role: role.into(),
            brief: "test worker".into(),
            ..NewAgent::default()
        },
    )
    .unwrap()
}

pub fn snapshot(db: &std::path::Path) -> Value {
    let s = Store::open(db).unwrap();
    let teams = s.list_teams().unwrap();
    let mut out = Vec::new();
    for t in &teams {
        let agents = s.list_agents(&t.team_id).unwrap();
        let pending: Vec<usize> = agents
            .iter()
            .map(|a| s.pending_count(&t.team_id, &a.agent_id).unwrap())
            .collect();
        out.push(json!({
            "team": t,
            "agents": agents,
            "pending": pending,
            "tasks": s.list_tasks(&t.team_id, &TaskFilter::default()).unwrap(),
            "artifacts": s.list_artifacts(&t.team_id).unwrap(),
            "events": s.events(&t.team_id, 0, 100_000).unwrap(),
            "decisions": s
                .list_decisions(&t.team_id)
                .unwrap()
                .iter()
                .map(|d| s.decision(&t.team_id, &d.decision_id).unwrap())
                .collect::<Vec<_>>(),
        }));
    }
    Value::Array(out)
}

pub async fn http_client(
    url: &str,
    token: Option<&str>,
) -> Result<RunningService<RoleClient, ClientConfig>, rmcp::service::ClientInitializeError> {
    let mut cfg = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        cfg = cfg.auth_header(t.to_string());
    }
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), cfg);
    ClientConfig::default().serve(transport).await
}

pub type Client = RunningService<RoleClient, ClientConfig>;

/// How a call failed: a JSON-RPC error (`code` set), or a tool result flagged `isError`
/// (rmcp reports arguments that do not deserialize this way, so the model can fix them).
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: Option<i32>,
    pub message: String,
    /// `data.error` of a JSON-RPC error.
    pub kind: String,
}

/// Calls a tool; Ok is its structured result. Transport failures panic.
pub async fn call(c: &Client, tool: &str, args: Value) -> Result<Value, Failure> {
    call_meta(c, tool, args, None).await
}

pub async fn call_meta(
    c: &Client,
    tool: &str,
    args: Value,
    meta: Option<Value>,
) -> Result<Value, Failure> {
    let mut p = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(o) = args {
        p = p.with_arguments(o);
    }
    if let Some(Value::Object(m)) = meta {
        let mut rm = RequestMetaObject::new();
        for (k, v) in m {
            rm.insert(k, v);
        }
        p.meta = Some(rm);
    }
    match c.call_tool(p).await {
        Ok(r) if r.is_error == Some(true) => Err(Failure {
            code: None,
            message: r
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect::<Vec<_>>()
                .join("\n"),
            kind: String::new(),
        }),
        Ok(r) => {
            let dbg = format!("{r:?}");
            Ok(r.structured_content
                .unwrap_or_else(|| panic!("{tool}: no structured content: {dbg}")))
        }
        Err(rmcp::ServiceError::McpError(e)) => Err(rpc_failure(e)),
        Err(other) => panic!("{tool}: transport failure: {other}"),
    }
}

fn rpc_failure(e: ErrorData) -> Failure {
    Failure {
        code: Some(e.code.0),
        message: e.message.to_string(),
        kind: e
            .data
            .as_ref()
            .and_then(|d| d.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    }
}

/// `call` that must succeed.
pub async fn ok(c: &Client, tool: &str, args: Value) -> Value {
    match call(c, tool, args).await {
        Ok(v) => v,
        Err(e) => panic!("{tool} failed: {e:?}"),
    }
}

/// `call` that must fail with a JSON-RPC error; returns (code, message, data.error).
pub async fn fails(c: &Client, tool: &str, args: Value) -> (i32, String, String) {
    match call(c, tool, args).await {
        Ok(v) => panic!("{tool} unexpectedly succeeded: {v}"),
        Err(Failure {
            code: Some(code),
            message,
            kind,
        }) => (code, message, kind),
        Err(f) => panic!("{tool}: expected a JSON-RPC error, got a tool error: {f:?}"),
    }
}

/// `call` that must fail either way; returns the failure.
pub async fn refused(c: &Client, tool: &str, args: Value) -> Failure {
    match call(c, tool, args).await {
        Ok(v) => panic!("{tool} unexpectedly succeeded: {v}"),
        Err(f) => f,
    }
}

/// A `std::io::Write` that keeps what was written, to capture the JSON logs in a test.
#[derive(Clone, Default)]
pub struct Buf(pub Arc<Mutex<Vec<u8>>>);

impl Buf {
    /// The product's own JSON logging, at the most verbose level, written to a fresh buffer
    /// this test reads. Once per test process (tracing's global subscriber).
    pub fn capture_trace_logs() -> Buf {
        let buf = Buf::default();
        let writer = buf.clone();
        codex_teams_mcp::logging::init_json_logging_with(
            move || writer.clone(),
            tracing_subscriber::EnvFilter::new("trace"),
        )
        .unwrap();
        buf
    }
}

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts a `team_wait` (10 s) on its own client; resolves to its result and the instant
/// it returned, so a test can measure how soon a send woke it.
pub fn spawn_wait(c: Client) -> tokio::task::JoinHandle<(Value, std::time::Instant)> {
    tokio::spawn(async move {
        let r = ok(&c, "team_wait", json!({"timeout_ms": 10000})).await;
        let at = std::time::Instant::now();
        c.cancel().await.ok();
        (r, at)
    })
}

/// The JSON-RPC `initialize` a client sends first.
pub fn initialize_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

/// A raw request to an agent endpoint, for what the rmcp client cannot show (headers,
/// status codes, other agents' session ids). `authorization` is the whole header value.
pub fn raw_request(
    method: reqwest::Method,
    url: &str,
    authorization: Option<&str>,
    session: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut r = reqwest::Client::new()
        .request(method, url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    if let Some(s) = session {
        r = r.header("mcp-session-id", s);
    }
    r
}

/// POSTs one JSON-RPC message with a bearer token (and a session, when given).
pub async fn raw_post(
    url: &str,
    token: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    raw_request(
        reqwest::Method::POST,
        url,
        Some(&format!("Bearer {token}")),
        session,
    )
    .body(body.to_string())
    .send()
    .await
    .expect("request")
}

/// Opens an MCP session the raw way (initialize, then `notifications/initialized`) and
/// returns its id.
pub async fn raw_session(url: &str, token: &str) -> String {
    let r = raw_post(url, token, None, &initialize_request()).await;
    assert!(r.status().is_success(), "initialize: {}", r.status());
    let id = r
        .headers()
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .unwrap()
        .to_string();
    r.text().await.unwrap();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = raw_post(url, token, Some(&id), &note).await;
    assert!(r.status().is_success(), "initialized: {}", r.status());
    id
}

/// The `result` of a JSON-RPC reply sent as SSE (`data: {...}` lines) or plain JSON.
pub fn rpc_result(text: &str) -> Option<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(text))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find_map(|v| v.get("result").cloned())
}
