//! Concurrency and crashes: many processes on one store, a server and CLI writers side by
//! side, concurrent grants, and SIGKILL at random instants. Every acknowledged write must
//! survive, the store must load, no lock may outlive its process, no temp file may
//! outlive the next write, and the audit log must hold an event for exactly the changes
//! that were made.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, baack};

fn cli(store: &Path) -> Command {
    let mut c = baack();
    c.env("BAACK_STORE", store).stdin(Stdio::null());
    c
}

fn run(store: &Path, args: &[&str]) -> Output {
    cli(store).args(args).output().unwrap()
}

fn json_of(store: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let out = run(store, &a);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn new_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(run(&store, &["init", "-q"]).status.success());
    (dir, store)
}

fn client_ids(store: &Path) -> Vec<String> {
    json_of(store, &["client", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientID"].as_str().unwrap().to_string())
        .collect()
}

/// Every index points at a live object and every object is indexed; no temp files.
fn assert_store_consistent(store: &Path) {
    let tmp: Vec<_> = std::fs::read_dir(store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "temp files left behind: {tmp:?}");
    let clients = json_of(store, &["client", "list"]);
    let ids: Vec<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientID"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a clientID appears twice");
    for c in clients.as_array().unwrap() {
        // Lookup by name goes through the index: it must find this very client.
        let by_name = json_of(store, &["client", "get", c["clientID"].as_str().unwrap()]);
        assert_eq!(by_name["urn"], c["urn"]);
    }
}

/// The audit log and the store agree: every client and token (but the root client and
/// the token `init` made, which no request created) has exactly one create event, and
/// every create event's object exists (nothing here deletes); no intent is left over.
fn assert_audit_matches(store: &Path) {
    let events = json_of(store, &["audit", "log", "--limit", "100000"]);
    let events = events.as_array().unwrap();
    let targets = |action: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["target"]["urn"].as_str().unwrap().to_string())
            .collect()
    };
    let urns = |v: Value, skip: &dyn Fn(&Value) -> bool| -> HashSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|x| !skip(x))
            .map(|x| x["urn"].as_str().unwrap().to_string())
            .collect()
    };
    let clients = urns(json_of(store, &["client", "list"]), &|c| {
        c["clientID"] == "root"
    });
    let made = targets("apiclient.create");
    let made_set: HashSet<String> = made.iter().cloned().collect();
    assert_eq!(made.len(), made_set.len(), "a client has two create events");
    let no_event: Vec<_> = clients.difference(&made_set).collect();
    let no_client: Vec<_> = made_set.difference(&clients).collect();
    assert!(
        no_event.is_empty(),
        "clients without their create event: {no_event:?}"
    );
    assert!(
        no_client.is_empty(),
        "create events of clients never made: {no_client:?}"
    );
    let tokens = urns(json_of(store, &["token", "list", "--all"]), &|_| false);
    let made: HashSet<String> = targets("apiclientbearertoken.create").into_iter().collect();
    let no_token: Vec<_> = made.difference(&tokens).collect();
    assert!(
        no_token.is_empty(),
        "create events of tokens never made: {no_token:?}"
    );
    // Only the token `init` made has no event.
    assert_eq!(
        tokens.difference(&made).count(),
        1,
        "tokens without their create event"
    );
    let intent = std::fs::read(store.join("audit").join("intent")).unwrap_or_default();
    assert!(
        intent.trim_ascii().is_empty(),
        "an intent was left: {intent:?}"
    );
}

