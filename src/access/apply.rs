//! Carrying out a [`Plan`]: in dependency order (clients; then roles and OAuth clients;
//! then tokens; then deletions), each phase's steps sent in parallel up to a bound,
//! stopping at the first failure with a report of what was done and what was not. The
//! state is saved as it goes, and before every creation that a kill could leave half made
//! (an OAuth client or a token, whose secret must reach its file), so that the next apply
//! finds and finishes it. A new secret goes only to its file (mode 0600): a new file is
//! reserved before the object exists, a replaced one is swapped in whole by a rename.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::{Method, header};
use serde_json::{Value, json};

use super::manifest::Desired;
use super::plan::{Action, Change, Plan, remote_role, remote_token};
use super::state::{Kind, State};
use crate::client::{Call, Client};
use crate::clock::{Millis, format_baack};
use crate::error::{Error, ErrorKind, Result};

/// How many requests apply has in flight at most.
pub const PARALLEL: usize = 8;

/// How often, at most, the state is saved while a phase of clients or roles runs (each
/// is found again by its unique name after a kill, so a save per step is not needed).
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// A step done or failed, for progress.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// The change.
    pub change: &'a Change,
    /// How many steps are finished, this one included.
    pub done: usize,
    /// How many there are.
    pub total: usize,
}

/// What an apply did, or how far it got.
#[derive(Debug, Default)]
pub struct Report {
    /// The changes made, by their plan line (`+ client ci`).
    pub done: Vec<String>,
    /// The change that failed, and why.
    pub failed: Option<(String, Error)>,
    /// The changes not attempted.
    pub not_done: Vec<String>,
}

/// One plan line: `+ client ci`.
pub fn line(c: &Change) -> String {
    format!("{} {} {}", c.action.sign(), c.kind.noun(), c.name)
}

/// What apply needs besides the plan.
pub struct Apply<'a> {
    /// The API.
    pub client: &'a Client,
    /// The manifest.
    pub desired: &'a Desired,
    /// Where the state is kept.
    pub state_path: &'a Path,
    /// The owner company of new clients and roles.
    pub owner: Option<String>,
    /// Now.
    pub now: Millis,
}

struct Shared<'a> {
    state: Mutex<State>,
    saved: Mutex<Instant>,
    /// URNs of clients by clientID, as made or found.
    client_urns: Mutex<HashMap<String, String>>,
    /// Each manifest entry's position by kind and name, found once: a search per step
    /// would make an apply of 10,000 clients quadratic.
    index: HashMap<(Kind, String), usize>,
    path: &'a Path,
}

/// Each entry's position in `d`, by kind and name.
fn index(d: &Desired) -> HashMap<(Kind, String), usize> {
    let names = d
        .clients
        .iter()
        .map(|x| (Kind::Client, x.client_id.clone()))
        .enumerate()
        .chain(
            d.roles
                .iter()
                .map(|x| (Kind::Role, x.name.clone()))
                .enumerate(),
        )
        .chain(
            d.oauth
                .iter()
                .map(|x| (Kind::OauthClient, x.name.clone()))
                .enumerate(),
        )
        .chain(d.tokens.iter().map(|x| (Kind::Token, x.key())).enumerate());
    names.map(|(i, k)| (k, i)).collect()
}

