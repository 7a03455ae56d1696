//! Translations: Fluent files under `i18n/<lang>/mailpay.ftl`, embedded in
//! the binary. [`tr!`](crate::tr) looks a message up and is checked at
//! compile time against the English file (the fallback), so a typo in a
//! message id does not build. Each wallet window owns its [`Tr`]; there is
//! no global language, so tests in parallel can use different ones.

use i18n_embed::LanguageLoader;
use i18n_embed::fluent::{FluentLanguageLoader, fluent_language_loader};
use rust_embed::RustEmbed;

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

/// A loaded language.
pub struct Tr {
    loader: FluentLanguageLoader,
    lang: Lang,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tr({})", self.lang.code())
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
        Tr { loader, lang }
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
    fn locale_codes_map_to_languages() {
        assert_eq!(Lang::from_code("ja_JP.UTF-8"), Some(Lang::Ja));
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
    }
}
