//! The SailPoint-style OAuth client API: seed 002's create body, every rule of API.md §2,
//! its error shapes (400.1, 400.1.1, 401, 403, 404), PATCH, DELETE and the list.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const PATCH: &str = "application/json-patch+json";

/// Seed 002's example, without the fields the server generates (id, secret, created,
/// modified).
fn seed_002() -> Value {
    json!({
        "businessName": "Acme-Solar",
        "homepageUrl": "http://localhost:12345",
        "name": "Demo API Client",
        "description": "An API client used for the authorization_code, refresh_token, and client_credentials flows",
        "accessTokenValiditySeconds": 750,
        "refreshTokenValiditySeconds": 86400,
        "redirectUris": [
            "http://localhost:12345"
        ],
        "grantTypes": [
            "AUTHORIZATION_CODE",
            "CLIENT_CREDENTIALS",
            "REFRESH_TOKEN"
        ],
        "accessType": "OFFLINE",
        "type": "CONFIDENTIAL",
        "internal": false,
        "enabled": true,
        "strongAuthSupported": false,
        "claimsSupported": false,
        "scope": [
            "demo:api-client-scope:first",
            "demo:api-client-scope:second"
        ]
    })
}

/// `2017-07-11T18:45:37.098Z`: RFC 3339, milliseconds, `Z`.
fn is_rfc3339_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn create(srv: &Server, body: Value) -> Answer {
    srv.post("/v3/oauth-clients", body)
}

fn patch(srv: &Server, id: &str, ops: Value) -> Answer {
    srv.raw(
        Method::PATCH,
        &format!("/v3/oauth-clients/{id}"),
        Some(srv.root()),
        Some(PATCH),
        serde_json::to_vec(&ops).unwrap(),
    )
}

#[test]
fn seed_002_create_answers_200_with_id_secret_and_times_and_get_hides_the_secret() {
    let srv = Server::start();
    let body = seed_002();
    let (s, h, c) = create(&srv, body.clone());
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(h["cache-control"], "no-store");
    let id = c["id"].as_str().unwrap().to_string();
    assert!(is_lower_hex(&id, 32), "id {id}");
    let secret = c["secret"].as_str().unwrap().to_string();
    assert!(is_lower_hex(&secret, 64), "secret {secret}");
    let created = c["created"].as_str().unwrap();
    let modified = c["modified"].as_str().unwrap();
    assert!(is_rfc3339_ms(created), "created {created}");
    assert!(is_rfc3339_ms(modified), "modified {modified}");
    assert_eq!(c["lastUsed"], Value::Null);
    assert_eq!(c["metadata"], Value::Null);
    // Every request field comes back as sent.
    for (k, v) in body.as_object().unwrap() {
        assert_eq!(&c[k], v, "field {k} of {c}");
    }

    let (s, _, got) = srv.get(&format!("/v3/oauth-clients/{id}"));
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["secret"], Value::Null, "{got}");
    assert!(got.as_object().unwrap().contains_key("secret"));
    assert_eq!(got["id"], json!(id));
    assert_eq!(got["created"], c["created"]);
    for (k, v) in body.as_object().unwrap() {
        assert_eq!(&got[k], v, "field {k} of {got}");
    }
    assert!(!got.to_string().contains(&secret));
    // The aliases answer the same.
    for alias in ["/oauth-clients/", "/beta/oauth-clients/"] {
        let (s, _, a) = srv.get(&format!("{alias}{id}"));
        assert_eq!(s, StatusCode::OK, "{alias}: {a}");
        assert_eq!(a["id"], json!(id));
    }
    // The secret never reaches the store's files.
    let mut stack = vec![srv.store.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&p).unwrap();
            assert!(!target.to_string_lossy().contains(&secret));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&secret), "{} holds the secret", p.display());
        }
    }
}

