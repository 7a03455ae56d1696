//! Background mode on a real desktop session: the real `mailpay` binary on
//! Xvfb and on a session bus of its own (`dbus-daemon --session`), where
//! the test is the desktop: the StatusNotifierWatcher that status icons
//! register with, and the notification server (org.freedesktop.Notifications)
//! that records what the wallet shows and invokes its actions. The wallet
//! watches the orderer's inbox on the real mail stack, paying the bank and
//! merchant agents (processes). The window is observed on the X server
//! (its title names the screen: "History — MailPay") and closed as a
//! window manager closes it (WM_DELETE_WINDOW).
//!
//! One test, in steps, shares the stack, the X server and the bus:
//! the status icon opens the window; with the window closed an order
//! approved in advance is answered and settles without a notification,
//! and one that needs the user raises a notification whose Review opens
//! the approval view; a second start with a `mailpay:` link (and one with
//! `mailpay review ORDER`) hands over and exits 0, the running wallet
//! showing New payment (or the approval); Quit in the icon's menu ends it.
//! Another test runs the wallet on a desktop without a status icon.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::mailstack;
use support::processes::{self, Agent, MAILPAY, World, order_args, order_id};
use support::xvfb::{self, poll, started_with_line};

const WAIT: Duration = Duration::from_secs(90);

/// What the test's desktop saw on the bus.
#[derive(Default)]
struct Seen {
    /// Status items registered with the watcher (their bus names).
    items: Vec<String>,
    /// Notifications: (id, body, actions).
    notes: Vec<(u32, String, Vec<String>)>,
}

struct Watcher(Arc<Mutex<Seen>>);

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, service: String) {
        self.0.lock().unwrap().items.push(service);
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.0.lock().unwrap().items.clone()
    }
}

struct Notifications(Arc<Mutex<Seen>>);

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        _summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut seen = self.0.lock().unwrap();
        let id = seen.notes.len() as u32 + 1;
        seen.notes.push((id, body, actions));
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("test".into(), "MailPay tests".into(), "1".into(), "1.2".into())
    }
}

/// The desktop: Xvfb, a session bus, and the test's notification server
/// and (with a tray) StatusNotifierWatcher on it.
struct Desktop {
    display: String,
    bus: String,
    seen: Arc<Mutex<Seen>>,
    runtime: tokio::runtime::Runtime,
    /// The test's own connection, to call the status item and emit signals.
    conn: zbus::Connection,
    _services: Vec<zbus::Connection>,
    _processes: (Agent, Agent),
}

impl Desktop {
    fn start(tray: bool) -> Desktop {
        let (x_server, display) = xvfb::start();
        let (dbus, bus) =
            started_with_line(Command::new("dbus-daemon").args(["--session", "--nofork", "--print-address"]));
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (conn, services) = runtime.block_on(async {
            let on_bus = || zbus::connection::Builder::address(bus.as_str()).unwrap();
            let mut services = Vec::new();
            if tray {
                let watcher = on_bus()
                    .name("org.kde.StatusNotifierWatcher")
                    .unwrap()
                    .serve_at("/StatusNotifierWatcher", Watcher(seen.clone()))
                    .unwrap()
                    .build()
                    .await
                    .unwrap();
                services.push(watcher);
            }
            let notifications = on_bus()
                .name("org.freedesktop.Notifications")
                .unwrap()
                .serve_at("/org/freedesktop/Notifications", Notifications(seen.clone()))
                .unwrap()
                .build()
                .await
                .unwrap();
            services.push(notifications);
            (on_bus().build().await.unwrap(), services)
        });
        Desktop { display, bus, seen, runtime, conn, _services: services, _processes: (x_server, dbus) }
    }

    /// `mailpay ARGS` on this desktop, in the wallet at `home`.
    fn mailpay(&self, home: &Path, config: &Path, args: &[&str]) -> Command {
        let mut command = processes::command(MAILPAY, home, args);
        command
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("XDG_CONFIG_HOME", config)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET");
        command
    }

    /// The status item the wallet registered (waits for it).
    fn item(&self) -> String {
        poll("the status item's registration", WAIT, || self.seen.lock().unwrap().items.last().cloned())
    }

