//! The wallet's two fonts, a proportional one for everything and a
//! monospaced one for the password A and keys. Each is the first of a short
//! list of fonts that the system is known to have (per operating system)
//! that is installed here; where none is (a bare Wine prefix, a container, a
//! system without fonts), the wallet uses DejaVu Sans and DejaVu Sans Mono,
//! which it carries in the binary (`assets/fonts/`): a missing font never
//! means a window without text.
//!
//! DejaVu covers Latin, Greek and Cyrillic, not Japanese: Japanese text is
//! drawn in the system's CJK font, which the text engine finds by script
//! (Yu Gothic on Windows, Hiragino on macOS, Noto Sans CJK or another
//! fontconfig knows on Linux; the Debian package recommends fonts-noto-cjk).

use std::borrow::Cow;
use std::sync::OnceLock;

use iced::Font;
use iced::advanced::graphics::text::font_system;

/// Families tried in order for text, then for the password A.
#[cfg(windows)]
const SANS: &[&str] = &["Segoe UI", "Arial", "Tahoma"];
#[cfg(windows)]
const MONO: &[&str] = &["Consolas", "Courier New"];
#[cfg(target_os = "macos")]
const SANS: &[&str] = &["Helvetica Neue", "Helvetica"];
#[cfg(target_os = "macos")]
const MONO: &[&str] = &["Menlo", "Monaco"];
#[cfg(not(any(windows, target_os = "macos")))]
const SANS: &[&str] = &["Noto Sans", "DejaVu Sans", "Liberation Sans", "FreeSans"];
#[cfg(not(any(windows, target_os = "macos")))]
const MONO: &[&str] = &["Noto Sans Mono", "DejaVu Sans Mono", "Liberation Mono", "FreeMono"];

/// The fonts carried in the binary, and their family names.
const CARRIED_SANS: (&str, &[u8]) = ("DejaVu Sans", include_bytes!("../../assets/fonts/DejaVuSans.ttf"));
const CARRIED_MONO: (&str, &[u8]) =
    ("DejaVu Sans Mono", include_bytes!("../../assets/fonts/DejaVuSansMono.ttf"));

/// The fonts chosen, once per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fonts {
    pub text: Font,
    pub mono: Font,
    /// Whether a carried font is in use (the system had none of its list).
    pub carried: bool,
}

/// The proportional font, the wallet's default.
pub fn text() -> Font {
    chosen().text
}

/// The monospaced font (the password A, keys, raw mail).
pub fn mono() -> Font {
    chosen().mono
}

/// The fonts, chosen on first use from the system's fonts as iced's text
/// engine loaded them (the same database every window draws from).
pub fn chosen() -> Fonts {
    static CHOSEN: OnceLock<Fonts> = OnceLock::new();
    *CHOSEN.get_or_init(choose)
}

fn choose() -> Fonts {
    let Ok(mut system) = font_system().write() else {
        // Poisoned by a panic while drawing: the defaults still draw.
        return Fonts { text: Font::DEFAULT, mono: Font::MONOSPACE, carried: false };
    };
    let installed: Vec<String> = system
        .raw()
        .db()
        .faces()
        .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let (text, text_carried) = pick(&installed, SANS, CARRIED_SANS.0);
    let (mono, mono_carried) = pick(&installed, MONO, CARRIED_MONO.0);
    if text_carried {
        system.load_font(Cow::Borrowed(CARRIED_SANS.1));
    }
    if mono_carried {
        system.load_font(Cow::Borrowed(CARRIED_MONO.1));
    }
    Fonts { text: Font::with_name(text), mono: Font::with_name(mono), carried: text_carried || mono_carried }
}

/// The first of `wanted` among `installed`, else `carried` (and `true`).
fn pick(installed: &[String], wanted: &[&'static str], carried: &'static str) -> (&'static str, bool) {
    match wanted.iter().find(|w| installed.iter().any(|i| i == *w)) {
        Some(name) => (name, false),
        None => (carried, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_installed_family_of_the_list_is_taken() {
        let installed = vec!["Tahoma".to_string(), "Arial".to_string()];
        assert_eq!(pick(&installed, &["Segoe UI", "Arial", "Tahoma"], "DejaVu Sans"), ("Arial", false));
    }

    #[test]
    fn without_any_family_of_the_list_the_carried_font_is_taken() {
        let installed = vec!["Iced-Icons".to_string()];
        assert_eq!(pick(&installed, &["Segoe UI", "Arial"], "DejaVu Sans"), ("DejaVu Sans", true));
        assert_eq!(pick(&[], &["Segoe UI"], "DejaVu Sans"), ("DejaVu Sans", true));
    }

    #[test]
    fn the_carried_fonts_are_the_families_they_are_named() {
        // A carried font under another family name would be loaded and
        // never used: the text would fall back to nothing.
        for (name, bytes) in [CARRIED_SANS, CARRIED_MONO] {
            let mut db = iced::advanced::graphics::text::cosmic_text::fontdb::Database::new();
            db.load_font_data(bytes.to_vec());
            let families: Vec<String> =
                db.faces().flat_map(|f| f.families.iter().map(|(n, _)| n.clone())).collect();
            assert_eq!(families, vec![name.to_string()], "{name}");
        }
    }
}
