//! The provider database shipped in the binary: one clientConfig file per
//! provider under `assets/providers/`, in the same XML as providers'
//! autoconfig answers (a packager can add files in Thunderbird's ISPDB
//! format to [`FILES`]). Looked up by mail domain, or by the host name of
//! a domain's MX server for domains hosted at a provider (Google
//! Workspace, Microsoft 365).

use std::sync::OnceLock;

use super::config_xml::{self, ProviderConfig};

/// The bundled files: name and text.
pub const FILES: &[(&str, &str)] = &[
    ("gmail.xml", include_str!("../../assets/providers/gmail.xml")),
    ("outlook.xml", include_str!("../../assets/providers/outlook.xml")),
    ("microsoft365.xml", include_str!("../../assets/providers/microsoft365.xml")),
    ("yahoo.xml", include_str!("../../assets/providers/yahoo.xml")),
    ("yahoo-japan.xml", include_str!("../../assets/providers/yahoo-japan.xml")),
    ("icloud.xml", include_str!("../../assets/providers/icloud.xml")),
    ("fastmail.xml", include_str!("../../assets/providers/fastmail.xml")),
    ("aol.xml", include_str!("../../assets/providers/aol.xml")),
    ("gmx.xml", include_str!("../../assets/providers/gmx.xml")),
    ("gmx-com.xml", include_str!("../../assets/providers/gmx-com.xml")),
    ("web-de.xml", include_str!("../../assets/providers/web-de.xml")),
    ("mail-ru.xml", include_str!("../../assets/providers/mail-ru.xml")),
    ("yandex.xml", include_str!("../../assets/providers/yandex.xml")),
    ("zoho.xml", include_str!("../../assets/providers/zoho.xml")),
    ("proton.xml", include_str!("../../assets/providers/proton.xml")),
    ("ocn.xml", include_str!("../../assets/providers/ocn.xml")),
];

/// A bundled provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its file under `assets/providers/`.
    pub file: &'static str,
    pub config: ProviderConfig,
}

impl Provider {
    /// The name to show: its display name, else its id.
    pub fn name(&self) -> &str {
        self.config.display_name.as_deref().unwrap_or(&self.config.id)
    }
}

/// Every bundled provider, parsed once. A file that does not parse is
/// left out (the tests make sure none is).
pub fn all() -> &'static [Provider] {
    static ALL: OnceLock<Vec<Provider>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(file, xml)| config_xml::parse(xml).ok().map(|config| Provider { file, config }))
            .collect()
    })
}

/// The provider serving mail `domain` (`gmail.com`).
pub fn by_domain(domain: &str) -> Option<&'static Provider> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    all().iter().find(|p| p.config.domains.contains(&domain))
}

/// The provider whose MX servers include `mx_host` (`aspmx.l.google.com`
/// is Google's: its suffix `google.com` is Gmail's `<mx>`).
pub fn by_mx(mx_host: &str) -> Option<&'static Provider> {
    let host = mx_host.trim_end_matches('.').to_ascii_lowercase();
    all().iter().find(|p| p.config.mx.iter().any(|suffix| is_within(&host, suffix)))
}

