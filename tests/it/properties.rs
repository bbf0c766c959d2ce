//! Property tests of the validation rules of API.md, on the library itself (no server).
//!
//! For each kind of object: a generator of VALID bodies (every field within its rules, the
//! accepted alternative spellings included) whose every value is accepted by the parser and
//! round-trips (parse → record → wire representation → parse gives the same fields); and a
//! generator of single RULE BREAKS (one rule broken once, from a valid body) that must be
//! refused with an error naming the field.

use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use baack::Error;
use baack::clock::{Millis, SystemClock, format_baack, format_rfc3339, parse_timestamp};
use baack::model::{
    ApiClient, BearerToken, ClientInput, GRANT_TYPES, MAX_VALIDITY, OAUTH_PATCHABLE, OAuthClient,
    OAuthFields, OAuthPatch, Permission, Role, RoleInput, Scope, TokenInput, new_urn,
    oauth_rule_breaks, paths, skeleton,
};
use baack::service::{Caller, Service};
use baack::store::Store;
use baack::wire::oauth::parse_oauth;
use chrono::{DateTime, FixedOffset, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

// ---------------------------------------------------------------------------------------
// Shared pieces

// The representations as JSON, through the wire types the server renders them with.
fn client_json(c: &ApiClient) -> Value {
    serde_json::to_value(baack::wire::client::ApiClient::from(c)).unwrap()
}
fn token_json(t: &BearerToken, secret: Option<&str>) -> Value {
    match secret {
        Some(s) => serde_json::to_value(baack::wire::token::BearerTokenCreated::new(t, s)),
        None => serde_json::to_value(baack::wire::token::BearerToken::from(t)),
    }
    .unwrap()
}
fn role_json(r: &Role) -> Value {
    serde_json::to_value(baack::wire::role::PermissionRole::from(r)).unwrap()
}
fn oauth_json(c: &OAuthClient, secret: Option<&str>) -> Value {
    match secret {
        Some(s) => serde_json::to_value(baack::wire::oauth::OAuthClientCreated::new(c, s)),
        None => serde_json::to_value(baack::wire::oauth::OAuthClient::from(c)),
    }
    .unwrap()
}

/// The service's operations with JSON bodies, read as the server reads them (the path's
/// id first, then the body), then run.
trait JsonBodies {
    fn create_client_json(&self, me: &Caller, body: &Value) -> baack::Result<ApiClient>;
    fn create_token_json(&self, me: &Caller, body: &Value) -> baack::Result<(BearerToken, String)>;
    fn create_oauth_json(&self, me: &Caller, body: &Value) -> baack::Result<(OAuthClient, String)>;
    fn patch_oauth_json(&self, me: &Caller, id: &str, patch: &Value) -> baack::Result<OAuthClient>;
}

impl JsonBodies for Service {
    fn create_client_json(&self, me: &Caller, body: &Value) -> baack::Result<ApiClient> {
        self.create_client(me, &ClientInput::parse(body, true)?)
    }
    fn create_token_json(&self, me: &Caller, body: &Value) -> baack::Result<(BearerToken, String)> {
        self.create_token(me, &TokenInput::parse(body, true)?)
    }
    fn create_oauth_json(&self, me: &Caller, body: &Value) -> baack::Result<(OAuthClient, String)> {
        self.create_oauth(me, parse_oauth(body)?)
    }
    fn patch_oauth_json(&self, me: &Caller, id: &str, patch: &Value) -> baack::Result<OAuthClient> {
        let id = Service::oauth_id(id)?;
        self.patch_oauth(me, &id, &OAuthPatch::try_from(patch)?)
    }
}

/// A store and its root caller, shared by the cases of a property that needs the service.
struct Fixture {
    _dir: tempfile::TempDir,
    svc: Service,
    me: Caller,
    company: String,
    client: String,
}

impl Fixture {
    fn new() -> Fixture {
        // A tmpfs when there is one: the store fsyncs every write.
        let shm = Path::new("/dev/shm");
        let dir = tempfile::Builder::new()
            .prefix("baack-properties-")
            .tempdir_in(if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            })
            .unwrap();
        let path = dir.path().join("store");
        let boot = Store::init(&path, "Acme").unwrap();
        let svc = Service::new(Store::open(&path).unwrap(), Arc::new(SystemClock));
        let me = svc.root_caller().unwrap();
        Fixture {
            _dir: dir,
            svc,
            me,
            company: boot.company.urn,
            client: boot.root_client.urn,
        }
    }
}

thread_local! {
    // One per test thread, so it is dropped (and its directory removed) when the test
    // ends; a `static` would never be.
    static FIXTURE: Rc<Fixture> = Rc::new(Fixture::new());
}

fn fixture() -> Rc<Fixture> {
    FIXTURE.with(Rc::clone)
}

/// What a refusal must say: which field, and whether it is missing or invalid.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Missing(&'static str),
    Invalid(&'static str),
}

/// Whether `name` is `field` or a part of it (`owner.urn` is part of `owner`).
fn is_field(name: &str, field: &str) -> bool {
    name == field
        || name
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn check_refusal(e: &Error, want: Want) -> Result<(), TestCaseError> {
    let ok = match (want, e) {
        (Want::Missing(f), Error::MissingField(name)) => is_field(name, f),
        (Want::Invalid(f), Error::Invalid { field, .. }) => is_field(field, f),
        _ => false,
    };
    prop_assert!(ok, "expected {want:?}, got {e:?}");
    Ok(())
}

/// Whether an OAuth cause is about `field`: causes start with the field's name.
fn names_cause(cause: &str, field: &str) -> bool {
    cause
        .strip_prefix(field)
        .is_some_and(|rest| rest.starts_with([':', ' ']))
}

fn check_oauth_refusal(e: &Error, field: &str) -> Result<(), TestCaseError> {
    match e {
        Error::InvalidMany(causes) => prop_assert!(
            causes.iter().any(|c| names_cause(c, field)),
            "no cause names {field}: {causes:?}"
        ),
        other => prop_assert!(false, "expected causes naming {field}, got {other:?}"),
    }
    Ok(())
}

fn urn() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string())
}

/// A reference as a client may send it: `urn` or `Urn`, the URN in any case, with or
/// without a `url`. Gives the normalised URN and the JSON.
fn reference(prefix: &'static str) -> impl Strategy<Value = (String, Value)> {
    (
        urn(),
        prop::collection::vec(any::<bool>(), 36),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(u, upper, capital_key, with_url)| {
            let spelled: String = u
                .chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            let mut o = Map::new();
            let key = if capital_key { "Urn" } else { "urn" };
            o.insert(key.into(), spelled.clone().into());
            if with_url {
                o.insert("url".into(), format!("{prefix}{spelled}").into());
            }
            (u, Value::Object(o))
        })
}

