//! Mozilla's clientConfig "config-v1.1" XML, the format of Thunderbird's
//! ISP database and of providers' autoconfig answers: the text in, a
//! provider's servers out, without I/O.
//!
//! ```xml
//! <clientConfig version="1.1">
//!   <emailProvider id="example.com">
//!     <domain>example.com</domain>
//!     <displayName>Example Mail</displayName>
//!     <incomingServer type="imap">
//!       <hostname>imap.example.com</hostname> <port>993</port>
//!       <socketType>SSL</socketType> <username>%EMAILADDRESS%</username>
//!       <authentication>password-cleartext</authentication>
//!     </incomingServer>
//!     <outgoingServer type="smtp"> ... </outgoingServer>
//!     <documentation url="https://..."><descr lang="en">...</descr></documentation>
//!   </emailProvider>
//!   <oAuth2><issuer/><scope/><authURL/><tokenURL/></oAuth2>
//! </clientConfig>
//! ```
//!
//! Two elements of MailPay's own, in the namespace [`MAILPAY_NS`], are
//! read from the bundled database: `<mx>` (a host name suffix of the
//! provider's MX servers, for domains hosted there) and `<passwordKind>`
//! (`app-password` when the provider wants a password made for the app
//! rather than the account's own). Every other unknown element is
//! ignored, as Thunderbird does.
//!
//! Input is assumed hostile: at most [`MAX_XML`] bytes, [`MAX_NODES`]
//! nodes and [`MAX_DEPTH`] levels; a DTD (and so any entity) is refused;
//! host names, ports, user names and URLs are checked. Only IMAP and SMTP
//! over TLS or STARTTLS are taken; POP3, Exchange and other servers are
//! skipped and said so, and a provider offering IMAP or SMTP only without
//! encryption is refused.

use roxmltree::{Document, Node, ParsingOptions};

use crate::mail::account::Security;
use crate::protocol::EmailAddress;

/// The namespace of MailPay's own elements in the bundled entries.
pub const MAILPAY_NS: &str = "urn:x-mailpay:autoconfig";
/// The most XML read, from the network or a file.
pub const MAX_XML: usize = 64 * 1024;
/// The most nodes (elements, text, comments) in a document.
pub const MAX_NODES: u32 = 4096;
/// The deepest nesting of elements; real configurations have 4 levels.
pub const MAX_DEPTH: usize = 12;
/// Servers of each kind looked at, and quirks kept.
const MAX_ITEMS: usize = 16;
const MAX_TEXT: usize = 600;
const MAX_URL: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration is {size} bytes long, more than the {limit} bytes read")]
    TooLarge { size: usize, limit: usize },
    #[error("it declares a DTD, which a mail configuration never needs (entities are not expanded)")]
    Dtd,
    #[error("it has more than {limit} XML nodes")]
    TooManyNodes { limit: u32 },
    #[error("its elements are nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("it is not well-formed XML: {0}")]
    NotXml(String),
    #[error("it is not a mail configuration (clientConfig with an emailProvider)")]
    NotClientConfig,
    #[error(
        "it offers {what} only without encryption (no TLS or STARTTLS): \
         MailPay never sends a password in the clear"
    )]
    PlainOnly { what: &'static str },
    #[error("it offers no {what} server MailPay can use{}", found(.skipped))]
    Missing { what: &'static str, skipped: Vec<String> },
}

fn found(skipped: &[String]) -> String {
    if skipped.is_empty() { String::new() } else { format!(" (skipped: {})", skipped.join("; ")) }
}

/// How a server wants its connection secured, as the XML says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socket {
    Tls,
    Starttls,
    Plain,
}

/// A way of signing in the XML lists for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `password-cleartext` or `password-encrypted` (over TLS either way).
    Password,
    OAuth2,
    /// Anything else (`NTLM`, `GSSAPI`, `client-IP-address`, ...).
    Other,
}

/// One `incomingServer type="imap"` or `outgoingServer type="smtp"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// As written: may hold `%EMAILDOMAIN%`.
    pub hostname: String,
    pub port: u16,
    pub socket: Socket,
    /// As written: `%EMAILADDRESS%`, `%EMAILLOCALPART%`, or a name.
    pub username: String,
    pub auth: Vec<Auth>,
}

