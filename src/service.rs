//! Operations: authenticate, authorize, check the rules, change the store. No HTTP, clap
//! or JSON types here: the methods take the domain's typed inputs (read from the wire by
//! `crate::wire`) and return domain objects. The permission each operation needs is
//! declared once, in [`Operation::need`], and checked once per admission by
//! [`Caller::authorize`] (the server does it from the headers, before any body is read,
//! and again on the committer for a queued write); the methods themselves assume an
//! authorized caller.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::clock::{Clock, Millis, format_baack};
use crate::error::{Error, Result};
use crate::model::skeleton;
use crate::model::{
    Actor, ApiClient, AuditEvent, BearerToken, ClientInput, Company, OAuthClient, OAuthFields,
    OAuthFilter, OAuthPatch, Outcome, Permission, PreviousSecret, Retire, Role, RoleInput, Scope,
    Target, TokenInput, new_urn, parse_urn,
};
use crate::secret;
use crate::store::{AuditQuery, Check, Position, Store};
use crate::usage::{Taken, Usage, Used};
use unicode_normalization::UnicodeNormalization;

/// The most items one page of a Baack list may hold.
pub const MAX_LIMIT: usize = 1000;
/// The page size of a Baack list when none is asked for.
pub const DEFAULT_LIMIT: usize = 100;
/// The most items one page of the OAuth list may hold.
pub const MAX_OAUTH_LIMIT: usize = 250;

/// Who is calling, once their token has been checked.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The API client the token belongs to.
    pub client: ApiClient,
    /// The union of its roles' permissions (`ADMINISTER` for the root client).
    pub permissions: Vec<Permission>,
    /// The URN of the bearer token it presented; none for the embedded mode's root and
    /// for an OAuth access token.
    pub token: Option<String>,
    /// The OAuth client whose access token it presented, if it did.
    pub oauth_client: Option<String>,
    /// Its access token's scope allows the OAuth client API only.
    pub oauth_only: bool,
}

/// What an operation needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any management GET: `READ` or `ADMINISTER`.
    Read,
    /// Any management change: `ADMINISTER`.
    Administer,
}

impl Caller {
    /// Fails with [`Error::Forbidden`] unless the caller holds what `need` asks.
    pub fn require(&self, need: Need) -> Result<()> {
        let has = |p| self.permissions.contains(&p);
        let ok = match need {
            Need::Read => has(Permission::Read) || has(Permission::Administer),
            Need::Administer => has(Permission::Administer),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "API client `{}` lacks the {} permission",
                self.client.client_id,
                match need {
                    Need::Read => "READ",
                    Need::Administer => "ADMINISTER",
                }
            )))
        }
    }
}

/// Every operation of both APIs. What each needs of its caller is declared here, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET /n/v1/clientcontext`.
    ClientContext,
    /// `GET /n/v1/company/{urn}`.
    GetCompany,
    /// `GET /n/v1/company`.
    ListCompanies,
    /// `POST /n/v1/apiclient`.
    CreateClient,
    /// `GET /n/v1/apiclient/{urn}`.
    GetClient,
    /// `GET /n/v1/apiclient`.
    ListClients,
    /// `PUT /n/v1/apiclient/{urn}`.
    UpdateClient,
    /// `DELETE /n/v1/apiclient/{urn}`.
    DeleteClient,
    /// `POST /n/v1/apiclientbearertoken`.
    CreateToken,
    /// `GET /n/v1/apiclientbearertoken/{urn}`.
    GetToken,
    /// `GET /n/v1/apiclientbearertoken`.
    ListTokens,
    /// `PUT /n/v1/apiclientbearertoken/{urn}`.
    UpdateToken,
    /// `DELETE /n/v1/apiclientbearertoken/{urn}`.
    DeleteToken,
    /// `POST /n/v1/permissionrole`.
    CreateRole,
    /// `GET /n/v1/permissionrole/{urn}`.
    GetRole,
    /// `GET /n/v1/permissionrole`.
    ListRoles,
    /// `PUT /n/v1/permissionrole/{urn}`.
    UpdateRole,
    /// `DELETE /n/v1/permissionrole/{urn}`.
    DeleteRole,
    /// `POST /v3/oauth-clients`.
    CreateOAuth,
    /// `GET /v3/oauth-clients/{id}`.
    GetOAuth,
    /// `GET /v3/oauth-clients`.
    ListOAuth,
    /// `PATCH /v3/oauth-clients/{id}`.
    PatchOAuth,
    /// `DELETE /v3/oauth-clients/{id}`.
    DeleteOAuth,
    /// `POST /v3/oauth-clients/{id}/secret`.
    RotateOAuthSecret,
    /// `GET /n/v1/auditevent/`.
    ListAudit,
    /// `GET /n/v1/auditevent/{urn}`.
    GetAudit,
}

impl Operation {
    /// The type of object it is about, as audit events name it.
    pub fn kind(self) -> &'static str {
        use Operation as O;
        match self {
            O::ClientContext | O::GetCompany | O::ListCompanies => "company",
            O::CreateClient | O::GetClient | O::ListClients | O::UpdateClient | O::DeleteClient => {
                "apiclient"
            }
            O::CreateToken | O::GetToken | O::ListTokens | O::UpdateToken | O::DeleteToken => {
                "apiclientbearertoken"
            }
            O::CreateRole | O::GetRole | O::ListRoles | O::UpdateRole | O::DeleteRole => {
                "permissionrole"
            }
            O::CreateOAuth
            | O::GetOAuth
            | O::ListOAuth
            | O::PatchOAuth
            | O::DeleteOAuth
            | O::RotateOAuthSecret => "oauthclient",
            O::ListAudit | O::GetAudit => "auditevent",
        }
    }

    /// What the operation needs of its caller: nothing more than a valid token for the
    /// client context, `READ` for any other read, `ADMINISTER` for any change.
    pub fn need(self) -> Option<Need> {
        use Operation as O;
        match self {
            O::ClientContext => None,
            O::GetCompany
            | O::ListCompanies
            | O::GetClient
            | O::ListClients
            | O::GetToken
            | O::ListTokens
            | O::GetRole
            | O::ListRoles
            | O::GetOAuth
            | O::ListOAuth
            | O::ListAudit
            | O::GetAudit => Some(Need::Read),
            O::CreateClient
            | O::UpdateClient
            | O::DeleteClient
            | O::CreateToken
            | O::UpdateToken
            | O::DeleteToken
            | O::CreateRole
            | O::UpdateRole
            | O::DeleteRole
            | O::CreateOAuth
            | O::PatchOAuth
            | O::DeleteOAuth
            | O::RotateOAuthSecret => Some(Need::Administer),
        }
    }
}

impl Caller {
    /// Who this is, for an audit event.
    pub fn actor(&self) -> Actor {
        Actor {
            client: self.client.urn.clone(),
            token: self.token.clone(),
            oauth_client: self.oauth_client.clone(),
        }
    }

    /// Fails with [`Error::Forbidden`] unless the caller may run `op`: the one check of
    /// the permission an operation needs.
    pub fn authorize(&self, op: Operation) -> Result<()> {
        if self.oauth_only && op.kind() != "oauthclient" {
            return Err(Error::Forbidden(
                "this access token's scope allows the OAuth client API only".into(),
            ));
        }
        match op.need() {
            Some(need) => self.require(need),
            None => Ok(()),
        }
    }
}

/// One page of a list and the key to continue after it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Set when more follow: pass it back as `after`.
    pub next: Option<String>,
}

/// Paging parameters of a Baack list.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// Continue after this URN.
    pub after: Option<String>,
    /// At most this many items.
    pub limit: usize,
    /// Only what has not been used for this long (and is older than that).
    pub unused_for: Option<Millis>,
    /// Only what was used within this long.
    pub used_within: Option<Millis>,
}

impl PageQuery {
    fn filters(&self) -> bool {
        self.unused_for.is_some() || self.used_within.is_some()
    }

    /// Whether something made at `created` and last used at `last_used` passes the
    /// last-use filters at `now`. Never used counts as unused since it was made; a
    /// record from before creation times were kept counts as made long ago.
    fn wants(&self, created: Option<Millis>, last_used: Option<Millis>, now: Millis) -> bool {
        let active = last_used.max(created).unwrap_or(i64::MIN);
        self.unused_for
            .is_none_or(|d| active <= now.saturating_sub(d))
            && self
                .used_within
                .is_none_or(|d| last_used.is_some_and(|u| u >= now.saturating_sub(d)))
    }
}

/// How a PUT of a token's `expirationTimestamp` treats an expiry already set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryRule {
    /// Never later than an earlier expiry already set (API.md, our addition).
    NeverLater,
    /// As given, later or not: Baack's own documentation states no rule.
    AsGiven,
}

/// The operations of both APIs over one store.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    clock: Arc<dyn Clock>,
    usage: Arc<Usage>,
    /// The signing keys, read once and again only when a token names one not among
    /// them (a rotation by another process): a key is never changed, only added or,
    /// long after its last token expired, removed.
    keys: Arc<std::sync::RwLock<Arc<Vec<crate::jwt::Verifier>>>>,
    /// Access tokens whose signature was checked, by digest (see `verified_claims`).
    verified: Arc<std::sync::Mutex<std::collections::HashMap<String, crate::jwt::Claims>>>,
}

