//! The domain: companies, API clients, bearer tokens, permission roles and OAuth clients,
//! as stored, as parsed from request bodies (with every rule of API.md), and as shown on
//! the wire.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::{Millis, RANGE, format_baack, format_rfc3339, in_range, parse_timestamp};
use crate::error::{Error, Result};

/// Path prefixes of the Baack native API, used to build `url` fields.
pub mod paths {
    /// Companies.
    pub const COMPANY: &str = "/n/v1/company/";
    /// API clients.
    pub const CLIENT: &str = "/n/v1/apiclient/";
    /// Bearer tokens.
    pub const TOKEN: &str = "/n/v1/apiclientbearertoken/";
    /// Permission roles.
    pub const ROLE: &str = "/n/v1/permissionrole/";
    /// OAuth clients.
    pub const OAUTH: &str = "/v3/oauth-clients";
}

/// The `clientID` of the API client every store starts with.
pub const ROOT_CLIENT_ID: &str = "root";

/// An API client's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Its tokens may call the API.
    #[serde(rename = "api.baack.co")]
    Api,
    /// Webhook signing only; its tokens never authenticate.
    #[serde(rename = "webhook.baack.co")]
    Webhook,
}

impl Scope {
    /// Every scope, as spelled on the wire.
    pub const ALL: [&'static str; 2] = ["api.baack.co", "webhook.baack.co"];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api.baack.co",
            Scope::Webhook => "webhook.baack.co",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "api.baack.co" => Some(Scope::Api),
            "webhook.baack.co" => Some(Scope::Webhook),
            _ => None,
        }
    }
}

/// A permission label a role can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Permission {
    /// Every management verb.
    Administer,
    /// Every management GET.
    Read,
    /// Content consumption only: no management endpoint.
    ViewContent,
}

impl Permission {
    /// Every label, as spelled on the wire.
    pub const ALL: [&'static str; 3] = ["ADMINISTER", "READ", "VIEW_CONTENT"];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Administer => "ADMINISTER",
            Permission::Read => "READ",
            Permission::ViewContent => "VIEW_CONTENT",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Permission> {
        match s {
            "ADMINISTER" => Some(Permission::Administer),
            "READ" => Some(Permission::Read),
            "VIEW_CONTENT" => Some(Permission::ViewContent),
            _ => None,
        }
    }
}

/// The company that owns everything in a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Its URN.
    pub urn: String,
    /// Its display name.
    pub name: String,
}

/// An API client as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiClient {
    /// Its URN.
    pub urn: String,
    /// Its name, unique within the owner, compared case-sensitively.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// What its tokens may do.
    pub scope: Scope,
    /// The owning company's URN.
    pub owner: String,
}

/// A bearer token as stored: never the token itself, only its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BearerToken {
    /// Its URN.
    pub urn: String,
    /// The URN of the API client it authenticates.
    pub client: String,
    /// Lowercase hex SHA-256 of the token.
    pub digest: String,
    /// The first characters of the token and `...`, as reads show it.
    pub shown: String,
    /// When it stops working, if ever.
    pub expires: Option<Millis>,
    /// When it was made.
    pub created: Millis,
}

impl BearerToken {
    /// Whether it still authenticates at `now` (its client aside).
    pub fn is_live(&self, now: Millis) -> bool {
        self.expires.is_none_or(|t| now < t)
    }
}

/// A permission role as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Its URN.
    pub urn: String,
    /// Its name, unique within the owner.
    pub name: String,
    /// The owning company's URN.
    pub owner: String,
    /// Identity URNs: stored, not interpreted.
    pub identities: Vec<String>,
    /// API client URNs holding this role.
    pub clients: Vec<String>,
    /// The permissions it grants.
    pub permissions: Vec<Permission>,
    /// Bumped by every change; the `ETag` of the role.
    pub version: u64,
}

/// The OAuth 2.0 grant types.
pub const GRANT_TYPES: [&str; 3] = ["CLIENT_CREDENTIALS", "AUTHORIZATION_CODE", "REFRESH_TOKEN"];
/// The OAuth access types.
pub const ACCESS_TYPES: [&str; 2] = ["ONLINE", "OFFLINE"];
/// The OAuth client types.
pub const CLIENT_TYPES: [&str; 2] = ["CONFIDENTIAL", "PUBLIC"];
/// The most seconds a token validity may be (one year).
pub const MAX_VALIDITY: i64 = 31_536_000;

/// The fields of an OAuth client that a request may set, in wire spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthFields {
    /// The business it belongs to.
    pub business_name: Option<String>,
    /// The owner's homepage.
    pub homepage_url: Option<String>,
    /// A human-readable name.
    pub name: String,
    /// A description.
    pub description: String,
    /// Access token lifetime, seconds.
    pub access_token_validity_seconds: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_validity_seconds: i64,
    /// Approved redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// `ONLINE` or `OFFLINE`.
    pub access_type: String,
    /// `CONFIDENTIAL` or `PUBLIC`.
    #[serde(rename = "type")]
    pub client_type: String,
    /// Usable for requests internal to the product.
    pub internal: bool,
    /// Enabled for use.
    pub enabled: bool,
    /// Supports strong authentication.
    pub strong_auth_supported: bool,
    /// Supports SAML claims serialization.
    pub claims_supported: bool,
    /// Scopes.
    pub scope: Vec<String>,
}

