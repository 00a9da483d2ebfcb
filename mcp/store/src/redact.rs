//! The one rule set for stripping secrets, used by the store for every event it writes and
//! by the MCP layer and the supervisor for every log line.
//!
//! Tool arguments, task texts and message bodies are written by models, which paste whatever
//! they see; logs and the event log outlive runs and get shared. So every logged or recorded
//! string goes through [`redact_str`] and every JSON value through [`redact_json`]: bearer
//! tokens, `sk-...` keys, our own `ctt_...` agent tokens, and values under keys named like
//! token/secret/password/api_key become `[REDACTED]`. It lives in the store crate, the lowest
//! one, so the store and everything above it share it without an import cycle.

use std::borrow::Cow;

use serde_json::Value;

/// What a secret is replaced by.
pub const REDACTED: &str = "[REDACTED]";

/// Prefix of every agent bearer token codex-teams mints (`ctt_` + 64 hex digits). It makes a
/// leaked token recognisable, so it is stripped even where it is not under a key named like
/// `token`.
pub const AGENT_TOKEN_PREFIX: &str = "ctt_";

/// Whole words (after splitting a key on `_`, `-`, `.`, spaces and camelCase) that mark a
/// key's value as secret.
const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "secrets",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "apikey",
    "authorization",
    "auth",
    "credential",
    "credentials",
    "bearer",
    "cookie",
    "privatekey",
    "accesskey",
];

/// Suffixes of a key with its separators removed (`accesstoken`, `clientsecret`, `xapikey`).
const SECRET_SUFFIXES: &[&str] = &["token", "secret", "password", "apikey"];

/// Two-word pairs that together mark a secret (`api_key`, `private-key`, `accessKey`).
const SECRET_PAIRS: &[(&str, &str)] = &[("api", "key"), ("private", "key"), ("access", "key")];

/// Whether the value under `key` must never be logged. `input_tokens` or `max_tokens` are
/// not secrets; `token`, `token_hash`, `apiKey`, `CLIENT_SECRET`, `db.password` are.
pub fn is_sensitive_key(key: &str) -> bool {
    let words = split_words(key);
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        return true;
    }
    if words
        .windows(2)
        .any(|p| SECRET_PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
    {
        return true;
    }
    let joined: String = words.concat();
    SECRET_SUFFIXES.iter().any(|s| joined.ends_with(s))
}

fn split_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// A copy of `s` with secrets replaced; borrowed when nothing was found.
pub fn redact_str(s: &str) -> Cow<'_, str> {
    if !may_hold_secret(s) {
        return Cow::Borrowed(s);
    }
    let out = redact_key_values(&redact_prefixed(
        &redact_prefixed(&redact_bearer(s), "sk-", 16, |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }),
        AGENT_TOKEN_PREFIX,
        16,
        |c| c.is_ascii_hexdigit(),
    ));
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// Whether any rule of [`redact_str`] could apply: each needs one of these marks, and
/// most strings the store logs (ids, names, counts) have none. Skipping the rules for them
/// keeps the event log off the bus's hot path (`bench bus`: 7% of a send).
fn may_hold_secret(s: &str) -> bool {
    s.contains(['=', ':'])
        || s.contains("sk-")
        || s.contains(AGENT_TOKEN_PREFIX)
        || s.as_bytes()
            .windows("bearer".len())
            .any(|w| w.eq_ignore_ascii_case(b"bearer"))
}

/// A copy of `v` with every secret-named key's value and every secret inside a string
/// replaced.
pub fn redact_json(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive_key(k) && !v.is_null() {
                        Value::String(REDACTED.to_string())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::String(s) => Value::String(redact_str(s).into_owned()),
        other => other.clone(),
    }
}

