//! MailPay for Windows, as a Windows user gets it: the MSI that
//! `packaging/windows/build.sh` cross-builds on Debian, installed with
//! `msiexec` into throw-away Wine prefixes (Debian's Wine 8.0, with the
//! ProcessPrng shim it needs; see tests/support/wine.rs), and its programs
//! run there against the real mail stack on loopback.
//!
//! - The installer: per user (nothing outside the user's profile and
//!   HKCU), the Start menu entry, the `mailpay:` URL protocol, the
//!   Thunderbird host's native-messaging registration, the notifications'
//!   app id, version information in the programs; a newer MSI upgrades in
//!   place; uninstalling leaves nothing.
//! - The command line: `compose order` and `inspect` under Wine, the mails
//!   read the same by the Linux `mailpay`.
//! - A whole payment: `mailpay.exe account add` (the password into Wine's
//!   Credential Manager, never into the configuration), `order`, `watch`,
//!   `approve`, settled by the Linux `mailpay-bank` and `mailpay-merchant`.
//! - The window on Xvfb: its messages in the prefix's language (English,
//!   Japanese, and English for a language MailPay does not have), its
//!   text drawn in a prefix that has no fonts at all, and New payment
//!   opened by the command registered for `mailpay:` links.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::mailstack;
use support::processes::{self, Agent, MAILPAY, World, account_add_args, order_args, order_id, temp_dir};
use support::wine::{self, Prefix, windows_path};
use support::xvfb;

/// The first window of a new prefix waits for Wine to list the host's
/// fonts once.
const FIRST_WINDOW: Duration = Duration::from_secs(120);

