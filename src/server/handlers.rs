//! What every route handler shares: reading the request (token, peer, query, body),
//! admitting its caller, running one service operation where it should run, and the
//! helpers that render answers. The handlers themselves are in `baack.rs` and `oauth.rs`.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::errors::{Api, ApiError, sailpoint_body, status_body};
use super::extract::Query;
use super::ratelimit::Key;
use super::{AppState, MAX_BODY, Peer};
use crate::error::{Error, Result};
use crate::service::{Caller, Operation, Service};

pub(super) type Reply = std::result::Result<Response, ApiError>;

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header,
/// and 401 when the header is not `Bearer <token>` (RFC 6750): another scheme, or a bare
/// token without its scheme, is no bearer credential.
fn bearer(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or_default().trim();
    match s.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(rest.trim().to_string()))
        }
        _ => Err(Error::Unauthorized(
            "the Authorization header is not `Bearer <token>`".into(),
        )),
    }
}

/// Where a request's work runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// On the worker that received it: a read of one object.
    Inline,
    /// On the blocking pool: listings, and anything else that may take a while.
    Blocking,
    /// On the store's committer, when it has one (else as `Blocking`): writes.
    Commit,
}

/// What a handler needs of a request before its body: the headers, and the address of the
/// peer that sent it (`None` in-process), which missing or invalid tokens are rate-limited by.
pub(crate) struct Head {
    headers: HeaderMap,
    peer: Option<IpAddr>,
}

impl std::ops::Deref for Head {
    type Target = HeaderMap;
    fn deref(&self) -> &HeaderMap {
        &self.headers
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Infallible> {
        Ok(Head {
            headers: parts.headers.clone(),
            peer: parts.extensions.get::<Peer>().map(|p| p.0.ip()),
        })
    }
}

/// A request that passed authentication, the rate limit and the check of its operation's
/// permission, from its headers alone.
struct Admitted {
    token: Option<String>,
    caller: Caller,
}

impl AppState {
    /// Admits (see [`AppState::admit`]) and runs `f` on a blocking thread (store I/O
    /// blocks).
    pub(super) async fn run<T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        f: impl FnOnce(&Service, &Caller) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        self.exec(api, op, head, Mode::Blocking, f).await
    }

