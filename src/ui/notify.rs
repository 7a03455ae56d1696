//! Desktop notifications: a bank confirmation waiting for the orderer is
//! announced by the desktop even when the wallet's window is hidden. On
//! Linux and the BSDs through the freedesktop notification service on the
//! session bus; elsewhere (and without a session bus) the in-window banner
//! is all there is.

/// Shows a notification; `Err` says why it could not (no session bus, no
/// notification service), which the caller may ignore: the banner remains.
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn show(summary: String, body: String) -> Result<(), String> {
    use std::collections::HashMap;
    let connection = zbus::Connection::session().await.map_err(|e| e.to_string())?;
    let hints: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
    let actions: Vec<&str> = Vec::new();
    connection
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "Notify",
            &("MailPay", 0u32, "org.mailpay.MailPay", summary.as_str(), body.as_str(), actions, hints, -1i32),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub async fn show(_summary: String, _body: String) -> Result<(), String> {
    Err("desktop notifications are not supported on this system yet".into())
}
