//! The programs as an operator and a shopper use them, against the real
//! mail stack: `mailpay-bank` and `mailpay-merchant` configured from TOML
//! files and run as processes (passwords from `--password-file`), their
//! admin commands, and the orderer's `mailpay order`, `watch`, `approve`
//! and `decline` (password in the kernel keyring) for Fig. 1 and Fig. 4.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::mailstack;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::processes::{
    Agent, BANK, MAILPAY, MERCHANT, account_toml, in_session_keyring, ok, order_args, order_id,
    password_file, run, temp_dir, watch_until,
};

fn spawn(program: &str, args: &[&str], log: &Path) -> Agent {
    let log = std::fs::File::create(log).unwrap();
    Agent(Command::new(program).args(args).stdout(Stdio::null()).stderr(log).spawn().unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `listing` (an agent's `orders` or `payments`) has a line
/// for `order` that says `state`.
fn wait_listed(listing: impl Fn() -> String, order: &str, state: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let canonical = order.replace('-', "");
    while !listing().lines().any(|l| l.starts_with(&canonical) && l.contains(state)) {
        assert!(Instant::now() < deadline, "{order} never {state} in:\n{}", listing());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `order`'s entry in the bank's `payments --json`.
fn payment<'a>(payments: &'a serde_json::Value, order: &str) -> Option<&'a serde_json::Value> {
    let canonical = order.replace('-', "");
    payments.as_array()?.iter().find(|p| p["order"] == canonical.as_str())
}

#[test]
fn agents_and_command_line_settle_fig_1_and_fig_4() {
    if !in_session_keyring("agents_and_command_line_settle_fig_1_and_fig_4") {
        return;
    }
    let stack = mailstack::shared();
    let dir = temp_dir("agents");
    let home = dir.join("orderer");
    let add = [
        "account",
        "add",
        "orderer@buyer.test",
        "--smtp",
        &format!("localhost:{}", stack.submission_port),
        "--smtp-security",
        "starttls",
        "--imap",
        &format!("localhost:{}", stack.imaps_port),
        "--imap-security",
        "tls",
        "--ca-file",
        stack.ca_file.to_str().unwrap(),
    ];
    let out = run(MAILPAY, &home, &add, &format!("{}\n", stack.user("orderer@buyer.test").password));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wallet_key = ok(MAILPAY, &home, &["wallet-key"]).trim().to_string();
    assert!(wallet_key.starts_with("ed25519:"), "{wallet_key}");

    // The bank: configuration, accounts, balances, its age recipient.
    let bank_toml = dir.join("bank.toml");
    let bank_data = dir.join("bank-data");
    std::fs::write(
        &bank_toml,
        format!(
            "data_dir = \"{}\"\nboard_grace_seconds = 2\nallow_private_boards = true\n{}",
            bank_data.display(),
            account_toml(stack, "bank@bank.test")
        ),
    )
    .unwrap();
    let bank = |args: &[&str]| {
        let mut all = vec!["--config", bank_toml.to_str().unwrap()];
        all.extend_from_slice(args);
        ok(BANK, &dir, &all)
    };
    bank(&["open-account", "orderer@buyer.test", "--initials", "O.B.", "--wallet-key", &wallet_key]);
    bank(&["open-account", "shop@shop.test"]);
    bank(&["set-balance", "orderer@buyer.test", "10000", "JPY"]);
    bank(&["set-balance", "shop@shop.test", "0", "JPY"]);
    let recipient_file = dir.join("bank.age-recipient");
    let recipient = bank(&["recipient", "--out", recipient_file.to_str().unwrap()]).trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    assert_eq!(std::fs::read_to_string(&recipient_file).unwrap().trim(), recipient);
    let refused = run(
        BANK,
        &dir,
        &["--config", bank_toml.to_str().unwrap(), "set-balance", "nobody@x.test", "1", "JPY"],
        "",
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("has no account"));

    // The merchant, with its catalogue and its board on a loopback port,
    // over HTTPS with the mail stack's certificate (for 127.0.0.1, signed by
    // the CA every account here trusts).
    let port = free_port();
    // The bank reads the board the shop registered, on loopback: allowed
    // by allow_private_boards above.
    bank(&["open-account", "shop@shop.test", "--board", &format!("https://127.0.0.1:{port}")]);
    let certificates = stack.ca_file.parent().unwrap();
    let catalogue = dir.join("catalogue.toml");
    std::fs::write(&catalogue, "[[article]]\ndescription = \"Green tea\"\nprice = \"600 JPY\"\n").unwrap();
    let shop_toml = dir.join("shop.toml");
    std::fs::write(
        &shop_toml,
        format!(
            "bank = \"bank@bank.test\"\ndata_dir = \"{}\"\ncatalogue = \"{}\"\nboard_listen = \"127.0.0.1:{port}\"\n\
             board_certificate = \"{}\"\nboard_private_key = \"{}\"\nboard_max_connections_per_address = 8\n{}",
            dir.join("shop-data").display(),
            catalogue.display(),
            certificates.join("server.pem").display(),
            certificates.join("server.key").display(),
            account_toml(stack, "shop@shop.test")
        ),
    )
    .unwrap();
    let bank_password = password_file(stack, &dir, "bank@bank.test");
    let shop_password = password_file(stack, &dir, "shop@shop.test");
    let _bank = spawn(
        BANK,
        &["--config", bank_toml.to_str().unwrap(), "run", "--password-file", bank_password.to_str().unwrap()],
        &dir.join("bank.log"),
    );
    let _shop = spawn(
        MERCHANT,
        &["--config", shop_toml.to_str().unwrap(), "run", "--password-file", shop_password.to_str().unwrap()],
        &dir.join("shop.log"),
    );

    // Fig. 1: order, confirmation, `mailpay approve`, settled.
    let placed = ok(
        MAILPAY,
        &home,
        &order_args("shop@shop.test", "bank@bank.test", "1200 JPY", &["--item", "2 x Green tea @ 600 JPY"]),
    );
    let fig1 = order_id(&placed);
    watch_until(&home, &fig1, "awaiting-confirmation");
    let approved = ok(MAILPAY, &home, &["approve", &fig1]);
    assert!(approved.contains("1200 JPY to shop@shop.test"), "{approved}");
    watch_until(&home, &fig1, "-> settled");

    // Fig. 4: cheque to the bank's recipient (kept once in the wallet),
    // board record, confirmation.
    let board = format!("https://127.0.0.1:{port}");
    let cheque_order = order_args("shop@shop.test", "bank@bank.test", "1 JPY", &["--method", "cheque"]);
    let refused = run(MAILPAY, &home, &cheque_order, "");
    assert!(!refused.status.success(), "no cheque without the bank's recipient");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("mailpay bank-key set bank@bank.test"));
    ok(MAILPAY, &home, &["bank-key", "set", "bank@bank.test", &recipient]);
    assert_eq!(ok(MAILPAY, &home, &["bank-key", "show", "bank@bank.test"]).trim(), recipient);
    let placed = ok(
        MAILPAY,
        &home,
        &order_args(
            "shop@shop.test",
            "bank@bank.test",
            "2400 JPY",
            &["--item", "4 x Green tea", "--method", "all", "--board", &board, "--initials", "O.B."],
        ),
    );
    assert!(placed.contains("board record posted"), "{placed}");
    let fig4 = order_id(&placed);
    watch_until(&home, &fig4, "awaiting-confirmation");
    ok(MAILPAY, &home, &["approve", &fig4]);
    watch_until(&home, &fig4, "-> settled");

    // A third order, declined.
    let placed = ok(
        MAILPAY,
        &home,
        &order_args("shop@shop.test", "bank@bank.test", "600 JPY", &["--item", "Green tea"]),
    );
    let declined = order_id(&placed);
    watch_until(&home, &declined, "awaiting-confirmation");
    ok(MAILPAY, &home, &["decline", &declined]);
    let again = run(MAILPAY, &home, &["approve", &declined], "");
    assert!(!again.status.success(), "a declined order cannot be approved");

    // What the operators see.
    let payments: serde_json::Value = serde_json::from_str(&bank(&["payments", "--json"])).unwrap();
    let status = |order: &str| payment(&payments, order).map(|p| p["status"].clone());
    assert_eq!(status(&fig1), Some("settled".into()));
    assert_eq!(status(&fig4), Some("settled".into()));
    wait_listed(|| bank(&["payments"]), &declined, "declined", Duration::from_secs(30));
    assert_eq!(bank(&["balance", "orderer@buyer.test", "JPY"]).trim(), "6400 JPY");
    assert_eq!(bank(&["balance", "shop@shop.test", "JPY"]).trim(), "3600 JPY");
    let trail = bank(&["trail", &fig4]);
    for step in ["<- payment-request", "<- wallet", "<- bill", "-> confirm", "<- approve", "-> settled"] {
        assert!(trail.contains(step), "{step} missing from the trail:\n{trail}");
    }
    let shop = |args: &[&str]| {
        let mut all = vec!["--config", shop_toml.to_str().unwrap()];
        all.extend_from_slice(args);
        ok(MERCHANT, &dir, &all)
    };
    // An order the catalogue does not price so is not billed at all.
    let placed =
        ok(MAILPAY, &home, &order_args("shop@shop.test", "bank@bank.test", "100 JPY", &["--item", "Sencha"]));
    let unpriced = order_id(&placed);
    // Each order's last mail reaches the shop by its own route (the
    // orderer's, or the bank's notice), so the shop is waited for.
    let shop_reaches =
        |order: &str, state: &str| wait_listed(|| shop(&["orders"]), order, state, Duration::from_secs(60));
    shop_reaches(&unpriced, "refused");
    // The shop refused it to the bank, which ended it and told the orderer.
    watch_until(&home, &unpriced, "-> rejected");
    let payments: serde_json::Value = serde_json::from_str(&bank(&["payments", "--json"])).unwrap();
    let refused =
        payment(&payments, &unpriced).unwrap_or_else(|| panic!("no payment {unpriced}: {payments}"));
    assert_eq!(refused["reason"], "merchant-refused", "{refused}");
    assert!(refused["detail"].as_str().unwrap_or_default().contains("not in the catalogue"), "{refused}");
    shop_reaches(&declined, "cancelled");
    shop_reaches(&fig1, "shipped");
    shop_reaches(&fig4, "shipped");
    let orders = shop(&["orders"]);
    assert!(orders.contains("\"Sencha\" is not in the catalogue"), "{orders}");
    assert_eq!(orders.lines().filter(|l| l.contains("shipped")).count(), 2, "{orders}");
    assert_eq!(orders.lines().filter(|l| l.contains("cancelled")).count(), 1, "the declined order: {orders}");
    assert!(shop(&["verify-board"]).contains("1 records, chain intact"));
}
