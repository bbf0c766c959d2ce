//! Hostile neighbours and failing disks: store and config directories another user could
//! write are refused, planted symlinks never receive a token, a held store lock is waited
//! for only so long (CLI and server), and a server fault is answered with a trackingId the
//! log repeats, never a path; malformed paths get the API's 400.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// A new store at `<tmp>/store`, made by `baack init`.
fn new_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = baack()
        .arg("--store")
        .arg(&store)
        .arg("init")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, store)
}

/// Every entry under `dir` with its bytes (a symlink: its target), to show nothing changed.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = fs::symlink_metadata(&p).unwrap();
        let value = if meta.file_type().is_symlink() {
            fs::read_link(&p)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if meta.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            format!("dir {:o}", meta.permissions().mode()).into_bytes()
        } else {
            fs::read(&p).unwrap()
        };
        out.insert(p, value);
    }
    out
}

fn on_store(store: &Path, args: &[&str]) -> Output {
    baack()
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn assert_refused(out: &Output, path: &Path, fix: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains(fix), "{err}");
}

/// Runs `cmd` (a `baack serve`) to its exit, which must come within 20 s: a server that
/// started listening would never exit by itself.
fn run_to_exit(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("baack serve kept running: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_group_writable_store_is_refused_naming_the_fix_and_left_unchanged() {
    let (_dir, store) = new_store();
    chmod(&store, 0o770);
    let before = contents(&store);
    for args in [
        &["client", "create", "--client-id", "planted"][..],
        &["client", "list"],
        &["init"],
    ] {
        let out = on_store(&store, args);
        assert_refused(&out, &store, &format!("chmod 700 {}", store.display()));
    }
    assert_eq!(contents(&store), before, "a refused store was changed");

    // An empty directory that is not private is not made a store either.
    let empty = _dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    chmod(&empty, 0o777);
    let out = on_store(&empty, &["client", "list"]);
    assert_refused(&out, &empty, "chmod 700");
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0, "files were made");

    // Fixed as told, it works.
    chmod(&store, 0o700);
    let out = on_store(&store, &["client", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_world_writable_store_folder_is_refused_by_the_cli_and_by_serve() {
    let (_dir, store) = new_store();
    let tokens = store.join("tokens");
    chmod(&tokens, 0o777);
    let out = on_store(&store, &["token", "list"]);
    assert_refused(&out, &tokens, &format!("chmod 700 {}", tokens.display()));

    let mut cmd = baack();
    cmd.arg("serve")
        .arg("--store")
        .arg(&store)
        .args(["--listen", "127.0.0.1:0"]);
    let out = run_to_exit(cmd);
    assert_refused(&out, &tokens, "chmod 700");
    assert!(!text(&out.stderr).contains("listening on"), "it served");

    // A folder made in the store by an older build, say, is judged the same way.
    chmod(&tokens, 0o700);
    let index = store.join("index/client-id");
    chmod(&index, 0o730);
    assert_refused(&on_store(&store, &["client", "list"]), &index, "chmod 700");
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    let (_dir, store) = new_store();
    // Only root can give a directory away; elsewhere there is no other owner to test.
    if std::os::unix::fs::chown(&store, Some(65534), None).is_err() {
        eprintln!("not root: cannot chown a directory to another user; skipped");
        return;
    }
    let out = on_store(&store, &["client", "list"]);
    assert_refused(&out, &store, "chown");
    assert!(
        text(&out.stderr).contains("uid 65534"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = baack();
    cmd.arg("serve")
        .arg("--store")
        .arg(&store)
        .args(["--listen", "127.0.0.1:0"]);
    assert_refused(&run_to_exit(cmd), &store, "chown");
}

#[test]
fn a_group_writable_config_directory_is_refused_for_reading_and_writing() {
    let (dir, store) = new_store();
    let cfg = dir.path().join("config");
    fs::create_dir(&cfg).unwrap();
    fs::write(cfg.join("config.toml"), "").unwrap();
    chmod(&cfg, 0o775);
    let with_cfg = || {
        let mut c = baack();
        c.env("BAACK_CONFIG_DIR", &cfg).arg("--store").arg(&store);
        c
    };
    let out = with_cfg().args(["client", "list"]).output().unwrap();
    assert_refused(&out, &cfg, &format!("chmod 700 {}", cfg.display()));

    let srv = Server::start();
    let mut login = with_cfg();
    login.args([
        "auth",
        "login",
        "--profile",
        "dev",
        "--api-url",
        &srv.base,
        "--credential-store",
        "file",
    ]);
    let out = run_with_stdin(&mut login, &format!("{}\n", srv.root()));
    assert_refused(&out, &cfg, "chmod 700");
    assert!(
        !cfg.join("credentials.toml").exists(),
        "a token was written"
    );
    assert_eq!(fs::read(cfg.join("config.toml")).unwrap(), b"");
}

#[test]
fn a_symlink_planted_at_a_temp_name_never_receives_the_token_or_config() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    fs::create_dir(&cfg).unwrap();
    chmod(&cfg, 0o700);
    let target = dir.path().join("attacker-readable");
    fs::write(&target, "untouched\n").unwrap();
    chmod(&target, 0o644);
    // The names the old code used (`.NAME.PID.tmp`, PID being that of the process, which
    // `exec` keeps from this shell), and other plausible ones.
    let script = r#"
        for n in ".credentials.toml.$$.tmp" ".config.toml.$$.tmp" credentials.toml.tmp \
                 .credentials.toml.tmp config.toml.tmp .config.toml.tmp credentials.toml~ \
                 .credentials.toml.swp .baack.tmp; do
            ln -s "$TARGET" "$CFG/$n" || exit 99
        done
        exec "$BAACK" auth login --profile dev --api-url "$URL" --credential-store file
    "#;
    let mut cmd = baack();
    cmd.env("BAACK_CONFIG_DIR", &cfg)
        .env("TARGET", &target)
        .env("CFG", &cfg)
        .env("BAACK", bin())
        .env("URL", &srv.base)
        .args(["-c", script]);
    // `baack()` is a Command for the binary; run the same environment through sh.
    let mut sh = Command::new("sh");
    sh.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let out = run_with_stdin(&mut sh, &format!("{}\n", srv.root()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched\n");
    for name in ["credentials.toml", "config.toml"] {
        let p = cfg.join(name);
        let meta = fs::symlink_metadata(&p).unwrap();
        assert!(meta.is_file(), "{name} is not a plain file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    assert!(
        fs::read_to_string(cfg.join("credentials.toml"))
            .unwrap()
            .contains(srv.root())
    );
}

/// A valid OAuth client to create.
fn oauth_body() -> Value {
    json!({"name": "n", "description": "d", "grantTypes": ["CLIENT_CREDENTIALS"],
           "accessType": "OFFLINE", "accessTokenValiditySeconds": 60, "enabled": true})
}

/// Holds the store's write lock from this test process (another process than baack's).
fn hold_lock(store: &Path) -> File {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(store.join("lock"))
        .unwrap();
    f.lock().unwrap();
    f
}

#[test]
fn a_cli_writer_waits_for_a_held_lock_only_as_long_as_told() {
    let (_dir, store) = new_store();
    let held = hold_lock(&store);
    let start = Instant::now();
    let out = baack()
        .env("BAACK_LOCK_TIMEOUT", "300ms")
        .arg("--store")
        .arg(&store)
        .args(["client", "create", "--client-id", "waiting"])
        .output()
        .unwrap();
    // Well under the 10 s default: the variable was obeyed.
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains(&store.join("lock").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains(&format!("PID {}", std::process::id())),
        "the holder is not named: {err}"
    );
    assert!(err.contains("BAACK_LOCK_TIMEOUT"), "{err}");

    // A bad value is a usage error naming the variable.
    let out = baack()
        .env("BAACK_LOCK_TIMEOUT", "a while")
        .arg("--store")
        .arg(&store)
        .args(["client", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("BAACK_LOCK_TIMEOUT"));

    // Released while a writer waits (plain seconds this time): that writer goes ahead.
    let mut waiting = baack()
        .env("BAACK_LOCK_TIMEOUT", "30")
        .arg("--store")
        .arg(&store)
        .args(["client", "create", "--client-id", "patient", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let out = waiting.wait().unwrap();
    assert!(out.success());
}

#[test]
fn a_server_write_on_a_held_lock_gets_503_with_retry_after_and_a_tracking_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut cmd = baack();
    cmd.env("BAACK_LOCK_TIMEOUT", "300ms")
        .arg("serve")
        .arg("--store")
        .arg(&store)
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "off"]);
    let srv = Server::spawn(cmd);
    let owner = srv.owner();
    let held = hold_lock(&store);
    let lock_path = store.join("lock").display().to_string();

    let a = srv.post(
        "/n/v1/apiclient/",
        json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "blocked"}),
    );
    assert_status(&a, 503, "SERVICE_UNAVAILABLE");
    let (_, headers, body) = &a;
    assert!(headers.get("retry-after").is_some(), "no Retry-After");
    let id = body["trackingId"].as_str().unwrap_or_default().to_string();
    assert!(is_lower_hex(&id, 32), "{body}");
    assert!(
        !body.to_string().contains(&dir.path().display().to_string()),
        "{body}"
    );
    assert!(
        srv.wait_log(|l| l.contains(&id)
            && l.contains(&lock_path)
            && l.contains(&format!("PID {}", std::process::id()))),
        "no log line with {id}, the lock file and its holder: {:?}",
        srv.log()
    );

    let a = srv.post("/v3/oauth-clients", oauth_body());
    assert_sailpoint(&a, 503, "503 Service Unavailable", "busy");
    assert!(a.1.get("retry-after").is_some(), "no Retry-After");
    let id = a.2["trackingId"].as_str().unwrap().to_string();
    assert!(!a.2.to_string().contains(&dir.path().display().to_string()));
    assert!(srv.wait_log(|l| l.contains(&id) && l.contains(&lock_path)));

    drop(held);
    let a = srv.post(
        "/n/v1/apiclient/",
        json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "freed"}),
    );
    assert_eq!(a.0.as_u16(), 201, "{}", a.2);
}

/// Replaces the store folder `name` with a plain file: every write to it fails with an
/// I/O error that names the file (even as root, whom modes do not stop).
fn break_folder(store: &Path, name: &str) {
    let p = store.join(name);
    fs::remove_dir_all(&p).unwrap();
    fs::write(&p, b"not a folder").unwrap();
}

#[test]
fn a_server_fault_has_a_tracking_id_the_log_repeats_and_no_path_in_its_body() {
    let srv = Server::start();
    let owner = srv.owner();
    let store = srv.store.display().to_string();
    break_folder(&srv.store, "roles");
    break_folder(&srv.store, "oauth");

    let a = srv.post(
        "/n/v1/permissionrole/",
        json!({"name": "Doomed", "owner": {"urn": owner}, "permissions": ["READ"]}),
    );
    assert_status(&a, 500, "INTERNAL_ERROR");
    let body = a.2.to_string();
    let id = a.2["trackingId"].as_str().unwrap_or_default().to_string();
    assert!(is_lower_hex(&id, 32), "{body}");
    assert!(!body.contains(&store) && !body.contains("/roles"), "{body}");
    assert!(!body.contains("see the server log"), "{body}");
    assert!(
        srv.wait_log(|l| l.contains(&format!("trackingId={id}"))
            && l.contains(&store)
            && l.contains("roles")),
        "no log line with {id} and its cause: {:?}",
        srv.log()
    );

    let a = srv.post("/v3/oauth-clients", oauth_body());
    assert_eq!(a.0.as_u16(), 500, "{}", a.2);
    assert_eq!(a.2["detailCode"], "500.0 Internal Fault");
    let body = a.2.to_string();
    assert!(!body.contains(&store) && !body.contains("/oauth"), "{body}");
    let id = a.2["trackingId"].as_str().unwrap().to_string();
    assert!(
        srv.wait_log(|l| l.contains(&format!("trackingId={id}")) && l.contains("oauth")),
        "no log line with {id}: {:?}",
        srv.log()
    );
    // No secret reaches the log with the cause (the store's creation announced it once).
    let faults: Vec<String> = srv
        .log()
        .into_iter()
        .filter(|l| l.contains("trackingId="))
        .collect();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(faults.iter().all(|l| !l.contains(srv.root())), "{faults:?}");
}

#[test]
fn a_path_that_is_not_utf8_gets_the_apis_400() {
    let srv = Server::start();
    for path in ["/n/v1/apiclient/%ff", "/n/v1/permissionrole/%ff%fe"] {
        let a = srv.get(path);
        assert_status(&a, 400, "BAD_REQUEST");
        assert!(a.2["detail"].as_str().unwrap().contains("UTF-8"), "{}", a.2);
    }
    for path in ["/v3/oauth-clients/%ff", "/beta/oauth-clients/%c3%28"] {
        let a = srv.get(path);
        assert_sailpoint(&a, 400, "400.1 Bad Request Content", "UTF-8");
    }
    // Query strings with bytes that are not UTF-8 are the API's 400s as well, or decoded.
    let a = srv.get("/n/v1/apiclient/?limit=%ff");
    assert_status(&a, 400, "BAD_REQUEST");
    let a = srv.call(
        Method::GET,
        "/v3/oauth-clients?limit=%ff",
        Some(srv.root()),
        None,
    );
    assert_sailpoint(&a, 400, "400.1 Bad Request Content", "limit");
}
