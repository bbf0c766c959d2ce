//! The one printer: data to stdout as a table, JSON or bare values; notes to stderr. Every
//! command hands it values and never writes to stdout itself.

use std::io::{self, IsTerminal, Write};

use baack::Error;
use baack::model::{client_json, company_json};
use baack::store::Bootstrap;
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

    /// A note for people, on stderr.
    pub fn note(&self, msg: &str) {
        let _ = writeln!(io::stderr().lock(), "{msg}");
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
    pub fn json(&self, v: &Value) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(v)
            .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
        self.stdout(&text)
    }

    /// A table of `header` and `rows`.
    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header.iter().copied());
        if !self.color {
            t.force_no_tty();
        }
        for r in rows {
            t.add_row(r);
        }
        self.stdout(&t.to_string())
    }

    /// Tells, on stderr, that a store was created and what its root token is: shown once.
    pub fn announce_bootstrap(&self, b: &Bootstrap) {
        self.note(&format!(
            "created a new store at {}\nroot bearer token (shown once, it cannot be shown again): {}",
            b.path.display(),
            b.token
        ));
    }

    /// The result of `baack init`.
    pub fn init(&self, b: &Bootstrap) -> Result<(), Failure> {
        match (self.quiet, self.format) {
            (true, _) => self.stdout(&b.token),
            (false, OutputFormat::Json) => self.json(&json!({
                "store": b.path.display().to_string(),
                "company": company_json(&b.company),
                "rootClient": client_json(&b.root_client),
                "rootToken": baack::model::token_json(&b.root_token, Some(&b.token)),
            })),
            (false, OutputFormat::Table) => {
                self.table(
                    &["store", "company", "root client", "root bearer token"],
                    vec![vec![
                        b.path.display().to_string(),
                        b.company.name.clone(),
                        b.root_client.urn.clone(),
                        b.token.clone(),
                    ]],
                )?;
                self.note("the root bearer token is shown once and cannot be shown again");
                Ok(())
            }
        }
    }
}
