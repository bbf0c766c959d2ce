//! Warned before it breaks: a command whose own bearer token (the profile's or
//! `BAACK_TOKEN`'s) expires within the profile's `warn_before` (7 days unless set; `0s`
//! never) says so in one line on stderr, at most once an hour per token. The expiry comes
//! from the token's own record, read at most once an hour with a short timeout and
//! remembered in `tokens.toml` of the config directory, keyed by the token's URN (never
//! its secret); where that directory cannot be made, nothing is asked. `BAACK_WARN_BEFORE`
//! overrides the profile's setting, for a `BAACK_TOKEN` without a profile. Only a courtesy: every failure is ignored, and nothing is asked of a
//! server more often than hourly.

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::time::Duration;

use baack::client::{Call, Client, Policy};
use baack::clock::parse_timestamp;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::{TokenSource, config_dir, read_toml, write_private};
use super::output::{Printer, coarse, when};
use super::{Settings, Target, parse_duration};

/// How long an unset `warn_before` is.
pub const DEFAULT_WARN_BEFORE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a record read (or the failure to read one) is trusted, and how long after a
/// warning the same token is not warned of again.
const HOUR: i64 = 3600;

/// How long an entry of a token not used from here is kept.
const FORGET_AFTER: i64 = 30 * 24 * HOUR;

/// The whole budget of the one request: a slow server must not slow the command much.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// The file, in the config directory.
const FILE: &str = "tokens.toml";

/// What is remembered of one token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seen {
    /// When its record was last asked for, in seconds since 1970.
    #[serde(default)]
    pub checked: i64,
    /// Whether the record could be read then (an unreadable one leaves expiry unknown).
    #[serde(default)]
    pub known: bool,
    /// Its `expirationTimestamp`, as the server wrote it; none: it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The URN of its API client, for the fix the warning names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// When it was last warned of, in seconds since 1970.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned: Option<i64>,
}

