//! The command line: clap definitions (every doc comment is help text), settings resolved
//! once into a [`Ctx`], and dispatch to one module per command group.

mod access;
mod audit;
mod auth;
mod capabilities;
mod clients;
mod complete;
mod config;
mod docs;
mod expiry;
mod jq;
mod logging;
mod names;
mod oauth;
mod oauth_token;
mod output;
mod roles;
mod secret_file;
mod serve;
mod tokens;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use baack::Error;
use baack::client::{Call, Client, Policy};
use baack::store::{self, Store};
use clap::{Args, Parser, Subcommand, ValueEnum};
use http::Method;

pub use complete::{COMPLETE_VAR, SHELLS as COMPLETE_SHELLS};
#[cfg(test)]
pub use docs::{ENVIRONMENT, EXIT_STATUS};
#[cfg(test)]
pub const HELP_ENVIRONMENT: &str = ENVIRONMENT_HELP;
pub use output::Failure;
use output::{Kind, Printer};

/// The end of `baack --help`: the environment, then the exit codes (from `docs`).
const ENVIRONMENT_HELP: &str = "\
Environment:
  BAACK_API_URL           a remote Baack-compatible API (default: the local embedded store)
  BAACK_TOKEN             the bearer token for the remote API (never pass a token as a flag)
  BAACK_PROFILE           the profile to use (see `baack auth`)
  BAACK_STORE             the embedded store directory
  BAACK_CONFIG_DIR        where config.toml and credentials.toml live
  BAACK_CREDENTIAL_STORE  where `auth login` keeps tokens: keyring or file
  BAACK_OWNER             the owner company's URN for creates (see --owner)
  BAACK_KEYRING=off       never try the OS keyring
  BAACK_WARN_BEFORE       warn when the command's own token expires within this (default 7d; 0s: never)
  BAACK_LOCK_TIMEOUT      how long a write waits for the store's lock (default 10s)
  BAACK_LOG               which events `baack serve` logs, EnvFilter syntax (default info)
  NO_COLOR                no colour in tables";

/// Administer API access: API clients, bearer tokens, permission roles and OAuth clients.
///
/// With no --api-url, baack works on a local JSON file store (created on first use) as its
/// root client; `baack serve` exposes that store over HTTP.
#[derive(Debug, Parser)]
#[command(name = "baack", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, shown under their own heading in every command's help.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Which of the settings below clap took from their environment variables rather
    /// than the command line (`BAACK_STORE`, …), for messages that say where a setting
    /// came from: read off clap's matches, never guessed from argv.
    #[arg(skip)]
    pub from_env: Vec<&'static str>,

    /// The embedded store directory [default: <data dir>/baack/store]
    #[arg(long, global = true, env = "BAACK_STORE", value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// A remote Baack-compatible API; its token comes from BAACK_TOKEN or the profile
    #[arg(long, global = true, env = "BAACK_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// The profile (from config.toml) to use [default: its default_profile]
    #[arg(long, global = true, env = "BAACK_PROFILE", value_name = "NAME", add = complete::profiles())]
    pub profile: Option<String>,

    /// Output format [default: a table on a terminal, plain aligned columns when piped]
    #[arg(short, long, global = true, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Auto, hide_default_value = true)]
    pub output: OutputFormat,

    /// Print only what this jq filter selects from the JSON output, strings unquoted
    /// (e.g. '.[].urn')
    #[arg(long, global = true, value_name = "EXPR", value_parser = jq::parse)]
    pub jq: Option<String>,

    /// Print only the primary value (a URN, a token), one per line
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log each request and response to stderr (Authorization redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Give up after this long: the whole command's budget, retries and their waits included
    #[arg(long, global = true, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Retries after 429, 502, 503, 504 and connection failures
    #[arg(long, global = true, default_value_t = 3, value_name = "N")]
    pub retries: u32,

    /// The owner company's URN for creates, where the server has no client context to
    /// tell it [default: the profile's default_owner, else the client context]
    #[arg(long, global = true, env = "BAACK_OWNER", value_name = "URN")]
    pub owner: Option<String>,

    /// Fail (exit 1) when the server's answer does not show a field as it was sent, as a
    /// server that does not store role permissions does [default: warn]
    #[arg(long, global = true)]
    pub strict: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table on a terminal, plain aligned columns when piped (the default)
    #[value(hide = true)]
    Auto,
    /// A table with box drawing, even when piped
    Table,
    /// Exactly the API's JSON, one document on stdout (an object's `Urn`, as some Baack
    /// deployments spell it, is normalised to `urn`)
    Json,
    /// The API's JSON as YAML
    Yaml,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage API clients
    ///
    /// An API client is an identity of the company: it holds bearer tokens, and roles
    /// granted to it decide what its tokens may do. Its clientID is its name, unique in
    /// the company; every command takes the clientID or the URN. Deleting a client
    /// deletes its tokens and takes it out of every role; the root client cannot be
    /// deleted.
    #[command(subcommand)]
    Client(clients::ClientCmd),
    /// Manage API client bearer tokens
    ///
    /// A bearer token authenticates as its API client until it expires. Its secret is
    /// shown once, by `token create`; every later read shows only its first characters.
    /// `token revoke` sets its expiry to now, or to the end of a --notice period, so that
    /// it keeps working until then: the way to retire a token that something still uses.
    /// `token delete` removes it, and it stops working at once: the way to kill a leaked
    /// one. `token list` hides expired tokens unless --all; its STATUS column comes from
    /// the expiry alone (the API records no revocation, so a revoked token shows as
    /// expiring or expired).
    #[command(subcommand)]
    Token(tokens::TokenCmd),
    /// Manage permission roles and grant them to clients
    ///
    /// A role is a named set of permission labels (ADMINISTER, READ, VIEW_CONTENT) and
    /// the API clients that hold them; a client's permissions are the union of its
    /// roles'. Grants and revocations are safe under concurrency: each sends the role's
    /// ETag as If-Match and starts over when another writer changed the role meanwhile.
    #[command(subcommand)]
    Role(roles::RoleCmd),
    /// Manage OAuth clients (SailPoint-style /v3/oauth-clients)
    ///
    /// An OAuth client gets access tokens from /oauth/token with its id and secret. The
    /// secret is shown once, by `oauth create` (or written to --secret-file); an OAuth
    /// client is owned by the API client that created it.
    #[command(subcommand)]
    Oauth(oauth::OauthCmd),
    /// Show the audit log, gate CI on token hygiene, set how long events are kept
    ///
    /// Every change (create, update, revoke, rotate, grant, delete) is an audit event,
    /// written in the same commit as the change: time, actor (client and token URNs,
    /// never a secret), action, target and outcome; so is a request refused to a valid
    /// token for lack of permission. `audit check` fails a pipeline on tokens that never
    /// expire, expire soon, or go unused.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Show what `apply` would change to make what exists match a manifest
    ///
    /// Object by object and field by field: `+` made, `~` changed, `-` deleted (only with
    /// --prune, and only what this manifest's state owns). Never shows a secret. Exit 0
    /// when there is nothing to do, 2 when there are changes, 1 on any error (as
    /// `terraform plan -detailed-exitcode`); -o json gives the plan as data.
    Plan(access::ManifestArgs),
    /// Make what exists match a manifest: clients, roles, OAuth clients, token policies
    ///
    /// In dependency order, with bounded parallel requests that wait out rate limits,
    /// stopping at the first failure with what was and was not done; running it again
    /// picks up where it stopped. New secrets go only to the secretFile the manifest
    /// names (mode 0600, never over a file apply did not write). --prune deletes only
    /// what the state file says this manifest made or adopted, and asks first.
    Apply(access::ApplyArgs),
    /// Write a manifest of what exists, without secrets
    ///
    /// `baack export | baack plan -f -` has nothing to do: a backup of the configuration,
    /// and a start for a manifest. Token policies are left out (each needs its secret file).
    Export(access::ExportArgs),
    /// Show who the current credentials are: client, company and permissions
    ///
    /// Reads the client context of the current token (or, on the embedded store, of the
    /// root client): the place to check which permissions a token has.
    Whoami,
    /// Show baack's version, as --version does
    Version,
    /// Log in and out of profiles, and show where credentials come from
    #[command(subcommand)]
    Auth(auth::AuthCmd),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: complete::Shell,
    },
    /// Write the completion scripts and man pages into DIR (completions/ and man/)
    #[command(hide = true)]
    GenerateAssets {
        /// The project directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Create a new store: one company, the root API client and its bearer token
    Init(InitArgs),
    /// Serve the store over HTTP (both APIs) until SIGINT or SIGTERM
    Serve(serve::ServeArgs),
}