/// Reads a Windows program's version information: the UTF-16 strings of
/// its VERSIONINFO resource, as `name` followed by its value.
fn version_string(exe: &[u8], name: &str) -> Option<String> {
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let key = [utf16(name), vec![0, 0]].concat();
    let at = exe.windows(key.len()).position(|w| w == key.as_slice())? + key.len();
    // The value starts at the next 32-bit boundary of the resource.
    let value: Vec<u16> = exe[at..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .skip_while(|&c| c == 0)
        .take_while(|&c| c != 0)
        .collect();
    Some(String::from_utf16_lossy(&value))
}

/// A Windows program's subsystem (the PE optional header's field).
fn subsystem(exe: &[u8]) -> u16 {
    let pe = u32::from_le_bytes(exe[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&exe[pe..pe + 4], b"PE\0\0");
    // After the signature, the 20-byte file header; the field is at 68 in
    // the optional header (PE32 and PE32+ alike).
    let at = pe + 4 + 20 + 68;
    u16::from_le_bytes([exe[at], exe[at + 1]])
}

const WINDOWS_GUI: u16 = 2;
const WINDOWS_CONSOLE: u16 = 3;

#[test]
fn the_msi_installs_for_the_user_upgrades_in_place_and_uninstalls_leaving_nothing() {
    let built = wine::built();
    let prefix = Prefix::new("msi");
    prefix.install(&built.msi);

    // Everything under the user's profile, nothing for all users.
    let programs = prefix.programs();
    for file in [
        "mailpay-wallet.exe",
        "mailpay.exe",
        "mailpay-thunderbird.exe",
        "mailpay-bank.exe",
        "mailpay-merchant.exe",
    ] {
        assert!(programs.join(file).is_file(), "{file} not installed in {}", programs.display());
    }
    for folder in ["drive_c/Program Files", "drive_c/Program Files (x86)"] {
        let listed: Vec<_> = std::fs::read_dir(prefix.dir.join(folder))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        assert!(!listed.iter().any(|f| f.to_lowercase().contains("mailpay")), "{folder}: {listed:?}");
    }
    let start_menu =
        prefix.profile().join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/MailPay.lnk");
    assert!(start_menu.is_file(), "no Start menu entry at {}", start_menu.display());
    let link = std::fs::read(&start_menu).unwrap();
    let utf16: Vec<u8> = "mailpay-wallet.exe".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let names = |needle: &[u8]| link.windows(needle.len()).any(|w| w == needle);
    assert!(
        names(b"mailpay-wallet.exe") || names(&utf16),
        "the Start menu entry does not run mailpay-wallet.exe"
    );

    // The programs run, and say what they are.
    let home = temp_dir("wine-msi");
    let version = prefix.ok("mailpay", &home, &["--version"]);
    assert_eq!(version.trim(), format!("mailpay {}", built.version));
    let exe = std::fs::read(programs.join("mailpay.exe")).unwrap();
    assert_eq!(version_string(&exe, "ProductName").as_deref(), Some("MailPay"));
    assert_eq!(version_string(&exe, "ProductVersion"), Some(built.version.clone()));
    // What the Start menu and links run opens no console window; the
    // command line's program is a console program.
    let wallet = std::fs::read(programs.join("mailpay-wallet.exe")).unwrap();
    assert_eq!(subsystem(&wallet), WINDOWS_GUI);
    assert_eq!(subsystem(&exe), WINDOWS_CONSOLE);

    // The mailpay: protocol opens the installed wallet with the link.
    let exe_path = prefix.exe("mailpay-wallet");
    let command = prefix.reg_query(r"HKCU\Software\Classes\mailpay\shell\open\command", Some("")).unwrap();
    assert!(command.contains(&format!("\"{exe_path}\" \"%1\"")), "{command}");
    let protocol = prefix.reg_query(r"HKCU\Software\Classes\mailpay", Some("URL Protocol"));
    assert!(protocol.is_some(), "mailpay: is not marked as a URL protocol");

    // Thunderbird finds the add-on's host, whose manifest names the
    // installed program beside it.
    let host =
        prefix.reg_query(r"HKCU\Software\Mozilla\NativeMessagingHosts\org.mailpay.wallet", Some("")).unwrap();
    let manifest_path =
        format!(r"C:\users\{}\AppData\Local\Programs\MailPay\org.mailpay.wallet.json", prefix.user);
    assert!(host.contains(&manifest_path), "{host}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(programs.join("org.mailpay.wallet.json")).unwrap()).unwrap();
    let linux: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/thunderbird/org.mailpay.wallet.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["name"], linux["name"]);
    assert_eq!(manifest["allowed_extensions"], linux["allowed_extensions"]);
    let host_program = manifest["path"].as_str().unwrap();
    assert!(programs.join(host_program).is_file(), "the manifest's path {host_program} is not installed");

    // Notifications show the wallet's name and icon.
    let app_id = prefix.reg_query(r"HKCU\Software\Classes\AppUserModelId\org.mailpay.MailPay", None).unwrap();
    assert!(app_id.contains("DisplayName") && app_id.contains("MailPay"), "{app_id}");

    // A newer MSI replaces this one in place: one MailPay, the newer.
    let newer = built.as_version("0.999.0");
    prefix.install(&newer);
    prefix.wait();
    let registry = prefix.registry_text();
    let products = registry.matches("\"ProductName\"=\"MailPay\"").count();
    assert_eq!(products, 1, "the upgrade left {products} MailPay products registered");
    assert!(
        registry.contains("\"DisplayVersion\"=\"0.999.0\""),
        "the newer version is not the one registered"
    );
    assert!(
        !registry.contains(&format!("\"DisplayVersion\"=\"{}\"", built.version)),
        "the older one is still registered"
    );
    assert!(programs.join("mailpay.exe").is_file());

    // Uninstalling leaves no file and no registry entry.
    prefix.uninstall(&newer);
    prefix.wait();
    assert!(!programs.exists(), "{} is left", programs.display());
    assert!(!start_menu.exists(), "the Start menu entry is left");
    let drive_c = prefix.dir.join("drive_c");
    let left: Vec<String> = walk(&drive_c)
        .into_iter()
        .filter_map(|p| Some(p.strip_prefix(&drive_c).ok()?.display().to_string()))
        .filter(|p| p.to_lowercase().contains("mailpay"))
        .collect();
    assert!(left.is_empty(), "files left: {left:?}");
    let registry = prefix.registry_text();
    let left: Vec<&str> = registry.lines().filter(|l| l.to_lowercase().contains("mailpay")).collect();
    assert!(left.is_empty(), "registry entries left: {left:?}");
}

/// Every path under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        found.push(path.clone());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(walk(&path));
        }
    }
    found
}

