//! Background mode: the wallet keeps watching when its window closes.
//!
//! The app is an iced daemon: its window is opened with `window::open`
//! and closing it leaves the program running, with the inbox watchers (in
//! IMAP IDLE), the clock and the pre-approved answers going on and nothing
//! drawn. What brings the window back:
//!
//! - the status icon ([`tray`], Linux): Open, or activating the icon;
//! - another start of MailPay ([`instance`]): the desktop's launcher, a
//!   `mailpay:` link, `mailpay review ORDER` from Thunderbird; it hands its
//!   request to the running wallet and exits;
//! - a notification's Review action (a confirmation that needs the user).
//!
//! Closing the window quits instead when the user chose so in Settings
//! ("Quit when the window is closed"), on macOS for now, and when neither
//! of the first two ways is there: no status icon
//! (no StatusNotifierWatcher or no session bus, said once on standard
//! error and in the banner) and no single-instance socket. Without a
//! status icon but with the socket, the wallet stays in the background:
//! starting MailPay again, as the user would to get it back, reopens it.
//!
//! [`autostart`] writes the entry that starts the wallet at login without
//! a window (`mailpay --background`).

pub mod autostart;
pub mod instance;
pub mod tray;

/// Whether the wallet may stay without a window: the user did not choose
/// to quit on close, this system has background mode, and a way back to
/// the window exists (a status icon, or the single-instance socket).
pub fn stays_open(quit_on_close: bool, tray: bool, listening: bool) -> bool {
    cfg!(any(target_os = "linux", windows)) && !quit_on_close && (tray || listening)
}
