//! Writes of each kind of object with its index entries, in the order that keeps the
//! indexes hints (written before the object they point to, removed after it).

use std::fs;

use super::files::{Staged, read_pointer, stage_bytes, to_json};
use super::layout::{derived_urn, sha};
use super::txn::Durability;
use super::{Store, Txn, members};
use crate::error::{Error, Result};
use crate::model::{ApiClient, BearerToken, OAuthClient, Role, skeleton};

impl Store {
    /// Writes a new token's file ahead of the write that stores it (see [`Staged`]), so
    /// that a busy server does this part of the work outside its one writer thread.
    pub fn stage_token(&self, t: &BearerToken) -> Result<Staged> {
        Ok(stage_bytes(&self.root.join("tokens"), to_json(t)?))
    }
}

impl Txn<'_> {
    /// Lists `member` under `owner` in the membership index `index` (see `members`).
    pub(super) fn put_member(&self, index: &str, owner: &str, member: &str) -> Result<()> {
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

    pub(super) fn finish_client_delete(&self, client: &str) -> Result<()> {
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
