//! Issue 17's OAuth 2.0 endpoints through a real `baack serve`: the client-credentials
//! grant in each encoding, RFC 6749's errors, access tokens on both APIs narrowed by
//! scope and stopped by disabling their client, introspection, and the key set.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn oauth(srv: &Server, scope: Value, grants: Value, kind: &str) -> (String, String) {
    let (s, _, b) = srv.post(
        "/v3/oauth-clients",
        json!({"name": "svc", "description": "d", "accessTokenValiditySeconds": 600,
               "grantTypes": grants, "accessType": "OFFLINE", "enabled": true,
               "type": kind, "scope": scope,
               "redirectUris": ["https://example.com/cb"]}),
    );
    assert_eq!(s, StatusCode::OK, "{b}");
    (
        b["id"].as_str().unwrap().into(),
        b["secret"].as_str().unwrap().into(),
    )
}

fn token_req(srv: &Server) -> reqwest::blocking::RequestBuilder {
    reqwest::blocking::Client::new().post(format!("{}/oauth/token", srv.base))
}

fn answer(r: reqwest::blocking::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = r.send().unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.json().unwrap_or(Value::Null))
}

#[test]
fn client_credentials_in_every_encoding_give_a_token_that_works_on_both_apis() {
    let srv = Server::start_args(&["--rate-limit", "off", "--usage-flush", "100ms"]);
    let (id, secret) = oauth(
        &srv,
        json!(["sp:scopes:all"]),
        json!(["CLIENT_CREDENTIALS"]),
        "CONFIDENTIAL",
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ];
    let (s, h, b) = answer(token_req(&srv).form(&form));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 600);
    assert_eq!(b["scope"], "sp:scopes:all");
    assert_eq!(h["cache-control"], "no-store");
    let at = b["access_token"].as_str().unwrap().to_string();
    let (s, _, b) = answer(
        token_req(&srv)
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(s, StatusCode::OK, "{b}");
    let mp = reqwest::blocking::multipart::Form::new()
        .text("grant_type", "client_credentials")
        .text("client_id", id.clone())
        .text("client_secret", secret.clone());
    let (s, _, b) = answer(token_req(&srv).multipart(mp));
    assert_eq!(s, StatusCode::OK, "{b}");
    // The token acts as the client's owner (root here) on both APIs.
    let (s, _, b) = srv.call(Method::GET, "/v3/oauth-clients", Some(&at), None);
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&at), None);
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["permissions"], json!(["ADMINISTER"]));
    // Introspection, with the caller's own credentials.
    let intro = |t: &str| {
        answer(
            reqwest::blocking::Client::new()
                .post(format!("{}/oauth/introspect", srv.base))
                .basic_auth(&id, Some(&secret))
                .form(&[("token", t)]),
        )
    };
    let (s, _, b) = intro(&at);
    assert_eq!(
        (s, &b["active"], &b["sub"]),
        (StatusCode::OK, &json!(true), &json!(id))
    );
    let (_, _, b) = intro("a.b.c");
    assert_eq!(b, json!({"active": false}));
    // The key set verifies it: its kid is there.
    let (_, _, keys) = srv.get("/.well-known/jwks.json");
    let kid = baack::jwt::peek(&at).unwrap().0["kid"].clone();
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid),
        "{keys}"
    );
    // Using the secret was the client's last use: `lastUsed isnull` no longer finds it.
    let start = std::time::Instant::now();
    let used = loop {
        let (_, _, o) = srv.get(&format!("/v3/oauth-clients/{id}"));
        if o["lastUsed"].is_string() || start.elapsed() > std::time::Duration::from_secs(2) {
            break o;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(used["lastUsed"].is_string(), "{used}");
    let (_, _, never) = srv.get("/v3/oauth-clients?filters=lastUsed%20isnull");
    assert!(!never.to_string().contains(&id), "{never}");
    let (_, _, disc) = srv.get("/.well-known/openid-configuration");
    assert!(
        disc["token_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/token"),
        "{disc}"
    );
    // Disabled, its tokens stop at once.
    let (s, _, _) = srv.call_with(
        Method::PATCH,
        &format!("/v3/oauth-clients/{id}"),
        Some(srv.root()),
        &[("Content-Type", "application/json-patch+json")],
        Some(json!([{"op": "replace", "path": "/enabled", "value": false}])),
    );
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = srv.call(Method::GET, "/v3/oauth-clients", Some(&at), None);
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, b) = answer(token_req(&srv).form(&form));
    assert_eq!(
        (s, &b["error"]),
        (StatusCode::BAD_REQUEST, &json!("unauthorized_client"))
    );
}

