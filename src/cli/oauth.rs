//! `baack oauth …`: OAuth clients of the SailPoint-style API.

use std::io::Read;
use std::path::{Path, PathBuf};

use baack::Error;
use baack::client::Call;
use baack::model::{ACCESS_TYPES, CLIENT_TYPES, GRANT_TYPES};
use clap::{ArgGroup, Subcommand};
use http::{Method, header};
use serde_json::{Map, Value, json};

use super::output::{Failure, Kind, NewSecret, deliver_or_undo};
use super::secret_file::SecretFile;
use super::{Ctx, DeleteArgs, complete, enc, item_path};

/// The OAuth client commands.
#[derive(Debug, Subcommand)]
pub enum OauthCmd {
    /// Create an OAuth client (its secret is shown once)
    Create(Box<CreateArgs>),
    /// List OAuth clients
    List {
        /// A SailPoint filter on lastUsed: `le|lt|ge|gt <timestamp>` (bare or quoted),
        /// `isnull`, `pr`; combined with `not`, `and`, `or`
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
    },
    /// Show one OAuth client
    Get {
        /// Its id (32 hex characters) or its exact name
        #[arg(add = complete::oauth_ids())]
        id: String,
    },
    /// Change an OAuth client with --set FIELD=VALUE or a JSON Patch file
    ///
    /// Each --set is a JSON Patch `replace` of that field (a VALUE that reads as JSON is
    /// taken as JSON); --patch-file sends an RFC 6902 document as it is. FIELD names are
    /// the API's (accessTokenValiditySeconds, redirectUris).
    #[command(group(ArgGroup::new("change").required(true).args(["set", "patch_file"])))]
    Update {
        /// Its id (32 hex characters) or its exact name
        #[arg(add = complete::oauth_ids())]
        id: String,
        /// Replace a field: name=New, accessTokenValiditySeconds=900, redirectUris='["https://…"]'
        #[arg(long, value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// An RFC 6902 JSON Patch document (- for stdin)
        #[arg(long, value_name = "FILE|-")]
        patch_file: Option<PathBuf>,
    },
    /// Give an OAuth client a new secret; the previous one keeps working for --overlap
    ///
    /// The new secret is shown once (or written to --secret-file, which must not exist
    /// yet). During the overlap both secrets work; at most two are ever live, so
    /// rotating again before the overlap ends stops the older one at once.
    RotateSecret {
        /// Its id (32 hex characters) or its exact name
        #[arg(add = complete::oauth_ids())]
        id: String,
        /// How long the previous secret keeps working (up to 30d)
        #[arg(long, value_name = "DURATION", value_parser = super::parse_duration, default_value = "24h")]
        overlap: std::time::Duration,
        /// Write the new secret to this new file (mode 0600) instead of printing it
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
    },
    /// Get an access token with the client's credentials (RFC 6749 client credentials)
    ///
    /// The secret is read from --secret-file, else BAACK_OAUTH_SECRET, else stdin (a
    /// hidden prompt on a terminal); never from a flag, since a flag is in every process
    /// listing. Shows the token's claims; -q prints the access token alone, for an
    /// `Authorization: Bearer` header; -o json the token endpoint's answer with the claims.
    Token(super::oauth_token::TokenArgs),
    /// Check an access token: its signature, its expiry, and that its client still works
    ///
    /// Offline, as any service can: the signature by the published key
    /// (/.well-known/jwks.json) its `kid` names, the expiry, then (when this credential may
    /// read it) that its OAuth client still exists and is enabled. With --client-id the
    /// server's RFC 7662 endpoint answers instead. Exit 4 when the token is not active.
    Introspect(super::oauth_token::IntrospectArgs),
    /// Sign new access tokens with a new key (the embedded store only)
    ///
    /// The previous key stays published and keeps verifying the tokens it signed until
    /// they expire, so nothing stops working.
    RotateKey,
    /// Delete an OAuth client
    Delete {
        /// Its id (32 hex characters) or its exact name
        #[arg(add = complete::oauth_ids())]
        id: String,
        #[command(flatten)]
        d: DeleteArgs,
    },
}

