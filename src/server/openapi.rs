//! The OpenAPI 3.1 document served at `/openapi.json`: every operation the router serves,
//! aliases included, with the constraints the server really enforces (so a tool that
//! generates requests from it, like schemathesis, finds the document and the server in
//! agreement), the statuses each operation can answer, and the headers that come with
//! them. Tests check it against the router's own list of routes, and its patterns against
//! the validators of `model` and `clock`.

use serde_json::{Map, Value, json};

use crate::service::{MAX_LIMIT, MAX_OAUTH_LIMIT};

use crate::wire::patterns;

/// One documented operation, at every path spelling it answers to.
struct Op {
    method: &'static str,
    paths: &'static [&'static str],
    id: &'static str,
    summary: &'static str,
    /// Rules that depend on the store or the clock, beyond what the schemas say.
    rules: Option<&'static str>,
    /// Schema name of the request body.
    body: Option<&'static str>,
    /// Success status and schema name (None: no body).
    ok: (u16, Option<&'static str>),
    query: &'static [&'static str],
    /// Whether the operation requires a token.
    auth: bool,
    /// Whether it needs a permission (READ for a GET, ADMINISTER for a change).
    managed: bool,
}

const fn op(
    method: &'static str,
    paths: &'static [&'static str],
    id: &'static str,
    summary: &'static str,
) -> Op {
    Op {
        method,
        paths,
        id,
        summary,
        rules: None,
        body: None,
        ok: (200, None),
        query: &[],
        auth: true,
        managed: true,
    }
}

const CLIENT_Q: &[&str] = &["limit", "cursor", "clientID"];
const TOKEN_Q: &[&str] = &["limit", "cursor", "apiClient"];
const ROLE_Q: &[&str] = &["limit", "cursor", "name"];
const OAUTH_Q: &[&str] = &["filters", "limit", "offset", "count"];

