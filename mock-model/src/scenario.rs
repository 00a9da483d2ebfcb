//! Scenario files: ordered rules that match a request by its content and say what the
//! model answers. The format is documented in `docs/scenarios.md`.

use std::collections::HashMap;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::conversation::{Conversation, ToolOutput};
use crate::template::{RenderError, Scope, Template};

/// A loaded, validated scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free-form name, shown in logs.
    #[serde(default)]
    pub name: Option<String>,
    /// Free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// The model's thinking time per request and per output token, unless the server is
    /// started with its own (`--latency`).
    #[serde(default)]
    pub latency: Option<crate::latency::Latency>,
    /// Rules, tried in order; the first that matches (and is not used up) answers.
    pub rules: Vec<Rule>,
}

/// One rule: a condition and the output items it answers with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name used in the request log (defaults to `#INDEX`).
    #[serde(default)]
    pub name: Option<String>,
    /// Conditions, all of which must hold; none means "always".
    #[serde(default)]
    pub when: When,
    /// How many requests this rule may answer in all; unlimited when absent.
    #[serde(default)]
    pub times: Option<u32>,
    /// Shorthand for `times: 1`.
    #[serde(default)]
    pub once: bool,
    /// The output items, in order.
    pub reply: OneOrMany<ReplyItem>,
}

/// Conditions on a request. Texts are matched case-sensitively; a list means "all of".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Substrings of the prompt (the latest real user message).
    #[serde(default)]
    pub prompt_contains: OneOrMany<String>,
    /// Regex on the prompt; named groups become `capture.NAME`.
    #[serde(default)]
    pub prompt_matches: Option<Pattern>,
    /// Substrings of `instructions` plus the developer messages.
    #[serde(default)]
    pub instructions_contains: OneOrMany<String>,
    /// Regex on the instructions.
    #[serde(default)]
    pub instructions_matches: Option<Pattern>,
    /// Substrings anywhere in the input's texts (messages, call arguments, outputs).
    #[serde(default)]
    pub input_contains: OneOrMany<String>,
    /// Regex on the input's texts.
    #[serde(default)]
    pub input_matches: Option<Pattern>,
    /// Exact `model` of the request.
    #[serde(default)]
    pub model: Option<String>,
    /// Condition on the latest tool output of this turn; requires there is one.
    #[serde(default)]
    pub last_output: Option<OutputCondition>,
    /// Number of tool calls made so far in this turn.
    #[serde(default)]
    pub tool_calls: Option<Count>,
}

/// Condition on a tool output.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCondition {
    /// Tool name (`exec_command`, `team_claim`, or `mcp__team.team_claim`).
    #[serde(default)]
    pub tool: Option<String>,
    /// Substrings of the output.
    #[serde(default)]
    pub contains: OneOrMany<String>,
    /// Regex on the output; named groups become `capture.NAME`.
    #[serde(default)]
    pub matches: Option<Pattern>,
    /// Exit code of a shell command.
    #[serde(default)]
    pub exit_code: Option<i64>,
}