/// Whether `host` is `suffix` or a name under it.
fn is_within(host: &str, suffix: &str) -> bool {
    host == suffix || host.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoconfig::config_xml::SignIn;
    use crate::mail::account::Security;

    #[test]
    fn every_bundled_entry_parses_and_has_secure_imap_and_smtp() {
        assert_eq!(all().len(), FILES.len(), "a bundled file does not parse");
        for (file, xml) in FILES {
            let config = config_xml::parse(xml).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(config.display_name.is_some(), "{file}: no display name");
            assert!(!config.domains.is_empty() || !config.mx.is_empty(), "{file}: found by nothing");
            assert!(!config.quirks.is_empty() || *file == "ocn.xml", "{file}: nothing to tell the user");
            for quirk in &config.quirks {
                assert!(quirk.url.as_deref().is_none_or(|u| u.starts_with("https://")), "{file}: {quirk}");
            }
            let domain = config.domains.first().cloned().unwrap_or_else(|| "example.com".into());
            let address = format!("taro@{domain}").parse().unwrap();
            let settings = config.settings_for(&address).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(config.skipped.is_empty(), "{file}: {:?}", config.skipped);
            assert!(!settings.sign_in.is_empty());
            for server in [&settings.imap, &settings.smtp] {
                assert!(matches!(server.security, Security::Tls | Security::Starttls));
            }
        }
    }

    #[test]
    fn no_domain_or_mx_suffix_belongs_to_two_providers() {
        let mut domains = std::collections::HashSet::new();
        let mut mx = std::collections::HashSet::new();
        for p in all() {
            for d in &p.config.domains {
                assert!(domains.insert(d.clone()), "{d} twice");
            }
            for m in &p.config.mx {
                assert!(mx.insert(m.clone()), "{m} twice");
            }
        }
    }

    /// Who is found for an address, and with what.
    #[test]
    fn finds_the_well_known_providers() {
        let oauth2 = |s: &[SignIn]| {
            s.iter().find_map(|s| match s {
                SignIn::OAuth2(o) => Some(o.issuer.clone()),
                _ => None,
            })
        };
        /// An address (or an MX host), and what it finds.
        struct Row {
            address: &'static str,
            mx: Option<&'static str>,
            imap: &'static str,
            smtp: (&'static str, u16, Security),
            oauth2: Option<&'static str>,
            app_password: bool,
        }
        let row = |address, mx, imap, smtp, oauth2, app_password| Row {
            address,
            mx,
            imap,
            smtp,
            oauth2,
            app_password,
        };
        let (google, microsoft) = (Some("accounts.google.com"), Some("login.microsoftonline.com"));
        let gmail = ("smtp.gmail.com", 465, Security::Tls);
        let outlook = ("smtp-mail.outlook.com", 587, Security::Starttls);
        let table = [
            row("a@gmail.com", None, "imap.gmail.com", gmail, google, true),
            row("a@googlemail.com", None, "imap.gmail.com", gmail, google, true),
            row("a@outlook.com", None, "outlook.office365.com", outlook, microsoft, false),
            row("a@hotmail.com", None, "outlook.office365.com", outlook, microsoft, false),
            row(
                "a@shop.example",
                Some("shop-example.mail.protection.outlook.com"),
                "outlook.office365.com",
                ("smtp.office365.com", 587, Security::Starttls),
                microsoft,
                false,
            ),
            row("a@shop.example", Some("aspmx.l.google.com."), "imap.gmail.com", gmail, google, true),
            row(
                "a@yahoo.com",
                None,
                "imap.mail.yahoo.com",
                ("smtp.mail.yahoo.com", 465, Security::Tls),
                None,
                true,
            ),
            row(
                "a@yahoo.co.jp",
                None,
                "imap.mail.yahoo.co.jp",
                ("smtp.mail.yahoo.co.jp", 465, Security::Tls),
                None,
                false,
            ),
            row(
                "a@icloud.com",
                None,
                "imap.mail.me.com",
                ("smtp.mail.me.com", 587, Security::Starttls),
                None,
                true,
            ),
            row(
                "a@fastmail.com",
                None,
                "imap.fastmail.com",
                ("smtp.fastmail.com", 465, Security::Tls),
                None,
                true,
            ),
        ];
        for r in table {
            let provider = match r.mx {
                Some(mx) => by_mx(mx),
                None => by_domain(r.address.rsplit_once('@').unwrap().1),
            };
            let provider = provider.unwrap_or_else(|| panic!("{} {:?}: no provider", r.address, r.mx));
            let s = provider.config.settings_for(&r.address.parse().unwrap()).unwrap();
            assert_eq!((s.imap.host.as_str(), s.imap.port, s.imap.security), (r.imap, 993, Security::Tls));
            assert_eq!((s.smtp.host.as_str(), s.smtp.port, s.smtp.security), r.smtp, "{}", r.address);
            assert_eq!(oauth2(&s.sign_in).as_deref(), r.oauth2, "{}", r.address);
            assert_eq!(s.sign_in.contains(&SignIn::AppPassword), r.app_password, "{}", r.address);
        }
        let japan = by_domain("yahoo.co.jp")
            .unwrap()
            .config
            .settings_for(&"taro@yahoo.co.jp".parse().unwrap())
            .unwrap();
        assert_eq!(japan.username, "taro", "Yahoo! JAPAN signs in with the ID");
        assert!(japan.quirks.iter().any(|q| q.text.contains("allow access")));
        let icloud = by_domain("me.com").unwrap().config.settings_for(&"a@me.com".parse().unwrap()).unwrap();
        assert!(
            icloud.quirks.iter().any(|q| q.url.as_deref() == Some("https://support.apple.com/en-us/102654"))
        );
    }

    #[test]
    fn mx_suffixes_match_whole_labels() {
        assert!(by_mx("alt1.aspmx.l.google.com").is_some());
        assert!(by_mx("GOOGLE.COM.").is_some());
        assert!(by_mx("notgoogle.com").is_none());
        assert!(by_mx("google.com.evil.test").is_none());
        assert!(by_domain("example.com").is_none());
        assert_eq!(by_domain("Yahoo.CO.JP").map(Provider::name), Some("Yahoo! JAPAN Mail"));
    }
}
