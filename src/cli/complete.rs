//! Shell completion: the registration scripts of clap_complete's dynamic mechanism (its
//! bash adapter wrapped so that values with spaces are inserted quoted), and the
//! completers of values (client IDs, token URNs, role names, OAuth ids, profiles) read
//! from the current profile's store or server. A completer answers within about 200 ms and,
//! on any error, completes nothing rather than printing into the shell.

use std::time::Duration;

use baack::client::{Client, Policy};
use baack::store::Store;
use clap::ValueEnum;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Shells, Zsh};
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

/// The shells completion serves: clap_complete's, bash's wrapped in [`QuotingBash`].
pub const SHELLS: Shells<'static> = Shells(&[&QuotingBash, &Elvish, &Fish, &Powershell, &Zsh]);

/// The variable the bash script sets to the first character of the word being completed,
/// so that a completion knows whether the word opened a quote.
const OPEN_QUOTE_VAR: &str = "_BAACK_OPEN_QUOTE";

/// clap_complete's bash adapter, but a value that the shell would split or expand
/// (`Content Viewer`) is inserted double-quoted (`"Content Viewer"`); inside a quote the
/// person opened, it is inserted as it is and readline closes the quote.
struct QuotingBash;

impl EnvCompleter for QuotingBash {
    fn name(&self) -> &'static str {
        Bash.name()
    }

    fn is(&self, name: &str) -> bool {
        Bash.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut plain = Vec::new();
        Bash.write_registration(var, name, bin, completer, &mut plain)?;
        let plain = String::from_utf8_lossy(&plain);
        let anchor = format!("{var}=\"bash\" \\");
        if !plain.contains(&anchor) {
            return Err(std::io::Error::other(
                "clap_complete's bash script no longer sets the completion variable as QuotingBash expects",
            ));
        }
        let with_quote =
            format!("{OPEN_QUOTE_VAR}=\"${{COMP_WORDS[COMP_CWORD]:0:1}}\" \\\n        {anchor}");
        buf.write_all(plain.replacen(&anchor, &with_quote, 1).as_bytes())
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<std::ffi::OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        // As clap_complete's bash adapter reads them.
        let index: usize = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse().ok())
            .unwrap_or_default();
        let ifs = std::env::var("_CLAP_IFS").unwrap_or_else(|_| "\n".into());
        let open = std::env::var(OPEN_QUOTE_VAR).ok();
        let found = clap_complete::engine::complete(cmd, args, index, current_dir)?;
        for (i, c) in found.iter().enumerate() {
            if i != 0 {
                buf.write_all(ifs.as_bytes())?;
            }
            let value = c.get_value().to_string_lossy();
            buf.write_all(bash_word(&value, open.as_deref()).as_bytes())?;
        }
        Ok(())
    }
}

/// `value` as bash should insert it: as it is when it is safe, double-quoted when the
/// shell would split or expand it, and only escaped inside a quote already open.
fn bash_word(value: &str, open: Option<&str>) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    let escaped = || {
        value
            .chars()
            .flat_map(|c| {
                let esc = matches!(c, '"' | '\\' | '$' | '`').then_some('\\');
                esc.into_iter().chain(std::iter::once(c))
            })
            .collect::<String>()
    };
    match open {
        Some("\"") => escaped(),
        Some("'") => value.to_string(),
        _ if value.chars().all(safe) => value.to_string(),
        _ => format!("\"{}\"", escaped()),
    }
}

/// The completion script for `shell`: it asks `baack` (on PATH) for candidates.
pub fn script(shell: Shell) -> Result<String, baack::Error> {
    let shells = SHELLS;
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
    // What came from a variable rather than the line being completed.
    let from_env = [
        ("--store", "BAACK_STORE"),
        ("--api-url", "BAACK_API_URL"),
        ("--profile", "BAACK_PROFILE"),
    ]
    .into_iter()
    .filter(|(flag, var)| flag_value(&words, flag).is_none() && std::env::var_os(var).is_some())
    .map(|(_, var)| var)
    .collect();
    let g = Global {
        from_env,
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
        owner: None,
        strict: false,
    };
    Settings::resolve(&g, &Config::load().ok()?).ok()
}

/// What a completer lists.
#[derive(Clone, Copy, PartialEq, Eq)]
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
            let now = chrono::Utc::now().timestamp_millis();
            store
                .tokens(None, None, all)
                .ok()?
                .0
                .into_iter()
                .filter(|t| t.is_live(now))
                .map(|t| {
                    let owner = clients
                        .iter()
                        .find(|c| c.urn == t.client)
                        .map_or(t.client.as_str(), |c| c.client_id.as_str());
                    let help = token_help(owner, t.expires);
                    CompletionCandidate::new(t.urn).help(Some(help.into()))
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

/// What a token candidate says of itself: its client's name, and its expiry's date.
fn token_help(client: &str, expires: Option<i64>) -> String {
    match expires.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(at) => format!("{client}, expires {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => format!("{client}, never expires"),
    }
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
        What::Tokens => {
            let now = chrono::Utc::now().timestamp_millis();
            // The names of the tokens' clients; a URN stands in where it cannot be read.
            let names: std::collections::HashMap<String, String> = client
                .list_all("/n/v1/apiclient/?limit=1000", "apiClients")
                .unwrap_or_default()
                .iter()
                .map(|c| (s(c, "urn"), s(c, "clientID")))
                .collect();
            client
                .list_all("/n/v1/apiclientbearertoken/?limit=1000", "bearerTokens")
                .ok()?
                .iter()
                .filter_map(|t| {
                    let expires = t
                        .get("expirationTimestamp")
                        .and_then(Value::as_str)
                        .and_then(baack::clock::parse_timestamp);
                    if expires.is_some_and(|e| e <= now) {
                        return None;
                    }
                    let owner = s(t.pointer("/apiClient").unwrap_or(&Value::Null), "urn");
                    let owner = names.get(&owner).unwrap_or(&owner);
                    let help = token_help(owner, expires);
                    Some(CompletionCandidate::new(s(t, "urn")).help(Some(help.into())))
                })
                .collect()
        }
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
        // A server known to lack the list endpoints is not asked again.
        Target::Remote { url, .. }
            if what != What::OAuth
                && super::capabilities::known(st.profile.as_deref(), &url)
                    .is_some_and(|k| !k.additions) =>
        {
            None
        }
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
