//! What a remote server offers of API.md's additions (the list endpoints and
//! `clientcontext`, which a real Baack deployment may lack), probed once and remembered per
//! profile for a few minutes in `capabilities.toml` of the config directory, so that a
//! Tab press or a script's loop does not ask again each time. Only a cache: it is never a
//! secret, and failing to read or write it changes nothing but the speed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{config_dir, read_toml, write_private};

/// How long a probe's answer is trusted: short, since a deployment may be upgraded.
pub const TTL: Duration = Duration::from_secs(300);

/// The file, in the config directory.
const FILE: &str = "capabilities.toml";

/// What was learnt of one server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Known {
    /// The API URL it was learnt of: a profile pointed elsewhere since knows nothing.
    pub url: String,
    /// When, in seconds since 1970.
    pub checked: i64,
    /// Whether the server has the additions.
    pub additions: bool,
    /// The request and answer it was learnt from: `GET /n/v1/clientcontext answered 404`.
    pub evidence: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    #[serde(default)]
    servers: BTreeMap<String, Known>,
}

/// A profile's entry, or the URL's when no profile is in use.
fn key(profile: Option<&str>, url: &str) -> String {
    match profile {
        Some(p) => format!("profile {p}"),
        None => format!("url {url}"),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn load() -> Cache {
    config_dir()
        .and_then(|d| read_toml(&d.join(FILE)).ok())
        .unwrap_or_default()
}

/// What is known of the server at `url` for `profile`, unless it is older than [`TTL`].
pub fn known(profile: Option<&str>, url: &str) -> Option<Known> {
    let k = load().servers.remove(&key(profile, url))?;
    let fresh = (0..TTL.as_secs() as i64).contains(&(now() - k.checked));
    (fresh && k.url == url).then_some(k)
}

/// Remembers whether the server at `url` has the additions, and why it is thought so.
pub fn remember(profile: Option<&str>, url: &str, additions: bool, evidence: &str) {
    let Some(dir) = config_dir() else { return };
    // Nothing is written for a config dir that does not exist yet: a cache is no
    // reason to create one.
    if !dir.is_dir() {
        return;
    }
    let mut cache = load();
    let k = Known {
        url: url.to_string(),
        checked: now(),
        additions,
        evidence: evidence.to_string(),
    };
    if cache.servers.get(&key(profile, url)) == Some(&k) {
        return;
    }
    cache.servers.insert(key(profile, url), k);
    if let Ok(text) = toml::to_string_pretty(&cache) {
        let _ = write_private(&dir.join(FILE), text.as_bytes());
    }
}
