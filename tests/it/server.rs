//! The server process itself: its request log (one line per request, never a secret),
//! `/openapi.json` against what is really routed, and stopping on SIGTERM.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A request log line's method, path and status.
fn parse_log_line(line: &str) -> Option<(String, String, u16)> {
    let e = request_event(line)?;
    let ok_method =
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(&e.method.as_str());
    if !ok_method || !e.path.starts_with('/') || !e.ms.is_finite() {
        return None;
    }
    Some((e.method, e.path, e.status))
}

#[test]
fn the_request_log_has_one_line_per_request_and_no_secret() {
    let mut srv = Server::start();
    let root = srv.root().to_string();
    let owner = srv.owner();
    let client = srv.create_client("Logged");
    let (turn, token) = srv.create_token(&client);
    let role = srv.create_role("Log role", &["READ"], &[&client]);

    // What was sent so far (the helpers read the owner before each create but the
    // token's), and what each answer should be logged as.
    let mut expected: Vec<(String, String, u16)> = vec![
        ("GET".into(), "/n/v1/clientcontext".into(), 200),
        ("GET".into(), "/n/v1/clientcontext".into(), 200),
        ("POST".into(), "/n/v1/apiclient/".into(), 201),
        ("POST".into(), "/n/v1/apiclientbearertoken/".into(), 201),
        ("GET".into(), "/n/v1/clientcontext".into(), 200),
        ("POST".into(), "/n/v1/permissionrole/".into(), 201),
    ];
    let mut send = |m: Method, p: &str, t: Option<&str>, body: Option<Value>, status: u16| {
        let (s, _, b) = srv.call(m.clone(), p, t, body);
        assert_eq!(s.as_u16(), status, "{m} {p}: {b}");
        let path = p.split('?').next().unwrap().to_string();
        expected.push((m.to_string(), path, status));
    };
    send(Method::GET, "/n/v1/clientcontext", Some(&token), None, 200);
    send(
        Method::GET,
        &format!("/n/v1/apiclientbearertoken/{turn}"),
        Some(&token),
        None,
        200,
    );
    send(Method::GET, "/n/v1/clientcontext", None, None, 401);
    send(
        Method::GET,
        "/n/v1/clientcontext",
        Some("bk_wrong"),
        None,
        401,
    );
    send(
        Method::GET,
        &format!("/n/v1/apiclient/?clientID={token}&cursor={root}"),
        Some(&root),
        None,
        400,
    );
    send(
        Method::POST,
        "/n/v1/apiclient/",
        Some(&token),
        Some(json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": root})),
        404,
    );
    send(
        Method::PUT,
        &format!("/n/v1/permissionrole/{role}"),
        Some(&root),
        Some(json!({"name": "Log role", "clients": []})),
        202,
    );
    send(
        Method::DELETE,
        &format!("/n/v1/apiclientbearertoken/{turn}"),
        Some(&root),
        None,
        200,
    );
    send(Method::GET, "/v3/oauth-clients", Some(&root), None, 200);
    send(
        Method::PATCH,
        "/v3/oauth-clients/0123456789abcdef0123456789abcdef",
        Some(&root),
        Some(json!([])),
        404,
    );
    send(Method::GET, "/openapi.json", None, None, 200);
    send(Method::GET, "/no/such/thing", None, None, 404);

    let status = srv.stop();
    assert_eq!(status.code(), Some(0));
    let log = srv.log();

    let requests: Vec<(String, String, u16)> =
        log.iter().filter_map(|l| parse_log_line(l)).collect();
    assert_eq!(requests, expected, "log:\n{}", log.join("\n"));

    // The only lines that are not request lines are the start and stop notes.
    for l in &log {
        if parse_log_line(l).is_none() {
            assert!(
                l.starts_with("created a new store at ")
                    || l.starts_with("root bearer token (shown once")
                    || l.starts_with("It is the root client's credential")
                    || l.starts_with("listening on http://")
                    || l == "stopped",
                "unexpected log line: {l}"
            );
        }
    }
    // The root token is shown once, in its announcement, and never again; a created
    // token never appears at all.
    let with_root: Vec<&String> = log.iter().filter(|l| l.contains(&root)).collect();
    assert_eq!(with_root.len(), 1, "{with_root:?}");
    assert!(with_root[0].starts_with("root bearer token (shown once"));
    assert!(!log.iter().any(|l| l.contains(&token)), "{log:?}");
    assert!(!log.iter().any(|l| l.contains("bk_wrong")), "{log:?}");
    assert!(
        !log.iter()
            .any(|l| l.contains(&root[6..]) && !l.starts_with("root bearer")),
        "{log:?}"
    );
}

#[test]
fn each_request_event_names_its_route_and_caller_and_a_fault_its_cause_in_either_format() {
    for format in ["text", "json"] {
        let mut srv = Server::start_args(&["--rate-limit", "off", "--log-format", format]);
        let root = srv.root().to_string();
        let client = srv.create_client("Traced");
        let (turn, token) = srv.create_token(&client);
        // Reading a token takes READ (without it the answer is 404).
        srv.create_role("Readers", &["READ"], &[&client]);
        let path = format!("/n/v1/apiclientbearertoken/{turn}");
        let (s, _, _) = srv.call(
            Method::GET,
            &format!("{path}?cursor=querysecret"),
            Some(&token),
            None,
        );
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", Some("bk_wrong"), None);
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _, _) = srv.call(Method::GET, "/no/such/thing", Some(&token), None);
        assert_eq!(s, StatusCode::NOT_FOUND);
        // A store folder made a file: the write fails with an I/O error naming it.
        let roles = srv.store.join("roles");
        std::fs::remove_dir_all(&roles).unwrap();
        std::fs::write(&roles, b"not a folder").unwrap();
        let a = srv.post(
            "/n/v1/permissionrole/",
            json!({"name": "Doomed", "owner": {"urn": srv.owner()}, "permissions": ["READ"]}),
        );
        assert_eq!(a.0.as_u16(), 500, "{}", a.2);
        let id = a.2["trackingId"].as_str().unwrap().to_string();
        assert_eq!(srv.stop().code(), Some(0));
        let log = srv.log();
        let all = log.join("\n");
        let events: Vec<RequestEvent> = log.iter().filter_map(|l| request_event(l)).collect();

        let got = events.iter().find(|e| e.path == path).expect(&all);
        assert_eq!(got.method, "GET");
        assert_eq!(
            got.route.as_deref(),
            Some("/n/v1/apiclientbearertoken/{urn}")
        );
        assert_eq!(got.status, 200);
        assert_eq!(got.client.as_deref(), Some(client.as_str()), "{all}");
        assert!(got.ms >= 0.0);
        let refused = events.iter().find(|e| e.status == 401).expect(&all);
        assert_eq!(refused.route.as_deref(), Some("/n/v1/clientcontext"));
        assert_eq!(refused.client, None, "a refused token names no client");
        let lost = events.iter().find(|e| e.status == 404).expect(&all);
        assert_eq!(lost.route, None, "{all}");
        assert_eq!(lost.path, "/no/such/thing");
        // The creates were the root client's.
        assert!(
            events
                .iter()
                .filter(|e| e.method == "POST")
                .all(|e| e.client.is_some() && e.client != Some(client.clone())),
            "{all}"
        );

        // The fault: its trackingId, status and cause (which names the file), once.
        let faults: Vec<&String> = log.iter().filter(|l| l.contains(&id)).collect();
        assert_eq!(faults.len(), 1, "{all}");
        let fault = faults[0];
        if format == "json" {
            let v: Value = serde_json::from_str(fault).unwrap();
            assert_eq!(v["level"], "ERROR", "{fault}");
            assert_eq!(v["trackingId"], id.as_str(), "{fault}");
            assert_eq!(v["status"], 500, "{fault}");
            let cause = v["cause"].as_str().unwrap();
            assert!(cause.contains(&roles.display().to_string()), "{fault}");
        } else {
            assert!(
                fault.contains(" ERROR baack::server::errors: server fault "),
                "{fault}"
            );
            assert!(
                fault.contains(&format!(" trackingId={id} status=500 cause=\"")),
                "{fault}"
            );
            assert!(fault.contains(&roles.display().to_string()), "{fault}");
        }

        // Never a token, never a query string.
        for secret in [
            root.as_str(),
            &root[6..],
            token.as_str(),
            "bk_wrong",
            "querysecret",
        ] {
            let hits: Vec<&String> = log
                .iter()
                .filter(|l| l.contains(secret) && !l.starts_with("root bearer token"))
                .collect();
            assert!(hits.is_empty(), "{secret}: {hits:?}");
        }
        // Every line is a note of `serve` (program output, kept as it was) or an event in
        // the format asked for.
        for l in &log {
            let note = l.starts_with("created a new store at ")
                || l.starts_with("root bearer token (shown once")
                || l.starts_with("It is the root client's credential")
                || l.starts_with("listening on http://")
                || l == "stopped";
            let event = if format == "json" {
                serde_json::from_str::<Value>(l).is_ok_and(|v| v["timestamp"].is_string())
            } else {
                l.split(' ')
                    .next()
                    .is_some_and(|t| t.len() > 20 && t.ends_with('Z'))
            };
            assert!(note || event, "{format}: unexpected line {l}");
        }
    }
}

