//! The JSON file store: one JSON file per object, with the file system as the index.
//!
//! Layout of a store directory (0700; every file 0600):
//!
//! ```text
//! meta.json                          format version, company and root client URNs (written last at init)
//! lock                               the cross-process write lock (flock)
//! dirty                              a group commit is in flight (see below)
//! tmp/                               temp files of writes in progress; swept by the next writer
//! pending/<client-urn>               a client deletion whose cascade must be finished
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

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{
    ApiClient, BearerToken, Company, OAuthClient, ROOT_CLIENT_ID, Role, Scope, new_urn, parse_urn,
    skeleton,
};
use crate::secret;

mod cache;
mod commit;
mod lock;
mod members;
mod private;
mod snapshot;
use cache::{ReadCache, SeqFile};
pub use commit::Committer;
pub use lock::{DEFAULT_LOCK_TIMEOUT, lock_timeout, set_lock_timeout};
pub use private::check_private_dir;
use snapshot::{Record, Snapshots};

/// The on-disk format this build writes and the newest it reads. Format 2 added the `seq`
/// change counter that every writer bumps; format 3, tokens at the URN their digest gives
/// (see [`secret::token_urn`]), with no digest index entry. An older store is upgraded by
/// its first write, so that an older build, which would not bump the counter or would
/// not find such a token, refuses the store from then on. Format 4 added the skeleton
/// indexes (see [`crate::model::skeleton`]), which an older build would not maintain.
pub const FORMAT: u64 = 4;

const DIRS: [&str; 14] = [
    "tmp",
    "pending",
    "company",
    "clients",
    "tokens",
    "roles",
    "oauth",
    "index/client-id",
    "index/role-name",
    "index/client-skeleton",
    "index/role-skeleton",
    "index/token-digest",
    "index/client-tokens",
    "index/client-roles",
];

/// `meta.json`: what a store is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The on-disk format.
    pub format: u64,
    /// The company's URN.
    pub company: String,
    /// The root client's URN.
    pub root_client: String,
}

/// What a new store was created with; the root token exists only here, once.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The store's directory.
    pub path: PathBuf,
    /// The company.
    pub company: Company,
    /// The root API client.
    pub root_client: ApiClient,
    /// The root bearer token's record.
    pub root_token: BearerToken,
    /// The root bearer token itself: show it once, then forget it.
    pub token: String,
}

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

/// How a transaction makes its writes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync every file and directory as it is written, in order.
    Each,
    /// Write without syncing: the batch is synced as a whole before it is acknowledged.
    Batch,
}

/// The default store directory: `<data dir>/baack/store`.
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("baack").join("store"))
}

fn sha(s: &str) -> String {
    secret::digest(s)
}

fn mkdir_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Reads a JSON file; `None` when it does not exist, an error naming it when it is not
/// what this build wrote.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    // open + read, without the stat `fs::read` makes to size its buffer: objects are
    // small, and listing reads thousands of them.
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    // Not `read_to_end`: for a `File` it asks for the size (statx and lseek) first.
    let mut bytes = vec![0u8; 1024];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(len * 2, 0);
        }
        match std::io::Read::read(&mut file, &mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    bytes.truncate(len);
    if bytes.is_empty() {
        return Err(Error::StoreCorrupt {
            path: path.into(),
            reason: "the file is empty".into(),
        });
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::StoreCorrupt {
            path: path.into(),
            reason: e.to_string(),
        })
}

