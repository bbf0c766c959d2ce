//! The authorization matrix: every (method, path) the router serves, aliases included,
//! against every kind of credential. The status each cell must get is derived from the
//! rules of API.md (a function of verb, credential and API), not typed in cell by cell.
//!
//! Cells that must succeed work on fresh objects, so a DELETE in one cell cannot change
//! the answer of another; cells that must fail aim at shared objects, which are checked
//! to be untouched at the end, and every object a cell names is checked to exist exactly
//! when that cell was allowed to make it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// The kinds of credential a request can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cred {
    NoToken,
    Malformed,
    BadChecksum,
    Unknown,
    Expired,
    RevokedPastNotice,
    RevokedWithinNotice,
    DeletedClient,
    WebhookScope,
    NoRole,
    Read,
    ViewContent,
    Administer,
    Root,
}

const CREDS: [Cred; 14] = [
    Cred::NoToken,
    Cred::Malformed,
    Cred::BadChecksum,
    Cred::Unknown,
    Cred::Expired,
    Cred::RevokedPastNotice,
    Cred::RevokedWithinNotice,
    Cred::DeletedClient,
    Cred::WebhookScope,
    Cred::NoRole,
    Cred::Read,
    Cred::ViewContent,
    Cred::Administer,
    Cred::Root,
];

