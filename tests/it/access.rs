//! Issue 18, access as code, with the real binary over both transports (the embedded
//! store and a real `baack serve`): apply from empty and again, a changed field, a
//! removed object with and without `--prune` (never an unmanaged one), a token policy
//! rotating under a clock moved forward (libfaketime), an apply SIGKILLed half way and
//! run again, malformed manifests placed at file:line:column and changing nothing, and a
//! search of every output and the state for the secrets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

enum Target {
    Local(Local),
    Remote(Server),
}

struct Env {
    t: Target,
    dir: tempfile::TempDir,
    /// Everything every command printed, to search for secrets.
    seen: std::cell::RefCell<String>,
}

impl Env {
    fn local() -> Env {
        Env::new(Target::Local(Local::new()))
    }
    fn remote() -> Env {
        Env::new(Target::Remote(Server::start()))
    }
    fn new(t: Target) -> Env {
        Env {
            t,
            dir: tempfile::tempdir().unwrap(),
            seen: Default::default(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    /// A command of `program` (the binary, or faketime before it) on this target.
    fn command(&self, program: &Path, pre: &[&str], args: &[&str]) -> Command {
        let mut c = Command::new(program);
        hermetic(&mut c);
        c.args(pre)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        match &self.t {
            Target::Local(l) => {
                c.env("BAACK_STORE", l.store())
                    .env("BAACK_CONFIG_DIR", l.config());
            }
            Target::Remote(s) => {
                c.env("BAACK_API_URL", &s.base).env("BAACK_TOKEN", s.root());
            }
        }
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        let o = self.command(&bin(), &[], args).output().unwrap();
        self.note(&o);
        o
    }
    /// The command with the clock moved forward by `by` (libfaketime).
    fn later(&self, by: &str, args: &[&str]) -> Output {
        let faketime = PathBuf::from("faketime");
        let b = bin();
        let mut pre = vec!["-f", by];
        let bs = b.to_str().unwrap();
        pre.push(bs);
        let o = self
            .command(&faketime, &pre, args)
            .output()
            .expect("faketime (Debian's faketime package; .ci/run installs it)");
        self.note(&o);
        o
    }
    fn note(&self, o: &Output) {
        let mut s = self.seen.borrow_mut();
        s.push_str(&String::from_utf8_lossy(&o.stdout));
        s.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }
    fn plan_json(&self, extra: &[&str]) -> (i32, Value) {
        let mut a = vec!["plan", "-f", "m.yaml", "-o", "json"];
        a.extend_from_slice(extra);
        let o = self.run(&a);
        let code = o.status.code().unwrap();
        assert!(code == 0 || code == 2, "{o:?}");
        (code, serde_json::from_slice(&o.stdout).unwrap())
    }
    fn secret(&self, f: &str) -> String {
        std::fs::read_to_string(self.path(f))
            .unwrap()
            .trim()
            .to_string()
    }
}

const MANIFEST: &str = "\
clients:
  - clientID: ci
  - clientID: Android
    scope: api.baack.co
roles:
  - name: Content Viewer
    permissions: [VIEW_CONTENT]
    clients: [Android]
oauthClients:
  - name: Demo API Client
    description: CI
    grantTypes: [CLIENT_CREDENTIALS]
    accessType: OFFLINE
    accessTokenValiditySeconds: 750
    enabled: true
    secretFile: secrets/demo.secret
tokens:
  - client: ci
    description: ci runner
    expiresIn: 30d
    minRemaining: 7d
    overlap: 24h
    secretFile: secrets/ci.token
";

fn changes(plan: &Value) -> Vec<(String, String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn lifecycle(e: &Env) {
    e.write("m.yaml", MANIFEST);
    let (code, plan) = e.plan_json(&[]);
    assert_eq!(code, 2);
    assert_eq!(changes(&plan).len(), 5, "{plan}");
    e.ok(&["apply", "-f", "m.yaml"]);
    let (code, plan) = e.plan_json(&[]);
    assert_eq!((code, changes(&plan).len()), (0, 0), "{plan}");
    // The secrets, 0600, and the token works.
    use std::os::unix::fs::PermissionsExt;
    for f in ["secrets/ci.token", "secrets/demo.secret"] {
        let mode = std::fs::metadata(e.path(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let token = e.secret("secrets/ci.token");
    let o = run_with_stdin(
        &mut e.command(&bin(), &[], &["token", "whois", "-", "-q"]),
        &token,
    );
    assert!(o.status.success(), "{o:?}");
    // Running it again changes nothing.
    let out = e.ok(&["apply", "-f", "m.yaml"]);
    assert!(out.contains("No changes"), "{out}");

    // One field changed: the plan shows it alone.
    e.write("m.yaml", &MANIFEST.replace("750", "900"));
    let (code, plan) = e.plan_json(&[]);
    assert_eq!(code, 2);
    let ch = plan["changes"].as_array().unwrap();
    assert_eq!(ch.len(), 1, "{plan}");
    assert_eq!(ch[0]["action"], "update");
    assert_eq!(ch[0]["fields"].as_array().unwrap().len(), 1);
    assert_eq!(ch[0]["fields"][0]["field"], "accessTokenValiditySeconds");
    assert_eq!(ch[0]["fields"][0]["before"], 750);
    assert_eq!(ch[0]["fields"][0]["after"], 900);
    e.ok(&["apply", "-f", "m.yaml", "-q"]);
    assert_eq!(e.plan_json(&[]).0, 0);

    // An object made by hand, then one removed from the manifest: deleted only with
    // --prune, and the hand-made one never.
    e.ok(&["client", "create", "--client-id", "handmade", "-q"]);
    let m = MANIFEST
        .replace("750", "900")
        .replace("  - clientID: Android\n    scope: api.baack.co\n", "")
        .replace("clients: [Android]", "clients: [ci]");
    e.write("m.yaml", &m);
    let (code, plan) = e.plan_json(&[]);
    assert_eq!(code, 2);
    assert_eq!(
        changes(&plan),
        vec![("update".into(), "role".into(), "Content Viewer".into())],
        "no deletion without --prune: {plan}"
    );
    assert_eq!(plan["unmanaged"][0]["name"], "Android");
    let (_, plan) = e.plan_json(&["--prune"]);
    let c = changes(&plan);
    assert!(
        c.contains(&("delete".into(), "client".into(), "Android".into())),
        "{plan}"
    );
    assert_eq!(c.iter().filter(|x| x.0 == "delete").count(), 1, "{plan}");
    // No terminal to ask on: --yes is needed, and nothing changes without it.
    let o = e.run(&["apply", "-f", "m.yaml", "--prune"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(e.ok(&["client", "list", "-q"]).lines().count() >= 4);
    e.ok(&["apply", "-f", "m.yaml", "--prune", "--yes"]);
    let ids = e.ok(&["client", "list", "-o", "json", "--jq", ".[].clientID"]);
    assert!(
        ids.contains("handmade") && ids.contains("root") && ids.contains("ci"),
        "{ids}"
    );
    assert!(!ids.contains("Android"), "{ids}");
    assert_eq!(e.plan_json(&["--prune"]).0, 0);

    // A lost state owns nothing: prune then deletes nothing, even of what it made.
    std::fs::rename(e.path("m.state.json"), e.path("kept.state.json")).unwrap();
    e.write("m.yaml", "clients:\n  - clientID: ci\n");
    let (_, plan) = e.plan_json(&["--prune"]);
    assert!(changes(&plan).iter().all(|c| c.0 != "delete"), "{plan}");
    std::fs::rename(e.path("kept.state.json"), e.path("m.state.json")).unwrap();
    e.write("m.yaml", &m.replace("750", "900"));

    // The token policy rotates once less than minRemaining is left: 25 days on.
    let old = e.secret("secrets/ci.token");
    let o = e.later("+25d", &["plan", "-f", "m.yaml", "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        changes(&plan),
        vec![("rotate".into(), "token".into(), "ci/ci runner".into())]
    );
    let o = e.later("+25d", &["apply", "-f", "m.yaml"]);
    assert!(o.status.success(), "{o:?}");
    let new = e.secret("secrets/ci.token");
    assert_ne!(old, new);
    let o = e.later("+25d", &["plan", "-f", "m.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // Both work during the overlap (the server's clock has not moved).
    for t in [&old, &new] {
        let o = run_with_stdin(
            &mut e.command(&bin(), &[], &["token", "whois", "-", "-q"]),
            t,
        );
        assert!(o.status.success(), "{o:?}");
    }

    // Export, then plan from it: nothing to do.
    let exported = e.ok(&["export"]);
    let o = run_with_stdin(&mut e.command(&bin(), &[], &["plan", "-f", "-"]), &exported);
    assert_eq!(o.status.code(), Some(0), "{o:?}\n{exported}");

    // No secret anywhere but in its file: outputs, the state, the plan.
    e.run(&["plan", "-f", "m.yaml", "-v", "-o", "json"]);
    let mut seen = e.seen.borrow().clone();
    seen.push_str(&std::fs::read_to_string(e.path("m.state.json")).unwrap());
    if let Target::Remote(srv) = &e.t {
        seen.push_str(&srv.log().join("\n"));
    }
    for s in [&old, &new, &e.secret("secrets/demo.secret")] {
        assert!(!seen.contains(s.as_str()), "a secret leaked");
    }
}

#[test]
fn access_as_code_on_the_embedded_store() {
    lifecycle(&Env::local());
}

#[test]
fn access_as_code_against_a_server() {
    lifecycle(&Env::remote());
}

#[test]
fn every_malformed_manifest_is_placed_and_changes_nothing() {
    let e = Env::local();
    let before = e.ok(&["client", "list", "-o", "json"]);
    let cases = [
        ("clients:\n  - clientID: ci\n    scpe: x\n", "m.yaml:3:5"),
        (
            "clients:\n  - clientID: ci\n  - clientID: ci\n",
            "m.yaml:3:15",
        ),
        (
            "clients:\n  - clientID: ci\nroles:\n  - name: r\n    clients: [ghost]\n",
            "m.yaml:5:15",
        ),
        ("roles: [\n", "m.yaml:1:"),
        (
            "clients:\n  - clientID: ci\ntokens:\n  - client: ci\n    expiresIn: soon\n    secretFile: t\n",
            "m.yaml:5:16",
        ),
    ];
    for (text, at) in cases {
        e.write("m.yaml", text);
        for cmd in ["plan", "apply"] {
            let o = e.run(&[cmd, "-f", "m.yaml"]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(at), "{cmd} {text:?}: {err}");
            let want = if cmd == "plan" { 1 } else { 5 };
            assert_eq!(o.status.code(), Some(want), "{cmd} {text:?}: {o:?}");
        }
    }
    assert_eq!(e.ok(&["client", "list", "-o", "json"]), before);
    assert!(!e.path("m.state.json").exists());
    assert!(!e.path("t").exists());
}

#[test]
fn a_second_apply_of_one_state_waits_for_none_and_changes_nothing() {
    let e = Env::local();
    e.write("m.yaml", "clients:\n  - clientID: ci\n");
    let lock = std::fs::File::create(e.path("m.state.json.lock")).unwrap();
    lock.try_lock().unwrap();
    let o = e.run(&["apply", "-f", "m.yaml"]);
    assert_eq!(o.status.code(), Some(8), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another `baack apply`"),
        "{o:?}"
    );
    assert!(
        !e.ok(&["client", "list", "-o", "json", "--jq", ".[].clientID"])
            .contains("ci")
    );
    drop(lock);
    e.ok(&["apply", "-f", "m.yaml", "-q"]);
}

#[test]
fn a_create_the_api_refuses_stops_the_apply_and_leaves_no_secret_file() {
    let e = Env::local();
    // AUTHORIZATION_CODE needs a redirect URI: the server's rule, not the manifest's.
    e.write(
        "m.yaml",
        "clients:\n  - clientID: ci\noauthClients:\n  - name: web\n    description: d\n    grantTypes: [AUTHORIZATION_CODE]\n    accessType: ONLINE\n    accessTokenValiditySeconds: 600\n    secretFile: s/web.secret\ntokens:\n  - client: ci\n    secretFile: s/ci.token\n",
    );
    let o = e.run(&["apply", "-f", "m.yaml"]);
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("apply stopped at `+ oauth client web`"),
        "{err}"
    );
    assert!(err.contains("declared at m.yaml:4:11"), "{err}");
    assert!(err.contains("not done (1): + token ci"), "{err}");
    assert!(
        !e.path("s/web.secret").exists(),
        "no empty secret file is left"
    );
    // What was done is kept and owned: the client.
    let state = std::fs::read_to_string(e.path("m.state.json")).unwrap();
    assert!(state.contains("\"ci\""), "{state}");
}

#[test]
fn an_api_without_lists_is_told_so() {
    let e = Env::new(Target::Remote(Server::start_documented()));
    e.write("m.yaml", "clients:\n  - clientID: ci\n");
    let o = e.run(&["plan", "-f", "m.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let o = e.run(&["apply", "-f", "m.yaml"]);
    assert_eq!(o.status.code(), Some(9), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot list API clients"),
        "{o:?}"
    );
}

/// Many objects, so that a kill lands mid-apply: `n` clients (a tenth as many roles),
/// `secrets` OAuth clients and as many token policies.
fn big_manifest(n: usize, secrets: usize) -> String {
    let mut m = String::from("clients:\n");
    for i in 0..n {
        m.push_str(&format!("  - clientID: c{i}\n"));
    }
    m.push_str("roles:\n");
    for i in 0..n / 10 {
        m.push_str(&format!(
            "  - name: r{i}\n    permissions: [READ]\n    clients: [c{i}, c{}]\n",
            i + 1
        ));
    }
    m.push_str("oauthClients:\n");
    for i in 0..secrets {
        m.push_str(&format!(
            "  - name: o{i}\n    description: d\n    grantTypes: [CLIENT_CREDENTIALS]\n    accessType: OFFLINE\n    accessTokenValiditySeconds: 600\n    secretFile: s/o{i}.secret\n"
        ));
    }
    m.push_str("tokens:\n");
    for i in 0..secrets {
        m.push_str(&format!(
            "  - client: c{i}\n    expiresIn: 30d\n    secretFile: s/t{i}.token\n"
        ));
    }
    m
}

/// SIGKILLs `apply` after each of `delays`; how many kills found it still running.
fn kill_applies(e: &Env, delays: &[u64]) -> usize {
    let mut landed = 0;
    for delay in delays {
        let mut child = e
            .command(&bin(), &[], &["apply", "-f", "m.yaml", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    landed
}

/// SIGKILLs `apply` `times` times, each as soon as its state shows a creation of an
/// OAuth client or token begun: the window between noting it and recording what was
/// made, where the object may exist with its secret in no file. How many landed so.
fn kill_in_secret_windows(e: &Env, times: usize) -> usize {
    // The creations the state notes as begun: (name, since).
    let begun = || -> Vec<(String, i64)> {
        std::fs::read_to_string(e.path("m.state.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v["pending"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or("").to_string(),
                    p["since"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    };
    let mut landed = 0;
    for _ in 0..times {
        let before = begun();
        let mut child = e
            .command(&bin(), &[], &["apply", "-f", "m.yaml", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            // A creation this run began (a kill's leftovers are not it).
            if begun().iter().any(|p| !before.contains(p)) {
                let _ = child.kill();
                landed += 1;
                break;
            }
            if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    landed
}

/// After a full apply: one OAuth client per name, each secret file's secret working, one
/// live token per policy and it the one in its file, `clients` clients.
fn converged(e: &Env, secrets: usize, clients: usize) {
    let Target::Remote(srv) = &e.t else {
        unreachable!()
    };
    let o = e.run(&["apply", "-f", "m.yaml", "-q"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(e.plan_json(&[]).0, 0);
    let list = srv.get("/v3/oauth-clients?limit=250").2;
    for i in 0..secrets {
        let named: Vec<&Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["name"] == format!("o{i}"))
            .collect();
        assert_eq!(named.len(), 1, "o{i}: {list}");
        let id = named[0]["id"].as_str().unwrap();
        let secret = e.secret(&format!("s/o{i}.secret"));
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/oauth/token", srv.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", &secret),
            ])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "o{i}'s secret file holds its secret");
    }
    for i in 0..secrets {
        let token = e.secret(&format!("s/t{i}.token"));
        let o = run_with_stdin(
            &mut e.command(&bin(), &[], &["token", "whois", "-", "-o", "json"]),
            &token,
        );
        assert!(o.status.success(), "t{i}: {o:?}");
        let live = e.ok(&["token", "list", "--client", &format!("c{i}"), "-q"]);
        assert_eq!(live.lines().count(), 1, "c{i}: {live}");
    }
    let listed = e.ok(&["client", "list", "-q"]);
    assert_eq!(
        listed.lines().count(),
        clients + 1,
        "the manifest's and root"
    );
}

#[test]
fn an_apply_killed_half_way_converges_when_run_again() {
    // Kills among the clients and roles.
    let e = Env::remote();
    e.write("m.yaml", &big_manifest(1200, 4));
    assert!(
        kill_applies(&e, &[100, 250, 500]) >= 2,
        "the kills must land mid-apply"
    );
    converged(&e, 4, 1200);
    // Kills among the secrets: OAuth clients and tokens, each a create whose secret must
    // reach its file, at short and uneven intervals.
    let e = Env::remote();
    e.write("m.yaml", &big_manifest(40, 40));
    let landed = kill_in_secret_windows(&e, 12);
    assert!(landed >= 8, "the kills must land mid-creation: {landed}");
    let (_, plan) = e.plan_json(&[]);
    let half_made = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("replaces").is_some())
        .count();
    eprintln!("{landed} kills mid-creation; {half_made} half-made objects to replace");
    converged(&e, 40, 40);
}