/// An OAuth client as stored: the secret only as a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    /// 32 lowercase hex characters.
    pub id: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_digest: String,
    /// Everything a request sets.
    #[serde(flatten)]
    pub fields: OAuthFields,
    /// Creation time.
    pub created: Millis,
    /// Last change.
    pub modified: Millis,
    /// Last use, if any.
    pub last_used: Option<Millis>,
}

// ---------------------------------------------------------------------------------------
// Reading request bodies

/// Parses and normalises a URN: a hyphenated UUID, returned lowercase.
pub fn parse_urn(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A new random URN.
pub fn new_urn() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// The body of a request, which must be a JSON object.
pub fn body_object(body: &Value) -> Result<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| Error::BadRequest("the body must be a JSON object".into()))
}

fn present<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

fn req_str<'a>(o: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match present(o, name) {
        None => Err(Error::MissingField(name.into())),
        Some(v) => v
            .as_str()
            .ok_or_else(|| Error::invalid(name, "must be a string")),
    }
}

/// Reads a reference `{"urn": …}` (or `{"Urn": …}`), returning the normalised URN.
fn reference(v: &Value, name: &str) -> Result<String> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid(name, "must be an object like {\"urn\": \"…\"}"))?;
    let urn = present(obj, "urn")
        .or_else(|| present(obj, "Urn"))
        .ok_or_else(|| Error::MissingField(format!("{name}.urn")))?;
    let s = urn
        .as_str()
        .ok_or_else(|| Error::invalid(format!("{name}.urn"), "must be a string"))?;
    parse_urn(s).ok_or_else(|| {
        Error::invalid(
            format!("{name}.urn"),
            format!("`{s}` is not a URN (a hyphenated UUID)"),
        )
    })
}

fn req_ref(o: &Map<String, Value>, name: &str) -> Result<String> {
    match present(o, name) {
        None => Err(Error::MissingField(name.into())),
        Some(v) => reference(v, name),
    }
}

fn opt_refs(o: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>> {
    let Some(v) = present(o, name) else {
        return Ok(None);
    };
    let list = v
        .as_array()
        .ok_or_else(|| Error::invalid(name, "must be a list of references"))?;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let urn = reference(item, name)?;
        // A repeated reference means the same thing once; keep the first.
        if !out.contains(&urn) {
            out.push(urn);
        }
    }
    Ok(Some(out))
}

/// Why `c` may not appear in a name (API.md "Names"), if it may not. The Unicode data
/// comes from ICU4X's `icu_properties` (General_Category and Default_Ignorable_Code_Point),
/// never from a table of our own.
pub fn forbidden_in_name(c: char) -> Option<&'static str> {
    use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory as Gc};
    use icu_properties::{CodePointMapData, CodePointSetData};
    let why = match CodePointMapData::<Gc>::new().get(c) {
        Gc::Control => "a control character",
        Gc::Format => "a format character",
        Gc::LineSeparator => "a line separator",
        Gc::ParagraphSeparator => "a paragraph separator",
        Gc::PrivateUse => "a private-use character",
        Gc::Surrogate | Gc::Unassigned => "an unassigned code point",
        // Invisible letters such as U+3164 HANGUL FILLER, and U+034F COMBINING GRAPHEME
        // JOINER, are no format characters but show nothing all the same.
        _ if CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c) => {
            "an invisible (default-ignorable) character"
        }
        _ => return None,
    };
    Some(why)
}

/// The confusable skeleton of a name (Unicode TS #39, from `unicode-security`): two names
/// with one skeleton look alike (`Android` and `Аndroid` with a Cyrillic А).
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// Checks a name against API.md "Names" and returns it NFC-normalised, as it is stored
/// and compared: 1 to 128 characters, no white space at either end, no control, format,
/// separator, private-use, unassigned or default-ignorable character; with `not_urn`
/// (clientID and role name), nothing that reads as a URN in any case, which a REF
/// would take for another object's URN.
pub fn check_name(field: &str, s: &str, not_urn: bool) -> Result<String> {
    use unicode_normalization::UnicodeNormalization;
    let name: String = s.nfc().collect();
    if let Some(why) = name_problem(&name, not_urn) {
        return Err(Error::invalid(field, why));
    }
    Ok(name)
}

/// What is wrong with an NFC name, if anything (see [`check_name`]).
fn name_problem(name: &str, not_urn: bool) -> Option<String> {
    let n = name.chars().count();
    if n == 0 || n > 128 {
        return Some(format!("must be 1 to 128 characters, not {n}"));
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Some("must not start or end with white space".into());
    }
    if let Some((c, why)) = name
        .chars()
        .find_map(|c| forbidden_in_name(c).map(|why| (c, why)))
    {
        return Some(format!(
            "must hold printable characters only, not U+{:04X} ({why})",
            u32::from(c)
        ));
    }
    if not_urn && parse_urn(name).is_some() {
        return Some(format!(
            "`{name}` reads as a URN, which would name another object; choose a name that is not a URN"
        ));
    }
    None
}

/// What a create or update body says of an API client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientInput {
    /// `clientID`.
    pub client_id: String,
    /// `scope`.
    pub scope: Scope,
    /// `owner`, required on create and ignored on update.
    pub owner: Option<String>,
}

