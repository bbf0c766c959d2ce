//! Request size, pagination and optimistic concurrency: 413 over 1 MiB in each API's
//! shape, following `nextPage` to the end, and `ETag`/`If-Match` on roles.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const MIB: usize = 1024 * 1024;

/// A JSON client body padded to exactly `len` bytes with an ignored field.
fn padded_client(owner: &str, client_id: &str, len: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"owner":{{"urn":"{owner}"}},"scope":"api.baack.co","clientID":"{client_id}","pad":""#
    );
    let tail = "\"}";
    let mut s = head;
    s.push_str(&"x".repeat(len - s.len() - tail.len()));
    s.push_str(tail);
    assert_eq!(s.len(), len);
    s.into_bytes()
}

#[test]
fn bodies_over_one_mib_are_413_in_each_api_shape() {
    let srv = Server::start();
    let root = srv.root().to_string();
    let owner = srv.owner();
    let clients = "/n/v1/apiclient/";

    // Exactly 1 MiB is accepted (unknown fields are ignored), both ways of framing it.
    let (s, b) = sized(
        &srv,
        "POST",
        clients,
        &root,
        padded_client(&owner, "exact", MIB),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = chunked(
        &srv,
        "POST",
        clients,
        &root,
        &padded_client(&owner, "exact-chunked", MIB),
    );
    assert_eq!(s, 201, "{b}");

    // One byte more is not, and nothing is created: with a Content-Length, and chunked
    // (where the limit must hold while reading).
    let (s, b) = sized(
        &srv,
        "POST",
        clients,
        &root,
        padded_client(&owner, "over", MIB + 1),
    );
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["httpCode"], 413, "{b}");
    assert_eq!(b["apiCode"], "PAYLOAD_TOO_LARGE", "{b}");
    let (s, b) = chunked(
        &srv,
        "POST",
        clients,
        &root,
        &padded_client(&owner, "chunked", MIB + 1),
    );
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["httpCode"], 413, "{b}");
    assert_eq!(b["apiCode"], "PAYLOAD_TOO_LARGE", "{b}");
    for id in ["over", "chunked"] {
        let (_, _, l) = srv.get(&format!("/n/v1/apiclient/?clientID={id}"));
        assert_eq!(l["apiClients"], json!([]), "{id}");
    }
    let (_, _, l) = srv.get("/n/v1/apiclient/?clientID=exact-chunked");
    assert_eq!(l["apiClients"].as_array().unwrap().len(), 1);

    // PUT is limited too.
    let (_, _, ctx) = srv.get("/n/v1/clientcontext");
    let root_urn = ctx["client"]["urn"].as_str().unwrap();
    let (s, b) = sized(
        &srv,
        "PUT",
        &format!("/n/v1/apiclient/{root_urn}"),
        &root,
        padded_client(&owner, "root2", 2 * MIB),
    );
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["apiCode"], "PAYLOAD_TOO_LARGE");
    assert_eq!(
        srv.get("/n/v1/clientcontext").2["client"]["clientID"],
        "root"
    );

    // The OAuth API answers in SailPoint's shape.
    let mut body =
        serde_json::to_vec(&json!({"name": "big", "description": "x".repeat(MIB)})).unwrap();
    body.truncate(MIB + 10);
    for (s, b) in [
        sized(&srv, "POST", "/v3/oauth-clients", &root, body.clone()),
        chunked(&srv, "POST", "/v3/oauth-clients", &root, &body),
    ] {
        assert_eq!(s, 413, "{b}");
        assert!(
            b["detailCode"]
                .as_str()
                .is_some_and(|d| d.starts_with("413")),
            "{b}"
        );
        assert!(is_lower_hex(b["trackingId"].as_str().unwrap(), 32), "{b}");
        assert_eq!(b["messages"][0]["locale"], "en-US", "{b}");
    }
    assert_eq!(srv.get("/v3/oauth-clients").2, json!([]));
}

