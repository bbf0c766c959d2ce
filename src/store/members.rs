//! Membership indexes (a client's tokens, a client's roles) as append-only logs:
//! `index/<index>/<owner>.log` holds one line per change, `+<urn>` or `-<urn>`.
//!
//! Why a log rather than an empty file per member (the layout before format 3): creating a
//! file costs an inode, and on this project's reference machine (ext4) inode allocation and
//! the lookup in a big membership folder were the largest costs of creating a token,
//! about a third of the server's CPU per `POST`. An append costs a `write`. Stores made
//! before format 3 keep their membership folders: a member is listed if its file is in
//! the folder or the log adds it, and the log does not remove it afterwards. Removing a
//! member removes its file from the folder too, so old folders only ever shrink.
//!
//! Only writers, under the store's lock, append; a reader may see the last line half
//! written, and skips a line that has no newline yet. Like every index, a membership is a
//! hint that readers check against the object it names.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A log is rewritten with only its live members once it holds this many lines more than
/// twice its members: appends stay cheap, and a log never grows past a small multiple of
/// what it lists.
const COMPACT_SLACK: usize = 64;

/// The log of `owner`'s members in `index`.
pub(super) fn log_path(root: &Path, index: &str, owner: &str) -> PathBuf {
    root.join("index").join(index).join(format!("{owner}.log"))
}

/// The membership folder of stores made before format 3.
pub(super) fn legacy_dir(root: &Path, index: &str, owner: &str) -> PathBuf {
    root.join("index").join(index).join(owner)
}

/// `owner`'s members in `index`, sorted: the legacy folder's, changed by the log's.
pub(super) fn read(root: &Path, index: &str, owner: &str) -> Result<Vec<String>> {
    let mut members: BTreeSet<String> =
        super::listings::sorted_names(&legacy_dir(root, index, owner))?
            .into_iter()
            .collect();
    replay(&log_path(root, index, owner), &mut members)?;
    Ok(members.into_iter().collect())
}

/// The members the log alone lists, sorted, and how many lines it holds: what decides
/// and makes a compaction (the legacy folder, however big, plays no part in it).
pub(super) fn read_log(path: &Path) -> Result<(Vec<String>, usize)> {
    let mut members = BTreeSet::new();
    let lines = replay(path, &mut members)?;
    Ok((members.into_iter().collect(), lines))
}

/// Applies the log at `path` to `members`; returns how many whole lines it holds.
fn replay(path: &Path, members: &mut BTreeSet<String>) -> Result<usize> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut lines = 0;
    // The last piece has no newline: it is an append still being written, or nothing.
    let mut pieces = bytes.split(|b| *b == b'\n');
    let _ = pieces.next_back();
    for line in pieces {
        lines += 1;
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        match line.split_at_checked(1) {
            Some(("+", urn)) if super::layout::is_urn(urn) => {
                members.insert(urn.to_string());
            }
            Some(("-", urn)) => {
                members.remove(urn);
            }
            // Not a line this build writes: a hint that says nothing.
            _ => {}
        }
    }
    Ok(lines)
}

/// What an append did.
pub(super) struct Appended {
    /// The log was created (its folder's entry needs syncing too).
    pub(super) created: bool,
    /// The log has just grown past a multiple of [`CHECK_EVERY`] bytes (within its last
    /// four lines): time to see, if this was a removal, whether it needs compacting.
    pub(super) check: bool,
}

/// How often, in bytes appended, a log is read whole to see whether it needs compacting:
/// when a removal lands just past a multiple of this, about once in 400 changes of a log that
/// sees removals. A log that only grows (the common case: tokens created in bulk) is
/// never scanned, and a log that churns is checked on about as many crossings as its
/// share of removals.
const CHECK_EVERY: u64 = 16 * 1024;