/// A note for the user: something to do once, with where it is explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirk {
    pub text: String,
    pub url: Option<String>,
}

impl std::fmt::Display for Quirk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.url {
            Some(url) => write!(f, "{} ({url})", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// Where and how to get an OAuth2 token for the servers, as the provider
/// publishes it (`crate::oauth::provider::OAuth2Settings::published` makes
/// an account's settings of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Endpoints {
    /// The host name of the issuer (`accounts.google.com`).
    pub issuer: String,
    pub scopes: Vec<String>,
    pub auth_url: String,
    pub token_url: String,
}

/// How the user signs in to the servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The account's own password.
    Password,
    /// A password made for this app in the provider's settings; the
    /// account's own password is refused.
    AppPassword,
    /// Signing in with the provider in a browser.
    OAuth2(OAuth2Endpoints),
}

impl std::fmt::Display for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignIn::Password => f.write_str("the account's password"),
            SignIn::AppPassword => f.write_str("an app password made in the provider's settings"),
            SignIn::OAuth2(o) => write!(f, "signing in with the provider (OAuth2, {})", o.issuer),
        }
    }
}

/// A parsed configuration, as the XML gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub id: String,
    pub display_name: Option<String>,
    /// The mail domains the provider serves (lowercase).
    pub domains: Vec<String>,
    /// Host name suffixes of its MX servers (MailPay's `<mx>`).
    pub mx: Vec<String>,
    pub imap: Vec<ServerEntry>,
    pub smtp: Vec<ServerEntry>,
    /// Servers left out and why ("POP3 server pop.example.com").
    pub skipped: Vec<String>,
    pub quirks: Vec<Quirk>,
    pub oauth2: Option<OAuth2Endpoints>,
    /// Its passwords are app passwords (MailPay's `<passwordKind>`).
    pub app_password: bool,
}

/// What a configuration gives for one address: servers with user names
/// filled in, how to sign in, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub username: String,
    pub imap: crate::mail::account::Server,
    pub smtp: crate::mail::account::Server,
    /// Best first; never empty.
    pub sign_in: Vec<SignIn>,
    pub provider_name: Option<String>,
    pub quirks: Vec<Quirk>,
}

/// Parses a clientConfig document within the limits above.
pub fn parse(xml: &str) -> Result<ProviderConfig, ConfigError> {
    if xml.len() > MAX_XML {
        return Err(ConfigError::TooLarge { size: xml.len(), limit: MAX_XML });
    }
    let options = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES };
    let doc = Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => ConfigError::Dtd,
        roxmltree::Error::NodesLimitReached => ConfigError::TooManyNodes { limit: MAX_NODES },
        other => ConfigError::NotXml(other.to_string()),
    })?;
    check_depth(&doc)?;
    let root = doc.root_element();
    if !is(root, "clientConfig") {
        return Err(ConfigError::NotClientConfig);
    }
    let provider = root.children().find(|n| is(*n, "emailProvider")).ok_or(ConfigError::NotClientConfig)?;
    let mut config = ProviderConfig {
        id: provider.attribute("id").map(clean_text).unwrap_or_default(),
        display_name: None,
        domains: Vec::new(),
        mx: Vec::new(),
        imap: Vec::new(),
        smtp: Vec::new(),
        skipped: Vec::new(),
        quirks: Vec::new(),
        oauth2: None,
        app_password: false,
    };
    for node in provider.children().filter(Node::is_element) {
        let text = || node.text().map(clean_text).unwrap_or_default();
        match (node.tag_name().namespace(), node.tag_name().name()) {
            (None, "domain") => {
                let domain = text().to_ascii_lowercase();
                if valid_host(&domain).is_ok() && config.domains.len() < 256 {
                    config.domains.push(domain);
                }
            }
            (None, "displayName") if config.display_name.is_none() => {
                config.display_name = Some(text()).filter(|t| !t.is_empty());
            }
            (None, "incomingServer") => server(node, "incoming", &mut config),
            (None, "outgoingServer") => server(node, "outgoing", &mut config),
            (None, "documentation") => {
                let url = node.attribute("url").and_then(https_url);
                if let Some(text) = description(node, "descr") {
                    push_quirk(&mut config, Quirk { text, url });
                }
            }
            (None, "enable") => {
                let url = node.attribute("visiturl").and_then(https_url);
                let text = description(node, "instruction")
                    .unwrap_or_else(|| "IMAP access must be enabled in the provider's settings".into());
                push_quirk(&mut config, Quirk { text, url });
            }
            (None, "oAuth2") => config.oauth2 = oauth2(node),
            (Some(MAILPAY_NS), "mx") => {
                let suffix = text().to_ascii_lowercase();
                if valid_host(&suffix).is_ok() && config.mx.len() < MAX_ITEMS {
                    config.mx.push(suffix);
                }
            }
            (Some(MAILPAY_NS), "passwordKind") => config.app_password = text() == "app-password",
            _ => {}
        }
    }
    if config.oauth2.is_none() {
        config.oauth2 = root.children().find(|n| is(*n, "oAuth2")).and_then(oauth2);
    }
    Ok(config)
}

