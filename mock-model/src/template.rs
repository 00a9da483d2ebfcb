//! `{{ ... }}` templates in scenario replies: how a scenario reuses what tools returned.
//!
//! Grammar: `{{ ROOT(.KEY | [N])* (| FILTER)* }}` with ROOT one of `prompt`, `last_output`,
//! `outputs.TOOL`, `capture.NAME`, and FILTER one of `json` (JSON-encode the value) or
//! `trim`. Templates are parsed when the scenario loads, so a typo fails the load, not a run.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::conversation::{Conversation, ToolOutput};

/// A parsed template string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
struct Expr {
    source: String,
    root: Root,
    path: Vec<Seg>,
    filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
enum Root {
    Prompt,
    LastOutput,
    /// A tool's latest output, or (`outputs.TOOL[N]`) its N-th in the conversation, from 0.
    Outputs(String, Option<usize>),
    Capture(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Filter {
    Json,
    Trim,
}

/// What a template can read: the request's conversation and the rule's regex captures.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The request being answered.
    pub conversation: &'a Conversation,
    /// Named (and numbered) groups captured by the rule's `*_matches` conditions.
    pub captures: &'a HashMap<String, String>,
}

/// A template that could not be evaluated against a request (a missing output or field).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

impl Template {
    /// Parses `source`; the error names the bad expression.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in template {source:?}"))?;
            parts.push(Part::Expr(parse_expr(after[..end].trim())?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written in the scenario.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders to text: strings are inserted as they are, other values as compact JSON.
    pub fn render(&self, scope: Scope<'_>) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => match e.eval(scope)? {
                    Value::String(s) => out.push_str(&s),
                    v => out.push_str(&v.to_string()),
                },
            }
        }
        Ok(out)
    }

    /// Renders to a JSON value: a template that is exactly one `{{ expr }}` keeps the
    /// value's JSON type (a number stays a number); anything else renders to a string.
    pub fn render_value(&self, scope: Scope<'_>) -> Result<Value, RenderError> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => e.eval(scope),
            _ => self.render(scope).map(Value::String),
        }
    }
}

fn parse_expr(src: &str) -> Result<Expr, String> {
    let (path_src, filter_src) = match src.split_once('|') {
        Some((p, f)) => (p.trim(), Some(f)),
        None => (src, None),
    };
    let mut filters = Vec::new();
    if let Some(f) = filter_src {
        for name in f.split('|').map(str::trim) {
            filters.push(match name {
                "json" => Filter::Json,
                "trim" => Filter::Trim,
                other => {
                    return Err(format!(
                        "unknown filter `{other}` in `{{{{ {src} }}}}` (known: json, trim)"
                    ));
                }
            });
        }
    }
    let segs = parse_path(path_src).map_err(|e| format!("{e} in `{{{{ {src} }}}}`"))?;
    let mut segs = segs.into_iter();
    let root = match segs.next() {
        Some(Seg::Key(k)) if k == "prompt" => Root::Prompt,
        Some(Seg::Key(k)) if k == "last_output" => Root::LastOutput,
        Some(Seg::Key(k)) if k == "outputs" => match segs.next() {
            Some(Seg::Key(tool)) => match segs.as_slice().first() {
                Some(Seg::Index(n)) => {
                    let n = *n;
                    segs.next();
                    Root::Outputs(tool, Some(n))
                }
                _ => Root::Outputs(tool, None),
            },
            _ => {
                return Err(format!(
                    "`outputs` needs a tool name, as in `outputs.exec_command.text`, in `{{{{ {src} }}}}`"
                ));
            }
        },
        Some(Seg::Key(k)) if k == "capture" => match segs.next() {
            Some(Seg::Key(name)) => Root::Capture(name),
            Some(Seg::Index(n)) => Root::Capture(n.to_string()),
            None => {
                return Err(format!(
                    "`capture` needs a group name, as in `capture.id`, in `{{{{ {src} }}}}`"
                ));
            }
        },
        Some(Seg::Key(k)) => {
            return Err(format!(
                "unknown variable `{k}` in `{{{{ {src} }}}}` (known: prompt, last_output, outputs.TOOL, capture.NAME)"
            ));
        }
        _ => return Err(format!("empty or malformed expression `{{{{ {src} }}}}`")),
    };
    Ok(Expr {
        source: src.to_owned(),
        root,
        path: segs.collect(),
        filters,
    })
}

