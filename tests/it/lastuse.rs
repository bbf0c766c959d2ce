//! Issue 16's last use, through the real binary and a real `baack serve`: recorded for
//! tokens and their clients off the request path, filtered on, shown, switched off, and
//! absent from the documented-only API.

use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn ok(c: Command) -> String {
    ok_out(c)
}

fn json_of(c: Command) -> Value {
    serde_json::from_str(&ok(c)).unwrap()
}

/// Polls `path` as root until `done` holds of its body, for at most 2 s.
fn eventually(srv: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, _, b) = srv.get(path);
        if done(&b) || start.elapsed() > Duration::from_secs(2) {
            return b;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn fast_server() -> Server {
    Server::start_args(&["--rate-limit", "off", "--usage-flush", "100ms"])
}

#[test]
fn a_use_sets_last_used_on_the_token_and_its_client_and_the_filters_see_it() {
    let srv = fast_server();
    let used_client = srv.create_client("used");
    let idle_client = srv.create_client("idle");
    let (used, secret) = srv.create_token(&used_client);
    let (idle, _) = srv.create_token(&idle_client);
    let path = format!("/n/v1/apiclientbearertoken/{used}");
    let (_, _, b) = srv.get(&path);
    assert_eq!(b["lastUsed"], Value::Null, "never used yet: {b}");
    assert!(b["created"].is_string(), "{b}");

    // Any authenticated request is a use, a refused one too (the token is valid).
    let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&secret), None);
    assert_eq!(s, StatusCode::OK);
    let b = eventually(&srv, &path, |b| b["lastUsed"].is_string());
    let at = baack::clock::parse_timestamp(b["lastUsed"].as_str().unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    assert!((now - at).abs() < 60_000, "{b}");
    let c = eventually(&srv, &format!("/n/v1/apiclient/{used_client}"), |c| {
        c["lastUsed"].is_string()
    });
    assert!(c["lastUsed"].is_string(), "{c}");
    let (_, _, other) = srv.get(&format!("/n/v1/apiclientbearertoken/{idle}"));
    assert_eq!(other["lastUsed"], Value::Null, "{other}");

    // The API's filters, and the CLI's.
    let (_, _, within) = srv.get("/n/v1/apiclientbearertoken/?usedWithin=3600");
    let urns: Vec<&str> = within["bearerTokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["urn"].as_str())
        .collect();
    assert!(
        urns.contains(&used.as_str()) && !urns.contains(&idle.as_str()),
        "{within}"
    );
    // Neither was unused for an hour: one was just used, the other is younger than
    // that (a new token is not "unused" yet).
    let (_, _, young) = srv.get("/n/v1/apiclientbearertoken/?unusedFor=3600");
    assert!(!young.to_string().contains(&idle), "{young}");
    assert!(!young.to_string().contains(&used), "{young}");
    for bad in ["unusedFor=-1", "usedWithin=soon", "unusedFor=99999999999"] {
        let (s, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/?{bad}"));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    let list = ok(remote(&srv, &["token", "list", "--used-within", "1h"]));
    assert!(list.contains(&used) && !list.contains(&idle), "{list}");
    assert!(list.lines().next().unwrap().contains("LAST USED"), "{list}");
    let row = list.lines().find(|l| l.contains(&used)).unwrap();
    assert!(row.contains("just now") || row.contains("ago"), "{row}");
    let clients = json_of(remote(
        &srv,
        &["client", "list", "--used-within", "1h", "-o", "json"],
    ));
    let ids: Vec<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["clientID"].as_str())
        .collect();
    assert!(ids.contains(&"used") && !ids.contains(&"idle"), "{clients}");
}

#[test]
fn unused_for_finds_what_was_last_used_long_ago_across_pages() {
    // A store whose records say a token was last used 100 days ago: the filters read
    // what the store holds, whatever wrote it.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cli = |args: &[&str]| on_store(&store, args);
    ok(cli(&["init", "-q"]));
    ok(cli(&["client", "create", "--client-id", "old"]));
    ok(cli(&["client", "create", "--client-id", "new"]));
    let old = ok(cli(&["token", "create", "--client", "old", "-q"]));
    let old = baack::secret::token_urn(&baack::secret::digest(old.trim()));
    for _ in 0..3 {
        ok(cli(&["token", "create", "--client", "new", "-q"]));
    }
    let day = 86_400_000i64;
    let now = chrono::Utc::now().timestamp_millis();
    let file = store.join("tokens").join(format!("{old}.json"));
    let mut rec: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    rec["created"] = json!(now - 200 * day);
    rec["last_used"] = json!(now - 100 * day);
    std::fs::write(&file, serde_json::to_vec(&rec).unwrap()).unwrap();
    let t = json_of(cli(&["token", "list", "--unused-for", "90d", "-o", "json"]));
    let urns: Vec<&str> = t
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["urn"].as_str())
        .collect();
    assert_eq!(urns, vec![old.as_str()], "{t}");
    let t = json_of(cli(&[
        "token",
        "list",
        "--unused-for",
        "101d",
        "-o",
        "json",
    ]));
    assert_eq!(t, json!([]));
    // Pages of one item: the filter reads on until it fills one, and its next page
    // keeps the filter.
    let mut srv = Server::start_on(&store, &["--rate-limit", "off"]);
    let token = ok(cli(&["token", "create", "--client", "root", "-q"]));
    srv.root = Some(token.trim().to_string());
    let mut path = "/n/v1/apiclientbearertoken/?unusedFor=7776000&limit=1".to_string();
    let mut found = Vec::new();
    loop {
        let (s, _, b) = srv.get(&path);
        assert_eq!(s, StatusCode::OK, "{b}");
        for t in b["bearerTokens"].as_array().unwrap() {
            found.push(t["urn"].as_str().unwrap().to_string());
        }
        match b["nextPage"].as_str() {
            Some(next) => {
                assert!(next.contains("unusedFor=7776000"), "{next}");
                path = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(found, vec![old], "{path}");
}

#[test]
fn reading_never_waits_for_the_store_lock_and_the_use_is_written_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = baack();
    cmd.arg("serve")
        .arg("--store")
        .arg(&store)
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "off"])
        .args(["--usage-flush", "100ms"])
        .env("BAACK_LOCK_TIMEOUT", "200ms");
    let mut srv = Server::spawn(cmd);
    srv.store = store.clone();
    let client = srv.create_client("reader");
    srv.create_role("readers", &["READ"], &[&client]);
    let (urn, secret) = srv.create_token(&client);

    // Another process holds the write lock: reads (each a use) still answer at once.
    let lock = std::fs::File::open(store.join("lock")).unwrap();
    rustix::fs::flock(lock.as_fd(), rustix::fs::FlockOperation::LockExclusive).unwrap();
    for _ in 0..20 {
        let t = Instant::now();
        let (s, _, b) = srv.call(Method::GET, "/n/v1/apiclient/", Some(&secret), None);
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(
            t.elapsed() < Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
    }
    std::thread::sleep(Duration::from_millis(400));
    let (_, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
    assert_eq!(
        b["lastUsed"],
        Value::Null,
        "written while the lock was held: {b}"
    );
    // Let go: the noted use is written by a later flush, not lost.
    drop(lock);
    let b = eventually(&srv, &format!("/n/v1/apiclientbearertoken/{urn}"), |b| {
        b["lastUsed"].is_string()
    });
    assert!(b["lastUsed"].is_string(), "{b}");
    assert!(
        srv.log()
            .iter()
            .any(|l| l.contains("could not write last use")),
        "{:?}",
        srv.log()
    );
}

#[test]
fn no_last_use_leaves_it_unset_and_documented_only_hides_it() {
    let srv = Server::start_args(&[
        "--rate-limit",
        "off",
        "--usage-flush",
        "100ms",
        "--no-last-use",
    ]);
    let client = srv.create_client("c");
    let (urn, secret) = srv.create_token(&client);
    srv.call(Method::GET, "/n/v1/clientcontext", Some(&secret), None);
    std::thread::sleep(Duration::from_millis(400));
    let (_, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
    assert_eq!(b["lastUsed"], Value::Null, "{b}");

    let doc = Server::start_documented();
    let client = doc.create_client("d");
    let (urn, _) = doc.create_token(&client);
    let (_, _, t) = doc.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
    for f in ["lastUsed", "created", "idleTimeoutSeconds"] {
        assert!(t.get(f).is_none(), "{f} shown by documented-only: {t}");
    }
    let (_, _, c) = doc.get(&format!("/n/v1/apiclient/{client}"));
    assert!(c.get("lastUsed").is_none(), "{c}");
    // The CLI says a filter cannot be applied there, rather than listing everything.
    let o = baack()
        .env("BAACK_API_URL", &doc.base)
        .env("BAACK_TOKEN", doc.root())
        .args(["token", "list", "--unused-for", "1d"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(9), "{o:?}");
}
