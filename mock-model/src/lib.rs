//! The scripted model: the only stand-in in codex-teams' tests and benchmarks.
//!
//! [`server`] speaks the OpenAI Responses API and answers from a [`scenario`]; [`tokens`]
//! counts what codex really sends; [`harness`] runs the real codex binary against it.

pub mod cli;
pub mod conversation;
pub mod echo_mcp;
pub mod harness;
pub mod latency;
pub mod scenario;
pub mod server;
pub mod template;
pub mod tokens;

pub use latency::Latency;
pub use scenario::{Scenario, ScenarioError};
pub use server::{MockModel, MockModelHandle, Options, Outcome, RecordedRequest};