/// `a.b[0].c` or `a.b.0.c`: keys separated by dots, indexes in brackets or as numeric keys.
fn parse_path(src: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    for dotted in src.split('.') {
        let mut piece = dotted;
        let key_end = piece.find('[').unwrap_or(piece.len());
        let key = &piece[..key_end];
        if key.is_empty() && key_end == piece.len() {
            return Err("empty path segment".into());
        }
        if key.chars().any(char::is_whitespace) {
            return Err(format!("whitespace inside path segment `{key}`"));
        }
        if !key.is_empty() {
            segs.push(match key.parse::<usize>() {
                Ok(n) if segs.is_empty() => {
                    return Err(format!("path cannot start with index {n}"));
                }
                Ok(n) => Seg::Index(n),
                Err(_) => Seg::Key(key.to_owned()),
            });
        }
        piece = &piece[key_end..];
        while let Some(inner) = piece.strip_prefix('[') {
            let close = inner.find(']').ok_or("unclosed `[`")?;
            let n = inner[..close]
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("`[{}]` is not an index", &inner[..close]))?;
            segs.push(Seg::Index(n));
            piece = &inner[close + 1..];
        }
        if !piece.is_empty() {
            return Err(format!("unexpected `{piece}` after `]`"));
        }
    }
    Ok(segs)
}

impl Expr {
    fn eval(&self, scope: Scope<'_>) -> Result<Value, RenderError> {
        let fail = |msg: String| RenderError(format!("`{{{{ {} }}}}`: {msg}", self.source));
        let conv = scope.conversation;
        let mut value = match &self.root {
            Root::Prompt => Value::String(
                conv.prompt
                    .clone()
                    .ok_or_else(|| fail("the request has no user prompt".into()))?,
            ),
            Root::Capture(name) => Value::String(
                scope
                    .captures
                    .get(name)
                    .cloned()
                    .ok_or_else(|| fail(format!("no capture group `{name}` matched")))?,
            ),
            Root::LastOutput => {
                let out = conv
                    .last_output()
                    .ok_or_else(|| fail("no tool output in this turn yet".into()))?;
                return self.finish(walk_output(out, &self.path).map_err(fail)?);
            }
            Root::Outputs(tool, nth) => {
                let out = match nth {
                    None => conv.latest_output_of(tool),
                    Some(n) => conv.outputs_of(tool).nth(*n),
                }
                .ok_or_else(|| match nth {
                    None => fail(format!("no output of tool `{tool}` in the conversation")),
                    Some(n) => fail(format!(
                        "tool `{tool}` has no output number {n} (from 0) in the conversation"
                    )),
                })?;
                return self.finish(walk_output(out, &self.path).map_err(fail)?);
            }
        };
        value = walk(&value, &self.path).map_err(fail)?;
        self.finish(value)
    }

    fn finish(&self, mut value: Value) -> Result<Value, RenderError> {
        for f in &self.filters {
            value = match (f, value) {
                (Filter::Json, v) => Value::String(v.to_string()),
                (Filter::Trim, Value::String(s)) => Value::String(s.trim().to_owned()),
                (Filter::Trim, v) => v,
            };
        }
        Ok(value)
    }
}

/// `last_output.text` etc. reach the output's own fields; any other key reaches into the
/// output parsed as JSON (`last_output.task_id` == `last_output.json.task_id`).
fn walk_output(out: &ToolOutput, path: &[Seg]) -> Result<Value, String> {
    let fields = out.to_value();
    match path.first() {
        None => Ok(Value::String(out.text.clone())),
        Some(Seg::Key(k)) if fields.get(k).is_some() => walk(&fields[k.as_str()], &path[1..]),
        Some(_) => match &out.json {
            Some(json) => walk(json, path),
            None => Err(format!(
                "the output of `{}` is not JSON, so it has no field `{}` (text: {:?})",
                out.tool,
                path_string(path),
                excerpt(&out.text)
            )),
        },
    }
}

