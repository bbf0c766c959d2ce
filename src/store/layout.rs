//! The on-disk layout: the format version, the folders, `meta.json`, the paths of
//! objects and index entries, opening, creating and upgrading a store, and what a record
//! must look like to be one this build wrote.

use std::fs::{self, File};
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::files::{mkdir_private, open_shared, read_json};
use super::listings::sorted_names;
use super::txn::{Durability, Touched};
use super::{Store, Txn, check_private_dir, lock};
use crate::error::{Error, Result};
use crate::model::{ApiClient, BearerToken, Company, ROOT_CLIENT_ID, Scope, new_urn, parse_urn};
use crate::secret;

/// The on-disk format this build writes and the newest it reads. Format 2 added the `seq`
/// change counter that every writer bumps; format 3, tokens at the URN their digest gives
/// (see [`secret::token_urn`]), with no digest index entry. An older store is upgraded by
/// its first write, so that an older build, which would not bump the counter or would
/// not find such a token, refuses the store from then on. Format 4 added the skeleton
/// indexes (see [`crate::model::skeleton`]), which an older build would not maintain.
/// Format 5 added the audit log (see `audit`), which an older build would not write,
/// and `keys/`, the signing keys of OAuth access tokens.
pub(super) const FORMAT: u64 = 5;

const DIRS: [&str; 16] = [
    "tmp",
    "audit",
    "keys",
    "pending",
    "company",
    "clients",
    "tokens",
    "roles",
    "oauth",
    "index/client-id",
    "index/role-name",
    "index/client-skeleton",
    "index/role-skeleton",
    "index/token-digest",
    "index/client-tokens",
    "index/client-roles",
];

/// `meta.json`: what a store is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The on-disk format.
    pub format: u64,
    /// The company's URN.
    pub company: String,
    /// The root client's URN.
    pub root_client: String,
}

/// What a new store was created with; the root token exists only here, once.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The store's directory.
    pub path: PathBuf,
    /// The company.
    pub company: Company,
    /// The root API client.
    pub root_client: ApiClient,
    /// The root bearer token's record.
    pub root_token: BearerToken,
    /// The root bearer token itself: show it once, then forget it.
    pub token: String,
}

/// A root bearer token just made: its record and the token itself.
type Minted = (BearerToken, String);

/// The default store directory: `<data dir>/baack/store`.
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("baack").join("store"))
}

/// `s` as one word for a POSIX shell: as it is when it holds nothing a shell would
/// split or expand, else in single quotes.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub(super) fn sha(s: &str) -> String {
    secret::digest(s)
}

/// Whether a token's URN is the one its digest gives, so that it needs no digest index.
pub(super) fn derived_urn(t: &BearerToken) -> bool {
    t.urn == secret::token_urn(&t.digest)
}

/// Whether `s` is a URN as this build writes it: a lowercase hyphenated UUID.
pub(super) fn is_urn(s: &str) -> bool {
    parse_urn(s).as_deref() == Some(s)
}

/// A record read under `key` must carry `key` as its own, and every URN it refers to must
/// be a URN: both become file names, so anything else would make the next write touch the
/// wrong file (a delete that leaves the object alive) or one outside the store.
pub(super) fn check_record<'a>(
    path: &Path,
    key: &str,
    own: &str,
    own_ok: bool,
    refs: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    let corrupt = |reason: String| Error::StoreCorrupt {
        path: path.into(),
        reason,
    };
    if own != key || !own_ok {
        return Err(corrupt(format!(
            "it holds the record `{own}`, not `{key}` as its name says"
        )));
    }
    for r in refs {
        if !is_urn(r) {
            return Err(corrupt(format!("it refers to `{r}`, which is not a URN")));
        }
    }
    Ok(())
}

pub(super) fn lock_file(root: &Path) -> Result<File> {
    let path = root.join("lock");
    let file = open_shared(&path)?;
    // flock: released by the kernel when the process dies, so it is never stale.
    lock::lock(&path, file)
}

/// Refuses a store whose directory, or a directory baack makes in it, another user
/// could write (see `private`): one `stat` each, and no walk of any folder.
fn check_private_tree(root: &Path) -> Result<()> {
    check_private_dir(root)?;
    for d in DIRS.iter().chain(&["index", "cache"]) {
        check_private_dir(&root.join(d))?;
    }
    Ok(())
}

