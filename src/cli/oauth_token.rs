//! `baack oauth token`, `introspect` and `rotate-key`: getting an access token with an
//! OAuth client's credentials (RFC 6749 client credentials), checking one (offline
//! against the published keys, or by the server's RFC 7662 endpoint), and rotating the
//! store's signing key.

use std::path::{Path, PathBuf};

use baack::Error;
use baack::client::Call;
use baack::jwt::{self, Verifier};
use http::Method;
use serde_json::{Value, json};

use super::output::{Failure, coarse};
use super::secret_file;
use super::{Ctx, Target, item_path};

/// Where a secret comes from when no flag names a file: this variable, then stdin.
pub const SECRET_ENV: &str = "BAACK_OAUTH_SECRET";

/// `baack oauth token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The OAuth client: its id (32 hex characters) or its exact name
    #[arg(add = super::complete::oauth_ids())]
    pub id: String,
    /// Ask for this scope (repeatable) [default: every scope of the client]
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Read the client secret from this file (its first line), not from
    /// BAACK_OAUTH_SECRET or stdin
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// `baack oauth introspect`.
#[derive(Debug, clap::Args)]
pub struct IntrospectArgs {
    /// The access token: `-` for stdin, or a file that holds it (never the token itself:
    /// arguments are in every process listing)
    #[arg(value_name = "FILE|-")]
    pub token: PathBuf,
    /// Ask the server's RFC 7662 endpoint instead, as this OAuth client (its id; the
    /// secret from --secret-file or BAACK_OAUTH_SECRET)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// With --client-id: read its secret from this file
    #[arg(long, value_name = "PATH", requires = "client_id")]
    pub secret_file: Option<PathBuf>,
}

/// The client secret: `--secret-file`, else `BAACK_OAUTH_SECRET`, else stdin (a hidden
/// prompt on a terminal), unless stdin is taken (by the token of `introspect -`).
fn client_secret(file: Option<&Path>, stdin_free: bool) -> Result<String, Error> {
    if let Some(p) = file {
        return secret_file::read_file(p, "client secret");
    }
    if let Some(s) = std::env::var_os(SECRET_ENV) {
        let s = s.to_string_lossy().trim().to_string();
        if s.is_empty() {
            return Err(Error::Usage(format!(
                "{SECRET_ENV} is set but empty: set it to the client secret, or unset it"
            )));
        }
        return Ok(s);
    }
    if !stdin_free {
        return Err(Error::Usage(format!(
            "no client secret: stdin holds the token, so give the secret with --secret-file PATH or {SECRET_ENV}"
        )));
    }
    secret_file::read_stdin(
        "client secret (input hidden): ",
        "client secret",
        &format!("no client secret: pipe it on stdin, or give --secret-file PATH or {SECRET_ENV}"),
    )
}

/// An OAuth client's id: as given when it has the shape of one (the token endpoint needs
/// no management credential), else found by its exact name.
fn client_id(ctx: &Ctx, reference: &str) -> Result<String, Error> {
    let hex = reference.len() == 32
        && reference
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        return Ok(reference.to_string());
    }
    Ok(super::oauth::id_of(&super::oauth::resolve(ctx, reference)?))
}

/// A failure of the token or introspection endpoint, with what to do about it.
fn endpoint_error(e: Error, id: &str) -> Error {
    match &e {
        Error::Remote { code, message, .. } if code == "invalid_client" => {
            Error::Unauthorized(format!(
                "{message}: check the client id `{id}` and its secret (a lost secret is replaced by `baack oauth rotate-secret {id}`)"
            ))
        }
        Error::Remote { code, message, .. } if code == "unauthorized_client" => {
            Error::Unauthorized(format!(
                "{message}: an OAuth client gets a token when it is enabled, CONFIDENTIAL and has the CLIENT_CREDENTIALS grant type (`baack oauth get {id}`)"
            ))
        }
        Error::Remote { code, message, .. } if code == "invalid_scope" => Error::invalid(
            "--scope",
            format!("{message}; ask only for scopes the client has (`baack oauth get {id}`)"),
        ),
        _ => e,
    }
}

/// A Unix time for people: `2026-12-02 14:05 UTC`.
fn unix_time(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| s.to_string())
}

