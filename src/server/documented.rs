//! `baack serve --documented-only`: the API as Baack's own documentation has it, for
//! testing the CLI against a real deployment. One middleware in front of the normal
//! routes takes away what API.md marks "our addition": the list endpoints and
//! `clientcontext` answer 404 as a server without those routes would, `If-Match` is
//! ignored and no `ETag` is sent, roles store no `permissions` and tokens no `description`
//! (dropped silently, and never shown), tokens show no `created`, `lastUsed` or
//! `idleTimeoutSeconds` and clients no `lastUsed`, the rotations and the audit log answer
//! 404, a token's `expirationTimestamp` is set as given (no never-later rule), and each
//! object's own `urn` is spelled `Urn`, as seed 001 shows a deployment doing.

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{Api, ApiError};
use super::handlers::no_route;
use super::{
    AUDIT, AUDITS, CLIENT, CLIENTS, CONTEXT, MAX_BODY, OAUTH_SECRET, ROLE, ROLES, TOKEN, TOKENS,
};
use crate::error::Error;

/// Whether `method` on the route `route` is one of API.md's additions.
fn is_addition(method: &Method, route: &str) -> bool {
    let list = [CLIENTS, TOKENS, ROLES].iter().any(|c| c.contains(&route));
    let ours = [CONTEXT, AUDITS, AUDIT, OAUTH_SECRET];
    ours.iter().any(|r| r.contains(&route))
        || (list && (method == Method::GET || method == Method::HEAD))
}

/// The fields of our own that a route's objects carry: a role's `permissions`, a
/// token's `description` and last-use fields (and `idleTimeoutSeconds` and `replacedBy`
/// on input), a client's `lastUsed`.
fn our_fields(route: &str) -> &'static [&'static str] {
    let on = |spellings: &[&[&str]]| spellings.iter().any(|s| s.contains(&route));
    if on(&[ROLES, ROLE]) {
        &["permissions"]
    } else if on(&[TOKENS, TOKEN]) {
        &[
            "description",
            "created",
            "lastUsed",
            "idleTimeoutSeconds",
            "replacedBy",
        ]
    } else if on(&[CLIENTS, CLIENT]) {
        &["lastUsed"]
    } else {
        &[]
    }
}

/// The middleware (see the module's comment).
pub(super) async fn only_documented(mut req: Request, next: Next) -> Response {
    let Some(route) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        // No route: the normal fallback's 404 is already what such a server says.
        return next.run(req).await;
    };
    let method = req.method().clone();
    if is_addition(&method, &route) {
        return no_route(req.uri().clone()).await;
    }
    let baack = route.starts_with("/n/");
    req.headers_mut().remove(header::IF_MATCH);
    let ours = our_fields(&route);
    if !ours.is_empty() && (method == Method::POST || method == Method::PUT) {
        req = match without(req, ours).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
    }
    // The expiry rule is the router's (`AppState::expiry_rule`), not this layer's.
    let resp = next.run(req).await;
    if baack {
        documented_answer(resp, ours).await
    } else {
        resp
    }
}

/// The request with `fields` taken out of its JSON body. The body is read here,
/// before the caller is admitted, unlike the normal routes: this server is for tests.
async fn without(req: Request, fields: &[&str]) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::new(Api::Baack, Error::TooLarge(MAX_BODY)))?;
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut o)) => {
            for f in fields {
                o.remove(*f);
            }
            serde_json::to_vec(&o)
                .map_err(|e| ApiError::new(Api::Baack, Error::Internal(e.to_string())))?
        }
        // Not an object: the handler judges it as it would.
        _ => bytes.to_vec(),
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.headers_mut().remove(header::CONTENT_LENGTH);
    Ok(req)
}

/// The answer without `ETag`, without the object's fields `ours` (see [`our_fields`]),
/// and with the object's own `urn` spelled `Urn`.
async fn documented_answer(resp: Response, ours: &[&str]) -> Response {
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::ETAG);
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut o)) => {
            for f in ours {
                o.remove(*f);
            }
            if let Some(u) = o.remove("urn") {
                o.insert("Urn".into(), u);
            }
            serde_json::to_vec(&o).map_or(bytes, Into::into)
        }
        _ => bytes,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_additions_are_the_lists_and_the_context() {
        assert!(is_addition(&Method::GET, "/n/v1/apiclient/"));
        assert!(is_addition(&Method::GET, "/n/v1/role"));
        assert!(is_addition(&Method::GET, "/n/v1/clientcontext"));
        assert!(!is_addition(&Method::POST, "/n/v1/apiclient/"));
        assert!(!is_addition(&Method::GET, "/n/v1/apiclient/{urn}"));
        assert!(!is_addition(&Method::GET, "/v3/oauth-clients"));
    }
}
