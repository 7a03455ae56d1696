//! OAuth2 sign-in for mail accounts, end to end on the real mail stack:
//! Dovecot's oauth2 passdb (XOAUTH2 and OAUTHBEARER, IMAP and, through its
//! auth socket, Postfix's SMTP submission), an authorization server on
//! Authlib (`tests/mailstack/authserver.py`: consent page, PKCE S256,
//! refresh, revocation, short-lived JWTs) and Debian's Chromium, driven over
//! WebDriver (`tests/mailstack/browser.py`), where a person consents and
//! the browser follows the redirect to MailPay's loopback listener.
//! The keyring is the kernel's, in a session keyring of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailpay::mail::imap;
use mailpay::mail::login::Login;
use mailpay::mail::smtp::{SendError, Smtp};
use mailpay::oauth::listener::Limits;
use mailpay::oauth::provider::Provider;
use mailpay::oauth::session::{self, SignIn, TokenSource};
use mailpay::oauth::{Grant, Mechanism, OAuthError, store};
use mailpay::secrets::{Keyring, Secret};
use support::app_driver;
use support::mailstack::{self, MailStack, OAUTH_USER};
use support::oauth::{self, AuthServer};
use support::processes::{self, Agent, MAILPAY, World, in_session_keyring, ok, order_args, order_id, run};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A token source with only an access token (nothing to refresh with).
fn access_only(token: &str, mechanism: Mechanism) -> Login {
    let grant = Grant::from_access_token(Secret::new(token));
    Login::OAuth2(Arc::new(TokenSource::new(OAUTH_USER, None, mechanism, grant, None, session::https())))
}

/// Logs in to SMTP submission and IMAP; the two outcomes.
async fn log_in(
    account: &mailpay::mail::account::Account,
    login: &Login,
) -> (Result<(), SendError>, Result<(), imap::ImapError>) {
    let smtp = async { Smtp::with_login(account, login.clone())?.test_connection().await };
    let imap = async {
        let mut session = imap::connect_with(account, login).await?;
        let _ = session.logout().await;
        Ok(())
    };
    tokio::join!(smtp, imap)
}

fn measured(what: &str, started: Instant) {
    eprintln!("measured: {what}: {:.1?}", started.elapsed());
}

/// (b) XOAUTH2 and OAUTHBEARER with a valid token log in to both servers;
/// an expired, a forged and another user's token are refused, and without
/// a refresh token that means signing in again.
#[test]
fn xoauth2_and_oauthbearer_log_in_to_smtp_and_imap() {
    let started = Instant::now();
    let stack = mailstack::shared();
    let rt = runtime();
    for mechanism in [Mechanism::Xoauth2, Mechanism::Oauthbearer] {
        let mut settings = mailpay::oauth::provider::OAuth2Settings::of(mailpay::oauth::ProviderKind::Custom);
        settings.mechanism = mechanism;
        let account = oauth::account(stack, OAUTH_USER, settings);
        let good = access_only(&oauth::mint(stack, OAUTH_USER, 600), mechanism);
        let (smtp, imap) = rt.block_on(log_in(&account, &good));
        assert_eq!(smtp, Ok(()), "{mechanism:?} SMTP");
        assert!(imap.is_ok(), "{mechanism:?} IMAP: {imap:?}");
        // Implicit TLS for SMTP too.
        let mut smtps = account.clone();
        smtps.smtp = mailpay::mail::account::Server {
            host: "localhost".into(),
            port: stack.smtps_port,
            security: mailpay::mail::account::Security::Tls,
        };
        let sent = rt.block_on(async { Smtp::with_login(&smtps, good.clone())?.test_connection().await });
        assert_eq!(sent, Ok(()), "{mechanism:?} SMTPS");

        let refused = [
            ("expired", oauth::mint(stack, OAUTH_USER, -30)),
            ("forged", oauth::mint_with(&[7; 32], stack.oauth_issuer(), OAUTH_USER, 600)),
            ("another issuer's", oauth::mint_with(&[7; 32], "https://evil.test/", OAUTH_USER, 600)),
            ("another user's", oauth::mint(stack, "orderer@buyer.test", 600)),
        ];
        for (what, token) in refused {
            let (smtp, imap) = rt.block_on(log_in(&account, &access_only(&token, mechanism)));
            let smtp = smtp.unwrap_err();
            assert!(smtp.needs_sign_in() && smtp.is_temporary(), "{mechanism:?} {what} SMTP: {smtp}");
            assert!(smtp.to_string().contains("sign in again"), "{smtp}");
            let imap = imap.unwrap_err();
            assert!(imap.needs_sign_in(), "{mechanism:?} {what} IMAP: {imap}");
        }
    }
    // The password users are still password users.
    let orderer = support::accounts::account(stack, "orderer@buyer.test");
    let password = Login::password(stack.user("orderer@buyer.test").password.clone());
    let (smtp, imap) = rt.block_on(log_in(&orderer, &password));
    assert_eq!(smtp, Ok(()));
    assert!(imap.is_ok(), "{imap:?}");
    measured("SASL logins", started);
}

