//! The access manifest (`baack plan` / `apply -f FILE`): its YAML (or JSON) shape, read
//! with every error placed at its file, line and column, and resolved into [`Desired`]:
//! defaults applied, names checked for duplicates, references checked to resolve, and
//! secret files made relative to the manifest.
//!
//! YAML is read by `serde-saphyr`: it places every error (a syntax error, an unknown key,
//! a wrong type, a duplicate key) at its line and column, and its `Spanned<T>` gives the
//! place of each name for the checks that serde cannot make (duplicate names, dangling
//! references). `serde_yaml_ng`, which renders `-o yaml`, gives no place for a value and
//! silently keeps the last of two duplicate keys.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

use crate::error::{Error, Result};
use crate::model::{ACCESS_TYPES, CLIENT_TYPES, GRANT_TYPES, MAX_VALIDITY, Permission, Scope};

/// The largest manifest read: far past any real deployment's, short of exhausting memory.
pub const MAX_BYTES: usize = 64 << 20;

/// The default scope of a new API client.
pub const DEFAULT_SCOPE: &str = "api.baack.co";

/// How long an old token keeps working after a rotation when the policy does not say.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

// --- the file's shape ----------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    #[serde(default)]
    clients: Vec<ClientIn>,
    #[serde(default)]
    roles: Vec<RoleIn>,
    #[serde(default)]
    oauth_clients: Vec<OAuthIn>,
    #[serde(default)]
    tokens: Vec<TokenIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientIn {
    #[serde(rename = "clientID")]
    client_id: Spanned<String>,
    #[serde(default)]
    scope: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleIn {
    name: Spanned<String>,
    #[serde(default)]
    permissions: Vec<Spanned<String>>,
    #[serde(default)]
    clients: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OAuthIn {
    name: Spanned<String>,
    description: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<Spanned<String>>>,
    access_type: Option<Spanned<String>>,
    access_token_validity_seconds: Option<Spanned<i64>>,
    refresh_token_validity_seconds: Option<Spanned<i64>>,
    enabled: Option<bool>,
    #[serde(rename = "type")]
    client_type: Option<Spanned<String>>,
    redirect_uris: Option<Vec<String>>,
    business_name: Option<String>,
    homepage_url: Option<String>,
    internal: Option<bool>,
    strong_auth_supported: Option<bool>,
    claims_supported: Option<bool>,
    scope: Option<Vec<String>>,
    secret_file: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenIn {
    client: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    expires_in: Option<Spanned<String>>,
    min_remaining: Option<Spanned<String>>,
    overlap: Option<Spanned<String>>,
    secret_file: Spanned<String>,
}

// --- what it asks for ----------------------------------------------------------------

/// A place in the manifest: `access.yaml:12:7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At(pub String);

impl At {
    /// An error here.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Manifest {
            at: self.0.clone(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An API client as the manifest wants it.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Its `clientID`: its name.
    pub client_id: String,
    /// Its scope.
    pub scope: String,
    /// Where it is declared.
    pub at: At,
}

/// A role as the manifest wants it.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// Its name.
    pub name: String,
    /// Its permission labels, sorted, without duplicates.
    pub permissions: Vec<String>,
    /// Its member clients by `clientID`, sorted, without duplicates.
    pub clients: Vec<String>,
    /// Where it is declared.
    pub at: At,
}

/// An OAuth client as the manifest wants it.
#[derive(Debug, Clone)]
pub struct OAuthSpec {
    /// Its name.
    pub name: String,
    /// Every settable field, in the API's spelling, defaults applied (`name` among them).
    pub fields: Map<String, Value>,
    /// Where its secret goes when it is created (it is shown nowhere else).
    pub secret_file: Option<PathBuf>,
    /// Where it is declared.
    pub at: At,
}

/// A token policy: the client has one live token with at least `min_remaining` left,
/// renewed by a rotation with `overlap` when it has less.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// The client, by `clientID`.
    pub client: String,
    /// The token's description (with the client, the policy's name).
    pub description: String,
    /// How long a new token lasts (none: it never expires).
    pub expires_in: Option<Duration>,
    /// Rotate when less than this is left (none: only when it is gone or expired).
    pub min_remaining: Option<Duration>,
    /// How long the old token keeps working after a rotation.
    pub overlap: Duration,
    /// Where its secret is kept (mode 0600).
    pub secret_file: PathBuf,
    /// Where it is declared.
    pub at: At,
}

impl TokenSpec {
    /// The policy's name in plans and the state: `ci/ci runner`.
    pub fn key(&self) -> String {
        token_key(&self.client, &self.description)
    }
}

/// A token policy's key.
pub fn token_key(client: &str, description: &str) -> String {
    if description.is_empty() {
        client.to_string()
    } else {
        format!("{client}/{description}")
    }
}

/// A resolved manifest.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The file's name in messages (`-` for stdin).
    pub file: String,
    /// API clients.
    pub clients: Vec<ClientSpec>,
    /// Roles.
    pub roles: Vec<RoleSpec>,
    /// OAuth clients.
    pub oauth: Vec<OAuthSpec>,
    /// Token policies.
    pub tokens: Vec<TokenSpec>,
}

// --- reading -------------------------------------------------------------------------

/// Reads `text`, the manifest called `file` in messages, whose relative secret files are
/// relative to `base`.
pub fn parse(text: &str, file: &str, base: &Path) -> Result<Desired> {
    if text.len() > MAX_BYTES {
        return Err(Error::Manifest {
            at: file.to_string(),
            message: format!("is larger than {} MiB", MAX_BYTES >> 20),
        });
    }
    let raw: File = if text.trim().is_empty() {
        File {
            clients: Vec::new(),
            roles: Vec::new(),
            oauth_clients: Vec::new(),
            tokens: Vec::new(),
        }
    } else {
        serde_saphyr::from_str(text).map_err(|e| syntax(file, &e))?
    };
    Resolver { file, base }.resolve(raw)
}

/// A reading error at its place, in the words `serde-saphyr` gives, without its snippet.
fn syntax(file: &str, e: &serde_saphyr::Error) -> Error {
    let text = e.without_snippet().to_string();
    let text = text.lines().next().unwrap_or_default().trim();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    // "line 5 column 5: unknown field …": the place is told once, in front.
    let message = match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => text,
    };
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    }
    .to_string();
    let at = match e.location() {
        Some(l) => format!("{file}:{}:{}", l.line(), l.column()),
        None => file.to_string(),
    };
    Error::Manifest { at, message }
}

