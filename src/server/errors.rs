//! Turning an [`Error`] into a response in the shape of the API that was called: Baack's
//! `{httpCode, apiCode, detail}` or SailPoint's `{detailCode, trackingId, messages, causes}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::secret::new_tracking_id;
use crate::wire::error::{Message, OAuthUnauthorized, RateLimited, SailPointError, Status};

/// Which API a request was for; it decides the error body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/n/v1/…`
    Baack,
    /// `/v3/oauth-clients…`
    OAuth,
}

impl Api {
    /// The API a path belongs to: Baack's under `/n/`, SailPoint's elsewhere.
    pub(crate) fn of_path(path: &str) -> Api {
        if path.starts_with("/n/") {
            Api::Baack
        } else {
            Api::OAuth
        }
    }
}

/// The error behind an error response, attached to it as an extension so the in-process
/// transport can hand the CLI the library's own message and kind (a store error names its
/// file there, and exits 7, where over HTTP it is a 500), and the server's log can record
/// the cause of a 5xx under the trackingId its body shows.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// The kind.
    pub kind: ErrorKind,
    /// The message, paths and all: never put in a body.
    pub message: String,
    /// The trackingId of a 5xx answer's body.
    pub tracking_id: Option<String>,
}

/// Seconds a client is asked to wait after a write found the store locked.
const LOCKED_RETRY_AFTER: u64 = 5;

/// What the server log says of an answer that carries a server fault (a 5xx): its
/// trackingId (the one in its body), its status and its cause, which may name files but
/// never a secret.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fault<'a> {
    pub(crate) tracking_id: &'a str,
    pub(crate) status: u16,
    pub(crate) cause: &'a str,
}

/// The fault `resp` carries, if it is a 5xx made from an [`Error`].
pub(crate) fn fault_of(resp: &Response) -> Option<Fault<'_>> {
    let d = resp.extensions().get::<ErrorDetail>()?;
    Some(Fault {
        tracking_id: d.tracking_id.as_deref()?,
        status: resp.status().as_u16(),
        cause: &d.message,
    })
}

/// Emits an error event for the fault `resp` carries, if any: the server log's record of
/// what a 5xx body only points at with its trackingId.
pub(crate) fn log_fault(resp: &Response) {
    if let Some(f) = fault_of(resp) {
        // The cause as a plain string field: quoted (newlines escaped) in the text format,
        // a JSON string in the JSON one, so it can never break a line in two.
        tracing::error!(
            trackingId = %f.tracking_id,
            status = f.status,
            cause = f.cause,
            "server fault"
        );
    }
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
pub fn status_body(http: StatusCode, api_code: &str, detail: Option<&str>) -> Status {
    Status {
        http_code: http.as_u16(),
        api_code: api_code.to_string(),
        detail: detail.map(str::to_string),
        tracking_id: None,
    }
}

/// Any error body of either API.
#[derive(Serialize)]
#[serde(untagged)]
enum ErrorBody {
    Status(Status),
    SailPoint(SailPointError),
    Unauthorized(OAuthUnauthorized),
    RateLimited(RateLimited),
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
        Error::LockTimeout { .. } => (
            S::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            Some(fault_detail(err)),
        ),
        _ => (
            S::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            Some(fault_detail(err)),
        ),
    }
}

/// What a 5xx body says: what kind of trouble, never where. The store's files are named
/// only in the server log (under the body's trackingId) and in the CLI's own messages:
/// a path tells a caller about the host, and helps no caller fix anything.
fn fault_detail(err: &Error) -> String {
    let what = match err {
        Error::LockTimeout { .. } => {
            "the store is busy: another writer holds its lock; retry after the Retry-After seconds"
                .to_string()
        }
        Error::StoreIo { source, .. } => {
            format!("the store could not be read or written ({source})")
        }
        Error::StoreCorrupt { reason, .. } => {
            format!("a store file is corrupt ({reason}); it was left untouched")
        }
        Error::StoreTooNew {
            found, supported, ..
        } => format!("the store has format {found}, newer than the {supported} this server reads"),
        Error::NotPrivate { .. } => "a store directory is not private to the server's user".into(),
        _ => "an internal error occurred".into(),
    };
    // An I/O error's text may itself hold a path (one built by this crate, say).
    format!(
        "{}; the server log has the cause under this trackingId",
        without_paths(&what)
    )
}

