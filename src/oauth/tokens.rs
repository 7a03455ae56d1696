//! What is kept of a grant, and when to refresh it.
//!
//! An access token lives an hour or so; the refresh token until the user
//! revokes the grant (or the provider lets it lapse). Before a login the
//! access token is refreshed when it is due within a margin (a minute, or
//! a quarter of its life if that is shorter), so that a login does not
//! race the expiry. A server that refuses the token anyway gets one
//! refresh and one more login; then the login has failed.

use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

/// The most before its expiry an access token is refreshed.
pub const REFRESH_MARGIN_SECONDS: u64 = 60;

/// An access token with its expiry, and the refresh token.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: Secret,
    /// Unix time the access token expires (`None`: not said).
    pub expires_at: Option<u64>,
    /// Unix time from which it is refreshed before use.
    pub refresh_after: Option<u64>,
    pub refresh_token: Option<Secret>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let refresh = if self.refresh_token.is_some() { "<hidden>" } else { "none" };
        write!(f, "Grant(access <hidden>, expires_at {:?}, refresh {refresh})", self.expires_at)
    }
}

impl Grant {
    /// A grant received at `now` whose access token lives `expires_in`
    /// seconds.
    pub fn received(
        access_token: Secret,
        expires_in: Option<u64>,
        refresh_token: Option<Secret>,
        now: u64,
    ) -> Grant {
        let margin = |life: u64| REFRESH_MARGIN_SECONDS.min(life / 4);
        Grant {
            access_token,
            expires_at: expires_in.map(|life| now.saturating_add(life)),
            refresh_after: expires_in.map(|life| now.saturating_add(life - margin(life))),
            refresh_token,
        }
    }

    /// A grant of only a refresh token (a token file, or one whose access
    /// token was not kept): refreshed before its first use.
    pub fn from_refresh_token(refresh_token: Secret) -> Grant {
        Grant {
            access_token: Secret::new(""),
            expires_at: Some(0),
            refresh_after: Some(0),
            refresh_token: Some(refresh_token),
        }
    }

    /// A grant of only an access token (no refresh: when it expires, the
    /// logins fail with "sign in again").
    pub fn from_access_token(access_token: Secret) -> Grant {
        Grant { access_token, expires_at: None, refresh_after: None, refresh_token: None }
    }

    /// As kept in the keyring: JSON.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            access_token: Some(self.access_token.expose().to_string()).filter(|t| !t.is_empty()),
            expires_at: self.expires_at,
            refresh_after: self.refresh_after,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().to_string()),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Grant> {
        let wire: Wire = serde_json::from_str(text).ok()?;
        let access = wire.access_token.unwrap_or_default();
        let missing_access = access.is_empty();
        Some(Grant {
            access_token: Secret::new(access),
            expires_at: if missing_access { Some(0) } else { wire.expires_at },
            refresh_after: if missing_access { Some(0) } else { wire.refresh_after.or(wire.expires_at) },
            refresh_token: wire.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
        })
    }

    /// Takes a refreshed grant; a provider that sends no new refresh token
    /// means the old one stays good.
    pub fn refreshed(&mut self, mut new: Grant) {
        if new.refresh_token.is_none() {
            new.refresh_token = self.refresh_token.take();
        }
        *self = new;
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Log in with this access token.
    Use(Secret),
    /// Refresh first (then log in with the new access token).
    Refresh,
    /// Nothing left to try: the user must sign in again.
    SignInAgain,
}

/// The token side of logins: the grant and the decisions around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    grant: Grant,
}

