//! Timestamps on the wire: RFC 3339, UTC, milliseconds (contract §3).

use std::time::SystemTime;

pub fn rfc3339_millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
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
