//! The HTTP face of the service: one axum [`Router`] speaking the Baack native API and the
//! SailPoint-style OAuth client API. `baack serve` puts it on a socket; the CLI's embedded
//! mode hands it requests in-process, so both run this one code path.

mod baack;
mod documented;
mod errors;
mod extract;
mod handlers;
mod oauth;
pub mod openapi;
mod ratelimit;
mod token;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use utoipa::openapi::path::Paths;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

pub use errors::{Api, ApiError, ErrorDetail};
pub use ratelimit::RateLimit;

use crate::service::{ExpiryRule, Service};

/// The largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a client may take to send a request's headers, by default. A client that
/// dribbles them (slowloris) is cut off after this; so is a kept-alive connection that
/// sends nothing for as long.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful stop waits for requests in flight before it gives up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How a router behaves beyond the service it serves.
#[derive(Clone, Default)]
pub struct Options {
    /// The request limit per client (per address without a valid token); `None`
    /// disables it.
    pub rate_limit: Option<RateLimit>,
    /// Emit one `tracing` event per request (see [`log_requests`]), and after a 5xx one
    /// with its trackingId and cause, to whatever subscriber the program installed.
    /// Never a secret.
    pub request_log: bool,
    /// Treat a request without `Authorization` as the root client. Only for the CLI's
    /// in-process transport, which never listens on a socket: the store keeps no root
    /// token to present, only its digest.
    pub embedded_root: bool,
    /// Serve only what Baack's own documentation has (see `documented.rs`): no list
    /// endpoints, no `clientcontext`, no `ETag`, no role `permissions`, no never-later
    /// expiry rule, `Urn` spelled so. For testing clients against a real deployment.
    pub documented_only: bool,
}

#[derive(Clone)]
pub(crate) struct AppState {
    svc: Arc<Service>,
    limiter: Option<Arc<ratelimit::Limiter>>,
    embedded_root: bool,
    /// How a token PUT treats an expiry already set: API.md's never-later rule, or (for
    /// `documented_only`) as given, as Baack's own documentation has it.
    expiry_rule: ExpiryRule,
}

/// The router over `svc`.
pub fn router(svc: Arc<Service>, opts: Options) -> Router {
    let state = AppState {
        svc,
        limiter: opts
            .rate_limit
            .map(|r| Arc::new(ratelimit::Limiter::new(r))),
        embedded_root: opts.embedded_root,
        expiry_rule: if opts.documented_only {
            ExpiryRule::AsGiven
        } else {
            ExpiryRule::NeverLater
        },
    };
    let mut r = served()
        .0
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::no_method);
    if opts.documented_only {
        r = r.layer(middleware::from_fn(documented::only_documented));
    }
    let mut r = r.with_state(state);
    if opts.request_log {
        // `Router::layer` wraps each route after routing, so the layer sees the
        // `MatchedPath` of the route that answers.
        r = r.layer(middleware::from_fn(log_requests));
    }
    r
}

/// Writes what requests noted about use (last use, refused requests: see
/// `crate::usage`) every `every`, on the store's committer when it has one, so the
/// write joins a batch instead of taking the lock in between. Runs until dropped; a
/// failed flush is logged and its data kept for the next.
pub async fn flush_usage_every(svc: Arc<Service>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once; nothing has been noted yet.
    tick.tick().await;
    loop {
        tick.tick().await;
        flush_usage(&svc).await;
    }
}

/// One flush of what requests noted about use; see [`flush_usage_every`].
pub async fn flush_usage(svc: &Arc<Service>) {
    if !svc.usage().is_pending() {
        return;
    }
    let s = svc.clone();
    let result = match svc.store().committer() {
        Some(c) => c.submit(move || s.flush_usage()).await,
        None => tokio::task::spawn_blocking(move || s.flush_usage())
            .await
            .unwrap_or_else(|e| Err(crate::Error::Internal(format!("a flush task failed: {e}")))),
    };
    match result {
        Ok(n) => tracing::debug!(records = n, "wrote last use and refused requests"),
        Err(e) => tracing::warn!(
            "could not write last use and refused requests (kept for the next try): {e}"
        ),
    }
}

