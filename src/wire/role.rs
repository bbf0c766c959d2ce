//! Permission roles on the wire: create and update bodies, the representation, the list
//! page and its query.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    CURSOR_DOC, LIMIT_DOC, Loose, Params, Reference, ReferenceOut, component, cursor_param,
    is_absent, limit_param, name, next_page, next_page_url, optional_refs, page, param,
    permissions_in, permissions_out, query_param, references_in, string_param, urn_out,
};
use crate::error::{Error, Result};
use crate::model::{self, Permission, RoleInput, check_name, paths};
use crate::service::{Page, PageQuery};

/// The body of `POST /n/v1/permissionrole`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PermissionRoleInput {
    /// Its name, unique in the company.
    #[schema(schema_with = name, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub name: Loose<String>,
    /// The owning company.
    #[schema(schema_with = owner_schema, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub owner: Loose<Reference>,
    /// Identities holding it (stored, not interpreted); absent: none.
    #[schema(schema_with = references_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub identities: Loose<Vec<Loose<Reference>>>,
    /// API clients holding it; absent: none.
    #[schema(schema_with = references_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub clients: Loose<Vec<Loose<Reference>>>,
    /// What it grants; absent: nothing.
    #[schema(schema_with = permissions_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub permissions: Loose<Vec<Loose<String>>>,
}

fn owner_schema() -> RefOr<Schema> {
    component("Reference")
}

/// The body of `PUT /n/v1/permissionrole/{urn}` (how a role is granted to clients).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PermissionRoleUpdate {
    /// Its name, unique in the company.
    #[schema(schema_with = name, required = true)]
    #[serde(skip_serializing_if = "is_absent")]
    pub name: Loose<String>,
    /// Identities holding it; absent: none.
    #[schema(schema_with = references_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub identities: Loose<Vec<Loose<Reference>>>,
    /// API clients holding it; absent: none.
    #[schema(schema_with = references_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub clients: Loose<Vec<Loose<Reference>>>,
    /// What it grants; absent: what it granted.
    #[schema(schema_with = permissions_in, required = false)]
    #[serde(skip_serializing_if = "is_absent")]
    pub permissions: Loose<Vec<Loose<String>>>,
}

/// `permissions`: absent is `None`; each label once, in the order of [`Permission`].
fn permissions(v: &Loose<Vec<Loose<String>>>) -> Result<Option<Vec<Permission>>> {
    let list = match v {
        Loose::Absent => return Ok(None),
        Loose::Wrong(_) => {
            return Err(Error::invalid(
                "permissions",
                "must be a list of permission labels",
            ));
        }
        Loose::Got(list) => list,
    };
    let mut set = BTreeSet::new();
    for p in list {
        let perm = p.got().and_then(|s| Permission::parse(s)).ok_or_else(|| {
            let shown = match p {
                Loose::Got(s) => s.clone(),
                Loose::Wrong(v) => v.to_string(),
                Loose::Absent => "null".into(),
            };
            Error::invalid(
                "permissions",
                format!(
                    "`{shown}` is not a permission; use {}",
                    Permission::ALL.join(", ")
                ),
            )
        })?;
        set.insert(perm);
    }
    Ok(Some(set.into_iter().collect()))
}

/// Everything but the owner, checked in the order of API.md.
fn rest(
    owner: Option<String>,
    name: &Loose<String>,
    identities: &Loose<Vec<Loose<Reference>>>,
    clients: &Loose<Vec<Loose<Reference>>>,
    perms: &Loose<Vec<Loose<String>>>,
) -> Result<RoleInput> {
    let name = check_name("name", name.required_str("name")?, true)?;
    let identities = optional_refs(identities, "identities")?.unwrap_or_default();
    let clients = optional_refs(clients, "clients")?.unwrap_or_default();
    Ok(RoleInput {
        name,
        owner,
        identities,
        clients,
        permissions: permissions(perms)?,
    })
}

impl TryFrom<&PermissionRoleInput> for RoleInput {
    type Error = Error;
    fn try_from(b: &PermissionRoleInput) -> Result<RoleInput> {
        let owner = b.owner.required_ref("owner")?;
        rest(
            Some(owner),
            &b.name,
            &b.identities,
            &b.clients,
            &b.permissions,
        )
    }
}

