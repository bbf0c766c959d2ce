//! The rules of the request bodies, read through the wire types: the OAuth create rules
//! and their defaults, names, URNs and redirect URIs (moved here with the parsers from
//! `model`).

#[cfg(test)]
mod rules {
    use crate::error::Error;
    use crate::model::*;
    use crate::wire::oauth::parse_oauth;
    use serde_json::{Value, json};

    fn seed_002() -> Value {
        json!({
            "businessName": "Acme-Solar",
            "homepageUrl": "http://localhost:12345",
            "name": "Demo API Client",
            "description": "An API client used for the authorization_code, refresh_token, and client_credentials flows",
            "accessTokenValiditySeconds": 750,
            "refreshTokenValiditySeconds": 86400,
            "redirectUris": ["http://localhost:12345"],
            "grantTypes": ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
            "accessType": "OFFLINE",
            "type": "CONFIDENTIAL",
            "internal": false,
            "enabled": true,
            "strongAuthSupported": false,
            "claimsSupported": false,
            "scope": ["demo:api-client-scope:first", "demo:api-client-scope:second"]
        })
    }

    #[test]
    fn seed_002_body_is_valid() {
        let f = parse_oauth(&seed_002()).unwrap();
        assert_eq!(f.access_token_validity_seconds, 750);
        assert_eq!(f.scope.len(), 2);
    }

    #[test]
    fn oauth_defaults_apply() {
        let f = parse_oauth(&json!({
            "name": "n", "description": "d", "accessTokenValiditySeconds": 60,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true
        }))
        .unwrap();
        assert_eq!(f.refresh_token_validity_seconds, 86400);
        assert_eq!(f.client_type, "CONFIDENTIAL");
        assert_eq!(f.scope, vec!["sp:scopes:all"]);
        assert!(f.redirect_uris.is_empty());
        assert!(!f.claims_supported);
    }

    fn broken(patch: Value, cause: &str) {
        let mut body = seed_002();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        match parse_oauth(&body) {
            Err(Error::InvalidMany(causes)) => assert!(
                causes.iter().any(|c| c.contains(cause)),
                "{causes:?} should mention {cause}"
            ),
            other => panic!("expected a rule break naming {cause}, got {other:?}"),
        }
    }

