//! The real `mailpay-thunderbird` as Thunderbird starts it, with the test
//! speaking the add-on's side of the bridge's frames (a 32-bit
//! little-endian length, then JSON) on its standard input and output.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const HOST: &str = env!("CARGO_BIN_EXE_mailpay-thunderbird");
/// How long a frame, or the host's end, may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// A host process and the frames it writes.
pub struct NativeHost {
    child: Child,
    stdin: Option<ChildStdin>,
    pub frames: mpsc::Receiver<Value>,
}

impl NativeHost {
    /// Starts the host on the wallet at `home` (its `MAILPAY_HOME`).
    pub fn start(home: &Path) -> NativeHost {
        let mut command = Command::new(HOST);
        command.env("MAILPAY_HOME", home);
        NativeHost::spawned(command)
    }

    /// Starts the host as `command` runs it (the Windows host under Wine,
    /// say), with the arguments Thunderbird gives it.
    pub fn spawned(mut command: Command) -> NativeHost {
        let mut child = command
            .args(["/nowhere/org.mailpay.wallet.json", mailpay::bridge::manifest::ADDON_ID])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mailpay-thunderbird starts");
        let mut stdout = child.stdout.take().expect("piped");
        let (tx, frames) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let mut length = [0u8; 4];
                if stdout.read_exact(&mut length).is_err() {
                    return;
                }
                let mut body = vec![0u8; u32::from_le_bytes(length) as usize];
                if stdout.read_exact(&mut body).is_err()
                    || tx.send(serde_json::from_slice(&body).expect("the host writes JSON")).is_err()
                {
                    return;
                }
            }
        });
        NativeHost { stdin: child.stdin.take(), child, frames }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("the add-on's side is open");
        stdin.write_all(bytes).expect("the host reads");
        stdin.flush().expect("the host reads");
    }

    pub fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).expect("JSON");
        let mut frame = (body.len() as u32).to_le_bytes().to_vec();
        frame.extend(body);
        self.send_raw(&frame);
    }

    /// The add-on's hello, with one identity.
    pub fn hello(&mut self, email: &str) {
        self.send(json!({"type": "hello", "version": "test", "locale": "en-US",
            "identities": [{"id": "id1", "email": email, "account": "account1"}]}));
    }

    /// The next frame of type `kind`; frames of other types before it are
    /// returned too, for the test to look at.
    pub fn expect(&self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self.frames.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!("no {kind:?} frame from the host within {WAIT:?}; before it: {before:?}")
            });
            if frame["type"] == kind {
                return (frame, before);
            }
            before.push(frame);
        }
    }

    /// Closes the add-on's side, as Thunderbird does when it quits; the
    /// host's exit status.
    pub fn close(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("the host can be waited for") {
                return status;
            }
            assert!(Instant::now() < deadline, "the host did not end within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NativeHost {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
