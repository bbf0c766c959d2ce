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

pub(crate) async fn oauth_delete(
    State(st): State<AppState>,
    h: Head,
    Path(id): Path<String>,
) -> Reply {
    st.write(Api::OAuth, &h, move |svc, c| svc.delete_oauth(c, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
