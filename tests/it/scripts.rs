//! What scripts rely on (issue 14, items 7 to 13): distinct exit codes for conflicts,
//! idempotent creates and deletes, a total timeout, tokens named by their value, expiry
//! defaults, completion candidates, percent-encoded paths and OAuth clients by name.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Local, Server, baack, oauth_create, run_with_stdin};

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_taken_name_is_a_conflict_and_if_not_exists_accepts_only_an_identical_one() {
    let l = Local::new();
    let urn = l.ok(&["client", "create", "--client-id", "ci-deploy", "-q"]);

    let again = l.run(&["client", "create", "--client-id", "ci-deploy"]);
    assert_eq!(code(&again), 8, "{again:?}");
    assert!(stderr(&again).contains("--if-not-exists"), "{again:?}");

    // The same client: printed, exit 0, nothing created.
    let same = l.ok(&[
        "client",
        "create",
        "--client-id",
        "ci-deploy",
        "--if-not-exists",
        "-q",
    ]);
    assert_eq!(same, urn);
    let json = l.ok(&[
        "client",
        "create",
        "--client-id",
        "ci-deploy",
        "--if-not-exists",
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["urn"], urn.as_str());
    let list = l.ok(&["client", "list", "--client-id", "ci-deploy", "-q"]);
    assert_eq!(list.lines().count(), 1, "{list}");

    // Another scope is not what was asked: a conflict naming the difference.
    let other = l.run(&[
        "client",
        "create",
        "--client-id",
        "ci-deploy",
        "--scope",
        "webhook.baack.co",
        "--if-not-exists",
    ]);
    assert_eq!(code(&other), 8, "{other:?}");
    let e = stderr(&other);
    assert!(
        e.contains("api.baack.co") && e.contains("webhook.baack.co"),
        "{e}"
    );

    // Renaming another client onto a taken clientID is a conflict too.
    l.ok(&["client", "create", "--client-id", "other", "-q"]);
    let rename = l.run(&["client", "update", "other", "--client-id", "ci-deploy"]);
    assert_eq!(code(&rename), 8, "{rename:?}");
    assert!(stderr(&rename).contains(&urn), "{rename:?}");

    // A new name with the flag is simply created.
    let new = l.ok(&[
        "client",
        "create",
        "--client-id",
        "fresh",
        "--if-not-exists",
        "-q",
    ]);
    assert_ne!(new, urn);

    // Roles: the same permissions in any order are the same role; others conflict.
    let role = l.ok(&[
        "role",
        "create",
        "--name",
        "Deployers",
        "--permission",
        "READ",
        "--permission",
        "ADMINISTER",
        "-q",
    ]);
    let same = l.ok(&[
        "role",
        "create",
        "--name",
        "Deployers",
        "--permission",
        "ADMINISTER",
        "--permission",
        "READ",
        "--if-not-exists",
        "-q",
    ]);
    assert_eq!(same, role);
    let dup = l.run(&[
        "role",
        "create",
        "--name",
        "Deployers",
        "--permission",
        "READ",
    ]);
    assert_eq!(code(&dup), 8, "{dup:?}");
    let other = l.run(&[
        "role",
        "create",
        "--name",
        "Deployers",
        "--permission",
        "READ",
        "--if-not-exists",
    ]);
    assert_eq!(code(&other), 8, "{other:?}");
    assert!(stderr(&other).contains("ADMINISTER, READ"), "{other:?}");

    // Invalid input stays exit 5.
    let bad = l.run(&["client", "create", "--client-id", ""]);
    assert_eq!(code(&bad), 5, "{bad:?}");
}

#[test]
fn a_conflict_over_the_remote_api_is_exit_8_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
    let remote = |args: &[&str]| {
        baack()
            .env("BAACK_API_URL", &server.base)
            .env("BAACK_TOKEN", server.root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let first = remote(&["client", "create", "--client-id", "x", "-q"]);
    assert!(first.status.success(), "{first:?}");
    let again = remote(&["client", "create", "--client-id", "x"]);
    assert_eq!(code(&again), 8, "{again:?}");
    let same = remote(&[
        "client",
        "create",
        "--client-id",
        "x",
        "--if-not-exists",
        "-q",
    ]);
    assert_eq!(stdout(&same), stdout(&first), "{same:?}");
}

#[test]
fn every_delete_takes_ignore_not_found() {
    let l = Local::new();
    let missing_urn = "4a2e4abe-fd83-4f29-9fd0-57009474a7c9";
    let cases: [&[&str]; 4] = [
        &["client", "delete", "nobody"],
        &["role", "delete", "Nobody"],
        &["token", "delete", missing_urn],
        &["oauth", "delete", "00000000000000000000000000000000"],
    ];
    for args in cases {
        let plain = l.run(&[args, &["--yes"]].concat());
        assert_eq!(code(&plain), 3, "{args:?}: {plain:?}");
        let ignored = l.run(&[args, &["--yes", "--ignore-not-found"]].concat());
        assert_eq!(code(&ignored), 0, "{args:?}: {ignored:?}");
        assert!(stdout(&ignored).is_empty(), "{args:?}: {ignored:?}");
        assert!(
            stderr(&ignored).contains("nothing deleted"),
            "{args:?}: {ignored:?}"
        );
    }
    // An object that exists is still deleted.
    l.ok(&["client", "create", "--client-id", "there", "-q"]);
    l.ok(&["client", "delete", "there", "--yes", "--ignore-not-found"]);
    assert_eq!(code(&l.run(&["client", "get", "there"])), 3);
}

/// Runs `args` on a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_terminal(l: &Local, args: &[&str], answer: &str) -> Output {
    let line = std::iter::once(crate::support::bin().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env("BAACK_STORE", l.store())
        .env("BAACK_CONFIG_DIR", l.config())
        .env("BAACK_KEYRING", "off")
        .env_remove("BAACK_API_URL")
        .env_remove("BAACK_TOKEN")
        .env_remove("BAACK_PROFILE");
    run_with_stdin(&mut c, answer)
}

#[test]
fn answering_no_at_a_delete_prompt_exits_0_with_nothing_deleted() {
    let l = Local::new();
    let urn = l.ok(&["client", "create", "--client-id", "keep", "-q"]);
    let out = on_terminal(&l, &["client", "delete", "keep"], "n\n");
    assert_eq!(code(&out), 0, "{out:?}");
    // `script` puts the program's stderr on its stdout (both are the terminal).
    let screen = stdout(&out);
    assert!(screen.contains("delete API client `keep`"), "{screen}");
    assert!(screen.contains("nothing deleted"), "{screen}");
    assert_eq!(l.ok(&["client", "get", "keep", "-q"]), urn);

    let out = on_terminal(&l, &["client", "delete", "keep"], "y\n");
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(code(&l.run(&["client", "get", "keep"])), 3);
}

/// Runs one command line in some mode.
type Runner<'a> = dyn Fn(&[&str]) -> Output + 'a;

/// Runs `args` against a real `baack serve` with its root token.
fn remote(server: &Server, args: &[&str]) -> Output {
    baack()
        .env("BAACK_API_URL", &server.base)
        .env("BAACK_TOKEN", server.root())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn oauth_clients_are_found_by_id_or_exact_name_and_odd_ids_are_encoded() {
    let l = Local::new();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
    let local = |args: &[&str]| l.run(args);
    let far = |args: &[&str]| remote(&server, args);
    let modes: [(&str, &Runner); 2] = [("embedded", &local), ("remote", &far)];
    for (mode, run) in modes {
        // No such client, named with characters a path must escape: not found, exit 3.
        for odd in ["Demo API Client", "a/b", "100%", "x?y#z", "../apiclient"] {
            let out = run(&["oauth", "get", odd]);
            assert_eq!(code(&out), 3, "{mode} {odd}: {out:?}");
            assert!(
                stderr(&out).contains("no OAuth client"),
                "{mode} {odd}: {out:?}"
            );
        }
        let create = |name: &str| {
            let mut args = oauth_create(&["-q"]);
            let at = args.iter().position(|a| a == "--name").unwrap();
            args[at + 1] = name.to_string();
            let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(out.status.success(), "{mode}: {out:?}");
            stdout(&out).split_whitespace().next().unwrap().to_string()
        };
        let demo = create("Demo API Client");
        let by_name = run(&["oauth", "get", "Demo API Client", "-o", "json"]);
        assert!(by_name.status.success(), "{mode}: {by_name:?}");
        let v: Value = serde_json::from_slice(&by_name.stdout).unwrap();
        assert_eq!(v["id"], demo.as_str(), "{mode}");
        let by_id = run(&["oauth", "get", &demo, "-q"]);
        assert_eq!(stdout(&by_id).trim(), demo, "{mode}");

        // The name is exact: another case is another name.
        assert_eq!(
            code(&run(&["oauth", "get", "demo api client"])),
            3,
            "{mode}"
        );

        // Two of one name: a usage error listing both ids and what to type instead.
        let a = create("Twin");
        let b = create("Twin");
        let out = run(&["oauth", "get", "Twin"]);
        assert_eq!(code(&out), 2, "{mode}: {out:?}");
        let e = stderr(&out);
        assert!(e.contains(&a) && e.contains(&b), "{mode}: {e}");
        assert!(e.contains("baack oauth get "), "{mode}: {e}");

        // Update and delete take the name too.
        let out = run(&[
            "oauth",
            "update",
            "Demo API Client",
            "--set",
            "description=renamed",
            "-o",
            "json",
        ]);
        assert!(out.status.success(), "{mode}: {out:?}");
        let out = run(&["oauth", "delete", "Demo API Client", "--yes"]);
        assert!(out.status.success(), "{mode}: {out:?}");
        assert_eq!(code(&run(&["oauth", "get", &demo])), 3, "{mode}");
    }
}

/// A server on 127.0.0.1:0 that reads each request's head and answers with `answer`
/// (or, when it is `None`, holds the connection open and never answers).
fn fake_server(answer: Option<&'static str>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            match answer {
                Some(a) => {
                    let _ = conn.write_all(a.as_bytes());
                }
                None => held.push(conn),
            }
        }
    });
    url
}