/// Something that is not a URN.
fn not_a_urn() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,35}",
        ".{37,40}",
        urn().prop_map(|u| u.replace('-', "")),
        urn().prop_map(|u| format!("{{{u}}}")),
        (urn(), 0..36usize).prop_map(|(u, at)| {
            let at = if u.as_bytes()[at] == b'-' { at + 1 } else { at };
            let mut b = u.into_bytes();
            b[at] = b'g';
            String::from_utf8(b).unwrap()
        }),
    ]
}

/// Exactly `n` characters a name may hold (API.md "Names"), already NFC: each one a
/// starter that is NFC on its own, so no two of them compose or reorder; white space
/// only inside.
fn printable_n(n: usize) -> impl Strategy<Value = String> {
    use unicode_normalization::char::canonical_combining_class;
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    prop::collection::vec(
        any::<char>().prop_filter("allowed in a name", |c| {
            baack::model::forbidden_in_name(*c).is_none()
                && canonical_combining_class(*c) == 0
                && is_nfc_quick(std::iter::once(*c)) == IsNormalized::Yes
        }),
        n,
    )
    .prop_map(|mut v| {
        for i in [0, v.len().saturating_sub(1)] {
            if v.get(i).is_some_and(|c| c.is_whitespace()) {
                v[i] = 'x';
            }
        }
        v.into_iter().collect()
    })
}

/// 1 to `max` printable characters, the bounds drawn often.
fn printable(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![Just(1), Just(max), 1..=max].prop_flat_map(printable_n)
}

/// A character a name may not hold: a control, format, separator, private-use,
/// unassigned or default-ignorable character.
fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|n| char::from_u32(n).unwrap()),
        (0x7fu32..0xa0).prop_map(|n| char::from_u32(n).unwrap()),
        prop::sample::select(vec![
            '\u{200b}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{feff}',
            '\u{ad}',
            '\u{3164}',
            '\u{180e}',
            '\u{34f}',
            '\u{2028}',
            '\u{2029}',
            '\u{e0041}',
            '\u{e000}',
            '\u{10ffff}',
            '\u{ffa0}',
            '\u{fe0f}',
        ]),
        any::<char>().prop_filter("forbidden", |c| baack::model::forbidden_in_name(*c)
            .is_some()),
    ]
}

/// A name that breaks a rule of API.md "Names" (the look-alike rule aside).
fn bad_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (
            printable(127),
            prop::sample::select(vec![" ", "\u{a0}", "\u{3000}", "\t"]),
            any::<bool>()
        )
            .prop_map(|(s, w, front)| if front {
                format!("{w}{s}")
            } else {
                format!("{s}{w}")
            }),
        (urn(), prop::collection::vec(any::<bool>(), 36)).prop_map(|(u, up)| {
            u.chars()
                .zip(up)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect()
        }),
        prop_oneof![Just(129), 129..300usize].prop_flat_map(printable_n),
        (printable(128), control_char(), any::<prop::sample::Index>()).prop_map(|(s, c, at)| {
            let mut v: Vec<char> = s.chars().collect();
            let i = at.index(v.len() + 1);
            v.insert(i, c);
            v.into_iter().collect()
        }),
    ]
}

/// A JSON value that is not a string.
fn not_a_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!([])),
        Just(json!(["x"])),
        Just(json!({})),
        Just(json!({"urn": "x"})),
    ]
}

/// A JSON value that is not a list.
fn not_a_list() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
        Just(json!({})),
        Just(json!({"urn": "6f97bac3-26fe-4333-91f0-f12af2d1d167"})),
    ]
}

/// A JSON value that is not a reference object.
fn not_an_object() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        urn().prop_map(Value::from),
        urn().prop_map(|u| json!([{ "urn": u }])),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
    ]
}

/// Unknown fields, which every body may carry and every parser ignores.
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x[a-zA-Z]{0,8}", leaf(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// API clients

#[derive(Debug, Clone)]
struct ClientCase {
    body: Map<String, Value>,
    client_id: String,
    scope: Scope,
    owner: String,
}

fn valid_client() -> impl Strategy<Value = ClientCase> {
    (
        printable(128),
        prop::sample::select(vec![Scope::Api, Scope::Webhook]),
        reference(paths::COMPANY),
        extras(),
        prop::option::of(urn()),
    )
        .prop_map(
            |(client_id, scope, (owner, owner_ref), mut body, stray_urn)| {
                body.insert("clientID".into(), client_id.clone().into());
                body.insert("scope".into(), scope.as_str().into());
                body.insert("owner".into(), owner_ref);
                // A `urn` in a create body is ignored.
                if let Some(u) = stray_urn {
                    body.insert("urn".into(), u.into());
                }
                ClientCase {
                    body,
                    client_id,
                    scope,
                    owner,
                }
            },
        )
}

/// Breaks one rule of an API client body; says what the refusal must name. Owner rules
/// (indexes 9 and up) apply to creation only.
fn break_client(body: &mut Map<String, Value>, which: usize, junk: &Junk) -> Want {
    match which {
        0 => {
            body.remove("clientID");
            Want::Missing("clientID")
        }
        1 => {
            body.insert("clientID".into(), Value::Null);
            Want::Missing("clientID")
        }
        2 => {
            body.insert("clientID".into(), junk.bad_name.clone().into());
            Want::Invalid("clientID")
        }
        3 => {
            body.insert("clientID".into(), junk.not_string.clone());
            Want::Invalid("clientID")
        }
        4 => {
            body.remove("scope");
            Want::Missing("scope")
        }
        5 => {
            body.insert("scope".into(), Value::Null);
            Want::Missing("scope")
        }
        6 => {
            body.insert("scope".into(), junk.word.clone().into());
            Want::Invalid("scope")
        }
        7 => {
            body.insert("scope".into(), junk.not_string.clone());
            Want::Invalid("scope")
        }
        8 => {
            // Scopes are compared exactly.
            body.insert("scope".into(), "API.BAACK.CO".into());
            Want::Invalid("scope")
        }
        9 => {
            body.remove("owner");
            Want::Missing("owner")
        }
        10 => {
            body.insert("owner".into(), junk.not_object.clone());
            Want::Invalid("owner")
        }
        11 => {
            body.insert("owner".into(), json!({ "url": "/n/v1/company/x" }));
            Want::Missing("owner")
        }
        12 => {
            body.insert("owner".into(), json!({ "urn": junk.not_urn }));
            Want::Invalid("owner")
        }
        _ => {
            body.insert("owner".into(), json!({ "Urn": junk.not_string }));
            Want::Invalid("owner")
        }
    }
}