impl Shared<'_> {
    fn spec(&self, kind: Kind, name: &str) -> Option<usize> {
        self.index.get(&(kind, name.to_string())).copied()
    }

    fn save(&self) -> Result<()> {
        let s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.save(self.path)?;
        *self
            .saved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    fn save_soon(&self) -> Result<()> {
        let due = self
            .saved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
            >= SAVE_EVERY;
        if due { self.save() } else { Ok(()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn urn(&self, client_id: &str) -> Option<String> {
        self.client_urns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(client_id)
            .cloned()
    }
}

/// The phase a change runs in.
fn phase(c: &Change) -> u8 {
    match (c.action, c.kind) {
        (Action::Delete, _) => 3,
        (_, Kind::Client) => 0,
        (_, Kind::Role | Kind::OauthClient) => 1,
        (_, Kind::Token) => 2,
    }
}

impl Apply<'_> {
    /// Carries out `plan` from `state` (adoptions first), calling `progress` after each
    /// step. `client_urns` are the URNs of the clients that exist, by clientID.
    pub fn run(
        &self,
        plan: &Plan,
        state: State,
        client_urns: HashMap<String, String>,
        progress: &(dyn Fn(&Step<'_>) + Sync),
    ) -> Report {
        let shared = Shared {
            state: Mutex::new(state),
            saved: Mutex::new(Instant::now()),
            client_urns: Mutex::new(client_urns),
            index: index(self.desired),
            path: self.state_path,
        };
        shared.with(|s| {
            for a in &plan.adopt {
                s.own(a.kind, &a.name, &a.id, true);
            }
            for (k, n) in &plan.forget {
                s.forget(*k, n);
            }
        });
        let mut report = Report::default();
        if let Err(e) = shared.save() {
            report.failed = Some(("save the state".into(), e));
            report.not_done = plan.changes.iter().map(line).collect();
            return report;
        }
        let total = plan.changes.len();
        let finished = AtomicUsize::new(0);
        let done = Mutex::new(Vec::new());
        let failed: Mutex<Option<(String, Error)>> = Mutex::new(None);
        let mut started = vec![false; total];
        for ph in 0..=3u8 {
            let steps: Vec<usize> = (0..total)
                .filter(|i| phase(&plan.changes[*i]) == ph)
                .collect();
            if steps.is_empty() {
                continue;
            }
            let next = AtomicUsize::new(0);
            let stop = AtomicBool::new(false);
            let taken = Mutex::new(Vec::new());
            std::thread::scope(|scope| {
                for _ in 0..PARALLEL.min(steps.len()) {
                    scope.spawn(|| {
                        loop {
                            if stop.load(Ordering::SeqCst) {
                                return;
                            }
                            let k = next.fetch_add(1, Ordering::SeqCst);
                            let Some(&i) = steps.get(k) else { return };
                            taken
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(i);
                            let c = &plan.changes[i];
                            match self.step(c, &shared) {
                                Ok(()) => {
                                    done.lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                                        .push((i, line(c)));
                                    let n = finished.fetch_add(1, Ordering::SeqCst) + 1;
                                    progress(&Step {
                                        change: c,
                                        done: n,
                                        total,
                                    });
                                }
                                Err(e) => {
                                    stop.store(true, Ordering::SeqCst);
                                    let mut f = failed
                                        .lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                                    if f.is_none() {
                                        *f = Some((line(c), e));
                                    }
                                    return;
                                }
                            }
                        }
                    });
                }
            });
            for i in taken
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
            {
                started[i] = true;
            }
            if let Err(e) = shared.save() {
                let mut f = failed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if f.is_none() {
                    *f = Some(("save the state".into(), e));
                }
            }
            if failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_some()
            {
                break;
            }
        }
        let mut d = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        d.sort();
        report.done = d.into_iter().map(|(_, l)| l).collect();
        report.failed = failed
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        report.not_done = (0..total)
            .filter(|i| !started[*i])
            .map(|i| line(&plan.changes[i]))
            .collect();
        report
    }

    fn owner(&self) -> Result<String> {
        self.owner
            .clone()
            .ok_or_else(|| Error::Internal("no owner company to make clients and roles in".into()))
    }

    fn client_urn(&self, sh: &Shared<'_>, id: &str) -> Result<String> {
        sh.urn(id).ok_or_else(|| {
            Error::NotFound(format!(
                "client `{id}` does not exist (it was to be made earlier in this apply)"
            ))
        })
    }

    fn step(&self, c: &Change, sh: &Shared<'_>) -> Result<()> {
        let located = |e: Error| -> Error {
            let at = match c.kind {
                Kind::Client => self
                    .desired
                    .clients
                    .iter()
                    .find(|x| x.client_id == c.name)
                    .map(|x| &x.at),
                Kind::Role => self
                    .desired
                    .roles
                    .iter()
                    .find(|x| x.name == c.name)
                    .map(|x| &x.at),
                Kind::OauthClient => self
                    .desired
                    .oauth
                    .iter()
                    .find(|x| x.name == c.name)
                    .map(|x| &x.at),
                Kind::Token => self
                    .desired
                    .tokens
                    .iter()
                    .find(|x| x.key() == c.name)
                    .map(|x| &x.at),
            };
            match at {
                Some(at) => e.map_message(|m| format!("{m} (declared at {at})")),
                None => e,
            }
        };
        match (c.action, c.kind) {
            (Action::Delete, kind) => self.delete(c, kind, sh),
            (_, Kind::Client) => self.client(c, sh).map_err(located),
            (_, Kind::Role) => self.role(c, sh).map_err(located),
            (_, Kind::OauthClient) => self.oauth(c, sh).map_err(located),
            (_, Kind::Token) => self.token(c, sh).map_err(located),
        }
    }

    fn client(&self, c: &Change, sh: &Shared<'_>) -> Result<()> {
        let Some(spec) = sh
            .spec(Kind::Client, &c.name)
            .and_then(|i| self.desired.clients.get(i))
        else {
            return Err(Error::Internal(format!(
                "no client `{}` in the manifest",
                c.name
            )));
        };
        let body = json!({ "clientID": spec.client_id, "scope": spec.scope });
        let urn = match &c.id {
            None => {
                let mut b = body;
                b["owner"] = json!({ "urn": self.owner()? });
                let r = self
                    .client
                    .send(&Call::new(Method::POST, "/n/v1/apiclient/").body(b))?;
                r.body["urn"].as_str().unwrap_or_default().to_string()
            }
            Some(urn) => {
                let path = format!("/n/v1/apiclient/{urn}");
                let mut cur = self.client.send(&Call::new(Method::GET, &path))?.body;
                cur["clientID"] = spec.client_id.clone().into();
                cur["scope"] = spec.scope.clone().into();
                self.client.send(&Call::new(Method::PUT, &path).body(cur))?;
                urn.clone()
            }
        };
        sh.client_urns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(c.name.clone(), urn.clone());
        sh.with(|s| s.own(Kind::Client, &c.name, &urn, false));
        sh.save_soon()
    }

    fn role(&self, c: &Change, sh: &Shared<'_>) -> Result<()> {
        let Some(spec) = sh
            .spec(Kind::Role, &c.name)
            .and_then(|i| self.desired.roles.get(i))
        else {
            return Err(Error::Internal(format!(
                "no role `{}` in the manifest",
                c.name
            )));
        };
        let clients: Vec<Value> = spec
            .clients
            .iter()
            .map(|id| self.client_urn(sh, id).map(|u| json!({ "urn": u })))
            .collect::<Result<_>>()?;
        let urn = match &c.id {
            None => {
                let body = json!({
                    "name": spec.name,
                    "owner": { "urn": self.owner()? },
                    "permissions": spec.permissions,
                    "clients": clients,
                });
                let r = self
                    .client
                    .send(&Call::new(Method::POST, "/n/v1/permissionrole/").body(body))?;
                r.body["urn"].as_str().unwrap_or_default().to_string()
            }
            Some(urn) => {
                // Read, change, write with If-Match where the server gives an ETag, and
                // start over when another writer got there first.
                let path = format!("/n/v1/permissionrole/{urn}");
                let mut last = None;
                let mut ok = false;
                for _ in 0..5 {
                    let cur = self.client.send(&Call::new(Method::GET, &path))?;
                    let mut body = cur.body.clone();
                    body["name"] = spec.name.clone().into();
                    body["permissions"] = json!(spec.permissions);
                    body["clients"] = Value::Array(clients.clone());
                    let mut call = Call::new(Method::PUT, &path).body(body);
                    if let Some(tag) = cur.header("etag") {
                        call = call.header(header::IF_MATCH, tag);
                    }
                    match self.client.send(&call) {
                        Ok(r) => {
                            let after = remote_role(&r.body);
                            if after.permissions != spec.permissions {
                                return Err(Error::Answer(format!(
                                    "the server took the change to role `{}`, but shows its permissions as {:?}",
                                    spec.name, after.permissions
                                )));
                            }
                            ok = true;
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::Conflict => last = Some(e),
                        Err(e) => return Err(e),
                    }
                }
                if !ok {
                    return Err(
                        last.unwrap_or_else(|| Error::Internal("the role kept changing".into()))
                    );
                }
                urn.clone()
            }
        };
        sh.with(|s| s.own(Kind::Role, &c.name, &urn, false));
        sh.save_soon()
    }

    fn oauth(&self, c: &Change, sh: &Shared<'_>) -> Result<()> {
        let Some(spec) = sh
            .spec(Kind::OauthClient, &c.name)
            .and_then(|i| self.desired.oauth.get(i))
        else {
            return Err(Error::Internal(format!(
                "no OAuth client `{}` in the manifest",
                c.name
            )));
        };
        if let Some(id) = &c.id {
            let ops: Vec<Value> = c
                .fields
                .iter()
                .map(|f| json!({ "op": "replace", "path": format!("/{}", f.field), "value": f.after }))
                .collect();
            self.client.send(
                &Call::new(Method::PATCH, format!("/v3/oauth-clients/{id}"))
                    .header(header::CONTENT_TYPE, "application/json-patch+json")
                    .body(Value::Array(ops)),
            )?;
            sh.with(|s| s.own(Kind::OauthClient, &c.name, id, false));
            return sh.save();
        }
        sh.with(|s| s.begin(Kind::OauthClient, &c.name, self.now));
        sh.save()?;
        for id in &c.replaces {
            delete_quietly(self.client, &format!("/v3/oauth-clients/{id}"))?;
        }
        let file = spec.secret_file.as_deref().map(Reserved::new).transpose()?;
        let r = self.client.send(
            &Call::new(Method::POST, "/v3/oauth-clients").body(Value::Object(spec.fields.clone())),
        )?;
        let id = r.body["id"].as_str().unwrap_or_default().to_string();
        if let Some(f) = file {
            let secret = r.body["secret"].as_str().unwrap_or_default();
            if let Err(e) = f.write(secret) {
                let undo = delete_quietly(self.client, &format!("/v3/oauth-clients/{id}"));
                return Err(Error::Undelivered(format!(
                    "OAuth client `{}` was made, but its secret could not be written ({e}); {}",
                    c.name,
                    match undo {
                        Ok(()) => "it was deleted again, so nothing is left half made".to_string(),
                        Err(u) =>
                            format!("deleting it failed too ({u}): the next apply replaces it"),
                    }
                )));
            }
        }
        sh.with(|s| s.own(Kind::OauthClient, &c.name, &id, false));
        sh.save()
    }

    fn token(&self, c: &Change, sh: &Shared<'_>) -> Result<()> {
        let Some(spec) = sh
            .spec(Kind::Token, &c.name)
            .and_then(|i| self.desired.tokens.get(i))
        else {
            return Err(Error::Internal(format!(
                "no token policy `{}` in the manifest",
                c.name
            )));
        };
        let client_urn = self.client_urn(sh, &spec.client)?;
        let old = match (c.action, &c.id) {
            (Action::Rotate, Some(urn)) => Some(
                self.client
                    .send(&Call::new(
                        Method::GET,
                        format!("/n/v1/apiclientbearertoken/{urn}"),
                    ))?
                    .body,
            ),
            _ => None,
        };
        sh.with(|s| s.begin(Kind::Token, &c.name, self.now));
        sh.save()?;
        for urn in &c.replaces {
            delete_quietly(self.client, &format!("/n/v1/apiclientbearertoken/{urn}"))?;
        }
        let out = if c.replace_file {
            Out::Swap(spec.secret_file.clone())
        } else {
            Out::New(Reserved::new(&spec.secret_file)?)
        };
        let mut body = json!({ "apiClient": { "urn": client_urn } });
        if let Some(d) = spec.expires_in {
            body["expirationTimestamp"] = format_baack(self.now + d.as_millis() as i64).into();
        }
        if !spec.description.is_empty() {
            body["description"] = spec.description.clone().into();
        }
        let r = self
            .client
            .send(&Call::new(Method::POST, "/n/v1/apiclientbearertoken/").body(body))?;
        let urn = r.body["urn"].as_str().unwrap_or_default().to_string();
        let secret = r.body["bearerToken"].as_str().unwrap_or_default();
        if let Err(e) = out.write(secret) {
            let undo = delete_quietly(self.client, &format!("/n/v1/apiclientbearertoken/{urn}"));
            return Err(Error::Undelivered(format!(
                "a token for policy `{}` was made, but its secret could not be written ({e}); {}",
                c.name,
                match undo {
                    Ok(()) => "it was deleted again".to_string(),
                    Err(u) => format!("deleting it failed too ({u}): the next apply replaces it"),
                }
            )));
        }
        sh.with(|s| s.own(Kind::Token, &c.name, &urn, false));
        sh.save()?;
        // The new secret is in its file: only now is the old token given its end.
        if let Some(mut old) = old {
            let was = remote_token(&old);
            let until = self.now + spec.overlap.as_millis() as i64;
            let until = was.expires.map_or(until, |e| e.min(until));
            if let Some(o) = old.as_object_mut() {
                o.remove("bearerToken");
                o.insert("expirationTimestamp".into(), format_baack(until).into());
                o.insert("replacedBy".into(), json!({ "urn": urn }));
            }
            self.client
                .send(
                    &Call::new(Method::PUT, format!("/n/v1/apiclientbearertoken/{}", was.urn))
                        .body(old),
                )
                .map_err(|e| {
                    Error::Answer(format!(
                        "the new token {urn} is in {}, but the old one, {}, was not given its end ({e}): it works as before; retire it with `baack token revoke {} --notice {}`",
                        spec.secret_file.display(),
                        was.urn,
                        was.urn,
                        humantime::format_duration(spec.overlap)
                    ))
                })?;
        }
        Ok(())
    }

    fn delete(&self, c: &Change, kind: Kind, sh: &Shared<'_>) -> Result<()> {
        let Some(id) = &c.id else {
            return Err(Error::Internal(format!(
                "nothing to delete for `{}`",
                c.name
            )));
        };
        let path = match kind {
            Kind::Client => format!("/n/v1/apiclient/{id}"),
            Kind::Role => format!("/n/v1/permissionrole/{id}"),
            Kind::OauthClient => format!("/v3/oauth-clients/{id}"),
            Kind::Token => format!("/n/v1/apiclientbearertoken/{id}"),
        };
        delete_quietly(self.client, &path)?;
        sh.with(|s| s.forget(kind, &c.name));
        sh.save_soon()
    }
}

/// Deletes what `path` names; one gone already is as good.
fn delete_quietly(client: &Client, path: &str) -> Result<()> {
    match client.send(&Call::new(Method::DELETE, path)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A new secret file, made (mode 0600, never over anything but an empty file a stopped
/// apply reserved) before its secret exists, so a taken path fails before anything is made.
struct Reserved {
    path: PathBuf,
    file: std::fs::File,
    written: bool,
}

impl Drop for Reserved {
    /// A reserved file whose object was never made (its create refused) is removed, so a
    /// failed apply leaves no empty secret file behind. A kill runs no drop: the empty
    /// file it leaves is the mark the next apply reuses.
    fn drop(&mut self) {
        if !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Reserved {
    fn new(path: &Path) -> Result<Reserved> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| file_error(path, &e))?;
        }
        let open = |create_new: bool| {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).mode(0o600);
            if create_new {
                o.create_new(true);
            }
            o.open(path)
        };
        let file = match open(true) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let empty = std::fs::metadata(path)
                    .map(|m| m.len() == 0)
                    .unwrap_or(false);
                if !empty {
                    return Err(Error::Usage(format!(
                        "the secret file {} exists, and apply never overwrites a secret file: move it away",
                        path.display()
                    )));
                }
                open(false).map_err(|e| file_error(path, &e))?
            }
            Err(e) => return Err(file_error(path, &e)),
        };
        Ok(Reserved {
            path: path.to_path_buf(),
            file,
            written: false,
        })
    }

    fn write(mut self, secret: &str) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.file
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        self.file.write_all(secret.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.file.sync_all()?;
        self.written = true;
        Ok(())
    }
}

fn file_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Usage(format!(
        "cannot make the secret file {}: {e}",
        path.display()
    ))
}

/// Where a token's secret goes: a reserved new file, or a swap over the old one.
enum Out {
    New(Reserved),
    Swap(PathBuf),
}

impl Out {
    fn write(self, secret: &str) -> std::io::Result<()> {
        match self {
            Out::New(r) => r.write(secret),
            Out::Swap(path) => {
                // Whole or not at all: a reader of the file sees the old token or the new.
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let mut tmp = tempfile::Builder::new()
                    .prefix(".baack-secret-")
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
                    .tempfile_in(dir)?;
                tmp.write_all(secret.as_bytes())?;
                tmp.write_all(b"\n")?;
                tmp.as_file().sync_all()?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}
