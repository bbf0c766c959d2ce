//! `baack auth …`: log a profile in (token from stdin or a hidden prompt, never a flag),
//! out, switch the default profile (the only thing that changes it, as `kubectl config
//! use-context` is), list profiles, show where credentials come from, and print the
//! token for scripts.

use std::io::{BufRead, IsTerminal, Write};

use baack::Error;
use baack::client::{Call, Client};
use baack::secret::check_bearer_token;
use clap::Subcommand;
use http::Method;
use serde_json::{Value, json};

use super::config::{self, Config, CredentialStore, Profile, TokenSource};
use super::output::{Failure, Printer};
use super::{Global, Settings, Target};

/// The auth commands.
#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Store a token for a profile, after checking it against the API
    ///
    /// The token is read from stdin, or from a hidden prompt on a terminal: never from a
    /// flag, so it stays out of shell history and process lists. Logging in never
    /// changes the default profile; on a terminal it offers to, and `baack auth switch`
    /// does.
    Login {
        /// The API URL of the profile
        #[arg(long, value_name = "URL")]
        api_url: String,
        /// Where to keep the token [default: keyring, falling back to the file with a warning]
        #[arg(long, value_enum, env = "BAACK_CREDENTIAL_STORE")]
        credential_store: Option<CredentialStore>,
        /// Keep the token, with a warning, when the server offers no way to check it (no
        /// client context, and the token may not read its own record); a token the
        /// server rejects is never kept
        #[arg(long)]
        no_verify: bool,
    },
    /// Forget the profile's stored token (keyring and file)
    Logout,
    /// Show the profile, where it points, its client, permissions and where the token
    /// comes from
    ///
    /// Exits 0 when the credentials work, 1 when there are none (not logged in), 4 when
    /// the server rejects them, 7 when it cannot be reached and 9 when the server offers no
    /// way to check them. With -q it prints
    /// nothing: the exit status alone answers.
    Status,
    /// Print the profile's token, for scripts
    Token,
    /// Make a profile the default: where commands go when they name none
    ///
    /// This is the only command that changes the default profile.
    #[command(group = clap::ArgGroup::new("to").required(true).args(["name", "local"]))]
    Switch {
        /// The profile (see `baack auth list`)
        #[arg(value_name = "NAME", add = super::complete::profiles())]
        name: Option<String>,
        /// No default profile: commands go to the embedded store
        #[arg(long)]
        local: bool,
    },
    /// List the profiles, where each points and which one is in use
    List,
}

fn profile_name(g: &Global, config: &Config) -> String {
    g.profile
        .clone()
        .or_else(|| config.default_profile.clone())
        .unwrap_or_else(|| "default".to_string())
}

fn read_token() -> Result<String, Error> {
    super::secret_file::read_stdin(
        "bearer token (input hidden): ",
        "token",
        "no token given: pipe it on stdin, e.g. `baack auth login --api-url URL < token-file`",
    )
}

