//! Drawing the board: a pure function of [`App`], so rendering is tested on ratatui's
//! `TestBackend` at 80×24 and larger.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Clear, List, ListItem, ListState, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::{App, Conn, Focus, Mode, View};
use flow_client::model::{Column, Member, Task};

const ACCENT: Color = Color::Cyan;

pub(crate) fn draw(frame: &mut Frame<'_>, app: &App) {
    let feed_height = if app.loaded {
        (app.live_feed().len().clamp(1, 3) + 2) as u16
    } else {
        0
    };
    let [header, body, feed, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(feed_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    draw_header(frame, header, app);
    if app.loaded {
        match app.view {
            View::Board => draw_board(frame, body, app),
            View::Teams => draw_teams(frame, body, app),
        }
        draw_feed(frame, feed, app);
    } else {
        draw_waiting(frame, body, app);
    }
    draw_footer(frame, footer, app);
    if app.detail && app.view == View::Board {
        draw_detail(frame, body, app);
    }
    if app.mode == Mode::Help {
        draw_help(frame, body);
    }
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let (dot, state) = match &app.conn {
        Conn::Live => (Span::from("● live").green(), None),
        Conn::Connecting => (Span::from("○ connecting").yellow(), None),
        Conn::Offline(reason) => (
            Span::from("○ offline").red().bold(),
            Some(format!("  reconnecting… ({reason})")),
        ),
    };
    let mut spans = vec![
        Span::from(" Flow ").bold().fg(Color::Black).bg(ACCENT),
        Span::from(" "),
        dot,
    ];
    let waiting = app.needing_you();
    match state {
        // Stale data stays on screen, but the user must see that it is stale.
        Some(text) if app.loaded => spans.push(Span::from(text).red()),
        // The first question: which agent waits for me.
        _ if !waiting.is_empty() => {
            spans.push(
                Span::from(format!("  ! {} need you: ", waiting.len()))
                    .yellow()
                    .bold(),
            );
            let names: Vec<String> = waiting
                .iter()
                .map(|s| match s.waiting_for.as_deref() {
                    Some(what) => format!("{} ({what})", s.label()),
                    None => s.label().to_owned(),
                })
                .collect();
            let room = usize::from(area.width).saturating_sub(spans.iter().map(Span::width).sum());
            spans.push(Span::from(fit(&names.join(", "), room)).yellow());
        }
        _ => spans.push(Span::from(format!("  {}", app.url)).dark_gray()),
    }
    frame.render_widget(Line::from(spans), area);
}

fn draw_waiting(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let text = match &app.conn {
        Conn::Offline(reason) => Text::from(vec![
            Line::from(format!("Cannot reach Flow at {}", app.url))
                .red()
                .bold(),
            Line::from(format!("({reason})")).dark_gray(),
            Line::from(""),
            Line::from("Is the server running? Start it with `flow` in another terminal,"),
            Line::from("or point this board elsewhere with `flow tui --url http://HOST:PORT`."),
            Line::from(""),
            Line::from("Retrying automatically…").yellow(),
        ]),
        _ => Text::from(format!("Connecting to {}…", app.url)),
    };
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(text.height() as u16),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        middle,
    );
}

fn pane(title: String, focused: bool) -> Block<'static> {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title);
    if focused {
        block
            .border_style(Style::new().fg(ACCENT))
            .title_style(Style::new().bold())
    } else {
        block.border_style(Style::new().dark_gray())
    }
}

fn draw_board(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let sessions_width = (area.width / 4).clamp(22, 40);
    let [left, right] =
        Layout::horizontal([Constraint::Length(sessions_width), Constraint::Fill(1)]).areas(area);
    draw_sessions(frame, left, app);
    let columns = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(right);
    for (c, column) in Column::ALL.into_iter().enumerate() {
        draw_column(frame, columns[c], app, c, column);
    }
}

