//! Secrets at rest and in flight: sealing stored text, hashing tokens, comparing keys.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const NONCE_LEN: usize = 24;

/// Encrypts and decrypts stored secrets (message content, sealed event payloads) with
/// XChaCha20-Poly1305 under the data directory's `secret.key`. Stored form: nonce ‖ ciphertext.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        match self.cipher.encrypt(XNonce::from_slice(&nonce), plaintext) {
            Ok(ct) => out.extend_from_slice(&ct),
            Err(_) => unreachable!("XChaCha20-Poly1305 encryption is infallible for in-memory buffers"),
        }
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| SealError)
    }

    pub fn seal_str(&self, text: &str) -> Vec<u8> {
        self.seal(text.as_bytes())
    }

    pub fn open_str(&self, sealed: &[u8]) -> Result<String, SealError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| SealError)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored secret could not be decrypted")]
pub struct SealError;

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// Constant-time equality (the length is not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_round_trips_and_is_not_plaintext() {
        let sealer = Sealer::new(&random_key());
        let sealed = sealer.seal_str("deploy key is hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(sealer.open_str(&sealed).unwrap(), "deploy key is hunter2");
    }

    #[test]
    fn tampered_or_foreign_ciphertext_is_rejected() {
        let sealer = Sealer::new(&random_key());
        let mut sealed = sealer.seal_str("x");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(sealer.open(&sealed), Err(SealError));
        let other = Sealer::new(&random_key());
        assert!(other.open(&sealer.seal_str("x")).is_err());
        assert!(sealer.open(b"short").is_err());
    }

    #[test]
    fn constant_time_compare_matches_equality() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
