//! Generated files: the completion scripts in `completions/` and the man pages in `man/`,
//! both made from the clap definitions by `baack generate-assets DIR`. A test regenerates
//! them into a temp directory and fails when the committed copies differ.

use std::fs;
use std::path::Path;

use baack::Error;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

use super::complete::{self, Shell};

/// Examples per leaf command (and the top page), at the end of its `--help` and in its man
/// page's EXAMPLES; each also shown in README.md (a test keeps them there).
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
        &[
            "baack client create --client-id Android",
            "baack client create --client-id hooks --scope webhook.baack.co",
            "baack client create --client-id ci-deploy --if-not-exists -q",
        ],
    ),
    (
        "baack-token-rotate",
        &[
            "baack token rotate \"$OLD\" --overlap 24h --secret-file ./new.token",
            "baack token rotate \"$NEW\" --overlap 1h --until-unused --max-overlap 7d -q > ./newer.token",
        ],
    ),
    (
        "baack-oauth-rotate-secret",
        &[
            "baack oauth rotate-secret \"From a file\" --overlap 24h -q",
            "baack oauth rotate-secret Renamed --overlap 1h --secret-file ./rotated.secret",
        ],
    ),
    (
        "baack-oauth-token",
        &[
            "baack oauth token \"From a file\" --secret-file ./oauth.secret",
            "baack oauth token \"From a file\" --secret-file ./oauth.secret -q > access.jwt",
            "BAACK_OAUTH_SECRET=\"$(cat oauth.secret)\" baack oauth token \"From a file\" -o json --jq .claims",
        ],
    ),
    (
        "baack-oauth-introspect",
        &[
            "baack oauth introspect - < access.jwt",
            "baack oauth introspect access.jwt -o json --jq .active",
        ],
    ),
    (
        "baack-oauth-rotate-key",
        &["baack oauth rotate-key", "baack oauth rotate-key -q"],
    ),
    (
        "baack-plan",
        &[
            "baack plan -f access.yaml || echo \"exit $?\"",
            "baack plan -f access.yaml -o json --jq .summary || [ $? -eq 2 ]",
        ],
    ),
    (
        "baack-apply",
        &[
            "baack apply -f access.yaml",
            "baack apply -f access.yaml --prune --yes",
        ],
    ),
    (
        "baack-export",
        &[
            "baack export > backup.yaml",
            "baack export | baack plan -f -",
        ],
    ),
    (
        "baack-audit-log",
        &[
            "baack audit log",
            "baack audit log --since 24h --action apiclientbearertoken.rotate",
            "baack audit log --actor root --limit 5 -o json",
        ],
    ),
    (
        "baack-audit-check",
        &[
            "baack audit check --fail-on expires-within=1s,unused-for=90d",
            "baack audit check --fail-on no-expiry || echo \"exit $?\"",
        ],
    ),
    (
        "baack-audit-retention",
        &[
            "baack audit retention --keep 50000 --max-age 180d",
            "baack audit retention -o json",
        ],
    ),
    (
        "baack-client-list",
        &[
            "baack client list",
            "baack client list --jq '.[].clientID'",
            "baack client list -o json",
        ],
    ),
    (
        "baack-client-get",
        &[
            "baack client get Android",
            "baack client get Android -o yaml",
            "baack client get Android --jq .urn",
        ],
    ),
    (
        "baack-client-update",
        &[
            "baack client update Android --client-id android-app --scope api.baack.co",
            "baack client update hooks --scope api.baack.co",
        ],
    ),
    (
        "baack-client-delete",
        &[
            "baack client delete android-app --yes",
            "baack client delete hooks --yes -o json",
        ],
    ),
    (
        "baack-token-create",
        &[
            "baack token create --client Android --expires-in 90d --description \"android app, prod\"",
            "TOKEN=$(baack token create --client ci-deploy --expires-in 1h -q)",
            "baack token create --client Android --expires-at 2035-01-01T00:00:00Z --secret-file ./android.token",
        ],
    ),
    (
        "baack-token-list",
        &[
            "baack token list --client Android --expiring-within 7d",
            "baack token list --all",
            "baack token list --client ci-deploy -o json | jq -r '.[].urn'",
        ],
    ),
    (
        "baack-token-get",
        &[
            "baack token get \"$URN\"",
            "baack token get - < ./android.token",
            "baack token get \"$URN\" --jq .expirationTimestamp",
        ],
    ),
    (
        "baack-token-update",
        &[
            "baack token update \"$URN\" --description \"android app, staging\"",
            "baack token update \"$URN\" --description \"\"",
        ],
    ),
    (
        "baack-token-whois",
        &[
            "baack token whois - < ./second.token",
            "baack token whois - --offline < ./second.token",
            "baack token whois - --revoke < ./second.token",
        ],
    ),
    (
        "baack-token-revoke",
        &[
            "baack token revoke \"$URN\" --notice 24h",
            "baack token revoke \"$URN\"",
        ],
    ),
    (
        "baack-token-delete",
        &[
            "baack token delete - < ./second.token",
            "baack token delete \"$URN\" -y -q",
        ],
    ),
    (
        "baack-role-create",
        &[
            "baack role create --name Auditors --permission READ",
            "baack role create --name \"Content Viewer\" --permission VIEW_CONTENT",
        ],
    ),
    (
        "baack-role-list",
        &["baack role list", "baack role list --jq '.[].name'"],
    ),
    (
        "baack-role-get",
        &[
            "baack role get Auditors",
            "baack role get Auditors --jq '.clients[].urn'",
        ],
    ),
    (
        "baack-role-grant",
        &[
            "baack role grant Auditors --client ci --client Android",
            "baack role grant \"Content Viewer\" --client Android",
        ],
    ),
    (
        "baack-role-revoke",
        &[
            "baack role revoke Auditors --client Android",
            "baack role revoke Auditors --client ci --client Android",
        ],
    ),
    (
        "baack-role-delete",
        &[
            "baack role delete Auditors --yes",
            "baack role delete \"Content Viewer\" -y",
        ],
    ),
    (
        "baack-oauth-create",
        &[
            "baack oauth create --name \"Demo API Client\" --description \"CI\" --grant-type CLIENT_CREDENTIALS --access-type OFFLINE --access-token-validity 750",
            "baack oauth create --from-file client.json --secret-file ./oauth.secret",
        ],
    ),
    (
        "baack-oauth-list",
        &[
            "baack oauth list --filter 'lastUsed isnull'",
            "baack oauth list --jq '.[].id'",
        ],
    ),
    (
        "baack-oauth-get",
        &[
            "baack oauth get \"Demo API Client\"",
            "baack oauth get \"Demo API Client\" -o yaml",
        ],
    ),
    ("baack-oauth-get", &["baack oauth get \"Demo API Client\""]),
    (
        "baack-oauth-update",
        &[
            "baack oauth update \"Demo API Client\" --set name=Renamed --set accessTokenValiditySeconds=900",
            "baack oauth update Renamed --patch-file patch.json",
        ],
    ),
    (
        "baack-oauth-delete",
        &[
            "baack oauth delete Renamed --yes",
            "baack oauth delete \"From a file\" -y -q",
        ],
    ),
    (
        "baack-whoami",
        &["baack whoami", "baack whoami --jq .client.urn"],
    ),
    ("baack-version", &["baack version", "baack version -o json"]),
    (
        "baack-auth-login",
        &[
            "baack auth login --profile prod --api-url https://api.baack.co < token.txt",
            "baack auth login --profile prod --api-url https://api.baack.co --credential-store file < token.txt",
        ],
    ),
    (
        "baack-auth-logout",
        &["baack auth logout --profile prod", "baack auth logout"],
    ),
    (
        "baack-auth-status",
        &[
            "baack auth status",
            "baack auth status --profile prod -o json",
        ],
    ),
    (
        "baack-auth-switch",
        &["baack auth switch prod", "baack auth switch --local"],
    ),
    (
        "baack-auth-list",
        &["baack auth list", "baack auth list -o json"],
    ),
    (
        "baack-auth-token",
        &[
            "BAACK_TOKEN=$(baack auth token --profile prod)",
            "baack auth token --profile prod | baack auth login --profile prod-copy --api-url https://api.baack.co",
        ],
    ),
    (
        "baack-serve",
        &[
            "baack serve --listen 127.0.0.1:8080 --profile local",
            "baack serve --store ./demo-store",
        ],
    ),
    (
        "baack-init",
        &[
            "baack init --company-name Acme",
            "baack init --store ./demo-store -q > root.token",
        ],
    ),
    (
        "baack-completions",
        &[
            "baack completions bash > ~/.local/share/bash-completion/completions/baack",
            "baack completions zsh > \"${fpath[1]}/_baack\"",
        ],
    ),
];

