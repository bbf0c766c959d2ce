//! Fills a new store with generated API clients and bearer tokens, fast (one sync at the
//! end), for the benchmarks: `cargo run --release --example seed -- DIR CLIENTS TOKENS`.
//! Clients are named `c0`, `c1`, …; tokens are spread over them round-robin. The root
//! token is printed on stdout.

use std::path::PathBuf;

use baack::model::{ApiClient, BearerToken, Scope, new_urn};
use baack::secret;
use baack::store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, clients, tokens] = args.as_slice() else {
        return Err("usage: seed DIR CLIENTS TOKENS".into());
    };
    let dir = PathBuf::from(dir);
    let (clients, tokens): (usize, usize) = (clients.parse()?, tokens.parse()?);
    let boot = Store::init(&dir, "Bench")?;
    let store = Store::open(&dir)?;
    let owner = store.meta().company.clone();
    let now = chrono::Utc::now().timestamp_millis();
    store.write_bulk(|txn| {
        let mut urns = Vec::with_capacity(clients);
        for i in 0..clients {
            let c = ApiClient {
                created: None,
                last_used: None,
                rev: None,
                urn: new_urn(),
                client_id: format!("c{i}"),
                scope: Scope::Api,
                owner: owner.clone(),
            };
            txn.put_client(&c, None)?;
            urns.push(c.urn);
        }
        for i in 0..tokens {
            // Digests of unguessable stand-ins: nobody needs these tokens' values.
            let value = format!("bench-token-{i}-{}", new_urn());
            let digest = secret::digest(&value);
            let t = BearerToken {
                last_used: None,
                rev: None,
                retire: None,
                urn: secret::token_urn(&digest),
                client: urns
                    .get(i % clients.max(1))
                    .cloned()
                    .unwrap_or_else(|| boot.root_client.urn.clone()),
                digest,
                shown: secret::obfuscate(&value),
                expires: None,
                created: now,
                description: None,
            };
            txn.put_token(&t)?;
        }
        Ok(())
    })?;
    println!("{}", boot.token);
    Ok(())
}
