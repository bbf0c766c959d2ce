//! The one printer: data to stdout as a table, JSON or bare values; notes to stderr. Every
//! command hands it values and never writes to stdout itself.

use std::io::{self, IsTerminal, Write};

use baack::Error;
use baack::clock::parse_timestamp;
use baack::store::Bootstrap;
use baack::wire::client::ApiClient;
use baack::wire::company::Company;
use baack::wire::token::BearerTokenCreated;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use serde_json::{Value, json};
use std::collections::HashMap;
use unicode_width::UnicodeWidthStr;

use super::{Global, OutputFormat};

/// Why a command stopped: an error to report, or a closed stdout (which is not one).
#[derive(Debug)]
pub enum Failure {
    /// Report it and exit with its code.
    Error(Error),
    /// The reader went away (`baack … | head -1`): exit quietly.
    BrokenPipe,
    /// Done, with a status that means something (`plan`: 2, changes to make); nothing
    /// more to report.
    Exit(u8),
    /// An error of a command whose statuses are 0, 1 and 2 (`plan`, as
    /// `terraform plan -detailed-exitcode`): reported as any error, exit 1.
    Detailed(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Error(Error::Internal(format!("cannot write output: {e}")))
        }
    }
}

/// A secret just created, which the command must hand over or else undo.
pub struct NewSecret<'a> {
    /// What holds it, in messages: `token`, `OAuth client`.
    pub what: &'a str,
    /// Its URN or id.
    pub key: &'a str,
    /// What the message says once it was deleted.
    pub undone: String,
    /// The command that deletes it, named when undoing fails too.
    pub delete_cmd: String,
}

impl<'a> NewSecret<'a> {
    /// A `what` with this `key` that `delete_cmd` deletes, and nothing else to undo.
    pub fn new(what: &'a str, key: &'a str, delete_cmd: String) -> Self {
        NewSecret {
            what,
            key,
            undone: format!("the {what} was deleted, nothing was created"),
            delete_cmd,
        }
    }
}

impl Failure {
    /// Why a delivery failed, in a few words.
    fn reason(&self) -> String {
        match self {
            Failure::BrokenPipe => "broken pipe".into(),
            Failure::Exit(code) => format!("exit {code}"),
            Failure::Detailed(e) => e.to_string(),
            Failure::Error(Error::Internal(m)) => m.clone(),
            Failure::Error(e) => e.to_string(),
        }
    }
}

/// Hands a new secret over with `deliver` (printing it, or writing its file). When that
/// fails, the secret is gone, so what holds it is deleted with `undo`: exit 1 saying so,
/// even for a closed pipe (which otherwise exits quietly), because the command did not do
/// what it said. When the delete fails too, the message names the command that does it.
pub fn deliver_or_undo(
    s: &NewSecret<'_>,
    deliver: impl FnOnce() -> Result<(), Failure>,
    undo: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Failure> {
    let Err(failed) = deliver() else {
        return Ok(());
    };
    let what = s.what;
    let head = format!(
        "could not deliver the new {what}'s secret ({})",
        failed.reason()
    );
    let msg = match undo() {
        Ok(()) => format!("{head}; {}", s.undone),
        // Gone already (deleted meanwhile, or with its client): as good as deleted.
        Err(e) if e.kind() == baack::ErrorKind::NotFound => format!("{head}; {}", s.undone),
        Err(e) => format!(
            "{head}; deleting it also failed ({e}): {what} {} still exists, delete it with `{}`",
            s.key, s.delete_cmd
        ),
    };
    Err(Error::Undelivered(msg).into())
}

/// What kind of object a value is, which decides its table and its primary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An API client.
    Client,
    /// A bearer token.
    Token,
    /// A permission role.
    Role,
    /// An OAuth client.
    OAuth,
    /// The client context (`whoami`).
    Context,
    /// An audit event.
    Audit,
    /// A finding of `audit check`.
    Finding,
}

