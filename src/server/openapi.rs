//! The OpenAPI 3 document served at `/openapi.json`: every operation the router serves,
//! aliases included. A test checks it against the router's own list of routes.

use serde_json::{Map, Value, json};

use crate::model::{ACCESS_TYPES, CLIENT_TYPES, GRANT_TYPES, MAX_VALIDITY, Permission, Scope};
use crate::service::{MAX_LIMIT, MAX_OAUTH_LIMIT};

/// One documented operation, at every path spelling it answers to.
struct Op {
    method: &'static str,
    paths: &'static [&'static str],
    id: &'static str,
    summary: &'static str,
    /// Schema name of the request body.
    body: Option<&'static str>,
    /// Success status and schema name (None: no body).
    ok: (u16, Option<&'static str>),
    query: &'static [(&'static str, &'static str)],
    /// Whether the operation requires a token.
    auth: bool,
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
        body: None,
        ok: (200, None),
        query: &[],
        auth: true,
    }
}

const CLIENT_Q: &[(&str, &str)] = &[
    ("limit", "integer"),
    ("cursor", "string"),
    ("clientID", "string"),
];
const TOKEN_Q: &[(&str, &str)] = &[
    ("limit", "integer"),
    ("cursor", "string"),
    ("apiClient", "string"),
];
const ROLE_Q: &[(&str, &str)] = &[
    ("limit", "integer"),
    ("cursor", "string"),
    ("name", "string"),
];
const OAUTH_Q: &[(&str, &str)] = &[
    ("filters", "string"),
    ("limit", "integer"),
    ("offset", "integer"),
    ("count", "boolean"),
];