fn draw_sessions(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let visible = app.visible_sessions();
    let title = if app.query.is_empty() {
        format!("Sessions {}", visible.len())
    } else {
        format!("Sessions {}/{}", visible.len(), app.sessions.len())
    };
    let block = pane(title, app.focus == Focus::Sessions);
    if visible.is_empty() {
        let hint = if app.sessions.is_empty() {
            "No task lists yet. Claude Code writes them to ~/.claude/tasks/ when an agent plans \
             its work with its task tools; they appear here live."
        } else {
            "No session matches the search (Esc clears it)."
        };
        draw_hint(frame, area, block, hint);
        return;
    }
    // The label is cut to leave room for the progress at the right edge.
    let inner = usize::from(area.width.saturating_sub(2));
    let items: Vec<ListItem<'_>> = visible
        .iter()
        .map(|s| {
            let active = state_mark(s);
            let progress = format!(
                "{}/{}",
                s.completed,
                s.completed + s.in_progress + s.pending
            );
            let room = inner.saturating_sub(2 + 1 + progress.width());
            let label = fit(s.label(), room);
            let gap = room.saturating_sub(label.width()) + 1;
            // On a team board (contract §7) the machine leads the second line; another
            // machine's session is dimmed and marked while that machine is offline.
            let machine = s.machine.as_deref().map(|m| {
                if s.stale {
                    format!("@{m} offline")
                } else {
                    format!("@{m}")
                }
            });
            let mut meta: Vec<&str> = Vec::new();
            meta.extend(machine.as_deref());
            meta.extend(s.project_name());
            meta.extend(s.git_branch.as_deref());
            let item = ListItem::new(vec![
                Line::from(vec![
                    active,
                    if s.stale {
                        Span::from(label)
                    } else {
                        Span::from(label).bold()
                    },
                    Span::from(" ".repeat(gap)),
                    Span::from(progress).dark_gray(),
                ]),
                Line::from(format!(
                    "  {}",
                    fit(&meta.join(" · "), inner.saturating_sub(2))
                ))
                .dark_gray(),
            ]);
            if s.stale {
                item.style(Style::new().dark_gray().add_modifier(Modifier::DIM))
            } else {
                item
            }
        })
        .collect();
    let mut state = ListState::default();
    state.select(
        app.selected
            .as_ref()
            .and_then(|id| visible.iter().position(|s| &s.id == id)),
    );
    let list = List::new(items)
        .block(block)
        .highlight_style(if app.focus == Focus::Sessions {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD).fg(ACCENT)
        });
    frame.render_stateful_widget(list, area, &mut state);
}

/// An empty pane that says why it is empty.
fn draw_hint(frame: &mut Frame<'_>, area: Rect, block: Block<'static>, hint: &'static str) {
    frame.render_widget(
        Paragraph::new(hint)
            .dark_gray()
            .wrap(Wrap { trim: true })
            .block(block),
        area,
    );
}

/// A session's state at a glance: `!` waits for you, `●` works, `○` is open but idle, blank
/// has ended.
fn state_mark(s: &flow_client::model::Session) -> Span<'static> {
    if s.needs_you() {
        return Span::from("! ").yellow().bold();
    }
    match (s.live, s.state()) {
        (true, "idle" | "shell") => Span::from("○ ").dark_gray(),
        (true, _) => Span::from("● ").green(),
        _ => Span::from("  "),
    }
}

