//! A sign-in from start to end ([`SignIn`]), and the token source the
//! mail logins ask for a bearer token ([`TokenSource`]).
//!
//! A front end (the command line, the app) starts a sign-in, shows or
//! opens [`SignIn::url`], and awaits [`SignIn::finish`]; a
//! [`SignInCanceller`] ends the wait from elsewhere (a Cancel button), as
//! does dropping the future.

use std::sync::Arc;

use tokio::sync::{Mutex, Notify};

use super::OAuthError;
use super::grant::{self, Authorization};
use super::listener::{Limits, Loopback};
use super::provider::Provider;
use super::sasl::{Mechanism, Refusal};
use super::store;
use super::tokens::{Grant, Next, TokenState};
use super::transport;
use crate::secrets::{Keyring, Secret};

pub use super::grant::{Http, HttpFuture};

/// The real transport ([`transport::send`]).
pub fn https() -> Http {
    Arc::new(|request| Box::pin(transport::send(request)))
}

/// Unix time now, in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A sign-in under way: the loopback listener is up and the provider's
/// URL is ready for the browser.
pub struct SignIn {
    provider: Provider,
    address: String,
    authorization: Authorization,
    listener: Loopback,
    cancel: Arc<Notify>,
    http: Http,
    limits: Limits,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignIn({} at {})", self.address, self.provider.issuer)
    }
}

/// Ends a sign-in's wait with [`OAuthError::Cancelled`].
#[derive(Debug, Clone)]
pub struct SignInCanceller(Arc<Notify>);

impl SignInCanceller {
    pub fn cancel(&self) {
        self.0.notify_one();
    }
}

impl SignIn {
    /// Listens on the loopback address and prepares the provider's URL.
    pub async fn start(provider: Provider, address: &str) -> Result<SignIn, OAuthError> {
        SignIn::start_with(provider, address, https(), Limits::default()).await
    }

    pub async fn start_with(
        provider: Provider,
        address: &str,
        http: Http,
        limits: Limits,
    ) -> Result<SignIn, OAuthError> {
        let listener = Loopback::bind().await?;
        let authorization = Authorization::new(&provider, listener.port(), address)?;
        Ok(SignIn {
            provider,
            address: address.to_string(),
            authorization,
            listener,
            cancel: Arc::new(Notify::new()),
            http,
            limits,
        })
    }

    /// The page to open in the browser.
    pub fn url(&self) -> &str {
        &self.authorization.url
    }

    pub fn canceller(&self) -> SignInCanceller {
        SignInCanceller(self.cancel.clone())
    }

    /// Opens the system browser (or `MAILPAY_BROWSER`) on [`SignIn::url`];
    /// `Err` says why not, and the caller shows the URL instead.
    pub fn open_browser(&self) -> Result<(), String> {
        super::browser::open(self.url())
    }

    /// Waits for the browser's redirect and exchanges its code: the grant.
    pub async fn finish(self) -> Result<Grant, OAuthError> {
        let cancel = self.cancel.clone();
        let code = self
            .listener
            .wait(&self.authorization, self.limits, async move { cancel.notified().await })
            .await?;
        self.authorization.exchange(&self.provider, &code, &self.http, now()).await
    }
}

/// Where a refreshed grant is kept.
#[derive(Debug, Clone)]
enum Keep {
    Keyring(Keyring),
    Memory,
}

/// Bearer tokens for one account's logins, refreshed when due.
pub struct TokenSource {
    address: String,
    provider: Option<Provider>,
    mechanism: Mechanism,
    state: Mutex<TokenState>,
    keep: Keep,
    http: Http,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSource({}, {}, tokens <hidden>)", self.address, self.mechanism.name())
    }
}

impl TokenSource {
    /// `provider` is needed to refresh (`None`: an access token alone);
    /// refreshed grants go back to `keyring` when given.
    pub fn new(
        address: &str,
        provider: Option<Provider>,
        mechanism: Mechanism,
        grant: Grant,
        keyring: Option<Keyring>,
        http: Http,
    ) -> TokenSource {
        TokenSource {
            address: address.to_string(),
            provider,
            mechanism,
            state: Mutex::new(TokenState::new(grant)),
            keep: keyring.map_or(Keep::Memory, Keep::Keyring),
            http,
        }
    }

    /// The grant `mailpay account add --oauth` stored for `address` in
    /// `keyring`, where refreshed grants go back. Blocking (the keyring).
    pub fn kept_in(
        keyring: &Keyring,
        address: &str,
        provider: Provider,
        mechanism: Mechanism,
    ) -> Result<TokenSource, OAuthError> {
        let grant = store::load(keyring, address)?;
        Ok(TokenSource::new(address, Some(provider), mechanism, grant, Some(keyring.clone()), https()))
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// The access token for a login now, refreshed first when due.
    pub async fn bearer(&self) -> Result<Secret, OAuthError> {
        let mut state = self.state.lock().await;
        match state.before_login(now()) {
            Next::Use(token) => Ok(token),
            Next::Refresh => self.refresh(&mut state).await,
            Next::SignInAgain => Err(self.sign_in_again()),
        }
    }

    /// The server refused `rejected` on the `attempt`th login (1: the
    /// first), saying `refusal` when it sent an error challenge: the token
    /// to try next, `None` when another try would not help (a second
    /// refusal, or one that is not about the token: the login error
    /// stands), or why there is no token any more.
    pub async fn after_rejection(
        &self,
        rejected: &Secret,
        attempt: u32,
        refusal: Option<&Refusal>,
    ) -> Result<Option<Secret>, OAuthError> {
        if attempt >= 2 || refusal.is_some_and(|r| !r.token_rejected()) {
            return Ok(None);
        }
        let mut state = self.state.lock().await;
        match state.after_rejection(rejected, attempt) {
            Next::Use(token) => Ok(Some(token)),
            Next::Refresh => self.refresh(&mut state).await.map(Some),
            Next::SignInAgain => Err(self.sign_in_again()),
        }
    }

    fn sign_in_again(&self) -> OAuthError {
        OAuthError::SignInAgain { account: self.address.clone() }
    }

    async fn refresh(&self, state: &mut TokenState) -> Result<Secret, OAuthError> {
        let Some(provider) = &self.provider else { return Err(self.sign_in_again()) };
        let Some(refresh_token) = state.grant().refresh_token.clone() else {
            return Err(self.sign_in_again());
        };
        let new = grant::refresh(provider, &refresh_token, &self.address, &self.http, now()).await?;
        state.refreshed(new);
        let token = state.grant().access_token.clone();
        if let Keep::Keyring(keyring) = &self.keep {
            let keyring = keyring.clone();
            let address = self.address.clone();
            let grant = state.grant().clone();
            // A grant that cannot be kept is refreshed again next time:
            // the login goes on.
            let _ = tokio::task::spawn_blocking(move || store::save(&keyring, &address, &grant)).await;
        }
        Ok(token)
    }
}

/// The sign-in's and the token source's futures run on tokio tasks (the
/// app's too): `Send`, checked when compiling (never called; the leading
/// underscore says so).
fn _futures_are_send(p: &Provider, s: &Secret, h: &Http, src: &TokenSource, sign_in: SignIn) {
    fn is_send<T: Send>(_: T) {}
    is_send(grant::refresh(p, s, "a", h, 0));
    is_send(src.bearer());
    is_send(src.after_rejection(s, 1, None));
    is_send(SignIn::start(p.clone(), "a"));
    is_send(sign_in.finish());
}