#[test]
fn defaults_apply_when_optional_fields_are_absent() {
    let srv = Server::start();
    let (s, _, c) = create(
        &srv,
        json!({"name": "n", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["refreshTokenValiditySeconds"], 86400);
    assert_eq!(c["redirectUris"], json!([]));
    assert_eq!(c["type"], "CONFIDENTIAL");
    assert_eq!(c["claimsSupported"], false);
    assert_eq!(c["scope"], json!(["sp:scopes:all"]));
}

/// SailPoint's SDK declares `businessName` and `homepageUrl` strings (its create response
/// requires them non-null): a client without them shows `""` in every answer, and a body
/// that sends that `""` back (or null) means none.
#[test]
fn an_omitted_business_name_or_homepage_is_an_empty_string_in_every_answer() {
    let srv = Server::start();
    let (s, _, c) = create(
        &srv,
        json!({"name": "n", "description": "d", "accessTokenValiditySeconds": 60,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true}),
    );
    assert_eq!(s, StatusCode::OK, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let empty = |c: &Value, what: &str| {
        assert_eq!(c["businessName"], "", "{what}: {c}");
        assert_eq!(c["homepageUrl"], "", "{what}: {c}");
    };
    empty(&c, "create");
    empty(&srv.get(&format!("/v3/oauth-clients/{id}")).2, "get");
    empty(&srv.get("/v3/oauth-clients").2[0], "list");
    empty(&srv.get(&format!("/oauth-clients/v1/{id}")).2, "get v1");

    // A body made from a representation: `""` is none, so the create rules still hold.
    let (s, _, c) = create(&srv, broken(json!({"businessName": "", "homepageUrl": ""})));
    assert_eq!(s, StatusCode::OK, "{c}");
    empty(&c, "create with empty strings");
    let id2 = c["id"].as_str().unwrap().to_string();
    let (s, _, c) = patch(
        &srv,
        &id2,
        json!([{"op": "replace", "path": "/homepageUrl", "value": "https://acme.example/"},
               {"op": "replace", "path": "/businessName", "value": "Acme"}]),
    );
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["homepageUrl"], "https://acme.example/");
    assert_eq!(c["businessName"], "Acme");
    let (s, _, c) = patch(
        &srv,
        &id2,
        json!([{"op": "replace", "path": "/homepageUrl", "value": ""},
               {"op": "replace", "path": "/businessName", "value": null}]),
    );
    assert_eq!(s, StatusCode::OK, "{c}");
    empty(&c, "patched back to none");
    let (s, _, c) = patch(&srv, &id, json!([{"op": "remove", "path": "/homepageUrl"}]));
    assert_eq!(s, StatusCode::OK, "{c}");
    empty(&c, "removed");
}

/// Seed 002's body with `changes` applied (a null value removes the field).
fn broken(changes: Value) -> Value {
    let mut body = seed_002();
    let o = body.as_object_mut().unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            o.remove(k);
        } else {
            o.insert(k.clone(), v.clone());
        }
    }
    body
}

