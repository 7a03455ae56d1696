//! A real, headless Thunderbird on the test mail stack, with the MailPay
//! add-on installed and a native-messaging host of the test's choosing.
//!
//! ```ignore
//! let stack = mailstack::shared();
//! let mut tb = Thunderbird::start(stack, "orderer@buyer.test", Options {
//!     native_host: Some(PathBuf::from(env!("CARGO_BIN_EXE_mailpay-thunderbird"))),
//!     env: vec![("RUST_LOG".into(), "debug".into())],
//!     ..Options::default()
//! });
//! // ... mail the user, watch what the host sees ...
//! tb.restart(); // same profile, same account, same add-on
//! ```
//!
//! What [`Thunderbird::start`] sets up, in a fresh folder `dir`:
//!
//! - `dir/home`: Thunderbird's `HOME`, so the native-messaging manifest
//!   `home/.mozilla/native-messaging-hosts/org.mailpay.wallet.json` is the
//!   test's own ([`Options::native_host`], changed later with
//!   [`Thunderbird::set_native_host`]); `MAILPAY_HOME` is `dir/mailpay`.
//! - `dir/profile`: a profile whose `user.js` holds one IMAP account (IMAPS
//!   and SMTPS of the stack, the stack's user and password, IDLE on, new
//!   mail checked every minute, plain-text replies below the quote) beside
//!   Local Folders, every first-run dialog turned off, console output on
//!   stdout. The stack's CA is added with `certutil`; the password is stored
//!   at start by a test-only Experiment (`tests/thunderbird/login-seeder`).
//!   A second test-only Experiment (`tests/thunderbird/dialog-closer`)
//!   prints every modal dialog to stdout and closes it, since a headless
//!   Thunderbird would otherwise wait for ever on one nobody sees (a failed
//!   send's error, a password prompt). The add-on's .xpi is copied to
//!   `profile/extensions/wallet@mailpay.org.xpi`, beside any
//!   [`Options::extra_addons`].
//! - Thunderbird runs as `/usr/lib/thunderbird/thunderbird --headless
//!   --no-remote --profile dir/profile` in a process group of its own; each
//!   run's stdout and stderr go to `dir/run-N.stdout` / `.stderr`
//!   ([`Thunderbird::console`] reads them all).
//!
//! Everything waits with a time limit and panics with the console output
//! when it is up. [`Thunderbird::stop`] (also on drop) ends the process
//! named by the profile's lock (Thunderbird may restart itself under
//! another pid) and the process group. `dir` is removed on drop unless the
//! test failed or `THUNDERBIRD_KEEP=1` is set; its path is printed then.
//!
//! Needs the Debian packages thunderbird, libnss3-tools (certutil) and zip
//! (tests/mailstack/mailstack.sh install puts them there).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::mailstack::MailStack;

/// The Thunderbird binary started (the `/usr/bin` wrapper would re-exec).
pub const THUNDERBIRD: &str = "/usr/lib/thunderbird/thunderbird";
/// The add-on's id.
pub const ADDON_ID: &str = "wallet@mailpay.org";
/// The native-messaging name the add-on connects to.
pub const HOST_NAME: &str = "org.mailpay.wallet";

/// How long [`Thunderbird::start`] and [`Thunderbird::restart`] wait for
/// the extensions to start, unless [`Options::start_timeout`] says.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long [`Thunderbird::stop`] waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The line the login seeder prints once extensions run (see its source).
const SEEDED: &str = "login-seeder: ";

/// The test-only add-ons, by id, and their folders under tests/thunderbird.
const TEST_ADDONS: &[(&str, &str)] = &[
    ("login-seeder@tests.mailpay.invalid", "login-seeder"),
    ("dialog-closer@tests.mailpay.invalid", "dialog-closer"),
];

/// What a test chooses about its Thunderbird.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The native-messaging host's executable (made absolute); `None`: no
    /// host is installed, the add-on finds none.
    pub native_host: Option<PathBuf>,
    /// The add-on to install; `None`: [`addon_xpi`] (the shipped one).
    pub addon_xpi: Option<PathBuf>,
    /// More environment for Thunderbird, and so for the host it starts.
    pub env: Vec<(String, String)>,
    /// More `user.js` preferences: name and JavaScript value, e.g.
    /// `("mailnews.send_plaintext_flowed".into(), "false".into())`.
    pub prefs: Vec<(String, String)>,
    /// Folders of more (test-only) add-ons to install, each zipped as it is;
    /// the id is the one its manifest.json names.
    pub extra_addons: Vec<PathBuf>,
    /// Overrides [`START_TIMEOUT`].
    pub start_timeout: Option<Duration>,
    /// An X display (such as Xvfb's `:93`) to show Thunderbird's windows
    /// on, for screenshots; `None`: headless.
    pub display: Option<String>,
}

