//! Web Push done by the RFCs (docs/decisions.md#web-push): the payload encrypted for the
//! browser's keys (RFC 8291, `aes128gcm`), and a VAPID signature (RFC 8292) made with one
//! key pair kept sealed in the database, so every replica signs with the same key and a
//! subscription survives restarts.

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

/// How long a VAPID token is valid (RFC 8292 allows at most 24 h).
const TOKEN_SECS: i64 = 12 * 3600;

/// The server's VAPID identity.
pub struct Vapid {
    key: SigningKey,
    public_key: String,
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid").field("public_key", &self.public_key).field("subject", &self.subject).finish_non_exhaustive()
    }
}

impl Vapid {
    /// A fresh private key (32 bytes) to store.
    pub fn generate_secret() -> Vec<u8> {
        SigningKey::random(&mut rand::rngs::OsRng).to_bytes().to_vec()
    }

    pub fn from_secret(secret: &[u8], subject: String) -> Result<Vapid, String> {
        let key = SigningKey::from_slice(secret).map_err(|_| "stored VAPID key is not a P-256 private key".to_string())?;
        let point = key.verifying_key().to_encoded_point(false);
        Ok(Vapid { public_key: Base64UrlUnpadded::encode_string(point.as_bytes()), key, subject })
    }

    /// The application server key browsers subscribe with (uncompressed point, base64url).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// `Authorization: vapid t=<ES256 JWT>, k=<public key>` for a push to `endpoint`; the
    /// token's audience is the endpoint's origin.
    pub fn authorization(&self, endpoint: &str, now: i64) -> Result<String, String> {
        let audience = origin(endpoint).ok_or_else(|| "push endpoint is not an http(s) URL".to_string())?;
        let header = Base64UrlUnpadded::encode_string(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": audience, "exp": now + TOKEN_SECS, "sub": self.subject});
        let claims = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signed.as_bytes());
        let signature = Base64UrlUnpadded::encode_string(&signature.to_bytes());
        Ok(format!("vapid t={signed}.{signature}, k={}", self.public_key))
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// Decodes base64url, tolerating padding and the standard alphabet (some clients send either).
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    let normalized: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    Base64UrlUnpadded::decode_vec(&normalized).ok()
}

/// Whether `p256dh` and `auth` are a browser's subscription keys (a P-256 point, 16 bytes).
pub fn valid_keys(p256dh: &str, auth: &str) -> bool {
    let point = decode_key(p256dh).is_some_and(|k| p256::PublicKey::from_sec1_bytes(&k).is_ok());
    point && decode_key(auth).is_some_and(|a| a.len() == 16)
}

/// Encrypts `payload` for the subscription's keys (RFC 8291, one `aes128gcm` record).
pub fn encrypt(p256dh: &str, auth: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let point = decode_key(p256dh).ok_or("p256dh is not base64url")?;
    let public = p256::PublicKey::from_sec1_bytes(&point).map_err(|_| "p256dh is not a P-256 point")?;
    let auth = decode_key(auth).filter(|a| a.len() == 16).ok_or("auth is not 16 bytes of base64url")?;
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    web_push_native::encrypt(payload.to_vec(), &public, &auth).map_err(|e| format!("push payload encryption failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_the_port_and_drop_the_path() {
        assert_eq!(origin("https://fcm.googleapis.com/fcm/send/abc").as_deref(), Some("https://fcm.googleapis.com"));
        assert_eq!(origin("http://127.0.0.1:4000/push/1?x").as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(origin("ftp://x/y"), None);
    }

    #[test]
    fn tokens_are_signed_with_the_stored_key() {
        let vapid = Vapid::from_secret(&Vapid::generate_secret(), "mailto:ops@example.com".into()).expect("key");
        let header = vapid.authorization("https://push.example/abc", 1000).expect("token");
        let token = header.strip_prefix("vapid t=").and_then(|h| h.split(", k=").next()).expect("shape");
        let (signed, signature) = token.rsplit_once('.').expect("three parts");
        let signature = Signature::from_slice(&decode_key(signature).expect("b64")).expect("signature");
        use p256::ecdsa::signature::Verifier;
        assert!(vapid.key.verifying_key().verify(signed.as_bytes(), &signature).is_ok());
        let claims: serde_json::Value =
            serde_json::from_slice(&decode_key(signed.split('.').nth(1).expect("claims")).expect("b64")).expect("json");
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["exp"], 1000 + TOKEN_SECS);
    }
}
