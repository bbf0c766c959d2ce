//! Issue 16's token lifecycle, through the real binary and a real `baack serve`: token
//! descriptions, and leak triage (`token whois`) with the secret-scanner rules.

use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn ok(c: Command) -> String {
    let o = run(c);
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn descriptions_are_set_on_create_shown_changed_by_put_and_checked() {
    let srv = Server::start_args(&["--rate-limit", "off"]);
    let client = srv.create_client("Android");
    let made: Value = serde_json::from_str(&ok(remote(
        &srv,
        &[
            "token",
            "create",
            "--client",
            "Android",
            "--description",
            "android app, prod",
            "--expires-in",
            "1h",
            "-o",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(made["description"], json!("android app, prod"), "{made}");
    let urn = made["urn"].as_str().unwrap().to_string();
    // A token made without one has none, and the list's column says "-".
    srv.create_token(&client);
    let get = ok(remote(&srv, &["token", "get", &urn]));
    assert!(
        get.contains("description") && get.contains("android app, prod"),
        "{get}"
    );
    let list = ok(remote(&srv, &["token", "list"]));
    let header = list.lines().next().unwrap();
    assert!(header.contains("DESCRIPTION"), "{list}");
    let row = list.lines().find(|l| l.contains(&urn)).unwrap();
    assert!(row.ends_with("android app, prod"), "{list}");
    assert!(
        list.lines()
            .skip(1)
            .any(|l| !l.contains(&urn) && l.trim_end().ends_with('-')),
        "{list}"
    );
    // `token update` changes it, the expiry untouched, and "" clears it.
    let v: Value = serde_json::from_str(&ok(remote(
        &srv,
        &[
            "token",
            "update",
            &urn,
            "--description",
            "android app, beta",
            "-o",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(v["description"], json!("android app, beta"), "{v}");
    assert_eq!(v["expirationTimestamp"], made["expirationTimestamp"], "{v}");
    let o = run(remote(
        &srv,
        &["token", "update", &urn, "--description", ""],
    ));
    assert!(o.status.success() && stderr(&o).is_empty(), "{o:?}");
    let (_, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
    assert!(b.get("description").is_none(), "{b}");
    let o = run(remote(
        &srv,
        &["token", "update", &urn, "--description", "x\u{7}"],
    ));
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    assert!(stderr(&o).contains("--description"), "{o:?}");
    // PUT changes it (the expiry untouched), an empty one clears it, absent keeps it.
    let path = format!("/n/v1/apiclientbearertoken/{urn}");
    let (s, _, b) = srv.put(&path, json!({ "description": "android app, staging" }));
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["description"], json!("android app, staging"), "{b}");
    assert_eq!(b["expirationTimestamp"], made["expirationTimestamp"], "{b}");
    let (_, _, b) = srv.put(&path, json!({ "expirationTimestamp": baack_time(60_000) }));
    assert_eq!(b["description"], json!("android app, staging"), "{b}");
    let (_, _, b) = srv.put(&path, json!({ "description": "" }));
    assert!(b.get("description").is_none(), "{b}");
    // 256 characters are allowed, 257 are not; nor a control character; nor a number.
    let (s, _, b) = srv.put(&path, json!({ "description": "é".repeat(256) }));
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    for bad in [json!("x".repeat(257)), json!("two\nlines"), json!(7)] {
        let (s, _, b) = srv.put(&path, json!({ "description": bad }));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert!(b.to_string().contains("description"), "{b}");
    }
    // The CLI names its flag, and makes nothing.
    let o = run(remote(
        &srv,
        &[
            "token",
            "create",
            "--client",
            "Android",
            "--description",
            "a\tb",
        ],
    ));
    assert!(!o.status.success(), "{o:?}");
    assert!(stderr(&o).contains("--description"), "{}", stderr(&o));
    let (_, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/?apiClient={client}"));
    assert_eq!(b["bearerTokens"].as_array().unwrap().len(), 2, "{b}");
    // The OpenAPI document describes it, for clients and schemathesis.
    let (_, _, doc) = srv.get("/openapi.json");
    for schema in ["BearerTokenInput", "BearerTokenUpdate", "BearerToken"] {
        let d = &doc["components"]["schemas"][schema]["properties"]["description"];
        assert_eq!(d["maxLength"], json!(256), "{schema}: {d}");
    }
}

#[test]
fn the_documented_server_drops_descriptions_and_the_cli_still_works() {
    let srv = Server::start_documented();
    let client = srv.create_client("Android");
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({ "apiClient": { "urn": client }, "description": "android app, prod" }),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(b.get("description").is_none(), "{b}");
    let urn = urn_field(&b).unwrap().to_string();
    let path = format!("/n/v1/apiclientbearertoken/{urn}");
    let (s, _, b) = srv.put(&path, json!({ "description": "kept?" }));
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(b.get("description").is_none(), "{b}");
    let (_, _, b) = srv.get(&path);
    assert!(b.get("description").is_none(), "{b}");
    // The CLI creates the token, warns that the description was not kept, and reads it.
    let o = run(remote(
        &srv,
        &[
            "token",
            "create",
            "--client",
            &client,
            "--description",
            "ci",
            "-o",
            "json",
        ],
    ));
    assert!(o.status.success(), "{o:?}");
    assert!(
        stderr(&o).contains("did not keep `description`"),
        "{}",
        stderr(&o)
    );
    let made: Value = serde_json::from_slice(&o.stdout).unwrap();
    let urn = urn_field(&made).unwrap().to_string();
    let get = ok(remote(&srv, &["token", "get", &urn]));
    assert!(get.contains(&urn) && !get.contains("description"), "{get}");
    let o = run(remote(
        &srv,
        &["token", "update", &urn, "--description", "ci"],
    ));
    assert!(o.status.success(), "{o:?}");
    assert!(stderr(&o).contains("did not keep `description`"), "{o:?}");
    let o = run(remote(
        &srv,
        &["token", "update", &urn, "--description", "ci", "--strict"],
    ));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    ok(remote(&srv, &["token", "revoke", &urn]));
}

#[test]
fn store_records_without_a_description_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let env = |c: &mut Command| {
        c.env("BAACK_STORE", &store).stdin(Stdio::null());
    };
    let mut c = baack();
    env(&mut c);
    c.args(["init", "-q", "--store"]).arg(&store);
    ok(c);
    let mut c = baack();
    env(&mut c);
    ok({
        c.args(["client", "create", "--client-id", "Android"]);
        c
    });
    let mut c = baack();
    env(&mut c);
    c.args(["token", "create", "--client", "Android", "-q"]);
    ok(c);
    // The records a build without descriptions wrote: none names the field.
    let tokens: Vec<_> = std::fs::read_dir(store.join("tokens"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(tokens.len() >= 2 && tokens.iter().all(|t| !t.contains("description")));
    let mut c = baack();
    env(&mut c);
    c.args(["token", "list", "-o", "json"]);
    let list: Value = serde_json::from_str(&ok(c)).unwrap();
    assert!(list.as_array().unwrap().len() >= 2, "{list}");
}

/// Runs `c` with `token` on its stdin.
fn with_stdin(mut c: Command, token: &str) -> Output {
    run_with_stdin(&mut c, &format!("{token}\n"))
}

#[test]
fn whois_derives_the_urn_offline_and_looks_it_up_by_urn_only() {
    let srv = Server::start_args(&["--rate-limit", "off"]);
    let client = srv.create_client("Android");
    let (urn, token) = srv.create_token(&client);
    // Offline: no store, no server; only what the value says.
    let mut c = baack();
    c.env("BAACK_STORE", "/proc/baack-test-no-store").args([
        "token",
        "whois",
        "-",
        "--offline",
        "-o",
        "json",
    ]);
    let o = with_stdin(c, &token);
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["urn"], json!(urn), "{v}");
    assert_eq!(v["checksum"], json!("valid"), "{v}");
    assert_eq!(
        v["bearerToken"],
        json!(format!("{}...", &token[..6])),
        "{v}"
    );
    // With the server: the client and status too, found by URN.
    let c = remote(&srv, &["token", "whois", "-", "-v"]);
    let o = with_stdin(c, &token);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&urn) && out.contains("Android") && out.contains("active"),
        "{out}"
    );
    assert!(
        !out.contains(&token) && !stderr(&o).contains(&token),
        "{o:?}"
    );
    // No request carried the token: only its URN, in a path (its own login aside, the
    // CLI authenticates with the root token).
    let log = srv.log().join("\n");
    assert!(!log.contains(&token), "{log}");
    assert!(
        log.contains(&format!("/n/v1/apiclientbearertoken/{urn}")),
        "{log}"
    );
    // --revoke: expired at once, by URN; the token no longer authenticates.
    let c = remote(&srv, &["token", "whois", "-", "--revoke"]);
    let o = with_stdin(c, &token);
    assert!(o.status.success(), "{o:?}");
    let (s, _, b) = srv.call(
        reqwest::Method::GET,
        "/n/v1/clientcontext",
        Some(&token),
        None,
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (_, _, b) = srv.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
    assert!(b["expirationTimestamp"].is_string(), "{b}");
    // A token this server never made: the URN is printed, and exit 3 says why.
    let stranger = baack::secret::new_bearer_token().unwrap();
    let c = remote(&srv, &["token", "whois", "-", "-q"]);
    let o = with_stdin(c, &stranger);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let derived = baack::secret::token_urn(&baack::secret::digest(&stranger));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), derived, "{o:?}");
    assert!(
        stderr(&o).contains("no bearer token with that value"),
        "{o:?}"
    );
    // An unreachable server: the URN all the same, and a warning.
    let mut c = baack();
    c.env("BAACK_API_URL", "http://127.0.0.1:1")
        .env("BAACK_TOKEN", srv.root())
        .args(["token", "whois", "-", "-q", "--retries", "0"]);
    let o = with_stdin(c, &token);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), urn, "{o:?}");
    assert!(stderr(&o).contains("cannot look the token up"), "{o:?}");
}

#[test]
fn whois_refuses_a_token_as_an_argument_and_a_mistyped_one_on_stdin() {
    let token = baack::secret::new_bearer_token().unwrap();
    let mut c = baack();
    c.args(["token", "whois", "--offline", &token]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(!stderr(&o).contains(&token), "{o:?}");
    assert!(
        stderr(&o).contains("never pass a token as an argument"),
        "{o:?}"
    );
    // One character changed: the checksum catches it, before any lookup.
    let last = token.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &token[..token.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    let mut c = baack();
    c.env("BAACK_STORE", "/proc/baack-test-no-store")
        .args(["token", "whois", "-"]);
    let o = with_stdin(c, &typo);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(stderr(&o).contains("checksum does not match"), "{o:?}");
    assert!(!stderr(&o).contains(&typo), "{o:?}");
}

/// The regex of each shipped secret-scanner rule, compiled as both scanners (Go's RE2)
/// read it: `\b` as an ASCII word boundary.
fn scanner_rules() -> Vec<(&'static str, regex::Regex)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let gitleaks: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("gitleaks.toml")).unwrap()).unwrap();
    let rule = &gitleaks["rules"].as_array().unwrap()[0];
    assert_eq!(
        rule["keywords"].as_array().unwrap()[0].as_str(),
        Some("bk_")
    );
    let trufflehog: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root.join("trufflehog.yaml")).unwrap())
            .unwrap();
    let detector = &trufflehog["detectors"][0];
    assert_eq!(detector["keywords"][0].as_str(), Some("bk_"));
    let compile = |re: &str| regex::RegexBuilder::new(re).unicode(false).build().unwrap();
    vec![
        ("gitleaks", compile(rule["regex"].as_str().unwrap())),
        (
            "trufflehog",
            compile(detector["regex"]["token"].as_str().unwrap()),
        ),
    ]
}

#[test]
fn the_secret_scanner_rules_match_tokens_and_no_look_alike() {
    let rules = scanner_rules();
    for _ in 0..50 {
        let t = baack::secret::new_bearer_token().unwrap();
        let body = &t[3..];
        let found = [
            t.clone(),
            format!("BAACK_TOKEN={t}"),
            format!("{{\"bearerToken\": \"{t}\"}}"),
            format!("Authorization: Bearer {t}\n"),
            format!("https://x.example/?t={t}&u=1"),
            format!("export T='{t}'"),
        ];
        let not = [
            format!("bx_{body}"),
            format!("BK_{body}"),
            format!("bk-{body}"),
            format!("bk_{}", &body[1..]),
            format!("bk_{body}a"),
            format!("bk_{}-{}", &body[..20], &body[21..]),
            format!("bk_{}+{}", &body[..20], &body[21..]),
            format!("xbk_{body}"),
            format!("{t}x"),
            format!("{t}_old"),
            format!("my_{t}"),
        ];
        for (name, re) in &rules {
            for text in &found {
                let m = re
                    .captures(text)
                    .unwrap_or_else(|| panic!("{name}: {text}"));
                assert_eq!(&m[1], t, "{name}: {text}");
            }
            for text in &not {
                assert!(!re.is_match(text), "{name} matched the look-alike {text}");
            }
        }
    }
}
