//! Time as the record keeps it: milliseconds since the Unix epoch, shown in UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A moment in UTC, in the pieces the exports use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utc {
    /// `2026-11-27`
    pub date: String,
    /// `18:43`
    pub time: String,
    /// `2026-11-27T18:43:22.123Z`
    pub rfc3339: String,
}

/// `at` (milliseconds since the Unix epoch) in UTC.
pub fn utc(at: i64) -> Utc {
    // 9999-12-31T23:59:59.999Z at most: a date past it has no RFC 3339 form.
    let moment = UNIX_EPOCH + Duration::from_millis(at.clamp(0, 253_402_300_799_999) as u64);
    let rfc3339 = humantime::format_rfc3339_millis(moment).to_string();
    Utc { date: rfc3339[..10].to_owned(), time: rfc3339[11..16].to_owned(), rfc3339 }
}
