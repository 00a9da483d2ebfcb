//! The scripted model's latency model: a fixed cost per request plus a cost per output token,
//! so that wall-time comparisons between a team and a single agent mean something (a real
//! model takes longer to write a long answer, and every request pays a round trip).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// How long the scripted model "thinks" before it answers one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Paid once per request, whatever the answer.
    #[serde(default)]
    pub request_ms: u64,
    /// Paid per output token of the answer.
    #[serde(default)]
    pub output_token_ms: u64,
}

impl Latency {
    /// Only a per-request delay.
    pub fn per_request(d: Duration) -> Latency {
        Latency {
            request_ms: d.as_millis() as u64,
            output_token_ms: 0,
        }
    }

    /// The delay before an answer of `output_tokens` tokens.
    pub fn delay(&self, output_tokens: u64) -> Duration {
        Duration::from_millis(
            self.request_ms
                .saturating_add(self.output_token_ms.saturating_mul(output_tokens)),
        )
    }

    /// No delay at all.
    pub fn is_zero(&self) -> bool {
        self.request_ms == 0 && self.output_token_ms == 0
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}/tok", self.request_ms, self.output_token_ms)
    }
}

/// A latency spec that does not parse; the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "latency `{0}` is not REQUEST_MS or REQUEST_MS+TOKEN_MS/tok (e.g. `800+20/tok`, `0` for none)"
)]
pub struct BadLatency(pub String);

impl FromStr for Latency {
    type Err = BadLatency;

    /// `REQUEST_MS`, `REQUEST_MS+TOKEN_MS/tok`, or `none`.
    fn from_str(s: &str) -> Result<Latency, BadLatency> {
        let bad = || BadLatency(s.to_string());
        let t = s.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(Latency::default());
        }
        let (req, tok) = match t.split_once('+') {
            Some((r, rest)) => (r, Some(rest)),
            None => (t, None),
        };
        let num = |v: &str| {
            v.trim()
                .trim_end_matches("ms")
                .parse::<u64>()
                .map_err(|_| bad())
        };
        let request_ms = num(req)?;
        let output_token_ms = match tok {
            None => 0,
            Some(rest) => num(rest.trim().strip_suffix("/tok").ok_or_else(bad)?)?,
        };
        Ok(Latency {
            request_ms,
            output_token_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let l: Latency = "800+20/tok".parse().unwrap();
        assert_eq!(
            l,
            Latency {
                request_ms: 800,
                output_token_ms: 20
            }
        );
        assert_eq!(l.delay(10), Duration::from_millis(1000));
        assert_eq!(
            "250ms".parse::<Latency>().unwrap().delay(99),
            Duration::from_millis(250)
        );
        assert!("none".parse::<Latency>().unwrap().is_zero());
        assert_eq!(l.to_string().parse::<Latency>().unwrap(), l);
    }

    #[test]
    fn rejects_what_it_cannot_read_naming_the_value() {
        for bad in ["", "fast", "800+20", "-5", "1+x/tok"] {
            let e = bad.parse::<Latency>().unwrap_err().to_string();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }
}