/// Asks a yes/no question on the terminal; false (the default) without one, so a script
/// is never asked and never switched.
fn ask(question: &str) -> bool {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Where a profile points, in words.
fn points_to(p: &Profile) -> String {
    match (&p.api_url, &p.store) {
        (Some(url), _) => url.clone(),
        (None, Some(store)) => format!("store {}", store.display()),
        (None, None) => "the default embedded store".into(),
    }
}

/// Where commands go with no profile.
fn local_target() -> String {
    baack::store::default_path().map_or_else(
        || "the embedded store".to_string(),
        |p| format!("the embedded store {}", p.display()),
    )
}

/// Runs an auth command.
pub fn run(g: &Global, out: &Printer, cmd: AuthCmd) -> Result<(), Failure> {
    let mut config = Config::load()?;
    let name = profile_name(g, &config);
    match cmd {
        AuthCmd::Login {
            api_url,
            credential_store,
            no_verify,
        } => {
            // `--owner` (or BAACK_OWNER) names it where the server cannot.
            let given = match &g.owner {
                Some(o) => Some(baack::model::parse_urn(o).ok_or_else(|| {
                    Error::Usage(format!(
                        "--owner `{o}` is not a URN; `baack client get <URN>` shows a client's owner company"
                    ))
                })?),
                None => None,
            };
            let token = read_token()?;
            // A Baack token with a bad checksum is a typo: say so before any request.
            if token.starts_with(baack::secret::TOKEN_PREFIX)
                && let Err(why) = check_bearer_token(&token)
            {
                return Err(Error::Usage(format!("that token is malformed: {why}")).into());
            }
            let client = super::remote_client(g, &api_url, Some(token.clone()))?;
            let ctx = match check(&client, &token)? {
                Checked::Context(ctx) => ctx,
                Checked::Record(why, record) => {
                    out.note(&format!(
                        "{why}: the token was checked by reading its own record instead"
                    ));
                    json!({ "client": { "urn": record.pointer("/apiClient/urn") } })
                }
                Checked::Unchecked(why) if no_verify => {
                    out.warn(&format!("{why}; the token is kept unchecked (--no-verify)"));
                    Value::Null
                }
                Checked::Unchecked(why) => {
                    return Err(Error::NoEndpoint(format!(
                        "{why}; pass --no-verify to keep it unchecked"
                    ))
                    .into());
                }
            };
            let source = config::store_token(&name, &token, credential_store, &|w| out.warn(w))?;
            let entry = config.profiles.entry(name.clone()).or_default();
            entry.api_url = Some(api_url.trim_end_matches('/').to_string());
            entry.credential_store = Some(match source {
                TokenSource::Keyring => CredentialStore::Keyring,
                _ => CredentialStore::File,
            });
            if let Some(owner) = given
                .as_deref()
                .or_else(|| ctx.pointer("/owner/urn").and_then(Value::as_str))
            {
                entry.default_owner = Some(owner.to_string());
            }
            config.save()?;
            let who = match (
                ctx.pointer("/client/clientID").and_then(Value::as_str),
                ctx.pointer("/client/urn").and_then(Value::as_str),
            ) {
                (Some(id), _) => format!("as `{id}`"),
                (None, Some(urn)) => format!("as client {urn}"),
                (None, None) => "unverified".to_string(),
            };
            out.note(&format!(
                "logged in to {api_url} {who} (profile `{name}`; token kept in {source})"
            ));
            if config.default_profile.as_deref() == Some(name.as_str()) {
                return Ok(());
            }
            let now = config
                .default_profile
                .as_ref()
                .map_or_else(local_target, |d| format!("profile `{d}`"));
            if ask(&format!(
                "make `{name}` the default profile (now {now}), so that commands without --profile go to {api_url}?"
            )) {
                config.default_profile = Some(name.clone());
                config.save()?;
                out.note(&format!("the default profile is now `{name}`"));
            } else {
                out.note(&format!(
                    "commands without --profile still go to {now}: use this profile with `--profile {name}`, or make it the default with `baack auth switch {name}`"
                ));
            }
            Ok(())
        }
        AuthCmd::Logout => {
            let from_keyring = match config::keyring_delete(&name) {
                Ok(b) => b,
                Err(_) if config::keyring_off() => false,
                Err(e) => {
                    out.warn(&format!("{e}; the keyring was not checked"));
                    false
                }
            };
            let from_file = config::file_delete(&name)?;
            if from_keyring || from_file {
                out.note(&format!("forgot the token of profile `{name}`"));
            } else {
                out.note(&format!("profile `{name}` had no stored token"));
            }
            Ok(())
        }
        AuthCmd::Status => status(g, out, &config),
        AuthCmd::Token => {
            let profile = config.profiles.get(&name);
            match config::find_token(Some(&name), profile)? {
                Some((t, _)) => out.value(&t),
                None => Err(Error::Unauthorized(format!(
                    "no token for profile `{name}`; log in with `baack auth login --profile {name} --api-url URL`"
                ))
                .into()),
            }
        }
        AuthCmd::Switch { name, local } => switch(out, &mut config, name, local),
        AuthCmd::List => list(g, out, &config),
    }
}

/// `auth switch NAME` and `auth switch --local`.
fn switch(
    out: &Printer,
    config: &mut Config,
    name: Option<String>,
    local: bool,
) -> Result<(), Failure> {
    let goes_to = match (name, local) {
        (Some(n), false) => {
            let Some(p) = config.profiles.get(&n) else {
                let known = config.profiles.keys().cloned().collect::<Vec<_>>();
                let known = if known.is_empty() {
                    "there are none yet".to_string()
                } else {
                    format!("the profiles are: {}", known.join(", "))
                };
                return Err(Error::Usage(format!(
                    "no profile `{n}` ({known}); create it with `baack auth login --profile {n} --api-url URL`"
                ))
                .into());
            };
            let to = format!("profile `{n}` ({})", points_to(p));
            config.default_profile = Some(n);
            to
        }
        (None, true) => {
            config.default_profile = None;
            local_target()
        }
        // clap's group takes exactly one of the two.
        _ => return Err(Error::Usage("give a profile NAME or --local".into()).into()),
    };
    config.save()?;
    out.note(&format!("commands without --profile now go to {goes_to}"));
    // What still wins over the default in this shell, so that the switch is not a lie.
    for var in ["BAACK_PROFILE", "BAACK_API_URL", "BAACK_STORE"] {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            out.warn(&format!(
                "{var} is set in this environment and wins over the default profile"
            ));
        }
    }
    Ok(())
}