/// A Thunderbird of a test (see the module documentation).
/// The Thunderbirds of one test binary run one at a time: two at once on
/// one machine, with their own profiles, homes and temporary folders,
/// still once crossed their mails, which no user has (one Thunderbird
/// runs per user).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Thunderbird {
    /// This Thunderbird's turn ([`ONE_AT_A_TIME`]), until it is dropped.
    _turn: std::sync::MutexGuard<'static, ()>,
    /// The test's folder: `home`, `profile`, `mailpay`, the run logs.
    pub dir: PathBuf,
    /// The profile (kept by [`Thunderbird::restart`]).
    pub profile: PathBuf,
    /// Thunderbird's `HOME`.
    pub home: PathBuf,
    /// `MAILPAY_HOME` of Thunderbird and of the host it starts.
    pub mailpay_home: PathBuf,
    /// The account's address (its identity's e-mail).
    pub address: String,
    env: Vec<(String, String)>,
    display: Option<String>,
    start_timeout: Duration,
    /// The process this harness started for the current run.
    child: Option<Child>,
    runs: u32,
}

/// Builds the shipped add-on (packaging/thunderbird/build.sh) once per test
/// binary and returns its path, target/thunderbird/test/mailpay-wallet.xpi
/// (built aside and renamed there: test binaries running at once replace
/// it with the same bytes).
pub fn addon_xpi() -> &'static Path {
    static XPI: OnceLock<PathBuf> = OnceLock::new();
    XPI.get_or_init(|| {
        let folder = repo().join("target/thunderbird/test");
        let built = build_addon(&folder.join(format!("mailpay-wallet.{}.xpi", std::process::id())));
        let xpi = folder.join("mailpay-wallet.xpi");
        std::fs::rename(&built, &xpi).unwrap_or_else(|e| panic!("cannot rename {}: {e}", built.display()));
        xpi
    })
}

