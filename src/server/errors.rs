//! Turning an [`Error`] into a response in the shape of the API that was called: Baack's
//! `{httpCode, apiCode, detail}` or SailPoint's `{detailCode, trackingId, messages, causes}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::secret::new_tracking_id;

/// Which API a request was for; it decides the error body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/n/v1/…`
    Baack,
    /// `/v3/oauth-clients…`
    OAuth,
}

/// The error behind an error response, attached to it as an extension so the in-process
/// transport can hand the CLI the library's own message and kind (a store error names its
/// file there, and exits 7, where over HTTP it is a 500).
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// The kind.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    /// The API it answers in.
    pub api: Api,
    /// The error.
    pub err: Error,
}

impl ApiError {
    /// Wraps `err` for `api`.
    pub fn new(api: Api, err: Error) -> Self {
        ApiError { api, err }
    }
}

/// Baack's status body.
pub fn status_body(http: StatusCode, api_code: &str, detail: Option<&str>) -> Value {
    let mut v = json!({ "httpCode": http.as_u16(), "apiCode": api_code });
    if let (Some(d), Some(o)) = (detail, v.as_object_mut()) {
        o.insert("detail".into(), d.into());
    }
    v
}

fn baack_parts(err: &Error) -> (StatusCode, &'static str, Option<String>) {
    use StatusCode as S;
    match err {
        Error::MissingField(f) => (
            S::BAD_REQUEST,
            "REPRESENTATION_MISSING_REQUIRED_FIELD",
            Some(f.clone()),
        ),
        Error::Invalid { field, reason } => (
            S::BAD_REQUEST,
            "INVALID_REPRESENTATION",
            Some(format!("{field}: {reason}")),
        ),
        Error::InvalidMany(c) => (S::BAD_REQUEST, "INVALID_REPRESENTATION", Some(c.join("; "))),
        Error::IllegalUpdate(d) => (S::BAD_REQUEST, "INVALID_REPRESENTATION", Some(d.clone())),
        Error::BadRequest(d) => (S::BAD_REQUEST, "BAD_REQUEST", Some(d.clone())),
        Error::TooLarge(_) => (
            S::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            Some(err.to_string()),
        ),
        Error::NotFound(d) => (S::NOT_FOUND, "NOT_FOUND", Some(d.clone())),
        // Never say whether the object exists: a caller without the permission sees what
        // seed 001 shows, a bare NOT_FOUND.
        Error::Forbidden(_) => (S::NOT_FOUND, "NOT_FOUND", None),
        Error::Unauthorized(d) => (S::UNAUTHORIZED, "UNAUTHORIZED", Some(d.clone())),
        Error::PreconditionFailed(d) => (
            S::PRECONDITION_FAILED,
            "PRECONDITION_FAILED",
            Some(d.clone()),
        ),
        Error::RateLimited { .. } => (
            S::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            Some("rate limit exceeded; retry after the Retry-After seconds".into()),
        ),
        _ => (
            S::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            Some(internal_detail(err)),
        ),
    }
}

/// What a 500 says: store errors name their file (an admin needs that, and it holds no
/// secret); anything else stays generic.
fn internal_detail(err: &Error) -> String {
    match err.kind() {
        ErrorKind::Unavailable => err.to_string(),
        _ => "an internal error occurred; see the server log".into(),
    }
}

fn message(text: &str) -> Value {
    json!({ "locale": "en-US", "localeOrigin": "DEFAULT", "text": text })
}

/// SailPoint's error body.
pub fn sailpoint_body(detail_code: &str, text: &str, causes: &[String]) -> Value {
    json!({
        "detailCode": detail_code,
        "trackingId": new_tracking_id(),
        "messages": [message(text)],
        "causes": causes.iter().map(|c| message(c)).collect::<Vec<_>>(),
    })
}

const BAD_CONTENT: &str =
    "The request was syntactically correct but its content is semantically invalid.";

fn oauth_parts(err: &Error) -> (StatusCode, Value) {
    use StatusCode as S;
    let bad = |causes: Vec<String>| {
        (
            S::BAD_REQUEST,
            sailpoint_body("400.1 Bad Request Content", BAD_CONTENT, &causes),
        )
    };
    match err {
        Error::MissingField(f) => bad(vec![format!("{f} is required")]),
        Error::Invalid { field, reason } => bad(vec![format!("{field}: {reason}")]),
        Error::InvalidMany(c) => bad(c.clone()),
        Error::BadRequest(d) => bad(vec![d.clone()]),
        Error::IllegalUpdate(d) => (
            S::BAD_REQUEST,
            sailpoint_body(
                "400.1.1 Illegal update attempt",
                "The request attempted to change a field that cannot be changed.",
                std::slice::from_ref(d),
            ),
        ),
        Error::TooLarge(_) => (
            S::PAYLOAD_TOO_LARGE,
            sailpoint_body(
                "413 Payload Too Large",
                "The request body is larger than the server accepts.",
                &[err.to_string()],
            ),
        ),
        Error::NotFound(d) => (
            S::NOT_FOUND,
            sailpoint_body(
                "404 Not found",
                "The server did not find a current representation for the target resource.",
                std::slice::from_ref(d),
            ),
        ),
        Error::Forbidden(d) => (
            S::FORBIDDEN,
            sailpoint_body(
                "403 Forbidden",
                "The server understood the request but refuses to authorize it.",
                std::slice::from_ref(d),
            ),
        ),
        Error::Unauthorized(d) => (S::UNAUTHORIZED, json!({ "error": d })),
        Error::PreconditionFailed(d) => (
            S::PRECONDITION_FAILED,
            sailpoint_body(
                "412 Precondition Failed",
                "The resource changed since it was read.",
                std::slice::from_ref(d),
            ),
        ),
        Error::RateLimited { .. } => (
            S::TOO_MANY_REQUESTS,
            json!({ "message": " Rate Limit Exceeded " }),
        ),
        _ => (
            S::INTERNAL_SERVER_ERROR,
            sailpoint_body(
                "500.0 Internal Fault",
                "An internal fault occurred.",
                &[internal_detail(err)],
            ),
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self.api {
            Api::Baack => {
                let (s, code, detail) = baack_parts(&self.err);
                (s, status_body(s, code, detail.as_deref()))
            }
            Api::OAuth => oauth_parts(&self.err),
        };
        let mut resp = (status, Json(body)).into_response();
        let headers = resp.headers_mut();
        if let Error::RateLimited { retry_after } = self.err {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        resp.extensions_mut().insert(ErrorDetail {
            kind: self.err.kind(),
            message: self.err.to_string(),
        });
        resp
    }
}