struct Resolver<'a> {
    file: &'a str,
    base: &'a Path,
}

impl Resolver<'_> {
    fn at<T>(&self, s: &Spanned<T>) -> At {
        At(format!(
            "{}:{}:{}",
            self.file,
            s.referenced.line(),
            s.referenced.column()
        ))
    }

    fn one_of(&self, s: &Spanned<String>, what: &str, allowed: &[&str]) -> Result<String> {
        if allowed.contains(&s.value.as_str()) {
            Ok(s.value.clone())
        } else {
            Err(self.at(s).error(format!(
                "`{}` is not a {what}: use one of {}",
                s.value,
                allowed.join(", ")
            )))
        }
    }

    fn duration(&self, s: &Spanned<String>, field: &str) -> Result<Duration> {
        humantime::parse_duration(s.value.trim()).map_err(|_| {
            self.at(s).error(format!(
                "{field} `{}` is not a duration: write one like 90s, 15m, 24h or 30d",
                s.value
            ))
        })
    }

    fn path(&self, s: &Spanned<String>) -> Result<PathBuf> {
        if s.value.trim().is_empty() {
            return Err(self
                .at(s)
                .error("secretFile is empty: name the file that keeps the secret"));
        }
        let p = Path::new(&s.value);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        })
    }

    fn name(&self, s: &Spanned<String>, what: &str) -> Result<String> {
        let v = &s.value;
        if v.is_empty() || v.trim() != v {
            return Err(self.at(s).error(format!(
                "{what} `{v}` is empty or has white space around it"
            )));
        }
        use unicode_normalization::UnicodeNormalization;
        Ok(v.nfc().collect())
    }

    fn resolve(&self, raw: File) -> Result<Desired> {
        let mut d = Desired {
            file: self.file.to_string(),
            ..Desired::default()
        };
        let mut seen: HashMap<String, At> = HashMap::new();
        for c in &raw.clients {
            let id = self.name(&c.client_id, "clientID")?;
            let at = self.at(&c.client_id);
            if let Some(first) = seen.insert(id.clone(), at.clone()) {
                return Err(at.error(format!(
                    "client `{id}` is declared twice (first at {first}): keep one"
                )));
            }
            let scope = match &c.scope {
                Some(s) => self.one_of(s, "scope", &Scope::ALL)?,
                None => DEFAULT_SCOPE.to_string(),
            };
            d.clients.push(ClientSpec {
                client_id: id,
                scope,
                at,
            });
        }
        let declared = |r: &Spanned<String>, what: &str| -> Result<String> {
            use unicode_normalization::UnicodeNormalization;
            let n: String = r.value.nfc().collect();
            if seen.contains_key(&n) {
                Ok(n)
            } else {
                Err(self.at(r).error(format!(
                    "{what} `{}` is not a client of this manifest: declare it under `clients:` (by its clientID)",
                    r.value
                )))
            }
        };
        let mut names: HashMap<String, At> = HashMap::new();
        for r in &raw.roles {
            let name = self.name(&r.name, "role name")?;
            let at = self.at(&r.name);
            if let Some(first) = names.insert(name.clone(), at.clone()) {
                return Err(at.error(format!(
                    "role `{name}` is declared twice (first at {first}): keep one"
                )));
            }
            let mut permissions = Vec::new();
            for p in &r.permissions {
                permissions.push(self.one_of(p, "permission", &Permission::ALL)?);
            }
            permissions.sort();
            permissions.dedup();
            let mut clients = Vec::new();
            for c in &r.clients {
                clients.push(declared(c, "member")?);
            }
            clients.sort();
            clients.dedup();
            d.roles.push(RoleSpec {
                name,
                permissions,
                clients,
                at,
            });
        }
        let mut oauth_names: HashMap<String, At> = HashMap::new();
        for o in raw.oauth_clients {
            let name = self.name(&o.name, "OAuth client name")?;
            let at = self.at(&o.name);
            if let Some(first) = oauth_names.insert(name.clone(), at.clone()) {
                return Err(at.error(format!(
                    "OAuth client `{name}` is declared twice (first at {first}): keep one"
                )));
            }
            let spec = self.oauth(o, name, at)?;
            d.oauth.push(spec);
        }
        let mut policies: HashMap<String, At> = HashMap::new();
        let mut files: BTreeMap<PathBuf, At> = BTreeMap::new();
        for t in raw.tokens {
            let client = declared(&t.client, "client")?;
            let at = self.at(&t.client);
            let description = t.description.unwrap_or_default();
            let key = token_key(&client, &description);
            if let Some(first) = policies.insert(key.clone(), at.clone()) {
                return Err(at.error(format!(
                    "token policy `{key}` is declared twice (first at {first}): give each of a client's policies its own description"
                )));
            }
            let expires_in = t
                .expires_in
                .as_ref()
                .map(|s| self.duration(s, "expiresIn"))
                .transpose()?;
            let min_remaining = t
                .min_remaining
                .as_ref()
                .map(|s| self.duration(s, "minRemaining"))
                .transpose()?;
            let overlap = t
                .overlap
                .as_ref()
                .map(|s| self.duration(s, "overlap"))
                .transpose()?
                .unwrap_or(DEFAULT_OVERLAP);
            if let (Some(e), Some(m), Some(s)) = (expires_in, min_remaining, &t.min_remaining)
                && m >= e
            {
                return Err(self.at(s).error(format!(
                    "minRemaining ({}) must be less than expiresIn ({}), or every apply would rotate",
                    humantime::format_duration(m),
                    humantime::format_duration(e)
                )));
            }
            if let (None, Some(s)) = (expires_in, &t.min_remaining) {
                return Err(self.at(s).error(
                    "minRemaining needs expiresIn: a token that never expires never runs low",
                ));
            }
            let secret_file = self.path(&t.secret_file)?;
            if let Some(first) = files.insert(secret_file.clone(), self.at(&t.secret_file)) {
                return Err(self.at(&t.secret_file).error(format!(
                    "secretFile `{}` is also named at {first}: each secret needs its own file",
                    t.secret_file.value
                )));
            }
            d.tokens.push(TokenSpec {
                client,
                description,
                expires_in,
                min_remaining,
                overlap,
                secret_file,
                at,
            });
        }
        for o in &d.oauth {
            if let Some(p) = &o.secret_file
                && let Some(first) = files.insert(p.clone(), o.at.clone())
            {
                return Err(o.at.error(format!(
                    "its secretFile `{}` is also named at {first}: each secret needs its own file",
                    p.display()
                )));
            }
        }
        Ok(d)
    }

    fn oauth(&self, o: OAuthIn, name: String, at: At) -> Result<OAuthSpec> {
        let missing = |field: &str| {
            at.error(format!(
                "OAuth client `{name}` needs `{field}` (the API requires it on create)"
            ))
        };
        let mut f = Map::new();
        f.insert("name".into(), name.clone().into());
        f.insert(
            "description".into(),
            o.description.ok_or_else(|| missing("description"))?.into(),
        );
        let grants = o.grant_types.ok_or_else(|| missing("grantTypes"))?;
        if grants.is_empty() {
            return Err(at.error(format!(
                "OAuth client `{name}` has no grantTypes: give at least one of {}",
                GRANT_TYPES.join(", ")
            )));
        }
        let mut g = Vec::new();
        for s in &grants {
            g.push(self.one_of(s, "grant type", &GRANT_TYPES)?);
        }
        f.insert("grantTypes".into(), json!(g));
        let access = o.access_type.ok_or_else(|| missing("accessType"))?;
        f.insert(
            "accessType".into(),
            self.one_of(&access, "access type", &ACCESS_TYPES)?.into(),
        );
        let validity = |s: &Spanned<i64>, field: &str| -> Result<Value> {
            if (1..=MAX_VALIDITY).contains(&s.value) {
                Ok(s.value.into())
            } else {
                Err(self.at(s).error(format!(
                    "{field} must be from 1 to {MAX_VALIDITY} seconds, not {}",
                    s.value
                )))
            }
        };
        let access_validity = o
            .access_token_validity_seconds
            .ok_or_else(|| missing("accessTokenValiditySeconds"))?;
        f.insert(
            "accessTokenValiditySeconds".into(),
            validity(&access_validity, "accessTokenValiditySeconds")?,
        );
        f.insert(
            "refreshTokenValiditySeconds".into(),
            match &o.refresh_token_validity_seconds {
                Some(s) => validity(s, "refreshTokenValiditySeconds")?,
                None => 86_400.into(),
            },
        );
        f.insert("enabled".into(), o.enabled.unwrap_or(true).into());
        f.insert(
            "type".into(),
            match &o.client_type {
                Some(s) => self.one_of(s, "client type", &CLIENT_TYPES)?.into(),
                None => "CONFIDENTIAL".into(),
            },
        );
        f.insert(
            "redirectUris".into(),
            json!(o.redirect_uris.unwrap_or_default()),
        );
        f.insert(
            "businessName".into(),
            o.business_name.unwrap_or_default().into(),
        );
        f.insert(
            "homepageUrl".into(),
            o.homepage_url.unwrap_or_default().into(),
        );
        f.insert("internal".into(), o.internal.unwrap_or(false).into());
        f.insert(
            "strongAuthSupported".into(),
            o.strong_auth_supported.unwrap_or(false).into(),
        );
        f.insert(
            "claimsSupported".into(),
            o.claims_supported.unwrap_or(false).into(),
        );
        f.insert(
            "scope".into(),
            json!(o.scope.unwrap_or_else(|| vec!["sp:scopes:all".to_string()])),
        );
        let secret_file = o.secret_file.as_ref().map(|s| self.path(s)).transpose()?;
        Ok(OAuthSpec {
            name,
            fields: f,
            secret_file,
            at,
        })
    }
}

