//! Finding an address's mail servers, as Thunderbird-class mail clients
//! do ("autoconfig"). For `user@domain`, the first of these that gives
//! usable IMAP and SMTP servers wins:
//!
//! 1. the provider database shipped in the binary ([`providers`]);
//! 2. `https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>`;
//! 3. `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`;
//! 4. RFC 6186 SRV records (`_imaps._tcp`, `_imap._tcp`, `_submissions._tcp`,
//!    `_submission._tcp`);
//! 5. the domain's MX: a bundled provider hosting it (Google Workspace,
//!    Microsoft 365), else steps 2 and 3 for the MX host's domain;
//! 6. a guess ([`Account::guess`]: `imap.<domain>`, `smtp.<domain>`).
//!
//! Every network step is bounded: [`Options::step_time`] each and
//! [`Options::total_time`] for the whole lookup, at most
//! [`Options::max_xml`] bytes of XML read, at most [`MAX_REDIRECTS`]
//! redirects followed and only to `https://`. What failed on the way is
//! kept in [`Discovery::failures`] for the screen to tell.
//!
//! [`config_xml`] parses the XML without I/O, [`dns`] asks DNS; the I/O
//! of the steps is here.

pub mod config_xml;
pub mod dns;
pub mod providers;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config_xml::{OAuth2Endpoints, Quirk, SignIn};

use crate::http::{self, HttpError};
use crate::mail::account::{Account, Auth, Route, Security, Server};
use crate::protocol::EmailAddress;
use config_xml::{ConfigError, Settings};
use dns::{Dns, Service};

/// Redirects followed by one autoconfig request, each to `https://` only.
pub const MAX_REDIRECTS: usize = 2;

/// How the lookup goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The most one step (one server asked, one DNS question) may take.
    pub step_time: Duration,
    /// The most the whole lookup may take before it settles for a guess.
    pub total_time: Duration,
    /// The most XML read from one answer; reading stops past it (the
    /// parser takes no more than [`config_xml::MAX_XML`] in any case).
    pub max_xml: usize,
    /// An extra CA (PEM) trusted for the autoconfig servers' HTTPS
    /// besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The name server to ask; `None`: the system's configuration.
    pub name_server: Option<SocketAddr>,
    /// Skip the network: only the bundled database, then the guess.
    pub offline: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            step_time: Duration::from_secs(5),
            total_time: Duration::from_secs(20),
            max_xml: config_xml::MAX_XML,
            ca_file: None,
            name_server: None,
            offline: false,
        }
    }
}

/// Where the settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// MailPay's own provider database.
    Bundled { provider: String },
    /// The domain's autoconfig server.
    Autoconfig { url: String },
    /// The domain's web server, under `/.well-known/`.
    WellKnown { url: String },
    /// The domain's SRV records (RFC 6186).
    Srv,
    /// The domain's MX is a bundled provider's.
    Mx { mx_host: String, provider: String },
    /// The configuration published by the domain of the domain's MX host.
    MxDomain { mx_host: String, url: String },
    /// Nothing was found: the usual names, unchecked.
    Guess,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bundled { provider } => write!(f, "MailPay's list of mail providers ({provider})"),
            Source::Autoconfig { url } => write!(f, "the settings the mail domain publishes at {url}"),
            Source::WellKnown { url } => {
                write!(f, "the settings the mail domain's web site publishes at {url}")
            }
            Source::Srv => f.write_str("the mail domain's DNS service records (SRV)"),
            Source::Mx { mx_host, provider } => {
                write!(f, "the domain's mail is handled by {provider} (its MX server is {mx_host})")
            }
            Source::MxDomain { mx_host, url } => {
                write!(f, "the settings of its mail host ({mx_host}), published at {url}")
            }
            Source::Guess => f.write_str(
                "a guess from the domain name: nothing published them, so check them \
                 (mailpay account test) or ask your provider",
            ),
        }
    }
}

/// A step of the lookup that gave nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was asked: a URL, or a DNS name and record type.
    pub asked: String,
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.asked, self.reason)
    }
}

/// What the lookup found for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Servers and user name filled in.
    pub account: Account,
    pub source: Source,
    /// Ways to sign in, best first; never empty.
    pub sign_in: Vec<SignIn>,
    pub provider_name: Option<String>,
    /// What the user must know or do once.
    pub quirks: Vec<Quirk>,
    /// The steps tried before, and why each gave nothing.
    pub failures: Vec<Failure>,
}