fn ops() -> Vec<Op> {
    use super::{CLIENT, CLIENTS, OAUTH, OAUTHS, ROLE, ROLES, TOKEN, TOKENS};
    vec![
        Op {
            ok: (200, Some("Any")),
            auth: false,
            ..op("get", &["/openapi.json"], "getOpenApi", "This document")
        },
        Op {
            ok: (200, Some("ClientContext")),
            ..op(
                "get",
                &["/n/v1/clientcontext"],
                "getClientContext",
                "Who the token is: its client, company and permissions",
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
            ..op(
                "put",
                CLIENT,
                "updateApiClient",
                "Replace an API client's clientID and scope",
            )
        },
        Op {
            ok: (200, Some("Status")),
            ..op(
                "delete",
                CLIENT,
                "deleteApiClient",
                "Delete an API client, its tokens and its role memberships",
            )
        },
        Op {
            body: Some("BearerTokenInput"),
            ok: (201, Some("BearerToken")),
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
            ..op(
                "put",
                ROLE,
                "updatePermissionRole",
                "Replace a permission role (grant it to clients); If-Match makes it safe against concurrent changes (412)",
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
            ok: (200, Some("OAuthClient")),
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

fn content(schema: &str, media: &str) -> Value {
    json!({ media: { "schema": schema_ref(schema) } })
}

fn operation(op: &Op, path: &str, alias: usize) -> Value {
    let oauth = !path.starts_with("/n/") && path != "/openapi.json";
    let err_schema = if oauth { "SailPointError" } else { "Status" };
    let mut params: Vec<Value> = Vec::new();
    for name in ["urn", "id"] {
        if path.contains(&format!("{{{name}}}")) {
            let schema = if name == "urn" {
                json!({ "type": "string", "format": "uuid" })
            } else {
                json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" })
            };
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": schema }));
        }
    }
    for (name, ty) in op.query {
        let schema = match (*name, oauth) {
            ("limit", false) => json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT }),
            ("limit", true) => {
                json!({ "type": "integer", "minimum": 0, "maximum": MAX_OAUTH_LIMIT })
            }
            ("offset", _) => json!({ "type": "integer", "minimum": 0 }),
            ("apiClient", _) => json!({ "type": "string", "format": "uuid" }),
            _ => json!({ "type": ty }),
        };
        params.push(json!({ "name": name, "in": "query", "required": false, "schema": schema }));
    }
    if op.id == "updatePermissionRole" {
        params.push(
            json!({ "name": "If-Match", "in": "header", "required": false,
            "schema": { "type": "string" }, "description": "The ETag of the role as read" }),
        );
    }
    let mut responses = Map::new();
    let ok_desc = "Success";
    responses.insert(
        op.ok.0.to_string(),
        match op.ok.1 {
            Some(s) => json!({ "description": ok_desc, "content": content(s, "application/json") }),
            None => json!({ "description": ok_desc }),
        },
    );
    if op.auth {
        let mut errs = vec![
            ("400", "Invalid request"),
            ("401", "Missing, malformed, unknown or expired token"),
            ("404", "Not found, or the token lacks the permission"),
            ("429", "Rate limited; see Retry-After"),
            ("500", "Internal error"),
        ];
        if oauth {
            errs.push(("403", "The token lacks the permission"));
        }
        if op.body.is_some() {
            errs.push(("413", "Body over 1 MiB"));
        }
        if op.id == "updatePermissionRole" {
            errs.push(("412", "The role changed since the If-Match ETag was read"));
        }
        for (code, desc) in errs {
            let schema = match code {
                "401" if oauth => "OAuthUnauthorized",
                "429" if oauth => "RateLimited",
                _ => err_schema,
            };
            responses.insert(
                code.into(),
                json!({ "description": desc, "content": content(schema, "application/json") }),
            );
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
    });
    if !op.auth {
        v["security"] = json!([]);
    }
    if let Some(b) = op.body {
        let media = if b == "JsonPatch" {
            json!({ "application/json-patch+json": { "schema": schema_ref(b) },
                    "application/json": { "schema": schema_ref(b) } })
        } else {
            content(b, "application/json")
        };
        v["requestBody"] = json!({ "required": true, "content": media });
    }
    v
}

fn schemas() -> Value {
    let urn = json!({ "type": "string", "format": "uuid" });
    let reference = json!({ "type": "object", "required": ["urn"],
        "properties": { "urn": urn, "url": { "type": "string" } } });
    let reference_out = json!({ "type": "object", "required": ["urn", "url"],
        "properties": { "urn": urn, "url": { "type": "string" } } });
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^\\x00-\\x1f\\x7f]+$" });
    let scope = json!({ "type": "string", "enum": Scope::ALL });
    let perms = json!({ "type": "array", "items": { "type": "string", "enum": Permission::ALL } });
    let refs = json!({ "type": "array", "items": reference });
    let ts = json!({ "type": "string", "example": "2026-07-04T14:34:19.610" });
    let validity = json!({ "type": "integer", "minimum": 1, "maximum": MAX_VALIDITY });
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let message = json!({ "type": "object", "properties": {
        "locale": { "type": "string" }, "localeOrigin": { "type": "string" }, "text": { "type": "string" } } });
    let oauth_props = json!({
        "businessName": { "type": ["string", "null"] },
        "homepageUrl": { "type": ["string", "null"], "format": "uri" },
        "name": { "type": "string", "minLength": 1, "pattern": "\\S" },
        "description": { "type": "string" },
        "accessTokenValiditySeconds": validity,
        "refreshTokenValiditySeconds": validity,
        "redirectUris": { "type": "array", "items": { "type": "string", "format": "uri" } },
        "grantTypes": { "type": "array", "minItems": 1, "uniqueItems": true,
                        "items": { "type": "string", "enum": GRANT_TYPES } },
        "accessType": { "type": "string", "enum": ACCESS_TYPES },
        "type": { "type": "string", "enum": CLIENT_TYPES },
        "internal": { "type": "boolean" },
        "enabled": { "type": "boolean" },
        "strongAuthSupported": { "type": "boolean" },
        "claimsSupported": { "type": "boolean" },
        "scope": strings,
    });
    let mut oauth_out = oauth_props.clone();
    if let Some(o) = oauth_out.as_object_mut() {
        o.insert(
            "id".into(),
            json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" }),
        );
        o.insert("secret".into(), json!({ "type": ["string", "null"] }));
        o.insert(
            "created".into(),
            json!({ "type": "string", "format": "date-time" }),
        );
        o.insert(
            "modified".into(),
            json!({ "type": "string", "format": "date-time" }),
        );
        o.insert(
            "lastUsed".into(),
            json!({ "type": ["string", "null"], "format": "date-time" }),
        );
        o.insert("metadata".into(), json!({ "type": ["object", "null"] }));
    }
    json!({
        "Any": {},
        "Status": { "type": "object", "required": ["httpCode", "apiCode"], "properties": {
            "httpCode": { "type": "integer" }, "apiCode": { "type": "string" }, "detail": { "type": "string" } } },
        "Reference": reference,
        "Company": { "type": "object", "required": ["urn", "url", "name"], "properties": {
            "urn": urn, "url": { "type": "string" }, "name": { "type": "string" } } },
        "CompanyList": { "type": "object", "required": ["companies", "nextPage"], "properties": {
            "companies": { "type": "array", "items": reference_out }, "nextPage": { "type": ["string", "null"] } } },
        "ClientContext": { "type": "object", "required": ["hasBearer", "client", "owner", "permissions"], "properties": {
            "hasBearer": { "type": "boolean" }, "client": schema_ref("ApiClient"),
            "owner": schema_ref("Company"), "permissions": perms } },
        "ApiClientInput": { "type": "object", "required": ["scope", "owner", "clientID"], "properties": {
            "scope": scope, "owner": reference, "clientID": name } },
        "ApiClientUpdate": { "type": "object", "required": ["scope", "clientID"], "properties": {
            "scope": scope, "clientID": name } },
        "ApiClient": { "type": "object", "required": ["urn", "url", "scope", "owner", "clientID"], "properties": {
            "urn": urn, "url": { "type": "string" }, "scope": scope, "owner": reference_out, "clientID": { "type": "string" } } },
        "ApiClientList": { "type": "object", "required": ["apiClients", "nextPage"], "properties": {
            "apiClients": { "type": "array", "items": schema_ref("ApiClient") }, "nextPage": { "type": ["string", "null"] } } },
        "BearerTokenInput": { "type": "object", "required": ["apiClient"], "properties": {
            "apiClient": reference, "expirationTimestamp": ts } },
        "BearerTokenUpdate": { "type": "object", "properties": { "expirationTimestamp": ts } },
        "BearerToken": { "type": "object", "required": ["urn", "url", "apiClient", "bearerToken"], "properties": {
            "urn": urn, "url": { "type": "string" }, "apiClient": reference_out,
            "bearerToken": { "type": "string" }, "expirationTimestamp": ts } },
        "BearerTokenList": { "type": "object", "required": ["bearerTokens", "nextPage"], "properties": {
            "bearerTokens": { "type": "array", "items": schema_ref("BearerToken") }, "nextPage": { "type": ["string", "null"] } } },
        "PermissionRoleInput": { "type": "object", "required": ["name", "owner"], "properties": {
            "name": name, "owner": reference, "identities": refs, "clients": refs, "permissions": perms } },
        "PermissionRoleUpdate": { "type": "object", "required": ["name"], "properties": {
            "name": name, "identities": refs, "clients": refs, "permissions": perms } },
        "PermissionRole": { "type": "object", "required": ["urn", "url", "name", "owner", "identities", "clients", "permissions"], "properties": {
            "urn": urn, "url": { "type": "string" }, "name": { "type": "string" }, "owner": reference_out,
            "identities": { "type": "array", "items": reference }, "clients": { "type": "array", "items": reference_out },
            "permissions": perms } },
        "PermissionRoleList": { "type": "object", "required": ["permissionRoles", "nextPage"], "properties": {
            "permissionRoles": { "type": "array", "items": schema_ref("PermissionRole") }, "nextPage": { "type": ["string", "null"] } } },
        "OAuthClientInput": { "type": "object",
            "required": ["name", "description", "accessTokenValiditySeconds", "grantTypes", "accessType", "enabled"],
            "properties": oauth_props },
        "OAuthClient": { "type": "object", "required": ["id", "name", "created", "modified"], "properties": oauth_out },
        "OAuthClientList": { "type": "array", "items": schema_ref("OAuthClient") },
        "JsonPatch": { "type": "array", "items": { "type": "object", "required": ["op", "path"], "properties": {
            "op": { "type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"] },
            "path": { "type": "string" }, "from": { "type": "string" }, "value": {} } } },
        "SailPointError": { "type": "object", "required": ["detailCode", "trackingId", "messages"], "properties": {
            "detailCode": { "type": "string" }, "trackingId": { "type": "string" },
            "messages": { "type": "array", "items": message }, "causes": { "type": "array", "items": message } } },
        "OAuthUnauthorized": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
        "RateLimited": { "type": "object", "properties": { "message": { "type": "string" } } },
    })
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
            "description": "The Baack native API (/n/v1) and the SailPoint-style OAuth client API (/v3/oauth-clients), as served by `baack serve`."
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
}
