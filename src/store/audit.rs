//! The audit log: append-only segments of JSON lines in `audit/`, and the intent that
//! makes each event part of the same commit as its change.
//!
//! Why this shape: an event must exist exactly when its change does, after a crash at
//! any instant (API.md "Audit events"), and writing it must not cost a change more than
//! an append. So an audited write goes: (1) the *intent* (the event, and what the store
//! will look like once the change is made) is written to `audit/intent`; (2) the change
//! is made, each object it writes carrying the event's URN as its `rev`; (3) the event
//! is appended to the newest segment; (4) the intent is cleared. The next writer (see
//! `Txn::recover`) that finds an intent left behind decides from the objects whether the
//! change was made: if every check holds, it appends the event; if not, it undoes what
//! the change created and drops the event. In the CLI's mode every step is fsynced in
//! order; in a server's batch, the batch's one sync covers them, and the `dirty` repair
//! covers a batch that died unsynced, as for every other file of the batch.
//!
//! Segments are named by the time of their first event (`<ms, 20 digits>.jsonl`), so
//! the newest is the last name, and a segment is rolled at [`SEGMENT_BYTES`]: retention
//! then deletes whole segments, and an append never rewrites anything.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{mkdir_private, read_json, sync_dir};
use super::listings::sorted_names;
use super::txn::Durability;
use super::{Store, Txn};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::model::AuditEvent;

/// The size at which a segment is closed and a new one begun.
pub const SEGMENT_BYTES: u64 = 4 << 20;

/// How long events are kept, unless the store says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// The most events kept (the newest).
    pub max_events: u64,
    /// The most days an event is kept.
    pub max_days: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_events: 100_000,
            max_days: 365,
        }
    }
}

/// What must hold of one object for an audited change to have been made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "camelCase")]
pub enum Check {
    /// A new object exists, carrying the event as its `rev`; undone (removed) when the
    /// change as a whole was not made.
    Created {
        /// Its collection folder (`tokens`, …).
        dir: String,
        /// Its URN or id.
        key: String,
    },
    /// An existing object was rewritten, carrying the event as its `rev`.
    Updated {
        /// Its collection folder.
        dir: String,
        /// Its URN or id.
        key: String,
    },
    /// An object is gone.
    Deleted {
        /// Its collection folder.
        dir: String,
        /// Its URN or id.
        key: String,
    },
}

impl Check {
    /// The check for a new object in `dir`.
    pub fn created(dir: &str, key: &str) -> Check {
        Check::Created {
            dir: dir.into(),
            key: key.into(),
        }
    }
    /// The check for a rewritten object in `dir`.
    pub fn updated(dir: &str, key: &str) -> Check {
        Check::Updated {
            dir: dir.into(),
            key: key.into(),
        }
    }
    /// The check for a removed object in `dir`.
    pub fn deleted(dir: &str, key: &str) -> Check {
        Check::Deleted {
            dir: dir.into(),
            key: key.into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    event: AuditEvent,
    checks: Vec<Check>,
}

/// Only the `rev` of a record, whatever its kind.
#[derive(Deserialize)]
struct Rev {
    #[serde(default)]
    rev: Option<String>,
}

/// Where a listing stands: a segment and a line in it (opaque to clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    segment: u64,
    line: usize,
}

impl Position {
    /// The cursor spelling.
    pub fn to_cursor(self) -> String {
        format!("{}.{}", self.segment, self.line)
    }

    /// Reads a cursor made by [`Position::to_cursor`].
    pub fn parse(s: &str) -> Option<Position> {
        let (seg, line) = s.split_once('.')?;
        Some(Position {
            segment: seg.parse().ok()?,
            line: line.parse().ok()?,
        })
    }
}

/// What a listing of the log asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only events at or after this time.
    pub since: Option<Millis>,
    /// Only events at or before this time.
    pub until: Option<Millis>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this acting client (URN).
    pub actor: Option<String>,
    /// Only this target (URN or id).
    pub target: Option<String>,
    /// Only events older than this position (the cursor of the previous page).
    pub before: Option<Position>,
    /// The most events.
    pub limit: usize,
}

impl AuditQuery {
    fn wants(&self, e: &AuditEvent) -> bool {
        self.since.is_none_or(|s| e.timestamp >= s)
            && self.until.is_none_or(|u| e.timestamp <= u)
            && self.action.as_ref().is_none_or(|a| &e.action == a)
            && self.actor.as_ref().is_none_or(|a| &e.actor.client == a)
            && self
                .target
                .as_ref()
                .is_none_or(|t| e.target.key.as_ref() == Some(t))
    }
}

fn segment_name(first: Millis) -> String {
    format!("{:020}.jsonl", first.max(0))
}