fn ops() -> Vec<Op> {
    use super::{CLIENT, CLIENTS, OAUTH, OAUTHS, ROLE, ROLES, TOKEN, TOKENS};
    vec![
        Op {
            ok: (200, Some("Any")),
            auth: false,
            managed: false,
            ..op("get", &["/openapi.json"], "getOpenApi", "This document")
        },
        Op {
            ok: (200, Some("ClientContext")),
            managed: false,
            ..op(
                "get",
                &["/n/v1/clientcontext"],
                "getClientContext",
                "Who the token is: its client, company and permissions (any valid token)",
            )
        },
        Op {
            ok: (200, Some("CompanyList")),
            ..op(
                "get",
                &["/n/v1/companies"],
                "listCompanies",
                "List companies",
            )
        },
        Op {
            ok: (200, Some("Company")),
            ..op(
                "get",
                &["/n/v1/company/{urn}"],
                "getCompany",
                "Read a company",
            )
        },
        Op {
            body: Some("ApiClientInput"),
            ok: (201, Some("ApiClient")),
            rules: Some(
                "400 INVALID_REPRESENTATION when the clientID is taken in the company; 404 when the owner is not the store's company.",
            ),
            ..op("post", CLIENTS, "createApiClient", "Create an API client")
        },
        Op {
            ok: (200, Some("ApiClientList")),
            query: CLIENT_Q,
            ..op("get", CLIENTS, "listApiClients", "List API clients")
        },
        Op {
            ok: (200, Some("ApiClient")),
            ..op("get", CLIENT, "getApiClient", "Read an API client")
        },
        Op {
            body: Some("ApiClientUpdate"),
            ok: (202, Some("ApiClient")),
            rules: Some(
                "400 INVALID_REPRESENTATION when the new clientID is taken, or when the root client would lose scope api.baack.co.",
            ),
            ..op(
                "put",
                CLIENT,
                "updateApiClient",
                "Replace an API client's clientID and scope",
            )
        },
        Op {
            ok: (200, Some("Status")),
            rules: Some("400 INVALID_REPRESENTATION for the root client, which cannot be deleted."),
            ..op(
                "delete",
                CLIENT,
                "deleteApiClient",
                "Delete an API client, its tokens and its role memberships",
            )
        },
        Op {
            body: Some("BearerTokenInput"),
            ok: (201, Some("BearerTokenCreated")),
            rules: Some(
                "400 INVALID_REPRESENTATION when expirationTimestamp is not in the future; 404 when the API client does not exist.",
            ),
            ..op(
                "post",
                TOKENS,
                "createBearerToken",
                "Create a bearer token (the whole token is in this answer only)",
            )
        },
        Op {
            ok: (200, Some("BearerTokenList")),
            query: TOKEN_Q,
            ..op("get", TOKENS, "listBearerTokens", "List bearer tokens")
        },
        Op {
            ok: (200, Some("BearerToken")),
            ..op(
                "get",
                TOKEN,
                "getBearerToken",
                "Read a bearer token (obfuscated)",
            )
        },
        Op {
            body: Some("BearerTokenUpdate"),
            ok: (202, Some("BearerToken")),
            ..op(
                "put",
                TOKEN,
                "updateBearerToken",
                "Set a token's expiry, never later than one already set (revocation with notice)",
            )
        },
        Op {
            ok: (200, Some("Status")),
            ..op(
                "delete",
                TOKEN,
                "deleteBearerToken",
                "Delete a bearer token; it stops working at once",
            )
        },
        Op {
            body: Some("PermissionRoleInput"),
            ok: (201, Some("PermissionRole")),
            rules: Some(
                "400 INVALID_REPRESENTATION when the name is taken in the company; 404 when the owner or a client does not exist.",
            ),
            ..op(
                "post",
                ROLES,
                "createPermissionRole",
                "Create a permission role",
            )
        },
        Op {
            ok: (200, Some("PermissionRoleList")),
            query: ROLE_Q,
            ..op("get", ROLES, "listPermissionRoles", "List permission roles")
        },
        Op {
            ok: (200, Some("PermissionRole")),
            ..op(
                "get",
                ROLE,
                "getPermissionRole",
                "Read a permission role; its ETag header versions it",
            )
        },
        Op {
            body: Some("PermissionRoleUpdate"),
            ok: (202, Some("PermissionRole")),
            rules: Some(
                "400 INVALID_REPRESENTATION when the new name is taken; 404 when a client does not exist; 412 when If-Match does not name the role's current ETag.",
            ),
            ..op(
                "put",
                ROLE,
                "updatePermissionRole",
                "Replace a permission role (grant it to clients); If-Match makes it safe against concurrent changes",
            )
        },
        Op {
            ok: (200, Some("Status")),
            ..op(
                "delete",
                ROLE,
                "deletePermissionRole",
                "Delete a permission role",
            )
        },
        Op {
            body: Some("OAuthClientInput"),
            ok: (200, Some("OAuthClientCreated")),
            ..op(
                "post",
                OAUTHS,
                "createOauthClient",
                "Create an OAuth client (the secret is in this answer only)",
            )
        },
        Op {
            ok: (200, Some("OAuthClientList")),
            query: OAUTH_Q,
            ..op("get", OAUTHS, "listOauthClients", "List OAuth clients")
        },
        Op {
            ok: (200, Some("OAuthClient")),
            ..op("get", OAUTH, "getOauthClient", "Read an OAuth client")
        },
        Op {
            body: Some("JsonPatch"),
            ok: (200, Some("OAuthClient")),
            rules: Some(
                "400 400.1 Bad Request Content when the patched client breaks a rule of OAuthClientInput (grant types, redirect URIs, types, ranges) or an operation cannot apply (a failed test, a missing target).",
            ),
            ..op(
                "patch",
                OAUTH,
                "patchOauthClient",
                "Change an OAuth client with a JSON Patch (RFC 6902)",
            )
        },
        Op {
            ok: (204, None),
            ..op(
                "delete",
                OAUTH,
                "deleteOauthClient",
                "Delete an OAuth client",
            )
        },
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: &str) -> Value {
    json!({ "application/json": { "schema": schema_ref(schema) } })
}

fn query_param(name: &str, oauth: bool) -> Value {
    let (schema, description) = match (name, oauth) {
        ("limit", false) => (
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100 }),
            "Items per page; over the maximum is 400, not obeyed",
        ),
        ("limit", true) => (
            json!({ "type": "integer", "minimum": 0, "maximum": MAX_OAUTH_LIMIT, "default": MAX_OAUTH_LIMIT }),
            "Items per page; over the maximum is 400, not obeyed",
        ),
        ("cursor", _) => (
            json!({ "type": "string", "pattern": patterns::cursor() }),
            "Where the page starts, as given in nextPage",
        ),
        ("apiClient", _) => (
            json!({ "type": "string", "format": "uuid", "pattern": patterns::urn() }),
            "Only the tokens of this API client",
        ),
        ("clientID", _) => (
            json!({ "type": "string" }),
            "Only the API client with exactly this clientID",
        ),
        ("name", _) => (
            json!({ "type": "string" }),
            "Only the role with exactly this name",
        ),
        ("filters", _) => (
            json!({ "type": "string", "pattern": patterns::oauth_filters() }),
            "`lastUsed le <timestamp>` or `lastUsed isnull`",
        ),
        ("offset", _) => (
            json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX }),
            "Items to skip",
        ),
        ("count", _) => (
            json!({ "type": "boolean" }),
            "true: send the number of matches before paging in X-Total-Count",
        ),
        _ => (json!({ "type": "string" }), ""),
    };
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn header(description: &str, schema: Value, required: bool) -> Value {
    json!({ "description": description, "required": required, "schema": schema })
}

