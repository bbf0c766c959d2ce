//! Bearer tokens on the wire: create and update bodies, the representation (obfuscated,
//! or whole once on create), the list page and its query.

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::common::{
    CURSOR_DOC, LIMIT_DOC, Loose, Params, Reference, ReferenceOut, UseFilter, component,
    cursor_param, is_absent, limit_param, next_page, next_page_url, page, param, query_param,
    urn_in, urn_out,
};
use super::patterns;
use crate::clock::{RANGE, format_baack, in_range, parse_timestamp};
use crate::error::{Error, Result};
use crate::model::{self, TokenInput, paths};
use crate::service::{Page, PageQuery, urn_param};

/// The body of `POST /n/v1/apiclientbearertoken`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BearerTokenInput {
    /// The API client the token authenticates.
    #[schema(schema_with = api_client_schema, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub api_client: Loose<Reference>,
    /// When it stops working; absent or null: never.
    #[schema(schema_with = timestamp_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub expiration_timestamp: Loose<String>,
    /// What the token is for, to a person (our addition); absent or null: none.
    #[schema(schema_with = description_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub description: Loose<String>,
}

fn api_client_schema() -> RefOr<Schema> {
    component("Reference")
}

/// The body of `PUT /n/v1/apiclientbearertoken/{urn}`: an expiry, never later than one
/// already set (revocation with a notice period).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BearerTokenUpdate {
    /// When it stops working; a past time revokes it at once.
    #[schema(schema_with = timestamp_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub expiration_timestamp: Loose<String>,
    /// A new description (our addition); absent or null: unchanged, empty: none.
    #[schema(schema_with = description_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub description: Loose<String>,
    /// It also stops working once unused this many seconds (our addition; 300 to
    /// 2592000): a rotation's old token, retired when its last user has moved. Never
    /// lengthens its life.
    #[schema(value_type = Option<i64>, minimum = 300, maximum = 2592000, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub idle_timeout_seconds: Loose<i64>,
    /// The token that replaces this one (our addition): the update is then the last step
    /// of a rotation, and audited as one.
    #[schema(schema_with = replaced_by_schema, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub replaced_by: Loose<Reference>,
}

fn replaced_by_schema() -> RefOr<Schema> {
    component("Reference")
}

fn idle(v: &Loose<i64>) -> Result<Option<crate::clock::Millis>> {
    use crate::service::{MAX_OVERLAP, MIN_IDLE};
    match v {
        Loose::Absent => Ok(None),
        Loose::Got(s) if (MIN_IDLE / 1000..=MAX_OVERLAP / 1000).contains(s) => Ok(Some(s * 1000)),
        _ => Err(Error::invalid(
            "idleTimeoutSeconds",
            format!(
                "must be a whole number of seconds from {} (last use is recorded to the minute) to {} (30 days)",
                MIN_IDLE / 1000,
                MAX_OVERLAP / 1000
            ),
        )),
    }
}

/// A description in a request, or null.
fn description_in() -> Schema {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .max_length(Some(model::DESCRIPTION_MAX))
        .pattern(Some(patterns::description()))
        .examples(["android app, prod"])
        .into()
}

/// A description in a response.
fn description_out() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(model::DESCRIPTION_MAX))
        .into()
}

fn description(v: &Loose<String>) -> Result<Option<String>> {
    match v {
        Loose::Absent => Ok(None),
        Loose::Wrong(_) => Err(Error::invalid("description", "must be a string")),
        Loose::Got(s) => model::check_description(s).map(Some),
    }
}

/// A timestamp in a request, or null.
fn timestamp_in() -> Schema {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .pattern(Some(patterns::timestamp()))
        .examples(["2099-12-31T23:59:59.999"])
        .into()
}

/// A timestamp in a response.
fn timestamp_out() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(patterns::timestamp()))
        .into()
}

fn expires(v: &Loose<String>) -> Result<Option<crate::clock::Millis>> {
    let s = match v {
        Loose::Absent => return Ok(None),
        Loose::Wrong(_) => {
            return Err(Error::invalid(
                "expirationTimestamp",
                "must be a timestamp string",
            ));
        }
        Loose::Got(s) => s,
    };
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
    Ok(Some(t))
}

impl TryFrom<&BearerTokenInput> for TokenInput {
    type Error = Error;
    fn try_from(b: &BearerTokenInput) -> Result<TokenInput> {
        let client = b.api_client.required_ref("apiClient")?;
        Ok(TokenInput {
            client: Some(client),
            expires: expires(&b.expiration_timestamp)?,
            description: description(&b.description)?,
            idle: None,
            replaced_by: None,
        })
    }
}

impl TryFrom<&BearerTokenUpdate> for TokenInput {
    type Error = Error;
    fn try_from(b: &BearerTokenUpdate) -> Result<TokenInput> {
        let replaced_by = match &b.replaced_by {
            Loose::Absent => None,
            _ => Some(b.replaced_by.required_ref("replacedBy")?),
        };
        Ok(TokenInput {
            client: None,
            expires: expires(&b.expiration_timestamp)?,
            description: description(&b.description)?,
            idle: idle(&b.idle_timeout_seconds)?,
            replaced_by,
        })
    }
}

