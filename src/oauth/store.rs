//! A grant in the OS keyring, beside the account's password but under an
//! entry of its own (`oauth:ADDRESS`): the refresh token, and the access
//! token with its expiry so that the next program run need not refresh at
//! once. Never in config.toml, never in a log. Blocking, like the keyring.

use super::OAuthError;
use super::tokens::Grant;
use crate::secrets::{Keyring, SecretError};

/// The keyring entry of `address`'s grant.
pub fn entry(address: &str) -> String {
    format!("oauth:{address}")
}

/// Windows' Credential Manager keeps at most 2560 bytes a secret: a
/// grant longer than this is kept without its access token (the next run
/// refreshes first). Microsoft's tokens are long.
const KEPT_WHOLE: usize = 2400;

pub fn save(keyring: &Keyring, address: &str, grant: &Grant) -> Result<(), OAuthError> {
    let mut json = grant.to_json();
    if json.len() > KEPT_WHOLE && grant.refresh_token.is_some() {
        json = Grant { access_token: crate::secrets::Secret::new(""), ..grant.clone() }.to_json();
    }
    keyring.set_password(&entry(address), &json).map_err(|e| OAuthError::Keyring(e.to_string()))
}

pub fn load(keyring: &Keyring, address: &str) -> Result<Grant, OAuthError> {
    match keyring.password(&entry(address)) {
        Ok(text) => {
            Grant::from_json(&text).ok_or_else(|| OAuthError::NoRefreshToken { account: address.to_string() })
        }
        Err(SecretError::Missing(_)) => Err(OAuthError::NoRefreshToken { account: address.to_string() }),
        Err(e) => Err(OAuthError::Keyring(e.to_string())),
    }
}

pub fn delete(keyring: &Keyring, address: &str) -> Result<(), OAuthError> {
    keyring.delete(&entry(address)).map_err(|e| OAuthError::Keyring(e.to_string()))
}