impl Store {
    /// Opens the store at `root`, creating it (company, root client, root token) when the
    /// directory holds none. The second value is set only when it was created.
    pub fn open_or_init(root: &Path, company_name: &str) -> Result<(Store, Option<Bootstrap>)> {
        if let Some(store) = Self::try_open(root)? {
            return Ok((store, None));
        }
        match Self::init(root, company_name) {
            Ok(b) => Ok((Self::open(root)?, Some(b))),
            // Another process created it between our look and our lock.
            Err(Error::StoreExists { .. }) => Ok((Self::open(root)?, None)),
            Err(e) => Err(e),
        }
    }

    /// Opens the store at `root`, creating it (company and root client, no root token:
    /// the embedded mode acts as the root client without one) when the directory holds
    /// none. The second value is true only when it was created.
    pub fn open_or_init_tokenless(root: &Path, company_name: &str) -> Result<(Store, bool)> {
        if let Some(store) = Self::try_open(root)? {
            return Ok((store, false));
        }
        match Self::create(root, company_name, false) {
            Ok(_) => Ok((Self::open(root)?, true)),
            Err(Error::StoreExists { .. }) => Ok((Self::open(root)?, false)),
            Err(e) => Err(e),
        }
    }

    /// Opens an existing store; none at `root` is an error naming the command that makes
    /// one there.
    pub fn open(root: &Path) -> Result<Store> {
        Self::try_open(root)?.ok_or_else(|| Error::StoreIo {
            path: root.to_path_buf(),
            source: std::io::Error::new(
                IoKind::NotFound,
                format!(
                    "no store here; create one with `baack init --store {}`",
                    shell_word(&root.display().to_string())
                ),
            ),
        })
    }

    fn try_open(root: &Path) -> Result<Option<Store>> {
        check_private_tree(root)?;
        let path = root.join("meta.json");
        let Some(raw) = read_json::<serde_json::Value>(&path)? else {
            return Ok(None);
        };
        // Check the version before the shape, so a newer store says so rather than
        // looking corrupt.
        match raw.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f > FORMAT => {
                return Err(Error::StoreTooNew {
                    path,
                    found: f,
                    supported: FORMAT,
                });
            }
            Some(_) => {}
            None => {
                return Err(Error::StoreCorrupt {
                    path,
                    reason: "it has no format version".into(),
                });
            }
        }
        let meta: Meta = serde_json::from_value(raw).map_err(|e| Error::StoreCorrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        // Both become file names.
        for urn in [&meta.company, &meta.root_client] {
            if !is_urn(urn) {
                return Err(Error::StoreCorrupt {
                    path,
                    reason: format!("it names `{urn}`, which is not a URN"),
                });
            }
        }
        Ok(Some(Store {
            root: root.to_path_buf(),
            meta,
            commit: None,
            listings: Arc::default(),
            seq: Arc::default(),
            cache: None,
            snapshots: Arc::default(),
        }))
    }

    /// Creates a new store at `root` with a root bearer token; refuses, changing nothing,
    /// when one exists.
    pub fn init(root: &Path, company_name: &str) -> Result<Bootstrap> {
        let (company, root_client, minted) = Self::create(root, company_name, true)?;
        let (root_token, token) =
            minted.ok_or_else(|| Error::Internal("no root token was made".into()))?;
        Ok(Bootstrap {
            path: root.to_path_buf(),
            company,
            root_client,
            root_token,
            token,
        })
    }

