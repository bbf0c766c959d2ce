//! Permissions through roles: READ reads, ADMINISTER manages, VIEW_CONTENT reaches no
//! management endpoint, a client holds the union of its roles, and a grant or a
//! revocation takes effect on the next request.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[test]
fn roles_grant_and_revoke_permissions_at_once() {
    let srv = Server::start();
    let owner = srv.owner();
    let app = srv.create_client("App");
    let (turn, token) = srv.create_token(&app);
    let victim = srv.create_client("Victim");
    let t = Some(token.as_str());
    let get_list = || srv.call(Method::GET, "/n/v1/apiclient/", t, None);
    let get_one = || srv.call(Method::GET, &format!("/n/v1/apiclient/{victim}"), t, None);
    let create = |id: &str| {
        srv.call(
            Method::POST,
            "/n/v1/apiclient/",
            t,
            Some(json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": id})),
        )
    };
    let perms = || srv.call(Method::GET, "/n/v1/clientcontext", t, None).2["permissions"].clone();

    // No role: nothing but the client context, and every refusal is a bare 404.
    assert_eq!(perms(), json!([]));
    for a in [get_list(), get_one(), create("x")] {
        assert_eq!(a.0, StatusCode::NOT_FOUND);
        assert_eq!(a.2, json!({"httpCode": 404, "apiCode": "NOT_FOUND"}));
    }
    // Even for objects that do not exist, and paths that are not URNs: nothing is
    // revealed to a caller without the permission.
    let a = srv.call(
        Method::GET,
        &format!("/n/v1/apiclient/{}", random_urn()),
        t,
        None,
    );
    assert_eq!(a.2, json!({"httpCode": 404, "apiCode": "NOT_FOUND"}));
    let a = srv.call(Method::GET, "/n/v1/apiclient/not-a-urn", t, None);
    assert_eq!(a.2, json!({"httpCode": 404, "apiCode": "NOT_FOUND"}));

    // VIEW_CONTENT: still no management.
    let viewers = srv.create_role("Viewers", &["VIEW_CONTENT"], &[&app]);
    assert_eq!(perms(), json!(["VIEW_CONTENT"]));
    for a in [get_list(), get_one(), create("x")] {
        assert_status(&a, 404, "NOT_FOUND");
    }

    // READ: every management GET, no change.
    let readers = srv.create_role("Readers", &["READ"], &[&app]);
    assert_eq!(perms(), json!(["READ", "VIEW_CONTENT"]));
    assert_eq!(get_list().0, StatusCode::OK);
    assert_eq!(get_one().0, StatusCode::OK);
    for path in [
        format!("/n/v1/apiclientbearertoken/{turn}"),
        format!("/n/v1/permissionrole/{viewers}"),
        "/n/v1/companies".to_string(),
        format!("/n/v1/company/{owner}"),
        "/n/v1/apiclientbearertoken/".to_string(),
        "/n/v1/role/".to_string(),
    ] {
        let (s, _, b) = srv.call(Method::GET, &path, t, None);
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
    }
    assert_status(&create("x"), 404, "NOT_FOUND");
    for (m, p, body) in [
        (
            Method::PUT,
            format!("/n/v1/apiclient/{victim}"),
            json!({"scope": "api.baack.co", "clientID": "hijacked"}),
        ),
        (
            Method::DELETE,
            format!("/n/v1/apiclient/{victim}"),
            json!({}),
        ),
        (
            Method::PUT,
            format!("/n/v1/permissionrole/{readers}"),
            json!({"name": "Readers", "permissions": ["ADMINISTER"], "clients": [{"urn": app}]}),
        ),
        (
            Method::POST,
            "/n/v1/apiclientbearertoken/".to_string(),
            json!({"apiClient": {"urn": victim}}),
        ),
        (
            Method::PUT,
            format!("/n/v1/apiclientbearertoken/{turn}"),
            json!({"expirationTimestamp": baack_time(1_000)}),
        ),
        (
            Method::DELETE,
            format!("/n/v1/permissionrole/{viewers}"),
            json!({}),
        ),
    ] {
        let a = srv.call(m.clone(), &p, t, Some(body));
        assert_status(&a, 404, "NOT_FOUND");
    }
    // Nothing of that happened.
    assert_eq!(
        srv.get(&format!("/n/v1/apiclient/{victim}")).2["clientID"],
        "Victim"
    );
    assert_eq!(
        srv.get(&format!("/n/v1/permissionrole/{readers}")).2["permissions"],
        json!(["READ"])
    );
    let (_, _, l) = srv.get(&format!("/n/v1/apiclientbearertoken/?apiClient={victim}"));
    assert_eq!(l["bearerTokens"], json!([]));

    // ADMINISTER: management.
    let admins = srv.create_role("Admins", &["ADMINISTER"], &[&app]);
    assert_eq!(perms(), json!(["ADMINISTER", "READ", "VIEW_CONTENT"]));
    let (s, _, b) = create("made-by-app");
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // Revoked by a PUT that drops the client: at once.
    let (s, _, _) = srv.put(
        &format!("/n/v1/permissionrole/{admins}"),
        json!({"name": "Admins", "clients": []}),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(perms(), json!(["READ", "VIEW_CONTENT"]));
    assert_status(&create("again"), 404, "NOT_FOUND");

    // Revoked by changing the role's permissions.
    let (s, _, _) = srv.put(
        &format!("/n/v1/permissionrole/{readers}"),
        json!({"name": "Readers", "permissions": [], "clients": [{"urn": app}]}),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(perms(), json!(["VIEW_CONTENT"]));
    assert_status(&get_list(), 404, "NOT_FOUND");

    // Revoked by deleting the role.
    assert_status(
        &srv.delete(&format!("/n/v1/permissionrole/{viewers}")),
        200,
        "DELETE_SUCCESS",
    );
    assert_eq!(perms(), json!([]));
    // The client context never needed a permission.
    assert_eq!(
        srv.call(Method::GET, "/n/v1/clientcontext", t, None).0,
        StatusCode::OK
    );
}

#[test]
fn the_root_client_keeps_administer_whatever_the_roles_say() {
    let srv = Server::start();
    let ctx = srv.get("/n/v1/clientcontext").2;
    let root_client = ctx["client"]["urn"].as_str().unwrap().to_string();
    assert_eq!(ctx["client"]["clientID"], "root");
    // A role naming the root client with fewer rights takes none away.
    srv.create_role("Root viewer", &["VIEW_CONTENT"], &[&root_client]);
    let ctx = srv.get("/n/v1/clientcontext").2;
    assert_eq!(ctx["permissions"], json!(["ADMINISTER"]));
    srv.create_client("still-possible");
    // And its scope cannot be taken away.
    let a = srv.put(
        &format!("/n/v1/apiclient/{root_client}"),
        json!({"scope": "webhook.baack.co", "clientID": "root"}),
    );
    assert_status(&a, 400, "INVALID_REPRESENTATION");
    assert_eq!(srv.get("/n/v1/clientcontext").0, StatusCode::OK);
}
