#![allow(clippy::unwrap_used)]
use super::found::{host_of, source_line};
use super::*;
use crate::autoconfig::Source;

#[test]
fn servers_follow_the_address_until_edited() {
    let mut state = State::default();
    let _ = state.update(Message::Address("taro@gmail.com".into()));
    assert_eq!(state.imap_host, "imap.gmail.com");
    let _ = state.update(Message::ImapHost("mail.example.jp".into()));
    let _ = state.update(Message::Address("taro@example.org".into()));
    assert_eq!(state.imap_host, "mail.example.jp", "an edited server is kept");
    let _ = state.update(Message::SmtpPort("0".into()));
    assert!(state.account().unwrap_err().contains("port"));
}

#[test]
fn through_thunderbird_the_address_is_all_and_no_password_is_asked() {
    let mut state = State::default();
    let _ = state.update(Message::Address("taro@example.jp".into()));
    let _ = state.update(Message::Route(Route::Thunderbird));
    // Even servers typed wrong do not stop it: they are not used.
    let _ = state.update(Message::SmtpPort("0".into()));
    assert!(matches!(state.update(Message::Test), Action::None), "no servers to test");
    let Action::SaveThroughThunderbird(account) = state.update(Message::Save) else {
        panic!("Save keeps the account through Thunderbird");
    };
    assert_eq!(account.route, Route::Thunderbird);
    assert_eq!(account.address.as_str(), "taro@example.jp");
    assert_eq!(account.smtp.port, 465, "the servers as guessed");
    // Shown again as it was kept.
    assert_eq!(State::editing(&account).route(), Route::Thunderbird);
    assert_eq!(State::editing(&Account::guess(account.address.clone())).route(), Route::Servers);
}

fn texts(view: Element<'_, Message>) -> Vec<String> {
    let mut ui = iced_test::simulator(view);
    let mut seen = Vec::new();
    let _ = ui.find(|candidate: iced_test::selector::Candidate<'_>| {
        if let iced_test::selector::Candidate::Text { content, .. } = candidate {
            seen.push(content.to_string());
        }
        None::<()>
    });
    seen
}

/// What the lookup might answer for `address`: servers on `host`.
fn found(address: &str, host: &str, source: Source) -> Box<Discovery> {
    let mut account = Account::guess(address.parse().unwrap());
    account.imap.host = format!("imap.{host}");
    account.smtp.host = format!("smtp.{host}");
    Box::new(Discovery {
        account,
        source,
        sign_in: vec![crate::autoconfig::SignIn::Password],
        provider_name: None,
        quirks: Vec::new(),
        failures: vec![crate::autoconfig::Failure {
            asked: "https://autoconfig.example.org/mail/config-v1.1.xml".into(),
            reason: "no answer".into(),
        }],
    })
}

