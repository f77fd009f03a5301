//! The setup file: a `SetupDoc` as JSON, compressed, and encrypted with a passphrase in the
//! age format (scrypt, ChaCha20-Poly1305) through the `age` crate. A wrong passphrase, a damaged
//! or cut file and a file from a newer version are each told apart, and nothing is read from
//! a file that did not decrypt whole.

use std::io::{Read, Write};

use super::doc::{FORMAT, SetupDoc};

/// A decrypted setup larger than this is refused (a compressed file could claim anything).
const MAX_PLAIN: u64 = 256 << 20;
pub const MIN_PASSPHRASE: usize = 8;
/// scrypt's log2 N for the files written: 2^17 (128 MiB, a fraction of a second), fixed
/// rather than age's per-machine pick, so that a file...
const WORK_FACTOR: u8 = 17;
/// ...never asks more of the machine opening it than this: a file claiming more (one dropped
/// in a sync folder, say) is refused before any work is done.
const MAX_WORK_FACTOR: u8 = 18;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("the passphrase must have at least {MIN_PASSPHRASE} characters")]
    WeakPassphrase,
    #[error("the passphrase is not the one this setup file was made with")]
    WrongPassphrase,
    #[error("this is not a NineRouter setup file")]
    NotASetupFile,
    #[error("the setup file is damaged or incomplete ({0}); nothing was changed")]
    Damaged(String),
    #[error(
        "this setup file asks more work to open than NineRouter allows: it was not made by NineRouter"
    )]
    TooCostly,
    #[error(
        "this setup file was made by a newer NineRouter (format {0}); update NineRouter to read it"
    )]
    Newer(u32),
}

pub fn seal(doc: &SetupDoc, passphrase: &str) -> Result<Vec<u8>, BundleError> {
    seal_with(doc, passphrase, WORK_FACTOR)
}

/// With another `work_factor` (scrypt's log2 N): tests use a small one.
fn seal_with(doc: &SetupDoc, passphrase: &str, work_factor: u8) -> Result<Vec<u8>, BundleError> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(BundleError::WeakPassphrase);
    }
    let json = serde_json::to_vec(doc).map_err(|e| BundleError::Damaged(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = gz
        .write_all(&json)
        .and_then(|()| gz.finish())
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    let mut recipient =
        age::scrypt::Recipient::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(work_factor);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| BundleError::Damaged(e.to_string()))?;
    let mut out = Vec::with_capacity(compressed.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    writer
        .write_all(&compressed)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    Ok(out)
}

pub fn open(bytes: &[u8], passphrase: &str) -> Result<SetupDoc, BundleError> {
    open_with(bytes, passphrase, MAX_WORK_FACTOR)
}

fn open_with(bytes: &[u8], passphrase: &str, max_work: u8) -> Result<SetupDoc, BundleError> {
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(|e| match e {
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            BundleError::NotASetupFile
        }
        other => BundleError::Damaged(other.to_string()),
    })?;
    if !decryptor.is_scrypt() {
        return Err(BundleError::NotASetupFile);
    }
    let mut identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(max_work);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            // Matched before anything formats it: age's own message miscounts below its
            // calibrated factor.
            age::DecryptError::ExcessiveWork { .. } => BundleError::TooCostly,
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed => BundleError::WrongPassphrase,
            other => BundleError::Damaged(other.to_string()),
        })?;
    // Read whole before anything is used: a cut file fails its last chunk's check.
    let mut compressed = Vec::new();
    reader
        .take(MAX_PLAIN)
        .read_to_end(&mut compressed)
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .take(MAX_PLAIN + 1)
        .read_to_end(&mut json)
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    if json.len() as u64 > MAX_PLAIN {
        return Err(BundleError::Damaged(
            "it is larger than a setup can be".into(),
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| BundleError::Damaged(e.to_string()))?;
    let format = value
        .get("format")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(BundleError::Newer(
            u32::try_from(format).unwrap_or(u32::MAX),
        ));
    }
    serde_json::from_value(value).map_err(|e| BundleError::Damaged(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> SetupDoc {
        SetupDoc {
            format: FORMAT,
            made_by: "test".into(),
            aliases: [("fast".to_owned(), "cc/claude".to_owned())].into(),
            ..SetupDoc::default()
        }
    }

    fn seal(doc: &SetupDoc, passphrase: &str) -> Result<Vec<u8>, BundleError> {
        seal_with(doc, passphrase, 10)
    }

    #[test]
    fn a_sealed_setup_opens_with_its_passphrase_only() {
        let sealed = seal(&doc(), "correct horse").expect("sealed");
        assert!(sealed.starts_with(b"age-encryption.org/v1"));
        assert!(!String::from_utf8_lossy(&sealed).contains("cc/claude"));
        assert_eq!(open(&sealed, "correct horse").expect("opened"), doc());
        assert_eq!(
            open(&sealed, "wrong horse!"),
            Err(BundleError::WrongPassphrase)
        );
        assert_eq!(seal(&doc(), "short"), Err(BundleError::WeakPassphrase));
    }

    #[test]
    fn a_cut_flipped_foreign_or_newer_file_is_refused() {
        let sealed = seal(&doc(), "correct horse").expect("sealed");
        let cut = &sealed[..sealed.len() - 20];
        assert!(matches!(
            open(cut, "correct horse"),
            Err(BundleError::Damaged(_))
        ));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 0x40;
        assert!(matches!(
            open(&flipped, "correct horse"),
            Err(BundleError::Damaged(_))
        ));
        assert_eq!(
            open(b"{\"format\": 1}", "correct horse"),
            Err(BundleError::NotASetupFile)
        );
        // A file asking more work than allowed is refused, whatever its passphrase.
        let costly = seal(&doc(), "correct horse").expect("sealed");
        assert_eq!(
            open_with(&costly, "correct horse", 9),
            Err(BundleError::TooCostly)
        );
        let newer = SetupDoc {
            format: FORMAT + 1,
            ..doc()
        };
        let sealed = seal(&newer, "correct horse").expect("sealed");
        assert_eq!(
            open(&sealed, "correct horse"),
            Err(BundleError::Newer(FORMAT + 1))
        );
    }
}
