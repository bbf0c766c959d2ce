//! Arbitrary bytes as request bodies: every body parser of `model`, create and update, and
//! an OAuth JSON Patch through `Service::patch_oauth` on a real store. Errors are fine; a
//! panic is a bug. Whatever a parser accepts must keep its rules (checked below).
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use baack::clock::SystemClock;
use baack::model::{
    ClientInput, OAuthClient, RoleInput, TokenInput, oauth_json, oauth_rule_breaks, parse_oauth,
    parse_urn,
};
use baack::service::{Caller, Service};
use baack::store::Store;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    svc: Service,
    me: Caller,
    oauth: OAuthClient,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        // libFuzzer ends with `exit`: the directory stays, named `baack-fuzz-*`.
        let dir = tempfile::Builder::new()
            .prefix("baack-fuzz-")
            .tempdir_in(if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            })
            .unwrap();
        let path = dir.path().join("store");
        Store::init(&path, "Acme").unwrap();
        let svc = Service::new(Store::open(&path).unwrap(), Arc::new(SystemClock));
        let me = svc.root_caller().unwrap();
        let (oauth, _) = svc
            .create_oauth(
                &me,
                &json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
                        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                        "redirectUris": ["http://localhost:1/cb"],
                        "accessType": "ONLINE", "enabled": true}),
            )
            .unwrap();
        Fixture {
            _dir: dir,
            svc,
            me,
            oauth,
        }
    })
}

fn check_name(s: &str) {
    let n = s.chars().count();
    assert!((1..=128).contains(&n), "accepted a name of {n} characters");
    assert!(
        !s.chars().any(char::is_control),
        "accepted a control character"
    );
}

fn patch(f: &Fixture, ops: &Value) {
    match f.svc.patch_oauth(&f.me, &f.oauth.id, ops) {
        Ok(rec) => {
            // What a patch leaves must pass the create rules, and read back the same.
            assert!(oauth_rule_breaks(&rec.fields).is_empty());
            let wire = oauth_json(&rec, None);
            assert_eq!(parse_oauth(&wire).unwrap(), rec.fields);
            // Put the original back so every run starts from the same store.
            f.svc.store().write(|txn| txn.put_oauth(&f.oauth)).unwrap();
        }
        Err(_) => {
            // A refused patch changes nothing.
            let now = f.svc.store().oauth(&f.oauth.id).unwrap().unwrap();
            assert_eq!(now, f.oauth);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for create in [true, false] {
        if let Ok(c) = ClientInput::parse(&body, create) {
            check_name(&c.client_id);
            assert_eq!(c.owner.is_some(), create);
            if let Some(o) = &c.owner {
                assert_eq!(parse_urn(o).as_deref(), Some(o.as_str()));
            }
        }
        if let Ok(t) = TokenInput::parse(&body, create) {
            assert_eq!(t.client.is_some(), create);
        }
        if let Ok(r) = RoleInput::parse(&body, create) {
            check_name(&r.name);
            for u in r.clients.iter().chain(&r.identities) {
                assert_eq!(parse_urn(u).as_deref(), Some(u.as_str()));
            }
        }
    }
    if let Ok(fields) = parse_oauth(&body) {
        assert!(oauth_rule_breaks(&fields).is_empty());
    }

    let f = fixture();
    match &body {
        Value::Array(_) => patch(f, &body),
        // An object: each of its fields as a `replace`, so field values reach the patch.
        Value::Object(o) => {
            let ops: Vec<Value> = o
                .iter()
                .map(|(k, v)| json!({"op": "replace", "path": format!("/{k}"), "value": v}))
                .collect();
            patch(f, &Value::Array(ops));
        }
        _ => {}
    }
});