impl ProviderConfig {
    /// The servers for `address`: the first IMAP and the first SMTP server
    /// in the XML's order that use TLS or STARTTLS, have a valid host
    /// name and port, and a way of signing in MailPay knows.
    pub fn settings_for(&self, address: &EmailAddress) -> Result<Settings, ConfigError> {
        let mut skipped = self.skipped.clone();
        let imap = self.pick(&self.imap, "IMAP", address, &mut skipped)?;
        let smtp = self.pick(&self.smtp, "SMTP", address, &mut skipped)?;
        let mut sign_in = Vec::new();
        if imap.auth.contains(&Auth::OAuth2)
            && smtp.auth.contains(&Auth::OAuth2)
            && let Some(oauth2) = &self.oauth2
        {
            sign_in.push(SignIn::OAuth2(oauth2.clone()));
        }
        if imap.auth.contains(&Auth::Password) && smtp.auth.contains(&Auth::Password) {
            sign_in.push(if self.app_password { SignIn::AppPassword } else { SignIn::Password });
        }
        if sign_in.is_empty() {
            return Err(ConfigError::Missing {
                what: "IMAP and SMTP",
                skipped: vec!["no sign-in method both servers accept and MailPay knows".into()],
            });
        }
        Ok(Settings {
            username: imap.username,
            imap: imap.server,
            smtp: smtp.server,
            sign_in,
            provider_name: self.display_name.clone(),
            quirks: self.quirks.clone(),
        })
    }

    fn pick(
        &self,
        entries: &[ServerEntry],
        what: &'static str,
        address: &EmailAddress,
        skipped: &mut Vec<String>,
    ) -> Result<Picked, ConfigError> {
        let mut plain = false;
        for entry in entries {
            let host = fill(&entry.hostname, address).to_ascii_lowercase();
            if let Err(why) = valid_host(&host) {
                skipped.push(format!("{what} server {:?}: {why}", short(&host)));
                continue;
            }
            let security = match entry.socket {
                Socket::Tls => Security::Tls,
                Socket::Starttls => Security::Starttls,
                Socket::Plain => {
                    plain = true;
                    skipped.push(format!("{what} server {host}:{} without encryption", entry.port));
                    continue;
                }
            };
            let username = fill(&entry.username, address);
            if let Err(why) = valid_username(&username) {
                skipped.push(format!("{what} server {host}: user name {why}"));
                continue;
            }
            let mut auth = entry.auth.clone();
            if auth.is_empty() {
                auth.push(Auth::Password);
            }
            if !auth.iter().any(|a| matches!(a, Auth::Password | Auth::OAuth2)) {
                skipped.push(format!("{what} server {host}: no sign-in method MailPay knows"));
                continue;
            }
            let server = crate::mail::account::Server { host, port: entry.port, security };
            return Ok(Picked { server, auth, username });
        }
        if plain {
            Err(ConfigError::PlainOnly { what })
        } else {
            Err(ConfigError::Missing { what, skipped: skipped.clone() })
        }
    }
}