/// `auth list`: every profile, where it points, and which one is in use.
fn list(g: &Global, out: &Printer, config: &Config) -> Result<(), Failure> {
    let settings = Settings::resolve(g, config)?;
    let current = settings
        .profile
        .clone()
        .filter(|n| config.profiles.contains_key(n));
    if g.quiet {
        let names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        return out.value(&names.join("\n"));
    }
    if out.machine() {
        let profiles: Vec<Value> = config
            .profiles
            .iter()
            .map(|(n, p)| {
                json!({
                    "name": n,
                    "current": current.as_deref() == Some(n.as_str()),
                    "default": config.default_profile.as_deref() == Some(n.as_str()),
                    "apiUrl": p.api_url,
                    "store": p.store.as_ref().map(|s| s.display().to_string()),
                    "credentialStore": p.credential_store.map(|c| match c {
                        CredentialStore::Keyring => "keyring",
                        CredentialStore::File => "file",
                    }),
                })
            })
            .collect();
        return out.json(&json!({
            "current": current,
            "currentFrom": current.as_ref().and(settings.profile_origin).map(|o| o.to_string()),
            "profiles": profiles,
        }));
    }
    let rows = config
        .profiles
        .iter()
        .map(|(n, p)| {
            vec![
                if current.as_deref() == Some(n.as_str()) {
                    "*"
                } else {
                    ""
                }
                .to_string(),
                n.clone(),
                points_to(p),
                p.credential_store
                    .map_or("-", |c| match c {
                        CredentialStore::Keyring => "keyring",
                        CredentialStore::File => "file",
                    })
                    .to_string(),
            ]
        })
        .collect();
    out.table(&["CURRENT", "NAME", "POINTS TO", "TOKEN KEPT IN"], rows)?;
    if config.profiles.is_empty() {
        out.note("no profiles yet: make one with `baack auth login --profile NAME --api-url URL`");
    }
    match (&current, settings.profile_origin) {
        (Some(n), Some(o)) => out.note(&format!("in use: `{n}` (from {o})")),
        _ => out.note(&format!(
            "in use: no profile; commands go to {}",
            local_target()
        )),
    }
    Ok(())
}

