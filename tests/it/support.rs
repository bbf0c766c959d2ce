//! Test support: spawn the real `baack serve` on a temp store, talk HTTP to it, and read
//! its stderr log.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;

/// `baack oauth create` with the fewest flags that make a valid client.
pub const OAUTH_CREATE: &[&str] = &[
    "oauth",
    "create",
    "--name",
    "n",
    "--description",
    "d",
    "--grant-type",
    "CLIENT_CREDENTIALS",
    "--access-type",
    "OFFLINE",
    "--access-token-validity",
    "60",
];

/// `OAUTH_CREATE` followed by `extra`.
pub fn oauth_create(extra: &[&str]) -> Vec<String> {
    OAUTH_CREATE
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// Runs `cmd` with `input` on its stdin, capturing stdout and stderr.
/// The CLI against `srv`, logged in with its root token, stdin closed.
pub fn remote(srv: &Server, args: &[&str]) -> Command {
    let mut c = baack();
    c.env("BAACK_API_URL", &srv.base)
        .env("BAACK_TOKEN", srv.root())
        .args(args)
        .stdin(Stdio::null());
    c
}

/// The CLI on the store at `store`, stdin closed.
pub fn on_store(store: &Path, args: &[&str]) -> Command {
    let mut c = baack();
    c.env("BAACK_STORE", store).args(args).stdin(Stdio::null());
    c
}

/// Runs `c`, which must succeed: its stdout.
pub fn ok_out(mut c: Command) -> String {
    let o: Output = c.output().expect("run baack");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

pub fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baack");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// The path of the `baack` binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("baack")
}

/// A `baack` command that never touches the home directory, in a local time zone that
/// is not UTC.
pub fn baack() -> Command {
    let mut c = Command::new(bin());
    hermetic(&mut c);
    c
}

/// Clears what would reach past a test (baack's variables, completion requests) and points
/// home, data, config, keyring and session bus where nothing real lives.
pub fn hermetic(c: &mut Command) {
    for var in [
        "BAACK_STORE",
        "BAACK_API_URL",
        "BAACK_TOKEN",
        "BAACK_PROFILE",
        "BAACK_LOG",
        "BAACK_OWNER",
        "BAACK_WARN_BEFORE",
        "COMPLETE",
    ] {
        c.env_remove(var);
    }
    // No test may read or write the real config, data, keyring or home. Under /proc no
    // directory can be made, even by root, so a test that forgets its own store or config
    // fails instead of writing outside its temp dir.
    c.env("HOME", "/proc/baack-test-no-home")
        .env("XDG_DATA_HOME", "/proc/baack-test-no-home")
        .env("XDG_CONFIG_HOME", "/proc/baack-test-no-home")
        .env("BAACK_CONFIG_DIR", "/proc/baack-test-no-home/config")
        .env("BAACK_KEYRING", "off")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent-baack-test-bus",
        )
        // A local zone far from UTC: zone-less timestamps must still be read as UTC.
        .env("TZ", "IST-5:30");
}

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One request event of `baack serve`'s log, read from either format.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEvent {
    pub method: String,
    /// The matched route (`/n/v1/apiclient/{urn}`), absent when none matched.
    pub route: Option<String>,
    pub path: String,
    pub status: u16,
    pub ms: f64,
    /// The URN of the client the request authenticated as.
    pub client: Option<String>,
}

/// The request event on `line`, a line of the log in the text format
/// (`TIME  INFO baack::server: request method=GET route=… path=… status=200 ms=0.1
/// client=…`) or the JSON one (`{"timestamp":…,"level":"INFO","message":"request",…}`).
pub fn request_event(line: &str) -> Option<RequestEvent> {
    let fields: std::collections::HashMap<String, String> = if line.starts_with('{') {
        let v: Value = serde_json::from_str(line).ok()?;
        if v["target"] != "baack::server" || v["message"] != "request" || v["level"] != "INFO" {
            return None;
        }
        v.as_object()?
            .iter()
            .map(|(k, v)| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), text)
            })
            .collect()
    } else {
        let mut words = line.split_whitespace();
        let _time = words.next()?;
        if (words.next()?, words.next()?, words.next()?) != ("INFO", "baack::server:", "request") {
            return None;
        }
        words
            .map(|w| {
                let (k, v) = w.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect::<Option<_>>()?
    };
    Some(RequestEvent {
        method: fields.get("method")?.clone(),
        route: fields.get("route").cloned(),
        path: fields.get("path")?.clone(),
        status: fields.get("status")?.parse().ok()?,
        ms: fields.get("ms")?.parse().ok()?,
        client: fields.get("client").cloned(),
    })
}

/// A running `baack serve` child process. Stopped (SIGTERM, then SIGKILL) on drop.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The root bearer token, when the store was created by this server.
    pub root: Option<String>,
    /// The store directory.
    pub store: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    http: Client,
    _dir: Option<TempDir>,
    /// Started with `--documented-only`.
    documented: bool,
}

