//! `projects/<p>/sessions-index.json`: Claude Code's own, often stale, catalogue of sessions.
//! It only enriches what the task folders and transcripts say (contract §1).

use serde::Deserialize;

use crate::time::normalize_rfc3339;

/// What one index entry adds to a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexEntry {
    pub description: Option<String>,
    pub git_branch: Option<String>,
    /// Normalized to RFC 3339 with milliseconds.
    pub created: Option<String>,
    /// The session's working dir, a fallback for its project.
    pub project_path: Option<String>,
}

#[derive(Deserialize)]
struct RawIndex {
    #[serde(default)]
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    session_id: String,
    description: Option<String>,
    summary: Option<String>,
    git_branch: Option<String>,
    created: Option<String>,
    project_path: Option<String>,
}

/// Parses the index. Entries that do not have the expected shape are skipped one by one, so one
/// odd entry does not hide the rest.
pub fn parse(bytes: &[u8]) -> Result<Vec<(String, IndexEntry)>, serde_json::Error> {
    let raw: RawIndex = serde_json::from_slice(bytes)?;
    Ok(raw
        .entries
        .into_iter()
        .filter_map(|it| serde_json::from_value::<RawEntry>(it).ok())
        .map(|e| {
            let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            let entry = IndexEntry {
                description: non_empty(e.description).or(non_empty(e.summary)),
                git_branch: non_empty(e.git_branch),
                created: e.created.as_deref().and_then(normalize_rfc3339),
                project_path: non_empty(e.project_path),
            };
            (e.session_id, entry)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_falls_back_to_summary() {
        let raw = br#"{"version":1,"entries":[
            {"sessionId":"a","summary":"Sum","gitBranch":"main","created":"2026-01-03T10:00:00.000Z"},
            {"sessionId":"b","description":"Desc","summary":"Sum"},
            {"sessionId":7},
            {"sessionId":"c","description":""}
        ]}"#;
        let got = parse(raw).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1.description.as_deref(), Some("Sum"));
        assert_eq!(got[0].1.git_branch.as_deref(), Some("main"));
        assert_eq!(
            got[0].1.created.as_deref(),
            Some("2026-01-03T10:00:00.000Z")
        );
        assert_eq!(got[1].1.description.as_deref(), Some("Desc"));
        assert_eq!(got[2].1, IndexEntry::default());
    }

    #[test]
    fn malformed_index_is_an_error() {
        assert!(parse(b"{\"entries\":").is_err());
    }
}
