//! Requests one machine makes of another: a note or a delete on a task only the owner has the
//! file of. The request is a row plus a notification; the owner carries it out with its own
//! safe edit and answers in the same row; the requester is woken by the answer's notification.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::{Shared, TeamError};

/// Commands older than this when the owner finds them are answered as expired, not carried
/// out: their requester has given up (it waits [`crate::Team::request`]'s `within`, 5 s from
/// the server) and withdrawn them.
const STALE_AFTER_MS: i64 = 5_000;

/// An answer: the HTTP status and body the owner's API gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub(crate) async fn request(
    shared: &Shared,
    owner: &str,
    request: Value,
    within: Duration,
) -> Result<Answer, TeamError> {
    let online = shared
        .remote()
        .machines
        .get(owner)
        .is_some_and(|m| m.online);
    if !online {
        return Err(TeamError::MachineOffline(owner.to_owned()));
    }
    let id = shared
        .db
        .insert_command(owner, &request.to_string())
        .await?;
    let (tx, rx) = oneshot::channel();
    shared
        .waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id, tx);
    let answered = tokio::time::timeout(within, rx).await;
    shared
        .waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&id);
    match answered {
        Ok(Ok(answer)) => Ok(answer),
        _ => {
            // Withdraw it, so it is never carried out after the caller was told it timed out;
            // if the owner got to it first, its answer (maybe just in) is the answer.
            if shared.db.withdraw(id).await? {
                return Err(TeamError::Timeout(owner.to_owned()));
            }
            match shared.db.fetch_answer(id).await? {
                Some(answer) => Ok(answer),
                None => Err(TeamError::Timeout(owner.to_owned())),
            }
        }
    }
}

/// An answer notification arrived: hand it to the request waiting for it, if any.
pub(crate) async fn deliver(shared: &Shared, id: i64) {
    let waiting = shared
        .waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&id);
    let Some(tx) = waiting else { return };
    match shared.db.fetch_answer(id).await {
        Ok(Some(answer)) => {
            let _ = tx.send(answer);
        }
        Ok(None) => {}
        Err(err) => tracing::debug!(%err, id, "could not read a command's answer"),
    }
}

/// Carries out, on a task of its own, every command waiting for this machine.
pub(crate) fn spawn_serve(shared: &std::sync::Arc<Shared>) {
    let shared = shared.clone();
    tokio::spawn(async move { serve_pending(&shared).await });
}

/// Carries out every command waiting for this machine, each claimed first, so that one
/// command is carried out once even if two Flows answer to this machine's name.
async fn serve_pending(shared: &Shared) {
    let Some(handler) = shared.handler.get().cloned() else {
        return;
    };
    let pending = match shared.db.pending_for(&shared.me).await {
        Ok(p) => p,
        Err(err) => {
            tracing::debug!(%err, "could not read pending commands");
            return;
        }
    };
    for (id, _, _) in pending {
        let (request, age_ms) = match shared.db.claim_command(id).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => continue,
            Err(err) => {
                tracing::debug!(%err, id, "could not claim a team command");
                continue;
            }
        };
        let answer = if age_ms > STALE_AFTER_MS {
            Answer {
                status: 504,
                body: serde_json::json!({"error": "The request expired before this machine saw it", "code": "machine_timeout"}),
            }
        } else {
            match serde_json::from_str::<Value>(&request) {
                Ok(request) => handler(request).await,
                Err(_) => Answer {
                    status: 400,
                    body: serde_json::json!({"error": "Malformed team command"}),
                },
            }
        };
        if let Err(err) = shared.db.answer(id, &answer).await {
            tracing::warn!(%err, id, "could not answer a team command");
        }
    }
}
