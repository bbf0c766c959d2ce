//! Generated files: the completion scripts in `completions/` and the man pages in `man/`,
//! both made from the clap definitions by `baack generate-assets DIR`. A test regenerates
//! them into a temp directory and fails when the committed copies differ.

use std::fs;
use std::path::Path;

use baack::Error;
use clap::CommandFactory;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

use super::Cli;
use super::complete::{self, Shell};

/// Examples per command, each also shown in README.md (a test keeps them there).
pub const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "baack",
        &[
            "baack client create --client-id Android",
            "baack token create --client Android --expires-in 30d",
            "baack role grant Auditors --client ci --client Android",
        ],
    ),
    (
        "baack-client-create",
        &["baack client create --client-id Android"],
    ),
    ("baack-client-list", &["baack client list"]),
    ("baack-client-get", &["baack client get Android"]),
    (
        "baack-client-update",
        &["baack client update Android --client-id android-app --scope api.baack.co"],
    ),
    (
        "baack-client-delete",
        &["baack client delete android-app --yes"],
    ),
    (
        "baack-token-create",
        &[
            "baack token create --client Android --expires-in 30d",
            "TOKEN=$(baack token create --client Android -q)",
        ],
    ),
    (
        "baack-token-list",
        &["baack token list --client Android --expiring-within 7d"],
    ),
    (
        "baack-token-get",
        &[
            "baack token get \"$URN\"",
            "baack token get - < ./android.token",
        ],
    ),
    (
        "baack-token-revoke",
        &["baack token revoke \"$URN\" --notice 24h"],
    ),
    (
        "baack-token-delete",
        &["baack token delete - < ./second.token"],
    ),
    (
        "baack-role-create",
        &["baack role create --name Auditors --permission READ"],
    ),
    ("baack-role-list", &["baack role list"]),
    ("baack-role-get", &["baack role get Auditors"]),
    (
        "baack-role-grant",
        &["baack role grant Auditors --client ci --client Android"],
    ),
    (
        "baack-role-revoke",
        &["baack role revoke Auditors --client Android"],
    ),
    ("baack-role-delete", &["baack role delete Auditors --yes"]),
    (
        "baack-oauth-create",
        &["baack oauth create --from-file client.json --secret-file ./oauth.secret"],
    ),
    (
        "baack-oauth-list",
        &["baack oauth list --filter 'lastUsed isnull'"],
    ),
    ("baack-oauth-get", &["baack oauth get \"Demo API Client\""]),
    (
        "baack-oauth-update",
        &[
            "baack oauth update \"Demo API Client\" --set name=Renamed --set accessTokenValiditySeconds=900",
        ],
    ),
    ("baack-oauth-delete", &["baack oauth delete Renamed --yes"]),
    ("baack-whoami", &["baack whoami"]),
    (
        "baack-auth-login",
        &["baack auth login --profile prod --api-url https://api.baack.co < token.txt"],
    ),
    ("baack-auth-status", &["baack auth status"]),
    (
        "baack-auth-switch",
        &["baack auth switch prod", "baack auth switch --local"],
    ),
    ("baack-auth-list", &["baack auth list"]),
    (
        "baack-auth-token",
        &["BAACK_TOKEN=$(baack auth token --profile prod)"],
    ),
    (
        "baack-serve",
        &["baack serve --listen 127.0.0.1:8080 --profile local"],
    ),
    ("baack-init", &["baack init --company-name Acme"]),
    (
        "baack-completions",
        &["baack completions bash > ~/.local/share/bash-completion/completions/baack"],
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "ok"),
    (
        "1",
        "server error or unexpected; auth status when not logged in",
    ),
    ("2", "usage error"),
    ("3", "not found"),
    ("4", "unauthorized or forbidden"),
    ("5", "invalid input (HTTP 400)"),
    ("6", "rate limited after retries"),
    (
        "7",
        "cannot reach the server (or it answered 502/503/504) or open the store (a --store path that holds no store, serve cannot listen, its lock stayed held, or a store or config directory is writable by other users)",
    ),
    (
        "8",
        "conflict: an object of that name exists already and differs from what was asked (create --if-not-exists accepts one that matches), or it changed since it was read (HTTP 409, 412)",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "BAACK_API_URL",
        "A remote Baack-compatible API; without it, the embedded store is used.",
    ),
    (
        "BAACK_TOKEN",
        "The bearer token for the remote API; it wins over the keyring and the credentials file.",
    ),
    ("BAACK_PROFILE", "The profile of config.toml to use."),
    (
        "BAACK_STORE",
        "The embedded store directory; it must hold a store (`baack init --store PATH` makes one), as only the default one is created on first use.",
    ),
    (
        "BAACK_CONFIG_DIR",
        "Where config.toml and credentials.toml live.",
    ),
    (
        "BAACK_CREDENTIAL_STORE",
        "Where auth login keeps tokens: keyring or file.",
    ),
    ("BAACK_KEYRING", "Set to off to never try the OS keyring."),
    (
        "BAACK_LOCK_TIMEOUT",
        "How long a write waits for the store's lock: a duration such as 500ms or 10s, or seconds (default 10s); then exit 7.",
    ),
    ("NO_COLOR", "No colour in tables."),
];

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_DATA_HOME/baack/store/",
        "The default embedded store (0700; files 0600).",
    ),
    (
        "$XDG_CONFIG_HOME/baack/config.toml",
        "Profiles and the default profile.",
    ),
    (
        "$XDG_CONFIG_HOME/baack/credentials.toml",
        "Tokens of profiles that keep them in a file (0600).",
    ),
];

fn tagged(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (k, v) in items {
        roff.control("TP", []).text([bold(*k)]).text([roman(*v)]);
    }
}

fn page(cmd: &clap::Command) -> Result<Vec<u8>, std::io::Error> {
    let man = Man::new(cmd.clone())
        .date("")
        .source(concat!("baack ", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let mut roff = Roff::new();
    if let Some((_, examples)) = EXAMPLES.iter().find(|(n, _)| *n == name) {
        roff.control("SH", ["EXAMPLES"]);
        for ex in *examples {
            roff.control("TP", [])
                .text([roman("")])
                .control("nf", [])
                .text([roman(*ex)])
                .control("fi", []);
        }
    }
    tagged(&mut roff, "EXIT STATUS", EXIT_STATUS);
    tagged(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    tagged(&mut roff, "FILES", FILES);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn pages(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), std::io::Error> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub, out)?;
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    out.push((format!("{name}.1"), page(cmd)?));
    Ok(())
}

/// Every generated file: (path relative to the project, contents).
pub fn assets() -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut files = Vec::new();
    for (shell, file) in Shell::FILES {
        files.push((
            format!("completions/{file}"),
            complete::script(shell)?.into_bytes(),
        ));
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut man = Vec::new();
    pages(&cmd, &mut man).map_err(|e| Error::Internal(format!("cannot render man pages: {e}")))?;
    files.extend(man.into_iter().map(|(n, b)| (format!("man/{n}"), b)));
    Ok(files)
}

/// Writes every generated file under `dir`; returns how many.
pub fn generate(dir: &Path) -> Result<usize, Error> {
    let files = assets()?;
    for (rel, bytes) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(files.len())
}
