//! `baack token …`: API client bearer tokens.

use std::path::PathBuf;
use std::time::Duration;

use baack::client::Call;
use baack::clock::{RANGE, format_baack, in_range, later_in_range, parse_timestamp};
use baack::model::parse_urn;
use baack::secret::{TOKEN_PREFIX, check_bearer_token, digest, obfuscate, token_urn};
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{Value, json};

use super::clients::{resolve as resolve_client, urn_of};
use super::output::{Failure, Kind, Names, NewSecret, deliver_or_undo, expiry_of};
use super::secret_file::SecretFile;
use super::{Ctx, DeleteArgs, complete, enc, item_path, name_entry, parse_duration};

/// Where bearer tokens live.
const TOKENS: &str = "/n/v1/apiclientbearertoken/";

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
        /// Expire after this long (90s, 15m, 24h, 30d) [default: the profile's
        /// default_token_ttl, else 90d]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with_all = ["expires_at", "no_expiry"])]
        expires_in: Option<Duration>,
        /// Expire at this time (RFC 3339, or Baack's zone-less UTC form)
        #[arg(long, value_name = "TIMESTAMP", value_parser = parse_ts, conflicts_with = "no_expiry")]
        expires_at: Option<i64>,
        /// Never expire: it works until revoked or deleted (warns)
        #[arg(long)]
        no_expiry: bool,
        /// Write the token to this new file (mode 0600) instead of printing it
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
        /// What the token is for, to a person ("android app, prod"; up to 256 printable
        /// characters)
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
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
        /// Only tokens not used for this long (never used: since they were made)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        unused_for: Option<Duration>,
        /// Only tokens used within this long
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        used_within: Option<Duration>,
        /// Expired tokens too (hidden otherwise)
        #[arg(long)]
        all: bool,
    },
    /// Replace a token with a new one for the same client, without an outage
    ///
    /// Creates a new token for the token's client (same description; as long a lifetime
    /// as the old one was given, or --expires-in), delivers its secret once (stdout, or
    /// --secret-file), and only then retires the old token: it keeps working for
    /// --overlap, so its users have that long to switch. With --until-unused it keeps
    /// working until it has gone unused for --overlap (the last consumer has moved), but
    /// at most --max-overlap. Should the new secret not be delivered, the new token is
    /// deleted and the old one is untouched.
    Rotate {
        #[command(flatten)]
        u: UrnArg,
        /// How long the old token keeps working (with --until-unused: how long it must go
        /// unused before it stops)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "24h")]
        overlap: Duration,
        /// Retire the old token once it has gone unused for --overlap (needs a server that
        /// records last use)
        #[arg(long)]
        until_unused: bool,
        /// With --until-unused: the most the old token works on
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "7d", requires = "until_unused")]
        max_overlap: Duration,
        /// The new token expires after this long [default: as long as the old one was
        /// given]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires_in: Option<Duration>,
        /// Write the new token to this new file (mode 0600) instead of printing it
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
    },
    /// Show one bearer token (obfuscated)
    Get(UrnArg),
    /// Change a token's description
    ///
    /// Reads the token and sends its whole representation back with the new description
    /// (its expiry as it is); an empty one clears it. A server that does not store
    /// descriptions drops it: a warning, or an error with --strict.
    Update {
        #[command(flatten)]
        u: UrnArg,
        /// What the token is for, to a person (up to 256 printable characters; "" clears it)
        #[arg(long, value_name = "TEXT")]
        description: String,
    },
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
    /// Identify a token from its value, such as a leaked one (read on stdin, never sent)
    ///
    /// Reads the token on stdin (a hidden prompt on a terminal), checks its shape and
    /// checksum, and prints the URN derived from its digest: no request carries the
    /// token. Then, unless --offline, it looks that URN up (client, expiry, status,
    /// description): exit 3 if the store or server has no such token; a server that
    /// cannot be reached is a warning, the URN is printed all the same. --revoke also
    /// revokes it at once (its expiry set to now), by URN.
    Whois(WhoisArgs),
    /// Delete a token: it stops working at once
    ///
    /// Removes the token: it fails from the next request on, with no notice period. Use
    /// `token revoke --notice` to give its users time to switch.
    Delete {
        #[command(flatten)]
        u: UrnArg,
        #[command(flatten)]
        d: DeleteArgs,
    },
}

