//! The OAuth 2.0 endpoints (API.md "OAuth token endpoint"): `POST /oauth/token` (RFC
//! 6749 client credentials), `POST /oauth/introspect` (RFC 7662), and the key set and
//! discovery document a user's own services verify access tokens with offline. No
//! bearer token: a client authenticates with its id and secret, in the form body or
//! HTTP Basic, as the official SDKs send them.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::handlers::reply;
use super::{AppState, MAX_BODY, Peer};
use crate::service::GrantError;

/// The form of a token or introspection request (either encoding).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct TokenForm {
    /// `client_credentials` (required on a token request).
    #[schema(schema_with = grant_type_schema, required = true)]
    pub grant_type: Option<String>,
    /// The OAuth client's id (or in HTTP Basic).
    pub client_id: Option<String>,
    /// Its secret (or in HTTP Basic).
    pub client_secret: Option<String>,
    /// Space-separated scopes; default: all of the client's.
    pub scope: Option<String>,
    /// (introspection) The token to check.
    pub token: Option<String>,
}

fn grant_type_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["client_credentials"]))
        .into()
}

/// The form of an introspection request (either encoding): its schema, read as
/// [`TokenForm`].
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct IntrospectForm {
    /// The access token to check.
    pub token: String,
    /// The caller's OAuth client id (or in HTTP Basic).
    pub client_id: Option<String>,
    /// Its secret (or in HTTP Basic).
    pub client_secret: Option<String>,
}

/// A token answer (RFC 6749 section 5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// The access token: an ES256 JWT.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// An error answer (RFC 6749 section 5.2).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenError {
    /// `invalid_request`, `invalid_client`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` or `server_error`.
    pub error: &'static str,
    /// For a person.
    pub error_description: String,
}

fn oauth_error(e: GrantError, basic: bool) -> Response {
    let (status, code, why) = match e {
        GrantError::InvalidRequest(w) => (StatusCode::BAD_REQUEST, "invalid_request", w),
        GrantError::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret".to_string(),
        ),
        GrantError::UnauthorizedClient(w) => (StatusCode::BAD_REQUEST, "unauthorized_client", w),
        GrantError::UnsupportedGrantType(w) => {
            (StatusCode::BAD_REQUEST, "unsupported_grant_type", w)
        }
        GrantError::InvalidScope(w) => (StatusCode::BAD_REQUEST, "invalid_scope", w),
        GrantError::Server(e) => {
            let id = crate::secret::new_tracking_id();
            tracing::error!(tracking_id = %id, "token endpoint: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("an internal error (trackingId {id})"),
            )
        }
    };
    let mut r = reply(
        status,
        TokenError {
            error: code,
            error_description: why,
        },
    );
    no_store(&mut r);
    if basic && status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"baack\""),
        );
    }
    r
}

