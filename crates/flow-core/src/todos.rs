//! TodoWrite lists (`todos/<sid>.json`, `todos/<sid>-agent-<aid>.json`, contract §6): a JSON
//! array of `{content, status, activeForm, id?, priority?}`. Lenient like every reader of
//! Claude Code's files: an item that is not an object is skipped, a field of the wrong type is
//! absent.

use serde_json::Value;

use crate::ids::SessionId;

/// One item of a todo list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoItem {
    pub content: Option<String>,
    pub status: Option<String>,
    pub active_form: Option<String>,
}

/// `<sid>.json` → (sid, None); `<sid>-agent-<aid>.json` → (sid, Some(aid)). Both parts must be
/// valid ids.
pub fn todo_file(name: &str) -> Option<(&str, Option<&str>)> {
    if crate::layout::is_ignored_name(name) {
        return None;
    }
    let stem = name.strip_suffix(".json")?;
    let (session, agent) = match stem.find("-agent-") {
        Some(at) => (&stem[..at], Some(&stem[at + "-agent-".len()..])),
        None => (stem, None),
    };
    let ok = |id: &str| SessionId::parse(id).is_ok();
    (ok(session) && agent.is_none_or(ok)).then_some((session, agent))
}

#[derive(Debug, thiserror::Error)]
pub enum TodoError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a JSON array")]
    NotAnArray,
}

pub fn parse(bytes: &[u8]) -> Result<Vec<TodoItem>, TodoError> {
    let Value::Array(items) = serde_json::from_slice(bytes)? else {
        return Err(TodoError::NotAnArray);
    };
    let text = |m: &serde_json::Map<String, Value>, k: &str| {
        m.get(k).and_then(Value::as_str).map(str::to_owned)
    };
    Ok(items
        .iter()
        .filter_map(Value::as_object)
        .map(|m| TodoItem {
            content: text(m, "content"),
            status: text(m, "status"),
            active_form: text(m, "activeForm"),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let sid = "fe5e1c67-53e7-4862-81ae-d0e013e3270b";
        assert_eq!(todo_file(&format!("{sid}.json")), Some((sid, None)));
        assert_eq!(
            todo_file(&format!("{sid}-agent-{sid}.json")),
            Some((sid, Some(sid)))
        );
        assert_eq!(todo_file(&format!("{sid}-agent-.json")), None);
        assert_eq!(todo_file(&format!(".{sid}.json")), None);
        assert_eq!(todo_file("x.txt"), None);
    }

    #[test]
    fn items_are_lenient() {
        let items = parse(
            br#"[{"content":"a","status":"completed","activeForm":"Doing a","id":"1"},{"content":3},7]"#,
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].active_form.as_deref(), Some("Doing a"));
        assert_eq!(items[1].content, None);
        assert!(parse(b"{}").is_err());
    }
}