fn segment_start(name: &str) -> Option<u64> {
    name.strip_suffix(".jsonl")?.parse().ok()
}

/// The complete lines of a segment, parsed; a torn last line (a crash mid-append on a
/// file system that lost part of it) or an unreadable one is skipped, never an error:
/// one bad line must not hide the rest of the log.
fn read_segment(path: &Path) -> Result<Vec<AuditEvent>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &[][..],
    };
    Ok(complete
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect())
}

impl Store {
    fn audit_dir(&self) -> PathBuf {
        self.root.join("audit")
    }

    /// The segments, oldest first.
    fn segments(&self) -> Result<Vec<(u64, PathBuf)>> {
        let dir = self.audit_dir();
        let mut out: Vec<(u64, PathBuf)> = sorted_names(&dir)?
            .into_iter()
            .filter_map(|n| segment_start(&n).map(|s| (s, dir.join(n))))
            .collect();
        out.sort();
        Ok(out)
    }

    /// How long this store keeps events.
    pub fn audit_retention(&self) -> Result<Retention> {
        Ok(read_json(&self.audit_dir().join("retention.json"))?.unwrap_or_default())
    }

    /// A page of events, newest first, and the position to go on from when there are
    /// more. Events past the store's retention are never listed, even before the next
    /// roll deletes their segment.
    pub fn audit_events(
        &self,
        q: &AuditQuery,
        now: Millis,
    ) -> Result<(Vec<AuditEvent>, Option<Position>)> {
        let keep = self.audit_retention()?;
        let oldest = now.saturating_sub((keep.max_days as i64).saturating_mul(86_400_000));
        let since = q.since.unwrap_or(oldest).max(oldest);
        let mut seen: u64 = 0;
        let mut out = Vec::new();
        let mut last = None;
        let segments = self.segments()?;
        for (i, (start, path)) in segments.iter().enumerate().rev() {
            // A segment ends where the next begins: one that ended before `since` holds
            // nothing wanted, nor does any older one.
            if let Some((next, _)) = segments.get(i + 1)
                && (*next as i64) < since
            {
                break;
            }
            let events = read_segment(path)?;
            for (line, e) in events.iter().enumerate().rev() {
                seen += 1;
                if seen > keep.max_events {
                    return Ok((out, None));
                }
                let pos = Position {
                    segment: *start,
                    line,
                };
                if q.before
                    .is_some_and(|b| (pos.segment, pos.line) >= (b.segment, b.line))
                {
                    continue;
                }
                if e.timestamp < since {
                    continue;
                }
                if q.wants(e) {
                    if out.len() == q.limit {
                        return Ok((out, last));
                    }
                    out.push(e.clone());
                    last = Some(pos);
                }
            }
        }
        Ok((out, None))
    }

    /// One event by URN, within retention.
    pub fn audit_event(&self, urn: &str, now: Millis) -> Result<Option<AuditEvent>> {
        let q = AuditQuery {
            limit: usize::MAX,
            ..AuditQuery::default()
        };
        Ok(self
            .audit_events(&q, now)?
            .0
            .into_iter()
            .find(|e| e.urn == urn))
    }

    /// The newest event's URN, read from the end of the newest segment.
    fn last_event_urn(&self) -> Result<Option<String>> {
        let Some((_, path)) = self.segments()?.pop() else {
            return Ok(None);
        };
        Ok(read_segment(&path)?.pop().map(|e| e.urn))
    }
}

