//! The wallet app: its state, its `Message`, `update`, `view` and
//! `subscription`. The app owns what screens share (the store handle, the
//! account, the address book, the language), shows one screen at a time
//! in its window, and turns the `Action`s screens return into `Task`s on
//! the backend ([`screens`]). What the inbox watchers report is taken in
//! [`watched`]; the window, and the wallet's life without it (background
//! mode, the status icon), in [`windows`].

use iced::widget::{button, column, container, row, rule, text};
use iced::{Element, Fill, Size, Subscription, Task, Theme, event, keyboard, window};

use crate::config::Config;
use crate::i18n::{Lang, Tr};
use crate::paths::Paths;
use crate::protocol::payment::State as PaymentState;
use crate::protocol::{EmailAddress, OrderId, OrderTerms, Timestamp};
use crate::tr;
use crate::ui::backend::{self, BackendError, Background, Book, Home, Loaded, Session};
use crate::ui::background::{instance, tray};
use crate::ui::screen::{account, approval, contacts, history, new_payment, settings, welcome};
use crate::ui::watch::{self, Report};
use crate::ui::widget;
use crate::wallet::Sent;

mod screens;
mod watched;
mod windows;

/// What the wallet window opens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No window: the wallet watches in the background (`--background`).
    Background,
    /// Its first screen (History, or Welcome without an account).
    Home,
    /// New payment, filled in from a `mailpay:` link.
    Link(String),
    /// The bank's confirmation of this order, to approve or decline.
    Review(OrderId),
}

/// The wallet as an iced daemon: its window opens with `window::open`,
/// and closing it leaves the wallet running (see [`background`]).
/// `listener`: where later starts hand over their requests, when this
/// wallet is the user's one.
pub fn application(
    start: Start,
    listener: Option<instance::Listener>,
) -> iced::daemon::Daemon<impl iced::Program<State = App, Message = Message, Theme = Theme>> {
    let listener = std::sync::Mutex::new(listener);
    let boot = move || {
        let listener = listener.lock().ok().and_then(|mut l| l.take());
        App::boot(start.clone(), listener)
    };
    iced::daemon(boot, App::update, App::view_window)
        .default_font(crate::ui::fonts::text())
        .title(App::window_title)
        .subscription(App::subscription)
        .theme(|app: &App, _window| app.theme())
}

fn window_settings() -> window::Settings {
    window::Settings {
        size: Size::new(1000.0, 720.0),
        min_size: Some(Size::new(800.0, 600.0)),
        // The desktop file's name and StartupWMClass (packaging/linux).
        #[cfg(target_os = "linux")]
        platform_specific: window::settings::PlatformSpecific {
            application_id: "org.mailpay.MailPay".into(),
            ..Default::default()
        },
        ..window::Settings::default()
    }
}

#[derive(Debug)]
pub enum Screen {
    Loading,
    Broken(String),
    Welcome(welcome::State),
    Account(account::State),
    Contacts(contacts::State),
    Pay(new_payment::State),
    Approval(approval::State),
    History(history::State),
    Settings(settings::State),
}