/// Answer of a call: status, headers and the body parsed as JSON (`Null` when empty,
/// a JSON string holding the text when it is not JSON).
pub type Answer = (StatusCode, HeaderMap, Value);

impl Server {
    /// A server on a new temp store, rate limit off.
    pub fn start() -> Server {
        Self::start_args(&["--rate-limit", "off"])
    }

    /// `baack serve --documented-only` on a new temp store, rate limit off: only the
    /// operations Baack's own documentation has (no lists, no `clientcontext`, no `ETag`,
    /// no role `permissions`, no never-later expiry rule, `Urn` spelled so).
    pub fn start_documented() -> Server {
        let mut s = Self::start_args(&["--rate-limit", "off", "--documented-only"]);
        s.documented = true;
        s
    }

    /// A server on a new temp store with extra `serve` arguments.
    pub fn start_args(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("store");
        let mut s = Self::start_on(&store, args);
        assert!(s.root.is_some(), "a new store must announce its root token");
        s._dir = Some(dir);
        s
    }

    /// A server on the store at `store` (created if absent) with extra arguments.
    pub fn start_on(store: &Path, args: &[&str]) -> Server {
        let mut cmd = baack();
        cmd.arg("serve")
            .arg("--store")
            .arg(store)
            .args(["--listen", "127.0.0.1:0"])
            .args(args);
        let mut s = Self::spawn(cmd);
        s.store = store.to_path_buf();
        s
    }

    /// Starts `cmd` (a `baack serve` command line) and waits until it listens.
    pub fn spawn(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn baack serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut root = None;
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(t) = line
                        .strip_prefix("root bearer token (shown once, it cannot be shown again): ")
                    {
                        root = Some(t.trim().to_string());
                    }
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().to_string();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!(
                        "baack serve did not start in time; stderr: {:?}",
                        log.lock().unwrap()
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait");
                    let _ = reader.join();
                    panic!(
                        "baack serve exited ({status}) before listening; stderr: {:?}",
                        log.lock().unwrap()
                    );
                }
            }
        };
        let http = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Server {
            child: Some(child),
            base,
            root,
            store: PathBuf::new(),
            log,
            reader: Some(reader),
            http,
            _dir: None,
            documented: false,
        }
    }

    /// SIGKILLs the server at once: no shutdown, no flushing.
    pub fn kill(&self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-KILL", &c.id().to_string()])
                .status();
        }
    }

    /// POST with the root token; `None` when no answer came (the server died).
    pub fn try_post(&self, path: &str, body: Value) -> Option<Answer> {
        let req = self
            .http
            .request(Method::POST, format!("{}{path}", self.base))
            .bearer_auth(self.root.as_deref().unwrap_or_default())
            .json(&body);
        let resp = req.send().ok()?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().ok()?;
        Some((
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        ))
    }

    /// The root token (panics when this server did not create the store).
    pub fn root(&self) -> &str {
        self.root.as_deref().expect("root token")
    }

    /// Every stderr line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to 5 s for a stderr line matching `pred`; true when one came.
    pub fn wait_log(&self, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.log.lock().unwrap().iter().any(|l| pred(l)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM, waits for the exit, and returns its status; the log is complete
    /// afterwards.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server already stopped");
        let status = terminate(&mut child);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status
    }

    /// A request with a JSON body (or none), as JSON.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        finish(req.send().expect("request"))
    }

    /// A request with raw bytes and a chosen Content-Type (none when `None`).
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        finish(req.send().expect("request"))
    }

    /// A request with extra headers.
    pub fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        finish(req.send().expect("request"))
    }

    /// GET with the root token.
    pub fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(self.root()), None)
    }

    /// POST with the root token.
    pub fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(self.root()), Some(body))
    }

    /// PUT with the root token.
    pub fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(self.root()), Some(body))
    }

    /// DELETE with the root token.
    pub fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(self.root()), None)
    }

    /// The owner company's URN, from the client context of the root token (from the
    /// companies of a documented-only server, which has no client context).
    pub fn owner(&self) -> String {
        if self.documented {
            return self.company();
        }
        let (s, _, b) = self.get("/n/v1/clientcontext");
        assert_eq!(s, StatusCode::OK, "{b}");
        b["owner"]["urn"].as_str().expect("owner urn").to_string()
    }

    /// The owner company's URN, from `/n/v1/companies` (which a documented-only server
    /// keeps): the store's one company.
    pub fn company(&self) -> String {
        let (s, _, b) = self.get("/n/v1/companies");
        assert_eq!(s, StatusCode::OK, "{b}");
        b["companies"][0]["urn"]
            .as_str()
            .expect("company urn")
            .to_string()
    }

    /// Creates an API client with scope api.baack.co; returns its URN.
    pub fn create_client(&self, client_id: &str) -> String {
        let owner = self.owner();
        let (s, _, b) = self.post(
            "/n/v1/apiclient/",
            json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": client_id}),
        );
        assert_eq!(s, StatusCode::CREATED, "{b}");
        urn_field(&b).expect("client urn").to_string()
    }

    /// Creates a bearer token for `client`; returns (token URN, token).
    pub fn create_token(&self, client: &str) -> (String, String) {
        let (s, _, b) = self.post(
            "/n/v1/apiclientbearertoken/",
            json!({"apiClient": {"urn": client}}),
        );
        assert_eq!(s, StatusCode::CREATED, "{b}");
        (
            urn_field(&b).expect("token urn").to_string(),
            b["bearerToken"].as_str().expect("token").to_string(),
        )
    }

    /// Creates a role granting `permissions` to `clients`; returns its URN.
    pub fn create_role(&self, name: &str, permissions: &[&str], clients: &[&str]) -> String {
        let owner = self.owner();
        let clients: Vec<Value> = clients.iter().map(|c| json!({"urn": c})).collect();
        let (s, _, b) = self.post(
            "/n/v1/permissionrole/",
            json!({"name": name, "owner": {"urn": owner}, "permissions": permissions, "clients": clients}),
        );
        assert_eq!(s, StatusCode::CREATED, "{b}");
        urn_field(&b).expect("role urn").to_string()
    }
}

