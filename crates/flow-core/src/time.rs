//! Timestamps on the wire: RFC 3339, UTC, milliseconds (contract §3).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    humantime::parse_rfc3339_weak(raw.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(raw))
        .ok()
        .map(rfc3339_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

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
