//! What exists (a [`Snapshot`], read page by page into compact records) and the
//! [`Plan`] that takes it to what a manifest wants: object by object, field by field,
//! never holding a secret. Objects are matched first by the id the state owns, then by
//! name (and then adopted); deletions come only from the state, and only with `prune`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use http::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::manifest::{Desired, OAUTH_PATCHABLE, OAuthSpec, TokenSpec};
use super::state::{Kind, State};
use crate::client::{Call, Client};
use crate::clock::{Millis, parse_timestamp};
use crate::error::{Error, Result};

/// The page size of every list read.
const PAGE: usize = 1000;
/// The OAuth list's largest page.
const OAUTH_PAGE: usize = 250;

/// An API client as it exists.
#[derive(Debug, Clone)]
pub struct RemoteClient {
    /// Its URN.
    pub urn: String,
    /// Its clientID.
    pub client_id: String,
    /// Its scope.
    pub scope: String,
}

/// A role as it exists.
#[derive(Debug, Clone)]
pub struct RemoteRole {
    /// Its URN.
    pub urn: String,
    /// Its name.
    pub name: String,
    /// Its permission labels, sorted.
    pub permissions: Vec<String>,
    /// Its member clients' URNs.
    pub clients: Vec<String>,
}

/// An OAuth client as it exists.
#[derive(Debug, Clone)]
pub struct RemoteOAuth {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was made.
    pub created: Option<Millis>,
    /// Its fields as the API shows them.
    pub fields: Map<String, Value>,
}

/// A bearer token as it exists (never its value).
#[derive(Debug, Clone)]
pub struct RemoteToken {
    /// Its URN.
    pub urn: String,
    /// When it expires.
    pub expires: Option<Millis>,
    /// Its description.
    pub description: String,
    /// When it was made, if the API says.
    pub created: Option<Millis>,
}

