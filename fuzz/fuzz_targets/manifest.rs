//! Arbitrary bytes as an access manifest (`baack plan -f`): `manifest::parse` never
//! panics, every refusal is placed in the file (`m.yaml:…`), and what it accepts keeps the
//! rules the plan relies on: names unique per kind, every reference to a declared client,
//! each secret file named once, and minRemaining under expiresIn.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use baack::Error;
use baack::access::manifest::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, "m.yaml", Path::new("/w")) {
        Err(Error::Manifest { at, message }) => {
            assert!(at.starts_with("m.yaml"), "{at}");
            assert!(!message.is_empty());
        }
        Err(e) => panic!("a manifest error of another kind: {e:?}"),
        Ok(d) => {
            let clients: HashSet<&str> = d.clients.iter().map(|c| c.client_id.as_str()).collect();
            assert_eq!(clients.len(), d.clients.len(), "duplicate clients");
            let roles: HashSet<&str> = d.roles.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(roles.len(), d.roles.len(), "duplicate roles");
            for r in &d.roles {
                assert!(r.clients.iter().all(|c| clients.contains(c.as_str())));
            }
            let oauth: HashSet<&str> = d.oauth.iter().map(|o| o.name.as_str()).collect();
            assert_eq!(oauth.len(), d.oauth.len(), "duplicate OAuth clients");
            let mut files = HashSet::new();
            for t in &d.tokens {
                assert!(clients.contains(t.client.as_str()));
                assert!(files.insert(t.secret_file.clone()), "a secret file twice");
                if let (Some(e), Some(m)) = (t.expires_in, t.min_remaining) {
                    assert!(m < e);
                }
            }
            for o in &d.oauth {
                if let Some(f) = &o.secret_file {
                    assert!(files.insert(f.clone()), "a secret file twice");
                }
            }
        }
    }
});
