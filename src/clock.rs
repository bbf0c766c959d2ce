//! "Now" as a parameter, and the two timestamp spellings of the wire contract.
//!
//! Expiry and revocation read the time only through [`Clock`], so tests can move time
//! instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: Millis) -> Arc<Self> {
        Arc::new(ManualClock(AtomicI64::new(now)))
    }
    /// Move the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// The earliest instant the wire contract allows: 1970-01-01T00:00:00.000 UTC.
pub const EARLIEST: Millis = 0;
/// The latest: 9999-12-31T23:59:59.999 UTC. A later year needs a fifth digit and a sign
/// (`+10000-…`), which neither API's format has room for (API.md "Limits").
pub const LATEST: Millis = 253_402_300_799_999;
/// The allowed range in words, for messages.
pub const RANGE: &str = "1970-01-01T00:00:00.000 to 9999-12-31T23:59:59.999 UTC";

/// Whether `ms` falls in the years 1970 to 9999.
pub fn in_range(ms: Millis) -> bool {
    (EARLIEST..=LATEST).contains(&ms)
}

/// `now` plus `ms` milliseconds, when that still falls in the years 1970 to 9999.
pub fn later_in_range(now: Millis, ms: i64) -> Option<Millis> {
    now.checked_add(ms).filter(|t| in_range(*t))
}

/// The instant `ms`, clamped to the range chrono represents (about ±262,000 years): a
/// far-future expiry stays in the far future instead of becoming the epoch.
fn to_datetime(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms > 0 {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// Baack's spelling: ISO 8601, no zone, UTC, milliseconds (`2026-07-04T14:34:19.610`).
pub fn format_baack(ms: Millis) -> String {
    to_datetime(ms)
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// SailPoint's spelling: RFC 3339 with milliseconds and `Z` (`2017-07-11T18:45:37.098Z`).
pub fn format_rfc3339(ms: Millis) -> String {
    to_datetime(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses Baack's zone-less form (0 to 9 fractional digits, optional `Z`) or any RFC 3339
/// timestamp with an offset. Returns `None` when it is neither.
pub fn parse_timestamp(s: &str) -> Option<Millis> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    // `%.f` accepts an absent fraction as well as 1 to 9 digits.
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baack_format_round_trips_with_milliseconds() {
        let ms = parse_timestamp("2026-07-04T14:34:19.610").unwrap();
        assert_eq!(format_baack(ms), "2026-07-04T14:34:19.610");
        assert_eq!(format_rfc3339(ms), "2026-07-04T14:34:19.610Z");
    }

    #[test]
    fn accepts_every_fraction_length_and_zone() {
        for s in [
            "2026-07-04T14:34:19",
            "2026-07-04T14:34:19.6",
            "2026-07-04T14:34:19.610123456",
            "2026-07-04T14:34:19.610Z",
            "2026-07-04T16:34:19.610+02:00",
        ] {
            let ms = parse_timestamp(s).unwrap_or_else(|| panic!("{s} should parse"));
            assert_eq!(format_baack(ms)[..19], *"2026-07-04T14:34:19");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-04T14:34:19"), None);
    }

    #[test]
    fn instants_beyond_the_calendar_are_clamped_not_the_epoch() {
        // An expiry stored by an older build past the year 9999 reads as far future, not
        // the epoch (new ones are refused: see `in_range`).
        let far = format_baack(i64::MAX / 2);
        assert!(far.starts_with("+262"), "{far}");
        let back = parse_timestamp(&far).unwrap();
        assert!(back > parse_timestamp("9999-12-31T23:59:59.999").unwrap());
        assert_eq!(parse_timestamp(&format_rfc3339(i64::MAX)), Some(back));
        let early = parse_timestamp(&format_baack(i64::MIN)).unwrap();
        assert!(early < parse_timestamp("0000-01-01T00:00:00").unwrap());
    }

    #[test]
    fn the_range_is_the_years_1970_to_9999_exactly() {
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999"), Some(LATEST));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.000Z"), Some(EARLIEST));
        assert!(in_range(LATEST) && in_range(EARLIEST));
        assert!(!in_range(LATEST + 1) && !in_range(EARLIEST - 1));
        assert_eq!(later_in_range(LATEST - 10, 10), Some(LATEST));
        assert_eq!(later_in_range(LATEST - 10, 11), None);
        assert_eq!(later_in_range(1, i64::MAX), None);
        assert_eq!(later_in_range(5, -6), None);
        // What chrono reads past the range (a signed five-digit year) is out of it.
        let next = parse_timestamp("+10000-01-01T00:00:00").unwrap();
        assert_eq!(next, LATEST + 1);
        assert!(!in_range(next));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1000);
        assert_eq!(c.now(), 1000);
        c.advance(500);
        assert_eq!(c.now(), 1500);
    }
}

/// The edges of [`to_datetime`]: the instants around 0 are exact (not clamped either way),
/// and only instants past chrono's range are clamped, each to its own end.
#[cfg(test)]
mod boundary_tests {
    use super::*;

    #[test]
    fn instants_around_the_epoch_are_exact() {
        assert_eq!(format_baack(0), "1970-01-01T00:00:00.000");
        assert_eq!(format_baack(1), "1970-01-01T00:00:00.001");
        assert_eq!(format_baack(-1), "1969-12-31T23:59:59.999");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn only_instants_past_the_range_are_clamped_each_to_its_end() {
        let max = DateTime::<Utc>::MAX_UTC.timestamp_millis();
        let min = DateTime::<Utc>::MIN_UTC.timestamp_millis();
        assert_eq!(to_datetime(max).timestamp_millis(), max);
        assert_eq!(to_datetime(min).timestamp_millis(), min);
        assert_eq!(to_datetime(max + 1), DateTime::<Utc>::MAX_UTC);
        assert_eq!(to_datetime(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(to_datetime(min - 1), DateTime::<Utc>::MIN_UTC);
        assert_eq!(to_datetime(i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(to_datetime(0), DateTime::<Utc>::UNIX_EPOCH);
    }

    #[test]
    fn the_system_clock_reads_the_system_time() {
        fn std_now() -> i64 {
            let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            since.map(|d| d.as_millis() as i64).unwrap_or(0)
        }
        // Both read CLOCK_REALTIME, so the one lies between the other's two readings.
        let before = std_now();
        let now = SystemClock.now();
        let after = std_now();
        assert!(
            before <= now && now <= after,
            "{before} <= {now} <= {after}"
        );
    }
}