fn walk(value: &Value, path: &[Seg]) -> Result<Value, String> {
    let mut cur = value;
    for (i, seg) in path.iter().enumerate() {
        let next = match seg {
            Seg::Key(k) => cur.get(k.as_str()),
            Seg::Index(n) => cur.get(*n),
        };
        cur = next.ok_or_else(|| {
            format!(
                "no `{}` in {}",
                path_string(&path[..=i]),
                excerpt(&cur.to_string())
            )
        })?;
    }
    Ok(cur.clone())
}

fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

fn excerpt(s: &str) -> String {
    if s.chars().count() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv() -> Conversation {
        Conversation::from_request(&json!({"input": [
            {"type":"message","role":"user","content":[{"type":"input_text","text":"do task"}]},
            {"type":"function_call","namespace":"mcp__team","name":"team_claim","call_id":"c1","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":"{\"task_id\":\"T-7\",\"n\":3,\"list\":[{\"a\":1}]}"},
            {"type":"function_call","name":"exec_command","call_id":"c2","arguments":"{}"},
            {"type":"function_call_output","call_id":"c2","output":"Process exited with code 0\nOutput:\n  hello  \n"}
        ]}))
        .unwrap()
    }

    fn render(src: &str) -> Result<String, RenderError> {
        let c = conv();
        let caps = HashMap::from([("id".to_string(), "42".to_string())]);
        Template::parse(src).unwrap().render(Scope {
            conversation: &c,
            captures: &caps,
        })
    }

    #[test]
    fn renders_paths_filters_and_captures() {
        assert_eq!(render("p={{ prompt }}").unwrap(), "p=do task");
        assert_eq!(render("{{last_output.text|trim}}!").unwrap(), "hello!");
        assert_eq!(render("{{ last_output.exit_code }}").unwrap(), "0");
        assert_eq!(render("{{ outputs.team_claim.task_id }}").unwrap(), "T-7");
        assert_eq!(
            render("{{ outputs.team_claim[0].task_id }}").unwrap(),
            "T-7"
        );
        let e = render("{{ outputs.team_claim[1].task_id }}").unwrap_err().0;
        assert!(e.contains("no output number 1"), "{e}");
        assert_eq!(render("{{ outputs.team_claim.list[0].a }}").unwrap(), "1");
        assert_eq!(
            render("{{ outputs.team_claim.json.list.0 }}").unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(render("{{ capture.id | json }}").unwrap(), "\"42\"");
        assert_eq!(render("no braces").unwrap(), "no braces");
    }

    #[test]
    fn whole_expression_keeps_json_type() {
        let c = conv();
        let caps = HashMap::new();
        let scope = Scope {
            conversation: &c,
            captures: &caps,
        };
        let t = Template::parse("{{ outputs.team_claim.n }}").unwrap();
        assert_eq!(t.render_value(scope).unwrap(), json!(3));
        let t = Template::parse("n={{ outputs.team_claim.n }}").unwrap();
        assert_eq!(t.render_value(scope).unwrap(), json!("n=3"));
    }

    #[test]
    fn missing_values_are_named() {
        let err = render("{{ outputs.team_claim.nope }}").unwrap_err().0;
        assert!(err.contains("no `nope`"), "{err}");
        let err = render("{{ last_output.task_id }}").unwrap_err().0;
        assert!(err.contains("not JSON"), "{err}");
        let err = render("{{ outputs.team_send.id }}").unwrap_err().0;
        assert!(err.contains("no output of tool `team_send`"), "{err}");
        let err = render("{{ capture.zz }}").unwrap_err().0;
        assert!(err.contains("`zz`"), "{err}");
    }

    #[test]
    fn syntax_errors_are_named() {
        for (src, want) in [
            ("{{ last_ouput.text }}", "unknown variable `last_ouput`"),
            ("{{ prompt", "unclosed"),
            ("{{ prompt | upper }}", "unknown filter `upper`"),
            ("{{ outputs }}", "needs a tool name"),
            ("{{ last_output.list[x] }}", "not an index"),
            ("{{ }}", "empty"),
        ] {
            let err = Template::parse(src).unwrap_err();
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}
