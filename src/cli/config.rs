//! Profiles and credentials: `config.toml` (named profiles and the default one) and where
//! a profile's token lives. Token sources, first wins: `BAACK_TOKEN`, the profile's
//! keyring entry, the profile's credentials file (0600). Every keyring call has a hard
//! 3-second timeout, so a keyring that hangs (a locked collection waiting on an unlock
//! prompt nobody sees, a wedged D-Bus) never hangs baack.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use baack::Error;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Where `auth login` keeps a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStore {
    /// The OS keyring (Secret Service, Keychain, Credential Manager)
    Keyring,
    /// The credentials file in the config directory (mode 0600)
    File,
}

/// One named environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The API URL; none means the embedded store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The embedded store directory, for a profile without an API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<PathBuf>,
    /// The owner company URN used on create, saving a lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_owner: Option<String>,
    /// Where its token is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_store: Option<CredentialStore>,
    /// How long `token create` makes a token last when not told (a duration: `90d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_token_ttl: Option<String>,
    /// How long before its own token expires a command warns of it (a duration: `7d`;
    /// `0s` never warns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_before: Option<String>,
}

/// `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    /// The profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The config directory: `BAACK_CONFIG_DIR`, else `<config dir>/baack`.
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("BAACK_CONFIG_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::config_dir().map(|d| d.join("baack")),
    }
}

fn no_config_dir() -> Error {
    Error::Usage("no config directory is known for this user; set BAACK_CONFIG_DIR".into())
}

/// Writes `bytes` to `path` atomically, mode 0600, its directory 0700: through a temp file
/// of a random name created with `O_EXCL` in the same directory (so a symlink or file
/// planted under any name is never opened), fsynced, renamed over `path`, and the
/// directory fsynced.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().ok_or_else(no_config_dir)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    baack::store::check_private_dir(dir)?;
    // tempfile opens with O_CREAT|O_EXCL (which never follows a symlink) and mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".baack-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Reads a TOML file of the config directory, which must be private (see
/// [`baack::store::check_private_dir`]): whoever could write it could swap a profile's
/// URL or token.
pub(super) fn read_toml<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, Error> {
    if let Some(dir) = path.parent() {
        baack::store::check_private_dir(dir)?;
    }
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not valid: {}; fix or remove it",
                path.display(),
                e.message()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

impl Config {
    /// The path of `config.toml`.
    pub fn path() -> Result<PathBuf, Error> {
        Ok(config_dir().ok_or_else(no_config_dir)?.join("config.toml"))
    }

    /// Loads the config (empty when there is none).
    pub fn load() -> Result<Config, Error> {
        match config_dir() {
            Some(d) => read_toml(&d.join("config.toml")),
            None => Ok(Config::default()),
        }
    }

    /// Saves it atomically.
    pub fn save(&self) -> Result<(), Error> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("cannot write the config: {e}")))?;
        write_private(&Self::path()?, text.as_bytes())
    }
}

/// Where a token came from, for `auth status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The `BAACK_TOKEN` environment variable.
    Env,
    /// The OS keyring.
    Keyring,
    /// The credentials file.
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => f.write_str("environment (BAACK_TOKEN)"),
            TokenSource::Keyring => f.write_str("keyring"),
            TokenSource::File(p) => write!(f, "file ({})", p.display()),
        }
    }
}

// --- the keyring ------------------------------------------------------------------------

const KEYRING_SERVICE: &str = "baack";
const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the keyring could not be used.
#[derive(Debug)]
pub enum KeyringError {
    /// No entry for this profile.
    NoEntry,
    /// No keyring service answered (or `BAACK_KEYRING=off`).
    Unavailable(String),
}

impl std::fmt::Display for KeyringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringError::NoEntry => f.write_str("no keyring entry"),
            KeyringError::Unavailable(why) => write!(f, "no keyring service is reachable ({why})"),
        }
    }
}

/// Whether `BAACK_KEYRING=off`: the keyring is never tried, and nothing warns about it.
pub fn keyring_off() -> bool {
    std::env::var("BAACK_KEYRING").is_ok_and(|v| v.eq_ignore_ascii_case("off"))
}

/// Runs one keyring call on a thread, giving up after [`KEYRING_TIMEOUT`].
fn keyring_call<T: Send + 'static>(
    profile: &str,
    f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
) -> Result<T, KeyringError> {
    if keyring_off() {
        return Err(KeyringError::Unavailable("BAACK_KEYRING=off".into()));
    }
    let user = profile.to_string();
    let (tx, rx) = mpsc::channel();
    // The thread may hang inside the keyring; it is abandoned, and dies with the process.
    std::thread::spawn(move || {
        let r = keyring::Entry::new(KEYRING_SERVICE, &user).and_then(f);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(keyring::Error::NoEntry)) => Err(KeyringError::NoEntry),
        Ok(Err(e)) => Err(KeyringError::Unavailable(e.to_string())),
        Err(_) => Err(KeyringError::Unavailable(format!(
            "it did not answer within {}s",
            KEYRING_TIMEOUT.as_secs()
        ))),
    }
}

/// The profile's token from the keyring.
pub fn keyring_get(profile: &str) -> Result<String, KeyringError> {
    keyring_call(profile, |e| e.get_password())
}

