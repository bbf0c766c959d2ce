//! OAuth clients on the wire (SailPoint's shape): the create body, the representation
//! (with the secret once on create), the list and its query, and JSON Patch.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::common::{
    LIMIT_DOC, Loose, Null, Params, array, is_absent, number, one_of_strings, param, query_param,
};
use super::patterns;
use crate::clock::{Millis, RANGE, format_rfc3339, in_range, parse_timestamp};
use crate::error::{Error, Result};
use crate::model::{
    self, ACCESS_TYPES, CLIENT_TYPES, GRANT_TYPES, MAX_VALIDITY, OAUTH_PATCHABLE, OAuthFields,
    OAuthFilter, OAuthPatch, oauth_rule_breaks,
};
use crate::service::{MAX_OAUTH_LIMIT, PATCH_MAX_OPS};

/// The body of `POST /v3/oauth-clients`, and what a JSON Patch must leave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OAuthClientInput {
    /// The business it belongs to.
    #[serde(skip_serializing_if = "is_absent")]
    pub business_name: Loose<String>,
    /// The owner's homepage.
    #[serde(skip_serializing_if = "is_absent")]
    pub homepage_url: Loose<String>,
    /// A human-readable name.
    #[serde(skip_serializing_if = "is_absent")]
    pub name: Loose<String>,
    /// A description.
    #[serde(skip_serializing_if = "is_absent")]
    pub description: Loose<String>,
    /// Access token lifetime, seconds: a whole number however spelled (`750.0`).
    #[serde(skip_serializing_if = "is_absent")]
    pub access_token_validity_seconds: Loose<serde_json::Number>,
    /// Refresh token lifetime, seconds (default 86400).
    #[serde(skip_serializing_if = "is_absent")]
    pub refresh_token_validity_seconds: Loose<serde_json::Number>,
    /// Approved redirect URIs.
    #[serde(skip_serializing_if = "is_absent")]
    pub redirect_uris: Loose<Vec<String>>,
    /// Grant types.
    #[serde(skip_serializing_if = "is_absent")]
    pub grant_types: Loose<Vec<String>>,
    /// `ONLINE` or `OFFLINE`.
    #[serde(skip_serializing_if = "is_absent")]
    pub access_type: Loose<String>,
    /// `CONFIDENTIAL` (the default) or `PUBLIC`.
    #[serde(rename = "type", skip_serializing_if = "is_absent")]
    pub client_type: Loose<String>,
    /// Usable for requests internal to the product.
    #[serde(skip_serializing_if = "is_absent")]
    pub internal: Loose<bool>,
    /// Enabled for use.
    #[serde(skip_serializing_if = "is_absent")]
    pub enabled: Loose<bool>,
    /// Supports strong authentication.
    #[serde(skip_serializing_if = "is_absent")]
    pub strong_auth_supported: Loose<bool>,
    /// Supports SAML claims serialization.
    #[serde(skip_serializing_if = "is_absent")]
    pub claims_supported: Loose<bool>,
    /// Scopes (default `sp:scopes:all`).
    #[serde(skip_serializing_if = "is_absent")]
    pub scope: Loose<Vec<String>>,
}

/// A JSON number with no fractional part, as an `i64`: `3600`, and also `3600.0` or
/// `3.6e3`, which JSON (and JSON Schema's `integer`) count as the same number.
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // Within ±2^53 every whole f64 is exact, and far wider than any rule here.
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

