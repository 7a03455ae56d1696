//! The mail account: address, and how its mails go: through the
//! account's own servers (IMAP and SMTP, found from the address, editable;
//! the password to the OS keyring only, or a sign-in with the provider in
//! the browser; a connection test with one clear result per server), or
//! through Thunderbird, which holds the account (no password, no servers:
//! MailPay's add-on carries the mails).
//!
//! Finding the servers: as the address is typed, MailPay's list of
//! providers fills them at once (no network); once the address has stayed
//! the same for [`SETTLE`], the full lookup (the domain's autoconfig, DNS,
//! MX) runs as a task, unless the user has edited the servers. An answer
//! for an address no longer in the field is ignored.

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::autoconfig::Discovery;
use crate::i18n::Tr;
use crate::mail::account::{Account, Auth, Route, Security, Server};
use crate::oauth::provider::OAuth2Settings;
use crate::oauth::{OAuthError, Provider, SignInCanceller};
use crate::protocol::EmailAddress;
use crate::tr;
use crate::ui::backend::ConnectionReport;
use crate::ui::widget;

mod found;
mod sign_in;

use sign_in::sign_in_failure;
pub use sign_in::{SignInProblem, SignInStatus};

/// How long the address must stay unchanged before its servers are looked up.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityChoice(pub Security);

impl std::fmt::Display for SecurityChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Security::Tls => "TLS",
            Security::Starttls => "STARTTLS",
        })
    }
}

const CHOICES: [SecurityChoice; 2] = [SecurityChoice(Security::Tls), SecurityChoice(Security::Starttls)];

/// The ids of the security fields (choice fields: the arrow keys move through their options).
pub const IMAP_SECURITY_INPUT: &str = "account-imap-security";
pub const SMTP_SECURITY_INPUT: &str = "account-smtp-security";

/// The server for reading mail, or the one for sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Imap,
    Smtp,
}

impl Side {
    fn security_input(self) -> &'static str {
        match self {
            Side::Imap => IMAP_SECURITY_INPUT,
            Side::Smtp => SMTP_SECURITY_INPUT,
        }
    }
}

#[derive(Default)]
pub struct State {
    address: String,
    username: String,
    smtp_host: String,
    smtp_port: String,
    smtp_security: Option<SecurityChoice>,
    smtp_security_typed: Option<widget::Typing>,
    imap_host: String,
    imap_port: String,
    imap_security: Option<SecurityChoice>,
    imap_security_typed: Option<widget::Typing>,
    password: String,
    /// What carries the account's mails.
    route: Route,
    /// The user changed a server field: stop guessing from the address.
    servers_edited: bool,
    /// The extra CA of an account kept with one (set in config.toml),
    /// kept as it is.
    ca_file: Option<std::path::PathBuf>,
    busy: bool,
    report: Option<ConnectionReport>,
    saved: Option<Result<(), String>>,
    /// What the lookup found for the address, shown with its source.
    discovery: Option<Box<Discovery>>,
    /// The full lookup runs for this address.
    looking_up: Option<String>,
    /// The user chose an app password over signing in with the provider.
    use_password: bool,
    /// The sign-in with the provider of an account kept that way.
    signed_in: Option<OAuth2Settings>,
    sign_in: SignInStatus,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("account::State")
            .field("address", &self.address)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub enum Message {
    Address(String),
    Username(String),
    SmtpHost(String),
    SmtpPort(String),
    SmtpSecurity(SecurityChoice),
    SmtpSecurityTyped(String),
    ImapHost(String),
    ImapPort(String),
    ImapSecurity(SecurityChoice),
    ImapSecurityTyped(String),
    /// An arrow key in the field with this id.
    Arrow(iced::widget::Id, widget::Move),
    Password(String),
    /// Send and watch through the account's servers or through Thunderbird.
    Route(Route),
    Test,
    Tested(ConnectionReport),
    Save,
    Saved(Result<(), String>),
    /// The address stayed unchanged for [`SETTLE`]: look its servers up
    /// (if it is still the one in the field).
    Settled(String),
    /// What the lookup found for this address (as typed).
    Discovered(String, Box<Discovery>),
    /// Open a help page in the system browser.
    OpenLink(String),
    /// Use an app password (`true`) or the provider's sign-in (`false`).
    UsePassword(bool),
    SignIn,
    /// The browser is on the provider's page; `browser`: why none started.
    SignInWaiting {
        url: String,
        browser: Option<String>,
        canceller: SignInCanceller,
    },
    SignInFailed(OAuthError),
    CancelSignIn,
    CopyUrl,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Password(_) => f.write_str("Password(<redacted>)"),
            Message::Address(a) => write!(f, "Address({a:?})"),
            Message::Tested(r) => write!(f, "Tested({r:?})"),
            Message::Saved(r) => write!(f, "Saved({r:?})"),
            Message::Route(r) => write!(f, "Route({r:?})"),
            Message::Test => f.write_str("Test"),
            Message::Save => f.write_str("Save"),
            Message::Settled(a) => write!(f, "Settled({a:?})"),
            Message::Discovered(a, d) => write!(f, "Discovered({a:?}, {:?})", d.source),
            Message::SignIn => f.write_str("SignIn"),
            Message::SignInWaiting { .. } => f.write_str("SignInWaiting"),
            Message::SignInFailed(e) => write!(f, "SignInFailed({e:?})"),
            Message::CancelSignIn => f.write_str("CancelSignIn"),
            _ => f.write_str("AccountField"),
        }
    }
}

