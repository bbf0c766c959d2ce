//! The store's change counter, which every writer bumps, and the read cache of a
//! long-lived process, which trusts its entries only while the counter has not moved.
//!
//! Why: `baack serve` answers most requests by reading the same few files again and again
//! (the caller's token and client, the object asked for): four opens and four parses per
//! request. A cache must never answer with what another process has since changed, and
//! CLI processes write the same store. So every writer of this build, holding the write
//! lock, sets the counter in `seq` to an odd value before it changes anything and to the
//! next even value when it is done (a seqlock). A reader uses its cache only while the
//! counter still holds the even value the cache was filled at: one `pread` per lookup.
//! The counter is never fsynced: it only has to be right while a cache is alive, and no
//! cache survives a reboot.

use std::any::Any;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

/// The counter file of a store.
#[derive(Debug)]
pub(super) struct SeqFile(File);

/// Entries kept before the cache starts over: bounds memory on a store of 100,000
/// tokens while holding far more than a request's working set.
pub(super) const MAX_ENTRIES: usize = 20_000;

impl SeqFile {
    /// Opens (creating when missing: an empty file reads as 0) the counter of `root`.
    pub(super) fn open(root: &Path) -> Result<SeqFile> {
        super::files::open_shared(&root.join("seq")).map(SeqFile)
    }

    /// The counter; `None` when it cannot be read, which readers treat as "a write is
    /// under way" (no caching).
    pub(super) fn get(&self) -> Option<u64> {
        let mut buf = [0u8; 8];
        match self.0.read_at(&mut buf, 0) {
            Ok(8) => Some(u64::from_le_bytes(buf)),
            Ok(0) => Some(0),
            _ => None,
        }
    }

    fn set(&self, v: u64) -> std::io::Result<()> {
        self.0.write_all_at(&v.to_le_bytes(), 0)
    }

    /// Marks a write as begun; the caller must hold the write lock. Returns the value
    /// before (to keep a cache current through our own write) and the odd value set.
    pub(super) fn begin(&self, root: &Path) -> Result<(Option<u64>, u64)> {
        let before = self.get();
        let odd = match before {
            Some(v) if v % 2 == 0 => v + 1,
            // A writer died mid-write (odd), or the file is unreadable: move on anyway,
            // so no reader mistakes the new state for one it cached.
            Some(v) => v.wrapping_add(2),
            None => 1,
        };
        self.set(odd).map_err(|e| Error::io(root.join("seq"), e))?;
        Ok((before, odd))
    }

    /// Marks a write begun at `odd` as done.
    pub(super) fn end(&self, root: &Path, odd: u64) -> Result<u64> {
        let even = odd.wrapping_add(1);
        self.set(even).map_err(|e| Error::io(root.join("seq"), e))?;
        Ok(even)
    }
}

#[derive(Debug, Default)]
struct State {
    /// The counter value every entry was read at.
    at: u64,
    map: HashMap<PathBuf, Arc<dyn Any + Send + Sync>>,
}

/// Parsed files by path, valid while the store's counter stays at `State::at`.
#[derive(Debug)]
pub(super) struct ReadCache {
    seq: SeqFile,
    state: Mutex<State>,
}

