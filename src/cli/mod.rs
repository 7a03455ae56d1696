//! The `mailpay` command line: pay (`order`, `retry`, `approve`,
//! `decline`, `watch`, through the same [`crate::wallet::Wallet`] as the
//! app), keep accounts and keys, back the wallet up, compose the mails of
//! a step as .eml files for people working by hand, and inspect any mail.
//!
//! What a command prints goes through [`output`]: `println!`, `print!`,
//! `eprintln!` and `eprint!` are defined here, before the command modules,
//! and so stand for std's macros of the same names in this module and in
//! every module below it. Std's macros panic when standard output is a
//! pipe whose reader has gone (`mailpay inspect --json MAIL | head -1`);
//! these stop printing instead, and the command finishes its work (a
//! payment's mails still leave, a composed mail is still written) and
//! exits as it would have: 0 on success, nothing on stderr. `watch`
//! without `--once`, which would run on with nobody to tell, ends there
//! with 0. Any other failure to write standard output (a full disk) is
//! reported once the command is done, with exit code 1.

/// Prints to standard output through [`output::stdout`].
macro_rules! println {
    () => {
        $crate::cli::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to standard output through [`output::stdout`].
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!($($arg)*))
    };
}

/// Prints to standard error through [`output::stderr`].
macro_rules! eprintln {
    () => {
        $crate::cli::output::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to standard error through [`output::stderr`].
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!($($arg)*))
    };
}

mod account;
mod answer;
mod backup;
pub(crate) mod compose;
mod inspect;
mod keys;
mod send;
mod thunderbird;
mod watch;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::protocol::parse::{self, Incoming};
use crate::ui::app::Start;

#[derive(Debug, Parser)]
#[command(
    name = "mailpay",
    version,
    about = "Pay merchants by e-mail with a one-time password",
    after_help = "With no command, or with a mailpay: link, the desktop wallet opens \
                  (or, when it already runs, comes to the front)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Start the desktop wallet without its window: it watches the inbox
    /// in the background (what starting at login runs).
    #[arg(long)]
    background: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the mail(s) of one step as .eml files, without sending anything.
    Compose {
        #[command(subcommand)]
        step: compose::Step,
    },
    /// Send an order to the merchant and the payment request to the bank, at once.
    Order(send::OrderArgs),
    /// Send again the mails of an order that did not leave (never one that did).
    Retry {
        order: String,
        #[arg(long)]
        account: Option<String>,
        /// Your initials, when the board record still has to be posted.
        #[arg(long)]
        initials: Option<String>,
    },
    /// Answer the bank's confirmation with OK, password A and the code (Figs. 1 and 4).
    Approve {
        order: String,
        #[arg(long)]
        account: Option<String>,
    },
    /// Refuse the payment the bank asks you to confirm.
    Decline {
        order: String,
        #[arg(long)]
        account: Option<String>,
    },
    /// Print your cheque-signing public key, to register at your bank (claim 2).
    WalletKey,
    /// Keep a bank's age recipient, which cheques to it are encrypted to (claim 2).
    BankKey {
        #[command(subcommand)]
        command: keys::BankKeyCommand,
    },
    /// Pay from inside Thunderbird: set up its MailPay add-on's connection.
    Thunderbird {
        #[command(subcommand)]
        command: thunderbird::ThunderbirdCommand,
    },
    /// Open the wallet on the bank's confirmation of this order, to approve or decline it.
    Review { order: String },
    /// Watch the inbox (IMAP IDLE) and print every MailPay mail and its effect.
    Watch {
        #[arg(long)]
        account: Option<String>,
        /// Read what is there, then stop instead of waiting for more.
        #[arg(long)]
        once: bool,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Mail accounts: add, list, test, remove.
    Account {
        #[command(subcommand)]
        command: account::AccountCommand,
    },
    /// Copy the whole wallet (payments, mails, address book, settings) to FILE, owner-only.
    Backup { file: PathBuf },
    /// Put back a wallet copied with `mailpay backup`.
    Restore {
        file: PathBuf,
        /// Replace a wallet that already holds payments.
        #[arg(long)]
        replace: bool,
    },
    /// Print what MailPay makes of a mail, or why it is not a valid MailPay mail.
    Inspect {
        /// The mail, as an .eml file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Standard output and error as the command line uses them.
pub(crate) mod output {
    use std::io::{ErrorKind, Write};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set once writing standard output failed: nothing more is written.
    static STOPPED: AtomicBool = AtomicBool::new(false);
    /// Set for a command that never ends on its own (`watch` without
    /// `--once`): a reader gone ends the process.
    static END_WITH_READER: AtomicBool = AtomicBool::new(false);
    /// The first failure other than a reader gone (a full disk): the
    /// command's exit code says that its output is incomplete.
    static FAILURE: Mutex<Option<std::io::Error>> = Mutex::new(None);

    /// Writes to standard output, and flushes. When the reader of a pipe
    /// has gone, this and every later write does nothing.
    pub fn stdout(text: std::fmt::Arguments<'_>) {
        if STOPPED.load(Ordering::Relaxed) {
            return;
        }
        let mut out = std::io::stdout().lock();
        let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) else { return };
        drop(out);
        STOPPED.store(true, Ordering::Relaxed);
        if e.kind() == ErrorKind::BrokenPipe {
            if END_WITH_READER.load(Ordering::Relaxed) {
                std::process::exit(0);
            }
        } else if let Ok(mut failure) = FAILURE.lock() {
            failure.get_or_insert(e);
        }
    }

    /// Writes to standard error; a failure there cannot be told anywhere.
    pub fn stderr(text: std::fmt::Arguments<'_>) {
        let _ = std::io::stderr().lock().write_fmt(text);
    }

    /// The command that runs never ends on its own.
    pub(super) fn end_with_reader() {
        END_WITH_READER.store(true, Ordering::Relaxed);
    }

    /// The failure writing standard output, other than its reader gone.
    pub(super) fn failure() -> Option<std::io::Error> {
        FAILURE.lock().ok().and_then(|mut f| f.take())
    }
}

/// A failure the command line reports on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid MailPay mail: {source}")]
    Parse { path: PathBuf, source: parse::ParseError },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    #[error("cannot write to standard output: {0}; what the command printed is incomplete")]
    Stdout(std::io::Error),
}

