//! The program's `tracing` subscribers, all on stderr: `baack serve`'s log (text or JSON,
//! filtered by `BAACK_LOG`) and the other commands' `-v` lines. The library only emits
//! events; which ones are shown, and how, is decided here.

use baack::Error;
use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The variable holding `baack serve`'s log filter.
pub const LOG_VAR: &str = "BAACK_LOG";

/// What `baack serve` logs without `BAACK_LOG`: every request, warnings and errors.
const DEFAULT_FILTER: &str = "info";

/// How `baack serve` writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event, for people: time, level, target, message, `key=value` fields
    Text,
    /// One JSON object per line: timestamp, level, target, message and the fields
    Json,
}

/// The filter `BAACK_LOG` asks for (EnvFilter syntax), or the default when it is unset
/// or empty. A filter that does not parse is a usage error rather than silence.
fn filter_from(value: Option<&str>) -> Result<EnvFilter, Error> {
    let spec = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_FILTER);
    EnvFilter::builder()
        .parse(spec)
        .map_err(|e| Error::Usage(format!("{LOG_VAR}=`{spec}` is not a log filter ({e})")))
}

fn filter_from_env() -> Result<EnvFilter, Error> {
    match std::env::var(LOG_VAR) {
        Ok(v) => filter_from(Some(&v)),
        Err(std::env::VarError::NotPresent) => filter_from(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::Usage(format!("{LOG_VAR} is not valid UTF-8")))
        }
    }
}

/// Installs `baack serve`'s subscriber: `format` on stderr, filtered by `BAACK_LOG`.
/// Checked before the store is opened, so a mistyped filter changes nothing.
pub fn init_serve(format: LogFormat) -> Result<(), Error> {
    let filter = filter_from_env()?;
    // A failed write (a closed stderr) is dropped: the default would report it with
    // eprintln!, which panics when stderr is gone, and the server must keep answering.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .log_internal_errors(false);
    // Only the first subscriber of a process counts; a second call changes nothing.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    Ok(())
}

/// Installs the `-v` subscriber: the client's request and answer lines on stderr, each
/// the bare message (`> GET …`, `< 200 OK (1.2 ms)`), as `-v` has always printed them.
pub fn init_verbose() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("baack::client=debug"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .log_internal_errors(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_defaults_to_info_and_refuses_nonsense() {
        assert_eq!(filter_from(None).unwrap().to_string(), "info");
        assert_eq!(filter_from(Some("  ")).unwrap().to_string(), "info");
        assert_eq!(
            filter_from(Some("baack=warn")).unwrap().to_string(),
            "baack=warn"
        );
        let err = filter_from(Some("baack=loud")).unwrap_err().to_string();
        assert!(err.contains("BAACK_LOG"), "{err}");
    }
}
