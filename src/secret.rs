//! Secrets: bearer tokens with a recognisable prefix and a CRC32 checksum, OAuth client
//! ids and secrets, and the SHA-256 digests under which a store keeps the secrets: of a
//! bearer token it keeps nothing else but its first six characters, for display.
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

/// Whether two digests are equal, in time that does not depend on where they differ
/// (`subtle`, already in the build through the TLS stack): an OAuth secret is checked by
/// comparing digests, and a comparison that stops at the first difference would time it.
pub fn digests_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn digest_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The lowercase hex SHA-256 digest under which a secret is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The URN of the bearer token whose value has the SHA-256 `digest`: a version-8 UUID made
/// from a hash of the digest. Deriving it sends a lookup by token straight to the token's
/// own file, so a new token needs no digest index entry (one file fewer to create) and an
/// authentication reads one file, not a pointer and then a file. The URN tells nothing
/// about the token: it is a hash of a hash, and the token's 202 random bits (34 base62
/// characters: 34 × log2 62 ≈ 202.4) stay unguessable.
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

    /// Known answers for the checksum, computed independently of this code with Python's
    /// `zlib.crc32` and the same base62 alphabet (most significant digit first):
    /// `n = zlib.crc32(body); digits = [A[n // 62**i % 62] for i in 5..=0]`. Secret
    /// scanners match this format, so it must never drift.
    #[test]
    fn checksums_match_independently_computed_vectors() {
        for (body, crc, sum) in [
            // CRC32 0 encodes as all zero digits.
            ("", 0u32, "000000"),
            ("bk_", 3_385_800_789, "3h8TS9"),
            (
                "bk_0000000000000000000000000000000000",
                1_401_710_488,
                "1WrQvg",
            ),
            // A CRC near 2^32: every one of the six digits matters.
            (
                "bk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                4_122_391_910,
                "4Uz8S6",
            ),
            (
                "bk_0123456789ABCDEFGHIJKLMNOPQRSTUVWX",
                1_861_148_344,
                "21xBhg",
            ),
            // A leading zero digit is kept, not dropped.
            (
                "bk_YZabcdefghijklmnopqrstuvwxyz01234567",
                198_940_045,
                "0DSjOP",
            ),
        ] {
            assert_eq!(crc32fast::hash(body.as_bytes()), crc, "{body:?}");
            assert_eq!(checksum(body), sum, "{body:?}");
        }
        // A whole token made of a vector is well formed.
        check_bearer_token("bk_00000000000000000000000000000000001WrQvg").unwrap();
        check_bearer_token("bk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz4Uz8S6").unwrap();
    }

    /// The 34 random characters are uniform over the 62 of base62: a chi-square test of
    /// goodness of fit over 20,000 tokens (680,000 characters, 61 degrees of freedom).
    /// The statistic passes 160 with probability 8.1e-11 for a uniform generator
    /// (mpmath: `gammainc(61/2, 160/2, inf, regularized=True)`), so this never flakes.
    /// Accepting byte 248 (`<=` for `<`) makes `0` 25% likelier, which adds about 670;
    /// `/` for `%` leaves four characters only; either fails at once.
    #[test]
    fn token_characters_are_uniform_over_base62() {
        const TOKENS: usize = 20_000;
        let mut counts = [0u64; 256];
        for _ in 0..TOKENS {
            let t = new_bearer_token().unwrap();
            for b in t[TOKEN_PREFIX.len()..TOKEN_LEN - CHECKSUM_LEN].bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        let total = (TOKENS * RANDOM_LEN) as f64;
        let seen: u64 = BASE62.iter().map(|&c| counts[usize::from(c)]).sum();
        assert_eq!(seen as f64, total, "only base62 characters");
        let expected = total / 62.0;
        let chi2: f64 = BASE62
            .iter()
            .map(|&c| {
                let d = counts[usize::from(c)] as f64 - expected;
                d * d / expected
            })
            .sum();
        assert!(
            chi2 < 160.0,
            "chi-square {chi2:.1} over 61 degrees of freedom"
        );
    }

    #[test]
    fn tokens_differ_at_every_random_position() {
        // A generator that repeats a position (a constant, a counter) shows up here: over
        // 200 tokens each position takes many values.
        let tokens: Vec<String> = (0..200).map(|_| new_bearer_token().unwrap()).collect();
        for i in TOKEN_PREFIX.len()..TOKEN_LEN - CHECKSUM_LEN {
            let values: std::collections::HashSet<u8> =
                tokens.iter().map(|t| t.as_bytes()[i]).collect();
            assert!(
                values.len() > 30,
                "position {i} took {} values",
                values.len()
            );
        }
    }

    #[test]
    fn tracking_ids_are_new_lowercase_hex() {
        let a = new_tracking_id();
        let b = new_tracking_id();
        assert_eq!(a.len(), 32, "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{a}"
        );
        assert_ne!(a, b);
    }
}