/// The examples of `page` (`baack-token-create`) as the end of its help text.
pub fn examples_help(page: &str) -> Option<String> {
    let (_, examples) = EXAMPLES.iter().find(|(n, _)| *n == page)?;
    let mut text = String::from("Examples:");
    for ex in *examples {
        text.push_str("\n  ");
        text.push_str(ex);
    }
    Some(text)
}

/// The exit codes, for `baack --help` and the man pages (README's table is held to the
/// same codes by a test in `main.rs`).
pub const EXIT_STATUS: &[(&str, &str)] = &[
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
    (
        "9",
        "the server has no such endpoint (a list or the client context, which a real Baack deployment may lack): refer to objects by URN; never a missing object",
    ),
    (
        "10",
        "audit check found tokens or OAuth clients that break a --fail-on rule (listed on stdout)",
    ),
];

/// [`EXIT_STATUS`] as `--help` shows it: one code a line, wrapped under its text.
pub fn exit_status_help() -> String {
    const WIDTH: usize = 88;
    let mut out = String::from("Exit status:");
    for (code, text) in EXIT_STATUS {
        let mut line = format!("  {code:<2} ");
        let indent = line.len();
        for word in text.split(' ') {
            if line.len() + word.len() + 1 > WIDTH && line.len() > indent {
                out.push('\n');
                out.push_str(line.trim_end());
                line = " ".repeat(indent);
            }
            line.push_str(word);
            line.push(' ');
        }
        out.push('\n');
        out.push_str(line.trim_end());
    }
    out
}

