//! The status icon: a StatusNotifierItem on the session bus (`ksni`),
//! which desktops show in their tray. Activating it opens the window; its
//! menu has Open, Pause watching (or Resume watching) and Quit. What the
//! user does there reaches the app as [`Event`]s through a subscription.
//!
//! Where the desktop has no StatusNotifierWatcher (or there is no session
//! bus), the stream says so once ([`Event::Unavailable`]) and ends; the
//! app then quits when its window closes, unless another start of MailPay
//! can reopen it (see [`super`]). Linux only: elsewhere the stream says
//! at once that there is no status icon.

use iced::Subscription;

/// What the user chose on the status icon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Open the window (the icon activated, or Open in its menu).
    Open,
    /// Watching paused (`true`) or resumed (`false`).
    Pause(bool),
    Quit,
    /// No status icon can be shown (why).
    Unavailable(String),
}

/// The menu's words, in the app's language, and whether watching is
/// paused. The icon changes Pause to Resume itself: a new language
/// replaces the icon, a pause does not (it is not part of the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub tooltip: String,
    pub open: String,
    pub pause: String,
    pub resume: String,
    pub quit: String,
    pub paused: bool,
}

impl std::hash::Hash for Menu {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.tooltip, &self.open, &self.pause, &self.resume, &self.quit).hash(state);
    }
}

/// The status icon while the subscription lasts (in another language, a
/// new icon replaces it).
pub fn subscription(menu: Menu) -> Subscription<Event> {
    Subscription::run_with(menu, |menu| events(menu.clone()))
}

#[cfg(target_os = "linux")]
fn events(menu: Menu) -> impl iced::futures::Stream<Item = Event> + Send + 'static {
    use iced::futures::SinkExt;
    use ksni::TrayMethods;
    iced::stream::channel(8, async move |mut out| {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let icon = Icon { menu, sender };
        // A Flatpak sandbox lets the app own no StatusNotifierItem-… name.
        let sandboxed = std::path::Path::new("/.flatpak-info").exists();
        let _shown = match icon.disable_dbus_name(sandboxed).spawn().await {
            Ok(handle) => Shown(handle),
            Err(e) => {
                let _ = out.send(Event::Unavailable(e.to_string())).await;
                return;
            }
        };
        while let Some(event) = receiver.recv().await {
            if out.send(event).await.is_err() {
                break;
            }
        }
    })
}

/// The icon's service, ended when the subscription is (else it would stay
/// on the bus beside the one replacing it).
#[cfg(target_os = "linux")]
struct Shown(ksni::Handle<Icon>);

#[cfg(target_os = "linux")]
impl Drop for Shown {
    fn drop(&mut self) {
        // Asked now; the service ends on its own task (nothing to wait for).
        drop(self.0.shutdown());
    }
}

#[cfg(not(target_os = "linux"))]
fn events(_menu: Menu) -> impl iced::futures::Stream<Item = Event> + Send + 'static {
    iced::futures::stream::once(async { Event::Unavailable("no status icon on this system yet".to_string()) })
}

#[cfg(target_os = "linux")]
struct Icon {
    menu: Menu,
    sender: tokio::sync::mpsc::UnboundedSender<Event>,
}

#[cfg(target_os = "linux")]
impl ksni::Tray for Icon {
    fn id(&self) -> String {
        "org.mailpay.MailPay".into()
    }

    fn title(&self) -> String {
        self.menu.tooltip.clone()
    }

    fn icon_name(&self) -> String {
        "org.mailpay.MailPay".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::ApplicationStatus
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip { title: self.menu.tooltip.clone(), ..Default::default() }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        let _ = self.sender.send(Event::Open);
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        use ksni::menu::StandardItem;
        let pause = if self.menu.paused { &self.menu.resume } else { &self.menu.pause };
        vec![
            StandardItem {
                label: self.menu.open.clone(),
                activate: Box::new(|icon: &mut Icon| {
                    let _ = icon.sender.send(Event::Open);
                }),
                ..Default::default()
            }
            .into(),
            StandardItem {
                label: pause.clone(),
                activate: Box::new(|icon: &mut Icon| {
                    icon.menu.paused = !icon.menu.paused;
                    let _ = icon.sender.send(Event::Pause(icon.menu.paused));
                }),
                ..Default::default()
            }
            .into(),
            ksni::MenuItem::Separator,
            StandardItem {
                label: self.menu.quit.clone(),
                activate: Box::new(|icon: &mut Icon| {
                    let _ = icon.sender.send(Event::Quit);
                }),
                ..Default::default()
            }
            .into(),
        ]
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        let why = match reason {
            ksni::OfflineReason::Error(e) => e.to_string(),
            _ => "the StatusNotifierWatcher left the session bus".to_string(),
        };
        let _ = self.sender.send(Event::Unavailable(why));
        // Kept: the icon comes back when a watcher does.
        true
    }
}