/// Values to break rules with, drawn once per case.
#[derive(Debug, Clone)]
struct Junk {
    bad_name: String,
    not_string: Value,
    not_object: Value,
    not_list: Value,
    not_urn: String,
    word: String,
}

fn junk() -> impl Strategy<Value = Junk> {
    (
        bad_name(),
        not_a_string(),
        not_an_object(),
        not_a_list(),
        not_a_urn(),
        ".*",
    )
        .prop_map(
            |(bad_name, not_string, not_object, not_list, not_urn, word)| Junk {
                bad_name,
                not_string,
                not_object,
                not_list,
                not_urn,
                word,
            },
        )
}

proptest! {
    #[test]
    fn valid_api_clients_are_accepted_and_round_trip(case in valid_client()) {
        let body = Value::Object(case.body.clone());
        let input = ClientInput::parse(&body, true).unwrap();
        prop_assert_eq!(&input, &ClientInput {
            client_id: case.client_id.clone(),
            scope: case.scope,
            owner: Some(case.owner.clone()),
        });
        // An update body is the same without the owner.
        let update = ClientInput::parse(&body, false).unwrap();
        prop_assert_eq!(&update, &ClientInput { owner: None, ..input.clone() });

        let rec = ApiClient { created: None, last_used: None, rev: None,
            urn: new_urn(),
            client_id: input.client_id.clone(),
            scope: input.scope,
            owner: case.owner.clone(),
        };
        let wire = client_json(&rec);
        prop_assert_eq!(ClientInput::parse(&wire, true).unwrap(), input.clone());
        prop_assert_eq!(ClientInput::parse(&wire, false).unwrap(), update);
    }

    #[test]
    fn api_client_rule_breaks_are_refused_naming_the_field(
        case in valid_client(),
        which in 0..14usize,
        junk in junk(),
    ) {
        prop_assume!(junk.word != "api.baack.co" && junk.word != "webhook.baack.co");
        let mut body = case.body.clone();
        let want = break_client(&mut body, which, &junk);
        let body = Value::Object(body);
        check_refusal(&ClientInput::parse(&body, true).unwrap_err(), want)?;
        if which < 9 {
            check_refusal(&ClientInput::parse(&body, false).unwrap_err(), want)?;
        } else {
            // The owner is ignored on update.
            prop_assert!(ClientInput::parse(&body, false).is_ok());
        }
    }

    #[test]
    fn client_ids_are_unique_within_the_company_and_case_sensitive(case in valid_client()) {
        let f = fixture();
        let mut body = case.body.clone();
        body.insert("owner".into(), json!({ "urn": f.company }));
        let body = Value::Object(body);
        let store = f.svc.store();
        if store.client_by_id(&case.client_id).unwrap().is_none() {
            create_unless_look_alike(&f, &body, &case.client_id)?;
        }
        let again = f.svc.create_client_json(&f.me, &body).unwrap_err();
        check_refusal(&again, Want::Invalid("clientID"))?;
        // The same letters in another case are another clientID, unless they look alike
        // (`I` and `l`): then the refusal names the one already there.
        let other: String = case.client_id.to_uppercase().nfc().collect();
        if other != case.client_id
            && other.chars().count() <= 128
            && other.chars().all(|c| baack::model::forbidden_in_name(c).is_none())
            && store.client_by_id(&other).unwrap().is_none()
        {
            let mut body = body.clone();
            body["clientID"] = other.clone().into();
            create_unless_look_alike(&f, &body, &other)?;
        }
    }
}