/// Sends `head` and then `body` on a new connection (writing from another thread, and
/// ignoring a server that stops reading), and returns the status and JSON body of the
/// answer. Plain TCP, so a server that answers before reading the whole body is seen to
/// do so, rather than as a client-side broken pipe.
fn exchange(srv: &Server, head: String, body: Vec<u8>) -> (u16, Value) {
    let addr = srv.base.strip_prefix("http://").unwrap();
    let conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(&body));
    });
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    let mut reader = conn;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => resp.extend_from_slice(&buf[..n]),
            // A reset after the answer arrived (the server closed with our body unread).
            Err(e) if !resp.is_empty() => {
                eprintln!("read ended with {e} after {} bytes", resp.len());
                break;
            }
            Err(e) => panic!("no answer: {e}"),
        }
        if raw_answer_complete(&resp) {
            break;
        }
    }
    let _ = reader.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    parse_raw_answer(&resp)
}

fn request_head(srv: &Server, method: &str, path: &str, token: &str, framing: &str) -> String {
    let addr = srv.base.strip_prefix("http://").unwrap();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
}

/// Sends `body` with a Content-Length.
fn sized(srv: &Server, method: &str, path: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let framing = format!("Content-Length: {}", body.len());
    exchange(srv, request_head(srv, method, path, token, &framing), body)
}

/// Sends `body` with chunked transfer encoding: no Content-Length to judge it by.
fn chunked(srv: &Server, method: &str, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let mut framed = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    let head = request_head(srv, method, path, token, "Transfer-Encoding: chunked");
    exchange(srv, head, framed)
}

/// Follows `nextPage` from `first` to the end; returns every item's URN in order and the
/// number of pages.
fn walk(srv: &Server, first: &str, key: &str, limit: usize) -> (Vec<String>, usize) {
    let mut urns = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        pages += 1;
        assert!(pages < 100, "nextPage never ends");
        let (s, _, b) = srv.get(&path);
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        let items = b[key].as_array().unwrap();
        assert!(items.len() <= limit, "{path}: {} items", items.len());
        urns.extend(items.iter().map(|i| i["urn"].as_str().unwrap().to_string()));
        next = match &b["nextPage"] {
            Value::Null => None,
            Value::String(p) => {
                assert!(p.starts_with('/'), "nextPage is a path: {p}");
                Some(p.clone())
            }
            other => panic!("nextPage {other}"),
        };
    }
    (urns, pages)
}

#[test]
fn following_next_page_sees_every_item_exactly_once() {
    let srv = Server::start();
    let mut clients = BTreeSet::new();
    clients.insert(
        srv.get("/n/v1/clientcontext").2["client"]["urn"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    for i in 0..12 {
        clients.insert(srv.create_client(&format!("client-{i}")));
    }
    for limit in [1, 5, 13, 100] {
        let (seen, pages) = walk(
            &srv,
            &format!("/n/v1/apiclient/?limit={limit}"),
            "apiClients",
            limit,
        );
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), unique.len(), "limit {limit}: a client twice");
        assert_eq!(unique, clients, "limit {limit}");
        assert_eq!(pages, 13usize.div_ceil(limit).max(1), "limit {limit}");
    }
    // Without a limit, the default page holds them all.
    let (seen, pages) = walk(&srv, "/n/v1/apiclient", "apiClients", 100);
    assert_eq!((seen.len(), pages), (13, 1));

    // Tokens, filtered by client, and roles page the same way.
    let c = clients.iter().next().unwrap().clone();
    let mut tokens = BTreeSet::new();
    for _ in 0..7 {
        tokens.insert(srv.create_token(&c).0);
    }
    // The root token is someone else's unless `c` is the root client.
    let (seen, _) = walk(
        &srv,
        &format!("/n/v1/apiclientbearertoken/?limit=3&apiClient={c}"),
        "bearerTokens",
        3,
    );
    let seen: BTreeSet<String> = seen.into_iter().collect();
    assert!(tokens.is_subset(&seen));
    assert!(seen.len() <= tokens.len() + 1);
    let (all, _) = walk(
        &srv,
        "/n/v1/apiclientbearertoken/?limit=2",
        "bearerTokens",
        2,
    );
    assert_eq!(all.len(), 8, "seven tokens and the root's");
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 8);

    let mut roles = BTreeSet::new();
    for i in 0..4 {
        roles.insert(srv.create_role(&format!("role-{i}"), &[], &[]));
    }
    let (seen, pages) = walk(&srv, "/n/v1/permissionrole/?limit=3", "permissionRoles", 3);
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), roles);
    assert_eq!(pages, 2);
}

