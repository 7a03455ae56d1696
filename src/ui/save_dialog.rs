//! The desktop's own "Save as" dialog, for the history's CSV export. On
//! Linux and the BSDs through the XDG desktop portal's file chooser on the
//! session bus (GNOME, KDE and most others run one); where there is none,
//! the caller saves to the downloads folder instead and says so.

use std::path::PathBuf;

/// What came of asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Chosen(PathBuf),
    Cancelled,
    /// No dialog could be shown, and why.
    Unavailable(String),
}

/// What to ask: the dialog's title, the file name and folder it suggests,
/// and the kind of file with its pattern (`("CSV", "*.csv")`).
#[derive(Debug, Clone)]
pub struct Question {
    pub title: String,
    pub name: String,
    pub folder: Option<PathBuf>,
    pub filter: (&'static str, &'static str),
}

/// Asks where to save a file.
#[cfg(all(unix, not(target_os = "macos")))]
pub async fn ask(question: Question) -> Answer {
    let asked = match zbus::Connection::session().await {
        Ok(connection) => portal::save_file(&connection, &question).await,
        Err(e) => Err(e),
    };
    asked.unwrap_or_else(|e| Answer::Unavailable(e.to_string()))
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub async fn ask(_question: Question) -> Answer {
    Answer::Unavailable("no save dialog on this system yet".into())
}

#[cfg(all(unix, not(target_os = "macos")))]
mod portal {
    use std::collections::HashMap;

    use iced::futures::StreamExt;
    use zbus::zvariant::{OwnedValue, Value};

    use super::{Answer, Question};

    /// org.freedesktop.portal.FileChooser.SaveFile: the answer comes as a
    /// `Response` signal on a request object whose path follows from our
    /// bus name and a token, so the signal is listened for before asking.
    pub async fn save_file(connection: &zbus::Connection, question: &Question) -> zbus::Result<Answer> {
        let sender = connection.unique_name().map(|n| n.as_str().trim_start_matches(':').replace('.', "_"));
        let token = format!("mailpay{}", rand::random::<u32>());
        let request =
            format!("/org/freedesktop/portal/desktop/request/{}/{token}", sender.unwrap_or_default());
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.portal.Request")?
            .member("Response")?
            .path(request.as_str())?
            .build();
        let mut responses = zbus::MessageStream::for_match_rule(rule, connection, Some(1)).await?;
        let filters = vec![(question.filter.0, vec![(0u32, question.filter.1)])];
        let mut options: HashMap<&str, Value<'_>> = HashMap::from([
            ("handle_token", Value::from(token.as_str())),
            ("current_name", Value::from(question.name.as_str())),
            ("filters", Value::from(filters)),
        ]);
        if let Some(folder) = &question.folder {
            // A byte string ending in NUL, as the portal takes paths.
            use std::os::unix::ffi::OsStrExt;
            let mut bytes = folder.as_os_str().as_bytes().to_vec();
            bytes.push(0);
            options.insert("current_folder", Value::from(bytes));
        }
        connection
            .call_method(
                Some("org.freedesktop.portal.Desktop"),
                "/org/freedesktop/portal/desktop",
                Some("org.freedesktop.portal.FileChooser"),
                "SaveFile",
                &("", question.title.as_str(), options),
            )
            .await?;
        let Some(message) = responses.next().await else {
            return Err(zbus::Error::Failure("the portal closed without an answer".into()));
        };
        let (response, results): (u32, HashMap<String, OwnedValue>) = message?.body().deserialize()?;
        Ok(answer(response, results.get("uris").and_then(|u| <Vec<String>>::try_from(u.clone()).ok())))
    }

    /// The portal's response code and chosen `file://` URIs as an answer.
    pub(super) fn answer(response: u32, uris: Option<Vec<String>>) -> Answer {
        match (response, uris.as_deref()) {
            (0, Some([uri, ..])) => match super::path_of(uri) {
                Some(path) => Answer::Chosen(path),
                None => Answer::Unavailable(format!("the dialog chose {uri}, which is not a local file")),
            },
            (0, _) => Answer::Unavailable("the dialog chose no file".into()),
            (1, _) => Answer::Cancelled,
            (code, _) => Answer::Unavailable(format!("the dialog ended with code {code}")),
        }
    }
}