impl ReadCache {
    pub(super) fn new(seq: SeqFile) -> ReadCache {
        ReadCache {
            seq,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `load` reads from `path`, from the cache when nothing has been written since.
    pub(super) fn get_or_load<T: Clone + Send + Sync + 'static>(
        &self,
        path: &Path,
        load: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.get_or_load_if(path, load, |_| true)
    }

    /// Like [`ReadCache::get_or_load`], but a value `keep` refuses is not cached. For
    /// lookups whose key a caller chooses before any check (a token's digest): caching
    /// their misses would let made-up keys fill the cache and so empty it.
    pub(super) fn get_or_load_if<T: Clone + Send + Sync + 'static>(
        &self,
        path: &Path,
        load: impl FnOnce() -> Result<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T> {
        let Some(seen) = self.seq.get().filter(|s| s % 2 == 0) else {
            return load();
        };
        {
            let mut st = self.state();
            if st.at != seen {
                st.map.clear();
                st.at = seen;
            }
            if let Some(v) = st.map.get(path).and_then(|a| a.downcast_ref::<T>()) {
                return Ok(v.clone());
            }
        }
        let value = load()?;
        let mut st = self.state();
        // Keep it only if no write began while we read: then it is what the file held at
        // `seen`. (A write that begins after this check removes what it touches.)
        if keep(&value) && st.at == seen && self.seq.get() == Some(seen) {
            if st.map.len() >= MAX_ENTRIES {
                st.map.clear();
            }
            st.map.insert(path.to_path_buf(), Arc::new(value.clone()));
        }
        Ok(value)
    }

    /// This process wrote, moving the counter from `before` to `after` and touching
    /// `paths` (files and directories whose listing changed). Entries read at `before` stay
    /// valid except those; otherwise the next lookup starts over.
    pub(super) fn wrote(&self, before: Option<u64>, after: u64, paths: &[PathBuf]) {
        let mut st = self.state();
        if before == Some(st.at) {
            for p in paths {
                st.map.remove(p);
            }
            st.at = after;
        } else {
            st.map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_by_anyone_else_empties_the_cache_and_our_own_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(SeqFile::open(dir.path()).unwrap());
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let load = |v: u32| move || Ok(v);
        assert_eq!(cache.get_or_load(&a, load(1)).unwrap(), 1);
        assert_eq!(cache.get_or_load(&b, load(1)).unwrap(), 1);
        // Cached: the loader is not called.
        assert_eq!(cache.get_or_load(&a, load(2)).unwrap(), 1);

        // Another process writes (its own handle on the same counter).
        let other = SeqFile::open(dir.path()).unwrap();
        let (_, odd) = other.begin(dir.path()).unwrap();
        // Mid-write: nothing is served from the cache.
        assert_eq!(cache.get_or_load(&a, load(3)).unwrap(), 3);
        other.end(dir.path(), odd).unwrap();
        assert_eq!(cache.get_or_load(&a, load(4)).unwrap(), 4);
        assert_eq!(cache.get_or_load(&b, load(4)).unwrap(), 4);

        // Our own write of `a` keeps `b`.
        let (before, odd) = cache.seq.begin(dir.path()).unwrap();
        let after = cache.seq.end(dir.path(), odd).unwrap();
        cache.wrote(before, after, std::slice::from_ref(&a));
        assert_eq!(cache.get_or_load(&a, load(5)).unwrap(), 5);
        assert_eq!(cache.get_or_load(&b, load(5)).unwrap(), 4);
    }

    #[test]
    fn refused_values_are_not_cached_and_do_not_evict_others() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(SeqFile::open(dir.path()).unwrap());
        let a = dir.path().join("a");
        assert_eq!(cache.get_or_load(&a, || Ok(Some(1u32))).unwrap(), Some(1));
        // More misses than the cache holds: none is kept, so `a` stays.
        for i in 0..MAX_ENTRIES + 1 {
            let p = dir.path().join(format!("miss{i}"));
            let v = cache.get_or_load_if(&p, || Ok(None::<u32>), Option::is_some);
            assert_eq!(v.unwrap(), None);
        }
        assert_eq!(cache.state().map.len(), 1);
        assert_eq!(cache.get_or_load(&a, || Ok(Some(2u32))).unwrap(), Some(1));
        // A miss is looked up again each time, and a value it finds is kept.
        let b = dir.path().join("b");
        let v = cache.get_or_load_if(&b, || Ok(None::<u32>), Option::is_some);
        assert_eq!(v.unwrap(), None);
        let v = cache.get_or_load_if(&b, || Ok(Some(3u32)), Option::is_some);
        assert_eq!(v.unwrap(), Some(3));
        let v = cache.get_or_load_if(&b, || Ok(Some(4u32)), Option::is_some);
        assert_eq!(v.unwrap(), Some(3));
    }

    #[test]
    fn a_value_read_while_a_write_began_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ReadCache::new(SeqFile::open(dir.path()).unwrap());
        let a = dir.path().join("a");
        let v = cache
            .get_or_load(&a, || {
                // This process writes `a` while we read it: the write keeps the cache
                // current (moving it to the new counter), so only the check made before
                // keeping a value stops this old one from being served from then on.
                let (before, odd) = cache.seq.begin(dir.path())?;
                let after = cache.seq.end(dir.path(), odd)?;
                cache.wrote(before, after, std::slice::from_ref(&a));
                Ok(1u32)
            })
            .unwrap();
        assert_eq!(v, 1);
        assert_eq!(cache.get_or_load(&a, || Ok(2u32)).unwrap(), 2);
    }
}
