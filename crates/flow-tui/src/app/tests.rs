use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use unicode_width::UnicodeWidthStr;

use super::*;

fn session(id: &str, name: &str, modified: &str) -> Session {
    serde_json::from_value(json!({
        "id": id, "name": name, "project": format!("/src/{id}"), "gitBranch": "main",
        "taskCount": 0, "completed": 0, "inProgress": 0, "pending": 0, "modifiedAt": modified
    }))
    .unwrap()
}

fn task(session: &str, id: &str, status: &str, extra: serde_json::Value) -> Task {
    let mut value = json!({
        "id": id, "subject": format!("Task {id}"), "status": status,
        "activeForm": format!("Doing {id}"), "sessionId": session
    });
    value
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(value).unwrap()
}

/// Two sessions: `a` (newest, its agent busy) with tasks 1 pending, 2 in progress, 3
/// completed, 4 internal, 5 blocked by 1; `b` (ended) with one pending task about "parser".
fn loaded() -> App {
    let mut app = App::new("http://127.0.0.1:3456");
    let mut a = session("a", "Alpha", "2026-11-24T12:00:00.000Z");
    (a.state, a.live) = ("busy".into(), true);
    app.update(Msg::Snapshot {
        sessions: vec![session("b", "Bravo", "2026-11-24T10:00:00.000Z"), a],
        tasks: vec![
            task("a", "2", "in_progress", json!({})),
            task(
                "a",
                "1",
                "pending",
                json!({"description": "the login form"}),
            ),
            task("a", "3", "completed", json!({})),
            task(
                "a",
                "4",
                "pending",
                json!({"metadata": {"_internal": true}}),
            ),
            task("a", "5", "pending", json!({"blockedBy": ["1"]})),
            task("b", "1", "pending", json!({"subject": "Write the parser"})),
        ],
    });
    app.update(Msg::Live);
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Request> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn ids(tasks: &[&Task]) -> Vec<String> {
    tasks.iter().map(|t| t.id.clone()).collect()
}

/// The screen as text, one string per row, as a terminal shows it: a wide character covers
/// the cell after it.
fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| crate::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            let mut row = String::new();
            let mut x = 0;
            while x < width {
                let symbol = buffer[(x, y)].symbol();
                row.push_str(symbol);
                x += u16::try_from(symbol.width().max(1)).unwrap_or(1);
            }
            row
        })
        .collect()
}

fn shows(screen: &[String], needle: &str) -> bool {
    screen.iter().any(|row| row.contains(needle))
}

#[test]
fn snapshot_selects_the_newest_session_and_sorts_its_tasks_into_columns() {
    let app = loaded();
    assert_eq!(app.visible_sessions()[0].id, "a");
    assert_eq!(app.selected.as_deref(), Some("a"));
    assert_eq!(ids(&app.column_tasks(Column::Pending)), ["1", "5"]);
    assert_eq!(ids(&app.column_tasks(Column::InProgress)), ["2"]);
    assert_eq!(ids(&app.column_tasks(Column::Completed)), ["3"]);
    let blocked = app.column_tasks(Column::Pending)[1];
    assert!(app.is_blocked(blocked));
    assert!(!app.is_blocked(app.column_tasks(Column::Pending)[0]));
}

#[test]
fn update_events_patch_tasks_in_place_and_move_them_between_columns() {
    let mut app = loaded();
    let requests = app.update(Msg::Event(json!({
        "type": "update", "event": "change", "sessionId": "a", "file": "1.json",
        "task": {"id": "1", "subject": "Task 1", "status": "completed"},
        "session": {"id": "a", "name": "Alpha", "modifiedAt": "2026-11-24T13:00:00.000Z",
                    "completed": 2, "inProgress": 1, "pending": 1, "taskCount": 5}
    })));
    assert!(requests.is_empty());
    assert_eq!(ids(&app.column_tasks(Column::Completed)), ["1", "3"]);
    // Its dependent is no longer blocked.
    assert!(!app.is_blocked(app.column_tasks(Column::Pending)[0]));
    assert_eq!(app.sessions[0].completed, 2);

    app.update(Msg::Event(json!({
        "type": "update", "event": "add", "sessionId": "a", "file": "10.json",
        "task": {"id": "10", "subject": "New", "status": "pending"}
    })));
    assert_eq!(ids(&app.column_tasks(Column::Pending)), ["5", "10"]);

    app.update(Msg::Event(json!({
        "type": "update", "event": "unlink", "sessionId": "a", "file": "5.json"
    })));
    assert_eq!(ids(&app.column_tasks(Column::Pending)), ["10"]);
}

