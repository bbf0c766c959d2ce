//! Output for people and for scripts, through the real binary: names instead of URNs,
//! sorting, the token STATUS column, plain columns when piped and boxes on a terminal
//! (a pty from `script`), `-o yaml`, `--jq`, one JSON error document under `-o json`, and
//! help that teaches (global options heading, examples, `[required]`, flags named in 400
//! errors, `baack` alone, `baack version`, man page DESCRIPTION and SEE ALSO).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Local, OAUTH_CREATE, Server, baack, bin, is_urn};

/// An embedded store with clients `zeta`, `Android` and `ci`, a role granted to two of
/// them, and tokens: Android's expiring in 3 days, ci's never and one of ci's revoked.
struct Fixture {
    local: Local,
    android: String,
    ci: String,
    revoked: String,
}

impl Fixture {
    fn new() -> Fixture {
        let mut f = Fixture {
            local: Local::new(),
            android: String::new(),
            ci: String::new(),
            revoked: String::new(),
        };
        f.ok(&["client", "create", "--client-id", "zeta", "-q"]);
        f.android = f.ok(&["client", "create", "--client-id", "Android", "-q"]);
        f.ci = f.ok(&["client", "create", "--client-id", "ci", "-q"]);
        f.ok(&["token", "create", "--client", "ci", "--no-expiry", "-q"]);
        f.ok(&[
            "token",
            "create",
            "--client",
            "Android",
            "--expires-in",
            "3d",
            "-q",
        ]);
        let created: Value =
            serde_json::from_str(&f.ok(&["token", "create", "--client", "ci", "-o", "json"]))
                .unwrap();
        f.revoked = created["urn"].as_str().unwrap().to_string();
        f.ok(&["token", "revoke", &f.revoked.clone(), "-q"]);
        f.ok(&[
            "role",
            "create",
            "--name",
            "Auditors",
            "--permission",
            "READ",
            "-q",
        ]);
        f.ok(&[
            "role", "grant", "Auditors", "--client", "zeta", "--client", "Android",
        ]);
        f
    }

