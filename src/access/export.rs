//! `baack export`: a manifest of what exists, with no secret, written item by item as the
//! snapshot is walked (never built whole), such that `export | plan -f -` has nothing to
//! do. Fields at their defaults are left out, as a person would write the file. Token
//! policies are not exported: a policy names a secret file that only its writer has.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::plan::Snapshot;
use crate::error::{Error, Result};

/// The OAuth fields at these values are the manifest's defaults, so left out.
fn is_default(k: &str, v: &Value) -> bool {
    match k {
        "refreshTokenValiditySeconds" => v == 86_400,
        "type" => v == "CONFIDENTIAL",
        "redirectUris" => v.as_array().is_some_and(Vec::is_empty),
        "businessName" | "homepageUrl" => v.is_null() || v == "",
        "internal" | "strongAuthSupported" | "claimsSupported" => v == false,
        "scope" => *v == json!(["sp:scopes:all"]),
        _ => false,
    }
}

/// The OAuth fields a manifest sets, in the order the export writes them.
const OAUTH_FIELDS: [&str; 15] = [
    "name",
    "description",
    "grantTypes",
    "accessType",
    "accessTokenValiditySeconds",
    "refreshTokenValiditySeconds",
    "enabled",
    "type",
    "redirectUris",
    "businessName",
    "homepageUrl",
    "internal",
    "strongAuthSupported",
    "claimsSupported",
    "scope",
];

fn item(out: &mut dyn Write, v: &Value) -> Result<()> {
    let y = serde_yaml_ng::to_string(&[v])
        .map_err(|e| Error::Internal(format!("cannot render YAML: {e}")))?;
    for l in y.lines() {
        writeln!(out, "  {l}").map_err(io)?;
    }
    Ok(())
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!("cannot write the export: {e}"))
}

/// Writes the manifest of `s` to `out`; returns the warnings (names the manifest cannot
/// hold twice).
pub fn export(s: &Snapshot, out: &mut dyn Write) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    writeln!(
        out,
        "# baack export: what exists, no secrets. Token policies are not exported;"
    )
    .map_err(io)?;
    writeln!(
        out,
        "# add them under `tokens:`, each with the secretFile that keeps its token."
    )
    .map_err(io)?;
    let mut ids: Vec<&String> = s.clients.keys().collect();
    ids.sort();
    writeln!(out, "clients:{}", if ids.is_empty() { " []" } else { "" }).map_err(io)?;
    for id in ids {
        let c = &s.clients[id];
        let mut v = json!({ "clientID": c.client_id });
        if c.scope != super::manifest::DEFAULT_SCOPE {
            v["scope"] = c.scope.clone().into();
        }
        item(out, &v)?;
    }
    let mut names: Vec<&String> = s.roles.keys().collect();
    names.sort();
    writeln!(out, "roles:{}", if names.is_empty() { " []" } else { "" }).map_err(io)?;
    for n in names {
        let r = &s.roles[n];
        let mut members: Vec<&str> = r
            .clients
            .iter()
            .filter_map(|u| s.client_ids.get(u).map(String::as_str))
            .collect();
        members.sort();
        members.dedup();
        item(
            out,
            &json!({ "name": r.name, "permissions": r.permissions, "clients": members }),
        )?;
    }
    let mut oauth: Vec<_> = s.oauth.iter().collect();
    oauth.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    writeln!(
        out,
        "oauthClients:{}",
        if oauth.is_empty() { " []" } else { "" }
    )
    .map_err(io)?;
    for (i, o) in oauth.iter().enumerate() {
        if i > 0 && oauth[i - 1].name == o.name {
            warnings.push(format!(
                "several OAuth clients are named `{}`: a manifest names each once, so rename all but one before planning from this export",
                o.name
            ));
        }
        let mut m = Map::new();
        for k in OAUTH_FIELDS {
            if let Some(v) = o.fields.get(k)
                && !is_default(k, v)
            {
                m.insert(k.to_string(), v.clone());
            }
        }
        item(out, &Value::Object(m))?;
    }
    writeln!(out, "tokens: []").map_err(io)?;
    out.flush().map_err(io)?;
    warnings.dedup();
    Ok(warnings)
}