/// The local path of a `file://` URI (percent-decoded); `None` for
/// another scheme, a remote host or a malformed escape.
fn path_of(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let mut bytes = Vec::with_capacity(path.len());
    let mut iter = path.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex = [iter.next()?, iter.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes).ok().map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_become_local_paths() {
        assert_eq!(path_of("file:///home/taro/mailpay.csv"), Some(PathBuf::from("/home/taro/mailpay.csv")));
        assert_eq!(
            path_of("file:///home/taro/%E6%94%AF%E6%89%95%E3%81%84%20list.csv"),
            Some(PathBuf::from("/home/taro/支払い list.csv"))
        );
        assert_eq!(path_of("file://localhost/tmp/a.csv"), Some(PathBuf::from("/tmp/a.csv")));
        assert_eq!(path_of("file://server/share/a.csv"), None, "not a local file");
        assert_eq!(path_of("https://example.com/a.csv"), None);
        assert_eq!(path_of("file:///tmp/bad%2"), None);
        assert_eq!(path_of("file:///tmp/bad%zz"), None);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn the_portal_response_says_chosen_cancelled_or_why_not() {
        let uris = Some(vec!["file:///tmp/h.csv".to_string()]);
        assert_eq!(portal::answer(0, uris), Answer::Chosen(PathBuf::from("/tmp/h.csv")));
        assert_eq!(portal::answer(1, None), Answer::Cancelled);
        assert!(matches!(portal::answer(2, None), Answer::Unavailable(_)));
        assert!(matches!(portal::answer(0, Some(vec![])), Answer::Unavailable(_)));
        assert!(matches!(portal::answer(0, Some(vec!["sftp://h/x".into()])), Answer::Unavailable(_)));
    }

    /// A private session bus: a real `dbus-daemon`, stopped on drop.
    #[cfg(all(unix, not(target_os = "macos")))]
    struct Bus {
        daemon: std::process::Child,
        address: String,
        config: PathBuf,
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    impl Bus {
        fn start() -> Bus {
            use std::io::BufRead;
            // Its own configuration: no services to start on demand, so a
            // portal installed on the machine cannot answer instead.
            let config = std::env::temp_dir().join(format!(
                "mailpay-bus-{}-{}.conf",
                std::process::id(),
                rand::random::<u32>()
            ));
            std::fs::write(
                &config,
                "<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\"/><allow receive_sender=\"*\"/>\
                 <allow own=\"*\"/></policy></busconfig>",
            )
            .expect("the bus configuration is written");
            let mut daemon = std::process::Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .args(["--nofork", "--print-address"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("dbus-daemon runs (tests/mailstack/mailstack.sh install installs it)");
            let mut address = String::new();
            let stdout = daemon.stdout.take().expect("piped");
            std::io::BufReader::new(stdout).read_line(&mut address).expect("dbus-daemon prints its address");
            Bus { daemon, address: address.trim().to_string(), config }
        }

        async fn connect(&self, name: Option<&str>) -> zbus::Connection {
            let mut builder = zbus::connection::Builder::address(self.address.as_str()).expect("an address");
            if let Some(name) = name {
                builder = builder.name(name.to_string()).expect("a bus name");
            }
            builder.build().await.expect("connects to the private bus")
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
            let _ = std::fs::remove_file(&self.config);
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    type Asked = (String, String, Option<Vec<u8>>);

    /// Stands in for the desktop's file chooser, which needs a person at a
    /// screen: answers SaveFile as the portal does, with a `Response`
    /// signal on the request object the caller's token names, and keeps
    /// the options it was given.
    #[cfg(all(unix, not(target_os = "macos")))]
    struct FakeChooser {
        answer: (u32, Vec<String>),
        /// Title, suggested name and folder (NUL-terminated bytes) asked with.
        asked: std::sync::Arc<std::sync::Mutex<Vec<Asked>>>,
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[zbus::interface(name = "org.freedesktop.portal.FileChooser")]
    impl FakeChooser {
        async fn save_file(
            &self,
            #[zbus(header)] header: zbus::message::Header<'_>,
            #[zbus(connection)] connection: &zbus::Connection,
            _parent: &str,
            title: &str,
            options: std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
        ) -> zbus::fdo::Result<zbus::zvariant::OwnedObjectPath> {
            let text = |key: &str| {
                options.get(key).and_then(|v| String::try_from(v.clone()).ok()).unwrap_or_default()
            };
            let folder = options.get("current_folder").and_then(|v| <Vec<u8>>::try_from(v.clone()).ok());
            let sender = header
                .sender()
                .map(|s| s.as_str().trim_start_matches(':').replace('.', "_"))
                .unwrap_or_default();
            let path = format!("/org/freedesktop/portal/desktop/request/{sender}/{}", text("handle_token"));
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((title.to_string(), text("current_name"), folder));
            }
            let results = std::collections::HashMap::from([(
                "uris",
                zbus::zvariant::Value::from(self.answer.1.clone()),
            )]);
            connection
                .emit_signal(
                    header.sender().map(|s| s.as_str()),
                    path.as_str(),
                    "org.freedesktop.portal.Request",
                    "Response",
                    &(self.answer.0, results),
                )
                .await?;
            zbus::zvariant::OwnedObjectPath::try_from(path)
                .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
        }
    }

    /// The portal's protocol for real, on a real bus: the chosen file, a
    /// cancel, and no portal at all.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn asks_the_portal_on_the_session_bus() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let bus = Bus::start();
        runtime.block_on(async {
            let wallet = bus.connect(None).await;
            let ask = |title: &'static str, name: &'static str| {
                let wallet = wallet.clone();
                let question = Question {
                    title: title.into(),
                    name: name.into(),
                    folder: Some(PathBuf::from("/tmp")),
                    filter: ("CSV", "*.csv"),
                };
                async move {
                    let asking = portal::save_file(&wallet, &question);
                    tokio::time::timeout(std::time::Duration::from_secs(10), asking)
                        .await
                        .expect("answered in time")
                }
            };
            let nobody = ask("Export", "h.csv").await;
            assert!(nobody.is_err(), "no portal on the bus: {nobody:?}");

            let asked = std::sync::Arc::default();
            for (code, uris, expected) in [
                (
                    0,
                    vec!["file:///tmp/out%20put.csv".to_string()],
                    Answer::Chosen(PathBuf::from("/tmp/out put.csv")),
                ),
                (1, vec![], Answer::Cancelled),
            ] {
                let chooser = FakeChooser { answer: (code, uris), asked: std::sync::Arc::clone(&asked) };
                let desktop = bus.connect(Some("org.freedesktop.portal.Desktop")).await;
                desktop.object_server().at("/org/freedesktop/portal/desktop", chooser).await.unwrap();
                let answer = ask("Export the history", "mailpay-history.csv").await.unwrap();
                assert_eq!(answer, expected);
                drop(desktop);
            }
            let asked = asked.lock().unwrap().clone();
            assert_eq!(asked.len(), 2);
            let folder = Some(b"/tmp\0".to_vec());
            assert_eq!(
                asked[0],
                ("Export the history".to_string(), "mailpay-history.csv".to_string(), folder)
            );
        });
    }
}
