//! The index task's batching rule, as plain data so it can be tested without a clock: a burst
//! of notices is applied once it goes quiet (trailing edge, so the final state is what
//! everyone sees), soon once the writer says it is done, and at least every `MAX_DELAY` during
//! an endless burst.

use std::time::Duration;

use flow_core::Change;
use tokio::time::Instant;

/// Quiet time after the last notice before a batch is applied, while a write may be under way.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(30);
/// Quiet time after a notice that says the write is complete (closed, or renamed into place).
pub(crate) const SETTLE: Duration = Duration::from_millis(4);
/// A steady stream of writes is still applied at least this often.
pub(crate) const MAX_DELAY: Duration = Duration::from_millis(150);

/// Changes waiting to be applied, in arrival order (so events leave in the order files
/// changed; `Index::apply` drops repeats).
#[derive(Debug, Default)]
pub(crate) struct Debounce {
    pending: Vec<Change>,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    quiet: Duration,
}

impl Debounce {
    /// Notices arriving at `now`; `settled` when the writer is known to be done.
    pub(crate) fn push(
        &mut self,
        now: Instant,
        changes: impl IntoIterator<Item = Change>,
        settled: bool,
    ) {
        let before = self.pending.len();
        self.pending.extend(changes);
        // Notices of nothing the index reads (`.lock`, Flow's own temp files) schedule nothing.
        if self.pending.len() == before {
            return;
        }
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        self.quiet = if settled { SETTLE } else { DEBOUNCE };
    }

    /// When the pending batch is due; `None` while nothing is pending.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first_at?, self.last_at?);
        Some((last + self.quiet).min(first + MAX_DELAY))
    }

    /// The batch, leaving nothing pending.
    pub(crate) fn take(&mut self) -> Vec<Change> {
        self.first_at = None;
        self.last_at = None;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u32) -> Change {
        Change::TaskFile {
            session: "s1".into(),
            file: format!("{n}.json"),
        }
    }

    const MS: Duration = Duration::from_millis(1);

    /// Feeds notices at the given offsets (ms) and returns the batches in the order they fall
    /// due, as a loop that applies a batch at its deadline would.
    fn batches(notices: &[(u64, bool)]) -> Vec<(u64, usize)> {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        let mut out = Vec::new();
        for (i, &(at, settled)) in notices.iter().enumerate() {
            let now = t0 + MS * u32::try_from(at).unwrap();
            if let Some(due) = d.deadline().filter(|due| *due <= now) {
                out.push(((due - t0).as_millis() as u64, d.take().len()));
            }
            d.push(now, [change(u32::try_from(i).unwrap())], settled);
        }
        if let Some(due) = d.deadline() {
            out.push(((due - t0).as_millis() as u64, d.take().len()));
        }
        out
    }

    #[test]
    fn a_burst_of_fifty_writes_is_one_batch_after_it_goes_quiet() {
        let notices: Vec<(u64, bool)> = (0..50).map(|i| (i, false)).collect();
        assert_eq!(batches(&notices), [(49 + 30, 50)]);
    }

    #[test]
    fn a_finished_write_is_applied_after_the_short_settle() {
        assert_eq!(batches(&[(0, false), (2, true)]), [(6, 2)]);
    }

    #[test]
    fn an_endless_burst_is_still_applied_every_max_delay() {
        let notices: Vec<(u64, bool)> = (0..400).step_by(10).map(|i| (i, false)).collect();
        assert_eq!(batches(&notices), [(150, 15), (300, 15), (390 + 30, 10)]);
    }

    #[test]
    fn notices_of_nothing_schedule_nothing() {
        let mut d = Debounce::default();
        d.push(Instant::now(), [], true);
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn nothing_pending_has_no_deadline() {
        let mut d = Debounce::default();
        assert_eq!(d.deadline(), None);
        d.push(Instant::now(), [Change::AllRoots], false);
        assert!(d.deadline().is_some());
        assert_eq!(d.take(), [Change::AllRoots]);
        assert_eq!(d.deadline(), None);
    }
}