/// The address a request came from, attached by [`serve`] to every request it hands the
/// router. In-process requests have none.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// How [`serve`] treats connections.
#[derive(Clone)]
pub struct Listen {
    /// How long a client may take to send a request's headers (see [`HEADER_TIMEOUT`]).
    pub header_timeout: Duration,
    /// How long a request's whole body may take to arrive, from the end of its headers;
    /// past it the connection is closed without an answer.
    pub body_timeout: Duration,
    /// Connections served at once; at the cap, no more are accepted until one ends (and
    /// a `tracing` warning says so, at most every 10 s).
    pub max_connections: usize,
}

/// The body timeout by default.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Descriptors kept back from connections for everything else the server opens: the
/// blocking pool's threads (tokio's default maximum, 512) each read at most one store file
/// at a time; add 64 for the long-lived ones (the store's lock and counter files, the
/// committer's, stdio, the listener, epoll).
const FD_RESERVE: u64 = 512 + 64;

/// Connections at most by default, whatever the descriptor limit: past this, memory per
/// connection (buffers, a task) matters more than descriptors.
const MAX_CONNECTIONS_CEILING: u64 = 16_384;

/// Raises this process's soft descriptor limit to its hard limit (as servers such as
/// nginx and Go's runtime do: the soft limit of 1,024 that many shells start with is a
/// historical default, not a policy), and returns the default connection cap derived from
/// the limit in force: `limit - min(limit / 2, FD_RESERVE)`, at most
/// `MAX_CONNECTIONS_CEILING`. So 1,024 descriptors allow 512 connections; 20,000 allow
/// 16,384; the rest always stays for the store.
pub fn default_max_connections() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let raised = rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            lim = getrlimit(Resource::Nofile);
        }
    }
    connections_for(lim.current.unwrap_or(u64::MAX))
}

fn connections_for(nofile: u64) -> usize {
    let cap = nofile.saturating_sub((nofile / 2).min(FD_RESERVE));
    usize::try_from(cap.clamp(1, MAX_CONNECTIONS_CEILING)).unwrap_or(1)
}

