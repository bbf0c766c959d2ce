//! `baack oauth token`, `introspect` and `rotate-key`, the real binary on both
//! transports: where the secret comes from (file, variable, stdin; never a flag), what
//! each output mode prints, the exit codes of a refused grant and of an inactive token,
//! and that the client secret never shows in any output, even with `-v`.

use std::process::Output;

use serde_json::{Value, json};

use crate::support::*;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An OAuth client on the embedded store `l`: its id and secret (also in `dir/s.secret`).
fn local_client(l: &Local) -> (String, String, std::path::PathBuf) {
    let file = l.dir.path().join("s.secret");
    let mut args = oauth_create(&["--secret-file", file.to_str().unwrap()]);
    args.push("-q".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = l.ok(&args);
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_string();
    (id, secret, file)
}

#[test]
fn a_token_from_a_file_the_environment_or_stdin_on_the_embedded_store() {
    let l = Local::new();
    let (id, secret, file) = local_client(&l);
    let f = file.to_str().unwrap();

    let jwt = l.ok(&["oauth", "token", &id, "--secret-file", f, "-q"]);
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");

    // The variable, and the name instead of the id.
    let o = l
        .cmd(&["oauth", "token", "n", "-o", "json", "-v"])
        .env("BAACK_OAUTH_SECRET", &secret)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 60);
    assert_eq!(v["claims"]["sub"], id.as_str());
    assert_eq!(v["claims"]["scope"], "sp:scopes:all");
    assert!(!out.contains(&secret) && !err.contains(&secret), "{err}");
    assert!(err.contains("/oauth/token"), "-v shows the request: {err}");

    // Stdin, and the table of claims (which leaves the token out).
    let o = run_with_stdin(&mut l.cmd(&["oauth", "token", &id, "-o", "table"]), &secret);
    assert!(o.status.success(), "{o:?}");
    let (out, err) = text(&o);
    assert!(out.contains("sp:scopes:all") && out.contains(&id), "{out}");
    assert!(!out.contains("eyJ"), "the table holds no token: {out}");
    assert!(err.contains("-q prints it"), "{err}");

    // A wrong secret is exit 4 naming the fix; a scope the client lacks is exit 5.
    let o = run_with_stdin(
        &mut l.cmd(&["oauth", "token", &id]),
        "0".repeat(64).as_str(),
    );
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert!(text(&o).1.contains("invalid_client") && text(&o).1.contains("rotate-secret"));
    let o = l
        .cmd(&["oauth", "token", &id, "--secret-file", f, "--scope", "nope"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    assert!(text(&o).1.contains("--scope"), "{o:?}");
    // No secret at all: stdin is closed and empty.
    let o = l.run(&["oauth", "token", &id]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(text(&o).1.contains("BAACK_OAUTH_SECRET"), "{o:?}");
    // A secret is never a flag.
    let o = l.run(&["oauth", "token", &id, "--secret", &secret]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

#[test]
fn introspection_follows_the_client_and_the_keys_on_the_embedded_store() {
    let l = Local::new();
    let (id, _, file) = local_client(&l);
    let f = file.to_str().unwrap();
    let jwt = l.ok(&["oauth", "token", &id, "--secret-file", f, "-q"]);
    let check = |args: &[&str]| {
        let mut a = vec!["oauth", "introspect", "-"];
        a.extend_from_slice(args);
        run_with_stdin(&mut l.cmd(&a), &jwt)
    };

    let o = check(&["-o", "json"]);
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], id.as_str());
    assert_eq!(v["token_type"], "bearer");
    assert!(v.get("reason").is_none(), "{v}");

    // A new signing key: the old token still verifies (its key stays published), the
    // new tokens carry the new kid.
    let old_kid = jwt_kid(&jwt);
    let new_kid = l.ok(&["oauth", "rotate-key", "-q"]);
    assert_ne!(old_kid, new_kid);
    assert!(check(&["-q"]).status.success());
    let jwt2 = l.ok(&["oauth", "token", &id, "--secret-file", f, "-q"]);
    assert_eq!(jwt_kid(&jwt2), new_kid);
    let keys: Value = serde_json::from_str(&l.ok(&["oauth", "rotate-key", "-o", "json"])).unwrap();
    assert_eq!(keys["published"].as_array().unwrap().len(), 3, "{keys}");

    // Disabled, then deleted: exit 4 with the reason, the claims still shown.
    l.ok(&["oauth", "update", &id, "--set", "enabled=false"]);
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    let (out, err) = text(&o);
    assert!(out.contains("disabled") && out.contains(&id), "{out}");
    assert!(err.contains("not active"), "{err}");
    l.ok(&["oauth", "delete", &id, "--yes"]);
    let o = check(&["-o", "json"]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["active"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("no longer exists"),
        "{v}"
    );

    // A changed signature, and what is not a JWT at all.
    let mut forged = jwt.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let o = run_with_stdin(&mut l.cmd(&["oauth", "introspect", "-"]), &forged);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert!(text(&o).0.contains("not validly signed"), "{o:?}");
    let o = run_with_stdin(
        &mut l.cmd(&["oauth", "introspect", "-"]),
        "baack_token_value",
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(text(&o).1.contains("token whois"), "{o:?}");
}

fn jwt_kid(jwt: &str) -> String {
    use base64::Engine;
    let h = jwt.split('.').next().unwrap();
    let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(h)
        .unwrap();
    let v: Value = serde_json::from_slice(&h).unwrap();
    v["kid"].as_str().unwrap().to_string()
}

#[test]
fn token_and_introspection_against_a_server() {
    let srv = Server::start_args(&["--rate-limit", "off"]);
    let (s, _, b) = srv.post(
        "/v3/oauth-clients",
        json!({"name": "svc", "description": "d", "accessTokenValiditySeconds": 600,
               "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "OFFLINE", "enabled": true}),
    );
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let secret = b["secret"].as_str().unwrap().to_string();

    // Logged in with no credential but the client's own: the token endpoint needs none.
    let mut c = baack();
    c.env("BAACK_API_URL", &srv.base)
        .env("BAACK_OAUTH_SECRET", &secret)
        .args(["oauth", "token", &id, "-q"]);
    let jwt = ok_out(c).trim().to_string();
    assert_eq!(jwt.split('.').count(), 3);
    // The token works on the management API.
    let (s, _, _) = srv.call_with(
        reqwest::Method::GET,
        "/v3/oauth-clients",
        Some(&jwt),
        &[],
        None,
    );
    assert_eq!(s, reqwest::StatusCode::OK);

    // Offline, with the profile's token reading the client's state.
    let o = run_with_stdin(
        &mut remote(&srv, &["oauth", "introspect", "-", "-o", "json"]),
        &jwt,
    );
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["iss"], srv.base.as_str());

    // The server's RFC 7662 endpoint, as the client itself.
    let path = std::env::temp_dir().join(format!("baack-at-{}", std::process::id()));
    std::fs::write(&path, &jwt).unwrap();
    let mut c = baack();
    c.env("BAACK_API_URL", &srv.base)
        .env("BAACK_OAUTH_SECRET", &secret)
        .args([
            "oauth",
            "introspect",
            path.to_str().unwrap(),
            "--client-id",
            &id,
            "-o",
            "json",
        ]);
    let v: Value = serde_json::from_str(&ok_out(c)).unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], id.as_str());
    // Stdin holds the token, so the secret must come from elsewhere.
    let o = run_with_stdin(
        &mut remote(&srv, &["oauth", "introspect", "-", "--client-id", &id]),
        &jwt,
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let _ = std::fs::remove_file(&path);

    // The key never leaves the store.
    let o = remote(&srv, &["oauth", "rotate-key"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(text(&o).1.contains("--store"), "{o:?}");
}
