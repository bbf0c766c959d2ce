//! The handlers of the SailPoint-style OAuth client API (`/v3/oauth-clients` and its
//! aliases). Each extracts, calls one service operation, and renders its wire type.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::AppState;
use super::errors::Api;
use super::extract::Path;
use super::handlers::{Head, JsonBody, Params, Reply, reply, with_header};
use crate::model::{OAuthFields, OAuthPatch};
use crate::service::{Operation as Op, Service};
use crate::wire::from_body_owned;
use crate::wire::oauth::{
    OAuthClient, OAuthClientCreated, OAuthClientInput, OAuthClientList, OAuthClientQuery,
};

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
            Op::CreateOAuth,
            &h,
            body,
            |v| OAuthFields::try_from(&from_body_owned::<OAuthClientInput>(v)?),
            |svc, c, fields| svc.create_oauth(c, fields),
        )
        .await?;
    let mut r = reply(StatusCode::OK, OAuthClientCreated::new(&o, &secret));
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
        .run(Api::OAuth, Op::ListOAuth, &h, move |svc, c| {
            let q = OAuthClientQuery::try_from(q.0.as_slice())?;
            let (items, total) = svc.list_oauth(c, &q.filters, q.offset, q.limit)?;
            Ok((items, total, q.count))
        })
        .await?;
    let r = reply(StatusCode::OK, OAuthClientList::new(&items));
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
        .read(Api::OAuth, Op::GetOAuth, &h, move |svc, c| {
            svc.get_oauth(c, &id)
        })
        .await?;
    Ok(reply(StatusCode::OK, OAuthClient::from(&o)))
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
            Op::PatchOAuth,
            &h,
            body,
            // An id that names no client is judged before the patch, as it always was.
            move |v| Ok((Service::oauth_id(&id)?, OAuthPatch::try_from(&v)?)),
            |svc, c, (id, patch)| svc.patch_oauth(c, &id, &patch),
        )
        .await?;
    Ok(reply(StatusCode::OK, OAuthClient::from(&o)))
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
    st.write(Api::OAuth, Op::DeleteOAuth, &h, move |svc, c| {
        svc.delete_oauth(c, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/v3/oauth-clients/{id}/secret",
    operation_id = "rotateOauthClientSecret",
    tag = super::openapi::OAUTH,
    summary = "Give an OAuth client a new secret; the previous one works overlapSeconds more (our addition)",
    description = "At most two secrets are live at once: rotating again ends the older one at once. Needs ADMINISTER.",
    params(("id" = inline(super::openapi::OAuthIdParam), Path)),
    request_body(content = crate::wire::audit::OAuthSecretRotation, content_type = "application/json"),
    responses((status = 200, description = "Success", body = crate::wire::oauth::OAuthClientCreated, headers(("Cache-Control" = inline(super::openapi::NoStore), description = "A secret is never cached")))),
    security(("bearer" = [])),
)]
pub(crate) async fn oauth_rotate_secret(
    State(st): State<AppState>,
    h: Head,
    Path(id): Path<String>,
    body: JsonBody,
) -> Reply {
    let (o, secret) = st
        .write_body(
            Api::OAuth,
            Op::RotateOAuthSecret,
            &h,
            body,
            move |v| {
                let r = from_body_owned::<crate::wire::audit::OAuthSecretRotation>(v)?;
                Ok((Service::oauth_id(&id)?, r.overlap()?))
            },
            |svc, c, (id, overlap)| svc.rotate_oauth_secret(c, &id, overlap),
        )
        .await?;
    let mut r = reply(StatusCode::OK, OAuthClientCreated::new(&o, &secret));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
