//! Warned before it breaks: a command whose own token expires soon says so once an hour
//! on stderr (never under -q or in machine formats, never with `warn_before = "0s"`), and
//! `auth status` shows the token's expiry.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::{Server, baack, baack_time, request_event, urn_field};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A token of the root client expiring `in_ms` from now: (URN, secret).
fn token_expiring(srv: &Server, in_ms: i64) -> (String, String) {
    let (_, _, ctx) = srv.get("/n/v1/clientcontext");
    let client = ctx["client"]["urn"].as_str().expect("root client urn");
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({"apiClient": {"urn": client}, "expirationTimestamp": baack_time(in_ms)}),
    );
    assert!(s.is_success(), "{b}");
    (
        urn_field(&b).expect("urn").to_string(),
        b["bearerToken"].as_str().expect("token").to_string(),
    )
}

fn run(srv: &Server, cfg: &Path, token: &str, args: &[&str]) -> Output {
    let o = baack()
        .env("BAACK_CONFIG_DIR", cfg)
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", token)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn warnings(o: &Output) -> usize {
    stderr(o)
        .lines()
        .filter(|l| l.contains("token expires in"))
        .count()
}

#[test]
fn a_token_near_its_expiry_is_warned_of_once_an_hour() {
    let srv = Server::start();
    let (urn, token) = token_expiring(&srv, 3 * DAY_MS);
    let cfg = tempfile::tempdir().unwrap();
    let first = run(&srv, cfg.path(), &token, &["client", "list"]);
    let err = stderr(&first);
    assert_eq!(warnings(&first), 1, "{err}");
    assert!(
        err.contains("warning: BAACK_TOKEN's token expires in 3d ("),
        "{err}"
    );
    let (_, _, ctx) = srv.get("/n/v1/clientcontext");
    let client = ctx["client"]["urn"].as_str().unwrap();
    assert!(
        err.contains(&format!(
            "baack token create --client {client}` and put it in BAACK_TOKEN"
        )),
        "{err}"
    );
    // The state file remembers it by URN, never by secret.
    let state = std::fs::read_to_string(cfg.path().join("tokens.toml")).unwrap();
    assert!(state.contains(&urn), "{state}");
    assert!(!state.contains(&token), "the secret is in the state file");
    // Not again within the hour, on any command.
    let second = run(&srv, cfg.path(), &token, &["client", "list"]);
    assert_eq!(warnings(&second), 0, "{}", stderr(&second));
    let third = run(&srv, cfg.path(), &token, &["whoami"]);
    assert_eq!(warnings(&third), 0, "{}", stderr(&third));
}

