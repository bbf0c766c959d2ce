//! The handlers of the Baack native API (`/n/v1/…`): context, companies, API clients,
//! bearer tokens and permission roles.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::errors::Api;
use super::extract::Path;
use super::handlers::{
    Head, JsonBody, Params, Reply, deleted, list_body, next_page, page_query, param, reply,
    with_header,
};
use crate::model::{client_json, company_json, paths, reference_json, role_json, token_json};
use crate::service::{Need, Page, role_etag};
use axum::http::HeaderValue;

// --- Baack: context and company ------------------------------------------------------

pub(crate) async fn client_context(State(st): State<AppState>, h: Head) -> Reply {
    let (client, company, perms) = st
        .read(Api::Baack, &h, |svc, c| svc.client_context(c))
        .await?;
    Ok(reply(
        StatusCode::OK,
        json!({
            "hasBearer": true,
            "client": client_json(&client),
            "owner": company_json(&company),
            "permissions": perms.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        }),
    ))
}

pub(crate) async fn companies(State(st): State<AppState>, h: Head) -> Reply {
    let list = st.read(Api::Baack, &h, |svc, c| svc.companies(c)).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|c| reference_json(paths::COMPANY, &c.urn))
        .collect();
    Ok(reply(
        StatusCode::OK,
        json!({ "companies": items, "nextPage": null }),
    ))
}

pub(crate) async fn company(State(st): State<AppState>, h: Head, Path(urn): Path<String>) -> Reply {
    let c = st
        .read(Api::Baack, &h, move |svc, c| svc.company(c, &urn))
        .await?;
    Ok(reply(StatusCode::OK, company_json(&c)))
}

// --- Baack: API clients ----------------------------------------------------------------

pub(crate) async fn client_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let c = st
        .write_body(
            Api::Baack,
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.create_client(c, &body),
        )
        .await?;
    Ok(reply(StatusCode::CREATED, client_json(&c)))
}

pub(crate) async fn client_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, limit, id) = st
        .run(Api::Baack, &h, move |svc, c| {
            c.require(Need::Read)?;
            let pq = page_query(&q)?;
            let id = param(&q, "clientID").map(str::to_string);
            Ok((svc.list_clients(c, id.as_deref(), &pq)?, pq.limit, id))
        })
        .await?;
    let Page { items, next } = page;
    let extra: Vec<(&str, &str)> = id.iter().map(|i| ("clientID", i.as_str())).collect();
    Ok(reply(
        StatusCode::OK,
        list_body(
            "apiClients",
            items.iter().map(client_json).collect(),
            next_page(paths::CLIENT, next, limit, &extra),
        ),
    ))
}

pub(crate) async fn client_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let c = st
        .read(Api::Baack, &h, move |svc, c| svc.get_client(c, &urn))
        .await?;
    Ok(reply(StatusCode::OK, client_json(&c)))
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
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.update_client(c, &urn, &body),
        )
        .await?;
    Ok(reply(StatusCode::ACCEPTED, client_json(&c)))
}

pub(crate) async fn client_delete(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let urn = st
        .write(Api::Baack, &h, move |svc, c| svc.delete_client(c, &urn))
        .await?;
    Ok(deleted(&urn))
}

// --- Baack: bearer tokens --------------------------------------------------------------

pub(crate) async fn token_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let (t, secret) = st
        .write_prepared(
            Api::Baack,
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.prepare_token(c, &body),
            |svc, c, new| svc.commit_token(c, new),
        )
        .await?;
    let mut r = reply(StatusCode::CREATED, token_json(&t, Some(&secret)));
    // A response carrying a secret must never sit in a cache.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

pub(crate) async fn token_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, limit, client) = st
        .run(Api::Baack, &h, move |svc, c| {
            c.require(Need::Read)?;
            let pq = page_query(&q)?;
            let client = param(&q, "apiClient").map(str::to_string);
            Ok((
                svc.list_tokens(c, client.as_deref(), &pq)?,
                pq.limit,
                client,
            ))
        })
        .await?;
    let Page { items, next } = page;
    let extra: Vec<(&str, &str)> = client.iter().map(|i| ("apiClient", i.as_str())).collect();
    Ok(reply(
        StatusCode::OK,
        list_body(
            "bearerTokens",
            items.iter().map(|t| token_json(t, None)).collect(),
            next_page(paths::TOKEN, next, limit, &extra),
        ),
    ))
}

pub(crate) async fn token_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let t = st
        .read(Api::Baack, &h, move |svc, c| svc.get_token(c, &urn))
        .await?;
    Ok(reply(StatusCode::OK, token_json(&t, None)))
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
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.update_token(c, &urn, &body),
        )
        .await?;
    Ok(reply(StatusCode::ACCEPTED, token_json(&t, None)))
}

pub(crate) async fn token_delete(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let urn = st
        .write(Api::Baack, &h, move |svc, c| svc.delete_token(c, &urn))
        .await?;
    Ok(deleted(&urn))
}

// --- Baack: permission roles -----------------------------------------------------------

fn role_reply(status: StatusCode, r: &crate::model::Role) -> Response {
    with_header(reply(status, role_json(r)), header::ETAG, &role_etag(r))
}

pub(crate) async fn role_create(State(st): State<AppState>, h: Head, body: JsonBody) -> Reply {
    let r = st
        .write_body(
            Api::Baack,
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.create_role(c, &body),
        )
        .await?;
    Ok(role_reply(StatusCode::CREATED, &r))
}

pub(crate) async fn role_list(State(st): State<AppState>, h: Head, q: Params) -> Reply {
    let (page, limit, name) = st
        .run(Api::Baack, &h, move |svc, c| {
            c.require(Need::Read)?;
            let pq = page_query(&q)?;
            let name = param(&q, "name").map(str::to_string);
            Ok((svc.list_roles(c, name.as_deref(), &pq)?, pq.limit, name))
        })
        .await?;
    let Page { items, next } = page;
    let extra: Vec<(&str, &str)> = name.iter().map(|n| ("name", n.as_str())).collect();
    Ok(reply(
        StatusCode::OK,
        list_body(
            "permissionRoles",
            items.iter().map(role_json).collect(),
            next_page(paths::ROLE, next, limit, &extra),
        ),
    ))
}

pub(crate) async fn role_get(
    State(st): State<AppState>,
    h: Head,
    Path(urn): Path<String>,
) -> Reply {
    let r = st
        .read(Api::Baack, &h, move |svc, c| svc.get_role(c, &urn))
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
            &h,
            Need::Administer,
            body,
            move |svc, c, body| svc.update_role(c, &urn, &body, if_match.as_deref()),
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
        .write(Api::Baack, &h, move |svc, c| svc.delete_role(c, &urn))
        .await?;
    Ok(deleted(&urn))
}
