//! Every message id of the English fallback exists in every other language,
//! and every rejection reason, payment state and mail kind has a translation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use mailpay::protocol::reason::RejectReason;

fn ids(lang: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("i18n").join(lang).join("mailpay.ftl");
    let text = std::fs::read_to_string(&path).expect("translation file is readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
        .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_string()))
        .collect()
}

#[test]
fn every_language_has_every_message() {
    let english = ids("en");
    let translations = ["ja"];
    for lang in translations {
        let other = ids(lang);
        let missing: Vec<_> = english.difference(&other).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        let extra: Vec<_> = other.difference(&english).collect();
        assert!(extra.is_empty(), "{lang} has ids English lacks: {extra:?}");
    }
}

#[test]
fn every_reason_and_state_is_translated() {
    let english = ids("en");
    for reason in RejectReason::ALL {
        assert!(english.contains(&format!("reason-{}", reason.code())), "no text for {reason}");
    }
    for state in mailpay::protocol::payment::State::NAMES {
        assert!(english.contains(&format!("state-{state}")), "no text for state {state}");
    }
    // The timeline names every kind of mail, bounces included.
    for kind in mailpay::protocol::Kind::ALL.map(|k| k.as_str()).into_iter().chain(["bounce"]) {
        assert!(english.contains(&format!("kind-{kind}")), "no text for mail kind {kind}");
    }
}