/// The places the side bar leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Pay,
    History,
    Contacts,
    Settings,
}

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(Result<Loaded, BackendError>),
    DemoStarted(Loaded),
    Nav(Nav),
    Welcome(welcome::Message),
    Account(account::Message),
    Contacts(contacts::Message),
    Pay(new_payment::Message),
    Approval(approval::Message),
    History(history::Message),
    Settings(settings::Message),
    AccountSaved(Result<(Config, Session), BackendError>),
    AccountRemoved(EmailAddress, Result<Config, BackendError>),
    BookSaved(Result<Book, BackendError>),
    Review(OrderId),
    Reviewing(Result<(OrderTerms, PaymentState), BackendError>),
    /// What the inbox watcher of this account reports.
    Watch(EmailAddress, Report),
    SentInBackground(Result<Vec<Sent>, BackendError>),
    Saved(Result<(), BackendError>),
    FocusNext,
    FocusPrevious,
    /// An arrow key no widget took: for the focused choice field, if any.
    Arrow(widget::Move),
    /// The arrow key, with the field that has the focus.
    ArrowIn(iced::widget::Id, widget::Move),
    DismissBanner,
    /// A frame was drawn (listened to only to report the first one).
    Frame,
    /// The desktop showed a notification, or could not (the banner stays).
    Notified(Result<(), String>),
    /// The clock: overdue payments expire.
    Tick(Timestamp),
    /// The orders the clock expired.
    Expired(Result<Vec<OrderId>, BackendError>),
    /// Open the account screen on the sign-in of this account.
    SignInAgain(EmailAddress),
    /// A sign-in with the provider, as it goes.
    SignIn(backend::SignInEvent),
    /// A help page could not be opened (why).
    LinkOpened(Result<(), String>),
    /// Open (or raise) the window on this: a later start of MailPay, the
    /// status icon, a notification's Review.
    Show(Start),
    WindowOpened(window::Id),
    WindowClosed(window::Id),
    /// What the user chose on the status icon.
    Tray(tray::Event),
    /// How the notification about this order's confirmation ended:
    /// `Ok(true)` when the user chose Review.
    NotificationAnswered(OrderId, Result<bool, String>),
    /// The autostart entry was written (`true`) or removed.
    StartAtLoginSet(Result<bool, BackendError>),
}

/// How often the clock looks for overdue payments.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(30);

/// A line across the top of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub text: String,
    pub error: bool,
    /// An order whose confirmation can be reviewed from the banner.
    pub review: Option<OrderId>,
    /// The account whose sign-in with its provider is needed again: the
    /// banner leads to its sign-in.
    pub sign_in: Option<EmailAddress>,
}

pub struct App {
    tr: Tr,
    /// The language chosen in Settings, if any (else the system's).
    chosen_lang: Option<Lang>,
    home: Option<Home>,
    config: Config,
    /// The accounts the wallet can send and watch with, in the config's
    /// order.
    sessions: Vec<Session>,
    book: Book,
    screen: Screen,
    link: Option<String>,
    /// The order whose confirmation to open once loaded.
    review: Option<OrderId>,
    /// What each account's inbox watcher last said.
    watch_status: std::collections::BTreeMap<EmailAddress, String>,
    banner: Option<Banner>,
    /// The initials for board records, as typed in Settings.
    initials: String,
    /// The wallet's public key, or why it could not be read.
    wallet_key: Result<String, String>,
    /// With `MAILPAY_STARTUP_REPORT` set: when the wallet started, until
    /// the first frame is reported on stderr.
    startup: Option<std::time::Instant>,
    /// The window, while it is open.
    window: Option<window::Id>,
    /// Background mode as set in Settings.
    background: Background,
    /// Watching paused from the status icon.
    paused: bool,
    /// Why there is no status icon, once known.
    no_tray: Option<String>,
    /// Whether later starts are handed to this wallet.
    listening: bool,
}

/// What a key pressed anywhere in the window means to the app: Tab and
/// Shift+Tab move the focus; the arrow keys up and down, which text fields
/// leave alone (`status`), move through a choice field's list.
pub fn key(event: &iced::Event, status: event::Status) -> Option<Message> {
    use keyboard::key::Named;
    let iced::Event::Keyboard(keyboard::Event::KeyPressed {
        key: keyboard::Key::Named(key), modifiers, ..
    }) = event
    else {
        return None;
    };
    let free = status == event::Status::Ignored;
    match key {
        Named::Tab => Some(if modifiers.shift() { Message::FocusPrevious } else { Message::FocusNext }),
        Named::ArrowUp if free => Some(Message::Arrow(widget::Move::Up)),
        Named::ArrowDown if free => Some(Message::Arrow(widget::Move::Down)),
        _ => None,
    }
}

impl App {
    fn boot(start: Start, listener: Option<instance::Listener>) -> (App, Task<Message>) {
        let with_window = start != Start::Background;
        let (link, review) = match start {
            Start::Home | Start::Background => (None, None),
            Start::Link(link) => (Some(link), None),
            Start::Review(order) => (None, Some(order)),
        };
        let mut app = App::new(Lang::system(), link);
        app.review = review;
        if std::env::var_os("MAILPAY_STARTUP_REPORT").is_some() {
            app.startup = crate::ui::STARTED.get().copied();
        }
        let mut tasks = vec![match Paths::from_env() {
            Ok(paths) => Task::perform(backend::load(paths), Message::Loaded),
            Err(e) => Task::done(Message::Loaded(Err(e.into()))),
        }];
        if let Some(listener) = listener {
            app.listening = true;
            tasks.push(Task::run(instance::requests(listener), Message::Show));
        }
        if with_window {
            tasks.push(app.open_window());
        }
        (app, Task::batch(tasks))
    }