impl Cred {
    /// The permissions of a credential that authenticates; `None` for one that does not.
    /// The tokens that fail for their own reason (expiry, revocation, deleted client,
    /// scope) belong to clients holding ADMINISTER, so their 401 cannot be a missing
    /// permission in disguise.
    fn permissions(self) -> Option<&'static [&'static str]> {
        use Cred::*;
        match self {
            NoToken | Malformed | BadChecksum | Unknown | Expired | RevokedPastNotice
            | DeletedClient | WebhookScope => None,
            NoRole => Some(&[]),
            Read => Some(&["READ"]),
            ViewContent => Some(&["VIEW_CONTENT"]),
            RevokedWithinNotice | Administer | Root => Some(&["ADMINISTER"]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    /// `/openapi.json`.
    Doc,
    Baack,
    OAuth,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Res {
    Doc,
    Context,
    Companies,
    Company,
    Client,
    Token,
    Role,
    OAuth,
    Audit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Create,
    List,
    Get,
    Update,
    Delete,
    /// A token's rotation, an OAuth client's new secret: a POST to one object.
    Rotate,
}

#[derive(Debug)]
struct Route {
    method: Method,
    path: &'static str,
    api: Api,
    res: Res,
    verb: Verb,
}

fn classify(method: Method, path: &'static str) -> Route {
    let item = path.ends_with('}');
    let rotate = path.ends_with("}/rotate") || path.ends_with("}/secret");
    let verb = match (method.as_str(), item) {
        ("POST", false) if rotate => Verb::Rotate,
        ("POST", false) => Verb::Create,
        ("GET", false) => Verb::List,
        ("GET", true) => Verb::Get,
        ("PUT" | "PATCH", true) => Verb::Update,
        ("DELETE", true) => Verb::Delete,
        _ => panic!("no rule for {method} {path}"),
    };
    let res = if path == "/openapi.json" {
        Res::Doc
    } else if path == "/n/v1/clientcontext" {
        Res::Context
    } else if path == "/n/v1/companies" {
        Res::Companies
    } else if path.starts_with("/n/v1/company/") {
        Res::Company
    } else if path.starts_with("/n/v1/apiclientbearertoken") {
        Res::Token
    } else if path.starts_with("/n/v1/apiclient") {
        Res::Client
    } else if path.starts_with("/n/v1/permissionrole") || path.starts_with("/n/v1/role") {
        Res::Role
    } else if path.contains("oauth-clients") {
        Res::OAuth
    } else if path.starts_with("/n/v1/auditevent") {
        Res::Audit
    } else {
        panic!("no rule for {method} {path}")
    };
    let api = match res {
        Res::Doc => Api::Doc,
        Res::OAuth => Api::OAuth,
        _ => Api::Baack,
    };
    Route {
        method,
        path,
        api,
        res,
        verb,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Success,
    Unauthorized,
    Denied,
}

/// API.md's rules.
fn outcome(r: &Route, cred: Cred) -> Outcome {
    // The document needs no token, and a bad one does not spoil it.
    if r.res == Res::Doc {
        return Outcome::Success;
    }
    let Some(perms) = cred.permissions() else {
        return Outcome::Unauthorized;
    };
    // `whoami` works for any valid token.
    if r.res == Res::Context {
        return Outcome::Success;
    }
    let enough: &[&str] = match r.verb {
        Verb::List | Verb::Get => &["READ", "ADMINISTER"],
        Verb::Create | Verb::Update | Verb::Delete | Verb::Rotate => &["ADMINISTER"],
    };
    if perms.iter().any(|p| enough.contains(p)) {
        Outcome::Success
    } else {
        Outcome::Denied
    }
}

fn expected_status(r: &Route, o: Outcome) -> u16 {
    match (o, r.api, r.verb) {
        (Outcome::Unauthorized, _, _) => 401,
        // Baack hides what the caller may not see; SailPoint says 403.
        (Outcome::Denied, Api::OAuth, _) => 403,
        (Outcome::Denied, _, _) => 404,
        (Outcome::Success, Api::Baack, Verb::Create | Verb::Rotate) => 201,
        (Outcome::Success, Api::Baack, Verb::Update) => 202,
        (Outcome::Success, Api::OAuth, Verb::Delete) => 204,
        (Outcome::Success, _, _) => 200,
    }
}

/// Header values that are not a bearer token, one per cell in turn.
fn malformed(cell: usize, real: &str) -> String {
    let variants = [
        "Bearer not-a-token".to_string(),
        "Bearer ".to_string(),
        "Bearer".to_string(),
        "Basic dXNlcjpwYXNzd29yZA==".to_string(),
        format!("Bearer {real}x"),
        format!("Bearer {}", &real[..real.len() - 1]),
        format!("Bearer bk_{}", "!".repeat(real.len() - 3)),
        // A real token without its scheme is not `Bearer <token>`.
        real.to_string(),
        format!("Token {real}"),
    ];
    variants[cell % variants.len()].clone()
}

/// `real` with the character at a position chosen by `cell` changed: the checksum no
/// longer matches.
fn typo(cell: usize, real: &str) -> String {
    let mut b = real.as_bytes().to_vec();
    let i = 3 + cell % (real.len() - 3);
    b[i] = match b[i] {
        b'a' => b'b',
        b'0' => b'1',
        c if c.is_ascii_lowercase() => c.to_ascii_uppercase(),
        _ => b'a',
    };
    let t = String::from_utf8(b).unwrap();
    assert!(baack::secret::check_bearer_token(&t).is_err(), "{t}");
    t
}

fn oauth_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "authz matrix",
        "accessTokenValiditySeconds": 3600,
        "grantTypes": ["CLIENT_CREDENTIALS"],
        "accessType": "OFFLINE",
        "enabled": true,
    })
}

/// The world the matrix runs in.
struct World {
    srv: Server,
    owner: String,
    /// Tokens by credential, for those that are one token.
    admin: String,
    tokens: Vec<(Cred, String)>,
    unknown: String,
    /// Shared objects that cells which must fail aim at.
    client: String,
    token: String,
    role: String,
    oauth: String,
    audit: String,
    /// The client whose tokens the create cells make.
    token_owner: String,
    /// The client fresh tokens belong to.
    fresh_owner: String,
    fresh: usize,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// How long the tokens that must expire during setup live.
const SHORT_LIFE_MS: i64 = 4000;

impl World {
    fn build() -> World {
        let srv = Server::start();
        let owner = srv.owner();
        let ok = |a: &Answer| assert!(a.0.is_success(), "setup: {} {}", a.0, a.2);

        let admin_client = srv.create_client("authz-admin");
        let deleted_client = srv.create_client("authz-deleted");
        let (s, _, b) = srv.post(
            "/n/v1/apiclient/",
            json!({"owner": {"urn": owner}, "scope": "webhook.baack.co", "clientID": "authz-webhook"}),
        );
        assert_eq!(s, 201, "{b}");
        let webhook_client = b["urn"].as_str().unwrap().to_string();
        let norole_client = srv.create_client("authz-norole");
        let read_client = srv.create_client("authz-read");
        let view_client = srv.create_client("authz-view");
        srv.create_role(
            "authz-administer",
            &["ADMINISTER"],
            &[&admin_client, &deleted_client, &webhook_client],
        );
        srv.create_role("authz-read", &["READ"], &[&read_client]);
        srv.create_role("authz-view", &["VIEW_CONTENT"], &[&view_client]);

        // The tokens that must be dead by the time the matrix runs.
        let dies_at = now_ms() + SHORT_LIFE_MS;
        let (s, _, b) = srv.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": admin_client}, "expirationTimestamp": baack_time(SHORT_LIFE_MS)}),
        );
        assert_eq!(s, 201, "{b}");
        let expired = b["bearerToken"].as_str().unwrap().to_string();
        let (past_urn, past) = srv.create_token(&admin_client);
        ok(&srv.put(
            &format!("/n/v1/apiclientbearertoken/{past_urn}"),
            json!({"expirationTimestamp": baack_time(SHORT_LIFE_MS)}),
        ));
        let (within_urn, within) = srv.create_token(&admin_client);
        ok(&srv.put(
            &format!("/n/v1/apiclientbearertoken/{within_urn}"),
            json!({"expirationTimestamp": baack_time(3_600_000)}),
        ));
        let (_, admin) = srv.create_token(&admin_client);
        let (_, deleted) = srv.create_token(&deleted_client);
        let (_, webhook) = srv.create_token(&webhook_client);
        let (_, norole) = srv.create_token(&norole_client);
        let (_, read) = srv.create_token(&read_client);
        let (_, view) = srv.create_token(&view_client);

        // Each dying token worked before it died, so its 401 later is its death.
        for t in [&expired, &past, &deleted] {
            let (s, _, b) = srv.call(Method::GET, "/n/v1/clientcontext", Some(t), None);
            assert_eq!(s, 200, "a token alive during setup: {b}");
            assert_eq!(b["permissions"], json!(["ADMINISTER"]));
        }
        ok(&srv.delete(&format!("/n/v1/apiclient/{deleted_client}")));

        // The shared targets.
        let client = srv.create_client("authz-target");
        let token_owner = srv.create_client("authz-token-owner");
        let fresh_owner = srv.create_client("authz-fresh-owner");
        let (token, _) = srv.create_token(&token_owner);
        let role = srv.create_role("authz-target", &[], &[]);
        let (s, _, b) = srv.post("/v3/oauth-clients", oauth_body("authz-target"));
        assert_eq!(s, 200, "{b}");
        let oauth = b["id"].as_str().unwrap().to_string();
        let (s, _, b) = srv.get("/n/v1/auditevent/?limit=1");
        assert_eq!(s, 200, "{b}");
        let audit = b["auditEvents"][0]["urn"].as_str().unwrap().to_string();

        let tokens = vec![
            (Cred::Expired, expired),
            (Cred::RevokedPastNotice, past),
            (Cred::RevokedWithinNotice, within),
            (Cred::DeletedClient, deleted),
            (Cred::WebhookScope, webhook),
            (Cred::NoRole, norole),
            (Cred::Read, read),
            (Cred::ViewContent, view),
            (Cred::Administer, admin.clone()),
            (Cred::Root, srv.root().to_string()),
        ];
        let wait = dies_at + 200 - now_ms();
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
        World {
            srv,
            owner,
            admin,
            tokens,
            unknown: baack::secret::new_bearer_token().unwrap(),
            client,
            token,
            role,
            oauth,
            audit,
            token_owner,
            fresh_owner,
            fresh: 0,
        }
    }

    /// The `Authorization` header of `cred` in cell number `cell`.
    fn header(&self, cred: Cred, cell: usize) -> Option<String> {
        match cred {
            Cred::NoToken => None,
            Cred::Malformed => Some(malformed(cell, &self.admin)),
            Cred::BadChecksum => Some(format!("Bearer {}", typo(cell, &self.admin))),
            Cred::Unknown => Some(format!("Bearer {}", self.unknown)),
            c => {
                let t = &self.tokens.iter().find(|(k, _)| *k == c).unwrap().1;
                Some(format!("Bearer {t}"))
            }
        }
    }

    fn fresh_name(&mut self) -> String {
        self.fresh += 1;
        format!("fresh-{}", self.fresh)
    }

    /// A new object of `res`, made by root, for a cell that will change or delete it.
    fn fresh(&mut self, res: Res) -> String {
        let name = self.fresh_name();
        let srv = &self.srv;
        match res {
            Res::Client => srv.create_client(&name),
            Res::Token => srv.create_token(&self.fresh_owner).0,
            Res::Role => srv.create_role(&name, &[], &[]),
            Res::OAuth => {
                let (s, _, b) = srv.post("/v3/oauth-clients", oauth_body(&name));
                assert_eq!(s, 200, "{b}");
                b["id"].as_str().unwrap().to_string()
            }
            _ => unreachable!("{res:?} has nothing to make"),
        }
    }

    /// The shared object of `res`.
    fn shared(&self, res: Res) -> String {
        match res {
            Res::Company => self.owner.clone(),
            Res::Client => self.client.clone(),
            Res::Token => self.token.clone(),
            Res::Role => self.role.clone(),
            Res::OAuth => self.oauth.clone(),
            Res::Audit => self.audit.clone(),
            _ => unreachable!("{res:?} has no items"),
        }
    }

    /// Reads the shared objects as root.
    fn snapshot(&self) -> Vec<Answer> {
        [
            format!("/n/v1/apiclient/{}", self.client),
            format!("/n/v1/apiclientbearertoken/{}", self.token),
            format!("/n/v1/permissionrole/{}", self.role),
            format!("/v3/oauth-clients/{}", self.oauth),
        ]
        .iter()
        .map(|p| {
            let (s, h, b) = self.srv.get(p);
            // The tracking id and date of an answer differ from call to call.
            let mut h = h;
            h.remove("date");
            (s, h, b)
        })
        .collect()
    }
}

/// The body a cell sends.
fn body(w: &World, r: &Route, cell: usize) -> Option<Value> {
    let name = format!("cell-{cell}");
    let renamed = format!("put-{cell}");
    match (r.res, r.verb) {
        (Res::Client, Verb::Create) => {
            Some(json!({"owner": {"urn": w.owner}, "scope": "api.baack.co", "clientID": name}))
        }
        (Res::Client, Verb::Update) => Some(json!({"scope": "api.baack.co", "clientID": renamed})),
        (Res::Token, Verb::Create) => Some(json!({"apiClient": {"urn": w.token_owner}})),
        (Res::Token, Verb::Update) => {
            Some(json!({"expirationTimestamp": baack_time(86_400_000 + cell as i64)}))
        }
        (Res::Role, Verb::Create) => Some(json!({"name": name, "owner": {"urn": w.owner}})),
        (Res::Role, Verb::Update) => Some(json!({"name": renamed})),
        (Res::OAuth, Verb::Create) => Some(oauth_body(&name)),
        (Res::OAuth, Verb::Update) => {
            Some(json!([{"op": "replace", "path": "/name", "value": renamed}]))
        }
        (Res::Token, Verb::Rotate) => Some(json!({"overlapSeconds": 60})),
        (Res::OAuth, Verb::Rotate) => Some(json!({"overlapSeconds": 0})),
        _ => None,
    }
}

/// What is wrong with the answer `a` of a cell, if anything.
fn judge(r: &Route, cred: Cred, o: Outcome, target: Option<&str>, a: &Answer) -> Option<String> {
    let (s, h, b) = a;
    let want = expected_status(r, o);
    if s.as_u16() != want {
        return Some(format!("status {} (want {want}): {b}", s.as_u16()));
    }
    let fail = |why: &str| Some(format!("{why}: {b}"));
    match (o, r.api) {
        (Outcome::Unauthorized, api) => {
            if h.get("www-authenticate")
                .map(|v| v.to_str().unwrap_or_default())
                != Some("Bearer error=\"invalid_token\"")
            {
                return fail("no WWW-Authenticate: Bearer error=\"invalid_token\"");
            }
            let shaped = match api {
                Api::Baack => b["httpCode"] == 401 && b["apiCode"] == "UNAUTHORIZED",
                _ => b["error"].is_string() && b.as_object().is_some_and(|o| o.len() == 1),
            };
            if !shaped {
                return fail("not a 401 in the API's shape");
            }
        }
        (Outcome::Denied, Api::Baack) => {
            // Exactly this, whatever the target: nothing tells that it exists.
            if *b != json!({"httpCode": 404, "apiCode": "NOT_FOUND"}) {
                return fail("not a bare NOT_FOUND");
            }
        }
        (Outcome::Denied, _) => {
            if b["detailCode"] != "403 Forbidden" || !b["trackingId"].is_string() {
                return fail("not SailPoint's 403");
            }
        }
        (Outcome::Success, _) => {
            let key = if r.api == Api::OAuth { "id" } else { "urn" };
            let ok = match (r.res, r.verb) {
                (Res::Doc, _) => b["openapi"] == "3.1.0",
                (Res::Context, _) => {
                    b["hasBearer"] == true
                        && b["permissions"] == json!(cred.permissions().unwrap_or_default())
                }
                (Res::OAuth, Verb::Delete) => b.is_null(),
                (Res::OAuth, Verb::Create) => b["secret"].as_str().is_some_and(|x| x.len() == 64),
                (Res::OAuth, Verb::Rotate) => {
                    b["id"].as_str() == target
                        && b["secret"].as_str().is_some_and(|x| x.len() == 64)
                }
                (_, Verb::Rotate) => {
                    b["replaced"]["urn"].as_str() == target
                        && b["bearerToken"]["bearerToken"]
                            .as_str()
                            .is_some_and(|x| baack::secret::check_bearer_token(x).is_ok())
                }
                (_, Verb::Delete) => {
                    b["apiCode"] == "DELETE_SUCCESS" && b["detail"].as_str() == target
                }
                (_, Verb::Get | Verb::Update) => b[key].as_str() == target,
                (_, Verb::Create) => b["urn"].is_string(),
                (_, Verb::List) => true,
            };
            if !ok {
                return fail("not the answer of a success on the target");
            }
        }
    }
    None
}

/// Names in `items[key]` with `prefix`, as cell numbers.
fn cells_named(items: &Value, key: &str, prefix: &str) -> BTreeSet<usize> {
    items
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i[key].as_str()?.strip_prefix(prefix)?.parse().ok())
        .collect()
}

