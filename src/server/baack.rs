//! The handlers of the Baack native API (`/n/v1/…`): context, companies, API clients,
//! bearer tokens and permission roles. Each extracts, calls one service operation, and
//! renders its wire type.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::errors::Api;
use super::extract::Path;
use super::handlers::{Head, JsonBody, Params, Reply, deleted, reply, with_header};
use crate::model::{ClientInput, RoleInput, TokenInput};
use crate::service::{Operation as Op, role_etag, urn_param};
use crate::wire::client::{
    ApiClient, ApiClientInput, ApiClientList, ApiClientQuery, ApiClientUpdate,
};
use crate::wire::company::{ClientContext, Company, CompanyList};
use crate::wire::from_body_owned;
use crate::wire::role::{
    PermissionRole, PermissionRoleInput, PermissionRoleList, PermissionRoleQuery,
    PermissionRoleUpdate,
};
use crate::wire::token::{
    BearerToken, BearerTokenCreated, BearerTokenInput, BearerTokenList, BearerTokenQuery,
    BearerTokenUpdate,
};

// --- Baack: context and company ------------------------------------------------------

#[utoipa::path(
    get,
    path = "/n/v1/clientcontext",
    operation_id = "getClientContext",
    tag = super::openapi::BAACK,
    summary = "Who the token is: its client, company and permissions (any valid token)",
    responses((status = 200, description = "Success", body = crate::wire::company::ClientContext)),
    security(("bearer" = [])),
)]
pub(crate) async fn client_context(State(st): State<AppState>, h: Head) -> Reply {
    let (client, company, perms) = st
        .read(Api::Baack, Op::ClientContext, &h, |svc, c| {
            svc.client_context(c)
        })
        .await?;
    Ok(reply(
        StatusCode::OK,
        ClientContext::new(&client, &company, perms),
    ))
}

#[utoipa::path(
    get,
    path = "/n/v1/companies",
    operation_id = "listCompanies",
    tag = super::openapi::BAACK,
    summary = "List companies",
    responses((status = 200, description = "Success", body = crate::wire::company::CompanyList)),
    security(("bearer" = [])),
)]
pub(crate) async fn companies(State(st): State<AppState>, h: Head) -> Reply {
    let list = st
        .read(Api::Baack, Op::ListCompanies, &h, |svc, c| svc.companies(c))
        .await?;
    Ok(reply(StatusCode::OK, CompanyList::new(&list)))
}

#[utoipa::path(
    get,
    path = "/n/v1/company/{urn}",
    operation_id = "getCompany",
    tag = super::openapi::BAACK,
    summary = "Read a company",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::company::Company)),
    security(("bearer" = [])),
)]
pub(crate) async fn company(State(st): State<AppState>, h: Head, Path(urn): Path<String>) -> Reply {
    let c = st
        .read(Api::Baack, Op::GetCompany, &h, move |svc, c| {
            svc.company(c, &urn)
        })
        .await?;
    Ok(reply(StatusCode::OK, Company::from(&c)))
}

// --- Baack: API clients ----------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/n/v1/apiclient/",
    operation_id = "createApiClient",
    tag = super::openapi::BAACK,
    summary = "Create an API client",
    description = "400 INVALID_REPRESENTATION when the clientID is taken in the company; 404 when the owner is not the store's company.",
    request_body(content = crate::wire::client::ApiClientInput, content_type = "application/json"),
    responses((status = 201, description = "Success", body = crate::wire::client::ApiClient, links(("Get" = (operation_id = "getApiClient", parameters(("urn" = "$response.body#/urn")))), ("Update" = (operation_id = "updateApiClient", parameters(("urn" = "$response.body#/urn")))), ("Delete" = (operation_id = "deleteApiClient", parameters(("urn" = "$response.body#/urn"))))))),
    security(("bearer" = [])),
)]
pub(crate) async fn client_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let c = st
        .write_body(
            Api::Baack,
            Op::CreateClient,
            &h,
            body,
            |v| ClientInput::try_from(&from_body_owned::<ApiClientInput>(v)?),
            |svc, c, input| svc.create_client(c, &input),
        )
        .await?;
    Ok(reply(StatusCode::CREATED, ApiClient::from(&c)))
}

#[utoipa::path(
    get,
    path = "/n/v1/apiclient/",
    operation_id = "listApiClients",
    tag = super::openapi::BAACK,
    summary = "List API clients",
    params(crate::wire::client::ApiClientQuery),
    responses((status = 200, description = "Success", body = crate::wire::client::ApiClientList)),
    security(("bearer" = [])),
)]
pub(crate) async fn client_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListClients, &h, move |svc, c| {
            let q = ApiClientQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_clients(c, q.client_id.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, ApiClientList::new(&page, &q)))
}

