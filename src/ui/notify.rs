//! Desktop notifications through `notify-rust`: on Linux and the BSDs the
//! freedesktop notification service on the session bus, on the app's
//! tokio runtime. A confirmation that needs the user carries a Review
//! action ([`ask_review`]), waited for off the UI thread by a Task.
//! Elsewhere (and without a notification service) the in-window banner is
//! all there is.

/// Shows a notification; `Err` says why it could not (no session bus, no
/// notification service), which the caller may ignore: the banner remains.
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn show(summary: String, body: String) -> Result<(), String> {
    notification(&summary, &body).show_async().await.map(|_| ()).map_err(|e| e.to_string())
}

/// How long a notification's Review is waited for.
#[cfg(all(unix, not(target_os = "macos")))]
const WAIT_FOR_REVIEW: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Shows a notification with a `review` action and waits until it is
/// used or dismissed: `Ok(true)` when the user chose Review (or clicked
/// the notification).
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn ask_review(summary: String, body: String, review: String) -> Result<bool, String> {
    use notify_rust::NotificationResponse;
    let handle = notification(&summary, &body)
        .action("default", &review)
        .action("review", &review)
        .show_async()
        .await
        .map_err(|e| e.to_string())?;
    let mut chosen = false;
    let wait = handle.wait_for_action_async(|response| {
        chosen = match response {
            NotificationResponse::Default => true,
            NotificationResponse::Action(action) => action == "review",
            _ => false,
        }
    });
    // A desktop that keeps notifications without ever closing them would
    // hold this wait (and its bus connection) for good: the banner and
    // History lead to the order after that.
    let _ = tokio::time::timeout(WAIT_FOR_REVIEW, wait).await;
    Ok(chosen)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn notification(summary: &str, body: &str) -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    n.appname("MailPay").summary(summary).body(body).icon("org.mailpay.MailPay");
    n
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub async fn show(_summary: String, _body: String) -> Result<(), String> {
    Err("desktop notifications are not supported on this system yet".into())
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub async fn ask_review(_summary: String, _body: String, _review: String) -> Result<bool, String> {
    Err("desktop notifications are not supported on this system yet".into())
}