#[test]
fn thirty_two_processes_writing_at_once_lose_nothing() {
    let (_dir, store) = new_store();
    let per = std::env::var("BAACK_CONCURRENCY_WRITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100usize);
    let threads: Vec<_> = (0..32)
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || {
                // Half clients, half tokens (each for the client this process made first).
                let id = format!("p{p}");
                assert!(
                    run(&store, &["client", "create", "--client-id", &id, "-q"])
                        .status
                        .success()
                );
                let mut tokens = Vec::new();
                for i in 1..per {
                    if i % 2 == 0 {
                        let out = run(
                            &store,
                            &[
                                "client",
                                "create",
                                "--client-id",
                                &format!("p{p}-c{i}"),
                                "-q",
                            ],
                        );
                        assert!(
                            out.status.success(),
                            "{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    } else {
                        let out = run(&store, &["token", "create", "--client", &id, "-q"]);
                        assert!(
                            out.status.success(),
                            "{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        tokens.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
                    }
                }
                tokens
            })
        })
        .collect();
    let tokens: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let ids = client_ids(&store);
    let expected_clients = 32 * (1 + (1..per).filter(|i| i % 2 == 0).count());
    assert_eq!(
        ids.len(),
        expected_clients + 1,
        "every client once, plus root"
    );
    let unique: HashSet<&String> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "every token distinct");
    let listed = json_of(&store, &["token", "list"]);
    assert_eq!(
        listed.as_array().unwrap().len(),
        tokens.len() + 1,
        "every token once, plus root"
    );
    for p in 0..32 {
        let mine = json_of(&store, &["token", "list", "--client", &format!("p{p}")]);
        assert_eq!(
            mine.as_array().unwrap().len(),
            (1..per).filter(|i| i % 2 == 1).count()
        );
    }
    assert!(
        std::fs::read_dir(store.join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_server_under_load_and_cli_writers_share_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let srv = Arc::new(Server::start_on(&store, &["--rate-limit", "off"]));
    let owner = srv.owner();
    let http: Vec<_> = (0..8)
        .map(|t| {
            let srv = srv.clone();
            let owner = owner.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let (s, _, b) = srv.post(
                        "/n/v1/apiclient/",
                        json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": format!("http-{t}-{i}")}),
                    );
                    assert_eq!(s.as_u16(), 201, "{b}");
                }
            })
        })
        .collect();
    let cli_writers: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..15 {
                    let out = run(
                        &store,
                        &[
                            "client",
                            "create",
                            "--client-id",
                            &format!("cli-{t}-{i}"),
                            "-q",
                        ],
                    );
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for h in http.into_iter().chain(cli_writers) {
        h.join().unwrap();
    }
    let ids: HashSet<String> = client_ids(&store).into_iter().collect();
    assert_eq!(ids.len(), 8 * 40 + 8 * 15 + 1);
    let (_, _, b) = srv.get("/n/v1/apiclient/?limit=1000");
    assert_eq!(
        b["apiClients"].as_array().unwrap().len(),
        ids.len(),
        "the server sees the CLI's writes"
    );
    assert_store_consistent(&store);
    assert_audit_matches(&store);
}

#[test]
fn sixteen_concurrent_grants_to_one_role_all_land() {
    let (_dir, store) = new_store();
    for i in 0..16 {
        assert!(
            run(
                &store,
                &["client", "create", "--client-id", &format!("g{i}"), "-q"]
            )
            .status
            .success()
        );
    }
    assert!(
        run(
            &store,
            &[
                "role",
                "create",
                "--name",
                "shared",
                "--permission",
                "READ",
                "-q"
            ]
        )
        .status
        .success()
    );
    let grants: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                run(
                    &store,
                    &[
                        "role",
                        "grant",
                        "shared",
                        "--client",
                        &format!("g{i}"),
                        "-q",
                    ],
                )
            })
        })
        .collect();
    for g in grants {
        let out = g.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let role = json_of(&store, &["role", "get", "shared"]);
    assert_eq!(role["clients"].as_array().unwrap().len(), 16, "{role}");
}

#[test]
fn a_stale_if_match_is_refused_with_412_and_the_role_is_unchanged() {
    let srv = Server::start();
    let client = srv.create_client("c");
    let role = srv.create_role("r", &["READ"], &[]);
    let (_, h, body) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    let etag = h["etag"].to_str().unwrap().to_string();
    let mut changed = body.clone();
    changed["clients"] = json!([{"urn": client}]);
    let (s, _, _) = srv.call_with(
        Method::PUT,
        &format!("/n/v1/permissionrole/{role}"),
        Some(srv.root()),
        &[("If-Match", &etag)],
        Some(changed.clone()),
    );
    assert_eq!(s.as_u16(), 202);
    let (s, _, b) = srv.call_with(
        Method::PUT,
        &format!("/n/v1/permissionrole/{role}"),
        Some(srv.root()),
        &[("If-Match", &etag)],
        Some(body),
    );
    assert_eq!(s.as_u16(), 412, "{b}");
    assert_eq!(b["apiCode"], "PRECONDITION_FAILED");
    let (_, _, now) = srv.get(&format!("/n/v1/permissionrole/{role}"));
    assert_eq!(now["clients"].as_array().unwrap().len(), 1);
}

