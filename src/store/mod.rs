//! The JSON file store: one JSON file per object, with the file system as the index.
//!
//! Layout of a store directory (0700; every file 0600):
//!
//! ```text
//! meta.json                          format version, company and root client URNs (written last at init)
//! lock                               the cross-process write lock (flock)
//! seq                                the change counter every writer bumps (see `cache`)
//! dirty                              a batch of unsynced writes is in flight (see below)
//! tmp/                               temp files of writes and of readers' snapshot saves in
//!                                    progress; swept by the next writer
//! cache/<collection>.json            a whole collection, derived (see `snapshot`)
//! pending/<client-urn>               a client deletion whose cascade must be finished
//! keys/<kid>.json                    the signing keys of OAuth access tokens (see `crate::jwt`)
//! audit/<ms>.jsonl                   the audit log, in segments (see `audit`), with
//! audit/intent  audit/retention.json the change under way and how long events are kept
//! company/<urn>.json  clients/<urn>.json  tokens/<urn>.json  roles/<urn>.json  oauth/<id>.json
//! index/client-id/<sha256(clientID)>     -> client URN   (a symlink: created atomically,
//! index/role-name/<sha256(name)>         -> role URN       no data block to fsync)
//! index/client-skeleton/<sha256(skeleton)> -> client URN (the confusable skeleton of its
//! index/role-skeleton/<sha256(skeleton)>   -> role URN    clientID or name; format 4)
//! index/token-digest/<sha256(token)>     -> token URN   (only tokens made before format 3;
//!                                                       later ones live at a URN derived
//!                                                       from the digest)
//! index/client-tokens/<client>.log      a client's tokens: `+<urn>` / `-<urn>` lines (see
//! index/client-roles/<client>.log       a client's roles     `members`)
//! index/client-tokens/<client>/<token>   (before format 3: empty files; still read)
//! index/client-roles/<client>/<role>
//! ```
//!
//! Why this shape: a write touches a few small files and a read by URN or name opens one or
//! two, so both cost the same at 1,000 records as at 100,000, and no command parses the
//! whole store. A new file is written unnamed in its folder (O_TMPFILE), fsynced and then
//! linked in; a file is replaced by write-to-temp, fsync, rename; then the folder is
//! fsynced. So a crash at any instant leaves either the old or the new file. Objects are the truth
//! and indexes are hints checked on every use: an index is written before the object it
//! points to and removed after it, so a crash leaves at worst a stale hint, which readers
//! ignore and writers overwrite. Writers hold an exclusive `flock` on `lock` (released by
//! the kernel if the process dies, so a lock is never stale); readers need no lock because
//! every file they open is complete.
//!
//! Durability comes in two modes. A CLI write fsyncs each file and directory as it goes,
//! in the order above. `baack serve` group-commits (see `commit`): one thread runs the
//! writes one after the other under one lock, unsynced, and one `syncfs` then makes the
//! whole batch durable before any of them is acknowledged. Since unsynced writes may reach the disk in any
//! order, a batch first leaves a durable `dirty` marker; the next writer to find it (after
//! a crash) rebuilds every index from the objects before doing anything else.
//!
//! Where each part lives: `layout` (the folders, `meta.json`, open, init, upgrade),
//! `files` (reading and writing one file), `txn` (the write lock, durability, recovery),
//! `reads` (one object by key or index), `listings` (pages and memberships), `writes`
//! (each object with its indexes); beside them `members` (membership logs), `lock`,
//! `commit` (group commit), `cache` and `snapshot` (read caches), `private` (modes).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::error::Result;

mod audit;
mod cache;
mod commit;
mod files;
mod keys;
mod layout;
mod listings;
mod lock;
mod members;
mod private;
mod reads;
mod snapshot;
#[cfg(test)]
mod tests;
mod txn;
mod writes;
pub use audit::{AuditQuery, Check, Position, Retention};
use cache::{ReadCache, SeqFile};
pub use commit::Committer;
pub use files::Staged;
use layout::FORMAT;
pub use layout::{Bootstrap, Meta, default_path, shell_word};
use listings::ListingCache;
pub use lock::set_lock_timeout;
pub use private::check_private_dir;
use snapshot::Snapshots;
pub use txn::Txn;

/// A store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    meta: Meta,
    commit: Option<Arc<Committer>>,
    listings: Arc<ListingCache>,
    /// The change counter, opened by the first write.
    seq: Arc<OnceLock<SeqFile>>,
    /// Parsed files, for a long-lived process (see `cache`).
    cache: Option<Arc<ReadCache>>,
    /// Whole collections (see `snapshot`).
    snapshots: Arc<Snapshots>,
}

impl Store {
    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// What `meta.json` says.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// This store with group commit (see `commit`): for a long-lived process with
    /// concurrent writers, which hands them to [`Store::committer`].
    pub fn with_group_commit(mut self) -> Result<Store> {
        self.commit = Some(Arc::new(Committer::start(&self.root)?));
        Ok(self)
    }

    /// The committer, when this store group-commits.
    pub fn committer(&self) -> Option<&Committer> {
        self.commit.as_deref()
    }

    /// This store with a read cache: for a long-lived process, such as `baack serve`. Its
    /// entries are trusted only while no writer, in any process, has written since they
    /// were read (see `cache`). Upgrades a format-1 store, so that no older build (which
    /// would not announce its writes) writes it any more.
    pub fn with_read_cache(mut self) -> Result<Store> {
        if self.meta.format < FORMAT {
            self.write(|_| Ok(()))?;
        }
        self.cache = Some(Arc::new(ReadCache::new(SeqFile::open(&self.root)?)));
        Ok(self)
    }

    /// What `load` reads from `path`, through the read cache when there is one.
    fn cached<T: Clone + Send + Sync + 'static>(
        &self,
        path: &Path,
        load: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        match &self.cache {
            Some(c) => c.get_or_load(path, load),
            None => load(),
        }
    }
}