fn operation(op: &Op, path: &str, alias: usize) -> Value {
    let oauth = !path.starts_with("/n/") && path != "/openapi.json";
    let err_schema = if oauth { "SailPointError" } else { "Status" };
    let mut params: Vec<Value> = Vec::new();
    let mut item = false;
    if path.contains("{urn}") {
        item = true;
        params.push(json!({ "name": "urn", "in": "path", "required": true,
            "schema": { "type": "string", "format": "uuid", "pattern": patterns::urn() } }));
    }
    if path.contains("{id}") {
        item = true;
        params.push(json!({ "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": patterns::oauth_id() } }));
    }
    for name in op.query {
        params.push(query_param(name, oauth));
    }
    if op.id == "updatePermissionRole" {
        params.push(
            json!({ "name": "If-Match", "in": "header", "required": false,
            "schema": { "type": "string" },
            "description": "ETags of the role as read (or *); another version is 412" }),
        );
    }

    let mut responses = Map::new();
    let mut ok = json!({ "description": "Success" });
    if let Some(s) = op.ok.1 {
        ok["content"] = json_content(s);
    }
    let mut ok_headers = Map::new();
    if op.ok.1 == Some("PermissionRole") {
        ok_headers.insert(
            "ETag".into(),
            header(
                "The role's version, for If-Match",
                json!({ "type": "string" }),
                true,
            ),
        );
    }
    if matches!(op.id, "createBearerToken" | "createOauthClient") {
        ok_headers.insert(
            "Cache-Control".into(),
            header(
                "A secret is never cached",
                json!({ "type": "string", "const": "no-store" }),
                true,
            ),
        );
    }
    if op.id == "listOauthClients" {
        ok_headers.insert(
            "X-Total-Count".into(),
            header(
                "With count=true: the number of matches before paging",
                json!({ "type": "integer", "minimum": 0 }),
                false,
            ),
        );
    }
    if op.id == "getOpenApi" {
        ok_headers.insert(
            "ETag".into(),
            header(
                "The document's version, for If-None-Match",
                json!({ "type": "string" }),
                true,
            ),
        );
        params.push(
            json!({ "name": "If-None-Match", "in": "header", "required": false,
            "schema": { "type": "string" },
            "description": "ETags already held (or *); the current one is 304 with no body" }),
        );
        responses.insert(
            "304".into(),
            json!({ "description": "Not modified: the ETag sent is the current one",
                "headers": { "ETag": header("The document's version", json!({ "type": "string" }), true) } }),
        );
    }
    if !ok_headers.is_empty() {
        ok["headers"] = Value::Object(ok_headers);
    }
    if let Some(links) = links(op.id, path) {
        ok["links"] = links;
    }
    responses.insert(op.ok.0.to_string(), ok);

    if op.auth {
        let mut errs: Vec<(&str, String)> = Vec::new();
        // Baack answers 400 to a bad path URN; SailPoint's get and delete answer 404 to a
        // bad id.
        if op.body.is_some() || !op.query.is_empty() || (item && !oauth) {
            let mut d = "Invalid request: a field, parameter or body breaks a rule".to_string();
            if let Some(r) = op.rules {
                d = format!("{d}. {r}");
            }
            errs.push(("400", d));
        }
        errs.push((
            "401",
            "Missing, malformed, unknown or expired token, or its client cannot call the API"
                .into(),
        ));
        if op.managed && oauth {
            errs.push(("403", "The token lacks the permission".into()));
        }
        if op.managed && !oauth {
            errs.push((
                "404",
                "Not found, or the token lacks the permission (never revealed)".into(),
            ));
        } else if item {
            errs.push(("404", "Not found".into()));
        }
        if op.id == "updatePermissionRole" {
            errs.push((
                "412",
                "The role changed since the If-Match ETag was read".into(),
            ));
        }
        if op.body.is_some() {
            errs.push(("413", "Body over 1 MiB".into()));
        }
        errs.push((
            "429",
            "Rate limited; retry after Retry-After seconds".into(),
        ));
        errs.push(("500", "Internal error".into()));
        for (code, desc) in errs {
            let schema = match code {
                "401" if oauth => "OAuthUnauthorized",
                "429" if oauth => "RateLimited",
                _ => err_schema,
            };
            let mut r = json!({ "description": desc, "content": json_content(schema) });
            if code == "401" {
                r["headers"] = json!({ "WWW-Authenticate": header(
                    "RFC 6750",
                    json!({ "type": "string", "const": "Bearer error=\"invalid_token\"" }),
                    true,
                ) });
            }
            if code == "429" {
                r["headers"] = json!({ "Retry-After": header(
                    "Seconds until the window resets",
                    json!({ "type": "integer", "minimum": 1 }),
                    true,
                ) });
            }
            responses.insert(code.into(), r);
        }
    }
    let id = if alias == 0 {
        op.id.to_string()
    } else {
        format!("{}Alias{alias}", op.id)
    };
    let mut v = json!({
        "operationId": id,
        "summary": op.summary,
        "tags": [if oauth { "OAuth clients" } else { "Baack" }],
        "parameters": params,
        "responses": responses,
        "security": if op.auth { json!([{ "bearer": [] }]) } else { json!([]) },
    });
    if let Some(r) = op.rules {
        v["description"] = json!(r);
    }
    if let Some(b) = op.body {
        let media = if b == "JsonPatch" {
            json!({ "application/json-patch+json": { "schema": schema_ref(b) },
                    "application/json": { "schema": schema_ref(b) } })
        } else {
            json_content(b)
        };
        v["requestBody"] = json!({ "required": true, "content": media });
    }
    v
}