#[test]
fn every_create_rule_broken_once_is_a_400_1_naming_it() {
    let srv = Server::start();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"grantTypes": []}), "grantTypes"),
        (json!({"grantTypes": ["IMPLICIT"]}), "IMPLICIT"),
        (
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "CLIENT_CREDENTIALS"]}),
            "twice",
        ),
        (
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"]}),
            "REFRESH_TOKEN",
        ),
        (json!({"redirectUris": []}), "redirect URI"),
        (json!({"redirectUris": null}), "redirect URI"),
        (json!({"redirectUris": ["http://example.com/cb"]}), "https"),
        (json!({"redirectUris": ["/cb"]}), "absolute"),
        // A browser reads `http://evil.example\@localhost/` as host evil.example: it is
        // not a loopback URI, whatever the text after the backslash says.
        (
            json!({"redirectUris": ["http://evil.example\\@localhost/cb"]}),
            "redirectUris",
        ),
        (
            json!({"redirectUris": ["http://localhost@evil.example/cb"]}),
            "https",
        ),
        (
            json!({"redirectUris": ["http://127.0.0.1.evil.example/cb"]}),
            "https",
        ),
        (
            json!({"redirectUris": ["https://app.example/cb#frag"]}),
            "fragment",
        ),
        (json!({"accessType": "SOMETIMES"}), "accessType"),
        (json!({"type": "SECRET"}), "SECRET"),
        (
            json!({"type": "PUBLIC", "grantTypes": ["CLIENT_CREDENTIALS"]}),
            "PUBLIC",
        ),
        (
            json!({"accessTokenValiditySeconds": 0}),
            "accessTokenValiditySeconds",
        ),
        (
            json!({"accessTokenValiditySeconds": 31_536_001}),
            "accessTokenValiditySeconds",
        ),
        (
            json!({"refreshTokenValiditySeconds": 0}),
            "refreshTokenValiditySeconds",
        ),
        (
            json!({"refreshTokenValiditySeconds": 31_536_001}),
            "refreshTokenValiditySeconds",
        ),
        (
            json!({"accessTokenValiditySeconds": 1.5}),
            "accessTokenValiditySeconds",
        ),
        (json!({"homepageUrl": "acme.example"}), "homepageUrl"),
        (json!({"homepageUrl": "ftp://acme.example/"}), "homepageUrl"),
        (json!({"enabled": "yes"}), "enabled"),
    ];
    for (changes, mention) in cases {
        let a = create(&srv, broken(changes.clone()));
        assert_sailpoint(&a, 400, "400.1 Bad Request Content", mention);
        assert!(
            !a.2["causes"].as_array().unwrap().is_empty(),
            "{changes}: {}",
            a.2
        );
    }
    for required in [
        "name",
        "description",
        "accessTokenValiditySeconds",
        "grantTypes",
        "accessType",
        "enabled",
    ] {
        let a = create(&srv, broken(json!({ required: null })));
        assert_sailpoint(&a, 400, "400.1 Bad Request Content", required);
    }
    // None of those was stored.
    let (s, _, list) = srv.get("/v3/oauth-clients");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list, json!([]));

    // The edges that are allowed.
    for ok in [
        json!({"accessTokenValiditySeconds": 1, "refreshTokenValiditySeconds": 31_536_000}),
        json!({"redirectUris": ["http://127.0.0.1:9/cb", "http://[::1]/x", "https://a.example/cb?x=1"]}),
        json!({"type": "PUBLIC", "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"]}),
        json!({"grantTypes": ["CLIENT_CREDENTIALS"], "redirectUris": []}),
        json!({"homepageUrl": null}),
    ] {
        let (s, _, c) = create(&srv, broken(ok.clone()));
        assert_eq!(s, StatusCode::OK, "{ok} should be accepted: {c}");
    }
}

#[test]
fn a_body_that_is_not_json_is_a_400_1() {
    let srv = Server::start();
    let a = srv.raw(
        Method::POST,
        "/v3/oauth-clients",
        Some(srv.root()),
        Some("application/json"),
        b"{not json".to_vec(),
    );
    assert_sailpoint(&a, 400, "400.1 Bad Request Content", "JSON");
}

#[test]
fn missing_or_bad_token_is_401_error_shape() {
    let srv = Server::start();
    for token in [None, Some("bk_nonsense"), Some("hello")] {
        for (m, p) in [
            (Method::GET, "/v3/oauth-clients"),
            (Method::POST, "/v3/oauth-clients"),
            (
                Method::GET,
                "/v3/oauth-clients/0123456789abcdef0123456789abcdef",
            ),
        ] {
            let (s, h, b) = srv.call(m.clone(), p, token, Some(seed_002()));
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{m} {p}: {b}");
            assert_eq!(h["www-authenticate"], "Bearer error=\"invalid_token\"");
            let o = b.as_object().expect("object");
            assert_eq!(o.len(), 1, "{b}");
            assert!(b["error"].as_str().is_some_and(|e| !e.is_empty()), "{b}");
        }
    }
    // Nothing was created by the refused POSTs.
    assert_eq!(srv.get("/v3/oauth-clients").2, json!([]));
}

#[test]
fn a_token_without_the_permission_gets_403_forbidden() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();

    let nobody = srv.create_client("nobody");
    let (_, weak) = srv.create_token(&nobody);
    let reader = srv.create_client("reader");
    let (_, read) = srv.create_token(&reader);
    srv.create_role("Readers", &["READ"], &[&reader]);
    let viewer = srv.create_client("viewer");
    let (_, view) = srv.create_token(&viewer);
    srv.create_role("Viewers", &["VIEW_CONTENT"], &[&viewer]);

    let one = format!("/v3/oauth-clients/{id}");
    for t in [&weak, &view] {
        for (m, p) in [
            (Method::GET, "/v3/oauth-clients"),
            (Method::POST, "/v3/oauth-clients"),
            (Method::GET, one.as_str()),
            (Method::DELETE, one.as_str()),
        ] {
            let a = srv.call(m.clone(), p, Some(t), Some(seed_002()));
            assert_sailpoint(&a, 403, "403 Forbidden", "");
        }
    }
    // READ may read but not manage.
    let (s, _, list) = srv.call(Method::GET, "/v3/oauth-clients", Some(&read), None);
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _, got) = srv.call(Method::GET, &one, Some(&read), None);
    assert_eq!(s, StatusCode::OK, "{got}");
    let a = srv.call(
        Method::POST,
        "/v3/oauth-clients",
        Some(&read),
        Some(seed_002()),
    );
    assert_sailpoint(&a, 403, "403 Forbidden", "");
    let a = srv.call(Method::DELETE, &one, Some(&read), None);
    assert_sailpoint(&a, 403, "403 Forbidden", "");
    let a = srv.raw(
        Method::PATCH,
        &one,
        Some(&read),
        Some(PATCH),
        br#"[{"op":"replace","path":"/name","value":"x"}]"#.to_vec(),
    );
    assert_sailpoint(&a, 403, "403 Forbidden", "");
    // Still there, unchanged.
    let (s, _, got) = srv.get(&one);
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["name"], "Demo API Client");
}