#[test]
fn baack_log_filters_the_events_and_a_bad_filter_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |filter: &str| {
        let mut cmd = baack();
        cmd.env("BAACK_LOG", filter)
            .arg("serve")
            .arg("--store")
            .arg(dir.path().join("store"))
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "off"]);
        cmd
    };
    let mut srv = Server::spawn(serve("baack=warn"));
    let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", None, None);
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    srv.stop();
    let log = srv.log();
    assert!(log.iter().all(|l| request_event(l).is_none()), "{log:?}");
    assert!(
        log.iter().any(|l| l.starts_with("listening on ")),
        "{log:?}"
    );

    let out = serve("baack=loud").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BAACK_LOG"), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}

/// Replaces `{urn}` and `{id}` in a documented path with ids that name nothing.
fn concrete(path: &str) -> String {
    path.replace("{urn}", &random_urn())
        .replace("{id}", "0123456789abcdef0123456789abcdef")
}

fn is_fallback(a: &Answer) -> bool {
    let (s, _, b) = a;
    (*s == StatusCode::NOT_FOUND && b.to_string().contains("no such endpoint"))
        || *s == StatusCode::METHOD_NOT_ALLOWED
}

#[test]
fn openapi_is_served_without_a_token_and_every_documented_operation_is_routed() {
    let srv = Server::start();
    let (s, h, doc) = srv.call(Method::GET, "/openapi.json", None, None);
    assert_eq!(s, StatusCode::OK, "{doc}");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().expect("paths");

    // The detection below can tell a routed operation from the fallback.
    assert!(is_fallback(&srv.get("/n/v1/not-documented")));
    assert!(is_fallback(&srv.get("/v3/not-documented")));
    assert!(is_fallback(&srv.call(
        Method::PATCH,
        "/n/v1/apiclient/",
        Some(srv.root()),
        None
    )));

    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            documented.insert((m.to_string(), path.clone()));
            assert!(op["responses"].is_object(), "{method} {path}");
            let body = match m {
                Method::PATCH => Some(json!([])),
                Method::POST | Method::PUT => Some(json!({})),
                _ => None,
            };
            let a = srv.call(m.clone(), &concrete(path), Some(srv.root()), body);
            assert!(
                !is_fallback(&a),
                "{method} {path} is documented but not routed: {a:?}"
            );
            assert!(a.0.as_u16() < 500, "{method} {path}: {a:?}");
        }
    }
    // The document covers both APIs, their aliases and every verb of the contract.
    for (m, p) in [
        ("GET", "/n/v1/clientcontext"),
        ("GET", "/n/v1/companies"),
        ("GET", "/n/v1/company/{urn}"),
        ("POST", "/n/v1/apiclient/"),
        ("GET", "/n/v1/apiclient/"),
        ("GET", "/n/v1/apiclient/{urn}"),
        ("PUT", "/n/v1/apiclient/{urn}"),
        ("DELETE", "/n/v1/apiclient/{urn}"),
        ("POST", "/n/v1/apiclientbearertoken/"),
        ("GET", "/n/v1/apiclientbearertoken/"),
        ("GET", "/n/v1/apiclientbearertoken/{urn}"),
        ("PUT", "/n/v1/apiclientbearertoken/{urn}"),
        ("DELETE", "/n/v1/apiclientbearertoken/{urn}"),
        ("POST", "/n/v1/permissionrole/"),
        ("GET", "/n/v1/permissionrole/"),
        ("GET", "/n/v1/permissionrole/{urn}"),
        ("PUT", "/n/v1/permissionrole/{urn}"),
        ("DELETE", "/n/v1/permissionrole/{urn}"),
        ("PUT", "/n/v1/role/{urn}"),
        ("GET", "/v3/oauth-clients"),
        ("POST", "/v3/oauth-clients"),
        ("GET", "/v3/oauth-clients/{id}"),
        ("PATCH", "/v3/oauth-clients/{id}"),
        ("DELETE", "/v3/oauth-clients/{id}"),
        ("POST", "/oauth-clients"),
        ("PATCH", "/beta/oauth-clients/{id}"),
        ("GET", "/oauth-clients/v1"),
        ("POST", "/oauth-clients/v1"),
        ("GET", "/oauth-clients/v1/{id}"),
        ("PATCH", "/oauth-clients/v1/{id}"),
        ("DELETE", "/oauth-clients/v1/{id}"),
        ("POST", "/v2024/oauth-clients"),
        ("GET", "/v2025/oauth-clients/{id}"),
        ("DELETE", "/v2026/oauth-clients/{id}"),
    ] {
        assert!(
            documented.contains(&(m.to_string(), p.to_string())),
            "{m} {p} is not documented"
        );
    }
    // Nothing was created by the probing calls.
    let (_, _, l) = srv.get("/n/v1/apiclient/");
    assert_eq!(l["apiClients"].as_array().unwrap().len(), 1);
    assert_eq!(srv.get("/v3/oauth-clients").2, json!([]));
}

