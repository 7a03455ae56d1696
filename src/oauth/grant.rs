//! The authorization code grant with PKCE (RFC 7636, S256) for a program
//! on the user's machine (RFC 8252): the browser goes to the provider with
//! a loopback redirect `http://127.0.0.1:PORT/`, comes back with a code
//! and the `state` it left with, and the code is exchanged for tokens with
//! the PKCE verifier. Refreshing uses the same token endpoint.
//!
//! The `oauth2` crate builds the URLs and requests and reads the token
//! answers; the HTTP call itself is handed in ([`Http`]: an async function
//! from an `http::Request<Vec<u8>>` to an `http::Response<Vec<u8>>`), so
//! nothing here does I/O and the whole exchange is tested with a fake.
//! The crate's own async entry point is not used: its future cannot be
//! shown to be `Send` (a higher-ranked bound), which a tokio task needs.
//! Instead its blocking entry point runs twice around the call, first to
//! build the request, then to read the answer ([`round_trip`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hyper::{Request, Response};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};

use super::OAuthError;
use super::provider::Provider;
use super::tokens::Grant;
use super::transport::TransportError;
use crate::secrets::Secret;

/// An HTTP call to the token endpoint, handed in (the real one is
/// `super::transport::send`; tests give a fake).
pub type HttpFuture = Pin<Box<dyn Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send>>;
pub type Http = Arc<dyn Fn(Request<Vec<u8>>) -> HttpFuture + Send + Sync>;

type Configured = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn client(provider: &Provider, redirect_uri: Option<&str>) -> Result<Configured, OAuthError> {
    let endpoint = |what: &'static str, url: &str, e: oauth2::url::ParseError| OAuthError::Endpoint {
        what,
        url: url.to_string(),
        reason: e.to_string(),
    };
    let auth = AuthUrl::new(provider.auth_url.clone())
        .map_err(|e| endpoint("the authorization endpoint", &provider.auth_url, e))?;
    let token = TokenUrl::new(provider.token_url.clone())
        .map_err(|e| endpoint("the token endpoint", &provider.token_url, e))?;
    let mut client = BasicClient::new(ClientId::new(provider.registration.client_id.clone()))
        .set_auth_uri(auth)
        .set_token_uri(token)
        // Installed apps send their (public) secret, if any, in the body:
        // both Google and Microsoft take it there.
        .set_auth_type(AuthType::RequestBody);
    if let Some(secret) = &provider.registration.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    if let Some(uri) = redirect_uri {
        let redirect =
            RedirectUrl::new(uri.to_string()).map_err(|e| endpoint("the redirect address", uri, e))?;
        client = client.set_redirect_uri(redirect);
    }
    Ok(client)
}

/// One sign-in's request: where to send the browser, and what the
/// redirect must bring back.
pub struct Authorization {
    /// The provider's page the browser opens.
    pub url: String,
    pub redirect_uri: String,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authorization(redirect {}, state and verifier <hidden>)", self.redirect_uri)
    }
}

impl Authorization {
    /// A fresh request (random `state` and PKCE verifier) for the
    /// loopback redirect on `port`; `login_hint` pre-fills the account.
    pub fn new(provider: &Provider, port: u16, login_hint: &str) -> Result<Authorization, OAuthError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Authorization::with(provider, port, login_hint, challenge, verifier, CsrfToken::new_random())
    }

    fn with(
        provider: &Provider,
        port: u16,
        login_hint: &str,
        challenge: PkceCodeChallenge,
        verifier: PkceCodeVerifier,
        state: CsrfToken,
    ) -> Result<Authorization, OAuthError> {
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let client = client(provider, Some(&redirect_uri))?;
        let state_for_url = state.clone();
        let mut request = client
            .authorize_url(move || state_for_url)
            .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .add_extra_param("login_hint", login_hint);
        if provider.kind == super::provider::ProviderKind::Google {
            // A refresh token, for the logins after this hour.
            request = request.add_extra_param("access_type", "offline");
        }
        let (url, _) = request.url();
        Ok(Authorization { url: url.to_string(), redirect_uri, state, verifier })
    }

    /// Reads the redirect's request target (`/?code=...&state=...`).
    pub fn check_redirect(&self, target: &str) -> Redirect {
        let Some(query) = target.strip_prefix("/?") else { return Redirect::Other };
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (key, value) in oauth2::url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "code" => code = Some(value.into_owned()),
                "state" => state = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                "error_description" => description = Some(value.into_owned()),
                _ => {}
            }
        }
        if code.is_none() && error.is_none() {
            return Redirect::Other;
        }
        let expected = self.state.secret().as_bytes();
        let matches = state.as_deref().is_some_and(|s| constant_time_eq(s.as_bytes(), expected));
        if !matches {
            return Redirect::WrongState;
        }
        match (code, error) {
            (_, Some(error)) => Redirect::Declined(match description {
                Some(d) => format!("{error}: {d}"),
                None => error,
            }),
            (Some(code), None) => Redirect::Code(Secret::new(code)),
            (None, None) => Redirect::Other,
        }
    }

    /// Exchanges the code (with the PKCE verifier) for a grant, received
    /// at `now` (unix seconds).
    pub async fn exchange(
        self,
        provider: &Provider,
        code: &Secret,
        http: &Http,
        now: u64,
    ) -> Result<Grant, OAuthError> {
        let client = client(provider, Some(&self.redirect_uri))?;
        let answer = round_trip(http, |call| {
            client
                .exchange_code(AuthorizationCode::new(code.expose().to_string()))
                .set_pkce_verifier(PkceCodeVerifier::new(self.verifier.secret().clone()))
                .request(&call)
        })
        .await
        .map_err(|e| token_error(e, ""))?;
        let grant = grant_of(&answer, now);
        if grant.refresh_token.is_none() {
            return Err(OAuthError::Answer {
                reason:
                    "the provider gave no refresh token (for Microsoft, the offline_access scope is needed)"
                        .into(),
            });
        }
        Ok(grant)
    }
}

