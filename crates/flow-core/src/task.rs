//! One Claude Code task file: kept as the exact JSON object it was read from, so every field,
//! known or not, survives a read and a write in its original order.

use serde_json::{Map, Value};

/// The three columns of the board. Anything other than `in_progress` or `completed` is pending
/// (contract §1), so a future Claude Code status never hides a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Pending,
    InProgress,
    Completed,
}

impl TaskStatus {
    pub fn from_field(raw: Option<&str>) -> Self {
        match raw {
            Some("in_progress") => Self::InProgress,
            Some("completed") => Self::Completed,
            _ => Self::Pending,
        }
    }
}

/// Why a task file was skipped.
#[derive(Debug, thiserror::Error)]
pub enum TaskParseError {
    #[error("file is empty")]
    Empty,
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JSON is not an object")]
    NotAnObject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Every field as stored, in file order (serde_json's `preserve_order`).
    pub fields: Map<String, Value>,
}

impl Task {
    pub fn parse(bytes: &[u8]) -> Result<Self, TaskParseError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(TaskParseError::Empty);
        }
        match serde_json::from_slice::<Value>(bytes)? {
            Value::Object(fields) => Ok(Self { fields }),
            _ => Err(TaskParseError::NotAnObject),
        }
    }

    pub fn status(&self) -> TaskStatus {
        TaskStatus::from_field(self.fields.get("status").and_then(Value::as_str))
    }

    /// Ids this task waits on. Ids are numeric text, but a number is accepted too.
    pub fn blocked_by(&self) -> Vec<String> {
        id_list(self.fields.get("blockedBy"))
    }

    /// Ids that wait on this task.
    pub fn blocks(&self) -> Vec<String> {
        id_list(self.fields.get("blocks"))
    }

    /// Agent bookkeeping (`metadata._internal == true`): served by the API, hidden by the UI.
    pub fn is_internal(&self) -> bool {
        self.fields
            .get("metadata")
            .and_then(|m| m.get("_internal"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

fn id_list(value: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|it| match it {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// Orders task ids numerically, with non-numeric ids after all numeric ones (contract §3).
pub fn compare_task_ids(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields_in_order() {
        let raw = br#"{"id":"1","zeta":1,"subject":"s","alpha":{"x":[1,2]},"status":"completed"}"#;
        let task = Task::parse(raw).unwrap();
        let keys: Vec<_> = task.fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "zeta", "subject", "alpha", "status"]);
        assert_eq!(task.status(), TaskStatus::Completed);
        assert_eq!(serde_json::to_vec(&task.fields).unwrap(), raw.to_vec());
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        assert!(matches!(Task::parse(b""), Err(TaskParseError::Empty)));
        assert!(matches!(Task::parse(b"  \n"), Err(TaskParseError::Empty)));
        assert!(matches!(
            Task::parse(b"{\"id\":"),
            Err(TaskParseError::Json(_))
        ));
        assert!(matches!(
            Task::parse(b"[1]"),
            Err(TaskParseError::NotAnObject)
        ));
        assert!(matches!(
            Task::parse(b"\"x\""),
            Err(TaskParseError::NotAnObject)
        ));
    }

    #[test]
    fn unknown_status_is_pending() {
        for (raw, want) in [
            (r#"{"status":"in_progress"}"#, TaskStatus::InProgress),
            (r#"{"status":"blocked"}"#, TaskStatus::Pending),
            (r#"{"status":3}"#, TaskStatus::Pending),
            (r#"{}"#, TaskStatus::Pending),
        ] {
            assert_eq!(Task::parse(raw.as_bytes()).unwrap().status(), want, "{raw}");
        }
    }

    #[test]
    fn id_lists_accept_text_and_numbers() {
        let task = Task::parse(br#"{"blockedBy":["1",2,null],"blocks":"nope"}"#).unwrap();
        assert_eq!(task.blocked_by(), ["1", "2"]);
        assert!(task.blocks().is_empty());
    }

    #[test]
    fn numeric_ids_sort_before_text() {
        let mut ids = vec!["10", "b", "2", "a", "1"];
        ids.sort_by(|a, b| compare_task_ids(a, b));
        assert_eq!(ids, ["1", "2", "10", "a", "b"]);
    }
}
