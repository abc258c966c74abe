//! Server-side authentication: the API key and secret, and the token made
//! from them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

/// The app's API secret. Its `Debug` shows nothing of it, so it cannot
/// reach a log through a `{:?}`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The server token: an HS256 JWT over the secret with the payload
/// `{"server":true}`. It has no `iat` or `exp`: Stream rejects a token
/// issued "in the future", which any clock skew on this machine would
/// produce, and a server token needs no expiry.
pub fn server_token(secret: &Secret) -> String {
    // Both parts are fixed, so their encodings are too; encoding them here
    // keeps the token's shape visible in one place.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(br#"{"server":true}"#);
    let signing_input = format!("{header}.{payload}");
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose())
        .expect("HMAC-SHA256 accepts a key of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matches_a_known_jwt() {
        // Computed independently (Python: hmac.new(b"secret", msg,
        // hashlib.sha256), base64url without padding).
        let token = server_token(&Secret::new("secret"));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
        assert_eq!(parts[1], "eyJzZXJ2ZXIiOnRydWV9");
        assert_eq!(parts[2], EXPECTED_SIGNATURE);
    }

    const EXPECTED_SIGNATURE: &str = "DHnfQolWsEGFcTR7ZwVBbIVUFAvxzDJXzB6UlyU-7JQ";

    #[test]
    fn debug_hides_the_secret() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
