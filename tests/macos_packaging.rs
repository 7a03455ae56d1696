//! What can be checked of the macOS packaging without a Mac: the app
//! bundle's metadata (`[package.metadata.bundle]` in Cargo.toml, which
//! cargo-bundle turns into Info.plist), the LaunchAgent that starts the
//! wallet at login (`packaging/macos/org.mailpay.MailPay.plist`), and that
//! both agree with each other and with the program. The native-messaging
//! manifest's place on macOS is a unit test of `bridge::manifest`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bundle() -> toml::Table {
    let cargo: toml::Table = std::fs::read_to_string(project().join("Cargo.toml")).unwrap().parse().unwrap();
    cargo["package"]["metadata"]["bundle"].as_table().expect("[package.metadata.bundle]").clone()
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn the_bundle_names_the_app_id_the_url_scheme_and_icons_that_exist() {
    let bundle = bundle();
    assert_eq!(bundle["name"].as_str(), Some("MailPay"));
    // The same id as the Linux desktop file, the Windows notifications'
    // app id and the LaunchAgent's label.
    assert_eq!(bundle["identifier"].as_str(), Some("org.mailpay.MailPay"));
    let desktop =
        std::fs::read_to_string(project().join("packaging/linux/org.mailpay.MailPay.desktop")).unwrap();
    assert!(desktop.contains("MimeType=x-scheme-handler/mailpay;"), "{desktop}");
    let schemes: Vec<&str> =
        bundle["osx_url_schemes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(schemes, ["mailpay"]);
    let minimum = bundle["osx_minimum_system_version"].as_str().unwrap();
    assert!(minimum.split('.').all(|part| part.parse::<u32>().is_ok()), "{minimum}");
    let icons = bundle["icon"].as_array().unwrap();
    assert!(!icons.is_empty());
    for icon in icons {
        let path = icon.as_str().unwrap();
        let bytes = std::fs::read(project().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (width, height) = png_size(&bytes);
        // cargo-bundle takes each size from the file itself; the folder
        // must not say otherwise.
        assert!(path.contains(&format!("/{width}x{height}/")), "{path} is {width}x{height}");
    }
}

/// The `<dict>` of a property list, as (key, value element) pairs.
fn plist_dict(document: &roxmltree::Document) -> Vec<(String, roxmltree::NodeId)> {
    let dict = document.descendants().find(|n| n.has_tag_name("dict")).expect("a <dict>");
    let elements: Vec<_> = dict.children().filter(|n| n.is_element()).collect();
    elements
        .chunks(2)
        .map(|pair| {
            assert!(pair[0].has_tag_name("key"), "a <key> first");
            (pair[0].text().unwrap_or_default().to_string(), pair[1].id())
        })
        .collect()
}

#[test]
fn the_launch_agent_starts_the_bundled_wallet_in_the_background_at_login() {
    let text = std::fs::read_to_string(project().join("packaging/macos/org.mailpay.MailPay.plist")).unwrap();
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let document = roxmltree::Document::parse_with_options(&text, options).unwrap();
    let entries = plist_dict(&document);
    let value = |key: &str| {
        let id = entries.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key}")).1;
        document.get_node(id).unwrap()
    };
    let bundle = bundle();
    assert_eq!(value("Label").text(), bundle["identifier"].as_str());
    let arguments: Vec<&str> = value("ProgramArguments")
        .children()
        .filter(|n| n.has_tag_name("string"))
        .filter_map(|n| n.text())
        .collect();
    // cargo-bundle puts the binary, named as Cargo names it, in
    // Contents/MacOS of NAME.app.
    let name = bundle["name"].as_str().unwrap();
    assert_eq!(
        arguments,
        [format!("/Applications/{name}.app/Contents/MacOS/mailpay").as_str(), "--background"]
    );
    assert!(value("RunAtLoad").has_tag_name("true"));
    assert!(value("KeepAlive").has_tag_name("false"), "quitting from the wallet must end it");
    // The program takes the argument the agent gives it.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_mailpay")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--background"));
}
