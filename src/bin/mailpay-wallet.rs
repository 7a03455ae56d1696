//! `mailpay-wallet`: the desktop wallet, built on Windows as a GUI program
//! so that no console window opens beside it. It is what the Start menu,
//! `mailpay:` links, "Start at login" and Thunderbird's "Review in MailPay"
//! run there. It takes what `mailpay` takes (no command, a link, `review
//! ORDER`, `--background`) and is the same program; `mailpay.exe` stays a
//! console program for the command line. On other systems `mailpay` is
//! all there is, and this is the same as it.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    mailpay::cli::run(std::env::args_os())
}