#[test]
fn events_without_the_new_state_ask_the_server() {
    let mut app = loaded();
    let unreadable =
        json!({"type": "update", "event": "change", "sessionId": "a", "file": "1.json"});
    assert_eq!(
        app.update(Msg::Event(unreadable)),
        [Request::SessionTasks("a".into())]
    );
    assert_eq!(
        app.update(Msg::Event(json!({"type": "metadata-update"}))),
        [Request::Sessions]
    );
    assert_eq!(
        app.update(Msg::Event(json!({"type": "resync"}))),
        [Request::Snapshot]
    );
    assert!(
        app.update(Msg::Event(json!({"type": "theme", "theme": "dark"})))
            .is_empty()
    );
}

#[test]
fn new_and_removed_session_folders_come_and_go() {
    let mut app = loaded();
    app.update(Msg::Event(json!({
        "type": "update", "event": "addDir", "sessionId": "c", "file": null,
        "session": {"id": "c", "slug": "calm-fox", "modifiedAt": "2026-11-24T14:00:00.000Z"}
    })));
    assert_eq!(app.visible_sessions()[0].label(), "calm-fox");
    // The selection stays on the session the user was looking at.
    assert_eq!(app.selected.as_deref(), Some("a"));
    app.update(Msg::Event(json!({
        "type": "update", "event": "unlinkDir", "sessionId": "a", "file": null
    })));
    assert!(app.visible_sessions().iter().all(|s| s.id != "a"));
    assert_eq!(app.selected.as_deref(), Some("c"));
}

#[test]
fn keys_move_between_sessions_columns_and_the_detail() {
    let mut app = loaded();
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected.as_deref(), Some("b"));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected.as_deref(), Some("a"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Focus::Column(0));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected_task().unwrap().id, "5");
    key(&mut app, KeyCode::Down);
    assert_eq!(
        app.selected_task().unwrap().id,
        "5",
        "the cursor stops at the end"
    );
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.selected_task().unwrap().id, "2");
    key(&mut app, KeyCode::Enter);
    assert!(app.detail);
    key(&mut app, KeyCode::Esc);
    assert!(!app.detail);
    key(&mut app, KeyCode::Char('h'));
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.focus, Focus::Sessions);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn search_filters_sessions_by_their_tasks_and_esc_clears_it() {
    let mut app = loaded();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "PARSER");
    assert_eq!(app.mode, Mode::Search);
    let visible: Vec<&str> = app
        .visible_sessions()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(visible, ["b"]);
    assert_eq!(app.selected.as_deref(), Some("b"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.query, "parser");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.visible_sessions().len(), 2);

    // Within a session, only the matching tasks stay.
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "login");
    assert_eq!(app.selected.as_deref(), Some("a"));
    assert_eq!(ids(&app.column_tasks(Column::Pending)), ["1"]);
    assert!(app.column_tasks(Column::InProgress).is_empty());
}

#[test]
fn a_note_is_typed_then_sent_for_the_selected_task() {
    let mut app = loaded();
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert_eq!(app.mode, Mode::Normal, "no task selected yet");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.mode, Mode::Note);
    typed(&mut app, "check q and j");
    assert_eq!(
        app.note, "check q and j",
        "keys are text while typing a note"
    );
    let sent = key(&mut app, KeyCode::Enter);
    assert_eq!(
        sent,
        [Request::AddNote {
            session: "a".into(),
            task: "1".into(),
            note: "check q and j".into()
        }]
    );
    assert!(!app.quit);
}

#[test]
fn the_board_fits_80_by_24() {
    let mut app = loaded();
    let rows = screen(&app, 80, 24);
    assert_eq!(rows.len(), 24);
    for needle in [
        "Flow",
        "● live",
        "Alpha",
        "Bravo",
        "Pending 2",
        "In progress 1",
        "Completed 1",
    ] {
        assert!(
            shows(&rows, needle),
            "{needle} missing:\n{}",
            rows.join("\n")
        );
    }
    assert!(shows(&rows, "#1 Task 1"));
    assert!(shows(&rows, "#5 ⊘ Task 5"));
    assert!(!shows(&rows, "Task 4"), "internal tasks are hidden");
    assert!(shows(&rows, "Doing 2"), "the live feed shows activeForm");
    assert!(rows[23].contains("q quit"));

    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let detail = screen(&app, 80, 24);
    assert!(shows(&detail, "the login form"), "{}", detail.join("\n"));
    assert!(shows(&detail, "Esc close"));
}

