//! The board's network side: one WebSocket for live events and the HTTP calls the board asks
//! for. It never gives up: when the server is not there or goes away, it says so and retries.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::{Msg, Request};
use flow_client::{Client, ClientError, next_event};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(2);

pub(crate) async fn run(
    client: Client,
    tx: UnboundedSender<Msg>,
    mut requests: UnboundedReceiver<Request>,
) {
    let mut retry = FIRST_RETRY;
    loop {
        // Subscribe, then snapshot: an event that lands between the two is applied after the
        // snapshot, and events carry the whole new state, so nothing is missed or undone.
        let opened = match client.live(&[]).await {
            Ok((ws, _connected)) => snapshot(&client).await.map(|snap| (ws, snap)),
            Err(err) => Err(err),
        };
        let mut ws = match opened {
            Ok((ws, snap)) => {
                if snap.into_iter().any(|msg| tx.send(msg).is_err()) || tx.send(Msg::Live).is_err()
                {
                    return;
                }
                retry = FIRST_RETRY;
                ws
            }
            Err(err) => {
                if tx.send(Msg::Offline(reason(&err))).is_err() {
                    return;
                }
                let wait = tokio::time::sleep(retry);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        () = &mut wait => break,
                        request = requests.recv() => match request {
                            Some(request) => serve(&client, &tx, request).await,
                            None => return,
                        },
                    }
                }
                retry = (retry * 2).min(LAST_RETRY);
                continue;
            }
        };
        loop {
            tokio::select! {
                event = next_event(&mut ws) => match event {
                    Some(Ok(text)) => {
                        if let Ok(event) = serde_json::from_str::<Value>(&text)
                            && tx.send(Msg::Event(event)).is_err()
                        {
                            return;
                        }
                    }
                    Some(Err(why)) => {
                        let _ = tx.send(Msg::Offline(why));
                        break;
                    }
                    None => {
                        let _ = tx.send(Msg::Offline("the server closed the connection".into()));
                        break;
                    }
                },
                request = requests.recv() => match request {
                    Some(request) => serve(&client, &tx, request).await,
                    None => return,
                },
            }
        }
    }
}

fn reason(err: &ClientError) -> String {
    match err {
        ClientError::Unreachable { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Everything the board shows: sessions with their tasks, then the teams.
async fn snapshot(client: &Client) -> Result<Vec<Msg>, ClientError> {
    let (sessions, tasks, teams) =
        tokio::try_join!(client.sessions("all"), client.all_tasks(), teams(client))?;
    Ok(vec![Msg::Snapshot { sessions, tasks }, Msg::Teams(teams)])
}

/// The teams; none from a server that predates them (404).
async fn teams(client: &Client) -> Result<Vec<flow_client::model::Team>, ClientError> {
    match client.teams().await {
        Err(ClientError::Api { status: 404, .. }) => Ok(Vec::new()),
        answer => answer,
    }
}

/// Serves one request. A read that replaces state (a snapshot, the session list, a session's
/// tasks, the teams) is answered before the next live event is read: an answer taken at one moment must
/// not land after, and undo, an event that came later. The events wait in the socket
/// meanwhile, and carry whole states, so applying them after the answer loses nothing. A note
/// changes nothing on screen by itself (its file's event does), so it runs in the background.
async fn serve(client: &Client, tx: &UnboundedSender<Msg>, request: Request) {
    let msg = match request {
        Request::Snapshot => match snapshot(client).await {
            Ok(msgs) => {
                for msg in msgs {
                    let _ = tx.send(msg);
                }
                return;
            }
            Err(err) => Err(err),
        },
        Request::Teams => {
            let msg = teams(client)
                .await
                .map_or_else(|err| Msg::TeamsFailed(err.to_string()), Msg::Teams);
            let _ = tx.send(msg);
            return;
        }
        Request::Sessions => client.sessions("all").await.map(Msg::Sessions),
        Request::SessionTasks(session) => client
            .session_tasks(&session)
            .await
            .map(|tasks| Msg::SessionTasks { session, tasks }),
        Request::AddNote {
            session,
            task,
            note,
        } => {
            let client = client.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let msg = match client.add_note(&session, &task, &note).await {
                    Ok(()) => Msg::Notice(format!("Note added to #{task}")),
                    Err(err) => Msg::Notice(format!("Could not add the note: {err}")),
                };
                let _ = tx.send(msg);
            });
            return;
        }
    };
    let msg = msg.unwrap_or_else(|err| Msg::Notice(format!("Could not reload: {err}")));
    let _ = tx.send(msg);
}