#[test]
fn patch_changes_allowed_fields_refuses_others_and_keeps_the_rules() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();
    let one = format!("/v3/oauth-clients/{id}");

    std::thread::sleep(std::time::Duration::from_millis(5));
    let (s, _, p) = patch(
        &srv,
        &id,
        json!([{"op": "replace", "path": "/name", "value": "Renamed"},
               {"op": "replace", "path": "/accessTokenValiditySeconds", "value": 900}]),
    );
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "Renamed");
    assert_eq!(p["accessTokenValiditySeconds"], 900);
    assert_eq!(p["id"], json!(id));
    assert_eq!(p["secret"], Value::Null);
    assert_eq!(p["created"], made["created"]);
    assert!(is_rfc3339_ms(p["modified"].as_str().unwrap()));
    assert!(p["modified"].as_str().unwrap() > made["modified"].as_str().unwrap());
    assert_eq!(srv.get(&one).2["name"], "Renamed");

    for path in ["/id", "/created", "/secret", "/modified", "/scope", "/type"] {
        let a = patch(
            &srv,
            &id,
            json!([{"op": "replace", "path": path, "value": "x"}]),
        );
        assert_sailpoint(&a, 400, "400.1.1 Illegal update attempt", path);
    }
    // A patch whose result breaks a rule is refused as a whole.
    for (ops, mention) in [
        (
            json!([{"op": "replace", "path": "/redirectUris", "value": []}]),
            "redirect URI",
        ),
        (
            json!([{"op": "replace", "path": "/grantTypes", "value": ["REFRESH_TOKEN"]}]),
            "REFRESH_TOKEN",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": "ok"},
                   {"op": "replace", "path": "/accessTokenValiditySeconds", "value": 0}]),
            "accessTokenValiditySeconds",
        ),
        (
            json!([{"op": "add", "path": "/redirectUris/-", "value": "http://evil.example/"}]),
            "https",
        ),
    ] {
        let a = patch(&srv, &id, ops);
        assert_sailpoint(&a, 400, "400.1 Bad Request Content", mention);
    }
    let (_, _, after) = srv.get(&one);
    assert_eq!(after["name"], "Renamed");
    assert_eq!(after["accessTokenValiditySeconds"], 900);
    assert_eq!(after["redirectUris"], json!(["http://localhost:12345"]));
    assert_eq!(after["modified"], p["modified"]);

    // An unknown id is 404 in SailPoint's shape.
    let a = patch(
        &srv,
        "0123456789abcdef0123456789abcdef",
        json!([{"op": "replace", "path": "/name", "value": "x"}]),
    );
    assert_sailpoint(&a, 404, "404 Not found", "");
}

#[test]
fn delete_answers_204_and_the_client_is_gone() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();
    let one = format!("/v3/oauth-clients/{id}");
    let (s, _, b) = srv.delete(&one);
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(b, Value::Null, "204 has no body");
    assert_sailpoint(&srv.get(&one), 404, "404 Not found", "");
    assert_sailpoint(&srv.delete(&one), 404, "404 Not found", "");
    assert_eq!(srv.get("/v3/oauth-clients").2, json!([]));
}

