//! The native-messaging host of MailPay's Thunderbird add-on. Thunderbird
//! starts it with the manifest's path and the add-on's id as arguments and
//! speaks to it on standard input and output (`mailpay::bridge`); it runs
//! until Thunderbird closes the add-on's port.

use std::process::ExitCode;

use mailpay::bridge::{host, manifest};
use mailpay::paths::Paths;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!("mailpay-thunderbird {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // Thunderbird gives [manifest path, add-on id]; anyone else gets told
    // what this program is instead of a silent wait on standard input.
    if args.len() != 2 || args[1] != manifest::ADDON_ID {
        eprintln!(
            "mailpay-thunderbird is started by Thunderbird for MailPay's add-on ({}); \
             set it up with `mailpay thunderbird install`",
            manifest::ADDON_ID
        );
        return ExitCode::from(2);
    }
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("mailpay-thunderbird: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mailpay-thunderbird: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(host::run(tokio::io::stdin(), tokio::io::stdout(), paths)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailpay-thunderbird: {e}");
            ExitCode::FAILURE
        }
    }
}