/// A count condition: an exact number or a `{min, max}` range (both inclusive).
#[derive(Debug, Clone, Copy)]
pub enum Count {
    /// Exactly this many.
    Exact(u32),
    /// Within bounds.
    Range {
        /// Lower bound.
        min: Option<u32>,
        /// Upper bound.
        max: Option<u32>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountRange {
    #[serde(default)]
    min: Option<u32>,
    #[serde(default)]
    max: Option<u32>,
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::MapAccessDeserializer;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a count (a number, or a mapping with `min` and/or `max`)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Count, E> {
                u32::try_from(v)
                    .map(Count::Exact)
                    .map_err(|_| E::custom("count too large"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Count, E> {
                u32::try_from(v)
                    .map(Count::Exact)
                    .map_err(|_| E::custom(format!("a count cannot be {v}")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, a: A) -> Result<Count, A::Error> {
                let r = CountRange::deserialize(MapAccessDeserializer::new(a))?;
                Ok(Count::Range {
                    min: r.min,
                    max: r.max,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Count {
    fn holds(self, n: usize) -> bool {
        let n = n as u64;
        match self {
            Count::Exact(e) => n == u64::from(e),
            Count::Range { min, max } => {
                min.is_none_or(|m| n >= u64::from(m)) && max.is_none_or(|m| n <= u64::from(m))
            }
        }
    }
}

/// One value or a list of them; absent means an empty list. (Hand-written rather than
/// `untagged` so the inner value's own error, with its line, reaches the user.)
#[derive(Debug, Clone)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer};

        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(StrDeserializer::<E>::new(v)).map(OneOrMany::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(SeqAccessDeserializer::new(a)).map(OneOrMany::Many)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(a)).map(OneOrMany::One)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

/// A regex compiled at load time (so a bad one fails the load with its line).
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Regex::new(&s)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {s:?}: {e}")))
    }
}

/// A template compiled at load time.
#[derive(Debug, Clone)]
pub struct Text(pub Template);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s)
            .map(Text)
            .map_err(serde::de::Error::custom)
    }
}

/// JSON arguments whose strings may hold templates.
#[derive(Debug, Clone)]
pub struct Args(ArgValue);

#[derive(Debug, Clone)]
enum ArgValue {
    Plain(Value),
    Text(Template),
    Array(Vec<ArgValue>),
    Object(Vec<(String, ArgValue)>),
}

impl Default for Args {
    fn default() -> Self {
        Args(ArgValue::Object(Vec::new()))
    }
}

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(serde::de::Error::custom(
                "`arguments` must be a mapping (a JSON object)",
            ));
        }
        compile_args(v).map(Args).map_err(serde::de::Error::custom)
    }
}

fn compile_args(v: Value) -> Result<ArgValue, String> {
    Ok(match v {
        Value::String(s) if s.contains("{{") => ArgValue::Text(Template::parse(&s)?),
        Value::Array(items) => ArgValue::Array(
            items
                .into_iter()
                .map(compile_args)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => ArgValue::Object(
            map.into_iter()
                .map(|(k, v)| compile_args(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
        other => ArgValue::Plain(other),
    })
}

impl ArgValue {
    fn render(&self, scope: Scope<'_>) -> Result<Value, RenderError> {
        Ok(match self {
            ArgValue::Plain(v) => v.clone(),
            ArgValue::Text(t) => t.render_value(scope)?,
            ArgValue::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            ArgValue::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), v.render(scope)?);
                }
                Value::Object(map)
            }
        })
    }
}

/// One output item of a reply: a mapping with exactly one key naming the kind.
#[derive(Debug)]
pub enum ReplyItem {
    /// An assistant message with this text.
    Message(Text),
    /// A shell call: codex's `exec_command` tool.
    Shell(ShellCall),
    /// A call of a tool of an MCP server (function in namespace `mcp__<server>`).
    Mcp(McpCall),
    /// Any function call, for tools the other forms do not cover.
    Function(FunctionCall),
}

impl<'de> Deserialize<'de> for ReplyItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ReplyItem;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a reply item: a mapping with one key, `message`, `shell`, `mcp` or `function`",
                )
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ReplyItem, A::Error> {
                use serde::de::Error;
                let key: String = a.next_key()?.ok_or_else(|| {
                    A::Error::custom(
                        "empty reply item: use `message`, `shell`, `mcp` or `function`",
                    )
                })?;
                let item = match key.as_str() {
                    "message" => ReplyItem::Message(a.next_value()?),
                    "shell" => ReplyItem::Shell(a.next_value()?),
                    "mcp" => ReplyItem::Mcp(a.next_value()?),
                    "function" => ReplyItem::Function(a.next_value()?),
                    other => {
                        return Err(A::Error::custom(format!(
                            "unknown reply item `{other}`, expected one of `message`, `shell`, `mcp`, `function`"
                        )));
                    }
                };
                if let Some(extra) = a.next_key::<String>()? {
                    return Err(A::Error::custom(format!(
                        "a reply item has exactly one key; `{key}` is followed by `{extra}` (make it a separate list entry)"
                    )));
                }
                Ok(item)
            }
        }
        d.deserialize_map(V)
    }
}