/// `token whois`'s arguments.
#[derive(Debug, Args)]
pub struct WhoisArgs {
    /// - : the token on stdin (never an argument)
    // Checked in `whois`, not by clap: clap's error would repeat a token pasted here.
    #[arg(value_name = "-")]
    pub input: String,
    /// Revoke it too: its expiry is set to now
    #[arg(long, conflicts_with = "offline")]
    pub revoke: bool,
    /// Only what the token itself says: its URN and checksum, no store or server
    #[arg(long)]
    pub offline: bool,
}

impl WhoisArgs {
    /// The token on stdin, checked, as a reference by URN.
    fn target(&self) -> Result<TokenRef, baack::Error> {
        if self.input != "-" {
            return UrnArg {
                urn: self.input.clone(),
            }
            .target()
            .and_then(|_| {
                Err(baack::Error::Usage(
                    "`token whois` reads the token on stdin: pass -, e.g. `baack token whois - < token-file`".into(),
                ))
            });
        }
        UrnArg { urn: "-".into() }.target()
    }
}

/// What a token's value alone says: its URN, shown characters and a valid checksum.
fn offline_view(t: &TokenRef) -> Value {
    json!({
        "urn": t.urn,
        "bearerToken": t.shown,
        "checksum": "valid",
    })
}

/// `token whois`: the URN from the value, checked before any store or server is opened
/// (with --offline none is, nor created), then the token as the store or server has it.
pub fn whois(g: &super::Global, out: super::output::Printer, w: &WhoisArgs) -> Result<(), Failure> {
    let t = w.target()?;
    if w.offline {
        // Kind::Client: a plain object, no STATUS row (the expiry is not known offline).
        return out.item(Kind::Client, &offline_view(&t));
    }
    Ctx::run(g, out, |ctx| look_up(ctx, &t, w.revoke))
}

/// The lookup part of [`whois`], by URN: the token never leaves this process.
fn look_up(ctx: &Ctx, t: &TokenRef, revoke_it: bool) -> Result<(), Failure> {
    if revoke_it {
        return revoke(ctx, t, now_ms(), Duration::ZERO);
    }
    match ctx.get(&item_path(TOKENS, &t.urn)) {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("checksum".into(), "valid".into());
            }
            ctx.out
                .item_named(Kind::Token, &v, &ctx.client_name(&client_of(&v)))
        }
        Err(e) if e.kind() == baack::ErrorKind::Unavailable => {
            ctx.out.item(Kind::Client, &offline_view(t))?;
            ctx.out.warn(&format!(
                "cannot look the token up ({e}): its URN above comes from its value alone"
            ));
            Ok(())
        }
        Err(e) => {
            let e = t.not_found(ctx, e);
            if e.kind() == baack::ErrorKind::NotFound {
                ctx.out.item(Kind::Client, &offline_view(t))?;
            }
            Err(e.into())
        }
    }
}

/// A token: its URN, or `-` for the token itself on stdin.
#[derive(Debug, Args)]
pub struct UrnArg {
    /// The token's URN, or - to read the token itself from stdin (never an argument): its
    /// URN is derived from it, so a leaked token is killed with `baack token delete - <file`
    // Checked in `target`, not by clap: clap's error would repeat a token pasted here.
    #[arg(value_name = "URN|-", add = complete::tokens())]
    pub urn: String,
}

/// Which token a command names, and how.
struct TokenRef {
    urn: String,
    /// The token's value was given (on stdin): the first characters reads show of it.
    shown: Option<String>,
}