/// Starts `baack serve` and sends SIGTERM the instant `listening on` is read (bash's
/// builtin `kill`, no fork in between), `runs` times; returns every exit code.
fn sigterm_at_once(runs: usize) -> Vec<i32> {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
        bin=$1; store=$2; fifo=$2.fifo; runs=$3
        for i in $(seq 1 "$runs"); do
            rm -f "$fifo"; mkfifo "$fifo"
            "$bin" serve --store "$store" --listen 127.0.0.1:0 2>"$fifo" &
            pid=$!
            while IFS= read -r line; do
                case "$line" in listening*) kill -TERM "$pid"; break;; esac
            done < "$fifo"
            wait "$pid"; echo "$?"
        done
    "#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, "bash"])
        .arg(bin())
        .arg(dir.path().join("store"))
        .arg(runs.to_string())
        .output()
        .expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[test]

fn sigterm_right_after_listening_still_stops_gracefully() {
    let codes = sigterm_at_once(20);
    assert_eq!(codes.len(), 20);
    assert!(codes.iter().all(|c| *c == 0), "exit codes {codes:?}");
}

#[test]

fn a_closed_stderr_does_not_stop_the_server_from_answering() {
    let dir = tempfile::tempdir().unwrap();
    // Start the server with stderr on a FIFO, read up to `listening on`, then close the
    // FIFO (the reader goes away, as with `baack serve 2>&1 | head -3`).
    let script = r#"
        bin=$1; store=$2; fifo=$2.fifo
        mkfifo "$fifo"
        "$bin" serve --store "$store" --listen 127.0.0.1:0 </dev/null >/dev/null 2>"$fifo" &
        pid=$!
        while IFS= read -r line; do
            case "$line" in "listening on "*) echo "$pid ${line#listening on }"; break;; esac
        done < "$fifo"
    "#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, "bash"])
        .arg(bin())
        .arg(dir.path().join("store"))
        .output()
        .expect("bash");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (pid, base) = line.split_once(' ').expect("pid and address");
    let answer = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/openapi.json"))
        .send();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", pid])
        .status();
    let answer = answer.expect("an answer although nobody reads the log");
    assert_eq!(answer.status(), StatusCode::OK);
}

#[test]
fn sigterm_stops_the_server_with_status_0_and_frees_the_port() {
    let mut srv = Server::start();
    assert_eq!(srv.get("/n/v1/clientcontext").0, StatusCode::OK);
    let base = srv.base.clone();
    let status = srv.stop();
    assert_eq!(status.code(), Some(0), "{:?}", srv.log());
    // Nobody answers any more.
    let refused = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/openapi.json"))
        .send();
    assert!(refused.is_err());
}