impl Seen {
    /// Takes what a read of the token's own `record` says: its expiry and its client.
    fn learn(&mut self, record: &Value) {
        self.known = true;
        self.expires = record
            .get("expirationTimestamp")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.client = record
            .pointer("/apiClient/urn")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    tokens: BTreeMap<String, Seen>,
}

fn load() -> State {
    config_dir()
        .and_then(|d| read_toml(&d.join(FILE)).ok())
        .unwrap_or_default()
}

fn save(state: &State) {
    let Some(dir) = config_dir() else { return };
    if let Ok(text) = toml::to_string_pretty(state) {
        let _ = write_private(&dir.join(FILE), text.as_bytes());
    }
}

/// Whether the state file can be kept: the config directory exists (or can be made,
/// private, as the first `auth login` would make it).
fn can_remember() -> bool {
    let Some(dir) = config_dir() else {
        return false;
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .is_ok()
        && baack::store::check_private_dir(&dir).is_ok()
}

/// Remembers what a fresh read of the token's `record` says, as `auth status` learns it.
pub fn remember(urn: &str, record: &Value, now: i64) {
    let mut state = load();
    let seen = state.tokens.entry(urn.to_string()).or_default();
    seen.checked = now;
    seen.learn(record);
    save(&state);
}

/// `BAACK_WARN_BEFORE`, else the profile's `warn_before`: `None` when it turns warnings off (`0s`), or is not a
/// duration (which `out` says once, naming the fix).
fn window(settings: &Settings, out: &Printer) -> Option<Duration> {
    let env = std::env::var("BAACK_WARN_BEFORE")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (given, whence) = match env {
        Some(v) => (Some(v), "BAACK_WARN_BEFORE"),
        None => (
            settings.warn_before.clone(),
            "the profile's warn_before in config.toml",
        ),
    };
    let d = match given {
        None => DEFAULT_WARN_BEFORE,
        Some(s) => match parse_duration(&s) {
            Ok(d) => d,
            Err(why) => {
                out.warn(&format!(
                    "{whence}: {why}; fix it (`0s` turns the expiry warning off)"
                ));
                return None;
            }
        },
    };
    (!d.is_zero()).then_some(d)
}

/// The warning, if the token `seen` describes expires within `window` of `now_ms`.
fn message(
    seen: &Seen,
    window: Duration,
    now_ms: i64,
    settings: &Settings,
    source: &TokenSource,
    url: &str,
) -> Option<String> {
    let at = parse_timestamp(seen.expires.as_deref()?)?;
    if at - now_ms > window.as_millis() as i64 {
        return None;
    }
    let whose = match source {
        TokenSource::Env => "BAACK_TOKEN's token",
        _ => "this profile's token",
    };
    let state = if at <= now_ms {
        format!("expired {} ago", coarse(now_ms - at))
    } else {
        format!("expires in {}", coarse(at - now_ms))
    };
    let client = seen.client.as_deref().unwrap_or("<its client>");
    let then = match (source, &settings.profile) {
        (TokenSource::Env, _) => "put it in BAACK_TOKEN".to_string(),
        (_, Some(p)) => format!("`baack auth login --profile {p} --api-url {url}`"),
        (_, None) => format!("`baack auth login --api-url {url}`"),
    };
    Some(format!(
        "{whose} {state} ({}); make a new one with `baack token create --client {client}` and {then}",
        when(&Value::from(seen.expires.clone()))
    ))
}

/// Warns on `out` when the command's own token expires soon; silent when `out` is not
/// for people (`-q`, JSON, YAML, `--jq`), in the embedded mode and without a token.
pub fn warn(settings: &Settings, out: &Printer) {
    let Target::Remote {
        url,
        token: Some((token, source)),
    } = &settings.target
    else {
        return;
    };
    if !out.human() {
        return;
    }
    let Some(window) = window(settings, out) else {
        return;
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let now = now_ms / 1000;
    let urn = baack::secret::token_urn(&baack::secret::digest(token));
    // Where nothing can be remembered, asking would add a request to every command.
    if !can_remember() {
        return;
    }
    let mut state = load();
    let mut seen = state.tokens.get(&urn).cloned().unwrap_or_default();
    let before = seen.clone();
    if !(0..HOUR).contains(&(now - seen.checked)) {
        seen.checked = now;
        if let Some(record) = read_record(url, token, &urn) {
            seen.learn(&record);
        }
        // A failed read keeps what was known, and is not retried for an hour.
    }
    let recent = seen.warned.is_some_and(|w| (0..HOUR).contains(&(now - w)));
    if !recent && let Some(msg) = message(&seen, window, now_ms, settings, source, url) {
        out.warn(&msg);
        seen.warned = Some(now);
    }
    if seen != before {
        state.tokens.insert(urn, seen);
        // Tokens not used from here for a month (rotated, deleted) are forgotten, so the
        // file stays small.
        state
            .tokens
            .retain(|_, s| (0..FORGET_AFTER).contains(&(now - s.checked)));
        save(&state);
    }
}

/// The token's own record, or `None` on any failure, within [`TIMEOUT`] and no retry.
fn read_record(url: &str, token: &str, urn: &str) -> Option<Value> {
    let client = Client::remote(
        url,
        Some(token.to_string()),
        Policy {
            timeout: TIMEOUT,
            retries: 0,
        },
    )
    .ok()?;
    let path = super::item_path("/n/v1/apiclientbearertoken/", urn);
    client
        .send(&Call::new(Method::GET, &path))
        .ok()
        .map(|r| r.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(profile: Option<&str>) -> Settings {
        Settings {
            profile: profile.map(str::to_string),
            profile_origin: None,
            target: Target::Embedded("/nonexistent".into()),
            target_origin: super::super::Origin::Default,
            default_owner: None,
            default_token_ttl: None,
            warn_before: None,
        }
    }

    #[test]
    fn warns_within_the_window_only_and_names_the_fix() {
        let now = parse_timestamp("2026-12-02T14:05:00.000").unwrap();
        let seen = |at: &str| Seen {
            known: true,
            expires: Some(at.into()),
            client: Some("urn:c".into()),
            ..Seen::default()
        };
        let week = DEFAULT_WARN_BEFORE;
        let s = settings(Some("prod"));
        let src = TokenSource::Keyring;
        let m = message(
            &seen("2026-12-05T14:05:00.000"),
            week,
            now,
            &s,
            &src,
            "http://x",
        )
        .unwrap();
        assert_eq!(
            m,
            "this profile's token expires in 3d (2026-12-05 14:05 UTC); make a new one with `baack token create --client urn:c` and `baack auth login --profile prod --api-url http://x`"
        );
        assert!(message(&seen("2026-12-10T14:05:00.000"), week, now, &s, &src, "u").is_none());
        let none = Seen {
            known: true,
            ..Seen::default()
        };
        assert!(message(&none, week, now, &s, &src, "u").is_none());
        let env = message(
            &seen("2026-12-02T12:05:00.000"),
            week,
            now,
            &s,
            &TokenSource::Env,
            "u",
        )
        .unwrap();
        assert!(
            env.starts_with("BAACK_TOKEN's token expired 2h ago"),
            "{env}"
        );
        assert!(env.ends_with("and put it in BAACK_TOKEN"), "{env}");
    }
}