const UNAVAILABLE: &str =
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const UNAVAILABLE_FOR_A_MINUTE: &str = "HTTP/1.1 503 Service Unavailable\r\nretry-after: 60\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn against(url: &str, args: &[&str]) -> (Output, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = baack()
        .env("BAACK_API_URL", url)
        .env("BAACK_TOKEN", "bk_unused")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, start.elapsed())
}

#[test]
fn the_timeout_bounds_the_whole_command_and_each_retry_says_so() {
    // A server that never answers: the 2s budget is the whole command's, not each of
    // four attempts' (a generous bound: far under the 8s that four attempts would take).
    let silent = fake_server(None);
    let (out, took) = against(
        &silent,
        &["client", "list", "--timeout", "2s", "--retries", "3"],
    );
    assert_eq!(code(&out), 7, "{out:?}");
    let e = stderr(&out);
    assert!(e.contains("timed out") && e.contains("gave up"), "{e}");
    assert!(took < std::time::Duration::from_secs(8), "{took:?}: {e}");

    // 503 each time: one line per retry, then the last answer, saying how it was tried.
    let busy = fake_server(Some(UNAVAILABLE));
    let (out, _) = against(
        &busy,
        &["client", "list", "--timeout", "20s", "--retries", "2"],
    );
    assert_eq!(code(&out), 7, "{out:?}");
    let e = stderr(&out);
    let retries: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("retrying in "))
        .collect();
    assert_eq!(retries.len(), 2, "{e}");
    assert!(retries[0].ends_with(" after 503 (attempt 2/3)"), "{e}");
    assert!(retries[1].ends_with(" after 503 (attempt 3/3)"), "{e}");
    assert!(e.contains("gave up after 3 attempts"), "{e}");

    // -q: no retry lines, only the error.
    let (out, _) = against(&busy, &["client", "list", "--retries", "2", "-q"]);
    assert_eq!(code(&out), 7, "{out:?}");
    assert!(!stderr(&out).contains("retrying"), "{out:?}");

    // -o json: stderr is the one JSON error document and nothing else.
    let (out, _) = against(&busy, &["client", "list", "--retries", "2", "-o", "json"]);
    assert_eq!(code(&out), 7, "{out:?}");
    let e = stderr(&out);
    let doc: serde_json::Value = serde_json::from_str(e.trim()).unwrap_or_else(|_| panic!("{e}"));
    assert_eq!(doc["error"]["exitCode"], 7, "{e}");

    // A Retry-After past the budget: no wait that cannot end in time.
    let later = fake_server(Some(UNAVAILABLE_FOR_A_MINUTE));
    let (out, took) = against(&later, &["client", "list", "--timeout", "3s"]);
    assert_eq!(code(&out), 7, "{out:?}");
    let e = stderr(&out);
    assert!(!e.contains("retrying"), "{e}");
    assert!(
        e.contains("asked for a wait of 60s") && e.contains("--timeout"),
        "{e}"
    );
    assert!(took < std::time::Duration::from_secs(12), "{took:?}: {e}");
}

