//! The `baack` binary: parse arguments, resolve settings once, run one command, print its
//! result, and map any error to the documented exit code in exactly one place.

mod cli;

/// mimalloc: listing thousands of objects allocates and frees many small maps on two
/// threads, where glibc's allocator spends more time than the work itself.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

use baack::ErrorKind;

/// The exit code for an error kind (documented in README.md and `baack --help`).
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal => 1,
        ErrorKind::Usage => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Unauthorized | ErrorKind::Forbidden => 4,
        ErrorKind::Invalid => 5,
        ErrorKind::RateLimited => 6,
        ErrorKind::Unavailable => 7,
        ErrorKind::Conflict => 8,
        ErrorKind::NoEndpoint => 9,
        ErrorKind::CheckFailed => 10,
    }
}

/// What `baack --version` prints; the same line clap renders (a test checks they agree).
use cli::VERSION_LINE;

/// Whether the arguments are exactly `--version` or `-V`: answered before clap builds its
/// command tree of every subcommand, which is most of the work such a process would do.
fn asks_only_version(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let _program = args.next();
    matches!(
        (args.next(), args.next()),
        (Some(a), None) if a == "--version" || a == "-V"
    )
}

fn main() -> ExitCode {
    if asks_only_version(std::env::args_os()) {
        let _ = writeln!(std::io::stdout().lock(), "{VERSION_LINE}");
        return ExitCode::SUCCESS;
    }
    // `COMPLETE=bash baack -- …` answers a shell's completion request and nothing else.
    if std::env::var_os(cli::COMPLETE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        use clap::CommandFactory;
        let done = clap_complete::CompleteEnv::with_factory(cli::Cli::command)
            .var(cli::COMPLETE_VAR)
            .shells(cli::COMPLETE_SHELLS)
            .try_complete(std::env::args_os(), std::env::current_dir().ok().as_deref());
        // A completion error completes nothing rather than printing into the shell.
        if done.unwrap_or(true) {
            return ExitCode::SUCCESS;
        }
    }
    // `baack` alone is a request for help: on stdout, exit 0, as `gh` and `kubectl` do.
    if std::env::args_os().len() == 1 {
        let help = cli::command().render_help().to_string();
        let _ = write!(std::io::stdout().lock(), "{help}");
        return ExitCode::SUCCESS;
    }
    let args = match cli::parse() {
        Ok(a) => a,
        // A command group named alone (`baack token`) asks for its help, as gh reads it.
        Err(e)
            if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                && !asks_json(std::env::args_os()) =>
        {
            let _ = write!(std::io::stdout().lock(), "{}", e.render());
            return ExitCode::SUCCESS;
        }
        Err(e) if asks_json(std::env::args_os()) && e.use_stderr() => {
            print_json_error(ErrorKind::Usage, &first_paragraph(&e.render().to_string()));
            return ExitCode::from(exit_code(ErrorKind::Usage));
        }
        Err(e) => e.exit(),
    };
    let json = args.global.output == cli::OutputFormat::Json;
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(cli::Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(cli::Failure::Exit(code)) => ExitCode::from(code),
        Err(cli::Failure::Detailed(e)) => {
            if json {
                print_json_error_code(e.kind(), &e.to_string(), 1);
            } else {
                let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            }
            ExitCode::from(1)
        }
        Err(cli::Failure::Error(e)) => {
            if json {
                print_json_error(e.kind(), &e.to_string());
            } else {
                let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            }
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

/// Under `-o json` an error is one JSON document on stderr and nothing else:
/// `{"error": {"kind", "message", "exitCode"}}`.
fn print_json_error(kind: ErrorKind, message: &str) {
    print_json_error_code(kind, message, exit_code(kind));
}

/// The same, for a command whose exit status is its own (`plan`: 1 for any error).
fn print_json_error_code(kind: ErrorKind, message: &str, code: u8) {
    let body = serde_json::json!({ "error": {
        "kind": format!("{kind:?}"),
        "message": message,
        "exitCode": code,
    } });
    let _ = writeln!(std::io::stderr().lock(), "{body}");
}

/// clap's message without its `error: ` lead, usage and hint paragraphs.
fn first_paragraph(rendered: &str) -> String {
    let head = rendered.split("\n\n").next().unwrap_or(rendered).trim();
    head.strip_prefix("error: ").unwrap_or(head).to_string()
}

/// Whether the arguments ask for JSON output (`-o json`, `-ojson`, `-o=json`,
/// `--output json`, `--output=json`), read before clap could parse them.
fn asks_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    args.iter().enumerate().any(|(i, a)| {
        matches!(a.as_str(), "-ojson" | "-o=json" | "--output=json")
            || (matches!(a.as_str(), "-o" | "--output")
                && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every error kind, so a new one must be given an exit code and documented.
    fn every_kind() -> Vec<ErrorKind> {
        use ErrorKind as K;
        let all = [
            K::Internal,
            K::Usage,
            K::NotFound,
            K::Unauthorized,
            K::Forbidden,
            K::Invalid,
            K::RateLimited,
            K::Unavailable,
            K::Conflict,
            K::NoEndpoint,
            K::CheckFailed,
        ];
        // A kind missing above fails to compile here.
        for k in all {
            match k {
                K::Internal
                | K::Usage
                | K::NotFound
                | K::Unauthorized
                | K::Forbidden
                | K::Invalid
                | K::RateLimited
                | K::Unavailable
                | K::Conflict
                | K::NoEndpoint
                | K::CheckFailed => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn help_and_man_pages_list_the_same_variables() {
        let mut help: Vec<&str> = cli::HELP_ENVIRONMENT
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(|v| v.split('=').next().unwrap_or(v))
            .collect();
        let mut man: Vec<&str> = cli::ENVIRONMENT.iter().map(|(v, _)| *v).collect();
        help.sort_unstable();
        man.sort_unstable();
        assert_eq!(help, man);
    }

    #[test]
    fn help_man_pages_and_readme_document_every_exit_code_and_no_other() {
        let mut used: Vec<u8> = every_kind().into_iter().map(exit_code).collect();
        used.extend([0]);
        used.sort_unstable();
        used.dedup();
        let documented: Vec<u8> = cli::EXIT_STATUS
            .iter()
            .map(|(c, _)| c.parse().unwrap())
            .collect();
        assert_eq!(documented, used, "help and man pages (docs::EXIT_STATUS)");
        let readme: Vec<u8> = include_str!("../README.md")
            .split("\n## Exit codes\n")
            .nth(1)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect();
        assert_eq!(readme, used, "README's exit-code table");
        let help = cli::command().render_long_help().to_string();
        for code in &used {
            assert!(
                help.contains(&format!("\n  {code:<2} ")),
                "--help lacks {code}"
            );
        }
    }

    #[test]
    fn the_fast_version_line_is_the_one_clap_renders() {
        let clap_line = cli::Cli::command().render_version();
        assert_eq!(clap_line.trim_end(), VERSION_LINE);
    }

    #[test]
    fn only_a_lone_version_flag_takes_the_fast_path() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(asks_only_version(args(&["baack", "--version"]).into_iter()));
        assert!(asks_only_version(args(&["baack", "-V"]).into_iter()));
        assert!(!asks_only_version(args(&["baack"]).into_iter()));
        assert!(!asks_only_version(
            args(&["baack", "--version", "x"]).into_iter()
        ));
        assert!(!asks_only_version(
            args(&["baack", "client", "--version"]).into_iter()
        ));
        assert!(!asks_only_version(args(&["baack", "--versio"]).into_iter()));
    }
}