impl UrnArg {
    fn target(&self) -> Result<TokenRef, baack::Error> {
        if self.urn == "-" {
            let token = read_token()?;
            if let Err(why) = check_bearer_token(&token) {
                return Err(baack::Error::Usage(format!(
                    "what stdin holds is not a bearer token: {why}"
                )));
            }
            return Ok(TokenRef {
                urn: token_urn(&digest(&token)),
                shown: Some(obfuscate(&token)),
            });
        }
        if self.urn.starts_with(TOKEN_PREFIX) {
            // Never echoed: it may be a live secret, already in shell history.
            return Err(baack::Error::Usage(
                "that argument looks like a token itself: never pass a token as an argument (process lists and shell history show it); pipe it on stdin with `-`, e.g. `baack token delete - < token-file`".into(),
            ));
        }
        match parse_urn(&self.urn) {
            Some(urn) => Ok(TokenRef { urn, shown: None }),
            None => Err(baack::Error::Usage(format!(
                "`{}` is not a token URN, nor - (the token on stdin); list them with `baack token list`",
                self.urn
            ))),
        }
    }
}

/// The token on stdin: a hidden prompt on a terminal, else all of stdin, trimmed.
fn read_token() -> Result<String, baack::Error> {
    super::secret_file::read_stdin(
        "bearer token (input hidden): ",
        "token",
        "no token on stdin: pipe it in, e.g. `baack token delete - < token-file`",
    )
}

impl TokenRef {
    /// A not-found for a token named by its value says why that can happen: its URN is
    /// derived only for tokens a baack store of format 3 or later made, and lists the
    /// tokens whose shown characters match (for the person to check, never acted on).
    fn not_found(&self, ctx: &Ctx, e: baack::Error) -> baack::Error {
        let Some(shown) = &self.shown else {
            return super::not_found("bearer token", &self.urn, e);
        };
        if e.kind() != baack::ErrorKind::NotFound {
            return e;
        }
        let alike: Vec<String> = ctx
            .client
            .list_all(&format!("{TOKENS}?limit=1000"), "bearerTokens")
            .unwrap_or_default()
            .iter()
            .filter(|t| t.get("bearerToken").and_then(Value::as_str) == Some(shown.as_str()))
            .map(urn_of)
            .collect();
        let hint = match alike.as_slice() {
            [] => format!("no token here shows as `{shown}` either"),
            some => format!(
                "tokens shown as `{shown}`: {}; check one with `baack token get URN`",
                some.join(", ")
            ),
        };
        baack::Error::NotFound(format!(
            "no bearer token with that value (its URN would be {}): it was deleted, or it was made before store format 3 or by a server other than baack, whose token URNs cannot be derived from the value; {hint}",
            self.urn
        ))
    }
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

/// A duration as `--notice` takes it: `24h`, `90s`, `30d`.
fn spelled(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        // Whole days from two on: a day is spelled `24h`, as people give notice.
        _ if s.is_multiple_of(86_400) && s >= 2 * 86_400 => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
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
            no_expiry,
            secret_file,
            description,
        } => {
            let expires = match (expires_in, expires_at) {
                _ if no_expiry => None,
                (Some(d), _) => Some(expiry_after("--expires-in", d)?),
                (None, Some(at)) => Some(at),
                (None, None) => Some(expiry_after("default_token_ttl", ctx.token_ttl()?)?),
            };
            ctx.out.keeps_secret("token", secret_file.is_some())?;
            let c = resolve_client(ctx, &client)?;
            let new = create(ctx, &c, expires, description, secret_file.as_deref())?;
            if no_expiry {
                ctx.out.warn(
                    "this token never expires: it works until deleted or revoked; give tokens an --expires-in unless they must outlive every rotation",
                );
            }
            Ok(new.kept()?)
        }
        TokenCmd::List {
            client,
            expiring_within,
            unused_for,
            used_within,
            all,
        } => {
            let mut path = "/n/v1/apiclientbearertoken/?limit=1000".to_string();
            path.push_str(&use_filters(unused_for, used_within));
            let mut names = None;
            if let Some(c) = client {
                let c = resolve_client(ctx, &c)?;
                path.push_str(&format!("&apiClient={}", enc(&urn_of(&c))));
                // The one client is known: no list of every client is needed.
                names = Some(name_entry(&c).into_iter().collect());
            }
            let mut items = ctx.list_all(&path, "bearerTokens", "token")?;
            if unused_for.is_some() || used_within.is_some() {
                reports_last_use(&items, "tokens", "--unused-for/--used-within")?;
            }
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
            let t = u.target()?;
            let v = ctx
                .get(&item_path(TOKENS, &t.urn))
                .map_err(|e| t.not_found(ctx, e))?;
            ctx.out
                .item_named(Kind::Token, &v, &ctx.client_name(&client_of(&v)))
        }
        TokenCmd::Update { u, description } => {
            let t = u.target()?;
            let path = item_path(TOKENS, &t.urn);
            let mut body = ctx.get(&path).map_err(|e| t.not_found(ctx, e))?;
            if let Some(o) = body.as_object_mut() {
                // The obfuscated value is no part of a change.
                o.remove("bearerToken");
                o.insert("description".into(), description.clone().into());
            }
            let r = ctx
                .client
                .send(&Call::new(Method::PUT, &path).body(body))
                .map_err(|e| t.not_found(ctx, e))?;
            ctx.out
                .item_named(Kind::Token, &r.body, &ctx.client_name(&client_of(&r.body)))?;
            if description.is_empty() {
                // Cleared: the answer rightly shows no description.
                return Ok(());
            }
            let done = format!("bearer token {} was updated", t.urn);
            Ok(ctx.kept(&done, &json!({ "description": description }), &r.body)?)
        }
        TokenCmd::Rotate {
            u,
            overlap,
            until_unused,
            max_overlap,
            expires_in,
            secret_file,
        } => {
            let t = u.target()?;
            let rot = Rotate {
                overlap,
                until_unused: until_unused.then_some(max_overlap),
                expires_in,
            };
            rotate(ctx, &t, &rot, secret_file.as_deref())
        }
        TokenCmd::Revoke { u, notice } => {
            let t = u.target()?;
            let asked = expiry_after("--notice", notice)?;
            revoke(ctx, &t, asked, notice)
        }
        // Dispatched before a Ctx exists (see `whois`): the token is checked first.
        TokenCmd::Whois(w) => {
            let t = w.target()?;
            look_up(ctx, &t, w.revoke)
        }
        TokenCmd::Delete { u, mut d } => {
            let t = u.target()?;
            // Who pipes a token's value in holds the secret: that is the confirmation,
            // so `echo $LEAKED | baack token delete -` kills it in one step (stdin, which
            // held the token, could not answer a question anyway).
            d.yes |= t.shown.is_some();
            d.run(
                &ctx.out,
                || Ok(t),
                |t| format!("bearer token {}", t.urn),
                |t| {
                    let r = ctx
                        .client
                        .send(&Call::new(Method::DELETE, item_path(TOKENS, &t.urn)))
                        .map_err(|e| t.not_found(ctx, e))?;
                    ctx.out.deleted("bearer token", &t.urn, &r.body)
                },
            )
        }
    }
}