/// Reads every field and checks every create rule, naming each broken one: type errors
/// first, all of them; the rules only when every field could be read.
impl TryFrom<&OAuthClientInput> for OAuthFields {
    type Error = Error;
    fn try_from(b: &OAuthClientInput) -> Result<OAuthFields> {
        let mut causes: Vec<String> = Vec::new();
        let string =
            |v: &Loose<String>, name: &str, required: bool, causes: &mut Vec<String>| match v {
                Loose::Absent => {
                    if required {
                        causes.push(format!("{name} is required"));
                    }
                    None
                }
                Loose::Got(s) => Some(s.clone()),
                Loose::Wrong(_) => {
                    causes.push(format!("{name} must be a string"));
                    None
                }
            };
        // `""` is how a representation shows neither (see [`OAuthClient`]), so a body made
        // from one (read, changed, sent back) means none too.
        let business_name =
            string(&b.business_name, "businessName", false, &mut causes).filter(|s| !s.is_empty());
        let homepage_url =
            string(&b.homepage_url, "homepageUrl", false, &mut causes).filter(|s| !s.is_empty());
        let name = string(&b.name, "name", true, &mut causes);
        let description = string(&b.description, "description", true, &mut causes);
        let access_type = string(&b.access_type, "accessType", true, &mut causes);
        let client_type = string(&b.client_type, "type", false, &mut causes)
            .unwrap_or_else(|| "CONFIDENTIAL".into());

        let int = |v: &Loose<serde_json::Number>,
                   name: &str,
                   default: Option<i64>,
                   causes: &mut Vec<String>| {
            let shown = match v {
                Loose::Absent => {
                    return default.unwrap_or_else(|| {
                        causes.push(format!("{name} is required"));
                        0
                    });
                }
                Loose::Got(n) => match whole_number(n) {
                    Some(n) if (1..=MAX_VALIDITY).contains(&n) => return n,
                    _ => n.to_string(),
                },
                Loose::Wrong(v) => v.to_string(),
            };
            causes.push(format!(
                "{name} must be an integer from 1 to {MAX_VALIDITY}, not {shown}"
            ));
            0
        };
        let access_validity = int(
            &b.access_token_validity_seconds,
            "accessTokenValiditySeconds",
            None,
            &mut causes,
        );
        let refresh_validity = int(
            &b.refresh_token_validity_seconds,
            "refreshTokenValiditySeconds",
            Some(86_400),
            &mut causes,
        );

        let boolean =
            |v: &Loose<bool>, name: &str, required: bool, causes: &mut Vec<String>| match v {
                Loose::Absent => {
                    if required {
                        causes.push(format!("{name} is required"));
                    }
                    false
                }
                Loose::Got(b) => *b,
                Loose::Wrong(v) => {
                    causes.push(format!("{name} must be true or false, not {v}"));
                    false
                }
            };
        let enabled = boolean(&b.enabled, "enabled", true, &mut causes);
        let internal = boolean(&b.internal, "internal", false, &mut causes);
        let strong = boolean(
            &b.strong_auth_supported,
            "strongAuthSupported",
            false,
            &mut causes,
        );
        let claims = boolean(&b.claims_supported, "claimsSupported", false, &mut causes);

        let strings = |v: &Loose<Vec<String>>, name: &str, causes: &mut Vec<String>| match v {
            Loose::Absent => None,
            Loose::Got(list) => Some(list.clone()),
            Loose::Wrong(_) => {
                causes.push(format!("{name} must be a list of strings"));
                None
            }
        };
        let grant_types = match strings(&b.grant_types, "grantTypes", &mut causes) {
            Some(g) => g,
            None => {
                if !b.grant_types.is_present() {
                    causes.push("grantTypes is required".into());
                }
                Vec::new()
            }
        };
        let redirect_uris =
            strings(&b.redirect_uris, "redirectUris", &mut causes).unwrap_or_default();
        let scope = strings(&b.scope, "scope", &mut causes)
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
}

/// Reads an OAuth client body (a JSON object) and checks every create rule.
pub fn parse_oauth(body: &Value) -> Result<OAuthFields> {
    let b: OAuthClientInput = super::from_body(body)?;
    OAuthFields::try_from(&b)
}

// --- the schema of the create body -----------------------------------------------------

fn nullable(types: Type) -> SchemaType {
    [types, Type::Null].into_iter().collect()
}

fn validity() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_VALIDITY))
}