impl ClientInput {
    /// Reads and checks an API client body.
    pub fn parse(body: &Value, create: bool) -> Result<ClientInput> {
        let o = body_object(body)?;
        let owner = if create {
            Some(req_ref(o, "owner")?)
        } else {
            None
        };
        let scope_s = req_str(o, "scope")?;
        let scope = Scope::parse(scope_s).ok_or_else(|| {
            Error::invalid(
                "scope",
                format!(
                    "`{scope_s}` is not a scope; use {}",
                    Scope::ALL.join(" or ")
                ),
            )
        })?;
        let client_id = check_name("clientID", req_str(o, "clientID")?, true)?;
        Ok(ClientInput {
            client_id,
            scope,
            owner,
        })
    }
}

/// What a create or update body says of a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInput {
    /// `apiClient`, required on create and ignored on update.
    pub client: Option<String>,
    /// `expirationTimestamp`.
    pub expires: Option<Millis>,
}

impl TokenInput {
    /// Reads and checks a bearer token body.
    pub fn parse(body: &Value, create: bool) -> Result<TokenInput> {
        let o = body_object(body)?;
        let client = if create {
            Some(req_ref(o, "apiClient")?)
        } else {
            None
        };
        let expires = match present(o, "expirationTimestamp") {
            None => None,
            Some(v) => {
                let s = v.as_str().ok_or_else(|| {
                    Error::invalid("expirationTimestamp", "must be a timestamp string")
                })?;
                let t = parse_timestamp(s).ok_or_else(|| {
                    Error::invalid(
                        "expirationTimestamp",
                        format!("`{s}` is not a timestamp like 2026-07-04T14:34:19.610"),
                    )
                })?;
                if !in_range(t) {
                    return Err(Error::invalid(
                        "expirationTimestamp",
                        format!("`{s}` is outside the allowed range, {RANGE}"),
                    ));
                }
                Some(t)
            }
        };
        Ok(TokenInput { client, expires })
    }
}

/// What a create or update body says of a permission role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleInput {
    /// `name`.
    pub name: String,
    /// `owner`, required on create and ignored on update.
    pub owner: Option<String>,
    /// `identities`, absent meaning none.
    pub identities: Vec<String>,
    /// `clients`, absent meaning none.
    pub clients: Vec<String>,
    /// `permissions`; absent on an update keeps the role's (Baack's own clients never
    /// send this field of ours, and a PUT from them must not strip a role of its rights).
    pub permissions: Option<Vec<Permission>>,
}

impl RoleInput {
    /// Reads and checks a permission role body.
    pub fn parse(body: &Value, create: bool) -> Result<RoleInput> {
        let o = body_object(body)?;
        let owner = if create {
            Some(req_ref(o, "owner")?)
        } else {
            None
        };
        let name = check_name("name", req_str(o, "name")?, true)?;
        let identities = opt_refs(o, "identities")?.unwrap_or_default();
        let clients = opt_refs(o, "clients")?.unwrap_or_default();
        let permissions = match present(o, "permissions") {
            None => None,
            Some(v) => {
                let list = v.as_array().ok_or_else(|| {
                    Error::invalid("permissions", "must be a list of permission labels")
                })?;
                let mut set = BTreeSet::new();
                for p in list {
                    let label = p.as_str().unwrap_or_default();
                    let perm = Permission::parse(label).ok_or_else(|| {
                        Error::invalid(
                            "permissions",
                            format!(
                                "`{}` is not a permission; use {}",
                                p.as_str().map_or_else(|| p.to_string(), str::to_string),
                                Permission::ALL.join(", ")
                            ),
                        )
                    })?;
                    set.insert(perm);
                }
                Some(set.into_iter().collect())
            }
        };
        Ok(RoleInput {
            name,
            owner,
            identities,
            clients,
            permissions,
        })
    }
}

/// The fields an OAuth `PATCH` may touch.
pub const OAUTH_PATCHABLE: [&str; 12] = [
    "businessName",
    "homepageUrl",
    "name",
    "description",
    "accessTokenValiditySeconds",
    "refreshTokenValiditySeconds",
    "redirectUris",
    "grantTypes",
    "accessType",
    "enabled",
    "strongAuthSupported",
    "claimsSupported",
];

/// A JSON number with no fractional part, as an `i64`: `3600`, and also `3600.0` or
/// `3.6e3`, which JSON (and JSON Schema's `integer`) count as the same number.
fn whole_number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // Within ±2^53 every whole f64 is exact, and far wider than any rule here.
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