    /// Calls a method of the wallet's status item.
    fn call_item<B>(&self, path: &str, interface: &str, method: &str, body: &B)
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let item = self.item();
        self.runtime
            .block_on(self.conn.call_method(Some(item.as_str()), path, Some(interface), method, body))
            .unwrap_or_else(|e| panic!("{interface}.{method} on {item}: {e}"));
    }

    /// Clicks the menu item `id` of the status icon (1 Open, 2 Pause, 4 Quit).
    fn click_menu(&self, id: i32) {
        let body = (id, "clicked", zbus::zvariant::Value::from(0i32), 0u32);
        self.call_item("/MenuBar", "com.canonical.dbusmenu", "Event", &body);
    }

    /// The notification whose body names `order` (waits for it).
    fn notification(&self, order: &str) -> (u32, Vec<String>) {
        poll("the notification", WAIT, || {
            let seen = self.seen.lock().unwrap();
            seen.notes.iter().find(|(_, body, _)| body.contains(order)).map(|(id, _, a)| (*id, a.clone()))
        })
    }

    fn notified(&self, order: &str) -> bool {
        self.seen.lock().unwrap().notes.iter().any(|(_, body, _)| body.contains(order))
    }

    fn invoke(&self, id: u32, action: &str) {
        let path = "/org/freedesktop/Notifications";
        let interface = "org.freedesktop.Notifications";
        self.runtime
            .block_on(self.conn.emit_signal(None::<&str>, path, interface, "ActionInvoked", &(id, action)))
            .unwrap();
    }
}