/// Runs packaging/thunderbird/build.sh with `out` as the output; panics
/// with its output if it fails. Returns `out`.
pub fn build_addon(out: &Path) -> PathBuf {
    let output = Command::new("bash")
        .arg(repo().join("packaging/thunderbird/build.sh"))
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run packaging/thunderbird/build.sh: {e}"));
    assert!(
        output.status.success(),
        "packaging/thunderbird/build.sh failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Thunderbird {
    /// Sets up a profile for `address`, a user of `stack`, and starts
    /// Thunderbird; returns once its extensions run (the account then logs
    /// in within a second or two). Panics, with the console, if it does not
    /// come up within the start timeout.
    pub fn start(stack: &MailStack, address: &str, options: Options) -> Thunderbird {
        let user = stack.user(address);
        let dir = std::env::temp_dir().join(format!(
            "thunderbird-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let profile = dir.join("profile");
        let home = dir.join("home");
        let mailpay_home = dir.join("mailpay");
        for folder in [&profile.join("extensions"), &home, &mailpay_home] {
            std::fs::create_dir_all(folder)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", folder.display()));
        }
        write(&profile.join("user.js"), &user_js(stack, address, &options.prefs));
        trust_ca(&profile, &stack.ca_file);
        let logins = serde_json::json!([
            { "origin": format!("imap://{}", stack.host), "httpRealm": format!("imap://{}", stack.host),
              "username": address, "password": user.password },
            { "origin": format!("smtp://{}", stack.host), "httpRealm": format!("smtp://{}", stack.host),
              "username": address, "password": user.password },
        ]);
        write(&profile.join("mailpay-test-logins.json"), &logins.to_string());
        for (id, path) in test_addons() {
            copy(path, &profile.join("extensions").join(format!("{id}.xpi")));
        }
        for folder in &options.extra_addons {
            let id = addon_id(folder);
            zip_folder(folder, &profile.join("extensions").join(format!("{id}.xpi")));
        }
        let xpi = options.addon_xpi.clone().unwrap_or_else(|| addon_xpi().to_path_buf());
        copy(&xpi, &profile.join("extensions").join(format!("{ADDON_ID}.xpi")));
        let mut thunderbird = Thunderbird {
            _turn: ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            dir,
            profile,
            home,
            mailpay_home,
            address: address.to_string(),
            env: options.env.clone(),
            display: options.display.clone(),
            start_timeout: options.start_timeout.unwrap_or(START_TIMEOUT),
            child: None,
            runs: 0,
        };
        thunderbird.set_native_host(options.native_host.as_deref());
        thunderbird.launch();
        thunderbird
    }

    /// Installs `host` as the native-messaging host `org.mailpay.wallet`
    /// (`None`: removes it). Takes effect at the add-on's next connection
    /// attempt; running hosts are not touched.
    pub fn set_native_host(&self, host: Option<&Path>) {
        match host {
            Some(host) => self.add_native_host(HOST_NAME, host, ADDON_ID),
            None => {
                let _ = std::fs::remove_file(self.native_host_manifest(HOST_NAME));
            }
        }
    }

    /// Installs any native-messaging host `name` for the add-on `extension`
    /// (for test-only add-ons that talk to the test).
    pub fn add_native_host(&self, name: &str, host: &Path, extension: &str) {
        let host = std::path::absolute(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
        let manifest = self.native_host_manifest(name);
        let text = serde_json::json!({
            "name": name,
            "description": "MailPay wallet",
            "path": host,
            "type": "stdio",
            "allowed_extensions": [extension],
        });
        if let Some(folder) = manifest.parent() {
            std::fs::create_dir_all(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        }
        write(&manifest, &serde_json::to_string_pretty(&text).unwrap_or_default());
    }

    fn native_host_manifest(&self, name: &str) -> PathBuf {
        self.home.join(".mozilla/native-messaging-hosts").join(format!("{name}.json"))
    }

    /// Stops Thunderbird and starts it again on the same profile (account,
    /// saved password, add-on, stored add-on data and mail kept).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Installs another build of the add-on, taking effect at the next
    /// (re)start.
    pub fn replace_addon(&self, xpi: &Path) {
        copy(xpi, &self.profile.join("extensions").join(format!("{ADDON_ID}.xpi")));
    }

    /// The pid of the running Thunderbird, from the profile's lock.
    pub fn pid(&self) -> Option<u32> {
        let target = std::fs::read_link(self.profile.join("lock")).ok()?;
        let pid = target.to_string_lossy().rsplit_once('+')?.1.parse::<u32>().ok()?;
        alive(pid).then_some(pid)
    }

    /// Whether Thunderbird runs.
    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Stops Thunderbird (SIGTERM, then SIGKILL after a grace period) and
    /// whatever else runs in its process group (content processes, the
    /// native host). Idempotent.
    pub fn stop(&mut self) {
        let group = self.child.as_ref().map(Child::id);
        if let Some(pid) = self.pid() {
            signal("-TERM", &pid.to_string());
            let deadline = Instant::now() + STOP_GRACE;
            while alive(pid) && Instant::now() < deadline {
                self.reap();
                std::thread::sleep(Duration::from_millis(100));
            }
            if alive(pid) {
                signal("-KILL", &pid.to_string());
            }
        }
        if let Some(group) = group {
            signal("-KILL", &format!("-{group}"));
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.profile.join("lock"));
        let _ = std::fs::remove_file(self.profile.join(".parentlock"));
    }

    /// Everything Thunderbird (and the host it started, which inherits
    /// stderr) wrote on stdout and stderr, every run in order.
    pub fn console(&self) -> String {
        let mut text = String::new();
        for run in 1..=self.runs {
            for stream in ["stdout", "stderr"] {
                let path = self.dir.join(format!("run-{run}.{stream}"));
                if let Ok(bytes) = std::fs::read(&path) {
                    text.push_str(&format!("==== {} ====\n", path.display()));
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        text
    }

    /// Console lines that say something (Thunderbird's and the add-ons'
    /// messages, not GTK's complaints about a missing display).
    pub fn console_messages(&self) -> Vec<String> {
        self.console()
            .lines()
            .filter(|line| {
                line.starts_with("console.")
                    || line.starts_with("login-seeder:")
                    || line.starts_with("dialog-closer:")
                    || line.starts_with("JavaScript error")
            })
            .map(str::to_string)
            .collect()
    }

    /// Waits until the console of this run contains `needle`.
    pub fn wait_for_console(&self, needle: &str, timeout: Duration) -> bool {
        let path = self.dir.join(format!("run-{}.stdout", self.runs));
        wait_until(timeout, || std::fs::read_to_string(&path).is_ok_and(|text| text.contains(needle)))
    }

    /// The modal dialogs Thunderbird showed (and the dialog closer closed).
    pub fn dialogs(&self) -> Vec<String> {
        self.console().lines().filter(|line| line.starts_with("dialog-closer:")).map(str::to_string).collect()
    }

    fn launch(&mut self) {
        self.runs += 1;
        let stdout = self.dir.join(format!("run-{}.stdout", self.runs));
        let stderr = self.dir.join(format!("run-{}.stderr", self.runs));
        let file = |path: &Path| {
            std::fs::File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
        };
        // A temporary folder of its own, as separate users have:
        // Thunderbird writes each mail it sends to a file there (two
        // Thunderbirds of one test run once sent each other's mail while
        // they shared /tmp).
        let tmp = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        let mut command = Command::new(THUNDERBIRD);
        if self.display.is_none() {
            command.arg("--headless").env("MOZ_HEADLESS", "1");
        }
        command
            .args(["--no-remote", "--profile"])
            .arg(&self.profile)
            .env("HOME", &self.home)
            .env("MAILPAY_HOME", &self.mailpay_home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("TMPDIR", &tmp)
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("MOZ_NO_REMOTE")
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr));
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(display) = &self.display {
            command.env("DISPLAY", display);
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {THUNDERBIRD} (Debian package thunderbird): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + self.start_timeout;
        let mut gone_since: Option<Instant> = None;
        loop {
            if std::fs::read_to_string(&stdout).is_ok_and(|text| text.contains(SEEDED))
                && self.pid().is_some()
            {
                return;
            }
            // Thunderbird may end the process started and go on in another
            // one (after add-on changes): only a while with neither is an exit.
            if self.reap() && self.pid().is_none() {
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    panic!("Thunderbird exited while starting:\n{}", self.console());
                }
            } else {
                gone_since = None;
            }
            if Instant::now() >= deadline {
                let console = self.console();
                self.stop();
                panic!("Thunderbird's extensions did not start within {:?}:\n{console}", self.start_timeout);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Collects the started process if it exited (Thunderbird may restart
    /// itself under a new pid and let the first one end); true if it did.
    fn reap(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(_))) => true,
            Some(Ok(None)) => false,
            _ => true,
        }
    }
}

impl Drop for Thunderbird {
    fn drop(&mut self) {
        self.stop();
        let keep = std::env::var_os("THUNDERBIRD_KEEP").is_some_and(|v| !v.is_empty() && v != "0");
        if keep || std::thread::panicking() {
            eprintln!("Thunderbird's profile and console are kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Calls `done` every 100 ms until it holds (true) or `timeout` is up (false).
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn user_js(stack: &MailStack, address: &str, extra: &[(String, String)]) -> String {
    let host = &stack.host;
    let quoted = |text: &str| serde_json::Value::String(text.to_string()).to_string();
    let prefs: Vec<(&str, String)> = vec![
        // The account: IMAP over TLS (socketType 3) with a password (authMethod 3).
        ("mail.accountmanager.accounts", quoted("account1,account2")),
        ("mail.accountmanager.defaultaccount", quoted("account1")),
        ("mail.accountmanager.localfoldersserver", quoted("server2")),
        ("mail.account.account1.identities", quoted("id1")),
        ("mail.account.account1.server", quoted("server1")),
        ("mail.account.account2.server", quoted("server2")),
        ("mail.server.server1.type", quoted("imap")),
        ("mail.server.server1.hostname", quoted(host)),
        ("mail.server.server1.port", stack.imaps_port.to_string()),
        ("mail.server.server1.socketType", "3".into()),
        ("mail.server.server1.authMethod", "3".into()),
        ("mail.server.server1.userName", quoted(address)),
        ("mail.server.server1.name", quoted(address)),
        ("mail.server.server1.directory-rel", quoted("[ProfD]ImapMail/server1")),
        ("mail.server.server1.login_at_startup", "true".into()),
        ("mail.server.server1.use_idle", "true".into()),
        ("mail.server.server1.check_new_mail", "true".into()),
        ("mail.server.server1.check_time", "1".into()),
        ("mail.server.server2.type", quoted("none")),
        ("mail.server.server2.hostname", quoted("Local Folders")),
        ("mail.server.server2.userName", quoted("nobody")),
        ("mail.server.server2.name", quoted("Local Folders")),
        ("mail.server.server2.directory-rel", quoted("[ProfD]Mail/Local Folders")),
        ("mail.identity.id1.useremail", quoted(address)),
        ("mail.identity.id1.fullName", quoted(address.split('@').next().unwrap_or(address))),
        ("mail.identity.id1.smtpServer", quoted("smtp1")),
        ("mail.identity.id1.valid", "true".into()),
        ("mail.identity.id1.compose_html", "false".into()),
        ("mail.identity.id1.reply_on_top", "0".into()),
        ("mail.identity.default.compose_html", "false".into()),
        ("mail.identity.default.reply_on_top", "0".into()),
        // Sending: SMTP over TLS (try_ssl 3) with a password.
        ("mail.smtpservers", quoted("smtp1")),
        ("mail.smtp.defaultserver", quoted("smtp1")),
        ("mail.smtpserver.smtp1.hostname", quoted(host)),
        ("mail.smtpserver.smtp1.port", stack.smtps_port.to_string()),
        ("mail.smtpserver.smtp1.try_ssl", "3".into()),
        ("mail.smtpserver.smtp1.authMethod", "3".into()),
        ("mail.smtpserver.smtp1.username", quoted(address)),
        // No first-run dialogs, pages or checks.
        ("mail.shell.checkDefaultClient", "false".into()),
        ("mailnews.start_page.enabled", "false".into()),
        ("mail.provider.suppress_dialog_on_startup", "true".into()),
        ("mail.rights.version", "1".into()),
        ("mail.spotlight.firstRunDone", "true".into()),
        ("mail.winsearch.firstRunDone", "true".into()),
        ("datareporting.policy.dataSubmissionPolicyBypassNotification", "true".into()),
        ("datareporting.policy.dataSubmissionEnabled", "false".into()),
        ("toolkit.telemetry.reportingpolicy.firstRun", "false".into()),
        ("app.update.auto", "false".into()),
        ("app.update.enabled", "false".into()),
        ("app.update.checkInstallTime", "false".into()),
        ("browser.shell.checkDefaultBrowser", "false".into()),
        ("extensions.update.enabled", "false".into()),
        ("extensions.getAddons.cache.enabled", "false".into()),
        // Add-ons dropped into the profile start enabled, unsigned.
        ("extensions.autoDisableScopes", "0".into()),
        ("extensions.enabledScopes", "15".into()),
        ("xpinstall.signatures.required", "false".into()),
        ("extensions.experiments.enabled", "true".into()),
        // Console messages (the add-on's among them) on stdout.
        ("devtools.console.stdout.chrome", "true".into()),
        ("devtools.console.stdout.content", "true".into()),
        ("browser.dom.window.dump.enabled", "true".into()),
    ];
    let mut text = String::from("// Written by tests/support/thunderbird.rs for one test.\n");
    for (name, value) in
        prefs.iter().map(|(n, v)| (*n, v.as_str())).chain(extra.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    {
        text.push_str(&format!("user_pref({}, {value});\n", quoted(name)));
    }
    text
}

/// Adds the stack's CA to the profile's NSS database.
fn trust_ca(profile: &Path, ca: &Path) {
    let db = format!("sql:{}", profile.display());
    for args in [
        vec!["-N", "-d", db.as_str(), "--empty-password"],
        vec!["-A", "-d", db.as_str(), "-n", "mailstack-ca", "-t", "C,,", "-i", &ca.to_string_lossy()],
    ] {
        let out = Command::new("certutil")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run certutil (Debian package libnss3-tools): {e}"));
        assert!(
            out.status.success(),
            "certutil {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The test-only add-ons, zipped once per test binary: (id, xpi path).
fn test_addons() -> &'static [(String, PathBuf)] {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = repo().join("target/thunderbird/test");
        std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        TEST_ADDONS
            .iter()
            .map(|(id, folder)| {
                let built = out.join(format!("{id}.{}.xpi", std::process::id()));
                zip_folder(&repo().join("tests/thunderbird").join(folder), &built);
                let xpi = out.join(format!("{id}.xpi"));
                std::fs::rename(&built, &xpi)
                    .unwrap_or_else(|e| panic!("cannot rename {}: {e}", built.display()));
                (id.to_string(), xpi)
            })
            .collect()
    })
}

/// Zips an add-on's folder into `xpi` (replacing it).
fn zip_folder(folder: &Path, xpi: &Path) {
    let _ = std::fs::remove_file(xpi);
    let xpi = std::path::absolute(xpi).unwrap_or_else(|e| panic!("{}: {e}", xpi.display()));
    let status = Command::new("zip")
        .args(["-q", "-X", "-r"])
        .arg(&xpi)
        .arg(".")
        .current_dir(folder)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run zip (Debian package zip): {e}"));
    assert!(status.success(), "zip of {} failed", folder.display());
}

/// The id an add-on's manifest.json gives it.
fn addon_id(folder: &Path) -> String {
    let path = folder.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    match manifest["browser_specific_settings"]["gecko"]["id"].as_str() {
        Some(id) => id.to_string(),
        None => panic!("{} names no browser_specific_settings.gecko.id", path.display()),
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}

/// Whether `pid` runs (a zombie does not count).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

fn signal(signal: &str, target: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
