//! Bearer token lifecycles: revocation with a notice period (in real time), expiries that
//! never move later, and a client's deletion taking its tokens and role memberships along.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn revocation_with_notice_works_until_then_and_never_extends() {
    let srv = Server::start();
    let client = srv.create_client("Kiosk");
    let (turn, token) = srv.create_token(&client);
    let path = format!("/n/v1/apiclientbearertoken/{turn}");
    let ctx = || srv.call(Method::GET, "/n/v1/clientcontext", Some(&token), None);

    // Revoke with two seconds' notice.
    let notice_ms = 2_000;
    let deadline = now_ms() + notice_ms;
    let when = baack_time(notice_ms);
    let (s, _, t) = srv.put(&path, json!({"expirationTimestamp": when}));
    assert_eq!(s, StatusCode::ACCEPTED, "{t}");
    assert_eq!(t["expirationTimestamp"], json!(when));

    // Until then it works.
    let (s, _, b) = ctx();
    assert_eq!(s, StatusCode::OK, "{b}");

    // A later PUT can never extend it, whatever the spelling of the later time ...
    for later in [
        baack_time(3_600_000),
        format!("{}Z", baack_time(60_000)),
        baack_time(notice_ms + 1),
    ] {
        let (s, _, t) = srv.put(&path, json!({"expirationTimestamp": later}));
        assert_eq!(s, StatusCode::ACCEPTED, "{t}");
        assert_eq!(t["expirationTimestamp"], json!(when), "{later}");
    }
    // ... and a PUT without an expiry leaves it as it is.
    let (s, _, t) = srv.put(&path, json!({}));
    assert_eq!(s, StatusCode::ACCEPTED, "{t}");
    assert_eq!(t["expirationTimestamp"], json!(when));
    let (_, _, t) = srv.get(&path);
    assert_eq!(t["expirationTimestamp"], json!(when));
    let (s, _, b) = ctx();
    if now_ms() < deadline - 300 {
        assert_eq!(s, StatusCode::OK, "still inside the notice period: {b}");
    }

    // Past the notice: refused.
    let wait = deadline + 150 - now_ms();
    if wait > 0 {
        std::thread::sleep(Duration::from_millis(wait as u64));
    }
    let (s, h, b) = ctx();
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(b["apiCode"], "UNAUTHORIZED");
    assert_eq!(h["www-authenticate"], "Bearer error=\"invalid_token\"");

    // Trying to revive it changes nothing.
    let (s, _, t) = srv.put(&path, json!({"expirationTimestamp": baack_time(3_600_000)}));
    assert_eq!(s, StatusCode::ACCEPTED, "{t}");
    assert_eq!(t["expirationTimestamp"], json!(when));
    assert_eq!(ctx().0, StatusCode::UNAUTHORIZED);
    // The record is still readable: revoked is not deleted.
    assert_eq!(srv.get(&path).0, StatusCode::OK);
}

#[test]
fn an_earlier_expiry_shortens_and_a_token_created_with_one_keeps_it() {
    let srv = Server::start();
    let client = srv.create_client("c");
    let first = baack_time(7_200_000);
    let (s, _, t) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({"apiClient": {"urn": client}, "expirationTimestamp": first}),
    );
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["expirationTimestamp"], json!(first));
    let urn = t["urn"].as_str().unwrap().to_string();
    let token = t["bearerToken"].as_str().unwrap().to_string();
    let path = format!("/n/v1/apiclientbearertoken/{urn}");

    let (_, _, t) = srv.put(&path, json!({"expirationTimestamp": baack_time(9_000_000)}));
    assert_eq!(t["expirationTimestamp"], json!(first), "never later");
    let sooner = baack_time(3_600_000);
    let (_, _, t) = srv.put(&path, json!({"expirationTimestamp": sooner}));
    assert_eq!(t["expirationTimestamp"], json!(sooner), "sooner is allowed");
    let (_, _, t) = srv.put(&path, json!({"expirationTimestamp": first}));
    assert_eq!(
        t["expirationTimestamp"],
        json!(sooner),
        "and is never undone"
    );
    assert_eq!(
        srv.call(Method::GET, "/n/v1/clientcontext", Some(&token), None)
            .0,
        StatusCode::OK
    );
}