#[utoipa::path(
    get,
    path = "/n/v1/apiclient/{urn}",
    operation_id = "getApiClient",
    tag = super::openapi::BAACK,
    summary = "Read an API client",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::client::ApiClient)),
    security(("bearer" = [])),
)]
pub(crate) async fn client_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let c = st
        .read(Api::Baack, Op::GetClient, &h, move |svc, c| {
            svc.get_client(c, &urn)
        })
        .await?;
    Ok(reply(StatusCode::OK, ApiClient::from(&c)))
}

#[utoipa::path(
    put,
    path = "/n/v1/apiclient/{urn}",
    operation_id = "updateApiClient",
    tag = super::openapi::BAACK,
    summary = "Replace an API client's clientID and scope",
    description = "400 INVALID_REPRESENTATION when the new clientID is taken, or when the root client would lose scope api.baack.co.",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    request_body(content = crate::wire::client::ApiClientUpdate, content_type = "application/json"),
    responses((status = 202, description = "Success", body = crate::wire::client::ApiClient)),
    security(("bearer" = [])),
)]
pub(crate) async fn client_update(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
    body: JsonBody,
) -> Reply {
    let c = st
        .write_body(
            Api::Baack,
            Op::UpdateClient,
            &h,
            body,
            // The path's URN is judged before the body, as it always was.
            move |v| {
                let urn = urn_param(&urn)?;
                let input = ClientInput::try_from(&from_body_owned::<ApiClientUpdate>(v)?)?;
                Ok((urn, input))
            },
            |svc, c, (urn, input)| svc.update_client(c, &urn, &input),
        )
        .await?;
    Ok(reply(StatusCode::ACCEPTED, ApiClient::from(&c)))
}

#[utoipa::path(
    delete,
    path = "/n/v1/apiclient/{urn}",
    operation_id = "deleteApiClient",
    tag = super::openapi::BAACK,
    summary = "Delete an API client, its tokens and its role memberships",
    description = "400 INVALID_REPRESENTATION for the root client, which cannot be deleted.",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::error::Status)),
    security(("bearer" = [])),
)]
pub(crate) async fn client_delete(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let urn = st
        .write(Api::Baack, Op::DeleteClient, &h, move |svc, c| {
            svc.delete_client(c, &urn)
        })
        .await?;
    Ok(deleted(&urn))
}

// --- Baack: bearer tokens --------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/n/v1/apiclientbearertoken/",
    operation_id = "createBearerToken",
    tag = super::openapi::BAACK,
    summary = "Create a bearer token (the whole token is in this answer only)",
    description = "400 INVALID_REPRESENTATION when expirationTimestamp is not in the future; 404 when the API client does not exist.",
    request_body(content = crate::wire::token::BearerTokenInput, content_type = "application/json"),
    responses((status = 201, description = "Success", body = crate::wire::token::BearerTokenCreated, headers(("Cache-Control" = inline(super::openapi::NoStore), description = "A secret is never cached")), links(("Get" = (operation_id = "getBearerToken", parameters(("urn" = "$response.body#/urn")))), ("Update" = (operation_id = "updateBearerToken", parameters(("urn" = "$response.body#/urn")))), ("Delete" = (operation_id = "deleteBearerToken", parameters(("urn" = "$response.body#/urn"))))))),
    security(("bearer" = [])),
)]
pub(crate) async fn token_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let (t, secret) = st
        .write_prepared(
            Api::Baack,
            Op::CreateToken,
            &h,
            body,
            |svc, c, v| {
                let input = TokenInput::try_from(&from_body_owned::<BearerTokenInput>(v)?)?;
                svc.prepare_token(c, &input)
            },
            |svc, c, new| svc.commit_token(c, new),
        )
        .await?;
    let mut r = reply(StatusCode::CREATED, BearerTokenCreated::new(&t, &secret));
    // A response carrying a secret must never sit in a cache.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/n/v1/apiclientbearertoken/",
    operation_id = "listBearerTokens",
    tag = super::openapi::BAACK,
    summary = "List bearer tokens",
    params(crate::wire::token::BearerTokenQuery),
    responses((status = 200, description = "Success", body = crate::wire::token::BearerTokenList)),
    security(("bearer" = [])),
)]
pub(crate) async fn token_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListTokens, &h, move |svc, c| {
            let q = BearerTokenQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_tokens(c, q.api_client.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, BearerTokenList::new(&page, &q)))
}

