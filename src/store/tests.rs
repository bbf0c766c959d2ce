//! The store's unit tests: layout, recovery, memberships, caches and snapshots.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::layout::sha;
use super::listings::{LISTING_CACHED_FROM, sorted_names};
use super::{Bootstrap, FORMAT, Meta, Store, cache};
use crate::error::Error;
use crate::model::{ApiClient, BearerToken, ROOT_CLIENT_ID, Role, Scope, new_urn, skeleton};
use crate::secret;

/// A new store in a temp dir.
fn fixture() -> (tempfile::TempDir, Bootstrap, Store) {
    let dir = tempfile::tempdir().unwrap();
    let b = Store::init(dir.path(), "Acme").unwrap();
    let s = Store::open(dir.path()).unwrap();
    (dir, b, s)
}

fn client(client_id: &str, owner: &str) -> ApiClient {
    ApiClient {
        created: None,
        last_used: None,
        rev: None,
        urn: new_urn(),
        client_id: client_id.into(),
        scope: Scope::Api,
        owner: owner.into(),
    }
}

fn token(client: &ApiClient, value: &str) -> BearerToken {
    BearerToken {
        last_used: None,
        rev: None,
        retire: None,
        urn: new_urn(),
        client: client.urn.clone(),
        digest: sha(value),
        shown: format!("{value}..."),
        expires: None,
        created: 0,
        description: None,
    }
}

#[test]
fn a_store_made_on_first_use_has_its_root_client_and_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let (s, created) = Store::open_or_init_tokenless(&root, "Acme").unwrap();
    assert!(created);
    assert!(s.client_by_id(ROOT_CLIENT_ID).unwrap().is_some());
    assert!(s.tokens(None, None, 10).unwrap().0.is_empty());
    let (_, again) = Store::open_or_init_tokenless(&root, "Acme").unwrap();
    assert!(!again, "an existing store is opened, not made again");
}

#[test]
fn opening_where_there_is_no_store_names_the_init_that_makes_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("no store");
    let e = Store::open(&root).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
    let want = format!("baack init --store '{}'", root.display());
    assert!(e.to_string().contains(&want), "{e}");
    assert!(!root.exists());
}

#[test]
fn init_creates_a_private_store_with_root_client_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let b = Store::init(&root, "Acme").unwrap();
    let s = Store::open(&root).unwrap();
    assert_eq!(s.company().unwrap().name, "Acme");
    let rc = s.client_by_id("root").unwrap().unwrap();
    assert_eq!(rc.urn, b.root_client.urn);
    let t = s
        .token_by_digest(&secret::digest(&b.token))
        .unwrap()
        .unwrap();
    assert_eq!(t.client, rc.urn);
    let mode = fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let mode = fs::metadata(root.join("meta.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(matches!(
        Store::init(&root, "Again"),
        Err(Error::StoreExists { .. })
    ));
    assert_eq!(s.company().unwrap().name, "Acme");
}

#[test]
fn init_refuses_a_foreign_directory() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let e = Store::init(dir.path(), "Acme").unwrap_err();
    assert!(e.to_string().contains("notes.txt"), "{e}");
    assert_eq!(fs::read(dir.path().join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn newer_and_corrupt_meta_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path(), "Acme").unwrap();
    let meta = dir.path().join("meta.json");
    fs::write(&meta, br#"{"format": 99}"#).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::StoreTooNew { found: 99, .. })
    ));
    fs::write(&meta, b"{\"format\": 1, \"comp").unwrap();
    let e = Store::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("meta.json"), "{e}");
}

#[test]
fn stale_indexes_are_ignored_and_pages_are_ordered() {
    let dir = tempfile::tempdir().unwrap();
    Store::init(dir.path(), "Acme").unwrap();
    let s = Store::open(dir.path()).unwrap();
    // An index left by a crash before its object was written.
    s.write(|t| t.put_pointer(&t.idx("client-id", &sha("ghost")), "0000"))
        .unwrap();
    assert_eq!(s.client_by_id("ghost").unwrap(), None);
    let owner = s.meta().company.clone();
    s.write(|t| {
        for i in 0..5 {
            let c = ApiClient {
                created: None,
                last_used: None,
                rev: None,
                urn: new_urn(),
                client_id: format!("c{i}"),
                scope: Scope::Api,
                owner: owner.clone(),
            };
            t.put_client(&c, None)?;
        }
        Ok(())
    })
    .unwrap();
    let (first, more) = s.clients(None, 4).unwrap();
    assert!(more);
    let (rest, more) = s.clients(Some(&first[3].urn), 4).unwrap();
    assert!(!more);
    assert_eq!(first.len() + rest.len(), 6);
}