#[test]
fn the_command_line_composes_and_inspects_an_order_under_wine() {
    let prefix = Prefix::installed("cli");
    let home = temp_dir("wine-cli");
    let out_dir = home.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let printed = prefix.ok(
        "mailpay",
        &home,
        &[
            "compose",
            "order",
            "--from",
            "orderer@buyer.test",
            "--merchant",
            "shop@shop.test",
            "--bank",
            "bank@bank.test",
            "--amount",
            "12.50",
            "--currency",
            "USD",
            "--item",
            "2 x Green tea @ 6.25 USD",
            "--password",
            "7KQ3-M9ZX-P2VD-H4TR-B8NC",
            "--out",
            &windows_path(&out_dir),
        ],
    );
    assert!(printed.contains("password A 7KQ3-M9ZX-P2VD-H4TR-B8NC"), "{printed}");
    let order = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("order-"))
        .expect("an order-*.eml written");
    let under_wine: serde_json::Value =
        serde_json::from_str(&prefix.ok("mailpay", &home, &["inspect", "--json", &windows_path(&order)]))
            .unwrap();
    assert_eq!(under_wine["kind"], "order");
    assert_eq!(under_wine["amount_minor"], 1250);
    assert_eq!(under_wine["currency"], "USD");
    assert_eq!(under_wine["to"][0], "shop@shop.test");
    // The Linux wallet reads the mail Windows wrote exactly as Windows does.
    let on_linux: serde_json::Value =
        serde_json::from_str(&processes::ok(MAILPAY, &home, &["inspect", "--json", order.to_str().unwrap()]))
            .unwrap();
    assert_eq!(under_wine, on_linux);
    // And a mail that is not MailPay's is refused with its reason.
    let junk = home.join("junk.eml");
    std::fs::write(&junk, "From: someone@x.test\r\nSubject: hello\r\n\r\nno MailPay block here\r\n").unwrap();
    let refused = prefix.run("mailpay", &home, &["inspect", &windows_path(&junk)], "");
    assert!(!refused.status.success(), "a mail without a MailPay block is not valid");
    assert!(!String::from_utf8_lossy(&refused.stderr).trim().is_empty(), "and the reason is given");
}

#[test]
fn a_payment_from_mailpay_exe_settles_through_the_linux_bank_and_merchant() {
    let stack = mailstack::shared();
    let prefix = Prefix::installed("pay");
    let dir = temp_dir("wine-pay");
    let home = dir.join("orderer");
    std::fs::create_dir_all(&home).unwrap();
    let orderer = "orderer@buyer.test";
    let password = stack.user(orderer).password.clone();

    // The account, its password into Wine's Credential Manager; the CA file
    // as Windows names it.
    let mut add = account_add_args(stack, orderer);
    *add.last_mut().unwrap() = windows_path(&stack.ca_file);
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    let added = prefix.ok_with("mailpay", &home, &add, &format!("{password}\n"));
    assert!(added.contains("Windows Credential Manager"), "{added}");
    let config = std::fs::read_to_string(home.join("config/config.toml")).unwrap();
    assert!(config.contains(orderer) && !config.contains(&password), "{config}");
    let credential = prefix
        .reg_query(&format!(r"HKCU\Software\Wine\Credential Manager\Generic: {orderer}.mailpay"), None)
        .unwrap_or_else(|| panic!("no credential for {orderer} in Wine's Credential Manager"));
    assert!(credential.contains(&format!("UserName    REG_SZ    {orderer}")), "{credential}");
    prefix.wait();
    assert!(!prefix.registry_text().contains(&password), "the password is in the registry in clear");
    let tested = prefix.ok("mailpay", &home, &["account", "test"]);
    assert_eq!(tested.matches("login OK").count(), 2, "{tested}");

    // The bank and the merchant, on Linux.
    let world = World::agents(stack, "wine-agents", 10_000);
    let _bank = world.start_bank(&dir.join("bank.log"), None);
    let _shop = world.start_shop(&dir.join("shop.log"));

    // Fig. 1 from Windows: order, confirmation, approval, settled.
    let order_line =
        order_args("shop@shop.test", "bank@bank.test", "1200 JPY", &["--item", "2 x Green tea @ 600 JPY"]);
    let placed = prefix.ok("mailpay", &home, &order_line);
    assert!(placed.contains("order to shop@shop.test: accepted"), "{placed}");
    let order = order_id(&placed);
    prefix.watch_until(&home, &order, "awaiting-confirmation");
    let approved = prefix.ok("mailpay", &home, &["approve", &order]);
    assert!(approved.contains("1200 JPY to shop@shop.test"), "{approved}");
    prefix.watch_until(&home, &order, "-> settled");
    let payments: serde_json::Value = serde_json::from_str(&world.bank(&["payments", "--json"])).unwrap();
    let canonical = order.replace('-', "");
    let payment = payments.as_array().unwrap().iter().find(|p| p["order"] == canonical.as_str()).unwrap();
    assert_eq!(payment["status"], "settled", "{payment}");
    assert_eq!(world.bank(&["balance", orderer, "JPY"]).trim(), "8800 JPY");
    assert_eq!(world.bank(&["balance", "shop@shop.test", "JPY"]).trim(), "1200 JPY");
}