#[test]
fn larger_terminals_show_more_of_each_card() {
    let app = loaded();
    let rows = screen(&app, 160, 48);
    assert!(shows(&rows, "after #1"), "{}", rows.join("\n"));
    assert!(shows(&rows, "a · main"));
    assert!(shows(&rows, "http://127.0.0.1:3456"));
}

#[test]
fn an_unreachable_server_is_explained_and_stale_data_is_marked() {
    let mut app = App::new("http://127.0.0.1:9");
    app.update(Msg::Offline("connection refused".into()));
    let rows = screen(&app, 80, 24);
    assert!(
        shows(&rows, "Cannot reach Flow at http://127.0.0.1:9"),
        "{}",
        rows.join("\n")
    );
    assert!(shows(&rows, "Retrying automatically"));

    let mut app = loaded();
    app.update(Msg::Offline("the server closed the connection".into()));
    let rows = screen(&app, 80, 24);
    assert!(shows(&rows, "offline"));
    assert!(shows(&rows, "reconnecting"));
    assert!(shows(&rows, "Alpha"), "what was loaded stays visible");
}

#[test]
fn tiny_terminals_never_panic() {
    let mut app = loaded();
    key(&mut app, KeyCode::Enter);
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (79, 23)] {
        screen(&app, w, h);
        key(&mut app, KeyCode::Enter);
        screen(&app, w, h);
        key(&mut app, KeyCode::Char('?'));
        screen(&app, w, h);
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Esc);
    }
    screen(&App::new("http://127.0.0.1:1"), 5, 2);
}

fn add(app: &mut App, id: &str, status: &str) {
    app.update(Msg::Event(json!({
        "type": "update", "event": "add", "sessionId": "a", "file": format!("{id}.json"),
        "task": {"id": id, "subject": format!("Task {id}"), "status": status}
    })));
}

fn unlink(app: &mut App, file: &str) {
    app.update(Msg::Event(json!({
        "type": "update", "event": "unlink", "sessionId": "a", "file": file
    })));
}

#[test]
fn the_selection_stays_on_its_task_while_tasks_come_and_go_around_it() {
    let mut app = loaded();
    key(&mut app, KeyCode::Enter); // Pending: 1, 5
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_task().unwrap().id, "5");
    assert!(app.detail);

    add(&mut app, "0", "pending"); // lands before 5
    assert_eq!(
        app.selected_task().unwrap().id,
        "5",
        "the detail keeps its task"
    );
    unlink(&mut app, "1.json");
    assert_eq!(app.selected_task().unwrap().id, "5");

    // Its status changes: the detail follows it to its new column.
    add(&mut app, "5", "in_progress");
    assert_eq!(app.focus, Focus::Column(1));
    assert_eq!(app.selected_task().unwrap().id, "5");
    assert!(app.detail);
    // Deleted: the detail closes rather than show a neighbour.
    unlink(&mut app, "5.json");
    assert!(!app.detail);
}

#[test]
fn a_note_goes_to_the_task_it_was_started_on() {
    let mut app = loaded();
    key(&mut app, KeyCode::Enter); // Pending: 1, 5
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('n'));
    typed(&mut app, "for five é日本");
    unlink(&mut app, "5.json"); // the task goes away while the note is typed
    add(&mut app, "3", "pending");
    let sent = key(&mut app, KeyCode::Enter);
    assert_eq!(
        sent,
        [Request::AddNote {
            session: "a".into(),
            task: "5".into(),
            note: "for five é日本".into()
        }],
        "never silently to another task"
    );
}

#[test]
fn task_files_without_an_id_are_known_by_their_file_name() {
    let mut app = loaded();
    for file in ["7.json", "8.json"] {
        app.update(Msg::Event(json!({
            "type": "update", "event": "add", "sessionId": "a", "file": file,
            "task": {"subject": format!("no id {file}"), "status": "pending"}
        })));
    }
    assert_eq!(
        ids(&app.column_tasks(Column::Pending)),
        ["1", "5", "7", "8"]
    );
    unlink(&mut app, "8.json");
    assert_eq!(ids(&app.column_tasks(Column::Pending)), ["1", "5", "7"]);
}

#[test]
fn cards_show_the_id_once_whatever_the_subject() {
    let mut app = loaded();
    for (file, subject) in [
        ("20.json", ""),
        ("21.json", "   "),
        ("22.json", "Averyveryveryverylongwordthatcannotfitanywhere"),
        ("23.json", "日本語のタスクをテストする件名です終わり"),
    ] {
        let id = file.trim_end_matches(".json");
        app.update(Msg::Event(json!({
            "type": "update", "event": "add", "sessionId": "a", "file": file,
            "task": {"id": id, "subject": subject, "status": "pending"}
        })));
    }
    let rows = screen(&app, 80, 40);
    let text = rows.join("\n");
    for id in ["20", "21", "22", "23"] {
        assert_eq!(text.matches(&format!("#{id}")).count(), 1, "#{id}:\n{text}");
    }
    assert!(shows(&rows, "#23 日本"), "{text}");
}

