//! The "Save as" dialog of the history's export, asked through `rfd` on a
//! real session bus (its own `dbus-daemon`): the file the portal's chooser
//! answers, a cancel, and no chooser at all, which the wallet tells apart
//! from a cancel so that it can save to the downloads folder instead.
//!
//! rfd reaches the session bus through the environment
//! (`DBUS_SESSION_BUS_ADDRESS`), so the questions run in a child process
//! whose environment names the private bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(unix, not(target_os = "macos")))]

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailpay::ui::save_dialog::{self, Answer, Question};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// A private session bus: a real `dbus-daemon` with no services to start
/// on demand (so a portal installed on the machine cannot answer), stopped
/// on drop.
struct Bus {
    daemon: std::process::Child,
    address: String,
    config: PathBuf,
}

impl Bus {
    fn start() -> Bus {
        let config = std::env::temp_dir().join(format!("mailpay-save-bus-{}.conf", std::process::id()));
        std::fs::write(
            &config,
            "<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>\
             <policy context=\"default\"><allow send_destination=\"*\"/><allow receive_sender=\"*\"/>\
             <allow own=\"*\"/></policy></busconfig>",
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("dbus-daemon runs (tests/mailstack/mailstack.sh install installs it)");
        let mut address = String::new();
        std::io::BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut address).unwrap();
        Bus { daemon, address: address.trim().to_string(), config }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// What the chooser was asked: title, suggested name, folder (the portal
/// takes it as NUL-terminated bytes) and the filters.
type Asked = (String, String, Option<Vec<u8>>, String);

/// A fake of the desktop's file chooser, which needs a person at a screen:
/// it answers SaveFile as the portal does, with a `Response` signal on the
/// request object named by the caller's token, and keeps what it was asked.
struct FakeChooser {
    answer: (u32, Vec<String>),
    asked: Arc<Mutex<Vec<Asked>>>,
}

#[zbus::interface(name = "org.freedesktop.portal.FileChooser")]
impl FakeChooser {
    async fn save_file(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(connection)] connection: &zbus::Connection,
        _parent: &str,
        title: &str,
        options: HashMap<String, OwnedValue>,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let text = |key: &str| options.get(key).and_then(|v| String::try_from(v.clone()).ok());
        let name = options.get("current_name").and_then(|v| <Vec<u8>>::try_from(v.clone()).ok());
        let name = name
            .map(|b| String::from_utf8_lossy(b.strip_suffix(&[0]).unwrap_or(&b)).into_owned())
            .or_else(|| text("current_name"))
            .unwrap_or_default();
        let folder = options.get("current_folder").and_then(|v| <Vec<u8>>::try_from(v.clone()).ok());
        let filters = options.get("filters").map(|v| format!("{v:?}")).unwrap_or_default();
        let sender = header.sender().map(|s| s.as_str().trim_start_matches(':').replace('.', "_"));
        let token = text("handle_token").unwrap_or_default();
        let path = format!("/org/freedesktop/portal/desktop/request/{}/{token}", sender.unwrap_or_default());
        self.asked.lock().unwrap().push((title.to_string(), name, folder, filters));
        // As a person would, it answers after the request has returned
        // (rfd reads the answer only once the call is done).
        let (connection, destination) = (connection.clone(), header.sender().map(|s| s.to_string()));
        let (answer, signal_path) = (self.answer.clone(), path.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let results = HashMap::from([("uris", Value::from(answer.1))]);
            let _ = connection
                .emit_signal(
                    destination.as_deref(),
                    signal_path.as_str(),
                    "org.freedesktop.portal.Request",
                    "Response",
                    &(answer.0, results),
                )
                .await;
        });
        OwnedObjectPath::try_from(path).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }
}

fn question() -> Question {
    Question {
        title: "Export the history".into(),
        name: "mailpay-history.csv".into(),
        folder: Some(PathBuf::from("/tmp")),
        filter: ("CSV", "csv"),
    }
}

async fn ask() -> Answer {
    tokio::time::timeout(Duration::from_secs(20), save_dialog::ask(question()))
        .await
        .expect("answered in time")
}

#[test]
fn the_export_asks_the_desktop_portal_through_rfd() {
    let bus = Bus::start();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "asked_on_the_bus_of_the_environment", "--ignored", "--nocapture"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "{out}\n{}", String::from_utf8_lossy(&child.stderr));
    assert!(out.contains("1 passed"), "{out}");
}

/// The questions themselves, in a process of its own whose environment
/// names the private bus (rfd finds the session bus there) and has no
/// zenity on its PATH; run by the test above.
#[test]
#[ignore = "run by the_export_asks_the_desktop_portal_through_rfd, with its bus"]
fn asked_on_the_bus_of_the_environment() {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // No portal on the bus and no zenity: unavailable, not a cancel.
        let nobody = ask().await;
        let Answer::Unavailable(why) = &nobody else { panic!("no chooser at all: {nobody:?}") };
        assert!(why.contains("no desktop portal") && why.contains("zenity"), "{why}");

        let asked = Arc::<Mutex<Vec<Asked>>>::default();
        for (code, uris, expected) in [
            (
                0,
                vec!["file:///tmp/out%20put.csv".to_string()],
                Answer::Chosen(PathBuf::from("/tmp/out put.csv")),
            ),
            (1, vec![], Answer::Cancelled),
        ] {
            let chooser = FakeChooser { answer: (code, uris), asked: Arc::clone(&asked) };
            let desktop = zbus::connection::Builder::address(address.as_str())
                .unwrap()
                .name("org.freedesktop.portal.Desktop")
                .unwrap()
                .serve_at("/org/freedesktop/portal/desktop", chooser)
                .unwrap()
                .build()
                .await
                .unwrap();
            assert_eq!(ask().await, expected);
            drop(desktop);
            // The name is gone before the next round asks for it.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let asked = asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 2, "{asked:?}");
        let (title, name, folder, filters) = &asked[0];
        assert_eq!(title, "Export the history");
        assert_eq!(name, "mailpay-history.csv");
        assert_eq!(folder.as_deref(), Some(&b"/tmp\0"[..]));
        assert!(filters.contains("CSV") && filters.contains("*.csv"), "{filters}");
    });
}
