//! Seed 001 as written: a client bearer token for an insecure environment, granted the
//! "Content Viewer" role, with curl's form-encoded `--data` and the seed's `Urn` spelling.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn seed_001_client_bearer_token_flow() {
    let srv = Server::start();
    let root = srv.root().to_string();

    // The owner, as the seed's caller knows it.
    let (s, _, ctx) = srv.get("/n/v1/clientcontext");
    assert_eq!(s, StatusCode::OK, "{ctx}");
    assert_eq!(ctx["hasBearer"], json!(true));
    assert_eq!(ctx["permissions"], json!(["ADMINISTER"]));
    let owner = ctx["owner"]["urn"].as_str().unwrap().to_string();
    assert!(is_urn(&owner), "{owner}");

    // 1. Create the Android client exactly as curl --data sends it: form content type.
    let body =
        format!(r#"{{"owner":{{"urn":"{owner}"}},"scope":"api.baack.co","clientID":"Android"}}"#);
    let (s, _, client) = srv.raw(
        Method::POST,
        "/n/v1/apiclient/",
        Some(&root),
        Some(FORM),
        body.into_bytes(),
    );
    assert_eq!(s, StatusCode::CREATED, "{client}");
    let client_urn = client["urn"].as_str().unwrap().to_string();
    assert!(is_urn(&client_urn), "{client}");
    assert_eq!(client["scope"], "api.baack.co");
    assert_eq!(client["clientID"], "Android");
    assert_eq!(client["owner"]["urn"], json!(owner));
    assert_eq!(
        client["owner"]["url"],
        json!(format!("/n/v1/company/{owner}"))
    );

    // 2. Its bearer token: the whole value, this once.
    let (s, h, tok) = srv.raw(
        Method::POST,
        "/n/v1/apiclientbearertoken/",
        Some(&root),
        Some(FORM),
        format!(r#"{{"apiClient":{{"urn":"{client_urn}"}}}}"#).into_bytes(),
    );
    assert_eq!(s, StatusCode::CREATED, "{tok}");
    assert_eq!(h["cache-control"], "no-store");
    let token_urn = tok["urn"].as_str().unwrap().to_string();
    let android = tok["bearerToken"].as_str().unwrap().to_string();
    assert!(android.starts_with("bk_"), "{android}");
    assert_eq!(android.len(), 43, "{android}");
    assert_eq!(tok["apiClient"]["urn"], json!(client_urn));

    // 3. Read back: obfuscated to the first six characters.
    let (s, _, read) = srv.get(&format!("/n/v1/apiclientbearertoken/{token_urn}"));
    assert_eq!(s, StatusCode::OK, "{read}");
    assert_eq!(read["urn"], json!(token_urn));
    assert_eq!(read["apiClient"]["urn"], json!(client_urn));
    assert_eq!(read["bearerToken"], json!(format!("{}...", &android[..6])));
    assert!(!read.to_string().contains(&android));

    // 4. The new token cannot manage anything: a bare 404, exactly as the seed shows.
    let cannot_manage = || {
        let a = srv.call(
            Method::GET,
            &format!("/n/v1/apiclientbearertoken/{token_urn}"),
            Some(&android),
            None,
        );
        assert_eq!(a.0, StatusCode::NOT_FOUND);
        assert_eq!(a.2, json!({"httpCode": 404, "apiCode": "NOT_FOUND"}));
    };
    cannot_manage();

    // 5. The "Content Viewer" role, then the seed's PUT granting it to the client.
    let (s, _, role) = srv.post(
        "/n/v1/permissionrole/",
        json!({"name": "Content Viewer", "owner": {"urn": owner}, "permissions": ["VIEW_CONTENT"]}),
    );
    assert_eq!(s, StatusCode::CREATED, "{role}");
    let role_urn = role["urn"].as_str().unwrap().to_string();
    let put = format!(
        r#"{{"urn":"{role_urn}","name":"Content Viewer","owner":{{"urn":"{owner}","url":"/n/v1/company/{owner}"}},"identities":[],"clients":[{{"urn":"{client_urn}"}}]}}"#
    );
    let (s, _, role) = srv.raw(
        Method::PUT,
        &format!("/n/v1/permissionrole/{role_urn}"),
        Some(&root),
        Some(FORM),
        put.into_bytes(),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{role}");
    assert_eq!(role["urn"], json!(role_urn));
    assert_eq!(role["name"], "Content Viewer");
    assert_eq!(role["identities"], json!([]));
    assert_eq!(role["clients"][0]["urn"], json!(client_urn));
    assert_eq!(role["clients"].as_array().unwrap().len(), 1);
    // The seed's body has no `permissions`: the role keeps its own.
    assert_eq!(role["permissions"], json!(["VIEW_CONTENT"]));
    let (_, _, again) = srv.get(&format!("/n/v1/permissionrole/{role_urn}"));
    assert_eq!(again["permissions"], json!(["VIEW_CONTENT"]));

    // 6. Still no management...
    cannot_manage();
    let a = srv.call(Method::GET, "/n/v1/apiclient/", Some(&android), None);
    assert_status(&a, 404, "NOT_FOUND");
    // ... but the client context answers, with the role's permission.
    let (s, _, ctx) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&android), None);
    assert_eq!(s, StatusCode::OK, "{ctx}");
    assert_eq!(ctx["hasBearer"], json!(true));
    assert_eq!(ctx["permissions"], json!(["VIEW_CONTENT"]));
    assert_eq!(ctx["client"]["clientID"], "Android");
    assert_eq!(ctx["client"]["urn"], json!(client_urn));
    assert_eq!(ctx["owner"]["urn"], json!(owner));
}

#[test]
fn references_spelled_urn_with_a_capital_are_accepted() {
    let srv = Server::start();
    let owner = srv.owner();
    let (s, _, client) = srv.post(
        "/n/v1/apiclient",
        json!({"owner": {"Urn": owner}, "scope": "api.baack.co", "clientID": "Capital"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{client}");
    assert_eq!(client["owner"]["urn"], json!(owner));
    let client_urn = client["urn"].as_str().unwrap().to_string();

    let (s, _, tok) = srv.post(
        "/n/v1/apiclientbearertoken",
        json!({"apiClient": {"Urn": client_urn}}),
    );
    assert_eq!(s, StatusCode::CREATED, "{tok}");
    assert_eq!(tok["apiClient"]["urn"], json!(client_urn));

    let (s, _, role) = srv.post(
        "/n/v1/role/",
        json!({"name": "Caps", "owner": {"Urn": owner}, "clients": [{"Urn": client_urn}]}),
    );
    assert_eq!(s, StatusCode::CREATED, "{role}");
    assert_eq!(role["clients"][0]["urn"], json!(client_urn));
    assert_eq!(role["permissions"], json!([]));
}

#[test]
fn a_urn_in_a_create_body_is_ignored() {
    let srv = Server::start();
    let owner = srv.owner();
    let mine = random_urn();
    let (s, _, client) = srv.post(
        "/n/v1/apiclient/",
        json!({"urn": mine, "owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "x"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{client}");
    assert_ne!(client["urn"], json!(mine));
    assert!(is_urn(client["urn"].as_str().unwrap()));
}