#[test]
fn rfc_6749_errors_and_scope_narrowing() {
    let srv = Server::start();
    let (id, secret) = oauth(
        &srv,
        json!(["sp:oauth-client:read"]),
        json!(["CLIENT_CREDENTIALS"]),
        "CONFIDENTIAL",
    );
    let err = |form: &[(&str, &str)]| {
        let (s, _, b) = answer(token_req(&srv).form(form));
        (s.as_u16(), b["error"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        err(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "x")
        ]),
        (401, "invalid_client".into())
    );
    assert_eq!(
        err(&[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret)
        ]),
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        err(&[("client_id", &id), ("client_secret", &secret)]),
        (400, "invalid_request".into())
    );
    assert_eq!(
        err(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "sp:scopes:all")
        ]),
        (400, "invalid_scope".into())
    );
    let (s, h, b) = answer(
        token_req(&srv)
            .basic_auth(&id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")]),
    );
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        h["www-authenticate"].to_str().unwrap().starts_with("Basic"),
        "{h:?}"
    );
    // A token scoped to reading OAuth clients reads them, and nothing else.
    let (s, _, b) = answer(token_req(&srv).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ]));
    assert_eq!(s, StatusCode::OK, "{b}");
    let at = b["access_token"].as_str().unwrap().to_string();
    let (s, _, _) = srv.call(Method::GET, "/v3/oauth-clients", Some(&at), None);
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = srv.call(
        Method::DELETE,
        &format!("/v3/oauth-clients/{id}"),
        Some(&at),
        None,
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = srv.call(Method::GET, "/n/v1/apiclient/", Some(&at), None);
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A PUBLIC client gets no token.
    let (pid, psecret) = oauth(
        &srv,
        json!(["sp:scopes:all"]),
        json!(["AUTHORIZATION_CODE"]),
        "PUBLIC",
    );
    assert_eq!(
        err(&[
            ("grant_type", "client_credentials"),
            ("client_id", &pid),
            ("client_secret", &psecret)
        ]),
        (400, "unauthorized_client".into())
    );
    // A tampered token does not authenticate.
    let mut bad = at.clone();
    bad.pop();
    bad.push(if at.ends_with('A') { 'B' } else { 'A' });
    let (s, _, _) = srv.call(Method::GET, "/v3/oauth-clients", Some(&bad), None);
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Deleted, its tokens stop at once.
    srv.delete(&format!("/v3/oauth-clients/{id}"));
    let (s, _, _) = srv.call(Method::GET, "/v3/oauth-clients", Some(&at), None);
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// The list's `filters` in SailPoint's grammar, through a real server: `not`, `and`,
/// `or`, `pr`, each comparison, quoted and bare timestamps; a bad one is a 400 naming it.
#[test]
fn the_list_takes_sailpoints_filter_grammar() {
    let srv = Server::start_args(&["--rate-limit", "off", "--usage-flush", "100ms"]);
    let (used, secret) = oauth(
        &srv,
        json!(["sp:scopes:all"]),
        json!(["CLIENT_CREDENTIALS"]),
        "CONFIDENTIAL",
    );
    let (never, _) = oauth(
        &srv,
        json!(["sp:scopes:all"]),
        json!(["CLIENT_CREDENTIALS"]),
        "CONFIDENTIAL",
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &used),
        ("client_secret", &secret),
    ];
    let (s, _, b) = answer(token_req(&srv).form(&form));
    assert_eq!(s, StatusCode::OK, "{b}");
    let start = std::time::Instant::now();
    while !srv.get(&format!("/v3/oauth-clients/{used}")).2["lastUsed"].is_string() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "never used"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ids = |filters: &str| -> Vec<String> {
        let q = filters.replace(' ', "%20").replace('"', "%22");
        let (s, _, b) = srv.get(&format!("/oauth-clients/v1?filters={q}"));
        assert_eq!(s, StatusCode::OK, "{filters}: {b}");
        let mut ids: Vec<String> = b
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![used.clone(), never.clone()];
    both.sort();
    let (used, never) = (vec![used], vec![never]);
    let past = "2020-01-01T00:00:00Z";
    let future = "\"2999-01-01T00:00:00.000Z\"";
    assert_eq!(ids("not lastUsed isnull"), used);
    assert_eq!(ids("lastUsed pr"), used);
    assert_eq!(ids(&format!("lastUsed le {future}")), used);
    assert_eq!(
        ids(&format!("lastUsed lt {future} and lastUsed gt {past}")),
        used
    );
    assert_eq!(ids(&format!("lastUsed ge {future}")), Vec::<String>::new());
    assert_eq!(ids(&format!("not lastUsed ge {past}")), never);
    assert_eq!(ids(&format!("lastUsed isnull or lastUsed ge {past}")), both);
    assert_sailpoint(
        &srv.get("/v3/oauth-clients?filters=lastUsed%20le%20%22soon%22"),
        400,
        "400.1 Bad Request Content",
        "`\"soon\"` is not a timestamp",
    );
    assert_sailpoint(
        &srv.get("/v3/oauth-clients?filters=not%20lastUsed%20isnull%20and"),
        400,
        "400.1 Bad Request Content",
        "it ends after `and`",
    );
}