/// A schema with JSON Schema keywords that utoipa has no builder for (`if`, `then`,
/// `contains`, `not`), each given as a schema of its own.
fn with_keywords(base: ObjectBuilder, keywords: &[(&str, Value)]) -> Schema {
    let ext: Extensions = keywords.iter().cloned().collect();
    base.extensions(Some(ext)).into()
}

/// A schema as the JSON that a keyword holds.
fn json_of(s: Schema) -> Value {
    // A schema always serialises; `null` would only be a bug.
    serde_json::to_value(s).unwrap_or_default()
}

/// `{"const": v}`.
fn konst(v: &str) -> Schema {
    let ext: Extensions = [("const", v)].into_iter().collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .extensions(Some(ext))
        .into()
}

/// `{"contains": {"const": g}}`: a list holding `g`.
fn holds(g: &str) -> Schema {
    with_keywords(
        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
        &[("contains", json_of(konst(g)))],
    )
}

/// If `if_` then `then`.
fn implies(if_: Schema, then: Schema) -> Schema {
    with_keywords(
        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
        &[("if", json_of(if_)), ("then", json_of(then))],
    )
}

fn props(required: Option<&str>, name: &str, s: Schema) -> Schema {
    let mut b = ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .property(name, s);
    if let Some(r) = required {
        b = b.required(r);
    }
    b.into()
}

/// The create body: the fields, then the rules that tie them (REFRESH_TOKEN only beside
/// AUTHORIZATION_CODE; AUTHORIZATION_CODE needs a redirect URI; a PUBLIC client has no
/// CLIENT_CREDENTIALS). What an absent or null optional field means, the server decides:
/// so null is allowed wherever a field is optional.
impl PartialSchema for OAuthClientInput {
    fn schema() -> RefOr<Schema> {
        let obj = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "businessName",
                ObjectBuilder::new().schema_type(nullable(Type::String)),
            )
            .property(
                "homepageUrl",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .pattern(Some(patterns::http_url_or_empty())),
            )
            .property("name", super::common::name())
            .property(
                "description",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .property("accessTokenValiditySeconds", validity())
            .property(
                "refreshTokenValiditySeconds",
                validity().schema_type(nullable(Type::Integer)),
            )
            .property(
                "redirectUris",
                ArrayBuilder::new()
                    .schema_type(nullable(Type::Array))
                    .items(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(patterns::redirect_uri())),
                    ),
            )
            .property(
                "grantTypes",
                ArrayBuilder::new()
                    .items(one_of_strings(&GRANT_TYPES))
                    .min_items(Some(1))
                    .unique_items(true),
            )
            .property("accessType", one_of_strings(&ACCESS_TYPES))
            .property(
                "type",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .enum_values(Some([
                        Value::from(CLIENT_TYPES[0]),
                        Value::from(CLIENT_TYPES[1]),
                        Value::Null,
                    ])),
            )
            .property(
                "internal",
                ObjectBuilder::new().schema_type(nullable(Type::Boolean)),
            )
            .property("enabled", ObjectBuilder::new().schema_type(Type::Boolean))
            .property(
                "strongAuthSupported",
                ObjectBuilder::new().schema_type(nullable(Type::Boolean)),
            )
            .property(
                "claimsSupported",
                ObjectBuilder::new().schema_type(nullable(Type::Boolean)),
            )
            .property(
                "scope",
                ArrayBuilder::new()
                    .schema_type(nullable(Type::Array))
                    .items(ObjectBuilder::new().schema_type(Type::String)),
            )
            .required("name")
            .required("description")
            .required("accessTokenValiditySeconds")
            .required("grantTypes")
            .required("accessType")
            .required("enabled");
        let grants = |g| props(Some("grantTypes"), "grantTypes", holds(g));
        let rules = [
            implies(
                grants("REFRESH_TOKEN"),
                props(None, "grantTypes", holds("AUTHORIZATION_CODE")),
            ),
            implies(
                grants("AUTHORIZATION_CODE"),
                props(
                    Some("redirectUris"),
                    "redirectUris",
                    with_keywords(
                        ObjectBuilder::new().schema_type(Type::Array),
                        // Not utoipa's array builder: it would add `items: {}`.
                        &[("minItems", Value::from(1))],
                    ),
                ),
            ),
            implies(
                props(Some("type"), "type", konst("PUBLIC")),
                props(
                    None,
                    "grantTypes",
                    with_keywords(
                        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
                        &[("not", json_of(holds("CLIENT_CREDENTIALS")))],
                    ),
                ),
            ),
        ];
        // An object whose `allOf` holds the rules: utoipa's `AllOf` would put the object
        // itself among them.
        let rules: Vec<Value> = rules.into_iter().map(json_of).collect();
        let ext: Extensions = [("allOf", Value::Array(rules))].into_iter().collect();
        obj.extensions(Some(ext)).into()
    }
}

