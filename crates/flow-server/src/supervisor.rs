//! The server's background tasks (the index task, the lease sweep) under supervision: each is
//! tracked, so shutdown waits for it to finish its batch, and a panic in one is logged and
//! stops the server with an error instead of leaving a board that silently stops changing.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for background tasks to finish what they are doing.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(crate) struct Supervisor {
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// The first task that panicked, if any.
    failed: Arc<Mutex<Option<&'static str>>>,
}

impl Supervisor {
    pub(crate) fn new(shutdown: CancellationToken) -> Self {
        Self {
            tracker: TaskTracker::new(),
            shutdown,
            failed: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `task` until it returns (it must return once the shutdown token fires). If it
    /// panics, the panic is logged and the server shuts down.
    pub(crate) fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = tokio::spawn(task);
        let this = self.clone();
        self.tracker.spawn(async move {
            match handle.await {
                Ok(()) => tracing::debug!(task = name, "background task stopped"),
                Err(err) if err.is_panic() => {
                    let panic = err.into_panic();
                    tracing::error!(
                        task = name,
                        panic = flow_core::panic_message(panic.as_ref()),
                        "background task panicked; stopping the server, which can no longer keep the board right"
                    );
                    this.failed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert(name);
                    this.shutdown.cancel();
                }
                Err(_) => tracing::debug!(task = name, "background task cancelled"),
            }
        });
    }

    /// After shutdown: waits (bounded) for every task, then says whether one of them panicked.
    pub(crate) async fn wait(&self) -> Result<(), &'static str> {
        self.tracker.close();
        if tokio::time::timeout(GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pending = self.tracker.len(),
                "background tasks still running after {GRACE:?}; exiting anyway"
            );
        }
        match *self.failed.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(name) => Err(name),
            None => Ok(()),
        }
    }
}

/// Logs a blocking job that panicked (its `JoinError`), so no failure passes without a word.
pub(crate) fn log_join_error(what: &str, res: Result<(), JoinError>) {
    if let Err(err) = res {
        if err.is_panic() {
            let panic = err.into_panic();
            tracing::error!(
                job = what,
                panic = flow_core::panic_message(panic.as_ref()),
                "a blocking job panicked"
            );
        } else {
            tracing::debug!(job = what, "a blocking job was cancelled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_reported_and_stops_the_server() {
        let shutdown = CancellationToken::new();
        let sup = Supervisor::new(shutdown.clone());
        sup.spawn("steady", {
            let shutdown = shutdown.clone();
            async move { shutdown.cancelled().await }
        });
        sup.spawn("faulty", async { panic!("a bug") });
        shutdown.cancelled().await;
        assert_eq!(sup.wait().await, Err("faulty"));
    }

    #[tokio::test]
    async fn shutdown_waits_for_tasks_to_finish() {
        let shutdown = CancellationToken::new();
        let sup = Supervisor::new(shutdown.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        sup.spawn("finishes its batch", {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                tokio::task::yield_now().await;
                let _ = tx.send("done");
            }
        });
        shutdown.cancel();
        assert_eq!(sup.wait().await, Ok(()));
        assert_eq!(rx.await, Ok("done"));
    }
}
