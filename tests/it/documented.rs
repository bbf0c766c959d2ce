//! The CLI against a server that offers only what Baack's own documentation has
//! (`baack serve --documented-only`): first that server itself, then each command that
//! used to rely on API.md's additions.

use std::process::{Output, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn the_documented_server_lacks_every_addition_and_keeps_the_rest() {
    let srv = Server::start_documented();
    // The list endpoints and the client context answer as routes that do not exist.
    for path in [
        "/n/v1/apiclient/",
        "/n/v1/apiclient/?clientID=x",
        "/n/v1/apiclientbearertoken/",
        "/n/v1/permissionrole/",
        "/n/v1/role",
        "/n/v1/clientcontext",
    ] {
        let (s, _, b) = srv.get(path);
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {b}");
    }
    // Single objects work, each spelling its own URN `Urn`.
    let client = srv.create_client("ci");
    let (s, _, b) = srv.get(&format!("/n/v1/apiclient/{client}"));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["Urn"], json!(client), "{b}");
    assert!(b.get("urn").is_none(), "{b}");
    // A role stores no permissions and shows none; it has no ETag, and If-Match is
    // ignored.
    let role = srv.create_role("readers", &["READ"], &[]);
    let path = format!("/n/v1/permissionrole/{role}");
    let (s, h, b) = srv.get(&path);
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.get("permissions").is_none(), "{b}");
    assert!(h.get("etag").is_none(), "{h:?}");
    let mut body = b.clone();
    body["clients"] = json!([{ "urn": client }]);
    let (s, h, b) = srv.call_with(
        Method::PUT,
        &path,
        Some(srv.root()),
        &[("If-Match", "\"not-the-version\"")],
        Some(body),
    );
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(h.get("etag").is_none(), "{h:?}");
    assert_eq!(b["clients"][0]["urn"], json!(client), "{b}");
    // The permissions of a PUT are dropped too: the server that the normal routes serve
    // would store them.
    let mut body = b.clone();
    body["permissions"] = json!(["ADMINISTER"]);
    let (s, _, b) = srv.put(&path, body);
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(b.get("permissions").is_none(), "{b}");
    // A token's expiry is set as given, later or not.
    let (token, _) = srv.create_token(&client);
    let path = format!("/n/v1/apiclientbearertoken/{token}");
    let soon = baack_time(300_000);
    let later = baack_time(3_600_000);
    for at in [&soon, &later] {
        let (s, _, b) = srv.put(&path, json!({ "expirationTimestamp": at }));
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        assert_eq!(b["expirationTimestamp"], json!(at), "{b}");
    }
}

#[test]
fn the_normal_server_keeps_its_additions() {
    let srv = Server::start();
    let (s, _, b) = srv.get("/n/v1/apiclient/");
    assert_eq!(s, StatusCode::OK, "{b}");
    let role = srv.create_role("readers", &["READ"], &[]);
    let (_, h, b) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    assert_eq!(b["permissions"], json!(["READ"]), "{b}");
    assert_eq!(b["urn"], json!(role), "{b}");
    assert!(h.get("etag").is_some(), "{h:?}");
}

/// The CLI pointed at a server through a profile of its own config dir, logged in with
/// the root token (in BAACK_TOKEN), and with the profile's owner company when given.
struct Cli<'a> {
    srv: &'a Server,
    config: tempfile::TempDir,
}