impl ToSchema for OAuthClientInput {}

// --- the representation ----------------------------------------------------------------

/// An OAuth client as the API shows it: `secret` is null (see [`OAuthClientCreated`]).
///
/// No field that SailPoint's SDK declares a non-null string is ever null: its
/// `CreateOAuthClientResponse` has `businessName` and `homepageUrl` as required strings
/// (its `GetOAuthClientResponse`, of get, list and patch, lets them be null, which `""`
/// also satisfies), so a client without them shows `""`, in every answer alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    /// 32 lowercase hex characters.
    #[schema(schema_with = id_out)]
    pub id: String,
    /// Null but in the answer to create.
    #[schema(schema_with = null, required = true)]
    pub secret: Option<String>,
    /// The business it belongs to; `""` when none.
    #[serde(deserialize_with = "null_as_empty")]
    #[schema(required = true)]
    pub business_name: String,
    /// The owner's homepage; `""` when none.
    #[serde(deserialize_with = "null_as_empty")]
    #[schema(required = true)]
    pub homepage_url: String,
    /// A human-readable name.
    pub name: String,
    /// A description.
    pub description: String,
    /// Access token lifetime, seconds.
    #[schema(schema_with = validity_out)]
    pub access_token_validity_seconds: i64,
    /// Refresh token lifetime, seconds.
    #[schema(schema_with = validity_out)]
    pub refresh_token_validity_seconds: i64,
    /// Approved redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types.
    #[schema(schema_with = grant_types_out)]
    pub grant_types: Vec<String>,
    /// `ONLINE` or `OFFLINE`.
    #[schema(schema_with = access_type_out)]
    pub access_type: String,
    /// `CONFIDENTIAL` or `PUBLIC`.
    #[serde(rename = "type")]
    #[schema(schema_with = client_type_out)]
    pub client_type: String,
    /// Usable for requests internal to the product.
    pub internal: bool,
    /// Enabled for use.
    pub enabled: bool,
    /// Supports strong authentication.
    pub strong_auth_supported: bool,
    /// Supports SAML claims serialization.
    pub claims_supported: bool,
    /// Creation time.
    #[schema(schema_with = date_time)]
    pub created: String,
    /// Last change.
    #[schema(schema_with = date_time)]
    pub modified: String,
    /// Last use, if any.
    #[schema(schema_with = nullable_date_time, required = true)]
    pub last_used: Option<String>,
    /// Scopes.
    pub scope: Vec<String>,
    /// Always null.
    #[schema(schema_with = null)]
    pub metadata: Null,
}

fn id_out() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{32}$"))
        .into()
}
fn null() -> RefOr<Schema> {
    Null::schema()
}
/// A string that may arrive as null (from a server that shows none so, as SailPoint's
/// get may), read as `""`, the one way this side shows none.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}
fn validity_out() -> Schema {
    validity().into()
}
fn grant_types_out() -> Schema {
    array(one_of_strings(&GRANT_TYPES)).into()
}
fn access_type_out() -> Schema {
    one_of_strings(&ACCESS_TYPES).into()
}
fn client_type_out() -> Schema {
    one_of_strings(&CLIENT_TYPES).into()
}
fn date_time() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("date-time".into())))
        .into()
}
fn nullable_date_time() -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .format(Some(SchemaFormat::Custom("date-time".into())))
        .into()
}

