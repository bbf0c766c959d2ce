//! Every row of the Baack status table of API.md §1 (TOO_MANY_REQUESTS is in
//! `ratelimit`, INTERNAL_ERROR in `store`), each provoked for real.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn create_read_update_delete_success() {
    let srv = Server::start();
    let owner = srv.owner();

    // CREATE_SUCCESS 201: the body is the new representation.
    let (s, _, c) = srv.post(
        "/n/v1/apiclient/",
        json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "Web"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let urn = c["urn"].as_str().unwrap().to_string();
    assert_eq!(c["url"], json!(format!("/n/v1/apiclient/{urn}")));

    // READ_SUCCESS 200.
    let (s, _, r) = srv.get(&format!("/n/v1/apiclient/{urn}"));
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r, c);
    let (s, _, co) = srv.get(&format!("/n/v1/company/{owner}"));
    assert_eq!(s, StatusCode::OK, "{co}");
    assert_eq!(co["urn"], json!(owner));
    assert!(co["name"].is_string());
    let (s, _, cos) = srv.get("/n/v1/companies");
    assert_eq!(s, StatusCode::OK, "{cos}");
    assert_eq!(cos["companies"][0]["urn"], json!(owner));
    assert_eq!(cos["nextPage"], Value::Null);

    // UPDATE_SUCCESS 202 on a client: clientID and scope change, owner is ignored.
    let (s, _, u) = srv.put(
        &format!("/n/v1/apiclient/{urn}"),
        json!({"urn": urn, "owner": {"urn": random_urn()}, "scope": "webhook.baack.co", "clientID": "Web2"}),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{u}");
    assert_eq!(u["clientID"], "Web2");
    assert_eq!(u["scope"], "webhook.baack.co");
    assert_eq!(u["owner"]["urn"], json!(owner));
    assert_eq!(srv.get(&format!("/n/v1/apiclient/{urn}")).2, u);
    // The old clientID is free again, the new one is taken.
    let (s, _, l) = srv.get("/n/v1/apiclient/?clientID=Web");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["apiClients"], json!([]));
    let (_, _, l) = srv.get("/n/v1/apiclient/?clientID=Web2");
    assert_eq!(l["apiClients"][0]["urn"], json!(urn));

    // UPDATE_SUCCESS 202 on a token: only the expiry changes.
    let (turn, _) = srv.create_token(&urn);
    let when = baack_time(3_600_000);
    let (s, _, t) = srv.put(
        &format!("/n/v1/apiclientbearertoken/{turn}"),
        json!({"expirationTimestamp": when, "apiClient": {"urn": random_urn()}}),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{t}");
    assert_eq!(t["expirationTimestamp"], json!(when));
    assert_eq!(t["apiClient"]["urn"], json!(urn));
    assert!(t["bearerToken"].as_str().unwrap().ends_with("..."));

    // DELETE_SUCCESS 200, detail = the urn, for each kind.
    let role = srv.create_role("Temp", &["READ"], &[]);
    for path in [
        format!("/n/v1/apiclientbearertoken/{turn}"),
        format!("/n/v1/permissionrole/{role}"),
        format!("/n/v1/apiclient/{urn}"),
    ] {
        let a = srv.delete(&path);
        assert_status(&a, 200, "DELETE_SUCCESS");
        let id = path.rsplit('/').next().unwrap();
        assert_eq!(a.2["detail"], json!(id), "{}", a.2);
        assert_status(&srv.get(&path), 404, "NOT_FOUND");
        assert_status(&srv.delete(&path), 404, "NOT_FOUND");
    }
}