#[test]
fn deleting_a_client_kills_its_tokens_and_removes_it_from_roles() {
    let srv = Server::start();
    let doomed = srv.create_client("Doomed");
    let keeper = srv.create_client("Keeper");
    let (t1, tok1) = srv.create_token(&doomed);
    let (t2, tok2) = srv.create_token(&doomed);
    let (_, keep_tok) = srv.create_token(&keeper);
    let role = srv.create_role("Both", &["READ"], &[&doomed, &keeper]);
    let only = srv.create_role("Only", &["ADMINISTER"], &[&doomed]);
    for t in [&tok1, &tok2] {
        let (s, _, b) = srv.call(Method::GET, "/n/v1/apiclient/", Some(t), None);
        assert_eq!(s, StatusCode::OK, "READ works before: {b}");
    }

    let a = srv.delete(&format!("/n/v1/apiclient/{doomed}"));
    assert_status(&a, 200, "DELETE_SUCCESS");
    assert_eq!(a.2["detail"], json!(doomed));

    for t in [&tok1, &tok2] {
        let (s, h, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(t), None);
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
        assert!(h.contains_key("www-authenticate"));
    }
    for t in [&t1, &t2] {
        assert_status(
            &srv.get(&format!("/n/v1/apiclientbearertoken/{t}")),
            404,
            "NOT_FOUND",
        );
    }
    let (_, _, l) = srv.get(&format!("/n/v1/apiclientbearertoken/?apiClient={doomed}"));
    assert_eq!(l["bearerTokens"], json!([]));
    let (_, _, all) = srv.get("/n/v1/apiclientbearertoken/");
    let left: Vec<&Value> = all["bearerTokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["apiClient"]["urn"] == json!(doomed))
        .collect();
    assert!(left.is_empty(), "{all}");

    let (_, _, r) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    let members: Vec<&str> = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["urn"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![keeper.as_str()], "{r}");
    let (_, _, r) = srv.get(&format!("/n/v1/permissionrole/{only}"));
    assert_eq!(r["clients"], json!([]), "{r}");
    assert_eq!(r["permissions"], json!(["ADMINISTER"]));

    // The other client is untouched.
    let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&keep_tok), None);
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["permissions"], json!(["READ"]));

    // A new client of the same name is a new client: the old tokens stay dead, and it
    // inherits no role.
    let again = srv.create_client("Doomed");
    assert_ne!(again, doomed);
    assert_eq!(
        srv.call(Method::GET, "/n/v1/clientcontext", Some(&tok1), None)
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (_, fresh) = srv.create_token(&again);
    let (_, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&fresh), None);
    assert_eq!(b["permissions"], json!([]), "{b}");
}

#[test]
fn expiry_timestamps_accept_every_documented_spelling_and_are_emitted_in_milliseconds() {
    let srv = Server::start();
    let client = srv.create_client("c");
    for (sent, shown) in [
        ("2099-01-01T00:00:00", "2099-01-01T00:00:00.000"),
        ("2099-01-01T00:00:00.1", "2099-01-01T00:00:00.100"),
        ("2099-01-01T00:00:00.12", "2099-01-01T00:00:00.120"),
        ("2099-07-04T14:34:19.610", "2099-07-04T14:34:19.610"),
        ("2099-07-04T14:34:19.610Z", "2099-07-04T14:34:19.610"),
        ("2099-01-01T00:00:00.123456", "2099-01-01T00:00:00.123"),
        ("2099-01-01T00:00:00.123456789Z", "2099-01-01T00:00:00.123"),
    ] {
        let (s, _, t) = srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": client}, "expirationTimestamp": sent}),
        );
        assert_eq!(s, StatusCode::CREATED, "{sent}: {t}");
        assert_eq!(t["expirationTimestamp"], json!(shown), "{sent}");
        let urn = t["urn"].as_str().unwrap();
        let (_, _, read) = srv.get(&format!("/n/v1/apiclientbearertoken/{urn}"));
        assert_eq!(read["expirationTimestamp"], json!(shown), "{sent}");
    }
    // A token without an expiry shows none.
    let (turn, _) = srv.create_token(&client);
    let (_, _, read) = srv.get(&format!("/n/v1/apiclientbearertoken/{turn}"));
    assert!(
        read.get("expirationTimestamp").is_none_or(Value::is_null),
        "{read}"
    );
}

