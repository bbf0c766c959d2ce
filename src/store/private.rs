//! Refusing a directory that another user could write or owns: the store's, the folders
//! baack makes in it, and the config directory.
//!
//! Whoever can create a file in the store can plant a token file (and so become root);
//! whoever can write the config directory can swap the credentials or the profile's URL.
//! So, as ssh's StrictModes does for `~/.ssh`, a directory is used only when it is owned by
//! this user (or by root) and is writable by neither its group nor others. One `stat` per
//! directory: the CLI pays this on every command.

use std::io::ErrorKind as IoKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Refuses `dir` unless it is owned by this process's effective user (or root) and is not
/// group- or world-writable. A directory that does not exist passes: nothing can be read
/// from it, and whoever creates it creates it private.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let me = rustix::process::geteuid().as_raw();
    judge(dir, meta.uid(), meta.mode(), me)
}

/// The rule itself, apart from the `stat`, so that every branch is tested.
fn judge(dir: &Path, owner: u32, mode: u32, me: u32) -> Result<()> {
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let shown = dir.display();
    if owner != me && owner != 0 {
        problems.push(format!(
            "it is owned by uid {owner}, not by this user (uid {me})"
        ));
        fixes.push(format!(
            "run `chown {me} {shown}` (or use a directory of your own)"
        ));
    }
    let writers = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("its group and all users"),
        (true, false) => Some("its group"),
        (false, true) => Some("all users"),
        (false, false) => None,
    };
    if let Some(who) = writers {
        problems.push(format!(
            "it is writable by {who} (mode {:03o})",
            mode & 0o777
        ));
        fixes.push(format!("run `chmod 700 {shown}`"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::NotPrivate {
        path: dir.to_path_buf(),
        problem: problems.join(" and "),
        fix: fixes.join(" and "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(owner: u32, mode: u32, me: u32) -> Option<String> {
        judge(Path::new("/s"), owner, mode, me)
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn private_directories_pass_and_others_are_refused_with_the_fix() {
        // Owned by me, or by root, and writable by no one else: fine, sticky bit or not.
        for mode in [0o700, 0o755, 0o750, 0o711, 0o1700] {
            assert_eq!(msg(1000, mode, 1000), None, "{mode:o}");
            assert_eq!(msg(0, mode, 1000), None, "{mode:o}");
        }
        let g = msg(1000, 0o770, 1000).unwrap();
        assert!(g.contains("writable by its group (mode 770)"), "{g}");
        assert!(g.contains("`chmod 700 /s`"), "{g}");
        let o = msg(1000, 0o1777, 1000).unwrap();
        assert!(o.contains("its group and all users (mode 777)"), "{o}");
        assert!(msg(1000, 0o702, 1000).unwrap().contains("by all users"));
        // Another owner, even when private: it could change the mode back at any time.
        let w = msg(65534, 0o700, 1000).unwrap();
        assert!(w.contains("owned by uid 65534"), "{w}");
        assert!(w.contains("`chown 1000 /s`") && !w.contains("chmod"), "{w}");
        // Root runs as root: only root's own or another's matter.
        assert!(msg(65534, 0o700, 0).is_some());
        assert_eq!(msg(0, 0o700, 0), None);
        let both = msg(65534, 0o775, 1000).unwrap();
        assert!(
            both.contains("chown") && both.contains("chmod 700"),
            "{both}"
        );
    }

    #[test]
    fn a_missing_directory_passes_and_a_real_one_is_judged() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_private_dir(&dir.path().join("absent")).is_ok());
        assert!(check_private_dir(dir.path()).is_ok());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o720)).unwrap();
        let e = check_private_dir(dir.path()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
    }
}
