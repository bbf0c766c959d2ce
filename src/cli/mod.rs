//! The command line: clap definitions (every doc comment is help text), settings resolved
//! once, and dispatch to one function per command.

mod output;
mod serve;

use std::path::PathBuf;

use baack::Error;
use baack::store::{self, Bootstrap, Store};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use output::Failure;

const EXIT_CODES: &str = "\
Exit status:
  0  ok
  1  server error or unexpected
  2  usage error
  3  not found
  4  unauthorized or forbidden
  5  invalid input (HTTP 400)
  6  rate limited after retries
  7  cannot reach the server or open the store";

/// Administer API access: API clients, bearer tokens, permission roles and OAuth clients.
///
/// With no --api-url, baack works on a local JSON file store (created on first use) as its
/// root client; `baack serve` exposes that store over HTTP.
#[derive(Debug, Parser)]
#[command(name = "baack", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The store directory of the embedded mode [default: <data dir>/baack/store]
    #[arg(long, global = true, env = "BAACK_STORE", value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// Output format: a table for people, or the API's JSON for scripts
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Print only the primary value (a URN, a token), one per line
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table sized to the terminal
    Table,
    /// Exactly the API's JSON, one document on stdout
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new store: one company, the root API client and its bearer token
    Init(InitArgs),
    /// Serve the store over HTTP (both APIs) until SIGINT or SIGTERM
    Serve(serve::ServeArgs),
}

/// `baack init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The company's name
    #[arg(long, default_value = "My Company", value_name = "NAME")]
    pub company_name: String,
}

/// The store directory the settings choose.
pub fn store_path(g: &Global) -> Result<PathBuf, Error> {
    g.store
        .clone()
        .or_else(store::default_path)
        .ok_or_else(|| Error::StoreIo {
            path: PathBuf::from("<data dir>"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no data directory is known for this user; pass --store PATH or set BAACK_STORE",
            ),
        })
}

/// Opens the store, creating it if absent; a new store's root token is announced once.
pub fn open_store(g: &Global, out: &output::Printer) -> Result<Store, Error> {
    let path = store_path(g)?;
    let (store, boot) = Store::open_or_init(&path, "My Company")?;
    if let Some(b) = boot {
        out.announce_bootstrap(&b);
    }
    Ok(store)
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let out = output::Printer::new(&cli.global);
    match cli.command {
        Command::Init(a) => {
            let path = store_path(&cli.global)?;
            let b: Bootstrap = Store::init(&path, &a.company_name)?;
            out.init(&b)
        }
        Command::Serve(a) => serve::run(&cli.global, &out, a),
    }
}
