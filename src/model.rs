//! The domain: companies, API clients, bearer tokens, permission roles and OAuth clients
//! as stored, the inputs that create and change them, and their rules (API.md's names,
//! URNs, OAuth grant types and URLs). How they are read from and shown on the wire is in
//! `crate::wire`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
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
    /// When it was made; absent in records written before last use was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Millis>,
    /// Its latest successful authentication, to the minute (see `crate::usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Millis>,
    /// The audit event of its latest change (see `crate::store::audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
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
    /// What it is for, to a person; absent in records written before descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its latest successful authentication, to the minute (see `crate::usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Millis>,
    /// The audit event of its latest change (see `crate::store::audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Set by a rotation `--until-unused`: it also stops once unused this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire: Option<Retire>,
}

/// A rotated-out token's idle rule: it stops working once it has gone `idle` without a
/// use, counted from the later of its last use and the rotation (its `expires` is the
/// hard bound, `--max-overlap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retire {
    /// How long without a use ends it, in milliseconds.
    pub idle: Millis,
    /// When it was rotated out.
    pub since: Millis,
}

impl BearerToken {
    /// Whether it still authenticates at `now` (its client aside).
    pub fn is_live(&self, now: Millis) -> bool {
        self.expires.is_none_or(|t| now < t) && self.retire.is_none_or(|r| now < self.idle_end(r))
    }

    /// When an idle rule ends it, as things stand.
    pub fn idle_end(&self, r: Retire) -> Millis {
        r.since
            .max(self.last_used.unwrap_or(i64::MIN))
            .saturating_add(r.idle)
    }

    /// When it stops working, as things stand: the earlier of its expiry and its idle
    /// rule's end.
    pub fn ends(&self) -> Option<Millis> {
        let idle = self.retire.map(|r| self.idle_end(r));
        match (self.expires, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
    /// The audit event of its latest change (see `crate::store::audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
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
    /// The audit event of its latest change (see `crate::store::audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The API client that created it, whose permissions its access tokens act with
    /// (narrowed by scope); absent in records made before owners were kept, which act as
    /// the root client's, since only an administrator could have made them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The previous secret's digest and when it stops working, during a rotation's
    /// overlap (API.md "OAuth secret rotation").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<PreviousSecret>,
}

/// A rotated-out OAuth secret that still works until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousSecret {
    /// Lowercase hex SHA-256 of the secret.
    pub digest: String,
    /// When it stops working.
    pub until: Millis,
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
pub(crate) fn name_problem(name: &str, not_urn: bool) -> Option<String> {
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

/// What a create or update body says of a bearer token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenInput {
    /// `apiClient`, required on create and ignored on update.
    pub client: Option<String>,
    /// `expirationTimestamp`.
    pub expires: Option<Millis>,
    /// `description`, checked: absent leaves it as it is (none on create); empty clears
    /// it.
    pub description: Option<String>,
    /// `idleTimeoutSeconds` (update only), in milliseconds: it also stops once unused
    /// this long.
    pub idle: Option<Millis>,
    /// `replacedBy` (update only): the token that replaces it, which makes the update
    /// the retirement step of a rotation.
    pub replaced_by: Option<String>,
}

/// The most characters a token's `description` may have.
pub const DESCRIPTION_MAX: usize = 256;

/// Checks a token's `description` (API.md: 0 to 256 printable characters).
pub fn check_description(s: &str) -> Result<String> {
    let n = s.chars().count();
    if n > DESCRIPTION_MAX {
        return Err(Error::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters, not {n}"),
        ));
    }
    if let Some((c, why)) = s
        .chars()
        .find_map(|c| forbidden_in_name(c).map(|why| (c, why)))
    {
        return Err(Error::invalid(
            "description",
            format!(
                "must hold printable characters only, not U+{:04X} ({why})",
                u32::from(c)
            ),
        ));
    }
    Ok(s.to_string())
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

/// The `filters` of the OAuth list, in SailPoint's grammar for the one field served:
/// comparisons on `lastUsed`, `not`, and `and` binding tighter than `or`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OAuthFilter {
    /// Every client.
    #[default]
    All,
    /// Clients last used in this relation to this time (never used: never passes).
    LastUsed(Cmp, Millis),
    /// Clients never used.
    LastUsedIsNull,
    /// Clients the filter does not pass.
    Not(Box<OAuthFilter>),
    /// Clients every filter passes.
    And(Vec<OAuthFilter>),
    /// Clients some filter passes.
    Or(Vec<OAuthFilter>),
}

/// A comparison of SailPoint's filters, as `lastUsed` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `le`: at or before.
    Le,
    /// `lt`: before.
    Lt,
    /// `ge`: at or after.
    Ge,
    /// `gt`: after.
    Gt,
}