#[test]
fn every_route_against_every_credential() {
    let started = Instant::now();
    // The OAuth 2.0 endpoints take client credentials, not a bearer token: they have
    // tests of their own (`oauth2`).
    let routes: Vec<Route> = baack::server::route_list()
        .into_iter()
        .filter(|(_, p)| !p.starts_with("/oauth/") && !p.starts_with("/.well-known/"))
        .map(|(m, p)| classify(m, p))
        .collect();
    // The router really serves what the brief of this test names.
    let paths: BTreeSet<&str> = routes.iter().map(|r| r.path).collect();
    for p in [
        "/openapi.json",
        "/n/v1/clientcontext",
        "/n/v1/companies",
        "/n/v1/company/{urn}",
        "/n/v1/apiclient/",
        "/n/v1/apiclient",
        "/n/v1/apiclientbearertoken",
        "/n/v1/role/",
        "/n/v1/role",
        "/n/v1/role/{urn}",
        "/n/v1/permissionrole",
        "/v3/oauth-clients/{id}",
        "/oauth-clients",
        "/oauth-clients/{id}",
        "/beta/oauth-clients",
        "/beta/oauth-clients/{id}",
        "/oauth-clients/v1",
        "/oauth-clients/v1/{id}",
        "/v2024/oauth-clients",
        "/v2025/oauth-clients/{id}",
        "/v2026/oauth-clients",
    ] {
        assert!(paths.contains(p), "the router does not serve {p}");
    }

    let mut w = World::build();
    let before = w.snapshot();
    let mut failures = Vec::new();
    let mut allowed: Vec<(Res, Verb, usize)> = Vec::new();
    let mut cells = 0;
    for r in &routes {
        for cred in CREDS {
            let cell = cells;
            cells += 1;
            let o = outcome(r, cred);
            let target = (r.path.ends_with('}') || r.verb == Verb::Rotate).then(|| {
                if o == Outcome::Success
                    && matches!(r.verb, Verb::Update | Verb::Delete | Verb::Rotate)
                {
                    w.fresh(r.res)
                } else {
                    w.shared(r.res)
                }
            });
            let path = match &target {
                Some(t) => r.path.replace("{urn}", t).replace("{id}", t),
                None => r.path.to_string(),
            };
            let auth = w.header(cred, cell);
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(a) = &auth {
                headers.push(("Authorization", a));
            }
            if r.method == Method::PATCH {
                headers.push(("Content-Type", "application/json-patch+json"));
            }
            let a = w
                .srv
                .call_with(r.method.clone(), &path, None, &headers, body(&w, r, cell));
            if let Some(why) = judge(r, cred, o, target.as_deref(), &a) {
                failures.push(format!("{} {path} as {cred:?}: {why}", r.method));
            }
            if o == Outcome::Success {
                allowed.push((r.res, r.verb, cell));
            }
        }
    }

    // Every refused change left no trace: the shared objects are as they were...
    let after = w.snapshot();
    for (b, a) in before.iter().zip(&after) {
        if (b.0, &b.2) != (a.0, &a.2) || b.1.get("etag") != a.1.get("etag") {
            failures.push(format!("a shared object changed: {} became {}", b.2, a.2));
        }
    }
    // ...and exactly the allowed cells made or renamed something.
    let made = |res: Res, verb: Verb| -> BTreeSet<usize> {
        allowed
            .iter()
            .filter(|(r, v, _)| *r == res && *v == verb)
            .map(|(_, _, c)| *c)
            .collect()
    };
    let (_, _, clients) = w.srv.get("/n/v1/apiclient/?limit=1000");
    let (_, _, roles) = w.srv.get("/n/v1/permissionrole/?limit=1000");
    let (_, _, oauths) = w.srv.get("/v3/oauth-clients?limit=250");
    let (_, _, tokens) = w.srv.get(&format!(
        "/n/v1/apiclientbearertoken/?limit=1000&apiClient={}",
        w.token_owner
    ));
    for (res, list, key) in [
        (Res::Client, &clients["apiClients"], "clientID"),
        (Res::Role, &roles["permissionRoles"], "name"),
        (Res::OAuth, &oauths, "name"),
    ] {
        for (verb, prefix) in [(Verb::Create, "cell-"), (Verb::Update, "put-")] {
            let want = made(res, verb);
            assert!(!want.is_empty(), "{res:?} {verb:?}: no cell was allowed");
            let got = cells_named(list, key, prefix);
            if got != want {
                failures.push(format!(
                    "{res:?} {verb:?}: objects of cells {got:?}, allowed cells {want:?}"
                ));
            }
        }
    }
    let token_count = tokens["bearerTokens"].as_array().unwrap().len();
    if token_count != 1 + made(Res::Token, Verb::Create).len() {
        failures.push(format!(
            "the token owner has {token_count} tokens, not 1 + the allowed creates"
        ));
    }

    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, routes.len() * CREDS.len());
    eprintln!(
        "authz matrix: {} routes x {} credentials = {cells} cells in {:.1?}",
        routes.len(),
        CREDS.len(),
        started.elapsed()
    );
}

