//! Translations: Fluent files under `i18n/<lang>/mailpay.ftl`, embedded in
//! the binary. [`tr!`](crate::tr) looks a message up and is checked at
//! compile time against the English file (the fallback), so a typo in a
//! message id does not build. Each wallet window owns its [`Tr`]; there is
//! no global language, so tests in parallel can use different ones.
//! Times and amounts are written as the language writes them
//! ([`format`]), in the time zone of the [`Tr`].

use i18n_embed::LanguageLoader;
use i18n_embed::fluent::{FluentLanguageLoader, fluent_language_loader};
use jiff::tz::TimeZone;
use rust_embed::RustEmbed;

use crate::protocol::{Money, Timestamp};

pub mod format;

#[derive(RustEmbed)]
#[folder = "i18n/"]
struct Files;

/// The languages the wallet speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language's own name, shown in the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_', '.']).next().unwrap_or_default().to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first of the system's preferred languages that the wallet has;
    /// English otherwise.
    pub fn system() -> Lang {
        i18n_embed::DesktopLanguageRequester::requested_languages()
            .iter()
            .find_map(|id| Lang::from_code(id.language.as_str()))
            .unwrap_or(Lang::En)
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.native_name())
    }
}

/// A loaded language, with the time zone and the clock its times are
/// written in.
pub struct Tr {
    loader: FluentLanguageLoader,
    lang: Lang,
    zone: TimeZone,
    /// Where the clock was stopped, if it was (tests); else the wall clock.
    stopped_at: Option<Timestamp>,
}

/// The system's time zone, read once for every window.
fn system_zone() -> &'static TimeZone {
    static ZONE: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(TimeZone::system)
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tr({}, {})", self.lang.code(), self.zone.iana_name().unwrap_or("fixed offset"))
    }
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        let loader = fluent_language_loader!();
        let wanted: Vec<_> = [lang.code(), "en"].iter().filter_map(|c| c.parse().ok()).collect();
        // The files are embedded and checked by tests/i18n.rs: a failure
        // here leaves the ids themselves on screen, never a crash.
        let _ = loader.load_languages(&Files, &wanted);
        // Unicode isolation marks around arguments show as boxes in some
        // fonts; the wallet's arguments are addresses and amounts. This
        // applies to the bundles loaded, so it comes after loading.
        loader.set_use_isolating(false);
        Tr { loader, lang, zone: system_zone().clone(), stopped_at: None }
    }

    /// The same language, its times written in `zone` rather than the
    /// system's.
    pub fn in_zone(mut self, zone: TimeZone) -> Tr {
        self.zone = zone;
        self
    }

    /// The time zone this window writes times in (and counts months in).
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The same language with its clock stopped at `now`, so that how far
    /// a deadline is reads the same whenever it is drawn.
    pub fn stopped_at(mut self, now: Timestamp) -> Tr {
        self.stopped_at = Some(now);
        self
    }

    /// Now, as this window reads it.
    pub fn now(&self) -> Timestamp {
        self.stopped_at.unwrap_or_else(crate::clock::now)
    }

    /// `at` as a date and time in this language and zone.
    pub fn time(&self, at: Timestamp) -> String {
        format::time(self.lang, &self.zone, at)
    }

    /// A time limit: when, and how far from `now` ("… (in 23 hours)").
    pub fn deadline(&self, at: Timestamp, now: Timestamp) -> String {
        format::deadline(self.lang, &self.zone, at, now)
    }

    /// An item line with its price as this language writes it.
    pub fn item(&self, item: &crate::protocol::item::LineItem) -> String {
        format::item(self.lang, item)
    }

    /// An amount as this language writes it ("¥1,200", "1,200円").
    pub fn money(&self, money: &Money) -> String {
        format::money(self.lang, money)
    }

    /// A sum of `minor` units (a total past what one payment holds).
    pub fn minor_units(&self, minor: i128, currency: crate::protocol::Currency) -> String {
        format::minor_units(self.lang, minor, currency)
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn loader(&self) -> &FluentLanguageLoader {
        &self.loader
    }

    /// Looks up an id known only at run time (a state or reason code).
    pub fn dynamic(&self, id: &str) -> String {
        if self.loader.has(id) { self.loader.get(id) } else { id.to_string() }
    }
}

/// `tr!(tr, "message-id")` or `tr!(tr, "message-id", name = value)`.
#[macro_export]
macro_rules! tr {
    ($tr:expr, $id:literal) => {
        i18n_embed_fl::fl!($tr.loader(), $id)
    };
    ($tr:expr, $id:literal, $($key:ident = $value:expr),+ $(,)?) => {
        i18n_embed_fl::fl!($tr.loader(), $id, $($key = $value),+)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_load_and_differ() {
        let en = Tr::new(Lang::En);
        let ja = Tr::new(Lang::Ja);
        assert_eq!(en.dynamic("state-settled"), "Settled");
        assert_eq!(ja.dynamic("state-settled"), "決済完了");
        assert_eq!(en.dynamic("no-such-id"), "no-such-id");
        let line = crate::tr!(en, "payment-order", order = "ABC");
        assert_eq!(line, "Order ABC", "no invisible isolation marks around arguments");
    }

    #[test]
    fn a_window_writes_times_in_its_zone_and_money_in_its_language() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let now: Timestamp = "2026-12-06T03:00:41Z".parse().unwrap();
        let en = Tr::new(Lang::En).in_zone(tokyo.clone()).stopped_at(now);
        let ja = Tr::new(Lang::Ja).in_zone(tokyo);
        assert_eq!(en.now(), now);
        assert_eq!(en.time(now), "6 Dec 2026, 12:00");
        assert_eq!(ja.time(now), "2026年12月6日 12:00");
        assert_eq!(en.deadline(now.plus_seconds(300), en.now()), "6 Dec 2026, 12:05 (in 5 minutes)");
        let price: Money = "1200 JPY".parse().unwrap();
        assert_eq!((en.money(&price), ja.money(&price)), ("¥1,200".to_string(), "1,200円".to_string()));
    }

    #[test]
    fn locale_codes_map_to_languages() {
        assert_eq!(Lang::from_code("ja_JP.UTF-8"), Some(Lang::Ja));
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
    }
}
