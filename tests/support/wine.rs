//! MailPay for Windows under Wine (Debian's wine64): the MSI that
//! `packaging/windows/build.sh` makes, installed with `msiexec` into
//! throw-away Wine prefixes, and its programs run there.
//!
//! The build is the `dev` profile (MAILPAY_WINDOWS_PROFILE names another),
//! made once per test binary. Each prefix gets the ProcessPrng shim in its
//! system32 (Wine 8.0 lacks ProcessPrng; see packaging/windows/wine/), and
//! runs with winemenubuilder off, so that installing never writes menu
//! entries into the real user's desktop. A prefix's wineserver is ended and
//! its folder removed when it is dropped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Debian's 64-bit Wine loader and server.
pub const WINE: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver64";

/// What `packaging/windows/build.sh` made.
pub struct Built {
    pub msi: PathBuf,
    /// The ProcessPrng shim for Wine 8.0 prefixes.
    pub shim: PathBuf,
    pub version: String,
    profile: String,
}

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the build script (`MSI_VERSION` = `version`, if given); returns the
/// MSI's path, the script's last line.
fn build(profile: &str, version: Option<&str>) -> PathBuf {
    let mut command = Command::new("bash");
    command.current_dir(project()).args(["packaging/windows/build.sh", "--profile", profile]);
    if let Some(version) = version {
        command.env("MSI_VERSION", version);
    }
    let out = command.stderr(Stdio::inherit()).output().expect("bash runs packaging/windows/build.sh");
    assert!(out.status.success(), "packaging/windows/build.sh failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let msi = stdout.lines().last().expect("the build prints the MSI's path").trim().to_string();
    project().join(msi)
}

/// The MSI of this version of MailPay, built once per test binary.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = std::env::var("MAILPAY_WINDOWS_PROFILE").unwrap_or_else(|_| "dev".into());
        let msi = build(&profile, None);
        let shim = msi.parent().unwrap().join("wine/bcryptprimitives.dll");
        assert!(shim.is_file(), "no shim at {}", shim.display());
        Built { msi, shim, version: env!("CARGO_PKG_VERSION").to_string(), profile }
    })
}

impl Built {
    /// The same programs in an MSI that says it is `version` (an upgrade).
    pub fn as_version(&self, version: &str) -> PathBuf {
        build(&self.profile, Some(version))
    }
}

/// `path` as Wine's Z: drive (the Unix root) names it.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// A Wine prefix of its own, created by `wineboot`.
pub struct Prefix {
    pub dir: PathBuf,
    /// The Windows user (Wine names it after the Unix one).
    pub user: String,
}

impl Prefix {
    pub fn new(name: &str) -> Prefix {
        let dir = std::env::temp_dir().join(format!(
            "mailpay-wine-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut prefix = Prefix { dir, user: String::new() };
        let out = prefix.command("wineboot").arg("--init").output().unwrap_or_else(|e| {
            panic!("{WINE} (Debian package wine64) is needed for the Windows tests: {e}")
        });
        assert!(out.status.success(), "wineboot: {}", String::from_utf8_lossy(&out.stderr));
        prefix.wait();
        let users = prefix.dir.join("drive_c/users");
        prefix.user = std::fs::read_dir(&users)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|u| u != "Public")
            .expect("wineboot made the user's profile");
        let system32 = prefix.dir.join("drive_c/windows/system32");
        std::fs::copy(&built().shim, system32.join("bcryptprimitives.dll")).unwrap();
        prefix
    }

    /// A prefix with the MSI installed.
    pub fn installed(name: &str) -> Prefix {
        let prefix = Prefix::new(name);
        prefix.install(&built().msi);
        prefix
    }

    /// `program` (a Windows program or path) under Wine in this prefix,
    /// with no display unless the caller sets DISPLAY. Wine's desktop
    /// process, once started without a display, keeps every later window
    /// of the prefix off the screen until it ends: [`Prefix::wait`] after
    /// such programs, before opening a window.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(WINE);
        command
            .arg(program)
            .env("WINEPREFIX", &self.dir)
            .env("WINEDEBUG", "-all")
            // No menu entries on the host's desktop, no .NET or Gecko
            // installers asked for.
            .env("WINEDLLOVERRIDES", "winemenubuilder.exe=d;mscoree=d;mshtml=d")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("MAILPAY_HOME")
            .stdin(Stdio::null());
        command
    }

    /// Waits until every program of the prefix has ended and the
    /// registry is on disk.
    pub fn wait(&self) {
        let _ = Command::new(WINESERVER).arg("-w").env("WINEPREFIX", &self.dir).status();
    }

    /// The folder the MSI installs to (Unix path).
    pub fn programs(&self) -> PathBuf {
        self.profile().join("AppData/Local/Programs/MailPay")
    }

    /// The user's profile folder (Unix path).
    pub fn profile(&self) -> PathBuf {
        self.dir.join("drive_c/users").join(&self.user)
    }

    /// An installed program as Windows names it.
    pub fn exe(&self, program: &str) -> String {
        format!("C:\\users\\{}\\AppData\\Local\\Programs\\MailPay\\{program}.exe", self.user)
    }

    pub fn msiexec(&self, args: &[&str]) -> Output {
        let out = self.command("msiexec").args(args).output().unwrap();
        self.wait();
        out
    }

    pub fn install(&self, msi: &Path) {
        let out = self.msiexec(&["/i", &windows_path(msi), "/qn"]);
        assert!(
            out.status.success(),
            "msiexec /i {}: {}",
            msi.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(self.programs().join("mailpay.exe").is_file(), "the MSI did not install mailpay.exe");
    }

    pub fn uninstall(&self, msi: &Path) {
        let out = self.msiexec(&["/x", &windows_path(msi), "/qn"]);
        assert!(
            out.status.success(),
            "msiexec /x {}: {}",
            msi.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `reg query KEY` (with `/v NAME`, or `/ve` for the default value):
    /// what it printed, or `None` when the key or value is not there.
    pub fn reg_query(&self, key: &str, value: Option<&str>) -> Option<String> {
        let mut command = self.command("reg");
        command.args(["query", key]);
        match value {
            Some("") => command.arg("/ve"),
            Some(name) => command.args(["/v", name]),
            None => command.arg("/s"),
        };
        let out = command.output().unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).replace('\r', ""))
    }

    /// The registry's files as Wine keeps them (after [`Prefix::wait`]).
    pub fn registry_text(&self) -> String {
        ["system.reg", "user.reg", "userdef.reg"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect()
    }

    /// `mailpay.exe ARGS` (or another installed program) with `home` as
    /// MAILPAY_HOME and `stdin` written to it.
    pub fn run(&self, program: &str, home: &Path, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(self.exe(program))
            .args(args)
            .env("MAILPAY_HOME", windows_path(home))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// [`Prefix::run`] that must succeed; stdout and stderr together.
    pub fn ok(&self, program: &str, home: &Path, args: &[&str]) -> String {
        self.ok_with(program, home, args, "")
    }

    pub fn ok_with(&self, program: &str, home: &Path, args: &[&str], stdin: &str) -> String {
        let out = self.run(program, home, args, stdin);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{program}.exe {args:?} under Wine failed:\n{text}");
        text.replace('\r', "")
    }

    /// Runs `mailpay.exe watch --once` until it shows `needle` for `order`.
    pub fn watch_until(&self, home: &Path, order: &str, needle: &str) -> String {
        super::processes::watch_with(|| self.ok("mailpay", home, &["watch", "--once"]), &[order], needle)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = Command::new(WINESERVER).arg("-k").env("WINEPREFIX", &self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