/// Reads an OAuth client body and checks every create rule, naming each broken one.
pub fn parse_oauth(body: &Value) -> Result<OAuthFields> {
    let o = body_object(body)?;
    let mut causes: Vec<String> = Vec::new();

    let string = |name: &str, required: bool, causes: &mut Vec<String>| -> Option<String> {
        match present(o, name) {
            None if required => {
                causes.push(format!("{name} is required"));
                None
            }
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                causes.push(format!("{name} must be a string"));
                None
            }
        }
    };
    let business_name = string("businessName", false, &mut causes);
    let homepage_url = string("homepageUrl", false, &mut causes);
    let name = string("name", true, &mut causes);
    let description = string("description", true, &mut causes);
    let access_type = string("accessType", true, &mut causes);
    let client_type = string("type", false, &mut causes).unwrap_or_else(|| "CONFIDENTIAL".into());

    let int = |name: &str, default: Option<i64>, causes: &mut Vec<String>| -> i64 {
        match present(o, name) {
            None => default.unwrap_or_else(|| {
                causes.push(format!("{name} is required"));
                0
            }),
            Some(v) => match whole_number(v) {
                Some(n) if (1..=MAX_VALIDITY).contains(&n) => n,
                _ => {
                    causes.push(format!(
                        "{name} must be an integer from 1 to {MAX_VALIDITY}, not {v}"
                    ));
                    0
                }
            },
        }
    };
    let access_validity = int("accessTokenValiditySeconds", None, &mut causes);
    let refresh_validity = int("refreshTokenValiditySeconds", Some(86_400), &mut causes);

    let boolean = |name: &str, required: bool, causes: &mut Vec<String>| -> bool {
        match present(o, name) {
            None => {
                if required {
                    causes.push(format!("{name} is required"));
                }
                false
            }
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                causes.push(format!("{name} must be true or false, not {v}"));
                false
            }
        }
    };
    let enabled = boolean("enabled", true, &mut causes);
    let internal = boolean("internal", false, &mut causes);
    let strong = boolean("strongAuthSupported", false, &mut causes);
    let claims = boolean("claimsSupported", false, &mut causes);

    let strings = |name: &str, causes: &mut Vec<String>| -> Option<Vec<String>> {
        let v = present(o, name)?;
        match v.as_array() {
            Some(a) if a.iter().all(Value::is_string) => Some(
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => {
                causes.push(format!("{name} must be a list of strings"));
                None
            }
        }
    };
    let grant_types = match strings("grantTypes", &mut causes) {
        Some(g) => g,
        None => {
            if present(o, "grantTypes").is_none() {
                causes.push("grantTypes is required".into());
            }
            Vec::new()
        }
    };
    let redirect_uris = strings("redirectUris", &mut causes).unwrap_or_default();
    let scope = strings("scope", &mut causes)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["sp:scopes:all".to_string()]);

    let fields = OAuthFields {
        business_name,
        homepage_url,
        name: name
            .map(|n| {
                use unicode_normalization::UnicodeNormalization;
                n.nfc().collect()
            })
            .unwrap_or_default(),
        description: description.unwrap_or_default(),
        access_token_validity_seconds: access_validity,
        refresh_token_validity_seconds: refresh_validity,
        redirect_uris,
        grant_types,
        access_type: access_type.unwrap_or_default(),
        client_type,
        internal,
        enabled,
        strong_auth_supported: strong,
        claims_supported: claims,
        scope,
    };
    // Rule checks only make sense on fields that were read; type errors stand alone.
    if causes.is_empty() {
        causes = oauth_rule_breaks(&fields);
    }
    if causes.is_empty() {
        Ok(fields)
    } else {
        Err(Error::InvalidMany(causes))
    }
}

/// Every create rule of API.md that `f` breaks, one sentence each.
pub fn oauth_rule_breaks(f: &OAuthFields) -> Vec<String> {
    let mut causes = Vec::new();
    if f.name.trim().is_empty() {
        causes.push("name must not be empty".into());
    } else if let Some(why) = name_problem(&f.name, false) {
        causes.push(format!("name {why}"));
    } else if !unicode_normalization::is_nfc(&f.name) {
        causes.push("name must be NFC-normalised".into());
    }
    if f.grant_types.is_empty() {
        causes.push("grantTypes must hold at least one grant type".into());
    }
    let mut seen = BTreeSet::new();
    for g in &f.grant_types {
        if !GRANT_TYPES.contains(&g.as_str()) {
            causes.push(format!(
                "grantTypes: `{g}` is not a grant type; use {}",
                GRANT_TYPES.join(", ")
            ));
        } else if !seen.insert(g.as_str()) {
            causes.push(format!("grantTypes: `{g}` is listed twice"));
        }
    }
    let has = |g: &str| f.grant_types.iter().any(|x| x == g);
    if has("REFRESH_TOKEN") && !has("AUTHORIZATION_CODE") {
        causes.push("grantTypes: REFRESH_TOKEN is allowed only beside AUTHORIZATION_CODE".into());
    }
    if has("AUTHORIZATION_CODE") && f.redirect_uris.is_empty() {
        causes.push("redirectUris: AUTHORIZATION_CODE needs at least one redirect URI".into());
    }
    for uri in &f.redirect_uris {
        if let Err(why) = check_redirect_uri(uri) {
            causes.push(format!("redirectUris: `{uri}` {why}"));
        }
    }
    if !ACCESS_TYPES.contains(&f.access_type.as_str()) {
        causes.push(format!(
            "accessType: `{}` is not an access type; use ONLINE or OFFLINE",
            f.access_type
        ));
    }
    if !CLIENT_TYPES.contains(&f.client_type.as_str()) {
        causes.push(format!(
            "type: `{}` is not a client type; use CONFIDENTIAL or PUBLIC",
            f.client_type
        ));
    }
    if f.client_type == "PUBLIC" && has("CLIENT_CREDENTIALS") {
        causes.push("grantTypes: a PUBLIC client cannot have CLIENT_CREDENTIALS".into());
    }
    for (name, v) in [
        (
            "accessTokenValiditySeconds",
            f.access_token_validity_seconds,
        ),
        (
            "refreshTokenValiditySeconds",
            f.refresh_token_validity_seconds,
        ),
    ] {
        if !(1..=MAX_VALIDITY).contains(&v) {
            causes.push(format!(
                "{name} must be an integer from 1 to {MAX_VALIDITY}, not {v}"
            ));
        }
    }
    if let Some(url) = &f.homepage_url
        && !is_absolute_http_url(url)
    {
        causes.push(format!(
            "homepageUrl: `{url}` is not an absolute http or https URL"
        ));
    }
    causes
}

