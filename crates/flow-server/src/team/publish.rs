//! Publishing this machine's board: after every change of the index (debounced), the whole
//! board is rendered in the API's shapes and handed to `flow_team`, which writes only what
//! changed. A publish that fails (database away) is retried, and since nothing was marked
//! published, the retry carries everything that changed meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use flow_team::ItemKey;
use futures_util::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::TeamBoard;
use crate::hub::Frame;
use crate::routes::teams::TeamView;
use crate::state::AppState;
use crate::views::{SessionView, TaskView};

/// Changes closer together than this are published together.
const SETTLE: Duration = Duration::from_millis(25);
/// How often a failed publish is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// What must be rendered again before the next publish.
enum Dirty {
    Nothing,
    /// Only these sessions (an `update` event names its session).
    Sessions(BTreeSet<Arc<str>>),
    /// Anything may have changed (teams, metadata, agent states).
    All,
}

impl Dirty {
    fn add(&mut self, frame: &Frame) {
        // The store's and other machines' events are not this machine's board.
        let json: &str = &frame.json;
        if json.starts_with(r#"{"type":"feature-update""#)
            || json.starts_with(r#"{"type":"machine""#)
        {
            return;
        }
        *self = match (std::mem::replace(self, Dirty::Nothing), &frame.session) {
            (Dirty::All, _) | (_, None) => Dirty::All,
            (Dirty::Nothing, Some(s)) => Dirty::Sessions(BTreeSet::from([s.clone()])),
            (Dirty::Sessions(mut set), Some(s)) => {
                set.insert(s.clone());
                Dirty::Sessions(set)
            }
        };
    }
}

/// The publisher, until `shutdown`: run it under the server's supervisor. Keeps this
/// machine's rendered board and, after a change, renders again only the sessions the events
/// named (a task write costs its session, not the board).
pub(crate) async fn publisher(app: AppState, board: Arc<TeamBoard>, shutdown: CancellationToken) {
    let mut frames = Box::pin(app.hub().subscribe(None));
    let mut items: BTreeMap<ItemKey, Arc<str>> = BTreeMap::new();
    let mut dirty = Dirty::All;
    let mut unpublished = false;
    loop {
        if !matches!(dirty, Dirty::Nothing) {
            tokio::time::sleep(SETTLE).await;
            // Events that came meanwhile are in this render too.
            while let Some(Some(frame)) = frames.next().now_or_never() {
                if !frame.is_keep_alive() {
                    dirty.add(&frame);
                }
            }
            match std::mem::replace(&mut dirty, Dirty::Nothing) {
                Dirty::All => items = render(&app),
                Dirty::Sessions(sessions) => rerender(&app, &mut items, &sessions),
                Dirty::Nothing => {}
            }
            unpublished = true;
        }
        if unpublished {
            match board.team.publish(items.clone()).await {
                Ok(rows) => {
                    unpublished = false;
                    tracing::debug!(rows, "published to the team board");
                }
                Err(err) => tracing::debug!(%err, "team board publish failed; retrying"),
            }
        }
        let wait = if unpublished { RETRY } else { Duration::MAX };
        tokio::select! {
            () = shutdown.cancelled() => break,
            frame = frames.next() => match frame {
                Some(frame) if frame.is_keep_alive() => {}
                Some(frame) => dirty.add(&frame),
                None => break,
            },
            () = tokio::time::sleep(wait) => {}
        }
    }
    board.team.leave().await;
}

/// This machine's whole board, as the API shows it: sessions (with agent state), tasks,
/// teams. Never transcript contents.
fn render(app: &AppState) -> BTreeMap<ItemKey, Arc<str>> {
    let index = app.index();
    let mut items = BTreeMap::new();
    for summary in index.newest(usize::MAX) {
        render_session(&index, summary, &mut items);
    }
    for team in index.teams(app.config.clock.now()) {
        let view = TeamView::from(team);
        if let Ok(doc) = serde_json::to_string(&view) {
            items.insert(ItemKey::new("team", view.name), Arc::from(doc));
        }
    }
    items
}

/// Renders `sessions` again into `items` (a session gone from the index leaves with its tasks).
fn rerender(
    app: &AppState,
    items: &mut BTreeMap<ItemKey, Arc<str>>,
    sessions: &BTreeSet<Arc<str>>,
) {
    let index = app.index();
    for id in sessions {
        items.remove(&ItemKey::new("session", id.as_ref()));
        let stale: Vec<ItemKey> = super::session_tasks(items, id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            items.remove(&key);
        }
        // Only a session the index has with a task list is rendered.
        if let Some(summary) = index.summary(id) {
            render_session(&index, summary, items);
        }
    }
}

/// One session and its tasks.
fn render_session(
    index: &flow_core::Index,
    summary: flow_core::SessionSummary<'_>,
    items: &mut BTreeMap<ItemKey, Arc<str>>,
) {
    let id = summary.id;
    if let Ok(doc) = serde_json::to_string(&SessionView::from(summary)) {
        items.insert(ItemKey::new("session", id), Arc::from(doc));
    }
    for record in index.tasks(id).unwrap_or_default() {
        let key = format!("{id}/{}", record.id);
        if let Ok(doc) = serde_json::to_string(&TaskView {
            record,
            owner: None,
        }) {
            items.insert(ItemKey::new("task", key), Arc::from(doc));
        }
    }
}
