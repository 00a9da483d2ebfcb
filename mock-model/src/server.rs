//! The scripted model server: an OpenAI Responses-API endpoint (SSE) on loopback that
//! answers every request from a scenario and records what it received and counted.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::conversation::Conversation;
use crate::latency::Latency;
use crate::scenario::{Scenario, assistant_message};
use crate::tokens;

/// How the server runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Delay before each reply, to imitate a model's thinking time; `None`: the scenario's
    /// own `latency`, if any.
    pub latency: Option<Latency>,
    /// JSONL file every request record is appended to.
    pub log_path: Option<PathBuf>,
}

/// How a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A rule answered.
    Matched,
    /// No rule matched; the reply said so.
    Unmatched,
    /// A rule matched but its reply could not be rendered (e.g. a missing output field).
    Error,
}

/// One request the server answered, with its token counts: the unit of token accounting.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// 1-based arrival order.
    pub seq: u64,
    /// Arrival time, ms since the Unix epoch.
    pub received_at_ms: u64,
    /// `model` of the request.
    pub model: Option<String>,
    /// `prompt_cache_key` of the request (codex: the thread id).
    pub prompt_cache_key: Option<String>,
    /// The prompt the matcher saw.
    pub prompt: Option<String>,
    /// Name (or `#index`) of the rule that answered.
    pub rule: Option<String>,
    /// Matched, unmatched or error.
    pub outcome: Outcome,
    /// Why the outcome is `error`.
    pub error: Option<String>,
    /// o200k_base tokens over tools + instructions + input (see `tokens`).
    pub input_tokens: u64,
    /// Tokens shared as a prefix with the previous request of the same cache key.
    pub cached_tokens: u64,
    /// Tokens of the emitted output items.
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    pub total_tokens: u64,
    /// The output items sent.
    pub output: Vec<Value>,
    /// The request body as received.
    pub body: Value,
}

impl RecordedRequest {
    /// The `usage` object sent in `response.completed`.
    pub fn usage(&self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.total_tokens,
        })
    }
}

struct Shared {
    scenario: Scenario,
    latency: Latency,
    log: Option<Mutex<File>>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    uses: Vec<u32>,
    /// Tokens of the latest request per `prompt_cache_key`.
    cache: HashMap<String, Vec<u32>>,
    records: Vec<RecordedRequest>,
    next_seq: u64,
}

/// Entry point for starting servers.
pub struct MockModel;

impl MockModel {
    /// Binds 127.0.0.1 and serves `scenario` in a task of the current tokio runtime.
    pub async fn start(scenario: Scenario, opts: Options) -> anyhow::Result<MockModelHandle> {
        // Load the vocabulary before the first request arrives.
        tokio::task::spawn_blocking(tokens::bpe).await?;
        let log = match &opts.log_path {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening request log {}", path.display()))?,
            )),
            None => None,
        };
        let rules = scenario.rules.len();
        let latency = opts.latency.or(scenario.latency).unwrap_or_default();
        let shared = Arc::new(Shared {
            scenario,
            latency,
            log,
            inner: Mutex::new(Inner {
                uses: vec![0; rules],
                ..Default::default()
            }),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", opts.port))?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/responses", post(responses))
            .route("/v1/models", get(models))
            .route("/models", get(models))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                eprintln!("mock-model: server error: {e}");
            }
        });
        Ok(MockModelHandle {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running server; dropping it stops the server.
pub struct MockModelHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockModelHandle {
    /// `http://127.0.0.1:PORT/v1`: what codex's provider `base_url` must be.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request answered so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.inner.lock().unwrap().records.clone()
    }

    /// Requests no rule matched: tests assert this is zero.
    pub fn unmatched_count(&self) -> usize {
        self.count(Outcome::Unmatched)
    }

    /// Requests whose rule failed to render its reply.
    pub fn error_count(&self) -> usize {
        self.count(Outcome::Error)
    }

    fn count(&self, outcome: Outcome) -> usize {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .records
            .iter()
            .filter(|r| r.outcome == outcome)
            .count()
    }

    /// Stops accepting requests and waits (up to 5 s) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockModelHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn error_response(status: StatusCode, message: String) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    (status, axum::Json(body)).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!(
            "mock-model serves POST /v1/responses and GET /v1/models; there is no {method} {}",
            uri.path()
        ),
    )
}

async fn models() -> Response {
    // `data` for OpenAI-style clients; `models` (empty) for codex's own model list format.
    axum::Json(json!({
        "object": "list",
        "data": [{"id": "mock-model", "object": "model", "created": 0, "owned_by": "codex-teams"}],
        "models": [],
    }))
    .into_response()
}