    #[test]
    fn every_oauth_rule_is_enforced_and_named() {
        broken(json!({"grantTypes": []}), "grantTypes");
        broken(json!({"grantTypes": ["IMPLICIT"]}), "IMPLICIT");
        broken(
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "CLIENT_CREDENTIALS"]}),
            "twice",
        );
        broken(
            json!({"grantTypes": ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"]}),
            "REFRESH_TOKEN is allowed only",
        );
        broken(
            json!({"redirectUris": []}),
            "needs at least one redirect URI",
        );
        broken(json!({"redirectUris": ["http://example.com/cb"]}), "https");
        broken(
            json!({"redirectUris": ["https://x.example/cb#f"]}),
            "fragment",
        );
        broken(json!({"redirectUris": ["/relative"]}), "absolute");
        broken(json!({"accessType": "SOMETIMES"}), "accessType");
        broken(json!({"type": "SECRET"}), "type");
        broken(
            json!({"type": "PUBLIC", "grantTypes": ["CLIENT_CREDENTIALS"]}),
            "PUBLIC client cannot",
        );
        broken(
            json!({"accessTokenValiditySeconds": 0}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"refreshTokenValiditySeconds": 31536001}),
            "refreshTokenValiditySeconds",
        );
        broken(json!({"homepageUrl": "acme.example"}), "homepageUrl");
        broken(json!({"name": null}), "name is required");
        broken(json!({"enabled": "yes"}), "enabled must be true or false");
    }

    #[test]
    fn validities_are_whole_numbers_however_spelled() {
        for (v, want) in [(json!(750), 750), (json!(750.0), 750), (json!(7.5e2), 750)] {
            let mut body = seed_002();
            body["accessTokenValiditySeconds"] = v.clone();
            body["refreshTokenValiditySeconds"] = v.clone();
            let f = parse_oauth(&body).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(f.access_token_validity_seconds, want);
            assert_eq!(f.refresh_token_validity_seconds, want);
        }
        broken(
            json!({"accessTokenValiditySeconds": 750.5}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"accessTokenValiditySeconds": 1e300}),
            "accessTokenValiditySeconds",
        );
        broken(
            json!({"accessTokenValiditySeconds": "750"}),
            "accessTokenValiditySeconds",
        );
    }

    #[test]
    fn loopback_http_redirects_are_allowed() {
        for ok in [
            "http://localhost:1/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/",
            "http://localhost:/",
            "http://localhost:065535/",
            "https://[fe80::1:2]/",
            "https://[::ffff:1.2.3.4]:443/",
            "https://a.example/x?y=1&z=[1]",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://[::1]evil.example/",
            "http://[::1]:x/",
            "http://localhost:http/",
            "http://localhost:65536/",
            "https://[x]/",
            "https://[1.2.3.4]/",
            "https://a]b/",
            "https://a[b/",
            "https://[::1@evil.example/",
            "http://evil.example\\@localhost/cb",
            "http://evil.example\\@127.0.0.1/",
            "http://localhost@evil.example/",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_body_rules() {
        let owner = json!({"Urn": "6f97bac3-26fe-4333-91f0-f12af2d1d167"});
        let ok = ClientInput::parse(
            &json!({"owner": owner, "scope": "api.baack.co", "clientID": "Android"}),
            true,
        )
        .unwrap();
        assert_eq!(
            ok.owner.as_deref(),
            Some("6f97bac3-26fe-4333-91f0-f12af2d1d167")
        );
        let e = ClientInput::parse(&json!({"owner": owner, "scope": "api.baack.co"}), true)
            .unwrap_err();
        assert!(matches!(e, Error::MissingField(f) if f == "clientID"));
        let e = ClientInput::parse(
            &json!({"owner": owner, "scope": "x", "clientID": "a"}),
            true,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Invalid { field, .. } if field == "scope"));
        let long = "x".repeat(129);
        let e = ClientInput::parse(
            &json!({"owner": owner, "scope": "api.baack.co", "clientID": long}),
            true,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Invalid { field, .. } if field == "clientID"));
    }

    #[test]
    fn names_keep_every_rule_of_api_md() {
        let owner = json!({"urn": "6f97bac3-26fe-4333-91f0-f12af2d1d167"});
        let client = |id: &str| {
            ClientInput::parse(
                &json!({"owner": owner, "scope": "api.baack.co", "clientID": id}),
                true,
            )
        };
        let role = |name: &str| RoleInput::parse(&json!({"owner": owner, "name": name}), true);
        for (id, why) in [
            ("root\u{200b}", "U+200B (a format character)"),
            ("\u{202e}diordnA", "U+202E (a format character)"),
            ("a\u{feff}b", "U+FEFF"),
            ("soft\u{ad}hyphen", "U+00AD (a format character)"),
            (
                "hangul\u{3164}filler",
                "U+3164 (an invisible (default-ignorable) character)",
            ),
            ("mongolian\u{180e}vs", "U+180E"),
            (
                "cgj\u{34f}x",
                "U+034F (an invisible (default-ignorable) character)",
            ),
            ("line\u{2028}sep", "U+2028 (a line separator)"),
            ("para\u{2029}sep", "U+2029 (a paragraph separator)"),
            ("tag\u{e0041}", "U+E0041 (a format character)"),
            ("private\u{e000}", "U+E000 (a private-use character)"),
            ("unassigned\u{10ffff}", "U+10FFFF"),
            ("tab\there", "U+0009 (a control character)"),
            (" lead", "white space"),
            ("trail ", "white space"),
            ("trail\u{3000}", "white space"),
            ("", "1 to 128"),
            ("6F97BAC3-26FE-4333-91F0-F12AF2D1D167", "reads as a URN"),
            ("6f97bac3-26fe-4333-91f0-f12af2d1d167", "reads as a URN"),
        ] {
            for e in [client(id).unwrap_err(), role(id).unwrap_err()] {
                let msg = e.to_string();
                assert!(matches!(&e, Error::Invalid { .. }), "{id:?}: {e:?}");
                assert!(msg.contains(why), "{id:?}: {msg} should say {why}");
            }
        }
        assert!(client(&"x".repeat(129)).is_err());
        assert_eq!(
            client(&"é".repeat(128)).unwrap().client_id.chars().count(),
            128
        );
        // Stored NFC: a decomposed é is stored composed.
        let c = client("Zoe\u{301} 🚀").unwrap();
        assert_eq!(c.client_id, "Zo\u{e9} 🚀");
        assert_eq!(role("Cafe\u{301}").unwrap().name, "Caf\u{e9}");
        // An OAuth name keeps the same rules as a cause (a URN is a fine OAuth name).
        for (name, why) in [
            ("a\u{ad}b", "U+00AD"),
            (" x", "white space"),
            ("x\u{3164}", "U+3164"),
        ] {
            let mut body = seed_002();
            body["name"] = name.into();
            match parse_oauth(&body) {
                Err(Error::InvalidMany(c)) => {
                    assert!(
                        c.iter().any(|c| c.starts_with("name ") && c.contains(why)),
                        "{c:?}"
                    )
                }
                other => panic!("{name:?}: {other:?}"),
            }
        }
        let mut body = seed_002();
        body["name"] = "Cafe\u{301}".into();
        assert_eq!(parse_oauth(&body).unwrap().name, "Caf\u{e9}");
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        assert_eq!(skeleton("\u{410}ndroid"), skeleton("Android"));
        assert_eq!(skeleton("r\u{43e}\u{43e}t"), skeleton("root"));
        assert_ne!(skeleton("Android"), skeleton("iOS"));
    }

    #[test]
    fn urns_are_normalised() {
        assert_eq!(
            parse_urn("6F97BAC3-26FE-4333-91F0-F12AF2D1D167").as_deref(),
            Some("6f97bac3-26fe-4333-91f0-f12af2d1d167")
        );
        assert_eq!(parse_urn("6f97bac326fe433391f0f12af2d1d167"), None);
        assert_eq!(parse_urn("nope"), None);
    }
}

