//! What a manifest owns: a small JSON state file of names and ids (never a secret), the
//! only ground on which `apply --prune` deletes anything. An object is owned when the
//! state names it with the id the server still has for it: a lost state owns nothing, and
//! a stale one (an id the server no longer has, or has for another object) owns nothing
//! of what it got wrong. It is rewritten whole, atomically (a temporary file, synced,
//! renamed), so a kill leaves the old state or the new, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The state file's format.
pub const VERSION: u32 = 1;

/// The kinds of object a manifest manages, in the order apply makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// An API client, named by its `clientID`.
    Client,
    /// A permission role, by its name.
    Role,
    /// An OAuth client, by its name.
    OauthClient,
    /// A bearer token of a policy, by `client/description`.
    Token,
}

impl Kind {
    /// How plans name it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Role => "role",
            Kind::OauthClient => "oauth client",
            Kind::Token => "token",
        }
    }
}

/// One owned object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owned {
    /// Its URN (or OAuth client id).
    pub id: String,
    /// Whether apply found it made already and took it over, rather than made it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

/// A creation under way: a kill between the create and the state's save leaves an
/// object the state does not name; the next apply knows it by this (its name, and made
/// at or after `since`) and removes it before making it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// What kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// When the create was begun (Unix milliseconds).
    pub since: i64,
}

/// The state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The format.
    pub version: u32,
    /// Owned objects by kind, then name.
    pub owned: BTreeMap<Kind, BTreeMap<String, Owned>>,
    /// Creations begun and not yet recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

impl State {
    /// The state at `path`, or an empty one when there is no file.
    pub fn load(path: &Path) -> Result<State> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: VERSION,
                    ..State::default()
                });
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "cannot read the state file {}: {e}",
                    path.display()
                )));
            }
        };
        let s: State = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "the state file {} is not a baack state ({e}); move it aside to start over: nothing is owned then, so --prune deletes nothing",
                path.display()
            ))
        })?;
        if s.version > VERSION {
            return Err(Error::Usage(format!(
                "the state file {} was written by a newer baack (format {}); upgrade baack",
                path.display(),
                s.version
            )));
        }
        Ok(s)
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let io = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot write the state file {}: {e}",
                path.display()
            ))
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        tmp.write_all(&text).map_err(io)?;
        tmp.write_all(b"\n").map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// The owned object of `kind` called `name`.
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Owned> {
        self.owned.get(&kind).and_then(|m| m.get(name))
    }

    /// Records `name` as owned with `id`.
    pub fn own(&mut self, kind: Kind, name: &str, id: &str, adopted: bool) {
        self.owned.entry(kind).or_default().insert(
            name.to_string(),
            Owned {
                id: id.to_string(),
                adopted,
            },
        );
        self.pending.retain(|p| !(p.kind == kind && p.name == name));
    }

    /// Forgets `name`.
    pub fn forget(&mut self, kind: Kind, name: &str) {
        if let Some(m) = self.owned.get_mut(&kind) {
            m.remove(name);
        }
    }

    /// Notes a creation about to begin.
    pub fn begin(&mut self, kind: Kind, name: &str, since: i64) {
        self.pending.retain(|p| !(p.kind == kind && p.name == name));
        self.pending.push(Pending {
            kind,
            name: name.to_string(),
            since,
        });
    }

    /// The creation of `name` begun and not recorded, if any.
    pub fn pending(&self, kind: Kind, name: &str) -> Option<&Pending> {
        self.pending
            .iter()
            .find(|p| p.kind == kind && p.name == name)
    }

    /// Every owned object, by kind.
    pub fn all(&self) -> impl Iterator<Item = (Kind, &String, &Owned)> {
        self.owned
            .iter()
            .flat_map(|(k, m)| m.iter().map(move |(n, o)| (*k, n, o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_a_missing_one_owns_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let mut s = State::load(&p).unwrap();
        assert!(s.all().next().is_none());
        s.begin(Kind::Token, "ci", 5);
        s.own(Kind::Client, "ci", "u1", false);
        s.own(Kind::Role, "r", "u2", true);
        s.save(&p).unwrap();
        let back = State::load(&p).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.pending(Kind::Token, "ci").unwrap().since, 5);
        s.own(Kind::Token, "ci", "u3", false);
        assert!(s.pending(Kind::Token, "ci").is_none());
        std::fs::write(&p, "{").unwrap();
        assert!(
            State::load(&p)
                .unwrap_err()
                .to_string()
                .contains("move it aside")
        );
    }
}