/// The variables baack reads, for the man pages (`--help` lists the same: a test).
pub const ENVIRONMENT: &[(&str, &str)] = &[
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
    (
        "BAACK_OWNER",
        "The owner company's URN for creates (as --owner), for a server without the client context.",
    ),
    (
        "BAACK_WARN_BEFORE",
        "Warn when the command's own token expires within this long (default 7d, or the profile's warn_before; 0s: never).",
    ),
    (
        "BAACK_LOG",
        "Which events baack serve logs, in tracing's EnvFilter syntax (default info).",
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

fn page(cmd: &clap::Command, see_also: &[String]) -> Result<Vec<u8>, std::io::Error> {
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
    if !see_also.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        let refs: Vec<String> = see_also.iter().map(|p| format!("{p}(1)")).collect();
        roff.text([roman(refs.join(", "))]);
    }
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn display_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_string()
}

/// Writes the page of `cmd` and its subcommands'. SEE ALSO names the parent's page, the
/// sibling commands' and the subcommands'.
fn pages(
    cmd: &clap::Command,
    parent: Option<&clap::Command>,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), std::io::Error> {
    let visible = |c: &clap::Command| -> Vec<String> {
        c.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(display_name)
            .collect()
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub, Some(cmd), out)?;
    }
    let name = display_name(cmd);
    let mut see_also: Vec<String> = Vec::new();
    if let Some(p) = parent {
        see_also.push(display_name(p));
        see_also.extend(visible(p).into_iter().filter(|n| *n != name));
    }
    see_also.extend(visible(cmd));
    out.push((format!("{name}.1"), page(cmd, &see_also)?));
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
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    let mut man = Vec::new();
    pages(&cmd, None, &mut man)
        .map_err(|e| Error::Internal(format!("cannot render man pages: {e}")))?;
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