/// `baack oauth create`: a flag for every field, or a JSON body (flags override it).
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// A JSON create body (- for stdin); flags given too override its fields
    #[arg(long, value_name = "FILE|-")]
    from_file: Option<PathBuf>,
    /// A human-readable name
    #[arg(long)]
    name: Option<String>,
    /// A description
    #[arg(long)]
    description: Option<String>,
    /// A grant type (repeatable)
    #[arg(long = "grant-type", value_name = "TYPE", value_parser = GRANT_TYPES, ignore_case = true)]
    grant_types: Vec<String>,
    /// ONLINE or OFFLINE
    #[arg(long, value_parser = ACCESS_TYPES, ignore_case = true)]
    access_type: Option<String>,
    /// CONFIDENTIAL or PUBLIC
    #[arg(long = "type", value_parser = CLIENT_TYPES, ignore_case = true)]
    client_type: Option<String>,
    /// An approved redirect URI (repeatable)
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// Access token lifetime in seconds
    #[arg(long, value_name = "SECONDS")]
    access_token_validity: Option<i64>,
    /// Refresh token lifetime in seconds [default: 86400]
    #[arg(long, value_name = "SECONDS")]
    refresh_token_validity: Option<i64>,
    /// The business it belongs to
    #[arg(long)]
    business_name: Option<String>,
    /// The owner's homepage URL
    #[arg(long, value_name = "URL")]
    homepage_url: Option<String>,
    /// A scope (repeatable) [default: sp:scopes:all]
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Usable for requests internal to the product
    #[arg(long)]
    internal: bool,
    /// Create it disabled
    #[arg(long)]
    disabled: bool,
    /// It supports strong authentication
    #[arg(long)]
    strong_auth: bool,
    /// It supports the serialization of SAML claims
    #[arg(long)]
    claims: bool,
    /// Write the secret to this new file (mode 0600) instead of printing it
    #[arg(long, value_name = "PATH")]
    secret_file: Option<PathBuf>,
}

/// Reads a JSON document from a file, or stdin for `-`.
fn read_json(path: &Path) -> Result<Value, Error> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            format!("is not valid JSON: {e}"),
        )
    })
}

fn create_body(a: &CreateArgs) -> Result<Value, Error> {
    let mut o: Map<String, Value> = match &a.from_file {
        Some(p) => match read_json(p)? {
            Value::Object(o) => o,
            _ => {
                return Err(Error::invalid(
                    p.display().to_string(),
                    "must hold a JSON object",
                ));
            }
        },
        None => Map::new(),
    };
    let mut set = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    let upper = |s: &String| Value::String(s.to_ascii_uppercase());
    if let Some(v) = &a.name {
        set("name", v.clone().into());
    }
    if let Some(v) = &a.description {
        set("description", v.clone().into());
    }
    if !a.grant_types.is_empty() {
        set("grantTypes", a.grant_types.iter().map(upper).collect());
    }
    if let Some(v) = &a.access_type {
        set("accessType", upper(v));
    }
    if let Some(v) = &a.client_type {
        set("type", upper(v));
    }
    if !a.redirect_uris.is_empty() {
        set("redirectUris", a.redirect_uris.clone().into());
    }
    if let Some(v) = a.access_token_validity {
        set("accessTokenValiditySeconds", v.into());
    }
    if let Some(v) = a.refresh_token_validity {
        set("refreshTokenValiditySeconds", v.into());
    }
    if let Some(v) = &a.business_name {
        set("businessName", v.clone().into());
    }
    if let Some(v) = &a.homepage_url {
        set("homepageUrl", v.clone().into());
    }
    if !a.scopes.is_empty() {
        set("scope", a.scopes.clone().into());
    }
    if a.internal {
        set("internal", true.into());
    }
    if a.strong_auth {
        set("strongAuthSupported", true.into());
    }
    if a.claims {
        set("claimsSupported", true.into());
    }
    if a.disabled {
        set("enabled", false.into());
    }
    o.entry("enabled").or_insert(true.into());
    Ok(Value::Object(o))
}

/// `--set FIELD=VALUE` as JSON Patch `replace` operations; a VALUE that parses as JSON
/// (a number, true, a list) is taken as that, anything else as a string.
fn set_ops(sets: &[String]) -> Result<Value, Error> {
    let mut ops = Vec::new();
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--set `{s}` must be FIELD=VALUE, like name=Payroll"
            ))
        })?;
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.into()));
        ops.push(json!({ "op": "replace", "path": format!("/{}", k.trim()), "value": value }));
    }
    Ok(Value::Array(ops))
}