/// How often, at most, the log says the connection cap was reached.
const CAP_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` over HTTP/1.1 until `shutdown` completes; then stops
/// accepting, lets the requests in flight finish (closing idle connections at once), and
/// returns.
///
/// Not `axum::serve`, which has no header-read timeout, no body deadline and no
/// connection cap: a client that sends its request headers slowly is cut off once
/// `header_timeout` has passed since it began the request (or since its previous answer,
/// on a kept-alive connection); one whose body has not all arrived `body_timeout` after its
/// headers is disconnected; and at `max_connections` the listener is left alone (the
/// kernel's backlog holds new connections) until a connection ends, so that slow clients
/// cannot take every file descriptor the store needs.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    cfg: Listen,
) {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use tokio::sync::{Notify, Semaphore};
    use tower::ServiceExt;

    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_timeout);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let mut last_cap_log: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if last_cap_log.is_none_or(|t| t.elapsed() >= CAP_LOG_EVERY) {
                    last_cap_log = Some(Instant::now());
                    tracing::warn!(
                        "connection limit reached: {} connections open (--max-connections); \
                         new connections wait until one closes",
                        cfg.max_connections
                    );
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                // Out of descriptors, or a connection reset before it was accepted:
                // pause a moment rather than spin, and keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Set when a body misses its deadline: the connection is then dropped, which
        // closes it, with no answer (API.md "Limits").
        let late = Arc::new(Notify::new());
        let body_timeout = cfg.body_timeout;
        let late_body = late.clone();
        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let deadline = tokio::time::Instant::now() + body_timeout;
            let late = late_body.clone();
            let mut req =
                req.map(|b| axum::body::Body::new(deadline::Deadline::new(b, deadline, late)));
            req.extensions_mut().insert(Peer(peer));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
        // A connection's error (a timeout, a reset) ends that connection only.
        tokio::spawn(async move {
            let _slot = permit;
            tokio::select! {
                _ = conn => {}
                () = late.notified() => {}
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

mod deadline {
    //! A request body that must have arrived whole by a deadline.

    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use hyper::body::{Body, Frame, Incoming, SizeHint};
    use tokio::sync::Notify;
    use tokio::time::{Instant, Sleep};

    pub(super) struct Deadline {
        inner: Incoming,
        deadline: Instant,
        /// Made on the first read, so that a body no one reads (a GET's, or one refused
        /// from the headers) costs no timer.
        sleep: Option<Pin<Box<Sleep>>>,
        late: Arc<Notify>,
    }

    impl Deadline {
        pub(super) fn new(inner: Incoming, deadline: Instant, late: Arc<Notify>) -> Self {
            Deadline {
                inner,
                deadline,
                sleep: None,
                late,
            }
        }
    }

    impl Body for Deadline {
        type Data = Bytes;
        type Error = hyper::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
            let this = &mut *self;
            if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
                return Poll::Ready(frame);
            }
            let deadline = this.deadline;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.as_mut().poll(cx).is_ready() {
                // Never answer: the connection's task drops the connection (and with it
                // this request) as soon as it hears of it.
                this.late.notify_one();
            }
            Poll::Pending
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> SizeHint {
            self.inner.size_hint()
        }
    }
}

/// Every (method, path) the router serves, as registered.
pub fn route_list() -> Vec<(Method, &'static str)> {
    served().1
}

tokio::task_local! {
    /// The URN of the client a request was admitted as, set by [`note_caller`] while
    /// [`log_requests`] runs the request. A task-local rather than a span field: the
    /// request's one event is emitted flat, with no span to create, format and drop.
    static CALLER: std::cell::RefCell<Option<String>>;
}

/// Records that the request being served authenticated as the client `urn`, for its log
/// event. Without the request log (the CLI's in-process router) it does nothing.
pub(crate) fn note_caller(urn: &str) {
    let _ = CALLER.try_with(|c| *c.borrow_mut() = Some(urn.to_string()));
}

/// Emits one event per request: method, matched route, path, status, milliseconds and,
/// when it was authenticated, the calling client's URN; after a 5xx, an error with its
/// trackingId and cause. Never a header, a query string or a body: tokens travel in
/// headers, and a query is not worth the risk.
async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let start = Instant::now();
    let (resp, caller) = CALLER
        .scope(std::cell::RefCell::new(None), async {
            let resp = next.run(req).await;
            (
                resp,
                CALLER.try_with(|c| c.borrow_mut().take()).ok().flatten(),
            )
        })
        .await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method = %method,
        route = route.as_ref().map(|r| tracing::field::display(r.as_str())),
        path = %uri.path(),
        status = resp.status().as_u16(),
        // Microseconds are enough, and a short number reads better.
        ms = (ms * 1000.0).round() / 1000.0,
        client = caller.as_deref().map(tracing::field::display),
        "request"
    );
    // A 5xx's cause, under the trackingId its body shows.
    errors::log_fault(&resp);
    resp
}

/// The documentation of the routes: utoipa-axum's [`OpenApiRouter`] takes each handler's
/// path, methods and operation from its `#[utoipa::path]` attribute, and [`Routes::add`]
/// copies them to every further spelling of the path.
struct Routes {
    router: OpenApiRouter<AppState>,
}

