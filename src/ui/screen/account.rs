//! The mail account: address, and how its mails go: through the
//! account's own servers (IMAP and SMTP, guessed from the address,
//! editable; the password to the OS keyring only; a connection test with
//! one clear result per server), or through Thunderbird, which holds the
//! account (no password, no servers: MailPay's add-on carries the mails).

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::i18n::Tr;
use crate::mail::account::{Account, Route, Security, Server};
use crate::protocol::EmailAddress;
use crate::tr;
use crate::ui::backend::ConnectionReport;
use crate::ui::widget;

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
    busy: bool,
    report: Option<ConnectionReport>,
    saved: Option<Result<(), String>>,
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
            _ => f.write_str("AccountField"),
        }
    }
}

pub enum Action {
    None,
    Test(Account, String),
    Save(Account, String),
    /// Keep the account, its mails going through Thunderbird: no password.
    SaveThroughThunderbird(Account),
}

impl State {
    /// The form for an existing account (the password is not shown), with
    /// the way its mails go.
    pub fn editing(account: &Account) -> State {
        let mut state = State { servers_edited: true, route: account.route, ..State::default() };
        state.fill(account);
        state.address = account.address.to_string();
        state.username = account.username.clone();
        state
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
            ca_file: None,
            route: Default::default(),
            auth: Default::default(),
            oauth2: None,
        })
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Address(address) => {
                self.address = address;
                if !self.servers_edited
                    && let Ok(address) = self.address.trim().parse::<EmailAddress>()
                {
                    self.fill(&Account::guess(address));
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
                if let Ok(account) = self.account() {
                    self.busy = true;
                    self.report = None;
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
            self.route_choice(tr),
        ]
        .spacing(12);
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
            content = content.push(
                column![
                    text(tr!(tr, "account-password")).size(14),
                    text_input("", &self.password).secure(true).on_input(Message::Password).padding(6),
                    text(tr!(tr, "account-password-hint")).size(12),
                ]
                .spacing(4),
            );
            content = content.push(
                row![
                    button(text(tr!(tr, "account-test")))
                        .style(button::secondary)
                        .on_press_maybe(ready.then_some(Message::Test)),
                    button(text(tr!(tr, "account-save"))).on_press_maybe(ready.then_some(Message::Save)),
                ]
                .spacing(8),
            );
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn servers_follow_the_address_until_edited() {
        let mut state = State::default();
        let _ = state.update(Message::Address("taro@gmail.com".into()));
        assert_eq!(state.imap_host, "imap.gmail.com");
        let _ = state.update(Message::ImapHost("mail.example.jp".into()));
        let _ = state.update(Message::Address("taro@example.org".into()));
        assert_eq!(state.imap_host, "mail.example.jp", "an edited server is kept");
        let _ = state.update(Message::SmtpPort("0".into()));
        assert!(state.account().unwrap_err().contains("port"));
    }

    #[test]
    fn through_thunderbird_the_address_is_all_and_no_password_is_asked() {
        let mut state = State::default();
        let _ = state.update(Message::Address("taro@example.jp".into()));
        let _ = state.update(Message::Route(Route::Thunderbird));
        // Even servers typed wrong do not stop it: they are not used.
        let _ = state.update(Message::SmtpPort("0".into()));
        assert!(matches!(state.update(Message::Test), Action::None), "no servers to test");
        let Action::SaveThroughThunderbird(account) = state.update(Message::Save) else {
            panic!("Save keeps the account through Thunderbird");
        };
        assert_eq!(account.route, Route::Thunderbird);
        assert_eq!(account.address.as_str(), "taro@example.jp");
        assert_eq!(account.smtp.port, 465, "the servers as guessed");
        // Shown again as it was kept.
        assert_eq!(State::editing(&account).route(), Route::Thunderbird);
        assert_eq!(State::editing(&Account::guess(account.address.clone())).route(), Route::Servers);
    }

    #[test]
    fn password_never_shows_in_debug() {
        let text = format!("{:?}", Message::Password("hunter2".into()));
        assert!(!text.contains("hunter2"));
    }
}
