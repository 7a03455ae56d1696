//! Who signs the user in: Google, Microsoft, or a provider named by its
//! endpoints (a provider's autoconfig `<oAuth2>` data, or a test server),
//! and the client registration MailPay signs in as.
//!
//! A desktop program needs a client registration of its own with each
//! provider. Its client id (and, for Google, the client secret Google
//! gives installed apps, which is not secret in the usual sense) comes
//! from the build (`MAILPAY_GOOGLE_CLIENT_ID`, `MAILPAY_GOOGLE_CLIENT_SECRET`,
//! `MAILPAY_MICROSOFT_CLIENT_ID` set when compiling) or from the account's
//! settings in config.toml (`client_id`, `client_secret`). There is no
//! default: without one the sign-in says so and suggests an app password.

use oauth2::url::{Host, Url};
use serde::{Deserialize, Serialize};

use super::OAuthError;
use super::sasl::Mechanism;
use crate::secrets::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Google,
    Microsoft,
    /// Endpoints given in the settings.
    Custom,
}

impl ProviderKind {
    /// Google or Microsoft by the issuer of their tokens (what a provider
    /// publishes in its mail settings); any other is [`ProviderKind::Custom`].
    pub fn for_issuer(issuer: &str) -> ProviderKind {
        match issuer.trim().to_ascii_lowercase().as_str() {
            GOOGLE_ISSUER => ProviderKind::Google,
            MICROSOFT_ISSUER => ProviderKind::Microsoft,
            _ => ProviderKind::Custom,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Google => "Google",
            ProviderKind::Microsoft => "Microsoft",
            ProviderKind::Custom => "the account's OAuth2 provider",
        }
    }
}

/// An account's OAuth2 settings as config.toml keeps them
/// (`[account.oauth2]`). No token is ever here: those are in the keyring.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Settings {
    pub provider: ProviderKind,
    /// The SASL mechanism for the mail servers (default XOAUTH2).
    #[serde(default, skip_serializing_if = "Mechanism::is_default")]
    pub mechanism: Mechanism,
    /// For `custom`: who issues the tokens, the two endpoints and the scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// A client registration of the user's own, instead of the build's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OAuth2Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Settings")
            .field("provider", &self.provider)
            .field("mechanism", &self.mechanism)
            .field("issuer", &self.issuer)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl OAuth2Settings {
    /// Who signs in, for messages: the provider, or a custom one's issuer.
    pub fn describe(&self) -> String {
        match (self.provider, &self.issuer) {
            (ProviderKind::Custom, Some(issuer)) => issuer.clone(),
            (kind, _) => kind.name().to_string(),
        }
    }

    /// The settings for a provider that publishes where it signs in (its
    /// mail settings' `<oAuth2>`): Google and Microsoft as themselves, so
    /// that MailPay's registration for them is used; any other with the
    /// endpoints and scopes it published.
    pub fn published(issuer: &str, scopes: &[String], auth_url: &str, token_url: &str) -> OAuth2Settings {
        let kind = ProviderKind::for_issuer(issuer);
        let mut settings = OAuth2Settings::of(kind);
        if kind == ProviderKind::Custom {
            settings.issuer = Some(issuer.to_string());
            settings.auth_url = Some(auth_url.to_string());
            settings.token_url = Some(token_url.to_string());
            settings.scopes = Some(scopes.to_vec()).filter(|s| !s.is_empty());
        }
        settings
    }

    pub fn of(provider: ProviderKind) -> OAuth2Settings {
        OAuth2Settings {
            provider,
            mechanism: Mechanism::default(),
            issuer: None,
            auth_url: None,
            token_url: None,
            scopes: None,
            client_id: None,
            client_secret: None,
        }
    }
}

/// The client MailPay signs in as.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: Option<Secret>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.client_secret.is_some() { "<hidden>" } else { "none" };
        write!(f, "Registration({}, secret {secret})", self.client_id)
    }
}