/// `auth status`: what the credentials in use are, and whether they work.
fn status(g: &Global, out: &Printer, config: &Config) -> Result<(), Failure> {
    let settings = Settings::resolve(g, config)?;
    let (api, store, source, tried) = match &settings.target {
        Target::Embedded(path) => {
            let tried = super::open_store(path, settings.target_origin, out)
                .and_then(Client::embedded)
                .and_then(|c| Ok(c.send(&Call::new(Method::GET, "/n/v1/clientcontext"))?.body));
            (
                format!("embedded store {}", path.display()),
                Some(path.display().to_string()),
                None,
                Some(tried),
            )
        }
        Target::Remote { url, token } => {
            let tried = token.as_ref().map(|(t, _)| {
                super::remote_client(g, url, Some(t.clone()))
                    .and_then(|c| check(&c, t))
                    .and_then(|checked| match checked {
                        Checked::Context(ctx) => Ok(ctx),
                        Checked::Record(why, record) => {
                            out.note(&format!(
                                "{why}: the token was checked by reading its own record; its client's permissions are unknown"
                            ));
                            Ok(json!({ "client": { "clientID": record.pointer("/apiClient/urn") }, "permissions": null }))
                        }
                        Checked::Unchecked(why) => Err(Error::NoEndpoint(format!(
                            "{why}: whether the token works is unknown"
                        ))),
                    })
            });
            (
                url.clone(),
                None,
                token.as_ref().map(|(_, s)| s.to_string()),
                Some(tried).flatten(),
            )
        }
    };
    let embedded = store.is_some();
    // The token's own record, for its expiry and last use: `None` when there is no token,
    // it does not work, or -q wants only the exit status; `Some(None)` when its record
    // cannot be read.
    let record = match (&settings.target, &tried) {
        (
            Target::Remote {
                url,
                token: Some((t, _)),
            },
            Some(Ok(_)),
        ) if !g.quiet => {
            let urn = baack::secret::token_urn(&baack::secret::digest(t));
            let path = super::item_path("/n/v1/apiclientbearertoken/", &urn);
            let got = super::remote_client(g, url, Some(t.clone()))
                .and_then(|c| c.send(&Call::new(Method::GET, &path)))
                .ok()
                .map(|r| r.body);
            if let Some(r) = &got {
                super::expiry::remember(&urn, r, chrono::Utc::now().timestamp());
            }
            Some(got)
        }
        _ => None,
    };
    let field = |k: &str| -> Option<String> {
        record
            .as_ref()?
            .as_ref()?
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (expires, last_used) = (field("expirationTimestamp"), field("lastUsed"));
    let (state, ctx, failure) = match tried {
        None => (
            "not logged in".to_string(),
            None,
            Some(Error::NotLoggedIn(format!(
                "not logged in{}",
                settings.explain(false)
            ))),
        ),
        Some(Ok(ctx)) => ("ok".to_string(), Some(ctx), None),
        Some(Err(e)) => {
            use baack::ErrorKind as K;
            let state = match e.kind() {
                K::Unauthorized | K::Forbidden => "rejected",
                K::Unavailable => "unreachable",
                K::NoEndpoint => "unverified",
                _ => "failed",
            };
            (state.to_string(), None, Some(settings.annotate(e)))
        }
    };
    let client = ctx
        .as_ref()
        .and_then(|c| c.pointer("/client/clientID"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let perms: Vec<String> = ctx
        .as_ref()
        .and_then(|c| c.get("permissions"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // Where the server has no client context, what it cannot say is marked unknown.
    let unknown = state == "unverified"
        || ctx
            .as_ref()
            .is_some_and(|c| c.get("permissions") == Some(&Value::Null));
    let source_text = source.clone().unwrap_or_else(|| {
        if embedded {
            "none needed: the embedded store acts as its root client".into()
        } else {
            "none (not logged in)".into()
        }
    });
    let profile_from = settings.profile_origin.map(|o| o.to_string());
    if g.quiet {
        // The exit status alone answers.
    } else if out.machine() {
        out.json(&json!({
            "profile": settings.profile,
            "profileFrom": profile_from,
            "api": api,
            "apiFrom": settings.target_origin.to_string(),
            "store": store,
            "client": client,
            "permissions": if unknown { Value::Null } else { json!(perms) },
            "tokenSource": source,
            "tokenExpires": expires,
            "tokenLastUsed": last_used,
            "status": state,
            "error": failure.as_ref().map(ToString::to_string),
        }))?;
    } else {
        let profile = match (&settings.profile, &profile_from) {
            (Some(p), Some(o)) => format!("{p} (from {o})"),
            _ => "-".into(),
        };
        let api = match settings.target_origin {
            super::Origin::Profile | super::Origin::Default => api,
            o => format!("{api} (from {o})"),
        };
        let now = chrono::Utc::now().timestamp_millis();
        let expires_text = match (&record, &expires) {
            (None, _) => "-".to_string(),
            (Some(None), _) => "unknown (the token may not read its own record)".to_string(),
            (Some(Some(_)), None) => "never".to_string(),
            (Some(Some(_)), Some(at)) => {
                let shown = super::output::when(&Value::from(at.as_str()));
                match baack::clock::parse_timestamp(at) {
                    Some(ms) if ms <= now => {
                        format!("{shown} (expired {} ago)", super::output::coarse(now - ms))
                    }
                    Some(ms) => format!("{shown} (in {})", super::output::coarse(ms - now)),
                    None => shown,
                }
            }
        };
        let mut rows = vec![
            vec!["profile".into(), profile],
            vec!["api".into(), api],
            vec![
                "client".into(),
                client.unwrap_or_else(|| if unknown { "unknown" } else { "-" }.into()),
            ],
            vec![
                "permissions".into(),
                if unknown {
                    "unknown (this server has no client context)".into()
                } else if perms.is_empty() {
                    "-".into()
                } else {
                    perms.join(", ")
                },
            ],
            vec!["token from".into(), source_text],
            vec!["token expires".into(), expires_text],
        ];
        if let Some(used) = &last_used {
            let shown = super::output::when(&Value::from(used.as_str()));
            rows.push(vec![
                "token last used".into(),
                match baack::clock::parse_timestamp(used) {
                    Some(ms) => format!("{shown} ({} ago)", super::output::coarse(now - ms)),
                    None => shown,
                },
            ]);
        }
        rows.push(vec!["status".into(), state]);
        out.table(&["FIELD", "VALUE"], rows)?;
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// What the server says of a token.
enum Checked {
    /// Its client context.
    Context(Value),
    /// Where the server has no client context (why, in words): the token's own record.
    Record(String, Value),
    /// Neither can be read: why, in words.
    Unchecked(String),
}

/// Asks the server what `token` is: its client context, or, where the server has no
/// such endpoint (404, 405), the token's own record by the URN its value gives (a
/// documented read). A rejection (401) is an error either way.
fn check(client: &Client, token: &str) -> Result<Checked, Error> {
    const CONTEXT: &str = "/n/v1/clientcontext";
    let status = match client.send(&Call::new(Method::GET, CONTEXT)) {
        Ok(r) => return Ok(Checked::Context(r.body)),
        Err(Error::Remote { status, .. }) if matches!(status, 404 | 405) => status,
        Err(e) => return Err(e),
    };
    let why =
        format!("this server has no client context endpoint (GET {CONTEXT} answered {status})");
    let urn = baack::secret::token_urn(&baack::secret::digest(token));
    let path = super::item_path("/n/v1/apiclientbearertoken/", &urn);
    match client.send(&Call::new(Method::GET, &path)) {
        Ok(r) => Ok(Checked::Record(why, r.body)),
        Err(Error::Remote { status, .. }) if matches!(status, 404 | 405) => {
            Ok(Checked::Unchecked(format!(
                "{why}, and the token's own record cannot be read either (GET {path} answered {status}: it needs READ, or the token was made by a server other than baack)"
            )))
        }
        Err(e) => Err(e),
    }
}

/// Points `name` at a running server with `token`, as `baack serve --profile` does.
pub fn write_profile(
    name: &str,
    api_url: &str,
    token: &str,
    store: Option<std::path::PathBuf>,
    owner: &str,
    out: &Printer,
) -> Result<TokenSource, Error> {
    let mut config = Config::load()?;
    let choice = config.profiles.get(name).and_then(|p| p.credential_store);
    let source = config::store_token(name, token, choice, &|w| out.warn(w))?;
    let entry: &mut Profile = config.profiles.entry(name.to_string()).or_default();
    entry.api_url = Some(api_url.to_string());
    entry.store = store.or(entry.store.take());
    entry.default_owner = Some(owner.to_string());
    entry.credential_store = Some(match source {
        TokenSource::Keyring => CredentialStore::Keyring,
        _ => CredentialStore::File,
    });
    // Never the default: only `baack auth switch` changes where plain commands go.
    config.save()?;
    Ok(source)
}