#[test]
fn interrupted_client_delete_is_finished_by_the_next_writer() {
    let (dir, b, s) = fixture();
    let c = client("doomed", &b.company.urn);
    let tok = token(&c, "x");
    s.write(|t| {
        t.put_client(&c, None)?;
        t.put_token(&tok)?;
        // Simulate a crash right after the commit point of a delete.
        t.put_bytes(
            &t.root.join("pending").join(&c.urn),
            b"delete-client".to_vec(),
        )?;
        t.remove(&t.obj("clients", &c.urn))
    })
    .unwrap();
    assert!(s.token(&tok.urn).unwrap().is_some());
    s.write(|_| Ok(())).unwrap();
    assert!(s.token(&tok.urn).unwrap().is_none());
    assert!(s.token_by_digest(&tok.digest).unwrap().is_none());
    assert!(
        sorted_names(&dir.path().join("pending"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_batch_that_died_unsynced_is_repaired_by_the_next_writer() {
    let (dir, b, s) = fixture();
    // A crash mid-batch: the marker is durable, an object landed, its indexes did not.
    let c = client("orphan", &b.company.urn);
    let tok = token(&c, "t");
    fs::write(dir.path().join("dirty"), b"").unwrap();
    fs::write(
        dir.path().join("clients").join(format!("{}.json", c.urn)),
        serde_json::to_vec(&c).unwrap(),
    )
    .unwrap();
    fs::write(
        dir.path().join("tokens").join(format!("{}.json", tok.urn)),
        serde_json::to_vec(&tok).unwrap(),
    )
    .unwrap();
    assert_eq!(s.client_by_id("orphan").unwrap(), None);
    s.write(|_| Ok(())).unwrap();
    assert_eq!(s.client_by_id("orphan").unwrap(), Some(c.clone()));
    assert_eq!(s.token_by_digest(&tok.digest).unwrap(), Some(tok.clone()));
    assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![tok.urn.clone()]);
    assert!(!dir.path().join("dirty").exists());
}

#[test]
fn memberships_are_logs_that_still_read_and_shrink_the_folders_of_old_stores() {
    let (dir, b, s) = fixture();
    let c = client("member", &b.company.urn);
    let (old, new) = (token(&c, "old"), token(&c, "new"));
    s.write(|t| {
        t.put_client(&c, None)?;
        t.put_token(&new)?;
        t.put(&t.obj("tokens", &old.urn), &old)
    })
    .unwrap();
    // A membership as stores before format 3 kept it: an empty file in a folder.
    let legacy = dir.path().join("index/client-tokens").join(&c.urn);
    fs::create_dir(&legacy).unwrap();
    fs::write(legacy.join(&old.urn), b"").unwrap();
    let log = dir
        .path()
        .join(format!("index/client-tokens/{}.log", c.urn));
    assert_eq!(
        fs::read(&log).unwrap(),
        format!("+{}\n", new.urn).as_bytes()
    );
    let mut both = vec![old.urn.clone(), new.urn.clone()];
    both.sort();
    assert_eq!(s.client_token_urns(&c.urn).unwrap(), both);
    assert_eq!(s.tokens(Some(&c.urn), None, 10).unwrap().0.len(), 2);
    // Removing the old member empties and removes its folder.
    s.write(|t| t.delete_token(&old)).unwrap();
    assert!(!legacy.exists());
    assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![new.urn.clone()]);
    // Churn is compacted away: the log stays near what it lists.
    for i in 0..600 {
        let t = token(&c, &format!("churn{i}"));
        s.write(|txn| {
            txn.put_token(&t)?;
            txn.delete_token(&t)
        })
        .unwrap();
    }
    let lines = fs::read(&log)
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    // One member: compaction leaves one line, and a check comes every ~430 appends.
    assert!(lines < 2 + 64 + 430, "{lines} lines for one member");
    assert_eq!(s.client_token_urns(&c.urn).unwrap(), vec![new.urn.clone()]);
    // A repair adds what is missing, once.
    fs::remove_file(&log).unwrap();
    fs::write(dir.path().join("dirty"), b"").unwrap();
    s.write(|_| Ok(())).unwrap();
    fs::write(dir.path().join("dirty"), b"").unwrap();
    s.write(|_| Ok(())).unwrap();
    assert_eq!(
        fs::read(&log).unwrap(),
        format!("+{}\n", new.urn).as_bytes()
    );
    // Deleting the client leaves no membership behind.
    s.write(|t| t.delete_client(&c)).unwrap();
    assert!(!log.exists() && !legacy.exists());
}

#[test]
fn group_commit_batches_concurrent_writers_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let b = Store::init(dir.path(), "Acme").unwrap();
    let s = Store::open(dir.path())
        .unwrap()
        .with_group_commit()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let writes: Vec<_> = (0..320)
        .map(|i| {
            let (s2, owner) = (s.clone(), b.company.urn.clone());
            let c = ApiClient {
                created: None,
                last_used: None,
                rev: None,
                urn: new_urn(),
                client_id: format!("c{i}"),
                scope: Scope::Api,
                owner,
            };
            let work = move || s2.write(|txn| txn.put_client(&c, None));
            rt.spawn(s.committer().unwrap().submit(work))
        })
        .collect();
    // A write from another thread meanwhile runs at once, under the same lock.
    let other = ApiClient {
        created: None,
        last_used: None,
        rev: None,
        urn: new_urn(),
        client_id: "other".into(),
        scope: Scope::Api,
        owner: b.company.urn.clone(),
    };
    s.write(|txn| txn.put_client(&other, None)).unwrap();
    for w in writes {
        rt.block_on(w).unwrap().unwrap();
    }
    let batches = s.committer().unwrap().state().batches;
    assert!(batches < 320, "{batches} syncs for 320 writes: no batching");
    assert_eq!(s.clients(None, 1000).unwrap().0.len(), 320 + 2);
    // Idle again: the lock and the marker are released for other processes, soon
    // after the last write, or at once when the store is dropped.
    let t = Instant::now();
    while dir.path().join("dirty").exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!dir.path().join("dirty").exists());
    let plain = Store::open(dir.path()).unwrap();
    plain.write(|_| Ok(())).unwrap();
    let s2 = s.clone();
    let last = s
        .committer()
        .unwrap()
        .submit(move || s2.write(|txn| txn.put_client(&client("last", &b.company.urn), None)));
    rt.block_on(last).unwrap();
    drop(s);
    assert!(!dir.path().join("dirty").exists());
}