/// `shell: "cmd"` or `shell: {cmd: ..., workdir: ..., ...}`; the fields are
/// `exec_command`'s own arguments in codex 0.169.0.
#[derive(Debug)]
pub enum ShellCall {
    /// Just the command.
    Cmd(Text),
    /// The command and optional `exec_command` arguments.
    Full(ShellArgs),
}

impl<'de> Deserialize<'de> for ShellCall {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::MapAccessDeserializer;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ShellCall;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a command string or a mapping with `cmd`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ShellCall, E> {
                Template::parse(v)
                    .map(|t| ShellCall::Cmd(Text(t)))
                    .map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, a: A) -> Result<ShellCall, A::Error> {
                ShellArgs::deserialize(MapAccessDeserializer::new(a)).map(ShellCall::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// `exec_command` arguments (see codex's tool schema).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellArgs {
    /// Shell command line.
    pub cmd: Text,
    /// Working directory.
    #[serde(default)]
    pub workdir: Option<Text>,
    /// How long codex waits for output before yielding (ms).
    #[serde(default)]
    pub yield_time_ms: Option<u64>,
    /// Output token budget.
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    /// Login shell semantics.
    #[serde(default)]
    pub login: Option<bool>,
    /// Allocate a PTY.
    #[serde(default)]
    pub tty: Option<bool>,
}

/// A call of an MCP tool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpCall {
    /// MCP server name as configured in codex (`mcp_servers.<server>`).
    pub server: String,
    /// Tool name.
    pub tool: String,
    /// Tool arguments.
    #[serde(default)]
    pub arguments: Args,
}

/// A raw function call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Namespace, if the tool is offered inside one.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Arguments.
    #[serde(default)]
    pub arguments: Args,
}

/// A scenario that failed to load; the message names the file, the field and the line.
#[derive(Debug, thiserror::Error)]
#[error("scenario {origin}: {message}")]
pub struct ScenarioError {
    /// File name or other origin of the text.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

/// The rule chosen for a request, with the captures its conditions produced.
#[derive(Debug)]
pub struct Match {
    /// Index of the rule in the scenario.
    pub index: usize,
    /// Regex captures (named and numbered groups).
    pub captures: HashMap<String, String>,
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            origin: origin.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_yaml(&text, &origin)
    }

    /// Parses and validates scenario YAML; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let err = |message: String| ScenarioError {
            origin: origin.to_owned(),
            message,
        };
        let scenario: Scenario = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
        if scenario.rules.is_empty() {
            return Err(err(
                "`rules` is empty: a scenario needs at least one rule".into()
            ));
        }
        for (i, rule) in scenario.rules.iter().enumerate() {
            if rule.reply.as_slice().is_empty() {
                return Err(err(format!(
                    "rule {} has an empty `reply`: give at least one item",
                    rule.label(i)
                )));
            }
            if rule.once && rule.times.is_some_and(|t| t != 1) {
                return Err(err(format!(
                    "rule {} sets both `once` and `times`",
                    rule.label(i)
                )));
            }
        }
        Ok(scenario)
    }

    /// First rule, in order, whose conditions hold and whose use count (`uses[i]`) is
    /// below its limit.
    pub fn select(&self, conv: &Conversation, uses: &[u32]) -> Option<Match> {
        self.rules.iter().enumerate().find_map(|(index, rule)| {
            let used = uses.get(index).copied().unwrap_or(0);
            if rule.limit().is_some_and(|limit| used >= limit) {
                return None;
            }
            rule.when
                .check(conv)
                .map(|captures| Match { index, captures })
        })
    }
}

