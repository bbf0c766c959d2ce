//! Per-token rate limiting: N requests per window, fixed windows keyed by a digest of the
//! `Authorization` header (so the table never holds a token).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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

pub(crate) struct Limiter {
    limit: RateLimit,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

/// Past this many keys, expired windows are swept so bogus tokens cannot grow the table.
const SWEEP_AT: usize = 10_000;

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `credential`; `Err(seconds)` when it is over the limit.
    pub(crate) fn check(&self, credential: &[u8]) -> Result<(), u64> {
        let key: [u8; 32] = Sha256::digest(credential).into();
        let now = Instant::now();
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > SWEEP_AT {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.limit.window);
        }
        let entry = map.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.limit.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit.requests {
            let left = self
                .limit
                .window
                .saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits() {
        assert_eq!("100/10".parse::<RateLimit>().unwrap(), RateLimit::default());
        assert!("0/10".parse::<RateLimit>().is_err());
        assert!("ten/10".parse::<RateLimit>().is_err());
    }

    #[test]
    fn the_request_past_the_limit_is_refused_with_a_wait() {
        let l = Limiter::new("3/10".parse().unwrap());
        for _ in 0..3 {
            l.check(b"a").unwrap();
        }
        let wait = l.check(b"a").unwrap_err();
        assert!((1..=10).contains(&wait));
        l.check(b"b").unwrap();
    }
}
