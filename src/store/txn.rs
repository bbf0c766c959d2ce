//! Transactions: the write lock, the change counter around every write, durability
//! (each file synced, or a batch synced at once), and the recovery a writer runs first.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::cache::SeqFile;
use super::files::{read_pointer, read_urn_pointer, remove_file, sync_all, sync_dir};
use super::layout::{FORMAT, derived_urn, lock_file, sha};
use super::listings::sorted_names;
use super::{Committer, Store, members};
use crate::error::{Error, Result};
use crate::model::skeleton;

/// How a transaction makes its writes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// fsync every file and directory as it is written, in order.
    Each,
    /// Write without syncing: the batch is synced as a whole before it is acknowledged.
    Batch,
}

/// Ends a batch of unsynced writes once it has been synced: removes the `dirty` marker.
pub(super) fn end_batch(root: &Path) {
    // If this removal is lost in a crash, the next writer merely repairs for nothing.
    let _ = fs::remove_file(root.join("dirty"));
}

/// The store while this process holds its write lock.
#[derive(Debug)]
pub struct Txn<'a> {
    store: &'a Store,
    pub(super) durability: Durability,
    touched: &'a Touched,
}

/// What a transaction changed: files, and directories whose listing changed.
#[derive(Debug, Default)]
pub(super) struct Touched(Mutex<Vec<PathBuf>>);

impl Touched {
    fn add(&self, path: &Path) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(path.to_path_buf());
    }

    fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl std::ops::Deref for Txn<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
    }
}