#[test]
fn missing_required_fields_name_the_field() {
    let srv = Server::start();
    let owner = srv.owner();
    let client = srv.create_client("c");
    let role = srv.create_role("r", &[], &[]);
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/n/v1/apiclient/".into(),
            json!({"owner": {"urn": owner}, "scope": "api.baack.co"}),
            "clientID",
        ),
        (
            Method::POST,
            "/n/v1/apiclient/".into(),
            json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": null}),
            "clientID",
        ),
        (
            Method::POST,
            "/n/v1/apiclient/".into(),
            json!({"owner": {"urn": owner}, "clientID": "x"}),
            "scope",
        ),
        (
            Method::POST,
            "/n/v1/apiclient/".into(),
            json!({"scope": "api.baack.co", "clientID": "x"}),
            "owner",
        ),
        (
            Method::PUT,
            format!("/n/v1/apiclient/{client}"),
            json!({"scope": "api.baack.co"}),
            "clientID",
        ),
        (
            Method::POST,
            "/n/v1/apiclientbearertoken/".into(),
            json!({}),
            "apiClient",
        ),
        (
            Method::POST,
            "/n/v1/permissionrole/".into(),
            json!({"owner": {"urn": owner}}),
            "name",
        ),
        (
            Method::PUT,
            format!("/n/v1/permissionrole/{role}"),
            json!({"clients": []}),
            "name",
        ),
    ];
    for (m, p, body, field) in cases {
        let a = srv.call(m.clone(), &p, Some(srv.root()), Some(body.clone()));
        assert_status(&a, 400, "REPRESENTATION_MISSING_REQUIRED_FIELD");
        assert_eq!(a.2["detail"], json!(field), "{m} {p} {body}: {}", a.2);
    }
}

#[test]
fn invalid_representations_are_refused_and_say_why() {
    let srv = Server::start();
    let owner = srv.owner();
    let android = srv.create_client("Android");
    let root_client = srv.get("/n/v1/clientcontext").2["client"]["urn"]
        .as_str()
        .unwrap()
        .to_string();
    let client =
        |id: Value, scope: &str| json!({"owner": {"urn": owner}, "scope": scope, "clientID": id});
    let check = |a: Answer, mention: &str| {
        assert_status(&a, 400, "INVALID_REPRESENTATION");
        let d = a.2["detail"].as_str().unwrap_or_default();
        assert!(d.contains(mention), "detail should name {mention}: {}", a.2);
    };

    check(
        srv.post("/n/v1/apiclient/", client(json!("x"), "api.example.com")),
        "scope",
    );
    check(
        srv.post("/n/v1/apiclient/", client(json!("Android"), "api.baack.co")),
        "clientID",
    );
    check(
        srv.post(
            "/n/v1/apiclient/",
            client(json!("a".repeat(129)), "api.baack.co"),
        ),
        "clientID",
    );
    check(
        srv.post("/n/v1/apiclient/", client(json!(""), "api.baack.co")),
        "clientID",
    );
    check(
        srv.post("/n/v1/apiclient/", client(json!(42), "api.baack.co")),
        "clientID",
    );
    // clientID is compared case-sensitively: another case is another client.
    let (s, _, b) = srv.post("/n/v1/apiclient/", client(json!("android"), "api.baack.co"));
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Renaming onto a taken clientID.
    let other = b["urn"].as_str().unwrap().to_string();
    check(
        srv.put(
            &format!("/n/v1/apiclient/{other}"),
            json!({"scope": "api.baack.co", "clientID": "Android"}),
        ),
        "clientID",
    );

    // An expiry in the past on create, or one that is not a timestamp.
    check(
        srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": android}, "expirationTimestamp": baack_time(-60_000)}),
        ),
        "expirationTimestamp",
    );
    check(
        srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": android}, "expirationTimestamp": "tomorrow"}),
        ),
        "expirationTimestamp",
    );
    check(
        srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": "not-a-urn"}}),
        ),
        "apiClient",
    );
    // No token was made by those.
    let (_, _, l) = srv.get(&format!("/n/v1/apiclientbearertoken/?apiClient={android}"));
    assert_eq!(l["bearerTokens"], json!([]));

    // Roles: an unknown permission, a duplicate name.
    check(
        srv.post(
            "/n/v1/permissionrole/",
            json!({"name": "x", "owner": {"urn": owner}, "permissions": ["FLY"]}),
        ),
        "permissions",
    );
    srv.create_role("Dup", &[], &[]);
    check(
        srv.post(
            "/n/v1/permissionrole/",
            json!({"name": "Dup", "owner": {"urn": owner}}),
        ),
        "name",
    );

    // The root client cannot be deleted, and is still there.
    check(
        srv.delete(&format!("/n/v1/apiclient/{root_client}")),
        "root",
    );
    let (s, _, _) = srv.get(&format!("/n/v1/apiclient/{root_client}"));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(srv.get("/n/v1/clientcontext").0, StatusCode::OK);
}