/// Splits `scheme://[userinfo@]host[:port]...` into the scheme and host, if it has that
/// shape: a non-empty host that is a name or a bracketed IPv6 address, a port of digits
/// (at most 65535), and no `[` or `]` anywhere else in the authority.
fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit('@').next().unwrap_or_default();
    let userinfo = &authority[..authority.len() - hostport.len()];
    let (host, port) = match hostport.strip_prefix('[') {
        // `[::1]x` or `[not-an-address]` is no host: URL parsers disagree on such
        // strings, and a redirect URI must mean one thing to all of them.
        Some(inner) => {
            let end = inner.find(']')?;
            inner[..end].parse::<std::net::Ipv6Addr>().ok()?;
            (&hostport[..end + 2], &hostport[end + 2..])
        }
        None => {
            let end = hostport.find(':').unwrap_or(hostport.len());
            (&hostport[..end], &hostport[end..])
        }
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some("") => true,
        Some(p) => {
            let significant = p.trim_start_matches('0');
            p.bytes().all(|b| b.is_ascii_digit())
                && significant.len() <= 5
                && significant.parse::<u32>().map_or(true, |n| n <= 65535)
        }
    };
    let brackets = |s: &str| s.contains(['[', ']']);
    // A backslash is no URL character (RFC 3986), and browsers read it as `/`: in
    // `http://evil.example\@localhost/` they see host evil.example, not localhost.
    if host.is_empty()
        || !port_ok
        || brackets(userinfo)
        || (!host.starts_with('[') && brackets(host))
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    Some((scheme, host))
}

fn is_absolute_http_url(url: &str) -> bool {
    matches!(scheme_and_host(url), Some(("http" | "https", _)))
}

fn check_redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
    let Some((scheme, host)) = scheme_and_host(uri) else {
        return Err("is not an absolute URL");
    };
    if uri.contains('#') {
        return Err("must not have a fragment");
    }
    match scheme {
        "https" => Ok(()),
        "http" if matches!(host, "localhost" | "127.0.0.1" | "[::1]") => Ok(()),
        "http" => Err("must use https (http only on localhost, 127.0.0.1 or [::1])"),
        _ => Err("must be an https URL"),
    }
}

// ---------------------------------------------------------------------------------------
// The wire representations

/// An object of `fields`, in order. Representations are built with this rather than
/// `json!`, which passes every nested value through `to_value`, copying it: listings build
/// thousands of them.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = serde_json::Map::with_capacity(N);
    for (k, v) in fields {
        map.insert(k.to_string(), v);
    }
    Value::Object(map)
}

/// `{"urn", "url"}` for a reference.
pub fn reference_json(prefix: &str, urn: &str) -> Value {
    object([
        ("urn", urn.into()),
        ("url", format!("{prefix}{urn}").into()),
    ])
}

/// A company as the API shows it.
pub fn company_json(c: &Company) -> Value {
    json!({ "urn": c.urn, "url": format!("{}{}", paths::COMPANY, c.urn), "name": c.name })
}

/// An API client as the API shows it.
pub fn client_json(c: &ApiClient) -> Value {
    object([
        ("urn", c.urn.as_str().into()),
        ("url", format!("{}{}", paths::CLIENT, c.urn).into()),
        ("scope", c.scope.as_str().into()),
        ("owner", reference_json(paths::COMPANY, &c.owner)),
        ("clientID", c.client_id.as_str().into()),
    ])
}

/// A bearer token as the API shows it: the whole token only when `secret` is given (the
/// answer to its creation), else the first characters and `...`.
pub fn token_json(t: &BearerToken, secret: Option<&str>) -> Value {
    let mut v = object([
        ("urn", t.urn.as_str().into()),
        ("url", format!("{}{}", paths::TOKEN, t.urn).into()),
        ("apiClient", reference_json(paths::CLIENT, &t.client)),
        ("bearerToken", secret.unwrap_or(&t.shown).into()),
    ]);
    if let (Some(ms), Some(o)) = (t.expires, v.as_object_mut()) {
        o.insert("expirationTimestamp".into(), format_baack(ms).into());
    }
    v
}

/// A permission role as the API shows it.
pub fn role_json(r: &Role) -> Value {
    object([
        ("urn", r.urn.as_str().into()),
        ("url", format!("{}{}", paths::ROLE, r.urn).into()),
        ("name", r.name.as_str().into()),
        ("owner", reference_json(paths::COMPANY, &r.owner)),
        (
            "identities",
            r.identities
                .iter()
                .map(|u| object([("urn", u.as_str().into())]))
                .collect(),
        ),
        (
            "clients",
            r.clients
                .iter()
                .map(|u| reference_json(paths::CLIENT, u))
                .collect(),
        ),
        (
            "permissions",
            r.permissions
                .iter()
                .map(|p| Value::from(p.as_str()))
                .collect(),
        ),
    ])
}

