//! API clients on the wire: create and update bodies, the representation, the list page
//! and its query.

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    CURSOR_DOC, LIMIT_DOC, Loose, Params, Reference, ReferenceOut, UseFilter, component,
    cursor_param, is_absent, limit_param, name, next_page, next_page_url, page, param, query_param,
    scope, string_param, urn_out,
};
use crate::error::{Error, Result};
use crate::model::{self, ClientInput, Scope, check_name, paths};
use crate::service::{Page, PageQuery};

/// The body of `POST /n/v1/apiclient`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ApiClientInput {
    /// What its tokens may do.
    #[schema(schema_with = scope, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub scope: Loose<String>,
    /// The owning company.
    #[schema(schema_with = owner_schema, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub owner: Loose<Reference>,
    /// Its name, unique in the company.
    #[serde(rename = "clientID", skip_serializing_if = "is_absent")]
    #[schema(schema_with = name, required = true)]
    pub client_id: Loose<String>,
}

fn owner_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    component("Reference")
}

/// The body of `PUT /n/v1/apiclient/{urn}`: a new `clientID` and `scope` (the owner
/// stays).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ApiClientUpdate {
    /// What its tokens may do.
    #[schema(schema_with = scope, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub scope: Loose<String>,
    /// Its name, unique in the company.
    #[serde(rename = "clientID", skip_serializing_if = "is_absent")]
    #[schema(schema_with = name, required = true)]
    pub client_id: Loose<String>,
}

/// `scope` and `clientID`, checked in that order.
fn scope_and_id(scope: &Loose<String>, client_id: &Loose<String>) -> Result<(Scope, String)> {
    let scope_s = scope.required_str("scope")?;
    let scope = Scope::parse(scope_s).ok_or_else(|| {
        Error::invalid(
            "scope",
            format!(
                "`{scope_s}` is not a scope; use {}",
                Scope::ALL.join(" or ")
            ),
        )
    })?;
    let client_id = check_name("clientID", client_id.required_str("clientID")?, true)?;
    Ok((scope, client_id))
}

impl TryFrom<&ApiClientInput> for ClientInput {
    type Error = Error;
    fn try_from(b: &ApiClientInput) -> Result<ClientInput> {
        let owner = b.owner.required_ref("owner")?;
        let (scope, client_id) = scope_and_id(&b.scope, &b.client_id)?;
        Ok(ClientInput {
            client_id,
            scope,
            owner: Some(owner),
        })
    }
}

impl TryFrom<&ApiClientUpdate> for ClientInput {
    type Error = Error;
    fn try_from(b: &ApiClientUpdate) -> Result<ClientInput> {
        let (scope, client_id) = scope_and_id(&b.scope, &b.client_id)?;
        Ok(ClientInput {
            client_id,
            scope,
            owner: None,
        })
    }
}

/// An API client as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiClient {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// Its path.
    pub url: String,
    /// What its tokens may do.
    #[schema(schema_with = scope)]
    pub scope: Scope,
    /// The owning company.
    #[schema(schema_with = super::common::reference_out)]
    pub owner: ReferenceOut,
    /// Its name.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Its latest successful authentication, to the minute (our addition); null until
    /// used.
    #[serde(default, rename = "lastUsed")]
    #[schema(schema_with = super::common::last_used_out, required = false)]
    pub last_used: Option<String>,
}

impl From<&model::ApiClient> for ApiClient {
    fn from(c: &model::ApiClient) -> Self {
        ApiClient {
            urn: c.urn.clone(),
            url: format!("{}{}", paths::CLIENT, c.urn),
            scope: c.scope,
            owner: ReferenceOut::new(paths::COMPANY, &c.owner),
            client_id: c.client_id.clone(),
            last_used: c.last_used.map(crate::clock::format_baack),
        }
    }
}

/// A page of API clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiClientList {
    /// The page.
    pub api_clients: Vec<ApiClient>,
    /// The URL of the next page, null on the last.
    #[schema(schema_with = next_page, required = true)]
    pub next_page: Option<String>,
}

impl ApiClientList {
    /// The answer to `q` that found `page`.
    pub fn new(page: &Page<model::ApiClient>, q: &ApiClientQuery) -> Self {
        let used = q.used.extra();
        let extra: Vec<(&str, &str)> = q
            .client_id
            .iter()
            .map(|i| ("clientID", i.as_str()))
            .chain(used.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        ApiClientList {
            api_clients: page.items.iter().map(ApiClient::from).collect(),
            next_page: next_page_url(paths::CLIENT, page.next.clone(), q.limit, &extra),
        }
    }
}

/// The query of `GET /n/v1/apiclient`, checked (read by its `TryFrom`, not serde: the
/// first of a repeated parameter counts, and each bad value has its own message).
#[derive(Debug, Clone, Default)]
pub struct ApiClientQuery {
    /// `limit`: items per page.
    pub limit: usize,
    /// `cursor`: the URN the page starts after.
    pub cursor: Option<String>,
    /// `unusedFor`, `usedWithin`: the last-use filters.
    pub used: UseFilter,
    /// `clientID`: only the API client with exactly this clientID.
    pub client_id: Option<String>,
}

impl IntoParams for ApiClientQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_param("limit", LIMIT_DOC, limit_param()),
            query_param("cursor", CURSOR_DOC, cursor_param()),
            query_param(
                "clientID",
                "Only the API client with exactly this clientID",
                string_param(),
            ),
        ]
        .into_iter()
        .chain(UseFilter::params())
        .collect()
    }
}

impl TryFrom<&Params> for ApiClientQuery {
    type Error = Error;
    fn try_from(q: &Params) -> Result<Self> {
        let (limit, cursor) = page(q)?;
        Ok(ApiClientQuery {
            limit,
            cursor,
            used: UseFilter::parse(q)?,
            client_id: param(q, "clientID").map(str::to_string),
        })
    }
}

impl ApiClientQuery {
    /// The paging part.
    pub fn page(&self) -> PageQuery {
        self.used.page(self.cursor.clone(), self.limit)
    }
}

impl ClientInput {
    /// Reads and checks an API client body: a create's with `create`, else an update's.
    pub fn parse(body: &serde_json::Value, create: bool) -> Result<ClientInput> {
        if create {
            ClientInput::try_from(&super::from_body::<ApiClientInput>(body)?)
        } else {
            ClientInput::try_from(&super::from_body::<ApiClientUpdate>(body)?)
        }
    }
}