/// Appends one change to a log, creating it if `create` (else a missing log is left
/// alone: `None`). `sync` makes the line durable before returning.
pub(super) fn append(
    path: &Path,
    op: char,
    member: &str,
    sync: bool,
    create: bool,
) -> Result<Option<Appended>> {
    let open = |create: bool| {
        OpenOptions::new()
            .append(true)
            .create_new(create)
            .mode(0o600)
            .open(path)
    };
    let (mut file, created) = match open(false) {
        Ok(f) => (f, false),
        Err(e) if e.kind() == IoKind::NotFound && !create => return Ok(None),
        Err(e) if e.kind() == IoKind::NotFound => match open(true) {
            Ok(f) => (f, true),
            // Only the lock holder writes logs, so nobody else can have made it since.
            Err(e) => return Err(Error::io(path, e)),
        },
        Err(e) => return Err(Error::io(path, e)),
    };
    // One write(2) of a whole line: a crash leaves it whole or torn at the end, never
    // interleaved.
    let line = format!("{op}{member}\n");
    file.write_all(line.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    if sync {
        file.sync_data().map_err(|e| Error::io(path, e))?;
    }
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    // The boundary may have been crossed by one of the last few lines: a removal just
    // after it still triggers the check, so that strictly alternating adds and removals
    // (CI's create-then-delete) cannot always leave the crossing to an add.
    let before = len.saturating_sub(4 * line.len() as u64);
    Ok(Some(Appended {
        created,
        check: len / CHECK_EVERY != before / CHECK_EVERY,
    }))
}

/// Whether the log at `path` has enough removals to be worth rewriting: when they cancel
/// more than half of its lines. A byte scan, no parsing: a growing log of a client with
/// 100,000 tokens is checked in well under a millisecond. (With `r` removals in `n`
/// lines, about `n - 2r` members are live; rewriting pays when `n > 2(n - 2r) + slack`.)
pub(super) fn needs_compaction(path: &Path) -> Result<bool> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    let removals = bytes
        .split(|b| *b == b'\n')
        .filter(|line| line.first() == Some(&b'-'))
        .count();
    Ok(4 * removals > lines + COMPACT_SLACK)
}

/// The contents of a log listing exactly `members`.
pub(super) fn compacted(members: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(members.len() * 38);
    for m in members {
        out.push(b'+');
        out.extend_from_slice(m.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::new_urn;

    #[test]
    fn a_log_adds_and_removes_over_the_legacy_folder_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (a, b, c, d) = (new_urn(), new_urn(), new_urn(), new_urn());
        let legacy = legacy_dir(root, "client-tokens", "o");
        fs::create_dir_all(&legacy).unwrap();
        fs::write(legacy.join(&a), "").unwrap();
        fs::write(legacy.join(&b), "").unwrap();
        let log = log_path(root, "client-tokens", "o");
        assert!(append(&log, '-', &c, false, false).unwrap().is_none());
        assert!(append(&log, '+', &c, false, true).unwrap().unwrap().created);
        assert!(!append(&log, '+', &d, true, true).unwrap().unwrap().created);
        append(&log, '-', &b, false, false).unwrap().unwrap();
        append(&log, '-', &d, false, false).unwrap().unwrap();
        // An append that a crash (or a writer right now) left without its newline.
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(format!("-{a}").as_bytes()).unwrap();
        let mut want = vec![a.clone(), c.clone()];
        want.sort();
        assert_eq!(read(root, "client-tokens", "o").unwrap(), want);
        assert_eq!(read_log(&log).unwrap(), (vec![c.clone()], 4));
        // Junk is not a member.
        fs::write(&log, format!("+not-a-urn\n*{a}\n+{d}\n")).unwrap();
        let members = read(root, "client-tokens", "o").unwrap();
        assert!(members.contains(&d) && !members.iter().any(|m| m == "not-a-urn"));
        assert_eq!(
            read(root, "client-tokens", "nobody").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn compaction_keeps_exactly_the_members() {
        let members = vec![new_urn(), new_urn()];
        let dir = tempfile::tempdir().unwrap();
        let log = log_path(dir.path(), "client-roles", "o");
        fs::create_dir_all(log.parent().unwrap()).unwrap();
        fs::write(&log, compacted(&members)).unwrap();
        let mut sorted = members.clone();
        sorted.sort();
        assert_eq!(read_log(&log).unwrap(), (sorted, 2));
        assert!(!needs_compaction(&log).unwrap());
        // 10 members and r pairs of churn: worth it once 4r > (10 + 2r) + slack.
        let churn = |pairs: usize| {
            let mut text = compacted(&(0..10).map(|_| new_urn()).collect::<Vec<_>>());
            for _ in 0..pairs {
                let u = new_urn();
                text.extend(format!("+{u}\n-{u}\n").bytes());
            }
            fs::write(&log, text).unwrap();
            needs_compaction(&log).unwrap()
        };
        let edge = (10 + COMPACT_SLACK) / 2;
        assert!(!churn(edge));
        assert!(churn(edge + 1));
    }
}
