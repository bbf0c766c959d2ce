//! The README's "Commands" section, run as it stands: every `sh` block, top to bottom, in
//! one shell on a fresh default store, so that no step breaks a later one and the
//! examples a new user copies work.

use std::process::Command;

use crate::support::*;

/// The `sh` blocks of the README section headed `heading`, in order, as one script.
fn section_script(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading}"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let mut script = String::new();
    let mut in_sh = false;
    let mut fences = 0;
    for line in rest[..end].lines() {
        if line.starts_with("```") {
            fences += 1;
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            script.push_str(line);
            script.push('\n');
        }
    }
    assert!(fences >= 10, "only {fences} fences in {heading}");
    script
}

#[test]
fn the_readme_commands_run_top_to_bottom_on_a_fresh_store() {
    let readme = include_str!("../../README.md");
    let script = section_script(readme, "Commands");
    assert!(script.lines().filter(|l| l.starts_with("baack ")).count() > 30);
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("baack")).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("bash");
    hermetic(&mut c);
    let out = c
        .env("PATH", path)
        // The default store, as a new user has it: created on first use.
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("BAACK_CONFIG_DIR", dir.path().join("config"))
        .current_dir(&work)
        .arg("-c")
        .arg(format!("set -euo pipefail -x\n{script}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's commands stopped ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // What the blocks said they made is there.
    for f in ["android.token", "second.token", "oauth.secret"] {
        assert!(work.join(f).is_file(), "{f}");
    }
}
