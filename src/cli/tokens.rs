//! `baack token …`: API client bearer tokens.

use std::path::PathBuf;
use std::time::Duration;

use baack::client::Call;
use baack::clock::{RANGE, format_baack, in_range, later_in_range, parse_timestamp};
use baack::model::parse_urn;
use baack::secret::obfuscate;
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{Value, json};

use super::clients::{resolve as resolve_client, urn_of};
use super::output::{Failure, Kind, Names, NewSecret, deliver_or_undo, expiry_of};
use super::secret_file::SecretFile;
use super::{Ctx, complete, confirm, enc, name_entry, parse_duration};

/// The bearer token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a bearer token for a client (the token is shown once)
    ///
    /// Prints the token's secret once (only the secret with -q, for `$(…)`), or writes it
    /// to a new 0600 file with --secret-file. Should the secret not reach its reader (a
    /// closed pipe, a full disk), the token is deleted and the command fails, so no token
    /// exists that nobody holds.
    Create {
        /// The client: URN or clientID
        #[arg(long, value_name = "REF", add = complete::clients())]
        client: String,
        /// Expire after this long (90s, 15m, 24h, 30d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "expires_at")]
        expires_in: Option<Duration>,
        /// Expire at this time (RFC 3339, or Baack's zone-less UTC form)
        #[arg(long, value_name = "TIMESTAMP", value_parser = parse_ts)]
        expires_at: Option<i64>,
        /// Write the token to this new file (mode 0600) instead of printing it
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
    },
    /// List bearer tokens (obfuscated)
    ///
    /// A table names each token's client and its STATUS (active, expires in 3d, expired
    /// 2h ago), sorted by client then expiry. Expired tokens are left out unless --all,
    /// in every output format.
    List {
        /// Only this client's tokens: URN or clientID
        #[arg(long, value_name = "REF", add = complete::clients())]
        client: Option<String>,
        /// Only tokens that expire within this long from now (90s, 15m, 24h, 30d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expiring_within: Option<Duration>,
        /// Expired tokens too (hidden otherwise)
        #[arg(long)]
        all: bool,
    },
    /// Show one bearer token (obfuscated)
    Get(UrnArg),
    /// Revoke a token, at once or after a notice period
    ///
    /// Sets the token's expiry to now plus --notice (never later than an expiry it has
    /// already): it keeps working until then and fails after. Unlike `token delete`, the
    /// token stays listed (with --all) once expired.
    Revoke {
        #[command(flatten)]
        u: UrnArg,
        /// Keep it working this long first (90s, 15m, 24h, 30d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
        notice: Duration,
    },
    /// Delete a token: it stops working at once
    ///
    /// Removes the token: it fails from the next request on, with no notice period. Use
    /// `token revoke --notice` to give its users time to switch.
    Delete {
        #[command(flatten)]
        u: UrnArg,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// A token URN.
#[derive(Debug, Args)]
pub struct UrnArg {
    /// The token's URN
    #[arg(value_name = "URN", value_parser = parse_token_urn, add = complete::tokens())]
    pub urn: String,
}

fn parse_token_urn(s: &str) -> Result<String, String> {
    parse_urn(s)
        .ok_or_else(|| format!("`{s}` is not a token URN; list them with `baack token list`"))
}

fn parse_ts(s: &str) -> Result<i64, String> {
    let t = parse_timestamp(s).ok_or_else(|| {
        format!("`{s}` is not a timestamp: use RFC 3339 (2026-07-04T14:34:19Z) or 2026-07-04T14:34:19.610")
    })?;
    if !in_range(t) {
        return Err(format!(
            "`{s}` is outside the allowed range: use a time from {RANGE}"
        ));
    }
    Ok(t)
}

/// Now plus `d` as an expiry, or a usage error (exit 2, before any request) when that
/// falls past the year 9999 that both APIs' timestamps end at.
fn expiry_after(flag: &str, d: Duration) -> Result<i64, baack::Error> {
    later_in_range(now_ms(), ms(d)).ok_or_else(|| {
        baack::Error::Usage(format!(
            "{flag} {} ends past the allowed range, {RANGE}; use a shorter duration",
            humantime::format_duration(d)
        ))
    })
}

/// The URN of a token's API client.
fn client_of(v: &Value) -> String {
    v.pointer("/apiClient/urn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Runs a token command.
pub fn run(ctx: &Ctx, cmd: TokenCmd) -> Result<(), Failure> {
    match cmd {
        TokenCmd::Create {
            client,
            expires_in,
            expires_at,
            secret_file,
        } => {
            let expires_in = expires_in
                .map(|d| expiry_after("--expires-in", d))
                .transpose()?;
            let c = resolve_client(ctx, &client)?;
            let names: Names = name_entry(&c).into_iter().collect();
            let mut body = json!({ "apiClient": { "urn": urn_of(&c) } });
            if let Some(at) = expires_in.or(expires_at) {
                body["expirationTimestamp"] = format_baack(at).into();
            }
            let file = secret_file
                .as_deref()
                .map(SecretFile::reserve)
                .transpose()?;
            let r = ctx
                .client
                .send(&Call::new(Method::POST, "/n/v1/apiclientbearertoken/").body(body))?;
            let mut v = r.body;
            let token = v
                .get("bearerToken")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let urn = v["urn"].as_str().unwrap_or_default().to_string();
            let new = NewSecret::new("token", &urn, format!("baack token delete {urn} --yes"));
            let undo = || {
                ctx.client
                    .send(&Call::new(
                        Method::DELETE,
                        format!("/n/v1/apiclientbearertoken/{urn}"),
                    ))
                    .map(drop)
            };
            match file {
                Some(f) => {
                    let path = f.path().to_path_buf();
                    deliver_or_undo(&new, || Ok(f.write(&token)?), undo)?;
                    // The secret is in its file: what follows only describes it.
                    v["bearerToken"] = obfuscate(&token).into();
                    ctx.out.item_named(Kind::Token, &v, &names)?;
                    ctx.out.note(&format!(
                        "wrote the bearer token to {} (mode 0600)",
                        path.display()
                    ));
                    Ok(())
                }
                None => deliver_or_undo(
                    &new,
                    || ctx.out.created_secret(Kind::Token, &v, &token),
                    undo,
                ),
            }
        }
        TokenCmd::List {
            client,
            expiring_within,
            all,
        } => {
            let mut path = "/n/v1/apiclientbearertoken/?limit=1000".to_string();
            let mut names = None;
            if let Some(c) = client {
                let c = resolve_client(ctx, &c)?;
                path.push_str(&format!("&apiClient={}", enc(&urn_of(&c))));
                // The one client is known: no list of every client is needed.
                names = Some(name_entry(&c).into_iter().collect());
            }
            let mut items = ctx.client.list_all(&path, "bearerTokens")?;
            if !all {
                let now = now_ms();
                items.retain(|t| expiry_of(t).is_none_or(|e| e > now));
            }
            if let Some(d) = expiring_within {
                let (now, until) = (now_ms(), now_ms() + ms(d));
                items.retain(|t| {
                    t.get("expirationTimestamp")
                        .and_then(Value::as_str)
                        .and_then(parse_timestamp)
                        .is_some_and(|e| e > now && e <= until)
                });
            }
            let names = match names {
                Some(n) => n,
                None if items.is_empty() => Names::new(),
                None => ctx.client_names(),
            };
            ctx.out.list_named(Kind::Token, &items, &names)
        }
        TokenCmd::Get(u) => {
            let v = ctx.get(&format!("/n/v1/apiclientbearertoken/{}", u.urn))?;
            ctx.out
                .item_named(Kind::Token, &v, &ctx.client_name(&client_of(&v)))
        }
        TokenCmd::Revoke { u, notice } => {
            let at = format_baack(expiry_after("--notice", notice)?);
            let r = ctx.client.send(
                &Call::new(Method::PUT, format!("/n/v1/apiclientbearertoken/{}", u.urn))
                    .body(json!({ "expirationTimestamp": at })),
            )?;
            ctx.out
                .item_named(Kind::Token, &r.body, &ctx.client_name(&client_of(&r.body)))?;
            let until = r
                .body
                .get("expirationTimestamp")
                .and_then(Value::as_str)
                .unwrap_or("now");
            ctx.out
                .note(&format!("the token stops working at {until} UTC"));
            Ok(())
        }
        TokenCmd::Delete { u, yes } => {
            confirm(&format!("bearer token {}", u.urn), yes)?;
            let r = ctx.client.send(&Call::new(
                Method::DELETE,
                format!("/n/v1/apiclientbearertoken/{}", u.urn),
            ))?;
            ctx.out.deleted("bearer token", &u.urn, &r.body)
        }
    }
}

/// The flag that sets each API field, per command, for invalid-input messages.
pub fn flags(cmd: &TokenCmd) -> super::FlagMap {
    match cmd {
        TokenCmd::Create { .. } => &[
            ("expirationTimestamp", "--expires-in/--expires-at"),
            ("apiClient", "--client"),
        ],
        TokenCmd::Revoke { .. } => &[("expirationTimestamp", "--notice")],
        _ => &[],
    }
}