impl Cmp {
    /// The operator as a filter spells it, or None.
    pub fn parse(op: &str) -> Option<Cmp> {
        Some(match op {
            "le" => Cmp::Le,
            "lt" => Cmp::Lt,
            "ge" => Cmp::Ge,
            "gt" => Cmp::Gt,
            _ => return None,
        })
    }

    /// Whether `a` stands in this relation to `b`.
    pub fn holds(self, a: Millis, b: Millis) -> bool {
        match self {
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

impl OAuthFilter {
    /// Whether `c` passes. The parser keeps the tree shallow (a run of `not` is folded,
    /// `and` and `or` are flat lists), so this recursion is bounded.
    pub fn matches(&self, c: &OAuthClient) -> bool {
        match self {
            OAuthFilter::All => true,
            OAuthFilter::LastUsedIsNull => c.last_used.is_none(),
            OAuthFilter::LastUsed(cmp, t) => c.last_used.is_some_and(|u| cmp.holds(u, *t)),
            OAuthFilter::Not(f) => !f.matches(c),
            OAuthFilter::And(fs) => fs.iter().all(|f| f.matches(c)),
            OAuthFilter::Or(fs) => fs.iter().any(|f| f.matches(c)),
        }
    }
}

/// A JSON Patch that touches only [`OAUTH_PATCHABLE`] fields, with at most
/// `service::PATCH_MAX_OPS` operations (checked where it is read, `crate::wire::oauth`).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthPatch(pub json_patch::Patch);

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

pub(crate) fn check_redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
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
// Audit events

/// Who made a change: the API client, and the token or OAuth client it came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// The API client's URN.
    pub client: String,
    /// The bearer token's URN; none for the embedded mode's root, which presents none.
    pub token: Option<String>,
    /// The OAuth client's id, when an OAuth access token was presented.
    pub oauth_client: Option<String>,
}

/// What an audit event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `apiclient`, `apiclientbearertoken`, `permissionrole`, `oauthclient` or `auth`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its URN or OAuth id; none when a refused request named no object.
    pub key: Option<String>,
}

/// Whether the action took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did.
    Success,
    /// It was refused for lack of permission.
    Denied,
}

impl Outcome {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
        }
    }
}

/// One entry of the audit log (API.md "Audit events"). Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Its URN.
    pub urn: String,
    /// When it happened.
    pub timestamp: Millis,
    /// Who.
    pub actor: Actor,
    /// What, as `<type>.<verb>` (`apiclient.create`, `auth.denied`, …).
    pub action: String,
    /// On what.
    pub target: Target,
    /// Whether it took place.
    pub outcome: Outcome,
    /// More, for a person (what changed, what was needed); never a secret.
    pub detail: Option<String>,
}

/// The audit actions, as spelled on the wire.
pub const AUDIT_ACTIONS: [&str; 19] = [
    "apiclient.create",
    "apiclient.update",
    "apiclient.delete",
    "apiclientbearertoken.create",
    "apiclientbearertoken.update",
    "apiclientbearertoken.revoke",
    "apiclientbearertoken.rotate",
    "apiclientbearertoken.delete",
    "permissionrole.create",
    "permissionrole.update",
    "permissionrole.grant",
    "permissionrole.delete",
    "oauthclient.create",
    "oauthclient.update",
    "oauthclient.rotatesecret",
    "oauthclient.delete",
    "audit.retention",
    "signingkey.rotate",
    "auth.denied",
];
