//! The local name map: for a server that cannot search by name (no list endpoints), the
//! URNs of the API clients and roles this `baack` created or read there, by name, per
//! profile (per URL without one), in `names.toml` of the config directory. Names and URNs
//! only, never a secret. A name found here is always read back by its URN before use, so
//! a stale entry is found out, not acted on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{config_dir, read_toml, write_private};

/// The file, in the config directory.
const FILE: &str = "names.toml";

/// One server's names: kind (`apiclient`, `permissionrole`) to name to URN.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Server {
    url: String,
    #[serde(default)]
    kinds: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Map {
    #[serde(default)]
    servers: BTreeMap<String, Server>,
}

/// Where names are kept: a profile, or a URL used without one.
#[derive(Debug, Clone)]
pub struct Scope {
    key: String,
    url: String,
}

impl Scope {
    /// The scope of `profile` at `url`.
    pub fn new(profile: Option<&str>, url: &str) -> Scope {
        let key = match profile {
            Some(p) => format!("profile {p}"),
            None => format!("url {url}"),
        };
        Scope {
            key,
            url: url.to_string(),
        }
    }

    /// The URN remembered for `name` of `kind`.
    pub fn lookup(&self, kind: &str, name: &str) -> Option<String> {
        let mut map = load();
        let server = map
            .servers
            .remove(&self.key)
            .filter(|s| s.url == self.url)?;
        server.kinds.get(kind)?.get(name).cloned()
    }

    /// Remembers that `name` of `kind` is `urn` (and forgets any other name for it).
    pub fn remember(&self, kind: &str, name: &str, urn: &str) {
        self.change(
            |names| {
                if names.get(name).map(String::as_str) == Some(urn) {
                    return false;
                }
                names.retain(|_, u| u != urn);
                names.insert(name.to_string(), urn.to_string());
                true
            },
            kind,
        );
    }

    /// Forgets the object `urn` of `kind`.
    pub fn forget(&self, kind: &str, urn: &str) {
        self.change(
            |names| {
                let before = names.len();
                names.retain(|_, u| u != urn);
                names.len() != before
            },
            kind,
        );
    }

    fn change(&self, f: impl FnOnce(&mut BTreeMap<String, String>) -> bool, kind: &str) {
        let Some(dir) = config_dir() else { return };
        // A map is no reason to create a config directory.
        if !dir.is_dir() {
            return;
        }
        let mut map = load();
        let server = map.servers.entry(self.key.clone()).or_default();
        if server.url != self.url {
            // The profile points elsewhere now: what it knew is of another server.
            *server = Server {
                url: self.url.clone(),
                kinds: BTreeMap::new(),
            };
        }
        if !f(server.kinds.entry(kind.to_string()).or_default()) {
            return;
        }
        if let Ok(text) = toml::to_string_pretty(&map) {
            let _ = write_private(&dir.join(FILE), text.as_bytes());
        }
    }
}

fn load() -> Map {
    config_dir()
        .and_then(|d| read_toml(&d.join(FILE)).ok())
        .unwrap_or_default()
}