/// The OAuth fields a PATCH may change; the others are fixed once the client is made.
pub use crate::model::OAUTH_PATCHABLE;

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "m.yaml", Path::new("/w"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "parsed".into())
    }

    const SAMPLE: &str = "\
clients:
  - clientID: ci
    scope: api.baack.co
  - clientID: Android
roles:
  - name: Content Viewer
    permissions: [VIEW_CONTENT]
    clients: [Android]
oauthClients:
  - name: Demo API Client
    description: CI
    grantTypes: [CLIENT_CREDENTIALS]
    accessType: OFFLINE
    accessTokenValiditySeconds: 750
    enabled: true
    secretFile: secrets/demo.secret
tokens:
  - client: ci
    description: ci runner
    expiresIn: 30d
    minRemaining: 7d     # rotate when less is left
    overlap: 24h
    secretFile: secrets/ci.token
";

    #[test]
    fn the_issue_s_example_reads_with_its_defaults() {
        let d = parse(SAMPLE, "m.yaml", Path::new("/w")).unwrap();
        assert_eq!(d.clients.len(), 2);
        assert_eq!(d.clients[1].scope, DEFAULT_SCOPE);
        assert_eq!(d.clients[1].at.0, "m.yaml:4:15");
        assert_eq!(d.roles[0].clients, vec!["Android"]);
        let o = &d.oauth[0];
        assert_eq!(o.fields["refreshTokenValiditySeconds"], 86_400);
        assert_eq!(o.fields["type"], "CONFIDENTIAL");
        assert_eq!(o.fields["businessName"], "");
        assert_eq!(
            o.secret_file.as_deref(),
            Some(Path::new("/w/secrets/demo.secret"))
        );
        let t = &d.tokens[0];
        assert_eq!(t.key(), "ci/ci runner");
        assert_eq!(t.expires_in, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(t.min_remaining, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(t.secret_file, Path::new("/w/secrets/ci.token"));
    }

    #[test]
    fn json_is_read_too() {
        let d = parse(
            r#"{"clients": [{"clientID": "ci"}], "roles": [{"name": "r", "clients": ["ci"]}]}"#,
            "m.json",
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(d.roles[0].clients, vec!["ci"]);
        assert!(
            parse("", "m.yaml", Path::new("/"))
                .unwrap()
                .clients
                .is_empty()
        );
    }

    #[test]
    fn every_mistake_is_placed_at_its_line_and_column() {
        let cases = [
            (
                "clients:\n  - clientID: ci\n    scpe: x\n",
                "m.yaml:3:5",
                "unknown field `scpe`",
            ),
            (
                "client:\n  - clientID: ci\n",
                "m.yaml:1:1",
                "unknown field `client`",
            ),
            (
                "clients:\n  - clientID: ci\n    clientID: x\n",
                "m.yaml:3:5",
                "duplicate",
            ),
            (
                "clients:\n  - clientID: ci\n  - clientID: ci\n",
                "m.yaml:3:15",
                "declared twice (first at m.yaml:2:15)",
            ),
            (
                "clients:\n  - clientID: ci\nroles:\n  - name: r\n    clients: [ci, nope]\n",
                "m.yaml:5:19",
                "`nope` is not a client of this manifest",
            ),
            (
                "clients:\n  - clientID: ci\n    scope: api\n",
                "m.yaml:3:12",
                "use one of api.baack.co, webhook.baack.co",
            ),
            (
                "roles:\n  - name: r\n    permissions: [WRITE]\n",
                "m.yaml:3:19",
                "not a permission",
            ),
            (
                "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    expiresIn: 30x\n    secretFile: t\n",
                "m.yaml:5:16",
                "expiresIn `30x` is not a duration",
            ),
            (
                "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    expiresIn: 7d\n    minRemaining: 7d\n    secretFile: t\n",
                "m.yaml:6:19",
                "must be less than expiresIn",
            ),
            (
                "tokens:\n  - client: ghost\n    secretFile: t\n",
                "m.yaml:2:13",
                "`ghost` is not a client",
            ),
            (
                "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    secretFile: t\n  - client: ci\n    description: b\n    secretFile: t\n",
                "m.yaml:8:17",
                "also named at m.yaml:5:17",
            ),
            (
                "oauthClients:\n  - name: o\n    description: d\n    grantTypes: [CLIENT_CREDENTIALS]\n    accessType: OFFLINE\n    accessTokenValiditySeconds: abc\n",
                "m.yaml:6:33",
                "",
            ),
            (
                "oauthClients:\n  - name: o\n    description: d\n    grantTypes: [CLIENT_CREDENTIALS]\n    accessType: OFFLINE\n",
                "m.yaml:2:11",
                "needs `accessTokenValiditySeconds`",
            ),
            ("clients: [\n", "m.yaml:1:", ""),
            ("clients: 5\n", "m.yaml:1:10", ""),
            (
                "clients:\n  - clientID: \" ci\"\n",
                "m.yaml:2:15",
                "white space",
            ),
        ];
        for (text, at, says) in cases {
            let e = err(text);
            assert!(e.starts_with(at), "{text:?}: {e}");
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(!e.contains("line "), "the place is told once: {e}");
        }
    }
}
