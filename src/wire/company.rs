//! The company and the client context of the Baack API: what `GET /n/v1/company…` and
//! `GET /n/v1/clientcontext` answer.

use serde::{Deserialize, Serialize};
use utoipa::{PartialSchema, ToSchema};

use super::client::ApiClient;
use super::common::{Null, ReferenceOut, permissions_out, urn_out};
use crate::model::{self, paths};

/// The company that owns everything in a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// Its path.
    pub url: String,
    /// Its display name.
    pub name: String,
}

impl From<&model::Company> for Company {
    fn from(c: &model::Company) -> Self {
        Company {
            urn: c.urn.clone(),
            url: format!("{}{}", paths::COMPANY, c.urn),
            name: c.name.clone(),
        }
    }
}

/// The companies (one per store), as references; never a next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyList {
    /// The companies.
    #[schema(schema_with = super::common::references_out)]
    pub companies: Vec<ReferenceOut>,
    /// Always null: there is one page.
    #[schema(schema_with = Null::schema)]
    pub next_page: Null,
}

impl CompanyList {
    /// The list of `companies`.
    pub fn new(companies: &[model::Company]) -> Self {
        CompanyList {
            companies: companies
                .iter()
                .map(|c| ReferenceOut::new(paths::COMPANY, &c.urn))
                .collect(),
            next_page: Null,
        }
    }
}

/// The caller: its API client, its company and its permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientContext {
    /// Always true: the request carried a valid bearer token.
    #[schema(schema_with = always_true)]
    pub has_bearer: bool,
    /// The caller's API client.
    pub client: ApiClient,
    /// Its company.
    pub owner: Company,
    /// The union of its roles' permissions.
    #[schema(schema_with = permissions_out)]
    pub permissions: Vec<model::Permission>,
}

impl ClientContext {
    /// The context of `client` in `company` with `permissions`.
    pub fn new(
        client: &model::ApiClient,
        company: &model::Company,
        permissions: Vec<model::Permission>,
    ) -> Self {
        ClientContext {
            has_bearer: true,
            client: client.into(),
            owner: company.into(),
            permissions,
        }
    }
}

/// `true`, the one value of `hasBearer`.
fn always_true() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::extensions::Extensions;
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
    // `const`, a keyword utoipa has no builder for.
    let konst: Extensions = [("const", true)].into_iter().collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .extensions(Some(konst))
        .into()
}
