//! The orderer's desktop wallet, in iced's own architecture: one state,
//! one `Message`, an `update` that returns `Task`s, a `view` and a
//! `subscription` (the inbox watcher). [`app`] holds the whole and routes
//! between screens; each file under [`screen`] is one screen with its own
//! state, messages and the `Action` it hands back to the app, which alone
//! starts work in [`backend`] (disk and network, never on the UI thread).
//!
//! This is the only module of the crate that uses iced.

pub mod app;
pub mod backend;
pub mod background;
pub mod fonts;
mod notify;
pub mod save_dialog;
pub mod screen;
pub mod watch;
mod widget;

pub use app::application;

/// When [`run`] was called, for the start-up report (`MAILPAY_STARTUP_REPORT`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Runs the wallet, its window opened on `start` (none for
/// [`app::Start::Background`]); `listener`: the single-instance socket,
/// when this wallet is the user's one.
pub fn run(start: app::Start, listener: Option<background::instance::Listener>) -> iced::Result {
    let _ = STARTED.set(std::time::Instant::now());
    application(start, listener).run()
}
