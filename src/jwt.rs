//! OAuth access tokens: ES256 JWTs signed with the store's signing key, their claims,
//! and the key set a user's own services verify them with offline.
//!
//! Why ES256: every JWT library and gateway verifies it (EdDSA is still missing from
//! some), its keys are small, and `ring`, already in the build for TLS, makes and uses
//! them; `jsonwebtoken` 9 signs and verifies with that same `ring`, so no second crypto
//! stack (aws-lc's C build, or RustCrypto's) comes in. The private key is a PKCS#8
//! document kept in a 0600 file in the store (`keys/<kid>.json`); it never leaves it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::Millis;
use crate::error::{Error, Result};

/// The claims of an access token (API.md "OAuth token endpoint").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The issuer: the server's own URL.
    pub iss: String,
    /// The OAuth client's id.
    pub sub: String,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// Expires at, in seconds since the epoch.
    pub exp: i64,
    /// A unique id.
    pub jti: String,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// A signing key as stored: never served, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// Its key id: the first 16 hex digits of the SHA-256 of its public key.
    pub kid: String,
    /// When it was made.
    pub created: Millis,
    /// When a newer key replaced it for signing; it still verifies until every token it
    /// signed has expired.
    #[serde(default)]
    pub retired: Option<Millis>,
    /// The PKCS#8 document, hex.
    pkcs8: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches a log, even a debug one.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created", &self.created)
            .field("retired", &self.retired)
            .finish_non_exhaustive()
    }
}

fn crypto(what: &str) -> Error {
    Error::Internal(format!("signing key: {what}"))
}

impl SigningKey {
    /// A new P-256 key from the OS's random source.
    pub fn generate(now: Millis) -> Result<SigningKey> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| crypto("cannot generate one"))?;
        let mut key = SigningKey {
            kid: String::new(),
            created: now,
            retired: None,
            pkcs8: hex::encode(doc.as_ref()),
        };
        key.kid = crate::secret::digest_bytes(&key.public()?)[..16].to_string();
        Ok(key)
    }

    fn der(&self) -> Result<Vec<u8>> {
        hex::decode(&self.pkcs8).map_err(|_| crypto("the stored key is not hex"))
    }

    /// The public key: the uncompressed P-256 point (65 bytes).
    fn public(&self) -> Result<Vec<u8>> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &self.der()?,
            &SystemRandom::new(),
        )
        .map_err(|_| crypto("the stored key does not parse"))?;
        Ok(pair.public_key().as_ref().to_vec())
    }

    /// Its JWK (RFC 7517), public part only.
    pub fn jwk(&self) -> Result<Value> {
        let p = self.public()?;
        if p.len() != 65 {
            return Err(crypto("the public key is not an uncompressed P-256 point"));
        }
        Ok(json!({
            "kty": "EC",
            "crv": "P-256",
            "x": B64.encode(&p[1..33]),
            "y": B64.encode(&p[33..65]),
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        }))
    }

    /// Signs `claims`, naming this key in the header's `kid`.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.der()?))
            .map_err(|e| crypto(&format!("cannot sign: {e}")))
    }
}

/// A key's public half, parsed once: what verifying needs.
#[derive(Clone)]
pub struct Verifier {
    kid: String,
    key: DecodingKey,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Its public half, for [`verify`].
    pub fn verifier(&self) -> Result<Verifier> {
        Ok(Verifier {
            kid: self.kid.clone(),
            key: DecodingKey::from_ec_der(&self.public()?),
        })
    }
}

impl Verifier {
    /// A verifier from a published JWK (one key of `/.well-known/jwks.json`): how a
    /// client checks a token offline, as a user's own service would.
    pub fn from_jwk(jwk: &Value) -> Result<Verifier> {
        let bad = |why: &str| Error::invalid("jwks.json", format!("has a key that {why}"));
        let k: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| bad(&format!("is not a JWK ({e})")))?;
        let kid = k.common.key_id.clone().ok_or_else(|| bad("has no kid"))?;
        let key = DecodingKey::from_jwk(&k).map_err(|e| bad(&format!("cannot be read ({e})")))?;
        Ok(Verifier { kid, key })
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Whether `token` has the shape of a JWT (three base64url parts), not of a bearer token.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Checks `token`'s signature against `keys` (by its `kid`) and its expiry against
/// `now`: the claims when both hold. The expiry is checked here, on the injectable
/// clock, not by the library's reading of the system clock.
pub fn verify(token: &str, keys: &[Verifier], now: Millis) -> Result<Claims> {
    let bad = |why: &str| Error::Unauthorized(format!("the access token is {why}"));
    let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed"))?;
    if header.alg != Algorithm::ES256 {
        return Err(bad("not signed with ES256"));
    }
    let kid = header.kid.ok_or_else(|| bad("missing its kid"))?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| bad("signed by a key this server does not have"))?;
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false;
    v.required_spec_claims = ["exp", "sub", "iat"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let data = jsonwebtoken::decode::<Claims>(token, &key.key, &v)
        .map_err(|_| bad("not validly signed"))?;
    if data.claims.exp.saturating_mul(1000) <= now {
        return Err(bad("expired"));
    }
    Ok(data.claims)
}

/// The claims and header of `token`, unchecked: for showing a token to a person, never
/// for trusting it.
pub fn peek(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let mut part = || -> Option<Value> {
        let bytes = B64.decode(parts.next()?).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = part()?;
    let claims = part()?;
    Some((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "http://127.0.0.1".into(),
            sub: "0123456789abcdef0123456789abcdef".into(),
            iat: 1_800_000_000,
            exp,
            jti: "j".into(),
            scope: "sp:scopes:all".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires_and_only_with_its_key() {
        let k = SigningKey::generate(0).unwrap();
        let other = SigningKey::generate(0).unwrap().verifier().unwrap();
        let t = k.sign(&claims(1_800_000_600)).unwrap();
        let kv = k.verifier().unwrap();
        assert!(looks_like_jwt(&t));
        assert_eq!(
            verify(&t, std::slice::from_ref(&kv), 1_800_000_599_999).unwrap(),
            claims(1_800_000_600)
        );
        assert!(verify(&t, std::slice::from_ref(&kv), 1_800_000_600_000).is_err());
        assert!(verify(&t, std::slice::from_ref(&other), 0).is_err());
        // A changed claim breaks the signature.
        let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
        let mut c = claims(1_900_000_000);
        c.scope = "sp:scopes:all".into();
        parts[1] = B64.encode(serde_json::to_vec(&c).unwrap());
        assert!(verify(&parts.join("."), std::slice::from_ref(&kv), 0).is_err());
        let (h, c) = peek(&t).unwrap();
        assert_eq!(h["kid"], json!(k.kid));
        assert_eq!(c["exp"], json!(1_800_000_600));
    }

    #[test]
    fn the_jwk_is_the_public_point_and_the_debug_form_hides_the_key() {
        let k = SigningKey::generate(0).unwrap();
        let j = k.jwk().unwrap();
        assert_eq!(j["kty"], "EC");
        assert_eq!(B64.decode(j["x"].as_str().unwrap()).unwrap().len(), 32);
        assert!(!format!("{k:?}").contains(&k.pkcs8));
        assert!(!j.to_string().contains(&k.pkcs8));
    }

    #[test]
    fn bearer_tokens_do_not_look_like_jwts() {
        assert!(!looks_like_jwt(&crate::secret::new_bearer_token().unwrap()));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a..b"));
        assert!(!looks_like_jwt("a.b.c d"));
    }
}
