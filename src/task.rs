//! Background tasks tied to an agent loop: when the loop ends, or its
//! future is dropped, its clock and its board stop with it.

/// Aborts the task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
