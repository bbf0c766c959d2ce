//! File I/O: reading JSON files and index pointers, and writing them the one way every
//! store file is written (staged unnamed or in tmp/, synced, then named or renamed).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Txn;
use super::layout::is_urn;
use super::txn::Durability;
use crate::error::{Error, Result};

pub(super) fn mkdir_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(path, e))
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Reads a JSON file; `None` when it does not exist, an error naming it when it is not
/// what this build wrote.
pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
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

pub(super) fn read_pointer(path: &Path) -> Result<Option<String>> {
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

/// An index pointer's target, when it is a URN; anything else is a stale hint (only this
/// build writes pointers, and it writes URNs), and a stale hint is ignored.
pub(super) fn read_urn_pointer(path: &Path) -> Result<Option<String>> {
    Ok(read_pointer(path)?.filter(|u| is_urn(u)))
}

/// Flushes everything written under `root` to the disk, in one call.
pub(super) fn sync_all(root: &Path) -> Result<()> {
    let dir = File::open(root).map_err(|e| Error::io(root, e))?;
    rustix::fs::syncfs(&dir).map_err(|e| Error::io(root, e.into()))
}

pub(super) fn remove_file(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == IoKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))
}

/// A new file's content, already written to an unnamed file (O_TMPFILE) in the folder it
/// will be named in, but not synced. It needs no lock: until a writer names it, no reader
/// can see it. Dropped, or its process killed (the kernel closes the file), it is freed
/// at once; if the system crashes first, it is an orphan inode, which ext4 frees at its
/// next mount with a journal, or at the next fsck without.
#[derive(Debug)]
pub struct Staged {
    bytes: Vec<u8>,
    /// `None` where O_TMPFILE is not supported, or the write failed: the writer then
    /// writes `bytes` by temp-and-rename.
    file: Option<File>,
}

pub(super) fn stage_bytes(dir: &Path, bytes: Vec<u8>) -> Staged {
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
pub(super) fn open_shared(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

pub(super) static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl Txn<'_> {
    fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!(
            "{}.{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ))
    }

    pub(super) fn sync_parent(&self, path: &Path) -> Result<()> {
        match self.durability {
            Durability::Each => sync_dir(path.parent().unwrap_or(&self.root)),
            Durability::Batch => Ok(()),
        }
    }

    /// Points the index entry `path` at `urn`, replacing any entry atomically.
    pub(super) fn put_pointer(&self, path: &Path, urn: &str) -> Result<()> {
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
    pub(super) fn put<T: Serialize>(&self, path: &Path, value: &T) -> Result<()> {
        self.put_bytes(path, to_json(value)?)
    }

    pub(super) fn put_bytes(&self, path: &Path, bytes: Vec<u8>) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        self.put_staged(path, stage_bytes(dir, bytes))
    }

    /// Names a staged file `path` (see [`Staged`]): durably, or as part of the batch.
    pub(super) fn put_staged(&self, path: &Path, staged: Staged) -> Result<()> {
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
    pub(super) fn remove(&self, path: &Path) -> Result<bool> {
        self.touch(path);
        let existed = remove_file(path)?;
        if existed {
            self.sync_parent(path)?;
        }
        Ok(existed)
    }
}