/// What a created object leads to: reading, changing and deleting it, at the spelling of
/// the path it was created at (`/n/v1/role/` leads to `/n/v1/role/{urn}`).
fn links(id: &str, collection: &str) -> Option<Value> {
    let key = match id {
        "createApiClient" | "createBearerToken" | "createPermissionRole" => "urn",
        "createOauthClient" => "id",
        _ => return None,
    };
    let item = format!("{}/{{{key}}}", collection.trim_end_matches('/'));
    let mut out = Map::new();
    for op in ops() {
        let Some(alias) = op.paths.iter().position(|p| *p == item) else {
            continue;
        };
        let name = match op.method {
            "get" => "Get",
            "put" | "patch" => "Update",
            "delete" => "Delete",
            _ => continue,
        };
        let op_id = if alias == 0 {
            op.id.to_string()
        } else {
            format!("{}Alias{alias}", op.id)
        };
        out.insert(
            name.into(),
            json!({ "operationId": op_id, "parameters": { key: format!("$response.body#/{key}") } }),
        );
    }
    Some(Value::Object(out))
}

/// The schemas: derived from the wire types (`crate::wire::schemas`), and `Any`.
fn schemas() -> Value {
    let mut m = Map::new();
    m.insert("Any".into(), json!({}));
    for (name, schema) in crate::wire::schemas() {
        // A derived schema always serialises.
        m.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    Value::Object(m)
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in ops() {
        for (i, p) in op.paths.iter().enumerate() {
            let entry = paths.entry(p.to_string()).or_insert_with(|| json!({}));
            entry[op.method] = operation(&op, p, i);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "baack",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Baack native API (/n/v1) and the SailPoint-style OAuth client API (/v3/oauth-clients), as served by `baack serve`. Unknown body fields are ignored; a null optional field means the same as an absent one."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        },
        "paths": paths,
    })
}

/// The document serialised, and its `ETag`: built on first use and kept, since it never
/// changes while the process runs (it was rebuilt per request, about 100 KB each time).
pub fn served() -> &'static (bytes::Bytes, String) {
    use sha2::{Digest, Sha256};
    static SERVED: std::sync::OnceLock<(bytes::Bytes, String)> = std::sync::OnceLock::new();
    SERVED.get_or_init(|| {
        // A `Value` always serialises; an empty document would only be a bug.
        let body = serde_json::to_vec(&document()).unwrap_or_default();
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        (bytes::Bytes::from(body), etag)
    })
}