impl From<&model::OAuthClient> for OAuthClient {
    fn from(c: &model::OAuthClient) -> Self {
        let f = &c.fields;
        OAuthClient {
            id: c.id.clone(),
            secret: None,
            business_name: f.business_name.clone().unwrap_or_default(),
            homepage_url: f.homepage_url.clone().unwrap_or_default(),
            name: f.name.clone(),
            description: f.description.clone(),
            access_token_validity_seconds: f.access_token_validity_seconds,
            refresh_token_validity_seconds: f.refresh_token_validity_seconds,
            redirect_uris: f.redirect_uris.clone(),
            grant_types: f.grant_types.clone(),
            access_type: f.access_type.clone(),
            client_type: f.client_type.clone(),
            internal: f.internal,
            enabled: f.enabled,
            strong_auth_supported: f.strong_auth_supported,
            claims_supported: f.claims_supported,
            created: format_rfc3339(c.created),
            modified: format_rfc3339(c.modified),
            last_used: c.last_used.map(format_rfc3339),
            scope: f.scope.clone(),
            metadata: Null,
        }
    }
}

/// An OAuth client as its creation answers: with its secret, this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OAuthClientCreated(pub OAuthClient);

impl OAuthClientCreated {
    /// `c`, carrying its `secret`.
    pub fn new(c: &model::OAuthClient, secret: &str) -> Self {
        let mut shown = OAuthClient::from(c);
        shown.secret = Some(secret.to_string());
        OAuthClientCreated(shown)
    }
}

/// [`OAuthClient`]'s schema, with the secret's.
impl PartialSchema for OAuthClientCreated {
    fn schema() -> RefOr<Schema> {
        let mut s = OAuthClient::schema();
        if let RefOr::T(Schema::Object(o)) = &mut s {
            o.properties.insert(
                "secret".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9a-f]{64}$"))
                    .into(),
            );
        }
        s
    }
}

impl ToSchema for OAuthClientCreated {}

/// The OAuth clients of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct OAuthClientList(pub Vec<OAuthClient>);

impl OAuthClientList {
    /// The page of `items`.
    pub fn new(items: &[model::OAuthClient]) -> Self {
        OAuthClientList(items.iter().map(OAuthClient::from).collect())
    }
}

// --- JSON Patch ------------------------------------------------------------------------

/// An RFC 6902 JSON Patch body: an array of operations, each read when the patch is
/// checked (so that the limits and the patchable fields are named before serde's own
/// complaint about a malformed operation, as API.md orders them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonPatch(pub Vec<Value>);

/// Checks a JSON Patch body: an array, of at most [`PATCH_MAX_OPS`] operations, that
/// touch only the patchable fields, each well-formed.
impl TryFrom<&Value> for OAuthPatch {
    type Error = Error;
    fn try_from(body: &Value) -> Result<OAuthPatch> {
        let ops = body.as_array().ok_or_else(|| {
            Error::BadRequest("a JSON Patch body is an array of operations".into())
        })?;
        if ops.len() > PATCH_MAX_OPS {
            return Err(Error::invalid(
                "patch",
                format!(
                    "a JSON Patch may hold at most {PATCH_MAX_OPS} operations, not {}; split it into several PATCH requests",
                    ops.len()
                ),
            ));
        }
        for op in ops {
            for key in ["path", "from"] {
                let Some(p) = op.get(key) else { continue };
                let p = p.as_str().unwrap_or_default();
                let field = p
                    .strip_prefix('/')
                    .unwrap_or(p)
                    .split('/')
                    .next()
                    .unwrap_or_default();
                if !OAUTH_PATCHABLE.contains(&field) {
                    return Err(Error::IllegalUpdate(format!(
                        "`{p}` cannot be changed; patchable fields are {}",
                        OAUTH_PATCHABLE.join(", ")
                    )));
                }
            }
        }
        let patch: json_patch::Patch = serde_json::from_value(body.clone())
            .map_err(|e| Error::BadRequest(format!("the JSON Patch is malformed: {e}")))?;
        Ok(OAuthPatch(patch))
    }
}