/// Pins that mutation testing found missing: the exact validity bounds and the http arm of
/// the redirect rule (kept apart from `tests` so parallel edits there merge cleanly).
#[cfg(test)]
mod mutation_pins {
    use crate::error::Error;
    use crate::model::*;
    use crate::wire::oauth::parse_oauth;
    use serde_json::{Value, json};

    fn body(access_validity: Value) -> Value {
        json!({
            "name": "n", "description": "d", "accessType": "OFFLINE", "enabled": true,
            "grantTypes": ["CLIENT_CREDENTIALS"],
            "accessTokenValiditySeconds": access_validity,
        })
    }

    fn causes(body: &Value) -> Vec<String> {
        match parse_oauth(body) {
            Ok(_) => Vec::new(),
            Err(Error::InvalidMany(c)) => c,
            Err(e) => panic!("{body}: {e}"),
        }
    }

    #[test]
    fn validity_bounds_are_exactly_1_to_31536000() {
        for ok in [1, 2, 31_535_999, 31_536_000] {
            let f = parse_oauth(&body(json!(ok))).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(f.access_token_validity_seconds, ok);
        }
        for bad in [0, -1, 31_536_001, i64::MAX] {
            assert_eq!(
                causes(&body(json!(bad))),
                [format!(
                    "accessTokenValiditySeconds must be an integer from 1 to 31536000, not {bad}"
                )],
            );
        }
        let mut refresh = body(json!(60));
        refresh["refreshTokenValiditySeconds"] = json!(31_536_001);
        assert_eq!(
            causes(&refresh),
            ["refreshTokenValiditySeconds must be an integer from 1 to 31536000, not 31536001"]
        );
        refresh["refreshTokenValiditySeconds"] = json!(31_536_000);
        assert!(causes(&refresh).is_empty());
    }

