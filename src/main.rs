use std::process::ExitCode;

fn main() -> ExitCode {
    mailpay::cli::run(std::env::args_os())
}
