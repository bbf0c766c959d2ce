//! Arbitrary bytes as store files: `meta.json`, object files and index pointers of a real
//! store made by `Store::init`, then `Store::open` and every read. Errors are fine; a panic
//! is a bug. Whatever a read returns must be the record asked for and refer by URNs: URNs
//! become file names, so anything else would make the next write touch the wrong file.
//!
//! Input: chunks separated by the bytes `FF FE` (never inside UTF-8 text). Each chunk is a
//! selector byte (which file, modulo the list below) and the file's new content. For the
//! "named" selectors the content's first line is a file name and the rest the content.
//! `{ROOT}`, `{COMPANY}`, `{CLIENT}`, `{TOKEN}`, `{ROLE}`, `{OAUTH}`, `{DIGEST}` in a
//! content are replaced by the template store's values, so seeds stay valid across runs.
//! Index pointers (selectors 7 to 10) are symlinks, as the store writes them: a text
//! content becomes the link's target, anything else a plain file in its place.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use baack::clock::SystemClock;
use baack::model::{ClientInput, RoleInput, TokenInput, parse_urn};
use baack::wire::oauth::{parse_filters, parse_oauth};

// The representations, rendered as the server renders them.
fn company_json(c: &baack::model::Company) -> serde_json::Value {
    serde_json::to_value(baack::wire::company::Company::from(c)).unwrap()
}
fn client_json(c: &baack::model::ApiClient) -> serde_json::Value {
    serde_json::to_value(baack::wire::client::ApiClient::from(c)).unwrap()
}
fn token_json(t: &baack::model::BearerToken, secret: Option<&str>) -> serde_json::Value {
    match secret {
        Some(s) => serde_json::to_value(baack::wire::token::BearerTokenCreated::new(t, s)),
        None => serde_json::to_value(baack::wire::token::BearerToken::from(t)),
    }
    .unwrap()
}
fn role_json(r: &baack::model::Role) -> serde_json::Value {
    serde_json::to_value(baack::wire::role::PermissionRole::from(r)).unwrap()
}
fn oauth_json(o: &baack::model::OAuthClient) -> serde_json::Value {
    serde_json::to_value(baack::wire::oauth::OAuthClient::from(o)).unwrap()
}
use baack::secret::digest;
use baack::service::{PageQuery, Service};
use baack::store::Store;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

struct Template {
    _dir: tempfile::TempDir,
    path: PathBuf,
    root: String,
    company: String,
    client: String,
    token_urn: String,
    token: String,
    role: String,
    role_name: String,
    oauth: String,
}