#[test]
fn list_counts_pages_filters_and_refuses_limit_251() {
    let srv = Server::start();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, _, c) = create(&srv, broken(json!({"name": format!("c{i}")})));
        assert_eq!(s, StatusCode::OK);
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let (s, h, list) = srv.get("/v3/oauth-clients?count=true");
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(h["x-total-count"], "3");
    let all = list.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|c| c["secret"].is_null()));
    let mut seen: Vec<String> = all
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    let (_, h, page) = srv.get("/v3/oauth-clients?limit=2&offset=1&count=true");
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(h["x-total-count"], "3", "the total ignores paging");
    let (_, h, _) = srv.get("/v3/oauth-clients");
    assert!(h.get("x-total-count").is_none());
    let (_, _, page) = srv.get("/v3/oauth-clients?limit=250&offset=2");
    assert_eq!(page.as_array().unwrap().len(), 1);

    let (s, _, none) = srv.get("/v3/oauth-clients?filters=lastUsed%20isnull");
    assert_eq!(s, StatusCode::OK, "{none}");
    assert_eq!(none.as_array().unwrap().len(), 3);
    let (s, _, used) =
        srv.get("/v3/oauth-clients?filters=lastUsed%20le%202030-01-01T00:00:00.000Z");
    assert_eq!(s, StatusCode::OK, "{used}");
    assert_eq!(used, json!([]));

    assert_sailpoint(
        &srv.get("/v3/oauth-clients?limit=251"),
        400,
        "400.1 Bad Request Content",
        "limit",
    );
    assert_sailpoint(
        &srv.get("/v3/oauth-clients?filters=name%20eq%20x"),
        400,
        "400.1 Bad Request Content",
        "filter",
    );
}

/// Asserts that the client `id` still reads as `before` and the server still answers.
#[track_caller]
fn unchanged(srv: &Server, id: &str, before: &Value) {
    let (s, _, now) = srv.get(&format!("/v3/oauth-clients/{id}"));
    assert_eq!(s, StatusCode::OK, "the server must still answer: {now}");
    assert_eq!(&now, before, "a refused patch must change nothing");
}

#[test]
fn a_patch_that_doubles_an_array_is_refused_at_the_size_limit_and_changes_nothing() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();
    let (_, _, before) = srv.get(&format!("/v3/oauth-clients/{id}"));
    // The issue's reproducer: each copy doubles the array, 2^30 URIs at the end.
    let op = json!({"op": "copy", "from": "/redirectUris", "path": "/redirectUris/-"});
    let a = patch(&srv, &id, Value::Array(vec![op; 30]));
    assert_sailpoint(&a, 400, "400.1 Bad Request Content", "64 KiB");
    unchanged(&srv, &id, &before);
}

#[test]
fn a_patch_that_nests_values_deeply_is_refused_at_the_depth_limit_and_changes_nothing() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();
    let (_, _, before) = srv.get(&format!("/v3/oauth-clients/{id}"));

    // The issue's reproducer: about 1,500 operations that move nested arrays into each
    // other (120 deep); refused by the operation limit before any is applied.
    let mut ops = Vec::new();
    for _ in 0..750 {
        ops.push(json!({"op": "add", "path": "/businessName", "value": []}));
        ops.push(json!({"op": "move", "from": "/homepageUrl", "path": "/businessName/0"}));
        ops.push(json!({"op": "move", "from": "/businessName", "path": "/homepageUrl"}));
    }
    ops.truncate(1500);
    let mut first = vec![json!({"op": "add", "path": "/homepageUrl", "value": []})];
    first.extend(ops);
    let a = patch(&srv, &id, Value::Array(first.clone()));
    assert_sailpoint(
        &a,
        400,
        "400.1 Bad Request Content",
        "at most 100 operations",
    );
    unchanged(&srv, &id, &before);

    // The same moves within 100 operations: each round nests one level deeper, until
    // the depth limit stops it (the result would break the rules anyway, but no
    // intermediate value may nest deeper than 32).
    first.truncate(100);
    let a = patch(&srv, &id, Value::Array(first));
    assert_sailpoint(
        &a,
        400,
        "400.1 Bad Request Content",
        "deeper than the limit of 32",
    );
    unchanged(&srv, &id, &before);

    // One value from the body that is too deep is refused the same way.
    let mut deep = json!("x");
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let a = patch(
        &srv,
        &id,
        json!([{"op": "add", "path": "/redirectUris/-", "value": deep}]),
    );
    assert_sailpoint(
        &a,
        400,
        "400.1 Bad Request Content",
        "deeper than the limit of 32",
    );
    unchanged(&srv, &id, &before);
}

