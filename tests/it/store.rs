//! The store under the server: persistence across a SIGTERM and a restart, corrupt files
//! refused and left byte-identical, and `baack init`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

/// The SHA-256 of every file under `dir`, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            // Index entries are symlinks to URNs: their target is their content.
            let target = std::fs::read_link(&p).unwrap();
            out.insert(
                p.strip_prefix(dir).unwrap().to_path_buf(),
                format!("-> {}", target.display()),
            );
        } else if meta.is_dir() {
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), "dir".into());
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.insert(
                p.strip_prefix(dir).unwrap().to_path_buf(),
                hex::encode(Sha256::digest(&bytes)),
            );
        }
    }
    out
}

#[test]
fn a_store_reopened_after_sigterm_holds_everything_and_no_new_root_token() {
    let mut first = Server::start();
    let root = first.root().to_string();
    let client = first.create_client("Persisted");
    let (turn, token) = first.create_token(&client);
    let when = baack_time(3_600_000);
    assert_eq!(
        first
            .put(
                &format!("/n/v1/apiclientbearertoken/{turn}"),
                json!({"expirationTimestamp": when})
            )
            .0,
        StatusCode::ACCEPTED
    );
    let role = first.create_role("Keepers", &["READ"], &[&client]);
    let (s, _, oauth) = first.post(
        "/v3/oauth-clients",
        json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s, StatusCode::OK, "{oauth}");
    let oid = oauth["id"].as_str().unwrap().to_string();

    let reads = [
        "/n/v1/apiclient/".to_string(),
        "/n/v1/apiclientbearertoken/".to_string(),
        "/n/v1/permissionrole/".to_string(),
        "/n/v1/companies".to_string(),
        format!("/n/v1/apiclient/{client}"),
        format!("/n/v1/apiclientbearertoken/{turn}"),
        format!("/n/v1/permissionrole/{role}"),
        format!("/v3/oauth-clients/{oid}"),
        "/v3/oauth-clients".to_string(),
    ];
    let before: Vec<(StatusCode, Option<String>, Value)> = reads
        .iter()
        .map(|p| {
            let (s, h, b) = first.get(p);
            (s, h.get("etag").map(|v| v.to_str().unwrap().into()), b)
        })
        .collect();

    // SIGTERM right after a write (one refused as a duplicate, which changes nothing but
    // takes the write lock): a graceful stop with status 0, which releases the lock and
    // leaves no `dirty` marker (else the next writer would repair every index).
    let (s, _, dup) = first.post(
        "/n/v1/apiclient/",
        json!({"owner": {"urn": first.owner()}, "scope": "api.baack.co", "clientID": "Persisted"}),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{dup}");
    let status = first.stop();
    assert!(
        !first.store.join("dirty").exists(),
        "a stopped server left `dirty`"
    );
    assert!(
        status.success(),
        "exit status {status:?}; log {:?}",
        first.log()
    );
    assert_eq!(status.code(), Some(0));
    assert_eq!(first.log().last().map(String::as_str), Some("stopped"));

    // A second server on the same store.
    let mut second = Server::start_on(&first.store, &["--rate-limit", "off"]);
    assert_eq!(
        second.root, None,
        "an existing store announces no root token"
    );
    for line in second.log() {
        assert!(!line.contains("root bearer token"), "{line}");
        assert!(!line.contains("bk_"), "{line}");
        assert!(!line.contains("created a new store"), "{line}");
    }
    second.root = Some(root.clone());
    // The graceful stop wrote what the requests noted: the root client's last use.
    let (_, _, root_client) = second.get("/n/v1/clientcontext");
    let (_, _, clients) = second.get("/n/v1/apiclient/");
    let used = clients["apiClients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["urn"] == root_client["client"]["urn"])
        .unwrap();
    assert!(used["lastUsed"].is_string(), "{used}");
    for (p, (s, etag, b)) in reads.iter().zip(&before) {
        let (s2, h2, b2) = second.get(p);
        // Only the last use may differ: the stop flushed it.
        let (b, b2) = (without_last_use(b), without_last_use(&b2));
        assert_eq!((s2, &b2), (*s, &b), "{p} changed across the restart");
        assert_eq!(
            h2.get("etag").map(|v| v.to_str().unwrap().to_string()),
            *etag,
            "{p}"
        );
    }
    // Both tokens still authenticate, with what they had.
    let (s, _, ctx) = second.get("/n/v1/clientcontext");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ctx["permissions"], json!(["ADMINISTER"]));
    let (s, _, ctx) = second.call(Method::GET, "/n/v1/clientcontext", Some(&token), None);
    assert_eq!(s, StatusCode::OK, "{ctx}");
    assert_eq!(ctx["permissions"], json!(["READ"]));
    assert_eq!(ctx["client"]["clientID"], "Persisted");
    // And the store is still writable.
    second.create_client("After restart");
    let status = second.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_corrupt_meta_json_makes_serve_exit_7_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let ok = baack()
        .args(["init", "-q", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let meta = store.join("meta.json");
    for garbage in [
        b"\x00\xffthis is not json\n".to_vec(),
        b"{\"format\": 1, \"comp".to_vec(),
        b"[]".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&meta, &garbage).unwrap();
        let before = snapshot(&store);
        let out = assert_cmd::Command::from_std(baack())
            .args(["serve", "--listen", "127.0.0.1:0", "--store"])
            .arg(&store)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{garbage:?}: {stderr}");
        assert!(
            stderr.contains("meta.json"),
            "stderr names the file: {stderr}"
        );
        assert!(
            stderr.contains(&meta.display().to_string()),
            "stderr gives the path: {stderr}"
        );
        assert!(!stderr.contains("listening"), "{stderr}");
        assert_eq!(std::fs::read(&meta).unwrap(), garbage, "meta.json changed");
        assert_eq!(snapshot(&store), before, "the store changed");
    }
}

#[test]
fn a_corrupt_client_file_is_a_500_and_is_left_untouched() {
    let srv = Server::start();
    let client = srv.create_client("Fragile");
    let other = srv.create_client("Sturdy");
    let file = srv.store.join("clients").join(format!("{client}.json"));
    assert!(
        file.is_file(),
        "the store keeps clients at clients/<urn>.json"
    );
    let garbage = b"{\"urn\": \"truncated".to_vec();
    std::fs::write(&file, &garbage).unwrap();

    let a = srv.get(&format!("/n/v1/apiclient/{client}"));
    assert_status(&a, 500, "INTERNAL_ERROR");
    let detail = a.2["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains("panicked") && !detail.contains("src/"),
        "{detail}"
    );
    assert!(!detail.contains(srv.root()), "{detail}");
    // Reads that touch it fail the same way; the rest of the store still works.
    assert_status(&srv.get("/n/v1/apiclient/"), 500, "INTERNAL_ERROR");
    assert_eq!(
        srv.get(&format!("/n/v1/apiclient/{other}")).0,
        StatusCode::OK
    );
    // Writes go on (and their crash recovery leaves the file alone).
    srv.create_client("Another");
    assert_status(
        &srv.put(
            &format!("/n/v1/apiclient/{client}"),
            json!({"scope": "api.baack.co", "clientID": "Fixed?"}),
        ),
        500,
        "INTERNAL_ERROR",
    );
    assert_status(
        &srv.delete(&format!("/n/v1/apiclient/{client}")),
        500,
        "INTERNAL_ERROR",
    );
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "the file changed");

    // The OAuth API shapes a corrupt file as its 500.
    let (s, _, o) = srv.post(
        "/v3/oauth-clients",
        json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s, StatusCode::OK);
    let ofile = srv
        .store
        .join("oauth")
        .join(format!("{}.json", o["id"].as_str().unwrap()));
    std::fs::write(&ofile, b"not json").unwrap();
    let a = srv.get(&format!("/v3/oauth-clients/{}", o["id"].as_str().unwrap()));
    assert_sailpoint(&a, 500, "500.0 Internal Fault", "");
    assert_eq!(std::fs::read(&ofile).unwrap(), b"not json");
}

#[test]
fn init_prints_the_root_token_once_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();

    // Table output: the token appears once, on stdout.
    let store = dir.path().join("table");
    let out = baack()
        .args(["init", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens: Vec<&str> = all
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| w.starts_with("bk_"))
        .collect();
    assert_eq!(tokens.len(), 1, "{all}");
    assert_eq!(tokens[0].len(), 43);
    // It works.
    let srv = Server::start_on(&store, &["--rate-limit", "off"]);
    assert_eq!(srv.root, None);
    let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", Some(tokens[0]), None);
    assert_eq!(s, StatusCode::OK);
    drop(srv);

    // JSON output.
    let store = dir.path().join("json");
    let out = baack()
        .args(["init", "-o", "json", "--company-name", "Acme", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["store", "company", "rootClient", "rootToken"]);
    assert_eq!(v["store"], json!(store.display().to_string()));
    assert_eq!(v["company"]["name"], "Acme");
    assert!(is_urn(v["company"]["urn"].as_str().unwrap()));
    assert_eq!(v["rootClient"]["clientID"], "root");
    assert_eq!(v["rootClient"]["scope"], "api.baack.co");
    assert_eq!(v["rootClient"]["owner"]["urn"], v["company"]["urn"]);
    assert_eq!(v["rootToken"]["apiClient"]["urn"], v["rootClient"]["urn"]);
    let token = v["rootToken"]["bearerToken"].as_str().unwrap().to_string();
    assert!(token.starts_with("bk_") && token.len() == 43, "{token}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&token),
        "the token is shown once"
    );

    // A second init changes nothing and exits 5.
    let before = snapshot(&store);
    for args in [vec!["init"], vec!["init", "-o", "json"], vec!["init", "-q"]] {
        let out = baack()
            .args(&args)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("bk_"));
        assert_eq!(snapshot(&store), before, "{args:?} changed the store");
    }
    // The original token still works.
    let srv = Server::start_on(&store, &["--rate-limit", "off"]);
    let (s, _, ctx) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&token), None);
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ctx["owner"]["name"], "Acme");
}

/// `v` without its `lastUsed` fields (Baack's), which a graceful stop writes.
fn without_last_use(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !(k.as_str() == "lastUsed" && o.contains_key("url")))
                .map(|(k, v)| (k.clone(), without_last_use(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_last_use).collect()),
        v => v.clone(),
    }
}
