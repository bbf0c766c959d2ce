//! API.md "Names" over a real `baack serve` and the CLI: refused characters, white space
//! and URN-like names on both APIs, NFC storing, look-alike (TS #39 skeleton) refusals,
//! and the impersonation of a client by a clientID spelled as another's URN.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Every kind of name API.md refuses, and what the refusal must say.
const REFUSED: [(&str, &str); 13] = [
    ("soft\u{ad}hyphen", "U+00AD"),
    ("hangul\u{3164}filler", "U+3164"),
    ("mongolian\u{180e}separator", "U+180E"),
    ("grapheme\u{34f}joiner", "U+034F"),
    ("line\u{2028}separator", "U+2028"),
    ("tag\u{e0041}character", "U+E0041"),
    ("zero\u{200b}width", "U+200B"),
    ("private\u{e000}use", "U+E000"),
    (" leading", "white space"),
    ("trailing ", "white space"),
    ("trailing\u{a0}", "white space"),
    ("", "1 to 128"),
    ("6F97BAC3-26FE-4333-91F0-F12AF2D1D167", "reads as a URN"),
];

fn client_body(srv: &Server, id: &str) -> Value {
    json!({"owner": {"urn": srv.owner()}, "scope": "api.baack.co", "clientID": id})
}

fn role_body(srv: &Server, name: &str) -> Value {
    json!({"owner": {"urn": srv.owner()}, "name": name})
}

fn oauth_body(name: &str) -> Value {
    json!({"name": name, "description": "d", "accessTokenValiditySeconds": 60,
           "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true})
}

#[track_caller]
fn refused(a: &Answer, field: &str, why: &str) {
    assert_status(a, 400, "INVALID_REPRESENTATION");
    let detail = a.2["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("{field}:")) && detail.contains(why),
        "detail should name {field} and say {why}: {detail}"
    );
}

#[test]
fn every_refused_name_is_refused_by_both_apis_naming_the_field() {
    let srv = Server::start();
    let client = srv.create_client("renamable");
    let role = srv.create_role("renamable", &[], &[]);
    for (name, why) in REFUSED {
        refused(
            &srv.post("/n/v1/apiclient/", client_body(&srv, name)),
            "clientID",
            why,
        );
        refused(
            &srv.put(
                &format!("/n/v1/apiclient/{client}"),
                client_body(&srv, name),
            ),
            "clientID",
            why,
        );
        refused(
            &srv.post("/n/v1/permissionrole/", role_body(&srv, name)),
            "name",
            why,
        );
        refused(
            &srv.put(
                &format!("/n/v1/permissionrole/{role}"),
                role_body(&srv, name),
            ),
            "name",
            why,
        );
        if why != "reads as a URN" {
            let a = srv.post("/v3/oauth-clients", oauth_body(name));
            let mention = if name.is_empty() {
                "name must not be empty"
            } else {
                why
            };
            assert_sailpoint(&a, 400, "400.1 Bad Request Content", mention);
        }
    }
    let (_, _, list) = srv.get("/n/v1/apiclient/");
    assert_eq!(list["apiClients"].as_array().unwrap().len(), 2, "{list}");
    let (_, _, list) = srv.get("/v3/oauth-clients");
    assert_eq!(list, json!([]));
}

#[test]
fn names_are_stored_nfc_and_found_by_either_form() {
    let srv = Server::start();
    let decomposed = "Caf\u{65}\u{301}";
    let composed = "Caf\u{e9}";
    let (s, _, c) = srv.post("/n/v1/apiclient/", client_body(&srv, decomposed));
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["clientID"], composed);
    for form in [decomposed, composed] {
        let (_, _, list) = srv.get(&format!("/n/v1/apiclient/?clientID={}", enc(form)));
        assert_eq!(list["apiClients"][0]["urn"], c["urn"], "{form:?}: {list}");
        // And the other form is the same clientID.
        let a = srv.post("/n/v1/apiclient/", client_body(&srv, form));
        refused(&a, "clientID", "already exists");
    }
    let (s, _, r) = srv.post("/n/v1/permissionrole/", role_body(&srv, decomposed));
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["name"], composed);
    let (_, _, list) = srv.get(&format!("/n/v1/permissionrole/?name={}", enc(decomposed)));
    assert_eq!(list["permissionRoles"][0]["urn"], r["urn"], "{list}");
    let (s, _, o) = srv.post("/v3/oauth-clients", oauth_body(decomposed));
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["name"], composed);

    // The CLI finds it by either form too.
    let dir = tempfile::tempdir().unwrap();
    for form in [decomposed, composed] {
        let out = baack()
            .env("BAACK_API_URL", &srv.base)
            .env("BAACK_TOKEN", srv.root())
            .args(["client", "get", form, "-o", "json"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["urn"], c["urn"]);
    }
}

#[test]
fn a_look_alike_of_an_existing_name_is_refused_naming_it() {
    let srv = Server::start();
    let android = srv.create_client("Android");
    let cyrillic = "\u{410}ndroid";
    let a = srv.post("/n/v1/apiclient/", client_body(&srv, cyrillic));
    refused(&a, "clientID", "`Android`");
    // Nor by a rename; renaming a client to a look-alike of its own name is fine.
    let ios = srv.create_client("iOS");
    let a = srv.put(
        &format!("/n/v1/apiclient/{ios}"),
        client_body(&srv, cyrillic),
    );
    refused(&a, "clientID", "`Android`");
    let (s, _, b) = srv.put(
        &format!("/n/v1/apiclient/{android}"),
        client_body(&srv, cyrillic),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    // The root client's name is taken the same way.
    let a = srv.post("/n/v1/apiclient/", client_body(&srv, "r\u{43e}\u{43e}t"));
    refused(&a, "clientID", "`root`");
    // Once a client is deleted, its look-alike is free.
    assert_status(
        &srv.delete(&format!("/n/v1/apiclient/{android}")),
        200,
        "DELETE_SUCCESS",
    );
    let (s, _, b) = srv.post("/n/v1/apiclient/", client_body(&srv, "Android"));
    assert_eq!(s, StatusCode::CREATED, "{b}");

    srv.create_role("Auditors", &["READ"], &[]);
    let a = srv.post("/n/v1/permissionrole/", role_body(&srv, "Audit\u{43e}rs"));
    refused(&a, "name", "`Auditors`");
}

#[test]
fn a_client_id_spelled_as_another_clients_urn_is_refused_and_the_cli_reads_it_as_that_urn() {
    let srv = Server::start();
    let victim = srv.create_client("victim");
    let upper = victim.to_uppercase();
    // The attack: a clientID that is the victim's URN in upper case.
    let a = srv.post("/n/v1/apiclient/", client_body(&srv, &upper));
    refused(&a, "clientID", "reads as a URN");
    let decoy = srv.create_client("decoy");
    let a = srv.put(
        &format!("/n/v1/apiclient/{decoy}"),
        client_body(&srv, &upper),
    );
    refused(&a, "clientID", "reads as a URN");

    // `client delete <URN in upper case>` is a delete of the client with that URN.
    let out = baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", srv.root())
        .args(["client", "delete", &upper, "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (s, _, _) = srv.get(&format!("/n/v1/apiclient/{victim}"));
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = srv.get(&format!("/n/v1/apiclient/{decoy}"));
    assert_eq!(s, StatusCode::OK);
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