    #[test]
    fn an_out_of_range_validity_is_named_beside_type_errors() {
        // Rule checks are skipped when a field has the wrong type, so the range check of
        // the parse itself is the only one that names the bad validity here.
        for bad in [json!(0), json!(31_536_001), json!(0.0)] {
            let mut b = body(bad.clone());
            b["enabled"] = json!("yes");
            assert_eq!(
                causes(&b),
                [
                    format!(
                        "accessTokenValiditySeconds must be an integer from 1 to 31536000, not {bad}"
                    ),
                    "enabled must be true or false, not \"yes\"".to_string(),
                ],
            );
        }
    }

    #[test]
    fn a_token_stops_working_at_its_expiry_exactly() {
        let t = |expires| BearerToken {
            last_used: None,
            rev: None,
            retire: None,
            urn: String::new(),
            client: String::new(),
            digest: String::new(),
            shown: String::new(),
            expires,
            created: 0,
            description: None,
        };
        assert!(t(None).is_live(i64::MAX));
        assert!(t(Some(1_000)).is_live(999));
        assert!(
            !t(Some(1_000)).is_live(1_000),
            "expired at its expiry instant"
        );
        assert!(!t(Some(1_000)).is_live(1_001));
    }

    #[test]
    fn scopes_and_permissions_spell_as_the_wire_does() {
        // The wire spellings are the serde names; `as_str` and `parse` must agree.
        for (scope, wire) in [
            (Scope::Api, "api.baack.co"),
            (Scope::Webhook, "webhook.baack.co"),
        ] {
            assert_eq!(scope.as_str(), wire);
            assert_eq!(Scope::parse(wire), Some(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), json!(wire));
        }
        assert_eq!(
            Scope::ALL.map(|s| Scope::parse(s).map(Scope::as_str)),
            Scope::ALL.map(Some)
        );
        for (p, wire) in [
            (Permission::Administer, "ADMINISTER"),
            (Permission::Read, "READ"),
            (Permission::ViewContent, "VIEW_CONTENT"),
        ] {
            assert_eq!(p.as_str(), wire);
            assert_eq!(Permission::parse(wire), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(wire));
        }
        assert_eq!(Scope::parse("API.BAACK.CO"), None);
        assert_eq!(Permission::parse("read"), None);
    }

    #[test]
    fn http_redirects_are_for_loopback_only_and_say_so() {
        for ok in [
            "http://localhost/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "http://127.0.0.2/cb",
            "http://localhost.example/",
        ] {
            assert_eq!(
                check_redirect_uri(bad),
                Err("must use https (http only on localhost, 127.0.0.1 or [::1])"),
                "{bad}"
            );
        }
        assert_eq!(
            check_redirect_uri("ftp://example.com/"),
            Err("must be an https URL")
        );
        assert_eq!(check_redirect_uri("https://example.com/cb"), Ok(()));
    }

    #[test]
    fn role_references_are_kept_in_order_once_each_and_absent_means_none() {
        let a = "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8";
        let b = "6f97bac3-26fe-4333-91f0-f12af2d1d167";
        let owner = json!({"urn": b});
        let r = RoleInput::parse(
            &json!({"name": "r", "owner": owner,
                    "clients": [{"urn": a}, {"Urn": b}, {"urn": a}],
                    "identities": [{"urn": b}]}),
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.clients, [a, b]);
        assert_eq!(r.identities, [b]);
        let r = RoleInput::parse(&json!({"name": "r", "owner": owner}), true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.clients.is_empty() && r.identities.is_empty());
        let e = RoleInput::parse(&json!({"name": "r", "owner": owner, "clients": "x"}), true);
        assert!(
            matches!(e, Err(Error::Invalid { ref field, .. }) if field == "clients"),
            "{e:?}"
        );
    }

    #[test]
    fn a_list_of_strings_with_another_member_is_refused() {
        let mut b = body(json!(60));
        b["redirectUris"] = json!(["https://example.com/cb", 7]);
        assert_eq!(causes(&b), ["redirectUris must be a list of strings"]);
        b["redirectUris"] = json!(["https://example.com/cb"]);
        let f = parse_oauth(&b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.redirect_uris, ["https://example.com/cb"]);
    }
}