    /// An app still loading, in `lang`.
    pub fn new(lang: Lang, link: Option<String>) -> App {
        App {
            tr: Tr::new(lang),
            chosen_lang: None,
            home: None,
            config: Config::default(),
            sessions: Vec::new(),
            book: Book::default(),
            screen: Screen::Loading,
            link,
            review: None,
            watch_status: std::collections::BTreeMap::new(),
            banner: None,
            initials: String::new(),
            wallet_key: Err(String::new()),
            startup: None,
            window: None,
            background: Background::default(),
            paused: false,
            no_tray: None,
            listening: false,
        }
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The accounts the wallet sends and watches with, in the config's order.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// What the watcher of `account` last said, as the side bar shows it.
    pub fn watch_status(&self, account: &EmailAddress) -> Option<&str> {
        self.watch_status.get(account).map(String::as_str)
    }

    pub fn banner(&self) -> Option<&Banner> {
        self.banner.as_ref()
    }

    pub fn lang(&self) -> Lang {
        self.tr.lang()
    }

    pub fn title(&self) -> String {
        tr!(self.tr, "app-name")
    }

    /// The window's title: the screen, then the app ("New payment — MailPay").
    pub fn window_title(&self, _window: window::Id) -> String {
        let tr = &self.tr;
        let screen = match self.screen {
            Screen::Pay(_) => tr!(tr, "nav-pay"),
            Screen::History(_) => tr!(tr, "nav-history"),
            Screen::Contacts(_) => tr!(tr, "nav-contacts"),
            Screen::Settings(_) | Screen::Account(_) => tr!(tr, "nav-settings"),
            Screen::Approval(_) => tr!(tr, "approval-title"),
            Screen::Welcome(_) => tr!(tr, "welcome-window"),
            _ => return self.title(),
        };
        format!("{screen} — {}", self.title())
    }

    /// Whether the window is open.
    pub fn window(&self) -> Option<window::Id> {
        self.window
    }

    /// `None`: iced follows the system's light or dark setting.
    pub fn theme(&self) -> Option<Theme> {
        None
    }

    /// The addresses the wallet can pay from, the first by default.
    fn accounts(&self) -> Vec<EmailAddress> {
        self.sessions.iter().map(|s| s.account.address.clone()).collect()
    }

    fn say(&mut self, text: String, error: bool) {
        self.banner = Some(Banner { text, error, review: None, sign_in: None });
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(Ok(loaded)) => self.loaded(loaded),
            Message::Loaded(Err(e)) => {
                self.screen = Screen::Broken(e.to_string());
                Task::none()
            }
            Message::DemoStarted(loaded) => {
                let merchant = loaded.book.merchants.first().map(|m| m.address.clone());
                let task = self.loaded(loaded);
                if let Some(merchant) = merchant {
                    self.screen = Screen::Pay(new_payment::State::for_merchant(&merchant, &self.book));
                }
                self.banner = Some(Banner {
                    text: tr!(self.tr, "demo-started"),
                    error: false,
                    review: None,
                    sign_in: None,
                });
                task
            }
            Message::Nav(nav) => self.navigate(nav),
            Message::Welcome(m) => self.welcome(m),
            Message::Account(m) => self.account(m),
            Message::Contacts(m) => self.contacts(m),
            Message::Pay(m) => {
                if let new_payment::Message::Dispatched(Ok(sent)) = &m {
                    self.check_sign_in(sent);
                }
                self.pay(m)
            }
            Message::Approval(m) => {
                if let approval::Message::Answered(Ok(sent)) = &m {
                    self.check_sign_in(sent);
                }
                self.approval(m)
            }
            Message::History(m) => self.history(m),
            Message::Settings(m) => self.settings(m),
            Message::AccountSaved(result) => {
                let reply = match result {
                    Ok((config, session)) => {
                        self.config = config;
                        match self.sessions.iter_mut().find(|s| s.account.address == session.account.address)
                        {
                            Some(existing) => *existing = session,
                            None => self.sessions.push(session),
                        }
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                };
                if let Screen::Account(state) = &mut self.screen {
                    let _ = state.update(account::Message::Saved(reply));
                }
                Task::none()
            }
            Message::AccountRemoved(address, Ok(config)) => {
                self.config = config;
                self.sessions.retain(|s| s.account.address != address);
                self.watch_status.remove(&address);
                self.say(tr!(self.tr, "settings-account-removed", address = address.to_string()), false);
                Task::none()
            }
            Message::AccountRemoved(_, Err(e)) => {
                self.say(e.to_string(), true);
                Task::none()
            }
            Message::BookSaved(result) => {
                let reply = result.map(|book| self.book = book).map_err(|e| e.to_string());
                if let Screen::Contacts(state) = &mut self.screen {
                    let _ = state.update(contacts::Message::Saved(reply), &self.book);
                }
                Task::none()
            }
            Message::Review(order) => match &self.home {
                Some(home) => Task::perform(backend::payment(home.clone(), order), Message::Reviewing),
                None => Task::none(),
            },
            Message::Reviewing(Ok((terms, PaymentState::AwaitingConfirmation { confirm, .. }))) => {
                self.banner = None;
                self.screen = Screen::Approval(approval::State::new(terms, confirm));
                Task::none()
            }
            Message::Reviewing(Ok((terms, state))) => {
                let text = tr!(
                    self.tr,
                    "review-not-waiting",
                    order = terms.order.to_string(),
                    state = self.tr.dynamic(&format!("state-{}", state.name()))
                );
                self.say(text, false);
                Task::none()
            }
            Message::Reviewing(Err(e)) | Message::SentInBackground(Err(e)) | Message::Saved(Err(e)) => {
                self.say(e.to_string(), true);
                Task::none()
            }
            Message::SentInBackground(Ok(sent)) => {
                if self.check_sign_in(&sent) {
                    return Task::none();
                }
                if let Some(e) = sent.iter().find_map(|s| s.result.as_ref().err()) {
                    if sent.iter().filter_map(|s| s.result.as_ref().err()).all(backend::waits_in_outbox) {
                        self.say(tr!(self.tr, "sent-waiting"), false);
                    } else {
                        self.say(e.to_string(), true);
                    }
                }
                Task::none()
            }
            Message::Saved(Ok(())) => Task::none(),
            Message::Watch(account, report) => self.watched(account, report),
            Message::FocusNext => iced::widget::operation::focus_next(),
            Message::FocusPrevious => iced::widget::operation::focus_previous(),
            Message::Arrow(by) => {
                iced::advanced::widget::operate(iced::advanced::widget::operation::focusable::find_focused())
                    .map(move |id| Message::ArrowIn(id, by))
            }
            Message::ArrowIn(id, by) => match &self.screen {
                Screen::Account(_) => self.account(account::Message::Arrow(id, by)),
                Screen::Contacts(_) => self.contacts(contacts::Message::Arrow(id, by)),
                Screen::Pay(_) => self.pay(new_payment::Message::Arrow(id, by)),
                Screen::History(_) => self.history(history::Message::Arrow(id, by)),
                Screen::Settings(_) => self.settings(settings::Message::Arrow(id, by)),
                _ => Task::none(),
            },
            Message::DismissBanner => {
                self.banner = None;
                Task::none()
            }
            Message::Notified(_) => Task::none(),
            Message::Tick(now) => match &self.home {
                Some(home) => Task::perform(backend::expire_overdue(home.clone(), now), Message::Expired),
                None => Task::none(),
            },
            Message::Expired(Ok(orders)) if orders.is_empty() => Task::none(),
            Message::Expired(Ok(orders)) => {
                let list: Vec<String> = orders.iter().map(OrderId::to_string).collect();
                self.say(tr!(self.tr, "payments-expired", orders = list.join(", ")), false);
                match &self.screen {
                    Screen::History(state) => self.load_history(state.query()),
                    _ => Task::none(),
                }
            }
            Message::Expired(Err(e)) => {
                self.say(e.to_string(), true);
                Task::none()
            }
            Message::SignInAgain(address) => {
                self.screen =
                    Screen::Account(match self.config.accounts.iter().find(|a| a.address == address) {
                        Some(a) => account::State::editing(a),
                        None => account::State::default(),
                    });
                Task::none()
            }
            Message::SignIn(event) => match event {
                backend::SignInEvent::Waiting { url, browser, canceller } => {
                    self.account(account::Message::SignInWaiting { url, browser, canceller })
                }
                backend::SignInEvent::Failed(e) => self.account(account::Message::SignInFailed(e)),
                backend::SignInEvent::Saved(result) => {
                    if let Ok((_, session)) = result.as_ref()
                        && self.banner.as_ref().and_then(|b| b.sign_in.as_ref())
                            == Some(&session.account.address)
                    {
                        self.banner = None;
                    }
                    self.update(Message::AccountSaved(*result))
                }
            },
            Message::LinkOpened(Ok(())) => Task::none(),
            Message::LinkOpened(Err(e)) => {
                self.say(e, true);
                Task::none()
            }
            Message::Show(start) => self.show(start),
            Message::WindowOpened(_) => Task::none(),
            Message::WindowClosed(id) => self.window_closed(id),
            Message::Tray(event) => self.tray(event),
            Message::NotificationAnswered(order, Ok(true)) => self.show(Start::Review(order)),
            Message::NotificationAnswered(_, _) => Task::none(),
            Message::StartAtLoginSet(Ok(on)) => {
                self.background.start_at_login = on;
                Task::none()
            }
            Message::StartAtLoginSet(Err(e)) => {
                self.say(e.to_string(), true);
                Task::none()
            }
            Message::Frame => {
                if let Some(started) = self.startup.take() {
                    eprintln!("mailpay: first frame {} ms after start", started.elapsed().as_millis());
                }
                Task::none()
            }
        }
    }

    /// The wallet is open: pick the first screen.
    pub fn loaded(&mut self, loaded: Loaded) -> Task<Message> {
        if let Some(lang) = loaded.language.as_deref().and_then(Lang::from_code) {
            self.chosen_lang = Some(lang);
            if lang != self.tr.lang() {
                self.tr = Tr::new(lang);
            }
        }
        self.home = Some(loaded.home);
        self.config = loaded.config;
        self.sessions = loaded.sessions;
        self.book = loaded.book;
        self.initials = loaded.initials.unwrap_or_default();
        self.wallet_key = loaded.wallet_key;
        self.background = loaded.background;
        if let Some(problem) = loaded.keyring_problem {
            // An account signed in with its provider whose sign-in could not
            // be read: the banner leads to signing in again.
            let unsigned = self.config.accounts.iter().find(|a| {
                a.auth == crate::mail::account::Auth::OAuth2
                    && a.route == crate::mail::account::Route::Servers
                    && !self.sessions.iter().any(|s| s.account.address == a.address)
            });
            let sign_in = unsigned.map(|a| a.address.clone());
            self.banner = Some(Banner { text: problem, error: true, review: None, sign_in });
        }
        if let Some(order) = self.review.take() {
            return self.update(Message::Review(order));
        }
        if let Some(text) = self.link.take()
            && self.open_link(&text)
        {
            return Task::none();
        }
        if self.config.accounts.is_empty() {
            self.screen = Screen::Welcome(welcome::State::default());
            Task::none()
        } else {
            self.navigate(Nav::History)
        }
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let keys = event::listen_with(|event, status, _window| key(&event, status));
        // One watcher per account, each keyed by its account.
        let inbox = match &self.home {
            Some(_) if self.paused => Subscription::none(),
            Some(home) => Subscription::batch(self.sessions.iter().map(|session| {
                watch::subscription(home.clone(), session.clone())
                    .with(session.account.address.clone())
                    .map(|(account, report)| Message::Watch(account, report))
            })),
            None => Subscription::none(),
        };
        let frames = match self.startup {
            Some(_) => window::frames().map(|_| Message::Frame),
            None => Subscription::none(),
        };
        let clock = match &self.home {
            Some(_) => iced::time::every(TICK).map(|_| Message::Tick(crate::clock::now())),
            None => Subscription::none(),
        };
        let closed = window::close_events().map(Message::WindowClosed);
        let tray = tray::subscription(self.tray_menu()).map(Message::Tray);
        Subscription::batch([keys, inbox, frames, clock, closed, tray])
    }

    /// The window's view (the wallet has one window).
    pub fn view_window(&self, _window: window::Id) -> Element<'_, Message> {
        self.view()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let tr = &self.tr;
        let accounts = self.accounts();
        let body: Element<'_, Message> = match &self.screen {
            Screen::Loading => container(text(tr!(tr, "loading"))).center(Fill).into(),
            Screen::Broken(e) => container(widget::error_text(tr!(tr, "broken", reason = e.clone())))
                .center(Fill)
                .padding(24)
                .into(),
            Screen::Welcome(s) => s.view(tr).map(Message::Welcome),
            Screen::Account(s) => s.view(tr).map(Message::Account),
            Screen::Contacts(s) => s.view(tr, &self.book).map(Message::Contacts),
            Screen::Pay(s) => s.view(tr, &accounts, &self.book).map(Message::Pay),
            Screen::Approval(s) => s.view(tr).map(Message::Approval),
            Screen::History(s) => s.view(tr).map(Message::History),
            Screen::Settings(s) => s
                .view(
                    tr,
                    &self.config.accounts,
                    &self.initials,
                    self.wallet_key.as_deref().map_err(String::as_str),
                    self.background,
                    self.no_tray.as_ref().map(|why| tr!(tr, "background-no-tray", reason = why.clone())),
                )
                .map(Message::Settings),
        };
        let mut main = column![].width(Fill).height(Fill);
        if let Some(banner) = &self.banner {
            let mut line = row![if banner.error {
                widget::error_text(banner.text.clone())
            } else {
                text(banner.text.clone()).into()
            }]
            .spacing(12)
            .align_y(iced::Center);
            line = line.push(iced::widget::space::horizontal());
            if let Some(order) = &banner.review {
                line = line.push(button(text(tr!(tr, "review"))).on_press(Message::Review(order.clone())));
            }
            if let Some(account) = &banner.sign_in {
                line = line.push(
                    button(text(tr!(tr, "account-sign-in-again")))
                        .on_press(Message::SignInAgain(account.clone())),
                );
            }
            line = line.push(button(text("×")).style(button::text).on_press(Message::DismissBanner));
            main = main.push(container(line).padding(8).width(Fill).style(container::rounded_box));
        }
        main = main.push(body);
        if matches!(self.screen, Screen::Welcome(_)) {
            return main.into();
        }
        row![self.sidebar(), rule::vertical(1), main].into()
    }

    fn sidebar(&self) -> Element<'_, Message> {
        let tr = &self.tr;
        let current = match self.screen {
            Screen::Pay(_) => Some(Nav::Pay),
            Screen::History(_) | Screen::Approval(_) => Some(Nav::History),
            Screen::Contacts(_) => Some(Nav::Contacts),
            Screen::Settings(_) | Screen::Account(_) => Some(Nav::Settings),
            _ => None,
        };
        let item = |nav: Nav, label: String| {
            let style = if current == Some(nav) { button::primary } else { button::text };
            button(text(label)).width(Fill).style(style).on_press(Message::Nav(nav))
        };
        let mut bar = column![
            text(tr!(tr, "app-name")).size(22),
            item(Nav::Pay, tr!(tr, "nav-pay")),
            item(Nav::History, tr!(tr, "nav-history")),
            item(Nav::Contacts, tr!(tr, "nav-contacts")),
            item(Nav::Settings, tr!(tr, "nav-settings")),
            iced::widget::space::vertical(),
        ]
        .spacing(6)
        .padding(12)
        .width(190);
        for session in &self.sessions {
            let address = &session.account.address;
            bar = bar.push(text(address.to_string()).size(12));
            if let Some(status) = self.watch_status.get(address) {
                bar = bar.push(text(status.clone()).size(12));
            }
        }
        bar.into()
    }
}