pub enum Action {
    None,
    Test(Account, String),
    /// Test with what the keyring keeps for the account (its sign-in).
    TestSaved(Account),
    Save(Account, String),
    /// Keep the account, its mails going through Thunderbird: no password.
    SaveThroughThunderbird(Account),
    /// Send [`Message::Settled`] with this address after [`SETTLE`].
    Settle(String),
    /// Look the servers of this address up (as typed, and parsed).
    Discover(String, EmailAddress),
    OpenLink(String),
    /// Sign the account (auth OAuth2, its settings in `oauth2`) in with the
    /// provider in the browser, then keep it.
    SignIn(Account, Provider),
    Copy(String),
}

impl State {
    /// The form for an existing account (the password is not shown), with
    /// the way its mails go.
    pub fn editing(account: &Account) -> State {
        let mut state = State { servers_edited: true, route: account.route, ..State::default() };
        state.fill(account);
        state.address = account.address.to_string();
        state.username = account.username.clone();
        state.ca_file.clone_from(&account.ca_file);
        if account.auth == Auth::OAuth2 {
            state.signed_in = account.oauth2.as_deref().cloned();
        } else if account.route == Route::Servers
            && let Some(found) = crate::autoconfig::bundled(&account.address)
        {
            // Kept with a password: the password field first, and the
            // provider's sign-in offered (the servers stay as kept).
            state.discovery = Some(Box::new(found));
            state.use_password = true;
        }
        state
    }

    /// The provider's sign-in this account would use, if any: the one it
    /// was kept with, or the one its provider offers.
    fn oauth_settings(&self) -> Option<OAuth2Settings> {
        self.signed_in.clone().or_else(|| self.discovery.as_ref().and_then(|d| d.oauth2_settings()))
    }

    /// The form shows the provider's sign-in instead of the password.
    fn signs_in_with_provider(&self) -> bool {
        self.route == Route::Servers && !self.use_password && self.oauth_settings().is_some()
    }

    /// What the lookup found, as shown.
    pub fn discovery(&self) -> Option<&Discovery> {
        self.discovery.as_deref()
    }

    /// Whether the full lookup is under way.
    pub fn looking_up(&self) -> bool {
        self.looking_up.is_some()
    }

    pub fn sign_in_status(&self) -> &SignInStatus {
        &self.sign_in
    }

    fn fill(&mut self, account: &Account) {
        self.username = account.username.clone();
        self.smtp_host = account.smtp.host.clone();
        self.smtp_port = account.smtp.port.to_string();
        self.smtp_security = Some(SecurityChoice(account.smtp.security));
        self.imap_host = account.imap.host.clone();
        self.imap_port = account.imap.port.to_string();
        self.imap_security = Some(SecurityChoice(account.imap.security));
    }

    /// What carries the account's mails, as chosen.
    pub fn route(&self) -> Route {
        self.route
    }

    /// The account the form describes, or what is wrong with it. Through
    /// Thunderbird only the address counts: the servers are kept as typed
    /// when they are usable (for a later switch back), else as guessed.
    pub fn account(&self) -> Result<Account, String> {
        let address: EmailAddress =
            self.address.trim().parse().map_err(|e: crate::protocol::address::AddressError| e.to_string())?;
        match self.route {
            Route::Servers => self.with_servers(address),
            Route::Thunderbird => {
                let mut account =
                    self.with_servers(address.clone()).unwrap_or_else(|_| Account::guess(address));
                account.route = Route::Thunderbird;
                Ok(account)
            }
        }
    }