const PAGE: usize = 250;

/// Where OAuth clients live.
const OAUTH: &str = "/v3/oauth-clients/";

/// Every OAuth client (that `filter` keeps), page by page.
pub fn list_all(ctx: &Ctx, filter: Option<&str>) -> Result<Vec<Value>, Error> {
    let mut items = Vec::new();
    loop {
        let mut path = format!("/v3/oauth-clients?limit={PAGE}&offset={}", items.len());
        if let Some(f) = filter {
            path.push_str(&format!("&filters={}", enc(f)));
        }
        let page = ctx.get(&path)?;
        let page = page.as_array().cloned().unwrap_or_default();
        let n = page.len();
        items.extend(page);
        if n < PAGE {
            break;
        }
    }
    Ok(items)
}

/// Finds one OAuth client by id, else by exact name (as clients and roles are found):
/// exit 3 when neither matches, a usage error listing the ids when several share the name.
pub fn resolve(ctx: &Ctx, reference: &str) -> Result<Value, Error> {
    use unicode_normalization::UnicodeNormalization;
    match ctx.get(&item_path(OAUTH, reference)) {
        Err(e) if e.kind() == baack::ErrorKind::NotFound => {}
        found => return found,
    }
    let name: String = reference.nfc().collect();
    let named = |o: &&Value| {
        o.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.nfc().eq(name.chars()))
    };
    let all = list_all(ctx, None)?;
    let found: Vec<&Value> = all.iter().filter(named).collect();
    let id = |o: &Value| {
        o.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::NotFound(format!(
            "no OAuth client with the id or name `{reference}`; list them with `baack oauth list`"
        ))),
        many => Err(Error::Usage(format!(
            "`{reference}` names {} OAuth clients: {}; name one by its id instead, e.g. `baack oauth get {}`",
            many.len(),
            many.iter()
                .map(|o| {
                    let created = o.get("created").and_then(Value::as_str).unwrap_or("?");
                    format!("{} (created {created})", id(o))
                })
                .collect::<Vec<_>>()
                .join(", "),
            id(many[0])
        ))),
    }
}

