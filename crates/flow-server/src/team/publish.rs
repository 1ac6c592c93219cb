//! Publishing this machine's board: after every change of the index (debounced), the whole
//! board is rendered in the API's shapes and handed to `flow_team`, which writes only what
//! changed. A publish that fails (database away) is retried, and since nothing was marked
//! published, the retry carries everything that changed meanwhile.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flow_team::ItemKey;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::TeamBoard;
use crate::routes::teams::TeamView;
use crate::state::AppState;
use crate::views::{SessionView, TaskView};

/// Changes closer together than this are published together.
const SETTLE: Duration = Duration::from_millis(25);
/// How often a failed publish is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// The publisher, until `shutdown`: run it under the server's supervisor.
pub(crate) async fn publisher(app: AppState, board: Arc<TeamBoard>, shutdown: CancellationToken) {
    let mut frames = Box::pin(app.hub().subscribe(None));
    let mut dirty = true;
    let mut published_at = u64::MAX;
    loop {
        if dirty {
            tokio::time::sleep(SETTLE).await;
            let generation = app.index().generation();
            if generation != published_at {
                match board.team.publish(render(&app)).await {
                    Ok(rows) => {
                        published_at = generation;
                        dirty = false;
                        tracing::debug!(rows, generation, "published to the team board");
                    }
                    Err(err) => tracing::debug!(%err, "team board publish failed; retrying"),
                }
            } else {
                dirty = false;
            }
        }
        let wait = if dirty { RETRY } else { Duration::MAX };
        tokio::select! {
            () = shutdown.cancelled() => break,
            frame = frames.next() => match frame {
                Some(frame) if frame.is_keep_alive() => {}
                Some(_) => dirty = true,
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
    let mut put = |kind: &str, key: String, value: Result<String, serde_json::Error>| {
        if let Ok(doc) = value {
            items.insert(ItemKey::new(kind, key), Arc::from(doc));
        }
    };
    for summary in index.newest(usize::MAX) {
        let id = summary.id.to_owned();
        put(
            "session",
            id.clone(),
            serde_json::to_string(&SessionView::from(summary)),
        );
        for record in index.tasks(&id).unwrap_or_default() {
            let key = format!("{id}/{}", record.id);
            put(
                "task",
                key,
                serde_json::to_string(&TaskView {
                    record,
                    owner: None,
                }),
            );
        }
    }
    for team in index.teams(app.config.clock.now()) {
        let view = TeamView::from(team);
        let name = view.name.to_owned();
        put("team", name, serde_json::to_string(&view));
    }
    items
}
