//! Claude Code's live registry (`~/.claude/sessions/<pid>.json`): one file per running process,
//! rewritten as the session turns busy, idle or waiting (contract §6). The older generation
//! wrote `pid-<n>.json` with only `session_id` and `cwd`. Parsing is lenient about everything
//! but the session id: an entry that names no session says nothing a board can show.

use serde::Deserialize;

use crate::layout::registry_pid;

/// A registry file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub pid: u32,
    pub session_id: String,
    pub cwd: Option<String>,
    /// Epoch ms when the process registered.
    pub started_at: Option<i64>,
    /// The process's start time as the writer saw it (clock ticks since boot, or `ps`'s
    /// wall-clock form); compared with the running process to catch reused pids.
    pub proc_start: Option<String>,
    /// `busy`, `idle`, `waiting`, `shell`; absent for SDK sessions and the legacy form.
    pub status: Option<String>,
    /// Epoch ms of the last rewrite (`statusUpdatedAt`, else `updatedAt`).
    pub updated_at: Option<i64>,
    /// What a waiting session waits for (`input needed`, a permission, …).
    pub waiting_for: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("not a registry file name (want <pid>.json)")]
    Name,
    #[error("not a registry entry: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the entry names no session")]
    NoSession,
    #[error("the entry's session id is not a valid id: {0}")]
    BadSession(#[from] crate::ids::IdError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    pid: Option<serde_json::Value>,
    session_id: Option<String>,
    /// The legacy generation's spelling.
    #[serde(rename = "session_id")]
    legacy_session_id: Option<String>,
    cwd: Option<String>,
    started_at: Option<serde_json::Value>,
    proc_start: Option<serde_json::Value>,
    status: Option<String>,
    status_updated_at: Option<serde_json::Value>,
    updated_at: Option<serde_json::Value>,
    waiting_for: Option<String>,
    name: Option<String>,
}

/// Parses the registry file `file_name` (its name gives the pid when the content does not).
pub fn parse(file_name: &str, bytes: &[u8]) -> Result<RegistryEntry, RegistryError> {
    let named_pid = registry_pid(file_name).ok_or(RegistryError::Name)?;
    let raw: Raw = serde_json::from_slice(bytes)?;
    let session_id = raw
        .session_id
        .or(raw.legacy_session_id)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or(RegistryError::NoSession)?;
    crate::ids::SessionId::parse(&session_id)?;
    let pid = raw
        .pid
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0)
        .unwrap_or(named_pid);
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(RegistryEntry {
        pid,
        session_id,
        cwd: text(raw.cwd),
        started_at: raw.started_at.as_ref().and_then(millis),
        proc_start: raw.proc_start.as_ref().and_then(|v| match v {
            serde_json::Value::String(s) => text(Some(s.clone())),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        status: text(raw.status).map(|s| s.to_ascii_lowercase()),
        updated_at: raw
            .status_updated_at
            .as_ref()
            .and_then(millis)
            .or_else(|| raw.updated_at.as_ref().and_then(millis)),
        waiting_for: text(raw.waiting_for),
        name: text(raw.name),
    })
}

/// Epoch milliseconds, from a number or numeric text.
fn millis(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_form() {
        let e = parse(
            "409825.json",
            br#"{"pid":409825,"sessionId":"c3fb74ec-8b9d-4142-954c-4bdf1a77f7f1","cwd":"/home/v/a",
                "startedAt":1778572448459,"procStart":"20095994","version":"2.1.139","peerProtocol":1,
                "kind":"interactive","entrypoint":"cli","status":"busy","updatedAt":1778681861222,"name":"x"}"#,
        )
        .unwrap();
        assert_eq!(e.pid, 409_825);
        assert_eq!(e.session_id, "c3fb74ec-8b9d-4142-954c-4bdf1a77f7f1");
        assert_eq!(e.proc_start.as_deref(), Some("20095994"));
        assert_eq!(e.status.as_deref(), Some("busy"));
        assert_eq!(e.updated_at, Some(1_778_681_861_222));
        assert_eq!(e.started_at, Some(1_778_572_448_459));
    }

    #[test]
    fn waiting_entries_say_what_for_and_prefer_status_updated_at() {
        let e = parse(
            "48213.json",
            br#"{"pid":48213,"sessionId":"s","status":"waiting","updatedAt":1,"statusUpdatedAt":2,
                "waitingFor":"input needed","procStart":"Thu Mar  5 10:00:00 2026"}"#,
        )
        .unwrap();
        assert_eq!(e.waiting_for.as_deref(), Some("input needed"));
        assert_eq!(e.updated_at, Some(2));
        assert_eq!(e.proc_start.as_deref(), Some("Thu Mar  5 10:00:00 2026"));
    }

    #[test]
    fn reads_the_legacy_form_with_the_pid_from_the_name() {
        let e = parse(
            "pid-31337.json",
            br#"{"session_id":"fe5e1c67-53e7-4862-81ae-d0e013e3270b","cwd":"/path/to/Demo"}"#,
        )
        .unwrap();
        assert_eq!(e.pid, 31_337);
        assert_eq!(e.session_id, "fe5e1c67-53e7-4862-81ae-d0e013e3270b");
        assert_eq!(e.status, None);
    }

    #[test]
    fn hostile_entries_are_errors_not_panics() {
        assert!(matches!(parse("1.json", b""), Err(RegistryError::Json(_))));
        assert!(matches!(
            parse("1.json", b"[]"),
            Err(RegistryError::Json(_))
        ));
        assert!(matches!(
            parse("1.json", br#"{"pid":1}"#),
            Err(RegistryError::NoSession)
        ));
        assert!(matches!(
            parse("1.json", br#"{"sessionId":"  "}"#),
            Err(RegistryError::NoSession)
        ));
        assert!(matches!(
            parse("x.json", br#"{"sessionId":"s"}"#),
            Err(RegistryError::Name)
        ));
        let odd = parse("7.json", br#"{"pid":-3,"sessionId":"s","startedAt":"12","status":"BUSY","unknown":{"deep":[1]}}"#).unwrap();
        assert_eq!(
            (odd.pid, odd.started_at, odd.status.as_deref()),
            (7, Some(12), Some("busy"))
        );
    }
}