    fn cmd(&self, args: &[&str]) -> Command {
        self.local.cmd(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.local.run(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.local.ok(args)
    }

    /// Runs on a pseudo-terminal `cols` wide; returns what it printed.
    fn on_tty(&self, cols: u16, args: &[&str]) -> String {
        on_tty(&self.cmd(&[]), cols, args)
    }
}

/// Runs `baack ARGS` with `base`'s environment on a pseudo-terminal `cols` wide (util-linux
/// `script`, as the colour test does).
fn on_tty(base: &Command, cols: u16, args: &[&str]) -> String {
    let line = format!(
        "stty cols {cols}; {} {}",
        bin().display(),
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = script.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

const BOX: &[char] = &['│', '┆', '─', '┌', '╞', '└'];

fn rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

#[test]
fn piped_tables_are_plain_columns_with_names_sorted_and_a_status() {
    let f = Fixture::new();
    let list = f.ok(&["token", "list"]);
    assert!(!list.contains(BOX), "{list}");
    let rows = rows(&list);
    assert_eq!(
        rows[0],
        [
            "CLIENT",
            "URN",
            "TOKEN",
            "EXPIRES",
            "STATUS",
            "LAST USED",
            "DESCRIPTION"
        ],
        "{list}"
    );
    // Sorted by client name, case-folded; the revoked token is expired, so hidden.
    let clients: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    assert_eq!(clients, ["Android", "ci", "root"], "{list}");
    assert!(!list.contains(&f.revoked), "{list}");
    assert_eq!(rows[1][4], "expires in 3d", "{list}");
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$").unwrap();
    assert!(stamp.is_match(rows[1][3]), "{list}");
    assert_eq!(rows[2][3..], ["-", "active", "never", "-"], "{list}");
    // awk-friendly: the second whitespace-separated field of every row is its URN.
    for line in list.lines().skip(1) {
        assert!(is_urn(line.split_whitespace().nth(1).unwrap()), "{line}");
    }

    // --all shows the revoked one, as expired, after ci's token that never expires.
    let all = f.ok(&["token", "list", "--all"]);
    let rows_all = self::rows(&all);
    let revoked = rows_all.iter().position(|r| r[1] == f.revoked).unwrap();
    assert_eq!(rows_all[revoked][0], "ci");
    assert!(rows_all[revoked][4].starts_with("expired "), "{all}");
    assert!(rows_all[revoked][4].ends_with(" ago"), "{all}");
    assert_eq!(rows_all[revoked - 1][0], "Android", "{all}");

    // JSON stays the wire's: no names, no status, and the expired token only with --all.
    let json: Value = serde_json::from_str(&f.ok(&["token", "list", "-o", "json"])).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    for t in arr {
        assert!(t.get("status").is_none(), "{t}");
        let keys: Vec<&String> = t["apiClient"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["urn", "url"], "{t}");
    }
    let json: Value =
        serde_json::from_str(&f.ok(&["token", "list", "--all", "-o", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);

    // Clients and roles by name; a role's clients by name, sorted.
    let clients = f.ok(&["client", "list"]);
    let names: Vec<&str> = self::rows(&clients)[1..].iter().map(|r| r[0]).collect();
    assert_eq!(names, ["Android", "ci", "root", "zeta"], "{clients}");
    let roles = f.ok(&["role", "list"]);
    assert_eq!(self::rows(&roles)[1][3], "Android, zeta", "{roles}");
    let role = f.ok(&["role", "get", "Auditors"]);
    assert!(
        role.contains(&format!("Android ({}…)", &f.android[..8])),
        "{role}"
    );
    // The owner company, by name.
    let client = f.ok(&["client", "get", "Android"]);
    assert!(
        client
            .lines()
            .any(|l| l.starts_with("owner") && l.contains("My Company (")),
        "{client}"
    );
    // A token's client, by name, with the URN's start.
    let ci_token = f.ok(&["token", "list", "--client", "ci", "-q"]);
    let token = f.ok(&["token", "get", &ci_token]);
    assert!(
        token.contains(&format!("ci ({}…)", &f.ci[..8])) && token.contains("active"),
        "{token}"
    );

    // -o table forces the box style even when piped.
    let boxed = f.ok(&["-o", "table", "client", "list"]);
    assert!(boxed.contains(BOX), "{boxed}");
}

#[test]
fn terminal_tables_are_boxed_and_never_wrap_an_id() {
    let f = Fixture::new();
    let wide = f.on_tty(200, &["token", "list", "--all"]);
    assert!(wide.contains(BOX), "{wide}");
    // Narrower than the row: other columns wrap, every URN stays whole on one line.
    let narrow = f.on_tty(70, &["token", "list", "--all"]);
    assert!(narrow.contains(BOX), "{narrow}");
    let urns = f.ok(&["token", "list", "--all", "-q"]);
    for urn in urns.lines() {
        assert!(narrow.contains(urn), "{urn} wrapped in\n{narrow}");
    }
    // A listing's row is one line: what does not fit is cut short, headers stay whole.
    let lines = narrow.lines().filter(|l| l.contains('┆')).count();
    assert_eq!(lines, urns.lines().count() + 1, "{narrow}");
    assert!(
        narrow.contains("STATUS") && narrow.contains("EXPIRES"),
        "{narrow}"
    );
    let item = f.on_tty(50, &["role", "get", "Auditors"]);
    let role_urn = f.ok(&["role", "get", "Auditors", "-q"]);
    assert!(item.contains(&role_urn), "{item}");
}

#[test]
fn yaml_and_jq_select_without_jq_installed() {
    let f = Fixture::new();
    let json: Value =
        serde_json::from_str(&f.ok(&["client", "get", "Android", "-o", "json"])).unwrap();
    let yaml: Value =
        serde_yaml_ng::from_str(&f.ok(&["client", "get", "Android", "-o", "yaml"])).unwrap();
    assert_eq!(yaml, json);
    assert_eq!(
        f.ok(&["client", "get", "Android", "--jq", ".urn"]),
        f.android
    );
    let ids = f.ok(&["client", "list", "--jq", ".[].clientID"]);
    let mut ids: Vec<&str> = ids.lines().collect();
    ids.sort();
    assert_eq!(ids, ["Android", "ci", "root", "zeta"]);
    assert_eq!(
        f.ok(&["role", "list", "--jq", ".[0].permissions"]),
        r#"["READ"]"#
    );
    // A filter that does not parse: usage error before any request.
    let out = f.run(&["client", "list", "--jq", ".[] |"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a jq filter"), "{err}");
    // One that fails on the data.
    let out = f.run(&["client", "list", "--jq", ".[] + 1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // A filter that would drop a new secret is refused before anything is created; with
    // --secret-file the secret has its place and the filter applies to the rest.
    let before = f.ok(&["token", "list", "--all", "-q"]).lines().count();
    let oauth: Vec<&str> = OAUTH_CREATE
        .iter()
        .copied()
        .chain(["--jq", ".id"])
        .collect();
    for create in [
        &["token", "create", "--client", "ci", "--jq", ".urn"][..],
        &oauth[..],
    ] {
        let out = f.run(create);
        assert_eq!(out.status.code(), Some(2), "{create:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--secret-file"), "{err}");
    }
    assert_eq!(
        f.ok(&["token", "list", "--all", "-q"]).lines().count(),
        before
    );
    assert_eq!(f.ok(&["oauth", "list", "--jq", "length"]), "0");
    let file = f.local.dir.path().join("ci.token");
    let urn = f.ok(&[
        "token",
        "create",
        "--client",
        "ci",
        "--jq",
        ".urn",
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(f.ok(&["token", "get", &urn, "--jq", ".urn"]), urn);
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("bk_"));
}

/// Parses all of stderr as exactly one JSON document.
fn one_json_document(out: &Output) -> Value {
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    let mut docs = serde_json::Deserializer::from_str(&err).into_iter::<Value>();
    let v = docs
        .next()
        .unwrap_or_else(|| panic!("no JSON on stderr: {err}"))
        .unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!(docs.next().is_none(), "more than one document: {err}");
    v
}

#[test]
fn every_failure_under_json_is_one_json_document_with_the_same_exit_code() {
    let f = Fixture::new();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["client", "get", "nobody"], 3),
        (vec!["client", "create"], 2),
        (vec!["client", "lst"], 2),
        (vec!["client", "create", "--client-id", ""], 5),
        (vec!["client", "list", "--jq", "nosuchfn"], 2),
        (
            vec!["--api-url", &dead, "--retries", "0", "client", "list"],
            7,
        ),
    ];
    for (args, code) in cases {
        let plain = f.run(&args);
        assert_eq!(plain.status.code(), Some(code), "{args:?}: {plain:?}");
        for json_flag in [&["-o", "json"][..], &["--output=json"], &["-ojson"]] {
            let mut a = args.clone();
            a.extend(json_flag);
            let out = f.run(&a);
            assert_eq!(out.status.code(), Some(code), "{a:?}");
            assert!(out.stdout.is_empty(), "{a:?}");
            let v = one_json_document(&out);
            assert_eq!(v["error"]["exitCode"], code, "{a:?}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{v}"
            );
        }
    }
}

/// Every visible leaf command, as its words (`["token", "create"]`).
fn leaves(path: &[String]) -> Vec<Vec<String>> {
    let out = baack().args(path).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let subs: Vec<String> = help
        .split("\nCommands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty())
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| *n != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if subs.is_empty() {
        return vec![path.to_vec()];
    }
    subs.into_iter()
        .flat_map(|s| {
            let mut p = path.to_vec();
            p.push(s);
            leaves(&p)
        })
        .collect()
}

#[test]
fn every_leaf_help_has_global_options_apart_and_ends_with_examples() {
    let all = leaves(&[]);
    assert!(all.len() >= 25, "{all:?}");
    for leaf in &all {
        let out = baack().args(leaf).arg("--help").output().unwrap();
        assert!(out.status.success(), "{leaf:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        let (own, rest) = help
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{leaf:?} has no Global options heading:\n{help}"));
        for global in [
            "--store",
            "--api-url",
            "--profile",
            "--output",
            "--quiet",
            "--timeout",
        ] {
            // `auth login --api-url` is login's own flag: the URL it logs in to.
            let own_flag = leaf == &["auth", "login"] && global == "--api-url";
            assert!(
                own_flag || !own.contains(global),
                "{leaf:?}: {global} among its own flags"
            );
            assert!(rest.contains(global), "{leaf:?}: no {global}");
        }
        let examples = help
            .rsplit_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{leaf:?} has no examples:\n{help}"))
            .1;
        let n = examples
            .lines()
            .filter(|l| l.trim_start().starts_with("baack ") || l.contains("$(baack "))
            .count();
        assert!((2..=3).contains(&n), "{leaf:?}: {n} examples\n{examples}");
    }
    let create = String::from_utf8(
        baack()
            .args(["token", "create", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    // The flag's entry: from its line to the next flag's.
    let entry = |flag: &str| -> String {
        let start = create.find(&format!("\n      {flag}")).unwrap();
        let rest = &create[start + 1..];
        let end = rest[1..].find("\n      --").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    assert!(entry("--client <REF>").contains("[required]"), "{create}");
    assert!(!entry("--expires-in").contains("[required]"), "{create}");
    // One of a group: each names the other.
    let update = String::from_utf8(
        baack()
            .args(["oauth", "update", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(update.contains("[required, or --patch-file]"), "{update}");
    assert!(update.contains("[required, or --set]"), "{update}");
}

#[test]
fn bare_baack_prints_help_and_version_matches_the_flag() {
    let out = baack().output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Usage: baack") && help.contains("Commands:"),
        "{help}"
    );
    // A command group alone is a request for its help too.
    let out = baack().arg("token").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Usage: baack token") && help.contains("revoke"),
        "{help}"
    );
    let flag = baack().arg("--version").output().unwrap();
    let cmd = baack().arg("version").output().unwrap();
    assert!(cmd.status.success());
    assert_eq!(cmd.stdout, flag.stdout);
    let v: Value = serde_json::from_slice(
        &baack()
            .args(["version", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn invalid_input_names_the_flag_in_both_modes() {
    let f = Fixture::new();
    let server = Server::start_on(
        &f.local.store().with_file_name("remote"),
        &["--rate-limit", "off"],
    );
    let remote = |args: &[&str]| {
        baack()
            .env("BAACK_API_URL", &server.base)
            .env("BAACK_TOKEN", server.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let oauth = ["oauth", "create", "--name", "n"];
    let empty_id = ["client", "create", "--client-id", ""];
    for out in [f.run(&oauth), remote(&oauth)] {
        assert_eq!(out.status.code(), Some(5));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--access-type (accessType) is required")
                && err.contains("--grant-type (grantTypes)")
                && err.contains("--description is required"),
            "{err}"
        );
    }
    for out in [f.run(&empty_id), remote(&empty_id)] {
        assert_eq!(out.status.code(), Some(5));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--client-id (clientID): must be"), "{err}");
    }
}

fn man_page(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(name);
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn man_pages_describe_and_refer_to_each_other() {
    let token = man_page("baack-token.1");
    let desc = token
        .split(".SH DESCRIPTION")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .unwrap();
    assert!(
        desc.contains("token revoke") && desc.contains("token delete") && desc.contains("notice"),
        "{desc}"
    );
    let revoke = man_page("baack-token-revoke.1");
    let see = revoke.split(".SH \"SEE ALSO\"").nth(1).unwrap();
    assert!(
        see.contains("baack\\-token(1)") && see.contains("baack\\-token\\-delete(1)"),
        "{see}"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    for page in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(page.unwrap().path()).unwrap();
        assert!(text.contains(".SH \"SEE ALSO\""));
        assert!(text.contains(".SH DESCRIPTION"));
    }
}

#[test]
fn json_and_yaml_are_the_wire_answer_as_it_came() {
    let server = Server::start();
    let android = server.create_client("Android");
    server.create_token(&android);
    let role = server.create_role("Auditors", &["READ"], &[&android]);
    let cli = |args: &[&str]| -> Vec<u8> {
        let out = baack()
            .env("BAACK_API_URL", &server.base)
            .env("BAACK_TOKEN", server.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let (_, _, wire) = server.get(&format!("/n/v1/permissionrole/{role}"));
    let json: Value = serde_json::from_slice(&cli(&["role", "get", &role, "-o", "json"])).unwrap();
    assert_eq!(json, wire);
    // Key order too: the JSON is the API's document, not a re-sorted copy.
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        wire.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    let yaml: Value =
        serde_yaml_ng::from_slice(&cli(&["role", "get", &role, "-o", "yaml"])).unwrap();
    assert_eq!(yaml, wire);
    let (_, _, list) = server.get("/n/v1/apiclientbearertoken/?limit=1000");
    let json: Value = serde_json::from_slice(&cli(&["token", "list", "-o", "json"])).unwrap();
    assert_eq!(json, list["bearerTokens"]);
}