impl TryFrom<&PermissionRoleUpdate> for RoleInput {
    type Error = Error;
    fn try_from(b: &PermissionRoleUpdate) -> Result<RoleInput> {
        rest(None, &b.name, &b.identities, &b.clients, &b.permissions)
    }
}

/// An identity holding a role: its URN only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
}

/// A permission role as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PermissionRole {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// Its path.
    pub url: String,
    /// Its name.
    pub name: String,
    /// The owning company.
    #[schema(schema_with = super::common::reference_out)]
    pub owner: ReferenceOut,
    /// Identities holding it.
    #[schema(schema_with = identities_out)]
    pub identities: Vec<Identity>,
    /// API clients holding it.
    #[schema(schema_with = super::common::references_out)]
    pub clients: Vec<ReferenceOut>,
    /// What it grants.
    #[schema(schema_with = permissions_out)]
    pub permissions: Vec<Permission>,
}

fn identities_out() -> Schema {
    super::common::array(
        ObjectBuilder::new()
            .required("urn")
            .property("urn", urn_out()),
    )
    .into()
}

impl From<&model::Role> for PermissionRole {
    fn from(r: &model::Role) -> Self {
        PermissionRole {
            urn: r.urn.clone(),
            url: format!("{}{}", paths::ROLE, r.urn),
            name: r.name.clone(),
            owner: ReferenceOut::new(paths::COMPANY, &r.owner),
            identities: r
                .identities
                .iter()
                .map(|u| Identity { urn: u.clone() })
                .collect(),
            clients: r
                .clients
                .iter()
                .map(|u| ReferenceOut::new(paths::CLIENT, u))
                .collect(),
            permissions: r.permissions.clone(),
        }
    }
}

/// A page of permission roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRoleList {
    /// The page.
    pub permission_roles: Vec<PermissionRole>,
    /// The URL of the next page, null on the last.
    #[schema(schema_with = next_page, required = true)]
    pub next_page: Option<String>,
}

impl PermissionRoleList {
    /// The answer to `q` that found `page`.
    pub fn new(page: &Page<model::Role>, q: &PermissionRoleQuery) -> Self {
        let extra: Vec<(&str, &str)> = q.name.iter().map(|n| ("name", n.as_str())).collect();
        PermissionRoleList {
            permission_roles: page.items.iter().map(PermissionRole::from).collect(),
            next_page: next_page_url(paths::ROLE, page.next.clone(), q.limit, &extra),
        }
    }
}

/// The query of `GET /n/v1/permissionrole`, checked (read by its `TryFrom`).
#[derive(Debug, Clone, Default)]
pub struct PermissionRoleQuery {
    /// `limit`: items per page.
    pub limit: usize,
    /// `cursor`: the URN the page starts after.
    pub cursor: Option<String>,
    /// `name`: only the role with exactly this name.
    pub name: Option<String>,
}

impl IntoParams for PermissionRoleQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_param("limit", LIMIT_DOC, limit_param()),
            query_param("cursor", CURSOR_DOC, cursor_param()),
            query_param(
                "name",
                "Only the role with exactly this name",
                string_param(),
            ),
        ]
    }
}

impl TryFrom<&Params> for PermissionRoleQuery {
    type Error = Error;
    fn try_from(q: &Params) -> Result<Self> {
        let (limit, cursor) = page(q)?;
        Ok(PermissionRoleQuery {
            limit,
            cursor,
            name: param(q, "name").map(str::to_string),
        })
    }
}

impl PermissionRoleQuery {
    /// The paging part.
    pub fn page(&self) -> PageQuery {
        PageQuery {
            after: self.cursor.clone(),
            limit: self.limit,
            ..PageQuery::default()
        }
    }
}

impl RoleInput {
    /// Reads and checks a permission role body: a create's with `create`, else an
    /// update's.
    pub fn parse(body: &serde_json::Value, create: bool) -> Result<RoleInput> {
        if create {
            RoleInput::try_from(&super::from_body::<PermissionRoleInput>(body)?)
        } else {
            RoleInput::try_from(&super::from_body::<PermissionRoleUpdate>(body)?)
        }
    }
}
