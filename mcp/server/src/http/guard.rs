//! Loopback-only `Host` and `Origin`, checked before anything else on every route.
//!
//! The bus listens on 127.0.0.1, but a web page in the user's browser can still reach it:
//! by DNS rebinding (its own name resolving to 127.0.0.1, caught by `Host`) or by a
//! cross-site request (caught by `Origin`). So `Host` must name a loopback address or
//! `localhost`, and `Origin`, when present, must be `http://` one of those (any port).
//! Anything else is 403 before authentication. rmcp's own loopback `Host` check stays on
//! behind this one.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `127.0.0.1`, any other loopback IP literal, `localhost`, `[::1]`, each with an optional
/// port.
pub(crate) fn is_loopback_authority(authority: &str) -> bool {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => return false,
            },
        };
        (inside, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || p.parse::<u16>().is_err()) {
        return false;
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `http://` + a loopback authority, nothing after it.
pub(crate) fn is_loopback_origin(origin: &str) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(is_loopback_authority)
}

fn forbidden(what: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("forbidden: {what}; this server answers loopback clients only\n"),
    )
        .into_response()
}

/// Why a request's `Host` or `Origin` is refused, if it is.
pub(crate) fn refusal(headers: &HeaderMap, uri_host: Option<&str>) -> Option<&'static str> {
    let host = headers
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or(""))
        .or(uri_host);
    if !host.is_some_and(is_loopback_authority) {
        return Some("Host must be a loopback address or localhost");
    }
    match headers.get(header::ORIGIN) {
        None => None,
        Some(o) if o.to_str().is_ok_and(is_loopback_origin) => None,
        Some(_) => Some("Origin must be http:// a loopback address or localhost"),
    }
}

/// The middleware: 403 for a foreign `Host` or `Origin`, else on to the route.
pub(crate) async fn loopback_only(req: Request, next: Next) -> Response {
    if let Some(why) = refusal(req.headers(), req.uri().authority().map(|a| a.as_str())) {
        tracing::debug!(target: "codex_teams::http", event = "request.forbidden", reason = why);
        return forbidden(why);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "http://127.0.0.1",
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://LOCALHOST:1",
            "http://[::1]",
            "http://[::1]:65535",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "null",
            "https://evil.example",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:80",
            "http://127.0.0.1:",
            "http://127.0.0.1:99999",
            "http://[::1]x",
            "http://127.0.0.1/path",
            "http://user@127.0.0.1",
            "file://",
            "",
        ] {
            assert!(!is_loopback_origin(bad), "{bad}");
        }
    }
}