/// The rows of a token's claims (and key), for a table.
fn claim_rows(claims: &Value, kid: Option<&str>, now: i64) -> Vec<Vec<String>> {
    let s = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    let t = |k: &str| claims.get(k).and_then(Value::as_i64);
    let mut rows = vec![
        vec!["client".into(), s("sub")],
        vec!["scope".into(), s("scope")],
        vec!["issuer".into(), s("iss")],
    ];
    if let Some(iat) = t("iat") {
        rows.push(vec!["issued".into(), unix_time(iat)]);
    }
    if let Some(exp) = t("exp") {
        let left = exp * 1000 - now;
        let rel = if left > 0 {
            format!("in {}", coarse(left))
        } else {
            format!("{} ago", coarse(-left))
        };
        rows.push(vec![
            "expires".into(),
            format!("{} ({rel})", unix_time(exp)),
        ]);
    }
    rows.push(vec!["id".into(), s("jti")]);
    if let Some(k) = kid {
        rows.push(vec!["key".into(), k.into()]);
    }
    rows
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `baack oauth token ID`: the client credentials grant.
pub fn token(ctx: &Ctx, a: TokenArgs) -> Result<(), Failure> {
    let secret = client_secret(a.secret_file.as_deref(), true)?;
    let id = client_id(ctx, &a.id)?;
    let scope = a.scopes.join(" ");
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    let r = ctx
        .client
        .send(&Call::new(Method::POST, "/oauth/token").form(form))
        .map_err(|e| endpoint_error(e, &id))?;
    let access = r.body["access_token"].as_str().unwrap_or_default();
    if access.is_empty() {
        return Err(
            Error::Internal("the token endpoint answered without an access_token".into()).into(),
        );
    }
    if ctx.out.quiet() {
        return ctx.out.value(access);
    }
    let (header, claims) = jwt::peek(access).unwrap_or((Value::Null, Value::Null));
    if ctx.out.machine() {
        let mut v = r.body.clone();
        v["claims"] = claims;
        return ctx.out.json(&v);
    }
    ctx.out.table(
        &["FIELD", "VALUE"],
        claim_rows(&claims, header.get("kid").and_then(Value::as_str), now_ms()),
    )?;
    ctx.out.note(
        "the access token itself is not in the table: -q prints it alone, -o json with its claims",
    );
    Ok(())
}

/// Reads the token of `introspect` from `-` (stdin) or a file.
fn read_access_token(p: &Path) -> Result<String, Error> {
    if p == Path::new("-") {
        secret_file::read_stdin(
            "access token (input hidden): ",
            "access token",
            "no access token on stdin: pipe it in, e.g. `baack oauth token ID -q | baack oauth introspect -`",
        )
    } else {
        secret_file::read_file(p, "access token")
    }
}

/// What introspection found: RFC 7662's answer, plus why an inactive token is.
struct Found {
    active: bool,
    reason: Option<String>,
    claims: Value,
    kid: Option<String>,
}

/// Checks the token offline, as any service holding the key set can: its signature by
/// the published key its `kid` names and its expiry; then, when this credential may
/// read it, that its OAuth client still exists and is enabled (the server refuses the
/// token at once when it is not).
fn check_offline(ctx: &Ctx, token: &str) -> Result<Found, Error> {
    if !jwt::looks_like_jwt(token) {
        return Err(Error::Usage(
            "that is not an access token (a JWT of three dot-separated parts); a bearer token is checked with `baack token whois -`".into(),
        ));
    }
    let (header, claims) = jwt::peek(token).ok_or_else(|| {
        Error::Usage("the access token does not decode: it is not a JWT this server issued".into())
    })?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let keys = ctx.get("/.well-known/jwks.json")?;
    let verifiers = keys["keys"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .map(Verifier::from_jwk)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let inactive = |why: String| Found {
        active: false,
        reason: Some(why),
        claims: claims.clone(),
        kid: kid.clone(),
    };
    let verified = match jwt::verify(token, &verifiers, now_ms()) {
        Ok(c) => c,
        Err(Error::Unauthorized(why)) => return Ok(inactive(why)),
        Err(e) => return Err(e),
    };
    match ctx.get(&item_path("/v3/oauth-clients/", &verified.sub)) {
        Ok(c) if c.get("enabled") == Some(&Value::Bool(false)) => Ok(inactive(format!(
            "its OAuth client {} is disabled",
            verified.sub
        ))),
        Ok(_) => Ok(Found {
            active: true,
            reason: None,
            claims,
            kid,
        }),
        Err(e) if e.kind() == baack::ErrorKind::NotFound => Ok(inactive(format!(
            "its OAuth client {} no longer exists",
            verified.sub
        ))),
        Err(e) if e.kind() == baack::ErrorKind::Unauthorized => {
            ctx.out.warn(&format!(
                "the signature and expiry hold, but whether OAuth client {} still exists and is enabled could not be checked ({e}); --client-id asks the server",
                verified.sub
            ));
            Ok(Found {
                active: true,
                reason: None,
                claims,
                kid,
            })
        }
        Err(e) => Err(e),
    }
}

/// Asks the server's introspection endpoint, as the OAuth client `id`.
fn check_remote(ctx: &Ctx, token: &str, id: &str, secret: &str) -> Result<Found, Error> {
    let r = ctx
        .client
        .send(&Call::new(Method::POST, "/oauth/introspect").form([
            ("token", token),
            ("client_id", id),
            ("client_secret", secret),
        ]))
        .map_err(|e| endpoint_error(e, id))?;
    let active = r.body["active"].as_bool().unwrap_or(false);
    let kid = jwt::peek(token)
        .and_then(|(h, _)| h.get("kid").and_then(Value::as_str).map(str::to_string));
    Ok(Found {
        active,
        reason: (!active).then(|| {
            "the server reports it inactive (expired, revoked, or not one of its tokens)"
                .to_string()
        }),
        claims: r.body,
        kid,
    })
}

/// `baack oauth introspect -`: prints what the token says and whether it holds; exit 4
/// when it does not, so `baack oauth introspect - < t && deploy` means what it says.
pub fn introspect(ctx: &Ctx, a: IntrospectArgs) -> Result<(), Failure> {
    let stdin_free = a.token != Path::new("-");
    let secret = match &a.client_id {
        Some(_) => Some(client_secret(a.secret_file.as_deref(), stdin_free)?),
        None => None,
    };
    let token = read_access_token(&a.token)?;
    let found = match (&a.client_id, &secret) {
        (Some(id), Some(s)) => check_remote(ctx, &token, id, s)?,
        _ => check_offline(ctx, &token)?,
    };
    let mut v = json!({ "active": found.active });
    if found.active || a.client_id.is_none() {
        for k in [
            "scope",
            "client_id",
            "token_type",
            "exp",
            "iat",
            "sub",
            "iss",
            "jti",
        ] {
            let from = if k == "client_id" { "sub" } else { k };
            if let Some(x) = found.claims.get(from) {
                v[k] = x.clone();
            }
        }
        if v.get("token_type").is_none() && !found.claims.is_null() {
            v["token_type"] = "bearer".into();
        }
    }
    if let Some(r) = &found.reason {
        v["reason"] = r.clone().into();
    }
    if ctx.out.quiet() {
        // Only the exit status speaks.
    } else if ctx.out.machine() {
        ctx.out.json(&v)?;
    } else {
        let mut rows = vec![vec![
            "active".to_string(),
            if found.active { "yes" } else { "no" }.to_string(),
        ]];
        if let Some(r) = &found.reason {
            rows.push(vec!["reason".into(), r.clone()]);
        }
        if !found.claims.is_null() && (found.active || a.client_id.is_none()) {
            rows.extend(claim_rows(&found.claims, found.kid.as_deref(), now_ms()));
        }
        ctx.out.table(&["FIELD", "VALUE"], rows)?;
    }
    match found.reason {
        None => Ok(()),
        Some(r) => Err(Error::Unauthorized(format!("the access token is not active: {r}")).into()),
    }
}

/// `baack oauth rotate-key`: a new signing key for the store (embedded only: the key
/// never leaves it). Tokens signed by the previous key keep verifying until they expire.
pub fn rotate_key(ctx: &Ctx) -> Result<(), Failure> {
    let Target::Embedded(path) = &ctx.settings.target else {
        return Err(Error::Usage(
            "the signing key lives in the store and never leaves it: run this where the store is (--store PATH), not against an API URL".into(),
        )
        .into());
    };
    let store = super::open_store(path, ctx.settings.target_origin, &ctx.out)?;
    let svc = baack::service::Service::new(store, std::sync::Arc::new(baack::clock::SystemClock));
    let root = svc.root_caller()?;
    let kid = svc.rotate_signing_key(&root)?;
    if ctx.out.quiet() {
        return ctx.out.value(&kid);
    }
    let keys = svc.jwks()?;
    let kids: Vec<String> = keys
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_string))
        .collect();
    if ctx.out.machine() {
        return ctx.out.json(&json!({ "kid": kid, "published": kids }));
    }
    ctx.out.table(
        &["KEY", "SIGNS"],
        kids.iter()
            .map(|k| {
                vec![
                    k.clone(),
                    if *k == kid {
                        "yes"
                    } else {
                        "no: verifies until its tokens expire"
                    }
                    .to_string(),
                ]
            })
            .collect(),
    )?;
    ctx.out.note(&format!(
        "new tokens are signed by {kid}; a running `baack serve` on this store picks it up with its next token"
    ));
    Ok(())
}