/// Creates the client `body` names `id`: refused naming the existing one when one with
/// the same confusable skeleton exists, else created under that clientID.
fn create_unless_look_alike(f: &Fixture, body: &Value, id: &str) -> Result<(), TestCaseError> {
    let store = f.svc.store();
    match store.client_by_skeleton(&skeleton(id)).unwrap() {
        Some(existing) => {
            let e = f.svc.create_client_json(&f.me, body).unwrap_err();
            check_refusal(&e, Want::Invalid("clientID"))?;
            prop_assert!(
                e.to_string().contains(&format!("`{}`", existing.client_id)),
                "the refusal must name `{}`: {e}",
                existing.client_id
            );
        }
        None => {
            let made = f.svc.create_client_json(&f.me, body).unwrap();
            prop_assert_eq!(&made.client_id, id);
            prop_assert_eq!(store.client_by_id(id).unwrap(), Some(made));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Bearer tokens

/// The last instant the generators use: a day before the end of year 9999, so that a
/// timestamp with a positive offset still has four digits in its year.
const LAST: Millis = 253_402_128_000_000;

fn future() -> impl Strategy<Value = Millis> {
    let now = Utc::now().timestamp_millis() + 86_400_000;
    now..LAST
}

/// An accepted spelling of the instant `ms` plus `sub_ms` nanoseconds, and the
/// milliseconds it must read as.
fn spell(
    ms: Millis,
    sub_ns: u32,
    style: usize,
    digits: usize,
    offset_min: i32,
) -> (String, Millis) {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
    let nanos = (ms.rem_euclid(1000) as u32) * 1_000_000 + sub_ns;
    let frac = |k: usize| {
        if k == 0 {
            String::new()
        } else {
            format!(".{}", &format!("{nanos:09}")[..k])
        }
    };
    let truncated = |k: usize| {
        if k >= 3 {
            ms
        } else {
            let unit = 10i64.pow(3 - k as u32);
            ms - ms.rem_euclid(unit)
        }
    };
    match style {
        // Baack's own: milliseconds, no zone.
        0 => (t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(), ms),
        // With a trailing Z.
        1 => (t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), ms),
        // 0 to 9 fractional digits, with or without Z.
        2 | 3 => {
            let z = if style == 3 { "Z" } else { "" };
            (
                format!("{}{}{z}", t.format("%Y-%m-%dT%H:%M:%S"), frac(digits)),
                truncated(digits),
            )
        }
        // RFC 3339 with an offset.
        _ => {
            let zone = FixedOffset::east_opt(offset_min * 60).unwrap();
            let local = t.with_timezone(&zone);
            (
                format!(
                    "{}{}{}",
                    local.format("%Y-%m-%dT%H:%M:%S"),
                    frac(digits),
                    local.format("%:z")
                ),
                truncated(digits),
            )
        }
    }
}

fn spelled_future() -> impl Strategy<Value = (String, Millis)> {
    (
        future(),
        0u32..1_000_000,
        0..5usize,
        0..=9usize,
        -14 * 60..=14 * 60,
    )
        .prop_map(|(ms, ns, style, digits, off)| spell(ms, ns, style, digits, off))
}

#[derive(Debug, Clone)]
struct TokenCase {
    body: Map<String, Value>,
    client: String,
    expires: Option<Millis>,
}

fn valid_token() -> impl Strategy<Value = TokenCase> {
    (
        reference(paths::CLIENT),
        prop::option::of(spelled_future()),
        any::<bool>(),
        extras(),
    )
        .prop_map(|((client, client_ref), when, null_expiry, mut body)| {
            body.insert("apiClient".into(), client_ref);
            match &when {
                Some((s, _)) => {
                    body.insert("expirationTimestamp".into(), s.clone().into());
                }
                None if null_expiry => {
                    body.insert("expirationTimestamp".into(), Value::Null);
                }
                None => {}
            }
            // The token itself is generated; one in a body is ignored.
            body.insert("bearerToken".into(), "bk_ignored".into());
            TokenCase {
                body,
                client,
                expires: when.map(|(_, ms)| ms),
            }
        })
}

/// A string that is no timestamp.
fn not_a_timestamp() -> impl Strategy<Value = String> {
    let mangled = (spelled_future(), 0..6usize).prop_map(|((s, _), how)| match how {
        0 => s.replacen('T', " at ", 1),
        1 => format!("{}13{}", &s[..5], &s[7..]),
        2 => format!("{}32{}", &s[..8], &s[10..]),
        3 => format!("{}25{}", &s[..11], &s[13..]),
        4 => s[..10].to_string(),
        _ => format!("{s}junk"),
    });
    prop_oneof![mangled, ".*"].prop_filter("not a timestamp", |s| parse_timestamp(s).is_none())
}

proptest! {
    /// Every instant formats in both spellings and reads back as itself; those beyond
    /// chrono's calendar (about ±262,000 years) as its nearest end, never the epoch.
    #[test]
    fn any_instant_reads_back_as_written(ms in prop_oneof![any::<i64>(), future()]) {
        let lo = DateTime::<Utc>::MIN_UTC.timestamp_millis();
        let hi = DateTime::<Utc>::MAX_UTC.timestamp_millis();
        let want = ms.clamp(lo, hi);
        prop_assert_eq!(parse_timestamp(&format_baack(ms)), Some(want));
        prop_assert_eq!(parse_timestamp(&format_rfc3339(ms)), Some(want));
    }

    #[test]
    fn valid_tokens_are_accepted_and_round_trip(case in valid_token()) {
        let body = Value::Object(case.body.clone());
        let input = TokenInput::parse(&body, true).unwrap();
        prop_assert_eq!(&input, &TokenInput {
            client: Some(case.client.clone()),
            expires: case.expires,
            description: None,
            idle: None,
            replaced_by: None,
        });
        prop_assert_eq!(
            TokenInput::parse(&body, false).unwrap(),
            TokenInput { client: None, expires: case.expires, description: None, idle: None, replaced_by: None }
        );
        let rec = BearerToken { last_used: None, rev: None, retire: None,
            urn: new_urn(),
            client: case.client.clone(),
            digest: "0".repeat(64),
            shown: "bk_abc...".into(),
            expires: input.expires,
            created: 0,
            description: None,
        };
        let wire = token_json(&rec, None);
        prop_assert_eq!(TokenInput::parse(&wire, true).unwrap(), input);
    }

    #[test]
    fn a_future_expiry_is_accepted_by_the_service(case in valid_token()) {
        let f = fixture();
        let mut body = case.body.clone();
        body.insert("apiClient".into(), json!({ "urn": f.client }));
        let (made, secret) = f.svc.create_token_json(&f.me, &Value::Object(body)).unwrap();
        prop_assert_eq!(made.expires, case.expires);
        prop_assert!(baack::secret::check_bearer_token(&secret).is_ok());
        // Leave the shared store as it was.
        f.svc.delete_token(&f.me, &made.urn).unwrap();
    }

    #[test]
    fn token_rule_breaks_are_refused_naming_the_field(
        case in valid_token(),
        which in 0..8usize,
        junk in junk(),
        bad_time in not_a_timestamp(),
    ) {
        let mut body = case.body.clone();
        let want = match which {
            0 => {
                body.remove("apiClient");
                Want::Missing("apiClient")
            }
            1 => {
                body.insert("apiClient".into(), Value::Null);
                Want::Missing("apiClient")
            }
            2 => {
                body.insert("apiClient".into(), junk.not_object.clone());
                Want::Invalid("apiClient")
            }
            3 => {
                body.insert("apiClient".into(), json!({}));
                Want::Missing("apiClient")
            }
            4 => {
                body.insert("apiClient".into(), json!({ "urn": junk.not_urn }));
                Want::Invalid("apiClient")
            }
            5 => {
                body.insert("apiClient".into(), json!({ "urn": junk.not_string }));
                Want::Invalid("apiClient")
            }
            6 => {
                body.insert("expirationTimestamp".into(), junk.not_string.clone());
                Want::Invalid("expirationTimestamp")
            }
            _ => {
                body.insert("expirationTimestamp".into(), bad_time.into());
                Want::Invalid("expirationTimestamp")
            }
        };
        let body = Value::Object(body);
        check_refusal(&TokenInput::parse(&body, true).unwrap_err(), want)?;
        if which >= 6 {
            check_refusal(&TokenInput::parse(&body, false).unwrap_err(), want)?;
        }
    }

    #[test]
    fn a_past_expiry_is_refused_on_create_naming_the_field(
        ago in 0i64..400 * 365 * 86_400_000,
        ns in 0u32..1_000_000,
        style in 0..5usize,
        digits in 0..=9usize,
        off in -14 * 60..=14 * 60i32,
    ) {
        let f = fixture();
        // Truncation never moves a past instant into the future.
        let (s, _) = spell(Utc::now().timestamp_millis() - ago, ns, style, digits, off);
        let body = json!({ "apiClient": { "urn": f.client }, "expirationTimestamp": s });
        let e = f.svc.create_token_json(&f.me, &body).unwrap_err();
        check_refusal(&e, Want::Invalid("expirationTimestamp"))?;
    }
}

// ---------------------------------------------------------------------------------------
// Permission roles

#[derive(Debug, Clone)]
struct RoleCase {
    body: Map<String, Value>,
    name: String,
    owner: String,
    identities: Vec<String>,
    clients: Vec<String>,
    permissions: Option<Vec<Permission>>,
}

/// A list of references, maybe with a repeat in another spelling, maybe null or absent.
fn references(prefix: &'static str) -> impl Strategy<Value = (Vec<String>, Option<Value>)> {
    (
        prop::collection::vec(reference(prefix), 0..4),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(|(refs, repeat, presence)| {
            let mut urns: Vec<String> = Vec::new();
            let mut list: Vec<Value> = Vec::new();
            for (u, v) in &refs {
                if !urns.contains(u) {
                    urns.push(u.clone());
                }
                list.push(v.clone());
            }
            if repeat && let Some(u) = urns.first() {
                list.push(json!({ "Urn": u.to_uppercase() }));
            }
            match presence {
                _ if !urns.is_empty() => (urns, Some(Value::Array(list))),
                0 => (urns, None),
                1 => (urns, Some(Value::Null)),
                _ => (urns, Some(json!([]))),
            }
        })
}

fn valid_role() -> impl Strategy<Value = RoleCase> {
    let labels = prop::collection::vec(prop::sample::select(Permission::ALL.to_vec()), 0..6);
    (
        printable(128),
        reference(paths::COMPANY),
        references(""),
        references(paths::CLIENT),
        prop::option::of(labels),
        any::<bool>(),
        extras(),
    )
        .prop_map(
            |(name, (owner, owner_ref), identities, clients, labels, null_perms, mut body)| {
                body.insert("name".into(), name.clone().into());
                body.insert("owner".into(), owner_ref);
                for (key, (_, v)) in [("identities", &identities), ("clients", &clients)] {
                    if let Some(v) = v {
                        body.insert(key.into(), v.clone());
                    }
                }
                let permissions = match labels {
                    Some(l) => {
                        body.insert("permissions".into(), json!(l));
                        let set: BTreeSet<Permission> =
                            l.iter().map(|s| Permission::parse(s).unwrap()).collect();
                        Some(set.into_iter().collect())
                    }
                    None => {
                        if null_perms {
                            body.insert("permissions".into(), Value::Null);
                        }
                        None
                    }
                };
                RoleCase {
                    body,
                    name,
                    owner,
                    identities: identities.0,
                    clients: clients.0,
                    permissions,
                }
            },
        )
}

proptest! {
    #[test]
    fn valid_roles_are_accepted_and_round_trip(case in valid_role()) {
        let body = Value::Object(case.body.clone());
        let input = RoleInput::parse(&body, true).unwrap();
        prop_assert_eq!(&input, &RoleInput {
            name: case.name.clone(),
            owner: Some(case.owner.clone()),
            identities: case.identities.clone(),
            clients: case.clients.clone(),
            permissions: case.permissions.clone(),
        });
        prop_assert_eq!(
            RoleInput::parse(&body, false).unwrap(),
            RoleInput { owner: None, ..input.clone() }
        );
        let rec = Role { rev: None,
            urn: new_urn(),
            name: input.name.clone(),
            owner: case.owner.clone(),
            identities: input.identities.clone(),
            clients: input.clients.clone(),
            permissions: input.permissions.clone().unwrap_or_default(),
            version: 1,
        };
        let wire = role_json(&rec);
        prop_assert_eq!(RoleInput::parse(&wire, true).unwrap(), RoleInput {
            permissions: Some(rec.permissions.clone()),
            ..input
        });
    }

    #[test]
    fn role_rule_breaks_are_refused_naming_the_field(
        case in valid_role(),
        which in 0..17usize,
        junk in junk(),
    ) {
        prop_assume!(Permission::parse(&junk.word).is_none());
        let mut body = case.body.clone();
        let want = match which {
            0 => {
                body.remove("name");
                Want::Missing("name")
            }
            1 => {
                body.insert("name".into(), Value::Null);
                Want::Missing("name")
            }
            2 => {
                body.insert("name".into(), junk.bad_name.clone().into());
                Want::Invalid("name")
            }
            3 => {
                body.insert("name".into(), junk.not_string.clone());
                Want::Invalid("name")
            }
            4 => {
                body.insert("identities".into(), junk.not_list.clone());
                Want::Invalid("identities")
            }
            5 => {
                body.insert("identities".into(), json!([{ "urn": junk.not_urn }]));
                Want::Invalid("identities")
            }
            6 => {
                body.insert("identities".into(), json!([junk.not_object]));
                Want::Invalid("identities")
            }
            7 => {
                body.insert("clients".into(), junk.not_list.clone());
                Want::Invalid("clients")
            }
            8 => {
                body.insert("clients".into(), json!([{ "Urn": junk.not_urn }]));
                Want::Invalid("clients")
            }
            9 => {
                body.insert("clients".into(), json!([{ "url": "/n/v1/apiclient/x" }]));
                Want::Missing("clients")
            }
            10 => {
                body.insert("permissions".into(), junk.not_list.clone());
                Want::Invalid("permissions")
            }
            11 => {
                body.insert("permissions".into(), json!(["READ", junk.word]));
                Want::Invalid("permissions")
            }
            12 => {
                // Labels are compared exactly.
                body.insert("permissions".into(), json!(["read"]));
                Want::Invalid("permissions")
            }
            13 => {
                body.insert("permissions".into(), json!([junk.not_string]));
                Want::Invalid("permissions")
            }
            14 => {
                body.remove("owner");
                Want::Missing("owner")
            }
            15 => {
                body.insert("owner".into(), json!({ "urn": junk.not_urn }));
                Want::Invalid("owner")
            }
            _ => {
                body.insert("owner".into(), junk.not_object.clone());
                Want::Invalid("owner")
            }
        };
        let body = Value::Object(body);
        check_refusal(&RoleInput::parse(&body, true).unwrap_err(), want)?;
        if which < 14 {
            check_refusal(&RoleInput::parse(&body, false).unwrap_err(), want)?;
        } else {
            prop_assert!(RoleInput::parse(&body, false).is_ok());
        }
    }
}

// ---------------------------------------------------------------------------------------
// OAuth clients

fn host() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}"
}

/// Port, path and query: nothing of them may change the host.
fn rest_of_url() -> impl Strategy<Value = String> {
    (
        prop::option::of(any::<u16>()),
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,8}){0,3}(\\?[A-Za-z0-9=&._~/?-]{0,10})?",
    )
        .prop_map(|(port, path)| match port {
            Some(p) => format!(":{p}{path}"),
            None => path,
        })
}