impl Rule {
    /// How many requests the rule may answer.
    pub fn limit(&self) -> Option<u32> {
        if self.once { Some(1) } else { self.times }
    }

    /// The rule's name, or `#INDEX`.
    pub fn label(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("#{index}"))
    }

    /// Renders the reply into Responses-API output items; `ids` makes ids unique.
    pub fn render(
        &self,
        conv: &Conversation,
        captures: &HashMap<String, String>,
        ids: &mut dyn FnMut(&str) -> String,
    ) -> Result<Vec<Value>, RenderError> {
        let scope = Scope {
            conversation: conv,
            captures,
        };
        self.reply
            .as_slice()
            .iter()
            .map(|item| item.render(scope, ids))
            .collect()
    }
}

impl ReplyItem {
    fn render(
        &self,
        scope: Scope<'_>,
        ids: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, RenderError> {
        Ok(match self {
            ReplyItem::Message(text) => assistant_message(&ids("msg"), &text.0.render(scope)?),
            ReplyItem::Shell(shell) => {
                let mut args = Map::new();
                match shell {
                    ShellCall::Cmd(cmd) => {
                        args.insert("cmd".into(), Value::String(cmd.0.render(scope)?));
                    }
                    ShellCall::Full(a) => {
                        args.insert("cmd".into(), Value::String(a.cmd.0.render(scope)?));
                        if let Some(w) = &a.workdir {
                            args.insert("workdir".into(), Value::String(w.0.render(scope)?));
                        }
                        if let Some(v) = a.yield_time_ms {
                            args.insert("yield_time_ms".into(), json!(v));
                        }
                        if let Some(v) = a.max_output_tokens {
                            args.insert("max_output_tokens".into(), json!(v));
                        }
                        if let Some(v) = a.login {
                            args.insert("login".into(), json!(v));
                        }
                        if let Some(v) = a.tty {
                            args.insert("tty".into(), json!(v));
                        }
                    }
                }
                function_call(&ids("call"), None, "exec_command", &Value::Object(args))
            }
            ReplyItem::Mcp(call) => function_call(
                &ids("call"),
                Some(&format!("mcp__{}", call.server)),
                &call.tool,
                &call.arguments.0.render(scope)?,
            ),
            ReplyItem::Function(call) => function_call(
                &ids("call"),
                call.namespace.as_deref(),
                &call.name,
                &call.arguments.0.render(scope)?,
            ),
        })
    }
}

/// An assistant `message` output item.
pub fn assistant_message(id: &str, text: &str) -> Value {
    json!({
        "type": "message",
        "role": "assistant",
        "id": id,
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

/// A `function_call` output item; `arguments` is sent as a JSON string, as the API does.
pub fn function_call(
    call_id: &str,
    namespace: Option<&str>,
    name: &str,
    arguments: &Value,
) -> Value {
    let mut item = json!({
        "type": "function_call",
        "id": format!("fc_{call_id}"),
        "call_id": call_id,
        "name": name,
        "arguments": arguments.to_string(),
        "status": "completed",
    });
    if let Some(ns) = namespace {
        item["namespace"] = Value::String(ns.to_owned());
    }
    item
}

impl When {
    /// `Some(captures)` when every condition holds.
    pub fn check(&self, conv: &Conversation) -> Option<HashMap<String, String>> {
        let mut caps = HashMap::new();
        let prompt = conv.prompt.as_deref().unwrap_or("");
        if !contains_all(prompt, &self.prompt_contains)
            || !contains_all(&conv.instructions, &self.instructions_contains)
            || !contains_all(&conv.input_text, &self.input_contains)
        {
            return None;
        }
        for (pattern, text) in [
            (&self.prompt_matches, prompt),
            (&self.instructions_matches, conv.instructions.as_str()),
            (&self.input_matches, conv.input_text.as_str()),
        ] {
            if let Some(p) = pattern {
                capture(p, text, &mut caps)?;
            }
        }
        if let Some(model) = &self.model
            && conv.model.as_deref() != Some(model.as_str())
        {
            return None;
        }
        if let Some(count) = self.tool_calls
            && !count.holds(conv.turn_calls.len())
        {
            return None;
        }
        if let Some(cond) = &self.last_output {
            cond.check(conv.last_output()?, &mut caps)?;
        }
        Some(caps)
    }
}

impl OutputCondition {
    fn check(&self, out: &ToolOutput, caps: &mut HashMap<String, String>) -> Option<()> {
        if let Some(tool) = &self.tool {
            let qualified = out
                .namespace
                .as_ref()
                .map(|ns| format!("{ns}.{}", out.tool));
            if out.tool != *tool && qualified.as_deref() != Some(tool.as_str()) {
                return None;
            }
        }
        if !contains_all(&out.raw, &self.contains) {
            return None;
        }
        if let Some(code) = self.exit_code
            && out.exit_code != Some(code)
        {
            return None;
        }
        if let Some(p) = &self.matches {
            capture(p, &out.text, caps)?;
        }
        Some(())
    }
}

fn contains_all(text: &str, needles: &OneOrMany<String>) -> bool {
    needles.as_slice().iter().all(|n| text.contains(n.as_str()))
}

/// Adds the pattern's groups to `caps`. A named group already captured by an earlier
/// condition of the rule must capture the same text again, or the rule does not match (how
/// a rule says "the task in the prompt is the one whose test passed in the history").
fn capture(p: &Pattern, text: &str, caps: &mut HashMap<String, String>) -> Option<()> {
    let found = p.0.captures(text)?;
    for (i, name) in p.0.capture_names().enumerate() {
        if let Some(m) = found.get(i) {
            if let Some(name) = name {
                if caps.get(name).is_some_and(|seen| seen != m.as_str()) {
                    return None;
                }
                caps.insert(name.to_owned(), m.as_str().to_owned());
            }
            caps.insert(i.to_string(), m.as_str().to_owned());
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(input: Value) -> Conversation {
        Conversation::from_request(&json!({ "model": "mock-model", "input": input })).unwrap()
    }

    fn user(text: &str) -> Value {
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":text}]})
    }

    const SCENARIO: &str = r#"
name: sample
rules:
  - name: claim
    when:
      prompt_contains: "role: implementer"
      tool_calls: 0
    reply:
      - message: "claiming"
      - mcp: {server: team, tool: team_claim, arguments: {worker: "w1", n: 2}}
  - name: after-claim
    when:
      last_output: {tool: team_claim, matches: 'T-(?P<num>\d+)'}
    reply:
      mcp:
        server: team
        tool: team_complete
        arguments: {task_id: "{{ last_output.task_id }}", num: "{{ capture.num }}"}
  - name: shell
    once: true
    when: {prompt_contains: [run, shell]}
    reply:
      - shell: {cmd: "echo {{ prompt | json }}", yield_time_ms: 500}
  - name: fallback
    when: {tool_calls: {min: 1}}
    reply: {message: "done after {{ last_output.tool }}"}
"#;

    fn ids() -> impl FnMut(&str) -> String {
        let mut n = 0;
        move |p: &str| {
            n += 1;
            format!("{p}_{n}")
        }
    }

    #[test]
    fn parses_matches_and_renders() {
        let s = Scenario::from_yaml(SCENARIO, "inline").unwrap();
        assert_eq!(s.rules.len(), 4);

        let c = conv(json!([user("role: implementer, go")]));
        let m = s.select(&c, &[0; 4]).unwrap();
        assert_eq!(m.index, 0);
        let items = s.rules[0].render(&c, &m.captures, &mut ids()).unwrap();
        assert_eq!(items[0]["content"][0]["text"], "claiming");
        assert_eq!(items[1]["namespace"], "mcp__team");
        assert_eq!(items[1]["name"], "team_claim");
        let args: Value = serde_json::from_str(items[1]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"worker": "w1", "n": 2}));

        let c = conv(json!([
            user("role: implementer, go"),
            {"type":"function_call","namespace":"mcp__team","name":"team_claim","call_id":"c1","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":"{\"task_id\":\"T-12\"}"}
        ]));
        let m = s.select(&c, &[0; 4]).unwrap();
        assert_eq!(m.index, 1);
        let items = s.rules[1].render(&c, &m.captures, &mut ids()).unwrap();
        let args: Value = serde_json::from_str(items[0]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"task_id": "T-12", "num": "12"}));
    }

    #[test]
    fn limits_and_order() {
        let s = Scenario::from_yaml(SCENARIO, "inline").unwrap();
        let c = conv(json!([user("please run the shell")]));
        let m = s.select(&c, &[0; 4]).unwrap();
        assert_eq!(m.index, 2);
        let items = s.rules[2].render(&c, &m.captures, &mut ids()).unwrap();
        assert_eq!(items[0]["name"], "exec_command");
        let args: Value = serde_json::from_str(items[0]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(
            args,
            json!({"cmd": "echo \"please run the shell\"", "yield_time_ms": 500})
        );
        // `once` used up: nothing else matches a fresh turn.
        assert!(s.select(&c, &[0, 0, 1, 0]).is_none());
    }

    #[test]
    fn yaml_errors_name_problem_and_line() {
        let cases = [
            (
                "rules:\n  - when:\n      promt_contains: x\n    reply: {message: hi}\n",
                "unknown field `promt_contains`",
                "line 3",
            ),
            (
                "rules:\n  - reply:\n      - message: \"{{ last_ouput }}\"\n",
                "unknown variable `last_ouput`",
                "line 3",
            ),
            (
                "rules:\n  - when:\n      prompt_matches: \"(\"\n    reply: {message: hi}\n",
                "invalid regex",
                "line 3",
            ),
            (
                "rules:\n  - reply:\n      - shout: hi\n",
                "unknown reply item `shout`",
                "line 3",
            ),
            (
                "rules:\n  - reply:\n      - message: a\n        shell: b\n",
                "exactly one key",
                "line 3",
            ),
            (
                "rules:\n  - when: {tool_calls: -1}\n    reply: {message: a}\n",
                "cannot be -1",
                "line 2",
            ),
            (
                "rules:\n  - reply:\n      - shell: {cmd: ls, cwd: /}\n",
                "unknown field `cwd`",
                "line 3",
            ),
            (
                "rules:\n  - when: {prompt_contains: x}\n",
                "missing field `reply`",
                "line 2",
            ),
            ("rules: [\n", "", "line"),
            ("rules: []\n", "`rules` is empty", ""),
            ("rules:\n  - reply: []\n", "empty `reply`", ""),
        ];
        for (yaml, want, line) in cases {
            let err = Scenario::from_yaml(yaml, "bad.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("scenario bad.yaml: "), "{err}");
            assert!(err.contains(want), "want {want:?} in: {err}");
            assert!(err.contains(line), "want {line:?} in: {err}");
        }
    }

    #[test]
    fn fixtures_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 3, "expected fixture scenarios in {}", dir.display());
    }

    /// A group name captured by two conditions must capture the same text in both.
    #[test]
    fn a_name_captured_twice_must_agree() {
        let p = |re: &str| Pattern(regex::Regex::new(re).unwrap());
        let mut caps = HashMap::new();
        capture(&p("hold (?P<id>t-\\d+)"), "you hold t-2", &mut caps).unwrap();
        assert!(capture(&p("ok (?P<id>t-\\d+)"), "ok t-1", &mut caps.clone()).is_none());
        capture(&p("ok (?P<id>t-\\d+)"), "ok t-2", &mut caps).unwrap();
        assert_eq!(caps["id"], "t-2");
    }
}