/// `text` with every absolute path (a `/` that starts a word) replaced by `<path>`.
fn without_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_path = false;
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if in_path {
            if c.is_whitespace() || matches!(c, '`' | '\'' | '"' | ')' | ',' | ';') {
                in_path = false;
                out.push(c);
            }
        } else if c == '/'
            && prev.is_none_or(|p| {
                p.is_whitespace() || matches!(p, '`' | '\'' | '"' | '(' | '=' | ':')
            })
        {
            in_path = true;
            out.push_str("<path>");
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// SailPoint's error body.
pub fn sailpoint_body(detail_code: &str, text: &str, causes: &[String]) -> SailPointError {
    sailpoint_body_tracked(&new_tracking_id(), detail_code, text, causes)
}

/// SailPoint's error body with a given trackingId.
fn sailpoint_body_tracked(
    id: &str,
    detail_code: &str,
    text: &str,
    causes: &[String],
) -> SailPointError {
    SailPointError {
        detail_code: detail_code.to_string(),
        tracking_id: id.to_string(),
        messages: vec![Message::new(text)],
        causes: causes.iter().map(|c| Message::new(c)).collect(),
    }
}

const BAD_CONTENT: &str =
    "The request was syntactically correct but its content is semantically invalid.";

fn oauth_parts(err: &Error, id: &str) -> (StatusCode, ErrorBody) {
    use StatusCode as S;
    let sailpoint_body = |code: &str, text: &str, causes: &[String]| {
        ErrorBody::SailPoint(sailpoint_body_tracked(id, code, text, causes))
    };
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
        Error::Unauthorized(d) => (
            S::UNAUTHORIZED,
            ErrorBody::Unauthorized(OAuthUnauthorized { error: d.clone() }),
        ),
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
            ErrorBody::RateLimited(RateLimited {
                message: " Rate Limit Exceeded ".into(),
            }),
        ),
        Error::LockTimeout { .. } => (
            S::SERVICE_UNAVAILABLE,
            sailpoint_body(
                "503 Service Unavailable",
                "The server is temporarily unable to handle the request.",
                &[fault_detail(err)],
            ),
        ),
        _ => (
            S::INTERNAL_SERVER_ERROR,
            sailpoint_body(
                "500.0 Internal Fault",
                "An internal fault occurred.",
                &[fault_detail(err)],
            ),
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // One id for the body and the log line: SailPoint's shape carries one on every
        // error; Baack's, on a 5xx (beside `detail`).
        let id = new_tracking_id();
        let (status, body) = match self.api {
            Api::Baack => {
                let (s, code, detail) = baack_parts(&self.err);
                let mut body = status_body(s, code, detail.as_deref());
                if s.is_server_error() {
                    body.tracking_id = Some(id.clone());
                }
                (s, ErrorBody::Status(body))
            }
            Api::OAuth => oauth_parts(&self.err, &id),
        };
        let mut resp = (status, Json(body)).into_response();
        let headers = resp.headers_mut();
        match self.err {
            Error::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            Error::LockTimeout { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(LOCKED_RETRY_AFTER));
            }
            _ => {}
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
            tracking_id: status.is_server_error().then_some(id),
        });
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_out_of_fault_details() {
        assert_eq!(
            without_paths("cannot use store /var/lib/x y/z: denied (`/a/b`, '/c') at=/d"),
            "cannot use store <path> y/z: denied (`<path>`, '<path>') at=<path>"
        );
        assert_eq!(without_paths("no path here"), "no path here");
        let io = Error::io(
            "/srv/store/roles/x.json",
            std::io::Error::other(
                "the batch could not be synced: cannot use store /srv/store: full",
            ),
        );
        let d = fault_detail(&io);
        assert!(!d.contains("/srv"), "{d}");
        assert!(d.contains("trackingId"), "{d}");
    }

    #[test]
    fn a_fault_has_one_tracking_id_in_its_body_and_its_log_line() {
        let err = || Error::io("/srv/store/tokens", std::io::Error::other("disk full"));
        for api in [Api::Baack, Api::OAuth] {
            let resp = ApiError::new(api, err()).into_response();
            assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let fault = fault_of(&resp).unwrap();
            let id = resp
                .extensions()
                .get::<ErrorDetail>()
                .and_then(|d| d.tracking_id.clone())
                .unwrap();
            assert_eq!(fault.tracking_id, id);
            assert_eq!(fault.status, 500);
            assert!(fault.cause.contains("/srv/store/tokens"), "{fault:?}");
        }
        // A 4xx is no fault of the server's: nothing to log.
        let resp = ApiError::new(Api::Baack, Error::NotFound("x".into())).into_response();
        assert_eq!(fault_of(&resp), None);
    }
}