/// What exists, as far as a manifest needs it.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// API clients by clientID.
    pub clients: HashMap<String, RemoteClient>,
    /// clientIDs by URN.
    pub client_ids: HashMap<String, String>,
    /// Roles by name.
    pub roles: HashMap<String, RemoteRole>,
    /// Role names by URN.
    pub role_names: HashMap<String, String>,
    /// OAuth clients, in the API's order (names may repeat).
    pub oauth: Vec<RemoteOAuth>,
    /// Tokens by their client's URN (only the clients asked for).
    pub tokens: HashMap<String, Vec<RemoteToken>>,
    /// The API client whose credential this is, never deleted.
    pub me_client: Option<String>,
    /// The token this is, never deleted.
    pub me_token: Option<String>,
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn urn_of(v: &Value) -> String {
    v.get("urn")
        .or_else(|| v.get("Urn"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A Baack list page by page ([`Client::for_each_page`]).
pub fn pages(client: &Client, path: &str, key: &str, each: impl FnMut(Vec<Value>)) -> Result<()> {
    client.for_each_page(path, key, each)
}

/// Every OAuth client, page by page.
pub fn oauth_pages(client: &Client, mut each: impl FnMut(Vec<Value>)) -> Result<()> {
    let mut offset = 0;
    loop {
        let page = client
            .send(&Call::new(
                Method::GET,
                format!("/v3/oauth-clients?limit={OAUTH_PAGE}&offset={offset}"),
            ))?
            .body;
        let Value::Array(items) = page else {
            return Err(Error::Internal(
                "the OAuth list answer is not an array".into(),
            ));
        };
        let n = items.len();
        offset += n;
        each(items);
        if n < OAUTH_PAGE {
            return Ok(());
        }
    }
}

/// A role's fields from its representation.
pub fn remote_role(v: &Value) -> RemoteRole {
    let mut permissions: Vec<String> = v["permissions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    permissions.sort();
    RemoteRole {
        urn: urn_of(v),
        name: text(v, "name"),
        permissions,
        clients: v["clients"]
            .as_array()
            .map(|a| a.iter().map(urn_of).collect())
            .unwrap_or_default(),
    }
}

/// A token's fields from its representation.
pub fn remote_token(v: &Value) -> RemoteToken {
    let ts = |k: &str| v.get(k).and_then(Value::as_str).and_then(parse_timestamp);
    RemoteToken {
        urn: urn_of(v),
        expires: ts("expirationTimestamp"),
        description: text(v, "description"),
        created: ts("created"),
    }
}

impl Snapshot {
    /// Reads what exists: every client, role and OAuth client, and the tokens of the
    /// clients named in `token_clients` (by clientID). `me_token` is the URN of the
    /// credential in use.
    pub fn read(
        client: &Client,
        token_clients: &[&str],
        me_token: Option<String>,
    ) -> Result<Snapshot> {
        let mut s = Snapshot {
            me_token,
            ..Snapshot::default()
        };
        // A Baack API with only its documented operations has no lists to read.
        let no_list = |what: &'static str| {
            move |e: Error| {
                if e.kind() == crate::error::ErrorKind::NotFound {
                    Error::NoEndpoint(format!(
                        "this API cannot list {what} ({e}): plan, apply and export read what exists through the list routes API.md adds (`baack serve` has them; a Baack API with only its documented operations does not)"
                    ))
                } else {
                    e
                }
            }
        };
        pages(
            client,
            &format!("/n/v1/apiclient/?limit={PAGE}"),
            "apiClients",
            |items| {
                for v in items {
                    let c = RemoteClient {
                        urn: urn_of(&v),
                        client_id: text(&v, "clientID"),
                        scope: text(&v, "scope"),
                    };
                    s.client_ids.insert(c.urn.clone(), c.client_id.clone());
                    s.clients.insert(c.client_id.clone(), c);
                }
            },
        )
        .map_err(no_list("API clients"))?;
        pages(
            client,
            &format!("/n/v1/permissionrole/?limit={PAGE}"),
            "permissionRoles",
            |items| {
                for v in items {
                    let r = remote_role(&v);
                    s.role_names.insert(r.urn.clone(), r.name.clone());
                    s.roles.insert(r.name.clone(), r);
                }
            },
        )
        .map_err(no_list("permission roles"))?;
        oauth_pages(client, |items| {
            for v in items {
                let Value::Object(fields) = v else { continue };
                s.oauth.push(RemoteOAuth {
                    id: fields
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    name: fields
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    created: fields
                        .get("created")
                        .and_then(Value::as_str)
                        .and_then(parse_timestamp),
                    fields,
                });
            }
        })?;
        for id in token_clients {
            let Some(c) = s.clients.get(*id) else {
                continue;
            };
            let urn = c.urn.clone();
            let mut list = Vec::new();
            pages(
                client,
                &format!("/n/v1/apiclientbearertoken/?apiClient={urn}&limit={PAGE}"),
                "bearerTokens",
                |items| list.extend(items.iter().map(remote_token)),
            )?;
            s.tokens.insert(urn, list);
        }
        // Whose credential this is: never a candidate for deletion. A server without
        // the route (Baack's own documentation has none) leaves only the token known.
        if let Ok(r) = client.send(&Call::new(Method::GET, "/n/v1/clientcontext")) {
            let urn = urn_of(&r.body["client"]);
            if !urn.is_empty() {
                s.me_client = Some(urn);
            }
        }
        Ok(s)
    }
}

// --- the plan ------------------------------------------------------------------------

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Make it.
    Create,
    /// Change fields of it.
    Update,
    /// Make a new token and retire the old one after an overlap.
    Rotate,
    /// Delete it (only with prune).
    Delete,
}

impl Action {
    /// The plan's sign for it.
    pub fn sign(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update | Action::Rotate => "~",
            Action::Delete => "-",
        }
    }
}

/// One field's change: `null` where there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// Its name, in the API's spelling.
    pub field: String,
    /// What it is.
    pub before: Value,
    /// What it becomes.
    pub after: Value,
}

