//! The native-messaging manifest that tells Thunderbird where the host is,
//! and where each system looks for it:
//!
//! - Linux: `~/.mozilla/native-messaging-hosts/` for one user (the Debian
//!   package puts it in `/usr/lib/mozilla/native-messaging-hosts/` for
//!   all); Thunderbird does not look under `~/.thunderbird`;
//! - macOS: `~/Library/Mozilla/NativeMessagingHosts/`;
//! - Windows: any file, named by the default value of the registry key
//!   `HKEY_CURRENT_USER\Software\Mozilla\NativeMessagingHosts\org.mailpay.wallet`
//!   (the MSI writes it).

use std::path::{Path, PathBuf};

/// The host's name, which the add-on connects to.
pub const HOST_NAME: &str = "org.mailpay.wallet";
/// The add-on's id, the only one allowed to start the host.
pub const ADDON_ID: &str = "wallet@mailpay.org";

/// The manifest for the host program at `host` (an absolute path).
pub fn json(host: &Path) -> String {
    let manifest = serde_json::json!({
        "name": HOST_NAME,
        "description": "MailPay wallet: pays by e-mail from Thunderbird",
        "path": host,
        "type": "stdio",
        "allowed_extensions": [ADDON_ID],
    });
    serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n"
}

/// Where this user's manifest goes on this system (under `home`); `None`
/// on Windows, where the registry names it.
pub fn user_file(home: &Path) -> Option<PathBuf> {
    user_file_on(std::env::consts::OS, home)
}

/// Where a user's manifest goes on `os` (as `std::env::consts::OS` names
/// it). On macOS Thunderbird, unlike Firefox, looks under `~/Library/Mozilla`,
/// not `~/Library/Application Support/Mozilla`.
pub fn user_file_on(os: &str, home: &Path) -> Option<PathBuf> {
    let dir = match os {
        "macos" => home.join("Library/Mozilla/NativeMessagingHosts"),
        "windows" => return None,
        _ => home.join(".mozilla/native-messaging-hosts"),
    };
    Some(dir.join(format!("{HOST_NAME}.json")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_manifest_names_the_host_and_allows_only_the_add_on() {
        let m: serde_json::Value =
            serde_json::from_str(&json(Path::new("/usr/bin/mailpay-thunderbird"))).unwrap();
        assert_eq!(m["name"], HOST_NAME);
        assert_eq!(m["path"], "/usr/bin/mailpay-thunderbird");
        assert_eq!(m["type"], "stdio");
        assert_eq!(m["allowed_extensions"], serde_json::json!([ADDON_ID]));
        // The name rule of native messaging: dot-separated words.
        assert!(
            HOST_NAME
                .split('.')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        );
    }

    #[test]
    fn each_system_has_its_own_place_for_the_manifest() {
        let home = Path::new("/home/u");
        assert_eq!(
            user_file_on("macos", home).unwrap(),
            Path::new("/home/u/Library/Mozilla/NativeMessagingHosts/org.mailpay.wallet.json")
        );
        assert_eq!(
            user_file_on("linux", home).unwrap(),
            Path::new("/home/u/.mozilla/native-messaging-hosts/org.mailpay.wallet.json")
        );
        assert_eq!(user_file_on("windows", home), None);
    }
}