/// What came to the loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// The code, with the right `state`.
    Code(Secret),
    /// The user (or the provider) said no, with the right `state`.
    Declined(String),
    /// A code or an error with a `state` that is not this sign-in's: a
    /// forged or stale redirect, refused.
    WrongState,
    /// Not a redirect at all (`/favicon.ico`, a stray request).
    Other,
}

/// Refreshes the access token of `account`'s grant; `invalid_grant`
/// (revoked, expired, password changed) means signing in again.
pub async fn refresh(
    provider: &Provider,
    refresh_token: &Secret,
    account: &str,
    http: &Http,
    now: u64,
) -> Result<Grant, OAuthError> {
    let client = client(provider, None)?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let answer = round_trip(http, |call| client.exchange_refresh_token(&token).request(&call))
        .await
        .map_err(|e| token_error(e, account))?;
    Ok(grant_of(&answer, now))
}

type TokenResult = Result<BasicTokenResponse, RequestTokenError<TransportError, BasicErrorResponse>>;
type Call<'a> = &'a dyn Fn(oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError>;

/// Runs a token request: `make` builds it (its HTTP call is captured,
/// not made), `http` sends it, and `make` again reads the answer.
async fn round_trip(http: &Http, make: impl Fn(Call<'_>) -> TokenResult) -> TokenResult {
    let captured = std::sync::Mutex::new(None);
    let first = make(&|request| {
        if let Ok(mut slot) = captured.lock() {
            *slot = Some(request);
        }
        Err(TransportError { url: String::new(), reason: "the request was only built".into() })
    });
    let Some(request) = captured.lock().ok().and_then(|mut slot| slot.take()) else { return first };
    drop(first);
    let response = http(request).await.map_err(RequestTokenError::Request)?;
    let (parts, body) = response.into_parts();
    make(&|_| {
        let mut answer = hyper::Response::new(body.clone());
        *answer.status_mut() = parts.status;
        *answer.headers_mut() = parts.headers.clone();
        Ok(answer)
    })
}

fn grant_of(answer: &BasicTokenResponse, now: u64) -> Grant {
    Grant::received(
        Secret::new(answer.access_token().secret().clone()),
        answer.expires_in().map(|d| d.as_secs()),
        answer.refresh_token().map(|t| Secret::new(t.secret().clone())),
        now,
    )
}

fn token_error<E: std::error::Error>(
    e: RequestTokenError<E, oauth2::basic::BasicErrorResponse>,
    account: &str,
) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(answer) => match answer.error() {
            BasicErrorResponseType::InvalidGrant => OAuthError::SignInAgain { account: account.to_string() },
            other => OAuthError::Refused {
                reason: match answer.error_description() {
                    Some(d) => format!("{other}: {d}"),
                    None => other.to_string(),
                },
            },
        },
        RequestTokenError::Request(e) => OAuthError::Unreachable { reason: e.to_string() },
        RequestTokenError::Parse(e, _) => OAuthError::Answer { reason: e.to_string() },
        RequestTokenError::Other(e) => OAuthError::Answer { reason: e },
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::provider::Registration;
    use std::sync::Mutex;

    fn provider() -> Provider {
        Provider::generic(
            "test",
            vec!["mail".into(), "offline_access".into()],
            "https://auth.example/authorize",
            "https://auth.example/token",
            Registration { client_id: "mailpay-test".into(), client_secret: Some(Secret::new("s3")) },
        )
        .unwrap()
    }

    /// RFC 7636, appendix B.
    #[test]
    fn pkce_s256_matches_rfc_7636() {
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(challenge.method().as_str(), "S256");
    }

    fn fixed() -> Authorization {
        let verifier = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        Authorization::with(
            &provider(),
            4321,
            "a@b.test",
            challenge,
            verifier,
            CsrfToken::new("st4te".into()),
        )
        .unwrap()
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_and_the_loopback_redirect() {
        let auth = fixed();
        let url = oauth2::url::Url::parse(&auth.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "mailpay-test");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:4321/");
        assert_eq!(q["code_challenge"], "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], "st4te");
        assert_eq!(q["scope"], "mail offline_access");
        assert_eq!(q["login_hint"], "a@b.test");
        assert!(!auth.url.contains("s3"), "no secret in the browser's URL");
        let random = Authorization::new(&provider(), 1, "x").unwrap();
        assert_ne!(random.state.secret(), "st4te");
    }

    #[test]
    fn a_redirect_with_another_state_is_refused() {
        let auth = fixed();
        assert_eq!(auth.check_redirect("/?code=c0de&state=st4te"), Redirect::Code(Secret::new("c0de")));
        assert_eq!(auth.check_redirect("/?code=c0de&state=other"), Redirect::WrongState);
        assert_eq!(auth.check_redirect("/?code=c0de"), Redirect::WrongState);
        assert_eq!(auth.check_redirect("/?error=access_denied&state=forged"), Redirect::WrongState);
        assert_eq!(
            auth.check_redirect("/?error=access_denied&error_description=no+thanks&state=st4te"),
            Redirect::Declined("access_denied: no thanks".into())
        );
        assert_eq!(auth.check_redirect("/favicon.ico"), Redirect::Other);
        assert_eq!(auth.check_redirect("/?foo=bar"), Redirect::Other);
    }

    type Sent = Arc<Mutex<Vec<String>>>;

    /// A token endpoint that answers `status` and `body`, and records the
    /// request bodies.
    fn endpoint(status: u16, body: &'static str, sent: Sent) -> Http {
        Arc::new(move |request: oauth2::HttpRequest| {
            sent.lock().unwrap().push(String::from_utf8_lossy(request.body()).into_owned());
            let response = hyper::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body.as_bytes().to_vec())
                .unwrap();
            Box::pin(std::future::ready(Ok(response)))
        })
    }

    #[tokio::test]
    async fn the_code_is_exchanged_with_the_verifier() {
        let sent = Sent::default();
        let http = endpoint(
            200,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}"#,
            sent.clone(),
        );
        let grant = fixed().exchange(&provider(), &Secret::new("c0de"), &http, 100).await.unwrap();
        assert_eq!(grant.access_token, Secret::new("at"));
        assert_eq!(grant.refresh_token, Some(Secret::new("rt")));
        assert_eq!(grant.expires_at, Some(3700));
        let body = sent.lock().unwrap()[0].clone();
        for part in [
            "grant_type=authorization_code",
            "code=c0de",
            "code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2F",
            "client_id=mailpay-test",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }

    #[tokio::test]
    async fn invalid_grant_means_sign_in_again() {
        let http =
            endpoint(400, r#"{"error":"invalid_grant","error_description":"revoked"}"#, Sent::default());
        let err = refresh(&provider(), &Secret::new("rt"), "a@b.test", &http, 0).await.unwrap_err();
        assert_eq!(err, OAuthError::SignInAgain { account: "a@b.test".into() });
        assert!(err.to_string().contains("sign in again"), "{err}");
        let http = endpoint(400, r#"{"error":"invalid_client"}"#, Sent::default());
        let err = refresh(&provider(), &Secret::new("rt"), "a@b.test", &http, 0).await.unwrap_err();
        assert!(matches!(err, OAuthError::Refused { .. }), "{err}");
        let ok =
            endpoint(200, r#"{"access_token":"a2","token_type":"bearer","expires_in":60}"#, Sent::default());
        let grant = refresh(&provider(), &Secret::new("rt"), "a@b.test", &ok, 0).await.unwrap();
        assert_eq!(grant.access_token, Secret::new("a2"));
        assert_eq!(grant.refresh_token, None);
    }
}