#[utoipa::path(
    get,
    path = "/n/v1/apiclientbearertoken/{urn}",
    operation_id = "getBearerToken",
    tag = super::openapi::BAACK,
    summary = "Read a bearer token (obfuscated)",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::token::BearerToken)),
    security(("bearer" = [])),
)]
pub(crate) async fn token_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let t = st
        .read(Api::Baack, Op::GetToken, &h, move |svc, c| {
            svc.get_token(c, &urn)
        })
        .await?;
    Ok(reply(StatusCode::OK, BearerToken::from(&t)))
}

#[utoipa::path(
    put,
    path = "/n/v1/apiclientbearertoken/{urn}",
    operation_id = "updateBearerToken",
    tag = super::openapi::BAACK,
    summary = "Set a token's expiry, never later than one already set (revocation with notice)",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    request_body(content = crate::wire::token::BearerTokenUpdate, content_type = "application/json"),
    responses((status = 202, description = "Success", body = crate::wire::token::BearerToken)),
    security(("bearer" = [])),
)]
pub(crate) async fn token_update(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
    body: JsonBody,
) -> Reply {
    let rule = st.expiry_rule;
    let t = st
        .write_body(
            Api::Baack,
            Op::UpdateToken,
            &h,
            body,
            move |v| {
                let urn = urn_param(&urn)?;
                let input = TokenInput::try_from(&from_body_owned::<BearerTokenUpdate>(v)?)?;
                Ok((urn, input))
            },
            move |svc, c, (urn, input)| svc.update_token(c, &urn, &input, rule),
        )
        .await?;
    Ok(reply(StatusCode::ACCEPTED, BearerToken::from(&t)))
}

#[utoipa::path(
    delete,
    path = "/n/v1/apiclientbearertoken/{urn}",
    operation_id = "deleteBearerToken",
    tag = super::openapi::BAACK,
    summary = "Delete a bearer token; it stops working at once",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::error::Status)),
    security(("bearer" = [])),
)]
pub(crate) async fn token_delete(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let urn = st
        .write(Api::Baack, Op::DeleteToken, &h, move |svc, c| {
            svc.delete_token(c, &urn)
        })
        .await?;
    Ok(deleted(&urn))
}

// --- Baack: permission roles -----------------------------------------------------------

fn role_reply(status: StatusCode, r: &crate::model::Role) -> Response {
    with_header(
        reply(status, PermissionRole::from(r)),
        header::ETAG,
        &role_etag(r),
    )
}

#[utoipa::path(
    post,
    path = "/n/v1/permissionrole/",
    operation_id = "createPermissionRole",
    tag = super::openapi::BAACK,
    summary = "Create a permission role",
    description = "400 INVALID_REPRESENTATION when the name is taken in the company; 404 when the owner or a client does not exist.",
    request_body(content = crate::wire::role::PermissionRoleInput, content_type = "application/json"),
    responses((status = 201, description = "Success", body = crate::wire::role::PermissionRole, headers(("ETag" = String, description = "The role's version, for If-Match")), links(("Get" = (operation_id = "getPermissionRole", parameters(("urn" = "$response.body#/urn")))), ("Update" = (operation_id = "updatePermissionRole", parameters(("urn" = "$response.body#/urn")))), ("Delete" = (operation_id = "deletePermissionRole", parameters(("urn" = "$response.body#/urn"))))))),
    security(("bearer" = [])),
)]
pub(crate) async fn role_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let r = st
        .write_body(
            Api::Baack,
            Op::CreateRole,
            &h,
            body,
            |v| RoleInput::try_from(&from_body_owned::<PermissionRoleInput>(v)?),
            |svc, c, input| svc.create_role(c, &input),
        )
        .await?;
    Ok(role_reply(StatusCode::CREATED, &r))
}

#[utoipa::path(
    get,
    path = "/n/v1/permissionrole/",
    operation_id = "listPermissionRoles",
    tag = super::openapi::BAACK,
    summary = "List permission roles",
    params(crate::wire::role::PermissionRoleQuery),
    responses((status = 200, description = "Success", body = crate::wire::role::PermissionRoleList)),
    security(("bearer" = [])),
)]
pub(crate) async fn role_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListRoles, &h, move |svc, c| {
            let q = PermissionRoleQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_roles(c, q.name.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, PermissionRoleList::new(&page, &q)))
}