#[test]
fn role_etag_and_if_match() {
    let srv = Server::start();
    let a = srv.create_client("a");
    let b = srv.create_client("b");
    let role = srv.create_role("Editors", &["READ"], &[]);
    let path = format!("/n/v1/permissionrole/{role}");
    let etag = |h: &reqwest::header::HeaderMap| {
        h.get("etag")
            .expect("an ETag header")
            .to_str()
            .unwrap()
            .to_string()
    };

    let (s, h, _) = srv.get(&path);
    assert_eq!(s, StatusCode::OK);
    let v1 = etag(&h);
    assert!(v1.starts_with('"') && v1.ends_with('"'), "{v1}");
    // Reading again gives the same tag.
    assert_eq!(etag(&srv.get(&path).1), v1);

    // With the current tag: accepted, and the tag moves on.
    let (s, h, body) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", &v1)],
        Some(json!({"name": "Editors", "clients": [{"urn": a}]})),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let v2 = etag(&h);
    assert_ne!(v1, v2);
    assert_eq!(etag(&srv.get(&path).1), v2);

    // With the stale tag: 412, and the role is unchanged.
    let a412 = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", &v1)],
        Some(json!({"name": "Editors", "clients": [{"urn": b}]})),
    );
    assert_status(&a412, 412, "PRECONDITION_FAILED");
    let (_, h, now) = srv.get(&path);
    assert_eq!(etag(&h), v2);
    assert_eq!(now["clients"][0]["urn"], json!(a));
    assert_eq!(now["clients"].as_array().unwrap().len(), 1);

    // Any of a list, or *, matches; no If-Match at all is an unconditional PUT.
    let (s, h, _) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", &format!("\"nope\", {v2}"))],
        Some(json!({"name": "Editors", "clients": [{"urn": a}, {"urn": b}]})),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    let v3 = etag(&h);
    let (s, h, _) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", "*")],
        Some(json!({"name": "Editors", "clients": [{"urn": a}, {"urn": b}]})),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    let v4 = etag(&h);
    assert_ne!(v3, v4);

    // A change made by a cascade (deleting a member client) also moves the tag.
    assert_status(
        &srv.delete(&format!("/n/v1/apiclient/{b}")),
        200,
        "DELETE_SUCCESS",
    );
    let (_, h, _) = srv.get(&path);
    let v5 = etag(&h);
    assert_ne!(v4, v5);
    let stale = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", &v4)],
        Some(json!({"name": "Editors", "clients": [{"urn": b}]})),
    );
    assert_status(&stale, 412, "PRECONDITION_FAILED");
    let (s, _, _) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", &v5)],
        Some(json!({"name": "Editors renamed", "clients": [{"urn": a}]})),
    );
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, _, fin) = srv.get(&path);
    assert_eq!(fin["name"], "Editors renamed");
    assert_eq!(fin["permissions"], json!(["READ"]));
}

/// Every list the router serves, at every spelling: a `limit` over the maximum is refused
/// with 400 in the API's shape, not quietly lowered; the maximum itself is served.
#[test]
fn a_limit_over_the_maximum_is_refused_by_every_list() {
    let srv = Server::start();
    let lists: Vec<&str> = baack::server::route_list()
        .into_iter()
        .filter(|(m, p)| {
            *m == Method::GET
                && !p.ends_with('}')
                && !matches!(
                    *p,
                    "/openapi.json" | "/n/v1/clientcontext" | "/n/v1/companies"
                )
                && !p.starts_with("/.well-known/")
        })
        .map(|(_, p)| p)
        .collect();
    assert_eq!(lists.len(), 17, "{lists:?}");
    for path in lists {
        let oauth = !path.starts_with("/n/");
        let max = if oauth { 250 } else { 1000 };
        for over in [
            (max + 1).to_string(),
            "4294967297".into(),
            "99999999999999999999999".into(),
        ] {
            let a = srv.get(&format!("{path}?limit={over}"));
            if oauth {
                assert_sailpoint(&a, 400, "400.1 Bad Request Content", "limit");
            } else {
                assert_status(&a, 400, "BAD_REQUEST");
                assert!(
                    a.2["detail"].as_str().unwrap().contains("limit"),
                    "{path}: {}",
                    a.2
                );
            }
        }
        let (s, _, b) = srv.get(&format!("{path}?limit={max}"));
        assert_eq!(s, StatusCode::OK, "{path}?limit={max}: {b}");
    }
}