/// A token made by [`create`], its secret delivered.
struct Created<'a> {
    ctx: &'a Ctx,
    /// What the create sent.
    body: Value,
    /// The new token as the server answered (obfuscated).
    token: Value,
    urn: String,
}

impl Created<'_> {
    /// Checks that the server kept what was sent (a description a server drops).
    fn kept(&self) -> Result<(), baack::Error> {
        let done = format!(
            "bearer token {} was created (and delivered; delete it with `baack token delete {} --yes` if it must not stay)",
            self.urn, self.urn
        );
        self.ctx.kept(&done, &self.body, &self.token)
    }
}

/// Creates a token for the client `c` and delivers its secret once: to a new 0600
/// `secret_file`, or printed. Should the secret not reach its reader, the token is
/// deleted and this fails, so no token exists that nobody holds.
fn create<'a>(
    ctx: &'a Ctx,
    c: &Value,
    expires: Option<i64>,
    description: Option<String>,
    secret_file: Option<&std::path::Path>,
) -> Result<Created<'a>, Failure> {
    let names: Names = name_entry(c).into_iter().collect();
    let mut body = json!({ "apiClient": { "urn": urn_of(c) } });
    if let Some(at) = expires {
        body["expirationTimestamp"] = format_baack(at).into();
    }
    if let Some(d) = description {
        body["description"] = d.into();
    }
    let file = secret_file.map(SecretFile::reserve).transpose()?;
    let r = ctx
        .client
        .send(&Call::new(Method::POST, TOKENS).body(body.clone()))?;
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
            .send(&Call::new(Method::DELETE, item_path(TOKENS, &urn)))
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
        }
        None => {
            deliver_or_undo(
                &new,
                || ctx.out.created_secret(Kind::Token, &v, &token),
                undo,
            )?;
            v["bearerToken"] = obfuscate(&token).into();
        }
    }
    Ok(Created {
        ctx,
        body,
        token: v,
        urn,
    })
}