#[test]
fn a_token_is_named_by_its_value_on_stdin_and_never_as_an_argument() {
    let l = Local::new();
    l.ok(&["client", "create", "--client-id", "android", "-q"]);
    let token = l.ok(&[
        "token",
        "create",
        "--client",
        "android",
        "--expires-in",
        "2h",
        "-q",
    ]);
    let urn = {
        let list = l.ok(&["token", "list", "--client", "android", "-q"]);
        list.trim().to_string()
    };
    let by_value =
        |args: &[&str]| run_with_stdin(l.cmd(args).stdin(Stdio::piped()), &format!("{token}\n"));

    let got = by_value(&["token", "get", "-", "-q"]);
    assert_eq!(stdout(&got).trim(), urn, "{got:?}");

    let revoked = by_value(&["token", "revoke", "-", "--notice", "1h", "-o", "json"]);
    assert!(revoked.status.success(), "{revoked:?}");
    let v: Value = serde_json::from_slice(&revoked.stdout).unwrap();
    assert_eq!(v["urn"], urn.as_str());

    // The token on the command line is refused without being repeated.
    let out = l.run(&["token", "get", &token]);
    assert_eq!(code(&out), 2, "{out:?}");
    assert!(
        stderr(&out).contains("stdin") && !stderr(&out).contains(&token),
        "{out:?}"
    );
    // What is not a token is refused before any lookup, and not echoed either.
    let out = run_with_stdin(
        l.cmd(&["token", "get", "-"]).stdin(Stdio::piped()),
        "bk_nonsense\n",
    );
    assert_eq!(code(&out), 2, "{out:?}");
    assert!(!stderr(&out).contains("nonsense"), "{out:?}");

    // One step kills a leaked token: no --yes, the value is the confirmation.
    let killed = by_value(&["token", "delete", "-"]);
    assert!(killed.status.success(), "{killed:?}");
    assert!(stdout(&killed).contains(&urn), "{killed:?}");
    assert!(!stdout(&killed).contains(&token) && !stderr(&killed).contains(&token));
    let again = by_value(&["token", "delete", "-"]);
    assert_eq!(code(&again), 3, "{again:?}");
    assert!(stderr(&again).contains("format 3"), "{again:?}");
    let ignored = by_value(&["token", "delete", "-", "--ignore-not-found"]);
    assert!(ignored.status.success(), "{ignored:?}");
}