impl Discovery {
    /// Whether the servers were only guessed.
    pub fn is_guess(&self) -> bool {
        self.source == Source::Guess
    }

    /// Where the provider signs in, when signing in with it is possible.
    pub fn oauth2(&self) -> Option<&OAuth2Endpoints> {
        self.sign_in.iter().find_map(|s| match s {
            SignIn::OAuth2(o) => Some(o),
            _ => None,
        })
    }

    /// The account's OAuth2 settings for signing in with the provider
    /// (Google and Microsoft with MailPay's registration for them).
    pub fn oauth2_settings(&self) -> Option<crate::oauth::provider::OAuth2Settings> {
        self.oauth2().map(|o| {
            crate::oauth::provider::OAuth2Settings::published(&o.issuer, &o.scopes, &o.auth_url, &o.token_url)
        })
    }

    fn found(
        address: &EmailAddress,
        source: Source,
        settings: Settings,
        failures: Vec<Failure>,
    ) -> Discovery {
        Discovery {
            account: Account {
                address: address.clone(),
                username: settings.username,
                smtp: settings.smtp,
                imap: settings.imap,
                ca_file: None,
                route: Route::Servers,
                auth: Auth::Password,
                oauth2: None,
            },
            source,
            sign_in: settings.sign_in,
            provider_name: settings.provider_name,
            quirks: settings.quirks,
            failures,
        }
    }
}

impl fmt::Display for Discovery {
    /// Several lines: the servers, where they came from, how to sign in,
    /// what to do once, and what failed on the way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.account;
        if let Some(name) = &self.provider_name {
            writeln!(f, "provider: {name}")?;
        }
        writeln!(f, "IMAP: {}:{} ({})", a.imap.host, a.imap.port, security(a.imap.security))?;
        writeln!(f, "SMTP: {}:{} ({})", a.smtp.host, a.smtp.port, security(a.smtp.security))?;
        writeln!(f, "user name: {}", a.username)?;
        writeln!(f, "found in: {}", self.source)?;
        let ways: Vec<String> = self.sign_in.iter().map(ToString::to_string).collect();
        write!(f, "sign in with: {}", ways.join(", or "))?;
        for quirk in &self.quirks {
            write!(f, "\nnote: {quirk}")?;
        }
        for failure in &self.failures {
            write!(f, "\ntried: {failure}")?;
        }
        Ok(())
    }
}

fn security(s: Security) -> &'static str {
    match s {
        Security::Tls => "TLS",
        Security::Starttls => "STARTTLS",
    }
}

/// The servers of `address`'s bundled provider, without any I/O.
pub fn bundled(address: &EmailAddress) -> Option<Discovery> {
    let provider = providers::by_domain(address.domain())?;
    let settings = provider.config.settings_for(address).ok()?;
    let source = Source::Bundled { provider: provider.name().to_string() };
    Some(Discovery::found(address, source, settings, Vec::new()))
}

/// Finds `address`'s servers (see the module documentation); never fails:
/// at worst the result is a [`Source::Guess`], with what failed on the way.
pub async fn discover(address: &EmailAddress, options: &Options) -> Discovery {
    let mut lookup = Lookup::new(address, options);
    match lookup.run().await {
        Some((source, settings)) => Discovery::found(address, source, settings, lookup.failures),
        None => {
            if lookup.out_of_time {
                let limit = seconds(options.total_time);
                lookup.fail("the lookup", format!("took longer than {limit} in all and was stopped"));
            }
            guess(address, lookup.failures)
        }
    }
}

fn guess(address: &EmailAddress, failures: Vec<Failure>) -> Discovery {
    let account = generic_guess(address);
    Discovery {
        account,
        source: Source::Guess,
        sign_in: vec![SignIn::Password],
        provider_name: None,
        quirks: Vec::new(),
        failures,
    }
}

/// `imap.<domain>` on 993 and `smtp.<domain>` on 465, both TLS.
pub fn generic_guess(address: &EmailAddress) -> Account {
    let domain = address.domain();
    Account {
        username: address.as_str().to_string(),
        address: address.clone(),
        smtp: Server { host: format!("smtp.{domain}"), port: 465, security: Security::Tls },
        imap: Server { host: format!("imap.{domain}"), port: 993, security: Security::Tls },
        ca_file: None,
        route: Route::Servers,
        auth: Auth::Password,
        oauth2: None,
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f32()) }
}

