//! The API client: one `send` over two transports. `Remote` speaks HTTPS to a
//! Baack-compatible API with reqwest (retries with backoff and jitter, honouring
//! `Retry-After`, all within one time budget); `Embedded` hands the very same request to
//! the server's router in-process, so both modes share routing, status codes, errors and
//! JSON. Each request and answer is a `tracing` DEBUG event of target `baack::client` (the
//! CLI's `-v` lines), which never holds a secret; a retry is told to the callback a caller
//! installs with [`Client::on_retry`], as the library never prints.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use tracing::debug;

use crate::clock::SystemClock;
use crate::error::{Error, Result};
use crate::server::{self, ErrorDetail};
use crate::service::Service;
use crate::store::Store;

/// The content type of a form body.
const FORM: &str = "application/x-www-form-urlencoded";

/// Where requests go.
#[derive(Clone)]
pub enum Transport {
    /// A remote API at `base` (no trailing slash), authenticating with `token`.
    Remote {
        /// The base URL.
        base: String,
        /// The bearer token, if any.
        token: Option<String>,
        /// The HTTP client.
        http: reqwest::Client,
    },
    /// The router over a local store, in-process, acting as the root client.
    Embedded(Router),
}

/// How patient the client is.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The budget of everything the client sends, counted from its creation: every
    /// attempt, retry and backoff wait of every request. A CLI command makes one client,
    /// so `--timeout 3s` bounds the whole command (a per-attempt timeout would let four
    /// attempts take four times as long, plus the waits).
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(30),
            retries: 3,
        }
    }
}

/// An answer: status, the headers a caller may need, and the JSON body (`Null` if none).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The path and query, starting with `/`.
    pub path: String,
    /// The JSON body.
    pub body: Option<Value>,
    /// A form body instead (`application/x-www-form-urlencoded`, already encoded): what
    /// the OAuth token endpoint reads. It may hold a client secret, so like every body it
    /// is never logged.
    pub form: Option<String>,
    /// Extra headers (`If-Match`, a patch content type).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl Call {
    /// A call without a body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            body: None,
            form: None,
            headers: Vec::new(),
        }
    }
    /// With a JSON body.
    pub fn body(mut self, v: Value) -> Self {
        self.body = Some(v);
        self
    }
    /// With a form body of `pairs`.
    pub fn form<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.extend_pairs(pairs);
        self.form = Some(f.finish());
        self
    }
    /// With a header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A retry about to happen, for a caller that shows it: `Display` reads
/// `retrying in 2s after 503 (attempt 2/4)`.
#[derive(Debug, Clone)]
pub struct Retrying {
    /// How long the client waits first.
    pub wait: Duration,
    /// What failed: a status (`503`) or `a timeout`, `a failed connection`.
    pub after: String,
    /// The attempt about to be made, from 2.
    pub attempt: u32,
    /// How many attempts the policy allows in all.
    pub attempts: u32,
}

impl std::fmt::Display for Retrying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "retrying in {} after {} (attempt {}/{})",
            seconds(self.wait),
            self.after,
            self.attempt,
            self.attempts
        )
    }
}

/// A duration as people read it in one line: `2s`, `0.4s`, `12s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{}s", s.round())
    } else {
        let t = format!("{s:.1}");
        format!("{}s", t.strip_suffix(".0").unwrap_or(&t))
    }
}

/// The longest budget a client counts: a year is as good as for ever to a command.
const MAX_BUDGET: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a caller does on each retry.
type OnRetry = Arc<dyn Fn(&Retrying) + Send + Sync>;

/// The client.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    policy: Policy,
    rt: Arc<tokio::runtime::Runtime>,
    /// When the policy's budget runs out.
    deadline: Instant,
    /// Whether each request gets the whole budget anew (see [`Client::per_request`]).
    per_request: bool,
    on_retry: Option<OnRetry>,
}