fn no_store(r: &mut Response) {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// HTTP Basic credentials (RFC 6749 section 2.3.1: each part form-urlencoded).
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, GrantError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad =
        || GrantError::InvalidRequest("the Authorization header is not valid HTTP Basic".into());
    let v = v.to_str().map_err(|_| bad())?.trim();
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        // Another scheme (a bearer token sent by habit) carries no client credentials
        // here: they are looked for in the form.
        return Ok(None);
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = s.split_once(':').ok_or_else(bad)?;
    let dec = |p: &str| -> String {
        form_urlencoded::parse(format!("x={p}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

/// The form, in either encoding the SDKs use; a parameter given twice is refused
/// (RFC 6749 section 3.2).
async fn read_form(req: Request) -> Result<TokenForm, GrantError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if ct.starts_with("multipart/form-data") {
        let mut m = Multipart::from_request(req, &()).await.map_err(|e| {
            GrantError::InvalidRequest(format!("the multipart body is not valid: {e}"))
        })?;
        while let Some(field) = m.next_field().await.map_err(|e| {
            GrantError::InvalidRequest(format!("the multipart body is not valid: {e}"))
        })? {
            let name = field.name().unwrap_or_default().to_string();
            let value = field
                .text()
                .await
                .map_err(|e| GrantError::InvalidRequest(format!("field {name}: {e}")))?;
            pairs.push((name, value));
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| GrantError::InvalidRequest("the body is too large or broken".into()))?;
        pairs = form_urlencoded::parse(&bytes).into_owned().collect();
    } else {
        return Err(GrantError::InvalidRequest(format!(
            "the body must be application/x-www-form-urlencoded or multipart/form-data, not {ct}"
        )));
    }
    let mut form = TokenForm::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "grant_type" => &mut form.grant_type,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            "scope" => &mut form.scope,
            "token" => &mut form.token,
            _ => continue,
        };
        if slot.is_some() {
            return Err(GrantError::InvalidRequest(format!("`{k}` is given twice")));
        }
        *slot = Some(v);
    }
    Ok(form)
}

/// The client's credentials, from Basic or the form (never both: RFC 6749 2.3).
fn credentials(
    basic: Option<(String, String)>,
    form: &TokenForm,
) -> Result<(String, String), GrantError> {
    match (basic, &form.client_id, &form.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(GrantError::InvalidRequest(
            "the client's credentials are in both HTTP Basic and the form: send them once".into(),
        )),
        (Some(b), None, None) => Ok(b),
        (None, Some(id), Some(s)) => Ok((id.clone(), s.clone())),
        (None, Some(_), None) => Err(GrantError::InvalidClient),
        (None, None, _) => Err(GrantError::InvalidClient),
    }
}

/// This server's URL as the request reached it: the issuer of its tokens.
fn issuer(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// What an OAuth client's request to the token or introspection endpoint carries.
struct ClientRequest {
    headers: HeaderMap,
    /// HTTP Basic credentials, if sent.
    basic: Option<(String, String)>,
    form: TokenForm,
}

/// Counts the request against its address's limit, and reads its Basic credentials and
/// its form; a refusal is the answer to send.
async fn client_request(st: &AppState, req: Request) -> Result<ClientRequest, Response> {
    if let Some(r) = limited(st, &req) {
        return Err(r);
    }
    let headers = req.headers().clone();
    let b = basic(&headers).map_err(|e| oauth_error(e, false))?;
    let used_basic = b.is_some();
    let form = read_form(req)
        .await
        .map_err(|e| oauth_error(e, used_basic))?;
    Ok(ClientRequest {
        headers,
        basic: b,
        form,
    })
}

/// Counts a request against the limit of its address (no token names a client here).
fn limited(st: &AppState, req: &Request) -> Option<Response> {
    let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let l = st.limiter.as_ref()?;
    l.check(super::ratelimit::Key::Addr(peer))
        .err()
        .map(|retry| {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": "slow_down", "error_description": "too many requests"}),
            );
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        })
}

#[utoipa::path(
    post,
    path = "/oauth/token",
    operation_id = "createAccessToken",
    tag = super::openapi::OAUTH,
    summary = "Get an access token with an OAuth client's credentials (RFC 6749 client_credentials)",
    description = "Credentials in the form body (client_id, client_secret) or HTTP Basic. The client needs grant type CLIENT_CREDENTIALS, enabled: true and type CONFIDENTIAL. Errors as RFC 6749 section 5.2: invalid_client is 401, the others 400.",
    request_body(content(
        (TokenForm = "application/x-www-form-urlencoded"),
        (TokenForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Success", body = TokenResponse, headers(("Cache-Control" = inline(super::openapi::NoStore), description = "A token is never cached"))),
        (status = 400, description = "An RFC 6749 error", body = TokenError),
        (status = 401, description = "invalid_client", body = TokenError),
    ),
    security(()),
)]
pub(crate) async fn oauth_token(State(st): State<AppState>, req: Request) -> Response {
    let ClientRequest {
        headers,
        basic: b,
        form,
    } = match client_request(&st, req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let used_basic = b.is_some();
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(g) => {
            return oauth_error(
                GrantError::UnsupportedGrantType(format!(
                    "grant_type `{g}` is not supported; use client_credentials"
                )),
                used_basic,
            );
        }
        None => {
            return oauth_error(
                GrantError::InvalidRequest("grant_type is required".into()),
                used_basic,
            );
        }
    }
    let (id, secret) = match credentials(b, &form) {
        Ok(c) => c,
        Err(e) => return oauth_error(e, used_basic),
    };
    let iss = issuer(&headers);
    let svc = st.svc.clone();
    let scope = form.scope.clone();
    let issued = tokio::task::spawn_blocking(move || {
        svc.issue_access_token(&id, &secret, scope.as_deref(), &iss)
    })
    .await
    .unwrap_or_else(|e| Err(GrantError::Server(crate::Error::Internal(e.to_string()))));
    match issued {
        Ok(t) => {
            let mut r = reply(
                StatusCode::OK,
                TokenResponse {
                    access_token: t.access_token,
                    token_type: "bearer",
                    expires_in: t.expires_in,
                    scope: t.scope,
                },
            );
            no_store(&mut r);
            r
        }
        Err(e) => oauth_error(e, used_basic),
    }
}

/// An introspection answer (RFC 7662 section 2.2).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Introspection {
    /// Whether the token works now.
    pub active: bool,
    /// Its scopes (active only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OAuth client it was issued to (active only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `bearer` (active only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Claims (active only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

#[utoipa::path(
    post,
    path = "/oauth/introspect",
    operation_id = "introspectAccessToken",
    tag = super::openapi::OAUTH,
    summary = "Whether an access token works now, and its claims (RFC 7662)",
    description = "The caller authenticates with its own OAuth client credentials (HTTP Basic or the form); `token` is the access token to check.",
    request_body(content(
        (IntrospectForm = "application/x-www-form-urlencoded"),
        (IntrospectForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Success", body = Introspection),
        (status = 400, description = "An RFC 6749 error", body = TokenError),
        (status = 401, description = "invalid_client", body = TokenError),
    ),
    security(()),
)]
pub(crate) async fn oauth_introspect(State(st): State<AppState>, req: Request) -> Response {
    let ClientRequest { basic: b, form, .. } = match client_request(&st, req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let used_basic = b.is_some();
    let (id, secret) = match credentials(b, &form) {
        Ok(c) => c,
        Err(e) => return oauth_error(e, used_basic),
    };
    let Some(token) = form.token.clone() else {
        return oauth_error(
            GrantError::InvalidRequest("token is required".into()),
            used_basic,
        );
    };
    let svc = st.svc.clone();
    let r = tokio::task::spawn_blocking(move || svc.introspect(&id, &secret, &token))
        .await
        .unwrap_or_else(|e| Err(GrantError::Server(crate::Error::Internal(e.to_string()))));
    let body = match r {
        Ok(Some(c)) => Introspection {
            active: true,
            scope: Some(c.scope),
            client_id: Some(c.sub.clone()),
            token_type: Some("bearer"),
            exp: Some(c.exp),
            iat: Some(c.iat),
            sub: Some(c.sub),
            iss: Some(c.iss),
            jti: Some(c.jti),
        },
        Ok(None) => Introspection {
            active: false,
            scope: None,
            client_id: None,
            token_type: None,
            exp: None,
            iat: None,
            sub: None,
            iss: None,
            jti: None,
        },
        Err(e) => return oauth_error(e, used_basic),
    };
    let mut r = reply(StatusCode::OK, body);
    no_store(&mut r);
    r
}

/// The key set (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Jwks {
    /// The public keys, each with its `kid`.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Value>,
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "getJwks",
    tag = super::openapi::OAUTH,
    summary = "The public keys that verify access tokens",
    responses((status = 200, description = "Success", body = Jwks)),
    security(()),
)]
pub(crate) async fn jwks(State(st): State<AppState>) -> Response {
    let svc = st.svc.clone();
    match tokio::task::spawn_blocking(move || svc.jwks()).await {
        Ok(Ok(keys)) => reply(StatusCode::OK, Jwks { keys }),
        Ok(Err(e)) => oauth_error(GrantError::Server(e), false),
        Err(e) => oauth_error(
            GrantError::Server(crate::Error::Internal(e.to_string())),
            false,
        ),
    }
}

