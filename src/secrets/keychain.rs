//! The OS keychain through keyring v3: macOS Keychain, Windows Credential Manager, and the
//! Secret Service on Linux (backends enabled explicitly in Cargo.toml; without one, keyring
//! would silently use a mock that forgets everything).

use super::{BackendKind, SecretError, SecretStore, SecretString};

pub struct KeychainStore {
    service: String,
}

impl KeychainStore {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    fn entry(&self, reference: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, reference).map_err(map_error)
    }
}

/// One message per failure kind; keyring's own texts can carry platform noise but no secrets.
fn map_error(e: keyring::Error) -> SecretError {
    let message = match e {
        keyring::Error::PlatformFailure(inner) => format!("platform failure: {inner}"),
        keyring::Error::NoStorageAccess(inner) => format!("no access to the keychain: {inner}"),
        keyring::Error::Ambiguous(_) => "several keychain entries match".to_string(),
        other => other.to_string(),
    };
    SecretError::Backend {
        backend: BackendKind::Keychain.describe(),
        message,
    }
}

impl SecretStore for KeychainStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Keychain
    }

    fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError> {
        match self.entry(reference)?.get_password() {
            Ok(v) => Ok(Some(SecretString::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn set(&self, reference: &str, value: &SecretString) -> Result<(), SecretError> {
        self.entry(reference)?
            .set_password(value.expose())
            .map_err(map_error)
    }

    fn delete(&self, reference: &str) -> Result<(), SecretError> {
        match self.entry(reference)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}
