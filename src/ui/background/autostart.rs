//! Start at login. On Linux (and the BSDs) an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/org.mailpay.MailPay.desktop` (else
//! `~/.config/autostart/…`), that runs this `mailpay` with `--background`:
//! the wallet starts watching without opening its window. On Windows the
//! value `MailPay` under the user's
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Run` key, which runs
//! the same. On macOS the LaunchAgent in packaging/macos does it, set up by
//! hand: the setting says it is not available there yet.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutostartError {
    #[error("no home folder to keep the autostart entry in")]
    NoHome,
    #[error("start at login is not available on this system yet")]
    Unsupported,
    #[error("the autostart entry {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("the Run key of the registry: {0}")]
    Registry(String),
}

/// Where Windows keeps what starts at the user's login, and MailPay's
/// value there.
#[cfg(windows)]
const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";
#[cfg(windows)]
const RUN_VALUE: &str = "MailPay";

/// Where the autostart entry is (`None` without a home folder, or on a
/// system without XDG autostart).
pub fn entry_path() -> Option<PathBuf> {
    if !cfg!(all(unix, not(target_os = "macos"))) {
        return None;
    }
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(config.join("autostart").join("org.mailpay.MailPay.desktop"))
}

/// Whether the wallet starts at login.
pub fn enabled() -> bool {
    #[cfg(windows)]
    return windows_registry::CURRENT_USER.open(RUN_KEY).and_then(|k| k.get_string(RUN_VALUE)).is_ok();
    #[cfg(not(windows))]
    entry_path().is_some_and(|p| p.is_file())
}

/// Writes (`on`) or removes the autostart entry.
pub fn set(on: bool) -> Result<(), AutostartError> {
    #[cfg(windows)]
    return set_run_value(on);
    #[cfg(not(windows))]
    match entry_path() {
        Some(path) => set_at(&path, on),
        None if cfg!(all(unix, not(target_os = "macos"))) => Err(AutostartError::NoHome),
        None => Err(AutostartError::Unsupported),
    }
}

/// Writes (`on`) or removes the Run value that starts this program with
/// `--background`.
#[cfg(windows)]
fn set_run_value(on: bool) -> Result<(), AutostartError> {
    fn error(e: impl std::fmt::Display) -> AutostartError {
        AutostartError::Registry(e.to_string())
    }
    let key = windows_registry::CURRENT_USER.create(RUN_KEY).map_err(error)?;
    if on {
        // The wallet without a console window, when this is `mailpay.exe`.
        let exe = std::env::current_exe().map_err(error)?;
        let program = Some(exe.with_file_name("mailpay-wallet.exe")).filter(|p| p.is_file()).unwrap_or(exe);
        key.set_string(RUN_VALUE, run_command(&program.display().to_string())).map_err(error)
    } else if key.get_string(RUN_VALUE).is_ok() {
        key.remove_value(RUN_VALUE).map_err(error)
    } else {
        Ok(())
    }
}

/// The command line of the Run value: the program quoted (its folder may
/// hold spaces), then `--background`.
pub fn run_command(program: &str) -> String {
    format!("\"{program}\" --background")
}

/// Writes (`on`) or removes the autostart entry at `path`.
pub fn set_at(path: &std::path::Path, on: bool) -> Result<(), AutostartError> {
    let path = path.to_path_buf();
    let io = |e: std::io::Error| AutostartError::Io { path: path.clone(), reason: e.to_string() };
    if !on {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let program =
        std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "mailpay".into());
    std::fs::write(&path, entry(&program)).map_err(io)
}

/// The desktop entry that starts `program` in the background.
pub fn entry(program: &str) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=MailPay\n\
         Comment=Watches the inbox and answers the bank in the background\n\
         Exec={} --background\nIcon=org.mailpay.MailPay\nTerminal=false\nNoDisplay=true\n\
         X-GNOME-Autostart-enabled=true\n",
        quote(program)
    )
}

/// An Exec argument, quoted as the Desktop Entry Specification says when
/// it holds anything but plain characters.
fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_string();
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_entry_is_written_and_removed() {
        let dir = std::env::temp_dir().join(format!("mailpay-autostart-{}", std::process::id()));
        let path = dir.join("autostart").join("org.mailpay.MailPay.desktop");
        set_at(&path, true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[Desktop Entry]\n") && text.contains(" --background\n"), "{text}");
        set_at(&path, false).unwrap();
        assert!(!path.exists());
        set_at(&path, false).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_run_value_quotes_the_program() {
        assert_eq!(
            run_command(r"C:\Users\Ann Lee\AppData\Local\Programs\MailPay\mailpay.exe"),
            r#""C:\Users\Ann Lee\AppData\Local\Programs\MailPay\mailpay.exe" --background"#
        );
    }

    #[test]
    fn the_entry_runs_the_wallet_in_the_background_quoted() {
        assert!(entry("/usr/bin/mailpay").contains("\nExec=/usr/bin/mailpay --background\n"));
        assert!(entry("/opt/Mail Pay/mailpay").contains("\nExec=\"/opt/Mail Pay/mailpay\" --background\n"));
        assert_eq!(quote("/a/$b%"), "\"/a/\\$b%%\"");
    }
}