#[test]
fn a_gmail_address_is_filled_from_the_list_at_once_and_signs_in_with_google() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut state = State::default();
    let action = state.update(Message::Address("taro@gmail.com".into()));
    assert!(matches!(action, Action::None), "found in the list: no lookup over the network");
    assert!(!state.looking_up());
    assert!(
        matches!(&state.discovery().unwrap().source, Source::Bundled { provider } if provider.contains("Gmail"))
    );
    assert_eq!(state.imap_host, "imap.gmail.com");
    let seen = texts(state.view(&tr));
    assert!(seen.iter().any(|t| t.starts_with("Found in MailPay's list of providers: Gmail")), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Sign in with Google"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Use an app password instead"), "{seen:?}");
    assert!(!seen.iter().any(|t| t == "Password"), "no password field before asked: {seen:?}");
    // The app password instead: the password field, and the way back.
    let _ = state.update(Message::UsePassword(true));
    let seen = texts(state.view(&tr));
    assert!(seen.iter().any(|t| t == "Password"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Sign in with Google"), "{seen:?}");
    let ja = texts(state.view(&Tr::new(crate::i18n::Lang::Ja)));
    assert!(ja.iter().any(|t| t.starts_with("MailPay のプロバイダー一覧にありました")), "{ja:?}");
}

#[test]
fn an_unknown_domain_is_looked_up_once_the_address_settles_and_says_it_is_a_guess() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut state = State::default();
    let Action::Settle(typed) = state.update(Message::Address("taro@example.org".into())) else {
        panic!("not in the list: the lookup waits for the address to settle");
    };
    let Action::Discover(asked, address) = state.update(Message::Settled(typed.clone())) else {
        panic!("settled: the lookup runs");
    };
    assert_eq!((asked.as_str(), address.as_str()), ("taro@example.org", "taro@example.org"));
    assert!(state.looking_up());
    assert!(texts(state.view(&tr)).iter().any(|t| t == "Looking up the mail servers…"));
    let _ = state.update(Message::Discovered(typed, found("taro@example.org", "example.org", Source::Guess)));
    assert!(!state.looking_up());
    let seen = texts(state.view(&tr));
    assert!(seen.iter().any(|t| t == "Guessed from the domain — check them"), "{seen:?}");
    assert!(seen.iter().any(|t| t.contains("autoconfig.example.org") && t.contains("no answer")), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Password"), "no sign-in offered: {seen:?}");
}

#[test]
fn an_edited_server_is_not_overwritten_by_a_late_lookup() {
    let mut state = State::default();
    let Action::Settle(typed) = state.update(Message::Address("taro@example.org".into())) else {
        panic!("the lookup waits for the address to settle");
    };
    let _ = state.update(Message::Settled(typed.clone()));
    let _ = state.update(Message::ImapHost("mail.mine.example".into()));
    let late = found("taro@example.org", "elsewhere.example", Source::Srv);
    let _ = state.update(Message::Discovered(typed, late));
    assert_eq!(state.imap_host, "mail.mine.example", "the user's server stays");
    assert_eq!(state.smtp_host, "smtp.example.org", "and the rest as it was");
    assert!(state.discovery().is_none());
    assert!(!state.looking_up());
    // Edited: a later address does not start a lookup at all.
    assert!(matches!(state.update(Message::Address("taro@example.net".into())), Action::None));
}

#[test]
fn a_lookup_for_an_address_no_longer_typed_is_ignored() {
    let mut state = State::default();
    let Action::Settle(old) = state.update(Message::Address("taro@example.org".into())) else {
        panic!("the lookup waits for the address to settle");
    };
    let _ = state.update(Message::Settled(old.clone()));
    let Action::Settle(new) = state.update(Message::Address("taro@example.net".into())) else {
        panic!("a new address waits again");
    };
    assert!(!state.looking_up(), "the old lookup is no longer awaited");
    let stale = found("taro@example.org", "old.example", Source::Srv);
    let _ = state.update(Message::Discovered(old.clone(), stale));
    assert_eq!(state.imap_host, "imap.example.net", "the stale answer changed nothing");
    assert!(state.discovery().is_none());
    // A settle timer of the old address does nothing either.
    assert!(matches!(state.update(Message::Settled(old)), Action::None));
    assert!(matches!(state.update(Message::Settled(new)), Action::Discover(..)));
}

#[test]
fn signing_in_without_a_registration_says_so_and_offers_the_app_password() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut state = State::default();
    let _ = state.update(Message::Address("taro@gmail.com".into()));
    let action = state.update(Message::SignIn);
    if crate::oauth::provider::built_in(crate::oauth::ProviderKind::Google).is_some() {
        let Action::SignIn(account, provider) = action else { panic!("this build can sign in with Google") };
        assert_eq!(account.auth, Auth::OAuth2);
        assert_eq!(provider.kind, crate::oauth::ProviderKind::Google);
        return;
    }
    assert!(matches!(action, Action::None), "nothing to start");
    assert!(
        matches!(state.sign_in_status(), SignInStatus::Failed(SignInProblem::NoClientId(p)) if p == "Google")
    );
    let seen = texts(state.view(&tr));
    assert!(
        seen.iter().any(|t| t.starts_with("This build of MailPay has no registration with Google")
            && t.contains("app password")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|t| t == "Use an app password instead"), "{seen:?}");
}

