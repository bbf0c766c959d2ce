//! Where commands go, and what creates a store: the default profile changes only by
//! `auth switch` (never by `auth login` in a script or by `serve --profile`), `--store`
//! and `--api-url` win over a profile, auth and reachability errors name the profile and
//! the way out, only `init`, `serve` and the default path's first use create a store (the
//! last with no secret), `serve` listens before it creates anything, and `auth status`
//! answers scripts by its exit status.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Server, baack, bin, run_with_stdin};

/// A `baack` with its own config directory and no stdin.
fn with_config(cfg: &Path) -> Command {
    let mut c = baack();
    c.env("BAACK_CONFIG_DIR", cfg).stdin(Stdio::null());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

/// `baack serve --profile NAME` on `store`, with `cfg` as its config directory.
fn serve_profile(cfg: &Path, name: &str, store: &Path) -> Server {
    let mut cmd = with_config(cfg);
    cmd.args(["serve", "--profile", name, "--listen", "127.0.0.1:0"])
        .args(["--rate-limit", "off", "--store"])
        .arg(store);
    let mut s = Server::spawn(cmd);
    s.store = store.to_path_buf();
    s
}

/// `baack init --store PATH -q`: the root token.
fn init(store: &Path) -> String {
    let out = run(baack().args(["init", "-q", "--store"]).arg(store));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// The URN of the root client of the store `srv` serves.
fn root_client(srv: &Server) -> String {
    let (_, _, ctx) = srv.get("/n/v1/clientcontext");
    ctx["client"]["urn"].as_str().unwrap().to_string()
}

fn auth_list(cfg: &Path) -> Value {
    let out = run(with_config(cfg).args(["auth", "list", "-o", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_chosen_store_that_does_not_exist_is_exit_7_naming_init_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo").join("path");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (how, path) in [("flag", &typo), ("env", &typo), ("flag", &empty)] {
        let mut c = baack();
        c.stdin(Stdio::null());
        match how {
            "flag" => c.arg("--store").arg(path),
            _ => c.env("BAACK_STORE", path),
        };
        let out = run(c.args(["client", "list"]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{how}: {err}");
        assert!(
            err.contains(&format!("baack init --store {}", path.display())),
            "{how}: {err}"
        );
        assert!(out.stdout.is_empty());
        assert!(!err.contains("bk_"), "no token is printed: {err}");
        assert!(
            !path.join("meta.json").exists(),
            "{how}: nothing was created"
        );
    }
    assert!(!typo.exists());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // A path a shell would split is quoted in the fix, so that it can be pasted.
    let spaced = dir.path().join("my store");
    let out = run(baack().arg("--store").arg(&spaced).args(["client", "list"]));
    assert_eq!(out.status.code(), Some(7));
    assert!(
        text(&out.stderr).contains(&format!("baack init --store '{}'", spaced.display())),
        "{out:?}"
    );
    // So is a profile's store that is gone; the error names the profile.
    let cfg = dir.path().join("cfg");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&cfg)
        .unwrap();
    let gone = dir.path().join("gone");
    std::fs::write(
        cfg.join("config.toml"),
        format!("[profiles.mine]\nstore = \"{}\"\n", gone.display()),
    )
    .unwrap();
    let out = run(with_config(&cfg).args(["--profile", "mine", "client", "list"]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains(&format!("baack init --store {}", gone.display()))
            && err.contains("profile `mine` (from --profile)"),
        "{err}"
    );
    assert!(!gone.exists());

    // `init --store` is the way: it prints the root token once, saying what it is for.
    let out = run(baack().arg("init").arg("--store").arg(&typo));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(all.matches("bk_").count(), 1, "{all}");
    assert!(
        all.contains("shown once") && all.contains("password manager"),
        "{all}"
    );
    let out = run(baack()
        .arg("--store")
        .arg(&typo)
        .args(["client", "list", "-q"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A second init changes nothing.
    let out = run(baack().arg("init").arg("--store").arg(&typo));
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("already exists"));
}

#[test]
fn the_default_store_is_created_on_first_use_with_no_secret_and_a_root_token_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let local = |args: &[&str]| run(baack().env("XDG_DATA_HOME", &data).args(args));
    let out = local(&["client", "list"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let store = data.join("baack").join("store");
    assert!(store.join("meta.json").exists());
    for shown in [text(&out.stdout), err.clone()] {
        assert!(!shown.contains("bk_"), "no secret on first use: {shown}");
    }
    assert!(
        err.contains(&format!("created a new store at {}", store.display()))
            && err.contains("baack token create --client root"),
        "{err}"
    );
    // It holds no token; the way it names makes one, and that token works over HTTP.
    let out = local(&["token", "list", "-q"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let out = local(&["token", "create", "--client", "root", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root = text(&out.stdout).trim().to_string();
    assert!(root.starts_with("bk_"), "{root}");
    // The second use says nothing about creating.
    let out = local(&["client", "list", "-q"]);
    assert!(!text(&out.stderr).contains("created"), "{out:?}");

    let srv = Server::start_on(&store, &["--rate-limit", "off"]);
    assert!(
        srv.root.is_none(),
        "serving an existing store shows no token"
    );
    let out = run(baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", &root)
        .args(["whoami", "-o", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ctx: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ctx["client"]["clientID"], "root");
}

#[test]
fn serve_on_a_taken_port_creates_nothing_and_prints_no_token() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cfg = dir.path().join("cfg");
    let out = run(with_config(&cfg)
        .args(["serve", "--profile", "p", "--listen", &addr, "--store"])
        .arg(&store));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}: ")), "{err}");
    assert!(!err.contains("bk_") && out.stdout.is_empty(), "{err}");
    assert!(!store.exists(), "no store was created");
    assert!(!cfg.join("config.toml").exists(), "no profile was written");
}

#[test]
fn only_auth_switch_changes_the_default_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let out = run(with_config(&cfg).args(["auth", "list"]));
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("no profiles yet"), "{out:?}");
    assert_eq!(auth_list(&cfg)["profiles"], serde_json::json!([]));
    let srv = serve_profile(&cfg, "local", &dir.path().join("served"));
    // serve --profile wrote the profile and left the default alone.
    let list = auth_list(&cfg);
    assert_eq!(list["current"], Value::Null, "{list}");
    assert_eq!(list["profiles"][0]["name"], "local");
    assert_eq!(list["profiles"][0]["apiUrl"], srv.base.as_str());
    assert_eq!(list["profiles"][0]["current"], false);
    let log = srv.log().join("\n");
    assert!(log.contains("baack auth switch local"), "{log}");

    // auth login in a script (stdin is a pipe) never switches either.
    let token = srv.create_token(&root_client(&srv)).1;
    let out = run_with_stdin(
        with_config(&cfg).args(["auth", "login", "--profile", "ci", "--api-url", &srv.base]),
        &format!("{token}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("baack auth switch ci"));
    assert_eq!(auth_list(&cfg)["current"], Value::Null);

    // auth switch does, and auth list shows it in both formats.
    let out = run(with_config(&cfg).args(["auth", "switch", "ci"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = auth_list(&cfg);
    assert_eq!(list["current"], "ci");
    assert_eq!(list["currentFrom"], "default_profile in config.toml");
    assert_eq!(list["profiles"][0]["name"], "ci");
    assert_eq!(list["profiles"][0]["current"], true);
    let out = run(with_config(&cfg).args(["auth", "list"]));
    let table = text(&out.stdout);
    let ci_row = table.lines().find(|l| l.contains(" ci ")).unwrap();
    assert!(
        ci_row.contains('*') && ci_row.contains(&srv.base),
        "{table}"
    );
    let local_row = table.lines().find(|l| l.contains(" local ")).unwrap();
    assert!(!local_row.contains('*'), "{table}");
    // --profile and BAACK_PROFILE choose for one command, and say so.
    let out = run(with_config(&cfg).args(["--profile", "local", "auth", "list", "-o", "json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["current"].as_str(), v["currentFrom"].as_str()),
        (Some("local"), Some("--profile"))
    );
    let out = run(with_config(&cfg)
        .env("BAACK_PROFILE", "local")
        .args(["auth", "list", "-o", "json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["currentFrom"], "BAACK_PROFILE");
    let out = run(with_config(&cfg).args(["client", "list", "-q"]));
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A profile that does not exist is refused, listing those that do.
    let out = run(with_config(&cfg).args(["auth", "switch", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("ci, local") && err.contains("baack auth login --profile nope"),
        "{err}"
    );
    assert_eq!(auth_list(&cfg)["current"], "ci");
    // Neither a name nor --local: a usage error.
    let out = run(with_config(&cfg).args(["auth", "switch"]));
    assert_eq!(out.status.code(), Some(2));

    // --local goes back to the embedded store.
    let out = run(with_config(&cfg).args(["auth", "switch", "--local"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("embedded store"), "{out:?}");
    assert_eq!(auth_list(&cfg)["current"], Value::Null);
}

#[test]
fn explicit_store_and_api_url_win_over_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let srv = serve_profile(&cfg, "remote", &dir.path().join("served"));
    assert!(
        run(with_config(&cfg).args(["auth", "switch", "remote"]))
            .status
            .success()
    );
    srv.create_client("only-on-the-server");
    let other = dir.path().join("other");
    init(&other);
    let ids = |out: Output| -> Vec<String> {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["clientID"].as_str().unwrap().to_string())
            .collect()
    };
    let on_server = ids(run(with_config(&cfg).args(["client", "list", "-o", "json"])));
    assert!(on_server.contains(&"only-on-the-server".to_string()));
    // --store and BAACK_STORE beat the profile's URL.
    let flag = ids(run(with_config(&cfg)
        .arg("--store")
        .arg(&other)
        .args(["client", "list", "-o", "json"])));
    assert_eq!(flag, ["root"]);
    let env = ids(run(with_config(&cfg)
        .env("BAACK_STORE", &other)
        .args(["client", "list", "-o", "json"])));
    assert_eq!(env, ["root"]);
    // A flag beats the other's variable; two flags are a usage error.
    let flag_over_env = ids(run(with_config(&cfg)
        .env("BAACK_API_URL", &srv.base)
        .arg("--store")
        .arg(&other)
        .args(["client", "list", "-o", "json"])));
    assert_eq!(flag_over_env, ["root"]);
    let out = run(with_config(&cfg)
        .args(["--api-url", &srv.base, "--store"])
        .arg(&other)
        .args(["client", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--api-url and --store"),
        "{out:?}"
    );

    // --api-url beats a profile that points at a store.
    let local_cfg = dir.path().join("cfg-local");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&local_cfg)
        .unwrap();
    std::fs::write(
        local_cfg.join("config.toml"),
        format!(
            "default_profile = \"mine\"\n[profiles.mine]\nstore = \"{}\"\n",
            other.display()
        ),
    )
    .unwrap();
    let mine = ids(run(
        with_config(&local_cfg).args(["client", "list", "-o", "json"])
    ));
    assert_eq!(mine, ["root"]);
    let remote = ids(run(with_config(&local_cfg)
        .env("BAACK_TOKEN", srv.root.as_deref().unwrap_or_default())
        .args(["--api-url", &srv.base, "client", "list", "-o", "json"])));
    assert!(
        remote.contains(&"only-on-the-server".to_string()),
        "{remote:?}"
    );
}

#[test]
fn auth_and_reachability_errors_name_the_profile_its_origin_and_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let mut srv = serve_profile(&cfg, "p", &dir.path().join("served"));
    assert!(
        run(with_config(&cfg).args(["auth", "switch", "p"]))
            .status
            .success()
    );

    // Rejected: a token that names nothing, from BAACK_TOKEN.
    let out = run(with_config(&cfg)
        .env("BAACK_TOKEN", "bk_nothing")
        .args(["client", "list"]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    for want in [
        "profile `p` (from default_profile in config.toml)",
        &srv.base,
        "token from environment (BAACK_TOKEN)",
        "baack auth login --profile p",
        "baack auth switch NAME",
        "--profile NAME",
        "baack auth switch --local",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }

    srv.stop();
    let unreachable = |c: &mut Command| {
        let out = run(c.args(["--retries", "0", "client", "list"]));
        assert_eq!(out.status.code(), Some(7), "{out:?}");
        text(&out.stderr)
    };
    let err = unreachable(&mut with_config(&cfg));
    assert!(
        err.contains("cannot reach")
            && err.contains("profile `p` (from default_profile in config.toml)")
            && err.contains(&format!("check that a server answers at {}", srv.base))
            && err.contains("baack auth switch --local"),
        "{err}"
    );
    let err = unreachable(with_config(&cfg).args(["--profile", "p"]));
    assert!(err.contains("profile `p` (from --profile)"), "{err}");
    let err = unreachable(with_config(&cfg).env("BAACK_PROFILE", "p"));
    assert!(
        err.contains("profile `p` (from BAACK_PROFILE)") && err.contains("unset BAACK_PROFILE"),
        "{err}"
    );
    let err = unreachable(with_config(&cfg).env("BAACK_API_URL", &srv.base));
    assert!(
        err.contains("(from BAACK_API_URL, which wins over the profile)")
            && err.contains("drop BAACK_API_URL"),
        "{err}"
    );
}

#[test]
fn auth_status_answers_by_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let mut srv = serve_profile(&cfg, "p", &dir.path().join("served"));
    let status = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = with_config(&cfg);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        run(c
            .args(["--profile", "p", "--retries", "0", "auth", "status"])
            .args(args))
    };

    // Logged in: 0, and -q prints nothing.
    let out = status(&[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok"));
    let out = status(&["-q"], None);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");

    // Rejected: 4, and still says where the token came from.
    let out = status(&[], Some(("BAACK_TOKEN", "bk_nothing")));
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let table = text(&out.stdout);
    assert!(
        table.contains("environment (BAACK_TOKEN)") && table.contains("rejected"),
        "{table}"
    );
    let out = status(&["-o", "json"], Some(("BAACK_TOKEN", "bk_nothing")));
    assert_eq!(out.status.code(), Some(4));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tokenSource"], "environment (BAACK_TOKEN)");
    assert_eq!(v["status"], "rejected");
    assert_eq!(v["profile"], "p");
    assert_eq!(v["profileFrom"], "--profile");

    // Not logged in: 1, in every format.
    assert!(
        run(with_config(&cfg).args(["--profile", "p", "auth", "logout"]))
            .status
            .success()
    );
    let out = status(&[], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stdout).contains("not logged in"));
    assert!(text(&out.stderr).contains("baack auth login --profile p"));
    let out = status(&["-q"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = status(&["-o", "json"], None);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "not logged in");
    assert_eq!(v["tokenSource"], Value::Null);

    // Unreachable: 7.
    srv.stop();
    let out = status(&[], Some(("BAACK_TOKEN", "bk_nothing")));
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(text(&out.stdout).contains("unreachable"));
}

/// `auth login` on a terminal: the token at the hidden prompt, then `answer` to the
/// question whether to switch. Returns everything the terminal showed (the input is
/// typed ahead, so the terminal may echo it before the prompt hides it).
fn login_on_a_terminal(cfg: &Path, url: &str, token: &str, answer: &str) -> String {
    let line = format!(
        "{} auth login --profile tty --api-url {url}",
        bin().display()
    );
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (k, v) in with_config(cfg).get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = run_with_stdin(&mut script, &format!("{token}\n{answer}\n"));
    assert!(out.status.success(), "{}", text(&out.stdout));
    text(&out.stdout)
}

#[test]
fn login_on_a_terminal_offers_to_switch_and_switches_only_on_yes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let srv = serve_profile(&cfg, "p", &dir.path().join("served"));
    let token = srv.create_token(&root_client(&srv)).1;

    let shown = login_on_a_terminal(&cfg, &srv.base, &token, "");
    assert!(shown.contains("make `tty` the default profile"), "{shown}");
    assert!(shown.contains("[y/N]"), "{shown}");
    assert_eq!(auth_list(&cfg)["current"], Value::Null, "{shown}");

    let shown = login_on_a_terminal(&cfg, &srv.base, &token, "y");
    assert!(
        shown.contains("the default profile is now `tty`"),
        "{shown}"
    );
    assert_eq!(auth_list(&cfg)["current"], "tty");
    // Already the default: nothing to ask.
    let shown = login_on_a_terminal(&cfg, &srv.base, &token, "");
    assert!(!shown.contains("[y/N]"), "{shown}");
}
