//! The store's write lock: an exclusive `flock` on `lock`, waited for at most the lock
//! timeout (10 s unless [`set_lock_timeout`] says otherwise), then refused naming the
//! holder's PID when the kernel tells it.
//!
//! The uncontended path is one non-blocking `flock`. Only when that finds the lock taken
//! does a waiter thread make a blocking `flock`, so the kernel wakes us the moment the
//! lock is free: polling instead would lose every race against `baack serve`'s committer,
//! which takes the lock again microseconds after it lets go. A waiter given up on keeps
//! waiting, and lets go of the lock as soon as it gets it; at most [`MAX_WAITERS`] of them
//! exist at once, past which a wait polls with backoff.

use std::cell::Cell;
use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a writer waits for the lock unless told otherwise.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

static TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_LOCK_TIMEOUT.as_millis() as u64);

/// Waiter threads alive now (see the module docs).
static WAITERS: AtomicUsize = AtomicUsize::new(0);
const MAX_WAITERS: usize = 4;

/// The longest pause between two tries of a polling wait.
const MAX_POLL: Duration = Duration::from_millis(50);

thread_local! {
    /// The latest moment the write running on this thread may still wait until: a
    /// server write's wait counts from when its request was queued, so writes queued
    /// behind a held lock all fail by the timeout, not one timeout after another.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets how long every writer of this process waits for a store's lock (to the
/// millisecond); zero means one try.
pub fn set_lock_timeout(timeout: Duration) {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

/// How long a writer waits for a store's lock.
pub(super) fn lock_timeout() -> Duration {
    Duration::from_millis(TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Runs `f` with lock waits on this thread ending by `deadline` at the latest.
pub(super) fn with_deadline<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.set(self.0);
        }
    }
    let _restore = Restore(DEADLINE.replace(Some(deadline)));
    f()
}

/// Locks `file` (the store's `lock`, at `path`) exclusively, waiting at most the lock
/// timeout.
pub(super) fn lock(path: &Path, file: File) -> Result<File> {
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
    }
    let timeout = lock_timeout();
    let mut deadline = Instant::now() + timeout;
    if let Some(d) = DEADLINE.get() {
        deadline = deadline.min(d);
    }
    let got = match spawn_waiter(&file) {
        Some(rx) => {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(locked)) => return Ok(locked),
                Ok(Err(e)) => return Err(Error::io(path, e)),
                Err(_) => false,
            }
        }
        None => poll(&file, deadline).map_err(|e| Error::io(path, e))?,
    };
    if got {
        return Ok(file);
    }
    Err(Error::LockTimeout {
        path: path.to_path_buf(),
        waited: timeout,
        holder: holder(&file),
    })
}

/// Starts a thread that takes the lock on a duplicate of `file` (the same open file, so
/// the same lock) and sends it back; `None` when there are too many or one cannot start.
fn spawn_waiter(file: &File) -> Option<mpsc::Receiver<std::io::Result<File>>> {
    if WAITERS.fetch_add(1, Ordering::AcqRel) >= MAX_WAITERS {
        WAITERS.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = file.try_clone().ok().and_then(|dup| {
        std::thread::Builder::new()
            .name("baack-lock".into())
            .spawn(move || {
                let r = dup.lock().map(|()| dup);
                // Given up on: the receiver is gone, and dropping the file lets go.
                let _ = tx.send(r);
                WAITERS.fetch_sub(1, Ordering::AcqRel);
            })
            .ok()
    });
    if spawned.is_none() {
        WAITERS.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    Some(rx)
}

/// Tries the lock with growing pauses until `deadline`; true when it was taken.
fn poll(file: &File, deadline: Instant) -> std::io::Result<bool> {
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// The PID holding the flock on `file`, from `/proc/locks`, when the kernel says.
fn holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&locks, meta.dev(), meta.ino())
}

/// The holder of a flock on the file `(dev, ino)` in the text of `/proc/locks`, whose
/// lines read `1: FLOCK  ADVISORY  WRITE 4242 fd:01:123456 0 EOF` (device numbers in hex;
/// a waiter's line has `->` before `FLOCK`).
fn holder_in(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    // Linux's encoding of a dev_t (see `makedev`).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let want = format!("{major:02x}:{minor:02x}:{ino}");
    locks.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [_, "FLOCK", _, _, pid, file, ..] if *file == want => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_read_from_proc_locks_and_waiters_are_skipped() {
        let text = "1: POSIX  ADVISORY  WRITE 77 fd:01:99 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 4242 fd:01:99 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 5151 fd:01:99 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 6161 fd:01:100 0 EOF\n";
        let dev = (0xfd << 8) | 0x01;
        assert_eq!(holder_in(text, dev, 99), Some(4242));
        assert_eq!(holder_in(text, dev, 100), Some(6161));
        assert_eq!(holder_in(text, dev, 101), None);
        assert_eq!(holder_in(text, 0x0801, 99), None);
        let waiting_only = "2: -> FLOCK  ADVISORY  WRITE 5151 fd:01:99 0 EOF\n";
        assert_eq!(holder_in(waiting_only, dev, 99), None);
    }

    #[test]
    fn a_held_lock_is_waited_for_then_refused_naming_the_file_and_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap()
        };
        let held = open();
        held.lock().unwrap();
        // This thread's deadline is in 50 ms, well inside the 10 s default.
        let start = Instant::now();
        let e =
            with_deadline(start + Duration::from_millis(50), || lock(&path, open())).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        let Error::LockTimeout {
            path: p, holder, ..
        } = &e
        else {
            panic!("{e}");
        };
        assert_eq!(p, &path);
        // Where /proc/locks is readable, the holder is this very process.
        if std::path::Path::new("/proc/locks").exists() {
            assert_eq!(*holder, Some(std::process::id()), "{e}");
        }
        assert!(e.to_string().contains(&path.display().to_string()));
        // Released while a writer waits: it gets the lock, without polling's delays.
        let waiter = std::thread::spawn({
            let path = path.clone();
            let file = open();
            move || lock(&path, file).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        waiter.join().unwrap().unwrap();
        // Polling, too, takes a lock that frees up before its deadline.
        let held = open();
        held.lock().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
        });
        assert!(poll(&open(), Instant::now() + Duration::from_secs(5)).unwrap());
        t.join().unwrap();
    }
}