impl TokenState {
    pub fn new(grant: Grant) -> TokenState {
        TokenState { grant }
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Before a login at `now`.
    pub fn before_login(&self, now: u64) -> Next {
        let due = self.grant.refresh_after.is_some_and(|at| now >= at)
            || self.grant.access_token.expose().is_empty();
        let expired =
            self.grant.expires_at.is_some_and(|at| now >= at) || self.grant.access_token.expose().is_empty();
        match (due, self.grant.refresh_token.is_some()) {
            (false, _) => Next::Use(self.grant.access_token.clone()),
            (true, true) => Next::Refresh,
            // Due but not expired, and nothing to refresh with: use it
            // while it lasts.
            (true, false) if !expired => Next::Use(self.grant.access_token.clone()),
            (true, false) => Next::SignInAgain,
        }
    }

    /// After the server refused `rejected`, on the `attempt`th login
    /// (1: the first). A token refreshed meanwhile (by another login) is
    /// tried as it is; else one refresh, and then no more.
    pub fn after_rejection(&self, rejected: &Secret, attempt: u32) -> Next {
        if attempt >= 2 {
            return Next::SignInAgain;
        }
        if *rejected != self.grant.access_token && !self.grant.access_token.expose().is_empty() {
            return Next::Use(self.grant.access_token.clone());
        }
        if self.grant.refresh_token.is_some() { Next::Refresh } else { Next::SignInAgain }
    }

    /// A refresh succeeded.
    pub fn refreshed(&mut self, new: Grant) {
        self.grant.refreshed(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(now: u64, life: u64) -> Grant {
        Grant::received(Secret::new("a1"), Some(life), Some(Secret::new("r1")), now)
    }

    #[test]
    fn refreshes_a_minute_before_expiry() {
        let state = TokenState::new(grant(1000, 3600));
        assert_eq!(state.before_login(1000), Next::Use(Secret::new("a1")));
        assert_eq!(state.before_login(1000 + 3600 - 61), Next::Use(Secret::new("a1")));
        assert_eq!(state.before_login(1000 + 3600 - 60), Next::Refresh);
        assert_eq!(state.before_login(1000 + 4000), Next::Refresh);
    }

    #[test]
    fn a_short_lived_token_is_refreshed_in_its_last_quarter() {
        let state = TokenState::new(grant(0, 20));
        assert_eq!(state.before_login(14), Next::Use(Secret::new("a1")));
        assert_eq!(state.before_login(15), Next::Refresh);
    }

    #[test]
    fn after_a_rejection_one_refresh_then_give_up() {
        let mut state = TokenState::new(grant(0, 3600));
        let used = Secret::new("a1");
        assert_eq!(state.after_rejection(&used, 1), Next::Refresh);
        state.refreshed(Grant::received(Secret::new("a2"), Some(3600), None, 10));
        assert_eq!(state.grant().refresh_token, Some(Secret::new("r1")), "the refresh token is kept");
        // Refreshed by another login meanwhile: the new token is tried.
        assert_eq!(state.after_rejection(&used, 1), Next::Use(Secret::new("a2")));
        assert_eq!(state.after_rejection(&Secret::new("a2"), 2), Next::SignInAgain);
    }

    #[test]
    fn without_a_refresh_token_an_expired_token_means_sign_in_again() {
        let state = TokenState::new(Grant::received(Secret::new("a"), Some(100), None, 0));
        assert_eq!(state.before_login(90), Next::Use(Secret::new("a")));
        assert_eq!(state.before_login(100), Next::SignInAgain);
        assert_eq!(state.after_rejection(&Secret::new("a"), 1), Next::SignInAgain);
        let refresh_only = TokenState::new(Grant::from_refresh_token(Secret::new("r")));
        assert_eq!(refresh_only.before_login(0), Next::Refresh);
        let access_only = TokenState::new(Grant::from_access_token(Secret::new("a")));
        assert_eq!(access_only.before_login(u64::MAX), Next::Use(Secret::new("a")));
    }

    #[test]
    fn kept_as_json_and_never_shown() {
        let g = grant(0, 3600);
        let back = Grant::from_json(&g.to_json()).unwrap();
        assert_eq!(back, g);
        let shown = format!("{g:?}");
        assert!(!shown.contains("a1") && !shown.contains("r1"), "{shown}");
        let only_refresh = Grant::from_json(r#"{"refresh_token":"r"}"#).unwrap();
        assert_eq!(TokenState::new(only_refresh).before_login(5), Next::Refresh);
    }
}
