//! Finds a response's usage in what the provider streams back, as it streams: the
//! `response.completed` (or `.incomplete` / `.failed`) event of a Responses API SSE stream,
//! or the `usage` of a plain JSON reply. Bytes pass through untouched; only whole lines are
//! looked at, and only lines that name one of those events are parsed.

use codex_teams_codex_exec::Usage;
use serde_json::Value;

/// The largest line kept while waiting for its end; longer ones are deltas we do not need.
const MAX_LINE: usize = 4 << 20;
/// The largest JSON body read for its usage.
const MAX_JSON: usize = 16 << 20;

/// What kind of body is being scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `text/event-stream`.
    Sse,
    /// `application/json`: usage is read at the end.
    Json,
    /// Anything else carries no usage.
    Other,
}

impl BodyKind {
    /// From the `content-type` header.
    pub fn of(content_type: Option<&str>) -> Self {
        match content_type.map(str::to_ascii_lowercase) {
            Some(c) if c.contains("text/event-stream") => BodyKind::Sse,
            Some(c) if c.contains("json") => BodyKind::Json,
            _ => BodyKind::Other,
        }
    }
}

/// Incremental scanner over one response body.
#[derive(Debug)]
pub struct UsageScan {
    kind: BodyKind,
    buf: Vec<u8>,
    overflow: bool,
}

impl UsageScan {
    /// A scanner for a body of this kind.
    pub fn new(kind: BodyKind) -> Self {
        UsageScan {
            kind,
            buf: Vec::new(),
            overflow: false,
        }
    }

    /// Feeds the next chunk; returns the usage if this chunk completed the event carrying it.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<Usage> {
        match self.kind {
            BodyKind::Other => None,
            BodyKind::Json => {
                if self.buf.len() + chunk.len() <= MAX_JSON {
                    self.buf.extend_from_slice(chunk);
                } else {
                    self.overflow = true;
                }
                None
            }
            BodyKind::Sse => {
                let mut found = None;
                for piece in chunk.split_inclusive(|b| *b == b'\n') {
                    if self.buf.len() + piece.len() <= MAX_LINE {
                        self.buf.extend_from_slice(piece);
                    } else {
                        self.overflow = true;
                    }
                    if piece.ends_with(b"\n") {
                        if !self.overflow
                            && let Some(u) = sse_line_usage(&self.buf)
                        {
                            found = Some(u);
                        }
                        self.buf.clear();
                        self.overflow = false;
                    }
                }
                found
            }
        }
    }

    /// The body ended: a JSON body's usage, or an SSE event whose line had no newline.
    pub fn finish(&mut self) -> Option<Usage> {
        let buf = std::mem::take(&mut self.buf);
        if self.overflow {
            return None;
        }
        match self.kind {
            BodyKind::Json => {
                let v: Value = serde_json::from_slice(&buf).ok()?;
                usage_of(v.get("usage").or_else(|| v.pointer("/response/usage"))?)
            }
            BodyKind::Sse => sse_line_usage(&buf),
            BodyKind::Other => None,
        }
    }
}

fn sse_line_usage(line: &[u8]) -> Option<Usage> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let data = text.strip_prefix("data:")?.trim_start();
    if !(data.contains("response.completed")
        || data.contains("response.incomplete")
        || data.contains("response.failed"))
    {
        return None;
    }
    let v: Value = serde_json::from_str(data).ok()?;
    match v.get("type")?.as_str()? {
        "response.completed" | "response.incomplete" | "response.failed" => {
            usage_of(v.pointer("/response/usage")?)
        }
        _ => None,
    }
}

/// A Responses API `usage` object as codex counts it.
fn usage_of(u: &Value) -> Option<Usage> {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    if !u.is_object() {
        return None;
    }
    Some(Usage {
        input_tokens: n("/input_tokens"),
        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
        cache_write_input_tokens: 0,
        output_tokens: n("/output_tokens"),
        reasoning_output_tokens: n("/output_tokens_details/reasoning_tokens"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: &str = "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"usage\":{\"input_tokens\":100,\"input_tokens_details\":{\"cached_tokens\":40},\"output_tokens\":7,\"output_tokens_details\":{\"reasoning_tokens\":2},\"total_tokens\":107}}}\n\n";

    fn want() -> Usage {
        Usage {
            input_tokens: 100,
            cached_input_tokens: 40,
            cache_write_input_tokens: 0,
            output_tokens: 7,
            reasoning_output_tokens: 2,
        }
    }

    /// Split at every byte boundary, the usage is found exactly once, in the chunk that
    /// completes its line.
    #[test]
    fn finds_usage_across_any_chunking() {
        let body = format!(
            "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{\"id\":\"r1\"}}}}\n\ndata: {{\"type\":\"response.output_text.delta\",\"delta\":\"response.completed\"}}\n\n{DONE}"
        );
        let bytes = body.as_bytes();
        for cut in 0..bytes.len() {
            let mut s = UsageScan::new(BodyKind::Sse);
            let a = s.feed(&bytes[..cut]);
            let b = s.feed(&bytes[cut..]);
            let found: Vec<Usage> = [a, b, s.finish()].into_iter().flatten().collect();
            assert_eq!(found, vec![want()], "cut at {cut}");
        }
    }

    #[test]
    fn json_bodies_and_others() {
        let mut j = UsageScan::new(BodyKind::of(Some("application/json; charset=utf-8")));
        assert_eq!(j.feed(br#"{"output":[],"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":40},"#), None);
        assert_eq!(
            j.feed(br#""output_tokens":7,"output_tokens_details":{"reasoning_tokens":2}}}"#),
            None
        );
        assert_eq!(j.finish(), Some(want()));
        let mut o = UsageScan::new(BodyKind::of(Some("text/plain")));
        assert_eq!(o.feed(DONE.as_bytes()), None);
        assert_eq!(o.finish(), None);
        let mut no_nl = UsageScan::new(BodyKind::Sse);
        assert_eq!(no_nl.feed(DONE.trim_end().as_bytes()), None);
        assert_eq!(
            no_nl.finish(),
            Some(want()),
            "last line without its newline"
        );
        let mut bad = UsageScan::new(BodyKind::Sse);
        assert_eq!(
            bad.feed(b"data: {\"type\":\"response.completed\",\"response\":{}}\n"),
            None
        );
    }
}