/// The registration this build was made with, if any.
pub fn built_in(kind: ProviderKind) -> Option<Registration> {
    let (id, secret) = match kind {
        ProviderKind::Google => {
            (option_env!("MAILPAY_GOOGLE_CLIENT_ID"), option_env!("MAILPAY_GOOGLE_CLIENT_SECRET"))
        }
        ProviderKind::Microsoft => {
            (option_env!("MAILPAY_MICROSOFT_CLIENT_ID"), option_env!("MAILPAY_MICROSOFT_CLIENT_SECRET"))
        }
        ProviderKind::Custom => (None, None),
    };
    let id = id.filter(|id| !id.trim().is_empty())?;
    Some(Registration {
        client_id: id.trim().to_string(),
        client_secret: secret.filter(|s| !s.trim().is_empty()).map(|s| Secret::new(s.trim())),
    })
}

/// Where to sign in, as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub kind: ProviderKind,
    /// Who issues the tokens (for messages, and autoconfig's `<issuer>`).
    pub issuer: String,
    pub auth_url: String,
    pub token_url: String,
    pub scopes: Vec<String>,
    pub registration: Registration,
}

const GOOGLE_ISSUER: &str = "accounts.google.com";
const MICROSOFT_ISSUER: &str = "login.microsoftonline.com";
const GOOGLE_AUTH: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
const MICROSOFT_AUTH: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
const MICROSOFT_TOKEN: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";

impl Provider {
    pub fn google(registration: Registration) -> Provider {
        Provider {
            kind: ProviderKind::Google,
            issuer: GOOGLE_ISSUER.into(),
            auth_url: GOOGLE_AUTH.into(),
            token_url: GOOGLE_TOKEN.into(),
            scopes: vec!["https://mail.google.com/".into()],
            registration,
        }
    }

    pub fn microsoft(registration: Registration) -> Provider {
        Provider {
            kind: ProviderKind::Microsoft,
            issuer: MICROSOFT_ISSUER.into(),
            auth_url: MICROSOFT_AUTH.into(),
            token_url: MICROSOFT_TOKEN.into(),
            scopes: vec![
                "https://outlook.office.com/IMAP.AccessAsUser.All".into(),
                "https://outlook.office.com/SMTP.Send".into(),
                "offline_access".into(),
            ],
            registration,
        }
    }

    /// A provider named by its endpoints; both must be `https://`, or
    /// `http://` to a loopback address.
    pub fn generic(
        issuer: &str,
        scopes: Vec<String>,
        auth_url: &str,
        token_url: &str,
        registration: Registration,
    ) -> Result<Provider, OAuthError> {
        check_endpoint("the authorization endpoint", auth_url)?;
        check_endpoint("the token endpoint", token_url)?;
        Ok(Provider {
            kind: ProviderKind::Custom,
            issuer: issuer.to_string(),
            auth_url: auth_url.to_string(),
            token_url: token_url.to_string(),
            scopes,
            registration,
        })
    }

    /// The provider an account's settings describe, with the settings'
    /// client registration or else the build's.
    pub fn from_settings(settings: &OAuth2Settings) -> Result<Provider, OAuthError> {
        let registration = match &settings.client_id {
            Some(id) if !id.trim().is_empty() => Registration {
                client_id: id.trim().to_string(),
                client_secret: settings.client_secret.as_deref().map(Secret::new),
            },
            _ => built_in(settings.provider)
                .ok_or_else(|| OAuthError::NoClientId { provider: settings.provider.name().to_string() })?,
        };
        let mut provider = match settings.provider {
            ProviderKind::Google => Provider::google(registration),
            ProviderKind::Microsoft => Provider::microsoft(registration),
            ProviderKind::Custom => {
                let missing = |what: &'static str| OAuthError::Endpoint {
                    what,
                    url: String::new(),
                    reason: "a custom provider needs auth_url and token_url in [account.oauth2]".into(),
                };
                let auth =
                    settings.auth_url.as_deref().ok_or_else(|| missing("the authorization endpoint"))?;
                let token = settings.token_url.as_deref().ok_or_else(|| missing("the token endpoint"))?;
                let issuer = settings.issuer.clone().unwrap_or_else(|| auth.to_string());
                Provider::generic(&issuer, Vec::new(), auth, token, registration)?
            }
        };
        if let Some(scopes) = &settings.scopes {
            provider.scopes.clone_from(scopes);
        }
        Ok(provider)
    }
}