/// Stores the profile's token in the keyring.
pub fn keyring_set(profile: &str, token: &str) -> Result<(), KeyringError> {
    let token = token.to_string();
    keyring_call(profile, move |e| e.set_password(&token))
}

/// Removes the profile's token from the keyring; true when there was one.
pub fn keyring_delete(profile: &str) -> Result<bool, KeyringError> {
    match keyring_call(profile, |e| e.delete_credential()) {
        Ok(()) => Ok(true),
        Err(KeyringError::NoEntry) => Ok(false),
        Err(e) => Err(e),
    }
}

// --- the credentials file ---------------------------------------------------------------

#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    #[serde(default)]
    profiles: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    token: String,
}

/// The path of the credentials file.
pub fn credentials_path() -> Result<PathBuf, Error> {
    Ok(config_dir()
        .ok_or_else(no_config_dir)?
        .join("credentials.toml"))
}

/// The profile's token from the credentials file.
pub fn file_get(profile: &str) -> Result<Option<String>, Error> {
    let Some(dir) = config_dir() else {
        return Ok(None);
    };
    let creds: CredentialsFile = read_toml(&dir.join("credentials.toml"))?;
    Ok(creds.profiles.get(profile).map(|e| e.token.clone()))
}

/// Stores the profile's token in the credentials file (0600); returns its path.
pub fn file_set(profile: &str, token: &str) -> Result<PathBuf, Error> {
    let path = credentials_path()?;
    let mut creds: CredentialsFile = read_toml(&path)?;
    creds.profiles.insert(
        profile.to_string(),
        FileEntry {
            token: token.to_string(),
        },
    );
    let text = toml::to_string_pretty(&creds)
        .map_err(|e| Error::Internal(format!("cannot write credentials: {e}")))?;
    write_private(&path, text.as_bytes())?;
    Ok(path)
}

/// Removes the profile's token from the credentials file; true when there was one.
pub fn file_delete(profile: &str) -> Result<bool, Error> {
    let path = credentials_path()?;
    let mut creds: CredentialsFile = read_toml(&path)?;
    if creds.profiles.remove(profile).is_none() {
        return Ok(false);
    }
    let text = toml::to_string_pretty(&creds)
        .map_err(|e| Error::Internal(format!("cannot write credentials: {e}")))?;
    write_private(&path, text.as_bytes())?;
    Ok(true)
}

/// The token for `profile`, and where it came from: `BAACK_TOKEN`, then the keyring (when
/// the profile keeps it there or says nothing), then the credentials file.
pub fn find_token(
    profile: Option<&str>,
    p: Option<&Profile>,
) -> Result<Option<(String, TokenSource)>, Error> {
    if let Ok(t) = std::env::var("BAACK_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok(Some((t.trim().to_string(), TokenSource::Env)));
    }
    let Some(name) = profile else {
        return Ok(None);
    };
    let store = p.and_then(|p| p.credential_store);
    if store != Some(CredentialStore::File)
        && let Ok(t) = keyring_get(name)
    {
        return Ok(Some((t, TokenSource::Keyring)));
    }
    Ok(file_get(name)?.map(|t| (t, TokenSource::File(credentials_path().unwrap_or_default()))))
}

/// Stores `token` for `profile` where `choice` says: the keyring, or the file. With no
/// explicit choice the keyring is tried first and, if none is reachable, the file is used
/// after `warn` names it: never silently, unless `BAACK_KEYRING=off` asked for exactly
/// that. Returns where it went.
pub fn store_token(
    profile: &str,
    token: &str,
    choice: Option<CredentialStore>,
    warn: &dyn Fn(&str),
) -> Result<TokenSource, Error> {
    match choice {
        Some(CredentialStore::File) => Ok(TokenSource::File(file_set(profile, token)?)),
        Some(CredentialStore::Keyring) => match keyring_set(profile, token) {
            Ok(()) => Ok(TokenSource::Keyring),
            Err(e) => Err(Error::Unreachable {
                url: "the OS keyring".into(),
                reason: format!(
                    "{e}; nothing was stored. Use --credential-store file to keep the token in {} (mode 0600)",
                    credentials_path()?.display()
                ),
            }),
        },
        // The keyring turned off on purpose: the file, without a word.
        None if keyring_off() => Ok(TokenSource::File(file_set(profile, token)?)),
        None => match keyring_set(profile, token) {
            Ok(()) => Ok(TokenSource::Keyring),
            Err(e) => {
                let path = credentials_path()?;
                warn(&format!(
                    "{e}: storing the token in {} (mode 0600) instead; pass --credential-store keyring to refuse this, or file to skip the keyring",
                    path.display()
                ));
                Ok(TokenSource::File(file_set(profile, token)?))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_unknown_keys() {
        let mut c = Config {
            default_profile: Some("prod".into()),
            ..Config::default()
        };
        c.profiles.insert(
            "prod".into(),
            Profile {
                api_url: Some("https://api.baack.co".into()),
                credential_store: Some(CredentialStore::Keyring),
                ..Profile::default()
            },
        );
        let text = toml::to_string_pretty(&c).unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);
        assert!(toml::from_str::<Config>("[profiles.x]\napi_ur = 'typo'\n").is_err());
    }
}