fn redirect_uri() -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::option::of("[a-z]{1,6}@"), host(), rest_of_url())
            .prop_map(|(user, h, rest)| format!("https://{}{h}{rest}", user.unwrap_or_default())),
        (
            prop::sample::select(vec!["localhost", "127.0.0.1", "[::1]"]),
            rest_of_url()
        )
            .prop_map(|(h, rest)| format!("http://{h}{rest}")),
    ]
}

fn homepage() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https"]),
        host(),
        rest_of_url(),
    )
        .prop_map(|(scheme, h, rest)| format!("{scheme}://{h}{rest}"))
}

/// Grant types that keep every rule for a client of `client_type`, in any order.
fn grant_types(public: bool) -> impl Strategy<Value = Vec<String>> {
    let mut combos: Vec<Vec<&'static str>> = vec![
        vec!["AUTHORIZATION_CODE"],
        vec!["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
    ];
    if !public {
        combos.push(vec!["CLIENT_CREDENTIALS"]);
        combos.push(vec!["CLIENT_CREDENTIALS", "AUTHORIZATION_CODE"]);
        combos.push(vec![
            "CLIENT_CREDENTIALS",
            "AUTHORIZATION_CODE",
            "REFRESH_TOKEN",
        ]);
    }
    prop::sample::select(combos)
        .prop_flat_map(|c| Just(c.into_iter().map(String::from).collect::<Vec<_>>()).prop_shuffle())
}

