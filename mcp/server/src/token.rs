//! Per-agent bearer tokens: 256 random bits shown once, kept only as a SHA-256 hash.
//!
//! The `ctt_` prefix makes a leaked token recognisable, so [`crate::redact`] can strip it
//! from any log line even where it is not under a key named like `token`.

use sha2::{Digest, Sha256};

/// Prefix of every token this crate mints (defined with the redaction rules, which strip it).
pub const TOKEN_PREFIX: &str = codex_teams_store::redact::AGENT_TOKEN_PREFIX;

/// A fresh token: `ctt_` + 64 hex digits (32 bytes from the OS-seeded CSPRNG).
pub fn mint_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the store keeps for a token: SHA-256 of its UTF-8 bytes, lowercase hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = mint_token();
        let b = mint_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