#[test]
fn a_session_that_starts_waiting_moves_first_and_is_listed_as_needing_you() {
    let mut app = loaded();
    assert_eq!(app.sessions[0].id, "a");
    assert!(app.needing_you().is_empty());
    app.update(Msg::Event(json!({
        "type": "session-state", "sessionId": "b", "state": "waiting", "live": true,
        "waitingFor": "approve Bash"
    })));
    assert_eq!(app.sessions[0].id, "b", "waiting sessions come first");
    let waiting: Vec<_> = app.needing_you().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(waiting, ["b"]);
    assert_eq!(app.sessions[0].waiting_for.as_deref(), Some("approve Bash"));
    // An event for a session the board does not list changes nothing.
    app.update(Msg::Event(
        json!({"type": "session-state", "sessionId": "zz", "state": "busy", "live": true}),
    ));
    assert_eq!(app.sessions.len(), 2);
    app.update(Msg::Event(json!({
        "type": "session-state", "sessionId": "b", "state": "ended", "live": false, "waitingFor": null
    })));
    assert!(app.needing_you().is_empty());
    assert_eq!(app.sessions[0].id, "a");
}

#[test]
fn only_live_sessions_feed_the_live_list() {
    let mut app = loaded();
    let feed: Vec<_> = app
        .live_feed()
        .iter()
        .map(|(s, t)| (*s, t.id.as_str()))
        .collect();
    assert_eq!(feed, [("Alpha", "2")]);
    app.update(Msg::Event(json!({
        "type": "session-state", "sessionId": "a", "state": "ended", "live": false
    })));
    assert!(
        app.live_feed().is_empty(),
        "in progress, but nobody runs: stale"
    );
}

fn teams() -> Vec<Team> {
    serde_json::from_value(json!([
        {"name": "blue-team", "description": "Build the parser", "taskListId": "blue-team",
         "completed": 1, "inProgress": 1, "pending": 0, "members": [
            {"name": "team-lead", "lead": true, "state": "idle", "currentTask": null},
            {"name": "lexer", "state": "working", "currentTask": "Write the lexer"},
            {"name": "docs", "state": "stopped", "currentTask": null}
        ]},
        {"name": "red-team", "description": "Review", "members": [
            {"name": "reviewer", "state": "working", "currentTask": "Read the diff"}
        ]}
    ]))
    .unwrap()
}

fn team_update(app: &mut App, team: &str) -> Vec<Request> {
    app.update(Msg::Event(json!({"type": "team-update", "team": team})))
}

#[test]
fn team_updates_read_the_teams_once_per_burst() {
    let mut app = loaded();
    app.update(Msg::Teams(teams()));
    assert_eq!(team_update(&mut app, "blue-team"), [Request::Teams]);
    // The network side answers before it reads any later event: the rest of the burst is in
    // that answer.
    for _ in 0..20 {
        assert!(team_update(&mut app, "blue-team").is_empty());
    }
    let mut answer = teams();
    answer[0].members[1].state = "stopped".into();
    app.update(Msg::Teams(answer));
    assert_eq!(app.teams[0].members[1].state, "stopped");
    assert_eq!(
        team_update(&mut app, "red-team"),
        [Request::Teams],
        "the next one asks again"
    );
    app.update(Msg::TeamsFailed("connection refused".into()));
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );
    assert_eq!(app.teams.len(), 2, "what was shown stays");
    assert_eq!(
        team_update(&mut app, "red-team"),
        [Request::Teams],
        "a failed read is not waited for"
    );
}

