//! An X server of the test's own (Debian's Xvfb) and the wallet's windows
//! on it, read with x11rb: their titles (which name the screen, "History —
//! MailPay"), closing one as a window manager does, and what one shows.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};

use super::processes::Agent;

/// Polls `f` until it gives `Some`, for at most `limit`.
pub fn poll<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process whose first line of standard output is what it started on
/// (Xvfb's display number, dbus-daemon's address).
pub fn started_with_line(command: &mut Command) -> (Agent, String) {
    let mut child: Child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (Agent(child), line.trim().to_string())
}

/// Starts Xvfb on a free display; returns it and the display (":N").
pub fn start() -> (Agent, String) {
    let (xvfb, number) = started_with_line(Command::new("Xvfb").args([
        "-displayfd",
        "1",
        "-screen",
        "0",
        "1280x800x24",
        "-nolisten",
        "tcp",
        // Not reset when its last client leaves: a wallet started just
        // then would find no display.
        "-noreset",
    ]));
    (xvfb, format!(":{number}"))
}

/// The viewable top-level windows on `display` whose titles name MailPay,
/// with their titles.
pub fn windows(display: &str) -> Vec<(u32, String)> {
    let Ok((x, screen)) = x11rb::connect(Some(display)) else { return Vec::new() };
    let root = x.setup().roots[screen].root;
    let atom = |name: &[u8]| x.intern_atom(false, name).unwrap().reply().unwrap().atom;
    let (net_wm_name, utf8) = (atom(b"_NET_WM_NAME"), atom(b"UTF8_STRING"));
    let children = x.query_tree(root).unwrap().reply().map(|t| t.children).unwrap_or_default();
    children
        .into_iter()
        .filter(|w| {
            x.get_window_attributes(*w)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == xproto::MapState::VIEWABLE)
        })
        .filter_map(|w| {
            let title = x.get_property(false, w, net_wm_name, utf8, 0, 1024).ok()?.reply().ok()?;
            Some((w, String::from_utf8_lossy(&title.value).into_owned()))
        })
        .filter(|(_, title)| title.contains("MailPay"))
        .collect()
}

/// Waits (up to `limit`) until a window titled `title` is shown; returns it.
pub fn window_titled(display: &str, title: &str, limit: Duration) -> u32 {
    let deadline = Instant::now() + limit;
    loop {
        let last = windows(display);
        if let Some((w, _)) = last.iter().find(|(_, t)| t == title) {
            return *w;
        }
        assert!(Instant::now() < deadline, "no window titled {title:?}; windows: {last:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Closes `window` as a window manager does (WM_DELETE_WINDOW) and waits
/// (up to `limit`) until no MailPay window is left.
pub fn close(display: &str, window: u32, limit: Duration) {
    let (x, _) = x11rb::connect(Some(display)).unwrap();
    let atom = |name: &[u8]| x.intern_atom(false, name).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let event = xproto::ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
    x.send_event(false, window, xproto::EventMask::NO_EVENT, event).unwrap();
    x.flush().unwrap();
    poll("the window to close", limit, || windows(display).is_empty().then_some(()));
}

/// How many of `window`'s pixels are dark (luminance below a third of
/// white): the text of a light window, where backgrounds and buttons are
/// light or coloured.
pub fn dark_pixels(display: &str, window: u32) -> usize {
    let (x, _) = x11rb::connect(Some(display)).unwrap();
    let geometry = x.get_geometry(window).unwrap().reply().unwrap();
    let image = x
        .get_image(xproto::ImageFormat::Z_PIXMAP, window, 0, 0, geometry.width, geometry.height, !0)
        .unwrap()
        .reply()
        .unwrap();
    assert!(
        geometry.depth == 24 && image.data.len() == geometry.width as usize * geometry.height as usize * 4
    );
    image
        .data
        .chunks_exact(4)
        .filter(|p| {
            let (b, g, r) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
            (299 * r + 587 * g + 114 * b) / 1000 < 85
        })
        .count()
}