#[test]
fn only_the_root_client_may_mint_or_change_root_tokens() {
    let srv = Server::start();
    let (_, _, me) = srv.get("/n/v1/clientcontext");
    let root = me["client"]["urn"].as_str().unwrap().to_string();
    let admin = srv.create_client("delegated-admin");
    srv.create_role("admins", &["ADMINISTER"], &[&admin]);
    let (_, admin_token) = srv.create_token(&admin);
    let as_admin =
        |m: Method, path: &str, body: Option<Value>| srv.call(m, path, Some(&admin_token), body);

    // The delegated admin may mint tokens for other clients, not for the root.
    let other = srv.create_client("other");
    let (s, _, b) = as_admin(
        Method::POST,
        "/n/v1/apiclientbearertoken/",
        Some(json!({"apiClient": {"urn": other}})),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let a = as_admin(
        Method::POST,
        "/n/v1/apiclientbearertoken/",
        Some(json!({"apiClient": {"urn": root}})),
    );
    assert_status(&a, 404, "NOT_FOUND");
    let (_, _, list) = srv.get(&format!("/n/v1/apiclientbearertoken/?apiClient={root}"));
    assert_eq!(list["bearerTokens"].as_array().unwrap().len(), 1, "{list}");

    // Nor change a root token's expiration, later or sooner, nor delete it.
    let (turn, root_token) = srv.create_token(&root);
    let path = format!("/n/v1/apiclientbearertoken/{turn}");
    let (_, _, before) = srv.get(&path);
    for when in [baack_time(86_400_000), baack_time(0)] {
        let a = as_admin(
            Method::PUT,
            &path,
            Some(json!({"expirationTimestamp": when})),
        );
        assert_status(&a, 404, "NOT_FOUND");
    }
    assert_status(&as_admin(Method::DELETE, &path, None), 404, "NOT_FOUND");
    assert_eq!(srv.get(&path).2, before);
    let (s, _, _) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&root_token), None);
    assert_eq!(s, StatusCode::OK, "the root token must still work");

    // The root itself still can.
    let (s, _, b) = srv.put(
        &path,
        json!({"expirationTimestamp": baack_time(86_400_000)}),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({"apiClient": {"urn": root}}),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_status(&srv.delete(&path), 200, "DELETE_SUCCESS");
}

#[test]
fn expirations_outside_the_years_1970_to_9999_are_refused_naming_the_field() {
    let srv = Server::start();
    let client = srv.create_client("far-future");
    let (turn, _) = srv.create_token(&client);
    let path = format!("/n/v1/apiclientbearertoken/{turn}");
    // The first is what `--expires-in 99999999y` used to send.
    for when in [
        "+262142-12-31T23:59:59.999",
        "+10000-01-01T00:00:00.000",
        "1969-12-31T23:59:59.999",
    ] {
        let a = srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": client}, "expirationTimestamp": when}),
        );
        assert_status(&a, 400, "INVALID_REPRESENTATION");
        let detail = a.2["detail"].as_str().unwrap();
        assert!(detail.starts_with("expirationTimestamp"), "{detail}");
        assert!(detail.contains("9999-12-31T23:59:59.999"), "{detail}");
        let a = srv.put(&path, json!({"expirationTimestamp": when}));
        assert_status(&a, 400, "INVALID_REPRESENTATION");
        assert!(
            a.2["detail"]
                .as_str()
                .unwrap()
                .starts_with("expirationTimestamp")
        );
    }
    assert!(srv.get(&path).2.get("expirationTimestamp").is_none());
    // The last instant of the range is still an expiry.
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({"apiClient": {"urn": client}, "expirationTimestamp": "9999-12-31T23:59:59.999"}),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["expirationTimestamp"], "9999-12-31T23:59:59.999");
}
