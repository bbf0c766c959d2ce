//! Group commit for a long-lived process: one committer thread runs every write, unsynced,
//! and one syncer thread makes each batch durable with one `syncfs` before any write in it
//! is answered.
//!
//! Why threads and channels rather than writers taking turns under a mutex: with 32
//! connections writing, the turn-taking design spent a third of the server's CPU in futex
//! calls and scheduler wake-ups (15.5 futex calls per request), as every writer slept and
//! woke on condition variables around every batch. Here a request costs one channel send
//! to the committer and one wake-up of its task when its batch is durable, and the
//! committer runs the next batch while the syncer flushes the last one.
//!
//! The committer holds the store's write lock while writes keep coming; it lets go after
//! [`LINGER`] without work, or after [`FAIR_HOLD`] of continuous work so that other
//! processes (CLI writers) get their turn. Before letting go it waits until everything it
//! ran is durable, then removes the `dirty` marker.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long the committer keeps the write lock with nothing to do. Clients of a busy server
/// send their next write within microseconds of their answer; keeping the lock over that
/// gap saves taking it again (the lock, a sweep for crash leftovers, a durable `dirty`
/// marker) for every batch.
const LINGER: Duration = Duration::from_millis(5);

/// How long the committer may keep the write lock under continuous load before it lets
/// other processes (CLI writers) have a turn.
const FAIR_HOLD: Duration = Duration::from_millis(20);

/// The most writes run before their batch is handed to the syncer.
const MAX_BATCH: usize = 256;

/// Answers a request once its batch has been synced: with the sync's failure, if any.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;
/// A request's whole work, run on the committer thread.
type Job = Box<dyn FnOnce() -> Reply + Send>;

/// What the committer thread shares with writes that run on other threads.
#[derive(Debug, Default)]
pub(super) struct CommitState {
    /// The write lock, held across batches while writes keep coming, and since when.
    pub(super) lock: Option<(File, Instant)>,
    /// Unsynced writes have run since the last batch was handed to the syncer.
    pub(super) wrote: bool,
    /// Batches handed to the syncer so far.
    pub(super) batches: u64,
}

/// A batch of answers waiting for one sync, or a request to be told when all before it
/// are durable.
struct Batch {
    wrote: bool,
    replies: Vec<Reply>,
    /// Sent whether every sync since the last such request succeeded.
    done: Option<Sender<bool>>,
}