#[test]
fn a_token_made_before_format_3_is_not_found_by_value_and_the_error_says_why() {
    let l = Local::new();
    l.ok(&["client", "create", "--client-id", "old", "-q"]);
    let token = l.ok(&["token", "create", "--client", "old", "-q"]);
    let derived = l.ok(&["token", "list", "--client", "old", "-q"]);
    // Lay the token out as stores before format 3 did: a random URN, found through a
    // digest index entry.
    let store = l.store();
    let random = "0f0e0d0c-0b0a-4908-8706-050403020100";
    let file = store.join("tokens").join(format!("{derived}.json"));
    let body = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&derived, random);
    std::fs::write(store.join("tokens").join(format!("{random}.json")), body).unwrap();
    std::fs::remove_file(&file).unwrap();
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(store.join("tokens").join(format!("{random}.json"))).unwrap(),
    )
    .unwrap();
    let digest = v["digest"].as_str().unwrap();
    std::os::unix::fs::symlink(random, store.join("index/token-digest").join(digest)).unwrap();
    let client = v["client"].as_str().unwrap();
    let log = store
        .join("index/client-tokens")
        .join(format!("{client}.log"));
    let mut lines = std::fs::read_to_string(&log).unwrap();
    lines.push_str(&format!("-{derived}\n+{random}\n"));
    std::fs::write(&log, lines).unwrap();
    let _ = std::fs::remove_dir_all(store.join("cache"));
    assert_eq!(l.ok(&["token", "list", "--client", "old", "-q"]), random);

    let out = run_with_stdin(l.cmd(&["token", "get", "-"]).stdin(Stdio::piped()), &token);
    assert_eq!(code(&out), 3, "{out:?}");
    let e = stderr(&out);
    assert!(e.contains("before store format 3"), "{e}");
    // The tokens that show the same first characters are named, for a person to check.
    assert!(e.contains(random), "{e}");
    assert!(!e.contains(&token), "{e}");
}