    /// Like [`AppState::run`], for a request that writes and has no body: on a
    /// group-committing store it runs on the committer thread, and its answer waits for
    /// its batch to be durable.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        f: impl FnOnce(&Service, &Caller) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        self.exec(api, op, head, Mode::Commit, f).await
    }

    /// Like [`AppState::run`], for a read of one object: a few page-cache reads take
    /// microseconds, less than handing them to the blocking pool and back.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        f: impl FnOnce(&Service, &Caller) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        self.exec(api, op, head, Mode::Inline, f).await
    }

    /// Like [`AppState::write`], for a write with a JSON body: the caller is admitted and
    /// authorized for `op` from the headers before any of the body is read (API.md
    /// "Limits"), so that no one without the right can make the server hold or parse a
    /// body. `parse` turns the body into the operation's typed input on this worker
    /// (the committer only writes).
    pub(super) async fn write_body<B: Send + 'static, T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        body: JsonBody,
        parse: impl FnOnce(Value) -> Result<B> + Send + 'static,
        f: impl FnOnce(&Service, &Caller, B) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        self.write_prepared(api, op, head, body, |_, _, v| parse(v), f)
            .await
    }

    /// Like [`AppState::write_body`], for a write with a part that needs no lock: on a
    /// group-committing store `prepare` runs on this worker, with the caller admitted
    /// from the headers, and only `f` runs on the committer, which authenticates and
    /// authorizes again, since the caller may have lost its rights in between. `prepare`
    /// runs inline, like a read: it may write a small unsynced file (page-cache work of
    /// microseconds), never wait for a sync.
    pub(super) async fn write_prepared<P: Send + 'static, T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        body: JsonBody,
        prepare: impl FnOnce(&Service, &Caller, Value) -> Result<P> + Send + 'static,
        f: impl FnOnce(&Service, &Caller, P) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let fail = |e| ApiError::new(api, e);
        let admitted = self.admit(api, op, head)?;
        let value = body.read().await.map_err(fail)?;
        // Without a committer (the CLI's embedded server) there is no one thread to
        // unload: both parts run as one request, authenticated once.
        if self.svc.store().committer().is_none() {
            return self
                .exec_admitted(api, op, admitted, Mode::Commit, move |svc, c| {
                    f(svc, c, prepare(svc, c, value)?)
                })
                .await;
        }
        let prepared = prepare(&self.svc, &admitted.caller, value).map_err(fail)?;
        self.exec_admitted(api, op, admitted, Mode::Commit, move |svc, c| {
            f(svc, c, prepared)
        })
        .await
    }

    async fn exec<T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
        mode: Mode,
        f: impl FnOnce(&Service, &Caller) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let admitted = self.admit(api, op, head)?;
        self.exec_admitted(api, op, admitted, mode, f).await
    }

    /// Authenticates a request from its headers, counts it against its rate limit (by
    /// its client when the token is valid, else by the address it came from, so that
    /// made-up tokens neither escape the limit nor use up a real client's), and
    /// authorizes it for `op`.
    fn admit(
        &self,
        api: Api,
        op: Operation,
        head: &Head,
    ) -> std::result::Result<Admitted, ApiError> {
        let by_addr = |e: Error| {
            self.limit(api, Key::Addr(head.peer))?;
            Err(ApiError::new(api, e))
        };
        let token = match bearer(head) {
            Ok(t) => t,
            Err(e) => return by_addr(e),
        };
        let caller = if self.embedded_root && token.is_none() {
            self.svc.root_caller()
        } else {
            self.svc.authenticate(token.as_deref())
        };
        match caller {
            Ok(caller) => {
                super::note_caller(&caller.client.urn);
                self.limit(api, Key::Client(&caller.client.urn))?;
                if let Err(e) = caller.authorize(op) {
                    self.denied(&caller, op, &e);
                    return Err(ApiError::new(api, e));
                }
                Ok(Admitted { token, caller })
            }
            Err(e) => by_addr(e),
        }
    }

    /// Notes a valid token's refusal for the audit log (see `crate::usage`: at most one
    /// per token per minute, written off the request path).
    fn denied(&self, caller: &Caller, op: Operation, e: &Error) {
        if let Error::Forbidden(why) = e {
            self.svc
                .note_denied(caller, op.kind(), &format!("{op:?}"), why);
        }
    }

    fn limit(&self, api: Api, key: Key<'_>) -> std::result::Result<(), ApiError> {
        match &self.limiter {
            Some(l) => l
                .check(key)
                .map_err(|retry_after| ApiError::new(api, Error::RateLimited { retry_after })),
            None => Ok(()),
        }
    }

    /// Runs `f` for an admitted request where `mode` says.
    async fn exec_admitted<T: Send + 'static>(
        &self,
        api: Api,
        op: Operation,
        admitted: Admitted,
        mode: Mode,
        f: impl FnOnce(&Service, &Caller) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let svc = self.svc.clone();
        // In-process, one request runs at a time on the CLI's own thread: handing it to
        // another thread would only add a switch. A server runs writes on its store's
        // committer, and keeps its workers free for anything longer than a single-object
        // read.
        let committer = match mode {
            Mode::Commit => self.svc.store().committer(),
            Mode::Inline | Mode::Blocking => None,
        };
        let result = if let Some(c) = committer {
            // A write queues behind others, any of which may take this caller's rights
            // away: it authenticates again on the committer, where nothing runs between
            // that check and its own writes.
            let embedded_root = self.embedded_root && admitted.token.is_none();
            let token = admitted.token;
            c.submit(move || {
                let caller = if embedded_root {
                    svc.root_caller()?
                } else {
                    svc.authenticate(token.as_deref())?
                };
                caller.authorize(op)?;
                f(&svc, &caller)
            })
            .await
        } else if self.embedded_root || mode == Mode::Inline {
            f(&svc, &admitted.caller)
        } else {
            let caller = admitted.caller;
            tokio::task::spawn_blocking(move || f(&svc, &caller))
                .await
                .map_err(|e| Error::Internal(format!("a request task failed: {e}")))
                .and_then(|r| r)
        };
        result.map_err(|e| ApiError::new(api, e))
    }
}

/// A JSON request body, not yet read: handlers read it ([`JsonBody::read`]) only once
/// the caller has been admitted from the headers. What the headers already show to be
/// wrong (a declared length over [`MAX_BODY`], another content type) is kept for then, so
/// that a request without a valid token gets 401 before its body is judged.
pub(crate) struct JsonBody {
    early: Option<Error>,
    body: Body,
}

fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let ct = ct
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // curl's `--data` sends form encoding, and seed 001's calls rely on it carrying JSON.
    ct == "application/json"
        || ct.ends_with("+json")
        || ct == "application/x-www-form-urlencoded"
        || ct == "text/json"
        || ct == "*/*"
        || ct.is_empty()
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Infallible;

    async fn from_request(req: Request, _: &S) -> std::result::Result<Self, Infallible> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let early = if declared.is_some_and(|n| n > MAX_BODY) {
            Some(Error::TooLarge(MAX_BODY))
        } else if !json_content_type(req.headers()) {
            Some(Error::BadRequest(
                "the body must be JSON: send `Content-Type: application/json`".into(),
            ))
        } else {
            None
        };
        Ok(JsonBody {
            early,
            body: req.into_body(),
        })
    }
}

impl JsonBody {
    /// Reads the body up to [`MAX_BODY`] and parses it: 413 only when it is really too
    /// large; a body that breaks HTTP framing (a malformed chunk) is a 400 like any other
    /// bad body. (`baack serve` closes a connection whose body is late: see
    /// `server::serve`.)
    async fn read(self) -> Result<Value> {
        use http_body_util::BodyExt;
        if let Some(e) = self.early {
            return Err(e);
        }
        // Frames are copied into one buffer once there is more than one: each frame is a
        // slice of the connection's read buffer, and keeping a trickled body's many small
        // frames would keep as many of those buffers (kilobytes each) alive per request.
        let mut body = self.body;
        let mut first: Option<bytes::Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        let mut len = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                Error::BadRequest(format!(
                    "the request body could not be read: {e}; send it whole, with a correct \
                     Content-Length or chunked encoding"
                ))
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            len += data.len();
            if len > MAX_BODY {
                return Err(Error::TooLarge(MAX_BODY));
            }
            match first.take() {
                None if joined.is_empty() => first = Some(data),
                held => {
                    if let Some(f) = held {
                        joined.extend_from_slice(&f);
                    }
                    joined.extend_from_slice(&data);
                }
            }
        }
        let bytes = first.unwrap_or_else(|| joined.into());
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::BadRequest(format!("the body is not valid JSON: {e}")))
    }
}

pub(super) type Params = Query<Vec<(String, String)>>;

/// An answer of `status` with `body` as JSON.
pub(super) fn reply(status: StatusCode, body: impl Serialize) -> Response {
    (status, Json(body)).into_response()
}

pub(super) fn with_header(mut r: Response, name: HeaderName, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
    r
}

pub(super) fn deleted(urn: &str) -> Response {
    reply(
        StatusCode::OK,
        status_body(StatusCode::OK, "DELETE_SUCCESS", Some(urn)),
    )
}

/// The OpenAPI document: built once, served with an `ETag`, and 304 to a client that
/// has it already.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    tag = super::openapi::BAACK,
    summary = "This document",
    params(("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags already held (or *); the current one is 304 with no body")),
    responses((status = 200, description = "Success", body = super::openapi::Any, headers(("ETag" = String, description = "The document's version, for If-None-Match"))), (status = 304, description = "Not modified: the ETag sent is the current one", headers(("ETag" = String, description = "The document's version")))),
    security(),
)]
pub(crate) async fn openapi(h: HeaderMap) -> Response {
    let (bytes, etag) = super::openapi::served();
    let has_it = h
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let mut r = if has_it {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes.clone(),
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

pub(crate) async fn no_route(uri: Uri) -> Response {
    let err = Error::NotFound(format!("no such endpoint {}", uri.path()));
    ApiError::new(Api::of_path(uri.path()), err).into_response()
}

/// 405, in the shape of the API of the path (axum adds `Allow`).
pub(crate) async fn no_method(uri: Uri, req: Request<Body>) -> Response {
    let detail = format!("{} is not allowed on {}", req.method(), uri.path());
    let s = StatusCode::METHOD_NOT_ALLOWED;
    match Api::of_path(uri.path()) {
        Api::Baack => reply(s, status_body(s, "METHOD_NOT_ALLOWED", Some(&detail))),
        Api::OAuth => reply(
            s,
            sailpoint_body(
                "405 Method Not Allowed",
                "The request method is not supported by the target resource.",
                &[detail],
            ),
        ),
    }
}