/// A new directory on a tmpfs when there is one. libFuzzer ends the process with `exit`,
/// so statics are never dropped: the directories stay, named `baack-fuzz-*` to be found.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("baack-fuzz-")
        .tempdir_in(base)
        .unwrap()
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch();
        let path = dir.path().join("store");
        let boot = Store::init(&path, "Acme").unwrap();
        let svc = Service::new(Store::open(&path).unwrap(), Arc::new(SystemClock));
        let me = svc.root_caller().unwrap();
        let owner = json!({"urn": boot.company.urn});
        let client = svc
            .create_client(
                &me,
                &ClientInput::parse(
                    &json!({"owner": owner, "scope": "api.baack.co", "clientID": "second"}),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        svc.create_client(
            &me,
            &ClientInput::parse(
                &json!({"owner": owner, "scope": "webhook.baack.co", "clientID": "hook"}),
                true,
            )
            .unwrap(),
        )
        .unwrap();
        let (tok, token) = svc
            .create_token(
                &me,
                &TokenInput::parse(
                    &json!({"apiClient": {"urn": client.urn}, "expirationTimestamp": "2999-01-01T00:00:00.000"}),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        let role = svc
            .create_role(
                &me,
                &RoleInput::parse(
                    &json!({"owner": owner, "name": "Readers", "permissions": ["READ"],
                            "clients": [{"urn": client.urn}], "identities": [{"Urn": client.urn}]}),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        let (oauth, _) = svc
            .create_oauth(
                &me,
                parse_oauth(&json!({"name": "o", "description": "d", "accessTokenValiditySeconds": 60,
                        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                        "redirectUris": ["http://localhost:1/cb"],
                        "accessType": "ONLINE", "enabled": true}))
                .unwrap(),
            )
            .unwrap();
        Template {
            path,
            root: boot.root_client.urn,
            company: boot.company.urn,
            client: client.urn,
            token_urn: tok.urn,
            token,
            role: role.urn,
            role_name: role.name,
            oauth: oauth.id,
            _dir: dir,
        }
    })
}

/// Copies one entry as it is: a symlink (an index pointer) as a symlink, a file as a file.
fn copy_entry(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            copy_entry(&e.path(), &target)?;
        }
    }
    Ok(())
}

fn substitute(t: &Template, content: &[u8]) -> Vec<u8> {
    let Ok(s) = std::str::from_utf8(content) else {
        return content.to_vec();
    };
    if !s.contains('{') {
        return content.to_vec();
    }
    s.replace("{ROOT}", &t.root)
        .replace("{COMPANY}", &t.company)
        .replace("{CLIENT}", &t.client)
        .replace("{TOKEN}", &t.token_urn)
        .replace("{ROLE}", &t.role)
        .replace("{OAUTH}", &t.oauth)
        .replace("{DIGEST}", &digest(&t.token))
        .into_bytes()
}

/// A file name the fuzzer chose: one path component, or nothing.
fn component(name: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(name).ok()?;
    let ok = !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0']) && s.len() < 200;
    ok.then_some(s)
}

fn split_chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 4 {
        match rest.windows(2).position(|w| w == [0xFF, 0xFE]) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 2..];
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// Writes one chunk; gives the file it replaced, to be put back after the run.
fn write_chunk(t: &Template, store: &Path, chunk: &[u8]) -> Option<PathBuf> {
    let (&sel, content) = chunk.split_first()?;
    let pointer = (7..=10).contains(&(sel % 16));
    let (path, content): (PathBuf, &[u8]) = match sel % 16 {
        0 => (store.join("meta.json"), content),
        1 => (store.join(format!("company/{}.json", t.company)), content),
        2 => (store.join(format!("clients/{}.json", t.root)), content),
        3 => (store.join(format!("clients/{}.json", t.client)), content),
        4 => (store.join(format!("tokens/{}.json", t.token_urn)), content),
        5 => (store.join(format!("roles/{}.json", t.role)), content),
        6 => (store.join(format!("oauth/{}.json", t.oauth)), content),
        7 => (
            store.join(format!("index/client-id/{}", digest("root"))),
            content,
        ),
        8 => (
            store.join(format!("index/client-id/{}", digest("second"))),
            content,
        ),
        9 => (
            store.join(format!("index/token-digest/{}", digest(&t.token))),
            content,
        ),
        10 => (
            store.join(format!("index/role-name/{}", digest(&t.role_name))),
            content,
        ),
        sel => {
            // Named: the first line is a file name in one of the folders.
            let nl = content
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(content.len());
            let name = component(&content[..nl])?;
            let body = content.get(nl + 1..).unwrap_or_default();
            let dir = match sel {
                11 => "clients".to_string(),
                12 => "tokens".to_string(),
                13 => "roles".to_string(),
                14 => "oauth".to_string(),
                _ => format!("index/client-roles/{}", t.client),
            };
            let name = if sel == 15 {
                name.to_string()
            } else {
                format!("{name}.json")
            };
            (store.join(dir).join(name), body)
        }
    };
    // Replace what is there (never writing through a symlink, which would land elsewhere).
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return None,
        _ => {}
    }
    let content = substitute(t, content);
    // Index pointers are symlinks whose target is the URN: a text content becomes one; a
    // content that cannot be a link target (not UTF-8, empty, NUL) a plain file.
    let link = std::str::from_utf8(&content)
        .ok()
        .filter(|s| pointer && !s.is_empty() && !s.contains('\0'));
    // Whether or not it is written (a link target may be too long), it is put back after.
    let _ = match link {
        Some(target) => std::os::unix::fs::symlink(target, &path),
        None => std::fs::write(&path, &content),
    };
    Some(path)
}

/// Puts the files a run wrote back as the template has them.
fn restore(t: &Template, store: &Path, written: &[PathBuf]) {
    for path in written.iter().rev() {
        let rel = path.strip_prefix(store).unwrap();
        if let Err(e) = std::fs::remove_file(path) {
            // The same file written twice is put back at its first turn.
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        }
        let original = t.path.join(rel);
        if std::fs::symlink_metadata(&original).is_ok() {
            copy_entry(&original, path).unwrap();
        }
    }
}

fn is_urn(s: &str) -> bool {
    parse_urn(s).as_deref() == Some(s)
}

