//! `baack audit …`: the audit log (`log`, with `--follow`), the hygiene gate for CI
//! (`check`), and how long the store keeps events (`retention`).

use std::time::Duration;

use baack::Error;
use baack::clock::{format_baack, parse_timestamp};
use baack::model::AUDIT_ACTIONS;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::output::{Failure, Kind, coarse, expiry_of};
use super::{Ctx, Target, complete, enc, parse_duration};

/// Where audit events live.
const EVENTS: &str = "/n/v1/auditevent/";

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Show audit events: who changed what, and refused requests, oldest first
    ///
    /// Shows the newest --limit events that match, oldest first, as a log reads. Every
    /// change (create, update, revoke, rotate, grant, delete) has one, written in the
    /// same commit as the change; a request refused to a valid token for lack of
    /// permission has one too (action auth.denied, at most one per token per minute).
    /// --follow then waits for new ones and prints them as they come (polling, like
    /// `kubectl get -w`; with -o json, one event per line).
    Log {
        /// Only events this recent (24h, 7d) or since this time (RFC 3339, or Baack's
        /// zone-less UTC form)
        #[arg(long, value_name = "DURATION|TIMESTAMP", value_parser = parse_since)]
        since: Option<i64>,
        /// Only events up to this time
        #[arg(long, value_name = "TIMESTAMP", value_parser = parse_at)]
        until: Option<i64>,
        /// Only this action (apiclientbearertoken.create, auth.denied, …)
        #[arg(long, value_name = "ACTION", value_parser = AUDIT_ACTIONS)]
        action: Option<String>,
        /// Only events by this API client: URN or clientID
        #[arg(long, value_name = "REF", add = complete::clients())]
        actor: Option<String>,
        /// Only events about this object: a URN, or an OAuth client id
        #[arg(long, value_name = "URN|ID")]
        target: Option<String>,
        /// At most this many events (the newest)
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Keep waiting for new events and print them as they come (Ctrl-C stops)
        #[arg(long, short = 'f')]
        follow: bool,
        /// With --follow: how often to ask for new events
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "2s", requires = "follow")]
        interval: Duration,
    },
    /// Fail (exit 10) when tokens or OAuth clients break a hygiene rule: a gate for CI
    ///
    /// Lists every live bearer token and every enabled OAuth client that breaks one of
    /// the --fail-on rules, and exits 10 when there is any (0 when none). Rules:
    /// no-expiry (a token that never expires), expires-within=DURATION (a token that
    /// expires that soon: rotate it), unused-for=DURATION (a token or OAuth client
    /// unused that long: delete it). Needs READ.
    Check {
        /// The rules, comma-separated: no-expiry,expires-within=7d,unused-for=90d
        #[arg(long, value_name = "RULES", value_delimiter = ',', required = true, value_parser = parse_rule)]
        fail_on: Vec<Rule>,
    },
    /// Show or set how long the store keeps audit events (the embedded store only)
    ///
    /// Events past either bound are dropped, whole segments at a time, as new ones are
    /// written; listings never show them. Defaults: 100000 events, 365 days.
    Retention {
        /// Keep at most this many events (the newest)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        keep: Option<u64>,
        /// Keep events at most this long (whole days: 90d, 365d)
        #[arg(long, value_name = "DURATION", value_parser = parse_days)]
        max_age: Option<u64>,
    },
}

/// A rule of `audit check --fail-on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A token that never expires.
    NoExpiry,
    /// A token that expires within this long.
    ExpiresWithin(Duration),
    /// A token or OAuth client unused for this long.
    UnusedFor(Duration),
}

/// The rule names, for messages.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RuleName {
    NoExpiry,
    ExpiresWithin,
    UnusedFor,
}

fn parse_rule(s: &str) -> Result<Rule, String> {
    let (name, arg) = match s.trim().split_once('=') {
        Some((n, a)) => (n.trim(), Some(a.trim())),
        None => (s.trim(), None),
    };
    let spelled = "no-expiry, expires-within=DURATION, unused-for=DURATION";
    let d = || -> Result<Duration, String> {
        match arg {
            Some(a) => parse_duration(a),
            None => Err(format!("`{name}` needs a duration, like {name}=7d")),
        }
    };
    match RuleName::from_str(name, true) {
        Ok(RuleName::NoExpiry) if arg.is_none() => Ok(Rule::NoExpiry),
        Ok(RuleName::NoExpiry) => Err("`no-expiry` takes no value".into()),
        Ok(RuleName::ExpiresWithin) => Ok(Rule::ExpiresWithin(d()?)),
        Ok(RuleName::UnusedFor) => Ok(Rule::UnusedFor(d()?)),
        Err(_) => Err(format!("`{s}` is not a rule; use {spelled}")),
    }
}

fn parse_at(s: &str) -> Result<i64, String> {
    parse_timestamp(s).ok_or_else(|| {
        format!("`{s}` is not a timestamp like 2026-07-04T14:34:19Z or 2026-07-04T14:34:19.610")
    })
}

