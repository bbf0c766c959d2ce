//! Issue 16's audit log, rotation and CI gate, through the real binary and a real
//! `baack serve`: an event per change and per refused request (throttled), the list's
//! filters and pages, `audit log --follow`, `token rotate` and `oauth rotate-secret`,
//! and `audit check`'s exit code.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn ok(c: Command) -> String {
    ok_out(c)
}

fn events(srv: &Server, query: &str) -> Vec<Value> {
    let (s, _, b) = srv.get(&format!("/n/v1/auditevent/?limit=1000{query}"));
    assert_eq!(s, StatusCode::OK, "{b}");
    b["auditEvents"].as_array().unwrap().clone()
}

fn actions(evs: &[Value]) -> Vec<&str> {
    evs.iter().filter_map(|e| e["action"].as_str()).collect()
}

fn fast_server() -> Server {
    Server::start_args(&["--rate-limit", "off", "--usage-flush", "100ms"])
}

#[test]
fn every_change_is_an_event_newest_first_naming_actor_target_and_never_a_secret() {
    let srv = fast_server();
    let client = srv.create_client("Android");
    let (turn, secret) = srv.create_token(&client);
    let role = srv.create_role("viewers", &["READ"], &[]);
    let (s, _, b) = srv.put(
        &format!("/n/v1/permissionrole/{role}"),
        json!({"name": "viewers", "clients": [{"urn": client}], "permissions": ["READ"]}),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (_, _, b) = srv.put(
        &format!("/n/v1/apiclientbearertoken/{turn}"),
        json!({"expirationTimestamp": baack_time(3_600_000)}),
    );
    assert!(b["expirationTimestamp"].is_string(), "{b}");
    let (s, _, o) = srv.post(
        "/v3/oauth-clients",
        json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s, StatusCode::OK, "{o}");
    let oid = o["id"].as_str().unwrap();
    let (s, _, r) = srv.post(
        &format!("/v3/oauth-clients/{oid}/secret"),
        json!({"overlapSeconds": 3600}),
    );
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_ne!(r["secret"], o["secret"], "{r}");
    srv.delete(&format!("/v3/oauth-clients/{oid}"));
    srv.delete(&format!("/n/v1/apiclient/{client}"));

    let evs = events(&srv, "");
    assert_eq!(
        actions(&evs),
        vec![
            "apiclient.delete",
            "oauthclient.delete",
            "oauthclient.rotatesecret",
            "oauthclient.create",
            "apiclientbearertoken.revoke",
            "permissionrole.grant",
            "permissionrole.create",
            "apiclientbearertoken.create",
            "apiclient.create",
        ]
    );
    let text = serde_json::to_string(&evs).unwrap();
    for s in [
        secret.as_str(),
        o["secret"].as_str().unwrap(),
        r["secret"].as_str().unwrap(),
    ] {
        assert!(!text.contains(s), "a secret in the audit log");
    }
    let (_, _, ctx) = srv.get("/n/v1/clientcontext");
    for e in &evs {
        assert_eq!(e["actor"]["client"]["urn"], ctx["client"]["urn"], "{e}");
        assert!(e["actor"]["token"]["urn"].is_string(), "{e}");
        assert_eq!(e["outcome"], "success", "{e}");
        let (s, _, one) = srv.get(e["url"].as_str().unwrap());
        assert_eq!((s, &one), (StatusCode::OK, e));
    }
    assert_eq!(evs[1]["target"], json!({"type": "oauthclient", "id": oid}));
    assert_eq!(
        evs[8]["target"],
        json!({"type": "apiclient", "urn": client}),
        "{}",
        evs[8]
    );
    assert!(
        evs[5]["detail"].as_str().unwrap().contains(&client),
        "{}",
        evs[5]
    );

    // Filters and pages.
    let only = events(&srv, "&action=apiclient.create");
    assert_eq!(actions(&only), vec!["apiclient.create"]);
    assert_eq!(events(&srv, &format!("&target={client}")).len(), 2);
    let actor = ctx["client"]["urn"].as_str().unwrap();
    assert_eq!(events(&srv, &format!("&actor={actor}")).len(), 9);
    assert_eq!(
        events(&srv, &format!("&since={}", baack_time(60_000))).len(),
        0
    );
    assert_eq!(
        events(&srv, &format!("&until={}", baack_time(-60_000))).len(),
        0
    );
    let mut path = "/n/v1/auditevent/?limit=2".to_string();
    let mut paged = Vec::new();
    loop {
        let (_, _, b) = srv.get(&path);
        paged.extend(b["auditEvents"].as_array().unwrap().iter().cloned());
        match b["nextPage"].as_str() {
            Some(n) => path = n.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, evs);
    for bad in [
        "action=apiclient.explode",
        "since=yesterday",
        "cursor=x",
        "actor=7",
    ] {
        let (s, _, b) = srv.get(&format!("/n/v1/auditevent/?{bad}"));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    let (s, _, _) = srv.get(&format!("/n/v1/auditevent/{}", random_urn()));
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[test]
fn a_refused_request_is_one_event_per_token_per_minute_and_reading_needs_read() {
    let srv = fast_server();
    let nobody = srv.create_client("nobody");
    let (nurn, none) = srv.create_token(&nobody);
    let reader = srv.create_client("reader");
    srv.create_role("readers", &["READ"], &[&reader]);
    let (_, read) = srv.create_token(&reader);
    for _ in 0..20 {
        let (s, _, _) = srv.call(Method::GET, "/n/v1/apiclient/", Some(&none), None);
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // A made-up token is never recorded.
    let fake = baack::secret::new_bearer_token().unwrap();
    srv.call(Method::GET, "/n/v1/apiclient/", Some(&fake), None);
    let start = Instant::now();
    let denied = loop {
        let d = events(&srv, "&action=auth.denied");
        if !d.is_empty() || start.elapsed() > Duration::from_secs(2) {
            break d;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    let denied_now = events(&srv, "&action=auth.denied");
    assert_eq!(denied_now.len(), 1, "{denied:?}");
    let e = &denied_now[0];
    assert_eq!(e["outcome"], "denied");
    assert_eq!(e["actor"]["token"]["urn"], json!(nurn));
    assert_eq!(e["target"]["type"], "apiclient");
    assert!(e["detail"].as_str().unwrap().contains("READ"), "{e}");
    // READ may read the log; no role may not (a bare 404, as for every management GET).
    let (s, _, b) = srv.call(Method::GET, "/n/v1/auditevent/", Some(&read), None);
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = srv.call(Method::GET, "/n/v1/auditevent/", Some(&none), None);
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    // Writing it is refused to READ too (there is no write: 405).
    let (s, _, _) = srv.call(
        Method::POST,
        "/n/v1/auditevent/",
        Some(&read),
        Some(json!({})),
    );
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn audit_log_shows_oldest_first_and_follow_prints_new_events_as_they_come() {
    let srv = fast_server();
    srv.create_client("first");
    let out = ok(remote(&srv, &["audit", "log"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TIME"), "{out}");
    assert!(
        lines.iter().any(|l| l.contains("apiclient.create")),
        "{out}"
    );
    let json: Value = serde_json::from_str(&ok(remote(
        &srv,
        &["audit", "log", "--since", "1h", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");

    let mut follow = remote(
        &srv,
        &[
            "audit",
            "log",
            "--follow",
            "--interval",
            "100ms",
            "-o",
            "json",
        ],
    );
    let mut child = follow.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["action"], "apiclient.create");
    let c = srv.create_client("second");
    let next: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next["target"]["urn"], json!(c), "{next}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn token_rotate_delivers_the_new_secret_then_retires_the_old_one() {
    let srv = fast_server();
    let client = srv.create_client("ci");
    let made: Value = serde_json::from_str(&ok(remote(
        &srv,
        &[
            "token",
            "create",
            "--client",
            "ci",
            "--expires-in",
            "30d",
            "--description",
            "ci runner",
            "-o",
            "json",
        ],
    )))
    .unwrap();
    let old = made["urn"].as_str().unwrap().to_string();
    let old_secret = made["bearerToken"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.token");
    let o = run(remote(
        &srv,
        &[
            "token",
            "rotate",
            &old,
            "--overlap",
            "1h",
            "--secret-file",
            file.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{o:?}");
    let new_secret = std::fs::read_to_string(&file).unwrap();
    assert!(baack::secret::check_bearer_token(new_secret.trim()).is_ok());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains(new_secret.trim()), "{stdout}");
    // Both work during the overlap; the new one has the description and a 30-day life.
    for t in [&old_secret, new_secret.trim()] {
        let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", Some(t), None);
        assert_eq!(s, StatusCode::OK);
    }
    let new = baack::secret::token_urn(&baack::secret::digest(new_secret.trim()));
    let (_, _, n) = srv.get(&format!("/n/v1/apiclientbearertoken/{new}"));
    assert_eq!(n["description"], "ci runner", "{n}");
    assert_eq!(n["apiClient"]["urn"], json!(client));
    let life = |t: &Value| {
        let ts = |k: &str| baack::clock::parse_timestamp(t[k].as_str().unwrap()).unwrap();
        ts("expirationTimestamp") - ts("created")
    };
    assert!((life(&n) - life(&made)).abs() < 5_000, "{n} vs {made}");
    let (_, _, o_now) = srv.get(&format!("/n/v1/apiclientbearertoken/{old}"));
    let ends =
        baack::clock::parse_timestamp(o_now["expirationTimestamp"].as_str().unwrap()).unwrap();
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    assert!((ends - in_an_hour).abs() < 60_000, "{o_now}");
    let rot = events(&srv, "&action=apiclientbearertoken.rotate");
    assert_eq!(rot.len(), 1);
    assert_eq!(rot[0]["target"]["urn"], json!(old));
    assert!(
        rot[0]["detail"].as_str().unwrap().contains(&new),
        "{}",
        rot[0]
    );

    // A secret file that exists already: refused before anything is made.
    let before = events(&srv, "").len();
    let o = run(remote(
        &srv,
        &[
            "token",
            "rotate",
            &new,
            "--secret-file",
            file.to_str().unwrap(),
        ],
    ));
    assert!(!o.status.success(), "{o:?}");
    assert_eq!(events(&srv, "").len(), before, "something changed");

    // --until-unused: the old token stops once unused for the overlap, at most the max.
    let o = run(remote(
        &srv,
        &[
            "token",
            "rotate",
            &new,
            "--overlap",
            "10m",
            "--until-unused",
            "--max-overlap",
            "2d",
        ],
    ));
    assert!(o.status.success(), "{o:?}");
    let (_, _, n) = srv.get(&format!("/n/v1/apiclientbearertoken/{new}"));
    assert_eq!(n["idleTimeoutSeconds"], 600, "{n}");
    let ends = baack::clock::parse_timestamp(n["expirationTimestamp"].as_str().unwrap()).unwrap();
    let in_two_days = chrono::Utc::now().timestamp_millis() + 2 * 86_400_000;
    assert!((ends - in_two_days).abs() < 60_000, "{n}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("gone unused"),
        "{o:?}"
    );
    // A successor that does not exist is not found, as any reference to nothing.
    let (s, _, b) = srv.put(
        &format!("/n/v1/apiclientbearertoken/{new}"),
        json!({"replacedBy": {"urn": random_urn()}}),
    );
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    // An idle window under five minutes is refused: last use is kept to the minute.
    let (s, _, b) = srv.put(
        &format!("/n/v1/apiclientbearertoken/{new}"),
        json!({"idleTimeoutSeconds": 60}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // An expired token has nothing to rotate.
    let (dead, _) = srv.create_token(&client);
    srv.put(
        &format!("/n/v1/apiclientbearertoken/{dead}"),
        json!({"expirationTimestamp": baack_time(-1000)}),
    );
    let o = run(remote(&srv, &["token", "rotate", &dead]));
    assert_eq!(o.status.code(), Some(5), "{o:?}");
}

#[test]
fn oauth_rotate_secret_prints_the_new_secret_once() {
    let srv = fast_server();
    let args: Vec<&str> = OAUTH_CREATE.iter().copied().chain(["-o", "json"]).collect();
    let made: Value = serde_json::from_str(&ok(remote(&srv, &args))).unwrap();
    let id = made["id"].as_str().unwrap();
    let out = ok(remote(
        &srv,
        &["oauth", "rotate-secret", id, "--overlap", "2h", "-q"],
    ));
    let (got_id, secret) = out.trim().split_once(' ').unwrap();
    assert_eq!(got_id, id);
    assert_eq!(secret.len(), 64);
    assert_ne!(secret, made["secret"].as_str().unwrap());
    let (_, _, o) = srv.get(&format!("/v3/oauth-clients/{id}"));
    assert_eq!(o["secret"], Value::Null, "{o}");
    let (s, _, b) = srv.post(
        &format!("/v3/oauth-clients/{id}/secret"),
        json!({"overlapSeconds": 2_592_001}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[test]
fn audit_check_exits_10_on_findings_and_0_when_clean() {
    let srv = fast_server();
    srv.create_client("ci");
    ok(remote(
        &srv,
        &["token", "create", "--client", "ci", "--expires-in", "3d"],
    ));
    let o = run(remote(
        &srv,
        &[
            "audit",
            "check",
            "--fail-on",
            "expires-within=7d",
            "-o",
            "json",
        ],
    ));
    assert_eq!(o.status.code(), Some(10), "{o:?}");
    let found: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["rule"], "expires-within=7d");
    assert_eq!(found[0]["name"], "ci");
    // The root token of a new store never expires: no-expiry finds it.
    let o = run(remote(&srv, &["audit", "check", "--fail-on", "no-expiry"]));
    assert_eq!(o.status.code(), Some(10), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("root"), "{o:?}");
    // Nothing is unused for 90 days in a new store, nor expires within a second.
    let o = run(remote(
        &srv,
        &[
            "audit",
            "check",
            "--fail-on",
            "unused-for=90d,expires-within=1s",
        ],
    ));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = run(remote(&srv, &["audit", "check", "--fail-on", "stale"]));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no-expiry"),
        "{o:?}"
    );
}

#[test]
fn retention_keeps_the_newest_events_and_is_a_store_setting() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cli = |args: &[&str]| on_store(&store, args);
    ok(cli(&["init", "-q"]));
    ok(cli(&["audit", "retention", "--keep", "3"]));
    for i in 0..5 {
        ok(cli(&["client", "create", "--client-id", &format!("c{i}")]));
    }
    let evs: Value = serde_json::from_str(&ok(cli(&["audit", "log", "-o", "json"]))).unwrap();
    let targets: Vec<&str> = evs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(targets.len(), 3, "{evs}");
    assert!(targets[2].contains("c4"), "{targets:?}");
    let shown = ok(cli(&["audit", "retention", "-o", "json"]));
    assert_eq!(
        serde_json::from_str::<Value>(&shown).unwrap(),
        json!({"maxEvents": 3, "maxDays": 365})
    );
    let srv = Server::start();
    let o = run(remote(&srv, &["audit", "retention", "--keep", "9"]));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}
