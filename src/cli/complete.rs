//! Shell completion: the registration scripts of clap_complete's dynamic mechanism, and
//! the completers of values (client IDs, token URNs, role names, OAuth ids, profiles) read
//! from the current profile's store or server. A completer answers within about 200 ms and,
//! on any error, completes nothing rather than printing into the shell.

use std::time::Duration;

use baack::client::{Client, Policy};
use baack::store::Store;
use clap::ValueEnum;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::Shells;
use serde_json::Value;

use super::config::Config;
use super::{Global, OutputFormat, Settings, Target};

/// The environment variable that switches the binary into completion mode.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// A shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
    /// PowerShell
    Powershell,
    /// Elvish
    Elvish,
}

impl Shell {
    /// Every shell, with the file name its script has in `completions/`.
    pub const FILES: [(Shell, &'static str); 5] = [
        (Shell::Bash, "baack.bash"),
        (Shell::Zsh, "_baack"),
        (Shell::Fish, "baack.fish"),
        (Shell::Powershell, "_baack.ps1"),
        (Shell::Elvish, "baack.elv"),
    ];

    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Elvish => "elvish",
        }
    }
}

/// The completion script for `shell`: it asks `baack` (on PATH) for candidates.
pub fn script(shell: Shell) -> Result<String, baack::Error> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell.name())
        .ok_or_else(|| baack::Error::Internal(format!("no completer for {}", shell.name())))?;
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, "baack", "baack", "baack", &mut buf)
        .map_err(|e| baack::Error::Internal(format!("cannot write the script: {e}")))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The value of `--flag` (or `--flag=v`) among the words being completed.
fn flag_value(words: &[String], flag: &str) -> Option<String> {
    let eq = format!("{flag}=");
    words.iter().enumerate().find_map(|(i, w)| {
        if w == flag {
            words.get(i + 1).cloned()
        } else {
            w.strip_prefix(&eq).map(str::to_string)
        }
    })
}

/// The settings of the command line being completed: its own --store, --profile and
/// --api-url, else the environment and config, as a real run would see them.
fn settings() -> Option<Settings> {
    let words: Vec<String> = std::env::args().skip_while(|a| a != "--").collect();
    let g = Global {
        store: flag_value(&words, "--store")
            .map(Into::into)
            .or_else(|| std::env::var_os("BAACK_STORE").map(Into::into)),
        api_url: flag_value(&words, "--api-url").or_else(|| std::env::var("BAACK_API_URL").ok()),
        profile: flag_value(&words, "--profile").or_else(|| std::env::var("BAACK_PROFILE").ok()),
        output: OutputFormat::Table,
        jq: None,
        quiet: true,
        verbose: false,
        timeout: Duration::from_millis(150),
        retries: 0,
    };
    Settings::resolve(&g, &Config::load().ok()?).ok()
}

/// What a completer lists.
#[derive(Clone, Copy)]
enum What {
    Clients,
    Tokens,
    Roles,
    OAuth,
}

fn from_store(store: &Store, what: What) -> Option<Vec<CompletionCandidate>> {
    let all = usize::MAX;
    Some(match what {
        What::Clients => store
            .clients(None, all)
            .ok()?
            .0
            .into_iter()
            .map(|c| CompletionCandidate::new(c.client_id).help(Some(c.scope.as_str().into())))
            .collect(),
        What::Tokens => {
            let clients = store.clients(None, all).ok()?.0;
            store
                .tokens(None, None, all)
                .ok()?
                .0
                .into_iter()
                .map(|t| {
                    let owner = clients
                        .iter()
                        .find(|c| c.urn == t.client)
                        .map_or(t.client.clone(), |c| c.client_id.clone());
                    CompletionCandidate::new(t.urn).help(Some(owner.into()))
                })
                .collect()
        }
        What::Roles => store
            .roles(None, all)
            .ok()?
            .0
            .into_iter()
            .map(|r| CompletionCandidate::new(r.name))
            .collect(),
        What::OAuth => store
            .oauth_all()
            .ok()?
            .into_iter()
            .map(|o| CompletionCandidate::new(o.id).help(Some(o.fields.name.into())))
            .collect(),
    })
}

fn from_api(client: &Client, what: What) -> Option<Vec<CompletionCandidate>> {
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Some(match what {
        What::Clients => client
            .list_all("/n/v1/apiclient/?limit=1000", "apiClients")
            .ok()?
            .iter()
            .map(|c| CompletionCandidate::new(s(c, "clientID")).help(Some(s(c, "scope").into())))
            .collect(),
        What::Tokens => client
            .list_all("/n/v1/apiclientbearertoken/?limit=1000", "bearerTokens")
            .ok()?
            .iter()
            .map(|t| {
                let owner = t
                    .pointer("/apiClient/urn")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                CompletionCandidate::new(s(t, "urn")).help(Some(owner.to_string().into()))
            })
            .collect(),
        What::Roles => client
            .list_all("/n/v1/permissionrole/?limit=1000", "permissionRoles")
            .ok()?
            .iter()
            .map(|r| CompletionCandidate::new(s(r, "name")))
            .collect(),
        What::OAuth => {
            let r = client
                .send(&baack::client::Call::new(
                    http::Method::GET,
                    "/v3/oauth-clients",
                ))
                .ok()?;
            r.body
                .as_array()?
                .iter()
                .map(|o| CompletionCandidate::new(s(o, "id")).help(Some(s(o, "name").into())))
                .collect()
        }
    })
}

fn candidates(what: What) -> Vec<CompletionCandidate> {
    let found = settings().and_then(|st| match st.target {
        // Never create a store just to complete a word.
        Target::Embedded(path) => from_store(&Store::open(&path).ok()?, what),
        Target::Remote { url, token } => {
            let policy = Policy {
                timeout: Duration::from_millis(150),
                retries: 0,
            };
            from_api(
                &Client::remote(&url, token.map(|t| t.0), policy).ok()?,
                what,
            )
        }
    });
    found.unwrap_or_default()
}

/// Completes API client IDs.
pub fn clients() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(What::Clients))
}

/// Completes token URNs, each described by its client.
pub fn tokens() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(What::Tokens))
}

/// Completes role names.
pub fn roles() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(What::Roles))
}

/// Completes OAuth client ids, each described by its name.
pub fn oauth_ids() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(What::OAuth))
}

/// Completes profile names from config.toml.
pub fn profiles() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        Config::load()
            .map(|c| {
                c.profiles
                    .into_keys()
                    .map(CompletionCandidate::new)
                    .collect()
            })
            .unwrap_or_default()
    })
}
