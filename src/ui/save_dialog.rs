//! The desktop's own "Save as" dialog, for the history's CSV export,
//! through `rfd`: the XDG desktop portal's file chooser on Linux and the
//! BSDs (GNOME, KDE and most others run one; zenity where there is none),
//! the system dialogs on Windows and macOS. Where no dialog can be shown
//! the caller saves to the downloads folder instead and says so.

use std::path::PathBuf;

/// What came of asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Chosen(PathBuf),
    Cancelled,
    /// No dialog could be shown, and why.
    Unavailable(String),
}

/// What to ask: the dialog's title, the file name and folder it suggests,
/// and the kind of file with its extension (`("CSV", "csv")`).
#[derive(Debug, Clone)]
pub struct Question {
    pub title: String,
    pub name: String,
    pub folder: Option<PathBuf>,
    pub filter: (&'static str, &'static str),
}

/// Asks where to save a file. The dialog runs on a thread of its own;
/// this waits for it without blocking the runtime.
pub async fn ask(question: Question) -> Answer {
    if let Err(why) = chooser_available().await {
        return Answer::Unavailable(why);
    }
    let mut dialog = rfd::AsyncFileDialog::new()
        .set_title(question.title)
        .set_file_name(question.name)
        .add_filter(question.filter.0, &[question.filter.1]);
    if let Some(folder) = question.folder {
        dialog = dialog.set_directory(folder);
    }
    match dialog.save_file().await {
        Some(file) => Answer::Chosen(file.path().to_path_buf()),
        None => Answer::Cancelled,
    }
}

/// rfd answers "no file" both when the user cancels and when no dialog
/// could be shown; on Linux and the BSDs the second is told apart before
/// asking: a file chooser is there when the session bus has the desktop
/// portal (running, or started on demand) or zenity is installed.
#[cfg(all(unix, not(target_os = "macos")))]
async fn chooser_available() -> Result<(), String> {
    const PORTAL: &str = "org.freedesktop.portal.Desktop";
    let on_bus = async {
        let connection = zbus::Connection::session().await?;
        let bus = zbus::fdo::DBusProxy::new(&connection).await?;
        let name = zbus::names::BusName::try_from(PORTAL).map_err(zbus::Error::from)?;
        if bus.name_has_owner(name).await? {
            return Ok::<bool, zbus::Error>(true);
        }
        Ok(bus.list_activatable_names().await?.iter().any(|n| n.as_str() == PORTAL))
    };
    let portal = match on_bus.await {
        Ok(true) => return Ok(()),
        Ok(false) => "the session bus has no desktop portal".to_string(),
        Err(e) => format!("no session bus ({e})"),
    };
    let zenity = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("zenity").is_file()));
    if zenity {
        Ok(())
    } else {
        Err(format!("no file chooser on this desktop: {portal}, and zenity is not installed"))
    }
}

/// Windows and macOS always have their system dialogs.
#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn chooser_available() -> Result<(), String> {
    Ok(())
}
