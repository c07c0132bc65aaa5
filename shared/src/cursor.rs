//! Sealed list cursors. A list answers with a cursor the client hands back for the next
//! page; inside is the DynamoDB key to continue after, which may be a row the caller's
//! filter dropped. The cursor is sealed with XChaCha20-Poly1305 (an AEAD: encrypted and
//! authenticated) under a key from Secrets Manager, and *bound* to the list, its filter
//! and the caller as associated data: a cursor of another list, filter or employee, a
//! crafted or a truncated one does not open, and the API answers 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// The longest cursor accepted from a client.
pub const MAX_CURSOR_CHARS: usize = 2048;
const NONCE_BYTES: usize = 24;

/// Seals and opens cursors with one key.
#[derive(Clone)]
pub struct CursorSeal {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for CursorSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSeal(..)")
    }
}

impl CursorSeal {
    /// A seal keyed by the SHA-256 of `secret` (a Secrets Manager string).
    pub fn new(secret: &str) -> Self {
        let key = Sha256::digest(secret.as_bytes());
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `cursor` sealed for `binding` (the list, its filter, the caller).
    pub fn seal(&self, cursor: &str, binding: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: cursor.as_bytes(),
            aad: binding.as_bytes(),
        };
        // Encryption into a Vec fails only on impossible lengths.
        let sealed = self.cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The cursor inside `sealed`, when it was sealed by this key for this `binding`.
    pub fn open(&self, sealed: &str, binding: &str) -> Option<String> {
        if sealed.len() > MAX_CURSOR_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: binding.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_opens_only_for_its_list_filter_and_caller() {
        let seal = CursorSeal::new("a secret of the stack");
        let sealed = seal.seal("eyJwayI6IngifQ", "inquiries?status=routed#m1");
        assert_eq!(
            seal.open(&sealed, "inquiries?status=routed#m1").as_deref(),
            Some("eyJwayI6IngifQ")
        );
        assert!(
            !sealed.contains("eyJwayI6IngifQ"),
            "the key inside is not readable"
        );
        assert_eq!(seal.open(&sealed, "inquiries?status=routed#m2"), None);
        assert_eq!(seal.open(&sealed, "inquiries?#m1"), None);
        assert_eq!(seal.open(&sealed, "deals#m1"), None);
        assert_eq!(
            CursorSeal::new("another").open(&sealed, "inquiries?status=routed#m1"),
            None
        );
        assert_eq!(seal.open("eyJnc2kxcGsiOiJJTlEifQ", "inquiries?#m1"), None);
        assert_eq!(
            seal.open(&sealed[..sealed.len() - 2], "inquiries?status=routed#m1"),
            None
        );
        assert_eq!(seal.open(&"A".repeat(5000), "x"), None);
    }
}