#[utoipa::path(
    get,
    path = "/n/v1/permissionrole/{urn}",
    operation_id = "getPermissionRole",
    tag = super::openapi::BAACK,
    summary = "Read a permission role; its ETag header versions it",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::role::PermissionRole, headers(("ETag" = String, description = "The role's version, for If-Match")))),
    security(("bearer" = [])),
)]
pub(crate) async fn role_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let r = st
        .read(Api::Baack, Op::GetRole, &h, move |svc, c| {
            svc.get_role(c, &urn)
        })
        .await?;
    Ok(role_reply(StatusCode::OK, &r))
}

#[utoipa::path(
    put,
    path = "/n/v1/permissionrole/{urn}",
    operation_id = "updatePermissionRole",
    tag = super::openapi::BAACK,
    summary = "Replace a permission role (grant it to clients); If-Match makes it safe against concurrent changes",
    description = "400 INVALID_REPRESENTATION when the new name is taken; 404 when a client does not exist; 412 when If-Match does not name the role's current ETag.",
    params(("urn" = inline(super::openapi::UrnParam), Path), ("If-Match" = Option<String>, Header, nullable = false, description = "ETags of the role as read (or *); another version is 412")),
    request_body(content = crate::wire::role::PermissionRoleUpdate, content_type = "application/json"),
    responses((status = 202, description = "Success", body = crate::wire::role::PermissionRole, headers(("ETag" = String, description = "The role's version, for If-Match"))), (status = 412, description = "The role changed since the If-Match ETag was read", body = crate::wire::error::Status)),
    security(("bearer" = [])),
)]
pub(crate) async fn role_update(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
    body: JsonBody,
) -> Reply {
    let if_match = h
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\"invalid\"").to_string());
    let r = st
        .write_body(
            Api::Baack,
            Op::UpdateRole,
            &h,
            body,
            move |v| {
                let urn = urn_param(&urn)?;
                let input = RoleInput::try_from(&from_body_owned::<PermissionRoleUpdate>(v)?)?;
                Ok((urn, input))
            },
            move |svc, c, (urn, input)| svc.update_role(c, &urn, &input, if_match.as_deref()),
        )
        .await?;
    Ok(role_reply(StatusCode::ACCEPTED, &r))
}

#[utoipa::path(
    delete,
    path = "/n/v1/permissionrole/{urn}",
    operation_id = "deletePermissionRole",
    tag = super::openapi::BAACK,
    summary = "Delete a permission role",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::error::Status)),
    security(("bearer" = [])),
)]
pub(crate) async fn role_delete(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let urn = st
        .write(Api::Baack, Op::DeleteRole, &h, move |svc, c| {
            svc.delete_role(c, &urn)
        })
        .await?;
    Ok(deleted(&urn))
}

// --- Baack: the audit log (our addition) ----------------------------------------------

#[utoipa::path(
    get,
    path = "/n/v1/auditevent/",
    operation_id = "listAuditEvents",
    tag = super::openapi::BAACK,
    summary = "List audit events, newest first (our addition; needs READ)",
    params(crate::wire::audit::AuditEventQuery),
    responses((status = 200, description = "Success", body = crate::wire::audit::AuditEventList)),
    security(("bearer" = [])),
)]
pub(crate) async fn audit_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    use crate::wire::audit::{AuditEventList, AuditEventQuery};
    let (events, next, q) = st
        .run(Api::Baack, Op::ListAudit, &h, move |svc, c| {
            let q = AuditEventQuery::try_from(q.0.as_slice())?;
            let (events, next) = svc.list_audit(c, &q.q)?;
            Ok((events, next, q))
        })
        .await?;
    Ok(reply(
        StatusCode::OK,
        AuditEventList::new(&events, next, &q),
    ))
}

#[utoipa::path(
    get,
    path = "/n/v1/auditevent/{urn}",
    operation_id = "getAuditEvent",
    tag = super::openapi::BAACK,
    summary = "Read an audit event (our addition; needs READ)",
    params(("urn" = inline(super::openapi::UrnParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::audit::AuditEvent)),
    security(("bearer" = [])),
)]
pub(crate) async fn audit_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let e = st
        .run(Api::Baack, Op::GetAudit, &h, move |svc, c| {
            svc.get_audit(c, &urn)
        })
        .await?;
    Ok(reply(
        StatusCode::OK,
        crate::wire::audit::AuditEvent::from(&e),
    ))
}
