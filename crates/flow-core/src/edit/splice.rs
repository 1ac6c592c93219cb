//! Appending to a task's `description` by splicing text into the file as it is, so every other
//! byte (numbers beyond a float, `-0`, `1.50`, escapes, spacing, key order, the final newline)
//! stays exactly as Claude Code or anyone else wrote it.
//!
//! The scanner walks only the top level of an object whose syntax serde has already accepted;
//! it finds each member's key and value spans and never builds a tree.

use std::ops::Range;

/// One top-level member: where its key (with quotes) and its value sit.
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

/// The top level of a JSON object text.
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// A text with its description extended.
pub(crate) struct Spliced {
    pub text: String,
    /// Where the new `description` value (with quotes) sits in `text`.
    pub value: Range<usize>,
    /// The description before, decoded (empty when absent or not a string).
    pub before: String,
}

/// Returns `text` with `addition` appended to the top-level `description` string, or the key
/// added (as a string holding just `addition`) when absent or not a string. `None` if `text` is
/// not a JSON object.
pub(crate) fn append_to_description(text: &str, addition: &str) -> Option<Spliced> {
    let obj = scan(text.as_bytes())?;
    // JSON.parse and serde keep the last of repeated keys, so that is the one readers see.
    let found = obj
        .members
        .iter()
        .rev()
        .find(|m| key_is(text, &m.key, "description"));
    let escaped = serde_json::to_string(addition).ok()?;
    let escaped = &escaped[1..escaped.len() - 1];
    let mut out = String::with_capacity(text.len() + escaped.len() + 32);
    let mut before = String::new();
    // The new value is the old string with `escaped` inserted, or `"escaped"`.
    let (start, len);
    match found {
        Some(m) if text.as_bytes()[m.value.start] == b'"' => {
            // Keep the existing string's bytes; insert before its closing quote.
            before = serde_json::from_str(&text[m.value.clone()]).ok()?;
            (start, len) = (m.value.start, m.value.len() + escaped.len());
            let end = m.value.end - 1;
            out.push_str(&text[..end]);
            out.push_str(escaped);
            out.push_str(&text[end..]);
        }
        Some(m) => {
            // `null` or any other non-string counts as empty (contract §3).
            out.push_str(&text[..m.value.start]);
            (start, len) = (out.len(), escaped.len() + 2);
            out.push('"');
            out.push_str(escaped);
            out.push('"');
            out.push_str(&text[m.value.end..]);
        }
        None => {
            let head = format!("\"description\"{}", separator(text, &obj));
            let at = match obj.members.last() {
                Some(last) => last.value.end,
                None => obj.open + 1,
            };
            out.push_str(&text[..at]);
            match obj.members.first() {
                Some(first) => {
                    out.push(',');
                    out.push_str(&text[obj.open + 1..first.key.start]);
                }
                // `{}`: Claude Code's 2-space form.
                None => out.push_str("\n  "),
            }
            out.push_str(&head);
            (start, len) = (out.len(), escaped.len() + 2);
            out.push('"');
            out.push_str(escaped);
            out.push('"');
            if obj.members.is_empty() {
                out.push('\n');
                out.push_str(&text[obj.close..]);
            } else {
                out.push_str(&text[at..]);
            }
        }
    }
    Some(Spliced {
        text: out,
        value: start..start + len,
        before,
    })
}

/// The decoded top-level `description` string of `text`, if it has one.
#[cfg(test)]
pub(crate) fn description(text: &str) -> Option<String> {
    let obj = scan(text.as_bytes())?;
    let m = obj
        .members
        .iter()
        .rev()
        .find(|m| key_is(text, &m.key, "description"))?;
    serde_json::from_str(&text[m.value.clone()]).ok()
}

/// What goes between a key and its value in this file (`": "` in Claude Code's files).
fn separator<'t>(text: &'t str, obj: &Object) -> &'t str {
    match obj.members.first() {
        Some(m) => &text[m.key.end..m.value.start],
        None => ": ",
    }
}

fn key_is(text: &str, key: &Range<usize>, want: &str) -> bool {
    let raw = &text[key.clone()];
    // Fast path for the usual unescaped key; an escaped one is decoded.
    raw.get(1..raw.len() - 1) == Some(want)
        || (raw.contains('\\') && serde_json::from_str::<String>(raw).is_ok_and(|k| k == want))
}

fn scan(b: &[u8]) -> Option<Object> {
    let open = skip_ws(b, 0);
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b'}') {
        return Some(Object {
            open,
            close: i,
            members,
        });
    }
    loop {
        let key_end = skip_string(b, i)?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(b, colon + 1);
        let value_end = skip_value(b, value_start)?;
        members.push(Member {
            key: i..key_end,
            value: value_start..value_end,
        });
        let next = skip_ws(b, value_end);
        match b.get(next) {
            Some(b',') => i = skip_ws(b, next + 1),
            Some(b'}') => {
                return Some(Object {
                    open,
                    close: next,
                    members,
                });
            }
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index after the closing one.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        match b[j] {
            b'"' => return Some(j + 1),
            _ => j += 2,
        }
    }
}

/// `i` at the first byte of a value; returns the index after it.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(before: &str, after: &str) {
        let addition = "+n\u{e9}\"\n";
        let spliced = append_to_description(before, addition).unwrap();
        assert_eq!(spliced.text, after, "{before}");
        let value: String = serde_json::from_str(&spliced.text[spliced.value.clone()]).unwrap();
        assert_eq!(value, spliced.before + addition, "{before}");
        assert_eq!(description(after), Some(value));
    }

    #[test]
    fn appends_inside_the_existing_string_and_nowhere_else() {
        check(
            "{\n  \"id\": \"1\",\n  \"description\": \"caf\\u00e9 \\\"x\\\"\",\n  \"n\": 12345678901234567890123456789,\n  \"z\": -0,\n  \"f\": 1.50\n}\n",
            "{\n  \"id\": \"1\",\n  \"description\": \"caf\\u00e9 \\\"x\\\"+né\\\"\\n\",\n  \"n\": 12345678901234567890123456789,\n  \"z\": -0,\n  \"f\": 1.50\n}\n",
        );
        check(
            r#"{"description":"a","x":{"description":"inner"}}"#,
            r#"{"description":"a+né\"\n","x":{"description":"inner"}}"#,
        );
    }

    #[test]
    fn a_missing_or_non_string_description_is_added_in_the_files_style() {
        check(
            "{\n  \"id\": \"1\",\n  \"s\": [1, {\"a\": \"}\"}]\n}",
            "{\n  \"id\": \"1\",\n  \"s\": [1, {\"a\": \"}\"}],\n  \"description\": \"+né\\\"\\n\"\n}",
        );
        check(r#"{"id":"1"}"#, r#"{"id":"1","description":"+né\"\n"}"#);
        check("{}", "{\n  \"description\": \"+né\\\"\\n\"\n}");
        check(
            r#"{"description":null,"b":2}"#,
            r#"{"description":"+né\"\n","b":2}"#,
        );
    }

    #[test]
    fn the_last_of_repeated_keys_and_escaped_keys_are_found() {
        check(
            r#"{"description":"a","descr\u0069ption":"b"}"#,
            r#"{"description":"a","descr\u0069ption":"b+né\"\n"}"#,
        );
        assert_eq!(
            description(r#"{"description":"a","description":"b\u00e9"}"#).as_deref(),
            Some("bé")
        );
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        for text in ["[]", "", "1", "{\"a\" 1}", "{\"a\":1"] {
            assert!(append_to_description(text, "x").is_none(), "{text}");
        }
    }
}