impl<'a> Cli<'a> {
    fn new(srv: &'a Server, owner: Option<&str>) -> Cli<'a> {
        let config = tempfile::tempdir().unwrap();
        let mut toml = format!(
            "default_profile = \"real\"\n[profiles.real]\napi_url = \"{}\"\n",
            srv.base
        );
        if let Some(o) = owner {
            toml.push_str(&format!("default_owner = \"{o}\"\n"));
        }
        std::fs::write(config.path().join("config.toml"), toml).unwrap();
        Cli { srv, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        baack()
            .env("BAACK_CONFIG_DIR", self.config.path())
            .env("BAACK_TOKEN", self.srv.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The methods and paths of the request events the server logged.
fn requests(srv: &Server) -> Vec<(String, String)> {
    srv.log()
        .iter()
        .filter_map(|l| request_event(l))
        .map(|e| (e.method, e.path))
        .collect()
}

/// [`requests`], once at least `n` have been logged (a line may follow its answer).
fn settled(srv: &Server, n: usize) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while requests(srv).len() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = requests(srv);
    assert!(r.len() >= n, "only {} requests logged: {r:?}", r.len());
    r
}

/// The last `n` of `r`, in order.
fn last(r: &[(String, String)], n: usize) -> Vec<(String, String)> {
    r[r.len().saturating_sub(n)..].to_vec()
}

#[test]
fn revoke_with_notice_never_lengthens_a_token_where_the_server_would() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, None);
    let client = srv.create_client("kiosk");
    let soon = baack_time(300_000);
    let (s, _, b) = srv.post(
        "/n/v1/apiclientbearertoken/",
        json!({ "apiClient": { "urn": client }, "expirationTimestamp": soon }),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let token = urn_field(&b).unwrap().to_string();
    let path = format!("/n/v1/apiclientbearertoken/{token}");

    // An hour's notice on a token due in 5 minutes: nothing is sent, the expiry stands.
    // (So far: the company and the client's POST, the token's POST.)
    // (Machine output, which looks up no names for a table.)
    let o = cli.run(&["-o", "json", "token", "revoke", &token, "--notice", "1h"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(err(&o).contains("the earlier expiry stands"), "{}", err(&o));
    let get = ("GET".to_string(), path.clone());
    let put = ("PUT".to_string(), path.clone());
    let r = settled(&srv, 4);
    assert_eq!(r.len(), 4, "only a read: {r:?}");
    assert_eq!(last(&r, 1), vec![get.clone()], "only a read");
    let (_, _, t) = srv.get(&path);
    assert_eq!(t["expirationTimestamp"], json!(soon), "{t}");

    // A minute's notice shortens it, and the answer is the token as read back.
    let o = cli.run(&["-o", "json", "token", "revoke", &token, "--notice", "1m"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let r = settled(&srv, 8);
    assert_eq!(r.len(), 8, "{r:?}");
    assert_eq!(
        last(&r, 3),
        vec![get.clone(), put, get],
        "read, change, read back"
    );
    let shown: Value = serde_json::from_str(&out(&o)).unwrap();
    let (_, _, t) = srv.get(&path);
    assert_eq!(shown["expirationTimestamp"], t["expirationTimestamp"]);
    assert_ne!(t["expirationTimestamp"], json!(soon), "{t}");
    assert!(
        t["expirationTimestamp"].as_str().unwrap() < soon.as_str(),
        "{t}"
    );
    assert_eq!(shown["apiClient"]["urn"], json!(client), "{shown}");
}

#[test]
fn a_field_the_server_does_not_keep_is_a_warning_or_with_strict_an_error() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, Some(&srv.company()));
    let o = cli.run(&[
        "role",
        "create",
        "--name",
        "readers",
        "--permission",
        "READ",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("warning: the server did not keep `permissions` (sent READ, answered nothing)"),
        "{e}"
    );
    assert!(e.contains("--strict"), "{e}");
    // Without a permission nothing was lost: no warning.
    let o = cli.run(&["role", "create", "--name", "plain"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!err(&o).contains("warning"), "{}", err(&o));
    let o = cli.run(&[
        "--strict",
        "role",
        "create",
        "--name",
        "strict",
        "--permission",
        "READ",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("permission role `strict` ("), "{e}");
    assert!(
        e.contains("was created, but the server did not keep `permissions`"),
        "{e}"
    );
    // The normal server keeps them: no warning even with --strict.
    let normal = Server::start();
    let cli = Cli::new(&normal, None);
    let o = cli.run(&[
        "--strict",
        "role",
        "create",
        "--name",
        "r",
        "--permission",
        "READ",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!err(&o).contains("warning"), "{}", err(&o));
}

#[test]
fn a_grant_without_etag_skips_a_no_op_reads_back_and_says_it_is_unprotected() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, None);
    let client = srv.create_client("ci");
    let role = srv.create_role("viewers", &[], &[]);
    let o = cli.run(&[
        "-v", "-o", "json", "role", "grant", &role, "--client", &client,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        err(&o).contains("concurrent grants are not protected"),
        "{}",
        err(&o)
    );
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["clients"][0]["urn"], json!(client), "{v}");
    let path = format!("/n/v1/permissionrole/{role}");
    // The helpers' 4 requests, then the grant's: the role and the client resolved, the
    // role read, changed and read back.
    let r = settled(&srv, 9);
    assert_eq!(r.len(), 9, "{r:?}");
    let put = ("PUT".to_string(), path.clone());
    let get = ("GET".to_string(), path.clone());
    assert_eq!(last(&r, 2), vec![put, get], "the PUT is read back");
    // Granting it again changes nothing, and sends nothing.
    let o = cli.run(&["-o", "json", "role", "grant", &role, "--client", &client]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(err(&o).contains("nothing changed"), "{}", err(&o));
    let r = settled(&srv, 12);
    assert_eq!(r.len(), 12, "{r:?}");
    assert!(last(&r, 3).iter().all(|(m, _)| m == "GET"), "{r:?}");
    let o = cli.run(&["role", "revoke", &role, "--client", &client]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let (_, _, b) = srv.get(&path);
    assert_eq!(b["clients"], json!([]), "{b}");
    // With an ETag, -v says nothing of the kind.
    let normal = Server::start();
    let cli = Cli::new(&normal, None);
    let client = normal.create_client("ci");
    let role = normal.create_role("viewers", &[], &[]);
    let o = cli.run(&["-v", "role", "grant", &role, "--client", &client]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!err(&o).contains("not protected"), "{}", err(&o));
}

#[test]
fn a_missing_endpoint_is_exit_9_never_a_missing_object() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, None);
    let client = srv.create_client("ci");
    let cases: [(&[&str], &str); 6] = [
        (
            &["client", "list"],
            "this server has no list endpoint (GET /n/v1/apiclient/ answered 404); refer to the client by URN",
        ),
        (
            &["client", "get", "ci"],
            "this server has no list endpoint (GET /n/v1/apiclient/ answered 404); refer to the client by URN",
        ),
        (&["role", "list"], "refer to the role by URN"),
        (&["token", "list"], "refer to the token by URN"),
        (
            &["whoami"],
            "this server has no client context endpoint (GET /n/v1/clientcontext answered 404)",
        ),
        (
            &["client", "create", "--client-id", "new"],
            "give the owner company's URN with --owner URN (or BAACK_OWNER",
        ),
    ];
    for (args, says) in cases {
        let o = cli.run(args);
        assert_eq!(code(&o), 9, "{args:?}: {}", err(&o));
        assert!(err(&o).contains(says), "{args:?}: {}", err(&o));
    }
    // A URN still works, and a script's `get || create` cannot make a duplicate.
    let o = cli.run(&["client", "get", &client, "-q"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o).trim(), client);
    let o = cli.run(&["client", "get", "no-such-client"]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    // A token that may not read is still told apart from a missing endpoint on a
    // server with the additions: not found, exit 3.
    let normal = Server::start();
    let weak = normal.create_client("weak");
    let (_, token) = normal.create_token(&weak);
    let o = baack()
        .env("BAACK_API_URL", &normal.base)
        .env("BAACK_TOKEN", &token)
        .args(["client", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", err(&o));
    let o = baack()
        .env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", srv.root())
        .args(["role", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 9, "without a profile too: {}", err(&o));
}

#[test]
fn what_a_server_lacks_is_remembered_per_profile_for_a_while() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, None);
    // Only the command's own requests: no hourly read of the token's expiry among them.
    let cfg = cli.config.path().join("config.toml");
    let toml = std::fs::read_to_string(&cfg).unwrap() + "warn_before = \"0s\"\n";
    std::fs::write(&cfg, toml).unwrap();
    let o = cli.run(&["client", "list"]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    // The list, then the probe that tells a missing route from a hidden object.
    let r = settled(&srv, 2);
    assert_eq!(
        r,
        vec![
            ("GET".to_string(), "/n/v1/apiclient/".to_string()),
            ("GET".to_string(), "/n/v1/clientcontext".to_string()),
        ]
    );
    let file = cli.config.path().join("capabilities.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[servers.\"profile real\"]"), "{text}");
    assert!(text.contains("additions = false"), "{text}");
    assert!(!text.contains(srv.root()), "never a secret: {text}");
    // Known now: neither a command nor a completion asks again.
    let o = cli.run(&["role", "list"]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    assert!(
        err(&o).contains("GET /n/v1/apiclient/ answered 404"),
        "{}",
        err(&o)
    );
    let complete = || {
        let o = baack()
            .env("BAACK_CONFIG_DIR", cli.config.path())
            .env("BAACK_TOKEN", srv.root())
            .env("COMPLETE", "fish")
            .args(["--", "baack", "role", "get", ""])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", err(&o));
    };
    complete();
    // Forgotten, the server is asked again (the completion's list, answered 404): so the
    // completion above would have asked, had it not known.
    std::fs::remove_file(&file).unwrap();
    complete();
    let r = settled(&srv, 3);
    assert_eq!(
        r[2..],
        [("GET".to_string(), "/n/v1/permissionrole/".to_string())],
        "{r:?}"
    );
}

#[test]
fn the_readme_ci_recipe_works_against_the_documented_api() {
    let srv = Server::start_documented();
    let company = srv.company();
    // Made once, from a profile that knows the owner company.
    let once = Cli::new(&srv, Some(&company));
    let o = once.run(&["client", "create", "--client-id", "ci-deploy", "-q"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let ci_client = out(&o).trim().to_string();
    assert!(is_urn(&ci_client), "{ci_client}");
    // The recipe itself: environment only, everything by URN.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let env = |args: &[&str]| {
        baack()
            .env("BAACK_API_URL", &srv.base)
            .env("BAACK_TOKEN", srv.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = env(&[
        "token",
        "create",
        "--client",
        &ci_client,
        "--expires-in",
        "1h",
        "--secret-file",
        file.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let token_urn = out(&o).trim().to_string();
    assert!(is_urn(&token_urn), "{token_urn}");
    let token = std::fs::read_to_string(&file).unwrap();
    let (s, _, b) = srv.call(
        Method::GET,
        &format!("/n/v1/apiclient/{ci_client}"),
        Some(token.trim()),
        None,
    );
    // It authenticates (and may manage nothing: 404, never 401).
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let o = env(&["token", "delete", &token_urn, "--yes"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let (s, _, b) = srv.call(
        Method::GET,
        &format!("/n/v1/apiclient/{ci_client}"),
        Some(token.trim()),
        None,
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED, "deleted: {b}");
}

#[test]
fn names_work_without_lists_through_the_local_name_map_and_owner_from_flag_or_env() {
    let srv = Server::start_documented();
    let company = srv.company();
    let cli = Cli::new(&srv, None);
    let o = cli.run(&[
        "--owner",
        "not-a-urn",
        "client",
        "create",
        "--client-id",
        "ci",
    ]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("--owner `not-a-urn` is not a URN"),
        "{}",
        err(&o)
    );
    let o = cli.run(&[
        "--owner",
        &company,
        "client",
        "create",
        "--client-id",
        "ci",
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let client = out(&o).trim().to_string();
    let o = baack()
        .env("BAACK_CONFIG_DIR", cli.config.path())
        .env("BAACK_TOKEN", srv.root())
        .env("BAACK_OWNER", &company)
        .args(["role", "create", "--name", "Content Viewer", "-q"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    let role = out(&o).trim().to_string();
    // Names now work, and say where they came from.
    let o = cli.run(&["client", "get", "ci", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["urn"], json!(client), "{v}");
    assert!(err(&o).contains("`ci` is API client"), "{}", err(&o));
    assert!(err(&o).contains("local name map"), "{}", err(&o));
    let o = cli.run(&["role", "grant", "Content Viewer", "--client", "ci"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let (_, _, b) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    assert_eq!(b["clients"][0]["urn"], json!(client), "{b}");
    let o = cli.run(&["token", "create", "--client", "ci", "-q"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let token = out(&o).trim().to_string();
    let map = std::fs::read_to_string(cli.config.path().join("names.toml")).unwrap();
    assert!(map.contains(&client) && map.contains(&role), "{map}");
    assert!(
        !map.contains(&token) && !map.contains(srv.root()),
        "never a secret: {map}"
    );
    // A client made elsewhere is learnt when read by URN.
    let other = srv.create_client("elsewhere");
    assert_eq!(code(&cli.run(&["client", "get", "elsewhere"])), 9);
    assert_eq!(code(&cli.run(&["client", "get", &other])), 0);
    assert_eq!(code(&cli.run(&["client", "get", "elsewhere"])), 0);
    // A deleted one is forgotten.
    let o = cli.run(&["client", "delete", "ci", "--yes"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = cli.run(&["client", "get", "ci"]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    assert!(
        err(&o).contains("not in this baack's local name map"),
        "{}",
        err(&o)
    );
}

/// `baack auth …` with `config` as the config dir and `stdin` as its input.
fn auth(config: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    run_with_stdin(
        baack()
            .env("BAACK_CONFIG_DIR", config)
            .args(["auth"])
            .args(args),
        stdin,
    )
}

#[test]
fn login_and_status_work_without_the_client_context() {
    let srv = Server::start_documented();
    let company = srv.company();
    let cfg = tempfile::tempdir().unwrap();
    let dir = cfg.path().join("config");
    let login = |profile: &str, extra: &[&str], token: &str| {
        let mut args = vec![
            "login",
            "--profile",
            profile,
            "--api-url",
            &srv.base,
            "--credential-store",
            "file",
        ];
        args.extend(extra);
        auth(&dir, &args, &format!("{token}\n"))
    };
    // The root token may read its own record: that checks it.
    let o = login("real", &["--owner", &company], srv.root());
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        err(&o).contains("no client context endpoint"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("checked by reading its own record"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("logged in to"), "{}", err(&o));
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        config.contains(&format!("default_owner = \"{company}\"")),
        "{config}"
    );
    let o = auth(&dir, &["--profile", "real", "-o", "json", "status"], "");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["permissions"], Value::Null, "unknown: {v}");
    // With the owner stored, creates need no client context.
    let o = baack()
        .env("BAACK_CONFIG_DIR", &dir)
        .args([
            "--profile",
            "real",
            "client",
            "create",
            "--client-id",
            "made",
            "-q",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));

    // A token that may not read its own record cannot be checked here: exit 9, unless
    // --no-verify keeps it with a warning; its status is then unverified (exit 9).
    let weak = srv.create_client("weak");
    let (_, token) = srv.create_token(&weak);
    let o = login("weak", &[], &token);
    assert_eq!(code(&o), 9, "{}", err(&o));
    assert!(err(&o).contains("pass --no-verify"), "{}", err(&o));
    assert!(
        !dir.join("credentials.toml").exists() || {
            let c = std::fs::read_to_string(dir.join("credentials.toml")).unwrap();
            !c.contains(&token)
        }
    );
    let o = login("weak", &["--no-verify"], &token);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        err(&o).contains("kept unchecked (--no-verify)"),
        "{}",
        err(&o)
    );
    let o = auth(&dir, &["--profile", "weak", "status"], "");
    assert_eq!(code(&o), 9, "{}", err(&o));
    assert!(out(&o).contains("unverified"), "{}", out(&o));
    assert!(out(&o).contains("unknown"), "{}", out(&o));
    // A token the server rejects is never kept, --no-verify or not.
    let o = login("bad", &["--no-verify"], "not-a-baack-token");
    assert_eq!(code(&o), 4, "{}", err(&o));
}

#[test]
fn the_whole_transcript_works_or_fails_with_its_own_message_and_exit_code() {
    let srv = Server::start_documented();
    let cli = Cli::new(&srv, Some(&srv.company()));
    let json_of = |args: &[&str]| -> Value {
        let mut all = vec!["-o", "json"];
        all.extend(args);
        let o = cli.run(&all);
        assert_eq!(code(&o), 0, "{args:?}: {}", err(&o));
        serde_json::from_str(&out(&o)).unwrap()
    };
    let expect = |args: &[&str], want: i32, says: &str| {
        let o = cli.run(args);
        assert_eq!(code(&o), want, "{args:?}: {}", err(&o));
        assert!(err(&o).contains(says), "{args:?}: {}", err(&o));
    };
    let client = json_of(&["client", "create", "--client-id", "app"])["urn"]
        .as_str()
        .unwrap()
        .to_string();
    expect(&["client", "get", &client], 0, "");
    expect(&["client", "get", "app"], 0, "local name map");
    expect(&["client", "update", "app", "--client-id", "app2"], 0, "");
    expect(&["client", "get", "app2"], 0, "local name map");
    expect(&["client", "list"], 9, "this server has no list endpoint");
    let token = json_of(&["token", "create", "--client", "app2", "--expires-in", "2h"])["urn"]
        .as_str()
        .unwrap()
        .to_string();
    expect(&["token", "get", &token], 0, "");
    expect(&["token", "list"], 9, "refer to the token by URN");
    expect(
        &["token", "list", "--client", "app2"],
        9,
        "refer to the token by URN",
    );
    expect(
        &["token", "revoke", &token, "--notice", "1h"],
        0,
        "stops working at",
    );
    expect(&["token", "delete", &token, "--yes"], 0, "");
    expect(
        &["token", "get", &token],
        3,
        &format!("no bearer token {token}"),
    );
    expect(
        &["role", "create", "--name", "R", "--permission", "READ"],
        0,
        "did not keep `permissions`",
    );
    let role = json_of(&["role", "get", "R"])["urn"]
        .as_str()
        .unwrap()
        .to_string();
    expect(&["role", "list"], 9, "refer to the role by URN");
    expect(&["role", "grant", "R", "--client", "app2"], 0, "");
    expect(&["role", "revoke", "R", "--client", "app2"], 0, "");
    expect(&["role", "delete", "R", "--yes"], 0, "");
    expect(
        &["role", "get", "R"],
        9,
        "not in this baack's local name map",
    );
    expect(
        &["role", "get", &role],
        3,
        &format!("no permission role {role}"),
    );
    expect(&["whoami"], 9, "no client context endpoint");
    expect(&["oauth", "list"], 0, "");
    expect(&["client", "delete", "app2", "--yes"], 0, "");
    expect(
        &["client", "get", &client],
        3,
        &format!("no API client {client}"),
    );
}