impl Routes {
    /// Documents the operations of `ops` (one path, from their attributes) at every
    /// spelling of `spellings`, the first being the attributes' own. The Nth further
    /// spelling's operations are `<operationId>AliasN`.
    fn add(
        mut self,
        spellings: &'static [&'static str],
        ops: UtoipaMethodRouter<AppState>,
    ) -> Self {
        let (schemas, paths, method_router) = ops;
        let mut aliased = Paths::new();
        for (path, item) in paths.paths {
            debug_assert_eq!(spellings.first(), Some(&path.as_str()), "{path}");
            for (n, spelling) in spellings.iter().enumerate() {
                let mut item = item.clone();
                if n > 0 {
                    for op in openapi::operations_mut(&mut item) {
                        op.operation_id = op.operation_id.take().map(|id| format!("{id}Alias{n}"));
                    }
                }
                aliased.paths.insert(spelling.to_string(), item);
            }
        }
        self.router = self.router.routes((schemas, aliased, method_router));
        self
    }

    fn into_openapi(self) -> utoipa::openapi::OpenApi {
        self.router.into_openapi()
    }
}

/// The collection paths of roles (with its alias), and so on: each list is every spelling
/// one operation answers to, the first being the one its attribute names.
const OPENAPI: &[&str] = &["/openapi.json"];
const CONTEXT: &[&str] = &["/n/v1/clientcontext"];
const COMPANIES: &[&str] = &["/n/v1/companies"];
const COMPANY: &[&str] = &["/n/v1/company/{urn}"];
const CLIENTS: &[&str] = &["/n/v1/apiclient/", "/n/v1/apiclient"];
const CLIENT: &[&str] = &["/n/v1/apiclient/{urn}"];
const TOKENS: &[&str] = &["/n/v1/apiclientbearertoken/", "/n/v1/apiclientbearertoken"];
const TOKEN: &[&str] = &["/n/v1/apiclientbearertoken/{urn}"];
const AUDITS: &[&str] = &["/n/v1/auditevent/", "/n/v1/auditevent"];
const AUDIT: &[&str] = &["/n/v1/auditevent/{urn}"];
const ROLES: &[&str] = &[
    "/n/v1/permissionrole/",
    "/n/v1/permissionrole",
    "/n/v1/role/",
    "/n/v1/role",
];
const ROLE: &[&str] = &["/n/v1/permissionrole/{urn}", "/n/v1/role/{urn}"];
/// The OAuth client API at v3 (first), its unversioned and beta aliases, SailPoint's
/// current per-resource `/oauth-clients/v1` and the dated versions (API.md "OAuth routes").
/// New spellings go last, so that the existing ones keep their `AliasN` operation ids.
/// `/oauth-clients/v1` is a static segment, which the router prefers to
/// `/oauth-clients/{id}`: `v1` is never read as an id.
const OAUTHS: &[&str] = &[
    "/v3/oauth-clients",
    "/oauth-clients",
    "/beta/oauth-clients",
    "/oauth-clients/v1",
    "/v2024/oauth-clients",
    "/v2025/oauth-clients",
    "/v2026/oauth-clients",
];
const OAUTH: &[&str] = &[
    "/v3/oauth-clients/{id}",
    "/oauth-clients/{id}",
    "/beta/oauth-clients/{id}",
    "/oauth-clients/v1/{id}",
    "/v2024/oauth-clients/{id}",
    "/v2025/oauth-clients/{id}",
    "/v2026/oauth-clients/{id}",
];
const OAUTH_TOKEN: &[&str] = &["/oauth/token"];
const OAUTH_INTROSPECT: &[&str] = &["/oauth/introspect"];
const JWKS: &[&str] = &["/.well-known/jwks.json"];
const DISCOVERY: &[&str] = &["/.well-known/openid-configuration"];
const OAUTH_SECRET: &[&str] = &[
    "/v3/oauth-clients/{id}/secret",
    "/oauth-clients/{id}/secret",
    "/beta/oauth-clients/{id}/secret",
];