/// The other side of the matrix: every verb a path does not serve is 405 in that path's
/// API shape, before any token is looked at, with `Allow` naming what it does serve.
#[test]
fn verbs_a_path_does_not_serve_are_405_with_allow() {
    let srv = Server::start();
    let routes = baack::server::route_list();
    let paths: BTreeSet<&str> = routes.iter().map(|(_, p)| *p).collect();
    let mut checked = 0;
    for path in paths {
        let served: BTreeSet<String> = routes
            .iter()
            .filter(|(_, p)| *p == path)
            .map(|(m, _)| m.to_string())
            .collect();
        let concrete = path
            .replace("{urn}", &random_urn())
            .replace("{id}", "0123456789abcdef0123456789abcdef");
        for m in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            if served.contains(m.as_str()) {
                continue;
            }
            checked += 1;
            for token in [None, Some(srv.root())] {
                let (s, h, b) = srv.call(m.clone(), &concrete, token, None);
                assert_eq!(s, 405, "{m} {path}: {b}");
                if path.starts_with("/n/") {
                    assert_eq!(b["apiCode"], "METHOD_NOT_ALLOWED", "{m} {path}: {b}");
                } else {
                    assert_eq!(b["detailCode"], "405 Method Not Allowed", "{m} {path}: {b}");
                }
                let allow: BTreeSet<String> = h["allow"]
                    .to_str()
                    .unwrap()
                    .split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| a != "HEAD")
                    .collect();
                assert_eq!(allow, served, "Allow of {m} {path}");
            }
        }
    }
    assert!(checked > 60, "{checked}");
}
