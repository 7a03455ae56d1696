//! The orderer's own secrets kept in files: the cheque-signing key of
//! claim 2 (its public half is registered at the bank) and other 32-byte
//! secrets. Each is 64 hex digits in an owner-only file, created on first
//! use; the command line and the desktop wallet share them.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::paths::Paths;
use crate::protocol::cheque::WalletKey;

/// The cheque-signing key's file name in the wallet's data folder.
pub const WALLET_KEY_FILE: &str = "cheque-signing.key";

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write the key file {path}: {reason}; check the folder's permissions")]
    Write { path: PathBuf, reason: String },
    #[error("{path} does not hold a key of 64 hex digits: move it away to make a new key")]
    Malformed { path: PathBuf },
}

/// Where the wallet in `paths` keeps its cheque-signing key.
pub fn wallet_key_path(paths: &Paths) -> PathBuf {
    paths.data_dir.join(WALLET_KEY_FILE)
}

/// The cheque-signing key in `path`, made (and kept) on first use.
pub fn load_or_create_key(path: &Path) -> Result<WalletKey, KeyError> {
    Ok(WalletKey::from_seed(&load_or_create_secret(path)?))
}

/// 32 random bytes kept in `path` (hex, owner-only), made on first use.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_hex(text.trim()).ok_or_else(|| KeyError::Malformed { path: path.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::Rng::fill_bytes(&mut rand::rng(), &mut key);
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            write_private(path, hex.as_bytes())
                .map_err(|e| KeyError::Write { path: path.to_path_buf(), reason: e.to_string() })?;
            Ok(key)
        }
        Err(e) => Err(KeyError::Read { path: path.to_path_buf(), reason: e.to_string() }),
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// Writes a new file readable by its owner only, and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("mailpay-keys-{:08x}", rand::random::<u32>()));
        let path = dir.join(WALLET_KEY_FILE);
        let first = load_or_create_key(&path).unwrap();
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(first.public(), again.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(load_or_create_key(&path), Err(KeyError::Malformed { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