impl Store {
    /// Takes the write lock, sweeps crash leftovers, and runs `f` as the only writer.
    /// When this returns `Ok`, what `f` wrote is durable; on a group-committing store's
    /// committer thread, only once its batch is synced (which [`Committer::submit`] waits
    /// for before it answers).
    pub fn write<T>(&self, f: impl FnOnce(&Txn<'_>) -> Result<T>) -> Result<T> {
        if let Some(c) = &self.commit {
            return self.write_committed(c, f);
        }
        let _lock = lock_file(&self.root)?;
        let touched = Touched::default();
        let txn = Txn::new(self, Durability::Each, &touched);
        self.announced(&touched, || {
            txn.recover()?;
            f(&txn)
        })
    }

    /// A write of a group-committing store. On the committer thread it joins the open
    /// batch, unsynced (taking the lock and opening a batch first, if need be); elsewhere
    /// (start-up, `serve --profile`) it runs at once and fsyncs as it goes, under the
    /// committer's lock if it holds it.
    fn write_committed<T>(
        &self,
        c: &Committer,
        f: impl FnOnce(&Txn<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut state = c.state();
        let touched = Touched::default();
        // The lock, unless the committer holds it: then it is ours already.
        let fresh = match state.lock {
            None => Some(lock_file(&self.root)?),
            Some(_) => None,
        };
        if !c.is_current() {
            let txn = Txn::new(self, Durability::Each, &touched);
            return self.announced(&touched, || {
                if fresh.is_some() {
                    txn.recover()?;
                }
                f(&txn)
            });
        }
        let txn = Txn::new(self, Durability::Batch, &touched);
        let result = self.announced(&touched, || {
            if let Some(file) = fresh {
                let setup = Txn::new(self, Durability::Each, &touched);
                setup.recover()?;
                setup.begin_batch()?;
                state.lock = Some((file, Instant::now()));
            }
            f(&txn)
        });
        // Even a failed write may have written part of its work: it waits for the sync.
        state.wrote |= state.lock.is_some();
        result
    }

    /// Runs `f` unsynced under the write lock, then syncs once: for bulk loads, where one
    /// flush at the end is what matters.
    pub fn write_bulk<T>(&self, f: impl FnOnce(&Txn<'_>) -> Result<T>) -> Result<T> {
        let _lock = lock_file(&self.root)?;
        let touched = Touched::default();
        let txn = Txn::new(self, Durability::Batch, &touched);
        self.announced(&touched, || {
            Txn::new(self, Durability::Each, &touched).recover()?;
            txn.begin_batch()?;
            let r = f(&txn)?;
            sync_all(&self.root)?;
            end_batch(&self.root);
            Ok(r)
        })
    }

    /// The change counter, opened once per process; only writers call this.
    fn seq(&self) -> Result<&SeqFile> {
        if let Some(s) = self.seq.get() {
            return Ok(s);
        }
        let opened = SeqFile::open(&self.root)?;
        // Another thread may have won the race: either handle is the same file.
        let _ = self.seq.set(opened);
        self.seq
            .get()
            .ok_or_else(|| Error::Internal("the change counter did not open".into()))
    }

    /// Runs the writes of `f` (the caller holds the write lock) between the two bumps of
    /// the change counter, then tells this process's cache what `f` touched.
    fn announced<T>(&self, touched: &Touched, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let seq = self.seq()?;
        let (before, odd) = seq.begin(&self.root)?;
        let result = f();
        // Even when `f` failed: it may have written part of its work.
        let after = seq.end(&self.root, odd)?;
        if let Some(c) = &self.cache {
            c.wrote(before, after, &touched.take());
        }
        result
    }
}

impl<'a> Txn<'a> {
    pub(super) fn new(store: &'a Store, durability: Durability, touched: &'a Touched) -> Txn<'a> {
        Txn {
            store,
            durability,
            touched,
        }
    }

    /// Records a change to `path` for this process's read cache, when it has one: the
    /// file itself and the listing of its directory.
    pub(super) fn touch(&self, path: &Path) {
        if self.cache.is_some() {
            self.touched.add(path);
            if let Some(dir) = path.parent() {
                self.touched.add(dir);
            }
        }
    }

    /// Removes temp files left by writers and snapshot-saving readers that died, repairs
    /// the indexes after a batch that died unsynced, and finishes interrupted client
    /// deletions.
    fn recover(&self) -> Result<()> {
        if self.meta.format < FORMAT {
            self.upgrade()?;
        }
        let tmp = self.root.join("tmp");
        for name in sorted_names(&tmp)? {
            // We are the only writer, so no other write's temp file is in use. A reader
            // may be saving a snapshot through one (see `snapshot`): removing it makes
            // that reader's rename fail, and it goes without saving, which is harmless.
            remove_file(&tmp.join(&name))?;
        }
        if self.root.join("dirty").exists() {
            self.repair()?;
            self.remove(&self.root.join("dirty"))?;
        }
        self.resolve_intent()?;
        let pending = self.root.join("pending");
        for client in sorted_names(&pending)? {
            self.finish_client_delete(&client)?;
        }
        Ok(())
    }

    /// Starts a batch of unsynced writes: the durable `dirty` marker says a crash may have
    /// left objects without their indexes.
    fn begin_batch(&self) -> Result<()> {
        let marker = self.root.join("dirty");
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&marker)
            .map_err(|e| Error::io(&marker, e))?;
        sync_dir(&self.root)
    }

    /// Rebuilds every index from the objects, which are the truth. Runs only after a
    /// batch died before its sync, so its O(n) cost is paid once per crash.
    fn repair(&self) -> Result<()> {
        let mut wanted: Vec<(&str, String, String)> = Vec::new();
        for urn in sorted_names(&self.root.join("clients"))? {
            if let Some(c) = self.client(&urn)? {
                let path = self.idx("client-id", &sha(&c.client_id));
                if read_pointer(&path)?.as_deref() != Some(c.urn.as_str()) {
                    self.put_pointer(&path, &c.urn)?;
                }
                self.repair_skeleton("client-skeleton", &c.client_id, &c.urn, |s, u| {
                    Ok(s.client(u)?.map(|o| o.client_id))
                })?;
            }
        }
        for urn in sorted_names(&self.root.join("tokens"))? {
            if let Some(t) = self.token(&urn)? {
                let path = self.idx("token-digest", &t.digest);
                if !derived_urn(&t) && read_pointer(&path)?.as_deref() != Some(t.urn.as_str()) {
                    self.put_pointer(&path, &t.urn)?;
                }
                wanted.push(("client-tokens", t.client, t.urn));
            }
        }
        for urn in sorted_names(&self.root.join("roles"))? {
            if let Some(r) = self.role(&urn)? {
                let path = self.idx("role-name", &sha(&r.name));
                if read_pointer(&path)?.as_deref() != Some(r.urn.as_str()) {
                    self.put_pointer(&path, &r.urn)?;
                }
                self.repair_skeleton("role-skeleton", &r.name, &r.urn, |s, u| {
                    Ok(s.role(u)?.map(|o| o.name))
                })?;
                for c in r.clients {
                    wanted.push(("client-roles", c, r.urn.clone()));
                }
            }
        }
        // Each membership is added once, not again for every repair.
        let mut known = std::collections::HashMap::new();
        for (index, owner, member) in wanted {
            let list = match known.entry((index, owner.clone())) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(members::read(&self.root, index, &owner)?)
                }
            };
            if list.binary_search(&member).is_err() {
                self.put_member(index, &owner, &member)?;
            }
        }
        Ok(())
    }

    /// Indexes `name`'s skeleton under `urn` unless its entry already points at a live
    /// object with that skeleton (an older store may hold look-alikes; the first stays).
    pub(super) fn repair_skeleton(
        &self,
        index: &str,
        name: &str,
        urn: &str,
        name_of: impl Fn(&Store, &str) -> Result<Option<String>>,
    ) -> Result<()> {
        let skel = skeleton(name);
        let path = self.idx(index, &sha(&skel));
        if let Some(at) = read_urn_pointer(&path)?
            && name_of(self, &at)?.is_some_and(|n| skeleton(&n) == skel)
        {
            return Ok(());
        }
        self.put_pointer(&path, urn)
    }
}