/// How a list column renders its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// An identifier: never wrapped.
    Id,
    /// Text, which may wrap.
    Text,
    /// A timestamp, in the one table style.
    Time,
    /// An API client reference, by name.
    Client,
    /// A list of API client references, by name.
    Clients,
    /// A token's status, from its expiry.
    Status,
    /// A last use, as `3d ago` or `never` (`-` when the API does not report it).
    Ago,
    /// An audit event's target: its type and URN or id.
    Target,
}

/// API client (and company) names by URN, for tables; empty when unknown (URNs are
/// shown then).
pub type Names = HashMap<String, String>;

/// Whether a table column holds identifiers, which must never wrap mid-string.
fn is_id_header(h: &str) -> bool {
    matches!(h, "URN" | "ID" | "CLIENT URN" | "TOKEN")
}

/// The JSON fields that hold timestamps, shown in the one table style.
fn is_time_field(k: &str) -> bool {
    matches!(
        k,
        "expirationTimestamp" | "created" | "modified" | "lastUsed" | "timestamp"
    )
}

impl Kind {
    /// The field whose value `-q` prints.
    fn primary(self, v: &Value) -> String {
        let p = match self {
            Kind::OAuth | Kind::Finding => "/id",
            Kind::Context => "/client/urn",
            _ => "/urn",
        };
        text(v.pointer(p).unwrap_or(&Value::Null))
    }

    fn columns(self) -> &'static [(&'static str, &'static str, Col)] {
        match self {
            Kind::Client => &[
                ("CLIENT ID", "/clientID", Col::Text),
                ("URN", "/urn", Col::Id),
                ("SCOPE", "/scope", Col::Text),
                ("LAST USED", "/lastUsed", Col::Ago),
            ],
            Kind::Token => &[
                ("CLIENT", "/apiClient/urn", Col::Client),
                ("URN", "/urn", Col::Id),
                ("TOKEN", "/bearerToken", Col::Id),
                ("EXPIRES", "/expirationTimestamp", Col::Time),
                ("STATUS", "/expirationTimestamp", Col::Status),
                ("LAST USED", "/lastUsed", Col::Ago),
                ("DESCRIPTION", "/description", Col::Text),
            ],
            Kind::Role => &[
                ("NAME", "/name", Col::Text),
                ("URN", "/urn", Col::Id),
                ("PERMISSIONS", "/permissions", Col::Text),
                ("CLIENTS", "/clients", Col::Clients),
            ],
            Kind::OAuth => &[
                ("NAME", "/name", Col::Text),
                ("ID", "/id", Col::Id),
                ("GRANT TYPES", "/grantTypes", Col::Text),
                ("TYPE", "/type", Col::Text),
                ("ENABLED", "/enabled", Col::Text),
                ("CREATED", "/created", Col::Time),
                ("LAST USED", "/lastUsed", Col::Ago),
            ],
            Kind::Audit => &[
                ("TIME", "/timestamp", Col::Time),
                ("ACTOR", "/actor/client/urn", Col::Client),
                ("ACTION", "/action", Col::Text),
                ("TARGET", "/target", Col::Target),
                ("OUTCOME", "/outcome", Col::Text),
                ("DETAIL", "/detail", Col::Text),
            ],
            Kind::Finding => &[
                ("KIND", "/kind", Col::Text),
                ("NAME", "/name", Col::Text),
                ("ID", "/id", Col::Id),
                ("RULE", "/rule", Col::Text),
                ("WHY", "/why", Col::Text),
            ],
            Kind::Context => &[
                ("CLIENT ID", "/client/clientID", Col::Text),
                ("CLIENT URN", "/client/urn", Col::Id),
                ("SCOPE", "/client/scope", Col::Text),
                ("COMPANY", "/owner/name", Col::Text),
                ("PERMISSIONS", "/permissions", Col::Text),
                ("TOKEN URN", "/token/urn", Col::Id),
                ("TOKEN EXPIRES", "/token/expirationTimestamp", Col::Time),
            ],
        }
    }

    /// What a list is sorted by in a table: the name (case-folded, then exact), and for
    /// tokens their client's name then expiry (never-expiring last).
    fn sort_key(self, v: &Value, names: &Names) -> (String, String, i64) {
        let s = |p: &str| text(v.pointer(p).unwrap_or(&Value::Null));
        let name = match self {
            Kind::Client => s("/clientID"),
            Kind::Role | Kind::OAuth => s("/name"),
            Kind::Token => {
                let urn = s("/apiClient/urn");
                names.get(&urn).cloned().unwrap_or(urn)
            }
            // In the order given: the log's own, oldest first.
            Kind::Context | Kind::Audit => String::new(),
            Kind::Finding => s("/kind") + &s("/name"),
        };
        let expiry = match self {
            Kind::Token => expiry_of(v).unwrap_or(i64::MAX),
            _ => 0,
        };
        (name.to_lowercase(), name, expiry)
    }
}