/// The derived schemas and parameters say what the hand-written document said before
/// issue 13 (saved in `testdata/`), `$ref`s resolved, up to the differences listed.
#[cfg(test)]
mod document {
    use serde_json::{Map, Value};

    /// `v` with every `$ref` replaced by its schema and every `description` dropped (the
    /// derive writes the doc comments there; the old document had none).
    fn resolve(v: &Value, comps: &Map<String, Value>) -> Value {
        match v {
            Value::Object(o) => {
                let o: Map<String, Value> = o
                    .iter()
                    .filter(|(k, _)| *k != "description")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let (1, Some(Value::String(r))) = (o.len(), o.get("$ref")) {
                    let name = r.rsplit('/').next().unwrap_or_default();
                    return resolve(&comps[name], comps);
                }
                Value::Object(
                    o.iter()
                        .map(|(k, v)| (k.clone(), resolve(v, comps)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, comps)).collect()),
            v => v.clone(),
        }
    }

    #[test]
    fn the_schemas_say_what_the_hand_written_document_said() {
        // The hand-written document as it was served, before the derivation.
        let old: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/openapi-old.json")).unwrap();
        let old = old["components"]["schemas"].as_object().unwrap().clone();
        let new = serde_json::to_value(crate::server::openapi::document()).unwrap();
        let new = new["components"]["schemas"].as_object().unwrap().clone();
        let mut old_r = Map::new();
        for (k, v) in &old {
            old_r.insert(k.clone(), resolve(v, &old));
        }
        // What changed on purpose: a 5xx status body's trackingId is documented now, and
        // OpenAPI 3.1's `examples` replaces the deprecated `example`.
        old_r["Status"]["properties"]["trackingId"] =
            serde_json::json!({"type": "string", "pattern": "^[0-9a-f]{32}$"});
        for body in ["BearerTokenInput", "BearerTokenUpdate"] {
            let ts = &mut old_r[body]["properties"]["expirationTimestamp"];
            let example = ts.as_object_mut().unwrap().remove("example").unwrap();
            ts["examples"] = Value::Array(vec![example]);
        }
        // Issue 16's additions: last use on clients and tokens, a token's creation time
        // and idle rule, wherever a client or a token is embedded.
        let new_r: Map<String, Value> = new
            .iter()
            .map(|(k, v)| (k.clone(), resolve(v, &new)))
            .collect();
        let added = |shape: &str, fields: &[&str]| -> Vec<(String, Value)> {
            fields
                .iter()
                .map(|f| (f.to_string(), new_r[shape]["properties"][f].clone()))
                .collect()
        };
        let client_fields = added("ApiClient", &["lastUsed"]);
        let token_fields = added(
            "BearerToken",
            &["created", "lastUsed", "idleTimeoutSeconds"],
        );
        fn add(v: &mut Value, client: &[(String, Value)], token: &[(String, Value)]) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::Object(p)) = o.get_mut("properties") {
                        let fields = if p.contains_key("clientID") && p.contains_key("url") {
                            client
                        } else if p.contains_key("bearerToken") && p.contains_key("url") {
                            token
                        } else {
                            &[]
                        };
                        for (k, s) in fields {
                            p.insert(k.clone(), s.clone());
                        }
                    }
                    for (_, c) in o.iter_mut() {
                        add(c, client, token);
                    }
                }
                Value::Array(a) => a.iter_mut().for_each(|c| add(c, client, token)),
                _ => {}
            }
        }
        for (_, v) in old_r.iter_mut() {
            add(v, &client_fields, &token_fields);
        }
        // A token's PUT takes the two fields of a rotation's retirement.
        for f in ["idleTimeoutSeconds", "replacedBy"] {
            old_r["BearerTokenUpdate"]["properties"][f] =
                new_r["BearerTokenUpdate"]["properties"][f].clone();
        }
        // Issue 17: an OAuth client shows no `businessName` or `homepageUrl` as `""`, never
        // null (SailPoint's SDK declares them strings), and a body may send that `""` back.
        fn shown(v: &mut Value, input: &Value, shown_as: &Value) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::Object(p)) = o.get_mut("properties")
                        && p.contains_key("businessName")
                    {
                        // A body's fields may be null; a representation's have `secret`.
                        let from = if p.contains_key("secret") {
                            shown_as
                        } else {
                            input
                        };
                        for f in ["businessName", "homepageUrl"] {
                            p.insert(f.into(), from[f].clone());
                        }
                    }
                    o.values_mut().for_each(|c| shown(c, input, shown_as));
                }
                Value::Array(a) => a.iter_mut().for_each(|c| shown(c, input, shown_as)),
                _ => {}
            }
        }
        let input = new_r["OAuthClientInput"]["properties"].clone();
        let shown_as = new_r["OAuthClient"]["properties"].clone();
        for (_, v) in old_r.iter_mut() {
            shown(v, &input, &shown_as);
        }
        for (name, want) in &old_r {
            if name == "Any" {
                continue; // no body has it: the document, not the wire, may want it
            }
            let got = new.get(name).unwrap_or_else(|| panic!("no schema {name}"));
            assert_eq!(&resolve(got, &new), want, "{name}");
        }
    }
}