#[derive(Debug, Clone)]
struct OAuthCase {
    body: Map<String, Value>,
    fields: OAuthFields,
}

/// A body field that is optional: absent, null, or the value.
fn optional<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = (Option<T>, bool)> {
    (prop::option::of(s), any::<bool>())
}

fn put_optional(body: &mut Map<String, Value>, key: &str, v: &(Option<Value>, bool)) {
    match v {
        (Some(x), _) => {
            body.insert(key.into(), x.clone());
        }
        (None, true) => {
            body.insert(key.into(), Value::Null);
        }
        (None, false) => {}
    }
}

fn as_value<T: Into<Value> + Clone>(o: &(Option<T>, bool)) -> (Option<Value>, bool) {
    (o.0.clone().map(Into::into), o.1)
}

fn valid_oauth() -> impl Strategy<Value = OAuthCase> {
    let types = prop::option::of(prop::sample::select(vec!["CONFIDENTIAL", "PUBLIC"]));
    (types, any::<bool>()).prop_flat_map(|(client_type, null_type)| {
        let public = client_type == Some("PUBLIC");
        let texts = (printable(128), ".*", optional(".*"), optional(homepage()));
        let numbers = (
            validity(),
            optional(validity()),
            prop::sample::select(vec!["ONLINE", "OFFLINE"]),
            any::<bool>(),
            [
                optional(any::<bool>()),
                optional(any::<bool>()),
                optional(any::<bool>()),
            ],
        );
        let lists = (
            grant_types(public),
            prop::collection::vec(redirect_uri(), 0..4),
            redirect_uri(),
            optional(prop::collection::vec(".*", 0..3)),
        );
        (texts, numbers, lists, extras()).prop_map(
            move |(
                (name, description, business, home),
                (access, refresh, access_type, enabled, flags),
                (grants, mut uris, one_uri, scope),
                mut body,
            )| {
                if grants.iter().any(|g| g == "AUTHORIZATION_CODE") && uris.is_empty() {
                    uris.push(one_uri);
                }
                body.insert("name".into(), name.clone().into());
                body.insert("description".into(), description.clone().into());
                body.insert("accessTokenValiditySeconds".into(), access.into());
                body.insert("grantTypes".into(), json!(grants));
                body.insert("accessType".into(), access_type.into());
                body.insert("enabled".into(), enabled.into());
                body.insert("redirectUris".into(), json!(uris));
                match client_type {
                    Some(t) => {
                        body.insert("type".into(), t.into());
                    }
                    None if null_type => {
                        body.insert("type".into(), Value::Null);
                    }
                    None => {}
                }
                put_optional(&mut body, "businessName", &as_value(&business));
                put_optional(&mut body, "homepageUrl", &as_value(&home));
                put_optional(
                    &mut body,
                    "refreshTokenValiditySeconds",
                    &as_value(&refresh),
                );
                for (key, flag) in ["internal", "strongAuthSupported", "claimsSupported"]
                    .into_iter()
                    .zip(&flags)
                {
                    put_optional(&mut body, key, &as_value(flag));
                }
                put_optional(
                    &mut body,
                    "scope",
                    &(scope.0.as_ref().map(|s| json!(s)), scope.1),
                );
                let fields = OAuthFields {
                    // `""` means none, as a representation shows none.
                    business_name: business.0.filter(|s| !s.is_empty()),
                    homepage_url: home.0,
                    name,
                    description,
                    access_token_validity_seconds: access,
                    refresh_token_validity_seconds: refresh.0.unwrap_or(86_400),
                    redirect_uris: uris,
                    grant_types: grants,
                    access_type: access_type.into(),
                    client_type: client_type.unwrap_or("CONFIDENTIAL").into(),
                    internal: flags[0].0.unwrap_or(false),
                    enabled,
                    strong_auth_supported: flags[1].0.unwrap_or(false),
                    claims_supported: flags[2].0.unwrap_or(false),
                    scope: scope
                        .0
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| vec!["sp:scopes:all".into()]),
                };
                OAuthCase { body, fields }
            },
        )
    })
}

/// A redirect URI that breaks a rule.
fn bad_redirect_uri() -> impl Strategy<Value = String> {
    let non_loopback = host().prop_filter("not loopback", |h| h != "localhost");
    prop_oneof![
        // http off the loopback hosts
        (non_loopback, rest_of_url()).prop_map(|(h, r)| format!("http://{h}{r}")),
        // a loopback name as a prefix of another host, or behind userinfo
        host().prop_map(|h| format!("http://localhost.{h}/cb")),
        host().prop_map(|h| format!("http://localhost@{h}/cb")),
        host().prop_map(|h| format!("http://{h}\\@localhost/cb")),
        // a fragment
        (redirect_uri(), "[a-z]{0,5}").prop_map(|(u, f)| format!("{u}#{f}")),
        // not absolute
        "/[a-z/]{0,10}",
        host(),
        Just("https://".to_string()),
        Just("https:///cb".to_string()),
        // another scheme
        (
            prop::sample::select(vec!["ftp", "file", "javascript", "myapp", "ws"]),
            host()
        )
            .prop_map(|(s, h)| format!("{s}://{h}/cb")),
        // whitespace
        (redirect_uri(), prop::sample::select(vec![" ", "\t", "\n"]))
            .prop_map(|(u, w)| format!("{u}{w}x")),
    ]
}

fn bad_homepage() -> impl Strategy<Value = String> {
    prop_oneof![
        host(),
        "/[a-z/]{0,10}",
        Just("https://".to_string()),
        (
            prop::sample::select(vec!["ftp", "file", "mailto", "ws"]),
            host()
        )
            .prop_map(|(s, h)| format!("{s}://{h}")),
        host().prop_map(|h| format!("mailto:me@{h}")),
    ]
}