/// The sign-in as the app runs it (start, the URL to the browser, finish),
/// then a token the server refuses is refreshed once and the login goes
/// through; after the grant is revoked, the refresh says "sign in again".
#[test]
fn a_sign_in_refreshes_a_refused_token_and_a_revoked_grant_means_signing_in_again() {
    let started = Instant::now();
    let stack = mailstack::shared();
    let server = AuthServer::start(stack, 600, &[OAUTH_USER]);
    let settings = server.settings(Mechanism::Xoauth2);
    let provider = Provider::from_settings(&settings).unwrap();
    let account = oauth::account(stack, OAUTH_USER, settings);
    let rt = runtime();

    let grant = rt.block_on(async {
        let sign_in = SignIn::start(provider.clone(), OAUTH_USER).await.unwrap();
        assert!(sign_in.url().contains("code_challenge_method=S256"), "{}", sign_in.url());
        let mut browser = oauth::browse(sign_in.url(), &[]);
        let grant = sign_in.finish().await.unwrap();
        assert!(browser.wait().unwrap().success());
        grant
    });
    assert!(grant.refresh_token.is_some());
    assert_eq!(server.stats()["codes"], 1);

    // A login with a token the server refuses (expired; its expiry was
    // not known): refreshed once, and in.
    let mut stale = grant.clone();
    stale.access_token = Secret::new(oauth::mint(stack, OAUTH_USER, -5));
    stale.expires_at = None;
    stale.refresh_after = None;
    let source = |grant: Grant| {
        let source = TokenSource::new(
            OAUTH_USER,
            Some(provider.clone()),
            Mechanism::Xoauth2,
            grant,
            None,
            session::https(),
        );
        Login::OAuth2(Arc::new(source))
    };
    let (smtp, imap) = rt.block_on(log_in(&account, &source(stale.clone())));
    assert_eq!(smtp, Ok(()));
    assert!(imap.is_ok(), "{imap:?}");
    // SMTP and IMAP logged in at once with one token source: the one
    // refused second found the token refreshed already.
    assert_eq!(server.stats()["refreshes"], 1, "one refresh for both logins");

    // Revoked: the refresh is refused with invalid_grant.
    server.revoke_user(OAUTH_USER);
    let (smtp, imap) = rt.block_on(log_in(&account, &source(stale)));
    let smtp = smtp.unwrap_err();
    assert!(smtp.needs_sign_in(), "{smtp}");
    assert!(smtp.to_string().contains("revoked or has expired: sign in again"), "{smtp}");
    assert!(matches!(imap, Err(imap::ImapError::OAuth(OAuthError::SignInAgain { .. }))), "{imap:?}");

    // A sign-in declined in the browser, and one cancelled.
    rt.block_on(async {
        let sign_in = SignIn::start(provider.clone(), OAUTH_USER).await.unwrap();
        let mut browser = oauth::browse(sign_in.url(), &[("BROWSER_CONFIRM", "no")]);
        let declined = sign_in.finish().await.unwrap_err();
        let _ = browser.wait();
        assert!(matches!(declined, OAuthError::Declined { .. }), "{declined}");
        let limits = Limits { total: Duration::from_secs(60), ..Limits::default() };
        let sign_in =
            SignIn::start_with(provider.clone(), OAUTH_USER, session::https(), limits).await.unwrap();
        let cancel = sign_in.canceller();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cancel.cancel();
        });
        assert_eq!(sign_in.finish().await.unwrap_err(), OAuthError::Cancelled);
    });
    measured("sign-in, refresh, revocation", started);
}