#[test]
fn bad_requests_are_refused() {
    let srv = Server::start();
    let root = srv.root().to_string();
    let owner = srv.owner();

    for (ct, body) in [
        (Some("application/json"), b"{\"owner\": ".to_vec()),
        (Some("application/json"), b"clientID=Android".to_vec()),
        (None, b"not json at all".to_vec()),
        (Some("text/plain"), b"{}".to_vec()),
        (Some("application/json"), b"[1, 2]".to_vec()),
    ] {
        let a = srv.raw(Method::POST, "/n/v1/apiclient/", Some(&root), ct, body);
        assert_status(&a, 400, "BAD_REQUEST");
        assert!(a.2["detail"].is_string(), "{}", a.2);
    }
    for path in [
        "/n/v1/apiclient/not-a-urn",
        "/n/v1/apiclientbearertoken/12345",
        "/n/v1/permissionrole/00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8x",
        "/n/v1/role/zzzzzzzz-2aa1-41e6-8d5d-4d586a6f8af8",
        "/n/v1/company/xyz",
    ] {
        let a = srv.get(path);
        assert_status(&a, 400, "BAD_REQUEST");
        assert!(
            a.2["detail"].as_str().unwrap().contains("URN"),
            "{path}: {}",
            a.2
        );
    }
    let a = srv.put(
        "/n/v1/apiclient/not-a-urn",
        json!({"scope": "api.baack.co", "clientID": "x"}),
    );
    assert_status(&a, 400, "BAD_REQUEST");
    assert_status(&srv.delete("/n/v1/apiclient/not-a-urn"), 400, "BAD_REQUEST");

    for q in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "limit=-1",
        "cursor=bogus!",
    ] {
        for prefix in [
            "/n/v1/apiclient/",
            "/n/v1/apiclientbearertoken/",
            "/n/v1/permissionrole/",
        ] {
            let a = srv.get(&format!("{prefix}?{q}"));
            assert_status(&a, 400, "BAD_REQUEST");
        }
    }
    let a = srv.get("/n/v1/apiclientbearertoken/?apiClient=nope");
    assert_status(&a, 400, "BAD_REQUEST");
    // The edges are fine.
    assert_eq!(srv.get("/n/v1/apiclient/?limit=1").0, StatusCode::OK);
    assert_eq!(srv.get("/n/v1/apiclient/?limit=1000").0, StatusCode::OK);
    // Nothing was created along the way.
    let (_, _, l) = srv.get("/n/v1/apiclient/");
    assert_eq!(l["apiClients"].as_array().unwrap().len(), 1, "{l}");
    let _ = owner;
}

#[test]
fn not_found_for_unknown_objects_and_references() {
    let srv = Server::start();
    let owner = srv.owner();
    let ghost = random_urn();
    for prefix in [
        "/n/v1/apiclient/",
        "/n/v1/apiclientbearertoken/",
        "/n/v1/permissionrole/",
        "/n/v1/role/",
        "/n/v1/company/",
    ] {
        let a = srv.get(&format!("{prefix}{ghost}"));
        assert_status(&a, 404, "NOT_FOUND");
    }
    for prefix in [
        "/n/v1/apiclient/",
        "/n/v1/apiclientbearertoken/",
        "/n/v1/permissionrole/",
    ] {
        assert_status(&srv.delete(&format!("{prefix}{ghost}")), 404, "NOT_FOUND");
    }
    assert_status(
        &srv.put(
            &format!("/n/v1/apiclient/{ghost}"),
            json!({"scope": "api.baack.co", "clientID": "x"}),
        ),
        404,
        "NOT_FOUND",
    );
    assert_status(
        &srv.put(
            &format!("/n/v1/permissionrole/{ghost}"),
            json!({"name": "x"}),
        ),
        404,
        "NOT_FOUND",
    );
    // References to things that do not exist.
    assert_status(
        &srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": ghost}}),
        ),
        404,
        "NOT_FOUND",
    );
    assert_status(
        &srv.post(
            "/n/v1/permissionrole/",
            json!({"name": "r", "owner": {"urn": owner}, "clients": [{"urn": ghost}]}),
        ),
        404,
        "NOT_FOUND",
    );
    assert_status(
        &srv.post(
            "/n/v1/apiclient/",
            json!({"owner": {"urn": ghost}, "scope": "api.baack.co", "clientID": "x"}),
        ),
        404,
        "NOT_FOUND",
    );
    // An unknown endpoint.
    let a = srv.get("/n/v1/nothing-here");
    assert_status(&a, 404, "NOT_FOUND");
}