/// An OAuth client as the API shows it; `secret` is null except in the answer to create.
pub fn oauth_json(c: &OAuthClient, secret: Option<&str>) -> Value {
    let f = &c.fields;
    json!({
        "id": c.id,
        "secret": secret,
        "businessName": f.business_name,
        "homepageUrl": f.homepage_url,
        "name": f.name,
        "description": f.description,
        "accessTokenValiditySeconds": f.access_token_validity_seconds,
        "refreshTokenValiditySeconds": f.refresh_token_validity_seconds,
        "redirectUris": f.redirect_uris,
        "grantTypes": f.grant_types,
        "accessType": f.access_type,
        "type": f.client_type,
        "internal": f.internal,
        "enabled": f.enabled,
        "strongAuthSupported": f.strong_auth_supported,
        "claimsSupported": f.claims_supported,
        "created": format_rfc3339(c.created),
        "modified": format_rfc3339(c.modified),
        "lastUsed": c.last_used.map(format_rfc3339),
        "scope": f.scope,
        "metadata": Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_002() -> Value {
        json!({
            "businessName": "Acme-Solar",
            "homepageUrl": "http://localhost:12345",
            "name": "Demo API Client",
            "description": "An API client used for the authorization_code, refresh_token, and client_credentials flows",
            "accessTokenValiditySeconds": 750,
            "refreshTokenValiditySeconds": 86400,
            "redirectUris": ["http://localhost:12345"],
            "grantTypes": ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
            "accessType": "OFFLINE",
            "type": "CONFIDENTIAL",
            "internal": false,
            "enabled": true,
            "strongAuthSupported": false,
            "claimsSupported": false,
            "scope": ["demo:api-client-scope:first", "demo:api-client-scope:second"]
        })
    }

    #[test]
    fn seed_002_body_is_valid() {
        let f = parse_oauth(&seed_002()).unwrap();
        assert_eq!(f.access_token_validity_seconds, 750);
        assert_eq!(f.scope.len(), 2);
    }

    #[test]
    fn oauth_defaults_apply() {
        let f = parse_oauth(&json!({
            "name": "n", "description": "d", "accessTokenValiditySeconds": 60,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true
        }))
        .unwrap();
        assert_eq!(f.refresh_token_validity_seconds, 86400);
        assert_eq!(f.client_type, "CONFIDENTIAL");
        assert_eq!(f.scope, vec!["sp:scopes:all"]);
        assert!(f.redirect_uris.is_empty());
        assert!(!f.claims_supported);
    }

    fn broken(patch: Value, cause: &str) {
        let mut body = seed_002();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        match parse_oauth(&body) {
            Err(Error::InvalidMany(causes)) => assert!(
                causes.iter().any(|c| c.contains(cause)),
                "{causes:?} should mention {cause}"
            ),
            other => panic!("expected a rule break naming {cause}, got {other:?}"),
        }
    }

    #[test]
    fn every_oauth_rule_is_enforced_and_named() {
        broken(json!({"grantTypes": []}), "grantTypes");
        broken(json!({"grantTypes": ["IMPLICIT"]}), "IMPLICIT");
        broken(
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "CLIENT_CREDENTIALS"]}),
            "twice",
        );
        broken(
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"]}),
            "REFRESH_TOKEN is allowed only",
        );
        broken(
            json!({"redirectUris": []}),
            "needs at least one redirect URI",
        );
        broken(json!({"redirectUris": ["http://example.com/cb"]}), "https");
        broken(
            json!({"redirectUris": ["https://x.example/cb#f"]}),
            "fragment",
        );
        broken(json!({"redirectUris": ["/relative"]}), "absolute");
        broken(json!({"accessType": "SOMETIMES"}), "accessType");
        broken(json!({"type": "SECRET"}), "type");
        broken(
            json!({"type": "PUBLIC", "grantTypes": ["CLIENT_CREDENTIALS"]}),
            "PUBLIC client cannot",
        );
        broken(
            json!({"accessTokenValiditySeconds": 0}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"refreshTokenValiditySeconds": 31536001}),
            "refreshTokenValiditySeconds",
        );
        broken(json!({"homepageUrl": "acme.example"}), "homepageUrl");
        broken(json!({"name": null}), "name is required");
        broken(json!({"enabled": "yes"}), "enabled must be true or false");
    }

    #[test]
    fn validities_are_whole_numbers_however_spelled() {
        for (v, want) in [(json!(750), 750), (json!(750.0), 750), (json!(7.5e2), 750)] {
            let mut body = seed_002();
            body["accessTokenValiditySeconds"] = v.clone();
            body["refreshTokenValiditySeconds"] = v.clone();
            let f = parse_oauth(&body).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(f.access_token_validity_seconds, want);
            assert_eq!(f.refresh_token_validity_seconds, want);
        }
        broken(
            json!({"accessTokenValiditySeconds": 750.5}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"accessTokenValiditySeconds": 1e300}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"accessTokenValiditySeconds": "750"}),
            "accessTokenValiditySeconds",
        );
    }

    #[test]
    fn loopback_http_redirects_are_allowed() {
        for ok in [
            "http://localhost:1/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/",
            "http://localhost:/",
            "http://localhost:065535/",
            "https://[fe80::1:2]/",
            "https://[::ffff:1.2.3.4]:443/",
            "https://a.example/x?y=1&z=[1]",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://[::1]evil.example/",
            "http://[::1]:x/",
            "http://localhost:http/",
            "http://localhost:65536/",
            "https://[x]/",
            "https://[1.2.3.4]/",
            "https://a]b/",
            "https://a[b/",
            "https://[::1@evil.example/",
            "http://evil.example\\@localhost/cb",
            "http://evil.example\\@127.0.0.1/",
            "http://localhost@evil.example/",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_body_rules() {
        let owner = json!({"Urn": "6f97bac3-26fe-4333-91f0-f12af2d1d167"});
        let ok = ClientInput::parse(
            &json!({"owner": owner, "scope": "api.baack.co", "clientID": "Android"}),
            true,
        )
        .unwrap();
        assert_eq!(
            ok.owner.as_deref(),
            Some("6f97bac3-26fe-4333-91f0-f12af2d1d167")
        );
        let e = ClientInput::parse(&json!({"owner": owner, "scope": "api.baack.co"}), true)
            .unwrap_err();
        assert!(matches!(e, Error::MissingField(f) if f == "clientID"));
        let e = ClientInput::parse(
            &json!({"owner": owner, "scope": "x", "clientID": "a"}),
            true,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Invalid { field, .. } if field == "scope"));
        let long = "x".repeat(129);
        let e = ClientInput::parse(
            &json!({"owner": owner, "scope": "api.baack.co", "clientID": long}),
            true,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Invalid { field, .. } if field == "clientID"));
    }

    #[test]
    fn names_keep_every_rule_of_api_md() {
        let owner = json!({"urn": "6f97bac3-26fe-4333-91f0-f12af2d1d167"});
        let client = |id: &str| {
            ClientInput::parse(
                &json!({"owner": owner, "scope": "api.baack.co", "clientID": id}),
                true,
            )
        };
        let role = |name: &str| RoleInput::parse(&json!({"owner": owner, "name": name}), true);
        for (id, why) in [
            ("root\u{200b}", "U+200B (a format character)"),
            ("\u{202e}diordnA", "U+202E (a format character)"),
            ("a\u{feff}b", "U+FEFF"),
            ("soft\u{ad}hyphen", "U+00AD (a format character)"),
            (
                "hangul\u{3164}filler",
                "U+3164 (an invisible (default-ignorable) character)",
            ),
            ("mongolian\u{180e}vs", "U+180E"),
            (
                "cgj\u{34f}x",
                "U+034F (an invisible (default-ignorable) character)",
            ),
            ("line\u{2028}sep", "U+2028 (a line separator)"),
            ("para\u{2029}sep", "U+2029 (a paragraph separator)"),
            ("tag\u{e0041}", "U+E0041 (a format character)"),
            ("private\u{e000}", "U+E000 (a private-use character)"),
            ("unassigned\u{10ffff}", "U+10FFFF"),
            ("tab\there", "U+0009 (a control character)"),
            (" lead", "white space"),
            ("trail ", "white space"),
            ("trail\u{3000}", "white space"),
            ("", "1 to 128"),
            ("6F97BAC3-26FE-4333-91F0-F12AF2D1D167", "reads as a URN"),
            ("6f97bac3-26fe-4333-91f0-f12af2d1d167", "reads as a URN"),
        ] {
            for e in [client(id).unwrap_err(), role(id).unwrap_err()] {
                let msg = e.to_string();
                assert!(matches!(&e, Error::Invalid { .. }), "{id:?}: {e:?}");
                assert!(msg.contains(why), "{id:?}: {msg} should say {why}");
            }
        }
        assert!(client(&"x".repeat(129)).is_err());
        assert_eq!(
            client(&"é".repeat(128)).unwrap().client_id.chars().count(),
            128
        );
        // Stored NFC: a decomposed é is stored composed.
        let c = client("Zoe\u{301} 🚀").unwrap();
        assert_eq!(c.client_id, "Zo\u{e9} 🚀");
        assert_eq!(role("Cafe\u{301}").unwrap().name, "Caf\u{e9}");
        // An OAuth name keeps the same rules as a cause (a URN is a fine OAuth name).
        for (name, why) in [
            ("a\u{ad}b", "U+00AD"),
            (" x", "white space"),
            ("x\u{3164}", "U+3164"),
        ] {
            let mut body = seed_002();
            body["name"] = name.into();
            match parse_oauth(&body) {
                Err(Error::InvalidMany(c)) => {
                    assert!(
                        c.iter().any(|c| c.starts_with("name ") && c.contains(why)),
                        "{c:?}"
                    )
                }
                other => panic!("{name:?}: {other:?}"),
            }
        }
        let mut body = seed_002();
        body["name"] = "Cafe\u{301}".into();
        assert_eq!(parse_oauth(&body).unwrap().name, "Caf\u{e9}");
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        assert_eq!(skeleton("\u{410}ndroid"), skeleton("Android"));
        assert_eq!(skeleton("r\u{43e}\u{43e}t"), skeleton("root"));
        assert_ne!(skeleton("Android"), skeleton("iOS"));
    }

    #[test]
    fn urns_are_normalised() {
        assert_eq!(
            parse_urn("6F97BAC3-26FE-4333-91F0-F12AF2D1D167").as_deref(),
            Some("6f97bac3-26fe-4333-91f0-f12af2d1d167")
        );
        assert_eq!(parse_urn("6f97bac326fe433391f0f12af2d1d167"), None);
        assert_eq!(parse_urn("nope"), None);
    }
}

