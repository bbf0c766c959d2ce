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

pub(crate) async fn companies(State(st): State<AppState>, h: Head) -> Reply {
    let list = st
        .read(Api::Baack, Op::ListCompanies, &h, |svc, c| svc.companies(c))
        .await?;
    Ok(reply(StatusCode::OK, CompanyList::new(&list)))
}

pub(crate) async fn company(State(st): State<AppState>, h: Head, Path(urn): Path<String>) -> Reply {
    let c = st
        .read(Api::Baack, Op::GetCompany, &h, move |svc, c| {
            svc.company(c, &urn)
        })
        .await?;
    Ok(reply(StatusCode::OK, Company::from(&c)))
}

// --- Baack: API clients ----------------------------------------------------------------

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

pub(crate) async fn client_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListClients, &h, move |svc, c| {
            let q = ApiClientQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_clients(c, q.client_id.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, ApiClientList::new(&page, &q)))
}

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

pub(crate) async fn token_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListTokens, &h, move |svc, c| {
            let q = BearerTokenQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_tokens(c, q.api_client.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, BearerTokenList::new(&page, &q)))
}

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

pub(crate) async fn token_update(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
    body: JsonBody,
) -> Reply {
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
            |svc, c, (urn, input)| svc.update_token(c, &urn, &input),
        )
        .await?;
    Ok(reply(StatusCode::ACCEPTED, BearerToken::from(&t)))
}

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

pub(crate) async fn role_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, q) = st
        .run(Api::Baack, Op::ListRoles, &h, move |svc, c| {
            let q = PermissionRoleQuery::try_from(q.0.as_slice())?;
            Ok((svc.list_roles(c, q.name.as_deref(), &q.page())?, q))
        })
        .await?;
    Ok(reply(StatusCode::OK, PermissionRoleList::new(&page, &q)))
}

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