/// The server chosen of one kind, with its ways of signing in and the
/// user name filled in.
struct Picked {
    server: crate::mail::account::Server,
    auth: Vec<Auth>,
    username: String,
}

fn is(node: Node, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace().is_none() && node.tag_name().name() == name
}

fn check_depth(doc: &Document) -> Result<(), ConfigError> {
    // Depth of each node, by its id: parents come before their children.
    let mut depth = vec![0usize; doc.descendants().count()];
    for node in doc.descendants() {
        let here = node.parent().map_or(0, |p| depth.get(p.id().get_usize()).copied().unwrap_or(0) + 1);
        if here > MAX_DEPTH {
            return Err(ConfigError::TooDeep { limit: MAX_DEPTH });
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = here;
        }
    }
    Ok(())
}

fn server(node: Node, side: &str, config: &mut ProviderConfig) {
    let kind = node.attribute("type").unwrap_or_default().to_ascii_lowercase();
    let child = |name: &str| {
        node.children().find(|n| is(*n, name)).and_then(|n| n.text()).map(clean_text).unwrap_or_default()
    };
    let hostname = child("hostname");
    let list = match (side, kind.as_str()) {
        ("incoming", "imap") => &mut config.imap,
        ("outgoing", "smtp") => &mut config.smtp,
        (_, other) => {
            let name = match other {
                "pop3" => "POP3".to_string(),
                "exchange" | "ews" => "Exchange".to_string(),
                "" => "untyped".to_string(),
                other => short(other),
            };
            if config.skipped.len() < MAX_ITEMS {
                config.skipped.push(format!("{name} server {} (not supported)", short(&hostname)));
            }
            return;
        }
    };
    if list.len() >= MAX_ITEMS {
        return;
    }
    let what = if side == "incoming" { "IMAP" } else { "SMTP" };
    let port = match child("port").parse::<u16>() {
        Ok(port) if port > 0 => port,
        _ => {
            config.skipped.push(format!(
                "{what} server {}: port {:?} is not valid",
                short(&hostname),
                short(&child("port"))
            ));
            return;
        }
    };
    let socket = match child("socketType").to_ascii_uppercase().as_str() {
        "SSL" | "TLS" => Socket::Tls,
        "STARTTLS" => Socket::Starttls,
        "PLAIN" => Socket::Plain,
        other => {
            config.skipped.push(format!(
                "{what} server {}: socket type {:?} unknown",
                short(&hostname),
                short(other)
            ));
            return;
        }
    };
    let auth = node
        .children()
        .filter(|n| is(*n, "authentication"))
        .take(MAX_ITEMS)
        .map(|n| match n.text().map(clean_text).unwrap_or_default().as_str() {
            "password-cleartext" | "password-encrypted" | "plain" | "secure" => Auth::Password,
            "OAuth2" => Auth::OAuth2,
            _ => Auth::Other,
        })
        .collect();
    list.push(ServerEntry { hostname, port, socket, username: child("username"), auth });
}

/// The English `descr` (or else the first) under `node`, or its own text.
fn description(node: Node, child: &str) -> Option<String> {
    let children: Vec<Node> = node.children().filter(|n| is(*n, child)).take(MAX_ITEMS).collect();
    let chosen = children.iter().find(|n| n.attribute("lang").is_none_or(|l| l == "en")).or(children.first());
    let text = chosen.and_then(|n| n.text()).map(clean_text).filter(|t| !t.is_empty())?;
    Some(text.chars().take(MAX_TEXT).collect())
}

fn push_quirk(config: &mut ProviderConfig, quirk: Quirk) {
    if config.quirks.len() < MAX_ITEMS && !config.quirks.contains(&quirk) {
        config.quirks.push(quirk);
    }
}

fn oauth2(node: Node) -> Option<OAuth2Endpoints> {
    let child = |name: &str| node.children().find(|n| is(*n, name)).and_then(|n| n.text()).map(clean_text);
    let issuer = child("issuer")?.to_ascii_lowercase();
    valid_host(&issuer).ok()?;
    let scopes: Vec<String> =
        child("scope")?.split_whitespace().take(MAX_ITEMS).map(str::to_string).collect();
    if scopes.is_empty() {
        return None;
    }
    Some(OAuth2Endpoints {
        issuer,
        scopes,
        auth_url: https_url(&child("authURL")?)?,
        token_url: https_url(&child("tokenURL")?)?,
    })
}

