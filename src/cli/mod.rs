//! The `mailpay` command line: compose the mails of a step as .eml files,
//! and inspect any mail.

mod account;
mod answer;
mod backup;
pub(crate) mod compose;
mod inspect;
mod keys;
mod send;
mod watch;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::protocol::parse::{self, Incoming};

#[derive(Debug, Parser)]
#[command(
    name = "mailpay",
    version,
    about = "Pay merchants by e-mail with a one-time password",
    after_help = "With no command, or with a mailpay: link, the desktop wallet opens."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
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
        return gui(Some(link.to_string_lossy().into_owned()));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        None => return gui(None),
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
    };
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

/// Opens the desktop wallet.
fn gui(link: Option<String>) -> ExitCode {
    #[cfg(all(unix, not(target_os = "macos")))]
    if ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"].iter().all(|v| std::env::var_os(v).is_none()) {
        eprintln!(
            "error: the desktop wallet needs a graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             the command line works without one: `mailpay --help`"
        );
        return ExitCode::FAILURE;
    }
    match crate::ui::run(link) {
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

/// Writes a file, creating its folder; secrets get owner-only permissions.
fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CliError> {
    let err = |source| CliError::Write { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = secret;
    use std::io::Write;
    let mut file = options.open(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}