// --- crashes ----------------------------------------------------------------------------

/// A pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed with BAACK_CRASH_SEED.
struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("BAACK_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash harness seed: BAACK_CRASH_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn kill9(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn kills() -> usize {
    std::env::var("BAACK_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Runs `baack` with a deadline, so a stale lock shows up as a failure, not a hang.
fn run_within(store: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = cli(store)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            kill9(&mut child);
            panic!("baack {args:?} did not finish within {limit:?}: a stale lock?");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigkill_at_random_instants_never_loses_an_acknowledged_write() {
    let (_dir, store) = new_store();
    let mut rng = Rng::new();
    let total = kills();
    let (cli_kills, server_kills) = (total - total / 4, total / 4);
    let mut acked: Vec<String> = Vec::new();
    let mut unacked = 0usize;

    // How long a write lives, so kills land anywhere in it (start-up, lock, fsync, exit).
    let mut lives: Vec<u128> = (0..5)
        .map(|i| {
            let t = Instant::now();
            assert!(
                run(
                    &store,
                    &["client", "create", "--client-id", &format!("warm{i}"), "-q"]
                )
                .status
                .success()
            );
            t.elapsed().as_micros()
        })
        .collect();
    lives.sort_unstable();
    let life = (lives[2] * 12 / 10).max(1000) as u64;
    acked.extend((0..5).map(|i| format!("warm{i}")));

    // CLI writes, killed at a random instant of their life.
    for i in 0..cli_kills {
        let id = format!("k{i}");
        let what: &[&str] = if i % 3 == 0 && !acked.is_empty() {
            &["token", "create", "--client", "root", "-q"]
        } else {
            &["client", "create", "--client-id", &id, "-q"]
        };
        let mut child = cli(&store)
            .args(what)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(life)));
        let done = child.try_wait().unwrap();
        match done {
            Some(st) if st.success() => {
                if what[0] == "client" {
                    acked.push(id.clone());
                }
            }
            Some(st) => panic!("a write failed without being killed: {st}"),
            None => {
                kill9(&mut child);
                unacked += 1;
            }
        }
        // The store loads at once (no stale lock), and holds every acknowledged client.
        let out = run_within(
            &store,
            &["client", "list", "-o", "json"],
            Duration::from_secs(10),
        );
        assert!(
            out.status.success(),
            "after kill {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if i % 20 == 0 || i + 1 == cli_kills {
            let have: HashSet<String> = client_ids(&store).into_iter().collect();
            for a in &acked {
                assert!(
                    have.contains(a),
                    "acknowledged client {a} lost after kill {i}"
                );
            }
        }
    }

    // The server under write load, killed at random instants.
    let out = run(&store, &["token", "create", "--client", "root", "-q"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    for round in 0..server_kills {
        let mut srv = Server::start_on(&store, &["--rate-limit", "off"]);
        srv.root = Some(token.clone());
        let owner = srv.owner();
        let done: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let srv = Arc::new(srv);
        let loaders: Vec<_> = (0..4)
            .map(|t| {
                let (srv, owner, done, stop) = (srv.clone(), owner.clone(), done.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let id = format!("s{round}-{t}-{n}");
                        n += 1;
                        let Some((s, _, _)) = srv.try_post(
                            "/n/v1/apiclient/",
                            json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": id}),
                        ) else {
                            break;
                        };
                        if s.as_u16() == 201 {
                            done.lock().unwrap().push(id);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(150)));
        srv.kill();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for l in loaders {
            let _ = l.join();
        }
        acked.extend(done.lock().unwrap().drain(..));
    }

    // A write after all that sweeps the temp files; everything acknowledged is there.
    let out = run_within(
        &store,
        &["client", "create", "--client-id", "final", "-q"],
        Duration::from_secs(10),
    );
    assert!(out.status.success());
    let have: HashSet<String> = client_ids(&store).into_iter().collect();
    let lost: Vec<&String> = acked.iter().filter(|a| !have.contains(*a)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert_store_consistent(&store);
    assert_audit_matches(&store);
    eprintln!(
        "{total} kills: {} acknowledged writes kept, {unacked} CLI writes killed in flight (a write lives ~{life} us)",
        acked.len()
    );
    assert!(
        unacked > 0 && acked.len() > cli_kills / 4,
        "kills must land both before and after acknowledgement"
    );
}