/// An integer from 1 to 31536000, the bounds drawn often.
fn validity() -> impl Strategy<Value = i64> {
    prop_oneof![Just(1), Just(MAX_VALIDITY), 1..=MAX_VALIDITY]
}

/// A validity that is not an integer from 1 to 31536000.
fn bad_validity() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(MAX_VALIDITY + 1)),
        (i64::MIN..=0).prop_map(Value::from),
        (MAX_VALIDITY + 1..=i64::MAX).prop_map(Value::from),
        (u64::MAX / 2..=u64::MAX).prop_map(Value::from),
        (1..=MAX_VALIDITY).prop_map(|n| json!(n as f64 + 0.5)),
        (1..=MAX_VALIDITY).prop_map(|n| json!(n.to_string())),
        any::<bool>().prop_map(Value::from),
    ]
}

#[derive(Debug, Clone)]
struct OAuthJunk {
    bad_uri: String,
    bad_home: String,
    bad_validity: Value,
    blank: String,
}

fn oauth_junk() -> impl Strategy<Value = OAuthJunk> {
    (
        bad_redirect_uri(),
        bad_homepage(),
        bad_validity(),
        "[ \t\n\u{a0}\u{2003}]{0,4}",
    )
        .prop_map(|(bad_uri, bad_home, bad_validity, blank)| OAuthJunk {
            bad_uri,
            bad_home,
            bad_validity,
            blank,
        })
}

fn grants_of(body: &Map<String, Value>) -> Vec<String> {
    serde_json::from_value(body["grantTypes"].clone()).unwrap()
}

/// Breaks one OAuth create rule; gives the field a cause must name.
fn break_oauth(
    body: &mut Map<String, Value>,
    which: usize,
    pick: prop::sample::Index,
    junk: &Junk,
    oj: &OAuthJunk,
) -> &'static str {
    const REQUIRED: [&str; 6] = [
        "name",
        "description",
        "accessTokenValiditySeconds",
        "grantTypes",
        "accessType",
        "enabled",
    ];
    const STRINGS: [&str; 6] = [
        "name",
        "description",
        "accessType",
        "type",
        "businessName",
        "homepageUrl",
    ];
    const BOOLS: [&str; 4] = [
        "enabled",
        "internal",
        "strongAuthSupported",
        "claimsSupported",
    ];
    const LISTS: [&str; 3] = ["grantTypes", "redirectUris", "scope"];
    let public = body.get("type").and_then(Value::as_str) == Some("PUBLIC");
    let mut grants = grants_of(body);
    match which {
        0 => {
            let f = *pick.get(&REQUIRED);
            body.remove(f);
            f
        }
        1 => {
            let f = *pick.get(&REQUIRED);
            body.insert(f.into(), Value::Null);
            f
        }
        2 => {
            body.insert("name".into(), oj.blank.clone().into());
            "name"
        }
        3 => {
            body.insert("grantTypes".into(), json!([]));
            "grantTypes"
        }
        4 => {
            let bogus = if GRANT_TYPES.contains(&junk.word.as_str()) {
                "IMPLICIT".to_string()
            } else {
                junk.word.clone()
            };
            let at = pick.index(grants.len() + 1);
            grants.insert(at, bogus);
            body.insert("grantTypes".into(), json!(grants));
            "grantTypes"
        }
        5 => {
            let again = pick.get(&grants).clone();
            grants.push(again);
            body.insert("grantTypes".into(), json!(grants));
            "grantTypes"
        }
        6 => {
            let g = if public {
                vec!["REFRESH_TOKEN"]
            } else {
                vec!["CLIENT_CREDENTIALS", "REFRESH_TOKEN"]
            };
            body.insert("grantTypes".into(), json!(g));
            "grantTypes"
        }
        7 => {
            if !grants.iter().any(|g| g == "AUTHORIZATION_CODE") {
                grants.push("AUTHORIZATION_CODE".into());
                body.insert("grantTypes".into(), json!(grants));
            }
            let empty = if pick.index(2) == 0 {
                json!([])
            } else {
                Value::Null
            };
            body.insert("redirectUris".into(), empty);
            "redirectUris"
        }
        8 => {
            let mut uris: Vec<String> =
                serde_json::from_value(body["redirectUris"].clone()).unwrap();
            let at = pick.index(uris.len() + 1);
            uris.insert(at, oj.bad_uri.clone());
            body.insert("redirectUris".into(), json!(uris));
            "redirectUris"
        }
        9 => {
            let word = if matches!(junk.word.as_str(), "ONLINE" | "OFFLINE") {
                "online".to_string()
            } else {
                junk.word.clone()
            };
            body.insert("accessType".into(), word.into());
            "accessType"
        }
        10 => {
            let word = if matches!(junk.word.as_str(), "CONFIDENTIAL" | "PUBLIC") {
                "public".to_string()
            } else {
                junk.word.clone()
            };
            body.insert("type".into(), word.into());
            "type"
        }
        11 => {
            body.insert("type".into(), "PUBLIC".into());
            if !grants.iter().any(|g| g == "CLIENT_CREDENTIALS") {
                let at = pick.index(grants.len() + 1);
                grants.insert(at, "CLIENT_CREDENTIALS".into());
                body.insert("grantTypes".into(), json!(grants));
            }
            "grantTypes"
        }
        12 => {
            body.insert("accessTokenValiditySeconds".into(), oj.bad_validity.clone());
            "accessTokenValiditySeconds"
        }
        13 => {
            body.insert(
                "refreshTokenValiditySeconds".into(),
                oj.bad_validity.clone(),
            );
            "refreshTokenValiditySeconds"
        }
        14 => {
            body.insert("homepageUrl".into(), oj.bad_home.clone().into());
            "homepageUrl"
        }
        15 => {
            let f = *pick.get(&BOOLS);
            let v = match &junk.not_string {
                Value::Bool(_) => json!("true"),
                v => v.clone(),
            };
            body.insert(f.into(), v);
            f
        }
        16 => {
            let f = *pick.get(&STRINGS);
            body.insert(f.into(), junk.not_string.clone());
            f
        }
        _ => {
            let f = *pick.get(&LISTS);
            let v = if pick.index(2) == 0 {
                junk.not_list.clone()
            } else {
                json!(["x", 1])
            };
            body.insert(f.into(), v);
            f
        }
    }
}