/// `url` when it is an `https://` URL without spaces or control characters.
fn https_url(url: &str) -> Option<String> {
    let url = url.trim();
    let ok = url.starts_with("https://")
        && url.len() <= MAX_URL
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    ok.then(|| url.to_string())
}

/// Text with its runs of white space made single spaces.
fn clean_text(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if out.len() > MAX_URL {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
    }
    out
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
    if text.chars().count() > 80 {
        s.push('…');
    }
    s
}

fn fill(template: &str, address: &EmailAddress) -> String {
    let (local, domain) = address.as_str().rsplit_once('@').unwrap_or((address.as_str(), ""));
    template
        .replace("%EMAILADDRESS%", address.as_str())
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
}

/// Whether `host` is a host name (or an IP address) to connect to: ASCII
/// letters, digits, `-` and `_` in dot-separated labels of 1 to 63
/// characters, 253 in all, not starting or ending with a dot or hyphen.
pub fn valid_host(host: &str) -> Result<(), &'static str> {
    if host.parse::<core::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host.is_empty() {
        return Err("it is empty");
    }
    if host.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it has spaces or control characters");
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        return Err("it has characters a host name cannot have");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("it has an empty or over-long part");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part starts or ends with a hyphen");
        }
    }
    if !host.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err("it is neither a name nor an IP address");
    }
    Ok(())
}