fn assert_unauthorized(a: &Answer, why: &str, sent: Option<&str>) {
    let (s, h, b) = a;
    // A 401 never echoes what was sent (a token's first characters are fine: reads
    // show those anyway).
    for secret in sent.iter().filter(|t| t.len() > 8) {
        assert!(
            !b.to_string().contains(&secret[6..]),
            "{why}: a 401 echoes the token: {b}"
        );
    }
    assert_eq!(*s, StatusCode::UNAUTHORIZED, "{why}: {b}");
    assert_eq!(b["httpCode"], 401, "{why}: {b}");
    assert_eq!(b["apiCode"], "UNAUTHORIZED", "{why}: {b}");
    assert_eq!(
        h.get("www-authenticate").map(|v| v.to_str().unwrap()),
        Some("Bearer error=\"invalid_token\""),
        "{why}"
    );
}

#[test]
fn unauthorized_for_every_kind_of_bad_token() {
    let srv = Server::start();
    let owner = srv.owner();
    let client = srv.create_client("c");
    let (turn, token) = srv.create_token(&client);
    // It works to start with.
    let ctx = |t: Option<&str>| srv.call(Method::GET, "/n/v1/clientcontext", t, None);
    assert_eq!(ctx(Some(&token)).0, StatusCode::OK);

    // One character changed: the checksum fails.
    let mut typo = token.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    // Well-formed, right checksum, but no store knows it.
    let stranger = baack::secret::new_bearer_token().unwrap();
    assert!(stranger.starts_with("bk_") && stranger.len() == 43);

    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, "missing"),
        (Some(""), "empty"),
        (Some("hello"), "malformed"),
        (Some(&token[..42]), "truncated"),
        (Some(&typo), "bad checksum"),
        (Some(&stranger), "unknown"),
    ];
    for (t, why) in &cases {
        assert_unauthorized(&ctx(*t), why, *t);
        // Before the body is judged, and on every endpoint.
        let a = srv.call(
            Method::POST,
            "/n/v1/apiclient/",
            *t,
            Some(json!({"nonsense": true})),
        );
        assert_unauthorized(&a, why, *t);
        let a = srv.call(Method::GET, &format!("/n/v1/company/{owner}"), *t, None);
        assert_unauthorized(&a, why, *t);
    }
    // Another scheme.
    let a = srv.call_with(
        Method::GET,
        "/n/v1/clientcontext",
        None,
        &[("Authorization", &format!("Basic {token}"))],
        None,
    );
    assert_unauthorized(&a, "basic scheme", Some(&token));

    // Expired: an expiry set in the past revokes at once.
    let (s, _, b) = srv.put(
        &format!("/n/v1/apiclientbearertoken/{turn}"),
        json!({"expirationTimestamp": baack_time(-1_000)}),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_unauthorized(&ctx(Some(&token)), "expired", Some(&token));

    // A deleted token stops at once.
    let (turn2, token2) = srv.create_token(&client);
    assert_eq!(ctx(Some(&token2)).0, StatusCode::OK);
    assert_status(
        &srv.delete(&format!("/n/v1/apiclientbearertoken/{turn2}")),
        200,
        "DELETE_SUCCESS",
    );
    assert_unauthorized(&ctx(Some(&token2)), "deleted", Some(&token2));

    // A client whose scope is not api.baack.co cannot call the API.
    let (_, token3) = srv.create_token(&client);
    assert_eq!(ctx(Some(&token3)).0, StatusCode::OK);
    let (s, _, _) = srv.put(
        &format!("/n/v1/apiclient/{client}"),
        json!({"scope": "webhook.baack.co", "clientID": "c"}),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_unauthorized(&ctx(Some(&token3)), "webhook scope", Some(&token3));

    // The root token was never disturbed.
    assert_eq!(ctx(Some(srv.root())).0, StatusCode::OK);
}