impl Txn<'_> {
    /// Runs `change` as the audited change `event`: see the module's comment. `checks`
    /// say what holds once it is made; every object it writes must carry `event.urn` as
    /// its `rev`.
    pub fn audited<T>(
        &self,
        event: &AuditEvent,
        checks: Vec<Check>,
        change: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let intent = Intent {
            event: event.clone(),
            checks,
        };
        self.write_intent(Some(&intent))?;
        match change() {
            Ok(v) => {
                self.append_events(std::slice::from_ref(event))?;
                self.write_intent(None)?;
                Ok(v)
            }
            Err(e) => {
                // Part of the change may be on disk: settle it now, as recovery would
                // (should that fail too, the next writer tries again). The change's own
                // error is the one to report.
                let _ = self.resolve_intent();
                Err(e)
            }
        }
    }

    fn intent_path(&self) -> PathBuf {
        self.audit_dir().join("intent")
    }

    /// Replaces the intent (`None`: clears it). One `pwrite` of a whole JSON line
    /// after a length-checked prefix, so a torn write reads as no intent only if the
    /// change it announced never began (it is synced before the change, in order).
    fn write_intent(&self, intent: Option<&Intent>) -> Result<()> {
        let path = self.intent_path();
        let mut bytes = match intent {
            Some(i) => serde_json::to_vec(i).map_err(|e| Error::Internal(e.to_string()))?,
            None => Vec::new(),
        };
        bytes.push(b'\n');
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.write_all_at(&bytes, 0).map_err(|e| Error::io(&path, e))?;
        f.set_len(bytes.len() as u64)
            .map_err(|e| Error::io(&path, e))?;
        // Clearing needs no sync: a lost clear leaves an intent whose event is already
        // the log's last, which recovery recognises.
        if intent.is_some() && self.durability == Durability::Each {
            f.sync_data().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    fn read_intent(&self) -> Result<Option<Intent>> {
        let path = self.intent_path();
        match fs::read(&path) {
            Ok(b) => Ok(serde_json::from_slice(b.trim_ascii()).ok()),
            Err(e) if e.kind() == IoKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Settles an intent left by a writer that died (or failed) mid-change: its event
    /// is appended if the change was made, else what it created is removed. Runs at the
    /// start of every write, as one read of a small file when there is nothing to do.
    pub(super) fn resolve_intent(&self) -> Result<()> {
        let Some(intent) = self.read_intent()? else {
            return Ok(());
        };
        let ev = &intent.event;
        if self.last_event_urn()?.as_deref() == Some(ev.urn.as_str()) {
            return self.write_intent(None);
        }
        // An object that cannot be read (its folder broken) counts as absent: an intent
        // that could never be settled would refuse every later write, to every folder.
        let rev_of = |dir: &str, key: &str| -> Result<Option<Option<String>>> {
            Ok(read_json::<Rev>(&self.obj(dir, key))
                .ok()
                .flatten()
                .map(|r| r.rev))
        };
        let mut made = true;
        for c in &intent.checks {
            let holds = match c {
                Check::Created { dir, key } | Check::Updated { dir, key } => {
                    rev_of(dir, key)?.flatten().as_deref() == Some(ev.urn.as_str())
                }
                Check::Deleted { dir, key } => rev_of(dir, key)?.is_none(),
            };
            made &= holds;
        }
        if made {
            self.append_events(std::slice::from_ref(ev))?;
        } else {
            for c in &intent.checks {
                if let Check::Created { dir, key } = c
                    && rev_of(dir, key)?.flatten().as_deref() == Some(ev.urn.as_str())
                {
                    // The rest of a new object's entries are index hints, which
                    // readers check against the objects and so ignore.
                    let _ = self.remove(&self.obj(dir, key));
                }
            }
        }
        self.write_intent(None)
    }

    /// Appends events to the newest segment (beginning a new one when it is full, and
    /// then applying the retention), durably in the CLI's mode.
    pub fn append_events(&self, events: &[AuditEvent]) -> Result<()> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let dir = self.audit_dir();
        let mut lines = Vec::new();
        for e in events {
            serde_json::to_writer(&mut lines, e).map_err(|e| Error::Internal(e.to_string()))?;
            lines.push(b'\n');
        }
        let segments = self.segments()?;
        let (path, new) = match segments.last() {
            Some((_, p)) if fs::metadata(p).map_or(0, |m| m.len()) < SEGMENT_BYTES => {
                (p.clone(), false)
            }
            last => {
                // A clock that went back must not name a segment before the last one.
                let after = last.map_or(0, |(s, _)| *s as i64 + 1);
                (dir.join(segment_name(first.timestamp.max(after))), true)
            }
        };
        self.touch(&path);
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.write_all(&lines).map_err(|e| Error::io(&path, e))?;
        if self.durability == Durability::Each {
            f.sync_data().map_err(|e| Error::io(&path, e))?;
            if new {
                sync_dir(&dir)?;
            }
        }
        if new {
            self.apply_retention(first.timestamp)?;
        }
        Ok(())
    }

    /// Deletes the segments wholly past the retention: those whose every event is
    /// older than the newest `max_events`, or older than `max_days`.
    fn apply_retention(&self, now: Millis) -> Result<()> {
        let keep = self.audit_retention()?;
        let oldest = now.saturating_sub((keep.max_days as i64).saturating_mul(86_400_000));
        let segments = self.segments()?;
        let mut newer: u64 = 0;
        for (i, (_, path)) in segments.iter().enumerate().rev() {
            let ended_before = segments
                .get(i + 1)
                .is_some_and(|(n, _)| (*n as i64) < oldest);
            if newer >= keep.max_events || ended_before {
                self.remove(path)?;
                continue;
            }
            newer += read_segment(path)?.len() as u64;
        }
        Ok(())
    }

    /// Sets how long events are kept.
    pub fn set_audit_retention(&self, r: &Retention) -> Result<()> {
        mkdir_private(&self.audit_dir())?;
        self.put(&self.audit_dir().join("retention.json"), r)
    }
}