/// The committer of one store (see the module docs).
#[derive(Debug)]
pub struct Committer {
    root: Arc<Path>,
    state: Arc<Mutex<CommitState>>,
    jobs: Mutex<Option<Sender<Job>>>,
    thread: ThreadId,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Starts the committer and syncer threads of the store at `root`.
    pub(super) fn start(root: &Path) -> Result<Committer> {
        let root: Arc<Path> = Arc::from(root);
        let state = Arc::new(Mutex::new(CommitState::default()));
        let (jobs, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("baack-commit".into())
            .spawn({
                let (root, state) = (root.to_path_buf(), state.clone());
                move || commit_loop(&root, &state, &rx)
            })
            .map_err(|e| Error::Internal(format!("cannot start the committer thread: {e}")))?;
        Ok(Committer {
            root,
            state,
            thread: handle.thread().id(),
            jobs: Mutex::new(Some(jobs)),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// Whether the caller is the committer thread, where writes join the open batch.
    pub(super) fn is_current(&self) -> bool {
        std::thread::current().id() == self.thread
    }

    pub(super) fn state(&self) -> MutexGuard<'_, CommitState> {
        guard(&self.state)
    }

    /// Runs `work` on the committer thread, where every store write it makes joins the
    /// open batch; resolves once that batch is durable. `work` should hold every read a
    /// request's writes depend on (authentication, checks) as well as the writes, so that
    /// nothing else runs in between. Work that reads nothing shared, such as staging a
    /// new file (see `Staged`), belongs before the submit, off this one thread.
    pub fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let root = self.root.clone();
        // The lock timeout counts from now: a write queued behind others that waited for
        // a held lock must not wait a whole timeout more of its own.
        let deadline = Instant::now() + super::lock::lock_timeout();
        let job: Job = Box::new(move || {
            // A bug in one request must not stop every later write (in builds that unwind).
            let result =
                super::lock::with_deadline(deadline, || catch_unwind(AssertUnwindSafe(work)))
                    .unwrap_or_else(|_| Err(Error::Internal("a write panicked".into())));
            Box::new(move |failed: Option<&str>| {
                let result = match (result, failed) {
                    (Ok(_), Some(why)) => Err(Error::io(
                        &*root,
                        std::io::Error::other(format!("the batch could not be synced: {why}")),
                    )),
                    (r, _) => r,
                };
                // The request may have gone (its client hung up): nothing to tell.
                let _ = tx.send(result);
            })
        });
        let sent = match &*self.jobs.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        async move {
            if !sent {
                return Err(Error::Internal("the committer has stopped".into()));
            }
            rx.await
                .map_err(|_| Error::Internal("the committer stopped mid-write".into()))?
        }
    }
}

impl Committer {
    /// Runs what was sent, waits until it is durable, releases the write lock and the
    /// `dirty` marker, and stops; later writes fail. A process must call this before it
    /// exits: exiting while the committer keeps the lock (see `LINGER`) would leave the
    /// marker, and make the next writer repair every index.
    pub fn stop(&self) {
        // Closing the channel stops the committer once it has run what was sent.
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The committer itself may drop the last handle on the store, in a job: it stops
        // on its own, as the channel is closed, and cannot wait for itself.
        if let Some(h) = handle
            && !self.is_current()
        {
            let _ = h.join();
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn guard(state: &Mutex<CommitState>) -> MutexGuard<'_, CommitState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn commit_loop(root: &Path, state: &Mutex<CommitState>, jobs: &Receiver<Job>) {
    let (to_syncer, batches) = mpsc::channel::<Batch>();
    let syncer = std::thread::Builder::new()
        .name("baack-sync".into())
        .spawn({
            let root = root.to_path_buf();
            move || sync_loop(&root, &batches)
        });
    let Ok(syncer) = syncer else {
        // Without a syncer no write could be answered: refuse them all.
        while let Ok(job) = jobs.recv() {
            job()(Some("the sync thread could not start"));
        }
        return;
    };
    loop {
        let held_since = guard(state).lock.as_ref().map(|(_, since)| *since);
        let next = match held_since {
            None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) if t.elapsed() < FAIR_HOLD => jobs.recv_timeout(LINGER),
            Some(_) => Err(RecvTimeoutError::Timeout),
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                release(root, state, &to_syncer);
                // Let a process waiting for the lock take it before we ask again.
                std::thread::yield_now();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut replies = vec![job()];
        while replies.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => replies.push(job()),
                Err(_) => break,
            }
        }
        let wrote = {
            let mut s = guard(state);
            s.batches += 1;
            std::mem::take(&mut s.wrote)
        };
        let batch = Batch {
            wrote,
            replies,
            done: None,
        };
        if let Err(mpsc::SendError(batch)) = to_syncer.send(batch) {
            for reply in batch.replies {
                reply(Some("the sync thread has stopped"));
            }
        }
    }
    release(root, state, &to_syncer);
    drop(to_syncer);
    let _ = syncer.join();
}

/// Lets go of the write lock once everything run under it is durable.
fn release(root: &Path, state: &Mutex<CommitState>, to_syncer: &Sender<Batch>) {
    if guard(state).lock.is_none() {
        return;
    }
    let (tx, rx) = mpsc::channel();
    let wrote = std::mem::take(&mut guard(state).wrote);
    let durable = to_syncer
        .send(Batch {
            wrote,
            replies: Vec::new(),
            done: Some(tx),
        })
        .is_ok()
        && rx.recv().unwrap_or(false);
    let mut s = guard(state);
    // After a failed sync the marker stays, so that the next writer repairs the indexes.
    if durable {
        super::txn::end_batch(root);
    }
    s.lock = None;
}

fn sync_loop(root: &Path, batches: &Receiver<Batch>) {
    let mut all_durable = true;
    while let Ok(first) = batches.recv() {
        // Everything handed over before this sync starts is covered by it.
        let mut ready = vec![first];
        while let Ok(b) = batches.try_recv() {
            ready.push(b);
        }
        let result = if ready.iter().any(|b| b.wrote) {
            super::files::sync_all(root).map_err(|e| e.to_string())
        } else {
            Ok(())
        };
        all_durable &= result.is_ok();
        let failed = result.as_ref().err().map(String::as_str);
        for b in ready {
            for reply in b.replies {
                reply(failed);
            }
            if let Some(done) = b.done {
                let _ = done.send(all_durable);
                all_durable = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed sync answers every write of its batch with the failure, and tells a
    /// waiting release not to remove `dirty`; a batch that wrote nothing is answered
    /// without a sync, as durable.
    #[test]
    fn a_failed_sync_fails_its_writes_and_keeps_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("vanished");
        let (to_syncer, batches) = mpsc::channel();
        let (said, heard) = mpsc::channel::<Option<String>>();
        let reply = |said: &Sender<Option<String>>| -> Reply {
            let said = said.clone();
            Box::new(move |failed| said.send(failed.map(str::to_string)).unwrap())
        };
        let (done, durable) = mpsc::channel();
        to_syncer
            .send(Batch {
                wrote: true,
                replies: vec![reply(&said), reply(&said)],
                done: Some(done),
            })
            .unwrap();
        let (done2, durable2) = mpsc::channel();
        drop(to_syncer);
        sync_loop(&gone, &batches);
        for _ in 0..2 {
            assert!(heard.recv().unwrap().is_some(), "a write was acknowledged");
        }
        assert!(
            !durable.recv().unwrap(),
            "the marker would have been removed"
        );
        // A batch that wrote nothing needs no sync, and succeeds.
        let (to_syncer, batches) = mpsc::channel();
        to_syncer
            .send(Batch {
                wrote: false,
                replies: vec![reply(&said)],
                done: Some(done2),
            })
            .unwrap();
        drop(to_syncer);
        sync_loop(&gone, &batches);
        assert_eq!(heard.recv().unwrap(), None);
        assert!(durable2.recv().unwrap());
    }
}