/// The most verified access tokens remembered.
const VERIFIED_MAX: usize = 10_000;

/// Why the token endpoint refuses (RFC 6749 section 5.2).
#[derive(Debug)]
pub enum GrantError {
    /// `invalid_request`: a parameter missing, repeated or malformed.
    InvalidRequest(String),
    /// `invalid_client`: unknown client or wrong secret (one answer for both).
    InvalidClient,
    /// `unauthorized_client`: this client may not use this grant.
    UnauthorizedClient(String),
    /// `unsupported_grant_type`.
    UnsupportedGrantType(String),
    /// `invalid_scope`: a scope the client does not have.
    InvalidScope(String),
    /// Not the request's fault.
    Server(Error),
}

impl From<Error> for GrantError {
    fn from(e: Error) -> Self {
        GrantError::Server(e)
    }
}

/// An access token issued by the token endpoint.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The signed JWT.
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// Parses a URN taken from a path or a query.
pub fn urn_param(s: &str) -> Result<String> {
    parse_urn(s).ok_or_else(|| {
        Error::BadRequest(format!(
            "`{s}` is not a URN (a lowercase hyphenated UUID like 00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8)"
        ))
    })
}

fn not_found(what: &str, key: &str) -> Error {
    Error::NotFound(format!("no {what} {key}"))
}

/// The `ETag` of a role version.
pub fn role_etag(r: &Role) -> String {
    format!("\"{}\"", r.version)
}

fn finish_page<T>(items: Vec<T>, more: bool, key: impl Fn(&T) -> String) -> Page<T> {
    let next = if more { items.last().map(key) } else { None };
    Page { items, next }
}

/// A bearer token made and staged, not yet stored (see [`Service::prepare_token`]).
#[derive(Debug)]
pub struct NewToken {
    rec: BearerToken,
    token: String,
    staged: crate::store::Staged,
}

/// The most a rotation's overlap may be: 30 days, as for OAuth secrets.
pub const MAX_OVERLAP: Millis = 2_592_000_000;

/// The least idle window of a token retired once unused (`idleTimeoutSeconds`): last
/// use is recorded to the minute.
pub const MIN_IDLE: Millis = 300_000;

/// A new event about `key` of type `kind` by `caller`.
fn event(
    caller: &Caller,
    now: Millis,
    action: &str,
    kind: &str,
    key: &str,
    detail: Option<String>,
) -> AuditEvent {
    AuditEvent {
        urn: new_urn(),
        timestamp: now,
        actor: caller.actor(),
        action: action.into(),
        target: Target {
            kind: kind.into(),
            key: Some(key.into()),
        },
        outcome: Outcome::Success,
        detail,
    }
}

