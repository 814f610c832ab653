//! The machine a run happened on: CPU model, cores, OS, rustc, git commit, date.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where and when results were produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model (`model name` of /proc/cpuinfo), or "unknown".
    pub cpu_model: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Operating system and architecture (plus PRETTY_NAME of /etc/os-release if any).
    pub os: String,
    /// `rustc --version` of the compiler that built the harness.
    pub rustc: String,
    /// `git rev-parse HEAD` in the working directory, or "unknown".
    pub git_commit: String,
    /// Whether the git work tree had uncommitted changes (false when unknown).
    pub git_dirty: bool,
    /// When the record was taken, RFC 3339 in UTC.
    pub date: String,
    /// The instruction-set path the simd kernels ran on (`avx2_fma`, `portable`,
    /// ...), set by the harness; empty where not recorded.
    #[serde(default)]
    pub simd_isa: String,
    /// Whether arithmetic flushed subnormal numbers to zero (FTZ or DAZ) in the
    /// run's default floating-point environment (false: gradual underflow).
    #[serde(default)]
    pub flushes_subnormals: bool,
    /// Whether the run could set flush-to-zero and denormals-are-zero for a call
    /// (`flush_subnormals = true` in a scenario; x86_64's MXCSR).
    #[serde(default)]
    pub can_flush_subnormals: bool,
}

impl Machine {
    /// Describe this machine now.
    pub fn detect() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pretty = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            });
        let mut os = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
        if let Some(p) = pretty {
            os = format!("{os} ({p})");
        }
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        };
        let git_commit = git(&["rev-parse", "HEAD"])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let git_dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.trim().is_empty());
        Machine {
            cpu_model,
            cores,
            os,
            rustc: env!("SOFTMAX_LAB_RUSTC_VERSION").to_string(),
            git_commit,
            git_dirty,
            date: rfc3339_utc(SystemTime::now()),
            simd_isa: String::new(),
            flushes_subnormals: softmax_lab_core::fpenv::flushes_results()
                || softmax_lab_core::fpenv::zeroes_inputs(),
            can_flush_subnormals: softmax_lab_core::fpenv::FlushGuard::supported(),
        }
    }
}

/// A time as RFC 3339 in UTC, to the second (`2024-05-01T12:34:56Z`).
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29T12:00:01Z = 951825601 s (a leap day).
        let t = UNIX_EPOCH + Duration::from_secs(951_825_601);
        assert_eq!(rfc3339_utc(t), "2000-02-29T12:00:01Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339_utc(t), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn detect_fills_every_field() {
        let m = {
            let _spawning = crate::spawn_guard();
            Machine::detect()
        };
        assert!(m.cores >= 1);
        assert!(!m.rustc.is_empty());
        assert_eq!(m.date.len(), 20, "{}", m.date);
    }
}
