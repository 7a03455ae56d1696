//! Windows resources: the icon and the version information of every
//! program, from `packaging/windows/mailpay.rc`, compiled with mingw-w64's
//! `windres` (`WINDRES` names another) and linked into each binary. Other
//! targets need nothing here.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=packaging/windows/mailpay.rc");
    println!("cargo::rerun-if-changed=packaging/windows/mailpay.ico");
    println!("cargo::rerun-if-env-changed=WINDRES");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "windows" {
        return;
    }
    if env != "gnu" {
        println!(
            "cargo::warning=Windows resources are compiled with mingw-w64's windres: this build has no icon or version information"
        );
        return;
    }
    let windres = std::env::var("WINDRES").unwrap_or_else(|_| "x86_64-w64-mingw32-windres".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let part = |name: &str| std::env::var(name).unwrap_or_else(|_| "0".into());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("mailpay-resources.o");
    let status = Command::new(&windres)
        .arg(format!("-DVERSION_MAJOR={}", part("CARGO_PKG_VERSION_MAJOR")))
        .arg(format!("-DVERSION_MINOR={}", part("CARGO_PKG_VERSION_MINOR")))
        .arg(format!("-DVERSION_PATCH={}", part("CARGO_PKG_VERSION_PATCH")))
        .arg(format!("-DVERSION_TEXT=\\\"{version}\\\""))
        .args(["--input-format=rc", "--output-format=coff", "-i", "packaging/windows/mailpay.rc", "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => println!("cargo::rustc-link-arg-bins={}", out.display()),
        Ok(s) => panic!("{windres} failed on packaging/windows/mailpay.rc ({s})"),
        Err(e) => {
            panic!("{windres} (Debian package binutils-mingw-w64-x86-64) is needed for Windows builds: {e}")
        }
    }
}
