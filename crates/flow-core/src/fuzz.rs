//! Property tests over the readers of untrusted input (task files, transcripts, the sessions
//! index, team configs and inboxes, todo lists, plans, ids, paths): no input panics, and what is accepted is well-formed.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use crate::ids::SessionId;
use crate::layout::Layout;
use crate::task::Task;
use crate::transcript::TranscriptCursor;

fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    // Mostly JSON-shaped noise, so the parser gets deep rather than failing at byte one.
    let piece = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\"slug\":".to_vec()),
        Just(b"\"cwd\":\"/x\"".to_vec()),
        Just(b"{\"type\":\"custom-title\",\"customTitle\":\"t\"}".to_vec()),
        Just(b"\n".to_vec()),
        Just(b",".to_vec()),
        Just(b"[".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn task_parse_never_panics(bytes in jsonish()) {
        if let Ok(t) = Task::parse(&bytes) {
            let _ = (t.status(), t.blocked_by(), t.blocks(), t.is_internal());
            // What is kept is itself valid JSON: it is sent to clients verbatim.
            prop_assert!(serde_json::from_str::<Value>(t.json()).is_ok(), "{}", t.json());
        }
    }

    #[test]
    fn accepted_task_round_trips(key in "[a-zA-Z_]{1,10}", value in any::<i64>(), status in "[a-z_]{0,12}") {
        let text = serde_json::json!({"id": "1", key.clone(): value, "status": status}).to_string();
        let task = Task::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(task.json(), text.as_str());
        prop_assert_eq!(serde_json::to_string(&task.fields().unwrap()).unwrap(), text);
    }

    #[test]
    fn transcript_meta_does_not_depend_on_how_bytes_arrive(bytes in jsonish(), cut in 0usize..400) {
        let mut whole = TranscriptCursor::default();
        whole.feed(&bytes);
        let mut split = TranscriptCursor::default();
        let cut = cut.min(bytes.len());
        split.feed(&bytes[..cut]);
        split.feed(&bytes[cut..]);
        prop_assert_eq!(whole.meta, split.meta);
    }

    #[test]
    fn sessions_index_parse_never_panics(bytes in jsonish()) {
        let _ = crate::sessions_index::parse(&bytes);
    }

    #[test]
    fn team_inbox_todo_and_plan_readers_never_panic(bytes in jsonish(), cut in 0usize..400) {
        if let Ok((config, _)) = crate::teams::parse_config(&bytes) {
            let _ = (config.lead(), config.project());
            prop_assert!(config.members.iter().all(|m| !m.name.is_empty()));
        }
        let _ = crate::teams::parse_inbox(&bytes);
        let _ = crate::teams::parse_inbox_tail(&bytes[cut.min(bytes.len())..]);
        let _ = crate::todos::parse(&bytes);
        let _ = crate::plans::title(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn accepted_ids_are_single_safe_path_components(raw in "\\PC{0,140}") {
        if let Ok(id) = SessionId::parse(&raw) {
            let joined = Path::new("/root").join(id.as_str());
            prop_assert_eq!(joined.parent(), Some(Path::new("/root")));
            prop_assert!(!id.as_str().contains(".."));
            prop_assert!(id.as_str().len() <= 128);
        }
    }

    #[test]
    fn classify_never_panics(parts in proptest::collection::vec("[a-z.~#-]{0,6}|\\.\\.|\\.", 0..6)) {
        let layout = Layout { tasks_dir: "/c/tasks".into(), projects_dir: "/c/projects".into(), sessions_dir: "/c/sessions".into(), teams_dir: "/c/teams".into(), plans_dir: "/c/plans".into(), todos_dir: "/c/todos".into() };
        let mut path = std::path::PathBuf::from("/c");
        for p in &parts {
            path.push(p);
        }
        let _ = layout.classify(&path);
    }
}
