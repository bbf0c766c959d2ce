//! The per-token rate limit at its default (100 requests per 10 s): the 101st request gets
//! 429 with `Retry-After`, in the shape of whichever API was called.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[test]
fn the_101st_request_in_10_seconds_is_429_in_each_api_shape() {
    // The default limit: no --rate-limit argument.
    let srv = Server::start_args(&[]);
    let root = srv.root().to_string();
    let start = std::time::Instant::now();

    // Request 1 and 2 of the root token's 100.
    let client = {
        let owner = srv.get("/n/v1/clientcontext").2["owner"]["urn"].clone();
        let (s, _, c) = srv.post(
            "/n/v1/apiclient/",
            json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "other"}),
        );
        assert_eq!(s, StatusCode::CREATED, "{c}");
        c["urn"].as_str().unwrap().to_string()
    };
    // Request 3.
    let (_, other) = srv.create_token(&client);
    // Requests 4 to 100.
    for i in 4..=100 {
        let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&root), None);
        assert_eq!(s, StatusCode::OK, "request {i}: {b}");
    }
    assert!(
        start.elapsed().as_secs() < 9,
        "too slow to test a 10 s window"
    );

    // The 101st.
    let (s, h, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&root), None);
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(
        b,
        json!({"httpCode": 429, "apiCode": "TOO_MANY_REQUESTS", "detail": b["detail"]})
    );
    let retry: u64 = h["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert!((1..=10).contains(&retry), "Retry-After {retry}");

    // The OAuth API answers in its own shape.
    let (s, h, b) = srv.call(Method::GET, "/v3/oauth-clients", Some(&root), None);
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b, json!({"message": " Rate Limit Exceeded "}));
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);

    // A write is refused too, and does not happen.
    let (s, _, _) = srv.post(
        "/n/v1/apiclient/",
        json!({"owner": {"urn": random_urn()}, "scope": "api.baack.co", "clientID": "late"}),
    );
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);

    // The limit is per token: another token is still served.
    let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(&other), None);
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["client"]["clientID"], "other");

    // The log says 429 for the refused ones.
    assert!(
        srv.wait_log(|l| request_event(l).is_some_and(|e| e.method == "GET"
            && e.path == "/n/v1/clientcontext"
            && e.status == 429)),
        "{:?}",
        srv.log()
    );
}