/// The query parameters of the last-use filters.
pub fn use_filters(unused_for: Option<Duration>, used_within: Option<Duration>) -> String {
    let mut q = String::new();
    if let Some(d) = unused_for {
        q.push_str(&format!("&unusedFor={}", d.as_secs()));
    }
    if let Some(d) = used_within {
        q.push_str(&format!("&usedWithin={}", d.as_secs()));
    }
    q
}

/// Fails unless the API reported last use on `items`: a server that does not record it
/// ignores the filters, and its whole list must not pass for the filtered one.
pub fn reports_last_use(items: &[Value], what: &str, flags: &str) -> Result<(), baack::Error> {
    if items.iter().any(|t| t.get("lastUsed").is_none()) {
        return Err(baack::Error::NoEndpoint(format!(
            "this API does not report when its {what} were last used (no lastUsed), so {flags} cannot be applied; run them against a `baack serve` or the embedded store"
        )));
    }
    Ok(())
}

/// How `token rotate` retires the old token.
struct Rotate {
    overlap: Duration,
    /// `--until-unused`, with its `--max-overlap`.
    until_unused: Option<Duration>,
    expires_in: Option<Duration>,
}

/// `token rotate` (see its help): create and deliver the new token, then retire the old
/// one, whose `replacedBy` makes the server audit the step as a rotation.
fn rotate(
    ctx: &Ctx,
    t: &TokenRef,
    rot: &Rotate,
    secret_file: Option<&std::path::Path>,
) -> Result<(), Failure> {
    ctx.out.keeps_secret("token", secret_file.is_some())?;
    let path = item_path(TOKENS, &t.urn);
    let old = ctx.get(&path).map_err(|e| t.not_found(ctx, e))?;
    let now = now_ms();
    if expiry_of(&old).is_some_and(|e| e <= now) {
        return Err(baack::Error::invalid(
            "urn",
            format!(
                "bearer token {} has expired, so there is nothing to rotate: create a new one with `baack token create --client {}`",
                t.urn,
                client_of(&old)
            ),
        )
        .into());
    }
    if let Some(max) = rot.until_unused
        && max < rot.overlap
    {
        return Err(baack::Error::Usage(format!(
            "--max-overlap ({}) is shorter than --overlap ({}): the old token could never go unused for that long",
            spelled(max),
            spelled(rot.overlap)
        ))
        .into());
    }
    // The same lifetime policy: as long a life as the old token was given.
    let expires = match (rot.expires_in, expiry_of(&old)) {
        (Some(d), _) => Some(expiry_after("--expires-in", d)?),
        (None, None) => None,
        (None, Some(e)) => {
            let created = old
                .get("created")
                .and_then(Value::as_str)
                .and_then(parse_timestamp);
            let life = match created {
                Some(c) if e > c => Duration::from_millis((e - c) as u64),
                // A server that does not say when the token was made: the profile's TTL.
                _ => ctx.token_ttl()?,
            };
            Some(expiry_after("the old token's lifetime", life)?)
        }
    };
    let client = resolve_client(ctx, &client_of(&old))?;
    let description = old
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let new = create(ctx, &client, expires, description, secret_file)?;
    // The new secret is out: only now is the old token touched.
    let bound = rot.until_unused.unwrap_or(rot.overlap);
    let until = expiry_after("--overlap", bound)?;
    let until = expiry_of(&old).map_or(until, |e| e.min(until));
    let mut body = old.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("bearerToken");
        o.insert("expirationTimestamp".into(), format_baack(until).into());
        o.insert("replacedBy".into(), json!({ "urn": new.urn }));
        if rot.until_unused.is_some() {
            o.insert("idleTimeoutSeconds".into(), rot.overlap.as_secs().into());
        }
    }
    let retired = ctx
        .client
        .send(&Call::new(Method::PUT, &path).body(body))
        .map_err(|e| {
            baack::Error::Answer(format!(
                "the new bearer token {} is delivered, but the old one, {}, was not retired ({e}): it works as before; retire it with `baack token revoke {} --notice {}`",
                new.urn,
                t.urn,
                t.urn,
                spelled(rot.overlap)
            ))
        })?
        .body;
    new.kept()?;
    let ends =
        expiry_of(&retired).map_or("never".to_string(), |e| format!("{} UTC", format_baack(e)));
    match (rot.until_unused, retired.get("idleTimeoutSeconds")) {
        (Some(_), Some(_)) => ctx.out.note(&format!(
            "the old token {} keeps working until it has gone unused for {}, and at most until {ends}",
            t.urn,
            spelled(rot.overlap)
        )),
        (Some(_), None) => ctx.out.warn(&format!(
            "this server does not retire tokens once unused: the old token {} works until {ends}, however it is used",
            t.urn
        )),
        (None, _) => ctx
            .out
            .note(&format!("the old token {} keeps working until {ends}", t.urn)),
    }
    Ok(())
}