#[test]
fn t_shows_the_teams_with_each_members_state_and_task_at_80x24() {
    let mut app = loaded();
    app.update(Msg::Teams(teams()));
    key(&mut app, KeyCode::Char('t'));
    let rows = screen(&app, 80, 24);
    let text = rows.join("\n");
    for needle in [
        "Teams 2",
        "blue-team",
        "1 working · 1 idle · 1 stopped",
        "1/2 done",
        "Build the parser",
        "red-team",
    ] {
        assert!(shows(&rows, needle), "{needle} missing:\n{text}");
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.contains(name))
            .unwrap_or_else(|| panic!("{name}:\n{text}"))
            .clone()
    };
    assert!(
        row("lexer").contains("working") && row("lexer").contains("Write the lexer"),
        "{text}"
    );
    assert!(row("team-lead (lead)").contains("idle"), "{text}");
    assert!(row("docs").contains("stopped"), "{text}");
    assert!(row("reviewer").contains("Read the diff"), "{text}");
    assert!(rows[23].contains("t or Esc back"), "{text}");
    assert!(!shows(&rows, "Pending"), "the teams replace the board");

    // Live: a member's state changes in the next answer.
    let mut answer = teams();
    answer[0].members[1].state = "idle".into();
    answer[0].members[1].current_task = None;
    app.update(Msg::Teams(answer));
    let rows = screen(&app, 80, 24);
    let lexer = rows.iter().find(|r| r.contains("lexer")).unwrap();
    assert!(
        lexer.contains("idle") && !lexer.contains("Write the lexer"),
        "{}",
        rows.join("\n")
    );

    // Scrolling stops at the last line; Esc (or t) goes back to the board.
    for _ in 0..50 {
        key(&mut app, KeyCode::Char('j'));
    }
    assert_eq!(usize::from(app.teams_scroll), app.teams_lines() - 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.teams_scroll, 0);
    key(&mut app, KeyCode::Char('?'));
    assert!(
        shows(&screen(&app, 80, 24), "teams: members"),
        "the help names the key"
    );
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Board);
    assert!(shows(&screen(&app, 80, 24), "Pending 2"));
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.view, View::Board);
}

#[test]
fn without_teams_the_teams_view_says_where_they_come_from() {
    let mut app = loaded();
    key(&mut app, KeyCode::Char('t'));
    let rows = screen(&app, 80, 24);
    assert!(shows(&rows, "No agent teams"), "{}", rows.join("\n"));
    for (w, h) in [(1, 1), (10, 3), (30, 8)] {
        app.update(Msg::Teams(teams()));
        screen(&app, w, h);
    }
}

#[test]
fn the_help_fits_80_by_24_with_a_full_live_feed() {
    let mut app = loaded();
    for id in ["6", "7", "8"] {
        add(&mut app, id, "in_progress");
    }
    key(&mut app, KeyCode::Char('?'));
    let rows = screen(&app, 80, 24);
    for needle in ["reload everything", "teams: members", "quit"] {
        assert!(
            shows(&rows, needle),
            "{needle} cut off:\n{}",
            rows.join("\n")
        );
    }
}

#[test]
fn on_a_team_board_each_session_shows_its_machine_and_an_offline_one_is_dimmed() {
    let mut app = App::new("http://127.0.0.1:3456");
    let mut own = session("a", "Alpha", "2026-11-24T12:00:00.000Z");
    own.machine = Some("laptop".into());
    let mut remote = session("beta.b", "Bravo", "2026-11-24T13:00:00.000Z");
    (remote.machine, remote.live, remote.state) = (Some("beta".into()), true, "busy".into());
    app.update(Msg::Snapshot {
        sessions: vec![own, remote],
        tasks: vec![task("beta.b", "1", "in_progress", json!({}))],
    });
    app.update(Msg::Live);
    let before = screen(&app, 80, 24);
    assert!(shows(&before, "@beta · beta.b"), "{before:#?}");
    assert!(shows(&before, "@laptop · a · main"), "{before:#?}");
    assert_eq!(app.live_feed().len(), 1);

    app.update(Msg::Event(
        json!({"type": "machine", "name": "beta", "online": false}),
    ));
    let remote = app.sessions.iter().find(|s| s.id == "beta.b").unwrap();
    assert!(remote.stale);
    assert!(!app.sessions.iter().find(|s| s.id == "a").unwrap().stale);
    assert!(
        app.live_feed().is_empty(),
        "no live work shown from an offline machine"
    );
    let after = screen(&app, 80, 24);
    assert!(shows(&after, "@beta offline"), "{after:#?}");
    assert!(shows(&after, "beta went offline"), "{after:#?}");
    // The offline session's rows are dimmed.
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let row = after
        .iter()
        .position(|r| r.contains("@beta offline"))
        .unwrap();
    let cell = &buffer[(4, u16::try_from(row).unwrap())];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::DIM),
        "{cell:?}"
    );

    app.update(Msg::Event(
        json!({"type": "machine", "name": "beta", "online": true}),
    ));
    assert!(
        !app.sessions
            .iter()
            .find(|s| s.id == "beta.b")
            .unwrap()
            .stale
    );
    assert!(shows(&screen(&app, 80, 24), "beta is online"));
}