    /// Creates a new store at `root`: its company, its root client and, when `mint`, a
    /// root bearer token (its record and the token itself).
    fn create(
        root: &Path,
        company_name: &str,
        mint: bool,
    ) -> Result<(Company, ApiClient, Option<Minted>)> {
        mkdir_private(root)?;
        // An existing directory keeps its mode: it must be private before anything is
        // written in it (the folders below are made anew, 0700).
        check_private_dir(root)?;
        let lock = lock_file(root)?;
        if root.join("meta.json").exists() {
            return Err(Error::StoreExists { path: root.into() });
        }
        // A directory that holds anything but a crashed init of ours is not ours to fill.
        for name in sorted_names(root)? {
            let ours = name == "lock" || name == "index" || DIRS.contains(&name.as_str());
            if !ours {
                return Err(Error::io(
                    root,
                    std::io::Error::new(
                        IoKind::AlreadyExists,
                        format!(
                            "the directory holds `{name}` and is not a baack store; choose an empty or new directory with --store"
                        ),
                    ),
                ));
            }
        }
        // Leftovers of an init that crashed before writing meta.json.
        for d in [
            "company", "clients", "tokens", "roles", "oauth", "index", "tmp", "pending",
        ] {
            let p = root.join(d);
            if p.exists() {
                fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        for d in DIRS {
            mkdir_private(&root.join(d))?;
        }
        let meta = Meta {
            format: FORMAT,
            company: new_urn(),
            root_client: new_urn(),
        };
        let store = Store {
            root: root.to_path_buf(),
            meta: meta.clone(),
            commit: None,
            listings: Arc::default(),
            seq: Arc::default(),
            cache: None,
            snapshots: Arc::default(),
        };
        let touched = Touched::default();
        let txn = Txn::new(&store, Durability::Each, &touched);
        let company = Company {
            urn: meta.company.clone(),
            name: company_name.to_string(),
        };
        txn.put(
            &store
                .root
                .join("company")
                .join(format!("{}.json", company.urn)),
            &company,
        )?;
        let root_client = ApiClient {
            urn: meta.root_client.clone(),
            client_id: ROOT_CLIENT_ID.into(),
            scope: Scope::Api,
            owner: company.urn.clone(),
            created: Some(chrono::Utc::now().timestamp_millis()),
            last_used: None,
            rev: None,
        };
        txn.put_client(&root_client, None)?;
        let minted = if mint {
            let token = secret::new_bearer_token()?;
            let digest = secret::digest(&token);
            let root_token = BearerToken {
                urn: secret::token_urn(&digest),
                client: root_client.urn.clone(),
                digest,
                shown: secret::obfuscate(&token),
                expires: None,
                created: chrono::Utc::now().timestamp_millis(),
                description: None,
                last_used: None,
                rev: None,
                retire: None,
            };
            txn.put_token(&root_token)?;
            Some((root_token, token))
        } else {
            None
        };
        // meta.json last: until it exists, the store does not.
        txn.put(&root.join("meta.json"), &meta)?;
        drop(lock);
        Ok((company, root_client, minted))
    }

    pub(super) fn obj(&self, dir: &str, key: &str) -> PathBuf {
        self.root.join(dir).join(format!("{key}.json"))
    }

    pub(super) fn idx(&self, index: &str, key: &str) -> PathBuf {
        self.root.join("index").join(index).join(key)
    }
}

impl Txn<'_> {
    /// Brings an older store to this build's format (this process may have opened it
    /// before another upgraded it, so meta.json is read again).
    pub(super) fn upgrade(&self) -> Result<()> {
        let path = self.root.join("meta.json");
        let mut meta: Meta = read_json(&path)?.ok_or_else(|| Error::StoreCorrupt {
            path: path.clone(),
            reason: "the file is missing".into(),
        })?;
        if meta.format < FORMAT {
            // Formats 2 and 3 only add `seq`, which every write of this build maintains,
            // and tokens without digest index entries, which its readers look for.
            // Format 4's skeleton indexes are built here, once, from the objects; meta.json
            // goes last, so a crash half-way builds them again next time.
            if meta.format < 4 {
                self.build_skeleton_indexes()?;
            }
            if meta.format < 5 {
                mkdir_private(&self.root.join("audit"))?;
                mkdir_private(&self.root.join("keys"))?;
            }
            meta.format = FORMAT;
            self.put(&path, &meta)?;
        }
        Ok(())
    }

    /// Indexes the skeleton of every clientID and role name (the format 3 to 4 upgrade).
    fn build_skeleton_indexes(&self) -> Result<()> {
        for dir in ["index/client-skeleton", "index/role-skeleton"] {
            mkdir_private(&self.root.join(dir))?;
        }
        for urn in sorted_names(&self.root.join("clients"))? {
            if let Some(c) = self.client(&urn)? {
                self.repair_skeleton("client-skeleton", &c.client_id, &c.urn, |s, u| {
                    Ok(s.client(u)?.map(|o| o.client_id))
                })?;
            }
        }
        for urn in sorted_names(&self.root.join("roles"))? {
            if let Some(r) = self.role(&urn)? {
                self.repair_skeleton("role-skeleton", &r.name, &r.urn, |s, u| {
                    Ok(s.role(u)?.map(|o| o.name))
                })?;
            }
        }
        Ok(())
    }
}