fn valid_username(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > 320 {
        return Err("is too long");
    }
    if name.chars().any(char::is_control) {
        return Err("has control characters");
    }
    if name.contains('%') {
        return Err("holds a placeholder MailPay does not fill in");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(a: &str) -> EmailAddress {
        a.parse().unwrap()
    }

    const THUNDERBIRD_STYLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.net">
    <domain>example.net</domain>
    <domain>Example.ORG</domain>
    <displayName>Example Net Mail</displayName>
    <displayShortName>Example</displayShortName>
    <incomingServer type="pop3">
      <hostname>pop.example.net</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>143</port><socketType>plain</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-encrypted</authentication>
      <pop3><leaveMessagesOnServer>true</leaveMessagesOnServer></pop3>
    </incomingServer>
    <incomingServer type="exchange"><hostname>ews.example.net</hostname></incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.net</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
      <addThisServer>true</addThisServer>
    </outgoingServer>
    <enable visiturl="https://help.example.net/imap">
      <instruction lang="de">IMAP einschalten</instruction>
      <instruction lang="en">Turn IMAP on in the settings</instruction>
    </enable>
    <documentation url="https://help.example.net/clients">
      <descr lang="en">Generic settings</descr>
    </documentation>
    <documentation url="javascript:alert(1)"><descr>Bad link</descr></documentation>
    <somethingNew><deeper>ignored</deeper></somethingNew>
  </emailProvider>
  <webMail><loginPage url="https://webmail.example.net/"/></webMail>
</clientConfig>"#;

    #[test]
    fn reads_a_thunderbird_style_entry_and_picks_the_first_secure_imap() {
        let config = parse(THUNDERBIRD_STYLE).unwrap();
        assert_eq!(config.id, "example.net");
        assert_eq!(config.domains, ["example.net", "example.org"]);
        assert_eq!(config.display_name.as_deref(), Some("Example Net Mail"));
        assert_eq!(config.imap.len(), 2);
        assert!(
            config.skipped.iter().any(|s| s.contains("POP3 server pop.example.net")),
            "{:?}",
            config.skipped
        );
        assert!(config.skipped.iter().any(|s| s.contains("Exchange")), "{:?}", config.skipped);
        let settings = config.settings_for(&address("taro@example.org")).unwrap();
        assert_eq!(settings.imap.host, "imap.example.org");
        assert_eq!((settings.imap.port, settings.imap.security), (993, Security::Tls));
        assert_eq!((settings.smtp.port, settings.smtp.security), (587, Security::Starttls));
        assert_eq!(settings.username, "taro");
        assert_eq!(settings.sign_in, [SignIn::Password]);
        assert_eq!(
            settings.quirks,
            [
                Quirk {
                    text: "Turn IMAP on in the settings".into(),
                    url: Some("https://help.example.net/imap".into())
                },
                Quirk {
                    text: "Generic settings".into(),
                    url: Some("https://help.example.net/clients".into())
                },
                Quirk { text: "Bad link".into(), url: None },
            ]
        );
    }

    #[test]
    fn reads_oauth2_and_app_passwords() {
        let xml = format!(
            r#"<clientConfig version="1.1" xmlns:mp="{MAILPAY_NS}"><emailProvider id="x">
            <mp:passwordKind>app-password</mp:passwordKind><mp:mx>mx.example.com</mp:mx>
            <incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port>
              <socketType>SSL</socketType><username>%EMAILADDRESS%</username>
              <authentication>OAuth2</authentication><authentication>password-cleartext</authentication></incomingServer>
            <outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>465</port>
              <socketType>SSL</socketType><username>%EMAILADDRESS%</username>
              <authentication>OAuth2</authentication><authentication>password-cleartext</authentication></outgoingServer>
            </emailProvider>
            <oAuth2><issuer>login.example.com</issuer><scope>imap smtp
              offline</scope><authURL>https://login.example.com/auth</authURL>
              <tokenURL>https://login.example.com/token</tokenURL></oAuth2></clientConfig>"#
        );
        let config = parse(&xml).unwrap();
        assert_eq!(config.mx, ["mx.example.com"]);
        let settings = config.settings_for(&address("a@example.com")).unwrap();
        let oauth2 = OAuth2Endpoints {
            issuer: "login.example.com".into(),
            scopes: vec!["imap".into(), "smtp".into(), "offline".into()],
            auth_url: "https://login.example.com/auth".into(),
            token_url: "https://login.example.com/token".into(),
        };
        assert_eq!(settings.sign_in, [SignIn::OAuth2(oauth2), SignIn::AppPassword]);
        assert_eq!(settings.username, "a@example.com");
    }

    #[test]
    fn refuses_a_configuration_with_only_plain_connections() {
        let xml = r#"<clientConfig><emailProvider id="p">
            <incomingServer type="imap"><hostname>imap.p.test</hostname><port>143</port><socketType>plain</socketType><username>%EMAILADDRESS%</username></incomingServer>
            <outgoingServer type="smtp"><hostname>smtp.p.test</hostname><port>25</port><socketType>plain</socketType><username>%EMAILADDRESS%</username></outgoingServer>
            </emailProvider></clientConfig>"#;
        let err = parse(xml).unwrap().settings_for(&address("a@p.test")).unwrap_err();
        assert_eq!(err, ConfigError::PlainOnly { what: "IMAP" });
        assert!(err.to_string().contains("without encryption"), "{err}");
    }

    #[test]
    fn skips_pop3_only_providers_with_a_reason() {
        let xml = r#"<clientConfig><emailProvider id="p">
            <incomingServer type="pop3"><hostname>pop.p.test</hostname><port>995</port><socketType>SSL</socketType></incomingServer>
            <outgoingServer type="smtp"><hostname>smtp.p.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>
            </emailProvider></clientConfig>"#;
        let err = parse(xml).unwrap().settings_for(&address("a@p.test")).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { what: "IMAP", .. }), "{err}");
        assert!(err.to_string().contains("POP3 server pop.p.test"), "{err}");
    }

    #[test]
    fn refuses_bad_host_names_ports_and_user_names() {
        let entry = |host: &str, port: &str, user: &str| {
            format!(
                r#"<clientConfig><emailProvider id="p">
                <incomingServer type="imap"><hostname>{host}</hostname><port>{port}</port><socketType>SSL</socketType><username>{user}</username></incomingServer>
                <outgoingServer type="smtp"><hostname>smtp.p.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>
                </emailProvider></clientConfig>"#
            )
        };
        let a = address("a@p.test");
        for (host, port, user) in [
            ("imap.p.test evil", "993", "%EMAILADDRESS%"),
            ("imap.p.test&#10;x", "993", "%EMAILADDRESS%"),
            ("imap..p.test", "993", "%EMAILADDRESS%"),
            ("-imap.p.test", "993", "%EMAILADDRESS%"),
            (&"a".repeat(300), "993", "%EMAILADDRESS%"),
            ("imap.p.test/x", "993", "%EMAILADDRESS%"),
            ("imap.p.test", "0", "%EMAILADDRESS%"),
            ("imap.p.test", "65536", "%EMAILADDRESS%"),
            ("imap.p.test", "993", "%REALNAME%"),
            ("imap.p.test", "993", ""),
        ] {
            let result = parse(&entry(host, port, user)).unwrap().settings_for(&a);
            assert!(
                matches!(result, Err(ConfigError::Missing { what: "IMAP", .. })),
                "{host} {port} {user}: {result:?}"
            );
        }
        assert!(parse(&entry("IMAP.P.test", "993", "%EMAILADDRESS%")).unwrap().settings_for(&a).is_ok());
        assert!(parse(&entry("127.0.0.1", "1143", "%EMAILADDRESS%")).unwrap().settings_for(&a).is_ok());
    }

    #[test]
    fn ignores_junk_and_refuses_what_is_not_a_configuration() {
        assert!(matches!(parse("not xml at all"), Err(ConfigError::NotXml(_))));
        assert!(matches!(parse("<html><body>Not found</body></html>"), Err(ConfigError::NotClientConfig)));
        assert!(matches!(parse("<clientConfig/>"), Err(ConfigError::NotClientConfig)));
        assert!(matches!(parse("<clientConfig><emailProvider>"), Err(ConfigError::NotXml(_))));
        let junk = r#"<clientConfig><!-- a comment --><emailProvider id="j"><x:y xmlns:x="urn:other"/>
            <incomingServer type="imap"><hostname>imap.j.test</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><unknown>1</unknown></incomingServer>
            <outgoingServer type="smtp"><hostname>smtp.j.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>
            <mx>ignored.test</mx></emailProvider><oAuth2><issuer>x</issuer></oAuth2></clientConfig>"#;
        let config = parse(junk).unwrap();
        assert!(config.mx.is_empty(), "only MailPay's namespaced <mx> counts");
        assert_eq!(config.oauth2, None, "an incomplete oAuth2 is no OAuth2");
        assert!(config.settings_for(&address("a@j.test")).is_ok());
    }

    #[test]
    fn limits_size_nodes_depth_and_entities() {
        let big = format!("<clientConfig>{}</clientConfig>", " ".repeat(MAX_XML));
        assert!(matches!(parse(&big), Err(ConfigError::TooLarge { .. })));
        let many = format!("<clientConfig>{}</clientConfig>", "<x/>".repeat(5000));
        assert_eq!(parse(&many), Err(ConfigError::TooManyNodes { limit: MAX_NODES }));
        let deep = format!("<clientConfig>{}{}</clientConfig>", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(parse(&deep), Err(ConfigError::TooDeep { limit: MAX_DEPTH }));
        let fine = format!(
            "<clientConfig><emailProvider>{}{}</emailProvider></clientConfig>",
            "<a>".repeat(MAX_DEPTH - 2),
            "</a>".repeat(MAX_DEPTH - 2)
        );
        assert_eq!(parse(&fine).map(|_| ()), Ok(()));
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
            <clientConfig><emailProvider id="&lol2;"/></clientConfig>"#;
        assert_eq!(parse(laughs), Err(ConfigError::Dtd));
    }

    #[test]
    fn host_names_are_checked() {
        for good in ["imap.gmail.com", "a", "mx_1.example.com", "127.0.0.1", "::1", "xn--wgv71a.jp"] {
            assert_eq!(valid_host(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a\u{7}b", "a..b", ".a", "a.", "-a.b", "a-.b", "a/b", "a:1", "1.2.3", "é.fr"]
        {
            assert!(valid_host(bad).is_err(), "{bad:?}");
        }
        assert!(valid_host(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(valid_host(&["abc"; 70].join(".")).is_err());
    }
}