/// `baack init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The company's name
    #[arg(long, default_value = "My Company", value_name = "NAME")]
    pub company_name: String,
}

/// Parses a duration such as `90s`, `15m`, `24h` or `30d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 90s, 15m, 24h or 30d ({e})"))
}

/// How long a new token lasts when neither the command nor the profile says.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// Where commands go, once flags, environment and profile are weighed.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded store at this directory.
    Embedded(PathBuf),
    /// A remote API, with the token and where it came from (if any).
    Remote {
        /// The base URL.
        url: String,
        /// The token and its source.
        token: Option<(String, config::TokenSource)>,
    },
}

/// Where a setting came from, for messages that say how to change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Its flag on the command line.
    Flag(&'static str),
    /// Its environment variable.
    Env(&'static str),
    /// `default_profile` in config.toml.
    ConfigDefault,
    /// The profile's entry in config.toml.
    Profile,
    /// The built-in default.
    Default,
}

impl Origin {
    /// `--flag`, or `VAR` when clap took the value from it: called only for a value
    /// clap found in one of the two.
    fn of(g: &Global, flag: &'static str, var: &'static str) -> Origin {
        if g.from_env.contains(&var) {
            Origin::Env(var)
        } else {
            Origin::Flag(flag)
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(var) => write!(f, "{var}"),
            Origin::ConfigDefault => f.write_str("default_profile in config.toml"),
            Origin::Profile => f.write_str("the profile"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// Settings resolved once: flags over environment over profile over defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// Where that profile's name came from (`--profile`, `BAACK_PROFILE`, the config).
    pub profile_origin: Option<Origin>,
    /// Where commands go.
    pub target: Target,
    /// Where the target's URL or store path came from.
    pub target_origin: Origin,
    /// The profile's owner company, which saves a lookup on create.
    pub default_owner: Option<String>,
    /// The profile's `default_token_ttl`, as written there.
    pub default_token_ttl: Option<String>,
    /// The profile's `warn_before`, as written there.
    pub warn_before: Option<String>,
}

impl Settings {
    /// Resolves the settings of `g` against `config`. An explicit `--store` or
    /// `--api-url` (or its variable) always wins over the profile's; given both, the
    /// flag wins over the variable, and two flags (or two variables) are a usage error.
    pub fn resolve(g: &Global, config: &config::Config) -> Result<Settings, Error> {
        let (name, profile_origin) = match (&g.profile, &config.default_profile) {
            (Some(n), _) => (
                Some(n.clone()),
                Some(Origin::of(g, "--profile", "BAACK_PROFILE")),
            ),
            (None, Some(n)) => (Some(n.clone()), Some(Origin::ConfigDefault)),
            (None, None) => (None, None),
        };
        let profile = match &name {
            Some(n) => match config.profiles.get(n) {
                Some(p) => Some(p),
                // A profile named on the command line must exist; a default that is gone
                // is as good as none.
                None if g.profile.is_some() => {
                    return Err(Error::Usage(format!(
                        "no profile `{n}`; create it with `baack auth login --profile {n} --api-url URL`, or see them with `baack auth list`"
                    )));
                }
                None => None,
            },
            None => None,
        };
        let explicit_url = g
            .api_url
            .as_ref()
            .map(|u| (u.clone(), Origin::of(g, "--api-url", "BAACK_API_URL")));
        let explicit_store = g
            .store
            .as_ref()
            .map(|p| (p.clone(), Origin::of(g, "--store", "BAACK_STORE")));
        let explicit = match (explicit_url, explicit_store) {
            (Some((url, uo)), Some((path, so))) => match (uo, so) {
                (Origin::Flag(_), Origin::Env(_)) => Some(Err((url, uo))),
                (Origin::Env(_), Origin::Flag(_)) => Some(Ok((path, so))),
                _ => {
                    return Err(Error::Usage(format!(
                        "both {uo} and {so} are given: a command goes either to a remote API or to an embedded store; drop one"
                    )));
                }
            },
            (Some(u), None) => Some(Err(u)),
            (None, Some(p)) => Some(Ok(p)),
            (None, None) => None,
        };
        let remote = |url: String, origin: Origin| -> Result<(Target, Origin), Error> {
            Ok((
                Target::Remote {
                    token: config::find_token(name.as_deref(), profile)?,
                    url,
                },
                origin,
            ))
        };
        let (target, target_origin) = match explicit {
            Some(Err((url, origin))) => remote(url, origin)?,
            Some(Ok((path, origin))) => (Target::Embedded(path), origin),
            None => match profile.and_then(|p| p.api_url.clone()) {
                Some(url) => remote(url, Origin::Profile)?,
                None => match profile.and_then(|p| p.store.clone()) {
                    Some(path) => (Target::Embedded(path), Origin::Profile),
                    None => (Target::Embedded(default_store()?), Origin::Default),
                },
            },
        };
        Ok(Settings {
            profile: name,
            profile_origin,
            target,
            target_origin,
            default_owner: match &g.owner {
                Some(o) => Some(baack::model::parse_urn(o).ok_or_else(|| {
                    Error::Usage(format!(
                        "{} `{o}` is not a URN; `baack client get <URN>` shows a client's owner company",
                        Origin::of(g, "--owner", "BAACK_OWNER")
                    ))
                })?),
                None => profile.and_then(|p| p.default_owner.clone()),
            },
            default_token_ttl: profile.and_then(|p| p.default_token_ttl.clone()),
            warn_before: profile.and_then(|p| p.warn_before.clone()),
        })
    }

    /// Which profile this is and where it came from, where commands go, and how to
    /// change that: the words every auth or reachability error adds. `unreachable` puts
    /// checking the server first, in place of logging in.
    fn explain(&self, unreachable: bool) -> String {
        let what = match (&self.profile, self.profile_origin) {
            (Some(n), Some(o)) => format!("profile `{n}` (from {o})"),
            _ => "no profile".to_string(),
        };
        let (place, token) = match &self.target {
            Target::Embedded(path) => (format!("the embedded store {}", path.display()), None),
            Target::Remote { url, token } => (
                url.clone(),
                Some(token.as_ref().map_or_else(
                    || "no token (not logged in)".to_string(),
                    |(_, s)| format!("token from {s}"),
                )),
            ),
        };
        let place = match (self.target_origin, &self.profile) {
            (Origin::Profile | Origin::Default, _) => place,
            (o, Some(_)) => format!("{place} (from {o}, which wins over the profile)"),
            (o, None) => format!("{place} (from {o})"),
        };
        let token = token.map_or_else(String::new, |t| format!("; {t}"));
        let mut fixes = Vec::new();
        match (&self.target, unreachable) {
            (Target::Remote { url, .. }, true) => {
                fixes.push(format!("check that a server answers at {url}"));
            }
            (Target::Remote { url, .. }, false) => fixes.push(match &self.profile {
                Some(n) => format!("log in with `baack auth login --profile {n} --api-url {url}`"),
                None => format!(
                    "log in with `baack auth login --profile NAME --api-url {url}` (or set BAACK_TOKEN)"
                ),
            }),
            (Target::Embedded(_), _) => {}
        }
        if let Origin::Flag(f) | Origin::Env(f) = self.target_origin {
            fixes.push(format!("drop {f} to go where the profile points"));
        }
        if let Some(Origin::Env(var)) = self.profile_origin {
            fixes.push(format!("unset {var} to use the default profile"));
        }
        fixes.push(
            "pick another profile with `--profile NAME` or `baack auth switch NAME` (see `baack auth list`)"
                .into(),
        );
        fixes.push("go back to the embedded store with `baack auth switch --local`".into());
        format!(
            "\n  using {what}: {place}{token}\n  to change: {}",
            fixes.join("; ")
        )
    }

    /// `e` with [`Settings::explain`]'s words, when it is an auth or reachability error.
    pub fn annotate(&self, e: Error) -> Error {
        use baack::ErrorKind as K;
        if !matches!(e.kind(), K::Unauthorized | K::Forbidden | K::Unavailable) {
            return e;
        }
        // A store chosen with no profile involved: its own error says all there is.
        if self.profile.is_none() && matches!(self.target, Target::Embedded(_)) {
            return e;
        }
        let more = self.explain(e.kind() == K::Unavailable);
        match e {
            Error::StoreIo { path, source } => Error::StoreIo {
                path,
                source: std::io::Error::new(source.kind(), format!("{source}{more}")),
            },
            e => e.map_message(|m| m + &more),
        }
    }
}

/// The store directory of a command that always works locally (`init`, `serve`):
/// `--store`/`BAACK_STORE`, else the one `--profile` names, if it names one, else the
/// default. The origin says whether it was chosen.
pub fn local_store(g: &Global, config: &config::Config) -> Result<(PathBuf, Origin), Error> {
    if let Some(p) = &g.store {
        return Ok((p.clone(), Origin::of(g, "--store", "BAACK_STORE")));
    }
    let profile = g.profile.as_ref().and_then(|n| config.profiles.get(n));
    match profile.and_then(|p| p.store.clone()) {
        Some(p) => Ok((p, Origin::Profile)),
        None => Ok((default_store()?, Origin::Default)),
    }
}

/// The default store directory.
fn default_store() -> Result<PathBuf, Error> {
    store::default_path().ok_or_else(|| Error::StoreIo {
        path: PathBuf::from("<data dir>"),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no data directory is known for this user; pass --store PATH or set BAACK_STORE",
        ),
    })
}

/// Opens the store of a command that is not `init` or `serve`: only the default path is
/// created on first use, and without a root token (the embedded mode acts as the root
/// client; stderr says how to make one). A path that was chosen must hold a store.
pub fn open_store(path: &std::path::Path, origin: Origin, out: &Printer) -> Result<Store, Error> {
    if origin != Origin::Default {
        return Store::open(path);
    }
    let (store, created) = Store::open_or_init_tokenless(path, "My Company")?;
    if created {
        out.note(&format!(
            "created a new store at {} (no root bearer token was made: here baack acts as its root client; make one when a server needs it with `baack token create --client {}`)",
            path.display(),
            baack::model::ROOT_CLIENT_ID
        ));
    }
    Ok(store)
}

/// Opens or creates the store of `serve`, announcing a new store's root token once. When
/// that announcement cannot be written, the root token is deleted (the store stays
/// usable here, as its root client) and the command fails saying so.
pub fn open_or_init_store(
    path: &std::path::Path,
    out: &Printer,
) -> Result<(Store, Option<store::Bootstrap>), Failure> {
    let (store, boot) = Store::open_or_init(path, "My Company")?;
    if let Some(b) = &boot {
        deliver_root_token(&store, b, || out.announce_bootstrap(b))?;
    }
    Ok((store, boot))
}

/// Delivers a new store's root token with `deliver`, or deletes that token. The store
/// itself stays: it was asked for, holds nothing else secret, and works here as its root
/// client, which can make a new root token.
fn deliver_root_token(
    store: &Store,
    b: &store::Bootstrap,
    deliver: impl FnOnce() -> Result<(), Failure>,
) -> Result<(), Failure> {
    let at = b.path.display();
    let new = output::NewSecret {
        what: "root token",
        key: &b.root_token.urn,
        undone: format!(
            "the root token was deleted; the store at {at} was created and works here as its root client: make a new root token with `baack token create --client {} --store {at}`",
            baack::model::ROOT_CLIENT_ID
        ),
        delete_cmd: format!("baack token delete {} --yes --store {at}", b.root_token.urn),
    };
    output::deliver_or_undo(&new, deliver, || {
        store.write(|t| t.delete_token(&b.root_token))
    })
}

/// A client of the API at `url` with the command's `--timeout` budget and `--retries`,
/// saying each retry in one line on stderr, so a slow command says what it is doing;
/// silent under `-q` and in the machine formats, whose stderr holds at most the one JSON
/// error document.
pub(crate) fn remote_client(g: &Global, url: &str, token: Option<String>) -> Result<Client, Error> {
    let client = Client::remote(
        url,
        token,
        Policy {
            timeout: g.timeout,
            retries: g.retries,
        },
    )?;
    let machine = g.jq.is_some() || matches!(g.output, OutputFormat::Json | OutputFormat::Yaml);
    Ok(if g.quiet || machine {
        client
    } else {
        client.on_retry(|r| eprintln!("{r}"))
    })
}

/// What every API command works with: the client and the printer.
pub struct Ctx {
    /// The API client (remote or embedded).
    pub client: Client,
    /// The printer.
    pub out: Printer,
    /// The owner company, when the profile names it.
    default_owner: Option<String>,
    /// What the client was made from, for error messages.
    settings: Settings,
    /// The URN the bearer token's value gives (`None`: the embedded store, no token).
    token_urn: Option<String>,
    /// The profile's `default_token_ttl`, as written there.
    default_token_ttl: Option<String>,
    /// `--strict`: a field the server did not keep is an error, not a warning.
    strict: bool,
}

impl Ctx {
    fn connect(g: &Global, out: Printer) -> Result<Ctx, Failure> {
        let settings = Settings::resolve(g, &config::Config::load()?)?;
        Self::with_settings(g, out, settings)
    }

    fn with_settings(g: &Global, out: Printer, settings: Settings) -> Result<Ctx, Failure> {
        let mut token_urn = None;
        let client = match &settings.target {
            Target::Remote { url, token } => {
                token_urn = token
                    .as_ref()
                    .map(|(t, _)| baack::secret::token_urn(&baack::secret::digest(t)));
                remote_client(g, url, token.as_ref().map(|(t, _)| t.clone()))?
            }
            Target::Embedded(path) => Client::embedded(
                open_store(path, settings.target_origin, &out).map_err(|e| settings.annotate(e))?,
            )?,
        };
        if g.verbose {
            logging::init_verbose();
        }
        Ok(Ctx {
            client,
            out,
            default_owner: settings.default_owner.clone(),
            token_urn,
            default_token_ttl: settings.default_token_ttl.clone(),
            strict: g.strict,
            settings,
        })
    }

    /// Runs `f` on a connected Ctx; an auth or reachability error says which profile and
    /// target were used, and how to change them.
    fn run(
        g: &Global,
        out: Printer,
        f: impl FnOnce(&Ctx) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let ctx = Ctx::connect(g, out)?;
        expiry::warn(&ctx.settings, &ctx.out);
        f(&ctx).map_err(|e| match e {
            Failure::Error(e) => Failure::Error(ctx.settings.annotate(e)),
            other => other,
        })
    }

    /// What `whoami` says of the token: its record (URN, expiry), or, when this token
    /// may not read tokens, the URN its value gives; `null` in the embedded mode, which
    /// acts as the store's root client with no token at all.
    fn whoami_token(&self) -> Result<serde_json::Value, Error> {
        let Some(urn) = &self.token_urn else {
            self.out.note(
                "no token: the embedded store acts as its root client without one (make one with `baack token create --client root`)",
            );
            return Ok(serde_json::Value::Null);
        };
        match self.get(&item_path("/n/v1/apiclientbearertoken/", urn)) {
            Ok(t) => Ok(serde_json::json!({
                "urn": t.get("urn").cloned().unwrap_or_else(|| urn.as_str().into()),
                "expirationTimestamp": t.get("expirationTimestamp").cloned().unwrap_or_default(),
            })),
            Err(e) if e.kind() == baack::ErrorKind::NotFound => {
                self.out.note(&format!(
                    "this token's record cannot be read (it needs READ, or it was made before store format 3 or by a server other than baack): {urn} is the URN its value gives, its expiry unknown"
                ));
                Ok(serde_json::json!({ "urn": urn, "expirationTimestamp": null }))
            }
            Err(e) => Err(e),
        }
    }

    /// How long a new token lasts when `token create` is not told: the profile's
    /// `default_token_ttl`, else 90 days: a forgotten token should not live for ever.
    pub fn token_ttl(&self) -> Result<Duration, Error> {
        match &self.default_token_ttl {
            None => Ok(DEFAULT_TOKEN_TTL),
            Some(s) => parse_duration(s).map_err(|why| {
                Error::Usage(format!(
                    "the profile's default_token_ttl in config.toml: {why}; fix it, or pass --expires-in"
                ))
            }),
        }
    }

    /// Checks that `got`, the server's answer to a write that sent `sent`, shows every
    /// field of `sent` as sent (references by URN, lists as sets, timestamps by the time
    /// they name): a server may drop a field it does not store without a word. Each field
    /// it did not keep is a warning, or with `--strict` an error saying that `done` (`API
    /// client x was created`) happened all the same.
    pub fn kept(
        &self,
        done: &str,
        sent: &serde_json::Value,
        got: &serde_json::Value,
    ) -> Result<(), Error> {
        let Some(sent) = sent.as_object() else {
            return Ok(());
        };
        let lost: Vec<String> = sent
            .iter()
            .filter(|(k, v)| !echoes(v, got.get(k.as_str())))
            .map(|(k, v)| {
                let answered = got
                    .get(k.as_str())
                    .map_or_else(|| "nothing".to_string(), shown);
                format!("`{k}` (sent {}, answered {answered})", shown(v))
            })
            .collect();
        if lost.is_empty() {
            return Ok(());
        }
        let what = lost.join(", ");
        if self.strict {
            return Err(Error::Answer(format!(
                "{done}, but the server did not keep {what}: it may not store that field; run `get` to see what it holds"
            )));
        }
        self.out.warn(&format!(
            "the server did not keep {what}: it may not store that field (pass --strict to make this an error)"
        ));
        Ok(())
    }

    /// GET `path`, returning the body.
    pub fn get(&self, path: &str) -> Result<serde_json::Value, Error> {
        Ok(self.client.send(&Call::new(Method::GET, path))?.body)
    }

    /// The remote API's URL; `None` for the embedded store, which has every operation.
    fn remote_url(&self) -> Option<&str> {
        match &self.settings.target {
            Target::Remote { url, .. } => Some(url),
            Target::Embedded(_) => None,
        }
    }

    /// Remembers for a while whether the server has API.md's additions.
    fn learn(&self, additions: bool, evidence: &str) {
        if let Some(url) = self.remote_url() {
            capabilities::remember(self.settings.profile.as_deref(), url, additions, evidence);
        }
    }

    /// The client context, `GET /n/v1/clientcontext`: a server without that route (404
    /// or 405) is [`Error::NoEndpoint`], saying `instead`.
    pub fn context(&self, instead: &str) -> Result<serde_json::Value, Error> {
        const PATH: &str = "/n/v1/clientcontext";
        match self.client.send(&Call::new(Method::GET, PATH)) {
            Ok(r) => {
                self.learn(true, &format!("GET {PATH} answered {}", r.status.as_u16()));
                Ok(r.body)
            }
            Err(e) => match no_route_status(&e) {
                Some(status) if self.remote_url().is_some() => {
                    let evidence = format!("GET {PATH} answered {status}");
                    self.learn(false, &evidence);
                    Err(no_context(&evidence, instead))
                }
                _ => Err(e),
            },
        }
    }

    /// What is remembered of the remote server, if it is fresh.
    fn known(&self) -> Option<capabilities::Known> {
        capabilities::known(self.settings.profile.as_deref(), self.remote_url()?)
    }

    /// Whether the server has API.md's additions: remembered, or else probed with the
    /// client context, which every valid token may read where it exists.
    fn has_additions(&self) -> Result<bool, Error> {
        if let Some(k) = self.known() {
            return Ok(k.additions);
        }
        match self.context("") {
            Ok(_) => Ok(true),
            Err(Error::NoEndpoint(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every item of the list at `path` (see [`Client::list_all`]). A server without list
    /// endpoints is [`Error::NoEndpoint`] (exit 9), never a not-found: a script's `get ||
    /// create` must not create a duplicate. `what` names the objects (`client`).
    pub fn list_all(
        &self,
        path: &str,
        key: &str,
        what: &str,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let route = path.split('?').next().unwrap_or_default();
        let no_list = |evidence: &str| {
            Error::NoEndpoint(format!(
                "this server has no list endpoint ({evidence}); refer to the {what} by URN"
            ))
        };
        if let Some(k) = self.known().filter(|k| !k.additions) {
            return Err(no_list(&k.evidence));
        }
        let e = match self.client.list_all(path, key) {
            Ok(items) => return Ok(items),
            Err(e) => e,
        };
        let Some(status) = no_route_status(&e).filter(|_| self.remote_url().is_some()) else {
            return Err(e);
        };
        let evidence = format!("GET {route} answered {status}");
        // A 404 is also how Baack hides what a token may not read: the client context
        // tells the two apart. A 405 says it outright.
        if status == 405 || !self.has_additions()? {
            self.learn(false, &evidence);
            return Err(no_list(&evidence));
        }
        Err(e)
    }

    /// Every API client's name by URN, for a table's client references: one list
    /// request, and none unless the output is a table. Should it fail, the table shows
    /// URNs rather than the command failing.
    pub fn client_names(&self) -> output::Names {
        if !self.out.human() {
            return output::Names::new();
        }
        self.client
            .list_all("/n/v1/apiclient/?limit=1000", "apiClients")
            .map(|cs| cs.iter().filter_map(name_entry).collect())
            .unwrap_or_default()
    }

    /// The name of the one API client `urn`, as [`Ctx::client_names`] (one GET).
    pub fn client_name(&self, urn: &str) -> output::Names {
        if !self.out.human() {
            return output::Names::new();
        }
        self.get(&format!("/n/v1/apiclient/{urn}"))
            .ok()
            .as_ref()
            .and_then(name_entry)
            .into_iter()
            .collect()
    }

    /// The name of the company that owns `v` (its `owner` reference), as
    /// [`Ctx::client_names`] (one GET).
    pub fn owner_name(&self, v: &serde_json::Value) -> output::Names {
        let Some(urn) = v.pointer("/owner/urn").and_then(serde_json::Value::as_str) else {
            return output::Names::new();
        };
        if !self.out.human() {
            return output::Names::new();
        }
        self.get(&format!("/n/v1/company/{urn}"))
            .ok()
            .and_then(|c| Some((urn.to_string(), c.get("name")?.as_str()?.to_string())))
            .into_iter()
            .collect()
    }

    /// The owner company's URN, from the client context.
    pub fn owner(&self) -> Result<String, Error> {
        if let Some(o) = &self.default_owner {
            return Ok(o.clone());
        }
        let ctx = self.context(
            "give the owner company's URN with --owner URN (or BAACK_OWNER, or default_owner in the profile, which `baack auth login --owner URN` sets); `baack client get <URN>` shows a client's owner",
        )?;
        ctx.pointer("/owner/urn")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::Internal("the client context names no owner company".into()))
    }
}

/// A not-found that names what was not found: a real Baack answers `NOT_FOUND` with no
/// detail, and it also hides what the token may not see.
pub fn not_found(what: &str, reference: &str, e: Error) -> Error {
    if e.kind() != baack::ErrorKind::NotFound {
        return e;
    }
    Error::NotFound(format!(
        "no {what} {reference}: it does not exist, or this token lacks the permission to see it (Baack answers not found for both)"
    ))
}

/// The status of an answer that may mean the route does not exist (404, 405).
fn no_route_status(e: &Error) -> Option<u16> {
    match e {
        Error::Remote { status, .. } if matches!(status, 404 | 405) => Some(*status),
        _ => None,
    }
}

/// A server without the client context.
fn no_context(evidence: &str, instead: &str) -> Error {
    let instead = if instead.is_empty() {
        String::new()
    } else {
        format!("; {instead}")
    };
    Error::NoEndpoint(format!(
        "this server has no client context endpoint ({evidence}){instead}"
    ))
}

/// Whether `got` shows `sent`: a reference by its URN, a list as a set, a timestamp by
/// its time; nothing shows an empty list or null.
fn echoes(sent: &serde_json::Value, got: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    let key = |v: &Value| match v.get("urn") {
        Some(u) => u.to_string(),
        None => v.to_string(),
    };
    match (sent, got) {
        (Value::Null, None | Some(Value::Null)) => true,
        (Value::Array(s), None | Some(Value::Null)) => s.is_empty(),
        (_, None) => false,
        (Value::Object(o), Some(g)) if o.contains_key("urn") => key(sent) == key(g),
        (Value::Array(s), Some(Value::Array(g))) => {
            let set = |a: &Vec<Value>| a.iter().map(key).collect::<std::collections::BTreeSet<_>>();
            set(s) == set(g)
        }
        (Value::String(a), Some(Value::String(b))) => {
            a == b
                || baack::clock::parse_timestamp(a)
                    .is_some_and(|t| baack::clock::parse_timestamp(b) == Some(t))
        }
        (s, Some(g)) => s == g,
    }
}

/// A sent or answered value in a message: a list's items, a reference's URN.
fn shown(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Object(o) => o.get("urn").map_or_else(|| v.to_string(), shown),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An API client's `(urn, clientID)`.
pub fn name_entry(c: &serde_json::Value) -> Option<(String, String)> {
    Some((
        c.get("urn")?.as_str()?.to_string(),
        c.get("clientID")?.as_str()?.to_string(),
    ))
}

/// What a REF names: where its objects live and which field is its human name.
pub struct Named {
    /// The collection path, e.g. `/n/v1/apiclient/`.
    pub prefix: &'static str,
    /// The list's array key, e.g. `apiClients`.
    pub list_key: &'static str,
    /// The name field and query filter, e.g. `clientID`.
    pub name_field: &'static str,
    /// What it is called in messages, e.g. `API client`.
    pub what: &'static str,
    /// The command that lists them, for the hint.
    pub list_cmd: &'static str,
    /// Its short name in a hint, e.g. `client`.
    pub short: &'static str,
}

impl Ctx {
    /// Finds one object by URN, or by name: exit 3 with a hint when nothing matches, a
    /// usage error listing them when several do.
    pub fn resolve(&self, kind: &Named, reference: &str) -> Result<serde_json::Value, Error> {
        use serde_json::Value;
        use unicode_normalization::UnicodeNormalization;
        // A REF that reads as a URN in any case is that URN, never a name: names that
        // read as URNs are refused by the server, so `client delete <URN>` can only ever
        // mean the object with that URN.
        if let Some(urn) = baack::model::parse_urn(reference) {
            let v = self
                .get(&item_path(kind.prefix, &urn))
                .map_err(|e| not_found(kind.what, &urn, e))?;
            self.remember(kind, &v);
            return Ok(v);
        }
        // Names are stored NFC: a decomposed spelling typed here names the same object.
        let reference: &str = &reference.nfc().collect::<String>();
        let path = format!("{}?{}={}", kind.prefix, kind.name_field, enc(reference));
        let listed = match self.list_all(&path, kind.list_key, kind.short) {
            Ok(items) => items,
            Err(Error::NoEndpoint(why)) => return self.by_name_map(kind, reference, why),
            Err(e) => return Err(e),
        };
        let found: Vec<Value> = listed
            .into_iter()
            // A server that ignores the filter still gives the right answer.
            .filter(|v| v.get(kind.name_field).and_then(Value::as_str) == Some(reference))
            .collect();
        match found.as_slice() {
            [one] => {
                self.remember(kind, one);
                Ok(one.clone())
            }
            [] => Err(Error::NotFound(format!(
                "no {} `{reference}`; list them with `{}`",
                kind.what, kind.list_cmd
            ))),
            many => Err(Error::Usage(format!(
                "`{reference}` names {} {}s ({}); use a URN",
                many.len(),
                kind.what,
                many.iter()
                    .filter_map(|v| v.get("urn").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

impl Ctx {
    /// The local name map of this profile's server; `None` for the embedded store, which
    /// can always search.
    fn names(&self) -> Option<names::Scope> {
        Some(names::Scope::new(
            self.settings.profile.as_deref(),
            self.remote_url()?,
        ))
    }

    /// Remembers the name of `v`, an object of `kind` read or made on the server.
    pub fn remember(&self, kind: &Named, v: &serde_json::Value) {
        let (Some(scope), Some(name), Some(urn)) = (
            self.names(),
            v.get(kind.name_field).and_then(serde_json::Value::as_str),
            v.get("urn").and_then(serde_json::Value::as_str),
        ) else {
            return;
        };
        scope.remember(kind.short, name, urn);
    }

    /// Forgets the object `urn` of `kind`, deleted.
    pub fn forget(&self, kind: &Named, urn: &str) {
        if let Some(scope) = self.names() {
            scope.forget(kind.short, urn);
        }
    }

    /// The object named `name` from the local name map, for a server that cannot search
    /// (`why` says so), read back by its URN; says on stderr where the name came from.
    fn by_name_map(
        &self,
        kind: &Named,
        name: &str,
        why: String,
    ) -> Result<serde_json::Value, Error> {
        let unknown = || {
            Error::NoEndpoint(format!(
                "{why} (`{name}` is not in this baack's local name map either: a name works once this baack has created the {} or read it by URN)",
                kind.short
            ))
        };
        let Some(urn) = self.names().and_then(|s| s.lookup(kind.short, name)) else {
            return Err(unknown());
        };
        let v = match self.get(&item_path(kind.prefix, &urn)) {
            Ok(v) => v,
            Err(e) if e.kind() == baack::ErrorKind::NotFound => {
                self.forget(kind, &urn);
                return Err(unknown());
            }
            Err(e) => return Err(e),
        };
        if v.get(kind.name_field).and_then(serde_json::Value::as_str) != Some(name) {
            // Renamed since: the map was stale.
            self.remember(kind, &v);
            return Err(unknown());
        }
        self.out.note(&format!(
            "`{name}` is {} {urn}, from this baack's local name map ({}): this server cannot search by name",
            kind.what,
            config::config_dir().map_or_else(|| "names.toml".to_string(), |d| d.join("names.toml").display().to_string())
        ));
        Ok(v)
    }
}

/// A create that may find its name taken: what it asks for, and how to compare.
pub struct CreateOnce<'a> {
    /// Where such objects live and how they are named.
    pub kind: &'a Named,
    /// The name asked for.
    pub name: &'a str,
    /// `--if-not-exists`.
    pub if_not_exists: bool,
    /// How an existing object differs from what was asked (`None`: it does not).
    pub differs: &'a dyn Fn(&serde_json::Value) -> Option<String>,
    /// What to do about a difference, for the message.
    pub fix: String,
}

impl Ctx {
    /// The object named `name`, if one exists.
    fn find_named(&self, kind: &Named, name: &str) -> Result<Option<serde_json::Value>, Error> {
        match self.resolve(kind, name) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == baack::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs `create`, or with `--if-not-exists` takes the existing object when it is what
    /// was asked. A create the API refuses as invalid is looked at again: when the name
    /// is taken (by an earlier run, or a concurrent one), that is a conflict (exit 8), not
    /// invalid input. Prints the object, and on stderr that nothing was changed.
    pub fn create_once(
        &self,
        c: &CreateOnce,
        print: impl Fn(&serde_json::Value) -> Result<(), Failure>,
        create: impl FnOnce() -> Result<serde_json::Value, Error>,
    ) -> Result<(), Failure> {
        let existing = |x: serde_json::Value| -> Result<(), Failure> {
            let v =
                existing_or_conflict(c.kind.what, c.name, x, c.if_not_exists, c.differs, &c.fix)?;
            print(&v)?;
            self.out.note(&format!(
                "{} `{}` exists already; nothing changed",
                c.kind.what, c.name
            ));
            Ok(())
        };
        if c.if_not_exists
            && let Some(x) = self.find_named(c.kind, c.name)?
        {
            return existing(x);
        }
        match create() {
            Ok(v) => {
                self.remember(c.kind, &v);
                print(&v)
            }
            Err(e) if e.kind() == baack::ErrorKind::Invalid => {
                match self.find_named(c.kind, c.name) {
                    Ok(Some(x)) => existing(x),
                    // A server that cannot search leaves the refusal as it was.
                    Ok(None) | Err(Error::NoEndpoint(_)) => Err(e.into()),
                    Err(other) => Err(other.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// What a path segment must escape: RFC 3986's non-`pchar` bytes, plus `/` and `%`
/// themselves, so an id such as `Demo API Client` or `a/b` stays one segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The path of one object: `prefix` (ending in `/`) and `key`, percent-encoded.
pub fn item_path(prefix: &str, key: &str) -> String {
    format!(
        "{prefix}{}",
        percent_encoding::utf8_percent_encode(key, SEGMENT)
    )
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Asks before deleting: `--yes` skips the question; without a terminal it is required.
/// `false` when the answer is no: that is not a failure (the person chose), so the caller
/// exits 0, and "nothing deleted" is said here, on stderr, where the question was.
pub fn confirm(what: &str, yes: bool) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::Usage(format!(
            "refusing to delete {what} without confirmation: pass --yes"
        )));
    }
    eprint!("delete {what}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::Internal(format!("cannot read the answer: {e}")))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(true)
    } else {
        eprintln!("nothing deleted");
        Ok(false)
    }
}

/// `--ignore-not-found` of every delete: a missing object is what the caller wanted.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Exit 0 when it does not exist (it is gone either way), as kubectl's flag does
    #[arg(long)]
    pub ignore_not_found: bool,
}

impl DeleteArgs {
    /// Runs a delete: `find` names what it deletes (the object, for the question),
    /// `delete` deletes it. With `--ignore-not-found`, a not-found from either is a
    /// note on stderr and success.
    pub fn run<T>(
        &self,
        out: &Printer,
        find: impl FnOnce() -> Result<T, Error>,
        describe: impl FnOnce(&T) -> String,
        delete: impl FnOnce(T) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let gone = |e: Error| -> Result<(), Failure> {
            if self.ignore_not_found && e.kind() == baack::ErrorKind::NotFound {
                out.note(&format!("{e}; nothing deleted"));
                Ok(())
            } else {
                Err(e.into())
            }
        };
        let found = match find() {
            Ok(f) => f,
            Err(e) => return gone(e),
        };
        if !confirm(&describe(&found), self.yes)? {
            return Ok(());
        }
        match delete(found) {
            Err(Failure::Error(e)) => gone(e),
            other => other,
        }
    }
}

/// What a create does when an object of its name exists: `Some(existing)` when that is
/// what `--if-not-exists` accepts; otherwise a conflict (exit 8) naming the difference
/// or the flag. `differs` says how the existing object differs from what was asked, if
/// it does.
fn existing_or_conflict(
    what: &str,
    name: &str,
    existing: serde_json::Value,
    if_not_exists: bool,
    differs: &dyn Fn(&serde_json::Value) -> Option<String>,
    fix: &str,
) -> Result<serde_json::Value, Error> {
    let differs = differs(&existing);
    let urn = existing
        .get("urn")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    match (if_not_exists, differs) {
        (true, None) => Ok(existing),
        (_, Some(d)) => Err(Error::Conflict(format!(
            "{what} `{name}` ({urn}) exists already, but {d}; {fix}"
        ))),
        (false, None) => Err(Error::Conflict(format!(
            "{what} `{name}` ({urn}) exists already, as asked; pass --if-not-exists to accept it, or choose another name"
        ))),
    }
}

/// `BAACK_LOCK_TIMEOUT`: a duration (`500ms`, `10s`) or a number of seconds.
fn parse_lock_timeout(s: &str) -> Result<Duration, Error> {
    let s = s.trim();
    s.parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .or_else(|| humantime::parse_duration(s).ok())
        .ok_or_else(|| {
            Error::Usage(format!(
                "BAACK_LOCK_TIMEOUT=`{s}` is not a duration like 500ms or 10s, nor a number of seconds; fix or unset it"
            ))
        })
}

/// Applies `BAACK_LOCK_TIMEOUT`, when set, to every store write of this process.
fn apply_lock_timeout() -> Result<(), Error> {
    match std::env::var("BAACK_LOCK_TIMEOUT") {
        Ok(v) if !v.trim().is_empty() => {
            store::set_lock_timeout(parse_lock_timeout(&v)?);
            Ok(())
        }
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(()),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::Usage(
            "BAACK_LOCK_TIMEOUT is not text; fix or unset it".into(),
        )),
    }
}

/// `baack --version`'s line.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

/// Which command-line flag sets which API field, for one command: `(field, flag)`.
pub type FlagMap = &'static [(&'static str, &'static str)];

/// `field` as the message shows it: the flag, and the API's name when it differs.
fn flag_label(field: &str, flag: &str) -> String {
    if flag.trim_start_matches('-') == field {
        flag.to_string()
    } else {
        format!("{flag} ({field})")
    }
}

/// Names the flag beside each API field an invalid-input message names at the start of
/// a cause (`…: clientID: must be…`, `…; accessType is required`), so that a person
/// knows what to change on the command line.
fn with_flags(message: &str, flags: FlagMap) -> String {
    let mut out = message.to_string();
    for (field, flag) in flags {
        for lead in [": ", "; "] {
            let needle = format!("{lead}{field}");
            let mut from = 0;
            while let Some(i) = out[from..].find(&needle).map(|i| i + from) {
                let end = i + needle.len();
                let bounded = out[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                if bounded {
                    let label = format!("{lead}{}", flag_label(field, flag));
                    out.replace_range(i..end, &label);
                    from = i + label.len();
                } else {
                    from = end;
                }
            }
        }
    }
    out
}

/// An invalid-input error of a command, with its flags named (see [`with_flags`]).
fn name_flags(f: Failure, flags: FlagMap) -> Failure {
    let Failure::Error(e) = f else { return f };
    if e.kind() != baack::ErrorKind::Invalid || flags.is_empty() {
        return Failure::Error(e);
    }
    Failure::Error(match e {
        Error::Invalid { field, reason } => match flags.iter().find(|(f, _)| *f == field) {
            Some((f, flag)) => Error::Invalid {
                field: flag_label(f, flag),
                reason,
            },
            None => Error::Invalid { field, reason },
        },
        other => other.map_message(|m| with_flags(&m, flags)),
    })
}

/// The command tree as `baack` parses it: the derived definitions plus, for people,
/// each leaf command's examples at the end of its help and `[required]` on required
/// flags.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let after = format!("{ENVIRONMENT_HELP}\n\n{}", docs::exit_status_help());
    decorate(Cli::command().after_help(after), "baack")
}

fn decorate(mut cmd: clap::Command, page: &str) -> clap::Command {
    // A required group (one of these flags must be given): each member names the others.
    let groups: Vec<Vec<String>> = cmd
        .get_groups()
        .filter(|g| g.is_required_set())
        .map(|g| g.get_args().map(ToString::to_string).collect())
        .collect();
    // How help spells an argument: `--flag`, or a positional's value name (`NAME`).
    let long_of = |cmd: &clap::Command, id: &str| -> String {
        let arg = cmd.get_arguments().find(|a| a.get_id() == id);
        match arg.and_then(clap::Arg::get_long) {
            Some(l) => format!("--{l}"),
            None => arg
                .and_then(|a| a.get_value_names())
                .and_then(|n| n.first())
                .map_or_else(|| id.to_uppercase(), ToString::to_string),
        }
    };
    let mut either: Vec<(String, String)> = Vec::new();
    for members in &groups {
        for m in members {
            let others: Vec<String> = members
                .iter()
                .filter(|o| *o != m)
                .map(|o| long_of(&cmd, o))
                .collect();
            either.push((m.clone(), others.join(" or ")));
        }
    }
    cmd = cmd.mut_args(|a| {
        let help = a.get_help().map(ToString::to_string).unwrap_or_default();
        if a.is_required_set() && !a.is_positional() {
            a.help(format!("{help} [required]"))
        } else if let Some((_, others)) = either.iter().find(|(id, _)| a.get_id() == id.as_str()) {
            a.help(format!("{help} [required, or {others}]"))
        } else {
            a
        }
    });
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    if subs.is_empty()
        && let Some(text) = docs::examples_help(page)
    {
        cmd = cmd.after_help(text);
    }
    for name in subs {
        let sub_page = format!("{page}-{name}");
        cmd = cmd.mut_subcommand(&name, |s| decorate(s, &sub_page));
    }
    cmd
}

/// Parses the process's arguments: with [`command`]'s help texts when help may be
/// printed (`-h`, `--help`, `help`), else with the bare definitions, so that a command
/// that prints no help does not pay for building its examples.
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let wants_help = std::env::args_os()
        .skip(1)
        .any(|a| a == "-h" || a == "--help" || a == "help");
    let cmd = if wants_help {
        command()
    } else {
        Cli::command()
    };
    let mut m = cmd.try_get_matches()?;
    let from_env = from_env(&m);
    let mut cli = Cli::from_arg_matches_mut(&mut m)?;
    cli.global.from_env = from_env;
    Ok(cli)
}

/// The variables of [`Global`]'s settings that clap read a value from: a global flag
/// given at any level of the command line wins over its variable.
fn from_env(m: &clap::ArgMatches) -> Vec<&'static str> {
    use clap::parser::ValueSource;
    const SETTINGS: [(&str, &str); 4] = [
        ("store", "BAACK_STORE"),
        ("api_url", "BAACK_API_URL"),
        ("profile", "BAACK_PROFILE"),
        ("owner", "BAACK_OWNER"),
    ];
    let mut levels = vec![m];
    while let Some((_, sub)) = levels[levels.len() - 1].subcommand() {
        levels.push(sub);
    }
    SETTINGS
        .iter()
        .filter(|(id, _)| {
            let sources: Vec<ValueSource> = levels
                .iter()
                .filter_map(|l| {
                    l.try_get_raw(id)
                        .ok()
                        .flatten()
                        .and_then(|_| l.value_source(id))
                })
                .collect();
            sources.contains(&ValueSource::EnvVariable)
                && !sources.contains(&ValueSource::CommandLine)
        })
        .map(|(_, var)| *var)
        .collect()
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    apply_lock_timeout()?;
    let out = Printer::new(&cli.global);
    match cli.command {
        Command::Init(a) => {
            let (path, _) = local_store(&cli.global, &config::Config::load()?)?;
            let b = Store::init(&path, &a.company_name)?;
            deliver_root_token(&Store::open(&path)?, &b, || out.init(&b))
        }
        Command::Serve(a) => serve::run(&cli.global, &out, a),
        Command::Whoami => Ctx::run(&cli.global, out, |ctx| {
            let mut v = ctx.context(
                "`whoami` needs it; read the token's record with `baack token get <URN>` instead",
            )?;
            v["token"] = ctx.whoami_token()?;
            ctx.out.item(Kind::Context, &v)
        }),
        Command::Auth(c) => auth::run(&cli.global, &out, c),
        Command::Completions { shell } => out.value(&complete::script(shell)?),
        Command::GenerateAssets { dir } => {
            let written = docs::generate(&dir)?;
            out.note(&format!("wrote {written} files under {}", dir.display()));
            Ok(())
        }
        Command::Version => {
            if out.machine() {
                out.json(&serde_json::json!({
                    "name": env!("CARGO_PKG_NAME"),
                    "version": env!("CARGO_PKG_VERSION"),
                }))
            } else {
                out.value(VERSION_LINE)
            }
        }
        // A 400 names the API's field; the message names the command's flag beside it.
        Command::Client(c) => {
            let f = clients::flags(&c);
            Ctx::run(&cli.global, out, |ctx| clients::run(ctx, c)).map_err(|e| name_flags(e, f))
        }
        // The token on stdin is checked before any store or server is opened.
        Command::Token(tokens::TokenCmd::Whois(w)) => tokens::whois(&cli.global, out, &w),
        Command::Token(c) => {
            let f = tokens::flags(&c);
            Ctx::run(&cli.global, out, |ctx| tokens::run(ctx, c)).map_err(|e| name_flags(e, f))
        }
        Command::Role(c) => {
            let f = roles::flags(&c);
            Ctx::run(&cli.global, out, |ctx| roles::run(ctx, c)).map_err(|e| name_flags(e, f))
        }
        Command::Oauth(c) => {
            let f = oauth::flags(&c);
            Ctx::run(&cli.global, out, |ctx| oauth::run(ctx, c)).map_err(|e| name_flags(e, f))
        }
        Command::Audit(c) => {
            let f = audit::flags(&c);
            Ctx::run(&cli.global, out, |ctx| audit::run(ctx, c)).map_err(|e| name_flags(e, f))
        }
        Command::Plan(m) => {
            Ctx::run(&cli.global, out, |ctx| access::plan(ctx, m)).map_err(|f| match f {
                Failure::Error(e) => Failure::Detailed(e),
                other => other,
            })
        }
        Command::Apply(a) => Ctx::run(&cli.global, out, |ctx| access::apply(ctx, a)),
        Command::Export(a) => Ctx::run(&cli.global, out, |ctx| access::export(ctx, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_messages_name_the_flag_at_the_start_of_each_cause() {
        let flags: FlagMap = &[
            ("clientID", "--client-id"),
            ("type", "--type"),
            ("description", "--description"),
        ];
        assert_eq!(
            with_flags("INVALID_REPRESENTATION: clientID: must be 1 to 128", flags),
            "INVALID_REPRESENTATION: --client-id (clientID): must be 1 to 128"
        );
        assert_eq!(
            with_flags(
                "400.1 Bad Request Content: description is required; type must be PUBLIC; typeX is odd",
                flags
            ),
            "400.1 Bad Request Content: --description is required; --type must be PUBLIC; typeX is odd"
        );
        // Only at the start of a cause: a word inside a sentence stays.
        assert_eq!(
            with_flags("BAD_REQUEST: wrong content type", flags),
            "BAD_REQUEST: wrong content type"
        );
    }

    #[test]
    fn the_lock_timeout_is_a_duration_or_seconds() {
        let ok = |s: &str| parse_lock_timeout(s).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok(" 2m "), Duration::from_secs(120));
        assert_eq!(ok("3"), Duration::from_secs(3));
        assert_eq!(ok("0.25"), Duration::from_millis(250));
        assert_eq!(ok("0"), Duration::ZERO);
        for bad in ["-1", "soon", "NaN", "inf", "10 parsecs"] {
            let e = parse_lock_timeout(bad).unwrap_err();
            assert_eq!(e.kind(), baack::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().contains("BAACK_LOCK_TIMEOUT"), "{e}");
        }
    }
}