/// Pins that mutation testing found missing: the exact validity bounds and the http arm of
/// the redirect rule (kept apart from `tests` so parallel edits there merge cleanly).
#[cfg(test)]
mod mutation_pins {
    use super::*;

    fn body(access_validity: Value) -> Value {
        json!({
            "name": "n", "description": "d", "accessType": "OFFLINE", "enabled": true,
            "grantTypes": ["CLIENT_CREDENTIALS"],
            "accessTokenValiditySeconds": access_validity,
        })
    }

    fn causes(body: &Value) -> Vec<String> {
        match parse_oauth(body) {
            Ok(_) => Vec::new(),
            Err(Error::InvalidMany(c)) => c,
            Err(e) => panic!("{body}: {e}"),
        }
    }

    #[test]
    fn validity_bounds_are_exactly_1_to_31536000() {
        for ok in [1, 2, 31_535_999, 31_536_000] {
            let f = parse_oauth(&body(json!(ok))).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(f.access_token_validity_seconds, ok);
        }
        for bad in [0, -1, 31_536_001, i64::MAX] {
            assert_eq!(
                causes(&body(json!(bad))),
                [format!(
                    "accessTokenValiditySeconds must be an integer from 1 to 31536000, not {bad}"
                )],
            );
        }
        let mut refresh = body(json!(60));
        refresh["refreshTokenValiditySeconds"] = json!(31_536_001);
        assert_eq!(
            causes(&refresh),
            ["refreshTokenValiditySeconds must be an integer from 1 to 31536000, not 31536001"]
        );
        refresh["refreshTokenValiditySeconds"] = json!(31_536_000);
        assert!(causes(&refresh).is_empty());
    }