/// `https://`, or plain `http://` only to a loopback address (a provider
/// on this machine, such as a test server): tokens never cross a network
/// in the clear.
pub fn check_endpoint(what: &'static str, url: &str) -> Result<(), OAuthError> {
    let bad = |reason: &str| OAuthError::Endpoint { what, url: url.to_string(), reason: reason.to_string() };
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it carries a user name or password"));
    }
    match (parsed.scheme(), parsed.host()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(Host::Ipv4(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(Host::Ipv6(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(Host::Domain("localhost"))) => Ok(()),
        ("http", _) => Err(bad("plain http:// is only allowed to this machine (127.0.0.1); use https://")),
        _ => Err(bad("it is not an https:// address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> Registration {
        Registration { client_id: "id".into(), client_secret: None }
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        for ok in [
            "https://accounts.google.com/o/oauth2/v2/auth",
            "http://127.0.0.1:9000/token",
            "http://[::1]:80/",
        ] {
            assert_eq!(check_endpoint("x", ok), Ok(()), "{ok}");
        }
        for bad in
            ["http://auth.example/token", "http://10.0.0.1/token", "ftp://x/", "https://u:p@x/", "nonsense"]
        {
            assert!(check_endpoint("x", bad).is_err(), "{bad}");
        }
        assert!(
            Provider::generic("i", vec![], "http://auth.example/a", "https://x/t", registration()).is_err()
        );
    }

    #[test]
    fn without_a_client_id_the_error_says_what_to_do() {
        let settings = OAuth2Settings::of(ProviderKind::Custom);
        assert!(matches!(Provider::from_settings(&settings), Err(OAuthError::NoClientId { .. })));
        if built_in(ProviderKind::Google).is_none() {
            let err = Provider::from_settings(&OAuth2Settings::of(ProviderKind::Google)).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("client id") && text.contains("app password"), "{text}");
        }
    }

    #[test]
    fn settings_name_the_endpoints_and_scopes() {
        let mut settings = OAuth2Settings::of(ProviderKind::Custom);
        settings.client_id = Some("mailpay-test".into());
        settings.auth_url = Some("http://127.0.0.1:8000/authorize".into());
        settings.token_url = Some("http://127.0.0.1:8000/token".into());
        settings.scopes = Some(vec!["mail".into()]);
        let provider = Provider::from_settings(&settings).unwrap();
        assert_eq!(provider.scopes, ["mail"]);
        assert_eq!(provider.registration.client_id, "mailpay-test");
        settings.client_id = Some("own".into());
        settings.provider = ProviderKind::Microsoft;
        let microsoft = Provider::from_settings(&settings).unwrap();
        assert_eq!(microsoft.auth_url, MICROSOFT_AUTH);
        assert_eq!(format!("{:?}", microsoft.registration), "Registration(own, secret none)");
        assert_eq!(ProviderKind::for_issuer("Accounts.Google.com"), ProviderKind::Google);
        let published = OAuth2Settings::published(
            "auth.example.net",
            &["mail".to_string()],
            "https://auth.example.net/authorize",
            "https://auth.example.net/token",
        );
        assert_eq!(published.provider, ProviderKind::Custom);
        assert_eq!(published.token_url.as_deref(), Some("https://auth.example.net/token"));
        assert_eq!(published.scopes, Some(vec!["mail".to_string()]));
        let google = OAuth2Settings::published(
            GOOGLE_ISSUER,
            &[],
            "https://elsewhere.example/a",
            "https://elsewhere.example/t",
        );
        assert_eq!(
            (google.provider, google.auth_url),
            (ProviderKind::Google, None),
            "Google's own endpoints"
        );
        settings.client_secret = Some("s3cr3t".into());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cr3t") && shown.contains("<hidden>"), "{shown}");
    }
}