async fn responses(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(enc) = headers.get(header::CONTENT_ENCODING)
        && enc.as_bytes() != b"identity"
    {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("compressed request bodies are not supported (content-encoding: {enc:?})"),
        );
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("request body is not valid JSON: {e}"),
            );
        }
    };
    let conv = match Conversation::from_request(&value) {
        Ok(c) => c,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
    };
    let raw: tokens::RawRequest<'_> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("request body does not have the Responses-API shape: {e}"),
            );
        }
    };
    let input_tokens = tokens::request_tokens(&raw);
    let received_at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);

    let (seq, chosen, cached) = {
        let mut inner = shared.inner.lock().unwrap();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        let chosen = shared.scenario.select(&conv, &inner.uses);
        if let Some(m) = &chosen {
            inner.uses[m.index] += 1;
        }
        let cached = match &conv.prompt_cache_key {
            Some(key) => {
                let prev = inner.cache.insert(key.clone(), input_tokens.clone());
                prev.map_or(0, |p| tokens::common_prefix(&p, &input_tokens))
            }
            None => 0,
        };
        (seq, chosen, cached)
    };

    let mut n = 0;
    let mut ids = |prefix: &str| {
        n += 1;
        format!("{prefix}_mock_{seq}_{n}")
    };
    let (outcome, rule, error, output) = match &chosen {
        Some(m) => {
            let rule = &shared.scenario.rules[m.index];
            let label = rule.label(m.index);
            match rule.render(&conv, &m.captures, &mut ids) {
                Ok(items) => (Outcome::Matched, Some(label), None, items),
                Err(e) => {
                    let msg = format!("mock-model: rule {label} could not render its reply: {e}");
                    let item = assistant_message(&ids("msg"), &msg);
                    (Outcome::Error, Some(label), Some(e.0), vec![item])
                }
            }
        }
        None => {
            let msg = format!(
                "mock-model: no scenario rule matched this request (prompt: {:?}, tool calls this turn: {})",
                conv.prompt.as_deref().unwrap_or(""),
                conv.turn_calls.len()
            );
            (
                Outcome::Unmatched,
                None,
                None,
                vec![assistant_message(&ids("msg"), &msg)],
            )
        }
    };
    let output_tokens = tokens::output_tokens(&output) as u64;
    let record = RecordedRequest {
        seq,
        received_at_ms,
        model: conv.model.clone(),
        prompt_cache_key: conv.prompt_cache_key.clone(),
        prompt: conv.prompt.clone(),
        rule,
        outcome,
        error,
        input_tokens: input_tokens.len() as u64,
        cached_tokens: cached as u64,
        output_tokens,
        total_tokens: input_tokens.len() as u64 + output_tokens,
        output,
        body: value,
    };
    if outcome != Outcome::Matched {
        eprintln!(
            "mock-model: request #{seq} {}: {}",
            match outcome {
                Outcome::Unmatched => "unmatched",
                _ => "error",
            },
            record.output[0]["content"][0]["text"]
                .as_str()
                .unwrap_or("")
        );
    }
    if let Some(log) = &shared.log {
        let mut line = serde_json::to_string(&record).unwrap_or_default();
        line.push('\n');
        let mut file = log.lock().unwrap();
        if let Err(e) = file.write_all(line.as_bytes()).and_then(|_| file.flush()) {
            eprintln!("mock-model: cannot write request log: {e}");
        }
    }
    let sse = sse_body(&record);
    shared.inner.lock().unwrap().records.push(record);

    let delay = shared.latency.delay(output_tokens);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        sse,
    )
        .into_response()
}

/// `response.created`, one `response.output_item.done` per item, `response.completed`.
fn sse_body(record: &RecordedRequest) -> String {
    let id = format!("resp_mock_{}", record.seq);
    let mut events = vec![json!({
        "type": "response.created",
        "response": {"id": id, "object": "response", "status": "in_progress", "model": record.model},
    })];
    for (i, item) in record.output.iter().enumerate() {
        events.push(json!({"type": "response.output_item.done", "output_index": i, "item": item}));
    }
    events.push(json!({
        "type": "response.completed",
        "response": {
            "id": id,
            "object": "response",
            "status": "completed",
            "model": record.model,
            "output": record.output,
            "usage": record.usage(),
        },
    }));
    let mut out = String::new();
    for e in events {
        out.push_str(&format!(
            "event: {}\ndata: {}\n\n",
            e["type"].as_str().unwrap_or(""),
            e
        ));
    }
    out
}
