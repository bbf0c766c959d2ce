//! Secrets: bearer tokens with a recognisable prefix and a CRC32 checksum, OAuth client
//! ids and secrets, and the SHA-256 digests that are all a store ever keeps of them.
//!
//! A bearer token is `bk_` + 34 base62 characters from the OS CSPRNG (about 202 bits) + 6
//! base62 characters of the CRC32 of everything before them, like GitHub's tokens: secret
//! scanners can match the fixed shape, and a mistyped token fails the checksum before any
//! lookup.

use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Every bearer token starts with this.
pub const TOKEN_PREFIX: &str = "bk_";
const RANDOM_LEN: usize = 34;
const CHECKSUM_LEN: usize = 6;
/// The length of every bearer token.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How many leading characters a read shows before `...`.
pub const SHOWN_CHARS: usize = 6;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    OsRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| Error::Internal(format!("the OS random number generator failed: {e}")))?;
    Ok(buf)
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    // Six base62 digits hold 62^6 > 2^32 values, so nothing is lost.
    String::from_utf8_lossy(&out).into_owned()
}

/// A new bearer token from the OS CSPRNG.
pub fn new_bearer_token() -> Result<String> {
    let mut body = String::with_capacity(TOKEN_LEN);
    body.push_str(TOKEN_PREFIX);
    while body.len() < TOKEN_PREFIX.len() + RANDOM_LEN {
        for b in random_bytes::<64>()? {
            // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
            if b < 248 && body.len() < TOKEN_PREFIX.len() + RANDOM_LEN {
                body.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    let sum = checksum(&body);
    body.push_str(&sum);
    Ok(body)
}

/// Why a string is not a well-formed bearer token, or `Ok` when it is one.
pub fn check_bearer_token(token: &str) -> Result<(), &'static str> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err("it does not start with `bk_`");
    }
    if token.len() != TOKEN_LEN {
        return Err("it has the wrong length");
    }
    if !token[TOKEN_PREFIX.len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
    {
        return Err("it holds characters a token never has");
    }
    let (body, sum) = token.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(body) != sum {
        return Err("its checksum does not match (mistyped or truncated?)");
    }
    Ok(())
}

/// What reads show of a token: its first six characters and `...`.
pub fn obfuscate(token: &str) -> String {
    let shown: String = token.chars().take(SHOWN_CHARS).collect();
    format!("{shown}...")
}

/// The lowercase hex SHA-256 digest under which a secret is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The URN of the bearer token whose value has the SHA-256 `digest`: a version-8 UUID made
/// from a hash of the digest. Deriving it sends a lookup by token straight to the token's
/// own file, so a new token needs no digest index entry (one file fewer to create) and an
/// authentication reads one file, not a pointer and then a file. The URN tells nothing
/// about the token: it is a hash of a hash, and the token's 256 random bits stay unguessable.
pub fn token_urn(digest: &str) -> String {
    let h = Sha256::new()
        .chain_update(b"baack bearer token URN\n")
        .chain_update(digest.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A new OAuth client id: 32 lowercase hex characters.
pub fn new_oauth_id() -> Result<String> {
    Ok(hex::encode(random_bytes::<16>()?))
}

/// A new OAuth client secret: 64 lowercase hex characters (256 bits).
pub fn new_oauth_secret() -> Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A new tracking id for an error body: 32 lowercase hex characters.
pub fn new_tracking_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tokens_are_well_formed_and_distinct() {
        let a = new_bearer_token().unwrap();
        let b = new_bearer_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a.starts_with("bk_"));
        check_bearer_token(&a).unwrap();
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        let t = new_bearer_token().unwrap();
        let mut bytes = t.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert!(check_bearer_token(&typo).unwrap_err().contains("checksum"));
        assert!(check_bearer_token(&t[..t.len() - 1]).is_err());
        assert!(check_bearer_token("hello").is_err());
        assert!(check_bearer_token(&format!("bk_{}", "é".repeat(20))).is_err());
    }

    #[test]
    fn obfuscation_shows_six_characters() {
        assert_eq!(obfuscate("bk_abcdefgh"), "bk_abc...");
    }

    #[test]
    fn oauth_ids_and_secrets_have_their_shapes() {
        let id = new_oauth_id().unwrap();
        let secret = new_oauth_secret().unwrap();
        assert_eq!(id.len(), 32);
        assert_eq!(secret.len(), 64);
        assert!(
            id.chars()
                .chain(secret.chars())
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(digest("x").len(), 64);
    }
}
