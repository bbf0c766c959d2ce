//! Reads of one object: by URN or id, and through an index entry (a name, a skeleton,
//! a token's digest), each checked against the object it finds.

use std::path::Path;

use super::Store;
use super::files::{read_json, read_urn_pointer};
use super::layout::{check_record, sha};
use super::snapshot::Record;
use crate::error::{Error, Result};
use crate::model::{ApiClient, BearerToken, Company, OAuthClient, Role, skeleton};
use crate::secret;

impl Store {
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
    pub(super) fn record<T: Record>(&self, key: &str) -> Result<Option<T>> {
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

    /// An OAuth client by id.
    pub fn oauth(&self, id: &str) -> Result<Option<OAuthClient>> {
        self.record(id)
    }
}