/// One lookup under way.
struct Lookup<'a> {
    address: &'a EmailAddress,
    options: &'a Options,
    deadline: Instant,
    failures: Vec<Failure>,
    out_of_time: bool,
    dns: Option<Dns>,
    http: http::Client,
}

type Found = (Source, Settings);

impl<'a> Lookup<'a> {
    fn new(address: &'a EmailAddress, options: &'a Options) -> Lookup<'a> {
        let mut failures = Vec::new();
        let dns = match (options.offline, options.name_server) {
            (true, _) => None,
            (false, Some(server)) => Some(Dns::with_server(server, options.step_time)),
            (false, None) => Some(Dns::system(options.step_time)),
        };
        let dns = dns.and_then(|made| {
            made.map_err(|e| failures.push(Failure { asked: "DNS".into(), reason: e.to_string() })).ok()
        });
        let limits = http::Limits { time: options.step_time, max_body: options.max_xml };
        let mut client = http::Client::trusting(options.ca_file.as_deref()).with_limits(limits);
        if let Some(dns) = &dns {
            client = client.with_resolver(Arc::new(dns.clone()));
        }
        Lookup {
            address,
            options,
            deadline: Instant::now() + options.total_time,
            failures,
            out_of_time: false,
            dns,
            http: client,
        }
    }

    fn fail(&mut self, asked: impl Into<String>, reason: impl Into<String>) {
        self.failures.push(Failure { asked: asked.into(), reason: reason.into() });
    }

    /// The time left for one step: [`Options::step_time`], or less near
    /// the end of the whole lookup; `None` when none is left.
    fn step_time(&mut self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.out_of_time = true;
            return None;
        }
        Some(left.min(self.options.step_time))
    }

    async fn run(&mut self) -> Option<Found> {
        let address = self.address;
        let domain = address.domain().to_ascii_lowercase();
        if let Some(provider) = providers::by_domain(&domain) {
            match provider.config.settings_for(address) {
                Ok(settings) => {
                    return Some((Source::Bundled { provider: provider.name().into() }, settings));
                }
                Err(e) => self.fail(format!("MailPay's entry for {}", provider.name()), e.to_string()),
            }
        }
        if self.options.offline || self.dns.is_none() {
            return None;
        }
        let autoconfig = autoconfig_url(&domain, address);
        if let Some(settings) = self.fetch(&autoconfig).await {
            return Some((Source::Autoconfig { url: autoconfig }, settings));
        }
        let well_known = well_known_url(&domain);
        if let Some(settings) = self.fetch(&well_known).await {
            return Some((Source::WellKnown { url: well_known }, settings));
        }
        if let Some(settings) = self.srv(&domain).await {
            return Some((Source::Srv, settings));
        }
        self.mx(&domain).await
    }

    /// One clientConfig from `url`, following at most [`MAX_REDIRECTS`]
    /// `https://` redirects, all within one step's time.
    async fn fetch(&mut self, url: &str) -> Option<Settings> {
        let time = self.step_time()?;
        let result = tokio::time::timeout(time, fetch_xml(&self.http, url)).await;
        let xml = match result {
            Ok(Ok(xml)) => xml,
            Ok(Err(reason)) => {
                self.fail(url, reason);
                return None;
            }
            Err(_) => {
                self.fail(url, format!("did not answer within {}", seconds(time)));
                return None;
            }
        };
        match config_xml::parse(&xml).and_then(|config| config.settings_for(self.address)) {
            Ok(settings) => Some(settings),
            Err(e) => {
                self.fail(url, answer_refused(&e));
                None
            }
        }
    }

    async fn srv(&mut self, domain: &str) -> Option<Settings> {
        let imap = self
            .service(&[
                (format!("_imaps._tcp.{domain}"), Security::Tls),
                (format!("_imap._tcp.{domain}"), Security::Starttls),
            ])
            .await?;
        let smtp = self
            .service(&[
                (format!("_submissions._tcp.{domain}"), Security::Tls),
                (format!("_submission._tcp.{domain}"), Security::Starttls),
            ])
            .await?;
        Some(Settings {
            username: self.address.as_str().to_string(),
            imap,
            smtp,
            sign_in: vec![SignIn::Password],
            provider_name: None,
            quirks: Vec::new(),
        })
    }

    /// The first of `names` whose SRV records name a server.
    async fn service(&mut self, names: &[(String, Security)]) -> Option<Server> {
        for (name, security) in names {
            let time = self.step_time()?;
            let dns = self.dns.clone()?;
            match tokio::time::timeout(time, dns.service(name)).await {
                Ok(Ok(Service::At { host, port })) => {
                    return Some(Server { host, port, security: *security });
                }
                Ok(Ok(Service::NotOffered)) => {
                    self.fail(format!("SRV {name}"), "the domain says it is not offered")
                }
                Ok(Err(e)) => self.fail(format!("SRV {name}"), e.to_string()),
                Err(_) => self.fail(format!("SRV {name}"), format!("no answer within {}", seconds(time))),
            }
        }
        None
    }

    async fn mx(&mut self, domain: &str) -> Option<Found> {
        let time = self.step_time()?;
        let dns = self.dns.clone()?;
        let hosts = match tokio::time::timeout(time, dns.mx(domain)).await {
            Ok(Ok(hosts)) => hosts,
            Ok(Err(e)) => {
                self.fail(format!("MX {domain}"), e.to_string());
                return None;
            }
            Err(_) => {
                self.fail(format!("MX {domain}"), format!("no answer within {}", seconds(time)));
                return None;
            }
        };
        for mx_host in hosts.iter().take(3) {
            if let Some(provider) = providers::by_mx(mx_host) {
                match provider.config.settings_for(self.address) {
                    Ok(settings) => {
                        let source =
                            Source::Mx { mx_host: mx_host.clone(), provider: provider.name().into() };
                        return Some((source, settings));
                    }
                    Err(e) => self.fail(format!("MailPay's entry for {}", provider.name()), e.to_string()),
                }
            }
        }
        let mx_host = hosts.first()?.clone();
        let base = base_domain(&mx_host);
        if base == domain {
            self.fail(format!("MX {domain}"), format!("{mx_host} is no provider MailPay knows"));
            return None;
        }
        for url in [autoconfig_url(&base, self.address), well_known_url(&base)] {
            if let Some(settings) = self.fetch(&url).await {
                return Some((Source::MxDomain { mx_host, url }, settings));
            }
        }
        None
    }
}