    #[test]
    fn an_out_of_range_validity_is_named_beside_type_errors() {
        // Rule checks are skipped when a field has the wrong type, so the range check of
        // the parse itself is the only one that names the bad validity here.
        for bad in [json!(0), json!(31_536_001), json!(0.0)] {
            let mut b = body(bad.clone());
            b["enabled"] = json!("yes");
            assert_eq!(
                causes(&b),
                [
                    format!(
                        "accessTokenValiditySeconds must be an integer from 1 to 31536000, not {bad}"
                    ),
                    "enabled must be true or false, not \"yes\"".to_string(),
                ],
            );
        }
    }

    #[test]
    fn a_token_stops_working_at_its_expiry_exactly() {
        let t = |expires| BearerToken {
            urn: String::new(),
            client: String::new(),
            digest: String::new(),
            shown: String::new(),
            expires,
            created: 0,
        };
        assert!(t(None).is_live(i64::MAX));
        assert!(t(Some(1_000)).is_live(999));
        assert!(
            !t(Some(1_000)).is_live(1_000),
            "expired at its expiry instant"
        );
        assert!(!t(Some(1_000)).is_live(1_001));
    }

    #[test]
    fn scopes_and_permissions_spell_as_the_wire_does() {
        // The wire spellings are the serde names; `as_str` and `parse` must agree.
        for (scope, wire) in [
            (Scope::Api, "api.baack.co"),
            (Scope::Webhook, "webhook.baack.co"),
        ] {
            assert_eq!(scope.as_str(), wire);
            assert_eq!(Scope::parse(wire), Some(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), json!(wire));
        }
        assert_eq!(
            Scope::ALL.map(|s| Scope::parse(s).map(Scope::as_str)),
            Scope::ALL.map(Some)
        );
        for (p, wire) in [
            (Permission::Administer, "ADMINISTER"),
            (Permission::Read, "READ"),
            (Permission::ViewContent, "VIEW_CONTENT"),
        ] {
            assert_eq!(p.as_str(), wire);
            assert_eq!(Permission::parse(wire), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(wire));
        }
        assert_eq!(Scope::parse("API.BAACK.CO"), None);
        assert_eq!(Permission::parse("read"), None);
    }

    #[test]
    fn http_redirects_are_for_loopback_only_and_say_so() {
        for ok in [
            "http://localhost/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "http://127.0.0.2/cb",
            "http://localhost.example/",
        ] {
            assert_eq!(
                check_redirect_uri(bad),
                Err("must use https (http only on localhost, 127.0.0.1 or [::1])"),
                "{bad}"
            );
        }
        assert_eq!(
            check_redirect_uri("ftp://example.com/"),
            Err("must be an https URL")
        );
        assert_eq!(check_redirect_uri("https://example.com/cb"), Ok(()));
    }

    #[test]
    fn role_references_are_kept_in_order_once_each_and_absent_means_none() {
        let a = "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8";
        let b = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
        let owner = json!({"urn": b});
        let r = RoleInput::parse(
            &json!({"name": "r", "owner": owner,
                    "clients": [{"urn": a}, {"Urn": b}, {"urn": a}],
                    "identities": [{"urn": b}]}),
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.clients, [a, b]);
        assert_eq!(r.identities, [b]);
        let r = RoleInput::parse(&json!({"name": "r", "owner": owner}), true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.clients.is_empty() && r.identities.is_empty());
        let e = RoleInput::parse(&json!({"name": "r", "owner": owner, "clients": "x"}), true);
        assert!(
            matches!(e, Err(Error::Invalid { ref field, .. }) if field == "clients"),
            "{e:?}"
        );
    }

    #[test]
    fn a_list_of_strings_with_another_member_is_refused() {
        let mut b = body(json!(60));
        b["redirectUris"] = json!(["https://example.com/cb", 7]);
        assert_eq!(causes(&b), ["redirectUris must be a list of strings"]);
        b["redirectUris"] = json!(["https://example.com/cb"]);
        let f = parse_oauth(&b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.redirect_uris, ["https://example.com/cb"]);
    }
}