    /// The account with the servers as typed, or what is wrong with them.
    fn with_servers(&self, address: EmailAddress) -> Result<Account, String> {
        let server = |host: &str,
                      port: &str,
                      security: Option<SecurityChoice>,
                      what: &str|
         -> Result<Server, String> {
            let host = host.trim();
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(format!("the {what} server name is missing or has spaces"));
            }
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| format!("the {what} port must be a number from 1 to 65535"))?;
            if port == 0 {
                return Err(format!("the {what} port must be a number from 1 to 65535"));
            }
            Ok(Server { host: host.to_string(), port, security: security.map_or(Security::Tls, |s| s.0) })
        };
        let username = if self.username.trim().is_empty() {
            address.to_string()
        } else {
            self.username.trim().to_string()
        };
        Ok(Account {
            smtp: server(&self.smtp_host, &self.smtp_port, self.smtp_security, "SMTP")?,
            imap: server(&self.imap_host, &self.imap_port, self.imap_security, "IMAP")?,
            address,
            username,
            ca_file: self.ca_file.clone(),
            route: Default::default(),
            auth: Default::default(),
            oauth2: None,
        })
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Address(address) => {
                self.address = address;
                self.looking_up = None;
                if self
                    .discovery
                    .as_ref()
                    .is_some_and(|d| Some(&d.account.address) != self.address.trim().parse().ok().as_ref())
                {
                    // Found for another address.
                    self.discovery = None;
                }
                if !self.servers_edited {
                    self.discovery = None;
                    if let Ok(address) = self.address.trim().parse::<EmailAddress>() {
                        match crate::autoconfig::bundled(&address) {
                            Some(found) => {
                                self.fill(&found.account);
                                self.discovery = Some(Box::new(found));
                            }
                            None => {
                                self.fill(&Account::guess(address));
                                return Action::Settle(self.address.clone());
                            }
                        }
                    }
                }
            }
            Message::Settled(typed) => {
                if typed == self.address
                    && !self.servers_edited
                    && self.discovery.is_none()
                    && let Ok(address) = typed.trim().parse::<EmailAddress>()
                {
                    self.looking_up = Some(typed.clone());
                    return Action::Discover(typed, address);
                }
            }
            Message::Discovered(typed, found) => {
                if self.looking_up.as_deref() == Some(typed.as_str()) {
                    self.looking_up = None;
                }
                // Stale (the address changed since), or the user has typed
                // servers of their own: the answer is not used.
                if typed == self.address && !self.servers_edited {
                    self.fill(&found.account);
                    self.discovery = Some(found);
                }
            }
            Message::OpenLink(url) => return Action::OpenLink(url),
            Message::UsePassword(yes) => {
                self.use_password = yes;
                if !yes {
                    self.password.clear();
                }
            }
            Message::SignIn => {
                if matches!(self.sign_in, SignInStatus::Starting | SignInStatus::Waiting { .. }) {
                    return Action::None;
                }
                let Some(settings) = self.oauth_settings() else { return Action::None };
                // What is wrong with the form shows under it, as it is
                // typed, and goes when the field is right again.
                let Ok(mut account) = self.account() else { return Action::None };
                match Provider::from_settings(&settings) {
                    Ok(provider) => {
                        account.auth = Auth::OAuth2;
                        account.oauth2 = Some(Box::new(settings));
                        self.sign_in = SignInStatus::Starting;
                        self.saved = None;
                        self.report = None;
                        return Action::SignIn(account, provider);
                    }
                    Err(e) => self.sign_in = SignInStatus::Failed(sign_in_failure(&e, &settings)),
                }
            }
            Message::SignInWaiting { url, browser, canceller } => {
                if matches!(self.sign_in, SignInStatus::Starting) {
                    self.sign_in = SignInStatus::Waiting { url, browser, canceller };
                } else {
                    // Cancelled before the browser was reached.
                    canceller.cancel();
                }
            }
            Message::SignInFailed(e) => {
                let settings = self
                    .oauth_settings()
                    .unwrap_or_else(|| OAuth2Settings::of(crate::oauth::ProviderKind::Custom));
                self.sign_in = SignInStatus::Failed(sign_in_failure(&e, &settings));
            }
            Message::CancelSignIn => {
                if let SignInStatus::Waiting { canceller, .. } = &self.sign_in {
                    canceller.cancel();
                }
                self.sign_in = SignInStatus::Failed(sign_in_failure(
                    &OAuthError::Cancelled,
                    &OAuth2Settings::of(crate::oauth::ProviderKind::Custom),
                ));
            }
            Message::CopyUrl => {
                if let SignInStatus::Waiting { url, .. } = &self.sign_in {
                    return Action::Copy(url.clone());
                }
            }
            Message::Username(u) => self.username = u,
            Message::SmtpHost(h) => (self.smtp_host, self.servers_edited) = (h, true),
            Message::SmtpPort(p) => (self.smtp_port, self.servers_edited) = (p, true),
            Message::SmtpSecurity(s) => {
                (self.smtp_security, self.smtp_security_typed, self.servers_edited) = (Some(s), None, true);
            }
            Message::SmtpSecurityTyped(t) => {
                (self.smtp_security_typed, self.imap_security_typed) = (Some(widget::Typing::new(t)), None);
            }
            Message::ImapHost(h) => (self.imap_host, self.servers_edited) = (h, true),
            Message::ImapPort(p) => (self.imap_port, self.servers_edited) = (p, true),
            Message::ImapSecurity(s) => {
                (self.imap_security, self.imap_security_typed, self.servers_edited) = (Some(s), None, true);
            }
            Message::ImapSecurityTyped(t) => {
                (self.imap_security_typed, self.smtp_security_typed) = (Some(widget::Typing::new(t)), None);
            }
            Message::Arrow(id, by) => {
                if id == iced::widget::Id::new(IMAP_SECURITY_INPUT) {
                    self.smtp_security_typed = None;
                    widget::Typing::step(&mut self.imap_security_typed, by);
                } else if id == iced::widget::Id::new(SMTP_SECURITY_INPUT) {
                    self.imap_security_typed = None;
                    widget::Typing::step(&mut self.smtp_security_typed, by);
                }
            }
            Message::Password(p) => self.password = p,
            Message::Route(route) => {
                self.route = route;
                self.report = None;
                self.saved = None;
            }
            Message::Test => {
                if self.route != Route::Servers {
                    return Action::None;
                }
                if let Ok(mut account) = self.account() {
                    self.busy = true;
                    self.report = None;
                    if self.signs_in_with_provider() {
                        let Some(settings) = self.signed_in.clone() else {
                            self.busy = false;
                            return Action::None;
                        };
                        account.auth = Auth::OAuth2;
                        account.oauth2 = Some(Box::new(settings));
                        return Action::TestSaved(account);
                    }
                    return Action::Test(account, self.password.clone());
                }
            }
            Message::Tested(report) => {
                self.busy = false;
                self.report = Some(report);
            }
            Message::Save => {
                if let Ok(account) = self.account() {
                    self.busy = true;
                    self.saved = None;
                    if self.route == Route::Thunderbird {
                        self.password.clear();
                        return Action::SaveThroughThunderbird(account);
                    }
                    return Action::Save(account, self.password.clone());
                }
            }
            Message::Saved(result) => {
                self.busy = false;
                if result.is_ok() {
                    self.password.clear();
                }
                if matches!(self.sign_in, SignInStatus::Starting | SignInStatus::Waiting { .. }) {
                    match &result {
                        Ok(()) => {
                            self.sign_in = SignInStatus::Done;
                            self.signed_in = self.oauth_settings();
                        }
                        Err(e) => self.sign_in = SignInStatus::Failed(SignInProblem::Other(e.clone())),
                    }
                    return Action::None;
                }
                if result.is_ok() && self.route == Route::Servers {
                    // Kept with a password now: the sign-in is no longer used.
                    self.signed_in = None;
                }
                self.saved = Some(result);
            }
        }
        Action::None
    }

    /// The IMAP or the SMTP server's host, port and security.
    fn server_row<'a>(&'a self, tr: &Tr, side: Side) -> Element<'a, Message> {
        let (label, host, port, security, typing) = match side {
            Side::Imap => (
                tr!(tr, "account-imap"),
                &self.imap_host,
                &self.imap_port,
                &self.imap_security,
                &self.imap_security_typed,
            ),
            Side::Smtp => (
                tr!(tr, "account-smtp"),
                &self.smtp_host,
                &self.smtp_port,
                &self.smtp_security,
                &self.smtp_security_typed,
            ),
        };
        let (on_host, on_port, on_typed, on_security) = match side {
            Side::Imap => (
                Message::ImapHost as fn(String) -> Message,
                Message::ImapPort as fn(String) -> Message,
                Message::ImapSecurityTyped as fn(String) -> Message,
                Message::ImapSecurity as fn(SecurityChoice) -> Message,
            ),
            Side::Smtp => (
                Message::SmtpHost as fn(String) -> Message,
                Message::SmtpPort as fn(String) -> Message,
                Message::SmtpSecurityTyped as fn(String) -> Message,
                Message::SmtpSecurity as fn(SecurityChoice) -> Message,
            ),
        };
        row![
            widget::field(label, "mail.example.com", host, on_host),
            column![
                text(tr!(tr, "account-port")).size(14),
                text_input("993", port).on_input(on_port).padding(6).width(90)
            ]
            .spacing(4),
            column![
                text(tr!(tr, "account-security")).size(14),
                container(
                    widget::Choice {
                        id: side.security_input(),
                        options: &CHOICES,
                        chosen: security.as_ref(),
                        typing: typing.as_ref()
                    }
                    .view("TLS", on_typed, on_security)
                )
                .width(130)
            ]
            .spacing(4),
        ]
        .spacing(8)
        .into()
    }

    /// Send and watch: through the account's servers or through
    /// Thunderbird, two buttons of which the chosen one is lit (as the side
    /// bar marks where the user is).
    fn route_choice<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let option = |route: Route, label: String| {
            let style = if self.route == route { button::primary } else { button::secondary };
            button(text(label)).style(style).on_press(Message::Route(route))
        };
        column![
            text(tr!(tr, "account-route")).size(14),
            row![
                option(Route::Servers, tr!(tr, "account-route-servers")),
                option(Route::Thunderbird, tr!(tr, "account-route-thunderbird")),
            ]
            .spacing(8),
        ]
        .spacing(6)
        .into()
    }

    pub fn view<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let valid = self.account();
        let through_thunderbird = self.route == Route::Thunderbird;
        let ready = valid.is_ok() && (through_thunderbird || !self.password.is_empty()) && !self.busy;
        let mut content = column![
            widget::heading(tr!(tr, "account-title")),
            widget::field(tr!(tr, "account-address"), "you@example.com", &self.address, Message::Address),
        ]
        .spacing(12);
        if !through_thunderbird && (self.looking_up.is_some() || self.discovery.is_some()) {
            content = content.push(self.found_part(tr));
        }
        content = content.push(self.route_choice(tr));
        if through_thunderbird {
            content = content.push(widget::card(text(tr!(tr, "account-thunderbird-hint")).size(14)));
            content = content
                .push(button(text(tr!(tr, "account-save"))).on_press_maybe(ready.then_some(Message::Save)));
        } else {
            content = content.push(widget::field(
                tr!(tr, "account-username"),
                &self.address,
                &self.username,
                Message::Username,
            ));
            content = content.push(self.server_row(tr, Side::Imap));
            content = content.push(self.server_row(tr, Side::Smtp));
            content = content.push(self.login_part(tr, ready));
        }
        if let (Err(problem), false) = (&valid, self.address.is_empty()) {
            content = content.push(widget::error_text(problem.clone()));
        }
        if self.busy {
            content = content.push(text(tr!(tr, "working")));
        }
        if let (Some(report), false) = (&self.report, through_thunderbird) {
            for (name, result) in [("IMAP", &report.imap), ("SMTP", &report.smtp)] {
                content = content.push(match result {
                    Ok(()) => widget::ok_text(tr!(tr, "account-test-ok", server = name)),
                    Err(e) => {
                        widget::error_text(tr!(tr, "account-test-failed", server = name, reason = e.clone()))
                    }
                });
            }
        }
        match &self.saved {
            Some(Ok(())) if through_thunderbird => {
                content = content.push(widget::ok_text(tr!(tr, "account-saved-thunderbird")))
            }
            Some(Ok(())) => content = content.push(widget::ok_text(tr!(tr, "account-saved"))),
            Some(Err(e)) => content = content.push(widget::error_text(e.clone())),
            None => {}
        }
        scrollable(content.padding(16).width(Fill)).into()
    }
}

#[cfg(test)]
mod tests;
