//! `baack serve`: the store over HTTP, with a log event per request and a graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use baack::Error;
use baack::clock::SystemClock;
use baack::server::{self, Options, RateLimit};
use baack::service::Service;
use clap::Args;

use super::config::Config;
use super::logging::{self, LogFormat};
use super::output::{Failure, NewSecret, Printer, deliver_or_undo};
use super::{Global, local_store, open_or_init_store};

/// `baack serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Requests allowed per token: N/SECONDS, or off
    #[arg(long, default_value = "100/10", value_name = "N/SECS|off")]
    pub rate_limit: String,

    /// Cut off a client that takes longer than this to send a request's headers (or
    /// sends nothing on a kept-alive connection for as long)
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_header_timeout)]
    pub header_timeout: Duration,

    /// Close the connection of a request whose whole body has not arrived this long after
    /// its headers
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_body_timeout)]
    pub body_timeout: Duration,

    /// Connections served at once; more wait to be accepted [default: from the file
    /// descriptor limit, see README]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// How the log on stderr is written: one event per request (method, route, path,
    /// status, ms, the caller's URN; never a token or a query), warnings, and each 5xx's
    /// cause under its trackingId. BAACK_LOG chooses the events, in EnvFilter syntax
    /// [default: info]: e.g. BAACK_LOG=warn (no request lines), BAACK_LOG=baack=debug
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// How often last use and refused-request audit events are written; a crash loses
    /// at most this much of them (never anything else)
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = parse_flush)]
    pub usage_flush: Duration,

    /// Do not record last use (`lastUsed` stays as it is); refused requests are still
    /// audited
    #[arg(long)]
    pub no_last_use: bool,

    /// Serve only the operations Baack's own documentation has, without API.md's
    /// additions (see README, "Testing against the documented API")
    #[arg(long, hide = true)]
    pub documented_only: bool,
}

fn parse_body_timeout(s: &str) -> Result<Duration, String> {
    let d = super::parse_duration(s)?;
    if d.is_zero() {
        return Err("the body timeout must be longer than 0s".into());
    }
    Ok(d)
}

fn parse_flush(s: &str) -> Result<Duration, String> {
    let d = super::parse_duration(s)?;
    if d.is_zero() || d > Duration::from_secs(60) {
        return Err(
            "the flush interval must be from 1ms to 60s: last use is kept to the minute".into(),
        );
    }
    Ok(d)
}

fn parse_header_timeout(s: &str) -> Result<Duration, String> {
    let d = super::parse_duration(s)?;
    if d.is_zero() {
        return Err("the header timeout must be longer than 0s".into());
    }
    Ok(d)
}

fn parse_rate_limit(s: &str) -> Result<Option<RateLimit>, Error> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse::<RateLimit>()
        .map(Some)
        .map_err(|why| Error::invalid("--rate-limit", why))
}

/// Waits for SIGINT or SIGTERM. The handlers are installed when this is called, before
/// the server announces itself, so a signal sent the moment `listening on` appears is
/// caught rather than killing the process mid-write.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind| {
        signal(kind).map_err(|e| Error::Internal(format!("cannot install a signal handler: {e}")))
    };
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// Runs the server until a signal stops it.
pub fn run(g: &Global, out: &Printer, a: ServeArgs) -> Result<(), Failure> {
    let rate_limit = parse_rate_limit(&a.rate_limit)?;
    logging::init_serve(a.log_format)?;
    let config = Config::load()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async move {
        let stop = shutdown_signal()?;
        // Listen before anything is created: a port that is taken must leave no new store
        // behind, and print no root token that nothing will ever serve.
        let listener =
            tokio::net::TcpListener::bind(a.listen)
                .await
                .map_err(|e| Error::Listen {
                    addr: a.listen.to_string(),
                    reason: e.to_string(),
                })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let (path, _) = local_store(g, &config)?;
        let (store, boot) = open_or_init_store(&path, out)?;
        // Many connections write at once here: group-commit them. Most requests read the
        // same few files: cache them, for as long as no writer anywhere has written.
        let store = store.with_group_commit()?.with_read_cache()?;
        let svc = Arc::new(Service::new(store.clone(), Arc::new(SystemClock)));
        if a.no_last_use {
            svc.usage().disable_last_use();
        }
        let flusher = tokio::spawn(server::flush_usage_every(svc.clone(), a.usage_flush));
        let flush_svc = svc.clone();
        // `--profile NAME` logs that profile in to this server, as `vault server -dev`
        // does: with the new store's root token, or else a new token of the root client.
        let login = g.profile.as_ref().map(|name| {
            (
                name.clone(),
                boot.map(|b| b.token),
                svc.store().meta().company.clone(),
            )
        });
        let login_svc = svc.clone();
        // Always called: it also raises the soft descriptor limit, which a given cap
        // needs too.
        let default_cap = server::default_max_connections();
        let listen = server::Listen {
            header_timeout: a.header_timeout,
            body_timeout: a.body_timeout,
            max_connections: a.max_connections.map_or(default_cap, |n| n as usize),
        };
        let app = server::router(
            svc,
            Options {
                rate_limit,
                request_log: true,
                embedded_root: false,
                documented_only: a.documented_only,
            },
        );
        if let Some((name, shown, owner)) = login {
            let url = format!("http://{addr}");
            let write = |token: &str| {
                super::auth::write_profile(&name, &url, token, Some(path.clone()), &owner, out)
            };
            let source = match shown {
                // Already shown on stderr: the profile is a convenience.
                Some(token) => write(&token)?,
                None => {
                    let svc = &login_svc;
                    let root = svc.root_caller()?;
                    let input = baack::model::TokenInput {
                        client: Some(root.client.urn.clone()),
                        expires: None,
                        description: None,
                        idle: None,
                        replaced_by: None,
                    };
                    let (t, token) = svc.create_token(&root, &input)?;
                    let mut source = None;
                    let new = NewSecret::new(
                        "token",
                        &t.urn,
                        format!("baack token delete {} --yes --store {}", t.urn, path.display()),
                    );
                    deliver_or_undo(
                        &new,
                        || {
                            source = Some(write(&token)?);
                            Ok(())
                        },
                        || svc.delete_token(&root, &t.urn).map(drop),
                    )?;
                    source.ok_or_else(|| Error::Internal("the profile was not written".into()))?
                }
            };
            out.note(&format!(
                "profile `{name}` now points here (token kept in {source}); the default profile is unchanged: use this one with `baack --profile {name} client list`, or make it the default with `baack auth switch {name}`"
            ));
        }
        out.note(&format!("listening on http://{addr}"));
        server::serve(listener, app, stop, listen).await;
        // Every request has been answered: what they noted is written, then the store
        // let go of before exiting.
        flusher.abort();
        server::flush_usage(&flush_svc).await;
        if let Some(c) = store.committer() {
            c.stop();
        }
        out.note("stopped");
        Ok::<(), Failure>(())
    })
}