/// The body of an autoconfig answer, as text, or why there is none.
async fn fetch_xml(client: &http::Client, url: &str) -> Result<String, String> {
    let mut url = url.to_string();
    for redirect in 0..=MAX_REDIRECTS {
        let request = ::http::Request::get(url.as_str())
            .header(::http::header::ACCEPT, "application/xml, text/xml")
            .header(::http::header::USER_AGENT, concat!("MailPay/", env!("CARGO_PKG_VERSION")))
            .body(Vec::new())
            .map_err(|e| format!("not a valid address: {e}"))?;
        let answer = client.send(request).await.map_err(|e| http_reason(&e))?;
        let status = answer.status();
        if status.is_redirection() {
            let location = answer
                .headers()
                .get(::http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| format!("answered {status} without a place to go"))?;
            let next = redirect_target(&url, location)?;
            if redirect == MAX_REDIRECTS {
                return Err(format!("redirects more than {MAX_REDIRECTS} times"));
            }
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(format!("answered HTTP {status} instead of a configuration"));
        }
        return String::from_utf8(answer.into_body()).map_err(|_| "the answer is not UTF-8 text".to_string());
    }
    Err(format!("redirects more than {MAX_REDIRECTS} times"))
}

/// Where a redirect from `from` to `location` leads, if it stays on `https://`.
fn redirect_target(from: &str, location: &str) -> Result<String, String> {
    let location = location.trim();
    if location.starts_with("https://") {
        return Ok(location.to_string());
    }
    if location.starts_with('/') && !location.starts_with("//") {
        let origin_end = from.get("https://".len()..).and_then(|r| r.find('/')).map(|i| i + "https://".len());
        let origin = origin_end.and_then(|end| from.get(..end)).unwrap_or(from);
        return Ok(format!("{origin}{location}"));
    }
    if location.starts_with("http://") {
        return Err(format!("redirects to plain {}, which is not followed (https:// only)", short(location)));
    }
    Err(format!("redirects to {:?}, which is not followed (https:// only)", short(location)))
}

