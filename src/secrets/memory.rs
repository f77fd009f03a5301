use std::collections::HashMap;
use std::sync::Mutex;

use super::{BackendKind, SecretError, SecretStore, SecretString};

#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<HashMap<String, SecretString>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SecretString>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Memory
    }
    fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(self.lock().get(reference).cloned())
    }
    fn set(&self, reference: &str, value: &SecretString) -> Result<(), SecretError> {
        self.lock().insert(reference.to_owned(), value.clone());
        Ok(())
    }
    fn delete(&self, reference: &str) -> Result<(), SecretError> {
        self.lock().remove(reference);
        Ok(())
    }
}