enum Attempt {
    Done(Reply),
    /// Retry after this long (a `Retry-After`), or after the backoff when `None`.
    Retry(Option<Duration>, Error),
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

/// Parses `Retry-After`: delta seconds or an HTTP date.
pub fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn backoff(attempt: u32) -> Duration {
    // 250 ms doubling, capped at 8 s, with ±50% jitter so many clients do not retry in step.
    let base = 250u64.saturating_mul(1 << attempt.min(5)).min(8000);
    let jitter = rand::random_range(0.5..1.5);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// The error an API answered, in either shape, as the library's error.
pub fn error_from_reply(r: &Reply) -> Error {
    let b = &r.body;
    let retry_after = r
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()))
        .map(|d| d.as_secs());
    let (code, message) = if let Some(api_code) = b.get("apiCode").and_then(Value::as_str) {
        let detail = b.get("detail").and_then(Value::as_str);
        (
            api_code.to_string(),
            match detail {
                Some(d) => format!("{api_code}: {d}"),
                // Baack hides whether a thing exists from a token without the permission.
                None if api_code == "NOT_FOUND" => "NOT_FOUND: no such object, or this token lacks the permission to see it; check `baack whoami`".to_string(),
                None => api_code.to_string(),
            },
        )
    } else if let Some(dc) = b.get("detailCode").and_then(Value::as_str) {
        let texts = |k: &str| -> Vec<String> {
            b.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.get("text").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut parts = texts("causes");
        if parts.is_empty() {
            parts = texts("messages");
        }
        (dc.to_string(), format!("{dc}: {}", parts.join("; ")))
    } else if let (Some(e), Some(d)) = (
        b.get("error").and_then(Value::as_str),
        b.get("error_description").and_then(Value::as_str),
    ) {
        // RFC 6749 section 5.2, from the token and introspection endpoints.
        (e.to_string(), format!("{e}: {d}"))
    } else if let Some(e) = b.get("error").and_then(Value::as_str) {
        ("UNAUTHORIZED".into(), format!("UNAUTHORIZED: {e}"))
    } else if let Some(m) = b.get("message").and_then(Value::as_str) {
        (r.status.as_u16().to_string(), m.trim().to_string())
    } else {
        (
            r.status.as_u16().to_string(),
            format!("the server answered {}", r.status),
        )
    };
    Error::Remote {
        status: r.status.as_u16(),
        code,
        message,
        retry_after,
    }
}

impl Client {
    /// A client of the remote API at `base`.
    pub fn remote(base: &str, token: Option<String>, policy: Policy) -> Result<Client> {
        // Capped, so that no `--timeout` can overflow the clock.
        let deadline = Instant::now() + policy.timeout.min(MAX_BUDGET);
        // No client-wide timeout: each attempt gets what is left of the budget.
        let http = reqwest::Client::builder()
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("baack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "the API URL `{base}` must start with https:// (or http://)"
            )));
        }
        Ok(Client {
            transport: Transport::Remote { base, token, http },
            policy,
            rt: Arc::new(runtime()?),
            deadline,
            per_request: false,
            on_retry: None,
        })
    }

    /// A client of the local store, in-process, acting as its root client.
    pub fn embedded(store: Store) -> Result<Client> {
        let svc = Arc::new(Service::new(store, Arc::new(SystemClock)));
        let router = server::router(
            svc,
            server::Options {
                rate_limit: None,
                // The CLI's `-v` shows the requests it sends; the in-process server's
                // own events would repeat them.
                request_log: false,
                embedded_root: true,
                documented_only: false,
            },
        );
        let policy = Policy::default();
        Ok(Client {
            transport: Transport::Embedded(router),
            policy,
            rt: Arc::new(runtime()?),
            deadline: Instant::now() + policy.timeout.min(MAX_BUDGET),
            per_request: false,
            on_retry: None,
        })
    }

    /// This client with the budget counted per request, and at least `retries` retries:
    /// for a command of thousands of requests (`apply`, `plan`, `export`), which a
    /// whole-command budget would cut short, and which a rate limit will slow but must
    /// not stop.
    pub fn per_request(mut self, retries: u32) -> Self {
        self.per_request = true;
        self.policy.retries = self.policy.retries.max(retries);
        self
    }

    /// Calls `f` before each retry's wait (the CLI prints it on stderr).
    pub fn on_retry(mut self, f: impl Fn(&Retrying) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(f));
        self
    }

    /// Sends `call`, retrying what is safe to retry; a non-2xx answer is an error.
    pub fn send(&self, call: &Call) -> Result<Reply> {
        let r = self.send_raw(call)?;
        if r.status.is_success() {
            Ok(r)
        } else {
            Err(error_from_reply(&r))
        }
    }

    /// Sends `call` and returns whatever status came back (after retries), within what
    /// is left of the policy's budget: an attempt may take only that long, and a retry
    /// whose wait would outlast it is not made.
    pub fn send_raw(&self, call: &Call) -> Result<Reply> {
        let attempts = self.policy.retries.saturating_add(1);
        let deadline = if self.per_request {
            Instant::now() + self.policy.timeout.min(MAX_BUDGET)
        } else {
            self.deadline
        };
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rt.block_on(self.attempt(call, left))? {
                Attempt::Done(r) => return Ok(r),
                Attempt::Retry(wait, err) => {
                    let asked = wait.is_some();
                    let wait = wait
                        .unwrap_or_else(|| backoff(attempt - 1))
                        .min(Duration::from_secs(60));
                    let left = deadline.saturating_duration_since(Instant::now());
                    let tried = match attempt {
                        1 => "after 1 attempt".to_string(),
                        n => format!("after {n} attempts"),
                    };
                    if attempt >= attempts {
                        return Err(gave_up(err, &tried));
                    }
                    if wait >= left {
                        let why = if asked {
                            format!(
                                "{tried}: the server asked for a wait of {}, past the {} budget (--timeout)",
                                seconds(wait),
                                seconds(self.policy.timeout)
                            )
                        } else {
                            format!(
                                "{tried}, within the {} budget (--timeout)",
                                seconds(self.policy.timeout)
                            )
                        };
                        return Err(gave_up(err, &why));
                    }
                    attempt += 1;
                    if let Some(f) = &self.on_retry {
                        f(&Retrying {
                            wait,
                            after: failure_name(&err),
                            attempt,
                            attempts,
                        });
                    }
                    std::thread::sleep(wait);
                }
            }
        }
    }

    async fn attempt(&self, call: &Call, left: Duration) -> Result<Attempt> {
        match &self.transport {
            Transport::Embedded(router) => self.embedded_attempt(router, call).await,
            Transport::Remote { base, token, http } => {
                self.remote_attempt(base, token.as_deref(), http, call, left)
                    .await
            }
        }
    }

    async fn embedded_attempt(&self, router: &Router, call: &Call) -> Result<Attempt> {
        let mut req = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(
                header::CONTENT_TYPE,
                match call.form {
                    Some(_) => FORM,
                    None => "application/json",
                },
            );
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        let body = match (&call.form, &call.body) {
            (Some(f), _) => Bytes::from(f.clone()),
            (None, Some(v)) => {
                Bytes::from(serde_json::to_vec(v).map_err(|e| Error::Internal(e.to_string()))?)
            }
            (None, None) => Bytes::new(),
        };
        let req = req
            .body(axum::body::Body::from(body))
            .map_err(|e| Error::Internal(format!("cannot build the request: {e}")))?;
        debug!("> {} {} (embedded store)", call.method, call.path);
        let start = Instant::now();
        let resp = router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| Error::Internal(format!("the embedded server failed: {e}")))?;
        let (parts, body) = resp.into_parts();
        debug!(
            "< {} ({:.1} ms)",
            parts.status,
            start.elapsed().as_secs_f64() * 1000.0
        );
        // A store failure reaches the CLI as itself (naming its file, exit 7), not as a
        // bare 500: the embedded mode has no server log to look in.
        if let Some(d) = parts.extensions.get::<ErrorDetail>()
            && matches!(
                d.kind,
                crate::ErrorKind::Unavailable | crate::ErrorKind::Internal
            )
        {
            return Err(Error::Embedded {
                kind: d.kind,
                message: d.message.clone(),
            });
        }
        let bytes = body
            .collect()
            .await
            .map_err(|e| Error::Internal(format!("cannot read the answer: {e}")))?
            .to_bytes();
        if parts.status.is_success() {
            unreadable(call, &bytes)?;
        }
        Ok(Attempt::Done(Reply {
            status: parts.status,
            headers: parts.headers,
            body: parse_body(&bytes),
        }))
    }

    async fn remote_attempt(
        &self,
        base: &str,
        token: Option<&str>,
        http: &reqwest::Client,
        call: &Call,
        left: Duration,
    ) -> Result<Attempt> {
        let url = format!("{base}{}", call.path);
        let mut req = http.request(call.method.clone(), &url).timeout(left);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        if let Some(f) = &call.form {
            req = req.header(header::CONTENT_TYPE, FORM).body(f.clone());
        } else if let Some(b) = &call.body {
            if call.headers.iter().any(|(k, _)| k == header::CONTENT_TYPE) {
                req = req.body(serde_json::to_vec(b).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                req = req.json(b);
            }
        }
        debug!(
            "> {} {url}{}",
            call.method,
            if token.is_some() {
                " (Authorization: Bearer <redacted>)"
            } else {
                ""
            }
        );
        let start = Instant::now();
        let post = call.method == Method::POST;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                debug!("< failed: {}", describe(&e));
                let err = Error::Unreachable {
                    url: base.to_string(),
                    reason: describe(&e),
                };
                // A refused connection never reached the server, so even a POST may be
                // sent again; a timeout may have been acted on, so a POST is not.
                return Ok(
                    if e.is_connect() || (!post && (e.is_timeout() || e.is_request())) {
                        Attempt::Retry(None, err)
                    } else {
                        return Err(err);
                    },
                );
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| Error::Unreachable {
            url: base.to_string(),
            reason: describe(&e),
        })?;
        debug!(
            "< {status} ({:.1} ms)",
            start.elapsed().as_secs_f64() * 1000.0
        );
        if status.is_success() {
            unreadable(call, &bytes)?;
        }
        let mut body = parse_body(&bytes);
        normalise_urn(&mut body);
        let reply = Reply {
            status,
            headers,
            body,
        };
        let retryable = match status.as_u16() {
            429 => true,
            502..=504 => !post,
            _ => false,
        };
        if retryable {
            let wait = reply
                .header("retry-after")
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            let err = error_from_reply(&reply);
            return Ok(Attempt::Retry(wait, err));
        }
        Ok(Attempt::Done(reply))
    }

    /// Every item of a Baack list, following `nextPage` to the end.
    pub fn list_all(&self, path: &str, key: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        self.for_each_page(path, key, |items| out.extend(items))?;
        Ok(out)
    }

    /// A Baack list page by page, following `nextPage`, handing each page to `each` and
    /// keeping none (ten thousand clients are never held as JSON all at once).
    pub fn for_each_page(
        &self,
        path: &str,
        key: &str,
        mut each: impl FnMut(Vec<Value>),
    ) -> Result<()> {
        let mut next = Some(path.to_string());
        while let Some(p) = next.take() {
            let mut body = self.send(&Call::new(Method::GET, p))?.body;
            next = body
                .get("nextPage")
                .and_then(Value::as_str)
                .map(str::to_string);
            match body.get_mut(key).map(Value::take) {
                Some(Value::Array(items)) => each(items),
                _ => {
                    return Err(Error::Internal(format!(
                        "the list answer has no `{key}` array"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What failed, in the words of a retry line: the status, or the kind of failure.
fn failure_name(e: &Error) -> String {
    match e {
        Error::Remote { status, .. } => status.to_string(),
        Error::Unreachable { reason, .. } if reason.starts_with("timed out") => "a timeout".into(),
        Error::Unreachable { reason, .. } if reason.starts_with("connection failed") => {
            "a failed connection".into()
        }
        _ => "a failed request".into(),
    }
}

/// The last error of a request given up on, saying how it was tried.
fn gave_up(e: Error, how: &str) -> Error {
    e.map_message(|m| format!("{m} (gave up {how})"))
}

/// What a reqwest error was, without the URL's query or anything secret.
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// An error when `bytes`, a success's body, is not empty and not JSON: what the call did
/// ("created", "changed", "deleted") is told, with the raw body under `-v` unless the
/// answer may hold a secret (a POST other than an API client's or a role's: a token's,
/// an OAuth client's), so that no placeholder is ever printed for what was lost.
fn unreadable(call: &Call, bytes: &[u8]) -> Result<()> {
    let why = match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        _ if bytes.is_empty() => return Ok(()),
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let path = call.path.split('?').next().unwrap_or_default();
    let secretless = ["/n/v1/apiclient/", "/n/v1/permissionrole", "/n/v1/role"]
        .iter()
        .any(|p| path.starts_with(p));
    if call.method != Method::POST || secretless {
        debug!(
            "< the body that could not be read: {}",
            String::from_utf8_lossy(bytes)
        );
    } else {
        debug!(
            "< the body that could not be read is not shown: the answer to this POST may hold a secret"
        );
    }
    let done = match call.method {
        Method::POST => "created",
        Method::PUT | Method::PATCH => "changed",
        Method::DELETE => "deleted",
        _ => "answered",
    };
    let check = match call.method {
        Method::GET => "run with -v to see the body",
        _ => "read the object back before trying again (run with -v to see the body)",
    };
    Err(Error::Answer(format!(
        "{done}, but the answer could not be read ({} {path}: the body is not JSON: {why}); {check}",
        call.method
    )))
}

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// Normalises a response object so `"Urn"` reads as `"urn"`, at any depth: some Baack
/// deployments spell it so (seed 001). Recursive, over a response that serde_json parsed
/// (at most 128 levels deep).
pub fn normalise_urn(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(u) = o.remove("Urn") {
                o.entry("urn").or_insert(u);
            }
            for x in o.values_mut() {
                normalise_urn(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise_urn),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_retry_line_reads_as_people_say_it() {
        let r = Retrying {
            wait: Duration::from_millis(2000),
            after: "503".into(),
            attempt: 2,
            attempts: 4,
        };
        assert_eq!(r.to_string(), "retrying in 2s after 503 (attempt 2/4)");
        assert_eq!(seconds(Duration::from_millis(420)), "0.4s");
        assert_eq!(seconds(Duration::from_millis(12_400)), "12s");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= Duration::from_millis(375));
        assert!(backoff(10) <= Duration::from_millis(12_000));
    }

    #[test]
    fn urn_spelling_is_normalised() {
        let mut v = json!({"Urn": "a", "apiClient": {"Urn": "b"}, "list": [{"Urn": "c"}]});
        normalise_urn(&mut v);
        assert_eq!(
            v,
            json!({"urn": "a", "apiClient": {"urn": "b"}, "list": [{"urn": "c"}]})
        );
    }

    #[test]
    fn both_error_shapes_become_messages() {
        let r = Reply {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
            body: json!({"httpCode": 404, "apiCode": "NOT_FOUND", "detail": "no API client x"}),
        };
        assert_eq!(
            error_from_reply(&r).to_string(),
            "NOT_FOUND: no API client x"
        );
        let r = Reply {
            status: StatusCode::BAD_REQUEST,
            headers: HeaderMap::new(),
            body: json!({"detailCode": "400.1 Bad Request Content", "causes": [{"text": "name is required"}]}),
        };
        let e = error_from_reply(&r);
        assert_eq!(e.kind(), crate::ErrorKind::Invalid);
        assert!(e.to_string().contains("name is required"));
    }
}