/// A short, redacted preview of a message body for a log line (bodies themselves are in the
/// store, not the logs).
pub fn preview(s: &str, max_chars: usize) -> String {
    let red = redact_str(s);
    let mut out: String = red.chars().take(max_chars).collect();
    if red.chars().count() > max_chars {
        out.push('…');
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// Shorter words after "bearer" are prose ("the bearer of"), not credentials.
const MIN_BEARER_LEN: usize = 8;

/// `Bearer <token>` (any case) → `Bearer [REDACTED]`.
fn redact_bearer(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find("bearer") {
        let start = i + pos;
        let after = start + "bearer".len();
        let word_start = start == 0
            || !s[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let ws_len = s[after..].len() - s[after..].trim_start().len();
        let tok_len: usize = s[after + ws_len..]
            .chars()
            .take_while(|c| is_token_char(*c))
            .map(char::len_utf8)
            .sum();
        let already = s[after + ws_len..].starts_with(REDACTED);
        if word_start && ws_len > 0 && tok_len >= MIN_BEARER_LEN && !already {
            out.push_str(&s[i..after + ws_len]);
            out.push_str(REDACTED);
            i = after + ws_len + tok_len;
        } else {
            out.push_str(&s[i..after]);
            i = after;
        }
    }
    out.push_str(&s[i..]);
    out
}

/// `<prefix><at least min_len body chars>` → `<prefix>[REDACTED]`, when the prefix starts a
/// word.
fn redact_prefixed(s: &str, prefix: &str, min_len: usize, body: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = s[i..].find(prefix) {
        let start = i + pos;
        let after = start + prefix.len();
        let word_start = start == 0
            || !s[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric());
        let body_len: usize = s[after..]
            .chars()
            .take_while(|c| body(*c))
            .map(char::len_utf8)
            .sum();
        if word_start && body_len >= min_len {
            out.push_str(&s[i..after]);
            out.push_str(REDACTED);
            i = after + body_len;
        } else {
            out.push_str(&s[i..after]);
            i = after;
        }
    }
    out.push_str(&s[i..]);
    out
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || "_.-".contains(c)
}

/// `password=hunter2`, `"api_key": "abc"`, `Authorization: Basic xyz` → value redacted.
fn redact_key_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0; // everything before i is in `out`
    let mut j = 0; // scan position
    let bytes = s.as_bytes();
    while j < s.len() {
        let c = s[j..].chars().next().unwrap_or(' ');
        if !is_key_char(c) {
            j += c.len_utf8();
            continue;
        }
        let key_start = j;
        while j < s.len() {
            let c = s[j..].chars().next().unwrap_or(' ');
            if !is_key_char(c) {
                break;
            }
            j += c.len_utf8();
        }
        let key = &s[key_start..j];
        if !is_sensitive_key(key) {
            continue;
        }
        // optional closing quote of a JSON key, spaces, separator, spaces, optional quote
        let mut k = j;
        if k < s.len() && (bytes[k] == b'"' || bytes[k] == b'\'') {
            k += 1;
        }
        while k < s.len() && bytes[k] == b' ' {
            k += 1;
        }
        if k >= s.len() || (bytes[k] != b'=' && bytes[k] != b':') {
            continue;
        }
        k += 1;
        while k < s.len() && bytes[k] == b' ' {
            k += 1;
        }
        let (mut vstart, mut vend) = value_span(s, k);
        let word = s[vstart..vend].to_ascii_lowercase();
        if word == "bearer" || word == "basic" {
            let mut m = vend;
            while m < s.len() && bytes[m] == b' ' {
                m += 1;
            }
            (vstart, vend) = value_span(s, m);
        }
        if vend > vstart && &s[vstart..vend] != REDACTED {
            out.push_str(&s[i..vstart]);
            out.push_str(REDACTED);
            i = vend;
        }
        j = vend.max(j);
    }
    out.push_str(&s[i..]);
    out
}

/// The value starting at `k`: a quoted string's inside, or a bare word.
fn value_span(s: &str, k: usize) -> (usize, usize) {
    let bytes = s.as_bytes();
    if k < s.len() && (bytes[k] == b'"' || bytes[k] == b'\'') {
        let q = bytes[k];
        let start = k + 1;
        let mut e = start;
        while e < s.len() && bytes[e] != q {
            if bytes[e] == b'\\' {
                e += 1;
            }
            e += 1;
        }
        (start, e.min(s.len()))
    } else if s[k..].starts_with(REDACTED) {
        (k, k + REDACTED.len())
    } else {
        let end = s[k..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || ",;&)}]\"'".contains(*c))
            .map_or(s.len(), |(n, _)| k + n);
        (k, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_keys() {
        let table = [
            ("token", true),
            ("token_hash", true),
            ("access_token", true),
            ("accessToken", true),
            ("CODEX_TEAMS_TOKEN", true),
            ("api_key", true),
            ("apiKey", true),
            ("APIKEY", true),
            ("x-api-key", true),
            ("client_secret", true),
            ("db.password", true),
            ("Authorization", true),
            ("private-key", true),
            ("input_tokens", false),
            ("max_tokens", false),
            ("cached_input_tokens", false),
            ("key", false),
            ("idempotency_key", false),
            ("body", false),
            ("author", false),
            ("monkey", false),
        ];
        for (key, want) in table {
            assert_eq!(is_sensitive_key(key), want, "key {key:?}");
        }
    }

    /// The shortcut for strings without a secret's mark gives what the full rules give,
    /// on strings with and without one.
    #[test]
    fn the_shortcut_agrees_with_the_rules() {
        let full = |s: &str| {
            redact_key_values(&redact_prefixed(
                &redact_prefixed(&redact_bearer(s), "sk-", 16, |c| {
                    c.is_ascii_alphanumeric() || c == '-' || c == '_'
                }),
                AGENT_TOKEN_PREFIX,
                16,
                |c| c.is_ascii_hexdigit(),
            ))
        };
        for s in [
            "msg-0193a1b2c3d4e5f60718293a4b5c6d7e",
            "agt-01 sent 42 bytes",
            "BeArEr abcdefghijkl",
            "x sk-abcdefghijklmnopqrstuv",
            "ctt_0123456789abcdef0123456789abcdef",
            "token=abc",
            "api_key: xyz",
            "plain words, no marks",
            "",
        ] {
            assert_eq!(redact_str(s), full(s), "{s:?}");
            if !may_hold_secret(s) {
                assert!(matches!(redact_str(s), Cow::Borrowed(_)), "{s:?}");
            }
        }
    }

    #[test]
    fn strings() {
        let table = [
            ("nothing to see", "nothing to see"),
            (
                "Authorization: Bearer abc.def-123",
                "Authorization: Bearer [REDACTED]",
            ),
            ("curl -H 'bearer XYZ12345'", "curl -H 'bearer [REDACTED]'"),
            ("the bearer of bad news", "the bearer of bad news"),
            (
                "key sk-abcdefghijklmnopqrstuvwx here",
                "key sk-[REDACTED] here",
            ),
            ("sk-proj-AAAAAAAAAAAAAAAAAAAAAA", "sk-[REDACTED]"),
            ("task-1 and desk-2 stay", "task-1 and desk-2 stay"),
            ("sk-short", "sk-short"),
            (
                "use ctt_0123456789abcdef0123456789abcdef please",
                "use ctt_[REDACTED] please",
            ),
            ("password=hunter2 next", "password=[REDACTED] next"),
            ("PASSWORD = 'hunter 2'", "PASSWORD = '[REDACTED]'"),
            (
                r#"{"api_key": "abc123", "n": 1}"#,
                r#"{"api_key": "[REDACTED]", "n": 1}"#,
            ),
            ("client_secret:s3cr3t,x=1", "client_secret:[REDACTED],x=1"),
            (
                "Authorization: Basic dXNlcjpwYXNz",
                "Authorization: Basic [REDACTED]",
            ),
            ("input_tokens: 100", "input_tokens: 100"),
            (
                "https://x/?token=abc&y=2",
                "https://x/?token=[REDACTED]&y=2",
            ),
            ("ünïcödé token=é ok", "ünïcödé token=[REDACTED] ok"),
        ];
        for (input, want) in table {
            assert_eq!(redact_str(input), want, "input {input:?}");
        }
    }

    #[test]
    fn unchanged_strings_are_borrowed() {
        assert!(matches!(redact_str("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_values() {
        let input = json!({
            "to": "agt-1",
            "body": "here is sk-abcdefghijklmnopqrstuvwxyz",
            "token": "ctt_x",
            "nested": {"Password": {"deep": 1}, "input_tokens": 5, "list": ["Bearer abcdefgh1"]},
            "api_key": null
        });
        let want = json!({
            "to": "agt-1",
            "body": "here is sk-[REDACTED]",
            "token": "[REDACTED]",
            "nested": {"Password": "[REDACTED]", "input_tokens": 5, "list": ["Bearer [REDACTED]"]},
            "api_key": null
        });
        assert_eq!(redact_json(&input), want);
    }

    #[test]
    fn preview_truncates_after_redacting() {
        assert_eq!(preview("password=abc rest", 12), "password=[RE…");
        assert_eq!(preview("short", 12), "short");
    }
}