#[test]
fn a_kept_oauth2_account_says_signed_in_and_tests_with_the_keyring() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut account = Account::guess("taro@gmail.com".parse().unwrap());
    account.auth = Auth::OAuth2;
    account.oauth2 = Some(Box::new(OAuth2Settings::of(crate::oauth::ProviderKind::Google)));
    account.ca_file = Some("/etc/mailpay/ca.pem".into());
    let mut state = State::editing(&account);
    let seen = texts(state.view(&tr));
    assert!(seen.iter().any(|t| t == "Signed in with Google"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Sign in again"), "{seen:?}");
    let Action::TestSaved(tested) = state.update(Message::Test) else {
        panic!("Test uses what the keyring keeps");
    };
    assert_eq!(tested.auth, Auth::OAuth2);
    assert!(tested.oauth2.is_some());
    assert_eq!(tested.ca_file, account.ca_file, "the account's CA stays");
}

#[test]
fn a_kept_password_account_of_a_listed_provider_shows_the_password_and_offers_the_sign_in() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut account = Account::guess("taro@gmail.com".parse().unwrap());
    account.imap.host = "imap.mine.example".into();
    let mut state = State::editing(&account);
    let seen = texts(state.view(&tr));
    assert!(seen.iter().any(|t| t == "Password"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "Sign in with Google"), "{seen:?}");
    assert_eq!(state.imap_host, "imap.mine.example", "the servers as kept");
    // Another address: what was found for Gmail no longer applies.
    let _ = state.update(Message::Address("taro@example.org".into()));
    assert!(state.discovery().is_none());
    assert!(!texts(state.view(&tr)).iter().any(|t| t == "Sign in with Google"));
}

#[test]
fn a_cancelled_or_declined_sign_in_is_said_in_words() {
    let tr = Tr::new(crate::i18n::Lang::En);
    let mut state = State::default();
    let _ = state.update(Message::Address("taro@gmail.com".into()));
    let _ = state.update(Message::SignInFailed(OAuthError::Declined { reason: "access_denied".into() }));
    assert!(
        texts(state.view(&tr)).iter().any(|t| t == "The sign-in was declined in the browser: access_denied")
    );
    let _ = state.update(Message::SignInFailed(OAuthError::TimedOut { minutes: 5 }));
    assert!(texts(state.view(&tr)).iter().any(|t| t.starts_with("No answer came from the browser in time")));
    let _ = state.update(Message::CancelSignIn);
    assert!(texts(state.view(&tr)).iter().any(|t| t == "The sign-in was cancelled."));
}

#[test]
fn the_source_says_the_host_of_what_was_asked() {
    assert_eq!(host_of("https://autoconfig.example.com/mail/config-v1.1.xml?x=1"), "autoconfig.example.com");
    assert_eq!(host_of("example.com"), "example.com");
    let tr = Tr::new(crate::i18n::Lang::En);
    let url = "https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=taro%40example.com";
    let line = |source| strip_isolation(&source_line(&tr, &source));
    assert_eq!(line(Source::Autoconfig { url: url.into() }), "Published by example.com (autoconfig)");
    assert_eq!(line(Source::Srv), "From the domain's DNS (SRV)");
    let mx = Source::Mx {
        mx_host: "example-com.mail.protection.outlook.com".into(),
        provider: "Microsoft 365".into(),
    };
    assert_eq!(line(mx), "Its mail is handled by Microsoft 365");
    assert_eq!(line(Source::Guess), "Guessed from the domain — check them");
}

/// Fluent's bidi isolation marks around arguments, if any.
fn strip_isolation(text: &str) -> String {
    text.replace(['\u{2068}', '\u{2069}'], "")
}

#[test]
fn password_never_shows_in_debug() {
    let text = format!("{:?}", Message::Password("hunter2".into()));
    assert!(!text.contains("hunter2"));
}
