//! Arbitrary bytes as request bodies: every body parser of `wire` (the typed bodies and
//! their conversion into the domain), create and update, and an OAuth JSON Patch read as
//! `OAuthPatch` and applied by `Service::patch_oauth` on a real store. The same bytes also
//! build a structured JSON Patch (up to 150 `add`/`remove`/`replace`/`move`/`copy`/`test`
//! operations over the patchable fields, nested arrays for values) so that the fuzzer
//! reaches the patch limits of API.md, which random JSON seldom does. Errors are fine; a
//! panic, a 500-kind error or a result past the limits is a bug. Whatever a parser accepts
//! must keep its rules (checked below).
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use baack::ErrorKind;
use baack::clock::SystemClock;
use baack::model::{
    ClientInput, OAUTH_PATCHABLE, OAuthClient, OAuthPatch, RoleInput, TokenInput,
    oauth_rule_breaks, parse_urn,
};
use baack::service::{Caller, PATCH_MAX_BYTES, PATCH_MAX_OPS, Service};
use baack::store::Store;
use baack::wire::oauth::parse_oauth;
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
                parse_oauth(
                    &json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
                        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                        "redirectUris": ["http://localhost:1/cb"],
                        "accessType": "ONLINE", "enabled": true}),
                )
                .unwrap(),
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
    match OAuthPatch::try_from(ops).and_then(|p| f.svc.patch_oauth(&f.me, &f.oauth.id, &p)) {
        Ok(rec) => {
            // Within the limits: no more operations than allowed, a result within size.
            assert!(ops.as_array().is_some_and(|a| a.len() <= PATCH_MAX_OPS));
            let size = serde_json::to_vec(&rec.fields).unwrap().len();
            assert!(size <= PATCH_MAX_BYTES, "a patch left {size} bytes");
            // What a patch leaves must pass the create rules, and read back the same.
            assert!(oauth_rule_breaks(&rec.fields).is_empty());
            let wire = serde_json::to_value(baack::wire::oauth::OAuthClient::from(&rec)).unwrap();
            assert_eq!(parse_oauth(&wire).unwrap(), rec.fields);
            // Put the original back so every run starts from the same store.
            f.svc.store().write(|txn| txn.put_oauth(&f.oauth)).unwrap();
        }
        Err(e) => {
            // A patch is refused as bad input, never as a fault of the server.
            assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
            // A refused patch changes nothing.
            let now = f.svc.store().oauth(&f.oauth.id).unwrap().unwrap();
            assert_eq!(now, f.oauth);
        }
    }
}

/// A JSON Patch operation, as the fuzzer's bytes spell it.
#[derive(Arbitrary, Debug)]
enum OpKind {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

/// A JSON Pointer into the patchable fields: a field (an index into `OAUTH_PATCHABLE`),
/// then array indexes, maybe ending in `-`.
#[derive(Arbitrary, Debug)]
struct PathSpec {
    field: u8,
    steps: Vec<u8>,
    dash: bool,
}

impl PathSpec {
    fn pointer(&self) -> String {
        let field = OAUTH_PATCHABLE[usize::from(self.field) % OAUTH_PATCHABLE.len()];
        let mut p = format!("/{field}");
        for s in self.steps.iter().take(40) {
            p.push_str(&format!("/{}", s % 4));
        }
        if self.dash {
            p.push_str("/-");
        }
        p
    }
}

/// A value: a scalar, or arrays nested up to 60 deep (past the depth limit of 32), the
/// outermost one to three wide (only the outermost: widening every level is exponential).
#[derive(Arbitrary, Debug)]
enum ValueSpec {
    Str(String),
    Num(i64),
    Bool(bool),
    Null,
    Nested { depth: u8, width: u8, leaf: String },
}

impl ValueSpec {
    fn value(&self) -> Value {
        match self {
            ValueSpec::Str(s) => s.clone().into(),
            ValueSpec::Num(n) => (*n).into(),
            ValueSpec::Bool(b) => (*b).into(),
            ValueSpec::Null => Value::Null,
            ValueSpec::Nested { depth, width, leaf } => {
                let mut v = Value::from(leaf.clone());
                for _ in 0..depth % 61 {
                    v = Value::Array(vec![v]);
                }
                Value::Array(vec![v; usize::from(width % 3) + 1])
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct OpSpec {
    kind: OpKind,
    path: PathSpec,
    from: PathSpec,
    value: ValueSpec,
}

impl OpSpec {
    fn json(&self) -> Value {
        let (path, from) = (self.path.pointer(), self.from.pointer());
        match self.kind {
            OpKind::Add => json!({"op": "add", "path": path, "value": self.value.value()}),
            OpKind::Remove => json!({"op": "remove", "path": path}),
            OpKind::Replace => json!({"op": "replace", "path": path, "value": self.value.value()}),
            OpKind::Move => json!({"op": "move", "from": from, "path": path}),
            OpKind::Copy => json!({"op": "copy", "from": from, "path": path}),
            OpKind::Test => json!({"op": "test", "path": path, "value": self.value.value()}),
        }
    }
}

/// The structured patch the bytes spell: at most 150 operations, so both sides of the
/// operation limit are reached.
fn structured_patch(data: &[u8]) -> Option<Value> {
    let mut u = Unstructured::new(data);
    let n = u.int_in_range(0..=150usize).ok()?;
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        match OpSpec::arbitrary(&mut u) {
            Ok(op) => ops.push(op.json()),
            Err(_) => break,
        }
    }
    Some(Value::Array(ops))
}

fuzz_target!(|data: &[u8]| {
    if let Some(ops) = structured_patch(data) {
        patch(fixture(), &ops);
    }
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
