//! A focused measurement of issue 13's wire types against the `serde_json::Value` code they
//! replace (copied here as it was at bf6c888): rendering a 1,000-item API client page and
//! a 250-item OAuth page, and parsing 10,000 API client and OAuth create bodies. Run with
//! `cargo run --release --example wire_bench`.

use std::hint::black_box;
use std::time::Instant;

use baack::model::{ApiClient, ClientInput, OAuthClient, OAuthFields, Scope, paths};
use baack::service::Page;
use baack::wire::client::{ApiClientList, ApiClientQuery};
use baack::wire::oauth::{OAuthClientList, parse_oauth};
use serde_json::{Value, json};

// --- the code as it was -----------------------------------------------------------------

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = serde_json::Map::with_capacity(N);
    for (k, v) in fields {
        map.insert(k.to_string(), v);
    }
    Value::Object(map)
}
fn reference_json(prefix: &str, urn: &str) -> Value {
    object([
        ("urn", urn.into()),
        ("url", format!("{prefix}{urn}").into()),
    ])
}
fn client_json(c: &ApiClient) -> Value {
    object([
        ("urn", c.urn.as_str().into()),
        ("url", format!("{}{}", paths::CLIENT, c.urn).into()),
        ("scope", c.scope.as_str().into()),
        ("owner", reference_json(paths::COMPANY, &c.owner)),
        ("clientID", c.client_id.as_str().into()),
    ])
}
fn oauth_json(c: &OAuthClient, secret: Option<&str>) -> Value {
    use baack::clock::format_rfc3339;
    let f = &c.fields;
    json!({
        "id": c.id, "secret": secret, "businessName": f.business_name,
        "homepageUrl": f.homepage_url, "name": f.name, "description": f.description,
        "accessTokenValiditySeconds": f.access_token_validity_seconds,
        "refreshTokenValiditySeconds": f.refresh_token_validity_seconds,
        "redirectUris": f.redirect_uris, "grantTypes": f.grant_types,
        "accessType": f.access_type, "type": f.client_type, "internal": f.internal,
        "enabled": f.enabled, "strongAuthSupported": f.strong_auth_supported,
        "claimsSupported": f.claims_supported, "created": format_rfc3339(c.created),
        "modified": format_rfc3339(c.modified), "lastUsed": c.last_used.map(format_rfc3339),
        "scope": f.scope, "metadata": Value::Null,
    })
}
fn old_client_page(items: &[ApiClient], next: Option<String>) -> Vec<u8> {
    let next = match next {
        None => Value::Null,
        Some(a) => format!("{}?limit=1000&cursor={a}", paths::CLIENT).into(),
    };
    let v = object([
        (
            "apiClients",
            Value::Array(items.iter().map(client_json).collect()),
        ),
        ("nextPage", next),
    ]);
    serde_json::to_vec(&v).unwrap()
}

// --- the measurement ----------------------------------------------------------------

fn time<T>(label: &str, rounds: u32, mut f: impl FnMut() -> T) -> f64 {
    for _ in 0..rounds / 10 + 1 {
        black_box(f());
    }
    let t = Instant::now();
    for _ in 0..rounds {
        black_box(f());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!("{label:<44} {us:>10.1} µs");
    us
}

fn main() {
    let owner = "6f97bac3-26fe-4333-91f0-f12af2d1d167".to_string();
    let clients: Vec<ApiClient> = (0..1000)
        .map(|i| ApiClient {
            created: None,
            last_used: None,
            rev: None,
            urn: baack::model::new_urn(),
            client_id: format!("client-{i}"),
            scope: Scope::Api,
            owner: owner.clone(),
        })
        .collect();
    let next = clients.last().map(|c| c.urn.clone());
    let page = Page {
        items: clients.clone(),
        next: next.clone(),
    };
    let q = ApiClientQuery {
        used: Default::default(),
        limit: 1000,
        cursor: None,
        client_id: None,
    };
    // Same bytes both ways.
    assert_eq!(
        old_client_page(&clients, next.clone()),
        serde_json::to_vec(&ApiClientList::new(&page, &q)).unwrap()
    );
    let old = time("render 1,000 API clients: Value (old)", 300, || {
        old_client_page(&clients, next.clone())
    });
    let new = time("render 1,000 API clients: serde derive (new)", 300, || {
        serde_json::to_vec(&ApiClientList::new(&page, &q)).unwrap()
    });
    println!("{:<44} {:>10.2}x", "  speed-up", old / new);

    let body = json!({"name": "n", "description": "d", "accessTokenValiditySeconds": 60,
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "redirectUris": ["https://a.example/cb"],
        "accessType": "ONLINE", "enabled": true, "scope": ["a", "b"]});
    let fields: OAuthFields = parse_oauth(&body).unwrap();
    let oauth: Vec<OAuthClient> = (0..250)
        .map(|i| OAuthClient {
            owner: None,
            rev: None,
            previous_secret: None,
            id: format!("{i:032x}"),
            secret_digest: String::new(),
            fields: fields.clone(),
            created: 1_700_000_000_000,
            modified: 1_700_000_000_000,
            last_used: None,
        })
        .collect();
    assert_eq!(
        serde_json::to_vec(&Value::Array(
            oauth.iter().map(|o| oauth_json(o, None)).collect()
        ))
        .unwrap(),
        serde_json::to_vec(&OAuthClientList::new(&oauth)).unwrap()
    );
    let old = time("render 250 OAuth clients: json! (old)", 300, || {
        serde_json::to_vec(&Value::Array(
            oauth.iter().map(|o| oauth_json(o, None)).collect(),
        ))
        .unwrap()
    });
    let new = time("render 250 OAuth clients: serde derive (new)", 300, || {
        serde_json::to_vec(&OAuthClientList::new(&oauth)).unwrap()
    });
    println!("{:<44} {:>10.2}x", "  speed-up", old / new);

    // Parsing: bytes to a checked domain input, as a handler does (the body is read as a
    // `Value` first in both, for its syntax and object check).
    let client_bodies: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            serde_json::to_vec(&json!({"owner": {"urn": owner}, "scope": "api.baack.co",
                "clientID": format!("client-{i}")}))
            .unwrap()
        })
        .collect();
    time("parse 10,000 API client bodies (new)", 10, || {
        for b in &client_bodies {
            let v: Value = serde_json::from_slice(b).unwrap();
            black_box(ClientInput::parse(&v, true).unwrap());
        }
    });
    let oauth_bodies: Vec<Vec<u8>> = (0..10_000)
        .map(|_| serde_json::to_vec(&body).unwrap())
        .collect();
    time("parse 10,000 OAuth bodies (new)", 10, || {
        for b in &oauth_bodies {
            let v: Value = serde_json::from_slice(b).unwrap();
            black_box(parse_oauth(&v).unwrap());
        }
    });
}
