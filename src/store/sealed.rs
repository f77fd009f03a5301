//! Secrets kept in a shared store, for servers without a keychain: each value sealed with
//! XChaCha20-Poly1305 under a key derived from the master key, its reference bound in as
//! associated data (a sealed value moved to another reference does not open). A dump of the
//! database shows no secret.
//!
//! The database holds a check value sealed with the same key. A host whose master key does not
//! open it refuses to start, so a wrong key is never used to write secrets the others cannot
//! read; the first host to start on an empty database writes it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::sql::{Sql, SqlExt, args};
use super::{Store, StoreError};
use crate::secrets::{BackendKind, SecretError, SecretStore, SecretString};

const NONCE_LEN: usize = 24;
const CHECK_KEY: &str = "master_key_check";
const CHECK_TEXT: &[u8] = b"ninerouter master key";
/// A master key shorter than this is refused: it would be guessable.
pub const MIN_MASTER_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "the master key is {0} characters; use at least {MIN_MASTER_KEY_LEN} random ones \
         (for example `openssl rand -base64 32`)"
    )]
    TooShort(usize),
    #[error(
        "this master key does not open the database's secrets; every host needs the key the \
         first host started with"
    )]
    Wrong,
    #[error("the database holds secrets but no master key check; it was not written by NineRouter")]
    NoCheck,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The cipher made from the master key; the key text itself is not kept.
#[derive(Clone)]
pub struct MasterKey(XChaCha20Poly1305);

impl MasterKey {
    pub fn from_text(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars < MIN_MASTER_KEY_LEN {
            return Err(MasterKeyError::TooShort(chars));
        }
        let hkdf =
            hkdf::Hkdf::<sha2::Sha256>::new(Some(b"ninerouter master key v1"), text.as_bytes());
        let mut key = [0_u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160.
        if hkdf.expand(b"secrets", &mut key).is_err() {
            return Err(MasterKeyError::TooShort(chars));
        }
        Ok(Self(XChaCha20Poly1305::new(&key.into())))
    }

    fn seal(&self, aad: &str, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    fn open(&self, aad: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }

    /// Checks this key against the database's check value, writing one on a fresh database.
    pub fn verify(&self, c: &mut dyn Sql) -> Result<(), MasterKeyError> {
        let stored: Option<String> = super::load_value(c, CHECK_KEY)?;
        let stored = match stored {
            Some(s) => s,
            None => {
                let secrets: i64 = c.value("SELECT count(*) FROM secrets", args![])?;
                if secrets > 0 {
                    return Err(MasterKeyError::NoCheck);
                }
                let check = B64.encode(self.seal(CHECK_KEY, CHECK_TEXT));
                // Two hosts starting at once: the first check written wins, and both verify
                // against it.
                c.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                    args![CHECK_KEY, check],
                )?;
                super::load_value(c, CHECK_KEY)?.unwrap_or(check)
            }
        };
        let opened = B64
            .decode(stored.as_bytes())
            .ok()
            .and_then(|b| self.open(CHECK_KEY, &b));
        match opened {
            Some(text) if text == CHECK_TEXT => Ok(()),
            _ => Err(MasterKeyError::Wrong),
        }
    }
}

/// Secrets sealed in the store's `secrets` table.
pub struct SealedStore {
    store: Store,
    key: MasterKey,
}

impl SealedStore {
    /// A store whose key was verified (`MasterKey::verify`).
    pub fn new(store: Store, key: MasterKey) -> Self {
        Self { store, key }
    }
}

/// The database did not answer: the secret is not known to be missing or damaged.
fn unreachable(e: StoreError) -> SecretError {
    tracing::debug!("the shared store did not answer a secret read: {e}");
    SecretError::Unreachable {
        backend: BackendKind::Database.describe(),
    }
}

fn failed(e: impl std::fmt::Display) -> SecretError {
    SecretError::Backend {
        backend: BackendKind::Database.describe(),
        message: e.to_string(),
    }
}

impl SecretStore for SealedStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Database
    }

    fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError> {
        let sealed: Option<Vec<u8>> = self
            .store
            .call_blocking(|c| {
                c.row(
                    "SELECT sealed FROM secrets WHERE ref = ?1",
                    args![reference],
                    |mut r| r.get(0),
                )
            })
            .map_err(unreachable)?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self.key.open(reference, &sealed).ok_or_else(|| {
            failed(format!(
                "the secret {reference} does not open with the master key"
            ))
        })?;
        String::from_utf8(plain)
            .map(|s| Some(SecretString::new(s)))
            .map_err(|_| failed(format!("the secret {reference} is not text")))
    }

    fn set(&self, reference: &str, value: &SecretString) -> Result<(), SecretError> {
        let sealed = self.key.seal(reference, value.expose().as_bytes());
        self.store
            .call_blocking(|c| {
                c.execute(
                    "INSERT INTO secrets (ref, sealed) VALUES (?1, ?2)
                     ON CONFLICT (ref) DO UPDATE SET sealed = excluded.sealed",
                    args![reference, sealed],
                )
            })
            .map(drop)
            .map_err(unreachable)
    }

    fn delete(&self, reference: &str) -> Result<(), SecretError> {
        self.store
            .call_blocking(|c| c.execute("DELETE FROM secrets WHERE ref = ?1", args![reference]))
            .map(drop)
            .map_err(unreachable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "an example master key of forty-odd characters";

    #[test]
    fn a_sealed_value_opens_only_under_its_own_reference_and_key() -> Result<(), MasterKeyError> {
        let key = MasterKey::from_text(KEY)?;
        let sealed = key.seal("connection:a", b"sk-secret");
        assert!(!sealed.windows(9).any(|w| w == b"sk-secret"));
        assert_eq!(
            key.open("connection:a", &sealed).as_deref(),
            Some(&b"sk-secret"[..])
        );
        assert_eq!(key.open("connection:b", &sealed), None);
        let other = MasterKey::from_text(&format!("{KEY}!"))?;
        assert_eq!(other.open("connection:a", &sealed), None);
        assert_eq!(key.open("connection:a", &sealed[..10]), None);
        Ok(())
    }

    #[test]
    fn a_short_master_key_is_refused() {
        assert!(matches!(
            MasterKey::from_text("  short  "),
            Err(MasterKeyError::TooShort(5))
        ));
    }
}