/// `filters` of the OAuth list: each form of SailPoint's grammar that the server takes,
/// what it selects, and the 400 cause of each way to get it wrong.
mod filters {
    use crate::clock::parse_timestamp;
    use crate::error::Error;
    use crate::model::{Cmp, OAuthClient, OAuthFilter};
    use crate::wire::oauth::{parse_filters, parse_oauth};
    use serde_json::json;

    fn ms(s: &str) -> i64 {
        parse_timestamp(s).unwrap()
    }

    fn parsed(s: &str) -> OAuthFilter {
        parse_filters(Some(s)).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn cause(s: &str) -> String {
        match parse_filters(Some(s)) {
            Err(Error::BadRequest(m)) => m,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn client(last_used: Option<&str>) -> OAuthClient {
        let body = json!({"name": "n", "description": "d", "accessTokenValiditySeconds": 60,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true});
        OAuthClient {
            id: "0".repeat(32),
            secret_digest: String::new(),
            fields: parse_oauth(&body).unwrap(),
            created: 0,
            modified: 0,
            last_used: last_used.map(ms),
            rev: None,
            owner: None,
            previous_secret: None,
        }
    }

    #[test]
    fn nothing_is_every_client() {
        for s in ["", "  ", "\t\u{3000}"] {
            assert_eq!(parsed(s), OAuthFilter::All);
        }
        assert_eq!(parse_filters(None).unwrap(), OAuthFilter::All);
    }

    #[test]
    fn each_comparison_bare_or_quoted() {
        let t = ms("2026-01-01T00:00:00Z");
        for (op, cmp) in [
            ("le", Cmp::Le),
            ("lt", Cmp::Lt),
            ("ge", Cmp::Ge),
            ("gt", Cmp::Gt),
        ] {
            let want = OAuthFilter::LastUsed(cmp, t);
            assert_eq!(parsed(&format!("lastUsed {op} 2026-01-01T00:00:00Z")), want);
            assert_eq!(
                parsed(&format!("lastUsed {op} \"2026-01-01T00:00:00Z\"")),
                want
            );
            assert_eq!(
                parsed(&format!("  lastUsed\t{op}  2026-01-01T00:00:00.000Z ")),
                want
            );
        }
        assert_eq!(parsed("lastUsed isnull"), OAuthFilter::LastUsedIsNull);
        assert_eq!(
            parsed("lastUsed pr"),
            OAuthFilter::Not(Box::new(OAuthFilter::LastUsedIsNull))
        );
    }

    #[test]
    fn not_and_and_or_bind_as_sailpoint_says() {
        let t = ms("2026-01-01T00:00:00Z");
        let null = || OAuthFilter::LastUsedIsNull;
        let not = |f| OAuthFilter::Not(Box::new(f));
        assert_eq!(parsed("not lastUsed isnull"), not(null()));
        assert_eq!(parsed("not not lastUsed isnull"), null());
        assert_eq!(parsed("not lastUsed pr"), null());
        assert_eq!(
            parsed("not lastUsed isnull and lastUsed le \"2026-01-01T00:00:00Z\""),
            OAuthFilter::And(vec![not(null()), OAuthFilter::LastUsed(Cmp::Le, t)])
        );
        // `and` binds tighter than `or`.
        assert_eq!(
            parsed(
                "lastUsed isnull or lastUsed gt 2026-01-01T00:00:00Z and lastUsed lt 2026-01-01T00:00:00Z"
            ),
            OAuthFilter::Or(vec![
                null(),
                OAuthFilter::And(vec![
                    OAuthFilter::LastUsed(Cmp::Gt, t),
                    OAuthFilter::LastUsed(Cmp::Lt, t)
                ])
            ])
        );
    }

    #[test]
    fn what_each_form_selects() {
        let never = client(None);
        let old = client(Some("2025-06-01T00:00:00Z"));
        let edge = client(Some("2026-01-01T00:00:00Z"));
        let new = client(Some("2026-06-01T00:00:00Z"));
        let all = [&never, &old, &edge, &new];
        let picks = |s: &str| -> Vec<bool> { all.iter().map(|c| parsed(s).matches(c)).collect() };
        let ts = "\"2026-01-01T00:00:00Z\"";
        assert_eq!(picks(""), [true, true, true, true]);
        assert_eq!(picks("lastUsed isnull"), [true, false, false, false]);
        assert_eq!(picks("lastUsed pr"), [false, true, true, true]);
        assert_eq!(
            picks(&format!("lastUsed le {ts}")),
            [false, true, true, false]
        );
        assert_eq!(
            picks(&format!("lastUsed lt {ts}")),
            [false, true, false, false]
        );
        assert_eq!(
            picks(&format!("lastUsed ge {ts}")),
            [false, false, true, true]
        );
        assert_eq!(
            picks(&format!("lastUsed gt {ts}")),
            [false, false, false, true]
        );
        // Never used is not "at or before": `not` turns it in.
        assert_eq!(
            picks(&format!("not lastUsed gt {ts}")),
            [true, true, true, false]
        );
        assert_eq!(
            picks(&format!("lastUsed isnull or lastUsed lt {ts}")),
            [true, true, false, false]
        );
        assert_eq!(
            picks(&format!(
                "lastUsed gt 2025-01-01T00:00:00Z and not lastUsed ge {ts}"
            )),
            [false, true, false, false]
        );
    }

    #[test]
    fn each_mistake_is_a_bad_request_naming_it() {
        for (s, names) in [
            ("name eq x", "`name` is not a field"),
            (
                "lastUsed eq 2026-01-01T00:00:00Z",
                "`eq` is not an operator",
            ),
            ("lastUsed", "`lastUsed` needs an operator"),
            ("lastUsed le", "`lastUsed le` needs a timestamp"),
            ("lastUsed le yesterday", "`yesterday` is not a timestamp"),
            ("lastUsed le \"2026-01-01T00:00:00Z", "is not a timestamp"),
            (
                "lastUsed le 10000-01-01T00:00:00Z",
                "is not a timestamp from",
            ),
            ("lastUsed isnull and", "it ends after `and`"),
            ("not", "it ends after `not`"),
            ("and lastUsed isnull", "`and` where a filter should be"),
            (
                "lastUsed isnull or or lastUsed pr",
                "`or` where a filter should be",
            ),
            ("lastUsed isnull lastUsed pr", "`lastUsed` after a filter"),
            ("(lastUsed isnull)", "`(lastUsed` is not a field"),
        ] {
            let m = cause(s);
            assert!(m.starts_with("filters: "), "{s:?}: {m}");
            assert!(m.contains(names), "{s:?}: {m}");
        }
    }

    #[test]
    fn a_long_run_of_not_is_folded_and_evaluates_without_deep_recursion() {
        let s = format!("{}lastUsed isnull", "not ".repeat(100_001));
        let f = parsed(&s);
        assert_eq!(f, OAuthFilter::Not(Box::new(OAuthFilter::LastUsedIsNull)));
        let s = vec!["lastUsed isnull"; 10_000].join(" and ");
        assert!(parsed(&s).matches(&client(None)));
    }
}
