//! Rate limiting: N requests per window, counted per authenticated API client, or per
//! source address for requests without a valid token (API.md "Limits").
//!
//! Design: fixed windows shared by every key, so that ending a window is one swap of the
//! table, not a sweep of it. Each key's count lives in the table of the current window;
//! when a request arrives after the window ended, the table is replaced by an empty one
//! (an O(1) swap; dropping a table of plain integers is one free) and a new window starts.
//! Every request does one hash lookup under the lock and nothing else, however many keys
//! there are. Memory is bounded: past [`MAX_KEYS`] keys in one window, a key not already
//! in the table is counted in one shared overflow bucket, so a flood of new addresses is
//! limited as one (and cannot grow the table), while keys already seen keep their own
//! counts. Clients and addresses have separate tables: a flood of bogus tokens (keyed by
//! address) can never fill the table valid clients are counted in.
//!
//! Keys are 64-bit keyed hashes (SipHash with a per-process random key) of the client's
//! URN or the address: small, never a token, and not collidable on purpose by a client.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A limit of `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

impl Default for RateLimit {
    /// SailPoint's documented figure: 100 requests per 10 seconds.
    fn default() -> Self {
        RateLimit {
            requests: 100,
            window: Duration::from_secs(10),
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;
    /// Parses `N/SECONDS`, e.g. `100/10`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a rate limit; write N/SECONDS like 100/10, or off");
        let (n, secs) = s.split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: u64 = secs
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| bad())?;
        if requests == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(RateLimit {
            requests,
            window: Duration::from_secs(secs),
        })
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    /// An authenticated API client, by URN.
    Client(&'a str),
    /// A request without a valid token, by source address; `None` in-process.
    Addr(Option<IpAddr>),
}

/// Keys one window's table holds before new keys share the overflow bucket. A client
/// costs about 16 bytes here: 100,000 keys are under 4 MiB per table.
pub(crate) const MAX_KEYS: usize = 100_000;

/// The overflow bucket's key. A real key may hash to it (one in 2^64): it then shares the
/// bucket, which limits it no more than any key seen after the table filled.
const OVERFLOW: u64 = u64::MAX;

#[derive(Default)]
struct Table {
    counts: HashMap<u64, u32>,
}

impl Table {
    /// Counts one request for `key`, or for the overflow bucket when the table is full
    /// and `key` is new; the count after it.
    fn bump(&mut self, key: u64) -> u32 {
        let key = if self.counts.len() >= MAX_KEYS && !self.counts.contains_key(&key) {
            OVERFLOW
        } else {
            key
        };
        let n = self.counts.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }
}

struct Windows {
    /// When the current window began.
    start: Instant,
    clients: Table,
    addrs: Table,
}

pub(crate) struct Limiter {
    limit: RateLimit,
    hasher: RandomState,
    windows: Mutex<Windows>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self::starting(limit, Instant::now())
    }

    fn starting(limit: RateLimit, start: Instant) -> Self {
        Limiter {
            limit,
            hasher: RandomState::new(),
            windows: Mutex::new(Windows {
                start,
                clients: Table::default(),
                addrs: Table::default(),
            }),
        }
    }

    fn hash(&self, key: Key<'_>) -> u64 {
        match key {
            Key::Client(urn) => self.hasher.hash_one(urn),
            // IPv6 by /64: one host is usually given a whole /64, so keying by the full
            // address would give it 2^64 buckets. An IPv4-mapped address is its IPv4.
            Key::Addr(Some(a)) => match a.to_canonical() {
                IpAddr::V4(v4) => self.hasher.hash_one((4u8, v4.octets())),
                IpAddr::V6(v6) => {
                    let s = v6.segments();
                    self.hasher.hash_one((6u8, [s[0], s[1], s[2], s[3]]))
                }
            },
            Key::Addr(None) => self.hasher.hash_one(0u8),
        }
    }

    /// Counts one request for `key`; `Err(seconds)` when it is over the limit.
    pub(crate) fn check(&self, key: Key<'_>) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: Key<'_>, now: Instant) -> Result<(), u64> {
        let h = self.hash(key);
        let mut w = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(w.start);
        if elapsed >= self.limit.window {
            // A new window: start it at a whole number of windows after the last, so
            // every key's window ends at the same instant. The old tables go at once.
            let window = self.limit.window.as_nanos().max(1);
            let skipped = elapsed.as_nanos() / window;
            let shift = u64::try_from(skipped.saturating_mul(window)).unwrap_or(u64::MAX);
            w.start += Duration::from_nanos(shift);
            w.clients = Table::default();
            w.addrs = Table::default();
        }
        let table = match key {
            Key::Client(_) => &mut w.clients,
            Key::Addr(_) => &mut w.addrs,
        };
        if table.bump(h) <= self.limit.requests {
            return Ok(());
        }
        // Above, `now` is less than one window past `start`: at least 1 ns is left, so
        // the wait rounds up to at least 1 s.
        let left = self
            .limit
            .window
            .saturating_sub(now.saturating_duration_since(w.start));
        Err(left.as_secs_f64().ceil() as u64)
    }

    /// Keys held now (clients, addresses): for tests of the bound.
    #[cfg(test)]
    fn keys(&self) -> (usize, usize) {
        let w = self.windows.lock().unwrap();
        (w.clients.counts.len(), w.addrs.counts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: Key<'static> = Key::Client("urn-a");
    const B: Key<'static> = Key::Client("urn-b");

    fn ip(n: u32) -> Key<'static> {
        Key::Addr(Some(IpAddr::V4(Ipv4Addr::from(n))))
    }

    fn limiter(spec: &str) -> (Limiter, Instant) {
        let t0 = Instant::now();
        (Limiter::starting(spec.parse().unwrap(), t0), t0)
    }

    #[test]
    fn parses_limits() {
        assert_eq!("100/10".parse::<RateLimit>().unwrap(), RateLimit::default());
        assert_eq!(
            "5/2s".parse::<RateLimit>().unwrap(),
            RateLimit {
                requests: 5,
                window: Duration::from_secs(2)
            }
        );
        assert!("0/10".parse::<RateLimit>().is_err());
        assert!("10/0".parse::<RateLimit>().is_err());
        assert!("ten/10".parse::<RateLimit>().is_err());
        assert!("10".parse::<RateLimit>().is_err());
    }

    #[test]
    fn the_request_past_the_limit_is_refused_with_the_wait_left() {
        let (l, t0) = limiter("3/10");
        for _ in 0..3 {
            l.check_at(A, t0).unwrap();
        }
        assert_eq!(l.check_at(A, t0), Err(10));
        // 2.5 s into the window, 7.5 s are left: rounded up.
        assert_eq!(l.check_at(A, t0 + Duration::from_millis(2500)), Err(8));
        // Never less than 1, even at the window's last instant.
        assert_eq!(
            l.check_at(A, t0 + Duration::from_nanos(9_999_999_999)),
            Err(1)
        );
        // Other keys are counted apart; a client and an address never share a count.
        l.check_at(B, t0).unwrap();
        for _ in 0..3 {
            l.check_at(ip(1), t0).unwrap();
        }
        assert!(l.check_at(ip(1), t0).is_err());
        assert!(l.check_at(ip(2), t0).is_ok());
    }

    #[test]
    fn check_counts_against_the_clock() {
        let l = Limiter::new("1/3600".parse().unwrap());
        l.check(A).unwrap();
        let wait = l.check(A).unwrap_err();
        assert!((3599..=3600).contains(&wait), "{wait}");
        l.check(B).unwrap();
    }

    #[test]
    fn a_zero_window_never_refuses_and_never_divides_by_zero() {
        // Not parseable, but the fields are public.
        let l = Limiter::new(RateLimit {
            requests: 1,
            window: Duration::ZERO,
        });
        for _ in 0..3 {
            l.check(A).unwrap();
        }
    }

    #[test]
    fn the_window_ends_exactly_at_its_length_and_empties_the_tables() {
        let (l, t0) = limiter("2/10");
        let w = Duration::from_secs(10);
        let just_before = t0 + w - Duration::from_nanos(1);
        l.check_at(A, t0).unwrap();
        l.check_at(A, t0).unwrap();
        l.check_at(ip(1), t0).unwrap();
        assert!(l.check_at(A, just_before).is_err());
        assert_eq!(l.keys(), (1, 1));
        // At exactly one window later: a new window, empty tables, counts from zero.
        l.check_at(B, t0 + w).unwrap();
        assert_eq!(l.keys(), (1, 0));
        l.check_at(A, t0 + w).unwrap();
        l.check_at(A, t0 + w).unwrap();
        assert_eq!(l.check_at(A, t0 + w), Err(10));
        assert_eq!(l.keys(), (2, 0));
    }

    #[test]
    fn windows_stay_aligned_after_idle_periods() {
        let (l, t0) = limiter("1/10");
        // First request 35 s in: the window is the one that began at 30 s, so 5 s are
        // left, not 10.
        l.check_at(A, t0 + Duration::from_secs(35)).unwrap();
        assert_eq!(l.check_at(A, t0 + Duration::from_secs(35)), Err(5));
        assert_eq!(l.check_at(A, t0 + Duration::from_millis(39_500)), Err(1));
        l.check_at(A, t0 + Duration::from_secs(40)).unwrap();
        // A clock read before the window began (another thread's older `now`) counts in
        // the current window and waits the whole window at most.
        assert_eq!(l.check_at(A, t0), Err(10));
    }

    #[test]
    fn the_tables_are_bounded_and_new_keys_past_the_bound_share_one_bucket() {
        let (l, t0) = limiter("2/10");
        for n in 0..MAX_KEYS as u32 {
            l.check_at(ip(n), t0).unwrap();
        }
        assert_eq!(l.keys(), (0, MAX_KEYS));
        // Full: new addresses share the overflow bucket, so the table does not grow and
        // the third new address is refused.
        l.check_at(ip(u32::MAX), t0).unwrap();
        l.check_at(ip(u32::MAX - 1), t0).unwrap();
        assert!(l.check_at(ip(u32::MAX - 2), t0).is_err());
        assert_eq!(l.keys(), (0, MAX_KEYS + 1));
        // A key seen before the table filled keeps its own count.
        l.check_at(ip(7), t0).unwrap();
        assert!(l.check_at(ip(7), t0).is_err());
        // Clients have their own table: a full address table leaves them alone.
        l.check_at(A, t0).unwrap();
        l.check_at(A, t0).unwrap();
        l.check_at(B, t0).unwrap();
        assert_eq!(l.keys(), (2, MAX_KEYS + 1));
        // The next window starts over with room for everyone.
        let next = t0 + Duration::from_secs(10);
        l.check_at(ip(u32::MAX - 2), next).unwrap();
        assert_eq!(l.keys(), (0, 1));
    }

    #[test]
    fn a_full_table_admits_known_keys_and_counts_the_bucket_once_per_request() {
        let mut t = Table::default();
        for k in 0..MAX_KEYS as u64 {
            assert_eq!(t.bump(k), 1);
        }
        assert_eq!(t.bump(0), 2);
        assert_eq!(t.bump(MAX_KEYS as u64), 1);
        assert_eq!(t.bump(MAX_KEYS as u64 + 1), 2);
        assert_eq!(t.counts.get(&OVERFLOW), Some(&2));
        assert_eq!(t.counts.len(), MAX_KEYS + 1);
        // One short of full, a new key still gets its own count.
        let mut t = Table::default();
        for k in 0..MAX_KEYS as u64 - 1 {
            t.bump(k);
        }
        assert_eq!(t.bump(u64::MAX - 1), 1);
        assert_eq!(t.counts.get(&(u64::MAX - 1)), Some(&1));
        assert_eq!(t.counts.get(&OVERFLOW), None);
    }

    #[test]
    fn addresses_are_keyed_by_ipv4_or_ipv6_slash_64() {
        let (l, t0) = limiter("1/10");
        let v6 = |last: u16, third: u16| {
            Key::Addr(Some(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, third, 0, 0, 0, 0, last,
            ))))
        };
        l.check_at(v6(1, 0), t0).unwrap();
        // The same /64: the same key.
        assert!(l.check_at(v6(2, 0), t0).is_err());
        // Another /64: another key.
        l.check_at(v6(1, 1), t0).unwrap();
        // An IPv4-mapped address is its IPv4 address.
        l.check_at(ip(0x7f00_0001), t0).unwrap();
        let mapped = Key::Addr(Some(IpAddr::V6(
            Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped(),
        )));
        assert!(l.check_at(mapped, t0).is_err());
        // In-process requests (no address) share one key.
        l.check_at(Key::Addr(None), t0).unwrap();
        assert!(l.check_at(Key::Addr(None), t0).is_err());
        assert_eq!(l.keys(), (0, 4));
    }
}
