//! Access tokens (JWT, HS256) and the signing key kept in the data folder.
//!
//! Expiry is checked against the application clock, not by the JWT library,
//! so that tests can move time.

use crate::error::{AppError, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The signing key's file in the data folder.
pub const SECRET_FILE: &str = "secret.key";

pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

/// The realm of the platform admins in a token's `ten` claim.
pub const PLATFORM: &str = "";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Account id within the realm.
    pub sub: u64,
    /// Company slug, or empty for a platform admin.
    pub ten: String,
    /// Session family (hex), revoked on logout or refresh-token reuse.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    /// `access`, or `live` for a token that may only read live topics.
    pub typ: String,
    /// For `live` tokens: the topics it may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
}

pub struct Keys {
    enc: EncodingKey,
    dec: DecodingKey,
    /// Signs secret URLs (calendar feeds); derived from the same secret.
    url_key: [u8; 32],
    /// Seals secrets kept in company files (a Google service account's key):
    /// HMAC-SHA256(secret, "idora seal v1").
    seal_key: [u8; 32],
}

/// How a sealed secret begins: its format's version, then the nonce.
const SEAL_V1: u8 = 1;
const NONCE_LEN: usize = 12;

impl Keys {
    /// Loads the signing key from `dir/secret.key`, creating it (mode 0600)
    /// on first start.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Keys> {
        let path = dir.join(SECRET_FILE);
        let secret = match std::fs::read(&path) {
            Ok(b) if b.len() >= 32 => b,
            Ok(_) => anyhow::bail!("{} is too short; delete it to make a new one", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                let b: [u8; 64] = crate::store::random_bytes();
                write_private(&path, &b)?;
                b.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Keys::from_secret(&secret))
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        use sha2::Digest;
        let url_key: [u8; 32] = sha2::Sha256::new().chain_update(b"idora secret url\0").chain_update(secret).finalize().into();
        use hmac::Mac;
        let seal_key: [u8; 32] = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
            .map(|m| m.chain_update(b"idora seal v1").finalize().into_bytes().into())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Keys { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret), url_key, seal_key }
    }

    fn aead(&self) -> ring::aead::LessSafeKey {
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &self.seal_key)
            .unwrap_or_else(|_| unreachable!("a 32-byte ChaCha20-Poly1305 key"));
        ring::aead::LessSafeKey::new(key)
    }

    /// Seals `plain` with the box's key (ChaCha20-Poly1305 under a key
    /// derived from `secret.key`, a fresh random nonce kept in front of the
    /// ciphertext). `context` (such as `sheets:acme`) is bound to it: the
    /// bytes open only with the same context, so a secret copied into
    /// another company's file does not open there.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, AppError> {
        let nonce: [u8; NONCE_LEN] = crate::store::random_bytes();
        let mut sealed = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AppError::internal(anyhow::anyhow!("seal failed")))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEAL_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Keys::seal`] sealed with the same `context`. `None`
    /// when it does not open: sealed under another box's key (a new
    /// `secret.key`), another context, or damaged.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != SEAL_V1 || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = ciphertext.to_vec();
        let plain = self.aead().open_in_place(nonce, ring::aead::Aad::from(context.as_bytes()), &mut buf).ok()?;
        Some(plain.to_vec())
    }

    /// An unguessable token for a secret URL naming `scope` (such as
    /// `ical:demo:7`): anyone holding the URL may read what it names.
    pub fn url_token(&self, scope: &str) -> String {
        use hmac::Mac;
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.url_key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(scope.as_bytes());
        hex::encode(mac.finalize().into_bytes().get(..20).unwrap_or_default())
    }

    /// Checks a secret URL's token in constant time.
    pub fn url_token_ok(&self, scope: &str, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.url_token(scope).as_bytes().ct_eq(token.as_bytes()).into()
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.enc)
            .map_err(|e| AppError::internal(anyhow::anyhow!("sign: {e}")))
    }

    /// Verifies signature, type and expiry (against `now`, seconds).
    pub fn verify(&self, token: &str, typ: &str, now: i64) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.dec, &v).map_err(|_| AppError::new(ErrorKind::Unauthorized))?;
        let c = data.claims;
        if c.typ != typ || c.exp <= now {
            return Err(ErrorKind::Unauthorized.into());
        }
        Ok(c)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A fresh opaque token: 32 random bytes, base64url.
pub fn opaque_token() -> String {
    use base64::Engine;
    let b: [u8; 32] = crate::store::random_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// How an opaque token is stored: its sha256, so a stolen file reveals none.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let keys = Keys::from_secret(&[7u8; 64]);
        let plain = br#"{"private_key":"-----BEGIN PRIVATE KEY-----"}"#;
        let a = keys.seal("sheets:acme", plain).unwrap();
        let b = keys.seal("sheets:acme", plain).unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.windows(11).any(|w| w == b"private_key"), "no plain text in the sealed bytes");
        assert_eq!(keys.open("sheets:acme", &a).unwrap(), plain);
        assert_eq!(keys.open("sheets:other", &a), None, "another company's context");
        assert_eq!(Keys::from_secret(&[8u8; 64]).open("sheets:acme", &a), None, "another box's key");
        let mut bad = a.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(keys.open("sheets:acme", &bad), None, "damaged");
        assert_eq!(keys.open("sheets:acme", &a[..5]), None, "cut short");
        assert_eq!(keys.open("sheets:acme", &[]), None);
    }
}