fn state_of(home: &Path, order: &str) -> String {
    use mailpay::ui::backend::{self, Home};
    let home = Home::open(mailpay::paths::Paths::under(home)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (_, state) = runtime.block_on(backend::payment(home, order.parse().unwrap())).unwrap();
    state.name().to_string()
}

#[test]
fn background_mode_on_a_session_bus() {
    if !processes::in_session_keyring("background_mode_on_a_session_bus") {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    let world = World::new(stack, "background", 10_000);
    let _bank = world.start_bank(&world.dir.join("bank.log"), None);
    let _shop = world.start_shop(&world.dir.join("shop.log"));
    let desktop = Desktop::start(true);
    let config = world.dir.join("config");
    let display = desktop.display.clone();

    // Started as at login: no window, a status icon.
    let mut wallet = Agent(
        desktop
            .mailpay(&world.home, &config, &["--background"])
            .stderr(std::fs::File::create(world.dir.join("wallet.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    desktop.item();
    std::thread::sleep(Duration::from_millis(500));
    assert!(xvfb::windows(&display).is_empty(), "no window at a start in the background");

    // (a) Activating the status icon opens the window (History: the wallet has an account).
    desktop.call_item("/StatusNotifierItem", "org.kde.StatusNotifierItem", "Activate", &(0i32, 0i32));
    let window = xvfb::window_titled(&display, "History — MailPay", WAIT);
    xvfb::close(&display, window, WAIT);
    assert!(wallet.0.try_wait().unwrap().is_none(), "closing the window leaves the wallet running");
    // Open in the icon's menu does too.
    desktop.click_menu(1);
    xvfb::close(&display, xvfb::window_titled(&display, "History — MailPay", WAIT), WAIT);
    eprintln!("measured: status icon, {} ms", started.elapsed().as_millis());

    // (b) With the window closed, an order approved in advance is answered
    // and settles, announced by no notification...
    let args =
        order_args("shop@shop.test", "bank@bank.test", "300 JPY", &["--item", "Tea", "--approve-in-advance"]);
    let advance = order_id(&world.mailpay(&args));
    poll("the order approved in advance to settle", WAIT, || {
        (state_of(&world.home, &advance) == "settled").then_some(())
    });
    assert_eq!(world.bank(&["balance", "orderer@buyer.test", "JPY"]).trim(), "9700 JPY");
    assert!(!desktop.notified(&advance), "an order approved in advance is answered silently");
    assert!(xvfb::windows(&display).is_empty(), "and opens no window");

    // ...and one that needs the user raises a notification whose Review
    // opens the approval view.
    let args = order_args("shop@shop.test", "bank@bank.test", "500 JPY", &["--item", "Cake"]);
    let asked = order_id(&world.mailpay(&args));
    let (note, actions) = desktop.notification(&asked);
    assert!(actions.chunks(2).any(|a| a[0] == "review" && a[1] == "Review"), "{actions:?}");
    assert!(xvfb::windows(&display).is_empty(), "the notification alone, no window");
    desktop.invoke(note, "review");
    xvfb::close(&display, xvfb::window_titled(&display, "Confirm the payment — MailPay", WAIT), WAIT);
    assert_eq!(state_of(&world.home, &asked), "awaiting-confirmation");
    eprintln!("measured: confirmations, {} ms", started.elapsed().as_millis());

    // (c) One wallet: a second start with a link hands it over and exits 0;
    // the running wallet shows New payment.
    let link = "mailpay:shop@shop.test?bank=bank@bank.test&amount=1200&currency=JPY&ref=B-7";
    let second = desktop.mailpay(&world.home, &config, &[link]).output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    xvfb::close(&display, xvfb::window_titled(&display, "New payment — MailPay", WAIT), WAIT);
    // As Thunderbird's host runs it: the approval of an order.
    let second = desktop.mailpay(&world.home, &config, &["review", &asked]).output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    xvfb::window_titled(&display, "Confirm the payment — MailPay", WAIT);

    // Paused from the icon's menu, the wallet leaves the bank's mail in the
    // inbox; resumed, it takes it in and announces it. One icon throughout.
    desktop.click_menu(2);
    let args = order_args("shop@shop.test", "bank@bank.test", "700 JPY", &["--item", "Jam"]);
    let paused = order_id(&world.mailpay(&args));
    assert!(stack.wait_for_message("orderer@buyer.test", &paused, WAIT).is_some(), "the bank asks");
    std::thread::sleep(Duration::from_secs(1));
    assert!(!desktop.notified(&paused), "not taken in while paused");
    desktop.click_menu(2);
    desktop.notification(&paused);
    assert_eq!(desktop.seen.lock().unwrap().items.len(), 1, "one status icon");

    // Quit in the icon's menu ends the wallet.
    desktop.click_menu(4);
    let status = poll("the wallet to quit", WAIT, || wallet.0.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
    eprintln!("measured: background mode test, {} ms", started.elapsed().as_millis());
}

/// Without a StatusNotifierWatcher the wallet says once that it has no
/// status icon; closing its window leaves it running all the same, since a
/// later start reopens it. With "Quit when the window is closed" set,
/// closing the window ends it.
#[test]
fn without_a_status_icon_a_later_start_reopens_the_window_and_quit_on_close_quits() {
    let desktop = Desktop::start(false);
    let dir = processes::temp_dir("background-no-tray");
    let (home, config, log) = (dir.join("wallet"), dir.join("config"), dir.join("wallet.log"));
    let display = desktop.display.clone();
    let start = |args: &[&str]| {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        Agent(desktop.mailpay(&home, &config, args).stderr(log).spawn().unwrap())
    };

    let mut wallet = start(&[]);
    let window = xvfb::window_titled(&display, "Welcome — MailPay", WAIT);
    processes::wait_for_text(&log, "no status icon", WAIT);
    xvfb::close(&display, window, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(wallet.0.try_wait().unwrap().is_none(), "the wallet stays, for a later start to reopen");
    let second = desktop.mailpay(&home, &config, &[]).output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    xvfb::close(&display, xvfb::window_titled(&display, "Welcome — MailPay", WAIT), WAIT);
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(said.matches("no status icon").count(), 1, "said once:\n{said}");
    drop(wallet);

    // Quit when the window is closed, as set in Settings.
    use mailpay::store::book::Setting;
    let store = mailpay::ui::backend::Home::open(mailpay::paths::Paths::under(&home)).unwrap();
    store.with_blocking(|s| s.set_setting(Setting::QuitOnClose, "yes")).unwrap();
    let mut wallet = start(&[]);
    xvfb::close(&display, xvfb::window_titled(&display, "Welcome — MailPay", WAIT), WAIT);
    let status = poll("the wallet to quit", WAIT, || wallet.0.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
}

/// Settings offer both choices of background mode; quitting on close is
/// kept in the wallet and comes back when it is opened again.
#[test]
fn settings_offer_quit_on_close_and_start_at_login_and_keep_the_first() {
    use mailpay::i18n::Lang;
    use mailpay::paths::Paths;
    use mailpay::ui::app::{App, Message, Nav};
    use mailpay::ui::backend;
    use mailpay::ui::screen::settings;
    use support::app_driver;

    let dir = processes::temp_dir("background-settings");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut app = App::new(Lang::En, None);
    let loaded = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert!(!loaded.background.quit_on_close, "background mode is on at first");
    let _ = app.loaded(loaded);
    let _ = app.update(Message::Nav(Nav::Settings));
    let mut ui = iced_test::simulator(app.view());
    let shown = app_driver::texts(&mut ui);
    drop(ui);
    for label in ["Quit when the window is closed", "Start at login (in the background, without the window)"]
    {
        assert!(shown.iter().any(|t| t == label), "{label:?} in {shown:?}");
    }
    assert!(
        !shown.iter().any(|t| t.contains("no status icon")),
        "a status icon is not known missing: {shown:?}"
    );
    runtime.block_on(app_driver::send(&mut app, Message::Settings(settings::Message::QuitOnClose(true))));
    let again = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert!(again.background.quit_on_close, "kept");

    // A desktop without a status icon: said beside the choice it bears on,
    // not in a banner.
    let _ = app.update(Message::Tray(mailpay::ui::background::tray::Event::Unavailable("no watcher".into())));
    assert!(app.banner().is_none(), "{:?}", app.banner());
    let mut ui = iced_test::simulator(app.view());
    let shown = app_driver::texts(&mut ui);
    assert!(shown.iter().any(|t| t.contains("no status icon") && t.contains("no watcher")), "{shown:?}");
}