proptest! {
    #[test]
    fn valid_oauth_clients_are_accepted_and_round_trip(case in valid_oauth()) {
        let body = Value::Object(case.body.clone());
        let fields = parse_oauth(&body).unwrap();
        prop_assert_eq!(&fields, &case.fields);
        let rec = OAuthClient { rev: None, previous_secret: None, owner: None,
            id: "0".repeat(32),
            secret_digest: "0".repeat(64),
            fields: fields.clone(),
            created: 1_500_000_000_000,
            modified: 1_500_000_000_001,
            last_used: None,
        };
        for secret in [None, Some("f".repeat(64))] {
            let wire = oauth_json(&rec, secret.as_deref());
            prop_assert_eq!(&parse_oauth(&wire).unwrap(), &fields);
        }
    }

    #[test]
    fn oauth_rule_breaks_are_refused_naming_the_field(
        case in valid_oauth(),
        which in 0..18usize,
        pick in any::<prop::sample::Index>(),
        junk in junk(),
        oj in oauth_junk(),
    ) {
        let mut body = case.body.clone();
        let field = break_oauth(&mut body, which, pick, &junk, &oj);
        let e = parse_oauth(&Value::Object(body.clone())).unwrap_err();
        check_oauth_refusal(&e, field)?;
    }
}

proptest! {
    /// A JSON Patch of patchable fields gives exactly the patched fields when they keep
    /// the create rules, and is refused naming the broken rules, changing nothing, when
    /// they do not; any other path is an illegal update.
    #[test]
    fn oauth_patches_keep_the_create_rules(
        a in valid_oauth(),
        b in valid_oauth(),
        chosen in prop::collection::vec(any::<bool>(), OAUTH_PATCHABLE.len()),
        other in prop::sample::select(vec!["/type", "/internal", "/scope", "/id", "/secret", "/created", "/lastUsed", ""]),
    ) {
        let f = fixture();
        let (made, _) = f.svc.create_oauth_json(&f.me, &Value::Object(a.body.clone())).unwrap();
        let theirs = serde_json::to_value(&b.fields).unwrap();
        let mut expected = serde_json::to_value(&a.fields).unwrap();
        let mut ops = Vec::new();
        for (field, take) in OAUTH_PATCHABLE.iter().zip(&chosen) {
            if *take {
                ops.push(json!({"op": "replace", "path": format!("/{field}"), "value": theirs[field]}));
                expected[field] = theirs[field].clone();
            }
        }
        let expected: OAuthFields = serde_json::from_value(expected).unwrap();
        let breaks = oauth_rule_breaks(&expected);
        match f.svc.patch_oauth_json(&f.me, &made.id, &json!(ops)) {
            Ok(rec) => {
                prop_assert!(breaks.is_empty(), "accepted though {breaks:?}");
                prop_assert_eq!(&rec.fields, &expected);
            }
            Err(Error::InvalidMany(causes)) => {
                prop_assert!(!breaks.is_empty(), "refused a valid patch: {causes:?}");
                prop_assert_eq!(causes, breaks);
                prop_assert_eq!(f.svc.store().oauth(&made.id).unwrap(), Some(made.clone()));
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
        let mut illegal = ops.clone();
        illegal.push(json!({"op": "replace", "path": other, "value": "x"}));
        let e = f.svc.patch_oauth_json(&f.me, &made.id, &json!(illegal)).unwrap_err();
        prop_assert!(matches!(e, Error::IllegalUpdate(_)), "{e:?}");
        f.svc.delete_oauth(&f.me, &made.id).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// JSON Patch limits

/// A pointer into a patchable field, maybe into nested arrays, maybe ending in `-`.
fn patch_path() -> impl Strategy<Value = String> {
    (
        prop::sample::select(OAUTH_PATCHABLE.to_vec()),
        prop::collection::vec(0..3usize, 0..6),
        any::<bool>(),
    )
        .prop_map(|(field, steps, dash)| {
            let mut p = format!("/{field}");
            for s in steps {
                p.push_str(&format!("/{s}"));
            }
            if dash {
                p.push_str("/-");
            }
            p
        })
}

/// Arrays nested up to 50 deep (past the limit of 32), the outermost one to three wide
/// (only the outermost: widening every level would grow exponentially).
fn nested_value() -> impl Strategy<Value = Value> {
    (0..50usize, 1..=3usize, prop::bool::ANY).prop_map(|(depth, width, uri)| {
        let mut v = if uri {
            json!("https://a.example/cb")
        } else {
            json!("CLIENT_CREDENTIALS")
        };
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        Value::Array(vec![v; width])
    })
}

fn patch_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (patch_path(), patch_path())
            .prop_map(|(from, path)| json!({"op": "copy", "from": from, "path": path})),
        3 => (patch_path(), patch_path())
            .prop_map(|(from, path)| json!({"op": "move", "from": from, "path": path})),
        3 => (patch_path(), nested_value())
            .prop_map(|(path, value)| json!({"op": "add", "path": path, "value": value})),
        1 => patch_path().prop_map(|path| json!({"op": "remove", "path": path})),
    ]
}

/// How deep `v` nests, the value itself counting 1 if it is an array or object.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        let children: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => continue,
        };
        deepest = deepest.max(d);
        stack.extend(children.into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random sequences of copy, move, add (of nested arrays) and remove: never a panic
    /// or a fault; either applied with a result within the limits of API.md, or refused
    /// as bad input with nothing changed.
    #[test]
    fn random_patches_are_applied_within_the_limits_or_refused(
        ops in prop::collection::vec(patch_op(), 0..130),
        doublings in 0..20usize,
    ) {
        let f = fixture();
        let body = json!({"name": "p", "description": "d", "accessTokenValiditySeconds": 60,
            "grantTypes": ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS"],
            "redirectUris": ["https://a.example/cb"], "accessType": "ONLINE", "enabled": true});
        let (made, _) = f.svc.create_oauth_json(&f.me, &body).unwrap();
        // Some cases start by doubling redirectUris, toward the size limit.
        let mut all: Vec<Value> = (0..doublings)
            .map(|_| json!({"op": "copy", "from": "/redirectUris", "path": "/redirectUris/-"}))
            .collect();
        all.extend(ops);
        match f.svc.patch_oauth_json(&f.me, &made.id, &Value::Array(all.clone())) {
            Ok(rec) => {
                prop_assert!(all.len() <= 100, "{} operations accepted", all.len());
                let doc = serde_json::to_value(&rec.fields).unwrap();
                prop_assert!(serde_json::to_vec(&doc).unwrap().len() <= 64 * 1024);
                prop_assert!(depth(&doc) <= 32);
                prop_assert!(oauth_rule_breaks(&rec.fields).is_empty());
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), baack::ErrorKind::Invalid, "{}", e);
                prop_assert_eq!(f.svc.store().oauth(&made.id).unwrap(), Some(made.clone()));
            }
        }
        f.svc.delete_oauth(&f.me, &made.id).unwrap();
    }
}
