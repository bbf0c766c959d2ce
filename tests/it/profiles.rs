//! Profiles, credentials, completions and man pages: `auth login/logout/status/token`,
//! `serve --profile`, the token source chain, shell completion through a real bash, and
//! the generated files kept true to the code.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{Server, baack, bin, run_with_stdin};

/// A `baack` with its own config directory.
fn with_config(dir: &Path) -> Command {
    let mut c = baack();
    c.env("BAACK_CONFIG_DIR", dir).stdin(Stdio::null());
    c
}

fn login(config: &Path, args: &[&str], token: &str) -> Output {
    run_with_stdin(
        with_config(config).args(["auth", "login"]).args(args),
        &format!("{token}\n"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn login_to_a_file_then_use_status_token_and_logout() {
    let srv = Server::start();
    let cfg = tempfile::tempdir().unwrap();
    let out = login(
        cfg.path(),
        &[
            "--profile",
            "dev",
            "--api-url",
            &srv.base,
            "--credential-store",
            "file",
        ],
        srv.root(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains(srv.root()),
        "login never echoes the token"
    );

    let creds = cfg.path().join("credentials.toml");
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&creds)
            .unwrap()
            .contains(srv.root())
    );
    let config = std::fs::read_to_string(cfg.path().join("config.toml")).unwrap();
    assert!(
        config.contains(&srv.base) && config.contains("[profiles.dev]"),
        "{config}"
    );
    assert!(
        !config.contains(srv.root()),
        "the token never goes into config.toml"
    );

    // Logging in changes no default (this is no terminal, so nothing was asked): it
    // says how to use the profile, and `auth switch` makes it the default.
    let said = text(&out.stderr);
    assert!(
        said.contains("--profile dev") && said.contains("baack auth switch dev"),
        "{said}"
    );
    assert!(!config.contains("default_profile"), "{config}");
    let out = with_config(cfg.path())
        .args(["auth", "switch", "dev"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = with_config(cfg.path())
        .args(["client", "list", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);

    let out = with_config(cfg.path())
        .args(["auth", "status"])
        .output()
        .unwrap();
    let status = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        status.contains("dev") && status.contains(&srv.base),
        "{status}"
    );
    assert!(
        status.contains("root") && status.contains("ADMINISTER"),
        "{status}"
    );
    assert!(
        status.contains("file (") && status.contains("credentials.toml"),
        "{status}"
    );
    assert!(!status.contains(srv.root()), "status never shows the token");

    // BAACK_TOKEN wins over the file, and status says so.
    let out = with_config(cfg.path())
        .env("BAACK_TOKEN", srv.root())
        .args(["auth", "status", "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tokenSource"], "environment (BAACK_TOKEN)");

    let out = with_config(cfg.path())
        .args(["auth", "token"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), srv.root());

    let out = with_config(cfg.path())
        .args(["auth", "logout"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !std::fs::read_to_string(&creds)
            .unwrap()
            .contains(srv.root())
    );
    let out = with_config(cfg.path())
        .args(["client", "list"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "logged out: {}",
        text(&out.stderr)
    );
    // The 401 names the profile, where it came from, and how to change it.
    let err = text(&out.stderr);
    for want in [
        "profile `dev` (from default_profile in config.toml)",
        "no token (not logged in)",
        "baack auth login --profile dev",
        "baack auth switch --local",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let out = with_config(cfg.path())
        .args(["auth", "token"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn without_a_keyring_login_warns_and_names_the_file_or_refuses() {
    let srv = Server::start();
    let cfg = tempfile::tempdir().unwrap();
    // Default choice: the keyring is unreachable here (the session bus is a path that
    // does not exist, so no real keyring is ever touched), so the token goes to the
    // file, after a warning naming it.
    let out = run_with_stdin(
        with_config(cfg.path()).env_remove("BAACK_KEYRING").args([
            "auth",
            "login",
            "--api-url",
            &srv.base,
        ]),
        &format!("{}\n", srv.root()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("credentials.toml"),
        "{err}"
    );
    assert!(err.contains("keyring"), "{err}");
    // BAACK_KEYRING=off asks for exactly the file: no warning at all, at login or logout.
    let cfg_off = tempfile::tempdir().unwrap();
    let out = login(cfg_off.path(), &["--api-url", &srv.base], srv.root());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        !err.contains("warning") && !err.contains("keyring"),
        "{err}"
    );
    assert!(err.contains("credentials.toml"), "where it went: {err}");
    let out = with_config(cfg_off.path())
        .args(["auth", "logout"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );

    // Keyring chosen explicitly: refused plainly, nothing stored.
    let cfg2 = tempfile::tempdir().unwrap();
    let out = login(
        cfg2.path(),
        &["--api-url", &srv.base, "--credential-store", "keyring"],
        srv.root(),
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--credential-store file"));
    assert!(!cfg2.path().join("credentials.toml").exists());
}

#[test]
fn a_bad_token_is_not_stored_and_tokens_never_come_from_flags() {
    let srv = Server::start();
    let cfg = tempfile::tempdir().unwrap();
    let mut bad = srv.root().to_string();
    bad.replace_range(5..6, if &bad[5..6] == "a" { "b" } else { "a" });
    let out = login(
        cfg.path(),
        &["--api-url", &srv.base, "--credential-store", "file"],
        &bad,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a typo is caught by the checksum"
    );
    let unknown = "bk_0000000000000000000000000000000000000000";
    let out = login(
        cfg.path(),
        &["--api-url", &srv.base, "--credential-store", "file"],
        unknown,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(!cfg.path().join("credentials.toml").exists());
    let out = with_config(cfg.path())
        .args([
            "auth",
            "login",
            "--api-url",
            &srv.base,
            "--token",
            srv.root(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "there is no --token flag");
}

#[test]
fn serve_with_a_profile_logs_the_cli_in() {
    let cfg = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let serve = || {
        let mut cmd = with_config(cfg.path());
        cmd.args([
            "serve",
            "--profile",
            "local",
            "--listen",
            "127.0.0.1:0",
            "--store",
        ])
        .arg(store.path().join("s"));
        Server::spawn(cmd)
    };
    let srv = serve();
    let out = with_config(cfg.path())
        .args(["--profile", "local", "client", "list", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let log = srv.log().join("\n");
    assert!(log.contains("profile `local`"), "{log}");
    assert!(
        log.contains("credentials.toml"),
        "the file fallback is named: {log}"
    );
    drop(srv);

    // An existing store: the profile gets a new root token, and works again.
    let _srv = serve();
    let out = with_config(cfg.path())
        .args(["--profile", "local", "whoami", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn an_unknown_profile_is_a_usage_error_with_the_fix() {
    let cfg = tempfile::tempdir().unwrap();
    let out = with_config(cfg.path())
        .args(["--profile", "nope", "client", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("baack auth login --profile nope"));
}

// --- completions ------------------------------------------------------------------------

/// Runs `script` in bash with `baack` on PATH and the completion script sourced.
fn bash(store: &Path, script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(bin(), dir.path().join("baack")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let full = format!(
        "source {}\n{script}",
        project().join("completions/baack.bash").display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &full])
        .env("PATH", path)
        .env("BAACK_STORE", store)
        .env("BAACK_CONFIG_DIR", dir.path().join("config"))
        .env("BAACK_KEYRING", "off")
        .env_remove("BAACK_API_URL")
        .env_remove("BAACK_PROFILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn complete_words(words: &str) -> String {
    // COMP_WORDS as bash would split the line; the last word is being completed.
    format!(
        "COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         _clap_complete_baack baack \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
}

#[test]
fn bash_completes_subcommands_and_client_ids_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = baack()
        .arg("init")
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success());
    for id in ["Android", "ios-app"] {
        let out = baack()
            .env("BAACK_STORE", &store)
            .args(["client", "create", "--client-id", id, "-q"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let registered = bash(&store, "complete -p baack");
    assert!(registered.contains("_clap_complete_baack"), "{registered}");

    let subs = bash(&store, &complete_words("baack ''"));
    for s in [
        "client", "token", "role", "oauth", "whoami", "auth", "serve",
    ] {
        assert!(subs.lines().any(|l| l == s), "{s} missing from {subs}");
    }
    let ids = bash(&store, &complete_words("baack client get ''"));
    for id in ["Android", "ios-app", "root"] {
        assert!(ids.lines().any(|l| l == id), "{id} missing from {ids}");
    }
    let a = bash(&store, &complete_words("baack token create --client An"));
    assert_eq!(a.trim(), "Android");
    let perms = bash(&store, &complete_words("baack role create --permission ''"));
    assert!(perms.contains("VIEW_CONTENT"), "{perms}");
}

#[test]
fn completion_on_a_broken_store_completes_nothing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meta.json"), b"garbage").unwrap();
    let out = baack()
        .env("BAACK_STORE", dir.path())
        .env("COMPLETE", "bash")
        .args(["--", "baack", "client", "get", ""])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("garbage"));
    // And an absent store is not created by completing.
    let absent = dir.path().join("absent");
    baack()
        .env("BAACK_STORE", &absent)
        .env("COMPLETE", "bash")
        .args(["--", "baack", "client", "get", ""])
        .output()
        .unwrap();
    assert!(!absent.exists());
}

// --- generated files --------------------------------------------------------------------

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn completions_and_man_pages_match_the_code() {
    let fresh = tempfile::tempdir().unwrap();
    let out = baack()
        .arg("generate-assets")
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fix = "completions/ and man/ are stale: refresh them with `cargo run -- generate-assets .`";
    for sub in ["completions", "man"] {
        let want = files_under(&fresh.path().join(sub));
        let have = files_under(&project().join(sub));
        let names = |v: &[PathBuf]| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&have), names(&want), "{fix}");
        for (h, w) in have.iter().zip(&want) {
            assert!(
                std::fs::read(h).unwrap() == std::fs::read(w).unwrap(),
                "{} differs; {fix}",
                h.display()
            );
        }
    }
    for s in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = baack().args(["completions", s]).output().unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{s}");
    }
}

#[test]
fn man_pages_have_their_sections_and_the_readme_examples() {
    let readme = std::fs::read_to_string(project().join("README.md")).unwrap();
    let mut examples = 0;
    for page in files_under(&project().join("man")) {
        let roff = std::fs::read_to_string(&page).unwrap();
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES"] {
            assert!(
                roff.contains(&format!(".SH \"{section}\""))
                    || roff.contains(&format!(".SH {section}")),
                "{} lacks {section}",
                page.display()
            );
        }
        let mut lines = roff.lines();
        while let Some(l) = lines.next() {
            if l == ".nf" {
                let ex = lines
                    .next()
                    .unwrap()
                    .replace("\\-", "-")
                    .replace("\\*(Aq", "'")
                    .replace("\\$", "$");
                assert!(
                    readme.contains(&ex),
                    "README.md lacks the example `{ex}` of {}",
                    page.display()
                );
                examples += 1;
            }
        }
    }
    assert!(examples >= 25, "{examples}");
    assert!(project().join("man/baack-token-create.1").exists());
    assert!(project().join("man/baack-token-revoke.1").exists());
}

#[test]
fn man_renders_the_token_create_page_cleanly() {
    let page = project().join("man/baack-token-create.1");
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "0")
        .output()
        .expect("man is installed (.ci/run installs man-db)");
    assert!(out.status.success());
    // grotty overstrikes bold text (`N\bN`) when not writing to a terminal: undo that.
    let mut rendered = String::new();
    for c in text(&out.stdout).chars() {
        if c == '\u{8}' {
            rendered.pop();
        } else {
            rendered.push(c);
        }
    }
    assert!(
        rendered.contains("EXIT STATUS") && rendered.contains("baack token create"),
        "{rendered}"
    );
    assert!(out.stderr.is_empty(), "man warned: {}", text(&out.stderr));
}