/// An object's own URN, spelled `urn` or `Urn` (as a documented-only server does).
pub fn urn_field(v: &Value) -> Option<&str> {
    v.get("urn")
        .or_else(|| v.get("Urn"))
        .and_then(Value::as_str)
}

fn finish(resp: reqwest::blocking::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

/// SIGTERM, wait up to 10 s, then SIGKILL.
fn terminate(child: &mut Child) -> ExitStatus {
    if let Ok(Some(st)) = child.try_wait() {
        return st;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().expect("wait")
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// `now + offset_ms` in Baack's spelling `YYYY-MM-DDTHH:MM:SS.mmm` (UTC, no zone).
pub fn baack_time(offset_ms: i64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let ms = now + offset_ms;
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Asserts a Baack status body: HTTP status, `httpCode` and `apiCode`.
#[track_caller]
pub fn assert_status(a: &Answer, http: u16, api_code: &str) {
    let (s, _, b) = a;
    assert_eq!(s.as_u16(), http, "status of {b}");
    assert_eq!(b["httpCode"], json!(http), "httpCode of {b}");
    assert_eq!(b["apiCode"], json!(api_code), "apiCode of {b}");
}

/// Asserts a SailPoint error body with `detail_code`, and that some cause or message
/// mentions `mention`.
#[track_caller]
pub fn assert_sailpoint(a: &Answer, http: u16, detail_code: &str, mention: &str) {
    let (s, _, b) = a;
    assert_eq!(s.as_u16(), http, "status of {b}");
    assert_eq!(b["detailCode"], json!(detail_code), "detailCode of {b}");
    let tid = b["trackingId"].as_str().unwrap_or_default();
    assert!(is_lower_hex(tid, 32), "trackingId of {b}");
    let msgs = b["messages"].as_array().expect("messages");
    assert!(!msgs.is_empty(), "messages of {b}");
    assert_eq!(msgs[0]["locale"], "en-US");
    assert_eq!(msgs[0]["localeOrigin"], "DEFAULT");
    let texts: Vec<&str> = b["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(msgs.iter())
        .filter_map(|c| c["text"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains(mention)),
        "no cause names `{mention}`: {b}"
    );
}

/// `s` is `len` lowercase hex digits.
pub fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `s` is a lowercase hyphenated UUID.
pub fn is_urn(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// A random well-formed URN that names nothing.
pub fn random_urn() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Whether `resp` holds a whole answer with a Content-Length body.
pub fn raw_answer_complete(resp: &[u8]) -> bool {
    let text = String::from_utf8_lossy(resp);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .is_some_and(|n| body.len() >= n)
}

/// Status and JSON body of a raw HTTP/1.1 answer (the body may be chunked).
pub fn parse_raw_answer(resp: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(resp);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text}"));
    let (head, rest) = text.split_once("\r\n\r\n").expect("a header block");
    // The answer itself may be chunked.
    let json_text = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut r = rest;
        while let Some((size, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            r = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    (
        status,
        serde_json::from_str(&json_text).unwrap_or(Value::Null),
    )
}

/// A temp embedded store made with `init`, and the config directory beside it.
pub struct Local {
    pub dir: tempfile::TempDir,
}

impl Local {
    pub fn new() -> Local {
        let dir = tempfile::tempdir().unwrap();
        let l = Local { dir };
        let out = l.cmd(&["init", "-q"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        l
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = baack();
        c.env("BAACK_STORE", self.store())
            .env("BAACK_CONFIG_DIR", self.config())
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs `args`, which must succeed, and returns its stdout trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}