/// One object's change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// What kind of object.
    pub kind: Kind,
    /// Its name (`client/description` for a token policy).
    pub name: String,
    /// The id of the object it changes or deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The fields it sets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Why, or what else, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Objects a stopped apply left half made, removed first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// Whether the secret file is ours to replace (a rotation, or the dead token's).
    #[serde(skip)]
    pub replace_file: bool,
}

impl Change {
    fn new(action: Action, kind: Kind, name: &str) -> Change {
        Change {
            action,
            kind,
            name: name.to_string(),
            id: None,
            fields: Vec::new(),
            note: None,
            replaces: Vec::new(),
            replace_file: false,
        }
    }
}

/// An object found made already, taken over by the state.
#[derive(Debug, Clone, Serialize)]
pub struct Adopt {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
}

/// The plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The changes, in the order apply makes them.
    pub changes: Vec<Change>,
    /// Existing objects the state will own (no change to them).
    pub adopt: Vec<Adopt>,
    /// Owned objects the manifest no longer names, left because prune was not asked.
    pub unmanaged: Vec<Adopt>,
    /// Owned objects that no longer exist: the state forgets them.
    #[serde(skip)]
    pub forget: Vec<(Kind, String)>,
}

impl Plan {
    /// How many changes of `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

fn field(name: &str, before: Value, after: Value) -> Field {
    Field {
        field: name.to_string(),
        before,
        after,
    }
}

/// A secret file's state, for a plan.
enum FileIs {
    Missing,
    Empty,
    Holds(String),
}

fn file_is(p: &Path) -> Result<FileIs> {
    match std::fs::read_to_string(p) {
        Ok(t) if t.trim().is_empty() => Ok(FileIs::Empty),
        Ok(t) => Ok(FileIs::Holds(
            t.lines().next().unwrap_or_default().trim().to_string(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileIs::Missing),
        Err(e) => Err(Error::Usage(format!(
            "cannot read the secret file {}: {e}",
            p.display()
        ))),
    }
}

fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3600 => format!("{}h", s / 3600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Works out the plan.
pub fn plan(d: &Desired, s: &Snapshot, state: &State, now: Millis, prune: bool) -> Result<Plan> {
    let mut p = Plan::default();
    let mut planner = Planner {
        d,
        s,
        state,
        now,
        p: &mut p,
    };
    planner.clients();
    planner.roles();
    planner.oauth()?;
    planner.tokens()?;
    planner.leftovers(prune);
    Ok(p)
}

struct Planner<'a> {
    d: &'a Desired,
    s: &'a Snapshot,
    state: &'a State,
    now: Millis,
    p: &'a mut Plan,
}

impl Planner<'_> {
    fn adopt(&mut self, kind: Kind, name: &str, id: &str) {
        if self.state.get(kind, name).is_none_or(|o| o.id != id) {
            self.p.adopt.push(Adopt {
                kind,
                name: name.to_string(),
                id: id.to_string(),
            });
        }
    }

    /// The client the state owns as `name`, if it still exists; else the one named so.
    fn client(&self, name: &str) -> Option<&RemoteClient> {
        self.state
            .get(Kind::Client, name)
            .and_then(|o| self.s.client_ids.get(&o.id))
            .and_then(|id| self.s.clients.get(id))
            .or_else(|| self.s.clients.get(name))
    }

    fn clients(&mut self) {
        for c in &self.d.clients {
            match self.client(&c.client_id).cloned() {
                Some(r) => {
                    self.adopt(Kind::Client, &c.client_id, &r.urn);
                    let mut ch = Change::new(Action::Update, Kind::Client, &c.client_id);
                    ch.id = Some(r.urn.clone());
                    if r.client_id != c.client_id {
                        ch.fields.push(field(
                            "clientID",
                            r.client_id.into(),
                            c.client_id.clone().into(),
                        ));
                    }
                    if r.scope != c.scope {
                        ch.fields
                            .push(field("scope", r.scope.into(), c.scope.clone().into()));
                    }
                    if !ch.fields.is_empty() {
                        self.p.changes.push(ch);
                    }
                }
                None => {
                    let mut ch = Change::new(Action::Create, Kind::Client, &c.client_id);
                    ch.fields = vec![
                        field("clientID", Value::Null, c.client_id.clone().into()),
                        field("scope", Value::Null, c.scope.clone().into()),
                    ];
                    self.p.changes.push(ch);
                }
            }
        }
    }

    fn roles(&mut self) {
        for r in &self.d.roles {
            let found = self
                .state
                .get(Kind::Role, &r.name)
                .and_then(|o| self.s.role_names.get(&o.id))
                .and_then(|n| self.s.roles.get(n))
                .or_else(|| self.s.roles.get(&r.name))
                .cloned();
            let want_clients = json!(r.clients);
            match found {
                Some(x) => {
                    self.adopt(Kind::Role, &r.name, &x.urn);
                    let mut ch = Change::new(Action::Update, Kind::Role, &r.name);
                    ch.id = Some(x.urn.clone());
                    if x.name != r.name {
                        ch.fields
                            .push(field("name", x.name.into(), r.name.clone().into()));
                    }
                    if x.permissions != r.permissions {
                        ch.fields.push(field(
                            "permissions",
                            json!(x.permissions),
                            json!(r.permissions),
                        ));
                    }
                    let mut have: Vec<String> = x
                        .clients
                        .iter()
                        .map(|u| {
                            self.s
                                .client_ids
                                .get(u)
                                .cloned()
                                .unwrap_or_else(|| u.clone())
                        })
                        .collect();
                    have.sort();
                    have.dedup();
                    if have != r.clients {
                        ch.fields.push(field("clients", json!(have), want_clients));
                    }
                    if !ch.fields.is_empty() {
                        self.p.changes.push(ch);
                    }
                }
                None => {
                    let mut ch = Change::new(Action::Create, Kind::Role, &r.name);
                    ch.fields = vec![
                        field("name", Value::Null, r.name.clone().into()),
                        field("permissions", Value::Null, json!(r.permissions)),
                        field("clients", Value::Null, want_clients),
                    ];
                    self.p.changes.push(ch);
                }
            }
        }
    }

    fn oauth(&mut self) -> Result<()> {
        for o in &self.d.oauth {
            let owned = self
                .state
                .get(Kind::OauthClient, &o.name)
                .and_then(|w| self.s.oauth.iter().find(|x| x.id == w.id));
            let found = match owned {
                Some(x) => Some(x.clone()),
                None => {
                    let named: Vec<&RemoteOAuth> =
                        self.s.oauth.iter().filter(|x| x.name == o.name).collect();
                    match named.as_slice() {
                        [] => None,
                        [one] => Some((*one).clone()),
                        many => {
                            return Err(o.at.error(format!(
                                "{} OAuth clients are named `{}` ({}): the manifest cannot tell which it means; rename or delete the others first",
                                many.len(),
                                o.name,
                                many.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
                            )));
                        }
                    }
                }
            };
            // One a stopped apply made, whose secret never reached its file.
            let half_made = |x: &RemoteOAuth| -> Result<bool> {
                let Some(p) = self.state.pending(Kind::OauthClient, &o.name) else {
                    return Ok(false);
                };
                let unwritten = match &o.secret_file {
                    Some(f) => !matches!(file_is(f)?, FileIs::Holds(_)),
                    None => false,
                };
                Ok(owned.is_none() && unwritten && x.created.is_some_and(|c| c >= p.since - 1000))
            };
            match found {
                Some(x) if !half_made(&x)? => {
                    self.adopt(Kind::OauthClient, &o.name, &x.id);
                    self.oauth_update(o, &x)?;
                }
                other => {
                    let mut ch = Change::new(Action::Create, Kind::OauthClient, &o.name);
                    if let Some(x) = other {
                        ch.replaces.push(x.id.clone());
                        ch.note = Some(format!(
                            "replaces {}, which a stopped apply made without delivering its secret",
                            x.id
                        ));
                    }
                    let confidential = o.fields.get("type") == Some(&Value::from("CONFIDENTIAL"));
                    match &o.secret_file {
                        None if confidential => {
                            return Err(o.at.error(format!(
                                "OAuth client `{}` is to be created, and its secret is shown only once: give it a secretFile to keep the secret in",
                                o.name
                            )));
                        }
                        Some(f) => {
                            if let FileIs::Holds(_) = file_is(f)? {
                                return Err(o.at.error(format!(
                                    "its secretFile {} exists already, and apply never overwrites a secret file: move it away, or name a new one",
                                    f.display()
                                )));
                            }
                            ch.note.get_or_insert_with(|| {
                                format!("its secret goes to {}", f.display())
                            });
                        }
                        None => {}
                    }
                    ch.fields = o
                        .fields
                        .iter()
                        .map(|(k, v)| field(k, Value::Null, v.clone()))
                        .collect();
                    self.p.changes.push(ch);
                }
            }
        }
        Ok(())
    }

    fn oauth_update(&mut self, o: &OAuthSpec, x: &RemoteOAuth) -> Result<()> {
        let mut ch = Change::new(Action::Update, Kind::OauthClient, &o.name);
        ch.id = Some(x.id.clone());
        for (k, want) in &o.fields {
            let mut have = x.fields.get(k).cloned().unwrap_or(Value::Null);
            // An older server shows none as null; the manifest's none is "".
            if have.is_null() && want == "" {
                have = Value::from("");
            }
            if &have == want {
                continue;
            }
            if !OAUTH_PATCHABLE.contains(&k.as_str()) {
                return Err(o.at.error(format!(
                    "`{k}` of OAuth client `{}` cannot change once it is made ({have} here, {want} in the manifest): set it back, or give the manifest's client a new name (a new client, with a new id and secret) and remove this one",
                    o.name
                )));
            }
            ch.fields.push(field(k, have, want.clone()));
        }
        if !ch.fields.is_empty() {
            self.p.changes.push(ch);
        }
        Ok(())
    }

    fn tokens(&mut self) -> Result<()> {
        for t in &self.d.tokens {
            let change = self.token(t)?;
            if let Some(c) = change {
                self.p.changes.push(c);
            }
        }
        Ok(())
    }

    fn token(&mut self, t: &TokenSpec) -> Result<Option<Change>> {
        let key = t.key();
        let client = self.client(&t.client);
        let live: Vec<&RemoteToken> = client
            .and_then(|c| self.s.tokens.get(&c.urn))
            .map(|v| {
                v.iter()
                    .filter(|x| x.expires.is_none_or(|e| e > self.now))
                    .collect()
            })
            .unwrap_or_default();
        let file = file_is(&t.secret_file)?;
        let file_urn = match &file {
            FileIs::Holds(v) => Some(crate::secret::token_urn(&crate::secret::digest(v))),
            _ => None,
        };
        let owned = self.state.get(Kind::Token, &key).map(|o| o.id.clone());
        let current = live
            .iter()
            .find(|x| Some(&x.urn) == file_urn.as_ref())
            .copied();
        // Tokens a stopped apply made for this policy whose secret never reached its file.
        let replaces: Vec<String> = match self.state.pending(Kind::Token, &key) {
            Some(p) => live
                .iter()
                .filter(|x| {
                    Some(&x.urn) != file_urn.as_ref()
                        && Some(&x.urn) != owned.as_ref()
                        && x.description == t.description
                        && x.created.is_some_and(|c| c >= p.since - 1000)
                })
                .map(|x| x.urn.clone())
                .collect(),
            None => Vec::new(),
        };
        let lasts = match t.expires_in {
            Some(d) => format!("expires in {}", humantime::format_duration(d)),
            None => "never expires".into(),
        };
        let mut ch = Change::new(Action::Create, Kind::Token, &key);
        ch.replaces = replaces;
        ch.fields = vec![
            field("apiClient", Value::Null, t.client.clone().into()),
            field("description", Value::Null, t.description.clone().into()),
        ];
        if let Some(cur) = current {
            self.adopt(Kind::Token, &key, &cur.urn);
            let left = cur.expires.map(|e| e - self.now);
            let low = match (left, t.min_remaining) {
                (Some(l), Some(m)) => l < m.as_millis() as i64,
                _ => false,
            };
            if !low {
                return Ok(None);
            }
            ch.action = Action::Rotate;
            ch.fields.clear();
            ch.id = Some(cur.urn.clone());
            ch.replace_file = true;
            ch.note = Some(format!(
                "{} left, under minRemaining {}: a new token ({lasts}) to {}; the old one works {} more",
                span(left.unwrap_or(0)),
                humantime::format_duration(t.min_remaining.unwrap_or_default()),
                t.secret_file.display(),
                humantime::format_duration(t.overlap)
            ));
            return Ok(Some(ch));
        }
        match file {
            FileIs::Missing | FileIs::Empty => {}
            FileIs::Holds(_) if owned.is_some() && owned == file_urn => ch.replace_file = true,
            FileIs::Holds(_) => {
                return Err(t.at.error(format!(
                    "its secretFile {} holds no live token of client `{}` that this state made: apply never overwrites a secret file it did not write; move it away",
                    t.secret_file.display(),
                    t.client
                )));
            }
        }
        ch.note = Some(if ch.replace_file {
            format!(
                "its token has expired or was deleted: a new one ({lasts}) to {}",
                t.secret_file.display()
            )
        } else {
            format!("{lasts}; its secret goes to {}", t.secret_file.display())
        });
        Ok(Some(ch))
    }

    /// What the state owns and the manifest no longer names.
    fn leftovers(&mut self, prune: bool) {
        let named = |kind: Kind, name: &str| -> bool {
            match kind {
                Kind::Client => self.d.clients.iter().any(|c| c.client_id == name),
                Kind::Role => self.d.roles.iter().any(|r| r.name == name),
                Kind::OauthClient => self.d.oauth.iter().any(|o| o.name == name),
                Kind::Token => self.d.tokens.iter().any(|t| t.key() == name),
            }
        };
        let all_tokens: BTreeSet<&str> = self
            .s
            .tokens
            .values()
            .flatten()
            .map(|t| t.urn.as_str())
            .collect();
        let mut deletes = Vec::new();
        for (kind, name, o) in self.state.all() {
            let exists = match kind {
                Kind::Client => self.s.client_ids.contains_key(&o.id),
                Kind::Role => self.s.role_names.contains_key(&o.id),
                Kind::OauthClient => self.s.oauth.iter().any(|x| x.id == o.id),
                // Read only for the clients of the manifest's policies: one outside
                // them is checked when it is deleted.
                Kind::Token => true,
            };
            if !exists {
                self.p.forget.push((kind, name.clone()));
                continue;
            }
            if named(kind, name) {
                continue;
            }
            let mine = self.s.me_client.as_deref() == Some(o.id.as_str())
                || self.s.me_token.as_deref() == Some(o.id.as_str());
            let left = Adopt {
                kind,
                name: name.clone(),
                id: o.id.clone(),
            };
            if !prune || mine {
                self.p.unmanaged.push(left);
                continue;
            }
            let mut ch = Change::new(Action::Delete, kind, name);
            ch.id = Some(o.id.clone());
            if kind == Kind::Token && !all_tokens.contains(o.id.as_str()) {
                ch.note = Some("if it still exists".into());
            }
            deletes.push(ch);
        }
        // Tokens first, then what holds them: the reverse of the order of making.
        deletes.sort_by_key(|c| std::cmp::Reverse(c.kind));
        self.p.changes.extend(deletes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::manifest::parse;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_800_000_000_000;

    fn desired(text: &str, dir: &Path) -> Desired {
        parse(text, "m.yaml", dir).unwrap()
    }

    fn snapshot_with_client(id: &str, urn: &str) -> Snapshot {
        let mut s = Snapshot::default();
        s.clients.insert(
            id.into(),
            RemoteClient {
                urn: urn.into(),
                client_id: id.into(),
                scope: "api.baack.co".into(),
            },
        );
        s.client_ids.insert(urn.into(), id.into());
        s
    }

    fn oauth(id: &str, name: &str, created: i64) -> RemoteOAuth {
        let d = desired(
            &format!(
                "oauthClients:\n  - name: {name}\n    description: d\n    grantTypes: [CLIENT_CREDENTIALS]\n    accessType: OFFLINE\n    accessTokenValiditySeconds: 600\n"
            ),
            Path::new("/"),
        );
        let mut fields = d.oauth[0].fields.clone();
        fields.insert("id".into(), id.into());
        RemoteOAuth {
            id: id.into(),
            name: name.into(),
            created: Some(created),
            fields,
        }
    }

    const OAUTH: &str = "oauthClients:\n  - name: o\n    description: d\n    grantTypes: [CLIENT_CREDENTIALS]\n    accessType: OFFLINE\n    accessTokenValiditySeconds: 600\n    secretFile: o.secret\n";

    #[test]
    fn an_existing_object_is_adopted_not_made_and_a_same_object_plans_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = desired("clients:\n  - clientID: ci\n", dir.path());
        let s = snapshot_with_client("ci", "u1");
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert!(p.changes.is_empty());
        assert_eq!(p.adopt.len(), 1);
        let mut state = State::default();
        state.own(Kind::Client, "ci", "u1", true);
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert!(p.changes.is_empty() && p.adopt.is_empty());
    }

    #[test]
    fn an_oauth_field_fixed_at_create_is_an_error_and_a_patchable_one_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Snapshot::default();
        s.oauth.push(oauth("i1", "o", NOW - DAY));
        let d = desired(&OAUTH.replace("600", "900"), dir.path());
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].fields[0].field, "accessTokenValiditySeconds");
        let d = desired(&format!("{OAUTH}    internal: true\n"), dir.path());
        let e = plan(&d, &s, &State::default(), NOW, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.yaml:2:11:") && e.contains("`internal`"),
            "{e}"
        );
        // Two of the name: the manifest cannot tell which.
        s.oauth.push(oauth("i2", "o", NOW));
        let d = desired(OAUTH, dir.path());
        let e = plan(&d, &s, &State::default(), NOW, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 OAuth clients are named `o`"), "{e}");
    }

    #[test]
    fn a_half_made_oauth_client_is_replaced_and_a_delivered_one_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let d = desired(OAUTH, dir.path());
        let mut s = Snapshot::default();
        s.oauth.push(oauth("i1", "o", NOW));
        let mut state = State::default();
        state.begin(Kind::OauthClient, "o", NOW - 10);
        // Its secret never reached the file (reserved empty): made again.
        std::fs::write(dir.path().join("o.secret"), "").unwrap();
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert_eq!(p.changes[0].action, Action::Create);
        assert_eq!(p.changes[0].replaces, vec!["i1"]);
        // Its secret is in the file: it is the one, adopted.
        std::fs::write(dir.path().join("o.secret"), "s3cret").unwrap();
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert!(p.changes.is_empty());
        assert_eq!(p.adopt[0].id, "i1");
        // A new client whose file holds something already: refused, never overwritten.
        let p = plan(&d, &Snapshot::default(), &State::default(), NOW, false);
        assert!(p.unwrap_err().to_string().contains("never overwrites"));
    }

