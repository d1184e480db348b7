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
}

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
        Keys { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret), url_key }
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
