//! The wallet window: the app state, its `Message`, `update`, `view` and
//! `subscription`. The app owns what screens share (the store handle, the
//! account, the address book, the language), shows one screen at a time,
//! and turns the `Action`s screens return into `Task`s on the backend.

use iced::widget::{button, column, container, row, rule, text};
use iced::{Element, Fill, Size, Subscription, Task, Theme, event, keyboard, window};

use crate::config::Config;
use crate::i18n::{Lang, Tr};
use crate::paths::Paths;
use crate::protocol::payment::State as PaymentState;
use crate::protocol::{EmailAddress, OrderId, OrderTerms, Timestamp, link};
use crate::tr;
use crate::ui::backend::{self, BackendError, Background, Book, Home, Loaded, Session};
use crate::ui::background::{self, instance, tray};
use crate::ui::screen::{account, approval, contacts, history, new_payment, settings, welcome};
use crate::ui::watch::{self, Report};
use crate::ui::widget;
use crate::wallet::Sent;

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

    /// New payment filled in from a `mailpay:` link; `false` (and the
    /// banner says why) when the link cannot be read.
    fn open_link(&mut self, text: &str) -> bool {
        match link::parse(text) {
            Ok(l) => {
                self.screen = Screen::Pay(new_payment::State::from_link(&l, &self.book));
                true
            }
            Err(e) => {
                self.say(e.to_string(), true);
                false
            }
        }
    }

    /// Opens (or raises) the window on what `start` asks for.
    fn show(&mut self, start: Start) -> Task<Message> {
        let loaded = self.home.is_some();
        let go = match start {
            Start::Background => return Task::none(),
            Start::Home => Task::none(),
            Start::Link(text) if loaded => {
                self.open_link(&text);
                Task::none()
            }
            Start::Link(text) => {
                self.link = Some(text);
                Task::none()
            }
            Start::Review(order) if loaded => self.update(Message::Review(order)),
            Start::Review(order) => {
                self.review = Some(order);
                Task::none()
            }
        };
        Task::batch([self.open_window(), go])
    }

    fn open_window(&mut self) -> Task<Message> {
        match self.window {
            // Brought back if minimized, then to the front.
            Some(id) => window::minimize(id, false).chain(window::gain_focus(id)),
            None => {
                let (id, opened) = window::open(window_settings());
                self.window = Some(id);
                opened.map(Message::WindowOpened)
            }
        }
    }

    /// The window closed: the wallet stays in the background, or quits.
    fn window_closed(&mut self, id: window::Id) -> Task<Message> {
        if self.window != Some(id) {
            return Task::none();
        }
        self.window = None;
        if background::stays_open(self.background.quit_on_close, self.no_tray.is_none(), self.listening) {
            Task::none()
        } else {
            iced::exit()
        }
    }

    fn tray(&mut self, event: tray::Event) -> Task<Message> {
        match event {
            tray::Event::Open => self.show(Start::Home),
            tray::Event::Quit => iced::exit(),
            tray::Event::Pause(paused) => {
                self.paused = paused;
                for session in &self.sessions {
                    let address = session.account.address.clone();
                    if paused {
                        self.watch_status.insert(address, tr!(self.tr, "background-paused"));
                    } else {
                        // The watcher says how it is once it is back.
                        self.watch_status.remove(&address);
                    }
                }
                Task::none()
            }
            tray::Event::Unavailable(why) => {
                if self.no_tray.is_none() {
                    let text = tr!(self.tr, "background-no-tray", reason = why.clone());
                    eprintln!("mailpay: {text}");
                    self.say(text, false);
                }
                self.no_tray = Some(why);
                Task::none()
            }
        }
    }

    fn tray_menu(&self) -> tray::Menu {
        tray::Menu {
            tooltip: tr!(self.tr, "app-name"),
            open: tr!(self.tr, "background-open"),
            pause: tr!(self.tr, "background-pause"),
            resume: tr!(self.tr, "background-resume"),
            quit: tr!(self.tr, "background-quit"),
            paused: self.paused,
        }
    }

    fn navigate(&mut self, nav: Nav) -> Task<Message> {
        match nav {
            Nav::Pay => self.screen = Screen::Pay(new_payment::State::default()),
            Nav::Contacts => self.screen = Screen::Contacts(contacts::State::new()),
            Nav::Settings => self.screen = Screen::Settings(settings::State::default()),
            Nav::History => {
                let state = history::State::default();
                let query = state.query();
                self.screen = Screen::History(state);
                return self.load_history(query);
            }
        }
        Task::none()
    }

    fn load_history(&self, query: crate::store::history::Query) -> Task<Message> {
        let Some(home) = self.home.clone() else { return Task::none() };
        Task::perform(
            async move {
                let started = std::time::Instant::now();
                let page = backend::history(home, query).await?;
                Ok::<_, BackendError>((page, started.elapsed().as_millis()))
            },
            |r| Message::History(history::Message::Loaded(r.map_err(|e| e.to_string()))),
        )
    }

    fn welcome(&mut self, message: welcome::Message) -> Task<Message> {
        let Screen::Welcome(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            welcome::Action::None => Task::none(),
            welcome::Action::SetUpAccount => {
                self.screen = Screen::Account(account::State::default());
                Task::none()
            }
            welcome::Action::StartDemo => Task::perform(backend::start_demo(), |r| match r {
                Ok(loaded) => Message::DemoStarted(loaded),
                Err(e) => Message::Welcome(welcome::Message::DemoFailed(e)),
            }),
        }
    }

    fn account(&mut self, message: account::Message) -> Task<Message> {
        let Screen::Account(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            account::Action::None => Task::none(),
            account::Action::Test(account, password) => {
                Task::perform(backend::test_connection(account, password), |r| {
                    Message::Account(account::Message::Tested(r))
                })
            }
            account::Action::TestSaved(account) => {
                Task::perform(backend::test_saved(account), |r| Message::Account(account::Message::Tested(r)))
            }
            account::Action::Settle(typed) => Task::perform(tokio::time::sleep(account::SETTLE), move |()| {
                Message::Account(account::Message::Settled(typed.clone()))
            }),
            account::Action::Discover(typed, address) => {
                Task::perform(backend::discover(address), move |found| {
                    Message::Account(account::Message::Discovered(typed.clone(), Box::new(found)))
                })
            }
            account::Action::OpenLink(url) => Task::perform(backend::open_link(url), Message::LinkOpened),
            account::Action::Copy(text) => iced::clipboard::write(text),
            account::Action::SignIn(account, provider) => match &self.home {
                Some(home) => Task::run(backend::sign_in(home.clone(), account, provider), Message::SignIn),
                None => Task::none(),
            },
            account::Action::Save(account, password) => match &self.home {
                Some(home) => Task::perform(
                    backend::save_account(home.clone(), account, password),
                    Message::AccountSaved,
                ),
                None => Task::none(),
            },
            account::Action::SaveThroughThunderbird(account) => match &self.home {
                Some(home) => Task::perform(
                    backend::save_account_through_thunderbird(home.clone(), account),
                    Message::AccountSaved,
                ),
                None => Task::none(),
            },
        }
    }

    fn contacts(&mut self, message: contacts::Message) -> Task<Message> {
        let Screen::Contacts(state) = &mut self.screen else { return Task::none() };
        let Some(home) = self.home.clone() else { return Task::none() };
        match state.update(message, &self.book) {
            contacts::Action::None => Task::none(),
            contacts::Action::SaveBank(bank) => {
                Task::perform(backend::save_bank(home, bank), Message::BookSaved)
            }
            contacts::Action::SaveMerchant(merchant) => {
                Task::perform(backend::save_merchant(home, merchant), Message::BookSaved)
            }
            contacts::Action::Pay(merchant) => {
                self.screen = Screen::Pay(new_payment::State::for_merchant(&merchant, &self.book));
                Task::none()
            }
        }
    }

    fn pay(&mut self, message: new_payment::Message) -> Task<Message> {
        let accounts = self.accounts();
        let Screen::Pay(state) = &mut self.screen else { return Task::none() };
        let action = state.update(message, &accounts, &self.book);
        let Some(home) = self.home.clone() else { return Task::none() };
        let to_pay = |r: Result<Vec<Sent>, BackendError>| {
            Message::Pay(new_payment::Message::Dispatched(r.map_err(|e| e.to_string())))
        };
        match action {
            new_payment::Action::None => Task::none(),
            new_payment::Action::Place(order) => Task::perform(
                async move {
                    let id = backend::place(home.clone(), *order).await?;
                    let mails = backend::pending(home, id.clone()).await?;
                    Ok::<_, BackendError>((id, mails))
                },
                |r| Message::Pay(new_payment::Message::Placed(r.map_err(|e| e.to_string()))),
            ),
            new_payment::Action::Dispatch(order) => {
                Task::perform(backend::dispatch(home, self.sessions.clone(), order), to_pay)
            }
            new_payment::Action::Retry(order) => {
                Task::perform(backend::retry(home, self.sessions.clone(), order), to_pay)
            }
        }
    }

    fn approval(&mut self, message: approval::Message) -> Task<Message> {
        let Screen::Approval(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            approval::Action::None => Task::none(),
            approval::Action::Answer { order, approve } => {
                let answered = |r: Result<Vec<Sent>, BackendError>| {
                    Message::Approval(approval::Message::Answered(r.map_err(|e| e.to_string())))
                };
                match self.home.clone() {
                    Some(home) => {
                        Task::perform(backend::answer(home, self.sessions.clone(), order, approve), answered)
                    }
                    None => Task::done(answered(Err(BackendError::NoAccount))),
                }
            }
        }
    }

    fn history(&mut self, message: history::Message) -> Task<Message> {
        let Screen::History(state) = &mut self.screen else { return Task::none() };
        let Some(home) = self.home.clone() else { return Task::none() };
        match state.update(message) {
            history::Action::None => Task::none(),
            history::Action::Load(query) => self.load_history(query),
            history::Action::Timeline(order) => {
                let key = order.as_str().to_string();
                Task::perform(backend::timeline(home, order), move |r| {
                    Message::History(history::Message::Timeline(key.clone(), r.map_err(|e| e.to_string())))
                })
            }
            history::Action::AskWhere => Task::perform(
                crate::ui::save_dialog::ask(crate::ui::save_dialog::Question {
                    title: tr!(self.tr, "history-export-title"),
                    name: backend::export_name(),
                    folder: backend::downloads(),
                    filter: ("CSV", "csv"),
                }),
                |answer| Message::History(history::Message::Where(answer)),
            ),
            history::Action::Export(query, to) => Task::perform(backend::export(home, query, to), |r| {
                Message::History(history::Message::Exported(
                    r.map(|(path, _)| path.display().to_string()).map_err(|e| e.to_string()),
                ))
            }),
            history::Action::Overview(request) => Task::perform(backend::overview(home, request), |r| {
                Message::History(history::Message::Overview(history::overview::Message::Loaded(
                    r.map_err(|e| e.to_string()),
                )))
            }),
            history::Action::ExportOverview(query, to) => {
                Task::perform(backend::export_overview(home, query, to), |r| {
                    Message::History(history::Message::Exported(
                        r.map(|(path, _)| path.display().to_string()).map_err(|e| e.to_string()),
                    ))
                })
            }
            history::Action::Approve(order) => Task::done(Message::Review(order)),
            history::Action::Resend(order) => {
                let reload = order.clone();
                Task::perform(backend::retry(home, self.sessions.clone(), order), Message::SentInBackground)
                    .chain(Task::done(Message::History(history::Message::Open(reload.as_str().to_string()))))
            }
        }
    }

    fn settings(&mut self, message: settings::Message) -> Task<Message> {
        let Screen::Settings(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            settings::Action::None => Task::none(),
            settings::Action::Copy(text) => {
                self.say(tr!(self.tr, "settings-copied"), false);
                iced::clipboard::write(text)
            }
            settings::Action::SetLanguage(lang) => {
                self.tr = Tr::new(lang);
                self.chosen_lang = Some(lang);
                match &self.home {
                    Some(home) => {
                        Task::perform(backend::set_language(home.clone(), lang.code()), Message::Saved)
                    }
                    None => Task::none(),
                }
            }
            settings::Action::EditInitials(text) => {
                self.initials = text;
                Task::none()
            }
            settings::Action::SaveInitials => match crate::protocol::board::check_initials(&self.initials) {
                Ok(initials) => {
                    let initials = initials.to_string();
                    self.initials = initials.clone();
                    self.say(tr!(self.tr, "settings-initials-saved", initials = initials.clone()), false);
                    match &self.home {
                        Some(home) => {
                            Task::perform(backend::set_initials(home.clone(), initials), Message::Saved)
                        }
                        None => Task::none(),
                    }
                }
                Err(e) => {
                    self.say(e.to_string(), true);
                    Task::none()
                }
            },
            settings::Action::EditAccount(address) => {
                self.screen =
                    Screen::Account(match self.config.accounts.iter().find(|a| a.address == address) {
                        Some(a) => account::State::editing(a),
                        None => account::State::default(),
                    });
                Task::none()
            }
            settings::Action::AddAccount => {
                self.screen = Screen::Account(account::State::default());
                Task::none()
            }
            settings::Action::SetQuitOnClose(on) => {
                self.background.quit_on_close = on;
                match &self.home {
                    Some(home) => Task::perform(backend::set_quit_on_close(home.clone(), on), Message::Saved),
                    None => Task::none(),
                }
            }
            settings::Action::SetStartAtLogin(on) => {
                Task::perform(backend::set_start_at_login(on), Message::StartAtLoginSet)
            }
            settings::Action::RemoveAccount(address) => match &self.home {
                Some(home) => {
                    Task::perform(backend::remove_account(home.clone(), address.clone()), move |r| {
                        Message::AccountRemoved(address.clone(), r)
                    })
                }
                None => Task::none(),
            },
        }
    }

    fn watched(&mut self, account: EmailAddress, report: Report) -> Task<Message> {
        let mut task = Task::none();
        if let (Some(order), Some(home)) = (report.to_send(), self.home.clone())
            && let Ok(order) = order.parse::<OrderId>()
        {
            task = Task::perform(
                backend::dispatch(home, self.sessions.clone(), order),
                Message::SentInBackground,
            );
        }
        match &report {
            Report::Demo => {
                self.watch_status.insert(account, tr!(self.tr, "watch-demo"));
            }
            Report::Connected { idle } => {
                let status = if *idle { tr!(self.tr, "watch-idle") } else { tr!(self.tr, "watch-polling") };
                self.watch_status.insert(account, status);
            }
            Report::Disconnected { reason, retry_in_secs } => {
                let seconds = retry_in_secs.to_string();
                let status = tr!(self.tr, "watch-disconnected", reason = reason.clone(), seconds = seconds);
                self.watch_status.insert(account, status);
            }
            Report::Stopped(reason) => self.say(reason.clone(), true),
            Report::SignInAgain(_) => {
                self.watch_status.insert(account.clone(), tr!(self.tr, "watch-sign-in-again"));
                self.ask_sign_in(account);
            }
            Report::Invalid(reason) => self.say(tr!(self.tr, "watch-invalid", reason = reason.clone()), true),
            Report::SetAside(reason) => {
                self.say(tr!(self.tr, "watch-set-aside", reason = reason.clone()), true)
            }
            Report::Thunderbird(link) => {
                let status = match link {
                    watch::Link::Connected => tr!(self.tr, "watch-thunderbird"),
                    watch::Link::NotRunning => tr!(self.tr, "watch-thunderbird-closed"),
                    watch::Link::OtherAccount => tr!(self.tr, "watch-thunderbird-other"),
                };
                self.watch_status.insert(account, status);
                // Back: what waited in the outbox leaves now.
                if let (watch::Link::Connected, Screen::History(state)) = (link, &self.screen) {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
            Report::Took { order, what } => {
                match what {
                    watch::Took::Awaiting => task = Task::batch([task, self.confirmation(order)]),
                    watch::Took::Stepped(state) => {
                        let state = self.tr.dynamic(&format!("state-{state}"));
                        self.say(tr!(self.tr, "watch-stepped", order = order.clone(), state = state), false);
                    }
                    watch::Took::Refused(reason) => self.say(reason.clone(), true),
                }
                if let Screen::History(state) = &self.screen {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
            Report::Received { order, receipt } => {
                if report.awaiting().is_some() {
                    task = Task::batch([task, self.confirmation(order)]);
                } else if let crate::wallet::Receipt::Stepped { to, .. } = receipt {
                    let state = self.tr.dynamic(&format!("state-{}", to.name()));
                    self.say(tr!(self.tr, "watch-stepped", order = order.clone(), state = state), false);
                } else if let crate::wallet::Receipt::Refused { reason, .. }
                | crate::wallet::Receipt::Bounced { reason, .. } = receipt
                {
                    self.say(reason.clone(), true);
                }
                if let Screen::History(state) = &self.screen {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
        }
        task
    }

    /// Whether a send failed because an account's sign-in with its
    /// provider is needed again: if so, the banner says so and leads to it
    /// (the mails wait in the outbox, and go with the retry after).
    fn check_sign_in(&mut self, sent: &[Sent]) -> bool {
        let Some(who) = sent.iter().find_map(|s| s.result.as_ref().err().and_then(backend::sign_in_needed))
        else {
            return false;
        };
        let account = who.parse::<EmailAddress>().ok().or_else(|| {
            self.sessions
                .iter()
                .find(|s| s.account.auth == crate::mail::account::Auth::OAuth2)
                .map(|s| s.account.address.clone())
        });
        match account {
            Some(account) => self.ask_sign_in(account),
            None => self.say(tr!(self.tr, "sign-in-needed", address = who), true),
        }
        true
    }

    fn ask_sign_in(&mut self, account: EmailAddress) {
        let text = tr!(self.tr, "sign-in-needed", address = account.to_string());
        self.banner = Some(Banner { text, error: true, review: None, sign_in: Some(account) });
    }

    /// The bank asks to confirm `order`: a banner that leads to the
    /// approval view, and a desktop notification whose Review opens it.
    fn confirmation(&mut self, order: &str) -> Task<Message> {
        use crate::ui::notify;
        let text = tr!(self.tr, "watch-confirmation", order = order.to_string());
        let summary = tr!(self.tr, "app-name");
        let notice = match order.parse::<OrderId>() {
            Ok(id) => Task::perform(
                notify::ask_review(summary, text.clone(), tr!(self.tr, "review")),
                move |chosen| Message::NotificationAnswered(id.clone(), chosen),
            ),
            Err(_) => Task::perform(notify::show(summary, text.clone()), Message::Notified),
        };
        self.banner = Some(Banner { text, error: false, review: order.parse().ok(), sign_in: None });
        notice
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
