//! A new secret is delivered or undone: when `token create`, `oauth create` or `init`
//! cannot hand its secret over (a closed pipe, a full disk), what holds
//! the secret is deleted and the command exits 1 saying so; when that delete fails too,
//! the message names the object and the command that deletes it.

use std::io::{PipeReader, PipeWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Server, baack, oauth_create};

/// Where commands go: an embedded store, or a real `baack serve` over HTTP.
enum Target {
    Embedded(PathBuf),
    Remote(Server),
}

struct Env {
    target: Target,
    _dir: tempfile::TempDir,
}

impl Env {
    fn embedded() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let out = baack()
            .args(["init", "-q", "--store"])
            .arg(&store)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        Env {
            target: Target::Embedded(store),
            _dir: dir,
        }
    }

    fn remote() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let srv = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
        Env {
            target: Target::Remote(srv),
            _dir: dir,
        }
    }

    fn name(&self) -> &'static str {
        match self.target {
            Target::Embedded(_) => "embedded",
            Target::Remote(_) => "remote",
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = baack();
        match &self.target {
            Target::Embedded(store) => {
                c.env("BAACK_STORE", store);
            }
            Target::Remote(srv) => {
                c.env("BAACK_API_URL", &srv.base)
                    .env("BAACK_TOKEN", srv.root());
            }
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    /// The JSON listing of `args` (a list command).
    fn list(&self, args: &[&str]) -> Vec<Value> {
        let out = self.cmd(args).args(["-o", "json"]).output().unwrap();
        assert!(out.status.success(), "[{}] {args:?}: {out:?}", self.name());
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn tokens(&self) -> Vec<Value> {
        self.list(&["token", "list"])
    }

    fn oauth_clients(&self) -> Vec<Value> {
        self.list(&["oauth", "list"])
    }
}

/// A pipe whose reader is already closed: any write to it fails with EPIPE.
fn closed_pipe() -> PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd` with stdout into a pipe nobody reads any more.
fn into_closed_pipe(mut cmd: Command) -> Output {
    cmd.stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn oauth_args(extra: &[&str]) -> Vec<String> {
    oauth_create(extra)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[track_caller]
fn assert_undone(out: &Output, what: &str, why: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!("could not deliver the new {what}'s secret ({why}"))
            && err.contains(&format!("the {what} was deleted, nothing was created")),
        "{err}"
    );
}

#[test]
fn a_secret_printed_into_a_closed_pipe_is_deleted_in_both_modes() {
    for env in [Env::embedded(), Env::remote()] {
        let tokens = env.tokens().len();
        let oauth = env.oauth_clients().len();
        // -q prints the bare secret; the table and JSON print it in the object.
        for fmt in [&["-q"][..], &["-o", "json"], &[]] {
            let out = into_closed_pipe(
                env.cmd(&[&["token", "create", "--client", "root"][..], fmt].concat()),
            );
            assert_undone(&out, "token", "broken pipe");
            assert_eq!(env.tokens().len(), tokens, "[{}] {fmt:?}", env.name());

            let args = oauth_args(fmt);
            let out = into_closed_pipe(env.cmd(&strs(&args)));
            assert_undone(&out, "OAuth client", "broken pipe");
            assert_eq!(env.oauth_clients().len(), oauth, "[{}] {fmt:?}", env.name());
        }
        // A closed pipe elsewhere still exits quietly: nothing secret was lost.
        let out = into_closed_pipe(env.cmd(&["token", "list"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(out.stderr.is_empty(), "{}", stderr(&out));
    }
}

#[test]
fn a_secret_printed_onto_a_full_disk_is_deleted() {
    // /dev/full fails every write with ENOSPC, as a file on a full disk does.
    for env in [Env::embedded(), Env::remote()] {
        let tokens = env.tokens().len();
        let full = || {
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap()
        };
        let out = env
            .cmd(&["token", "create", "--client", "root", "-q"])
            .stdout(full())
            .output()
            .unwrap();
        assert_undone(
            &out,
            "token",
            "cannot write output: No space left on device",
        );
        assert_eq!(env.tokens().len(), tokens, "[{}]", env.name());

        let oauth = env.oauth_clients().len();
        let args = oauth_args(&["-q"]);
        let out = env.cmd(&strs(&args)).stdout(full()).output().unwrap();
        assert_undone(&out, "OAuth client", "cannot write output");
        assert_eq!(env.oauth_clients().len(), oauth, "[{}]", env.name());
    }
}

/// `cmd` run by `sh` with a file size limit of 0 and SIGXFSZ ignored, so that writing any
/// byte to a regular file fails with EFBIG, exactly as on a full disk. Deterministic,
/// unlike a directory removed between the check and the write (which would not fail
/// anyway: the file is open by then). Only the CLI gets the limit: the server that holds
/// the store is another process, which is why this runs over `baack serve`.
fn with_no_file_space(cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.stdin(Stdio::null());
    sh
}

#[test]
fn a_secret_file_that_cannot_be_written_is_removed_and_its_secret_deleted() {
    let env = Env::remote();
    let dir = tempfile::tempdir().unwrap();
    let tokens = env.tokens().len();
    let path = dir.path().join("token");
    let p = path.to_str().unwrap();
    let out =
        with_no_file_space(&env.cmd(&["token", "create", "--client", "root", "--secret-file", p]))
            .output()
            .unwrap();
    assert_undone(
        &out,
        "token",
        &format!("cannot write secret file {p}: File too large"),
    );
    assert!(!path.exists(), "no partial secret file is left");
    assert_eq!(env.tokens().len(), tokens);

    let oauth = env.oauth_clients().len();
    let opath = dir.path().join("oauth");
    let args = oauth_args(&["--secret-file", opath.to_str().unwrap()]);
    let out = with_no_file_space(&env.cmd(&strs(&args))).output().unwrap();
    assert_undone(&out, "OAuth client", "cannot write secret file");
    assert!(!opath.exists());
    assert_eq!(env.oauth_clients().len(), oauth);

    // The same commands without the limit deliver (the limit is what failed).
    let out = env
        .cmd(&["token", "create", "--client", "root", "--secret-file", p])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.tokens().len(), tokens + 1);
}

#[test]
fn init_and_first_use_delete_the_root_token_they_cannot_show() {
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in [&["init", "-q"][..], &["init"], &["init", "-o", "json"]]
        .iter()
        .enumerate()
    {
        let store = dir.path().join(format!("init{i}"));
        let s = store.to_str().unwrap();
        let out = into_closed_pipe({
            let mut c = baack();
            c.args(*args).args(["--store", s]).stdin(Stdio::null());
            c
        });
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("could not deliver the new root token's secret (broken pipe)")
                && err.contains(&format!(
                    "the root token was deleted; the store at {s} was created"
                ))
                && err.contains(&format!("`baack token create --client root --store {s}`")),
            "{err}"
        );
        // The store works, as its root client, and holds no token.
        let list = baack()
            .args(["token", "list", "-o", "json", "--store", s])
            .output()
            .unwrap();
        assert!(list.status.success(), "{}", stderr(&list));
        assert_eq!(
            serde_json::from_slice::<Value>(&list.stdout).unwrap(),
            Value::Array(vec![])
        );
    }

    // The first use of the default store makes no root token at all, so a closed stderr
    // loses nothing: the command works and the store holds no token.
    let data = dir.path().join("data");
    let first_use = |args: &[&str]| {
        baack()
            .env("XDG_DATA_HOME", &data)
            .args(args)
            .stdin(Stdio::null())
            .stderr(closed_pipe())
            .output()
            .unwrap()
    };
    let out = first_use(&["client", "list", "-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(data.join("baack/store/meta.json").exists());
    let list = first_use(&["token", "list", "-q"]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(
        list.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
}

/// A pipe that is already full, so the child's first write blocks until the reader is
/// closed (EPIPE) or reads. Filled without blocking, then made blocking again: the flag
/// belongs to the open pipe, which the child shares.
fn full_pipe() -> (PipeReader, PipeWriter) {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let (reader, mut writer) = std::io::pipe().unwrap();
    let flags = fcntl_getfl(&writer).unwrap();
    fcntl_setfl(&writer, flags | OFlags::NONBLOCK).unwrap();
    // Pipe writes of up to a page are all-or-nothing: fill by pages, then by bytes.
    for chunk in [4096, 1] {
        let buf = vec![b'x'; chunk];
        loop {
            match writer.write(&buf) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling the pipe: {e}"),
            }
        }
    }
    fcntl_setfl(&writer, flags).unwrap();
    (reader, writer)
}

/// Waits (generously) until `pred` holds.
fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a create command over `baack serve` whose output blocks on a full pipe; once the
/// object exists, stops the server and closes the pipe: the write fails, and so does the
/// delete. Returns the command's output, the root token and the store's temp dir.
fn undo_fails(
    args: &[String],
    count: impl Fn(&Server) -> usize,
) -> (Output, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut srv = Server::start_on(&store, &["--rate-limit", "off"]);
    let root = srv.root().to_string();
    let before = count(&srv);
    let (reader, writer) = full_pipe();
    let child = baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", &root)
        .args(args)
        .args(["--retries", "0"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the object to be created", || count(&srv) > before);
    srv.stop();
    drop(reader);
    (child.wait_with_output().unwrap(), root, dir)
}

fn listed(srv: &Server, path: &str, key: Option<&str>) -> Vec<Value> {
    let (s, _, b) = srv.get(path);
    assert!(s.is_success(), "{b}");
    match key {
        Some(k) => b[k].as_array().cloned().unwrap_or_default(),
        None => b.as_array().cloned().unwrap_or_default(),
    }
}

#[test]
fn when_the_delete_fails_too_the_message_names_what_is_left_and_the_command() {
    // A token.
    let args: Vec<String> = ["token", "create", "--client", "root", "-q"]
        .map(String::from)
        .to_vec();
    let (out, root, dir) = undo_fails(&args, |s| {
        listed(s, "/n/v1/apiclientbearertoken/", Some("bearerTokens")).len()
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let srv = restart(&dir.path().join("store"), &root);
    let tokens = listed(&srv, "/n/v1/apiclientbearertoken/", Some("bearerTokens"));
    let left: Vec<&str> = tokens
        .iter()
        .filter_map(|t| t["urn"].as_str())
        .filter(|u| err.contains(u))
        .collect();
    let [urn] = left[..] else {
        panic!("the message names the token left behind: {err}")
    };
    assert!(
        err.contains(
            "could not deliver the new token's secret (broken pipe); deleting it also failed"
        ) && err.contains(&format!(
            "token {urn} still exists, delete it with `baack token delete {urn} --yes`"
        )),
        "{err}"
    );
    // And that command does delete it.
    let del = remote(&srv, &root, &["token", "delete", urn, "--yes"]);
    assert!(del.status.success(), "{}", stderr(&del));
    assert_eq!(
        listed(&srv, "/n/v1/apiclientbearertoken/", Some("bearerTokens")).len(),
        tokens.len() - 1
    );

    // An OAuth client.
    let (out, root, dir) = undo_fails(&oauth_args(&["-q"]), |s| {
        listed(s, "/v3/oauth-clients", None).len()
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let srv = restart(&dir.path().join("store"), &root);
    let clients = listed(&srv, "/v3/oauth-clients", None);
    let [c] = &clients[..] else {
        panic!("one OAuth client is left: {clients:?}")
    };
    let id = c["id"].as_str().unwrap();
    assert!(
        err.contains(
            "could not deliver the new OAuth client's secret (broken pipe); deleting it also failed"
        ) && err.contains(&format!(
            "OAuth client {id} still exists, delete it with `baack oauth delete {id} --yes`"
        )),
        "{err}"
    );
    let del = remote(&srv, &root, &["oauth", "delete", id, "--yes"]);
    assert!(del.status.success(), "{}", stderr(&del));
    assert!(listed(&srv, "/v3/oauth-clients", None).is_empty());
}

fn restart(store: &Path, root: &str) -> Server {
    let mut srv = Server::start_on(store, &["--rate-limit", "off"]);
    srv.root = Some(root.to_string());
    srv
}

fn remote(srv: &Server, token: &str, args: &[&str]) -> Output {
    baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", token)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn serve_profile_login_makes_no_token_it_cannot_keep() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let out = baack().args(["init", "-q", "--store", s]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let tokens = || {
        let out = baack()
            .args(["token", "list", "-q", "--store", s])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().lines().count()
    };
    assert_eq!(tokens(), 1);

    // The credentials file cannot be written (a directory stands in its place): the new
    // root-client token meant for the profile is deleted.
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("credentials.toml")).unwrap();
    for d in [&config, &config.join("credentials.toml")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let out = baack()
        .env("BAACK_CONFIG_DIR", &config)
        .env("BAACK_CREDENTIAL_STORE", "file")
        .args([
            "serve",
            "--profile",
            "p",
            "--listen",
            "127.0.0.1:0",
            "--store",
            s,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("could not deliver the new token's secret (cannot use store")
            && err.contains("the token was deleted, nothing was created"),
        "{err}"
    );
    assert_eq!(tokens(), 1);

    // An address that is taken fails before any token is made.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = baack()
        .env("BAACK_CONFIG_DIR", dir.path().join("config2"))
        .args(["serve", "--profile", "p", "--listen", &addr, "--store", s])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(tokens(), 1);
}

#[test]
fn when_the_embedded_delete_fails_too_the_message_names_the_token_and_the_command() {
    let env = Env::embedded();
    let Target::Embedded(store) = &env.target else {
        unreachable!()
    };
    let dir = store.join("tokens");
    let files = || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    let before = files();
    let (reader, writer) = full_pipe();
    let child = env
        .cmd(&["token", "create", "--client", "root", "-q"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the token exists (its write blocked on the full pipe), put a plain file where
    // the token directory was: the delete cannot reach the token, deterministically.
    wait_until("the token to be created", || files() > before);
    let away = store.join("tokens.away");
    std::fs::rename(&dir, &away).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    drop(reader);
    let out = child.wait_with_output().unwrap();
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&away, &dir).unwrap();

    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let left: Vec<String> = env
        .tokens()
        .iter()
        .filter_map(|t| t["urn"].as_str())
        .filter(|u| err.contains(u))
        .map(String::from)
        .collect();
    let [urn] = &left[..] else {
        panic!("the message names the token left behind: {err}")
    };
    assert!(
        err.contains(
            "could not deliver the new token's secret (broken pipe); deleting it also failed"
        ) && err.contains(&format!(
            "token {urn} still exists, delete it with `baack token delete {urn} --yes`"
        )),
        "{err}"
    );
    let del = env
        .cmd(&["token", "delete", urn, "--yes"])
        .output()
        .unwrap();
    assert!(del.status.success(), "{}", stderr(&del));
    assert_eq!(files(), before);
}
