//! Hostile clients (issue 12, items 3–5 and part of 11): credentials are checked from the
//! headers before any body is read, a late body closes its connection, the connection
//! cap holds new connections back, the rate limit keys made-up tokens by address and
//! valid ones by client, `/openapi.json` answers `If-None-Match`, and a malformed chunked
//! body is a 400 in the API's shape.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn addr(srv: &Server) -> String {
    srv.base.strip_prefix("http://").unwrap().to_string()
}

/// Opens a connection and sends `text` (headers, perhaps part of a body).
fn send(srv: &Server, text: &str) -> TcpStream {
    let mut conn = TcpStream::connect(addr(srv)).unwrap();
    conn.write_all(text.as_bytes()).unwrap();
    conn
}

/// A request head with a declared body of `len` bytes, of which none is sent.
fn head(method: &str, path: &str, token: Option<&str>, len: usize) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

/// What arrived on `conn` within `wait`: `Ok(bytes)` once a whole answer with a
/// Content-Length (or nothing more) arrived, `Err(bytes)` when the time ran out first.
fn read_for(conn: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let end = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(got);
        }
        conn.set_read_timeout(Some(left)).unwrap();
        match conn.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if raw_answer_complete(&got) {
                    return Ok(got);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(got);
            }
            // Reset: the server closed with our body unread.
            Err(_) => return Ok(got),
        }
    }
}

/// The answer to a request whose 1 MiB body never comes, which must arrive at once.
fn answer_without_body(
    srv: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut conn = send(srv, &head(method, path, token, 1024 * 1024));
    let got = read_for(&mut conn, Duration::from_secs(10))
        .unwrap_or_else(|got| panic!("no answer without the body: {got:?}"));
    parse_raw_answer(&got)
}

#[test]
fn credentials_are_refused_before_any_of_the_body_is_read() {
    let srv = Server::start();
    let unknown = baack::secret::new_bearer_token().unwrap();
    let clients = "/n/v1/apiclient/";
    for token in [None, Some("bk_not-a-token"), Some(unknown.as_str())] {
        let (s, b) = answer_without_body(&srv, "POST", clients, token);
        assert_eq!(s, 401, "{token:?}: {b}");
        assert_eq!(b["apiCode"], "UNAUTHORIZED", "{b}");
        let (s, b) = answer_without_body(&srv, "POST", "/v3/oauth-clients", token);
        assert_eq!(s, 401, "{token:?}: {b}");
        let (s, _) = answer_without_body(&srv, "PATCH", "/v3/oauth-clients/x", token);
        assert_eq!(s, 401);
    }

    // A valid token without ADMINISTER is refused from the headers too.
    let reader = srv.create_client("reader");
    srv.create_role("readers", &["READ"], &[&reader]);
    let (_, token) = srv.create_token(&reader);
    let (s, b) = answer_without_body(&srv, "POST", clients, Some(&token));
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["apiCode"], "NOT_FOUND", "{b}");
    let (s, b) = answer_without_body(&srv, "POST", "/v3/oauth-clients", Some(&token));
    assert_eq!(s, 403, "{b}");

    // The root token is admitted, so its request waits for the body as it should.
    let mut conn = send(&srv, &head("POST", clients, Some(srv.root()), 1024 * 1024));
    assert_eq!(
        read_for(&mut conn, Duration::from_millis(500)),
        Err(Vec::new())
    );
}

