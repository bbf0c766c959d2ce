//! The signing keys of OAuth access tokens, one 0600 file each under `keys/`: the
//! newest unretired one signs, and every key verifies until the tokens it signed have
//! all expired (a year, the longest `accessTokenValiditySeconds`), when it is deleted.

use super::files::{mkdir_private, read_json};
use super::listings::sorted_names;
use super::{Store, Txn};
use crate::clock::Millis;
use crate::error::Result;
use crate::jwt::SigningKey;
use crate::model::MAX_VALIDITY;

impl Store {
    /// Every signing key, oldest first.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let dir = self.root.join("keys");
        let mut keys = Vec::new();
        for name in sorted_names(&dir)? {
            if let Some(k) = read_json::<SigningKey>(&dir.join(format!("{name}.json")))? {
                keys.push(k);
            }
        }
        keys.sort_by_key(|k| k.created);
        Ok(keys)
    }
}

impl Txn<'_> {
    /// Writes a signing key.
    pub fn put_signing_key(&self, k: &SigningKey) -> Result<()> {
        // Made here too, not only by `init` and the upgrade: a store made at format 5
        // before `keys/` joined it has none (the first key is rare; one mkdir is cheap).
        mkdir_private(&self.root.join("keys"))?;
        self.put(&self.obj("keys", &k.kid), k)
    }

    /// Deletes the keys retired long enough ago that no token they signed still works.
    pub fn prune_signing_keys(&self, now: Millis) -> Result<()> {
        for k in self.signing_keys()? {
            if k.retired
                .is_some_and(|r| now.saturating_sub(r) > MAX_VALIDITY * 1000)
            {
                self.remove(&self.obj("keys", &k.kid))?;
            }
        }
        Ok(())
    }
}