/// Revokes `t` at `asked` (now plus `notice`), never lengthening its life: the token is
/// read first, and one that expires sooner is left alone. Baack's own documentation has
/// no rule against a later expiry (API.md's never-later rule is ours), so what is sent
/// is the earlier of the two, in the token's whole representation (with `apiClient`), and
/// the token is read back to confirm it.
fn revoke(ctx: &Ctx, t: &TokenRef, asked: i64, notice: Duration) -> Result<(), Failure> {
    let path = item_path(TOKENS, &t.urn);
    let cur = ctx.get(&path).map_err(|e| t.not_found(ctx, e))?;
    if let Some(e) = expiry_of(&cur)
        && e <= asked
    {
        ctx.out
            .item_named(Kind::Token, &cur, &ctx.client_name(&client_of(&cur)))?;
        ctx.out.note(&format!(
            "the token already expires at {} UTC, sooner than the {} notice: the earlier expiry stands (nothing was changed)",
            format_baack(e),
            spelled(notice)
        ));
        return Ok(());
    }
    let at = format_baack(asked);
    let mut body = cur.clone();
    if let Some(o) = body.as_object_mut() {
        // The obfuscated value is no part of a change.
        o.remove("bearerToken");
        o.insert("expirationTimestamp".into(), at.clone().into());
    }
    ctx.client
        .send(&Call::new(Method::PUT, &path).body(body))
        .map_err(|e| t.not_found(ctx, e))?;
    let after = ctx.get(&path).map_err(|e| t.not_found(ctx, e))?;
    match expiry_of(&after) {
        Some(e) if e <= asked => {
            ctx.out
                .item_named(Kind::Token, &after, &ctx.client_name(&client_of(&after)))?;
            ctx.out
                .note(&format!("the token stops working at {} UTC", format_baack(e)));
            Ok(())
        }
        shown => Err(baack::Error::Answer(format!(
            "the server accepted the revocation of bearer token {}, but reading it back shows it expiring {}, not at {at}: it may still work; delete it with `baack token delete {} --yes` to stop it at once",
            t.urn,
            shown.map_or_else(|| "never".to_string(), |e| format!("at {}", format_baack(e))),
            t.urn
        ))
        .into()),
    }
}

/// The flag that sets each API field, per command, for invalid-input messages.
pub fn flags(cmd: &TokenCmd) -> super::FlagMap {
    match cmd {
        TokenCmd::Create { .. } => &[
            ("expirationTimestamp", "--expires-in/--expires-at"),
            ("apiClient", "--client"),
            ("description", "--description"),
        ],
        TokenCmd::Revoke { .. } => &[("expirationTimestamp", "--notice")],
        TokenCmd::Rotate { .. } => &[
            ("expirationTimestamp", "--expires-in"),
            ("idleTimeoutSeconds", "--overlap"),
        ],
        TokenCmd::Update { .. } => &[("description", "--description")],
        _ => &[],
    }
}
