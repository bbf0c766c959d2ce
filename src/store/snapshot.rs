//! Whole collections read at once and kept, in memory and in `cache/<collection>.json`,
//! for as long as the collection's directory has not changed.
//!
//! Why: listing 10,000 clients means opening and parsing 10,000 files (about 40,000
//! system calls), and each CLI command is a new process, so a cache in memory alone does
//! not help it. A snapshot is derived, never the truth. It is used only while the
//! directory's mtime equals the one recorded before the snapshot was read, and only for a
//! directory whose mtime had already settled (see `listings::LISTING_SETTLED`), so that a
//! change in the same clock tick cannot hide behind an equal mtime. Every write to a
//! collection links (a new file), renames (a replaced one) or unlinks a file in its
//! directory, which moves its mtime (in the same journal transaction, so a crash cannot
//! separate them). A snapshot that is missing, torn, stale or not what this build writes
//! is rebuilt; a reader that cannot write one (a read-only store) goes without.

use std::any::Any;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Store;
use super::files::{TMP_SEQ, mkdir_private};
use super::layout::{check_record, is_urn};
use super::listings::{LISTING_CACHED_FROM, settled, sorted_names};
use crate::error::{Error, Result};
use crate::model::{ApiClient, BearerToken, OAuthClient, Role};

/// An object kind with a collection directory of its own.
pub(super) trait Record:
    Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    /// The collection's directory.
    const DIR: &'static str;
    /// The record's file name, without `.json`.
    fn key(&self) -> &str;
    /// Refuses a record that this build could not have written under `key`.
    fn check(&self, path: &Path, key: &str) -> Result<()>;
}

impl Record for ApiClient {
    const DIR: &'static str = "clients";
    fn key(&self) -> &str {
        &self.urn
    }
    fn check(&self, path: &Path, key: &str) -> Result<()> {
        check_record(path, key, &self.urn, is_urn(&self.urn), [&self.owner])
    }
}

impl Record for BearerToken {
    const DIR: &'static str = "tokens";
    fn key(&self) -> &str {
        &self.urn
    }
    fn check(&self, path: &Path, key: &str) -> Result<()> {
        check_record(path, key, &self.urn, is_urn(&self.urn), [&self.client])
    }
}

impl Record for Role {
    const DIR: &'static str = "roles";
    fn key(&self) -> &str {
        &self.urn
    }
    fn check(&self, path: &Path, key: &str) -> Result<()> {
        let refs = self
            .clients
            .iter()
            .chain(&self.identities)
            .chain([&self.owner]);
        check_record(path, key, &self.urn, is_urn(&self.urn), refs)
    }
}

impl Record for OAuthClient {
    const DIR: &'static str = "oauth";
    fn key(&self) -> &str {
        &self.id
    }
    fn check(&self, path: &Path, key: &str) -> Result<()> {
        let id_ok = self.id.len() == 32
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        check_record(path, key, &self.id, id_ok, [])
    }
}

/// A directory's mtime as recorded in a snapshot: seconds and nanoseconds since the epoch.
type Stamp = (u64, u32);

fn stamp(t: SystemTime) -> Option<Stamp> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    Some((d.as_secs(), d.subsec_nanos()))
}

/// The directory's mtime, when it has settled; `None` when it is too recent to trust
/// (or the directory is missing).
fn settled_stamp(dir: &Path) -> Result<Option<Stamp>> {
    let mtime = match fs::metadata(dir) {
        Ok(m) => m.modified().map_err(|e| Error::io(dir, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(dir, e)),
    };
    Ok(if settled(mtime) { stamp(mtime) } else { None })
}

#[derive(Serialize)]
struct Out<'a, T> {
    format: u64,
    mtime: Stamp,
    records: &'a [T],
}

#[derive(Deserialize)]
struct In<T> {
    format: u64,
    mtime: Stamp,
    records: Vec<T>,
}

/// The snapshot format this build writes; any other is rebuilt.
const SNAPSHOT_FORMAT: u64 = 1;

/// A collection in memory (an `Arc<Vec<T>>`), with the mtime it was read at.
type Held = (Stamp, Arc<dyn Any + Send + Sync>);

/// Collections in memory, by directory.
#[derive(Debug, Default)]
pub(super) struct Snapshots(Mutex<HashMap<&'static str, Held>>);

impl Snapshots {
    fn get<T: Record>(&self, at: Stamp) -> Option<Arc<Vec<T>>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (stamp, any) = map.get(T::DIR)?;
        if *stamp != at {
            return None;
        }
        any.clone().downcast::<Vec<T>>().ok()
    }

    fn put<T: Record>(&self, at: Stamp, all: Arc<Vec<T>>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(T::DIR, (at, all));
    }
}

impl Store {
    /// Every record of `T`'s collection, in key order, from a snapshot; `None` when the
    /// collection is small or changed within `LISTING_SETTLED` (read it page by page).
    pub(super) fn collection<T: Record>(&self) -> Result<Option<Arc<Vec<T>>>> {
        let dir = self.root.join(T::DIR);
        let Some(at) = settled_stamp(&dir)? else {
            return Ok(None);
        };
        if let Some(all) = self.snapshots.get::<T>(at) {
            return Ok(Some(all));
        }
        let file = self.root.join("cache").join(format!("{}.json", T::DIR));
        if let Some(records) = load::<T>(&file, at) {
            let all = Arc::new(records);
            self.snapshots.put(at, all.clone());
            return Ok(Some(all));
        }
        let names = sorted_names(&dir)?;
        if names.len() < LISTING_CACHED_FROM {
            return Ok(None);
        }
        let records = self.read_many(&names, |s, k| s.record::<T>(k))?;
        // A write while we read moved the mtime: what we read may mix both states.
        if settled_stamp(&dir)? != Some(at) {
            return Ok(None);
        }
        // Best effort: without it, the next process reads the files again.
        let _ = self.save(&file, at, &records);
        let all = Arc::new(records);
        self.snapshots.put(at, all.clone());
        Ok(Some(all))
    }

    /// Writes a snapshot as a store file is replaced: to a temp file, then renamed. No
    /// fsync: a snapshot lost or torn in a crash is rebuilt.
    fn save<T: Record>(&self, file: &Path, at: Stamp, records: &[T]) -> Result<()> {
        let bytes = serde_json::to_vec(&Out {
            format: SNAPSHOT_FORMAT,
            mtime: at,
            records,
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(dir) = file.parent() {
            mkdir_private(dir)?;
        }
        // In tmp/, which every writer sweeps first: a reader killed here leaves a temp file
        // only until the next write, and one swept while we write it fails our rename.
        let tmp = self.root.join("tmp").join(format!(
            "snapshot.{}.{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes))
            .and_then(|()| fs::rename(&tmp, file));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(file, e));
        }
        Ok(())
    }
}

/// The records of the snapshot `file`, if it was read at `at` and holds only records
/// this build could have written, in strict key order.
fn load<T: Record>(file: &Path, at: Stamp) -> Option<Vec<T>> {
    let bytes = fs::read(file).ok()?;
    let snap: In<T> = serde_json::from_slice(&bytes).ok()?;
    if snap.format != SNAPSHOT_FORMAT || snap.mtime != at {
        return None;
    }
    let ordered = snap.records.windows(2).all(|w| w[0].key() < w[1].key());
    let valid = snap.records.iter().all(|r| r.check(file, r.key()).is_ok());
    (ordered && valid).then_some(snap.records)
}