#[test]
fn machine_formats_and_quiet_stay_silent() {
    let srv = Server::start();
    let (_, token) = token_expiring(&srv, 2 * DAY_MS);
    let cfg = tempfile::tempdir().unwrap();
    for args in [
        &["client", "list", "-q"][..],
        &["client", "list", "-o", "json"],
        &["client", "list", "-o", "yaml"],
        &["client", "list", "--jq", ".[0].urn"],
    ] {
        let o = run(&srv, cfg.path(), &token, args);
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // Silence is not a warning spent: the next command for people still gets it.
    let o = run(&srv, cfg.path(), &token, &["client", "list"]);
    assert_eq!(warnings(&o), 1, "{}", stderr(&o));
}

#[test]
fn no_warning_for_a_long_lived_token_nor_with_warn_before_0s() {
    let srv = Server::start();
    let cfg = tempfile::tempdir().unwrap();
    let (long_urn, long) = token_expiring(&srv, 30 * DAY_MS);
    // A token last seen from here long ago is forgotten when the file is next written.
    let stale = "00000000-0000-0000-0000-000000000000";
    std::fs::write(
        cfg.path().join("tokens.toml"),
        format!("[tokens.{stale}]\nchecked = 1000\nknown = false\n"),
    )
    .unwrap();
    let o = run(&srv, cfg.path(), &long, &["client", "list"]);
    assert_eq!(stderr(&o), "");
    let state = std::fs::read_to_string(cfg.path().join("tokens.toml")).unwrap();
    assert!(
        state.contains(&long_urn) && !state.contains(stale),
        "{state}"
    );
    // A longer window catches it.
    std::fs::write(
        cfg.path().join("config.toml"),
        format!(
            "[profiles.p]\napi_url = \"{}\"\nwarn_before = \"60d\"\n",
            srv.base
        ),
    )
    .unwrap();
    let o = run(
        &srv,
        cfg.path(),
        &long,
        &["--profile", "p", "client", "list"],
    );
    assert!(
        stderr(&o).contains("token expires in 30d"),
        "{}",
        stderr(&o)
    );

    let off = tempfile::tempdir().unwrap();
    std::fs::write(
        off.path().join("config.toml"),
        format!(
            "[profiles.p]\napi_url = \"{}\"\nwarn_before = \"0s\"\n",
            srv.base
        ),
    )
    .unwrap();
    let (_, short) = token_expiring(&srv, DAY_MS);
    let o = run(
        &srv,
        off.path(),
        &short,
        &["--profile", "p", "client", "list"],
    );
    assert_eq!(stderr(&o), "");
}

#[test]
fn auth_status_shows_the_tokens_expiry() {
    let srv = Server::start();
    let cfg = tempfile::tempdir().unwrap();
    let (_, token) = token_expiring(&srv, 3 * DAY_MS);
    let o = run(&srv, cfg.path(), &token, &["auth", "status", "-o", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let at = v["tokenExpires"].as_str().expect("tokenExpires");
    assert!(at.starts_with(&baack_time(3 * DAY_MS)[..10]), "{v}");
    assert_eq!(v["tokenLastUsed"], Value::Null, "{v}");
    let o = run(&srv, cfg.path(), &token, &["auth", "status", "-o", "table"]);
    let table = String::from_utf8_lossy(&o.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("token expires"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("UTC (in 3d)"), "{row}");
    // The root token of `serve` never expires.
    let o = run(
        &srv,
        cfg.path(),
        srv.root(),
        &["auth", "status", "-o", "json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tokenExpires"], Value::Null, "{v}");
}

#[test]
fn baack_warn_before_overrides_the_profile_and_no_state_means_no_request() {
    let mut srv = Server::start();
    let (_, token) = token_expiring(&srv, DAY_MS);
    let cfg = tempfile::tempdir().unwrap();
    let mut c = baack();
    c.env("BAACK_CONFIG_DIR", cfg.path())
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", &token)
        .env("BAACK_WARN_BEFORE", "0s")
        .args(["client", "list"]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stderr(&o), "");
    // Where the config dir cannot be made, nothing is remembered, so nothing is asked
    // (else every command would pay a request): the server sees the list alone.
    let o = baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", &token)
        .args(["client", "list"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stderr(&o), "");
    srv.stop();
    let gets: Vec<String> = srv
        .log()
        .iter()
        .filter_map(|l| request_event(l))
        .filter(|e| e.method == "GET")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        gets.iter().filter(|p| *p == "/n/v1/apiclient/").count(),
        2,
        "{gets:?}"
    );
    assert!(
        !gets
            .iter()
            .any(|p| p.starts_with("/n/v1/apiclientbearertoken/")),
        "{gets:?}"
    );
}

/// Answers each connection with the next scripted reply (the last one repeats).
fn fake_server(replies: Vec<String>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { break };
            let mut req = Vec::new();
            let mut buf = [0u8; 8192];
            // GETs only: the head is the whole request.
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let body = &replies[i.min(replies.len() - 1)];
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn auth_status_shows_last_use_when_the_server_gives_it() {
    let used = baack_time(-3 * DAY_MS);
    let url = fake_server(vec![
        json!({"hasBearer": true, "client": {"urn": "c1", "clientID": "ci"}, "permissions": ["READ"]})
            .to_string(),
        json!({"urn": "t1", "apiClient": {"urn": "c1"}, "expirationTimestamp": baack_time(40 * DAY_MS), "lastUsed": used})
            .to_string(),
    ]);
    let cfg = tempfile::tempdir().unwrap();
    let status = |args: &[&str]| {
        let o = baack()
            .env("BAACK_CONFIG_DIR", cfg.path())
            .env("BAACK_API_URL", &url)
            .env("BAACK_TOKEN", "bk_whatever")
            .env("BAACK_WARN_BEFORE", "0s")
            .args(["auth", "status"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let v: Value = serde_json::from_str(&status(&["-o", "json"])).unwrap();
    assert_eq!(v["tokenLastUsed"], used.as_str(), "{v}");
    let table = status(&["-o", "table"]);
    let row = table
        .lines()
        .find(|l| l.contains("token last used"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("UTC (3d ago)"), "{row}");
}
