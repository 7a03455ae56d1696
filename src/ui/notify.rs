//! Desktop notifications through `notify-rust`: on Linux and the BSDs the
//! freedesktop notification service on the session bus, on the app's
//! tokio runtime; on Windows a toast under the app id
//! `org.mailpay.MailPay` (which the installer registers with the wallet's
//! name and icon), shown and waited for on a blocking thread. A
//! confirmation that needs the user carries a Review action
//! ([`ask_review`]), waited for off the UI thread by a Task. Elsewhere (and
//! without a notification service) the in-window banner is all there is.

/// How long a notification's Review is waited for.
#[cfg(any(all(unix, not(target_os = "macos")), windows))]
const WAIT_FOR_REVIEW: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// The action a notification's Review button sends.
#[cfg(any(all(unix, not(target_os = "macos")), windows))]
const REVIEW: &str = "review";

#[cfg(any(all(unix, not(target_os = "macos")), windows))]
fn notification(summary: &str, body: &str) -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    n.appname("MailPay").summary(summary).body(body);
    #[cfg(unix)]
    n.icon("org.mailpay.MailPay");
    #[cfg(windows)]
    n.app_id("org.mailpay.MailPay");
    n
}

/// Shows a notification; `Err` says why it could not (no session bus, no
/// notification service), which the caller may ignore: the banner remains.
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn show(summary: String, body: String) -> Result<(), String> {
    notification(&summary, &body).show_async().await.map(|_| ()).map_err(|e| e.to_string())
}

/// Shows a notification with a Review action and waits until it is used
/// or dismissed: `Ok(true)` when the user chose Review (or clicked the
/// notification).
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn ask_review(summary: String, body: String, review: String) -> Result<bool, String> {
    use notify_rust::NotificationResponse;
    let handle = notification(&summary, &body)
        .action("default", &review)
        .action(REVIEW, &review)
        .show_async()
        .await
        .map_err(|e| e.to_string())?;
    let mut chosen = false;
    let wait = handle.wait_for_action_async(|response| {
        chosen = match response {
            NotificationResponse::Default => true,
            NotificationResponse::Action(action) => action == REVIEW,
            _ => false,
        }
    });
    // A desktop that keeps notifications without ever closing them would
    // hold this wait (and its bus connection) for good: the banner and
    // History lead to the order after that.
    let _ = tokio::time::timeout(WAIT_FOR_REVIEW, wait).await;
    Ok(chosen)
}

/// Shows a toast (Windows shows it, and keeps it in the notification
/// centre, on a thread of its own).
#[cfg(windows)]
pub async fn show(summary: String, body: String) -> Result<(), String> {
    let shown = tokio::task::spawn_blocking(move || notification(&summary, &body).show().map(|_| ()));
    shown.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

/// A toast with a Review button; `Ok(true)` when the user chose it or
/// clicked the toast. The wait runs on a blocking thread, which Windows
/// ends when the toast is dismissed or expires.
#[cfg(windows)]
pub async fn ask_review(summary: String, body: String, review: String) -> Result<bool, String> {
    let wait = tokio::task::spawn_blocking(move || {
        let handle =
            notification(&summary, &body).action(REVIEW, &review).show().map_err(|e| e.to_string())?;
        let mut chosen = false;
        handle
            .wait_for_response(|response: &notify_rust::NotificationResponse| {
                chosen = matches!(response, notify_rust::NotificationResponse::Default)
                    || matches!(response, notify_rust::NotificationResponse::Action(a) if a == REVIEW);
            })
            .map_err(|e| e.to_string())?;
        Ok(chosen)
    });
    match tokio::time::timeout(WAIT_FOR_REVIEW, wait).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Ok(false),
    }
}

#[cfg(not(any(all(unix, not(target_os = "macos")), windows)))]
pub async fn show(_summary: String, _body: String) -> Result<(), String> {
    Err("desktop notifications are not supported on this system yet".into())
}

#[cfg(not(any(all(unix, not(target_os = "macos")), windows)))]
pub async fn ask_review(_summary: String, _body: String, _review: String) -> Result<bool, String> {
    Err("desktop notifications are not supported on this system yet".into())
}