/// Every operation at every spelling of its path: the one list that both the router
/// ([`served`]) and the document ([`documented`]) are made from, so that no route is
/// served undocumented. `$add!(SPELLINGS: module::handler, …)` takes the handlers of one
/// path.
macro_rules! operations {
    ($add:ident) => {
        $add!(OPENAPI: handlers::openapi);
        $add!(CONTEXT: baack::client_context);
        $add!(COMPANIES: baack::companies);
        $add!(COMPANY: baack::company);
        $add!(CLIENTS: baack::client_create, baack::client_list);
        $add!(CLIENT: baack::client_get, baack::client_update, baack::client_delete);
        $add!(TOKENS: baack::token_create, baack::token_list);
        $add!(TOKEN: baack::token_get, baack::token_update, baack::token_delete);
        $add!(AUDITS: baack::audit_list);
        $add!(AUDIT: baack::audit_get);
        $add!(ROLES: baack::role_create, baack::role_list);
        $add!(ROLE: baack::role_get, baack::role_update, baack::role_delete);
        $add!(OAUTHS: oauth::oauth_create, oauth::oauth_list);
        $add!(OAUTH: oauth::oauth_get, oauth::oauth_patch, oauth::oauth_delete);
        $add!(OAUTH_SECRET: oauth::oauth_rotate_secret);
        $add!(OAUTH_TOKEN: token::oauth_token);
        $add!(OAUTH_INTROSPECT: token::oauth_introspect);
        $add!(JWKS: token::jwks);
        $add!(DISCOVERY: token::openid_configuration);
    };
}

/// The routes and every (method, path) they answer, each handler at the methods its
/// `#[utoipa::path]` attribute names. Only the attributes' paths and methods are read,
/// not their operations: building those (every schema, pattern and alias) cost the CLI,
/// which builds a router for each command, about 2 million instructions (more than the
/// rest of a `client get`).
fn served() -> (Router<AppState>, Vec<(Method, &'static str)>) {
    use utoipa_axum::PathItemExt;
    let mut router = Router::new();
    let mut seen = Vec::new();
    macro_rules! serve {
        ($spellings:ident: $($module:ident :: $handler:ident),+) => {{
            let mut methods = axum::routing::MethodRouter::new();
            $(utoipa_axum::paste! {
                let attribute = <$module::[<__path_ $handler>] as utoipa::Path>::path;
                debug_assert_eq!(attribute(), $spellings[0]);
                for m in <$module::[<__path_ $handler>] as utoipa::Path>::methods() {
                    methods = methods.on(m.to_method_filter(), $module::$handler);
                    for spelling in $spellings {
                        seen.push((http_method(&m), *spelling));
                    }
                }
            })+
            for spelling in $spellings {
                router = router.route(spelling, methods.clone());
            }
        }};
    }
    operations!(serve);
    (router, seen)
}

/// The document of the routes [`served`] serves.
fn documented() -> Routes {
    let mut routes = Routes {
        router: OpenApiRouter::default(),
    };
    macro_rules! document {
        ($spellings:ident: $($module:ident :: $handler:ident),+) => {
            routes = routes.add($spellings, routes!($($module::$handler),+));
        };
    }
    operations!(document);
    routes
}

fn http_method(m: &utoipa::openapi::HttpMethod) -> Method {
    use utoipa::openapi::HttpMethod as H;
    match m {
        H::Get => Method::GET,
        H::Put => Method::PUT,
        H::Post => Method::POST,
        H::Delete => Method::DELETE,
        H::Options => Method::OPTIONS,
        H::Head => Method::HEAD,
        H::Patch => Method::PATCH,
        H::Trace => Method::TRACE,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_connection_cap_leaves_descriptors_for_the_store() {
        assert_eq!(super::connections_for(1024), 512);
        assert_eq!(super::connections_for(4096), 4096 - 576);
        assert_eq!(super::connections_for(1153), 1153 - 576);
        assert_eq!(super::connections_for(1151), 1151 - 575);
        assert_eq!(super::connections_for(20_000), 16_384);
        assert_eq!(super::connections_for(u64::MAX), 16_384);
        assert_eq!(super::connections_for(1), 1);
        assert_eq!(super::connections_for(0), 1);
    }
}