fn add_oauth_account(
    stack: &MailStack,
    server: &AuthServer,
    home: &Path,
    address: &str,
    mechanism: Mechanism,
) -> String {
    let mut args = processes::account_add_args(stack, address);
    args.extend(server.add_args(mechanism));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = processes::command(MAILPAY, home, &args)
        .env("MAILPAY_BROWSER", oauth::browser_command())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "account add --oauth:\n{text}");
    text
}

fn stored_grant() -> Result<Grant, OAuthError> {
    store::load(&Keyring::system().unwrap(), OAUTH_USER)
}

/// (a) `mailpay account add --oauth`: the browser consents, the code is
/// exchanged with PKCE, the refresh token is in the keyring and not in
/// config.toml; `account test` logs in with it; `account remove` deletes it.
#[test]
fn account_add_oauth_signs_in_in_the_browser_and_keeps_the_grant_in_the_keyring() {
    if !in_session_keyring("account_add_oauth_signs_in_in_the_browser_and_keeps_the_grant_in_the_keyring") {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    let server = AuthServer::start(stack, 600, &[OAUTH_USER]);
    let home = processes::temp_dir("oauth-add").join("home");
    let text = add_oauth_account(stack, &server, &home, OAUTH_USER, Mechanism::Oauthbearer);
    assert!(
        text.contains("http://127.0.0.1:") && text.contains("code_challenge="),
        "the URL is shown:\n{text}"
    );
    assert!(text.contains("signed in; the sign-in is kept in the kernel keyutils"), "{text}");
    assert_eq!(server.stats()["codes"], 1);

    let grant = stored_grant().unwrap();
    let refresh = grant.refresh_token.clone().unwrap();
    let config = std::fs::read_to_string(home.join("config/config.toml")).unwrap();
    assert!(
        config.contains("auth = \"oauth2\"") && config.contains("mechanism = \"oauthbearer\""),
        "{config}"
    );
    assert!(!config.contains(refresh.expose()) && !config.contains(grant.access_token.expose()), "{config}");
    assert!(
        Keyring::system().unwrap().password(OAUTH_USER).is_err(),
        "no password entry: the grant has its own"
    );

    let tested = ok(MAILPAY, &home, &["account", "test"]);
    assert!(tested.contains("SMTP localhost") && tested.matches("login OK").count() == 2, "{tested}");
    let listed = ok(MAILPAY, &home, &["account", "list"]);
    assert!(listed.contains("OAuth2"), "{listed}");

    ok(MAILPAY, &home, &["account", "remove", OAUTH_USER]);
    assert!(matches!(stored_grant(), Err(OAuthError::NoRefreshToken { .. })));

    // Declined in the browser: nothing is kept.
    let mut args = processes::account_add_args(stack, OAUTH_USER);
    args.extend(server.add_args(Mechanism::Xoauth2));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = processes::command(MAILPAY, &home, &args)
        .env("MAILPAY_BROWSER", oauth::browser_command())
        .env("BROWSER_CONFIRM", "no")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("declined"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stored_grant().is_err());

    // A provider without a client id says so.
    let out = run(MAILPAY, &home, &["account", "add", "someone@gmail.com", "--oauth"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if mailpay::oauth::provider::built_in(mailpay::oauth::ProviderKind::Google).is_none() {
        assert!(!out.status.success() && stderr.contains("app password"), "{stderr}");
    }
    measured("account add --oauth, test, remove", started);
}

/// (c) A payment to settled with the orderer on OAuth2 (XOAUTH2, its
/// grant from the keyring), and the agents on OAuth2 too: the bank with the
/// grant `mailpay account add --oauth` kept in the keyring, the merchant
/// with a refresh token from `--token-file`.
#[test]
fn a_payment_settles_with_the_orderer_on_oauth2() {
    if !in_session_keyring("a_payment_settles_with_the_orderer_on_oauth2") {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    let server = AuthServer::start(stack, 600, &[OAUTH_USER, "bank@bank.test", "shop@shop.test"]);
    let world = World::new(stack, "oauth-pay", 0);
    world.bank(&["open-account", OAUTH_USER, "--initials", "O.A."]);
    world.bank(&["set-balance", OAUTH_USER, "5000", "JPY"]);
    let home = world.dir.join("oauth-orderer");
    add_oauth_account(stack, &server, &home, OAUTH_USER, Mechanism::Xoauth2);

    // The bank signs in once, as its operator would, then runs from the keyring.
    add_oauth_account(stack, &server, &world.dir.join("bank-operator"), "bank@bank.test", Mechanism::Xoauth2);
    std::fs::write(
        &world.bank_toml,
        format!(
            "data_dir = \"{}\"\nboard_grace_seconds = 2\n{}",
            world.dir.join("bank-data").display(),
            oauth::agent_account_toml(stack, "bank@bank.test", &server)
        ),
    )
    .unwrap();
    let bank_log = world.dir.join("bank.log");
    let _bank = spawn_agent(processes::BANK, &world, &world.bank_toml, &[], &bank_log);

    // The merchant: a refresh token in a file (from a sign-in elsewhere).
    add_oauth_account(
        stack,
        &server,
        &world.dir.join("shop-operator"),
        "shop@shop.test",
        Mechanism::Oauthbearer,
    );
    let refresh = store::load(&Keyring::system().unwrap(), "shop@shop.test").unwrap().refresh_token.unwrap();
    store::delete(&Keyring::system().unwrap(), "shop@shop.test").unwrap();
    std::fs::write(
        &world.shop_toml,
        format!(
            "bank = \"bank@bank.test\"\ndata_dir = \"{}\"\nboard_listen = \"off\"\n{}",
            world.dir.join("shop-data").display(),
            oauth::agent_account_toml(stack, "shop@shop.test", &server)
        ),
    )
    .unwrap();
    let token =
        oauth::token_file(&world.dir, "shop@shop.test", &format!("refresh_token={}", refresh.expose()));
    let shop_toml = world.shop_toml.to_str().unwrap();
    let password = world.shop_password.to_str().unwrap();
    let refused = run(
        processes::MERCHANT,
        &world.dir,
        &["--config", shop_toml, "run", "--password-file", password],
        "",
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("--token-file"), "{stderr}");
    let shop_log = world.dir.join("shop.log");
    let _shop = spawn_agent(
        processes::MERCHANT,
        &world,
        &world.shop_toml,
        &["--token-file", token.to_str().unwrap()],
        &shop_log,
    );
    let refreshes = server.stats()["refreshes"].as_u64().unwrap();

    let placed = ok(
        MAILPAY,
        &home,
        &order_args("shop@shop.test", "bank@bank.test", "1200 JPY", &["--item", "2 x Green tea @ 600 JPY"]),
    );
    assert!(placed.contains("accepted"), "{placed}");
    let order = order_id(&placed);
    processes::watch_until(&home, &order, "awaiting-confirmation");
    ok(MAILPAY, &home, &["approve", &order]);
    processes::watch_until(&home, &order, "-> settled");
    let payments = world.bank(&["payments"]);
    assert!(
        payments.lines().any(|l| l.starts_with(&order.replace('-', "")) && l.contains("settled")),
        "{payments}"
    );
    assert!(
        server.stats()["refreshes"].as_u64().unwrap() > refreshes,
        "the merchant's refresh token was used:\n{}",
        std::fs::read_to_string(&shop_log).unwrap_or_default()
    );
    // No token in anything the programs printed or logged.
    let orderer = store::load(&Keyring::system().unwrap(), OAUTH_USER).unwrap();
    let tokens = [Some(refresh.expose()), orderer.refresh_token.as_ref().map(|t| t.expose())];
    let tokens: Vec<&str> = tokens
        .into_iter()
        .flatten()
        .chain([orderer.access_token.expose()])
        .filter(|t| !t.is_empty())
        .collect();
    assert!(tokens.len() >= 2, "the test knows the tokens it looks for");
    let printed = [
        placed.clone(),
        std::fs::read_to_string(&bank_log).unwrap(),
        std::fs::read_to_string(&shop_log).unwrap(),
        std::fs::read_to_string(home.join("config/config.toml")).unwrap_or_default(),
    ];
    for text in &printed {
        assert!(!tokens.iter().any(|t| text.contains(t)), "a token was printed or logged:\n{text}");
    }
    measured("payment to settled on OAuth2", started);
}

/// Starts an agent's `run` with `--config toml` and `extra`, its output to `log`.
fn spawn_agent(program: &str, world: &World, toml: &Path, extra: &[&str], log: &Path) -> Agent {
    let mut args = vec!["--config", toml.to_str().unwrap(), "run"];
    args.extend_from_slice(extra);
    let file = std::fs::File::create(log).unwrap();
    Agent(
        processes::command(program, &world.dir, &args)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
    )
}

/// (d) The access token expires while `mailpay watch` runs: the session
/// the server ends is opened again with a refreshed token, and a mail
/// sent after the expiry goes out on a refreshed token too.
#[test]
fn the_token_expires_mid_watch_and_is_refreshed() {
    if !in_session_keyring("the_token_expires_mid_watch_and_is_refreshed") {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    let lifetime = 6;
    let server = AuthServer::start(stack, lifetime, &[OAUTH_USER]);
    let dir = processes::temp_dir("oauth-watch");
    let home = dir.join("home");
    add_oauth_account(stack, &server, &home, OAUTH_USER, Mechanism::Xoauth2);
    let log = dir.join("watch.log");
    let _watch = Agent(
        processes::command(MAILPAY, &home, &["watch"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    processes::wait_for_text(&log, "watching oauth@buyer.test", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(lifetime + 1));
    assert_eq!(server.stats()["refreshes"], 0, "the session outlives its token");
    stack.kick(OAUTH_USER);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("watching oauth@buyer.test").count() >= 2 {
            assert!(text.contains("disconnected"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "the watch did not log in again:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.stats()["refreshes"], 1, "{}", std::fs::read_to_string(&log).unwrap());
    // The refreshed grant was kept: a new program run uses it.
    let kept = stored_grant().unwrap();
    assert!(kept.expires_at.unwrap() > session::now());

    // A mail after the expiry: refreshed before the login.
    std::thread::sleep(Duration::from_secs(lifetime + 1));
    let placed = ok(MAILPAY, &home, &order_args("shop@shop.test", "bank@bank.test", "100 JPY", &[]));
    assert!(placed.contains("order to shop@shop.test: accepted"), "{placed}");
    assert!(server.stats()["refreshes"].as_u64().unwrap() >= 2);
    measured("watch across a token expiry", started);
}

/// (e) A revoked grant: `mailpay order` says to sign in again and the
/// placed mails wait in the outbox (not failed for good); after signing in
/// again, `mailpay retry` sends them.
#[test]
fn a_revoked_grant_says_sign_in_again_and_the_mails_wait_in_the_outbox() {
    if !in_session_keyring("a_revoked_grant_says_sign_in_again_and_the_mails_wait_in_the_outbox") {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    let lifetime = 4;
    let server = AuthServer::start(stack, lifetime, &[OAUTH_USER]);
    let dir = processes::temp_dir("oauth-revoked");
    let home = dir.join("home");
    add_oauth_account(stack, &server, &home, OAUTH_USER, Mechanism::Xoauth2);
    std::thread::sleep(Duration::from_secs(lifetime + 1));
    server.revoke_user(OAUTH_USER);

    let out = run(MAILPAY, &home, &order_args("shop@shop.test", "bank@bank.test", "300 JPY", &[]), "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("sign in again"), "{text}");
    assert!(text.contains("wait in MailPay's outbox"), "{text}");
    let order = order_id(&text);
    // Both mails wait, as failed for now (not for good): the payment
    // stands until `mailpay retry`.
    let db = rusqlite::Connection::open(home.join("data/mailpay.sqlite3")).unwrap();
    let waiting: i64 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE replace(order_id, '-', '') = replace(?1, '-', '') \
             AND sent_at IS NULL AND failed_temporarily = 1",
            [&order],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waiting, 2, "the order and the payment request wait in the outbox:\n{text}");

    // Signed in again: the mails leave.
    add_oauth_account(stack, &server, &home, OAUTH_USER, Mechanism::Xoauth2);
    let retried = ok(MAILPAY, &home, &["retry", &order]);
    assert!(retried.contains("accepted"), "{retried}");
    measured("revoked grant, outbox, retry", started);
}

/// The watcher's next report, within 30 s.
async fn next_report(
    reports: &mut std::pin::Pin<Box<dyn iced::futures::Stream<Item = mailpay::ui::watch::Report> + Send>>,
) -> mailpay::ui::watch::Report {
    use iced::futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(30), reports.next()).await.unwrap().unwrap()
}

/// Every text a view shows.
fn texts<M>(view: iced::Element<'_, M>) -> Vec<String> {
    app_driver::texts(&mut iced_test::simulator(view))
}

/// (e) The app: the account screen's "Sign in again" signs in in the
/// (scripted) browser, the grant goes to the keyring and the account to
/// config.toml with auth oauth2; the wallet opened again logs in with it
/// (Test, the inbox watcher, a payment's mails); once the grant is revoked
/// and the token has expired, the watcher stops, a payment's mails wait in
/// the outbox, and the banner leads to signing in again, after which the
/// retry sends them.
#[test]
fn the_app_signs_in_sends_and_watches_with_the_grant_and_asks_again_once_revoked() {
    use iced::futures::StreamExt;
    use mailpay::i18n::{Lang, Tr};
    use mailpay::paths::Paths;
    use mailpay::protocol::{Method, OrderId};
    use mailpay::store::book::{Bank, Merchant};
    use mailpay::ui::app::{App, Message, Nav, Screen};
    use mailpay::ui::backend::{self, Home, SignInEvent};
    use mailpay::ui::screen::{account, new_payment};
    use mailpay::ui::watch::{self, Report};
    use support::app_driver;

    let name = "the_app_signs_in_sends_and_watches_with_the_grant_and_asks_again_once_revoked";
    if !processes::in_session_keyring_with(name, &[("MAILPAY_BROWSER", &oauth::browser_command())]) {
        return;
    }
    let started = Instant::now();
    let stack = mailstack::shared();
    // Tokens of 4 s, so that a revoked grant shows soon.
    let server = AuthServer::start(stack, 4, &[OAUTH_USER]);
    let account = oauth::account(stack, OAUTH_USER, server.settings(Mechanism::Xoauth2));
    let dir = processes::temp_dir("oauth-app");
    let home = Home::open(Paths::under(&dir)).unwrap();
    let tr = Tr::new(Lang::En);
    let rt = runtime();

    // The account screen, on an account kept with OAuth2: Sign in again.
    let mut screen = account::State::editing(&account);
    let seen = texts(screen.view(&tr));
    assert!(seen.iter().any(|t| t == &format!("Signed in with {}", server.issuer)), "{seen:?}");
    let mut ui = iced_test::simulator(screen.view(&tr));
    ui.click("Sign in again").expect("Sign in again is on screen");
    let clicked: Vec<account::Message> = ui.into_messages().collect();
    let mut actions = clicked.into_iter().map(|m| screen.update(m));
    let Some(account::Action::SignIn(to_sign_in, provider)) = actions.next() else {
        panic!("the click starts a sign-in");
    };
    assert!(matches!(screen.sign_in_status(), account::SignInStatus::Starting));

    let saved = rt.block_on(async {
        let mut events = Box::pin(backend::sign_in(home.clone(), to_sign_in, provider));
        let mut saved = None;
        while let Some(event) = tokio::time::timeout(Duration::from_secs(60), events.next()).await.unwrap() {
            match event {
                SignInEvent::Waiting { url, browser, canceller } => {
                    assert_eq!(browser, None, "the scripted browser starts");
                    assert!(url.starts_with(&server.auth_url()), "{url}");
                    let _ = screen.update(account::Message::SignInWaiting {
                        url: url.clone(),
                        browser,
                        canceller,
                    });
                    let seen = texts(screen.view(&tr));
                    assert!(
                        seen.iter().any(|t| t == "Waiting for you to sign in in your browser…"),
                        "{seen:?}"
                    );
                    assert!(seen.iter().any(|t| t == "Cancel"), "{seen:?}");
                }
                SignInEvent::Failed(e) => panic!("the sign-in failed: {e}"),
                SignInEvent::Saved(result) => saved = Some(result.unwrap()),
            }
        }
        saved.expect("the sign-in ends with the account kept")
    });
    let _ = screen.update(account::Message::Saved(Ok(())));
    let seen = texts(screen.view(&tr));
    assert!(seen.iter().any(|t| t == "Signed in; MailPay keeps the sign-in in your OS keyring."), "{seen:?}");
    assert_eq!(server.stats()["codes"], 1);

    // In the keyring, not in the file.
    let grant = stored_grant().unwrap();
    let refresh = grant.refresh_token.clone().expect("a refresh token");
    let config = std::fs::read_to_string(Paths::under(&dir).config_file()).unwrap();
    assert!(config.contains("auth = \"oauth2\"") && config.contains(OAUTH_USER), "{config}");
    assert!(!config.contains(refresh.expose()) && !config.contains(grant.access_token.expose()), "{config}");
    assert_eq!(saved.0.accounts.len(), 1);

    // The wallet opened again: its session logs in with the grant.
    let loaded = rt.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert_eq!(loaded.keyring_problem, None);
    let session = loaded.sessions.first().cloned().expect("a session for the OAuth2 account");
    let report = rt.block_on(backend::test_saved(session.account.clone()));
    assert_eq!((report.smtp.clone(), report.imap.clone()), (Ok(()), Ok(())), "{report:?}");

    let mut app = App::new(Lang::En, None);
    rt.block_on(async {
        app_driver::send(&mut app, Message::Loaded(Ok(loaded))).await;
        let mut reports = watch::stream(home.clone(), session.clone());
        let connected = next_report(&mut reports).await;
        assert!(matches!(connected, Report::Connected { .. }), "{connected:?}");

        // A payment from the app: its mails go out over SMTP with the grant.
        let bank = Bank {
            address: "bank2@bank2.test".parse().unwrap(),
            name: "Bank".into(),
            age_recipient: None,
            account_ref: "001".into(),
        };
        backend::save_bank(home.clone(), bank).await.unwrap();
        let shop = Merchant {
            address: "shop2@shop2.test".parse().unwrap(),
            name: "Shop".into(),
            bank: Some("bank2@bank2.test".parse().unwrap()),
            board: None,
            figures: vec![Method::Confirm],
        };
        let book = backend::save_merchant(home.clone(), shop).await.unwrap();
        app_driver::send(&mut app, Message::BookSaved(Ok(book))).await;
        let pay = async |app: &mut App, amount: &str| -> (OrderId, Vec<new_payment::MailStatus>) {
            app_driver::send(app, Message::Nav(Nav::Pay)).await;
            for m in [
                new_payment::Message::Merchant("shop2@shop2.test".into()),
                new_payment::Message::Bank("bank2@bank2.test".into()),
                new_payment::Message::Amount(amount.into()),
                new_payment::Message::Pay,
            ] {
                app_driver::send(app, Message::Pay(m)).await;
            }
            let Screen::Pay(form) = app.screen() else { panic!("still on New payment") };
            let new_payment::Stage::Sending { order, mails } = form.stage() else {
                panic!("not sending: {:?}", form.stage())
            };
            (order.clone(), mails.iter().map(|m| m.status.clone()).collect())
        };
        let (_, sent) = pay(&mut app, "1200").await;
        assert!(!sent.is_empty() && sent.iter().all(|s| *s == new_payment::MailStatus::Accepted), "{sent:?}");

        // Revoked, and the token expired: the next login needs a sign-in.
        server.revoke_user(OAUTH_USER);
        tokio::time::sleep(Duration::from_secs(6)).await;
        stack.kick(OAUTH_USER);
        let report = loop {
            match next_report(&mut reports).await {
                Report::Disconnected { .. } | Report::Connected { .. } => continue,
                other => break other,
            }
        };
        assert!(matches!(report, Report::SignInAgain(_)), "{report:?}");
        let address = session.account.address.clone();
        app_driver::send(&mut app, Message::Watch(address.clone(), report)).await;
        let banner = app.banner().expect("a banner");
        assert_eq!(banner.sign_in.as_ref(), Some(&address), "{banner:?}");
        assert!(banner.text.contains("sign in again"), "{banner:?}");
        assert_eq!(app.watch_status(&address), Some("Sign in again to watch the inbox"));

        // A payment now: its mails wait in the outbox, and the banner asks
        // for a sign-in.
        app_driver::send(&mut app, Message::DismissBanner).await;
        let (order, sent) = pay(&mut app, "800").await;
        assert!(sent.iter().all(|s| *s != new_payment::MailStatus::Accepted), "{sent:?}");
        let banner = app.banner().expect("a banner after the failed send");
        assert_eq!(banner.sign_in.as_ref(), Some(&address), "{banner:?}");
        let queued = backend::pending(home.clone(), order.clone()).await.unwrap();
        assert!(!queued.is_empty(), "the mails wait in the outbox");

        // The banner's button, then the account screen's Sign in again
        // (the scripted browser consents): the retry sends them.
        app_driver::send(&mut app, Message::SignInAgain(address.clone())).await;
        let Screen::Account(screen) = app.screen() else { panic!("the banner leads to the account screen") };
        assert!(texts(screen.view(&tr)).iter().any(|t| t == "Sign in again"));
        let seen = app_driver::send(&mut app, Message::Account(account::Message::SignIn)).await;
        let Screen::Account(screen) = app.screen() else { panic!("still on the account screen") };
        assert!(
            texts(screen.view(&tr))
                .iter()
                .any(|t| t == "Signed in; MailPay keeps the sign-in in your OS keyring."),
            "{seen:?}"
        );
        assert!(app.banner().is_none_or(|b| b.sign_in.is_none()), "the sign-in banner is gone");
        let retried = backend::retry(home.clone(), app.sessions().to_vec(), order.clone()).await.unwrap();
        assert!(!retried.is_empty() && retried.iter().all(|s| s.result.is_ok()), "{retried:?}");
        assert!(backend::pending(home.clone(), order).await.unwrap().is_empty());
    });
    measured("the app's sign-in, login and sign-in again", started);
}
