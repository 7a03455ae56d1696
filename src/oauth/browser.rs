//! Opening the system browser on the provider's sign-in page: `xdg-open`
//! (Linux and the BSDs), `open` (macOS), the URL handler (Windows), or the
//! command in `MAILPAY_BROWSER`, run with the URL as its last argument
//! (words split at spaces). Nothing waits for the browser; the caller
//! shows the URL as well, for when none opens.

use std::process::{Command, Stdio};

/// Starts the browser on `url`; `Err` says why none could be started.
pub fn open(url: &str) -> Result<(), String> {
    let mut words: Vec<String> = match std::env::var("MAILPAY_BROWSER") {
        Ok(command) if !command.trim().is_empty() => command.split_whitespace().map(str::to_string).collect(),
        _ => default_command(),
    };
    if words.is_empty() {
        return Err("no browser command is known for this system".into());
    }
    let program = words.remove(0);
    let mut command = Command::new(&program);
    command.args(&words).arg(url).stdin(Stdio::null()).stdout(Stdio::null());
    match command.spawn() {
        Ok(mut child) => {
            // Reaped in the background: the browser may run for long.
            std::thread::spawn(move || child.wait());
            Ok(())
        }
        Err(e) => Err(format!("cannot start {program}: {e}")),
    }
}

fn default_command() -> Vec<String> {
    let words: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        // Not `cmd /c start`: cmd would read the URL's `&` as a command separator.
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    words.iter().map(|w| w.to_string()).collect()
}
