//! `mailpay thunderbird ...`: connecting Thunderbird's MailPay add-on to
//! this wallet. `install` writes the native-messaging manifest for this
//! user (the Debian package installs one for every user); `status` asks
//! the running host who it serves.

use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::bridge::messages::Reply;
use crate::bridge::{ThroughThunderbird, manifest};
use crate::paths::Paths;

#[derive(Debug, Subcommand)]
pub enum ThunderbirdCommand {
    /// Tell Thunderbird where MailPay's host program is (for this user).
    Install {
        /// The host program; by default the `mailpay-thunderbird` beside this program.
        #[arg(long)]
        host: Option<PathBuf>,
    },
    /// Whether Thunderbird's add-on is connected to this wallet, and for which address.
    Status,
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

pub fn run(command: ThunderbirdCommand) -> Result<(), CliError> {
    match command {
        ThunderbirdCommand::Install { host } => install(host),
        ThunderbirdCommand::Status => status(),
    }
}

fn default_host() -> Option<PathBuf> {
    let name = if cfg!(windows) { "mailpay-thunderbird.exe" } else { "mailpay-thunderbird" };
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(name))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from)
}

/// Whether this user's (or the system's) manifest is there.
pub fn host_installed() -> bool {
    let user = home().and_then(|h| manifest::user_file(&h)).is_some_and(|f| f.exists());
    let system = std::path::Path::new("/usr/lib/mozilla/native-messaging-hosts")
        .join(format!("{}.json", manifest::HOST_NAME))
        .exists();
    user || system
}

fn install(host: Option<PathBuf>) -> Result<(), CliError> {
    let host = host.or_else(default_host).ok_or_else(|| fail("give the host program with --host"))?;
    let host = std::path::absolute(&host).map_err(fail)?;
    if !host.is_file() {
        return Err(CliError::Usage(format!(
            "{} is not there; give the host program with --host",
            host.display()
        )));
    }
    let home = home().ok_or_else(|| fail("no home folder is known (HOME is not set)"))?;
    let Some(file) = manifest::user_file(&home) else {
        return Err(fail(format!(
            "on Windows the installer registers the host under HKEY_CURRENT_USER\\Software\\Mozilla\\NativeMessagingHosts\\{}",
            manifest::HOST_NAME
        )));
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&file, manifest::json(&host))
        .map_err(|e| fail(format!("cannot write {}: {e}", file.display())))?;
    println!("{} written: Thunderbird starts {} for MailPay's add-on", file.display(), host.display());
    println!(
        "add the add-on in Thunderbird (Add-ons and Themes, Install Add-on From File): {}",
        addon_file().map_or_else(
            || "mailpay-wallet.xpi from the MailPay release".into(),
            |p| p.display().to_string()
        )
    );
    Ok(())
}

/// Where the packaged add-on is, when MailPay was installed with it.
fn addon_file() -> Option<PathBuf> {
    let shared = PathBuf::from("/usr/share/mailpay/thunderbird/mailpay-wallet.xpi");
    shared.exists().then_some(shared)
}

pub fn status() -> Result<(), CliError> {
    let paths = Paths::from_env().map_err(fail)?;
    let runtime = super::runtime()?;
    match runtime.block_on(ThroughThunderbird::new(&paths).status()) {
        Ok(Reply::Status { account, addon, standby }) => {
            let addon = addon.as_deref().unwrap_or("not yet said hello");
            match account {
                Some(account) => println!("Thunderbird carries the mail of {account} (add-on {addon})"),
                None => println!(
                    "Thunderbird's add-on ({addon}) is connected, but no account of this wallet goes through it"
                ),
            }
            if standby {
                println!("(standing by: another Thunderbird carries this wallet's mail)");
            }
            Ok(())
        }
        Ok(other) => Err(fail(format!("the host answered {other:?}"))),
        Err(e) => Err(fail(e)),
    }
}
