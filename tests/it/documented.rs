//! The CLI against a server that offers only what Baack's own documentation has
//! (`baack serve --documented-only`): first that server itself, then each command that
//! used to rely on API.md's additions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[test]
fn the_documented_server_lacks_every_addition_and_keeps_the_rest() {
    let srv = Server::start_documented();
    // The list endpoints and the client context answer as routes that do not exist.
    for path in [
        "/n/v1/apiclient/",
        "/n/v1/apiclient/?clientID=x",
        "/n/v1/apiclientbearertoken/",
        "/n/v1/permissionrole/",
        "/n/v1/role",
        "/n/v1/clientcontext",
    ] {
        let (s, _, b) = srv.get(path);
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
    }
    // Single objects work, each spelling its own URN `Urn`.
    let client = srv.create_client("ci");
    let (s, _, b) = srv.get(&format!("/n/v1/apiclient/{client}"));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["Urn"], json!(client), "{b}");
    assert!(b.get("urn").is_none(), "{b}");
    // A role stores no permissions and shows none; it has no ETag, and If-Match is
    // ignored.
    let role = srv.create_role("readers", &["READ"], &[]);
    let path = format!("/n/v1/permissionrole/{role}");
    let (s, h, b) = srv.get(&path);
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.get("permissions").is_none(), "{b}");
    assert!(h.get("etag").is_none(), "{h:?}");
    let mut body = b.clone();
    body["clients"] = json!([{ "urn": client }]);
    let (s, h, b) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", "\"not-the-version\"")],
        Some(body),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(h.get("etag").is_none(), "{h:?}");
    assert_eq!(b["clients"][0]["urn"], json!(client), "{b}");
    // The permissions of a PUT are dropped too: the server that the normal routes serve
    // would store them.
    let mut body = b.clone();
    body["permissions"] = json!(["ADMINISTER"]);
    let (s, _, b) = srv.put(&path, body);
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(b.get("permissions").is_none(), "{b}");
    // A token's expiry is set as given, later or not.
    let (token, _) = srv.create_token(&client);
    let path = format!("/n/v1/apiclientbearertoken/{token}");
    let soon = baack_time(300_000);
    let later = baack_time(3_600_000);
    for at in [&soon, &later] {
        let (s, _, b) = srv.put(&path, json!({ "expirationTimestamp": at }));
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        assert_eq!(b["expirationTimestamp"], json!(at), "{b}");
    }
}

#[test]
fn the_normal_server_keeps_its_additions() {
    let srv = Server::start();
    let (s, _, b) = srv.get("/n/v1/apiclient/");
    assert_eq!(s, StatusCode::OK, "{b}");
    let role = srv.create_role("readers", &["READ"], &[]);
    let (_, h, b) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    assert_eq!(b["permissions"], json!(["READ"]), "{b}");
    assert_eq!(b["urn"], json!(role), "{b}");
    assert!(h.get("etag").is_some(), "{h:?}");
}