/// A bearer token as reads show it: the first characters and `...`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerToken {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// Its path.
    pub url: String,
    /// The API client it authenticates.
    #[schema(schema_with = super::common::reference_out)]
    pub api_client: ReferenceOut,
    /// The token's first characters and `...`.
    #[schema(schema_with = shown_token)]
    pub bearer_token: String,
    /// When it stops working, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = timestamp_out, required = false)]
    pub expiration_timestamp: Option<String>,
    /// What it is for, to a person (our addition), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = description_out, required = false)]
    pub description: Option<String>,
    /// When it was made (our addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = timestamp_out, required = false)]
    pub created: Option<String>,
    /// Its latest successful authentication, to the minute (our addition); null until
    /// used.
    #[serde(default)]
    #[schema(schema_with = super::common::last_used_out, required = false)]
    pub last_used: Option<String>,
    /// Set by a rotation with `untilUnused` (our addition): it also stops working once
    /// unused this many seconds (before its `expirationTimestamp`, the hard bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false, minimum = 1)]
    pub idle_timeout_seconds: Option<i64>,
}

fn shown_token() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^bk_[0-9A-Za-z]{3}[.]{3}$"))
        .into()
}

impl From<&model::BearerToken> for BearerToken {
    fn from(t: &model::BearerToken) -> Self {
        BearerToken {
            urn: t.urn.clone(),
            url: format!("{}{}", paths::TOKEN, t.urn),
            api_client: ReferenceOut::new(paths::CLIENT, &t.client),
            bearer_token: t.shown.clone(),
            expiration_timestamp: t.expires.map(format_baack),
            description: t.description.clone(),
            created: Some(format_baack(t.created)),
            last_used: t.last_used.map(format_baack),
            idle_timeout_seconds: t.retire.map(|r| r.idle / 1000),
        }
    }
}

/// A bearer token as its creation answers: the whole token, this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BearerTokenCreated(pub BearerToken);

impl BearerTokenCreated {
    /// `t`, carrying the whole `token`.
    pub fn new(t: &model::BearerToken, token: &str) -> Self {
        let mut shown = BearerToken::from(t);
        shown.bearer_token = token.to_string();
        BearerTokenCreated(shown)
    }
}

/// [`BearerToken`]'s schema, with the whole token's pattern.
impl PartialSchema for BearerTokenCreated {
    fn schema() -> RefOr<Schema> {
        let mut s = BearerToken::schema();
        if let RefOr::T(Schema::Object(o)) = &mut s {
            o.properties.insert(
                "bearerToken".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^bk_[0-9A-Za-z]{40}$"))
                    .into(),
            );
        }
        s
    }
}

impl ToSchema for BearerTokenCreated {}

/// A page of bearer tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerTokenList {
    /// The page.
    pub bearer_tokens: Vec<BearerToken>,
    /// The URL of the next page, null on the last.
    #[schema(schema_with = next_page, required = true)]
    pub next_page: Option<String>,
}

impl BearerTokenList {
    /// The answer to `q` that found `page`.
    pub fn new(page: &Page<model::BearerToken>, q: &BearerTokenQuery) -> Self {
        let used = q.used.extra();
        let extra: Vec<(&str, &str)> = q
            .api_client_asked
            .iter()
            .map(|i| ("apiClient", i.as_str()))
            .chain(used.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        BearerTokenList {
            bearer_tokens: page.items.iter().map(BearerToken::from).collect(),
            next_page: next_page_url(paths::TOKEN, page.next.clone(), q.limit, &extra),
        }
    }
}

/// The query of `GET /n/v1/apiclientbearertoken`, checked (read by its `TryFrom`).
#[derive(Debug, Clone, Default)]
pub struct BearerTokenQuery {
    /// `limit`: items per page.
    pub limit: usize,
    /// `cursor`: the URN the page starts after.
    pub cursor: Option<String>,
    /// `unusedFor`, `usedWithin`: the last-use filters.
    pub used: UseFilter,
    /// `apiClient`, normalised: only the tokens of this API client.
    pub api_client: Option<String>,
    /// `apiClient` as sent, for the next page's URL.
    pub api_client_asked: Option<String>,
}

impl IntoParams for BearerTokenQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_param("limit", LIMIT_DOC, limit_param()),
            query_param("cursor", CURSOR_DOC, cursor_param()),
            query_param("apiClient", "Only the tokens of this API client", urn_in()),
        ]
        .into_iter()
        .chain(UseFilter::params())
        .collect()
    }
}

impl TryFrom<&Params> for BearerTokenQuery {
    type Error = Error;
    fn try_from(q: &Params) -> Result<Self> {
        let (limit, cursor) = page(q)?;
        let asked = param(q, "apiClient").map(str::to_string);
        let api_client = asked.as_deref().map(urn_param).transpose()?;
        Ok(BearerTokenQuery {
            limit,
            cursor,
            used: UseFilter::parse(q)?,
            api_client,
            api_client_asked: asked,
        })
    }
}

impl BearerTokenQuery {
    /// The paging part.
    pub fn page(&self) -> PageQuery {
        self.used.page(self.cursor.clone(), self.limit)
    }
}

impl TokenInput {
    /// Reads and checks a bearer token body: a create's with `create`, else an update's.
    pub fn parse(body: &serde_json::Value, create: bool) -> Result<TokenInput> {
        if create {
            TokenInput::try_from(&super::from_body::<BearerTokenInput>(body)?)
        } else {
            TokenInput::try_from(&super::from_body::<BearerTokenUpdate>(body)?)
        }
    }
}
