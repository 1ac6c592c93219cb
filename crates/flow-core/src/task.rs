//! One Claude Code task file: kept as the exact JSON object it was read from, so every field,
//! known or not, survives a read and a write in its original order.

use serde::Deserialize;
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
    #[error("file is not UTF-8")]
    NotUtf8,
}

/// A task as stored: the file's JSON object kept as compact text (every field, unknown ones
/// too, in file order), plus what the board needs without parsing it again. Keeping text
/// rather than a tree costs a fraction of the memory with 200,000 tasks, and it is what the
/// API sends anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    json: Box<str>,
    status: TaskStatus,
    internal: bool,
}

/// The few fields read at parse time; everything else is skipped without building a tree.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    status: Option<std::borrow::Cow<'a, str>>,
    metadata: Option<MetadataProbe>,
}

#[derive(Deserialize)]
struct MetadataProbe {
    #[serde(rename = "_internal")]
    internal: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(rename = "blockedBy", default)]
    blocked_by: Option<Value>,
    #[serde(default)]
    blocks: Option<Value>,
}

impl Task {
    pub fn parse(bytes: &[u8]) -> Result<Self, TaskParseError> {
        let Some(&first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
            return Err(TaskParseError::Empty);
        };
        // Checked first: serde would also accept an array for a struct.
        if first != b'{' {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
            return Err(TaskParseError::NotAnObject);
        }
        // Lenient on field types (a non-string status is just "pending"), strict on syntax.
        let probe: Probe<'_> = serde_json::from_slice(bytes).or_else(|err| {
            serde_json::from_slice::<Map<String, Value>>(bytes)
                .map(|map| Probe {
                    status: map
                        .get("status")
                        .and_then(Value::as_str)
                        .map(|s| s.to_owned().into()),
                    metadata: map.get("metadata").map(|m| MetadataProbe {
                        internal: m.get("_internal").cloned(),
                    }),
                })
                .map_err(|_| err)
        })?;
        let status = TaskStatus::from_field(probe.status.as_deref());
        let internal = probe
            .metadata
            .and_then(|m| m.internal)
            .is_some_and(|v| v == Value::Bool(true));
        let json = minify(bytes)
            .ok_or(TaskParseError::NotUtf8)?
            .into_boxed_str();
        Ok(Self {
            json,
            status,
            internal,
        })
    }

    /// The stored object as compact JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The stored object as a map, for code that must edit or inspect arbitrary fields. This
    /// can fail where `parse` did not (a number too large for a float in a field nobody reads),
    /// and then must never be mistaken for an empty object.
    pub fn fields(&self) -> Result<Map<String, Value>, serde_json::Error> {
        serde_json::from_str(&self.json)
    }

    pub fn status(&self) -> TaskStatus {
        self.status
    }

    /// Ids this task waits on. Ids are numeric text, but a number is accepted too.
    pub fn blocked_by(&self) -> Vec<String> {
        let links: Option<Links> = serde_json::from_str(&self.json).ok();
        id_list(links.and_then(|l| l.blocked_by).as_ref())
    }

    /// Ids that wait on this task.
    pub fn blocks(&self) -> Vec<String> {
        let links: Option<Links> = serde_json::from_str(&self.json).ok();
        id_list(links.and_then(|l| l.blocks).as_ref())
    }

    /// Agent bookkeeping (`metadata._internal == true`): served by the API, hidden by the UI.
    pub fn is_internal(&self) -> bool {
        self.internal
    }
}

/// Drops the whitespace between tokens of already-validated JSON; strings are copied as is.
fn minify(bytes: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !b.is_ascii_whitespace() {
            in_string = b == b'"';
            out.push(b);
        }
    }
    // serde_json does not check the UTF-8 of strings it skips, so check here.
    String::from_utf8(out).ok()
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
        let fields = task.fields().unwrap();
        let keys: Vec<_> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "zeta", "subject", "alpha", "status"]);
        assert_eq!(task.status(), TaskStatus::Completed);
        assert_eq!(task.json().as_bytes(), raw);
        let pretty = Task::parse(b"{\n  \"a\": \"x y \\\" z\",\n  \"b\": [1, 2]\n}").unwrap();
        assert_eq!(pretty.json(), r#"{"a":"x y \" z","b":[1,2]}"#);
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
    fn out_of_range_numbers_are_kept_but_not_mistaken_for_an_empty_object() {
        let task = Task::parse(br#"{"id":"1","x":1e400}"#).unwrap();
        assert_eq!(task.json(), r#"{"id":"1","x":1e400}"#);
        assert!(task.fields().is_err());
    }

    #[test]
    fn invalid_utf8_in_a_skipped_field_is_refused() {
        assert!(Task::parse(b"{\"x\":\"\xff\"}").is_err());
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
