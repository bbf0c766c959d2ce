//! The CLI, black-box: every command in both modes (a temp embedded store, and a real
//! `baack serve` through `--api-url`), output formats, exit codes, secrets, retries.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, baack, is_lower_hex, is_urn, oauth_create, run_with_stdin};

/// Where a command talks.
enum Mode {
    Embedded(PathBuf),
    Remote { url: String, token: String },
}

struct Env {
    mode: Mode,
    _dir: tempfile::TempDir,
    _server: Option<Server>,
}

impl Env {
    fn embedded() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        // Create the store first so the root-token announcement is not in every test.
        let out = baack()
            .args(["init", "-q", "--store"])
            .arg(&store)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        Env {
            mode: Mode::Embedded(store),
            _dir: dir,
            _server: None,
        }
    }

    fn remote() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
        Env {
            mode: Mode::Remote {
                url: server.base.clone(),
                token: server.root().to_string(),
            },
            _dir: dir,
            _server: Some(server),
        }
    }

    fn both() -> [Env; 2] {
        [Env::embedded(), Env::remote()]
    }

    fn name(&self) -> &'static str {
        match self.mode {
            Mode::Embedded(_) => "embedded",
            Mode::Remote { .. } => "remote",
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = baack();
        match &self.mode {
            Mode::Embedded(store) => {
                c.env("BAACK_STORE", store);
            }
            Mode::Remote { url, token } => {
                c.env("BAACK_API_URL", url).env("BAACK_TOKEN", token);
            }
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and expects exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "[{}] baack {args:?} failed: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn code(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Replaces what differs between two stores (URNs, ids, secrets, times) by placeholders.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) if is_urn(s) => json!("<urn>"),
        Value::String(s) if s.len() >= 36 && s.contains('/') && is_urn(&s[s.len() - 36..]) => {
            json!(format!("{}<urn>", &s[..s.len() - 36]))
        }
        Value::String(s) if is_lower_hex(s, 32) || is_lower_hex(s, 64) => json!("<hex>"),
        Value::String(s) if s.starts_with("bk_") => json!(format!("{}<token>", &s[..3])),
        Value::String(s)
            if s.len() >= 20 && s.as_bytes().get(4) == Some(&b'-') && s.contains('T') =>
        {
            json!("<time>")
        }
        // Lists come in URN order, and URNs differ between stores.
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalise).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), normalise(x))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn the_same_commands_give_the_same_output_and_exit_codes_in_both_modes() {
    let mut transcripts: Vec<Vec<(i32, Value)>> = Vec::new();
    for env in Env::both() {
        let mut t = Vec::new();
        let mut step = |args: &[&str]| {
            let mut a = args.to_vec();
            a.extend(["-o", "json"]);
            let out = env.run(&a);
            let body = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            t.push((out.status.code().unwrap_or(-1), normalise(&body)));
            body
        };
        step(&["client", "create", "--client-id", "Android"]);
        step(&["client", "create", "--client-id", "Android"]);
        step(&["client", "get", "Android"]);
        step(&["client", "get", "nobody"]);
        step(&["client", "list"]);
        step(&["client", "update", "Android", "--scope", "webhook.baack.co"]);
        step(&["client", "update", "Android", "--scope", "api.baack.co"]);
        let tok = step(&[
            "token",
            "create",
            "--client",
            "Android",
            "--expires-in",
            "1h",
        ]);
        let urn = tok["urn"].as_str().unwrap().to_string();
        step(&["token", "get", &urn]);
        step(&["token", "list", "--client", "Android"]);
        step(&["token", "list", "--expiring-within", "2h"]);
        step(&["token", "list", "--expiring-within", "10m"]);
        step(&["token", "revoke", &urn, "--notice", "5m"]);
        step(&[
            "role",
            "create",
            "--name",
            "Viewers",
            "--permission",
            "READ",
        ]);
        step(&["role", "grant", "Viewers", "--client", "Android"]);
        step(&["role", "get", "Viewers"]);
        step(&["role", "list"]);
        step(&["role", "revoke", "Viewers", "--client", "Android"]);
        let o = step(&[
            "oauth",
            "create",
            "--name",
            "demo",
            "--description",
            "d",
            "--grant-type",
            "CLIENT_CREDENTIALS",
            "--access-type",
            "ONLINE",
            "--access-token-validity",
            "750",
        ]);
        let id = o["id"].as_str().unwrap().to_string();
        step(&["oauth", "get", &id]);
        step(&[
            "oauth",
            "update",
            &id,
            "--set",
            "name=renamed",
            "--set",
            "accessTokenValiditySeconds=900",
        ]);
        step(&["oauth", "update", &id, "--set", "id=0"]);
        step(&["oauth", "list"]);
        step(&["oauth", "delete", &id, "--yes"]);
        step(&["token", "delete", &urn, "--yes"]);
        step(&["role", "delete", "Viewers", "--yes"]);
        step(&["client", "delete", "Android", "--yes"]);
        step(&["whoami"]);
        transcripts.push(t);
    }
    // whoami differs in one way: the embedded mode acts as root with no token at all.
    for (t, token) in transcripts.iter_mut().zip([
        json!(null),
        json!({"urn": "<urn>", "expirationTimestamp": null}),
    ]) {
        let who = t.last_mut().unwrap();
        assert_eq!(who.1["token"], token);
        who.1.as_object_mut().unwrap().remove("token");
    }
    let (a, b) = (&transcripts[0], &transcripts[1]);
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x, y, "step {i} differs between embedded and remote");
    }
    let codes: Vec<i32> = a.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes[1], 8, "a duplicate clientID is a conflict");
    assert_eq!(codes[3], 3, "unknown name is not found");
    assert_eq!(codes[21], 5, "illegal OAuth update is invalid input");
    assert_eq!(codes.iter().filter(|c| **c != 0).count(), 3, "{codes:?}");
    assert_eq!(
        a[10].1.as_array().map(Vec::len),
        Some(1),
        "expiring within 2h"
    );
    assert_eq!(a[11].1.as_array().map(Vec::len), Some(0), "not within 10m");
    assert_eq!(
        a[14].1["clients"].as_array().map(Vec::len),
        Some(1),
        "granted"
    );
    assert_eq!(a[17].1["clients"], json!([]), "revoked");
    assert_eq!(a[20].1["accessTokenValiditySeconds"], json!(900));
}