fn short(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// Why an answer was no use, in words for the user.
fn answer_refused(e: &ConfigError) -> String {
    match e {
        ConfigError::PlainOnly { .. } => format!("refused: {e}"),
        _ => format!("the answer is no usable configuration: {e}"),
    }
}

/// An [`HttpError`] without the URL (the failure names it).
fn http_reason(e: &HttpError) -> String {
    match e {
        HttpError::Timeout { after, .. } => format!("did not answer within {}", seconds(*after)),
        HttpError::TooLong { limit, .. } => {
            format!("the answer is longer than {limit} bytes; it was not read further")
        }
        HttpError::Resolve { reason, .. } => format!("no such server ({reason})"),
        HttpError::Connect { reason, .. } => format!("cannot connect ({reason})"),
        HttpError::Tls { reason, .. } => format!("no secure connection ({reason})"),
        HttpError::Answer { reason, .. } => format!("the answer is broken ({reason})"),
        HttpError::Url { reason, .. } | HttpError::NotAllowed { reason, .. } => reason.clone(),
    }
}

fn autoconfig_url(domain: &str, address: &EmailAddress) -> String {
    format!(
        "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={}",
        query_escape(address.as_str())
    )
}

fn well_known_url(domain: &str) -> String {
    format!("https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml")
}

/// `text` for a URL's query: anything but letters, digits and `-._~@`
/// percent-encoded.
fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The registered domain of a host, roughly: its last two labels, or
/// three under a two-letter country code with a short second level
/// (`mx.example.co.jp` → `example.co.jp`).
fn base_domain(host: &str) -> String {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let keep = match labels.as_slice() {
        [.., second, tld] if tld.len() == 2 && second.len() <= 3 && labels.len() >= 3 => 3,
        _ => 2,
    };
    labels[labels.len().saturating_sub(keep)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(a: &str) -> EmailAddress {
        a.parse().unwrap()
    }

    #[test]
    fn builds_the_urls_thunderbird_asks() {
        assert_eq!(
            autoconfig_url("example.com", &address("taro+pay@example.com")),
            "https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=taro%2Bpay@example.com"
        );
        assert_eq!(
            well_known_url("example.com"),
            "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml"
        );
    }

    #[test]
    fn finds_the_base_domain_of_an_mx_host() {
        assert_eq!(base_domain("aspmx.l.google.com"), "google.com");
        assert_eq!(base_domain("mx01.mail.example.co.jp."), "example.co.jp");
        assert_eq!(base_domain("mx.example.jp"), "example.jp");
        assert_eq!(base_domain("example.com"), "example.com");
    }

    #[test]
    fn follows_redirects_only_to_https() {
        let from = "https://autoconfig.a.test/mail/config-v1.1.xml?x=1";
        assert_eq!(redirect_target(from, "https://b.test/c.xml"), Ok("https://b.test/c.xml".into()));
        assert_eq!(redirect_target(from, "/other.xml"), Ok("https://autoconfig.a.test/other.xml".into()));
        let plain = redirect_target(from, "http://b.test/c.xml").unwrap_err();
        assert!(plain.contains("plain http://b.test/c.xml"), "{plain}");
        assert!(redirect_target(from, "//b.test/c.xml").is_err());
        assert!(redirect_target(from, "ftp://b.test/").is_err());
    }

    #[test]
    fn a_bundled_provider_needs_no_network() {
        let found = bundled(&address("taro@yahoo.co.jp")).unwrap();
        assert_eq!(found.account.imap.host, "imap.mail.yahoo.co.jp");
        assert_eq!(found.account.smtp.host, "smtp.mail.yahoo.co.jp");
        assert_eq!(found.source, Source::Bundled { provider: "Yahoo! JAPAN Mail".into() });
        assert!(bundled(&address("taro@example.com")).is_none());
    }

    #[tokio::test]
    async fn offline_it_gives_the_bundled_entry_or_a_guess() {
        let options = Options { offline: true, ..Options::default() };
        let gmail = discover(&address("a@gmail.com"), &options).await;
        assert_eq!(gmail.account.imap.host, "imap.gmail.com");
        assert_eq!(gmail.oauth2().map(|o| o.issuer.as_str()), Some("accounts.google.com"));
        let text = gmail.to_string();
        assert!(text.contains("MailPay's list of mail providers (Gmail)"), "{text}");
        assert!(text.contains("support.google.com/accounts/answer/185833"), "{text}");
        let other = discover(&address("a@example.com"), &options).await;
        assert!(other.is_guess());
        assert_eq!((other.account.imap.host.as_str(), other.account.smtp.port), ("imap.example.com", 465));
        assert!(other.to_string().contains("a guess"), "{other}");
    }
}
