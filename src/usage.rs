//! What is recorded about use, off the request path: each credential's last use, and
//! the audit events of requests refused for lack of permission.
//!
//! Why in memory first: every authenticated request is a use, and a write per request
//! would put the store's lock and a sync on the read path (API.md "Last use": recording
//! never delays or fails a request). So a request only notes the use here, and only when
//! the stored time is stale by [`STALE`] (a map insert under a short lock, mostly not even
//! that); [`crate::service::Service::flush_usage`] writes what was noted in one write,
//! every [`FLUSH_EVERY`] on a server and after each command in the CLI. A crash loses at
//! most what was noted since the last flush. Refused requests are noted the same way, at
//! most one per token per [`DENIED_EVERY`], so a flood of them cannot become a flood of
//! writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::clock::Millis;
use crate::model::AuditEvent;

/// How old a stored last use may be before a use is noted again. With a flush every
/// [`FLUSH_EVERY`], what the store shows is within a minute of the truth.
pub const STALE: Millis = 45_000;

/// How often a server writes what was noted, by default.
pub const FLUSH_EVERY: Duration = Duration::from_secs(15);

/// At most one refused-request event per token in this long.
pub const DENIED_EVERY: Millis = 60_000;

/// The most refused-request events held between two flushes; beyond it they are
/// dropped (and counted), so memory stays bounded whatever arrives.
pub const MAX_DENIED: usize = 10_000;

/// What was used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Used {
    /// A bearer token, by URN.
    Token(String),
    /// An API client, by URN.
    Client(String),
    /// An OAuth client, by id.
    OAuth(String),
}

#[derive(Debug, Default)]
struct Noted {
    uses: HashMap<Used, Millis>,
    denied: Vec<AuditEvent>,
    /// When each token last had a refusal noted.
    denied_at: HashMap<String, Millis>,
    dropped: u64,
}

/// The uses and refusals noted since the last flush.
#[derive(Debug, Default)]
pub struct Usage {
    noted: Mutex<Noted>,
    off: AtomicBool,
}

/// What one flush takes.
#[derive(Debug, Default)]
pub struct Taken {
    /// Latest use of each thing used.
    pub uses: HashMap<Used, Millis>,
    /// Refused-request events.
    pub denied: Vec<AuditEvent>,
    /// Refusals dropped because too many were waiting.
    pub dropped: u64,
}

impl Taken {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty() && self.denied.is_empty()
    }
}

/// Whether a stored last use `stored` should be refreshed by a use at `now`.
pub fn is_stale(stored: Option<Millis>, now: Millis) -> bool {
    stored.is_none_or(|t| now.saturating_sub(t) >= STALE)
}

impl Usage {
    fn lock(&self) -> MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops recording last use (`baack serve --no-last-use`); refusals are still noted.
    pub fn disable_last_use(&self) {
        self.off.store(true, Ordering::Relaxed);
    }

    /// Notes a use at `now` of `what`, whose stored last use is `stored`.
    pub fn note(&self, what: Used, stored: Option<Millis>, now: Millis) {
        if self.off.load(Ordering::Relaxed) || !is_stale(stored, now) {
            return;
        }
        let mut n = self.lock();
        let t = n.uses.entry(what).or_insert(now);
        *t = (*t).max(now);
    }

    /// Notes a refusal, unless the same token had one noted within [`DENIED_EVERY`].
    /// Returns whether it was kept.
    pub fn note_denied(&self, event: AuditEvent, token: Option<&str>) -> bool {
        let mut n = self.lock();
        if let Some(t) = token {
            if n.denied_at
                .get(t)
                .is_some_and(|at| event.timestamp.saturating_sub(*at) < DENIED_EVERY)
            {
                return false;
            }
            n.denied_at.insert(t.to_string(), event.timestamp);
        }
        if n.denied.len() >= MAX_DENIED {
            n.dropped += 1;
            return false;
        }
        n.denied.push(event);
        true
    }

    /// Whether anything waits for a flush.
    pub fn is_pending(&self) -> bool {
        let n = self.lock();
        !n.uses.is_empty() || !n.denied.is_empty()
    }

    /// Takes everything noted, for a flush. The per-token refusal times stay, pruned of
    /// those old enough not to matter, so the map cannot grow without bound.
    pub fn take(&self, now: Millis) -> Taken {
        let mut n = self.lock();
        n.denied_at
            .retain(|_, at| now.saturating_sub(*at) < DENIED_EVERY);
        Taken {
            uses: std::mem::take(&mut n.uses),
            denied: std::mem::take(&mut n.denied),
            dropped: std::mem::take(&mut n.dropped),
        }
    }

    /// Puts back what a failed flush took, keeping anything noted since.
    pub fn put_back(&self, t: Taken) {
        let mut n = self.lock();
        for (k, v) in t.uses {
            let e = n.uses.entry(k).or_insert(v);
            *e = (*e).max(v);
        }
        let room = MAX_DENIED.saturating_sub(n.denied.len());
        n.denied.extend(t.denied.into_iter().take(room));
        n.dropped += t.dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, Outcome, Target};

    fn refusal(at: Millis) -> AuditEvent {
        AuditEvent {
            urn: crate::model::new_urn(),
            timestamp: at,
            actor: Actor {
                client: "c".into(),
                token: Some("t".into()),
                oauth_client: None,
            },
            action: "auth.denied".into(),
            target: Target {
                kind: "apiclient".into(),
                key: None,
            },
            outcome: Outcome::Denied,
            detail: None,
        }
    }

    #[test]
    fn a_use_is_noted_only_when_the_stored_one_is_stale() {
        let u = Usage::default();
        u.note(
            Used::Token("a".into()),
            Some(1_000_000),
            1_000_000 + STALE - 1,
        );
        assert!(!u.is_pending());
        u.note(Used::Token("a".into()), Some(1_000_000), 1_000_000 + STALE);
        u.note(Used::Token("a".into()), None, 5);
        let t = u.take(0);
        assert_eq!(t.uses[&Used::Token("a".into())], 1_000_000 + STALE);
        assert!(u.take(0).is_empty());
    }

    #[test]
    fn switched_off_nothing_is_noted() {
        let u = Usage::default();
        u.disable_last_use();
        u.note(Used::Client("c".into()), None, 1);
        assert!(!u.is_pending());
    }

    #[test]
    fn one_refusal_per_token_per_minute() {
        let u = Usage::default();
        assert!(u.note_denied(refusal(0), Some("t")));
        assert!(!u.note_denied(refusal(DENIED_EVERY - 1), Some("t")));
        assert!(u.note_denied(refusal(1), Some("other")));
        assert!(u.note_denied(refusal(DENIED_EVERY), Some("t")));
        assert_eq!(u.take(DENIED_EVERY).denied.len(), 3);
    }

    #[test]
    fn a_failed_flush_loses_nothing() {
        let u = Usage::default();
        u.note(Used::Token("a".into()), None, 10);
        let t = u.take(10);
        u.note(Used::Token("a".into()), None, 20);
        u.put_back(t);
        assert_eq!(u.take(20).uses[&Used::Token("a".into())], 20);
    }
}