#[test]
fn a_body_late_past_the_body_timeout_closes_its_connection() {
    let srv = Server::start_args(&["--rate-limit", "off", "--body-timeout", "1s"]);
    let body = json!({"owner": {"urn": srv.owner()}, "scope": "api.baack.co", "clientID": "late"})
        .to_string();
    let mut conn = send(
        &srv,
        &head("POST", "/n/v1/apiclient/", Some(srv.root()), body.len()),
    );
    conn.write_all(&body.as_bytes()[..10]).unwrap();
    let start = Instant::now();
    // Closed with no answer, after about a second.
    let got = read_for(&mut conn, Duration::from_secs(20)).expect("the connection was closed");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(start.elapsed() < Duration::from_secs(15));
    // Nothing was created, and everyone else is served.
    let (s, _, b) = srv.get("/n/v1/apiclient/?clientID=late");
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["apiClients"], json!([]));

    // A body sent in time, slowly, is fine.
    let mut conn = send(
        &srv,
        &head("POST", "/n/v1/apiclient/", Some(srv.root()), body.len()),
    );
    for part in body.as_bytes().chunks(body.len() / 3 + 1) {
        std::thread::sleep(Duration::from_millis(100));
        conn.write_all(part).unwrap();
    }
    let got = read_for(&mut conn, Duration::from_secs(20)).expect("an answer");
    assert_eq!(
        parse_raw_answer(&got).0,
        201,
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn at_the_connection_cap_new_connections_wait_and_the_log_says_so_once() {
    let srv = Server::start_args(&["--rate-limit", "off", "--max-connections", "2"]);
    let get = format!(
        "GET /n/v1/clientcontext HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        srv.root()
    );
    // Two kept-alive connections, each answered once: both slots are taken.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = send(&srv, &get);
            let got = read_for(&mut c, Duration::from_secs(10)).expect("an answer");
            assert_eq!(parse_raw_answer(&got).0, 200);
            c
        })
        .collect();
    // A third and a fourth wait: connected (the kernel's backlog), not served.
    let mut third = send(&srv, &get);
    let mut fourth = send(&srv, &get);
    assert_eq!(
        read_for(&mut third, Duration::from_millis(800)),
        Err(Vec::new())
    );
    assert_eq!(
        read_for(&mut fourth, Duration::from_millis(200)),
        Err(Vec::new())
    );
    assert!(
        srv.wait_log(
            |l| l.contains(" WARN baack::server: connection limit reached: 2 connections open")
        ),
        "{:?}",
        srv.log()
    );
    // One line, not one per waiting connection.
    let lines = srv
        .log()
        .iter()
        .filter(|l| l.contains("connection limit reached"))
        .count();
    assert_eq!(lines, 1, "{:?}", srv.log());

    // A slot frees: the third is served, then the fourth.
    drop(held.remove(0));
    let got = read_for(&mut third, Duration::from_secs(10)).expect("served once a slot freed");
    assert_eq!(parse_raw_answer(&got).0, 200);
    drop(held.remove(0));
    let got = read_for(&mut fourth, Duration::from_secs(10)).expect("served once a slot freed");
    assert_eq!(parse_raw_answer(&got).0, 200);
}

#[test]
fn made_up_tokens_are_limited_by_address_and_valid_ones_by_client() {
    let srv = Server::start_args(&["--rate-limit", "6/600"]);
    // Root: requests 1 to 3 of its client's 6.
    let other = srv.create_client("other");
    let (_, t1) = srv.create_token(&other);
    let (_, t2) = srv.create_token(&other);

    // Six made-up tokens from this address, every one different, half with a valid
    // checksum: all 401, then the address is limited whatever token it sends.
    for i in 0..6 {
        let t = if i % 2 == 0 {
            baack::secret::new_bearer_token().unwrap()
        } else {
            format!("bk_made-up-{i}")
        };
        let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&t), None);
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{i}: {b}");
    }
    let fresh = baack::secret::new_bearer_token().unwrap();
    let (s, h, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&fresh), None);
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert!(h.contains_key("retry-after"));
    let (s, _, b) = srv.call(Method::GET, "/v3/oauth-clients", None, None);
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b, json!({"message": " Rate Limit Exceeded "}));

    // Valid tokens are counted by client, not by address: unaffected by the flood, and
    // one client's two tokens share its 6.
    for t in [&t1, &t2, &t1, &t2, &t1, &t2] {
        let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(t), None);
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    for t in [&t1, &t2] {
        let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(t), None);
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    }
    // The root client has its own 6, of which 3 are left.
    let (s, _, b) = srv.get("/n/v1/clientcontext");
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[test]
fn a_malformed_chunked_body_is_a_400_in_each_api_shape() {
    let srv = Server::start();
    for path in ["/n/v1/apiclient/", "/v3/oauth-clients"] {
        let mut conn = send(
            &srv,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                 zz\r\n{{}}\r\n0\r\n\r\n",
                srv.root()
            ),
        );
        let got = read_for(&mut conn, Duration::from_secs(10)).expect("an answer");
        let (s, b) = parse_raw_answer(&got);
        assert_eq!(s, 400, "{path}: {}", String::from_utf8_lossy(&got));
        if path.starts_with("/n/") {
            assert_eq!(b["apiCode"], "BAD_REQUEST", "{b}");
        } else {
            assert_eq!(b["detailCode"], "400.1 Bad Request Content", "{b}");
        }
    }
}

#[test]
fn the_openapi_document_has_an_etag_and_answers_if_none_match() {
    let srv = Server::start();
    let url = format!("{}/openapi.json", srv.base);
    let http = reqwest::blocking::Client::new();
    let first = http.get(&url).send().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let doc: Value = first.json().unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));

    let again = http.get(&url).send().unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(again.json::<Value>().unwrap(), doc);

    for sent in [
        etag.clone(),
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
    ] {
        let r = http
            .get(&url)
            .header("If-None-Match", &sent)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{sent}");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert!(r.bytes().unwrap().is_empty());
    }
    let r = http
        .get(&url)
        .header("If-None-Match", "\"other\"")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