/// The async runtime for commands that talk to servers.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

/// Runs the command line; the exit code is 0 on success, 1 on an error
/// about the input, 2 on a usage error.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // `mailpay mailpay:…` is what a desktop runs when a link is clicked.
    if let [_, link] = args.as_slice()
        && link.to_str().is_some_and(|l| l.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("mailpay:")))
    {
        return gui(Start::Link(link.to_string_lossy().into_owned()));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    if let Some(Command::Watch { once: false, .. }) = &cli.command {
        output::end_with_reader();
    }
    let result = match cli.command {
        None if cli.background => return gui(Start::Background),
        None => return gui(Start::Home),
        Some(Command::Compose { step }) => compose::run(step),
        Some(Command::Inspect { file, json }) => inspect::run(&file, json),
        Some(Command::Order(args)) => send::order(args),
        Some(Command::Retry { order, account, initials }) => {
            send::retry(&order, account.as_deref(), initials.as_deref())
        }
        Some(Command::Approve { order, account }) => answer::approve(&order, account.as_deref()),
        Some(Command::Decline { order, account }) => answer::decline(&order, account.as_deref()),
        Some(Command::Backup { file }) => backup::backup(&file),
        Some(Command::Restore { file, replace }) => backup::restore(&file, replace),
        Some(Command::WalletKey) => keys::wallet_key(),
        Some(Command::BankKey { command }) => keys::bank_key(command),
        Some(Command::Watch { account, once, json }) => watch::run(account.as_deref(), once, json),
        Some(Command::Account { command }) => account::run(command),
        Some(Command::Thunderbird { command }) => thunderbird::run(command),
        Some(Command::Review { order }) => match order.parse() {
            Ok(order) => return gui(Start::Review(order)),
            Err(e) => Err(CliError::Usage(format!("{order:?}: {e}"))),
        },
    };
    let result = result.and_then(|()| output::failure().map_or(Ok(()), |e| Err(CliError::Stdout(e))));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the desktop wallet, or hands `start` to the one already running
/// for this user (which opens its window on it) and exits.
fn gui(start: Start) -> ExitCode {
    use crate::ui::background::instance::{self, Claim};
    let listener = match crate::paths::Paths::from_env() {
        Ok(paths) => match instance::claim(&paths, &start) {
            Claim::HandedOver => return ExitCode::SUCCESS,
            Claim::First(listener) => Some(listener),
            Claim::Alone(why) => {
                eprintln!("mailpay: later starts cannot reach this wallet ({why})");
                None
            }
        },
        // The wallet itself says why it cannot open its folders.
        Err(_) => None,
    };
    #[cfg(all(unix, not(target_os = "macos")))]
    if ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"].iter().all(|v| std::env::var_os(v).is_none()) {
        eprintln!(
            "error: the desktop wallet needs a graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             the command line works without one: `mailpay --help`"
        );
        return ExitCode::FAILURE;
    }
    match crate::ui::run(start, listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the wallet window cannot open: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read { path: path.to_path_buf(), source })
}

/// Reads and parses a mail file.
fn read_mail(path: &Path) -> Result<Incoming, CliError> {
    let raw = read(path)?;
    parse::parse(&raw).map_err(|source| CliError::Parse { path: path.to_path_buf(), source })
}

/// Writes `bytes` to `path`, creating its folder. The file is new: the
/// bytes go to a temporary file in the same folder, created for this write
/// only, synced, then renamed over `path`; a file already at `path` (of
/// any mode, or a symbolic link) is replaced, never written into. A
/// `secret` (a mail holding password A, a key) is owner-only (0600) from
/// its creation, before its first byte.
fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CliError> {
    use std::io::Write;
    let err = |source| CliError::Write { path: path.to_path_buf(), source };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")));
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let temp = dir.join(temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o666 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&temp).map_err(err)?;
    let written = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(err)
}
