//! `baack auth …`: log a profile in (token from stdin or a hidden prompt, never a flag),
//! out, show where credentials come from, and print the token for scripts.

use std::io::{IsTerminal, Read};

use baack::Error;
use baack::client::{Call, Client, Policy};
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
    /// flag, so it stays out of shell history and process lists.
    Login {
        /// The API URL of the profile
        #[arg(long, value_name = "URL")]
        api_url: String,
        /// Where to keep the token [default: keyring, falling back to the file with a warning]
        #[arg(long, value_enum, env = "BAACK_CREDENTIAL_STORE")]
        credential_store: Option<CredentialStore>,
    },
    /// Forget the profile's stored token (keyring and file)
    Logout,
    /// Show the profile, URL, client, permissions and where the token comes from
    Status,
    /// Print the profile's token, for scripts
    Token,
}

fn profile_name(g: &Global, config: &Config) -> String {
    g.profile
        .clone()
        .or_else(|| config.default_profile.clone())
        .unwrap_or_else(|| "default".to_string())
}

fn read_token() -> Result<String, Error> {
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("bearer token (input hidden): ")
            .map_err(|e| Error::Usage(format!("cannot read the token: {e}")))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::Usage(format!("cannot read the token from stdin: {e}")))?;
        s
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(Error::Usage(
            "no token given: pipe it on stdin, e.g. `baack auth login --api-url URL < token-file`"
                .into(),
        ));
    }
    Ok(token)
}

/// Runs an auth command.
pub fn run(g: &Global, out: &Printer, cmd: AuthCmd) -> Result<(), Failure> {
    let mut config = Config::load()?;
    let name = profile_name(g, &config);
    match cmd {
        AuthCmd::Login {
            api_url,
            credential_store,
        } => {
            let token = read_token()?;
            // A Baack token with a bad checksum is a typo: say so before any request.
            if token.starts_with(baack::secret::TOKEN_PREFIX)
                && let Err(why) = check_bearer_token(&token)
            {
                return Err(Error::Usage(format!("that token is malformed: {why}")).into());
            }
            let client = Client::remote(
                &api_url,
                Some(token.clone()),
                Policy {
                    timeout: g.timeout,
                    retries: g.retries,
                },
            )?;
            let ctx = client
                .send(&Call::new(Method::GET, "/n/v1/clientcontext"))?
                .body;
            let source = config::store_token(&name, &token, credential_store, &|w| out.warn(w))?;
            let entry = config.profiles.entry(name.clone()).or_default();
            entry.api_url = Some(api_url.trim_end_matches('/').to_string());
            entry.credential_store = Some(match source {
                TokenSource::Keyring => CredentialStore::Keyring,
                _ => CredentialStore::File,
            });
            if let Some(owner) = ctx.pointer("/owner/urn").and_then(Value::as_str) {
                entry.default_owner = Some(owner.to_string());
            }
            if config.default_profile.is_none() {
                config.default_profile = Some(name.clone());
            }
            config.save()?;
            let who = ctx
                .pointer("/client/clientID")
                .and_then(Value::as_str)
                .unwrap_or("?");
            out.note(&format!(
                "logged in to {api_url} as `{who}` (profile `{name}`; token kept in {source})"
            ));
            Ok(())
        }
        AuthCmd::Logout => {
            let from_keyring = match config::keyring_delete(&name) {
                Ok(b) => b,
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
        AuthCmd::Status => status(g, out, &config, &name),
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
    }
}

fn status(g: &Global, out: &Printer, config: &Config, name: &str) -> Result<(), Failure> {
    let settings = Settings::resolve(g, config)?;
    let (url, source, ctx) = match &settings.target {
        Target::Embedded(path) => (
            format!("embedded store {}", path.display()),
            "none needed: the embedded store acts as its root client".to_string(),
            None,
        ),
        Target::Remote { url, token } => {
            let source = token
                .as_ref()
                .map_or("none (not logged in)".to_string(), |(_, s)| s.to_string());
            let ctx = match token {
                Some((t, _)) => {
                    let client = Client::remote(
                        url,
                        Some(t.clone()),
                        Policy {
                            timeout: g.timeout,
                            retries: g.retries,
                        },
                    )?;
                    Some(
                        client
                            .send(&Call::new(Method::GET, "/n/v1/clientcontext"))?
                            .body,
                    )
                }
                None => None,
            };
            (url.clone(), source, ctx)
        }
    };
    let ctx = match (ctx, &settings.target) {
        (Some(c), _) => Some(c),
        (None, Target::Embedded(_)) => {
            let c = super::Ctx::connect(g, Printer::new(g))?;
            Some(c.get("/n/v1/clientcontext")?)
        }
        _ => None,
    };
    let profile = settings.profile.clone().unwrap_or_else(|| name.to_string());
    let client = ctx
        .as_ref()
        .and_then(|c| c.pointer("/client/clientID"))
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string();
    let perms = ctx
        .as_ref()
        .and_then(|c| c.get("permissions"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "-".into());
    if out.machine() {
        return out.json(&json!({
            "profile": profile, "api": url, "client": client,
            "permissions": perms, "tokenSource": source,
        }));
    }
    out.table(
        &["FIELD", "VALUE"],
        vec![
            vec!["profile".into(), profile],
            vec!["api".into(), url],
            vec!["client".into(), client],
            vec!["permissions".into(), perms],
            vec!["token from".into(), source],
        ],
    )
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
    if config.default_profile.is_none() {
        config.default_profile = Some(name.to_string());
    }
    config.save()?;
    Ok(source)
}
