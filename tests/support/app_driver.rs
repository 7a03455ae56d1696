//! Drives the wallet's `App` outside a window: every `Task` its `update`
//! returns is run on the current tokio runtime and each message it yields
//! goes back into `update`, as iced's runtime does. Widget operations
//! (focus) need a window and are skipped.

use iced::Task;
use iced::futures::StreamExt;
use mailpay::ui::app::{App, Message};

/// Feeds `message` to `app` and runs what follows to the end; returns
/// every message that went through `update`, in order (for assertions).
pub async fn send(app: &mut App, message: Message) -> Vec<String> {
    let mut seen = Vec::new();
    let mut pending = vec![message];
    while let Some(message) = pending.pop() {
        seen.push(format!("{message:?}"));
        let task = app.update(message);
        pending.extend(outputs(task).await.into_iter().rev());
    }
    seen
}

/// The messages a task yields.
pub async fn outputs(task: Task<Message>) -> Vec<Message> {
    let Some(mut stream) = iced_runtime::task::into_stream(task) else { return Vec::new() };
    let mut out = Vec::new();
    while let Some(action) = stream.next().await {
        if let iced_runtime::Action::Output(message) = action {
            out.push(message);
        }
    }
    out
}

/// Every text a simulated view shows, in order (for assertions and their
/// failure messages).
pub fn texts<M>(ui: &mut iced_test::Simulator<'_, M>) -> Vec<String> {
    let mut seen = Vec::new();
    let _ = ui.find(|candidate: iced_test::selector::Candidate<'_>| {
        if let iced_test::selector::Candidate::Text { content, .. } = candidate {
            seen.push(content.to_string());
        }
        None::<()>
    });
    seen
}
