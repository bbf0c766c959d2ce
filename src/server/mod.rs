//! The HTTP face of the service: one axum [`Router`] speaking the Baack native API and the
//! SailPoint-style OAuth client API. `baack serve` puts it on a socket; the CLI's embedded
//! mode hands it requests in-process, so both run this one code path.

mod errors;
mod extract;
mod handlers;
pub mod openapi;
mod ratelimit;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};

pub use errors::{Api, ApiError, ErrorDetail};
pub use ratelimit::RateLimit;

use crate::service::Service;

/// The largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a client may take to send a request's headers, by default. A client that
/// dribbles them (slowloris) is cut off after this; so is a kept-alive connection that
/// sends nothing for as long.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful stop waits for requests in flight before it gives up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Where the server writes its one line per request.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How a router behaves beyond the service it serves.
#[derive(Clone, Default)]
pub struct Options {
    /// Per-token request limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Receives one line per request (method, path, status, milliseconds), and after a
    /// 5xx one with its trackingId and cause. Never a secret.
    pub log: Option<LogFn>,
    /// Treat a request without `Authorization` as the root client. Only for the CLI's
    /// in-process transport, which never listens on a socket: the store keeps no root
    /// token to present, only its digest.
    pub embedded_root: bool,
}

#[derive(Clone)]
pub(crate) struct AppState {
    svc: Arc<Service>,
    limiter: Option<Arc<ratelimit::Limiter>>,
    embedded_root: bool,
}

/// The router over `svc`.
pub fn router(svc: Arc<Service>, opts: Options) -> Router {
    let state = AppState {
        svc,
        limiter: opts
            .rate_limit
            .map(|r| Arc::new(ratelimit::Limiter::new(r))),
        embedded_root: opts.embedded_root,
    };
    let mut r = routes()
        .into_router()
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::no_method)
        .with_state(state);
    if let Some(log) = opts.log {
        r = r.layer(middleware::from_fn_with_state(log, log_requests));
    }
    r
}

/// Serves `app` on `listener` over HTTP/1.1 until `shutdown` completes; then stops
/// accepting, lets the requests in flight finish (closing idle connections at once), and
/// returns.
///
/// Not `axum::serve`, which has no header-read timeout: a client that sends its request
/// headers slowly is cut off once `header_timeout` has passed since it began the
/// request (or since its previous answer, on a kept-alive connection).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    header_timeout: Duration,
) {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            conn = listener.accept() => match conn {
                Ok((stream, _)) => stream,
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
        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
        // A connection's error (a timeout, a reset) ends that connection only.
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Every (method, path) the router serves, as registered.
pub fn route_list() -> Vec<(Method, &'static str)> {
    routes().seen
}

async fn log_requests(State(log): State<LogFn>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // The path only: tokens travel in headers, and queries are not worth the risk.
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    log(&format!(
        "{method} {path} {} {ms:.1}ms",
        resp.status().as_u16()
    ));
    // A 5xx's cause, under the trackingId its body shows.
    if let Some(line) = errors::fault_log_line(&resp) {
        log(&line);
    }
    resp
}

/// Registers handlers and remembers each (method, path), so the OpenAPI test compares the
/// document with what is really routed.
struct Routes {
    map: BTreeMap<&'static str, MethodRouter<AppState>>,
    seen: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add<H, T>(&mut self, method: Method, paths: &[&'static str], h: H) -> &mut Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        for p in paths {
            let mr = self.map.remove(p).unwrap_or_default();
            self.map.insert(p, mr.on(filter, h.clone()));
            self.seen.push((method.clone(), p));
        }
        self
    }

    fn into_router(self) -> Router<AppState> {
        self.map
            .into_iter()
            .fold(Router::new(), |r, (p, mr)| r.route(p, mr))
    }
}

/// The collection paths of roles (with its alias), and so on: each list is every spelling
/// one operation answers to.
const CLIENTS: &[&str] = &["/n/v1/apiclient/", "/n/v1/apiclient"];
const CLIENT: &[&str] = &["/n/v1/apiclient/{urn}"];
const TOKENS: &[&str] = &["/n/v1/apiclientbearertoken/", "/n/v1/apiclientbearertoken"];
const TOKEN: &[&str] = &["/n/v1/apiclientbearertoken/{urn}"];
const ROLES: &[&str] = &[
    "/n/v1/permissionrole/",
    "/n/v1/permissionrole",
    "/n/v1/role/",
    "/n/v1/role",
];
const ROLE: &[&str] = &["/n/v1/permissionrole/{urn}", "/n/v1/role/{urn}"];
const OAUTHS: &[&str] = &["/v3/oauth-clients", "/oauth-clients", "/beta/oauth-clients"];
const OAUTH: &[&str] = &[
    "/v3/oauth-clients/{id}",
    "/oauth-clients/{id}",
    "/beta/oauth-clients/{id}",
];

fn routes() -> Routes {
    use handlers as h;
    let mut r = Routes {
        map: BTreeMap::new(),
        seen: Vec::new(),
    };
    r.add(Method::GET, &["/openapi.json"], h::openapi)
        .add(Method::GET, &["/n/v1/clientcontext"], h::client_context)
        .add(Method::GET, &["/n/v1/companies"], h::companies)
        .add(Method::GET, &["/n/v1/company/{urn}"], h::company)
        .add(Method::POST, CLIENTS, h::client_create)
        .add(Method::GET, CLIENTS, h::client_list)
        .add(Method::GET, CLIENT, h::client_get)
        .add(Method::PUT, CLIENT, h::client_update)
        .add(Method::DELETE, CLIENT, h::client_delete)
        .add(Method::POST, TOKENS, h::token_create)
        .add(Method::GET, TOKENS, h::token_list)
        .add(Method::GET, TOKEN, h::token_get)
        .add(Method::PUT, TOKEN, h::token_update)
        .add(Method::DELETE, TOKEN, h::token_delete)
        .add(Method::POST, ROLES, h::role_create)
        .add(Method::GET, ROLES, h::role_list)
        .add(Method::GET, ROLE, h::role_get)
        .add(Method::PUT, ROLE, h::role_update)
        .add(Method::DELETE, ROLE, h::role_delete)
        .add(Method::POST, OAUTHS, h::oauth_create)
        .add(Method::GET, OAUTHS, h::oauth_list)
        .add(Method::GET, OAUTH, h::oauth_get)
        .add(Method::PATCH, OAUTH, h::oauth_patch)
        .add(Method::DELETE, OAUTH, h::oauth_delete);
    r
}
