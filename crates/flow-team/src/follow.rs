//! Following the other machines: one `LISTEN` connection per server for item changes,
//! commands addressed to this machine and answers to its requests, plus a tick that sends this
//! machine's heartbeat and notices machines that went quiet. When the connection drops it comes
//! back with backoff and reads everything again (what happened meanwhile is unknown), which
//! the observer sees as [`RemoteChange::Resync`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_postgres::AsyncMessage;

use crate::{HEARTBEAT_EVERY, Machine, Remote, RemoteChange, Shared, TeamError, commands};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Reads every machine and every item again, replacing the remote board.
pub(crate) async fn load_all(shared: &Shared) -> Result<(), TeamError> {
    let machines = shared.db.machines(&shared.me).await?;
    let rows = shared.db.items_since(&shared.me, 0).await?;
    let mut remote = Remote {
        machines: machines.into_iter().map(|m| (m.name.clone(), m)).collect(),
    };
    let mut last = 0;
    for row in rows {
        last = last.max(row.seq);
        let machine = remote
            .machines
            .entry(row.machine.clone())
            .or_insert_with(|| Machine {
                name: row.machine.clone(),
                ..Machine::default()
            });
        let items = Arc::make_mut(&mut machine.items);
        match row.doc {
            Some(doc) => items.insert(row.key, doc),
            None => items.remove(&row.key),
        };
    }
    shared.seq.store(last, Ordering::SeqCst);
    shared.change(|now| {
        *now = remote;
        Some(RemoteChange::Resync)
    });
    Ok(())
}

/// Reads the items written since the last one seen and tells the observer, machine by machine.
async fn catch_up(shared: &Shared) -> Result<(), TeamError> {
    let after = shared.seq.load(Ordering::SeqCst);
    let rows = shared.db.items_since(&shared.me, after).await?;
    let Some(last) = rows.iter().map(|r| r.seq).max() else {
        return Ok(());
    };
    shared.seq.fetch_max(last, Ordering::SeqCst);
    let mut by_machine: BTreeMap<String, Vec<crate::conn::Row>> = BTreeMap::new();
    for row in rows {
        by_machine.entry(row.machine.clone()).or_default().push(row);
    }
    for (name, rows) in by_machine {
        shared.change(|now| {
            let machine = now.machines.entry(name.clone()).or_insert_with(|| Machine {
                name: name.clone(),
                online: true,
                ..Machine::default()
            });
            let mut items = Vec::with_capacity(rows.len());
            let held = Arc::make_mut(&mut machine.items);
            for row in rows {
                match &row.doc {
                    Some(doc) => held.insert(row.key.clone(), doc.clone()),
                    None => held.remove(&row.key),
                };
                items.push((row.key, row.doc));
            }
            Some(RemoteChange::Items {
                machine: name.clone(),
                items,
            })
        });
    }
    Ok(())
}

/// Reads the machines' presence and tells the observer about each that came or went.
async fn refresh_machines(shared: &Shared) -> Result<(), TeamError> {
    let machines = shared.db.machines(&shared.me).await?;
    for fresh in machines {
        shared.change(|now| {
            let known = now
                .machines
                .entry(fresh.name.clone())
                .or_insert_with(|| Machine {
                    name: fresh.name.clone(),
                    online: !fresh.online,
                    ..Machine::default()
                });
            known.last_seen_at = fresh.last_seen_at;
            if known.online == fresh.online {
                return None;
            }
            known.online = fresh.online;
            Some(RemoteChange::Machine {
                name: fresh.name.clone(),
                online: fresh.online,
            })
        });
    }
    Ok(())
}

pub(crate) fn spawn(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            match listen(&shared, &mut stop, first).await {
                Ok(Ended::Stopped) => return,
                Ok(Ended::Lost) => {
                    backoff = Duration::from_millis(100);
                    tracing::warn!(db = %shared.db.described, "lost the team board's listener; reconnecting");
                }
                Err(err) => tracing::debug!(%err, ?backoff, "team database still unreachable"),
            }
            first = false;
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

enum Ended {
    Stopped,
    Lost,
}

async fn listen(
    shared: &Arc<Shared>,
    stop: &mut watch::Receiver<bool>,
    first: bool,
) -> Result<Ended, TeamError> {
    let (client, mut connection) = shared.db.open().await?;
    let (notes, mut incoming) = mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let note = (n.channel().to_owned(), n.payload().to_owned());
                    if notes.send(note).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!(%err, "team listener connection failed");
                    return;
                }
            }
        }
    });
    client
        .batch_execute("LISTEN flow_team; LISTEN flow_team_commands; LISTEN flow_team_answers")
        .await?;
    if first {
        // Anything written between the load and this LISTEN: read it now.
        catch_up(shared).await?;
        refresh_machines(shared).await?;
    } else {
        tracing::info!(db = %shared.db.described, "team database is back; reading the board again");
        if shared.publishing {
            shared.db.heartbeat(&shared.me).await?;
            shared.db.announce(&shared.me).await?;
        }
        load_all(shared).await?;
    }
    commands::spawn_serve(shared);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    let mut ticks: u64 = 0;
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ended = loop {
        tokio::select! {
            _ = stop.changed() => break Ended::Stopped,
            note = incoming.recv() => {
                let Some((channel, payload)) = note else { break Ended::Lost };
                handle(shared, &channel, &payload).await;
            }
            _ = tick.tick() => {
                if shared.publishing
                    && let Err(err) = shared.db.heartbeat(&shared.me).await
                {
                    tracing::debug!(%err, "heartbeat failed");
                }
                if let Err(err) = refresh_machines(shared).await {
                    tracing::debug!(%err, "could not read the machines");
                }
                ticks += 1;
                if shared.publishing && ticks % 60 == 1 {
                    let _ = shared.db.prune_commands().await;
                }
            }
        }
    };
    pump.abort();
    Ok(ended)
}

async fn handle(shared: &Arc<Shared>, channel: &str, payload: &str) {
    let value: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let outcome = match channel {
        "flow_team" if value.get("presence").is_some() => refresh_machines(shared).await,
        "flow_team" => {
            if value["machine"] == shared.me.as_str() {
                return;
            }
            // A machine that writes is alive: its presence may have flipped too.
            let outcome = catch_up(shared).await;
            if !shared
                .remote()
                .machines
                .get(value["machine"].as_str().unwrap_or(""))
                .is_some_and(|m| m.online)
            {
                let _ = refresh_machines(shared).await;
            }
            outcome
        }
        "flow_team_commands" if value["machine"] == shared.me.as_str() => {
            // Off the listener: a slow edit (waiting for Claude Code's lock) must not hold up
            // the notifications behind it.
            commands::spawn_serve(shared);
            Ok(())
        }
        "flow_team_answers" => {
            if let Some(id) = value["id"].as_i64() {
                commands::deliver(shared, id).await;
            }
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(err) = outcome {
        tracing::debug!(%err, channel, "team notification not followed");
    }
}