#[test]
fn whoami_shows_the_tokens_urn_and_expiry_or_that_there_is_none() {
    let l = Local::new();
    let out = l.run(&["whoami", "-o", "json"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["token"], Value::Null);
    assert!(stderr(&out).contains("without one"), "{out:?}");

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
    let made = remote(
        &server,
        &[
            "token",
            "create",
            "--client",
            "root",
            "--expires-in",
            "2h",
            "-o",
            "json",
        ],
    );
    assert!(made.status.success(), "{made:?}");
    let t: Value = serde_json::from_slice(&made.stdout).unwrap();
    let who = baack()
        .env("BAACK_API_URL", &server.base)
        .env("BAACK_TOKEN", t["bearerToken"].as_str().unwrap())
        .args(["whoami", "-o", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(who.status.success(), "{who:?}");
    let v: Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(v["token"]["urn"], t["urn"]);
    assert_eq!(v["token"]["expirationTimestamp"], t["expirationTimestamp"]);
    let table = baack()
        .env("BAACK_API_URL", &server.base)
        .env("BAACK_TOKEN", t["bearerToken"].as_str().unwrap())
        .args(["whoami"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        stdout(&table).contains(t["urn"].as_str().unwrap()),
        "{table:?}"
    );
}

/// Milliseconds from now until a Baack timestamp.
fn ms_until(ts: &str) -> i64 {
    let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc();
    (t - chrono::Utc::now()).num_milliseconds()
}

#[test]
fn a_token_expires_by_default_and_never_only_when_asked() {
    let l = Local::new();
    let hour = 3_600_000;
    let created = |args: &[&str]| -> (Value, Output) {
        let out = l.run(&[&["token", "create", "--client", "root", "-o", "json"], args].concat());
        assert!(out.status.success(), "{args:?}: {out:?}");
        (serde_json::from_slice(&out.stdout).unwrap(), out)
    };
    // Neither flag: 90 days.
    let (v, out) = created(&[]);
    let left = ms_until(v["expirationTimestamp"].as_str().unwrap());
    assert!((89 * 24 * hour..=90 * 24 * hour).contains(&left), "{v}");
    assert!(!stderr(&out).contains("never expires"), "{out:?}");

    // --no-expiry: none, with a warning even under -q.
    let (v, out) = created(&["--no-expiry"]);
    assert!(
        v.get("expirationTimestamp").is_none_or(Value::is_null),
        "{v}"
    );
    assert!(
        stderr(&out).contains("warning: this token never expires"),
        "{out:?}"
    );
    let quiet = l.run(&["token", "create", "--client", "root", "--no-expiry", "-q"]);
    assert!(stderr(&quiet).contains("never expires"), "{quiet:?}");
    let both = l.run(&[
        "token",
        "create",
        "--client",
        "root",
        "--no-expiry",
        "--expires-in",
        "1h",
    ]);
    assert_eq!(code(&both), 2, "{both:?}");

    // The profile's default_token_ttl.
    let cfg = l.config();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::set_permissions(&cfg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let store = l.store().display().to_string();
    std::fs::write(
        cfg.join("config.toml"),
        format!("[profiles.ci]\nstore = {store:?}\ndefault_token_ttl = \"2h\"\n"),
    )
    .unwrap();
    let (v, _) = created(&["--profile", "ci"]);
    let left = ms_until(v["expirationTimestamp"].as_str().unwrap());
    assert!((hour..=2 * hour).contains(&left), "{v}");
    // An explicit flag wins over it.
    let (v, _) = created(&["--profile", "ci", "--expires-in", "30d"]);
    assert!(
        ms_until(v["expirationTimestamp"].as_str().unwrap()) > 29 * 24 * hour,
        "{v}"
    );
    std::fs::write(
        cfg.join("config.toml"),
        format!("[profiles.ci]\nstore = {store:?}\ndefault_token_ttl = \"soon\"\n"),
    )
    .unwrap();
    let bad = l.run(&["--profile", "ci", "token", "create", "--client", "root"]);
    assert_eq!(code(&bad), 2, "{bad:?}");
    assert!(stderr(&bad).contains("default_token_ttl"), "{bad:?}");
}

#[test]
fn a_notice_longer_than_the_tokens_life_says_the_earlier_expiry_stands() {
    let l = Local::new();
    let urn = {
        let out = l.run(&[
            "token",
            "create",
            "--client",
            "root",
            "--expires-in",
            "1h",
            "-o",
            "json",
        ]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["urn"].as_str().unwrap().to_string()
    };
    let out = l.run(&["token", "revoke", &urn, "--notice", "24h", "-o", "json"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("sooner than the 24h notice: the earlier expiry stands"),
        "{out:?}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        ms_until(v["expirationTimestamp"].as_str().unwrap()) <= 3_600_000,
        "{v}"
    );
    // A shorter notice takes effect, and says when.
    let out = l.run(&["token", "revoke", &urn, "--notice", "10m"]);
    let e = stderr(&out);
    assert!(
        e.contains("stops working at") && !e.contains("stands"),
        "{e}"
    );
}

/// What the bash completion function puts in COMPREPLY for `words` (the last one being
/// completed), run by a real bash with `baack` first on PATH.
fn bash_completions(env: &[(&str, String)], words: &[&str]) -> Vec<String> {
    let bin_dir = crate::support::bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    let script = format!(
        r#"source <(baack completions bash)
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
# As readline passes it: the word without a quote the person opened.
cur="${{COMP_WORDS[COMP_CWORD]}}"; cur="${{cur#[\"\']}}"
_clap_complete_baack baack "$cur" "${{COMP_WORDS[COMP_CWORD-1]}}" 2>/dev/null
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = quoted.join(" ")
    );
    // Only what completion reads: never the real home, config or keyring.
    let out = Command::new("bash")
        .env_clear()
        .env("PATH", path)
        .env("HOME", "/nonexistent-baack-test-home")
        .env("XDG_CONFIG_HOME", "/nonexistent-baack-test-home")
        .env("XDG_DATA_HOME", "/nonexistent-baack-test-home")
        .env("BAACK_KEYRING", "off")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_inserts_names_with_spaces_quoted() {
    let l = Local::new();
    l.ok(&["role", "create", "--name", "Content Viewer", "-q"]);
    l.ok(&["role", "create", "--name", "Content \"Raw\" $Editor", "-q"]);
    l.ok(&["role", "create", "--name", "Auditors", "-q"]);
    let env = [
        ("BAACK_STORE", l.store().display().to_string()),
        ("BAACK_CONFIG_DIR", l.config().display().to_string()),
    ];
    let mut got = bash_completions(&env, &["baack", "role", "get", "Con"]);
    got.sort();
    assert_eq!(
        got,
        [r#""Content Viewer""#, r#""Content \"Raw\" \$Editor""#],
        "{got:?}"
    );
    // A plain name is inserted as it is.
    assert_eq!(
        bash_completions(&env, &["baack", "role", "get", "Aud"]),
        ["Auditors"]
    );
    // Inside a quote the person opened, readline closes it: the value goes in bare.
    let got = bash_completions(&env, &["baack", "role", "get", "\"Content V"]);
    assert_eq!(got, ["Content Viewer"], "{got:?}");
}

/// The candidates fish would show for the last of `words`: `value\tdescription` lines.
fn fish_completions(c: &mut Command, words: &[&str]) -> Vec<String> {
    let out = c
        .env("COMPLETE", "fish")
        .arg("--")
        .args(words)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout(&out)
        .lines()
        .filter(|l| !l.starts_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn token_completion_names_the_client_and_hides_expired_tokens() {
    let l = Local::new();
    l.ok(&["client", "create", "--client-id", "Android App", "-q"]);
    let live = l.ok(&[
        "token",
        "create",
        "--client",
        "Android App",
        "--expires-in",
        "2h",
        "-q",
    ]);
    let dead = l.ok(&[
        "token",
        "create",
        "--client",
        "Android App",
        "--expires-in",
        "2h",
        "-q",
    ]);
    let dead_urn = run_with_stdin(
        l.cmd(&["token", "revoke", "-", "-q"]).stdin(Stdio::piped()),
        &dead,
    );
    let dead_urn = stdout(&dead_urn).trim().to_string();
    let live_urn = run_with_stdin(
        l.cmd(&["token", "get", "-", "-q"]).stdin(Stdio::piped()),
        &live,
    );
    let live_urn = stdout(&live_urn).trim().to_string();

    let check = |lines: Vec<String>, mode: &str| {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&live_urn))
            .unwrap_or_else(|| panic!("{mode}: {lines:?}"));
        assert!(line.contains("\tAndroid App, expires "), "{mode}: {line}");
        assert!(
            !lines.iter().any(|l| l.starts_with(&dead_urn)),
            "{mode}: {lines:?}"
        );
    };
    check(
        fish_completions(&mut l.cmd(&[]), &["baack", "token", "get", ""]),
        "embedded",
    );

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&dir.path().join("store"), &["--rate-limit", "off"]);
    let made = |args: &[&str]| stdout(&remote(&server, args)).trim().to_string();
    made(&["client", "create", "--client-id", "Android App", "-q"]);
    let live = made(&[
        "token",
        "create",
        "--client",
        "Android App",
        "--expires-in",
        "2h",
        "-q",
    ]);
    let dead = made(&[
        "token",
        "create",
        "--client",
        "Android App",
        "--expires-in",
        "2h",
        "-q",
    ]);
    let far = |args: &[&str], input: &str| {
        let mut c = baack();
        c.env("BAACK_API_URL", &server.base)
            .env("BAACK_TOKEN", server.root())
            .args(args);
        stdout(&run_with_stdin(c.stdin(Stdio::piped()), input))
            .trim()
            .to_string()
    };
    let dead_urn = far(&["token", "revoke", "-", "-q"], &dead);
    let live_urn = far(&["token", "get", "-", "-q"], &live);
    let mut c = baack();
    c.env("BAACK_API_URL", &server.base)
        .env("BAACK_TOKEN", server.root());
    let lines = fish_completions(&mut c, &["baack", "token", "get", ""]);
    let line = lines
        .iter()
        .find(|l| l.starts_with(&live_urn))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(line.contains("\tAndroid App, expires "), "remote: {line}");
    assert!(
        !lines.iter().any(|l| l.starts_with(&dead_urn)),
        "remote: {lines:?}"
    );
}
