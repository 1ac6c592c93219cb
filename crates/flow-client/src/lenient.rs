//! Task lists decoded one task at a time. A task file is whatever an agent wrote: a lone
//! surrogate escape or a field nested 100,000 deep is valid enough for the server to pass on,
//! but makes a whole-array decode fail. Here the array is split by a flat byte scan (no
//! recursion, no tree), each task decoded on its own, and one that does not decode becomes a
//! visible placeholder instead of hiding its session.

use serde_json::Value;

use crate::model::Task;

/// The texts of a JSON array's elements, or `None` if `text` is not an array. Strings and
/// nesting are tracked byte by byte, so depth costs nothing and nothing is allocated per level.
pub fn array_items(text: &str) -> Option<Vec<&str>> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] != b'[' {
        return None;
    }
    let mut items = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut item_start = start + 1;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                let item = text[item_start..i].trim();
                if !item.is_empty() {
                    items.push(item);
                }
                if b == b']' {
                    return text[i + 1..].trim().is_empty().then_some(items);
                }
                item_start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// The tasks of a list answer (`/api/sessions/:id`, `/api/tasks/all`), each decoded on its own.
pub fn tasks_from(text: &str) -> Result<Vec<Task>, String> {
    let items = array_items(text).ok_or_else(|| "the answer is not a JSON array".to_owned())?;
    Ok(items.into_iter().map(task_or_placeholder).collect())
}

fn task_or_placeholder(item: &str) -> Task {
    match serde_json::from_str::<Task>(item) {
        Ok(task) => task,
        Err(err) => Task {
            id: id_of(item).unwrap_or_default(),
            subject: format!("(unreadable task: {err})"),
            status: "pending".into(),
            metadata: Value::Null,
            ..Task::default()
        },
    }
}

/// The task's `id`, found without parsing the rest: the first `"id"` key at the top level.
fn id_of(item: &str) -> Option<String> {
    let bytes = item.as_bytes();
    let (mut depth, mut in_string, mut escaped, mut string_start) = (0usize, false, false, 0);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if depth == 1 && &item[string_start..=i] == "\"id\"" {
                        let rest = item[i + 1..].trim_start().strip_prefix(':')?.trim_start();
                        let end = rest.find([',', '}'])?;
                        let raw = rest[..end].trim();
                        return Some(raw.trim_matches('"').to_owned());
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arrays_whatever_their_strings_and_depth() {
        assert_eq!(array_items("[]"), Some(vec![]));
        assert_eq!(
            array_items(" [1, \"a,]\\\"b\", {\"x\":[1,2]}] "),
            Some(vec!["1", "\"a,]\\\"b\"", "{\"x\":[1,2]}"])
        );
        assert_eq!(array_items("{}"), None);
        assert_eq!(array_items("[1,2"), None);
        assert_eq!(array_items("[1] trailing"), None);
        let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(array_items(&deep).map(|v| v.len()), Some(1));
    }

    #[test]
    fn one_odd_task_does_not_hide_the_others() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(
            r#"[{{"id":"1","subject":"fine","status":"in_progress"}},
                {{"id":"2","subject":"\ud800 lone","status":"pending"}},
                {{"id":"3","subject":"deep","metadata":{deep}}},
                {{"id":"4","subject":"deep but unread","x":{deep}}}]"#
        );
        let tasks = tasks_from(&text).unwrap();
        assert_eq!(tasks.len(), 4);
        assert_eq!(
            (tasks[0].id.as_str(), tasks[0].subject.as_str()),
            ("1", "fine")
        );
        assert_eq!(tasks[1].id, "2");
        assert!(
            tasks[1].subject.starts_with("(unreadable task"),
            "{}",
            tasks[1].subject
        );
        assert_eq!(tasks[2].id, "3");
        assert!(tasks[2].subject.starts_with("(unreadable task"));
        assert_eq!(tasks[3].subject, "deep but unread");
        assert!(tasks_from("{\"error\":1}").is_err());
    }
}