/// The discovery document (OpenID Connect Discovery 1.0, the parts that apply).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Discovery {
    /// This server's URL, as the tokens' `iss`.
    pub issuer: String,
    /// Where to get tokens.
    pub token_endpoint: String,
    /// Where to introspect them.
    pub introspection_endpoint: String,
    /// The key set.
    pub jwks_uri: String,
    /// `client_credentials`.
    pub grant_types_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post`.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `ES256`.
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// `token`.
    pub response_types_supported: Vec<&'static str>,
    /// `public`.
    pub subject_types_supported: Vec<&'static str>,
    /// The scopes a client may be given.
    pub scopes_supported: Vec<&'static str>,
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "getOpenidConfiguration",
    tag = super::openapi::OAUTH,
    summary = "Where the token endpoint, introspection and keys are",
    responses((status = 200, description = "Success", body = Discovery)),
    security(()),
)]
pub(crate) async fn openid_configuration(headers: HeaderMap) -> Response {
    let iss = issuer(&headers);
    reply(
        StatusCode::OK,
        Discovery {
            token_endpoint: format!("{iss}/oauth/token"),
            introspection_endpoint: format!("{iss}/oauth/introspect"),
            jwks_uri: format!("{iss}/.well-known/jwks.json"),
            issuer: iss,
            grant_types_supported: vec!["client_credentials"],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            id_token_signing_alg_values_supported: vec!["ES256"],
            response_types_supported: vec!["token"],
            subject_types_supported: vec!["public"],
            scopes_supported: vec![
                "sp:scopes:all",
                "sp:oauth-client:read",
                "sp:oauth-client:manage",
            ],
        },
    )
}