/// A JSON value as table text: references by URN, lists comma-separated, null as "-".
/// Recursive, over a response that serde_json parsed (at most 128 levels deep).
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(o) => match o.get("urn").or_else(|| o.get("name")) {
            Some(u) => text(u),
            None => v.to_string(),
        },
        other => other.to_string(),
    }
}

/// What a new store's root bearer token is for, and where to keep it.
const ROOT_TOKEN_USE: &str = "It is the root client's credential for this store served over HTTP (`baack serve`): it can do anything, so keep it in a password manager or a CI secret, never in a file or a log; log a CLI in with it through `baack auth login --api-url URL`. baack on this machine needs no token: with --store it acts as the root client.";
/// A timestamp in the one table style, `2026-12-02 14:05 UTC`; what does not parse as
/// one is shown as it came.
pub fn when(v: &Value) -> String {
    match v.as_str().and_then(parse_timestamp) {
        Some(ms) => chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| text(v)),
        None => text(v),
    }
}

/// A token's expiry in milliseconds, if it has one.
pub fn expiry_of(v: &Value) -> Option<i64> {
    v.get("expirationTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
}

/// Within this long of its expiry a token's status says when it expires.
const EXPIRES_SOON_MS: i64 = 7 * 24 * 3600 * 1000;

/// A token's STATUS from its expiry alone (the API records no revocation: `token revoke`
/// only moves the expiry, and a deleted token is gone): `active` (no expiry, or more than
/// 7 days left), `expires in 3d`, or `expired 2h ago`.
pub fn token_status(expiry: Option<i64>, now: i64) -> String {
    match expiry {
        None => "active".into(),
        Some(e) if e <= now => format!("expired {} ago", coarse(now - e)),
        Some(e) if e - now <= EXPIRES_SOON_MS => format!("expires in {}", coarse(e - now)),
        Some(_) => "active".into(),
    }
}

/// A span in its largest unit, rounded: `3d`, `2h`, `5m`, `40s` (a token made with
/// `--expires-in 3d` reads `expires in 3d`, not 2d for the seconds since).
pub fn coarse(ms: i64) -> String {
    let s = ms / 1000;
    let round = |unit: i64| (s + unit / 2) / unit;
    match s {
        s if s >= 86_400 => format!("{}d", round(86_400)),
        s if s >= 3600 => format!("{}h", round(3600)),
        s if s >= 60 => format!("{}m", round(60)),
        s => format!("{s}s"),
    }
}

/// A last use for people: `3d ago`, `just now` (under a minute: it is recorded to the
/// minute), or `never`.
pub fn last_used(at: Option<i64>, now: i64) -> String {
    match at {
        None => "never".into(),
        Some(t) if now - t < 60_000 => "just now".into(),
        Some(t) => format!("{} ago", coarse(now - t)),
    }
}

/// A reference for people: `Android (00a3ca73…)`, or its URN when its name is unknown.
fn client_label(urn: &str, names: &Names) -> String {
    match names.get(urn) {
        Some(name) => format!("{name} ({}…)", urn.get(..8).unwrap_or(urn)),
        None => urn.to_string(),
    }
}

/// The URNs of a list of references.
fn urns(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("urn").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// One cell of a list's row.
fn cell(col: Col, x: &Value, names: &Names, now: i64) -> String {
    match col {
        Col::Id | Col::Text => text(x),
        Col::Time => when(x),
        Col::Client => match x.as_str() {
            Some(u) => names.get(u).cloned().unwrap_or_else(|| u.to_string()),
            None => text(x),
        },
        Col::Clients => {
            let mut list: Vec<String> = urns(x)
                .into_iter()
                .map(|u| names.get(u).cloned().unwrap_or_else(|| u.to_string()))
                .collect();
            list.sort_by_key(|n| (n.to_lowercase(), n.clone()));
            if list.is_empty() {
                "-".into()
            } else {
                list.join(", ")
            }
        }
        Col::Status => token_status(x.as_str().and_then(parse_timestamp), now),
        Col::Target => {
            let kind = x.get("type").and_then(Value::as_str).unwrap_or("-");
            match x.get("urn").or_else(|| x.get("id")).and_then(Value::as_str) {
                Some(k) => format!("{kind} {k}"),
                None => kind.to_string(),
            }
        }
        Col::Ago => match x {
            Value::Null => last_used(None, now),
            v => match v.as_str().and_then(parse_timestamp) {
                Some(t) => last_used(Some(t), now),
                None => text(v),
            },
        },
    }
}

/// One field of an object's FIELD/VALUE table.
fn field_value(k: &str, x: &Value, names: &Names) -> String {
    match (k, x) {
        ("apiClient" | "owner", Value::Object(o)) => match o.get("urn").and_then(Value::as_str) {
            Some(u) => client_label(u, names),
            None => text(x),
        },
        ("clients", Value::Array(_)) => {
            let list: Vec<String> = urns(x)
                .into_iter()
                .map(|u| client_label(u, names))
                .collect();
            if list.is_empty() {
                "-".into()
            } else {
                list.join(", ")
            }
        }
        ("lastUsed", Value::Null) => "never".into(),
        ("lastUsed", _) => match x.as_str().and_then(parse_timestamp) {
            Some(t) => format!(
                "{} ({})",
                when(x),
                last_used(Some(t), chrono::Utc::now().timestamp_millis())
            ),
            None => text(x),
        },
        (k, _) if is_time_field(k) => when(x),
        _ => text(x),
    }
}

/// How data reaches stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// A table with box drawing, sized to the terminal.
    Boxed,
    /// Plain aligned columns, for `awk` and `cut` (stdout is not a terminal).
    Plain,
    /// A machine format: JSON, YAML, or what `--jq` selects.
    Machine,
}

/// Prints results in the chosen format.
pub struct Printer {
    format: OutputFormat,
    style: Style,
    jq: Option<String>,
    quiet: bool,
    color: bool,
}

impl Printer {
    /// A printer for the global options.
    pub fn new(g: &Global) -> Self {
        let tty = io::stdout().is_terminal();
        let style = match (g.output, &g.jq) {
            (_, Some(_)) | (OutputFormat::Json | OutputFormat::Yaml, _) => Style::Machine,
            (OutputFormat::Table, _) => Style::Boxed,
            (OutputFormat::Auto, _) if tty => Style::Boxed,
            (OutputFormat::Auto, _) => Style::Plain,
        };
        Printer {
            format: g.output,
            style,
            jq: g.jq.clone(),
            quiet: g.quiet && g.jq.is_none(),
            color: tty && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Whether output is for people (a table), so names are worth looking up.
    pub fn human(&self) -> bool {
        self.style != Style::Machine && !self.quiet
    }

    /// Refuses, before anything is created, a `--jq` filter over an answer that holds a
    /// new `what` secret with nowhere else for it to go: the filter would select the
    /// secret away, and it is shown only once.
    pub fn keeps_secret(&self, what: &str, secret_file: bool) -> Result<(), Error> {
        if self.jq.is_none() || secret_file {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "--jq would filter the new {what}'s secret out of the only answer that holds it; write the secret with --secret-file PATH (--jq then applies to the rest), or use -q to print only the secret"
        )))
    }

    /// Whether `-q` asked for the bare value alone.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stdout takes colour.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Whether output is a machine format (JSON, YAML, `--jq`).
    pub fn machine(&self) -> bool {
        self.style == Style::Machine
    }

    /// A note for people, on stderr; `-q` silences it.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "{msg}");
        }
    }

    /// A warning on stderr, even with `-q`.
    pub fn warn(&self, msg: &str) {
        let _ = writeln!(io::stderr().lock(), "warning: {msg}");
    }

    /// One bare value on stdout (a token, a script), whatever the format.
    pub fn value(&self, text: &str) -> Result<(), Failure> {
        self.stdout(text)
    }

    fn stdout(&self, text: &str) -> Result<(), Failure> {
        let mut o = io::stdout().lock();
        o.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            o.write_all(b"\n")?;
        }
        o.flush()?;
        Ok(())
    }

    /// One document on stdout in the machine format: the JSON as it is, its YAML, or
    /// what `--jq` selects from the JSON.
    pub fn json<T: serde::Serialize + ?Sized>(&self, v: &T) -> Result<(), Failure> {
        if let Some(expr) = &self.jq {
            let doc = serde_json::to_vec(v)
                .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
            return self.stdout(&super::jq::run(expr, &doc)?);
        }
        if self.format == OutputFormat::Yaml {
            let y = serde_yaml_ng::to_string(v)
                .map_err(|e| Error::Internal(format!("cannot render YAML: {e}")))?;
            return self.stdout(&y);
        }
        // Streamed: a listing of 10,000 objects is megabytes, not worth building first.
        let mut o = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
        serde_json::to_writer_pretty(&mut o, v).map_err(|e| match e.io_error_kind() {
            Some(kind) => Failure::from(io::Error::from(kind)),
            None => Error::Internal(format!("cannot render JSON: {e}")).into(),
        })?;
        o.write_all(b"\n")?;
        o.flush()?;
        Ok(())
    }

    /// A table of `header` and `rows`: boxed on a terminal or with `-o table`, plain
    /// aligned columns otherwise. Identifier columns never wrap; other columns do first.
    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
        if self.style == Style::Plain {
            return self.stdout(&plain(header, &rows));
        }
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let on_tty = self.color && io::stdout().is_terminal();
        if on_tty {
            // Bold cyan headers on a terminal; never when piped or with NO_COLOR.
            t.set_header(header.iter().map(|h| {
                comfy_table::Cell::new(h)
                    .add_attribute(comfy_table::Attribute::Bold)
                    .fg(comfy_table::Color::Cyan)
            }));
        } else {
            if !io::stdout().is_terminal() {
                t.force_no_tty();
            }
            t.set_header(header.iter().copied());
        }
        // A terminal that reports no usable width (some CI ptys say 0) would squeeze
        // every column to one character: lay out unconstrained there.
        if t.width().is_none_or(|w| w < 40) {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        let value_floor = if header == ["FIELD", "VALUE"] {
            // The longest unbreakable word of the VALUE column (a URN, an id): wrapping
            // happens between words only.
            rows.iter()
                .filter_map(|r| r.get(1))
                .flat_map(|v| v.split_whitespace())
                .map(UnicodeWidthStr::width)
                .max()
                .unwrap_or(0)
                .min(64)
        } else {
            0
        };
        let listing = value_floor == 0;
        t.set_truncation_indicator("…");
        for r in rows {
            let mut row = comfy_table::Row::from(r);
            // A listing keeps a row to a line: what does not fit is cut short with "…"
            // (never an identifier, whose column keeps its width); an object's FIELD/VALUE
            // table wraps its values between words instead.
            if listing {
                row.max_height(1);
            }
            t.add_row(row);
        }
        for (i, h) in header.iter().enumerate() {
            let constraint = if is_id_header(h) || *h == "FIELD" {
                Some(ColumnConstraint::ContentWidth)
            } else if *h == "VALUE" && value_floor > 0 {
                // A constraint's width counts the cell's padding, one space each side.
                Some(ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(value_floor + 2).unwrap_or(66),
                )))
            } else {
                // At least as wide as its header, which never breaks mid-word either.
                let w = UnicodeWidthStr::width(*h) + 2;
                Some(ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(w).unwrap_or(u16::MAX),
                )))
            };
            if let (Some(c), Some(col)) = (constraint, t.column_mut(i)) {
                col.set_constraint(c);
            }
        }
        self.stdout(&t.to_string())
    }

    /// One object: a FIELD/VALUE table, its JSON, or its primary value.
    pub fn item(&self, kind: Kind, v: &Value) -> Result<(), Failure> {
        self.item_named(kind, v, &Names::new())
    }

    /// [`Printer::item`], with client references shown by name where `names` has them.
    pub fn item_named(&self, kind: Kind, v: &Value, names: &Names) -> Result<(), Failure> {
        if self.quiet {
            // Never a placeholder: a script would take `-` for the value.
            if kind.primary(v) == "-" {
                return Err(baack::Error::Answer(
                    "the answer has no value for -q to print (no URN or id); run without -q to see it".into(),
                )
                .into());
            }
            return self.stdout(&kind.primary(v));
        }
        if self.machine() {
            return self.json(v);
        }
        let mut rows: Vec<Vec<String>> = match (kind, v.as_object()) {
            (Kind::Context, _) => kind
                .columns()
                .iter()
                .map(|(h, p, _)| vec![h.to_string(), text(v.pointer(p).unwrap_or(&Value::Null))])
                .collect(),
            (_, Some(o)) => o
                .iter()
                .filter(|(k, _)| *k != "url")
                .map(|(k, x)| vec![k.clone(), field_value(k, x, names)])
                .collect(),
            (_, None) => vec![vec!["value".into(), text(v)]],
        };
        if kind == Kind::Token && v.is_object() {
            rows.push(vec![
                "status".into(),
                token_status(expiry_of(v), chrono::Utc::now().timestamp_millis()),
            ]);
        }
        self.table(&["FIELD", "VALUE"], rows)
    }

    /// A list: a table with a row each, a JSON array, or primary values one per line.
    pub fn list(&self, kind: Kind, items: &[Value]) -> Result<(), Failure> {
        self.list_named(kind, items, &Names::new())
    }

    /// [`Printer::list`], with client references shown by name where `names` has them;
    /// a table is sorted by name (tokens by client, then expiry), JSON keeps the API's
    /// order.
    pub fn list_named(&self, kind: Kind, items: &[Value], names: &Names) -> Result<(), Failure> {
        if self.quiet {
            let lines: String = items.iter().map(|v| kind.primary(v) + "\n").collect();
            if lines.is_empty() {
                return Ok(());
            }
            return self.stdout(&lines);
        }
        if self.machine() {
            return self.json(items);
        }
        let cols = kind.columns();
        let header: Vec<&str> = cols.iter().map(|(h, _, _)| *h).collect();
        let mut sorted: Vec<(_, &Value)> =
            items.iter().map(|v| (kind.sort_key(v, names), v)).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let now = chrono::Utc::now().timestamp_millis();
        let rows = sorted
            .iter()
            .map(|(_, v)| {
                cols.iter()
                    .map(|(_, p, c)| match (c, v.pointer(p)) {
                        // Not reported (an API without last use): unknown, not "never".
                        (Col::Ago, None) => "-".to_string(),
                        (_, x) => cell(*c, x.unwrap_or(&Value::Null), names, now),
                    })
                    .collect()
            })
            .collect();
        self.table(&header, rows)?;
        if items.is_empty() {
            self.note("(none)");
        }
        Ok(())
    }

    /// One JSON value on a line of its own (a stream, like `audit log --follow -o json`).
    pub fn json_line<T: serde::Serialize + ?Sized>(&self, v: &T) -> Result<(), Failure> {
        let line = serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))?;
        self.stdout(&(line + "\n"))
    }

    /// Rows of a list as they come, for a stream (`audit log --follow`): fixed-width
    /// columns, the header before the first batch; no box, since its end never comes.
    pub fn rows(
        &self,
        kind: Kind,
        items: &[Value],
        names: &Names,
        header: bool,
    ) -> Result<(), Failure> {
        if self.quiet {
            let lines: String = items.iter().map(|v| kind.primary(v) + "\n").collect();
            return if lines.is_empty() {
                Ok(())
            } else {
                self.stdout(&lines)
            };
        }
        let cols = kind.columns();
        let widths = [20usize, 18, 28, 48, 8, 0];
        let line = |cells: Vec<String>| -> String {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                if w == 0 || i + 1 == cells.len() {
                    s.push_str(c);
                } else {
                    let pad = w.saturating_sub(UnicodeWidthStr::width(c.as_str())).max(1);
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = String::new();
        if header {
            out.push_str(&line(cols.iter().map(|(h, _, _)| h.to_string()).collect()));
        }
        let now = chrono::Utc::now().timestamp_millis();
        for v in items {
            out.push_str(&line(
                cols.iter()
                    .map(|(_, p, c)| cell(*c, v.pointer(p).unwrap_or(&Value::Null), names, now))
                    .collect(),
            ));
        }
        if out.is_empty() {
            return Ok(());
        }
        self.stdout(&out)
    }

    /// The answer to a delete: the status body, the URN, or a sentence.
    pub fn deleted(&self, what: &str, key: &str, body: &Value) -> Result<(), Failure> {
        if self.quiet {
            return self.stdout(key);
        }
        if self.machine() {
            return self.json(body);
        }
        self.stdout(&format!("deleted {what} {key}"))
    }

    /// A new object with a secret in it: the secret is printed once, with a note saying
    /// so; `quiet_value` is what `-q` prints.
    pub fn created_secret(&self, kind: Kind, v: &Value, quiet_value: &str) -> Result<(), Failure> {
        if self.quiet {
            return self.stdout(quiet_value);
        }
        self.item(kind, v)?;
        self.note("this secret is shown once and cannot be shown again: store it now");
        Ok(())
    }

    /// Tells, on stderr, that a store was created and what its root token is: shown once,
    /// with what it is for and where to keep it.
    pub fn announce_bootstrap(&self, b: &Bootstrap) -> Result<(), Failure> {
        let mut e = io::stderr().lock();
        writeln!(
            e,
            "created a new store at {}\nroot bearer token (shown once, it cannot be shown again): {}\n{ROOT_TOKEN_USE}",
            b.path.display(),
            b.token
        )?;
        e.flush()?;
        Ok(())
    }

    /// The result of `baack init`.
    pub fn init(&self, b: &Bootstrap) -> Result<(), Failure> {
        if self.quiet {
            return self.stdout(&b.token);
        }
        if self.machine() {
            return self.json(&json!({
                "store": b.path.display().to_string(),
                "company": Company::from(&b.company),
                "rootClient": ApiClient::from(&b.root_client),
                "rootToken": BearerTokenCreated::new(&b.root_token, &b.token),
            }));
        }
        self.table(
            &["FIELD", "VALUE"],
            vec![
                vec!["store".into(), b.path.display().to_string()],
                vec!["company".into(), b.company.name.clone()],
                vec!["root client".into(), b.root_client.urn.clone()],
                vec!["root bearer token".into(), b.token.clone()],
            ],
        )?;
        self.note(&format!(
            "the root bearer token is shown once and cannot be shown again.\n{ROOT_TOKEN_USE}"
        ));
        Ok(())
    }
}

/// Plain aligned columns, kubectl style: a header row, then one row each, columns two
/// or more spaces apart, no box drawing and no trailing blanks; a value's line breaks
/// become spaces so that every row stays one line.
fn plain(header: &[&str], rows: &[Vec<String>]) -> String {
    let flat = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let lines: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows.iter().map(|r| r.iter().map(|c| flat(c)).collect()))
        .collect();
    let mut widths = vec![0; header.len()];
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(UnicodeWidthStr::width(c.as_str()));
        }
    }
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (i, c) in l.iter().enumerate() {
            line.push_str(c);
            if i + 1 < l.len() {
                let pad = widths[i] - UnicodeWidthStr::width(c.as_str()) + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_status_comes_from_its_expiry() {
        let (h, d) = (3_600_000, 86_400_000);
        let now = 1_000 * d;
        assert_eq!(token_status(None, now), "active");
        assert_eq!(token_status(Some(now + 30 * d), now), "active");
        assert_eq!(token_status(Some(now + 3 * d - 5), now), "expires in 3d");
        assert_eq!(token_status(Some(now + 2 * h), now), "expires in 2h");
        assert_eq!(token_status(Some(now - 2 * h), now), "expired 2h ago");
        assert_eq!(token_status(Some(now), now), "expired 0s ago");
    }

    #[test]
    fn plain_columns_align_without_boxes_or_trailing_blanks() {
        let t = plain(
            &["NAME", "URN"],
            &[
                vec!["Ä b".into(), "u-1".into()],
                vec!["x\ny".into(), "-".into()],
            ],
        );
        assert_eq!(t, "NAME   URN\nÄ b    u-1\nx y    -\n");
    }

    fn new_token() -> NewSecret<'static> {
        NewSecret::new("token", "u-1", "baack token delete u-1 --yes".into())
    }

    fn message(r: Result<(), Failure>) -> String {
        match r {
            Err(Failure::Error(Error::Undelivered(m))) => m,
            other => panic!("not an undelivered secret: {other:?}"),
        }
    }

    #[test]
    fn a_delivered_secret_is_kept() {
        let r = deliver_or_undo(&new_token(), || Ok(()), || panic!("nothing to undo"));
        assert!(r.is_ok());
    }

    #[test]
    fn an_undelivered_secret_is_deleted_and_the_command_fails() {
        let mut undone = false;
        let m = message(deliver_or_undo(
            &new_token(),
            || Err(Failure::BrokenPipe),
            || {
                undone = true;
                Ok(())
            },
        ));
        assert!(undone);
        assert_eq!(
            m,
            "could not deliver the new token's secret (broken pipe); the token was deleted, nothing was created"
        );
        let m = message(deliver_or_undo(
            &new_token(),
            || Err(io::Error::from(io::ErrorKind::StorageFull).into()),
            || Ok(()),
        ));
        assert!(
            m.starts_with("could not deliver the new token's secret (cannot write output: "),
            "{m}"
        );
    }

    #[test]
    fn a_secret_already_gone_counts_as_deleted() {
        let m = message(deliver_or_undo(
            &new_token(),
            || Err(Failure::BrokenPipe),
            || Err(Error::NotFound("no token u-1".into())),
        ));
        assert!(
            m.ends_with("the token was deleted, nothing was created"),
            "{m}"
        );
    }

    #[test]
    fn a_failed_delete_names_what_is_left_and_the_command() {
        let m = message(deliver_or_undo(
            &new_token(),
            || Err(Failure::BrokenPipe),
            || {
                Err(Error::Unreachable {
                    url: "http://127.0.0.1:1".into(),
                    reason: "connection refused".into(),
                })
            },
        ));
        assert_eq!(
            m,
            "could not deliver the new token's secret (broken pipe); deleting it also failed (cannot reach http://127.0.0.1:1: connection refused): token u-1 still exists, delete it with `baack token delete u-1 --yes`"
        );
    }
}