fn reads(t: &Template, store: &Store) {
    if let Ok(c) = store.company() {
        assert_eq!(c.urn, store.meta().company);
        let _ = company_json(&c);
    }
    for urn in [&t.root, &t.client, &t.company, &t.token_urn, &t.role] {
        // Whatever a read returns is the record it was asked for, and refers by URNs.
        if let Ok(Some(c)) = store.client(urn) {
            assert!(&c.urn == urn && is_urn(&c.owner));
            let _ = client_json(&c);
        }
        if let Ok(Some(tok)) = store.token(urn) {
            assert!(&tok.urn == urn && is_urn(&tok.client));
        }
        if let Ok(Some(r)) = store.role(urn) {
            assert!(&r.urn == urn && r.clients.iter().all(|c| is_urn(c)));
        }
        let _ = store.client_token_urns(urn);
        let _ = store.roles_of_client(urn);
        let _ = store.tokens(Some(urn), None, 100);
    }
    for id in ["root", "second", "hook", ""] {
        if let Ok(Some(c)) = store.client_by_id(id) {
            assert!(c.client_id == id && is_urn(&c.urn));
        }
    }
    if let Ok(Some(tok)) = store.token(&t.token_urn) {
        let _ = token_json(&tok, None);
    }
    if let Ok(Some(tok)) = store.token_by_digest(&digest(&t.token)) {
        assert!(tok.digest == digest(&t.token) && is_urn(&tok.urn) && is_urn(&tok.client));
        let _ = token_json(&tok, Some(&t.token));
    }
    if let Ok((toks, _)) = store.tokens(None, None, 100) {
        for tok in toks {
            let _ = token_json(&tok, None);
        }
    }
    let _ = store.clients(None, 100);
    let _ = store.clients(Some(&t.root), 1);
    let _ = store.clients(Some(""), 2);
    if let Ok(Some(r)) = store.role(&t.role) {
        let _ = role_json(&r);
    }
    let _ = store.role_by_name(&t.role_name);
    if let Ok((clients, _)) = store.clients(None, 100) {
        for c in clients {
            assert!(is_urn(&c.urn) && is_urn(&c.owner));
        }
    }
    if let Ok((roles, _)) = store.roles(None, 100) {
        for r in roles {
            assert!(is_urn(&r.urn) && r.clients.iter().all(|c| is_urn(c)));
            let _ = role_json(&r);
        }
    }
    if let Ok(Some(o)) = store.oauth(&t.oauth) {
        let _ = oauth_json(&o);
    }
    if let Ok(all) = store.oauth_all() {
        for o in all {
            let _ = oauth_json(&o);
        }
    }
}

fn service_reads(t: &Template, store: Store) {
    let svc = Service::new(store, Arc::new(SystemClock));
    let _ = svc.authenticate(Some(&t.token));
    let Ok(me) = svc.root_caller() else {
        return;
    };
    let q = PageQuery {
        after: None,
        limit: 100,
    };
    let _ = svc.client_context(&me);
    let _ = svc.companies(&me);
    let _ = svc.company(&me, &t.company);
    let _ = svc.list_clients(&me, None, &q);
    let _ = svc.list_clients(&me, Some("second"), &q);
    let _ = svc.list_tokens(&me, Some(&t.client), &q);
    let _ = svc.list_roles(&me, None, &q);
    let _ = svc.list_roles(&me, Some(&t.role_name), &q);
    for (filters, offset, limit) in [
        (None, 0, 250),
        (Some("lastUsed isnull"), 1, 2),
        (Some("lastUsed le 2030-01-01T00:00:00Z"), 0, 250),
        (
            Some("not lastUsed isnull and lastUsed gt \"2020-01-01T00:00:00Z\" or lastUsed pr"),
            0,
            250,
        ),
    ] {
        if let Ok(f) = parse_filters(filters) {
            let _ = svc.list_oauth(&me, &f, offset, limit);
        }
    }
    let _ = svc.get_client(&me, &t.client);
    let _ = svc.get_token(&me, &t.token_urn);
    let _ = svc.get_role(&me, &t.role);
    let _ = svc.get_oauth(&me, &t.oauth);
}

/// The store the runs use: a copy of the template, put back after every run (copying
/// the whole store for each run would be most of the work).
fn work() -> &'static Path {
    static W: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &W.get_or_init(|| {
        let dir = scratch();
        let path = dir.path().join("store");
        copy_tree(&template().path, &path).unwrap();
        (dir, path)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let t = template();
    let path = work();
    let written: Vec<PathBuf> = split_chunks(data)
        .into_iter()
        .filter_map(|chunk| write_chunk(t, path, chunk))
        .collect();
    if let Ok(store) = Store::open(path) {
        reads(t, &store);
        service_reads(t, store);
    }
    restore(t, path, &written);
});
