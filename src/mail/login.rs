//! What a mail login presents: a password, or an OAuth2 access token from
//! the account's [`TokenSource`] (refreshed when due, and once more when
//! the server refuses it).

use std::path::Path;
use std::sync::Arc;

use super::account::{Account, Auth};
use crate::oauth::provider::Provider;
use crate::oauth::session::{self, TokenSource};
use crate::oauth::{Grant, OAuthError};
use crate::secrets::{Keyring, Secret, SecretError};

#[derive(Clone, Debug)]
pub enum Login {
    Password(Secret),
    OAuth2(Arc<TokenSource>),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LoginError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{0}")]
    OAuth(#[from] OAuthError),
}

impl Login {
    pub fn password(password: impl Into<String>) -> Login {
        Login::Password(Secret::new(password))
    }

    /// What the system's keyring holds for `account`: its password, or its
    /// OAuth2 grant (entry `oauth:ADDRESS`). Blocking.
    pub fn from_keyring(account: &Account) -> Result<Login, LoginError> {
        Login::kept_in(&Keyring::system()?, account)
    }

    /// What `keyring` holds for `account` (see [`Login::from_keyring`]),
    /// for callers that open the keyring once for several accounts.
    /// Blocking.
    pub fn kept_in(keyring: &Keyring, account: &Account) -> Result<Login, LoginError> {
        let address = account.address.as_str();
        match account.auth {
            Auth::Password => Ok(Login::password(keyring.password(address)?)),
            Auth::OAuth2 => {
                let settings = account.oauth2.as_ref().ok_or(OAuthError::NotConfigured)?;
                let provider = Provider::from_settings(settings)?;
                let source = TokenSource::kept_in(keyring, address, provider, settings.mechanism)?;
                Ok(Login::OAuth2(Arc::new(source)))
            }
        }
    }

    /// An OAuth2 login from a token file (for the agents and containers):
    /// lines `refresh_token=...` and/or `access_token=...`, or a bare
    /// refresh token. With a refresh token the account's provider settings
    /// are needed; refreshed tokens stay in memory.
    pub fn from_token_file(account: &Account, path: &Path) -> Result<Login, LoginError> {
        let bad = |reason: String| OAuthError::TokenFile { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let text = Secret::new(text);
        let mut access = None;
        let mut refresh = None;
        for line in text.expose().lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.split_once('=').map(|(key, value)| (key.trim(), value.trim())) {
                Some(("access_token", value)) => access = Some(Secret::new(value)),
                Some(("refresh_token", value)) => refresh = Some(Secret::new(value)),
                _ if refresh.is_none() && !line.contains('=') => refresh = Some(Secret::new(line)),
                _ => return Err(bad("expected lines refresh_token=... or access_token=...".into()).into()),
            }
        }
        let settings = account.oauth2.as_ref();
        let mechanism = settings.map(|s| s.mechanism).unwrap_or_default();
        let (grant, provider) = match (access, refresh) {
            (None, None) => return Err(bad("it holds no token".into()).into()),
            (access, Some(refresh)) => {
                let provider = Provider::from_settings(settings.ok_or(OAuthError::NotConfigured)?)?;
                let mut grant = Grant::from_refresh_token(refresh);
                if let Some(access) = access {
                    // Used until refused (its expiry is not known), then refreshed.
                    grant.access_token = access;
                    grant.expires_at = None;
                    grant.refresh_after = None;
                }
                (grant, Some(provider))
            }
            (Some(access), None) => (Grant::from_access_token(access), None),
        };
        let source =
            TokenSource::new(account.address.as_str(), provider, mechanism, grant, None, session::https());
        Ok(Login::OAuth2(Arc::new(source)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::provider::{OAuth2Settings, ProviderKind};

    fn account(with_settings: bool) -> Account {
        let mut account = Account::guess("agent@shop.test".parse().unwrap());
        account.auth = Auth::OAuth2;
        if with_settings {
            let mut settings = OAuth2Settings::of(ProviderKind::Custom);
            settings.client_id = Some("id".into());
            settings.auth_url = Some("https://auth.example/a".into());
            settings.token_url = Some("https://auth.example/t".into());
            account.oauth2 = Some(Box::new(settings));
        }
        account
    }

    fn from(contents: &str, with_settings: bool) -> Result<Login, LoginError> {
        let path = std::env::temp_dir().join(format!(
            "mailpay-token-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::write(&path, contents).unwrap();
        let login = Login::from_token_file(&account(with_settings), &path);
        let _ = std::fs::remove_file(&path);
        login
    }

    #[test]
    fn a_token_file_holds_an_access_or_a_refresh_token() {
        assert!(matches!(from("access_token=at\n", false), Ok(Login::OAuth2(_))));
        assert!(matches!(from("# comment\nrefresh_token = rt\n", true), Ok(Login::OAuth2(_))));
        assert!(matches!(from("rt-bare\n", true), Ok(Login::OAuth2(_))));
        assert!(matches!(from("access_token=at\nrefresh_token=rt\n", true), Ok(Login::OAuth2(_))));
        let no_provider = from("refresh_token=rt\n", false).unwrap_err();
        assert!(no_provider.to_string().contains("OAuth2 settings"), "{no_provider}");
        assert!(from("", true).unwrap_err().to_string().contains("no token"));
        let junk = from("password=hunter2\n", true).unwrap_err().to_string();
        assert!(junk.contains("refresh_token=") && !junk.contains("hunter2"), "{junk}");
        let shown = format!("{:?}", from("access_token=s3cret-token\n", false).unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
