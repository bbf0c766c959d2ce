//! The one printer: data to stdout as a table, JSON or bare values; notes to stderr. Every
//! command hands it values and never writes to stdout itself.

use std::io::{self, IsTerminal, Write};

use baack::Error;
use baack::store::Bootstrap;
use baack::wire::client::ApiClient;
use baack::wire::company::Company;
use baack::wire::token::BearerTokenCreated;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::{Value, json};

use super::{Global, OutputFormat};

/// Why a command stopped: an error to report, or a closed stdout (which is not one).
#[derive(Debug)]
pub enum Failure {
    /// Report it and exit with its code.
    Error(Error),
    /// The reader went away (`baack … | head -1`): exit quietly.
    BrokenPipe,
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
}

impl Kind {
    /// The field whose value `-q` prints.
    fn primary(self, v: &Value) -> String {
        let p = match self {
            Kind::OAuth => "/id",
            Kind::Context => "/client/urn",
            _ => "/urn",
        };
        text(v.pointer(p).unwrap_or(&Value::Null))
    }

    fn columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Client => &[
                ("URN", "/urn"),
                ("CLIENT ID", "/clientID"),
                ("SCOPE", "/scope"),
            ],
            Kind::Token => &[
                ("URN", "/urn"),
                ("CLIENT", "/apiClient/urn"),
                ("TOKEN", "/bearerToken"),
                ("EXPIRES (UTC)", "/expirationTimestamp"),
            ],
            Kind::Role => &[
                ("URN", "/urn"),
                ("NAME", "/name"),
                ("PERMISSIONS", "/permissions"),
                ("CLIENTS", "/clients"),
            ],
            Kind::OAuth => &[
                ("ID", "/id"),
                ("NAME", "/name"),
                ("GRANT TYPES", "/grantTypes"),
                ("TYPE", "/type"),
                ("ENABLED", "/enabled"),
                ("CREATED", "/created"),
            ],
            Kind::Context => &[
                ("CLIENT ID", "/client/clientID"),
                ("CLIENT URN", "/client/urn"),
                ("SCOPE", "/client/scope"),
                ("COMPANY", "/owner/name"),
                ("PERMISSIONS", "/permissions"),
                ("TOKEN URN", "/token/urn"),
                ("TOKEN EXPIRES", "/token/expirationTimestamp"),
            ],
        }
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

/// Prints results in the chosen format.
pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    color: bool,
}

impl Printer {
    /// A printer for the global options.
    pub fn new(g: &Global) -> Self {
        Printer {
            format: g.output,
            quiet: g.quiet,
            color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
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

    /// One JSON document on stdout.
    pub fn json<T: serde::Serialize + ?Sized>(&self, v: &T) -> Result<(), Failure> {
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

    /// A table of `header` and `rows`.
    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if self.color {
            // Bold cyan headers on a terminal; never when piped or with NO_COLOR.
            t.set_header(header.iter().map(|h| {
                comfy_table::Cell::new(h)
                    .add_attribute(comfy_table::Attribute::Bold)
                    .fg(comfy_table::Color::Cyan)
            }));
            // A terminal that reports no usable width (some CI ptys say 0) would squeeze
            // every column to one character: lay out unconstrained there.
            if t.width().is_none_or(|w| w < 40) {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        } else {
            t.force_no_tty().set_header(header.iter().copied());
        }
        for r in rows {
            t.add_row(r);
        }
        self.stdout(&t.to_string())
    }

    /// One object: a FIELD/VALUE table, its JSON, or its primary value.
    pub fn item(&self, kind: Kind, v: &Value) -> Result<(), Failure> {
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
        match self.format {
            OutputFormat::Json => self.json(v),
            OutputFormat::Table => {
                let rows = match (kind, v.as_object()) {
                    (Kind::Context, _) => kind
                        .columns()
                        .iter()
                        .map(|(h, p)| {
                            vec![h.to_string(), text(v.pointer(p).unwrap_or(&Value::Null))]
                        })
                        .collect(),
                    (_, Some(o)) => o
                        .iter()
                        .filter(|(k, _)| *k != "url")
                        .map(|(k, x)| vec![k.clone(), text(x)])
                        .collect(),
                    (_, None) => vec![vec!["value".into(), text(v)]],
                };
                self.table(&["FIELD", "VALUE"], rows)
            }
        }
    }

    /// A list: a table with a row each, a JSON array, or primary values one per line.
    pub fn list(&self, kind: Kind, items: &[Value]) -> Result<(), Failure> {
        if self.quiet {
            let lines: String = items.iter().map(|v| kind.primary(v) + "\n").collect();
            if lines.is_empty() {
                return Ok(());
            }
            return self.stdout(&lines);
        }
        match self.format {
            OutputFormat::Json => self.json(items),
            OutputFormat::Table => {
                let cols = kind.columns();
                let header: Vec<&str> = cols.iter().map(|(h, _)| *h).collect();
                let rows = items
                    .iter()
                    .map(|v| {
                        cols.iter()
                            .map(|(h, p)| {
                                let x = v.pointer(p).unwrap_or(&Value::Null);
                                // A role's clients are many; their count reads better.
                                match (*h, x) {
                                    ("CLIENTS", Value::Array(a)) => a.len().to_string(),
                                    _ => text(x),
                                }
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
        }
    }

    /// The answer to a delete: the status body, the URN, or a sentence.
    pub fn deleted(&self, what: &str, key: &str, body: &Value) -> Result<(), Failure> {
        if self.quiet {
            return self.stdout(key);
        }
        match self.format {
            OutputFormat::Json => self.json(body),
            OutputFormat::Table => self.stdout(&format!("deleted {what} {key}")),
        }
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
        match (self.quiet, self.format) {
            (true, _) => self.stdout(&b.token),
            (false, OutputFormat::Json) => self.json(&json!({
                "store": b.path.display().to_string(),
                "company": Company::from(&b.company),
                "rootClient": ApiClient::from(&b.root_client),
                "rootToken": BearerTokenCreated::new(&b.root_token, &b.token),
            })),
            (false, OutputFormat::Table) => {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