/// A `--since`: a duration back from now, or a time.
fn parse_since(s: &str) -> Result<i64, String> {
    if let Some(t) = parse_timestamp(s) {
        return Ok(t);
    }
    let d = parse_duration(s).map_err(|_| {
        format!("`{s}` is neither a duration (24h, 7d) nor a timestamp (2026-07-04T14:34:19Z)")
    })?;
    Ok(now_ms().saturating_sub(d.as_millis().min(i64::MAX as u128) as i64))
}

fn parse_days(s: &str) -> Result<u64, String> {
    let d = parse_duration(s)?;
    let days = d.as_secs() / 86_400;
    if days == 0 || d.as_secs() % 86_400 != 0 {
        return Err(format!("`{s}` is not a whole number of days, like 90d"));
    }
    Ok(days)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs an audit command.
pub fn run(ctx: &Ctx, cmd: AuditCmd) -> Result<(), Failure> {
    match cmd {
        AuditCmd::Log {
            since,
            until,
            action,
            actor,
            target,
            limit,
            follow,
            interval,
        } => {
            let mut q = String::new();
            if let Some(a) = &action {
                q.push_str(&format!("&action={}", enc(a)));
            }
            if let Some(a) = &actor {
                let c = super::clients::resolve(ctx, a)?;
                q.push_str(&format!("&actor={}", enc(&super::clients::urn_of(&c))));
            }
            if let Some(t) = &target {
                q.push_str(&format!("&target={}", enc(t)));
            }
            if let Some(u) = until {
                q.push_str(&format!("&until={}", enc(&format_baack(u))));
            }
            let mut events = page(ctx, &q, since, limit as usize)?;
            events.reverse();
            let names = ctx.client_names();
            if !follow {
                return ctx.out.list_named(Kind::Audit, &events, &names);
            }
            follow_log(ctx, &q, events, interval, &names)
        }
        AuditCmd::Check { fail_on } => check(ctx, &fail_on),
        AuditCmd::Retention { keep, max_age } => retention(ctx, keep, max_age),
    }
}

/// The newest `limit` events matching `q` (and `since`), newest first, following the
/// pages.
fn page(ctx: &Ctx, q: &str, since: Option<i64>, limit: usize) -> Result<Vec<Value>, Error> {
    let mut path = format!("{EVENTS}?limit={}{q}", limit.min(1000));
    if let Some(s) = since {
        path.push_str(&format!("&since={}", enc(&format_baack(s))));
    }
    let mut out: Vec<Value> = Vec::new();
    loop {
        let body = ctx.get(&path).map_err(no_audit)?;
        if let Some(items) = body.get("auditEvents").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        match body.get("nextPage").and_then(Value::as_str) {
            Some(next) if out.len() < limit => path = next.to_string(),
            _ => break,
        }
    }
    out.truncate(limit);
    Ok(out)
}

/// A server without the audit log says so (exit 9), not "not found".
fn no_audit(e: Error) -> Error {
    match e.kind() {
        baack::ErrorKind::NotFound | baack::ErrorKind::NoEndpoint => Error::NoEndpoint(format!(
            "this server has no audit log (GET {EVENTS} answered: {e}), or this token may not read it (it needs READ)"
        )),
        _ => e,
    }
}

/// `audit log --follow`: prints `shown`, then every new event as it comes, until
/// interrupted. Events are asked for from the newest time seen; those already printed
/// (events share a millisecond) are skipped by URN.
fn follow_log(
    ctx: &Ctx,
    q: &str,
    shown: Vec<Value>,
    interval: Duration,
    names: &super::output::Names,
) -> Result<(), Failure> {
    use std::collections::HashSet;
    let stamp = |e: &Value| {
        e.get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut from = shown.iter().filter_map(stamp).max().unwrap_or_else(now_ms);
    let urn = |e: &Value| {
        e.get("urn")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let print = |batch: &[Value], first: bool| -> Result<(), Failure> {
        if ctx.out.machine() {
            for e in batch {
                ctx.out.json_line(e)?;
            }
            Ok(())
        } else {
            ctx.out.rows(Kind::Audit, batch, names, first)
        }
    };
    for e in &shown {
        seen.insert(urn(e));
    }
    print(&shown, true)?;
    let mut first = shown.is_empty();
    loop {
        std::thread::sleep(interval);
        let mut batch = page(ctx, q, Some(from), 1000)?;
        batch.retain(|e| !seen.contains(&urn(e)));
        if batch.is_empty() {
            continue;
        }
        batch.reverse();
        // Only the URNs at the newest millisecond can come again.
        let newest = batch.iter().filter_map(stamp).max().unwrap_or(from);
        if newest > from {
            seen.clear();
            from = newest;
        }
        for e in &batch {
            if stamp(e) == Some(from) {
                seen.insert(urn(e));
            }
        }
        print(&batch, first)?;
        first = false;
    }
}

/// `audit check`: what breaks the rules, and exit 10 when anything does.
fn check(ctx: &Ctx, rules: &[Rule]) -> Result<(), Failure> {
    let now = now_ms();
    let tokens = ctx.list_all(
        "/n/v1/apiclientbearertoken/?limit=1000",
        "bearerTokens",
        "token",
    )?;
    let wants_use = rules.iter().any(|r| matches!(r, Rule::UnusedFor(_)));
    if wants_use {
        super::tokens::reports_last_use(&tokens, "tokens", "--fail-on unused-for")?;
    }
    // Findings name clients in every format: they are what a person acts on.
    let names: super::output::Names = ctx
        .client
        .list_all("/n/v1/apiclient/?limit=1000", "apiClients")
        .map(|cs| cs.iter().filter_map(super::name_entry).collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    let ts = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(parse_timestamp);
    for t in &tokens {
        let expiry = expiry_of(t);
        if expiry.is_some_and(|e| e <= now) {
            continue; // dead already: nothing to fix
        }
        let client = t["apiClient"]["urn"].as_str().unwrap_or_default();
        let name = names
            .get(client)
            .cloned()
            .unwrap_or_else(|| client.to_string());
        let urn = t["urn"].as_str().unwrap_or_default();
        let mut found = |rule: String, why: String| {
            findings.push(json!({
                "kind": "token", "name": name, "id": urn, "rule": rule, "why": why,
            }));
        };
        for r in rules {
            match r {
                Rule::NoExpiry if expiry.is_none() => {
                    found("no-expiry".into(), "never expires".into());
                }
                Rule::ExpiresWithin(d) => {
                    if let Some(e) = expiry.filter(|e| e - now <= d.as_millis() as i64) {
                        found(
                            format!("expires-within={}", coarse(d.as_millis() as i64)),
                            format!("expires in {}", coarse(e - now)),
                        );
                    }
                }
                Rule::UnusedFor(d) => {
                    if let Some(why) = unused(ts(t, "lastUsed"), ts(t, "created"), now, *d) {
                        found(format!("unused-for={}", coarse(d.as_millis() as i64)), why);
                    }
                }
                Rule::NoExpiry => {}
            }
        }
    }
    if let Some(d) = rules.iter().find_map(|r| match r {
        Rule::UnusedFor(d) => Some(*d),
        _ => None,
    }) {
        let oauth = super::oauth::list_all(ctx, None)?;
        for o in oauth.iter().filter(|o| o["enabled"] != json!(false)) {
            if let Some(why) = unused(ts(o, "lastUsed"), ts(o, "created"), now, d) {
                findings.push(json!({
                    "kind": "oauth",
                    "name": o["name"],
                    "id": o["id"],
                    "rule": format!("unused-for={}", coarse(d.as_millis() as i64)),
                    "why": why,
                }));
            }
        }
    }
    ctx.out.list_named(Kind::Finding, &findings, &names)?;
    if findings.is_empty() {
        ctx.out.note(&format!(
            "{} tokens checked: none breaks the rules",
            tokens.len()
        ));
        return Ok(());
    }
    Err(Error::CheckFailed(format!(
        "{} finding(s) break --fail-on: rotate what expires (`baack token rotate URN --overlap 24h`), give what never expires an expiry, delete what is unused",
        findings.len()
    ))
    .into())
}

/// Why something made at `created` and last used at `last_used` counts as unused for
/// `d` at `now`, if it does.
fn unused(last_used: Option<i64>, created: Option<i64>, now: i64, d: Duration) -> Option<String> {
    let d = d.as_millis() as i64;
    match (last_used, created) {
        (Some(u), _) if now - u >= d => Some(format!("last used {} ago", coarse(now - u))),
        (None, Some(c)) if now - c >= d => {
            Some(format!("never used, made {} ago", coarse(now - c)))
        }
        (None, None) => Some("never used".into()),
        _ => None,
    }
}

/// `audit retention`: reads or sets the store's setting, itself an audited change.
fn retention(ctx: &Ctx, keep: Option<u64>, max_age: Option<u64>) -> Result<(), Failure> {
    let Target::Embedded(path) = &ctx.settings.target else {
        return Err(Error::Usage(
            "retention is a setting of the store itself: run this where the store is (--store PATH), not against an API URL".into(),
        )
        .into());
    };
    let store = super::open_store(path, ctx.settings.target_origin, &ctx.out)?;
    let mut r = store.audit_retention()?;
    if keep.is_some() || max_age.is_some() {
        let before = r;
        r.max_events = keep.unwrap_or(r.max_events);
        r.max_days = max_age.unwrap_or(r.max_days);
        if r != before {
            let svc = baack::service::Service::new(
                store.clone(),
                std::sync::Arc::new(baack::clock::SystemClock),
            );
            let root = svc.root_caller()?;
            svc.set_audit_retention(&root, &r)?;
        }
    }
    let v = json!({ "maxEvents": r.max_events, "maxDays": r.max_days });
    if ctx.out.machine() {
        return ctx.out.json(&v);
    }
    ctx.out.table(
        &["FIELD", "VALUE"],
        vec![
            vec!["maxEvents".into(), r.max_events.to_string()],
            vec!["maxDays".into(), r.max_days.to_string()],
        ],
    )
}

/// The flag that sets each API field, for invalid-input messages.
pub fn flags(_cmd: &AuditCmd) -> super::FlagMap {
    &[
        ("since", "--since"),
        ("until", "--until"),
        ("actor", "--actor"),
    ]
}
