//! The test-only helpers of tests/thunderbird that speak to the test
//! through files: the recording host (tests/thunderbird/recording-host.py),
//! which stands in for the wallet's host when the add-on is tested alone
//! and carries the display probe's frames, and the display probe itself.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::thunderbird::{Options, Thunderbird, repo, wait_until};

/// How long the probe and the recording host are given for one step.
const WAIT: Duration = Duration::from_secs(60);

/// The test's side of tests/thunderbird/recording-host.py: its folder, the
/// frames it logged, the frames it is given to send.
pub struct Recording {
    pub dir: PathBuf,
    dropped: std::cell::Cell<u32>,
    /// Removed on drop (the host's own folder; not an add-on's subfolder).
    owned: bool,
}

impl Recording {
    pub fn new(name: &str) -> Recording {
        let dir = std::env::temp_dir().join(format!(
            "recording-{name}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(dir.join("to-addon")).unwrap();
        Recording { dir, dropped: std::cell::Cell::new(0), owned: true }
    }

    /// The folder the host keeps for another add-on connecting to it.
    pub fn for_addon(&self, id: &str) -> Recording {
        let dir = self.dir.join(id);
        std::fs::create_dir_all(dir.join("to-addon")).unwrap();
        Recording { dir, dropped: std::cell::Cell::new(0), owned: false }
    }

    pub fn script() -> PathBuf {
        repo().join("tests/thunderbird/recording-host.py")
    }

    pub fn env(&self) -> (String, String) {
        ("MAILPAY_RECORDING_DIR".into(), self.dir.to_string_lossy().into_owned())
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("frames.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The frames the add-on sent, with the time they came.
    pub fn received(&self) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == "in").collect()
    }

    /// Waits for a frame from the add-on that `pick` accepts; the event.
    pub fn wait_for(&self, timeout: Duration, pick: impl Fn(&Value) -> bool) -> Option<Value> {
        let mut found = None;
        wait_until(timeout, || {
            found = self.received().into_iter().find(|e| pick(&e["frame"]));
            found.is_some()
        });
        found
    }

    /// Has the host send these frames to the add-on.
    pub fn send(&self, frames: Value) {
        let n = self.dropped.get() + 1;
        self.dropped.set(n);
        let tmp = self.dir.join(format!("to-addon/{n:05}.json.tmp"));
        std::fs::write(&tmp, frames.to_string()).unwrap();
        std::fs::rename(&tmp, tmp.with_extension("")).unwrap();
    }

    /// The pids of the hosts started so far.
    pub fn starts(&self) -> Vec<u64> {
        self.events().iter().filter(|e| e["event"] == "start").filter_map(|e| e["pid"].as_u64()).collect()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !self.owned {
            // Its parent goes with the host's own folder.
        } else if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("the recording host's log is kept in {}", self.dir.display());
        }
    }
}

/// The test-only display probe (tests/thunderbird/display-probe): a test's
/// hands and eyes in Thunderbird. It opens a message in a tab and reads or
/// clicks the MailPay banner there, and writes replies and forwards as a
/// person would. It talks to the test through the recording host, under
/// the name `org.mailpay.testprobe`.
pub struct Probe {
    pub recording: Recording,
    asked: std::cell::Cell<u64>,
}

pub const PROBE_ID: &str = "display-probe@tests.mailpay.invalid";

impl Probe {
    /// Adds the probe to a Thunderbird about to start: its add-on, and the
    /// environment its host needs. Call [`Probe::attach`] once it runs.
    pub fn install(options: &mut Options, recording: &Recording) {
        options.extra_addons.push(repo().join("tests/thunderbird/display-probe"));
        options.env.push(recording.env());
    }

    /// The probe of a Thunderbird started with [`Probe::install`]; returns
    /// once it has connected.
    pub fn attach(tb: &Thunderbird, recording: &Recording) -> Probe {
        tb.add_native_host("org.mailpay.testprobe", &Recording::script(), PROBE_ID);
        let probe = Probe { recording: recording.for_addon(PROBE_ID), asked: std::cell::Cell::new(0) };
        assert!(
            probe.recording.wait_for(WAIT, |f| f["type"] == "ready").is_some(),
            "the display probe never connected; console:\n{}",
            tb.console()
        );
        probe
    }

    /// Has the probe do `order` (a frame of the probe's source); its answer.
    pub fn ask(&self, order: Value) -> Value {
        self.ask_within(order, WAIT)
    }

    pub fn ask_within(&self, mut order: Value, timeout: Duration) -> Value {
        let id = self.asked.get() + 1;
        self.asked.set(id);
        order["id"] = json!(id);
        self.recording.send(order.clone());
        let answer = self.recording.wait_for(timeout, |f| f["id"] == id);
        let answer =
            answer.unwrap_or_else(|| panic!("the display probe did not answer {order}"))["frame"].clone();
        assert!(answer.get("error").is_none(), "the display probe failed {order}: {answer}");
        answer
    }

    /// Opens the message with this Message-ID in a tab; the tab's id.
    pub fn open(&self, message_id: &str) -> u64 {
        self.ask(json!({ "type": "open", "headerMessageId": message_id }))["tab"].as_u64().unwrap()
    }

    /// The banner's text once it says `needle`, or what it said last.
    pub fn banner(&self, tab: u64, needle: &str) -> Option<String> {
        let mut text = None;
        wait_until(Duration::from_secs(20), || {
            text = self.ask(json!({ "type": "banner", "tab": tab }))["text"].as_str().map(str::to_string);
            text.as_deref().is_some_and(|t| t.contains(needle))
        });
        text
    }

    pub fn click(&self, tab: u64) {
        assert_eq!(
            self.ask(json!({ "type": "click", "tab": tab }))["clicked"],
            true,
            "no banner button to click"
        );
    }
}