#[test]
fn a_patch_may_hold_100_operations_and_not_101() {
    let srv = Server::start();
    let (_, _, made) = create(&srv, seed_002());
    let id = made["id"].as_str().unwrap().to_string();
    let ops = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"op": "replace", "path": "/description", "value": format!("d{i}")}))
            .collect()
    };
    let (s, _, p) = patch(&srv, &id, ops(100));
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["description"], "d99");
    let (_, _, before) = srv.get(&format!("/v3/oauth-clients/{id}"));
    let a = patch(&srv, &id, ops(101));
    assert_sailpoint(
        &a,
        400,
        "400.1 Bad Request Content",
        "at most 100 operations, not 101",
    );
    unchanged(&srv, &id, &before);
}

/// SailPoint's current per-resource routes and the dated versions (API.md "OAuth routes"):
/// the same bodies and handlers as v3, over one store.
#[test]
fn the_v1_and_dated_routes_serve_the_whole_api_and_v1_is_never_an_id() {
    let srv = Server::start();
    for prefix in ["/oauth-clients/v1", "/v2025/oauth-clients"] {
        // A list, not "no OAuth client v1".
        let (s, _, list) = srv.get(prefix);
        assert_eq!(s, StatusCode::OK, "{prefix}: {list}");
        assert_eq!(list, json!([]), "{prefix}");

        let (s, _, c) = srv.post(prefix, seed_002());
        assert_eq!(s, StatusCode::OK, "{prefix}: {c}");
        let id = c["id"].as_str().unwrap().to_string();
        assert!(is_lower_hex(c["secret"].as_str().unwrap(), 64), "{c}");
        let one = format!("{prefix}/{id}");

        let (s, h, list) = srv.get(&format!("{prefix}?count=true"));
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(h["x-total-count"], "1");
        assert_eq!(list[0]["id"], json!(id));
        // The same client at v3, and v3's at this prefix.
        let (s, _, got) = srv.get(&one);
        assert_eq!(s, StatusCode::OK, "{one}: {got}");
        assert_eq!(got["secret"], Value::Null);
        assert_eq!(got, srv.get(&format!("/v3/oauth-clients/{id}")).2);

        let (s, _, p) = srv.raw(
            Method::PATCH,
            &one,
            Some(srv.root()),
            Some(PATCH),
            serde_json::to_vec(&json!([{"op": "replace", "path": "/name", "value": "v"}])).unwrap(),
        );
        assert_eq!(s, StatusCode::OK, "{one}: {p}");
        assert_eq!(p["name"], "v");
        assert_eq!(srv.get(&one).2["name"], "v");

        let (s, _, d) = srv.delete(&one);
        assert_eq!(s, StatusCode::NO_CONTENT, "{one}: {d}");
        assert_sailpoint(&srv.get(&one), 404, "404 Not found", &id);
        assert_eq!(srv.get(prefix).2, json!([]));
    }
    // The other dated versions, and the aliases seeing one store.
    let (s, _, c) = create(&srv, seed_002());
    assert_eq!(s, StatusCode::OK, "{c}");
    let id = c["id"].as_str().unwrap();
    for prefix in [
        "/v2024/oauth-clients",
        "/v2026/oauth-clients",
        "/oauth-clients/v1",
    ] {
        let (s, _, list) = srv.get(prefix);
        assert_eq!(s, StatusCode::OK, "{prefix}: {list}");
        assert_eq!(list[0]["id"], json!(id), "{prefix}");
        let (s, _, got) = srv.get(&format!("{prefix}/{id}"));
        assert_eq!(s, StatusCode::OK, "{prefix}: {got}");
    }
    // The unversioned alias still reads an id there, and `v1` only as the version.
    assert_eq!(srv.get(&format!("/oauth-clients/{id}")).0, StatusCode::OK);
    for m in [Method::PATCH, Method::DELETE, Method::PUT] {
        let (s, _, b) = srv.call(m.clone(), "/oauth-clients/v1", Some(srv.root()), None);
        assert_eq!(
            s,
            StatusCode::METHOD_NOT_ALLOWED,
            "{m} /oauth-clients/v1: {b}"
        );
    }
    assert_eq!(srv.get("/v3/oauth-clients").2.as_array().unwrap().len(), 1);
}