fn draw_column(frame: &mut Frame<'_>, area: Rect, app: &App, c: usize, column: Column) {
    let tasks = app.column_tasks(column);
    let focused = app.focus == Focus::Column(c);
    let block = pane(format!("{} {}", column.title(), tasks.len()), focused);
    // Inside the borders, less the highlight's room.
    let width = usize::from(area.width.saturating_sub(2));
    let items: Vec<ListItem<'_>> = tasks.iter().map(|t| card(app, t, width)).collect();
    let mut state = ListState::default();
    if focused && !tasks.is_empty() {
        state.select(Some(app.cursor[c]));
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    frame.render_stateful_widget(list, area, &mut state);
}

/// A task card: `#id subject` wrapped to the column (at most three lines, so a long subject
/// cannot push the rest of the column off screen), then owner and blockers.
fn card<'a>(app: &App, task: &'a Task, width: usize) -> ListItem<'a> {
    let id = format!("#{} ", task.id);
    let blocked = app.is_blocked(task);
    let prefix = id.width() + if blocked { "⊘ ".width() } else { 0 };
    // The subject starts after the prefix on the first line and uses whole lines after it.
    let wrapped = wrap(&task.subject, width.saturating_sub(prefix), width, 3);
    let mut first = vec![Span::from(id).dark_gray()];
    if blocked {
        first.push(Span::from("⊘ ").red());
    }
    let mut wrapped = wrapped.into_iter();
    first.extend(wrapped.next().map(Span::from));
    let mut lines: Vec<Line<'a>> = vec![Line::from(first)];
    lines.extend(wrapped.map(Line::from));
    let mut meta = Vec::new();
    if !task.owner.is_empty() {
        meta.push(format!("@{}", task.owner));
    }
    if !task.blocked_by.is_empty() {
        meta.push(format!("after {}", chips(&task.blocked_by)));
    }
    if !meta.is_empty() {
        lines.push(Line::from(format!("  {}", meta.join(" · "))).dark_gray());
    }
    ListItem::new(lines)
}

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// `text` cut to `width` terminal columns (a CJK character takes two), with `…` when
/// something was cut.
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + char_width(c) + 1 > width {
            break;
        }
        used += char_width(c);
        cut.push(c);
    }
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// The end of `text` that fits in `width` columns, after a `…` when the start was dropped:
/// what an input line shows, so the part being typed stays in view.
fn tail(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        if used + char_width(c) + 1 > width {
            break;
        }
        used += char_width(c);
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// Word-wraps `text` in at most `max` lines: the first `first` columns wide, the others
/// `width` (terminal columns, so CJK text wraps where it meets the edge). The last line ends
/// in `…` if text was cut; words longer than a line are split.
fn wrap(text: &str, first: usize, width: usize, max: usize) -> Vec<String> {
    let width = width.max(2);
    let limit = |line: usize| if line == 0 { first } else { width };
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word;
        loop {
            let room = limit(lines.len());
            let used = line.width();
            let space = usize::from(used > 0);
            if used + space + word.width() <= room {
                if space == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than the line: as much as fits here, the rest on the next line.
            let mut taken = 0;
            let mut split = 0;
            for (i, c) in word.char_indices() {
                if taken + char_width(c) > room {
                    break;
                }
                taken += char_width(c);
                split = i + c.len_utf8();
            }
            lines.push(word[..split].to_owned());
            word = &word[split..];
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max {
        lines.truncate(max);
        let room = limit(max - 1);
        let last = &mut lines[max - 1];
        while last.width() + 1 > room && last.pop().is_some() {}
        last.push('…');
    }
    lines
}

fn chips(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every team: a title line (name, member states, progress, description), then a line per
/// member (state mark, name, state, the task it works on), scrolled by `teams_scroll`.
fn draw_teams(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let block = pane(format!("Teams {}", app.teams.len()), true);
    if app.teams.is_empty() {
        let hint = "No agent teams. Claude Code keeps a team in ~/.claude/teams/<name>/ while an \
                    agent leads one; it appears here live, with what each member works on.";
        draw_hint(frame, area, block, hint);
        return;
    }
    let inner = usize::from(area.width.saturating_sub(2));
    // Names line up: as wide as the longest, within reason.
    let name_width = app
        .teams
        .iter()
        .flat_map(|t| &t.members)
        .map(|m| m.name.width() + if m.lead { " (lead)".width() } else { 0 })
        .max()
        .unwrap_or(0)
        .clamp(6, 24)
        .min(inner / 3);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for team in &app.teams {
        let total = team.completed + team.in_progress + team.pending;
        let mut title = vec![
            Span::from(fit(&team.name, inner)).bold().fg(ACCENT),
            Span::from(format!("  {}", team.counts())),
        ];
        if total > 0 {
            title.push(Span::from(format!("  {}/{total} done", team.completed)).dark_gray());
        }
        if let Some(description) = team.description.as_deref() {
            let used: usize = title.iter().map(Span::width).sum();
            let room = inner.saturating_sub(used + 2);
            if room > 3 {
                title.push(Span::from(format!("  {}", fit(description, room))).dark_gray());
            }
        }
        lines.push(Line::from(title));
        for member in &team.members {
            lines.push(member_line(member, name_width, inner));
        }
        lines.push(Line::from(""));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((app.teams_scroll, 0)),
        area,
    );
}

/// `  ● lexer       working  Write the lexer`: a member's state mark, name, state and task.
fn member_line(m: &Member, name_width: usize, width: usize) -> Line<'static> {
    let (mark, state) = match m.state.as_str() {
        "working" => (Span::from("● ").green(), Span::from("working").green()),
        "idle" => (Span::from("○ ").dark_gray(), Span::from("idle   ")),
        "stopped" => (
            Span::from("· ").dark_gray(),
            Span::from("stopped").dark_gray(),
        ),
        other => (
            Span::from("  "),
            Span::from(format!("{:<7}", fit(other, 7))),
        ),
    };
    let name = if m.lead {
        format!("{} (lead)", m.name)
    } else {
        m.name.clone()
    };
    let name = fit(&name, name_width);
    let pad = name_width.saturating_sub(name.width());
    let room = width.saturating_sub(2 + 2 + name_width + 1 + 7 + 2);
    let task = match m.current_task.as_deref() {
        Some(task) => Span::from(fit(task, room)),
        None => Span::from(""),
    };
    Line::from(vec![
        Span::from("  "),
        mark,
        Span::from(name).bold(),
        Span::from(" ".repeat(pad + 1)),
        state,
        Span::from("  "),
        task,
    ])
}

fn draw_feed(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let feed = app.live_feed();
    let block = pane(format!("Live {}", feed.len()), false);
    let lines: Vec<Line<'_>> = if feed.is_empty() {
        vec![Line::from("Nothing in progress").dark_gray()]
    } else {
        feed.iter()
            .map(|(session, task)| {
                let doing = if task.active_form.is_empty() {
                    &task.subject
                } else {
                    &task.active_form
                };
                Line::from(vec![
                    Span::from("● ").green(),
                    Span::from(doing.as_str()),
                    Span::from(format!("  {session} #{}", task.id)).dark_gray(),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_footer(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let line = match app.mode {
        Mode::Search => input(
            " / ".to_owned(),
            &app.query,
            "  Enter keep · Esc clear",
            area.width,
        ),
        Mode::Note => {
            let prompt = match &app.note_target {
                Some((_, task)) => format!(" Note for #{task}: "),
                None => " Note: ".to_owned(),
            };
            input(prompt, &app.note, "  Enter add · Esc cancel", area.width)
        }
        _ => match &app.notice {
            Some(notice) => Line::from(format!(" {notice}")).yellow(),
            None if app.view == View::Teams => Line::from(
                " t or Esc back to the board · ↑↓/jk scroll · r reload · ? help · q quit",
            )
            .dark_gray(),
            None if !app.query.is_empty() => Line::from(vec![
                Span::from(format!(" search: {}", app.query)).fg(ACCENT),
                Span::from("  Esc clear · / edit · ? help · q quit").dark_gray(),
            ]),
            None => Line::from(
                " ←→ pane · ↑↓ move · Enter open · / search · n note · t teams · ? help · q quit",
            )
            .dark_gray(),
        },
    };
    frame.render_widget(line, area);
}

/// An input line: prompt, the text with a cursor after it, and a hint while there is room.
/// Text wider than the line shows its end, where the typing happens.
fn input<'a>(prompt: String, text: &str, hint: &'a str, width: u16) -> Line<'a> {
    let room = usize::from(width).saturating_sub(prompt.width() + 1);
    let hint = if text.width() + hint.width() <= room {
        hint
    } else {
        ""
    };
    Line::from(vec![
        Span::from(prompt).bold().fg(ACCENT),
        Span::from(tail(text, room)),
        Span::from("█").fg(ACCENT),
        Span::from(hint).dark_gray(),
    ])
}

/// A rectangle `percent`% of `area`, centred.
fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let [_, row, _] = Layout::vertical([
        Constraint::Percentage((100 - percent_y) / 2),
        Constraint::Percentage(percent_y),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, cell, _] = Layout::horizontal([
        Constraint::Percentage((100 - percent_x) / 2),
        Constraint::Percentage(percent_x),
        Constraint::Fill(1),
    ])
    .areas(row);
    cell
}

fn draw_detail(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(task) = app.selected_task() else {
        return;
    };
    let area = centered(area, 90, 94);
    let field = |name: &'static str, value: String| {
        Line::from(vec![
            Span::from(format!("{name:<11}")).dark_gray(),
            Span::from(value),
        ])
    };
    let mut lines = vec![field("Status", task.status.clone())];
    if app.is_blocked(task) {
        lines.push(field("", "blocked".into()).red());
    }
    if !task.owner.is_empty() {
        lines.push(field("Owner", task.owner.clone()));
    }
    if !task.active_form.is_empty() {
        lines.push(field("Doing", task.active_form.clone()));
    }
    if !task.blocked_by.is_empty() {
        lines.push(field("Blocked by", chips(&task.blocked_by)));
    }
    if !task.blocks.is_empty() {
        lines.push(field("Blocks", chips(&task.blocks)));
    }
    for (name, value) in [("Created", &task.created_at), ("Updated", &task.updated_at)] {
        if let Some(value) = value {
            lines.push(field(name, value.clone()));
        }
    }
    lines.push(Line::from(""));
    if task.description.trim().is_empty() {
        lines.push(Line::from("No description.").dark_gray());
    } else {
        lines.extend(task.description.lines().map(|l| Line::from(l.to_owned())));
    }
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(ACCENT))
        .title(Line::from(format!(" #{} {} ", task.id, task.subject)).bold())
        .title_bottom(Line::from(" ↑↓ scroll · n note · Esc close ").dark_gray());
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let keys = [
        ("←→ h l Tab", "move between sessions and the three columns"),
        ("↑↓ j k", "move within a list; scroll the detail"),
        ("Enter", "open the session's tasks; open a task's detail"),
        ("/", "search sessions, tasks, descriptions, projects"),
        ("n", "add a note to the selected task"),
        ("t", "teams: members, their state and task (t/Esc back)"),
        ("r", "reload everything from the server"),
        ("Esc", "close the detail; clear the search"),
        ("q Ctrl-C", "quit"),
    ];
    let lines: Vec<Line<'_>> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::from(format!("{k:<12}")).bold(),
                Span::from(*what),
            ])
        })
        .collect();
    let area = centered(area, 80, 70);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(" Keys (any key closes) ".into(), true)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::{fit, tail, wrap};
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn wrap_breaks_at_words_splits_long_ones_and_marks_cuts() {
        assert_eq!(
            wrap("Design the schema", 9, 12, 3),
            ["Design", "the schema"]
        );
        assert_eq!(wrap("abcdefghij", 4, 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap("one two three four five six", 9, 9, 2),
            ["one two", "three…"]
        );
        assert!(wrap("", 10, 10, 3).is_empty());
    }

    #[test]
    fn wrap_leaves_room_for_the_prefix_on_the_first_line() {
        // The id prefix takes 4 of 10 columns: the first line holds 6.
        assert_eq!(wrap("abcdefghijkl", 6, 10, 3), ["abcdef", "ghijkl"]);
        // A prefix wider than the card: the subject starts on the next line.
        assert_eq!(wrap("word", 0, 10, 3), ["", "word"]);
    }

    #[test]
    fn wide_characters_wrap_and_cut_by_terminal_columns() {
        let lines = wrap("日本語のタスクをテストする件名です終わり", 10, 10, 3);
        assert!(lines.iter().all(|l| l.width() <= 10), "{lines:?}");
        assert_eq!(lines.concat().chars().filter(|c| *c != '…').count(), 14);
        assert_eq!(lines[0], "日本語のタ");
        let cut = fit("日本語のセッション名", 9);
        assert_eq!((cut.as_str(), cut.width()), ("日本語の…", 9));
        assert_eq!(fit("日本", 3), "日…");
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("Session 00000027", 10), "Session 0…");
        assert_eq!(fit("short", 10), "short");
    }

    #[test]
    fn tail_keeps_the_end_in_view() {
        assert_eq!(tail("short", 10), "short");
        assert_eq!(tail("a long note being typed", 8), "…g typed");
        assert_eq!(tail("note 日本語", 6), "…本語");
    }
}