#[test]
fn tables_json_and_quiet_output() {
    for env in Env::both() {
        let table = env.ok(&["client", "create", "--client-id", "ci"]);
        assert!(
            table.contains("clientID") && table.contains("ci"),
            "{table}"
        );
        let list = env.ok(&["client", "list"]);
        assert!(
            list.contains("CLIENT ID") && list.contains("root"),
            "{list}"
        );
        assert!(
            !list.contains('\u{1b}'),
            "no colour without a terminal: {list}"
        );
        let json = env.json(&["client", "list"]);
        let arr = json.as_array().expect("a list is a JSON array");
        assert_eq!(arr.len(), 2);
        assert!(
            arr.iter()
                .all(|c| c["url"].as_str().unwrap().starts_with("/n/v1/apiclient/"))
        );
        let quiet = env.ok(&["client", "list", "-q"]);
        assert!(
            quiet.lines().all(is_urn) && quiet.lines().count() == 2,
            "{quiet}"
        );

        // TOKEN=$(baack token create --client ci -q)
        let token = env.ok(&["token", "create", "--client", "ci", "-q"]);
        let token = token.trim();
        assert!(token.starts_with("bk_") && token.len() == 43, "{token}");
        let out = env.run(&["token", "create", "--client", "ci"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("shown once"), "{stderr}");

        let args = oauth_create(&["-q"]);
        let q = env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let parts: Vec<&str> = q.split_whitespace().collect();
        assert_eq!(parts.len(), 2, "{q}");
        assert!(
            is_lower_hex(parts[0], 32) && is_lower_hex(parts[1], 64),
            "{q}"
        );

        let who = env.ok(&["whoami"]);
        assert!(who.contains("ADMINISTER") && who.contains("root"), "{who}");
    }
}

#[test]
fn every_exit_code() {
    let env = Env::embedded();
    env.ok(&["client", "create", "--client-id", "a"]);
    assert_eq!(env.code(&["client", "frobnicate"]).0, 2, "usage");
    let (code, err) = env.code(&["client", "delete", "a"]);
    assert_eq!(code, 2, "delete without a terminal needs --yes");
    assert!(err.contains("--yes"), "{err}");
    let (code, err) = env.code(&["client", "get", "nobody"]);
    assert_eq!(code, 3);
    assert!(err.contains("baack client list"), "{err}");
    assert_eq!(env.code(&["client", "create", "--client-id", "a"]).0, 8);
    assert_eq!(env.code(&["client", "create", "--client-id", ""]).0, 5);
    assert_eq!(
        env.code(&[
            "token",
            "create",
            "--client",
            "a",
            "--expires-at",
            "2001-01-01T00:00:00Z"
        ])
        .0,
        5
    );

    let remote = Env::remote();
    let mut c = baack();
    c.env(
        "BAACK_API_URL",
        match &remote.mode {
            Mode::Remote { url, .. } => url.clone(),
            Mode::Embedded(_) => unreachable!(),
        },
    )
    .env("BAACK_TOKEN", "bk_not_a_real_token")
    .args(["client", "list"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(4), "unauthorized");

    // Nothing listens on a port we just released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = baack()
        .env("BAACK_API_URL", format!("http://127.0.0.1:{port}"))
        .env("BAACK_TOKEN", "x")
        .args(["--retries", "1", "whoami"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "unreachable: {out:?}");

    // A server error, and rate limiting that outlasts the retries.
    let srv = FakeServer::start(vec![reply(
        500,
        &[],
        r#"{"httpCode":500,"apiCode":"INTERNAL_ERROR"}"#,
    )]);
    assert_eq!(srv.run(&["whoami"]).status.code(), Some(1));
    let srv = FakeServer::start(vec![
        reply(
            429,
            &[("Retry-After", "0")],
            r#"{"httpCode":429,"apiCode":"TOO_MANY_REQUESTS"}"#
        );
        3
    ]);
    let out = srv.run(&["--retries", "2", "whoami"]);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert_eq!(srv.requests(), 3, "one try and two retries");

    // A store that cannot be opened.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meta.json"), b"{ not json").unwrap();
    let out = baack()
        .env("BAACK_STORE", dir.path())
        .args(["client", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("meta.json"));
    assert_eq!(
        std::fs::read(dir.path().join("meta.json")).unwrap(),
        b"{ not json"
    );
}

#[test]
fn json_errors_go_to_stderr_as_json_and_stdout_stays_empty() {
    let env = Env::embedded();
    let out = env.run(&["client", "get", "nobody", "-o", "json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("nobody"));
}

#[test]
fn secret_files_are_new_and_private() {
    for env in Env::both() {
        let dir = tempfile::tempdir().unwrap();
        env.ok(&["client", "create", "--client-id", "ci"]);
        let path = dir.path().join("token");
        let p = path.to_str().unwrap();
        let out = env.ok(&[
            "token",
            "create",
            "--client",
            "ci",
            "--secret-file",
            p,
            "-o",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        let shown = v["bearerToken"].as_str().unwrap();
        assert!(shown.ends_with("..."), "the secret is not printed: {shown}");
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(saved.trim().starts_with(shown.trim_end_matches('.')));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // Never overwritten; and no token is created when the file is taken.
        let before = env
            .json(&["token", "list", "--client", "ci"])
            .as_array()
            .unwrap()
            .len();
        let (code, err) = env.code(&["token", "create", "--client", "ci", "--secret-file", p]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), saved);
        let after = env
            .json(&["token", "list", "--client", "ci"])
            .as_array()
            .unwrap()
            .len();
        assert_eq!(before, after);

        let opath = dir.path().join("oauth");
        let args = oauth_create(&["--secret-file", opath.to_str().unwrap()]);
        env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let secret = std::fs::read_to_string(&opath).unwrap();
        assert!(is_lower_hex(secret.trim(), 64));
        assert_eq!(
            std::fs::metadata(&opath).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn oauth_create_from_a_file_or_stdin() {
    let env = Env::embedded();
    let body = json!({
        "name": "from file", "description": "d", "accessTokenValiditySeconds": 750,
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "accessType": "OFFLINE",
        "redirectUris": ["http://localhost:12345"], "enabled": true
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, body.to_string()).unwrap();
    let v = env.json(&[
        "oauth",
        "create",
        "--from-file",
        file.to_str().unwrap(),
        "--name",
        "override",
    ]);
    assert_eq!(v["name"], "override");
    assert_eq!(
        v["grantTypes"],
        json!(["AUTHORIZATION_CODE", "REFRESH_TOKEN"])
    );

    let out = run_with_stdin(
        &mut env.cmd(&["oauth", "create", "--from-file", "-", "-q"]),
        &body.to_string(),
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .count(),
        2
    );
}

/// `--version` and `-V` answer without reading config or opening a store: both are
/// broken here, and neither matters.
#[test]
fn version_reads_no_config_and_opens_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    std::fs::write(config.join("config.toml"), "this is [not toml").unwrap();
    let store = dir.path().join("not-a-store");
    std::fs::write(&store, "a file, not a store directory").unwrap();
    let line = format!("baack {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let out = baack()
            .env("BAACK_CONFIG_DIR", &config)
            .env("BAACK_STORE", &store)
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), line, "{flag}");
        assert!(out.stderr.is_empty(), "{flag}: {out:?}");
    }
    // A command that does need them reports the broken config (so the flag's success
    // above is not a config that is never read at all).
    let out = baack()
        .env("BAACK_CONFIG_DIR", &config)
        .env("BAACK_STORE", &store)
        .args(["client", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config.toml is not valid"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        "a file, not a store directory"
    );
}

#[test]
fn a_closed_pipe_exits_quietly() {
    let env = Env::embedded();
    for i in 0..40 {
        env.ok(&["client", "create", "--client-id", &format!("c{i}"), "-q"]);
    }
    let mut child = env
        .cmd(&["client", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn retries_honour_retry_after_and_accept_the_urn_spelling() {
    let ctx = r#"{"hasBearer":true,"client":{"Urn":"00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8","scope":"api.baack.co","owner":{"Urn":"6f97bac3-26fe-4333-91f0-f12af2d1d167"},"clientID":"Android"},"owner":{"Urn":"6f97bac3-26fe-4333-91f0-f12af2d1d167","name":"Acme"},"permissions":["READ"]}"#;
    let srv = FakeServer::start(vec![
        reply(
            429,
            &[("Retry-After", "1")],
            r#"{"message":" Rate Limit Exceeded "}"#,
        ),
        reply(200, &[], ctx),
    ]);
    let start = Instant::now();
    let out = srv.run(&["whoami", "-o", "json"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After"
    );
    // The 429, the context, then the token's own record (whoami shows its expiry).
    assert_eq!(srv.requests(), 3);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["client"]["urn"], "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8");
    let quiet = srv.run(&["whoami", "-q"]);
    // The server answers the remaining requests with its last reply.
    assert_eq!(
        String::from_utf8_lossy(&quiet.stdout).trim(),
        "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8"
    );
}

#[test]
fn a_post_is_not_retried_after_a_server_error() {
    let srv = FakeServer::start(vec![
        reply(
            200,
            &[],
            r#"{"hasBearer":true,"client":{"urn":"00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8"},"owner":{"urn":"6f97bac3-26fe-4333-91f0-f12af2d1d167"},"permissions":[]}"#,
        ),
        reply(503, &[], r#"{"httpCode":503,"apiCode":"INTERNAL_ERROR"}"#),
    ]);
    let out = srv.run(&["client", "create", "--client-id", "x"]);
    // 503 is "cannot serve now" (a held store lock, say): exit 7, as when unreachable.
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(srv.requests(), 2, "GET context, then one POST only");
}

#[test]
fn verbose_logs_requests_without_the_token() {
    let remote = Env::remote();
    let Mode::Remote { token, .. } = &remote.mode else {
        unreachable!()
    };
    let out = remote.run(&["-v", "client", "list", "-o", "json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("> GET") && err.contains("< 200"), "{err}");
    assert!(err.contains("<redacted>"));
    assert!(!err.contains(token.as_str()));
    let created = remote.ok(&["-v", "token", "create", "--client", "root", "-q"]);
    let out = remote.run(&["-v", "token", "list"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(created.trim()));
}

// --- a scripted HTTP server for retry and error paths ----------------------------------

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    s
}

/// Answers each connection with the next scripted reply (the last one repeats).
struct FakeServer {
    url: String,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeServer {
    fn start(replies: Vec<String>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { break };
                let mut buf = [0u8; 65536];
                let mut req = Vec::new();
                // Read the head, then the body its Content-Length announces.
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                    if let Some(end) = find(&req, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if req.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let i = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let r = &replies[i.min(replies.len() - 1)];
                let _ = s.write_all(r.as_bytes());
            }
        });
        FakeServer { url, count }
    }

    fn run(&self, args: &[&str]) -> Output {
        baack()
            .env("BAACK_API_URL", &self.url)
            .env("BAACK_TOKEN", "bk_whatever")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn requests(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn expirations_past_the_year_9999_are_a_usage_error_before_any_request() {
    let fake = FakeServer::start(vec![reply(500, &[], "{}")]);
    let urn = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
    for args in [
        &[
            "token",
            "create",
            "--client",
            "ci",
            "--expires-in",
            "99999999y",
        ][..],
        &[
            "token",
            "create",
            "--client",
            "ci",
            "--expires-at",
            "+10000-01-01T00:00:00",
        ],
        &[
            "token",
            "create",
            "--client",
            "ci",
            "--expires-at",
            "1969-12-31T23:59:59Z",
        ],
        &["token", "revoke", urn, "--notice", "99999999y"],
    ] {
        let out = fake.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("1970-01-01T00:00:00.000 to 9999-12-31T23:59:59.999 UTC"),
            "{args:?} must name the allowed range: {err}"
        );
    }
    assert_eq!(fake.requests(), 0, "nothing may be sent");
}

#[test]
fn tables_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let env = Env::embedded();
    let Mode::Embedded(store) = &env.mode else {
        unreachable!()
    };
    // `script` gives the command a pseudo-terminal 100 columns wide.
    let on_tty = |no_color: bool| {
        let mut c = baack();
        c.env("BAACK_STORE", store);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let line = format!(
            "stty cols 100; {} client list",
            crate::support::bin().display()
        );
        let mut script = Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        let out = script.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(
        coloured.contains("\u{1b}[") && coloured.contains("CLIENT ID"),
        "{coloured}"
    );
    let plain = on_tty(true);
    assert!(
        !plain.contains("\u{1b}[") && plain.contains("CLIENT ID"),
        "{plain}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_and_exits_7() {
    // Accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let start = Instant::now();
    let out = baack()
        .env("BAACK_API_URL", &url)
        .env("BAACK_TOKEN", "bk_whatever")
        .args(["--timeout", "1s", "--retries", "1", "whoami"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"));
    // The one-second budget is the whole command's: nowhere near the 30 s default.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_success_whose_body_is_not_json_fails_and_never_prints_a_placeholder() {
    let owner = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
    let context = format!(
        r#"{{"hasBearer": true, "client": {{"urn": "{owner}"}}, "owner": {{"urn": "{owner}"}}}}"#
    );
    // Seed 001's own example answers with a curly quote: not JSON.
    let curly = "{\"Urn\": \u{201c}4b8d6a4e-5a35-4c0e-9a53-2a8bb6bfcd0a\u{201d}}";
    for extra in [&[][..], &["-q"][..], &["-v"][..]] {
        let fake = FakeServer::start(vec![reply(200, &[], &context), reply(201, &[], curly)]);
        let mut args = extra.to_vec();
        args.extend(["client", "create", "--client-id", "ci"]);
        let out = fake.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("created, but the answer could not be read"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        // The raw body under -v only.
        assert_eq!(err.contains('\u{201c}'), extra == ["-v"], "{args:?}: {err}");
    }
    // The answer to a token's POST may hold its secret: -v does not show it.
    let client = format!(r#"{{"urn": "{owner}", "clientID": "ci", "scope": "api.baack.co"}}"#);
    let secret = "bk_ThisIsTheSecretValueOfTheToken0123456789abc";
    let body = format!("{{\"bearerToken\": \u{201c}{secret}\u{201d}}}");
    let fake = FakeServer::start(vec![reply(200, &[], &client), reply(201, &[], &body)]);
    let out = fake.run(&["-v", "token", "create", "--client", owner]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("created, but the answer could not be read"),
        "{err}"
    );
    assert!(err.contains("not shown"), "{err}");
    assert!(!err.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret));
}

#[test]
fn a_grant_the_server_accepts_but_does_not_keep_is_an_error() {
    let role = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
    let client = "4b8d6a4e-5a35-4c0e-9a53-2a8bb6bfcd0a";
    let role_body = format!(r#"{{"urn": "{role}", "name": "r", "identities": [], "clients": []}}"#);
    let client_body = format!(r#"{{"urn": "{client}", "clientID": "ci"}}"#);
    let fake = FakeServer::start(vec![
        reply(200, &[], &role_body),
        reply(200, &[], &client_body),
        reply(200, &[], &role_body),
        reply(202, &[], &role_body),
        reply(200, &[], &role_body),
    ]);
    let out = fake.run(&["role", "grant", role, "--client", client]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the change did not take"), "{err}");
    assert_eq!(fake.requests(), 5);
}

#[test]
fn quiet_prints_no_placeholder_for_an_answer_without_its_urn() {
    let owner = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
    let context = format!(
        r#"{{"hasBearer": true, "client": {{"urn": "{owner}"}}, "owner": {{"urn": "{owner}"}}}}"#
    );
    let fake = FakeServer::start(vec![reply(200, &[], &context), reply(201, &[], "{}")]);
    let out = fake.run(&["-q", "client", "create", "--client-id", "ci"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(err.contains("no value for -q to print"), "{err}");
}

#[test]
fn every_not_found_names_the_object_and_its_reference() {
    // A real Baack's not-found has no detail.
    let bare = reply(404, &[], r#"{"httpCode": 404, "apiCode": "NOT_FOUND"}"#);
    let role = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
    let client = "4b8d6a4e-5a35-4c0e-9a53-2a8bb6bfcd0a";
    let role_body = format!(r#"{{"urn": "{role}", "name": "r", "clients": []}}"#);
    let fake = FakeServer::start(vec![reply(200, &[], &role_body), bare.clone()]);
    let out = fake.run(&["role", "grant", role, "--client", client]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("no API client {client}: it does not exist")),
        "{err}"
    );
    for (args, says) in [
        (
            vec!["role", "get", role],
            format!("no permission role {role}"),
        ),
        (
            vec!["client", "get", client],
            format!("no API client {client}"),
        ),
        (
            vec!["token", "get", client],
            format!("no bearer token {client}"),
        ),
        (
            vec!["token", "revoke", client],
            format!("no bearer token {client}"),
        ),
        (
            vec!["client", "delete", client, "--yes"],
            format!("no API client {client}"),
        ),
    ] {
        let fake = FakeServer::start(vec![bare.clone()]);
        let out = fake.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(&says), "{args:?}: {err}");
    }
}
