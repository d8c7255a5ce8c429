//! Secrets handed out once and stored only as SHA-256 hashes.

use crate::crypto::{random_hex, random_key, sha256_hex};

/// Named API keys start with this, so a bearer token names the table it lives in.
pub const API_KEY_PREFIX: &str = "ocdk_";

/// A new secret and the hash that is stored for it.
pub struct Secret {
    pub token: String,
    pub hash: String,
}

impl Secret {
    /// 32 random bytes as 64 hex characters (sessions, sign-in links, OAuth state).
    pub fn random() -> Secret {
        Secret::with_prefix("")
    }

    pub fn api_key() -> Secret {
        Secret::with_prefix(API_KEY_PREFIX)
    }

    fn with_prefix(prefix: &str) -> Secret {
        let token = format!("{prefix}{}", random_hex(32));
        let hash = sha256_hex(&token);
        Secret { token, hash }
    }
}

/// A random UUID v4 (auth session ids).
pub fn uuid_v4() -> String {
    let mut b = random_key();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashed_and_uuids_are_version_4() {
        let s = Secret::random();
        assert_eq!(s.token.len(), 64);
        assert_eq!(s.hash, sha256_hex(&s.token));
        assert!(Secret::api_key().token.starts_with(API_KEY_PREFIX));
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
