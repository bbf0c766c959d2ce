//! `--secret-file PATH`: a new secret goes to a new 0600 file instead of the terminal.
//! The file is created before the secret exists, so a path that is taken fails the
//! command before anything is created on the server.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use baack::Error;

/// A reserved secret file: written by [`SecretFile::write`], removed if dropped unwritten.
pub struct SecretFile {
    path: PathBuf,
    file: Option<File>,
}

impl SecretFile {
    /// Creates `path` (mode 0600), refusing to overwrite anything.
    pub fn reserve(path: &Path) -> Result<SecretFile, Error> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "it already exists and is never overwritten; choose a new path".to_string()
                } else {
                    e.to_string()
                };
                Error::Usage(format!(
                    "cannot create secret file {}: {why}",
                    path.display()
                ))
            })?;
        Ok(SecretFile {
            path: path.to_path_buf(),
            file: Some(file),
        })
    }

    /// Where the secret goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the secret and a newline, durably. When that fails (a full disk) the file
    /// is removed, so no partial secret is left, and the caller must undo the secret.
    pub fn write(mut self, secret: &str) -> Result<(), Error> {
        let mut f = self
            .file
            .take()
            .ok_or_else(|| Error::Internal("the secret file was already written".into()))?;
        let written = f
            .write_all(secret.as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all());
        drop(f);
        if let Err(e) = written {
            let _ = std::fs::remove_file(&self.path);
            return Err(Error::Internal(format!(
                "cannot write secret file {}: {e}",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        // Reserved but never written (the create failed): leave no empty file behind.
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A secret on stdin: a hidden prompt (`prompt`) on a terminal, else at most 64 KiB of
/// stdin, trimmed. `empty` is the whole message when nothing came, saying how to give it.
/// Never a flag: a flag's value is in every process listing.
pub fn read_stdin(prompt: &str, what: &str, empty: &str) -> Result<String, Error> {
    use std::io::{IsTerminal, Read};
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::Usage(format!("cannot read the {what}: {e}")))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|e| Error::Usage(format!("cannot read the {what} from stdin: {e}")))?;
        s
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Error::Usage(empty.into()));
    }
    Ok(text)
}

/// A secret from an existing file (its first line, trimmed), as `--secret-file` names one
/// to read; the file's mode is not checked, but an empty file is an error.
pub fn read_file(path: &Path, what: &str) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the {what} from {}: {e}",
            path.display()
        ))
    })?;
    let text = text.lines().next().unwrap_or("").trim().to_string();
    if text.is_empty() {
        return Err(Error::Usage(format!(
            "{} is empty: it should hold the {what}",
            path.display()
        )));
    }
    Ok(text)
}