#[test]
fn a_cached_listing_is_dropped_when_the_directory_changes() {
    let dir = tempfile::tempdir().unwrap();
    let b = Store::init(dir.path(), "Acme").unwrap();
    let s = Store::open(dir.path()).unwrap();
    let add = |i: usize| {
        let c = ApiClient {
            created: None,
            last_used: None,
            rev: None,
            urn: new_urn(),
            client_id: format!("c{i}"),
            scope: Scope::Api,
            owner: b.company.urn.clone(),
        };
        s.write_bulk(|t| t.put_client(&c, None)).unwrap();
    };
    for i in 0..LISTING_CACHED_FROM {
        add(i);
    }
    // Make the directory look settled, so its listing is cached.
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    File::open(dir.path().join("clients"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let n = LISTING_CACHED_FROM + 1;
    assert_eq!(s.clients(None, usize::MAX).unwrap().0.len(), n);
    add(9999);
    assert_eq!(s.clients(None, usize::MAX).unwrap().0.len(), n + 1);
}

#[test]
fn unknown_token_digests_do_not_evict_the_read_cache() {
    let (dir, b, _) = fixture();
    let server = Store::open(dir.path()).unwrap().with_read_cache().unwrap();
    let rc = b.root_client.clone();
    let real = secret::digest(&b.token);
    assert_eq!(
        server.token_by_digest(&real).unwrap().unwrap().client,
        rc.urn
    );
    assert_eq!(server.client(&rc.urn).unwrap(), Some(rc.clone()));
    // Change the client's file behind the counter's back: a cached read still shows
    // the old one, so what the cache holds can be told from what the disk holds.
    let path = dir.path().join("clients").join(format!("{}.json", rc.urn));
    let mut edited = rc.clone();
    edited.client_id = "edited".into();
    fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
    // More made-up digests than the cache holds entries.
    for i in 0..=cache::MAX_ENTRIES {
        assert!(
            server
                .token_by_digest(&sha(&format!("bogus{i}")))
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(server.client(&rc.urn).unwrap(), Some(rc));
    assert!(server.token_by_digest(&real).unwrap().is_some());
}

#[test]
fn a_cached_read_never_hides_a_write_by_this_or_another_process() {
    let (dir, b, _) = fixture();
    let server = Store::open(dir.path())
        .unwrap()
        .with_group_commit()
        .unwrap()
        .with_read_cache()
        .unwrap();
    // Another process: its own handle, no cache, no group commit.
    let cli = Store::open(dir.path()).unwrap();
    let rc = b.root_client.clone();
    let digest = sha("tok");
    assert!(server.token_by_digest(&digest).unwrap().is_none());
    assert!(server.client_token_urns(&rc.urn).unwrap().len() == 1);

    // A write by the other process is seen at once, though the misses were cached.
    let t = token(&rc, "tok");
    cli.write(|x| x.put_token(&t)).unwrap();
    assert_eq!(server.token_by_digest(&digest).unwrap(), Some(t.clone()));
    assert_eq!(server.client_token_urns(&rc.urn).unwrap().len(), 2);

    // So is our own, which keeps the rest of the cache.
    let mut renamed = rc.clone();
    renamed.client_id = "root2".into();
    server.write(|x| x.put_client(&renamed, Some(&rc))).unwrap();
    assert_eq!(server.client(&rc.urn).unwrap(), Some(renamed.clone()));
    assert!(server.client_by_id("root").unwrap().is_none());
    assert_eq!(server.client_by_id("root2").unwrap(), Some(renamed));
    server.write(|x| x.delete_token(&t)).unwrap();
    assert!(server.token_by_digest(&digest).unwrap().is_none());
    assert_eq!(server.client_token_urns(&rc.urn).unwrap().len(), 1);

    // A write that changes a file behind the counter's back (as an older build
    // would) is what the format bump keeps out; with the counter moved it is seen.
    let path = dir.path().join("clients").join(format!("{}.json", rc.urn));
    let mut edited = rc.clone();
    edited.client_id = "edited".into();
    fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
    cli.write(|_| Ok(())).unwrap();
    assert_eq!(server.client(&rc.urn).unwrap(), Some(edited));
}

#[test]
fn the_first_write_indexes_the_skeletons_of_a_format_3_store() {
    let (dir, b, s) = fixture();
    let android = client("Android", &b.company.urn);
    // Look-alikes that an older build let in side by side: the first stays indexed.
    let cyrillic = client("\u{410}ndroid", &b.company.urn);
    s.write(|t| t.put_client(&android, None)).unwrap();
    s.write(|t| t.put_client(&cyrillic, None)).unwrap();
    let role = Role {
        rev: None,
        urn: new_urn(),
        name: "Auditors".into(),
        owner: b.company.urn.clone(),
        identities: vec![],
        clients: vec![],
        permissions: vec![],
        version: 1,
    };
    s.write(|t| t.put_role(&role, None)).unwrap();
    // As a format-3 store has it: no skeleton indexes at all.
    for d in ["index/client-skeleton", "index/role-skeleton"] {
        fs::remove_dir_all(dir.path().join(d)).unwrap();
    }
    let meta = dir.path().join("meta.json");
    let mut m: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    m.format = 3;
    fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();

    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.client_by_skeleton(&skeleton("Android")).unwrap(), None);
    s.write(|_| Ok(())).unwrap();
    let now: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    assert_eq!(now.format, FORMAT);
    let found = s.client_by_skeleton(&skeleton("Android")).unwrap().unwrap();
    assert!(found == android || found == cyrillic, "{found:?}");
    assert_eq!(
        s.client_by_skeleton(&skeleton(ROOT_CLIENT_ID))
            .unwrap()
            .map(|c| c.urn),
        Some(b.root_client.urn.clone())
    );
    assert_eq!(
        s.role_by_skeleton(&skeleton("Audit\u{43e}rs")).unwrap(),
        Some(role.clone())
    );

    // A rename moves the entry; a delete removes it.
    let mut renamed = b.root_client.clone();
    renamed.client_id = "admin".into();
    s.write(|t| t.put_client(&renamed, Some(&b.root_client)))
        .unwrap();
    assert_eq!(
        s.client_by_skeleton(&skeleton(ROOT_CLIENT_ID)).unwrap(),
        None
    );
    assert_eq!(
        s.client_by_skeleton(&skeleton("admin")).unwrap(),
        Some(renamed)
    );
    s.write(|t| t.delete_role(&role)).unwrap();
    assert_eq!(s.role_by_skeleton(&skeleton("Auditors")).unwrap(), None);
}

#[test]
fn the_first_write_upgrades_a_format_1_store() {
    let (dir, _, _) = fixture();
    let meta = dir.path().join("meta.json");
    let mut m: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    m.format = 1;
    fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.meta().format, 1);
    s.write(|_| Ok(())).unwrap();
    let now: Meta = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    assert_eq!(now.format, FORMAT);
    assert_eq!((now.company, now.root_client), (m.company, m.root_client));
    assert!(dir.path().join("seq").exists());
}

#[test]
fn tokens_are_found_by_digest_with_or_without_a_digest_index_entry() {
    let (dir, b, s) = fixture();
    // Index entries are symlinks to bare URNs: they dangle, so `exists` cannot see them.
    let indexed =
        |d: &str| fs::symlink_metadata(dir.path().join("index/token-digest").join(d)).is_ok();
    // Format 3: the URN comes from the digest, and no index entry is made.
    let digest = sha("new");
    let new = BearerToken {
        urn: secret::token_urn(&digest),
        digest,
        ..token(&b.root_client, "new")
    };
    assert!(!indexed(&new.digest) && !indexed(&b.root_token.digest));
    // Before format 3: a random URN, found through the index entry.
    let old = token(&b.root_client, "old");
    s.write(|t| {
        t.put_token(&new)?;
        t.put_token(&old)
    })
    .unwrap();
    assert!(!indexed(&new.digest) && indexed(&old.digest));
    for t in [&new, &old, &b.root_token] {
        assert_eq!(s.token_by_digest(&t.digest).unwrap().as_ref(), Some(t));
    }
    assert_eq!(s.token_by_digest(&sha("neither")).unwrap(), None);
    // A file at a derived URN answers only to its own digest.
    let forged = BearerToken {
        digest: sha("forged"),
        ..new.clone()
    };
    fs::write(
        dir.path().join("tokens").join(format!("{}.json", new.urn)),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();
    let fresh = Store::open(dir.path()).unwrap();
    assert_eq!(fresh.token_by_digest(&new.digest).unwrap(), None);
    assert_eq!(fresh.token_by_digest(&forged.digest).unwrap(), None);
    s.write(|t| t.delete_token(&old)).unwrap();
    assert!(!indexed(&old.digest));
    assert_eq!(s.token_by_digest(&old.digest).unwrap(), None);
}

#[test]
fn a_snapshot_serves_a_settled_collection_and_never_a_changed_one() {
    let (dir, b, s) = fixture();
    let clients: Vec<ApiClient> = (0..LISTING_CACHED_FROM)
        .map(|i| client(&format!("c{i}"), &b.company.urn))
        .collect();
    s.write_bulk(|t| clients.iter().try_for_each(|c| t.put_client(c, None)))
        .unwrap();
    let settle = || {
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        let d = File::open(dir.path().join("clients")).unwrap();
        d.set_modified(old).unwrap();
    };
    settle();
    let all = |s: &Store| {
        let (first, more) = s.clients(None, 100).unwrap();
        assert!(more);
        let (rest, more) = s.clients(Some(&first[99].urn), usize::MAX).unwrap();
        assert!(!more);
        first.into_iter().chain(rest).collect::<Vec<_>>()
    };
    let listed = all(&s);
    assert_eq!(listed.len(), LISTING_CACHED_FROM + 1);
    let snap = dir.path().join("cache/clients.json");
    assert!(snap.exists());
    let mode = fs::metadata(&snap).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Another process reads the same listing from the snapshot, not from the files:
    // an object file garbled in place (no directory change) does not reach it.
    assert_eq!(all(&Store::open(dir.path()).unwrap()), listed);
    let victim = dir.path().join(format!("clients/{}.json", clients[0].urn));
    let good = fs::read(&victim).unwrap();
    fs::write(&victim, b"garbled").unwrap();
    let other = Store::open(dir.path()).unwrap();
    assert!(other.client(&clients[0].urn).is_err());
    assert_eq!(all(&other), listed);
    fs::write(&victim, good).unwrap();

    // A write moves the directory's mtime: neither snapshot (file or memory) is used,
    // before or after the directory settles again.
    let extra = client("extra", &b.company.urn);
    s.write(|t| t.put_client(&extra, None)).unwrap();
    assert!(all(&s).contains(&extra));
    settle();
    assert!(all(&s).contains(&extra));
    assert!(all(&Store::open(dir.path()).unwrap()).contains(&extra));

    // A torn or foreign snapshot is rebuilt, not trusted.
    for junk in [&b"{\"format\":1,"[..], b"[]", b""] {
        fs::write(&snap, junk).unwrap();
        assert_eq!(
            all(&Store::open(dir.path()).unwrap()).len(),
            listed.len() + 1
        );
    }
    // A snapshot naming a record under a key that is not a URN is not trusted.
    let text = fs::read_to_string(&snap).unwrap();
    fs::write(&snap, text.replacen(&extra.urn, "../../meta", 1)).unwrap();
    assert!(all(&Store::open(dir.path()).unwrap()).contains(&extra));
}

#[test]
fn a_record_must_be_the_one_its_file_name_says() {
    let dir = tempfile::tempdir().unwrap();
    let b = Store::init(dir.path(), "Acme").unwrap();
    let s = Store::open(dir.path()).unwrap();
    let tok = &b.root_token;
    let file = dir.path().join("tokens").join(format!("{}.json", tok.urn));
    // A token file copied under another name: deleting "it" would remove the other
    // file and leave this one authenticating; refuse to read it instead.
    let other = new_urn();
    let moved = BearerToken {
        urn: other.clone(),
        ..tok.clone()
    };
    fs::write(&file, serde_json::to_vec(&moved).unwrap()).unwrap();
    let e = s.token(&tok.urn).unwrap_err();
    assert!(matches!(e, Error::StoreCorrupt { .. }), "{e}");
    assert!(s.token_by_digest(&tok.digest).is_err());
    // A reference that is not a URN would become a path outside the store.
    let escaping = BearerToken {
        client: "../../../../tmp".into(),
        ..tok.clone()
    };
    fs::write(&file, serde_json::to_vec(&escaping).unwrap()).unwrap();
    assert!(matches!(s.token(&tok.urn), Err(Error::StoreCorrupt { .. })));
    // An index pointer that is not a URN is a stale hint: ignored.
    let pointer = dir.path().join("index/client-id").join(sha(ROOT_CLIENT_ID));
    fs::remove_file(&pointer).unwrap();
    std::os::unix::fs::symlink("../meta", &pointer).unwrap();
    assert_eq!(s.client_by_id(ROOT_CLIENT_ID).unwrap(), None);
    // meta.json naming a company outside the store is corrupt.
    let meta = Meta {
        company: "../clients/x".into(),
        ..s.meta().clone()
    };
    fs::write(
        dir.path().join("meta.json"),
        serde_json::to_vec(&meta).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::StoreCorrupt { .. })
    ));
}

#[test]
fn a_token_record_without_a_description_loads_and_one_with_it_round_trips() {
    let (dir, b, s) = fixture();
    let tok = &b.root_token;
    let file = dir.path().join("tokens").join(format!("{}.json", tok.urn));
    // As a build before descriptions wrote it: the field is not there at all.
    let mut old = serde_json::to_value(tok).unwrap();
    old.as_object_mut().unwrap().remove("description");
    fs::write(&file, serde_json::to_vec(&old).unwrap()).unwrap();
    let s2 = Store::open(dir.path()).unwrap();
    assert_eq!(s2.token(&tok.urn).unwrap().unwrap().description, None);
    let described = BearerToken {
        description: Some("android app, prod".into()),
        ..tok.clone()
    };
    s.write(|t| t.update_token(&described)).unwrap();
    let s3 = Store::open(dir.path()).unwrap();
    assert_eq!(s3.token(&tok.urn).unwrap().unwrap(), described);
}
