//! The library's one error type: every failure carries a kind that picks the HTTP status,
//! the API error body and the CLI exit code in exactly one place each.

use std::path::PathBuf;

/// What went wrong, as the caller needs to react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a missing or invalid field, a malformed body or query (HTTP 400, exit 5).
    Invalid,
    /// No such object, or the caller may not see it (HTTP 404, exit 3).
    NotFound,
    /// No valid credentials (HTTP 401, exit 4).
    Unauthorized,
    /// Valid credentials without the permission (HTTP 403 on the OAuth API, exit 4).
    Forbidden,
    /// The object exists already, unlike what was asked, or changed since it was read
    /// (HTTP 409 and 412, exit 8).
    Conflict,
    /// Too many requests (HTTP 429, exit 6).
    RateLimited,
    /// The store or server cannot be reached or opened (exit 7).
    Unavailable,
    /// The command line was wrong (exit 2).
    Usage,
    /// The server has no such operation: a route API.md adds that a deployment lacks
    /// (a list, `clientcontext`), unlike a missing object (exit 9).
    NoEndpoint,
    /// A hygiene check found what it fails on: `baack audit check` (exit 10).
    CheckFailed,
    /// Anything unexpected (HTTP 500, exit 1).
    Internal,
}

/// An error from any part of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required field is absent or null (`REPRESENTATION_MISSING_REQUIRED_FIELD`).
    #[error("missing required field `{0}`")]
    MissingField(String),
    /// A field breaks a rule (`INVALID_REPRESENTATION`, OAuth `400.1 Bad Request Content`).
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    /// A manifest (`baack plan`, `apply`) breaks a rule at `at` (`FILE:LINE:COLUMN`).
    #[error("{at}: {message}")]
    Manifest {
        /// Where: `access.yaml:12:7`.
        at: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Several OAuth rules broken at once; each is one cause.
    #[error("invalid request: {}", .0.join("; "))]
    InvalidMany(Vec<String>),
    /// The request itself is malformed (`BAD_REQUEST`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A JSON Patch touched a field that may not change (`400.1.1 Illegal update attempt`).
    #[error("illegal update attempt: {0}")]
    IllegalUpdate(String),
    /// The body is larger than the server accepts (413).
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// No such object (or hidden from the caller).
    #[error("{0}")]
    NotFound(String),
    /// Missing, malformed, unknown, expired or revoked credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Valid credentials that lack the permission.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An `If-Match` precondition failed: the object changed since it was read.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// An object of that name exists already and differs from what was asked: the CLI's
    /// conclusion from a create the API refused (the wire says 400 for a taken name).
    #[error("{0}")]
    Conflict(String),
    /// Rate limited; retry after this many seconds.
    #[error("rate limited; retry after {retry_after}s")]
    RateLimited { retry_after: u64 },
    /// A store file is corrupt, truncated or not JSON; it is left untouched.
    #[error(
        "store file {} is corrupt ({reason}); it was left untouched: restore it from a backup or move the store aside",
        path.display()
    )]
    StoreCorrupt { path: PathBuf, reason: String },
    /// The store was written by a newer baack.
    #[error(
        "store {} has format {found}, newer than the {supported} this baack reads; upgrade baack",
        path.display()
    )]
    StoreTooNew {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    /// `init` on a store that exists.
    #[error("a store already exists at {}; nothing was changed", path.display())]
    StoreExists { path: PathBuf },
    /// The store cannot be read or written.
    #[error("cannot use store {}: {source}", path.display())]
    StoreIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A directory another user could write (or owns): whoever can plant a file in it
    /// could plant a token, so it is refused as ssh's StrictModes refuses a home.
    #[error("refusing to use {}: {problem}; {fix}", path.display())]
    NotPrivate {
        path: PathBuf,
        problem: String,
        fix: String,
    },
    /// The store's write lock stayed held by another writer past the lock timeout.
    #[error(
        "the store is locked: {} held {} for over {}; try again once it is done, or wait longer with BAACK_LOCK_TIMEOUT",
        match holder { Some(pid) => format!("another writer (PID {pid})"), None => "another writer".to_string() },
        path.display(),
        humantime::format_duration(*waited)
    )]
    LockTimeout {
        path: PathBuf,
        waited: std::time::Duration,
        holder: Option<u32>,
    },
    /// The remote server cannot be reached.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// `serve` cannot listen on its address (taken, not ours, not permitted).
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    /// A check found no credentials (`auth status`): exit 1, as `gh auth status` does,
    /// apart from a token that was tried and rejected (exit 4).
    #[error("{0}")]
    NotLoggedIn(String),
    /// An error answered by a remote API, carried with its status and API code.
    #[error("{message}")]
    Remote {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<u64>,
    },
    /// The command line asks for something it cannot have (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An error the in-process server answered, with the library's own kind and message.
    #[error("{message}")]
    Embedded { kind: ErrorKind, message: String },
    /// A new secret could not be handed over (a closed pipe, a full disk); the message
    /// says whether what holds it was deleted, and how to delete it if not (exit 1).
    #[error("{0}")]
    Undelivered(String),
    /// A server's answer that is not what was asked: a success whose body cannot be
    /// read, a field sent that it did not keep (with `--strict`), a change that did not
    /// take (exit 1). The message says what was done and what to check.
    #[error("{0}")]
    Answer(String),
    /// `baack audit check` found offending credentials (what and how many).
    #[error("{0}")]
    CheckFailed(String),
    /// The remote server has no endpoint for what was asked (see [`ErrorKind::NoEndpoint`]);
    /// the message names the request, its answer and what to do instead.
    #[error("{0}")]
    NoEndpoint(String),
    /// Anything else; never carries a secret.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The error with `f` applied to the free text of an error that carries one from
    /// outside (an answer's message, a reachability reason, an auth refusal), for callers
    /// that add what they know (how it was tried, which profile it used, which flag a
    /// field is); every other error is returned as it was.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Error::Unauthorized(m) => Error::Unauthorized(f(m)),
            Error::Forbidden(m) => Error::Forbidden(f(m)),
            Error::Unreachable { url, reason } => Error::Unreachable {
                url,
                reason: f(reason),
            },
            Error::Remote {
                status,
                code,
                message,
                retry_after,
            } => Error::Remote {
                status,
                code,
                message: f(message),
                retry_after,
            },
            Error::Embedded { kind, message } => Error::Embedded {
                kind,
                message: f(message),
            },
            other => other,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::StoreIo`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::StoreIo {
            path: path.into(),
            source,
        }
    }

    /// The kind that decides status codes and exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::MissingField(_)
            | Error::Invalid { .. }
            | Error::InvalidMany(_)
            | Error::Manifest { .. }
            | Error::BadRequest(_)
            | Error::IllegalUpdate(_)
            | Error::TooLarge(_)
            | Error::StoreExists { .. } => ErrorKind::Invalid,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::PreconditionFailed(_) | Error::Conflict(_) => ErrorKind::Conflict,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::StoreCorrupt { .. }
            | Error::StoreTooNew { .. }
            | Error::StoreIo { .. }
            | Error::NotPrivate { .. }
            | Error::LockTimeout { .. }
            | Error::Unreachable { .. }
            | Error::Listen { .. } => ErrorKind::Unavailable,
            Error::Remote { status, .. } => match status {
                400 | 413 | 422 => ErrorKind::Invalid,
                401 | 403 => ErrorKind::Unauthorized,
                404 => ErrorKind::NotFound,
                409 | 412 => ErrorKind::Conflict,
                429 => ErrorKind::RateLimited,
                // The server (or a gateway before it) says it cannot serve now, as a
                // store lock held past its timeout does: the same exit as unreachable.
                502..=504 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Error::Usage(_) => ErrorKind::Usage,
            Error::NoEndpoint(_) => ErrorKind::NoEndpoint,
            Error::CheckFailed(_) => ErrorKind::CheckFailed,
            Error::Embedded { kind, .. } => *kind,
            Error::Undelivered(_)
            | Error::NotLoggedIn(_)
            | Error::Internal(_)
            | Error::Answer(_) => ErrorKind::Internal,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
