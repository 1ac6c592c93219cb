//! Time, in one place: the [`Clock`] every part of the server asks for "now" (so tests move
//! time by hand instead of sleeping), the epoch-millisecond arithmetic the feature store keeps
//! its times in, and timestamps on the wire (RFC 3339, UTC, milliseconds; contract §3).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from. The system clock in production; a [`ManualClock`] in tests, which
/// moves only when the test says so. Cheap to clone; clones share one time source.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: milliseconds since the epoch, set by a [`ManualClock`].
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The operating system's wall clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> SystemTime {
        match &self.manual {
            None => SystemTime::now(),
            Some(ms) => from_epoch_ms(ms.load(Ordering::Acquire)),
        }
    }

    /// Milliseconds since the Unix epoch, the unit the feature store keeps times in.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            None => epoch_ms(SystemTime::now()),
            Some(ms) => ms.load(Ordering::Acquire),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(ms) => write!(f, "Clock::manual({})", ms.load(Ordering::Acquire)),
        }
    }
}

/// Two clocks are equal when they are the same time source.
impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.manual, &other.manual) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

/// A clock that stands still until told to move: tests hand its [`Clock`] to the server and
/// then pass a lease's deadline with [`ManualClock::advance`] instead of sleeping through it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self(Arc::new(AtomicI64::new(epoch_ms(start))))
    }

    /// A clock reading the system's time now, from then on moving only when told.
    pub fn starting_now() -> Self {
        Self::starting_at(SystemTime::now())
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |ms| {
                Some(ms.saturating_add(by))
            });
    }

    /// The [`Clock`] to hand to whatever should read this time.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.0.clone()),
        }
    }
}

/// Milliseconds since the Unix epoch; times before it are 0, times past `i64` saturate.
pub fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The inverse of [`epoch_ms`]; negative values are the epoch itself.
pub fn from_epoch_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// An epoch-millisecond time as the contract's RFC 3339 text.
pub fn rfc3339_from_ms(ms: i64) -> String {
    rfc3339_millis(from_epoch_ms(ms))
}

/// File times come from the user's disk and can be anything (`touch -d 1960-01-01`); they are
/// clamped to what RFC 3339 can say (1970 to 9999), because the formatter panics outside it.
pub fn rfc3339_millis(t: SystemTime) -> String {
    const LATEST: Duration = Duration::from_secs(253_402_300_799); // 9999-12-31T23:59:59Z
    let since_epoch = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .min(LATEST);
    humantime::format_rfc3339_millis(UNIX_EPOCH + since_epoch).to_string()
}

/// Re-renders a timestamp found in Claude Code's files in the contract's form; `None` if it
/// is not a timestamp at all.
pub fn normalize_rfc3339(raw: &str) -> Option<String> {
    parse_rfc3339(raw).map(rfc3339_millis)
}

/// A timestamp found in Claude Code's files (RFC 3339, with or without fractions and `Z`).
pub fn parse_rfc3339(raw: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(raw.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(raw))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = ManualClock::starting_at(UNIX_EPOCH + Duration::from_millis(5_000));
        let clock = manual.clock();
        assert_eq!(clock.now_ms(), 5_000);
        assert_eq!(clock.now_ms(), 5_000);
        manual.advance(Duration::from_millis(1_100));
        assert_eq!(clock.now_ms(), 6_100);
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(6_100));
        assert_eq!(clock, manual.clock());
        assert_ne!(clock, Clock::system());
    }

    #[test]
    fn epoch_ms_round_trips_and_clamps() {
        assert_eq!(
            epoch_ms(from_epoch_ms(1_795_960_357_092)),
            1_795_960_357_092
        );
        assert_eq!(from_epoch_ms(-5), UNIX_EPOCH);
        assert_eq!(epoch_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(
            rfc3339_from_ms(1_795_960_357_092),
            "2026-11-29T13:52:37.092Z"
        );
    }

    #[test]
    fn formats_with_millis() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_960_357_092);
        assert_eq!(rfc3339_millis(t), "2026-11-29T13:52:37.092Z");
    }

    #[test]
    fn out_of_range_file_times_are_clamped_not_panics() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(315_619_200);
        assert_eq!(rfc3339_millis(before_epoch), "1970-01-01T00:00:00.000Z");
        let far_future = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(rfc3339_millis(far_future), "9999-12-31T23:59:59.000Z");
    }

    #[test]
    fn normalizes_claude_timestamps() {
        assert_eq!(
            normalize_rfc3339("2026-01-03T10:00:00Z").as_deref(),
            Some("2026-01-03T10:00:00.000Z")
        );
        assert_eq!(
            normalize_rfc3339("2026-01-03T10:00:00.5Z").as_deref(),
            Some("2026-01-03T10:00:00.500Z")
        );
        assert_eq!(normalize_rfc3339("yesterday"), None);
    }
}