fn read_pointer(path: &Path) -> Result<Option<String>> {
    match fs::read_link(path) {
        Ok(target) => match target.to_str() {
            Some(s) => Ok(Some(s.to_string())),
            None => Err(Error::StoreCorrupt {
                path: path.into(),
                reason: "the index entry is not text".into(),
            }),
        },
        Err(e) if e.kind() == IoKind::NotFound => Ok(None),
        Err(e) if e.kind() == IoKind::InvalidInput => Err(Error::StoreCorrupt {
            path: path.into(),
            reason: "the index entry is not a link".into(),
        }),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Flushes everything written under `root` to the disk, in one call.
fn sync_all(root: &Path) -> Result<()> {
    let dir = File::open(root).map_err(|e| Error::io(root, e))?;
    rustix::fs::syncfs(&dir).map_err(|e| Error::io(root, e.into()))
}

/// Ends a batch of unsynced writes once it has been synced: removes the `dirty` marker.
fn end_batch(root: &Path) {
    // If this removal is lost in a crash, the next writer merely repairs for nothing.
    let _ = fs::remove_file(root.join("dirty"));
}

/// Whether a token's URN is the one its digest gives, so that it needs no digest index.
fn derived_urn(t: &BearerToken) -> bool {
    t.urn == secret::token_urn(&t.digest)
}

/// Whether `s` is a URN as this build writes it: a lowercase hyphenated UUID.
fn is_urn(s: &str) -> bool {
    parse_urn(s).as_deref() == Some(s)
}

/// An index pointer's target, when it is a URN; anything else is a stale hint (only this
/// build writes pointers, and it writes URNs), and a stale hint is ignored.
fn read_urn_pointer(path: &Path) -> Result<Option<String>> {
    Ok(read_pointer(path)?.filter(|u| is_urn(u)))
}

/// A record read under `key` must carry `key` as its own, and every URN it refers to must
/// be a URN: both become file names, so anything else would make the next write touch the
/// wrong file (a delete that leaves the object alive) or one outside the store.
fn check_record<'a>(
    path: &Path,
    key: &str,
    own: &str,
    own_ok: bool,
    refs: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    let corrupt = |reason: String| Error::StoreCorrupt {
        path: path.into(),
        reason,
    };
    if own != key || !own_ok {
        return Err(corrupt(format!(
            "it holds the record `{own}`, not `{key}` as its name says"
        )));
    }
    for r in refs {
        if !is_urn(r) {
            return Err(corrupt(format!("it refers to `{r}`, which is not a URN")));
        }
    }
    Ok(())
}

fn remove_file(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == IoKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Sorted listings of big directories, kept while the directory's mtime says it has not
/// changed. Only listings of a directory untouched for a while are kept: mtimes tick
/// coarsely, so a change in the same tick as the listing could otherwise go unseen.
#[derive(Debug, Default)]
struct ListingCache(Mutex<std::collections::HashMap<PathBuf, Listing>>);

/// A directory's mtime when listed, and its sorted names.
type Listing = (std::time::SystemTime, Arc<Vec<String>>);

const LISTING_SETTLED: Duration = Duration::from_secs(2);

/// Whether a directory's `mtime` is old enough to stand for its contents: a change in
/// the same clock tick would leave it equal.
fn settled(mtime: std::time::SystemTime) -> bool {
    mtime.elapsed().is_ok_and(|age| age > LISTING_SETTLED)
}
const LISTING_CACHED_FROM: usize = 256;

impl ListingCache {
    fn names(&self, dir: &Path) -> Result<Arc<Vec<String>>> {
        let mtime = match fs::metadata(dir) {
            Ok(m) => m.modified().ok(),
            Err(e) if e.kind() == IoKind::NotFound => return Ok(Arc::new(Vec::new())),
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(m), Some((cached_m, names))) = (mtime, map.get(dir))
            && *cached_m == m
        {
            return Ok(names.clone());
        }
        drop(map);
        let names = Arc::new(sorted_names(dir)?);
        if let Some(m) = mtime.filter(|m| settled(*m) && names.len() >= LISTING_CACHED_FROM) {
            map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            map.insert(dir.to_path_buf(), (m, names.clone()));
        }
        Ok(names)
    }
}

/// Names in `dir` (without a `.json` ending), sorted; an absent directory is empty.
fn sorted_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.strip_suffix(".json").unwrap_or(name).to_string());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// One page of a sorted listing: names after `after`, at most `limit`, and whether more
/// follow.
fn page(names: &[String], after: Option<&str>, limit: usize) -> (Vec<String>, bool) {
    let start = match after {
        Some(a) => names.partition_point(|n| n.as_str() <= a),
        None => 0,
    };
    let end = start.saturating_add(limit).min(names.len());
    (names[start..end].to_vec(), names.len() > end)
}

impl Store {
    /// Opens the store at `root`, creating it (company, root client, root token) when the
    /// directory holds none. The second value is set only when it was created.
    pub fn open_or_init(root: &Path, company_name: &str) -> Result<(Store, Option<Bootstrap>)> {
        if let Some(store) = Self::try_open(root)? {
            return Ok((store, None));
        }
        match Self::init(root, company_name) {
            Ok(b) => Ok((Self::open(root)?, Some(b))),
            // Another process created it between our look and our lock.
            Err(Error::StoreExists { .. }) => Ok((Self::open(root)?, None)),
            Err(e) => Err(e),
        }
    }

    /// Opens an existing store.
    pub fn open(root: &Path) -> Result<Store> {
        Self::try_open(root)?.ok_or_else(|| Error::StoreIo {
            path: root.join("meta.json"),
            source: std::io::Error::new(
                IoKind::NotFound,
                "no store here; create one with `baack init`",
            ),
        })
    }

    fn try_open(root: &Path) -> Result<Option<Store>> {
        check_private_tree(root)?;
        let path = root.join("meta.json");
        let Some(raw) = read_json::<serde_json::Value>(&path)? else {
            return Ok(None);
        };
        // Check the version before the shape, so a newer store says so rather than
        // looking corrupt.
        match raw.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f > FORMAT => {
                return Err(Error::StoreTooNew {
                    path,
                    found: f,
                    supported: FORMAT,
                });
            }
            Some(_) => {}
            None => {
                return Err(Error::StoreCorrupt {
                    path,
                    reason: "it has no format version".into(),
                });
            }
        }
        let meta: Meta = serde_json::from_value(raw).map_err(|e| Error::StoreCorrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        // Both become file names.
        for urn in [&meta.company, &meta.root_client] {
            if !is_urn(urn) {
                return Err(Error::StoreCorrupt {
                    path,
                    reason: format!("it names `{urn}`, which is not a URN"),
                });
            }
        }
        Ok(Some(Store {
            root: root.to_path_buf(),
            meta,
            commit: None,
            listings: Arc::default(),
            seq: Arc::default(),
            cache: None,
            snapshots: Arc::default(),
        }))
    }

    /// Creates a new store at `root`; refuses, changing nothing, when one exists.
    pub fn init(root: &Path, company_name: &str) -> Result<Bootstrap> {
        mkdir_private(root)?;
        // An existing directory keeps its mode: it must be private before anything is
        // written in it (the folders below are made anew, 0700).
        check_private_dir(root)?;
        let lock = lock_file(root)?;
        if root.join("meta.json").exists() {
            return Err(Error::StoreExists { path: root.into() });
        }
        // A directory that holds anything but a crashed init of ours is not ours to fill.
        for name in sorted_names(root)? {
            let ours = name == "lock" || name == "index" || DIRS.contains(&name.as_str());
            if !ours {
                return Err(Error::io(
                    root,
                    std::io::Error::new(
                        IoKind::AlreadyExists,
                        format!(
                            "the directory holds `{name}` and is not a baack store; choose an empty or new directory with --store"
                        ),
                    ),
                ));
            }
        }
        // Leftovers of an init that crashed before writing meta.json.
        for d in [
            "company", "clients", "tokens", "roles", "oauth", "index", "tmp", "pending",
        ] {
            let p = root.join(d);
            if p.exists() {
                fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        for d in DIRS {
            mkdir_private(&root.join(d))?;
        }
        let meta = Meta {
            format: FORMAT,
            company: new_urn(),
            root_client: new_urn(),
        };
        let store = Store {
            root: root.to_path_buf(),
            meta: meta.clone(),
            commit: None,
            listings: Arc::default(),
            seq: Arc::default(),
            cache: None,
            snapshots: Arc::default(),
        };
        let touched = Touched::default();
        let txn = Txn::new(&store, Durability::Each, &touched);
        let company = Company {
            urn: meta.company.clone(),
            name: company_name.to_string(),
        };
        txn.put(
            &store
                .root
                .join("company")
                .join(format!("{}.json", company.urn)),
            &company,
        )?;
        let root_client = ApiClient {
            urn: meta.root_client.clone(),
            client_id: ROOT_CLIENT_ID.into(),
            scope: Scope::Api,
            owner: company.urn.clone(),
        };
        txn.put_client(&root_client, None)?;
        let token = secret::new_bearer_token()?;
        let digest = secret::digest(&token);
        let root_token = BearerToken {
            urn: secret::token_urn(&digest),
            client: root_client.urn.clone(),
            digest,
            shown: secret::obfuscate(&token),
            expires: None,
            created: chrono::Utc::now().timestamp_millis(),
        };
        txn.put_token(&root_token)?;
        // meta.json last: until it exists, the store does not.
        txn.put(&root.join("meta.json"), &meta)?;
        drop(lock);
        Ok(Bootstrap {
            path: root.to_path_buf(),
            company,
            root_client,
            root_token,
            token,
        })
    }

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

    /// Takes the write lock, sweeps crash leftovers, and runs `f` as the only writer.
    /// When this returns `Ok`, what `f` wrote is durable.
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

    fn obj(&self, dir: &str, key: &str) -> PathBuf {
        self.root.join(dir).join(format!("{key}.json"))
    }

    fn idx(&self, index: &str, key: &str) -> PathBuf {
        self.root.join("index").join(index).join(key)
    }

    /// The company.
    pub fn company(&self) -> Result<Company> {
        let path = self.obj("company", &self.meta.company);
        self.cached(&path, || {
            let c: Company = read_json(&path)?.ok_or_else(|| Error::StoreCorrupt {
                path: path.clone(),
                reason: "the company file is missing".into(),
            })?;
            check_record(&path, &self.meta.company, &c.urn, true, [])?;
            Ok(c)
        })
    }

    /// The record of kind `T` stored under `key`, checked to be one this build wrote.
    fn record<T: Record>(&self, key: &str) -> Result<Option<T>> {
        let path = self.obj(T::DIR, key);
        self.cached(&path, || self.load_record(&path, key))
    }

    /// The record at `path` (stored under `key`), read from disk.
    fn load_record<T: Record>(&self, path: &Path, key: &str) -> Result<Option<T>> {
        let r: Option<T> = read_json(path)?;
        if let Some(r) = &r {
            r.check(path, key)?;
        }
        Ok(r)
    }

    /// A page of `T`'s whole collection in key order: from its snapshot when the
    /// collection is big and settled, else from its files.
    fn page_all<T: Record>(&self, after: Option<&str>, limit: usize) -> Result<(Vec<T>, bool)> {
        let Some(all) = self.collection::<T>()? else {
            let names = self.listings.names(&self.root.join(T::DIR))?;
            return self.page_of(&names, after, limit, |s, k| s.record::<T>(k));
        };
        let start = after.map_or(0, |a| all.partition_point(|r| r.key() <= a));
        let end = start.saturating_add(limit).min(all.len());
        Ok((all[start..end].to_vec(), all.len() > end))
    }

    /// An API client by URN.
    pub fn client(&self, urn: &str) -> Result<Option<ApiClient>> {
        self.record(urn)
    }

    /// The object an index entry points at, if the entry exists and the object still
    /// answers to `key` (an entry is a hint; the object is the truth).
    fn by_pointer<T>(
        &self,
        index: &str,
        entry: &str,
        get: impl Fn(&Store, &str) -> Result<Option<T>>,
        still: impl Fn(&T) -> bool,
    ) -> Result<Option<T>> {
        let path = self.idx(index, entry);
        let Some(urn) = self.cached(&path, || read_urn_pointer(&path))? else {
            return Ok(None);
        };
        Ok(get(self, &urn)?.filter(still))
    }

    /// An API client by `clientID`.
    pub fn client_by_id(&self, client_id: &str) -> Result<Option<ApiClient>> {
        self.by_pointer("client-id", &sha(client_id), Store::client, |c| {
            c.client_id == client_id
        })
    }

    /// The API client whose clientID has the confusable skeleton `skel`, if one is
    /// indexed under it (see [`crate::model::skeleton`]).
    pub fn client_by_skeleton(&self, skel: &str) -> Result<Option<ApiClient>> {
        self.by_pointer("client-skeleton", &sha(skel), Store::client, |c| {
            skeleton(&c.client_id) == skel
        })
    }

    /// A page of API clients in URN order.
    pub fn clients(&self, after: Option<&str>, limit: usize) -> Result<(Vec<ApiClient>, bool)> {
        self.page_all(after, limit)
    }

    /// A bearer token by URN.
    pub fn token(&self, urn: &str) -> Result<Option<BearerToken>> {
        self.record(urn)
    }

    /// A bearer token by the digest of its value.
    pub fn token_by_digest(&self, digest: &str) -> Result<Option<BearerToken>> {
        // Tokens made since format 3 live at the URN their digest gives; older ones are
        // found through the digest index. Anyone can send a made-up token with a valid
        // checksum: misses here are never cached, or a flood of them would fill the read
        // cache and so empty it of everything real.
        let urn = secret::token_urn(digest);
        let path = self.obj(BearerToken::DIR, &urn);
        let found = |r: &Option<BearerToken>| r.is_some();
        let by_urn: Option<BearerToken> = match &self.cache {
            Some(c) => c.get_or_load_if(&path, || self.load_record(&path, &urn), found)?,
            None => self.load_record(&path, &urn)?,
        };
        if let Some(t) = by_urn
            && t.digest == digest
        {
            return Ok(Some(t));
        }
        let path = self.idx("token-digest", digest);
        let pointer = match &self.cache {
            Some(c) => c.get_or_load_if(&path, || read_urn_pointer(&path), Option::is_some)?,
            None => read_urn_pointer(&path)?,
        };
        let Some(urn) = pointer else {
            return Ok(None);
        };
        Ok(self.token(&urn)?.filter(|t| t.digest == digest))
    }

    /// Writes a new token's file ahead of the write that stores it (see [`Staged`]), so
    /// that a busy server does this part of the work outside its one writer thread.
    pub fn stage_token(&self, t: &BearerToken) -> Result<Staged> {
        Ok(stage_bytes(&self.root.join("tokens"), to_json(t)?))
    }

    /// A page of bearer tokens in URN order, of one client or of all.
    pub fn tokens(
        &self,
        client: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<BearerToken>, bool)> {
        match client {
            None => self.page_all(after, limit),
            Some(c) => {
                let urns = self.client_token_urns(c)?;
                self.page_of(&urns, after, limit, |s, u| {
                    Ok(s.token(u)?.filter(|t| t.client == c))
                })
            }
        }
    }

    /// The URNs of a client's tokens.
    pub fn client_token_urns(&self, client: &str) -> Result<Vec<String>> {
        self.members("client-tokens", client)
    }

    /// The members of `owner` in a membership index, sorted (hints: check each object).
    fn members(&self, index: &str, owner: &str) -> Result<Vec<String>> {
        let log = members::log_path(&self.root, index, owner);
        self.cached(&log, || members::read(&self.root, index, owner))
    }

    /// A role by URN.
    pub fn role(&self, urn: &str) -> Result<Option<Role>> {
        self.record(urn)
    }

    /// A role by name.
    pub fn role_by_name(&self, name: &str) -> Result<Option<Role>> {
        self.by_pointer("role-name", &sha(name), Store::role, |r| r.name == name)
    }

    /// The role whose name has the confusable skeleton `skel`, if one is indexed under it.
    pub fn role_by_skeleton(&self, skel: &str) -> Result<Option<Role>> {
        self.by_pointer("role-skeleton", &sha(skel), Store::role, |r| {
            skeleton(&r.name) == skel
        })
    }

    /// A page of roles in URN order.
    pub fn roles(&self, after: Option<&str>, limit: usize) -> Result<(Vec<Role>, bool)> {
        self.page_all(after, limit)
    }

    /// The roles that hold `client`.
    pub fn roles_of_client(&self, client: &str) -> Result<Vec<Role>> {
        let mut out = Vec::new();
        for urn in self.members("client-roles", client)? {
            if let Some(r) = self.role(&urn)?
                && r.clients.iter().any(|c| c == client)
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// An OAuth client by id.
    pub fn oauth(&self, id: &str) -> Result<Option<OAuthClient>> {
        self.record(id)
    }

    /// Every OAuth client, in id order.
    pub fn oauth_all(&self) -> Result<Vec<OAuthClient>> {
        Ok(self.page_all(None, usize::MAX)?.0)
    }

    /// One page of the objects `get` finds under the sorted `names`, and whether more follow.
    fn page_of<T: Send>(
        &self,
        names: &[String],
        after: Option<&str>,
        limit: usize,
        get: impl Fn(&Store, &str) -> Result<Option<T>> + Sync,
    ) -> Result<(Vec<T>, bool)> {
        let (keys, more) = page(names, after, limit);
        Ok((self.read_many(&keys, get)?, more))
    }

    /// The objects `get` finds under `keys`, in order; a key whose object vanished
    /// (deleted since it was listed) is skipped.
    fn read_many<T: Send>(
        &self,
        keys: &[String],
        get: impl Fn(&Store, &str) -> Result<Option<T>> + Sync,
    ) -> Result<Vec<T>> {
        // Many keys are read on two threads: the cost is opening and parsing files.
        let read = |keys: &[String]| -> Result<Vec<T>> {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                if let Some(v) = get(self, k)? {
                    out.push(v);
                }
            }
            Ok(out)
        };
        if keys.len() < 128 {
            return read(keys);
        }
        let (a, b) = keys.split_at(keys.len() / 2);
        let (first, second) = std::thread::scope(|scope| {
            let h = scope.spawn(|| read(b));
            (read(a), h.join())
        });
        let mut out = first?;
        out.extend(second.map_err(|_| Error::Internal("a reader thread panicked".into()))??);
        Ok(out)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))
}

/// A new file's content, already written to an unnamed file (O_TMPFILE) in the folder it
/// will be named in, but not synced. It needs no lock: until a writer names it, no reader
/// can see it. Dropped, it is freed at once; if the process dies first, it is an orphan
/// inode, which ext4 frees at its next mount with a journal, or at the next fsck without.
#[derive(Debug)]
pub struct Staged {
    bytes: Vec<u8>,
    /// `None` where O_TMPFILE is not supported, or the write failed: the writer then
    /// writes `bytes` by temp-and-rename.
    file: Option<File>,
}

fn stage_bytes(dir: &Path, bytes: Vec<u8>) -> Staged {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
    let file = rustix::fs::open(dir, flags, Mode::from_raw_mode(0o600))
        .ok()
        .map(File::from)
        // A failed write here is retried by the writer's own path, which reports it.
        .filter(|mut f| f.write_all(&bytes).is_ok());
    Staged { bytes, file }
}

/// Opens `path` for reading and writing, creating it (0600, empty) when missing: for the
/// files that are shared by every process and never replaced (`lock`, `seq`).
fn open_shared(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

fn lock_file(root: &Path) -> Result<File> {
    let path = root.join("lock");
    let file = open_shared(&path)?;
    // flock: released by the kernel when the process dies, so it is never stale.
    lock::lock(&path, file)
}

/// Refuses a store whose directory, or a directory baack makes in it, another user
/// could write (see `private`): one `stat` each, and no walk of any folder.
fn check_private_tree(root: &Path) -> Result<()> {
    check_private_dir(root)?;
    for d in DIRS.iter().chain(&["index", "cache"]) {
        check_private_dir(&root.join(d))?;
    }
    Ok(())
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The store while this process holds its write lock.
#[derive(Debug)]
pub struct Txn<'a> {
    store: &'a Store,
    durability: Durability,
    touched: &'a Touched,
}

/// What a transaction changed: files, and directories whose listing changed.
#[derive(Debug, Default)]
struct Touched(Mutex<Vec<PathBuf>>);

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

impl<'a> Txn<'a> {
    fn new(store: &'a Store, durability: Durability, touched: &'a Touched) -> Txn<'a> {
        Txn {
            store,
            durability,
            touched,
        }
    }

    /// Records a change to `path` for this process's read cache, when it has one: the
    /// file itself and the listing of its directory.
    fn touch(&self, path: &Path) {
        if self.cache.is_some() {
            self.touched.add(path);
            if let Some(dir) = path.parent() {
                self.touched.add(dir);
            }
        }
    }

    /// Removes temp files of writes that died, repairs the indexes after a batch that
    /// died unsynced, and finishes interrupted client deletions.
    fn recover(&self) -> Result<()> {
        if self.meta.format < FORMAT {
            self.upgrade()?;
        }
        let tmp = self.root.join("tmp");
        for name in sorted_names(&tmp)? {
            // Only writers create temp files, and we are the only writer.
            remove_file(&tmp.join(&name))?;
        }
        if self.root.join("dirty").exists() {
            self.repair()?;
            self.remove(&self.root.join("dirty"))?;
        }
        let pending = self.root.join("pending");
        for client in sorted_names(&pending)? {
            self.finish_client_delete(&client)?;
        }
        Ok(())
    }

    /// Brings an older store to this build's format (this process may have opened it
    /// before another upgraded it, so meta.json is read again).
    fn upgrade(&self) -> Result<()> {
        let path = self.root.join("meta.json");
        let mut meta: Meta = read_json(&path)?.ok_or_else(|| Error::StoreCorrupt {
            path: path.clone(),
            reason: "the file is missing".into(),
        })?;
        if meta.format < FORMAT {
            // Formats 2 and 3 only add `seq`, which every write of this build maintains,
            // and tokens without digest index entries, which its readers look for.
            // Format 4's skeleton indexes are built here, once, from the objects; meta.json
            // goes last, so a crash half-way builds them again next time.
            if meta.format < 4 {
                self.build_skeleton_indexes()?;
            }
            meta.format = FORMAT;
            self.put(&path, &meta)?;
        }
        Ok(())
    }

    /// Indexes the skeleton of every clientID and role name (the format 3 to 4 upgrade).
    fn build_skeleton_indexes(&self) -> Result<()> {
        for dir in ["index/client-skeleton", "index/role-skeleton"] {
            mkdir_private(&self.root.join(dir))?;
        }
        for urn in sorted_names(&self.root.join("clients"))? {
            if let Some(c) = self.client(&urn)? {
                self.repair_skeleton("client-skeleton", &c.client_id, &c.urn, |s, u| {
                    Ok(s.client(u)?.map(|o| o.client_id))
                })?;
            }
        }
        for urn in sorted_names(&self.root.join("roles"))? {
            if let Some(r) = self.role(&urn)? {
                self.repair_skeleton("role-skeleton", &r.name, &r.urn, |s, u| {
                    Ok(s.role(u)?.map(|o| o.name))
                })?;
            }
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
    fn repair_skeleton(
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

    fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!(
            "{}.{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn sync_parent(&self, path: &Path) -> Result<()> {
        match self.durability {
            Durability::Each => sync_dir(path.parent().unwrap_or(&self.root)),
            Durability::Batch => Ok(()),
        }
    }

    /// Points the index entry `path` at `urn`, replacing any entry atomically.
    fn put_pointer(&self, path: &Path, urn: &str) -> Result<()> {
        self.touch(path);
        // A new entry (the common case: a new token, a new name) is made in place, as
        // symlink(2) is atomic; only replacing one needs the temp-and-rename dance.
        match std::os::unix::fs::symlink(urn, path) {
            Ok(()) => return self.sync_parent(path),
            Err(e) if e.kind() == IoKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        let tmp = self.tmp_path();
        std::os::unix::fs::symlink(urn, &tmp).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        self.sync_parent(path)
    }

    /// Replaces `path` with `value`'s JSON atomically and durably.
    fn put<T: Serialize>(&self, path: &Path, value: &T) -> Result<()> {
        self.put_bytes(path, to_json(value)?)
    }

    fn put_bytes(&self, path: &Path, bytes: Vec<u8>) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        self.put_staged(path, stage_bytes(dir, bytes))
    }

    /// Names a staged file `path` (see [`Staged`]): durably, or as part of the batch.
    fn put_staged(&self, path: &Path, staged: Staged) -> Result<()> {
        use rustix::fs::{AtFlags, CWD};
        self.touch(path);
        // A new file was written unnamed in its own folder (O_TMPFILE) and is named once
        // whole (linkat): a new object costs one directory entry, where a temp file made
        // in tmp/ and renamed costs two entries and a move. Replacing a file still goes
        // through a name in tmp/ and rename(2), the only atomic replace. A file system
        // without O_TMPFILE, or a system without /proc, takes the temp-and-rename path.
        let Staged { bytes, file } = staged;
        let Some(f) = file else {
            return self.put_bytes_renamed(path, &bytes);
        };
        if self.durability == Durability::Each {
            f.sync_all().map_err(|e| Error::io(path, e))?;
        }
        let unnamed = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
        let link = |to: &Path| rustix::fs::linkat(CWD, &unnamed, CWD, to, AtFlags::SYMLINK_FOLLOW);
        match link(path) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => {
                let tmp = self.tmp_path();
                link(&tmp).map_err(|e| Error::io(&tmp, e.into()))?;
                fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
            }
            Err(_) => return self.put_bytes_renamed(path, &bytes),
        }
        self.sync_parent(path)
    }

    /// [`Txn::put_bytes`] with a temp file made in tmp/ and renamed into place.
    fn put_bytes_renamed(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.tmp_path();
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        if self.durability == Durability::Each {
            f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        drop(f);
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        self.sync_parent(path)
    }

    /// Removes `path` durably; true when it existed.
    fn remove(&self, path: &Path) -> Result<bool> {
        self.touch(path);
        let existed = remove_file(path)?;
        if existed {
            self.sync_parent(path)?;
        }
        Ok(existed)
    }

    /// Lists `member` under `owner` in the membership index `index` (see `members`).
    fn put_member(&self, index: &str, owner: &str, member: &str) -> Result<()> {
        let log = members::log_path(&self.root, index, owner);
        self.touch(&log);
        let sync = self.durability == Durability::Each;
        if members::append(&log, '+', member, sync, true)?.is_some_and(|a| a.created) {
            self.sync_parent(&log)?;
        }
        Ok(())
    }

    fn remove_member(&self, index: &str, owner: &str, member: &str) -> Result<()> {
        let log = members::log_path(&self.root, index, owner);
        // The log is what readers cache, whichever of the two holds the member.
        self.touch(&log);
        let dir = members::legacy_dir(&self.root, index, owner);
        // An emptied legacy folder goes too, so deleted members leave nothing.
        if self.remove(&dir.join(member))? && fs::remove_dir(&dir).is_ok() {
            self.sync_parent(&dir)?;
        }
        let sync = self.durability == Durability::Each;
        // No log, nothing to cancel: the member was in the legacy folder, or nowhere.
        let appended = members::append(&log, '-', member, sync, false)?;
        self.compact_members(index, owner, appended)
    }

    /// Rewrites a membership log with only its members, when a removal says it is time
    /// to look and removals cancel most of its lines.
    fn compact_members(
        &self,
        index: &str,
        owner: &str,
        appended: Option<members::Appended>,
    ) -> Result<()> {
        let log = members::log_path(&self.root, index, owner);
        if appended.is_some_and(|a| a.check) && members::needs_compaction(&log)? {
            let (live, _) = members::read_log(&log)?;
            self.put_bytes(&log, members::compacted(&live))?;
        }
        Ok(())
    }

    /// Removes `owner`'s whole membership index `index`: its log and any legacy folder.
    fn remove_members(&self, index: &str, owner: &str) -> Result<()> {
        let log = members::log_path(&self.root, index, owner);
        self.remove(&log)?;
        let dir = members::legacy_dir(&self.root, index, owner);
        if dir.exists() {
            // (The log, which readers cache the members under, was touched by its removal.)
            self.touch(&dir);
            fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            self.sync_parent(&dir)?;
        }
        Ok(())
    }

    /// Writes a client, moving its name index when `clientID` changed.
    pub fn put_client(&self, c: &ApiClient, old: Option<&ApiClient>) -> Result<()> {
        let renamed = old.is_none_or(|o| o.client_id != c.client_id);
        if renamed {
            self.put_pointer(&self.idx("client-id", &sha(&c.client_id)), &c.urn)?;
            self.put_skeleton(
                "client-skeleton",
                &c.client_id,
                old.map(|o| &*o.client_id),
                &c.urn,
            )?;
        }
        self.put(&self.obj("clients", &c.urn), c)?;
        if let Some(o) = old.filter(|_| renamed) {
            self.remove_pointer("client-id", &o.client_id, &c.urn)?;
            self.remove_skeleton("client-skeleton", &o.client_id, &c.client_id, &c.urn)?;
        }
        Ok(())
    }

    /// Points the skeleton index entry of `name` at `urn`, unless a rename kept the
    /// skeleton (the entry is already this object's, or an older store's look-alike's).
    fn put_skeleton(&self, index: &str, name: &str, old: Option<&str>, urn: &str) -> Result<()> {
        let skel = skeleton(name);
        if old.is_some_and(|o| skeleton(o) == skel) {
            return Ok(());
        }
        self.put_pointer(&self.idx(index, &sha(&skel)), urn)
    }

    /// Removes the skeleton index entry of the old name after a rename that changed it.
    fn remove_skeleton(&self, index: &str, old: &str, new: &str, urn: &str) -> Result<()> {
        let skel = skeleton(old);
        if skel == skeleton(new) {
            return Ok(());
        }
        self.remove_pointer(index, &skel, urn)
    }

    fn remove_pointer(&self, index: &str, name: &str, urn: &str) -> Result<()> {
        let path = self.idx(index, &sha(name));
        if read_pointer(&path)?.as_deref() == Some(urn) {
            self.remove(&path)?;
        }
        Ok(())
    }

    /// Deletes a client, then its tokens and its role memberships. The `pending/` marker
    /// makes the cascade finish even if this process dies half-way.
    pub fn delete_client(&self, c: &ApiClient) -> Result<()> {
        let marker = self.root.join("pending").join(&c.urn);
        self.put_bytes(&marker, b"delete-client".to_vec())?;
        self.remove(&self.obj("clients", &c.urn))?;
        self.remove_pointer("client-id", &c.client_id, &c.urn)?;
        self.remove_pointer("client-skeleton", &skeleton(&c.client_id), &c.urn)?;
        self.finish_client_delete(&c.urn)
    }

    fn finish_client_delete(&self, client: &str) -> Result<()> {
        // The memberships go last and whole: until then a crash leaves them to finish by.
        for t in self.client_token_urns(client)? {
            if let Some(tok) = self.token(&t)?.filter(|tok| tok.client == client) {
                self.delete_token_object(&tok)?;
            }
        }
        for mut role in self.roles_of_client(client)? {
            let old = role.clone();
            role.clients.retain(|c| c != client);
            role.version = role.version.wrapping_add(1);
            self.put_role(&role, Some(&old))?;
        }
        self.remove_members("client-tokens", client)?;
        self.remove_members("client-roles", client)?;
        self.remove(&self.root.join("pending").join(client))?;
        Ok(())
    }

    /// Writes a token with its digest and client indexes.
    pub fn put_token(&self, t: &BearerToken) -> Result<()> {
        self.put_staged_token(t, self.stage_token(t)?)
    }

    /// [`Txn::put_token`], with the token's file staged beforehand by [`Store::stage_token`].
    pub fn put_staged_token(&self, t: &BearerToken, staged: Staged) -> Result<()> {
        self.put_member("client-tokens", &t.client, &t.urn)?;
        if !derived_urn(t) {
            self.put_pointer(&self.idx("token-digest", &t.digest), &t.urn)?;
        }
        self.put_staged(&self.obj("tokens", &t.urn), staged)
    }

    /// Rewrites a token whose indexes are unchanged (a new expiry).
    pub fn update_token(&self, t: &BearerToken) -> Result<()> {
        self.put(&self.obj("tokens", &t.urn), t)
    }

    /// Deletes a token: from that instant it no longer authenticates.
    pub fn delete_token(&self, t: &BearerToken) -> Result<()> {
        self.delete_token_object(t)?;
        self.remove_member("client-tokens", &t.client, &t.urn)
    }

    /// Deletes a token and its digest index entry, leaving its membership.
    fn delete_token_object(&self, t: &BearerToken) -> Result<()> {
        self.remove(&self.obj("tokens", &t.urn))?;
        let digest = self.idx("token-digest", &t.digest);
        if !derived_urn(t) && read_pointer(&digest)?.as_deref() == Some(t.urn.as_str()) {
            self.remove(&digest)?;
        }
        Ok(())
    }

    /// Writes a role with its name and membership indexes.
    pub fn put_role(&self, r: &Role, old: Option<&Role>) -> Result<()> {
        let renamed = old.is_none_or(|o| o.name != r.name);
        if renamed {
            self.put_pointer(&self.idx("role-name", &sha(&r.name)), &r.urn)?;
            self.put_skeleton("role-skeleton", &r.name, old.map(|o| &*o.name), &r.urn)?;
        }
        let before: &[String] = old.map_or(&[], |o| &o.clients);
        for c in r.clients.iter().filter(|c| !before.contains(c)) {
            self.put_member("client-roles", c, &r.urn)?;
        }
        self.put(&self.obj("roles", &r.urn), r)?;
        for c in before.iter().filter(|c| !r.clients.contains(c)) {
            self.remove_member("client-roles", c, &r.urn)?;
        }
        if let Some(o) = old.filter(|_| renamed) {
            self.remove_pointer("role-name", &o.name, &r.urn)?;
            self.remove_skeleton("role-skeleton", &o.name, &r.name, &r.urn)?;
        }
        Ok(())
    }

    /// Deletes a role and its indexes.
    pub fn delete_role(&self, r: &Role) -> Result<()> {
        self.remove(&self.obj("roles", &r.urn))?;
        self.remove_pointer("role-name", &r.name, &r.urn)?;
        self.remove_pointer("role-skeleton", &skeleton(&r.name), &r.urn)?;
        for c in &r.clients {
            self.remove_member("client-roles", c, &r.urn)?;
        }
        Ok(())
    }

    /// Writes an OAuth client.
    pub fn put_oauth(&self, o: &OAuthClient) -> Result<()> {
        self.put(&self.obj("oauth", &o.id), o)
    }

    /// Deletes an OAuth client; true when it existed.
    pub fn delete_oauth(&self, id: &str) -> Result<bool> {
        self.remove(&self.obj("oauth", id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A new store in a temp dir.
    fn fixture() -> (tempfile::TempDir, Bootstrap, Store) {
        let dir = tempfile::tempdir().unwrap();
        let b = Store::init(dir.path(), "Acme").unwrap();
        let s = Store::open(dir.path()).unwrap();
        (dir, b, s)
    }

    fn client(client_id: &str, owner: &str) -> ApiClient {
        ApiClient {
            urn: new_urn(),
            client_id: client_id.into(),
            scope: Scope::Api,
            owner: owner.into(),
        }
    }

    fn token(client: &ApiClient, value: &str) -> BearerToken {
        BearerToken {
            urn: new_urn(),
            client: client.urn.clone(),
            digest: sha(value),
            shown: format!("{value}..."),
            expires: None,
            created: 0,
        }
    }

    #[test]
    fn init_creates_a_private_store_with_root_client_and_token() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        let b = Store::init(&root, "Acme").unwrap();
        let s = Store::open(&root).unwrap();
        assert_eq!(s.company().unwrap().name, "Acme");
        let rc = s.client_by_id("root").unwrap().unwrap();
        assert_eq!(rc.urn, b.root_client.urn);
        let t = s
            .token_by_digest(&secret::digest(&b.token))
            .unwrap()
            .unwrap();
        assert_eq!(t.client, rc.urn);
        let mode = fs::metadata(&root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let mode = fs::metadata(root.join("meta.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            Store::init(&root, "Again"),
            Err(Error::StoreExists { .. })
        ));
        assert_eq!(s.company().unwrap().name, "Acme");
    }

    #[test]
    fn init_refuses_a_foreign_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let e = Store::init(dir.path(), "Acme").unwrap_err();
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert_eq!(fs::read(dir.path().join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn newer_and_corrupt_meta_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path(), "Acme").unwrap();
        let meta = dir.path().join("meta.json");
        fs::write(&meta, br#"{"format": 99}"#).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::StoreTooNew { found: 99, .. })
        ));
        fs::write(&meta, b"{\"format\": 1, \"comp").unwrap();
        let e = Store::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("meta.json"), "{e}");
    }

    #[test]
    fn stale_indexes_are_ignored_and_pages_are_ordered() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path(), "Acme").unwrap();
        let s = Store::open(dir.path()).unwrap();
        // An index left by a crash before its object was written.
        s.write(|t| t.put_pointer(&t.idx("client-id", &sha("ghost")), "0000"))
            .unwrap();
        assert_eq!(s.client_by_id("ghost").unwrap(), None);
        let owner = s.meta().company.clone();
        s.write(|t| {
            for i in 0..5 {
                let c = ApiClient {
                    urn: new_urn(),
                    client_id: format!("c{i}"),
                    scope: Scope::Api,
                    owner: owner.clone(),
                };
                t.put_client(&c, None)?;
            }
            Ok(())
        })
        .unwrap();
        let (first, more) = s.clients(None, 4).unwrap();
        assert!(more);
        let (rest, more) = s.clients(Some(&first[3].urn), 4).unwrap();
        assert!(!more);
        assert_eq!(first.len() + rest.len(), 6);
    }

    #[test]
    fn interrupted_client_delete_is_finished_by_the_next_writer() {
        let (dir, b, s) = fixture();
        let c = client("doomed", &b.company.urn);
        let tok = token(&c, "x");
        s.write(|t| {
            t.put_client(&c, None)?;
            t.put_token(&tok)?;
            // Simulate a crash right after the commit point of a delete.
            t.put_bytes(
                &t.root.join("pending").join(&c.urn),
                b"delete-client".to_vec(),
            )?;
            t.remove(&t.obj("clients", &c.urn))
        })
        .unwrap();
        assert!(s.token(&tok.urn).unwrap().is_some());
        s.write(|_| Ok(())).unwrap();
        assert!(s.token(&tok.urn).unwrap().is_none());
        assert!(s.token_by_digest(&tok.digest).unwrap().is_none());
        assert!(
            sorted_names(&dir.path().join("pending"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_batch_that_died_unsynced_is_repaired_by_the_next_writer() {
        let (dir, b, s) = fixture();
        // A crash mid-batch: the marker is durable, an object landed, its indexes did not.
        let c = client("orphan", &b.company.urn);
        let tok = token(&c, "t");
        fs::write(dir.path().join("dirty"), b"").unwrap();
        fs::write(
            dir.path().join("clients").join(format!("{}.json", c.urn)),
            serde_json::to_vec(&c).unwrap(),
        )
        .unwrap();
        fs::write(
            dir.path().join("tokens").join(format!("{}.json", tok.urn)),
            serde_json::to_vec(&tok).unwrap(),
        )
        .unwrap();
        assert_eq!(s.client_by_id("orphan").unwrap(), None);
        s.write(|_| Ok(())).unwrap();
        assert_eq!(s.client_by_id("orphan").unwrap(), Some(c.clone()));
        assert_eq!(s.token_by_digest(&tok.digest).unwrap(), Some(tok.clone()));
        assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![tok.urn.clone()]);
        assert!(!dir.path().join("dirty").exists());
    }

    #[test]
    fn memberships_are_logs_that_still_read_and_shrink_the_folders_of_old_stores() {
        let (dir, b, s) = fixture();
        let c = client("member", &b.company.urn);
        let (old, new) = (token(&c, "old"), token(&c, "new"));
        s.write(|t| {
            t.put_client(&c, None)?;
            t.put_token(&new)?;
            t.put(&t.obj("tokens", &old.urn), &old)
        })
        .unwrap();
        // A membership as stores before format 3 kept it: an empty file in a folder.
        let legacy = dir.path().join("index/client-tokens").join(&c.urn);
        fs::create_dir(&legacy).unwrap();
        fs::write(legacy.join(&old.urn), b"").unwrap();
        let log = dir
            .path()
            .join(format!("index/client-tokens/{}.log", c.urn));
        assert_eq!(
            fs::read(&log).unwrap(),
            format!("+{}\n", new.urn).as_bytes()
        );
        let mut both = vec![old.urn.clone(), new.urn.clone()];
        both.sort();
        assert_eq!(s.client_token_urns(&c.urn).unwrap(), both);
        assert_eq!(s.tokens(Some(&c.urn), None, 10).unwrap().0.len(), 2);
        // Removing the old member empties and removes its folder.
        s.write(|t| t.delete_token(&old)).unwrap();
        assert!(!legacy.exists());
        assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![new.urn.clone()]);
        // Churn is compacted away: the log stays near what it lists.
        for i in 0..600 {
            let t = token(&c, &format!("churn{i}"));
            s.write(|txn| {
                txn.put_token(&t)?;
                txn.delete_token(&t)
            })
            .unwrap();
        }
        let lines = fs::read(&log)
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        // One member: compaction leaves one line, and a check comes every ~430 appends.
        assert!(lines < 2 + 64 + 430, "{lines} lines for one member");
        assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![new.urn.clone()]);
        // A repair adds what is missing, once.
        fs::remove_file(&log).unwrap();
        fs::write(dir.path().join("dirty"), b"").unwrap();
        s.write(|_| Ok(())).unwrap();
        fs::write(dir.path().join("dirty"), b"").unwrap();
        s.write(|_| Ok(())).unwrap();
        assert_eq!(
            fs::read(&log).unwrap(),
            format!("+{}\n", new.urn).as_bytes()
        );
        // Deleting the client leaves no membership behind.
        s.write(|t| t.delete_client(&c)).unwrap();
        assert!(!log.exists() && !legacy.exists());
    }

    #[test]
    fn group_commit_batches_concurrent_writers_and_loses_none() {
        let dir = tempfile::tempdir().unwrap();
        let b = Store::init(dir.path(), "Acme").unwrap();
        let s = Store::open(dir.path())
            .unwrap()
            .with_group_commit()
            .unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let writes: Vec<_> = (0..320)
            .map(|i| {
                let (s2, owner) = (s.clone(), b.company.urn.clone());
                let c = ApiClient {
                    urn: new_urn(),
                    client_id: format!("c{i}"),
                    scope: Scope::Api,
                    owner,
                };
                let work = move || s2.write(|txn| txn.put_client(&c, None));
                rt.spawn(s.committer().unwrap().submit(work))
            })
            .collect();
        // A write from another thread meanwhile runs at once, under the same lock.
        let other = ApiClient {
            urn: new_urn(),
            client_id: "other".into(),
            scope: Scope::Api,
            owner: b.company.urn.clone(),
        };
        s.write(|txn| txn.put_client(&other, None)).unwrap();
        for w in writes {
            rt.block_on(w).unwrap().unwrap();
        }
        let batches = s.committer().unwrap().state().batches;
        assert!(batches < 320, "{batches} syncs for 320 writes: no batching");
        assert_eq!(s.clients(None, 1000).unwrap().0.len(), 320 + 2);
        // Idle again: the lock and the marker are released for other processes, soon
        // after the last write, or at once when the store is dropped.
        let t = Instant::now();
        while dir.path().join("dirty").exists() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!dir.path().join("dirty").exists());
        let plain = Store::open(dir.path()).unwrap();
        plain.write(|_| Ok(())).unwrap();
        let s2 = s.clone();
        let last = s
            .committer()
            .unwrap()
            .submit(move || s2.write(|txn| txn.put_client(&client("last", &b.company.urn), None)));
        rt.block_on(last).unwrap();
        drop(s);
        assert!(!dir.path().join("dirty").exists());
    }

    #[test]
    fn a_cached_listing_is_dropped_when_the_directory_changes() {
        let dir = tempfile::tempdir().unwrap();
        let b = Store::init(dir.path(), "Acme").unwrap();
        let s = Store::open(dir.path()).unwrap();
        let add = |i: usize| {
            let c = ApiClient {
                urn: new_urn(),
                client_id: format!("c{i}"),
                scope: Scope::Api,
                owner: b.company.urn.clone(),
            };
            s.write_bulk(|t| t.put_client(&c, None)).unwrap();
        };
        for i in 0..LISTING_CACHED_FROM {
            add(i);
        }
        // Make the directory look settled, so its listing is cached.
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        File::open(dir.path().join("clients"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let n = LISTING_CACHED_FROM + 1;
        assert_eq!(s.clients(None, usize::MAX).unwrap().0.len(), n);
        add(9999);
        assert_eq!(s.clients(None, usize::MAX).unwrap().0.len(), n + 1);
    }

    #[test]
    fn unknown_token_digests_do_not_evict_the_read_cache() {
        let (dir, b, _) = fixture();
        let server = Store::open(dir.path()).unwrap().with_read_cache().unwrap();
        let rc = b.root_client.clone();
        let real = secret::digest(&b.token);
        assert_eq!(
            server.token_by_digest(&real).unwrap().unwrap().client,
            rc.urn
        );
        assert_eq!(server.client(&rc.urn).unwrap(), Some(rc.clone()));
        // Change the client's file behind the counter's back: a cached read still shows
        // the old one, so what the cache holds can be told from what the disk holds.
        let path = dir.path().join("clients").join(format!("{}.json", rc.urn));
        let mut edited = rc.clone();
        edited.client_id = "edited".into();
        fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        // More made-up digests than the cache holds entries.
        for i in 0..=cache::MAX_ENTRIES {
            assert!(
                server
                    .token_by_digest(&sha(&format!("bogus{i}")))
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(server.client(&rc.urn).unwrap(), Some(rc));
        assert!(server.token_by_digest(&real).unwrap().is_some());
    }

    #[test]
    fn a_cached_read_never_hides_a_write_by_this_or_another_process() {
        let (dir, b, _) = fixture();
        let server = Store::open(dir.path())
            .unwrap()
            .with_group_commit()
            .unwrap()
            .with_read_cache()
            .unwrap();
        // Another process: its own handle, no cache, no group commit.
        let cli = Store::open(dir.path()).unwrap();
        let rc = b.root_client.clone();
        let digest = sha("tok");
        assert!(server.token_by_digest(&digest).unwrap().is_none());
        assert!(server.client_token_urns(&rc.urn).unwrap().len() == 1);

        // A write by the other process is seen at once, though the misses were cached.
        let t = token(&rc, "tok");
        cli.write(|x| x.put_token(&t)).unwrap();
        assert_eq!(server.token_by_digest(&digest).unwrap(), Some(t.clone()));
        assert_eq!(server.client_token_urns(&rc.urn).unwrap().len(), 2);

        // So is our own, which keeps the rest of the cache.
        let mut renamed = rc.clone();
        renamed.client_id = "root2".into();
        server.write(|x| x.put_client(&renamed, Some(&rc))).unwrap();
        assert_eq!(server.client(&rc.urn).unwrap(), Some(renamed.clone()));
        assert!(server.client_by_id("root").unwrap().is_none());
        assert_eq!(server.client_by_id("root2").unwrap(), Some(renamed));
        server.write(|x| x.delete_token(&t)).unwrap();
        assert!(server.token_by_digest(&digest).unwrap().is_none());
        assert_eq!(server.client_token_urns(&rc.urn).unwrap().len(), 1);

        // A write that changes a file behind the counter's back (as an older build
        // would) is what the format bump keeps out; with the counter moved it is seen.
        let path = dir.path().join("clients").join(format!("{}.json", rc.urn));
        let mut edited = rc.clone();
        edited.client_id = "edited".into();
        fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        cli.write(|_| Ok(())).unwrap();
        assert_eq!(server.client(&rc.urn).unwrap(), Some(edited));
    }

    #[test]
    fn the_first_write_indexes_the_skeletons_of_a_format_3_store() {
        let (dir, b, s) = fixture();
        let android = client("Android", &b.company.urn);
        // Look-alikes that an older build let in side by side: the first stays indexed.
        let cyrillic = client("\u{410}ndroid", &b.company.urn);
        s.write(|t| t.put_client(&android, None)).unwrap();
        s.write(|t| t.put_client(&cyrillic, None)).unwrap();
        let role = Role {
            urn: new_urn(),
            name: "Auditors".into(),
            owner: b.company.urn.clone(),
            identities: vec![],
            clients: vec![],
            permissions: vec![],
            version: 1,
        };
        s.write(|t| t.put_role(&role, None)).unwrap();
        // As a format-3 store has it: no skeleton indexes at all.
        for d in ["index/client-skeleton", "index/role-skeleton"] {
            fs::remove_dir_all(dir.path().join(d)).unwrap();
        }
        let meta = dir.path().join("meta.json");
        let mut m: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
        m.format = 3;
        fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();

        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.client_by_skeleton(&skeleton("Android")).unwrap(), None);
        s.write(|_| Ok(())).unwrap();
        let now: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
        assert_eq!(now.format, FORMAT);
        let found = s.client_by_skeleton(&skeleton("Android")).unwrap().unwrap();
        assert!(found == android || found == cyrillic, "{found:?}");
        assert_eq!(
            s.client_by_skeleton(&skeleton(ROOT_CLIENT_ID))
                .unwrap()
                .map(|c| c.urn),
            Some(b.root_client.urn.clone())
        );
        assert_eq!(
            s.role_by_skeleton(&skeleton("Audit\u{43e}rs")).unwrap(),
            Some(role.clone())
        );

        // A rename moves the entry; a delete removes it.
        let mut renamed = b.root_client.clone();
        renamed.client_id = "admin".into();
        s.write(|t| t.put_client(&renamed, Some(&b.root_client)))
            .unwrap();
        assert_eq!(
            s.client_by_skeleton(&skeleton(ROOT_CLIENT_ID)).unwrap(),
            None
        );
        assert_eq!(
            s.client_by_skeleton(&skeleton("admin")).unwrap(),
            Some(renamed)
        );
        s.write(|t| t.delete_role(&role)).unwrap();
        assert_eq!(s.role_by_skeleton(&skeleton("Auditors")).unwrap(), None);
    }

    #[test]
    fn the_first_write_upgrades_a_format_1_store() {
        let (dir, _, _) = fixture();
        let meta = dir.path().join("meta.json");
        let mut m: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
        m.format = 1;
        fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.meta().format, 1);
        s.write(|_| Ok(())).unwrap();
        let now: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
        assert_eq!(now.format, FORMAT);
        assert_eq!((now.company, now.root_client), (m.company, m.root_client));
        assert!(dir.path().join("seq").exists());
    }

    #[test]
    fn tokens_are_found_by_digest_with_or_without_a_digest_index_entry() {
        let (dir, b, s) = fixture();
        // Index entries are symlinks to bare URNs: they dangle, so `exists` cannot see them.
        let indexed =
            |d: &str| fs::symlink_metadata(dir.path().join("index/token-digest").join(d)).is_ok();
        // Format 3: the URN comes from the digest, and no index entry is made.
        let digest = sha("new");
        let new = BearerToken {
            urn: secret::token_urn(&digest),
            digest,
            ..token(&b.root_client, "new")
        };
        assert!(!indexed(&new.digest) && !indexed(&b.root_token.digest));
        // Before format 3: a random URN, found through the index entry.
        let old = token(&b.root_client, "old");
        s.write(|t| {
            t.put_token(&new)?;
            t.put_token(&old)
        })
        .unwrap();
        assert!(!indexed(&new.digest) && indexed(&old.digest));
        for t in [&new, &old, &b.root_token] {
            assert_eq!(s.token_by_digest(&t.digest).unwrap().as_ref(), Some(t));
        }
        assert_eq!(s.token_by_digest(&sha("neither")).unwrap(), None);
        // A file at a derived URN answers only to its own digest.
        let forged = BearerToken {
            digest: sha("forged"),
            ..new.clone()
        };
        fs::write(
            dir.path().join("tokens").join(format!("{}.json", new.urn)),
            serde_json::to_vec(&forged).unwrap(),
        )
        .unwrap();
        let fresh = Store::open(dir.path()).unwrap();
        assert_eq!(fresh.token_by_digest(&new.digest).unwrap(), None);
        assert_eq!(fresh.token_by_digest(&forged.digest).unwrap(), None);
        s.write(|t| t.delete_token(&old)).unwrap();
        assert!(!indexed(&old.digest));
        assert_eq!(s.token_by_digest(&old.digest).unwrap(), None);
    }

    #[test]
    fn a_snapshot_serves_a_settled_collection_and_never_a_changed_one() {
        let (dir, b, s) = fixture();
        let clients: Vec<ApiClient> = (0..LISTING_CACHED_FROM)
            .map(|i| client(&format!("c{i}"), &b.company.urn))
            .collect();
        s.write_bulk(|t| clients.iter().try_for_each(|c| t.put_client(c, None)))
            .unwrap();
        let settle = || {
            let old = std::time::SystemTime::now() - Duration::from_secs(60);
            let d = File::open(dir.path().join("clients")).unwrap();
            d.set_modified(old).unwrap();
        };
        settle();
        let all = |s: &Store| {
            let (first, more) = s.clients(None, 100).unwrap();
            assert!(more);
            let (rest, more) = s.clients(Some(&first[99].urn), usize::MAX).unwrap();
            assert!(!more);
            first.into_iter().chain(rest).collect::<Vec<_>>()
        };
        let listed = all(&s);
        assert_eq!(listed.len(), LISTING_CACHED_FROM + 1);
        let snap = dir.path().join("cache/clients.json");
        assert!(snap.exists());
        let mode = fs::metadata(&snap).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // Another process reads the same listing from the snapshot, not from the files:
        // an object file garbled in place (no directory change) does not reach it.
        assert_eq!(all(&Store::open(dir.path()).unwrap()), listed);
        let victim = dir.path().join(format!("clients/{}.json", clients[0].urn));
        let good = fs::read(&victim).unwrap();
        fs::write(&victim, b"garbled").unwrap();
        let other = Store::open(dir.path()).unwrap();
        assert!(other.client(&clients[0].urn).is_err());
        assert_eq!(all(&other), listed);
        fs::write(&victim, good).unwrap();

        // A write moves the directory's mtime: neither snapshot (file or memory) is used,
        // before or after the directory settles again.
        let extra = client("extra", &b.company.urn);
        s.write(|t| t.put_client(&extra, None)).unwrap();
        assert!(all(&s).contains(&extra));
        settle();
        assert!(all(&s).contains(&extra));
        assert!(all(&Store::open(dir.path()).unwrap()).contains(&extra));

        // A torn or foreign snapshot is rebuilt, not trusted.
        for junk in [&b"{\"format\":1,"[..], b"[]", b""] {
            fs::write(&snap, junk).unwrap();
            assert_eq!(
                all(&Store::open(dir.path()).unwrap()).len(),
                listed.len() + 1
            );
        }
        // A snapshot naming a record under a key that is not a URN is not trusted.
        let text = fs::read_to_string(&snap).unwrap();
        fs::write(&snap, text.replacen(&extra.urn, "../../meta", 1)).unwrap();
        assert!(all(&Store::open(dir.path()).unwrap()).contains(&extra));
    }

    #[test]
    fn a_record_must_be_the_one_its_file_name_says() {
        let dir = tempfile::tempdir().unwrap();
        let b = Store::init(dir.path(), "Acme").unwrap();
        let s = Store::open(dir.path()).unwrap();
        let tok = &b.root_token;
        let file = dir.path().join("tokens").join(format!("{}.json", tok.urn));
        // A token file copied under another name: deleting "it" would remove the other
        // file and leave this one authenticating; refuse to read it instead.
        let other = new_urn();
        let moved = BearerToken {
            urn: other.clone(),
            ..tok.clone()
        };
        fs::write(&file, serde_json::to_vec(&moved).unwrap()).unwrap();
        let e = s.token(&tok.urn).unwrap_err();
        assert!(matches!(e, Error::StoreCorrupt { .. }), "{e}");
        assert!(s.token_by_digest(&tok.digest).is_err());
        // A reference that is not a URN would become a path outside the store.
        let escaping = BearerToken {
            client: "../../../../tmp".into(),
            ..tok.clone()
        };
        fs::write(&file, serde_json::to_vec(&escaping).unwrap()).unwrap();
        assert!(matches!(s.token(&tok.urn), Err(Error::StoreCorrupt { .. })));
        // An index pointer that is not a URN is a stale hint: ignored.
        let pointer = dir.path().join("index/client-id").join(sha(ROOT_CLIENT_ID));
        fs::remove_file(&pointer).unwrap();
        std::os::unix::fs::symlink("../meta", &pointer).unwrap();
        assert_eq!(s.client_by_id(ROOT_CLIENT_ID).unwrap(), None);
        // meta.json naming a company outside the store is corrupt.
        let meta = Meta {
            company: "../clients/x".into(),
            ..s.meta().clone()
        };
        fs::write(
            dir.path().join("meta.json"),
            serde_json::to_vec(&meta).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::StoreCorrupt { .. })
        ));
    }
}
