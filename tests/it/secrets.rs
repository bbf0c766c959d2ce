//! Secrets never leak: tokens and OAuth secrets made through every path (HTTP, the CLI in
//! both modes, `-v`, `-o json`, `--secret-file`, failing requests) appear nowhere but in
//! the one display meant for them; every file baack creates is private.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::json;

use crate::support::{Server, baack, request_event};

struct Seen {
    /// Everything printed by every command, with a label.
    outputs: Vec<(String, String)>,
}

impl Seen {
    fn record(&mut self, label: &str, out: &Output) {
        self.outputs.push((
            format!("{label} stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        self.outputs.push((
            format!("{label} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    fn hits(&self, secret: &str) -> Vec<&str> {
        self.outputs
            .iter()
            .filter(|(_, text)| text.contains(secret))
            .map(|(l, _)| l.as_str())
            .collect()
    }
}

fn files_with(dir: &Path, secret: &str, hits: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            files_with(&p, secret, hits);
        } else if meta.is_file()
            && std::fs::read(&p)
                .unwrap()
                .windows(secret.len())
                .any(|w| w == secret.as_bytes())
        {
            hits.push(p.display().to_string());
        }
    }
}

fn assert_private(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            assert_private(&p);
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
}

#[test]
fn secrets_appear_only_where_they_are_meant_to() {
    secrets_stay_put("text");
}

/// The same with the server's log in JSON, whose lines a secret must not reach either.
#[test]
fn secrets_appear_only_where_they_are_meant_to_with_a_json_log() {
    secrets_stay_put("json");
}

fn secrets_stay_put(log_format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let remote_store = dir.path().join("remote");
    let local_store = dir.path().join("local");
    let mut srv = Server::start_on(
        &remote_store,
        &["--rate-limit", "off", "--log-format", log_format],
    );
    let root = srv.root().to_string();
    let mut seen = Seen {
        outputs: Vec::new(),
    };
    let mut secrets: Vec<(String, &str)> = Vec::new();

    // HTTP.
    let client = srv.create_client("web");
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({"apiClient": {"urn": client}}),
    );
    assert_eq!(s.as_u16(), 201);
    let http_token = b["bearerToken"].as_str().unwrap().to_string();
    secrets.push((http_token.clone(), "HTTP token"));
    let (s, _, b) = srv.post(
        "/v3/oauth-clients",
        json!({"name": "n", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s.as_u16(), 200);
    secrets.push((
        b["secret"].as_str().unwrap().to_string(),
        "HTTP OAuth secret",
    ));

    let remote = |args: &[&str], token: &str| {
        baack()
            .env("BAACK_API_URL", &srv.base)
            .env("BAACK_TOKEN", token)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let local = |args: &[&str]| {
        baack()
            .env("BAACK_STORE", &local_store)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let init = local(&["-v", "init", "-q"]);
    assert!(init.status.success(), "{init:?}");
    seen.record("local store creation", &init);
    let local_root = String::from_utf8_lossy(&init.stdout).trim().to_string();
    let first = local(&["-v", "client", "create", "--client-id", "cli"]);
    assert!(first.status.success(), "{first:?}");
    seen.record("local first client", &first);
    assert!(
        remote(&["client", "create", "--client-id", "cli", "-q"], &root)
            .status
            .success()
    );

    // The CLI in both modes, with -v and -o json: each secret printed once, on stdout.
    let mut intended: Vec<(String, String)> =
        vec![(local_root.clone(), "local store creation stdout".into())];
    const TOKEN: &[&str] = &["-v", "token", "create", "--client", "cli", "-o", "json"];
    let oauth = crate::support::oauth_create(&["-v", "-o", "json"]);
    let oauth: Vec<&str> = oauth.iter().map(String::as_str).collect();
    let oauth = oauth.as_slice();
    for (mode, args) in [
        ("remote token", TOKEN),
        ("remote oauth", oauth),
        ("local token", TOKEN),
        ("local oauth", oauth),
    ] {
        let out = if mode.starts_with("remote") {
            remote(args, &root)
        } else {
            local(args)
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let secret = v["bearerToken"]
            .as_str()
            .or(v["secret"].as_str())
            .unwrap()
            .to_string();
        seen.record(mode, &out);
        intended.push((secret, format!("{mode} stdout")));
    }
    let file = dir.path().join("secret-file");
    let out = local(&[
        "-v",
        "token",
        "create",
        "--client",
        "cli",
        "--secret-file",
        file.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert!(out.status.success());
    seen.record("secret-file", &out);
    let file_token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    secrets.push((file_token.clone(), "token written to --secret-file"));

    // Errors and reads with secrets in play: a token without permissions, a mistyped
    // token, verbose listings.
    let mut typo = http_token.clone();
    typo.replace_range(8..9, if &typo[8..9] == "a" { "b" } else { "a" });
    for (label, token) in [
        ("no permission", http_token.as_str()),
        ("typo", typo.as_str()),
    ] {
        let out = remote(&["-v", "client", "list", "-o", "json"], token);
        assert!(!out.status.success());
        seen.record(label, &out);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains(token),
            "{label}: the token was echoed"
        );
    }
    for args in [
        &["-v", "token", "list", "-o", "json"][..],
        &["-v", "oauth", "list", "-o", "json"][..],
        &["-v", "whoami"][..],
    ] {
        let out = remote(args, &root);
        seen.record("remote read", &out);
        let out = local(args);
        seen.record("local read", &out);
    }

    srv.stop();
    let log = srv.log().join("\n");
    // The log is the one asked for, and holds every request (and so their details).
    let events: Vec<_> = srv.log().iter().filter_map(|l| request_event(l)).collect();
    assert!(events.len() >= 10, "{log}");
    assert!(events.iter().any(|e| e.status == 401), "{log}");
    if log_format == "json" {
        assert!(
            srv.log()
                .iter()
                .filter(|l| l.starts_with('{'))
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
            "{log}"
        );
    }

    for (secret, intended_place) in &intended {
        let hits = seen.hits(secret);
        assert_eq!(
            hits,
            vec![intended_place.as_str()],
            "secret shown outside its one display"
        );
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the server log"
        );
    }
    for (secret, what) in &secrets {
        assert!(
            seen.hits(secret).is_empty(),
            "{what} printed by a command: {:?}",
            seen.hits(secret)
        );
        assert!(!log.contains(secret.as_str()), "{what} in the server log");
    }
    // The root token of `serve`: shown once, in its announcement line.
    assert_eq!(log.matches(root.as_str()).count(), 1);
    assert!(seen.hits(&root).is_empty());

    // On disk: only digests. Every file private.
    let all: Vec<&String> = intended
        .iter()
        .map(|(s, _)| s)
        .chain(secrets.iter().map(|(s, _)| s))
        .chain([&root])
        .collect();
    for secret in all {
        let mut hits = Vec::new();
        files_with(&remote_store, secret, &mut hits);
        files_with(&local_store, secret, &mut hits);
        assert!(
            hits.is_empty(),
            "a secret is stored in plain text: {hits:?}"
        );
    }
    assert_private(&remote_store);
    assert_private(&local_store);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
