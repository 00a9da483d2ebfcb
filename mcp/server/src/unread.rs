//! A one-line notice of unread mail on every tool result, so a busy agent learns of a message
//! mid-turn without polling its inbox (no peer is delivered into a running turn otherwise).
//! Added as an `unread` field of the result object only when there is mail: no cost otherwise.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// Tools whose own result is about the inbox: no notice there.
pub fn skips(tool: &str) -> bool {
    matches!(tool, "team_pull_inbox" | "team_wait" | "team_status")
}

/// Adds `"unread": "N unread message(s): call team_pull_inbox"` to a successful structured
/// result, keeping its text content (what codex shows the model) the same JSON.
pub fn annotate(result: &mut CallToolResult, unread: usize) {
    if unread == 0 || result.is_error == Some(true) {
        return;
    }
    let Some(Value::Object(map)) = &mut result.structured_content else {
        return;
    };
    let s = if unread == 1 { "" } else { "s" };
    map.insert(
        "unread".into(),
        Value::String(format!("{unread} unread message{s}: call team_pull_inbox")),
    );
    let text = Value::Object(map.clone()).to_string();
    result.content = vec![ContentBlock::text(text)];
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_notice_only_when_there_is_mail() {
        let mut r = CallToolResult::structured(json!({"id": "t1"}));
        annotate(&mut r, 0);
        assert_eq!(r.structured_content, Some(json!({"id": "t1"})));
        annotate(&mut r, 2);
        let want = json!({"id": "t1", "unread": "2 unread messages: call team_pull_inbox"});
        assert_eq!(r.structured_content, Some(want.clone()));
        let text = r.content[0].as_text().unwrap().text.clone();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), want);
        assert!(skips("team_pull_inbox") && !skips("task_update"));
    }
}
