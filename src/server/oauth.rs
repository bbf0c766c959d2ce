//! The handlers of the SailPoint-style OAuth client API (`/v3/oauth-clients` and its
//! aliases).

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use super::AppState;
use super::errors::Api;
use super::extract::Path;
use super::handlers::{Head, JsonBody, Params, Reply, number, param, reply, with_header};
use crate::error::Error;
use crate::model::oauth_json;
use crate::service::{MAX_OAUTH_LIMIT, Need};

// --- OAuth clients ---------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/v3/oauth-clients",
    operation_id = "createOauthClient",
    tag = super::openapi::OAUTH,
    summary = "Create an OAuth client (the secret is in this answer only)",
    description = "400 400.1 Bad Request Content when the name holds a character its pattern cannot list (a format, private-use, unassigned or default-ignorable one: API.md \"Names\").",
    request_body(content = crate::wire::oauth::OAuthClientInput, content_type = "application/json"),
    responses((status = 200, description = "Success", body = crate::wire::oauth::OAuthClientCreated, headers(("Cache-Control" = inline(super::openapi::NoStore), description = "A secret is never cached")), links(("Get" = (operation_id = "getOauthClient", parameters(("id" = "$response.body#/id")))), ("Update" = (operation_id = "patchOauthClient", parameters(("id" = "$response.body#/id")))), ("Delete" = (operation_id = "deleteOauthClient", parameters(("id" = "$response.body#/id"))))))),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let (o, secret) = st
        .write_body(
            Api::OAuth,
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.create_oauth(c, &body),
        )
        .await?;
    let mut r = reply(StatusCode::OK, oauth_json(&o, Some(&secret)));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/v3/oauth-clients",
    operation_id = "listOauthClients",
    tag = super::openapi::OAUTH,
    summary = "List OAuth clients",
    params(crate::wire::oauth::OAuthClientQuery),
    responses((status = 200, description = "Success", body = crate::wire::oauth::OAuthClientList, headers(("X-Total-Count" = inline(super::openapi::TotalCount), description = "With count=true: the number of matches before paging")))),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (items, total, count) = st
        .run(Api::OAuth, &h, move |svc, c| {
            c.require(Need::Read)?;
            let limit = number(&q, "limit", MAX_OAUTH_LIMIT, MAX_OAUTH_LIMIT, 0)?;
            let offset = number(&q, "offset", 0, usize::MAX, 0)?;
            let count = match param(&q, "count") {
                None | Some("false") => false,
                Some("true") => true,
                Some(v) => {
                    return Err(Error::BadRequest(format!(
                        "query `count={v}` must be true or false"
                    )));
                }
            };
            let (items, total) = svc.list_oauth(c, param(&q, "filters"), offset, limit)?;
            Ok((items, total, count))
        })
        .await?;
    let body: Vec<Value> = items.iter().map(|o| oauth_json(o, None)).collect();
    let r = reply(StatusCode::OK, Value::Array(body));
    Ok(if count {
        with_header(
            r,
            HeaderName::from_static("x-total-count"),
            &total.to_string(),
        )
    } else {
        r
    })
}

#[utoipa::path(
    get,
    path = "/v3/oauth-clients/{id}",
    operation_id = "getOauthClient",
    tag = super::openapi::OAUTH,
    summary = "Read an OAuth client",
    params(("id" = inline(super::openapi::OAuthIdParam), Path)),
    responses((status = 200, description = "Success", body = crate::wire::oauth::OAuthClient)),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_get(
    State(st): State<AppState>,
    h: Head,
    Path(id): Path<String>,
) -> Reply {
    let o = st
        .read(Api::OAuth, &h, move |svc, c| svc.get_oauth(c, &id))
        .await?;
    Ok(reply(StatusCode::OK, oauth_json(&o, None)))
}

#[utoipa::path(
    patch,
    path = "/v3/oauth-clients/{id}",
    operation_id = "patchOauthClient",
    tag = super::openapi::OAUTH,
    summary = "Change an OAuth client with a JSON Patch (RFC 6902)",
    description = "400 400.1 Bad Request Content when the patched client breaks a rule of OAuthClientInput (grant types, redirect URIs, types, ranges) or an operation cannot apply (a failed test, a missing target).",
    params(("id" = inline(super::openapi::OAuthIdParam), Path)),
    request_body(content((crate::wire::oauth::JsonPatch = "application/json-patch+json"), (crate::wire::oauth::JsonPatch = "application/json"))),
    responses((status = 200, description = "Success", body = crate::wire::oauth::OAuthClient)),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_patch(
    State(st): State<AppState>,
    h: Head,
    Path(id): Path<String>,
    body: JsonBody,
) -> Reply {
    let o = st
        .write_body(
            Api::OAuth,
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.patch_oauth(c, &id, &body),
        )
        .await?;
    Ok(reply(StatusCode::OK, oauth_json(&o, None)))
}

#[utoipa::path(
    delete,
    path = "/v3/oauth-clients/{id}",
    operation_id = "deleteOauthClient",
    tag = super::openapi::OAUTH,
    summary = "Delete an OAuth client",
    params(("id" = inline(super::openapi::OAuthIdParam), Path)),
    responses((status = 204, description = "Success")),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_delete(
    State(st): State<AppState>,
    h: Head,
    Path(id): Path<String>,
) -> Reply {
    st.write(Api::OAuth, &h, move |svc, c| svc.delete_oauth(c, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
