//! Listings: sorted directory names (cached while a big directory is unchanged), pages
//! of a collection or of a client's memberships, and reading many objects at once.

use std::fs;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::snapshot::Record;
use super::{Store, members};
use crate::error::{Error, Result};
use crate::model::{ApiClient, BearerToken, OAuthClient, Role};

/// Sorted listings of big directories, kept while the directory's mtime says it has not
/// changed. Only listings of a directory untouched for a while are kept: mtimes tick
/// coarsely, so a change in the same tick as the listing could otherwise go unseen.
#[derive(Debug, Default)]
pub(super) struct ListingCache(Mutex<std::collections::HashMap<PathBuf, Listing>>);

/// A directory's mtime when listed, and its sorted names.
type Listing = (std::time::SystemTime, Arc<Vec<String>>);

const LISTING_SETTLED: Duration = Duration::from_secs(2);

/// Whether a directory's `mtime` is old enough to stand for its contents: a change in
/// the same clock tick would leave it equal.
pub(super) fn settled(mtime: std::time::SystemTime) -> bool {
    mtime.elapsed().is_ok_and(|age| age > LISTING_SETTLED)
}
pub(super) const LISTING_CACHED_FROM: usize = 256;

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
pub(super) fn sorted_names(dir: &Path) -> Result<Vec<String>> {
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

    /// A page of API clients in URN order.
    pub fn clients(&self, after: Option<&str>, limit: usize) -> Result<(Vec<ApiClient>, bool)> {
        self.page_all(after, limit)
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
    pub(super) fn read_many<T: Send>(
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