impl TryFrom<&JsonPatch> for OAuthPatch {
    type Error = Error;
    fn try_from(p: &JsonPatch) -> Result<OAuthPatch> {
        // The operations as a JSON array again: the checks are those of a body.
        OAuthPatch::try_from(&Value::Array(p.0.clone()))
    }
}

fn patch_op(ops: &[&str], required: &[&str]) -> Schema {
    let path = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(patterns::patch_path(&OAUTH_PATCHABLE)))
    };
    let mut b = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("op", one_of_strings(ops))
        .property("path", path());
    if required.contains(&"from") {
        b = b.property("from", path());
    }
    for r in required {
        b = b.required(*r);
    }
    b.into()
}

/// An array of `add`/`replace`/`test` (with a value), `remove`, or `move`/`copy` (with a
/// `from`) operations on the patchable fields.
impl PartialSchema for JsonPatch {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(
                OneOfBuilder::new()
                    .item(patch_op(
                        &["add", "replace", "test"],
                        &["op", "path", "value"],
                    ))
                    .item(patch_op(&["remove"], &["op", "path"]))
                    .item(patch_op(&["move", "copy"], &["op", "from", "path"])),
            )
            .into()
    }
}

impl ToSchema for JsonPatch {}

// --- the list's query ------------------------------------------------------------------

/// The query of `GET /v3/oauth-clients`, checked (read by its `TryFrom`, not serde: the
/// first of a repeated parameter counts, and each bad value has its own message).
#[derive(Debug, Clone, Default)]
pub struct OAuthClientQuery {
    /// `filters`.
    pub filters: OAuthFilter,
    /// `limit`: items per page.
    pub limit: usize,
    /// `offset`: items to skip.
    pub offset: usize,
    /// `count`: send the number of matches in `X-Total-Count`.
    pub count: bool,
}

impl IntoParams for OAuthClientQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_param("filters", FILTERS_DOC, filters_param()),
            query_param("limit", LIMIT_DOC, oauth_limit_param()),
            query_param("offset", "Items to skip", offset_param()),
            query_param(
                "count",
                "true: send the number of matches before paging in X-Total-Count",
                ObjectBuilder::new().schema_type(Type::Boolean),
            ),
        ]
    }
}

fn filters_param() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(patterns::oauth_filters()))
        .into()
}
fn oauth_limit_param() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(MAX_OAUTH_LIMIT as u64))
        .default(Some(MAX_OAUTH_LIMIT.into()))
        .into()
}
fn offset_param() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(u64::MAX))
        .into()
}

/// What `filters` takes, for the document and the error messages.
pub const FILTERS_DOC: &str = "SailPoint's filter syntax on `lastUsed`: `lastUsed le|lt|ge|gt \
<timestamp>` (the timestamp bare or in double quotes), `lastUsed isnull`, `lastUsed pr`, each \
possibly after `not`, joined by `and` (binding tighter) and `or`";

