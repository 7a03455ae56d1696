//! Mail passwords in the OS keyring, never in a file or a log.
//!
//! The store is chosen once: the platform's own (Keychain, Windows
//! Credential Manager, the Secret Service of GNOME Keyring or KWallet on a
//! Linux desktop) or, on a Linux machine with no desktop session bus, the
//! kernel's keyutils (the login session's keyring and the user's persistent
//! keyring, which outlives logout for a few days: README, "Where passwords
//! live"; gone at reboot). `MAILPAY_KEYRING` = `secret-service` or
//! `keyutils` forces a choice. Entries are named
//! service `mailpay`, user = the account's address. Every call blocks, so
//! callers on an async runtime use `spawn_blocking`.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

const SERVICE: &str = "mailpay";

/// A password or token held in memory: `Debug` never shows it, and its
/// memory is wiped when it is dropped. Configs hold their passwords as
/// this, so they can derive `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that needs it (a login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    #[error("no password is stored for {0}; set it with `mailpay account add` or in the wallet's settings")]
    Missing(String),
    #[error("the OS keyring ({store}) cannot be used: {reason}")]
    Store { store: &'static str, reason: String },
}

/// A handle on the chosen keyring.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<CredentialStore>,
    name: &'static str,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({})", self.name)
    }
}

impl Keyring {
    /// The store for this platform, as described in the module docs.
    pub fn system() -> Result<Keyring, SecretError> {
        let forced = std::env::var("MAILPAY_KEYRING").ok();
        platform_store(forced.as_deref())
    }

    /// Which store is in use, for messages and README.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn entry(&self, address: &str) -> Result<Entry, SecretError> {
        self.store.build(SERVICE, address, None).map_err(|e| self.error(e))
    }

    fn error(&self, e: keyring_core::Error) -> SecretError {
        SecretError::Store { store: self.name, reason: e.to_string() }
    }

    pub fn set_password(&self, address: &str, password: &str) -> Result<(), SecretError> {
        self.entry(address)?.set_password(password).map_err(|e| self.error(e))
    }

    pub fn password(&self, address: &str) -> Result<String, SecretError> {
        match self.entry(address)?.get_password() {
            Ok(p) => Ok(p),
            Err(keyring_core::Error::NoEntry) => Err(SecretError::Missing(address.to_string())),
            Err(e) => Err(self.error(e)),
        }
    }

    pub fn delete(&self, address: &str) -> Result<(), SecretError> {
        match self.entry(address)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }
}

#[cfg(target_os = "linux")]
fn platform_store(forced: Option<&str>) -> Result<Keyring, SecretError> {
    let keyutils = || {
        linux_keyutils_keyring_store::Store::new()
            .map(|s| Keyring { store: s, name: "kernel keyutils" })
            .map_err(|e| SecretError::Store { store: "kernel keyutils", reason: e.to_string() })
    };
    let secret_service = || {
        zbus_secret_service_keyring_store::Store::new()
            .map(|s| Keyring { store: s, name: "Secret Service" })
            .map_err(|e| SecretError::Store { store: "Secret Service", reason: e.to_string() })
    };
    match forced {
        Some("keyutils") => keyutils(),
        Some("secret-service") => secret_service(),
        Some(other) => Err(SecretError::Store {
            store: "MAILPAY_KEYRING",
            reason: format!("{other:?} is not keyutils or secret-service"),
        }),
        // A desktop session has a session bus; a headless machine does not.
        None if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() => {
            secret_service().or_else(|_| keyutils())
        }
        None => keyutils(),
    }
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
fn platform_store(_forced: Option<&str>) -> Result<Keyring, SecretError> {
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| Keyring { store: s, name: "Secret Service" })
        .map_err(|e| SecretError::Store { store: "Secret Service", reason: e.to_string() })
}

#[cfg(target_os = "macos")]
fn platform_store(_forced: Option<&str>) -> Result<Keyring, SecretError> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| Keyring { store: s, name: "macOS Keychain" })
        .map_err(|e| SecretError::Store { store: "macOS Keychain", reason: e.to_string() })
}

#[cfg(target_os = "windows")]
fn platform_store(_forced: Option<&str>) -> Result<Keyring, SecretError> {
    windows_native_keyring_store::Store::new()
        .map(|s| Keyring { store: s, name: "Windows Credential Manager" })
        .map_err(|e| SecretError::Store { store: "Windows Credential Manager", reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_shown() {
        let secret = Secret::new("hunter2-correct-horse");
        assert_eq!(format!("{secret:?}"), "Secret(<hidden>)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(<hidden>))");
        assert_eq!(secret.expose(), "hunter2-correct-horse");
    }
}