#[test]
fn the_window_speaks_the_prefix_language_draws_its_text_without_fonts_and_opens_links() {
    let prefix = Prefix::installed("gui");
    let (_x_server, display) = xvfb::start();
    let mut limit = FIRST_WINDOW;
    for (locale, title) in [
        ("en_US.UTF-8", "Welcome — MailPay"),
        ("ja_JP.UTF-8", "ようこそ — MailPay"),
        // A language MailPay does not have: English.
        ("fr_FR.UTF-8", "Welcome — MailPay"),
    ] {
        let home = temp_dir("wine-gui");
        let wallet = Agent(
            prefix
                .command(prefix.exe("mailpay-wallet"))
                .env("MAILPAY_HOME", windows_path(&home))
                .env("DISPLAY", &display)
                .env("LANG", locale)
                .env("LC_ALL", locale)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let window = xvfb::window_titled(&display, title, limit);
        limit = Duration::from_secs(60);
        if locale.starts_with("en") {
            // The prefix has no fonts at all (drive_c/windows/Fonts is
            // empty): the text is drawn in the font the wallet carries.
            let fonts =
                std::fs::read_dir(prefix.dir.join("drive_c/windows/Fonts")).map(|d| d.count()).unwrap_or(0);
            assert_eq!(fonts, 0, "the prefix was meant to have no fonts");
            let dark = xvfb::poll("text in the window", Duration::from_secs(30), || {
                let dark = xvfb::dark_pixels(&display, window);
                (dark > 2000).then_some(dark)
            });
            assert!(dark > 2000, "{dark}");
        }
        drop(wallet);
        prefix.wait();
    }

    // A mailpay: link, opened as Windows opens it: the command registered
    // for the protocol, its "%1" the link (Wine 8.0's ShellExecute does not
    // look in HKCU\Software\Classes, so the test runs the command itself).
    let registered = prefix.reg_query(r"HKCU\Software\Classes\mailpay\shell\open\command", Some("")).unwrap();
    let line = registered.lines().find_map(|l| Some(l.split_once("REG_SZ")?.1.trim().to_string())).unwrap();
    let line = line.replace("%1", "mailpay:shop@shop.test?amount=1200&currency=JPY");
    let words: Vec<&str> = line.split('"').map(str::trim).filter(|w| !w.is_empty()).collect();
    assert_eq!(words.len(), 2, "{line}");
    let home = temp_dir("wine-link");
    let _wallet = Agent(
        prefix
            .command(words[0])
            .arg(words[1])
            .env("MAILPAY_HOME", windows_path(&home))
            .env("DISPLAY", &display)
            .env("LANG", "en_US.UTF-8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    xvfb::window_titled(&display, "New payment — MailPay", limit);
}
