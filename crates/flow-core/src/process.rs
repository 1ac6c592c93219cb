//! Is the process behind a registry entry still the one that wrote it? Pids are reused, so a
//! live pid is not enough: where the entry records when its process started (`procStart`), the
//! running process must have started then too. Linux answers from `/proc/<pid>/stat` (one small
//! read, a few microseconds); elsewhere only the pid's existence can be checked.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How far apart a wall-clock start time (`ps -o lstart`, one-second resolution) and the
/// kernel's may be and still describe the same process.
const SAME_START: Duration = Duration::from_secs(2);
/// A registry entry is written by its process after it started; a process that started
/// clearly after the entry's `startedAt` took over a reused pid.
const STARTED_AFTER_SLACK: Duration = Duration::from_secs(5);

/// What the kernel says about a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22), the unit Claude
    /// Code's `procStart` uses on Linux.
    pub start_ticks: u64,
    /// The same instant on the wall clock, when the boot time is known.
    pub started: Option<SystemTime>,
}

/// Probes processes. Holds the boot time and tick rate, read once.
#[derive(Debug, Clone)]
pub struct ProcessProbe {
    proc_root: PathBuf,
    /// Whether `/proc` answers here; without it only the pid's existence can be checked.
    has_proc: bool,
    boot: Option<SystemTime>,
    ticks_per_sec: u64,
}

impl Default for ProcessProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer for one registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// No such process (or a zombie: it has exited).
    Gone,
    /// A process has that pid, but it is not the one that wrote the entry.
    Reused,
}

impl ProcessProbe {
    pub fn new() -> Self {
        Self::with_proc_root("/proc")
    }

    /// A probe reading another `/proc` (tests point it at a folder of their own).
    pub fn with_proc_root(root: impl Into<PathBuf>) -> Self {
        let proc_root = root.into();
        let boot = std::fs::read_to_string(proc_root.join("stat"))
            .ok()
            .and_then(|text| parse_boot_time(&text));
        Self {
            has_proc: proc_root.join("self").exists(),
            proc_root,
            boot,
            ticks_per_sec: ticks_per_second(),
        }
    }

    /// `None` when there is no such process, or it has exited (a zombie), or `/proc` is not
    /// available.
    pub fn info(&self, pid: u32) -> Option<ProcessInfo> {
        let text =
            std::fs::read_to_string(self.proc_root.join(pid.to_string()).join("stat")).ok()?;
        let (state, start_ticks) = parse_stat(&text)?;
        if state == 'Z' || state == 'X' {
            return None;
        }
        let started = self.boot.map(|boot| {
            boot + Duration::from_millis(
                start_ticks.saturating_mul(1000) / self.ticks_per_sec.max(1),
            )
        });
        Some(ProcessInfo {
            start_ticks,
            started,
        })
    }

    /// Whether `pid` is still the process that wrote a registry entry with this `procStart`
    /// (either form: clock ticks since boot, or `ps`'s `Thu Mar  5 10:00:00 2026` in local
    /// time) and `startedAt` (epoch ms).
    pub fn liveness(
        &self,
        pid: u32,
        proc_start: Option<&str>,
        started_at_ms: Option<i64>,
    ) -> Liveness {
        if !self.has_proc {
            return pid_exists_elsewhere(pid);
        }
        let Some(info) = self.info(pid) else {
            return Liveness::Gone;
        };
        let recorded = proc_start.map(str::trim).filter(|s| !s.is_empty());
        if let Some(recorded) = recorded {
            let same = if recorded.bytes().all(|b| b.is_ascii_digit()) {
                recorded.parse::<u64>().ok() == Some(info.start_ticks)
            } else {
                match (parse_lstart(recorded), info.started) {
                    (Some(when), Some(started)) => close(when, started, SAME_START),
                    // A form we cannot read says nothing either way.
                    _ => true,
                }
            };
            if !same {
                return Liveness::Reused;
            }
        }
        // Without a recorded start, the entry's own time is the check. With one, the start
        // decided: clock ticks are exact and immune to a stepped wall clock, which would make
        // this comparison call every running session reused.
        if let (None, Some(ms), Some(started)) = (recorded, started_at_ms, info.started) {
            let written = crate::time::from_epoch_ms(ms);
            if started > written + STARTED_AFTER_SLACK {
                return Liveness::Reused;
            }
        }
        Liveness::Alive
    }
}