    #[test]
    fn a_token_policy_creates_rotates_or_refuses_a_file_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let d = desired(
            "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    expiresIn: 30d\n    minRemaining: 7d\n    secretFile: t\n",
            dir.path(),
        );
        let mut s = snapshot_with_client("ci", "u1");
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert_eq!(p.changes[0].action, Action::Create);
        assert!(!p.changes[0].replace_file);
        let value = "bk_the_token";
        let urn = crate::secret::token_urn(&crate::secret::digest(value));
        std::fs::write(dir.path().join("t"), value).unwrap();
        let token = |expires: i64| RemoteToken {
            urn: urn.clone(),
            expires: Some(expires),
            description: String::new(),
            created: Some(NOW - DAY),
        };
        // Plenty left: nothing. Less than minRemaining: a rotation.
        s.tokens.insert("u1".into(), vec![token(NOW + 20 * DAY)]);
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert!(p.changes.is_empty());
        assert!(p.adopt.iter().any(|a| a.kind == Kind::Token && a.id == urn));
        s.tokens.insert("u1".into(), vec![token(NOW + 3 * DAY)]);
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert_eq!(p.changes[0].action, Action::Rotate);
        assert!(p.changes[0].replace_file);
        // Expired, and the file is the state's: made again over it. Not the state's: refused.
        s.tokens.insert("u1".into(), vec![token(NOW - DAY)]);
        let mut state = State::default();
        state.own(Kind::Token, "ci", &urn, false);
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert_eq!(p.changes[0].action, Action::Create);
        assert!(p.changes[0].replace_file);
        let e = plan(&d, &s, &State::default(), NOW, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("never overwrites"), "{e}");
    }

    #[test]
    fn a_token_a_stopped_apply_made_without_delivering_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let d = desired(
            "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    description: runner\n    expiresIn: 30d\n    secretFile: t\n",
            dir.path(),
        );
        std::fs::write(dir.path().join("t"), "").unwrap();
        let mut s = snapshot_with_client("ci", "u1");
        let made = |urn: &str, description: &str, created: i64| RemoteToken {
            urn: urn.into(),
            expires: Some(NOW + 30 * DAY),
            description: description.into(),
            created: Some(created),
        };
        s.tokens.insert(
            "u1".into(),
            vec![
                made("half", "runner", NOW - 5),
                made("older", "runner", NOW - DAY),
                made("other", "by hand", NOW - 5),
            ],
        );
        let mut state = State::default();
        state.begin(Kind::Token, "ci/runner", NOW - 10);
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert_eq!(p.changes[0].action, Action::Create);
        assert_eq!(
            p.changes[0].replaces,
            vec!["half"],
            "only the policy's, made since"
        );
        // No creation was begun: nothing is anyone's to remove.
        let p = plan(&d, &s, &State::default(), NOW, false).unwrap();
        assert!(p.changes[0].replaces.is_empty());
    }

    #[test]
    fn prune_deletes_only_what_the_state_owns_and_never_this_credential() {
        let dir = tempfile::tempdir().unwrap();
        let d = desired("clients: []\n", dir.path());
        let mut s = snapshot_with_client("old", "u1");
        s.clients.insert(
            "me".into(),
            RemoteClient {
                urn: "u2".into(),
                client_id: "me".into(),
                scope: "api.baack.co".into(),
            },
        );
        s.client_ids.insert("u2".into(), "me".into());
        s.me_client = Some("u2".into());
        let mut state = State::default();
        state.own(Kind::Client, "old", "u1", false);
        state.own(Kind::Client, "me", "u2", true);
        state.own(Kind::Client, "gone", "u9", false);
        let p = plan(&d, &s, &state, NOW, false).unwrap();
        assert!(p.changes.is_empty());
        assert_eq!(p.unmanaged.len(), 2);
        let p = plan(&d, &s, &state, NOW, true).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert_eq!(
            (p.changes[0].action, p.changes[0].name.as_str()),
            (Action::Delete, "old")
        );
        assert_eq!(p.forget, vec![(Kind::Client, "gone".to_string())]);
        // Without a state: nothing is anyone's to delete.
        let p = plan(&d, &s, &State::default(), NOW, true).unwrap();
        assert!(p.changes.is_empty());
    }
}