/// Every (method, path) the document describes, methods in upper case.
pub fn documented_routes() -> Vec<(String, String)> {
    let doc = document();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (p, item) in paths {
            for m in item.as_object().into_iter().flat_map(|o| o.keys()) {
                out.push((m.to_ascii_uppercase(), p.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_routed_operation_is_documented_and_nothing_else() {
        let routed: BTreeSet<(String, String)> = super::super::route_list()
            .into_iter()
            .map(|(m, p)| (m.as_str().to_string(), p.to_string()))
            .collect();
        let documented: BTreeSet<(String, String)> = documented_routes().into_iter().collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(missing.is_empty(), "routed but not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    #[test]
    fn every_create_links_to_the_reads_changes_and_deletes_at_its_spelling() {
        let doc = document();
        let mut ids = BTreeSet::new();
        let mut by_id = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_string();
                ids.insert(id.clone());
                by_id.insert(id, path.clone());
            }
        }
        let mut links = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(post) = item.get("post") else {
                continue;
            };
            let ok = post["responses"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap()
                .1;
            let l = ok["links"].as_object().unwrap();
            assert_eq!(l.len(), 3, "{path}: {l:?}");
            for link in l.values() {
                let target = &by_id[link["operationId"].as_str().unwrap()];
                assert!(
                    target.starts_with(path.trim_end_matches('/')),
                    "{path} -> {target}"
                );
                links += 1;
            }
        }
        assert_eq!(links, 3 * 11);
        assert!(!ids.is_empty());
    }

    #[test]
    fn operation_ids_are_unique_and_schemas_resolve() {
        let doc = document();
        let text = doc.to_string();
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()));
            }
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "unresolved schema {name}");
        }
    }

    #[test]
    fn every_pattern_in_the_document_compiles() {
        fn walk(v: &Value, n: &mut usize) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(p)) = o.get("pattern") {
                        regex::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
                        *n += 1;
                    }
                    o.values().for_each(|v| walk(v, n));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, n)),
                _ => {}
            }
        }
        let mut n = 0;
        walk(&document(), &mut n);
        assert!(n > 50, "{n} patterns");
    }
}