fn close(a: SystemTime, b: SystemTime, within: Duration) -> bool {
    let gap = a
        .duration_since(b)
        .or_else(|_| b.duration_since(a))
        .unwrap_or(Duration::MAX);
    gap <= within
}

/// `(state, starttime)` from `/proc/<pid>/stat`. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields 4..=21 come between the state (3) and the start time (22).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

fn parse_boot_time(proc_stat: &str) -> Option<SystemTime> {
    let secs: u64 = proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// `ps -o lstart` output (`Thu Mar  5 10:00:00 2026`), in the machine's local time zone.
fn parse_lstart(text: &str) -> Option<SystemTime> {
    // The weekday says nothing the date does not; leaving it out spares a mismatch.
    let mut words = text.split_ascii_whitespace();
    let weekday = words.next()?;
    if weekday.len() != 3 || !weekday.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let collapsed = words.collect::<Vec<_>>().join(" ");
    let civil = jiff::civil::DateTime::strptime("%b %d %H:%M:%S %Y", &collapsed).ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::system()).ok()?;
    let ms = zoned.timestamp().as_millisecond();
    Some(crate::time::from_epoch_ms(ms))
}

fn ticks_per_second() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::param::clock_ticks_per_second()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        100
    }
}

/// Without `/proc`, all that can be known is whether the pid exists.
fn pid_exists_elsewhere(pid: u32) -> Liveness {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return Liveness::Gone;
        };
        match rustix::process::test_kill_process(pid) {
            Ok(()) | Err(rustix::io::Errno::PERM) => Liveness::Alive,
            Err(_) => Liveness::Gone,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        Liveness::Alive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 20095994 1000 200";
        assert_eq!(parse_stat(line), Some(('S', 20_095_994)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_is_alive_by_either_form_of_its_start() {
        let probe = ProcessProbe::new();
        let me = std::process::id();
        let info = probe.info(me).expect("our own /proc entry");
        let ticks = info.start_ticks.to_string();
        assert_eq!(probe.liveness(me, Some(&ticks), None), Liveness::Alive);
        assert_eq!(probe.liveness(me, None, None), Liveness::Alive);
        let other = (info.start_ticks + 1000).to_string();
        assert_eq!(probe.liveness(me, Some(&other), None), Liveness::Reused);

        let started = info.started.expect("boot time known");
        let local = jiff::Timestamp::from_millisecond(crate::time::epoch_ms(started))
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::system());
        let lstart = local.strftime("%a %b %e %H:%M:%S %Y").to_string();
        assert_eq!(
            probe.liveness(me, Some(&lstart), None),
            Liveness::Alive,
            "{lstart}"
        );
        let hour_later = (local + jiff::Span::new().hours(1))
            .strftime("%a %b %e %H:%M:%S %Y")
            .to_string();
        assert_eq!(
            probe.liveness(me, Some(&hour_later), None),
            Liveness::Reused
        );

        // Written a minute before this process started: the pid was taken over.
        let before = crate::time::epoch_ms(started) - 60_000;
        assert_eq!(probe.liveness(me, None, Some(before)), Liveness::Reused);
        let after = crate::time::epoch_ms(started) + 1_500;
        assert_eq!(probe.liveness(me, None, Some(after)), Liveness::Alive);
        // The wall clock was stepped after the entry was written: matching ticks still say
        // it is this process (ticks never move with the clock).
        assert_eq!(
            probe.liveness(me, Some(&ticks), Some(before)),
            Liveness::Alive
        );
    }

    #[test]
    fn a_missing_pid_is_gone() {
        let probe = ProcessProbe::new();
        // Above the kernel's pid_max (at most 2^22).
        assert_eq!(probe.liveness(4_194_305 + 7, None, None), Liveness::Gone);
    }

    #[test]
    fn lstart_is_read_with_single_or_double_spaces() {
        assert!(parse_lstart("Thu Mar  5 10:00:00 2026").is_some());
        assert!(parse_lstart("Thu Mar 15 10:00:00 2026").is_some());
        assert_eq!(parse_lstart("yesterday"), None);
    }
}