/// The id of a resolved OAuth client.
pub fn id_of(v: &Value) -> String {
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Runs an OAuth command.
pub fn run(ctx: &Ctx, cmd: OauthCmd) -> Result<(), Failure> {
    match cmd {
        OauthCmd::Create(a) => {
            ctx.out
                .keeps_secret("OAuth client", a.secret_file.is_some())?;
            let body = create_body(&a)?;
            let file = a
                .secret_file
                .as_deref()
                .map(SecretFile::reserve)
                .transpose()?;
            let r = ctx
                .client
                .send(&Call::new(Method::POST, "/v3/oauth-clients").body(body))?;
            let mut v = r.body;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let secret = v["secret"].as_str().unwrap_or_default().to_string();
            let new = NewSecret::new(
                "OAuth client",
                &id,
                format!("baack oauth delete {id} --yes"),
            );
            let undo = || {
                ctx.client
                    .send(&Call::new(Method::DELETE, item_path(OAUTH, &id)))
                    .map(drop)
            };
            match file {
                Some(f) => {
                    let path = f.path().to_path_buf();
                    deliver_or_undo(&new, || Ok(f.write(&secret)?), undo)?;
                    // The secret is in its file: what follows only describes it.
                    v["secret"] = Value::Null;
                    ctx.out.item(Kind::OAuth, &v)?;
                    ctx.out.note(&format!(
                        "wrote the client secret to {} (mode 0600)",
                        path.display()
                    ));
                    Ok(())
                }
                None => deliver_or_undo(
                    &new,
                    || {
                        ctx.out
                            .created_secret(Kind::OAuth, &v, &format!("{id} {secret}"))
                    },
                    undo,
                ),
            }
        }
        OauthCmd::List { filter } => {
            let items = list_all(ctx, filter.as_deref())?;
            ctx.out.list(Kind::OAuth, &items)
        }
        OauthCmd::Get { id } => ctx.out.item(Kind::OAuth, &resolve(ctx, &id)?),
        OauthCmd::Update {
            id,
            set,
            patch_file,
        } => {
            let patch = match patch_file {
                Some(p) => read_json(&p)?,
                None => set_ops(&set)?,
            };
            let id = id_of(&resolve(ctx, &id)?);
            let r = ctx.client.send(
                &Call::new(Method::PATCH, item_path(OAUTH, &id))
                    .header(header::CONTENT_TYPE, "application/json-patch+json")
                    .body(patch),
            )?;
            ctx.out.item(Kind::OAuth, &r.body)
        }
        OauthCmd::RotateSecret {
            id,
            overlap,
            secret_file,
        } => {
            ctx.out
                .keeps_secret("OAuth client", secret_file.is_some())?;
            let id = id_of(&resolve(ctx, &id)?);
            let file = secret_file
                .as_deref()
                .map(SecretFile::reserve)
                .transpose()?;
            let r = ctx.client.send(
                &Call::new(Method::POST, format!("{}/secret", item_path(OAUTH, &id)))
                    .body(json!({ "overlapSeconds": overlap.as_secs() })),
            )?;
            let mut v = r.body;
            let secret = v["secret"].as_str().unwrap_or_default().to_string();
            let until = chrono::Utc::now() + overlap;
            let lost = |e: Failure| -> Failure {
                match e {
                    Failure::Error(e) => Error::Undelivered(format!(
                        "OAuth client {id} has a new secret, but it could not be delivered ({e}); the previous secret keeps working until {} UTC: move its users to a secret from one more `baack oauth rotate-secret {id}` only after that, since rotating again stops the previous one at once",
                        until.format("%Y-%m-%d %H:%M")
                    ))
                    .into(),
                    other => other,
                }
            };
            match file {
                Some(f) => {
                    let path = f.path().to_path_buf();
                    f.write(&secret).map_err(|e| lost(e.into()))?;
                    v["secret"] = Value::Null;
                    ctx.out.item(Kind::OAuth, &v)?;
                    ctx.out.note(&format!(
                        "wrote the new client secret to {} (mode 0600)",
                        path.display()
                    ));
                }
                None => ctx
                    .out
                    .created_secret(Kind::OAuth, &v, &format!("{id} {secret}"))
                    .map_err(lost)?,
            }
            ctx.out.note(&format!(
                "the previous secret keeps working until {} UTC",
                until.format("%Y-%m-%d %H:%M")
            ));
            Ok(())
        }
        OauthCmd::Token(a) => super::oauth_token::token(ctx, a),
        OauthCmd::Introspect(a) => super::oauth_token::introspect(ctx, a),
        OauthCmd::RotateKey => super::oauth_token::rotate_key(ctx),
        OauthCmd::Delete { id, d } => d.run(
            &ctx.out,
            || resolve(ctx, &id),
            |o| {
                let name = o.get("name").and_then(Value::as_str).unwrap_or("");
                format!("OAuth client `{name}` ({})", id_of(o))
            },
            |o| {
                let id = id_of(&o);
                let r = ctx
                    .client
                    .send(&Call::new(Method::DELETE, item_path(OAUTH, &id)))?;
                ctx.out.deleted("OAuth client", &id, &r.body)
            },
        ),
    }
}

/// The flag that sets each API field, per command, for invalid-input messages. A body
/// from `--from-file` uses the API's names already; its fields are still named by flag,
/// since a flag given too overrides them.
pub fn flags(cmd: &OauthCmd) -> super::FlagMap {
    match cmd {
        OauthCmd::Create(_) => &[
            ("name", "--name"),
            ("description", "--description"),
            ("grantTypes", "--grant-type"),
            ("accessType", "--access-type"),
            ("type", "--type"),
            ("redirectUris", "--redirect-uri"),
            ("accessTokenValiditySeconds", "--access-token-validity"),
            ("refreshTokenValiditySeconds", "--refresh-token-validity"),
            ("businessName", "--business-name"),
            ("homepageUrl", "--homepage-url"),
            ("scope", "--scope"),
            ("internal", "--internal"),
            ("enabled", "--disabled"),
            ("strongAuthSupported", "--strong-auth"),
            ("claimsSupported", "--claims"),
        ],
        OauthCmd::RotateSecret { .. } => &[("overlapSeconds", "--overlap")],
        OauthCmd::Token(_) => &[("scope", "--scope")],
        _ => &[],
    }
}