impl Service {
    /// A service over `store`, reading the time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Service {
            store,
            clock,
            usage: Arc::default(),
            keys: Arc::default(),
            verified: Arc::default(),
        }
    }

    // --- OAuth access tokens --------------------------------------------------------

    fn cached_keys(&self) -> Arc<Vec<crate::jwt::Verifier>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the keys again and parses their public halves, once for every token they
    /// will verify.
    fn reload_keys(&self) -> Result<Arc<Vec<crate::jwt::Verifier>>> {
        let keys = self
            .store
            .signing_keys()?
            .iter()
            .map(crate::jwt::SigningKey::verifier)
            .collect::<Result<Vec<_>>>()?;
        let keys = Arc::new(keys);
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys.clone();
        Ok(keys)
    }

    /// The key that signs: the newest unretired one, made (and stored) on first use.
    fn signing_key(&self) -> Result<crate::jwt::SigningKey> {
        let newest = |keys: &[crate::jwt::SigningKey]| {
            keys.iter().rev().find(|k| k.retired.is_none()).cloned()
        };
        if let Some(k) = newest(&self.store.signing_keys()?) {
            return Ok(k);
        }
        let now = self.now();
        self.store.write(|txn| {
            if let Some(k) = newest(&txn.signing_keys()?) {
                return Ok(k);
            }
            let k = crate::jwt::SigningKey::generate(now)?;
            txn.put_signing_key(&k)?;
            Ok(k)
        })
    }

    /// The public keys, as `/.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> Result<Vec<Value>> {
        self.store.signing_keys()?.iter().map(|k| k.jwk()).collect()
    }

    /// Starts signing with a new key; the old ones keep verifying until every token they
    /// signed has expired (then they are deleted). Audited.
    pub fn rotate_signing_key(&self, caller: &Caller) -> Result<String> {
        let now = self.now();
        let new = crate::jwt::SigningKey::generate(now)?;
        let ev = AuditEvent {
            urn: new_urn(),
            timestamp: now,
            actor: caller.actor(),
            action: "signingkey.rotate".into(),
            target: Target {
                kind: "signingkey".into(),
                key: Some(new.kid.clone()),
            },
            outcome: Outcome::Success,
            detail: Some(
                "a new key signs; the previous ones verify until their tokens expire".into(),
            ),
        };
        self.store.write(|txn| {
            for mut k in txn
                .signing_keys()?
                .into_iter()
                .filter(|k| k.retired.is_none())
            {
                k.retired = Some(now);
                txn.put_signing_key(&k)?;
            }
            txn.put_signing_key(&new)?;
            txn.prune_signing_keys(now)?;
            txn.append_events(std::slice::from_ref(&ev))
        })?;
        self.reload_keys()?;
        Ok(new.kid)
    }

    /// The client-credentials grant (RFC 6749 section 4.4): checks the client, its
    /// grant types, type and state, and the scope asked (default: all of the client's),
    /// and signs an access token lasting `accessTokenValiditySeconds`. Using the secret
    /// is the client's last use.
    pub fn issue_access_token(
        &self,
        id: &str,
        secret_value: &str,
        scope: Option<&str>,
        issuer: &str,
    ) -> std::result::Result<Issued, GrantError> {
        let rec = match self.check_oauth_secret(id, secret_value) {
            Ok(r) => r,
            Err(Error::Unauthorized(_)) => return Err(GrantError::InvalidClient),
            Err(e) => return Err(e.into()),
        };
        let f = &rec.fields;
        if !f.enabled {
            return Err(GrantError::UnauthorizedClient(
                "the client is disabled".into(),
            ));
        }
        if f.client_type == "PUBLIC" {
            return Err(GrantError::UnauthorizedClient(
                "a PUBLIC client cannot use client_credentials".into(),
            ));
        }
        if !f.grant_types.iter().any(|g| g == "CLIENT_CREDENTIALS") {
            return Err(GrantError::UnauthorizedClient(
                "the client's grantTypes lack CLIENT_CREDENTIALS".into(),
            ));
        }
        let granted: Vec<String> = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => f.scope.clone(),
            Some(asked) => {
                let asked: Vec<String> = asked.split_whitespace().map(str::to_string).collect();
                if let Some(bad) = asked.iter().find(|s| !f.scope.contains(s)) {
                    return Err(GrantError::InvalidScope(format!(
                        "the client has no scope `{bad}`; it has {}",
                        f.scope.join(" ")
                    )));
                }
                asked
            }
        };
        let now = self.now();
        let key = self.signing_key()?;
        let claims = crate::jwt::Claims {
            iss: issuer.to_string(),
            sub: rec.id.clone(),
            iat: now.div_euclid(1000),
            exp: now.div_euclid(1000) + f.access_token_validity_seconds,
            jti: new_urn(),
            scope: granted.join(" "),
        };
        Ok(Issued {
            access_token: key.sign(&claims)?,
            expires_in: f.access_token_validity_seconds,
            scope: claims.scope,
        })
    }

    /// Verifies an access token: signature, expiry, and that its OAuth client still
    /// exists, is enabled, and has an owner that may call the API. The claims, and the
    /// client's record.
    pub fn verify_access_token(&self, token: &str) -> Result<(crate::jwt::Claims, OAuthClient)> {
        let now = self.now();
        let claims = self.verified_claims(token, now)?;
        let rec = self.store.oauth(&claims.sub)?.ok_or_else(|| {
            Error::Unauthorized("the access token's OAuth client was deleted".into())
        })?;
        if !rec.fields.enabled {
            return Err(Error::Unauthorized(
                "the access token's OAuth client is disabled".into(),
            ));
        }
        Ok((claims, rec))
    }

    /// A token's claims: from the tokens verified before (a signature is checked once per
    /// token, not once per request: an ECDSA verification costs far more than the rest
    /// of a request), else verified now. Expiry is checked every time.
    fn verified_claims(&self, token: &str, now: Millis) -> Result<crate::jwt::Claims> {
        let key = secret::digest(token);
        let lock = || {
            self.verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(c) = lock().get(&key).cloned() {
            if c.exp.saturating_mul(1000) <= now {
                return Err(Error::Unauthorized("the access token is expired".into()));
            }
            return Ok(c);
        }
        let claims = match crate::jwt::verify(token, &self.cached_keys(), now) {
            Ok(c) => c,
            // A key made since (a rotation by another process): read the keys again.
            Err(_) => crate::jwt::verify(token, &self.reload_keys()?, now)?,
        };
        let mut seen = lock();
        // Bounded: past the cap it starts over (only valid tokens get in, so a flood of
        // made-up ones cannot fill it).
        if seen.len() >= VERIFIED_MAX {
            seen.clear();
        }
        seen.insert(key, claims.clone());
        Ok(claims)
    }

    /// An access token as a caller: its OAuth client's owner, with the owner's
    /// permissions narrowed by the token's scope (API.md "OAuth token endpoint").
    fn authenticate_access_token(&self, token: &str) -> Result<Caller> {
        let (claims, rec) = self.verify_access_token(token)?;
        let owner = rec
            .owner
            .clone()
            .unwrap_or_else(|| self.store.meta().root_client.clone());
        let client = self.store.client(&owner)?.ok_or_else(|| {
            Error::Unauthorized("the access token's OAuth client's owner was deleted".into())
        })?;
        if client.scope != Scope::Api {
            return Err(Error::Unauthorized(
                "the access token's owner has a scope that cannot call the API".into(),
            ));
        }
        let theirs = self.permissions_of(&client)?;
        let scopes: Vec<&str> = claims.scope.split_whitespace().collect();
        let (permissions, oauth_only) = if scopes.contains(&"sp:scopes:all") {
            (theirs, false)
        } else {
            let has = |p: Permission| theirs.contains(&p);
            let mut p = Vec::new();
            if scopes.contains(&"sp:oauth-client:manage") && has(Permission::Administer) {
                p.push(Permission::Administer);
            }
            if scopes.contains(&"sp:oauth-client:read")
                && (has(Permission::Read) || has(Permission::Administer))
            {
                p.push(Permission::Read);
            }
            (p, true)
        };
        self.usage
            .note(Used::OAuth(rec.id.clone()), rec.last_used, self.now());
        Ok(Caller {
            client,
            permissions,
            token: None,
            oauth_client: Some(rec.id),
            oauth_only,
        })
    }

    /// RFC 7662 introspection, for a caller that authenticated with its own client
    /// credentials: the claims of a token that works now, else `None` (inactive).
    pub fn introspect(
        &self,
        id: &str,
        secret_value: &str,
        token: &str,
    ) -> std::result::Result<Option<crate::jwt::Claims>, GrantError> {
        match self.check_oauth_secret(id, secret_value) {
            Ok(_) => {}
            Err(Error::Unauthorized(_)) => return Err(GrantError::InvalidClient),
            Err(e) => return Err(e.into()),
        }
        match self.verify_access_token(token) {
            Ok((c, _)) => Ok(Some(c)),
            Err(Error::Unauthorized(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// What was noted about use since the last flush (see `crate::usage`).
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Writes what was noted about use: last-use times (never earlier than those stored)
    /// and refused-request events, in one write. On failure nothing noted is lost: it
    /// waits for the next flush. Returns how many records and events were written.
    pub fn flush_usage(&self) -> Result<usize> {
        let taken = self.usage.take(self.now());
        if taken.is_empty() {
            return Ok(0);
        }
        match self.store.write(|txn| Self::write_usage(txn, &taken)) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.usage.put_back(taken);
                Err(e)
            }
        }
    }

    fn write_usage(txn: &crate::store::Txn<'_>, taken: &Taken) -> Result<usize> {
        let later = |stored: Option<Millis>, at: Millis| stored.is_none_or(|s| s < at);
        let mut n = 0;
        for (what, at) in &taken.uses {
            let at = *at;
            match what {
                Used::Token(u) => {
                    if let Some(mut t) = txn.token(u)?.filter(|t| later(t.last_used, at)) {
                        t.last_used = Some(at);
                        txn.update_token(&t)?;
                        n += 1;
                    }
                }
                Used::Client(u) => {
                    if let Some(mut c) = txn.client(u)?.filter(|c| later(c.last_used, at)) {
                        let old = c.clone();
                        c.last_used = Some(at);
                        txn.put_client(&c, Some(&old))?;
                        n += 1;
                    }
                }
                Used::OAuth(id) => {
                    if let Some(mut o) = txn.oauth(id)?.filter(|o| later(o.last_used, at)) {
                        o.last_used = Some(at);
                        txn.put_oauth(&o)?;
                        n += 1;
                    }
                }
            }
        }
        txn.append_events(&taken.denied)?;
        Ok(n + taken.denied.len())
    }

    /// Notes that `caller` was refused `what` (an operation, for a person) for lack of
    /// permission: an `auth.denied` event, at most one per token per minute, written by
    /// the next flush. Only a valid token's refusals are noted; the embedded root is
    /// never refused.
    pub fn note_denied(&self, caller: &Caller, kind: &str, what: &str, why: &str) {
        let ev = AuditEvent {
            urn: new_urn(),
            timestamp: self.now(),
            actor: caller.actor(),
            action: "auth.denied".into(),
            target: Target {
                kind: kind.into(),
                key: None,
            },
            outcome: Outcome::Denied,
            detail: Some(format!("{what}: {why}")),
        };
        self.usage.note_denied(ev, caller.token.as_deref());
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current time.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Checks a bearer token: its shape and checksum first (no lookup for a typo), then
    /// the store by digest, its expiry, its client and that client's scope.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller> {
        let token = token.ok_or_else(|| {
            Error::Unauthorized("no bearer token: send `Authorization: Bearer <token>`".into())
        })?;
        if !token.starts_with(secret::TOKEN_PREFIX) && crate::jwt::looks_like_jwt(token) {
            return self.authenticate_access_token(token);
        }
        secret::check_bearer_token(token)
            .map_err(|why| Error::Unauthorized(format!("the bearer token is malformed: {why}")))?;
        let t = self
            .store
            .token_by_digest(&secret::digest(token))?
            .ok_or_else(|| Error::Unauthorized("the bearer token is unknown".into()))?;
        if !t.is_live(self.now()) {
            return Err(Error::Unauthorized(
                "the bearer token has expired or was revoked".into(),
            ));
        }
        let client = self.store.client(&t.client)?.ok_or_else(|| {
            Error::Unauthorized("the bearer token's API client was deleted".into())
        })?;
        if client.scope != Scope::Api {
            return Err(Error::Unauthorized(format!(
                "the bearer token's API client has scope {}, which cannot call the API",
                client.scope.as_str()
            )));
        }
        let permissions = self.permissions_of(&client)?;
        let now = self.now();
        self.usage
            .note(Used::Token(t.urn.clone()), t.last_used, now);
        self.usage
            .note(Used::Client(client.urn.clone()), client.last_used, now);
        Ok(Caller {
            client,
            permissions,
            token: Some(t.urn),
            oauth_client: None,
            oauth_only: false,
        })
    }

    /// The root client as a caller, for the in-process transport of the embedded mode.
    pub fn root_caller(&self) -> Result<Caller> {
        let root = &self.store.meta().root_client;
        let client = self
            .store
            .client(root)?
            .ok_or_else(|| Error::StoreCorrupt {
                path: self
                    .store
                    .path()
                    .join("clients")
                    .join(format!("{root}.json")),
                reason: "the root client is missing".into(),
            })?;
        Ok(Caller {
            client,
            permissions: vec![Permission::Administer],
            token: None,
            oauth_client: None,
            oauth_only: false,
        })
    }

    /// Only the root client may mint, extend, shorten or delete the root client's tokens
    /// (API.md, bearer tokens): a delegated admin must not be able to give itself access
    /// that outlives its own removal, nor lock the root out. Anyone else gets what a
    /// missing permission gets, NOT_FOUND.
    fn check_root_token(&self, caller: &Caller, token_client: &str) -> Result<()> {
        let root = &self.store.meta().root_client;
        if token_client == root && caller.client.urn != *root {
            let why = format!(
                "only the root client may create or change the root client's tokens, not `{}`",
                caller.client.client_id
            );
            // The one refusal an operation makes itself; admission notes the others.
            self.note_denied(caller, "apiclientbearertoken", "a root token", &why);
            return Err(Error::Forbidden(why));
        }
        Ok(())
    }

    fn permissions_of(&self, client: &ApiClient) -> Result<Vec<Permission>> {
        if client.urn == self.store.meta().root_client {
            return Ok(vec![Permission::Administer]);
        }
        let mut set = BTreeSet::new();
        for role in self.store.roles_of_client(&client.urn)? {
            set.extend(role.permissions);
        }
        Ok(set.into_iter().collect())
    }

    /// `GET /n/v1/clientcontext`: the caller, its company and its permissions.
    pub fn client_context(&self, caller: &Caller) -> Result<(ApiClient, Company, Vec<Permission>)> {
        Ok((
            caller.client.clone(),
            self.store.company()?,
            caller.permissions.clone(),
        ))
    }

    /// The company by URN.
    pub fn company(&self, _caller: &Caller, urn: &str) -> Result<Company> {
        let urn = urn_param(urn)?;
        let c = self.store.company()?;
        if c.urn == urn {
            Ok(c)
        } else {
            Err(not_found("company", &urn))
        }
    }

    /// Every company (there is one per store).
    pub fn companies(&self, _caller: &Caller) -> Result<Vec<Company>> {
        Ok(vec![self.store.company()?])
    }

    fn check_owner(&self, owner: Option<&str>) -> Result<String> {
        let company = self.store.company()?;
        match owner {
            Some(o) if o == company.urn => Ok(company.urn),
            Some(o) => Err(not_found("company", o)),
            None => Err(Error::MissingField("owner".into())),
        }
    }

    // --- API clients ---------------------------------------------------------------

    /// Creates an API client.
    pub fn create_client(&self, caller: &Caller, input: &ClientInput) -> Result<ApiClient> {
        let owner = self.check_owner(input.owner.as_deref())?;
        self.store.write(|txn| {
            if txn.client_by_id(&input.client_id)?.is_some() {
                return Err(duplicate_client(&input.client_id));
            }
            check_client_skeleton(txn, &input.client_id, None)?;
            let now = self.now();
            let urn = new_urn();
            let ev = event(
                caller,
                now,
                "apiclient.create",
                "apiclient",
                &urn,
                Some(format!(
                    "clientID {}, scope {}",
                    input.client_id,
                    input.scope.as_str()
                )),
            );
            let c = ApiClient {
                urn,
                client_id: input.client_id.clone(),
                scope: input.scope,
                owner,
                created: Some(now),
                last_used: None,
                rev: Some(ev.urn.clone()),
            };
            txn.audited(&ev, vec![Check::created("clients", &c.urn)], || {
                txn.put_client(&c, None)
            })?;
            Ok(c)
        })
    }

    /// Reads an API client.
    pub fn get_client(&self, _caller: &Caller, urn: &str) -> Result<ApiClient> {
        let urn = urn_param(urn)?;
        self.store
            .client(&urn)?
            .ok_or_else(|| not_found("API client", &urn))
    }

    /// Lists API clients, optionally only the one with `client_id`, optionally only
    /// those the last-use filters of `q` pass.
    pub fn list_clients(
        &self,
        _caller: &Caller,
        client_id: Option<&str>,
        q: &PageQuery,
    ) -> Result<Page<ApiClient>> {
        let now = self.now();
        let wanted = |c: &ApiClient| q.wants(c.created, c.last_used, now);
        if let Some(id) = client_id {
            // Names are stored NFC: a decomposed spelling finds the same client.
            let id: String = id.nfc().collect();
            let items = self
                .store
                .client_by_id(&id)?
                .filter(|c| q.after.as_deref().is_none_or(|a| c.urn.as_str() > a))
                .filter(wanted)
                .into_iter()
                .collect();
            return Ok(Page { items, next: None });
        }
        filtered_page(
            q,
            wanted,
            |after, limit| self.store.clients(after, limit),
            |c| c.urn.clone(),
        )
    }

    /// Replaces an API client's `clientID` and `scope`.
    pub fn update_client(
        &self,
        caller: &Caller,
        urn: &str,
        input: &ClientInput,
    ) -> Result<ApiClient> {
        let urn = urn_param(urn)?;
        let root = self.store.meta().root_client.clone();
        self.store.write(|txn| {
            let old = txn
                .client(&urn)?
                .ok_or_else(|| not_found("API client", &urn))?;
            if urn == root && input.scope != Scope::Api {
                return Err(Error::invalid(
                    "scope",
                    "the root client keeps scope api.baack.co, or nobody could administer the store",
                ));
            }
            if old.client_id != input.client_id {
                if txn.client_by_id(&input.client_id)?.is_some() {
                    return Err(duplicate_client(&input.client_id));
                }
                check_client_skeleton(txn, &input.client_id, Some(&urn))?;
            }
            let mut changes = Vec::new();
            if old.client_id != input.client_id {
                changes.push(format!("clientID {} -> {}", old.client_id, input.client_id));
            }
            if old.scope != input.scope {
                changes.push(format!(
                    "scope {} -> {}",
                    old.scope.as_str(),
                    input.scope.as_str()
                ));
            }
            if changes.is_empty() {
                return Ok(old);
            }
            let ev = event(
                caller,
                self.now(),
                "apiclient.update",
                "apiclient",
                &urn,
                Some(changes.join("; ")),
            );
            let new = ApiClient {
                client_id: input.client_id.clone(),
                scope: input.scope,
                rev: Some(ev.urn.clone()),
                ..old.clone()
            };
            txn.audited(&ev, vec![Check::updated("clients", &urn)], || {
                txn.put_client(&new, Some(&old))
            })?;
            Ok(new)
        })
    }

    /// Deletes an API client, its tokens and its role memberships.
    pub fn delete_client(&self, caller: &Caller, urn: &str) -> Result<String> {
        let urn = urn_param(urn)?;
        if urn == self.store.meta().root_client {
            return Err(Error::invalid(
                "urn",
                "the root client cannot be deleted; create another client and delete that instead",
            ));
        }
        self.store.write(|txn| {
            let c = txn
                .client(&urn)?
                .ok_or_else(|| not_found("API client", &urn))?;
            let tokens = txn.client_token_urns(&urn)?.len();
            let ev = event(
                caller,
                self.now(),
                "apiclient.delete",
                "apiclient",
                &urn,
                Some(format!(
                    "clientID {}, with its tokens ({tokens})",
                    c.client_id
                )),
            );
            txn.audited(&ev, vec![Check::deleted("clients", &urn)], || {
                txn.delete_client(&c)
            })?;
            Ok(urn.clone())
        })
    }

    // --- bearer tokens -------------------------------------------------------------

    /// Creates a bearer token; the token itself is returned here and nowhere else.
    pub fn create_token(
        &self,
        caller: &Caller,
        input: &TokenInput,
    ) -> Result<(BearerToken, String)> {
        let new = self.prepare_token(caller, input)?;
        self.commit_token(caller, new)
    }

    /// The part of [`Service::create_token`] that needs no write lock: checks the body,
    /// makes the token, and stages its file. A server runs it on the request's own
    /// worker, so that its one writer thread only names the file.
    pub fn prepare_token(&self, caller: &Caller, input: &TokenInput) -> Result<NewToken> {
        let client = input
            .client
            .clone()
            .ok_or_else(|| Error::MissingField("apiClient".into()))?;
        self.check_root_token(caller, &client)?;
        let now = self.now();
        if let Some(t) = input.expires
            && t <= now
        {
            return Err(Error::invalid(
                "expirationTimestamp",
                format!(
                    "{} is not in the future (now is {})",
                    format_baack(t),
                    format_baack(now)
                ),
            ));
        }
        let token = secret::new_bearer_token()?;
        let digest = secret::digest(&token);
        let rec = BearerToken {
            urn: secret::token_urn(&digest),
            client,
            digest,
            shown: secret::obfuscate(&token),
            expires: input.expires,
            created: now,
            description: input.description.clone().filter(|d| !d.is_empty()),
            last_used: None,
            // Its create event's URN, known now because the file is written now.
            rev: Some(new_urn()),
            retire: None,
        };
        let staged = self.store.stage_token(&rec)?;
        Ok(NewToken { rec, token, staged })
    }

    /// Stores a token made by [`Service::prepare_token`], if its client still exists
    /// (a server authorizes `caller` again before: it may have lost its rights since).
    pub fn commit_token(&self, caller: &Caller, new: NewToken) -> Result<(BearerToken, String)> {
        let NewToken { rec, token, staged } = new;
        self.check_root_token(caller, &rec.client)?;
        self.store.write(|txn| {
            let Some(client) = txn.client(&rec.client)? else {
                return Err(not_found("API client", &rec.client));
            };
            let mut ev = event(
                caller,
                self.now(),
                "apiclientbearertoken.create",
                "apiclientbearertoken",
                &rec.urn,
                Some(token_detail(&client.client_id, &rec)),
            );
            ev.urn = rec.rev.clone().unwrap_or_default();
            txn.audited(&ev, vec![Check::created("tokens", &rec.urn)], || {
                txn.put_staged_token(&rec, staged)
            })
        })?;
        Ok((rec, token))
    }

    /// Reads a bearer token (obfuscated).
    pub fn get_token(&self, _caller: &Caller, urn: &str) -> Result<BearerToken> {
        let urn = urn_param(urn)?;
        self.store
            .token(&urn)?
            .ok_or_else(|| not_found("bearer token", &urn))
    }

    /// Lists bearer tokens, of one client (a URN, checked again here) or of all,
    /// optionally only those the last-use filters of `q` pass.
    pub fn list_tokens(
        &self,
        _caller: &Caller,
        client: Option<&str>,
        q: &PageQuery,
    ) -> Result<Page<BearerToken>> {
        let client = client.map(urn_param).transpose()?;
        let now = self.now();
        filtered_page(
            q,
            |t: &BearerToken| q.wants(Some(t.created), t.last_used, now),
            |after, limit| self.store.tokens(client.as_deref(), after, limit),
            |t| t.urn.clone(),
        )
    }

    /// Changes a token (its expiry, its description). The expiry follows `rule`:
    /// [`ExpiryRule::NeverLater`] is API.md's revocation with a notice period (a past time
    /// revokes it at once); [`ExpiryRule::AsGiven`] is what a server without that rule of
    /// ours does (`baack serve --documented-only`).
    pub fn update_token(
        &self,
        caller: &Caller,
        urn: &str,
        input: &TokenInput,
        rule: ExpiryRule,
    ) -> Result<BearerToken> {
        let urn = urn_param(urn)?;
        self.store.write(|txn| {
            let mut t = txn
                .token(&urn)?
                .ok_or_else(|| not_found("bearer token", &urn))?;
            self.check_root_token(caller, &t.client)?;
            let before = t.clone();
            if let Some(new) = input.expires {
                t.expires = Some(match rule {
                    ExpiryRule::NeverLater => t.expires.map_or(new, |old| old.min(new)),
                    ExpiryRule::AsGiven => new,
                });
            }
            if let Some(d) = &input.description {
                t.description = Some(d.clone()).filter(|d| !d.is_empty());
            }
            let now = self.now();
            if let Some(idle) = input.idle {
                // An idle rule only ever shortens a life: a second one keeps the earlier end.
                let new = Retire { idle, since: now };
                let keep_old = t
                    .retire
                    .is_some_and(|r| t.idle_end(r) <= now.saturating_add(idle));
                if !keep_old {
                    t.retire = Some(new);
                }
            }
            let successor = match &input.replaced_by {
                Some(n) => {
                    // A reference to nothing is NOT_FOUND, as everywhere in the API.
                    let new = txn.token(n)?.ok_or_else(|| not_found("bearer token", n))?;
                    if new.client != t.client || new.urn == t.urn {
                        return Err(Error::invalid(
                            "replacedBy",
                            format!("{n} is not another token of the same API client"),
                        ));
                    }
                    Some(new.urn)
                }
                None => None,
            };
            if t == before && successor.is_none() {
                return Ok(t);
            }
            let ends = t.ends().map_or("never".into(), format_baack);
            let idle = t
                .retire
                .map(|r| format!(", or once unused for {}s", r.idle / 1000))
                .unwrap_or_default();
            let (action, detail) = match &successor {
                Some(n) => (
                    "apiclientbearertoken.rotate",
                    format!("replaced by {n}; works until {ends}{idle}"),
                ),
                None if t.expires != before.expires || t.retire != before.retire => (
                    "apiclientbearertoken.revoke",
                    format!("works until {ends}{idle}"),
                ),
                None => ("apiclientbearertoken.update", "description".to_string()),
            };
            let ev = event(
                caller,
                self.now(),
                action,
                "apiclientbearertoken",
                &urn,
                Some(detail),
            );
            t.rev = Some(ev.urn.clone());
            txn.audited(&ev, vec![Check::updated("tokens", &urn)], || {
                txn.update_token(&t)
            })?;
            Ok(t)
        })
    }

    /// Deletes a token: it stops working at once.
    pub fn delete_token(&self, caller: &Caller, urn: &str) -> Result<String> {
        let urn = urn_param(urn)?;
        self.store.write(|txn| {
            let t = txn
                .token(&urn)?
                .ok_or_else(|| not_found("bearer token", &urn))?;
            self.check_root_token(caller, &t.client)?;
            let ev = event(
                caller,
                self.now(),
                "apiclientbearertoken.delete",
                "apiclientbearertoken",
                &urn,
                None,
            );
            txn.audited(&ev, vec![Check::deleted("tokens", &urn)], || {
                txn.delete_token(&t)
            })?;
            Ok(urn.clone())
        })
    }

    // --- permission roles ----------------------------------------------------------

    fn check_clients(txn: &Store, clients: &[String]) -> Result<()> {
        for c in clients {
            if txn.client(c)?.is_none() {
                return Err(not_found("API client", c));
            }
        }
        Ok(())
    }

    /// Creates a role.
    pub fn create_role(&self, caller: &Caller, input: &RoleInput) -> Result<Role> {
        let owner = self.check_owner(input.owner.as_deref())?;
        self.store.write(|txn| {
            if txn.role_by_name(&input.name)?.is_some() {
                return Err(duplicate_role(&input.name));
            }
            check_role_skeleton(txn, &input.name, None)?;
            Self::check_clients(txn, &input.clients)?;
            let urn = new_urn();
            let permissions = input.permissions.clone().unwrap_or_default();
            let ev = event(
                caller,
                self.now(),
                "permissionrole.create",
                "permissionrole",
                &urn,
                Some(role_detail(&input.name, &permissions, &input.clients, &[])),
            );
            let r = Role {
                urn,
                name: input.name.clone(),
                owner,
                identities: input.identities.clone(),
                clients: input.clients.clone(),
                permissions,
                version: 1,
                rev: Some(ev.urn.clone()),
            };
            txn.audited(&ev, vec![Check::created("roles", &r.urn)], || {
                txn.put_role(&r, None)
            })?;
            Ok(r)
        })
    }

    /// Reads a role.
    pub fn get_role(&self, _caller: &Caller, urn: &str) -> Result<Role> {
        let urn = urn_param(urn)?;
        self.store
            .role(&urn)?
            .ok_or_else(|| not_found("permission role", &urn))
    }

    /// Lists roles.
    pub fn list_roles(
        &self,
        _caller: &Caller,
        name: Option<&str>,
        q: &PageQuery,
    ) -> Result<Page<Role>> {
        if let Some(n) = name {
            let n: String = n.nfc().collect();
            let items = self.store.role_by_name(&n)?.into_iter().collect();
            return Ok(Page { items, next: None });
        }
        let (items, more) = self.store.roles(q.after.as_deref(), q.limit)?;
        Ok(finish_page(items, more, |r| r.urn.clone()))
    }

    /// Replaces a role (how a role is granted to clients). With `if_match`, refuses with
    /// 412 when the role changed since that `ETag` was read.
    pub fn update_role(
        &self,
        caller: &Caller,
        urn: &str,
        input: &RoleInput,
        if_match: Option<&str>,
    ) -> Result<Role> {
        let urn = urn_param(urn)?;
        self.store.write(|txn| {
            let old = txn
                .role(&urn)?
                .ok_or_else(|| not_found("permission role", &urn))?;
            if let Some(tag) = if_match {
                let current = role_etag(&old);
                if !tag.split(',').any(|t| matches!(t.trim(), "*") || t.trim() == current) {
                    return Err(Error::PreconditionFailed(format!(
                        "permission role {urn} is at version {current}, not {tag}; read it again and retry"
                    )));
                }
            }
            if old.name != input.name {
                if txn.role_by_name(&input.name)?.is_some() {
                    return Err(duplicate_role(&input.name));
                }
                check_role_skeleton(txn, &input.name, Some(&urn))?;
            }
            Self::check_clients(txn, &input.clients)?;
            let new = Role {
                name: input.name.clone(),
                identities: input.identities.clone(),
                clients: input.clients.clone(),
                permissions: input
                    .permissions
                    .clone()
                    .unwrap_or_else(|| old.permissions.clone()),
                // An ETag only has to change; a tampered u64::MAX must not panic.
                version: old.version.wrapping_add(1),
                ..old.clone()
            };
            // Who holds it and what it grants is a grant; its name or identities, an update.
            let granted = new.clients != old.clients || new.permissions != old.permissions;
            let action = if granted {
                "permissionrole.grant"
            } else {
                "permissionrole.update"
            };
            let ev = event(
                caller,
                self.now(),
                action,
                "permissionrole",
                &urn,
                Some(role_detail(&new.name, &new.permissions, &new.clients, &old.clients)),
            );
            let new = Role {
                rev: Some(ev.urn.clone()),
                ..new
            };
            txn.audited(&ev, vec![Check::updated("roles", &urn)], || {
                txn.put_role(&new, Some(&old))
            })?;
            Ok(new)
        })
    }

    /// Deletes a role.
    pub fn delete_role(&self, caller: &Caller, urn: &str) -> Result<String> {
        let urn = urn_param(urn)?;
        self.store.write(|txn| {
            let r = txn
                .role(&urn)?
                .ok_or_else(|| not_found("permission role", &urn))?;
            let ev = event(
                caller,
                self.now(),
                "permissionrole.delete",
                "permissionrole",
                &urn,
                Some(format!("name {}", r.name)),
            );
            txn.audited(&ev, vec![Check::deleted("roles", &urn)], || {
                txn.delete_role(&r)
            })?;
            Ok(urn.clone())
        })
    }

    // --- OAuth clients -------------------------------------------------------------

    /// Checks an OAuth client id from a path: 32 hex digits, returned lowercase; anything
    /// else names no client.
    pub fn oauth_id(id: &str) -> Result<String> {
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(id.to_ascii_lowercase())
        } else {
            Err(not_found("OAuth client", id))
        }
    }

    /// Creates an OAuth client; its secret is returned here and nowhere else.
    pub fn create_oauth(
        &self,
        caller: &Caller,
        fields: OAuthFields,
    ) -> Result<(OAuthClient, String)> {
        let owner = Some(caller.client.urn.clone());
        let secret = secret::new_oauth_secret()?;
        let now = self.now();
        let id = secret::new_oauth_id()?;
        let ev = event(
            caller,
            now,
            "oauthclient.create",
            "oauthclient",
            &id,
            Some(format!("name {}", fields.name)),
        );
        let rec = OAuthClient {
            id,
            secret_digest: secret::digest(&secret),
            fields,
            created: now,
            modified: now,
            last_used: None,
            rev: Some(ev.urn.clone()),
            owner,
            previous_secret: None,
        };
        self.store.write(|txn| {
            txn.audited(&ev, vec![Check::created("oauth", &rec.id)], || {
                txn.put_oauth(&rec)
            })
        })?;
        Ok((rec, secret))
    }

    /// Gives an OAuth client a new secret; the previous one keeps working for
    /// `overlap` milliseconds, and any older one stops at once (API.md "OAuth secret
    /// rotation": at most two live secrets).
    pub fn rotate_oauth_secret(
        &self,
        caller: &Caller,
        id: &str,
        overlap: Millis,
    ) -> Result<(OAuthClient, String)> {
        let id = Self::oauth_id(id)?;
        if !(0..=MAX_OVERLAP).contains(&overlap) {
            return Err(Error::invalid(
                "overlapSeconds",
                format!("must be from 0 to {} (30 days)", MAX_OVERLAP / 1000),
            ));
        }
        let secret = secret::new_oauth_secret()?;
        let now = self.now();
        self.store.write(|txn| {
            let mut rec = txn
                .oauth(&id)?
                .ok_or_else(|| not_found("OAuth client", &id))?;
            let ev = event(
                caller,
                now,
                "oauthclient.rotatesecret",
                "oauthclient",
                &id,
                Some(format!(
                    "the previous secret works for {}s more",
                    overlap / 1000
                )),
            );
            rec.previous_secret = (overlap > 0).then(|| PreviousSecret {
                digest: rec.secret_digest.clone(),
                until: now.saturating_add(overlap),
            });
            rec.secret_digest = secret::digest(&secret);
            rec.modified = now;
            rec.rev = Some(ev.urn.clone());
            txn.audited(&ev, vec![Check::updated("oauth", &id)], || {
                txn.put_oauth(&rec)
            })?;
            Ok((rec, secret.clone()))
        })
    }

    /// Checks an OAuth client's id and secret (its current secret, or the previous one
    /// within a rotation's overlap) and notes the use: for the token endpoint. Fails
    /// with the one answer RFC 6749 gives for every wrong part, `Unauthorized`.
    pub fn check_oauth_secret(&self, id: &str, secret: &str) -> Result<OAuthClient> {
        let wrong = || Error::Unauthorized("unknown client or wrong secret".into());
        let id = Self::oauth_id(id).map_err(|_| wrong())?;
        let rec = self.store.oauth(&id)?.ok_or_else(wrong)?;
        let digest = secret::digest(secret);
        let now = self.now();
        let current = secret::digests_equal(&digest, &rec.secret_digest);
        let previous = rec
            .previous_secret
            .as_ref()
            .is_some_and(|p| now < p.until && secret::digests_equal(&digest, &p.digest));
        if !(current || previous) {
            return Err(wrong());
        }
        self.usage
            .note(Used::OAuth(rec.id.clone()), rec.last_used, now);
        Ok(rec)
    }

    /// Reads an OAuth client.
    pub fn get_oauth(&self, _caller: &Caller, id: &str) -> Result<OAuthClient> {
        let id = Self::oauth_id(id)?;
        self.store
            .oauth(&id)?
            .ok_or_else(|| not_found("OAuth client", &id))
    }

    /// Lists OAuth clients matching `filters`, with the total before paging.
    pub fn list_oauth(
        &self,
        _caller: &Caller,
        filter: &OAuthFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<OAuthClient>, usize)> {
        let all: Vec<OAuthClient> = self
            .store
            .oauth_all()?
            .into_iter()
            .filter(|c| filter.matches(c))
            .collect();
        let total = all.len();
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// Applies an RFC 6902 JSON Patch to the patchable fields of an OAuth client, one
    /// operation at a time, each result held to [`PATCH_MAX_BYTES`] and [`PATCH_MAX_DEPTH`]
    /// (API.md "Limits"): a patch that copies an array into itself thirty times, or moves
    /// nested arrays into each other, is refused before it can exhaust memory or the stack.
    pub fn patch_oauth(
        &self,
        caller: &Caller,
        id: &str,
        patch: &OAuthPatch,
    ) -> Result<OAuthClient> {
        let id = Self::oauth_id(id)?;
        let now = self.now();
        self.store.write(|txn| {
            let mut rec = txn
                .oauth(&id)?
                .ok_or_else(|| not_found("OAuth client", &id))?;
            let mut doc =
                serde_json::to_value(&rec.fields).map_err(|e| Error::Internal(e.to_string()))?;
            // On a copy: a refused patch leaves the stored client as it was. `patch_unsafe`
            // because the crate's undo (which this copy makes needless) panics if it fails.
            for (i, op) in patch.0.0.iter().enumerate() {
                json_patch::patch_unsafe(&mut doc, std::slice::from_ref(op))
                    .map_err(|e| Error::invalid("patch", format!("operation {i}: {}", e.kind)))?;
                check_patched(&doc, i)?;
            }
            // What a patch leaves must pass the create rules.
            let fields = crate::wire::oauth::parse_oauth(&doc)?;
            if fields == rec.fields {
                return Ok(rec);
            }
            let changed = oauth_changes(&rec.fields, &fields)?;
            let ev = event(
                caller,
                now,
                "oauthclient.update",
                "oauthclient",
                &id,
                Some(changed),
            );
            rec.fields = fields;
            rec.modified = now;
            rec.rev = Some(ev.urn.clone());
            txn.audited(&ev, vec![Check::updated("oauth", &id)], || {
                txn.put_oauth(&rec)
            })?;
            Ok(rec)
        })
    }

    /// Deletes an OAuth client.
    pub fn delete_oauth(&self, caller: &Caller, id: &str) -> Result<()> {
        let id = Self::oauth_id(id)?;
        self.store.write(|txn| {
            let rec = txn
                .oauth(&id)?
                .ok_or_else(|| not_found("OAuth client", &id))?;
            let ev = event(
                caller,
                self.now(),
                "oauthclient.delete",
                "oauthclient",
                &id,
                Some(format!("name {}", rec.fields.name)),
            );
            txn.audited(&ev, vec![Check::deleted("oauth", &id)], || {
                txn.delete_oauth(&id).map(drop)
            })
        })
    }

    // --- audit events --------------------------------------------------------------

    /// Sets how long the store keeps audit events; audited itself (`audit.retention`).
    pub fn set_audit_retention(&self, caller: &Caller, r: &crate::store::Retention) -> Result<()> {
        let ev = AuditEvent {
            urn: new_urn(),
            timestamp: self.now(),
            actor: caller.actor(),
            action: "audit.retention".into(),
            target: Target {
                kind: "audit".into(),
                key: None,
            },
            outcome: Outcome::Success,
            detail: Some(format!(
                "keep the newest {} events, at most {} days",
                r.max_events, r.max_days
            )),
        };
        self.store.write(|txn| {
            txn.set_audit_retention(r)?;
            txn.append_events(std::slice::from_ref(&ev))
        })
    }

    /// A page of audit events, newest first.
    pub fn list_audit(
        &self,
        _caller: &Caller,
        q: &AuditQuery,
    ) -> Result<(Vec<AuditEvent>, Option<Position>)> {
        self.store.audit_events(q, self.now())
    }

    /// One audit event.
    pub fn get_audit(&self, _caller: &Caller, urn: &str) -> Result<AuditEvent> {
        let urn = urn_param(urn)?;
        self.store
            .audit_event(&urn, self.now())?
            .ok_or_else(|| not_found("audit event", &urn))
    }
}

// No input may recurse without bound on any thread (issue 12). Every `serde_json::Value`
// here comes from serde_json's parser, whose recursion limit of 128 stays on (the
// `unbounded_depth` feature is off; a test below pins it), or from a JSON Patch, whose
// every intermediate result is held to PATCH_MAX_DEPTH. So the recursive code over values
// (their derived Clone, PartialEq and Drop; json-patch's `copy` clone and `test` compare;
// serde's serialiser and `from_value`; the CLI printer's `text` and the client's
// `normalise_urn`) runs fewer than 32 + 128 levels deep. json-patch's pointer walks are loops.

/// The most operations one JSON Patch may hold.
pub const PATCH_MAX_OPS: usize = 100;
/// The most bytes an OAuth client may take, serialised, after any operation of a patch.
pub const PATCH_MAX_BYTES: usize = 64 * 1024;
/// The deepest an OAuth client may nest after any operation of a patch, counting the
/// client object itself as 1 (`redirectUris` is at 2).
pub const PATCH_MAX_DEPTH: usize = 32;

/// Holds the result of patch operation `i` to the limits. Depth first, without recursion:
/// one operation can at most double a value that was within both limits (or add a value
/// from the body, which serde_json's recursion limit keeps under 128 levels), so the
/// serialiser's recursion below is bounded, and so is the `Drop` of a refused `doc`.
fn check_patched(doc: &Value, i: usize) -> Result<()> {
    let mut stack = vec![(doc, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if depth > PATCH_MAX_DEPTH {
            return Err(Error::invalid(
                "patch",
                format!(
                    "operation {i} nests the OAuth client deeper than the limit of {PATCH_MAX_DEPTH} levels"
                ),
            ));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    if serde_json::to_writer(Budget(PATCH_MAX_BYTES), doc).is_err() {
        return Err(Error::invalid(
            "patch",
            format!(
                "operation {i} makes the OAuth client larger than the limit of {PATCH_MAX_BYTES} bytes (64 KiB) serialised"
            ),
        ));
    }
    Ok(())
}

/// A writer that counts down and fails once more than its budget is written, so that
/// measuring a too-large value stops at the limit.
struct Budget(usize);

impl std::io::Write for Budget {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self
            .0
            .checked_sub(buf.len())
            .ok_or_else(|| std::io::Error::other("over the size limit"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A page of what `get_page` lists that `wanted` keeps: pages are read until `q.limit`
/// are kept or the list ends, so a filter never makes a short page mid-list.
fn filtered_page<T>(
    q: &PageQuery,
    wanted: impl Fn(&T) -> bool,
    get_page: impl Fn(Option<&str>, usize) -> Result<(Vec<T>, bool)>,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>> {
    if !q.filters() {
        let (items, more) = get_page(q.after.as_deref(), q.limit)?;
        return Ok(finish_page(items, more, key));
    }
    let mut out = Vec::new();
    let mut after = q.after.clone();
    loop {
        let (items, more) = get_page(after.as_deref(), q.limit.max(100))?;
        after = items.last().map(&key);
        for it in items {
            if !wanted(&it) {
                continue;
            }
            if out.len() == q.limit {
                return Ok(finish_page(out, true, key));
            }
            out.push(it);
        }
        if !more || after.is_none() {
            return Ok(finish_page(out, false, key));
        }
    }
}

/// What a token's create event says: its client, expiry and description.
fn token_detail(client_id: &str, t: &BearerToken) -> String {
    let mut d = format!(
        "for {client_id}, expires {}",
        t.expires.map_or("never".into(), format_baack)
    );
    if let Some(desc) = &t.description {
        d.push_str(&format!(", \"{desc}\""));
    }
    d
}

/// What a role event says: its name, what it grants, and who gained or lost it.
fn role_detail(name: &str, perms: &[Permission], clients: &[String], before: &[String]) -> String {
    let perms: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    let mut d = format!("name {name}, permissions [{}]", perms.join(", "));
    let added: Vec<&str> = clients
        .iter()
        .filter(|c| !before.contains(c))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|c| !clients.contains(c))
        .map(String::as_str)
        .collect();
    if !added.is_empty() {
        d.push_str(&format!(", granted to {}", added.join(", ")));
    }
    if !removed.is_empty() {
        d.push_str(&format!(", revoked from {}", removed.join(", ")));
    }
    d
}

/// The names of the OAuth fields a patch changed.
fn oauth_changes(old: &OAuthFields, new: &OAuthFields) -> Result<String> {
    let (a, b) = (
        serde_json::to_value(old).map_err(|e| Error::Internal(e.to_string()))?,
        serde_json::to_value(new).map_err(|e| Error::Internal(e.to_string()))?,
    );
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return Ok(String::new());
    };
    let changed: Vec<&str> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    Ok(format!("changed {}", changed.join(", ")))
}

fn duplicate_client(id: &str) -> Error {
    Error::invalid(
        "clientID",
        format!("an API client `{id}` already exists in this company; choose another clientID"),
    )
}

/// Refuses a new or renamed clientID that looks like another client's (the same TS #39
/// skeleton). One index lookup, not a scan: the store keeps clients by skeleton.
fn check_client_skeleton(txn: &Store, client_id: &str, itself: Option<&str>) -> Result<()> {
    let other = txn.client_by_skeleton(&skeleton(client_id))?;
    let other = other
        .as_ref()
        .map(|o| (o.client_id.as_str(), o.urn.as_str()));
    refuse_look_alike("clientID", "API client", client_id, other, itself)
}

/// Refuses a new or renamed role name that looks like another role's.
fn check_role_skeleton(txn: &Store, name: &str, itself: Option<&str>) -> Result<()> {
    let other = txn.role_by_skeleton(&skeleton(name))?;
    let other = other.as_ref().map(|o| (o.name.as_str(), o.urn.as_str()));
    refuse_look_alike("name", "permission role", name, other, itself)
}

/// The refusal of `asked` for `field` when `other` (its name and URN), an object with
/// the same skeleton, is not the object being renamed (`itself`).
fn refuse_look_alike(
    field: &str,
    noun: &str,
    asked: &str,
    other: Option<(&str, &str)>,
    itself: Option<&str>,
) -> Result<()> {
    match other {
        Some((name, urn)) if Some(urn) != itself => Err(Error::invalid(
            field,
            format!(
                "`{asked}` looks the same as the existing {noun} `{name}` ({urn}); choose a {field} that cannot be mistaken for it"
            ),
        )),
        _ => Ok(()),
    }
}

fn duplicate_role(name: &str) -> Error {
    Error::invalid(
        "name",
        format!("a permission role `{name}` already exists in this company; choose another name"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use serde_json::json;

    #[test]
    fn the_json_parser_keeps_its_recursion_limit() {
        // Everything the audit above says rests on this: a body nested past 128 levels
        // is refused by the parser instead of recursing as deep as it goes.
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let e = serde_json::from_str::<Value>(&nested(128)).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
        assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
    }

    #[test]
    fn patch_limits_are_checked_after_every_operation() {
        let mut v = json!("x");
        for _ in 0..31 {
            v = json!([v]);
        }
        // 31 arrays inside the client object: 32 levels, the limit.
        let doc = json!({ "redirectUris": v });
        assert!(check_patched(&doc, 0).is_ok());
        let doc = json!({ "redirectUris": [v] });
        let e = check_patched(&doc, 7).unwrap_err().to_string();
        assert!(e.contains("operation 7") && e.contains("32 levels"), "{e}");
        let big = json!({ "description": "x".repeat(PATCH_MAX_BYTES - 18) });
        assert_eq!(serde_json::to_vec(&big).unwrap().len(), PATCH_MAX_BYTES);
        assert!(check_patched(&big, 0).is_ok());
        let over = json!({ "description": "x".repeat(PATCH_MAX_BYTES - 17) });
        let e = check_patched(&over, 3).unwrap_err().to_string();
        assert!(e.contains("operation 3") && e.contains("64 KiB"), "{e}");
    }

    fn fixture(clock: Arc<dyn Clock>) -> (tempfile::TempDir, Service, Caller, ApiClient) {
        let dir = tempfile::tempdir().unwrap();
        let boot = Store::init(dir.path(), "Acme").unwrap();
        let svc = Service::new(Store::open(dir.path()).unwrap(), clock);
        let root = svc.root_caller().unwrap();
        let owner = json!({"urn": boot.root_client.owner});
        let body = json!({"owner": owner, "scope": "api.baack.co", "clientID": "ci"});
        let client = svc
            .create_client(&root, &ClientInput::parse(&body, true).unwrap())
            .unwrap();
        (dir, svc, root, client)
    }

    #[test]
    fn a_token_retired_until_unused_works_while_used_and_stops_after_the_idle_window() {
        let clock = crate::clock::ManualClock::new(1_800_000_000_000);
        let (_dir, svc, root, client) = fixture(clock.clone());
        let body = TokenInput::parse(&json!({"apiClient": {"urn": client.urn}}), true).unwrap();
        let (t, secret) = svc.create_token(&root, &body).unwrap();
        let minute = 60_000;
        let retire = TokenInput {
            expires: Some(clock.now() + 60 * minute),
            idle: Some(10 * minute),
            ..TokenInput::default()
        };
        svc.update_token(&root, &t.urn, &retire, ExpiryRule::NeverLater)
            .unwrap();
        // Used every 8 minutes, it keeps working past its first idle window...
        for _ in 0..4 {
            clock.advance(8 * minute);
            assert!(svc.authenticate(Some(&secret)).is_ok());
            svc.flush_usage().unwrap();
        }
        // ...then, once unused for 10 minutes, it stops.
        clock.advance(9 * minute);
        assert!(svc.authenticate(Some(&secret)).is_ok());
        svc.flush_usage().unwrap();
        clock.advance(10 * minute + 1);
        assert_eq!(
            svc.authenticate(Some(&secret)).unwrap_err().kind(),
            crate::ErrorKind::Unauthorized
        );
        // And a token in constant use still stops at the hard bound.
        let (t, secret) = svc.create_token(&root, &body).unwrap();
        let bound = clock.now() + 20 * minute;
        let retire = TokenInput {
            expires: Some(bound),
            idle: Some(10 * minute),
            ..TokenInput::default()
        };
        svc.update_token(&root, &t.urn, &retire, ExpiryRule::NeverLater)
            .unwrap();
        for _ in 0..4 {
            clock.advance(5 * minute);
            let r = svc.authenticate(Some(&secret));
            assert_eq!(r.is_ok(), clock.now() < bound);
            svc.flush_usage().unwrap();
        }
    }

    #[test]
    fn a_rotated_oauth_secret_keeps_working_for_the_overlap_and_only_two_are_live() {
        let clock = crate::clock::ManualClock::new(1_800_000_000_000);
        let (_dir, svc, root, _) = fixture(clock.clone());
        let fields = crate::wire::oauth::parse_oauth(&json!({
            "name": "o", "description": "d", "accessTokenValiditySeconds": 60,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true
        }))
        .unwrap();
        let (o, first) = svc.create_oauth(&root, fields).unwrap();
        assert!(svc.check_oauth_secret(&o.id, &first).is_ok());
        let (_, second) = svc.rotate_oauth_secret(&root, &o.id, 3_600_000).unwrap();
        assert!(svc.check_oauth_secret(&o.id, &first).is_ok());
        assert!(svc.check_oauth_secret(&o.id, &second).is_ok());
        clock.advance(3_600_000);
        assert!(svc.check_oauth_secret(&o.id, &first).is_err());
        assert!(svc.check_oauth_secret(&o.id, &second).is_ok());
        // Rotating again ends the older one at once, whatever its overlap had left.
        let (_, third) = svc.rotate_oauth_secret(&root, &o.id, 3_600_000).unwrap();
        let (_, fourth) = svc.rotate_oauth_secret(&root, &o.id, 3_600_000).unwrap();
        assert!(svc.check_oauth_secret(&o.id, &second).is_err());
        assert!(svc.check_oauth_secret(&o.id, &third).is_ok());
        assert!(svc.check_oauth_secret(&o.id, &fourth).is_ok());
        assert!(
            svc.check_oauth_secret(&o.id, "0".repeat(64).as_str())
                .is_err()
        );
        // A use of the secret is the client's last use.
        svc.flush_usage().unwrap();
        assert!(
            svc.store()
                .oauth(&o.id)
                .unwrap()
                .unwrap()
                .last_used
                .is_some()
        );
    }

    #[test]
    fn a_store_without_a_keys_folder_makes_one_for_its_first_key() {
        let (dir, svc, root, _) = fixture(Arc::new(SystemClock));
        std::fs::remove_dir(dir.path().join("keys")).unwrap();
        let fields = crate::wire::oauth::parse_oauth(&json!({
            "name": "o", "description": "d", "accessTokenValiditySeconds": 600,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true
        }))
        .unwrap();
        let (o, secret) = svc.create_oauth(&root, fields).unwrap();
        let t = svc
            .issue_access_token(&o.id, &secret, None, "http://x")
            .unwrap();
        assert!(svc.authenticate(Some(&t.access_token)).is_ok());
    }

    #[test]
    fn tokens_of_a_rotated_out_signing_key_work_until_they_expire() {
        let clock = crate::clock::ManualClock::new(1_800_000_000_000);
        let (dir, svc, root, _) = fixture(clock.clone());
        let fields = crate::wire::oauth::parse_oauth(&json!({
            "name": "o", "description": "d", "accessTokenValiditySeconds": 600,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true
        }))
        .unwrap();
        let (o, secret) = svc.create_oauth(&root, fields).unwrap();
        let issue = |s: &Service| {
            s.issue_access_token(&o.id, &secret, None, "http://x")
                .unwrap()
        };
        let old = issue(&svc).access_token;
        assert!(svc.authenticate(Some(&old)).is_ok());
        // Another process (a second service on the store) rotates the key: this one
        // signs with the new key and verifies both, reading the keys again on a miss.
        let other = Service::new(Store::open(dir.path()).unwrap(), clock.clone());
        let kid = other.rotate_signing_key(&root).unwrap();
        let new = issue(&svc).access_token;
        let kid_of = |t: &str| crate::jwt::peek(t).unwrap().0["kid"].clone();
        assert_eq!(kid_of(&new), json!(kid));
        assert_ne!(kid_of(&old), kid_of(&new));
        assert!(svc.authenticate(Some(&new)).is_ok());
        assert!(svc.authenticate(Some(&old)).is_ok());
        assert_eq!(svc.jwks().unwrap().len(), 2);
        // Until the old token expires: then it fails, and the new one still works.
        clock.advance(600_000);
        assert!(svc.authenticate(Some(&old)).is_err());
        // The retired key is pruned a year after its retirement, not before.
        clock.advance(crate::model::MAX_VALIDITY * 1000);
        other.rotate_signing_key(&root).unwrap();
        assert_eq!(svc.jwks().unwrap().len(), 2);
    }

    #[test]
    fn a_change_left_half_made_is_settled_by_the_next_writer() {
        let (dir, svc, root, client) = fixture(Arc::new(SystemClock));
        // The intent of a change that made only its first object, then died.
        let body = TokenInput::parse(&json!({"apiClient": {"urn": client.urn}}), true).unwrap();
        let (t, _) = svc.create_token(&root, &body).unwrap();
        let ev = event(
            &root,
            0,
            "apiclientbearertoken.create",
            "apiclientbearertoken",
            &t.urn,
            None,
        );
        let mut rec = svc.store().token(&t.urn).unwrap().unwrap();
        rec.rev = Some(ev.urn.clone());
        let other = crate::model::new_urn();
        svc.store()
            .write(|txn| {
                txn.update_token(&rec)?;
                let intent = serde_json::json!({
                    "event": ev,
                    "checks": [
                        {"check": "created", "dir": "tokens", "key": t.urn},
                        {"check": "updated", "dir": "tokens", "key": other},
                    ],
                });
                std::fs::write(
                    dir.path().join("audit").join("intent"),
                    serde_json::to_vec(&intent).unwrap(),
                )
                .unwrap();
                Ok(())
            })
            .unwrap();
        // The next write finds it: half made, so what it created goes and no event stays.
        svc.create_client(
            &root,
            &ClientInput::parse(
                &json!({"owner": {"urn": client.owner}, "scope": "api.baack.co", "clientID": "x"}),
                true,
            )
            .unwrap(),
        )
        .unwrap();
        assert!(svc.store().token(&t.urn).unwrap().is_none());
        let q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        let (evs, _) = svc.store().audit_events(&q, svc.now()).unwrap();
        assert!(evs.iter().all(|e| e.urn != ev.urn));
        let intent = std::fs::read(dir.path().join("audit").join("intent")).unwrap();
        assert!(intent.trim_ascii().is_empty());
    }

    #[test]
    fn a_prepared_token_is_stored_by_its_commit_only_and_only_while_its_client_exists() {
        let dir = tempfile::tempdir().unwrap();
        let boot = Store::init(dir.path(), "Acme").unwrap();
        let svc = Service::new(Store::open(dir.path()).unwrap(), Arc::new(SystemClock));
        let root = svc.root_caller().unwrap();
        let named = || {
            std::fs::read_dir(dir.path().join("tokens"))
                .unwrap()
                .count()
        };
        let before = named();
        let owner = json!({"urn": boot.root_client.owner});
        let client = svc
            .create_client(
                &root,
                &ClientInput::parse(
                    &json!({"owner": owner, "scope": "api.baack.co", "clientID": "ci"}),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        let body = TokenInput::parse(&json!({"apiClient": {"urn": client.urn}}), true).unwrap();

        // A staged token has no name: dropped, it leaves nothing behind.
        drop(svc.prepare_token(&root, &body).unwrap());
        let new = svc.prepare_token(&root, &body).unwrap();
        assert_eq!(named(), before);

        // Committed, it is found by URN, by its value, and among its client's tokens.
        let (t, secret) = svc.commit_token(&root, new).unwrap();
        assert_eq!(named(), before + 1);
        assert_eq!(svc.store().token(&t.urn).unwrap().as_ref(), Some(&t));
        assert_eq!(
            svc.authenticate(Some(&secret)).unwrap().client.urn,
            client.urn
        );
        assert_eq!(
            svc.store().client_token_urns(&client.urn).unwrap(),
            vec![t.urn.clone()]
        );

        // Its client deleted between prepare and commit: refused, and nothing stored.
        let late = svc.prepare_token(&root, &body).unwrap();
        svc.delete_client(&root, &client.urn).unwrap();
        let named_now = named();
        let err = svc.commit_token(&root, late).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotFound, "{err}");
        assert_eq!(named(), named_now);
        assert!(
            svc.store()
                .client_token_urns(&client.urn)
                .unwrap()
                .is_empty()
        );
    }
}