/// The `filters` of the OAuth list, in SailPoint's grammar for the one field served
/// (`patterns::oauth_filters` is the same language as a regular expression):
///
/// ```text
/// filters := expr?
/// expr    := term (("and" | "or") term)*      "and" binds tighter than "or"
/// term    := "not"* "lastUsed" ("isnull" | "pr" | ("le" | "lt" | "ge" | "gt") value)
/// value   := timestamp | '"' timestamp '"'
/// ```
///
/// Words are separated by white space. Grouping with parentheses is not taken: its
/// language is not regular, so the document's pattern could not describe it.
pub fn parse_filters(s: Option<&str>) -> Result<OAuthFilter> {
    let words: Vec<&str> = s.unwrap_or("").split_whitespace().collect();
    if words.is_empty() {
        return Ok(OAuthFilter::All);
    }
    let bad = |why: String| Error::BadRequest(format!("filters: {why}; use {FILTERS_DOC}"));
    let (mut ors, mut ands) = (Vec::new(), Vec::new());
    let mut i = 0;
    loop {
        let mut negated = false;
        while words.get(i) == Some(&"not") {
            negated = !negated;
            i += 1;
        }
        let (leaf, used) = match &words[i.min(words.len())..] {
            ["lastUsed", "isnull", ..] => (OAuthFilter::LastUsedIsNull, 2),
            ["lastUsed", "pr", ..] => (OAuthFilter::Not(Box::new(OAuthFilter::LastUsedIsNull)), 2),
            ["lastUsed", op, rest @ ..] => {
                let Some(cmp) = model::Cmp::parse(op) else {
                    return Err(bad(format!(
                        "`{op}` is not an operator of lastUsed (le, lt, ge, gt, isnull, pr)"
                    )));
                };
                let Some(value) = rest.first() else {
                    return Err(bad(format!("`lastUsed {op}` needs a timestamp")));
                };
                let bare = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                let t = parse_timestamp(bare)
                    .filter(|t: &Millis| in_range(*t))
                    .ok_or_else(|| bad(format!("`{value}` is not a timestamp from {RANGE}")))?;
                (OAuthFilter::LastUsed(cmp, t), 3)
            }
            ["lastUsed"] => return Err(bad("`lastUsed` needs an operator".into())),
            [word @ ("and" | "or"), ..] => {
                return Err(bad(format!("`{word}` where a filter should be")));
            }
            [field, ..] => {
                return Err(bad(format!(
                    "`{field}` is not a field that can be filtered (only lastUsed)"
                )));
            }
            [] => {
                let last = words.last().copied().unwrap_or_default();
                return Err(bad(format!(
                    "it ends after `{last}`, where a filter should be"
                )));
            }
        };
        i += used;
        ands.push(match (negated, leaf) {
            (false, leaf) => leaf,
            (true, OAuthFilter::Not(inner)) => *inner,
            (true, leaf) => OAuthFilter::Not(Box::new(leaf)),
        });
        match words.get(i) {
            None => break,
            Some(&"and") => {}
            Some(&"or") => ors.push(joined(std::mem::take(&mut ands), OAuthFilter::And)),
            Some(word) => {
                return Err(bad(format!(
                    "`{word}` after a filter; join filters with `and` or `or`"
                )));
            }
        }
        i += 1;
    }
    ors.push(joined(ands, OAuthFilter::And));
    Ok(joined(ors, OAuthFilter::Or))
}

/// One filter as itself, several as `join` of them.
fn joined(mut fs: Vec<OAuthFilter>, join: fn(Vec<OAuthFilter>) -> OAuthFilter) -> OAuthFilter {
    if fs.len() == 1 {
        fs.remove(0)
    } else {
        join(fs)
    }
}

impl TryFrom<&Params> for OAuthClientQuery {
    type Error = Error;
    /// `limit`, `offset`, `count`, then `filters`, in that order.
    fn try_from(q: &Params) -> Result<Self> {
        let limit = number(q, "limit", MAX_OAUTH_LIMIT, MAX_OAUTH_LIMIT, 0)?;
        let offset = number(q, "offset", 0, usize::MAX, 0)?;
        let count = match param(q, "count") {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => {
                return Err(Error::BadRequest(format!(
                    "query `count={v}` must be true or false"
                )));
            }
        };
        let filters = parse_filters(param(q, "filters"))?;
        Ok(OAuthClientQuery {
            filters,
            limit,
            offset,
            count,
        })
    }
}
